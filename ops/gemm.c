/* gemm.c — C = alpha·op(A)·op(B) + beta·C, row-major, blocked and packed.
 * out: C [M,N]   in: op(A) [M,K], op(B) [K,N]  (ta: A stored [K,M]; tb: B [N,K]).
 *
 * Loops, outermost first (the BLIS/GotoBLAS scheme, with the roles of A and B
 * swapped because C is row-major and the kernels vectorise along its rows):
 *   jc  over N in blocks of nc columns;
 *   pc  over K in slices of kc; the kc×nc block of op(B) is packed into
 *       NR-wide panels B̃ (kept in L2);
 *   ir  over M in strips of MR rows; the MR×kc strip of op(A) is packed into
 *       a panel Ã (kept in L1 while every B̃ panel streams past it);
 *   jr  over the B̃ panels: one micro-kernel call per MR×NR tile of C.
 * Packing reads A and B in whichever layout ta/tb say (a copy or an
 * in-register transpose), so no transpose is ever materialised, and pads edge
 * panels with zeros; the kernels store only the mr×nr part of an edge tile.
 * K is cut into equal slices (no thin tail); slices after the first
 * accumulate into C with beta 1.
 *
 * Shape-driven choices (gemm_run), all functions of M, N, K, ta, tb and the
 * path only:
 *   - M·N·K <= DIRECT_MAX: a plain loop (packing costs more than it saves);
 *   - few columns, many rows (N = 3, 10, ...): the swapped product
 *     Cᵀ = op(B)ᵀ·op(A)ᵀ keeps the vector lanes full; its tiles are stored
 *     back into C transposed (store_t);
 *   - tb 0 and either a single strip of rows or a small op(B)
 *     (DIRECT_B_BYTES): the kernel reads op(B) in place, unpacked.
 *
 * Paths: AVX-512F (14×32 f32 / 14×16 f64 tiles, gemm_avx512.c), AVX2+FMA
 * (6×16 / 6×8, gemm_avx2.c), portable C (4×8 / 4×4, below), chosen per call
 * by __builtin_cpu_supports; nothing is cached, there is no global state.
 * Results are bit-identical from run to run for the same sizes and path:
 * the blocking and every summation order depend on the shape and path only
 * (not on pointer alignment or on what ran before).
 *
 * Memory: Ã and the scratch tile live on the stack (ABUF_BYTES + TILE_BYTES).
 * B̃ lives on the stack when the packed block fits BSTACK_BYTES; a larger
 * block takes one aligned_alloc per call, freed before returning (so big
 * products call malloc once each; a workspace argument would remove that).
 * If the allocation fails, B̃ is cut into narrower blocks that fit the stack
 * buffer: slower, same result contract, no error to report. */
#include <assert.h>
#include <stdlib.h>

#include "gemm_internal.h"
#include "ops_internal.h"

enum {
    ALIGN = 64,             /* packed buffers: cache-line and zmm alignment */
    ABUF_BYTES = 16384,     /* Ã: MR·kc elements, largest over all kernels */
    TILE_BYTES = 2048,      /* one MR×NR tile of C, largest over all kernels */
    BSTACK_BYTES = 32768,   /* B̃ blocks up to this size stay on the stack */
    DIRECT_B_BYTES = 32768, /* op(B) up to this size is read in place (tb 0) */
    DIRECT_MAX = 64,        /* M·N·K at or below this: plain loop (measured) */
    P_MR = 4,               /* portable tile: 4 rows */
    P_NR_F32 = 8,           /*   × 8 f32 columns (two SSE vectors) */
    P_NR_F64 = 4,           /*   × 4 f64 columns */
    P_KC = 256,             /* portable blocking, as the AVX2 one */
    P_NC = 256,
};

/* One product's arguments, element-type-free (alpha, beta exact as double). */
typedef struct gemm_args {
    int f64, ta, tb, ct; /* ct: C is stored transposed (the swapped product) */
    size_t M, N, K;
    double alpha, beta;
    const void *A, *B;
    void *C;
    size_t lda, ldb, ldc;
} gemm_args;

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }
static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

