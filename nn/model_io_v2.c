/* model_io_v2.c — model files of format version 2 (graph models) into
 * models.
 *
 * The document is validated while the model is built through the public
 * API: inputs, then each node (its kind's keys read generically from the
 * one key table, bm_layer_keys(), and the kind's vtable), outputs, loss,
 * optimizer, training and state. Every parameter array is checked against
 * its node's parameter descriptors before bm_model_init allocates the
 * buffers, so the parameter limit holds before anything big exists. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "model_internal.h"
#include "model_io_internal.h"

/* Keys of a node besides its kind's. */
static const char *const NODE_KEYS[] = {"name", "kind", "inputs", "share", "params"};
#define N_NODE_KEYS (sizeof NODE_KEYS / sizeof NODE_KEYS[0])
/* Room for the list of a kind's keys in a message. */
#define KEY_LIST_LEN 400
/* Largest magnitude of an integer key (axis). */
#define INT_KEY_MAX 1000000

/* The parameter arrays of the nodes, found while reading (NULL: none). */
typedef struct v2_nodes {
    const cJSON **params; /* per node: its "params" object */
    size_t n;
} v2_nodes;

/* ------------------------------------------------------------ helpers */

/* An object whose keys are all in allowed (n of them) and none repeated;
 * what names the object's kind of thing in the message. */
static bm_status check_keys(bm_io_reader *r, const cJSON *obj, const char *const *allowed,
                            size_t n, const char *what)
{
    for (const cJSON *c = obj->child; c; c = c->next) {
        int ok = 0;
        for (size_t k = 0; k < n && !ok; k++)
            ok = strcmp(c->string, allowed[k]) == 0;
        for (const cJSON *d = obj->child; d != c && ok; d = d->next)
            if (strcmp(d->string, c->string) == 0) {
                bm_io_push_key(r, c->string);
                return bm_io_fail(r, BM_ERR_PARSE, "repeated key");
            }
        if (!ok) {
            char list[KEY_LIST_LEN];
            size_t pos = 0;
            list[0] = '\0';
            for (size_t k = 0; k < n && pos < sizeof list; k++)
                pos += (size_t)snprintf(list + pos, sizeof list - pos, k ? ", %s" : "%s",
                                        allowed[k]);
            bm_io_push_key(r, c->string);
            return bm_io_fail(r, BM_ERR_PARSE, "unknown key for %s (keys: %s)", what, list);
        }
    }
    return BM_OK;
}

/* A valid node or input name (path at it). */
static bm_status want_name(bm_io_reader *r, const cJSON *j, const char **out)
{
    bm_status s = bm_io_want(r, j, cJSON_String, "a name (a string)");
    if (s != BM_OK)
        return s;
    size_t len = strlen(j->valuestring);
    for (const char *c = j->valuestring; *c; c++)
        if ((unsigned char)*c < ' ' || *c == '\\' || *c == '"' || *c == '.')
            len = 0;
    if (len == 0 || len >= BM_NODE_NAME_MAX)
        return bm_io_fail(r, BM_ERR_PARSE, "a name has 1..%d characters, none of them '.', "
                          "'\"', '\\\\' or a control character", BM_NODE_NAME_MAX - 1);
    *out = j->valuestring;
    return BM_OK;
}

/* A per-sample shape [d0, ...] (path at it). */
static bm_status want_shape(bm_io_reader *r, const cJSON *j, bm_shape *out)
{
    bm_status s = bm_io_want(r, j, cJSON_Array, "a shape (an array of sizes)");
    if (s != BM_OK)
        return s;
    size_t n = bm_io_count(j), i = 0;
    if (n < 1 || n > BM_LAYER_MAX_RANK)
        return bm_io_fail(r, BM_ERR_SHAPE, "expected 1..%d sizes, got %zu", BM_LAYER_MAX_RANK, n);
    out->rank = (int)n;
    for (const cJSON *c = j->child; c; c = c->next, i++) {
        uint64_t v;
        size_t old = bm_io_push_index(r, i);
        if ((s = bm_io_want_uint(r, c, 1, BM_MODEL_MAX_PARAMS, BM_ERR_SIZE, &v)) != BM_OK)
            return s;
        out->dim[i] = (size_t)v;
        bm_io_pop(r, old);
    }
    return BM_OK;
}

