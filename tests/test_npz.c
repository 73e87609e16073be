/* test_npz.c — bm_npy_* and bm_npz_*: round trips, loading into tensors,
 * and the malformed files they refuse with a clear message (bad magic,
 * unsupported dtype or Fortran order, truncated, absurd shapes, bad CRC,
 * compressed or cut archives). NumPy itself: tests/npz_check.py. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

/* Room for paths and file bytes. */
#define PATH_LEN 256
#define FILE_MAX 4096

static char dir[] = "/tmp/bm_test_npz_XXXXXX";

static const char *path_of(const char *name)
{
    static char p[PATH_LEN]; /* test-only scratch */
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static size_t read_bytes(const char *path, unsigned char *p)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(p, 1, FILE_MAX, f);
    fclose(f);
    return n;
}

/* A .npy version 1.0 with header dict `dict` and `data` bytes of 0x3f. */
static void write_npy(const char *path, const char *dict, size_t data)
{
    unsigned char b[FILE_MAX];
    size_t h = strlen(dict) + 1;
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)(h & 0xff);
    b[9] = (unsigned char)(h >> 8);
    memcpy(b + 10, dict, h - 1);
    b[10 + h - 1] = '\n';
    memset(b + 10 + h, 0x3f, data);
    write_bytes(path, b, 10 + h + data);
}

static void setup(void) { ck_assert_ptr_nonnull(mkdtemp(dir)); }

static void teardown(void)
{
    char cmd[PATH_LEN + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    strcpy(dir, "/tmp/bm_test_npz_XXXXXX");
}

/* The tensors of the round trip: f32 [2,3] and f64 [4]. */
static void two_tensors(bm_tensor **a, bm_tensor **b)
{
    bm_error e = {0};
    size_t sa[2] = {2, 3}, sb[1] = {4};
    *a = bm_tensor_new(BM_F32, 2, sa, &e);
    *b = bm_tensor_new(BM_F64, 1, sb, &e);
    ck_assert(*a && *b);
    for (size_t i = 0; i < 6; i++)
        bm_tensor_set(*a, i, 0.1 * (double)i - 0.25);
    for (size_t i = 0; i < 4; i++)
        bm_tensor_set(*b, i, 1.0 / (3.0 + (double)i));
}

START_TEST(npz_round_trip_and_load_into)
{
    bm_tensor *a, *b, *a2, *b2;
    bm_error e = {0};
    two_tensors(&a, &b);
    two_tensors(&a2, &b2);
    const char *names[2] = {"layer0.weight", "bias"};
    const bm_tensor *ts[2] = {a, b};
    ck_assert_msg(bm_npz_save(path_of("m.npz"), names, ts, 2, &e) == BM_OK, "%s", e.msg);
    bm_npz z;
    ck_assert_msg(bm_npz_read(path_of("m.npz"), &z, &e) == BM_OK, "%s", e.msg);
    ck_assert_uint_eq(z.n, 2);
    ck_assert_str_eq(z.names[0], "layer0.weight");
    bm_tensor *ra = bm_npz_find(&z, "layer0.weight"), *rb = bm_npz_find(&z, "bias");
    ck_assert(ra && rb && !bm_npz_find(&z, "none"));
    ck_assert(ra->dtype == BM_F32 && ra->rank == 2 && ra->shape[1] == 3);
    ck_assert(!memcmp(ra->data, a->data, 6 * sizeof(float)));
    ck_assert(!memcmp(rb->data, b->data, 4 * sizeof(double)));
    bm_npz_free(&z);
    ck_assert_uint_eq(z.n, 0);
    /* load into tensors of the same shapes */
    memset(a2->data, 0, 6 * sizeof(float));
    memset(b2->data, 0, 4 * sizeof(double));
    bm_tensor *into[2] = {a2, b2};
    ck_assert_int_eq(bm_npz_load(path_of("m.npz"), names, into, 2, &e), BM_OK);
    ck_assert(!memcmp(a2->data, a->data, 6 * sizeof(float)));
    ck_assert(!memcmp(b2->data, b->data, 4 * sizeof(double)));
    /* a shape or dtype that differs, or a missing name, changes nothing */
    memset(a2->data, 0, 6 * sizeof(float));
    bm_tensor *wrong[2] = {a2, a};
    ck_assert_int_eq(bm_npz_load(path_of("m.npz"), names, wrong, 2, &e), BM_ERR_DTYPE);
    ck_assert_ptr_nonnull(strstr(e.msg, "bias: the file has f64 [4], the tensor is f32 [2,3]"));
    ck_assert(((float *)a2->data)[1] == 0.0f);
    const char *missing[1] = {"nope"};
    ck_assert_int_eq(bm_npz_load(path_of("m.npz"), missing, into, 1, &e), BM_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(e.msg, "no array named 'nope'"));
    /* the same tensors give the same bytes */
    unsigned char x[FILE_MAX], y[FILE_MAX];
    ck_assert_int_eq(bm_npz_save(path_of("m2.npz"), names, ts, 2, &e), BM_OK);
    size_t nx = read_bytes(path_of("m.npz"), x), ny = read_bytes(path_of("m2.npz"), y);
    ck_assert(nx == ny && !memcmp(x, y, nx));
    /* bad arguments */
    const char *dup[2] = {"w", "w"}, *empty[2] = {"", "b"};
    ck_assert_int_eq(bm_npz_save(path_of("d.npz"), dup, ts, 2, &e), BM_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(e.msg, "are both 'w'"));
    ck_assert_int_eq(bm_npz_save(path_of("d.npz"), empty, ts, 2, &e), BM_ERR_ARG);
    ck_assert_int_eq(bm_npz_save(path_of("d.npz"), names, ts, 0, &e), BM_ERR_ARG);
    ck_assert_int_eq(access(path_of("d.npz"), F_OK), -1);
    /* .npy */
    ck_assert_int_eq(bm_npy_save(path_of("a.npy"), a, &e), BM_OK);
    bm_tensor *r = bm_npy_load(path_of("a.npy"), &e);
    ck_assert_msg(r != NULL, "%s", e.msg);
    ck_assert(r->rank == 2 && !memcmp(r->data, a->data, 6 * sizeof(float)));
    bm_tensor_free(r);
    bm_tensor_free(a);
    bm_tensor_free(b);
    bm_tensor_free(a2);
    bm_tensor_free(b2);
}
END_TEST

START_TEST(malformed_npy_refused)
{
    static const struct {
        const char *dict;
        size_t data;
        bm_status code;
        const char *msg;
    } cases[] = {
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16, BM_ERR_ARG,
         "Fortran order is not supported"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", 8, BM_ERR_DTYPE,
         "unsupported dtype '<i4'"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", 16, BM_ERR_PARSE,
         "truncated: the shape needs 24 bytes of data, there are 16"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 24, BM_ERR_PARSE,
         "bytes after the data"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000000000, 10), }", 8,
         BM_ERR_SIZE, "absurd shape"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", 8,
         BM_ERR_SIZE, "absurd shape"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1), }", 4, BM_ERR_RANK,
         "more than 4 dimensions"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 0), }", 0, BM_ERR_SIZE,
         "an axis of length 0"},
        {"{'descr': '<f4', 'fortran_order': False, }", 4, BM_ERR_PARSE, "missing key 'shape'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4, BM_ERR_PARSE,
         "unknown key 'x'"},
        {"{'descr': '<f4' 'shape': (1,)}", 4, BM_ERR_PARSE, "malformed .npy header"},
        {"[1, 2]", 4, BM_ERR_PARSE, "malformed .npy header: expected '{'"},
    };
    bm_error e = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_npy(path_of("bad.npy"), cases[i].dict, cases[i].data);
        ck_assert_ptr_null(bm_npy_load(path_of("bad.npy"), &e));
        ck_assert_msg(e.code == cases[i].code && strstr(e.msg, cases[i].msg),
                      "%s: status %d, '%s'", cases[i].dict, (int)e.code, e.msg);
        ck_assert_ptr_nonnull(strstr(e.msg, "bad.npy: "));
    }
    write_bytes(path_of("magic.npy"), "\x93NUMPZ\x01\x00\x00\x00", 10);
    ck_assert_ptr_null(bm_npy_load(path_of("magic.npy"), &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "not a .npy file (bad magic)"));
    write_bytes(path_of("cut.npy"), "\x93NUMPY\x01\x00\x40\x00{'descr'", 17);
    ck_assert_ptr_null(bm_npy_load(path_of("cut.npy"), &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "truncated .npy header"));
    ck_assert_ptr_null(bm_npy_load(path_of("none.npy"), &e));
    ck_assert_int_eq(e.code, BM_ERR_IO);
}
END_TEST

