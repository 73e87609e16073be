/* layer_rnn.c — the recurrent kinds rnn (tanh), lstm and gru, unrolled over
 * time on the tape.
 *
 * Parameters and gate order are torch.nn.RNN/LSTM/GRU's (one layer,
 * batch_first): weight_ih [G·H,F], weight_hh [G·H,H], bias_ih, bias_hh
 * [G·H], G = 1 (rnn), 4 (lstm: i, f, g, o) or 3 (gru: r, z, n), all drawn
 * from U(±1/√H); the state starts at zero. Per sample the input is [T,F],
 * the output [T,H] (sequences) or the last step's [H].
 *
 * Speed: the input [B,T,F] is laid out step-major once ([T·B, F], step t
 * the contiguous rows [t·B, (t+1)·B)) and split into the steps by a
 * balanced tree of row slices, not by T slices of the whole: each slice's
 * gradient is a zero-padded tensor of its source's size, so T slices of
 * one tensor would cost O(T²) in the backward (and as much memory), the
 * tree O(T·log T) (nothing when the input needs no gradient). The weights
 * are transposed once; an rnn or lstm step is then one product
 * [x_t, h]·[W_ihᵀ; W_hhᵀ] + b (a gru step x_t·W_ihᵀ + b_ih and
 * h·W_hhᵀ + b_hh, as its n gate needs them apart) and a few
 * elementwise ops. Truncated BPTT (`bptt` k > 0) detaches the state before
 * steps k, 2k, ...: the forward is unchanged, no gradient crosses those
 * boundaries. */
#include <stdlib.h>
#include <string.h>

#include "layer_seq_internal.h"

/* Most steps one stack op joins (its input limit); longer sequences are
 * stacked in runs of this many and the runs concatenated. */
#define RNN_STACK_RUN 1024

/* Gates per kind (torch's order). */
enum { RNN_GATES = 1, GRU_GATES = 3, LSTM_GATES = 4 };
/* The gates of an lstm and a gru, as column blocks of the pre-activations. */
enum { LSTM_I = 0, LSTM_F = 1, LSTM_G = 2, LSTM_O = 3 };
enum { GRU_R = 0, GRU_Z = 1, GRU_N = 2 };
/* Parameters, in the order of the descriptors. */
enum { P_W_IH = 0, P_W_HH = 1, P_B_IH = 2, P_B_HH = 3, P_COUNT_BIAS = 4, P_COUNT_NOBIAS = 2 };

/* What one step reads: the weights, transposed once for the products. */
typedef struct rnn_ctx {
    bm_tensor *wih;  /* [F, G·H]: W_ihᵀ */
    bm_tensor *wcat; /* rnn, lstm: [F + H, G·H]: W_ihᵀ over W_hhᵀ (one product of [x_t, h]) */
    bm_tensor *whh;  /* gru: [H, G·H]: W_hhᵀ */
    bm_tensor *b;    /* [G·H]: bias_ih + bias_hh (gru: bias_ih), or NULL */
    bm_tensor *bhh;  /* gru: bias_hh [G·H], or NULL */
    size_t H;
} rnn_ctx;

/* The recurrent state: h [B,H] (NULL before the first step: zero), c [B,H]
 * (lstm). */
typedef struct rnn_state {
    bm_tensor *h, *c;
} rnn_state;

/* One step of a kind on its input x_t [B,F]. */
typedef void (*rnn_step_fn)(bm_tape *t, const rnn_ctx *x, bm_tensor *x_t, rnn_state *s);

/* One recurrent kind. */
typedef struct rnn_cell {
    const char *name;
    size_t gates;
    int fold_bias;   /* 1: bias_hh adds to bias_ih in the input projection */
    rnn_step_fn step;
} rnn_cell;

/* The pre-activations x_t·W_ihᵀ + h·W_hhᵀ + b as one product [x_t, h]·W_cat
 * + b (just x_t·W_ihᵀ + b at h = 0). */
static bm_tensor *pre_activations(bm_tape *t, const rnn_ctx *x, bm_tensor *x_t, bm_tensor *h)
{
    if (!h)
        return bm_linear(t, x_t, x->wih, x->b);
    return bm_linear(t, bm_concat(t, 2, (bm_tensor *[]){x_t, h}, 1), x->wcat, x->b);
}

/* rnn: h = tanh(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh). */
static void rnn_step(bm_tape *t, const rnn_ctx *x, bm_tensor *x_t, rnn_state *s)
{
    s->h = bm_tanh(t, pre_activations(t, x, x_t, s->h));
}

