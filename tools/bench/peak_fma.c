/* peak_fma.c — bmnn-peak: this machine's float32 multiply-add peak, the
 * "floor" of the README's performance tables (a step's FLOPs / peak).
 *
 *   bmnn-peak [--threads N] [--reps N] [--min-time S]
 *
 * Each thread runs independent chains of vector FMAs on registers (no memory
 * traffic): PEAK_CHAINS accumulators hide the FMA latency, so the loop is
 * bound by the FMA ports only. The widest path this CPU runs is used:
 * AVX-512F (16 lanes), AVX2 + FMA (8 lanes), or plain C (a scalar estimate).
 * Printed: GFLOP/s (2 per lane per FMA) per thread count, the median and
 * best of --reps runs, from wall time and from process CPU time. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Independent accumulators per thread (latency 4 × 2 ports, plus slack). */
#define PEAK_CHAINS 12
/* FMA rounds per timed block, and blocks per run until min-time is reached. */
#define PEAK_INNER 4096
/* Defaults: 5 runs of >= 0.2 s per thread count. */
#define DEFAULT_REPS 5
#define DEFAULT_MIN_S 0.2
#define MAX_REPS 64
#define MAX_THREADS 64
/* FLOPs per lane of one FMA. */
#define FLOP_PER_FMA 2.0
#define FLOP_PER_GFLOP 1e9
/* Lane counts of each path. */
#define LANES_AVX512 16
#define LANES_AVX2 8
#define LANES_SCALAR 1
/* Multiply-add operands: x stays bounded (x·m + a with |m| < 1). */
#define PEAK_MUL 0.999999f
#define PEAK_ADD 1e-7f

/* Exit statuses. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Runs `rounds` rounds of PEAK_CHAINS FMAs; returns a sum (kept live). */
typedef float (*peak_fn)(uint64_t rounds);

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f"))) static float peak_avx512(uint64_t rounds)
{
    __m512 acc[PEAK_CHAINS];
    const __m512 m = _mm512_set1_ps(PEAK_MUL), a = _mm512_set1_ps(PEAK_ADD);
    for (int c = 0; c < PEAK_CHAINS; c++)
        acc[c] = _mm512_set1_ps((float)c);
    for (uint64_t r = 0; r < rounds; r++)
        for (int c = 0; c < PEAK_CHAINS; c++)
            acc[c] = _mm512_fmadd_ps(acc[c], m, a);
    __m512 s = acc[0];
    for (int c = 1; c < PEAK_CHAINS; c++)
        s = _mm512_add_ps(s, acc[c]);
    return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static float peak_avx2(uint64_t rounds)
{
    __m256 acc[PEAK_CHAINS];
    const __m256 m = _mm256_set1_ps(PEAK_MUL), a = _mm256_set1_ps(PEAK_ADD);
    for (int c = 0; c < PEAK_CHAINS; c++)
        acc[c] = _mm256_set1_ps((float)c);
    for (uint64_t r = 0; r < rounds; r++)
        for (int c = 0; c < PEAK_CHAINS; c++)
            acc[c] = _mm256_fmadd_ps(acc[c], m, a);
    __m256 s = acc[0];
    for (int c = 1; c < PEAK_CHAINS; c++)
        s = _mm256_add_ps(s, acc[c]);
    float out[LANES_AVX2];
    _mm256_storeu_ps(out, s);
    float t = 0.0f;
    for (int i = 0; i < LANES_AVX2; i++)
        t += out[i];
    return t;
}
#endif

static float peak_scalar(uint64_t rounds)
{
    float acc[PEAK_CHAINS];
    for (int c = 0; c < PEAK_CHAINS; c++)
        acc[c] = (float)c;
    for (uint64_t r = 0; r < rounds; r++)
        for (int c = 0; c < PEAK_CHAINS; c++)
            acc[c] = acc[c] * PEAK_MUL + PEAK_ADD;
    float s = 0.0f;
    for (int c = 0; c < PEAK_CHAINS; c++)
        s += acc[c];
    return s;
}

/* The widest path: its function, lanes and name. */
static peak_fn pick(int *lanes, const char **name)
{
#if defined(__GNUC__) && defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        *lanes = LANES_AVX512;
        *name = "AVX-512F";
        return peak_avx512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        *lanes = LANES_AVX2;
        *name = "AVX2+FMA";
        return peak_avx2;
    }
#endif
    *lanes = LANES_SCALAR;
    *name = "scalar C";
    return peak_scalar;
}

