/* test_train.c — training runs that reproduce the walk-through: Adam on
 * the spiral, SGD with momentum against plain SGD, L2, sine regression,
 * binary cross-entropy, replay against re-recording, determinism,
 * validation, mini-batches and the steady-state memory of a step.
 * Budgets are small so the suite stays quick under sanitizers too. */
#include <stdlib.h>
#include <string.h>

#include "model_internal.h" /* the model's tapes, for the arena check */
#include "test_util.h"

/* The walk-through's data and net: 100 points x 3 classes, 2-64-3. */
enum { SAMPLES = 100, CLASSES = 3, HIDDEN = 64 };
static const uint64_t DATA_SEED = 0, MODEL_SEED = 0;
/* Adam must reach this training accuracy within ADAM_MAX_EPOCHS. */
#define ADAM_TARGET_ACC 0.90
enum { ADAM_MAX_EPOCHS = 10000 };
/* Epochs of the SGD comparison, the L2 run, and the short runs. */
enum { SGD_EPOCHS = 2000, L2_EPOCHS = 1000, SHORT_EPOCHS = 20 };
/* Sine regression: samples, epochs, and the loss drop it must reach. */
enum { SINE_SAMPLES = 200, SINE_EPOCHS = 300 };
#define SINE_DROP 10.0
/* Binary spiral: epochs and the accuracy that beats chance clearly. */
enum { BIN_EPOCHS = 300 };
#define BIN_MIN_ACC 0.75

#define ck_ok(s, err) ck_assert_msg((s) == BM_OK, "%s: %s", #s, (err).msg)

static void add(bm_model *m, bm_layer_spec s)
{
    bm_error e = {0};
    ck_ok(bm_model_add(m, &s, &e), e);
}

static void spiral(bm_dataset *d, size_t classes)
{
    bm_error e = {0};
    bm_rng rng;
    bm_rng_seed(&rng, DATA_SEED);
    ck_ok(bm_data_spiral(d, SAMPLES, classes, BM_F32, &rng, &e), e);
}

/* 2-64-3 with ReLU and softmax (+CCE, fused), dropout after the ReLU when
 * rate > 0, L2 `l2` on weights and biases of both dense layers. */
