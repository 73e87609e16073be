#define _POSIX_C_SOURCE 200809L
/* test_hardening_api.c — issue 13's C API cases: NULL getters and index
 * checks, kernels that recheck values changed after recording, data checked
 * against the model (shapes, labels, BCE and one-hot targets in [0, 1]),
 * optimizer state checked against its domain, and fit stopped by a flag or
 * refusing an epoch count that would wrap. (Special files, the atomic writer
 * and graph export: test_hardening.c.) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* Assert status st and err have code `want` and the message holds `sub`. */
#define ck_err(st, e, want, sub) ck_err_at((st), &(e), (want), (sub), __LINE__)

static void ck_err_at(bm_status st, const bm_error *e, bm_status want, const char *sub, int line)
{
    ck_assert_msg(st == want, "line %d: status %s, expected %s (%s)", line, bm_status_name(st),
                  bm_status_name(want), e->msg);
    ck_assert_int_eq(e->code, want);
    if (sub)
        ck_assert_msg(strstr(e->msg, sub) != NULL, "line %d: message '%s' lacks '%s'", line,
                      e->msg, sub);
}

static const char SPEC[] = "{\"inputs\": 2, \"layers\": [{\"type\": \"dense\", \"in\": 2, "
                           "\"out\": 3}], \"loss\": \"softmax_cce\"}";

/* ------------------------------------------------------- NULL and indices */

START_TEST(null_getters)
{
    /* the bm_model_* accessors answer NULL with their neutral values */
    ck_assert_int_eq(bm_model_dtype(NULL), BM_F32);
    ck_assert_uint_eq(bm_model_n_inputs(NULL), 0);
    ck_assert_uint_eq(bm_model_n_outputs(NULL), 0);
    ck_assert_int_eq(bm_model_loss(NULL), BM_LOSS_CCE);
    ck_assert_uint_eq(bm_model_n_params(NULL), 0);
    ck_assert_ptr_null(bm_model_params(NULL));
    ck_assert_ptr_null(bm_model_grads(NULL));
    ck_assert_ptr_null(bm_model_optim(NULL));
    ck_assert_ptr_null(bm_model_rng(NULL));
    ck_assert_uint_eq(bm_model_epoch(NULL), 0);
    bm_model_set_epoch(NULL, 3);
    ck_assert_uint_eq(bm_model_n_layers(NULL), 0);
    ck_assert_ptr_null(bm_model_layer(NULL, 0));
    ck_assert_ptr_null(bm_model_group(NULL, NULL));
    /* tape switches and node walkers */
    ck_assert_int_eq(bm_tape_set_grad_enabled(NULL, 1), 0);
    ck_assert_int_eq(bm_tape_grad_enabled(NULL), 0);
    ck_assert_int_eq(bm_tape_freeze_random(NULL, 1), 0);
    ck_assert_ptr_null(bm_node_next(NULL));
    ck_assert_str_eq(bm_node_op_name(NULL), "");
    ck_assert_int_eq(bm_node_n_inputs(NULL), 0);
    ck_assert_ptr_null(bm_node_input(NULL, 0));
    ck_assert_ptr_null(bm_node_output(NULL));
    ck_assert_uint_eq(bm_node_index(NULL), 0);
    ck_assert_int_eq(bm_node_input_differentiable(NULL, 0), 0);
    char buf[32] = "x";
    bm_node_describe(NULL, buf, sizeof buf);
    bm_node_describe(NULL, NULL, 0);
    /* the RNG: NULL draws 0, below(0) draws nothing */
    bm_rng r;
    bm_rng_seed(NULL, 1);
    ck_assert_uint_eq(bm_rng_next(NULL), 0);
    ck_assert(bm_rng_uniform(NULL) == 0.0);
    ck_assert(bm_rng_normal(NULL) == 0.0);
    ck_assert_uint_eq(bm_rng_below(NULL, 5), 0);
    bm_rng_seed(&r, 1);
    bm_rng keep = r;
    ck_assert_uint_eq(bm_rng_below(&r, 0), 0);
    ck_assert_int_eq(memcmp(&keep, &r, sizeof r), 0);
    ck_assert_uint_lt(bm_rng_below(&r, 3), 3);
    /* gradcheck's NULL answer has a message */
    bm_gradcheck_result res;
    ck_assert_int_eq(bm_gradcheck(NULL, NULL, NULL, 0, NULL, &res), BM_ERR_NULL);
    ck_assert_str_ne(res.message, "");
    ck_assert_str_ne(res.error.msg, "");
    ck_assert_int_eq(bm_gradcheck(NULL, NULL, NULL, 0, NULL, NULL), BM_ERR_NULL);
}
END_TEST

