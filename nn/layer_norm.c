/* layer_norm.c — normalisation kinds: batch_norm (per channel of [C],
 * [C,L] or [C,H,W]), layer_norm and rms_norm (over the last axis),
 * group_norm (over groups of channels and the spatial axes).
 *
 * Parameters, in this order where they exist: weights [C] (ones; with
 * affine), biases [C] (zeros; with affine and bias; rms_norm has none),
 * and for batch_norm the state running_mean [C] (zeros) and running_var
 * [C] (ones), as torch.nn.BatchNorm1d/2d. batch_norm in training
 * normalises with the batch's statistics and updates the running ones
 * (momentum 0.1, unbiased variance); in evaluation it uses the running
 * ones. eps is 1e-5 for all four (torch's for batch and layer norm;
 * torch.nn.RMSNorm's default is the dtype's machine epsilon instead). */
#include "bm_ops.h"
#include "layer_util_internal.h"

/* torch's defaults. */
#define NORM_EPS 1e-5
#define BATCH_NORM_MOMENTUM 0.1

static void norm_defaults(bm_layer_spec *s)
{
    s->eps = NORM_EPS;
    s->momentum = BATCH_NORM_MOMENTUM;
    s->affine = 1;
    s->bias = 1;
}

/* weights and biases [C] as affine/bias say (with_bias 0: never biases),
 * from p[0]; returns how many. */
static size_t affine_params(const bm_layer_spec *s, size_t C, int with_bias, bm_param_desc *p)
{
    size_t n = 0;
    if (!s->affine)
        return 0;
    p[n++] = (bm_param_desc){.name = "weights", .rank = 1, .shape = {C},
                             .init = BM_PINIT_ONES, .role = BM_ROLE_WEIGHT};
    if (with_bias && s->bias)
        p[n++] = (bm_param_desc){.name = "biases", .rank = 1, .shape = {C},
                                 .init = BM_PINIT_ZEROS, .role = BM_ROLE_BIAS};
    return n;
}

/* The affine parameters of a call (NULL where absent). */
static void affine_of(const bm_layer_call *c, int with_bias, bm_tensor **w, bm_tensor **b)
{
    const bm_layer_spec *s = c->spec;
    *w = s->affine && c->n_params > 0 ? c->params[0] : NULL;
    *b = s->affine && with_bias && s->bias && c->n_params > 1 ? c->params[1] : NULL;
}

/* ---------------------------------------------------------------- batch_norm */

static const char *const batch_norm_keys[] = {"in", "eps", "momentum", "affine", "bias", NULL};

static bm_status batch_norm_check(const bm_layer_spec *s, bm_error *err)
{
    if (!(s->momentum >= 0.0 && s->momentum <= 1.0))
        return bm_error_set(err, BM_ERR_ARG, "batch_norm: momentum %g must be in [0, 1]",
                            s->momentum);
    return bm_layer_check_eps("batch_norm", s->eps, err);
}

/* [C], [C,L] or [C,H,W], kept. */
static bm_status batch_norm_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                                  bm_shape *out, bm_error *err)
{
    (void)n_in;
    char buf[BM_LAYER_SHAPE_LEN];
    if (in->rank < 1 || in->rank > 3)
        return bm_error_set(err, BM_ERR_SHAPE, "batch_norm: input %s must be [C], [C,L] or "
                            "[C,H,W]", bm_layer_shape_text(in, buf, sizeof buf));
    *out = *in;
    return bm_layer_check_in("batch_norm", s, in, in->dim[0], "channels", err);
}

static size_t batch_norm_params(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                                bm_param_desc *p)
{
    (void)n_in;
    size_t C = in->dim[0], n = affine_params(s, C, 1, p);
    p[n++] = (bm_param_desc){.name = "running_mean", .rank = 1, .shape = {C},
                             .init = BM_PINIT_ZEROS, .role = BM_ROLE_STATE};
    p[n++] = (bm_param_desc){.name = "running_var", .rank = 1, .shape = {C},
                             .init = BM_PINIT_ONES, .role = BM_ROLE_STATE};
    return n;
}

static bm_tensor *batch_norm_record(bm_tape *tape, const bm_layer_call *c)
{
    const bm_layer_spec *s = c->spec;
    bm_tensor *w, *b;
    affine_of(c, 1, &w, &b);
    if (c->n_params < 2) {
        bm_tape_fail(tape, BM_ERR_ARG, "batch_norm: %zu parameters, needs the running "
                     "statistics", c->n_params);
        return NULL;
    }
    return bm_batch_norm(tape, c->in[0], c->params[c->n_params - 2], c->params[c->n_params - 1],
                         w, b, c->training, s->momentum, s->eps);
}

const bm_layer_vt bm_layer_vt_batch_norm = {
    .name = "batch_norm",
    .summary = "per-channel normalisation of [C], [C,L], [C,H,W] (torch.nn.BatchNorm1d/2d): "
               "batch statistics in training, running ones in evaluation",
    .min_inputs = 1, .max_inputs = 1, .keys = batch_norm_keys, .defaults = norm_defaults,
    .check = batch_norm_check, .infer = batch_norm_infer, .params = batch_norm_params,
    .record = batch_norm_record, .resolve = bm_layer_resolve_channels,
};

/* ---------------------------------------------------------------- layer_norm, rms_norm */

static const char *const layer_norm_keys[] = {"in", "eps", "affine", "bias", NULL};
static const char *const rms_norm_keys[] = {"in", "eps", "affine", NULL};

