/* layer_attention.c — multi-head self-attention, the pre-norm transformer
 * block (GPT-2's) and the learned position embedding.
 *
 * Layout: GPT-2's. The queries, keys and values are one dense product
 * x·W_qkv + b_qkv with W_qkv [E,3E] (GPT-2's c_attn; its columns are q | k
 * | v, each head-major: head h owns columns h·D..(h+1)·D of each block,
 * D = E/heads), and the output projection is x·W_proj + b_proj with W_proj
 * [E,E] (c_proj). torch.nn.MultiheadAttention's in_proj_weight is W_qkvᵀ
 * and its out_proj.weight W_projᵀ. Attention itself is one fused
 * bm_scaled_dot_product_attention over [B,heads,T,D] (scale 1/√D, causal
 * on request). Weights start N(0, 0.02²) as GPT-2's, biases at zero,
 * layer-norm scales at one. */
#include <math.h>
#include <string.h>

#include "layer_seq_internal.h"

/* Std of GPT-2's weight initialiser (also the position table's). */
#define GPT_INIT_STD 0.02
/* The MLP's width is this many times the block's when `hidden` is 0. */
#define MLP_RATIO 4
/* Layer norm's default epsilon (torch's). */
#define LN_EPS_DEFAULT 1e-5
/* q, k and v: the blocks of the qkv product. */
enum { QKV = 3 };
/* Parameter tensors of an attention and of a transformer block, with and
 * without biases. */
enum { ATTN_PARAMS = 4, ATTN_PARAMS_NOBIAS = 2, BLOCK_PARAMS = 12, BLOCK_PARAMS_NOBIAS = 6 };

/* The parameters of an attention: W_qkv, b_qkv, W_proj, b_proj (the
 * biases NULL without bias). */
typedef struct attn_params {
    bm_tensor *wqkv, *bqkv, *wproj, *bproj;
} attn_params;

/* x [B,T,E] -> [B,T,E]: multi-head self-attention. */
static bm_tensor *attend(bm_tape *t, bm_tensor *x, const attn_params *p, size_t heads,
                         int causal)
{
    if (!x || x->rank != 3 || heads == 0) {
        bm_tape_fail(t, x ? BM_ERR_SHAPE : BM_ERR_NULL,
                     "attention: needs an input [batch, steps, width]");
        return NULL;
    }
    const size_t B = x->shape[0], T = x->shape[1], E = x->shape[2], D = E / heads;
    bm_tensor *qkv = bm_linear(t, bm_seq_rows(t, x), p->wqkv, p->bqkv); /* [B·T,3E] */
    /* [B,T,3·heads,D] -> [B,3·heads,T,D]: q, k, v are runs of `heads` */
    qkv = bm_reshape(t, qkv, 4, (size_t[]){B, T, QKV * heads, D});
    qkv = bm_permute(t, qkv, 4, (int[]){0, 2, 1, 3});
    bm_tensor *part[QKV];
    for (size_t k = 0; k < QKV; k++)
        part[k] = bm_slice_axis(t, qkv, 1, (long)(k * heads), (long)((k + 1) * heads), 1);
    bm_sdpa_opts o = bm_sdpa_defaults();
    o.causal = causal;
    bm_tensor *y = bm_scaled_dot_product_attention(t, part[0], part[1], part[2], &o);
    y = bm_permute(t, y, 4, (int[]){0, 2, 1, 3}); /* [B,T,heads,D] */
    y = bm_reshape(t, y, 2, (size_t[]){B * T, E});
    y = bm_linear(t, y, p->wproj, p->bproj);
    return bm_reshape(t, y, 3, (size_t[]){B, T, E});
}

/* A weight [rows, cols] drawn N(0, 0.02²). */
static bm_param_desc gpt_weight(const char *name, size_t rows, size_t cols)
{
    return (bm_param_desc){.name = name, .rank = 2, .shape = {rows, cols},
                           .init = BM_PINIT_NORMAL, .std = GPT_INIT_STD, .fan_in = rows,
                           .fan_out = cols, .role = BM_ROLE_WEIGHT};
}

/* A vector [n] starting at zero (a bias) or one (a layer-norm scale). */
static bm_param_desc vector(const char *name, size_t n, bm_param_init init, bm_param_role role)
{
    return (bm_param_desc){.name = name, .rank = 1, .shape = {n}, .init = init, .role = role};
}

/* Descriptors of an attention's parameters for width E into p (W_qkv,
 * b_qkv, W_proj, b_proj; no biases without bias); returns how many. */
