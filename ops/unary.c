/* unary.c — elementwise ops of one input, and gate (a backward primitive).
 * out: same shape as x   in: x; a scalar parameter for scale, add_scalar,
 * pow; lo, hi for clamp.
 * Each vjp is written in ops (relu's and clamp's with gate, which passes the
 * gradient where x lies in a range), so every one differentiates again. */
#include <stdio.h>

#include "vec_internal.h"

typedef struct scalar_params {
    double a;
} scalar_params;

typedef struct range_params {
    double lo, hi;
    int open; /* lo < x < hi (else lo ≤ x ≤ hi) */
} range_params;

static int same_infer(bm_tape *tape, bm_node *n)
{
    (void)tape;
    bm_same_shape_as(n->out, n->in[0]);
    return 0;
}

typedef void (*unary_f32)(const float *restrict, float *restrict, size_t, float);
typedef void (*unary_f64)(const double *restrict, double *restrict, size_t, double);

/* y = f(x, a) by the kernel of x's type, a the scalar parameter (0 without). */
static void run_unary(bm_node *n, unary_f32 f32, unary_f64 f64)
{
    const double a = n->params ? ((const scalar_params *)n->params)->a : 0.0;
    if (n->out->dtype == BM_F64)
        f64(n->in[0]->data, n->out->data, n->out->size, a);
    else
        f32(n->in[0]->data, n->out->data, n->out->size, (float)a);
}

/* Define the forward of op NAME from its kernels in the vector table. */
#define UNARY_FORWARD(NAME)                                                           \
    static void NAME##_forward(bm_tape *tape, bm_node *n)                            \
    {                                                                                \
        (void)tape;                                                                  \
        const bm_vec_kernels *k = bm_vec();                                          \
        run_unary(n, k->f32.NAME, k->f64.NAME);                                      \
    }

UNARY_FORWARD(neg)
UNARY_FORWARD(scale)
UNARY_FORWARD(add_scalar)
UNARY_FORWARD(exp)
UNARY_FORWARD(log)
UNARY_FORWARD(pow)
UNARY_FORWARD(sqrt)
UNARY_FORWARD(abs)
UNARY_FORWARD(relu)
UNARY_FORWARD(sigmoid)
UNARY_FORWARD(tanh)
UNARY_FORWARD(sign)

static double param_a(const bm_node *n) { return ((const scalar_params *)n->params)->a; }

static bm_status neg_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    (void)n;
    dx[0] = bm_neg(t, g);
    return bm_tape_status(t);
}

static bm_status scale_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_scale(t, g, param_a(n));
    return bm_tape_status(t);
}

static bm_status add_scalar_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    (void)n;
    dx[0] = g;
    return bm_tape_status(t);
}

/* d eˣ = G·eˣ (the output). */
static bm_status exp_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_mul(t, g, n->out);
    return bm_tape_status(t);
}

static bm_status log_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_div(t, g, n->in[0]);
    return bm_tape_status(t);
}

/* d xᵖ = G·p·xᵖ⁻¹ (nothing for p = 0). */
static bm_status pow_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    double p = param_a(n);
    if (p != 0.0)
        dx[0] = bm_mul(t, g, bm_scale(t, bm_pow(t, n->in[0], p - 1.0), p));
    return bm_tape_status(t);
}

/* d √x = G / (2√x). */
static bm_status sqrt_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_div(t, g, bm_scale(t, n->out, 2.0));
    return bm_tape_status(t);
}

static bm_status abs_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_mul(t, g, bm_sign(t, n->in[0]));
    return bm_tape_status(t);
}

/* G where x > 0. */
static bm_status relu_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_gate(t, n->in[0], g, 0.0, INFINITY, 1);
    return bm_tape_status(t);
}

/* G·σ(1 − σ) = G·(σ − σ²). */
static bm_status sigmoid_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *s = n->out;
    dx[0] = bm_mul(t, g, bm_sub(t, s, bm_mul(t, s, s)));
    return bm_tape_status(t);
}

/* G·(1 − tanh²). */
static bm_status tanh_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *y = n->out;
    dx[0] = bm_mul(t, g, bm_add_scalar(t, bm_neg(t, bm_mul(t, y, y)), 1.0));
    return bm_tape_status(t);
}

static void scalar_describe(const bm_node *n, char *buf, size_t len)
{
    snprintf(buf, len, "%g", param_a(n));
}