START_TEST(tensor_index_checks)
{
    bm_error e = {0};
    size_t shp[2] = {2, 3};
    bm_tensor *t = bm_tensor_new(BM_F32, 2, shp, &e);
    ck_assert_ptr_nonnull(t);
    bm_tensor_set(t, 5, 2.5);
    ck_assert(bm_tensor_get(t, 5) == 2.5);
    bm_tensor_set(t, 6, 1.0); /* one past the end: nothing written */
    bm_tensor_set(t, SIZE_MAX, 1.0);
    ck_assert(isnan(bm_tensor_get(t, 6)));
    ck_assert(isnan(bm_tensor_get(t, SIZE_MAX)));
    ck_assert(bm_tensor_grad_get(t, 0) == 0.0); /* no gradient yet */
    ck_assert(isnan(bm_tensor_grad_get(t, 6)));
    ck_assert(isnan(bm_tensor_get(NULL, 0)));
    ck_assert(isnan(bm_tensor_grad_get(NULL, 0)));
    bm_tensor_set(NULL, 0, 1.0);
    bm_tensor_free(t);
}
END_TEST

/* ------------------------------------------- values changed after recording */

START_TEST(labels_rechecked_at_run_time)
{
    /* a class label changed after recording (no new recording) is checked
     * again by the fused loss's forward and backward: an error, no crash */
    bm_tape *t = bm_tape_new();
    size_t zs[2] = {2, 3}, ys[1] = {2};
    bm_tensor *z = bm_tape_leaf(t, BM_F64, 2, zs, 1), *y = bm_tape_leaf(t, BM_F64, 1, ys, 0);
    ck_assert_ptr_nonnull(y);
    bm_tensor_set(y, 0, 0.0);
    bm_tensor_set(y, 1, 2.0);
    bm_tensor *loss = bm_softmax_cce(t, z, y);
    ck_assert_msg(loss != NULL, "%s", bm_tape_error(t));
    ck_assert_int_eq(bm_tape_backward(t, loss, NULL), BM_OK);
    bm_tensor_set(y, 1, 7.0); /* past the 3 classes */
    ck_assert_int_eq(bm_tape_backward(t, loss, NULL), BM_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(bm_tape_error(t), "target 7 at row 1 is not a class index"));
    bm_tape_clear_error(t);
    ck_assert_int_eq(bm_tape_forward(t), BM_ERR_ARG);
    bm_tape_free(t);
}
END_TEST

/* ------------------------------------------------ data against the model */

static const char BCE_SPEC[] =
    "{\"inputs\": 2, \"layers\": [{\"type\": \"dense\", \"in\": 2, \"out\": 1}, {\"type\": "
    "\"sigmoid\"}], \"loss\": \"bce\", \"optimizer\": {\"type\": \"sgd\"}}";

/* x [4,2] and targets [4,1] (column 0 of y), or labels [4] with labels = 1. */
static void make_data(bm_dataset *d, const double *y, int labels)
{
    size_t xs[2] = {4, 2}, ys[2] = {4, 1};
    bm_error e = {0};
    d->x = bm_tensor_new(BM_F64, 2, xs, &e);
    d->y = bm_tensor_new(BM_F64, labels ? 1 : 2, ys, &e);
    ck_assert_ptr_nonnull(d->y);
    for (size_t i = 0; i < 8; i++)
        bm_tensor_set(d->x, i, 0.1 * (double)i);
    for (size_t i = 0; i < 4; i++)
        bm_tensor_set(d->y, i, y[i]);
    d->n_classes = labels ? 2 : 0;
}

