/* index.c — gather, scatter_add, index_select, index_add and embedding.
 * gather        out: idx's shape   in: x, idx (x's rank; idx ≤ x off the axis)
 * scatter_add   out: x's shape     in: x, idx, src (src the shape of idx)
 * index_select  out: x's shape with K along the axis   in: x, idx [K]
 * index_add     out: x's shape     in: x, idx [K], src (x's with K on the axis)
 * embedding     out: [.., D]       in: idx [..], weight [V,D]
 * Indices are integers stored as numbers, checked at run time: a value
 * that is not one, or is out of range, fails the forward (no element is
 * read or written). gather and scatter_add are each other's vjps, as are
 * index_select and index_add (embedding's gradient is an index_add), so
 * every order differentiates. In the op, scatter_add and index_add take
 * idx, src and then x; without x they add into zeros of a shape given. */
#include <stdio.h>

#include "ops_internal.h"

typedef struct index_params {
    int axis;                  /* normalised by infer */
    int rank;                  /* the zero base's shape (scatter/index_add of 2 inputs) */
    size_t shape[BM_MAX_RANK];
} index_params;

/* gather/scatter geometry padded to rank 4: idx's shape, the strides of
 * the indexed tensor, the padded axis. */
typedef struct geom {
    size_t ish[BM_MAX_RANK], xs[BM_MAX_RANK];
    int axis;
} geom;

#define T float
#define F(name) name##_f32
#include "index_kernels.inc"
#undef T
#undef F
#define T double
#define F(name) name##_f64
#include "index_kernels.inc"
#undef T
#undef F

static const index_params *params_of(const bm_node *n) { return n->params; }

/* The index check: 0 when every idx value is an index below limit, else
 * the tape's error set (naming op and position). */
static int check_indices(bm_tape *tape, const bm_node *n, const bm_tensor *idx, size_t limit)
{
    size_t bad = idx->dtype == BM_F64 ? first_bad_f64(idx->data, idx->size, limit)
                                      : first_bad_f32(idx->data, idx->size, limit);
    if (bad == idx->size)
        return 0;
    bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: index %g at %zu is not in 0..%zu", n->op->name,
                 bm_tensor_get(idx, bad), bad, limit - 1);
    return -1;
}

/* Normalise the axis for rank; message names op and shape. */
static int axis_of(bm_tape *tape, bm_node *n, const bm_tensor *x)
{
    index_params *p = n->params;
    char sx[64];
    int ax = bm_axis_norm(p->axis, x->rank);
    if (ax < 0)
        bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: %s: axis %d out of range", n->op->name,
                     BM_SHP(x, sx), p->axis);
    else
        p->axis = ax;
    return ax;
}

/* idx fits x for gather/scatter: same rank, no larger off the axis. */
static int idx_fits(bm_tape *tape, const bm_node *n, const bm_tensor *x, const bm_tensor *idx)
{
    char sx[64], si[64];
    int ok = idx->rank == x->rank;
    for (int k = 0; ok && k < x->rank; k++)
        ok = k == params_of(n)->axis || idx->shape[k] <= x->shape[k];
    if (!ok)
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: index %s does not fit %s (same rank, no larger "
                     "off the axis)", n->op->name, BM_SHP(idx, si), BM_SHP(x, sx));
    return ok ? 0 : -1;
}

/* The output of scatter_add/index_add: x's shape, or the zero base's. */
static int base_out(bm_tape *tape, bm_node *n)
{
    const index_params *p = n->params;
    if (n->n_in == 3)
        return bm_op_set_output_like(tape, n, n->in[2]) == BM_OK ? 0 : -1;
    if (n->n_in != 2) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: takes 2 or 3 inputs, got %d", n->op->name,
                     n->n_in);
        return -1;
    }
    return bm_op_set_output(tape, n, n->in[1]->dtype, p->rank, p->shape) == BM_OK ? 0 : -1;
}

