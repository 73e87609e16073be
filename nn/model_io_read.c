/* model_io_read.c — JSON model files into models.
 *
 * Reading is two passes. The first validates the whole document against
 * format version 1 into a plan (layer specs, optimizer config, where the
 * parameter arrays are) and reports the first problem with its JSON path;
 * nothing big is allocated until it has passed, so the parameter limit is
 * checked before the parameters exist. The second builds the model through
 * the public bm_model API and copies the numbers in. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "model_io_internal.h"

/* Words of RNG state, and hex digits of each. */
#define RNG_WORDS 4
#define RNG_HEX_DIGITS 16

/* One layer as validated: its spec and, for a checkpoint, its arrays. */
typedef struct layer_plan {
    bm_layer_spec spec;
    const cJSON *weights, *biases; /* NULL when the file has none */
} layer_plan;

typedef bm_io_plan plan;

/* --------------------------------------------------------------- layers */

static const char *const DENSE_KEYS[] = {"type",       "in",         "out",       "init",
                                         "l1_weights", "l2_weights", "l1_biases", "l2_biases",
                                         "weights",    "biases"};
static const char *const DROPOUT_KEYS[] = {"type", "rate"};
static const char *const PLAIN_KEYS[] = {"type"};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A dense layer's sizes, options and arrays; *width is the width before
 * it and becomes its output width. */
static bm_status parse_dense(bm_io_reader *r, const cJSON *j, plan *p, layer_plan *lp,
                             size_t *width)
{
    bm_layer_spec *sp = &lp->spec;
    uint64_t in = 0, out = 0;
    bm_status s;
    const uint64_t most = BM_MODEL_MAX_PARAMS;
    if ((s = bm_io_get_uint(r, j, "in", 1, 1, most, BM_ERR_SIZE, &in, NULL)) != BM_OK ||
        (s = bm_io_get_uint(r, j, "out", 1, 1, most, BM_ERR_SIZE, &out, NULL)) != BM_OK)
        return s;
    if (in != *width) {
        bm_io_push_key(r, "in");
        return bm_io_fail(r, BM_ERR_SHAPE, "expected %zu (the width before this layer), got %llu",
                          *width, (unsigned long long)in);
    }
    uint64_t total = (uint64_t)p->n_params + in * out + out;
    if (total > BM_MODEL_MAX_PARAMS)
        return bm_io_fail(r, BM_ERR_SIZE,
                          "%llux%llu makes %llu parameters in all, more than the limit of %zu",
                          (unsigned long long)in, (unsigned long long)out,
                          (unsigned long long)total, BM_MODEL_MAX_PARAMS);
    *sp = bm_dense_spec((size_t)in, (size_t)out);
    const char *init;
    bm_error e = {0};
    if ((s = bm_io_get_string(r, j, "init", 0, &init)) != BM_OK)
        return s;
    if (init && bm_init_parse(init, &sp->init, &e) != BM_OK)
        return bm_io_bad_name(r, "init", &e);
    if ((s = bm_io_get_real(r, j, "l1_weights", BM_IO_NONNEGATIVE, &sp->l1_weights)) != BM_OK ||
        (s = bm_io_get_real(r, j, "l2_weights", BM_IO_NONNEGATIVE, &sp->l2_weights)) != BM_OK ||
        (s = bm_io_get_real(r, j, "l1_biases", BM_IO_NONNEGATIVE, &sp->l1_biases)) != BM_OK ||
        (s = bm_io_get_real(r, j, "l2_biases", BM_IO_NONNEGATIVE, &sp->l2_biases)) != BM_OK)
        return s;
    lp->weights = cJSON_GetObjectItemCaseSensitive(j, "weights");
    lp->biases = cJSON_GetObjectItemCaseSensitive(j, "biases");
    if (!lp->weights != !lp->biases) { /* a checkpoint's layer has both */
        bm_io_push_key(r, lp->weights ? "biases" : "weights");
        return bm_io_fail(r, BM_ERR_PARSE, "missing key (weights and biases come together)");
    }
    if (lp->weights) {
        size_t old = bm_io_push_key(r, "weights");
        if ((s = bm_io_want_matrix(r, lp->weights, sp->in, sp->out, p->dt)) != BM_OK)
            return s;
        bm_io_pop(r, old);
        bm_io_push_key(r, "biases");
        if ((s = bm_io_want_numbers(r, lp->biases, sp->out, p->dt)) != BM_OK)
            return s;
        bm_io_pop(r, old);
    }
    p->n_params = (size_t)total;
    *width = sp->out;
    return BM_OK;
}