/* One spec key's value into the spec (path at it). */
static bm_status read_key(bm_io_reader *r, const cJSON *j, const bm_layer_key *k,
                          bm_layer_spec *sp)
{
    void *at = (char *)sp + k->offset;
    uint64_t v = 0;
    bm_status s = BM_OK;
    bm_error e = {0};
    switch (k->type) {
    case BM_KEY_SIZE:
        s = bm_io_want_uint(r, j, 0, BM_MODEL_MAX_PARAMS, BM_ERR_SIZE, &v);
        *(size_t *)at = (size_t)v;
        return s;
    case BM_KEY_SIZE2:
        if (bm_io_is(j, cJSON_Number)) {
            s = bm_io_want_uint(r, j, 0, BM_MODEL_MAX_PARAMS, BM_ERR_SIZE, &v);
            ((size_t *)at)[0] = ((size_t *)at)[1] = (size_t)v;
            return s;
        }
        if ((s = bm_io_want(r, j, cJSON_Array, "n or [h, w]")) != BM_OK)
            return s;
        if (bm_io_count(j) != 2)
            return bm_io_fail(r, BM_ERR_SHAPE, "expected n or [h, w], got %zu values",
                              bm_io_count(j));
        for (size_t i = 0; i < 2; i++) {
            size_t old = bm_io_push_index(r, i);
            s = bm_io_want_uint(r, cJSON_GetArrayItem(j, (int)i), 0, BM_MODEL_MAX_PARAMS,
                                BM_ERR_SIZE, &v);
            if (s != BM_OK)
                return s;
            ((size_t *)at)[i] = (size_t)v;
            bm_io_pop(r, old);
        }
        return BM_OK;
    case BM_KEY_DOUBLE:
        if ((s = bm_io_want(r, j, cJSON_Number, "a number")) != BM_OK)
            return s;
        if (!isfinite(j->valuedouble))
            return bm_io_fail(r, BM_ERR_NUMERIC, "%g is not finite", j->valuedouble);
        *(double *)at = j->valuedouble;
        return BM_OK;
    case BM_KEY_BOOL:
        if (!cJSON_IsBool(j))
            return bm_io_fail(r, BM_ERR_PARSE, "expected true or false, got %s",
                              bm_io_type_name(j));
        *(int *)at = cJSON_IsTrue(j);
        return BM_OK;
    case BM_KEY_INT:
        if ((s = bm_io_want(r, j, cJSON_Number, "an integer")) != BM_OK)
            return s;
        if (j->valuedouble != floor(j->valuedouble) || fabs(j->valuedouble) > INT_KEY_MAX)
            return bm_io_fail(r, BM_ERR_ARG, "expected an integer in [-%d, %d], got %.17g",
                              INT_KEY_MAX, INT_KEY_MAX, j->valuedouble);
        *(int *)at = (int)j->valuedouble;
        return BM_OK;
    case BM_KEY_INIT:
        if ((s = bm_io_want(r, j, cJSON_String, "an initialiser name")) != BM_OK)
            return s;
        if (bm_init_parse(j->valuestring, (bm_init *)at, &e) != BM_OK)
            return bm_io_fail(r, BM_ERR_PARSE, "%s", bm_io_unprefixed(e.msg));
        return BM_OK;
    case BM_KEY_SHAPE:
        return want_shape(r, j, (bm_shape *)at);
    }
    return bm_io_fail(r, BM_ERR_PARSE, "key of unknown type");
}

