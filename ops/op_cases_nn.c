/* op_cases_nn.c — gradcheck examples of issue 10's network ops: conv1d,
 * pooling, batch and group normalisation, attention. Odd sizes, every
 * stride/padding variant, causal and not. */
#include "op_cases_internal.h"

/* Pool options: kernel, stride, padding per axis, count_include_pad. */
static bm_pool_opts pool(size_t kh, size_t kw, size_t sh, size_t sw, size_t ph, size_t pw,
                         int include_pad)
{
    bm_pool_opts o = bm_pool_defaults(kh, kw);
    o.stride[0] = sh, o.stride[1] = sw, o.pad[0] = ph, o.pad[1] = pw;
    o.count_include_pad = include_pad;
    return o;
}

B1(conv1d, bm_conv1d(t, in[0], in[1], in[2], 2, 1, 1, 2))
B1(conv1d_dilated, bm_conv1d(t, in[0], in[1], NULL, 1, 0, 2, 1))
B1(conv1d_plain, bm_conv1d(t, in[0], in[1], NULL, 1, 0, 1, 1))
B1(max_pool_k3s2p1, bm_max_pool2d(t, in[0], &(bm_pool_opts){{3, 3}, {2, 2}, {1, 1}, 1}))
B1(max_pool_k2, bm_max_pool2d(t, in[0], &(bm_pool_opts){{2, 2}, {2, 2}, {0, 0}, 1}))
B1(max_pool_rect, bm_max_pool2d(t, in[0], &(bm_pool_opts){{3, 2}, {2, 1}, {1, 0}, 1}))
B1(max_pool_grad, bm_max_pool2d_grad(t, in[0], in[1], &(bm_pool_opts){{3, 3}, {2, 2}, {1, 1}, 1}))
B1(max_pool_gather,
   bm_max_pool2d_gather(t, in[0], in[1], &(bm_pool_opts){{2, 2}, {1, 2}, {0, 1}, 1}))
static bm_tensor *b_avg_incl(bm_tape *t, bm_tensor *const *in, bm_tensor *y, bm_rng *r)
{
    (void)y, (void)r;
    bm_pool_opts o = pool(3, 3, 2, 2, 1, 1, 1);
    return bm_avg_pool2d(t, in[0], &o);
}
static bm_tensor *b_avg_excl(bm_tape *t, bm_tensor *const *in, bm_tensor *y, bm_rng *r)
{
    (void)y, (void)r;
    bm_pool_opts o = pool(3, 2, 1, 2, 1, 1, 0);
    return bm_avg_pool2d(t, in[0], &o);
}
static bm_tensor *b_avg_k2(bm_tape *t, bm_tensor *const *in, bm_tensor *y, bm_rng *r)
{
    (void)y, (void)r;
    bm_pool_opts o = bm_pool_defaults(2, 2);
    return bm_avg_pool2d(t, in[0], &o);
}
static bm_tensor *b_avg_grad(bm_tape *t, bm_tensor *const *in, bm_tensor *y, bm_rng *r)
{
    (void)y, (void)r;
    bm_pool_opts o = pool(3, 3, 2, 2, 1, 1, 0);
    return bm_avg_pool2d_grad(t, in[0], 5, 6, &o);
}
B1(avg_grad_adaptive, bm_avg_pool2d_grad(t, in[0], 5, 7, NULL))
B1(adaptive_3x4, bm_adaptive_avg_pool2d(t, in[0], 3, 4))
B1(adaptive_global, bm_adaptive_avg_pool2d(t, in[0], 1, 1))
B1(adaptive_up, bm_adaptive_avg_pool2d(t, in[0], 5, 4))

/* Running statistics [C] for x's channels: mean in [−0.5, 0.5], var in
 * [0.5, 1.5] (tape constants). */
