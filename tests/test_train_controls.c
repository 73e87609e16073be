/* test_train_controls.c — training controls in model files (weight_decay
 * for every kind, clip, schedule: round trips, bytes of older files, errors
 * naming the JSON path, a scheduled and clipped checkpoint resuming
 * exactly), fit's early stopping and on_best callback, CSV files without
 * labels, parameter groups set again mid-training keeping the optimizer's
 * state. (.npy/.npz: test_npz.c.) */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

/* Epochs before and after the checkpoint of the resume test. */
#define RESUME_EPOCHS 3
/* Rows per batch (20 rows: several steps per epoch). */
#define BATCH 6


/* A model's JSON, asserted to exist (free with free()). */
static char *json_of(bm_model *m)
{
    bm_error e = {0};
    char *js = bm_model_to_json(m, NULL, &e);
    ck_assert_msg(js != NULL, "%s", e.msg);
    return js;
}

static bm_model *from_json(const char *js)
{
    bm_error e = {0};
    bm_model *r = bm_model_from_json(js, strlen(js), "m.json", NULL, &e);
    ck_assert_msg(r != NULL, "%s", e.msg);
    return r;
}

/* -------------------------------------------------------- model files */

START_TEST(weight_decay_of_every_kind)
{
    static const bm_optim_kind kinds[] = {BM_OPT_SGD, BM_OPT_ADAGRAD, BM_OPT_RMSPROP, BM_OPT_ADAM};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        bm_dataset ds;
        bm_error e = {0};
        bm_model *m = bm_test_small_model(kinds[k], &ds);
        char *plain = json_of(m); /* weight_decay 0: the key is not written */
        ck_assert_ptr_null(strstr(plain, "weight_decay"));
        bm_optim_config c = *bm_optim_get_config(bm_model_optim(m));
        c.weight_decay = 0.25;
        ck_assert_int_eq(bm_model_set_optimizer(m, &c, &e), BM_OK);
        char *js = json_of(m);
        ck_assert_ptr_nonnull(strstr(js, "\"weight_decay\": 0.25"));
        bm_model *r = from_json(js);
        ck_assert(bm_optim_get_config(bm_model_optim(r))->weight_decay == 0.25);
        char *again = json_of(r);
        ck_assert_str_eq(js, again);
        free(plain);
        free(js);
        free(again);
        bm_model_free(m);
        bm_model_free(r);
        bm_dataset_free(&ds);
    }
}
END_TEST

