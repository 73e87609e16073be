/* test_tape.c — the tape's contract: gradient accumulation, explicit zeroing,
 * backward twice, no-grad mode, O(1) reset that keeps its memory, replay
 * equal to re-recording, zero allocations in a steady-state step, dropout on
 * replay. Bad input (shapes, ranks, seeds, the sticky error): test_tape_errors.c. */
#include "test_tape_util.h"

/* ----------------------------------------------------------- gradients */

START_TEST(accumulates_over_paths)
{
    /* f = Σ (a·b + a) with a used twice: df/da = b + 1. And g = Σ a·a: 2a. */
    bm_tape *t = bm_tape_new();
    const double av[4] = {1, -2, 3, 0.5}, bv[4] = {4, 5, -6, 7};
    size_t n = 4;
    bm_tensor *a = leaf(t, 1, &n, av, BM_REQUIRES_GRAD);
    bm_tensor *b = leaf(t, 1, &n, bv, BM_REQUIRES_GRAD);
    bm_tensor *f = bm_sum(t, bm_add(t, bm_mul(t, a, b), a), BM_AXIS_ALL, 0);
    ck_assert_msg(f != NULL, "%s", bm_tape_error(t));
    ck_assert_int_eq(bm_tape_backward(t, f, NULL), BM_OK);
    for (size_t i = 0; i < n; i++) {
        ck_assert_double_eq(bm_tensor_grad_get(a, i), bv[i] + 1.0);
        ck_assert_double_eq(bm_tensor_grad_get(b, i), av[i]);
    }
    bm_tape_zero_grad(t);
    bm_tensor *g = bm_sum(t, bm_mul(t, a, a), BM_AXIS_ALL, 0);
    ck_assert_int_eq(bm_tape_backward(t, g, NULL), BM_OK);
    for (size_t i = 0; i < n; i++)
        ck_assert_double_eq(bm_tensor_grad_get(a, i), 2.0 * av[i]);
    /* an intermediate feeding two ops: h = m + m·m with m = a·b */
    bm_tape_zero_grad(t);
    bm_tensor *m = bm_mul(t, a, b);
    bm_tensor *h = bm_sum(t, bm_add(t, m, bm_mul(t, m, m)), BM_AXIS_ALL, 0);
    ck_assert_int_eq(bm_tape_backward(t, h, NULL), BM_OK);
    for (size_t i = 0; i < n; i++) {
        double mi = av[i] * bv[i];
        ck_near(bm_tensor_grad_get(m, i), 1.0 + 2.0 * mi, 1e-12);
        ck_near(bm_tensor_grad_get(a, i), (1.0 + 2.0 * mi) * bv[i], 1e-12);
    }
    bm_tape_free(t);
}
END_TEST

START_TEST(zero_grad_is_explicit)
{
    bm_tape *t = bm_tape_new();
    const double av[3] = {1, 2, 3};
    size_t n = 3;
    bm_tensor *a = leaf(t, 1, &n, av, BM_REQUIRES_GRAD);
    bm_tensor *b = leaf(t, 1, &n, av, BM_REQUIRES_GRAD);
    bm_tensor *c = leaf(t, 1, &n, av, BM_REQUIRES_GRAD); /* read by no node */
    bm_tensor *f = bm_sum(t, bm_mul(t, a, b), BM_AXIS_ALL, 0);
    ck_assert_int_eq(bm_tape_backward(t, f, NULL), BM_OK);
    ck_assert_double_eq(bm_tensor_grad_get(a, 2), 3.0);
    /* one tensor */
    bm_tensor_zero_grad(a);
    for (size_t i = 0; i < n; i++) {
        ck_assert_double_eq(bm_tensor_grad_get(a, i), 0.0);
        ck_assert_double_eq(bm_tensor_grad_get(b, i), av[i]);
    }
    /* every leaf a recorded node reads */
    ((double *)c->grad)[1] = 42.0;
    bm_tape_zero_grad(t);
    for (size_t i = 0; i < n; i++) {
        ck_assert_double_eq(bm_tensor_grad_get(a, i), 0.0);
        ck_assert_double_eq(bm_tensor_grad_get(b, i), 0.0);
    }
    ck_assert_double_eq(bm_tensor_grad_get(c, 1), 42.0); /* not read: untouched */
    /* a tensor without a gradient buffer is fine */
    bm_tensor *k = leaf(t, 1, &n, av, 0);
    bm_tensor_zero_grad(k);
    bm_tensor_zero_grad(NULL);
    ck_assert_ptr_null(k->grad);
    bm_tape_free(t);
}
END_TEST

