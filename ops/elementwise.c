/* elementwise.c — more elementwise ops (issue 10): square, reciprocal, sin,
 * cos, erf, log1p, expm1, silu, gelu (erf and tanh forms), softplus,
 * leaky_relu, elu, and the broadcasting maximum/minimum.
 * out: x's shape   in: x (maximum/minimum: a, b broadcast to one shape).
 * Kernels: elementwise_kernels.inc, once per element type. Every vjp is
 * written in ops, so each differentiates again. */
#include <stdio.h>

#include "vec_internal.h"

typedef void (*map_f32)(const float *restrict, float *restrict, size_t, const bm_elem_params *);
typedef void (*map_f64)(const double *restrict, double *restrict, size_t, const bm_elem_params *);

static const bm_elem_params NO_PARAMS = {.a = 0, .b = 0, .mode = 0};

static void run_map(bm_node *n, map_f32 f32, map_f64 f64)
{
    const bm_elem_params *p = n->params ? n->params : &NO_PARAMS;
    if (n->out->dtype == BM_F64)
        f64(n->in[0]->data, n->out->data, n->out->size, p);
    else
        f32(n->in[0]->data, n->out->data, n->out->size, p);
}

static int same_infer(bm_tape *tape, bm_node *n)
{
    return bm_op_set_output_like(tape, n, n->in[0]) == BM_OK ? 0 : -1;
}

static const bm_elem_params *params_of(const bm_node *n) { return n->params; }

/* ---- vjps, in ops ------------------------------------------------------ */

/* d x² = 2x·G */
static bm_status square_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_mul(t, g, bm_scale(t, n->in[0], 2.0));
    return bm_tape_status(t);
}

/* d 1/x = −G·y² */
static bm_status reciprocal_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_neg(t, bm_mul(t, g, bm_square(t, n->out)));
    return bm_tape_status(t);
}

static bm_status sin_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_mul(t, g, bm_cos(t, n->in[0]));
    return bm_tape_status(t);
}

static bm_status cos_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_neg(t, bm_mul(t, g, bm_sin(t, n->in[0])));
    return bm_tape_status(t);
}

/* d erf x = G·(2/√π)·e^{−x²} */
static bm_status erf_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *e = bm_exp(t, bm_neg(t, bm_square(t, n->in[0])));
    dx[0] = bm_mul(t, g, bm_scale(t, e, BM_TWO_OVER_SQRT_PI));
    return bm_tape_status(t);
}

/* d log(1+x) = G/(1+x) */
static bm_status log1p_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_div(t, g, bm_add_scalar(t, n->in[0], 1.0));
    return bm_tape_status(t);
}

/* d (eˣ − 1) = G·(y + 1) */
static bm_status expm1_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_mul(t, g, bm_add_scalar(t, n->out, 1.0));
    return bm_tape_status(t);
}

/* d x·σ(x) = G·σ(x)·(1 + x − x·σ(x)) */
static bm_status silu_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *x = n->in[0], *s = bm_sigmoid(t, x);
    dx[0] = bm_mul(t, g, bm_mul(t, s, bm_sub(t, bm_add_scalar(t, x, 1.0), bm_mul(t, x, s))));
    return bm_tape_status(t);
}

/* d gelu(x) = gelu_grad(x, G), one fused kernel (its own vjp below keeps
 * every higher derivative). */
static bm_status gelu_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_gelu_grad(t, n->in[0], g, params_of(n)->mode == BM_GELU_TANH);
    return bm_tape_status(t);
}

/* gelu''(x) in ops. erf form: φ(x)(2 − x²). tanh form, with u = k(x + c·x³),
 * th = tanh u, u' = k(1 + 3c·x²), u'' = 6kc·x: d/dx of ½(1 + th) + ½x(1 − th²)u'
 * = (1 − th²)(u' + ½x·u'' − x·th·u'²) = (1 − th²)(u' + 3kc·x² − x·th·u'²). */
