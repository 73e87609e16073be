/* permute.c — permute (torch.permute): any order of the axes.
 * out: [x.shape[axes[0]], .., x.shape[axes[r-1]]]   in: x [r axes]; axes.
 * The forward reads x through a strided view; the vjp is the inverse
 * permutation, so it differentiates again. */
#include <stdio.h>

#include "view_internal.h"

typedef struct permute_params {
    int rank;
    int axes[BM_MAX_RANK]; /* normalised by infer */
} permute_params;

static int permute_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    permute_params *p = n->params;
    char sx[64];
    if (p->rank != x->rank) {
        bm_tape_fail(tape, BM_ERR_RANK, "bm_permute: %s: %d axes given for rank %d",
                     BM_SHP(x, sx), p->rank, x->rank);
        return -1;
    }
    unsigned seen = 0;
    size_t shape[BM_MAX_RANK];
    for (int k = 0; k < p->rank; k++) {
        int ax = bm_axis_norm(p->axes[k], x->rank);
        if (ax < 0 || (seen & (1u << ax))) {
            bm_tape_fail(tape, BM_ERR_ARG, "bm_permute: %s: axis %d %s", BM_SHP(x, sx),
                         p->axes[k], ax < 0 ? "out of range" : "repeated");
            return -1;
        }
        seen |= 1u << ax;
        p->axes[k] = ax;
        shape[k] = x->shape[ax];
    }
    return bm_op_set_output(tape, n, x->dtype, x->rank, shape) == BM_OK ? 0 : -1;
}

/* out [shape] = x read with its strides in the permuted order. */
static void permute_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    const bm_tensor *x = n->in[0];
    const permute_params *p = n->params;
    size_t xs[BM_MAX_RANK], st[BM_MAX_RANK];
    bm_view_strides(x, xs);
    for (int k = 0; k < p->rank; k++)
        st[k] = xs[p->axes[k]];
    bm_view v = bm_view_make(p->rank, n->out->shape, st, 0);
    bm_view_read(x->dtype, n->out->data, x->data, &v);
}

/* dX = permute(G, inverse axes). */
static bm_status permute_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    const permute_params *p = n->params;
    int inv[BM_MAX_RANK];
    for (int k = 0; k < p->rank; k++)
        inv[p->axes[k]] = k;
    dx[0] = bm_permute(t, g, p->rank, inv);
    return bm_tape_status(t);
}

static void permute_describe(const bm_node *n, char *buf, size_t len)
{
    const permute_params *p = n->params;
    size_t pos = (size_t)snprintf(buf, len, "axes=");
    for (int k = 0; k < p->rank && pos < len; k++)
        pos += (size_t)snprintf(buf + pos, len - pos, k ? ",%d" : "%d", p->axes[k]);
}

const bm_op bm_op_permute = {
    .name = "permute", .arity = 1, .params_size = sizeof(permute_params),
    .infer = permute_infer, .forward = permute_forward, .vjp = permute_vjp,
    .describe = permute_describe,
};

bm_tensor *bm_permute(bm_tape *t, bm_tensor *x, int n_axes, const int *axes)
{
    permute_params p = {.rank = n_axes};
    if (n_axes < 0 || n_axes > BM_MAX_RANK || (n_axes && !axes)) {
        bm_tape_fail(t, axes || !n_axes ? BM_ERR_RANK : BM_ERR_NULL,
                     "bm_permute: %d axes%s (must be 0..%d)", n_axes, axes ? "" : ", axes NULL",
                     BM_MAX_RANK);
        return NULL;
    }
    for (int k = 0; k < n_axes; k++)
        p.axes[k] = axes[k];
    return bm_tape_apply(t, &bm_op_permute, &x, 1, &p);
}
