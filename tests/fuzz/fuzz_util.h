/* fuzz_util.h — what the libFuzzer harnesses share: a per-process temp file
 * (made once with mkstemp under $TMPDIR, rewritten for every input) and a
 * check that stops the run with a message. */
#ifndef BM_FUZZ_UTIL_H
#define BM_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Longest temp path. */
#define FUZZ_PATH_LEN 512

/* A temp file that lives for the whole run. */
typedef struct fuzz_file {
    char path[FUZZ_PATH_LEN];
    int fd;
} fuzz_file;

/* Report a broken invariant and abort (libFuzzer saves the input). */
#define FUZZ_REQUIRE(cond, ...)                                                \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz invariant broken: %s: ", #cond);             \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            abort();                                                           \
        }                                                                      \
    } while (0)

static inline void fuzz_file_remove(fuzz_file *f)
{
    if (f->fd >= 0) {
        close(f->fd);
        unlink(f->path);
        f->fd = -1;
    }
}

/* Make the file "$TMPDIR/STEM-XXXXXX" on first use (tools/fuzz.sh points
 * TMPDIR at a scratch dir it removes afterwards). */
static inline void fuzz_file_open(fuzz_file *f, const char *stem)
{
    if (f->path[0])
        return;
    const char *dir = getenv("TMPDIR");
    snprintf(f->path, sizeof f->path, "%s/%s-XXXXXX", dir && *dir ? dir : "/tmp", stem);
    f->fd = mkstemp(f->path);
    FUZZ_REQUIRE(f->fd >= 0, "cannot create %s", f->path);
}

/* Replace the file's contents with len bytes. */
static inline void fuzz_file_write(fuzz_file *f, const void *data, size_t len)
{
    FUZZ_REQUIRE(ftruncate(f->fd, 0) == 0, "ftruncate %s", f->path);
    size_t off = 0;
    while (off < len) {
        ssize_t n = pwrite(f->fd, (const char *)data + off, len - off, (off_t)off);
        FUZZ_REQUIRE(n > 0, "write %s", f->path);
        off += (size_t)n;
    }
}

#endif
