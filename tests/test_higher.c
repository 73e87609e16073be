/* test_higher.c — gradients as graphs: bm_grad (create_graph, to any order),
 * replay of recorded gradients, Hessian-vector products, dense Jacobians and
 * Hessians against their analytic forms, a gradient penalty that trains
 * and gradchecks, and bm_grad's errors. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static bm_tensor *leaf64(bm_tape *t, int rank, const size_t *shape, const double *v,
                         unsigned flags)
{
    bm_tensor *x = bm_tape_leaf(t, BM_F64, rank, shape, flags);
    ck_assert_ptr_nonnull(x);
    for (size_t i = 0; i < x->size; i++)
        bm_tensor_set(x, i, v[i]);
    return x;
}

static bm_tensor *sum_all(bm_tape *t, bm_tensor *x) { return bm_sum(t, x, BM_AXIS_ALL, 0); }

START_TEST(third_derivative_of_a_cube)
{
    /* f = Σ x³: f' = 3x², f'' = 6x, f''' = 6 */
    bm_tape *t = bm_tape_new();
    const double v[3] = {0.5, -1.25, 2.0};
    bm_tensor *x = leaf64(t, 1, (size_t[]){3}, v, BM_REQUIRES_GRAD);
    bm_tensor *f = sum_all(t, bm_mul(t, bm_mul(t, x, x), x));
    bm_tensor *g1, *g2, *g3;
    ck_assert_int_eq(bm_grad(t, &f, 1, &x, 1, NULL, 1, &g1), BM_OK);
    ck_assert(g1->flags & BM_REQUIRES_GRAD);
    bm_tensor *s1 = sum_all(t, g1);
    ck_assert_int_eq(bm_grad(t, &s1, 1, &x, 1, NULL, 1, &g2), BM_OK);
    bm_tensor *s2 = sum_all(t, g2);
    ck_assert_int_eq(bm_grad(t, &s2, 1, &x, 1, NULL, 1, &g3), BM_OK);
    for (size_t i = 0; i < 3; i++) {
        ck_near(bm_tensor_get(g1, i), 3 * v[i] * v[i], 1e-14);
        ck_near(bm_tensor_get(g2, i), 6 * v[i], 1e-14);
        ck_near(bm_tensor_get(g3, i), 6.0, 1e-14);
    }
    /* bm_grad leaves .grad alone */
    for (size_t i = 0; i < 3; i++)
        ck_assert_double_eq(bm_tensor_grad_get(x, i), 0.0);
    /* replay recomputes every recorded order on new values */
    const double w[3] = {1.5, 3.0, -0.75};
    for (size_t i = 0; i < 3; i++)
        bm_tensor_set(x, i, w[i]);
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    for (size_t i = 0; i < 3; i++) {
        ck_near(bm_tensor_get(g1, i), 3 * w[i] * w[i], 1e-14);
        ck_near(bm_tensor_get(g2, i), 6 * w[i], 1e-14);
    }
    /* and backward through the second derivative: d/dx Σ 6x = 6 */
    ck_assert_int_eq(bm_tape_backward(t, s2, NULL), BM_OK);
    for (size_t i = 0; i < 3; i++)
        ck_near(bm_tensor_grad_get(x, i), 6.0, 1e-14);
    bm_tape_free(t);
}
END_TEST

START_TEST(without_create_graph_results_are_constants)
{
    bm_tape *t = bm_tape_new();
    const double v[2] = {2.0, -3.0};
    bm_tensor *x = leaf64(t, 1, (size_t[]){2}, v, BM_REQUIRES_GRAD);
    bm_tensor *u = leaf64(t, 1, (size_t[]){2}, v, BM_REQUIRES_GRAD); /* unused */
    bm_tensor *f = sum_all(t, bm_exp(t, x));
    size_t nodes = bm_tape_size(t);
    bm_tensor *in[2] = {x, u}, *g[2];
    ck_assert_int_eq(bm_grad(t, &f, 1, in, 2, NULL, 0, g), BM_OK);
    ck_assert_uint_eq(bm_tape_size(t), nodes); /* nothing joined the main list */
    ck_assert(!(g[0]->flags & BM_REQUIRES_GRAD));
    for (size_t i = 0; i < 2; i++) {
        ck_near(bm_tensor_get(g[0], i), exp(v[i]), 1e-14);
        ck_assert_double_eq(bm_tensor_get(g[1], i), 0.0); /* not reached: zeros */
    }
    bm_tape_free(t);
}
END_TEST

