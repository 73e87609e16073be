/* test_ops_nn.c — issue 10's network ops beyond their gradchecks
 * (tests/test_ops.c): bad input (wrong rank, a kernel larger than the
 * input, stride 0, negative padding, mismatched D) refused with the op's
 * name and the right code; max pool ties; batch_norm's running statistics
 * (updated per forward, replay included; untouched in evaluation); global
 * pooling; attention's causal mask under anomaly detection and its
 * recompute flag; the same bits on 1 and 3 threads. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* A tape leaf of shape, values v[i] = a + b·i (no gradient unless grad). */
static bm_tensor *ramp(bm_tape *t, bm_dtype dt, int rank, const size_t *shape, double a, double b,
                       int grad)
{
    bm_tensor *x = bm_tape_leaf(t, dt, rank, shape, grad ? BM_REQUIRES_GRAD : 0);
    for (size_t i = 0; x && i < x->size; i++)
        bm_tensor_set(x, i, a + b * (double)i);
    return x;
}

/* The builder returned NULL with code and a message naming fn; clears. */
static void refused(bm_tape *t, const bm_tensor *r, bm_status code, const char *fn)
{
    ck_assert_ptr_null(r);
    ck_assert_msg(bm_tape_status(t) == code, "status %d, want %d: %s", bm_tape_status(t), code,
                  bm_tape_error(t));
    ck_assert_msg(strstr(bm_tape_error(t), fn) != NULL, "message '%s' lacks '%s'",
                  bm_tape_error(t), fn);
    bm_tape_clear_error(t);
}

START_TEST(pool_bad_input)
{
    bm_tape *t = bm_tape_new();
    bm_tensor *x = ramp(t, BM_F64, 4, (size_t[]){1, 2, 3, 3}, 0, 1, 0);
    bm_tensor *x2 = ramp(t, BM_F64, 2, (size_t[]){3, 3}, 0, 1, 0);
    bm_pool_opts o = bm_pool_defaults(2, 2);
    refused(t, bm_max_pool2d(t, x2, &o), BM_ERR_RANK, "bm_max_pool2d: [3,3]");
    refused(t, bm_avg_pool2d(t, x2, &o), BM_ERR_RANK, "bm_avg_pool2d");
    refused(t, bm_adaptive_avg_pool2d(t, x2, 1, 1), BM_ERR_RANK, "bm_adaptive_avg_pool2d");
    bm_pool_opts big = bm_pool_defaults(5, 5);
    refused(t, bm_max_pool2d(t, x, &big), BM_ERR_SHAPE, "bm_max_pool2d: [1,2,3,3]");
    refused(t, bm_avg_pool2d(t, x, &big), BM_ERR_SHAPE, "bm_avg_pool2d");
    bm_pool_opts s0 = bm_pool_defaults(2, 2);
    s0.stride[1] = 0;
    refused(t, bm_max_pool2d(t, x, &s0), BM_ERR_ARG, "bm_max_pool2d");
    refused(t, bm_avg_pool2d(t, x, &s0), BM_ERR_ARG, "bm_avg_pool2d");
    bm_pool_opts k0 = bm_pool_defaults(0, 2);
    refused(t, bm_max_pool2d(t, x, &k0), BM_ERR_ARG, "bm_max_pool2d");
    bm_pool_opts neg = bm_pool_defaults(3, 3);
    neg.pad[0] = (size_t)-1; /* a negative padding */
    refused(t, bm_max_pool2d(t, x, &neg), BM_ERR_ARG, "bm_max_pool2d");
    refused(t, bm_avg_pool2d(t, x, &neg), BM_ERR_ARG, "bm_avg_pool2d");
    bm_pool_opts half = bm_pool_defaults(2, 2);
    half.pad[1] = 2; /* more than half the kernel (torch refuses it too) */
    refused(t, bm_max_pool2d(t, x, &half), BM_ERR_ARG, "bm_max_pool2d");
    refused(t, bm_max_pool2d(t, x, NULL), BM_ERR_NULL, "bm_max_pool2d");
    refused(t, bm_adaptive_avg_pool2d(t, x, 0, 1), BM_ERR_ARG, "bm_adaptive_avg_pool2d");
    /* the adjoints check their pair of shapes */
    bm_tensor *g = ramp(t, BM_F64, 4, (size_t[]){1, 2, 2, 2}, 0, 1, 0);
    refused(t, bm_max_pool2d_grad(t, x, g, &o), BM_ERR_SHAPE, "bm_max_pool2d_grad");
    refused(t, bm_max_pool2d_gather(t, x, g, &o), BM_ERR_SHAPE, "bm_max_pool2d_gather");
    refused(t, bm_avg_pool2d_grad(t, g, 3, 3, &o), BM_ERR_SHAPE, "bm_avg_pool2d_grad");
    refused(t, bm_avg_pool2d_grad(t, g, 3, 3, &s0), BM_ERR_ARG, "bm_avg_pool2d_grad");
    ck_assert_ptr_nonnull(bm_avg_pool2d_grad(t, g, 4, 5, &o));
    ck_assert_ptr_nonnull(bm_avg_pool2d_grad(t, g, 3, 3, NULL)); /* adaptive */
    bm_tape_free(t);
}
END_TEST

