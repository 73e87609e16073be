/* test_nn_api.c — metrics (bm_accuracy for categorical, binary and
 * regression targets), the model's getters and names, and the errors the
 * model API reports for what a user can get wrong: widths that do not fit,
 * bad rates and penalties, fit without init or optimizer, data with the
 * wrong feature count, labels out of range. Suite "nn_api"; the layers and
 * losses are in test_nn.c, training in test_train.c. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define ck_ok(s, err) ck_assert_msg((s) == BM_OK, "%s: %s", #s, (err).msg)

static void add(bm_model *m, bm_layer_spec s)
{
    bm_error e = {0};
    ck_ok(bm_model_add(m, &s, &e), e);
}

/* ------------------------------------------------------------ metrics */

static bm_tensor *tens(int rank, size_t r, size_t c, const double *v)
{
    size_t shape[2] = {r, c};
    bm_tensor *t = bm_tensor_from(BM_F64, rank, shape, v, NULL);
    ck_assert_ptr_nonnull(t);
    return t;
}

START_TEST(accuracy_categorical)
{
    static const double pred[4 * 3] = {0.7, 0.2, 0.1, 0.1, 0.8, 0.1,
                                       0.3, 0.3, 0.4, 0.5, 0.1, 0.4};
    static const double idx[4] = {0, 1, 2, 2};
    static const double onehot[4 * 3] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1};
    bm_tensor *p = tens(2, 4, 3, pred), *yi = tens(1, 4, 1, idx), *yo = tens(2, 4, 3, onehot);
    ck_near(bm_accuracy(BM_LOSS_SOFTMAX_CCE, p, yi, 0), 0.75, 0);
    ck_near(bm_accuracy(BM_LOSS_CCE, p, yi, 0), 0.75, 0);
    ck_near(bm_accuracy(BM_LOSS_CCE, p, yo, 0), 0.75, 0);
    ck_near(bm_accuracy(BM_LOSS_SOFTMAX_CCE, p, yo, 0), 0.75, 0);
    ck_assert(isnan(bm_accuracy(BM_LOSS_CCE, NULL, yi, 0)));
    bm_tensor_free(p);
    bm_tensor_free(yi);
    bm_tensor_free(yo);
}
END_TEST

START_TEST(accuracy_binary)
{
    /* threshold 0.5, strictly above counts as class 1 */
    static const double pred[6] = {0.2, 0.7, 0.5, 0.9, 0.51, 0.49};
    static const double y[6] = {0, 1, 1, 0, 1, 0};
    bm_tensor *p = tens(2, 6, 1, pred), *t = tens(2, 6, 1, y);
    ck_near(bm_accuracy(BM_LOSS_BCE, p, t, 0), 4.0 / 6.0, 1e-15);
    /* several binary outputs per row: every element counts */
    bm_tensor *p2 = tens(2, 3, 2, pred), *t2 = tens(2, 3, 2, y);
    ck_near(bm_accuracy(BM_LOSS_BCE, p2, t2, 0), 4.0 / 6.0, 1e-15);
    bm_tensor_free(p);
    bm_tensor_free(t);
    bm_tensor_free(p2);
    bm_tensor_free(t2);
}
END_TEST

START_TEST(accuracy_regression)
{
    static const double pred[5] = {0.0, 1.05, 2.2, -0.995, 10.0};
    static const double y[5] = {0.0, 1.0, 2.0, -1.0, 5.0};
    bm_tensor *p = tens(2, 5, 1, pred), *t = tens(2, 5, 1, y);
    ck_near(bm_accuracy(BM_LOSS_MSE, p, t, 0.1), 3.0 / 5.0, 1e-15);
    ck_near(bm_accuracy(BM_LOSS_MAE, p, t, 0.3), 4.0 / 5.0, 1e-15);
    /* tolerance <= 0: std(y)/250 ≈ 0.0082 — the exact hit and the 0.005-off one */
    double sd = 0, mean = 1.4;
    for (int i = 0; i < 5; i++)
        sd += (y[i] - mean) * (y[i] - mean);
    sd = sqrt(sd / 5);
    ck_assert_double_gt(sd / BM_REGRESSION_PRECISION_DIV, 0.006);
    ck_assert_double_lt(sd / BM_REGRESSION_PRECISION_DIV, 0.04);
    ck_near(bm_accuracy(BM_LOSS_MSE, p, t, 0), 2.0 / 5.0, 1e-15);
    bm_tensor_free(p);
    bm_tensor_free(t);
}
END_TEST