static geom geom_of(const bm_tensor *x, const bm_tensor *idx, int axis)
{
    geom g = {.axis = axis + BM_MAX_RANK - x->rank};
    size_t s = 1;
    for (int k = BM_MAX_RANK - 1; k >= 0; k--) {
        int ax = k - (BM_MAX_RANK - x->rank);
        g.ish[k] = ax >= 0 ? idx->shape[ax] : 1;
        g.xs[k] = s;
        s *= ax >= 0 ? x->shape[ax] : 1;
    }
    return g;
}

/* ---- gather / scatter_add ---------------------------------------------- */

static int gather_infer(bm_tape *tape, bm_node *n)
{
    if (axis_of(tape, n, n->in[0]) < 0 || idx_fits(tape, n, n->in[0], n->in[1]))
        return -1;
    return bm_op_set_output_like(tape, n, n->in[1]) == BM_OK ? 0 : -1;
}

static void gather_forward(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0], *idx = n->in[1];
    int ax = params_of(n)->axis;
    if (check_indices(tape, n, idx, x->shape[ax]))
        return;
    geom g = geom_of(x, idx, ax);
    if (x->dtype == BM_F64)
        gather_f64(n->out->data, x->data, idx->data, &g);
    else
        gather_f32(n->out->data, x->data, idx->data, &g);
}

/* Record scatter_add/index_add of src at idx into zeros of x's shape. */
static bm_tensor *add_into_zeros(bm_tape *t, const bm_op *op, const bm_tensor *x, int axis,
                                 bm_tensor *idx, bm_tensor *src)
{
    index_params p = {.axis = axis, .rank = x->rank};
    for (int k = 0; k < x->rank; k++)
        p.shape[k] = x->shape[k];
    bm_tensor *in[2] = {idx, src};
    return bm_tape_apply(t, op, in, 2, &p);
}

extern const bm_op bm_op_scatter_add, bm_op_index_add;

/* dX = scatter_add of G into zeros of x's shape. */
static bm_status gather_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = add_into_zeros(t, &bm_op_scatter_add, n->in[0], params_of(n)->axis, n->in[1], g);
    return bm_tape_status(t);
}

static int scatter_add_infer(bm_tape *tape, bm_node *n)
{
    char si[64], ss[64];
    if (base_out(tape, n) || axis_of(tape, n, n->out) < 0 ||
        idx_fits(tape, n, n->out, n->in[0]))
        return -1;
    if (!bm_tensor_same_shape(n->in[0], n->in[1])) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_scatter_add: src %s must be the shape of index %s",
                     BM_SHP(n->in[1], ss), BM_SHP(n->in[0], si));
        return -1;
    }
    return 0;
}

static void scatter_add_forward(bm_tape *tape, bm_node *n)
{
    const bm_tensor *idx = n->in[0], *src = n->in[1];
    bm_tensor *o = n->out;
    int ax = params_of(n)->axis;
    if (check_indices(tape, n, idx, o->shape[ax]))
        return;
    if (n->n_in == 3)
        memcpy(o->data, n->in[2]->data, o->size * bm_dtype_size(o->dtype));
    else
        memset(o->data, 0, o->size * bm_dtype_size(o->dtype));
    geom g = geom_of(o, idx, ax);
    if (o->dtype == BM_F64)
        scatter_add_f64(o->data, src->data, idx->data, &g);
    else
        scatter_add_f32(o->data, src->data, idx->data, &g);
}

/* dSrc = gather(G, axis, idx), dX = G. */
static bm_status scatter_add_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    if (bm_op_wants_grad(t, n, 1))
        dx[1] = bm_gather(t, g, params_of(n)->axis, n->in[0]);
    if (n->n_in == 3 && bm_op_wants_grad(t, n, 2))
        dx[2] = g;
    return bm_tape_status(t);
}

/* ---- index_select / index_add / embedding ------------------------------ */

