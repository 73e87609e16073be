/* optim.c — optimizer names, configs, groups and settings: everything but
 * the step (step.c) and the schedules (schedule.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optim_internal.h"

/* State array names (shared by every kind that keeps them). */
static const char STATE_MOMENTUMS[] = "momentums";
static const char STATE_CACHE[] = "cache";

/* What a kind starts with and keeps. */
typedef struct kind_info {
    const char *name;
    double lr, weight_decay;
    int cache;     /* keeps a cache array */
    int momentums; /* keeps momentums: 1 always, 0 never, -1 when momentum > 0 */
} kind_info;

/* Every kind, by enumerator. */
static const kind_info KINDS[] = {
    [BM_OPT_SGD] = {.name = "sgd", .lr = BM_OPTIM_SGD_LR, .weight_decay = BM_OPTIM_WEIGHT_DECAY,
                    .cache = 0, .momentums = -1},
    [BM_OPT_ADAGRAD] = {.name = "adagrad", .lr = BM_OPTIM_ADAGRAD_LR,
                        .weight_decay = BM_OPTIM_WEIGHT_DECAY, .cache = 1, .momentums = 0},
    [BM_OPT_RMSPROP] = {.name = "rmsprop", .lr = BM_OPTIM_RMSPROP_LR,
                        .weight_decay = BM_OPTIM_WEIGHT_DECAY, .cache = 1, .momentums = 0},
    [BM_OPT_ADAM] = {.name = "adam", .lr = BM_OPTIM_ADAM_LR, .weight_decay = BM_OPTIM_WEIGHT_DECAY,
                     .cache = 1, .momentums = 1},
    [BM_OPT_ADAMW] = {.name = "adamw", .lr = BM_OPTIM_ADAMW_LR,
                      .weight_decay = BM_OPTIM_ADAMW_WEIGHT_DECAY, .cache = 1, .momentums = 1},
};
/* Number of kinds. */
#define N_KINDS (sizeof KINDS / sizeof KINDS[0])

static const kind_info *kind_at(bm_optim_kind k)
{
    return (unsigned)k < N_KINDS ? &KINDS[k] : NULL;
}

/* ------------------------------------------------------------- names */

bm_optim_config bm_optim_defaults(bm_optim_kind kind)
{
    const kind_info *ki = kind_at(kind);
    /* an unknown kind gets Adam's numbers; bm_optim_new rejects the kind */
    const kind_info *d = ki ? ki : &KINDS[BM_OPT_ADAM];
    return (bm_optim_config){
        .kind = kind,
        .lr = d->lr,
        .decay = BM_OPTIM_DECAY,
        .momentum = BM_OPTIM_MOMENTUM,
        .rho = BM_OPTIM_RHO,
        .beta1 = BM_OPTIM_BETA1,
        .beta2 = BM_OPTIM_BETA2,
        .eps = BM_OPTIM_EPS,
        .weight_decay = d->weight_decay,
    };
}

const char *bm_optim_kind_name(bm_optim_kind k)
{
    const kind_info *ki = kind_at(k);
    return ki ? ki->name : "unknown";
}

static int ascii_lower(int c) { return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c; }

int bm_optim_name_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (ascii_lower((unsigned char)*a) != ascii_lower((unsigned char)*b))
            return 0;
    return *a == *b;
}

bm_status bm_optim_kind_parse(const char *name, bm_optim_kind *out, bm_error *err)
{
    if (!name)
        return bm_error_set(err, BM_ERR_NULL, "bm_optim_kind_parse: name is NULL");
    if (!out)
        return bm_error_set(err, BM_ERR_NULL, "bm_optim_kind_parse: out is NULL");
    for (size_t i = 0; i < N_KINDS; i++) {
        if (bm_optim_name_eq(name, KINDS[i].name)) {
            *out = (bm_optim_kind)i;
            return BM_OK;
        }
    }
    return bm_error_set(err, BM_ERR_ARG,
                        "bm_optim_kind_parse: unknown optimizer '%.64s' "
                        "(expected sgd, adagrad, rmsprop, adam or adamw)",
                        name);
}

