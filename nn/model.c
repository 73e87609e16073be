/* model.c — the model as a graph: inputs, layer nodes in insertion order
 * (each checked and shape-inferred from its kind's vtable as it is added),
 * outputs, weight tying, the loss and the optimizer. Parameters are
 * model_params.c's, recording model_record.c's. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

bm_layer_spec bm_dense_spec(size_t in, size_t out)
{
    bm_layer_spec s = bm_layer_default(BM_LAYER_DENSE);
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
    const bm_layer_vt *vt = bm_layer_vtable((int)k);
    if (vt && vt->defaults)
        vt->defaults(&s);
    s.kind = k;
    return s;
}

bm_layer_spec bm_dropout_spec(double rate)
{
    bm_layer_spec s = bm_activation_spec(BM_LAYER_DROPOUT);
    s.rate = rate;
    return s;
}

/* Product of a per-sample shape's axes; 0 when one is 0 or it overflows. */
static size_t shape_size(const bm_shape *s)
{
    size_t n = 1;
    for (int a = 0; a < s->rank; a++) {
        if (s->dim[a] == 0 || n > BM_MAX_ELEMENTS / s->dim[a])
            return 0;
        n *= s->dim[a];
    }
    return n;
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
    m->n_in = 1;
    snprintf(m->inputs[0].name, sizeof m->inputs[0].name, "input");
    m->inputs[0].shape.rank = 1;
    m->inputs[0].shape.dim[0] = n_inputs;
    m->inputs[0].width = n_inputs;
    m->loss = BM_LOSS_SOFTMAX_CCE;
    bm_rng_seed(&m->rng, 0);
    return m;
}

void bm_model_free(bm_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_layers; i++) {
        if (m->layers[i].share < 0)
            for (size_t k = 0; k < m->layers[i].n_params; k++)
                bm_tensor_free(m->layers[i].params[k]);
        free(m->layers[i].pd);
    }
    free(m->layers);
    free(m->index);
    bm_model_drop_groups(m);
    free(m->params);
    free(m->grads);
    free(m->state);
    free(m->vals);
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

/* ------------------------------------------------------------ names */

/* FNV-1a hash of a name. */
static size_t name_hash(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return (size_t)h;
}

/* The node called name, or n_layers: one probe sequence of the index. */
static size_t find_node(const bm_model *m, const char *name)
{
    if (!m->index_cap)
        return m->n_layers;
    size_t mask = m->index_cap - 1;
    for (size_t h = name_hash(name) & mask;; h = (h + 1) & mask) {
        size_t v = m->index[h];
        if (v == 0)
            return m->n_layers;
        if (strcmp(m->layers[v - 1].name, name) == 0)
            return v - 1;
    }
}

/* Put node i into the index (room for it exists). */
static void index_put(bm_model *m, size_t i)
{
    size_t mask = m->index_cap - 1, h = name_hash(m->layers[i].name) & mask;
    while (m->index[h])
        h = (h + 1) & mask;
    m->index[h] = i + 1;
}

/* Room in the index for one more node (kept under half full). */
static bm_status index_grow(bm_model *m, bm_error *err)
{
    if (2 * (m->n_layers + 1) < m->index_cap)
        return BM_OK;
    size_t cap = m->index_cap ? 2 * m->index_cap : 16;
    size_t *ix = calloc(cap, sizeof *ix);
    if (!ix)
        return bm_error_set(err, BM_ERR_NOMEM, "out of memory for %zu nodes", m->n_layers + 1);
    free(m->index);
    m->index = ix;
    m->index_cap = cap;
    for (size_t i = 0; i < m->n_layers; i++)
        index_put(m, i);
    return BM_OK;
}

size_t bm_model_node_find(const bm_model *m, const char *name)
{
    return !m ? 0 : name ? find_node(m, name) : m->n_layers;
}

/* The source called name (a node, else a model input), or 0 with *found 0. */
static bm_node_src find_src(const bm_model *m, const char *name, int *found)
{
    *found = 1;
    size_t i = find_node(m, name);
    if (i < m->n_layers)
        return (bm_node_src)i;
    for (size_t k = 0; k < m->n_in; k++)
        if (strcmp(m->inputs[k].name, name) == 0)
            return -(bm_node_src)k - 1;
    *found = 0;
    return 0;
}

/* A new node or input name: 1..BM_NODE_NAME_MAX-1 bytes, no '.' (it
 * separates the node from the parameter in "conv1.weights"), no '"', '\\'
 * or control character (names are written into JSON as they are), unused. */
