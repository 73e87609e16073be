/* bench_blas.c — G's peer in the same binary: cblas_sgemm (OpenBLAS) timed on
 * the operands bm_gemm_f32 was timed on, called from C — no ctypes or
 * interpreter between the timer and the call, so the small and skinny shapes
 * (a dimension <= 16) compare the kernels and their per-call overhead only.
 * Built with BENCH_HAVE_CBLAS when meson finds OpenBLAS's cblas.h; without
 * it every function here reports "not available" and G prints a note. */
#include <string.h>

#include "bench_internal.h"

#ifdef BENCH_HAVE_CBLAS
#include <cblas.h>
#endif

/* One product's operands, row-major as gemm_one keeps them. */
typedef struct blas_ctx {
    int ta, tb, M, N, K;
    float beta;
    const float *A, *B;
    float *C;
} blas_ctx;

int bench_blas_available(void)
{
#ifdef BENCH_HAVE_CBLAS
    return 1;
#else
    return 0;
#endif
}

const char *bench_blas_kernel(void)
{
#ifdef BENCH_HAVE_CBLAS
    return openblas_get_corename();
#else
    return "none";
#endif
}

void bench_blas_threads(int threads)
{
#ifdef BENCH_HAVE_CBLAS
    openblas_set_num_threads(threads > 0 ? threads : 1);
#else
    (void)threads;
#endif
}

static int blas_call(void *ctx)
{
#ifdef BENCH_HAVE_CBLAS
    const blas_ctx *b = ctx;
    cblas_sgemm(CblasRowMajor, b->ta ? CblasTrans : CblasNoTrans,
                b->tb ? CblasTrans : CblasNoTrans, b->M, b->N, b->K, 1.0f, b->A,
                b->ta ? b->M : b->K, b->B, b->tb ? b->K : b->N, b->beta, b->C, b->N);
    return 0;
#else
    (void)ctx;
    return -1;
#endif
}

int bench_blas_gemm(const bench_opts *o, int ta, int tb, size_t M, size_t N, size_t K,
                    float beta, const float *A, const float *B, float *C, bench_stats *st)
{
    memset(st, 0, sizeof *st);
    if (!bench_blas_available() || M > BENCH_BLAS_MAX_DIM || N > BENCH_BLAS_MAX_DIM ||
        K > BENCH_BLAS_MAX_DIM)
        return -1;
    blas_ctx b = {ta, tb, (int)M, (int)N, (int)K, beta, A, B, C};
    return bench_measure(blas_call, &b, o, NULL, st);
}
