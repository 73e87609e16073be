/* test_optim_sched.c — learning-rate schedules (values, validation, names,
 * applied per step by an optimizer), fit's per-step hook, a grouped and
 * scheduled optimizer in a model, and an AdamW checkpoint. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* f64 results agree with the hand formulas to this (values ~1). */
#define TOL 1e-12
/* pi, for the cosine schedule. */
#define PI 3.14159265358979323846

/* --------------------------------------------------------- schedules */

START_TEST(schedule_values)
{
    const double lr = 0.1;
    bm_schedule st = {.kind = BM_SCHED_STEP, .step_size = 3, .gamma = 0.5};
    bm_schedule ex = {.kind = BM_SCHED_EXPONENTIAL, .gamma = 0.9};
    bm_schedule co = {.kind = BM_SCHED_COSINE, .t_max = 10, .eta_min = 0.01};
    bm_schedule wc = co;
    wc.warmup_steps = 4;
    wc.warmup_start = 0.2;
    bm_schedule none = {0};
    for (uint64_t t = 0; t < 25; t++) {
        ck_near(bm_schedule_lr(&st, lr, t), lr * pow(0.5, (double)(t / 3)), TOL);
        ck_near(bm_schedule_lr(&ex, lr, t), lr * pow(0.9, (double)t), TOL);
        double cosv = 0.01 + (lr - 0.01) * (1 + cos(PI * (double)t / 10.0)) / 2;
        ck_near(bm_schedule_lr(&co, lr, t), cosv, TOL);
        double w = t < 4 ? lr * (0.2 + 0.8 * (double)t / 4.0)
                         : 0.01 + (lr - 0.01) * (1 + cos(PI * (double)(t - 4) / 10.0)) / 2;
        ck_near(bm_schedule_lr(&wc, lr, t), w, TOL);
        ck_assert(bm_schedule_lr(&none, lr, t) == lr);
        ck_assert(bm_schedule_lr(NULL, lr, t) == lr);
    }
    ck_near(bm_schedule_lr(&co, lr, 10), 0.01, TOL);
    ck_near(bm_schedule_lr(&co, lr, 20), lr, TOL); /* periodic past t_max, as torch's */
}
END_TEST

/* The optimizer's steps follow its schedule times the lr decay; a restored
 * iteration count resumes the schedule. */
START_TEST(optimizer_follows_schedule)
{
    bm_optim_config c = bm_optim_defaults(BM_OPT_SGD);
    c.lr = 0.2;
    c.decay = 0.01;
    bm_error e = {0};
    bm_optim_group gs[2] = {bm_optim_group_range(&c, 0, 1), bm_optim_group_range(&c, 1, 1)};
    gs[1].lr = 0.05;
    bm_optim *o = bm_optim_new_groups(&c, BM_F64, 2, gs, 2, &e);
    bm_schedule s = {.kind = BM_SCHED_COSINE, .t_max = 6, .eta_min = 0.001, .warmup_steps = 2};
    ck_assert_int_eq(bm_optim_set_schedule(o, &s, &e), BM_OK);
    ck_assert_int_eq(bm_optim_get_schedule(o)->kind, BM_SCHED_COSINE);
    double p[2] = {0, 0}, g[2] = {1, 1};
    for (uint64_t t = 0; t < 10; t++) {
        double f = 1.0 / (1.0 + c.decay * (double)t);
        double l0 = bm_schedule_lr(&s, 0.2, t) * f, l1 = bm_schedule_lr(&s, 0.05, t) * f;
        ck_assert(bm_optim_lr(o) == l0);
        ck_assert(bm_optim_group_lr(o, 1) == l1);
        double q0 = p[0] - l0, q1 = p[1] - l1;
        ck_assert_int_eq(bm_optim_step(o, p, g, 2, &e), BM_OK);
        ck_assert(p[0] == q0 && p[1] == q1);
    }
    bm_optim_set_iterations(o, 3);
    ck_assert(bm_optim_lr(o) == bm_schedule_lr(&s, 0.2, 3) * (1.0 / (1.0 + c.decay * 3)));
    /* warm-up from 0: the first step does nothing */
    s = (bm_schedule){.warmup_steps = 5};
    ck_assert_int_eq(bm_optim_set_schedule(o, &s, &e), BM_OK);
    bm_optim_set_iterations(o, 0);
    ck_assert(bm_optim_lr(o) == 0.0);
    ck_assert_int_eq(bm_optim_set_schedule(o, NULL, &e), BM_OK);
    ck_assert(bm_optim_lr(o) == 0.2);
    bm_optim_free(o);
}
END_TEST

