/* attention.c — scaled dot-product attention (issue 10), fused:
 *   scaled_dot_product_attention  out [..,T,Dv]  in q [..,T,D], k [..,S,D],
 *                                 v [..,S,Dv] (the same leading axes, e.g.
 *                                 [B,H]); optional causal mask (row i sees
 *                                 keys j ≤ i, torch's is_causal), scale
 *                                 (1/√D by default)
 *   attention_probs               out [..,T,S]   in q, k: the probabilities
 *                                 P = softmax(scale·q·kᵀ, masked)
 * Per head (the heads split over the tape's threads): P = scale·Q·Kᵀ on
 * the GEMM (causal: by blocks of rows, each with the keys it sees), a row
 * softmax over the unmasked entries only (no −inf is ever written, so
 * anomaly detection stays quiet), out = P·V. bm_scaled_dot_product_attention
 * keeps P by default: it records attention_probs and the product P·V
 * (causal_matmul when causal) as two nodes. With recompute it records the
 * fused op, which keeps one head's P at a time in scratch; its vjp computes
 * P = attention_probs(q, k) again. The gradients are written in ops on P:
 * dV = Pᵀ·G, dS = softmax_grad(P, G·Vᵀ), dQ = scale·dS·K, dK = scale·dSᵀ·Q
 * (causal: causal_matmul's products, which skip the masked half), so second
 * derivatives come by construction. */
#include <stdio.h>

#include "attention_internal.h"
#include "vec_internal.h"

typedef struct attn_params {
    double scale;
    int causal;
} attn_params;

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

/* Check q, k (and v): ranks 2..4, the same leading axes, D and S agreeing,
 * the scale; errors name op `name`. */
static int check_qkv(bm_tape *tape, const char *name, double scale, const bm_tensor *q,
                     const bm_tensor *k, const bm_tensor *v)
{
    char sq[64], sk[64], sv[64] = "";
    int r = q->rank;
    if (v)
        BM_SHP(v, sv);
    if (r < 2 || k->rank != r || (v && v->rank != r)) {
        bm_tape_fail(tape, BM_ERR_RANK, "bm_%s: q %s, k %s%s%s: need one rank of 2..4 "
                     "([B,H,T,D])", name, BM_SHP(q, sq), BM_SHP(k, sk), v ? ", v " : "", sv);
        return -1;
    }
    int bad = k->shape[r - 1] != q->shape[r - 1] || (v && v->shape[r - 2] != k->shape[r - 2]);
    for (int a = 0; a < r - 2; a++)
        bad |= k->shape[a] != q->shape[a] || (v && v->shape[a] != q->shape[a]);
    if (bad) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: q %s, k %s%s%s: leading axes, D (q, k) and "
                     "S (k, v) must agree", name, BM_SHP(q, sq), BM_SHP(k, sk), v ? ", v " : "",
                     sv);
        return -1;
    }
    if (!(isfinite(scale) && scale > 0)) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: scale %g must be finite and > 0", name, scale);
        return -1;
    }
    return 0;
}

/* One thread's products run single-threaded: the heads are split over the
 * threads instead (each head by one thread, in the same order for any
 * count: bit-identical results). A thread's slot of scratch: P (the fused
 * op only), then the GEMM workspace. */
static size_t slot_bytes(bm_dtype dt, const attn_dims *d, int with_p)
{
    size_t a = bm_gemm_workspace_bytes(dt, 0, 1, d->T, d->S, d->D, 1);
    size_t b = bm_gemm_workspace_bytes(dt, 0, 0, d->T, d->Dv, d->S, 1);
    return (with_p ? align64(d->T * d->S * bm_dtype_size(dt)) : 0) + align64(a > b ? a : b);
}

static int sdpa_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *q = n->in[0], *k = n->in[1], *v = n->in[2];
    if (check_qkv(tape, n->op->name, ap_of(n)->scale, q, k, v))
        return -1;
    attn_dims d = dims(q, k, v);
    bm_op_set_scratch(n, (size_t)bm_tape_threads(tape) * slot_bytes(q->dtype, &d, 1));
    size_t shape[BM_MAX_RANK];
    memcpy(shape, q->shape, sizeof shape);
    shape[q->rank - 1] = d.Dv;
    return bm_op_set_output(tape, n, q->dtype, q->rank, shape) == BM_OK ? 0 : -1;
}