START_TEST(conv1d_bad_input)
{
    bm_tape *t = bm_tape_new();
    bm_tensor *x = ramp(t, BM_F64, 3, (size_t[]){2, 4, 5}, 0, 0.1, 0);
    bm_tensor *w = ramp(t, BM_F64, 3, (size_t[]){6, 2, 3}, 0, 0.1, 0);
    bm_tensor *w4 = ramp(t, BM_F64, 4, (size_t[]){6, 2, 1, 3}, 0, 0.1, 0);
    bm_tensor *wbig = ramp(t, BM_F64, 3, (size_t[]){6, 4, 7}, 0, 0.1, 0);
    bm_tensor *b5 = ramp(t, BM_F64, 1, (size_t[]){5}, 0, 0.1, 0);
    ck_assert_ptr_nonnull(bm_conv1d(t, x, w, NULL, 1, 0, 1, 2));
    refused(t, bm_conv1d(t, x, w4, NULL, 1, 0, 1, 2), BM_ERR_RANK, "bm_conv1d: [2,4,5]");
    refused(t, bm_conv1d(t, x, wbig, NULL, 1, 0, 1, 1), BM_ERR_SHAPE, "bm_conv1d");
    refused(t, bm_conv1d(t, x, w, NULL, 0, 0, 1, 2), BM_ERR_ARG, "bm_conv1d");
    refused(t, bm_conv1d(t, x, w, NULL, 1, (size_t)-1, 1, 2), BM_ERR_ARG, "bm_conv1d");
    refused(t, bm_conv1d(t, x, w, NULL, 1, 0, 0, 2), BM_ERR_ARG, "bm_conv1d");
    refused(t, bm_conv1d(t, x, w, NULL, 1, 0, 1, 3), BM_ERR_SHAPE, "bm_conv1d");
    refused(t, bm_conv1d(t, x, w, NULL, 1, 0, 1, 0), BM_ERR_ARG, "bm_conv1d");
    refused(t, bm_conv1d(t, x, w, b5, 1, 0, 1, 2), BM_ERR_SHAPE, "bm_conv1d: bias [5]");
    /* negative padding of conv2d too */
    bm_tensor *x4 = ramp(t, BM_F64, 4, (size_t[]){1, 2, 5, 5}, 0, 0.1, 0);
    bm_conv_opts co = bm_conv_defaults();
    co.pad[1] = (size_t)-2;
    refused(t, bm_conv2d(t, x4, w4, NULL, &co), BM_ERR_ARG, "bm_conv2d");
    bm_tape_free(t);
}
END_TEST

