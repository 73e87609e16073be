/* layer_conv.c — convolution kinds: conv1d on [C,L], conv2d and
 * conv_transpose2d on [C,H,W], torch.nn.Conv1d/Conv2d/ConvTranspose2d's
 * geometry, layout and initialisation.
 *
 * Weights [out, in/groups, k] (conv1d) or [out, in/groups, kh, kw]
 * (conv2d) and biases [out], both drawn from U(±1/√fan_in) with fan_in =
 * in/groups·kh·kw, torch's default (kaiming_uniform with a = √5 for the
 * weights gives this bound too); conv_transpose2d's weights are [in,
 * out/groups, kh, kw] and its fan_in is out/groups·kh·kw, as torch counts
 * it. The kinds take no `init` key: a model
 * file's `init` is dense's. 1-D kinds use entry 0 of kernel, stride,
 * padding and dilation. */
#include "bm_ops.h"
#include "layer_util_internal.h"

/* Largest stride, padding or dilation taken (beyond any tensor's size). */
#define CONV_MAX_GEOMETRY BM_MAX_ELEMENTS

static const char *const conv_keys[] = {"in", "out", "kernel", "stride", "padding",
                                        "dilation", "groups", "bias", "l1_weights",
                                        "l2_weights", "l1_biases", "l2_biases", NULL};

static void conv_defaults(bm_layer_spec *s)
{
    s->stride[0] = s->stride[1] = 1;
    s->dilation[0] = s->dilation[1] = 1;
    s->groups = 1;
    s->bias = 1;
}

/* The spec of a conv with `axes` spatial axes (1 or 2). */
static bm_status conv_check(const char *kind, int axes, const bm_layer_spec *s, bm_error *err)
{
    bm_status st = bm_layer_check_size(kind, "out", s->out, BM_MAX_ELEMENTS, err);
    if (st == BM_OK)
        st = bm_layer_check_size(kind, "groups", s->groups, BM_MAX_ELEMENTS, err);
    for (int a = 0; st == BM_OK && a < axes; a++) {
        if (!s->kernel[a] || s->kernel[a] > CONV_MAX_GEOMETRY || !s->stride[a] ||
            s->stride[a] > CONV_MAX_GEOMETRY || !s->dilation[a] ||
            s->dilation[a] > CONV_MAX_GEOMETRY || s->padding[a] > CONV_MAX_GEOMETRY)
            st = bm_error_set(err, BM_ERR_ARG,
                              "%s: kernel %zu, stride %zu, dilation %zu must be in 1..%zu and "
                              "padding %zu in 0..%zu (axis %d)",
                              kind, s->kernel[a], s->stride[a], s->dilation[a],
                              (size_t)CONV_MAX_GEOMETRY, s->padding[a],
                              (size_t)CONV_MAX_GEOMETRY, a);
    }
    if (st == BM_OK && s->out % s->groups)
        st = bm_error_set(err, BM_ERR_ARG, "%s: out %zu is not divisible by groups %zu", kind,
                          s->out, s->groups);
    if (st == BM_OK && s->in % s->groups)
        st = bm_error_set(err, BM_ERR_ARG, "%s: in %zu is not divisible by groups %zu", kind,
                          s->in, s->groups);
    return st == BM_OK ? bm_layer_check_penalties(kind, s, err) : st;
}

static bm_status conv1d_check(const bm_layer_spec *s, bm_error *err)
{
    return conv_check("conv1d", 1, s, err);
}

static bm_status conv2d_check(const bm_layer_spec *s, bm_error *err)
{
    return conv_check("conv2d", 2, s, err);
}

/* Output length of one axis (torch's floor), 0 when the dilated kernel
 * does not fit the padded input. */
static size_t conv_out(size_t n, size_t k, size_t stride, size_t pad, size_t dilation)
{
    if (k - 1 > BM_MAX_ELEMENTS / dilation)
        return 0;
    size_t span = dilation * (k - 1) + 1, padded = n + 2 * pad;
    return padded < span ? 0 : (padded - span) / stride + 1;
}

