#define _POSIX_C_SOURCE 200809L
/* test_autograd.c — tensors, the RNG, the tape's error handling. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

START_TEST(tensor_create_and_access)
{
    size_t shp[2] = {2, 3};
    double v[6] = {1, 2, 3, 4, 5, 6};
    for (int dt = BM_F32; dt <= BM_F64; dt++) {
        bm_tensor *t = bm_tensor_new((bm_dtype)dt, 2, shp, NULL);
        ck_assert_ptr_nonnull(t);
        ck_assert_uint_eq(t->size, 6);
        ck_assert_int_eq(bm_tensor_load(t, v, 6, NULL), BM_OK);
        ck_near(bm_tensor_get(t, 4), 5.0, 0.0);
        bm_tensor *c = bm_tensor_copy(t, NULL);
        ck_assert(bm_tensor_same_shape(t, c));
        ck_near(bm_tensor_get(c, 5), 6.0, 0.0);
        bm_tensor_free(c);
        bm_tensor_free(t);
    }
}
END_TEST

START_TEST(tensor_full_arange)
{
    size_t shp[1] = {4};
    bm_tensor *o = bm_tensor_full(BM_F32, 1, shp, 1.0, NULL);
    bm_tensor *a = bm_tensor_arange(BM_F64, 5, 2.0, 0.5, NULL);
    ck_near(bm_tensor_get(o, 3), 1.0, 0.0);
    ck_near(bm_tensor_get(a, 4), 4.0, 0.0);
    bm_tensor_free(o);
    bm_tensor_free(a);
}
END_TEST

START_TEST(tensor_bad_shapes)
{
    bm_error e = {0};
    size_t shp[5] = {1, 2, 3, 4, 5};
    ck_assert_ptr_null(bm_tensor_new(BM_F32, 5, shp, &e));
    ck_assert_int_eq(e.code, BM_ERR_RANK);
    ck_assert_ptr_nonnull(strstr(e.msg, "rank 5"));
    size_t zero[2] = {3, 0};
    ck_assert_ptr_null(bm_tensor_new(BM_F32, 2, zero, &e));
    ck_assert_int_eq(e.code, BM_ERR_SIZE);
    size_t huge[2] = {(size_t)1 << 40, (size_t)1 << 40};
    ck_assert_ptr_null(bm_tensor_new(BM_F64, 2, huge, &e));
    ck_assert_int_eq(e.code, BM_ERR_SIZE);
    ck_assert_ptr_nonnull(strstr(e.msg, "overflow"));
}
END_TEST

START_TEST(rng_deterministic)
{
    bm_rng a, b;
    bm_rng_seed(&a, 42);
    bm_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(bm_rng_next(&a), bm_rng_next(&b));
    double sum = 0, sq = 0;
    const int n = 20000;
    for (int i = 0; i < n; i++) {
        double x = bm_rng_normal(&a);
        sum += x;
        sq += x * x;
    }
    ck_near(sum / n, 0.0, 0.05);
    ck_near(sq / n, 1.0, 0.05);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_lt(bm_rng_below(&a, 7), 7);
}
END_TEST

START_TEST(print_readable)
{
    size_t shp[2] = {2, 2};
    double v[4] = {1, 2.5, -3, 4};
    bm_tensor *t = bm_tensor_from(BM_F64, 2, shp, v, NULL);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    bm_tensor_print(t, f);
    fclose(f);
    ck_assert_str_eq(buf, "tensor([[1, 2.5],\n        [-3, 4]], shape=[2,2], dtype=f64)\n");
    free(buf);
    bm_tensor_free(t);
}
END_TEST

/* bm_tensor_print_opts into a malloc'd string. */
static char *print_str(const bm_tensor *t, const bm_print_opts *o)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    bm_tensor_print_opts(t, f, o);
    fclose(f);
    return buf;
}

/* A tensor 0, 1, 2, ... of the given shape. */
static bm_tensor *iota(int rank, const size_t *shape)
{
    bm_tensor *t = bm_tensor_new(BM_F64, rank, shape, NULL);
    ck_assert_ptr_nonnull(t);
    for (size_t i = 0; i < t->size; i++)
        ((double *)t->data)[i] = (double)i;
    return t;
}