/* lstm: i, f, o = σ(..), g = tanh(..); c = f·c + i·g; h = o·tanh(c). */
static void lstm_step(bm_tape *t, const rnn_ctx *x, bm_tensor *x_t, rnn_state *s)
{
    const size_t H = x->H;
    bm_tensor *pre = pre_activations(t, x, x_t, s->h);
    bm_tensor *sg = bm_sigmoid(t, pre); /* the g block of it goes unused */
    bm_tensor *i = bm_seq_cols(t, sg, LSTM_I * H, (LSTM_I + 1) * H);
    bm_tensor *g = bm_tanh(t, bm_seq_cols(t, pre, LSTM_G * H, (LSTM_G + 1) * H));
    bm_tensor *o = bm_seq_cols(t, sg, LSTM_O * H, (LSTM_O + 1) * H);
    bm_tensor *ig = bm_mul(t, i, g);
    if (s->c) {
        bm_tensor *f = bm_seq_cols(t, sg, LSTM_F * H, (LSTM_F + 1) * H);
        s->c = bm_add(t, bm_mul(t, f, s->c), ig);
    } else {
        s->c = ig;
    }
    s->h = bm_mul(t, o, bm_tanh(t, s->c));
}

/* gru: r, z = σ(x_rz + h·W_rzᵀ + b_hrz); n = tanh(x_n + r·(h·W_nᵀ + b_hn));
 * h' = (1 − z)·n + z·h = n + z·(h − n). */
static void gru_step(bm_tape *t, const rnn_ctx *x, bm_tensor *x_t, rnn_state *s)
{
    const size_t H = x->H;
    bm_tensor *xw_t = bm_linear(t, x_t, x->wih, x->b);
    bm_tensor *x_rz = bm_seq_cols(t, xw_t, GRU_R * H, (GRU_Z + 1) * H);
    bm_tensor *x_n = bm_seq_cols(t, xw_t, GRU_N * H, (GRU_N + 1) * H);
    bm_tensor *h_rz = NULL, *h_n = NULL;
    if (s->h) {
        bm_tensor *hw = bm_linear(t, s->h, x->whh, x->bhh);
        h_rz = bm_seq_cols(t, hw, GRU_R * H, (GRU_Z + 1) * H);
        h_n = bm_seq_cols(t, hw, GRU_N * H, (GRU_N + 1) * H);
    } else if (x->bhh) { /* h = 0: only bias_hh is left of h·W_hhᵀ + b_hh */
        h_rz = bm_slice_axis(t, x->bhh, 0, (long)(GRU_R * H), (long)((GRU_Z + 1) * H), 1);
        h_n = bm_slice_axis(t, x->bhh, 0, (long)(GRU_N * H), (long)((GRU_N + 1) * H), 1);
    }
    bm_tensor *rz = bm_sigmoid(t, h_rz ? bm_add(t, x_rz, h_rz) : x_rz);
    bm_tensor *r = bm_seq_cols(t, rz, 0, H), *z = bm_seq_cols(t, rz, H, 2 * H);
    bm_tensor *n = bm_tanh(t, h_n ? bm_add(t, x_n, bm_mul(t, r, h_n)) : x_n);
    s->h = s->h ? bm_add(t, n, bm_mul(t, z, bm_sub(t, s->h, n)))
                : bm_sub(t, n, bm_mul(t, z, n));
}

static const rnn_cell cell_rnn = {.name = "rnn", .gates = RNN_GATES, .fold_bias = 1,
                                  .step = rnn_step};
static const rnn_cell cell_lstm = {.name = "lstm", .gates = LSTM_GATES, .fold_bias = 1,
                                   .step = lstm_step};
static const rnn_cell cell_gru = {.name = "gru", .gates = GRU_GATES, .fold_bias = 0,
                                  .step = gru_step};

/* ---------------------------------------------------------------- vtable parts */

static const char *const rnn_keys[] = {"in", "out", "bias", "sequences", "bptt", NULL};

static void rnn_defaults(bm_layer_spec *s)
{
    s->bias = 1;
    s->sequences = 1;
}