/* a·b, or BM_MAX_ELEMENTS + 1 when it would exceed BM_MAX_ELEMENTS. */
static size_t mul_capped(size_t a, size_t b)
{
    return b && a > BM_MAX_ELEMENTS / b ? BM_MAX_ELEMENTS + 1 : a * b;
}

/* [C, L] -> [out, OL] or [C, H, W] -> [out, OH, OW]. */
static bm_status conv_infer(const char *kind, int axes, const bm_layer_spec *s,
                            const bm_shape *in, bm_shape *out, bm_error *err)
{
    char buf[BM_LAYER_SHAPE_LEN];
    if (in->rank != axes + 1)
        return bm_error_set(err, BM_ERR_SHAPE, "%s: input %s must be %s", kind,
                            bm_layer_shape_text(in, buf, sizeof buf),
                            axes == 1 ? "[C,L]" : "[C,H,W]");
    size_t C = in->dim[0];
    bm_status st = bm_layer_check_in(kind, s, in, C, "channels", err);
    if (st != BM_OK)
        return st;
    if (C % s->groups)
        return bm_error_set(err, BM_ERR_SHAPE, "%s: input %s: %zu channels are not divisible "
                            "by groups %zu", kind, bm_layer_shape_text(in, buf, sizeof buf), C,
                            s->groups);
    out->rank = axes + 1;
    out->dim[0] = s->out;
    size_t total = s->out, weights = mul_capped(s->out, C / s->groups);
    for (int a = 0; a < axes; a++) {
        size_t o = conv_out(in->dim[a + 1], s->kernel[a], s->stride[a], s->padding[a],
                            s->dilation[a]);
        if (!o)
            return bm_error_set(err, BM_ERR_SHAPE, "%s: input %s: kernel %zu (dilation %zu) "
                                "does not fit axis %d of size %zu padded by %zu on each side",
                                kind, bm_layer_shape_text(in, buf, sizeof buf), s->kernel[a],
                                s->dilation[a], a + 1, in->dim[a + 1], s->padding[a]);
        out->dim[a + 1] = o;
        total = mul_capped(total, o);
        weights = mul_capped(weights, s->kernel[a]);
    }
    if (total > BM_MAX_ELEMENTS || weights > BM_MAX_ELEMENTS)
        return bm_error_set(err, BM_ERR_SIZE, "%s: input %s with out %zu is too large", kind,
                            bm_layer_shape_text(in, buf, sizeof buf), s->out);
    return BM_OK;
}

static bm_status conv1d_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                              bm_shape *out, bm_error *err)
{
    (void)n_in;
    return conv_infer("conv1d", 1, s, in, out, err);
}

static bm_status conv2d_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                              bm_shape *out, bm_error *err)
{
    (void)n_in;
    return conv_infer("conv2d", 2, s, in, out, err);
}

/* weights [out, C/groups, kernel...], biases [out] (with bias). */
static size_t conv_params(int axes, const bm_layer_spec *s, const bm_shape *in,
                          bm_param_desc *p)
{
    size_t cg = in->dim[0] / s->groups, taps = 1;
    for (int a = 0; a < axes; a++)
        taps *= s->kernel[a];
    size_t fan_in = cg * taps, fan_out = s->out / s->groups * taps;
    p[0] = (bm_param_desc){.name = "weights", .rank = axes + 2, .shape = {s->out, cg},
                           .init = BM_PINIT_UNIFORM, .fan_in = fan_in, .fan_out = fan_out,
                           .role = BM_ROLE_WEIGHT};
    for (int a = 0; a < axes; a++)
        p[0].shape[a + 2] = s->kernel[a];
    if (!s->bias)
        return 1;
    p[1] = (bm_param_desc){.name = "biases", .rank = 1, .shape = {s->out},
                           .init = BM_PINIT_UNIFORM, .fan_in = fan_in, .fan_out = fan_out,
                           .role = BM_ROLE_BIAS};
    return 2;
}

