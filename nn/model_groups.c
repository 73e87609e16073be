/* model_groups.c — parameter groups of a model: each trained tensor in at
 * most one group, the optimizer rebuilt over ranges of the flat buffer
 * (consecutive tensors of one group merged into one range). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

/* The owned trained tensors of m in buffer order (t NULL: just count). */
static size_t owned_tensors(const bm_model *m, bm_tensor **t)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_layers; i++) {
        const bm_layer *l = &m->layers[i];
        for (size_t k = 0; l->share < 0 && k < l->n_params; k++)
            if (l->pd[k].role != BM_ROLE_STATE) {
                if (t)
                    t[n] = l->params[k];
                n++;
            }
    }
    return n;
}

void bm_model_drop_groups(bm_model *m)
{
    free(m->tgroup);
    free(m->gfirst);
    m->tgroup = NULL;
    m->gfirst = NULL;
    m->n_groups = 0;
}

/* Put tensor t in group g of grp (tensors ts, n of them). */
static bm_status assign(const bm_tensor *t, size_t g, const char *what, bm_tensor **ts, size_t n,
                        int *grp, bm_error *err)
{
    for (size_t k = 0; k < n; k++)
        if (ts[k] == t) {
            if (grp[k] >= 0)
                return bm_error_set(err, BM_ERR_ARG, "bm_model_set_param_groups: groups[%zu]: "
                                    "%s is in groups[%d] already", g, what, grp[k]);
            grp[k] = (int)g;
            return BM_OK;
        }
    return bm_error_set(err, BM_ERR_ARG, "bm_model_set_param_groups: groups[%zu]: %s is not a "
                        "trained parameter", g, what);
}

/* The group of each tensor from the groups' labels and nodes. */
static bm_status assign_all(bm_model *m, size_t n, const bm_param_group *gs, bm_tensor **ts,
                            size_t nt, int *grp, bm_error *err)
{
    static const char fn[] = "bm_model_set_param_groups";
    for (size_t k = 0; k < nt; k++)
        grp[k] = -1;
    for (size_t g = 0; g < n; g++) {
        const bm_param_group *pg = &gs[g];
        bm_status s = BM_OK;
        if (!(pg->lr > 0.0) || !isfinite(pg->lr) || !(pg->weight_decay >= 0.0) ||
            !isfinite(pg->weight_decay))
            return bm_error_set(err, BM_ERR_ARG, "%s: groups[%zu]: lr %g must be > 0 and "
                                "weight_decay %g >= 0", fn, g, pg->lr, pg->weight_decay);
        if ((pg->n_params && !pg->params) || (pg->n_nodes && !pg->nodes) ||
            pg->n_params + pg->n_nodes == 0)
            return bm_error_set(err, BM_ERR_ARG, "%s: groups[%zu] names no parameters", fn, g);
        for (size_t k = 0; s == BM_OK && k < pg->n_params; k++) {
            const bm_tensor *t = bm_model_param(m, pg->params[k]);
            if (!t)
                return bm_error_set(err, BM_ERR_ARG, "%s: groups[%zu]: no parameter \"%s\"", fn,
                                    g, pg->params[k] ? pg->params[k] : "(null)");
            s = assign(t, g, pg->params[k], ts, nt, grp, err);
        }
        for (size_t k = 0; s == BM_OK && k < pg->n_nodes; k++) {
            size_t i = bm_model_node_find(m, pg->nodes[k]);
            if (i == m->n_layers || m->layers[i].share >= 0)
                return bm_error_set(err, BM_ERR_ARG, "%s: groups[%zu]: \"%s\" is not a node "
                                    "with parameters of its own", fn, g,
                                    pg->nodes[k] ? pg->nodes[k] : "(null)");
            const bm_layer *l = &m->layers[i];
            for (size_t p = 0; s == BM_OK && p < l->n_params; p++)
                if (l->pd[p].role != BM_ROLE_STATE)
                    s = assign(l->params[p], g, l->pname[p], ts, nt, grp, err);
        }
        if (s != BM_OK)
            return s;
    }
    return BM_OK;
}

/* The new optimizer o goes on where old stopped: the same iteration count
 * (schedule, bias correction) and every element's state (both are flat over
 * the model's parameters, with one config). */
static void keep_state(bm_optim *o, bm_optim *old)
{
    size_t bytes = bm_optim_size(o) * bm_dtype_size(bm_optim_dtype(o));
    bm_optim_set_iterations(o, bm_optim_iterations(old));
    for (int k = 0; k < bm_optim_state_count(o) && k < bm_optim_state_count(old); k++)
        if (bm_optim_size(old) == bm_optim_size(o))
            memcpy(bm_optim_state(o, k), bm_optim_state(old, k), bytes);
}

