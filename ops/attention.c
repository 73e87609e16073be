/* attention.c — scaled dot-product attention (issue 10), fused:
 *   scaled_dot_product_attention  out [..,T,Dv]  in q [..,T,D], k [..,S,D],
 *                                 v [..,S,Dv] (the same leading axes, e.g.
 *                                 [B,H]); optional causal mask (row i sees
 *                                 keys j ≤ i, torch's is_causal), scale
 *                                 (1/√D by default)
 *   attention_probs               out [..,T,S]   in q, k: the probabilities
 *                                 P = softmax(scale·q·kᵀ, masked)
 * Per head: P = scale·Q·Kᵀ on the GEMM, a row softmax over the unmasked
 * entries only (no −inf is ever written, so anomaly detection stays quiet),
 * out = P·V. The forward keeps P in the node's saved values, or with
 * recompute keeps only one head's P in scratch and the vjp computes it
 * again. The vjp is written in ops on P = attention_probs(q, k) (copied
 * from the saved values when there are some): dV = Pᵀ·G, dS =
 * softmax_grad(P, G·Vᵀ), dQ = scale·dS·K, dK = scale·dSᵀ·Q — so second
 * derivatives come by construction. */
#include <stdio.h>

#include "ops_internal.h"

typedef struct attn_params {
    double scale;
    int causal, recompute;
    const bm_node *src; /* attention_probs: copy P from this node's saved values */
} attn_params;

#define T float
#define F(name) name##_f32
#include "attention_kernels.inc"
#undef T
#undef F
#define T double
#define F(name) name##_f64
#include "attention_kernels.inc"
#undef T
#undef F

static const attn_params *ap_of(const bm_node *n) { return n->params; }

/* Sizes: BH heads, T queries, S keys, D and Dv features. */
typedef struct attn_dims {
    size_t BH, T, S, D, Dv;
} attn_dims;

static attn_dims dims(const bm_tensor *q, const bm_tensor *k, const bm_tensor *v)
{
    int r = q->rank;
    attn_dims d = {.T = q->shape[r - 2], .D = q->shape[r - 1], .S = k->shape[r - 2]};
    d.BH = q->size / (d.T * d.D);
    d.Dv = v ? v->shape[r - 1] : d.S;
    return d;
}

static size_t align64(size_t b) { return (b + 63) & ~(size_t)63; }

/* Check q, k (and v): ranks 2..4, the same leading axes, D and S agreeing. */
static int check_qkv(bm_tape *tape, const bm_node *n, const bm_tensor *q, const bm_tensor *k,
                     const bm_tensor *v)
{
    char sq[64], sk[64], sv[64] = "";
    int r = q->rank;
    if (v)
        BM_SHP(v, sv);
    if (r < 2 || k->rank != r || (v && v->rank != r)) {
        bm_tape_fail(tape, BM_ERR_RANK, "bm_%s: q %s, k %s%s%s: need one rank of 2..4 "
                     "([B,H,T,D])", n->op->name, BM_SHP(q, sq), BM_SHP(k, sk), v ? ", v " : "",
                     sv);
        return -1;
    }
    int bad = k->shape[r - 1] != q->shape[r - 1] || (v && v->shape[r - 2] != k->shape[r - 2]);
    for (int a = 0; a < r - 2; a++)
        bad |= k->shape[a] != q->shape[a] || (v && v->shape[a] != q->shape[a]);
    if (bad) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: q %s, k %s%s%s: leading axes, D (q, k) and "
                     "S (k, v) must agree", n->op->name, BM_SHP(q, sq), BM_SHP(k, sk),
                     v ? ", v " : "", sv);
        return -1;
    }
    if (!(isfinite(ap_of(n)->scale) && ap_of(n)->scale > 0)) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: scale %g must be finite and > 0", n->op->name,
                     ap_of(n)->scale);
        return -1;
    }
    return 0;
}

static size_t workspace(const bm_tape *tape, bm_dtype dt, const attn_dims *d)
{
    size_t a = bm_matmul_workspace(tape, dt, 0, 1, d->T, d->S, d->D);
    size_t b = bm_matmul_workspace(tape, dt, 0, 0, d->T, d->Dv, d->S);
    return a > b ? a : b;
}

