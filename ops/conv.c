/* conv.c — 2-D convolution (NCHW) and the two products its gradient needs,
 * each the others' vjp, so derivatives of any order close (issue 10):
 *   conv2d            out [N,O,OH,OW]  in x [N,C,H,W], w [O,C/g,kh,kw], b [O]
 *   conv_transpose2d  out [N,C,H,W]    in y [N,O,OH,OW], w [O,C/g,kh,kw]
 *                     (the adjoint of conv2d in x; torch.conv_transpose2d)
 *   conv2d_wgrad      out [O,C/g,kh,kw] in x [N,C,H,W], y [N,O,OH,OW]
 *                     (the adjoint in w)
 *   conv1d            out [N,O,OW]     in x [N,C,W], w [O,C/g,k], b [O]
 *                     (conv2d's kernels on x as [N,C,W,1], w as [O,C/g,k,1];
 *                     its vjp the 2-D adjoints on those views)
 * stride, padding, dilation per axis, groups g. Each is im2col (or col2im)
 * per chunk of images and group plus one product on the own GEMM, with the
 * column matrix and the product's workspace in the node's scratch. On
 * several threads the chunks run in parallel (a scratch slot per thread);
 * wgrad's fixed split into partial sums keeps the bits the same on any
 * thread count. The vjps, op tables and builders are in conv_grad.c. */
#include <limits.h>
#include <stdio.h>

#include "conv_internal.h"
#include "ops_internal.h"

/* One image's geometry. */
typedef struct conv_geom {
    size_t h, w, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw;
} conv_geom;

#define T float
#define F(name) name##_f32
#include "conv_kernels.inc"
#undef T
#undef F
#define T double
#define F(name) name##_f64
#include "conv_kernels.inc"
#undef T
#undef F

static const conv_params *cp_of(const bm_node *n) { return n->params; }

/* Output size of a convolution along one axis; 0 when the kernel does not fit. */
static size_t conv_out(size_t in, size_t k, size_t s, size_t p, size_t d)
{
    size_t span = d * (k - 1) + 1;
    return in + 2 * p < span ? 0 : (in + 2 * p - span) / s + 1;
}

/* Geometry from x [N,C,H,W] and a kernel kh×kw. */
static conv_geom geom(const conv_params *p, size_t h, size_t w, size_t kh, size_t kw)
{
    conv_geom g = {.h = h, .w = w, .kh = kh, .kw = kw, .sh = p->stride[0], .sw = p->stride[1],
                   .ph = p->pad[0], .pw = p->pad[1], .dh = p->dilation[0], .dw = p->dilation[1]};
    g.oh = conv_out(h, kh, g.sh, g.ph, g.dh);
    g.ow = conv_out(w, kw, g.sw, g.pw, g.dw);
    return g;
}

/* Sizes of a node's pieces. */
typedef struct conv_dims {
    size_t N, C, O, groups, cg, og, kk, L;
    size_t nb;  /* images per product: small images side by side in one GEMM */
    conv_geom g;
} conv_dims;

/* Small images are batched side by side into one product of at most this
 * many columns (one of the GEMM's B̃ blocks, so op(A) is packed once) ... */
#define CONV_MAX_COLS 512
/* ... and a column matrix of at most this many bytes in double (half in
 * float: it stays in L2 between im2col and the product's packing; measured
 * on LeNet-2, 4 images: 16 % faster than 11, which spilled it). */
#define CONV_MAX_COLS_BYTES ((size_t)512 << 10)

/* Dims from x [N,C,H,W] and w [O,C/g,kh,kw] (conv2d, wgrad: x is input 0;
 * conv_transpose2d: x is the output). */