static bm_tensor *gelu_second(bm_tape *t, bm_tensor *x, int mode)
{
    bm_tensor *x2 = bm_square(t, x);
    if (mode == BM_GELU_TANH) {
        bm_tensor *u = bm_scale(t, bm_add(t, x, bm_scale(t, bm_mul(t, x2, x), BM_GELU_C)), BM_GELU_K);
        bm_tensor *th = bm_tanh(t, u);
        bm_tensor *du = bm_scale(t, bm_add_scalar(t, bm_scale(t, x2, 3 * BM_GELU_C), 1.0), BM_GELU_K);
        bm_tensor *sech2 = bm_add_scalar(t, bm_neg(t, bm_square(t, th)), 1.0);
        bm_tensor *inner = bm_sub(t, bm_add(t, du, bm_scale(t, x2, 3 * BM_GELU_K * BM_GELU_C)),
                                  bm_mul(t, bm_mul(t, x, th), bm_square(t, du)));
        return bm_mul(t, sech2, inner);
    }
    bm_tensor *pdf = bm_scale(t, bm_exp(t, bm_scale(t, x2, -0.5)), BM_INV_SQRT_2PI);
    return bm_mul(t, pdf, bm_add_scalar(t, bm_neg(t, x2), 2.0));
}

/* y = g·gelu'(x): dG = gelu_grad(x, U) (linear in g), dX = U·g·gelu''(x). */
static bm_status gelu_grad_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    int mode = params_of(n)->mode;
    bm_tensor *x = n->in[0];
    dx[1] = bm_gelu_grad(t, x, g, mode == BM_GELU_TANH);
    dx[0] = bm_mul(t, bm_mul(t, g, n->in[1]), gelu_second(t, x, mode));
    return bm_tape_status(t);
}

/* G·σ(βx) where βx ≤ threshold, G above it (where the op is x itself). */
static bm_status softplus_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    const bm_elem_params *p = params_of(n);
    bm_tensor *x = n->in[0], *bx = bm_scale(t, x, p->a);
    bm_tensor *soft = bm_gate(t, bx, bm_mul(t, g, bm_sigmoid(t, bx)), -INFINITY, p->b, 0);
    dx[0] = bm_add(t, soft, bm_gate(t, bx, g, p->b, INFINITY, 1));
    return bm_tape_status(t);
}

/* G where x > 0, slope·G elsewhere (x = 0 included, as torch). */
static bm_status leaky_relu_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *x = n->in[0];
    bm_tensor *neg = bm_scale(t, bm_gate(t, x, g, -INFINITY, 0.0, 0), params_of(n)->a);
    dx[0] = bm_add(t, bm_gate(t, x, g, 0.0, INFINITY, 1), neg);
    return bm_tape_status(t);
}

/* G where x > 0, G·(y + α) elsewhere. */
static bm_status elu_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *x = n->in[0];
    bm_tensor *neg = bm_gate(t, x, bm_mul(t, g, bm_add_scalar(t, n->out, params_of(n)->a)),
                             -INFINITY, 0.0, 0);
    dx[0] = bm_add(t, bm_gate(t, x, g, 0.0, INFINITY, 1), neg);
    return bm_tape_status(t);
}

#define MAP_FORWARD(name)                                                             \
    static void name##_forward(bm_tape *tape, bm_node *n)                            \
    {                                                                                \
        (void)tape;                                                                  \
        const bm_vec_kernels *k = bm_vec();                                          \
        run_map(n, k->f32.name, k->f64.name);                                        \
    }
MAP_FORWARD(square)
MAP_FORWARD(reciprocal)
MAP_FORWARD(sin)
MAP_FORWARD(cos)
MAP_FORWARD(erf)
MAP_FORWARD(log1p)
MAP_FORWARD(expm1)
MAP_FORWARD(silu)
MAP_FORWARD(gelu)
MAP_FORWARD(softplus)
MAP_FORWARD(leaky_relu)
MAP_FORWARD(elu)

static void params_describe(const bm_node *n, char *buf, size_t len)
{
    const bm_elem_params *p = n->params;
    if (n->op->vjp == gelu_vjp || n->op->vjp == gelu_grad_vjp)
        snprintf(buf, len, "%s", p->mode == BM_GELU_TANH ? "tanh" : "erf");
    else if (n->op->vjp == softplus_vjp)
        snprintf(buf, len, "beta=%g, threshold=%g", p->a, p->b);
    else
        snprintf(buf, len, "%g", p->a);
}

