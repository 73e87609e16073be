/* peer_kann.c — bmnn-bench's W1–W3 training steps in kann (attractivechaos/kann)
 * on OpenBLAS: a C peer with no interpreter between the timer and the BLAS.
 *
 * Built by peer_kann.sh against a kann source tree outside this repository
 * (never vendored) and OpenBLAS; not part of the meson build.
 *
 *   peer-kann [--quick] [--threads N] [--mt] [--only W1,W2,W3] [--reps N] [--min-time S]
 *
 * The networks are bench_work.c's: dense + ReLU hidden layers, a dense output
 * layer with softmax cross-entropy (kann_layer_cost, KANN_C_CEM), float32, one
 * fixed batch of N(0,1) inputs and uniform random labels. A step is kann_cost
 * (forward and backward; kann zeroes the gradients itself) and an Adam update
 * (lr 1e-3, betas 0.9 / 0.999, eps 1e-8, PyTorch's) over kann's collated
 * variables — the same step bmnn-bench's "replay" row times. The timing
 * follows bench_util.c: a warm-up, runs sized to last min-time, each run's
 * wall and process CPU seconds per step; printed as median and minimum.
 * --threads N gives OpenBLAS N threads; --mt instead splits the batch over N
 * kann threads (kann_mt) with OpenBLAS on one. */
#define _POSIX_C_SOURCE 200809L

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kann.h"

/* Full run: 7 timed runs of >= 0.2 s after 0.1 s of warm-up (bench.c's). */
#define FULL_REPS 7
#define FULL_MIN_RUN_S 0.2
#define FULL_WARMUP_S 0.1
/* --quick: 3 runs of >= 20 ms after 10 ms of warm-up. */
#define QUICK_REPS 3
#define QUICK_MIN_RUN_S 0.02
#define QUICK_WARMUP_S 0.01
/* Most timed runs, most layer widths of a network. */
#define MAX_REPS 64
#define MAX_WIDTHS 5
/* The warm-up runs at least this many steps. */
#define WARMUP_MIN_ITERS 3
/* Adam (PyTorch's defaults, bench_work.c's learning rate). */
#define ADAM_LR 1e-3f
#define ADAM_BETA1 0.9f
#define ADAM_BETA2 0.999f
#define ADAM_EPS 1e-8f
/* Seed of the data and of kann's initialisation. */
#define SEED 42
/* Microseconds per second. */
#define US_PER_S 1e6
/* splitmix64 constants (the data generator). */
#define SM_GAMMA 0x9e3779b97f4a7c15ULL
#define SM_MUL1 0xbf58476d1ce4e5b9ULL
#define SM_MUL2 0x94d049bb133111ebULL
#define SM_SHIFT1 30
#define SM_SHIFT2 27
#define SM_SHIFT3 31
/* 53 random bits make a double in [0, 1). */
#define MANTISSA_SHIFT 11
#define TWO_POW_M53 (1.0 / 9007199254740992.0)
#define TWO_PI 6.283185307179586

/* Exit statuses. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* A workload: widths[0] inputs, ..., widths[n-1] classes, at batch `batch`. */
typedef struct spec {
    const char *id;
    int batch;
    int n_widths;
    int widths[MAX_WIDTHS];
} spec;

static const spec SPECS[] = {
    {"W1", 300, 3, {2, 64, 3}},
    {"W2", 128, 3, {784, 128, 10}},
    {"W3", 256, 4, {784, 512, 512, 10}},
};
#define N_SPECS (sizeof SPECS / sizeof SPECS[0])

/* Options. */
typedef struct opts {
    int reps, threads, mt;
    double min_run_s, warmup_s;
    unsigned only; /* bit i: SPECS[i] */
} opts;

/* One network with its batch and Adam state. */
typedef struct net {
    kann_t *ann;
    float *x, *y;  /* batch inputs [B, F] and one-hot labels [B, C] */
    float *m, *v;  /* Adam moments */
    int n_var;
    long t;        /* Adam step count */
    float cost;
} net;

