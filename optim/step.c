/* step.c — the optimizer step over parameter groups, and gradient
 * clipping. Each rule is one pass over each run of parameters (kernels:
 * optim_kernels.inc, once per element type); the per-step scalars (current
 * lr, bias corrections, AdamW's factor) are computed once per group in
 * double. */
#include <math.h>

#include "optim_internal.h"

/* The kernels of one instance, as the step picks them. */
typedef struct kernel_set {
    void (*run)(bm_optim_kind kind, void *p, const void *g, void *m, void *c, size_t n,
                const step_scalars *s, const grad_transform *t);
    void (*scale)(void *x, size_t n, double f);
    void (*clamp)(void *x, size_t n, double v);
    double (*sumsq)(const void *g, size_t n);
} kernel_set;

#define ATTR
#define T float
#define F(name) name##_f32
#define SQRT sqrtf
#include "optim_kernels.inc"
#undef T
#undef F
#undef SQRT

#define T double
#define F(name) name##_f64
#define SQRT sqrt
#include "optim_kernels.inc"
#undef T
#undef F
#undef SQRT
#undef ATTR

/* On x86 (GCC, Clang), a second instance for AVX-512F — 16 f32 lanes where
 * the baseline build has SSE2's 4 — chosen per step by what the CPU
 * supports, as the GEMM chooses its kernels. */
#if defined(__GNUC__) && defined(__x86_64__)
#define BM_OPTIM_X86 1
#define ATTR __attribute__((target("avx512f")))
#define T float
#define F(name) name##_f32_avx512
#define SQRT sqrtf
#include "optim_kernels.inc"
#undef T
#undef F
#undef SQRT

#define T double
#define F(name) name##_f64_avx512
#define SQRT sqrt
#include "optim_kernels.inc"
#undef T
#undef F
#undef SQRT
#undef ATTR
#else
#define BM_OPTIM_X86 0
#endif

/* The kernels for o's dtype on this CPU. */
static const kernel_set *pick_kernels(const bm_optim *o)
{
    int f32 = o->dtype == BM_F32;
#if BM_OPTIM_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return f32 ? &kernels_f32_avx512 : &kernels_f64_avx512;
#endif
    return f32 ? &kernels_f32 : &kernels_f64;
}

/* ---------------------------------------------------------------- lr */

/* Current lr of group g for the next step. */
static double group_lr(const bm_optim *o, const optim_group *g)
{
    /* The book's form: lr * (1 / (1 + decay * iterations)). */
    return bm_schedule_lr(&o->sched, g->lr, o->iterations) *
           (1.0 / (1.0 + o->cfg.decay * (double)o->iterations));
}

double bm_optim_lr(const bm_optim *o) { return o ? group_lr(o, &o->groups[0]) : 0.0; }

double bm_optim_group_lr(const bm_optim *o, size_t g)
{
    return (o && g < o->n_groups) ? group_lr(o, &o->groups[g]) : 0.0;
}

/* Fill the per-step scalars for group g's next step. */
static void make_scalars(const bm_optim *o, const optim_group *g, step_scalars *s)
{
    const bm_optim_config *c = &o->cfg;
    /* Adam's bias-correction exponent: the step being taken, iterations + 1. */
    double t = (double)o->iterations + 1.0;
    s->lr = group_lr(o, g);
    s->momentum = c->momentum;
    s->rho = c->rho;
    s->one_minus_rho = 1.0 - c->rho;
    s->beta1 = c->beta1;
    s->one_minus_beta1 = 1.0 - c->beta1;
    s->corr1 = 1.0 - pow(c->beta1, t);
    s->beta2 = c->beta2;
    s->one_minus_beta2 = 1.0 - c->beta2;
    s->corr2 = 1.0 - pow(c->beta2, t);
    s->eps = c->eps;
    s->decoupled_factor = c->kind == BM_OPT_ADAMW ? 1.0 - s->lr * g->weight_decay : 1.0;
}

/* ------------------------------------------------------------- spans */

/* Span sp's parameters: its run of the flat array params, or its tensor's
 * data (params unused, may be NULL). */
static void *span_data(const bm_optim *o, const optim_span *sp, void *params)
{
    return sp->t ? sp->t->data : (char *)params + sp->offset * bm_dtype_size(o->dtype);
}

/* Span sp's gradient: its run of the flat array grads, or its tensor's
 * grad (NULL when it has none yet). */
static const void *span_grad(const bm_optim *o, const optim_span *sp, const void *grads)
{
    return sp->t ? sp->t->grad
                 : (const char *)grads + sp->offset * bm_dtype_size(o->dtype);
}

/* The same, writable (clipping in place). */
static void *span_grad_rw(const bm_optim *o, const optim_span *sp, void *grads)
{
    return sp->t ? sp->t->grad : (char *)grads + sp->offset * bm_dtype_size(o->dtype);
}

/* Element k of state array st (NULL stays NULL). */
static void *state_at(const bm_optim *o, void *st, size_t k)
{
    return st ? (char *)st + k * bm_dtype_size(o->dtype) : NULL;
}

/* Global 2-norm of the gradients of o's non-frozen groups (grads: the
 * flat array, read only; NULL for tensors). */
static double grad_norm(const bm_optim *o, const kernel_set *K, const void *grads)
{
    double ss = 0.0;
    for (size_t gi = 0; gi < o->n_groups; gi++) {
        const optim_group *g = &o->groups[gi];
        for (size_t k = g->first; !g->frozen && k < g->first + g->count; k++) {
            const void *gr = span_grad(o, &o->spans[k], grads);
            if (gr)
                ss += K->sumsq(gr, o->spans[k].n);
        }
    }
    return sqrt(ss);
}

