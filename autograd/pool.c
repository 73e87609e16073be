/* pool.c — persistent worker threads and a parallel-for (pool_internal.h).
 *
 * A job is published by bumping `gen` (release) after writing fn, ctx and
 * the task count; workers notice the new generation (acquire), take tasks
 * until none is left, and count themselves out in `pending`. Thread w owns
 * tasks w, w + T, w + 2T, ... (T threads) and takes them first, through its
 * own counter; then it takes what is left of the others' (a late worker's
 * tasks are not waited for). So when every thread is awake, task w runs on
 * thread w job after job, and the part of C it writes stays in that core's
 * cache. The caller takes tasks too, then waits for `pending` to
 * reach 0, so the job's fields are never rewritten while a worker reads
 * them. Waiting is a short spin (SPIN_NS, yielding the core each time),
 * then a sleep on a condition variable; gen and pending are checked again
 * under the mutex before sleeping, and changed (or signalled) under it, so
 * no wake-up is lost. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool_internal.h"

/* Nanoseconds a waiting thread spins before it sleeps. Jobs of one training
 * step follow each other within tens of µs; an optimizer step is longer. */
enum { SPIN_NS = 50000, SPIN_CHECK = 64 /* spins between clock reads */ };

/* A thread's task counter, alone on its cache line. */
typedef struct owned {
    _Alignas(64) atomic_size_t next; /* tasks w + next·T taken so far */
} owned;

typedef struct worker {
    struct bm_pool *pool;
    int id; /* 1..threads-1 */
    pthread_t tid;
} worker;

struct bm_pool {
    int threads;
    int started;                /* workers running (threads - 1 once set up) */
    pthread_mutex_t mu;
    pthread_cond_t wake;        /* a new job or stop: workers wait here */
    pthread_cond_t done;        /* pending reached 0: the caller waits here */
    atomic_uint gen;            /* job generation */
    atomic_int stop;            /* set once, by bm_pool_free */
    atomic_int pending;         /* workers not yet done with the current job */
    owned *own;                 /* threads counters: who has taken which task */
    size_t n_tasks;             /* the current job (written before gen moves) */
    bm_pool_fn fn;
    void *ctx;
    worker *workers;            /* threads - 1 */
};

/* One spin of a waiting thread. sched_yield, not PAUSE: on a busy machine
 * (or a VM, where a PAUSE loop makes the hypervisor deschedule the vCPU) the
 * thread being waited for may need this core. */
static void cpu_relax(void) { sched_yield(); }

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Run thread id's own tasks of the current job, then the rest of the
 * others', until none is left. */
static void run_tasks(bm_pool *p, int id)
{
    size_t n = p->n_tasks, T = (size_t)p->threads;
    bm_pool_fn fn = p->fn;
    void *ctx = p->ctx;
    for (size_t i = 0, v = (size_t)id; i < T; i++, v = v + 1 == T ? 0 : v + 1)
        for (;;) {
            size_t k = atomic_fetch_add_explicit(&p->own[v].next, 1, memory_order_relaxed);
            if (k >= n || v + k * T >= n) /* (k >= n first: no overflow) */
                break;
            fn(ctx, v + k * T, id);
        }
}

/* Wait until gen differs from seen (returns 1, *g the new value) or the pool
 * stops (returns 0). */
static int wait_job(bm_pool *p, unsigned seen, unsigned *g)
{
    long long t0 = 0;
    for (unsigned i = 1;; i++) {
        if (atomic_load_explicit(&p->stop, memory_order_acquire))
            return 0;
        unsigned cur = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (cur != seen) {
            *g = cur;
            return 1;
        }
        if (i % SPIN_CHECK == 0) {
            long long t = now_ns();
            if (t0 == 0)
                t0 = t;
            else if (t - t0 > SPIN_NS)
                break;
        }
        cpu_relax();
    }
    pthread_mutex_lock(&p->mu);
    unsigned cur;
    while ((cur = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen &&
           !atomic_load_explicit(&p->stop, memory_order_acquire))
        pthread_cond_wait(&p->wake, &p->mu);
    pthread_mutex_unlock(&p->mu);
    *g = cur;
    return cur != seen;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    bm_pool *p = w->pool;
    unsigned seen = 0, g;
    while (wait_job(p, seen, &g)) {
        seen = g;
        run_tasks(p, w->id);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu); /* the caller may be asleep on done */
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

bm_pool *bm_pool_new(int threads, bm_error *err)
{
    if (threads < 1 || threads > BM_MAX_THREADS) {
        bm_error_set(err, BM_ERR_ARG, "threads: %d is not in 1..%d", threads,
                     BM_MAX_THREADS);
        return NULL;
    }
    bm_pool *p = calloc(1, sizeof *p);
    worker *w = threads > 1 ? calloc((size_t)threads - 1, sizeof *w) : NULL;
    owned *own = aligned_alloc(_Alignof(owned), (size_t)threads * sizeof *own);
    if (!p || (threads > 1 && !w) || !own) {
        free(p);
        free(w);
        free(own);
        bm_error_set(err, BM_ERR_NOMEM, "out of memory for a pool of %d threads", threads);
        return NULL;
    }
    p->threads = threads;
    p->workers = w;
    p->own = own;
    atomic_init(&p->gen, 0);
    atomic_init(&p->stop, 0);
    atomic_init(&p->pending, 0);
    for (int i = 0; i < threads; i++)
        atomic_init(&own[i].next, 0);
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(own);
        free(w);
        free(p);
        bm_error_set(err, BM_ERR_NOMEM, "cannot create a mutex for a pool of %d threads",
                     threads);
        return NULL;
    }
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int i = 0; i < threads - 1; i++) {
        w[i].pool = p;
        w[i].id = i + 1;
        int rc = pthread_create(&w[i].tid, NULL, worker_main, &w[i]);
        if (rc != 0) {
            bm_error_set(err, BM_ERR_NOMEM, "cannot start thread %d of %d: %s", i + 2, threads,
                         strerror(rc));
            bm_pool_free(p);
            return NULL;
        }
        p->started++;
    }
    return p;
}

void bm_pool_free(bm_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store_explicit(&p->stop, 1, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->started; i++)
        pthread_join(p->workers[i].tid, NULL);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    free(p->workers);
    free(p->own);
    free(p);
}

int bm_pool_threads(const bm_pool *p) { return p ? p->threads : 1; }

void bm_pool_run(bm_pool *p, size_t n_tasks, bm_pool_fn fn, void *ctx)
{
    if (!p || p->threads < 2 || n_tasks < 2) {
        for (size_t t = 0; t < n_tasks; t++)
            fn(ctx, t, 0);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    for (int i = 0; i < p->threads; i++)
        atomic_store_explicit(&p->own[i].next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->pending, p->threads - 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release); /* publishes the job */
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_tasks(p, 0);
    /* wait for the workers: spin, then sleep */
    long long t0 = 0;
    for (unsigned i = 1; atomic_load_explicit(&p->pending, memory_order_acquire) > 0; i++) {
        if (i % SPIN_CHECK == 0) {
            long long t = now_ns();
            if (t0 == 0)
                t0 = t;
            else if (t - t0 > SPIN_NS) {
                pthread_mutex_lock(&p->mu);
                while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0)
                    pthread_cond_wait(&p->done, &p->mu);
                pthread_mutex_unlock(&p->mu);
                break;
            }
        }
        cpu_relax();
    }
}