static double now_s(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += SM_GAMMA);
    z = (z ^ (z >> SM_SHIFT1)) * SM_MUL1;
    z = (z ^ (z >> SM_SHIFT2)) * SM_MUL2;
    return z ^ (z >> SM_SHIFT3);
}

static double uniform(uint64_t *s) { return (double)(splitmix(s) >> MANTISSA_SHIFT) * TWO_POW_M53; }

/* A standard normal draw (Box–Muller). */
static double normal(uint64_t *s)
{
    double u = 1.0 - uniform(s), w = uniform(s);
    return sqrt(-2.0 * log(u)) * cos(TWO_PI * w);
}

static void net_free(net *n)
{
    if (n->ann) {
        kann_delete(n->ann);
    }
    free(n->x);
    free(n->y);
    free(n->m);
    free(n->v);
    memset(n, 0, sizeof *n);
}

/* Build s's network and batch; 0 or -1 (message printed). */
static int net_new(net *n, const spec *s, const opts *o)
{
    memset(n, 0, sizeof *n);
    int F = s->widths[0], C = s->widths[s->n_widths - 1], B = s->batch;
    kann_srand(SEED);
    kad_node_t *t = kann_layer_input(F);
    for (int i = 1; i + 1 < s->n_widths; i++)
        t = kad_relu(kann_layer_dense(t, s->widths[i]));
    n->ann = kann_new(kann_layer_cost(t, C, KANN_C_CEM), 0);
    n->x = malloc(sizeof(float) * (size_t)B * (size_t)F);
    n->y = calloc((size_t)B * (size_t)C, sizeof(float));
    if (!n->ann || !n->x || !n->y)
        goto oom;
    n->n_var = kann_size_var(n->ann);
    n->m = calloc((size_t)n->n_var, sizeof(float));
    n->v = calloc((size_t)n->n_var, sizeof(float));
    if (!n->m || !n->v)
        goto oom;
    uint64_t rng = SEED;
    for (int i = 0; i < B * F; i++)
        n->x[i] = (float)normal(&rng);
    for (int i = 0; i < B; i++)
        n->y[i * C + (int)(uniform(&rng) * C)] = 1.0f;
    if (o->mt && o->threads > 1)
        kann_mt(n->ann, o->threads, B);
    kann_feed_bind(n->ann, KANN_F_IN, 0, &n->x);
    kann_feed_bind(n->ann, KANN_F_TRUTH, 0, &n->y);
    kann_set_batch_size(n->ann, B);
    kann_switch(n->ann, 1);
    return 0;
oom:
    fprintf(stderr, "peer-kann: %s: out of memory\n", s->id);
    net_free(n);
    return -1;
}