static size_t conv1d_params(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                            bm_param_desc *p)
{
    (void)n_in;
    return conv_params(1, s, in, p);
}

static size_t conv2d_params(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                            bm_param_desc *p)
{
    (void)n_in;
    return conv_params(2, s, in, p);
}

static bm_tensor *conv1d_record(bm_tape *tape, const bm_layer_call *c)
{
    const bm_layer_spec *s = c->spec;
    return bm_conv1d(tape, c->in[0], c->params[0], c->n_params > 1 ? c->params[1] : NULL,
                     s->stride[0], s->padding[0], s->dilation[0], s->groups);
}

/* The op's options from a 2-D kind's spec (conv2d, conv_transpose2d). */
static bm_conv_opts conv2d_opts(const bm_layer_spec *s)
{
    bm_conv_opts o = bm_conv_defaults();
    for (int a = 0; a < 2; a++) {
        o.stride[a] = s->stride[a];
        o.pad[a] = s->padding[a];
        o.dilation[a] = s->dilation[a];
    }
    o.groups = s->groups;
    return o;
}

static bm_tensor *conv2d_record(bm_tape *tape, const bm_layer_call *c)
{
    const bm_layer_spec *s = c->spec;
    bm_conv_opts o = conv2d_opts(s);
    return bm_conv2d(tape, c->in[0], c->params[0], c->n_params > 1 ? c->params[1] : NULL, &o);
}

const bm_layer_vt bm_layer_vt_conv1d = {
    .name = "conv1d",
    .summary = "1-D convolution [C,L] -> [out,L'] (torch.nn.Conv1d); weights [out,C/groups,k], "
               "biases [out]",
    .min_inputs = 1, .max_inputs = 1, .keys = conv_keys, .defaults = conv_defaults,
    .check = conv1d_check, .infer = conv1d_infer, .params = conv1d_params,
    .record = conv1d_record, .resolve = bm_layer_resolve_channels,
};

const bm_layer_vt bm_layer_vt_conv2d = {
    .name = "conv2d",
    .summary = "2-D convolution [C,H,W] -> [out,H',W'] (torch.nn.Conv2d); weights "
               "[out,C/groups,kh,kw], biases [out]",
    .min_inputs = 1, .max_inputs = 1, .keys = conv_keys, .defaults = conv_defaults,
    .check = conv2d_check, .infer = conv2d_infer, .params = conv2d_params,
    .record = conv2d_record, .resolve = bm_layer_resolve_channels,
};

/* ---------------------------------------------------------------- conv_transpose2d */

static bm_status conv_transpose2d_check(const bm_layer_spec *s, bm_error *err)
{
    return conv_check("conv_transpose2d", 2, s, err);
}

/* Output length of one axis, (n − 1)·stride + dilation·(k − 1) + 1 − 2·padding
 * (torch's, output_padding 0); 0 when it is not positive or too large. */
static size_t convt_out(size_t n, size_t k, size_t stride, size_t pad, size_t dilation)
{
    if (n - 1 > BM_MAX_ELEMENTS / stride || k - 1 > BM_MAX_ELEMENTS / dilation)
        return 0;
    size_t full = (n - 1) * stride + dilation * (k - 1) + 1;
    return full > 2 * pad && full - 2 * pad <= BM_MAX_ELEMENTS ? full - 2 * pad : 0;
}