/* The update itself (arguments checked). */
static void step_groups(bm_optim *o, void *params, const void *grads)
{
    const kernel_set *K = pick_kernels(o);
    grad_transform tr = {.clamp = o->clip_value > 0.0, .clip_value = o->clip_value};
    if (o->clip_norm > 0.0) {
        o->last_norm = grad_norm(o, K, grads);
        double coef = o->clip_norm / (o->last_norm + BM_OPTIM_CLIP_EPS);
        /* torch multiplies by min(coef, 1); by 1 changes nothing. NaN scales. */
        tr.scale = !(coef >= 1.0);
        tr.coef = coef;
    }
    for (size_t gi = 0; gi < o->n_groups; gi++) {
        const optim_group *g = &o->groups[gi];
        if (g->frozen)
            continue;
        step_scalars s;
        make_scalars(o, g, &s);
        tr.l2 = o->cfg.kind != BM_OPT_ADAMW && g->weight_decay > 0.0;
        tr.weight_decay = g->weight_decay;
        for (size_t k = g->first; k < g->first + g->count; k++) {
            const optim_span *sp = &o->spans[k];
            const void *gr = span_grad(o, sp, grads);
            if (!gr)
                continue;
            K->run(o->cfg.kind, span_data(o, sp, params), gr,
                   state_at(o, o->momentums, sp->offset),
                   state_at(o, o->cache, sp->offset), sp->n, &s, &tr);
        }
    }
    o->iterations++;
}

/* Check a flat call's arrays against o (fn names the caller). */
static bm_status check_flat(const char *fn, const bm_optim *o, const void *params,
                            const void *grads, size_t n, bm_error *err)
{
    if (!o)
        return bm_error_set(err, BM_ERR_NULL, "%s: optimizer is NULL", fn);
    if (o->tensors) {
        if (params || grads || n)
            return bm_error_set(err, BM_ERR_STATE, "%s: a tensor optimizer takes no arrays "
                                "(NULL, NULL, 0)", fn);
        return BM_OK;
    }
    if (!params)
        return bm_error_set(err, BM_ERR_NULL, "%s: params is NULL", fn);
    if (!grads)
        return bm_error_set(err, BM_ERR_NULL, "%s: grads is NULL", fn);
    if (n != o->n)
        return bm_error_set(err, BM_ERR_SIZE, "%s: n = %zu does not match n_params = %zu", fn,
                            n, o->n);
    return BM_OK;
}

bm_status bm_optim_step(bm_optim *o, void *params, const void *grads, size_t n, bm_error *err)
{
    static const char fn[] = "bm_optim_step";
    if (o && o->tensors)
        return bm_error_set(err, BM_ERR_STATE, "%s: a tensor optimizer steps with "
                            "bm_optim_update", fn);
    bm_status s = check_flat(fn, o, params, grads, n, err);
    if (s != BM_OK)
        return s;
    step_groups(o, params, grads);
    return BM_OK;
}

bm_status bm_optim_update(bm_optim *o, bm_error *err)
{
    if (!o)
        return bm_error_set(err, BM_ERR_NULL, "bm_optim_update: optimizer is NULL");
    if (!o->tensors)
        return bm_error_set(err, BM_ERR_STATE, "bm_optim_update: a flat optimizer steps with "
                            "bm_optim_step");
    step_groups(o, NULL, NULL);
    return BM_OK;
}

/* --------------------------------------------------------- clipping */

/* Apply f (scale by v or clamp to ±v) to the gradients of o's non-frozen
 * groups in place. */
static void each_grad(bm_optim *o, void *grads, void (*f)(void *x, size_t n, double v),
                      double v)
{
    for (size_t gi = 0; gi < o->n_groups; gi++) {
        const optim_group *g = &o->groups[gi];
        for (size_t k = g->first; !g->frozen && k < g->first + g->count; k++) {
            void *gr = span_grad_rw(o, &o->spans[k], grads);
            if (gr)
                f(gr, o->spans[k].n, v);
        }
    }
}

bm_status bm_optim_clip_grad_norm(bm_optim *o, void *grads, size_t n, double max_norm,
                                  double *norm, bm_error *err)
{
    static const char fn[] = "bm_optim_clip_grad_norm";
    bm_status s = check_flat(fn, o, grads, grads, n, err);
    if (s == BM_OK)
        s = bm_optim_check_positive(fn, "max_norm", max_norm, err);
    if (s != BM_OK)
        return s;
    const kernel_set *K = pick_kernels(o);
    double total = grad_norm(o, K, grads);
    double coef = max_norm / (total + BM_OPTIM_CLIP_EPS);
    if (!(coef >= 1.0))
        each_grad(o, grads, K->scale, coef);
    if (norm)
        *norm = total;
    return BM_OK;
}

bm_status bm_optim_clip_grad_value(bm_optim *o, void *grads, size_t n, double max_value,
                                   bm_error *err)
{
    static const char fn[] = "bm_optim_clip_grad_value";
    bm_status s = check_flat(fn, o, grads, grads, n, err);
    if (s == BM_OK)
        s = bm_optim_check_positive(fn, "max_value", max_value, err);
    if (s != BM_OK)
        return s;
    each_grad(o, grads, pick_kernels(o)->clamp, max_value);
    return BM_OK;
}
