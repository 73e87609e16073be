/* test_tape_seed.c — a replayed backward reads the caller's seed where it
 * lies (no copy into the plan's seed leaf) and still gives what a copy
 * gives: it follows the seed's current values, the output's .grad is the
 * seed, and the seeds a copy must protect (one aliasing a leaf gradient the
 * plan writes, one a recorded value whose memory the memory planner hands
 * to the backward) give the copy's bits. And layer_norm's one-sweep
 * backward (dX, dW, dB from one pass) gives the separate kernels' bits. */
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

/* layer_norm(x, w, b) + z: layer_norm_grad adds into x.grad in place, and
 * z.grad += the seed after the nodes ran. */
static bm_tensor *record_direct(bm_tape *t, bm_tensor **x, bm_tensor **w, bm_tensor **z)
{
    size_t sx[2] = {R, C}, sc = C;
    double xv[N], zv[N], wv[C], bv[C];
    for (int i = 0; i < N; i++) {
        xv[i] = val(0, i);
        zv[i] = val(2, i);
    }
    for (int j = 0; j < C; j++) {
        wv[j] = 1.0 + 0.25 * j;
        bv[j] = -0.5 + 0.125 * j;
    }
    *x = leaf(t, 2, sx, xv, BM_REQUIRES_GRAD);
    *w = leaf(t, 1, &sc, wv, BM_REQUIRES_GRAD);
    *z = leaf(t, 2, sx, zv, BM_REQUIRES_GRAD);
    bm_tensor *b = leaf(t, 1, &sc, bv, BM_REQUIRES_GRAD);
    bm_tensor *y = bm_add(t, bm_layer_norm(t, *x, *w, b, 1e-5), *z);
    ck_assert_msg(y != NULL, "%s", bm_tape_error(t));
    return y;
}

/* A seed that is x's own gradient buffer: the plan adds into x.grad while
 * it still reads the seed, so it must read a copy — the bits of a caller's
 * copy. */
START_TEST(seed_aliasing_a_leaf_gradient_is_copied)
{
    bm_tape *t = bm_tape_new(), *ref = bm_tape_new();
    bm_tensor *x, *w, *z, *rx, *rw, *rz;
    bm_tensor *y = record_direct(t, &x, &w, &z), *ry = record_direct(ref, &rx, &rw, &rz);
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
        for (int i = 0; i < N; i++) {
            ck_assert_double_eq(bm_tensor_grad_get(x, i), bm_tensor_grad_get(rx, i));
            ck_assert_double_eq(bm_tensor_grad_get(z, i), bm_tensor_grad_get(rz, i));
        }
        for (int j = 0; j < C; j++)
            ck_assert_double_eq(bm_tensor_grad_get(w, j), bm_tensor_grad_get(rw, j));
    }
    bm_tensor_free(alias);
    bm_tensor_free(copy);
    bm_tape_free(t);
    bm_tape_free(ref);
}
END_TEST

/* A seed that is a recorded value of the same tape (u = x·k, which the
 * backward reads first of all, in y's z·u, and then no more: the memory
 * planner may give its memory to the layer_norm nodes that follow): the
 * plan reads a copy made before its nodes run — the bits of the same steps
 * without the planner. */
START_TEST(seed_in_the_tapes_memory_is_copied)
{
    bm_tape *t = bm_tape_new(), *ref = bm_tape_new();
    bm_tape *tp[2] = {t, ref};
    bm_tensor *x[2], *w[2], *u[2], *y[2], *z[2];
    size_t sx[2] = {R, C};
    double zv[N];
    for (int i = 0; i < N; i++)
        zv[i] = val(6, i);
    for (int k = 0; k < 2; k++) {
        bm_tensor *ln = record(tp[k], &x[k], &w[k], &u[k]);
        z[k] = leaf(tp[k], 2, sx, zv, BM_REQUIRES_GRAD);
        y[k] = bm_add(tp[k], ln, bm_mul(tp[k], z[k], u[k]));
        ck_assert_msg(y[k] != NULL, "%s", bm_tape_error(tp[k]));
        /* record both plans, then lay t's memory out */
        ck_assert_int_eq(bm_tape_backward(tp[k], y[k], u[k]), BM_OK);
    }
    ck_assert_int_eq(bm_tape_plan_memory(t), BM_OK);
    for (int c = 0; c < CALLS; c++) {
        for (int k = 0; k < 2; k++) {
            bm_tape_zero_grad(tp[k]);
            ck_assert_int_eq(bm_tape_forward(tp[k]), BM_OK);
            ck_assert_int_eq(bm_tape_backward(tp[k], y[k], u[k]), BM_OK);
        }
        for (int i = 0; i < N; i++) {
            ck_assert_double_eq(bm_tensor_grad_get(x[0], i), bm_tensor_grad_get(x[1], i));
            ck_assert_double_eq(bm_tensor_grad_get(z[0], i), bm_tensor_grad_get(z[1], i));
        }
        for (int j = 0; j < C; j++)
            ck_assert_double_eq(bm_tensor_grad_get(w[0], j), bm_tensor_grad_get(w[1], j));
        ck_assert(bm_tensor_grad_get(x[0], 0) != 0);
    }
    bm_tape_free(t);
    bm_tape_free(ref);
}
END_TEST

