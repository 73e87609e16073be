/* prod.c — product along an axis, or of every element (torch.prod).
 * out: x's shape without the axis (keepdims: a 1 there; BM_AXIS_ALL: [])
 * in: x; axis, keepdims.
 * The gradient is G·Π_{j≠i} x_j, formed without division, so zeros (one or
 * several) are exact: the products of the elements before and after each
 * one are log-depth scans of muls over slices padded with 1 (pad, slice,
 * mul), so the vjp differentiates again at every order, zeros included. */
#include <stdio.h>

#include "ops_internal.h"
#include "vec_internal.h"

typedef struct prod_params {
    int axis; /* normalised by infer; BM_AXIS_ALL: every element */
    int keepdims;
} prod_params;

static int prod_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    prod_params *p = n->params;
    char sx[64];
    size_t shape[BM_MAX_RANK];
    int r = 0, ax = p->axis == BM_AXIS_ALL ? BM_AXIS_ALL : bm_axis_norm(p->axis, x->rank);
    if (ax == -1) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_prod: %s: axis %d out of range", BM_SHP(x, sx),
                     p->axis);
        return -1;
    }
    p->axis = ax;
    for (int k = 0; k < x->rank; k++)
        if (ax != BM_AXIS_ALL && (k != ax || p->keepdims))
            shape[r++] = k == ax ? 1 : x->shape[k];
        else if (ax == BM_AXIS_ALL && p->keepdims)
            shape[r++] = 1;
    return bm_op_set_output(tape, n, x->dtype, r, shape) == BM_OK ? 0 : -1;
}

static void prod_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    const bm_tensor *x = n->in[0];
    int ax = ((const prod_params *)n->params)->axis;
    size_t outer = 1, len = x->size, inner = 1;
    if (ax != BM_AXIS_ALL) {
        for (int k = 0; k < ax; k++)
            outer *= x->shape[k];
        len = x->shape[ax];
        inner = x->size / (outer * len);
    }
    if (x->dtype == BM_F64)
        bm_vec()->f64.prod(x->data, n->out->data, outer, len, inner);
    else
        bm_vec()->f32.prod(x->data, n->out->data, outer, len, inner);
}

/* y shifted by d along axis (towards the end, or the start when rev), the
 * vacated places 1. */
static bm_tensor *shift(bm_tape *t, bm_tensor *y, int axis, long len, long d, int rev)
{
    long before[BM_MAX_RANK] = {0}, after[BM_MAX_RANK] = {0};
    (rev ? after : before)[axis] = d;
    bm_tensor *kept = rev ? bm_slice_axis(t, y, axis, d, len, 1)
                          : bm_slice_axis(t, y, axis, 0, len - d, 1);
    return bm_pad(t, kept, before, after, 1.0);
}

/* Exclusive running products of x along axis (len ≥ 2): Π_{j<i} x_j, or
 * Π_{j>i} x_j when rev — a Hillis–Steele scan of the shifted input. */
static bm_tensor *exclusive_prod(bm_tape *t, bm_tensor *x, int axis, long len, int rev)
{
    bm_tensor *y = shift(t, x, axis, len, 1, rev);
    for (long d = 1; d < len && y; d *= 2)
        y = bm_mul(t, y, shift(t, y, axis, len, d, rev));
    return y;
}

/* dX = G·(Π_{j<i} x_j)·(Π_{j>i} x_j) along the axis. */
static bm_status prod_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *x = n->in[0];
    const prod_params *p = n->params;
    size_t ones[BM_MAX_RANK], keep[BM_MAX_RANK];
    int all = p->axis == BM_AXIS_ALL, ax = all ? 0 : p->axis;
    for (int k = 0; k < x->rank; k++) {
        ones[k] = 1;
        keep[k] = k == ax ? 1 : x->shape[k];
    }
    /* G with x's rank (1 along the reduced axes), broadcast to x */
    bm_tensor *gx = bm_expand(t, bm_reshape(t, g, x->rank, all ? ones : keep), x->rank, x->shape);
    bm_tensor *v = all ? bm_reshape(t, x, 1, &x->size) : x;
    long len = (long)(all ? x->size : x->shape[ax]);
    if (len < 2) {
        dx[0] = gx; /* the product of no other element is 1 */
        return bm_tape_status(t);
    }
    bm_tensor *others = bm_mul(t, exclusive_prod(t, v, ax, len, 0), exclusive_prod(t, v, ax, len, 1));
    if (all)
        others = bm_reshape(t, others, x->rank, x->shape);
    dx[0] = bm_mul(t, gx, others);
    return bm_tape_status(t);
}

static void prod_describe(const bm_node *n, char *buf, size_t len)
{
    const prod_params *p = n->params;
    bm_axis_describe(p->axis, p->keepdims, buf, len);
}

const bm_op bm_op_prod = {
    .name = "prod", .arity = 1, .params_size = sizeof(prod_params), .infer = prod_infer,
    .forward = prod_forward, .vjp = prod_vjp, .describe = prod_describe,
};

bm_tensor *bm_prod(bm_tape *t, bm_tensor *x, int axis, int keepdims)
{
    prod_params p = {.axis = axis, .keepdims = keepdims != 0};
    return bm_tape_apply(t, &bm_op_prod, &x, 1, &p);
}
