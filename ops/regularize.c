/* regularize.c — dropout and the L1/L2 penalty terms.
 * dropout out: same as x, saved: mask (0 or 1/(1−rate))   in: x
 * l1, l2  out: [] (λ·Σ|x|, λ·Σx²)                          in: x */
#include "ops_internal.h"

typedef struct dropout_params {
    double rate;
    bm_rng *rng;  /* not owned */
    int drawn;    /* a mask exists (kept on a frozen replay) */
} dropout_params;

typedef struct penalty_params {
    double lambda;
} penalty_params;

#define T float
#define F(name) name##_f32
#include "regularize_kernels.inc"
#undef T
#undef F
#define T double
#define F(name) name##_f64
#include "regularize_kernels.inc"
#undef T
#undef F

static int dropout_infer(bm_tape *tape, bm_node *n)
{
    (void)tape;
    bm_same_shape_as(n->out, n->in[0]);
    n->saved_bytes = n->in[0]->size * bm_dtype_size(n->in[0]->dtype);
    return 0;
}

/* Draw a fresh mask unless the tape is frozen and a mask exists. */
static void dropout_forward(bm_tape *tape, bm_node *n)
{
    dropout_params *p = n->params;
    double rate = p->rate;
    bm_rng *rng = p->rng;
    int draw = !bm_tape_random_frozen(tape) || !p->drawn;
    if (n->out->dtype == BM_F64)
        dropout_f64(n->in[0]->data, n->out->data, n->saved, n->out->size, rate, rng, draw);
    else
        dropout_f32(n->in[0]->data, n->out->data, n->saved, n->out->size, rate, rng, draw);
    p->drawn = 1;
}

/* dX = G ⊙ mask (the saved mask, 0 or 1/(1 − rate)). */
static bm_status dropout_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    const bm_tensor *x = n->in[0];
    dx[0] = bm_mul(t, g, bm_op_saved_tensor(t, n, 0, x->dtype, x->rank, x->shape));
    return bm_tape_status(t);
}

static int penalty_infer(bm_tape *tape, bm_node *n)
{
    (void)tape;
    n->out->rank = 0;
    return 0;
}


static double lambda_of(const bm_node *n) { return ((const penalty_params *)n->params)->lambda; }

static void penalty_describe(const bm_node *n, char *buf, size_t len)
{
    snprintf(buf, len, "lambda=%g", lambda_of(n));
}

static void dropout_describe(const bm_node *n, char *buf, size_t len)
{
    snprintf(buf, len, "rate=%g", ((const dropout_params *)n->params)->rate);
}

/* d λ·Σ|x| = λ·sign(x)·G. */
static bm_status l1_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_mul(t, bm_sign(t, n->in[0]), bm_scale(t, g, lambda_of(n)));
    return bm_tape_status(t);
}

/* d λ·Σx² = 2λ·x·G. */
static bm_status l2_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_mul(t, n->in[0], bm_scale(t, g, 2.0 * lambda_of(n)));
    return bm_tape_status(t);
}

/* Define the penalty NAME, λ·Σ term(x) with Σ term from the kernels
 * NAME_f32, NAME_f64, and its op and builder. */
#define PENALTY(NAME)                                                                 \
    static void NAME##_forward(bm_tape *tape, bm_node *n)                            \
    {                                                                                \
        (void)tape;                                                                  \
        const bm_tensor *x = n->in[0];                                               \
        if (n->out->dtype == BM_F64)                                                 \
            *(double *)n->out->data = lambda_of(n) * NAME##_f64(x->data, x->size);   \
        else                                                                         \
            *(float *)n->out->data = (float)(lambda_of(n) * NAME##_f32(x->data, x->size)); \
    }                                                                                \
    const bm_op bm_op_##NAME = {                                                     \
        .name = #NAME, .arity = 1, .params_size = sizeof(penalty_params),            \
        .infer = penalty_infer, .forward = NAME##_forward, .vjp = NAME##_vjp,        \
        .describe = penalty_describe,                                                \
    };                                                                               \
    bm_tensor *bm_##NAME(bm_tape *t, bm_tensor *x, double lambda)                    \
    {                                                                                \
        penalty_params p = {.lambda = lambda};                                       \
        if (t && bm_tape_status(t) == BM_OK && !(lambda >= 0.0 && isfinite(lambda))) { \
            bm_tape_fail(t, BM_ERR_ARG, "bm_" #NAME ": lambda %g must be finite and >= 0", \
                         lambda);                                                    \
            return NULL;                                                             \
        }                                                                            \
        return bm_tape_apply(t, &bm_op_##NAME, &x, 1, &p);                           \
    }

PENALTY(l1)
PENALTY(l2)

const bm_op bm_op_dropout = {
    .name = "dropout", .arity = 1, .params_size = sizeof(dropout_params),
    .infer = dropout_infer, .forward = dropout_forward, .vjp = dropout_vjp,
    .describe = dropout_describe,
};

bm_tensor *bm_dropout(bm_tape *t, bm_tensor *x, double rate, bm_rng *rng)
{
    dropout_params p = {.rate = rate, .rng = rng, .drawn = 0};
    if (t && bm_tape_status(t) == BM_OK) {
        if (!(rate >= 0.0 && rate < 1.0)) {
            bm_tape_fail(t, BM_ERR_ARG, "bm_dropout: rate %g must be in [0, 1)", rate);
            return NULL;
        }
        if (!rng) {
            bm_tape_fail(t, BM_ERR_NULL, "bm_dropout: rng is NULL");
            return NULL;
        }
    }
    return bm_tape_apply(t, &bm_op_dropout, &x, 1, &p);
}
