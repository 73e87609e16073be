/* bench.c — bmnn-bench: µs per training step, tape overhead, SGEMM GFLOP/s
 * and memory, as a table and (with --json FILE) as JSON for peer.py.
 *
 *   bmnn-bench [--quick] [--threads N] [--only W1,W2,W3,W4,G,O,S,Z] [--json FILE]
 *              [--reps N] [--min-time S] [--seed N] [--gemm-index I]
 *
 * G also times cblas_sgemm on the same operands when built against OpenBLAS
 * (bench_blas.c) and prints own/OpenBLAS per shape.
 *
 * This machine is shared and noisy: compare figures only with a peer
 * measured in the same command (tools/bench/peer.py does that). */
#define _POSIX_C_SOURCE 200809L

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bench_internal.h"

#ifndef BENCH_BUILDTYPE
#define BENCH_BUILDTYPE "unknown"
#endif

/* Exit statuses. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Full run: 7 timed runs of at least 0.2 s each after 0.1 s of warm-up. */
#define FULL_REPS 7
#define FULL_MIN_RUN_S 0.2
#define FULL_WARMUP_S 0.1
/* --quick: 3 runs of at least 20 ms after 10 ms of warm-up. */
#define QUICK_REPS 3
#define QUICK_MIN_RUN_S 0.02
#define QUICK_WARMUP_S 0.01
/* Default seed of data and weights. */
#define DEFAULT_SEED 42
/* Unit conversions. */
#define US_PER_S 1e6
#define NS_PER_S 1e9
#define FLOP_PER_GFLOP 1e9
#define BYTES_PER_KIB 1024.0

/* --threads N (default 1): the W1-W3 models and tapes run on N threads
 * (bm_model_set_threads, bm_tape_set_threads), G's products on a pool of N
 * with a workspace (bench_work.c). */
static int threads_of(const bench_opts *o) { return o->threads > 0 ? o->threads : 1; }

/* Workload names of --only, in bit order. */
static const struct {
    const char *name;
    unsigned bit;
} WORKLOADS[] = {{"W1", BENCH_W1}, {"W2", BENCH_W2}, {"W3", BENCH_W3},
                 {"W4", BENCH_W4}, {"G", BENCH_G}, {"O", BENCH_O},
                 {"S", BENCH_S}, {"Z", BENCH_Z}};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bmnn-bench [--quick] [--threads N] [--only LIST] [--json FILE]\n"
            "                  [--reps N] [--min-time S] [--seed N] [--gemm-index I]\n"
            "  W1  MLP 2-64-3 ReLU, batch 300          (us per training step)\n"
            "  W2  MLP 784-128-10 ReLU, batch 128      (us per training step)\n"
            "  W3  MLP 784-512-512-10 ReLU, batch 256  (us per training step)\n"
            "  W4  1000-op elementwise chain on 1x16   (ns per op, record and replay)\n"
            "  G   bm_gemm_f32 at n = 64, 256, 1024 and the W1-W3 products (GFLOP/s),\n"
            "      and cblas_sgemm on the same operands when built with OpenBLAS\n"
            "  O   conv2d, layer_norm, batch_norm, bmm, attention fwd + bwd (us per step)\n"
            "  S   lstm, gru, transformer layers forward + backward (us per step)\n"
            "  --threads N   W1-W3 and G on N threads (default 1)\n"
            "  --only W1,G   run these workloads (default: all)\n"
            "  --quick       3 short runs per figure instead of 7 runs of >= 0.2 s\n"
            "  --gemm-index I  G: time only the I-th product (0-based, in table order)\n"
            "  --json FILE   also write every figure (and each run's wall and CPU\n"
            "                seconds) as JSON\n");
}

static int parse_only(const char *s, unsigned *out)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    *out = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        unsigned bit = 0;
        for (size_t i = 0; i < sizeof WORKLOADS / sizeof WORKLOADS[0]; i++)
            if (strcasecmp(tok, WORKLOADS[i].name) == 0)
                bit = WORKLOADS[i].bit;
        if (!bit) {
            fprintf(stderr, "bmnn-bench: --only: unknown workload '%s' (W1,W2,W3,W4,G,O,S,Z)\n", tok);
            return -1;
        }
        *out |= bit;
    }
    return *out ? 0 : -1;
}

