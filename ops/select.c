/* select.c — where(cond, a, b), masked_fill(x, mask, value) and the
 * comparisons eq, ne, lt, le, gt, ge, all with NumPy broadcasting.
 * where        out: broadcast(cond, a, b)   in: cond (≠ 0: true), a, b
 * masked_fill  out: x's shape   in: x, mask (broadcasts to x); value
 * eq .. ge     out: broadcast(a, b), 1 or 0   in: a, b (not differentiable)
 * where's vjp is where (G to a where cond holds, to b elsewhere) and
 * masked_fill's is masked_fill with 0, so both differentiate again;
 * masked_fill may write ±inf on purpose (a causal mask), so anomaly
 * detection skips its output. */
#include <stdio.h>

#include "ops_internal.h"

/* Operand strides against the output, padded to rank 4. */
typedef struct bstrides {
    size_t shape[BM_MAX_RANK];
    size_t st[3][BM_MAX_RANK];
} bstrides;

/* A comparison is the set of outcomes of (x, y) where it holds: one bit
 * per outcome (unordered: a NaN). */
enum { OUT_LT = 1u << 0, OUT_EQ = 1u << 1, OUT_GT = 1u << 2, OUT_UN = 1u << 3 };

/* The outcome bit of comparing x and y. */
#define OUTCOME(x, y) ((x) < (y) ? OUT_LT : (x) == (y) ? OUT_EQ : (x) > (y) ? OUT_GT : OUT_UN)

#define T float
#define F(name) name##_f32
#include "select_kernels.inc"
#undef T
#undef F
#define T double
#define F(name) name##_f64
#include "select_kernels.inc"
#undef T
#undef F

typedef struct fill_params {
    double value;
} fill_params;

typedef struct cmp_params {
    unsigned holds; /* outcome bits where the comparison is true */
} cmp_params;

/* Broadcast shape of the n inputs into n->out (NumPy rules). */
static int bcast_n_infer(bm_tape *tape, bm_node *n)
{
    char s0[64], s1[64];
    int r = 0;
    for (int k = 0; k < n->n_in; k++)
        r = n->in[k]->rank > r ? n->in[k]->rank : r;
    for (int i = 0; i < r; i++) {
        size_t d = 1;
        for (int k = 0; k < n->n_in; k++) {
            const bm_tensor *x = n->in[k];
            size_t dk = i < x->rank ? x->shape[x->rank - 1 - i] : 1;
            if (dk != d && d != 1 && dk != 1) {
                bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: %s and input %d %s: shapes do not "
                             "broadcast (axis -%d)", n->op->name, BM_SHP(n->in[0], s0), k,
                             BM_SHP(x, s1), i + 1);
                return -1;
            }
            d = dk > d ? dk : d;
        }
        n->out->shape[r - 1 - i] = d;
    }
    n->out->rank = r;
    return 0;
}

/* Strides of input k against out (0 along broadcast axes). */
static void strides_of(const bm_tensor *t, const bm_tensor *out, size_t *st)
{
    size_t stride = 1;
    for (int k = BM_MAX_RANK - 1; k >= 0; k--) {
        int ax = k - (BM_MAX_RANK - t->rank), oax = k - (BM_MAX_RANK - out->rank);
        size_t dim = ax >= 0 ? t->shape[ax] : 1, odim = oax >= 0 ? out->shape[oax] : 1;
        st[k] = (dim == 1 && odim != 1) ? 0 : stride;
        stride *= dim;
    }
}

static bstrides bstrides_of(const bm_node *n)
{
    bstrides s;
    for (int k = 0; k < BM_MAX_RANK; k++) {
        int oax = k - (BM_MAX_RANK - n->out->rank);
        s.shape[k] = oax >= 0 ? n->out->shape[oax] : 1;
    }
    for (int k = 0; k < n->n_in && k < 3; k++)
        strides_of(n->in[k], n->out, s.st[k]);
    return s;
}

/* ---- where -------------------------------------------------------------- */

static void where_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    bstrides s = bstrides_of(n);
    const void *c = n->in[0]->data, *a = n->in[1]->data, *b = n->in[2]->data;
    if (n->out->dtype == BM_F64)
        where_f64(n->out->data, c, a, b, &s);
    else
        where_f32(n->out->data, c, a, b, &s);
}

/* dA = where(cond, G, 0), dB = where(cond, 0, G), each summed to its shape. */
static bm_status where_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *zero = bm_tape_scalar(t, g->dtype, 0.0);
    if (bm_op_wants_grad(t, n, 1))
        dx[1] = bm_grad_to(t, bm_where(t, n->in[0], g, zero), n->in[1]);
    if (bm_op_wants_grad(t, n, 2))
        dx[2] = bm_grad_to(t, bm_where(t, n->in[0], zero, g), n->in[2]);
    return bm_tape_status(t);
}