START_TEST(clip_and_schedule_round_trip)
{
    bm_dataset ds;
    bm_error e = {0};
    bm_model *m = bm_test_small_model(BM_OPT_ADAM, &ds);
    bm_optim *o = bm_model_optim(m);
    bm_schedule s = {.kind = BM_SCHED_COSINE, .t_max = 40, .eta_min = 0.001, .warmup_steps = 5,
                     .warmup_start = 0.25};
    ck_assert_int_eq(bm_optim_set_schedule(o, &s, &e), BM_OK);
    ck_assert_int_eq(bm_optim_set_clip(o, 0.5, 2.0, &e), BM_OK);
    char *js = json_of(m);
    ck_assert_ptr_nonnull(strstr(js, "\"clip\": {\"max_norm\": 0.5, \"max_value\": 2}"));
    ck_assert_ptr_nonnull(strstr(js, "\"schedule\": {\"type\": \"cosine\", \"t_max\": 40, "
                                     "\"eta_min\": 0.001, \"warmup_steps\": 5, "
                                     "\"warmup_start\": 0.25}"));
    bm_model *r = from_json(js);
    const bm_schedule *rs = bm_optim_get_schedule(bm_model_optim(r));
    ck_assert(rs->kind == BM_SCHED_COSINE && rs->t_max == 40 && rs->eta_min == 0.001 &&
              rs->warmup_steps == 5 && rs->warmup_start == 0.25);
    double norm, value;
    bm_optim_get_clip(bm_model_optim(r), &norm, &value);
    ck_assert(norm == 0.5 && value == 2.0);
    char *again = json_of(r);
    ck_assert_str_eq(js, again);
    /* step and exponential write their own keys; no warm-up, no warm-up keys */
    bm_schedule st = {.kind = BM_SCHED_STEP, .step_size = 3, .gamma = 0.5};
    ck_assert_int_eq(bm_optim_set_schedule(o, &st, &e), BM_OK);
    free(js);
    js = json_of(m);
    ck_assert_ptr_nonnull(strstr(js, "\"schedule\": {\"type\": \"step\", \"step_size\": 3, "
                                     "\"gamma\": 0.5}"));
    /* a warm-up alone: the constant type with its warm-up keys, read back */
    bm_schedule wu = {.kind = BM_SCHED_CONSTANT, .warmup_steps = 7, .warmup_start = 0.5};
    ck_assert_int_eq(bm_optim_set_schedule(o, &wu, &e), BM_OK);
    free(js);
    js = json_of(m);
    ck_assert_ptr_nonnull(strstr(js, "\"schedule\": {\"type\": \"constant\", "
                                     "\"warmup_steps\": 7, \"warmup_start\": 0.5}"));
    bm_model *w = from_json(js);
    const bm_schedule *ws = bm_optim_get_schedule(bm_model_optim(w));
    ck_assert(ws->kind == BM_SCHED_CONSTANT && ws->warmup_steps == 7 && ws->warmup_start == 0.5);
    bm_model_free(w);
    /* lr changed on the optimizer's one group is what the file says */
    ck_assert_int_eq(bm_optim_group_set(o, 0, 0.125, 0, 0, &e), BM_OK);
    free(js);
    js = json_of(m);
    ck_assert_ptr_nonnull(strstr(js, "\"lr\": 0.125"));
    free(js);
    free(again);
    bm_model_free(m);
    bm_model_free(r);
    bm_dataset_free(&ds);
}
END_TEST

/* Fit f epochs with the test's batches. */
static void fit(bm_model *m, const bm_dataset *ds, uint64_t epochs)
{
    bm_error e = {0};
    bm_fit_opts fo = bm_fit_defaults();
    fo.epochs = epochs;
    fo.batch_size = BATCH;
    fo.shuffle = 1;
    ck_assert_msg(bm_model_fit(m, ds, &fo, &e) == BM_OK, "%s", e.msg);
}

START_TEST(scheduled_checkpoint_resumes_exactly)
{
    bm_dataset ds;
    bm_error e = {0};
    bm_model *a = bm_test_small_model(BM_OPT_SGD, &ds);
    const char spec[] =
        "{\"inputs\": 2, \"layers\": [{\"type\": \"dense\", \"in\": 2, \"out\": 4}, "
        "{\"type\": \"relu\"}, {\"type\": \"dense\", \"in\": 4, \"out\": 2}], "
        "\"optimizer\": {\"type\": \"sgd\", \"lr\": 0.5, \"momentum\": 0.5, "
        "\"weight_decay\": 0.01, \"clip\": {\"max_norm\": 0.05}, "
        "\"schedule\": {\"type\": \"exponential\", \"gamma\": 0.9, \"warmup_steps\": 4, "
        "\"warmup_start\": 0.5}}, \"dtype\": \"f64\", \"training\": {\"seed\": 7}}";
    bm_model_free(a);
    a = from_json(spec);
    bm_model *b = from_json(spec);
    fit(a, &ds, 2 * RESUME_EPOCHS);
    fit(b, &ds, RESUME_EPOCHS);
    char *js = json_of(b);
    bm_model *c = from_json(js);
    free(js);
    ck_assert_uint_eq(bm_optim_iterations(bm_model_optim(c)),
                      bm_optim_iterations(bm_model_optim(b)));
    fit(c, &ds, RESUME_EPOCHS);
    size_t n = bm_model_n_params(a);
    ck_assert(!memcmp(bm_model_params(a), bm_model_params(c), n * sizeof(double)));
    ck_assert(bm_optim_lr(bm_model_optim(a)) == bm_optim_lr(bm_model_optim(c)));
    /* the schedule changed the lr: not the constant 0.5 */
    ck_assert(bm_optim_lr(bm_model_optim(a)) < 0.5);
    ck_assert(!isnan(bm_optim_grad_norm(bm_model_optim(a)))); /* clipping by norm ran */
    (void)e;
    bm_model_free(a);
    bm_model_free(b);
    bm_model_free(c);
    bm_dataset_free(&ds);
}
END_TEST