static size_t attn_descs(size_t E, int bias, const char *const names[ATTN_PARAMS],
                         bm_param_desc *p)
{
    size_t n = 0;
    p[n++] = gpt_weight(names[0], E, QKV * E);
    if (bias)
        p[n++] = vector(names[1], QKV * E, BM_PINIT_ZEROS, BM_ROLE_BIAS);
    p[n++] = gpt_weight(names[2], E, E);
    if (bias)
        p[n++] = vector(names[3], E, BM_PINIT_ZEROS, BM_ROLE_BIAS);
    return n;
}

/* Reads an attention's parameters from c->params starting at *k (the
 * layout attn_descs made); advances *k. */
static attn_params attn_take(const bm_layer_call *c, int bias, size_t *k)
{
    attn_params a = {NULL, NULL, NULL, NULL};
    size_t need = bias ? ATTN_PARAMS : ATTN_PARAMS_NOBIAS;
    if (*k + need > c->n_params)
        return a;
    a.wqkv = c->params[(*k)++];
    a.bqkv = bias ? c->params[(*k)++] : NULL;
    a.wproj = c->params[(*k)++];
    a.bproj = bias ? c->params[(*k)++] : NULL;
    return a;
}

/* The checks attention and transformer share: heads, bias, causal. */
static bm_status heads_check(const char *kind, const bm_layer_spec *s, bm_error *err)
{
    if (s->heads == 0)
        return bm_error_set(err, BM_ERR_ARG, "%s: heads must be at least 1", kind);
    if (s->bias != 0 && s->bias != 1)
        return bm_error_set(err, BM_ERR_ARG, "%s: bias %d is not 0 or 1", kind, s->bias);
    if (s->causal != 0 && s->causal != 1)
        return bm_error_set(err, BM_ERR_ARG, "%s: causal %d is not 0 or 1", kind, s->causal);
    return BM_OK;
}

/* [T,E] with heads dividing E and the products' sizes in range; out = in. */
static bm_status width_infer(const char *kind, const bm_layer_spec *s, size_t widen,
                             const bm_shape *in, bm_shape *out, bm_error *err)
{
    size_t T = 0, E = 0;
    bm_status st = bm_seq_input(kind, in, &T, &E, err);
    if (st != BM_OK)
        return st;
    if (E % s->heads)
        return bm_error_set(err, BM_ERR_SHAPE, "%s: width %zu of input [%zu,%zu] is not a "
                            "multiple of heads %zu", kind, E, T, E, s->heads);
    if (E > BM_MAX_ELEMENTS / (widen * E) || T > BM_MAX_ELEMENTS / (widen * E) ||
        T > BM_MAX_ELEMENTS / T)
        return bm_error_set(err, BM_ERR_SIZE, "%s: input [%zu,%zu] is too large", kind, T, E);
    *out = *in;
    return BM_OK;
}

/* ---------------------------------------------------------------- attention */

static const char *const attention_keys[] = {"heads", "causal", "bias", NULL};
static const char *const attention_names[ATTN_PARAMS] = {"qkv_weights", "qkv_biases", "proj_weights",
                                               "proj_biases"};

static void attention_defaults(bm_layer_spec *s)
{
    s->heads = 1;
    s->bias = 1;
}

static bm_status attention_check(const bm_layer_spec *s, bm_error *err)
{
    return heads_check("attention", s, err);
}

static bm_status attention_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                                 bm_shape *out, bm_error *err)
{
    (void)n_in;
    return width_infer("attention", s, QKV, in, out, err);
}

static size_t attention_params(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                               bm_param_desc *p)
{
    (void)n_in;
    return attn_descs(in->dim[1], s->bias, attention_names, p);
}

static bm_tensor *attention_record(bm_tape *t, const bm_layer_call *c)
{
    size_t k = 0;
    attn_params a = attn_take(c, c->spec->bias, &k);
    if (!a.wqkv) {
        bm_tape_fail(t, BM_ERR_ARG, "attention: %zu parameters given", c->n_params);
        return NULL;
    }
    return attend(t, c->in[0], &a, c->spec->heads, c->spec->causal);
}

const bm_layer_vt bm_layer_vt_attention = {
    .name = "attention",
    .summary = "multi-head self-attention over [T,E] (GPT-2's c_attn W_qkv [E,3E] and "
               "c_proj [E,E]), causal optional",
    .min_inputs = 1,
    .max_inputs = 1,
    .keys = attention_keys,
    .defaults = attention_defaults,
    .check = attention_check,
    .infer = attention_infer,
    .params = attention_params,
    .record = attention_record,
};

/* ---------------------------------------------------------------- transformer */

