/* test_util.h — small assertions shared by the Check suites. */
#ifndef BM_TEST_UTIL_H
#define BM_TEST_UTIL_H

#include <check.h>
#include <math.h>

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

#endif