#define MAP_OP(op)                                                                  \
    const bm_op bm_op_##op = {.name = #op, .arity = 1, .infer = same_infer,      \
                                .forward = op##_forward, .vjp = op##_vjp};        \
    bm_tensor *bm_##op(bm_tape *t, bm_tensor *x)                                   \
    {                                                                                \
        return bm_tape_apply(t, &bm_op_##op, &x, 1, NULL);                         \
    }
MAP_OP(square)
MAP_OP(reciprocal)
MAP_OP(sin)
MAP_OP(cos)
MAP_OP(erf)
MAP_OP(log1p)
MAP_OP(expm1)
MAP_OP(silu)

#define PARAM_OP(op)                                                                \
    const bm_op bm_op_##op = {.name = #op, .arity = 1,                           \
                                .params_size = sizeof(bm_elem_params), .infer = same_infer, \
                                .forward = op##_forward, .vjp = op##_vjp,         \
                                .describe = params_describe};
PARAM_OP(gelu)
PARAM_OP(softplus)
PARAM_OP(leaky_relu)
PARAM_OP(elu)

/* x and g of one shape. */
static int gelu_grad_infer(bm_tape *tape, bm_node *n)
{
    char sx[64], sg[64];
    if (!bm_tensor_same_shape(n->in[0], n->in[1])) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_gelu_grad: x %s and g %s differ in shape",
                     BM_SHP(n->in[0], sx), BM_SHP(n->in[1], sg));
        return -1;
    }
    return same_infer(tape, n);
}

static void gelu_grad_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    const bm_vec_kernels *k = bm_vec();
    if (n->out->dtype == BM_F64)
        k->f64.gelu_grad(n->in[0]->data, n->in[1]->data, n->out->data, n->out->size, n->params);
    else
        k->f32.gelu_grad(n->in[0]->data, n->in[1]->data, n->out->data, n->out->size, n->params);
}

const bm_op bm_op_gelu_grad = {.name = "gelu_grad", .arity = 2,
                               .params_size = sizeof(bm_elem_params), .infer = gelu_grad_infer,
                               .forward = gelu_grad_forward, .vjp = gelu_grad_vjp,
                               .describe = params_describe};

/* Refuse a parameter that is not finite (or not > 0 where it must be). */
static int param_ok(bm_tape *t, const char *fn, const char *what, double v, int positive)
{
    if (t && bm_tape_status(t) == BM_OK && (!isfinite(v) || (positive && !(v > 0)))) {
        bm_tape_fail(t, BM_ERR_ARG, "%s: %s %g must be finite%s", fn, what, v,
                     positive ? " and > 0" : "");
        return 0;
    }
    return 1;
}

bm_tensor *bm_gelu(bm_tape *t, bm_tensor *x, int tanh_form)
{
    bm_elem_params p = {.mode = tanh_form ? BM_GELU_TANH : BM_GELU_ERF};
    return bm_tape_apply(t, &bm_op_gelu, &x, 1, &p);
}

bm_tensor *bm_gelu_grad(bm_tape *t, bm_tensor *x, bm_tensor *g, int tanh_form)
{
    bm_elem_params p = {.mode = tanh_form ? BM_GELU_TANH : BM_GELU_ERF};
    bm_tensor *in[2] = {x, g};
    return bm_tape_apply(t, &bm_op_gelu_grad, in, 2, &p);
}

bm_tensor *bm_softplus(bm_tape *t, bm_tensor *x, double beta, double threshold)
{
    bm_elem_params p = {.a = beta, .b = threshold};
    if (!param_ok(t, "bm_softplus", "beta", beta, 1) ||
        !param_ok(t, "bm_softplus", "threshold", threshold, 0))
        return NULL;
    return bm_tape_apply(t, &bm_op_softplus, &x, 1, &p);
}

bm_tensor *bm_leaky_relu(bm_tape *t, bm_tensor *x, double slope)
{
    bm_elem_params p = {.a = slope};
    return param_ok(t, "bm_leaky_relu", "slope", slope, 0)
               ? bm_tape_apply(t, &bm_op_leaky_relu, &x, 1, &p)
               : NULL;
}

bm_tensor *bm_elu(bm_tape *t, bm_tensor *x, double alpha)
{
    bm_elem_params p = {.a = alpha};
    return param_ok(t, "bm_elu", "alpha", alpha, 0) ? bm_tape_apply(t, &bm_op_elu, &x, 1, &p)
                                                    : NULL;
}