/* f(x) = xᵀAx for x [3]: ∇f = (A + Aᵀ)x, H = A + Aᵀ. */
static bm_tensor *quadratic(bm_tape *t, bm_tensor *x, bm_tensor *A)
{
    bm_tensor *row = bm_reshape(t, x, 2, (size_t[]){1, 3});
    bm_tensor *col = bm_reshape(t, x, 2, (size_t[]){3, 1});
    return sum_all(t, bm_matmul(t, bm_matmul(t, row, A), col));
}

static const double A_VALS[9] = {1, 2, -1, 0.5, 3, 0, -2, 1, 4};

START_TEST(hessian_vector_product_of_a_quadratic)
{
    bm_tape *t = bm_tape_new();
    const double xv[3] = {0.3, -0.7, 1.1}, vv[3] = {1.0, -2.0, 0.5};
    bm_tensor *x = leaf64(t, 1, (size_t[]){3}, xv, BM_REQUIRES_GRAD);
    bm_tensor *A = leaf64(t, 2, (size_t[]){3, 3}, A_VALS, 0);
    bm_tensor *v = leaf64(t, 1, (size_t[]){3}, vv, 0);
    bm_tensor *f = quadratic(t, x, A), *hv;
    ck_assert_int_eq(bm_hvp(t, f, &x, 1, &v, 0, &hv), BM_OK);
    for (size_t i = 0; i < 3; i++) {
        double want = 0;
        for (size_t j = 0; j < 3; j++)
            want += (A_VALS[i * 3 + j] + A_VALS[j * 3 + i]) * vv[j];
        ck_near(bm_tensor_get(hv, i), want, 1e-13);
    }
    /* the dense Hessian is the same matrix */
    bm_tensor *H = NULL;
    bm_error e = {0};
    ck_assert_int_eq(bm_hessian(t, f, x, &H, &e), BM_OK);
    ck_assert_uint_eq(H->shape[0], 3);
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++)
            ck_near(bm_tensor_get(H, i * 3 + j), A_VALS[i * 3 + j] + A_VALS[j * 3 + i], 1e-13);
    bm_tensor_free(H);
    bm_tape_free(t);
}
END_TEST

START_TEST(hessian_of_a_nonlinear_function)
{
    /* f = x0²·x1 + x1³ + exp(x0·x1):
     * H = [[2x1 + x1²e, 2x0 + (1 + x0x1)e], [., 6x1 + x0²e]], e = exp(x0x1) */
    bm_tape *t = bm_tape_new();
    const double xv[2] = {0.4, -0.9};
    bm_tensor *x = leaf64(t, 1, (size_t[]){2}, xv, BM_REQUIRES_GRAD);
    bm_tensor *x0 = bm_sum_to(t, bm_mul(t, x, leaf64(t, 1, (size_t[]){2}, (double[]){1, 0}, 0)), 0, NULL);
    bm_tensor *x1 = bm_sum_to(t, bm_mul(t, x, leaf64(t, 1, (size_t[]){2}, (double[]){0, 1}, 0)), 0, NULL);
    bm_tensor *f = bm_add(t, bm_add(t, bm_mul(t, bm_mul(t, x0, x0), x1), bm_pow(t, x1, 3.0)),
                          bm_exp(t, bm_mul(t, x0, x1)));
    ck_assert_ptr_nonnull(f);
    bm_tensor *H = NULL;
    bm_error e = {0};
    ck_assert_int_eq(bm_hessian(t, f, x, &H, &e), BM_OK);
    double a = xv[0], b = xv[1], ex = exp(a * b);
    double want[4] = {2 * b + b * b * ex, 2 * a + (1 + a * b) * ex, 2 * a + (1 + a * b) * ex,
                      6 * b + a * a * ex};
    for (size_t i = 0; i < 4; i++)
        ck_near(bm_tensor_get(H, i), want[i], 1e-12);
    bm_tensor_free(H);
    bm_tape_free(t);
}
END_TEST

