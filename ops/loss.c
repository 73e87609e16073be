/* loss.c — losses; each returns a scalar (rank 0) mean over the batch.
 * cce, softmax_cce  out: []  in: p or z [N,C], y class indices [N] or [N,C]
 * bce, mse, mae     out: []  in: ŷ, y of one shape (mean over every element)
 * Targets (input 1) receive no gradient. */
#include "ops_internal.h"

enum { P_INDICES = 0 }; /* params.i[0]: 1 when targets are class indices */
enum { TARGETS = 1u << 1 }; /* nondiff_mask: input 1 */

static int class_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *p = n->in[0], *y = n->in[1];
    char sp[64], sy[64];
    if (p->rank != 2) {
        bm_tape_fail(tape, BM_ERR_RANK, "bm_%s: predictions %s must be [N,C]", n->op->name,
                     BM_SHP(p, sp));
        return -1;
    }
    if (y->rank == 1 && y->shape[0] == p->shape[0]) {
        n->params.i[P_INDICES] = 1;
    } else if (bm_tensor_same_shape(p, y)) {
        n->params.i[P_INDICES] = 0;
    } else {
        bm_tape_fail(tape, BM_ERR_SHAPE,
                     "bm_%s: predictions %s, targets %s: targets must be class indices [%zu] "
                     "or one-hot [%zu,%zu]",
                     n->op->name, BM_SHP(p, sp), BM_SHP(y, sy), p->shape[0], p->shape[0],
                     p->shape[1]);
        return -1;
    }
    n->out->rank = 0;
    return 0;
}

/* Is v a class index of 0..C-1? */
static int is_class(double v, size_t C) { return v >= 0.0 && v < (double)C && v == (double)(long)v; }

/* Class index of row r, or -1 (error set) when it is not one. */
static long class_of(bm_tape *tape, const bm_node *n, size_t r)
{
    double v = bm_tensor_get(n->in[1], r);
    size_t C = n->in[0]->shape[1];
    if (!is_class(v, C)) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: target %g at row %zu is not a class index in 0..%zu",
                     n->op->name, v, r, C - 1);
        return -1;
    }
    return (long)v;
}

#define CLIP(T, v) ((v) < (T)BM_PROB_CLIP ? (T)BM_PROB_CLIP : (v) > (T)(1 - BM_PROB_CLIP) ? (T)(1 - BM_PROB_CLIP) : (v))

/* −Σ y·log clip(ŷ), averaged over rows. */
static void cce_forward(bm_tape *tape, bm_node *n)
{
    size_t N = n->in[0]->shape[0], C = n->in[0]->shape[1];
    int idx = n->params.i[P_INDICES] != 0;
    BM_TYPED(n->out->dtype, const T *P = n->in[0]->data; const T *Y = n->in[1]->data;
             double total = 0; for (size_t r = 0; r < N; r++) {
                 if (idx) {
                     long c = class_of(tape, n, r);
                     if (c < 0) return;
                     total -= (double)BM_LOG(CLIP(T, P[r * C + (size_t)c]));
                 } else {
                     for (size_t j = 0; j < C; j++)
                         if (Y[r * C + j] != 0)
                             total -= (double)(Y[r * C + j] * BM_LOG(CLIP(T, P[r * C + j])));
                 }
             } *(T *)n->out->data = (T)(total / (double)N););
}

/* dŷ = −y / clip(ŷ) / N. */
static void cce_backward(bm_tape *tape, bm_node *n)
{
    size_t N = n->in[0]->shape[0], C = n->in[0]->shape[1];
    int idx = n->params.i[P_INDICES] != 0;
    BM_TYPED(n->out->dtype, T *GP = bm_grad_buf(tape, n->in[0]); if (!GP) break;
             const T *P = n->in[0]->data; const T *Y = n->in[1]->data;
             const T g = *(const T *)n->out->grad / (T)N;
             for (size_t r = 0; r < N; r++) {
                 if (idx) {
                     size_t c = (size_t)Y[r];
                     GP[r * C + c] -= g / CLIP(T, P[r * C + c]);
                 } else {
                     for (size_t j = 0; j < C; j++)
                         GP[r * C + j] -= g * Y[r * C + j] / CLIP(T, P[r * C + j]);
                 }
             });
}

