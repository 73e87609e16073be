/* slice.c — slice (x[start:stop:step] per axis), its backward primitive
 * slice_backward, pad (constant) and the split builder.
 * slice           out: per axis ceil((stop − start)/step)   in: x
 * slice_backward  out: shape (zeros, g placed at the slice)  in: g
 * pad             out: x's shape + before + after (value)    in: x
 * Ranges follow Python's: negative start/stop count from the end and are
 * clamped to the axis; step ≥ 1 (torch). slice's vjp is slice_backward and
 * slice_backward's and pad's are slices, so every order differentiates. */
#include <limits.h>
#include <stdio.h>

#include "view_internal.h"

typedef struct slice_params {
    int rank;                   /* slice_backward: its output's rank and shape */
    size_t shape[BM_MAX_RANK];
    int n;                      /* ranges given (the others take the whole axis) */
    bm_range r[BM_MAX_RANK];    /* normalised by infer: 0 ≤ start < stop ≤ size */
} slice_params;

typedef struct pad_params {
    long before[BM_MAX_RANK], after[BM_MAX_RANK];
    double value;
} pad_params;

/* Normalise the ranges of p against shape (rank axes), writing the slice's
 * shape to out; fn names the op in messages. */
static int ranges_norm(bm_tape *tape, const char *fn, slice_params *p, int rank,
                       const size_t *shape, const char *shp, size_t *out)
{
    if (p->n > rank) {
        bm_tape_fail(tape, BM_ERR_RANK, "%s: %s: %d ranges for rank %d", fn, shp, p->n, rank);
        return -1;
    }
    for (int k = 0; k < rank; k++) {
        bm_range *r = &p->r[k];
        long size = (long)shape[k];
        if (k >= p->n)
            *r = (bm_range){.start = 0, .stop = size, .step = 1};
        if (r->step < 1) {
            bm_tape_fail(tape, BM_ERR_ARG, "%s: %s: axis %d: step %ld must be >= 1", fn, shp, k,
                         r->step);
            return -1;
        }
        long a = r->start < 0 ? r->start + size : r->start;
        long b = r->stop < 0 ? r->stop + size : r->stop;
        a = a < 0 ? 0 : a > size ? size : a;
        b = b < 0 ? 0 : b > size ? size : b;
        if (b <= a) {
            bm_tape_fail(tape, BM_ERR_SIZE, "%s: %s: axis %d: range %ld:%ld:%ld is empty", fn,
                         shp, k, r->start, r->stop, r->step);
            return -1;
        }
        *r = (bm_range){.start = a, .stop = b, .step = r->step};
        out[k] = (size_t)(1 + (b - a - 1) / r->step); /* no overflow for a huge step */
    }
    p->n = rank;
    return 0;
}

/* The view of the slice inside a tensor of shape (rank axes). */
static bm_view slice_view(const slice_params *p, int rank, const size_t *shape,
                          const size_t *out_shape)
{
    size_t st[BM_MAX_RANK], s = 1, off = 0;
    for (int k = rank - 1; k >= 0; k--) {
        st[k] = s * (size_t)p->r[k].step;
        off += s * (size_t)p->r[k].start;
        s *= shape[k];
    }
    return bm_view_make(rank, out_shape, st, off);
}

static int slice_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    char sx[64];
    size_t shape[BM_MAX_RANK];
    if (ranges_norm(tape, "bm_slice", n->params, x->rank, x->shape, BM_SHP(x, sx), shape))
        return -1;
    return bm_op_set_output(tape, n, x->dtype, x->rank, shape) == BM_OK ? 0 : -1;
}

/* out [slice] = x [shape] through the slice's view. */
static void slice_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    const bm_tensor *x = n->in[0];
    bm_view v = slice_view(n->params, x->rank, x->shape, n->out->shape);
    bm_view_read(x->dtype, n->out->data, x->data, &v);
}

static bm_status slice_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    const slice_params *p = n->params;
    const bm_tensor *x = n->in[0];
    dx[0] = bm_slice_backward(t, g, x->rank, x->shape, p->n, p->r);
    return bm_tape_status(t);
}

static int slice_backward_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *g = n->in[0];
    slice_params *p = n->params;
    char sg[64], so[64];
    if (bm_op_set_output(tape, n, g->dtype, p->rank, p->shape) != BM_OK)
        return -1;
    size_t shape[BM_MAX_RANK];
    if (ranges_norm(tape, "bm_slice_backward", p, p->rank, p->shape, BM_SHP(n->out, so), shape))
        return -1;
    int fits = g->rank == p->rank;
    for (int k = 0; fits && k < p->rank; k++)
        fits = g->shape[k] == shape[k];
    if (!fits) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_slice_backward: g %s is not the shape of the slice "
                     "of %s", BM_SHP(g, sg), BM_SHP(n->out, so));
        return -1;
    }
    return 0;
}

