/* test_tape_seed.c — a replayed backward reads the caller's seed where it
 * lies (no copy into the plan's seed leaf) and still gives what a copy
 * gives: it follows the seed's current values, the output's .grad is the
 * seed, and the seeds a copy must protect (one aliasing a leaf gradient the
 * plan writes, one a recorded value whose memory the memory planner hands
 * to the backward) give the copy's bits. */
#include "test_tape_util.h"

enum { R = 4, C = 6, N = R * C, CALLS = 3 };

/* Values of test input k at i (fixed, varied). */
static double val(int k, int i) { return sin(0.7 * i + 1.3 * k) * (1 + (i + k) % 3); }

/* layer_norm(x·k + k2, w, b) on a tape: x, w, b require gradients, k and k2
 * are constants; *u is x·k (read only by the add's forward). */
static bm_tensor *record(bm_tape *t, bm_tensor **x, bm_tensor **w, bm_tensor **u)
{
    size_t sx[2] = {R, C}, sc = C;
    double xv[N], kv[N], k2[N], wv[C], bv[C];
    for (int i = 0; i < N; i++) {
        xv[i] = val(0, i);
        kv[i] = 1.5 + val(1, i);
        k2[i] = val(2, i);
    }
    for (int j = 0; j < C; j++) {
        wv[j] = 1.0 + 0.25 * j;
        bv[j] = -0.5 + 0.125 * j;
    }
    *x = leaf(t, 2, sx, xv, BM_REQUIRES_GRAD);
    *w = leaf(t, 1, &sc, wv, BM_REQUIRES_GRAD);
    bm_tensor *b = leaf(t, 1, &sc, bv, BM_REQUIRES_GRAD);
    *u = bm_mul(t, *x, leaf(t, 2, sx, kv, 0));
    bm_tensor *y = bm_layer_norm(t, bm_add(t, *u, leaf(t, 2, sx, k2, 0)), *w, b, 1e-5);
    ck_assert_msg(y != NULL, "%s", bm_tape_error(t));
    return y;
}

/* The seed's values follow the caller's buffer on every replay, and the
 * output's .grad reads them. */
START_TEST(seed_follows_the_callers_buffer)
{
    bm_tape *t = bm_tape_new(), *ref = bm_tape_new();
    bm_tensor *x, *w, *u, *rx, *rw, *ru;
    bm_tensor *y = record(t, &x, &w, &u), *ry = record(ref, &rx, &rw, &ru);
    size_t sx[2] = {R, C};
    double sv[N];
    bm_error err = {0};
    bm_tensor *seed = bm_tensor_view(BM_F64, 2, sx, sv, NULL, &err);
    ck_assert_msg(seed != NULL, "%s", err.msg);
    for (int c = 0; c < CALLS; c++) {
        for (int i = 0; i < N; i++)
            sv[i] = val(3 + c, i);
        /* the reference re-records its backward each call (a copy of the seed) */
        bm_tensor *rs = leaf(ref, 2, sx, sv, 0);
        bm_tape_zero_grad(t);
        bm_tape_zero_grad(ref);
        ck_assert_int_eq(bm_tape_backward(t, y, seed), BM_OK);
        ck_assert_int_eq(bm_tape_backward(ref, ry, rs), BM_OK);
        for (int i = 0; i < N; i++) {
            ck_assert_double_eq(bm_tensor_grad_get(x, i), bm_tensor_grad_get(rx, i));
            ck_assert_double_eq(bm_tensor_grad_get(y, i), sv[i]);
        }
        for (int j = 0; j < C; j++)
            ck_assert_double_eq(bm_tensor_grad_get(w, j), bm_tensor_grad_get(rw, j));
        ck_assert(bm_tensor_grad_get(x, 0) != 0);
    }
    bm_tensor_free(seed);
    bm_tape_free(t);
    bm_tape_free(ref);
}
END_TEST

/* A seed that is x's own gradient buffer: the plan adds into x.grad while
 * reading the seed, so it must read a copy — the bits of a caller's copy. */
