/* test_nn.c — layers, losses, regularization, dropout and initialisers.
 * Every layer/loss pairing is gradchecked through bm_model_record in F64
 * over all parameters. Metrics and the API's errors are in test_nn_api.c
 * (suite "nn_api"), the training runs in test_train.c (suite "train"). */
#include <stdlib.h>
#include <string.h>

#include "bm_ops.h"
#include "test_util.h"

/* Gradcheck net: F inputs, H hidden units, C outputs, N rows. */
enum { F = 3, H = 5, C = 4, N = 6 };
/* Seed of every model built here. */
#define SEED 7u
/* Biases are set to U(±BIAS_RANGE) so that L1 on biases has no kink at 0. */
#define BIAS_RANGE 0.5
/* Dropout statistics: elements and rate (the issue's). */
enum { DROP_ROWS = 1000, DROP_COLS = 100 };
#define DROP_RATE 0.3
/* Allowed deviation of the zeroed fraction from the rate. */
#define DROP_FRAC_TOL 0.01

/* ------------------------------------------------------------ helpers */

/* Fail the test with err's message unless s is BM_OK. */
#define ck_ok(s, err) ck_assert_msg((s) == BM_OK, "%s: %s", #s, (err).msg)

/* Add a layer or fail. */
static void add(bm_model *m, bm_layer_spec s)
{
    bm_error e = {0};
    ck_ok(bm_model_add(m, &s, &e), e);
}

static bm_layer_spec dense(size_t in, size_t out, bm_init init)
{
    bm_layer_spec s = bm_dense_spec(in, out);
    s.init = init;
    return s;
}

/* Every dense layer's weights and biases, in layer order; returns the count. */
static size_t model_param_tensors(bm_model *m, bm_tensor **out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < bm_model_n_layers(m); i++) {
        if (bm_model_layer(m, i)->kind != BM_LAYER_DENSE)
            continue;
        ck_assert_uint_lt(k + 1, cap);
        out[k++] = bm_model_weights(m, i);
        out[k++] = bm_model_biases(m, i);
    }
    return k;
}

/* Fill a tensor with N(0,1) values (or U(±r) when r > 0) from rng. */
static void fill(bm_tensor *t, bm_rng *rng, double r)
{
    for (size_t i = 0; i < t->size; i++)
        bm_tensor_set(t, i, r > 0 ? r * (2.0 * bm_rng_uniform(rng) - 1.0) : bm_rng_normal(rng));
}

/* One gradcheck case: dense(F,H) [+reg], hidden act, [dropout], dense(H,C)
 * [+reg], last layer, loss. */
typedef struct net_case {
    const char *name;
    bm_layer_kind hidden, last;
    bm_loss_kind loss;
    int onehot;  /* categorical targets one-hot [N,C] instead of indices [N] */
    double rate; /* > 0: dropout after the hidden activation */
    double reg;  /* > 0: L1 and L2 of this size on every weight and bias */
} net_case;

static const net_case CASES[] = {
    {"relu softmax cce", BM_LAYER_RELU, BM_LAYER_SOFTMAX, BM_LOSS_CCE, 0, 0, 0},
    {"sigmoid softmax cce onehot", BM_LAYER_SIGMOID, BM_LAYER_SOFTMAX, BM_LOSS_CCE, 1, 0, 0},
    {"tanh softmax softmax_cce", BM_LAYER_TANH, BM_LAYER_SOFTMAX, BM_LOSS_SOFTMAX_CCE, 0, 0, 0},
    {"linear logits softmax_cce onehot", BM_LAYER_IDENTITY, BM_LAYER_IDENTITY,
     BM_LOSS_SOFTMAX_CCE, 1, 0, 0},
    {"relu softmax_cce index", BM_LAYER_RELU, BM_LAYER_IDENTITY, BM_LOSS_SOFTMAX_CCE, 0, 0, 0},
    {"tanh sigmoid bce", BM_LAYER_TANH, BM_LAYER_SIGMOID, BM_LOSS_BCE, 0, 0, 0},
    {"relu linear mse", BM_LAYER_RELU, BM_LAYER_IDENTITY, BM_LOSS_MSE, 0, 0, 0},
    {"sigmoid tanh mse", BM_LAYER_SIGMOID, BM_LAYER_TANH, BM_LOSS_MSE, 0, 0, 0},
    {"tanh linear mae", BM_LAYER_TANH, BM_LAYER_IDENTITY, BM_LOSS_MAE, 0, 0, 0},
    {"relu softmax_cce l1 l2", BM_LAYER_RELU, BM_LAYER_IDENTITY, BM_LOSS_SOFTMAX_CCE, 0, 0, 1e-2},
    {"relu linear mse l1 l2", BM_LAYER_RELU, BM_LAYER_IDENTITY, BM_LOSS_MSE, 0, 0, 5e-3},
    {"relu dropout softmax_cce", BM_LAYER_RELU, BM_LAYER_IDENTITY, BM_LOSS_SOFTMAX_CCE, 0, 0.3, 0},
    {"tanh dropout sigmoid bce l1 l2", BM_LAYER_TANH, BM_LAYER_SIGMOID, BM_LOSS_BCE, 0, 0.25,
     1e-3},
};
enum { N_CASES = sizeof CASES / sizeof CASES[0] };

