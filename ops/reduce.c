/* reduce.c — sum and mean over one axis or all; vjp: G expanded back.
 * x is viewed as [outer, len, inner] around the reduced axis;
 * out: [outer, inner] (keepdims keeps a 1 in place of the axis). */
#include <stdio.h>

#include "vec_internal.h"

typedef struct reduce_params {
    int axis;     /* normalised by infer; BM_AXIS_ALL for every axis */
    int keepdims;
} reduce_params;

typedef struct span {
    size_t outer, len, inner;
} span;

static span reduce_span(const bm_node *n)
{
    const bm_tensor *x = n->in[0];
    span s = {.outer = 1, .len = x->size, .inner = 1};
    long axis = ((const reduce_params *)n->params)->axis;
    if (axis == BM_AXIS_ALL)
        return s;
    s.len = x->shape[axis];
    s.outer = 1;
    for (long k = 0; k < axis; k++)
        s.outer *= x->shape[k];
    s.inner = x->size / (s.outer * s.len);
    return s;
}

static int reduce_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    bm_tensor *out = n->out;
    char sx[64];
    reduce_params *p = n->params;
    long axis = p->axis;
    int keep = p->keepdims != 0;
    if (axis == BM_AXIS_ALL) {
        out->rank = keep ? x->rank : 0;
        for (int k = 0; k < out->rank; k++)
            out->shape[k] = 1;
        return 0;
    }
    int ax = bm_axis_norm((int)axis, x->rank);
    if (ax < 0) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: %s: axis %ld out of range", n->op->name,
                     BM_SHP(x, sx), axis);
        return -1;
    }
    p->axis = ax;
    out->rank = 0;
    for (int k = 0; k < x->rank; k++) {
        if (k == ax && !keep)
            continue;
        out->shape[out->rank++] = k == ax ? 1 : x->shape[k];
    }
    return 0;
}

static void reduce_forward(bm_node *n, double scale)
{
    span s = reduce_span(n);
    if (n->out->dtype == BM_F64)
        bm_vec()->f64.reduce(n->in[0]->data, n->out->data, s.outer, s.len, s.inner, scale);
    else
        bm_vec()->f32.reduce(n->in[0]->data, n->out->data, s.outer, s.len, s.inner, scale);
}

/* G broadcast back over the reduced axes, times scale. */
static bm_tensor *spread(bm_tape *t, const bm_node *n, bm_tensor *g, double scale)
{
    const bm_tensor *x = n->in[0];
    const reduce_params *p = n->params;
    if (!p->keepdims && p->axis != BM_AXIS_ALL) {
        size_t shape[BM_MAX_RANK];
        for (int k = 0; k < x->rank; k++)
            shape[k] = k == p->axis ? 1 : x->shape[k];
        g = bm_reshape(t, g, x->rank, shape);
    }
    bm_tensor *e = bm_expand(t, g, x->rank, x->shape);
    return scale == 1.0 ? e : bm_scale(t, e, scale);
}

static double mean_scale(const bm_node *n) { return 1.0 / (double)reduce_span(n).len; }

static void sum_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    reduce_forward(n, 1.0);
}

static bm_status sum_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = spread(t, n, g, 1.0);
    return bm_tape_status(t);
}

static void mean_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    reduce_forward(n, mean_scale(n));
}

static bm_status mean_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = spread(t, n, g, mean_scale(n));
    return bm_tape_status(t);
}

int bm_axis_describe(int axis, int keepdims, char *buf, size_t len)
{
    const char *keep = keepdims ? ", keepdims" : "";
    return axis == BM_AXIS_ALL ? snprintf(buf, len, "all%s", keep)
                               : snprintf(buf, len, "axis=%d%s", axis, keep);
}

static void reduce_describe(const bm_node *n, char *buf, size_t len)
{
    const reduce_params *p = n->params;
    bm_axis_describe(p->axis, p->keepdims, buf, len);
}

const bm_op bm_op_sum = {
    .name = "sum", .arity = 1, .params_size = sizeof(reduce_params), .infer = reduce_infer,
    .forward = sum_forward, .vjp = sum_vjp, .describe = reduce_describe,
};
const bm_op bm_op_mean = {
    .name = "mean", .arity = 1, .params_size = sizeof(reduce_params), .infer = reduce_infer,
    .forward = mean_forward, .vjp = mean_vjp, .describe = reduce_describe,
};

static bm_tensor *reduce(bm_tape *t, const bm_op *op, bm_tensor *x, int axis, int keepdims)
{
    reduce_params p = {.axis = axis, .keepdims = keepdims != 0};
    return bm_tape_apply(t, op, &x, 1, &p);
}

bm_tensor *bm_sum(bm_tape *t, bm_tensor *x, int axis, int keepdims)
{
    return reduce(t, &bm_op_sum, x, axis, keepdims);
}

bm_tensor *bm_mean(bm_tape *t, bm_tensor *x, int axis, int keepdims)
{
    return reduce(t, &bm_op_mean, x, axis, keepdims);
}
