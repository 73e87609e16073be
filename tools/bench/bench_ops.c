/* bench_ops.c — workload O: the ops real models are made of, forward +
 * backward as one replayed step (issue 10's performance figures), f32:
 *
 *   O conv LeNet-1   conv2d x [64,1,28,28]  w [6,1,5,5]   + bias
 *   O conv LeNet-2   conv2d x [64,6,14,14]  w [16,6,5,5]  + bias
 *   O conv 3x3       conv2d x [32,64,32,32] w [64,64,3,3] + bias, padding 1
 *   O layer_norm     [8192,256] with affine w, b
 *   O batch_norm     [32,64,16,16] training, with affine w, b (running
 *                    statistics: leaves of the tape, updated every step)
 *   O bmm            [8,128,64]·[8,64,128]
 *   O attention      [8,4,128,32] q, k, v, causal
 *
 * Each step replays the forward and runs the backward of Σ out·R (a fixed
 * random R as the seed gradient), so every input's gradient is computed;
 * peer.py runs the same in PyTorch. */
#include <string.h>

#include "bench_internal.h"

/* batch_norm's momentum (torch's default). */
#define BN_MOMENTUM 0.1

/* Most inputs of one op workload. */
enum { OP_MAX_IN = 4 };

typedef struct op_ctx {
    bm_tape *tape;
    bench_counter cnt;
    bm_tensor *in[OP_MAX_IN];
    int n_in;
    bm_tensor *out, *seed;
} op_ctx;

/* Builds the op on in[] (all [..] of the workload's shapes). */
typedef bm_tensor *(*op_build)(bm_tape *t, bm_tensor *const *in);

static bm_tensor *conv(bm_tape *t, bm_tensor *const *in)
{
    return bm_conv2d(t, in[0], in[1], in[2], NULL);
}

static bm_tensor *conv_pad1(bm_tape *t, bm_tensor *const *in)
{
    bm_conv_opts o = bm_conv_defaults();
    o.pad[0] = o.pad[1] = 1;
    return bm_conv2d(t, in[0], in[1], in[2], &o);
}

static bm_tensor *layer_norm(bm_tape *t, bm_tensor *const *in)
{
    return bm_layer_norm(t, in[0], in[1], in[2], 1e-5);
}

/* Training batch_norm; the running statistics [C] are the tape's leaves. */
static bm_tensor *batch_norm(bm_tape *t, bm_tensor *const *in)
{
    size_t C = in[1]->shape[0];
    bm_tensor *rm = bm_tape_leaf(t, BM_F32, 1, &C, 0), *rv = bm_tape_leaf(t, BM_F32, 1, &C, 0);
    return bm_batch_norm(t, in[0], rm, rv, in[1], in[2], 1, BN_MOMENTUM, 1e-5);
}

static bm_tensor *bmm(bm_tape *t, bm_tensor *const *in) { return bm_bmm(t, in[0], in[1]); }

static bm_tensor *attention(bm_tape *t, bm_tensor *const *in)
{
    bm_sdpa_opts o = bm_sdpa_defaults();
    o.causal = 1;
    return bm_scaled_dot_product_attention(t, in[0], in[1], in[2], &o);
}

/* One workload: label, builder, inputs' ranks and shapes. */
typedef struct op_work {
    const char *label;
    op_build build;
    int n_in;
    int rank[OP_MAX_IN];
    size_t shape[OP_MAX_IN][BM_MAX_RANK];
} op_work;

