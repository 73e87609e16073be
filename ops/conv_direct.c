/* conv_direct.c — the convolution kernels for few input channels (issue 10:
 * LeNet-2, 6→16 channels 5×5 on 14×14, is 16×100×150 per image, too small
 * for the GEMM path's im2col + packing + col2im to pay).
 *
 * Batch-lane layout: a block of VL images (8 float, 4 double lanes of one
 * AVX2 register) is transposed so that one vector holds the same element of
 * all of them, x [C][Hp][Wp][VL] zero-padded by the padding, y [O][L][VL].
 * Every product is then VL independent convolutions, one per lane, computed
 * straight from the taps' offsets — no column matrix, no scatter-add:
 *   conv2d            y[o][p]  = Σ_{c,i,j} w[o,c,i,j] · x[c][pos(p) + tap]
 *                     (tiles of DIRECT_RO channels × DIRECT_RP positions);
 *   conv_transpose2d  x[c][pos(p) + tap] += Σ_o w[o,c,i,j] · y[o][p]
 *                     (DIRECT_RC channels × DIRECT_RP positions per tap, the
 *                     sum over o in registers, one add to memory per tap);
 *   conv2d_wgrad      dw[o,c,i,j] = Σ_{images, p} y[o][p] · x[c][pos(p) + tap]
 *                     (DIRECT_RO × DIRECT_RK taps, lane sums over the blocks
 *                     in order, the lanes added last, in order).
 * conv2d and conv_transpose2d run the blocks in parallel (a slot per
 * thread); wgrad transposes the blocks in parallel, then runs its tiles of
 * output channels in parallel, each over every block in order: the bits do
 * not depend on the thread count. Any stride, padding, dilation and groups;
 * taken (bm_conv_direct_size) on AVX2 + FMA for 4-D float and double when
 * the taps are few (DIRECT_MAX_K) and the padded lanes and channels waste
 * little, else conv.c's GEMM path runs. */
#include <string.h>

#include "conv_internal.h"
#include "gemm_internal.h"
#include "ops_internal.h"

enum {
    DIRECT_RO = 4,       /* output channels per conv2d / wgrad tile */
    DIRECT_RP = 3,       /* positions per conv2d / conv_transpose2d tile */
    DIRECT_RC = 3,       /* input channels per conv_transpose2d tile */
    DIRECT_RK = 3,       /* taps per wgrad tile */
    DIRECT_MAX_K = 400,  /* C/g·kh·kw at most: beyond, the GEMM's blocking wins */
    DIRECT_FILL_NUM = 4, /* padded lanes (images) and channels at most 4/3 ... */
    DIRECT_FILL_DEN = 3, /* ... of the real ones */
    DIRECT_ALIGN = 64,
};

/* One image's geometry, padded: hp = h + 2ph, wp = w + 2pw; L = oh·ow. */
typedef struct direct_geom {
    size_t h, w, hp, wp, kh, kw, oh, ow, L, sh, sw, ph, pw, dh, dw;
} direct_geom;

/* Where output position p's window starts in the padded image (vectors). */
static inline size_t direct_pos(const direct_geom *g, size_t p)
{
    return (p / g->ow) * g->sh * g->wp + (p % g->ow) * g->sw;
}

/* A node on the direct path: its sizes and the layout of its scratch. */
typedef struct direct_plan {
    int kind;
    bm_dtype dt;
    size_t esz, vl, N, nblk, C, O, groups, cg, og, cgp, ogp, K, kk;
    size_t xb, yb;      /* elements of one block's x [cg|cgp][Hp][Wp][VL], y [og|ogp][L][VL] */
    size_t shared;      /* bytes before the slots (packed weights, offsets, wgrad's blocks) */
    size_t slot, slots; /* bytes of one thread's slot, and how many */
    direct_geom g;
} direct_plan;

/* One run's context: the plan, the node, the pool's tasks. */
typedef struct direct_job {
    direct_plan P;
    bm_node *n;
    unsigned char *base; /* the scratch */
    size_t grp;          /* wgrad: the group running */
} direct_job;

static size_t al(size_t b) { return (b + DIRECT_ALIGN - 1) & ~(size_t)(DIRECT_ALIGN - 1); }
static size_t round_up(size_t a, size_t m) { return (a + m - 1) / m * m; }

#if BM_GEMM_X86
#include <immintrin.h>
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

