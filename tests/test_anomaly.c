/* test_anomaly.c — anomaly detection (bm_tape_set_detect_anomaly): the first
 * NaN/Inf of a forward (recording and replay) or a backward stops the tape
 * with a message naming the op, its position, the element and the inputs'
 * ranges; off, NaNs propagate silently. And training: fit with
 * detect_anomaly names the op, fit without it stops on a NaN/Inf loss or
 * update with the parameters of the last finite step, and a checkpoint
 * taken in the fit callback resumes exactly. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define ck_ok(s, err) ck_assert_msg((s) == BM_OK, "%s: %s", #s, (err).msg)

/* A tape leaf of dtype dt holding v (n values). */
static bm_tensor *leaf(bm_tape *t, bm_dtype dt, int rank, const size_t *shape, const double *v,
                       unsigned fl)
{
    bm_tensor *x = bm_tape_leaf(t, dt, rank, shape, fl);
    ck_assert_msg(x != NULL, "%s", bm_tape_error(t));
    ck_assert_int_eq(bm_tensor_load(x, v, x->size, NULL), BM_OK);
    return x;
}

/* The tape failed with BM_ERR_NUMERIC and exactly this message. */
static void expect_msg(const bm_tape *t, const char *want)
{
    ck_assert_msg(bm_tape_status(t) == BM_ERR_NUMERIC, "status %s: '%s'",
                  bm_status_name(bm_tape_status(t)), bm_tape_error(t));
    ck_assert_str_eq(bm_tape_error(t), want);
}

/* The tape failed with BM_ERR_NUMERIC and the message has every part. */
static void expect_parts(const bm_tape *t, const char *const *parts, size_t n)
{
    ck_assert_msg(bm_tape_status(t) == BM_ERR_NUMERIC, "status %s: '%s'",
                  bm_status_name(bm_tape_status(t)), bm_tape_error(t));
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(strstr(bm_tape_error(t), parts[i]), "message '%s' lacks '%s'",
                      bm_tape_error(t), parts[i]);
}

static int all_finite(const bm_tensor *t, int grad)
{
    for (size_t i = 0; i < t->size; i++)
        if (!isfinite(grad ? bm_tensor_grad_get(t, i) : bm_tensor_get(t, i)))
            return 0;
    return 1;
}

/* ----------------------------------------------------------- the switch */

START_TEST(off_by_default_and_returns_old)
{
    bm_tape *t = bm_tape_new();
    ck_assert_int_eq(bm_tape_detect_anomaly(t), 0);
    ck_assert_int_eq(bm_tape_set_detect_anomaly(t, 5), 0);
    ck_assert_int_eq(bm_tape_detect_anomaly(t), 1);
    ck_assert_int_eq(bm_tape_set_detect_anomaly(t, 1), 1);
    ck_assert_int_eq(bm_tape_set_detect_anomaly(t, 0), 1);
    ck_assert_int_eq(bm_tape_detect_anomaly(t), 0);
    bm_tape_set_detect_anomaly(t, 1);
    bm_tape_reset(t); /* reset clears the error, not the mode */
    ck_assert_int_eq(bm_tape_detect_anomaly(t), 1);
    ck_assert_int_eq(bm_tape_set_detect_anomaly(NULL, 1), 0);
    ck_assert_int_eq(bm_tape_detect_anomaly(NULL), 0);
    bm_tape_free(t);
}
END_TEST

START_TEST(off_nan_propagates)
{
    /* Without the mode: log(-1) is NaN, nothing fails, backward spreads it. */
    bm_tape *t = bm_tape_new();
    const double v[3] = {1, -1, 0};
    bm_tensor *x = leaf(t, BM_F64, 1, (size_t[]){3}, v, BM_REQUIRES_GRAD);
    bm_tensor *y = bm_log(t, x);
    bm_tensor *s = bm_sum(t, y, BM_AXIS_ALL, 0);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(bm_tape_status(t), BM_OK);
    ck_assert(isnan(bm_tensor_get(s, 0)));
    ck_assert_int_eq(bm_tape_backward(t, s, NULL), BM_OK);
    ck_assert(isinf(bm_tensor_grad_get(x, 2))); /* d log(x)/dx at 0 */
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    ck_assert(isnan(bm_tensor_get(s, 0)));
    bm_tape_free(t);
}
END_TEST

/* ------------------------------------------------------------- forward */