#define UNARY_OP(NAME)                                                                \
    const bm_op bm_op_##NAME = {                                                     \
        .name = #NAME, .arity = 1, .infer = same_infer,                              \
        .forward = NAME##_forward, .vjp = NAME##_vjp,                                \
    };                                                                               \
    bm_tensor *bm_##NAME(bm_tape *t, bm_tensor *x)                                   \
    {                                                                                \
        return bm_tape_apply(t, &bm_op_##NAME, &x, 1, NULL);                         \
    }

#define UNARY_OP_PARAM(NAME)                                                          \
    const bm_op bm_op_##NAME = {                                                     \
        .name = #NAME, .arity = 1, .params_size = sizeof(scalar_params),             \
        .infer = same_infer, .forward = NAME##_forward, .vjp = NAME##_vjp,           \
        .describe = scalar_describe,                                                 \
    };                                                                               \
    bm_tensor *bm_##NAME(bm_tape *t, bm_tensor *x, double param)                     \
    {                                                                                \
        scalar_params p = {.a = param};                                              \
        if (t && bm_tape_status(t) == BM_OK && !isfinite(param)) {                   \
            bm_tape_fail(t, BM_ERR_ARG, "bm_" #NAME ": parameter is not finite");    \
            return NULL;                                                             \
        }                                                                            \
        return bm_tape_apply(t, &bm_op_##NAME, &x, 1, &p);                           \
    }

UNARY_OP(neg)
UNARY_OP_PARAM(scale)
UNARY_OP_PARAM(add_scalar)
UNARY_OP(exp)
UNARY_OP(log)
UNARY_OP_PARAM(pow)
UNARY_OP(sqrt)
UNARY_OP(abs)
UNARY_OP(relu)
UNARY_OP(sigmoid)
UNARY_OP(tanh)

/* sign: piecewise constant, so no gradient flows through it. */
const bm_op bm_op_sign = {
    .name = "sign", .arity = 1, .nondiff = 1u, .infer = same_infer, .forward = sign_forward,
};

bm_tensor *bm_sign(bm_tape *t, bm_tensor *x) { return bm_tape_apply(t, &bm_op_sign, &x, 1, NULL); }

/* ---- clamp and gate ---------------------------------------------------- */

static void clamp_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    const range_params *p = n->params;
    const bm_vec_kernels *k = bm_vec();
    if (n->out->dtype == BM_F64)
        k->f64.clamp(n->in[0]->data, n->out->data, n->out->size, p->lo, p->hi);
    else
        k->f32.clamp(n->in[0]->data, n->out->data, n->out->size, (float)p->lo, (float)p->hi);
}

static bm_status clamp_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    const range_params *p = n->params;
    dx[0] = bm_gate(t, n->in[0], g, p->lo, p->hi, 0);
    return bm_tape_status(t);
}

static void range_describe(const bm_node *n, char *buf, size_t len)
{
    const range_params *p = n->params;
    snprintf(buf, len, "%s%g, %g%s", p->open ? "(" : "[", p->lo, p->hi, p->open ? ")" : "]");
}

static int gate_infer(bm_tape *tape, bm_node *n)
{
    char sx[64], sg[64];
    if (!bm_tensor_same_shape(n->in[0], n->in[1])) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_gate: x %s and g %s differ in shape",
                     BM_SHP(n->in[0], sx), BM_SHP(n->in[1], sg));
        return -1;
    }
    bm_same_shape_as(n->out, n->in[0]);
    return 0;
}

static void gate_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    const range_params *p = n->params;
    const bm_vec_kernels *k = bm_vec();
    if (n->out->dtype == BM_F64)
        k->f64.gate(n->in[0]->data, n->in[1]->data, n->out->data, n->out->size, p->lo, p->hi,
                    p->open);
    else
        k->f32.gate(n->in[0]->data, n->in[1]->data, n->out->data, n->out->size, (float)p->lo,
                   (float)p->hi, p->open);
}

/* Linear in g: the same gate; x gets nothing (zero almost everywhere). */
static bm_status gate_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    const range_params *p = n->params;
    dx[1] = bm_gate(t, n->in[0], g, p->lo, p->hi, p->open);
    return bm_tape_status(t);
}

const bm_op bm_op_clamp = {
    .name = "clamp", .arity = 1, .params_size = sizeof(range_params), .infer = same_infer,
    .forward = clamp_forward, .vjp = clamp_vjp, .describe = range_describe,
};

const bm_op bm_op_gate = {
    .name = "gate", .arity = 2, .params_size = sizeof(range_params), .nondiff = 1u,
    .infer = gate_infer, .forward = gate_forward, .vjp = gate_vjp, .describe = range_describe,
};

/* Range parameters, refused when NaN or empty. */
static int range_ok(bm_tape *t, const char *fn, double lo, double hi)
{
    if (t && bm_tape_status(t) == BM_OK && !(lo <= hi)) {
        bm_tape_fail(t, BM_ERR_ARG, "%s: range [%g, %g] is empty or NaN", fn, lo, hi);
        return 0;
    }
    return 1;
}

bm_tensor *bm_clamp(bm_tape *t, bm_tensor *x, double lo, double hi)
{
    range_params p = {.lo = lo, .hi = hi, .open = 0};
    return range_ok(t, "bm_clamp", lo, hi) ? bm_tape_apply(t, &bm_op_clamp, &x, 1, &p) : NULL;
}

bm_tensor *bm_gate(bm_tape *t, bm_tensor *x, bm_tensor *g, double lo, double hi, int open)
{
    range_params p = {.lo = lo, .hi = hi, .open = open != 0};
    bm_tensor *in[2] = {x, g};
    return range_ok(t, "bm_gate", lo, hi) ? bm_tape_apply(t, &bm_op_gate, in, 2, &p) : NULL;
}
