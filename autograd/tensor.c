/* tensor.c — caller-owned tensors: creation, element access, printing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bm_autograd.h"

/* Room for a shape "[a,b,c,d]" in a message. */
enum { BM_SHAPE_STR_LEN = 96 };

size_t bm_dtype_size(bm_dtype dt) { return dt == BM_F64 ? sizeof(double) : sizeof(float); }

const char *bm_dtype_name(bm_dtype dt) { return dt == BM_F64 ? "f64" : "f32"; }

bm_status bm_shape_check(int rank, const size_t *shape, size_t *size, bm_error *err)
{
    if (rank < 0 || rank > BM_MAX_RANK)
        return bm_error_set(err, BM_ERR_RANK, "rank %d is outside 0..%d", rank, BM_MAX_RANK);
    if (rank > 0 && !shape)
        return bm_error_set(err, BM_ERR_NULL, "shape is NULL for rank %d", rank);
    size_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] == 0)
            return bm_error_set(err, BM_ERR_SIZE, "dimension %d is 0", i);
        if (shape[i] > BM_MAX_ELEMENTS || n > BM_MAX_ELEMENTS / shape[i])
            return bm_error_set(err, BM_ERR_SIZE,
                                "shape overflows: more than %zu elements at dimension %d",
                                (size_t)BM_MAX_ELEMENTS, i);
        n *= shape[i];
    }
    if (size)
        *size = n;
    return BM_OK;
}

char *bm_shape_str(const bm_tensor *t, char *buf, size_t len)
{
    if (!buf || len == 0)
        return buf;
    if (!t) {
        snprintf(buf, len, "(null)");
        return buf;
    }
    size_t pos = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < t->rank && pos < len; i++)
        pos += (size_t)snprintf(buf + pos, len - pos, i ? ",%zu" : "%zu", t->shape[i]);
    if (pos < len)
        snprintf(buf + pos, len - pos, "]");
    return buf;
}

static void set_shape(bm_tensor *t, bm_dtype dt, int rank, const size_t *shape, size_t size)
{
    t->dtype = dt;
    t->rank = rank;
    for (int i = 0; i < BM_MAX_RANK; i++)
        t->shape[i] = i < rank ? shape[i] : 1;
    t->size = size;
}

