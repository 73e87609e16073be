/* torch_optim.c — runs each training control of optim/ on fixed f64
 * numbers and prints, per case, "name | final parameters | the learning
 * rate of each step | extra" (extra: the last gradient norm, or the
 * clipped gradients); tests/torch_optim.py runs torch.optim's SGD, Adam,
 * AdamW, Adagrad, RMSprop, clip_grad_norm_/clip_grad_value_ and the
 * lr_scheduler classes on the same numbers and compares.
 *
 * Parameters: two tensors, A (2 values) and B (3), from P0; gradient i at
 * step t: sin(1.3 i + 0.7 t) (1 + 0.5 i), i over A then B. */
#include <bmnn.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Elements of A, of B, of both. */
#define NA 2
#define NB 3
#define NP (NA + NB)

static const double P0[NP] = {0.5, -1.2, 0.8, 2.0, -0.3};

/* How a case groups the tensors. */
typedef enum grouping {
    ONE_GROUP,  /* A and B in one group with the config's settings */
    TWO_GROUPS, /* A: lr_a, wd_a; B: the config's */
    FROZEN_A    /* A frozen, B the config's */
} grouping;

/* One case: the optimizer, schedule, clipping and grouping, and its steps. */
typedef struct optim_case {
    const char *name;
    bm_optim_config cfg;
    bm_schedule sched;
    double clip_norm, clip_value;
    grouping groups;
    double lr_a, wd_a;
    int steps;
} optim_case;

static bm_optim_config cfg(bm_optim_kind k, double lr, double wd)
{
    bm_optim_config c = bm_optim_defaults(k);
    c.lr = lr;
    c.weight_decay = wd;
    c.eps = 1e-8; /* torch's Adam/AdamW/RMSprop default */
    return c;
}

static bm_optim_config with(bm_optim_config c, double momentum, double decay, double rho,
                            double eps)
{
    c.momentum = momentum;
    c.decay = decay;
    c.rho = rho;
    c.eps = eps;
    return c;
}

/* Every case (tests/torch_optim.py has the torch side of each name). */
static optim_case cases(int k)
{
    bm_optim_config sgd = cfg(BM_OPT_SGD, 0.1, 0.0), adamw = cfg(BM_OPT_ADAMW, 0.01, 0.1);
    switch (k) {
    case 0: return (optim_case){.name = "sgd_wd", .cfg = cfg(BM_OPT_SGD, 0.1, 0.05), .steps = 5};
    case 1:
        return (optim_case){.name = "sgd_momentum_wd",
                            .cfg = with(cfg(BM_OPT_SGD, 0.1, 0.05), 0.9, 0, 0, 1e-8),
                            .steps = 5};
    case 2: return (optim_case){.name = "adam_l2", .cfg = cfg(BM_OPT_ADAM, 0.01, 0.1), .steps = 5};
    case 3: return (optim_case){.name = "adamw", .cfg = adamw, .steps = 6};
    case 4:
        return (optim_case){.name = "adamw_groups", .cfg = cfg(BM_OPT_ADAMW, 0.005, 0.2),
                            .groups = TWO_GROUPS, .lr_a = 0.02, .wd_a = 0.0, .steps = 6};
    case 5:
        return (optim_case){.name = "adamw_frozen", .cfg = adamw, .groups = FROZEN_A,
                            .steps = 4};
    case 6:
        return (optim_case){.name = "adagrad_wd",
                            .cfg = with(cfg(BM_OPT_ADAGRAD, 0.5, 0.05), 0, 0.01, 0, 1e-10),
                            .steps = 5};
    case 7:
        return (optim_case){.name = "rmsprop_wd",
                            .cfg = with(cfg(BM_OPT_RMSPROP, 0.01, 0.05), 0, 0, 0.9, 1e-8),
                            .steps = 5};
    case 8:
        return (optim_case){.name = "sgd_clip_norm", .cfg = sgd, .clip_norm = 0.5, .steps = 5};
    case 9:
        return (optim_case){.name = "adamw_clip_value", .cfg = adamw, .clip_value = 0.3,
                            .steps = 5};
    case 10:
        return (optim_case){.name = "adamw_clip_both_groups", .cfg = adamw, .clip_norm = 0.8,
                            .clip_value = 0.4, .groups = TWO_GROUPS, .lr_a = 0.03,
                            .wd_a = 0.01, .steps = 5};
    case 11:
        return (optim_case){.name = "sched_step", .cfg = sgd,
                            .sched = {.kind = BM_SCHED_STEP, .step_size = 2, .gamma = 0.5},
                            .steps = 7};
    case 12:
        return (optim_case){.name = "sched_exponential", .cfg = cfg(BM_OPT_ADAM, 0.01, 0.0),
                            .sched = {.kind = BM_SCHED_EXPONENTIAL, .gamma = 0.8}, .steps = 6};
    case 13:
        return (optim_case){.name = "sched_cosine", .cfg = adamw,
                            .sched = {.kind = BM_SCHED_COSINE, .t_max = 4, .eta_min = 1e-3},
                            .steps = 9};
    case 14:
        return (optim_case){.name = "sched_warmup_cosine", .cfg = sgd,
                            .sched = {.kind = BM_SCHED_COSINE, .t_max = 5, .warmup_steps = 3,
                                      .warmup_start = 0.25},
                            .steps = 10};
    case 15:
        return (optim_case){.name = "sched_warmup_step_groups", .cfg = adamw,
                            .sched = {.kind = BM_SCHED_STEP, .step_size = 2, .gamma = 0.5,
                                      .warmup_steps = 2, .warmup_start = 0.1},
                            .groups = TWO_GROUPS, .lr_a = 0.05, .wd_a = 0.0, .steps = 8};
    case 16:
        return (optim_case){.name = "sched_warmup_only", .cfg = cfg(BM_OPT_ADAM, 0.02, 0.0),
                            .sched = {.warmup_steps = 4, .warmup_start = 0.5}, .steps = 7};
    case 17:
        return (optim_case){.name = "sched_warmup_exponential_sgd_wd",
                            .cfg = cfg(BM_OPT_SGD, 0.2, 0.01),
                            .sched = {.kind = BM_SCHED_EXPONENTIAL, .gamma = 0.9,
                                      .warmup_steps = 3, .warmup_start = 0.2},
                            .clip_norm = 1.0, .steps = 8};
    default: return (optim_case){.name = NULL};
    }
}