START_TEST(backward_twice)
{
    /* Documented: leaves get the gradient added twice; intermediates are
     * recomputed from zero on each call. */
    bm_tape *t = bm_tape_new();
    const double xv[3] = {0.5, -1.5, 2.0}, wv[3] = {2, 3, -1};
    size_t n = 3;
    bm_tensor *x = leaf(t, 1, &n, xv, BM_REQUIRES_GRAD);
    bm_tensor *w = leaf(t, 1, &n, wv, BM_REQUIRES_GRAD);
    bm_tensor *m = bm_mul(t, x, w);
    bm_tensor *f = bm_sum(t, bm_tanh(t, m), BM_AXIS_ALL, 0);
    ck_assert_int_eq(bm_tape_backward(t, f, NULL), BM_OK);
    double gx[3], gm[3];
    for (size_t i = 0; i < n; i++) {
        gx[i] = bm_tensor_grad_get(x, i);
        gm[i] = bm_tensor_grad_get(m, i);
        ck_near(gm[i], 1.0 - tanh(xv[i] * wv[i]) * tanh(xv[i] * wv[i]), 1e-15);
    }
    ck_assert_int_eq(bm_tape_backward(t, f, NULL), BM_OK);
    for (size_t i = 0; i < n; i++) {
        ck_assert_double_eq(bm_tensor_grad_get(x, i), 2.0 * gx[i]);
        ck_assert_double_eq(bm_tensor_grad_get(m, i), gm[i]);
    }
    /* zero in between: the same as one call */
    bm_tape_zero_grad(t);
    ck_assert_int_eq(bm_tape_backward(t, f, NULL), BM_OK);
    for (size_t i = 0; i < n; i++)
        ck_assert_double_eq(bm_tensor_grad_get(x, i), gx[i]);
    bm_tape_free(t);
}
END_TEST

START_TEST(no_grad_records_nothing)
{
    bm_tape *t = bm_tape_new();
    const double xv[4] = {1, -2, 3, -4};
    size_t n = 4;
    bm_tensor *x = leaf(t, 1, &n, xv, BM_REQUIRES_GRAD);
    bm_tensor *y = bm_relu(t, x);
    ck_assert_uint_eq(bm_tape_size(t), 1);
    ck_assert_int_eq(bm_tape_grad_enabled(t), 1);
    ck_assert_int_eq(bm_tape_set_grad_enabled(t, 0), 1);
    ck_assert_int_eq(bm_tape_grad_enabled(t), 0);
    bm_tensor *z = bm_sum(t, bm_scale(t, y, 2.0), BM_AXIS_ALL, 0);
    ck_assert_msg(z != NULL, "%s", bm_tape_error(t));
    ck_assert_double_eq(bm_tensor_get(z, 0), 8.0); /* values are computed */
    ck_assert_uint_eq(bm_tape_size(t), 1);        /* nothing recorded */
    ck_assert_ptr_null(z->node);
    ck_assert_uint_eq(z->flags & BM_REQUIRES_GRAD, 0);
    ck_assert_int_eq(bm_tape_backward(t, z, NULL), BM_ERR_STATE);
    expect_error(t, BM_ERR_STATE, "bm_tape_backward", "no-grad", NULL);
    bm_tape_clear_error(t);
    ck_assert_int_eq(bm_tape_set_grad_enabled(t, 1), 0);
    /* recording resumes */
    bm_tensor *w = bm_sum(t, y, BM_AXIS_ALL, 0);
    ck_assert_uint_eq(bm_tape_size(t), 2);
    ck_assert_int_eq(bm_tape_backward(t, w, NULL), BM_OK);
    ck_assert_double_eq(bm_tensor_grad_get(x, 0), 1.0);
    ck_assert_double_eq(bm_tensor_grad_get(x, 1), 0.0);
    bm_tape_free(t);
}
END_TEST

