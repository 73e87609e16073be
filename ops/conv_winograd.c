/* conv_winograd.c — conv2d and conv_transpose2d with 3×3 kernels, stride 1,
 * dilation 1 and one group on Winograd F(4×4, 3×3) (issue 10): 36 products
 * per 4×4 output tile and channel pair instead of im2col's 144 multiplies.
 *   conv2d            out [N,O,OH,OW]  in x [N,C,H,W], w [O,C,3,3], b [O]
 *   conv_transpose2d  out [N,C,H,W]    in y [N,O,OH,OW], w [O,C,3,3]
 *                     = conv2d of y with the kernel rotated by 180° and its
 *                     channels swapped, padding 2 - p (p ≤ 2)
 *   conv2d_wgrad      out [O,C,3,3]    in x [N,C,H,W], dy [N,O,OH,OW]
 *                     = the adjoint of conv2d's tile products in U:
 *                     dU[ξ] = Σ_t (A·dy_t·Aᵀ)[ξ]·V[ξ]ᵀ, dw = Gᵀ·dU·G
 * The kernels' transforms U [36, Cout, Cin] are made once per run (in
 * double) at the start of the scratch. Each chunk of nb images transforms
 * its input tiles into V [36, Cin, T] (T = nb·tiles), runs the 36 products
 * M[ξ] = U[ξ]·V[ξ] [Cout, T] on the own GEMM and transforms M back into
 * the output (+ bias). Chunks run in parallel over the batch, a scratch slot
 * per thread, or one by one with each product on all threads: every chunk
 * does the same arithmetic, so the bits do not depend on the thread count.
 * F32 differs from im2col's sums by rounding (relative errors about 1e-6 of
 * Σ|w·x|); F64 by about 1e-15. */
#include <string.h>

#include "conv_internal.h"
#include "ops_internal.h"

/* Output tile, kernel and input tile sizes, transformed values per tile. */
enum { WINO_M = 4, WINO_K = 3, WINO_A = WINO_M + WINO_K - 1, WINO_T = WINO_A * WINO_A };

/* Auto picks Winograd when both channel counts reach this (below it the
 * transforms cost more than the products save). */
#define WINO_MIN_CHANNELS 16
/* conv2d_wgrad sums its chunks into at most this many partial transformed
 * gradients, a fixed split of the batch (chunks in order within each, the
 * parts in order after), so every thread count adds in the same order. */
#define WINO_PARTS 8
/* Tiles per chunk: as many whole images as fit (at least one). The V and M
 * blocks of 256 tiles (64 channels, float: 2.4 MB each) stream through L3
 * while each of the 36 products keeps its operands in L2. */
#define WINO_CHUNK_TILES 256

/* The geometry of the correlation run: input planes h×w of cin channels,
 * output oh×ow of cout, padding ph, pw; tiles_y × tiles_x tiles per image. */
typedef struct wino_geom {
    size_t n, cin, cout, h, w, oh, ow, ph, pw;
    size_t ty, tx, tpi; /* tile rows, tile columns, tiles per image */
    size_t nb;          /* images per chunk */
    int flip;           /* conv_transpose2d: the kernel rotated and swapped */
    int wgrad;          /* conv2d_wgrad: x [N,cin,h,w], dy [N,cout,oh,ow] -> dw */
} wino_geom;

/* No dependence between the tiles of a transform's loop (GCC otherwise
 * gives up on its 12 possibly aliasing rows). */
#if defined(__GNUC__) && !defined(__clang__)
#define WINO_IVDEP _Pragma("GCC ivdep")
#else
#define WINO_IVDEP
#endif

/* The kernel transform G [6,3] of F(4×4,3×3). */
static const double WINO_G[WINO_A][WINO_K] = {
    {1.0 / 4, 0, 0},
    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6},
    {1.0 / 24, -1.0 / 12, 1.0 / 6},
    {0, 0, 1},
};

#define T float
#define F(name) name##_f32
#include "conv_winograd_kernels.inc"
#undef T
#undef F
#define T double
#define F(name) name##_f64
#include "conv_winograd_kernels.inc"
#undef T
#undef F

extern const bm_op bm_op_conv2d, bm_op_conv_transpose2d, bm_op_conv2d_wgrad;

static size_t align64(size_t b) { return (b + 63) & ~(size_t)63; }

/* Fill g from the correlation's sizes; 0 when the kernel does not fit or
 * auto finds too few channels. */