static int probs_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *q = n->in[0], *k = n->in[1];
    if (check_qkv(tape, n->op->name, ap_of(n)->scale, q, k, NULL))
        return -1;
    attn_dims d = dims(q, k, NULL);
    bm_op_set_scratch(n, (size_t)bm_tape_threads(tape) * slot_bytes(q->dtype, &d, 0));
    size_t shape[BM_MAX_RANK];
    memcpy(shape, q->shape, sizeof shape);
    shape[q->rank - 1] = d.S;
    return bm_op_set_output(tape, n, q->dtype, q->rank, shape) == BM_OK ? 0 : -1;
}

/* C [M,N] = alpha·A·op(B) on the calling thread, workspace ws. */
static void gemm(bm_dtype dt, int tb, size_t M, size_t N, size_t K, double alpha, const void *A,
                 size_t lda, const void *B, size_t ldb, void *C, size_t ldc, void *ws, size_t wsb)
{
    if (dt == BM_F64)
        bm_gemm_f64_ex(0, tb, M, N, K, alpha, A, lda, B, ldb, 0.0, C, ldc, NULL, ws, wsb);
    else
        bm_gemm_f32_ex(0, tb, M, N, K, (float)alpha, A, lda, B, ldb, 0.0f, C, ldc, NULL, ws,
                       wsb);
}

/* One job over the heads: the node, its sizes, the scratch slots. */
typedef struct attn_job {
    const bm_node *n;
    attn_dims d;
    size_t slot, pbytes; /* bytes of a thread's slot; of its P (0: P is the output) */
    size_t tasks;        /* tasks (each with its own slot) the heads are dealt to */
    int apply_v;         /* sdpa: out = P·V; attention_probs: out = P */
} attn_job;

/* Rows [r0, r1) of a head and the keys they see: [0, keys). */
static size_t keys_of(const attn_job *j, size_t r1)
{
    return ap_of(j->n)->causal && r1 < j->d.S ? r1 : j->d.S;
}

/* Head h with scratch slot: P = softmax(scale·Q·Kᵀ) under the mask (block
 * by block of rows when causal), then out = P·V for sdpa. */
static void one_head(const attn_job *j, size_t h, unsigned char *slot)
{
    const bm_node *n = j->n;
    const attn_dims *d = &j->d;
    bm_dtype dt = n->out->dtype;
    size_t esz = bm_dtype_size(dt), pb = d->T * d->S * esz;
    unsigned char *ws = slot + j->pbytes;
    size_t wsb = j->slot - j->pbytes;
    unsigned char *P = j->apply_v ? slot : (unsigned char *)n->out->data + h * pb;
    const unsigned char *Q = (const unsigned char *)n->in[0]->data + h * d->T * d->D * esz;
    const unsigned char *K = (const unsigned char *)n->in[1]->data + h * d->S * d->D * esz;
    size_t rows = ap_of(n)->causal ? (size_t)BM_CAUSAL_ROWS : d->T;
    for (size_t r0 = 0; r0 < d->T; r0 += rows) {
        size_t r1 = r0 + rows < d->T ? r0 + rows : d->T, keys = keys_of(j, r1);
        unsigned char *Pr = P + r0 * d->S * esz;
        gemm(dt, 1, r1 - r0, keys, d->D, ap_of(n)->scale, Q + r0 * d->D * esz, d->D, K, d->D, Pr,
             d->S, ws, wsb);
        if (dt == BM_F64)
            bm_vec()->f64.masked_softmax((double *)Pr, r0, r1 - r0, d->S, ap_of(n)->causal);
        else
            bm_vec()->f32.masked_softmax((float *)Pr, r0, r1 - r0, d->S, ap_of(n)->causal);
        if (j->apply_v) /* out rows [r0, r1) = P[r0:r1, 0:keys] · V[0:keys] */
            gemm(dt, 0, r1 - r0, d->Dv, keys, 1.0, Pr, d->S,
                 (const unsigned char *)n->in[2]->data + h * d->S * d->Dv * esz, d->Dv,
                 (unsigned char *)n->out->data + (h * d->T + r0) * d->Dv * esz, d->Dv, ws, wsb);
    }
}

