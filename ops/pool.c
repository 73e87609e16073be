/* pool.c — 2-D pooling (NCHW, issue 10) and the adjoints their gradients
 * need, each differentiable again:
 *   max_pool2d           out [N,C,OH,OW]  in x [N,C,H,W]
 *   max_pool2d_grad      out [N,C,H,W]    in x, g [N,C,OH,OW]: g scattered
 *                        to the argmax of x's windows (recomputed from x)
 *   max_pool2d_gather    out [N,C,OH,OW]  in x, u [N,C,H,W]: u read at the
 *                        argmax of x's windows (the adjoint of the scatter)
 *   avg_pool2d           out [N,C,OH,OW]  in x; count_include_pad (torch's
 *                        default) or the clipped window as divisor
 *   adaptive_avg_pool2d  out [N,C,OH,OW]  in x; torch's windows
 *                        [⌊i·H/OH⌋, ⌈(i+1)·H/OH⌉); 1×1 is a global pool
 *   avg_pool2d_grad      out [N,C,H,W]    in g: the adjoint of either
 * Kernel, stride and padding per axis (H, W); no dilation, no ceil_mode.
 * The planes (N·C) split over the tape's threads.
 * Max pool ties: the first maximal element of the window in row-major
 * order gets the whole gradient (as PyTorch's CPU kernel); a NaN wins. */
#include <stdio.h>

#include "ops_internal.h"

typedef struct pool_params {
    size_t kernel[2], stride[2], pad[2];
    size_t size[2];        /* adaptive_avg_pool2d: the output's OH, OW;
                              avg_pool2d_grad: the input's H, W */
    int count_include_pad; /* avg: divide by the padded window's size */
    int adaptive;          /* adaptive windows (no kernel, stride, pad) */
} pool_params;

/* One plane's geometry, P planes of [H,W] -> [OH,OW]. */
typedef struct pool_geom {
    size_t planes, h, w, oh, ow, k[2], s[2], p[2];
    int include_pad, adaptive;
} pool_geom;

/* A window along one axis: [lo, hi) inside the image, span with padding. */
typedef struct pool_win {
    size_t lo, hi, span;
} pool_win;

/* The window of output index o along axis (0: H, 1: W). */
static inline pool_win pool_window(const pool_geom *g, int axis, size_t o)
{
    size_t in = axis ? g->w : g->h, out = axis ? g->ow : g->oh;
    pool_win r;
    if (g->adaptive) {
        r.lo = o * in / out;
        r.hi = ((o + 1) * in + out - 1) / out;
        r.span = r.hi - r.lo;
        return r;
    }
    long start = (long)(o * g->s[axis]) - (long)g->p[axis];
    long end = start + (long)g->k[axis];
    long lim = (long)(in + g->p[axis]);
    end = end < lim ? end : lim;
    r.span = (size_t)(end - start);
    r.lo = start < 0 ? 0 : (size_t)start;
    r.hi = end > (long)in ? in : (size_t)end;
    return r;
}

/* What an average over the window divides by. */
static inline size_t pool_divisor(const pool_geom *g, const pool_win *wy, const pool_win *wx)
{
    return g->include_pad ? wy->span * wx->span : (wy->hi - wy->lo) * (wx->hi - wx->lo);
}

#define T float
#define F(name) name##_f32
#include "pool_kernels.inc"
#undef T
#undef F
#define T double
#define F(name) name##_f64
#include "pool_kernels.inc"
#undef T
#undef F

extern const bm_op bm_op_max_pool2d, bm_op_max_pool2d_grad, bm_op_max_pool2d_gather,
    bm_op_avg_pool2d, bm_op_adaptive_avg_pool2d, bm_op_avg_pool2d_grad;

static const pool_params *pp_of(const bm_node *n) { return n->params; }

/* Output size along one axis; 0 when the kernel does not fit. */
static size_t pool_out(size_t in, size_t k, size_t s, size_t p)
{
    return in + 2 * p < k ? 0 : (in + 2 * p - k) / s + 1;
}