static int softmax_cce_infer(bm_tape *tape, bm_node *n)
{
    if (class_infer(tape, n) != 0)
        return -1;
    n->saved_bytes = n->in[0]->size * bm_dtype_size(n->in[0]->dtype); /* softmax */
    return 0;
}

/* Product of row sums at which the f32 class-index path takes its log. */
#define LOG_BATCH 0x1p500

/* loss_r = lse(z_r) − Σ y·z_r with Σy = 1 for indices; saves softmax(z).
 * lse = m + log Σ exp(z − m) with m the row's maximum, so each Σ is in
 * [1, C]. f32 with class indices, a dense layer's usual case, sums
 * (m − z_c) in double and the logs of the Σ as the log of their product:
 * one double log per LOG_BATCH of product (a few per batch) instead of a
 * logf per row, as exact as the logf it replaces or more. */
static void softmax_cce_forward(bm_tape *tape, bm_node *n)
{
    size_t N = n->in[0]->shape[0], C = n->in[0]->shape[1];
    int idx = n->params.i[P_INDICES] != 0;
    BM_TYPED(n->out->dtype, const T *Z = n->in[0]->data; const T *Y = n->in[1]->data;
             T *S = n->saved; double total = 0, prod = 1;
             const int batch_log = idx && sizeof(T) == sizeof(float);
             for (size_t r = 0; r < N; r++) {
                 const T *restrict z = Z + r * C;
                 T *restrict s = S + r * C;
                 T m, sum;
                 BM_SOFTMAX_ROW(T, z, s, C, m, sum);
                 for (size_t j = 0; j < C; j++)
                     s[j] /= sum;
                 if (batch_log) {
                     double c = (double)Y[r];
                     if (!is_class(c, C)) { class_of(tape, n, r); return; }
                     total += (double)m - (double)z[(size_t)c];
                     prod *= (double)sum;
                     if (prod > LOG_BATCH) {
                         total += log(prod);
                         prod = 1;
                     }
                     continue;
                 }
                 T lse = m + BM_LOG(sum);
                 if (idx) {
                     double c = (double)Y[r];
                     if (!is_class(c, C)) { class_of(tape, n, r); return; }
                     total += (double)(lse - z[(size_t)c]);
                 } else {
                     for (size_t j = 0; j < C; j++)
                         total += (double)(Y[r * C + j] * (lse - z[j]));
                 }
             } if (batch_log) total += log(prod);
             *(T *)n->out->data = (T)(total / (double)N););
}

/* dz = (ŷ·Σy − y) / N, i.e. (ŷ − y)/N for one-hot or index targets
 * (stored when z has no gradient yet this pass). */
static void softmax_cce_backward(bm_tape *tape, bm_node *n)
{
    size_t N = n->in[0]->shape[0], C = n->in[0]->shape[1];
    int idx = n->params.i[P_INDICES] != 0, fresh;
    BM_TYPED(n->out->dtype, T *GZ = bm_grad_buf_fresh(tape, n->in[0], &fresh); if (!GZ) break;
             const T *S = n->saved; const T *Y = n->in[1]->data;
             const T g = *(const T *)n->out->grad / (T)N;
             for (size_t r = 0; r < N; r++) {
                 const T *restrict s = S + r * C;
                 T *restrict gz = GZ + r * C;
                 if (idx && fresh) {
                     for (size_t j = 0; j < C; j++)
                         gz[j] = g * s[j];
                     gz[(size_t)Y[r]] -= g;
                 } else if (idx) {
                     for (size_t j = 0; j < C; j++)
                         gz[j] += g * s[j];
                     gz[(size_t)Y[r]] -= g;
                 } else {
                     const T *restrict y = Y + r * C;
                     T ysum = 0;
                     for (size_t j = 0; j < C; j++)
                         ysum += y[j];
                     if (fresh)
                         for (size_t j = 0; j < C; j++)
                             gz[j] = g * (s[j] * ysum - y[j]);
                     else
                         for (size_t j = 0; j < C; j++)
                             gz[j] += g * (s[j] * ysum - y[j]);
                 }
             });
}