START_TEST(norm_bad_input)
{
    bm_tape *t = bm_tape_new();
    bm_tensor *x = ramp(t, BM_F64, 4, (size_t[]){2, 3, 2, 2}, 0, 0.1, 0);
    bm_tensor *x1 = ramp(t, BM_F64, 1, (size_t[]){3}, 0, 0.1, 0);
    bm_tensor *one = ramp(t, BM_F64, 2, (size_t[]){1, 3}, 0, 0.1, 0);
    bm_tensor *m = ramp(t, BM_F64, 1, (size_t[]){3}, 0, 0, 0);
    bm_tensor *v = ramp(t, BM_F64, 1, (size_t[]){3}, 1, 0, 0);
    bm_tensor *v4 = ramp(t, BM_F64, 1, (size_t[]){4}, 1, 0, 0);
    refused(t, bm_batch_norm(t, x1, m, v, NULL, NULL, 1, 0.1, 1e-5), BM_ERR_RANK,
            "bm_batch_norm: x [3]");
    refused(t, bm_batch_norm(t, x, m, v4, NULL, NULL, 1, 0.1, 1e-5), BM_ERR_SHAPE,
            "bm_batch_norm");
    refused(t, bm_batch_norm(t, x, NULL, NULL, NULL, NULL, 0, 0.1, 1e-5), BM_ERR_ARG,
            "bm_batch_norm: evaluation");
    refused(t, bm_batch_norm(t, x, m, NULL, NULL, NULL, 1, 0.1, 1e-5), BM_ERR_ARG,
            "bm_batch_norm");
    refused(t, bm_batch_norm(t, one, m, v, NULL, NULL, 1, 0.1, 1e-5), BM_ERR_SHAPE,
            "bm_batch_norm: x [1,3]: training needs more than one");
    ck_assert_ptr_nonnull(bm_batch_norm(t, one, m, v, NULL, NULL, 0, 0.1, 1e-5));
    refused(t, bm_batch_norm(t, x, m, v, NULL, NULL, 1, 1.5, 1e-5), BM_ERR_ARG, "bm_batch_norm");
    refused(t, bm_batch_norm(t, x, m, v, NULL, NULL, 1, 0.1, -1), BM_ERR_ARG, "bm_batch_norm");
    refused(t, bm_batch_norm(t, x, m, v, NULL, v, 1, 0.1, 1e-5), BM_ERR_ARG,
            "bm_batch_norm: a bias needs a weight");
    refused(t, bm_group_norm(t, x, 2, NULL, NULL, 1e-5), BM_ERR_ARG, "bm_group_norm");
    refused(t, bm_group_norm(t, x, 0, NULL, NULL, 1e-5), BM_ERR_ARG, "bm_group_norm");
    refused(t, bm_group_norm(t, x1, 1, NULL, NULL, 1e-5), BM_ERR_RANK, "bm_group_norm");
    refused(t, bm_group_norm(t, x, 3, v4, NULL, 1e-5), BM_ERR_SHAPE, "bm_group_norm");
    bm_tape_free(t);
}
END_TEST

START_TEST(attention_bad_input)
{
    bm_tape *t = bm_tape_new();
    bm_tensor *q = ramp(t, BM_F64, 4, (size_t[]){1, 2, 3, 4}, 0, 0.1, 0);
    bm_tensor *k = ramp(t, BM_F64, 4, (size_t[]){1, 2, 5, 4}, 0, 0.1, 0);
    bm_tensor *k5 = ramp(t, BM_F64, 4, (size_t[]){1, 2, 5, 5}, 0, 0.1, 0);
    bm_tensor *v = ramp(t, BM_F64, 4, (size_t[]){1, 2, 5, 3}, 0, 0.1, 0);
    bm_tensor *v4 = ramp(t, BM_F64, 4, (size_t[]){1, 2, 4, 3}, 0, 0.1, 0);
    bm_tensor *h3 = ramp(t, BM_F64, 4, (size_t[]){1, 3, 5, 4}, 0, 0.1, 0);
    bm_tensor *q1 = ramp(t, BM_F64, 1, (size_t[]){4}, 0, 0.1, 0);
    bm_tensor *q3 = ramp(t, BM_F64, 3, (size_t[]){2, 3, 4}, 0, 0.1, 0);
    const char *fn = "bm_scaled_dot_product_attention";
    ck_assert_ptr_nonnull(bm_scaled_dot_product_attention(t, q, k, v, NULL));
    refused(t, bm_scaled_dot_product_attention(t, q, k5, v, NULL), BM_ERR_SHAPE,
            "bm_scaled_dot_product_attention: q [1,2,3,4], k [1,2,5,5]");
    refused(t, bm_scaled_dot_product_attention(t, q, k, v4, NULL), BM_ERR_SHAPE, fn);
    refused(t, bm_scaled_dot_product_attention(t, q, h3, v, NULL), BM_ERR_SHAPE, fn);
    refused(t, bm_scaled_dot_product_attention(t, q1, q1, q1, NULL), BM_ERR_RANK, fn);
    refused(t, bm_scaled_dot_product_attention(t, q3, k, v, NULL), BM_ERR_RANK, fn);
    refused(t, bm_scaled_dot_product_attention(t, q, k, v, &(bm_sdpa_opts){.scale = -1}),
            BM_ERR_ARG, fn);
    refused(t, bm_attention_probs(t, q, k5, NULL), BM_ERR_SHAPE, "bm_attention_probs");
    /* causal_matmul: a [1,2,3,4] (T 3, S 4) with b [1,2,4,3] fits L·b only */
    bm_tensor *b43 = ramp(t, BM_F64, 4, (size_t[]){1, 2, 4, 3}, 0, 0.1, 0);
    ck_assert_ptr_nonnull(bm_causal_matmul(t, q, b43, BM_CAUSAL_LB, 1.0));
    refused(t, bm_causal_matmul(t, q, b43, BM_CAUSAL_LTB, 1.0), BM_ERR_SHAPE,
            "bm_causal_matmul: [1,2,3,4] and [1,2,4,3]");
    refused(t, bm_causal_matmul(t, q, b43, 7, 1.0), BM_ERR_ARG, "bm_causal_matmul");
    refused(t, bm_causal_matmul(t, q, b43, BM_CAUSAL_LB, NAN), BM_ERR_ARG, "bm_causal_matmul");
    refused(t, bm_causal_matmul(t, q, q3, BM_CAUSAL_LB, 1.0), BM_ERR_RANK, "bm_causal_matmul");
    refused(t, bm_causal_matmul(t, q, h3, BM_CAUSAL_ABT, 1.0), BM_ERR_SHAPE, "bm_causal_matmul");
    bm_tape_free(t);
}
END_TEST

