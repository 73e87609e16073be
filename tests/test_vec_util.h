/* test_vec_util.h — what test_vec.c and test_vec_nn.c share: inputs,
 * reference tolerances, the paths and their test cases. */
#ifndef BM_TEST_VEC_UTIL_H
#define BM_TEST_VEC_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "vec_internal.h"

enum { MAXN = 1031 }; /* the largest test vector */

/* Deterministic values in [-1, 1). */
static inline double next_val(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (double)(*s >> 11) / (double)(1ull << 52) - 1.0;
}

/* Odd sizes: below, at and past the vector widths and the lane counts. */
static const size_t SIZES[] = {1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 64, 65, 100, 1031};
enum { N_SIZES = sizeof SIZES / sizeof SIZES[0] };

/* One input vector of n values, scale·[-1, 1) + shift, as double and float. */
static inline void fill(double *d, float *f, size_t n, double scale, double shift, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        d[i] = scale * next_val(&s) + shift;
        f[i] = (float)d[i];
        d[i] = f[i]; /* the same values in both types */
    }
}

/* |got − want| within rtol·|want| + atol, or both NaN. */
static inline void near(const char *what, size_t n, size_t i, double got, double want, double tol)
{
    if (isnan(want) && isnan(got))
        return;
    ck_assert_msg(fabs(got - want) <= tol * (1.0 + fabs(want)), "%s n=%zu [%zu]: %.17g, want %.17g",
                  what, n, i, got, want);
}

/* Tolerances against the double reference: F32 a few float ulps, F64 a few double ulps. */
static const double TOL32 = 4e-6, TOL64 = 1e-13;

/* The path the loop index names, or NULL (then the test has nothing to do). */
static inline const bm_vec_kernels *path(int isa)
{
    const bm_vec_kernels *k = bm_vec_isa_kernels((bm_vec_isa)isa);
    ck_assert_msg(k != NULL, "path %d is not available", isa);
    return k;
}

/* Inputs and outputs of one kernel call, and the portable path's outputs. */
typedef struct bufs {
    double xd[MAXN], yd[MAXN], gd[MAXN], od[MAXN], pd[MAXN];
    float xf[MAXN], yf[MAXN], gf[MAXN], of[MAXN], pf[MAXN];
} bufs;

/* The kernel at byte offset off of a kernel table, copied into *fn (size bytes). */
static inline void kernel_at(void *fn, size_t size, const void *table, size_t off)
{
    memcpy(fn, (const char *)table + off, size);
}

/* The path's outputs of n values (of, od) equal the portable path's (pf, pd) bit for bit. */
static inline void same_as_portable(const char *what, size_t n, const char *path_name,
                                    const bufs *b)
{
    ck_assert_msg(memcmp(b->of, b->pf, n * sizeof(float)) == 0,
                  "%s f32 n=%zu: path %s differs from portable", what, n, path_name);
    ck_assert_msg(memcmp(b->od, b->pd, n * sizeof(double)) == 0,
                  "%s f64 n=%zu: path %s differs from portable", what, n, path_name);
}

/* The paths, and the test case of each (all but portable need the CPU). */
static const struct {
    bm_vec_isa isa;
    const char *name, *needs;
} paths[] = {
    {.isa = BM_VEC_PORTABLE, .name = "portable", .needs = NULL},
    {.isa = BM_VEC_AVX2, .name = "avx2", .needs = "a CPU with AVX2"},
    {.isa = BM_VEC_AVX512, .name = "avx512", .needs = "a CPU with AVX-512F"},
};
enum { N_PATHS = sizeof paths / sizeof paths[0] };

/* A suite's main: a path's own test (CK_RUN_CASE=avx2 ...) skips where the
 * CPU lacks it, else the suite runs. */
static inline int bm_vec_test_main(Suite *(*make)(void))
{
    for (int i = 0; i < N_PATHS; i++)
        if (paths[i].needs &&
            bm_test_missing(paths[i].name, bm_vec_isa_available(paths[i].isa), paths[i].needs))
            return BM_TEST_SKIP;
    return bm_test_run(make());
}

#endif
