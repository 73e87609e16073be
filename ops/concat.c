/* concat.c — concat (torch.cat) and stack (torch.stack) of n inputs.
 * concat  out: the inputs' shape with axis sizes summed   in: x_k (same
 *         shape off the axis)
 * stack   out: the inputs' shape with an axis of n inserted   in: x_k (one
 *         shape)
 * Each input is written through a view of the output; each vjp slices G
 * back apart, so it differentiates again. */
#include <stdio.h>

#include "view_internal.h"

typedef struct cat_params {
    int axis; /* normalised by infer */
} cat_params;

/* Do x and y agree on every axis but skip (−1: none)? */
static int same_but(const bm_tensor *x, const bm_tensor *y, int skip)
{
    if (x->rank != y->rank)
        return 0;
    for (int k = 0; k < x->rank; k++)
        if (k != skip && x->shape[k] != y->shape[k])
            return 0;
    return 1;
}

/* Inputs agree with input 0 (off the axis, or everywhere for stack). */
static int inputs_agree(bm_tape *tape, const bm_node *n, int skip)
{
    char s0[64], sk[64];
    for (int k = 1; k < n->n_in; k++)
        if (!same_but(n->in[0], n->in[k], skip)) {
            bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: input %d %s does not match input 0 %s%s",
                         n->op->name, k, BM_SHP(n->in[k], sk), BM_SHP(n->in[0], s0),
                         skip >= 0 ? " off the axis" : "");
            return -1;
        }
    return 0;
}

static int concat_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    cat_params *p = n->params;
    char sx[64];
    int ax = bm_axis_norm(p->axis, x->rank);
    if (ax < 0) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_concat: %s: axis %d out of range", BM_SHP(x, sx),
                     p->axis);
        return -1;
    }
    p->axis = ax;
    if (inputs_agree(tape, n, ax))
        return -1;
    size_t shape[BM_MAX_RANK];
    for (int k = 0; k < x->rank; k++)
        shape[k] = x->shape[k];
    for (int k = 1; k < n->n_in; k++)
        shape[ax] += n->in[k]->shape[ax];
    return bm_op_set_output(tape, n, x->dtype, x->rank, shape) == BM_OK ? 0 : -1;
}

static int stack_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    cat_params *p = n->params;
    char sx[64];
    int ax = bm_axis_norm(p->axis, x->rank + 1);
    if (ax < 0 || x->rank >= BM_MAX_RANK) {
        bm_tape_fail(tape, ax < 0 ? BM_ERR_ARG : BM_ERR_RANK, "bm_stack: %s: axis %d %s",
                     BM_SHP(x, sx), p->axis,
                     ax < 0 ? "out of range" : "would exceed the largest rank");
        return -1;
    }
    p->axis = ax;
    if (inputs_agree(tape, n, -1))
        return -1;
    size_t shape[BM_MAX_RANK];
    for (int k = 0, j = 0; k <= x->rank; k++)
        shape[k] = k == ax ? (size_t)n->n_in : x->shape[j++];
    return bm_op_set_output(tape, n, x->dtype, x->rank + 1, shape) == BM_OK ? 0 : -1;
}

/* Write each input into out [.., sum or n along axis, ..]: the output as
 * [outer, len, inner] around the axis, input k at [.., at_k.., ..]. */
static void place_inputs(const bm_node *n, int axis)
{
    const bm_tensor *o = n->out;
    size_t outer = 1, inner = 1, at = 0;
    for (int k = 0; k < axis; k++)
        outer *= o->shape[k];
    for (int k = axis + 1; k < o->rank; k++)
        inner *= o->shape[k];
    size_t len = o->shape[axis];
    for (int k = 0; k < n->n_in; k++) {
        size_t lk = n->in[k]->size / (outer * inner); /* 1 for stack */
        size_t shape[3] = {outer, lk, inner}, st[3] = {len * inner, inner, 1};
        bm_view v = bm_view_make(3, shape, st, at * inner);
        bm_view_write(o->dtype, o->data, n->in[k]->data, &v);
        at += lk;
    }
}

/* concat and stack alike. */
static void cat_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    place_inputs(n, ((const cat_params *)n->params)->axis);
}

/* dX_k = G sliced at x_k's part of the axis. */
static bm_status concat_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    int ax = ((const cat_params *)n->params)->axis;
    long at = 0;
    for (int k = 0; k < n->n_in; k++) {
        long len = (long)n->in[k]->shape[ax];
        if (bm_op_wants_grad(t, n, k))
            dx[k] = bm_slice_axis(t, g, ax, at, at + len, 1);
        at += len;
    }
    return bm_tape_status(t);
}

/* dX_k = G[.., k, ..] with the axis squeezed. */
static bm_status stack_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    int ax = ((const cat_params *)n->params)->axis;
    for (int k = 0; k < n->n_in; k++)
        if (bm_op_wants_grad(t, n, k))
            dx[k] = bm_squeeze(t, bm_slice_axis(t, g, ax, k, k + 1, 1), ax);
    return bm_tape_status(t);
}

static void cat_describe(const bm_node *n, char *buf, size_t len)
{
    snprintf(buf, len, "axis=%d, n=%d", ((const cat_params *)n->params)->axis, n->n_in);
}

const bm_op bm_op_concat = {
    .name = "concat", .arity = BM_OP_VARIADIC, .params_size = sizeof(cat_params),
    .infer = concat_infer, .forward = cat_forward, .vjp = concat_vjp,
    .describe = cat_describe,
};
const bm_op bm_op_stack = {
    .name = "stack", .arity = BM_OP_VARIADIC, .params_size = sizeof(cat_params),
    .infer = stack_infer, .forward = cat_forward, .vjp = stack_vjp,
    .describe = cat_describe,
};

bm_tensor *bm_concat(bm_tape *t, int n, bm_tensor *const *xs, int axis)
{
    cat_params p = {.axis = axis};
    return bm_tape_apply(t, &bm_op_concat, xs, n, &p);
}

bm_tensor *bm_stack(bm_tape *t, int n, bm_tensor *const *xs, int axis)
{
    cat_params p = {.axis = axis};
    return bm_tape_apply(t, &bm_op_stack, xs, n, &p);
}