/* ------------------------------------------------- reset, replay, malloc */

/* A 2-layer MLP step: softmax_cce(relu(x·W1 + b1)·W2 + b2, y). */
typedef struct mlp {
    bm_tensor *w1, *b1, *w2, *b2; /* caller-owned parameters */
} mlp;

enum { N_BATCH = 8, N_IN = 5, N_HID = 16, N_OUT = 3 };

static void mlp_init(mlp *m, uint64_t seed)
{
    bm_rng r;
    bm_rng_seed(&r, seed);
    m->w1 = bm_tensor_randn(BM_F64, 2, (size_t[]){N_IN, N_HID}, 0, 0.5, &r, NULL);
    m->b1 = bm_tensor_randn(BM_F64, 2, (size_t[]){1, N_HID}, 0, 0.1, &r, NULL);
    m->w2 = bm_tensor_randn(BM_F64, 2, (size_t[]){N_HID, N_OUT}, 0, 0.5, &r, NULL);
    m->b2 = bm_tensor_randn(BM_F64, 2, (size_t[]){1, N_OUT}, 0, 0.1, &r, NULL);
    bm_tensor *p[4] = {m->w1, m->b1, m->w2, m->b2};
    for (int i = 0; i < 4; i++) {
        ck_assert_ptr_nonnull(p[i]);
        ck_assert_int_eq(bm_tensor_set_requires_grad(p[i], 1, NULL), BM_OK);
    }
}

static void mlp_free(mlp *m)
{
    bm_tensor_free(m->w1);
    bm_tensor_free(m->b1);
    bm_tensor_free(m->w2);
    bm_tensor_free(m->b2);
}

static void mlp_zero_grad(mlp *m)
{
    bm_tensor_zero_grad(m->w1);
    bm_tensor_zero_grad(m->b1);
    bm_tensor_zero_grad(m->w2);
    bm_tensor_zero_grad(m->b2);
}

/* Fill a batch (x, class indices y) from a seed. */
static void fill_batch(bm_tensor *x, bm_tensor *y, uint64_t seed)
{
    bm_rng r;
    bm_rng_seed(&r, seed);
    for (size_t i = 0; i < x->size; i++)
        bm_tensor_set(x, i, 2.0 * bm_rng_uniform(&r) - 1.0);
    for (size_t i = 0; i < y->size; i++)
        bm_tensor_set(y, i, (double)bm_rng_below(&r, N_OUT));
}

/* Record the step on t; the batch leaves land in *x, *y. */
static bm_tensor *mlp_record(bm_tape *t, mlp *m, bm_tensor **x, bm_tensor **y, uint64_t seed)
{
    *x = bm_tape_leaf(t, BM_F64, 2, (size_t[]){N_BATCH, N_IN}, 0);
    *y = bm_tape_leaf(t, BM_F64, 1, (size_t[]){N_BATCH}, 0);
    if (!*x || !*y)
        return NULL;
    fill_batch(*x, *y, seed);
    bm_tensor *h = bm_relu(t, bm_add(t, bm_matmul(t, *x, m->w1), m->b1));
    bm_tensor *z = bm_add(t, bm_matmul(t, h, m->w2), m->b2);
    return bm_softmax_cce(t, z, *y);
}

