/* test_threads.c — the thread pool, tape and model thread settings, and
 * the two promises that come with them:
 *   - a steady-state training step calls the process allocator zero times
 *     (replayed by hand, and through bm_model_fit, on 1 and 2 threads);
 *   - training gives the same bits on 1, 2 and 3 threads, and twice on 2.
 *
 * Allocations are counted by the linker: this binary is linked with
 * -Wl,--wrap=malloc,... (tests/meson.build), so every call to those
 * functions from the test and from the static libbmnn lands in the
 * __wrap_ functions of test_alloc_wrap.h. Their counter is a process-wide
 * global: fine in a test binary, and the library itself has none. */
#define _POSIX_C_SOURCE 200809L

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gemm_internal.h"
#include "model_internal.h"
#include "pool_internal.h"
#include "test_util.h"

/* ------------------------------------------------ counting the allocator */

#include "test_alloc_wrap.h"

#define ck_ok(s, err) ck_assert_msg((s) == BM_OK, "%s: %s", #s, (err).msg)

/* ----------------------------------------------------------------- pool */

typedef struct hits {
    atomic_int count[1000];
    atomic_int workers_seen; /* bit w set: worker w ran a task */
    int n_threads;
} hits;

static void hit(void *ctx, size_t task, int worker)
{
    hits *h = ctx;
    ck_assert_int_ge(worker, 0);
    ck_assert_int_lt(worker, h->n_threads);
    atomic_fetch_add(&h->count[task], 1);
    atomic_fetch_or(&h->workers_seen, 1 << worker);
}

/* Every task runs exactly once, for fewer, as many and more tasks than
 * threads, job after job, and after the workers have fallen asleep. */