static int finish(const conv_params *p, wino_geom *g)
{
    if (g->h + 2 * g->ph < WINO_K || g->w + 2 * g->pw < WINO_K ||
        g->oh != g->h + 2 * g->ph - (WINO_K - 1) || g->ow != g->w + 2 * g->pw - (WINO_K - 1))
        return 0;
    if (p->algo != BM_CONV_WINOGRAD &&
        (g->cin < WINO_MIN_CHANNELS || g->cout < WINO_MIN_CHANNELS))
        return 0;
    g->ty = (g->oh + WINO_M - 1) / WINO_M;
    g->tx = (g->ow + WINO_M - 1) / WINO_M;
    g->tpi = g->ty * g->tx;
    g->nb = WINO_CHUNK_TILES / g->tpi;
    g->nb = g->nb < 1 ? 1 : g->nb > g->n ? (g->n ? g->n : 1) : g->nb;
    return 1;
}

/* The geometry of node n, or 0 when it cannot run on Winograd. */
static int geom_of(const bm_node *n, wino_geom *g)
{
    const conv_params *p = n->params;
    int convt = n->op == &bm_op_conv_transpose2d, wgrad = n->op == &bm_op_conv2d_wgrad;
    if ((n->op != &bm_op_conv2d && !convt && !wgrad) || p->algo == BM_CONV_IM2COL)
        return 0;
    const bm_tensor *x = n->in[0], *w = n->in[1];
    size_t kh = wgrad ? p->size[0] : w->rank == 4 ? w->shape[2] : 0;
    size_t kw = wgrad ? p->size[1] : w->rank == 4 ? w->shape[3] : 0;
    if (x->rank != 4 || w->rank != 4 || p->groups != 1 || kh != WINO_K || kw != WINO_K)
        return 0;
    for (int a = 0; a < 2; a++)
        if (p->stride[a] != 1 || p->dilation[a] != 1 || (convt && p->pad[a] > WINO_K - 1))
            return 0;
    *g = (wino_geom){.n = x->shape[0], .cin = x->shape[1], .h = x->shape[2], .w = x->shape[3],
                     .ph = p->pad[0], .pw = p->pad[1], .flip = convt, .wgrad = wgrad};
    if (convt) { /* x is y [N,O,OH,OW], the output [N,C,size] */
        if (x->shape[1] != w->shape[0])
            return 0;
        g->cout = w->shape[1];
        g->oh = p->size[0];
        g->ow = p->size[1];
        g->ph = WINO_K - 1 - p->pad[0];
        g->pw = WINO_K - 1 - p->pad[1];
    } else if (wgrad) { /* w is dy [N,O,OH,OW] */
        if (w->shape[0] != x->shape[0])
            return 0;
        g->cout = w->shape[1];
        g->oh = w->shape[2];
        g->ow = w->shape[3];
    } else {
        if (x->shape[1] != w->shape[1])
            return 0;
        g->cout = w->shape[0];
        g->oh = g->h + 2 * g->ph < WINO_K ? 0 : g->h + 2 * g->ph - (WINO_K - 1);
        g->ow = g->w + 2 * g->pw < WINO_K ? 0 : g->w + 2 * g->pw - (WINO_K - 1);
    }
    return finish(p, g);
}

int bm_conv_winograd_ok(const bm_node *n)
{
    wino_geom g;
    return geom_of(n, &g);
}

static size_t n_chunks(const wino_geom *g) { return (g->n + g->nb - 1) / g->nb; }
static size_t n_parts(const wino_geom *g)
{
    size_t c = n_chunks(g);
    return c < WINO_PARTS ? c : WINO_PARTS;
}

/* The bytes of U (or one part of dU), of the scratch's head (U, or the
 * parts), and of one slot: V, M (or D), the transforms' buffer, then the
 * products' workspace (for `threads` threads). */
static size_t u_bytes(const wino_geom *g, size_t esz)
{
    return align64(WINO_T * g->cout * g->cin * esz);
}
static size_t head_bytes(const wino_geom *g, size_t esz)
{
    return (g->wgrad ? n_parts(g) : 1) * u_bytes(g, esz);
}
static size_t vm_bytes(const wino_geom *g, size_t esz, size_t ch)
{
    return align64(WINO_T * ch * g->nb * g->tpi * esz);
}
static size_t buf_bytes(const wino_geom *g, size_t esz)
{
    return align64(2 * WINO_T * g->tpi * esz);
}
static size_t slot_bytes(const bm_tape *tape, const wino_geom *g, bm_dtype dt, int threads)
{
    size_t esz = bm_dtype_size(dt), cols = g->nb * g->tpi, M = g->cout, N = cols, K = g->cin;
    if (g->wgrad)
        N = g->cin, K = cols;
    size_t ws = threads > 1 ? bm_matmul_workspace(tape, dt, 0, g->wgrad, M, N, K)
                            : bm_gemm_workspace_bytes(dt, 0, g->wgrad, M, N, K, 1);
    return vm_bytes(g, esz, g->cin) + vm_bytes(g, esz, g->cout) + buf_bytes(g, esz) +
           align64(ws);
}

