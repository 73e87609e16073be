/* binary.c — add, sub, mul, div with NumPy broadcasting.
 * out: broadcast(a, b)   in: a, b (ranks ≤ 4; trailing axes aligned).
 * Their vjps are products and sums of ops (bm_grad_to reduces a broadcast
 * operand's gradient), so they differentiate again. */
#include "vec_internal.h"

int bm_axis_norm(int axis, int rank)
{
    if (axis < 0)
        axis += rank;
    return axis >= 0 && axis < rank ? axis : -1;
}

int bm_bcast_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *a = n->in[0], *b = n->in[1];
    char sa[64], sb[64];
    int r = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < r; i++) {
        size_t da = i < a->rank ? a->shape[a->rank - 1 - i] : 1;
        size_t db = i < b->rank ? b->shape[b->rank - 1 - i] : 1;
        if (da != db && da != 1 && db != 1) {
            bm_tape_fail(tape, BM_ERR_SHAPE,
                         "bm_%s: %s and %s: shapes do not broadcast (axis -%d: %zu vs %zu)",
                         n->op->name, BM_SHP(a, sa), BM_SHP(b, sb), i + 1, da, db);
            return -1;
        }
        n->out->shape[r - 1 - i] = da > db ? da : db;
    }
    n->out->rank = r;
    return 0;
}

/* Strides of t's axes, padded on the left to rank 4, 0 where t has size 1
 * and out does not (a broadcast axis). */
static void pad_strides(const bm_tensor *t, const bm_tensor *out, size_t *st)
{
    size_t stride = 1;
    for (int k = BM_MAX_RANK - 1; k >= 0; k--) {
        int ax = k - (BM_MAX_RANK - t->rank);
        int oax = k - (BM_MAX_RANK - out->rank);
        size_t dim = ax >= 0 ? t->shape[ax] : 1;
        size_t odim = oax >= 0 ? out->shape[oax] : 1;
        st[k] = (dim == 1 && odim != 1) ? 0 : stride;
        stride *= dim;
    }
}

void bm_bcast_make(const bm_tensor *a, const bm_tensor *b, const bm_tensor *out, bm_bcast *bc)
{
    for (int k = 0; k < BM_MAX_RANK; k++) {
        int oax = k - (BM_MAX_RANK - out->rank);
        bc->shape[k] = oax >= 0 ? out->shape[oax] : 1;
    }
    pad_strides(a, out, bc->sa);
    pad_strides(b, out, bc->sb);
}

/* Is r one row of out's last axis, f the size of out? */
static int is_row_over(const bm_tensor *r, const bm_tensor *f, const bm_tensor *out)
{
    return out->rank >= 1 && r->rank >= 1 && f->size == out->size &&
           r->shape[r->rank - 1] == out->shape[out->rank - 1] &&
           r->size == r->shape[r->rank - 1];
}

static int layout_of(const bm_tensor *a, const bm_tensor *b, const bm_tensor *out)
{
    if (a->size == out->size && b->size == out->size)
        return BM_BIN_SAME;
    if (is_row_over(b, a, out))
        return BM_BIN_ROW_B;
    if (is_row_over(a, b, out))
        return BM_BIN_ROW_A;
    return BM_BIN_GENERIC;
}

typedef void (*binary_kern_f32)(const float *, const float *, float *, const bm_binary_shape *);
typedef void (*binary_kern_f64)(const double *, const double *, double *, const bm_binary_shape *);

static void run_binary(bm_node *n, binary_kern_f32 f32, binary_kern_f64 f64)
{
    const bm_tensor *A = n->in[0], *B = n->in[1];
    bm_tensor *O = n->out;
    bm_binary_shape s = {.layout = layout_of(A, B, O),
                         .size = O->size,
                         .N = O->rank ? O->shape[O->rank - 1] : 1};
    if (s.layout == BM_BIN_GENERIC)
        bm_bcast_make(A, B, O, &s.bc);
    if (O->dtype == BM_F64)
        f64(A->data, B->data, O->data, &s);
    else
        f32(A->data, B->data, O->data, &s);
}

/* Define the forward of op NAME from its kernels in the vector table. */
#define BINARY_FORWARD(NAME)                                                          \
    static void NAME##_forward(bm_tape *tape, bm_node *n)                            \
    {                                                                                \
        (void)tape;                                                                  \
        const bm_vec_kernels *k = bm_vec();                                          \
        run_binary(n, k->f32.NAME, k->f64.NAME);                                     \
    }

BINARY_FORWARD(add)
BINARY_FORWARD(sub)
BINARY_FORWARD(mul)
BINARY_FORWARD(div)

/* The vjps, in ops; bm_grad_to sums a broadcast operand's gradient back to
 * its shape. */
static bm_status add_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    if (bm_op_wants_grad(t, n, 0))
        dx[0] = bm_grad_to(t, g, n->in[0]);
    if (bm_op_wants_grad(t, n, 1))
        dx[1] = bm_grad_to(t, g, n->in[1]);
    return bm_tape_status(t);
}

static bm_status sub_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    if (bm_op_wants_grad(t, n, 0))
        dx[0] = bm_grad_to(t, g, n->in[0]);
    if (bm_op_wants_grad(t, n, 1))
        dx[1] = bm_neg(t, bm_grad_to(t, g, n->in[1]));
    return bm_tape_status(t);
}

/* dA = G·b, dB = G·a. */
static bm_status mul_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *a = n->in[0], *b = n->in[1];
    if (bm_op_wants_grad(t, n, 0))
        dx[0] = bm_grad_to(t, bm_mul(t, g, b), a);
    if (bm_op_wants_grad(t, n, 1))
        dx[1] = bm_grad_to(t, bm_mul(t, g, a), b);
    return bm_tape_status(t);
}

/* dA = G/b, dB = −G·a/b² = −(G/b)·out. */
static bm_status div_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *a = n->in[0], *b = n->in[1];
    bm_tensor *gb = bm_div(t, g, b);
    if (bm_op_wants_grad(t, n, 0))
        dx[0] = bm_grad_to(t, gb, a);
    if (bm_op_wants_grad(t, n, 1))
        dx[1] = bm_grad_to(t, bm_neg(t, bm_mul(t, gb, n->out)), b);
    return bm_tape_status(t);
}

#define BINARY_OP(NAME)                                                               \
    const bm_op bm_op_##NAME = {                                                     \
        .name = #NAME,                                                               \
        .arity = 2,                                                                  \
        .infer = bm_bcast_infer,                                                     \
        .forward = NAME##_forward,                                                   \
        .vjp = NAME##_vjp,                                                           \
    };                                                                               \
    bm_tensor *bm_##NAME(bm_tape *t, bm_tensor *a, bm_tensor *b)                     \
    {                                                                                \
        bm_tensor *in[2] = {a, b};                                                   \
        return bm_tape_apply(t, &bm_op_##NAME, in, 2, NULL);                         \
    }

BINARY_OP(add)
BINARY_OP(sub)
BINARY_OP(mul)
BINARY_OP(div)
