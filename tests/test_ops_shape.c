/* test_ops_shape.c — the shape and indexing ops and prod: values against
 * hand-worked results (negative indices, steps, broadcasting, repeated
 * indices), prod's exact gradient with zeros, masked_fill's −inf under
 * anomaly detection, and bad input: each refusal's status and a message
 * naming the op, and indices out of range caught when the op runs (also
 * on replay) before any element is read or written. Gradcheck and
 * gradgradcheck of every op run in test_ops (ops/op_cases_shape.c). */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "test_util.h"

/* A leaf of dtype dt holding vals (rank ≤ 4). */
static bm_tensor *leaf(bm_tape *t, bm_dtype dt, int rank, const size_t *shape,
                       const double *vals, unsigned flags)
{
    bm_tensor *x = bm_tape_leaf(t, dt, rank, shape, flags);
    ck_assert_ptr_nonnull(x);
    for (size_t i = 0; vals && i < x->size; i++)
        bm_tensor_set(x, i, vals[i]);
    return x;
}
#define LEAF(t, dt, rank, shape, ...) leaf(t, dt, rank, (size_t[])shape, (double[]){__VA_ARGS__}, 0)
/* The same, requiring a gradient. */
#define LEAFG(t, dt, rank, shape, ...) \
    leaf(t, dt, rank, (size_t[])shape, (double[]){__VA_ARGS__}, BM_REQUIRES_GRAD)
#define SH(...) {__VA_ARGS__}

/* y has the given shape and values. */
static void expect(const bm_tensor *y, int rank, const size_t *shape, const double *vals)
{
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(y->rank, rank);
    size_t size = 1;
    for (int k = 0; k < rank; k++) {
        ck_assert_uint_eq(y->shape[k], shape[k]);
        size *= shape[k];
    }
    ck_assert_uint_eq(y->size, size);
    for (size_t i = 0; i < size; i++)
        ck_assert_msg(bm_tensor_get(y, i) == vals[i], "[%zu] = %g, expected %g", i,
                      bm_tensor_get(y, i), vals[i]);
}
#define EXPECT(y, rank, shape, ...) expect(y, rank, (size_t[])shape, (double[]){__VA_ARGS__})

/* The builder refused: NULL, status code, message naming fn; then clear. */
static void refused_at(int line, bm_tape *t, const bm_tensor *y, bm_status code, const char *fn)
{
    ck_assert_msg(y == NULL, "line %d: %s was not refused", line, fn);
    ck_assert_msg(bm_tape_status(t) == code, "line %d: status %s, expected %s: %s", line,
                  bm_status_name(bm_tape_status(t)), bm_status_name(code), bm_tape_error(t));
    ck_assert_msg(strstr(bm_tape_error(t), fn) == bm_tape_error(t), "message '%s' lacks '%s'",
                  bm_tape_error(t), fn);
    bm_tape_clear_error(t);
}
#define refused(t, y, code, fn) refused_at(__LINE__, t, y, code, fn)

/* 0, 1, .., n-1 as a tensor of shape. */
static bm_tensor *iota(bm_tape *t, bm_dtype dt, int rank, const size_t *shape, unsigned flags)
{
    bm_tensor *x = leaf(t, dt, rank, shape, NULL, flags);
    for (size_t i = 0; i < x->size; i++)
        bm_tensor_set(x, i, (double)i);
    return x;
}

START_TEST(permute_transpose_squeeze_values)
{
    for (int f = 0; f < 2; f++) {
        bm_dtype dt = f ? BM_F32 : BM_F64;
        bm_tape *t = bm_tape_new();
        bm_tensor *x = iota(t, dt, 3, (size_t[]){2, 3, 2}, 0);
        EXPECT(bm_permute(t, x, 3, (int[]){2, 0, -2}), 3, SH(2, 2, 3),
               0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11);
        EXPECT(bm_transpose_axes(t, x, 0, -1), 3, SH(2, 3, 2), 0, 6, 2, 8, 4, 10, 1, 7, 3, 9,
               5, 11);
        EXPECT(bm_transpose(t, x), 3, SH(2, 2, 3), 0, 2, 4, 1, 3, 5, 6, 8, 10, 7, 9, 11);
        EXPECT(bm_transpose_axes(t, x, 1, 1), 3, SH(2, 3, 2), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
               11);
        bm_tensor *u = bm_unsqueeze(t, x, -1);
        ck_assert_ptr_nonnull(u);
        ck_assert_int_eq(u->rank, 4);
        ck_assert_uint_eq(u->shape[3], 1);
        bm_tensor *s = bm_squeeze(t, x, 1); /* size 3: kept, as torch */
        ck_assert_int_eq(s->rank, 3);
        bm_tensor *v = bm_unsqueeze(t, bm_unsqueeze(t, iota(t, dt, 1, (size_t[]){3}, 0), 0), 2);
        ck_assert_int_eq(v->rank, 3);
        ck_assert_uint_eq(v->shape[1], 3);
        EXPECT(bm_squeeze(t, v, BM_AXIS_ALL), 1, SH(3), 0, 1, 2);
        EXPECT(bm_squeeze(t, v, 0), 2, SH(3, 1), 0, 1, 2);
        bm_tape_free(t);
    }
}
END_TEST