static conv_dims dims_of(const conv_params *p, const bm_tensor *x, size_t N, size_t C, size_t h,
                         size_t w, size_t O, size_t kh, size_t kw)
{
    (void)x;
    conv_dims d = {.N = N, .C = C, .O = O, .groups = p->groups};
    d.cg = C / p->groups;
    d.og = O / p->groups;
    d.kk = kh * kw;
    d.g = geom(p, h, w, kh, kw);
    d.L = d.g.oh * d.g.ow;
    size_t K = d.cg * d.kk, per_image = K * d.L * sizeof(double);
    d.nb = d.L ? CONV_MAX_COLS / d.L : 1;
    if (per_image && d.nb > CONV_MAX_COLS_BYTES / per_image)
        d.nb = CONV_MAX_COLS_BYTES / per_image;
    d.nb = d.nb < 1 ? 1 : d.nb > N ? (N ? N : 1) : d.nb;
    return d;
}

/* Scratch: one slot per thread that runs chunks of images — the column
 * matrix [K, nb·L], the gathered rows [og, nb·L] of nb images, then a
 * product's workspace — and, for conv2d_wgrad, CONV_PARTS partial weight
 * gradients after the slots. */
static size_t align64(size_t b) { return (b + 63) & ~(size_t)63; }
static size_t cols_bytes(const conv_dims *d, bm_dtype dt)
{
    return align64(d->cg * d->kk * d->nb * d->L * bm_dtype_size(dt));
}
static size_t rows_bytes(const conv_dims *d, bm_dtype dt)
{
    return align64(d->og * d->nb * d->L * bm_dtype_size(dt));
}

/* conv2d_wgrad sums its chunks into this many partial gradients, a fixed
 * split of the batch (chunks in order within each, the partials in order
 * after), so every thread count adds in the same order. */
#define CONV_PARTS 8

static size_t n_chunks(const conv_dims *d) { return (d->N + d->nb - 1) / d->nb; }
static size_t n_parts(const conv_dims *d)
{
    size_t c = n_chunks(d);
    return c < CONV_PARTS ? c : CONV_PARTS;
}

/* Workspace of an M×N×K product for one thread or, when the chunks run
 * one by one, for all of them. */
static size_t ws_bytes(const bm_tape *tape, bm_dtype dt, int ta, int tb, size_t M, size_t N,
                       size_t K)
{
    size_t w1 = bm_gemm_workspace_bytes(dt, ta, tb, M, N, K, 1);
    size_t wt = bm_matmul_workspace(tape, dt, ta, tb, M, N, K);
    return w1 > wt ? w1 : wt;
}

/* The bytes of one slot, for the products of a whole chunk (nb·L columns:
 * N, or K when cols_k) and of the last, shorter one (its blocks can be
 * wider: the GEMM cuts N into equal blocks). */
static size_t slot_bytes(const bm_tape *tape, const conv_dims *d, bm_dtype dt, int ta, int tb,
                         size_t M, size_t N, size_t K, int cols_k)
{
    size_t tail = (d->N - (n_chunks(d) - 1) * d->nb) * d->L;
    size_t full = ws_bytes(tape, dt, ta, tb, M, N, K);
    size_t last = cols_k ? ws_bytes(tape, dt, ta, tb, M, N, tail)
                         : ws_bytes(tape, dt, ta, tb, M, tail, K);
    return cols_bytes(d, dt) + rows_bytes(d, dt) + align64(full > last ? full : last);
}
static size_t n_slots(const bm_tape *tape, const conv_dims *d)
{
    size_t t = (size_t)bm_tape_threads(tape), c = n_chunks(d);
    return t < c ? t : c;
}

static int check_params(bm_tape *tape, const bm_node *n)
{
    const conv_params *p = cp_of(n);
    for (int a = 0; a < 2; a++) {
        if (p->stride[a] == 0 || p->dilation[a] == 0) {
            bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: stride and dilation must be >= 1", n->op->name);
            return -1;
        }
        if (p->pad[a] > (size_t)LONG_MAX / 2) { /* a negative number cast to size_t */
            bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: padding %zu is negative or too large",
                         n->op->name, p->pad[a]);
            return -1;
        }
    }
    if (p->groups == 0) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: groups must be >= 1", n->op->name);
        return -1;
    }
    return 0;
}

extern const bm_op bm_op_conv1d;

/* Check x [N,C,H,W] against w [O,C/g,kh,kw] (conv1d: x [N,C,W], w
 * [O,C/g,k]) for groups. */
