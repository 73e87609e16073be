/* train_controls.c — `bmnn train --lr --weight-decay --clip-norm
 * --clip-value --schedule KIND[:key=value,...] --warmup N`. */
#define _GNU_SOURCE
#include <getopt.h>
#include <string.h>

#include "train_controls.h"

/* Longest --schedule argument. */
#define SCHEDULE_ARG_MAX 512

const struct option train_control_options[] = {
    {"lr", required_argument, NULL, TC_LR},
    {"weight-decay", required_argument, NULL, TC_WEIGHT_DECAY},
    {"clip-norm", required_argument, NULL, TC_CLIP_NORM},
    {"clip-value", required_argument, NULL, TC_CLIP_VALUE},
    {"schedule", required_argument, NULL, TC_SCHEDULE},
    {"warmup", required_argument, NULL, TC_WARMUP},
    {NULL, 0, NULL, 0}};
_Static_assert(sizeof train_control_options / sizeof train_control_options[0] == TC_N_OPTIONS + 1,
               "one table entry per TC_* option");

/* One key=value of --schedule into s (the model file's keys). */
static int schedule_key(bm_schedule *s, const char *key, const char *val)
{
    static const struct {
        const char *key;
        size_t offset;
        int is_count;
    } keys[] = {
        {"step_size", offsetof(bm_schedule, step_size), 1},
        {"gamma", offsetof(bm_schedule, gamma), 0},
        {"t_max", offsetof(bm_schedule, t_max), 1},
        {"eta_min", offsetof(bm_schedule, eta_min), 0},
        {"warmup_steps", offsetof(bm_schedule, warmup_steps), 1},
        {"warmup_start", offsetof(bm_schedule, warmup_start), 0},
    };
    char opt[SCHEDULE_ARG_MAX];
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        if (strcmp(key, keys[k].key) != 0)
            continue;
        snprintf(opt, sizeof opt, "--schedule %s", key);
        void *at = (char *)s + keys[k].offset;
        return keys[k].is_count ? cli_parse_uint("train", opt, val, 0, BM_MODEL_MAX_INT, (uint64_t *)at)
                                : cli_parse_double("train", opt, val, (double *)at);
    }
    cli_usage_error("train", "--schedule: unknown key '%s' (expected step_size, gamma, t_max, "
                    "eta_min, warmup_steps or warmup_start)", key);
    return -1;
}

/* KIND[:key=value,...] into *s, checked. */
static int parse_schedule(const char *arg, bm_schedule *s)
{
    char buf[SCHEDULE_ARG_MAX];
    bm_error e = {0};
    if (strlen(arg) >= sizeof buf) {
        cli_usage_error("train", "--schedule: argument too long");
        return -1;
    }
    strcpy(buf, arg);
    char *rest = strchr(buf, ':');
    if (rest)
        *rest++ = '\0';
    memset(s, 0, sizeof *s);
    if (bm_schedule_kind_parse(buf, &s->kind, &e) != BM_OK) {
        cli_usage_error("train", "--schedule: %s", e.msg);
        return -1;
    }
    for (char *kv = rest, *next; kv && *kv; kv = next) {
        next = strchr(kv, ',');
        if (next)
            *next++ = '\0';
        char *eq = strchr(kv, '=');
        if (!eq) {
            cli_usage_error("train", "--schedule: expected key=value, got '%s'", kv);
            return -1;
        }
        *eq = '\0';
        if (schedule_key(s, kv, eq + 1) != 0)
            return -1;
    }
    if (bm_schedule_check(s, &e) != BM_OK) {
        cli_usage_error("train", "--schedule %s: %s", arg, e.msg);
        return -1;
    }
    return 0;
}

/* A finite number >= 0. */
static int nonnegative(const char *opt, const char *arg, double *out)
{
    if (cli_parse_double("train", opt, arg, out))
        return -1;
    if (!(*out >= 0)) {
        cli_usage_error("train", "%s %g must be >= 0", opt, *out);
        return -1;
    }
    return 0;
}

int train_controls_take(train_controls *tc, int c, const char *arg)
{
    switch (c) {
    case TC_LR:
        tc->has_lr = 1;
        if (cli_parse_double("train", "--lr", arg, &tc->lr))
            return -1;
        if (!(tc->lr > 0)) {
            cli_usage_error("train", "--lr %g must be > 0", tc->lr);
            return -1;
        }
        return 0;
    case TC_WEIGHT_DECAY:
        tc->has_weight_decay = 1;
        return nonnegative("--weight-decay", arg, &tc->weight_decay);
    case TC_CLIP_NORM:
        tc->has_clip_norm = 1;
        return nonnegative("--clip-norm", arg, &tc->clip_norm);
    case TC_CLIP_VALUE:
        tc->has_clip_value = 1;
        return nonnegative("--clip-value", arg, &tc->clip_value);
    case TC_SCHEDULE:
        tc->has_schedule = 1;
        return parse_schedule(arg, &tc->schedule);
    case TC_WARMUP:
        tc->has_warmup = 1;
        return cli_parse_uint("train", "--warmup", arg, 0, BM_MODEL_MAX_INT, &tc->warmup);
    }
    return -1;
}

bm_status train_controls_apply(const train_controls *tc, bm_model *m, bm_error *err)
{
    bm_optim *o = bm_model_optim(m);
    bm_status s = BM_OK;
    for (size_t g = 0; s == BM_OK && g < bm_optim_n_groups(o); g++) {
        double lr, wd;
        int frozen;
        if ((s = bm_optim_group_get(o, g, &lr, &wd, &frozen, err)) == BM_OK)
            s = bm_optim_group_set(o, g, tc->has_lr ? tc->lr : lr,
                                   tc->has_weight_decay ? tc->weight_decay : wd, frozen, err);
    }
    double norm, value;
    bm_optim_get_clip(o, &norm, &value);
    if (s == BM_OK && (tc->has_clip_norm || tc->has_clip_value))
        s = bm_optim_set_clip(o, tc->has_clip_norm ? tc->clip_norm : norm,
                              tc->has_clip_value ? tc->clip_value : value, err);
    const bm_schedule *cur = bm_optim_get_schedule(o);
    bm_schedule sc = tc->has_schedule ? tc->schedule : cur ? *cur : (bm_schedule){0};
    if (tc->has_warmup)
        sc.warmup_steps = tc->warmup;
    if (s == BM_OK && (tc->has_schedule || tc->has_warmup))
        s = bm_optim_set_schedule(o, &sc, err);
    return s;
}
