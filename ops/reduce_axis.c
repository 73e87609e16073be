/* reduce_axis.c — reductions along an axis (issue 10): max, min, argmax,
 * argmin, logsumexp, var, std, norm, and cumsum.
 * out: x's shape without the axis (keepdims: with a 1 there; cumsum: x's
 * shape)   in: x; axis (negative from the end, BM_AXIS_ALL for all but
 * cumsum), keepdims, and unbiased (var, std) or reverse (cumsum).
 * Kernels: reduce_axis_kernels.inc, through bm_vec(); vjps in ops. */
#include <stdio.h>

#include "ops_internal.h"
#include "vec_internal.h"

typedef struct axis_params {
    int axis;     /* normalised by infer; BM_AXIS_ALL: every axis */
    int keepdims;
    int flag;     /* var/std: unbiased; cumsum: reverse */
} axis_params;

typedef struct span {
    size_t outer, len, inner;
} span;

static const axis_params *params_of(const bm_node *n) { return n->params; }

static span span_of(const bm_node *n)
{
    const bm_tensor *x = n->in[0];
    int axis = params_of(n)->axis;
    span s = {.outer = 1, .len = x->size, .inner = 1};
    if (axis == BM_AXIS_ALL)
        return s;
    s.len = x->shape[axis];
    for (int k = 0; k < axis; k++)
        s.outer *= x->shape[k];
    s.inner = x->size / (s.outer * s.len);
    return s;
}

/* The reduced shape; normalises the axis. */
static int reduce_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    axis_params *p = n->params;
    char sx[64];
    size_t shape[BM_MAX_RANK];
    int r = 0;
    if (p->axis == BM_AXIS_ALL) {
        for (; p->keepdims && r < x->rank; r++)
            shape[r] = 1;
        return bm_op_set_output(tape, n, x->dtype, r, shape) == BM_OK ? 0 : -1;
    }
    int ax = bm_axis_norm(p->axis, x->rank);
    if (ax < 0) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: %s: axis %d out of range", n->op->name,
                     BM_SHP(x, sx), p->axis);
        return -1;
    }
    p->axis = ax;
    for (int k = 0; k < x->rank; k++)
        if (k != ax || p->keepdims)
            shape[r++] = k == ax ? 1 : x->shape[k];
    return bm_op_set_output(tape, n, x->dtype, r, shape) == BM_OK ? 0 : -1;
}

/* max/min save the one-hot mask of the chosen elements. */
static int extreme_infer(bm_tape *tape, bm_node *n)
{
    if (reduce_infer(tape, n) != 0)
        return -1;
    n->saved_bytes = n->in[0]->size * bm_dtype_size(n->in[0]->dtype);
    return 0;
}

/* var/std need more elements than the correction removes. */
static int var_infer(bm_tape *tape, bm_node *n)
{
    char sx[64];
    if (reduce_infer(tape, n) != 0)
        return -1;
    if (span_of(n).len <= (size_t)(params_of(n)->flag != 0)) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: %s: the unbiased estimate needs 2 or more "
                     "elements along the axis", n->op->name, BM_SHP(n->in[0], sx));
        return -1;
    }
    return 0;
}

static int cumsum_infer(bm_tape *tape, bm_node *n)
{
    axis_params *p = n->params;
    char sx[64];
    int ax = bm_axis_norm(p->axis, n->in[0]->rank);
    if (ax < 0) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_cumsum: %s: axis %d out of range",
                     BM_SHP(n->in[0], sx), p->axis);
        return -1;
    }
    p->axis = ax;
    return bm_op_set_output_like(tape, n, n->in[0]) == BM_OK ? 0 : -1;
}

/* ---- forwards ---------------------------------------------------------- */

static void extreme_forward(bm_node *n, int dir, int want_arg)
{
    span s = span_of(n);
    void *mask = want_arg ? NULL : n->saved, *arg = want_arg ? n->out->data : NULL;
    void *y = want_arg ? NULL : n->out->data;
    /* argmax writes only the index: the values go to no buffer */
    if (n->out->dtype == BM_F64) {
        double *vals = y;
        if (!vals)
            vals = n->scratch;
        bm_vec()->f64.extreme(n->in[0]->data, vals, mask, arg, s.outer, s.len, s.inner, dir);
    } else {
        float *vals = y;
        if (!vals)
            vals = n->scratch;
        bm_vec()->f32.extreme(n->in[0]->data, vals, mask, arg, s.outer, s.len, s.inner, dir);
    }
}

