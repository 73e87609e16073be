/* gemm_portable.c — the plain-C path of the blocked GEMM (gemm.c), for any
 * CPU: a 4×8 f32 / 4×4 f64 micro-kernel the compiler vectorises, and the
 * packing and transposed-store routines the other paths share where they
 * have none of their own. */
#include "gemm_internal.h"

enum {
    P_MR = 4,     /* portable tile: 4 rows */
    P_NR_F32 = 8, /*   × 8 f32 columns (two SSE vectors) */
    P_NR_F64 = 4, /*   × 4 f64 columns */
    P_KC = 256,   /* portable blocking, as the AVX2 one */
    P_NC = 256,
};

#define T float
#define F(name) name##_f32
#define NR P_NR_F32
#include "gemm_portable_kernels.inc"
#undef T
#undef F
#undef NR
#define T double
#define F(name) name##_f64
#define NR P_NR_F64
#include "gemm_portable_kernels.inc"
#undef T
#undef F
#undef NR

const bm_gemm_kernel *bm_gemm_portable_kernel(int f64)
{
    return f64 ? &portable_kernel_f64 : &portable_kernel_f32;
}