static int pair_infer(bm_tape *tape, bm_node *n)
{
    char sp[64], sy[64];
    if (!bm_tensor_same_shape(n->in[0], n->in[1])) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: predictions %s and targets %s differ in shape",
                     n->op->name, BM_SHP(n->in[0], sp), BM_SHP(n->in[1], sy));
        return -1;
    }
    n->out->rank = 0;
    return 0;
}

/* Define a mean-over-elements loss: value LOSS(p, y), gradient DLOSS(p, y). */
#define PAIR_LOSS(NAME, LOSS, DLOSS)                                                  \
    static void NAME##_forward(bm_tape *tape, bm_node *n)                            \
    {                                                                                \
        (void)tape;                                                                  \
        size_t cnt = n->in[0]->size;                                                 \
        BM_TYPED(n->out->dtype, const T *P = n->in[0]->data; const T *Y = n->in[1]->data; \
                 double total = 0; for (size_t i = 0; i < cnt; i++) {                \
                     T p = P[i], y = Y[i];                                           \
                     total += (double)(LOSS);                                        \
                 } *(T *)n->out->data = (T)(total / (double)cnt););                  \
    }                                                                                \
    static void NAME##_backward(bm_tape *tape, bm_node *n)                           \
    {                                                                                \
        size_t cnt = n->in[0]->size;                                                 \
        int fresh;                                                                   \
        BM_TYPED(n->out->dtype, T *restrict GP = bm_grad_buf_fresh(tape, n->in[0], &fresh); \
                 if (!GP) break;                                                     \
                 const T *restrict P = n->in[0]->data;                               \
                 const T *restrict Y = n->in[1]->data;                               \
                 const T g = *(const T *)n->out->grad / (T)cnt;                      \
                 if (fresh) {                                                        \
                     for (size_t i = 0; i < cnt; i++) {                              \
                         T p = P[i], y = Y[i];                                       \
                         GP[i] = g * (DLOSS);                                        \
                     }                                                               \
                 } else {                                                            \
                     for (size_t i = 0; i < cnt; i++) {                              \
                         T p = P[i], y = Y[i];                                       \
                         GP[i] += g * (DLOSS);                                       \
                     }                                                               \
                 });                                                                 \
    }                                                                                \
    const bm_op bm_op_##NAME = {#NAME, 2, TARGETS, pair_infer, NAME##_forward,       \
                                NAME##_backward};                                    \
    bm_tensor *bm_##NAME(bm_tape *t, bm_tensor *pred, bm_tensor *targets)            \
    {                                                                                \
        bm_tensor *in[2] = {pred, targets};                                          \
        return bm_tape_apply(t, &bm_op_##NAME, in, 2, NULL);                         \
    }

#define PC(p) CLIP(T, p)
#define SIGN(v) (T)(((v) > 0) - ((v) < 0))

PAIR_LOSS(bce, -(y * BM_LOG(PC(p)) + (1 - y) * BM_LOG(1 - PC(p))),
          (PC(p) - y) / (PC(p) * (1 - PC(p))))
PAIR_LOSS(mse, (p - y) * (p - y), 2 * (p - y))
PAIR_LOSS(mae, BM_FABS(p - y), SIGN(p - y))

const bm_op bm_op_cce = {"cce", 2, TARGETS, class_infer, cce_forward, cce_backward};
const bm_op bm_op_softmax_cce = {"softmax_cce", 2, TARGETS, softmax_cce_infer,
                                 softmax_cce_forward, softmax_cce_backward};

bm_tensor *bm_cce(bm_tape *t, bm_tensor *probs, bm_tensor *targets)
{
    bm_tensor *in[2] = {probs, targets};
    return bm_tape_apply(t, &bm_op_cce, in, 2, NULL);
}

bm_tensor *bm_softmax_cce(bm_tape *t, bm_tensor *logits, bm_tensor *targets)
{
    bm_tensor *in[2] = {logits, targets};
    return bm_tape_apply(t, &bm_op_softmax_cce, in, 2, NULL);
}
