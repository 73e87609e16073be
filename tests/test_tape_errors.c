/* test_tape_errors.c — the tape on bad input: a shape mismatch per op family,
 * ranks above four, backward seeds of the wrong shape or dtype, and the
 * sticky error (the first one kept, NULL propagated, cleared explicitly). */
#include "test_tape_util.h"

/* ------------------------------------------------------------ bad input */

/* One fresh tape per bad call: the builder returns NULL with the error. */
START_TEST(shape_mismatch_per_op_family)
{
    bm_tape *t = bm_tape_new();
    bm_rng r;
    bm_rng_seed(&r, 1);
    bm_tensor *a34 = leaf(t, 2, (size_t[]){3, 4}, NULL, BM_REQUIRES_GRAD);
    bm_tensor *a33 = leaf(t, 2, (size_t[]){3, 3}, NULL, BM_REQUIRES_GRAD);
    bm_tensor *v3 = leaf(t, 1, (size_t[]){3}, NULL, 0);
    bm_tensor *s0 = leaf(t, 0, NULL, NULL, 0);

    ck_assert_ptr_null(bm_matmul(t, a34, a33));
    ck_assert_int_eq(bm_tape_status(t), BM_ERR_SHAPE);
    ck_assert_str_eq(bm_tape_error(t), "bm_matmul: [3,4] x [3,3]: inner sizes differ");
    bm_tape_clear_error(t);

    ck_assert_ptr_null(bm_add(t, a34, a33));
    expect_error(t, BM_ERR_SHAPE, "bm_add", "[3,4]", "[3,3]");
    bm_tape_clear_error(t);

    /* cce targets neither [3] indices nor [3,4] one-hot */
    ck_assert_ptr_null(bm_cce(t, a34, a33));
    expect_error(t, BM_ERR_SHAPE, "bm_cce", "[3,4]", "[3,3]");
    bm_tape_clear_error(t);
    ck_assert_ptr_null(bm_softmax_cce(t, a34, leaf(t, 1, (size_t[]){4}, NULL, 0)));
    expect_error(t, BM_ERR_SHAPE, "bm_softmax_cce", "[3,4]", "[4]");
    bm_tape_clear_error(t);

    ck_assert_ptr_null(bm_reshape(t, a34, 2, (size_t[]){5, 2}));
    expect_error(t, BM_ERR_SHAPE, "bm_reshape", "[3,4]", "[5,2]");
    bm_tape_clear_error(t);

    ck_assert_ptr_null(bm_transpose(t, v3));
    expect_error(t, BM_ERR_RANK, "bm_transpose", "[3]", NULL);
    bm_tape_clear_error(t);

    ck_assert_ptr_null(bm_softmax(t, s0));
    expect_error(t, BM_ERR_RANK, "bm_softmax", "[]", NULL);
    bm_tape_clear_error(t);

    ck_assert_ptr_null(bm_sum(t, a34, 2, 0));
    expect_error(t, BM_ERR_ARG, "bm_sum", "[3,4]", "axis 2");
    bm_tape_clear_error(t);
    ck_assert_ptr_null(bm_mean(t, a34, -3, 1));
    expect_error(t, BM_ERR_ARG, "bm_mean", "axis -3", NULL);
    bm_tape_clear_error(t);

    ck_assert_ptr_null(bm_dropout(t, a34, 1.0, &r));
    expect_error(t, BM_ERR_ARG, "bm_dropout", "rate 1", NULL);
    bm_tape_clear_error(t);

    ck_assert_ptr_null(bm_l2(t, a34, -0.5));
    expect_error(t, BM_ERR_ARG, "bm_l2", "-0.5", NULL);
    bm_tape_clear_error(t);

    ck_assert_ptr_null(bm_mse(t, a34, a33));
    expect_error(t, BM_ERR_SHAPE, "bm_mse", "[3,4]", "[3,3]");
    bm_tape_clear_error(t);

    /* a class index out of range names the row */
    const double bad[3] = {0, 4, 1};
    bm_tensor *y = leaf(t, 1, (size_t[]){3}, bad, 0);
    ck_assert_ptr_null(bm_cce(t, a34, y));
    expect_error(t, BM_ERR_ARG, "bm_cce", "row 1", "4");
    bm_tape_clear_error(t);
    ck_assert_ptr_null(bm_softmax_cce(t, a34, y));
    expect_error(t, BM_ERR_ARG, "bm_softmax_cce", "row 1", NULL);
    bm_tape_clear_error(t);
    /* ... and on replay, when new targets are written into the leaf */
    bm_tensor_set(y, 1, 2);
    bm_tensor *l = bm_softmax_cce(t, a34, y);
    ck_assert_msg(l != NULL, "%s", bm_tape_error(t));
    bm_tensor_set(y, 2, -1);
    ck_assert_int_eq(bm_tape_forward(t), BM_ERR_ARG);
    expect_error(t, BM_ERR_ARG, "bm_softmax_cce", "row 2", NULL);
    bm_tape_free(t);
}
END_TEST

