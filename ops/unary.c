/* unary.c — elementwise ops of one input.
 * out: same shape as x   in: x; optional scalar a (params.f[0]). */
#include "ops_internal.h"

static int same_infer(bm_tape *tape, bm_node *n)
{
    (void)tape;
    bm_same_shape_as(n->out, n->in[0]);
    return 0;
}

/* Define op NAME: y = FWD(x, a); backward dX += BWD(x, y, g, a), stored
 * rather than added when no other op has given x a gradient this pass. */
#define UNARY_KERNELS(NAME, FWD, BWD)                                                 \
    static void NAME##_forward(bm_tape *tape, bm_node *n)                            \
    {                                                                                \
        (void)tape;                                                                  \
        const size_t size = n->out->size;                                            \
        BM_TYPED(n->out->dtype, const T *restrict X = n->in[0]->data;                \
                 T *restrict Y = n->out->data;                                       \
                 const T a = (T)n->params.f[0]; (void)a;                             \
                 for (size_t i = 0; i < size; i++) {                                 \
                     T x = X[i];                                                     \
                     Y[i] = (FWD);                                                   \
                 });                                                                 \
    }                                                                                \
    static void NAME##_backward(bm_tape *tape, bm_node *n)                           \
    {                                                                                \
        const size_t size = n->out->size;                                            \
        int fresh;                                                                   \
        BM_TYPED(n->out->dtype, T *restrict GX = bm_grad_buf_fresh(tape, n->in[0], &fresh); \
                 if (!GX) break; const T *restrict X = n->in[0]->data;               \
                 const T *restrict Y = n->out->data;                                 \
                 const T *restrict G = n->out->grad;                                 \
                 const T a = (T)n->params.f[0]; (void)a;                             \
                 if (fresh) {                                                        \
                     for (size_t i = 0; i < size; i++) {                             \
                         T x = X[i], y = Y[i], g = G[i];                             \
                         (void)x, (void)y;                                           \
                         GX[i] = (BWD);                                              \
                     }                                                               \
                 } else {                                                            \
                     for (size_t i = 0; i < size; i++) {                             \
                         T x = X[i], y = Y[i], g = G[i];                             \
                         (void)x, (void)y;                                           \
                         GX[i] += (BWD);                                             \
                     }                                                               \
                 });                                                                 \
    }                                                                                \
    const bm_op bm_op_##NAME = {#NAME, 1, 0, same_infer, NAME##_forward, NAME##_backward};

#define UNARY_OP(NAME, FWD, BWD)                                                      \
    UNARY_KERNELS(NAME, FWD, BWD)                                                    \
    bm_tensor *bm_##NAME(bm_tape *t, bm_tensor *x)                                   \
    {                                                                                \
        return bm_tape_apply(t, &bm_op_##NAME, &x, 1, NULL);                         \
    }

#define UNARY_OP_PARAM(NAME, FWD, BWD)                                                \
    UNARY_KERNELS(NAME, FWD, BWD)                                                    \
    bm_tensor *bm_##NAME(bm_tape *t, bm_tensor *x, double param)                     \
    {                                                                                \
        bm_op_params p = {{param, 0.0}, {0}, NULL};                                  \
        if (t && bm_tape_status(t) == BM_OK && !isfinite(param)) {                   \
            bm_tape_fail(t, BM_ERR_ARG, "bm_" #NAME ": parameter is not finite");    \
            return NULL;                                                             \
        }                                                                            \
        return bm_tape_apply(t, &bm_op_##NAME, &x, 1, &p);                           \
    }

#define SIGN(v) (T)(((v) > 0) - ((v) < 0))

UNARY_OP(neg, -x, -g)
UNARY_OP_PARAM(scale, a * x, a * g)
UNARY_OP_PARAM(add_scalar, x + a, g)
UNARY_OP(exp, BM_EXP(x), g * y)
UNARY_OP(log, BM_LOG(x), g / x)
UNARY_OP_PARAM(pow, BM_POW(x, a), g * a * BM_POW(x, a - 1))
UNARY_OP(sqrt, BM_SQRT(x), g / (2 * y))
UNARY_OP(abs, BM_FABS(x), g * SIGN(x))
UNARY_OP(relu, x > 0 ? x : 0, x > 0 ? g : 0)
UNARY_OP(sigmoid, 1 / (1 + BM_EXP(-x)), g * y * (1 - y))
UNARY_OP(tanh, BM_TANH(x), g * (1 - y * y))