/* --------------------------------------------------------- API errors */

/* s must be `code` and err's message must contain `part`. */
#define ck_err(s, code, err, part)                                                       \
    do {                                                                                 \
        bm_status ck_s_ = (s);                                                           \
        ck_assert_msg(ck_s_ == (code), "%s: got %s (%s), want %s", #s,                   \
                      bm_status_name(ck_s_), (err).msg, bm_status_name(code));           \
        ck_assert_msg(strstr((err).msg, (part)) != NULL, "%s: message '%s' lacks '%s'", #s, \
                      (err).msg, (part));                                                \
    } while (0)

START_TEST(errors_building)
{
    bm_error e = {0};
    ck_assert_ptr_null(bm_model_new(BM_F32, 0, &e));
    ck_assert_int_eq(e.code, BM_ERR_SIZE);
    bm_model *m = bm_model_new(BM_F32, 2, &e);
    bm_layer_spec d = bm_dense_spec(3, 4);
    ck_err(bm_model_add(m, &d, &e), BM_ERR_SHAPE, e,
           "layers[0]: dense input 3 does not match the width 2");
    d = bm_dense_spec(2, 0);
    ck_err(bm_model_add(m, &d, &e), BM_ERR_SIZE, e, "layers[0]");
    d = bm_dense_spec(2, 4);
    d.l2_weights = -1e-3;
    ck_err(bm_model_add(m, &d, &e), BM_ERR_ARG, e, "layers[0].l2_weights");
    d.l2_weights = NAN;
    ck_err(bm_model_add(m, &d, &e), BM_ERR_ARG, e, "must be finite");
    bm_layer_spec dr = bm_dropout_spec(1.0);
    ck_err(bm_model_add(m, &dr, &e), BM_ERR_ARG, e, "layers[0].rate: 1 must be in [0, 1)");
    dr = bm_dropout_spec(-0.1);
    ck_err(bm_model_add(m, &dr, &e), BM_ERR_ARG, e, "rate");
    ck_err(bm_model_set_loss(m, (bm_loss_kind)99, &e), BM_ERR_ARG, e, "unknown loss");
    ck_err(bm_model_init(m, 0, &e), BM_ERR_STATE, e, "no layers");
    bm_layer_spec relu = bm_activation_spec(BM_LAYER_RELU);
    ck_ok(bm_model_add(m, &relu, &e), e);
    ck_err(bm_model_init(m, 0, &e), BM_ERR_STATE, e, "no dense layer");
    d = bm_dense_spec(2, 4);
    ck_ok(bm_model_add(m, &d, &e), e);
    d = bm_dense_spec(3, 4); /* the width is now 4 */
    ck_err(bm_model_add(m, &d, &e), BM_ERR_SHAPE, e, "layers[2]: dense input 3");
    ck_ok(bm_model_init(m, 0, &e), e);
    ck_err(bm_model_init(m, 0, &e), BM_ERR_STATE, e, "exist already");
    d = bm_dense_spec(4, 2);
    ck_err(bm_model_add(m, &d, &e), BM_ERR_STATE, e, "exist already");
    bm_optim_config bad = bm_optim_defaults(BM_OPT_ADAM);
    bad.lr = -1;
    ck_assert_int_ne(bm_model_set_optimizer(m, &bad, &e), BM_OK);
    ck_assert_ptr_null(bm_model_optim(m));
    ck_err(bm_model_add(NULL, &d, &e), BM_ERR_NULL, e, "NULL");
    bm_model_free(m);
    bm_model_free(NULL);
}
END_TEST

/* A 2-4-3 softmax_cce model, initialised (optionally with an optimizer). */
static bm_model *small_model(int init, int optim)
{
    bm_error e = {0};
    bm_model *m = bm_model_new(BM_F32, 2, &e);
    add(m, bm_dense_spec(2, 4));
    add(m, bm_activation_spec(BM_LAYER_RELU));
    add(m, bm_dense_spec(4, 3));
    add(m, bm_activation_spec(BM_LAYER_SOFTMAX));
    if (optim) {
        bm_optim_config o = bm_optim_defaults(BM_OPT_SGD);
        ck_ok(bm_model_set_optimizer(m, &o, &e), e);
    }
    if (init)
        ck_ok(bm_model_init(m, 1, &e), e);
    return m;
}