START_TEST(slice_pad_concat_values)
{
    for (int f = 0; f < 2; f++) {
        bm_dtype dt = f ? BM_F32 : BM_F64;
        bm_tape *t = bm_tape_new();
        bm_tensor *x = iota(t, dt, 2, (size_t[]){3, 5}, 0);
        /* x[-2:, ::2], x[:, 1:-1:3], x[-99:99] (clamped) */
        EXPECT(bm_slice(t, x, 2, (bm_range[]){{-2, BM_END, 1}, {0, BM_END, 2}}), 2, SH(2, 3),
               5, 7, 9, 10, 12, 14);
        EXPECT(bm_slice_axis(t, x, -1, 1, -1, 3), 2, SH(3, 1), 1, 6, 11);
        EXPECT(bm_slice(t, x, 1, (bm_range[]){{-99, 99, 2}}), 2, SH(2, 5), 0, 1, 2, 3, 4, 10,
               11, 12, 13, 14);
        bm_tensor *g = iota(t, dt, 2, (size_t[]){1, 2}, 0);
        EXPECT(bm_slice_backward(t, g, 2, (size_t[]){2, 4}, 2,
                                 (bm_range[]){{1, 2, 1}, {1, BM_END, 2}}),
               2, SH(2, 4), 0, 0, 0, 0, 0, 0, 0, 1);
        bm_tensor *r = iota(t, dt, 2, (size_t[]){2, 2}, 0);
        EXPECT(bm_pad(t, r, (long[]){0, 1}, (long[]){1, 0}, -1.0), 2, SH(3, 3), -1, 0, 1, -1, 2,
               3, -1, -1, -1);
        bm_tensor *a = iota(t, dt, 2, (size_t[]){2, 2}, 0);
        bm_tensor *b = iota(t, dt, 2, (size_t[]){2, 1}, 0);
        EXPECT(bm_concat(t, 2, (bm_tensor *[]){a, b}, -1), 2, SH(2, 3), 0, 1, 0, 2, 3, 1);
        EXPECT(bm_concat(t, 1, (bm_tensor *[]){a}, 0), 2, SH(2, 2), 0, 1, 2, 3);
        EXPECT(bm_stack(t, 2, (bm_tensor *[]){a, a}, 1), 3, SH(2, 2, 2), 0, 1, 0, 1, 2, 3, 2, 3);
        EXPECT(bm_stack(t, 2, (bm_tensor *[]){a, a}, -1), 3, SH(2, 2, 2), 0, 0, 1, 1, 2, 2, 3, 3);
        bm_tensor *parts[3];
        ck_assert_int_eq(bm_split(t, x, 1, 3, (size_t[]){1, 3, 1}, parts), BM_OK);
        EXPECT(parts[0], 2, SH(3, 1), 0, 5, 10);
        EXPECT(parts[1], 2, SH(3, 3), 1, 2, 3, 6, 7, 8, 11, 12, 13);
        EXPECT(parts[2], 2, SH(3, 1), 4, 9, 14);
        bm_tape_free(t);
    }
}
END_TEST

