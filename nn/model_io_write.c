/* model_io_write.c — models into JSON model files, and atomic saves.
 *
 * The writer prints the document itself (no cJSON tree): keys in a fixed
 * order, parameters with "%.17g" (f64) or "%.9g" (f32) so they read back
 * bit-identical, hyperparameters in their shortest form that reads back
 * exactly, one line per weights row. The same model always gives the same
 * bytes, so save → load → save is byte-identical. Saving goes through the
 * atomic writer (bm_file.h). */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_file.h"
#include "model_io_internal.h"

/* Room for one formatted number or short line piece. */
#define NUM_LEN 40
/* Room for one formatted key/value fragment. */
#define FRAG_LEN 256
/* First size of the output buffer. */
#define OUT_START 4096
/* Digits of f64 and f32 values that always read back exactly. */
#define F64_DIGITS 17
#define F32_DIGITS 9
/* Fewest digits tried for a hyperparameter's shortest exact form. */
#define SHORT_DIGITS 15

/* A growing output buffer; nomem is sticky. */
typedef struct out {
    char *p;
    size_t len, cap;
    int nomem;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->nomem)
        return;
    if (o->cap - o->len < n + 1) {
        size_t cap = o->cap ? o->cap : OUT_START;
        while (cap - o->len < n + 1)
            cap *= 2;
        char *p = realloc(o->p, cap);
        if (!p) {
            o->nomem = 1;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void puts_(out *o, const char *s) { put(o, s, strlen(s)); }

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void putf(out *o, const char *fmt, ...)
{
    char buf[FRAG_LEN];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    put(o, buf, n < 0 ? 0 : (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* s with whatever the locale uses as decimal point turned into '.', so
 * the file is JSON in every locale (in place). */
static void c_locale_number(char *s)
{
    char *w = s;
    for (const char *c = s; *c;) {
        if ((*c >= '0' && *c <= '9') || *c == '-' || *c == '+' || *c == 'e' || *c == 'E') {
            *w++ = *c++;
            continue;
        }
        *w++ = '.';
        while (*c && !((*c >= '0' && *c <= '9') || *c == 'e' || *c == 'E'))
            c++;
    }
    *w = '\0';
}

/* v with `digits` significant digits. */
static void put_num(out *o, double v, int digits)
{
    char buf[NUM_LEN];
    snprintf(buf, sizeof buf, "%.*g", digits, v);
    c_locale_number(buf);
    puts_(o, buf);
}

/* v in the fewest of 15..17 digits that reads back exactly. */
static void put_short(out *o, double v)
{
    char buf[NUM_LEN];
    for (int d = SHORT_DIGITS; d <= F64_DIGITS; d++) {
        snprintf(buf, sizeof buf, "%.*g", d, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    c_locale_number(buf);
    puts_(o, buf);
}

static double get(const void *data, bm_dtype dt, size_t i)
{
    return dt == BM_F32 ? (double)((const float *)data)[i] : ((const double *)data)[i];
}

/* "a, b, c" for data[off .. off+n). */
static void put_numbers(out *o, const void *data, bm_dtype dt, size_t off, size_t n)
{
    int digits = dt == BM_F32 ? F32_DIGITS : F64_DIGITS;
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(o, ", ", 2);
        put_num(o, get(data, dt, off + i), digits);
    }
}

/* ------------------------------------------------------------- checks */

/* Index of the first non-finite value of data[0..n), or n. */
static size_t first_nonfinite(const void *data, bm_dtype dt, size_t n)
{
    size_t i = 0;
    while (i < n && isfinite(get(data, dt, i)))
        i++;
    return i;
}

/* "LABEL[i][j]..." of element k of t into buf. */
static void element_path(const bm_tensor *t, size_t k, char *buf, size_t len)
{
    size_t idx[BM_MAX_RANK], pos = (size_t)snprintf(buf, len, "%s", t->name ? t->name : "?");
    for (int a = t->rank; a-- > 0;) {
        idx[a] = k % t->shape[a];
        k /= t->shape[a];
    }
    for (int a = 0; a < t->rank && pos < len; a++)
        pos += (size_t)snprintf(buf + pos, len - pos, "[%zu]", idx[a]);
}

/* Everything written must read back: finite numbers, integers <= 2^53. */
static bm_status check_model(bm_model *m, const bm_train_settings *ts, bm_error *err)
{
    const char *fn = "bm_model_to_json";
    bm_dtype dt = bm_model_dtype(m);
    for (size_t i = 0; i < bm_model_n_layers(m); i++)
        for (size_t p = 0; !bm_model_node_shares(m, i) && p < bm_model_node_n_params(m, i); p++) {
            const bm_tensor *t = bm_model_node_param(m, i, p);
            size_t k = first_nonfinite(t->data, dt, t->size);
            char at[FRAG_LEN];
            if (k < t->size) {
                element_path(t, k, at, sizeof at);
                return bm_error_set(err, BM_ERR_NUMERIC, "%s: %s is %g", fn, at,
                                    get(t->data, dt, k));
            }
        }
    bm_optim *o = bm_model_optim(m);
    size_t n = bm_model_n_params(m);
    for (int s = 0; o && s < bm_optim_state_count(o); s++) {
        size_t k = first_nonfinite(bm_optim_state(o, s), dt, n);
        if (k < n)
            return bm_error_set(err, BM_ERR_NUMERIC, "%s: optimizer.state.%s[%zu] is %g", fn,
                                bm_optim_state_name(o, s), k, get(bm_optim_state(o, s), dt, k));
    }
    const bm_schedule *sc = o ? bm_optim_get_schedule(o) : NULL;
    const struct {
        const char *what;
        int present;
        uint64_t v;
    } ints[] = {
        {"state.epoch", 1, bm_model_epoch(m)},
        {"optimizer.state.iterations", o != NULL, o ? bm_optim_iterations(o) : 0},
        {"training.epochs", ts && ts->has_epochs, ts ? ts->epochs : 0},
        {"training.batch_size", ts && ts->has_batch_size, ts ? (uint64_t)ts->batch_size : 0},
        {"training.seed", ts && ts->has_seed, ts ? ts->seed : 0},
        {"optimizer.schedule.step_size", sc != NULL, sc ? sc->step_size : 0},
        {"optimizer.schedule.t_max", sc != NULL, sc ? sc->t_max : 0},
        {"optimizer.schedule.warmup_steps", sc != NULL, sc ? sc->warmup_steps : 0},
    };
    for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++)
        if (ints[k].present && ints[k].v > BM_MODEL_MAX_INT)
            return bm_error_set(err, BM_ERR_ARG,
                                "%s: %s = %" PRIu64 " is more than a model file holds (2^53)",
                                fn, ints[k].what, ints[k].v);
    return BM_OK;
}

/* ----------------------------------------------------------- sections */

/* A nested array of t's values (one line per last-axis row) at indent. */
static void put_nested(out *o, const bm_tensor *t, int axis, size_t off, int indent)
{
    if (axis >= t->rank - 1 || axis >= BM_MAX_RANK - 1) {
        puts_(o, "[");
        put_numbers(o, t->data, t->dtype, off, t->shape[axis]);
        puts_(o, "]");
        return;
    }
    size_t inner = 1;
    for (int a = axis + 1; a < t->rank; a++)
        inner *= t->shape[a];
    puts_(o, "[\n");
    for (size_t r = 0; r < t->shape[axis]; r++) {
        putf(o, "%*s", indent + 1, "");
        put_nested(o, t, axis + 1, off + r * inner, indent + 1);
        puts_(o, r + 1 < t->shape[axis] ? ",\n" : "\n");
    }
    putf(o, "%*s]", indent, "");
}

/* One spec key's value. */
static void put_key(out *o, const bm_layer_key *k, const bm_layer_spec *s)
{
    const void *at = (const char *)s + k->offset;
    const size_t *z = at;
    const bm_shape *sh = at;
    putf(o, ", \"%s\": ", k->name);
    switch (k->type) {
    case BM_KEY_SIZE:
        putf(o, "%zu", *z);
        break;
    case BM_KEY_SIZE2:
        putf(o, "[%zu, %zu]", z[0], z[1]);
        break;
    case BM_KEY_DOUBLE:
        put_short(o, *(const double *)at);
        break;
    case BM_KEY_BOOL:
        puts_(o, *(const int *)at ? "true" : "false");
        break;
    case BM_KEY_INT:
        putf(o, "%d", *(const int *)at);
        break;
    case BM_KEY_INIT:
        putf(o, "\"%s\"", bm_init_name(*(const bm_init *)at));
        break;
    case BM_KEY_SHAPE:
        for (int a = 0; a < sh->rank; a++)
            putf(o, "%s%zu", a ? ", " : "[", sh->dim[a]);
        puts_(o, "]");
        break;
    }
}

/* A version 1 layer (sequential files of the first release). */
static void put_layer_v1(out *o, bm_model *m, size_t i)
{
    const bm_layer_spec *s = bm_model_layer(m, i);
    putf(o, "    {\"type\": \"%s\"", bm_layer_kind_name(s->kind));
    if (s->kind == BM_LAYER_DROPOUT) {
        puts_(o, ", \"rate\": ");
        put_short(o, s->rate);
    }
    if (s->kind != BM_LAYER_DENSE) {
        puts_(o, "}");
        return;
    }
    putf(o, ", \"in\": %zu, \"out\": %zu, \"init\": \"%s\",\n     ", s->in, s->out,
         bm_init_name(s->init));
    const char *keys[4] = {"l1_weights", "l2_weights", "l1_biases", "l2_biases"};
    const double vals[4] = {s->l1_weights, s->l2_weights, s->l1_biases, s->l2_biases};
    for (int k = 0; k < 4; k++) {
        putf(o, "%s\"%s\": ", k ? ", " : "", keys[k]);
        put_short(o, vals[k]);
    }
    const bm_tensor *W = bm_model_weights(m, i), *b = bm_model_biases(m, i);
    puts_(o, ",\n     \"weights\": [\n");
    for (size_t r = 0; r < s->in; r++) {
        puts_(o, "      [");
        put_numbers(o, W->data, W->dtype, r * s->out, s->out);
        puts_(o, r + 1 < s->in ? "],\n" : "]\n");
    }
    puts_(o, "     ],\n     \"biases\": [");
    put_numbers(o, b->data, b->dtype, 0, s->out);
    puts_(o, "]}");
}

/* Node i: name, kind, inputs, the kind's keys, its share or its params. */
static void put_node(out *o, bm_model *m, size_t i)
{
    const bm_layer_vt *vt = bm_model_node_vt(m, i);
    size_t nk;
    const bm_layer_key *table = bm_layer_keys(&nk);
    putf(o, "    {\"name\": \"%s\", \"kind\": \"%s\", \"inputs\": [", bm_model_node_name(m, i),
         vt->name);
    for (size_t k = 0; k < bm_model_node_n_inputs(m, i); k++)
        putf(o, "%s\"%s\"", k ? ", " : "", bm_model_node_input(m, i, k));
    puts_(o, "]");
    for (size_t k = 0; vt->keys && vt->keys[k]; k++)
        for (size_t t = 0; t < nk; t++)
            if (strcmp(table[t].name, vt->keys[k]) == 0)
                put_key(o, &table[t], bm_model_layer(m, i));
    if (bm_model_node_shares(m, i))
        putf(o, ", \"share\": \"%s\"", bm_model_node_shares(m, i));
    size_t np = bm_model_node_n_params(m, i);
    if (np && !bm_model_node_shares(m, i)) {
        puts_(o, ",\n     \"params\": {");
        for (size_t k = 0; k < np; k++) {
            putf(o, "%s\"%s\": ", k ? ",\n      " : "\n      ",
                 bm_model_node_param_desc(m, i, k)->name);
            put_nested(o, bm_model_node_param(m, i, k), 0, 0, 6);
        }
        puts_(o, "}");
    }
    puts_(o, "}");
}

/* A flat optimizer state array, one line per last-axis row of each
 * trained parameter, in the buffer's order. */
static void put_state_array(out *o, bm_model *m, const char *name, const void *data)
{
    bm_dtype dt = bm_model_dtype(m);
    size_t off = 0;
    putf(o, ",\n      \"%s\": [", name);
    for (size_t i = 0; i < bm_model_n_layers(m); i++)
        for (size_t p = 0; !bm_model_node_shares(m, i) && p < bm_model_node_n_params(m, i); p++) {
            const bm_param_desc *d = bm_model_node_param_desc(m, i, p);
            const bm_tensor *t = bm_model_node_param(m, i, p);
            if (d->role == BM_ROLE_STATE)
                continue;
            size_t w = t->shape[t->rank - 1];
            for (size_t r = 0; r < t->size / w; r++) {
                puts_(o, off ? ",\n        " : "\n        ");
                put_numbers(o, data, dt, off, w);
                off += w;
            }
        }
    puts_(o, "\n      ]");
}

/* optimizer.clip and optimizer.schedule, when they are set. */
static void put_controls(out *o, const bm_optim *opt)
{
    double norm, value;
    bm_optim_get_clip(opt, &norm, &value);
    if (norm != 0.0 || value != 0.0) {
        puts_(o, ",\n    \"clip\": {\"max_norm\": ");
        put_short(o, norm);
        puts_(o, ", \"max_value\": ");
        put_short(o, value);
        puts_(o, "}");
    }
    const bm_schedule *sc = bm_optim_get_schedule(opt);
    if (sc->kind == BM_SCHED_CONSTANT && sc->warmup_steps == 0)
        return;
    putf(o, ",\n    \"schedule\": {\"type\": \"%s\"", bm_schedule_kind_name(sc->kind));
    for (size_t f = 0; f < BM_IO_N_SCHED_FIELDS; f++) {
        const bm_io_sched_field *fd = &bm_io_sched_fields[f];
        const void *at = (const char *)sc + fd->offset;
        int warmup = fd->kinds == BM_IO_ALL_SCHEDS; /* its keys only with a warm-up */
        if (!(fd->kinds >> sc->kind & 1u) || (warmup && sc->warmup_steps == 0))
            continue;
        putf(o, ", \"%s\": ", fd->key);
        if (fd->is_count)
            putf(o, "%" PRIu64, *(const uint64_t *)at);
        else
            put_short(o, *(const double *)at);
    }
    puts_(o, "}");
}

static void put_optimizer(out *o, bm_model *m)
{
    bm_optim *opt = bm_model_optim(m);
    bm_optim_config c = *bm_optim_get_config(opt);
    if (bm_optim_n_groups(opt) == 1) /* its one group's settings (bm_optim_group_set) */
        bm_optim_group_get(opt, 0, &c.lr, &c.weight_decay, NULL, NULL);
    putf(o, "  \"optimizer\": {\"type\": \"%s\"", bm_optim_kind_name(c.kind));
    for (size_t f = 0; f < BM_IO_N_OPTIM_FIELDS; f++) {
        const bm_io_optim_field *fd = &bm_io_optim_fields[f];
        double v = *(const double *)(const void *)((const char *)&c + fd->offset);
        if (!(fd->kinds >> c.kind & 1u) || (fd->omit_zero >> c.kind & 1u && v == 0.0))
            continue;
        putf(o, ", \"%s\": ", fd->key);
        put_short(o, v);
    }
    put_controls(o, opt);
    int n = bm_optim_state_count(opt);
    uint64_t it = bm_optim_iterations(opt);
    if (it > 0 || n > 0) {
        putf(o, ",\n    \"state\": {\"iterations\": %" PRIu64, it);
        for (int k = 0; k < n; k++)
            put_state_array(o, m, bm_optim_state_name(opt, k), bm_optim_state(opt, k));
        puts_(o, "}");
    }
    puts_(o, "},\n");
}

static void put_training(out *o, const bm_train_settings *ts)
{
    if (!ts || !(ts->has_epochs || ts->has_batch_size || ts->has_seed))
        return;
    const char *sep = "";
    puts_(o, "  \"training\": {");
    if (ts->has_epochs) {
        putf(o, "\"epochs\": %" PRIu64, ts->epochs);
        sep = ", ";
    }
    if (ts->has_batch_size) {
        putf(o, "%s\"batch_size\": %zu", sep, ts->batch_size);
        sep = ", ";
    }
    if (ts->has_seed)
        putf(o, "%s\"seed\": %" PRIu64, sep, ts->seed);
    puts_(o, "},\n");
}

/* Whether a version 1 file holds m: one input [n] named "input", nodes
 * "layers[i]" of the first release's kinds each reading the one before,
 * the last one the output, no tying, no state. */
static int fits_v1(const bm_model *m)
{
    const bm_shape *in = bm_model_input_shape(m, 0);
    int ok = bm_model_input_count(m) == 1 && in->rank == 1 && bm_model_n_state(m) == 0 &&
             bm_model_n_param_groups(m) == 0 &&
             strcmp(bm_model_input_name(m, 0), "input") == 0 &&
             bm_model_output_count(m) == 1 &&
             strcmp(bm_model_output_name(m, 0), bm_model_node_name(m, bm_model_n_layers(m) - 1)) == 0;
    for (size_t i = 0; ok && i < bm_model_n_layers(m); i++) {
        char name[BM_NODE_NAME_MAX];
        const bm_layer_spec *s = bm_model_layer(m, i);
        snprintf(name, sizeof name, "layers[%zu]", i);
        ok = strcmp(bm_model_node_name(m, i), name) == 0 && s->kind <= BM_LAYER_DROPOUT &&
             bm_model_node_vt(m, i) == bm_layer_vtable((int)s->kind) &&
             !bm_model_node_shares(m, i) && bm_model_node_n_inputs(m, i) == 1 &&
             strcmp(bm_model_node_input(m, i, 0),
                    i ? bm_model_node_name(m, i - 1) : bm_model_input_name(m, 0)) == 0;
    }
    return ok;
}

/* inputs, nodes and outputs of version 2. */
static void put_graph(out *o, bm_model *m)
{
    puts_(o, "  \"inputs\": [");
    for (size_t k = 0; k < bm_model_input_count(m); k++) {
        const bm_shape *sh = bm_model_input_shape(m, k);
        putf(o, "%s{\"name\": \"%s\", \"shape\": [", k ? ", " : "", bm_model_input_name(m, k));
        for (int a = 0; a < sh->rank; a++)
            putf(o, "%s%zu", a ? ", " : "", sh->dim[a]);
        puts_(o, "]}");
    }
    puts_(o, "],\n  \"nodes\": [\n");
    for (size_t i = 0; i < bm_model_n_layers(m); i++) {
        put_node(o, m, i);
        puts_(o, i + 1 < bm_model_n_layers(m) ? ",\n" : "\n");
    }
    puts_(o, "  ],\n  \"outputs\": [");
    for (size_t k = 0; k < bm_model_output_count(m); k++)
        putf(o, "%s\"%s\"", k ? ", " : "", bm_model_output_name(m, k));
    puts_(o, "],\n");
    for (size_t g = 0; g < bm_model_n_param_groups(m); g++) {
        double lr = 0, wd = 0;
        int frozen = 0, first = 1;
        bm_model_param_group_get(m, g, &lr, &wd, &frozen, NULL);
        puts_(o, g ? ",\n    {\"params\": [" : "  \"groups\": [\n    {\"params\": [");
        for (size_t i = 0; i < bm_model_n_layers(m); i++)
            for (size_t k = 0; k < bm_model_node_n_params(m, i); k++) {
                const bm_tensor *t = bm_model_node_param(m, i, k);
                if (bm_model_node_shares(m, i) || bm_model_param_group_of(m, t) != (int)g)
                    continue;
                putf(o, "%s\"%s\"", first ? "" : ", ", t->name);
                first = 0;
            }
        puts_(o, "], \"lr\": ");
        put_short(o, lr);
        puts_(o, ", \"weight_decay\": ");
        put_short(o, wd);
        putf(o, ", \"frozen\": %s}", frozen ? "true" : "false");
    }
    if (bm_model_n_param_groups(m))
        puts_(o, "\n  ],\n");
}

char *bm_model_to_json_version(bm_model *m, const bm_train_settings *settings, int version,
                               bm_error *err)
{
    if (!m) {
        bm_error_set(err, BM_ERR_NULL, "bm_model_to_json: model is NULL");
        return NULL;
    }
    if (!bm_model_params(m)) {
        bm_error_set(err, BM_ERR_STATE,
                     "bm_model_to_json: the model has no parameters (call bm_model_init)");
        return NULL;
    }
    if (version != 0 && version != BM_MODEL_FORMAT_V1 && version != BM_MODEL_FORMAT_VERSION) {
        bm_error_set(err, BM_ERR_ARG, "bm_model_to_json: no format version %d (0, %d or %d)",
                     version, BM_MODEL_FORMAT_V1, BM_MODEL_FORMAT_VERSION);
        return NULL;
    }
    int v1 = fits_v1(m);
    if (version == BM_MODEL_FORMAT_V1 && !v1) {
        bm_error_set(err, BM_ERR_ARG, "bm_model_to_json: a version 1 file holds only sequential "
                     "models of the first release's layers; this one needs version %d",
                     BM_MODEL_FORMAT_VERSION);
        return NULL;
    }
    v1 = version ? version == BM_MODEL_FORMAT_V1 : v1;
    if (check_model(m, settings, err) != BM_OK)
        return NULL;
    out o = {0};
    putf(&o, "{\n  \"format\": \"%s\",\n  \"version\": %d,\n  \"dtype\": \"%s\",\n",
         BM_MODEL_FORMAT, v1 ? BM_MODEL_FORMAT_V1 : BM_MODEL_FORMAT_VERSION,
         bm_dtype_name(bm_model_dtype(m)));
    if (v1) {
        putf(&o, "  \"inputs\": %zu,\n  \"layers\": [\n", bm_model_n_inputs(m));
        for (size_t i = 0; i < bm_model_n_layers(m); i++) {
            put_layer_v1(&o, m, i);
            puts_(&o, i + 1 < bm_model_n_layers(m) ? ",\n" : "\n");
        }
        puts_(&o, "  ],\n");
    } else {
        put_graph(&o, m);
    }
    putf(&o, "  \"loss\": \"%s\",\n", bm_loss_name(bm_model_loss(m)));
    if (bm_model_optim(m))
        put_optimizer(&o, m);
    put_training(&o, settings);
    const bm_rng *rng = bm_model_rng(m);
    putf(&o, "  \"state\": {\"epoch\": %" PRIu64 ", \"rng\": [", bm_model_epoch(m));
    for (int k = 0; k < 4; k++)
        putf(&o, "%s\"%016" PRIx64 "\"", k ? ", " : "", rng->s[k]);
    puts_(&o, "]}\n}\n");
    if (o.nomem) {
        free(o.p);
        bm_error_set(err, BM_ERR_NOMEM, "bm_model_to_json: out of memory");
        return NULL;
    }
    return o.p;
}

char *bm_model_to_json(bm_model *m, const bm_train_settings *settings, bm_error *err)
{
    return bm_model_to_json_version(m, settings, 0, err);
}

/* --------------------------------------------------------------- save */

bm_status bm_model_save(bm_model *m, const char *path, const bm_train_settings *settings,
                        bm_error *err)
{
    return bm_model_save_version(m, path, settings, 0, err);
}

bm_status bm_model_save_version(bm_model *m, const char *path,
                                const bm_train_settings *settings, int version, bm_error *err)
{
    bm_error e = {0};
    if (!path)
        return bm_error_set(err, BM_ERR_NULL, "bm_model_save: path is NULL");
    char *json = bm_model_to_json_version(m, settings, version, &e);
    if (!json) {
        if (err)
            *err = e;
        return e.code;
    }
    bm_status s = bm_file_write(path, json, strlen(json), err);
    free(json);
    return s;
}