/* Gradients of step t into the tensors' grad buffers. */
static void set_grads(bm_tensor *a, bm_tensor *b, int t)
{
    for (int i = 0; i < NP; i++) {
        double g = sin(1.3 * i + 0.7 * t) * (1.0 + 0.5 * i);
        if (i < NA)
            ((double *)a->grad)[i] = g;
        else
            ((double *)b->grad)[i - NA] = g;
    }
}

static void print_values(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf(" %.17g", v[i]);
}

/* Tensors A and B from P0, with gradient buffers. */
static int make_tensors(bm_tensor **a, bm_tensor **b, double *ga, double *gb)
{
    bm_error e = {0};
    *a = bm_tensor_from(BM_F64, 1, (size_t[]){NA}, P0, &e);
    *b = bm_tensor_from(BM_F64, 1, (size_t[]){NB}, P0 + NA, &e);
    if (!*a || !*b)
        return fprintf(stderr, "%s\n", e.msg), 0;
    (*a)->grad = ga;
    (*b)->grad = gb;
    return 1;
}

static int run_case(const optim_case *c)
{
    double ga[NA], gb[NB], lrs[16];
    bm_tensor *a, *b;
    if (!make_tensors(&a, &b, ga, gb))
        return 0;
    bm_tensor *both[2] = {a, b};
    bm_optim_group g[2];
    size_t ng = 1;
    if (c->groups == ONE_GROUP) {
        g[0] = bm_optim_group_tensors(&c->cfg, both, 2);
    } else {
        g[0] = bm_optim_group_tensors(&c->cfg, &both[0], 1);
        g[1] = bm_optim_group_tensors(&c->cfg, &both[1], 1);
        g[0].lr = c->groups == TWO_GROUPS ? c->lr_a : g[0].lr;
        g[0].weight_decay = c->groups == TWO_GROUPS ? c->wd_a : g[0].weight_decay;
        g[0].frozen = c->groups == FROZEN_A;
        ng = 2;
    }
    bm_error e = {0};
    bm_optim *o = bm_optim_new_groups(&c->cfg, BM_F64, 0, g, ng, &e);
    int ok = o && bm_optim_set_schedule(o, &c->sched, &e) == BM_OK &&
             bm_optim_set_clip(o, c->clip_norm, c->clip_value, &e) == BM_OK;
    for (int t = 0; ok && t < c->steps; t++) {
        set_grads(a, b, t);
        lrs[t] = bm_optim_group_lr(o, ng - 1);
        ok = bm_optim_update(o, &e) == BM_OK;
    }
    if (ok) {
        printf("%s |", c->name);
        print_values(a->data, NA);
        print_values(b->data, NB);
        printf(" |");
        print_values(lrs, (size_t)c->steps);
        printf(" | %.17g\n", c->clip_norm > 0 ? bm_optim_grad_norm(o) : 0.0);
    } else {
        fprintf(stderr, "%s: %s\n", c->name, e.msg);
    }
    a->grad = b->grad = NULL;
    bm_optim_free(o);
    bm_tensor_free(a);
    bm_tensor_free(b);
    return ok;
}

/* The standalone clipping calls on step 0's gradients, B alone frozen:
 * "name | clipped gradients of A and B | | norm". */
static int run_clip(const char *name, int by_norm, double limit)
{
    double ga[NA], gb[NB];
    bm_tensor *a, *b;
    if (!make_tensors(&a, &b, ga, gb))
        return 0;
    bm_optim_config c = bm_optim_defaults(BM_OPT_SGD);
    bm_optim_group g[2] = {bm_optim_group_tensors(&c, &a, 1), bm_optim_group_tensors(&c, &b, 1)};
    g[1].frozen = 1;
    bm_error e = {0};
    bm_optim *o = bm_optim_new_groups(&c, BM_F64, 0, g, 2, &e);
    double norm = 0;
    set_grads(a, b, 0);
    int ok = o && (by_norm ? bm_optim_clip_grad_norm(o, NULL, 0, limit, &norm, &e)
                           : bm_optim_clip_grad_value(o, NULL, 0, limit, &e)) == BM_OK;
    if (ok) {
        printf("%s |", name);
        print_values(ga, NA);
        print_values(gb, NB);
        printf(" | | %.17g\n", norm);
    } else {
        fprintf(stderr, "%s: %s\n", name, e.msg);
    }
    a->grad = b->grad = NULL;
    bm_optim_free(o);
    bm_tensor_free(a);
    bm_tensor_free(b);
    return ok;
}

int main(void)
{
    int ok = 1;
    for (int k = 0; cases(k).name; k++) {
        optim_case c = cases(k);
        ok &= run_case(&c);
    }
    ok &= run_clip("clip_grad_norm", 1, 0.7);
    ok &= run_clip("clip_grad_value", 0, 0.25);
    return ok ? 0 : 1;
}
