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
    bm_tl_expect_error(&c.spec, 1, c.in, BM_ERR_SHAPE, "dense: input 5");
    c.spec.in = 0;
    c.spec.out = 0;
    bm_tl_expect_error(&c.spec, 1, c.in, BM_ERR_SIZE, "dense: out 0");
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
    bm_tl_expect_error(&c.spec, 1, c.in, BM_ERR_ARG, "dropout: rate 1.5");
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
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
