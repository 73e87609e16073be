/* test_layers_norm.c — the normalisation, embedding and merging kinds
 * through their vtables (test_layer_util.h): shapes, refused specs and
 * shapes, gradcheck + gradgradcheck in F64, F32 forwards, batch_norm's
 * running statistics; and every kind's keys against the key table. */
#include "test_layer_util.h"

/* F32 forwards against F64 ones: relative error allowed. */
#define F32_TOL 1e-4
/* batch_norm's defaults (torch's). */
#define BN_EPS 1e-5
#define BN_MOMENTUM 0.1

/* ---------------------------------------------------------------- batch_norm */

START_TEST(batch_norm_params_and_errors)
{
    bm_layer_spec s = bm_tl_spec(BM_LAYER_BATCH_NORM);
    ck_assert_double_eq(s.eps, BN_EPS);
    ck_assert_double_eq(s.momentum, BN_MOMENTUM);
    ck_assert_int_eq(s.affine, 1);
    ck_assert_int_eq(s.bias, 1);
    bm_shape in[1] = {BM_TL_SHAPE(3, 4, 2)};
    bm_param_desc p[BM_LAYER_MAX_PARAMS];
    const bm_layer_vt *vt = bm_layer_vtable(BM_LAYER_BATCH_NORM);
    ck_assert_uint_eq(vt->params(&s, in, 1, p), 4);
    const char *names[4] = {"weights", "biases", "running_mean", "running_var"};
    const bm_param_init inits[4] = {BM_PINIT_ONES, BM_PINIT_ZEROS, BM_PINIT_ZEROS, BM_PINIT_ONES};
    const bm_param_role roles[4] = {BM_ROLE_WEIGHT, BM_ROLE_BIAS, BM_ROLE_STATE, BM_ROLE_STATE};
    for (int k = 0; k < 4; k++) {
        ck_assert_str_eq(p[k].name, names[k]);
        ck_assert_int_eq(p[k].init, inits[k]);
        ck_assert_int_eq(p[k].role, roles[k]);
        ck_assert_int_eq(p[k].rank, 1);
        ck_assert_uint_eq(p[k].shape[0], 3);
    }
    s.bias = 0;
    ck_assert_uint_eq(vt->params(&s, in, 1, p), 3);
    s.affine = 0;
    ck_assert_uint_eq(vt->params(&s, in, 1, p), 2);
    ck_assert_str_eq(p[0].name, "running_mean");
    bm_tl_expect_shape(&s, 1, in, BM_TL_SHAPE(3, 4, 2));
    s.in = 4;
    bm_tl_expect_error(&s, 1, in, BM_ERR_SHAPE, "batch_norm: input [3,4,2] has 3 channels, "
                       "in says 4");
    s = bm_tl_spec(BM_LAYER_BATCH_NORM);
    s.momentum = 1.5;
    bm_tl_expect_error(&s, 1, in, BM_ERR_ARG, "batch_norm: momentum 1.5 must be in [0, 1]");
    s.momentum = 0.1;
    s.eps = 0;
    bm_tl_expect_error(&s, 1, in, BM_ERR_ARG, "batch_norm: eps 0 must be finite and > 0");
    s.eps = BN_EPS;
    bm_shape big[1] = {{.rank = 0}};
    bm_tl_expect_error(&s, 1, big, BM_ERR_SHAPE, "batch_norm: input [] must be [C], [C,L]");
}
END_TEST

START_TEST(batch_norm_gradcheck)
{
    const bm_shape shapes[3] = {BM_TL_SHAPE(3), BM_TL_SHAPE(3, 4), BM_TL_SHAPE(2, 3, 2)};
    for (int k = 0; k < 3; k++)
        for (int training = 0; training < 2; training++) {
            bm_tl_case c = {.spec = bm_tl_spec(BM_LAYER_BATCH_NORM), .n_in = 1,
                            .in = {shapes[k]}, .batch = 3, .training = training,
                            .seed = (uint64_t)(10 * k + training + 1)};
            bm_tl_gradcheck(&c);
            bm_tl_check_f32(&c, F32_TOL);
            c.spec.bias = 0;
            bm_tl_gradcheck(&c);
            c.spec.affine = 0;
            bm_tl_gradcheck(&c);
        }
}
END_TEST

