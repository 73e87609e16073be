/* bench_internal.h — the bmnn benchmark program (tools/bench; not installed).
 *
 * bench.c parses options and prints the table and the JSON; bench_work.c
 * runs the workloads (W1–W3 training steps, W4 tape overhead, G SGEMM);
 * bench_util.c holds the timer, the statistics, the counting allocator and
 * the memory probes. Every figure is a time per iteration measured as
 * `reps` timed runs of `iters` iterations after a warm-up; the rows keep the
 * median, extremes and quartiles of those runs. */
#ifndef BM_BENCH_INTERNAL_H
#define BM_BENCH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <bmnn.h>

/* Most timed runs per figure. */
#define BENCH_MAX_REPS 64
/* Most result rows of one program run. */
#define BENCH_MAX_ROWS 96
/* Iterations in one timed run never exceed this (a guard for tiny kernels). */
#define BENCH_MAX_ITERS ((uint64_t)1 << 30)

/* Settings shared by every workload. */
typedef struct bench_opts {
    int reps;          /* timed runs per figure */
    double min_run_s;  /* each timed run lasts at least this long */
    double warmup_s;   /* untimed warm-up before the runs */
    int quick;         /* --quick was given */
    int threads;       /* --threads N (0: not given) */
    unsigned only;     /* bit set of BENCH_W* workloads to run */
    uint64_t seed;     /* data and initialisation seed */
    long gemm_index;   /* --gemm-index: run only this G product (-1: all) */
} bench_opts;

/* Workload bits of bench_opts.only. */
enum {
    BENCH_W1 = 1u << 0,
    BENCH_W2 = 1u << 1,
    BENCH_W3 = 1u << 2,
    BENCH_W4 = 1u << 3,
    BENCH_G = 1u << 4,
    BENCH_O = 1u << 5,
    BENCH_S = 1u << 6,
    BENCH_Z = 1u << 7,
    BENCH_ALL = (1u << 8) - 1
};

/* Seconds per iteration over the timed runs. */
typedef struct bench_stats {
    double median, min, max, q1, q3;
    int reps;
    uint64_t iters;      /* iterations per timed run */
    double allocs_per_iter; /* counted allocator calls per iteration (-1: not counted) */
    double runs[BENCH_MAX_REPS]; /* each timed run's seconds per iteration, sorted */
    double cpu_runs[BENCH_MAX_REPS]; /* the same runs in process CPU time, sorted */
} bench_stats;

/* Memory held by a training workload, in bytes. */
typedef struct bench_mem {
    size_t arena;        /* bm_tape_arena_bytes of the step's tape */
    size_t params, grads, optim; /* parameter, gradient, optimizer-state buffers */
    size_t total;        /* the sum of the four */
    long rss_max_kb;     /* getrusage max RSS of the process after the workload */
    long rss_delta_kb;   /* current RSS after minus before the workload (-1: unknown) */
} bench_mem;

/* What a row measures. */
typedef enum bench_kind { ROW_STEP, ROW_CHAIN, ROW_GEMM } bench_kind;

/* One result row. */
typedef struct bench_row {
    bench_kind kind;
    char workload[8];    /* "W1".."W4", "G" */
    char label[64];      /* "MLP 784-128-10 b128", "W2 L1 dW (Aᵀ·G)" */
    char mode[16];       /* step: replay/record/fit; chain: record/replay; gemm: NN/NT/TN */
    bench_stats t;       /* seconds per iteration */
    size_t units;        /* chain: ops per iteration (for ns/op) */
    size_t M, N, K;      /* gemm shape (C [M,N], inner K) */
    int ta, tb;          /* gemm transposes (ops_internal.h convention) */
    float beta;          /* gemm beta (0 forward, 1 backward accumulation) */
    double check_err;    /* gemm: worst sampled error relative to Σ|a·b| */
    int has_blas;        /* gemm: blas holds cblas_sgemm's times on the same operands */
    bench_stats blas;    /* gemm: cblas_sgemm (OpenBLAS) seconds per call */
    int has_mem;
    bench_mem mem;
    double loss;         /* step rows: loss after the runs (a sanity check) */
} bench_row;

/* The rows of one run. */
typedef struct bench_report {
    bench_row rows[BENCH_MAX_ROWS];
    size_t n;
} bench_report;

/* One iteration of a workload; returns 0, or -1 on failure (message printed). */
typedef int (*bench_fn)(void *ctx);

/* Monotonic seconds. */
double bench_now(void);
/* Process CPU seconds (all threads). */
double bench_cpu_now(void);
/* Warm up, size the runs and time them: fills *st. counter (may be NULL) is
 * read before and after the timed runs for allocs_per_iter. Returns 0, or -1
 * when fn failed. */
int bench_measure(bench_fn fn, void *ctx, const bench_opts *o, const size_t *counter,
                  bench_stats *st);
/* Process max RSS in KiB (getrusage). */
long bench_max_rss_kb(void);
/* Current RSS in KiB (/proc/self/statm), -1 when unknown. */
long bench_rss_kb(void);
/* CPU model name from /proc/cpuinfo into buf ("unknown" when absent). */
void bench_cpu_model(char *buf, size_t len);

/* A tape allocator that counts its calls (malloc/free underneath). */
typedef struct bench_counter {
    size_t allocs, frees;
    size_t calls;        /* allocs + frees */
} bench_counter;
/* Allocator hooks that count into c. */
bm_allocator bench_counting_allocator(bench_counter *c);

/* Next free row of r (NULL when full, message printed). */
bench_row *bench_row_add(bench_report *r, bench_kind kind, const char *workload);

/* The workloads; each appends rows and returns 0, or -1 on failure. */
int bench_mlp(bench_report *r, const bench_opts *o, unsigned which);
int bench_chain(bench_report *r, const bench_opts *o);
/* Z: a training step of each zoo model (examples/zoo, bench_zoo.c). */
int bench_zoo(bench_report *r, const bench_opts *o);
int bench_gemm(bench_report *r, const bench_opts *o);
int bench_ops(bench_report *r, const bench_opts *o);
int bench_seq(bench_report *r, const bench_opts *o);

/* G's same-binary peer (bench_blas.c): cblas_sgemm from C. Larger
 * dimensions than this do not fit cblas's int. */
#define BENCH_BLAS_MAX_DIM ((size_t)1 << 30)
/* 1 when built against OpenBLAS's cblas (BENCH_HAVE_CBLAS). */
int bench_blas_available(void);
/* The kernel OpenBLAS chose (openblas_get_corename), "none" without it. */
const char *bench_blas_kernel(void);
/* OpenBLAS's thread count (no-op without it). */
void bench_blas_threads(int threads);
/* Time cblas_sgemm(RowMajor, ta, tb, M, N, K, 1, A, B, beta, C) with the
 * lda/ldb/ldc of tight row-major operands into *st; -1 without BLAS. */
int bench_blas_gemm(const bench_opts *o, int ta, int tb, size_t M, size_t N, size_t K,
                    float beta, const float *A, const float *B, float *C, bench_stats *st);

#endif
