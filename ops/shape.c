/* shape.c — transpose (last two axes) and reshape.
 * transpose out: [..,N,M]  in: x [..,M,N];  reshape out: shape  in: x. */
#include "ops_internal.h"

typedef struct reshape_params {
    int rank;
    size_t shape[BM_MAX_RANK];
} reshape_params;

static int transpose_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    char s[64];
    if (x->rank < 2) {
        bm_tape_fail(tape, BM_ERR_RANK, "bm_transpose: %s: needs rank >= 2", BM_SHP(x, s));
        return -1;
    }
    bm_same_shape_as(n->out, x);
    n->out->shape[x->rank - 2] = x->shape[x->rank - 1];
    n->out->shape[x->rank - 1] = x->shape[x->rank - 2];
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
    size_t M = x->shape[x->rank - 2], N = x->shape[x->rank - 1], B = x->size / (M * N);
    if (x->dtype == BM_F64)
        transpose_f64(x->data, n->out->data, B, M, N);
    else
        transpose_f32(x->data, n->out->data, B, M, N);
}

static bm_status transpose_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    (void)n;
    dx[0] = bm_transpose(t, g);
    return bm_tape_status(t);
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

static void reshape_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    memcpy(n->out->data, n->in[0]->data, n->out->size * bm_dtype_size(n->out->dtype));
}

static bm_status reshape_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    const bm_tensor *x = n->in[0];
    dx[0] = bm_reshape(t, g, x->rank, x->shape);
    return bm_tape_status(t);
}

const bm_op bm_op_transpose = {
    .name = "transpose", .arity = 1, .infer = transpose_infer, .forward = transpose_forward,
    .vjp = transpose_vjp,
};
const bm_op bm_op_reshape = {
    .name = "reshape", .arity = 1, .params_size = sizeof(reshape_params),
    .infer = reshape_infer, .forward = reshape_forward, .vjp = reshape_vjp,
};

bm_tensor *bm_transpose(bm_tape *t, bm_tensor *x)
{
    return bm_tape_apply(t, &bm_op_transpose, &x, 1, NULL);
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