static bm_status check_name(const bm_model *m, const char *fn, const char *name, bm_error *err)
{
    int found;
    size_t len = strlen(name);
    for (const char *c = name; *c; c++) /* '.' parts labels; the rest keeps files JSON */
        if ((unsigned char)*c < ' ' || *c == '.' || *c == '"' || *c == '\\')
            len = 0;
    if (len == 0 || len >= BM_NODE_NAME_MAX)
        return bm_error_set(err, BM_ERR_ARG, "%s: name \"%.*s\" must have 1..%d characters and "
                            "no '.', '\"', '\\' or control character", fn, BM_NODE_NAME_MAX, name,
                            BM_NODE_NAME_MAX - 1);
    find_src(m, name, &found);
    if (found)
        return bm_error_set(err, BM_ERR_ARG, "%s: the name \"%s\" is taken", fn, name);
    return BM_OK;
}

static bm_status check_shape(const char *fn, const bm_shape *s, bm_error *err)
{
    if (s->rank < 1 || s->rank > BM_LAYER_MAX_RANK || shape_size(s) == 0)
        return bm_error_set(err, BM_ERR_SHAPE, "%s: a per-sample shape needs 1..%d axes of "
                            "sizes >= 1 and at most %zu elements", fn, BM_LAYER_MAX_RANK,
                            (size_t)BM_MAX_ELEMENTS);
    return BM_OK;
}

bm_status bm_model_set_input_shape(bm_model *m, const bm_shape *shape, bm_error *err)
{
    static const char fn[] = "bm_model_set_input_shape";
    if (!m || !shape)
        return bm_error_set(err, BM_ERR_NULL, "%s: NULL argument", fn);
    if (m->n_layers)
        return bm_error_set(err, BM_ERR_STATE, "%s: set the input shape before adding nodes", fn);
    bm_status s = check_shape(fn, shape, err);
    if (s != BM_OK)
        return s;
    if (shape_size(shape) != m->inputs[0].width)
        return bm_error_set(err, BM_ERR_SHAPE, "%s: the shape has %zu elements, input \"%s\" %zu",
                            fn, shape_size(shape), m->inputs[0].name, m->inputs[0].width);
    m->inputs[0].shape = *shape;
    return BM_OK;
}

bm_status bm_model_add_input(bm_model *m, const char *name, const bm_shape *shape,
                             bm_error *err)
{
    static const char fn[] = "bm_model_add_input";
    if (!m || !name || !shape)
        return bm_error_set(err, BM_ERR_NULL, "%s: NULL argument", fn);
    if (m->n_layers)
        return bm_error_set(err, BM_ERR_STATE, "%s: add the inputs before the nodes", fn);
    if (m->n_in == BM_MODEL_MAX_INPUTS)
        return bm_error_set(err, BM_ERR_SIZE, "%s: a model has at most %d inputs", fn,
                            BM_MODEL_MAX_INPUTS);
    bm_status s = check_name(m, fn, name, err);
    if (s != BM_OK || (s = check_shape(fn, shape, err)) != BM_OK)
        return s;
    size_t w = shape_size(shape);
    if (w > BM_MAX_ELEMENTS - m->n_inputs)
        return bm_error_set(err, BM_ERR_SIZE, "%s: the inputs' widths add up to more than %zu",
                            fn, (size_t)BM_MAX_ELEMENTS);
    bm_model_input *in = &m->inputs[m->n_in++];
    snprintf(in->name, sizeof in->name, "%s", name);
    in->shape = *shape;
    in->width = w;
    in->col = m->n_inputs;
    m->n_inputs += w;
    return BM_OK;
}

/* ------------------------------------------------------------ nodes */

/* The key of vt that message msg is about: "KEY: ..." (*lead set) or
 * "KIND: KEY ..." (the way the kinds' checks write them); NULL when none. */
static const char *msg_key(const bm_layer_vt *vt, const char *msg, int *lead)
{
    size_t kl = strlen(vt->name);
    const char *at[2] = {msg, NULL};
    if (strncmp(msg, vt->name, kl) == 0 && msg[kl] == ':' && msg[kl + 1] == ' ')
        at[1] = msg + kl + 2;
    for (int w = 0; w < 2; w++)
        for (size_t k = 0; at[w] && vt->keys && vt->keys[k]; k++) {
            size_t n = strlen(vt->keys[k]);
            char after = at[w][n];
            *lead = !w;
            if (strncmp(at[w], vt->keys[k], n) == 0 && (after == ':' || (w && after == ' ')))
                return vt->keys[k];
        }
    return NULL;
}