/* Geometry of images [N,C,H,W] under p. */
static pool_geom geom_of(const pool_params *p, size_t N, size_t C, size_t H, size_t W)
{
    pool_geom g = {.planes = N * C, .h = H, .w = W, .k = {p->kernel[0], p->kernel[1]},
                   .s = {p->stride[0], p->stride[1]}, .p = {p->pad[0], p->pad[1]},
                   .include_pad = p->count_include_pad, .adaptive = p->adaptive};
    if (p->adaptive) {
        g.oh = p->size[0];
        g.ow = p->size[1];
    } else {
        g.oh = pool_out(H, g.k[0], g.s[0], g.p[0]);
        g.ow = pool_out(W, g.k[1], g.s[1], g.p[1]);
    }
    return g;
}

/* Check kernel, stride, padding (or the adaptive output size). */
static int check_params(bm_tape *tape, const bm_node *n)
{
    const pool_params *p = pp_of(n);
    if (p->adaptive && (!p->size[0] || !p->size[1])) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: output size %zux%zu must be >= 1x1",
                     n->op->name, p->size[0], p->size[1]);
        return -1;
    }
    for (int a = 0; !p->adaptive && a < 2; a++) {
        if (!p->kernel[a] || !p->stride[a]) {
            bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: kernel %zux%zu and stride %zux%zu must be >= 1",
                         n->op->name, p->kernel[0], p->kernel[1], p->stride[0], p->stride[1]);
            return -1;
        }
        if (2 * p->pad[a] > p->kernel[a]) {
            bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: padding %zux%zu must be at most half the "
                         "kernel %zux%zu", n->op->name, p->pad[0], p->pad[1], p->kernel[0],
                         p->kernel[1]);
            return -1;
        }
    }
    return 0;
}

/* Check the parameters and x [N,C,H,W]; the geometry into *g. */
static int check_pool(bm_tape *tape, const bm_node *n, const bm_tensor *x, size_t H, size_t W,
                      pool_geom *g)
{
    const pool_params *p = pp_of(n);
    char sx[64];
    if (x->rank != 4) {
        bm_tape_fail(tape, BM_ERR_RANK, "bm_%s: %s must be 4-D [N,C,H,W]", n->op->name,
                     BM_SHP(x, sx));
        return -1;
    }
    if (check_params(tape, n))
        return -1;
    *g = geom_of(p, x->shape[0], x->shape[1], H, W);
    if (!g->oh || !g->ow) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: %s: kernel %zux%zu does not fit the padded "
                     "input", n->op->name, BM_SHP(x, sx), p->kernel[0], p->kernel[1]);
        return -1;
    }
    return 0;
}

/* max_pool2d, avg_pool2d, adaptive_avg_pool2d: x -> [N,C,OH,OW]. */
static int pool_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    pool_geom g;
    if (check_pool(tape, n, x, x->rank == 4 ? x->shape[2] : 0, x->rank == 4 ? x->shape[3] : 0, &g))
        return -1;
    size_t shape[4] = {x->shape[0], x->shape[1], g.oh, g.ow};
    return bm_op_set_output(tape, n, x->dtype, 4, shape) == BM_OK ? 0 : -1;
}

/* Does t have shape [N,C,a,b] of x? */
static int is_nc(const bm_tensor *t, const bm_tensor *x, size_t a, size_t b)
{
    return t->rank == 4 && t->shape[0] == x->shape[0] && t->shape[1] == x->shape[1] &&
           t->shape[2] == a && t->shape[3] == b;
}

/* max_pool2d_grad (x, g [pooled]) -> x's shape; max_pool2d_gather (x, u [x's
 * shape]) -> pooled. */
static int max_adj_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0], *u = n->in[1];
    int scatter = n->op == &bm_op_max_pool2d_grad;
    char sx[64], su[64];
    pool_geom g;
    if (check_pool(tape, n, x, x->rank == 4 ? x->shape[2] : 0, x->rank == 4 ? x->shape[3] : 0, &g))
        return -1;
    if (scatter ? !is_nc(u, x, g.oh, g.ow) : !is_nc(u, x, g.h, g.w)) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: x %s: %s %s must be [%zu,%zu,%zu,%zu]",
                     n->op->name, BM_SHP(x, sx), scatter ? "g" : "u", BM_SHP(u, su), x->shape[0],
                     x->shape[1], scatter ? g.oh : g.h, scatter ? g.ow : g.w);
        return -1;
    }
    size_t shape[4] = {x->shape[0], x->shape[1], scatter ? g.h : g.oh, scatter ? g.w : g.ow};
    return bm_op_set_output(tape, n, x->dtype, 4, shape) == BM_OK ? 0 : -1;
}