/* layers[i] (path already there). */
static bm_status parse_layer(bm_io_reader *r, const cJSON *j, plan *p, layer_plan *lp,
                             size_t *width)
{
    bm_status s = bm_io_want(r, j, cJSON_Object, "an object");
    const char *type;
    if (s != BM_OK || (s = bm_io_get_string(r, j, "type", 1, &type)) != BM_OK)
        return s;
    bm_layer_kind kind;
    bm_error e = {0};
    if (bm_layer_kind_parse(type, &kind, &e) != BM_OK)
        return bm_io_bad_name(r, "type", &e);
    if (kind == BM_LAYER_DENSE)
        s = bm_io_check_keys(r, j, DENSE_KEYS, N_OF(DENSE_KEYS));
    else if (kind == BM_LAYER_DROPOUT)
        s = bm_io_check_keys(r, j, DROPOUT_KEYS, N_OF(DROPOUT_KEYS));
    else
        s = bm_io_check_keys(r, j, PLAIN_KEYS, N_OF(PLAIN_KEYS));
    if (s != BM_OK)
        return s;
    lp->spec = bm_activation_spec(kind);
    if (kind == BM_LAYER_DENSE)
        return parse_dense(r, j, p, lp, width);
    if (kind == BM_LAYER_DROPOUT) {
        const cJSON *rate;
        if ((s = bm_io_member(r, j, "rate", 1, &rate)) != BM_OK)
            return s;
        return bm_io_get_real(r, j, "rate", BM_IO_UNIT, &lp->spec.rate);
    }
    return BM_OK;
}

static bm_status parse_layers(bm_io_reader *r, const cJSON *root, plan *p)
{
    const cJSON *a;
    size_t top = 0;
    bm_status s = bm_io_get_array(r, root, "layers", 1, "an array of layers", &a, &top);
    if (s != BM_OK)
        return s;
    p->n_layers = bm_io_count(a);
    if (p->n_layers == 0)
        return bm_io_fail(r, BM_ERR_PARSE, "expected at least one layer");
    p->layers = calloc(p->n_layers, sizeof *p->layers);
    if (!p->layers)
        return bm_io_fail(r, BM_ERR_NOMEM, "out of memory for %zu layers", p->n_layers);
    size_t width = p->inputs, i = 0;
    for (const cJSON *c = a->child; c; c = c->next, i++) {
        size_t old = bm_io_push_index(r, i);
        if ((s = parse_layer(r, c, p, &p->layers[i], &width)) != BM_OK)
            return s;
        bm_io_pop(r, old);
    }
    if (p->n_params == 0)
        return bm_io_fail(r, BM_ERR_PARSE, "expected at least one dense layer");
    bm_io_pop(r, top);
    return BM_OK;
}

/* ------------------------------------------------------------ optimizer */

/* Every number of the validated array a is >= 0 (path at a). */
static bm_status want_nonnegative(bm_io_reader *r, const cJSON *a)
{
    size_t i = 0;
    for (const cJSON *c = a->child; c; c = c->next, i++)
        if (c->valuedouble < 0.0) {
            bm_io_push_index(r, i);
            return bm_io_fail(r, BM_ERR_ARG, "%g is negative; this state holds squared "
                              "gradients, never below 0", c->valuedouble);
        }
    return BM_OK;
}

/* optimizer.state (path at it); probe names the state arrays and their domain. */
static bm_status parse_optim_state(bm_io_reader *r, const cJSON *st, const bm_optim *probe, plan *p)
{
    const char *keys[1 + BM_OPTIM_MAX_STATES] = {"iterations"};
    int n = bm_optim_state_count(probe);
    for (int k = 0; k < n; k++)
        keys[1 + k] = bm_optim_state_name(probe, k);
    bm_status s = bm_io_want(r, st, cJSON_Object, "an object");
    if (s != BM_OK || (s = bm_io_check_keys(r, st, keys, 1 + (size_t)n)) != BM_OK ||
        (s = bm_io_get_uint(r, st, "iterations", 1, 0, BM_MODEL_MAX_INT, BM_ERR_ARG, &p->iterations,
                            NULL)) != BM_OK)
        return s;
    for (int k = 0; k < n; k++) {
        const cJSON *a;
        if ((s = bm_io_member(r, st, keys[1 + k], 1, &a)) != BM_OK)
            return s;
        size_t old = bm_io_push_key(r, keys[1 + k]);
        if ((s = bm_io_want_numbers(r, a, p->n_params, p->dt)) != BM_OK ||
            (bm_optim_state_nonnegative(probe, k) && (s = want_nonnegative(r, a)) != BM_OK))
            return s;
        bm_io_pop(r, old);
    }
    p->ostate = st;
    return BM_OK;
}

