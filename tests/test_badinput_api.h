/* test_badinput_api.h — the C API part of the bad-input table
 * (test_badinput.c): one small function per misuse of tensors, tape
 * builders, backward, gradcheck, name parsers, models and optimizers,
 * each returning the status it got with the message in *e. */
#ifndef BM_TEST_BADINPUT_API_H
#define BM_TEST_BADINPUT_API_H

#include "test_util.h"

/* One call of the C API with bad arguments: runs it, fills e. */
typedef struct api_case {
    const char *what;
    bm_status (*run)(bm_error *e);
    bm_status code;
    const char *msg;
} api_case;

static const size_t SH2[2] = {2, 3}, SH5[5] = {1, 1, 1, 1, 1}, SH0[2] = {2, 0};

/* A tensor call's result as a status (frees what it made). */
static bm_status made(bm_tensor *t, const bm_error *e)
{
    bm_tensor_free(t);
    return t ? BM_OK : e->code;
}

/* The tape's sticky error into e, then free the tape. */
static bm_status tape_result(bm_tape *t, bm_error *e)
{
    bm_status s = bm_tape_status(t);
    bm_error_set(e, s, "%s", bm_tape_error(t));
    bm_tape_free(t);
    return s;
}

static bm_status rank5(bm_error *e) { return made(bm_tensor_new(BM_F32, 5, SH5, e), e); }
static bm_status rank_neg(bm_error *e) { return made(bm_tensor_new(BM_F32, -1, SH5, e), e); }
static bm_status zero_dim(bm_error *e) { return made(bm_tensor_new(BM_F64, 2, SH0, e), e); }
static bm_status negative_dim(bm_error *e)
{
    size_t sh[2] = {2, (size_t)-3}; /* a negative size cast to size_t */
    return made(bm_tensor_new(BM_F64, 2, sh, e), e);
}
static bm_status null_shape(bm_error *e) { return made(bm_tensor_new(BM_F32, 2, NULL, e), e); }
static bm_status bad_dtype(bm_error *e) { return made(bm_tensor_new((bm_dtype)9, 2, SH2, e), e); }
static bm_status null_src(bm_error *e) { return made(bm_tensor_from(BM_F32, 2, SH2, NULL, e), e); }
static bm_status null_view(bm_error *e)
{
    return made(bm_tensor_view(BM_F32, 2, SH2, NULL, NULL, e), e);
}
static bm_status null_copy(bm_error *e) { return made(bm_tensor_copy(NULL, e), e); }
static bm_status arange_zero(bm_error *e) { return made(bm_tensor_arange(BM_F32, 0, 0, 1, e), e); }
static bm_status randn_no_rng(bm_error *e)
{
    return made(bm_tensor_randn(BM_F32, 2, SH2, 0, 1, NULL, e), e);
}
static bm_status requires_grad_null(bm_error *e) { return bm_tensor_set_requires_grad(NULL, 1, e); }
static bm_status load_mismatch(bm_error *e)
{
    bm_tensor *t = bm_tensor_new(BM_F64, 2, SH2, e);
    double v[5] = {0};
    bm_status s = bm_tensor_load(t, v, 5, e);
    bm_tensor_free(t);
    return s;
}
static bm_status load_null(bm_error *e)
{
    bm_tensor *t = bm_tensor_new(BM_F64, 2, SH2, e);
    bm_status s = bm_tensor_load(t, NULL, 6, e);
    bm_tensor_free(t);
    return s;
}
static bm_status leaf_rank5(bm_error *e)
{
    bm_tape *t = bm_tape_new();
    ck_assert_ptr_null(bm_tape_leaf(t, BM_F32, 5, SH5, 0));
    return tape_result(t, e);
}
static bm_status matmul_shapes(bm_error *e)
{
    bm_tape *t = bm_tape_new();
    size_t a[2] = {3, 4}, b[2] = {3, 3};
    ck_assert_ptr_null(
        bm_matmul(t, bm_tape_leaf(t, BM_F32, 2, a, 0), bm_tape_leaf(t, BM_F32, 2, b, 0)));
    return tape_result(t, e);
}
static bm_status dtype_mix(bm_error *e)
{
    bm_tape *t = bm_tape_new();
    ck_assert_ptr_null(
        bm_add(t, bm_tape_leaf(t, BM_F32, 2, SH2, 0), bm_tape_leaf(t, BM_F64, 2, SH2, 0)));
    return tape_result(t, e);
}
static bm_status null_input(bm_error *e)
{
    bm_tape *t = bm_tape_new();
    ck_assert_ptr_null(bm_relu(t, NULL));
    return tape_result(t, e);
}
static bm_status reshape_size(bm_error *e)
{
    bm_tape *t = bm_tape_new();
    size_t to[1] = {7};
    ck_assert_ptr_null(bm_reshape(t, bm_tape_leaf(t, BM_F32, 2, SH2, 0), 1, to));
    return tape_result(t, e);
}
static bm_status sum_axis(bm_error *e)
{
    bm_tape *t = bm_tape_new();
    ck_assert_ptr_null(bm_sum(t, bm_tape_leaf(t, BM_F32, 2, SH2, 0), 7, 0));
    return tape_result(t, e);
}
/* Record sum(x*x) for x [3] on t (f64 unless f32). */
static bm_tensor *square_sum(bm_tape *t, int f32, bm_tensor **x)
{
    size_t sh[1] = {3};
    *x = bm_tape_leaf(t, f32 ? BM_F32 : BM_F64, 1, sh, BM_REQUIRES_GRAD);
    bm_tensor *y = bm_sum(t, bm_mul(t, *x, *x), -1, 0);
    ck_assert_ptr_nonnull(y);
    return y;
}
static bm_status backward_after_reset(bm_error *e)
{
    bm_tape *t = bm_tape_new();
    bm_tensor *x, *y = square_sum(t, 0, &x);
    ck_assert_int_eq(bm_tape_backward(t, y, NULL), BM_OK);
    ck_assert_int_eq(bm_tape_backward(t, y, NULL), BM_OK); /* twice: documented, adds */
    ck_near(bm_tensor_grad_get(x, 0), 0.0, 0.0);           /* x = 0: 2x twice is 0 */
    bm_tape_reset(t);
    bm_tape_backward(t, y, NULL); /* y was forgotten by the reset */
    return tape_result(t, e);
}
static bm_status backward_foreign(bm_error *e)
{
    bm_tape *a = bm_tape_new(), *b = bm_tape_new();
    bm_tensor *x, *y = square_sum(b, 0, &x);
    bm_tape_backward(a, y, NULL);
    bm_tape_free(b);
    return tape_result(a, e);
}
static bm_status backward_not_scalar(bm_error *e)
{
    bm_tape *t = bm_tape_new();
    bm_tensor *x = bm_tape_leaf(t, BM_F64, 2, SH2, BM_REQUIRES_GRAD);
    bm_tape_backward(t, bm_relu(t, x), NULL);
    return tape_result(t, e);
}
static bm_status backward_no_grad(bm_error *e)
{
    bm_tape *t = bm_tape_new();
    bm_tape_set_grad_enabled(t, 0);
    bm_tensor *x, *y = square_sum(t, 0, &x);
    bm_tape_backward(t, y, NULL);
    return tape_result(t, e);
}
static bm_status backward_null(bm_error *e)
{
    bm_tape *t = bm_tape_new();
    bm_tape_backward(t, NULL, NULL);
    return tape_result(t, e);
}
static bm_status backward_seed_shape(bm_error *e)
{
    bm_tape *t = bm_tape_new();
    bm_tensor *x = bm_tape_leaf(t, BM_F64, 2, SH2, BM_REQUIRES_GRAD);
    bm_tensor *seed = bm_tape_leaf(t, BM_F64, 1, SH2, 0);
    bm_tape_backward(t, bm_relu(t, x), seed);
    return tape_result(t, e);
}
static bm_status sticky_error(bm_error *e)
{
    bm_tape *t = bm_tape_new();
    bm_tensor *x, *y = square_sum(t, 0, &x);
    ck_assert_ptr_null(bm_relu(t, NULL)); /* first error sticks ... */
    ck_assert_ptr_null(bm_relu(t, x));    /* ... later builders return NULL */
    ck_assert_int_eq(bm_tape_backward(t, y, NULL), BM_ERR_NULL);
    return tape_result(t, e);
}
static bm_status gradcheck_f32(bm_error *e)
{
    bm_tape *t = bm_tape_new();
    bm_tensor *x, *y = square_sum(t, 1, &x);
    bm_gradcheck_result r;
    bm_status s = bm_gradcheck(t, y, &x, 1, NULL, &r);
    bm_error_set(e, s, "%s", r.message);
    bm_tape_free(t);
    return s;
}
static bm_status gradcheck_not_leaf(bm_error *e)
{
    bm_tape *t = bm_tape_new();
    bm_tensor *x, *y = square_sum(t, 0, &x);
    bm_tensor *mid = bm_relu(t, x), *out = bm_sum(t, mid, -1, 0);
    bm_gradcheck_result r;
    bm_status s = bm_gradcheck(t, out, &mid, 1, NULL, &r);
    (void)y;
    bm_error_set(e, s, "%s", r.message);
    bm_tape_free(t);
    return s;
}
static bm_status unknown_layer(bm_error *e)
{
    bm_layer_kind k;
    return bm_layer_kind_parse("convolution", &k, e);
}
static bm_status unknown_optimizer(bm_error *e)
{
    bm_optim_kind k;
    return bm_optim_kind_parse("lamb", &k, e);
}
static bm_status unknown_loss(bm_error *e)
{
    bm_loss_kind k;
    return bm_loss_parse("hinge", &k, e);
}
static bm_status unknown_init(bm_error *e)
{
    bm_init i;
    return bm_init_parse("xavier", &i, e);
}
static bm_status null_name(bm_error *e)
{
    bm_optim_kind k;
    return bm_optim_kind_parse(NULL, &k, e);
}
static bm_status model_zero_inputs(bm_error *e)
{
    bm_model *m = bm_model_new(BM_F32, 0, e);
    bm_model_free(m);
    return m ? BM_OK : e->code;
}
static bm_status dense_zero_out(bm_error *e)
{
    bm_model *m = bm_model_new(BM_F32, 2, e);
    bm_layer_spec d = bm_dense_spec(2, 0);
    bm_status s = bm_model_add(m, &d, e);
    bm_model_free(m);
    return s;
}
static bm_status optim_negative_lr(bm_error *e)
{
    bm_optim_config c = bm_optim_defaults(BM_OPT_ADAM);
    c.lr = -1;
    bm_optim *o = bm_optim_new(&c, BM_F32, 4, e);
    bm_optim_free(o);
    return o ? BM_OK : e->code;
}
static bm_status save_csv_rank1(bm_error *e)
{
    size_t n[1] = {3};
    bm_dataset ds = {bm_tensor_new(BM_F64, 1, n, e), bm_tensor_new(BM_F64, 1, n, e), 2};
    bm_status s = bm_data_save_csv(&ds, "/nonexistent/never-written.csv", e);
    bm_dataset_free(&ds);
    return s;
}
static bm_status csv_bad_dtype(bm_error *e)
{
    bm_dataset ds;
    return bm_data_load_csv(&ds, "x.csv", NULL, (bm_dtype)3, e);
}