static void max_forward(bm_tape *t, bm_node *n) { (void)t; extreme_forward(n, 1, 0); }
static void min_forward(bm_tape *t, bm_node *n) { (void)t; extreme_forward(n, -1, 0); }
static void argmax_forward(bm_tape *t, bm_node *n) { (void)t; extreme_forward(n, 1, 1); }
static void argmin_forward(bm_tape *t, bm_node *n) { (void)t; extreme_forward(n, -1, 1); }

static int arg_infer(bm_tape *tape, bm_node *n)
{
    if (reduce_infer(tape, n) != 0)
        return -1;
    size_t size = 1; /* the values, which only the scratch holds */
    for (int k = 0; k < n->out->rank; k++)
        size *= n->out->shape[k];
    n->scratch_bytes = size * bm_dtype_size(n->out->dtype);
    return 0;
}

static void logsumexp_forward(bm_tape *t, bm_node *n)
{
    (void)t;
    span s = span_of(n);
    if (n->out->dtype == BM_F64)
        bm_vec()->f64.logsumexp(n->in[0]->data, n->out->data, s.outer, s.len, s.inner);
    else
        bm_vec()->f32.logsumexp(n->in[0]->data, n->out->data, s.outer, s.len, s.inner);
}

static void variance_forward(bm_node *n, int root)
{
    span s = span_of(n);
    int ddof = params_of(n)->flag != 0;
    if (n->out->dtype == BM_F64)
        bm_vec()->f64.variance(n->in[0]->data, n->out->data, s.outer, s.len, s.inner, ddof, root);
    else
        bm_vec()->f32.variance(n->in[0]->data, n->out->data, s.outer, s.len, s.inner, ddof, root);
}

static void var_forward(bm_tape *t, bm_node *n) { (void)t; variance_forward(n, 0); }
static void std_forward(bm_tape *t, bm_node *n) { (void)t; variance_forward(n, 1); }

static void norm_forward(bm_tape *t, bm_node *n)
{
    (void)t;
    span s = span_of(n);
    if (n->out->dtype == BM_F64)
        bm_vec()->f64.l2norm(n->in[0]->data, n->out->data, s.outer, s.len, s.inner);
    else
        bm_vec()->f32.l2norm(n->in[0]->data, n->out->data, s.outer, s.len, s.inner);
}

static void cumsum_forward(bm_tape *t, bm_node *n)
{
    (void)t;
    span s = span_of(n);
    int rev = params_of(n)->flag != 0;
    if (n->out->dtype == BM_F64)
        bm_vec()->f64.cumsum(n->in[0]->data, n->out->data, s.outer, s.len, s.inner, rev);
    else
        bm_vec()->f32.cumsum(n->in[0]->data, n->out->data, s.outer, s.len, s.inner, rev);
}

/* ---- vjps, in ops ------------------------------------------------------ */

/* v (reduced) with the axis kept as 1, then broadcast to x's shape. */
static bm_tensor *spread(bm_tape *t, const bm_node *n, bm_tensor *v)
{
    const bm_tensor *x = n->in[0];
    const axis_params *p = params_of(n);
    if (!p->keepdims && p->axis != BM_AXIS_ALL) {
        size_t shape[BM_MAX_RANK];
        for (int k = 0; k < x->rank; k++)
            shape[k] = k == p->axis ? 1 : x->shape[k];
        v = bm_reshape(t, v, x->rank, shape);
    }
    return bm_expand(t, v, x->rank, x->shape);
}

/* The gradient goes to the chosen element only (the first of ties). */
static bm_status extreme_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    const bm_tensor *x = n->in[0];
    bm_tensor *mask = bm_op_saved_tensor(t, n, 0, x->dtype, x->rank, x->shape);
    dx[0] = bm_mul(t, spread(t, n, g), mask);
    return bm_tape_status(t);
}

/* dX = G·softmax(x) along the axis = G·exp(x − y). */
static bm_status logsumexp_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *x = n->in[0];
    dx[0] = bm_mul(t, spread(t, n, g), bm_exp(t, bm_sub(t, x, spread(t, n, n->out))));
    return bm_tape_status(t);
}

/* dX = gv·2(x − mean)/(len − ddof) for the variance's gradient gv. */
static bm_tensor *var_grad(bm_tape *t, const bm_node *n, bm_tensor *gv)
{
    const axis_params *p = params_of(n);
    bm_tensor *x = n->in[0];
    double k = 2.0 / (double)(span_of(n).len - (size_t)(p->flag != 0));
    bm_tensor *mean = bm_mean(t, x, p->axis, 1);
    bm_tensor *centred = bm_sub(t, x, bm_expand(t, mean, x->rank, x->shape));
    return bm_mul(t, spread(t, n, gv), bm_scale(t, centred, k));
}

