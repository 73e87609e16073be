/* test_layers_model.c — the layer kinds inside graph models: a small CNN
 * (conv2d → relu → max_pool2d → flatten → dense) and a residual block
 * (conv2d → batch_norm → relu → conv2d → batch_norm, add with its input,
 * global_avg_pool → dense) gradchecked through the model, trained until the
 * loss falls, batch_norm's running statistics in the state buffer updated by
 * training and used by evaluation. */
#include "test_model_grad.h"

/* Images of the toy task: one channel, SIDE × SIDE. */
#define SIDE 6
/* Brightness added to the lit half of an image. */
#define LIT 1.0
/* Noise of every pixel. */
#define NOISE 0.3

#define ck_ok(s, e) ck_assert_msg((s) == BM_OK, "%s", (e).msg)

static void add_node(bm_model *m, const char *name, bm_layer_spec s, const char *in)
{
    bm_error e = {0};
    ck_ok(bm_model_add_node(m, name, &s, 1, &in, &e), e);
}

static bm_layer_spec conv(size_t out, size_t k, size_t pad)
{
    bm_layer_spec s = bm_layer_default(BM_LAYER_CONV2D);
    s.out = out;
    s.kernel[0] = s.kernel[1] = k;
    s.padding[0] = s.padding[1] = pad;
    return s;
}

/* conv2d → relu → max_pool2d → flatten → dense on [1,SIDE,SIDE]. */
static bm_model *small_cnn(bm_dtype dt)
{
    bm_error e = {0};
    bm_model *m = bm_model_new(dt, SIDE * SIDE, &e);
    ck_assert_ptr_nonnull(m);
    bm_shape in = {.rank = 3, .dim = {1, SIDE, SIDE}};
    ck_ok(bm_model_set_input_shape(m, &in, &e), e);
    bm_layer_spec pool = bm_layer_default(BM_LAYER_MAX_POOL2D), dense = bm_dense_spec(0, 2);
    pool.kernel[0] = pool.kernel[1] = 2;
    dense.init = BM_INIT_GLOROT;
    add_node(m, "conv1", conv(3, 3, 1), "input");
    add_node(m, "relu1", bm_layer_default(BM_LAYER_RELU), "conv1");
    add_node(m, "pool1", pool, "relu1");
    add_node(m, "flat", bm_layer_default(BM_LAYER_FLATTEN), "pool1");
    add_node(m, "fc", dense, "flat");
    ck_ok(bm_model_set_loss(m, BM_LOSS_SOFTMAX_CCE, &e), e);
    ck_ok(bm_model_init(m, 5, &e), e);
    return m;
}

/* conv → bn → relu → conv → bn, + input, → global_avg_pool → dense. */
static bm_model *residual_block(bm_dtype dt)
{
    bm_error e = {0};
    bm_model *m = bm_model_new(dt, 2 * SIDE * SIDE, &e);
    ck_assert_ptr_nonnull(m);
    bm_shape in = {.rank = 3, .dim = {2, SIDE, SIDE}};
    ck_ok(bm_model_set_input_shape(m, &in, &e), e);
    bm_layer_spec bn = bm_layer_default(BM_LAYER_BATCH_NORM), dense = bm_dense_spec(0, 2);
    dense.init = BM_INIT_GLOROT;
    add_node(m, "c1", conv(2, 3, 1), "input");
    add_node(m, "bn1", bn, "c1");
    add_node(m, "r1", bm_layer_default(BM_LAYER_RELU), "bn1");
    add_node(m, "c2", conv(2, 3, 1), "r1");
    add_node(m, "bn2", bn, "c2");
    const char *sum_in[2] = {"bn2", "input"};
    bm_layer_spec add = bm_layer_default(BM_LAYER_ADD);
    ck_ok(bm_model_add_node(m, "sum", &add, 2, sum_in, &e), e);
    add_node(m, "gap", bm_layer_default(BM_LAYER_GLOBAL_AVG_POOL), "sum");
    add_node(m, "fc", dense, "gap");
    ck_ok(bm_model_set_loss(m, BM_LOSS_SOFTMAX_CCE, &e), e);
    ck_ok(bm_model_init(m, 11, &e), e);
    return m;
}