static bm_tensor *alloc_tensor(bm_dtype dt, int rank, const size_t *shape, int with_data,
                               bm_error *err)
{
    size_t n;
    if (dt != BM_F32 && dt != BM_F64) {
        bm_error_set(err, BM_ERR_DTYPE, "unknown dtype %d", (int)dt);
        return NULL;
    }
    if (bm_shape_check(rank, shape, &n, err) != BM_OK)
        return NULL;
    bm_tensor *t = calloc(1, sizeof *t);
    if (!t) {
        bm_error_set(err, BM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    set_shape(t, dt, rank, shape, n);
    if (with_data) {
        t->data = calloc(n, bm_dtype_size(dt));
        if (!t->data) {
            free(t);
            bm_error_set(err, BM_ERR_NOMEM, "out of memory allocating %zu elements", n);
            return NULL;
        }
        t->flags |= BM_OWNS_DATA;
    }
    return t;
}

bm_tensor *bm_tensor_new(bm_dtype dt, int rank, const size_t *shape, bm_error *err)
{
    return alloc_tensor(dt, rank, shape, 1, err);
}

bm_tensor *bm_tensor_from(bm_dtype dt, int rank, const size_t *shape, const void *src,
                          bm_error *err)
{
    if (!src) {
        bm_error_set(err, BM_ERR_NULL, "bm_tensor_from: source array is NULL");
        return NULL;
    }
    bm_tensor *t = alloc_tensor(dt, rank, shape, 1, err);
    if (t)
        memcpy(t->data, src, t->size * bm_dtype_size(dt));
    return t;
}

bm_tensor *bm_tensor_full(bm_dtype dt, int rank, const size_t *shape, double value,
                          bm_error *err)
{
    bm_tensor *t = alloc_tensor(dt, rank, shape, 1, err);
    if (t && value != 0.0)
        for (size_t i = 0; i < t->size; i++)
            bm_tensor_set(t, i, value);
    return t;
}

bm_tensor *bm_tensor_arange(bm_dtype dt, size_t n, double start, double step, bm_error *err)
{
    bm_tensor *t = alloc_tensor(dt, 1, &n, 1, err);
    if (t)
        for (size_t i = 0; i < n; i++)
            bm_tensor_set(t, i, start + step * (double)i);
    return t;
}

bm_tensor *bm_tensor_randn(bm_dtype dt, int rank, const size_t *shape, double mean,
                           double std, bm_rng *rng, bm_error *err)
{
    if (!rng) {
        bm_error_set(err, BM_ERR_NULL, "bm_tensor_randn: rng is NULL");
        return NULL;
    }
    bm_tensor *t = alloc_tensor(dt, rank, shape, 1, err);
    if (t)
        for (size_t i = 0; i < t->size; i++)
            bm_tensor_set(t, i, mean + std * bm_rng_normal(rng));
    return t;
}

bm_tensor *bm_tensor_rand(bm_dtype dt, int rank, const size_t *shape, double lo, double hi,
                          bm_rng *rng, bm_error *err)
{
    if (!rng) {
        bm_error_set(err, BM_ERR_NULL, "bm_tensor_rand: rng is NULL");
        return NULL;
    }
    bm_tensor *t = alloc_tensor(dt, rank, shape, 1, err);
    if (t)
        for (size_t i = 0; i < t->size; i++)
            bm_tensor_set(t, i, lo + (hi - lo) * bm_rng_uniform(rng));
    return t;
}

bm_tensor *bm_tensor_view(bm_dtype dt, int rank, const size_t *shape, void *data, void *grad,
                          bm_error *err)
{
    if (!data) {
        bm_error_set(err, BM_ERR_NULL, "bm_tensor_view: data is NULL");
        return NULL;
    }
    bm_tensor *t = alloc_tensor(dt, rank, shape, 0, err);
    if (t) {
        t->data = data;
        t->grad = grad;
        if (grad)
            t->flags |= BM_REQUIRES_GRAD;
    }
    return t;
}

bm_tensor *bm_tensor_copy(const bm_tensor *t, bm_error *err)
{
    if (!t) {
        bm_error_set(err, BM_ERR_NULL, "bm_tensor_copy: tensor is NULL");
        return NULL;
    }
    return bm_tensor_from(t->dtype, t->rank, t->shape, t->data, err);
}

void bm_tensor_free(bm_tensor *t)
{
    if (!t || (t->flags & BM_ON_TAPE))
        return;
    if (t->flags & BM_OWNS_DATA)
        free(t->data);
    if (t->flags & BM_OWNS_GRAD)
        free(t->grad);
    free(t);
}

bm_status bm_tensor_set_requires_grad(bm_tensor *t, int on, bm_error *err)
{
    if (!t)
        return bm_error_set(err, BM_ERR_NULL, "bm_tensor_set_requires_grad: tensor is NULL");
    if (!on) {
        t->flags &= ~(unsigned)BM_REQUIRES_GRAD;
        return BM_OK;
    }
    if (!t->grad) {
        if (t->flags & BM_ON_TAPE)
            return bm_error_set(err, BM_ERR_STATE,
                                "bm_tensor_set_requires_grad: tape tensors take "
                                "BM_REQUIRES_GRAD when created (bm_tape_leaf)");
        t->grad = calloc(t->size, bm_dtype_size(t->dtype));
        if (!t->grad)
            return bm_error_set(err, BM_ERR_NOMEM, "out of memory for a gradient");
        t->flags |= BM_OWNS_GRAD;
    }
    t->flags |= BM_REQUIRES_GRAD;
    return BM_OK;
}

bm_status bm_tensor_mark_param(bm_tensor *t, const char *name, bm_error *err)
{
    static const char fn[] = "bm_tensor_mark_param";
    if (!t)
        return bm_error_set(err, BM_ERR_NULL, "%s: tensor is NULL", fn);
    char s[BM_SHAPE_STR_LEN];
    if (t->node)
        return bm_error_set(err, BM_ERR_ARG, "%s: %s is an op's output, not a leaf", fn,
                            bm_shape_str(t, s, sizeof s));
    if (!t->grad && (t->flags & BM_ON_TAPE))
        return bm_error_set(err, BM_ERR_STATE,
                            "%s: tape leaf %s was made without BM_REQUIRES_GRAD (bm_tape_leaf)",
                            fn, bm_shape_str(t, s, sizeof s));
    if (!t->grad) {
        t->grad = calloc(t->size, bm_dtype_size(t->dtype));
        if (!t->grad)
            return bm_error_set(err, BM_ERR_NOMEM, "%s: out of memory for a gradient", fn);
        t->flags |= BM_OWNS_GRAD;
    }
    t->flags |= BM_PARAM | BM_REQUIRES_GRAD;
    if (name)
        t->name = name;
    return BM_OK;
}

void bm_tensor_zero_grad(bm_tensor *t)
{
    if (t && t->grad)
        memset(t->grad, 0, t->size * bm_dtype_size(t->dtype));
}

double bm_tensor_get(const bm_tensor *t, size_t i)
{
    if (!t || !t->data || i >= t->size)
        return NAN;
    return t->dtype == BM_F64 ? ((const double *)t->data)[i] : (double)((const float *)t->data)[i];
}

void bm_tensor_set(bm_tensor *t, size_t i, double v)
{
    if (!t || !t->data || i >= t->size)
        return;
    if (t->dtype == BM_F64)
        ((double *)t->data)[i] = v;
    else
        ((float *)t->data)[i] = (float)v;
}

double bm_tensor_grad_get(const bm_tensor *t, size_t i)
{
    if (!t || i >= t->size)
        return NAN;
    if (!t->grad)
        return 0.0;
    return t->dtype == BM_F64 ? ((const double *)t->grad)[i] : (double)((const float *)t->grad)[i];
}

bm_status bm_tensor_load(bm_tensor *t, const double *v, size_t n, bm_error *err)
{
    if (!t || !v)
        return bm_error_set(err, BM_ERR_NULL, "bm_tensor_load: NULL argument");
    if (n != t->size)
        return bm_error_set(err, BM_ERR_SIZE, "bm_tensor_load: %zu values for %zu elements", n,
                            t->size);
    for (size_t i = 0; i < n; i++)
        bm_tensor_set(t, i, v[i]);
    return BM_OK;
}

int bm_tensor_same_shape(const bm_tensor *a, const bm_tensor *b)
{
    if (!a || !b || a->rank != b->rank || a->dtype != b->dtype)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] != b->shape[i])
            return 0;
    return 1;
}