static bm_status var_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = var_grad(t, n, g);
    return bm_tape_status(t);
}

/* d √v = G/(2√v), then var's. */
static bm_status std_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = var_grad(t, n, bm_div(t, g, bm_scale(t, n->out, 2.0)));
    return bm_tape_status(t);
}

/* dX = x·G/y, 0 where y = 0 (as torch). */
static bm_status norm_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *ratio = bm_gate(t, n->out, bm_div(t, g, n->out), 0.0, INFINITY, 1);
    dx[0] = bm_mul(t, n->in[0], spread(t, n, ratio));
    return bm_tape_status(t);
}

/* Linear: the running sums of G in the other direction. */
static bm_status cumsum_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    const axis_params *p = params_of(n);
    dx[0] = bm_cumsum(t, g, p->axis, !p->flag);
    return bm_tape_status(t);
}

static void axis_describe(const bm_node *n, char *buf, size_t len)
{
    const axis_params *p = n->params;
    int w = bm_axis_describe(p->axis, p->keepdims, buf, len);
    if (p->flag && w >= 0 && (size_t)w < len)
        snprintf(buf + w, len - (size_t)w, "%s",
                 n->op->forward == cumsum_forward ? ", reverse" : ", unbiased");
}

#define AXIS_OP(op, INFER, VJP, NONDIFF)                                              \
    const bm_op bm_op_##op = {.name = #op, .arity = 1, .nondiff = NONDIFF,            \
                              .params_size = sizeof(axis_params), .infer = INFER,     \
                              .forward = op##_forward, .vjp = VJP,                    \
                              .describe = axis_describe};
AXIS_OP(max, extreme_infer, extreme_vjp, 0)
AXIS_OP(min, extreme_infer, extreme_vjp, 0)
AXIS_OP(argmax, arg_infer, NULL, 1u)
AXIS_OP(argmin, arg_infer, NULL, 1u)
AXIS_OP(logsumexp, reduce_infer, logsumexp_vjp, 0)
AXIS_OP(var, var_infer, var_vjp, 0)
AXIS_OP(std, var_infer, std_vjp, 0)
AXIS_OP(norm, reduce_infer, norm_vjp, 0)
AXIS_OP(cumsum, cumsum_infer, cumsum_vjp, 0)

static bm_tensor *along(bm_tape *t, const bm_op *op, bm_tensor *x, int axis, int keepdims,
                        int flag)
{
    axis_params p = {.axis = axis, .keepdims = keepdims != 0, .flag = flag != 0};
    return bm_tape_apply(t, op, &x, 1, &p);
}

bm_tensor *bm_max(bm_tape *t, bm_tensor *x, int axis, int keepdims)
{
    return along(t, &bm_op_max, x, axis, keepdims, 0);
}

bm_tensor *bm_min(bm_tape *t, bm_tensor *x, int axis, int keepdims)
{
    return along(t, &bm_op_min, x, axis, keepdims, 0);
}

bm_tensor *bm_argmax(bm_tape *t, bm_tensor *x, int axis, int keepdims)
{
    return along(t, &bm_op_argmax, x, axis, keepdims, 0);
}

bm_tensor *bm_argmin(bm_tape *t, bm_tensor *x, int axis, int keepdims)
{
    return along(t, &bm_op_argmin, x, axis, keepdims, 0);
}

bm_tensor *bm_logsumexp(bm_tape *t, bm_tensor *x, int axis, int keepdims)
{
    return along(t, &bm_op_logsumexp, x, axis, keepdims, 0);
}

bm_tensor *bm_var(bm_tape *t, bm_tensor *x, int axis, int unbiased, int keepdims)
{
    return along(t, &bm_op_var, x, axis, keepdims, unbiased);
}

bm_tensor *bm_std(bm_tape *t, bm_tensor *x, int axis, int unbiased, int keepdims)
{
    return along(t, &bm_op_std, x, axis, keepdims, unbiased);
}

bm_tensor *bm_norm(bm_tape *t, bm_tensor *x, int axis, int keepdims)
{
    return along(t, &bm_op_norm, x, axis, keepdims, 0);
}

bm_tensor *bm_cumsum(bm_tape *t, bm_tensor *x, int axis, int reverse)
{
    return along(t, &bm_op_cumsum, x, axis, 0, reverse);
}
