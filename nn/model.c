/* model.c — the sequential model: layers, parameters in one flat buffer,
 * and the forward graph recorded from the tape's ops. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bm_ops.h"
#include "model_internal.h"

bm_layer_spec bm_dense_spec(size_t in, size_t out)
{
    bm_layer_spec s;
    memset(&s, 0, sizeof s);
    s.kind = BM_LAYER_DENSE;
    s.in = in;
    s.out = out;
    s.init = BM_INIT_SMALL;
    return s;
}

bm_layer_spec bm_activation_spec(bm_layer_kind k)
{
    bm_layer_spec s;
    memset(&s, 0, sizeof s);
    s.kind = k;
    return s;
}

bm_layer_spec bm_layer_default(bm_layer_kind k)
{
    bm_layer_spec s = bm_activation_spec(k);
    s.bias = 1;
    s.affine = 1;
    return s;
}

bm_layer_spec bm_dropout_spec(double rate)
{
    bm_layer_spec s = bm_activation_spec(BM_LAYER_DROPOUT);
    s.rate = rate;
    return s;
}

bm_model *bm_model_new(bm_dtype dt, size_t n_inputs, bm_error *err)
{
    if (dt != BM_F32 && dt != BM_F64) {
        bm_error_set(err, BM_ERR_DTYPE, "bm_model_new: unknown dtype %d", (int)dt);
        return NULL;
    }
    if (n_inputs == 0 || n_inputs > BM_MAX_ELEMENTS) {
        bm_error_set(err, BM_ERR_SIZE, "bm_model_new: input width %zu is not in 1..%zu",
                     n_inputs, (size_t)BM_MAX_ELEMENTS);
        return NULL;
    }
    bm_model *m = calloc(1, sizeof *m);
    if (!m) {
        bm_error_set(err, BM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    m->dtype = dt;
    m->n_inputs = n_inputs;
    m->loss = BM_LOSS_SOFTMAX_CCE;
    bm_rng_seed(&m->rng, 0);
    return m;
}

void bm_model_free(bm_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_layers; i++) {
        bm_tensor_free(m->layers[i].W);
        bm_tensor_free(m->layers[i].b);
    }
    free(m->layers);
    free(m->params);
    free(m->grads);
    bm_optim_free(m->opt);
    for (int g = 0; g < BM_MODEL_GRAPHS; g++)
        bm_tape_free(m->graphs[g].tape);
    bm_tape_free(m->eval_tape);
    free(m->perm);
    free(m);
}

bm_status bm_model_set_threads(bm_model *m, int threads, bm_error *err)
{
    if (!m)
        return bm_error_set(err, BM_ERR_NULL, "bm_model_set_threads: model is NULL");
    if (threads < 1 || threads > BM_MAX_THREADS)
        return bm_error_set(err, BM_ERR_ARG, "bm_model_set_threads: %d threads is not in 1..%d",
                            threads, BM_MAX_THREADS);
    /* The tapes are made now (fit would make them on first use) to hold it. */
    bm_tape **tapes[BM_MODEL_GRAPHS + 1];
    for (int g = 0; g < BM_MODEL_GRAPHS; g++)
        tapes[g] = &m->graphs[g].tape;
    tapes[BM_MODEL_GRAPHS] = &m->eval_tape;
    for (int k = 0; k <= BM_MODEL_GRAPHS; k++) {
        if (!*tapes[k] && threads == 1)
            continue;
        if (!*tapes[k] && !(*tapes[k] = bm_tape_new()))
            return bm_error_set(err, BM_ERR_NOMEM, "out of memory for a tape");
        bm_status s = bm_tape_set_threads(*tapes[k], threads, err);
        if (s != BM_OK)
            return s;
    }
    for (int g = 0; g < BM_MODEL_GRAPHS; g++)
        m->graphs[g].batch = 0; /* re-record: scratch memory is sized per thread count */
    return BM_OK;
}

int bm_model_threads(const bm_model *m) { return m ? bm_tape_threads(m->graphs[0].tape) : 1; }

size_t bm_model_width(const bm_model *m)
{
    for (size_t i = m->n_layers; i-- > 0;)
        if (m->layers[i].spec.kind == BM_LAYER_DENSE)
            return m->layers[i].spec.out;
    return m->n_inputs;
}

