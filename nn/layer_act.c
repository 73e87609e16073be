/* layer_act.c — activation kinds beyond the first release: gelu, silu,
 * leaky_relu, elu, softplus, log_softmax. Each keeps its input's shape,
 * owns no parameters and is one op of ops/bm_ops.h. */
#include <math.h>

#include "bm_ops.h"
#include "layer_util_internal.h"

/* torch.nn.LeakyReLU's default negative slope. */
#define LEAKY_RELU_SLOPE 0.01
/* torch.nn.ELU's default alpha. */
#define ELU_ALPHA 1.0
/* torch.nn.Softplus's defaults: beta, and the threshold above which βx passes as x. */
#define SOFTPLUS_BETA 1.0
#define SOFTPLUS_THRESHOLD 20.0

static const char *const alpha_keys[] = {"alpha", NULL};

/* alpha is finite (beta, for softplus, also > 0). */
static bm_status alpha_check(const char *kind, double alpha, int positive, bm_error *err)
{
    if (!isfinite(alpha) || (positive && !(alpha > 0.0)))
        return bm_error_set(err, BM_ERR_ARG, "%s: alpha %g must be finite%s", kind, alpha,
                            positive ? " and > 0" : "");
    return BM_OK;
}

/* ---------------------------------------------------------------- gelu */

static const char *const gelu_keys[] = {"approximate", NULL};

static bm_tensor *gelu_record(bm_tape *tape, const bm_layer_call *c)
{
    return bm_gelu(tape, c->in[0], c->spec->approximate);
}

const bm_layer_vt bm_layer_vt_gelu = {
    .name = "gelu",
    .summary = "x·Φ(x) (torch.nn.GELU); approximate: its tanh form",
    .min_inputs = 1, .max_inputs = 1, .keys = gelu_keys,
    .infer = bm_layer_same_shape, .params = bm_layer_no_params, .record = gelu_record,
};

/* ---------------------------------------------------------------- silu, log_softmax */

static bm_tensor *silu_record(bm_tape *tape, const bm_layer_call *c)
{
    return bm_silu(tape, c->in[0]);
}

const bm_layer_vt bm_layer_vt_silu = {
    .name = "silu", .summary = "x·σ(x) (torch.nn.SiLU, swish)",
    .min_inputs = 1, .max_inputs = 1, .keys = bm_layer_no_keys,
    .infer = bm_layer_same_shape, .params = bm_layer_no_params, .record = silu_record,
};

static bm_tensor *log_softmax_record(bm_tape *tape, const bm_layer_call *c)
{
    return bm_log_softmax(tape, c->in[0]);
}

const bm_layer_vt bm_layer_vt_log_softmax = {
    .name = "log_softmax", .summary = "log softmax over the last axis (torch.nn.LogSoftmax(-1))",
    .min_inputs = 1, .max_inputs = 1, .keys = bm_layer_no_keys,
    .infer = bm_layer_same_shape, .params = bm_layer_no_params, .record = log_softmax_record,
};

/* ---------------------------------------------------------------- leaky_relu */

static void leaky_relu_defaults(bm_layer_spec *s) { s->alpha = LEAKY_RELU_SLOPE; }

static bm_status leaky_relu_check(const bm_layer_spec *s, bm_error *err)
{
    return alpha_check("leaky_relu", s->alpha, 0, err);
}

static bm_tensor *leaky_relu_record(bm_tape *tape, const bm_layer_call *c)
{
    return bm_leaky_relu(tape, c->in[0], c->spec->alpha);
}

const bm_layer_vt bm_layer_vt_leaky_relu = {
    .name = "leaky_relu",
    .summary = "x for x > 0, alpha·x otherwise (torch.nn.LeakyReLU; alpha 0.01)",
    .min_inputs = 1, .max_inputs = 1, .keys = alpha_keys, .defaults = leaky_relu_defaults,
    .check = leaky_relu_check, .infer = bm_layer_same_shape, .params = bm_layer_no_params,
    .record = leaky_relu_record,
};

/* ---------------------------------------------------------------- elu */

static void elu_defaults(bm_layer_spec *s) { s->alpha = ELU_ALPHA; }

static bm_status elu_check(const bm_layer_spec *s, bm_error *err)
{
    return alpha_check("elu", s->alpha, 0, err);
}

static bm_tensor *elu_record(bm_tape *tape, const bm_layer_call *c)
{
    return bm_elu(tape, c->in[0], c->spec->alpha);
}

const bm_layer_vt bm_layer_vt_elu = {
    .name = "elu", .summary = "x for x > 0, alpha·(eˣ − 1) otherwise (torch.nn.ELU; alpha 1)",
    .min_inputs = 1, .max_inputs = 1, .keys = alpha_keys, .defaults = elu_defaults,
    .check = elu_check, .infer = bm_layer_same_shape, .params = bm_layer_no_params,
    .record = elu_record,
};

/* ---------------------------------------------------------------- softplus */

static void softplus_defaults(bm_layer_spec *s) { s->alpha = SOFTPLUS_BETA; }

static bm_status softplus_check(const bm_layer_spec *s, bm_error *err)
{
    return alpha_check("softplus", s->alpha, 1, err);
}

static bm_tensor *softplus_record(bm_tape *tape, const bm_layer_call *c)
{
    return bm_softplus(tape, c->in[0], c->spec->alpha, SOFTPLUS_THRESHOLD);
}

const bm_layer_vt bm_layer_vt_softplus = {
    .name = "softplus",
    .summary = "log(1 + e^(alpha·x))/alpha (torch.nn.Softplus, beta = alpha, 1; threshold 20)",
    .min_inputs = 1, .max_inputs = 1, .keys = alpha_keys, .defaults = softplus_defaults,
    .check = softplus_check, .infer = bm_layer_same_shape, .params = bm_layer_no_params,
    .record = softplus_record,
};