static bm_status cell_check(const rnn_cell *cell, const bm_layer_spec *s, bm_error *err)
{
    if (s->out == 0 || s->out > BM_MAX_ELEMENTS / cell->gates)
        return bm_error_set(err, BM_ERR_SIZE, "%s: out (the hidden size) %zu is not in 1..%zu",
                            cell->name, s->out, (size_t)(BM_MAX_ELEMENTS / cell->gates));
    if (s->bias != 0 && s->bias != 1)
        return bm_error_set(err, BM_ERR_ARG, "%s: bias %d is not 0 or 1", cell->name, s->bias);
    if (s->sequences != 0 && s->sequences != 1)
        return bm_error_set(err, BM_ERR_ARG, "%s: sequences %d is not 0 or 1", cell->name,
                            s->sequences);
    return BM_OK;
}

static bm_status cell_infer(const rnn_cell *cell, const bm_layer_spec *s, const bm_shape *in,
                           bm_shape *out, bm_error *err)
{
    size_t T = 0, F = 0;
    bm_status st = bm_seq_input(cell->name, in, &T, &F, err);
    if (st != BM_OK)
        return st;
    if (s->in && s->in != F)
        return bm_error_set(err, BM_ERR_SHAPE, "%s: input [%zu,%zu] has %zu features, in says %zu",
                            cell->name, T, F, F, s->in);
    const size_t GH = cell->gates * s->out, widest = F > s->out ? F : s->out;
    if (GH > BM_MAX_ELEMENTS / widest || s->out > BM_MAX_ELEMENTS / T)
        return bm_error_set(err, BM_ERR_SIZE, "%s: hidden size %zu with input [%zu,%zu] is too large",
                            cell->name, s->out, T, F);
    if (s->sequences) {
        *out = (bm_shape){.rank = 2, .dim = {T, s->out}};
    } else {
        *out = (bm_shape){.rank = 1, .dim = {s->out}};
    }
    return BM_OK;
}

static size_t cell_params(const rnn_cell *cell, const bm_layer_spec *s, const bm_shape *in,
                         bm_param_desc *p)
{
    const size_t H = s->out, GH = cell->gates * H, F = in->dim[1];
    const size_t n = s->bias ? P_COUNT_BIAS : P_COUNT_NOBIAS;
    memset(p, 0, n * sizeof *p);
    p[P_W_IH] = (bm_param_desc){.name = "weight_ih", .rank = 2, .shape = {GH, F},
                                .init = BM_PINIT_UNIFORM, .fan_in = H, .fan_out = GH,
                                .role = BM_ROLE_WEIGHT};
    p[P_W_HH] = (bm_param_desc){.name = "weight_hh", .rank = 2, .shape = {GH, H},
                                .init = BM_PINIT_UNIFORM, .fan_in = H, .fan_out = GH,
                                .role = BM_ROLE_WEIGHT};
    if (s->bias) {
        p[P_B_IH] = (bm_param_desc){.name = "bias_ih", .rank = 1, .shape = {GH},
                                    .init = BM_PINIT_UNIFORM, .fan_in = H, .fan_out = GH,
                                    .role = BM_ROLE_BIAS};
        p[P_B_HH] = p[P_B_IH];
        p[P_B_HH].name = "bias_hh";
    }
    return n;
}

/* steps[0..n) (each [B,H]) as [B,n,H]: one stack per run of RNN_STACK_RUN
 * steps, the runs concatenated along the time axis. */
static bm_tensor *stack_steps(bm_tape *t, bm_tensor *const *steps, size_t n)
{
    bm_tensor *all = NULL;
    for (size_t k = 0; k < n; k += RNN_STACK_RUN) {
        size_t len = n - k < RNN_STACK_RUN ? n - k : RNN_STACK_RUN;
        bm_tensor *run = bm_stack(t, (int)len, steps + k, 1);
        all = all ? bm_concat(t, 2, (bm_tensor *[]){all, run}, 1) : run;
    }
    return all;
}

/* The steps lo..hi-1 of x (rows [0, (hi − lo)·B) of it, step lo first)
 * into steps[lo..hi): halves sliced off recursively, so that every level
 * of the tree slices each row once (depth ⌈log₂ T⌉). */
static void split_steps(bm_tape *t, bm_tensor *x, size_t lo, size_t hi, size_t B,
                        bm_tensor **steps)
{
    if (hi - lo == 1) {
        steps[lo] = x;
        return;
    }
    const size_t mid = lo + (hi - lo) / 2;
    split_steps(t, bm_slice_axis(t, x, 0, 0, (long)((mid - lo) * B), 1), lo, mid, B, steps);
    split_steps(t, bm_slice_axis(t, x, 0, (long)((mid - lo) * B), BM_END, 1), mid, hi, B, steps);
}

