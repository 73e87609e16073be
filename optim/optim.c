/* optim.c — SGD (decay, momentum), AdaGrad, RMSProp and Adam over flat
 * parameter arrays. Each rule is one pass over the array; the per-step
 * scalars (current lr, bias corrections) are computed once in double. */
#include <math.h>
#include <stdlib.h>

#include "bm_optim.h"

/* State array names (shared by every kind that keeps them). */
static const char STATE_MOMENTUMS[] = "momentums";
static const char STATE_CACHE[] = "cache";

struct bm_optim {
    bm_optim_config cfg;
    bm_dtype dtype;
    size_t n;                                  /* n_params */
    uint64_t iterations;
    int n_states;
    const char *state_names[BM_OPTIM_MAX_STATES];
    void *state[BM_OPTIM_MAX_STATES];          /* views into `block` */
    void *block;                               /* one zeroed allocation */
};

/* ------------------------------------------------------------- names */

bm_optim_config bm_optim_defaults(bm_optim_kind kind)
{
    bm_optim_config c;
    c.kind = kind;
    switch (kind) {
    case BM_OPT_SGD: c.lr = BM_OPTIM_SGD_LR; break;
    case BM_OPT_ADAGRAD: c.lr = BM_OPTIM_ADAGRAD_LR; break;
    case BM_OPT_RMSPROP: c.lr = BM_OPTIM_RMSPROP_LR; break;
    case BM_OPT_ADAM: c.lr = BM_OPTIM_ADAM_LR; break;
    default: c.lr = BM_OPTIM_ADAM_LR; break; /* bm_optim_new rejects the kind */
    }
    c.decay = BM_OPTIM_DECAY;
    c.momentum = BM_OPTIM_MOMENTUM;
    c.rho = BM_OPTIM_RHO;
    c.beta1 = BM_OPTIM_BETA1;
    c.beta2 = BM_OPTIM_BETA2;
    c.eps = BM_OPTIM_EPS;
    return c;
}

const char *bm_optim_kind_name(bm_optim_kind k)
{
    switch (k) {
    case BM_OPT_SGD: return "sgd";
    case BM_OPT_ADAGRAD: return "adagrad";
    case BM_OPT_RMSPROP: return "rmsprop";
    case BM_OPT_ADAM: return "adam";
    }
    return "unknown";
}

static int ascii_lower(int c) { return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c; }

/* Equal ignoring ASCII case? */
static int name_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (ascii_lower((unsigned char)*a) != ascii_lower((unsigned char)*b))
            return 0;
    return *a == *b;
}

bm_status bm_optim_kind_parse(const char *name, bm_optim_kind *out, bm_error *err)
{
    static const bm_optim_kind kinds[] = {BM_OPT_SGD, BM_OPT_ADAGRAD, BM_OPT_RMSPROP,
                                          BM_OPT_ADAM};
    if (!name)
        return bm_error_set(err, BM_ERR_NULL, "bm_optim_kind_parse: name is NULL");
    if (!out)
        return bm_error_set(err, BM_ERR_NULL, "bm_optim_kind_parse: out is NULL");
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (name_eq(name, bm_optim_kind_name(kinds[i]))) {
            *out = kinds[i];
            return BM_OK;
        }
    }
    return bm_error_set(err, BM_ERR_ARG,
                        "bm_optim_kind_parse: unknown optimizer '%.64s' "
                        "(expected sgd, adagrad, rmsprop or adam)",
                        name);
}

/* -------------------------------------------------------- validation */

/* Is v finite and > 0? */
static bm_status check_positive(const char *field, double v, bm_error *err)
{
    if (!isfinite(v) || !(v > 0.0))
        return bm_error_set(err, BM_ERR_ARG,
                            "bm_optim_new: %s = %g: must be finite and > 0", field, v);
    return BM_OK;
}

/* Is v finite and >= 0? */
static bm_status check_nonnegative(const char *field, double v, bm_error *err)
{
    if (!isfinite(v) || !(v >= 0.0))
        return bm_error_set(err, BM_ERR_ARG,
                            "bm_optim_new: %s = %g: must be finite and >= 0", field, v);
    return BM_OK;
}

/* Is v in [0, 1)? (NaN is not.) */
static bm_status check_unit(const char *field, double v, bm_error *err)
{
    if (!(v >= 0.0 && v < 1.0))
        return bm_error_set(err, BM_ERR_ARG, "bm_optim_new: %s = %g: must be in [0, 1)",
                            field, v);
    return BM_OK;
}