START_TEST(reset_keeps_memory)
{
    bm_tape *t = bm_tape_new();
    mlp m;
    mlp_init(&m, 1);
    bm_tensor *x, *y;
    bm_tensor *loss = mlp_record(t, &m, &x, &y, 10);
    ck_assert_msg(loss != NULL, "%s", bm_tape_error(t));
    ck_assert_int_eq(bm_tape_backward(t, loss, NULL), BM_OK);
    size_t nodes = bm_tape_size(t), bytes = bm_tape_arena_bytes(t);
    ck_assert_uint_eq(nodes, 6);
    ck_assert_uint_gt(bytes, 0);
    ck_assert_ptr_nonnull(bm_tape_first(t));
    bm_tape_fail(t, BM_ERR_ARG, "an old error");
    bm_tape_reset(t);
    ck_assert_uint_eq(bm_tape_size(t), 0);
    ck_assert_ptr_null(bm_tape_first(t));
    ck_assert_uint_eq(bm_tape_arena_bytes(t), bytes); /* memory kept */
    ck_assert_int_eq(bm_tape_status(t), BM_OK);       /* error cleared */
    for (int round = 0; round < 3; round++) {
        loss = mlp_record(t, &m, &x, &y, 10);
        ck_assert_msg(loss != NULL, "%s", bm_tape_error(t));
        ck_assert_int_eq(bm_tape_backward(t, loss, NULL), BM_OK);
        ck_assert_uint_eq(bm_tape_size(t), nodes);
        ck_assert_uint_eq(bm_tape_arena_bytes(t), bytes);
        bm_tape_reset(t);
    }
    mlp_free(&m);
    bm_tape_free(t);
}
END_TEST

/* Values and gradients of the parameters, in one flat array of doubles. */
static size_t snapshot(const mlp *m, const bm_tensor *loss, double *out)
{
    size_t k = 0;
    out[k++] = bm_tensor_get(loss, 0);
    const bm_tensor *p[4] = {m->w1, m->b1, m->w2, m->b2};
    for (int j = 0; j < 4; j++)
        for (size_t i = 0; i < p[j]->size; i++)
            out[k++] = bm_tensor_grad_get(p[j], i);
    return k;
}

enum { SNAP = 1 + N_IN * N_HID + N_HID + N_HID * N_OUT + N_OUT };

START_TEST(replay_equals_rerecording)
{
    mlp m;
    mlp_init(&m, 2);
    bm_tape *t = bm_tape_new();
    bm_tensor *x, *y;
    bm_tensor *loss = mlp_record(t, &m, &x, &y, 100);
    ck_assert_msg(loss != NULL, "%s", bm_tape_error(t));
    ck_assert_int_eq(bm_tape_backward(t, loss, NULL), BM_OK);
    size_t nodes = bm_tape_size(t);
    for (uint64_t batch = 101; batch < 105; batch++) {
        /* replay: new batch data into the recorded leaves */
        fill_batch(x, y, batch);
        mlp_zero_grad(&m);
        ck_assert_int_eq(bm_tape_forward(t), BM_OK);
        ck_assert_int_eq(bm_tape_backward(t, loss, NULL), BM_OK);
        ck_assert_uint_eq(bm_tape_size(t), nodes);
        double a[SNAP], b[SNAP];
        ck_assert_uint_eq(snapshot(&m, loss, a), SNAP);
        /* a fresh recording of the same batch */
        bm_tape *f = bm_tape_new();
        bm_tensor *fx, *fy;
        mlp_zero_grad(&m);
        bm_tensor *floss = mlp_record(f, &m, &fx, &fy, batch);
        ck_assert_msg(floss != NULL, "%s", bm_tape_error(f));
        ck_assert_int_eq(bm_tape_backward(f, floss, NULL), BM_OK);
        snapshot(&m, floss, b);
        ck_assert_msg(memcmp(a, b, sizeof a) == 0, "replay differs from re-recording");
        ck_assert_double_ne(a[0], 0.0);
        bm_tape_free(f);
    }
    mlp_free(&m);
    bm_tape_free(t);
}
END_TEST

/* An allocator that counts its calls and forwards to malloc/free. */
typedef struct counter {
    size_t allocs, frees;
} counter;

static void *count_alloc(void *ud, size_t n)
{
    ((counter *)ud)->allocs++;
    return malloc(n);
}

static void count_free(void *ud, void *p)
{
    ((counter *)ud)->frees++;
    free(p);
}

