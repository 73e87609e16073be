/* optim_internal.h — the optimizer object as optim.c (lifecycle, settings)
 * and step.c (updates, clipping) share it (not installed). */
#ifndef BM_OPTIM_INTERNAL_H
#define BM_OPTIM_INTERNAL_H

#include "bm_optim.h"

/* Elements of the gradient a clipping or L2-decaying step transforms at a
 * time, in a stack buffer (8 KiB of doubles). */
#define BM_OPTIM_CHUNK 1024
/* torch.nn.utils.clip_grad_norm_'s guard: coef = max_norm / (norm + 1e-6). */
#define BM_OPTIM_CLIP_EPS 1e-6

/* One run of parameters. Flat optimizers: elements [offset, offset+n) of
 * the arrays bm_optim_step takes (and of the state arrays). Tensor
 * optimizers: tensor t's data and grad, at `offset` in the state arrays. */
typedef struct optim_span {
    size_t offset, n;
    bm_tensor *t;
} optim_span;

/* One parameter group: its settings and its runs spans[first, first+count). */
typedef struct optim_group {
    double lr, weight_decay;
    int frozen;
    size_t first, count;
} optim_group;

struct bm_optim {
    bm_optim_config cfg;
    bm_dtype dtype;
    size_t n;                                  /* elements of each state array */
    int tensors;                               /* 1: groups of tensors, 0: flat */
    uint64_t iterations;
    int n_states;
    const char *state_names[BM_OPTIM_MAX_STATES];
    void *state[BM_OPTIM_MAX_STATES];          /* views into `block` */
    void *momentums, *cache;                   /* the same views by role, or NULL */
    void *block;                               /* one zeroed allocation */
    optim_group *groups;
    size_t n_groups;
    optim_span *spans;
    size_t n_spans;
    bm_schedule sched;
    double clip_norm, clip_value;              /* 0: off */
    double last_norm;                          /* measured by the last clipping step */
};

/* Per-step scalars of one group, computed once in double. */
typedef struct step_scalars {
    double lr;                                  /* current learning rate */
    double momentum;                            /* SGD */
    double rho, one_minus_rho;                  /* RMSProp */
    double beta1, one_minus_beta1, corr1;       /* Adam: corr = 1 - beta^(t+1) */
    double beta2, one_minus_beta2, corr2;
    double eps;
    double decoupled_factor;                    /* AdamW: 1 - lr*wd; else 1 */
} step_scalars;

/* What a step does to a gradient before the rule sees it. */
typedef struct grad_transform {
    int scale, clamp, l2;    /* which parts apply */
    double coef;             /* clip-by-norm factor (< 1) */
    double clip_value;       /* clip-by-value bound */
    double weight_decay;     /* L2: g + wd*p */
} grad_transform;

/* Equal ignoring ASCII case? (names of kinds) */
int bm_optim_name_eq(const char *a, const char *b);
/* BM_ERR_ARG "fn: field = v: must be finite and > 0" unless it is. */
bm_status bm_optim_check_positive(const char *fn, const char *field, double v, bm_error *err);
/* BM_ERR_ARG "fn: field = v: must be finite and >= 0" unless it is. */
bm_status bm_optim_check_nonnegative(const char *fn, const char *field, double v,
                                     bm_error *err);

#endif