START_TEST(jacobian_of_a_product)
{
    /* y = x·W for x [1,3], W [3,2]: J[j, i] = W[i, j] */
    bm_tape *t = bm_tape_new();
    const double wv[6] = {1, -2, 0.5, 3, 4, -1}, xv[3] = {1, 2, 3};
    bm_tensor *x = leaf64(t, 2, (size_t[]){1, 3}, xv, BM_REQUIRES_GRAD);
    bm_tensor *W = leaf64(t, 2, (size_t[]){3, 2}, wv, 0);
    bm_tensor *y = bm_matmul(t, x, W), *J = NULL;
    bm_error e = {0};
    ck_assert_int_eq(bm_jacobian(t, y, x, &J, &e), BM_OK);
    ck_assert_uint_eq(J->shape[0], 2);
    ck_assert_uint_eq(J->shape[1], 3);
    for (size_t j = 0; j < 2; j++)
        for (size_t i = 0; i < 3; i++)
            ck_assert_double_eq(bm_tensor_get(J, j * 3 + i), wv[i * 2 + j]);
    bm_tensor_free(J);
    /* absurd sizes are refused before anything is allocated */
    bm_tensor *big = bm_tape_leaf(t, BM_F64, 1, (size_t[]){(size_t)1 << 13}, BM_REQUIRES_GRAD);
    bm_tensor *big2 = bm_scale(t, bm_reshape(t, big, 2, (size_t[]){(size_t)1 << 13, 1}), 2.0);
    ck_assert_int_eq(bm_jacobian(t, big2, big, &J, &e), BM_ERR_SIZE);
    ck_assert_ptr_nonnull(strstr(e.msg, "bm_jacobian"));
    ck_assert_ptr_null(J);
    bm_tape_free(t);
}
END_TEST

/* D(x) = Σ tanh(x·W + b); loss = (D − target)² + λ‖∂D/∂x‖². */
typedef struct penalty_net {
    bm_tape *t;
    bm_tensor *x, *W, *b, *loss, *pen;
} penalty_net;

static void penalty_build(penalty_net *p, double lambda)
{
    bm_rng r;
    bm_rng_seed(&r, 21);
    p->t = bm_tape_new();
    p->x = bm_tape_leaf(p->t, BM_F64, 2, (size_t[]){4, 3}, BM_REQUIRES_GRAD);
    p->W = bm_tape_leaf(p->t, BM_F64, 2, (size_t[]){3, 5}, BM_REQUIRES_GRAD);
    p->b = bm_tape_leaf(p->t, BM_F64, 1, (size_t[]){5}, BM_REQUIRES_GRAD);
    bm_tensor *all[3] = {p->x, p->W, p->b};
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < all[k]->size; i++)
            bm_tensor_set(all[k], i, bm_rng_normal(&r));
    bm_tensor *D = sum_all(p->t, bm_tanh(p->t, bm_linear(p->t, p->x, p->W, p->b)));
    bm_tensor *dx;
    ck_assert_int_eq(bm_grad(p->t, &D, 1, &p->x, 1, NULL, 1, &dx), BM_OK);
    p->pen = sum_all(p->t, bm_mul(p->t, dx, dx));
    bm_tensor *fit = bm_add_scalar(p->t, D, -1.0);
    p->loss = bm_add(p->t, bm_mul(p->t, fit, fit), bm_scale(p->t, p->pen, lambda));
    ck_assert_msg(p->loss != NULL, "%s", bm_tape_error(p->t));
}

START_TEST(gradient_penalty_gradchecks)
{
    penalty_net p;
    penalty_build(&p, 0.5);
    bm_tensor *in[3] = {p.W, p.b, p.x};
    bm_gradcheck_result res;
    bm_gradcheck_opts o = bm_gradcheck_defaults();
    ck_assert_int_eq(bm_gradcheck(p.t, p.loss, in, 3, &o, &res), BM_OK);
    ck_assert_msg(res.passed, "%s", res.message);
    bm_tape_free(p.t);
}
END_TEST

START_TEST(gradient_penalty_trains)
{
    /* plain gradient descent on W and b, by replay: the penalty falls */
    penalty_net p;
    penalty_build(&p, 1.0);
    const double lr = 0.02;
    double first = 0, last = 0;
    enum { STEPS = 300 };
    for (int s = 0; s < STEPS; s++) {
        if (s)
            ck_assert_int_eq(bm_tape_forward(p.t), BM_OK);
        if (s == 0)
            first = bm_tensor_get(p.loss, 0);
        last = bm_tensor_get(p.loss, 0);
        bm_tensor_zero_grad(p.W);
        bm_tensor_zero_grad(p.b);
        ck_assert_int_eq(bm_tape_backward(p.t, p.loss, NULL), BM_OK);
        bm_tensor *prm[2] = {p.W, p.b};
        for (int k = 0; k < 2; k++)
            for (size_t i = 0; i < prm[k]->size; i++)
                bm_tensor_set(prm[k], i, bm_tensor_get(prm[k], i) - lr * bm_tensor_grad_get(prm[k], i));
    }
    ck_assert_msg(last < 0.25 * first, "loss %g -> %g", first, last);
    bm_tape_free(p.t);
}
END_TEST

