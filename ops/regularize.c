/* regularize.c — dropout and the L1/L2 penalty terms.
 * dropout out: same as x, saved: mask (0 or 1/(1−rate))   in: x
 * l1, l2  out: [] (λ·Σ|x|, λ·Σx²)                          in: x */
#include "ops_internal.h"

enum { P_RATE = 0, P_LAMBDA = 0 };  /* params.f */
enum { P_MASK_DRAWN = 0 };          /* params.i */

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
    double rate = n->params.f[P_RATE];
    bm_rng *rng = n->params.p;
    int draw = !bm_tape_random_frozen(tape) || !n->params.i[P_MASK_DRAWN];
    BM_TYPED(n->out->dtype, T *M = n->saved; const T *X = n->in[0]->data; T *Y = n->out->data;
             const T keep = (T)(1.0 / (1.0 - rate));
             for (size_t i = 0; i < n->out->size; i++) {
                 if (draw)
                     M[i] = bm_rng_uniform(rng) < rate ? (T)0 : keep;
                 Y[i] = X[i] * M[i];
             });
    n->params.i[P_MASK_DRAWN] = 1;
}

static void dropout_backward(bm_tape *tape, bm_node *n)
{
    BM_TYPED(n->out->dtype, T *GX = bm_grad_buf(tape, n->in[0]); if (!GX) break;
             const T *M = n->saved; const T *G = n->out->grad;
             for (size_t i = 0; i < n->out->size; i++) GX[i] += G[i] * M[i];);
}

static int penalty_infer(bm_tape *tape, bm_node *n)
{
    (void)tape;
    n->out->rank = 0;
    return 0;
}

#define SIGN(v) (T)(((v) > 0) - ((v) < 0))

/* Define a penalty λ·Σ TERM(x) with gradient λ·DTERM(x)·g. */
#define PENALTY(NAME, TERM, DTERM)                                                    \
    static void NAME##_forward(bm_tape *tape, bm_node *n)                            \
    {                                                                                \
        (void)tape;                                                                  \
        BM_TYPED(n->out->dtype, const T *X = n->in[0]->data; double acc = 0;         \
                 for (size_t i = 0; i < n->in[0]->size; i++) {                       \
                     T x = X[i];                                                     \
                     acc += (double)(TERM);                                          \
                 } *(T *)n->out->data = (T)(n->params.f[P_LAMBDA] * acc););          \
    }                                                                                \
    static void NAME##_backward(bm_tape *tape, bm_node *n)                           \
    {                                                                                \
        BM_TYPED(n->out->dtype, T *GX = bm_grad_buf(tape, n->in[0]); if (!GX) break;  \
                 const T *X = n->in[0]->data;                                        \
                 const T g = (T)n->params.f[P_LAMBDA] * *(const T *)n->out->grad;    \
                 for (size_t i = 0; i < n->in[0]->size; i++) {                       \
                     T x = X[i];                                                     \
                     GX[i] += g * (DTERM);                                           \
                 });                                                                 \
    }                                                                                \
    const bm_op bm_op_##NAME = {#NAME, 1, 0, penalty_infer, NAME##_forward, NAME##_backward}; \
    bm_tensor *bm_##NAME(bm_tape *t, bm_tensor *x, double lambda)                    \
    {                                                                                \
        bm_op_params p = {{lambda, 0.0}, {0}, NULL};                                 \
        if (t && bm_tape_status(t) == BM_OK && !(lambda >= 0.0 && isfinite(lambda))) { \
            bm_tape_fail(t, BM_ERR_ARG, "bm_" #NAME ": lambda %g must be finite and >= 0", \
                         lambda);                                                    \
            return NULL;                                                             \
        }                                                                            \
        return bm_tape_apply(t, &bm_op_##NAME, &x, 1, &p);                           \
    }

PENALTY(l1, BM_FABS(x), SIGN(x))
PENALTY(l2, x * x, 2 * x)

const bm_op bm_op_dropout = {"dropout", 1, 0, dropout_infer, dropout_forward, dropout_backward};

bm_tensor *bm_dropout(bm_tape *t, bm_tensor *x, double rate, bm_rng *rng)
{
    bm_op_params p = {{rate, 0.0}, {0}, rng};
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