START_TEST(rank_above_four)
{
    const size_t s5[5] = {1, 2, 1, 2, 1};
    bm_error e = {BM_OK, ""};
    ck_assert_ptr_null(bm_tensor_new(BM_F64, 5, s5, &e));
    ck_assert_int_eq(e.code, BM_ERR_RANK);
    ck_assert_ptr_nonnull(strstr(e.msg, "rank 5"));
    ck_assert_ptr_null(bm_tensor_new(BM_F32, -1, s5, NULL)); /* no err: still no crash */

    bm_tape *t = bm_tape_new();
    ck_assert_ptr_null(bm_tape_leaf(t, BM_F64, 5, s5, 0));
    expect_error(t, BM_ERR_RANK, "bm_tape_leaf", "rank 5", NULL);
    bm_tape_clear_error(t);

    bm_tensor *x = leaf(t, 2, (size_t[]){2, 2}, NULL, 0);
    ck_assert_ptr_null(bm_reshape(t, x, 5, s5));
    expect_error(t, BM_ERR_RANK, "bm_reshape", "5", NULL);
    bm_tape_clear_error(t);
    ck_assert_ptr_nonnull(bm_reshape(t, x, 4, s5)); /* [1,2,1,2] is fine */
    bm_tape_free(t);
}
END_TEST

START_TEST(backward_seeds)
{
    bm_tape *t = bm_tape_new();
    bm_tensor *x = leaf(t, 2, (size_t[]){2, 3}, NULL, BM_REQUIRES_GRAD);
    bm_tensor *y = bm_tanh(t, x);
    ck_assert_int_eq(bm_tape_backward(t, y, NULL), BM_ERR_SHAPE);
    expect_error(t, BM_ERR_SHAPE, "bm_tape_backward", "[2,3]", "not a scalar");
    bm_tape_clear_error(t);

    bm_tensor *wrong = leaf(t, 2, (size_t[]){3, 2}, NULL, 0);
    ck_assert_int_eq(bm_tape_backward(t, y, wrong), BM_ERR_SHAPE);
    expect_error(t, BM_ERR_SHAPE, "bm_tape_backward", "[3,2]", "[2,3]");
    bm_tape_clear_error(t);

    bm_tensor *right = leaf(t, 2, (size_t[]){2, 3}, NULL, 0);
    for (size_t i = 0; i < 6; i++)
        bm_tensor_set(right, i, (double)i);
    ck_assert_int_eq(bm_tape_backward(t, y, right), BM_OK);
    ck_assert_double_eq(bm_tensor_grad_get(x, 5), 5.0); /* tanh'(0) = 1 */

    ck_assert_int_eq(bm_tape_backward(t, NULL, NULL), BM_ERR_NULL);
    bm_tape_clear_error(t);
    ck_assert_int_eq(bm_tape_backward(NULL, y, NULL), BM_ERR_NULL);
    /* a leaf that needs no gradient */
    ck_assert_int_eq(bm_tape_backward(t, right, right), BM_ERR_STATE);
    bm_tape_free(t);
}
END_TEST

START_TEST(sticky_error)
{
    bm_tape *t = bm_tape_new();
    bm_tensor *a34 = leaf(t, 2, (size_t[]){3, 4}, NULL, BM_REQUIRES_GRAD);
    bm_tensor *a33 = leaf(t, 2, (size_t[]){3, 3}, NULL, BM_REQUIRES_GRAD);
    size_t before = bm_tape_size(t);
    ck_assert_int_eq(bm_tape_status(t), BM_OK);
    ck_assert_str_eq(bm_tape_error(t), "");

    bm_tensor *bad = bm_matmul(t, a34, a33);
    ck_assert_ptr_null(bad);
    const char *first = "bm_matmul: [3,4] x [3,3]: inner sizes differ";
    /* later builders return NULL (valid inputs or not); the first message stays */
    ck_assert_ptr_null(bm_relu(t, bad));
    ck_assert_ptr_null(bm_matmul(t, a33, a34));           /* valid, still NULL */
    ck_assert_ptr_null(bm_transpose(t, a34));
    ck_assert_ptr_null(bm_reshape(t, a34, 9, NULL));      /* bad and NULL shape: no crash */
    ck_assert_ptr_null(bm_dropout(t, a34, 2.0, NULL));
    ck_assert_ptr_null(bm_l1(t, a34, -1.0));
    ck_assert_ptr_null(bm_tape_leaf(t, BM_F64, 1, (size_t[]){2}, 0));
    ck_assert_int_eq(bm_tape_backward(t, a34, NULL), BM_ERR_SHAPE);
    ck_assert_int_eq(bm_tape_forward(t), BM_ERR_SHAPE);
    ck_assert_int_eq(bm_tape_status(t), BM_ERR_SHAPE);
    ck_assert_str_eq(bm_tape_error(t), first);
    ck_assert_uint_eq(bm_tape_size(t), before);
    /* a NULL into a fresh error names the op and the NULL */
    bm_tape_clear_error(t);
    ck_assert_int_eq(bm_tape_status(t), BM_OK);
    ck_assert_str_eq(bm_tape_error(t), "");
    ck_assert_ptr_null(bm_relu(t, NULL));
    expect_error(t, BM_ERR_NULL, "bm_relu", "NULL", NULL);
    bm_tape_clear_error(t);
    /* after clearing, builders work again */
    bm_tensor *ok = bm_matmul(t, a33, a34);
    ck_assert_msg(ok != NULL, "%s", bm_tape_error(t));
    ck_assert_uint_eq(bm_tape_size(t), before + 1);
    /* a NULL tape answers without crashing */
    ck_assert_ptr_null(bm_relu(NULL, a34));
    ck_assert_int_eq(bm_tape_status(NULL), BM_ERR_NULL);
    bm_tape_free(t);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("tape_errors");
    TCase *b = tcase_create("bad_input");
    tcase_add_test(b, shape_mismatch_per_op_family);
    tcase_add_test(b, rank_above_four);
    tcase_add_test(b, backward_seeds);
    tcase_add_test(b, sticky_error);
    suite_add_tcase(s, b);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