/* avg_pool2d_grad: g [N,C,OH,OW] -> [N,C,H,W], H, W from the parameters. */
static int avg_adj_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *gr = n->in[0];
    const pool_params *p = pp_of(n);
    pool_params q = *p;
    char sg[64];
    if (check_params(tape, n))
        return -1;
    if (gr->rank == 4 && p->adaptive) {
        q.size[0] = gr->shape[2];
        q.size[1] = gr->shape[3];
    }
    pool_geom g = geom_of(&q, gr->rank == 4 ? gr->shape[0] : 0, gr->rank == 4 ? gr->shape[1] : 0,
                          p->size[0], p->size[1]);
    if (gr->rank != 4 || !p->size[0] || !p->size[1] || g.oh != gr->shape[2] ||
        g.ow != gr->shape[3]) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_avg_pool2d_grad: g %s does not pool from %zux%zu",
                     BM_SHP(gr, sg), p->size[0], p->size[1]);
        return -1;
    }
    size_t shape[4] = {gr->shape[0], gr->shape[1], p->size[0], p->size[1]};
    return bm_op_set_output(tape, n, gr->dtype, 4, shape) == BM_OK ? 0 : -1;
}

/* Geometry of a node from x (input 0) and its pooled tensor. */
static pool_geom node_geom(const bm_node *n, const bm_tensor *x)
{
    return geom_of(pp_of(n), x->shape[0], x->shape[1], x->shape[2], x->shape[3]);
}

/* What a pooling kernel computes. */
typedef enum pool_kind { KIND_MAX, KIND_SCATTER, KIND_GATHER, KIND_AVG, KIND_AVG_ADJ } pool_kind;

/* One kernel over the planes, split into chunks over the tape's threads
 * (each plane by one thread: the same bits for any thread count). */
typedef struct pool_job {
    pool_kind kind;
    bm_dtype dt;
    const void *x, *u; /* x: the pooled input (or g of avg_adjoint); u: the second input */
    void *out;
    pool_geom g;
    size_t chunk; /* planes per task */
} pool_job;

static void pool_task(void *ctx, size_t task, int worker)
{
    (void)worker;
    const pool_job *j = ctx;
    size_t p0 = task * j->chunk, p1 = p0 + j->chunk < j->g.planes ? p0 + j->chunk : j->g.planes;
    int f64 = j->dt == BM_F64;
    switch (j->kind) {
    case KIND_MAX:
    case KIND_GATHER:
        if (f64)
            max_gather_f64(j->x, j->u, j->out, &j->g, p0, p1);
        else
            max_gather_f32(j->x, j->u, j->out, &j->g, p0, p1);
        break;
    case KIND_SCATTER:
        if (f64)
            max_scatter_f64(j->x, j->u, j->out, &j->g, p0, p1);
        else
            max_scatter_f32(j->x, j->u, j->out, &j->g, p0, p1);
        break;
    case KIND_AVG:
        if (f64)
            avg_pool_f64(j->x, j->out, &j->g, p0, p1);
        else
            avg_pool_f32(j->x, j->out, &j->g, p0, p1);
        break;
    case KIND_AVG_ADJ:
        if (f64)
            avg_adjoint_f64(j->x, j->out, &j->g, p0, p1);
        else
            avg_adjoint_f32(j->x, j->out, &j->g, p0, p1);
        break;
    }
}

static void run_pool(bm_tape *tape, pool_job *j)
{
    size_t tasks = (size_t)bm_tape_threads(tape);
    tasks = tasks < j->g.planes ? tasks : j->g.planes;
    j->chunk = (j->g.planes + tasks - 1) / tasks;
    bm_pool_run(bm_tape_pool(tape), (j->g.planes + j->chunk - 1) / j->chunk, pool_task, j);
}

static void max_pool_forward(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    pool_job j = {.kind = KIND_MAX, .dt = x->dtype, .x = x->data, .u = x->data,
                  .out = n->out->data, .g = node_geom(n, x)};
    run_pool(tape, &j);
}