static const api_case API[] = {
    {"tensor rank 5", rank5, BM_ERR_RANK, "rank 5 is outside 0..4"},
    {"tensor rank -1", rank_neg, BM_ERR_RANK, "rank -1 is outside 0..4"},
    {"tensor zero dimension", zero_dim, BM_ERR_SIZE, "dimension 1 is 0"},
    {"tensor negative dimension", negative_dim, BM_ERR_SIZE,
     "shape overflows: more than 1099511627776 elements at dimension 1"},
    {"tensor NULL shape", null_shape, BM_ERR_NULL, "shape is NULL for rank 2"},
    {"tensor unknown dtype", bad_dtype, BM_ERR_DTYPE, "unknown dtype 9"},
    {"tensor_from NULL source", null_src, BM_ERR_NULL, "bm_tensor_from: source array is NULL"},
    {"tensor_view NULL data", null_view, BM_ERR_NULL, "bm_tensor_view: data is NULL"},
    {"tensor_copy NULL", null_copy, BM_ERR_NULL, "bm_tensor_copy: tensor is NULL"},
    {"arange of 0 elements", arange_zero, BM_ERR_SIZE, "dimension 0 is 0"},
    {"randn without rng", randn_no_rng, BM_ERR_NULL, "bm_tensor_randn: rng is NULL"},
    {"requires_grad on NULL", requires_grad_null, BM_ERR_NULL,
     "bm_tensor_set_requires_grad: tensor is NULL"},
    {"tensor_load size mismatch", load_mismatch, BM_ERR_SIZE,
     "bm_tensor_load: 5 values for 6 elements"},
    {"tensor_load NULL values", load_null, BM_ERR_NULL, "bm_tensor_load: NULL argument"},
    {"tape leaf rank 5", leaf_rank5, BM_ERR_RANK, "bm_tape_leaf: rank 5 is outside 0..4"},
    {"matmul inner sizes", matmul_shapes, BM_ERR_SHAPE, "bm_matmul: [3,4] x [3,3]"},
    {"add f32 + f64", dtype_mix, BM_ERR_DTYPE,
     "bm_add: dtype mix: input 0 f32 [2,3], input 1 f64 [2,3]"},
    {"builder NULL input", null_input, BM_ERR_NULL, "bm_relu: input 0 is NULL"},
    {"reshape to another size", reshape_size, BM_ERR_SHAPE, "bm_reshape"},
    {"sum over axis 7", sum_axis, BM_ERR_ARG, "bm_sum"},
    {"backward after reset", backward_after_reset, BM_ERR_STATE,
     "bm_tape_backward: output [] is not recorded on this tape"},
    {"backward on another tape's tensor", backward_foreign, BM_ERR_STATE,
     "bm_tape_backward: output [] is not recorded on this tape"},
    {"backward non-scalar without seed", backward_not_scalar, BM_ERR_SHAPE,
     "bm_tape_backward: output [2,3] is not a scalar"},
    {"backward in no-grad mode", backward_no_grad, BM_ERR_STATE,
     "bm_tape_backward: output [] needs no gradient"},
    {"backward NULL output", backward_null, BM_ERR_NULL, "bm_tape_backward: output is NULL"},
    {"backward seed shape", backward_seed_shape, BM_ERR_SHAPE,
     "seed f64 [2] does not match output f64 [2,3]"},
    {"sticky error", sticky_error, BM_ERR_NULL, "bm_relu: input 0 is NULL"},
    {"gradcheck on f32", gradcheck_f32, BM_ERR_DTYPE, "gradcheck runs in f64"},
    {"gradcheck on a non-leaf", gradcheck_not_leaf, BM_ERR_ARG,
     "input 0 must be an f64 leaf with a gradient"},
    {"unknown layer name", unknown_layer, BM_ERR_ARG, "unknown layer type 'convolution'"},
    {"unknown optimizer name", unknown_optimizer, BM_ERR_ARG, "unknown optimizer 'lamb'"},
    {"unknown loss name", unknown_loss, BM_ERR_ARG, "unknown loss 'hinge'"},
    {"unknown initialiser name", unknown_init, BM_ERR_ARG, "unknown initialiser 'xavier'"},
    {"NULL optimizer name", null_name, BM_ERR_NULL, "bm_optim_kind_parse: name is NULL"},
    {"model with 0 inputs", model_zero_inputs, BM_ERR_SIZE,
     "bm_model_new: input width 0 is not in 1.."},
    {"dense layer of 0 outputs", dense_zero_out, BM_ERR_SIZE, "2x0"},
    {"optimizer lr < 0", optim_negative_lr, BM_ERR_ARG, "lr"},
    {"save_csv of rank-1 x", save_csv_rank1, BM_ERR_SHAPE, "bm_data_save_csv: need x [N,F]"},
    {"load_csv unknown dtype", csv_bad_dtype, BM_ERR_DTYPE, "bm_data_load_csv: unknown dtype 3"},
};
#define N_API (sizeof API / sizeof API[0])

#endif