/* Past the threshold, NumPy's summary: the first and last edgeitems per axis. */
START_TEST(print_summarises_big_tensors)
{
    size_t s1[1] = {2000}, s2[2] = {100, 100}, s3[3] = {10, 10, 20};
    bm_tensor *v = iota(1, s1), *m = iota(2, s2), *c = iota(3, s3);
    char *got = print_str(v, NULL);
    ck_assert_str_eq(got, "tensor([0, 1, 2, ..., 1997, 1998, 1999], shape=[2000], dtype=f64)\n");
    free(got);
    got = print_str(m, NULL);
    ck_assert_str_eq(got, "tensor([[0, 1, 2, ..., 97, 98, 99],\n"
                          "        [100, 101, 102, ..., 197, 198, 199],\n"
                          "        [200, 201, 202, ..., 297, 298, 299],\n"
                          "        ...,\n"
                          "        [9700, 9701, 9702, ..., 9797, 9798, 9799],\n"
                          "        [9800, 9801, 9802, ..., 9897, 9898, 9899],\n"
                          "        [9900, 9901, 9902, ..., 9997, 9998, 9999]], shape=[100,100], "
                          "dtype=f64)\n");
    free(got);
    /* threshold and edgeitems are the caller's: 1 item per end of every axis */
    bm_print_opts o = bm_print_defaults();
    ck_assert_uint_eq(o.threshold, 1000);
    ck_assert_uint_eq(o.edgeitems, 3);
    o.edgeitems = 1;
    o.threshold = 100;
    got = print_str(c, &o);
    ck_assert_str_eq(got, "tensor([[[0, ..., 19],\n"
                          "         ...,\n"
                          "         [180, ..., 199]],\n"
                          "        ...,\n"
                          "        [[1800, ..., 1819],\n"
                          "         ...,\n"
                          "         [1980, ..., 1999]]], shape=[10,10,20], dtype=f64)\n");
    free(got);
    /* at or under the threshold, everything; a short axis is never cut */
    o.threshold = 2000;
    got = print_str(c, &o);
    ck_assert_ptr_null(strstr(got, "..."));
    ck_assert_ptr_nonnull(strstr(got, "1999]]], shape"));
    free(got);
    size_t s4[2] = {2, 600};
    bm_tensor *w = iota(2, s4);
    got = print_str(w, NULL);
    ck_assert_str_eq(got, "tensor([[0, 1, 2, ..., 597, 598, 599],\n"
                          "        [600, 601, 602, ..., 1197, 1198, 1199]], shape=[2,600], "
                          "dtype=f64)\n");
    free(got);
    o = bm_print_defaults();
    o.precision = 2;
    ((double *)w->data)[0] = 3.14159;
    got = print_str(w, &o);
    ck_assert_msg(!strncmp(got, "tensor([[3.1, 1, 2, ...", 23), "%s", got);
    free(got);
    bm_tensor_free(v);
    bm_tensor_free(m);
    bm_tensor_free(c);
    bm_tensor_free(w);
}
END_TEST

/* The run-time version agrees with the header compiled against. */
START_TEST(version_matches_header)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", BMNN_VERSION_MAJOR, BMNN_VERSION_MINOR, BMNN_VERSION_PATCH);
    ck_assert_str_eq(bm_version(), want);
    ck_assert_str_eq(bm_version(), BMNN_VERSION_STRING);
    ck_assert_int_eq(bm_version_number(), BMNN_VERSION_NUMBER);
    ck_assert_int_eq(bm_version_number(),
                     BMNN_VERSION_MAJOR * 10000 + BMNN_VERSION_MINOR * 100 + BMNN_VERSION_PATCH);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("autograd");
    TCase *tc = tcase_create("tensor");
    tcase_add_test(tc, tensor_create_and_access);
    tcase_add_test(tc, tensor_full_arange);
    tcase_add_test(tc, tensor_bad_shapes);
    tcase_add_test(tc, rng_deterministic);
    tcase_add_test(tc, print_readable);
    tcase_add_test(tc, print_summarises_big_tensors);
    tcase_add_test(tc, version_matches_header);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