/* Task t takes heads t, t + tasks, ... with scratch slot t: one task per
 * slot the node reserved (the tape may have gained threads since). */
static void heads_task(void *ctx, size_t t, int worker)
{
    (void)worker;
    const attn_job *j = ctx;
    for (size_t h = t; h < j->d.BH; h += j->tasks)
        one_head(j, h, (unsigned char *)j->n->scratch + t * j->slot);
}

static void run_heads(bm_tape *tape, const bm_node *n, const attn_dims *d, int apply_v)
{
    attn_job j = {.n = n, .d = *d, .slot = slot_bytes(n->out->dtype, d, apply_v),
                  .apply_v = apply_v};
    j.pbytes = apply_v ? align64(d->T * d->S * bm_dtype_size(n->out->dtype)) : 0;
    size_t slots = j.slot ? n->scratch_bytes / j.slot : d->BH; /* 0: no scratch needed */
    j.tasks = slots < d->BH ? slots : d->BH;
    bm_pool_run(bm_tape_pool(tape), j.tasks, heads_task, &j);
}

static void sdpa_forward(bm_tape *tape, bm_node *n)
{
    attn_dims d = dims(n->in[0], n->in[1], n->in[2]);
    run_heads(tape, n, &d, 1);
}

/* P of every head. */
static void probs_forward(bm_tape *tape, bm_node *n)
{
    attn_dims d = dims(n->in[0], n->in[1], NULL);
    run_heads(tape, n, &d, 0);
}

/* ---- vjps ------------------------------------------------------------- */

extern const bm_op bm_op_scaled_dot_product_attention, bm_op_attention_probs;

/* Through P = softmax(S), S = scale·q·kᵀ, given dP: into dx[0], dx[1].
 * Causal: dS is lower-triangular, so the products skip its masked half. */
static void probs_grads(bm_tape *t, const bm_node *n, bm_tensor *P, bm_tensor *dP,
                        bm_tensor **dx)
{
    double scale = ap_of(n)->scale;
    bm_tensor *q = n->in[0], *k = n->in[1];
    int wq = bm_op_wants_grad(t, n, 0), wk = bm_op_wants_grad(t, n, 1);
    if (!wq && !wk)
        return;
    bm_tensor *dS = bm_softmax_grad(t, P, dP);
    if (ap_of(n)->causal) {
        dx[0] = wq ? bm_causal_matmul(t, dS, k, BM_CAUSAL_LB, scale) : NULL;
        dx[1] = wk ? bm_causal_matmul(t, dS, q, BM_CAUSAL_LTB, scale) : NULL;
        return;
    }
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

/* The fused op kept no probabilities: P = attention_probs(q, k) again. */
static bm_status sdpa_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    attn_params p = *ap_of(n);
    bm_tensor *in[2] = {n->in[0], n->in[1]}, *v = n->in[2];
    bm_tensor *P = bm_tape_apply(t, &bm_op_attention_probs, in, 2, &p);
    if (bm_op_wants_grad(t, n, 2))
        dx[2] = p.causal ? bm_causal_matmul(t, P, g, BM_CAUSAL_LTB, 1.0)
                         : bm_matmul_ex(t, P, g, 1, 0);
    if (bm_op_wants_grad(t, n, 0) || bm_op_wants_grad(t, n, 1))
        probs_grads(t, n, P, p.causal ? bm_causal_matmul(t, g, v, BM_CAUSAL_ABT, 1.0)
                                      : bm_matmul_ex(t, g, v, 0, 1), dx);
    return bm_tape_status(t);
}

static void attn_describe(const bm_node *n, char *buf, size_t len)
{
    const attn_params *p = ap_of(n);
    snprintf(buf, len, "scale=%g%s", p->scale, p->causal ? ", causal" : "");
}