/* x viewed as [outer, len, inner] around axis. */
static void around(const bm_tensor *x, int axis, size_t *outer, size_t *len, size_t *inner)
{
    *outer = *inner = 1;
    for (int k = 0; k < axis; k++)
        *outer *= x->shape[k];
    for (int k = axis + 1; k < x->rank; k++)
        *inner *= x->shape[k];
    *len = x->shape[axis];
}

static int index_is_vector(bm_tape *tape, const bm_node *n, const bm_tensor *idx)
{
    char si[64];
    if (idx->rank == 1)
        return 0;
    bm_tape_fail(tape, BM_ERR_RANK, "bm_%s: index %s must be 1-D", n->op->name, BM_SHP(idx, si));
    return -1;
}

static int index_select_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    int ax = axis_of(tape, n, x);
    if (ax < 0 || index_is_vector(tape, n, n->in[1]))
        return -1;
    size_t shape[BM_MAX_RANK];
    for (int k = 0; k < x->rank; k++)
        shape[k] = k == ax ? n->in[1]->size : x->shape[k];
    return bm_op_set_output(tape, n, x->dtype, x->rank, shape) == BM_OK ? 0 : -1;
}

static void index_select_forward(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0], *idx = n->in[1];
    size_t outer, len, inner;
    around(x, params_of(n)->axis, &outer, &len, &inner);
    if (check_indices(tape, n, idx, len))
        return;
    if (x->dtype == BM_F64)
        index_select_f64(n->out->data, x->data, idx->data, outer, len, inner, idx->size);
    else
        index_select_f32(n->out->data, x->data, idx->data, outer, len, inner, idx->size);
}

/* dX = index_add of G into zeros of x's shape. */
static bm_status index_select_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = add_into_zeros(t, &bm_op_index_add, n->in[0], params_of(n)->axis, n->in[1], g);
    return bm_tape_status(t);
}

static int index_add_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *idx = n->in[0], *src = n->in[1];
    char so[64], ss[64];
    if (base_out(tape, n) || axis_of(tape, n, n->out) < 0 || index_is_vector(tape, n, idx))
        return -1;
    int ax = params_of(n)->axis, ok = src->rank == n->out->rank;
    for (int k = 0; ok && k < src->rank; k++)
        ok = src->shape[k] == (k == ax ? idx->size : n->out->shape[k]);
    if (!ok) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_index_add: src %s must be %s with %zu along axis %d",
                     BM_SHP(src, ss), BM_SHP(n->out, so), idx->size, ax);
        return -1;
    }
    return 0;
}

static void index_add_forward(bm_tape *tape, bm_node *n)
{
    const bm_tensor *idx = n->in[0], *src = n->in[1];
    bm_tensor *o = n->out;
    size_t outer, len, inner;
    around(o, params_of(n)->axis, &outer, &len, &inner);
    if (check_indices(tape, n, idx, len))
        return;
    if (n->n_in == 3)
        memcpy(o->data, n->in[2]->data, o->size * bm_dtype_size(o->dtype));
    else
        memset(o->data, 0, o->size * bm_dtype_size(o->dtype));
    if (o->dtype == BM_F64)
        index_add_f64(o->data, src->data, idx->data, outer, len, inner, idx->size);
    else
        index_add_f32(o->data, src->data, idx->data, outer, len, inner, idx->size);
}

/* dSrc = index_select(G, axis, idx), dX = G. */
static bm_status index_add_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    if (bm_op_wants_grad(t, n, 1))
        dx[1] = bm_index_select(t, g, params_of(n)->axis, n->in[0]);
    if (n->n_in == 3 && bm_op_wants_grad(t, n, 2))
        dx[2] = g;
    return bm_tape_status(t);
}

