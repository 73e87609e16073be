/* gemm.c — portable GEMM: C = alpha·op(A)·op(B) + beta·C (row-major).
 * out: C [M,N]   in: op(A) [M,K], op(B) [K,N]. */
#include "ops_internal.h"

#define GEMM_BODY(T)                                                                   \
    for (size_t i = 0; i < M; i++) {                                                   \
        T *c = C + i * ldc;                                                            \
        if (beta == (T)0)                                                              \
            for (size_t j = 0; j < N; j++)                                             \
                c[j] = (T)0;                                                           \
        else if (beta != (T)1)                                                         \
            for (size_t j = 0; j < N; j++)                                             \
                c[j] *= beta;                                                          \
        for (size_t k = 0; k < K; k++) {                                               \
            T aik = alpha * (ta ? A[k * lda + i] : A[i * lda + k]);                    \
            if (tb) {                                                                  \
                for (size_t j = 0; j < N; j++)                                         \
                    c[j] += aik * B[j * ldb + k];                                      \
            } else {                                                                   \
                const T *b = B + k * ldb;                                              \
                for (size_t j = 0; j < N; j++)                                         \
                    c[j] += aik * b[j];                                                \
            }                                                                          \
        }                                                                              \
    }

void bm_gemm_f32(int ta, int tb, size_t M, size_t N, size_t K, float alpha, const float *A,
                 size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
    GEMM_BODY(float)
}

void bm_gemm_f64(int ta, int tb, size_t M, size_t N, size_t K, double alpha, const double *A,
                 size_t lda, const double *B, size_t ldb, double beta, double *C, size_t ldc)
{
    GEMM_BODY(double)
}
