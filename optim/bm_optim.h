/* bm_optim.h — one optimizer interface: SGD (decay, momentum), AdaGrad,
 * RMSProp, Adam, with the update rules of "Neural Networks from Scratch".
 *
 * An optimizer updates one flat parameter array from the parallel gradient
 * array (the model keeps all parameters in one contiguous buffer, so one
 * optimizer serves the whole model). Ownership: bm_optim_new() returns an
 * object the caller frees with bm_optim_free(); its state arrays belong to
 * it. The caller owns the parameter and gradient arrays.
 *
 * Learning rate: before each step current_lr = lr * 1/(1 + decay*iterations);
 * after the step iterations += 1.
 *   SGD:      momentum > 0: u = momentum*m - current_lr*g; m = u; p += u
 *             momentum = 0: p += -current_lr*g
 *   AdaGrad:  cache += g^2; p += -current_lr*g / (sqrt(cache) + eps)
 *   RMSProp:  cache = rho*cache + (1-rho)*g^2;
 *             p += -current_lr*g / (sqrt(cache) + eps)
 *   Adam:     m = beta1*m + (1-beta1)*g;        mhat = m / (1 - beta1^(t+1))
 *             cache = beta2*cache + (1-beta2)*g^2; chat = cache / (1 - beta2^(t+1))
 *             p += -current_lr*mhat / (sqrt(chat) + eps)      (t = iterations)
 * F64 arrays are updated in double; F32 arrays in float (scalars such as
 * current_lr are computed in double, then rounded to float once per step).
 *
 * NaN/Inf: configurations are validated, but gradients are not checked on
 * each step (that would cost a pass over the array). A NaN or Inf gradient
 * propagates into the parameters and into the state arrays (momentums,
 * cache), which then stay non-finite; check the loss or the gradients
 * yourself when that can happen. Nothing here aborts or exits. */
#ifndef BM_OPTIM_H
#define BM_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "bm_autograd.h"

#ifdef __cplusplus
extern "C" {
#endif

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
/* Most state arrays any optimizer keeps (Adam: momentums and cache). */
#define BM_OPTIM_MAX_STATES 2

/* Which update rule an optimizer applies. */
typedef enum bm_optim_kind { BM_OPT_SGD, BM_OPT_ADAGRAD, BM_OPT_RMSPROP, BM_OPT_ADAM } bm_optim_kind;

/* Hyperparameters; fields a kind does not use are ignored (not validated). */
typedef struct bm_optim_config {
    bm_optim_kind kind;
    double lr;       /* initial learning rate, finite and > 0 (all kinds) */
    double decay;    /* lr decay, finite and >= 0 (all kinds) */
    double momentum; /* SGD momentum in [0, 1); 0 keeps no state */
    double rho;      /* RMSProp cache decay in [0, 1) */
    double beta1;    /* Adam first-moment decay in [0, 1) */
    double beta2;    /* Adam second-moment decay in [0, 1) */
    double eps;      /* AdaGrad/RMSProp/Adam epsilon, finite and > 0 */
} bm_optim_config;

/* The book's defaults for kind (lr per kind, decay 0, momentum 0, rho 0.9,
 * beta1 0.9, beta2 0.999, eps 1e-7); change fields, then bm_optim_new(). */
bm_optim_config bm_optim_defaults(bm_optim_kind kind);
/* Constant name of a kind: "sgd", "adagrad", "rmsprop", "adam" ("unknown"
 * for a value outside the enum). */
const char *bm_optim_kind_name(bm_optim_kind k);
/* Parse a kind name (ASCII case-insensitive) into *out; BM_ERR_ARG with a
 * message listing the valid names when it is unknown. */
bm_status bm_optim_kind_parse(const char *name, bm_optim_kind *out, bm_error *err);

/* An optimizer: config, iteration count and zero-initialized state arrays. */
typedef struct bm_optim bm_optim;

/* New optimizer for n_params elements of dtype dt (cfg is copied). Returns
 * NULL and sets *err (naming the bad field) on an invalid config, dtype or
 * size, or when out of memory. Free with bm_optim_free(). */
bm_optim *bm_optim_new(const bm_optim_config *cfg, bm_dtype dt, size_t n_params, bm_error *err);
/* Free an optimizer and its state arrays; NULL is fine. */
void bm_optim_free(bm_optim *o);
/* One update of params (n elements of o's dtype) from grads, in place;
 * n must equal bm_optim_size(o); params and grads must not overlap. On
 * success iterations += 1; on error nothing is changed. */
bm_status bm_optim_step(bm_optim *o, void *params, const void *grads, size_t n, bm_error *err);
/* Learning rate the next step uses: lr * 1/(1 + decay*iterations). */
double bm_optim_lr(const bm_optim *o);
/* The optimizer's config (read-only; lives as long as o). */
const bm_optim_config *bm_optim_get_config(const bm_optim *o);
/* Steps taken so far (or restored with bm_optim_set_iterations). */
uint64_t bm_optim_iterations(const bm_optim *o);
/* Set the step count (restoring a checkpoint); affects decay and Adam's
 * bias correction. */
void bm_optim_set_iterations(bm_optim *o, uint64_t it);
/* Number of parameters the optimizer updates (n_params). */
size_t bm_optim_size(const bm_optim *o);
/* Element type of the parameters and state arrays. */
bm_dtype bm_optim_dtype(const bm_optim *o);
/* Number of state arrays: SGD 0 (1 with momentum > 0: "momentums"),
 * AdaGrad 1 ("cache"), RMSProp 1 ("cache"), Adam 2 ("momentums", "cache"). */
int bm_optim_state_count(const bm_optim *o);
/* Name of state array k (0 <= k < state_count), NULL when out of range. */
const char *bm_optim_state_name(const bm_optim *o, int k);
/* 1 when state array k holds values that are never negative (the "cache" of
 * AdaGrad, RMSProp and Adam: sums or averages of squared gradients), so a
 * restored state with a negative value there is refused; 0 otherwise and when
 * k is out of range. */
int bm_optim_state_nonnegative(const bm_optim *o, int k);
/* State array k: n_params elements of o's dtype, owned by o and writable
 * (a checkpoint restores it together with the iteration count); NULL when
 * k is out of range. */
void *bm_optim_state(bm_optim *o, int k);

#ifdef __cplusplus
}
#endif
#endif
