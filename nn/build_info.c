/* build_info.c — what this build of the library has and what it chose at
 * run time (bm_build_features, for `bmnn --version` and bug reports). */
#include <stdio.h>

#include "bmnn.h"
#include "gemm_internal.h"

/* Names of the GEMM's own-kernel paths, as bm_build_features prints them. */
static const char *const gemm_path_names[BM_GEMM_ISA_COUNT] = {
    [BM_GEMM_AUTO] = "auto",     [BM_GEMM_PORTABLE] = "portable", [BM_GEMM_AVX2] = "avx2",
    [BM_GEMM_AVX512] = "avx512", [BM_GEMM_BLAS] = "blas",
};

size_t bm_build_features(char *buf, size_t len)
{
    bm_gemm_isa best = bm_gemm_isa_best();
    int n = snprintf(buf, buf ? len : 0, "blas=%s gemm=%s",
                     bm_gemm_blas_available() ? "yes" : "no", gemm_path_names[best]);
    return n > 0 ? (size_t)n : 0;
}