static int check_xw(bm_tape *tape, const bm_node *n, const bm_tensor *x, const bm_tensor *w,
                    size_t C)
{
    char sx[64], sw[64];
    size_t G = cp_of(n)->groups;
    int r = n->op == &bm_op_conv1d ? 3 : 4;
    if (x->rank != r || w->rank != r) {
        bm_tape_fail(tape, BM_ERR_RANK, "bm_%s: %s and weight %s must be %s", n->op->name,
                     BM_SHP(x, sx), BM_SHP(w, sw), r == 3 ? "3-D (NCW, OIW)" : "4-D (NCHW, OIHW)");
        return -1;
    }
    if (C % G || w->shape[0] % G || w->shape[1] * G != C) {
        bm_tape_fail(tape, BM_ERR_SHAPE,
                     "bm_%s: %s and weight %s do not fit %zu groups (C = %zu must be weight "
                     "[1]·groups, O divisible by groups)",
                     n->op->name, BM_SHP(x, sx), BM_SHP(w, sw), G, C);
        return -1;
    }
    return 0;
}

/* conv2d, and conv1d as conv2d of [N,C,W,1] (a rank-3 tensor's unused
 * trailing size is 1): the output [N,O,OH,OW], or [N,O,OW]. */
int bm_conv_conv2d_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0], *w = n->in[1];
    const char *name = n->op->name;
    char sx[64], sw[64];
    if (n->n_in > 3) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: takes x, w and an optional b", name);
        return -1;
    }
    if (check_params(tape, n) || check_xw(tape, n, x, w, x->shape[1]))
        return -1;
    if (n->n_in == 3 && (n->in[2]->rank != 1 || n->in[2]->shape[0] != w->shape[0])) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: bias %s must be [%zu]", name,
                     BM_SHP(n->in[2], sx), w->shape[0]);
        return -1;
    }
    conv_dims d = dims_of(cp_of(n), x, x->shape[0], x->shape[1], x->shape[2], x->shape[3],
                          w->shape[0], w->shape[2], w->shape[3]);
    if (!d.L) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: %s with kernel %s: the (dilated) kernel "
                     "does not fit the padded input", name, BM_SHP(x, sx), BM_SHP(w, sw));
        return -1;
    }
    size_t shape[4] = {d.N, d.O, d.g.oh, d.g.ow};
    n->scratch_bytes = bm_conv_winograd_ok(n) ? bm_conv_winograd_scratch(tape, n) :
                       n_slots(tape, &d) *
                       slot_bytes(tape, &d, x->dtype, 0, 0, d.og, d.nb * d.L, d.cg * d.kk, 0);
    if (!bm_conv_winograd_ok(n))
        bm_conv_direct_size(tape, n, BM_CONV_DIRECT_FWD);
    return bm_op_set_output(tape, n, x->dtype, x->rank, shape) == BM_OK ? 0 : -1;
}

int bm_conv_convt_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *y = n->in[0], *w = n->in[1];
    const conv_params *p = cp_of(n);
    char sy[64], sw[64];
    if (check_params(tape, n) || y->rank != 4 || w->rank != 4 || y->shape[1] != w->shape[0] ||
        w->shape[0] % p->groups) {
        if (bm_tape_status(tape) == BM_OK)
            bm_tape_fail(tape, BM_ERR_SHAPE, "bm_conv_transpose2d: %s and weight %s: need "
                         "[N,O,H,W] and [O,C/g,kh,kw]", BM_SHP(y, sy), BM_SHP(w, sw));
        return -1;
    }
    size_t C = w->shape[1] * p->groups;
    conv_dims d = dims_of(p, NULL, y->shape[0], C, p->size[0], p->size[1], w->shape[0],
                          w->shape[2], w->shape[3]);
    if (!p->size[0] || !p->size[1] || d.g.oh != y->shape[2] || d.g.ow != y->shape[3]) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_conv_transpose2d: %s with kernel %s: an output of "
                     "%zux%zu does not convolve back to it", BM_SHP(y, sy), BM_SHP(w, sw),
                     p->size[0], p->size[1]);
        return -1;
    }
    size_t shape[4] = {d.N, C, p->size[0], p->size[1]};
    n->scratch_bytes = bm_conv_winograd_ok(n) ? bm_conv_winograd_scratch(tape, n) :
                       n_slots(tape, &d) *
                       slot_bytes(tape, &d, y->dtype, 1, 0, d.cg * d.kk, d.nb * d.L, d.og, 0);
    if (!bm_conv_winograd_ok(n))
        bm_conv_direct_size(tape, n, BM_CONV_DIRECT_DX);
    return bm_op_set_output(tape, n, y->dtype, 4, shape) == BM_OK ? 0 : -1;
}

