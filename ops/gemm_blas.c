/* gemm_blas.c — the optional BLAS backend of the GEMM (meson -Dblas=enabled).
 *
 * With BM_HAVE_BLAS (OpenBLAS, or any cblas found by pkg-config) products of
 * at least BLAS_MIN_WORK multiply-adds, and not thin (both M and N at least
 * BLAS_MIN_SIDE, where the own kernel is faster), go to cblas_sgemm /
 * cblas_dgemm in row-major order with the same transposes. Degenerate
 * products never reach here (gemm.c scales C itself), so BLAS quirks with
 * K = 0 or alpha = 0 do not matter.
 *
 * Threads: OpenBLAS keeps its own thread count, process-wide. When it has
 * openblas_set_num_threads (BM_BLAS_SET_THREADS), each call sets it to the
 * caller's pool size first (1 without a pool), so a tape's thread setting
 * holds for BLAS calls too; anything else in the process that uses OpenBLAS
 * sees that setting. Other cblas libraries run with their own settings.
 * OpenBLAS's results are the same from run to run for one thread count,
 * but may differ between thread counts (unlike the own kernels'). */
#include <limits.h>

#include "gemm_internal.h"

#ifdef BM_HAVE_BLAS
#include <cblas.h>
#endif

enum {
    BLAS_MIN_WORK = 1 << 18, /* M·N·K below this: the own kernel (no call overhead) */
    BLAS_MIN_SIDE = 16,      /* M or N below this: the own kernel (thin products) */
};

int bm_gemm_blas_available(void)
{
#ifdef BM_HAVE_BLAS
    return 1;
#else
    return 0;
#endif
}

int bm_gemm_blas_wanted(size_t M, size_t N, size_t K)
{
    if (!bm_gemm_blas_available() || M < BLAS_MIN_SIDE || N < BLAS_MIN_SIDE)
        return 0;
    return (double)M * (double)N * (double)K >= (double)BLAS_MIN_WORK;
}

int bm_gemm_blas(int f64, int ta, int tb, size_t M, size_t N, size_t K, double alpha,
                 const void *A, size_t lda, const void *B, size_t ldb, double beta, void *C,
                 size_t ldc, int threads)
{
#ifdef BM_HAVE_BLAS
    if (M > INT_MAX || N > INT_MAX || K > INT_MAX || lda > INT_MAX || ldb > INT_MAX ||
        ldc > INT_MAX)
        return 0;
#ifdef BM_BLAS_SET_THREADS
    if (openblas_get_num_threads() != threads)
        openblas_set_num_threads(threads);
#else
    (void)threads;
#endif
    enum CBLAS_TRANSPOSE oa = ta ? CblasTrans : CblasNoTrans, ob = tb ? CblasTrans : CblasNoTrans;
    if (f64)
        cblas_dgemm(CblasRowMajor, oa, ob, (int)M, (int)N, (int)K, alpha, A, (int)lda, B,
                    (int)ldb, beta, C, (int)ldc);
    else
        cblas_sgemm(CblasRowMajor, oa, ob, (int)M, (int)N, (int)K, (float)alpha, A, (int)lda,
                    B, (int)ldb, (float)beta, C, (int)ldc);
    return 1;
#else
    (void)f64, (void)ta, (void)tb, (void)M, (void)N, (void)K, (void)alpha, (void)A, (void)lda;
    (void)B, (void)ldb, (void)beta, (void)C, (void)ldc, (void)threads;
    return 0;
#endif
}