/* An array nested as shape[0..rank) with numbers finite in dt (path at it). */
static bm_status want_nested(bm_io_reader *r, const cJSON *a, const size_t *shape, int rank,
                             bm_dtype dt)
{
    if (rank <= 1)
        return bm_io_want_numbers(r, a, rank ? shape[0] : 1, dt);
    bm_status s = bm_io_want(r, a, cJSON_Array, "an array of arrays");
    if (s != BM_OK)
        return s;
    if (bm_io_count(a) != shape[0])
        return bm_io_fail(r, BM_ERR_SHAPE, "expected %zu arrays, got %zu", shape[0],
                          bm_io_count(a));
    size_t i = 0;
    for (const cJSON *c = a->child; c; c = c->next, i++) {
        size_t old = bm_io_push_index(r, i);
        if ((s = want_nested(r, c, shape + 1, rank - 1, dt)) != BM_OK)
            return s;
        bm_io_pop(r, old);
    }
    return BM_OK;
}

/* Copy a validated nested array into dst from element off; returns the end. */
static size_t copy_nested(const cJSON *a, int rank, void *dst, bm_dtype dt, size_t off)
{
    if (rank <= 1)
        return bm_io_copy_numbers(a, dst, dt, off);
    for (const cJSON *c = a->child; c; c = c->next)
        off = copy_nested(c, rank - 1, dst, dt, off);
    return off;
}

/* ------------------------------------------------------------ sections */

/* root.inputs into the model *m (made here with the first input). */
static bm_status read_inputs(bm_io_reader *r, const cJSON *root, bm_dtype dt, bm_model **m)
{
    static const char *const keys[] = {"name", "shape"};
    const cJSON *a;
    size_t top = 0, i = 0;
    bm_status s = bm_io_get_array(r, root, "inputs", 1, "an array of inputs", &a, &top);
    if (s != BM_OK)
        return s;
    if (bm_io_count(a) == 0 || bm_io_count(a) > BM_MODEL_MAX_INPUTS)
        return bm_io_fail(r, BM_ERR_PARSE, "expected 1..%d inputs, got %zu", BM_MODEL_MAX_INPUTS,
                          bm_io_count(a));
    for (const cJSON *c = a->child; c; c = c->next, i++) {
        size_t old = bm_io_push_index(r, i), at;
        const cJSON *name, *shape;
        const char *nm;
        bm_shape sh;
        bm_error e = {0};
        if ((s = bm_io_want(r, c, cJSON_Object, "an object")) != BM_OK ||
            (s = check_keys(r, c, keys, 2, "an input")) != BM_OK ||
            (s = bm_io_member(r, c, "name", 1, &name)) != BM_OK ||
            (s = bm_io_member(r, c, "shape", 1, &shape)) != BM_OK)
            return s;
        at = bm_io_push_key(r, "name");
        if ((s = want_name(r, name, &nm)) != BM_OK)
            return s;
        bm_io_pop(r, at);
        at = bm_io_push_key(r, "shape");
        if ((s = want_shape(r, shape, &sh)) != BM_OK)
            return s;
        size_t w = 1;
        for (int k = 0; k < sh.rank; k++)
            w = w <= BM_MODEL_MAX_PARAMS / sh.dim[k] ? w * sh.dim[k] : BM_MODEL_MAX_PARAMS + 1;
        if (w > BM_MODEL_MAX_PARAMS)
            return bm_io_fail(r, BM_ERR_SIZE, "more than %zu values per sample",
                              BM_MODEL_MAX_PARAMS);
        if (i == 0 && !(*m = bm_model_new(dt, w, &e)))
            return bm_io_fail(r, e.code, "%s", bm_io_unprefixed(e.msg));
        if (i == 0)
            s = bm_model_set_input_shape(*m, &sh, &e);
        else
            s = bm_model_add_input(*m, nm, &sh, &e);
        if (s != BM_OK)
            return bm_io_fail(r, s, "%s", bm_io_unprefixed(e.msg));
        if (i == 0) /* a valid name, and none other exists yet */
            snprintf((*m)->inputs[0].name, sizeof (*m)->inputs[0].name, "%s", nm);
        bm_io_pop(r, old);
    }
    bm_io_pop(r, top);
    return BM_OK;
}