static const op_work WORK[] = {
    {.label = "conv LeNet-1 b64", .build = conv, .n_in = 3, .rank = {4, 4, 1},
     .shape = {{64, 1, 28, 28}, {6, 1, 5, 5}, {6}}},
    {.label = "conv LeNet-2 b64", .build = conv, .n_in = 3, .rank = {4, 4, 1},
     .shape = {{64, 6, 14, 14}, {16, 6, 5, 5}, {16}}},
    {.label = "conv 3x3 64ch 32x32 b32", .build = conv_pad1, .n_in = 3, .rank = {4, 4, 1},
     .shape = {{32, 64, 32, 32}, {64, 64, 3, 3}, {64}}},
    {.label = "layer_norm 8192x256", .build = layer_norm, .n_in = 3, .rank = {2, 1, 1},
     .shape = {{8192, 256}, {256}, {256}}},
    {.label = "batch_norm 32x64x16x16", .build = batch_norm, .n_in = 3, .rank = {4, 1, 1},
     .shape = {{32, 64, 16, 16}, {64}, {64}}},
    {.label = "bmm 8x128x64 . 8x64x128", .build = bmm, .n_in = 2, .rank = {3, 3},
     .shape = {{8, 128, 64}, {8, 64, 128}}},
    {.label = "attention 8x4x128x32 causal", .build = attention, .n_in = 3, .rank = {4, 4, 4},
     .shape = {{8, 4, 128, 32}, {8, 4, 128, 32}, {8, 4, 128, 32}}},
};

static int op_step(void *ctx)
{
    op_ctx *c = ctx;
    if (bm_tape_forward(c->tape) != BM_OK || bm_tape_backward(c->tape, c->out, c->seed) != BM_OK) {
        fprintf(stderr, "bmnn-bench: O step: %s\n", bm_tape_error(c->tape));
        return -1;
    }
    return 0;
}

static void op_free(op_ctx *c)
{
    bm_tape_free(c->tape);
    for (int k = 0; k < c->n_in; k++)
        bm_tensor_free(c->in[k]);
    memset(c, 0, sizeof *c);
}

/* Set up w's inputs, record it once with its backward, then time replays. */
static int op_run(bench_report *r, const bench_opts *o, const op_work *w, bm_rng *rng)
{
    op_ctx c;
    memset(&c, 0, sizeof c);
    bm_error err = {0};
    bm_allocator a = bench_counting_allocator(&c.cnt);
    int rc = -1;
    c.n_in = w->n_in;
    for (int k = 0; k < w->n_in; k++) {
        c.in[k] = bm_tensor_randn(BM_F32, w->rank[k], w->shape[k], 0, 1, rng, &err);
        if (!c.in[k] || bm_tensor_set_requires_grad(c.in[k], 1, &err) != BM_OK) {
            fprintf(stderr, "bmnn-bench: O %s: %s\n", w->label, err.msg);
            goto done;
        }
    }
    if (!(c.tape = bm_tape_new_ex(&a)) ||
        (o->threads > 1 && bm_tape_set_threads(c.tape, o->threads, &err) != BM_OK)) {
        fprintf(stderr, "bmnn-bench: O %s: %s\n", w->label, err.msg);
        goto done;
    }
    c.out = w->build(c.tape, c.in);
    c.seed = c.out ? bm_tape_leaf(c.tape, BM_F32, c.out->rank, c.out->shape, 0) : NULL;
    for (size_t i = 0; c.seed && i < c.seed->size; i++)
        bm_tensor_set(c.seed, i, bm_rng_normal(rng));
    if (!c.seed || op_step(&c) != 0) {
        fprintf(stderr, "bmnn-bench: O %s: %s\n", w->label, bm_tape_error(c.tape));
        goto done;
    }
    bench_row *row = bench_row_add(r, ROW_STEP, "O");
    if (!row)
        goto done;
    snprintf(row->label, sizeof row->label, "%s", w->label);
    snprintf(row->mode, sizeof row->mode, "fwd+bwd");
    row->loss = -1;
    if (bench_measure(op_step, &c, o, &c.cnt.calls, &row->t) != 0)
        goto done;
    rc = 0;
done:
    op_free(&c);
    return rc;
}

int bench_ops(bench_report *r, const bench_opts *o)
{
    bm_rng rng;
    bm_rng_seed(&rng, o->seed);
    for (size_t i = 0; i < sizeof WORK / sizeof WORK[0]; i++)
        if (op_run(r, o, &WORK[i], &rng) != 0)
            return -1;
    return 0;
}