int bm_conv_wgrad_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0], *y = n->in[1];
    const conv_params *p = cp_of(n);
    char sx[64], sy[64];
    if (check_params(tape, n))
        return -1;
    conv_dims d = {0};
    if (x->rank == 4 && y->rank == 4)
        d = dims_of(p, x, x->shape[0], x->shape[1], x->shape[2], x->shape[3], y->shape[1],
                    p->size[0], p->size[1]);
    if (x->rank != 4 || y->rank != 4 || y->shape[0] != x->shape[0] || x->shape[1] % p->groups ||
        y->shape[1] % p->groups || d.g.oh != y->shape[2] || d.g.ow != y->shape[3] || !d.L) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_conv2d_wgrad: %s and %s do not fit a %zux%zu kernel",
                     BM_SHP(x, sx), BM_SHP(y, sy), p->size[0], p->size[1]);
        return -1;
    }
    size_t shape[4] = {d.O, d.cg, p->size[0], p->size[1]};
    n->scratch_bytes = bm_conv_winograd_ok(n) ? bm_conv_winograd_scratch(tape, n) :
                       n_slots(tape, &d) *
                           slot_bytes(tape, &d, x->dtype, 0, 1, d.og, d.cg * d.kk, d.nb * d.L, 1) +
                       n_parts(&d) * align64(d.O * d.cg * d.kk * bm_dtype_size(x->dtype));
    if (!bm_conv_winograd_ok(n))
        bm_conv_direct_size(tape, n, BM_CONV_DIRECT_DW);
    return bm_op_set_output(tape, n, x->dtype, 4, shape) == BM_OK ? 0 : -1;
}

/* One chunk's job: the node, its sizes, where its slots are. */
typedef struct conv_job {
    bm_tape *tape;
    bm_node *n;
    conv_dims d;
    size_t slot;       /* bytes of one slot */
    bm_pool *pool;     /* the products' threads: NULL when the chunks run in parallel */
    unsigned char *ws; /* the slot of the chunk running (serial runs: slot 0) */
    size_t wsb;        /* its workspace's bytes */
} conv_job;

/* One GEMM of a chunk, with the workspace after its slot's columns and rows. */
static void gemm(const conv_job *j, int ta, int tb, size_t M, size_t N, size_t K, const void *A,
                 size_t lda, const void *B, size_t ldb, double beta, void *C, size_t ldc)
{
    if (j->n->out->dtype == BM_F64)
        bm_gemm_f64_ex(ta, tb, M, N, K, 1.0, A, lda, B, ldb, beta, C, ldc, j->pool, j->ws,
                       j->wsb);
    else
        bm_gemm_f32_ex(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, (float)beta, C, ldc, j->pool,
                       j->ws, j->wsb);
}

/* What one task does: chunk (or part) t with slot s's memory (cols, rows). */
typedef void (*conv_task_fn)(const conv_job *j, size_t t, unsigned char *cols,
                             unsigned char *rows);

typedef struct conv_run {
    conv_job job;
    conv_task_fn fn;
} conv_run;

/* A task on the pool: the worker's slot (bm_pool_fn). */
static void conv_task(void *ctx, size_t t, int worker)
{
    const conv_run *r = ctx;
    conv_job j = r->job;
    unsigned char *slot = (unsigned char *)j.n->scratch + (size_t)worker * j.slot;
    bm_dtype dt = j.n->out->dtype;
    size_t cb = cols_bytes(&j.d, dt), rb = rows_bytes(&j.d, dt);
    j.ws = slot + cb + rb;
    j.wsb = j.slot - cb - rb;
    r->fn(&j, t, slot, slot + cb);
}