bm_status bm_io_parse_optimizer(bm_io_reader *r, const cJSON *root, plan *p)
{
    const cJSON *o, *st;
    bm_optim_kind kind = BM_OPT_SGD;
    p->ocfg = bm_optim_defaults(kind);
    if (!(o = cJSON_GetObjectItemCaseSensitive(root, "optimizer")))
        return BM_OK;
    size_t top = bm_io_push_key(r, "optimizer");
    const char *type,
        *keys[BM_IO_N_OPTIM_FIELDS + BM_IO_N_OPTIM_ALIASES + BM_IO_OPTIM_EXTRA_KEYS] = {
            "type", "state", "clip", "schedule"};
    size_t nk = BM_IO_OPTIM_EXTRA_KEYS;
    bm_error e = {0};
    bm_status s = bm_io_want(r, o, cJSON_Object, "an object");
    if (s != BM_OK || (s = bm_io_get_string(r, o, "type", 0, &type)) != BM_OK)
        return s;
    if (type && bm_optim_kind_parse(type, &kind, &e) != BM_OK)
        return bm_io_bad_name(r, "type", &e);
    p->ocfg = bm_optim_defaults(kind);
    for (size_t f = 0; f < BM_IO_N_OPTIM_FIELDS; f++)
        if (bm_io_optim_fields[f].kinds >> kind & 1u) {
            keys[nk++] = bm_io_optim_fields[f].key;
            if (bm_io_optim_fields[f].alias)
                keys[nk++] = bm_io_optim_fields[f].alias;
        }
    if ((s = bm_io_check_keys(r, o, keys, nk)) != BM_OK)
        return s;
    for (size_t f = 0; f < BM_IO_N_OPTIM_FIELDS; f++) {
        const bm_io_optim_field *fd = &bm_io_optim_fields[f];
        double *v = (double *)(void *)((char *)&p->ocfg + fd->offset);
        const char *key = fd->key;
        if (!(fd->kinds >> kind & 1u))
            continue;
        if (fd->alias && cJSON_GetObjectItemCaseSensitive(o, fd->alias)) {
            if (cJSON_GetObjectItemCaseSensitive(o, fd->key)) {
                bm_io_push_key(r, fd->alias);
                return bm_io_fail(r, BM_ERR_PARSE, "another name of %s, which is given too",
                                  fd->key);
            }
            key = fd->alias;
        }
        if ((s = bm_io_get_real(r, o, key, fd->range, v)) != BM_OK)
            return s;
    }
    if ((s = bm_io_parse_clip(r, o, &p->clip_norm, &p->clip_value)) != BM_OK ||
        (s = bm_io_parse_schedule(r, o, &p->sched)) != BM_OK)
        return s;
    bm_optim *probe = bm_optim_new(&p->ocfg, p->dt, 1, &e); /* names the state arrays */
    if (!probe)
        return bm_io_fail(r, e.code, "%s", bm_io_unprefixed(e.msg));
    if ((st = cJSON_GetObjectItemCaseSensitive(o, "state")) != NULL) {
        bm_io_push_key(r, "state");
        s = parse_optim_state(r, st, probe, p);
    }
    bm_optim_free(probe);
    if (s == BM_OK)
        bm_io_pop(r, top);
    return s;
}

/* ------------------------------------------------------ training, state */

bm_status bm_io_parse_training(bm_io_reader *r, const cJSON *root, plan *p)
{
    static const char *const keys[] = {"epochs", "batch_size", "seed"};
    const uint64_t size_max =
        (uint64_t)SIZE_MAX < BM_MODEL_MAX_INT ? (uint64_t)SIZE_MAX : BM_MODEL_MAX_INT;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "training");
    uint64_t bs = 0;
    if (!t)
        return BM_OK;
    size_t top = bm_io_push_key(r, "training");
    bm_status s = bm_io_want(r, t, cJSON_Object, "an object");
    if (s != BM_OK || (s = bm_io_check_keys(r, t, keys, N_OF(keys))) != BM_OK ||
        (s = bm_io_get_uint(r, t, "epochs", 0, 0, BM_MODEL_MAX_INT, BM_ERR_ARG, &p->ts.epochs,
                            &p->ts.has_epochs)) != BM_OK ||
        (s = bm_io_get_uint(r, t, "batch_size", 0, 0, size_max, BM_ERR_ARG, &bs,
                            &p->ts.has_batch_size)) != BM_OK ||
        (s = bm_io_get_uint(r, t, "seed", 0, 0, BM_MODEL_MAX_INT, BM_ERR_ARG, &p->ts.seed,
                            &p->ts.has_seed)) != BM_OK)
        return s;
    p->ts.batch_size = (size_t)bs;
    bm_io_pop(r, top);
    return BM_OK;
}

