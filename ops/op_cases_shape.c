/* op_cases_shape.c — gradcheck examples of the shape and indexing ops
 * (issue 10 §1) and prod: every parameter variant, odd sizes, negative
 * axes and indices, broadcasting; index tensors and masks are leaves made
 * by the builders (integers stored as numbers). */
#include "op_cases_internal.h"

/* A constant leaf of like's dtype and the given shape holding vals (NULL
 * when like is: the op then reports its NULL input). */
static bm_tensor *leaf_of(bm_tape *t, const bm_tensor *like, int rank, const size_t *shape,
                          const double *vals)
{
    if (!like)
        return NULL;
    bm_tensor *x = bm_tape_leaf(t, like->dtype, rank, shape, 0);
    for (size_t i = 0; x && i < x->size; i++)
        bm_tensor_set(x, i, vals[i]);
    return x;
}
#define LEAF(like, rank, shape, ...) \
    leaf_of(t, like, rank, (size_t[])shape, (double[]){__VA_ARGS__})

/* x with the elements at flat positions pos[0..n) made exactly 0 (x − c,
 * c a constant copy of them): prod's zero cases keep their gradient. */
static bm_tensor *with_zeros(bm_tape *t, bm_tensor *x, const size_t *pos, int n)
{
    if (!x)
        return NULL;
    bm_tensor *c = bm_tape_leaf(t, x->dtype, x->rank, x->shape, 0);
    for (int k = 0; c && k < n; k++)
        bm_tensor_set(c, pos[k], bm_tensor_get(x, pos[k]));
    return bm_sub(t, x, c);
}

B1(permute3, bm_permute(t, in[0], 3, (int[]){2, 0, 1}))
B1(permute4, bm_permute(t, in[0], 4, (int[]){-1, 1, 0, 2}))
B1(transpose02, bm_transpose_axes(t, in[0], 0, -1))
B1(transpose13, bm_transpose_axes(t, in[0], 3, 1))
B1(squeeze1, bm_squeeze(t, in[0], -2))
B1(squeeze_all, bm_squeeze(t, in[0], BM_AXIS_ALL))
B1(unsqueeze0, bm_unsqueeze(t, in[0], 0))
B1(unsqueeze_end, bm_unsqueeze(t, in[0], -1))
B1(slice_step, bm_slice(t, in[0], 2, (bm_range[]){{1, BM_END, 2}, {-4, -1, 1}}))
B1(slice_axis, bm_slice_axis(t, in[0], -1, 0, 100, 3))
B1(slice_backward, bm_slice_backward(t, in[0], 2, (size_t[]){5, 7}, 2,
                                     (bm_range[]){{-4, BM_END, 2}, {1, 6, 2}}))
B1(pad, bm_pad(t, in[0], (long[]){1, 0}, (long[]){2, 3}, -0.5))
B1(pad3, bm_pad(t, in[0], (long[]){0, 2, 1}, (long[]){1, 0, 1}, 0.0))
B1(concat0, bm_concat(t, 3, in, 0))
B1(concat_last, bm_concat(t, 2, in, -1))
B1(stack0, bm_stack(t, 3, in, 0))
B1(stack_last, bm_stack(t, 2, in, -1))
B1(gather0, bm_gather(t, in[0], 0, LEAF(in[0], 2, SH(2, 4), 2, 0, 1, 2, 0, 0, 2, 1)))
B1(gather_last, bm_gather(t, in[0], -1, LEAF(in[0], 3, SH(2, 2, 3), 4, 0, 4, 1, 1, 3, 0, 2, 2,
                                               3, 3, 0)))
B1(scatter_add0, bm_scatter_add(t, in[0], 0, LEAF(in[0], 2, SH(2, 4), 1, 0, 2, 1, 1, 2, 2, 0),
                                in[1]))
B1(scatter_add1, bm_scatter_add(t, in[0], 1, LEAF(in[0], 3, SH(2, 1, 3), 3, 0, 3, 1, 1, 0),
                                in[1]))