/* Report a vtable's message e at the node: "PREFIX.KEY: ..." when it starts
 * with one of the kind's keys and ':', else "PREFIX: ...". At a JSON path
 * (json set) a message "KIND: KEY ..." is put at PREFIX.KEY too. */
static bm_status at_node(const char *prefix, const bm_layer_vt *vt, int json, const bm_error *e,
                         bm_error *err)
{
    int lead = 0;
    const char *msg = e->msg, *key = msg_key(vt, msg, &lead);
    bm_status code = e->code != BM_OK ? e->code : BM_ERR_ARG;
    if (key && lead)
        return bm_error_set(err, code, "%s.%s", prefix, msg);
    if (key && json)
        return bm_error_set(err, code, "%s.%s: %s", prefix, key, msg);
    return bm_error_set(err, code, "%s: %s", prefix, msg);
}

/* Every key a kind lists must be one of the key table's (model files read
 * and write them from it). */
static bm_status check_vt_keys(const char *prefix, const bm_layer_vt *vt, bm_error *err)
{
    size_t n;
    const bm_layer_key *table = bm_layer_keys(&n);
    for (size_t k = 0; vt->keys && vt->keys[k]; k++) {
        size_t t = 0;
        while (t < n && strcmp(table[t].name, vt->keys[k]) != 0)
            t++;
        if (t == n)
            return bm_error_set(err, BM_ERR_ARG, "%s: %s lists the key \"%s\", which is not in "
                                "bm_layer_keys()", prefix, vt->name, vt->keys[k]);
    }
    return BM_OK;
}

static bm_status grow(bm_model *m, bm_error *err)
{
    if (m->n_layers < m->cap)
        return BM_OK;
    size_t cap = m->cap ? 2 * m->cap : 4;
    bm_layer *l = realloc(m->layers, cap * sizeof *l);
    if (!l)
        return bm_error_set(err, BM_ERR_NOMEM, "out of memory for %zu nodes", cap);
    m->layers = l;
    m->cap = cap;
    return BM_OK;
}

/* Add a node; prefix names it in messages ("layers[2]", "nodes[2] \"conv1\""). */
/* Add node name; messages start with prefix, a label or (json set) the
 * node's JSON path, whose name and inputs then get paths of their own. */
static bm_status add_node(bm_model *m, const char *prefix, const char *name,
                          const bm_layer_vt *vt, const bm_layer_spec *spec, size_t n_in,
                          const char *const *inputs, int json, bm_error *err)
{
    bm_error e = {0};
    char name_at[BM_LAYER_NAME_LEN];
    bm_shape shapes[BM_LAYER_MAX_INPUTS];
    bm_node_src src[BM_LAYER_MAX_INPUTS];
    if (m->params)
        return bm_error_set(err, BM_ERR_STATE, "%s: the model's parameters exist already", prefix);
    if (!vt || !vt->name || !vt->infer || !vt->params || !vt->record)
        return bm_error_set(err, BM_ERR_ARG, "%s: unknown layer kind %d", prefix,
                            (int)spec->kind);
    if (m->n_layers >= (size_t)INT32_MAX)
        return bm_error_set(err, BM_ERR_SIZE, "%s: too many nodes", prefix);
    snprintf(name_at, sizeof name_at, "%s%s", prefix, json ? ".name" : "");
    bm_status s = check_name(m, name_at, name, err);
    if (s != BM_OK || (s = check_vt_keys(prefix, vt, err)) != BM_OK)
        return s;
    if (n_in < vt->min_inputs || n_in > vt->max_inputs || n_in > BM_LAYER_MAX_INPUTS)
        return bm_error_set(err, BM_ERR_ARG, "%s: %s reads %zu..%zu inputs, got %zu", prefix,
                            vt->name, vt->min_inputs, vt->max_inputs, n_in);
    for (size_t k = 0; k < n_in; k++) {
        int found = 0;
        src[k] = inputs[k] ? find_src(m, inputs[k], &found) : 0;
        if (!found && json)
            return bm_error_set(err, BM_ERR_ARG, "%s.inputs[%zu]: \"%s\" is neither an earlier "
                                "node nor a model input", prefix, k,
                                inputs[k] ? inputs[k] : "(null)");
        if (!found)
            return bm_error_set(err, BM_ERR_ARG, "%s: input %zu \"%s\" is neither an earlier "
                                "node nor a model input", prefix, k,
                                inputs[k] ? inputs[k] : "(null)");
        shapes[k] = src[k] >= 0 ? m->layers[src[k]].shape : m->inputs[-src[k] - 1].shape;
    }
    bm_layer_spec sp = *spec;
    bm_shape out = {0};
    if (vt->check && vt->check(&sp, &e) != BM_OK)
        return at_node(prefix, vt, json, &e, err);
    if (vt->infer(&sp, shapes, n_in, &out, &e) != BM_OK)
        return at_node(prefix, vt, json, &e, err);
    if (check_shape(vt->name, &out, &e) != BM_OK)
        return at_node(prefix, vt, json, &e, err);
    if (vt->resolve)
        vt->resolve(&sp, shapes, n_in);
    bm_param_desc pd[BM_LAYER_MAX_PARAMS];
    memset(pd, 0, sizeof pd);
    size_t np = vt->params(&sp, shapes, n_in, pd);
    if (np > BM_LAYER_MAX_PARAMS)
        return bm_error_set(err, BM_ERR_ARG, "%s: %s has %zu parameters, more than %d", prefix,
                            vt->name, np, BM_LAYER_MAX_PARAMS);
    if ((s = grow(m, err)) != BM_OK || (s = index_grow(m, err)) != BM_OK)
        return s;
    bm_layer *l = &m->layers[m->n_layers];
    memset(l, 0, sizeof *l);
    if (np) {
        size_t each = sizeof *l->pd + sizeof *l->params + sizeof *l->pname;
        char *block = calloc(np, each);
        if (!block)
            return bm_error_set(err, BM_ERR_NOMEM, "%s: out of memory", prefix);
        l->pd = (bm_param_desc *)(void *)block;
        l->params = (bm_tensor **)(void *)(block + np * sizeof *l->pd);
        l->pname = (char (*)[BM_LAYER_NAME_LEN])(void *)(block + np * (sizeof *l->pd +
                                                                      sizeof *l->params));
        memcpy(l->pd, pd, np * sizeof *pd);
    }
    l->n_params = np;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->vt = vt;
    l->spec = sp;
    l->n_in = n_in;
    memcpy(l->src, src, n_in * sizeof *src);
    l->shape = out;
    l->share = -1;
    snprintf(l->group, sizeof l->group, "%s: %s", name, vt->name);
    for (size_t k = 0; k < n_in; k++)
        if (src[k] >= 0)
            m->layers[src[k]].consumers++;
    index_put(m, m->n_layers);
    m->n_layers++;
    return BM_OK;
}