/* One RNG word: exactly 16 hex digits. */
static bm_status want_hex64(bm_io_reader *r, const cJSON *j, uint64_t *out)
{
    bm_status s = bm_io_want(r, j, cJSON_String, "a string of 16 hex digits");
    if (s != BM_OK)
        return s;
    const char *t = j->valuestring;
    uint64_t v = 0;
    size_t i = 0;
    for (; t[i] && i <= RNG_HEX_DIGITS; i++) {
        char c = t[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            break;
        v = v << 4 | (uint64_t)d;
    }
    if (i != RNG_HEX_DIGITS || t[i] != '\0')
        return bm_io_fail(r, BM_ERR_PARSE, "expected 16 hex digits, got '%.20s'", t);
    *out = v;
    return BM_OK;
}

bm_status bm_io_parse_state(bm_io_reader *r, const cJSON *root, plan *p)
{
    static const char *const keys[] = {"epoch", "rng"};
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "state"), *a;
    if (!st)
        return BM_OK;
    size_t top = bm_io_push_key(r, "state");
    bm_status s = bm_io_want(r, st, cJSON_Object, "an object");
    if (s != BM_OK || (s = bm_io_check_keys(r, st, keys, N_OF(keys))) != BM_OK ||
        (s = bm_io_get_uint(r, st, "epoch", 0, 0, BM_MODEL_MAX_INT, BM_ERR_ARG, &p->epoch,
                            &p->has_epoch)) != BM_OK)
        return s;
    if ((a = cJSON_GetObjectItemCaseSensitive(st, "rng")) != NULL) {
        size_t old = bm_io_push_key(r, "rng"), i = 0;
        if ((s = bm_io_want(r, a, cJSON_Array, "an array of 4 hex strings")) != BM_OK)
            return s;
        if (bm_io_count(a) != RNG_WORDS)
            return bm_io_fail(r, BM_ERR_PARSE,
                              "expected 4 strings of 16 hex digits, got %zu values",
                              bm_io_count(a));
        for (const cJSON *c = a->child; c; c = c->next, i++) {
            size_t at = bm_io_push_index(r, i);
            if ((s = want_hex64(r, c, &p->rng.s[i])) != BM_OK)
                return s;
            bm_io_pop(r, at);
        }
        if ((p->rng.s[0] | p->rng.s[1] | p->rng.s[2] | p->rng.s[3]) == 0)
            return bm_io_fail(r, BM_ERR_PARSE, "all zero is not a valid xoshiro256** state");
        p->has_rng = 1;
        bm_io_pop(r, old);
    }
    bm_io_pop(r, top);
    return BM_OK;
}

/* ----------------------------------------------------------------- root */

bm_status bm_io_get_array(bm_io_reader *r, const cJSON *obj, const char *key, int required,
                          const char *what, const cJSON **out, size_t *top)
{
    bm_status s = bm_io_member(r, obj, key, required, out);
    if (s != BM_OK || !*out)
        return s;
    *top = bm_io_push_key(r, key);
    return bm_io_want(r, *out, cJSON_Array, what);
}

bm_status bm_io_get_dtype(bm_io_reader *r, const cJSON *root, bm_dtype *dt)
{
    const char *dtype;
    bm_status s = bm_io_get_string(r, root, "dtype", 0, &dtype);
    if (s != BM_OK)
        return s;
    *dt = BM_F32;
    if (dtype && strcmp(dtype, "f32") != 0 && strcmp(dtype, "f64") != 0) {
        bm_io_push_key(r, "dtype");
        return bm_io_fail(r, BM_ERR_PARSE, "unknown dtype '%.40s' (expected f32 or f64)", dtype);
    }
    if (dtype && strcmp(dtype, "f64") == 0)
        *dt = BM_F64;
    return BM_OK;
}

