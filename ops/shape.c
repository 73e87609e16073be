/* shape.c — transpose (any two axes; the last two by default), reshape,
 * squeeze and unsqueeze.
 * transpose out: x's shape with axes a0, a1 swapped ([..,N,M] for x [..,M,N])
 * reshape out: shape; squeeze: x's without size-1 axes; unsqueeze: x's with
 * a 1 inserted   in: x. */
#include <stdio.h>

#include "view_internal.h"

typedef struct transpose_params {
    int a0, a1; /* the axes swapped, normalised by infer */
} transpose_params;

typedef struct squeeze_params {
    int axis; /* squeeze: BM_AXIS_ALL for every size-1 axis */
} squeeze_params;

typedef struct reshape_params {
    int rank;
    size_t shape[BM_MAX_RANK];
} reshape_params;

static int transpose_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    transpose_params *p = n->params;
    char s[64];
    if (x->rank < 2) {
        bm_tape_fail(tape, BM_ERR_RANK, "bm_transpose: %s: needs rank >= 2", BM_SHP(x, s));
        return -1;
    }
    int a0 = bm_axis_norm(p->a0, x->rank), a1 = bm_axis_norm(p->a1, x->rank);
    if (a0 < 0 || a1 < 0) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_transpose: %s: axes %d, %d out of range",
                     BM_SHP(x, s), p->a0, p->a1);
        return -1;
    }
    p->a0 = a0 < a1 ? a0 : a1;
    p->a1 = a0 < a1 ? a1 : a0;
    bm_same_shape_as(n->out, x);
    n->out->shape[p->a0] = x->shape[p->a1];
    n->out->shape[p->a1] = x->shape[p->a0];
    return 0;
}

#define T float
#define F(name) name##_f32
#include "shape_kernels.inc"
#undef T
#undef F
#define T double
#define F(name) name##_f64
#include "shape_kernels.inc"
#undef T
#undef F

static void transpose_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    const bm_tensor *x = n->in[0];
    const transpose_params *p = n->params;
    if (p->a0 == x->rank - 2 && p->a1 == x->rank - 1) {
        size_t M = x->shape[x->rank - 2], N = x->shape[x->rank - 1], B = x->size / (M * N);
        if (x->dtype == BM_F64)
            transpose_f64(x->data, n->out->data, B, M, N);
        else
            transpose_f32(x->data, n->out->data, B, M, N);
        return;
    }
    /* any other pair (or an axis with itself): x read through swapped strides */
    size_t st[BM_MAX_RANK];
    bm_view_strides(x, st);
    size_t s0 = st[p->a0];
    st[p->a0] = st[p->a1];
    st[p->a1] = s0;
    bm_view v = bm_view_make(x->rank, n->out->shape, st, 0);
    bm_view_read(x->dtype, n->out->data, x->data, &v);
}

/* Its own inverse. */
static bm_status transpose_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    const transpose_params *p = n->params;
    dx[0] = bm_transpose_axes(t, g, p->a0, p->a1);
    return bm_tape_status(t);
}

static void transpose_describe(const bm_node *n, char *buf, size_t len)
{
    const transpose_params *p = n->params;
    snprintf(buf, len, "axes=%d,%d", p->a0, p->a1);
}

static int reshape_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    bm_tensor *out = n->out;
    char s[64];
    const reshape_params *p = n->params;
    bm_error e;
    if (bm_shape_check(p->rank, p->shape, NULL, &e) != BM_OK) {
        bm_tape_fail(tape, e.code, "bm_reshape: %s: %s", BM_SHP(x, s), e.msg);
        return -1;
    }
    size_t size = 1;
    out->rank = p->rank;
    for (int k = 0; k < p->rank; k++) {
        out->shape[k] = p->shape[k];
        size *= out->shape[k];
    }
    if (size != x->size) {
        char so[64];
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_reshape: %s to %s: sizes differ (%zu vs %zu)",
                     BM_SHP(x, s), BM_SHP(out, so), x->size, size);
        return -1;
    }
    return 0;
}

static int detach_infer(bm_tape *tape, bm_node *n)
{
    (void)tape;
    bm_same_shape_as(n->out, n->in[0]);
    return 0;
}

static void reshape_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    memcpy(n->out->data, n->in[0]->data, n->out->size * bm_dtype_size(n->out->dtype));
}

/* reshape, squeeze, unsqueeze: dX = G reshaped to x's shape. */
static bm_status reshape_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    const bm_tensor *x = n->in[0];
    dx[0] = bm_reshape(t, g, x->rank, x->shape);
    return bm_tape_status(t);
}

/* x's shape without axis (or, for BM_AXIS_ALL, every axis) of size 1; an
 * axis of another size stays (torch.squeeze). */
static int squeeze_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    squeeze_params *p = n->params;
    char s[64];
    size_t shape[BM_MAX_RANK];
    int r = 0, ax = p->axis == BM_AXIS_ALL ? BM_AXIS_ALL : bm_axis_norm(p->axis, x->rank);
    if (ax == -1) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_squeeze: %s: axis %d out of range", BM_SHP(x, s),
                     p->axis);
        return -1;
    }
    p->axis = ax;
    for (int k = 0; k < x->rank; k++)
        if (x->shape[k] != 1 || (ax != BM_AXIS_ALL && ax != k))
            shape[r++] = x->shape[k];
    return bm_op_set_output(tape, n, x->dtype, r, shape) == BM_OK ? 0 : -1;
}

