/* vec_avx2.c — the elementwise kernels for AVX2 (8 float lanes): the same
 * source as vec_portable.c (vec_impl.inc) under a target pragma, without
 * FMA, so each result has the portable path's bits. */
#include "vec_internal.h"
#include "vmath_internal.h"

#if BM_VEC_X86
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif

#define BM_VEC_TABLE bm_vec_avx2_kernels
#define BM_VEC_NAME "avx2"
#include "vec_impl.inc"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#else
const bm_vec_kernels *bm_vec_avx2_kernels(void) { return NULL; }
#endif
