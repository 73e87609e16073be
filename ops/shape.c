/* shape.c — transpose (last two axes) and reshape.
 * transpose out: [..,N,M]  in: x [..,M,N];  reshape out: shape  in: x. */
#include "ops_internal.h"

enum { P_RANK = BM_MAX_RANK }; /* params.i[0..3] hold the new shape */

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

/* Add (or write) the transpose of each [M,N] block of src into dst. */
#define TRANSPOSE_BLOCKS(T, src, dst, M, N, B, OPER)                                  \
    for (size_t bl = 0; bl < (B); bl++)                                              \
        for (size_t i = 0; i < (M); i++)                                             \
            for (size_t j = 0; j < (N); j++)                                         \
                (dst)[bl * (M) * (N) + j * (M) + i] OPER (src)[bl * (M) * (N) + i * (N) + j];

static void transpose_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    const bm_tensor *x = n->in[0];
    size_t M = x->shape[x->rank - 2], N = x->shape[x->rank - 1], B = x->size / (M * N);
    BM_TYPED(x->dtype, const T *X = x->data; T *Y = n->out->data;
             TRANSPOSE_BLOCKS(T, X, Y, M, N, B, =));
}

static void transpose_backward(bm_tape *tape, bm_node *n)
{
    bm_tensor *x = n->in[0];
    size_t M = x->shape[x->rank - 2], N = x->shape[x->rank - 1], B = x->size / (M * N);
    /* out is [N,M] blocks; its transpose is [M,N] again. */
    BM_TYPED(x->dtype, T *GX = bm_grad_buf(tape, x); if (!GX) break;
             const T *G = n->out->grad; TRANSPOSE_BLOCKS(T, G, GX, N, M, B, +=));
}

static int reshape_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    bm_tensor *out = n->out;
    char s[64];
    long rank = n->params.i[P_RANK];
    if (rank < 0 || rank > BM_MAX_RANK) {
        bm_tape_fail(tape, BM_ERR_RANK, "bm_reshape: %s to rank %ld: rank must be 0..%d",
                     BM_SHP(x, s), rank, BM_MAX_RANK);
        return -1;
    }
    size_t size = 1;
    out->rank = (int)rank;
    for (long k = 0; k < rank; k++) {
        if (n->params.i[k] <= 0) {
            bm_tape_fail(tape, BM_ERR_SIZE, "bm_reshape: %s: dimension %ld is %ld", BM_SHP(x, s),
                         k, n->params.i[k]);
            return -1;
        }
        out->shape[k] = (size_t)n->params.i[k];
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

static void reshape_backward(bm_tape *tape, bm_node *n)
{
    BM_TYPED(n->out->dtype, T *GX = bm_grad_buf(tape, n->in[0]); if (!GX) break;
             const T *G = n->out->grad;
             for (size_t i = 0; i < n->out->size; i++) GX[i] += G[i];);
}

const bm_op bm_op_transpose = {"transpose", 1, 0, transpose_infer, transpose_forward,
                               transpose_backward};
const bm_op bm_op_reshape = {"reshape", 1, 0, reshape_infer, reshape_forward, reshape_backward};

bm_tensor *bm_transpose(bm_tape *t, bm_tensor *x)
{
    return bm_tape_apply(t, &bm_op_transpose, &x, 1, NULL);
}

bm_tensor *bm_reshape(bm_tape *t, bm_tensor *x, int rank, const size_t *shape)
{
    bm_op_params p = {{0.0, 0.0}, {0}, NULL};
    /* Checked whatever the tape's state: the loop below must not read a NULL
     * shape or write past p.i (bm_tape_fail keeps an earlier error). */
    if (rank < 0 || rank > BM_MAX_RANK || (rank && !shape)) {
        bm_tape_fail(t, rank > BM_MAX_RANK || rank < 0 ? BM_ERR_RANK : BM_ERR_NULL,
                     "bm_reshape: rank %d%s (must be 0..%d)", rank, shape ? "" : ", shape NULL",
                     BM_MAX_RANK);
        return NULL;
    }
    for (int k = 0; k < rank; k++)
        p.i[k] = shape[k] > (size_t)BM_MAX_ELEMENTS ? -1 : (long)shape[k];
    p.i[P_RANK] = rank;
    return bm_tape_apply(t, &bm_op_reshape, &x, 1, &p);
}