size_t bm_conv_winograd_scratch(const bm_tape *tape, const bm_node *n)
{
    wino_geom g;
    if (!geom_of(n, &g))
        return 0;
    bm_dtype dt = n->in[0]->dtype;
    size_t tasks = g.wgrad ? n_parts(&g) : n_chunks(&g), threads = (size_t)bm_tape_threads(tape);
    size_t slots = threads < tasks ? threads : tasks;
    size_t par = slots * slot_bytes(tape, &g, dt, 1), ser = slot_bytes(tape, &g, dt, 2);
    return head_bytes(&g, bm_dtype_size(dt)) + (par > ser ? par : ser);
}

/* One run: the node, its geometry, the slots. */
typedef struct wino_run {
    const bm_node *n;
    wino_geom g;
    size_t slot;   /* bytes of one slot */
    bm_pool *pool; /* the products' threads: NULL when the tasks run in parallel */
} wino_run;

/* One chunk's memory: V, M (or D), the transforms' buffer, the workspace. */
typedef struct wino_mem {
    unsigned char *V, *M, *buf, *ws;
    size_t wsb;
} wino_mem;

static wino_mem mem_of(const wino_run *r, int worker)
{
    const wino_geom *g = &r->g;
    size_t esz = bm_dtype_size(r->n->out->dtype);
    wino_mem m;
    m.V = (unsigned char *)r->n->scratch + head_bytes(g, esz) + (size_t)worker * r->slot;
    m.M = m.V + vm_bytes(g, esz, g->cin);
    m.buf = m.M + vm_bytes(g, esz, g->cout);
    m.ws = m.buf + buf_bytes(g, esz);
    m.wsb = r->slot - (size_t)(m.ws - m.V);
    return m;
}

/* C[k] (beta 0: =, 1: +=) op(A[k])·op(B[k]) for the 36 ξ of one chunk. */
static void products(const wino_run *r, const wino_mem *m, int tb, size_t M, size_t N, size_t K,
                     const void *A, const void *B, void *C, double beta)
{
    size_t esz = bm_dtype_size(r->n->out->dtype), lda = K, ldb = tb ? K : N;
    for (size_t k = 0; k < WINO_T; k++) {
        const unsigned char *a = (const unsigned char *)A + k * M * K * esz;
        const unsigned char *b = (const unsigned char *)B + k * N * K * esz;
        unsigned char *c = (unsigned char *)C + k * M * N * esz;
        if (r->n->out->dtype == BM_F64)
            bm_gemm_f64_ex(0, tb, M, N, K, 1.0, (const double *)a, lda, (const double *)b, ldb,
                           beta, (double *)c, N, r->pool, m->ws, m->wsb);
        else
            bm_gemm_f32_ex(0, tb, M, N, K, 1.0f, (const float *)a, lda, (const float *)b, ldb,
                           (float)beta, (float *)c, N, r->pool, m->ws, m->wsb);
    }
}

/* The input tiles V of images i0..i0+nb. */
static void input(const wino_run *r, const wino_mem *m, size_t i0, size_t nb)
{
    const wino_geom *g = &r->g;
    size_t esz = bm_dtype_size(r->n->out->dtype);
    const unsigned char *x = (const unsigned char *)r->n->in[0]->data + i0 * g->cin * g->h * g->w * esz;
    if (r->n->out->dtype == BM_F64)
        wino_input_f64((const double *)x, (double *)m->V, g, nb, (double *)m->buf);
    else
        wino_input_f32((const float *)x, (float *)m->V, g, nb, (float *)m->buf);
}

