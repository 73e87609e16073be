/* memplan_bench.c — bmnn-memplan: tape memory and step time of W3 and a
 * GPT-like graph, with the memory planner off and on.
 *
 *   bmnn-memplan [--steps N] [--threads N] [--row W3|GPT --plan 0|1]
 *
 * W3:  MLP 784-512-512-10 ReLU, batch 256, softmax-CE (bm_linear, bm_relu).
 * GPT: a char GPT built from ops: token embedding + position embedding,
 *      GPT_LAYERS pre-norm blocks (layer_norm, causal scaled dot-product
 *      attention over GPT_HEADS heads, GELU MLP of 4×width, residual adds),
 *      a final layer_norm, the vocabulary head and softmax-CE; float32.
 * Each graph is recorded once and trained with plain SGD for --steps
 * replayed steps (forward, zeroed gradients, backward, update); the row
 * gives the tape's arena after the steps, the buffers' figures
 * (bm_tape_memory) and the median step time. The losses of every step are
 * summed bit for bit into a checksum: planned and unplanned must agree.
 * With --row, one workload runs alone in the process, planned or not, and
 * the row adds the tape's arena after the first step (the recording and
 * the first, unplanned backward) and the process's peak resident memory
 * (getrusage's ru_maxrss: what the planner must lower, first step included).
 * Planned rows record the step and build its backward with the tape's dry
 * run on (no kernel runs, the unplanned buffers are never written) and plan
 * before the first step, as fit does with plan_memory.
 * Only the public API is used, so the same file builds against an older
 * libbmnn (without BMNN_HAS_MEMORY_PLAN it prints the unplanned rows):
 * tools/bench/memplan_compare.sh runs it against a baseline build. */
#include <math.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bmnn.h>

#define BYTES_PER_KIB 1024.0
#define US_PER_S 1e6
#define NS_PER_S 1e9
#define DEFAULT_STEPS 20
#define MAX_STEPS 1000
#define SGD_LR 1e-3
#define PARAM_SEED 1
#define DATA_SEED 2
#define MAX_PARAMS 96
#define LN_EPS 1e-5
/* W3 */
#define W3_BATCH 256
#define W3_IN 784
#define W3_HIDDEN 512
#define W3_CLASSES 10
/* the GPT */
#define GPT_LAYERS 4
#define GPT_HEADS 4
#define GPT_WIDTH 128
#define GPT_CONTEXT 128
#define GPT_BATCH 16
#define GPT_VOCAB 65
#define GPT_MLP 4

typedef struct graph {
    bm_tensor *p[MAX_PARAMS];
    size_t n_p;
    bm_tensor *x, *y, *loss;
    size_t x_range, y_range; /* x, y are indices below these (0: x normal) */
} graph;

typedef int (*build_fn)(bm_tape *t, graph *g);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / NS_PER_S;
}

static bm_tensor *param(graph *g, bm_rng *r, int rank, const size_t *shape, double std)
{
    if (g->n_p >= MAX_PARAMS)
        return NULL;
    bm_tensor *p = bm_tensor_randn(BM_F32, rank, shape, 0.0, std, r, NULL);
    if (!p || bm_tensor_set_requires_grad(p, 1, NULL) != BM_OK) {
        bm_tensor_free(p);
        return NULL;
    }
    return g->p[g->n_p++] = p;
}

static int build_w3(bm_tape *t, graph *g)
{
    bm_rng r;
    bm_rng_seed(&r, PARAM_SEED);
    const size_t widths[] = {W3_IN, W3_HIDDEN, W3_HIDDEN, W3_CLASSES};
    const size_t n_layers = sizeof widths / sizeof widths[0] - 1;
    size_t xs[2] = {W3_BATCH, W3_IN}, ys[1] = {W3_BATCH};
    g->x = bm_tape_leaf(t, BM_F32, 2, xs, 0);
    g->y = bm_tape_leaf(t, BM_F32, 1, ys, 0);
    g->y_range = W3_CLASSES;
    bm_tensor *h = g->x;
    for (size_t l = 0; l < n_layers; l++) {
        size_t ws[2] = {widths[l], widths[l + 1]}, bs[1] = {widths[l + 1]};
        h = bm_linear(t, h, param(g, &r, 2, ws, 1.0 / sqrt((double)widths[l])),
                      param(g, &r, 1, bs, 0.0));
        if (l + 1 < n_layers)
            h = bm_relu(t, h);
    }
    g->loss = bm_softmax_cce(t, h, g->y);
    return g->loss ? 0 : -1;
}

/* x [B·T, C] -> [B, H, T, D] */
static bm_tensor *heads(bm_tape *t, bm_tensor *x)
{
    size_t s[4] = {GPT_BATCH, GPT_CONTEXT, GPT_HEADS, GPT_WIDTH / GPT_HEADS};
    return bm_transpose_axes(t, bm_reshape(t, x, 4, s), 1, 2);
}