static int sdpa_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *q = n->in[0], *k = n->in[1], *v = n->in[2];
    if (check_qkv(tape, n, q, k, v))
        return -1;
    attn_dims d = dims(q, k, v);
    size_t esz = bm_dtype_size(q->dtype), P = d.T * d.S * esz;
    if (ap_of(n)->recompute)
        bm_op_set_scratch(n, align64(P) + workspace(tape, q->dtype, &d));
    else {
        bm_op_set_saved(n, d.BH * P);
        bm_op_set_scratch(n, workspace(tape, q->dtype, &d));
    }
    size_t shape[BM_MAX_RANK];
    memcpy(shape, q->shape, sizeof shape);
    shape[q->rank - 1] = d.Dv;
    return bm_op_set_output(tape, n, q->dtype, q->rank, shape) == BM_OK ? 0 : -1;
}

static int probs_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *q = n->in[0], *k = n->in[1];
    if (check_qkv(tape, n, q, k, NULL))
        return -1;
    attn_dims d = dims(q, k, NULL);
    bm_op_set_scratch(n, workspace(tape, q->dtype, &d));
    size_t shape[BM_MAX_RANK];
    memcpy(shape, q->shape, sizeof shape);
    shape[q->rank - 1] = d.S;
    return bm_op_set_output(tape, n, q->dtype, q->rank, shape) == BM_OK ? 0 : -1;
}

/* C [M,N] = alpha·op(A)·op(B) on the tape's threads, workspace ws. */
static void gemm(bm_tape *tape, bm_dtype dt, int tb, size_t M, size_t N, size_t K, double alpha,
                 const void *A, size_t lda, const void *B, size_t ldb, void *C, size_t ldc,
                 void *ws, size_t wsb)
{
    if (dt == BM_F64)
        bm_gemm_f64_ex(0, tb, M, N, K, alpha, A, lda, B, ldb, 0.0, C, ldc, bm_tape_pool(tape),
                       ws, wsb);
    else
        bm_gemm_f32_ex(0, tb, M, N, K, (float)alpha, A, lda, B, ldb, 0.0f, C, ldc,
                       bm_tape_pool(tape), ws, wsb);
}

/* P [T,S] of head h: softmax(scale·Q_h·K_hᵀ) under the mask. */
static void head_probs(bm_tape *tape, const bm_node *n, const attn_dims *d, size_t h, void *P,
                       void *ws, size_t wsb)
{
    const bm_tensor *q = n->in[0], *k = n->in[1];
    size_t esz = bm_dtype_size(q->dtype);
    const unsigned char *Q = (const unsigned char *)q->data + h * d->T * d->D * esz;
    const unsigned char *K = (const unsigned char *)k->data + h * d->S * d->D * esz;
    gemm(tape, q->dtype, 1, d->T, d->S, d->D, ap_of(n)->scale, Q, d->D, K, d->D, P, d->S, ws,
         wsb);
    if (q->dtype == BM_F64)
        masked_softmax_f64(P, d->T, d->S, ap_of(n)->causal);
    else
        masked_softmax_f32(P, d->T, d->S, ap_of(n)->causal);
}

/* out_h [T,Dv] = P_h [T,S] · V_h [S,Dv], P_h saved or in scratch. */
static void sdpa_forward(bm_tape *tape, bm_node *n)
{
    const bm_tensor *q = n->in[0], *v = n->in[2];
    attn_dims d = dims(q, n->in[1], v);
    size_t esz = bm_dtype_size(q->dtype), pb = d.T * d.S * esz;
    int keep = !ap_of(n)->recompute;
    unsigned char *ws = keep ? n->scratch : (unsigned char *)n->scratch + align64(pb);
    size_t wsb = n->scratch_bytes - (size_t)(ws - (unsigned char *)n->scratch);
    for (size_t h = 0; h < d.BH; h++) {
        void *P = keep ? (unsigned char *)n->saved + h * pb : n->scratch;
        head_probs(tape, n, &d, h, P, ws, wsb);
        gemm(tape, q->dtype, 0, d.T, d.Dv, d.S, 1.0, P, d.S,
             (const unsigned char *)v->data + h * d.S * d.Dv * esz, d.Dv,
             (unsigned char *)n->out->data + h * d.T * d.Dv * esz, d.Dv, ws, wsb);
    }
}

/* P of every head (copied from the forward's saved values when given). */
static void probs_forward(bm_tape *tape, bm_node *n)
{
    const attn_params *p = ap_of(n);
    if (p->src && bm_op_saved(p->src)) {
        memcpy(n->out->data, bm_op_saved(p->src), n->out->size * bm_dtype_size(n->out->dtype));
        return;
    }
    attn_dims d = dims(n->in[0], n->in[1], NULL);
    size_t pb = d.T * d.S * bm_dtype_size(n->out->dtype);
    for (size_t h = 0; h < d.BH; h++)
        head_probs(tape, n, &d, h, (unsigned char *)n->out->data + h * pb, n->scratch,
                   n->scratch_bytes);
}

