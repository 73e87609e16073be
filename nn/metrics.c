/* metrics.c — accuracy, and the names of layers, initialisers and losses. */
#include <stdint.h>
#include <string.h>

#include "model_internal.h"

/* Room for the list of every kind's name in a message. */
/* Old names of layer kinds that model files may still use. */
static const struct {
    const char *name;
    bm_layer_kind kind;
} layer_aliases[] = {
    {.name = "linear", .kind = BM_LAYER_IDENTITY}, /* not the `linear` op (a dense product) */
};
static const char *const init_names[] = {"small", "glorot", "he"};
static const char *const loss_names[] = {
#define BM_LOSS(id, name, builder, classes, summary) #name,
#include "losses.def"
#undef BM_LOSS
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static int find_name(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

/* "a, b, c" list of names into buf, for error messages. */
static const char *list(const char *const *names, size_t n, char *buf, size_t len)
{
    size_t pos = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && pos < len; i++)
        pos += (size_t)snprintf(buf + pos, len - pos, i ? ", %s" : "%s", names[i]);
    return buf;
}

#define PARSE(what, names, out_type, s, out, err)                                          \
    do {                                                                                   \
        char buf_[160];                                                                    \
        int k_ = find_name(names, N_OF(names), s);                                         \
        if (k_ < 0)                                                                        \
            return bm_error_set(err, BM_ERR_ARG, "unknown " what " '%s' (expected one of %s)", \
                                s ? s : "(null)", list(names, N_OF(names), buf_, sizeof buf_)); \
        *(out) = (out_type)k_;                                                             \
        return BM_OK;                                                                      \
    } while (0)

const char *bm_layer_kind_name(bm_layer_kind k)
{
    const bm_layer_vt *vt = bm_layer_vtable((int)k);
    return vt ? vt->name : "unknown";
}

/* Longest name compared by edit_distance (a longer one matches nothing). */
#define EDIT_MAX_LEN 64

/* Levenshtein distance of a and b, SIZE_MAX when either is longer than
 * EDIT_MAX_LEN: for the "did you mean" of an unknown kind. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > EDIT_MAX_LEN || lb > EDIT_MAX_LEN)
        return SIZE_MAX;
    size_t row[EDIT_MAX_LEN + 1];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t sub = diag + (a[i - 1] != b[j - 1]);
            size_t del = up + 1, ins = row[j - 1] + 1;
            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            diag = up;
        }
    }
    return row[lb];
}

bm_status bm_layer_kind_parse(const char *s, bm_layer_kind *k, bm_error *err)
{
    for (size_t i = 0; s && k && i < N_OF(layer_aliases); i++)
        if (strcmp(layer_aliases[i].name, s) == 0) {
            *k = layer_aliases[i].kind;
            return BM_OK;
        }
    const char *closest = NULL;
    size_t best = SIZE_MAX;
    for (int i = 0; i < BM_LAYER_KIND_COUNT; i++) {
        const char *name = bm_layer_vtable(i)->name;
        if (s && k && strcmp(name, s) == 0) {
            *k = (bm_layer_kind)i;
            return BM_OK;
        }
        size_t d = s ? edit_distance(s, name) : SIZE_MAX;
        if (d < best) {
            best = d;
            closest = name;
        }
    }
    /* The kinds outgrow an error message: name the closest, point to the list. */
    if (closest && best <= strlen(s) / 2 + 1)
        return bm_error_set(err, BM_ERR_ARG, "unknown layer type '%s' (did you mean '%s'? "
                            "`bmnn layers` lists the %d kinds)", s, closest,
                            (int)BM_LAYER_KIND_COUNT);
    return bm_error_set(err, BM_ERR_ARG, "unknown layer type '%s' (`bmnn layers` lists the %d "
                        "kinds: dense, conv2d, lstm, transformer, ...)", s ? s : "(null)",
                        (int)BM_LAYER_KIND_COUNT);
}

const char *bm_init_name(bm_init i)
{
    return (size_t)i < N_OF(init_names) ? init_names[i] : "unknown";
}

bm_status bm_init_parse(const char *s, bm_init *i, bm_error *err)
{
    PARSE("initialiser", init_names, bm_init, s, i, err);
}

const char *bm_loss_name(bm_loss_kind k)
{
    return (size_t)k < N_OF(loss_names) ? loss_names[k] : "unknown";
}

bm_status bm_loss_parse(const char *s, bm_loss_kind *k, bm_error *err)
{
    PARSE("loss", loss_names, bm_loss_kind, s, k, err);
}

/* Index of the largest of n values at row r. */
static size_t argmax_row(const bm_tensor *t, size_t r, size_t n)
{
    size_t best = 0;
    double bv = bm_tensor_get(t, r * n);
    for (size_t j = 1; j < n; j++) {
        double v = bm_tensor_get(t, r * n + j);
        if (v > bv) {
            bv = v;
            best = j;
        }
    }
    return best;
}

double bm_tensor_std(const bm_tensor *t)
{
    double mean = 0.0, sq = 0.0;
    for (size_t i = 0; i < t->size; i++)
        mean += bm_tensor_get(t, i);
    mean /= (double)t->size;
    for (size_t i = 0; i < t->size; i++) {
        double d = bm_tensor_get(t, i) - mean;
        sq += d * d;
    }
    return sqrt(sq / (double)t->size);
}

double bm_accuracy(bm_loss_kind loss, const bm_tensor *pred, const bm_tensor *y,
                   double tolerance)
{
    if (!pred || !y || pred->rank < 1 || pred->size == 0)
        return NAN;
    size_t N = pred->shape[0], C = pred->size / N, hits = 0;
    if (loss == BM_LOSS_CCE || loss == BM_LOSS_SOFTMAX_CCE) {
        int onehot = y->rank == 2;
        for (size_t r = 0; r < N; r++) {
            size_t want = onehot ? argmax_row(y, r, C) : (size_t)bm_tensor_get(y, r);
            hits += argmax_row(pred, r, C) == want;
        }
        return (double)hits / (double)N;
    }
    if (y->size != pred->size)
        return NAN;
    if (loss == BM_LOSS_BCE) {
        for (size_t i = 0; i < pred->size; i++)
            hits += (bm_tensor_get(pred, i) > BM_BINARY_THRESHOLD) == (bm_tensor_get(y, i) > BM_BINARY_THRESHOLD);
        return (double)hits / (double)pred->size;
    }
    double tol = tolerance > 0.0 ? tolerance : bm_tensor_std(y) / BM_REGRESSION_PRECISION_DIV;
    for (size_t i = 0; i < pred->size; i++)
        hits += fabs(bm_tensor_get(pred, i) - bm_tensor_get(y, i)) < tol;
    return (double)hits / (double)pred->size;
}