B1(index_select1, bm_index_select(t, in[0], 1, LEAF(in[0], 1, SH(4), 4, 0, 4, 2)))
B1(index_select0, bm_index_select(t, in[0], 0, LEAF(in[0], 1, SH(2), 1, 1)))
B1(index_add1, bm_index_add(t, in[0], -1, LEAF(in[0], 1, SH(4), 4, 0, 4, 2), in[1]))
B1(embedding, bm_embedding(t, LEAF(in[0], 2, SH(2, 3), 4, 0, 2, 2, 1, 4), in[0]))
B1(embedding1, bm_embedding(t, LEAF(in[0], 1, SH(4), 1, 1, 0, 2), in[0]))
B1(where, bm_where(t, in[0] ? bm_gt(t, in[0], bm_tape_scalar(t, in[0]->dtype, 0.0)) : NULL,
                   in[1], in[2]))
B1(masked_fill, bm_masked_fill(t, in[0], LEAF(in[0], 2, SH(1, 4), 1, 0, 0, 1), -2.5))
B1(masked_fill_col, bm_masked_fill(t, in[0], LEAF(in[0], 3, SH(2, 3, 1), 0, 1, 1, 0, 0, 1), 3.0))
B1(eq, in[0] ? bm_eq(t, in[0], bm_slice_axis(t, in[0], 1, 1, 2, 1)) : bm_eq(t, NULL, NULL))
B1(ne, bm_ne(t, in[0], in[1]))
B1(lt, bm_lt(t, in[0], in[1]))
B1(le, in[0] ? bm_le(t, in[0], bm_slice_axis(t, in[0], 0, 0, 1, 1)) : bm_le(t, NULL, NULL))
B1(gt, bm_gt(t, in[0], in[1]))
B1(ge, in[0] ? bm_ge(t, in[0], bm_slice_axis(t, in[0], -1, 2, 3, 1)) : bm_ge(t, NULL, NULL))
B1(prod1, bm_prod(t, in[0], 1, 0))
B1(prod_last_keep, bm_prod(t, in[0], -1, 1))
B1(prod_all, bm_prod(t, in[0], BM_AXIS_ALL, 0))
/* one zero in some rows, two in another (whose first gradient is all 0;
 * its second is not), along axis 1 of [3,5] */
B1(prod_zeros, bm_prod(t, with_zeros(t, in[0], (size_t[]){1, 7, 8, 14}, 4), 1, 0))
/* zeros along axis 0 of [4,3]: column 0 one, column 2 two */
B1(prod_zeros0, bm_prod(t, with_zeros(t, in[0], (size_t[]){3, 2, 8}, 3), 0, 1))
B1(prod_all_zero, bm_prod(t, with_zeros(t, in[0], (size_t[]){4}, 1), BM_AXIS_ALL, 1))
B1(permute2, bm_permute(t, in[0], 2, (int[]){-1, 0}))
B1(transpose_neg, bm_transpose_axes(t, in[0], -3, -2))
B1(squeeze0, bm_squeeze(t, in[0], 0))
B1(slice4, bm_slice(t, in[0], 4, (bm_range[]){{-1, BM_END, 1}, {0, BM_END, 2}, {1, 3, 1},
                                             {-5, -1, 3}}))
B1(slice_backward3, bm_slice_backward(t, in[0], 3, (size_t[]){2, 5, 3}, 2,
                                      (bm_range[]){{0, BM_END, 1}, {-5, BM_END, 3}}))