/* Equal values in a window: the first in row-major order takes the
 * gradient (PyTorch's CPU kernel does the same). */
START_TEST(max_pool_ties_go_first)
{
    bm_tape *t = bm_tape_new();
    bm_tensor *x = ramp(t, BM_F64, 4, (size_t[]){1, 1, 2, 4}, 1, 0, 1);
    bm_tensor_set(x, 3, 2.0); /* window 2: 1, 2 / 1, 1: the max is unique */
    bm_pool_opts o = bm_pool_defaults(2, 2);
    bm_tensor *y = bm_max_pool2d(t, x, &o);
    ck_assert_int_eq(bm_tape_backward(t, bm_sum(t, y, BM_AXIS_ALL, 0), NULL), BM_OK);
    const double want[8] = {1, 0, 0, 1, 0, 0, 0, 0};
    for (int i = 0; i < 8; i++)
        ck_near(bm_tensor_grad_get(x, (size_t)i), want[i], 0);
    bm_tape_free(t);
}
END_TEST

/* torch: running = 0.9·running + 0.1·stat, the variance unbiased; each
 * forward run (a replay) updates again; evaluation reads and leaves them. */
START_TEST(batch_norm_running_stats)
{
    bm_tape *t = bm_tape_new();
    bm_tensor *x = ramp(t, BM_F64, 2, (size_t[]){2, 1}, 1, 2, 1); /* 1, 3 */
    bm_tensor *m = bm_tensor_new(BM_F64, 1, (size_t[]){1}, NULL);
    bm_tensor *v = bm_tensor_new(BM_F64, 1, (size_t[]){1}, NULL);
    bm_tensor_set(m, 0, 0.0);
    bm_tensor_set(v, 0, 1.0);
    bm_tensor *y = bm_batch_norm(t, x, m, v, NULL, NULL, 1, 0.1, 0.0);
    ck_assert_ptr_nonnull(y);
    ck_near(bm_tensor_get(y, 0), -1.0, 1e-12); /* (1 − 2)/√1 (biased var 1) */
    ck_near(bm_tensor_get(m, 0), 0.2, 1e-15);
    ck_near(bm_tensor_get(v, 0), 0.9 + 0.1 * 2.0, 1e-15); /* unbiased var 2 */
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    ck_near(bm_tensor_get(m, 0), 0.9 * 0.2 + 0.2, 1e-15);
    ck_near(bm_tensor_get(v, 0), 0.9 * 1.1 + 0.2, 1e-15);
    bm_tape_reset(t);
    bm_tensor *xe = ramp(t, BM_F64, 2, (size_t[]){2, 1}, 1, 2, 1);
    double mean = bm_tensor_get(m, 0), var = bm_tensor_get(v, 0);
    bm_tensor *ye = bm_batch_norm(t, xe, m, v, NULL, NULL, 0, 0.1, 1e-5);
    ck_near(bm_tensor_get(ye, 1), (3 - mean) / sqrt(var + 1e-5), 1e-12);
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    ck_near(bm_tensor_get(m, 0), mean, 0);
    ck_near(bm_tensor_get(v, 0), var, 0);
    bm_tensor_free(m);
    bm_tensor_free(v);
    bm_tape_free(t);
}
END_TEST

