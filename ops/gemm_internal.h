/* gemm_internal.h — the GEMM's instruction-set paths (not installed).
 *
 * bm_gemm_f32/f64 (ops_internal.h) pick the widest path this CPU runs, asked
 * anew on every call (__builtin_cpu_supports is a few loads), so no state is
 * cached; in a -Dblas=enabled build, large products go to BLAS instead.
 * bm_gemm_f32_isa/f64_isa run one named path; the tests use them to check
 * every path this CPU has against a naive product. */
#ifndef BM_GEMM_INTERNAL_H
#define BM_GEMM_INTERNAL_H

#include <stddef.h>

#include "bm_autograd.h"
#include "pool_internal.h"

/* 1 where the x86 kernels (GCC/Clang target attributes) are built in. */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define BM_GEMM_X86 1
#else
#define BM_GEMM_X86 0
#endif

/* The GEMM paths, narrowest first. */
typedef enum bm_gemm_isa {
    BM_GEMM_AUTO = 0,  /* the widest available */
    BM_GEMM_PORTABLE,  /* plain C, any CPU */
    BM_GEMM_AVX2,      /* AVX2 + FMA */
    BM_GEMM_AVX512,    /* AVX-512F (+ FMA) */
    BM_GEMM_BLAS,      /* cblas_sgemm/dgemm, every size (builds with -Dblas=enabled) */
    BM_GEMM_ISA_COUNT
} bm_gemm_isa;

/* Micro-kernel: C[0:mr,0:nr] = alpha·(Ã·B̃) + beta·C, with C row-major (ldc);
 * beta 0 never reads C. Ã is a packed panel of MR rows, k-major: element
 * (i,k) at a[k·MR + i], zero-padded to MR rows, 64-byte aligned. B̃ holds
 * (k,j) at b[k·ldb + j]: a packed, zero-padded panel (ldb = NR) or op(B) read
 * in place (only columns j < nr are read). 1 <= mr <= MR, 1 <= nr <= NR.
 * alpha and beta arrive as double (exact for float). */
typedef void (*bm_gemm_kern_fn)(size_t kc, const void *a, const void *b, size_t ldb, void *c,
                                size_t ldc, size_t mr, size_t nr, double alpha, double beta);

/* The micro-kernel reading op(A) in place instead of a packed Ã: element
 * (i,k) at a[i·rs + k·cs] (rs lda, cs 1 for A stored [M,K]; rs 1, cs lda
 * for A stored [K,M]); only rows i < mr are read. The same arithmetic in
 * the same order as kern on the packed panel: the same bits. */
typedef void (*bm_gemm_kern_a_fn)(size_t kc, const void *a, size_t rs, size_t cs, const void *b,
                                  size_t ldb, void *c, size_t ldc, size_t mr, size_t nr,
                                  double alpha, double beta);

/* Transposed store of a tile of the swapped product: for i < mr, j < nr,
 * c[j·ldc + i] = alpha·t[i·ldt + j] + beta·c[j·ldc + i] (beta 0: c not read).
 * mr <= MR, nr <= NR; t is 64-byte aligned. */
typedef void (*bm_gemm_store_t_fn)(const void *t, size_t ldt, void *c, size_t ldc, size_t mr,
                                   size_t nr, double alpha, double beta);

/* Packing into a panel R wide (R = MR for Ã, NR for B̃), k-major:
 * pack_n: dst[k·R + r] = src[k·ld + r]  (the source is k-major already);
 * pack_t: dst[k·R + r] = src[r·ld + k]  (the source is r-major: transpose);
 * for r < rows <= R, k < kc; lanes rows..R of each k are set to zero. */
typedef void (*bm_gemm_pack_fn)(size_t R, size_t rows, size_t kc, const void *src, size_t ld,
                                void *dst);

/* Products at most this deep may take a path's small-K kernel. */
#define BM_GEMM_SMALL_K 4

/* Small-K direct kernel: C[M,N] = alpha·op(A)·B + beta·C (beta 0: C not
 * read) for K <= BM_GEMM_SMALL_K, no packing: op(A) read in place, element
 * (i,k) at a[i·sa + k·sk]; B a K×N row-major panel (ldb). */
typedef void (*bm_gemm_small_fn)(size_t M, size_t N, size_t K, const void *a, size_t sa,
                                 size_t sk, const void *b, size_t ldb, void *c, size_t ldc,
                                 double alpha, double beta);