B1(pad1, bm_pad(t, in[0], (long[]){3}, (long[]){1}, 2.0))
B1(pad4, bm_pad(t, in[0], (long[]){1, 0, 0, 2}, (long[]){0, 1, 1, 0}, 0.25))
B1(concat2, bm_concat(t, 3, in, 2))
B1(concat1, bm_concat(t, 1, in, 0))
B1(stack_mid, bm_stack(t, 2, in, 1))
B1(stack1, bm_stack(t, 1, in, 0))
B1(gather1, bm_gather(t, in[0], 0, LEAF(in[0], 1, SH(6), 4, 0, 0, 2, 3, 4)))
B1(gather4, bm_gather(t, in[0], 1, LEAF(in[0], 4, SH(1, 2, 2, 2), 2, 0, 1, 1, 0, 0, 2, 1)))
B1(scatter_add_1d, bm_scatter_add(t, in[0], -1, LEAF(in[0], 1, SH(5), 1, 1, 3, 0, 1), in[1]))
B1(index_select4, bm_index_select(t, in[0], -1, LEAF(in[0], 1, SH(5), 2, 0, 2, 1, 2)))
B1(index_add0, bm_index_add(t, in[0], 0, LEAF(in[0], 1, SH(3), 1, 1, 0), in[1]))
B1(embedding3, bm_embedding(t, LEAF(in[0], 3, SH(2, 2, 2), 0, 3, 3, 1, 2, 0, 1, 1), in[0]))
/* prod along an axis of length 1: the gradient is G itself */
B1(prod_len1, bm_prod(t, in[0], 1, 0))
/* zeros along axis 2 of [2,1,5,2]: rows with one and with two */
B1(prod_zeros4, bm_prod(t, with_zeros(t, in[0], (size_t[]){0, 13, 15}, 3), 2, 0))