START_TEST(steady_state_allocates_nothing)
{
    counter c = {0, 0};
    bm_allocator a = {count_alloc, count_free, &c};
    bm_tape *t = bm_tape_new_ex(&a);
    ck_assert_ptr_nonnull(t);
    mlp m;
    mlp_init(&m, 3);
    size_t after_first = 0;
    for (uint64_t step = 0; step < 5; step++) {
        bm_tensor *x, *y;
        bm_tensor *loss = mlp_record(t, &m, &x, &y, 200 + step);
        ck_assert_msg(loss != NULL, "%s", bm_tape_error(t));
        mlp_zero_grad(&m);
        ck_assert_int_eq(bm_tape_backward(t, loss, NULL), BM_OK);
        bm_tape_reset(t);
        if (step == 0)
            after_first = c.allocs;
        else
            ck_assert_uint_eq(c.allocs, after_first);
    }
    ck_assert_uint_gt(after_first, 0);
    ck_assert_uint_eq(c.frees, 0);
    /* the replay path: record once, then forward + backward only */
    bm_tensor *x, *y;
    bm_tensor *loss = mlp_record(t, &m, &x, &y, 300);
    ck_assert_msg(loss != NULL, "%s", bm_tape_error(t));
    ck_assert_int_eq(bm_tape_backward(t, loss, NULL), BM_OK);
    size_t recorded = c.allocs;
    ck_assert_uint_eq(recorded, after_first);
    for (uint64_t step = 0; step < 5; step++) {
        fill_batch(x, y, 400 + step);
        mlp_zero_grad(&m);
        ck_assert_int_eq(bm_tape_forward(t), BM_OK);
        ck_assert_int_eq(bm_tape_backward(t, loss, NULL), BM_OK);
        ck_assert_uint_eq(c.allocs, recorded);
    }
    mlp_free(&m);
    bm_tape_free(t);
    ck_assert_uint_eq(c.frees, c.allocs); /* everything handed back */
}
END_TEST

START_TEST(dropout_replay_and_freeze)
{
    bm_tape *t = bm_tape_new();
    bm_rng r;
    bm_rng_seed(&r, 11);
    size_t n = 64;
    bm_tensor *x = leaf(t, 1, &n, NULL, BM_REQUIRES_GRAD);
    for (size_t i = 0; i < n; i++)
        bm_tensor_set(x, i, 1.0 + (double)i);
    bm_tensor *d = bm_dropout(t, x, 0.5, &r);
    ck_assert_msg(d != NULL, "%s", bm_tape_error(t));
    double first[64], again[64];
    for (size_t i = 0; i < n; i++)
        first[i] = bm_tensor_get(d, i);
    /* not frozen: a replay draws a new mask */
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    for (size_t i = 0; i < n; i++)
        again[i] = bm_tensor_get(d, i);
    ck_assert_msg(memcmp(first, again, sizeof first) != 0, "replay kept the dropout mask");
    /* frozen: replays keep the mask */
    ck_assert_int_eq(bm_tape_freeze_random(t, 1), 0);
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    for (size_t i = 0; i < n; i++)
        ck_assert_double_eq(bm_tensor_get(d, i), again[i]);
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    for (size_t i = 0; i < n; i++)
        ck_assert_double_eq(bm_tensor_get(d, i), again[i]);
    /* backward uses the mask of the last forward: dx = mask */
    ck_assert_int_eq(bm_tape_backward(t, bm_sum(t, d, BM_AXIS_ALL, 0), NULL), BM_OK);
    for (size_t i = 0; i < n; i++) {
        double mask = again[i] / (1.0 + (double)i);
        ck_assert(mask == 0.0 || mask == 2.0);
        ck_near(bm_tensor_grad_get(x, i), mask, 1e-15);
    }
    ck_assert_int_eq(bm_tape_freeze_random(t, 0), 1);
    bm_tape_free(t);
}
END_TEST

/* An intermediate's .grad shows the gradient of the last output backward
 * ran for, also when two recorded backward graphs alternate. */