/* layer_norm's backward with every gradient wanted sums dW and dB in the
 * sweep that computes dX (one node); with only dX or only dW, dB wanted it
 * runs the separate kernels. The gradients are the same bits either way,
 * with and without the memory planner, f32 and f64. */
enum { LR = 33, LC = 40, LN = LR * LC };

/* x.grad, w.grad, b.grad after `calls` replayed steps with seed s: x, w, b
 * requiring gradients where want[0..2]. */
static void ln_grads(bm_dtype dt, const int *want, int plan, double *gx, double *gw, double *gb)
{
    bm_tape *t = bm_tape_new();
    size_t sx[2] = {LR, LC}, sc = LC;
    bm_tensor *in[3] = {bm_tape_leaf(t, dt, 2, sx, want[0] ? BM_REQUIRES_GRAD : 0),
                        bm_tape_leaf(t, dt, 1, &sc, want[1] ? BM_REQUIRES_GRAD : 0),
                        bm_tape_leaf(t, dt, 1, &sc, want[2] ? BM_REQUIRES_GRAD : 0)};
    bm_tensor *s = bm_tape_leaf(t, dt, 2, sx, 0);
    ck_assert_msg(in[0] && in[1] && in[2] && s, "%s", bm_tape_error(t));
    for (size_t i = 0; i < LN; i++) {
        bm_tensor_set(in[0], i, val(7, (int)i) * 3 + 0.25);
        bm_tensor_set(s, i, val(8, (int)i));
    }
    for (size_t j = 0; j < LC; j++) {
        bm_tensor_set(in[1], j, 1 + 0.5 * val(9, (int)j));
        bm_tensor_set(in[2], j, val(10, (int)j));
    }
    bm_tape_set_memory_plan(t, plan);
    bm_tensor *y = bm_layer_norm(t, in[0], in[1], in[2], 1e-5);
    ck_assert_msg(y != NULL, "%s", bm_tape_error(t));
    for (int c = 0; c < CALLS; c++) {
        bm_tape_zero_grad(t);
        ck_assert_int_eq(bm_tape_forward(t), BM_OK);
        ck_assert_msg(bm_tape_backward(t, y, s) == BM_OK, "%s", bm_tape_error(t));
    }
    for (size_t i = 0; want[0] && i < LN; i++)
        gx[i] = bm_tensor_grad_get(in[0], i);
    for (size_t j = 0; j < LC; j++) {
        gw[j] = want[1] ? bm_tensor_grad_get(in[1], j) : 0;
        gb[j] = want[2] ? bm_tensor_grad_get(in[2], j) : 0;
    }
    bm_tape_free(t);
}

START_TEST(layer_norm_one_sweep_same_bits)
{
    static const int ALL[3] = {1, 1, 1}, X_ONLY[3] = {1, 0, 0}, WB_ONLY[3] = {0, 1, 1};
    double *gx = malloc(3 * LN * sizeof *gx), gw[3][LC], gb[3][LC];
    ck_assert(gx);
    for (int dt = 0; dt < 2; dt++)
        for (int plan = 0; plan < 2; plan++) {
            bm_dtype d = dt ? BM_F64 : BM_F32;
            ln_grads(d, ALL, plan, gx, gw[0], gb[0]);
            ln_grads(d, X_ONLY, !plan, gx + LN, gw[1], gb[1]);
            ln_grads(d, WB_ONLY, plan, gx + 2 * LN, gw[2], gb[2]);
            for (size_t i = 0; i < LN; i++)
                ck_assert_msg(gx[i] == gx[LN + i], "dx %zu dtype %d plan %d", i, dt, plan);
            for (size_t j = 0; j < LC; j++)
                ck_assert_msg(gw[0][j] == gw[2][j] && gb[0][j] == gb[2][j],
                              "dw/db %zu dtype %d plan %d", j, dt, plan);
            ck_assert(gx[0] != 0 && gw[0][0] != 0 && gb[0][0] != 0);
        }
    free(gx);
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
    TCase *l = tcase_create("layer_norm_one_sweep");
    tcase_add_test(l, layer_norm_one_sweep_same_bits);
    suite_add_tcase(s, l);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