START_TEST(bad_schedules_rejected)
{
    bm_error e = {0};
    struct {
        bm_schedule s;
        const char *field;
    } bad[] = {
        {{.kind = BM_SCHED_STEP, .step_size = 0, .gamma = 0.5}, "step_size"},
        {{.kind = BM_SCHED_STEP, .step_size = 2, .gamma = 0}, "gamma"},
        {{.kind = BM_SCHED_EXPONENTIAL, .gamma = NAN}, "gamma"},
        {{.kind = BM_SCHED_COSINE, .t_max = 0}, "t_max"},
        {{.kind = BM_SCHED_COSINE, .t_max = 3, .eta_min = -1}, "eta_min"},
        {{.warmup_steps = 2, .warmup_start = 1.5}, "warmup_start"},
        {{.kind = (bm_schedule_kind)9}, "kind"},
    };
    bm_optim_config c = bm_optim_defaults(BM_OPT_ADAM);
    bm_optim *o = bm_optim_new(&c, BM_F64, 2, &e);
    bm_schedule ok = {.kind = BM_SCHED_EXPONENTIAL, .gamma = 0.5};
    ck_assert_int_eq(bm_optim_set_schedule(o, &ok, &e), BM_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(bm_schedule_check(&bad[i].s, &e), BM_ERR_ARG);
        ck_assert_msg(strstr(e.msg, bad[i].field), "%zu: %s", i, e.msg);
        ck_assert_int_eq(bm_optim_set_schedule(o, &bad[i].s, &e), BM_ERR_ARG);
    }
    ck_assert_int_eq(bm_optim_get_schedule(o)->kind, BM_SCHED_EXPONENTIAL); /* kept */
    bm_optim_free(o);
    const char *names[] = {"constant", "step", "exponential", "cosine"};
    for (int k = 0; k < 4; k++) {
        bm_schedule_kind out = BM_SCHED_CONSTANT;
        ck_assert_str_eq(bm_schedule_kind_name((bm_schedule_kind)k), names[k]);
        ck_assert_int_eq(bm_schedule_kind_parse(names[k], &out, &e), BM_OK);
        ck_assert_int_eq(out, k);
    }
    bm_schedule_kind out;
    ck_assert_int_eq(bm_schedule_kind_parse("Cosine", &out, &e), BM_OK);
    ck_assert_int_eq(out, BM_SCHED_COSINE);
    ck_assert_int_eq(bm_schedule_kind_parse("onecycle", &out, &e), BM_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(e.msg, "'onecycle'"));
    ck_assert_str_eq(bm_schedule_kind_name((bm_schedule_kind)7), "unknown");
}
END_TEST

/* ------------------------------------------------------ fit's step hook */

typedef struct hook_log {
    uint64_t steps[64];
    uint64_t epochs[64];
    double losses[64], lrs[64];
    size_t n, stop_after;
} hook_log;

static int hook(void *ud, const bm_step_stats *s)
{
    hook_log *h = ud;
    if (h->n < 64) {
        h->steps[h->n] = s->step;
        h->epochs[h->n] = s->epoch;
        h->losses[h->n] = s->loss;
        h->lrs[h->n] = s->lr;
    }
    h->n++;
    return h->stop_after && h->n >= h->stop_after;
}


START_TEST(fit_step_hook_sees_every_step_and_stops)
{
    bm_dataset ds;
    bm_model *m = bm_test_small_model(BM_OPT_ADAMW, &ds);
    bm_error e = {0};
    hook_log h = {.n = 0};
    bm_fit_opts fo = bm_fit_defaults();
    fo.epochs = 3;
    fo.batch_size = 7; /* 20 rows: 3 steps an epoch */
    fo.step_hook = hook;
    fo.step_hook_ud = &h;
    ck_assert_int_eq(bm_model_fit(m, &ds, &fo, &e), BM_OK);
    ck_assert_uint_eq(h.n, 9);
    for (size_t i = 0; i < h.n; i++) {
        ck_assert_uint_eq(h.steps[i], i);
        ck_assert_uint_eq(h.epochs[i], i / 3);
        ck_assert(isfinite(h.losses[i]) && h.losses[i] > 0);
        ck_assert(h.lrs[i] == 0.02);
    }
    /* stop after the 5th step of this fit: epoch 4 of the model's life */
    h = (hook_log){.stop_after = 5};
    fo.epochs = 10;
    ck_assert_int_eq(bm_model_fit(m, &ds, &fo, &e), BM_OK);
    ck_assert_uint_eq(h.n, 5);
    ck_assert_uint_eq(bm_optim_iterations(bm_model_optim(m)), 14);
    ck_assert_uint_eq(bm_model_epoch(m), 4); /* 3 + 1 finished; the 5th not */
    ck_assert_uint_eq(h.epochs[4], 4);
    bm_model_free(m);
    bm_dataset_free(&ds);
}
END_TEST

/* A grouped optimizer handed to the model: the frozen first layer does not
 * move, the rest trains; the schedule's lr reaches the hook. */