/* The kind called name: the caller's first, then the built-in ones. */
static bm_status find_kind(bm_io_reader *r, const char *name, const bm_model_load_opts *opts,
                           const bm_layer_vt **vt, bm_layer_spec *sp)
{
    for (size_t k = 0; opts && opts->kinds && k < opts->n_kinds; k++)
        if (opts->kinds[k] && opts->kinds[k]->name && strcmp(opts->kinds[k]->name, name) == 0) {
            *vt = opts->kinds[k];
            memset(sp, 0, sizeof *sp);
            sp->bias = sp->affine = 1;
            if ((*vt)->defaults)
                (*vt)->defaults(sp);
            return BM_OK;
        }
    bm_layer_kind kind;
    bm_error e = {0};
    if (bm_layer_kind_parse(name, &kind, &e) != BM_OK)
        return bm_io_fail(r, BM_ERR_PARSE, "%s (not built in, nor given in the load options)",
                          bm_io_unprefixed(e.msg));
    *vt = bm_layer_vtable((int)kind);
    *sp = bm_layer_default(kind);
    return BM_OK;
}

/* The kind's keys of node object j into *sp. */
static bm_status read_spec(bm_io_reader *r, const cJSON *j, const bm_layer_vt *vt,
                           bm_layer_spec *sp)
{
    const char *allowed[N_NODE_KEYS + BM_IO_MAX_KIND_KEYS];
    size_t n = 0, nk;
    const bm_layer_key *table = bm_layer_keys(&nk);
    for (; n < N_NODE_KEYS; n++)
        allowed[n] = NODE_KEYS[n];
    for (size_t k = 0; vt->keys && vt->keys[k] && n < sizeof allowed / sizeof *allowed; k++)
        allowed[n++] = vt->keys[k];
    bm_status s = check_keys(r, j, allowed, n, vt->name);
    if (s != BM_OK)
        return s;
    for (size_t k = N_NODE_KEYS; k < n; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, allowed[k]);
        const bm_layer_key *key = NULL;
        for (size_t t = 0; t < nk && !key; t++)
            key = strcmp(table[t].name, allowed[k]) == 0 ? &table[t] : NULL;
        if (!v || !key)
            continue;
        size_t old = bm_io_push_key(r, allowed[k]);
        if ((s = read_key(r, v, key, sp)) != BM_OK)
            return s;
        bm_io_pop(r, old);
    }
    return BM_OK;
}

/* The strings of the array a (path at it) into names; what says what each
 * must be in an error. */
static bm_status read_names(bm_io_reader *r, const cJSON *a, const char *what, const char **names)
{
    size_t i = 0;
    for (const cJSON *c = a->child; c; c = c->next, i++) {
        size_t old = bm_io_push_index(r, i);
        bm_status s = bm_io_want(r, c, cJSON_String, what);
        if (s != BM_OK)
            return s;
        names[i] = c->valuestring;
        bm_io_pop(r, old);
    }
    return BM_OK;
}

/* j.inputs as names (absent: the previous node, or the first input). */
static bm_status read_node_inputs(bm_io_reader *r, const cJSON *j, const bm_model *m,
                                  const char **names, size_t *n)
{
    const cJSON *a;
    size_t top = 0;
    bm_status s = bm_io_get_array(r, j, "inputs", 0, "an array of names", &a, &top);
    if (s != BM_OK)
        return s;
    if (!a) {
        names[0] = m->n_layers ? m->layers[m->n_layers - 1].name : m->inputs[0].name;
        *n = 1;
        return BM_OK;
    }
    if (bm_io_count(a) > BM_LAYER_MAX_INPUTS)
        return bm_io_fail(r, BM_ERR_PARSE, "more than %d inputs", BM_LAYER_MAX_INPUTS);
    if ((s = read_names(r, a, "a name", names)) != BM_OK)
        return s;
    *n = bm_io_count(a);
    bm_io_pop(r, top);
    return BM_OK;
}