static void stats(bm_tape *t, const bm_tensor *x, bm_tensor **mean, bm_tensor **var)
{
    size_t C = x && x->rank >= 2 ? x->shape[1] : 1;
    bm_dtype dt = x ? x->dtype : BM_F64;
    *mean = bm_tape_leaf(t, dt, 1, &C, 0);
    *var = bm_tape_leaf(t, dt, 1, &C, 0);
    for (size_t c = 0; *mean && *var && c < C; c++) {
        bm_tensor_set(*mean, c, 0.25 * (double)c - 0.5);
        bm_tensor_set(*var, c, 0.5 + 0.3 * (double)c);
    }
}
static bm_tensor *b_bn_train(bm_tape *t, bm_tensor *const *in, bm_tensor *y, bm_rng *r)
{
    (void)y, (void)r;
    bm_tensor *m, *v;
    stats(t, in[0], &m, &v);
    return bm_batch_norm(t, in[0], m, v, in[1], in[2], 1, 0.1, 1e-5);
}
static bm_tensor *b_bn_train_w(bm_tape *t, bm_tensor *const *in, bm_tensor *y, bm_rng *r)
{
    (void)y, (void)r;
    bm_tensor *m, *v;
    stats(t, in[0], &m, &v);
    return bm_batch_norm(t, in[0], m, v, in[1], NULL, 1, 0.3, 1e-3);
}
B1(bn_train_plain, bm_batch_norm(t, in[0], NULL, NULL, NULL, NULL, 1, 0.1, 1e-5))
static bm_tensor *b_bn_eval(bm_tape *t, bm_tensor *const *in, bm_tensor *y, bm_rng *r)
{
    (void)y, (void)r;
    bm_tensor *m, *v;
    stats(t, in[0], &m, &v);
    return bm_batch_norm(t, in[0], m, v, in[1], in[2], 0, 0.1, 1e-5);
}
B1(gn_affine, bm_group_norm(t, in[0], 2, in[1], in[2], 1e-5))
B1(gn_plain, bm_group_norm(t, in[0], 3, NULL, NULL, 1e-5))
B1(gn_flat, bm_group_norm(t, in[0], 2, in[1], in[2], 1e-4))
B1(gn_one, bm_group_norm(t, in[0], 1, in[1], NULL, 1e-5))

B1(sdpa, bm_scaled_dot_product_attention(t, in[0], in[1], in[2], NULL))
B1(sdpa_causal, bm_scaled_dot_product_attention(t, in[0], in[1], in[2],
                                                &(bm_sdpa_opts){.causal = 1}))
B1(sdpa_recompute, bm_scaled_dot_product_attention(
                       t, in[0], in[1], in[2],
                       &(bm_sdpa_opts){.causal = 1, .scale = 0.7, .recompute = 1}))
B1(sdpa_plain_recompute, bm_scaled_dot_product_attention(t, in[0], in[1], in[2],
                                                         &(bm_sdpa_opts){.recompute = 1}))
B1(probs_causal, bm_attention_probs(t, in[0], in[1], &(bm_sdpa_opts){.causal = 1}))
B1(probs, bm_attention_probs(t, in[0], in[1], &(bm_sdpa_opts){.scale = 0.5}))

B1(cm_lb, bm_causal_matmul(t, in[0], in[1], BM_CAUSAL_LB, 1.0))
B1(cm_ltb, bm_causal_matmul(t, in[0], in[1], BM_CAUSAL_LTB, -0.5))
B1(cm_abt, bm_causal_matmul(t, in[0], in[1], BM_CAUSAL_ABT, 0.7))

