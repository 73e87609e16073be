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
 * Shape-driven choices (plan_make), all functions of M, N, K, ta, tb and the
 * path only:
 *   - M·N·K <= DIRECT_MAX: a plain loop (packing costs more than it saves);
 *   - few columns, many rows (N = 3, 10, ...): the swapped product
 *     Cᵀ = op(B)ᵀ·op(A)ᵀ keeps the vector lanes full; its tiles are stored
 *     back into C transposed (store_t);
 *   - tb 0 and either a single strip of rows or a small op(B)
 *     (DIRECT_B_BYTES): the kernel reads op(B) in place, unpacked;
 *   - K <= BM_GEMM_SMALL_K on a path with a small-K kernel (AVX2): no
 *     packing at all, op(A) read in place (gemm_small).
 *
 * Paths: AVX-512F (14×32 f32 / 14×16 f64 tiles, gemm_avx512.c), AVX2+FMA
 * (6×16 / 6×8, gemm_avx2.c), portable C (4×8 / 4×4, gemm_portable.c),
 * chosen per call by __builtin_cpu_supports; nothing is cached, there is no
 * global state. With -Dblas=enabled, large products go to cblas instead
 * (gemm_blas.c). Each path writes its f32 and f64 routines once, in a
 * template included per element type (gemm_avx512_kernel.inc,
 * gemm_avx2_kernel.inc, gemm_portable_kernels.inc; this file's unblocked
 * loops: gemm_direct_kernels.inc).
 * Results are bit-identical from run to run for the same sizes and path:
 * the blocking and every summation order depend on the shape and path only
 * (not on pointer alignment, on what ran before, or on the thread count).
 *
 * Threads (the _ex forms with a bm_pool): C is cut into disjoint pieces of
 * whole tiles — ranges of columns, or of rows when that balances better —
 * at most one per thread, each of PIECE_WORK multiply-adds or more, and
 * only when K >= SPLIT_MIN_K. Each piece runs the loops above on its part
 * with the same K slices, so every element of C is computed by one thread
 * in the same order as on one thread: any thread count gives the same bits.
 *
 * Memory: Ã and the scratch tile live on the stack (ABUF_BYTES + TILE_BYTES).
 * B̃ lives on the stack when the packed block fits BSTACK_BYTES; a larger
 * block lives in the caller's workspace (bm_gemm_workspace_bytes: one block
 * per piece; matmul keeps it in its node, so a replayed step allocates
 * nothing), or, without one, in one aligned_alloc per call, freed before
 * returning. If that allocation fails, B̃ is cut into narrower blocks that
 * fit the stack buffer: slower, same result, no error to report. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_internal.h"
#include "ops_internal.h"

enum {
    ALIGN = 64,             /* packed buffers: cache-line and zmm alignment */
    ABUF_BYTES = 16384,     /* Ã: MR·kc elements, largest over all kernels */
    TILE_BYTES = 2048,      /* one MR×NR tile of C, largest over all kernels */
    BSTACK_BYTES = 32768,   /* B̃ blocks up to this size stay on the stack */
    DIRECT_B_BYTES = 32768, /* op(B) up to this size is read in place (tb 0) */
    DIRECT_MAX = 64,        /* M·N·K at or below this: plain loop (measured) */
    PIECE_WORK = 1 << 18,   /* multiply-adds per thread's piece, at least (measured) */
    SPLIT_MIN_K = 32,       /* shallower products stay on one thread: they are bound by
                               C's memory traffic, and two threads measured no faster */
    A_INPLACE_MAX_N = 256,  /* op(A) read in place (kern_a) when N is at most this: a
                               packed Ã serves only N / NR tiles (measured) */
    SMALL_BT_BYTES = 8192,  /* small-K path: op(B) transposed onto the stack up to this */
};

/* One product's arguments, element-type-free (alpha, beta exact as double). */
typedef struct gemm_args {
    int f64, ta, tb, ct; /* ct: C is stored transposed (the swapped product) */
    int ai;              /* op(A) read in place by kern_a (no Ã panels are packed) */
    size_t M, N, K;
    double alpha, beta;
    const void *A, *B;
    void *C;
    size_t lda, ldb, ldc;
} gemm_args;

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }
static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