/* ---- maximum, minimum -------------------------------------------------- */

/* Inputs of one shape (the builders expand broadcast operands first). */
static int pair_infer(bm_tape *tape, bm_node *n)
{
    char sa[64], sb[64];
    if (!bm_tensor_same_shape(n->in[0], n->in[1])) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: %s and %s differ in shape", n->op->name,
                     BM_SHP(n->in[0], sa), BM_SHP(n->in[1], sb));
        return -1;
    }
    return same_infer(tape, n);
}

static void maximum_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    if (n->out->dtype == BM_F64)
        bm_vec()->f64.maximum(n->in[0]->data, n->in[1]->data, n->out->data, n->out->size);
    else
        bm_vec()->f32.maximum(n->in[0]->data, n->in[1]->data, n->out->data, n->out->size);
}

static void minimum_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    if (n->out->dtype == BM_F64)
        bm_vec()->f64.minimum(n->in[0]->data, n->in[1]->data, n->out->data, n->out->size);
    else
        bm_vec()->f32.minimum(n->in[0]->data, n->in[1]->data, n->out->data, n->out->size);
}

/* The share of G going to a: 1 where a wins, ½ at a tie (as torch), 0
 * where b wins: (sign(±(a − b)) + 1)/2, a constant (sign has no gradient). */
static bm_status pick_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx, double dir)
{
    bm_tensor *d = bm_sign(t, bm_scale(t, bm_sub(t, n->in[0], n->in[1]), dir));
    bm_tensor *wa = bm_scale(t, bm_add_scalar(t, d, 1.0), 0.5);
    if (bm_op_wants_grad(t, n, 0))
        dx[0] = bm_mul(t, g, wa);
    if (bm_op_wants_grad(t, n, 1))
        dx[1] = bm_mul(t, g, bm_add_scalar(t, bm_neg(t, wa), 1.0));
    return bm_tape_status(t);
}

static bm_status maximum_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    return pick_vjp(t, n, g, dx, 1.0);
}

static bm_status minimum_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    return pick_vjp(t, n, g, dx, -1.0);
}

const bm_op bm_op_maximum = {.name = "maximum", .arity = 2, .infer = pair_infer,
                             .forward = maximum_forward, .vjp = maximum_vjp};
const bm_op bm_op_minimum = {.name = "minimum", .arity = 2, .infer = pair_infer,
                             .forward = minimum_forward, .vjp = minimum_vjp};

/* Record op on a and b broadcast to one shape (expand where they differ). */
static bm_tensor *broadcast_pair(bm_tape *t, const bm_op *op, bm_tensor *a, bm_tensor *b)
{
    bm_tensor *in[2] = {a, b};
    char sa[64], sb[64];
    if (a && b && !bm_tensor_same_shape(a, b) && a->dtype == b->dtype) {
        size_t shape[BM_MAX_RANK];
        int r = a->rank > b->rank ? a->rank : b->rank;
        for (int i = 0; i < r; i++) {
            size_t da = i < a->rank ? a->shape[a->rank - 1 - i] : 1;
            size_t db = i < b->rank ? b->shape[b->rank - 1 - i] : 1;
            if (da != db && da != 1 && db != 1) {
                bm_tape_fail(t, BM_ERR_SHAPE, "bm_%s: %s and %s: shapes do not broadcast",
                             op->name, BM_SHP(a, sa), BM_SHP(b, sb));
                return NULL;
            }
            shape[r - 1 - i] = da > db ? da : db;
        }
        if (a->rank != r || memcmp(a->shape, shape, (size_t)r * sizeof *shape))
            in[0] = bm_expand(t, a, r, shape);
        if (b->rank != r || memcmp(b->shape, shape, (size_t)r * sizeof *shape))
            in[1] = bm_expand(t, b, r, shape);
    }
    return bm_tape_apply(t, op, in, 2, NULL);
}

bm_tensor *bm_maximum(bm_tape *t, bm_tensor *a, bm_tensor *b)
{
    return broadcast_pair(t, &bm_op_maximum, a, b);
}

bm_tensor *bm_minimum(bm_tape *t, bm_tensor *a, bm_tensor *b)
{
    return broadcast_pair(t, &bm_op_minimum, a, b);
}
