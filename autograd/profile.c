/* profile.c — the profiler: time per op kind and phase (bm_tape_set_profile).
 *
 * Each node carries the index of its row (op, phase) in a table on the
 * tape. The row is found or added when the node is recorded, or when
 * profiling is turned on over nodes already recorded, so running a graph
 * (bm_run_node: recording, bm_tape_forward, a backward plan) only adds to
 * counts: two clock reads and a few additions per node, no allocation.
 * With profiling off the engine pays one branch per node. */
#define _POSIX_C_SOURCE 200809L

#include <string.h>
#include <time.h>

#include "engine_internal.h"

/* Rows of the first table; it doubles when full. */
enum { PROF_FIRST_ROWS = 32 };
/* Seconds of a nanosecond, and FLOPs of a GFLOP. */
#define NS 1e-9
#define GIGA 1e9

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * NS;
}

/* Index of the row (op's name, backward), added when missing (ops are
 * told apart by name: two bm_op of one name share a row); -1 when the
 * table cannot grow (nomem set on the tape). */
static long find_row(bm_tape *tape, const bm_op *op, int backward)
{
    bm_prof *p = &tape->prof;
    for (uint32_t i = 0; i < p->n; i++)
        if (p->rows[i].backward == backward &&
            (p->rows[i].op == op || strcmp(p->rows[i].op->name, op->name) == 0))
            return (long)i;
    if (p->n == p->cap) {
        uint32_t cap = p->cap ? 2 * p->cap : PROF_FIRST_ROWS;
        bm_prof_row *rows = tape->alloc.alloc(tape->alloc.ud, cap * sizeof *rows);
        if (!rows) {
            bm_tape_fail(tape, BM_ERR_NOMEM, "out of memory: profiler table of %u rows", cap);
            return -1;
        }
        if (p->n)
            memcpy(rows, p->rows, p->n * sizeof *rows);
        if (p->rows)
            tape->alloc.free(tape->alloc.ud, p->rows);
        p->rows = rows;
        p->cap = cap;
    }
    p->rows[p->n] = (bm_prof_row){.op = op, .backward = backward};
    return (long)p->n++;
}

int bm_prof_assign(bm_tape *tape, bm_node *n)
{
    if (n->prof_row)
        return 0;
    long r = find_row(tape, n->op, n->backward);
    if (r < 0)
        return -1;
    n->prof_row = (uint32_t)r + 1;
    return 0;
}

void bm_prof_run(bm_tape *tape, bm_node *n)
{
    if (!n->prof_row) { /* not in the table (it could not grow): run untimed */
        n->op->forward(tape, n);
        return;
    }
    double t0 = now();
    n->op->forward(tape, n);
    double dt = now() - t0;
    bm_prof_row *r = &tape->prof.rows[n->prof_row - 1];
    r->calls++;
    r->seconds += dt;
    if (n->op->flops)
        r->flops += n->op->flops(n);
}

void bm_prof_free(bm_tape *tape)
{
    if (tape->prof.rows)
        tape->alloc.free(tape->alloc.ud, tape->prof.rows);
    tape->prof = (bm_prof){.on = 0};
}

/* Rows for every node of list l; -1 when the table cannot grow. */
static int assign_list(bm_tape *tape, const bm_node_list *l)
{
    for (bm_node *n = l->head; n; n = n->next)
        if (bm_prof_assign(tape, n) != 0)
            return -1;
    return 0;
}

int bm_tape_set_profile(bm_tape *tape, int on)
{
    if (!tape)
        return 0;
    int old = tape->prof.on;
    tape->prof.on = on != 0;
    if (on && !old && assign_list(tape, &tape->main) == 0)
        for (const bm_plan *p = tape->plans; p; p = p->next)
            if (assign_list(tape, &p->nodes) != 0)
                break;
    return old;
}

int bm_tape_profiling(const bm_tape *tape) { return tape ? tape->prof.on : 0; }

void bm_tape_profile_reset(bm_tape *tape)
{
    if (!tape)
        return;
    for (uint32_t i = 0; i < tape->prof.n; i++) {
        bm_prof_row *r = &tape->prof.rows[i];
        r->calls = 0;
        r->seconds = r->flops = 0;
    }
}

static bm_profile_row public_row(const bm_prof_row *r)
{
    return (bm_profile_row){.op = r->op->name,
                            .phase = r->backward ? BM_PHASE_BACKWARD : BM_PHASE_FORWARD,
                            .calls = r->calls, .seconds = r->seconds, .flops = r->flops};
}