/* node.params (path at the node): every parameter of the node's kind, each
 * nested as its shape, validated; *out is the object (NULL when absent). */
static bm_status read_params(bm_io_reader *r, const cJSON *j, const bm_model *m, size_t i,
                             bm_dtype dt, const cJSON **out)
{
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(j, "params");
    const char *names[BM_LAYER_MAX_PARAMS] = {NULL};
    size_t np = bm_model_node_n_params(m, i);
    *out = NULL;
    if (!ps)
        return BM_OK;
    size_t top = bm_io_push_key(r, "params");
    if (bm_model_node_shares(m, i))
        return bm_io_fail(r, BM_ERR_PARSE, "a node that shares another's parameters has none "
                          "of its own");
    bm_status s = bm_io_want(r, ps, cJSON_Object, "an object of parameter arrays");
    if (s != BM_OK)
        return s;
    for (size_t k = 0; k < np; k++)
        names[k] = bm_model_node_param_desc(m, i, k)->name;
    if ((s = check_keys(r, ps, names, np, "the parameters of this kind")) != BM_OK)
        return s;
    for (size_t k = 0; k < np; k++) {
        const bm_param_desc *d = bm_model_node_param_desc(m, i, k);
        const cJSON *a;
        if ((s = bm_io_member(r, ps, d->name, 1, &a)) != BM_OK)
            return s;
        size_t old = bm_io_push_key(r, d->name);
        if ((s = want_nested(r, a, d->shape, d->rank, dt)) != BM_OK)
            return s;
        bm_io_pop(r, old);
    }
    bm_io_pop(r, top);
    *out = ps;
    return BM_OK;
}

/* The owned trained elements of node i (0 when it shares). */
static uint64_t owned_params(const bm_model *m, size_t i)
{
    uint64_t n = 0;
    for (size_t k = 0; !bm_model_node_shares(m, i) && k < bm_model_node_n_params(m, i); k++) {
        const bm_param_desc *d = bm_model_node_param_desc(m, i, k);
        uint64_t e = 1;
        for (int a = 0; a < d->rank; a++)
            e = e <= BM_MODEL_MAX_PARAMS ? e * d->shape[a] : e;
        n += d->role == BM_ROLE_STATE ? 0 : e;
    }
    return n;
}

/* nodes[i] (path there). */
static bm_status read_node(bm_io_reader *r, const cJSON *j, bm_model *m, size_t i,
                           const bm_model_load_opts *opts, bm_io_plan *p, const cJSON **params)
{
    const cJSON *name, *kind;
    const char *nm, *in[BM_LAYER_MAX_INPUTS];
    const bm_layer_vt *vt = NULL;
    bm_layer_spec sp;
    size_t n_in = 0;
    bm_error e = {0};
    bm_status s = bm_io_want(r, j, cJSON_Object, "an object");
    if (s != BM_OK || (s = bm_io_member(r, j, "name", 1, &name)) != BM_OK ||
        (s = bm_io_member(r, j, "kind", 1, &kind)) != BM_OK)
        return s;
    size_t old = bm_io_push_key(r, "name");
    if ((s = want_name(r, name, &nm)) != BM_OK)
        return s;
    bm_io_pop(r, old);
    old = bm_io_push_key(r, "kind");
    if ((s = bm_io_want(r, kind, cJSON_String, "a layer kind's name")) != BM_OK ||
        (s = find_kind(r, kind->valuestring, opts, &vt, &sp)) != BM_OK)
        return s;
    bm_io_pop(r, old);
    if ((s = read_spec(r, j, vt, &sp)) != BM_OK ||
        (s = read_node_inputs(r, j, m, in, &n_in)) != BM_OK)
        return s;
    if (bm_model_add_node_at(m, r->path, nm, vt, &sp, n_in, in, &e) != BM_OK) {
        r->plen = 0; /* the message starts with the path */
        r->path[0] = '\0';
        return bm_io_fail(r, e.code, "%s", e.msg);
    }
    const cJSON *share = cJSON_GetObjectItemCaseSensitive(j, "share");
    if (share) {
        old = bm_io_push_key(r, "share");
        if ((s = bm_io_want(r, share, cJSON_String, "a node's name")) != BM_OK)
            return s;
        if (bm_model_share(m, nm, share->valuestring, &e) != BM_OK)
            return bm_io_fail(r, e.code, "%s", bm_io_unprefixed(e.msg));
        bm_io_pop(r, old);
    }
    uint64_t total = (uint64_t)p->n_params + owned_params(m, i);
    if (total > BM_MODEL_MAX_PARAMS)
        return bm_io_fail(r, BM_ERR_SIZE, "makes %llu parameters in all, more than the limit "
                          "of %zu", (unsigned long long)total, BM_MODEL_MAX_PARAMS);
    p->n_params = (size_t)total;
    return read_params(r, j, m, i, p->dt, params);
}