/* -------------------------------------------------------- validation */

bm_status bm_optim_check_positive(const char *fn, const char *field, double v, bm_error *err)
{
    if (!isfinite(v) || !(v > 0.0))
        return bm_error_set(err, BM_ERR_ARG, "%s: %s = %g: must be finite and > 0", fn, field,
                            v);
    return BM_OK;
}

bm_status bm_optim_check_nonnegative(const char *fn, const char *field, double v,
                                     bm_error *err)
{
    if (!isfinite(v) || !(v >= 0.0))
        return bm_error_set(err, BM_ERR_ARG, "%s: %s = %g: must be finite and >= 0", fn, field,
                            v);
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
    static const char fn[] = "bm_optim_new";
    bm_status s;
    if ((s = bm_optim_check_positive(fn, "lr", c->lr, err)) != BM_OK)
        return s;
    if ((s = bm_optim_check_nonnegative(fn, "decay", c->decay, err)) != BM_OK)
        return s;
    if ((s = bm_optim_check_nonnegative(fn, "weight_decay", c->weight_decay, err)) != BM_OK)
        return s;
    switch (c->kind) {
    case BM_OPT_SGD:
        return check_unit("momentum", c->momentum, err);
    case BM_OPT_ADAGRAD:
        return bm_optim_check_positive(fn, "eps", c->eps, err);
    case BM_OPT_RMSPROP:
        if ((s = check_unit("rho", c->rho, err)) != BM_OK)
            return s;
        return bm_optim_check_positive(fn, "eps", c->eps, err);
    case BM_OPT_ADAM:
    case BM_OPT_ADAMW:
        if ((s = check_unit("beta1", c->beta1, err)) != BM_OK)
            return s;
        if ((s = check_unit("beta2", c->beta2, err)) != BM_OK)
            return s;
        return bm_optim_check_positive(fn, "eps", c->eps, err);
    }
    return bm_error_set(err, BM_ERR_ARG, "bm_optim_new: kind = %d: not an optimizer kind",
                        (int)c->kind);
}

/* Check group g's own settings (fn names the caller). */
static bm_status check_group_settings(const char *fn, size_t g, double lr, double wd,
                                      bm_error *err)
{
    char what[48];
    snprintf(what, sizeof what, "groups[%zu].lr", g);
    bm_status s = bm_optim_check_positive(fn, what, lr, err);
    if (s != BM_OK)
        return s;
    snprintf(what, sizeof what, "groups[%zu].weight_decay", g);
    return bm_optim_check_nonnegative(fn, what, wd, err);
}

/* --------------------------------------------------------- groups */

bm_optim_group bm_optim_group_range(const bm_optim_config *cfg, size_t offset, size_t count)
{
    bm_optim_config d = bm_optim_defaults(BM_OPT_SGD);
    const bm_optim_config *c = cfg ? cfg : &d;
    return (bm_optim_group){.offset = offset, .count = count, .lr = c->lr,
                            .weight_decay = c->weight_decay};
}

bm_optim_group bm_optim_group_tensors(const bm_optim_config *cfg, bm_tensor *const *tensors,
                                      size_t n)
{
    bm_optim_group g = bm_optim_group_range(cfg, 0, 0);
    g.tensors = tensors;
    g.n_tensors = n;
    return g;
}

/* Order of flat spans by offset (for the overlap check). */
static int span_cmp(const void *a, const void *b)
{
    size_t x = ((const optim_span *)a)->offset, y = ((const optim_span *)b)->offset;
    return (x > y) - (x < y);
}