static bm_tensor *cell_record(const rnn_cell *cell, bm_tape *t, const bm_layer_call *c)
{
    const bm_layer_spec *s = c->spec;
    bm_tensor *x = c->in[0]; /* [B,T,F] */
    if (!x || x->rank != 3 || c->n_params < P_COUNT_NOBIAS) {
        bm_tape_fail(t, x ? BM_ERR_SHAPE : BM_ERR_NULL,
                     "%s: needs an input [batch, steps, features] and its weights", cell->name);
        return NULL;
    }
    const size_t B = x->shape[0], T = x->shape[1], F = x->shape[2], H = s->out;
    bm_tensor *const *p = c->params;
    rnn_ctx ctx = {.wih = bm_transpose(t, p[P_W_IH]), .H = H};
    bm_tensor *whh = bm_transpose(t, p[P_W_HH]);
    if (cell->fold_bias)
        ctx.wcat = bm_concat(t, 2, (bm_tensor *[]){ctx.wih, whh}, 0);
    else
        ctx.whh = whh;
    if (s->bias && c->n_params >= P_COUNT_BIAS) {
        ctx.b = cell->fold_bias ? bm_add(t, p[P_B_IH], p[P_B_HH]) : p[P_B_IH];
        ctx.bhh = cell->fold_bias ? NULL : p[P_B_HH];
    }
    /* step-major rows: row t·B + b is sample b at step t */
    bm_tensor *xs = B > 1 ? bm_permute(t, x, 3, (int[]){1, 0, 2}) : x;
    bm_tensor *x2 = bm_reshape(t, xs, 2, (size_t[]){T * B, F});
    /* xt[0..T): the steps' inputs [B,F], outs[0..T): their outputs */
    bm_tensor **xt = calloc(2 * T, sizeof *xt), **outs = xt ? xt + T : NULL;
    if (!xt) {
        bm_tape_fail(t, BM_ERR_NOMEM, "%s: out of memory for %zu steps", cell->name, T);
        return NULL;
    }
    split_steps(t, x2, 0, T, B, xt);
    rnn_state st = {NULL, NULL};
    for (size_t k = 0; k < T && bm_tape_status(t) == BM_OK; k++) {
        if (k && s->bptt && k % s->bptt == 0) { /* truncate: no gradient into earlier steps */
            st.h = bm_detach(t, st.h);
            st.c = st.c ? bm_detach(t, st.c) : NULL;
        }
        cell->step(t, &ctx, xt[k], &st);
        outs[k] = st.h;
    }
    bm_tensor *y = NULL;
    if (bm_tape_status(t) == BM_OK)
        y = s->sequences ? stack_steps(t, outs, T) : st.h;
    free(xt);
    return y;
}

/* The vtable of one recurrent kind: wrappers binding its cell. */
#define RNN_KIND(id, text)                                                                  \
    static bm_status id##_check(const bm_layer_spec *s, bm_error *err)                      \
    {                                                                                       \
        return cell_check(&cell_##id, s, err);                                               \
    }                                                                                       \
    static bm_status id##_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,    \
                                bm_shape *out, bm_error *err)                               \
    {                                                                                       \
        (void)n_in;                                                                         \
        return cell_infer(&cell_##id, s, in, out, err);                                      \
    }                                                                                       \
    static size_t id##_params(const bm_layer_spec *s, const bm_shape *in, size_t n_in,      \
                              bm_param_desc *p)                                             \
    {                                                                                       \
        (void)n_in;                                                                         \
        return cell_params(&cell_##id, s, in, p);                                            \
    }                                                                                       \
    static bm_tensor *id##_record(bm_tape *t, const bm_layer_call *c)                       \
    {                                                                                       \
        return cell_record(&cell_##id, t, c);                                                \
    }                                                                                       \
    const bm_layer_vt bm_layer_vt_##id = {                                                  \
        .name = #id, .summary = text, .min_inputs = 1, .max_inputs = 1, .keys = rnn_keys, \
        .defaults = rnn_defaults, .check = id##_check, .infer = id##_infer,                 \
        .params = id##_params, .record = id##_record,                                       \
        .resolve = bm_layer_resolve_features,                                               \
    };

RNN_KIND(rnn, "Elman RNN, h = tanh(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh) (torch.nn.RNN): "
              "[T,F] -> [T,H] (sequences) or [H]")
RNN_KIND(lstm, "LSTM, gates i, f, g, o (torch.nn.LSTM): [T,F] -> [T,H] (sequences) or [H]")
RNN_KIND(gru, "GRU, gates r, z, n (torch.nn.GRU): [T,F] -> [T,H] (sequences) or [H]")