START_TEST(intermediate_grad_follows_the_last_backward)
{
    bm_tape *t = bm_tape_new();
    size_t shp[1] = {3};
    bm_tensor *x = bm_tape_leaf(t, BM_F64, 1, shp, BM_REQUIRES_GRAD);
    for (size_t i = 0; i < 3; i++)
        bm_tensor_set(x, i, 1.0 + (double)i);
    bm_tensor *h = bm_mul(t, x, x);
    bm_tensor *y1 = bm_sum(t, bm_scale(t, h, 2.0), BM_AXIS_ALL, 0);
    bm_tensor *y2 = bm_sum(t, bm_scale(t, h, 3.0), BM_AXIS_ALL, 0);
    double want[3] = {2.0, 3.0, 2.0};
    bm_tensor *outs[3] = {y1, y2, y1};
    for (int round = 0; round < 2; round++) /* recorded, then replayed */
        for (int k = 0; k < 3; k++) {
            ck_assert_int_eq(bm_tape_backward(t, outs[k], NULL), BM_OK);
            ck_assert_ptr_nonnull(h->grad);
            for (size_t i = 0; i < 3; i++)
                ck_assert_double_eq(bm_tensor_grad_get(h, i), want[k]);
        }
    bm_tape_free(t);
}
END_TEST

/* layer_norm_grad writes a leaf's gradient in place (BM_OP_ACCUMULATES):
 * after the first backward it stores into a zeroed x.grad or adds into a
 * kept one, bit for bit what one call gives and twice that. */
START_TEST(layer_norm_grad_accumulates_in_place)
{
    enum { R = 3, C = 7, CALLS = 3 };
    bm_tape *t = bm_tape_new();
    double xv[R * C], wv[C], bv[C], sv[R * C];
    for (int i = 0; i < R * C; i++) {
        xv[i] = sin(1.0 + i) * (1 + i % 3);
        sv[i] = cos(0.5 * i);
    }
    for (int j = 0; j < C; j++) {
        wv[j] = 1.0 + 0.25 * j;
        bv[j] = -0.5 + 0.125 * j;
    }
    size_t sx[2] = {R, C}, sc = C;
    bm_tensor *x = leaf(t, 2, sx, xv, BM_REQUIRES_GRAD);
    bm_tensor *w = leaf(t, 1, &sc, wv, BM_REQUIRES_GRAD);
    bm_tensor *b = leaf(t, 1, &sc, bv, BM_REQUIRES_GRAD);
    bm_tensor *y = bm_layer_norm(t, x, w, b, 1e-5);
    bm_tensor *seed = leaf(t, 2, sx, sv, 0);
    double first[R * C];
    for (int c = 0; c < CALLS; c++) {
        bm_tape_zero_grad(t);
        ck_assert_int_eq(bm_tape_backward(t, y, seed), BM_OK);
        for (int i = 0; i < R * C; i++) {
            if (c == 0)
                first[i] = bm_tensor_grad_get(x, i);
            ck_assert_double_eq(bm_tensor_grad_get(x, i), first[i]);
        }
        ck_assert_int_eq(bm_tape_backward(t, y, seed), BM_OK);
        for (int i = 0; i < R * C; i++)
            ck_assert_double_eq(bm_tensor_grad_get(x, i), first[i] + first[i]);
    }
    ck_assert(first[0] != 0);
    bm_tape_free(t);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("tape");
    TCase *g = tcase_create("gradients");
    tcase_add_test(g, accumulates_over_paths);
    tcase_add_test(g, zero_grad_is_explicit);
    tcase_add_test(g, backward_twice);
    tcase_add_test(g, layer_norm_grad_accumulates_in_place);
    tcase_add_test(g, no_grad_records_nothing);
    suite_add_tcase(s, g);
    TCase *m = tcase_create("memory_and_replay");
    tcase_add_test(m, reset_keeps_memory);
    tcase_add_test(m, replay_equals_rerecording);
    tcase_add_test(m, steady_state_allocates_nothing);
    tcase_add_test(m, dropout_replay_and_freeze);
    tcase_add_test(m, intermediate_grad_follows_the_last_backward);
    suite_add_tcase(s, m);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