START_TEST(forward_log_of_zero_and_negative)
{
    bm_tape *t = bm_tape_new();
    bm_tape_set_detect_anomaly(t, 1);
    /* index 3 is 0 (log -> -inf), index 5 is -0.5 (log -> nan): 3 comes first */
    const double v[12] = {1, 2, 0.5, 0, 1, -0.5, 1, 1, 1, 1, 1, 1};
    bm_tensor *x = leaf(t, BM_F64, 2, (size_t[]){4, 3}, v, BM_REQUIRES_GRAD);
    bm_tensor *a = bm_scale(t, x, 1.0); /* node 0 */
    bm_tensor *b = bm_add_scalar(t, a, 0.0); /* node 1 */
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_null(bm_log(t, b)); /* node 2 */
    expect_msg(t, "anomaly: forward of node 2 (log): output[3] = -inf; inputs: [4,3] in [-0.5, 2]");
    ck_assert_uint_eq(bm_tape_size(t), 2); /* the failing op is not recorded */
    ck_assert_ptr_null(bm_exp(t, b)); /* sticky */
    ck_assert_int_eq(bm_tape_forward(t), BM_ERR_NUMERIC);

    /* the same with only the negative value: NaN */
    bm_tape_reset(t);
    const double w[3] = {2, -0.5, 4};
    x = leaf(t, BM_F64, 1, (size_t[]){3}, w, 0);
    ck_assert_ptr_null(bm_log(t, x));
    expect_msg(t, "anomaly: forward of node 0 (log): output[1] = nan; inputs: [3] in [-0.5, 4]");
    bm_tape_free(t);
}
END_TEST

START_TEST(forward_division_by_zero)
{
    bm_tape *t = bm_tape_new();
    bm_tape_set_detect_anomaly(t, 1);
    const double av[4] = {1, 2, 3, 4}, bv[2] = {0.5, 0};
    bm_tensor *a = leaf(t, BM_F32, 2, (size_t[]){2, 2}, av, BM_REQUIRES_GRAD);
    bm_tensor *b = leaf(t, BM_F32, 1, (size_t[]){2}, bv, 0);
    ck_assert_ptr_null(bm_div(t, a, b)); /* broadcast: column 1 divides by 0 */
    expect_msg(t, "anomaly: forward of node 0 (div): output[1] = inf; inputs: [2,2] in [1, 4], "
                  "[2] in [0, 0.5]");
    bm_tape_free(t);
}
END_TEST

START_TEST(forward_exp_overflow)
{
    for (int dt = BM_F32; dt <= BM_F64; dt++) {
        bm_tape *t = bm_tape_new();
        bm_tape_set_detect_anomaly(t, 1);
        /* e^100 overflows f32 (max ~3.4e38), e^1000 overflows f64 */
        const double v[4] = {0, 1, dt == BM_F32 ? 100 : 1000, -3};
        bm_tensor *x = leaf(t, (bm_dtype)dt, 2, (size_t[]){2, 2}, v, BM_REQUIRES_GRAD);
        bm_tensor *h = bm_tanh(t, x);
        bm_tensor *y = bm_exp(t, x);
        ck_assert_ptr_nonnull(h);
        ck_assert_ptr_null(y);
        const char *parts[] = {
            "anomaly: forward of node 1 (exp): output[2] = inf; inputs: [2,2] in [-3, ",
            dt == BM_F32 ? "100]" : "1000]"};
        expect_parts(t, parts, 2);
        bm_tape_free(t);
    }
}
END_TEST

START_TEST(forward_in_no_grad_mode)
{
    bm_tape *t = bm_tape_new();
    bm_tape_set_detect_anomaly(t, 1);
    bm_tape_set_grad_enabled(t, 0);
    const double v[2] = {1, 0};
    bm_tensor *x = leaf(t, BM_F64, 1, (size_t[]){2}, v, 0);
    ck_assert_ptr_null(bm_div(t, x, x)); /* 0/0 */
    expect_msg(t, "anomaly: forward of node 0 (div): output[1] = nan; inputs: [2] in [0, 1], "
                  "[2] in [0, 1]");
    bm_tape_free(t);
}
END_TEST