static bm_status check_spec(const bm_model *m, const bm_layer_spec *s, bm_error *err)
{
    size_t idx = m->n_layers;
    if (s->kind == BM_LAYER_DENSE) {
        size_t width = bm_model_width(m);
        if (s->in != width)
            return bm_error_set(err, BM_ERR_SHAPE,
                                "layers[%zu]: dense input %zu does not match the width %zu "
                                "before it",
                                idx, s->in, width);
        if (s->out == 0 || s->out > BM_MAX_ELEMENTS / s->in)
            return bm_error_set(err, BM_ERR_SIZE, "layers[%zu]: dense size %zux%zu is invalid",
                                idx, s->in, s->out);
        if (s->init > BM_INIT_HE)
            return bm_error_set(err, BM_ERR_ARG, "layers[%zu]: unknown initialiser %d", idx,
                                (int)s->init);
        const double r[4] = {s->l1_weights, s->l2_weights, s->l1_biases, s->l2_biases};
        static const char *const names[4] = {"l1_weights", "l2_weights", "l1_biases",
                                             "l2_biases"};
        for (int k = 0; k < 4; k++)
            if (!(r[k] >= 0.0) || !isfinite(r[k]))
                return bm_error_set(err, BM_ERR_ARG,
                                    "layers[%zu].%s: %g must be finite and >= 0", idx,
                                    names[k], r[k]);
    } else if (s->kind == BM_LAYER_DROPOUT) {
        if (!(s->rate >= 0.0 && s->rate < 1.0))
            return bm_error_set(err, BM_ERR_ARG, "layers[%zu].rate: %g must be in [0, 1)", idx,
                                s->rate);
    } else if (s->kind > BM_LAYER_DROPOUT) {
        return bm_error_set(err, BM_ERR_ARG, "layers[%zu]: unknown layer kind %d", idx,
                            (int)s->kind);
    }
    return BM_OK;
}

bm_status bm_model_add(bm_model *m, const bm_layer_spec *spec, bm_error *err)
{
    if (!m || !spec)
        return bm_error_set(err, BM_ERR_NULL, "bm_model_add: NULL argument");
    if (m->params)
        return bm_error_set(err, BM_ERR_STATE,
                            "bm_model_add: the model's parameters exist already");
    bm_status s = check_spec(m, spec, err);
    if (s != BM_OK)
        return s;
    if (m->n_layers == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 4;
        bm_layer *l = realloc(m->layers, cap * sizeof *l);
        if (!l)
            return bm_error_set(err, BM_ERR_NOMEM, "out of memory");
        m->layers = l;
        m->cap = cap;
    }
    bm_layer *l = &m->layers[m->n_layers];
    memset(l, 0, sizeof *l);
    l->spec = *spec;
    snprintf(l->group, sizeof l->group, "layers[%zu]: %s", m->n_layers,
             bm_layer_kind_name(spec->kind));
    m->n_layers++;
    return BM_OK;
}

bm_status bm_model_set_loss(bm_model *m, bm_loss_kind loss, bm_error *err)
{
    if (!m)
        return bm_error_set(err, BM_ERR_NULL, "bm_model_set_loss: model is NULL");
    if (loss > BM_LOSS_MAE)
        return bm_error_set(err, BM_ERR_ARG, "bm_model_set_loss: unknown loss %d", (int)loss);
    m->loss = loss;
    m->graphs[0].batch = m->graphs[1].batch = 0; /* recorded graphs are stale */
    return BM_OK;
}

bm_status bm_model_set_optimizer(bm_model *m, const bm_optim_config *cfg, bm_error *err)
{
    if (!m || !cfg)
        return bm_error_set(err, BM_ERR_NULL, "bm_model_set_optimizer: NULL argument");
    bm_optim *o = NULL;
    if (m->params) {
        o = bm_optim_new(cfg, m->dtype, m->n_params, err);
        if (!o)
            return err ? err->code : BM_ERR_ARG;
    } else {
        /* validate now, create at init */
        bm_optim *probe = bm_optim_new(cfg, m->dtype, 1, err);
        if (!probe)
            return err ? err->code : BM_ERR_ARG;
        bm_optim_free(probe);
    }
    bm_optim_free(m->opt);
    m->opt = o;
    m->ocfg = *cfg;
    m->has_ocfg = 1;
    return BM_OK;
}

