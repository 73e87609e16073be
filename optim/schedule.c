/* schedule.c — learning-rate schedules: lr(t) from a base lr, the closed
 * forms of torch.optim.lr_scheduler's StepLR, ExponentialLR,
 * CosineAnnealingLR, with LinearLR's warm-up before them. */
#include <math.h>

#include "optim_internal.h"

/* pi, for the cosine. */
#define SCHED_PI 3.14159265358979323846

/* Names by kind. */
static const char *const SCHED_NAMES[] = {
    [BM_SCHED_CONSTANT] = "constant",
    [BM_SCHED_STEP] = "step",
    [BM_SCHED_EXPONENTIAL] = "exponential",
    [BM_SCHED_COSINE] = "cosine",
};
/* Number of kinds. */
#define N_SCHED (sizeof SCHED_NAMES / sizeof SCHED_NAMES[0])

const char *bm_schedule_kind_name(bm_schedule_kind k)
{
    return (unsigned)k < N_SCHED ? SCHED_NAMES[k] : "unknown";
}

bm_status bm_schedule_kind_parse(const char *name, bm_schedule_kind *out, bm_error *err)
{
    if (!name || !out)
        return bm_error_set(err, BM_ERR_NULL, "bm_schedule_kind_parse: %s is NULL",
                            !name ? "name" : "out");
    for (size_t i = 0; i < N_SCHED; i++) {
        if (bm_optim_name_eq(name, SCHED_NAMES[i])) {
            *out = (bm_schedule_kind)i;
            return BM_OK;
        }
    }
    return bm_error_set(err, BM_ERR_ARG,
                        "bm_schedule_kind_parse: unknown schedule '%.64s' "
                        "(expected constant, step, exponential or cosine)",
                        name);
}

bm_status bm_schedule_check(const bm_schedule *s, bm_error *err)
{
    static const char fn[] = "bm_schedule_check";
    if (!s)
        return BM_OK;
    if (!(s->warmup_start >= 0.0 && s->warmup_start <= 1.0))
        return bm_error_set(err, BM_ERR_ARG, "%s: warmup_start = %g: must be in [0, 1]", fn,
                            s->warmup_start);
    switch (s->kind) {
    case BM_SCHED_CONSTANT:
        return BM_OK;
    case BM_SCHED_STEP:
        if (s->step_size == 0)
            return bm_error_set(err, BM_ERR_ARG, "%s: step_size = 0: must be >= 1", fn);
        return bm_optim_check_positive(fn, "gamma", s->gamma, err);
    case BM_SCHED_EXPONENTIAL:
        return bm_optim_check_positive(fn, "gamma", s->gamma, err);
    case BM_SCHED_COSINE:
        if (s->t_max == 0)
            return bm_error_set(err, BM_ERR_ARG, "%s: t_max = 0: must be >= 1", fn);
        return bm_optim_check_nonnegative(fn, "eta_min", s->eta_min, err);
    }
    return bm_error_set(err, BM_ERR_ARG, "%s: kind = %d: not a schedule kind", fn,
                        (int)s->kind);
}

/* The kind's lr at its own step t (after any warm-up). */
static double main_lr(const bm_schedule *s, double lr, uint64_t t)
{
    switch (s->kind) {
    case BM_SCHED_STEP:
        return lr * pow(s->gamma, (double)(t / s->step_size));
    case BM_SCHED_EXPONENTIAL:
        return lr * pow(s->gamma, (double)t);
    case BM_SCHED_COSINE:
        return s->eta_min +
               (lr - s->eta_min) * (1.0 + cos(SCHED_PI * (double)t / (double)s->t_max)) / 2.0;
    case BM_SCHED_CONSTANT:
        break;
    }
    return lr;
}

double bm_schedule_lr(const bm_schedule *s, double lr, uint64_t t)
{
    if (!s)
        return lr;
    if (t < s->warmup_steps) {
        double f = s->warmup_start +
                   (1.0 - s->warmup_start) * (double)t / (double)s->warmup_steps;
        return lr * f;
    }
    return main_lr(s, lr, t - s->warmup_steps);
}
