/* layer_util.c — helpers the layer kinds share (layer_util_internal.h). */
#include <math.h>
#include <stdio.h>

#include "bm_ops.h"
#include "layer_util_internal.h"

const char *const bm_layer_no_keys[] = {NULL};

const char *bm_layer_shape_text(const bm_shape *s, char *buf, size_t len)
{
    size_t pos = 0;
    if (len == 0)
        return buf;
    buf[0] = '\0';
    pos += (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < s->rank && pos < len; d++)
        pos += (size_t)snprintf(buf + pos, len - pos, d ? ",%zu" : "%zu", s->dim[d]);
    if (pos < len)
        snprintf(buf + pos, len - pos, "]");
    return buf;
}

size_t bm_layer_shape_size(const bm_shape *s)
{
    size_t n = 1;
    for (int d = 0; d < s->rank; d++)
        n *= s->dim[d];
    return n;
}

bm_status bm_layer_check_total(const char *kind, const bm_shape *s, bm_error *err)
{
    char buf[BM_LAYER_SHAPE_LEN];
    size_t n = 1;
    for (int d = 0; d < s->rank; d++) {
        if (s->dim[d] == 0 || s->dim[d] > BM_MAX_ELEMENTS / n)
            return bm_error_set(err, BM_ERR_SIZE, "%s: output %s is empty or holds more than "
                                "%zu values", kind, bm_layer_shape_text(s, buf, sizeof buf),
                                (size_t)BM_MAX_ELEMENTS);
        n *= s->dim[d];
    }
    return BM_OK;
}

bm_status bm_layer_same_shape(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                              bm_shape *out, bm_error *err)
{
    (void)s;
    (void)n_in;
    (void)err;
    *out = *in;
    return BM_OK;
}

size_t bm_layer_no_params(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                          bm_param_desc *out)
{
    (void)s;
    (void)in;
    (void)n_in;
    (void)out;
    return 0;
}

bm_status bm_layer_check_penalties(const char *kind, const bm_layer_spec *s, bm_error *err)
{
    enum { N_PENALTIES = 4 };
    const double r[N_PENALTIES] = {s->l1_weights, s->l2_weights, s->l1_biases, s->l2_biases};
    static const char *const names[N_PENALTIES] = {"l1_weights", "l2_weights", "l1_biases",
                                                   "l2_biases"};
    for (int k = 0; k < N_PENALTIES; k++)
        if (!(r[k] >= 0.0) || !isfinite(r[k]))
            return bm_error_set(err, BM_ERR_ARG, "%s: %s %g must be finite and >= 0", kind,
                                names[k], r[k]);
    return BM_OK;
}

bm_status bm_layer_check_size(const char *kind, const char *key, size_t v, size_t max,
                              bm_error *err)
{
    if (v == 0 || v > max)
        return bm_error_set(err, BM_ERR_SIZE, "%s: %s %zu is not in 1..%zu", kind, key, v, max);
    return BM_OK;
}

bm_status bm_layer_check_eps(const char *kind, double eps, bm_error *err)
{
    if (!(eps > 0.0) || !isfinite(eps))
        return bm_error_set(err, BM_ERR_ARG, "%s: eps %g must be finite and > 0", kind, eps);
    return BM_OK;
}

bm_status bm_layer_check_in(const char *kind, const bm_layer_spec *s, const bm_shape *in,
                            size_t found, const char *what, bm_error *err)
{
    char buf[BM_LAYER_SHAPE_LEN];
    if (s->in && s->in != found)
        return bm_error_set(err, BM_ERR_SHAPE, "%s: input %s has %zu %s, in says %zu", kind,
                            bm_layer_shape_text(in, buf, sizeof buf), found, what, s->in);
    return BM_OK;
}

void bm_layer_resolve_channels(bm_layer_spec *s, const bm_shape *in, size_t n_in)
{
    (void)n_in;
    s->in = in->rank ? in->dim[0] : 1;
}

void bm_layer_resolve_features(bm_layer_spec *s, const bm_shape *in, size_t n_in)
{
    (void)n_in;
    s->in = in->rank ? in->dim[in->rank - 1] : 1;
}

bm_tensor *bm_layer_reshape(bm_tape *tape, bm_tensor *x, const bm_shape *s)
{
    if (!x)
        return NULL;
    size_t shape[BM_MAX_RANK] = {x->shape[0]};
    for (int d = 0; d < s->rank; d++)
        shape[d + 1] = s->dim[d];
    return bm_reshape(tape, x, s->rank + 1, shape);
}