START_TEST(pool_runs_each_task_once)
{
    static const size_t tasks[] = {0, 1, 2, 3, 7, 1000};
    for (int threads = 1; threads <= 4; threads++) {
        bm_error e = {0};
        bm_pool *p = bm_pool_new(threads, &e);
        ck_assert_msg(p != NULL, "%s", e.msg);
        ck_assert_int_eq(bm_pool_threads(p), threads);
        for (int round = 0; round < 200; round++) {
            size_t n = tasks[round % (sizeof tasks / sizeof tasks[0])];
            hits *h = calloc(1, sizeof *h);
            h->n_threads = threads;
            bm_pool_run(p, n, hit, h);
            for (size_t t = 0; t < n; t++)
                ck_assert_int_eq(atomic_load(&h->count[t]), 1);
            free(h);
            if (round == 100) { /* let the workers sleep, then wake them */
                struct timespec ts = {0, 20 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
        }
        bm_pool_free(p);
    }
    ck_assert_int_eq(bm_pool_threads(NULL), 1);
    bm_pool_free(NULL);
    hits h;
    memset(&h, 0, sizeof h);
    h.n_threads = 1;
    bm_pool_run(NULL, 5, hit, &h); /* no pool: in order on the caller */
    ck_assert_int_eq(atomic_load(&h.count[4]), 1);
    ck_assert_int_eq(atomic_load(&h.workers_seen), 1);
}
END_TEST

START_TEST(thread_settings_checked)
{
    bm_error e = {0};
    ck_assert_ptr_null(bm_pool_new(0, &e));
    ck_assert_int_eq(e.code, BM_ERR_ARG);
    ck_assert_ptr_null(bm_pool_new(BM_MAX_THREADS + 1, &e));
    bm_tape *t = bm_tape_new();
    ck_assert_int_eq(bm_tape_threads(t), 1);
    ck_assert_int_eq(bm_tape_set_threads(t, 0, &e), BM_ERR_ARG);
    ck_assert_msg(strstr(e.msg, "bm_tape_set_threads") != NULL, "%s", e.msg);
    ck_assert_int_eq(bm_tape_set_threads(t, -3, NULL), BM_ERR_ARG);
    ck_assert_int_eq(bm_tape_set_threads(NULL, 2, &e), BM_ERR_NULL);
    ck_ok(bm_tape_set_threads(t, 3, &e), e);
    ck_assert_int_eq(bm_tape_threads(t), 3);
    ck_ok(bm_tape_set_threads(t, 2, &e), e);
    ck_assert_int_eq(bm_tape_threads(t), 2);
    ck_ok(bm_tape_set_threads(t, 1, &e), e);
    ck_assert_int_eq(bm_tape_threads(t), 1);
    ck_assert_int_eq(bm_tape_threads(NULL), 1);
    bm_tape_free(t);
    bm_model *m = bm_model_new(BM_F32, 2, &e);
    ck_assert_int_eq(bm_model_threads(m), 1);
    ck_assert_int_eq(bm_model_set_threads(m, BM_MAX_THREADS + 1, &e), BM_ERR_ARG);
    ck_assert_msg(strstr(e.msg, "bm_model_set_threads") != NULL, "%s", e.msg);
    ck_assert_int_eq(bm_model_set_threads(NULL, 2, &e), BM_ERR_NULL);
    ck_ok(bm_model_set_threads(m, 2, &e), e);
    ck_assert_int_eq(bm_model_threads(m), 2);
    ck_assert_int_eq(bm_model_threads(NULL), 1);
    bm_model_free(m); /* joins the tapes' workers */
}
END_TEST

/* ------------------------------------------------------------ the models */

/* An MLP widths[0]-...-widths[n-1], ReLU between dense layers, softmax-CE,
 * Adam (lr) in F32, initialised from seed. */
static bm_model *mlp(const size_t *widths, size_t n, double lr, uint64_t seed)
{
    bm_error e = {0};
    bm_model *m = bm_model_new(BM_F32, widths[0], &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    for (size_t i = 1; i < n; i++) {
        bm_layer_spec d = bm_dense_spec(widths[i - 1], widths[i]);
        bm_layer_spec relu = bm_activation_spec(BM_LAYER_RELU);
        d.l2_weights = 5e-4;
        ck_ok(bm_model_add(m, &d, &e), e);
        if (i + 1 < n)
            ck_ok(bm_model_add(m, &relu, &e), e);
    }
    bm_optim_config c = bm_optim_defaults(BM_OPT_ADAM);
    c.lr = lr;
    ck_ok(bm_model_set_loss(m, BM_LOSS_SOFTMAX_CCE, &e), e);
    ck_ok(bm_model_set_optimizer(m, &c, &e), e);
    ck_ok(bm_model_init(m, seed, &e), e);
    return m;
}

/* rows random features [rows, F] in N(0,1) and labels below C. */
static void random_data(bm_dataset *d, size_t rows, size_t F, size_t C, uint64_t seed)
{
    bm_error e = {0};
    bm_rng rng;
    bm_rng_seed(&rng, seed);
    size_t xs[2] = {rows, F}, ys[1] = {rows};
    memset(d, 0, sizeof *d);
    d->x = bm_tensor_randn(BM_F32, 2, xs, 0.0, 1.0, &rng, &e);
    d->y = bm_tensor_new(BM_F32, 1, ys, &e);
    ck_assert_msg(d->x && d->y, "%s", e.msg);
    d->n_classes = C;
    for (size_t i = 0; i < rows; i++)
        bm_tensor_set(d->y, i, (double)bm_rng_below(&rng, C));
}

static const size_t W2[] = {784, 128, 10}; /* the benchmark's W2 */
enum { W2_BATCH = 128, STEPS = 8 };

static int same_params(bm_model *a, bm_model *b)
{
    return bm_model_n_params(a) == bm_model_n_params(b) &&
           memcmp(bm_model_params(a), bm_model_params(b),
                  bm_model_n_params(a) * bm_dtype_size(bm_model_dtype(a))) == 0;
}

/* ------------------------------------------------- no malloc in a step */

/* A W2 step recorded once on a tape, then replayed: forward, zeroed
 * gradients, backward, Adam. No allocator call in STEPS steps. */
START_TEST(replayed_step_allocates_nothing)
{
    int threads = _i;
    bm_error e = {0};
    bm_model *m = mlp(W2, 3, 1e-3, 1);
    bm_dataset d;
    random_data(&d, W2_BATCH, W2[0], W2[2], 2);
    bm_tape *t = bm_tape_new();
    ck_ok(bm_tape_set_threads(t, threads, &e), e);
    size_t xs[2] = {W2_BATCH, W2[0]}, ys[1] = {W2_BATCH};
    bm_tensor *x = bm_tape_leaf(t, BM_F32, 2, xs, 0), *y = bm_tape_leaf(t, BM_F32, 1, ys, 0);
    ck_assert(x && y);
    memcpy(x->data, d.x->data, d.x->size * sizeof(float));
    memcpy(y->data, d.y->data, d.y->size * sizeof(float));
    bm_tensor *loss = bm_model_record(m, t, x, y, 1, NULL);
    ck_assert_msg(loss != NULL, "%s", bm_tape_error(t));
    size_t np = bm_model_n_params(m);
    size_t before = 0;
    int bad = 0; /* no ck_assert inside the counted loops: Check allocates */
    for (int step = 0; step <= STEPS; step++) {
        if (step == 1)
            before = allocs(); /* step 0 may set up what it keeps */
        bad |= bm_tape_forward(t) != BM_OK;
        memset(bm_model_grads(m), 0, np * sizeof(float));
        bad |= bm_tape_backward(t, loss, NULL) != BM_OK;
        bad |= bm_optim_step(bm_model_optim(m), bm_model_params(m), bm_model_grads(m), np, &e) !=
               BM_OK;
    }
    size_t n = allocs() - before;
    ck_assert_msg(!bad, "a replayed step failed: %s %s", bm_tape_error(t), e.msg);
    ck_assert_msg(n == 0, "%zu allocator calls in %d replayed steps on %d threads", n, STEPS,
                  threads);
    /* re-recording on the reset tape reuses its arena: nothing either */
    before = allocs();
    for (int step = 0; step < 2; step++) {
        bm_tape_reset(t);
        x = bm_tape_leaf(t, BM_F32, 2, xs, 0);
        y = bm_tape_leaf(t, BM_F32, 1, ys, 0);
        loss = x && y ? bm_model_record(m, t, x, y, 1, NULL) : NULL;
        bad |= !loss || bm_tape_backward(t, loss, NULL) != BM_OK;
    }
    n = allocs() - before;
    ck_assert_msg(!bad, "re-recording failed: %s", bm_tape_error(t));
    ck_assert_msg(n == 0, "%zu allocator calls re-recording on %d threads", n, threads);
    bm_tape_free(t);
    bm_model_free(m);
    bm_dataset_free(&d);
}
END_TEST

/* A conv2d forward + backward (LeNet-2's shapes, 6 chunks of images run in
 * parallel over the threads, wgrad's partial sums) replayed: no allocator
 * call, its scratch slots sized when recorded. */
START_TEST(conv_replay_allocates_nothing)
{
    int threads = _i;
    bm_error e = {0};
    bm_tape *t = bm_tape_new();
    ck_ok(bm_tape_set_threads(t, threads, &e), e);
    size_t xs[4] = {64, 6, 14, 14}, ws[4] = {16, 6, 5, 5}, bs[1] = {16};
    bm_tensor *x = bm_tape_leaf(t, BM_F32, 4, xs, BM_REQUIRES_GRAD);
    bm_tensor *w = bm_tape_leaf(t, BM_F32, 4, ws, BM_REQUIRES_GRAD);
    bm_tensor *b = bm_tape_leaf(t, BM_F32, 1, bs, BM_REQUIRES_GRAD);
    ck_assert(x && w && b);
    for (size_t i = 0; i < x->size; i++)
        bm_tensor_set(x, i, (double)(i % 7) - 3.0);
    for (size_t i = 0; i < w->size; i++)
        bm_tensor_set(w, i, (double)(i % 5) - 2.0);
    bm_tensor *y = bm_conv2d(t, x, w, b, NULL);
    bm_tensor *loss = y ? bm_sum(t, bm_square(t, y), BM_AXIS_ALL, 0) : NULL;
    ck_assert_msg(loss && bm_tape_backward(t, loss, NULL) == BM_OK, "%s", bm_tape_error(t));
    size_t before = allocs();
    int bad = 0;
    for (int step = 0; step < STEPS; step++) {
        bad |= bm_tape_forward(t) != BM_OK;
        bad |= bm_tape_backward(t, loss, NULL) != BM_OK;
    }
    size_t n = allocs() - before;
    ck_assert_msg(!bad, "a replayed conv step failed: %s", bm_tape_error(t));
    ck_assert_msg(n == 0, "%zu allocator calls in %d replayed conv steps on %d threads", n, STEPS,
                  threads);
    bm_tape_free(t);
}
END_TEST

/* Allocator calls seen at each epoch's end (the fit callback). */
typedef struct epoch_allocs {
    size_t at[32];
    size_t n;
} epoch_allocs;

static int on_epoch(void *ud, const bm_epoch_stats *s)
{
    (void)s;
    epoch_allocs *ea = ud;
    if (ea->n < sizeof ea->at / sizeof ea->at[0])
        ea->at[ea->n++] = allocs();
    return 0;
}

/* bm_model_fit on W2 with two batches a epoch, shuffling and a validation
 * set: after the first epoch, no allocator call per epoch (so none per step
 * or evaluation); and fit(1 epoch) and fit(11 epochs) make the same number
 * of calls (fit's own per-call set-up only). */
START_TEST(fit_steps_allocate_nothing)
{
    int threads = _i;
    bm_error e = {0};
    bm_dataset tr, va;
    random_data(&tr, 2 * W2_BATCH, W2[0], W2[2], 3);
    random_data(&va, 100, W2[0], W2[2], 4);
    bm_model *m = mlp(W2, 3, 1e-3, 5);
    ck_ok(bm_model_set_threads(m, threads, &e), e);
    bm_fit_opts o = bm_fit_defaults();
    o.batch_size = W2_BATCH;
    o.shuffle = 1;
    o.val = &va;
    o.epochs = 6;
    epoch_allocs ea = {{0}, 0};
    o.callback = on_epoch;
    o.callback_ud = &ea;
    ck_ok(bm_model_fit(m, &tr, &o, &e), e);
    ck_assert_uint_eq(ea.n, 6);
    for (size_t k = 2; k < ea.n; k++)
        ck_assert_msg(ea.at[k] == ea.at[k - 1], "epoch %zu on %d threads: %zu allocator calls", k,
                      threads, ea.at[k] - ea.at[k - 1]);
    o.callback = NULL;
    size_t calls[2];
    for (int k = 0; k < 2; k++) {
        o.epochs = k ? 11 : 1;
        size_t before = allocs();
        ck_ok(bm_model_fit(m, &tr, &o, &e), e);
        calls[k] = allocs() - before;
    }
    ck_assert_msg(calls[0] == calls[1], "fit: %zu calls for 1 epoch, %zu for 11 (%d threads)",
                  calls[0], calls[1], threads);
    bm_model_free(m);
    bm_dataset_free(&tr);
    bm_dataset_free(&va);
}
END_TEST

/* A graph model fits without allocating too: named nodes, a tied layer
 * (t2 uses t1's tensors), shapes inferred. */
START_TEST(graph_fit_allocates_nothing)
{
    bm_error e = {0};
    bm_dataset tr;
    random_data(&tr, 2 * W2_BATCH + 5, W2[0], W2[2], 8);
    bm_model *m = bm_model_new(BM_F32, W2[0], &e);
    const char *chain[][2] = {{"d1", "input"}, {"r1", "d1"}, {"t1", "r1"}, {"r2", "t1"},
                              {"t2", "r2"},    {"r3", "t2"}, {"out", "r3"}};
    for (size_t i = 0; i < sizeof chain / sizeof chain[0]; i++) {
        bm_layer_spec sp = chain[i][0][0] == 'r' ? bm_activation_spec(BM_LAYER_RELU)
                                                 : bm_dense_spec(0, i == 6 ? W2[2] : W2[1]);
        ck_ok(bm_model_add_node(m, chain[i][0], &sp, 1, &chain[i][1], &e), e);
    }
    ck_ok(bm_model_share(m, "t2", "t1", &e), e);
    bm_optim_config c = bm_optim_defaults(BM_OPT_ADAM);
    ck_ok(bm_model_set_optimizer(m, &c, &e), e);
    ck_ok(bm_model_init(m, 9, &e), e);
    ck_ok(bm_model_set_threads(m, _i, &e), e);
    bm_fit_opts o = bm_fit_defaults();
    o.batch_size = W2_BATCH;
    o.shuffle = 1;
    ck_ok(bm_model_fit(m, &tr, &o, &e), e); /* records the steps */
    size_t calls[2];
    for (int k = 0; k < 2; k++) {
        o.epochs = k ? 6 : 1;
        size_t before = allocs();
        ck_ok(bm_model_fit(m, &tr, &o, &e), e);
        calls[k] = allocs() - before;
    }
    ck_assert_msg(calls[0] == calls[1], "graph fit: %zu calls for 1 epoch, %zu for 6",
                  calls[0], calls[1]);
    bm_model_free(m);
    bm_dataset_free(&tr);
}
END_TEST

/* ---------------------------------------------------------- determinism */

/* Train a fresh W2-sized net (products that split across threads) for a few
 * epochs on `threads` threads. */
static bm_model *train_w2(int threads)
{
    bm_error e = {0};
    bm_dataset d;
    random_data(&d, 3 * W2_BATCH - 17, W2[0], W2[2], 6); /* a short last batch too */
    bm_model *m = mlp(W2, 3, 1e-3, 7);
    ck_ok(bm_model_set_threads(m, threads, &e), e);
    bm_fit_opts o = bm_fit_defaults();
    o.batch_size = W2_BATCH;
    o.shuffle = 1;
    o.epochs = 3;
    ck_ok(bm_model_fit(m, &d, &o, &e), e);
    bm_dataset_free(&d);
    return m;
}

/* (A -Dblas=enabled build sends the larger products to OpenBLAS, whose
 * results may differ between thread counts: there, only the same thread
 * count must give the same bits.) */
START_TEST(w2_same_bits_on_any_thread_count)
{
    bm_model *one = train_w2(1), *two = train_w2(2), *again = train_w2(2), *three = train_w2(3);
    ck_assert_msg(same_params(two, again), "2 threads: two runs differ");
    if (!bm_gemm_blas_available()) {
        ck_assert_msg(same_params(one, two), "1 and 2 threads differ");
        ck_assert_msg(same_params(one, three), "1 and 3 threads differ");
    }
    bm_model_free(one);
    bm_model_free(two);
    bm_model_free(again);
    bm_model_free(three);
}
END_TEST

/* The walk-through's spiral net (2-64-3, Adam) on 2 threads twice, and on
 * 1 thread: identical parameters. */
static bm_model *train_spiral(int threads, int replay)
{
    static const size_t widths[] = {2, 64, 3};
    bm_error e = {0};
    bm_rng rng;
    bm_rng_seed(&rng, 0);
    bm_dataset d = {0};
    ck_ok(bm_data_spiral(&d, 100, 3, BM_F32, &rng, &e), e);
    bm_model *m = mlp(widths, 3, 0.05, 0);
    ck_ok(bm_model_set_threads(m, threads, &e), e);
    bm_fit_opts o = bm_fit_defaults();
    o.epochs = 200;
    o.replay = replay;
    ck_ok(bm_model_fit(m, &d, &o, &e), e);
    bm_dataset_free(&d);
    return m;
}

START_TEST(spiral_same_bits_on_any_thread_count)
{
    bm_model *a = train_spiral(2, 1), *b = train_spiral(2, 1), *c = train_spiral(1, 1);
    bm_model *r = train_spiral(2, 0); /* re-recorded every step instead of replayed */
    ck_assert_msg(same_params(a, b), "2 threads: two runs differ");
    ck_assert_msg(same_params(a, c) || bm_gemm_blas_available(), "1 and 2 threads differ");
    ck_assert_msg(same_params(a, r), "2 threads: replay and re-record differ");
    bm_model_free(a);
    bm_model_free(b);
    bm_model_free(c);
    bm_model_free(r);
}
END_TEST

/* A graph recorded on one thread, then replayed on three: its scratch was
 * sized for one, so the products run on fewer threads; same bits (the own
 * kernels: OpenBLAS in a -Dblas=enabled build runs on three). */
/* In case "own_kernels": not in a -Dblas=enabled build. */
START_TEST(threads_changed_after_recording)
{
    ck_assert(!bm_gemm_blas_available());
    bm_error e = {0};
    bm_model *m = mlp(W2, 3, 1e-3, 1);
    bm_dataset d;
    random_data(&d, W2_BATCH, W2[0], W2[2], 2);
    bm_tape *t = bm_tape_new();
    size_t xs[2] = {W2_BATCH, W2[0]}, ys[1] = {W2_BATCH};
    bm_tensor *x = bm_tape_leaf(t, BM_F32, 2, xs, 0), *y = bm_tape_leaf(t, BM_F32, 1, ys, 0);
    memcpy(x->data, d.x->data, d.x->size * sizeof(float));
    memcpy(y->data, d.y->data, d.y->size * sizeof(float));
    bm_tensor *loss = bm_model_record(m, t, x, y, 1, NULL);
    ck_assert(loss != NULL);
    size_t np = bm_model_n_params(m);
    float *g1 = malloc(np * sizeof *g1);
    ck_assert_int_eq(bm_tape_backward(t, loss, NULL), BM_OK);
    memcpy(g1, bm_model_grads(m), np * sizeof *g1);
    ck_ok(bm_tape_set_threads(t, 3, &e), e);
    memset(bm_model_grads(m), 0, np * sizeof(float));
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    ck_assert_int_eq(bm_tape_backward(t, loss, NULL), BM_OK);
    ck_assert(memcmp(g1, bm_model_grads(m), np * sizeof *g1) == 0);
    free(g1);
    bm_tape_free(t);
    bm_model_free(m);
    bm_dataset_free(&d);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *pool = tcase_create("pool");
    tcase_add_test(pool, pool_runs_each_task_once);
    tcase_add_test(pool, thread_settings_checked);
    suite_add_tcase(s, pool);
    TCase *mem = tcase_create("allocations");
    tcase_set_timeout(mem, 300);
    tcase_add_loop_test(mem, replayed_step_allocates_nothing, 1, 3);
    tcase_add_loop_test(mem, conv_replay_allocates_nothing, 1, 4);
    tcase_add_loop_test(mem, fit_steps_allocate_nothing, 1, 3);
    tcase_add_loop_test(mem, graph_fit_allocates_nothing, 1, 3);
    suite_add_tcase(s, mem);
    TCase *det = tcase_create("determinism");
    tcase_set_timeout(det, 300);
    tcase_add_test(det, w2_same_bits_on_any_thread_count);
    tcase_add_test(det, spiral_same_bits_on_any_thread_count);
    suite_add_tcase(s, det);
    if (!bm_gemm_blas_available()) { /* else threads_own_kernels reports a skip */
        TCase *own = bm_test_case_needing("own_kernels");
        tcase_set_timeout(own, 300);
        tcase_add_test(own, threads_changed_after_recording);
        suite_add_tcase(s, own);
    }
    return s;
}

int main(void)
{
    if (bm_test_missing("own_kernels", !bm_gemm_blas_available(),
                        "a build without -Dblas=enabled (OpenBLAS splits products its own way)"))
        return BM_TEST_SKIP;
    return bm_test_run(make_suite());
}