static bm_tensor *layer_norm(bm_tape *t, graph *g, bm_rng *r, bm_tensor *x)
{
    size_t cs[1] = {GPT_WIDTH};
    bm_tensor *w = param(g, r, 1, cs, 0.0), *b = param(g, r, 1, cs, 0.0);
    if (w)
        for (size_t i = 0; i < w->size; i++)
            bm_tensor_set(w, i, 1.0);
    return bm_layer_norm(t, x, w, b, LN_EPS);
}

static bm_tensor *dense(bm_tape *t, graph *g, bm_rng *r, bm_tensor *x, size_t in, size_t out)
{
    size_t ws[2] = {in, out}, bs[1] = {out};
    return bm_linear(t, x, param(g, r, 2, ws, 1.0 / sqrt((double)in)), param(g, r, 1, bs, 0.0));
}

static int build_gpt(bm_tape *t, graph *g)
{
    bm_rng r;
    bm_rng_seed(&r, PARAM_SEED);
    const size_t BT = GPT_BATCH * GPT_CONTEXT, C = GPT_WIDTH;
    size_t is[1] = {BT}, te[2] = {GPT_VOCAB, C}, pe[2] = {GPT_CONTEXT, C};
    size_t bt3[3] = {GPT_BATCH, GPT_CONTEXT, C}, flat[2] = {BT, C};
    g->x = bm_tape_leaf(t, BM_F32, 1, is, 0);
    g->y = bm_tape_leaf(t, BM_F32, 1, is, 0);
    g->x_range = g->y_range = GPT_VOCAB;
    bm_tensor *tok = bm_embedding(t, g->x, param(g, &r, 2, te, 1.0));
    bm_tensor *pos = param(g, &r, 2, pe, 1.0);
    bm_tensor *h = bm_reshape(t, bm_add(t, bm_reshape(t, tok, 3, bt3), pos), 2, flat);
    bm_sdpa_opts so = bm_sdpa_defaults();
    so.causal = 1;
    for (int l = 0; l < GPT_LAYERS; l++) {
        bm_tensor *a = layer_norm(t, g, &r, h);
        bm_tensor *q = heads(t, dense(t, g, &r, a, C, C));
        bm_tensor *k = heads(t, dense(t, g, &r, a, C, C));
        bm_tensor *v = heads(t, dense(t, g, &r, a, C, C));
        bm_tensor *o = bm_scaled_dot_product_attention(t, q, k, v, &so);
        o = bm_reshape(t, bm_transpose_axes(t, o, 1, 2), 2, flat);
        h = bm_add(t, h, dense(t, g, &r, o, C, C));
        bm_tensor *m = layer_norm(t, g, &r, h);
        m = bm_gelu(t, dense(t, g, &r, m, C, GPT_MLP * C), 1);
        h = bm_add(t, h, dense(t, g, &r, m, GPT_MLP * C, C));
    }
    h = dense(t, g, &r, layer_norm(t, g, &r, h), C, GPT_VOCAB);
    g->loss = bm_softmax_cce(t, h, g->y);
    return g->loss ? 0 : -1;
}