START_TEST(index_values)
{
    for (int f = 0; f < 2; f++) {
        bm_dtype dt = f ? BM_F32 : BM_F64;
        bm_tape *t = bm_tape_new();
        bm_tensor *x = iota(t, dt, 2, (size_t[]){3, 4}, 0);
        bm_tensor *i0 = LEAF(t, dt, 2, SH(2, 3), 2, 0, 1, 0, 2, 2);
        EXPECT(bm_gather(t, x, 0, i0), 2, SH(2, 3), 8, 1, 6, 0, 9, 10);
        EXPECT(bm_gather(t, x, 1, i0), 2, SH(2, 3), 2, 0, 1, 4, 6, 6);
        bm_tensor *src = LEAF(t, dt, 2, SH(2, 3), 1, 2, 3, 4, 5, 6);
        /* column 1 gets src[0][1] at row 0 and src[1][1] at row 2, ... */
        EXPECT(bm_scatter_add(t, x, 0, i0, src), 2, SH(3, 4), 4, 3, 2, 3, 4, 5, 9, 7, 9, 14,
               16, 11);
        bm_tensor *k = LEAF(t, dt, 1, SH(3), 3, 0, 3);
        EXPECT(bm_index_select(t, x, 1, k), 2, SH(3, 3), 3, 0, 3, 7, 4, 7, 11, 8, 11);
        bm_tensor *s3 = LEAF(t, dt, 2, SH(3, 3), 1, 1, 1, 1, 1, 1, 1, 1, 1);
        /* repeated index 3 adds both columns of s3 */
        EXPECT(bm_index_add(t, x, 1, k, s3), 2, SH(3, 4), 1, 1, 2, 5, 5, 5, 6, 9, 9, 9, 10, 13);
        bm_tensor *w = iota(t, dt, 2, (size_t[]){3, 2}, BM_REQUIRES_GRAD);
        bm_tensor *ids = LEAF(t, dt, 2, SH(2, 2), 2, 0, 2, 2);
        bm_tensor *e = bm_embedding(t, ids, w);
        EXPECT(e, 3, SH(2, 2, 2), 4, 5, 0, 1, 4, 5, 4, 5);
        /* the gradient adds G's rows at the (repeated) indices */
        ck_assert_int_eq(bm_tape_backward(t, bm_sum(t, e, BM_AXIS_ALL, 0), NULL), BM_OK);
        double dw[6] = {1, 1, 0, 0, 3, 3};
        for (int j = 0; j < 6; j++)
            ck_assert(bm_tensor_grad_get(w, (size_t)j) == dw[j]);
        bm_tape_free(t);
    }
}
END_TEST

START_TEST(where_mask_compare_values)
{
    for (int f = 0; f < 2; f++) {
        bm_dtype dt = f ? BM_F32 : BM_F64;
        bm_tape *t = bm_tape_new();
        bm_tensor *a = LEAF(t, dt, 2, SH(2, 3), 1, -2, 3, 0, 5, NAN);
        bm_tensor *b = LEAF(t, dt, 1, SH(3), 1, 0, 4);
        EXPECT(bm_eq(t, a, b), 2, SH(2, 3), 1, 0, 0, 0, 0, 0);
        EXPECT(bm_ne(t, a, b), 2, SH(2, 3), 0, 1, 1, 1, 1, 1);
        EXPECT(bm_lt(t, a, b), 2, SH(2, 3), 0, 1, 1, 1, 0, 0);
        EXPECT(bm_le(t, a, b), 2, SH(2, 3), 1, 1, 1, 1, 0, 0);
        EXPECT(bm_gt(t, a, b), 2, SH(2, 3), 0, 0, 0, 0, 1, 0);
        EXPECT(bm_ge(t, a, b), 2, SH(2, 3), 1, 0, 0, 0, 1, 0);
        bm_tensor *c = LEAF(t, dt, 2, SH(2, 1), 1, 0);
        bm_tensor *y = LEAF(t, dt, 0, SH(1), 9);
        EXPECT(bm_where(t, c, b, y), 2, SH(2, 3), 1, 0, 4, 9, 9, 9);
        EXPECT(bm_masked_fill(t, b, LEAF(t, dt, 1, SH(3), 0, 2, 0), 7), 1, SH(3), 1, 7, 4);
        bm_tape_free(t);
    }
}
END_TEST

/* A causal mask of −inf before softmax: anomaly detection accepts it, the
 * masked probabilities are 0 and every gradient is finite (also on replay). */