static int categorical(bm_loss_kind k) { return k == BM_LOSS_CCE || k == BM_LOSS_SOFTMAX_CCE; }

/* Build and initialise the F64 model of case c, with random biases. */
static bm_model *case_model(const net_case *c, bm_rng *rng)
{
    bm_error e = {0};
    bm_model *m = bm_model_new(BM_F64, F, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    bm_layer_spec d1 = dense(F, H, BM_INIT_GLOROT), d2 = dense(H, C, BM_INIT_GLOROT);
    d1.l1_weights = d1.l2_weights = d1.l1_biases = d1.l2_biases = c->reg;
    d2.l1_weights = d2.l2_weights = d2.l1_biases = d2.l2_biases = c->reg;
    add(m, d1);
    add(m, bm_activation_spec(c->hidden));
    if (c->rate > 0)
        add(m, bm_dropout_spec(c->rate));
    add(m, d2);
    add(m, bm_activation_spec(c->last));
    ck_ok(bm_model_set_loss(m, c->loss, &e), e);
    ck_ok(bm_model_init(m, SEED, &e), e);
    for (size_t i = 0; i < bm_model_n_layers(m); i++)
        if (bm_model_biases(m, i))
            fill(bm_model_biases(m, i), rng, BIAS_RANGE);
    return m;
}

/* Batch leaves x [N,F] and targets for case c on tape. */
static void case_batch(const net_case *c, bm_tape *tape, bm_rng *rng, bm_tensor **x,
                       bm_tensor **y)
{
    size_t xs[2] = {N, F}, ys[2] = {N, C};
    int idx = categorical(c->loss) && !c->onehot;
    *x = bm_tape_leaf(tape, BM_F64, 2, xs, 0);
    *y = bm_tape_leaf(tape, BM_F64, idx ? 1 : 2, ys, 0);
    ck_assert_msg(*x && *y, "%s", bm_tape_error(tape));
    fill(*x, rng, 0);
    for (size_t r = 0; r < N; r++) {
        size_t cls = (r * 3 + 1) % C;
        for (size_t j = 0; j < C && !idx; j++) {
            double v = categorical(c->loss) ? (double)(j == cls)
                       : c->loss == BM_LOSS_BCE ? (double)((r + j) % 2)
                                                : bm_rng_normal(rng);
            bm_tensor_set(*y, r * C + j, v);
        }
        if (idx)
            bm_tensor_set(*y, r, (double)cls);
    }
}

/* ------------------------------------------------- gradcheck per case */

START_TEST(gradcheck_layers_and_losses)
{
    const net_case *c = &CASES[_i];
    bm_rng rng;
    bm_rng_seed(&rng, 100 + (uint64_t)_i);
    bm_model *m = case_model(c, &rng);
    bm_tape *tape = bm_tape_new();
    bm_tensor *x, *y, *params[8];
    case_batch(c, tape, &rng, &x, &y);
    bm_step_losses L;
    bm_tensor *total = bm_model_record(m, tape, x, y, 1, &L);
    ck_assert_msg(total != NULL, "%s: %s", c->name, bm_tape_error(tape));
    ck_assert_ptr_eq(total, L.total);
    ck_assert_msg(isfinite(bm_tensor_get(total, 0)), "%s: loss not finite", c->name);
    ck_assert_msg((L.reg != NULL) == (c->reg > 0), "%s: reg term presence", c->name);
    if (c->rate > 0) {
        /* the hidden activations really are masked (some zeros, some scaled) */
        size_t dropped = 0;
        for (const bm_node *n = bm_tape_first(tape); n; n = bm_node_next(n))
            if (strcmp(bm_node_op_name(n), "dropout") == 0) {
                const bm_tensor *in = bm_node_input(n, 0), *out = bm_node_output(n);
                for (size_t i = 0; i < out->size; i++)
                    dropped += bm_tensor_get(out, i) == 0.0 && bm_tensor_get(in, i) != 0.0;
            }
        ck_assert_msg(dropped > 0 && dropped < (size_t)(N * H), "%s: %zu of %d dropped",
                      c->name, dropped, N * H);
    }
    size_t np = model_param_tensors(m, params, 8);
    ck_assert_uint_eq(np, 4);
    bm_gradcheck_result res;
    ck_assert_int_eq(bm_gradcheck(tape, total, params, np, NULL, &res), BM_OK);
    ck_assert_msg(res.passed, "%s: %s", c->name, res.message);
    ck_assert_msg(res.checked + res.skipped == bm_model_n_params(m), "%s: %zu + %zu of %zu",
                  c->name, res.checked, res.skipped, bm_model_n_params(m));
    ck_assert_msg(res.skipped <= 2, "%s: %zu kinks skipped", c->name, res.skipped);
    bm_tape_free(tape);
    bm_model_free(m);
}
END_TEST

START_TEST(gradcheck_small_init_f64)
{
    /* The walk-through's net (2-64-3, 0.01·randn, zero biases): gradients
     * are small but the check is relative, and nothing may be skipped but
     * ReLU kinks. */
    bm_error e = {0};
    bm_model *m = bm_model_new(BM_F64, 2, &e);
    add(m, bm_dense_spec(2, 64));
    add(m, bm_activation_spec(BM_LAYER_RELU));
    add(m, bm_dense_spec(64, 3));
    add(m, bm_activation_spec(BM_LAYER_SOFTMAX));
    ck_ok(bm_model_init(m, SEED, &e), e);
    bm_rng rng;
    bm_rng_seed(&rng, 3);
    bm_dataset d = {0};
    ck_ok(bm_data_spiral(&d, 4, 3, BM_F64, &rng, &e), e);
    bm_tape *tape = bm_tape_new();
    bm_tensor *out = bm_model_record(m, tape, d.x, d.y, 1, NULL), *params[4];
    ck_assert_msg(out != NULL, "%s", bm_tape_error(tape));
    size_t np = model_param_tensors(m, params, 4);
    bm_gradcheck_opts o = bm_gradcheck_defaults();
    o.atol = 1e-9; /* gradients are ~1e-3: absolute slack must be far below */
    bm_gradcheck_result res;
    ck_assert_int_eq(bm_gradcheck(tape, out, params, np, &o, &res), BM_OK);
    ck_assert_msg(res.passed, "%s", res.message);
    bm_tape_free(tape);
    bm_dataset_free(&d);
    bm_model_free(m);
}
END_TEST

START_TEST(fused_and_separate_softmax_cce_agree)
{
    /* softmax layer + cce and the fused softmax_cce give the same loss and
     * the same parameter gradients (the walk-through's claim, through the
     * model). */
    const net_case sep = {"sep", BM_LAYER_TANH, BM_LAYER_SOFTMAX, BM_LOSS_CCE, 0, 0, 0};
    const net_case fused = {"fused", BM_LAYER_TANH, BM_LAYER_SOFTMAX, BM_LOSS_SOFTMAX_CCE, 0, 0,
                            0};
    double loss[2], *grads[2];
    size_t n = 0;
    for (int k = 0; k < 2; k++) {
        bm_rng rng;
        bm_rng_seed(&rng, 11);
        bm_model *m = case_model(k ? &fused : &sep, &rng);
        bm_tape *tape = bm_tape_new();
        bm_tensor *x, *y;
        case_batch(k ? &fused : &sep, tape, &rng, &x, &y);
        bm_tensor *out = bm_model_record(m, tape, x, y, 1, NULL);
        ck_assert_msg(out != NULL, "%s", bm_tape_error(tape));
        ck_assert_int_eq(bm_tape_backward(tape, out, NULL), BM_OK);
        loss[k] = bm_tensor_get(out, 0);
        n = bm_model_n_params(m);
        grads[k] = malloc(n * sizeof(double));
        memcpy(grads[k], bm_model_grads(m), n * sizeof(double));
        bm_tape_free(tape);
        bm_model_free(m);
    }
    ck_near(loss[0], loss[1], 1e-12);
    for (size_t i = 0; i < n; i++)
        ck_near(grads[0][i], grads[1][i], 1e-12);
    free(grads[0]);
    free(grads[1]);
}
END_TEST

/* -------------------------------------------------- regularization */

START_TEST(reg_loss_equals_hand_sum)
{
    /* Different λ on each term of each layer; the reported reg loss is
     * Σ λ1w·Σ|W| + λ2w·ΣW² + λ1b·Σ|b| + λ2b·Σb², and total = data + reg. */
    static const double lam[2][4] = {{1e-3, 5e-4, 2e-3, 3e-4}, {0.0, 1e-2, 4e-3, 0.0}};
    bm_error e = {0};
    bm_model *m = bm_model_new(BM_F64, F, &e);
    for (int l = 0; l < 2; l++) {
        bm_layer_spec d = dense(l ? H : F, l ? C : H, BM_INIT_GLOROT);
        d.l1_weights = lam[l][0];
        d.l2_weights = lam[l][1];
        d.l1_biases = lam[l][2];
        d.l2_biases = lam[l][3];
        add(m, d);
        add(m, bm_activation_spec(l ? BM_LAYER_IDENTITY : BM_LAYER_RELU));
    }
    ck_ok(bm_model_set_loss(m, BM_LOSS_MSE, &e), e);
    ck_ok(bm_model_init(m, SEED, &e), e);
    bm_rng rng;
    bm_rng_seed(&rng, 5);
    double want = 0;
    for (int l = 0; l < 2; l++) {
        bm_tensor *W = bm_model_weights(m, 2 * (size_t)l), *b = bm_model_biases(m, 2 * (size_t)l);
        fill(b, &rng, BIAS_RANGE);
        for (size_t i = 0; i < W->size; i++) {
            double w = bm_tensor_get(W, i);
            want += lam[l][0] * fabs(w) + lam[l][1] * w * w;
        }
        for (size_t i = 0; i < b->size; i++) {
            double v = bm_tensor_get(b, i);
            want += lam[l][2] * fabs(v) + lam[l][3] * v * v;
        }
    }
    const net_case c = {"mse", BM_LAYER_RELU, BM_LAYER_IDENTITY, BM_LOSS_MSE, 0, 0, 0};
    bm_tape *tape = bm_tape_new();
    bm_tensor *x, *y;
    case_batch(&c, tape, &rng, &x, &y);
    bm_step_losses L;
    ck_assert_ptr_nonnull(bm_model_record(m, tape, x, y, 1, &L));
    ck_assert_ptr_nonnull(L.reg);
    ck_near(bm_tensor_get(L.reg, 0), want, 1e-14);
    ck_assert_double_gt(want, 0.0);
    ck_near(bm_tensor_get(L.total, 0), bm_tensor_get(L.data, 0) + bm_tensor_get(L.reg, 0),
            1e-15);
    /* no regularization: no reg tensor, total is the data loss */
    bm_model *m0 = bm_model_new(BM_F64, F, &e);
    add(m0, dense(F, C, BM_INIT_GLOROT));
    ck_ok(bm_model_set_loss(m0, BM_LOSS_MSE, &e), e);
    ck_ok(bm_model_init(m0, SEED, &e), e);
    bm_tape_reset(tape);
    case_batch(&c, tape, &rng, &x, &y);
    ck_assert_ptr_nonnull(bm_model_record(m0, tape, x, y, 1, &L));
    ck_assert_ptr_null(L.reg);
    ck_assert_ptr_eq(L.total, L.data);
    bm_tape_free(tape);
    bm_model_free(m0);
    bm_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ dropout */

/* Model dense(K,K) with W = I, b = 0, then dropout(rate): its output is
 * dropout(x) exactly. Loss mse so predictions are the raw output. */
static bm_model *identity_dropout_model(size_t K, double rate)
{
    bm_error e = {0};
    bm_model *m = bm_model_new(BM_F64, K, &e);
    add(m, bm_dense_spec(K, K));
    add(m, bm_dropout_spec(rate));
    ck_ok(bm_model_set_loss(m, BM_LOSS_MSE, &e), e);
    ck_ok(bm_model_init(m, SEED, &e), e);
    bm_tensor *W = bm_model_weights(m, 0);
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++)
            bm_tensor_set(W, i * K + j, i == j);
    return m;
}

START_TEST(dropout_statistics)
{
    bm_model *m = identity_dropout_model(DROP_COLS, DROP_RATE);
    bm_tape *tape = bm_tape_new();
    size_t xs[2] = {DROP_ROWS, DROP_COLS};
    bm_tensor *x = bm_tape_leaf(tape, BM_F64, 2, xs, 0);
    bm_rng rng;
    bm_rng_seed(&rng, 9);
    fill(x, &rng, 0);
    bm_step_losses L;
    ck_assert_ptr_nonnull(bm_model_record(m, tape, x, NULL, 1, &L));
    const bm_tensor *out = L.output;
    const double keep = 1.0 / (1.0 - DROP_RATE);
    for (int pass = 0; pass < 2; pass++) {
        size_t zeroed = 0;
        for (size_t i = 0; i < out->size; i++) {
            double o = bm_tensor_get(out, i), xi = bm_tensor_get(x, i);
            if (o == 0.0) {
                zeroed++;
            } else {
                ck_assert_msg(o == xi * keep, "element %zu: %.17g, want %.17g·%.17g", i, o, xi,
                              keep);
            }
        }
        double frac = (double)zeroed / (double)out->size;
        ck_assert_msg(fabs(frac - DROP_RATE) <= DROP_FRAC_TOL, "pass %d: %.4f zeroed", pass,
                      frac);
        /* a replay draws a fresh mask with the same statistics */
        ck_assert_int_eq(bm_tape_forward(tape), BM_OK);
    }
    bm_tape_free(tape);
    bm_model_free(m);
}
END_TEST

START_TEST(dropout_op_exact_scale_f32)
{
    /* In F32 the survivors are x·(float)(1/(1−rate)). */
    bm_tape *tape = bm_tape_new();
    size_t n = DROP_ROWS * DROP_COLS;
    bm_tensor *x = bm_tape_leaf(tape, BM_F32, 1, &n, 0);
    bm_rng rng, drng;
    bm_rng_seed(&rng, 1);
    bm_rng_seed(&drng, 2);
    fill(x, &rng, 0);
    bm_tensor *y = bm_dropout(tape, x, DROP_RATE, &drng);
    ck_assert_ptr_nonnull(y);
    const float *X = x->data, *Y = y->data, keep = (float)(1.0 / (1.0 - DROP_RATE));
    size_t zeroed = 0;
    for (size_t i = 0; i < n; i++) {
        if (Y[i] == 0.0f)
            zeroed++;
        else
            ck_assert_msg(Y[i] == X[i] * keep, "element %zu", i);
    }
    ck_near((double)zeroed / (double)n, DROP_RATE, DROP_FRAC_TOL);
    bm_tape_free(tape);
}
END_TEST

START_TEST(dropout_identity_in_evaluation)
{
    enum { K = 8, R = 50 };
    bm_model *m = identity_dropout_model(K, 0.5);
    bm_rng rng;
    bm_rng_seed(&rng, 4);
    size_t xs[2] = {R, K};
    bm_error e = {0};
    bm_dataset d = {0};
    d.x = bm_tensor_randn(BM_F64, 2, xs, 0, 1, &rng, &e);
    d.y = bm_tensor_randn(BM_F64, 2, xs, 0, 1, &rng, &e);
    ck_assert(d.x && d.y);
    bm_tensor *p1 = NULL, *p2 = NULL;
    ck_ok(bm_model_predict(m, d.x, &p1, &e), e);
    ck_ok(bm_model_predict(m, d.x, &p2, &e), e);
    ck_assert_int_eq(memcmp(p1->data, p2->data, p1->size * sizeof(double)), 0);
    /* and the prediction is x itself: no mask, no scaling */
    ck_assert_int_eq(memcmp(p1->data, d.x->data, p1->size * sizeof(double)), 0);
    double l1, a1, l2, a2, want = 0;
    ck_ok(bm_model_evaluate(m, &d, &l1, &a1, &e), e);
    ck_ok(bm_model_evaluate(m, &d, &l2, &a2, &e), e);
    ck_assert(l1 == l2 && a1 == a2);
    for (size_t i = 0; i < d.x->size; i++) {
        double dd = bm_tensor_get(d.x, i) - bm_tensor_get(d.y, i);
        want += dd * dd;
    }
    ck_near(l1, want / (double)d.x->size, 1e-12);
    bm_tensor_free(p1);
    bm_tensor_free(p2);
    bm_dataset_free(&d);
    bm_model_free(m);
}
END_TEST

/* ------------------------------------------------------- initialisers */

/* Mean and population std of t. */
static void moments(const bm_tensor *t, double *mean, double *std)
{
    double s = 0, q = 0;
    for (size_t i = 0; i < t->size; i++)
        s += bm_tensor_get(t, i);
    *mean = s / (double)t->size;
    for (size_t i = 0; i < t->size; i++) {
        double d = bm_tensor_get(t, i) - *mean;
        q += d * d;
    }
    *std = sqrt(q / (double)t->size);
}

/* A model of one dense(in,out) layer with initialiser init. */
static bm_model *one_dense(bm_dtype dt, size_t in, size_t out, bm_init init, uint64_t seed)
{
    bm_error e = {0};
    bm_model *m = bm_model_new(dt, in, &e);
    add(m, dense(in, out, init));
    ck_ok(bm_model_init(m, seed, &e), e);
    return m;
}

START_TEST(initialisers)
{
    enum { IN = 200, OUT = 300 };
    for (int dt = BM_F32; dt <= BM_F64; dt++) {
        double mean, std;
        bm_model *m = one_dense((bm_dtype)dt, IN, OUT, BM_INIT_SMALL, 1);
        moments(bm_model_weights(m, 0), &mean, &std);
        ck_near(std, BM_INIT_SMALL_STD, 0.02 * BM_INIT_SMALL_STD);
        ck_near(mean, 0.0, 0.02 * BM_INIT_SMALL_STD);
        bm_model_free(m);

        m = one_dense((bm_dtype)dt, IN, OUT, BM_INIT_GLOROT, 1);
        const bm_tensor *W = bm_model_weights(m, 0);
        double lim = sqrt(6.0 / (IN + OUT)), lo = 0, hi = 0;
        for (size_t i = 0; i < W->size; i++) {
            double w = bm_tensor_get(W, i);
            ck_assert_msg(fabs(w) <= lim, "glorot w[%zu] = %g outside ±%g", i, w, lim);
            lo = fmin(lo, w);
            hi = fmax(hi, w);
        }
        ck_assert_double_lt(lo, -0.99 * lim); /* the whole range is used */
        ck_assert_double_gt(hi, 0.99 * lim);
        moments(W, &mean, &std);
        ck_near(std, lim / sqrt(3.0), 0.02 * lim); /* U(±a) has std a/√3 */
        bm_model_free(m);

        m = one_dense((bm_dtype)dt, IN, OUT, BM_INIT_HE, 1);
        moments(bm_model_weights(m, 0), &mean, &std);
        ck_near(std, sqrt(2.0 / IN), 0.02 * sqrt(2.0 / IN));
        ck_near(mean, 0.0, 0.02 * sqrt(2.0 / IN));
        const bm_tensor *b = bm_model_biases(m, 0);
        ck_assert_uint_eq(b->size, OUT);
        for (size_t i = 0; i < b->size; i++)
            ck_assert_double_eq(bm_tensor_get(b, i), 0.0);
        bm_model_free(m);
    }
}
END_TEST

START_TEST(init_deterministic_per_seed)
{
    for (int init = BM_INIT_SMALL; init <= BM_INIT_HE; init++) {
        bm_model *a = one_dense(BM_F32, 10, 20, (bm_init)init, 42);
        bm_model *b = one_dense(BM_F32, 10, 20, (bm_init)init, 42);
        bm_model *c = one_dense(BM_F32, 10, 20, (bm_init)init, 43);
        size_t bytes = bm_model_n_params(a) * sizeof(float);
        ck_assert_uint_eq(bm_model_n_params(a), 10 * 20 + 20);
        ck_assert_int_eq(memcmp(bm_model_params(a), bm_model_params(b), bytes), 0);
        ck_assert_int_ne(memcmp(bm_model_params(a), bm_model_params(c), bytes), 0);
        bm_model_free(a);
        bm_model_free(b);
        bm_model_free(c);
    }
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("nn");
    TCase *grad = tcase_create("gradcheck");
    tcase_add_loop_test(grad, gradcheck_layers_and_losses, 0, N_CASES);
    tcase_add_test(grad, gradcheck_small_init_f64);
    tcase_add_test(grad, fused_and_separate_softmax_cce_agree);
    tcase_add_test(grad, reg_loss_equals_hand_sum);
    suite_add_tcase(s, grad);

    TCase *drop = tcase_create("dropout");
    tcase_add_test(drop, dropout_statistics);
    tcase_add_test(drop, dropout_op_exact_scale_f32);
    tcase_add_test(drop, dropout_identity_in_evaluation);
    suite_add_tcase(s, drop);

    TCase *init = tcase_create("init");
    tcase_add_test(init, initialisers);
    tcase_add_test(init, init_deterministic_per_seed);
    suite_add_tcase(s, init);

    return s;
}

int main(void) { return bm_test_run(make_suite()); }
