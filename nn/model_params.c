/* model_params.c — every node's parameter tensors as views into one flat
 * parameter buffer (+ its gradient) and one flat state buffer, laid out
 * and initialised generically from the kinds' parameter descriptors; the
 * accessors by node and by name; the DOT group of a tensor. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

/* Elements of parameter descriptor d. */
static size_t desc_size(const bm_param_desc *d)
{
    size_t n = 1;
    for (int a = 0; a < d->rank; a++)
        n = d->shape[a] && n <= BM_MAX_ELEMENTS / d->shape[a] ? n * d->shape[a] : 0;
    return d->rank >= 1 && d->rank <= BM_MAX_RANK ? n : 0;
}

/* Count the trained and state elements of the nodes that own their tensors. */
static bm_status count_params(const bm_model *m, size_t *np, size_t *ns, bm_error *err)
{
    *np = *ns = 0;
    for (size_t i = 0; i < m->n_layers; i++) {
        const bm_layer *l = &m->layers[i];
        for (size_t k = 0; l->share < 0 && k < l->n_params; k++) {
            size_t n = desc_size(&l->pd[k]);
            size_t *tot = l->pd[k].role == BM_ROLE_STATE ? ns : np;
            if (n == 0 || n > BM_MAX_ELEMENTS - *tot)
                return bm_error_set(err, BM_ERR_SIZE, "bm_model_init: %s.%s has an invalid "
                                    "shape or makes too many parameters", l->name,
                                    l->pd[k].name ? l->pd[k].name : "?");
            *tot += n;
        }
    }
    return BM_OK;
}

/* Views of every owned tensor into the buffers; shared nodes take their
 * owner's. */
static bm_status make_views(bm_model *m, bm_error *err)
{
    size_t esz = bm_dtype_size(m->dtype), off = 0, soff = 0;
    char *p = m->params, *g = m->grads, *st = m->state;
    for (size_t i = 0; i < m->n_layers; i++) {
        bm_layer *l = &m->layers[i];
        l->param_lo = off;
        if (l->share >= 0) {
            memcpy(l->params, m->layers[l->share].params, l->n_params * sizeof *l->params);
            continue;
        }
        for (size_t k = 0; k < l->n_params; k++) {
            const bm_param_desc *d = &l->pd[k];
            size_t n = desc_size(d);
            int state = d->role == BM_ROLE_STATE;
            bm_tensor *t = state ? bm_tensor_view(m->dtype, d->rank, d->shape, st + soff * esz,
                                                  NULL, err)
                                 : bm_tensor_view(m->dtype, d->rank, d->shape, p + off * esz,
                                                  g + off * esz, err);
            if (!t)
                return err ? err->code : BM_ERR_NOMEM;
            l->params[k] = t;
            *(state ? &soff : &off) += n;
            if (!state)
                t->flags |= BM_PARAM;
            snprintf(l->pname[k], sizeof l->pname[k], "%s.%s", l->name, d->name ? d->name : "p");
            t->name = l->pname[k];
        }
    }
    return BM_OK;
}

static void free_views(bm_model *m)
{
    for (size_t i = 0; i < m->n_layers; i++) {
        bm_layer *l = &m->layers[i];
        for (size_t k = 0; l->share < 0 && k < l->n_params; k++)
            bm_tensor_free(l->params[k]);
        if (l->n_params)
            memset(l->params, 0, l->n_params * sizeof *l->params);
    }
    free(m->params);
    free(m->grads);
    free(m->state);
    free(m->vals);
    m->params = m->grads = m->state = NULL;
    m->vals = NULL;
    m->n_params = m->n_state = 0;
}

bm_status bm_model_init(bm_model *m, uint64_t seed, bm_error *err)
{
    if (!m)
        return bm_error_set(err, BM_ERR_NULL, "bm_model_init: model is NULL");
    if (m->n_layers == 0)
        return bm_error_set(err, BM_ERR_STATE, "bm_model_init: the model has no layers");
    if (m->params)
        return bm_error_set(err, BM_ERR_STATE, "bm_model_init: parameters exist already");
    size_t n, ns;
    bm_status s = count_params(m, &n, &ns, err);
    if (s != BM_OK)
        return s;
    if (n == 0)
        return bm_error_set(err, BM_ERR_STATE, "bm_model_init: the model has no trained "
                            "parameters (no dense layer or other layer with weights)");
    size_t esz = bm_dtype_size(m->dtype);
    m->params = calloc(n, esz);
    m->grads = calloc(n, esz);
    m->state = ns ? calloc(ns, esz) : NULL;
    m->vals = calloc(m->n_layers, sizeof *m->vals);
    if (!m->params || !m->grads || (ns && !m->state) || !m->vals) {
        free_views(m);
        return bm_error_set(err, BM_ERR_NOMEM, "bm_model_init: out of memory for %zu parameters",
                            n);
    }
    m->n_params = n;
    m->n_state = ns;
    if ((s = make_views(m, err)) != BM_OK) {
        free_views(m);
        return s;
    }
    if (m->has_ocfg) {
        m->opt = bm_optim_new(&m->ocfg, m->dtype, n, err);
        if (!m->opt)
            return err ? err->code : BM_ERR_ARG;
    }
    return bm_model_reset_params(m, seed, err);
}

