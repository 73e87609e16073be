/* test_tape_util.h — helpers of test_tape.c and test_tape_errors.c. */
#ifndef BM_TEST_TAPE_UTIL_H
#define BM_TEST_TAPE_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* An F64 tape leaf holding v. */
static inline bm_tensor *leaf(bm_tape *t, int rank, const size_t *shape, const double *v, unsigned fl)
{
    bm_tensor *x = bm_tape_leaf(t, BM_F64, rank, shape, fl);
    ck_assert_msg(x != NULL, "%s", bm_tape_error(t));
    if (v)
        ck_assert_int_eq(bm_tensor_load(x, v, x->size, NULL), BM_OK);
    return x;
}

/* Does t's sticky error have this code and contain every given fragment? */
static inline void expect_error(bm_tape *t, bm_status code, const char *a, const char *b,
                         const char *c)
{
    const char *msg = bm_tape_error(t);
    ck_assert_msg(bm_tape_status(t) == code, "status %s, want %s: '%s'",
                  bm_status_name(bm_tape_status(t)), bm_status_name(code), msg);
    const char *parts[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        ck_assert_msg(!parts[i] || strstr(msg, parts[i]), "message '%s' lacks '%s'", msg,
                      parts[i]);
}

#endif