static bm_status read_nodes(bm_io_reader *r, const cJSON *root, bm_model *m,
                            const bm_model_load_opts *opts, bm_io_plan *p, v2_nodes *nodes)
{
    const cJSON *a;
    size_t top = 0, i = 0;
    bm_status s = bm_io_get_array(r, root, "nodes", 1, "an array of nodes", &a, &top);
    if (s != BM_OK)
        return s;
    if ((nodes->n = bm_io_count(a)) == 0)
        return bm_io_fail(r, BM_ERR_PARSE, "expected at least one node");
    if (!(nodes->params = calloc(nodes->n, sizeof *nodes->params)))
        return bm_io_fail(r, BM_ERR_NOMEM, "out of memory for %zu nodes", nodes->n);
    for (const cJSON *c = a->child; c; c = c->next, i++) {
        size_t old = bm_io_push_index(r, i);
        if ((s = read_node(r, c, m, i, opts, p, &nodes->params[i])) != BM_OK)
            return s;
        bm_io_pop(r, old);
    }
    bm_io_pop(r, top);
    return BM_OK;
}

static bm_status read_outputs(bm_io_reader *r, const cJSON *root, bm_model *m)
{
    const cJSON *a;
    const char *names[BM_MODEL_MAX_OUTPUTS];
    bm_error e = {0};
    size_t top = 0;
    bm_status s = bm_io_get_array(r, root, "outputs", 0, "an array of node names", &a, &top);
    if (s != BM_OK || !a)
        return s;
    if (bm_io_count(a) == 0 || bm_io_count(a) > BM_MODEL_MAX_OUTPUTS)
        return bm_io_fail(r, BM_ERR_PARSE, "expected 1..%d outputs, got %zu",
                          BM_MODEL_MAX_OUTPUTS, bm_io_count(a));
    if ((s = read_names(r, a, "a node's name", names)) != BM_OK)
        return s;
    if (bm_model_set_outputs(m, bm_io_count(a), names, &e) != BM_OK)
        return bm_io_fail(r, e.code, "%s", bm_io_unprefixed(e.msg));
    bm_io_pop(r, top);
    return BM_OK;
}

