/* test_layers.c — layer kinds through their vtables (test_layer_util.h):
 * shape inference, refused specs and shapes (the message checked), gradcheck
 * and gradgradcheck in F64 with respect to inputs and trained parameters,
 * F32 forwards. */
#include "test_layer_util.h"

/* F32 forwards against F64 ones: relative error allowed. */
#define F32_TOL 1e-4

START_TEST(dense_through_the_harness)
{
    bm_tl_case c = {.spec = bm_tl_spec(BM_LAYER_DENSE), .n_in = 1, .in = {BM_TL_SHAPE(3)},
                    .batch = 3};
    c.spec.out = 2;
    bm_tl_expect_shape(&c.spec, 1, c.in, BM_TL_SHAPE(2));
    bm_tl_gradcheck(&c);
    bm_tl_check_f32(&c, F32_TOL);
    /* [T,F] rows: the product over the last axis */
    c.in[0] = BM_TL_SHAPE(4, 3);
    bm_tl_expect_shape(&c.spec, 1, c.in, BM_TL_SHAPE(4, 2));
    bm_tl_gradcheck(&c);
    c.spec.in = 5;
    bm_tl_expect_error(&c.spec, 1, c.in, BM_ERR_SHAPE, "dense input 5 does not match the width 3");
    c.spec.in = 0;
    c.spec.out = 0;
    bm_tl_expect_error(&c.spec, 1, c.in, BM_ERR_SIZE, "dense size 3x0 is invalid");
}
END_TEST

START_TEST(first_release_activations)
{
    const bm_layer_kind kinds[] = {BM_LAYER_RELU, BM_LAYER_SIGMOID, BM_LAYER_TANH,
                                   BM_LAYER_SOFTMAX, BM_LAYER_IDENTITY};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        bm_tl_case c = {.spec = bm_tl_spec(kinds[k]), .n_in = 1, .in = {BM_TL_SHAPE(2, 3)}};
        bm_tl_gradcheck(&c);
        bm_tl_check_f32(&c, F32_TOL);
    }
}
END_TEST

START_TEST(dropout_keeps_one_mask_in_gradcheck)
{
    bm_tl_case c = {.spec = bm_tl_spec(BM_LAYER_DROPOUT), .n_in = 1, .in = {BM_TL_SHAPE(6)},
                    .training = 1};
    c.spec.rate = 0.5;
    bm_tl_gradcheck(&c);
    c.spec.rate = 1.5;
    bm_tl_expect_error(&c.spec, 1, c.in, BM_ERR_ARG, "rate: 1.5 must be in [0, 1)");
}
END_TEST

/* ---------------------------------------------------------------- activations */

