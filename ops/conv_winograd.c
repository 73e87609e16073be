/* conv_winograd.c — conv2d and conv_transpose2d with 3×3 kernels, stride 1,
 * dilation 1 and one group on Winograd F(4×4, 3×3) (issue 10): 36 products
 * per 4×4 output tile and channel pair instead of im2col's 144 multiplies.
 *   conv2d            out [N,O,OH,OW]  in x [N,C,H,W], w [O,C,3,3], b [O]
 *   conv_transpose2d  out [N,C,H,W]    in y [N,O,OH,OW], w [O,C,3,3]
 *                     = conv2d of y with the kernel rotated by 180° and its
 *                     channels swapped, padding 2 - p (p ≤ 2)
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
} wino_geom;

/* No dependence between the tiles of a transform's loop (GCC otherwise
 * gives up on its 12 possibly aliasing rows). */
#if defined(__GNUC__) && !defined(__clang__)
#define WINO_IVDEP _Pragma("GCC ivdep")
#else
#define WINO_IVDEP
#endif

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

extern const bm_op bm_op_conv2d, bm_op_conv_transpose2d;

static size_t align64(size_t b) { return (b + 63) & ~(size_t)63; }

/* The geometry of node n, or 0 when it cannot run on Winograd. */
static int geom_of(const bm_node *n, wino_geom *g)
{
    const conv_params *p = n->params;
    int convt = n->op == &bm_op_conv_transpose2d;
    if ((n->op != &bm_op_conv2d && !convt) || p->algo == BM_CONV_IM2COL)
        return 0;
    const bm_tensor *x = n->in[0], *w = n->in[1];
    if (x->rank != 4 || w->rank != 4 || p->groups != 1 || w->shape[2] != WINO_K ||
        w->shape[3] != WINO_K)
        return 0;
    for (int a = 0; a < 2; a++)
        if (p->stride[a] != 1 || p->dilation[a] != 1 || (convt && p->pad[a] > WINO_K - 1))
            return 0;
    *g = (wino_geom){.n = x->shape[0], .cin = x->shape[1], .h = x->shape[2], .w = x->shape[3],
                     .flip = convt};
    if (convt) { /* x is y [N,O,OH,OW], the output [N,C,size] */
        g->cout = w->shape[1];
        g->oh = p->size[0];
        g->ow = p->size[1];
        g->ph = WINO_K - 1 - p->pad[0];
        g->pw = WINO_K - 1 - p->pad[1];
        if (x->shape[1] != w->shape[0] || g->h + 2 * g->ph < WINO_K ||
            g->oh != g->h + 2 * g->ph - (WINO_K - 1) || g->ow != g->w + 2 * g->pw - (WINO_K - 1))
            return 0;
    } else {
        g->cout = w->shape[0];
        g->ph = p->pad[0];
        g->pw = p->pad[1];
        if (x->shape[1] != w->shape[1] || g->h + 2 * g->ph < WINO_K || g->w + 2 * g->pw < WINO_K)
            return 0;
        g->oh = g->h + 2 * g->ph - (WINO_K - 1);
        g->ow = g->w + 2 * g->pw - (WINO_K - 1);
    }
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

int bm_conv_winograd_ok(const bm_node *n)
{
    wino_geom g;
    return geom_of(n, &g);
}

static size_t n_chunks(const wino_geom *g) { return (g->n + g->nb - 1) / g->nb; }

/* The bytes of U, and of one slot: V, M, the transforms' buffer, then the
 * products' workspace (for `threads` threads). */
static size_t u_bytes(const wino_geom *g, size_t esz)
{
    return align64(WINO_T * g->cout * g->cin * esz);
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
    size_t esz = bm_dtype_size(dt), cols = g->nb * g->tpi;
    size_t ws = threads > 1 ? bm_matmul_workspace(tape, dt, 0, 0, g->cout, cols, g->cin)
                            : bm_gemm_workspace_bytes(dt, 0, 0, g->cout, cols, g->cin, 1);
    return vm_bytes(g, esz, g->cin) + vm_bytes(g, esz, g->cout) + buf_bytes(g, esz) +
           align64(ws);
}

size_t bm_conv_winograd_scratch(const bm_tape *tape, const bm_node *n)
{
    wino_geom g;
    if (!geom_of(n, &g))
        return 0;
    bm_dtype dt = n->in[0]->dtype;
    size_t chunks = n_chunks(&g), threads = (size_t)bm_tape_threads(tape);
    size_t slots = threads < chunks ? threads : chunks;
    size_t par = slots * slot_bytes(tape, &g, dt, 1), ser = slot_bytes(tape, &g, dt, 2);
    return u_bytes(&g, bm_dtype_size(dt)) + (par > ser ? par : ser);
}

/* One run: the node, its geometry, the slots. */
typedef struct wino_run {
    const bm_node *n;
    wino_geom g;
    size_t slot;   /* bytes of one slot */
    bm_pool *pool; /* the products' threads: NULL when the chunks run in parallel */
} wino_run;

/* Chunk t on worker's slot: transform in, 36 products, transform out. */
static void wino_chunk(void *ctx, size_t t, int worker)
{
    const wino_run *r = ctx;
    const wino_geom gl = r->g, *g = &gl; /* a local copy: no stores alias it */
    const bm_node *n = r->n;
    bm_dtype dt = n->out->dtype;
    size_t esz = bm_dtype_size(dt), i0 = t * g->nb;
    size_t nb = g->n - i0 < g->nb ? g->n - i0 : g->nb, cols = nb * g->tpi;
    unsigned char *U = n->scratch, *V = U + u_bytes(g, esz) + (size_t)worker * r->slot;
    unsigned char *M = V + vm_bytes(g, esz, g->cin), *buf = M + vm_bytes(g, esz, g->cout);
    unsigned char *ws = buf + buf_bytes(g, esz);
    size_t wsb = r->slot - (size_t)(ws - V);
    const unsigned char *x = (const unsigned char *)n->in[0]->data + i0 * g->cin * g->h * g->w * esz;
    unsigned char *y = (unsigned char *)n->out->data + i0 * g->cout * g->oh * g->ow * esz;
    const void *bias = n->n_in == 3 && !g->flip ? n->in[2]->data : NULL;
    size_t su = g->cout * g->cin, sv = g->cin * cols, sm = g->cout * cols;
    if (dt == BM_F64) {
        wino_input_f64((const double *)x, (double *)V, g, nb, (double *)buf);
        for (size_t k = 0; k < WINO_T; k++)
            bm_gemm_f64_ex(0, 0, g->cout, cols, g->cin, 1.0, (const double *)U + k * su, g->cin,
                           (const double *)V + k * sv, cols, 0.0, (double *)M + k * sm, cols,
                           r->pool, ws, wsb);
        wino_output_f64((const double *)M, (double *)y, bias, g, nb, (double *)buf);
    } else {
        wino_input_f32((const float *)x, (float *)V, g, nb, (float *)buf);
        for (size_t k = 0; k < WINO_T; k++)
            bm_gemm_f32_ex(0, 0, g->cout, cols, g->cin, 1.0f, (const float *)U + k * su, g->cin,
                           (const float *)V + k * sv, cols, 0.0f, (float *)M + k * sm, cols,
                           r->pool, ws, wsb);
        wino_output_f32((const float *)M, (float *)y, bias, g, nb, (float *)buf);
    }
}

void bm_conv_winograd_forward(bm_tape *tape, bm_node *n)
{
    wino_run r = {.n = n};
    if (!geom_of(n, &r.g))
        return;
    bm_dtype dt = n->out->dtype;
    size_t esz = bm_dtype_size(dt), chunks = n_chunks(&r.g);
    size_t avail = n->scratch_bytes - u_bytes(&r.g, esz);
    if (dt == BM_F64)
        wino_weights_f64(n->in[1]->data, n->scratch, r.g.cout, r.g.cin, r.g.flip);
    else
        wino_weights_f32(n->in[1]->data, n->scratch, r.g.cout, r.g.cin, r.g.flip);
    bm_pool *pool = bm_tape_pool(tape);
    size_t threads = (size_t)bm_pool_threads(pool), slot = slot_bytes(tape, &r.g, dt, 1);
    int par = threads > 1 && chunks >= threads && threads * slot <= avail;
    r.slot = par ? slot : avail; /* serial: one slot with all the products' workspace */
    r.pool = par ? NULL : pool;
    bm_pool_run(par ? pool : NULL, chunks, wino_chunk, &r);
}
