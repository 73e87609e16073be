/* softmax.c — softmax and log-softmax over the last axis.
 * out: same shape as x [R,C] (R = product of leading axes)   in: x. */
#include "vec_internal.h"

static int rows_infer(bm_tape *tape, bm_node *n)
{
    char s[64];
    if (n->in[0]->rank < 1) {
        bm_tape_fail(tape, BM_ERR_RANK, "bm_%s: %s: needs rank >= 1", n->op->name,
                     BM_SHP(n->in[0], s));
        return -1;
    }
    bm_same_shape_as(n->out, n->in[0]);
    return 0;
}

static size_t last_dim(const bm_tensor *t) { return t->shape[t->rank - 1]; }


/* y = softmax(x) (want_log: log_softmax) row by row. */
static void softmax_rows(bm_node *n, int want_log)
{
    size_t C = last_dim(n->in[0]), R = n->out->size / C;
    if (n->out->dtype == BM_F64)
        bm_vec()->f64.softmax(n->in[0]->data, n->out->data, R, C, want_log);
    else
        bm_vec()->f32.softmax(n->in[0]->data, n->out->data, R, C, want_log);
}

static void softmax_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    softmax_rows(n, 0);
}

static void log_softmax_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    softmax_rows(n, 1);
}

static int grad_infer(bm_tape *tape, bm_node *n)
{
    char ss[64], sg[64];
    if (!bm_tensor_same_shape(n->in[0], n->in[1]) || n->in[0]->rank < 1) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_softmax_grad: s %s and g %s must be one shape of rank >= 1",
                     BM_SHP(n->in[0], ss), BM_SHP(n->in[1], sg));
        return -1;
    }
    bm_same_shape_as(n->out, n->in[0]);
    return 0;
}

/* The softmax Jacobian-vector product, row by row:
 * out = s ⊙ (g − Σ g·s)   in: s (a softmax), g; both [..,C]. */
static void softmax_grad_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    size_t C = last_dim(n->in[0]), R = n->out->size / C;
    if (n->out->dtype == BM_F64)
        bm_vec()->f64.softmax_grad(n->in[0]->data, n->in[1]->data, n->out->data, R, C);
    else
        bm_vec()->f32.softmax_grad(n->in[0]->data, n->in[1]->data, n->out->data, R, C);
}

static bm_status softmax_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_softmax_grad(t, n->out, g);
    return bm_tape_status(t);
}

/* dx = G − softmax(x)·Σ G, softmax(x) = exp(out). */
static bm_status log_softmax_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_sub(t, g, bm_mul(t, bm_exp(t, n->out), bm_sum(t, g, -1, 1)));
    return bm_tape_status(t);
}

/* out = s ⊙ (g − r), r = Σ g·s per row. Its Jacobian in g is symmetric
 * (dG = softmax_grad(s, U)); in s: dS = U ⊙ (g − r) − g·Σ U·s. */
static bm_status softmax_grad_vjp(bm_tape *t, bm_node *n, bm_tensor *u, bm_tensor **dx)
{
    bm_tensor *s = n->in[0], *g = n->in[1];
    if (bm_op_wants_grad(t, n, 1))
        dx[1] = bm_softmax_grad(t, s, u);
    if (bm_op_wants_grad(t, n, 0)) {
        bm_tensor *r = bm_sum(t, bm_mul(t, g, s), -1, 1);
        bm_tensor *us = bm_sum(t, bm_mul(t, u, s), -1, 1);
        dx[0] = bm_sub(t, bm_mul(t, u, bm_sub(t, g, r)), bm_mul(t, g, us));
    }
    return bm_tape_status(t);
}

const bm_op bm_op_softmax = {
    .name = "softmax", .arity = 1, .infer = rows_infer, .forward = softmax_forward,
    .vjp = softmax_vjp,
};
const bm_op bm_op_log_softmax = {
    .name = "log_softmax", .arity = 1, .infer = rows_infer, .forward = log_softmax_forward,
    .vjp = log_softmax_vjp,
};
const bm_op bm_op_softmax_grad = {
    .name = "softmax_grad", .arity = 2, .infer = grad_infer, .forward = softmax_grad_forward,
    .vjp = softmax_grad_vjp,
};

bm_tensor *bm_softmax(bm_tape *t, bm_tensor *x)
{
    return bm_tape_apply(t, &bm_op_softmax, &x, 1, NULL);
}

bm_tensor *bm_log_softmax(bm_tape *t, bm_tensor *x)
{
    return bm_tape_apply(t, &bm_op_log_softmax, &x, 1, NULL);
}

bm_tensor *bm_softmax_grad(bm_tape *t, bm_tensor *s, bm_tensor *g)
{
    bm_tensor *in[2] = {s, g};
    return bm_tape_apply(t, &bm_op_softmax_grad, in, 2, NULL);
}