static void max_grad_forward(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    pool_kind kind = n->op == &bm_op_max_pool2d_grad ? KIND_SCATTER : KIND_GATHER;
    pool_job j = {.kind = kind, .dt = x->dtype, .x = x->data, .u = n->in[1]->data,
                  .out = n->out->data, .g = node_geom(n, x)};
    run_pool(tape, &j);
}

static void avg_pool_forward(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    pool_job j = {.kind = KIND_AVG, .dt = x->dtype, .x = x->data, .out = n->out->data,
                  .g = node_geom(n, x)};
    run_pool(tape, &j);
}

static void avg_adj_forward(bm_tape *tape, bm_node *n)
{
    const bm_tensor *gr = n->in[0];
    pool_params q = *pp_of(n);
    if (q.adaptive) {
        q.size[0] = gr->shape[2];
        q.size[1] = gr->shape[3];
    }
    pool_job j = {.kind = KIND_AVG_ADJ, .dt = gr->dtype, .x = gr->data, .out = n->out->data,
                  .g = geom_of(&q, gr->shape[0], gr->shape[1], pp_of(n)->size[0],
                               pp_of(n)->size[1])};
    run_pool(tape, &j);
}

/* ---- vjps ------------------------------------------------------------- */

/* Record op (arity 1: a; 2: a, b). */
static bm_tensor *rec(bm_tape *t, const bm_op *op, bm_tensor *a, bm_tensor *b,
                      const pool_params *p)
{
    bm_tensor *in[2] = {a, b};
    return bm_tape_apply(t, op, in, op->arity, p);
}

/* dX = max_pool2d_grad(x, G). */
static bm_status max_pool_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = rec(t, &bm_op_max_pool2d_grad, n->in[0], g, pp_of(n));
    return bm_tape_status(t);
}

/* scatter(x, g) is linear in g: dG = gather(x, U), and the reverse. */
static bm_status max_adj_vjp(bm_tape *t, bm_node *n, bm_tensor *u, bm_tensor **dx)
{
    int scatter = n->op == &bm_op_max_pool2d_grad;
    if (bm_op_wants_grad(t, n, 1))
        dx[1] = rec(t, scatter ? &bm_op_max_pool2d_gather : &bm_op_max_pool2d_grad, n->in[0], u,
                    pp_of(n));
    return bm_tape_status(t);
}

/* dX = avg_pool2d_grad(G) with the input's size. */
static bm_status avg_pool_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    pool_params q = *pp_of(n);
    q.size[0] = n->in[0]->shape[2];
    q.size[1] = n->in[0]->shape[3];
    dx[0] = rec(t, &bm_op_avg_pool2d_grad, g, NULL, &q);
    return bm_tape_status(t);
}

/* The adjoint's adjoint: the pool itself. */
static bm_status avg_adj_vjp(bm_tape *t, bm_node *n, bm_tensor *u, bm_tensor **dx)
{
    pool_params q = *pp_of(n);
    if (q.adaptive) {
        q.size[0] = n->in[0]->shape[2];
        q.size[1] = n->in[0]->shape[3];
    }
    dx[0] = rec(t, q.adaptive ? &bm_op_adaptive_avg_pool2d : &bm_op_avg_pool2d, u, NULL, &q);
    return bm_tape_status(t);
}

static void pool_describe(const bm_node *n, char *buf, size_t len)
{
    const pool_params *p = pp_of(n);
    if (p->adaptive)
        snprintf(buf, len, "adaptive, %zux%zu", p->size[0], p->size[1]);
    else
        snprintf(buf, len, "kernel %zux%zu, stride %zux%zu, pad %zux%zu%s", p->kernel[0],
                 p->kernel[1], p->stride[0], p->stride[1], p->pad[0], p->pad[1],
                 p->count_include_pad ? "" : ", exclude pad");
}