START_TEST(forward_replay)
{
    /* Recorded with good data; replayed on data that makes log(0). */
    bm_tape *t = bm_tape_new();
    bm_tape_set_detect_anomaly(t, 1);
    const double v[4] = {1, 2, 3, 4};
    bm_tensor *x = leaf(t, BM_F64, 2, (size_t[]){2, 2}, v, 0);
    bm_tensor *w = leaf(t, BM_F64, 2, (size_t[]){2, 2}, v, BM_REQUIRES_GRAD);
    bm_tensor *p = bm_mul(t, x, w);
    bm_tensor *l = bm_log(t, p);
    bm_tensor *s = bm_sum(t, l, BM_AXIS_ALL, 0);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    ck_assert_int_eq(bm_tape_backward(t, s, NULL), BM_OK);
    bm_tensor_set(x, 2, 0.0);
    ck_assert_int_eq(bm_tape_forward(t), BM_ERR_NUMERIC);
    expect_msg(t, "anomaly: forward of node 1 (log): output[2] = -inf; inputs: [2,2] in [0, 16]");
    ck_assert_int_eq(bm_tape_backward(t, s, NULL), BM_ERR_NUMERIC); /* sticky */

    /* off: the same replay succeeds and yields -inf */
    bm_tape_clear_error(t);
    bm_tape_set_detect_anomaly(t, 0);
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    ck_assert(isinf(bm_tensor_get(s, 0)));
    bm_tape_free(t);
}
END_TEST

/* ------------------------------------------------------------ backward */

START_TEST(backward_sqrt_at_zero)
{
    /* sqrt(0) = 0 is finite; its gradient 1/(2·0) is not. */
    bm_tape *t = bm_tape_new();
    bm_tape_set_detect_anomaly(t, 1);
    const double v[3] = {0, 1, 4};
    bm_tensor *x = leaf(t, BM_F64, 1, (size_t[]){3}, v, BM_REQUIRES_GRAD);
    bm_tensor *y = bm_sqrt(t, x);
    bm_tensor *s = bm_sum(t, y, BM_AXIS_ALL, 0);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(bm_tape_status(t), BM_OK);
    ck_assert_int_eq(bm_tape_backward(t, s, NULL), BM_ERR_NUMERIC);
    expect_msg(t, "anomaly: backward of node 0 (sqrt): gradient of input 0[0] = inf; inputs: "
                  "[3] in [0, 4]; output gradient [3] in [1, 1]");
    bm_tape_free(t);
}
END_TEST

START_TEST(backward_second_input_overflow)
{
    /* f32 a·b = 1e30·1e-30 = 1 is fine; dB = G·a = 1e10·1e30 overflows. */
    bm_tape *t = bm_tape_new();
    bm_tape_set_detect_anomaly(t, 1);
    const double av[1] = {1e30}, bv[1] = {1e-30}, gv[1] = {1e10};
    bm_tensor *a = leaf(t, BM_F32, 1, (size_t[]){1}, av, BM_REQUIRES_GRAD);
    bm_tensor *b = leaf(t, BM_F32, 1, (size_t[]){1}, bv, BM_REQUIRES_GRAD);
    bm_tensor *y = bm_mul(t, a, b);
    bm_tensor *seed = bm_tape_leaf(t, BM_F32, 1, (size_t[]){1}, 0);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(bm_tensor_load(seed, gv, 1, NULL), BM_OK);
    ck_assert_int_eq(bm_tape_backward(t, y, seed), BM_ERR_NUMERIC);
    const char *parts[] = {"anomaly: backward of node 0 (mul): gradient of input 1[0] = inf; ",
                           "output gradient [1] in [1e+10, 1e+10]"};
    expect_parts(t, parts, 2);
    ck_assert(all_finite(a, 1));
    bm_tape_free(t);
}
END_TEST

START_TEST(backward_seed_with_nan)
{
    bm_tape *t = bm_tape_new();
    bm_tape_set_detect_anomaly(t, 1);
    const double v[3] = {1, 2, 3}, sv[3] = {1, NAN, 1};
    bm_tensor *x = leaf(t, BM_F64, 1, (size_t[]){3}, v, BM_REQUIRES_GRAD);
    bm_tensor *y = bm_scale(t, x, 2.0);
    bm_tensor *seed = bm_tensor_from(BM_F64, 1, (size_t[]){3}, sv, NULL);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(bm_tape_backward(t, y, seed), BM_ERR_NUMERIC);
    expect_msg(t, "anomaly: backward seed[1] = nan for the output [3] of node 0 (scale)");
    ck_assert(all_finite(x, 1)); /* nothing was added to the leaf's gradient */

    /* off: the NaN reaches the leaf */
    bm_tape_clear_error(t);
    bm_tape_set_detect_anomaly(t, 0);
    ck_assert_int_eq(bm_tape_backward(t, y, seed), BM_OK);
    ck_assert(isnan(bm_tensor_grad_get(x, 1)));
    bm_tensor_free(seed);
    bm_tape_free(t);
}
END_TEST

