/* softmax.c — softmax and log-softmax over the last axis.
 * out: same shape as x [R,C] (R = product of leading axes)   in: x. */
#include "ops_internal.h"

static int rows_infer(bm_tape *tape, bm_node *n)
{
    char s[64];
    if (n->in[0]->rank < 1) {
        bm_tape_fail(tape, BM_ERR_RANK, "bm_%s: %s: needs rank >= 1", n->op->name,
                     BM_SHP(n->in[0], s));
        return -1;
    }
    bm_same_shape_as(n->out, n->in[0]);
    return 0;
}

static size_t last_dim(const bm_tensor *t) { return t->shape[t->rank - 1]; }

/* y = exp(x − max) / Σ exp(x − max), row by row (log: x − max − log Σ). */
static void softmax_rows(bm_node *n, int want_log)
{
    size_t C = last_dim(n->in[0]), R = n->out->size / C;
    BM_TYPED(n->out->dtype, const T *X = n->in[0]->data; T *Y = n->out->data;
             for (size_t r = 0; r < R; r++) {
                 const T *restrict x = X + r * C;
                 T *restrict y = Y + r * C;
                 T m, s;
                 BM_SOFTMAX_ROW(T, x, y, C, m, s);
                 if (want_log) {
                     T ls = BM_LOG(s);
                     for (size_t j = 0; j < C; j++)
                         y[j] = x[j] - m - ls;
                 } else {
                     for (size_t j = 0; j < C; j++)
                         y[j] /= s;
                 }
             });
}

static void softmax_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    softmax_rows(n, 0);
}

/* Jacobian-vector product: dx = s ⊙ (g − Σ g·s) (stored when x has no
 * gradient yet this pass). */
static void softmax_backward(bm_tape *tape, bm_node *n)
{
    size_t C = last_dim(n->in[0]), R = n->out->size / C;
    int fresh;
    BM_TYPED(n->out->dtype, T *GX = bm_grad_buf_fresh(tape, n->in[0], &fresh); if (!GX) break;
             const T *S = n->out->data; const T *G = n->out->grad;
             for (size_t r = 0; r < R; r++) {
                 const T *restrict s = S + r * C, *restrict g = G + r * C;
                 T *restrict gx = GX + r * C;
                 T dot = 0;
                 for (size_t j = 0; j < C; j++)
                     dot += g[j] * s[j];
                 if (fresh)
                     for (size_t j = 0; j < C; j++)
                         gx[j] = s[j] * (g[j] - dot);
                 else
                     for (size_t j = 0; j < C; j++)
                         gx[j] += s[j] * (g[j] - dot);
             });
}

static void log_softmax_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    softmax_rows(n, 1);
}

/* dx = g − softmax(x)·Σ g, with softmax = exp(y). */
static void log_softmax_backward(bm_tape *tape, bm_node *n)
{
    size_t C = last_dim(n->in[0]), R = n->out->size / C;
    int fresh;
    BM_TYPED(n->out->dtype, T *GX = bm_grad_buf_fresh(tape, n->in[0], &fresh); if (!GX) break;
             const T *Y = n->out->data; const T *G = n->out->grad;
             for (size_t r = 0; r < R; r++) {
                 const T *restrict y = Y + r * C, *restrict g = G + r * C;
                 T *restrict gx = GX + r * C;
                 T gs = 0;
                 for (size_t j = 0; j < C; j++)
                     gs += g[j];
                 if (fresh)
                     for (size_t j = 0; j < C; j++)
                         gx[j] = g[j] - BM_EXP(y[j]) * gs;
                 else
                     for (size_t j = 0; j < C; j++)
                         gx[j] += g[j] - BM_EXP(y[j]) * gs;
             });
}

const bm_op bm_op_softmax = {"softmax", 1, 0, rows_infer, softmax_forward, softmax_backward};
const bm_op bm_op_log_softmax = {"log_softmax", 1, 0, rows_infer, log_softmax_forward,
                                 log_softmax_backward};

bm_tensor *bm_softmax(bm_tape *t, bm_tensor *x)
{
    return bm_tape_apply(t, &bm_op_softmax, &x, 1, NULL);
}

bm_tensor *bm_log_softmax(bm_tape *t, bm_tensor *x)
{
    return bm_tape_apply(t, &bm_op_log_softmax, &x, 1, NULL);
}
