/* test_util.h — small assertions shared by the Check suites. */
#ifndef BM_TEST_UTIL_H
#define BM_TEST_UTIL_H

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bmnn.h>

/* |a - b| <= tol, with both values in the failure message. */
#define ck_near(a, b, tol)                                                              \
    do {                                                                                \
        double ck_a_ = (double)(a), ck_b_ = (double)(b);                                \
        ck_assert_msg(fabs(ck_a_ - ck_b_) <= (tol), "%s = %.12g, expected %s = %.12g (tol %g)", \
                      #a, ck_a_, #b, ck_b_, (double)(tol));                             \
    } while (0)

/* Run a suite built by make_suite; returns the process exit status. */
static inline int bm_test_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

/* Exit status meson reads as a skip. */
#define BM_TEST_SKIP 77
/* Tag of the test cases that need something a machine may lack. */
#define BM_TEST_NEEDS_TAG "needs"

/* A test case that needs something this machine may lack (Graphviz, an AVX-512 CPU, a
 * BLAS build): make it with bm_test_case_needing and add it to the suite only when the
 * machine has it, so that a run without it reports nothing as passed. meson runs the
 * suite without such cases (CK_EXCLUDE_TAGS=needs) and each case as its own test
 * (CK_RUN_CASE=name), whose main returns BM_TEST_SKIP when bm_test_missing says so. */
static inline TCase *bm_test_case_needing(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_set_tags(tc, BM_TEST_NEEDS_TAG);
    return tc;
}

/* 1 (after printing why) when CK_RUN_CASE asks for exactly case `name` and the machine
 * lacks what it needs (have is 0): main then returns BM_TEST_SKIP. */
static inline int bm_test_missing(const char *name, int have, const char *what)
{
    const char *only = getenv("CK_RUN_CASE");
    if (have || !only || strcmp(only, name) != 0)
        return 0;
    printf("SKIP: test case '%s' needs %s\n", name, what);
    return 1;
}

/* A 2-4-2 softmax classifier (kind k, lr 0.02) on a small spiral, initialised. */
static inline bm_model *bm_test_small_model(bm_optim_kind k, bm_dataset *ds)
{
    bm_error e = {0};
    bm_rng rng;
    bm_rng_seed(&rng, 3);
    ck_assert_int_eq(bm_data_spiral(ds, 10, 2, BM_F64, &rng, &e), BM_OK);
    bm_model *m = bm_model_new(BM_F64, 2, &e);
    bm_layer_spec d1 = bm_dense_spec(2, 4), d2 = bm_dense_spec(4, 2);
    bm_layer_spec relu = bm_activation_spec(BM_LAYER_RELU);
    bm_optim_config c = bm_optim_defaults(k);
    c.lr = 0.02;
    ck_assert_int_eq(bm_model_add(m, &d1, &e), BM_OK);
    ck_assert_int_eq(bm_model_add(m, &relu, &e), BM_OK);
    ck_assert_int_eq(bm_model_add(m, &d2, &e), BM_OK);
    ck_assert_int_eq(bm_model_set_loss(m, BM_LOSS_SOFTMAX_CCE, &e), BM_OK);
    ck_assert_int_eq(bm_model_set_optimizer(m, &c, &e), BM_OK);
    ck_assert_int_eq(bm_model_init(m, 7, &e), BM_OK);
    return m;
}

#endif