/* The per-channel mean and biased variance of x [B,C,S] at channel ch. */
static void channel_stats(const bm_tensor *x, size_t C, size_t ch, double *mean, double *var)
{
    size_t B = x->shape[0], S = x->size / (B * C);
    double sum = 0, sq = 0;
    for (size_t b = 0; b < B; b++)
        for (size_t i = 0; i < S; i++)
            sum += bm_tensor_get(x, (b * C + ch) * S + i);
    *mean = sum / (double)(B * S);
    for (size_t b = 0; b < B; b++)
        for (size_t i = 0; i < S; i++) {
            double d = bm_tensor_get(x, (b * C + ch) * S + i) - *mean;
            sq += d * d;
        }
    *var = sq / (double)(B * S);
}

START_TEST(batch_norm_running_statistics)
{
    enum { C = 2, S = 3, B = 4 };
    bm_tl_case c = {.spec = bm_tl_spec(BM_LAYER_BATCH_NORM), .n_in = 1,
                    .in = {BM_TL_SHAPE(C, S)}, .batch = B, .training = 1};
    bm_tl_run r;
    bm_tl_build(&r, &c, BM_F64);
    /* the harness drew the state: running_mean p[2], running_var p[3] */
    bm_tl_run r0;
    c.training = 0;
    bm_tl_build(&r0, &c, BM_F64); /* the same values, evaluation: nothing updated */
    for (size_t ch = 0; ch < C; ch++) {
        double mean, var, n = B * S;
        channel_stats(r.in[0], C, ch, &mean, &var);
        double m0 = bm_tensor_get(r0.params[2], ch), v0 = bm_tensor_get(r0.params[3], ch);
        ck_near(bm_tensor_get(r.params[2], ch), (1 - BN_MOMENTUM) * m0 + BN_MOMENTUM * mean,
                1e-14);
        ck_near(bm_tensor_get(r.params[3], ch),
                (1 - BN_MOMENTUM) * v0 + BN_MOMENTUM * var * n / (n - 1), 1e-14);
        /* training normalises with the batch's statistics, evaluation with the running ones */
        double w = bm_tensor_get(r.params[0], ch), b = bm_tensor_get(r.params[1], ch);
        for (size_t i = 0; i < B * S; i++) {
            size_t at = (i / S * C + ch) * S + i % S;
            double x = bm_tensor_get(r.in[0], at);
            ck_near(bm_tensor_get(r.out, at), (x - mean) / sqrt(var + BN_EPS) * w + b, 1e-12);
            ck_near(bm_tensor_get(r0.out, at), (x - m0) / sqrt(v0 + BN_EPS) * w + b, 1e-12);
        }
    }
    bm_tl_free(&r);
    bm_tl_free(&r0);
}
END_TEST

/* ---------------------------------------------------------------- layer_norm, rms_norm */

START_TEST(last_axis_norms)
{
    const bm_layer_kind kinds[2] = {BM_LAYER_LAYER_NORM, BM_LAYER_RMS_NORM};
    const char *names[2] = {"layer_norm", "rms_norm"};
    const size_t n_params[2] = {2, 1};
    char want[160];
    for (int k = 0; k < 2; k++) {
        bm_tl_case c = {.spec = bm_tl_spec(kinds[k]), .n_in = 1, .in = {BM_TL_SHAPE(5)},
                        .batch = 3};
        ck_assert_double_eq(c.spec.eps, BN_EPS);
        bm_param_desc p[BM_LAYER_MAX_PARAMS];
        const bm_layer_vt *vt = bm_layer_vtable(kinds[k]);
        ck_assert_uint_eq(vt->params(&c.spec, c.in, 1, p), n_params[k]);
        ck_assert_int_eq(p[0].init, BM_PINIT_ONES);
        ck_assert_uint_eq(p[0].shape[0], 5);
        bm_tl_expect_shape(&c.spec, 1, c.in, BM_TL_SHAPE(5));
        bm_tl_gradcheck(&c);
        bm_tl_check_f32(&c, F32_TOL);
        c.in[0] = BM_TL_SHAPE(3, 4);
        c.batch = 2;
        bm_tl_gradcheck(&c);
        c.spec.bias = 0;
        bm_tl_gradcheck(&c);
        c.spec.affine = 0;
        ck_assert_uint_eq(vt->params(&c.spec, c.in, 1, p), 0);
        bm_tl_gradcheck(&c);
        c.spec.in = 3;
        snprintf(want, sizeof want, "%s: input [3,4] has 4 features, in says 3", names[k]);
        bm_tl_expect_error(&c.spec, 1, c.in, BM_ERR_SHAPE, want);
        c.spec.eps = -1;
        snprintf(want, sizeof want, "%s: eps -1 must be finite and > 0", names[k]);
        bm_tl_expect_error(&c.spec, 1, c.in, BM_ERR_ARG, want);
    }
}
END_TEST