/* One path for one element type: register tile, cache blocks, routines. */
typedef struct bm_gemm_kernel {
    size_t mr, nr; /* register tile: mr rows × nr columns of C */
    size_t kc;     /* depth of one packed panel (Ã's MR×kc stays in L1) */
    size_t nc;     /* columns of the packed kc×nc block of B (kept in L2) */
    size_t vl;     /* columns per vector step: a tile nr wide costs ⌈nr/vl⌉ */
    bm_gemm_kern_fn kern;
    bm_gemm_kern_a_fn kern_a; /* NULL: this path always packs Ã */
    bm_gemm_pack_fn pack_n, pack_t;
    bm_gemm_store_t_fn store_t;
    bm_gemm_small_fn small; /* the small-K kernel (NULL: the path has none) */
} bm_gemm_kernel;

/* Portable routines (gemm_portable.c), for paths without their own. */
void bm_gemm_pack_n_f32(size_t R, size_t rows, size_t kc, const void *src, size_t ld, void *dst);
void bm_gemm_pack_t_f32(size_t R, size_t rows, size_t kc, const void *src, size_t ld, void *dst);
void bm_gemm_pack_n_f64(size_t R, size_t rows, size_t kc, const void *src, size_t ld, void *dst);
void bm_gemm_pack_t_f64(size_t R, size_t rows, size_t kc, const void *src, size_t ld, void *dst);
void bm_gemm_store_t_f32(const void *t, size_t ldt, void *c, size_t ldc, size_t mr, size_t nr,
                         double alpha, double beta);
void bm_gemm_store_t_f64(const void *t, size_t ldt, void *c, size_t ldc, size_t mr, size_t nr,
                         double alpha, double beta);

/* The plain-C kernels (gemm_portable.c); f64 selects the double one. */
const bm_gemm_kernel *bm_gemm_portable_kernel(int f64);

/* The kernels of each x86 file; f64 selects the double one. NULL where not
 * built in (non-x86). They do not ask the CPU; bm_gemm_isa_available does. */
const bm_gemm_kernel *bm_gemm_avx2_kernel(int f64);
const bm_gemm_kernel *bm_gemm_avx512_kernel(int f64);

/* 1 if this build and CPU can run isa (BM_GEMM_AUTO: always 1). */
int bm_gemm_isa_available(bm_gemm_isa isa);

/* The own-kernel path BM_GEMM_AUTO resolves to on this CPU (never BLAS). */
bm_gemm_isa bm_gemm_isa_best(void);

/* bm_gemm_f32_ex / bm_gemm_f64_ex on path isa (BM_GEMM_AUTO: the same
 * choice as theirs, BLAS included). Returns 1, or 0 with C untouched if this
 * build or CPU lacks isa. */
int bm_gemm_f32_isa(bm_gemm_isa isa, int ta, int tb, size_t M, size_t N, size_t K, float alpha,
                    const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
                    size_t ldc, bm_pool *pool, void *ws, size_t ws_bytes);
int bm_gemm_f64_isa(bm_gemm_isa isa, int ta, int tb, size_t M, size_t N, size_t K, double alpha,
                    const double *A, size_t lda, const double *B, size_t ldb, double beta,
                    double *C, size_t ldc, bm_pool *pool, void *ws, size_t ws_bytes);
/* bm_gemm_workspace_bytes for path isa (0 where isa is unavailable). */
size_t bm_gemm_workspace_bytes_isa(bm_gemm_isa isa, bm_dtype dt, int ta, int tb, size_t M,
                                   size_t N, size_t K, int threads);

/* The BLAS backend (gemm_blas.c). available: built with BLAS. wanted: AUTO
 * routes an M×N×K product there. bm_gemm_blas runs one product on `threads`
 * threads (see gemm_blas.c); returns 0 (C untouched) without BLAS or when a
 * size does not fit the cblas interface's int. */
int bm_gemm_blas_available(void);
int bm_gemm_blas_wanted(size_t M, size_t N, size_t K);
int bm_gemm_blas(int f64, int ta, int tb, size_t M, size_t N, size_t K, double alpha,
                 const void *A, size_t lda, const void *B, size_t ldb, double beta, void *C,
                 size_t ldc, int threads);

#endif
