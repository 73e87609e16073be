/* bench_work.c — the workloads.
 *
 * W1–W3: one training step of an MLP (dense + ReLU, softmax-CE, Adam
 * lr 1e-3, float32, one fixed batch of random data), built with the nn API.
 * Three ways of driving the step:
 *   replay: the step recorded once with bm_model_record on a tape of ours
 *           (counting allocator), then per step bm_tape_forward, zeroed
 *           gradients, bm_tape_backward, bm_optim_step — the step time;
 *   record: the same, but bm_tape_reset + bm_model_record every step;
 *   fit:    bm_model_fit(epochs = 1) on a data set of exactly one batch
 *           (what a user calls; fit re-records on each call and computes
 *           loss and accuracy).
 * W1, W2 also time a create_graph backward against a plain one, without the
 * update: bwd (replayed forward + bm_tape_backward), cgraph
 * (forward and bm_grad's recorded gradient graph, replayed), and both
 * recorded afresh each step (rec+bwd, rec+cg).
 * W4: a chain of CHAIN_OPS elementwise ops (scale 1.0001, add 0, relu, ...)
 *     on a 1×16 tensor, sum, backward; recorded afresh or replayed.
 * G:  bm_gemm_f32_ex at square sizes and at every product W1–W3 run, on a
 *     pool of --threads N with a workspace (no allocation per call), and
 *     cblas_sgemm on the same operands where OpenBLAS is built in
 *     (bench_blas.c). */
#include <stdlib.h>
#include <string.h>

#include "bench_internal.h"
#include "ops_internal.h"

/* W4: elementwise ops per chain, and the tensor width. */
#define CHAIN_OPS 1000
#define CHAIN_WIDTH 16
/* W4 op constants: multiply by CHAIN_SCALE, add CHAIN_SHIFT. */
#define CHAIN_SCALE 1.0001
#define CHAIN_SHIFT 0.0
/* W4 input values are drawn from U[CHAIN_LO, CHAIN_HI): positive, so ReLU
 * passes gradients everywhere. */
#define CHAIN_LO 0.5
#define CHAIN_HI 1.5
/* Adam learning rate of W1–W3 (PyTorch's default, the peer's setting). */
#define MLP_LR 1e-3
/* Most layer widths of an MLP spec. */
#define MLP_MAX_WIDTHS 5
/* G: alignment of the operand buffers (the tape arena's). */
#define GEMM_ALIGN 64
/* G: entries of C checked against a double-precision dot product, and the
 * largest error allowed, relative to Σ|a·b| of the entry. */
#define GEMM_CHECKS 16
#define GEMM_CHECK_TOL 1e-5
/* Square GEMM sizes. */
static const size_t GEMM_SQUARE[] = {64, 256, 1024};

/* An MLP workload: widths[0] inputs, ..., widths[n-1] classes. */
typedef struct mlp_spec {
    const char *id;
    unsigned bit;
    size_t batch;
    size_t n_widths;
    size_t widths[MLP_MAX_WIDTHS];
} mlp_spec;

static const mlp_spec MLPS[] = {
    {"W1", BENCH_W1, 300, 3, {2, 64, 3}},
    {"W2", BENCH_W2, 128, 3, {784, 128, 10}},
    {"W3", BENCH_W3, 256, 4, {784, 512, 512, 10}},
};
#define N_MLPS (sizeof MLPS / sizeof MLPS[0])

/* ------------------------------------------------------------ W1–W3 */

typedef struct mlp_ctx {
    bm_model *m;
    bm_tape *tape;
    bench_counter cnt;
    bm_dataset ds;
    bm_tensor *x, *y, *loss;
    bm_fit_opts fit;
    size_t n_params, esz;
} mlp_ctx;

static int tape_fail(const char *what, bm_tape *t)
{
    fprintf(stderr, "bmnn-bench: %s: %s\n", what, bm_tape_error(t));
    return -1;
}