/* [C,H,W] -> [out,H',W']. */
static bm_status conv_transpose2d_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                                        bm_shape *out, bm_error *err)
{
    (void)n_in;
    const char *kind = "conv_transpose2d";
    char buf[BM_LAYER_SHAPE_LEN];
    if (in->rank != 3)
        return bm_error_set(err, BM_ERR_SHAPE, "%s: input %s must be [C,H,W]", kind,
                            bm_layer_shape_text(in, buf, sizeof buf));
    size_t C = in->dim[0];
    bm_status st = bm_layer_check_in(kind, s, in, C, "channels", err);
    if (st != BM_OK)
        return st;
    if (C % s->groups)
        return bm_error_set(err, BM_ERR_SHAPE, "%s: input %s: %zu channels are not divisible "
                            "by groups %zu", kind, bm_layer_shape_text(in, buf, sizeof buf), C,
                            s->groups);
    *out = (bm_shape){.rank = 3, .dim = {s->out}};
    size_t weights = mul_capped(C, s->out / s->groups);
    for (int a = 0; a < 2; a++) {
        size_t o = convt_out(in->dim[a + 1], s->kernel[a], s->stride[a], s->padding[a],
                             s->dilation[a]);
        if (!o)
            return bm_error_set(err, BM_ERR_SHAPE, "%s: input %s: padding %zu leaves no output "
                                "on axis %d (kernel %zu, stride %zu, dilation %zu)", kind,
                                bm_layer_shape_text(in, buf, sizeof buf), s->padding[a], a + 1,
                                s->kernel[a], s->stride[a], s->dilation[a]);
        out->dim[a + 1] = o;
        weights = mul_capped(weights, s->kernel[a]);
    }
    if (weights > BM_MAX_ELEMENTS)
        return bm_error_set(err, BM_ERR_SIZE, "%s: input %s with out %zu is too large", kind,
                            bm_layer_shape_text(in, buf, sizeof buf), s->out);
    return bm_layer_check_total(kind, out, err);
}

/* weights [C, out/groups, kh, kw], biases [out]. */
static size_t conv_transpose2d_params(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                                      bm_param_desc *p)
{
    (void)n_in;
    size_t og = s->out / s->groups, taps = s->kernel[0] * s->kernel[1];
    size_t fan_in = og * taps, fan_out = in->dim[0] / s->groups * taps;
    p[0] = (bm_param_desc){.name = "weights", .rank = 4,
                           .shape = {in->dim[0], og, s->kernel[0], s->kernel[1]},
                           .init = BM_PINIT_UNIFORM, .fan_in = fan_in, .fan_out = fan_out,
                           .role = BM_ROLE_WEIGHT};
    if (!s->bias)
        return 1;
    p[1] = (bm_param_desc){.name = "biases", .rank = 1, .shape = {s->out},
                           .init = BM_PINIT_UNIFORM, .fan_in = fan_in, .fan_out = fan_out,
                           .role = BM_ROLE_BIAS};
    return 2;
}

static bm_tensor *conv_transpose2d_record(bm_tape *tape, const bm_layer_call *c)
{
    const bm_layer_spec *s = c->spec;
    bm_conv_opts o = conv2d_opts(s);
    bm_tensor *y = bm_conv_transpose2d(tape, c->in[0], c->params[0], &o);
    if (c->n_params < 2)
        return y;
    size_t per_channel[3] = {s->out, 1, 1}; /* [out] as [out,1,1]: broadcast over H', W' */
    return bm_add(tape, y, bm_reshape(tape, c->params[1], 3, per_channel));
}

const bm_layer_vt bm_layer_vt_conv_transpose2d = {
    .name = "conv_transpose2d",
    .summary = "transposed 2-D convolution [C,H,W] -> [out,H',W'] (torch.nn.ConvTranspose2d, "
               "output_padding 0); weights [C,out/groups,kh,kw], biases [out]",
    .min_inputs = 1, .max_inputs = 1, .keys = conv_keys, .defaults = conv_defaults,
    .check = conv_transpose2d_check, .infer = conv_transpose2d_infer,
    .params = conv_transpose2d_params, .record = conv_transpose2d_record,
    .resolve = bm_layer_resolve_channels,
};
