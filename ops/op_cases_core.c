/* op_cases_core.c — gradcheck examples of the engine's and issue 10's
 * first ops: products, elementwise, reductions, losses, convolution. */
#include "op_cases_internal.h"

B1(matmul, bm_matmul(t, in[0], in[1]))
B1(matmul_ta, bm_matmul_ex(t, in[0], in[1], 1, 0))
B1(bmm, bm_bmm(t, in[0], in[1]))
B1(matmul_tb, bm_matmul_ex(t, in[0], in[1], 0, 1))
B1(matmul_tab, bm_matmul_ex(t, in[0], in[1], 1, 1))
B1(linear, bm_linear(t, in[0], in[1], in[2]))
B1(linear_nobias, bm_linear(t, in[0], in[1], NULL))
B1(add, bm_add(t, in[0], in[1]))
B1(sub, bm_sub(t, in[0], in[1]))
B1(mul, bm_mul(t, in[0], in[1]))
B1(div, bm_div(t, in[0], in[1]))
B1(neg, bm_neg(t, in[0]))
B1(scale, bm_scale(t, in[0], -1.5))
B1(add_scalar, bm_add_scalar(t, in[0], 0.75))
B1(exp, bm_exp(t, in[0]))
B1(log, bm_log(t, in[0]))
B1(pow, bm_pow(t, in[0], 2.5))
B1(sqrt, bm_sqrt(t, in[0]))
B1(abs, bm_abs(t, in[0]))
B1(relu, bm_relu(t, in[0]))
B1(sigmoid, bm_sigmoid(t, in[0]))
B1(tanh, bm_tanh(t, in[0]))
B1(sign, bm_sign(t, in[0]))
B1(clamp, bm_clamp(t, in[0], -1.0, 1.0))
B1(gate_open, bm_gate(t, in[0], in[1], 0.0, INFINITY, 1))
B1(gate_closed, bm_gate(t, in[0], in[1], -1.0, 1.0, 0))
B1(softmax_grad, bm_softmax_grad(t, in[0], in[1]))
B1(max_1, bm_max(t, in[0], 1, 0))
B1(max_all, bm_max(t, in[0], BM_AXIS_ALL, 1))
B1(min_last, bm_min(t, in[0], -1, 1))
B1(argmax, bm_argmax(t, in[0], 1, 0))
B1(argmin, bm_argmin(t, in[0], BM_AXIS_ALL, 0))
B1(logsumexp_last, bm_logsumexp(t, in[0], -1, 0))
B1(logsumexp_0, bm_logsumexp(t, in[0], 0, 1))
B1(var_unbiased, bm_var(t, in[0], 1, 1, 0))
B1(var_all, bm_var(t, in[0], BM_AXIS_ALL, 0, 0))
B1(std_0, bm_std(t, in[0], 0, 1, 1))
B1(norm_last, bm_norm(t, in[0], -1, 0))
B1(norm_all, bm_norm(t, in[0], BM_AXIS_ALL, 0))
B1(cumsum_0, bm_cumsum(t, in[0], 0, 0))
B1(cumsum_rev, bm_cumsum(t, in[0], -1, 1))
B1(layer_norm, bm_layer_norm(t, in[0], in[1], in[2], 1e-5))
B1(layer_norm_plain, bm_layer_norm(t, in[0], NULL, NULL, 1e-3))
B1(layer_norm_grad, bm_layer_norm_grad(t, in[0], in[1], in[2], 1e-5))
B1(layer_norm_grad_plain, bm_layer_norm_grad(t, in[0], in[1], NULL, 1e-3))
B1(layer_norm_wgrad, bm_layer_norm_wgrad(t, in[0], in[1], 1e-5))
B1(rms_norm, bm_rms_norm(t, in[0], in[1], 1e-6))
B1(rms_norm_plain, bm_rms_norm(t, in[0], NULL, 0.0))
B1(cross_entropy, bm_cross_entropy(t, in[0], y, BM_NO_IGNORE, 0.0))
B1(cross_entropy_smooth, bm_cross_entropy(t, in[0], y, 1.0, 0.1))
B1(nll_loss, bm_nll_loss(t, in[0], y, 2.0))
B1(huber, bm_huber(t, in[0], y, 0.5))
B1(kl_div, bm_kl_div(t, in[0], y))
static bm_tensor *b_conv2d(bm_tape *t, bm_tensor *const *in, bm_tensor *y, bm_rng *r)
{
    (void)y, (void)r;
    return bm_conv2d(t, in[0], in[1], in[2], NULL);
}
static bm_tensor *b_conv2d_strided(bm_tape *t, bm_tensor *const *in, bm_tensor *y, bm_rng *r)
{
    (void)y, (void)r;
    bm_conv_opts o = bm_conv_defaults();
    o.stride[0] = 2, o.pad[0] = o.pad[1] = 1, o.dilation[1] = 2, o.groups = 2;
    return bm_conv2d(t, in[0], in[1], NULL, &o);
}
/* Winograd F(4x4,3x3) forced on small channel counts: 5x7 outputs are edge
 * tiles on both axes; its transposed form runs conv2d's input gradient. */