START_TEST(model_trains_with_grouped_optimizer)
{
    bm_dataset ds;
    bm_model *m = bm_test_small_model(BM_OPT_ADAMW, &ds);
    bm_error e = {0};
    size_t off, cnt, first, n = bm_model_n_params(m);
    ck_assert_int_eq(bm_model_param_range(m, bm_model_weights(m, 0), &off, &cnt, &e), BM_OK);
    ck_assert_uint_eq(off, 0);
    ck_assert_uint_eq(cnt, 2 * 4);
    ck_assert_int_eq(bm_model_param_range(m, bm_model_biases(m, 0), &off, &cnt, &e), BM_OK);
    first = off + cnt; /* layer 0: weights, then biases */
    ck_assert_uint_eq(first, 2 * 4 + 4);
    ck_assert_int_eq(bm_model_param_range(m, bm_model_biases(m, 2), &off, &cnt, &e), BM_OK);
    ck_assert_uint_eq(off + cnt, n);
    bm_tensor *stranger = bm_tensor_new(BM_F64, 1, (size_t[]){2}, &e);
    ck_assert_int_eq(bm_model_param_range(m, stranger, &off, &cnt, &e), BM_ERR_ARG);
    bm_tensor_free(stranger);
    bm_optim_config c = *bm_optim_get_config(bm_model_optim(m));
    bm_optim_group gs[2] = {bm_optim_group_range(&c, 0, first),
                            bm_optim_group_range(&c, first, n - first)};
    gs[0].frozen = 1;
    bm_optim *o = bm_optim_new_groups(&c, BM_F64, n, gs, 2, &e);
    bm_schedule s = {.kind = BM_SCHED_EXPONENTIAL, .gamma = 0.5};
    ck_assert_int_eq(bm_optim_set_schedule(o, &s, &e), BM_OK);
    ck_assert_int_eq(bm_optim_set_clip(o, 1.0, 0, &e), BM_OK);
    bm_optim *wrong = bm_optim_new(&c, BM_F64, n - 1, &e);
    ck_assert_int_eq(bm_model_use_optim(m, wrong, &e), BM_ERR_SIZE);
    bm_optim_free(wrong);
    ck_assert_int_eq(bm_model_use_optim(m, o, &e), BM_OK);
    double *p = bm_model_params(m), *before = malloc(n * sizeof *before);
    memcpy(before, p, n * sizeof *before);
    hook_log h = {.n = 0};
    bm_fit_opts fo = bm_fit_defaults();
    fo.epochs = 4;
    fo.step_hook = hook;
    fo.step_hook_ud = &h;
    ck_assert_int_eq(bm_model_fit(m, &ds, &fo, &e), BM_OK);
    ck_assert(!memcmp(p, before, first * sizeof *p));
    ck_assert(memcmp(p + first, before + first, (n - first) * sizeof *p));
    ck_assert(isfinite(bm_optim_grad_norm(o)));
    for (size_t i = 0; i < h.n; i++)
        ck_assert(h.lrs[i] == c.lr * pow(0.5, (double)i));
    free(before);
    bm_model_free(m);
    bm_dataset_free(&ds);
}
END_TEST

/* An AdamW checkpoint (its weight_decay too) resumes exactly. */
START_TEST(adamw_checkpoint_resumes_exactly)
{
    bm_dataset ds;
    bm_model *m = bm_test_small_model(BM_OPT_ADAMW, &ds);
    bm_error e = {0};
    bm_optim_config c = *bm_optim_get_config(bm_model_optim(m));
    c.weight_decay = 0.125;
    ck_assert_int_eq(bm_model_set_optimizer(m, &c, &e), BM_OK);
    bm_fit_opts fo = bm_fit_defaults();
    fo.epochs = 2;
    fo.batch_size = 8;
    ck_assert_int_eq(bm_model_fit(m, &ds, &fo, &e), BM_OK);
    char *js = bm_model_to_json(m, NULL, &e);
    ck_assert_msg(js != NULL, "%s", e.msg);
    ck_assert_ptr_nonnull(strstr(js, "\"adamw\""));
    bm_model *r = bm_model_from_json(js, strlen(js), "adamw.json", NULL, &e);
    ck_assert_msg(r != NULL, "%s", e.msg);
    free(js);
    const bm_optim_config *rc = bm_optim_get_config(bm_model_optim(r));
    ck_assert_int_eq(rc->kind, BM_OPT_ADAMW);
    ck_assert(rc->weight_decay == 0.125 && rc->lr == c.lr);
    ck_assert_int_eq(bm_model_fit(m, &ds, &fo, &e), BM_OK);
    ck_assert_int_eq(bm_model_fit(r, &ds, &fo, &e), BM_OK);
    size_t n = bm_model_n_params(m);
    ck_assert(!memcmp(bm_model_params(m), bm_model_params(r), n * sizeof(double)));
    bm_model_free(m);
    bm_model_free(r);
    bm_dataset_free(&ds);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("optim_sched");
    TCase *sched = tcase_create("schedules");
    tcase_add_test(sched, schedule_values);
    tcase_add_test(sched, optimizer_follows_schedule);
    tcase_add_test(sched, bad_schedules_rejected);
    suite_add_tcase(s, sched);
    TCase *fit = tcase_create("fit");
    tcase_add_test(fit, fit_step_hook_sees_every_step_and_stops);
    tcase_add_test(fit, model_trains_with_grouped_optimizer);
    tcase_add_test(fit, adamw_checkpoint_resumes_exactly);
    suite_add_tcase(s, fit);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