/* Validate the fields cfg->kind uses. */
static bm_status check_config(const bm_optim_config *c, bm_error *err)
{
    bm_status s;
    if ((s = check_positive("lr", c->lr, err)) != BM_OK)
        return s;
    if ((s = check_nonnegative("decay", c->decay, err)) != BM_OK)
        return s;
    switch (c->kind) {
    case BM_OPT_SGD:
        return check_unit("momentum", c->momentum, err);
    case BM_OPT_ADAGRAD:
        return check_positive("eps", c->eps, err);
    case BM_OPT_RMSPROP:
        if ((s = check_unit("rho", c->rho, err)) != BM_OK)
            return s;
        return check_positive("eps", c->eps, err);
    case BM_OPT_ADAM:
        if ((s = check_unit("beta1", c->beta1, err)) != BM_OK)
            return s;
        if ((s = check_unit("beta2", c->beta2, err)) != BM_OK)
            return s;
        return check_positive("eps", c->eps, err);
    }
    return bm_error_set(err, BM_ERR_ARG, "bm_optim_new: kind = %d: not an optimizer kind",
                        (int)c->kind);
}

/* --------------------------------------------------------- lifecycle */

bm_optim *bm_optim_new(const bm_optim_config *cfg, bm_dtype dt, size_t n_params, bm_error *err)
{
    if (!cfg) {
        bm_error_set(err, BM_ERR_NULL, "bm_optim_new: cfg is NULL");
        return NULL;
    }
    if (check_config(cfg, err) != BM_OK)
        return NULL;
    if (dt != BM_F32 && dt != BM_F64) {
        bm_error_set(err, BM_ERR_DTYPE, "bm_optim_new: dtype = %d: must be f32 or f64", (int)dt);
        return NULL;
    }
    if (n_params == 0 || n_params > BM_MAX_ELEMENTS) {
        bm_error_set(err, BM_ERR_SIZE, "bm_optim_new: n_params = %zu: must be in 1..%zu",
                     n_params, (size_t)BM_MAX_ELEMENTS);
        return NULL;
    }
    bm_optim *o = calloc(1, sizeof *o);
    if (!o) {
        bm_error_set(err, BM_ERR_NOMEM, "bm_optim_new: out of memory");
        return NULL;
    }
    o->cfg = *cfg;
    o->dtype = dt;
    o->n = n_params;
    switch (cfg->kind) {
    case BM_OPT_SGD:
        if (cfg->momentum > 0.0)
            o->state_names[o->n_states++] = STATE_MOMENTUMS;
        break;
    case BM_OPT_ADAGRAD:
    case BM_OPT_RMSPROP:
        o->state_names[o->n_states++] = STATE_CACHE;
        break;
    case BM_OPT_ADAM:
        o->state_names[o->n_states++] = STATE_MOMENTUMS;
        o->state_names[o->n_states++] = STATE_CACHE;
        break;
    }
    if (o->n_states > 0) {
        /* n_params <= 2^40 and esize * n_states <= 16: no overflow. */
        size_t bytes = n_params * bm_dtype_size(dt);
        o->block = calloc((size_t)o->n_states, bytes);
        if (!o->block) {
            bm_error_set(err, BM_ERR_NOMEM, "bm_optim_new: out of memory for %d x %zu bytes",
                         o->n_states, bytes);
            free(o);
            return NULL;
        }
        for (int k = 0; k < o->n_states; k++)
            o->state[k] = (char *)o->block + (size_t)k * bytes;
    }
    return o;
}

void bm_optim_free(bm_optim *o)
{
    if (!o)
        return;
    free(o->block);
    free(o);
}

/* ------------------------------------------------------------ kernels */

/* Per-step scalars, computed once in double and rounded to the array type. */
typedef struct step_scalars {
    double lr;          /* current learning rate */
    double momentum;    /* SGD */
    double rho, one_minus_rho;                  /* RMSProp */
    double beta1, one_minus_beta1, corr1;       /* Adam: corr = 1 - beta^(t+1) */
    double beta2, one_minus_beta2, corr2;
    double eps;
} step_scalars;