bm_status bm_model_set_param_groups(bm_model *m, size_t n, const bm_param_group *groups,
                                    bm_error *err)
{
    static const char fn[] = "bm_model_set_param_groups";
    if (!m || !groups)
        return bm_error_set(err, BM_ERR_NULL, "%s: NULL argument", fn);
    if (!m->params || !m->opt)
        return bm_error_set(err, BM_ERR_STATE, "%s: %s", fn,
                            !m->params ? "call bm_model_init first" : "no optimizer set");
    if (n == 0 || n > BM_OPTIM_MAX_GROUPS)
        return bm_error_set(err, BM_ERR_ARG, "%s: %zu groups is not in 1..%d", fn, n,
                            BM_OPTIM_MAX_GROUPS);
    size_t nt = owned_tensors(m, NULL), nr = 0;
    bm_tensor **ts = calloc(nt, sizeof *ts);
    int *grp = calloc(nt, sizeof *grp);
    bm_optim_group *rs = calloc(nt, sizeof *rs);
    size_t *first = calloc(n, sizeof *first);
    bm_optim *o = NULL;
    bm_status s = ts && grp && rs && first ? BM_OK
                                           : bm_error_set(err, BM_ERR_NOMEM, "out of memory");
    if (s == BM_OK) {
        owned_tensors(m, ts);
        s = assign_all(m, n, groups, ts, nt, grp, err);
    }
    for (size_t g = 0; g < n; g++)
        first[g] = SIZE_MAX;
    for (size_t k = 0; s == BM_OK && k < nt; k++) { /* ranges: runs of one group */
        size_t off, count;
        if ((s = bm_model_param_range(m, ts[k], &off, &count, err)) != BM_OK)
            break;
        if (nr && grp[k] == grp[k - 1] && rs[nr - 1].offset + rs[nr - 1].count == off) {
            rs[nr - 1].count += count;
            continue;
        }
        const bm_param_group *pg = grp[k] >= 0 ? &groups[grp[k]] : NULL;
        rs[nr] = bm_optim_group_range(&m->ocfg, off, count);
        if (pg) {
            rs[nr].lr = pg->lr;
            rs[nr].weight_decay = pg->weight_decay;
            rs[nr].frozen = pg->frozen;
            if (first[grp[k]] == SIZE_MAX)
                first[grp[k]] = nr;
        }
        nr++;
    }
    for (size_t g = 0; s == BM_OK && g < n; g++)
        if (first[g] == SIZE_MAX)
            s = bm_error_set(err, BM_ERR_ARG, "%s: groups[%zu] names no parameters", fn, g);
    if (s == BM_OK && nr > BM_OPTIM_MAX_GROUPS)
        s = bm_error_set(err, BM_ERR_SIZE, "%s: the groups make %zu ranges, more than %d", fn,
                         nr, BM_OPTIM_MAX_GROUPS);
    if (s == BM_OK && !(o = bm_optim_new_groups(&m->ocfg, m->dtype, m->n_params, rs, nr, err)))
        s = err ? err->code : BM_ERR_ARG;
    if (s == BM_OK)
        keep_state(o, m->opt);
    double norm, value;
    bm_optim_get_clip(m->opt, &norm, &value);
    if (s == BM_OK && ((s = bm_optim_set_schedule(o, bm_optim_get_schedule(m->opt), err)) !=
                           BM_OK ||
                       (s = bm_optim_set_clip(o, norm, value, err)) != BM_OK))
        bm_optim_free(o);
    free(ts);
    free(rs);
    if (s != BM_OK) {
        free(grp);
        free(first);
        return s;
    }
    bm_optim_free(m->opt);
    bm_model_drop_groups(m);
    m->opt = o;
    m->tgroup = grp;
    m->gfirst = first;
    m->n_groups = n;
    return BM_OK;
}

size_t bm_model_n_param_groups(const bm_model *m) { return m ? m->n_groups : 0; }

bm_status bm_model_param_group_get(const bm_model *m, size_t g, double *lr, double *weight_decay,
                                   int *frozen, bm_error *err)
{
    if (!m || g >= m->n_groups)
        return bm_error_set(err, BM_ERR_ARG, "bm_model_param_group_get: no group %zu", g);
    return bm_optim_group_get(m->opt, m->gfirst[g], lr, weight_decay, frozen, err);
}

int bm_model_param_group_of(const bm_model *m, const bm_tensor *t)
{
    if (!m || !t || !m->tgroup)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < m->n_layers; i++) {
        const bm_layer *l = &m->layers[i];
        for (size_t p = 0; l->share < 0 && p < l->n_params; p++)
            if (l->pd[p].role != BM_ROLE_STATE) {
                if (l->params[p] == t)
                    return m->tgroup[k];
                k++;
            }
    }
    return -1;
}