START_TEST(group_norm_groups_of_channels)
{
    bm_tl_case c = {.spec = bm_tl_spec(BM_LAYER_GROUP_NORM), .n_in = 1,
                    .in = {BM_TL_SHAPE(6, 3, 2)}};
    bm_tl_expect_error(&c.spec, 1, c.in, BM_ERR_SIZE, "group_norm: groups 0 is not in 1..");
    c.spec.groups = 4;
    bm_tl_expect_error(&c.spec, 1, c.in, BM_ERR_SHAPE, "group_norm: input [6,3,2]: 6 channels "
                       "are not divisible by groups 4");
    c.spec.groups = 3;
    bm_tl_expect_shape(&c.spec, 1, c.in, BM_TL_SHAPE(6, 3, 2));
    bm_param_desc p[BM_LAYER_MAX_PARAMS];
    ck_assert_uint_eq(bm_layer_vtable(BM_LAYER_GROUP_NORM)->params(&c.spec, c.in, 1, p), 2);
    ck_assert_uint_eq(p[0].shape[0], 6);
    ck_assert_int_eq(p[1].init, BM_PINIT_ZEROS);
    bm_tl_gradcheck(&c);
    bm_tl_check_f32(&c, F32_TOL);
    c.in[0] = BM_TL_SHAPE(4, 5);
    c.spec.groups = 2;
    c.spec.bias = 0;
    bm_tl_gradcheck(&c);
    c.spec.affine = 0;
    bm_tl_gradcheck(&c);
    /* one group per sample normalises all of it: mean 0, variance ~1 */
    c.spec.groups = 1;
    bm_tl_run r;
    bm_tl_build(&r, &c, BM_F64);
    for (size_t b = 0; b < BM_TL_BATCH; b++) {
        double sum = 0, sq = 0;
        for (size_t i = 0; i < 20; i++) {
            double v = bm_tensor_get(r.out, b * 20 + i);
            sum += v;
            sq += v * v;
        }
        ck_near(sum / 20, 0.0, 1e-12);
        ck_near(sq / 20, 1.0, 1e-4);
    }
    bm_tl_free(&r);
}
END_TEST

/* ---------------------------------------------------------------- embedding */

START_TEST(embedding_rows_and_gradcheck)
{
    enum { V = 5, D = 3, T = 4 };
    bm_tl_case c = {.spec = bm_tl_spec(BM_LAYER_EMBEDDING), .n_in = 1, .in = {BM_TL_SHAPE(T)},
                    .batch = 2, .ids = 1, .id_range = V};
    c.spec.in = V;
    c.spec.out = D;
    bm_tl_expect_shape(&c.spec, 1, c.in, BM_TL_SHAPE(T, D));
    bm_param_desc p[BM_LAYER_MAX_PARAMS];
    ck_assert_uint_eq(bm_layer_vtable(BM_LAYER_EMBEDDING)->params(&c.spec, c.in, 1, p), 1);
    ck_assert_int_eq(p[0].init, BM_PINIT_NORMAL);
    ck_assert_double_eq(p[0].std, 1.0);
    ck_assert_uint_eq(p[0].shape[0], V);
    ck_assert_uint_eq(p[0].shape[1], D);
    bm_tl_run r;
    bm_tl_build(&r, &c, BM_F64);
    for (size_t i = 0; i < 2 * T; i++) { /* output row i is the weights' row of id i */
        size_t id = (size_t)bm_tensor_get(r.in[0], i);
        for (size_t d = 0; d < D; d++)
            ck_assert_double_eq(bm_tensor_get(r.out, i * D + d),
                                bm_tensor_get(r.params[0], id * D + d));
    }
    bm_tl_free(&r);
    bm_tl_gradcheck(&c);
    bm_tl_check_f32(&c, F32_TOL);
    c.in[0] = BM_TL_SHAPE(2, 3);
    bm_tl_expect_shape(&c.spec, 1, c.in, BM_TL_SHAPE(2, 3, D));
    bm_tl_gradcheck(&c);
    c.in[0] = BM_TL_SHAPE(2, 2, 2);
    bm_tl_expect_error(&c.spec, 1, c.in, BM_ERR_SHAPE, "embedding: input [2,2,2] must be ids");
    c.spec.in = 0;
    bm_tl_expect_error(&c.spec, 1, c.in, BM_ERR_SIZE, "embedding: in (rows) 0 is not in 1..");
    c.spec.in = V;
    c.spec.out = 0;
    bm_tl_expect_error(&c.spec, 1, c.in, BM_ERR_SIZE, "embedding: out (width) 0");
}
END_TEST