/* Query-key pairs of one head the mask leaves: T·S, or Σ_i min(i + 1, S). */
static double pairs(const attn_dims *d, int causal)
{
    if (!causal)
        return (double)d->T * (double)d->S;
    size_t tri = d->T < d->S ? d->T : d->S; /* rows i < S see i + 1 keys, later rows S */
    return (double)tri * (double)(tri + 1) / 2 + (double)(d->T - tri) * (double)d->S;
}

/* A multiply and an add per unmasked pair per feature (of q·k and of P·v). */
static double sdpa_flops(const bm_node *n)
{
    attn_dims d = dims(n->in[0], n->in[1], n->in[2]);
    return 2.0 * (double)d.BH * pairs(&d, ap_of(n)->causal) * (double)(d.D + d.Dv);
}

static double probs_flops(const bm_node *n)
{
    attn_dims d = dims(n->in[0], n->in[1], NULL);
    return 2.0 * (double)d.BH * pairs(&d, ap_of(n)->causal) * (double)d.D;
}

const bm_op bm_op_scaled_dot_product_attention = {
    .name = "scaled_dot_product_attention", .arity = 3, .params_size = sizeof(attn_params),
    .infer = sdpa_infer, .forward = sdpa_forward, .vjp = sdpa_vjp, .describe = attn_describe,
    .flops = sdpa_flops,
};
const bm_op bm_op_attention_probs = {
    .name = "attention_probs", .arity = 2, .params_size = sizeof(attn_params),
    .infer = probs_infer, .forward = probs_forward, .vjp = probs_vjp, .describe = attn_describe,
    .flops = probs_flops,
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
    attn_params p = {.scale = d.scale, .causal = d.causal != 0};
    if (d.scale == 0.0 && q && q->rank >= 1)
        p.scale = 1.0 / sqrt((double)q->shape[q->rank - 1]);
    return p;
}

/* The composed form checks what the fused op's recording would: NULLs,
 * one dtype, the shapes; errors name scaled_dot_product_attention. */
static int sdpa_args_ok(bm_tape *t, bm_tensor *const *in, const attn_params *p)
{
    static const char *const name = "scaled_dot_product_attention";
    if (!t || bm_tape_status(t) != BM_OK)
        return 0;
    for (int k = 0; k < 3; k++)
        if (!in[k]) {
            bm_tape_fail(t, BM_ERR_NULL, "bm_%s: input %d is NULL", name, k);
            return 0;
        }
    for (int k = 1; k < 3; k++)
        if (in[k]->dtype != in[0]->dtype) {
            bm_tape_fail(t, BM_ERR_DTYPE, "bm_%s: dtype mix: q %s, input %d %s", name,
                         bm_dtype_name(in[0]->dtype), k, bm_dtype_name(in[k]->dtype));
            return 0;
        }
    return check_qkv(t, name, p->scale, in[0], in[1], in[2]) == 0;
}

/* Keeping P: attention_probs (fused scale, mask, softmax) and the product
 * P·V (causal_matmul, causal: the masked half skipped) as two nodes, so
 * the backward reads P where the forward left it. Recompute: the fused
 * op, which keeps one head's P at a time. */
bm_tensor *bm_scaled_dot_product_attention(bm_tape *t, bm_tensor *q, bm_tensor *k,
                                           bm_tensor *v, const bm_sdpa_opts *o)
{
    attn_params p = params_of(o, q);
    bm_tensor *in[3] = {q, k, v};
    if (o && o->recompute)
        return bm_tape_apply(t, &bm_op_scaled_dot_product_attention, in, 3, &p);
    if (!sdpa_args_ok(t, in, &p))
        return NULL;
    bm_tensor *P = bm_tape_apply(t, &bm_op_attention_probs, in, 2, &p);
    return p.causal ? bm_causal_matmul(t, P, v, BM_CAUSAL_LB, 1.0) : bm_matmul(t, P, v);
}

bm_tensor *bm_attention_probs(bm_tape *t, bm_tensor *q, bm_tensor *k, const bm_sdpa_opts *o)
{
    attn_params p = params_of(o, q);
    bm_tensor *in[2] = {q, k};
    return bm_tape_apply(t, &bm_op_attention_probs, in, 2, &p);
}