static bm_status parse_root(bm_io_reader *r, const cJSON *root, plan *p)
{
    static const char *const keys[] = {"format", "version",   "dtype",    "inputs", "layers",
                                       "loss",   "optimizer", "training", "state"};
    const char *format, *loss;
    uint64_t version = BM_MODEL_FORMAT_V1, inputs = 0;
    bm_error e = {0};
    bm_status s;
    if (!bm_io_is(root, cJSON_Object))
        return bm_io_fail(r, BM_ERR_PARSE, "expected a JSON object at the top, got %s",
                          bm_io_type_name(root));
    if ((s = bm_io_check_keys(r, root, keys, N_OF(keys))) != BM_OK ||
        (s = bm_io_get_string(r, root, "format", 0, &format)) != BM_OK)
        return s;
    if (format && strcmp(format, BM_MODEL_FORMAT) != 0) {
        bm_io_push_key(r, "format");
        return bm_io_fail(r, BM_ERR_PARSE, "expected \"%s\", got \"%.40s\"", BM_MODEL_FORMAT,
                          format);
    }
    if ((s = bm_io_get_uint(r, root, "version", 0, 0, BM_MODEL_MAX_INT, BM_ERR_PARSE, &version,
                            NULL)) != BM_OK)
        return s;
    if (version != BM_MODEL_FORMAT_V1) {
        bm_io_push_key(r, "version");
        return bm_io_fail(r, BM_ERR_PARSE, "unsupported version %llu (this library reads %d) "
                          "for a file of \"layers\"; version %d files have \"nodes\"",
                          (unsigned long long)version, BM_MODEL_FORMAT_V1,
                          BM_MODEL_FORMAT_VERSION);
    }
    if ((s = bm_io_get_dtype(r, root, &p->dt)) != BM_OK)
        return s;
    if ((s = bm_io_get_uint(r, root, "inputs", 1, 1, BM_MODEL_MAX_PARAMS, BM_ERR_SIZE, &inputs,
                            NULL)) != BM_OK)
        return s;
    p->inputs = (size_t)inputs;
    if ((s = parse_layers(r, root, p)) != BM_OK ||
        (s = bm_io_get_string(r, root, "loss", 0, &loss)) != BM_OK)
        return s;
    p->loss = BM_LOSS_SOFTMAX_CCE;
    if (loss && bm_loss_parse(loss, &p->loss, &e) != BM_OK)
        return bm_io_bad_name(r, "loss", &e);
    if ((s = bm_io_parse_optimizer(r, root, p)) != BM_OK ||
        (s = bm_io_parse_training(r, root, p)) != BM_OK)
        return s;
    return bm_io_parse_state(r, root, p);
}

/* ---------------------------------------------------------------- build */

static bm_model *build(bm_io_reader *r, const plan *p)
{
    bm_error e = {0};
    bm_model *m = bm_model_new(p->dt, p->inputs, &e);
    if (!m)
        goto fail;
    for (size_t i = 0; i < p->n_layers; i++)
        if (bm_model_add(m, &p->layers[i].spec, &e) != BM_OK)
            goto fail;
    if (bm_model_set_loss(m, p->loss, &e) != BM_OK ||
        bm_model_set_optimizer(m, &p->ocfg, &e) != BM_OK ||
        bm_model_init(m, p->ts.has_seed ? p->ts.seed : 0, &e) != BM_OK)
        goto fail;
    for (size_t i = 0; i < p->n_layers; i++) {
        const layer_plan *lp = &p->layers[i];
        if (!lp->weights)
            continue;
        size_t off = 0;
        for (const cJSON *row = lp->weights->child; row; row = row->next)
            off = bm_io_copy_numbers(row, bm_model_weights(m, i)->data, p->dt, off);
        bm_io_copy_numbers(lp->biases, bm_model_biases(m, i)->data, p->dt, 0);
    }
    if (bm_io_finish(p, m, &e) != BM_OK)
        goto fail;
    return m;
fail:
    bm_io_fail(r, e.code != BM_OK ? e.code : BM_ERR_STATE, "%s", e.msg);
    bm_model_free(m);
    return NULL;
}