/* N images of `channels` × SIDE × SIDE: class 1 lit in the top half, class 0 in the bottom. */
static bm_dataset images(size_t n, size_t channels, uint64_t seed)
{
    bm_error e = {0};
    bm_dataset ds = {0};
    size_t xs[2] = {n, channels * SIDE * SIDE}, ys[1] = {n};
    ds.x = bm_tensor_new(BM_F32, 2, xs, &e);
    ds.y = bm_tensor_new(BM_F32, 1, ys, &e);
    ds.n_classes = 2;
    ck_assert_ptr_nonnull(ds.x);
    bm_rng r;
    bm_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        size_t cls = i % 2;
        bm_tensor_set(ds.y, i, (double)cls);
        for (size_t j = 0; j < xs[1]; j++) {
            size_t row = j % (SIDE * SIDE) / SIDE;
            int lit = cls ? row < SIDE / 2 : row >= SIDE / 2;
            bm_tensor_set(ds.x, i * xs[1] + j, (lit ? LIT : 0.0) + NOISE * bm_rng_normal(&r));
        }
    }
    return ds;
}

/* gradcheck and gradgradcheck of the loss w.r.t. every trained parameter. */
static void gradcheck_model(bm_model *m, size_t width, int training)
{
    enum { B = 3 };
    bm_tape *t = bm_tape_new();
    size_t xs[2] = {B, width}, ys[1] = {B};
    bm_tensor *x = bm_tape_leaf(t, BM_F64, 2, xs, 0), *y = bm_tape_leaf(t, BM_F64, 1, ys, 0);
    bm_rng r;
    bm_rng_seed(&r, 9);
    for (size_t i = 0; i < x->size; i++)
        bm_tensor_set(x, i, bm_rng_normal(&r));
    for (size_t i = 0; i < B; i++)
        bm_tensor_set(y, i, (double)(i % 2));
    bm_tensor *loss = bm_model_record(m, t, x, y, training, NULL);
    ck_assert_msg(loss != NULL, "%s", bm_tape_error(t));
    ck_assert_uint_gt(bm_tm_check_params(m, t, loss), 0);
    bm_tape_free(t);
}

/* Fit `epochs` with Adam and assert the loss falls below `ratio` of the start. */
static void fit_and_fall(bm_model *m, size_t channels, uint64_t epochs, double ratio)
{
    bm_error e = {0};
    bm_optim_config oc = bm_optim_defaults(BM_OPT_ADAM);
    oc.lr = 0.02;
    ck_ok(bm_model_set_optimizer(m, &oc, &e), e);
    bm_dataset ds = images(32, channels, 4);
    double loss0, acc0, loss1, acc1;
    ck_ok(bm_model_evaluate(m, &ds, &loss0, &acc0, &e), e);
    bm_fit_opts fo = bm_fit_defaults();
    fo.epochs = epochs;
    fo.batch_size = 8;
    fo.shuffle = 1;
    ck_ok(bm_model_fit(m, &ds, &fo, &e), e);
    ck_ok(bm_model_evaluate(m, &ds, &loss1, &acc1, &e), e);
    ck_assert_msg(loss1 < ratio * loss0 && acc1 > 0.9, "loss %g -> %g, accuracy %g -> %g",
                  loss0, loss1, acc0, acc1);
    bm_dataset_free(&ds);
}

START_TEST(small_cnn_shapes_gradients_and_training)
{
    bm_model *m = small_cnn(BM_F64);
    ck_assert_uint_eq(bm_model_node_shape(m, 2)->dim[1], SIDE / 2); /* pool1 [3,3,3] */
    ck_assert_uint_eq(bm_model_node_shape(m, 3)->dim[0], 3 * 3 * 3); /* flat [27] */
    ck_assert_uint_eq(bm_model_layer(m, 0)->in, 1);                  /* channels inferred */
    ck_assert_uint_eq(bm_model_n_params(m), (3 * 9 + 3) + (27 * 2 + 2));
    bm_tensor *w = bm_model_param(m, "conv1.weights");
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(w->rank, 4);
    for (size_t i = 0; i < w->size; i++) /* U(±1/√fan_in), fan_in 9 */
        ck_assert_double_le(fabs(bm_tensor_get(w, i)), 1.0 / 3.0);
    gradcheck_model(m, SIDE * SIDE, 1);
    bm_model_free(m);
    m = small_cnn(BM_F32);
    fit_and_fall(m, 1, 30, 0.1);
    bm_model_free(m);
}
END_TEST