static bm_tensor *b_conv2d_wino(bm_tape *t, bm_tensor *const *in, bm_tensor *y, bm_rng *r)
{
    (void)y, (void)r;
    bm_conv_opts o = bm_conv_defaults();
    o.pad[0] = 1, o.pad[1] = 2, o.algo = BM_CONV_WINOGRAD;
    return bm_conv2d(t, in[0], in[1], in[2], &o);
}
static bm_tensor *b_convt_wino(bm_tape *t, bm_tensor *const *in, bm_tensor *y, bm_rng *r)
{
    (void)y, (void)r;
    bm_conv_opts o = bm_conv_defaults();
    o.pad[1] = 1, o.algo = BM_CONV_WINOGRAD;
    return bm_conv_transpose2d(t, in[0], in[1], &o);
}
static bm_tensor *b_wgrad_wino(bm_tape *t, bm_tensor *const *in, bm_tensor *y, bm_rng *r)
{
    (void)y, (void)r;
    bm_conv_opts o = bm_conv_defaults();
    o.pad[0] = 2, o.algo = BM_CONV_WINOGRAD;
    return bm_conv2d_wgrad(t, in[0], in[1], 3, 3, &o);
}
static bm_tensor *b_convt(bm_tape *t, bm_tensor *const *in, bm_tensor *y, bm_rng *r)
{
    (void)y, (void)r;
    bm_conv_opts o = bm_conv_defaults();
    o.stride[0] = o.stride[1] = 2, o.pad[1] = 1, o.output_pad[0] = 1;
    return bm_conv_transpose2d(t, in[0], in[1], &o);
}
static bm_tensor *b_wgrad(bm_tape *t, bm_tensor *const *in, bm_tensor *y, bm_rng *r)
{
    (void)y, (void)r;
    bm_conv_opts o = bm_conv_defaults();
    o.pad[0] = 1;
    return bm_conv2d_wgrad(t, in[0], in[1], 3, 2, &o);
}
B1(square, bm_square(t, in[0]))
B1(reciprocal, bm_reciprocal(t, in[0]))
B1(sin, bm_sin(t, in[0]))
B1(cos, bm_cos(t, in[0]))
B1(erf, bm_erf(t, in[0]))
B1(log1p, bm_log1p(t, in[0]))
B1(expm1, bm_expm1(t, in[0]))
B1(silu, bm_silu(t, in[0]))
B1(gelu_erf, bm_gelu(t, in[0], 0))
B1(gelu_tanh, bm_gelu(t, in[0], 1))
B1(gelu_grad_erf, bm_gelu_grad(t, in[0], in[1], 0))
B1(gelu_grad_tanh, bm_gelu_grad(t, in[0], in[1], 1))
B1(softplus, bm_softplus(t, in[0], 1.5, 2.0))
B1(leaky_relu, bm_leaky_relu(t, in[0], 0.1))
B1(elu, bm_elu(t, in[0], 0.7))
B1(maximum, bm_maximum(t, in[0], in[1]))
B1(minimum, bm_minimum(t, in[0], in[1]))
B1(softmax_cce_grad, bm_softmax_cce_grad(t, in[0], y, in[1]))
B1(expand_col, bm_expand(t, in[0], 3, (size_t[]){2, 3, 4}))
B1(expand_scalar, bm_expand(t, in[0], 2, (size_t[]){2, 3}))
B1(sum_to_col, bm_sum_to(t, in[0], 2, (size_t[]){3, 1}))
B1(sum_to_row, bm_sum_to(t, in[0], 1, (size_t[]){4}))
B1(sum_to_scalar, bm_sum_to(t, in[0], 0, NULL))
B1(one_hot, bm_one_hot(t, y, in[0] ? in[0]->shape[1] : 1))
B1(softmax, bm_softmax(t, in[0]))
B1(log_softmax, bm_log_softmax(t, in[0]))
B1(sum_all, bm_sum(t, in[0], BM_AXIS_ALL, 0))
B1(sum_0, bm_sum(t, in[0], 0, 0))
B1(sum_last_keep, bm_sum(t, in[0], -1, 1))
B1(mean_all, bm_mean(t, in[0], BM_AXIS_ALL, 1))
B1(mean_1, bm_mean(t, in[0], 1, 0))
B1(transpose, bm_transpose(t, in[0]))
B1(reshape, bm_reshape(t, in[0], 2, (size_t[]){in[0] ? in[0]->size / 2 : 1, 2}))
B1(detach, bm_detach(t, in[0]))
B1(cce, bm_cce(t, in[0], y))
B1(softmax_cce, bm_softmax_cce(t, in[0], y))
B1(bce, bm_bce(t, in[0], y))
B1(mse, bm_mse(t, in[0], y))
B1(mae, bm_mae(t, in[0], y))
B1(dropout, bm_dropout(t, in[0], 0.3, r))
B1(l1, bm_l1(t, in[0], 0.1))
B1(l2, bm_l2(t, in[0], 0.05))