/* The error loading an optimizer object opt (a JSON object's text). */
static bm_error load_error(const char *opt)
{
    char js[1024];
    snprintf(js, sizeof js,
             "{\"inputs\": 2, \"layers\": [{\"type\": \"dense\", \"in\": 2, \"out\": 2}], "
             "\"optimizer\": %s}", opt);
    bm_error e = {0};
    bm_model *m = bm_model_from_json(js, strlen(js), "m.json", NULL, &e);
    ck_assert_msg(m == NULL, "loaded: %s", opt);
    return e;
}

START_TEST(control_errors_name_the_path)
{
    static const struct {
        const char *opt, *msg;
        bm_status code;
    } cases[] = {
        {"{\"weight_decay\": -1}", "m.json: optimizer.weight_decay: -1 must be >= 0", BM_ERR_ARG},
        {"{\"clip\": 3}", "m.json: optimizer.clip: expected an object", BM_ERR_PARSE},
        {"{\"clip\": {\"max_norm\": -0.5}}", "m.json: optimizer.clip.max_norm: -0.5 must be >= 0",
         BM_ERR_ARG},
        {"{\"clip\": {\"norm\": 1}}", "m.json: optimizer.clip.norm: unknown key", BM_ERR_PARSE},
        {"{\"schedule\": {\"gamma\": 0.5}}", "m.json: optimizer.schedule.type: missing key",
         BM_ERR_PARSE},
        {"{\"schedule\": {\"type\": \"linear\"}}", "m.json: optimizer.schedule.type: ",
         BM_ERR_PARSE},
        {"{\"schedule\": {\"type\": \"step\", \"gamma\": 0.5}}",
         "m.json: optimizer.schedule.step_size: missing key", BM_ERR_PARSE},
        {"{\"schedule\": {\"type\": \"step\", \"step_size\": 0, \"gamma\": 0.5}}",
         "m.json: optimizer.schedule.step_size: ", BM_ERR_ARG},
        {"{\"schedule\": {\"type\": \"exponential\"}}",
         "m.json: optimizer.schedule.gamma: missing key", BM_ERR_PARSE},
        {"{\"schedule\": {\"type\": \"cosine\", \"t_max\": 10, \"gamma\": 0.5}}",
         "m.json: optimizer.schedule.gamma: unknown key", BM_ERR_PARSE},
        {"{\"schedule\": {\"type\": \"constant\", \"warmup_steps\": 2, \"warmup_start\": 1.5}}",
         "m.json: optimizer.schedule.warmup_start: 1.5 must be in [0, 1]", BM_ERR_ARG},
        {"{\"schedule\": {\"type\": \"cosine\", \"t_max\": 2.5}}",
         "m.json: optimizer.schedule.t_max: ", BM_ERR_ARG},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bm_error e = load_error(cases[i].opt);
        ck_assert_msg(strncmp(e.msg, cases[i].msg, strlen(cases[i].msg)) == 0,
                      "%s: got '%s', want '%s...'", cases[i].opt, e.msg, cases[i].msg);
        ck_assert_msg(e.code == cases[i].code, "%s: status %d", cases[i].opt, (int)e.code);
    }
}
END_TEST

/* ----------------------------------------------- early stopping, best */

typedef struct best_log {
    int calls;
    uint64_t epoch;  /* bm_model_epoch at the last call */
    double val;      /* its val_loss */
    bm_model *m;
} best_log;