/* x's shape with a 1 inserted before axis (−1: at the end). */
static int unsqueeze_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    squeeze_params *p = n->params;
    char s[64];
    int ax = bm_axis_norm(p->axis, x->rank + 1);
    if (ax < 0 || x->rank >= BM_MAX_RANK) {
        bm_tape_fail(tape, ax < 0 ? BM_ERR_ARG : BM_ERR_RANK,
                     "bm_unsqueeze: %s: axis %d %s", BM_SHP(x, s), p->axis,
                     ax < 0 ? "out of range" : "would exceed the largest rank");
        return -1;
    }
    p->axis = ax;
    size_t shape[BM_MAX_RANK];
    for (int k = 0, j = 0; k <= x->rank; k++)
        shape[k] = k == ax ? 1 : x->shape[j++];
    return bm_op_set_output(tape, n, x->dtype, x->rank + 1, shape) == BM_OK ? 0 : -1;
}

static void squeeze_describe(const bm_node *n, char *buf, size_t len)
{
    const squeeze_params *p = n->params;
    if (p->axis == BM_AXIS_ALL)
        snprintf(buf, len, "all");
    else
        snprintf(buf, len, "axis=%d", p->axis);
}

/* The requested shape: "shape=[2,3]". */
static void reshape_describe(const bm_node *n, char *buf, size_t len)
{
    const reshape_params *p = n->params;
    int w = snprintf(buf, len, "shape=[");
    for (int d = 0; d < p->rank && w >= 0 && (size_t)w < len; d++)
        w += snprintf(buf + w, len - (size_t)w, d ? ",%zu" : "%zu", p->shape[d]);
    if (w >= 0 && (size_t)w < len)
        snprintf(buf + w, len - (size_t)w, "]");
}

const bm_op bm_op_transpose = {
    .name = "transpose", .arity = 1, .params_size = sizeof(transpose_params),
    .infer = transpose_infer, .forward = transpose_forward, .vjp = transpose_vjp,
    .describe = transpose_describe,
};
const bm_op bm_op_squeeze = {
    .name = "squeeze", .arity = 1, .params_size = sizeof(squeeze_params),
    .infer = squeeze_infer, .forward = reshape_forward, .vjp = reshape_vjp,
    .describe = squeeze_describe,
};
const bm_op bm_op_unsqueeze = {
    .name = "unsqueeze", .arity = 1, .params_size = sizeof(squeeze_params),
    .infer = unsqueeze_infer, .forward = reshape_forward, .vjp = reshape_vjp,
    .describe = squeeze_describe,
};
const bm_op bm_op_reshape = {
    .name = "reshape", .arity = 1, .params_size = sizeof(reshape_params),
    .infer = reshape_infer, .forward = reshape_forward, .vjp = reshape_vjp,
    .describe = reshape_describe,
};

/* detach: the values of x as a constant (no gradient flows back through
 * it), the stop-gradient of truncated backpropagation through time. */
const bm_op bm_op_detach = {
    .name = "detach", .arity = 1, .nondiff = 1u, .infer = detach_infer,
    .forward = reshape_forward,
};

bm_tensor *bm_transpose(bm_tape *t, bm_tensor *x) { return bm_transpose_axes(t, x, -2, -1); }

bm_tensor *bm_transpose_axes(bm_tape *t, bm_tensor *x, int axis0, int axis1)
{
    transpose_params p = {.a0 = axis0, .a1 = axis1};
    return bm_tape_apply(t, &bm_op_transpose, &x, 1, &p);
}

bm_tensor *bm_detach(bm_tape *t, bm_tensor *x) { return bm_tape_apply(t, &bm_op_detach, &x, 1, NULL); }

bm_tensor *bm_squeeze(bm_tape *t, bm_tensor *x, int axis)
{
    squeeze_params p = {.axis = axis};
    return bm_tape_apply(t, &bm_op_squeeze, &x, 1, &p);
}

bm_tensor *bm_unsqueeze(bm_tape *t, bm_tensor *x, int axis)
{
    squeeze_params p = {.axis = axis};
    return bm_tape_apply(t, &bm_op_unsqueeze, &x, 1, &p);
}

bm_tensor *bm_reshape(bm_tape *t, bm_tensor *x, int rank, const size_t *shape)
{
    reshape_params p = {.rank = rank};
    /* Checked whatever the tape's state: the loop below must not read a NULL
     * shape or write past p.shape (bm_tape_fail keeps an earlier error). */
    if (rank < 0 || rank > BM_MAX_RANK || (rank && !shape)) {
        bm_tape_fail(t, rank > BM_MAX_RANK || rank < 0 ? BM_ERR_RANK : BM_ERR_NULL,
                     "bm_reshape: rank %d%s (must be 0..%d)", rank, shape ? "" : ", shape NULL",
                     BM_MAX_RANK);
        return NULL;
    }
    for (int k = 0; k < rank; k++)
        p.shape[k] = shape[k];
    return bm_tape_apply(t, &bm_op_reshape, &x, 1, &p);
}