START_TEST(global_pool_is_the_mean)
{
    bm_tape *t = bm_tape_new();
    bm_tensor *x = ramp(t, BM_F32, 4, (size_t[]){2, 3, 5, 7}, -1, 0.03, 1);
    bm_tensor *y = bm_adaptive_avg_pool2d(t, x, 1, 1);
    ck_assert_int_eq(y->rank, 4);
    ck_assert_uint_eq(y->shape[2] * y->shape[3], 1);
    for (size_t p = 0; p < 6; p++) {
        double s = 0;
        for (size_t i = 0; i < 35; i++)
            s += bm_tensor_get(x, p * 35 + i);
        ck_near(bm_tensor_get(y, p), s / 35, 1e-5);
    }
    bm_tape_free(t);
}
END_TEST

/* A causal mask never writes −inf: forward and backward under anomaly
 * detection succeed; recompute gives the same gradients as keeping P. */
START_TEST(causal_attention_under_anomaly_detection)
{
    bm_tensor *grads[2][3];
    bm_tape *tapes[2];
    for (int rc = 0; rc < 2; rc++) {
        bm_tape *t = tapes[rc] = bm_tape_new();
        ck_assert_int_eq(bm_tape_set_detect_anomaly(t, 1), 0);
        size_t s[4] = {2, 2, 6, 4};
        bm_tensor *q = ramp(t, BM_F32, 4, s, -1, 0.02, 1), *k = ramp(t, BM_F32, 4, s, 1, -0.015, 1);
        bm_tensor *v = ramp(t, BM_F32, 4, s, 0.5, 0.01, 1);
        bm_sdpa_opts o = {.causal = 1, .recompute = rc};
        bm_tensor *y = bm_scaled_dot_product_attention(t, q, k, v, &o);
        ck_assert_msg(y != NULL, "%s", bm_tape_error(t));
        /* row 0 sees key 0 only: its output is v's row 0 */
        for (size_t j = 0; j < 4; j++)
            ck_near(bm_tensor_get(y, j), bm_tensor_get(v, j), 1e-6);
        bm_tensor *loss = bm_sum(t, bm_square(t, y), BM_AXIS_ALL, 0);
        ck_assert_msg(bm_tape_backward(t, loss, NULL) == BM_OK, "%s", bm_tape_error(t));
        grads[rc][0] = q, grads[rc][1] = k, grads[rc][2] = v;
    }
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < grads[0][k]->size; i++)
            ck_assert(bm_tensor_grad_get(grads[0][k], i) == bm_tensor_grad_get(grads[1][k], i));
    bm_tape_free(tapes[0]);
    bm_tape_free(tapes[1]);
}
END_TEST

/* A graph of three inputs of one shape, built on a tape. */
typedef bm_tensor *(*build3)(bm_tape *t, bm_tensor *a, bm_tensor *b, bm_tensor *c);

/* The kernels split their work (heads, planes) over the threads, each
 * part computed by one thread: the same bits on 1 and 3 threads, forward
 * and gradients. */
static void same_bits_on_threads(build3 f, const size_t *shape)
{
    bm_tensor *x[2][3];
    bm_tensor *y[2];
    bm_tape *tapes[2];
    for (int r = 0; r < 2; r++) {
        bm_tape *t = tapes[r] = bm_tape_new();
        ck_assert_int_eq(bm_tape_set_threads(t, r ? 3 : 1, NULL), BM_OK);
        x[r][0] = ramp(t, BM_F32, 4, shape, -1, 0.001, 1);
        x[r][1] = ramp(t, BM_F32, 4, shape, 1, -0.0013, 1);
        x[r][2] = ramp(t, BM_F32, 4, shape, 0.5, 0.0007, 1);
        for (size_t i = 0; i < x[r][0]->size; i++) /* no ties for max pool */
            bm_tensor_set(x[r][0], i, sin(0.37 * (double)i));
        y[r] = f(t, x[r][0], x[r][1], x[r][2]);
        ck_assert_ptr_nonnull(y[r]);
        ck_assert_int_eq(bm_tape_backward(t, bm_sum(t, bm_square(t, y[r]), BM_AXIS_ALL, 0), NULL),
                         BM_OK);
    }
    for (size_t i = 0; i < y[0]->size; i++)
        ck_assert(bm_tensor_get(y[0], i) == bm_tensor_get(y[1], i));
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < x[0][k]->size; i++)
            ck_assert(bm_tensor_grad_get(x[0][k], i) == bm_tensor_grad_get(x[1][k], i));
    bm_tape_free(tapes[0]);
    bm_tape_free(tapes[1]);
}