/* ---- the unblocked loops, per element type ---- */

#define T float
#define F(name) name##_f32
#include "gemm_direct_kernels.inc"
#undef T
#undef F
#define T double
#define F(name) name##_f64
#include "gemm_direct_kernels.inc"
#undef T
#undef F

/* C = beta·C over M×N. */
static void gemm_scale(const gemm_args *g)
{
    if (g->f64)
        gemm_scale_f64(g);
    else
        gemm_scale_f32(g);
}

/* The plain i-k-j loop, for products too small to pay for packing. */
static void gemm_direct(const gemm_args *g)
{
    if (g->f64)
        gemm_direct_f64(g);
    else
        gemm_direct_f32(g);
}

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

/* One strip of op(A) as the micro-kernel reads it: the packed Ã (rs 0),
 * or A in place with (i,k) at a[i·rs + k·cs]. */
typedef struct strip {
    const void *a;
    size_t rs, cs, mr, kc;
} strip;

/* The strip of rows ic.. and depths pc.. of op(A), read in place. */
static void a_in_place(const gemm_args *g, size_t ic, size_t pc, size_t es, strip *st)
{
    const unsigned char *A = g->A;
    st->a = g->ta ? A + (pc * g->lda + ic) * es : A + (ic * g->lda + pc) * es;
    st->rs = g->ta ? 1 : g->lda;
    st->cs = g->ta ? g->lda : 1;
}

/* One tile of C from strip st and the B̃ panel b: kern on a packed Ã,
 * kern_a on A in place (the same arithmetic). */