const bm_op_case bm_op_cases_core[] = {
    {"matmul", b_matmul, S2(2, 2, SH(3, 4), SH(4, 5)), ANY, NONE, 0},
    {"matmul", b_matmul, S2(2, 2, SH(1, 1), SH(1, 7)), ANY, NONE, 0},
    {"matmul", b_matmul, S2(2, 2, SH(5, 33), SH(33, 2)), ANY, NONE, 0},
    {"matmul", b_matmul_ta, S2(2, 2, SH(4, 3), SH(4, 5)), ANY, NONE, 0},
    {"matmul", b_matmul_tb, S2(2, 2, SH(3, 4), SH(5, 4)), ANY, NONE, 0},
    {"matmul", b_matmul_tab, S2(2, 2, SH(4, 3), SH(5, 4)), ANY, NONE, 0},
    {"matmul", b_bmm, S2(3, 3, SH(2, 3, 4), SH(2, 4, 5)), ANY, NONE, 0},
    {"matmul", b_matmul, S2(4, 2, SH(2, 3, 2, 5), SH(5, 3)), ANY, NONE, 0},
    {"matmul", b_matmul_tb, S2(3, 4, SH(3, 1, 4), SH(2, 1, 5, 4)), ANY, NONE, 0},
    {"linear", b_linear, S3(2, 2, 2, SH(3, 4), SH(4, 5), SH(1, 5)), ANY, NONE, 0},
    {"linear", b_linear, S3(2, 2, 1, SH(5, 33), SH(33, 2), SH(2)), ANY, NONE, 0},
    {"linear", b_linear, S3(2, 2, 2, SH(1, 1), SH(1, 7), SH(1, 7)), ANY, NONE, 0},
    {"linear", b_linear_nobias, S2(2, 2, SH(3, 4), SH(4, 5)), ANY, NONE, 0},
    {"add", b_add, S2(2, 2, SH(3, 4), SH(3, 4)), ANY, NONE, 0},
    {"add", b_add, S2(2, 2, SH(3, 4), SH(1, 4)), ANY, NONE, 0},
    {"add", b_add, S2(3, 1, SH(2, 3, 4), SH(4)), ANY, NONE, 0},
    {"add", b_add, S2(2, 2, SH(3, 1), SH(1, 4)), ANY, NONE, 0},
    {"sub", b_sub, S2(2, 2, SH(3, 4), SH(3, 1)), ANY, NONE, 0},
    {"sub", b_sub, S2(4, 0, SH(2, 1, 3, 2), SH(1)), ANY, NONE, 0},
    {"mul", b_mul, S2(2, 2, SH(3, 4), SH(3, 4)), ANY, NONE, 0},
    {"mul", b_mul, S2(2, 1, SH(5, 3), SH(3)), ANY, NONE, 0},
    {"div", b_div, S2(2, 2, SH(3, 4), SH(3, 4)), POS, NONE, 0},
    {"div", b_div, S2(2, 2, SH(3, 4), SH(1, 4)), POS, NONE, 0},
    {"neg", b_neg, S1(2, 3, 4), ANY, NONE, 0},
    {"scale", b_scale, S1(1, 6), ANY, NONE, 0},
    {"add_scalar", b_add_scalar, S1(3, 2, 2, 2), ANY, NONE, 0},
    {"exp", b_exp, S1(2, 3, 4), ANY, NONE, 0},
    {"log", b_log, S1(2, 3, 4), POS, NONE, 0},
    {"pow", b_pow, S1(2, 3, 4), POS, NONE, 0},
    {"sqrt", b_sqrt, S1(1, 9), POS, NONE, 0},
    {"abs", b_abs, S1(2, 3, 4), ANY, NONE, 0},
    {"relu", b_relu, S1(2, 4, 5), ANY, NONE, 0},
    {"relu", b_relu, S1(0, 1), POS, NONE, 0},
    {"sigmoid", b_sigmoid, S1(2, 3, 4), ANY, NONE, 0},
    {"tanh", b_tanh, S1(2, 3, 4), ANY, NONE, 0},
    {"sign", b_sign, S1(2, 3, 4), ANY, NONE, CASE_NODIFF},
    {"clamp", b_clamp, S1(2, 3, 4), ANY, NONE, 0},
    {"gate", b_gate_open, S2(2, 2, SH(3, 4), SH(3, 4)), ANY, NONE, 0},
    {"gate", b_gate_closed, S2(3, 3, SH(2, 2, 3), SH(2, 2, 3)), ANY, NONE, 0},
    {"softmax_grad", b_softmax_grad, S2(2, 2, SH(3, 5), SH(3, 5)), ANY, NONE, 0},
    {"softmax_grad", b_softmax_grad, S2(3, 3, SH(2, 2, 4), SH(2, 2, 4)), ANY, NONE, 0},
    {"max", b_max_1, S1(2, 3, 4), ANY, NONE, 0},
    {"max", b_max_all, S1(2, 2, 3), ANY, NONE, 0},
    {"min", b_min_last, S1(3, 2, 3, 4), ANY, NONE, 0},
    {"argmax", b_argmax, S1(2, 3, 5), ANY, NONE, CASE_NODIFF},
    {"argmin", b_argmin, S1(2, 3, 4), ANY, NONE, CASE_NODIFF},
    {"logsumexp", b_logsumexp_last, S1(2, 3, 5), ANY, NONE, 0},
    {"logsumexp", b_logsumexp_0, S1(3, 4, 2, 3), ANY, NONE, 0},
    {"var", b_var_unbiased, S1(2, 3, 5), ANY, NONE, 0},
    {"var", b_var_all, S1(2, 2, 3), ANY, NONE, 0},
    {"std", b_std_0, S1(2, 4, 3), ANY, NONE, 0},
    {"norm", b_norm_last, S1(2, 3, 4), ANY, NONE, 0},
    {"norm", b_norm_all, S1(1, 5), ANY, NONE, 0},
    {"cumsum", b_cumsum_0, S1(2, 4, 3), ANY, NONE, 0},
    {"cumsum", b_cumsum_rev, S1(3, 2, 3, 4), ANY, NONE, 0},
    {"layer_norm", b_layer_norm, S3(2, 1, 1, SH(3, 5), SH(5), SH(5)), ANY, NONE, 0},
    {"layer_norm", b_layer_norm_plain, S1(3, 2, 3, 4), ANY, NONE, 0},
    {"layer_norm_grad", b_layer_norm_grad, S3(2, 2, 1, SH(3, 5), SH(3, 5), SH(5)), ANY, NONE, 0},
    {"layer_norm_grad", b_layer_norm_grad_plain, S2(3, 3, SH(2, 3, 4), SH(2, 3, 4)), ANY, NONE, 0},
    {"layer_norm_wgrad", b_layer_norm_wgrad, S2(2, 2, SH(4, 5), SH(4, 5)), ANY, NONE, 0},
    {"layer_norm_wgrad", b_layer_norm_wgrad, S2(3, 3, SH(2, 3, 3), SH(2, 3, 3)), ANY, NONE, 0},
    {"rms_norm", b_rms_norm, S2(3, 1, SH(2, 2, 5), SH(5)), ANY, NONE, 0},
    {"rms_norm", b_rms_norm_plain, S1(2, 3, 4), ANY, NONE, 0},
    {"cross_entropy", b_cross_entropy, S1(2, 5, 4), ANY, IDX, 0},
    {"cross_entropy", b_cross_entropy_smooth, S1(2, 6, 3), ANY, IDX, 0},
    {"nll_loss", b_nll_loss, S1(2, 6, 3), ANY, IDX, 0},
    {"huber", b_huber, S1(2, 4, 3), ANY, SAMEANY, 0},
    {"kl_div", b_kl_div, S1(2, 3, 4), ANY, SAME01, 0},
    {"conv2d", b_conv2d, S3(4, 4, 1, SH(2, 2, 5, 4), SH(3, 2, 3, 2), SH(3)), ANY, NONE, 0},
    /* 4 images of 19x19 outputs: products of 3 images side by side, then 1 */
    {"conv2d", b_conv2d, S3(4, 4, 1, SH(4, 1, 20, 20), SH(2, 1, 2, 2), SH(2)), ANY, NONE, 0},
    {"conv2d", b_conv2d_strided, S2(4, 4, SH(1, 4, 5, 6), SH(2, 2, 2, 3)), ANY, NONE, 0},
    {"conv2d", b_conv2d_wino, S3(4, 4, 1, SH(2, 3, 5, 5), SH(2, 3, 3, 3), SH(2)), ANY, NONE, 0},
    {"conv_transpose2d", b_convt_wino, S2(4, 4, SH(1, 2, 5, 6), SH(2, 3, 3, 3)), ANY, NONE, 0},
    {"conv2d_wgrad", b_wgrad_wino, S2(4, 4, SH(2, 2, 5, 4), SH(2, 3, 7, 2)), ANY, NONE, 0},
    {"conv_transpose2d", b_convt, S2(4, 4, SH(2, 3, 2, 3), SH(3, 2, 3, 2)), ANY, NONE, 0},
    {"conv2d_wgrad", b_wgrad, S2(4, 4, SH(2, 2, 4, 3), SH(2, 3, 4, 2)), ANY, NONE, 0},
    {"square", b_square, S1(2, 3, 4), ANY, NONE, 0},
    {"reciprocal", b_reciprocal, S1(2, 3, 5), POS, NONE, 0},
    {"sin", b_sin, S1(2, 3, 4), ANY, NONE, 0},
    {"cos", b_cos, S1(3, 2, 3, 2), ANY, NONE, 0},
    {"erf", b_erf, S1(2, 3, 4), ANY, NONE, 0},
    {"log1p", b_log1p, S1(2, 3, 4), POS, NONE, 0},
    {"expm1", b_expm1, S1(2, 3, 4), ANY, NONE, 0},
    {"silu", b_silu, S1(2, 3, 5), ANY, NONE, 0},
    {"gelu", b_gelu_erf, S1(2, 3, 5), ANY, NONE, 0},
    {"gelu", b_gelu_tanh, S1(1, 7), ANY, NONE, 0},
    {"gelu_grad", b_gelu_grad_erf, S2(2, 2, SH(2, 5), SH(2, 5)), ANY, NONE, 0},
    {"gelu_grad", b_gelu_grad_tanh, S2(1, 1, SH(7), SH(7)), ANY, NONE, 0},
    {"softplus", b_softplus, S1(2, 3, 4), ANY, NONE, 0},
    {"leaky_relu", b_leaky_relu, S1(2, 3, 4), ANY, NONE, 0},
    {"elu", b_elu, S1(2, 3, 4), ANY, NONE, 0},
    {"maximum", b_maximum, S2(2, 2, SH(3, 4), SH(3, 4)), ANY, NONE, 0},
    {"maximum", b_maximum, S2(2, 1, SH(3, 4), SH(4)), ANY, NONE, 0},
    {"minimum", b_minimum, S2(3, 2, SH(2, 3, 1), SH(1, 4)), ANY, NONE, 0},
    {"softmax", b_softmax, S1(2, 3, 5), ANY, NONE, 0},
    {"softmax", b_softmax, S1(3, 2, 2, 3), ANY, NONE, 0},
    {"log_softmax", b_log_softmax, S1(2, 4, 3), ANY, NONE, 0},
    {"sum", b_sum_all, S1(2, 3, 4), ANY, NONE, 0},
    {"sum", b_sum_0, S1(3, 2, 3, 4), ANY, NONE, 0},
    {"sum", b_sum_last_keep, S1(2, 3, 4), ANY, NONE, 0},
    {"mean", b_mean_all, S1(2, 3, 4), ANY, NONE, 0},
    {"mean", b_mean_1, S1(3, 2, 3, 4), ANY, NONE, 0},
    {"transpose", b_transpose, S1(2, 3, 5), ANY, NONE, 0},
    {"transpose", b_transpose, S1(3, 2, 3, 4), ANY, NONE, 0},
    {"reshape", b_reshape, S1(3, 2, 3, 2), ANY, NONE, 0},
    {"detach", b_detach, S1(3, 2, 3, 2), ANY, NONE, CASE_NODIFF},
    {"expand", b_expand_col, S1(2, 3, 1), ANY, NONE, 0},
    {"expand", b_expand_scalar, S1(0, 1), ANY, NONE, 0},
    {"sum_to", b_sum_to_col, S1(3, 2, 3, 4), ANY, NONE, 0},
    {"sum_to", b_sum_to_row, S1(2, 5, 4), ANY, NONE, 0},
    {"sum_to", b_sum_to_scalar, S1(2, 5, 3), ANY, NONE, 0},
    {"one_hot", b_one_hot, S1(2, 4, 3), ANY, IDX, CASE_NODIFF},
    {"cce", b_cce, S1(2, 4, 3), PROB, IDX, 0},
    {"cce", b_cce, S1(2, 4, 3), PROB, ONEHOT, 0},
    {"softmax_cce", b_softmax_cce, S1(2, 4, 3), ANY, IDX, 0},
    {"softmax_cce", b_softmax_cce, S1(2, 5, 4), ANY, ONEHOT, 0},
    {"softmax_cce_grad", b_softmax_cce_grad, S2(2, 0, SH(4, 3), SH(1)), ANY, IDX, 0},
    {"softmax_cce_grad", b_softmax_cce_grad, S2(2, 0, SH(5, 4), SH(1)), ANY, ONEHOT, 0},
    {"bce", b_bce, S1(2, 4, 2), PROB, SAME01, 0},
    {"mse", b_mse, S1(2, 4, 3), ANY, SAMEANY, 0},
    {"mae", b_mae, S1(2, 4, 3), ANY, SAMEANY, 0},
    {"dropout", b_dropout, S1(2, 6, 5), ANY, NONE, 0},
    {"l1", b_l1, S1(2, 3, 4), ANY, NONE, 0},
    {"l2", b_l2, S1(2, 3, 4), ANY, NONE, 0},
};
const size_t bm_op_cases_core_n = sizeof bm_op_cases_core / sizeof bm_op_cases_core[0];