static bm_tensor *causal_attention(bm_tape *t, bm_tensor *q, bm_tensor *k, bm_tensor *v)
{
    return bm_scaled_dot_product_attention(t, q, k, v, &(bm_sdpa_opts){.causal = 1});
}

/* max and average pools of a, weighted by b and c: every input gets a gradient. */
static bm_tensor *pools(bm_tape *t, bm_tensor *a, bm_tensor *b, bm_tensor *c)
{
    bm_pool_opts o = bm_pool_defaults(3, 3);
    o.stride[0] = 2, o.pad[0] = o.pad[1] = 1;
    bm_tensor *m = bm_max_pool2d(t, bm_mul(t, a, b), &o);
    bm_tensor *g = bm_adaptive_avg_pool2d(t, bm_mul(t, a, c), m->shape[2], m->shape[3]);
    return bm_add(t, bm_add(t, m, bm_avg_pool2d(t, bm_mul(t, b, c), &o)), g);
}

START_TEST(attention_threads_bit_identical)
{
    same_bits_on_threads(causal_attention, (size_t[]){1, 5, 37, 8}); /* 5 heads, 3 threads */
}
END_TEST

START_TEST(pool_threads_bit_identical)
{
    same_bits_on_threads(pools, (size_t[]){2, 5, 9, 8}); /* 10 planes, 3 threads */
}
END_TEST

/* Scratch is reserved per thread at record time: a tape given more threads
 * afterwards replays on as many as it fits (one task per reserved slot),
 * with the same bits. */
START_TEST(threads_raised_after_recording)
{
    bm_tape *t = bm_tape_new();
    size_t s[4] = {1, 5, 37, 8};
    bm_tensor *q = ramp(t, BM_F32, 4, s, -1, 0.001, 1), *k = ramp(t, BM_F32, 4, s, 1, -0.0013, 1);
    bm_tensor *v = ramp(t, BM_F32, 4, s, 0.5, 0.0007, 1);
    bm_tensor *y = causal_attention(t, q, k, v);
    bm_tensor *loss = bm_sum(t, bm_square(t, y), BM_AXIS_ALL, 0);
    ck_assert_int_eq(bm_tape_backward(t, loss, NULL), BM_OK);
    float *before = malloc(q->size * sizeof *before);
    for (size_t i = 0; i < q->size; i++)
        before[i] = (float)bm_tensor_grad_get(q, i);
    ck_assert_int_eq(bm_tape_set_threads(t, 3, NULL), BM_OK);
    bm_tape_zero_grad(t);
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    ck_assert_int_eq(bm_tape_backward(t, loss, NULL), BM_OK);
    for (size_t i = 0; i < q->size; i++)
        ck_assert(before[i] == (float)bm_tensor_grad_get(q, i));
    free(before);
    bm_tape_free(t);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("ops_nn");
    TCase *tc = tcase_create("nn");
    tcase_add_test(tc, pool_bad_input);
    tcase_add_test(tc, conv1d_bad_input);
    tcase_add_test(tc, norm_bad_input);
    tcase_add_test(tc, attention_bad_input);
    tcase_add_test(tc, max_pool_ties_go_first);
    tcase_add_test(tc, batch_norm_running_stats);
    tcase_add_test(tc, global_pool_is_the_mean);
    tcase_add_test(tc, causal_attention_under_anomaly_detection);
    tcase_add_test(tc, attention_threads_bit_identical);
    tcase_add_test(tc, pool_threads_bit_identical);
    tcase_add_test(tc, threads_raised_after_recording);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