static void tile(const bm_gemm_kernel *kd, const strip *st, const void *b, size_t ldb, void *c,
                 size_t ldc, size_t nr, double alpha, double beta)
{
    if (st->rs)
        kd->kern_a(st->kc, st->a, st->rs, st->cs, b, ldb, c, ldc, st->mr, nr, alpha, beta);
    else
        kd->kern(st->kc, st->a, b, ldb, c, ldc, st->mr, nr, alpha, beta);
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
                strip st = {.a = abuf, .mr = mr, .kc = kc};
                if (g->ai) /* read in place: (i,k) at a[i·rs + k·cs] */
                    a_in_place(g, ic, pc, es, &st);
                else if (g->ta) /* A stored [K,M] */
                    kd->pack_n(kd->mr, mr, kc, A + (pc * g->lda + ic) * es, g->lda, abuf);
                else
                    kd->pack_t(kd->mr, mr, kc, A + (ic * g->lda + pc) * es, g->lda, abuf);
                for (size_t jr = 0; jr < nc; jr += kd->nr) {
                    size_t nr = min_sz(kd->nr, nc - jr), ldb = bbuf ? kd->nr : g->ldb;
                    const unsigned char *b =
                        bbuf ? bbuf + jr * kc * es : B + (pc * g->ldb + jc + jr) * es;
                    if (!g->ct) {
                        unsigned char *c = (unsigned char *)g->C + (ic * g->ldc + jc + jr) * es;
                        tile(kd, &st, b, ldb, c, g->ldc, nr, g->alpha, beta);
                    } else { /* C'(ic, jc+jr) is C(jc+jr, ic) */
                        unsigned char *c = (unsigned char *)g->C + ((jc + jr) * g->ldc + ic) * es;
                        tile(kd, &st, b, ldb, tbuf, kd->nr, nr, 1.0, 0.0);
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

/* ---- plans and pieces ---- */

/* How a product runs. */
enum { HOW_SCALE, HOW_DIRECT, HOW_INPLACE, HOW_PACKED };

/* One product's plan: a function of the arguments, the kernel and the thread
 * count only. The pieces split C (of the product as run) into disjoint
 * ranges of whole tiles; each piece runs the same loops with the same K
 * slices, so every element of C gets the same arithmetic for any number of
 * pieces — the result is bit-identical across thread counts. */
typedef struct gemm_plan {
    gemm_args g;        /* the product as run (swapped when g.ct) */
    int how;
    size_t kcb;         /* depth of the equal K slices */
    size_t pieces;      /* ranges of C run in parallel (1: the caller alone) */
    int split_n;        /* the ranges are of columns of g (else of rows) */
    size_t units, unit; /* tiles along the split side; rows or columns per tile */
    size_t slot;        /* heap B̃ bytes per piece, a multiple of ALIGN (0: none) */
} gemm_plan;

/* Columns of one packed B̃ block for a product n wide: n cut into equal
 * blocks of at most nc, rounded up to whole panels. */
static size_t block_cols(const bm_gemm_kernel *kd, size_t n)
{
    return ceil_div(ceil_div(n, ceil_div(n, kd->nc)), kd->nr) * kd->nr;
}

/* Rows (or columns, split_n) [*lo, *hi) of piece p: whole tiles, spread as
 * evenly as they go. */
static void piece_range(const gemm_plan *pl, size_t p, size_t *lo, size_t *hi)
{
    size_t u0 = p * pl->units / pl->pieces, u1 = (p + 1) * pl->units / pl->pieces;
    *lo = u0 * pl->unit;
    *hi = min_sz(u1 * pl->unit, pl->split_n ? pl->g.N : pl->g.M);
}

static void plan_make(const bm_gemm_kernel *kd, const gemm_args *g0, int threads, gemm_plan *pl)
{
    memset(pl, 0, sizeof *pl);
    pl->g = *g0;
    gemm_args *g = &pl->g;
    size_t es = g->f64 ? sizeof(double) : sizeof(float);
    pl->pieces = 1; /* one piece: all columns (set again after a swap) */
    pl->split_n = 1;
    pl->unit = kd->nr;
    pl->units = ceil_div(g->N, kd->nr);
    if (g->M == 0 || g->N == 0 || g->K == 0 || g->alpha == 0.0) {
        pl->how = HOW_SCALE; /* BLAS: op(A)·op(B) is not formed */
        return;
    }
    if (g->M <= DIRECT_MAX && g->N <= DIRECT_MAX && g->M * g->N <= DIRECT_MAX &&
        g->K <= DIRECT_MAX / (g->M * g->N)) { /* tiny: packing costs more than it saves */
        pl->how = HOW_DIRECT;
        return;
    }
    /* Few columns, many rows: the kernels vectorise along rows of C, so run
     * Cᵀ = op(B)ᵀ·op(A)ᵀ instead (op(B)ᵀ is B read with the other flag). */
    if (cost(kd, g0->N, g0->M, g0->K, 1) < cost(kd, g0->M, g0->N, g0->K, 0)) {
        g->ct = 1;
        g->ta = !g0->tb;
        g->tb = !g0->ta;
        g->M = g0->N;
        g->N = g0->M;
        g->A = g0->B;
        g->B = g0->A;
        g->lda = g0->ldb;
        g->ldb = g0->lda;
    }
    /* Few columns: each Ã panel would serve only a few tiles, so the kernel
     * reads op(A) in place where the path has kern_a (same arithmetic). */
    g->ai = kd->kern_a && g->N <= A_INPLACE_MAX_N;
    /* equal K slices of at most kc */
    pl->kcb = ceil_div(g->K, ceil_div(g->K, kd->kc));
    /* One strip of rows uses each element of op(B) once, and a small op(B)
     * stays in cache: with tb 0 the kernel reads it in place, since packing
     * would only copy it. */
    pl->how = !g->tb && (g->M <= kd->mr || g->K * g->N * es <= DIRECT_B_BYTES) ? HOW_INPLACE
                                                                                : HOW_PACKED;
    /* Pieces: at most one per thread, each with PIECE_WORK multiply-adds or
     * more, K deep enough; split the side whose largest piece is smaller (columns on a tie:
     * no B̃ is packed twice). */
    double work = (double)g->M * (double)g->N * (double)g->K;
    size_t want = threads > 1 && g->K >= SPLIT_MIN_K ? (size_t)threads : 1;
    if (work / PIECE_WORK < (double)want)
        want = (size_t)(work / PIECE_WORK);
    size_t um = ceil_div(g->M, kd->mr), un = ceil_div(g->N, kd->nr);
    pl->units = un;
    if (want >= 2 && (um >= 2 || un >= 2)) {
        size_t pm = min_sz(want, um), pn = min_sz(want, un);
        double cm = (double)min_sz(ceil_div(um, pm) * kd->mr, g->M) * (double)g->N;
        double cn = (double)min_sz(ceil_div(un, pn) * kd->nr, g->N) * (double)g->M;
        pl->split_n = cn <= cm;
        pl->pieces = pl->split_n ? pn : pm;
        pl->unit = pl->split_n ? kd->nr : kd->mr;
        pl->units = pl->split_n ? un : um;
    }
    if (pl->how == HOW_PACKED) {
        size_t most = 0;
        for (size_t p = 0; p < pl->pieces; p++) {
            size_t lo = 0, hi = g->N;
            if (pl->split_n)
                piece_range(pl, p, &lo, &hi);
            size_t b = pl->kcb * block_cols(kd, hi - lo) * es;
            most = b > most ? b : most;
        }
        pl->slot = most > BSTACK_BYTES ? ceil_div(most, ALIGN) * ALIGN : 0;
    }
}

/* Heap workspace of a plan, with room to align an unaligned pointer. */
static size_t plan_bytes(const gemm_plan *pl)
{
    return pl->slot ? pl->pieces * pl->slot + ALIGN : 0;
}

typedef struct gemm_job {
    const bm_gemm_kernel *kd;
    const gemm_plan *pl;
    unsigned char *ws; /* pieces·slot bytes, ALIGN-aligned; NULL: narrow stack blocks */
} gemm_job;

/* Piece p of a job (bm_pool_fn): the sub-product of its rows or columns. */
static void gemm_piece(void *ctx, size_t p, int worker)
{
    (void)worker; /* scratch is per piece, not per thread */
    const gemm_job *job = ctx;
    const gemm_plan *pl = job->pl;
    const bm_gemm_kernel *kd = job->kd;
    gemm_args g = pl->g;
    size_t es = g.f64 ? sizeof(double) : sizeof(float), lo, hi;
    piece_range(pl, p, &lo, &hi);
    if (pl->split_n) { /* columns lo..hi of op(B) and of C (rows of C when stored transposed) */
        g.N = hi - lo;
        g.B = (const unsigned char *)g.B + (g.tb ? lo * g.ldb : lo) * es;
        g.C = (unsigned char *)g.C + (g.ct ? lo * g.ldc : lo) * es;
    } else { /* rows lo..hi of op(A) and of C */
        g.M = hi - lo;
        g.A = (const unsigned char *)g.A + (g.ta ? lo : lo * g.lda) * es;
        g.C = (unsigned char *)g.C + (g.ct ? lo : lo * g.ldc) * es;
    }
    if (pl->how == HOW_INPLACE) {
        gemm_blocked(kd, &g, pl->kcb, g.N, NULL);
        return;
    }
    size_t ncb = block_cols(kd, g.N);
    if (pl->kcb * ncb * es <= BSTACK_BYTES)
        gemm_blocked_stack(kd, &g, pl->kcb, ncb);
    else if (job->ws)
        gemm_blocked(kd, &g, pl->kcb, ncb, job->ws + p * pl->slot);
    else { /* out of memory: narrower blocks that fit the stack buffer */
        assert(pl->kcb * kd->nr * es <= BSTACK_BYTES);
        gemm_blocked_stack(kd, &g, pl->kcb, BSTACK_BYTES / (pl->kcb * es) / kd->nr * kd->nr);
    }
}

/* The path's small-K kernel on a product as run (not swapped; K <=
 * BM_GEMM_SMALL_K, so it is one piece on any thread count): op(A) read in
 * place, op(B) too (tb 0) or transposed onto the stack first (tb 1, when
 * it fits SMALL_BT_BYTES). Measured on W1's K = 2–3 products: no packing
 * and no per-tile calls take 0.5–0.55 of the blocked loop's time; at K = 10
 * the blocked loop is as fast or faster. Returns 1 if it ran. */
static int gemm_small(const bm_gemm_kernel *kd, const gemm_args *g)
{
    size_t es = g->f64 ? sizeof(double) : sizeof(float);
    if (!kd->small || g->ct || g->K > BM_GEMM_SMALL_K || (g->tb && g->K * g->N * es > SMALL_BT_BYTES))
        return 0;
    _Alignas(ALIGN) unsigned char bt[SMALL_BT_BYTES];
    const void *b = g->B;
    size_t ldb = g->ldb;
    if (g->tb) { /* op(B)[k,j] = B[j·ldb + k]: a K×N panel, row k at bt + k·N */
        kd->pack_t(g->N, g->N, g->K, g->B, g->ldb, bt);
        b = bt;
        ldb = g->N;
    }
    size_t sa = g->ta ? 1 : g->lda, sk = g->ta ? g->lda : 1;
    kd->small(g->M, g->N, g->K, g->A, sa, sk, b, ldb, g->C, g->ldc, g->alpha, g->beta);
    return 1;
}

static void gemm_run(const bm_gemm_kernel *kd, const gemm_args *g0, bm_pool *pool, void *ws,
                     size_t ws_bytes)
{
    gemm_plan pl;
    plan_make(kd, g0, bm_pool_threads(pool), &pl);
    if (pl.how == HOW_SCALE) {
        if (pl.g.M && pl.g.N)
            gemm_scale(&pl.g);
        return;
    }
    if (pl.how == HOW_DIRECT) {
        gemm_direct(&pl.g);
        return;
    }
    if (gemm_small(kd, &pl.g))
        return;
    unsigned char *buf = NULL, *heap = NULL;
    if (pl.slot) {
        /* the caller's workspace, aligned; fewer pieces when it is short */
        uintptr_t a = ws ? ((uintptr_t)ws + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1) : 0;
        size_t skip = (size_t)(a - (uintptr_t)ws);
        size_t avail = ws && ws_bytes >= skip ? ws_bytes - skip : 0;
        while (pl.pieces > 1 && pl.pieces * pl.slot > avail)
            plan_make(kd, g0, (int)pl.pieces - 1, &pl);
        if (pl.pieces * pl.slot <= avail)
            buf = (unsigned char *)a;
        else /* none given, or too small even for one piece; NULL: narrow blocks */
            buf = heap = aligned_alloc(ALIGN, pl.pieces * pl.slot);
    }
    gemm_job job = {.kd = kd, .pl = &pl, .ws = buf};
    bm_pool_run(pool, pl.pieces, gemm_piece, &job);
    free(heap);
}

/* ---- paths ---- */

int bm_gemm_isa_available(bm_gemm_isa isa)
{
    switch (isa) {
    case BM_GEMM_AUTO:
    case BM_GEMM_PORTABLE:
        return 1;
    case BM_GEMM_BLAS:
        return bm_gemm_blas_available();
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

/* The own kernel for isa and type; NULL if this build or CPU lacks it. */
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
        return bm_gemm_portable_kernel(f64);
    default:
        return NULL;
    }
}

/* Does path isa send this product to BLAS? */
static int goes_to_blas(bm_gemm_isa isa, size_t M, size_t N, size_t K)
{
    return isa == BM_GEMM_BLAS || (isa == BM_GEMM_AUTO && bm_gemm_blas_wanted(M, N, K));
}

/* One product on path isa; 0 when the path is missing. */
static int gemm_path(bm_gemm_isa isa, gemm_args *g, bm_pool *pool, void *ws, size_t ws_bytes)
{
    if (goes_to_blas(isa, g->M, g->N, g->K)) {
        if (!bm_gemm_blas_available())
            return 0;
        if (g->M == 0 || g->N == 0)
            return 1;
        if (g->K == 0 || g->alpha == 0.0) { /* as the own kernels: C = beta·C */
            gemm_scale(g);
            return 1;
        }
        if (bm_gemm_blas(g->f64, g->ta, g->tb, g->M, g->N, g->K, g->alpha, g->A, g->lda, g->B,
                         g->ldb, g->beta, g->C, g->ldc, bm_pool_threads(pool)))
            return 1;
        isa = BM_GEMM_AUTO; /* a size past cblas's int: the own kernel */
    }
    const bm_gemm_kernel *kd = kernel_for(isa, g->f64);
    if (!kd)
        return 0;
    gemm_run(kd, g, pool, ws, ws_bytes);
    return 1;
}

size_t bm_gemm_workspace_bytes_isa(bm_gemm_isa isa, bm_dtype dt, int ta, int tb, size_t M,
                                   size_t N, size_t K, int threads)
{
    const bm_gemm_kernel *kd = kernel_for(isa, dt == BM_F64);
    if (!kd || goes_to_blas(isa, M, N, K))
        return 0;
    gemm_args g = {.f64 = dt == BM_F64, .ta = ta, .tb = tb, .M = M, .N = N, .K = K,
                   .alpha = 1.0, .beta = 0.0};
    size_t most = 0;
    for (int t = 1; t <= threads && t <= BM_MAX_THREADS; t++) { /* enough for any fewer */
        gemm_plan pl;
        plan_make(kd, &g, t, &pl);
        size_t b = plan_bytes(&pl);
        most = b > most ? b : most;
        if (pl.pieces < (size_t)t)
            break; /* more threads would not make more pieces */
    }
    return most;
}

size_t bm_gemm_strip_rows(bm_dtype dt)
{
    const bm_gemm_kernel *kd = kernel_for(BM_GEMM_AUTO, dt == BM_F64);
    return kd ? kd->mr : 1;
}

size_t bm_gemm_workspace_bytes(bm_dtype dt, int ta, int tb, size_t M, size_t N, size_t K,
                               int threads)
{
    return bm_gemm_workspace_bytes_isa(BM_GEMM_AUTO, dt, ta, tb, M, N, K, threads);
}

int bm_gemm_f32_isa(bm_gemm_isa isa, int ta, int tb, size_t M, size_t N, size_t K, float alpha,
                    const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
                    size_t ldc, bm_pool *pool, void *ws, size_t ws_bytes)
{
    gemm_args g = {.f64 = 0, .ta = ta, .tb = tb, .M = M, .N = N, .K = K, .alpha = alpha,
                   .beta = beta, .A = A, .B = B, .C = C, .lda = lda, .ldb = ldb, .ldc = ldc};
    return gemm_path(isa, &g, pool, ws, ws_bytes);
}

int bm_gemm_f64_isa(bm_gemm_isa isa, int ta, int tb, size_t M, size_t N, size_t K, double alpha,
                    const double *A, size_t lda, const double *B, size_t ldb, double beta,
                    double *C, size_t ldc, bm_pool *pool, void *ws, size_t ws_bytes)
{
    gemm_args g = {.f64 = 1, .ta = ta, .tb = tb, .M = M, .N = N, .K = K, .alpha = alpha,
                   .beta = beta, .A = A, .B = B, .C = C, .lda = lda, .ldb = ldb, .ldc = ldc};
    return gemm_path(isa, &g, pool, ws, ws_bytes);
}

void bm_gemm_f32_ex(int ta, int tb, size_t M, size_t N, size_t K, float alpha, const float *A,
                    size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc,
                    bm_pool *pool, void *ws, size_t ws_bytes)
{
    bm_gemm_f32_isa(BM_GEMM_AUTO, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, pool, ws,
                    ws_bytes);
}

void bm_gemm_f64_ex(int ta, int tb, size_t M, size_t N, size_t K, double alpha,
                    const double *A, size_t lda, const double *B, size_t ldb, double beta,
                    double *C, size_t ldc, bm_pool *pool, void *ws, size_t ws_bytes)
{
    bm_gemm_f64_isa(BM_GEMM_AUTO, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, pool, ws,
                    ws_bytes);
}

void bm_gemm_f32(int ta, int tb, size_t M, size_t N, size_t K, float alpha, const float *A,
                 size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
    bm_gemm_f32_ex(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL, NULL, 0);
}

void bm_gemm_f64(int ta, int tb, size_t M, size_t N, size_t K, double alpha, const double *A,
                 size_t lda, const double *B, size_t ldb, double beta, double *C, size_t ldc)
{
    bm_gemm_f64_ex(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL, NULL, 0);
}
