/* test_walkthrough.c — the walk-through's worked numbers, exactly, built with
 * the tape: one neuron, a batch of three neurons, the softmax Jacobian, and
 * "separate softmax + CCE backward equals the fused (ŷ − y)/N". Every formula
 * is also gradchecked in F64, so the numeric check and the formula agree. */
#include <string.h>

#include "test_util.h"

/* A tape leaf of dtype F64 holding v (rank 0..2), requiring a gradient when
 * grad is set. */
static bm_tensor *leaf(bm_tape *t, int rank, const size_t *shape, const double *v, int grad)
{
    bm_tensor *x = bm_tape_leaf(t, BM_F64, rank, shape, grad ? BM_REQUIRES_GRAD : 0);
    ck_assert_msg(x != NULL, "%s", bm_tape_error(t));
    ck_assert_int_eq(bm_tensor_load(x, v, x->size, NULL), BM_OK);
    return x;
}

/* Gradcheck out w.r.t. inputs, exhaustively and by projection; must pass. */
static void gradcheck_ok(bm_tape *t, bm_tensor *out, bm_tensor *const *in, size_t n,
                         const char *what)
{
    bm_gradcheck_opts o = bm_gradcheck_defaults();
    bm_gradcheck_result r;
    ck_assert_int_eq(bm_gradcheck(t, out, in, n, &o, &r), BM_OK);
    ck_assert_msg(r.passed, "%s: %s (abs %g, rel %g)", what, r.message, r.max_abs_err,
                  r.max_rel_err);
    o.mode = BM_GRADCHECK_PROJECTION;
    ck_assert_int_eq(bm_gradcheck(t, out, in, n, &o, &r), BM_OK);
    ck_assert_msg(r.passed, "%s (projection): %s", what, r.message);
}

/* ------------------------------------------------------------ one neuron */

static const double X1[3] = {1, -2, 3}, W1[3] = {-3, -1, 2}, B1 = 1;

/* relu(Σ x·w + b): three multiplications, their sum, the bias, ReLU. */
static bm_tensor *one_neuron(bm_tape *t, bm_tensor *x, bm_tensor *w, bm_tensor *b)
{
    bm_tensor *p = bm_mul(t, x, w);                 /* p_i = x_i·w_i */
    bm_tensor *s = bm_sum(t, p, BM_AXIS_ALL, 0);    /* p_0 + p_1 + p_2 */
    return bm_relu(t, bm_add(t, s, b));             /* max(0, z) */
}

START_TEST(one_neuron_forward_backward)
{
    bm_tape *t = bm_tape_new();
    size_t three = 3;
    bm_tensor *x = leaf(t, 1, &three, X1, 1);
    bm_tensor *w = leaf(t, 1, &three, W1, 1);
    bm_tensor *b = leaf(t, 0, NULL, &B1, 1);
    bm_tensor *out = one_neuron(t, x, w, b);
    ck_assert_msg(out != NULL, "%s", bm_tape_error(t));
    ck_assert_int_eq(out->rank, 0);
    ck_assert_double_eq(bm_tensor_get(out, 0), 6.0); /* z = 6 */

    /* The next layer's gradient is 1: dx = w, dw = x, db = 1. */
    ck_assert_int_eq(bm_tape_backward(t, out, NULL), BM_OK);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_double_eq(bm_tensor_grad_get(x, i), W1[i]);
        ck_assert_double_eq(bm_tensor_grad_get(w, i), X1[i]);
    }
    ck_assert_double_eq(bm_tensor_grad_get(b, 0), 1.0);

    /* w -= 0.001·dw, b -= 0.001·db by the library's SGD, then the forward again (replay). */
    bm_optim_config sgd = bm_optim_defaults(BM_OPT_SGD);
    sgd.lr = 0.001;
    bm_error e = {0};
    bm_optim *ow = bm_optim_new(&sgd, BM_F64, 3, &e), *ob = bm_optim_new(&sgd, BM_F64, 1, &e);
    ck_assert_msg(ow && ob, "%s", e.msg);
    ck_assert_int_eq(bm_optim_step(ow, w->data, w->grad, 3, &e), BM_OK);
    ck_assert_int_eq(bm_optim_step(ob, b->data, b->grad, 1, &e), BM_OK);
    bm_optim_free(ow);
    bm_optim_free(ob);
    ck_near(bm_tensor_get(w, 0), -3.001, 1e-15);
    ck_near(bm_tensor_get(w, 1), -0.998, 1e-15);
    ck_near(bm_tensor_get(w, 2), 1.997, 1e-15);
    ck_near(bm_tensor_get(b, 0), 0.999, 1e-15);
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    double z = 0;
    for (size_t i = 0; i < 3; i++)
        z += X1[i] * bm_tensor_get(w, i);
    z += bm_tensor_get(b, 0);
    ck_near(bm_tensor_get(out, 0), z, 1e-12);
    ck_near(bm_tensor_get(out, 0), 5.985, 1e-12); /* the book prints 5.985 */

    bm_tensor *in[3] = {x, w, b};
    gradcheck_ok(t, out, in, 3, "one neuron");
    bm_tape_free(t);
}
END_TEST