/* Fill t as descriptor d says, drawing from rng in element order. */
static void init_tensor(bm_tensor *t, const bm_param_desc *d, bm_init init, bm_rng *rng)
{
    double in = (double)d->fan_in, out = (double)d->fan_out;
    for (size_t i = 0; i < t->size; i++) {
        double v = 0.0;
        switch (d->init) {
        case BM_PINIT_ZEROS:
            break;
        case BM_PINIT_ONES:
            v = 1.0;
            break;
        case BM_PINIT_SPEC:
            v = init == BM_INIT_GLOROT ? sqrt(6.0 / (in + out)) * (2.0 * bm_rng_uniform(rng) - 1.0)
                : init == BM_INIT_HE   ? sqrt(2.0 / in) * bm_rng_normal(rng)
                                       : BM_INIT_SMALL_STD * bm_rng_normal(rng);
            break;
        case BM_PINIT_UNIFORM:
            v = (2.0 * bm_rng_uniform(rng) - 1.0) / sqrt(in > 0 ? in : 1.0);
            break;
        case BM_PINIT_NORMAL:
            v = d->std * bm_rng_normal(rng);
            break;
        }
        bm_tensor_set(t, i, v);
    }
}

bm_status bm_model_reset_params(bm_model *m, uint64_t seed, bm_error *err)
{
    if (!m || !m->params)
        return bm_error_set(err, BM_ERR_STATE, "bm_model_reset_params: model has no parameters");
    bm_rng_seed(&m->rng, seed);
    for (size_t i = 0; i < m->n_layers; i++) {
        bm_layer *l = &m->layers[i];
        for (size_t k = 0; l->share < 0 && k < l->n_params; k++)
            init_tensor(l->params[k], &l->pd[k], l->spec.init, &m->rng);
    }
    if (m->opt) {
        bm_optim_set_iterations(m->opt, 0);
        for (int k = 0; k < bm_optim_state_count(m->opt); k++)
            memset(bm_optim_state(m->opt, k), 0, m->n_params * bm_dtype_size(m->dtype));
    }
    m->epoch = 0;
    return BM_OK;
}

/* ------------------------------------------------------------ accessors */

size_t bm_model_n_layers(const bm_model *m) { return m ? m->n_layers : 0; }

const bm_layer_spec *bm_model_layer(const bm_model *m, size_t i)
{
    return m && i < m->n_layers ? &m->layers[i].spec : NULL;
}

/* The first parameter of node i with role r. */
static bm_tensor *first_of(bm_model *m, size_t i, bm_param_role r)
{
    if (!m || i >= m->n_layers)
        return NULL;
    for (size_t k = 0; k < m->layers[i].n_params; k++)
        if (m->layers[i].pd[k].role == r)
            return m->layers[i].params[k];
    return NULL;
}

bm_tensor *bm_model_weights(bm_model *m, size_t i) { return first_of(m, i, BM_ROLE_WEIGHT); }
bm_tensor *bm_model_biases(bm_model *m, size_t i) { return first_of(m, i, BM_ROLE_BIAS); }

const char *bm_model_node_name(const bm_model *m, size_t i)
{
    return m && i < m->n_layers ? m->layers[i].name : NULL;
}

const bm_layer_vt *bm_model_node_vt(const bm_model *m, size_t i)
{
    return m && i < m->n_layers ? m->layers[i].vt : NULL;
}

const bm_shape *bm_model_node_shape(const bm_model *m, size_t i)
{
    return m && i < m->n_layers ? &m->layers[i].shape : NULL;
}

size_t bm_model_node_n_inputs(const bm_model *m, size_t i)
{
    return m && i < m->n_layers ? m->layers[i].n_in : 0;
}

const char *bm_model_node_input(const bm_model *m, size_t i, size_t k)
{
    if (!m || i >= m->n_layers || k >= m->layers[i].n_in)
        return NULL;
    bm_node_src s = m->layers[i].src[k];
    return s >= 0 ? m->layers[s].name : m->inputs[-s - 1].name;
}

const char *bm_model_node_shares(const bm_model *m, size_t i)
{
    return m && i < m->n_layers && m->layers[i].share >= 0
               ? m->layers[m->layers[i].share].name
               : NULL;
}

size_t bm_model_node_n_params(const bm_model *m, size_t i)
{
    return m && i < m->n_layers ? m->layers[i].n_params : 0;
}

const bm_param_desc *bm_model_node_param_desc(const bm_model *m, size_t i, size_t k)
{
    return m && i < m->n_layers && k < m->layers[i].n_params ? &m->layers[i].pd[k] : NULL;
}

