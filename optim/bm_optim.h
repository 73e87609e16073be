/* bm_optim.h — one optimizer interface: SGD (lr decay, momentum, weight
 * decay), AdaGrad, RMSProp, Adam with the update rules of "Neural Networks
 * from Scratch", AdamW (decoupled weight decay, torch.optim.AdamW); over
 * parameter groups, with gradient clipping and learning-rate schedules.
 *
 * Two words that look alike: `decay` is the walk-through's LEARNING-RATE
 * decay (lr / (1 + decay*iterations)); `weight_decay` shrinks the WEIGHTS
 * (L2 for sgd/adagrad/rmsprop/adam, decoupled for adamw).
 *
 * Parameters: a flat optimizer (bm_optim_new) updates one flat array from
 * the parallel gradient array (the model keeps all parameters in one
 * contiguous buffer, so one optimizer serves the whole model) as a single
 * group with the config's settings. bm_optim_new_groups takes a list of
 * groups, each ranges of one flat array or a list of tensors, each with its
 * own learning rate, weight decay and frozen flag. Ownership: the
 * constructors return an object the caller frees with bm_optim_free(); its
 * state arrays belong to it. The caller owns the parameter and gradient
 * arrays and the tensors.
 *
 * Learning rate of group g at step t (t = iterations, 0 for the first):
 *   current_lr = bm_schedule_lr(schedule, lr_g, t) * 1/(1 + decay*t)
 * (with no schedule set, bm_schedule_lr gives lr_g); after the step
 * iterations += 1. The gradient a rule sees is g, clipped (see
 * bm_optim_set_clip), plus weight_decay*p for every kind but adamw.
 *   SGD:      momentum > 0: u = momentum*m - current_lr*g; m = u; p += u
 *             momentum = 0: p += -current_lr*g
 *   AdaGrad:  cache += g^2; p += -current_lr*g / (sqrt(cache) + eps)
 *   RMSProp:  cache = rho*cache + (1-rho)*g^2;
 *             p += -current_lr*g / (sqrt(cache) + eps)
 *   Adam:     m = beta1*m + (1-beta1)*g;        mhat = m / (1 - beta1^(t+1))
 *             cache = beta2*cache + (1-beta2)*g^2; chat = cache / (1 - beta2^(t+1))
 *             p += -current_lr*mhat / (sqrt(chat) + eps)
 *   AdamW:    p *= 1 - current_lr*weight_decay, then Adam's rule
 * (SGD's momentum is the walk-through's form; with a constant learning rate
 * it equals torch.optim.SGD's, whose buffer is m/(-lr).)
 * F64 arrays are updated in double; F32 arrays in float (scalars such as
 * current_lr are computed in double, then rounded to float once per step).
 *
 * NaN/Inf: configurations are validated, but gradients are not checked on
 * each step (that would cost a pass over the array). A NaN or Inf gradient
 * propagates into the parameters and into the state arrays (momentums,
 * cache), which then stay non-finite; check the loss or the gradients
 * yourself when that can happen (a clipping step reports the gradient's
 * norm: bm_optim_grad_norm). Nothing here aborts or exits. */
#ifndef BM_OPTIM_H
#define BM_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "bm_autograd.h"