/* Fill W [in,out] by the layer's initialiser. */
static void init_weights(bm_tensor *W, bm_init init, bm_rng *rng)
{
    double in = (double)W->shape[0], out = (double)W->shape[1];
    double glorot = sqrt(6.0 / (in + out)), he = sqrt(2.0 / in);
    for (size_t i = 0; i < W->size; i++) {
        double v = init == BM_INIT_GLOROT ? glorot * (2.0 * bm_rng_uniform(rng) - 1.0)
                   : init == BM_INIT_HE   ? he * bm_rng_normal(rng)
                                          : BM_INIT_SMALL_STD * bm_rng_normal(rng);
        bm_tensor_set(W, i, v);
    }
}

bm_status bm_model_init(bm_model *m, uint64_t seed, bm_error *err)
{
    if (!m)
        return bm_error_set(err, BM_ERR_NULL, "bm_model_init: model is NULL");
    if (m->n_layers == 0)
        return bm_error_set(err, BM_ERR_STATE, "bm_model_init: the model has no layers");
    if (m->params)
        return bm_error_set(err, BM_ERR_STATE, "bm_model_init: parameters exist already");
    size_t n = 0;
    for (size_t i = 0; i < m->n_layers; i++) {
        const bm_layer_spec *s = &m->layers[i].spec;
        if (s->kind == BM_LAYER_DENSE)
            n += s->in * s->out + s->out;
    }
    if (n == 0)
        return bm_error_set(err, BM_ERR_STATE, "bm_model_init: the model has no dense layer");
    size_t esz = bm_dtype_size(m->dtype);
    m->params = calloc(n, esz);
    m->grads = calloc(n, esz);
    if (!m->params || !m->grads)
        goto nomem;
    m->n_params = n;
    size_t off = 0;
    for (size_t i = 0; i < m->n_layers; i++) {
        bm_layer *l = &m->layers[i];
        l->param_lo = off;
        if (l->spec.kind != BM_LAYER_DENSE)
            continue;
        size_t ws[2] = {l->spec.in, l->spec.out}, bs[2] = {1, l->spec.out};
        char *p = m->params, *g = m->grads;
        l->W = bm_tensor_view(m->dtype, 2, ws, p + off * esz, g + off * esz, err);
        off += l->spec.in * l->spec.out;
        l->b = bm_tensor_view(m->dtype, 2, bs, p + off * esz, g + off * esz, err);
        off += l->spec.out;
        if (!l->W || !l->b)
            goto nomem;
        l->W->flags |= BM_PARAM;
        l->b->flags |= BM_PARAM;
        snprintf(l->wname, sizeof l->wname, "layers[%zu].weights", i);
        snprintf(l->bname, sizeof l->bname, "layers[%zu].biases", i);
        l->W->name = l->wname;
        l->b->name = l->bname;
    }
    if (m->has_ocfg) {
        m->opt = bm_optim_new(&m->ocfg, m->dtype, n, err);
        if (!m->opt)
            return err ? err->code : BM_ERR_ARG;
    }
    return bm_model_reset_params(m, seed, err);
nomem:
    free(m->params);
    free(m->grads);
    m->params = m->grads = NULL;
    m->n_params = 0;
    return bm_error_set(err, BM_ERR_NOMEM, "bm_model_init: out of memory for %zu parameters", n);
}

bm_status bm_model_reset_params(bm_model *m, uint64_t seed, bm_error *err)
{
    if (!m || !m->params)
        return bm_error_set(err, BM_ERR_STATE, "bm_model_reset_params: model has no parameters");
    bm_rng_seed(&m->rng, seed);
    for (size_t i = 0; i < m->n_layers; i++) {
        bm_layer *l = &m->layers[i];
        if (l->spec.kind != BM_LAYER_DENSE)
            continue;
        init_weights(l->W, l->spec.init, &m->rng);
        memset(l->b->data, 0, l->b->size * bm_dtype_size(m->dtype));
    }
    if (m->opt) {
        bm_optim_set_iterations(m->opt, 0);
        for (int k = 0; k < bm_optim_state_count(m->opt); k++)
            memset(bm_optim_state(m->opt, k), 0, m->n_params * bm_dtype_size(m->dtype));
    }
    m->epoch = 0;
    return BM_OK;
}

size_t bm_model_n_layers(const bm_model *m) { return m ? m->n_layers : 0; }

const bm_layer_spec *bm_model_layer(const bm_model *m, size_t i)
{
    return m && i < m->n_layers ? &m->layers[i].spec : NULL;
}

bm_tensor *bm_model_weights(bm_model *m, size_t i)
{
    return m && i < m->n_layers ? m->layers[i].W : NULL;
}