bm_status bm_model_add_node_vt(bm_model *m, const char *name, const bm_layer_vt *vt,
                               const bm_layer_spec *spec, size_t n_in,
                               const char *const *inputs, bm_error *err)
{
    char prefix[BM_LAYER_NAME_LEN];
    if (!m || !name || !vt || !spec || (n_in && !inputs))
        return bm_error_set(err, BM_ERR_NULL, "bm_model_add_node: NULL argument");
    snprintf(prefix, sizeof prefix, "nodes[%zu] \"%.*s\"", m->n_layers, BM_NODE_NAME_MAX, name);
    return add_node(m, prefix, name, vt, spec, n_in, inputs, 0, err);
}

bm_status bm_model_add_node_at(bm_model *m, const char *path, const char *name,
                               const bm_layer_vt *vt, const bm_layer_spec *spec, size_t n_in,
                               const char *const *inputs, bm_error *err)
{
    bm_error e = {0};
    char name_at[BM_LAYER_NAME_LEN];
    if (!m || !path || !name || !vt || !spec || (n_in && !inputs))
        return bm_error_set(err, BM_ERR_NULL, "bm_model_add_node_at: NULL argument");
    if (add_node(m, path, name, vt, spec, n_in, inputs, 1, &e) == BM_OK)
        return BM_OK;
    snprintf(name_at, sizeof name_at, "%s.name: ", path);
    if (strncmp(e.msg, name_at, strlen(name_at)) == 0) /* the message names it */
        return bm_error_set(err, e.code, "%s", e.msg);
    return bm_error_set(err, e.code, "%s (node \"%.*s\")", e.msg, BM_NODE_NAME_MAX, name);
}

bm_status bm_model_add_node(bm_model *m, const char *name, const bm_layer_spec *spec,
                            size_t n_in, const char *const *inputs, bm_error *err)
{
    if (!m || !name || !spec || (n_in && !inputs))
        return bm_error_set(err, BM_ERR_NULL, "bm_model_add_node: NULL argument");
    const bm_layer_vt *vt = bm_layer_vtable((int)spec->kind);
    if (!vt)
        return bm_error_set(err, BM_ERR_ARG, "nodes[%zu] \"%.*s\": unknown layer kind %d",
                            m->n_layers, BM_NODE_NAME_MAX, name, (int)spec->kind);
    return bm_model_add_node_vt(m, name, vt, spec, n_in, inputs, err);
}