START_TEST(errors_fit_and_data)
{
    bm_error e = {0};
    bm_rng rng;
    bm_rng_seed(&rng, 0);
    bm_dataset d = {0}, wide = {0};
    ck_ok(bm_data_spiral(&d, 10, 3, BM_F32, &rng, &e), e);
    bm_fit_opts fo = bm_fit_defaults();

    bm_model *m = small_model(0, 1);
    ck_err(bm_model_fit(m, &d, &fo, &e), BM_ERR_STATE, e, "call bm_model_init first");
    bm_tensor *p = NULL;
    ck_err(bm_model_predict(m, d.x, &p, &e), BM_ERR_STATE, e, "no parameters");
    ck_err(bm_model_evaluate(m, &d, NULL, NULL, &e), BM_ERR_STATE, e, "no parameters");
    bm_tape *tape = bm_tape_new();
    ck_assert_ptr_null(bm_model_record(m, tape, d.x, d.y, 1, NULL));
    ck_assert_ptr_nonnull(strstr(bm_tape_error(tape), "bm_model_init"));
    bm_tape_free(tape);
    bm_model_free(m);

    m = small_model(1, 0);
    ck_err(bm_model_fit(m, &d, &fo, &e), BM_ERR_STATE, e, "no optimizer set");
    bm_model_free(m);

    m = small_model(1, 1);
    ck_err(bm_model_fit(NULL, &d, &fo, &e), BM_ERR_NULL, e, "model is NULL");
    ck_err(bm_model_fit(m, NULL, &fo, &e), BM_ERR_NULL, e, "data set is empty");
    /* three features for a two-input model */
    size_t ws[2] = {30, 3};
    wide.x = bm_tensor_new(BM_F32, 2, ws, &e);
    wide.y = bm_tensor_copy(d.y, &e);
    ck_err(bm_model_fit(m, &wide, &fo, &e), BM_ERR_SHAPE, e,
           "training data: features [30,3] do not fit the model's 2 inputs");
    ck_err(bm_model_evaluate(m, &wide, NULL, NULL, &e), BM_ERR_SHAPE, e, "[30,3]");
    ck_err(bm_model_predict(m, wide.x, &p, &e), BM_ERR_SHAPE, e, "[30,3]");
    ck_assert_ptr_null(p);
    /* labels out of range */
    bm_tensor_set(d.y, 7, 3.0);
    ck_err(bm_model_fit(m, &d, &fo, &e), BM_ERR_ARG, e,
           "training data: row 7 has label 3, the model has 3 classes");
    bm_tensor_set(d.y, 7, -1.0);
    ck_err(bm_model_fit(m, &d, &fo, &e), BM_ERR_ARG, e, "row 7 has label -1");
    bm_tensor_set(d.y, 7, 1.5);
    ck_err(bm_model_fit(m, &d, &fo, &e), BM_ERR_ARG, e, "row 7 has label 1.5");
    bm_tensor_set(d.y, 7, 0.0);
    /* validation data is checked too */
    bm_dataset v = {0};
    ck_ok(bm_dataset_subset(&v, &d, 0, 5, &e), e);
    bm_tensor_set(v.y, 2, 9.0);
    fo.val = &v;
    ck_err(bm_model_fit(m, &d, &fo, &e), BM_ERR_ARG, e, "validation data: row 2 has label 9");
    fo.val = NULL;
    fo.val_split = 1.0;
    ck_err(bm_model_fit(m, &d, &fo, &e), BM_ERR_ARG, e, "val_split 1");
    fo.val_split = 0.001; /* 0 of 30 rows held out */
    ck_err(bm_model_fit(m, &d, &fo, &e), BM_ERR_ARG, e, "empty set");
    fo.val_split = 0;
    /* row counts differ */
    bm_tensor_free(wide.x);
    size_t s2[2] = {29, 2};
    wide.x = bm_tensor_new(BM_F32, 2, s2, &e);
    ck_err(bm_model_fit(m, &wide, &fo, &e), BM_ERR_SHAPE, e, "29 rows of features but 30");
    /* one-hot targets of the wrong width; regression targets of the wrong width */
    bm_tensor_free(wide.x);
    bm_tensor_free(wide.y);
    size_t s4[2] = {30, 4};
    wide.x = bm_tensor_copy(d.x, &e);
    wide.y = bm_tensor_new(BM_F32, 2, s4, &e);
    ck_err(bm_model_fit(m, &wide, &fo, &e), BM_ERR_SHAPE, e,
           "one-hot targets have 4 columns, the model 3 outputs");
    ck_ok(bm_model_set_loss(m, BM_LOSS_MSE, &e), e);
    ck_err(bm_model_fit(m, &wide, &fo, &e), BM_ERR_SHAPE, e,
           "targets have 4 columns, the model 3 outputs");
    /* nothing was trained by the failed calls */
    ck_assert_uint_eq(bm_model_epoch(m), 0);
    ck_assert_uint_eq(bm_optim_iterations(bm_model_optim(m)), 0);
    bm_dataset_free(&v);
    bm_dataset_free(&wide);
    bm_dataset_free(&d);
    bm_model_free(m);
}
END_TEST