bm_tensor *bm_model_biases(bm_model *m, size_t i)
{
    return m && i < m->n_layers ? m->layers[i].b : NULL;
}

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
    const bm_layer *l = &m->layers[last_layer_at(m, offsetof(bm_layer, param_lo), (p - base) / esz)];
    return t == l->W || t == l->b ? l->group : NULL;
}

/* Record layer l on h; returns the new activation. */
static bm_tensor *record_layer(bm_model *m, bm_layer *l, bm_tape *tape, bm_tensor *h,
                               int training, int is_last)
{
    switch (l->spec.kind) {
    case BM_LAYER_DENSE:
        return bm_linear(tape, h, l->W, l->b);
    case BM_LAYER_RELU:
        return bm_relu(tape, h);
    case BM_LAYER_SIGMOID:
        return bm_sigmoid(tape, h);
    case BM_LAYER_TANH:
        return bm_tanh(tape, h);
    case BM_LAYER_SOFTMAX:
        /* The fused loss takes logits: a final softmax is applied by it. */
        return is_last && m->loss == BM_LOSS_SOFTMAX_CCE ? h : bm_softmax(tape, h);
    case BM_LAYER_DROPOUT:
        return training && l->spec.rate > 0.0 ? bm_dropout(tape, h, l->spec.rate, &m->rng) : h;
    case BM_LAYER_IDENTITY:
    default: /* later kinds: check_spec refuses them in this sequential model */
        return h;
    }
    return h;
}

/* Add the L1/L2 terms of every dense layer; NULL when there are none. */
static bm_tensor *record_penalties(bm_model *m, bm_tape *tape)
{
    bm_tensor *reg = NULL;
    for (size_t i = 0; i < m->n_layers; i++) {
        const bm_layer *l = &m->layers[i];
        const bm_layer_spec *s = &l->spec;
        if (s->kind != BM_LAYER_DENSE)
            continue;
        bm_tensor *terms[4] = {
            s->l1_weights > 0 ? bm_l1(tape, l->W, s->l1_weights) : NULL,
            s->l2_weights > 0 ? bm_l2(tape, l->W, s->l2_weights) : NULL,
            s->l1_biases > 0 ? bm_l1(tape, l->b, s->l1_biases) : NULL,
            s->l2_biases > 0 ? bm_l2(tape, l->b, s->l2_biases) : NULL,
        };
        for (int k = 0; k < 4; k++)
            if (terms[k])
                reg = reg ? bm_add(tape, reg, terms[k]) : terms[k];
    }
    return reg;
}

static bm_tensor *record_loss(bm_model *m, bm_tape *tape, bm_tensor *out, bm_tensor *y)
{
    switch (m->loss) {
    case BM_LOSS_CCE:
        return bm_cce(tape, out, y);
    case BM_LOSS_SOFTMAX_CCE:
        return bm_softmax_cce(tape, out, y);
    case BM_LOSS_BCE:
        return bm_bce(tape, out, y);
    case BM_LOSS_MSE:
        return bm_mse(tape, out, y);
    case BM_LOSS_MAE:
        return bm_mae(tape, out, y);
    }
    return NULL;
}

bm_tensor *bm_model_record(bm_model *m, bm_tape *tape, bm_tensor *x, bm_tensor *y,
                           int training, bm_step_losses *losses)
{
    bm_step_losses tmp;
    if (!losses)
        losses = &tmp;
    memset(losses, 0, sizeof *losses);
    if (!tape)
        return NULL;
    if (!m || !m->params) {
        bm_tape_fail(tape, BM_ERR_STATE, "bm_model_record: model %s",
                     m ? "has no parameters (call bm_model_init)" : "is NULL");
        return NULL;
    }
    bm_tensor *h = x;
    for (size_t i = 0; i < m->n_layers; i++) {
        bm_layer *l = &m->layers[i];
        l->node_lo = bm_tape_size(tape);
        h = record_layer(m, l, tape, h, training, i + 1 == m->n_layers);
        l->has_nodes = bm_tape_size(tape) > l->node_lo;
        if (l->has_nodes)
            l->node_hi = bm_tape_size(tape) - 1;
    }
    losses->output = h;
    if (!y) {
        if (m->loss == BM_LOSS_SOFTMAX_CCE)
            h = bm_softmax(tape, h);
        return h;
    }
    losses->data = record_loss(m, tape, h, y);
    losses->reg = record_penalties(m, tape);
    losses->total = losses->reg ? bm_add(tape, losses->data, losses->reg) : losses->data;
    return losses->total;
}