/* out [shape] = 0, with g written through the slice's view. */
static void slice_backward_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    const bm_tensor *g = n->in[0];
    bm_tensor *o = n->out;
    memset(o->data, 0, o->size * bm_dtype_size(o->dtype));
    bm_view v = slice_view(n->params, o->rank, o->shape, g->shape);
    bm_view_write(o->dtype, o->data, g->data, &v);
}

static bm_status slice_backward_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    const slice_params *p = n->params;
    dx[0] = bm_slice(t, g, p->n, p->r);
    return bm_tape_status(t);
}

static void slice_describe(const bm_node *n, char *buf, size_t len)
{
    const slice_params *p = n->params;
    size_t pos = 0;
    buf[0] = '\0';
    for (int k = 0; k < p->n && pos < len; k++)
        pos += (size_t)snprintf(buf + pos, len - pos, "%s%ld:%ld:%ld", k ? "," : "",
                                p->r[k].start, p->r[k].stop, p->r[k].step);
}

static int pad_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    const pad_params *p = n->params;
    char sx[64];
    size_t shape[BM_MAX_RANK];
    for (int k = 0; k < x->rank; k++) {
        if (p->before[k] < 0 || p->after[k] < 0) {
            bm_tape_fail(tape, BM_ERR_ARG, "bm_pad: %s: axis %d: padding %ld, %ld must be >= 0",
                         BM_SHP(x, sx), k, p->before[k], p->after[k]);
            return -1;
        }
        /* each below the element limit, so the sum cannot wrap around */
        if ((size_t)p->before[k] > BM_MAX_ELEMENTS || (size_t)p->after[k] > BM_MAX_ELEMENTS) {
            bm_tape_fail(tape, BM_ERR_SIZE, "bm_pad: %s: axis %d: padding %ld, %ld is too large",
                         BM_SHP(x, sx), k, p->before[k], p->after[k]);
            return -1;
        }
        shape[k] = x->shape[k] + (size_t)p->before[k] + (size_t)p->after[k];
    }
    return bm_op_set_output(tape, n, x->dtype, x->rank, shape) == BM_OK ? 0 : -1;
}

/* out [x + before + after] = value, x written at offset before. */
static void pad_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    const bm_tensor *x = n->in[0];
    bm_tensor *o = n->out;
    const pad_params *p = n->params;
    bm_fill(o->dtype, o->data, o->size, p->value);
    size_t st[BM_MAX_RANK], off = 0;
    bm_view_strides(o, st);
    for (int k = 0; k < o->rank; k++)
        off += st[k] * (size_t)p->before[k];
    bm_view v = bm_view_make(x->rank, x->shape, st, off);
    bm_view_write(o->dtype, o->data, x->data, &v);
}

/* dX = G with the padding sliced off. */
static bm_status pad_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    const bm_tensor *x = n->in[0];
    const pad_params *p = n->params;
    bm_range r[BM_MAX_RANK];
    for (int k = 0; k < x->rank; k++)
        r[k] = (bm_range){.start = p->before[k], .stop = p->before[k] + (long)x->shape[k],
                          .step = 1};
    dx[0] = bm_slice(t, g, x->rank, r);
    return bm_tape_status(t);
}

static void pad_describe(const bm_node *n, char *buf, size_t len)
{
    const pad_params *p = n->params;
    size_t pos = (size_t)snprintf(buf, len, "value=%g", p->value);
    for (int k = 0; k < n->in[0]->rank && pos < len; k++)
        pos += (size_t)snprintf(buf + pos, len - pos, " %ld+%ld", p->before[k], p->after[k]);
}

const bm_op bm_op_slice = {
    .name = "slice", .arity = 1, .params_size = sizeof(slice_params), .infer = slice_infer,
    .forward = slice_forward, .vjp = slice_vjp, .describe = slice_describe,
};
const bm_op bm_op_slice_backward = {
    .name = "slice_backward", .arity = 1, .params_size = sizeof(slice_params),
    .infer = slice_backward_infer, .forward = slice_backward_forward,
    .vjp = slice_backward_vjp, .describe = slice_describe,
};
const bm_op bm_op_pad = {
    .name = "pad", .arity = 1, .params_size = sizeof(pad_params), .infer = pad_infer,
    .forward = pad_forward, .vjp = pad_vjp, .describe = pad_describe, .flags = BM_OP_NONFINITE_OK,
};

