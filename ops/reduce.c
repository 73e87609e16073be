/* reduce.c — sum and mean over one axis or all.
 * x is viewed as [outer, len, inner] around the reduced axis;
 * out: [outer, inner] (keepdims keeps a 1 in place of the axis). */
#include "ops_internal.h"

enum { P_AXIS = 0, P_KEEPDIMS = 1 };

typedef struct span {
    size_t outer, len, inner;
} span;

static span reduce_span(const bm_node *n)
{
    const bm_tensor *x = n->in[0];
    span s = {1, x->size, 1};
    long axis = n->params.i[P_AXIS];
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
    long axis = n->params.i[P_AXIS];
    int keep = n->params.i[P_KEEPDIMS] != 0;
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
    n->params.i[P_AXIS] = ax;
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
    BM_TYPED(n->out->dtype, const T *X = n->in[0]->data; T *Y = n->out->data;
             for (size_t o = 0; o < s.outer; o++) {
                 T *y = Y + o * s.inner;
                 for (size_t i = 0; i < s.inner; i++)
                     y[i] = 0;
                 for (size_t l = 0; l < s.len; l++) {
                     const T *x = X + (o * s.len + l) * s.inner;
                     for (size_t i = 0; i < s.inner; i++)
                         y[i] += x[i];
                 }
                 for (size_t i = 0; i < s.inner; i++)
                     y[i] *= (T)scale;
             });
}

static void reduce_backward(bm_tape *tape, bm_node *n, double scale)
{
    span s = reduce_span(n);
    BM_TYPED(n->out->dtype, T *GX = bm_grad_buf(tape, n->in[0]); if (!GX) break;
             const T *G = n->out->grad;
             for (size_t o = 0; o < s.outer; o++)
                 for (size_t l = 0; l < s.len; l++) {
                     T *gx = GX + (o * s.len + l) * s.inner;
                     const T *g = G + o * s.inner;
                     for (size_t i = 0; i < s.inner; i++)
                         gx[i] += g[i] * (T)scale;
                 });
}

static double mean_scale(const bm_node *n) { return 1.0 / (double)reduce_span(n).len; }

static void sum_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    reduce_forward(n, 1.0);
}

static void sum_backward(bm_tape *tape, bm_node *n) { reduce_backward(tape, n, 1.0); }

static void mean_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    reduce_forward(n, mean_scale(n));
}

static void mean_backward(bm_tape *tape, bm_node *n)
{
    reduce_backward(tape, n, mean_scale(n));
}

const bm_op bm_op_sum = {"sum", 1, 0, reduce_infer, sum_forward, sum_backward};
const bm_op bm_op_mean = {"mean", 1, 0, reduce_infer, mean_forward, mean_backward};

static bm_tensor *reduce(bm_tape *t, const bm_op *op, bm_tensor *x, int axis, int keepdims)
{
    bm_op_params p = {{0.0, 0.0}, {axis, keepdims}, NULL};
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