/* r[l][e] = r[e][l]: an 8×8 float transpose in registers. */
static inline void transpose_f32(__m256 *r)
{
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

/* The same for a 4×4 block of doubles. */
static inline void transpose_f64(__m256d *r)
{
    __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
    __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

#define T float
#define V __m256
#define VL 8
#define VLOAD _mm256_loadu_ps
#define VSTORE _mm256_storeu_ps
#define VFMA _mm256_fmadd_ps
#define VSET1 _mm256_set1_ps
#define VZERO _mm256_setzero_ps
#define VADD _mm256_add_ps
#define F(name) name##_f32
#include "conv_direct_kernels.inc"
#include "conv_direct_layout.inc"
#undef T
#undef V
#undef VL
#undef VLOAD
#undef VSTORE
#undef VFMA
#undef VSET1
#undef VZERO
#undef VADD
#undef F
#define T double
#define V __m256d
#define VL 4
#define VLOAD _mm256_loadu_pd
#define VSTORE _mm256_storeu_pd
#define VFMA _mm256_fmadd_pd
#define VSET1 _mm256_set1_pd
#define VZERO _mm256_setzero_pd
#define VADD _mm256_add_pd
#define F(name) name##_f64
#include "conv_direct_kernels.inc"
#include "conv_direct_layout.inc"
#undef T
#undef V
#undef VL
#undef VLOAD
#undef VSTORE
#undef VFMA
#undef VSET1
#undef VZERO
#undef VADD
#undef F

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

static int direct_cpu(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
static int direct_cpu(void) { return 0; }
#endif

static const conv_params *cp_of(const bm_node *n) { return n->params; }

/* Output size along one axis (conv.c's rule); 0 when the kernel does not fit. */
static size_t out_size(size_t in, size_t k, size_t s, size_t p, size_t d)
{
    size_t span = d * (k - 1) + 1;
    return in + 2 * p < span || !s ? 0 : (in + 2 * p - span) / s + 1;
}

/* a padded to m at most DIRECT_FILL_NUM/DEN of a (and a > 0)? */
static int fills(size_t a, size_t m)
{
    return a && round_up(a, m) * DIRECT_FILL_DEN <= a * DIRECT_FILL_NUM;
}

int bm_conv_direct_fits(bm_dtype dt, int kind, size_t N, size_t cg, size_t og, size_t K)
{
    size_t vl = dt == BM_F64 ? 4 : 8;
    int chan_ok = kind == BM_CONV_DIRECT_DX ? fills(cg, DIRECT_RC) : fills(og, DIRECT_RO);
    return (dt == BM_F32 || dt == BM_F64) && K && K <= DIRECT_MAX_K && fills(N, vl) && chan_ok;
}

int bm_conv_direct_cpu(void) { return direct_cpu(); }

/* The plan of node n as kind, or 0 when the direct path does not take it. */
static int plan_of(const bm_tape *tape, const bm_node *n, int kind, direct_plan *P)
{
    const conv_params *p = cp_of(n);
    const bm_tensor *a = n->in[0], *b = n->in[1];
    if (!direct_cpu() || a->rank != 4 || b->rank != 4 || !p->groups ||
        (a->dtype != BM_F32 && a->dtype != BM_F64))
        return 0;
    memset(P, 0, sizeof *P);
    direct_geom *g = &P->g;
    P->kind = kind;
    P->dt = a->dtype;
    P->esz = bm_dtype_size(P->dt);
    P->vl = P->dt == BM_F64 ? 4 : 8;
    P->N = a->shape[0];
    P->groups = p->groups;
    g->sh = p->stride[0], g->sw = p->stride[1], g->ph = p->pad[0], g->pw = p->pad[1];
    g->dh = p->dilation[0], g->dw = p->dilation[1];
    if (kind == BM_CONV_DIRECT_FWD) { /* x, w */
        P->C = a->shape[1], P->O = b->shape[0];
        g->h = a->shape[2], g->w = a->shape[3], g->kh = b->shape[2], g->kw = b->shape[3];
    } else if (kind == BM_CONV_DIRECT_DX) { /* y, w */
        P->C = b->shape[1] * p->groups, P->O = b->shape[0];
        g->h = p->size[0], g->w = p->size[1], g->kh = b->shape[2], g->kw = b->shape[3];
    } else { /* x, y */
        P->C = a->shape[1], P->O = b->shape[1];
        g->h = a->shape[2], g->w = a->shape[3], g->kh = p->size[0], g->kw = p->size[1];
    }
    g->oh = out_size(g->h, g->kh, g->sh, g->ph, g->dh);
    g->ow = out_size(g->w, g->kw, g->sw, g->pw, g->dw);
    g->L = g->oh * g->ow;
    g->hp = g->h + 2 * g->ph, g->wp = g->w + 2 * g->pw;
    if (!g->L || P->C % P->groups || P->O % P->groups)
        return 0;
    P->cg = P->C / P->groups, P->og = P->O / P->groups;
    P->kk = g->kh * g->kw, P->K = P->cg * P->kk;
    P->cgp = round_up(P->cg, DIRECT_RC), P->ogp = round_up(P->og, DIRECT_RO);
    P->nblk = (P->N + P->vl - 1) / P->vl;
    if (!bm_conv_direct_fits(P->dt, kind, P->N, P->cg, P->og, P->K))
        return 0;
    size_t E = P->esz, V1 = P->vl, hw = g->hp * g->wp, tasks = P->nblk;
    size_t threads = (size_t)bm_tape_threads(tape);
    if (kind == BM_CONV_DIRECT_FWD) {
        P->xb = P->cg * hw * V1, P->yb = P->ogp * g->L * V1;
        P->shared = al(P->groups * P->ogp * P->K * E) + al(P->K * sizeof(size_t));
    } else if (kind == BM_CONV_DIRECT_DX) {
        P->xb = P->cgp * hw * V1, P->yb = P->og * g->L * V1;
        P->shared = al(P->groups * P->cgp * P->kk * P->og * E) + al(P->kk * sizeof(size_t));
    } else {
        P->xb = P->cg * hw * V1, P->yb = P->ogp * g->L * V1;
        P->shared = al(P->K * sizeof(size_t)) + al(P->nblk * P->xb * E) +
                    al(P->nblk * P->yb * E) + al(P->ogp * P->K * V1 * E);
        tasks = 0; /* no slots */
    }
    P->slot = tasks ? al(P->xb * E) + al(P->yb * E) : 0;
    P->slots = threads < tasks ? threads : tasks;
    return 1;
}

void bm_conv_direct_size(const bm_tape *tape, bm_node *n, int kind)
{
    direct_plan P;
    if (tape && n && plan_of(tape, n, kind, &P))
        n->scratch_bytes = P.shared + P.slots * P.slot;
}

#if BM_GEMM_X86
static void fwd_task(void *ctx, size_t t, int worker)
{
    const direct_job *j = ctx;
    if (j->P.dt == BM_F64)
        fwd_run_f64(j, t, worker);
    else
        fwd_run_f32(j, t, worker);
}
static void dx_task(void *ctx, size_t t, int worker)
{
    const direct_job *j = ctx;
    if (j->P.dt == BM_F64)
        dx_run_f64(j, t, worker);
    else
        dx_run_f32(j, t, worker);
}
static void dw_pack_task(void *ctx, size_t t, int worker)
{
    const direct_job *j = ctx;
    (void)worker;
    if (j->P.dt == BM_F64)
        dw_pack_f64(j, t);
    else
        dw_pack_f32(j, t);
}
static void dw_task(void *ctx, size_t t, int worker)
{
    const direct_job *j = ctx;
    (void)worker;
    if (j->P.dt == BM_F64)
        dw_run_f64(j, t);
    else
        dw_run_f32(j, t);
}

int bm_conv_direct_run(bm_tape *tape, bm_node *n, int kind)
{
    direct_job j = {.n = n};
    if (!tape || !n || !plan_of(tape, n, kind, &j.P) || n->scratch_bytes < j.P.shared + j.P.slot)
        return 0;
    bm_pool *pool = bm_tape_pool(tape);
    /* threads raised after recording: the slots there are, one by one */
    if (n->scratch_bytes < j.P.shared + (size_t)bm_pool_threads(pool) * j.P.slot)
        pool = NULL;
    j.base = n->scratch;
    int f64 = j.P.dt == BM_F64;
    if (kind == BM_CONV_DIRECT_FWD) {
        f64 ? fwd_prep_f64(&j) : fwd_prep_f32(&j);
        bm_pool_run(pool, j.P.nblk, fwd_task, &j);
    } else if (kind == BM_CONV_DIRECT_DX) {
        f64 ? dx_prep_f64(&j) : dx_prep_f32(&j);
        bm_pool_run(pool, j.P.nblk, dx_task, &j);
    } else {
        f64 ? dw_prep_f64(&j) : dw_prep_f32(&j);
        for (j.grp = 0; j.grp < j.P.groups; j.grp++) {
            bm_pool_run(pool, j.P.nblk, dw_pack_task, &j);
            bm_pool_run(pool, j.P.ogp / DIRECT_RO, dw_task, &j);
        }
    }
    return 1;
}
#else
int bm_conv_direct_run(bm_tape *tape, bm_node *n, int kind)
{
    (void)tape, (void)n, (void)kind;
    return 0;
}
#endif