START_TEST(names_round_trip)
{
    bm_error e = {0};
    for (int k = BM_LAYER_DENSE; k <= BM_LAYER_DROPOUT; k++) {
        bm_layer_kind out;
        ck_ok(bm_layer_kind_parse(bm_layer_kind_name((bm_layer_kind)k), &out, &e), e);
        ck_assert_int_eq(out, k);
    }
    for (int k = BM_LOSS_CCE; k <= BM_LOSS_MAE; k++) {
        bm_loss_kind out;
        ck_ok(bm_loss_parse(bm_loss_name((bm_loss_kind)k), &out, &e), e);
        ck_assert_int_eq(out, k);
    }
    for (int k = BM_INIT_SMALL; k <= BM_INIT_HE; k++) {
        bm_init out;
        ck_ok(bm_init_parse(bm_init_name((bm_init)k), &out, &e), e);
        ck_assert_int_eq(out, k);
    }
    bm_loss_kind l;
    ck_err(bm_loss_parse("hinge", &l, &e), BM_ERR_ARG, e, "unknown loss 'hinge'");
    ck_assert_ptr_nonnull(strstr(e.msg, "softmax_cce"));
    ck_assert_str_eq(bm_layer_kind_name((bm_layer_kind)42), "unknown");
}
END_TEST

/* Old names keep working: the identity layer's "linear" (not the linear op) and the
 * optimizer's "lr_decay" beside "decay" (learning-rate decay); files are written with the
 * clear names. */