/* One family of kernels per element type T (sqrt function SQRT), compiled
 * with the function attributes ATTR, and run_SFX, which applies o's rule.
 * Every kernel is one pass: p, g: (n)  state m, c: (n). The loops vectorise
 * (the library is built with -fno-math-errno, so sqrt is an instruction);
 * sqrt and division are correctly rounded in every lane and nothing is
 * contracted into an FMA, so every instance gives the scalar loop's bits. */
#define BM_OPTIM_KERNELS(T, SFX, SQRT, ATTR)                                               \
    /* p += -lr*g */                                                                       \
    ATTR static void sgd_##SFX(T *restrict p, const T *restrict g, size_t n,               \
                               const step_scalars *s)                                      \
    {                                                                                      \
        const T neg_lr = (T)-s->lr;                                                        \
        for (size_t i = 0; i < n; i++)                                                     \
            p[i] += neg_lr * g[i];                                                         \
    }                                                                                      \
    /* u = momentum*m - lr*g; m = u; p += u */                                             \
    ATTR static void sgd_momentum_##SFX(T *restrict p, const T *restrict g, T *restrict m, \
                                        size_t n, const step_scalars *s)                   \
    {                                                                                      \
        const T lr = (T)s->lr, mom = (T)s->momentum;                                       \
        for (size_t i = 0; i < n; i++) {                                                   \
            T u = mom * m[i] - lr * g[i];                                                  \
            m[i] = u;                                                                      \
            p[i] += u;                                                                     \
        }                                                                                  \
    }                                                                                      \
    /* c += g^2; p += -lr*g / (sqrt(c) + eps) */                                           \
    ATTR static void adagrad_##SFX(T *restrict p, const T *restrict g, T *restrict c,      \
                                   size_t n, const step_scalars *s)                        \
    {                                                                                      \
        const T neg_lr = (T)-s->lr, eps = (T)s->eps;                                       \
        for (size_t i = 0; i < n; i++) {                                                   \
            c[i] += g[i] * g[i];                                                           \
            p[i] += neg_lr * g[i] / (SQRT(c[i]) + eps);                                    \
        }                                                                                  \
    }                                                                                      \
    /* c = rho*c + (1-rho)*g^2; p += -lr*g / (sqrt(c) + eps) */                            \
    ATTR static void rmsprop_##SFX(T *restrict p, const T *restrict g, T *restrict c,      \
                                   size_t n, const step_scalars *s)                        \
    {                                                                                      \
        const T neg_lr = (T)-s->lr, eps = (T)s->eps;                                       \
        const T rho = (T)s->rho, omr = (T)s->one_minus_rho;                                \
        for (size_t i = 0; i < n; i++) {                                                   \
            c[i] = rho * c[i] + omr * (g[i] * g[i]);                                       \
            p[i] += neg_lr * g[i] / (SQRT(c[i]) + eps);                                    \
        }                                                                                  \
    }                                                                                      \
    /* m = b1*m + (1-b1)*g; c = b2*c + (1-b2)*g^2;                                         \
     * p += -lr*(m/corr1) / (sqrt(c/corr2) + eps) */                                       \
    ATTR static void adam_##SFX(T *restrict p, const T *restrict g, T *restrict m,         \
                                T *restrict c, size_t n, const step_scalars *s)            \
    {                                                                                      \
        const T neg_lr = (T)-s->lr, eps = (T)s->eps;                                       \
        const T b1 = (T)s->beta1, omb1 = (T)s->one_minus_beta1, corr1 = (T)s->corr1;       \
        const T b2 = (T)s->beta2, omb2 = (T)s->one_minus_beta2, corr2 = (T)s->corr2;       \
        for (size_t i = 0; i < n; i++) {                                                   \
            m[i] = b1 * m[i] + omb1 * g[i];                                                \
            c[i] = b2 * c[i] + omb2 * (g[i] * g[i]);                                       \
            T mhat = m[i] / corr1;                                                         \
            T chat = c[i] / corr2;                                                         \
            p[i] += neg_lr * mhat / (SQRT(chat) + eps);                                    \
        }                                                                                  \
    }                                                                                      \
    /* o's rule on p, g (n elements of T). */                                              \
    static void run_##SFX(bm_optim *o, T *p, const T *g, size_t n, const step_scalars *s) \
    {                                                                                      \
        switch (o->cfg.kind) {                                                             \
        case BM_OPT_SGD:                                                                   \
            if (o->n_states == 0)                                                          \
                sgd_##SFX(p, g, n, s);                                                     \
            else                                                                           \
                sgd_momentum_##SFX(p, g, o->state[0], n, s);                               \
            break;                                                                         \
        case BM_OPT_ADAGRAD: adagrad_##SFX(p, g, o->state[0], n, s); break;                \
        case BM_OPT_RMSPROP: rmsprop_##SFX(p, g, o->state[0], n, s); break;                \
        case BM_OPT_ADAM: adam_##SFX(p, g, o->state[0], o->state[1], n, s); break;         \
        }                                                                                  \
    }

