/* bench_util.c — timer, run sizing, statistics, memory probes, counting
 * allocator. */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_internal.h"

/* Warm-up runs at least this many iterations (first calls fault pages in). */
#define WARMUP_MIN_ITERS 3
/* KiB per byte count of /proc/self/statm pages. */
#define KIB 1024L

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bench_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Quantile q in [0,1] of sorted v[0..n) by linear interpolation. */
static double quantile(const double *v, int n, double q)
{
    double pos = q * (double)(n - 1);
    int lo = (int)pos;
    int hi = lo + 1 < n ? lo + 1 : lo;
    double f = pos - (double)lo;
    return v[lo] + f * (v[hi] - v[lo]);
}

int bench_measure(bench_fn fn, void *ctx, const bench_opts *o, const size_t *counter,
                  bench_stats *st)
{
    memset(st, 0, sizeof *st);
    /* warm-up: at least WARMUP_MIN_ITERS iterations and warmup_s seconds */
    uint64_t n = 0;
    double t0 = bench_now(), el = 0.0;
    while (n < WARMUP_MIN_ITERS || el < o->warmup_s) {
        if (fn(ctx) != 0)
            return -1;
        n++;
        el = bench_now() - t0;
    }
    double per = el / (double)n;
    uint64_t iters = per > 0.0 ? (uint64_t)(o->min_run_s / per) + 1 : BENCH_MAX_ITERS;
    if (iters > BENCH_MAX_ITERS)
        iters = BENCH_MAX_ITERS;
    int reps = o->reps < 1 ? 1 : o->reps > BENCH_MAX_REPS ? BENCH_MAX_REPS : o->reps;
    double v[BENCH_MAX_REPS], cpu[BENCH_MAX_REPS];
    size_t c0 = counter ? *counter : 0;
    for (int r = 0; r < reps; r++) {
        double s = bench_now(), cs = bench_cpu_now();
        for (uint64_t i = 0; i < iters; i++)
            if (fn(ctx) != 0)
                return -1;
        v[r] = (bench_now() - s) / (double)iters;
        cpu[r] = (bench_cpu_now() - cs) / (double)iters;
    }
    size_t c1 = counter ? *counter : 0;
    qsort(v, (size_t)reps, sizeof v[0], cmp_double);
    qsort(cpu, (size_t)reps, sizeof cpu[0], cmp_double);
    memcpy(st->cpu_runs, cpu, (size_t)reps * sizeof cpu[0]);
    st->median = quantile(v, reps, 0.5);
    st->q1 = quantile(v, reps, 0.25);
    st->q3 = quantile(v, reps, 0.75);
    st->min = v[0];
    st->max = v[reps - 1];
    st->reps = reps;
    memcpy(st->runs, v, (size_t)reps * sizeof v[0]);
    st->iters = iters;
    st->allocs_per_iter =
        counter ? (double)(c1 - c0) / ((double)iters * (double)reps) : -1.0;
    return 0;
}

long bench_max_rss_kb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss; /* KiB on Linux */
}

long bench_rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = -1;
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return resident < 0 || page <= 0 ? -1 : resident * (page / KIB);
}

void bench_cpu_model(char *buf, size_t len)
{
    static const char key[] = "model name";
    char line[512];
    snprintf(buf, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, sizeof key - 1) != 0)
            continue;
        const char *p = strchr(line, ':');
        if (!p)
            continue;
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        snprintf(buf, len, "%s", p);
        buf[strcspn(buf, "\n")] = '\0';
        break;
    }
    fclose(f);
}

static void *count_alloc(void *ud, size_t bytes)
{
    bench_counter *c = ud;
    c->allocs++;
    c->calls++;
    return malloc(bytes);
}

static void count_free(void *ud, void *p)
{
    bench_counter *c = ud;
    c->frees++;
    c->calls++;
    free(p);
}

bm_allocator bench_counting_allocator(bench_counter *c)
{
    bm_allocator a = {count_alloc, count_free, c};
    return a;
}

bench_row *bench_row_add(bench_report *r, bench_kind kind, const char *workload)
{
    if (r->n >= BENCH_MAX_ROWS) {
        fprintf(stderr, "bmnn-bench: more than %d result rows\n", BENCH_MAX_ROWS);
        return NULL;
    }
    bench_row *row = &r->rows[r->n++];
    memset(row, 0, sizeof *row);
    row->kind = kind;
    row->loss = -1.0;
    snprintf(row->workload, sizeof row->workload, "%s", workload);
    return row;
}
