/* binary.c — add, sub, mul, div with NumPy broadcasting.
 * out: broadcast(a, b)   in: a, b (ranks ≤ 4; trailing axes aligned). */
#include "ops_internal.h"

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

/* Loop over out's elements in order; inside BODY, pa/pb index a and b and
 * i indexes out. */
#define BCAST_LOOP(bc, BODY)                                                       \
    do {                                                                           \
        size_t i = 0;                                                              \
        for (size_t i0 = 0; i0 < (bc).shape[0]; i0++)                              \
            for (size_t i1 = 0; i1 < (bc).shape[1]; i1++)                          \
                for (size_t i2 = 0; i2 < (bc).shape[2]; i2++) {                    \
                    size_t pa = i0 * (bc).sa[0] + i1 * (bc).sa[1] + i2 * (bc).sa[2];  \
                    size_t pb = i0 * (bc).sb[0] + i1 * (bc).sb[1] + i2 * (bc).sb[2];  \
                    for (size_t i3 = 0; i3 < (bc).shape[3];                        \
                         i3++, i++, pa += (bc).sa[3], pb += (bc).sb[3]) {          \
                        BODY                                                       \
                    }                                                              \
                }                                                                  \
    } while (0)

/* Define op NAME: forward out = FWD(x, y); backward dA += DA, dB += DB
 * (expressions of x = a elem, y = b elem, g = incoming gradient). */
#define BINARY_OP(NAME, FWD, DA, DB)                                                  \
    static void NAME##_forward(bm_tape *tape, bm_node *n)                            \
    {                                                                                \
        (void)tape;                                                                  \
        const bm_tensor *A = n->in[0], *B = n->in[1];                                \
        bm_tensor *O = n->out;                                                       \
        BM_TYPED(O->dtype, const T *a = A->data; const T *b = B->data; T *o = O->data; \
                 if (A->size == O->size && B->size == O->size) {                     \
                     for (size_t i = 0; i < O->size; i++) {                          \
                         T x = a[i], y = b[i];                                       \
                         o[i] = (FWD);                                               \
                     }                                                               \
                 } else {                                                            \
                     bm_bcast bc;                                                    \
                     bm_bcast_make(A, B, O, &bc);                                    \
                     BCAST_LOOP(bc, T x = a[pa]; T y = b[pb]; o[i] = (FWD););        \
                 });                                                                 \
    }                                                                                \
    static void NAME##_backward(bm_tape *tape, bm_node *n)                           \
    {                                                                                \
        bm_tensor *A = n->in[0], *B = n->in[1];                                      \
        const bm_tensor *O = n->out;                                                 \
        BM_TYPED(O->dtype, const T *a = A->data; const T *b = B->data;               \
                 const T *gout = O->grad; T *ga = bm_grad_buf(tape, A);              \
                 T *gb = bm_grad_buf(tape, B);                                       \
                 if (A->size == O->size && B->size == O->size) {                     \
                     for (size_t i = 0; i < O->size; i++) {                          \
                         T x = a[i], y = b[i], g = gout[i];                          \
                         (void)x, (void)y;                                           \
                         if (ga)                                                     \
                             ga[i] += (DA);                                          \
                         if (gb)                                                     \
                             gb[i] += (DB);                                          \
                     }                                                               \
                 } else {                                                            \
                     bm_bcast bc;                                                    \
                     bm_bcast_make(A, B, O, &bc);                                    \
                     BCAST_LOOP(bc, T x = a[pa]; T y = b[pb]; T g = gout[i];         \
                                (void)x; (void)y; if (ga) ga[pa] += (DA);            \
                                if (gb) gb[pb] += (DB););                            \
                 });                                                                 \
    }                                                                                \
    const bm_op bm_op_##NAME = {#NAME, 2, 0, bm_bcast_infer, NAME##_forward,         \
                                NAME##_backward};                                    \
    bm_tensor *bm_##NAME(bm_tape *t, bm_tensor *a, bm_tensor *b)                     \
    {                                                                                \
        bm_tensor *in[2] = {a, b};                                                   \
        return bm_tape_apply(t, &bm_op_##NAME, in, 2, NULL);                         \
    }

BINARY_OP(add, x + y, g, g)
BINARY_OP(sub, x - y, g, -g)
BINARY_OP(mul, x * y, g * y, g * x)
BINARY_OP(div, x / y, g / y, -g * x / (y * y))