START_TEST(backward_good_graph_passes)
{
    /* A finite graph passes every check, and gives the same gradient. */
    double g[2][3];
    for (int on = 0; on < 2; on++) {
        bm_tape *t = bm_tape_new();
        bm_tape_set_detect_anomaly(t, on);
        const double v[3] = {0.5, 1, 4};
        bm_tensor *x = leaf(t, BM_F64, 1, (size_t[]){3}, v, BM_REQUIRES_GRAD);
        bm_tensor *s = bm_sum(t, bm_mul(t, bm_log(t, x), bm_sqrt(t, x)), BM_AXIS_ALL, 0);
        ck_assert_ptr_nonnull(s);
        ck_assert_int_eq(bm_tape_backward(t, s, NULL), BM_OK);
        ck_assert_int_eq(bm_tape_forward(t), BM_OK);
        for (int i = 0; i < 3; i++)
            g[on][i] = bm_tensor_grad_get(x, (size_t)i);
        bm_tape_free(t);
    }
    ck_assert_mem_eq(g[0], g[1], sizeof g[0]);
}
END_TEST

/* -------------------------------------------------------------- training */

enum { SPIRAL_SAMPLES = 100, SPIRAL_CLASSES = 3, HIDDEN = 16, DIVERGE_EPOCHS = 200 };
/* Plain SGD at this rate diverges on the spiral with MSE within a few epochs. */
#define DIVERGE_LR 1e3
/* This rate (inf once rounded to f32) overflows the first update. */
#define OVERFLOW_LR 1e300

static void spiral(bm_dataset *d)
{
    bm_error e = {0};
    bm_rng rng;
    bm_rng_seed(&rng, 1);
    ck_ok(bm_data_spiral(d, SPIRAL_SAMPLES, SPIRAL_CLASSES, BM_F32, &rng, &e), e);
}

static void add(bm_model *m, bm_layer_spec s)
{
    bm_error e = {0};
    ck_ok(bm_model_add(m, &s, &e), e);
}