static int embedding_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *idx = n->in[0], *w = n->in[1];
    char si[64], sw[64];
    if (w->rank != 2 || idx->rank >= BM_MAX_RANK) {
        bm_tape_fail(tape, BM_ERR_RANK, "bm_embedding: indices %s, weight %s: weight must be "
                     "[V,D] and indices of rank < %d", BM_SHP(idx, si), BM_SHP(w, sw), BM_MAX_RANK);
        return -1;
    }
    size_t shape[BM_MAX_RANK];
    for (int k = 0; k < idx->rank; k++)
        shape[k] = idx->shape[k];
    shape[idx->rank] = w->shape[1];
    return bm_op_set_output(tape, n, w->dtype, idx->rank + 1, shape) == BM_OK ? 0 : -1;
}

/* out [.., D] = rows idx of weight [V,D]. */
static void embedding_forward(bm_tape *tape, bm_node *n)
{
    const bm_tensor *idx = n->in[0], *w = n->in[1];
    size_t V = w->shape[0], D = w->shape[1];
    if (check_indices(tape, n, idx, V))
        return;
    if (w->dtype == BM_F64)
        index_select_f64(n->out->data, w->data, idx->data, 1, V, D, idx->size);
    else
        index_select_f32(n->out->data, w->data, idx->data, 1, V, D, idx->size);
}

/* dW = index_add of G's rows [N,D] at the flat indices [N] into zeros [V,D]. */
static bm_status embedding_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *idx = n->in[0], *w = n->in[1];
    size_t N = idx->size, rows[2] = {N, w->shape[1]};
    bm_tensor *flat = bm_reshape(t, idx, 1, &N), *g2 = bm_reshape(t, g, 2, rows);
    dx[1] = flat && g2 ? add_into_zeros(t, &bm_op_index_add, w, 0, flat, g2) : NULL;
    return bm_tape_status(t);
}

static void index_describe(const bm_node *n, char *buf, size_t len)
{
    snprintf(buf, len, "axis=%d", params_of(n)->axis);
}

#define INDEX_OP(op, NONDIFF, ARITY)                                                  \
    const bm_op bm_op_##op = {.name = #op, .arity = ARITY, .nondiff = NONDIFF,         \
                              .params_size = sizeof(index_params), .infer = op##_infer, \
                              .forward = op##_forward, .vjp = op##_vjp,               \
                              .describe = index_describe};
INDEX_OP(gather, 1u << 1, 2)
INDEX_OP(scatter_add, 1u, BM_OP_VARIADIC)
INDEX_OP(index_select, 1u << 1, 2)
INDEX_OP(index_add, 1u, BM_OP_VARIADIC)
INDEX_OP(embedding, 1u, 2)

static bm_tensor *indexed(bm_tape *t, const bm_op *op, bm_tensor *const *in, int n, int axis)
{
    index_params p = {.axis = axis};
    return bm_tape_apply(t, op, in, n, &p);
}

bm_tensor *bm_gather(bm_tape *t, bm_tensor *x, int axis, bm_tensor *index)
{
    return indexed(t, &bm_op_gather, (bm_tensor *[]){x, index}, 2, axis);
}

bm_tensor *bm_scatter_add(bm_tape *t, bm_tensor *x, int axis, bm_tensor *index, bm_tensor *src)
{
    return indexed(t, &bm_op_scatter_add, (bm_tensor *[]){index, src, x}, 3, axis);
}

bm_tensor *bm_index_select(bm_tape *t, bm_tensor *x, int axis, bm_tensor *index)
{
    return indexed(t, &bm_op_index_select, (bm_tensor *[]){x, index}, 2, axis);
}

bm_tensor *bm_index_add(bm_tape *t, bm_tensor *x, int axis, bm_tensor *index, bm_tensor *src)
{
    return indexed(t, &bm_op_index_add, (bm_tensor *[]){index, src, x}, 3, axis);
}

bm_tensor *bm_embedding(bm_tape *t, bm_tensor *indices, bm_tensor *weight)
{
    return indexed(t, &bm_op_embedding, (bm_tensor *[]){indices, weight}, 2, 0);
}