START_TEST(masked_fill_minus_inf_anomaly)
{
    bm_tape *t = bm_tape_new();
    ck_assert_int_eq(bm_tape_set_detect_anomaly(t, 1), 0);
    bm_tensor *s = LEAFG(t, BM_F64, 2, SH(3, 3), .1, .2, .3, .4, .5, .6, .7, .8, .9);
    bm_tensor *mask = LEAF(t, BM_F64, 2, SH(3, 3), 0, 1, 1, 0, 0, 1, 0, 0, 0);
    bm_tensor *m = bm_masked_fill(t, s, mask, -INFINITY);
    ck_assert_msg(m != NULL, "%s", bm_tape_error(t));
    bm_tensor *p = bm_softmax(t, m);
    ck_assert_msg(p != NULL, "%s", bm_tape_error(t));
    ck_assert(bm_tensor_get(p, 1) == 0.0 && bm_tensor_get(p, 2) == 0.0 && bm_tensor_get(p, 0) == 1.0);
    bm_tensor *loss = bm_sum(t, bm_mul(t, p, s), BM_AXIS_ALL, 0);
    ck_assert_int_eq(bm_tape_backward(t, loss, NULL), BM_OK);
    /* masked places get no gradient, the others do */
    for (size_t i = 0; i < 9; i++)
        ck_assert(isfinite(bm_tensor_grad_get(s, i)) &&
                  (bm_tensor_grad_get(s, i) == 0) == (i == 1 || i == 2 || i == 5));
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    /* anomaly detection still catches an op that makes −inf by accident */
    ck_assert_ptr_null(bm_log(t, bm_masked_fill(t, s, mask, 0.0)));
    ck_assert_int_eq(bm_tape_status(t), BM_ERR_NUMERIC);
    bm_tape_free(t);
}
END_TEST

/* prod's gradient with zeros is exact: Π of the other elements. */
START_TEST(prod_zeros_exact)
{
    for (int f = 0; f < 2; f++) {
        bm_dtype dt = f ? BM_F32 : BM_F64;
        bm_tape *t = bm_tape_new();
        /* rows: no zero, one zero, two zeros */
        bm_tensor *x = LEAFG(t, dt, 2, SH(3, 3), 2, 3, 4, 2, 0, 5, 0, 3, 0);
        bm_tensor *y = bm_prod(t, x, 1, 0);
        EXPECT(y, 1, SH(3), 24, 0, 0);
        ck_assert_int_eq(bm_tape_backward(t, bm_sum(t, y, BM_AXIS_ALL, 0), NULL), BM_OK);
        double dx[9] = {12, 8, 6, 0, 10, 0, 0, 0, 0};
        for (size_t i = 0; i < 9; i++)
            ck_assert_msg(bm_tensor_grad_get(x, i) == dx[i], "[%zu] %g", i, bm_tensor_grad_get(x, i));
        bm_tensor *all = bm_prod(t, bm_slice_axis(t, x, 0, 0, 2, 1), BM_AXIS_ALL, 1);
        ck_assert_int_eq(all->rank, 2);
        bm_tensor_zero_grad(x);
        ck_assert_int_eq(bm_tape_backward(t, bm_sum(t, all, BM_AXIS_ALL, 0), NULL), BM_OK);
        double da[9] = {0, 0, 0, 0, 240, 0, 0, 0, 0};
        for (size_t i = 0; i < 9; i++)
            ck_assert(bm_tensor_grad_get(x, i) == da[i]);
        /* second derivative in the two-zero row: ∂²/∂x6∂x8 = x7 = 3 */
        bm_tensor *g = NULL, *h = NULL;
        bm_tensor *row = bm_prod(t, bm_slice_axis(t, x, 0, 2, 3, 1), BM_AXIS_ALL, 0);
        ck_assert_int_eq(bm_grad(t, &row, 1, &x, 1, NULL, 1, &g), BM_OK);
        bm_tensor *g8 = bm_slice_axis(t, bm_reshape(t, g, 1, (size_t[]){9}), 0, 8, 9, 1);
        ck_assert_int_eq(bm_grad(t, &g8, 1, &x, 1, NULL, 0, &h), BM_OK);
        ck_assert(bm_tensor_get(h, 6) == 3.0 && bm_tensor_get(h, 7) == 0.0);
        bm_tape_free(t);
    }
}
END_TEST