START_TEST(embedding_refuses_an_id_out_of_range)
{
    bm_tl_case c = {.spec = bm_tl_spec(BM_LAYER_EMBEDDING), .n_in = 1, .in = {BM_TL_SHAPE(3)},
                    .ids = 1, .id_range = 4};
    c.spec.in = 4;
    c.spec.out = 2;
    bm_tl_run r;
    bm_tl_build(&r, &c, BM_F64);
    bm_tensor_set(r.in[0], 1, 4.0); /* one past the last row */
    ck_assert_int_ne(bm_tape_forward(r.tape), BM_OK);
    ck_assert_ptr_nonnull(strstr(bm_tape_error(r.tape), "embedding"));
    bm_tl_free(&r);
}
END_TEST

/* ---------------------------------------------------------------- add, concat */

START_TEST(add_broadcasts)
{
    bm_tl_case c = {.spec = bm_tl_spec(BM_LAYER_ADD), .n_in = 2,
                    .in = {BM_TL_SHAPE(3, 4), BM_TL_SHAPE(3, 4)}};
    bm_tl_expect_shape(&c.spec, 2, c.in, BM_TL_SHAPE(3, 4));
    bm_tl_gradcheck(&c);
    bm_tl_check_f32(&c, F32_TOL);
    /* [C,H,W] + [C,1,1] + [W]: aligned at the last axis, never on the batch axis */
    c.n_in = 3;
    c.in[0] = BM_TL_SHAPE(3, 2, 4);
    c.in[1] = BM_TL_SHAPE(3, 1, 1);
    c.in[2] = BM_TL_SHAPE(4);
    bm_tl_expect_shape(&c.spec, 3, c.in, BM_TL_SHAPE(3, 2, 4));
    bm_tl_gradcheck(&c);
    bm_tl_run r;
    bm_tl_build(&r, &c, BM_F64);
    for (size_t b = 0; b < BM_TL_BATCH; b++)
        for (size_t i = 0; i < 24; i++) {
            double want = bm_tensor_get(r.in[0], b * 24 + i) +
                          bm_tensor_get(r.in[1], b * 3 + i / 8) +
                          bm_tensor_get(r.in[2], b * 4 + i % 4);
            ck_near(bm_tensor_get(r.out, b * 24 + i), want, 1e-14);
        }
    bm_tl_free(&r);
    c.n_in = 2;
    c.in[0] = BM_TL_SHAPE(4);
    c.in[1] = BM_TL_SHAPE(2, 1); /* the result is larger than either */
    bm_tl_expect_shape(&c.spec, 2, c.in, BM_TL_SHAPE(2, 4));
    bm_tl_gradcheck(&c);
    c.in[0] = BM_TL_SHAPE(3, 4);
    c.in[1] = BM_TL_SHAPE(3, 5);
    bm_tl_expect_error(&c.spec, 2, c.in, BM_ERR_SHAPE,
                       "add: input 1 [3,5] does not broadcast with [3,4]");
    bm_tl_expect_error(&c.spec, 1, c.in, BM_ERR_ARG, "add: 1 inputs");
}
END_TEST