/* One training step: forward + backward, Adam. */
static void net_step(net *n)
{
    n->cost = kann_cost(n->ann, 0, 1);
    n->t++;
    float c1 = 1.0f - powf(ADAM_BETA1, (float)n->t), c2 = 1.0f - powf(ADAM_BETA2, (float)n->t);
    float step = ADAM_LR / c1, rc2 = 1.0f / sqrtf(c2);
    float *p = n->ann->x;
    const float *g = n->ann->g;
    for (int i = 0; i < n->n_var; i++) {
        n->m[i] = ADAM_BETA1 * n->m[i] + (1.0f - ADAM_BETA1) * g[i];
        n->v[i] = ADAM_BETA2 * n->v[i] + (1.0f - ADAM_BETA2) * g[i] * g[i];
        p[i] -= step * n->m[i] / (sqrtf(n->v[i]) * rc2 + ADAM_EPS);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Time s: prints one line. */
static int run_one(const spec *s, const opts *o)
{
    net n;
    if (net_new(&n, s, o) != 0)
        return -1;
    long iters = 0;
    double t0 = now_s(CLOCK_MONOTONIC), el = 0.0;
    while (iters < WARMUP_MIN_ITERS || el < o->warmup_s) {
        net_step(&n);
        iters++;
        el = now_s(CLOCK_MONOTONIC) - t0;
    }
    long per_run = (long)(o->min_run_s / (el / (double)iters)) + 1;
    double wall[MAX_REPS], cpu[MAX_REPS];
    for (int r = 0; r < o->reps; r++) {
        double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
        for (long i = 0; i < per_run; i++)
            net_step(&n);
        wall[r] = (now_s(CLOCK_MONOTONIC) - w0) / (double)per_run;
        cpu[r] = (now_s(CLOCK_PROCESS_CPUTIME_ID) - c0) / (double)per_run;
    }
    char label[64];
    int k = 0;
    for (int i = 0; i < s->n_widths && k >= 0 && (size_t)k < sizeof label; i++)
        k += snprintf(label + k, sizeof label - (size_t)k, "%s%d", i ? "-" : "", s->widths[i]);
    double wmed = median(wall, o->reps), cmed = median(cpu, o->reps);
    printf("%-4s %-18s b%-4d %12.3f %12.3f %12.3f %12.3f %6dx%-7ld %10.5f\n", s->id, label,
           s->batch, wmed * US_PER_S, wall[0] * US_PER_S, cmed * US_PER_S, cpu[0] * US_PER_S,
           o->reps, per_run, (double)n.cost);
    net_free(&n);
    return 0;
}

static int parse_args(int argc, char **argv, opts *o)
{
    int quick = 0;
    double min_time = -1.0;
    o->reps = 0;
    o->threads = 1;
    o->only = (1u << N_SPECS) - 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) {
            quick = 1;
            continue;
        }
        if (strcmp(a, "--mt") == 0) {
            o->mt = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "peer-kann: %s: unknown option or missing value\n", a);
            return -1;
        }
        i++;
        if (strcmp(a, "--threads") == 0 && atoi(v) >= 1)
            o->threads = atoi(v);
        else if (strcmp(a, "--reps") == 0 && atoi(v) >= 1)
            o->reps = atoi(v) > MAX_REPS ? MAX_REPS : atoi(v);
        else if (strcmp(a, "--min-time") == 0 && atof(v) >= 0.0)
            min_time = atof(v);
        else if (strcmp(a, "--only") == 0) {
            o->only = 0;
            for (size_t k = 0; k < N_SPECS; k++)
                if (strstr(v, SPECS[k].id))
                    o->only |= 1u << k;
            if (!o->only) {
                fprintf(stderr, "peer-kann: --only: none of W1,W2,W3 in '%s'\n", v);
                return -1;
            }
        } else {
            fprintf(stderr, "peer-kann: bad option %s %s\n", a, v);
            return -1;
        }
    }
    if (!o->reps)
        o->reps = quick ? QUICK_REPS : FULL_REPS;
    o->min_run_s = min_time >= 0.0 ? min_time : quick ? QUICK_MIN_RUN_S : FULL_MIN_RUN_S;
    o->warmup_s = quick ? QUICK_WARMUP_S : FULL_WARMUP_S;
    return 0;
}

int main(int argc, char **argv)
{
    opts o;
    memset(&o, 0, sizeof o);
    if (parse_args(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: peer-kann [--quick] [--threads N] [--mt] [--only W1,W2,W3] "
                        "[--reps N] [--min-time S]\n");
        return EXIT_USAGE;
    }
    openblas_set_num_threads(o.mt ? 1 : o.threads);
    printf("peer-kann: kann %s on OpenBLAS (kernel %s; %s); %d thread%s (%s); %d runs of >= %g s\n",
           KANN_VERSION, openblas_get_corename(), openblas_get_config(), o.threads,
           o.threads == 1 ? "" : "s", o.mt ? "kann_mt, OpenBLAS 1" : "OpenBLAS", o.reps,
           o.min_run_s);
    printf("%-4s %-18s %-5s %12s %12s %12s %12s %14s %10s\n", "wl", "net", "batch",
           "wall_med_us", "wall_min_us", "cpu_med_us", "cpu_min_us", "runs x n", "cost");
    for (size_t k = 0; k < N_SPECS; k++)
        if ((o.only & (1u << k)) && run_one(&SPECS[k], &o) != 0)
            return EXIT_FAIL;
    return EXIT_OK;
}
