/* loss_more.c — more losses (issue 10); each a scalar [].
 * cross_entropy  in: logits z [N,C], class indices y [N]; ignore_index,
 *                label smoothing ε (torch.nn.functional.cross_entropy):
 *                mean over the rows not ignored of −Σ_j q_j·log softmax(z)_j,
 *                q = (1 − ε)·onehot(y) + ε/C
 * nll_loss       in: log-probabilities [N,C], y [N]; ignore_index
 * huber          in: ŷ, y of one shape; delta (torch.nn.HuberLoss, mean)
 * kl_div         in: log-probabilities x, probabilities p of one shape
 *                (torch.nn.functional.kl_div, reduction 'mean'):
 *                mean of p·(log p − x), 0 where p = 0
 * Targets get no gradient. The row weights (q over the count of rows kept)
 * depend on the labels only: the forward saves them, and the vjps, written
 * in ops, read them as constants. */
#include <stdio.h>

#include "ops_internal.h"

typedef struct ce_params {
    double smoothing; /* ε in [0, 1) */
    double ignore;    /* a label to leave out (BM_NO_IGNORE: none) */
} ce_params;

typedef struct huber_params {
    double delta;
} huber_params;

enum { TARGETS = 1u << 1 };

static const ce_params *ce_of(const bm_node *n) { return n->params; }

/* z [N,C] and y [N]; saved: Q [N,C] (q per kept row over the count) and
 * W [N] (Σ_j Q over the row: 1/count kept, 0 ignored). */
static int classes_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *z = n->in[0], *y = n->in[1];
    char sz[64], sy[64];
    if (z->rank != 2 || y->rank != 1 || y->shape[0] != z->shape[0]) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: %s and targets %s: need [N,C] and class indices [N]",
                     n->op->name, BM_SHP(z, sz), BM_SHP(y, sy));
        return -1;
    }
    n->out->rank = 0;
    n->saved_bytes = (z->size + z->shape[0]) * bm_dtype_size(z->dtype);
    return 0;
}

/* Fill the saved Q and W from the labels; returns the count of kept rows
 * or −1 (error set) for a label that is no class. */
static long class_weights(bm_tape *tape, bm_node *n)
{
    const bm_tensor *z = n->in[0], *y = n->in[1];
    size_t N = z->shape[0], C = z->shape[1];
    const ce_params *p = ce_of(n);
    long kept = 0;
    for (size_t r = 0; r < N; r++) {
        double v = bm_tensor_get(y, r);
        if (v == p->ignore)
            continue;
        if (!(v >= 0 && v < (double)C && v == (double)(long)v)) {
            bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: target %g at row %zu is not a class index in 0..%zu",
                         n->op->name, v, r, C - 1);
            return -1;
        }
        kept++;
    }
    bm_tensor Q = {.dtype = z->dtype, .size = z->size, .data = n->saved};
    bm_tensor W = {.dtype = z->dtype, .size = N,
                   .data = (unsigned char *)n->saved + z->size * bm_dtype_size(z->dtype)};
    double share = kept ? 1.0 / (double)kept : 0.0, eps = p->smoothing;
    for (size_t r = 0; r < N; r++) {
        double v = bm_tensor_get(y, r);
        int keep = v != p->ignore;
        bm_tensor_set(&W, r, keep ? share : 0.0);
        for (size_t j = 0; j < C; j++) {
            double q = keep ? (1 - eps) * ((double)j == v) + eps / (double)C : 0.0;
            bm_tensor_set(&Q, r * C + j, q * share);
        }
    }
    return kept;
}