static int parse_num(const char *opt, const char *s, double lo, double *out)
{
    char *end = NULL;
    double v = s ? strtod(s, &end) : 0.0;
    if (!s || end == s || *end != '\0' || !(v >= lo)) {
        fprintf(stderr, "bmnn-bench: %s needs a number >= %g, got '%s'\n", opt, lo,
                s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}

/* Parse argv into o and *json; returns EXIT_OK, or an exit status to stop with
 * (-1 for --help). */
static int parse_args(int argc, char **argv, bench_opts *o, const char **json)
{
    double reps = -1, min_time = -1, threads = 0, seed = DEFAULT_SEED, gemm_index = -1;
    o->only = BENCH_ALL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return -1;
        } else if (strcmp(a, "--quick") == 0) {
            o->quick = 1;
            continue;
        } else if (strcmp(a, "--threads") == 0) {
            r = parse_num(a, v, 1, &threads);
        } else if (strcmp(a, "--reps") == 0) {
            r = parse_num(a, v, 1, &reps);
        } else if (strcmp(a, "--min-time") == 0) {
            r = parse_num(a, v, 0, &min_time);
        } else if (strcmp(a, "--gemm-index") == 0) {
            r = parse_num(a, v, 0, &gemm_index);
        } else if (strcmp(a, "--seed") == 0) {
            r = parse_num(a, v, 0, &seed);
        } else if (strcmp(a, "--only") == 0) {
            r = v ? parse_only(v, &o->only) : -1;
        } else if (strcmp(a, "--json") == 0) {
            *json = v;
            r = v ? 0 : -1;
        } else {
            fprintf(stderr, "bmnn-bench: unknown option '%s'\n", a);
            r = -1;
        }
        if (r != 0) {
            usage(stderr);
            return EXIT_USAGE;
        }
        i++;
    }
    o->reps = reps > 0 ? (int)(reps > BENCH_MAX_REPS ? BENCH_MAX_REPS : reps)
                       : o->quick ? QUICK_REPS : FULL_REPS;
    o->min_run_s = min_time >= 0 ? min_time : o->quick ? QUICK_MIN_RUN_S : FULL_MIN_RUN_S;
    o->warmup_s = o->quick ? QUICK_WARMUP_S : FULL_WARMUP_S;
    o->threads = (int)threads;
    o->seed = (uint64_t)seed;
    o->gemm_index = (long)gemm_index;
    return EXIT_OK;
}

/* ------------------------------------------------------------ output */

/* Seconds -> the row's unit; GFLOP/s inverts, so min and max swap. */
typedef struct row_vals {
    const char *unit;
    double median, lo, hi, q1, q3;
} row_vals;

static row_vals values(const bench_row *r)
{
    row_vals v;
    const bench_stats *t = &r->t;
    if (r->kind == ROW_GEMM) {
        double gf = 2.0 * (double)r->M * (double)r->N * (double)r->K / FLOP_PER_GFLOP;
        v.unit = "GFLOP/s";
        v.median = gf / t->median;
        v.lo = gf / t->max;
        v.hi = gf / t->min;
        v.q1 = gf / t->q3;
        v.q3 = gf / t->q1;
        return v;
    }
    double k = r->kind == ROW_CHAIN ? NS_PER_S / (double)r->units : US_PER_S;
    v.unit = r->kind == ROW_CHAIN ? "ns/op" : "us/step";
    v.median = t->median * k;
    v.lo = t->min * k;
    v.hi = t->max * k;
    v.q1 = t->q1 * k;
    v.q3 = t->q3 * k;
    return v;
}