START_TEST(bm_grad_errors)
{
    bm_tape *t = bm_tape_new(), *u = bm_tape_new();
    const double v[3] = {1, 2, 3};
    bm_tensor *x = leaf64(t, 1, (size_t[]){3}, v, BM_REQUIRES_GRAD);
    bm_tensor *y = bm_exp(t, x), *g = NULL;
    ck_assert_int_eq(bm_grad(NULL, &y, 1, &x, 1, NULL, 0, &g), BM_ERR_NULL);
    ck_assert_int_eq(bm_grad(t, NULL, 1, &x, 1, NULL, 0, &g), BM_ERR_NULL);
    ck_assert_ptr_nonnull(strstr(bm_tape_error(t), "bm_grad"));
    bm_tape_clear_error(t);
    ck_assert_int_eq(bm_grad(t, &y, 1, &x, 1, NULL, 0, &g), BM_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(bm_tape_error(t), "not a scalar"));
    bm_tape_clear_error(t);
    bm_tensor *seed32 = bm_tape_leaf(t, BM_F32, 1, (size_t[]){3}, 0);
    ck_assert_int_eq(bm_grad(t, &y, 1, &x, 1, &seed32, 0, &g), BM_ERR_DTYPE);
    bm_tape_clear_error(t);
    bm_tensor *f = sum_all(t, y);
    ck_assert_int_eq(bm_grad(u, &f, 1, &x, 1, NULL, 0, &g), BM_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(bm_tape_error(u), "not recorded on this tape"));
    /* a tensor of another tape, or of before a reset, is refused by builders */
    bm_tape_clear_error(u);
    ck_assert_ptr_null(bm_exp(u, y));
    ck_assert_int_eq(bm_tape_status(u), BM_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(bm_tape_error(u), "another tape"));
    bm_tape_reset(t);
    bm_tensor *z = bm_tape_leaf(t, BM_F64, 1, (size_t[]){3}, 0);
    ck_assert_ptr_null(bm_mul(t, z, y));
    ck_assert_int_eq(bm_tape_status(t), BM_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(bm_tape_error(t), "before bm_tape_reset"));
    bm_tape_free(t);
    bm_tape_free(u);
}
END_TEST

START_TEST(create_graph_costs_one_recording)
{
    /* replaying a recorded second-order graph allocates nothing */
    bm_tape *t = bm_tape_new();
    const double v[4] = {0.1, 0.2, -0.3, 0.4};
    bm_tensor *x = leaf64(t, 1, (size_t[]){4}, v, BM_REQUIRES_GRAD);
    bm_tensor *f = sum_all(t, bm_tanh(t, bm_mul(t, x, x))), *g;
    ck_assert_int_eq(bm_grad(t, &f, 1, &x, 1, NULL, 1, &g), BM_OK);
    bm_tensor *h = sum_all(t, bm_mul(t, g, g));
    ck_assert_int_eq(bm_tape_backward(t, h, NULL), BM_OK);
    size_t bytes = bm_tape_arena_bytes(t), nodes = bm_tape_size(t);
    for (int i = 0; i < 5; i++) {
        bm_tensor_zero_grad(x);
        ck_assert_int_eq(bm_tape_forward(t), BM_OK);
        ck_assert_int_eq(bm_tape_backward(t, h, NULL), BM_OK);
    }
    ck_assert_uint_eq(bm_tape_arena_bytes(t), bytes);
    ck_assert_uint_eq(bm_tape_size(t), nodes);
    bm_tape_free(t);
}
END_TEST

/* A custom op whose vjp is wrong by 10 %: y = x², "dy/dx" = 2.2x. */
static int sq_infer(bm_tape *t, bm_node *n) { return bm_op_set_output_like(t, n, bm_op_in(n, 0)) != BM_OK; }

static void sq_forward(bm_tape *t, bm_node *n)
{
    (void)t;
    bm_tensor *x = bm_op_in(n, 0), *y = bm_op_out(n);
    for (size_t i = 0; i < x->size; i++)
        bm_tensor_set(y, i, bm_tensor_get(x, i) * bm_tensor_get(x, i));
}

