/* layer_pool.c — pooling kinds: max_pool2d and avg_pool2d on [C,H,W]
 * (torch.nn.MaxPool2d/AvgPool2d: stride defaults to the kernel, floor
 * output sizes, avg counts the padded zeros), and global_avg_pool
 * [C, spatial...] -> [C]. */
#include "bm_ops.h"
#include "layer_util_internal.h"

static const char *const pool_keys[] = {"kernel", "stride", "padding", NULL};

/* stride 0 means "the kernel" (torch's default). */
static size_t pool_stride(const bm_layer_spec *s, int a)
{
    return s->stride[a] ? s->stride[a] : s->kernel[a];
}

static bm_status pool_check(const char *kind, const bm_layer_spec *s, bm_error *err)
{
    for (int a = 0; a < 2; a++) {
        if (!s->kernel[a] || s->kernel[a] > BM_MAX_ELEMENTS || s->stride[a] > BM_MAX_ELEMENTS)
            return bm_error_set(err, BM_ERR_ARG, "%s: kernel %zux%zu must be >= 1 and stride "
                                "%zux%zu >= 0 (0: the kernel), both at most %zu", kind,
                                s->kernel[0], s->kernel[1], s->stride[0], s->stride[1],
                                (size_t)BM_MAX_ELEMENTS);
        if (s->padding[a] > s->kernel[a] / 2)
            return bm_error_set(err, BM_ERR_ARG, "%s: padding %zux%zu must be at most half the "
                                "kernel %zux%zu", kind, s->padding[0], s->padding[1],
                                s->kernel[0], s->kernel[1]);
    }
    return BM_OK;
}

static bm_status max_pool2d_check(const bm_layer_spec *s, bm_error *err)
{
    return pool_check("max_pool2d", s, err);
}

static bm_status avg_pool2d_check(const bm_layer_spec *s, bm_error *err)
{
    return pool_check("avg_pool2d", s, err);
}

/* [C,H,W] -> [C,OH,OW], OH = (H + 2·padding − kernel)/stride + 1. */
static bm_status pool_infer(const char *kind, const bm_layer_spec *s, const bm_shape *in,
                            bm_shape *out, bm_error *err)
{
    char buf[BM_LAYER_SHAPE_LEN];
    if (in->rank != 3)
        return bm_error_set(err, BM_ERR_SHAPE, "%s: input %s must be [C,H,W]", kind,
                            bm_layer_shape_text(in, buf, sizeof buf));
    *out = *in;
    for (int a = 0; a < 2; a++) {
        size_t padded = in->dim[a + 1] + 2 * s->padding[a];
        if (padded < s->kernel[a])
            return bm_error_set(err, BM_ERR_SHAPE, "%s: input %s: kernel %zux%zu does not fit "
                                "the input padded by %zux%zu", kind,
                                bm_layer_shape_text(in, buf, sizeof buf), s->kernel[0],
                                s->kernel[1], s->padding[0], s->padding[1]);
        out->dim[a + 1] = (padded - s->kernel[a]) / pool_stride(s, a) + 1;
    }
    return bm_layer_check_total(kind, out, err);
}

static bm_status max_pool2d_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                                  bm_shape *out, bm_error *err)
{
    (void)n_in;
    return pool_infer("max_pool2d", s, in, out, err);
}

static bm_status avg_pool2d_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                                  bm_shape *out, bm_error *err)
{
    (void)n_in;
    return pool_infer("avg_pool2d", s, in, out, err);
}

static bm_pool_opts pool_opts(const bm_layer_spec *s)
{
    bm_pool_opts o = bm_pool_defaults(s->kernel[0], s->kernel[1]);
    for (int a = 0; a < 2; a++) {
        o.stride[a] = pool_stride(s, a);
        o.pad[a] = s->padding[a];
    }
    return o;
}

static bm_tensor *max_pool2d_record(bm_tape *tape, const bm_layer_call *c)
{
    bm_pool_opts o = pool_opts(c->spec);
    return bm_max_pool2d(tape, c->in[0], &o);
}

static bm_tensor *avg_pool2d_record(bm_tape *tape, const bm_layer_call *c)
{
    bm_pool_opts o = pool_opts(c->spec);
    return bm_avg_pool2d(tape, c->in[0], &o);
}

const bm_layer_vt bm_layer_vt_max_pool2d = {
    .name = "max_pool2d",
    .summary = "max over kernel windows of [C,H,W] (torch.nn.MaxPool2d; stride: the kernel)",
    .min_inputs = 1, .max_inputs = 1, .keys = pool_keys, .check = max_pool2d_check,
    .infer = max_pool2d_infer, .params = bm_layer_no_params, .record = max_pool2d_record,
};

const bm_layer_vt bm_layer_vt_avg_pool2d = {
    .name = "avg_pool2d",
    .summary = "mean over kernel windows of [C,H,W] (torch.nn.AvgPool2d; stride: the kernel; "
               "padded zeros count)",
    .min_inputs = 1, .max_inputs = 1, .keys = pool_keys, .check = avg_pool2d_check,
    .infer = avg_pool2d_infer, .params = bm_layer_no_params, .record = avg_pool2d_record,
};

/* ---------------------------------------------------------------- global_avg_pool */

/* [C, spatial...] -> [C]. */
static bm_status global_avg_pool_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                                       bm_shape *out, bm_error *err)
{
    (void)s;
    (void)n_in;
    char buf[BM_LAYER_SHAPE_LEN];
    if (in->rank < 2)
        return bm_error_set(err, BM_ERR_SHAPE, "global_avg_pool: input %s must be [C,L] or "
                            "[C,H,W]", bm_layer_shape_text(in, buf, sizeof buf));
    *out = (bm_shape){.rank = 1, .dim = {in->dim[0]}};
    return BM_OK;
}

/* The mean over the spatial axes taken as one: [B,C,S] -> [B,C]. */
static bm_tensor *global_avg_pool_record(bm_tape *tape, const bm_layer_call *c)
{
    const bm_shape *in = c->in_shapes;
    bm_shape flat = {.rank = 2, .dim = {in->dim[0], bm_layer_shape_size(in) / in->dim[0]}};
    return bm_mean(tape, bm_layer_reshape(tape, c->in[0], &flat), -1, 0);
}

const bm_layer_vt bm_layer_vt_global_avg_pool = {
    .name = "global_avg_pool",
    .summary = "mean over the spatial axes: [C,H,W] or [C,L] -> [C] "
               "(torch.nn.AdaptiveAvgPool2d(1) then flatten)",
    .min_inputs = 1, .max_inputs = 1, .keys = bm_layer_no_keys, .infer = global_avg_pool_infer,
    .params = bm_layer_no_params, .record = global_avg_pool_record,
};