static void print_rows(const bench_report *rep, bench_kind kind, const char *title)
{
    int any = 0;
    for (size_t i = 0; i < rep->n; i++) {
        const bench_row *r = &rep->rows[i];
        if (r->kind != kind)
            continue;
        row_vals v = values(r);
        if (!any++) {
            printf("\n%s (%s: median [min .. max], IQR)\n", title, v.unit);
            printf("%-4s %-26s %-7s %10s %10s %10s %21s %9s %8s\n", "wl", "what", "mode",
                   "median", "min", "max", "q1 .. q3", "runs x n", "allocs");
        }
        char what[160]; /* label + " MxNxK" */
        if (kind == ROW_GEMM)
            snprintf(what, sizeof what, "%s %zux%zux%zu", r->label, r->M, r->N, r->K);
        else
            snprintf(what, sizeof what, "%s", r->label);
        char allocs[16] = "-";
        if (r->t.allocs_per_iter >= 0)
            snprintf(allocs, sizeof allocs, "%.3g", r->t.allocs_per_iter);
        char runs[24];
        snprintf(runs, sizeof runs, "%dx%llu", r->t.reps, (unsigned long long)r->t.iters);
        printf("%-4s %-26.26s %-7s %10.3f %10.3f %10.3f %10.3f..%-9.3f %9s %8s\n", r->workload,
               what, r->mode, v.median, v.lo, v.hi, v.q1, v.q3, runs, allocs);
    }
}

/* G against cblas_sgemm on the same operands (bench_blas.c). GF/s from the
 * median wall time, cpuGF from the minimum process CPU time (the load moves
 * it least); own/OB: OpenBLAS's time over bm_gemm_f32's (> 1: bmnn is faster). */
static void print_blas(const bench_report *rep, const bench_opts *o)
{
    int any = 0, gemm = 0;
    for (size_t i = 0; i < rep->n; i++) {
        const bench_row *r = &rep->rows[i];
        gemm += r->kind == ROW_GEMM;
        if (r->kind != ROW_GEMM || !r->has_blas)
            continue;
        double gf = 2.0 * (double)r->M * (double)r->N * (double)r->K / FLOP_PER_GFLOP;
        if (!any++) {
            const char *ct = getenv("OPENBLAS_CORETYPE"), *l2 = getenv("OPENBLAS_L2_SIZE");
            printf("\nSGEMM bm_gemm_f32 vs cblas_sgemm from C, same operands (OpenBLAS kernel "
                   "%s; OPENBLAS_CORETYPE %s, OPENBLAS_L2_SIZE %s; %d thread%s)\n",
                   bench_blas_kernel(), ct ? ct : "unset", l2 ? l2 : "unset", threads_of(o),
                   threads_of(o) == 1 ? "" : "s");
            printf("%-4s %-26s %-5s %10s %10s %10s %10s %12s %11s\n", "wl", "what", "mode",
                   "own GF/s", "OB GF/s", "own cpuGF", "OB cpuGF", "own/OB wall", "own/OB cpu");
        }
        char what[160];
        snprintf(what, sizeof what, "%s %zux%zux%zu", r->label, r->M, r->N, r->K);
        double own_cpu = r->t.cpu_runs[0], ob_cpu = r->blas.cpu_runs[0];
        printf("%-4s %-26.26s %-5s %10.2f %10.2f %10.2f %10.2f %11.2fx %10.2fx\n", r->workload,
               what, r->mode, gf / r->t.median, gf / r->blas.median,
               own_cpu > 0 ? gf / own_cpu : 0.0, ob_cpu > 0 ? gf / ob_cpu : 0.0,
               r->blas.median / r->t.median, own_cpu > 0 ? ob_cpu / own_cpu : 0.0);
    }
    if (gemm && !any)
        printf("\nSGEMM vs cblas_sgemm: not measured (bmnn-bench built without OpenBLAS's "
               "cblas.h)\n");
}