static bm_status layer_norm_check(const bm_layer_spec *s, bm_error *err)
{
    return bm_layer_check_eps("layer_norm", s->eps, err);
}

static bm_status rms_norm_check(const bm_layer_spec *s, bm_error *err)
{
    return bm_layer_check_eps("rms_norm", s->eps, err);
}

/* [.., C], kept; `in` is C. */
static bm_status last_axis_infer(const char *kind, const bm_layer_spec *s, const bm_shape *in,
                                 bm_shape *out, bm_error *err)
{
    char buf[BM_LAYER_SHAPE_LEN];
    if (in->rank < 1)
        return bm_error_set(err, BM_ERR_SHAPE, "%s: input %s needs an axis to normalise", kind,
                            bm_layer_shape_text(in, buf, sizeof buf));
    *out = *in;
    return bm_layer_check_in(kind, s, in, in->dim[in->rank - 1], "features", err);
}

static bm_status layer_norm_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                                  bm_shape *out, bm_error *err)
{
    (void)n_in;
    return last_axis_infer("layer_norm", s, in, out, err);
}

static bm_status rms_norm_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                                bm_shape *out, bm_error *err)
{
    (void)n_in;
    return last_axis_infer("rms_norm", s, in, out, err);
}

static size_t layer_norm_params(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                                bm_param_desc *p)
{
    (void)n_in;
    return affine_params(s, in->dim[in->rank - 1], 1, p);
}

static size_t rms_norm_params(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                              bm_param_desc *p)
{
    (void)n_in;
    return affine_params(s, in->dim[in->rank - 1], 0, p);
}

static bm_tensor *layer_norm_record(bm_tape *tape, const bm_layer_call *c)
{
    bm_tensor *w, *b;
    affine_of(c, 1, &w, &b);
    return bm_layer_norm(tape, c->in[0], w, b, c->spec->eps);
}

static bm_tensor *rms_norm_record(bm_tape *tape, const bm_layer_call *c)
{
    bm_tensor *w, *b;
    affine_of(c, 0, &w, &b);
    return bm_rms_norm(tape, c->in[0], w, c->spec->eps);
}

const bm_layer_vt bm_layer_vt_layer_norm = {
    .name = "layer_norm",
    .summary = "(x − mean)/√(var + eps)·w + b over the last axis (torch.nn.LayerNorm)",
    .min_inputs = 1, .max_inputs = 1, .keys = layer_norm_keys, .defaults = norm_defaults,
    .check = layer_norm_check, .infer = layer_norm_infer, .params = layer_norm_params,
    .record = layer_norm_record, .resolve = bm_layer_resolve_features,
};

const bm_layer_vt bm_layer_vt_rms_norm = {
    .name = "rms_norm",
    .summary = "x/√(mean(x²) + eps)·w over the last axis (torch.nn.RMSNorm, eps 1e-5)",
    .min_inputs = 1, .max_inputs = 1, .keys = rms_norm_keys, .defaults = norm_defaults,
    .check = rms_norm_check, .infer = rms_norm_infer, .params = rms_norm_params,
    .record = rms_norm_record, .resolve = bm_layer_resolve_features,
};

/* ---------------------------------------------------------------- group_norm */

static const char *const group_norm_keys[] = {"in", "groups", "eps", "affine", "bias", NULL};

static bm_status group_norm_check(const bm_layer_spec *s, bm_error *err)
{
    bm_status st = bm_layer_check_size("group_norm", "groups", s->groups, BM_MAX_ELEMENTS, err);
    return st == BM_OK ? bm_layer_check_eps("group_norm", s->eps, err) : st;
}

/* [C, ...], kept; groups divides C. */
static bm_status group_norm_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                                  bm_shape *out, bm_error *err)
{
    (void)n_in;
    char buf[BM_LAYER_SHAPE_LEN];
    if (in->rank < 1)
        return bm_error_set(err, BM_ERR_SHAPE, "group_norm: input %s must be [C, ...]",
                            bm_layer_shape_text(in, buf, sizeof buf));
    if (in->dim[0] % s->groups)
        return bm_error_set(err, BM_ERR_SHAPE, "group_norm: input %s: %zu channels are not "
                            "divisible by groups %zu", bm_layer_shape_text(in, buf, sizeof buf),
                            in->dim[0], s->groups);
    *out = *in;
    return bm_layer_check_in("group_norm", s, in, in->dim[0], "channels", err);
}

static size_t group_norm_params(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                                bm_param_desc *p)
{
    (void)n_in;
    return affine_params(s, in->dim[0], 1, p);
}

static bm_tensor *group_norm_record(bm_tape *tape, const bm_layer_call *c)
{
    bm_tensor *w, *b;
    affine_of(c, 1, &w, &b);
    return bm_group_norm(tape, c->in[0], c->spec->groups, w, b, c->spec->eps);
}

const bm_layer_vt bm_layer_vt_group_norm = {
    .name = "group_norm",
    .summary = "normalisation over groups of C/groups channels and the other axes of [C, ...] "
               "(torch.nn.GroupNorm); weights, biases [C]",
    .min_inputs = 1, .max_inputs = 1, .keys = group_norm_keys, .defaults = norm_defaults,
    .check = group_norm_check, .infer = group_norm_infer, .params = group_norm_params,
    .record = group_norm_record, .resolve = bm_layer_resolve_channels,
};
