/* pool_internal.h — a persistent pool of worker threads with a parallel-for
 * (not installed).
 *
 * A pool of T threads is the calling thread plus T - 1 workers. bm_pool_run
 * hands out tasks 0..n-1 to all of them and returns when every task is done.
 * Between jobs the workers spin briefly (a new job within ~50 µs starts
 * without a system call), then sleep on a condition variable: an idle pool
 * costs no CPU. One job at a time: a pool belongs to one caller (a tape),
 * and a task must not call bm_pool_run on the pool running it.
 *
 * Task t normally runs on thread t mod T (so a repeated job finds its data
 * in the same core's cache), but an idle thread takes a late one's tasks:
 * which thread runs a task is not fixed, so its result must depend on the
 * task number only, never on the worker that ran it; `worker` (0..T-1,
 * 0 = the caller) is for per-thread scratch memory. */
#ifndef BM_POOL_INTERNAL_H
#define BM_POOL_INTERNAL_H

#include <stddef.h>

#include "bm_autograd.h"

typedef struct bm_pool bm_pool;

/* One task of a job: task in 0..n_tasks-1, worker in 0..threads-1. */
typedef void (*bm_pool_fn)(void *ctx, size_t task, int worker);

/* A pool of `threads` threads (1..BM_MAX_THREADS, bm_autograd.h; 1 starts no
 * worker).
 * NULL with err set when threads is out of range or a thread cannot be
 * started. Free with bm_pool_free. */
bm_pool *bm_pool_new(int threads, bm_error *err);
/* Stop and join the workers, free the pool. NULL is fine. */
void bm_pool_free(bm_pool *pool);
/* Threads of the pool, the caller included; 1 for NULL. */
int bm_pool_threads(const bm_pool *pool);
/* Run fn(ctx, task, worker) for task = 0..n_tasks-1 on the pool's threads
 * (the caller takes part) and return when all are done. A NULL pool, a
 * one-thread pool or a single task runs them in order on the caller. */
void bm_pool_run(bm_pool *pool, size_t n_tasks, bm_pool_fn fn, void *ctx);

#endif