/* Run tasks 0..tasks-1: in parallel over the batch, one slot per thread,
 * when there are enough tasks and slots for the tape's threads; else one by
 * one, each product on all the threads. Either way every task does the same
 * arithmetic: the bits do not depend on the thread count. */
static void conv_run_tasks(bm_tape *tape, bm_node *n, const conv_dims *d, size_t slot,
                           size_t avail, size_t tasks, conv_task_fn fn)
{
    bm_pool *pool = bm_tape_pool(tape);
    size_t threads = (size_t)bm_pool_threads(pool);
    int par = threads > 1 && tasks >= threads && threads * slot <= avail;
    if (slot > avail) /* threads raised after recording: one slot, what there is of it */
        slot = avail;
    conv_run r = {.job = {.tape = tape, .n = n, .d = *d, .slot = slot, .pool = par ? NULL : pool},
                  .fn = fn};
    bm_pool_run(par ? pool : NULL, tasks, conv_task, &r);
}

/* The columns of images i0..i0+nb of group grp side by side: cols [K, nb·L]. */
static void im2col_chunk(const conv_dims *d, bm_dtype dt, const void *x, void *cols, size_t i0,
                         size_t nb, size_t grp)
{
    size_t esz = bm_dtype_size(dt), hw = d->g.h * d->g.w, ld = nb * d->L;
    for (size_t b = 0; b < nb; b++) {
        const unsigned char *xi = (const unsigned char *)x + ((i0 + b) * d->C + grp * d->cg) * hw * esz;
        unsigned char *cb = (unsigned char *)cols + b * d->L * esz;
        if (dt == BM_F64)
            im2col_f64((const double *)xi, (double *)cb, ld, d->cg, &d->g);
        else
            im2col_f32((const float *)xi, (float *)cb, ld, d->cg, &d->g);
    }
}

/* rows [og, nb·L] of group grp's channels of y [.., O, L] from image i0. */
static void gather(const conv_dims *d, bm_dtype dt, const void *y, void *rows, size_t i0,
                   size_t nb, size_t grp)
{
    size_t off = i0 * d->O * d->L * bm_dtype_size(dt);
    if (dt == BM_F64)
        gather_rows_f64((const double *)((const unsigned char *)y + off), rows, nb, d->O,
                        grp * d->og, d->og, d->L);
    else
        gather_rows_f32((const float *)((const unsigned char *)y + off), rows, nb, d->O,
                        grp * d->og, d->og, d->L);
}

static void scatter(const conv_dims *d, bm_dtype dt, const void *rows, void *y, size_t i0,
                    size_t nb, size_t grp)
{
    size_t off = i0 * d->O * d->L * bm_dtype_size(dt);
    if (dt == BM_F64)
        scatter_rows_f64(rows, (double *)((unsigned char *)y + off), nb, d->O, grp * d->og,
                         d->og, d->L);
    else
        scatter_rows_f32(rows, (float *)((unsigned char *)y + off), nb, d->O, grp * d->og,
                         d->og, d->L);
}

/* Images i0..i0+nb of chunk t. */
static size_t chunk_of(const conv_dims *d, size_t t, size_t *nb)
{
    size_t i0 = t * d->nb;
    *nb = d->N - i0 < d->nb ? d->N - i0 : d->nb;
    return i0;
}