const bm_op_case bm_op_cases_shape[] = {
    {"permute", b_permute3, S1(3, 2, 3, 4), ANY, NONE, 0},
    {"permute", b_permute4, S1(4, 2, 3, 1, 3), ANY, NONE, 0},
    {"transpose", b_transpose02, S1(3, 2, 3, 5), ANY, NONE, 0},
    {"transpose", b_transpose13, S1(4, 2, 3, 2, 3), ANY, NONE, 0},
    {"squeeze", b_squeeze1, S1(3, 3, 1, 2), ANY, NONE, 0},
    {"squeeze", b_squeeze_all, S1(4, 1, 3, 1, 2), ANY, NONE, 0},
    {"unsqueeze", b_unsqueeze0, S1(2, 3, 2), ANY, NONE, 0},
    {"unsqueeze", b_unsqueeze_end, S1(3, 2, 1, 3), ANY, NONE, 0},
    {"slice", b_slice_step, S1(3, 5, 6, 2), ANY, NONE, 0},
    {"slice", b_slice_axis, S1(2, 3, 7), ANY, NONE, 0},
    {"slice_backward", b_slice_backward, S1(2, 2, 3), ANY, NONE, 0},
    {"pad", b_pad, S1(2, 3, 2), ANY, NONE, 0},
    {"pad", b_pad3, S1(3, 2, 1, 3), ANY, NONE, 0},
    {"concat", b_concat0, S3(2, 2, 2, SH(2, 3), SH(1, 3), SH(3, 3)), ANY, NONE, 0},
    {"concat", b_concat_last, S2(3, 3, SH(2, 1, 3), SH(2, 1, 2)), ANY, NONE, 0},
    {"stack", b_stack0, S3(2, 2, 2, SH(2, 3), SH(2, 3), SH(2, 3)), ANY, NONE, 0},
    {"stack", b_stack_last, S2(2, 2, SH(3, 2), SH(3, 2)), ANY, NONE, 0},
    {"gather", b_gather0, S1(2, 3, 4), ANY, NONE, 0},
    {"gather", b_gather_last, S1(3, 2, 3, 5), ANY, NONE, 0},
    {"scatter_add", b_scatter_add0, S2(2, 2, SH(3, 5), SH(2, 4)), ANY, NONE, 0},
    {"scatter_add", b_scatter_add1, S2(3, 3, SH(2, 4, 3), SH(2, 1, 3)), ANY, NONE, 0},
    {"index_select", b_index_select1, S1(2, 3, 5), ANY, NONE, 0},
    {"index_select", b_index_select0, S1(3, 2, 3, 2), ANY, NONE, 0},
    {"index_add", b_index_add1, S2(2, 2, SH(3, 5), SH(3, 4)), ANY, NONE, 0},
    {"embedding", b_embedding, S1(2, 5, 3), ANY, NONE, 0},
    {"embedding", b_embedding1, S1(2, 3, 4), ANY, NONE, 0},
    {"where", b_where, S3(2, 2, 2, SH(3, 4), SH(3, 4), SH(3, 4)), ANY, NONE, 0},
    {"where", b_where, S3(2, 2, 1, SH(3, 1), SH(1, 4), SH(4)), ANY, NONE, 0},
    {"masked_fill", b_masked_fill, S1(2, 3, 4), ANY, NONE, 0},
    {"masked_fill", b_masked_fill_col, S1(3, 2, 3, 2), ANY, NONE, 0},
    {"eq", b_eq, S1(2, 3, 4), ANY, NONE, CASE_NODIFF},
    {"ne", b_ne, S2(2, 1, SH(3, 4), SH(4)), ANY, NONE, CASE_NODIFF},
    {"lt", b_lt, S2(2, 2, SH(3, 4), SH(3, 4)), ANY, NONE, CASE_NODIFF},
    {"le", b_le, S1(2, 3, 4), ANY, NONE, CASE_NODIFF},
    {"gt", b_gt, S2(2, 2, SH(3, 1), SH(1, 4)), ANY, NONE, CASE_NODIFF},
    {"ge", b_ge, S1(3, 2, 2, 4), ANY, NONE, CASE_NODIFF},
    {"prod", b_prod1, S1(2, 3, 5), ANY, NONE, 0},
    {"prod", b_prod_last_keep, S1(3, 2, 3, 4), ANY, NONE, 0},
    {"prod", b_prod_all, S1(2, 2, 3), ANY, NONE, 0},
    {"prod", b_prod_zeros, S1(2, 3, 5), ANY, NONE, 0},
    {"prod", b_prod_zeros0, S1(2, 4, 3), ANY, NONE, 0},
    {"prod", b_prod_all_zero, S1(2, 2, 3), ANY, NONE, 0},
    {"permute", b_permute2, S1(2, 3, 5), ANY, NONE, 0},
    {"transpose", b_transpose_neg, S1(3, 3, 2, 4), ANY, NONE, 0},
    {"squeeze", b_squeeze0, S1(1, 1), ANY, NONE, 0},
    {"unsqueeze", b_unsqueeze0, S1(0, 1), ANY, NONE, 0},
    {"slice", b_slice4, S1(4, 2, 3, 4, 5), ANY, NONE, 0},
    {"slice_backward", b_slice_backward3, S1(3, 2, 2, 3), ANY, NONE, 0},
    {"pad", b_pad1, S1(1, 3), ANY, NONE, 0},
    {"pad", b_pad4, S1(4, 1, 2, 1, 3), ANY, NONE, 0},
    {"concat", b_concat2, S3(4, 4, 4, SH(1, 2, 1, 2), SH(1, 2, 3, 2), SH(1, 2, 2, 2)), ANY, NONE, 0},
    {"concat", b_concat1, S1(2, 2, 3), ANY, NONE, 0},
    {"stack", b_stack_mid, S2(3, 3, SH(2, 1, 3), SH(2, 1, 3)), ANY, NONE, 0},
    {"stack", b_stack1, S1(1, 5), ANY, NONE, 0},
    {"gather", b_gather1, S1(1, 5), ANY, NONE, 0},
    {"gather", b_gather4, S1(4, 1, 3, 2, 3), ANY, NONE, 0},
    {"scatter_add", b_scatter_add_1d, S2(1, 1, SH(4), SH(5)), ANY, NONE, 0},
    {"index_select", b_index_select4, S1(4, 2, 1, 2, 3), ANY, NONE, 0},
    {"index_add", b_index_add0, S2(3, 3, SH(2, 3, 2), SH(3, 3, 2)), ANY, NONE, 0},
    {"embedding", b_embedding3, S1(2, 4, 2), ANY, NONE, 0},
    {"where", b_where, S3(3, 2, 3, SH(2, 1, 3), SH(4, 1), SH(2, 1, 1)), ANY, NONE, 0},
    {"prod", b_prod_len1, S1(3, 3, 1, 2), ANY, NONE, 0},
    {"prod", b_prod_zeros4, S1(4, 2, 1, 5, 2), ANY, NONE, 0},
};
const size_t bm_op_cases_shape_n = sizeof bm_op_cases_shape / sizeof bm_op_cases_shape[0];