#ifdef __cplusplus
extern "C" {
#endif
BM_API_BEGIN

/* Default learning rate of SGD (the book's). */
#define BM_OPTIM_SGD_LR 1.0
/* Default learning rate of AdaGrad. */
#define BM_OPTIM_ADAGRAD_LR 1.0
/* Default learning rate of RMSProp. */
#define BM_OPTIM_RMSPROP_LR 0.001
/* Default learning rate of Adam. */
#define BM_OPTIM_ADAM_LR 0.001
/* Default learning-rate decay (none). */
#define BM_OPTIM_DECAY 0.0
/* Default SGD momentum (none). */
#define BM_OPTIM_MOMENTUM 0.0
/* Default RMSProp cache decay rho. */
#define BM_OPTIM_RHO 0.9
/* Default Adam first-moment decay beta1. */
#define BM_OPTIM_BETA1 0.9
/* Default Adam second-moment decay beta2. */
#define BM_OPTIM_BETA2 0.999
/* Default epsilon added to the root of the cache. */
#define BM_OPTIM_EPS 1e-7
/* Default learning rate of AdamW (torch.optim.AdamW's). */
#define BM_OPTIM_ADAMW_LR 0.001
/* Default weight decay of every kind but AdamW (none). */
#define BM_OPTIM_WEIGHT_DECAY 0.0
/* Default weight decay of AdamW (torch.optim.AdamW's 0.01). */
#define BM_OPTIM_ADAMW_WEIGHT_DECAY 0.01
/* Most state arrays any optimizer keeps (Adam: momentums and cache). */
#define BM_OPTIM_MAX_STATES 2

/* Which update rule an optimizer applies. */
typedef enum bm_optim_kind {
    BM_OPT_SGD,
    BM_OPT_ADAGRAD,
    BM_OPT_RMSPROP,
    BM_OPT_ADAM,
    BM_OPT_ADAMW /* Adam with decoupled weight decay */
} bm_optim_kind;

/* Hyperparameters; fields a kind does not use are ignored (not validated). */
typedef struct bm_optim_config {
    bm_optim_kind kind;
    double lr;       /* initial learning rate, finite and > 0 (all kinds) */
    double decay;    /* LEARNING-rate decay lr/(1+decay*t), not weight decay; finite, >= 0 (all kinds) */
    double momentum; /* SGD momentum in [0, 1); 0 keeps no state */
    double rho;      /* RMSProp cache decay in [0, 1) */
    double beta1;    /* Adam first-moment decay in [0, 1) */
    double beta2;    /* Adam second-moment decay in [0, 1) */
    double eps;      /* AdaGrad/RMSProp/Adam/AdamW epsilon, finite and > 0 */
    double weight_decay; /* finite and >= 0 (all kinds): adamw decoupled
                          * (p *= 1 - lr*wd), the others L2 (g += wd*p, as
                          * torch's weight_decay); the groups' default */
} bm_optim_config;

/* The book's defaults for kind (lr per kind, decay 0, momentum 0, rho 0.9,
 * beta1 0.9, beta2 0.999, eps 1e-7, weight_decay 0; adamw: lr 0.001,
 * weight_decay 0.01); change fields, then bm_optim_new(). */
bm_optim_config bm_optim_defaults(bm_optim_kind kind);
/* Constant name of a kind: "sgd", "adagrad", "rmsprop", "adam", "adamw" ("unknown"
 * for a value outside the enum). */
const char *bm_optim_kind_name(bm_optim_kind k);
/* Parse a kind name (ASCII case-insensitive) into *out; BM_ERR_ARG with a
 * message listing the valid names when it is unknown. */
bm_status bm_optim_kind_parse(const char *name, bm_optim_kind *out, bm_error *err);

/* ------------------------------------------------ learning-rate schedules */

/* The shape of a schedule after its warm-up (torch.optim.lr_scheduler's). */
typedef enum bm_schedule_kind {
    BM_SCHED_CONSTANT = 0, /* lr                                   */
    BM_SCHED_STEP,         /* lr * gamma^floor(t/step_size)        (StepLR) */
    BM_SCHED_EXPONENTIAL,  /* lr * gamma^t                         (ExponentialLR) */
    BM_SCHED_COSINE        /* eta_min + (lr-eta_min)(1+cos(pi t/t_max))/2
                            *                                      (CosineAnnealingLR) */
} bm_schedule_kind;

/* A learning-rate schedule: lr(t) for step t = 0, 1, ... from a base lr.
 * All zeros ({0}) is the constant schedule. A linear warm-up composes with
 * every kind: for t < warmup_steps the factor goes linearly from
 * warmup_start to 1 (lr * (warmup_start + (1-warmup_start)*t/warmup_steps),
 * torch's LinearLR), then the kind runs from its own t = 0 (torch's
 * SequentialLR([LinearLR, kind], milestones=[warmup_steps])). */
typedef struct bm_schedule {
    bm_schedule_kind kind;
    uint64_t step_size;     /* step: >= 1 */
    double gamma;           /* step, exponential: finite and > 0 */
    uint64_t t_max;         /* cosine: >= 1 (the curve is periodic past it, as torch's) */
    double eta_min;         /* cosine: finite and >= 0 */
    uint64_t warmup_steps;  /* 0: no warm-up */
    double warmup_start;    /* first warm-up factor, in [0, 1] */
} bm_schedule;

/* Check a schedule's fields; BM_ERR_ARG naming the bad one (NULL is fine:
 * the constant schedule). */
bm_status bm_schedule_check(const bm_schedule *s, bm_error *err);
/* The learning rate at step t for base rate lr (lr itself for a NULL or
 * constant schedule without warm-up; s is assumed checked). */
double bm_schedule_lr(const bm_schedule *s, double lr, uint64_t t);
/* Constant name of a kind: "constant", "step", "exponential", "cosine"
 * ("unknown" outside the enum). */
const char *bm_schedule_kind_name(bm_schedule_kind k);
/* Parse a kind name (ASCII case-insensitive); BM_ERR_ARG listing the names. */
bm_status bm_schedule_kind_parse(const char *name, bm_schedule_kind *out, bm_error *err);

/* ------------------------------------------------------------ optimizers */

/* An optimizer: config, groups, iteration count, schedule, clipping and
 * zero-initialized state arrays. */
typedef struct bm_optim bm_optim;

/* One parameter group for bm_optim_new_groups: either `count` elements at
 * `offset` of the flat arrays bm_optim_step takes (tensors NULL), or the
 * n_tensors tensors at `tensors` (their data and grad; offset, count 0),
 * with the group's own settings. */
typedef struct bm_optim_group {
    size_t offset, count;          /* flat groups: a range, count >= 1 */
    bm_tensor *const *tensors;     /* tensor groups: the list (copied) */
    size_t n_tensors;
    double lr;                     /* base learning rate, finite and > 0 */
    double weight_decay;           /* finite and >= 0 (see bm_optim_config) */
    int frozen;                    /* non-zero: never updated, not clipped */
} bm_optim_group;
/* All groups share one iteration count (schedule, lr decay, Adam's bias
 * correction): a group unfrozen after k steps corrects as at step k, where
 * torch counts each parameter's own steps. */

/* A flat group [offset, offset+count) with cfg's lr and weight_decay (cfg
 * NULL: SGD's defaults). */
bm_optim_group bm_optim_group_range(const bm_optim_config *cfg, size_t offset, size_t count);
/* A group of n tensors with cfg's lr and weight_decay (cfg NULL: SGD's). */
bm_optim_group bm_optim_group_tensors(const bm_optim_config *cfg, bm_tensor *const *tensors,
                                      size_t n);

/* New flat optimizer for n_params elements of dtype dt (cfg is copied): one
 * group, all of them, with cfg's settings. Returns NULL and sets *err
 * (naming the bad field) on an invalid config, dtype or size, or when out
 * of memory. Free with bm_optim_free(). */
bm_optim *bm_optim_new(const bm_optim_config *cfg, bm_dtype dt, size_t n_params, bm_error *err);
/* New optimizer over n_groups groups (copied; 1..BM_OPTIM_MAX_GROUPS), all
 * flat or all tensors. Flat: n_params is the length of the arrays
 * bm_optim_step takes, every range lies inside it and no two overlap
 * (elements in no group are never changed). Tensors: n_params is 0, every
 * tensor has dtype dt and appears once; the tensors must outlive o. NULL
 * and *err naming the group on a bad one. */
bm_optim *bm_optim_new_groups(const bm_optim_config *cfg, bm_dtype dt, size_t n_params,
                              const bm_optim_group *groups, size_t n_groups, bm_error *err);
/* Free an optimizer and its state arrays; NULL is fine. */
void bm_optim_free(bm_optim *o);
/* One update of params (n elements of o's dtype) from grads, in place, for
 * a flat optimizer: n must equal bm_optim_size(o); params and grads must
 * not overlap. On success iterations += 1; on error nothing is changed. */
bm_status bm_optim_step(bm_optim *o, void *params, const void *grads, size_t n, bm_error *err);
/* One update of a tensor optimizer's tensors from their grad buffers (a
 * tensor whose grad is NULL is skipped, as torch skips a None grad). On
 * success iterations += 1; BM_ERR_STATE for a flat optimizer. */
bm_status bm_optim_update(bm_optim *o, bm_error *err);
/* Learning rate the next step uses for group 0 (see the top of the file). */
double bm_optim_lr(const bm_optim *o);
/* The optimizer's config (read-only; lives as long as o). */
const bm_optim_config *bm_optim_get_config(const bm_optim *o);
/* Steps taken so far (or restored with bm_optim_set_iterations). */
uint64_t bm_optim_iterations(const bm_optim *o);
/* Set the step count (restoring a checkpoint); affects decay, the schedule
 * and Adam's bias correction. */
void bm_optim_set_iterations(bm_optim *o, uint64_t it);
/* Elements of each state array: n_params of a flat optimizer, the sum of
 * the tensors' sizes of a tensor optimizer. */
size_t bm_optim_size(const bm_optim *o);
/* 1 for a flat optimizer (bm_optim_step), 0 for a tensor one
 * (bm_optim_update) or NULL. */
int bm_optim_is_flat(const bm_optim *o);
/* Element type of the parameters and state arrays. */
bm_dtype bm_optim_dtype(const bm_optim *o);
/* Number of state arrays: SGD 0 (1 with momentum > 0: "momentums"),
 * AdaGrad 1 ("cache"), RMSProp 1 ("cache"), Adam and AdamW 2 ("momentums",
 * "cache"). */
int bm_optim_state_count(const bm_optim *o);
/* Name of state array k (0 <= k < state_count), NULL when out of range. */
const char *bm_optim_state_name(const bm_optim *o, int k);
/* 1 when state array k holds values that are never negative (the "cache" of
 * AdaGrad, RMSProp and Adam: sums or averages of squared gradients), so a
 * restored state with a negative value there is refused; 0 otherwise and when
 * k is out of range. */
int bm_optim_state_nonnegative(const bm_optim *o, int k);
/* State array k: bm_optim_size(o) elements of o's dtype, owned by o and
 * writable (a checkpoint restores it together with the iteration count);
 * flat: indexed like the parameters; tensors: the groups' tensors one
 * after another in order. NULL when k is out of range. */
void *bm_optim_state(bm_optim *o, int k);

/* Most groups an optimizer takes. */
#define BM_OPTIM_MAX_GROUPS 4096
/* Number of groups (1 for bm_optim_new; 0 for NULL). */
size_t bm_optim_n_groups(const bm_optim *o);
/* Group g's settings into *lr, *weight_decay, *frozen (each may be NULL);
 * BM_ERR_ARG when g is out of range. */
bm_status bm_optim_group_get(const bm_optim *o, size_t g, double *lr, double *weight_decay,
                             int *frozen, bm_error *err);
/* Change group g's base lr, weight decay and frozen flag (checked as in
 * bm_optim_new_groups; nothing changes on error). State is kept. */
bm_status bm_optim_group_set(bm_optim *o, size_t g, double lr, double weight_decay, int frozen,
                             bm_error *err);
/* Learning rate group g's next step uses (0 when out of range). */
double bm_optim_group_lr(const bm_optim *o, size_t g);

/* Use schedule s from now on (copied and checked; NULL: constant). Its t
 * is the iteration count, so a restored count resumes the schedule. */
bm_status bm_optim_set_schedule(bm_optim *o, const bm_schedule *s, bm_error *err);
/* The schedule in use (all zeros when none was set; NULL for NULL). */
const bm_schedule *bm_optim_get_schedule(const bm_optim *o);

/* Clip in every later step, over the non-frozen groups (0 turns a part
 * off): first scale the gradients by min(1, max_norm/(norm + 1e-6)) where
 * norm is their global 2-norm, then clamp each to [-max_value, max_value]
 * (torch's clip_grad_norm_ then clip_grad_value_). The step works on a
 * copy; the gradient arrays are not changed. Both finite and >= 0. */
bm_status bm_optim_set_clip(bm_optim *o, double max_norm, double max_value, bm_error *err);
/* The clipping set with bm_optim_set_clip into *max_norm, *max_value (each
 * may be NULL; 0 is off; both 0 for NULL o). */
void bm_optim_get_clip(const bm_optim *o, double *max_norm, double *max_value);
/* The gradient norm the last step measured before clipping (NaN when
 * none has: clipping by norm off, or no step yet). */
double bm_optim_grad_norm(const bm_optim *o);
/* torch.nn.utils.clip_grad_norm_ over o's non-frozen groups, in place:
 * measures the global 2-norm of the gradients into *norm (may be NULL) and
 * scales them by min(1, max_norm/(norm + 1e-6)). grads, n: the flat
 * gradient array (n = bm_optim_size(o)); for a tensor optimizer NULL and 0
 * (the tensors' grad buffers are used). max_norm finite and > 0. A NaN
 * norm makes the gradients NaN (torch's error_if_nonfinite=False). */
bm_status bm_optim_clip_grad_norm(bm_optim *o, void *grads, size_t n, double max_norm,
                                  double *norm, bm_error *err);
/* torch.nn.utils.clip_grad_value_ over o's non-frozen groups, in place:
 * clamps each gradient to [-max_value, max_value] (grads, n as above;
 * max_value finite and > 0). */
bm_status bm_optim_clip_grad_value(bm_optim *o, void *grads, size_t n, double max_value,
                                   bm_error *err);

BM_API_END
#ifdef __cplusplus
}
#endif
#endif
