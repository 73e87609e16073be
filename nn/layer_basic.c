/* layer_basic.c — the first release's layer kinds as vtables: dense, the
 * activations of the walk-through, identity and dropout. */
#include <math.h>
#include <string.h>

#include "bm_model.h"
#include "bm_ops.h"

/* ---------------------------------------------------------------- shared */

/* Kinds that keep their input's shape (activations, dropout, identity). */
static bm_status same_shape(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                            bm_shape *out, bm_error *err)
{
    (void)s;
    (void)n_in;
    (void)err;
    *out = *in;
    return BM_OK;
}

static size_t no_params(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                        bm_param_desc *out)
{
    (void)s;
    (void)in;
    (void)n_in;
    (void)out;
    return 0;
}

static const char *const no_keys[] = {NULL};

#define UNARY_KIND(id, op, text)                                                         \
    static bm_tensor *record_##id(bm_tape *tape, const bm_layer_call *c)                 \
    {                                                                                    \
        return op(tape, c->in[0]);                                                       \
    }                                                                                    \
    const bm_layer_vt bm_layer_vt_##id = {                                               \
        .name = #id, .summary = text, .min_inputs = 1, .max_inputs = 1, .keys = no_keys, \
        .infer = same_shape, .params = no_params, .record = record_##id,                 \
    };

UNARY_KIND(relu, bm_relu, "max(x, 0)")
UNARY_KIND(sigmoid, bm_sigmoid, "1 / (1 + e^-x)")
UNARY_KIND(tanh, bm_tanh, "tanh x")

/* ---------------------------------------------------------------- dense */

static const char *const dense_keys[] = {"in", "out", "init", "l1_weights", "l2_weights",
                                         "l1_biases", "l2_biases", NULL};

static bm_status dense_check(const bm_layer_spec *s, bm_error *err)
{
    if (s->out > BM_MAX_ELEMENTS) /* 0 is refused by infer, which knows the width */
        return bm_error_set(err, BM_ERR_SIZE, "dense: out %zu is not in 1..%zu", s->out,
                            (size_t)BM_MAX_ELEMENTS);
    if (s->init > BM_INIT_HE)
        return bm_error_set(err, BM_ERR_ARG, "dense: unknown initialiser %d", (int)s->init);
    const double r[4] = {s->l1_weights, s->l2_weights, s->l1_biases, s->l2_biases};
    static const char *const names[4] = {"l1_weights", "l2_weights", "l1_biases", "l2_biases"};
    for (int k = 0; k < 4; k++)
        if (!(r[k] >= 0.0) || !isfinite(r[k]))
            return bm_error_set(err, BM_ERR_ARG, "%s: %g must be finite and >= 0", names[k],
                                r[k]);
    return BM_OK;
}

/* Dense acts on the last axis (torch.nn.Linear): [.., in] -> [.., out]. */
static bm_status dense_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                             bm_shape *out, bm_error *err)
{
    (void)n_in;
    size_t width = in->rank ? in->dim[in->rank - 1] : 1;
    if (s->in && s->in != width)
        return bm_error_set(err, BM_ERR_SHAPE,
                            "dense input %zu does not match the width %zu before it", s->in,
                            width);
    if (s->out == 0 || s->out > BM_MAX_ELEMENTS / width)
        return bm_error_set(err, BM_ERR_SIZE, "dense size %zux%zu is invalid", width, s->out);
    size_t rows = 1;
    for (int d = 0; d + 1 < in->rank; d++)
        rows *= in->dim[d];
    if (s->out > BM_MAX_ELEMENTS / rows)
        return bm_error_set(err, BM_ERR_SIZE, "dense: %zu rows of %zu outputs are too many",
                            rows, s->out);
    *out = *in;
    if (out->rank == 0)
        out->rank = 1;
    out->dim[out->rank - 1] = s->out;
    return BM_OK;
}