/* Copy n ranges into p (checked before they are read). */
static int ranges_in(bm_tape *t, const char *fn, slice_params *p, int n, const bm_range *r)
{
    if (n < 0 || n > BM_MAX_RANK || (n && !r)) {
        bm_tape_fail(t, r || !n ? BM_ERR_RANK : BM_ERR_NULL, "%s: %d ranges%s (must be 0..%d)",
                     fn, n, r || !n ? "" : ", ranges NULL", BM_MAX_RANK);
        return -1;
    }
    p->n = n;
    for (int k = 0; k < n; k++)
        p->r[k] = r[k];
    return 0;
}

bm_tensor *bm_slice(bm_tape *t, bm_tensor *x, int n, const bm_range *ranges)
{
    slice_params p = {.rank = 0};
    if (ranges_in(t, "bm_slice", &p, n, ranges))
        return NULL;
    return bm_tape_apply(t, &bm_op_slice, &x, 1, &p);
}

bm_tensor *bm_slice_axis(bm_tape *t, bm_tensor *x, int axis, long start, long stop, long step)
{
    bm_range r[BM_MAX_RANK];
    char sx[64];
    int ax = x ? bm_axis_norm(axis, x->rank) : 0;
    if (ax < 0) {
        bm_tape_fail(t, BM_ERR_ARG, "bm_slice: %s: axis %d out of range", BM_SHP(x, sx), axis);
        return NULL;
    }
    for (int k = 0; k < ax; k++)
        r[k] = (bm_range){.start = 0, .stop = LONG_MAX, .step = 1};
    r[ax] = (bm_range){.start = start, .stop = stop, .step = step};
    return bm_slice(t, x, ax + 1, r);
}

bm_tensor *bm_slice_backward(bm_tape *t, bm_tensor *g, int rank, const size_t *shape, int n,
                             const bm_range *ranges)
{
    slice_params p = {.rank = rank};
    bm_error e;
    if (bm_shape_check(rank, shape, NULL, &e) != BM_OK) {
        bm_tape_fail(t, e.code, "bm_slice_backward: %s", e.msg);
        return NULL;
    }
    for (int k = 0; k < rank; k++)
        p.shape[k] = shape[k];
    if (ranges_in(t, "bm_slice_backward", &p, n, ranges))
        return NULL;
    return bm_tape_apply(t, &bm_op_slice_backward, &g, 1, &p);
}

bm_tensor *bm_pad(bm_tape *t, bm_tensor *x, const long *before, const long *after, double value)
{
    pad_params p = {.value = value};
    if (x && x->rank && (!before || !after)) {
        bm_tape_fail(t, BM_ERR_NULL, "bm_pad: before or after is NULL");
        return NULL;
    }
    for (int k = 0; x && k < x->rank; k++) {
        p.before[k] = before[k];
        p.after[k] = after[k];
    }
    return bm_tape_apply(t, &bm_op_pad, &x, 1, &p);
}

bm_status bm_split(bm_tape *t, bm_tensor *x, int axis, int n, const size_t *sizes,
                   bm_tensor **out)
{
    char sx[64];
    if (!t)
        return BM_ERR_NULL;
    if (bm_tape_status(t) != BM_OK)
        return bm_tape_status(t);
    if (!x || !sizes || !out || n < 1)
        return bm_tape_fail(t, n < 1 ? BM_ERR_ARG : BM_ERR_NULL,
                            "bm_split: %s, %d parts", x ? "sizes or out NULL" : "x is NULL", n);
    int ax = bm_axis_norm(axis, x->rank);
    size_t total = 0;
    for (int k = 0; ax >= 0 && k < n && total <= x->shape[ax]; k++)
        total = sizes[k] && sizes[k] <= x->shape[ax] - total ? total + sizes[k] : x->shape[ax] + 1;
    if (ax < 0 || total != x->shape[ax])
        return bm_tape_fail(t, ax < 0 ? BM_ERR_ARG : BM_ERR_SHAPE,
                            "bm_split: %s: axis %d %s", BM_SHP(x, sx), axis,
                            ax < 0 ? "out of range"
                                   : "is not the sum of the sizes (each >= 1)");
    long at = 0;
    for (int k = 0; k < n; k++) {
        out[k] = bm_slice_axis(t, x, ax, at, at + (long)sizes[k], 1);
        at += (long)sizes[k];
    }
    return bm_tape_status(t);
}
