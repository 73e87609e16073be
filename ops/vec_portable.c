/* vec_portable.c — the elementwise kernels for the build's baseline
 * instruction set (x86-64: SSE2, 4 float lanes), which every CPU runs.
 * The kernels are vec_impl.inc's, as in vec_avx2.c and vec_avx512.c. */
#include "vec_internal.h"
#include "vmath_internal.h"

#define BM_VEC_TABLE bm_vec_portable_kernels
#define BM_VEC_NAME "portable"
#include "vec_impl.inc"