static int on_best(void *ud, const bm_epoch_stats *s)
{
    best_log *b = ud;
    b->calls++;
    b->epoch = bm_model_epoch(b->m);
    ck_assert(s->val_loss < b->val);
    b->val = s->val_loss;
    return 0;
}

START_TEST(early_stop_and_best)
{
    bm_dataset ds;
    bm_error e = {0};
    bm_model *m = bm_test_small_model(BM_OPT_SGD, &ds);
    bm_optim_config c = *bm_optim_get_config(bm_model_optim(m));
    c.lr = 20.0; /* far too high: the validation loss stops falling soon */
    ck_assert_int_eq(bm_model_set_optimizer(m, &c, &e), BM_OK);
    best_log b = {.val = INFINITY, .m = m};
    bm_fit_opts fo = bm_fit_defaults();
    fo.epochs = 1000;
    fo.val = &ds;
    fo.early_stop = 3;
    fo.on_best = on_best;
    fo.on_best_ud = &b;
    ck_assert_msg(bm_model_fit(m, &ds, &fo, &e) == BM_OK, "%s", e.msg);
    uint64_t ran = bm_model_epoch(m);
    ck_assert_uint_lt(ran, 1000);
    ck_assert_int_ge(b.calls, 1);
    ck_assert_uint_eq(ran, b.epoch + 3); /* 3 epochs without a new best after the last */
    /* no validation data: both options are refused */
    fo.val = NULL;
    ck_assert_int_eq(bm_model_fit(m, &ds, &fo, &e), BM_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(e.msg, "early_stop needs validation data"));
    fo.early_stop = 0;
    ck_assert_int_eq(bm_model_fit(m, &ds, &fo, &e), BM_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(e.msg, "on_best needs validation data"));
    ck_assert_uint_eq(bm_model_epoch(m), ran);
    bm_model_free(m);
    bm_dataset_free(&ds);
}
END_TEST

START_TEST(csv_without_labels)
{
    char path[] = "/tmp/bm_test_controls_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char text[] = "a,b,c\n1,2,3\n4,5,6\n";
    ck_assert_int_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    bm_csv_opts o = bm_csv_defaults();
    o.no_label = 1;
    bm_dataset ds;
    bm_error e = {0};
    ck_assert_msg(bm_data_load_csv(&ds, path, &o, BM_F64, &e) == BM_OK, "%s", e.msg);
    ck_assert_uint_eq(ds.x->shape[0], 2);
    ck_assert_uint_eq(ds.x->shape[1], 3);
    ck_assert_ptr_null(ds.y);
    ck_assert(bm_tensor_get(ds.x, 5) == 6.0);
    bm_dataset_free(&ds);
    o.no_label = 0; /* the same file with labels: two features */
    ck_assert_int_eq(bm_data_load_csv(&ds, path, &o, BM_F64, &e), BM_OK);
    ck_assert_uint_eq(ds.x->shape[1], 2);
    bm_dataset_free(&ds);
    unlink(path);
}
END_TEST

/* ------------------------------------------------- groups set again */

/* The second group's lr in the groups test. */
#define GROUP_LR1 0.03

/* Train m in two groups: layers[0] at lr0, layers[2] at GROUP_LR1. */
static void set_two_groups(bm_model *m, double lr0)
{
    bm_error e = {0};
    const char *n0[] = {"layers[0]"}, *n1[] = {"layers[2]"};
    bm_param_group g[2] = {{.nodes = n0, .n_nodes = 1, .lr = lr0},
                           {.nodes = n1, .n_nodes = 1, .lr = GROUP_LR1}};
    ck_assert_msg(bm_model_set_param_groups(m, 2, g, &e) == BM_OK, "%s", e.msg);
    ck_assert_uint_eq(bm_optim_n_groups(bm_model_optim(m)), 2); /* one range each */
}