bm_tensor *bm_model_node_param(bm_model *m, size_t i, size_t k)
{
    return m && i < m->n_layers && k < m->layers[i].n_params ? m->layers[i].params[k] : NULL;
}

bm_tensor *bm_model_param(bm_model *m, const char *label)
{
    const char *dot = label ? strrchr(label, '.') : NULL;
    if (!m || !dot)
        return NULL;
    for (size_t i = 0; i < m->n_layers; i++) {
        const bm_layer *l = &m->layers[i];
        if (strlen(l->name) != (size_t)(dot - label) ||
            strncmp(l->name, label, (size_t)(dot - label)) != 0)
            continue;
        for (size_t k = 0; k < l->n_params; k++)
            if (l->pd[k].name && strcmp(l->pd[k].name, dot + 1) == 0)
                return l->params[k];
    }
    return NULL;
}

size_t bm_model_input_count(const bm_model *m) { return m ? m->n_in : 0; }

const char *bm_model_input_name(const bm_model *m, size_t k)
{
    return m && k < m->n_in ? m->inputs[k].name : NULL;
}

const bm_shape *bm_model_input_shape(const bm_model *m, size_t k)
{
    return m && k < m->n_in ? &m->inputs[k].shape : NULL;
}

size_t bm_model_output_count(const bm_model *m)
{
    return !m || m->n_layers == 0 ? 0 : m->n_out ? m->n_out : 1;
}

size_t bm_model_out_node(const bm_model *m, size_t k)
{
    return m->n_out ? (size_t)m->outputs[k] : m->n_layers - 1;
}

const char *bm_model_output_name(const bm_model *m, size_t k)
{
    return k < bm_model_output_count(m) ? m->layers[bm_model_out_node(m, k)].name : NULL;
}

size_t bm_model_n_state(const bm_model *m) { return m ? m->n_state : 0; }
void *bm_model_state(bm_model *m) { return m ? m->state : NULL; }

/* The accessors answer NULL with a neutral value (BM_F32, 0, NULL). */
bm_dtype bm_model_dtype(const bm_model *m) { return m ? m->dtype : BM_F32; }
size_t bm_model_n_inputs(const bm_model *m) { return m ? m->n_inputs : 0; }
size_t bm_model_n_outputs(const bm_model *m) { return m ? bm_model_width(m) : 0; }
bm_loss_kind bm_model_loss(const bm_model *m) { return m ? m->loss : (bm_loss_kind)0; }
size_t bm_model_n_params(const bm_model *m) { return m ? m->n_params : 0; }
void *bm_model_params(bm_model *m) { return m ? m->params : NULL; }
void *bm_model_grads(bm_model *m) { return m ? m->grads : NULL; }
bm_optim *bm_model_optim(bm_model *m) { return m ? m->opt : NULL; }
bm_rng *bm_model_rng(bm_model *m) { return m ? &m->rng : NULL; }
uint64_t bm_model_epoch(const bm_model *m) { return m ? m->epoch : 0; }
void bm_model_set_epoch(bm_model *m, uint64_t epoch)
{
    if (m)
        m->epoch = epoch;
}

/* ------------------------------------------------------------ groups */

/* The last layer whose key (the size_t at byte offset `key` of bm_layer)
 * is <= v, or n_layers when none: keys ascend, so a binary search. */
static size_t last_layer_at(const bm_model *m, size_t key, size_t v)
{
    size_t lo = 0, hi = m->n_layers; /* the answer is in [lo - 1, hi) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (*(const size_t *)(const void *)((const char *)&m->layers[mid] + key) <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lo - 1 : m->n_layers;
}

const char *bm_model_group(void *model, const bm_tensor *t)
{
    bm_model *m = model;
    if (!m || !t || m->n_layers == 0)
        return NULL;
    /* O(log layers), so `bmnn dot` stays fast on deep models: an op node by
     * its tape position, a parameter by its offset in the flat buffer */
    if (t->node) {
        size_t pos = bm_node_index(t->node);
        size_t i = last_layer_at(m, offsetof(bm_layer, node_lo), pos);
        const bm_layer *l = i < m->n_layers ? &m->layers[i] : NULL;
        return l && l->has_nodes && pos <= l->node_hi ? l->group : NULL;
    }
    size_t esz = bm_dtype_size(m->dtype);
    uintptr_t p = (uintptr_t)t->data, base = (uintptr_t)m->params;
    if (!m->params || p < base || p >= base + m->n_params * esz)
        return NULL;
    size_t i = last_layer_at(m, offsetof(bm_layer, param_lo), (size_t)(p - base) / esz);
    const bm_layer *l = &m->layers[i < m->n_layers ? i : 0];
    for (size_t k = 0; l->share < 0 && k < l->n_params; k++)
        if (t == l->params[k])
            return l->group;
    return NULL;
}