static size_t dense_params(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                           bm_param_desc *p)
{
    (void)n_in;
    size_t width = in->rank ? in->dim[in->rank - 1] : 1;
    memset(p, 0, 2 * sizeof *p);
    p[0] = (bm_param_desc){.name = "weights", .rank = 2, .shape = {width, s->out},
                           .init = BM_PINIT_SPEC, .fan_in = width, .fan_out = s->out,
                           .role = BM_ROLE_WEIGHT};
    p[1] = (bm_param_desc){.name = "biases", .rank = 2, .shape = {1, s->out},
                           .init = BM_PINIT_ZEROS, .role = BM_ROLE_BIAS};
    return 2;
}

static void dense_resolve(bm_layer_spec *s, const bm_shape *in, size_t n_in)
{
    (void)n_in;
    s->in = in->rank ? in->dim[in->rank - 1] : 1;
}

static bm_tensor *dense_record(bm_tape *tape, const bm_layer_call *c)
{
    bm_tensor *x = c->in[0];
    if (!x || x->rank <= 2)
        return bm_linear(tape, x, c->params[0], c->params[1]);
    /* [B, .., in]: the product over all leading rows, then the shape back */
    size_t width = x->shape[x->rank - 1], rows = x->size / width;
    size_t flat[2] = {rows, width}, shape[BM_MAX_RANK];
    memcpy(shape, x->shape, sizeof shape);
    shape[x->rank - 1] = c->params[0]->shape[1];
    bm_tensor *y = bm_linear(tape, bm_reshape(tape, x, 2, flat), c->params[0], c->params[1]);
    return bm_reshape(tape, y, x->rank, shape);
}

const bm_layer_vt bm_layer_vt_dense = {
    .name = "dense",
    .summary = "x·W + b over the last axis (torch.nn.Linear); W [in,out], b [1,out]",
    .min_inputs = 1,
    .max_inputs = 1,
    .keys = dense_keys,
    .check = dense_check,
    .infer = dense_infer,
    .params = dense_params,
    .record = dense_record,
    .resolve = dense_resolve,
};

/* ---------------------------------------------------------------- softmax, identity */

static bm_tensor *softmax_record(bm_tape *tape, const bm_layer_call *c)
{
    /* The fused loss takes logits: it applies the final softmax itself. */
    return c->feeds_fused_loss ? c->in[0] : bm_softmax(tape, c->in[0]);
}

const bm_layer_vt bm_layer_vt_softmax = {
    .name = "softmax", .summary = "softmax over the last axis", .min_inputs = 1,
    .max_inputs = 1, .keys = no_keys, .infer = same_shape, .params = no_params,
    .record = softmax_record,
};

static bm_tensor *identity_record(bm_tape *tape, const bm_layer_call *c)
{
    (void)tape;
    return c->in[0];
}

const bm_layer_vt bm_layer_vt_identity = {
    .name = "identity", .summary = "passes its input on (model files also take \"linear\")",
    .min_inputs = 1, .max_inputs = 1, .keys = no_keys, .infer = same_shape,
    .params = no_params, .record = identity_record,
};

/* ---------------------------------------------------------------- dropout */

static const char *const dropout_keys[] = {"rate", NULL};

static bm_status dropout_check(const bm_layer_spec *s, bm_error *err)
{
    if (!(s->rate >= 0.0 && s->rate < 1.0))
        return bm_error_set(err, BM_ERR_ARG, "rate: %g must be in [0, 1)", s->rate);
    return BM_OK;
}

static bm_tensor *dropout_record(bm_tape *tape, const bm_layer_call *c)
{
    const bm_layer_spec *s = c->spec;
    return c->training && s->rate > 0.0 ? bm_dropout(tape, c->in[0], s->rate, c->rng)
                                        : c->in[0];
}

const bm_layer_vt bm_layer_vt_dropout = {
    .name = "dropout", .summary = "zeroes a fraction `rate` of its inputs in training, "
                                  "scaling the rest by 1/(1-rate) (inverted dropout)",
    .min_inputs = 1, .max_inputs = 1, .keys = dropout_keys, .check = dropout_check,
    .infer = same_shape, .params = no_params, .record = dropout_record,
};