/* Check the groups and count their spans and elements into *spans, *elems. */
static bm_status check_groups(bm_dtype dt, size_t n_params, const bm_optim_group *gs,
                              size_t ng, size_t *spans, size_t *elems, bm_error *err)
{
    static const char fn[] = "bm_optim_new_groups";
    if (!gs)
        return bm_error_set(err, BM_ERR_NULL, "%s: groups is NULL", fn);
    if (ng == 0 || ng > BM_OPTIM_MAX_GROUPS)
        return bm_error_set(err, BM_ERR_SIZE, "%s: n_groups = %zu: must be in 1..%d", fn, ng,
                            BM_OPTIM_MAX_GROUPS);
    int tensors = gs[0].tensors != NULL;
    *spans = 0;
    *elems = tensors ? 0 : n_params;
    if (!tensors && (n_params == 0 || n_params > BM_MAX_ELEMENTS))
        return bm_error_set(err, BM_ERR_SIZE, "%s: n_params = %zu: must be in 1..%zu", fn,
                            n_params, (size_t)BM_MAX_ELEMENTS);
    if (tensors && n_params != 0)
        return bm_error_set(err, BM_ERR_ARG, "%s: n_params = %zu: must be 0 for tensor groups",
                            fn, n_params);
    for (size_t g = 0; g < ng; g++) {
        const bm_optim_group *G = &gs[g];
        bm_status s = check_group_settings(fn, g, G->lr, G->weight_decay, err);
        if (s != BM_OK)
            return s;
        if ((G->tensors != NULL) != tensors)
            return bm_error_set(err, BM_ERR_ARG, "%s: groups[%zu]: groups are all ranges or "
                                "all tensors, not both", fn, g);
        if (!tensors) {
            if (G->count == 0 || G->offset > n_params || G->count > n_params - G->offset)
                return bm_error_set(err, BM_ERR_SIZE, "%s: groups[%zu]: range [%zu, +%zu) is "
                                    "empty or outside the %zu parameters", fn, g, G->offset,
                                    G->count, n_params);
            (*spans)++;
            continue;
        }
        if (G->n_tensors == 0 || G->n_tensors > BM_MAX_ELEMENTS)
            return bm_error_set(err, BM_ERR_SIZE, "%s: groups[%zu]: no tensors", fn, g);
        for (size_t k = 0; k < G->n_tensors; k++) {
            const bm_tensor *t = G->tensors[k];
            if (!t || !t->data)
                return bm_error_set(err, BM_ERR_NULL, "%s: groups[%zu].tensors[%zu] is NULL",
                                    fn, g, k);
            if (t->dtype != dt)
                return bm_error_set(err, BM_ERR_DTYPE, "%s: groups[%zu].tensors[%zu] is %s, "
                                    "the optimizer %s", fn, g, k, bm_dtype_name(t->dtype),
                                    bm_dtype_name(dt));
            if (t->size > BM_MAX_ELEMENTS - *elems)
                return bm_error_set(err, BM_ERR_SIZE, "%s: more than %zu parameters", fn,
                                    (size_t)BM_MAX_ELEMENTS);
            *elems += t->size;
            (*spans)++;
        }
    }
    return BM_OK;
}

/* Fill o's groups and spans from gs (checked); flat spans must not overlap
 * and tensors must not repeat. */