/* −Σ Q·log softmax(z) (log-sum-exp per row, in double). */
static void cross_entropy_forward(bm_tape *tape, bm_node *n)
{
    if (class_weights(tape, n) < 0)
        return;
    const bm_tensor *z = n->in[0];
    size_t N = z->shape[0], C = z->shape[1];
    bm_tensor Q = {.dtype = z->dtype, .size = z->size, .data = n->saved};
    double total = 0;
    for (size_t r = 0; r < N; r++) {
        double m = bm_tensor_get(z, r * C), s = 0;
        for (size_t j = 1; j < C; j++)
            m = fmax(m, bm_tensor_get(z, r * C + j));
        for (size_t j = 0; j < C; j++)
            s += exp(bm_tensor_get(z, r * C + j) - m);
        double lse = m + log(s);
        for (size_t j = 0; j < C; j++) {
            double q = bm_tensor_get(&Q, r * C + j);
            if (q != 0)
                total -= q * (bm_tensor_get(z, r * C + j) - lse);
        }
    }
    bm_tensor_set(n->out, 0, total);
}

/* −Σ Q·x (x log-probabilities). */
static void nll_loss_forward(bm_tape *tape, bm_node *n)
{
    if (class_weights(tape, n) < 0)
        return;
    const bm_tensor *x = n->in[0];
    bm_tensor Q = {.dtype = x->dtype, .size = x->size, .data = n->saved};
    double total = 0;
    for (size_t i = 0; i < x->size; i++) {
        double q = bm_tensor_get(&Q, i);
        if (q != 0)
            total -= q * bm_tensor_get(x, i);
    }
    bm_tensor_set(n->out, 0, total);
}

static bm_tensor *saved_q(bm_tape *t, const bm_node *n)
{
    const bm_tensor *z = n->in[0];
    return bm_op_saved_tensor(t, n, 0, z->dtype, 2, z->shape);
}

/* dZ = (softmax(z)·W − Q)·G. */
static bm_status cross_entropy_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *z = n->in[0];
    size_t ws[2] = {z->shape[0], 1};
    bm_tensor *W = bm_op_saved_tensor(t, n, z->size * bm_dtype_size(z->dtype), z->dtype, 2, ws);
    bm_tensor *d = bm_sub(t, bm_mul(t, bm_softmax(t, z), W), saved_q(t, n));
    dx[0] = bm_mul(t, d, g);
    return bm_tape_status(t);
}

/* dX = −Q·G. */
static bm_status nll_loss_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_mul(t, saved_q(t, n), bm_neg(t, g));
    return bm_tape_status(t);
}

static int pair_infer(bm_tape *tape, bm_node *n)
{
    char sp[64], sy[64];
    if (!bm_tensor_same_shape(n->in[0], n->in[1])) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: %s and targets %s differ in shape", n->op->name,
                     BM_SHP(n->in[0], sp), BM_SHP(n->in[1], sy));
        return -1;
    }
    n->out->rank = 0;
    return 0;
}

static double delta_of(const bm_node *n) { return ((const huber_params *)n->params)->delta; }

/* mean of ½d² for |d| ≤ δ, δ(|d| − ½δ) beyond, d = ŷ − y. */
static void huber_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    double delta = delta_of(n), total = 0;
    size_t cnt = n->in[0]->size;
    for (size_t i = 0; i < cnt; i++) {
        double d = bm_tensor_get(n->in[0], i) - bm_tensor_get(n->in[1], i), a = fabs(d);
        total += a <= delta ? 0.5 * d * d : delta * (a - 0.5 * delta);
    }
    bm_tensor_set(n->out, 0, total / (double)cnt);
}

/* dŶ = clamp(ŷ − y, −δ, δ)·G/n. */
static bm_status huber_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    double delta = delta_of(n);
    bm_tensor *d = bm_clamp(t, bm_sub(t, n->in[0], n->in[1]), -delta, delta);
    dx[0] = bm_mul(t, d, bm_scale(t, g, 1.0 / (double)n->in[0]->size));
    return bm_tape_status(t);
}

/* mean of p·(log p − x), 0 where p = 0. */
static void kl_div_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    double total = 0;
    size_t cnt = n->in[0]->size;
    for (size_t i = 0; i < cnt; i++) {
        double p = bm_tensor_get(n->in[1], i);
        if (p > 0)
            total += p * (log(p) - bm_tensor_get(n->in[0], i));
    }
    bm_tensor_set(n->out, 0, total / (double)cnt);
}