static void print_mem(const bench_report *rep)
{
    int any = 0;
    for (size_t i = 0; i < rep->n; i++) {
        const bench_row *r = &rep->rows[i];
        if (!r->has_mem || (r->kind == ROW_CHAIN && strcmp(r->mode, "replay") != 0))
            continue;
        const bench_mem *m = &r->mem;
        if (!any++) {
            printf("\nMemory (KiB): tape arena + params + grads + optimizer state; process RSS\n");
            printf("%-4s %-26s %10s %10s %10s %10s %10s %10s %10s\n", "wl", "what", "arena",
                   "params", "grads", "optim", "total", "maxRSS", "dRSS");
        }
        printf("%-4s %-26.26s %10.1f %10.1f %10.1f %10.1f %10.1f %10ld %10ld\n", r->workload,
               r->label, (double)m->arena / BYTES_PER_KIB, (double)m->params / BYTES_PER_KIB,
               (double)m->grads / BYTES_PER_KIB, (double)m->optim / BYTES_PER_KIB,
               (double)m->total / BYTES_PER_KIB, m->rss_max_kb, m->rss_delta_kb);
    }
}

static cJSON *row_json(const bench_row *r)
{
    static const char *const kinds[] = {"step", "chain", "gemm"};
    row_vals v = values(r);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "workload", r->workload);
    cJSON_AddStringToObject(o, "kind", kinds[r->kind]);
    cJSON_AddStringToObject(o, "label", r->label);
    cJSON_AddStringToObject(o, "mode", r->mode);
    cJSON_AddStringToObject(o, "unit", v.unit);
    cJSON_AddNumberToObject(o, "median", v.median);
    cJSON_AddNumberToObject(o, "min", v.lo);
    cJSON_AddNumberToObject(o, "max", v.hi);
    cJSON_AddNumberToObject(o, "q1", v.q1);
    cJSON_AddNumberToObject(o, "q3", v.q3);
    cJSON_AddNumberToObject(o, "seconds_median", r->t.median);
    cJSON_AddNumberToObject(o, "reps", r->t.reps);
    cJSON_AddItemToObject(o, "runs_s", cJSON_CreateDoubleArray(r->t.runs, r->t.reps));
    cJSON_AddItemToObject(o, "cpu_runs_s", cJSON_CreateDoubleArray(r->t.cpu_runs, r->t.reps));
    cJSON_AddNumberToObject(o, "iters", (double)r->t.iters);
    if (r->t.allocs_per_iter >= 0)
        cJSON_AddNumberToObject(o, "allocs_per_iter", r->t.allocs_per_iter);
    if (r->kind == ROW_CHAIN)
        cJSON_AddNumberToObject(o, "ops", (double)r->units);
    if (r->kind == ROW_GEMM) {
        cJSON_AddNumberToObject(o, "M", (double)r->M);
        cJSON_AddNumberToObject(o, "N", (double)r->N);
        cJSON_AddNumberToObject(o, "K", (double)r->K);
        cJSON_AddNumberToObject(o, "ta", r->ta);
        cJSON_AddNumberToObject(o, "tb", r->tb);
        cJSON_AddNumberToObject(o, "beta", r->beta);
        cJSON_AddNumberToObject(o, "check_err", r->check_err);
        if (r->has_blas) {
            double gf = 2.0 * (double)r->M * (double)r->N * (double)r->K / FLOP_PER_GFLOP;
            cJSON *b = cJSON_AddObjectToObject(o, "cblas");
            cJSON_AddStringToObject(b, "kernel", bench_blas_kernel());
            cJSON_AddNumberToObject(b, "median", gf / r->blas.median);
            cJSON_AddNumberToObject(b, "max", gf / r->blas.min);
            cJSON_AddItemToObject(b, "runs_s", cJSON_CreateDoubleArray(r->blas.runs, r->blas.reps));
            cJSON_AddItemToObject(b, "cpu_runs_s",
                                  cJSON_CreateDoubleArray(r->blas.cpu_runs, r->blas.reps));
        }
    }
    if (r->loss >= 0)
        cJSON_AddNumberToObject(o, "loss", r->loss);
    if (r->has_mem) {
        cJSON *m = cJSON_AddObjectToObject(o, "memory");
        cJSON_AddNumberToObject(m, "arena_bytes", (double)r->mem.arena);
        cJSON_AddNumberToObject(m, "param_bytes", (double)r->mem.params);
        cJSON_AddNumberToObject(m, "grad_bytes", (double)r->mem.grads);
        cJSON_AddNumberToObject(m, "optim_bytes", (double)r->mem.optim);
        cJSON_AddNumberToObject(m, "total_bytes", (double)r->mem.total);
        cJSON_AddNumberToObject(m, "max_rss_kib", (double)r->mem.rss_max_kb);
        cJSON_AddNumberToObject(m, "rss_delta_kib", (double)r->mem.rss_delta_kb);
    }
    return o;
}

