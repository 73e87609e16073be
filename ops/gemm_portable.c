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

/* Portable packing (bm_gemm_pack_fn): pack_n copies k-major rows of rows
 * elements; pack_t walks each of rows source rows down one lane of dst. */
#define PACK_N_BODY(T)                                                                 \
    {                                                                                  \
        const T *s = src;                                                              \
        T *d = dst;                                                                    \
        for (size_t k = 0; k < kc; k++) {                                              \
            for (size_t r = 0; r < rows; r++)                                          \
                d[k * R + r] = s[k * ld + r];                                          \
            for (size_t r = rows; r < R; r++)                                          \
                d[k * R + r] = (T)0;                                                   \
        }                                                                              \
    }
#define PACK_T_BODY(T)                                                                 \
    {                                                                                  \
        const T *s = src;                                                              \
        T *d = dst;                                                                    \
        for (size_t r = 0; r < rows; r++)                                              \
            for (size_t k = 0; k < kc; k++)                                            \
                d[k * R + r] = s[r * ld + k];                                          \
        for (size_t k = 0; k < kc; k++)                                                \
            for (size_t r = rows; r < R; r++)                                          \
                d[k * R + r] = (T)0;                                                   \
    }

/* Portable micro-kernel: same contract as bm_gemm_kern_fn. A packed B̃
 * (ldb = NR) runs the fixed-width loop the compiler vectorises; B read in
 * place stops at nr columns. */
#define PORTABLE_BODY(T, NRT)                                                          \
    {                                                                                  \
        const T *a = ap, *b = bp;                                                      \
        T *c = cp, alpha = (T)alpha_d, beta = (T)beta_d;                               \
        T acc[P_MR][NRT] = {{0}};                                                      \
        for (size_t k = 0; k < kc; k++, a += P_MR, b += ldb)                           \
            for (size_t i = 0; i < P_MR; i++) {                                        \
                if (ldb == NRT)                                                        \
                    for (size_t j = 0; j < NRT; j++)                                   \
                        acc[i][j] += a[i] * b[j];                                      \
                else                                                                   \
                    for (size_t j = 0; j < nr; j++)                                    \
                        acc[i][j] += a[i] * b[j];                                      \
            }                                                                          \
        for (size_t i = 0; i < mr; i++)                                                \
            for (size_t j = 0; j < nr; j++) {                                          \
                T *cij = c + i * ldc + j;                                              \
                *cij = beta == (T)0 ? alpha * acc[i][j] : alpha * acc[i][j] + beta * *cij; \
            }                                                                          \
    }

/* Portable transposed store (bm_gemm_store_t_fn). */
#define STORE_T_BODY(T)                                                                \
    {                                                                                  \
        const T *t = tp;                                                               \
        T alpha = (T)alpha_d, beta = (T)beta_d;                                        \
        for (size_t j = 0; j < nr; j++) {                                              \
            T *c = (T *)cp + j * ldc;                                                  \
            for (size_t i = 0; i < mr; i++)                                            \
                c[i] = beta == (T)0 ? alpha * t[i * ldt + j]                           \
                                    : alpha * t[i * ldt + j] + beta * c[i];            \
        }                                                                              \
    }

void bm_gemm_pack_n_f32(size_t R, size_t rows, size_t kc, const void *src, size_t ld,
                        void *dst)
{
    PACK_N_BODY(float)
}

void bm_gemm_pack_t_f32(size_t R, size_t rows, size_t kc, const void *src, size_t ld,
                        void *dst)
{
    PACK_T_BODY(float)
}

void bm_gemm_pack_n_f64(size_t R, size_t rows, size_t kc, const void *src, size_t ld,
                        void *dst)
{
    PACK_N_BODY(double)
}

void bm_gemm_pack_t_f64(size_t R, size_t rows, size_t kc, const void *src, size_t ld,
                        void *dst)
{
    PACK_T_BODY(double)
}

void bm_gemm_store_t_f32(const void *tp, size_t ldt, void *cp, size_t ldc, size_t mr, size_t nr,
                         double alpha_d, double beta_d)
{
    STORE_T_BODY(float)
}

void bm_gemm_store_t_f64(const void *tp, size_t ldt, void *cp, size_t ldc, size_t mr, size_t nr,
                         double alpha_d, double beta_d)
{
    STORE_T_BODY(double)
}

static void portable_f32(size_t kc, const void *ap, const void *bp, size_t ldb, void *cp,
                         size_t ldc, size_t mr, size_t nr, double alpha_d, double beta_d)
{
    PORTABLE_BODY(float, P_NR_F32)
}

static void portable_f64(size_t kc, const void *ap, const void *bp, size_t ldb, void *cp,
                         size_t ldc, size_t mr, size_t nr, double alpha_d, double beta_d)
{
    PORTABLE_BODY(double, P_NR_F64)
}

static const bm_gemm_kernel portable_kernel_f32 = {
    P_MR,         P_NR_F32,           P_KC,               P_NC,
    P_NR_F32,     portable_f32,       bm_gemm_pack_n_f32, bm_gemm_pack_t_f32,
    bm_gemm_store_t_f32};
static const bm_gemm_kernel portable_kernel_f64 = {
    P_MR,         P_NR_F64,           P_KC,               P_NC,
    P_NR_F64,     portable_f64,       bm_gemm_pack_n_f64, bm_gemm_pack_t_f64,
    bm_gemm_store_t_f64};

const bm_gemm_kernel *bm_gemm_portable_kernel(int f64)
{
    return f64 ? &portable_kernel_f64 : &portable_kernel_f32;
}