/* 2-16-1 ReLU regression of the class numbers: MSE, SGD at lr. */
static bm_model *mse_model(double lr)
{
    bm_error e = {0};
    bm_model *m = bm_model_new(BM_F32, 2, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    bm_layer_spec d1 = bm_dense_spec(2, HIDDEN), d2 = bm_dense_spec(HIDDEN, 1);
    d1.init = d2.init = BM_INIT_GLOROT;
    add(m, d1);
    add(m, bm_activation_spec(BM_LAYER_RELU));
    add(m, d2);
    ck_ok(bm_model_set_loss(m, BM_LOSS_MSE, &e), e);
    bm_optim_config c = bm_optim_defaults(BM_OPT_SGD);
    c.lr = lr;
    ck_ok(bm_model_set_optimizer(m, &c, &e), e);
    ck_ok(bm_model_init(m, 1, &e), e);
    return m;
}

static size_t param_bytes(bm_model *m)
{
    return bm_model_n_params(m) * bm_dtype_size(bm_model_dtype(m));
}

static int params_finite(bm_model *m)
{
    const float *p = bm_model_params(m);
    for (size_t i = 0; i < bm_model_n_params(m); i++)
        if (!isfinite(p[i]))
            return 0;
    return 1;
}

START_TEST(fit_detect_anomaly_names_the_op)
{
    bm_dataset d = {0};
    spiral(&d);
    bm_model *m = mse_model(DIVERGE_LR);
    bm_fit_opts o = bm_fit_defaults();
    o.epochs = DIVERGE_EPOCHS;
    o.detect_anomaly = 1;
    bm_error e = {0};
    ck_assert_int_eq(bm_model_fit(m, &d, &o, &e), BM_ERR_NUMERIC);
    ck_assert_msg(strncmp(e.msg, "epoch ", 6) == 0, "%s", e.msg);
    ck_assert_msg(strstr(e.msg, ": anomaly: forward of node "), "%s", e.msg);
    ck_assert_msg(strstr(e.msg, "= inf") || strstr(e.msg, "= -inf") || strstr(e.msg, "= nan"),
                  "%s", e.msg);
    ck_assert_msg(strstr(e.msg, "; inputs: ["), "%s", e.msg);
    /* the op named is one of the graph's */
    const char *ops[] = {"(linear)", "(matmul)", "(add)", "(relu)", "(mse)"};
    int named = 0;
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        named |= strstr(e.msg, ops[i]) != NULL;
    ck_assert_msg(named, "no op named in '%s'", e.msg);
    ck_assert_uint_lt(bm_model_epoch(m), DIVERGE_EPOCHS);
    ck_assert(params_finite(m));
    bm_model_free(m);
    bm_dataset_free(&d);
}
END_TEST

START_TEST(fit_without_detection_stops_at_the_epoch)
{
    bm_dataset d = {0};
    spiral(&d);
    bm_model *m = mse_model(DIVERGE_LR);
    bm_fit_opts o = bm_fit_defaults();
    o.epochs = DIVERGE_EPOCHS;
    bm_error e = {0};
    ck_assert_int_eq(bm_model_fit(m, &d, &o, &e), BM_ERR_NUMERIC);
    uint64_t bad = bm_model_epoch(m);
    ck_assert_uint_gt(bad, 0);
    ck_assert_uint_lt(bad, DIVERGE_EPOCHS);
    char want[64];
    snprintf(want, sizeof want, "epoch %llu: loss is ", (unsigned long long)bad);
    ck_assert_msg(strncmp(e.msg, want, strlen(want)) == 0, "'%s' does not start '%s'", e.msg,
                  want);
    ck_assert_msg(strstr(e.msg, "parameters are from the last finite step"), "%s", e.msg);
    ck_assert(params_finite(m));
    /* Full batch: one step per epoch, so the parameters are exactly those
     * of `bad` completed epochs (the failing epoch took no step). */
    bm_model *ref = mse_model(DIVERGE_LR);
    o.epochs = bad;
    ck_ok(bm_model_fit(ref, &d, &o, &e), e);
    ck_assert_mem_eq(bm_model_params(m), bm_model_params(ref), param_bytes(m));
    bm_model_free(ref);
    bm_model_free(m);
    bm_dataset_free(&d);
}
END_TEST

START_TEST(fit_restores_after_an_overflowing_update)
{
    /* The first update makes the weights Inf: full batch, the epoch's end
     * finds it; mini-batches, the next loss does. Either way the
     * parameters are restored to the start of epoch 0 (the initial ones). */
    const size_t batches[2] = {0, SPIRAL_SAMPLES};
    const char *what[2] = {"epoch 0: an update made parameter ", "epoch 0: loss is "};
    bm_dataset d = {0};
    spiral(&d);
    for (int k = 0; k < 2; k++) {
        bm_model *m = mse_model(OVERFLOW_LR);
        size_t bytes = param_bytes(m);
        void *before = malloc(bytes);
        memcpy(before, bm_model_params(m), bytes);
        bm_fit_opts o = bm_fit_defaults();
        o.epochs = DIVERGE_EPOCHS;
        o.batch_size = batches[k];
        bm_error e = {0};
        ck_assert_int_eq(bm_model_fit(m, &d, &o, &e), BM_ERR_NUMERIC);
        ck_assert_msg(strncmp(e.msg, what[k], strlen(what[k])) == 0, "'%s' lacks '%s'", e.msg,
                      what[k]);
        ck_assert_msg(strstr(e.msg, "parameters are restored to the start of the epoch"), "%s",
                      e.msg);
        ck_assert_uint_eq(bm_model_epoch(m), 0);
        ck_assert_mem_eq(bm_model_params(m), before, bytes);
        free(before);
        bm_model_free(m);
    }
    bm_dataset_free(&d);
}
END_TEST

START_TEST(fit_refuses_nan_parameters)
{
    bm_dataset d = {0};
    spiral(&d);
    bm_model *m = mse_model(DIVERGE_LR);
    ((float *)bm_model_params(m))[3] = NAN;
    bm_fit_opts o = bm_fit_defaults();
    bm_error e = {0};
    ck_assert_int_eq(bm_model_fit(m, &d, &o, &e), BM_ERR_NUMERIC);
    ck_assert_str_eq(e.msg, "bm_model_fit: parameter 3 is nan before training");
    bm_model_free(m);
    bm_dataset_free(&d);
}
END_TEST

/* A checkpoint taken from the fit callback after `at` completed epochs. */
typedef struct ckpt_cb {
    bm_model *m;
    uint64_t at;
    char *json;
    uint64_t bad_epochs; /* callbacks where bm_model_epoch != s->epoch + 1 */
} ckpt_cb;

static int take_checkpoint(void *ud, const bm_epoch_stats *s)
{
    ckpt_cb *c = ud;
    c->bad_epochs += bm_model_epoch(c->m) != s->epoch + 1;
    if (bm_model_epoch(c->m) == c->at) {
        bm_error e = {0};
        c->json = bm_model_to_json(c->m, NULL, &e);
        ck_assert_msg(c->json != NULL, "%s", e.msg);
    }
    return 0;
}

enum { CKPT_EPOCHS = 30, CKPT_AT = 11, CKPT_BATCH = 64 };

/* 2-16-3 with dropout, Adam, softmax CCE: RNG, optimizer state, epochs. */
static bm_model *dropout_model(void)
{
    bm_error e = {0};
    bm_model *m = bm_model_new(BM_F32, 2, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    add(m, bm_dense_spec(2, HIDDEN));
    add(m, bm_activation_spec(BM_LAYER_RELU));
    add(m, bm_dropout_spec(0.1));
    add(m, bm_dense_spec(HIDDEN, SPIRAL_CLASSES));
    ck_ok(bm_model_set_loss(m, BM_LOSS_SOFTMAX_CCE, &e), e);
    bm_optim_config c = bm_optim_defaults(BM_OPT_ADAM);
    c.lr = 0.02;
    ck_ok(bm_model_set_optimizer(m, &c, &e), e);
    ck_ok(bm_model_init(m, 2, &e), e);
    return m;
}

START_TEST(callback_checkpoint_resumes_exactly)
{
    bm_dataset d = {0};
    spiral(&d);
    bm_error e = {0};
    bm_model *m = dropout_model();
    ckpt_cb c = {m, CKPT_AT, NULL, 0};
    bm_fit_opts o = bm_fit_defaults();
    o.epochs = CKPT_EPOCHS;
    o.batch_size = CKPT_BATCH;
    o.shuffle = 1;
    o.callback = take_checkpoint;
    o.callback_ud = &c;
    ck_ok(bm_model_fit(m, &d, &o, &e), e);
    ck_assert_uint_eq(c.bad_epochs, 0);
    ck_assert_ptr_nonnull(c.json);
    bm_model *r = bm_model_from_json(c.json, strlen(c.json), "callback", NULL, &e);
    ck_assert_msg(r != NULL, "%s", e.msg);
    ck_assert_uint_eq(bm_model_epoch(r), CKPT_AT);
    o.epochs = CKPT_EPOCHS - CKPT_AT;
    o.callback = NULL;
    ck_ok(bm_model_fit(r, &d, &o, &e), e);
    ck_assert_uint_eq(bm_model_epoch(r), CKPT_EPOCHS);
    ck_assert_mem_eq(bm_model_params(r), bm_model_params(m), param_bytes(m));
    free(c.json);
    bm_model_free(r);
    bm_model_free(m);
    bm_dataset_free(&d);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("anomaly");
    TCase *engine = tcase_create("engine");
    tcase_add_test(engine, off_by_default_and_returns_old);
    tcase_add_test(engine, off_nan_propagates);
    tcase_add_test(engine, forward_log_of_zero_and_negative);
    tcase_add_test(engine, forward_division_by_zero);
    tcase_add_test(engine, forward_exp_overflow);
    tcase_add_test(engine, forward_in_no_grad_mode);
    tcase_add_test(engine, forward_replay);
    tcase_add_test(engine, backward_sqrt_at_zero);
    tcase_add_test(engine, backward_second_input_overflow);
    tcase_add_test(engine, backward_seed_with_nan);
    tcase_add_test(engine, backward_good_graph_passes);
    suite_add_tcase(s, engine);
    TCase *fit = tcase_create("fit");
    tcase_add_test(fit, fit_detect_anomaly_names_the_op);
    tcase_add_test(fit, fit_without_detection_stops_at_the_epoch);
    tcase_add_test(fit, fit_restores_after_an_overflowing_update);
    tcase_add_test(fit, fit_refuses_nan_parameters);
    tcase_add_test(fit, callback_checkpoint_resumes_exactly);
    suite_add_tcase(s, fit);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