#define BM_NO_ATTR
BM_OPTIM_KERNELS(float, f32, sqrtf, BM_NO_ATTR)
BM_OPTIM_KERNELS(double, f64, sqrt, BM_NO_ATTR)

/* On x86 (GCC, Clang), a second instance for AVX-512F — 16 f32 lanes where
 * the baseline build has SSE2's 4 — chosen per step by what the CPU
 * supports, as the GEMM chooses its kernels. */
#if defined(__GNUC__) && defined(__x86_64__)
#define BM_OPTIM_X86 1
#define BM_AVX512 __attribute__((target("avx512f")))
BM_OPTIM_KERNELS(float, f32_avx512, sqrtf, BM_AVX512)
BM_OPTIM_KERNELS(double, f64_avx512, sqrt, BM_AVX512)
#else
#define BM_OPTIM_X86 0
#endif

#undef BM_OPTIM_KERNELS

/* ---------------------------------------------------------------- step */

double bm_optim_lr(const bm_optim *o)
{
    if (!o)
        return 0.0;
    /* The book's form: lr * (1 / (1 + decay * iterations)). */
    return o->cfg.lr * (1.0 / (1.0 + o->cfg.decay * (double)o->iterations));
}

/* Fill the per-step scalars for o's next step. */
static void make_scalars(const bm_optim *o, step_scalars *s)
{
    const bm_optim_config *c = &o->cfg;
    /* Adam's bias-correction exponent: the step being taken, iterations + 1. */
    double t = (double)o->iterations + 1.0;
    s->lr = bm_optim_lr(o);
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
}

bm_status bm_optim_step(bm_optim *o, void *params, const void *grads, size_t n, bm_error *err)
{
    if (!o)
        return bm_error_set(err, BM_ERR_NULL, "bm_optim_step: optimizer is NULL");
    if (!params)
        return bm_error_set(err, BM_ERR_NULL, "bm_optim_step: params is NULL");
    if (!grads)
        return bm_error_set(err, BM_ERR_NULL, "bm_optim_step: grads is NULL");
    if (n != o->n)
        return bm_error_set(err, BM_ERR_SIZE,
                            "bm_optim_step: n = %zu does not match n_params = %zu", n, o->n);
    step_scalars s;
    make_scalars(o, &s);
    int f32 = o->dtype == BM_F32;
#if BM_OPTIM_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        if (f32)
            run_f32_avx512(o, params, grads, n, &s);
        else
            run_f64_avx512(o, params, grads, n, &s);
        o->iterations++;
        return BM_OK;
    }
#endif
    if (f32)
        run_f32(o, params, grads, n, &s);
    else
        run_f64(o, params, grads, n, &s);
    o->iterations++;
    return BM_OK;
}

/* ------------------------------------------------------------ getters */

const bm_optim_config *bm_optim_get_config(const bm_optim *o) { return o ? &o->cfg : NULL; }

uint64_t bm_optim_iterations(const bm_optim *o) { return o ? o->iterations : 0; }

void bm_optim_set_iterations(bm_optim *o, uint64_t it)
{
    if (o)
        o->iterations = it;
}

size_t bm_optim_size(const bm_optim *o) { return o ? o->n : 0; }

bm_dtype bm_optim_dtype(const bm_optim *o) { return o ? o->dtype : BM_F64; }

int bm_optim_state_count(const bm_optim *o) { return o ? o->n_states : 0; }

const char *bm_optim_state_name(const bm_optim *o, int k)
{
    return (o && k >= 0 && k < o->n_states) ? o->state_names[k] : NULL;
}

int bm_optim_state_nonnegative(const bm_optim *o, int k)
{
    return bm_optim_state_name(o, k) == STATE_CACHE;
}

void *bm_optim_state(bm_optim *o, int k)
{
    return (o && k >= 0 && k < o->n_states) ? o->state[k] : NULL;
}