START_TEST(activations_gradcheck)
{
    const struct {
        bm_layer_kind kind;
        double alpha;  /* 0: the default */
        int approximate;
    } cases[] = {
        {BM_LAYER_GELU, 0, 0},       {BM_LAYER_GELU, 0, 1},  {BM_LAYER_SILU, 0, 0},
        {BM_LAYER_LEAKY_RELU, 0, 0}, {BM_LAYER_LEAKY_RELU, 0.2, 0},
        {BM_LAYER_ELU, 0, 0},        {BM_LAYER_ELU, 0.7, 0}, {BM_LAYER_SOFTPLUS, 0, 0},
        {BM_LAYER_SOFTPLUS, 2.5, 0}, {BM_LAYER_LOG_SOFTMAX, 0, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        bm_tl_case c = {.spec = bm_tl_spec(cases[k].kind), .n_in = 1,
                        .in = {BM_TL_SHAPE(2, 3)}, .seed = k + 1};
        if (cases[k].alpha != 0)
            c.spec.alpha = cases[k].alpha;
        c.spec.approximate = cases[k].approximate;
        bm_tl_expect_shape(&c.spec, 1, c.in, BM_TL_SHAPE(2, 3));
        bm_tl_gradcheck(&c);
        c.in[0] = BM_TL_SHAPE(5);
        c.batch = 3;
        bm_tl_gradcheck(&c);
        bm_tl_check_f32(&c, F32_TOL);
    }
}
END_TEST

START_TEST(activations_defaults_and_values)
{
    ck_assert_double_eq(bm_tl_spec(BM_LAYER_LEAKY_RELU).alpha, 0.01);
    ck_assert_double_eq(bm_tl_spec(BM_LAYER_ELU).alpha, 1.0);
    ck_assert_double_eq(bm_tl_spec(BM_LAYER_SOFTPLUS).alpha, 1.0);
    ck_assert_int_eq(bm_tl_spec(BM_LAYER_GELU).approximate, 0);
    /* the layer applies its op with the spec's alpha: leaky_relu(-x) = -alpha·x */
    bm_tl_case c = {.spec = bm_tl_spec(BM_LAYER_LEAKY_RELU), .n_in = 1, .in = {BM_TL_SHAPE(4)}};
    c.spec.alpha = 0.25;
    bm_tl_run r;
    bm_tl_build(&r, &c, BM_F64);
    for (size_t i = 0; i < r.out->size; i++) {
        double x = bm_tensor_get(r.in[0], i);
        ck_near(bm_tensor_get(r.out, i), x > 0 ? x : 0.25 * x, 1e-15);
    }
    bm_tl_free(&r);
}
END_TEST

START_TEST(activations_bad_specs)
{
    bm_shape in[1] = {BM_TL_SHAPE(3)};
    bm_layer_spec s = bm_tl_spec(BM_LAYER_SOFTPLUS);
    s.alpha = 0;
    bm_tl_expect_error(&s, 1, in, BM_ERR_ARG, "softplus: alpha 0 must be finite and > 0");
    s = bm_tl_spec(BM_LAYER_LEAKY_RELU);
    s.alpha = INFINITY;
    bm_tl_expect_error(&s, 1, in, BM_ERR_ARG, "leaky_relu: alpha inf must be finite");
    s = bm_tl_spec(BM_LAYER_ELU);
    s.alpha = NAN;
    bm_tl_expect_error(&s, 1, in, BM_ERR_ARG, "elu: alpha");
}
END_TEST

/* ---------------------------------------------------------------- convolution */

static bm_layer_spec conv_spec(bm_layer_kind k, size_t out, size_t kh, size_t kw)
{
    bm_layer_spec s = bm_tl_spec(k);
    s.out = out;
    s.kernel[0] = kh;
    s.kernel[1] = kw;
    return s;
}

START_TEST(conv2d_shapes)
{
    bm_layer_spec s = conv_spec(BM_LAYER_CONV2D, 4, 3, 3);
    ck_assert_uint_eq(s.stride[0], 1);
    ck_assert_uint_eq(s.dilation[1], 1);
    ck_assert_uint_eq(s.groups, 1);
    ck_assert_int_eq(s.bias, 1);
    bm_shape in[1] = {BM_TL_SHAPE(3, 7, 6)};
    bm_tl_expect_shape(&s, 1, in, BM_TL_SHAPE(4, 5, 4));
    s.stride[0] = s.stride[1] = 2;
    s.padding[0] = s.padding[1] = 1;
    bm_tl_expect_shape(&s, 1, in, BM_TL_SHAPE(4, 4, 3)); /* (7+2-3)/2+1, (6+2-3)/2+1 */
    s = conv_spec(BM_LAYER_CONV2D, 6, 3, 2);
    s.dilation[0] = 2;
    s.groups = 3;
    s.in = 3;
    bm_tl_expect_shape(&s, 1, in, BM_TL_SHAPE(6, 3, 5)); /* span 5 of 7; 2 of 6 */
    /* the parameters: torch's layout and initialisation */
    bm_param_desc p[BM_LAYER_MAX_PARAMS];
    const bm_layer_vt *vt = bm_layer_vtable(BM_LAYER_CONV2D);
    ck_assert_uint_eq(vt->params(&s, in, 1, p), 2);
    ck_assert_str_eq(p[0].name, "weights");
    ck_assert_int_eq(p[0].rank, 4);
    ck_assert_uint_eq(p[0].shape[0], 6);
    ck_assert_uint_eq(p[0].shape[1], 1);
    ck_assert_uint_eq(p[0].shape[2], 3);
    ck_assert_uint_eq(p[0].shape[3], 2);
    ck_assert_int_eq(p[0].init, BM_PINIT_UNIFORM);
    ck_assert_uint_eq(p[0].fan_in, 6); /* in/groups·kh·kw */
    ck_assert_int_eq(p[1].role, BM_ROLE_BIAS);
    ck_assert_uint_eq(p[1].shape[0], 6);
    ck_assert_uint_eq(p[1].fan_in, 6);
    s.bias = 0;
    ck_assert_uint_eq(vt->params(&s, in, 1, p), 1);
}
END_TEST

START_TEST(conv_bad_specs_and_shapes)
{
    bm_shape in[1] = {BM_TL_SHAPE(3, 5, 5)};
    bm_layer_spec s = conv_spec(BM_LAYER_CONV2D, 4, 3, 3);
    s.in = 1;
    bm_tl_expect_error(&s, 1, in, BM_ERR_SHAPE, "conv2d: input [3,5,5] has 3 channels, in says 1");
    s.in = 0;
    bm_shape flat[1] = {BM_TL_SHAPE(5, 5)};
    bm_tl_expect_error(&s, 1, flat, BM_ERR_SHAPE, "conv2d: input [5,5] must be [C,H,W]");
    s.kernel[1] = 6;
    bm_tl_expect_error(&s, 1, in, BM_ERR_SHAPE, "conv2d: input [3,5,5]: kernel 6 (dilation 1) "
                       "does not fit axis 2 of size 5");
    s.padding[1] = 1;
    bm_tl_expect_shape(&s, 1, in, BM_TL_SHAPE(4, 3, 2));
    s.groups = 2;
    bm_tl_expect_error(&s, 1, in, BM_ERR_SHAPE, "conv2d: input [3,5,5]: 3 channels are not "
                       "divisible by groups 2");
    s.out = 5;
    bm_tl_expect_error(&s, 1, in, BM_ERR_ARG, "conv2d: out 5 is not divisible by groups 2");
    s = conv_spec(BM_LAYER_CONV2D, 0, 3, 3);
    bm_tl_expect_error(&s, 1, in, BM_ERR_SIZE, "conv2d: out 0 is not in 1..");
    s = conv_spec(BM_LAYER_CONV2D, 2, 3, 0);
    bm_tl_expect_error(&s, 1, in, BM_ERR_ARG, "conv2d: kernel 0");
    s = conv_spec(BM_LAYER_CONV2D, 2, 3, 3);
    s.stride[0] = 0;
    bm_tl_expect_error(&s, 1, in, BM_ERR_ARG, "stride 0");
    s.stride[0] = 1;
    s.l2_weights = -1;
    bm_tl_expect_error(&s, 1, in, BM_ERR_ARG, "conv2d: l2_weights -1 must be finite and >= 0");
    s = conv_spec(BM_LAYER_CONV1D, 2, 3, 0); /* 1-D kinds read entry 0 only */
    bm_tl_expect_error(&s, 1, in, BM_ERR_SHAPE, "conv1d: input [3,5,5] must be [C,L]");
    s.dilation[0] = (size_t)1 << 39;
    bm_shape line[1] = {BM_TL_SHAPE(3, 5)};
    bm_tl_expect_error(&s, 1, line, BM_ERR_SHAPE, "conv1d: input [3,5]: kernel 3");
}
END_TEST

START_TEST(conv2d_gradcheck)
{
    bm_tl_case c = {.spec = conv_spec(BM_LAYER_CONV2D, 3, 3, 2), .n_in = 1,
                    .in = {BM_TL_SHAPE(2, 5, 4)}};
    c.spec.stride[0] = 2;
    c.spec.padding[0] = c.spec.padding[1] = 1;
    bm_tl_gradcheck(&c);
    bm_tl_check_f32(&c, F32_TOL);
    /* groups, dilation, no bias, odd sizes */
    c.spec = conv_spec(BM_LAYER_CONV2D, 4, 2, 2);
    c.spec.groups = 2;
    c.spec.dilation[0] = c.spec.dilation[1] = 2;
    c.spec.bias = 0;
    c.in[0] = BM_TL_SHAPE(4, 5, 5);
    c.batch = 1;
    bm_tl_gradcheck(&c);
    bm_tl_check_f32(&c, F32_TOL);
}
END_TEST

START_TEST(conv1d_shapes_and_gradcheck)
{
    bm_tl_case c = {.spec = conv_spec(BM_LAYER_CONV1D, 6, 3, 0), .n_in = 1,
                    .in = {BM_TL_SHAPE(4, 9)}};
    c.spec.stride[0] = 2;
    c.spec.padding[0] = 1;
    c.spec.dilation[0] = 2;
    c.spec.groups = 2;
    bm_tl_expect_shape(&c.spec, 1, c.in, BM_TL_SHAPE(6, 4)); /* (9+2-5)/2+1 */
    bm_param_desc p[BM_LAYER_MAX_PARAMS];
    ck_assert_uint_eq(bm_layer_vtable(BM_LAYER_CONV1D)->params(&c.spec, c.in, 1, p), 2);
    ck_assert_int_eq(p[0].rank, 3);
    ck_assert_uint_eq(p[0].shape[1], 2);
    ck_assert_uint_eq(p[0].shape[2], 3);
    ck_assert_uint_eq(p[0].fan_in, 6);
    bm_tl_gradcheck(&c);
    bm_tl_check_f32(&c, F32_TOL);
    c.spec = conv_spec(BM_LAYER_CONV1D, 2, 2, 0);
    c.in[0] = BM_TL_SHAPE(3, 4);
    c.batch = 3;
    bm_tl_expect_shape(&c.spec, 1, c.in, BM_TL_SHAPE(2, 3));
    bm_tl_gradcheck(&c);
}
END_TEST

START_TEST(conv_transpose2d_shapes_and_gradcheck)
{
    bm_tl_case c = {.spec = conv_spec(BM_LAYER_CONV_TRANSPOSE2D, 6, 3, 2), .n_in = 1,
                    .in = {BM_TL_SHAPE(4, 3, 4)}};
    bm_tl_expect_shape(&c.spec, 1, c.in, BM_TL_SHAPE(6, 5, 5)); /* (n-1)·1 + (k-1) + 1 */
    c.spec.stride[0] = c.spec.stride[1] = 2;
    c.spec.padding[0] = 1;
    c.spec.dilation[1] = 2;
    c.spec.groups = 2;
    bm_tl_expect_shape(&c.spec, 1, c.in, BM_TL_SHAPE(6, 5, 9)); /* 2·2+2+1-2, 2·3+2+1 */
    bm_param_desc p[BM_LAYER_MAX_PARAMS];
    ck_assert_uint_eq(bm_layer_vtable(BM_LAYER_CONV_TRANSPOSE2D)->params(&c.spec, c.in, 1, p), 2);
    ck_assert_uint_eq(p[0].shape[0], 4); /* torch's layout: [in, out/groups, kh, kw] */
    ck_assert_uint_eq(p[0].shape[1], 3);
    ck_assert_uint_eq(p[0].fan_in, 3 * 3 * 2);
    bm_tl_gradcheck(&c);
    bm_tl_check_f32(&c, F32_TOL);
    c.spec = conv_spec(BM_LAYER_CONV_TRANSPOSE2D, 2, 2, 2);
    c.spec.bias = 0;
    c.in[0] = BM_TL_SHAPE(3, 2, 3);
    c.batch = 3;
    bm_tl_gradcheck(&c);
    c.spec.padding[0] = 2; /* (2-1)+(2-1)+1 = 3 rows, less 4 */
    bm_tl_expect_error(&c.spec, 1, c.in, BM_ERR_SHAPE, "conv_transpose2d: input [3,2,3]: "
                       "padding 2 leaves no output on axis 1");
    c.spec.padding[0] = 0;
    c.spec.groups = 2;
    c.spec.out = 4;
    bm_tl_expect_error(&c.spec, 1, c.in, BM_ERR_SHAPE, "conv_transpose2d: input [3,2,3]: 3 "
                       "channels are not divisible by groups 2");
}
END_TEST

/* ---------------------------------------------------------------- pooling, shape */

START_TEST(pool_shapes_and_errors)
{
    const bm_layer_kind kinds[2] = {BM_LAYER_MAX_POOL2D, BM_LAYER_AVG_POOL2D};
    const char *names[2] = {"max_pool2d", "avg_pool2d"};
    char want[160];
    for (int k = 0; k < 2; k++) {
        bm_layer_spec s = conv_spec(kinds[k], 0, 2, 2);
        ck_assert_uint_eq(s.stride[0], 0); /* 0: the kernel */
        bm_shape in[1] = {BM_TL_SHAPE(2, 5, 4)};
        bm_tl_expect_shape(&s, 1, in, BM_TL_SHAPE(2, 2, 2));
        s.kernel[0] = 3;
        s.stride[0] = s.stride[1] = 2;
        s.padding[0] = s.padding[1] = 1;
        bm_shape in2[1] = {BM_TL_SHAPE(3, 7, 6)};
        bm_tl_expect_shape(&s, 1, in2, BM_TL_SHAPE(3, 4, 4)); /* kernel 3x2 */
        s.padding[1] = 2;
        snprintf(want, sizeof want, "%s: padding 1x2 must be at most half the kernel 3x2",
                 names[k]);
        bm_tl_expect_error(&s, 1, in2, BM_ERR_ARG, want);
        s.padding[1] = 0;
        bm_shape flat[1] = {BM_TL_SHAPE(7, 6)};
        snprintf(want, sizeof want, "%s: input [7,6] must be [C,H,W]", names[k]);
        bm_tl_expect_error(&s, 1, flat, BM_ERR_SHAPE, want);
        s.kernel[1] = 9;
        snprintf(want, sizeof want, "%s: input [3,7,6]: kernel 3x9 does not fit", names[k]);
        bm_tl_expect_error(&s, 1, in2, BM_ERR_SHAPE, want);
        s.kernel[1] = 0;
        snprintf(want, sizeof want, "%s: kernel 3x0 must be >= 1", names[k]);
        bm_tl_expect_error(&s, 1, in2, BM_ERR_ARG, want);
    }
}
END_TEST

START_TEST(pool_gradcheck)
{
    const bm_layer_kind kinds[2] = {BM_LAYER_MAX_POOL2D, BM_LAYER_AVG_POOL2D};
    for (int k = 0; k < 2; k++) {
        bm_tl_case c = {.spec = conv_spec(kinds[k], 0, 3, 3), .n_in = 1,
                        .in = {BM_TL_SHAPE(2, 7, 6)}};
        c.spec.stride[0] = c.spec.stride[1] = 2;
        c.spec.padding[0] = c.spec.padding[1] = 1;
        bm_tl_gradcheck(&c);
        bm_tl_check_f32(&c, F32_TOL);
        c.spec = conv_spec(kinds[k], 0, 2, 3); /* stride = kernel, odd sizes */
        c.in[0] = BM_TL_SHAPE(3, 5, 7);
        c.batch = 1;
        bm_tl_expect_shape(&c.spec, 1, c.in, BM_TL_SHAPE(3, 2, 2));
        bm_tl_gradcheck(&c);
    }
}
END_TEST

START_TEST(global_avg_pool_flatten_reshape)
{
    bm_tl_case c = {.spec = bm_tl_spec(BM_LAYER_GLOBAL_AVG_POOL), .n_in = 1,
                    .in = {BM_TL_SHAPE(3, 4, 5)}};
    bm_tl_expect_shape(&c.spec, 1, c.in, BM_TL_SHAPE(3));
    bm_tl_gradcheck(&c);
    bm_tl_run r;
    bm_tl_build(&r, &c, BM_F64);
    for (size_t i = 0; i < r.out->size; i++) { /* each channel's mean */
        double sum = 0;
        for (size_t j = 0; j < 20; j++)
            sum += bm_tensor_get(r.in[0], i * 20 + j);
        ck_near(bm_tensor_get(r.out, i), sum / 20, 1e-14);
    }
    bm_tl_free(&r);
    c.in[0] = BM_TL_SHAPE(3, 7);
    bm_tl_expect_shape(&c.spec, 1, c.in, BM_TL_SHAPE(3));
    bm_tl_gradcheck(&c);
    bm_tl_check_f32(&c, F32_TOL);
    c.in[0] = BM_TL_SHAPE(3);
    bm_tl_expect_error(&c.spec, 1, c.in, BM_ERR_SHAPE, "global_avg_pool: input [3] must be");

    c.spec = bm_tl_spec(BM_LAYER_FLATTEN);
    c.in[0] = BM_TL_SHAPE(2, 3, 4);
    bm_tl_expect_shape(&c.spec, 1, c.in, BM_TL_SHAPE(24));
    bm_tl_gradcheck(&c);
    c.spec = bm_tl_spec(BM_LAYER_RESHAPE);
    c.spec.shape = BM_TL_SHAPE(4, 6);
    bm_tl_expect_shape(&c.spec, 1, c.in, BM_TL_SHAPE(4, 6));
    bm_tl_gradcheck(&c);
    bm_tl_check_f32(&c, F32_TOL);
    c.spec.shape = BM_TL_SHAPE(5, 5);
    bm_tl_expect_error(&c.spec, 1, c.in, BM_ERR_SHAPE,
                       "reshape: input [2,3,4] does not fit shape [5,5]");
    c.spec.shape = BM_TL_SHAPE(4, 0, 6);
    bm_tl_expect_error(&c.spec, 1, c.in, BM_ERR_SHAPE, "reshape: shape [4,0,6] must have");
    c.spec.shape.rank = 0;
    bm_tl_expect_error(&c.spec, 1, c.in, BM_ERR_SHAPE, "reshape: shape [] must have 1..3 sizes");
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("layers");
    TCase *tc = tcase_create("basic");
    tcase_add_test(tc, dense_through_the_harness);
    tcase_add_test(tc, first_release_activations);
    tcase_add_test(tc, dropout_keeps_one_mask_in_gradcheck);
    suite_add_tcase(s, tc);
    tc = tcase_create("activations");
    tcase_add_test(tc, activations_gradcheck);
    tcase_add_test(tc, activations_defaults_and_values);
    tcase_add_test(tc, activations_bad_specs);
    suite_add_tcase(s, tc);
    tc = tcase_create("conv");
    tcase_add_test(tc, conv2d_shapes);
    tcase_add_test(tc, conv_bad_specs_and_shapes);
    tcase_add_test(tc, conv2d_gradcheck);
    tcase_add_test(tc, conv1d_shapes_and_gradcheck);
    tcase_add_test(tc, conv_transpose2d_shapes_and_gradcheck);
    suite_add_tcase(s, tc);
    tc = tcase_create("pool");
    tcase_add_test(tc, pool_shapes_and_errors);
    tcase_add_test(tc, pool_gradcheck);
    tcase_add_test(tc, global_avg_pool_flatten_reshape);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