/* conv2d, conv_transpose2d: chunk t — tiles in, 36 products, tiles out. */
static void wino_chunk(void *ctx, size_t t, int worker)
{
    const wino_run *r = ctx;
    const wino_geom gl = r->g, *g = &gl; /* a local copy: no stores alias it */
    const bm_node *n = r->n;
    wino_mem m = mem_of(r, worker);
    size_t esz = bm_dtype_size(n->out->dtype), i0 = t * g->nb;
    size_t nb = g->n - i0 < g->nb ? g->n - i0 : g->nb, cols = nb * g->tpi;
    unsigned char *y = (unsigned char *)n->out->data + i0 * g->cout * g->oh * g->ow * esz;
    const void *bias = n->n_in == 3 && !g->flip ? n->in[2]->data : NULL;
    input(r, &m, i0, nb);
    products(r, &m, 0, g->cout, cols, g->cin, n->scratch, m.V, m.M, 0.0);
    if (n->out->dtype == BM_F64)
        wino_output_f64((const double *)m.M, (double *)y, bias, g, nb, (double *)m.buf);
    else
        wino_output_f32((const float *)m.M, (float *)y, bias, g, nb, (float *)m.buf);
}

/* conv2d_wgrad: part t's dU [36, O, C] = Σ over its chunks, in order, of
 * D[ξ] [O, T] · V[ξ]ᵀ [T, C]. */
static void wino_part(void *ctx, size_t t, int worker)
{
    const wino_run *r = ctx;
    const wino_geom gl = r->g, *g = &gl;
    const bm_node *n = r->n;
    wino_mem m = mem_of(r, worker);
    size_t esz = bm_dtype_size(n->out->dtype), chunks = n_chunks(g), parts = n_parts(g);
    unsigned char *dU = (unsigned char *)n->scratch + t * u_bytes(g, esz);
    for (size_t c = t * chunks / parts; c < (t + 1) * chunks / parts; c++) {
        size_t i0 = c * g->nb, nb = g->n - i0 < g->nb ? g->n - i0 : g->nb, cols = nb * g->tpi;
        const unsigned char *dy = (const unsigned char *)n->in[1]->data +
                                  i0 * g->cout * g->oh * g->ow * esz;
        input(r, &m, i0, nb);
        if (n->out->dtype == BM_F64)
            wino_dy_f64((const double *)dy, (double *)m.M, g, nb, (double *)m.buf);
        else
            wino_dy_f32((const float *)dy, (float *)m.M, g, nb, (float *)m.buf);
        products(r, &m, 1, g->cout, g->cin, cols, m.M, m.V, dU,
                 c == t * chunks / parts ? 0.0 : 1.0);
    }
}

/* dU = Σ parts in order; dw (+)= Gᵀ·dU·G. */
static void wgrad_finish(const bm_node *n, const wino_geom *g)
{
    size_t esz = bm_dtype_size(n->out->dtype), pb = u_bytes(g, esz), len = WINO_T * g->cout * g->cin;
    unsigned char *P = n->scratch;
    for (size_t t = 1; t < n_parts(g); t++)
        for (size_t i = 0; i < len; i++)
            if (n->out->dtype == BM_F64)
                ((double *)P)[i] += ((const double *)(P + t * pb))[i];
            else
                ((float *)P)[i] += ((const float *)(P + t * pb))[i];
    if (n->out->dtype == BM_F64)
        wino_wgrad_out_f64((const double *)P, n->out->data, g->cout, g->cin, n->accumulate);
    else
        wino_wgrad_out_f32((const float *)P, n->out->data, g->cout, g->cin, n->accumulate);
}

void bm_conv_winograd_forward(bm_tape *tape, bm_node *n)
{
    wino_run r = {.n = n};
    if (!geom_of(n, &r.g))
        return;
    bm_dtype dt = n->out->dtype;
    size_t tasks = r.g.wgrad ? n_parts(&r.g) : n_chunks(&r.g);
    size_t avail = n->scratch_bytes - head_bytes(&r.g, bm_dtype_size(dt));
    if (!r.g.wgrad && dt == BM_F64)
        wino_weights_f64(n->in[1]->data, n->scratch, r.g.cout, r.g.cin, r.g.flip);
    else if (!r.g.wgrad)
        wino_weights_f32(n->in[1]->data, n->scratch, r.g.cout, r.g.cin, r.g.flip);
    bm_pool *pool = bm_tape_pool(tape);
    size_t threads = (size_t)bm_pool_threads(pool), slot = slot_bytes(tape, &r.g, dt, 1);
    int par = threads > 1 && tasks >= threads && threads * slot <= avail;
    r.slot = par ? slot : avail; /* serial: one slot with all the products' workspace */
    r.pool = par ? NULL : pool;
    bm_pool_run(par ? pool : NULL, tasks, r.g.wgrad ? wino_part : wino_chunk, &r);
    if (r.g.wgrad)
        wgrad_finish(n, &r.g);
}