START_TEST(malformed_npz_refused)
{
    bm_tensor *a, *b;
    bm_error e = {0};
    bm_npz z;
    two_tensors(&a, &b);
    const char *names[2] = {"a", "b"};
    const bm_tensor *ts[2] = {a, b};
    ck_assert_int_eq(bm_npz_save(path_of("ok.npz"), names, ts, 2, &e), BM_OK);
    unsigned char x[FILE_MAX];
    size_t n = read_bytes(path_of("ok.npz"), x);
    /* cut short: no end record */
    write_bytes(path_of("cut.npz"), x, n - 10);
    ck_assert_int_eq(bm_npz_read(path_of("cut.npz"), &z, &e), BM_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(e.msg, "truncated?"));
    ck_assert_uint_eq(z.n, 0);
    /* one data byte changed: the CRC says so */
    x[100] ^= 1;
    write_bytes(path_of("crc.npz"), x, n);
    ck_assert_int_eq(bm_npz_read(path_of("crc.npz"), &z, &e), BM_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(e.msg, "a.npy: CRC-32 mismatch"));
    x[100] ^= 1;
    /* the method of entry a set to deflate */
    x[8] = 8;
    unsigned char *cd = x + n - 22 - (n - 22 - (size_t)(x[n - 6] | x[n - 5] << 8));
    cd[10] = 8;
    write_bytes(path_of("deflate.npz"), x, n);
    ck_assert_int_eq(bm_npz_read(path_of("deflate.npz"), &z, &e), BM_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(e.msg, "compressed"));
    /* not a zip; a .npy given as an .npz */
    write_bytes(path_of("text.npz"), "hello, this is not a zip archive", 32);
    ck_assert_int_eq(bm_npz_read(path_of("text.npz"), &z, &e), BM_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(e.msg, "bad magic: not a zip archive"));
    ck_assert_int_eq(bm_npy_save(path_of("a.npy"), a, &e), BM_OK);
    ck_assert_int_eq(bm_npz_read(path_of("a.npy"), &z, &e), BM_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(e.msg, "a .npy file, not an .npz"));
    ck_assert_int_eq(bm_npz_read(dir, &z, &e), BM_ERR_IO);
    bm_tensor_free(a);
    bm_tensor_free(b);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("npz");
    TCase *tc = tcase_create("npz");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, npz_round_trip_and_load_into);
    tcase_add_test(tc, malformed_npy_refused);
    tcase_add_test(tc, malformed_npz_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