/* Put row r into rows[0..*k) (at most max, most seconds first, ties in
 * table order): an insertion that drops the last row when full. */
static void insert_top(bm_profile_row *rows, size_t *k, size_t max, bm_profile_row r)
{
    size_t i = *k;
    if (i == max) {
        if (max == 0 || !(r.seconds > rows[max - 1].seconds))
            return;
        i = max - 1;
    } else {
        (*k)++;
    }
    for (; i > 0 && r.seconds > rows[i - 1].seconds; i--)
        rows[i] = rows[i - 1];
    rows[i] = r;
}

/* share and gflops of rows[0..n) given the seconds of the whole profile. */
static void fill_rates(bm_profile_row *rows, size_t n, double total)
{
    for (size_t i = 0; i < n; i++) {
        bm_profile_row *r = &rows[i];
        r->share = total > 0 ? r->seconds / total : 0;
        r->gflops = r->flops > 0 && r->seconds > 0 ? r->flops / r->seconds / GIGA : 0;
    }
}

bm_status bm_tape_profile(const bm_tape *tape, bm_profile_row *rows, size_t max, size_t *n)
{
    if (!tape || !n)
        return BM_ERR_NULL;
    if (!rows)
        max = 0;
    size_t count = 0, k = 0;
    double total = 0;
    for (uint32_t i = 0; i < tape->prof.n; i++) {
        const bm_prof_row *r = &tape->prof.rows[i];
        if (!r->calls)
            continue;
        count++;
        total += r->seconds;
        insert_top(rows, &k, max, public_row(r));
    }
    fill_rates(rows, k, total);
    *n = count;
    return BM_OK;
}

void bm_profile_sort(bm_profile_row *rows, size_t n)
{
    if (!rows)
        return;
    double total = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        total += rows[i].seconds;
        /* insertion sort in place: rows[0..k) is sorted, rows[i] next */
        insert_top(rows, &k, n, rows[i]);
    }
    fill_rates(rows, n, total);
}

static const char *phase_name(bm_phase p) { return p == BM_PHASE_BACKWARD ? "backward" : "forward"; }

/* One table line; gflops printed only where FLOPs were counted. */
static void print_line(FILE *f, const char *phase, const char *op, uint64_t calls,
                       double seconds, double share, double flops, double gflops)
{
    fprintf(f, "%-9s %-20s %9llu %12.6f %6.1f%%", phase, op, (unsigned long long)calls, seconds,
            100.0 * share);
    if (flops > 0)
        fprintf(f, " %9.3f\n", gflops);
    else
        fprintf(f, " %9s\n", "-");
}

bm_status bm_profile_print(const bm_profile_row *rows, size_t n, FILE *f)
{
    if (!f || (n && !rows))
        return BM_ERR_NULL;
    uint64_t calls = 0;
    double seconds = 0, flops = 0;
    fprintf(f, "%-9s %-20s %9s %12s %7s %9s\n", "phase", "op", "calls", "seconds", "share",
            "GFLOP/s");
    for (size_t i = 0; i < n; i++) {
        const bm_profile_row *r = &rows[i];
        print_line(f, phase_name(r->phase), r->op ? r->op : "?", r->calls, r->seconds, r->share,
                   r->flops, r->gflops);
        calls += r->calls;
        seconds += r->seconds;
        flops += r->flops;
    }
    print_line(f, "total", "", calls, seconds, seconds > 0 ? 1.0 : 0.0, flops,
               seconds > 0 ? flops / seconds / GIGA : 0);
    return ferror(f) ? BM_ERR_IO : BM_OK;
}

bm_status bm_tape_profile_print(const bm_tape *tape, FILE *f)
{
    size_t n = 0;
    if (!tape || !f)
        return BM_ERR_NULL;
    bm_tape_profile(tape, NULL, 0, &n);
    bm_profile_row *rows = n ? tape->alloc.alloc(tape->alloc.ud, n * sizeof *rows) : NULL;
    if (n && !rows)
        return BM_ERR_NOMEM;
    bm_tape_profile(tape, rows, n, &n);
    bm_status s = bm_profile_print(rows, n, f);
    if (rows)
        tape->alloc.free(tape->alloc.ud, rows);
    return s;
}