static const char *const transformer_keys[] = {"heads", "hidden", "causal", "bias", "rate",
                                               "eps", "approximate", NULL};
static const char *const transformer_attn_names[ATTN_PARAMS] = {
    "attn_qkv_weights", "attn_qkv_biases", "attn_proj_weights", "attn_proj_biases"};

static void transformer_defaults(bm_layer_spec *s)
{
    s->heads = 1;
    s->bias = 1;
    s->causal = 1;
    s->eps = LN_EPS_DEFAULT;
}

static bm_status transformer_check(const bm_layer_spec *s, bm_error *err)
{
    bm_status st = heads_check("transformer", s, err);
    if (st != BM_OK)
        return st;
    if (!(s->rate >= 0.0 && s->rate < 1.0))
        return bm_error_set(err, BM_ERR_ARG, "transformer: rate %g must be in [0, 1)", s->rate);
    if (!(s->eps > 0.0) || !isfinite(s->eps))
        return bm_error_set(err, BM_ERR_ARG, "transformer: eps %g must be finite and > 0",
                            s->eps);
    if (s->hidden > BM_MAX_ELEMENTS)
        return bm_error_set(err, BM_ERR_SIZE, "transformer: hidden %zu is too large", s->hidden);
    if (s->approximate != 0 && s->approximate != 1)
        return bm_error_set(err, BM_ERR_ARG, "transformer: approximate %d is not 0 or 1",
                            s->approximate);
    return BM_OK;
}

/* The MLP's width: `hidden`, or MLP_RATIO times the block's width E. */
static size_t mlp_width(const bm_layer_spec *s, size_t E)
{
    return s->hidden ? s->hidden : MLP_RATIO * E;
}

static bm_status transformer_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                                   bm_shape *out, bm_error *err)
{
    (void)n_in;
    bm_status st = width_infer("transformer", s, MLP_RATIO, in, out, err);
    if (st != BM_OK)
        return st;
    const size_t T = in->dim[0], E = in->dim[1], F = mlp_width(s, E);
    if (F > BM_MAX_ELEMENTS / E || F > BM_MAX_ELEMENTS / T)
        return bm_error_set(err, BM_ERR_SIZE,
                            "transformer: hidden %zu with input [%zu,%zu] is too large", F, T, E);
    return BM_OK;
}

/* Order: ln1 scale, shift; the attention's four; ln2 scale, shift; the
 * MLP's W_fc [E,F], b_fc [F], W_proj [F,E], b_proj [E]: 12 with bias, 6
 * without (no shifts either, as nanoGPT's bias=False). */
static size_t transformer_params(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                                 bm_param_desc *p)
{
    (void)n_in;
    const size_t E = in->dim[1], F = mlp_width(s, E);
    size_t n = 0;
    p[n++] = vector("ln1_weights", E, BM_PINIT_ONES, BM_ROLE_WEIGHT);
    if (s->bias)
        p[n++] = vector("ln1_biases", E, BM_PINIT_ZEROS, BM_ROLE_BIAS);
    n += attn_descs(E, s->bias, transformer_attn_names, p + n);
    p[n++] = vector("ln2_weights", E, BM_PINIT_ONES, BM_ROLE_WEIGHT);
    if (s->bias)
        p[n++] = vector("ln2_biases", E, BM_PINIT_ZEROS, BM_ROLE_BIAS);
    p[n++] = gpt_weight("mlp_fc_weights", E, F);
    if (s->bias)
        p[n++] = vector("mlp_fc_biases", F, BM_PINIT_ZEROS, BM_ROLE_BIAS);
    p[n++] = gpt_weight("mlp_proj_weights", F, E);
    if (s->bias)
        p[n++] = vector("mlp_proj_biases", E, BM_PINIT_ZEROS, BM_ROLE_BIAS);
    return n;
}

/* Residual dropout (training only). */
static bm_tensor *residual_dropout(bm_tape *t, const bm_layer_call *c, bm_tensor *x)
{
    return c->training && c->spec->rate > 0.0 ? bm_dropout(t, x, c->spec->rate, c->rng) : x;
}