/* out[n, group] = W_group [Og, Cg·kk] · cols [Cg·kk, L] for chunk t. */
static void conv2d_chunk(const conv_job *j, size_t t, unsigned char *cols, unsigned char *rows)
{
    const conv_dims dj = j->d, *d = &dj; /* a local copy: no stores alias it */
    const bm_node *n = j->n;
    bm_dtype dt = n->out->dtype;
    size_t esz = bm_dtype_size(dt), K = d->cg * d->kk, nb, i0 = chunk_of(d, t, &nb);
    size_t cols_n = nb * d->L;
    const unsigned char *W = n->in[1]->data;
    unsigned char *Y = n->out->data;
    for (size_t grp = 0; grp < d->groups; grp++) {
        im2col_chunk(d, dt, n->in[0]->data, cols, i0, nb, grp);
        /* one image: straight into its output block */
        void *dst = nb == 1 ? Y + ((i0 * d->O + grp * d->og) * d->L) * esz : (void *)rows;
        /* Several small images: their column matrix sits in L2, so one
         * product per strip of output channels, each reading it in place,
         * costs less than packing it once (LeNet-2: 5 %). The same sums. */
        size_t strip = nb > 1 ? bm_gemm_strip_rows(dt) : d->og;
        for (size_t r0 = 0; r0 < d->og; r0 += strip) {
            size_t mr = d->og - r0 < strip ? d->og - r0 : strip;
            gemm(j, 0, 0, mr, cols_n, K, W + (grp * d->og + r0) * K * esz, K, cols, cols_n, 0.0,
                 (unsigned char *)dst + r0 * cols_n * esz, cols_n);
        }
        if (nb > 1)
            scatter(d, dt, rows, Y, i0, nb, grp);
    }
}

/* conv2d: the chunks, then + b[o]. */
void bm_conv_conv2d_forward(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0], *w = n->in[1];
    bm_tensor *o = n->out;
    if (bm_conv_winograd_ok(n)) {
        bm_conv_winograd_forward(tape, n);
        return;
    }
    conv_dims d = dims_of(cp_of(n), x, x->shape[0], x->shape[1], x->shape[2], x->shape[3],
                          w->shape[0], w->shape[2], w->shape[3]);
    if (!bm_conv_direct_run(tape, n, BM_CONV_DIRECT_FWD))
        conv_run_tasks(tape, n, &d, slot_bytes(tape, &d, x->dtype, 0, 0, d.og, d.nb * d.L,
                                               d.cg * d.kk, 0), n->scratch_bytes,
                       n_chunks(&d), conv2d_chunk);
    if (n->n_in == 3 && o->dtype == BM_F64)
        add_bias_f64(o->data, n->in[2]->data, d.N, d.O, d.L);
    else if (n->n_in == 3)
        add_bias_f32(o->data, n->in[2]->data, d.N, d.O, d.L);
}

/* cols = W_groupᵀ · y[n, group]; out[n, group] = col2im(cols) for chunk t. */
static void convt_chunk(const conv_job *j, size_t t, unsigned char *cols, unsigned char *rows)
{
    const conv_dims dj = j->d, *d = &dj; /* a local copy: no stores alias it */
    const bm_node *n = j->n;
    bm_dtype dt = n->out->dtype;
    size_t esz = bm_dtype_size(dt), K = d->cg * d->kk, hw = d->g.h * d->g.w, nb;
    size_t i0 = chunk_of(d, t, &nb), cols_n = nb * d->L;
    const unsigned char *Yi = n->in[0]->data, *W = n->in[1]->data;
    unsigned char *X = n->out->data;
    memset(X + i0 * d->C * hw * esz, 0, nb * d->C * hw * esz);
    for (size_t grp = 0; grp < d->groups; grp++) {
        const void *src = Yi + ((i0 * d->O + grp * d->og) * d->L) * esz;
        if (nb > 1) {
            gather(d, dt, Yi, rows, i0, nb, grp);
            src = rows;
        }
        gemm(j, 1, 0, K, cols_n, d->og, W + grp * d->og * K * esz, K, src, cols_n, 0.0, cols,
             cols_n);
        for (size_t b = 0; b < nb; b++) {
            unsigned char *xo = X + ((i0 + b) * d->C + grp * d->cg) * hw * esz;
            const unsigned char *cs = cols + b * d->L * esz;
            if (dt == BM_F64)
                col2im_f64((const double *)cs, cols_n, (double *)xo, d->cg, &d->g);
            else
                col2im_f32((const float *)cs, cols_n, (float *)xo, d->cg, &d->g);
        }
    }
}