static bm_status sq_wrong_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_mul(t, g, bm_scale(t, bm_op_in(n, 0), 2.2));
    return bm_tape_status(t);
}

static const bm_op sq_wrong = {.name = "sq_wrong", .arity = 1, .infer = sq_infer,
                               .forward = sq_forward, .vjp = sq_wrong_vjp};

START_TEST(gradcheck_tells_a_bug_from_step_noise)
{
    bm_tape *t = bm_tape_new();
    const double v[3] = {0.5, -1.5, 2.0};
    bm_tensor *x = leaf64(t, 1, (size_t[]){3}, v, BM_REQUIRES_GRAD);
    bm_tensor *y = bm_tape_record(t, &sq_wrong, &x, 1, NULL);
    ck_assert_ptr_nonnull(y);
    bm_gradcheck_result r;
    bm_gradcheck_opts o = bm_gradcheck_defaults();
    ck_assert_int_eq(bm_gradcheck(t, y, &x, 1, &o, &r), BM_OK);
    ck_assert(!r.passed);
    ck_assert_msg(strstr(r.message, "gradient bug"), "%s", r.message);
    ck_assert(r.worst_fd_error < 1e-6);
    bm_tape_free(t);
    /* a right gradient with a step far too large for the curvature:
     * exp at 3 with eps 5e-4 errs by ~eps²/6·e³ and says so */
    t = bm_tape_new();
    x = leaf64(t, 1, (size_t[]){1}, (double[]){3.0}, BM_REQUIRES_GRAD);
    y = bm_exp(t, x);
    o.eps = 5e-4;
    o.atol = o.rtol = 1e-9;
    ck_assert_int_eq(bm_gradcheck(t, y, &x, 1, &o, &r), BM_OK);
    ck_assert(!r.passed);
    ck_assert_msg(strstr(r.message, "step-size noise"), "%s", r.message);
    double truth = exp(3.0) * 2.5e-7 / 6.0;
    ck_assert_msg(r.worst_fd_error > 0.5 * truth && r.worst_fd_error < 2 * truth,
                  "fd error %g, truth %g", r.worst_fd_error, truth);
    /* a kink between small slopes is skipped, not failed */
    bm_tensor *z = leaf64(t, 1, (size_t[]){1}, (double[]){0.0}, BM_REQUIRES_GRAD);
    bm_tensor *k = bm_scale(t, bm_relu(t, z), 1e-3);
    o = bm_gradcheck_defaults();
    ck_assert_int_eq(bm_gradcheck(t, k, &z, 1, &o, &r), BM_OK);
    ck_assert_uint_eq(r.skipped, 1);
    /* errors fill res->error with the function's name */
    ck_assert_int_eq(bm_gradcheck(t, NULL, &z, 1, &o, &r), BM_ERR_NULL);
    ck_assert_int_eq(r.error.code, BM_ERR_NULL);
    ck_assert_ptr_nonnull(strstr(r.error.msg, "bm_gradcheck"));
    bm_tape_free(t);
}
END_TEST

/* Positions of a kink near the checked point, in eps (both sides). */
#define KINK_OFFSETS 19