const bm_op_case bm_op_cases_nn[] = {
    {"conv1d", b_conv1d, S3(3, 3, 1, SH(2, 4, 7), SH(6, 2, 3), SH(6)), ANY, NONE, 0},
    {"conv1d", b_conv1d_dilated, S2(3, 3, SH(1, 3, 9), SH(2, 3, 2)), ANY, NONE, 0},
    {"conv1d", b_conv1d_plain, S2(3, 3, SH(2, 2, 5), SH(3, 2, 1)), ANY, NONE, 0},
    {"max_pool2d", b_max_pool_k3s2p1, S1(4, 2, 2, 5, 5), ANY, NONE, 0},
    {"max_pool2d", b_max_pool_k2, S1(4, 1, 3, 4, 6), ANY, NONE, 0},
    {"max_pool2d", b_max_pool_rect, S1(4, 1, 1, 7, 5), ANY, NONE, 0},
    {"max_pool2d_grad", b_max_pool_grad, S2(4, 4, SH(1, 2, 5, 5), SH(1, 2, 3, 3)), ANY, NONE, 0},
    {"max_pool2d_gather", b_max_pool_gather,
     S2(4, 4, SH(1, 2, 5, 4), SH(1, 2, 5, 4)), ANY, NONE, 0},
    {"avg_pool2d", b_avg_incl, S1(4, 2, 2, 5, 5), ANY, NONE, 0},
    {"avg_pool2d", b_avg_excl, S1(4, 1, 2, 4, 5), ANY, NONE, 0},
    {"avg_pool2d", b_avg_k2, S1(4, 1, 3, 4, 6), ANY, NONE, 0},
    {"adaptive_avg_pool2d", b_adaptive_3x4, S1(4, 2, 3, 5, 7), ANY, NONE, 0},
    {"adaptive_avg_pool2d", b_adaptive_global, S1(4, 2, 2, 4, 3), ANY, NONE, 0},
    {"adaptive_avg_pool2d", b_adaptive_up, S1(4, 1, 2, 3, 3), ANY, NONE, 0},
    {"avg_pool2d_grad", b_avg_grad, S1(4, 1, 2, 3, 3), ANY, NONE, 0},
    {"avg_pool2d_grad", b_avg_grad_adaptive, S1(4, 2, 1, 3, 4), ANY, NONE, 0},
    {"batch_norm", b_bn_train, S3(2, 1, 1, SH(5, 3), SH(3), SH(3)), ANY, NONE, 0},
    {"batch_norm", b_bn_train_w, S2(3, 1, SH(3, 2, 5), SH(2)), ANY, NONE, 0},
    {"batch_norm", b_bn_train_plain, S1(4, 2, 3, 2, 3), ANY, NONE, 0},
    {"batch_norm", b_bn_eval, S3(4, 1, 1, SH(2, 3, 3, 2), SH(3), SH(3)), ANY, NONE, 0},
    {"group_norm", b_gn_affine, S3(4, 1, 1, SH(2, 4, 3, 2), SH(4), SH(4)), ANY, NONE, 0},
    {"group_norm", b_gn_plain, S1(3, 2, 6, 5), ANY, NONE, 0},
    {"group_norm", b_gn_flat, S3(2, 1, 1, SH(3, 6), SH(6), SH(6)), ANY, NONE, 0},
    {"group_norm", b_gn_one, S2(4, 1, SH(1, 3, 2, 2), SH(3)), ANY, NONE, 0},
    {"scaled_dot_product_attention", b_sdpa,
     S3(4, 4, 4, SH(1, 2, 3, 4), SH(1, 2, 5, 4), SH(1, 2, 5, 3)), ANY, NONE, 0},
    {"scaled_dot_product_attention", b_sdpa_causal,
     S3(4, 4, 4, SH(2, 1, 4, 3), SH(2, 1, 4, 3), SH(2, 1, 4, 2)), ANY, NONE, 0},
    {"scaled_dot_product_attention", b_sdpa_recompute,
     S3(4, 4, 4, SH(1, 2, 5, 2), SH(1, 2, 3, 2), SH(1, 2, 3, 3)), ANY, NONE, 0},
    {"scaled_dot_product_attention", b_sdpa_plain_recompute,
     S3(3, 3, 3, SH(2, 3, 4), SH(2, 3, 4), SH(2, 3, 2)), ANY, NONE, 0},
    /* more query rows than a causal block (BM_CAUSAL_ROWS) */
    {"scaled_dot_product_attention", b_sdpa_causal,
     S3(4, 4, 4, SH(1, 1, 35, 2), SH(1, 1, 35, 2), SH(1, 1, 35, 1)), ANY, NONE, 0},
    {"attention_probs", b_probs_causal, S2(4, 4, SH(1, 2, 3, 4), SH(1, 2, 4, 4)), ANY, NONE, 0},
    {"attention_probs", b_probs, S2(3, 3, SH(2, 3, 2), SH(2, 5, 2)), ANY, NONE, 0},
    /* T < S, T > S, and more rows than a block (BM_CAUSAL_ROWS) */
    {"causal_matmul", b_cm_lb, S2(3, 3, SH(2, 4, 6), SH(2, 6, 3)), ANY, NONE, 0},
    {"causal_matmul", b_cm_lb, S2(2, 2, SH(35, 3), SH(3, 2)), ANY, NONE, 0},
    {"causal_matmul", b_cm_ltb, S2(3, 3, SH(2, 5, 3), SH(2, 5, 2)), ANY, NONE, 0},
    {"causal_matmul", b_cm_ltb, S2(2, 2, SH(3, 34), SH(3, 2)), ANY, NONE, 0},
    {"causal_matmul", b_cm_abt, S2(4, 4, SH(1, 2, 4, 3), SH(1, 2, 6, 3)), ANY, NONE, 0},
    {"causal_matmul", b_cm_abt, S2(2, 2, SH(36, 2), SH(33, 2)), ANY, NONE, 0},
};
const size_t bm_op_cases_nn_n = sizeof bm_op_cases_nn / sizeof bm_op_cases_nn[0];
