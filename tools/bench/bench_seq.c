/* bench_seq.c — workload S: the sequence layer kinds (nn/layer_rnn.c,
 * nn/layer_attention.c) forward + backward as one replayed step, f32, each
 * recorded from its vtable with its parameters as leaves:
 *
 *   S lstm         x [32,64,64] -> hidden 128 every step (a char LSTM's layer)
 *   S gru          the same sizes
 *   S transformer  x [16,64,128], 4 heads, causal, MLP 512 (a tiny GPT's block)
 *
 * Each step replays the forward and runs the backward of Σ out·R (a fixed
 * random R as the seed gradient), as workload O does. */
#include <string.h>

#include "bench_internal.h"

/* One workload: label, kind, the spec fields it sets, batch, [T, F]. */
typedef struct seq_work {
    const char *label;
    bm_layer_kind kind;
    size_t out, heads;
    size_t B, T, F;
} seq_work;

static const seq_work WORK[] = {
    {.label = "lstm b32 T64 F64 H128", .kind = BM_LAYER_LSTM, .out = 128, .B = 32, .T = 64,
     .F = 64},
    {.label = "gru b32 T64 F64 H128", .kind = BM_LAYER_GRU, .out = 128, .B = 32, .T = 64,
     .F = 64},
    {.label = "transformer b16 T64 E128 h4", .kind = BM_LAYER_TRANSFORMER, .heads = 4, .B = 16,
     .T = 64, .F = 128},
};

typedef struct seq_ctx {
    bm_tape *tape;
    bench_counter cnt;
    bm_tensor *out, *seed;
} seq_ctx;

static int seq_step(void *ctx)
{
    seq_ctx *c = ctx;
    if (bm_tape_forward(c->tape) != BM_OK || bm_tape_backward(c->tape, c->out, c->seed) != BM_OK) {
        fprintf(stderr, "bmnn-bench: S step: %s\n", bm_tape_error(c->tape));
        return -1;
    }
    return 0;
}

/* Record w once (input and parameters drawn N(0, 0.1²) as tape leaves) with
 * its backward, then time replays. */
static int seq_run(bench_report *r, const bench_opts *o, const seq_work *w, bm_rng *rng)
{
    const double scale = 0.1;
    seq_ctx c;
    memset(&c, 0, sizeof c);
    bm_error err = {0};
    bm_allocator a = bench_counting_allocator(&c.cnt);
    const bm_layer_vt *vt = bm_layer_vtable((int)w->kind);
    bm_layer_spec s = bm_layer_default(w->kind);
    s.out = w->out;
    s.heads = w->heads ? w->heads : s.heads;
    bm_shape in = {.rank = 2, .dim = {w->T, w->F}}, out;
    bm_param_desc d[BM_LAYER_MAX_PARAMS];
    bm_tensor *leaf[1 + BM_LAYER_MAX_PARAMS];
    int rc = -1;
    if (!vt || (vt->check && vt->check(&s, &err) != BM_OK) ||
        vt->infer(&s, &in, 1, &out, &err) != BM_OK) {
        fprintf(stderr, "bmnn-bench: S %s: %s\n", w->label, err.msg);
        return -1;
    }
    size_t np = vt->params(&s, &in, 1, d);
    if (!(c.tape = bm_tape_new_ex(&a)) ||
        (o->threads > 1 && bm_tape_set_threads(c.tape, o->threads, &err) != BM_OK)) {
        fprintf(stderr, "bmnn-bench: S %s: %s\n", w->label, err.msg);
        goto done;
    }
    leaf[0] = bm_tape_leaf(c.tape, BM_F32, 3, (size_t[]){w->B, w->T, w->F}, 0);
    for (size_t k = 1; k <= np; k++)
        leaf[k] = bm_tape_leaf(c.tape, BM_F32, d[k - 1].rank, d[k - 1].shape, BM_REQUIRES_GRAD);
    for (size_t k = 0; k <= np && leaf[k]; k++)
        for (size_t i = 0; i < leaf[k]->size; i++)
            bm_tensor_set(leaf[k], i, (k ? scale : 1.0) * bm_rng_normal(rng));
    bm_layer_call call = {.spec = &s, .in = leaf, .n_in = 1, .in_shapes = &in,
                          .params = leaf + 1, .n_params = np, .rng = rng};
    c.out = vt->record(c.tape, &call);
    c.seed = c.out ? bm_tape_leaf(c.tape, BM_F32, c.out->rank, c.out->shape, 0) : NULL;
    for (size_t i = 0; c.seed && i < c.seed->size; i++)
        bm_tensor_set(c.seed, i, bm_rng_normal(rng));
    if (!c.seed || seq_step(&c) != 0) {
        fprintf(stderr, "bmnn-bench: S %s: %s\n", w->label, bm_tape_error(c.tape));
        goto done;
    }
    bench_row *row = bench_row_add(r, ROW_STEP, "S");
    if (!row)
        goto done;
    snprintf(row->label, sizeof row->label, "%s", w->label);
    snprintf(row->mode, sizeof row->mode, "fwd+bwd");
    row->loss = -1;
    if (bench_measure(seq_step, &c, o, &c.cnt.calls, &row->t) != 0)
        goto done;
    rc = 0;
done:
    bm_tape_free(c.tape);
    return rc;
}

int bench_seq(bench_report *r, const bench_opts *o)
{
    bm_rng rng;
    bm_rng_seed(&rng, o->seed);
    for (size_t i = 0; i < sizeof WORK / sizeof WORK[0]; i++)
        if (seq_run(r, o, &WORK[i], &rng) != 0)
            return -1;
    return 0;
}