static int write_json(const char *path, const bench_report *rep, const bench_opts *o,
                      const char *cpu, const char *date)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "program", "bmnn-bench");
    cJSON_AddStringToObject(root, "bmnn_version", bm_version());
    cJSON_AddStringToObject(root, "date", date);
    cJSON_AddStringToObject(root, "cpu", cpu);
    cJSON_AddStringToObject(root, "compiler", __VERSION__);
    cJSON_AddStringToObject(root, "buildtype", BENCH_BUILDTYPE);
    cJSON_AddNumberToObject(root, "threads_requested", o->threads);
    cJSON_AddNumberToObject(root, "threads", threads_of(o));
    cJSON_AddBoolToObject(root, "threads_applied", 1);
    cJSON_AddBoolToObject(root, "quick", o->quick);
    cJSON_AddNumberToObject(root, "reps", o->reps);
    cJSON_AddNumberToObject(root, "min_run_s", o->min_run_s);
    cJSON *rows = cJSON_AddArrayToObject(root, "rows");
    for (size_t i = 0; i < rep->n; i++)
        cJSON_AddItemToArray(rows, row_json(&rep->rows[i]));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    FILE *f = text ? fopen(path, "w") : NULL;
    int ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f && fclose(f) != 0)
        ok = 0;
    free(text);
    if (!ok)
        fprintf(stderr, "bmnn-bench: cannot write %s\n", path);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    bench_opts o;
    memset(&o, 0, sizeof o);
    const char *json = NULL;
    int rc = parse_args(argc, argv, &o, &json);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    char cpu[256], date[32];
    bench_cpu_model(cpu, sizeof cpu);
    time_t now = time(NULL);
    struct tm tm;
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    printf("bmnn-bench %s  %s  %s\nbuild %s, %s; %d thread%s; %d timed runs of >= %g s per "
           "figure%s\n",
           bm_version(), date, cpu, BENCH_BUILDTYPE, __VERSION__, threads_of(&o),
           threads_of(&o) == 1 ? "" : "s", o.reps, o.min_run_s, o.quick ? " (--quick)" : "");
    if (strcmp(BENCH_BUILDTYPE, "release") != 0)
        printf("warning: not a release build; figures do not represent bmnn\n");
    fflush(stdout);

    bench_report *rep = calloc(1, sizeof *rep);
    if (!rep) {
        fprintf(stderr, "bmnn-bench: out of memory\n");
        return EXIT_FAIL;
    }
    rc = EXIT_OK;
    if (bench_mlp(rep, &o, o.only & (BENCH_W1 | BENCH_W2 | BENCH_W3)) != 0 ||
        ((o.only & BENCH_W4) && bench_chain(rep, &o) != 0) ||
        ((o.only & BENCH_G) && bench_gemm(rep, &o) != 0) ||
        ((o.only & BENCH_O) && bench_ops(rep, &o) != 0) ||
        ((o.only & BENCH_S) && bench_seq(rep, &o) != 0) ||
        ((o.only & BENCH_Z) && bench_zoo(rep, &o) != 0))
        rc = EXIT_FAIL;
    print_rows(rep, ROW_STEP, "Training steps, softmax-CE + Adam, f32 (replay = the step time)");
    print_rows(rep, ROW_CHAIN, "Tape overhead W4");
    print_rows(rep, ROW_GEMM, "SGEMM bm_gemm_f32");
    print_blas(rep, &o);
    print_mem(rep);
    if (json && write_json(json, rep, &o, cpu, date) != 0)
        rc = EXIT_FAIL;
    free(rep);
    return rc;
}