/* One worker: `blocks` blocks of PEAK_INNER rounds. */
typedef struct worker {
    peak_fn fn;
    uint64_t rounds;
    float sink;
} worker;

static void *work(void *p)
{
    worker *w = p;
    w->sink = w->fn(w->rounds);
    return NULL;
}

static double now_s(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Run `threads` workers of `rounds` rounds; wall and CPU seconds. */
static int run(peak_fn fn, int threads, uint64_t rounds, double *wall, double *cpu)
{
    worker w[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    for (int t = 0; t < threads; t++) {
        w[t] = (worker){fn, rounds, 0.0f};
        if (t > 0 && pthread_create(&tid[t], NULL, work, &w[t]) != 0) {
            fprintf(stderr, "bmnn-peak: cannot start thread %d\n", t);
            for (int u = 1; u < t; u++)
                pthread_join(tid[u], NULL);
            return -1;
        }
    }
    work(&w[0]);
    for (int t = 1; t < threads; t++)
        pthread_join(tid[t], NULL);
    *wall = now_s(CLOCK_MONOTONIC) - w0;
    *cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    float sink = 0.0f;
    for (int t = 0; t < threads; t++)
        sink += w[t].sink;
    return sink == sink ? 0 : -1; /* NaN would mean a broken kernel */
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int max_threads = 1, reps = DEFAULT_REPS;
    double min_s = DEFAULT_MIN_S;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v && strcmp(argv[i], "--threads") == 0 && atoi(v) >= 1 && atoi(v) <= MAX_THREADS)
            max_threads = atoi(v);
        else if (v && strcmp(argv[i], "--reps") == 0 && atoi(v) >= 1 && atoi(v) <= MAX_REPS)
            reps = atoi(v);
        else if (v && strcmp(argv[i], "--min-time") == 0 && atof(v) > 0.0)
            min_s = atof(v);
        else {
            fprintf(stderr, "usage: bmnn-peak [--threads N (1..%d)] [--reps N (1..%d)] "
                            "[--min-time S]\n", MAX_THREADS, MAX_REPS);
            return EXIT_USAGE;
        }
        i++;
    }
    int lanes = 0;
    const char *name = NULL;
    peak_fn fn = pick(&lanes, &name);
    printf("bmnn-peak: %s, %d f32 lanes, %d accumulators; %d runs of >= %g s\n", name, lanes,
           PEAK_CHAINS, reps, min_s);
    printf("%-8s %14s %14s %14s %14s\n", "threads", "wall med GF/s", "wall best GF/s",
           "cpu med GF/s", "cpu best GF/s");
    for (int threads = 1; threads <= max_threads; threads++) {
        /* size a run from one block */
        double wall = 0.0, cpu = 0.0;
        uint64_t rounds = PEAK_INNER;
        while (wall < min_s) {
            rounds *= 2;
            if (run(fn, threads, rounds, &wall, &cpu) != 0)
                return EXIT_FAIL;
        }
        double gw[MAX_REPS], gc[MAX_REPS];
        double flop = FLOP_PER_FMA * lanes * PEAK_CHAINS * (double)rounds * threads;
        for (int r = 0; r < reps; r++) {
            if (run(fn, threads, rounds, &wall, &cpu) != 0)
                return EXIT_FAIL;
            gw[r] = flop / wall / FLOP_PER_GFLOP;
            gc[r] = flop / cpu * threads / FLOP_PER_GFLOP; /* CPU time sums the threads */
        }
        qsort(gw, (size_t)reps, sizeof gw[0], cmp_double);
        qsort(gc, (size_t)reps, sizeof gc[0], cmp_double);
        printf("%-8d %14.1f %14.1f %14.1f %14.1f\n", threads, gw[reps / 2], gw[reps - 1],
               gc[reps / 2], gc[reps - 1]);
    }
    return EXIT_OK;
}