/* ---- masked_fill ------------------------------------------------------- */

static int masked_fill_infer(bm_tape *tape, bm_node *n)
{
    if (bcast_n_infer(tape, n))
        return -1;
    if (!bm_tensor_same_shape(n->out, n->in[0])) {
        char sx[64], sm[64];
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_masked_fill: mask %s does not broadcast to x %s",
                     BM_SHP(n->in[1], sm), BM_SHP(n->in[0], sx));
        return -1;
    }
    return 0;
}

static void masked_fill_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    bstrides s = bstrides_of(n);
    double v = ((const fill_params *)n->params)->value;
    if (n->out->dtype == BM_F64)
        masked_fill_f64(n->out->data, n->in[0]->data, n->in[1]->data, v, &s);
    else
        masked_fill_f32(n->out->data, n->in[0]->data, n->in[1]->data, (float)v, &s);
}

/* dX = G with the masked places 0. */
static bm_status masked_fill_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_masked_fill(t, g, n->in[1], 0.0);
    return bm_tape_status(t);
}

static void fill_describe(const bm_node *n, char *buf, size_t len)
{
    snprintf(buf, len, "value=%g", ((const fill_params *)n->params)->value);
}

const bm_op bm_op_where = {
    .name = "where", .arity = 3, .nondiff = 1u, .infer = bcast_n_infer,
    .forward = where_forward, .vjp = where_vjp,
};
const bm_op bm_op_masked_fill = {
    .name = "masked_fill", .arity = 2, .nondiff = 1u << 1, .flags = BM_OP_NONFINITE_OK,
    .params_size = sizeof(fill_params), .infer = masked_fill_infer,
    .forward = masked_fill_forward, .vjp = masked_fill_vjp, .describe = fill_describe,
};

bm_tensor *bm_where(bm_tape *t, bm_tensor *cond, bm_tensor *a, bm_tensor *b)
{
    return bm_tape_apply(t, &bm_op_where, (bm_tensor *[]){cond, a, b}, 3, NULL);
}

bm_tensor *bm_masked_fill(bm_tape *t, bm_tensor *x, bm_tensor *mask, double value)
{
    fill_params p = {.value = value};
    return bm_tape_apply(t, &bm_op_masked_fill, (bm_tensor *[]){x, mask}, 2, &p);
}

/* ---- comparisons -------------------------------------------------------- */

static void compare_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    bstrides s = bstrides_of(n);
    unsigned holds = ((const cmp_params *)n->params)->holds;
    if (n->out->dtype == BM_F64)
        compare_f64(n->out->data, n->in[0]->data, n->in[1]->data, holds, &s);
    else
        compare_f32(n->out->data, n->in[0]->data, n->in[1]->data, holds, &s);
}

/* The outcomes where a comparison holds: "a<b or a=b"; ne names the
 * unordered case (a NaN), where it holds too. */
static void compare_describe(const bm_node *n, char *buf, size_t len)
{
    /* outcome[k] names the bit 1u << k of the OUT_ flags */
    static const char *const outcome[] = {"a<b", "a=b", "a>b", "unordered"};
    enum { N_OUTCOMES = sizeof outcome / sizeof *outcome };
    unsigned holds = ((const cmp_params *)n->params)->holds;
    size_t w = 0;
    buf[0] = '\0';
    for (unsigned k = 0; k < N_OUTCOMES && w < len; k++) {
        if (!(holds & (1u << k)))
            continue;
        int r = snprintf(buf + w, len - w, "%s%s", w ? " or " : "", outcome[k]);
        w = r < 0 ? len : w + (size_t)r;
    }
}

/* Piecewise constant: no gradient (both inputs nondiff, no vjp). */
#define COMPARE_OP(NAME, HOLDS)                                                       \
    const bm_op bm_op_##NAME = {.name = #NAME, .arity = 2, .nondiff = 3u,              \
                                .params_size = sizeof(cmp_params),                     \
                                .infer = bcast_n_infer, .forward = compare_forward,    \
                                .describe = compare_describe};                         \
    bm_tensor *bm_##NAME(bm_tape *t, bm_tensor *a, bm_tensor *b)                       \
    {                                                                                  \
        cmp_params p = {.holds = HOLDS};                                               \
        return bm_tape_apply(t, &bm_op_##NAME, (bm_tensor *[]){a, b}, 2, &p);          \
    }
COMPARE_OP(eq, OUT_EQ)
COMPARE_OP(ne, OUT_LT | OUT_GT | OUT_UN)
COMPARE_OP(lt, OUT_LT)
COMPARE_OP(le, OUT_LT | OUT_EQ)
COMPARE_OP(gt, OUT_GT)
COMPARE_OP(ge, OUT_GT | OUT_EQ)