START_TEST(bce_targets_in_unit_interval)
{
    bm_error e = {0};
    bm_model *m = bm_model_from_json(BCE_SPEC, sizeof BCE_SPEC - 1, "bce", NULL, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    static const double good[4] = {0, 1, 0.25, 1}, two[4] = {0, 1, 2, 1}, neg[4] = {0, -0.5, 1, 1};
    bm_dataset d = {0};
    double loss, acc;
    make_data(&d, two, 1); /* class labels read from a CSV: 2 is no bce target */
    ck_err(bm_model_fit(m, &d, NULL, &e), e, BM_ERR_ARG,
           "training data: row 2, column 0 has target 2; bce targets must be in [0, 1]");
    ck_assert_uint_eq(bm_model_epoch(m), 0);
    ck_err(bm_model_evaluate(m, &d, &loss, &acc, &e), e, BM_ERR_ARG,
           "evaluation data: row 2, column 0 has target 2");
    ck_err(bm_model_check_data(m, &d, NULL, &e), e, BM_ERR_ARG, "data: row 2, column 0");
    bm_dataset_free(&d);
    make_data(&d, neg, 0);
    ck_err(bm_model_fit(m, &d, NULL, &e), e, BM_ERR_ARG, "row 1, column 0 has target -0.5");
    bm_dataset_free(&d);
    make_data(&d, good, 0);
    ck_assert_msg(bm_model_fit(m, &d, NULL, &e) == BM_OK, "%s", e.msg);
    ck_assert_int_eq(bm_model_evaluate(m, &d, &loss, &acc, &e), BM_OK);
    ck_assert(loss >= 0.0);
    bm_dataset_free(&d);
    ck_err(bm_model_check_data(NULL, &d, "x", &e), e, BM_ERR_NULL, "x: model is NULL");
    bm_model_free(m);
}
END_TEST

START_TEST(one_hot_targets_in_unit_interval)
{
    bm_error e = {0};
    bm_model *m = bm_model_from_json(SPEC, sizeof SPEC - 1, "spec", NULL, &e);
    ck_assert_ptr_nonnull(m);
    size_t xs[2] = {2, 2}, ys[2] = {2, 3};
    bm_dataset d = {0};
    d.x = bm_tensor_new(BM_F64, 2, xs, &e);
    d.y = bm_tensor_new(BM_F64, 2, ys, &e);
    ck_assert_ptr_nonnull(d.y);
    bm_tensor_set(d.y, 0, 1.0);
    bm_tensor_set(d.y, 4, 1.5);
    ck_err(bm_model_check_data(m, &d, "onehot", &e), e, BM_ERR_ARG,
           "onehot: row 1, column 1 has target 1.5; softmax_cce targets must be in [0, 1]");
    bm_tensor_set(d.y, 4, 1.0);
    ck_assert_int_eq(bm_model_check_data(m, &d, "onehot", &e), BM_OK);
    bm_dataset_free(&d);
    bm_model_free(m);
}
END_TEST

/* ------------------------------------------------- optimizer state domain */

/* kind's checkpoint text with the first value of state array `name` made `v`;
 * returns the load status and the error. */
static bm_status load_with_state(const char *kind, const char *name, const char *v, bm_error *e)
{
    char spec[512];
    snprintf(spec, sizeof spec,
             "{\"inputs\": 2, \"layers\": [{\"type\": \"dense\", \"in\": 2, \"out\": 3}], "
             "\"loss\": \"softmax_cce\", \"optimizer\": {\"type\": \"%s\"%s}}",
             kind, strcmp(kind, "sgd") ? "" : ", \"momentum\": 0.5");
    bm_model *m = bm_model_from_json(spec, strlen(spec), "spec", NULL, e);
    ck_assert_msg(m != NULL, "%s", e->msg);
    char *text = bm_model_to_json(m, NULL, e);
    bm_model_free(m);
    ck_assert_ptr_nonnull(text);
    char key[32];
    snprintf(key, sizeof key, "\"%s\": [", name);
    char *at = strstr(text, key);
    ck_assert_ptr_nonnull(at);
    at += strlen(key);
    at += strspn(at, " \n");
    size_t old = strspn(at, "0123456789.e-+");
    size_t len = strlen(text), vl = strlen(v);
    char *edited = malloc(len + vl + 1);
    ck_assert_ptr_nonnull(edited);
    size_t pre = (size_t)(at - text);
    memcpy(edited, text, pre);
    memcpy(edited + pre, v, vl);
    strcpy(edited + pre + vl, at + old);
    free(text);
    m = bm_model_from_json(edited, strlen(edited), "ck.json", NULL, e);
    free(edited);
    bm_status s = m ? BM_OK : e->code;
    bm_model_free(m);
    return s;
}

START_TEST(optimizer_state_domain)
{
    bm_error e = {0};
    static const char *const kinds[3] = {"adagrad", "rmsprop", "adam"};
    for (int k = 0; k < 3; k++) {
        ck_err(load_with_state(kinds[k], "cache", "-0.5", &e), e, BM_ERR_ARG,
               "ck.json: optimizer.state.cache[0]: -0.5 is negative");
        ck_assert_int_eq(load_with_state(kinds[k], "cache", "0.5", &e), BM_OK);
    }
    /* momentums may have either sign */
    ck_assert_int_eq(load_with_state("adam", "momentums", "-0.5", &e), BM_OK);
    ck_assert_int_eq(load_with_state("sgd", "momentums", "-0.5", &e), BM_OK);
    /* the domain is the optimizer's */
    bm_optim_config c = bm_optim_defaults(BM_OPT_ADAM);
    bm_optim *o = bm_optim_new(&c, BM_F64, 4, &e);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(bm_optim_state_nonnegative(o, 0), 0);
    ck_assert_int_eq(bm_optim_state_nonnegative(o, 1), 1);
    ck_assert_int_eq(bm_optim_state_nonnegative(o, 2), 0);
    ck_assert_int_eq(bm_optim_state_nonnegative(NULL, 0), 0);
    bm_optim_free(o);
}
END_TEST

/* ---------------------------------------------------------- stopping fit */

START_TEST(fit_stop_flag_and_epoch_overflow)
{
    bm_error e = {0};
    bm_model *m = bm_model_from_json(BCE_SPEC, sizeof BCE_SPEC - 1, "bce", NULL, &e);
    ck_assert_ptr_nonnull(m);
    static const double y[4] = {0, 1, 0, 1};
    bm_dataset d = {0};
    make_data(&d, y, 0);
    volatile sig_atomic_t stop = 1;
    bm_fit_opts fo = bm_fit_defaults();
    fo.epochs = 5;
    fo.stop = &stop;
    ck_err(bm_model_fit(m, &d, &fo, &e), e, BM_ERR_INTERRUPTED, "epoch 0: stopped before step 0");
    ck_assert_uint_eq(bm_model_epoch(m), 0);
    ck_assert_str_eq(bm_status_name(BM_ERR_INTERRUPTED), "interrupted");
    stop = 0;
    ck_assert_int_eq(bm_model_fit(m, &d, &fo, &e), BM_OK);
    ck_assert_uint_eq(bm_model_epoch(m), 5);
    /* epoch + epochs must not wrap the counter */
    fo.epochs = UINT64_MAX - 4;
    ck_err(bm_model_fit(m, &d, &fo, &e), e, BM_ERR_ARG, "overflow the epoch counter");
    ck_assert_uint_eq(bm_model_epoch(m), 5);
    bm_dataset_free(&d);
    bm_model_free(m);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("hardening_api");
    TCase *tc = tcase_create("api");
    tcase_add_test(tc, null_getters);
    tcase_add_test(tc, tensor_index_checks);
    tcase_add_test(tc, labels_rechecked_at_run_time);
    tcase_add_test(tc, bce_targets_in_unit_interval);
    tcase_add_test(tc, one_hot_targets_in_unit_interval);
    tcase_add_test(tc, optimizer_state_domain);
    tcase_add_test(tc, fit_stop_flag_and_epoch_overflow);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