START_TEST(concat_along_a_per_sample_axis)
{
    bm_tl_case c = {.spec = bm_tl_spec(BM_LAYER_CONCAT), .n_in = 2,
                    .in = {BM_TL_SHAPE(2, 3), BM_TL_SHAPE(4, 3)}};
    ck_assert_int_eq(c.spec.axis, 0);
    bm_tl_expect_shape(&c.spec, 2, c.in, BM_TL_SHAPE(6, 3));
    bm_tl_gradcheck(&c);
    bm_tl_check_f32(&c, F32_TOL);
    c.spec.axis = -1;
    c.n_in = 3;
    c.in[0] = BM_TL_SHAPE(2, 3);
    c.in[1] = BM_TL_SHAPE(2, 1);
    c.in[2] = BM_TL_SHAPE(2, 2);
    bm_tl_expect_shape(&c.spec, 3, c.in, BM_TL_SHAPE(2, 6));
    bm_tl_gradcheck(&c);
    bm_tl_run r;
    bm_tl_build(&r, &c, BM_F64);
    /* sample 1, row 1: [in0 row, in1 row, in2 row] */
    ck_assert_double_eq(bm_tensor_get(r.out, 12 + 6 + 3), bm_tensor_get(r.in[1], 2 + 1));
    ck_assert_double_eq(bm_tensor_get(r.out, 12 + 6 + 5), bm_tensor_get(r.in[2], 4 + 2 + 1));
    bm_tl_free(&r);
    c.spec.axis = 2;
    bm_tl_expect_error(&c.spec, 3, c.in, BM_ERR_SHAPE, "concat: axis 2 is not an axis of "
                       "input 0 [2,3]");
    c.spec.axis = 1;
    c.in[2] = BM_TL_SHAPE(3, 2);
    bm_tl_expect_error(&c.spec, 3, c.in, BM_ERR_SHAPE, "concat: input 2 [3,2] does not match "
                       "input 0 [2,3] off axis 1");
}
END_TEST

/* ---------------------------------------------------------------- every kind */

START_TEST(every_kind_lists_known_keys)
{
    size_t n_keys = 0;
    const bm_layer_key *keys = bm_layer_keys(&n_keys);
    for (int k = 0; k < BM_LAYER_KIND_COUNT; k++) {
        const bm_layer_vt *vt = bm_layer_vtable(k);
        ck_assert_ptr_nonnull(vt);
        ck_assert_msg(vt->min_inputs >= 1 && vt->min_inputs <= vt->max_inputs &&
                          vt->max_inputs <= BM_LAYER_MAX_INPUTS,
                      "%s: inputs %zu..%zu", vt->name, vt->min_inputs, vt->max_inputs);
        for (int j = 0; j < k; j++)
            ck_assert_str_ne(vt->name, bm_layer_vtable(j)->name);
        for (const char *const *key = vt->keys; *key; key++) {
            size_t i = 0;
            while (i < n_keys && strcmp(keys[i].name, *key) != 0)
                i++;
            ck_assert_msg(i < n_keys, "%s: key '%s' is not in bm_layer_keys()", vt->name, *key);
        }
    }
    ck_assert_ptr_null(bm_layer_vtable(BM_LAYER_KIND_COUNT));
    ck_assert_ptr_null(bm_layer_vtable(-1));
}
END_TEST

/* Product of sizes, 0 when it would pass BM_MAX_ELEMENTS. */
static size_t product(const size_t *dim, int rank)
{
    size_t n = 1;
    for (int d = 0; d < rank; d++) {
        if (dim[d] == 0 || dim[d] > BM_MAX_ELEMENTS / n)
            return 0;
        n *= dim[d];
    }
    return n;
}

/* check → infer → params of one spec on n copies of one input shape: an
 * error has a message; an accepted node has a sane shape and parameters. */