START_TEST(seed_aliasing_a_leaf_gradient_is_copied)
{
    bm_tape *t = bm_tape_new(), *ref = bm_tape_new();
    bm_tensor *x, *w, *u, *rx, *rw, *ru;
    bm_tensor *y = record(t, &x, &w, &u), *ry = record(ref, &rx, &rw, &ru);
    size_t sx[2] = {R, C};
    double sv[N], g0[N];
    bm_error err = {0};
    for (int i = 0; i < N; i++)
        sv[i] = val(5, i);
    bm_tensor *s0 = leaf(t, 2, sx, sv, 0), *rs0 = leaf(ref, 2, sx, sv, 0);
    bm_tensor *alias = bm_tensor_view(BM_F64, 2, sx, x->grad, NULL, &err);
    bm_tensor *copy = bm_tensor_view(BM_F64, 2, sx, g0, NULL, &err);
    ck_assert_msg(alias && copy, "%s", err.msg);
    for (int c = 0; c < CALLS; c++) {
        /* x.grad = g0 (from the plain seed), then backward seeded with x.grad */
        bm_tape_zero_grad(t);
        bm_tape_zero_grad(ref);
        ck_assert_int_eq(bm_tape_backward(t, y, s0), BM_OK);
        ck_assert_int_eq(bm_tape_backward(ref, ry, rs0), BM_OK);
        for (int i = 0; i < N; i++)
            g0[i] = bm_tensor_grad_get(rx, i);
        ck_assert_int_eq(bm_tape_backward(t, y, alias), BM_OK);
        ck_assert_int_eq(bm_tape_backward(ref, ry, copy), BM_OK);
        for (int i = 0; i < N; i++)
            ck_assert_double_eq(bm_tensor_grad_get(x, i), bm_tensor_grad_get(rx, i));
        for (int j = 0; j < C; j++)
            ck_assert_double_eq(bm_tensor_grad_get(w, j), bm_tensor_grad_get(rw, j));
    }
    bm_tensor_free(alias);
    bm_tensor_free(copy);
    bm_tape_free(t);
    bm_tape_free(ref);
}
END_TEST

/* A seed that is a recorded value of the same tape (u, which only the
 * forward reads, so the memory planner may give its memory to the
 * backward): the plan reads a copy made before its nodes run — the bits of
 * the same steps without the planner. */
START_TEST(seed_in_the_tapes_memory_is_copied)
{
    bm_tape *t = bm_tape_new(), *ref = bm_tape_new();
    bm_tensor *x, *w, *u, *rx, *rw, *ru;
    bm_tensor *y = record(t, &x, &w, &u), *ry = record(ref, &rx, &rw, &ru);
    /* record both plans, then lay t's memory out (u's memory is free once
     * the add's forward has read it) */
    ck_assert_int_eq(bm_tape_backward(t, y, u), BM_OK);
    ck_assert_int_eq(bm_tape_backward(ref, ry, ru), BM_OK);
    ck_assert_int_eq(bm_tape_plan_memory(t), BM_OK);
    for (int c = 0; c < CALLS; c++) {
        bm_tape_zero_grad(t);
        bm_tape_zero_grad(ref);
        ck_assert_int_eq(bm_tape_forward(t), BM_OK);
        ck_assert_int_eq(bm_tape_forward(ref), BM_OK);
        ck_assert_int_eq(bm_tape_backward(t, y, u), BM_OK);
        ck_assert_int_eq(bm_tape_backward(ref, ry, ru), BM_OK);
        for (int i = 0; i < N; i++)
            ck_assert_double_eq(bm_tensor_grad_get(x, i), bm_tensor_grad_get(rx, i));
        for (int j = 0; j < C; j++)
            ck_assert_double_eq(bm_tensor_grad_get(w, j), bm_tensor_grad_get(rw, j));
        ck_assert(bm_tensor_grad_get(x, 0) != 0);
    }
    bm_tape_free(t);
    bm_tape_free(ref);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("tape_seed");
    TCase *c = tcase_create("seed_in_place");
    tcase_add_test(c, seed_follows_the_callers_buffer);
    tcase_add_test(c, seed_aliasing_a_leaf_gradient_is_copied);
    tcase_add_test(c, seed_in_the_tapes_memory_is_copied);
    suite_add_tcase(s, c);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