/* --------------------------------------------------- a batch of 3 neurons */

static const double DVALUES[9] = {1, 1, 1, 2, 2, 2, 3, 3, 3};
static const double INPUTS[12] = {1, 2, 3, 2.5, 2, 5, -1, 2, -1.5, 2.7, 3.3, -0.8};
/* weights as the book writes them: one row per neuron, [3,4] */
static const double WEIGHTS[12] = {0.2, 0.8, -0.5, 1, 0.5, -0.91, 0.26, -0.5,
                                   -0.26, -0.27, 0.17, 0.87};
static const double BIASES[3] = {2, 3, 0.5};

/* Record inputs·W + b with W = weightsᵀ [4,3] (np.array(weights).T). */
static bm_tensor *dense_batch(bm_tape *t, bm_tensor **in, bm_tensor **w, bm_tensor **b)
{
    double wt[12];
    for (size_t r = 0; r < 4; r++)
        for (size_t c = 0; c < 3; c++)
            wt[r * 3 + c] = WEIGHTS[c * 4 + r];
    *in = leaf(t, 2, (size_t[]){3, 4}, INPUTS, 1);
    *w = leaf(t, 2, (size_t[]){4, 3}, wt, 1);
    *b = leaf(t, 2, (size_t[]){1, 3}, BIASES, 1);
    return bm_add(t, bm_matmul(t, *in, *w), *b);
}

START_TEST(batch_of_three_neurons)
{
    bm_tape *t = bm_tape_new();
    bm_tensor *in, *w, *b;
    bm_tensor *out = dense_batch(t, &in, &w, &b);
    ck_assert_msg(out != NULL, "%s", bm_tape_error(t));
    bm_tensor *dv = leaf(t, 2, (size_t[]){3, 3}, DVALUES, 0);
    ck_assert_int_eq(bm_tape_backward(t, out, dv), BM_OK);

    /* dinputs = dvalues·Wᵀ: row s is (s+1)·[0.44, −0.38, −0.07, 1.37] */
    const double row0[4] = {0.44, -0.38, -0.07, 1.37};
    for (size_t s = 0; s < 3; s++)
        for (size_t j = 0; j < 4; j++)
            ck_near(bm_tensor_grad_get(in, s * 4 + j), (double)(s + 1) * row0[j], 1e-9);
    /* dweights = inputsᵀ·dvalues: rows of 0.5, 20.1, 10.9, 4.1 */
    const double dw[4] = {0.5, 20.1, 10.9, 4.1};
    for (size_t r = 0; r < 4; r++)
        for (size_t c = 0; c < 3; c++)
            ck_near(bm_tensor_grad_get(w, r * 3 + c), dw[r], 1e-9);
    /* dbiases = Σ over the batch of dvalues */
    for (size_t c = 0; c < 3; c++)
        ck_near(bm_tensor_grad_get(b, c), 6.0, 1e-9);

    /* the forward itself: inputs·W + b */
    for (size_t s = 0; s < 3; s++)
        for (size_t c = 0; c < 3; c++) {
            double z = BIASES[c];
            for (size_t k = 0; k < 4; k++)
                z += INPUTS[s * 4 + k] * WEIGHTS[c * 4 + k];
            ck_near(bm_tensor_get(out, s * 3 + c), z, 1e-12);
        }

    bm_tensor *ins[3] = {in, w, b};
    gradcheck_ok(t, out, ins, 3, "dense batch");
    bm_tape_free(t);
}
END_TEST