static void fill(bm_tensor *t, size_t range, bm_rng *r)
{
    for (size_t i = 0; i < t->size; i++)
        bm_tensor_set(t, i, range ? (double)bm_rng_below(r, range) : bm_rng_normal(r));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One row: record, train `steps` replayed steps, report. */
static int run(const char *name, build_fn build, int plan, int steps, int threads, int alone)
{
    size_t first = 0;
    bm_tape *t = bm_tape_new();
    graph g;
    memset(&g, 0, sizeof g);
    int rc = -1;
    double *times = calloc((size_t)steps, sizeof *times);
    if (!t || !times || bm_tape_set_threads(t, threads, NULL) != BM_OK)
        goto done;
#ifdef BMNN_HAS_MEMORY_PLAN
    bm_tape_set_memory_plan(t, plan);
#else
    if (plan) {
        rc = 0; /* this library has no planner: no row */
        goto done;
    }
#endif
#ifdef BMNN_HAS_DRY_RUN
    bm_tape_set_dry_run(t, plan); /* planned: record and build the backward dry, then plan */
#endif
    if (build(t, &g) != 0) {
        fprintf(stderr, "bmnn-memplan: %s: %s\n", name, bm_tape_error(t));
        goto done;
    }
#ifdef BMNN_HAS_DRY_RUN
    bm_status dry = plan ? bm_tape_backward(t, g.loss, NULL) : BM_OK;
    bm_tape_set_dry_run(t, 0);
    if (dry != BM_OK || (plan && bm_tape_plan_memory(t) != BM_OK)) {
        fprintf(stderr, "bmnn-memplan: %s: %s\n", name, bm_tape_error(t));
        goto done;
    }
#endif
    bm_rng data;
    bm_rng_seed(&data, DATA_SEED);
    uint64_t sum = 0;
    for (int s = 0; s < steps; s++) {
        fill(g.x, g.x_range, &data);
        fill(g.y, g.y_range, &data);
        double t0 = now();
        if (bm_tape_forward(t) != BM_OK)
            break;
        for (size_t i = 0; i < g.n_p; i++)
            bm_tensor_zero_grad(g.p[i]);
        if (bm_tape_backward(t, g.loss, NULL) != BM_OK)
            break;
        for (size_t i = 0; i < g.n_p; i++) {
            float *w = g.p[i]->data;
            const float *d = g.p[i]->grad;
            for (size_t j = 0; j < g.p[i]->size; j++)
                w[j] -= (float)SGD_LR * d[j];
        }
        times[s] = now() - t0;
        first = s == 0 ? bm_tape_arena_bytes(t) : first;
        double loss = bm_tensor_get(g.loss, 0);
        uint64_t bits;
        memcpy(&bits, &loss, sizeof bits);
        sum = sum * 31 + bits;
    }
    if (bm_tape_status(t) != BM_OK) {
        fprintf(stderr, "bmnn-memplan: %s: %s\n", name, bm_tape_error(t));
        goto done;
    }
    qsort(times, (size_t)steps, sizeof *times, cmp_double);
    printf("%-4s %-8s %10.0f", name, plan ? "planned" : "off",
           (double)bm_tape_arena_bytes(t) / BYTES_PER_KIB);
#ifdef BMNN_HAS_MEMORY_PLAN
    bm_tape_memory_stats st;
    bm_tape_memory(t, &st);
    printf(" %10.0f %10.0f %10.0f %10.0f", (double)st.data_arena / BYTES_PER_KIB,
           (double)st.values / BYTES_PER_KIB, (double)st.grads / BYTES_PER_KIB,
           (double)st.slab / BYTES_PER_KIB);
#else
    printf(" %10s %10s %10s %10s", "-", "-", "-", "-");
#endif
    printf(" %10.0f  %016llx", times[steps / 2] * US_PER_S, (unsigned long long)sum);
    struct rusage ru;
    if (alone && getrusage(RUSAGE_SELF, &ru) == 0) /* ru_maxrss: KiB on Linux */
        printf(" %10.0f %10ld", (double)first / BYTES_PER_KIB, ru.ru_maxrss);
    printf("\n");
    rc = 0;
done:
    for (size_t i = 0; i < g.n_p; i++)
        bm_tensor_free(g.p[i]);
    free(times);
    bm_tape_free(t);
    return rc;
}

int main(int argc, char **argv)
{
    int steps = DEFAULT_STEPS, threads = 1, plan = -1;
    const char *row = NULL;
    for (int i = 1; i < argc; i++) {
        long v = i + 1 < argc ? strtol(argv[i + 1], NULL, 10) : 0;
        if (strcmp(argv[i], "--steps") == 0 && v > 0 && v <= MAX_STEPS) {
            steps = (int)v;
            i++;
        } else if (strcmp(argv[i], "--threads") == 0 && v > 0 && v <= BM_MAX_THREADS) {
            threads = (int)v;
            i++;
        } else if (strcmp(argv[i], "--row") == 0 && i + 1 < argc) {
            row = argv[++i];
        } else if (strcmp(argv[i], "--plan") == 0 && i + 1 < argc && (v == 0 || v == 1)) {
            plan = (int)v;
            i++;
        } else {
            fprintf(stderr, "usage: bmnn-memplan [--steps 1..%d] [--threads N] "
                    "[--row W3|GPT --plan 0|1]\n", MAX_STEPS);
            return 2;
        }
    }
    printf("Memory (KiB) after %d replayed steps; step time median (us); loss checksum%s\n",
           steps, row ? "; arena after step 1 and process peak RSS (KiB)" : "");
    printf("%-4s %-8s %10s %10s %10s %10s %10s %10s  %-16s%s\n", "wl", "planner", "arena",
           "data", "values", "grads", "slab", "us/step", "losses",
           row ? "      first    peakrss" : "");
    static const struct {
        const char *name;
        build_fn fn;
    } W[] = {{"W3", build_w3}, {"GPT", build_gpt}};
    int ran = 0;
    for (size_t w = 0; w < sizeof W / sizeof W[0]; w++)
        for (int p = 0; p < 2; p++) {
            if (row && (strcmp(row, W[w].name) != 0 || (plan >= 0 && p != plan)))
                continue;
            if (run(W[w].name, W[w].fn, p, steps, threads, row != NULL) != 0)
                return 1;
            ran++;
        }
    if (!ran)
        fprintf(stderr, "bmnn-memplan: no workload \"%s\" (W3, GPT)\n", row ? row : "");
    return ran ? 0 : 2;
}