/* dX = −p·G/n. */
static bm_status kl_div_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_mul(t, n->in[1], bm_scale(t, g, -1.0 / (double)n->in[0]->size));
    return bm_tape_status(t);
}

static void ce_describe(const bm_node *n, char *buf, size_t len)
{
    const ce_params *p = n->params;
    int w = p->ignore == BM_NO_IGNORE ? snprintf(buf, len, "no ignore")
                                       : snprintf(buf, len, "ignore %g", p->ignore);
    if (p->smoothing && w > 0 && (size_t)w < len)
        snprintf(buf + w, len - (size_t)w, ", smoothing %g", p->smoothing);
}

const bm_op bm_op_cross_entropy = {
    .name = "cross_entropy", .arity = 2, .nondiff = TARGETS, .params_size = sizeof(ce_params),
    .infer = classes_infer, .forward = cross_entropy_forward, .vjp = cross_entropy_vjp,
    .describe = ce_describe,
};
const bm_op bm_op_nll_loss = {
    .name = "nll_loss", .arity = 2, .nondiff = TARGETS, .params_size = sizeof(ce_params),
    .infer = classes_infer, .forward = nll_loss_forward, .vjp = nll_loss_vjp,
    .describe = ce_describe,
};
static void huber_describe(const bm_node *n, char *buf, size_t len)
{
    snprintf(buf, len, "delta=%g", delta_of(n));
}

const bm_op bm_op_huber = {
    .name = "huber", .arity = 2, .nondiff = TARGETS, .params_size = sizeof(huber_params),
    .infer = pair_infer, .forward = huber_forward, .vjp = huber_vjp,
    .describe = huber_describe,
};
const bm_op bm_op_kl_div = {
    .name = "kl_div", .arity = 2, .nondiff = TARGETS, .infer = pair_infer,
    .forward = kl_div_forward, .vjp = kl_div_vjp,
};

bm_tensor *bm_cross_entropy(bm_tape *t, bm_tensor *logits, bm_tensor *targets,
                            double ignore_index, double smoothing)
{
    ce_params p = {.smoothing = smoothing, .ignore = ignore_index};
    bm_tensor *in[2] = {logits, targets};
    if (t && bm_tape_status(t) == BM_OK && !(smoothing >= 0 && smoothing < 1)) {
        bm_tape_fail(t, BM_ERR_ARG, "bm_cross_entropy: label smoothing %g must be in [0, 1)",
                     smoothing);
        return NULL;
    }
    return bm_tape_apply(t, &bm_op_cross_entropy, in, 2, &p);
}

bm_tensor *bm_nll_loss(bm_tape *t, bm_tensor *log_probs, bm_tensor *targets, double ignore_index)
{
    ce_params p = {.smoothing = 0, .ignore = ignore_index};
    bm_tensor *in[2] = {log_probs, targets};
    return bm_tape_apply(t, &bm_op_nll_loss, in, 2, &p);
}

bm_tensor *bm_huber(bm_tape *t, bm_tensor *pred, bm_tensor *targets, double delta)
{
    huber_params p = {.delta = delta};
    bm_tensor *in[2] = {pred, targets};
    if (t && bm_tape_status(t) == BM_OK && !(delta > 0 && isfinite(delta))) {
        bm_tape_fail(t, BM_ERR_ARG, "bm_huber: delta %g must be finite and > 0", delta);
        return NULL;
    }
    return bm_tape_apply(t, &bm_op_huber, in, 2, &p);
}

bm_tensor *bm_smooth_l1(bm_tape *t, bm_tensor *pred, bm_tensor *targets, double beta)
{
    return bm_scale(t, bm_huber(t, pred, targets, beta), 1.0 / beta);
}

bm_tensor *bm_kl_div(bm_tape *t, bm_tensor *log_probs, bm_tensor *targets)
{
    bm_tensor *in[2] = {log_probs, targets};
    return bm_tape_apply(t, &bm_op_kl_div, in, 2, NULL);
}
