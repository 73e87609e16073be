/* vec_avx512.c — the elementwise kernels for AVX-512F (16 float lanes): the
 * same source as vec_portable.c (vec_impl.inc) under a target pragma, without
 * FMA, so each result has the portable path's bits. */
#include "vec_internal.h"
#include "vmath_internal.h"

#if BM_VEC_X86
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,prefer-vector-width=512")
#endif

#define BM_VEC_TABLE bm_vec_avx512_kernels
#define BM_VEC_NAME "avx512"
#include "vec_impl.inc"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#else
const bm_vec_kernels *bm_vec_avx512_kernels(void) { return NULL; }
#endif
