/* model_clone.c — a copy of a model's graph (and values) in another dtype,
 * built through the public API from its accessors, so it works for every
 * kind, built-in or the caller's. */
#include <string.h>

#include "model_internal.h"

/* Copy n values of dtype sd at src to dtype dd at dst. */
static void convert(void *dst, bm_dtype dd, const void *src, bm_dtype sd, size_t n)
{
    bm_tensor s = {0}, d = {0};
    s.dtype = sd;
    s.data = (void *)(uintptr_t)src;
    s.size = n;
    d.dtype = dd;
    d.data = dst;
    d.size = n;
    for (size_t i = 0; i < n; i++)
        bm_tensor_set(&d, i, bm_tensor_get(&s, i));
}

/* The graph of m (inputs, nodes, tying, outputs, loss, optimizer config) in c. */
static bm_status copy_graph(const bm_model *m, bm_model *c, bm_error *err)
{
    bm_status s = bm_model_set_input_shape(c, &m->inputs[0].shape, err);
    if (s != BM_OK)
        return s;
    snprintf(c->inputs[0].name, sizeof c->inputs[0].name, "%s", m->inputs[0].name);
    for (size_t k = 1; k < m->n_in; k++)
        if ((s = bm_model_add_input(c, m->inputs[k].name, &m->inputs[k].shape, err)) != BM_OK)
            return s;
    for (size_t i = 0; i < m->n_layers; i++) {
        const char *in[BM_LAYER_MAX_INPUTS];
        const bm_layer *l = &m->layers[i];
        for (size_t k = 0; k < l->n_in; k++)
            in[k] = bm_model_node_input(m, i, k);
        if ((s = bm_model_add_node_vt(c, l->name, l->vt, &l->spec, l->n_in, in, err)) != BM_OK)
            return s;
        if (l->share >= 0 &&
            (s = bm_model_share(c, l->name, m->layers[l->share].name, err)) != BM_OK)
            return s;
    }
    const char *outs[BM_MODEL_MAX_OUTPUTS];
    for (size_t k = 0; k < m->n_out; k++)
        outs[k] = m->layers[m->outputs[k]].name;
    if (m->n_out && (s = bm_model_set_outputs(c, m->n_out, outs, err)) != BM_OK)
        return s;
    if ((s = bm_model_set_loss(c, m->loss, err)) != BM_OK)
        return s;
    return m->has_ocfg ? bm_model_set_optimizer(c, &m->ocfg, err) : BM_OK;
}

bm_model *bm_model_clone(const bm_model *m, bm_dtype dt, bm_error *err)
{
    if (!m) {
        bm_error_set(err, BM_ERR_NULL, "bm_model_clone: model is NULL");
        return NULL;
    }
    bm_model *c = bm_model_new(dt, m->inputs[0].width, err);
    if (!c)
        return NULL;
    if (copy_graph(m, c, err) != BM_OK)
        goto fail;
    if (m->params) {
        if (bm_model_init(c, 0, err) != BM_OK)
            goto fail;
        convert(c->params, dt, m->params, m->dtype, m->n_params);
        if (m->n_state)
            convert(c->state, dt, m->state, m->dtype, m->n_state);
    }
    c->rng = m->rng;
    c->epoch = m->epoch;
    return c;
fail:
    bm_model_free(c);
    return NULL;
}

size_t bm_model_n_positions(const bm_model *m)
{
    return m && m->n_layers ? bm_model_loss_layout(m).positions : 1;
}