bm_status bm_io_finish(const plan *p, bm_model *m, bm_error *e)
{
    bm_optim *o = bm_model_optim(m);
    if (bm_optim_set_schedule(o, &p->sched, e) != BM_OK ||
        bm_optim_set_clip(o, p->clip_norm, p->clip_value, e) != BM_OK)
        return e->code;
    if (p->ostate) {
        bm_optim_set_iterations(o, p->iterations);
        for (int k = 0; k < bm_optim_state_count(o); k++)
            bm_io_copy_numbers(
                cJSON_GetObjectItemCaseSensitive(p->ostate, bm_optim_state_name(o, k)),
                bm_optim_state(o, k), p->dt, 0);
    }
    if (p->has_epoch)
        bm_model_set_epoch(m, p->epoch);
    if (p->has_rng)
        *bm_model_rng(m) = p->rng;
    return BM_OK;
}

/* A format 2 document: "nodes", or no "layers" and a version 2 sign. */
static int is_v2(const cJSON *root)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(root, "format"),
                *v = cJSON_GetObjectItemCaseSensitive(root, "version"),
                *in = cJSON_GetObjectItemCaseSensitive(root, "inputs");
    if (!bm_io_is(root, cJSON_Object))
        return 0;
    if (cJSON_GetObjectItemCaseSensitive(root, "nodes"))
        return 1;
    return !cJSON_GetObjectItemCaseSensitive(root, "layers") &&
           ((f && bm_io_is(f, cJSON_Number)) || (in && bm_io_is(in, cJSON_Array)) ||
            (v && bm_io_is(v, cJSON_Number) && v->valuedouble == BM_MODEL_FORMAT_VERSION));
}

/* Parse buf (len bytes, buf[len] == '\0') into a model. */
static bm_model *load_text(bm_io_reader *r, const char *buf, size_t len,
                           const bm_model_load_opts *opts, bm_train_settings *settings)
{
    size_t line, col;
    if (settings)
        memset(settings, 0, sizeof *settings);
    if (len == 0) {
        bm_io_fail(r, BM_ERR_PARSE, "empty file");
        return NULL;
    }
    if (bm_io_prescan(r, buf, len) != BM_OK)
        return NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len + 1, &end, 1);
    if (!root) {
        size_t pos = end && end >= buf ? (size_t)(end - buf) : 0;
        bm_io_line_col(buf, pos < len ? pos : len, &line, &col);
        bm_io_fail(r, BM_ERR_PARSE, "malformed JSON near line %zu column %zu", line, col);
        return NULL;
    }
    plan p;
    memset(&p, 0, sizeof p);
    bm_model *m = NULL;
    if (is_v2(root))
        m = bm_io_read_v2(r, root, &p, opts);
    else if (parse_root(r, root, &p) == BM_OK)
        m = build(r, &p);
    if (m && settings)
        *settings = p.ts;
    free(p.layers);
    cJSON_Delete(root);
    return m;
}

bm_model *bm_model_from_json(const char *text, size_t len, const char *name,
                             bm_train_settings *settings, bm_error *err)
{
    return bm_model_from_json_ex(text, len, name, NULL, settings, err);
}

bm_model *bm_model_from_json_ex(const char *text, size_t len, const char *name,
                                const bm_model_load_opts *opts, bm_train_settings *settings,
                                bm_error *err)
{
    bm_io_reader r = {name ? name : "<json>", err, "", 0};
    if (!text) {
        bm_io_fail(&r, BM_ERR_NULL, "bm_model_from_json: text is NULL");
        return NULL;
    }
    if (len > BM_MODEL_MAX_FILE_BYTES) {
        bm_io_fail(&r, BM_ERR_SIZE, "%zu bytes, more than the limit of %zu", len,
                   BM_MODEL_MAX_FILE_BYTES);
        return NULL;
    }
    char *buf = malloc(len + 1);
    if (!buf) {
        bm_io_fail(&r, BM_ERR_NOMEM, "out of memory for %zu bytes", len);
        return NULL;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    bm_model *m = load_text(&r, buf, len, opts, settings);
    free(buf);
    return m;
}

bm_model *bm_model_load(const char *path, bm_train_settings *settings, bm_error *err)
{
    return bm_model_load_ex(path, NULL, settings, err);
}

bm_model *bm_model_load_ex(const char *path, const bm_model_load_opts *opts,
                           bm_train_settings *settings, bm_error *err)
{
    bm_io_reader r = {path ? path : "<null>", err, "", 0};
    char *buf = NULL;
    size_t len = 0;
    if (!path) {
        bm_io_fail(&r, BM_ERR_NULL, "bm_model_load: path is NULL");
        return NULL;
    }
    if (bm_io_read_file(&r, &buf, &len) != BM_OK)
        return NULL;
    bm_model *m = load_text(&r, buf, len, opts, settings);
    free(buf);
    return m;
}