START_TEST(residual_block_with_batch_norm)
{
    bm_model *m = residual_block(BM_F64);
    ck_assert_uint_eq(bm_model_n_state(m), 2 * 2 * 2); /* two norms, mean and var of 2 */
    const double *st = bm_model_state(m);
    ck_assert_ptr_nonnull(st);
    bm_tensor *var = bm_model_param(m, "bn1.running_var");
    bm_tensor *mean = bm_model_param(m, "bn1.running_mean");
    ck_assert_ptr_nonnull(var);
    ck_assert_ptr_nonnull(mean);
    for (size_t c = 0; c < 2; c++) {
        ck_assert_double_eq(bm_tensor_get(mean, c), 0.0);
        ck_assert_double_eq(bm_tensor_get(var, c), 1.0);
    }
    gradcheck_model(m, 2 * SIDE * SIDE, 1);
    gradcheck_model(m, 2 * SIDE * SIDE, 0);
    bm_model_free(m);

    m = residual_block(BM_F32);
    fit_and_fall(m, 2, 40, 0.1);
    /* training moved the running statistics away from 0 and 1 */
    var = bm_model_param(m, "bn2.running_var");
    mean = bm_model_param(m, "bn2.running_mean");
    ck_assert(bm_tensor_get(mean, 0) != 0.0 && bm_tensor_get(var, 0) != 1.0);
    /* evaluation uses them: predictions do not depend on the rest of the batch */
    bm_dataset ds = images(4, 2, 8);
    bm_error e = {0};
    bm_tensor *p4 = NULL, *p1 = NULL;
    ck_ok(bm_model_predict(m, ds.x, &p4, &e), e);
    size_t one[2] = {1, 2 * SIDE * SIDE};
    bm_tensor *x1 = bm_tensor_from(BM_F32, 2, one, ds.x->data, &e);
    ck_ok(bm_model_predict(m, x1, &p1, &e), e);
    for (size_t k = 0; k < 2; k++)
        ck_near(bm_tensor_get(p1, k), bm_tensor_get(p4, k), 1e-6);
    bm_tensor_free(p1);
    bm_tensor_free(p4);
    bm_tensor_free(x1);
    bm_dataset_free(&ds);
    bm_model_free(m);
}
END_TEST

START_TEST(readme_cnn_sequential_shorthand)
{
    /* README's "Layer kinds" example, as written there */
    bm_error err = {0};
    bm_model *m = bm_model_new(BM_F32, 28 * 28, &err);
    bm_shape img = {.rank = 3, .dim = {1, 28, 28}};
    ck_ok(bm_model_set_input_shape(m, &img, &err), err);
    bm_layer_spec c1 = bm_layer_default(BM_LAYER_CONV2D);
    bm_layer_spec pool = bm_layer_default(BM_LAYER_MAX_POOL2D);
    c1.out = 8, c1.kernel[0] = c1.kernel[1] = 3, c1.padding[0] = c1.padding[1] = 1;
    pool.kernel[0] = pool.kernel[1] = 2;
    bm_layer_spec relu = bm_layer_default(BM_LAYER_RELU), flat = bm_layer_default(BM_LAYER_FLATTEN);
    bm_layer_spec fc = bm_dense_spec(0, 10);
    const bm_layer_spec *specs[5] = {&c1, &relu, &pool, &flat, &fc};
    for (int k = 0; k < 5; k++)
        ck_ok(bm_model_add(m, specs[k], &err), err);
    ck_ok(bm_model_init(m, 1, &err), err);
    ck_assert_uint_eq(bm_model_layer(m, 4)->in, 8 * 14 * 14);
    ck_assert_uint_eq(bm_model_n_params(m), (8 * 9 + 8) + (8 * 14 * 14 * 10 + 10));
    ck_assert_uint_eq(bm_model_n_outputs(m), 10);
    ck_assert_ptr_nonnull(bm_model_param(m, "layers[0].weights"));
    bm_model_free(m);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("layers_model");
    TCase *tc = tcase_create("models");
    tcase_add_test(tc, small_cnn_shapes_gradients_and_training);
    tcase_add_test(tc, residual_block_with_batch_norm);
    tcase_add_test(tc, readme_cnn_sequential_shorthand);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