/* ---- element-type bodies (T = float or double) ---- */

/* C = beta·C over M×N; beta 0 writes zeros without reading. */
#define SCALE_BODY(T)                                                                  \
    {                                                                                  \
        T *C = g->C, beta = (T)g->beta;                                                \
        for (size_t i = 0; i < g->M; i++)                                              \
            for (size_t j = 0; j < g->N; j++)                                          \
                C[i * g->ldc + j] = beta == (T)0 ? (T)0 : beta * C[i * g->ldc + j];    \
    }

/* C = alpha·op(A)·op(B) + beta·C by the plain i-k-j loop. */
#define DIRECT_BODY(T)                                                                 \
    {                                                                                  \
        const T *A = g->A, *B = g->B;                                                  \
        T alpha = (T)g->alpha, beta = (T)g->beta;                                      \
        for (size_t i = 0; i < g->M; i++) {                                            \
            T *c = (T *)g->C + i * g->ldc;                                             \
            for (size_t j = 0; j < g->N; j++)                                          \
                c[j] = beta == (T)0 ? (T)0 : beta * c[j];                              \
            for (size_t k = 0; k < g->K; k++) {                                        \
                T aik = alpha * (g->ta ? A[k * g->lda + i] : A[i * g->lda + k]);       \
                for (size_t j = 0; j < g->N; j++)                                      \
                    c[j] += aik * (g->tb ? B[j * g->ldb + k] : B[k * g->ldb + j]);     \
            }                                                                          \
        }                                                                              \
    }

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

static void gemm_scale(const gemm_args *g)
{
    if (g->f64)
        SCALE_BODY(double)
    else
        SCALE_BODY(float)
}