/* ---- vjps ------------------------------------------------------------- */

extern const bm_op bm_op_scaled_dot_product_attention, bm_op_attention_probs;

/* Through P = softmax(S), S = scale·q·kᵀ, given dP: into dx[0], dx[1]. */
static void probs_grads(bm_tape *t, const bm_node *n, bm_tensor *P, bm_tensor *dP,
                        bm_tensor **dx)
{
    double scale = ap_of(n)->scale;
    bm_tensor *q = n->in[0], *k = n->in[1];
    int wq = bm_op_wants_grad(t, n, 0), wk = bm_op_wants_grad(t, n, 1);
    if (!wq && !wk)
        return;
    bm_tensor *dS = bm_softmax_grad(t, P, dP);
    if (wq)
        dx[0] = bm_scale(t, bm_matmul(t, dS, k), scale);
    if (wk)
        dx[1] = bm_scale(t, bm_matmul_ex(t, dS, q, 1, 0), scale);
}

static bm_status probs_vjp(bm_tape *t, bm_node *n, bm_tensor *u, bm_tensor **dx)
{
    probs_grads(t, n, n->out, u, dx);
    return bm_tape_status(t);
}

static bm_status sdpa_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    attn_params p = *ap_of(n);
    p.src = p.recompute ? NULL : n;
    bm_tensor *in[2] = {n->in[0], n->in[1]}, *v = n->in[2];
    bm_tensor *P = bm_tape_apply(t, &bm_op_attention_probs, in, 2, &p);
    if (bm_op_wants_grad(t, n, 2))
        dx[2] = bm_matmul_ex(t, P, g, 1, 0);
    if (bm_op_wants_grad(t, n, 0) || bm_op_wants_grad(t, n, 1))
        probs_grads(t, n, P, bm_matmul_ex(t, g, v, 0, 1), dx);
    return bm_tape_status(t);
}

static void attn_describe(const bm_node *n, char *buf, size_t len)
{
    const attn_params *p = ap_of(n);
    snprintf(buf, len, "scale=%g%s%s", p->scale, p->causal ? ", causal" : "",
             p->recompute ? ", recompute" : "");
}

const bm_op bm_op_scaled_dot_product_attention = {
    .name = "scaled_dot_product_attention", .arity = 3, .params_size = sizeof(attn_params),
    .infer = sdpa_infer, .forward = sdpa_forward, .vjp = sdpa_vjp, .describe = attn_describe,
};
const bm_op bm_op_attention_probs = {
    .name = "attention_probs", .arity = 2, .params_size = sizeof(attn_params),
    .infer = probs_infer, .forward = probs_forward, .vjp = probs_vjp, .describe = attn_describe,
};

/* ---- builders ------------------------------------------------------------ */

bm_sdpa_opts bm_sdpa_defaults(void)
{
    bm_sdpa_opts o = {.causal = 0, .scale = 0.0, .recompute = 0};
    return o;
}

/* Parameters from o (NULL: defaults); scale 0 becomes 1/√D of q. */
static attn_params params_of(const bm_sdpa_opts *o, const bm_tensor *q)
{
    bm_sdpa_opts d = o ? *o : bm_sdpa_defaults();
    attn_params p = {.scale = d.scale, .causal = d.causal != 0, .recompute = d.recompute != 0};
    if (d.scale == 0.0 && q && q->rank >= 1)
        p.scale = 1.0 / sqrt((double)q->shape[q->rank - 1]);
    return p;
}

bm_tensor *bm_scaled_dot_product_attention(bm_tape *t, bm_tensor *q, bm_tensor *k,
                                           bm_tensor *v, const bm_sdpa_opts *o)
{
    attn_params p = params_of(o, q);
    bm_tensor *in[3] = {q, k, v};
    return bm_tape_apply(t, &bm_op_scaled_dot_product_attention, in, 3, &p);
}

bm_tensor *bm_attention_probs(bm_tape *t, bm_tensor *q, bm_tensor *k, const bm_sdpa_opts *o)
{
    attn_params p = params_of(o, q);
    p.recompute = 0;
    bm_tensor *in[2] = {q, k};
    return bm_tape_apply(t, &bm_op_attention_probs, in, 2, &p);
}