START_TEST(gradcheck_tells_curvature_from_a_kink)
{
    bm_gradcheck_opts o = bm_gradcheck_defaults();
    bm_gradcheck_result r;
    /* smooth points whose slope is far below curvature·eps: x² + 1e-9·x near 0
     * (one-sided slopes ±eps apart around 1e-9), exhaustive and projected */
    const double at[3] = {0.0, 1e-12, -3e-10};
    for (int mode = 0; mode < 2; mode++)
        for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
            bm_tape *t = bm_tape_new();
            bm_tensor *x = leaf64(t, 1, (size_t[]){1}, &at[i], BM_REQUIRES_GRAD);
            bm_tensor *y = bm_add(t, bm_mul(t, x, x), bm_scale(t, x, 1e-9));
            o.mode = mode ? BM_GRADCHECK_PROJECTION : BM_GRADCHECK_EXHAUSTIVE;
            ck_assert_int_eq(bm_gradcheck(t, y, &x, 1, &o, &r), BM_OK);
            ck_assert_msg(r.passed && r.skipped == 0 && r.checked > 0, "x = %g, mode %d: %s",
                          at[i], mode, r.message);
            bm_tape_free(t);
        }
    /* real kinks stay kinks: relu and |x| at 0 and with the kink anywhere
     * within eps of the point (never compared, so never a false failure) */
    o = bm_gradcheck_defaults();
    for (int op = 0; op < 2; op++)
        for (int k = -KINK_OFFSETS; k <= KINK_OFFSETS; k++) {
            double x0 = o.eps * k / (KINK_OFFSETS + 1.0);
            bm_tape *t = bm_tape_new();
            bm_tensor *x = leaf64(t, 1, (size_t[]){1}, &x0, BM_REQUIRES_GRAD);
            bm_tensor *y = op ? bm_abs(t, x) : bm_relu(t, x);
            ck_assert_int_eq(bm_gradcheck(t, y, &x, 1, &o, &r), BM_OK);
            ck_assert_msg(r.skipped == 1, "%s at %g: %s", op ? "abs" : "relu", x0, r.message);
            bm_tape_free(t);
        }
    /* a kink plus curvature (x² + relu(x) at 0) is still a kink */
    bm_tape *t = bm_tape_new();
    bm_tensor *x = leaf64(t, 1, (size_t[]){1}, (double[]){0.0}, BM_REQUIRES_GRAD);
    bm_tensor *y = bm_add(t, bm_mul(t, x, x), bm_relu(t, x));
    ck_assert_int_eq(bm_gradcheck(t, y, &x, 1, &o, &r), BM_OK);
    ck_assert_uint_eq(r.skipped, 1);
    bm_tape_free(t);
}
END_TEST

START_TEST(batched_and_outer_products)
{
    /* [2,2,3] x [3,2] broadcasts the matrix over the batch; outer is [M]x[N] */
    bm_tape *t = bm_tape_new();
    const double av[12] = {1, 2, 3, 4, 5, 6, -1, 0, 1, 2, 2, -2}, bv[6] = {1, 0, 0, 1, 1, 1};
    bm_tensor *a = leaf64(t, 3, (size_t[]){2, 2, 3}, av, BM_REQUIRES_GRAD);
    bm_tensor *b = leaf64(t, 2, (size_t[]){3, 2}, bv, BM_REQUIRES_GRAD);
    bm_tensor *c = bm_matmul(t, a, b);
    ck_assert_uint_eq(c->rank, 3);
    for (size_t m = 0; m < 4; m++)
        for (size_t j = 0; j < 2; j++) {
            double want = 0;
            for (size_t k = 0; k < 3; k++)
                want += av[m * 3 + k] * bv[k * 2 + j];
            ck_assert_double_eq(bm_tensor_get(c, m * 2 + j), want);
        }
    /* d Σc / dB sums over the batch: column sums of all four rows of a */
    ck_assert_int_eq(bm_tape_backward(t, sum_all(t, c), NULL), BM_OK);
    for (size_t k = 0; k < 3; k++)
        ck_assert_double_eq(bm_tensor_grad_get(b, k * 2), av[k] + av[3 + k] + av[6 + k] + av[9 + k]);
    bm_tensor *o = bm_outer(t, leaf64(t, 1, (size_t[]){2}, (double[]){2, 3}, 0),
                            leaf64(t, 1, (size_t[]){3}, (double[]){1, -1, 4}, 0));
    ck_assert_uint_eq(o->shape[0], 2);
    ck_assert_double_eq(bm_tensor_get(o, 5), 12.0);
    ck_assert_ptr_null(bm_bmm(t, a, b));
    ck_assert_ptr_nonnull(strstr(bm_tape_error(t), "bm_bmm"));
    bm_tape_free(t);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("higher");
    TCase *tc = tcase_create("higher");
    tcase_add_test(tc, third_derivative_of_a_cube);
    tcase_add_test(tc, without_create_graph_results_are_constants);
    tcase_add_test(tc, hessian_vector_product_of_a_quadratic);
    tcase_add_test(tc, hessian_of_a_nonlinear_function);
    tcase_add_test(tc, jacobian_of_a_product);
    tcase_add_test(tc, gradient_penalty_gradchecks);
    tcase_add_test(tc, gradient_penalty_trains);
    tcase_add_test(tc, bm_grad_errors);
    tcase_add_test(tc, create_graph_costs_one_recording);
    tcase_add_test(tc, gradcheck_tells_a_bug_from_step_noise);
    tcase_add_test(tc, gradcheck_tells_curvature_from_a_kink);
    tcase_add_test(tc, batched_and_outer_products);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