/* The plain i-k-j loop, for products too small to pay for packing. */
static void gemm_direct(const gemm_args *g)
{
    if (g->f64)
        DIRECT_BODY(double)
    else
        DIRECT_BODY(float)
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

/* ---- the blocked driver ---- */

/* Pack the kc×nc block of op(B) at (k0, j0) into NR-wide panels: panel p at
 * dst + p·kc·NR elements. */
static void pack_b(const bm_gemm_kernel *kd, const gemm_args *g, size_t k0, size_t j0, size_t kc,
                   size_t nc, unsigned char *dst, size_t es)
{
    const unsigned char *B = g->B;
    for (size_t jp = 0; jp < nc; jp += kd->nr) {
        size_t w = min_sz(kd->nr, nc - jp), j = j0 + jp;
        if (g->tb) /* B stored [N,K] */
            kd->pack_t(kd->nr, w, kc, B + (j * g->ldb + k0) * es, g->ldb, dst + jp * kc * es);
        else
            kd->pack_n(kd->nr, w, kc, B + (k0 * g->ldb + j) * es, g->ldb, dst + jp * kc * es);
    }
}

/* The loops over one problem, B̃ in bbuf (kcb·ncb elements), or, with bbuf
 * NULL, op(B) read in place (tb 0 only). With g->ct the problem is the
 * swapped one (Cᵀ = op(B)ᵀ·op(A)ᵀ): each tile goes through a scratch tile and
 * is stored transposed. */
static void gemm_blocked(const bm_gemm_kernel *kd, const gemm_args *g, size_t kcb, size_t ncb,
                         unsigned char *bbuf)
{
    _Alignas(ALIGN) unsigned char abuf[ABUF_BYTES];
    _Alignas(ALIGN) unsigned char tbuf[TILE_BYTES];
    size_t es = g->f64 ? sizeof(double) : sizeof(float);
    const unsigned char *A = g->A, *B = g->B;
    assert(kd->mr * kcb * es <= sizeof abuf && kd->mr * kd->nr * es <= sizeof tbuf);
    assert(bbuf || !g->tb);
    for (size_t jc = 0; jc < g->N; jc += ncb) {
        size_t nc = min_sz(ncb, g->N - jc);
        for (size_t pc = 0; pc < g->K; pc += kcb) {
            size_t kc = min_sz(kcb, g->K - pc);
            double beta = pc == 0 ? g->beta : 1.0; /* later slices accumulate */
            if (bbuf)
                pack_b(kd, g, pc, jc, kc, nc, bbuf, es);
            for (size_t ic = 0; ic < g->M; ic += kd->mr) {
                size_t mr = min_sz(kd->mr, g->M - ic);
                if (g->ta) /* A stored [K,M] */
                    kd->pack_n(kd->mr, mr, kc, A + (pc * g->lda + ic) * es, g->lda, abuf);
                else
                    kd->pack_t(kd->mr, mr, kc, A + (ic * g->lda + pc) * es, g->lda, abuf);
                for (size_t jr = 0; jr < nc; jr += kd->nr) {
                    size_t nr = min_sz(kd->nr, nc - jr), ldb = bbuf ? kd->nr : g->ldb;
                    const unsigned char *b =
                        bbuf ? bbuf + jr * kc * es : B + (pc * g->ldb + jc + jr) * es;
                    if (!g->ct) {
                        unsigned char *c = (unsigned char *)g->C + (ic * g->ldc + jc + jr) * es;
                        kd->kern(kc, abuf, b, ldb, c, g->ldc, mr, nr, g->alpha, beta);
                    } else { /* C'(ic, jc+jr) is C(jc+jr, ic) */
                        unsigned char *c = (unsigned char *)g->C + ((jc + jr) * g->ldc + ic) * es;
                        kd->kern(kc, abuf, b, ldb, tbuf, kd->nr, mr, nr, 1.0, 0.0);
                        kd->store_t(tbuf, kd->nr, c, g->ldc, mr, nr, g->alpha, beta);
                    }
                }
            }
        }
    }
}

/* gemm_blocked with B̃ on the stack; its own frame, used only when it fits. */
static void gemm_blocked_stack(const bm_gemm_kernel *kd, const gemm_args *g, size_t kcb,
                               size_t ncb)
{
    _Alignas(ALIGN) unsigned char bbuf[BSTACK_BYTES];
    gemm_blocked(kd, g, kcb, ncb, bbuf);
}

/* Multiply-add vector steps of an m×n×k product on kd, plus, when swapped,
 * one step per element for storing it back transposed (in double: no
 * overflow). */
static double cost(const bm_gemm_kernel *kd, size_t m, size_t n, size_t k, int swapped)
{
    return (double)m * (double)ceil_div(n, kd->vl) * (double)k + (swapped ? (double)m * n : 0);
}

static void gemm_run(const bm_gemm_kernel *kd, const gemm_args *g0)
{
    gemm_args g = *g0;
    size_t es = g.f64 ? sizeof(double) : sizeof(float);
    if (g.M == 0 || g.N == 0)
        return;
    if (g.K == 0 || g.alpha == 0.0) { /* BLAS: op(A)·op(B) is not formed */
        gemm_scale(&g);
        return;
    }
    if (g.M <= DIRECT_MAX && g.N <= DIRECT_MAX && g.M * g.N <= DIRECT_MAX &&
        g.K <= DIRECT_MAX / (g.M * g.N)) { /* tiny: packing costs more than it saves */
        gemm_direct(&g);
        return;
    }
    /* Few columns, many rows: the kernels vectorise along rows of C, so run
     * Cᵀ = op(B)ᵀ·op(A)ᵀ instead (op(B)ᵀ is B read with the other flag). */
    if (cost(kd, g.N, g.M, g.K, 1) < cost(kd, g.M, g.N, g.K, 0)) {
        g.ct = 1;
        g.ta = !g0->tb;
        g.tb = !g0->ta;
        g.M = g0->N;
        g.N = g0->M;
        g.A = g0->B;
        g.B = g0->A;
        g.lda = g0->ldb;
        g.ldb = g0->lda;
    }
    /* equal K slices of at most kc */
    size_t kcb = ceil_div(g.K, ceil_div(g.K, kd->kc));
    /* One strip of rows uses each element of op(B) once, and a small op(B)
     * stays in cache: with tb 0 the kernel reads it in place, since packing
     * would only copy it. */
    if (!g.tb && (g.M <= kd->mr || g.K * g.N * es <= DIRECT_B_BYTES)) {
        gemm_blocked(kd, &g, kcb, g.N, NULL);
        return;
    }
    /* N blocks of at most nc, whole panels */
    size_t ncb = ceil_div(ceil_div(g.N, ceil_div(g.N, kd->nc)), kd->nr) * kd->nr;
    size_t bbytes = kcb * ncb * es;
    if (bbytes <= BSTACK_BYTES) {
        gemm_blocked_stack(kd, &g, kcb, ncb);
        return;
    }
    unsigned char *bbuf = aligned_alloc(ALIGN, ceil_div(bbytes, ALIGN) * ALIGN);
    if (!bbuf) { /* out of memory: narrower blocks that fit the stack buffer */
        assert(kcb * kd->nr * es <= BSTACK_BYTES);
        gemm_blocked_stack(kd, &g, kcb, BSTACK_BYTES / (kcb * es) / kd->nr * kd->nr);
        return;
    }
    gemm_blocked(kd, &g, kcb, ncb, bbuf);
    free(bbuf);
}

/* ---- paths ---- */

int bm_gemm_isa_available(bm_gemm_isa isa)
{
    switch (isa) {
    case BM_GEMM_AUTO:
    case BM_GEMM_PORTABLE:
        return 1;
#if BM_GEMM_X86
    case BM_GEMM_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case BM_GEMM_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
#endif
    default:
        return 0;
    }
}

bm_gemm_isa bm_gemm_isa_best(void)
{
    if (bm_gemm_isa_available(BM_GEMM_AVX512))
        return BM_GEMM_AVX512;
    if (bm_gemm_isa_available(BM_GEMM_AVX2))
        return BM_GEMM_AVX2;
    return BM_GEMM_PORTABLE;
}

/* The kernel for isa and type; NULL if this build or CPU lacks it. */
static const bm_gemm_kernel *kernel_for(bm_gemm_isa isa, int f64)
{
    if (isa == BM_GEMM_AUTO)
        isa = bm_gemm_isa_best();
    if (!bm_gemm_isa_available(isa))
        return NULL;
    switch (isa) {
    case BM_GEMM_AVX512:
        return bm_gemm_avx512_kernel(f64);
    case BM_GEMM_AVX2:
        return bm_gemm_avx2_kernel(f64);
    case BM_GEMM_PORTABLE:
        return f64 ? &portable_kernel_f64 : &portable_kernel_f32;
    default:
        return NULL;
    }
}

int bm_gemm_f32_isa(bm_gemm_isa isa, int ta, int tb, size_t M, size_t N, size_t K, float alpha,
                    const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
                    size_t ldc)
{
    const bm_gemm_kernel *kd = kernel_for(isa, 0);
    if (!kd)
        return 0;
    gemm_args g = {0, ta, tb, 0, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc};
    gemm_run(kd, &g);
    return 1;
}

int bm_gemm_f64_isa(bm_gemm_isa isa, int ta, int tb, size_t M, size_t N, size_t K, double alpha,
                    const double *A, size_t lda, const double *B, size_t ldb, double beta,
                    double *C, size_t ldc)
{
    const bm_gemm_kernel *kd = kernel_for(isa, 1);
    if (!kd)
        return 0;
    gemm_args g = {1, ta, tb, 0, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc};
    gemm_run(kd, &g);
    return 1;
}

void bm_gemm_f32(int ta, int tb, size_t M, size_t N, size_t K, float alpha, const float *A,
                 size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
    bm_gemm_f32_isa(BM_GEMM_AUTO, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void bm_gemm_f64(int ta, int tb, size_t M, size_t N, size_t K, double alpha, const double *A,
                 size_t lda, const double *B, size_t ldb, double beta, double *C, size_t ldc)
{
    bm_gemm_f64_isa(BM_GEMM_AUTO, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