/* format, version and dtype. */
static bm_status read_header(bm_io_reader *r, const cJSON *root, bm_io_plan *p)
{
    static const char *const keys[] = {"format", "version", "dtype",  "inputs",   "nodes",
                                       "outputs", "loss",   "groups", "optimizer", "training", "state"};
    uint64_t version = BM_MODEL_FORMAT_VERSION;
    bm_status s = check_keys(r, root, keys, sizeof keys / sizeof *keys, "a model file");
    if (s != BM_OK)
        return s;
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (f && bm_io_is(f, cJSON_Number)) { /* "format": 2 gives the version */
        size_t old = bm_io_push_key(r, "format");
        if ((s = bm_io_want_uint(r, f, 0, BM_MODEL_MAX_INT, BM_ERR_PARSE, &version)) != BM_OK)
            return s;
        bm_io_pop(r, old);
    } else if (f && (!bm_io_is(f, cJSON_String) || strcmp(f->valuestring, BM_MODEL_FORMAT))) {
        bm_io_push_key(r, "format");
        return bm_io_fail(r, BM_ERR_PARSE, "expected \"%s\" or %d", BM_MODEL_FORMAT,
                          BM_MODEL_FORMAT_VERSION);
    }
    if ((s = bm_io_get_uint(r, root, "version", 0, 0, BM_MODEL_MAX_INT, BM_ERR_PARSE, &version,
                            NULL)) != BM_OK)
        return s;
    if (version != BM_MODEL_FORMAT_VERSION) {
        bm_io_push_key(r, cJSON_GetObjectItemCaseSensitive(root, "version") ? "version"
                                                                             : "format");
        return bm_io_fail(r, BM_ERR_PARSE, "unsupported version %llu for a file of \"nodes\" "
                          "(this library reads %d)", (unsigned long long)version,
                          BM_MODEL_FORMAT_VERSION);
    }
    if ((s = bm_io_get_dtype(r, root, &p->dt)) != BM_OK)
        return s;
    return BM_OK;
}

/* Everything after the nodes, then the model initialised and filled. */
static bm_status finish(bm_io_reader *r, const cJSON *root, bm_model *m, bm_io_plan *p,
                        const v2_nodes *nodes)
{
    const char *loss;
    bm_error e = {0};
    bm_status s;
    if ((s = read_outputs(r, root, m)) != BM_OK ||
        (s = bm_io_get_string(r, root, "loss", 0, &loss)) != BM_OK)
        return s;
    p->loss = BM_LOSS_SOFTMAX_CCE;
    if (loss && bm_loss_parse(loss, &p->loss, &e) != BM_OK)
        return bm_io_bad_name(r, "loss", &e);
    if ((s = bm_io_parse_optimizer(r, root, p)) != BM_OK ||
        (s = bm_io_parse_training(r, root, p)) != BM_OK ||
        (s = bm_io_parse_state(r, root, p)) != BM_OK)
        return s;
    if (bm_model_set_loss(m, p->loss, &e) != BM_OK ||
        bm_model_set_optimizer(m, &p->ocfg, &e) != BM_OK ||
        bm_model_init(m, p->ts.has_seed ? p->ts.seed : 0, &e) != BM_OK)
        return bm_io_fail(r, e.code, "%s", e.msg);
    if ((s = bm_io_read_groups(r, root, m)) != BM_OK)
        return s;
    for (size_t i = 0; i < nodes->n; i++)
        for (size_t k = 0; nodes->params[i] && k < bm_model_node_n_params(m, i); k++) {
            bm_tensor *t = bm_model_node_param(m, i, k);
            const bm_param_desc *d = bm_model_node_param_desc(m, i, k);
            copy_nested(cJSON_GetObjectItemCaseSensitive(nodes->params[i], d->name), d->rank,
                        t->data, p->dt, 0);
        }
    if (bm_io_finish(p, m, &e) != BM_OK)
        return bm_io_fail(r, e.code, "%s", e.msg);
    return BM_OK;
}

bm_model *bm_io_read_v2(bm_io_reader *r, const cJSON *root, bm_io_plan *p,
                        const bm_model_load_opts *opts)
{
    bm_model *m = NULL;
    v2_nodes nodes = {0};
    bm_status s = read_header(r, root, p);
    if (s == BM_OK)
        s = read_inputs(r, root, p->dt, &m);
    if (s == BM_OK)
        s = read_nodes(r, root, m, opts, p, &nodes);
    if (s == BM_OK)
        s = finish(r, root, m, p, &nodes);
    free(nodes.params);
    if (s != BM_OK) {
        bm_model_free(m);
        return NULL;
    }
    return m;
}