static bm_model *spiral_model(const bm_optim_config *oc, double rate, double l2)
{
    bm_error e = {0};
    bm_model *m = bm_model_new(BM_F32, 2, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    bm_layer_spec d1 = bm_dense_spec(2, HIDDEN), d2 = bm_dense_spec(HIDDEN, CLASSES);
    d1.l2_weights = d1.l2_biases = d2.l2_weights = d2.l2_biases = l2;
    add(m, d1);
    add(m, bm_activation_spec(BM_LAYER_RELU));
    if (rate > 0)
        add(m, bm_dropout_spec(rate));
    add(m, d2);
    add(m, bm_activation_spec(BM_LAYER_SOFTMAX));
    ck_ok(bm_model_set_optimizer(m, oc, &e), e);
    ck_ok(bm_model_init(m, MODEL_SEED, &e), e);
    return m;
}

static bm_optim_config adam_cfg(void)
{
    bm_optim_config c = bm_optim_defaults(BM_OPT_ADAM);
    c.lr = 0.05;
    c.decay = 5e-7;
    return c;
}

/* Callback state: the last epoch's statistics, every epoch's val loss seen. */
typedef struct track {
    bm_epoch_stats last;
    double first_loss;
    uint64_t calls;
    double stop_at_acc; /* > 0: stop once accuracy reaches it */
    int val_ok;         /* every epoch reported a finite validation loss */
} track;

static int on_epoch(void *ud, const bm_epoch_stats *s)
{
    track *t = ud;
    if (t->calls == 0) {
        t->first_loss = s->loss;
        t->val_ok = 1;
    }
    t->calls++;
    t->last = *s;
    t->val_ok &= isfinite(s->val_loss) && isfinite(s->val_accuracy);
    return t->stop_at_acc > 0 && s->accuracy >= t->stop_at_acc;
}

/* Fit with a tracking callback; returns the tracker's state. */
static track fit(bm_model *m, const bm_dataset *d, bm_fit_opts o, double stop_at_acc)
{
    bm_error e = {0};
    track t;
    memset(&t, 0, sizeof t);
    t.stop_at_acc = stop_at_acc;
    o.callback = on_epoch;
    o.callback_ud = &t;
    ck_ok(bm_model_fit(m, d, &o, &e), e);
    return t;
}

static bm_fit_opts epochs(uint64_t n)
{
    bm_fit_opts o = bm_fit_defaults();
    o.epochs = n;
    return o;
}

/* Σw² over every dense layer's weights. */
static double weight_sq(bm_model *m)
{
    double s = 0;
    for (size_t i = 0; i < bm_model_n_layers(m); i++) {
        const bm_tensor *W = bm_model_weights(m, i);
        for (size_t j = 0; W && j < W->size; j++)
            s += bm_tensor_get(W, j) * bm_tensor_get(W, j);
    }
    return s;
}

static int same_params(bm_model *a, bm_model *b)
{
    return bm_model_n_params(a) == bm_model_n_params(b) &&
           memcmp(bm_model_params(a), bm_model_params(b),
                  bm_model_n_params(a) * bm_dtype_size(bm_model_dtype(a))) == 0;
}

/* ------------------------------------------------------- the book's runs */

START_TEST(adam_reaches_90_percent)
{
    bm_dataset d = {0};
    spiral(&d, CLASSES);
    bm_optim_config c = adam_cfg();
    bm_model *m = spiral_model(&c, 0, 0);
    track t = fit(m, &d, epochs(ADAM_MAX_EPOCHS), ADAM_TARGET_ACC);
    ck_assert_msg(t.last.accuracy >= ADAM_TARGET_ACC, "accuracy %.3f after %llu epochs",
                  t.last.accuracy, (unsigned long long)t.calls);
    ck_assert_uint_lt(t.calls, ADAM_MAX_EPOCHS); /* stopped early by the callback */
    ck_assert_uint_eq(bm_model_epoch(m), t.calls);
    ck_assert_double_lt(t.last.loss, t.first_loss);
    ck_near(t.first_loss, log(3.0), 1e-3); /* 0.01·randn weights: uniform predictions */
    /* evaluation agrees that the model is good (no dropout here) */
    double loss, acc;
    bm_error e = {0};
    ck_ok(bm_model_evaluate(m, &d, &loss, &acc, &e), e);
    ck_assert_double_ge(acc, ADAM_TARGET_ACC - 0.05);
    bm_model_free(m);
    bm_dataset_free(&d);
}
END_TEST

START_TEST(sgd_momentum_beats_plain_sgd)
{
    bm_dataset d = {0};
    spiral(&d, CLASSES);
    bm_optim_config plain = bm_optim_defaults(BM_OPT_SGD), mom = plain;
    mom.decay = 1e-3;
    mom.momentum = 0.9;
    bm_model *a = spiral_model(&plain, 0, 0), *b = spiral_model(&mom, 0, 0);
    track ta = fit(a, &d, epochs(SGD_EPOCHS), 0), tb = fit(b, &d, epochs(SGD_EPOCHS), 0);
    ck_assert_msg(tb.last.loss < ta.last.loss, "momentum %.4f vs plain %.4f", tb.last.loss,
                  ta.last.loss);
    ck_assert_msg(tb.last.accuracy > ta.last.accuracy, "momentum acc %.3f vs plain %.3f",
                  tb.last.accuracy, ta.last.accuracy);
    ck_near(tb.last.lr, 1.0 / (1.0 + 1e-3 * (SGD_EPOCHS - 1)), 1e-12);
    bm_model_free(a);
    bm_model_free(b);
    bm_dataset_free(&d);
}
END_TEST

START_TEST(l2_lowers_weight_norm)
{
    bm_dataset d = {0};
    spiral(&d, CLASSES);
    bm_optim_config c = adam_cfg();
    bm_model *a = spiral_model(&c, 0, 0), *b = spiral_model(&c, 0, 5e-4);
    ck_assert(same_params(a, b)); /* same seed, same start */
    track ta = fit(a, &d, epochs(L2_EPOCHS), 0), tb = fit(b, &d, epochs(L2_EPOCHS), 0);
    double na = weight_sq(a), nb = weight_sq(b);
    ck_assert_msg(nb < na, "Σw² with L2 %.3f, without %.3f", nb, na);
    ck_assert(ta.last.reg_loss == 0.0);
    ck_assert_double_gt(tb.last.reg_loss, 0.0);
    ck_near(tb.last.loss, tb.last.data_loss + tb.last.reg_loss, 1e-5);
    bm_model_free(a);
    bm_model_free(b);
    bm_dataset_free(&d);
}
END_TEST

START_TEST(sine_regression_learns)
{
    bm_error e = {0};
    bm_dataset d = {0};
    ck_ok(bm_data_sine(&d, SINE_SAMPLES, BM_F32, &e), e);
    bm_model *m = bm_model_new(BM_F32, 1, &e);
    bm_layer_spec d1 = bm_dense_spec(1, 64), d2 = bm_dense_spec(64, 64), d3 = bm_dense_spec(64, 1);
    d1.init = d2.init = d3.init = BM_INIT_GLOROT;
    add(m, d1);
    add(m, bm_activation_spec(BM_LAYER_RELU));
    add(m, d2);
    add(m, bm_activation_spec(BM_LAYER_RELU));
    add(m, d3);
    add(m, bm_activation_spec(BM_LAYER_IDENTITY));
    ck_ok(bm_model_set_loss(m, BM_LOSS_MSE, &e), e);
    bm_optim_config c = bm_optim_defaults(BM_OPT_ADAM);
    c.lr = 0.005;
    c.decay = 1e-3;
    ck_ok(bm_model_set_optimizer(m, &c, &e), e);
    ck_ok(bm_model_init(m, MODEL_SEED, &e), e);
    track t = fit(m, &d, epochs(SINE_EPOCHS), 0);
    ck_assert_msg(t.last.loss * SINE_DROP <= t.first_loss, "loss %.5f -> %.5f", t.first_loss,
                  t.last.loss);
    double loss, acc;
    ck_ok(bm_model_evaluate(m, &d, &loss, &acc, &e), e);
    ck_assert_double_le(loss * SINE_DROP, t.first_loss);
    /* the regression accuracy, counted here: |ŷ − y| < std(y)/250 */
    bm_tensor *p = NULL;
    ck_ok(bm_model_predict(m, d.x, &p, &e), e);
    double tol = bm_tensor_std(d.y) / BM_REGRESSION_PRECISION_DIV;
    size_t close = 0;
    for (size_t i = 0; i < p->size; i++)
        close += fabs(bm_tensor_get(p, i) - bm_tensor_get(d.y, i)) < tol;
    ck_near(acc, (double)close / (double)p->size, 1e-12);
    bm_tensor_free(p);
    bm_model_free(m);
    bm_dataset_free(&d);
}
END_TEST

START_TEST(binary_bce_beats_chance)
{
    bm_error e = {0};
    bm_dataset d = {0};
    spiral(&d, 2);
    bm_model *m = bm_model_new(BM_F32, 2, &e);
    add(m, bm_dense_spec(2, HIDDEN));
    add(m, bm_activation_spec(BM_LAYER_RELU));
    add(m, bm_dense_spec(HIDDEN, 1));
    add(m, bm_activation_spec(BM_LAYER_SIGMOID));
    ck_ok(bm_model_set_loss(m, BM_LOSS_BCE, &e), e);
    bm_optim_config c = adam_cfg();
    c.lr = 0.02;
    ck_ok(bm_model_set_optimizer(m, &c, &e), e);
    ck_ok(bm_model_init(m, MODEL_SEED, &e), e);
    track t = fit(m, &d, epochs(BIN_EPOCHS), 0);
    ck_near(t.first_loss, log(2.0), 1e-3);
    double loss, acc;
    ck_ok(bm_model_evaluate(m, &d, &loss, &acc, &e), e);
    ck_assert_msg(acc >= BIN_MIN_ACC, "binary accuracy %.3f (loss %.3f)", acc, loss);
    ck_assert_double_lt(loss, t.first_loss);
    /* predictions are probabilities [N,1] */
    bm_tensor *p = NULL;
    ck_ok(bm_model_predict(m, d.x, &p, &e), e);
    ck_assert_uint_eq(p->shape[0], 2 * SAMPLES);
    ck_assert_uint_eq(p->shape[1], 1);
    for (size_t i = 0; i < p->size; i++)
        ck_assert(bm_tensor_get(p, i) >= 0.0 && bm_tensor_get(p, i) <= 1.0);
    bm_tensor_free(p);
    bm_model_free(m);
    bm_dataset_free(&d);
}
END_TEST

/* --------------------------------------------- replay and determinism */

/* Train the dropout spiral net with mini-batches and shuffling. */
static bm_model *train_batched(const bm_dataset *d, int replay, uint64_t n_epochs)
{
    bm_optim_config c = adam_cfg();
    bm_model *m = spiral_model(&c, 0.1, 5e-4);
    bm_fit_opts o = epochs(n_epochs);
    o.batch_size = 32;
    o.shuffle = 1;
    o.replay = replay;
    fit(m, d, o, 0);
    return m;
}

START_TEST(replay_equals_rerecord)
{
    bm_dataset d = {0};
    spiral(&d, CLASSES);
    bm_model *a = train_batched(&d, 1, SHORT_EPOCHS), *b = train_batched(&d, 0, SHORT_EPOCHS);
    ck_assert_msg(same_params(a, b), "replay and re-record differ");
    ck_assert_int_eq(memcmp(bm_model_rng(a), bm_model_rng(b), sizeof(bm_rng)), 0);
    bm_model_free(a);
    bm_model_free(b);
    /* full batch too */
    bm_optim_config c = adam_cfg();
    a = spiral_model(&c, 0.2, 0);
    b = spiral_model(&c, 0.2, 0);
    bm_fit_opts o = epochs(SHORT_EPOCHS);
    fit(a, &d, o, 0);
    o.replay = 0;
    fit(b, &d, o, 0);
    ck_assert_msg(same_params(a, b), "full batch: replay and re-record differ");
    bm_model_free(a);
    bm_model_free(b);
    bm_dataset_free(&d);
}
END_TEST

/* Memory planning in fit: the same parameters, RNG and epoch figures (loss,
 * its data and regularisation parts, accuracy: read after the backward, so
 * kept out of the shared memory), full batch and batched, with dropout. */
START_TEST(planned_memory_equals_unplanned)
{
    bm_dataset d = {0};
    spiral(&d, CLASSES);
    bm_optim_config c = adam_cfg();
    for (size_t batch = 0; batch <= 2 * CLASSES * 11; batch += 2 * CLASSES * 11) {
        bm_model *a = spiral_model(&c, 0.2, 1e-4), *b = spiral_model(&c, 0.2, 1e-4);
        bm_fit_opts o = epochs(SHORT_EPOCHS);
        o.batch_size = batch;
        o.shuffle = 1;
        track ta = fit(a, &d, o, 0);
        o.plan_memory = 1;
        track tb = fit(b, &d, o, 0);
        ck_assert_msg(same_params(a, b), "batch %zu: planned memory changed the parameters",
                      batch);
        ck_assert_int_eq(memcmp(bm_model_rng(a), bm_model_rng(b), sizeof(bm_rng)), 0);
        ck_assert_msg(ta.last.loss == tb.last.loss && ta.last.data_loss == tb.last.data_loss &&
                          ta.last.reg_loss == tb.last.reg_loss &&
                          ta.last.accuracy == tb.last.accuracy,
                      "batch %zu: epoch figures differ: loss %.17g vs %.17g, acc %g vs %g",
                      batch, ta.last.loss, tb.last.loss, ta.last.accuracy, tb.last.accuracy);
        ck_assert(ta.last.reg_loss > 0.0);
        bm_model_free(a);
        bm_model_free(b);
    }
    bm_dataset_free(&d);
}
END_TEST

START_TEST(same_seed_same_params)
{
    bm_dataset d = {0};
    spiral(&d, CLASSES);
    bm_model *a = train_batched(&d, 1, SHORT_EPOCHS), *b = train_batched(&d, 1, SHORT_EPOCHS);
    ck_assert(same_params(a, b));
    /* a different model seed gives a different run */
    bm_error e = {0};
    bm_optim_config c = adam_cfg();
    bm_model *m = bm_model_new(BM_F32, 2, &e);
    add(m, bm_dense_spec(2, HIDDEN));
    add(m, bm_activation_spec(BM_LAYER_RELU));
    add(m, bm_dense_spec(HIDDEN, CLASSES));
    ck_ok(bm_model_set_optimizer(m, &c, &e), e);
    ck_ok(bm_model_init(m, MODEL_SEED + 1, &e), e);
    fit(m, &d, epochs(SHORT_EPOCHS), 0);
    ck_assert(!same_params(a, m));
    bm_model_free(m);
    bm_model_free(a);
    bm_model_free(b);
    bm_dataset_free(&d);
}
END_TEST

START_TEST(split_fit_continues_like_one_fit)
{
    /* Two fits of 10 epochs continue exactly like one of 20 (full batch,
     * no dropout: nothing depends on where a fit call starts). */
    bm_dataset d = {0};
    spiral(&d, CLASSES);
    bm_optim_config c = adam_cfg();
    bm_model *a = spiral_model(&c, 0, 0), *b = spiral_model(&c, 0, 0);
    fit(a, &d, epochs(2 * SHORT_EPOCHS), 0);
    fit(b, &d, epochs(SHORT_EPOCHS), 0);
    ck_assert(!same_params(a, b));
    fit(b, &d, epochs(SHORT_EPOCHS), 0);
    ck_assert(same_params(a, b));
    ck_assert_uint_eq(bm_model_epoch(b), 2 * SHORT_EPOCHS);
    bm_model_free(a);
    bm_model_free(b);
    bm_dataset_free(&d);
}
END_TEST

START_TEST(reset_params_restarts_the_run)
{
    /* bm_model_reset_params(seed) after training equals a fresh init from
     * the same seed, and the next run is bit-identical to the first. */
    bm_error e = {0};
    bm_dataset d = {0};
    spiral(&d, CLASSES);
    bm_optim_config c = adam_cfg();
    bm_model *a = spiral_model(&c, 0.1, 0), *fresh = spiral_model(&c, 0.1, 0);
    bm_fit_opts o = epochs(SHORT_EPOCHS);
    o.batch_size = 64;
    o.shuffle = 1;
    fit(a, &d, o, 0);
    size_t bytes = bm_model_n_params(a) * sizeof(float);
    void *first = malloc(bytes);
    memcpy(first, bm_model_params(a), bytes);
    ck_ok(bm_model_reset_params(a, MODEL_SEED, &e), e);
    ck_assert(same_params(a, fresh));
    ck_assert_uint_eq(bm_model_epoch(a), 0);
    ck_assert_uint_eq(bm_optim_iterations(bm_model_optim(a)), 0);
    fit(a, &d, o, 0);
    ck_assert_int_eq(memcmp(first, bm_model_params(a), bytes), 0);
    free(first);
    bm_model_free(a);
    bm_model_free(fresh);
    bm_dataset_free(&d);
}
END_TEST

/* ------------------------------------------- validation and batches */

START_TEST(validation_split_reports_val_loss)
{
    bm_error e = {0};
    bm_dataset d = {0}, v = {0};
    spiral(&d, CLASSES);
    bm_optim_config c = adam_cfg();
    bm_model *m = spiral_model(&c, 0, 0);
    bm_fit_opts o = epochs(SHORT_EPOCHS);
    o.val_split = 0.2;
    track t = fit(m, &d, o, 0);
    ck_assert_uint_eq(t.calls, SHORT_EPOCHS);
    ck_assert_msg(t.val_ok, "an epoch lacked a validation loss");
    /* the reported value is the held-out last 20 %, evaluated after the epoch */
    double loss, acc;
    ck_ok(bm_dataset_subset(&v, &d, 240, 60, &e), e);
    ck_ok(bm_model_evaluate(m, &v, &loss, &acc, &e), e);
    ck_assert(loss == t.last.val_loss && acc == t.last.val_accuracy);
    /* an explicit validation set */
    o.val_split = 0;
    o.val = &v;
    t = fit(m, &d, o, 0);
    ck_assert(t.val_ok);
    ck_ok(bm_model_evaluate(m, &v, &loss, &acc, &e), e);
    ck_assert(loss == t.last.val_loss && acc == t.last.val_accuracy);
    /* none: NaN */
    o.val = NULL;
    t = fit(m, &d, o, 0);
    ck_assert(isnan(t.last.val_loss) && isnan(t.last.val_accuracy));
    bm_dataset_free(&v);
    bm_model_free(m);
    bm_dataset_free(&d);
}
END_TEST

START_TEST(batches_train_and_are_deterministic)
{
    enum { BATCH = 32, STEPS_PER_EPOCH = (CLASSES * SAMPLES + BATCH - 1) / BATCH };
    bm_dataset d = {0};
    spiral(&d, CLASSES);
    bm_optim_config c = adam_cfg();
    bm_model *m[2];
    track t[2];
    for (int k = 0; k < 2; k++) {
        m[k] = spiral_model(&c, 0, 0);
        bm_fit_opts o = epochs(5 * SHORT_EPOCHS);
        o.batch_size = BATCH;
        o.shuffle = 1;
        t[k] = fit(m[k], &d, o, 0);
    }
    ck_assert(same_params(m[0], m[1]));
    ck_assert(t[0].last.loss == t[1].last.loss);
    ck_assert_uint_eq(bm_optim_iterations(bm_model_optim(m[0])), 5 * SHORT_EPOCHS * STEPS_PER_EPOCH);
    ck_assert_msg(t[0].last.loss < 0.9 * t[0].first_loss, "loss %.3f -> %.3f", t[0].first_loss,
                  t[0].last.loss);
    /* shuffling matters: the same run without it ends elsewhere */
    bm_model *u = spiral_model(&c, 0, 0);
    bm_fit_opts o = epochs(5 * SHORT_EPOCHS);
    o.batch_size = BATCH;
    fit(u, &d, o, 0);
    ck_assert(!same_params(u, m[0]));
    bm_model_free(u);
    bm_model_free(m[0]);
    bm_model_free(m[1]);
    bm_dataset_free(&d);
}
END_TEST

/* ------------------------------------------------- steady-state memory */

/* Arena bytes of every tape the model holds. */
static size_t model_arena_bytes(const bm_model *m)
{
    size_t s = bm_tape_arena_bytes(m->eval_tape);
    for (int g = 0; g < BM_MODEL_GRAPHS; g++)
        s += m->graphs[g].tape ? bm_tape_arena_bytes(m->graphs[g].tape) : 0;
    return s;
}

START_TEST(tapes_do_not_grow_after_first_epoch)
{
    /* Every tape allocation goes through the arena, so an arena that does
     * not grow means a step allocates nothing on the tapes. Batches of 32
     * over 300 rows use both recorded graphs (32 and the last 12 rows),
     * with dropout and a validation set. */
    bm_dataset d = {0}, v = {0};
    bm_error e = {0};
    spiral(&d, CLASSES);
    ck_ok(bm_dataset_subset(&v, &d, 0, 50, &e), e);
    for (int replay = 1; replay >= 0; replay--) {
        bm_optim_config c = adam_cfg();
        bm_model *m = spiral_model(&c, 0.1, 5e-4);
        bm_fit_opts o = epochs(1);
        o.batch_size = 32;
        o.shuffle = 1;
        o.val = &v;
        o.replay = replay;
        fit(m, &d, o, 0);
        size_t after_first = model_arena_bytes(m);
        ck_assert(m->graphs[0].tape && m->graphs[1].tape && m->eval_tape);
        void *params = bm_model_params(m), *opt = bm_model_optim(m);
        o.epochs = SHORT_EPOCHS;
        fit(m, &d, o, 0);
        ck_assert_uint_eq(model_arena_bytes(m), after_first);
        /* the buffers were not reallocated either */
        ck_assert_ptr_eq(bm_model_params(m), params);
        ck_assert_ptr_eq(bm_model_optim(m), opt);
        bm_model_free(m);
    }
    bm_dataset_free(&v);
    bm_dataset_free(&d);
}
END_TEST

START_TEST(nan_loss_stops_training)
{
    /* A learning rate this large diverges; fit stops with a numeric error
     * naming the epoch instead of training on NaN. */
    bm_error e = {0};
    bm_dataset d = {0};
    ck_ok(bm_data_sine(&d, 50, BM_F32, &e), e);
    bm_model *m = bm_model_new(BM_F32, 1, &e);
    bm_layer_spec d1 = bm_dense_spec(1, 16), d2 = bm_dense_spec(16, 1);
    d1.init = d2.init = BM_INIT_HE;
    add(m, d1);
    add(m, bm_activation_spec(BM_LAYER_RELU));
    add(m, d2);
    ck_ok(bm_model_set_loss(m, BM_LOSS_MSE, &e), e);
    bm_optim_config c = bm_optim_defaults(BM_OPT_SGD);
    c.lr = 1e30;
    ck_ok(bm_model_set_optimizer(m, &c, &e), e);
    ck_ok(bm_model_init(m, 0, &e), e);
    bm_fit_opts o = epochs(100);
    bm_status s = bm_model_fit(m, &d, &o, &e);
    ck_assert_int_eq(s, BM_ERR_NUMERIC);
    ck_assert_ptr_nonnull(strstr(e.msg, "epoch "));
    ck_assert_uint_lt(bm_model_epoch(m), 100);
    bm_model_free(m);
    bm_dataset_free(&d);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("train");
    TCase *book = tcase_create("book");
    tcase_add_test(book, adam_reaches_90_percent);
    tcase_add_test(book, sgd_momentum_beats_plain_sgd);
    tcase_add_test(book, l2_lowers_weight_norm);
    tcase_add_test(book, sine_regression_learns);
    tcase_add_test(book, binary_bce_beats_chance);
    suite_add_tcase(s, book);

    TCase *det = tcase_create("determinism");
    tcase_add_test(det, replay_equals_rerecord);
    tcase_add_test(det, planned_memory_equals_unplanned);
    tcase_add_test(det, same_seed_same_params);
    tcase_add_test(det, split_fit_continues_like_one_fit);
    tcase_add_test(det, reset_params_restarts_the_run);
    suite_add_tcase(s, det);

    TCase *fitting = tcase_create("fit");
    tcase_add_test(fitting, validation_split_reports_val_loss);
    tcase_add_test(fitting, batches_train_and_are_deterministic);
    tcase_add_test(fitting, tapes_do_not_grow_after_first_epoch);
    tcase_add_test(fitting, nan_loss_stops_training);
    suite_add_tcase(s, fitting);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