bm_status bm_model_add(bm_model *m, const bm_layer_spec *spec, bm_error *err)
{
    char name[BM_NODE_NAME_MAX];
    if (!m || !spec)
        return bm_error_set(err, BM_ERR_NULL, "bm_model_add: NULL argument");
    snprintf(name, sizeof name, "layers[%zu]", m->n_layers);
    const char *in = m->n_layers ? m->layers[m->n_layers - 1].name : m->inputs[0].name;
    const bm_layer_vt *vt = bm_layer_vtable((int)spec->kind);
    if (!vt)
        return bm_error_set(err, BM_ERR_ARG, "%s: unknown layer kind %d", name, (int)spec->kind);
    return add_node(m, name, name, vt, spec, 1, &in, 0, err);
}

bm_status bm_model_set_outputs(bm_model *m, size_t n, const char *const *names, bm_error *err)
{
    static const char fn[] = "bm_model_set_outputs";
    int outs[BM_MODEL_MAX_OUTPUTS];
    if (!m || !names)
        return bm_error_set(err, BM_ERR_NULL, "%s: NULL argument", fn);
    if (m->params)
        return bm_error_set(err, BM_ERR_STATE, "%s: the model's parameters exist already", fn);
    if (n == 0 || n > BM_MODEL_MAX_OUTPUTS)
        return bm_error_set(err, BM_ERR_ARG, "%s: %zu outputs is not in 1..%d", fn, n,
                            BM_MODEL_MAX_OUTPUTS);
    for (size_t k = 0; k < n; k++) {
        int found = 0;
        bm_node_src s = names[k] ? find_src(m, names[k], &found) : 0;
        if (!found || s < 0)
            return bm_error_set(err, BM_ERR_ARG, "%s: output %zu \"%s\" is not a node", fn, k,
                                names[k] ? names[k] : "(null)");
        outs[k] = s;
    }
    memcpy(m->outputs, outs, n * sizeof *outs);
    m->n_out = n;
    for (int g = 0; g < BM_MODEL_GRAPHS; g++)
        m->graphs[g].batch = 0;
    return BM_OK;
}

bm_status bm_model_share(bm_model *m, const char *node, const char *other, bm_error *err)
{
    static const char fn[] = "bm_model_share";
    if (!m || !node || !other)
        return bm_error_set(err, BM_ERR_NULL, "%s: NULL argument", fn);
    if (m->params)
        return bm_error_set(err, BM_ERR_STATE, "%s: the model's parameters exist already", fn);
    size_t i = bm_model_node_find(m, node), j = bm_model_node_find(m, other);
    if (i == m->n_layers || j == m->n_layers)
        return bm_error_set(err, BM_ERR_ARG, "%s: \"%s\" is not a node", fn,
                            i == m->n_layers ? node : other);
    while (m->layers[j].share >= 0) /* the owner of other's tensors */
        j = (size_t)m->layers[j].share;
    bm_layer *a = &m->layers[i], *b = &m->layers[j];
    if (i == j)
        return bm_error_set(err, BM_ERR_ARG, "%s: \"%s\" cannot share with itself", fn, node);
    if (a->vt != b->vt || a->n_params != b->n_params || a->n_params == 0)
        return bm_error_set(err, BM_ERR_ARG, "%s: \"%s\" (%s) and \"%s\" (%s) are not of one "
                            "kind with parameters", fn, node, a->vt->name, other, b->vt->name);
    for (size_t k = 0; k < a->n_params; k++)
        if (a->pd[k].rank != b->pd[k].rank ||
            memcmp(a->pd[k].shape, b->pd[k].shape, (size_t)a->pd[k].rank * sizeof(size_t)) != 0)
            return bm_error_set(err, BM_ERR_SHAPE, "%s: \"%s\" and \"%s\" have %s of different "
                                "shapes", fn, node, other, a->pd[k].name);
    for (size_t k = 0; k < m->n_layers; k++)
        if (m->layers[k].share == (int)i)
            return bm_error_set(err, BM_ERR_ARG, "%s: other nodes share \"%s\"'s parameters",
                                fn, node);
    a->share = (int)j;
    return BM_OK;
}

bm_status bm_model_set_loss(bm_model *m, bm_loss_kind loss, bm_error *err)
{
    if (!m)
        return bm_error_set(err, BM_ERR_NULL, "bm_model_set_loss: model is NULL");
    if ((unsigned)loss >= BM_LOSS_KIND_COUNT)
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
    bm_model_drop_groups(m);
    m->opt = o;
    m->ocfg = *cfg;
    m->has_ocfg = 1;
    return BM_OK;
}