START_TEST(names_aliases)
{
    bm_error e = {0};
    bm_layer_kind k = BM_LAYER_DENSE;
    ck_assert_str_eq(bm_layer_kind_name(BM_LAYER_IDENTITY), "identity");
    ck_ok(bm_layer_kind_parse("linear", &k, &e), e);
    ck_assert_int_eq(k, BM_LAYER_IDENTITY);
    ck_assert_int_eq(BM_LAYER_LINEAR, BM_LAYER_IDENTITY);
    ck_err(bm_layer_kind_parse("Linear", &k, &e), BM_ERR_ARG, e, "unknown layer type 'Linear'");
    const char *text = "{\"inputs\": 2, \"layers\": [{\"type\": \"dense\", \"in\": 2, "
                       "\"out\": 2}, {\"type\": \"linear\"}], \"optimizer\": "
                       "{\"type\": \"sgd\", \"lr\": 0.5, \"lr_decay\": 0.25}}";
    bm_model *m = bm_model_from_json(text, strlen(text), "alias.json", NULL, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    ck_assert_int_eq(bm_model_layer(m, 1)->kind, BM_LAYER_IDENTITY);
    ck_assert(bm_optim_get_config(bm_model_optim(m))->decay == 0.25);
    char *out = bm_model_to_json(m, NULL, &e);
    ck_assert_msg(out != NULL, "%s", e.msg);
    ck_assert_msg(strstr(out, "{\"type\": \"identity\"}") && strstr(out, "\"decay\": 0.25") &&
                      !strstr(out, "lr_decay") && !strstr(out, "\"linear\""),
                  "%s", out);
    free(out);
    bm_model_free(m);
    const char *both = "{\"inputs\": 2, \"layers\": [{\"type\": \"dense\", \"in\": 2, "
                       "\"out\": 2}], \"optimizer\": {\"decay\": 0.1, \"lr_decay\": 0.1}}";
    ck_assert_ptr_null(bm_model_from_json(both, strlen(both), "both.json", NULL, &e));
    ck_assert_int_eq(e.code, BM_ERR_PARSE);
    ck_assert_str_eq(e.msg, "both.json: optimizer.lr_decay: another name of decay, which is "
                            "given too");
}
END_TEST

/* bm_build_features: snprintf-style, the GEMM kernel one this CPU runs. */
START_TEST(build_features)
{
    size_t need = bm_build_features(NULL, 0);
    ck_assert_uint_gt(need, 0);
    char buf[128], tiny[8];
    ck_assert_uint_eq(bm_build_features(buf, sizeof buf), need);
    ck_assert_uint_eq(strlen(buf), need);
    ck_assert_msg(!strncmp(buf, "blas=yes gemm=", 14) || !strncmp(buf, "blas=no gemm=", 13), "%s", buf);
    const char *gemm = strstr(buf, "gemm=") + 5;
    ck_assert_msg(!strcmp(gemm, "avx512") || !strcmp(gemm, "avx2") || !strcmp(gemm, "portable"),
                  "%s", buf);
    ck_assert_uint_eq(bm_build_features(tiny, sizeof tiny), need); /* truncated, terminated */
    ck_assert_uint_eq(strlen(tiny), sizeof tiny - 1);
}
END_TEST

START_TEST(model_getters)
{
    bm_model *m = small_model(1, 1);
    ck_assert_uint_eq(bm_model_n_layers(m), 4);
    ck_assert_uint_eq(bm_model_n_inputs(m), 2);
    ck_assert_uint_eq(bm_model_n_outputs(m), 3);
    ck_assert_uint_eq(bm_model_n_params(m), 2 * 4 + 4 + 4 * 3 + 3);
    ck_assert_int_eq(bm_model_dtype(m), BM_F32);
    ck_assert_int_eq(bm_model_loss(m), BM_LOSS_SOFTMAX_CCE);
    ck_assert_ptr_nonnull(bm_model_optim(m));
    ck_assert_ptr_null(bm_model_weights(m, 1)); /* relu */
    ck_assert_ptr_null(bm_model_weights(m, 9));
    ck_assert_ptr_null(bm_model_layer(m, 4));
    ck_assert_int_eq(bm_model_layer(m, 3)->kind, BM_LAYER_SOFTMAX);
    /* the weights and biases are views into the flat buffer, in layer order */
    float *p = bm_model_params(m);
    ck_assert_ptr_eq(bm_model_weights(m, 0)->data, p);
    ck_assert_ptr_eq(bm_model_biases(m, 0)->data, p + 8);
    ck_assert_ptr_eq(bm_model_weights(m, 2)->data, p + 12);
    ck_assert_ptr_eq(bm_model_biases(m, 2)->data, p + 24);
    ck_assert_ptr_eq(bm_model_weights(m, 2)->grad, (float *)bm_model_grads(m) + 12);
    ck_assert_str_eq(bm_model_weights(m, 2)->name, "layers[2].weights");
    ck_assert_str_eq(bm_model_group(m, bm_model_biases(m, 0)), "layers[0]: dense");
    bm_model_free(m);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("nn_api");
    TCase *metrics = tcase_create("metrics");
    tcase_add_test(metrics, accuracy_categorical);
    tcase_add_test(metrics, accuracy_binary);
    tcase_add_test(metrics, accuracy_regression);
    suite_add_tcase(s, metrics);

    TCase *api = tcase_create("api");
    tcase_add_test(api, errors_building);
    tcase_add_test(api, errors_fit_and_data);
    tcase_add_test(api, names_round_trip);
    tcase_add_test(api, names_aliases);
    tcase_add_test(api, model_getters);
    tcase_add_test(api, build_features);
    suite_add_tcase(s, api);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