/* A small model of kind k (SGD with momentum) in two groups. */
static bm_model *grouped_model(bm_optim_kind k, bm_dataset *ds)
{
    bm_error e = {0};
    bm_model *m = bm_test_small_model(k, ds);
    bm_optim_config c = *bm_optim_get_config(bm_model_optim(m));
    c.momentum = k == BM_OPT_SGD ? 0.9 : c.momentum;
    ck_assert_msg(bm_model_set_optimizer(m, &c, &e) == BM_OK, "%s", e.msg);
    set_two_groups(m, c.lr);
    return m;
}

/* Same parameters, step count and optimizer state, bit for bit. */
static int same_training(bm_model *a, bm_model *b)
{
    bm_optim *oa = bm_model_optim(a), *ob = bm_model_optim(b);
    size_t bytes = bm_model_n_params(a) * sizeof(double);
    int same = !memcmp(bm_model_params(a), bm_model_params(b), bytes) &&
               bm_optim_iterations(oa) == bm_optim_iterations(ob) &&
               bm_optim_state_count(oa) == bm_optim_state_count(ob);
    for (int k = 0; same && k < bm_optim_state_count(oa); k++)
        same = !memcmp(bm_optim_state(oa, k), bm_optim_state(ob, k), bytes);
    return same;
}

START_TEST(regrouping_keeps_state)
{
    static const bm_optim_kind kinds[] = {BM_OPT_SGD, BM_OPT_ADAM, BM_OPT_ADAMW};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        for (int change = 0; change < 2; change++) {
            bm_dataset ds, ds_b, ds_c;
            bm_error e = {0};
            bm_model *a = grouped_model(kinds[i], &ds), *b = grouped_model(kinds[i], &ds_b);
            bm_model *c = grouped_model(kinds[i], &ds_c);
            double lr0 = bm_optim_group_lr(bm_model_optim(a), 0), lr1 = change ? 0.5 * lr0 : lr0;
            fit(a, &ds, RESUME_EPOCHS);
            fit(b, &ds, RESUME_EPOCHS);
            fit(c, &ds, RESUME_EPOCHS);
            ck_assert(bm_optim_state_count(bm_model_optim(b)) > 0);
            /* a: the uninterrupted run, its lr changed in place */
            ck_assert_msg(bm_optim_group_set(bm_model_optim(a), 0, lr1, 0, 0, &e) == BM_OK,
                          "%s", e.msg);
            set_two_groups(b, lr1); /* b: the groups set again */
            /* c: a new optimizer, then the groups (its state starts at zero) */
            bm_optim_config cfg = *bm_optim_get_config(bm_model_optim(c));
            ck_assert(bm_model_set_optimizer(c, &cfg, &e) == BM_OK);
            set_two_groups(c, lr1);
            ck_assert_uint_eq(bm_optim_iterations(bm_model_optim(c)), 0);
            fit(a, &ds, RESUME_EPOCHS);
            fit(b, &ds, RESUME_EPOCHS);
            fit(c, &ds, RESUME_EPOCHS);
            ck_assert_msg(same_training(a, b), "%s, lr change %d: regrouping changed the run",
                          bm_optim_kind_name(kinds[i]), change);
            ck_assert_msg(!same_training(a, c), "the reset run is the same: the test sees "
                          "nothing");
            ck_assert(bm_optim_group_lr(bm_model_optim(b), 0) ==
                      bm_optim_group_lr(bm_model_optim(a), 0));
            bm_model_free(a);
            bm_model_free(b);
            bm_model_free(c);
            bm_dataset_free(&ds);
            bm_dataset_free(&ds_b);
            bm_dataset_free(&ds_c);
        }
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("train_controls");
    TCase *io = tcase_create("model_files");
    tcase_add_test(io, weight_decay_of_every_kind);
    tcase_add_test(io, clip_and_schedule_round_trip);
    tcase_add_test(io, scheduled_checkpoint_resumes_exactly);
    tcase_add_test(io, control_errors_name_the_path);
    suite_add_tcase(s, io);
    TCase *fitc = tcase_create("fit");
    tcase_add_test(fitc, early_stop_and_best);
    tcase_add_test(fitc, csv_without_labels);
    tcase_add_test(fitc, regrouping_keeps_state);
    suite_add_tcase(s, fitc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