/* Record the step's graph on c->tape from scratch (batch copied in). */
static int mlp_record(mlp_ctx *c)
{
    const bm_dataset *ds = &c->ds;
    size_t xs[2] = {ds->x->shape[0], ds->x->shape[1]}, ys[1] = {ds->y->shape[0]};
    bm_tape_reset(c->tape);
    c->x = bm_tape_leaf(c->tape, BM_F32, 2, xs, 0);
    c->y = bm_tape_leaf(c->tape, BM_F32, 1, ys, 0);
    if (!c->x || !c->y)
        return tape_fail("batch leaves", c->tape);
    memcpy(c->x->data, ds->x->data, ds->x->size * c->esz);
    memcpy(c->y->data, ds->y->data, ds->y->size * c->esz);
    c->loss = bm_model_record(c->m, c->tape, c->x, c->y, 1, NULL);
    return c->loss ? 0 : tape_fail("bm_model_record", c->tape);
}

/* Zeroed gradients, backward, Adam update. */
static int mlp_backward_update(mlp_ctx *c)
{
    bm_error err = {0};
    memset(bm_model_grads(c->m), 0, c->n_params * c->esz);
    if (bm_tape_backward(c->tape, c->loss, NULL) != BM_OK)
        return tape_fail("bm_tape_backward", c->tape);
    if (bm_optim_step(bm_model_optim(c->m), bm_model_params(c->m), bm_model_grads(c->m),
                      c->n_params, &err) != BM_OK) {
        fprintf(stderr, "bmnn-bench: bm_optim_step: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int mlp_step_replay(void *ctx)
{
    mlp_ctx *c = ctx;
    if (bm_tape_forward(c->tape) != BM_OK)
        return tape_fail("bm_tape_forward", c->tape);
    return mlp_backward_update(c);
}

static int mlp_step_record(void *ctx)
{
    mlp_ctx *c = ctx;
    return mlp_record(c) ? -1 : mlp_backward_update(c);
}

/* The model's parameter tensors (weights and biases of each dense layer). */
static size_t mlp_param_tensors(mlp_ctx *c, bm_tensor **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < bm_model_n_layers(c->m); i++) {
        bm_tensor *w = bm_model_weights(c->m, i), *b = bm_model_biases(c->m, i);
        if (w && n + 2 <= max) {
            out[n++] = w;
            out[n++] = b;
        }
    }
    return n;
}

/* Plain backward, replayed: forward, zeroed gradients, bm_tape_backward. */
static int mlp_step_backward(void *ctx)
{
    mlp_ctx *c = ctx;
    if (bm_tape_forward(c->tape) != BM_OK)
        return tape_fail("bm_tape_forward", c->tape);
    memset(bm_model_grads(c->m), 0, c->n_params * c->esz);
    return bm_tape_backward(c->tape, c->loss, NULL) == BM_OK ? 0
                                                             : tape_fail("bm_tape_backward", c->tape);
}

/* Record the forward, then the gradients with bm_grad(create_graph). */
static int mlp_record_cgraph(mlp_ctx *c)
{
    bm_tensor *p[2 * MLP_MAX_WIDTHS], *g[2 * MLP_MAX_WIDTHS];
    size_t n = mlp_param_tensors(c, p, 2 * MLP_MAX_WIDTHS);
    if (mlp_record(c) != 0)
        return -1;
    return bm_grad(c->tape, &c->loss, 1, p, n, NULL, 1, g) == BM_OK ? 0
                                                                    : tape_fail("bm_grad", c->tape);
}

/* A create_graph backward, replayed: forward and gradient graph together. */
static int mlp_step_cgraph(void *ctx)
{
    mlp_ctx *c = ctx;
    return bm_tape_forward(c->tape) == BM_OK ? 0 : tape_fail("bm_tape_forward", c->tape);
}

/* Recorded every step: forward + bm_tape_backward (no update). */
static int mlp_step_rec_backward(void *ctx)
{
    mlp_ctx *c = ctx;
    if (mlp_record(c) != 0)
        return -1;
    memset(bm_model_grads(c->m), 0, c->n_params * c->esz);
    return bm_tape_backward(c->tape, c->loss, NULL) == BM_OK ? 0
                                                             : tape_fail("bm_tape_backward", c->tape);
}

/* Recorded every step: forward + bm_grad(create_graph). */
static int mlp_step_rec_cgraph(void *ctx) { return mlp_record_cgraph(ctx); }

static int mlp_step_fit(void *ctx)
{
    mlp_ctx *c = ctx;
    bm_error err = {0};
    if (bm_model_fit(c->m, &c->ds, &c->fit, &err) != BM_OK) {
        fprintf(stderr, "bmnn-bench: bm_model_fit: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* Build the model and its one-batch data set. */
static int mlp_setup(mlp_ctx *c, const mlp_spec *s, const bench_opts *o)
{
    bm_error err = {0};
    bm_rng rng;
    bm_rng_seed(&rng, o->seed);
    size_t F = s->widths[0], C = s->widths[s->n_widths - 1];
    size_t xs[2] = {s->batch, F}, ys[1] = {s->batch};
    c->ds.x = bm_tensor_randn(BM_F32, 2, xs, 0.0, 1.0, &rng, &err);
    c->ds.y = c->ds.x ? bm_tensor_new(BM_F32, 1, ys, &err) : NULL;
    c->ds.n_classes = C;
    if (!c->ds.y)
        goto fail;
    for (size_t i = 0; i < s->batch; i++)
        bm_tensor_set(c->ds.y, i, (double)bm_rng_below(&rng, C));
    bm_optim_config adam = bm_optim_defaults(BM_OPT_ADAM);
    adam.lr = MLP_LR;
    if (!(c->m = bm_model_new(BM_F32, F, &err)))
        goto fail;
    for (size_t i = 1; i < s->n_widths; i++) {
        bm_layer_spec d = bm_dense_spec(s->widths[i - 1], s->widths[i]);
        bm_layer_spec relu = bm_activation_spec(BM_LAYER_RELU);
        if (bm_model_add(c->m, &d, &err) != BM_OK)
            goto fail;
        if (i + 1 < s->n_widths && bm_model_add(c->m, &relu, &err) != BM_OK)
            goto fail;
    }
    if (bm_model_set_loss(c->m, BM_LOSS_SOFTMAX_CCE, &err) != BM_OK ||
        bm_model_set_optimizer(c->m, &adam, &err) != BM_OK ||
        bm_model_init(c->m, o->seed, &err) != BM_OK)
        goto fail;
    c->n_params = bm_model_n_params(c->m);
    c->esz = bm_dtype_size(BM_F32);
    c->fit = bm_fit_defaults();
    c->fit.epochs = 1;
    int threads = o->threads > 0 ? o->threads : 1;
    if (bm_model_set_threads(c->m, threads, &err) != BM_OK)
        goto fail;
    bm_allocator a = bench_counting_allocator(&c->cnt);
    if (!(c->tape = bm_tape_new_ex(&a))) {
        fprintf(stderr, "bmnn-bench: out of memory for a tape\n");
        return -1;
    }
    if (bm_tape_set_threads(c->tape, threads, &err) != BM_OK)
        goto fail;
    return mlp_record(c);
fail:
    fprintf(stderr, "bmnn-bench: %s setup: %s\n", s->id, err.msg);
    return -1;
}

static void mlp_free(mlp_ctx *c)
{
    bm_tape_free(c->tape);
    bm_model_free(c->m);
    bm_dataset_free(&c->ds);
}

/* Time one mode of one MLP into a new row. */
static bench_row *mlp_row(bench_report *r, const bench_opts *o, const mlp_spec *s, mlp_ctx *c,
                          const char *mode, bench_fn fn, int counted)
{
    bench_row *row = bench_row_add(r, ROW_STEP, s->id);
    if (!row)
        return NULL;
    int n = snprintf(row->label, sizeof row->label, "MLP ");
    for (size_t i = 0; i < s->n_widths && n > 0 && (size_t)n < sizeof row->label; i++)
        n += snprintf(row->label + n, sizeof row->label - (size_t)n, "%s%zu", i ? "-" : "",
                      s->widths[i]);
    if (n > 0 && (size_t)n < sizeof row->label)
        snprintf(row->label + n, sizeof row->label - (size_t)n, " b%zu", s->batch);
    snprintf(row->mode, sizeof row->mode, "%s", mode);
    if (bench_measure(fn, c, o, counted ? &c->cnt.calls : NULL, &row->t) != 0)
        return NULL;
    return row;
}

static int mlp_one(bench_report *r, const bench_opts *o, const mlp_spec *s)
{
    mlp_ctx c;
    memset(&c, 0, sizeof c);
    long rss0 = bench_rss_kb();
    int rc = -1;
    if (mlp_setup(&c, s, o) != 0)
        goto done;
    bench_row *rep = mlp_row(r, o, s, &c, "replay", mlp_step_replay, 1);
    if (!rep)
        goto done;
    rep->loss = bm_tensor_get(c.loss, 0);
    bench_mem *m = &rep->mem;
    rep->has_mem = 1;
    m->arena = bm_tape_arena_bytes(c.tape);
    m->params = m->grads = c.n_params * c.esz;
    m->optim = (size_t)bm_optim_state_count(bm_model_optim(c.m)) * c.n_params * c.esz;
    m->total = m->arena + m->params + m->grads + m->optim;
    bench_row *rec = mlp_row(r, o, s, &c, "record", mlp_step_record, 1);
    if (!rec)
        goto done;
    rec->loss = bm_tensor_get(c.loss, 0);
    bench_row *fit = mlp_row(r, o, s, &c, "fit", mlp_step_fit, 0);
    if (!fit)
        goto done;
    /* the cost of a create_graph backward against a plain one (W1, W2) */
    if (s->bit != BENCH_W3) {
        if (mlp_record(&c) != 0 || !mlp_row(r, o, s, &c, "bwd", mlp_step_backward, 1) ||
            !mlp_row(r, o, s, &c, "rec+bwd", mlp_step_rec_backward, 1) ||
            mlp_record_cgraph(&c) != 0 ||
            !mlp_row(r, o, s, &c, "cgraph", mlp_step_cgraph, 1) ||
            !mlp_row(r, o, s, &c, "rec+cg", mlp_step_rec_cgraph, 1))
            goto done;
    }
    m->rss_max_kb = bench_max_rss_kb();
    long rss1 = bench_rss_kb();
    m->rss_delta_kb = rss0 >= 0 && rss1 >= 0 ? rss1 - rss0 : -1;
    rc = 0;
done:
    mlp_free(&c);
    return rc;
}

int bench_mlp(bench_report *r, const bench_opts *o, unsigned which)
{
    for (size_t i = 0; i < N_MLPS; i++)
        if ((which & MLPS[i].bit) && mlp_one(r, o, &MLPS[i]) != 0)
            return -1;
    return 0;
}

/* ---------------------------------------------------------------- W4 */

typedef struct chain_ctx {
    bm_tape *tape;
    bench_counter cnt;
    bm_tensor *x, *out;
} chain_ctx;

static int chain_backward(chain_ctx *c)
{
    bm_tensor_zero_grad(c->x);
    return bm_tape_backward(c->tape, c->out, NULL) == BM_OK ? 0
                                                            : tape_fail("chain backward", c->tape);
}

static int chain_record(void *ctx)
{
    chain_ctx *c = ctx;
    bm_tape_reset(c->tape);
    bm_tensor *h = c->x;
    for (int i = 0; i < CHAIN_OPS; i++) {
        switch (i % 3) {
        case 0: h = bm_scale(c->tape, h, CHAIN_SCALE); break;
        case 1: h = bm_add_scalar(c->tape, h, CHAIN_SHIFT); break;
        default: h = bm_relu(c->tape, h); break;
        }
    }
    c->out = bm_sum(c->tape, h, BM_AXIS_ALL, 0);
    return c->out ? chain_backward(c) : tape_fail("chain record", c->tape);
}

static int chain_replay(void *ctx)
{
    chain_ctx *c = ctx;
    if (bm_tape_forward(c->tape) != BM_OK)
        return tape_fail("chain forward", c->tape);
    return chain_backward(c);
}

int bench_chain(bench_report *r, const bench_opts *o)
{
    chain_ctx c;
    memset(&c, 0, sizeof c);
    bm_error err = {0};
    bm_rng rng;
    bm_rng_seed(&rng, o->seed);
    size_t xs[2] = {1, CHAIN_WIDTH};
    bm_allocator a = bench_counting_allocator(&c.cnt);
    int rc = -1;
    long rss0 = bench_rss_kb();
    c.x = bm_tensor_rand(BM_F32, 2, xs, CHAIN_LO, CHAIN_HI, &rng, &err);
    if (!c.x || bm_tensor_set_requires_grad(c.x, 1, &err) != BM_OK) {
        fprintf(stderr, "bmnn-bench: W4 setup: %s\n", err.msg);
        goto done;
    }
    if (!(c.tape = bm_tape_new_ex(&a)) || chain_record(&c) != 0)
        goto done;
    static const char *const modes[] = {"record", "replay"};
    const bench_fn fns[] = {chain_record, chain_replay};
    for (int k = 0; k < 2; k++) {
        bench_row *row = bench_row_add(r, ROW_CHAIN, "W4");
        if (!row)
            goto done;
        snprintf(row->label, sizeof row->label, "chain %d ops 1x%d", CHAIN_OPS, CHAIN_WIDTH);
        snprintf(row->mode, sizeof row->mode, "%s", modes[k]);
        row->units = CHAIN_OPS;
        if (bench_measure(fns[k], &c, o, &c.cnt.calls, &row->t) != 0)
            goto done;
        row->loss = bm_tensor_get(c.out, 0);
        row->has_mem = 1;
        row->mem.arena = bm_tape_arena_bytes(c.tape);
        row->mem.params = row->mem.grads = CHAIN_WIDTH * sizeof(float);
        row->mem.total = row->mem.arena + row->mem.params + row->mem.grads;
        row->mem.rss_max_kb = bench_max_rss_kb();
        long rss1 = bench_rss_kb();
        row->mem.rss_delta_kb = rss0 >= 0 && rss1 >= 0 ? rss1 - rss0 : -1;
    }
    rc = 0;
done:
    bm_tape_free(c.tape);
    bm_tensor_free(c.x);
    return rc;
}

/* ----------------------------------------------------------------- G */

typedef struct gemm_ctx {
    size_t M, N, K;
    int ta, tb;
    float beta;
    float *A, *B, *C;
    bm_pool *pool;   /* --threads N > 1: a pool of N (else NULL) */
    void *ws;        /* workspace for the pool's thread count (as matmul keeps) */
    size_t ws_bytes;
} gemm_ctx;

static int gemm_call(void *ctx)
{
    gemm_ctx *g = ctx;
    size_t lda = g->ta ? g->M : g->K, ldb = g->tb ? g->K : g->N;
    bm_gemm_f32_ex(g->ta, g->tb, g->M, g->N, g->K, 1.0f, g->A, lda, g->B, ldb, g->beta, g->C,
                   g->N, g->pool, g->ws, g->ws_bytes);
    return 0;
}

/* Largest error of GEMM_CHECKS entries of op(A)·op(B) (beta 0) relative to
 * Σ|a·b|: a guard against timing a kernel that computes something else. */
static double gemm_check(gemm_ctx *g, bm_rng *rng)
{
    float beta = g->beta;
    g->beta = 0.0f;
    gemm_call(g);
    g->beta = beta;
    double worst = 0.0;
    for (int s = 0; s < GEMM_CHECKS; s++) {
        size_t i = s == 0 ? 0 : s == 1 ? g->M - 1 : (size_t)bm_rng_below(rng, g->M);
        size_t j = s == 0 ? 0 : s == 1 ? g->N - 1 : (size_t)bm_rng_below(rng, g->N);
        double ref = 0.0, mag = 0.0;
        for (size_t k = 0; k < g->K; k++) {
            double a = g->ta ? g->A[k * g->M + i] : g->A[i * g->K + k];
            double b = g->tb ? g->B[j * g->K + k] : g->B[k * g->N + j];
            ref += a * b;
            mag += a * b < 0 ? -a * b : a * b;
        }
        double e = (double)g->C[i * g->N + j] - ref;
        e = (e < 0 ? -e : e) / (mag > 0 ? mag : 1.0);
        if (!(e <= worst)) /* NaN counts as worst */
            worst = e;
    }
    return worst;
}

static float *gemm_buf(size_t n, bm_rng *rng)
{
    size_t bytes = (n * sizeof(float) + GEMM_ALIGN - 1) / GEMM_ALIGN * GEMM_ALIGN;
    float *p = aligned_alloc(GEMM_ALIGN, bytes);
    if (p)
        for (size_t i = 0; i < n; i++)
            p[i] = (float)(2.0 * bm_rng_uniform(rng) - 1.0);
    return p;
}

/* Time C[M,N] (+)= op(A)·op(B) into a new row labelled `label`. */
static int gemm_one(bench_report *r, const bench_opts *o, const char *label, size_t M, size_t N,
                    size_t K, int ta, int tb, float beta)
{
    bm_rng rng;
    bm_rng_seed(&rng, o->seed);
    gemm_ctx g = {M, N, K, ta, tb, beta, NULL, NULL, NULL, NULL, NULL, 0};
    bm_error err = {0};
    int threads = o->threads > 0 ? o->threads : 1;
    g.A = gemm_buf(M * K, &rng);
    g.B = gemm_buf(K * N, &rng);
    g.C = gemm_buf(M * N, &rng);
    g.ws_bytes = bm_gemm_workspace_bytes(BM_F32, ta, tb, M, N, K, threads);
    g.ws = g.ws_bytes ? malloc(g.ws_bytes) : NULL;
    int rc = -1;
    bench_row *row = NULL;
    if (threads > 1 && !(g.pool = bm_pool_new(threads, &err)))
        fprintf(stderr, "bmnn-bench: a pool of %d threads: %s\n", threads, err.msg);
    else if (!g.A || !g.B || !g.C || (g.ws_bytes && !g.ws))
        fprintf(stderr, "bmnn-bench: out of memory for a %zux%zux%zu product\n", M, N, K);
    else if ((row = bench_row_add(r, ROW_GEMM, "G")) != NULL) {
        snprintf(row->label, sizeof row->label, "%s", label);
        snprintf(row->mode, sizeof row->mode, "%s%s", ta ? "T" : "N", tb ? "T" : "N");
        row->M = M;
        row->N = N;
        row->K = K;
        row->ta = ta;
        row->tb = tb;
        row->beta = beta;
        row->check_err = gemm_check(&g, &rng);
        if (!(row->check_err <= GEMM_CHECK_TOL))
            fprintf(stderr, "bmnn-bench: %s: bm_gemm_f32 %zux%zux%zu %s is wrong (error %g of "
                    "sum |a*b|); not timed\n", label, M, N, K, row->mode, row->check_err);
        else if ((rc = bench_measure(gemm_call, &g, o, NULL, &row->t)) == 0)
            row->has_blas = bench_blas_gemm(o, ta, tb, M, N, K, beta, g.A, g.B, g.C,
                                            &row->blas) == 0;
    }
    bm_pool_free(g.pool);
    free(g.ws);
    free(g.A);
    free(g.B);
    free(g.C);
    return rc;
}

/* Time product number *k (counted from 0) unless --gemm-index picks another. */
static int gemm_pick(bench_report *r, const bench_opts *o, long *k, const char *label,
                     size_t M, size_t N, size_t K, int ta, int tb, float beta)
{
    long mine = (*k)++;
    if (o->gemm_index >= 0 && o->gemm_index != mine)
        return 0;
    return gemm_one(r, o, label, M, N, K, ta, tb, beta);
}

int bench_gemm(bench_report *r, const bench_opts *o)
{
    char label[64];
    long k = 0;
    bench_blas_threads(o->threads);
    for (size_t i = 0; i < sizeof GEMM_SQUARE / sizeof GEMM_SQUARE[0]; i++) {
        size_t n = GEMM_SQUARE[i];
        snprintf(label, sizeof label, "square %zu A.B", n);
        if (gemm_pick(r, o, &k, label, n, n, n, 0, 0, 0.0f) != 0)
            return -1;
    }
    /* The products of matmul (ops/matmul.c) per dense layer in -> out at
     * batch B: forward A·B (beta 0), dX = G·Bᵀ (beta 1; not for the first
     * layer, whose input needs no gradient), dW = Aᵀ·G (beta 1). */
    for (size_t w = 0; w < N_MLPS; w++) {
        const mlp_spec *s = &MLPS[w];
        for (size_t l = 1; l < s->n_widths; l++) {
            size_t in = s->widths[l - 1], out = s->widths[l], B = s->batch;
            snprintf(label, sizeof label, "%s L%zu fwd A.B", s->id, l);
            if (gemm_pick(r, o, &k, label, B, out, in, 0, 0, 0.0f) != 0)
                return -1;
            if (l > 1) {
                snprintf(label, sizeof label, "%s L%zu dX G.B^T", s->id, l);
                if (gemm_pick(r, o, &k, label, B, in, out, 0, 1, 1.0f) != 0)
                    return -1;
            }
            snprintf(label, sizeof label, "%s L%zu dW A^T.G", s->id, l);
            if (gemm_pick(r, o, &k, label, in, out, B, 1, 0, 1.0f) != 0)
                return -1;
        }
    }
    if (o->gemm_index >= k) {
        fprintf(stderr, "bmnn-bench: --gemm-index %ld: there are %ld products (0..%ld)\n",
                o->gemm_index, k, k - 1);
        return -1;
    }
    return 0;
}