static bm_status fill_groups(bm_optim *o, const bm_optim_group *gs, size_t ng, bm_error *err)
{
    size_t sp = 0, off = 0;
    for (size_t g = 0; g < ng; g++) {
        o->groups[g] = (optim_group){.lr = gs[g].lr, .weight_decay = gs[g].weight_decay,
                                     .frozen = gs[g].frozen != 0, .first = sp};
        if (!o->tensors) {
            o->spans[sp++] = (optim_span){.offset = gs[g].offset, .n = gs[g].count};
        } else {
            for (size_t k = 0; k < gs[g].n_tensors; k++) {
                bm_tensor *t = gs[g].tensors[k];
                o->spans[sp++] = (optim_span){.offset = off, .n = t->size, .t = t};
                off += t->size;
            }
        }
        o->groups[g].count = sp - o->groups[g].first;
    }
    optim_span *sorted = malloc(o->n_spans * sizeof *sorted);
    if (!sorted)
        return bm_error_set(err, BM_ERR_NOMEM, "bm_optim_new_groups: out of memory");
    memcpy(sorted, o->spans, o->n_spans * sizeof *sorted);
    if (o->tensors) /* repeated tensors: the same data pointer twice */
        for (size_t i = 0; i < o->n_spans; i++)
            sorted[i].offset = (size_t)(uintptr_t)sorted[i].t->data;
    qsort(sorted, o->n_spans, sizeof *sorted, span_cmp);
    bm_status s = BM_OK;
    for (size_t i = 1; i < o->n_spans && s == BM_OK; i++) {
        int clash = o->tensors ? sorted[i].offset == sorted[i - 1].offset
                               : sorted[i].offset < sorted[i - 1].offset + sorted[i - 1].n;
        if (clash)
            s = bm_error_set(err, BM_ERR_ARG, "bm_optim_new_groups: %s",
                             o->tensors ? "a tensor is listed twice"
                                        : "two groups' ranges overlap");
    }
    free(sorted);
    return s;
}

/* --------------------------------------------------------- lifecycle */

/* The state arrays cfg's kind keeps, n elements each, zeroed. */
static bm_status alloc_state(bm_optim *o, bm_error *err)
{
    const kind_info *ki = kind_at(o->cfg.kind);
    int mom = ki->momentums > 0 || (ki->momentums < 0 && o->cfg.momentum > 0.0);
    if (mom)
        o->state_names[o->n_states++] = STATE_MOMENTUMS;
    if (ki->cache)
        o->state_names[o->n_states++] = STATE_CACHE;
    if (o->n_states == 0)
        return BM_OK;
    /* n <= 2^40 and esize * n_states <= 16: no overflow. */
    size_t bytes = o->n * bm_dtype_size(o->dtype);
    o->block = calloc((size_t)o->n_states, bytes);
    if (!o->block)
        return bm_error_set(err, BM_ERR_NOMEM, "bm_optim_new: out of memory for %d x %zu bytes",
                            o->n_states, bytes);
    for (int k = 0; k < o->n_states; k++)
        o->state[k] = (char *)o->block + (size_t)k * bytes;
    o->momentums = mom ? o->state[0] : NULL;
    o->cache = ki->cache ? o->state[mom] : NULL;
    return BM_OK;
}

bm_optim *bm_optim_new_groups(const bm_optim_config *cfg, bm_dtype dt, size_t n_params,
                              const bm_optim_group *groups, size_t n_groups, bm_error *err)
{
    size_t n_spans = 0, elems = 0;
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
    if (check_groups(dt, n_params, groups, n_groups, &n_spans, &elems, err) != BM_OK)
        return NULL;
    bm_optim *o = calloc(1, sizeof *o);
    if (!o) {
        bm_error_set(err, BM_ERR_NOMEM, "bm_optim_new: out of memory");
        return NULL;
    }
    o->cfg = *cfg;
    o->dtype = dt;
    o->n = elems;
    o->tensors = groups[0].tensors != NULL;
    o->n_groups = n_groups;
    o->n_spans = n_spans;
    o->last_norm = NAN;
    o->groups = calloc(n_groups, sizeof *o->groups);
    o->spans = calloc(n_spans, sizeof *o->spans);
    if (!o->groups || !o->spans) {
        bm_error_set(err, BM_ERR_NOMEM, "bm_optim_new: out of memory for %zu groups", n_groups);
        bm_optim_free(o);
        return NULL;
    }
    if (fill_groups(o, groups, n_groups, err) != BM_OK || alloc_state(o, err) != BM_OK) {
        bm_optim_free(o);
        return NULL;
    }
    return o;
}