START_TEST(bad_shapes_and_arguments)
{
    bm_tape *t = bm_tape_new();
    bm_tensor *x = iota(t, BM_F64, 2, (size_t[]){3, 4}, 0);
    bm_tensor *v = iota(t, BM_F64, 1, (size_t[]){4}, 0);
    bm_tensor *x4 = iota(t, BM_F64, 4, (size_t[]){1, 2, 1, 2}, 0);
    refused(t, bm_permute(t, x, 3, (int[]){0, 1, 2}), BM_ERR_RANK, "bm_permute");
    refused(t, bm_permute(t, x, 2, (int[]){1, -1}), BM_ERR_ARG, "bm_permute");
    refused(t, bm_permute(t, x, 2, (int[]){0, 2}), BM_ERR_ARG, "bm_permute");
    refused(t, bm_permute(t, x, 2, NULL), BM_ERR_NULL, "bm_permute");
    refused(t, bm_transpose_axes(t, x, 0, 2), BM_ERR_ARG, "bm_transpose");
    refused(t, bm_transpose_axes(t, v, 0, 0), BM_ERR_RANK, "bm_transpose");
    refused(t, bm_squeeze(t, x, 2), BM_ERR_ARG, "bm_squeeze");
    refused(t, bm_unsqueeze(t, x, 3), BM_ERR_ARG, "bm_unsqueeze");
    refused(t, bm_unsqueeze(t, x4, 0), BM_ERR_RANK, "bm_unsqueeze");
    refused(t, bm_slice_axis(t, x, 1, 0, 2, 0), BM_ERR_ARG, "bm_slice");
    refused(t, bm_slice_axis(t, x, 1, 0, 2, -1), BM_ERR_ARG, "bm_slice");
    refused(t, bm_slice_axis(t, x, 2, 0, 2, 1), BM_ERR_ARG, "bm_slice");
    refused(t, bm_slice_axis(t, x, 0, 2, 1, 1), BM_ERR_SIZE, "bm_slice");
    ck_assert_ptr_nonnull(bm_slice_axis(t, x, 0, -1, BM_END, 1));
    refused(t, bm_slice(t, x, 3, (bm_range[]){{0, 1, 1}, {0, 1, 1}, {0, 1, 1}}), BM_ERR_RANK,
            "bm_slice");
    refused(t, bm_slice(t, x, 5, (bm_range[5]){{0}}), BM_ERR_RANK, "bm_slice");
    refused(t, bm_slice(t, x, 1, NULL), BM_ERR_NULL, "bm_slice");
    refused(t, bm_slice_backward(t, x, 2, (size_t[]){4, 4}, 1, (bm_range[]){{0, 2, 1}}),
            BM_ERR_SHAPE, "bm_slice_backward");
    refused(t, bm_pad(t, x, (long[]){0, -1}, (long[]){0, 0}, 0), BM_ERR_ARG, "bm_pad");
    refused(t, bm_pad(t, x, NULL, (long[]){0, 0}, 0), BM_ERR_NULL, "bm_pad");
    refused(t, bm_pad(t, x, (long[]){LONG_MAX, 0}, (long[]){LONG_MAX, 0}, 0), BM_ERR_SIZE,
            "bm_pad");
    EXPECT(bm_slice_axis(t, v, 0, 1, BM_END, LONG_MAX), 1, SH(1), 1);
    bm_tensor *y = iota(t, BM_F64, 2, (size_t[]){3, 5}, 0);
    refused(t, bm_concat(t, 2, (bm_tensor *[]){x, y}, 0), BM_ERR_SHAPE, "bm_concat");
    refused(t, bm_concat(t, 2, (bm_tensor *[]){x, v}, 0), BM_ERR_SHAPE, "bm_concat");
    refused(t, bm_concat(t, 2, (bm_tensor *[]){x, y}, 2), BM_ERR_ARG, "bm_concat");
    refused(t, bm_concat(t, 0, (bm_tensor *[]){x}, 0), BM_ERR_ARG, "bm_concat");
    refused(t, bm_stack(t, 2, (bm_tensor *[]){x, y}, 0), BM_ERR_SHAPE, "bm_stack");
    refused(t, bm_stack(t, 2, (bm_tensor *[]){x4, x4}, 0), BM_ERR_RANK, "bm_stack");
    refused(t, bm_stack(t, 2, (bm_tensor *[]){x, x}, -4), BM_ERR_ARG, "bm_stack");
    bm_tensor *parts[2];
    ck_assert_int_eq(bm_split(t, x, 1, 2, (size_t[]){1, 2}, parts), BM_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(bm_tape_error(t), "bm_split"));
    bm_tape_clear_error(t);
    ck_assert_int_eq(bm_split(t, x, 1, 0, (size_t[]){1}, parts), BM_ERR_ARG);
    bm_tape_clear_error(t);
    /* sizes that wrap around to the axis size, or a 0 part, are refused */
    ck_assert_int_eq(bm_split(t, x, 1, 2, (size_t[]){SIZE_MAX, 5}, parts), BM_ERR_SHAPE);
    bm_tape_clear_error(t);
    ck_assert_int_eq(bm_split(t, x, 1, 2, (size_t[]){0, 4}, parts), BM_ERR_SHAPE);
    bm_tape_clear_error(t);
    bm_tensor *i2 = LEAF(t, BM_F64, 2, SH(2, 5), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    refused(t, bm_gather(t, x, 0, i2), BM_ERR_SHAPE, "bm_gather");
    refused(t, bm_gather(t, x, 0, v), BM_ERR_SHAPE, "bm_gather");
    refused(t, bm_gather(t, x, -3, i2), BM_ERR_ARG, "bm_gather");
    bm_tensor *i23 = LEAF(t, BM_F64, 2, SH(2, 3), 0, 0, 0, 0, 0, 0);
    refused(t, bm_scatter_add(t, x, 0, i23, y), BM_ERR_SHAPE, "bm_scatter_add");
    refused(t, bm_index_select(t, x, 0, i23), BM_ERR_RANK, "bm_index_select");
    refused(t, bm_index_add(t, x, 0, v, y), BM_ERR_SHAPE, "bm_index_add");
    refused(t, bm_embedding(t, v, v), BM_ERR_RANK, "bm_embedding");
    refused(t, bm_embedding(t, x4, x), BM_ERR_RANK, "bm_embedding");
    bm_tensor *c3 = iota(t, BM_F64, 1, (size_t[]){3}, 0);
    refused(t, bm_where(t, c3, x, x), BM_ERR_SHAPE, "bm_where");
    refused(t, bm_where(t, x, x, c3), BM_ERR_SHAPE, "bm_where");
    refused(t, bm_masked_fill(t, v, x, 0), BM_ERR_SHAPE, "bm_masked_fill");
    refused(t, bm_lt(t, x, c3), BM_ERR_SHAPE, "bm_lt");
    refused(t, bm_prod(t, x, 2, 0), BM_ERR_ARG, "bm_prod");
    bm_tensor *xf = iota(t, BM_F32, 2, (size_t[]){3, 4}, 0);
    refused(t, bm_gather(t, xf, 0, i23), BM_ERR_DTYPE, "bm_gather");
    bm_tape_free(t);
}
END_TEST

/* Indices that are not integers in range fail the op when it runs — at
 * record time, and on replay after the caller changed them — with the op,
 * the value and its position in the message. */
START_TEST(indices_out_of_range)
{
    static const double bad[] = {4, -1, 0.5, NAN, 1e300};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        bm_tape *t = bm_tape_new();
        bm_tensor *x = iota(t, BM_F64, 2, (size_t[]){3, 4}, BM_REQUIRES_GRAD);
        bm_tensor *src = iota(t, BM_F64, 2, (size_t[]){1, 2}, 0);
        bm_tensor *i = LEAF(t, BM_F64, 2, SH(1, 2), 0, bad[b]);
        bm_tensor *k = LEAF(t, BM_F64, 1, SH(2), bad[b], 1);
        refused(t, bm_gather(t, x, 1, i), BM_ERR_ARG, "bm_gather");
        refused(t, bm_scatter_add(t, x, 1, i, src), BM_ERR_ARG, "bm_scatter_add");
        refused(t, bm_index_select(t, x, 1, k), BM_ERR_ARG, "bm_index_select");
        refused(t, bm_index_add(t, x, 0, k, iota(t, BM_F64, 2, (size_t[]){2, 4}, 0)), BM_ERR_ARG,
                "bm_index_add");
        refused(t, bm_embedding(t, k, x), BM_ERR_ARG, "bm_embedding");
        bm_tensor_set(k, 0, 2);
        bm_tensor *e = bm_embedding(t, k, x);
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(bm_tape_forward(t), BM_OK);
        bm_tensor_set(k, 0, bad[b] == 4 ? 3 : bad[b]); /* row 3 of [3,4]: out of range */
        ck_assert_int_eq(bm_tape_forward(t), BM_ERR_ARG);
        ck_assert_ptr_nonnull(strstr(bm_tape_error(t), "bm_embedding: index"));
        ck_assert_ptr_nonnull(strstr(bm_tape_error(t), "not in 0..2"));
        bm_tape_free(t);
    }
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("ops_shape");
    TCase *tc = tcase_create("shape");
    tcase_add_test(tc, permute_transpose_squeeze_values);
    tcase_add_test(tc, slice_pad_concat_values);
    tcase_add_test(tc, index_values);
    tcase_add_test(tc, where_mask_compare_values);
    tcase_add_test(tc, masked_fill_minus_inf_anomaly);
    tcase_add_test(tc, prod_zeros_exact);
    tcase_add_test(tc, bad_shapes_and_arguments);
    tcase_add_test(tc, indices_out_of_range);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