/* x + attn(ln1(x)), then + mlp(ln2(x)), mlp = dense → gelu → dense. */
static bm_tensor *transformer_record(bm_tape *t, const bm_layer_call *c)
{
    const bm_layer_spec *s = c->spec;
    const size_t want = s->bias ? BLOCK_PARAMS : BLOCK_PARAMS_NOBIAS;
    bm_tensor *x = c->in[0];
    if (c->n_params != want || !x || x->rank != 3) {
        bm_tape_fail(t, x ? BM_ERR_ARG : BM_ERR_NULL,
                     "transformer: needs an input [batch, steps, width] and %zu parameters "
                     "(%zu given)", want, c->n_params);
        return NULL;
    }
    const size_t shape[3] = {x->shape[0], x->shape[1], x->shape[2]};
    bm_tensor *const *p = c->params;
    size_t k = 0;
    bm_tensor *ln1w = p[k++], *ln1b = s->bias ? p[k++] : NULL;
    attn_params a = attn_take(c, s->bias, &k);
    bm_tensor *ln2w = p[k++], *ln2b = s->bias ? p[k++] : NULL;
    bm_tensor *fcw = p[k++], *fcb = s->bias ? p[k++] : NULL;
    bm_tensor *pw = p[k++], *pb = s->bias ? p[k++] : NULL;
    bm_tensor *h = attend(t, bm_layer_norm(t, x, ln1w, ln1b, s->eps), &a, s->heads, s->causal);
    x = bm_add(t, x, residual_dropout(t, c, h));
    h = bm_linear(t, bm_seq_rows(t, bm_layer_norm(t, x, ln2w, ln2b, s->eps)), fcw, fcb);
    h = bm_linear(t, bm_gelu(t, h, s->approximate), pw, pb);
    h = bm_reshape(t, h, 3, shape);
    return bm_add(t, x, residual_dropout(t, c, h));
}

const bm_layer_vt bm_layer_vt_transformer = {
    .name = "transformer",
    .summary = "pre-norm GPT block over [T,E]: x + attn(ln1(x)), then + mlp(ln2(x)), "
               "mlp = dense(E,hidden) → gelu → dense(hidden,E); causal by default",
    .min_inputs = 1,
    .max_inputs = 1,
    .keys = transformer_keys,
    .defaults = transformer_defaults,
    .check = transformer_check,
    .infer = transformer_infer,
    .params = transformer_params,
    .record = transformer_record,
};

/* ---------------------------------------------------------------- position */

static const char *const position_keys[] = {"in", NULL};

static bm_status position_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                                bm_shape *out, bm_error *err)
{
    (void)n_in;
    size_t T = 0, E = 0;
    bm_status st = bm_seq_input("position", in, &T, &E, err);
    if (st != BM_OK)
        return st;
    if (s->in && T > s->in)
        return bm_error_set(err, BM_ERR_SHAPE,
                            "position: input [%zu,%zu] has %zu steps, more than the table's "
                            "in = %zu rows", T, E, T, s->in);
    if (s->in > BM_MAX_ELEMENTS / E)
        return bm_error_set(err, BM_ERR_SIZE, "position: table [%zu,%zu] is too large", s->in,
                            E);
    *out = *in;
    return BM_OK;
}

/* P [T_max, E], T_max = `in` (0: the input's T), drawn N(0, 0.02²). */
static size_t position_params(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                              bm_param_desc *p)
{
    (void)n_in;
    const size_t rows = s->in ? s->in : in->dim[0];
    p[0] = (bm_param_desc){.name = "weights", .rank = 2, .shape = {rows, in->dim[1]},
                           .init = BM_PINIT_NORMAL, .std = GPT_INIT_STD, .fan_in = rows,
                           .fan_out = in->dim[1], .role = BM_ROLE_WEIGHT};
    return 1;
}

/* An `in` of 0 becomes the input's T: the table's rows are in the file. */
static void position_resolve(bm_layer_spec *s, const bm_shape *in, size_t n_in)
{
    if (n_in >= 1 && in->rank >= 1 && s->in == 0)
        s->in = in->dim[0];
}

/* x [B,T,E] + P[:T] (broadcast over the batch). */
static bm_tensor *position_record(bm_tape *t, const bm_layer_call *c)
{
    bm_tensor *x = c->in[0], *P = c->n_params ? c->params[0] : NULL;
    if (!x || !P || x->rank != 3) {
        bm_tape_fail(t, BM_ERR_NULL, "position: needs an input [batch, steps, width] and its "
                                     "table");
        return NULL;
    }
    if (P->shape[0] != x->shape[1])
        P = bm_slice_axis(t, P, 0, 0, (long)x->shape[1], 1);
    return bm_add(t, x, P);
}

const bm_layer_vt bm_layer_vt_position = {
    .name = "position",
    .summary = "learned position embedding: [T,E] -> x + P[:T], P [in,E] drawn N(0, 0.02²) "
               "(GPT-2's wpe)",
    .min_inputs = 1,
    .max_inputs = 1,
    .keys = position_keys,
    .infer = position_infer,
    .params = position_params,
    .record = position_record,
    .resolve = position_resolve,
};