/* ------------------------------------------------------ softmax Jacobian */

START_TEST(softmax_jacobian)
{
    const double s[3] = {0.7, 0.1, 0.2};
    double z[3];
    for (size_t i = 0; i < 3; i++)
        z[i] = log(s[i]); /* softmax(log s) = s since Σ s = 1 */
    bm_tape *t = bm_tape_new();
    size_t three = 3;
    bm_tensor *zt = leaf(t, 1, &three, z, 1);
    bm_tensor *st = bm_softmax(t, zt);
    ck_assert_msg(st != NULL, "%s", bm_tape_error(t));
    for (size_t i = 0; i < 3; i++)
        ck_near(bm_tensor_get(st, i), s[i], 1e-15);

    /* Backward with seed e_j gives ds_j/dz, one row of the Jacobian; it is
     * symmetric, so rows and columns agree. diag(s) − s·sᵀ: */
    bm_tensor *seed = bm_tape_leaf(t, BM_F64, 1, &three, 0);
    for (size_t j = 0; j < 3; j++) {
        for (size_t i = 0; i < 3; i++)
            bm_tensor_set(seed, i, i == j ? 1.0 : 0.0);
        bm_tensor_zero_grad(zt);
        ck_assert_int_eq(bm_tape_backward(t, st, seed), BM_OK);
        for (size_t k = 0; k < 3; k++) {
            double want = (j == k ? s[j] : 0.0) - s[j] * s[k];
            ck_near(bm_tensor_grad_get(zt, k), want, 1e-12);
        }
    }
    /* the walk-through's matrix, entry by entry */
    const double jac[9] = {0.7 - 0.49, -0.07, -0.14, -0.07, 0.1 - 0.01, -0.02,
                           -0.14, -0.02, 0.2 - 0.04};
    for (size_t j = 0; j < 3; j++) {
        for (size_t i = 0; i < 3; i++)
            bm_tensor_set(seed, i, i == j ? 1.0 : 0.0);
        bm_tensor_zero_grad(zt);
        ck_assert_int_eq(bm_tape_backward(t, st, seed), BM_OK);
        for (size_t k = 0; k < 3; k++)
            ck_near(bm_tensor_grad_get(zt, k), jac[j * 3 + k], 1e-12);
    }
    gradcheck_ok(t, st, &zt, 1, "softmax");
    bm_tape_free(t);
}
END_TEST

/* ---------------------------------- separate softmax + CCE equals fused */

static const double YHAT[9] = {0.7, 0.1, 0.2, 0.1, 0.5, 0.4, 0.02, 0.9, 0.08};
static const double CLASSES[3] = {0, 1, 1};
static const double ONEHOT[9] = {1, 0, 0, 0, 1, 0, 0, 1, 0};

/* Targets [0,1,1] as class indices (onehot == 0) or one-hot rows. */
static bm_tensor *targets(bm_tape *t, int onehot)
{
    return onehot ? leaf(t, 2, (size_t[]){3, 3}, ONEHOT, 0) : leaf(t, 1, (size_t[]){3}, CLASSES, 0);
}

/* z = log ŷ, so softmax(z) = ŷ. */
static bm_tensor *logits(bm_tape *t)
{
    double z[9];
    for (size_t i = 0; i < 9; i++)
        z[i] = log(YHAT[i]);
    return leaf(t, 2, (size_t[]){3, 3}, z, 1);
}

/* (ŷ − onehot)/N, the walk-through's fused gradient. */
static double fused(size_t i) { return (YHAT[i] - ONEHOT[i]) / 3.0; }