const bm_op bm_op_max_pool2d = {
    .name = "max_pool2d", .arity = 1, .params_size = sizeof(pool_params),
    .infer = pool_infer, .forward = max_pool_forward, .vjp = max_pool_vjp,
    .describe = pool_describe,
};
const bm_op bm_op_max_pool2d_grad = {
    .name = "max_pool2d_grad", .arity = 2, .params_size = sizeof(pool_params), .nondiff = 1u,
    .infer = max_adj_infer, .forward = max_grad_forward, .vjp = max_adj_vjp,
    .describe = pool_describe,
};
const bm_op bm_op_max_pool2d_gather = {
    .name = "max_pool2d_gather", .arity = 2, .params_size = sizeof(pool_params), .nondiff = 1u,
    .infer = max_adj_infer, .forward = max_grad_forward, .vjp = max_adj_vjp,
    .describe = pool_describe,
};
const bm_op bm_op_avg_pool2d = {
    .name = "avg_pool2d", .arity = 1, .params_size = sizeof(pool_params),
    .infer = pool_infer, .forward = avg_pool_forward, .vjp = avg_pool_vjp,
    .describe = pool_describe,
};
const bm_op bm_op_adaptive_avg_pool2d = {
    .name = "adaptive_avg_pool2d", .arity = 1, .params_size = sizeof(pool_params),
    .infer = pool_infer, .forward = avg_pool_forward, .vjp = avg_pool_vjp,
    .describe = pool_describe,
};
const bm_op bm_op_avg_pool2d_grad = {
    .name = "avg_pool2d_grad", .arity = 1, .params_size = sizeof(pool_params),
    .infer = avg_adj_infer, .forward = avg_adj_forward, .vjp = avg_adj_vjp,
    .describe = pool_describe,
};

/* ---- builders ------------------------------------------------------------ */

bm_pool_opts bm_pool_defaults(size_t kh, size_t kw)
{
    bm_pool_opts o = {.kernel = {kh, kw}, .stride = {kh, kw}, .pad = {0, 0},
                      .count_include_pad = 1};
    return o;
}

static pool_params params_of(const bm_pool_opts *o)
{
    pool_params p = {.count_include_pad = 1};
    if (o) {
        for (int a = 0; a < 2; a++) {
            p.kernel[a] = o->kernel[a];
            p.stride[a] = o->stride[a];
            p.pad[a] = o->pad[a];
        }
        p.count_include_pad = o->count_include_pad != 0;
    }
    return p;
}

/* A NULL o: the error a builder that needs one reports. */
static int opts_ok(bm_tape *t, const char *fn, const bm_pool_opts *o)
{
    if (!o && t && bm_tape_status(t) == BM_OK)
        bm_tape_fail(t, BM_ERR_NULL, "%s: NULL options (use bm_pool_defaults)", fn);
    return o != NULL;
}

bm_tensor *bm_max_pool2d(bm_tape *t, bm_tensor *x, const bm_pool_opts *o)
{
    pool_params p = params_of(o);
    return opts_ok(t, "bm_max_pool2d", o) ? rec(t, &bm_op_max_pool2d, x, NULL, &p) : NULL;
}

bm_tensor *bm_max_pool2d_grad(bm_tape *t, bm_tensor *x, bm_tensor *g, const bm_pool_opts *o)
{
    pool_params p = params_of(o);
    return opts_ok(t, "bm_max_pool2d_grad", o) ? rec(t, &bm_op_max_pool2d_grad, x, g, &p) : NULL;
}

bm_tensor *bm_max_pool2d_gather(bm_tape *t, bm_tensor *x, bm_tensor *u, const bm_pool_opts *o)
{
    pool_params p = params_of(o);
    return opts_ok(t, "bm_max_pool2d_gather", o) ? rec(t, &bm_op_max_pool2d_gather, x, u, &p)
                                                 : NULL;
}

bm_tensor *bm_avg_pool2d(bm_tape *t, bm_tensor *x, const bm_pool_opts *o)
{
    pool_params p = params_of(o);
    return opts_ok(t, "bm_avg_pool2d", o) ? rec(t, &bm_op_avg_pool2d, x, NULL, &p) : NULL;
}

bm_tensor *bm_adaptive_avg_pool2d(bm_tape *t, bm_tensor *x, size_t oh, size_t ow)
{
    pool_params p = {.adaptive = 1, .size = {oh, ow}, .count_include_pad = 1};
    return rec(t, &bm_op_adaptive_avg_pool2d, x, NULL, &p);
}

bm_tensor *bm_avg_pool2d_grad(bm_tape *t, bm_tensor *g, size_t h, size_t w,
                              const bm_pool_opts *o)
{
    pool_params p = o ? params_of(o) : (pool_params){.adaptive = 1, .count_include_pad = 1};
    p.size[0] = h;
    p.size[1] = w;
    return rec(t, &bm_op_avg_pool2d_grad, g, NULL, &p);
}
