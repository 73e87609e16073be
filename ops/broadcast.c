/* broadcast.c — expand (broadcast_to) and sum_to, each other's vjp.
 * expand  out: shape (x broadcasts to it)   in: x
 * sum_to  out: shape (broadcasts to x)      in: x — x summed over the axes
 *         broadcasting would add, in x's element order (a dense layer's db
 *         is sum_to [M,N] -> [N]: column sums, row by row).
 * Both follow NumPy's rules: shapes aligned on the right, size-1 axes
 * stretch. sum_to accumulates into its output when asked (a leaf's
 * gradient written in place). */
#include <stdio.h>

#include "vec_internal.h"

typedef struct shape_params {
    int rank;
    size_t shape[BM_MAX_RANK];
} shape_params;

/* Does small broadcast to big (NumPy rules)? */
static int broadcasts_to(const bm_tensor *small, const bm_tensor *big)
{
    if (small->rank > big->rank)
        return 0;
    for (int i = 0; i < small->rank; i++) {
        size_t ds = small->shape[small->rank - 1 - i], db = big->shape[big->rank - 1 - i];
        if (ds != db && ds != 1)
            return 0;
    }
    return 1;
}

/* Out of params' shape; `from` must broadcast to `to` (one is the output). */
static int shape_infer(bm_tape *tape, bm_node *n, int out_is_big)
{
    const shape_params *p = n->params;
    char sx[64], so[64];
    if (bm_op_set_output(tape, n, n->in[0]->dtype, p->rank, p->shape) != BM_OK)
        return -1;
    const bm_tensor *x = n->in[0], *o = n->out;
    if (!(out_is_big ? broadcasts_to(x, o) : broadcasts_to(o, x))) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: %s to %s: shapes do not broadcast", n->op->name,
                     BM_SHP(x, sx), BM_SHP(o, so));
        return -1;
    }
    return 0;
}

static int expand_infer(bm_tape *tape, bm_node *n) { return shape_infer(tape, n, 1); }
static int sum_to_infer(bm_tape *tape, bm_node *n) { return shape_infer(tape, n, 0); }

/* Padded-to-rank-4 shape of big and strides of small against it. */
static void strides(const bm_tensor *small, const bm_tensor *big, size_t *shape, size_t *st)
{
    size_t stride = 1;
    for (int k = BM_MAX_RANK - 1; k >= 0; k--) {
        int sax = k - (BM_MAX_RANK - small->rank), bax = k - (BM_MAX_RANK - big->rank);
        size_t ds = sax >= 0 ? small->shape[sax] : 1, db = bax >= 0 ? big->shape[bax] : 1;
        shape[k] = db;
        st[k] = (ds == 1 && db != 1) ? 0 : stride;
        stride *= ds;
    }
}


/* out [shape] = x broadcast. */
static void expand_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    size_t sh[BM_MAX_RANK], st[BM_MAX_RANK];
    strides(n->in[0], n->out, sh, st);
    if (n->out->dtype == BM_F64)
        bm_vec()->f64.expand(n->in[0]->data, n->out->data, sh, st);
    else
        bm_vec()->f32.expand(n->in[0]->data, n->out->data, sh, st);
}

/* out [shape] (+)= x summed over broadcast axes. */
static void sum_to_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    const bm_tensor *x = n->in[0], *o = n->out;
    size_t esz = bm_dtype_size(o->dtype);
    if (!n->accumulate)
        memset(o->data, 0, o->size * esz);
    size_t N = x->rank ? x->shape[x->rank - 1] : 1;
    int row = o->size == N && o->rank >= 1 && o->shape[o->rank - 1] == N;
    if (row) {
        if (o->dtype == BM_F64)
            bm_vec()->f64.col_sums(o->data, x->data, x->size / N, N);
        else
            bm_vec()->f32.col_sums(o->data, x->data, x->size / N, N);
        return;
    }
    size_t sh[BM_MAX_RANK], st[BM_MAX_RANK];
    strides(o, x, sh, st);
    if (o->dtype == BM_F64)
        bm_vec()->f64.sum_to(x->data, o->data, sh, st);
    else
        bm_vec()->f32.sum_to(x->data, o->data, sh, st);
}

static bm_status expand_vjp(bm_tape *tape, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_grad_to(tape, g, n->in[0]);
    return bm_tape_status(tape);
}

static bm_status sum_to_vjp(bm_tape *tape, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    const bm_tensor *x = n->in[0];
    dx[0] = bm_expand(tape, g, x->rank, x->shape);
    return bm_tape_status(tape);
}

static void shape_describe(const bm_node *n, char *buf, size_t len)
{
    bm_shape_str(n->out, buf, len);
}

const bm_op bm_op_expand = {
    .name = "expand",
    .arity = 1,
    .params_size = sizeof(shape_params),
    .infer = expand_infer,
    .forward = expand_forward,
    .vjp = expand_vjp,
    .describe = shape_describe,
};

const bm_op bm_op_sum_to = {
    .name = "sum_to",
    .arity = 1,
    .params_size = sizeof(shape_params),
    .flags = BM_OP_ACCUMULATES,
    .infer = sum_to_infer,
    .forward = sum_to_forward,
    .vjp = sum_to_vjp,
    .describe = shape_describe,
};

/* Record op with a target shape (checked before it is copied). */
static bm_tensor *to_shape(bm_tape *t, const bm_op *op, bm_tensor *x, int rank,
                           const size_t *shape)
{
    shape_params p = {.rank = rank};
    if (rank < 0 || rank > BM_MAX_RANK || (rank && !shape)) {
        bm_tape_fail(t, rank < 0 || rank > BM_MAX_RANK ? BM_ERR_RANK : BM_ERR_NULL,
                     "bm_%s: rank %d%s (must be 0..%d)", op->name, rank,
                     shape || !rank ? "" : ", shape NULL", BM_MAX_RANK);
        return NULL;
    }
    for (int k = 0; k < rank; k++)
        p.shape[k] = shape[k];
    return bm_tape_apply(t, op, &x, 1, &p);
}

bm_tensor *bm_expand(bm_tape *t, bm_tensor *x, int rank, const size_t *shape)
{
    return to_shape(t, &bm_op_expand, x, rank, shape);
}

bm_tensor *bm_sum_to(bm_tape *t, bm_tensor *x, int rank, const size_t *shape)
{
    return to_shape(t, &bm_op_sum_to, x, rank, shape);
}

bm_tensor *bm_grad_to(bm_tape *tape, bm_tensor *g, const bm_tensor *x)
{
    if (!g || !x)
        return NULL;
    if (bm_tensor_same_shape(g, x))
        return g;
    return bm_sum_to(tape, g, x->rank, x->shape);
}