void bm_conv_convt_forward(bm_tape *tape, bm_node *n)
{
    const bm_tensor *y = n->in[0], *w = n->in[1];
    const conv_params *p = cp_of(n);
    if (bm_conv_winograd_ok(n)) {
        bm_conv_winograd_forward(tape, n);
        return;
    }
    if (bm_conv_direct_run(tape, n, BM_CONV_DIRECT_DX))
        return;
    conv_dims d = dims_of(p, NULL, y->shape[0], n->out->shape[1], p->size[0], p->size[1],
                          w->shape[0], w->shape[2], w->shape[3]);
    conv_run_tasks(tape, n, &d, slot_bytes(tape, &d, y->dtype, 1, 0, d.cg * d.kk, d.nb * d.L,
                                           d.og, 0), n->scratch_bytes, n_chunks(&d), convt_chunk);
}

/* Part t of wgrad: P_t [O, Cg·kk] = Σ over its chunks, in order, of
 * y[chunk, group] [Og, nb·L] · cols(x[chunk, group])ᵀ. */
static void wgrad_part(const conv_job *j, size_t t, unsigned char *cols, unsigned char *rows)
{
    const conv_dims dj = j->d, *d = &dj; /* a local copy: no stores alias it */
    const bm_node *n = j->n;
    bm_dtype dt = n->out->dtype;
    size_t esz = bm_dtype_size(dt), K = d->cg * d->kk, chunks = n_chunks(d), parts = n_parts(d);
    size_t pb = align64(d->O * K * esz); /* the parts: the scratch's last parts·pb bytes */
    unsigned char *P = (unsigned char *)n->scratch + n->scratch_bytes - (parts - t) * pb;
    const unsigned char *Yi = n->in[1]->data;
    for (size_t c = t * chunks / parts; c < (t + 1) * chunks / parts; c++) {
        size_t nb, i0 = chunk_of(d, c, &nb), cols_n = nb * d->L;
        double beta = c == t * chunks / parts ? 0.0 : 1.0;
        for (size_t grp = 0; grp < d->groups; grp++) {
            im2col_chunk(d, dt, n->in[0]->data, cols, i0, nb, grp);
            const void *src = Yi + ((i0 * d->O + grp * d->og) * d->L) * esz;
            if (nb > 1) {
                gather(d, dt, Yi, rows, i0, nb, grp);
                src = rows;
            }
            gemm(j, 0, 1, d->og, K, cols_n, src, cols_n, cols, cols_n, beta,
                 P + grp * d->og * K * esz, K);
        }
    }
}

/* dW (+)= P_0 + P_1 + ... in order. */
void bm_conv_wgrad_forward(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0], *y = n->in[1];
    bm_tensor *o = n->out;
    const conv_params *p = cp_of(n);
    if (bm_conv_winograd_ok(n)) {
        bm_conv_winograd_forward(tape, n);
        return;
    }
    if (bm_conv_direct_run(tape, n, BM_CONV_DIRECT_DW))
        return;
    conv_dims d = dims_of(p, x, x->shape[0], x->shape[1], x->shape[2], x->shape[3], y->shape[1],
                          p->size[0], p->size[1]);
    size_t slot = slot_bytes(tape, &d, x->dtype, 0, 1, d.og, d.cg * d.kk, d.nb * d.L, 1);
    size_t parts = n_parts(&d), pb = align64(o->size * bm_dtype_size(o->dtype));
    conv_run_tasks(tape, n, &d, slot, n->scratch_bytes - parts * pb, parts, wgrad_part);
    const unsigned char *P = (const unsigned char *)n->scratch + n->scratch_bytes - parts * pb;
    if (!n->accumulate)
        memset(o->data, 0, o->size * bm_dtype_size(o->dtype));
    for (size_t t = 0; t < parts; t++)
        if (o->dtype == BM_F64)
            add_run_f64(o->data, (const double *)(P + t * pb), o->size);
        else
            add_run_f32(o->data, (const float *)(P + t * pb), o->size);
}