bm_print_opts bm_print_defaults(void)
{
    return (bm_print_opts){.threshold = BM_PRINT_THRESHOLD, .edgeitems = BM_PRINT_EDGEITEMS,
                           .precision = BM_PRINT_PRECISION};
}

/* Separator before item i of dimension d: ", " along the last axis, else ",\n" and the
 * indentation of the next row. */
static void print_sep(const bm_tensor *t, FILE *f, int d, int indent)
{
    if (d == t->rank - 1) {
        fputs(", ", f);
        return;
    }
    fputs(",\n", f);
    for (int k = 0; k < indent + 1; k++)
        fputc(' ', f);
}

/* Print dimension d starting at flat offset off, NumPy-style; edge > 0: only the first
 * and last `edge` items of a longer axis, with "..." between. */
static void print_dim(const bm_tensor *t, FILE *f, int d, size_t off, int indent, size_t edge,
                      int precision)
{
    if (d >= t->rank || d >= BM_MAX_RANK) {
        fprintf(f, "%.*g", precision, bm_tensor_get(t, off));
        return;
    }
    size_t stride = 1, n = t->shape[d];
    for (int k = d + 1; k < t->rank && k < BM_MAX_RANK; k++)
        stride *= t->shape[k];
    int cut = edge > 0 && n > 2 * edge;
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        if (cut && i == edge) { /* skip to the last `edge` items */
            print_sep(t, f, d, indent);
            fputs("...", f);
            i = n - edge;
        }
        if (i)
            print_sep(t, f, d, indent);
        print_dim(t, f, d + 1, off + i * stride, indent + 1, edge, precision);
    }
    fputc(']', f);
}

void bm_tensor_print_opts(const bm_tensor *t, FILE *f, const bm_print_opts *opts)
{
    char shp[64];
    bm_print_opts o = opts ? *opts : bm_print_defaults();
    if (!f)
        return;
    if (!t) {
        fputs("tensor(NULL)\n", f);
        return;
    }
    size_t edge = t->size > o.threshold ? (o.edgeitems ? o.edgeitems : 1) : 0;
    int precision = o.precision > 0 ? o.precision : BM_PRINT_PRECISION;
    fputs("tensor(", f);
    print_dim(t, f, 0, 0, 7, edge, precision);
    fprintf(f, ", shape=%s, dtype=%s)\n", bm_shape_str(t, shp, sizeof shp),
            bm_dtype_name(t->dtype));
}

void bm_tensor_print(const bm_tensor *t, FILE *f) { bm_tensor_print_opts(t, f, NULL); }