bm_optim *bm_optim_new(const bm_optim_config *cfg, bm_dtype dt, size_t n_params, bm_error *err)
{
    if (!cfg) {
        bm_error_set(err, BM_ERR_NULL, "bm_optim_new: cfg is NULL");
        return NULL;
    }
    /* the flat constructor's checks, in its order: config, dtype, size */
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
    bm_optim_group g = bm_optim_group_range(cfg, 0, n_params);
    return bm_optim_new_groups(cfg, dt, n_params, &g, 1, err);
}

void bm_optim_free(bm_optim *o)
{
    if (!o)
        return;
    free(o->block);
    free(o->groups);
    free(o->spans);
    free(o);
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

int bm_optim_is_flat(const bm_optim *o) { return o ? !o->tensors : 0; }

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

size_t bm_optim_n_groups(const bm_optim *o) { return o ? o->n_groups : 0; }

bm_status bm_optim_group_get(const bm_optim *o, size_t g, double *lr, double *weight_decay,
                             int *frozen, bm_error *err)
{
    if (!o)
        return bm_error_set(err, BM_ERR_NULL, "bm_optim_group_get: optimizer is NULL");
    if (g >= o->n_groups)
        return bm_error_set(err, BM_ERR_ARG, "bm_optim_group_get: group %zu of %zu", g,
                            o->n_groups);
    if (lr)
        *lr = o->groups[g].lr;
    if (weight_decay)
        *weight_decay = o->groups[g].weight_decay;
    if (frozen)
        *frozen = o->groups[g].frozen;
    return BM_OK;
}

bm_status bm_optim_group_set(bm_optim *o, size_t g, double lr, double weight_decay, int frozen,
                             bm_error *err)
{
    static const char fn[] = "bm_optim_group_set";
    if (!o)
        return bm_error_set(err, BM_ERR_NULL, "%s: optimizer is NULL", fn);
    if (g >= o->n_groups)
        return bm_error_set(err, BM_ERR_ARG, "%s: group %zu of %zu", fn, g, o->n_groups);
    bm_status s = check_group_settings(fn, g, lr, weight_decay, err);
    if (s != BM_OK)
        return s;
    o->groups[g].lr = lr;
    o->groups[g].weight_decay = weight_decay;
    o->groups[g].frozen = frozen != 0;
    return BM_OK;
}

bm_status bm_optim_set_schedule(bm_optim *o, const bm_schedule *s, bm_error *err)
{
    if (!o)
        return bm_error_set(err, BM_ERR_NULL, "bm_optim_set_schedule: optimizer is NULL");
    bm_status st = bm_schedule_check(s, err);
    if (st != BM_OK)
        return st;
    o->sched = s ? *s : (bm_schedule){.kind = BM_SCHED_CONSTANT};
    return BM_OK;
}

const bm_schedule *bm_optim_get_schedule(const bm_optim *o) { return o ? &o->sched : NULL; }

bm_status bm_optim_set_clip(bm_optim *o, double max_norm, double max_value, bm_error *err)
{
    static const char fn[] = "bm_optim_set_clip";
    if (!o)
        return bm_error_set(err, BM_ERR_NULL, "%s: optimizer is NULL", fn);
    bm_status s = bm_optim_check_nonnegative(fn, "max_norm", max_norm, err);
    if (s == BM_OK)
        s = bm_optim_check_nonnegative(fn, "max_value", max_value, err);
    if (s != BM_OK)
        return s;
    o->clip_norm = max_norm;
    o->clip_value = max_value;
    return BM_OK;
}

void bm_optim_get_clip(const bm_optim *o, double *max_norm, double *max_value)
{
    if (max_norm)
        *max_norm = o ? o->clip_norm : 0.0;
    if (max_value)
        *max_value = o ? o->clip_value : 0.0;
}

double bm_optim_grad_norm(const bm_optim *o) { return o ? o->last_norm : NAN; }