static void sweep_one(const bm_layer_vt *vt, const bm_layer_spec *s, const bm_shape *in)
{
    bm_shape ins[BM_LAYER_MAX_INPUTS], out;
    for (size_t k = 0; k < vt->min_inputs; k++)
        ins[k] = *in;
    bm_error e = {0};
    bm_status st = vt->check ? vt->check(s, &e) : BM_OK;
    if (st == BM_OK)
        st = vt->infer(s, ins, vt->min_inputs, &out, &e);
    if (st != BM_OK) {
        ck_assert_msg(e.code == st && e.msg[0], "%s: status %s without a message", vt->name,
                      bm_status_name(st));
        return;
    }
    ck_assert_msg(out.rank >= 0 && out.rank <= BM_LAYER_MAX_RANK, "%s: output rank %d",
                  vt->name, out.rank);
    ck_assert_msg(product(out.dim, out.rank) > 0, "%s: output of rank %d has a size 0 or "
                  "over the limit", vt->name, out.rank);
    bm_param_desc p[BM_LAYER_MAX_PARAMS];
    size_t n = vt->params(s, ins, vt->min_inputs, p);
    ck_assert_uint_le(n, BM_LAYER_MAX_PARAMS);
    for (size_t k = 0; k < n; k++)
        ck_assert_msg(p[k].name && p[k].rank >= 1 && p[k].rank <= BM_MAX_RANK &&
                          product(p[k].shape, p[k].rank) > 0,
                      "%s: parameter %zu (%s) has a bad shape", vt->name, k,
                      p[k].name ? p[k].name : "?");
}

START_TEST(every_kind_survives_extreme_specs_and_shapes)
{
    const size_t values[] = {0, 1, 2, 3, 5, (size_t)1 << 20, (size_t)1 << 40,
                             ((size_t)1 << 40) + 1, SIZE_MAX / 2, SIZE_MAX};
    const size_t big = (size_t)1 << 20, huge = (size_t)1 << 40;
    const bm_shape shapes[] = {
        {.rank = 0},          BM_TL_SHAPE(1),        BM_TL_SHAPE(7),
        BM_TL_SHAPE(3, 7),    BM_TL_SHAPE(4, 6, 5),  BM_TL_SHAPE(1, 1, 1),
        BM_TL_SHAPE(huge),    BM_TL_SHAPE(big, big), BM_TL_SHAPE(2, big, big / 4),
        BM_TL_SHAPE(3, 2, huge / 8),
    };
    for (int kind = 0; kind < BM_LAYER_KIND_COUNT; kind++) {
        const bm_layer_vt *vt = bm_layer_vtable(kind);
        for (int base = 0; base < 2; base++) {
            bm_layer_spec b = bm_layer_default((bm_layer_kind)kind);
            b.out = 4, b.kernel[0] = b.kernel[1] = 2, b.heads = 2, b.in = base ? 3 : 0;
            b.shape = BM_TL_SHAPE(3, 7);
            for (size_t f = 0; f < 12; f++)
                for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
                    bm_layer_spec s = b;
                    size_t *fields[12] = {&s.in,        &s.out,         &s.kernel[0],
                                          &s.kernel[1], &s.stride[0],   &s.padding[0],
                                          &s.padding[1], &s.dilation[0], &s.groups,
                                          &s.heads,     &s.hidden,      &s.shape.dim[1]};
                    *fields[f] = values[v];
                    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
                        sweep_one(vt, &s, &shapes[k]);
                }
        }
    }
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("layers_norm");
    TCase *tc = tcase_create("batch_norm");
    tcase_add_test(tc, batch_norm_params_and_errors);
    tcase_add_test(tc, batch_norm_gradcheck);
    tcase_add_test(tc, batch_norm_running_statistics);
    suite_add_tcase(s, tc);
    tc = tcase_create("norms");
    tcase_add_test(tc, last_axis_norms);
    tcase_add_test(tc, group_norm_groups_of_channels);
    suite_add_tcase(s, tc);
    tc = tcase_create("embedding");
    tcase_add_test(tc, embedding_rows_and_gradcheck);
    tcase_add_test(tc, embedding_refuses_an_id_out_of_range);
    suite_add_tcase(s, tc);
    tc = tcase_create("merge");
    tcase_add_test(tc, add_broadcasts);
    tcase_add_test(tc, concat_along_a_per_sample_axis);
    tcase_add_test(tc, every_kind_lists_known_keys);
    tcase_add_test(tc, every_kind_survives_extreme_specs_and_shapes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
