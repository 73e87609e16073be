/* test_data_files.h — temp files for test_data.c and test_data_idx.c: a per-test-case temp dir
 * (mkdtemp, removed afterwards), file writers, IDX writers, error checks. */
#ifndef BM_TEST_DATA_FILES_H
#define BM_TEST_DATA_FILES_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

/* ------------------------------------------------------------ temp files */

/* One temp dir per test case, made and removed by the unchecked fixture (it
 * runs in the parent process, so failing tests still get cleaned up). */
static char tmp_dir[] = "/tmp/bm_test_data_XXXXXX";
static int tmp_made;

static inline void tmp_setup(void)
{
    if (!tmp_made) {
        ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
        tmp_made = 1;
    }
}

static inline void tmp_teardown(void)
{
    if (!tmp_made)
        return;
    DIR *d = opendir(tmp_dir);
    if (d) {
        struct dirent *e;
        char p[512];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof p, "%s/%s", tmp_dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(tmp_dir);
    strcpy(tmp_dir, "/tmp/bm_test_data_XXXXXX");
    tmp_made = 0;
}

/* Path of `name` inside the temp dir (static buffer per slot). */
static inline const char *tmp_path(const char *name, int slot)
{
    static char buf[4][512];
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", tmp_dir, name);
    return buf[slot];
}

/* Write len bytes to name in the temp dir; returns the path. */
static inline const char *write_bytes(const char *name, const void *bytes, size_t len, int slot)
{
    const char *p = tmp_path(name, slot);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    return p;
}

static inline const char *write_text(const char *name, const char *text)
{
    return write_bytes(name, text, strlen(text), 0);
}

/* Assert status st and err have code `want` and the message holds `sub`
 * (when not NULL). A macro so a failure reports the caller's line. */
#define ck_err(st, e, want, sub) ck_err_at((st), &(e), (want), (sub), __LINE__)

static inline void ck_err_at(bm_status st, const bm_error *e, bm_status want, const char *sub, int line)
{
    ck_assert_msg(st == want, "line %d: status %s, expected %s (%s)", line, bm_status_name(st),
                  bm_status_name(want), e->msg);
    ck_assert_int_eq(e->code, want);
    if (sub)
        ck_assert_msg(strstr(e->msg, sub) != NULL, "line %d: message '%s' lacks '%s'", line,
                      e->msg, sub);
}

/* ------------------------------------------------------------------- IDX */

static inline void put_be32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

/* Write an image file: magic, n, rows, cols, then `body` bytes of pixels. */
static inline const char *write_idx_images(const char *name, uint32_t magic, uint32_t n, uint32_t rows,
                                    uint32_t cols, const unsigned char *px, size_t body)
{
    unsigned char *buf = malloc(16 + body);
    put_be32(buf, magic);
    put_be32(buf + 4, n);
    put_be32(buf + 8, rows);
    put_be32(buf + 12, cols);
    if (body)
        memcpy(buf + 16, px, body);
    const char *p = write_bytes(name, buf, 16 + body, 1);
    free(buf);
    return p;
}

static inline const char *write_idx_labels(const char *name, uint32_t magic, uint32_t n,
                                    const unsigned char *lb, size_t body)
{
    unsigned char buf[64];
    ck_assert_uint_le(body, sizeof buf - 8);
    put_be32(buf, magic);
    put_be32(buf + 4, n);
    memcpy(buf + 8, lb, body);
    return write_bytes(name, buf, 8 + body, 2);
}

#endif