START_TEST(separate_equals_fused)
{
    const int onehot = _i;
    bm_tape *t = bm_tape_new();

    /* (a) testing.py's way, step by step: CCE backward w.r.t. ŷ is −y/ŷ/N ... */
    bm_tensor *p = leaf(t, 2, (size_t[]){3, 3}, YHAT, 1);
    bm_tensor *loss = bm_cce(t, p, targets(t, onehot));
    ck_assert_msg(loss != NULL, "%s", bm_tape_error(t));
    ck_assert_int_eq(bm_tape_backward(t, loss, NULL), BM_OK);
    for (size_t i = 0; i < 9; i++)
        ck_near(bm_tensor_grad_get(p, i), -ONEHOT[i] / YHAT[i] / 3.0, 1e-12);
    /* ... chained through the softmax Jacobian (seed = dŷ). */
    bm_tensor *z = logits(t);
    bm_tensor *s = bm_softmax(t, z);
    bm_tensor *dyhat = bm_tensor_copy(p, NULL);
    ck_assert_ptr_nonnull(dyhat);
    for (size_t i = 0; i < 9; i++)
        bm_tensor_set(dyhat, i, bm_tensor_grad_get(p, i));
    ck_assert_int_eq(bm_tape_backward(t, s, dyhat), BM_OK);
    for (size_t i = 0; i < 9; i++)
        ck_near(bm_tensor_grad_get(z, i), fused(i), 1e-7);
    bm_tensor_free(dyhat);

    /* (a') the same chain as one graph: cce(softmax(z)). */
    bm_tensor *z2 = logits(t);
    bm_tensor *chain = bm_cce(t, bm_softmax(t, z2), targets(t, onehot));
    ck_assert_msg(chain != NULL, "%s", bm_tape_error(t));
    ck_assert_int_eq(bm_tape_backward(t, chain, NULL), BM_OK);
    for (size_t i = 0; i < 9; i++)
        ck_near(bm_tensor_grad_get(z2, i), fused(i), 1e-7);

    /* (b) the fused op on logits: dz = (ŷ − y)/N. */
    bm_tensor *z3 = logits(t);
    bm_tensor *fl = bm_softmax_cce(t, z3, targets(t, onehot));
    ck_assert_msg(fl != NULL, "%s", bm_tape_error(t));
    ck_assert_int_eq(bm_tape_backward(t, fl, NULL), BM_OK);
    for (size_t i = 0; i < 9; i++) {
        ck_near(bm_tensor_grad_get(z3, i), fused(i), 1e-7);
        ck_near(bm_tensor_grad_get(z3, i), bm_tensor_grad_get(z, i), 1e-7);
    }

    /* the numeric check agrees with each formula */
    gradcheck_ok(t, loss, &p, 1, "cce");
    gradcheck_ok(t, chain, &z2, 1, "cce(softmax)");
    gradcheck_ok(t, fl, &z3, 1, "softmax_cce");
    bm_tape_free(t);
}
END_TEST

START_TEST(loss_values)
{
    const double want = (-log(0.7) - log(0.5) - log(0.9)) / 3.0;
    for (int onehot = 0; onehot < 2; onehot++) {
        bm_tape *t = bm_tape_new();
        bm_tensor *p = leaf(t, 2, (size_t[]){3, 3}, YHAT, 1);
        bm_tensor *l1 = bm_cce(t, p, targets(t, onehot));
        bm_tensor *l2 = bm_softmax_cce(t, logits(t), targets(t, onehot));
        bm_tensor *l3 = bm_cce(t, bm_softmax(t, logits(t)), targets(t, onehot));
        ck_assert_msg(l1 && l2 && l3, "%s", bm_tape_error(t));
        ck_assert_int_eq(l1->rank, 0);
        ck_near(bm_tensor_get(l1, 0), want, 1e-15);
        ck_near(bm_tensor_get(l2, 0), want, 1e-12);
        ck_near(bm_tensor_get(l3, 0), want, 1e-12);
        ck_near(bm_tensor_get(l1, 0), 0.38506088005216804, 1e-15); /* the book's value */
        bm_tape_free(t);
    }
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("walkthrough");
    TCase *tc = tcase_create("numbers");
    tcase_add_test(tc, one_neuron_forward_backward);
    tcase_add_test(tc, batch_of_three_neurons);
    tcase_add_test(tc, softmax_jacobian);
    tcase_add_loop_test(tc, separate_equals_fused, 0, 2);
    tcase_add_test(tc, loss_values);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
