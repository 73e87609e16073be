/* test_layers_seq.c — the sequence kinds (rnn, lstm, gru, attention,
 * transformer, position) through their vtables with test_layer_util.h:
 * shapes, refused specs (the message checked), gradcheck and
 * gradgradcheck in F64 on small odd sizes, F32 forwards, truncated BPTT
 * cutting the gradient, causal attention not looking ahead, and the detach
 * op they use. */
#include "test_layer_util.h"

/* F32 forwards against F64 ones: relative error allowed. */
#define F32_TOL 1e-4

/* The kinds' vtables from the registry. */
#define VT(id) bm_layer_vtable(BM_LAYER_##id)

/* A spec of vt's kind with its defaults (bm_tl_spec). */
static bm_layer_spec seq_spec(const bm_layer_vt *vt)
{
    for (int k = 0; k < BM_LAYER_KIND_COUNT; k++)
        if (bm_layer_vtable(k) == vt)
            return bm_tl_spec((bm_layer_kind)k);
    ck_abort_msg("vtable %s is not a built-in kind", vt->name);
    return bm_tl_spec(BM_LAYER_DENSE);
}

/* check + infer through vt refuse s on shape in with code and `text`. */
static void seq_error(const bm_layer_vt *vt, const bm_layer_spec *s, bm_shape in, bm_status code,
                      const char *text)
{
    bm_error e = {0};
    bm_shape out;
    bm_status st = bm_tl_infer(vt, s, 1, &in, &out, &e);
    ck_assert_msg(st == code, "%s: expected %s, got %s (\"%s\")", vt->name, bm_status_name(code),
                  bm_status_name(st), e.msg);
    ck_assert_msg(strstr(e.msg, text) != NULL, "message \"%s\" lacks \"%s\"", e.msg, text);
}

/* check + infer through vt accept s on in and give want. */
static void seq_shape(const bm_layer_vt *vt, const bm_layer_spec *s, bm_shape in, bm_shape want)
{
    bm_error e = {0};
    bm_shape out;
    ck_assert_msg(bm_tl_infer(vt, s, 1, &in, &out, &e) == BM_OK, "%s: %s", vt->name, e.msg);
    ck_assert_int_eq(out.rank, want.rank);
    for (int d = 0; d < want.rank; d++)
        ck_assert_uint_eq(out.dim[d], want.dim[d]);
}

/* A one-input case of vt on per-sample shape in. */
static bm_tl_case seq_case(const bm_layer_vt *vt, bm_shape in, size_t batch)
{
    bm_tl_case c = {.vt = vt, .spec = seq_spec(vt), .n_in = 1, .in = {in}, .batch = batch};
    return c;
}

static const bm_layer_kind recurrent_kinds[] = {BM_LAYER_RNN, BM_LAYER_LSTM, BM_LAYER_GRU};
enum { N_RECURRENT = sizeof recurrent_kinds / sizeof recurrent_kinds[0] };
/* Gates of rnn, lstm, gru (torch's weight_ih is [gates·H, F]). */
static const size_t gates[N_RECURRENT] = {1, 4, 3};

START_TEST(recurrent_shapes_and_params)
{
    const bm_layer_vt *vt = bm_layer_vtable(recurrent_kinds[_i]);
    bm_layer_spec s = seq_spec(vt);
    s.out = 4;
    ck_assert_int_eq(s.sequences, 1);
    ck_assert_int_eq(s.bias, 1);
    seq_shape(vt, &s, BM_TL_SHAPE(5, 3), BM_TL_SHAPE(5, 4));
    s.sequences = 0;
    seq_shape(vt, &s, BM_TL_SHAPE(5, 3), BM_TL_SHAPE(4));
    bm_param_desc p[BM_LAYER_MAX_PARAMS];
    const bm_shape in = BM_TL_SHAPE(5, 3);
    ck_assert_uint_eq(vt->params(&s, &in, 1, p), 4);
    ck_assert_str_eq(p[0].name, "weight_ih");
    ck_assert_uint_eq(p[0].shape[0], gates[_i] * 4);
    ck_assert_uint_eq(p[0].shape[1], 3);
    ck_assert_str_eq(p[1].name, "weight_hh");
    ck_assert_uint_eq(p[1].shape[1], 4);
    ck_assert_str_eq(p[3].name, "bias_hh");
    ck_assert_uint_eq(p[3].shape[0], gates[_i] * 4);
    for (int k = 0; k < 4; k++) {
        ck_assert_int_eq(p[k].init, BM_PINIT_UNIFORM); /* torch: U(±1/√H) */
        ck_assert_uint_eq(p[k].fan_in, 4);
    }
    s.bias = 0;
    ck_assert_uint_eq(vt->params(&s, &in, 1, p), 2);
}
END_TEST

START_TEST(recurrent_bad_specs)
{
    const bm_layer_vt *vt = bm_layer_vtable(recurrent_kinds[_i]);
    char want[64];
    bm_layer_spec s = seq_spec(vt);
    snprintf(want, sizeof want, "%s: out (the hidden size) 0", vt->name);
    seq_error(vt, &s, BM_TL_SHAPE(5, 3), BM_ERR_SIZE, want);
    s.out = 4;
    snprintf(want, sizeof want, "%s: input [5] must be [steps, features]", vt->name);
    seq_error(vt, &s, BM_TL_SHAPE(5), BM_ERR_SHAPE, want);
    s.in = 2;
    snprintf(want, sizeof want, "%s: input [5,3] has 3 features, in says 2", vt->name);
    seq_error(vt, &s, BM_TL_SHAPE(5, 3), BM_ERR_SHAPE, want);
    s.in = 0;
    s.sequences = 2;
    snprintf(want, sizeof want, "%s: sequences 2 is not 0 or 1", vt->name);
    seq_error(vt, &s, BM_TL_SHAPE(5, 3), BM_ERR_ARG, want);
}
END_TEST

/* gradcheck + gradgradcheck through each recurrent kind: every step's
 * output and the last one's, with and without biases, odd sizes. */
START_TEST(recurrent_gradcheck)
{
    const bm_layer_vt *vt = bm_layer_vtable(recurrent_kinds[_i]);
    bm_tl_case c = seq_case(vt, BM_TL_SHAPE(4, 3), 2);
    c.spec.out = 3;
    bm_tl_gradcheck(&c);
    bm_tl_check_f32(&c, F32_TOL);
    c = seq_case(vt, BM_TL_SHAPE(3, 2), 3);
    c.spec.out = 5;
    c.spec.sequences = 0;
    c.spec.bias = 0;
    c.seed = 5;
    bm_tl_gradcheck(&c);
    bm_tl_check_f32(&c, F32_TOL);
}
END_TEST

/* The loss on the last step's output, backward; grad of the input's
 * element (sample 0, step k, feature 0) into g[k]. */
static void last_step_grads(const bm_layer_vt *vt, size_t bptt, size_t T, double *g, double *y)
{
    bm_tl_case c = seq_case(vt, BM_TL_SHAPE(T, 2), 2);
    c.spec.out = 3;
    c.spec.sequences = 0;
    c.spec.bptt = bptt;
    bm_tl_run r;
    bm_tl_build(&r, &c, BM_F64);
    bm_tensor *loss = bm_sum(r.tape, r.out, BM_AXIS_ALL, 0);
    ck_assert_int_eq(bm_tape_backward(r.tape, loss, NULL), BM_OK);
    const size_t F = 2;
    for (size_t k = 0; k < T; k++)
        g[k] = bm_tensor_grad_get(r.in[0], k * F);
    *y = bm_tensor_get(loss, 0);
    bm_tl_free(&r);
}

/* bptt k: no gradient reaches the steps before the last multiple of k; the
 * forward is the same as without truncation. */
START_TEST(bptt_cuts_the_gradient)
{
    enum { T = 5, BPTT = 2 };
    const bm_layer_vt *vt = bm_layer_vtable(recurrent_kinds[_i]);
    double full[T], cut[T], y_full, y_cut;
    last_step_grads(vt, 0, T, full, &y_full);
    last_step_grads(vt, BPTT, T, cut, &y_cut);
    ck_assert(y_full == y_cut);
    /* the last chunk starts at step 4: steps 0..3 get nothing */
    for (size_t k = 0; k < T; k++) {
        ck_assert_msg(full[k] != 0.0, "%s: step %zu has no gradient untruncated", vt->name, k);
        if (k < 4)
            ck_assert_msg(cut[k] == 0.0, "%s bptt %d: step %zu gets %g", vt->name, BPTT, k,
                          cut[k]);
        else
            ck_assert(cut[k] == full[k]);
    }
}
END_TEST

/* More steps than one stack op takes (its input limit): runs of steps
 * stacked and concatenated, in order. With F = H = 1 every step is
 * h = tanh(x·w_ih + b_ih + b_hh + h·w_hh), computed here directly. */
START_TEST(long_sequence_outputs)
{
    enum { T = BM_OP_MAX_INPUTS + 6 };
    bm_tl_case c = seq_case(VT(RNN), BM_TL_SHAPE(T, 1), 1);
    c.spec.out = 1;
    bm_tl_run r;
    bm_tl_build(&r, &c, BM_F64); /* asserts the output is [1,T,1] */
    const double w_ih = bm_tensor_get(r.params[0], 0), w_hh = bm_tensor_get(r.params[1], 0);
    const double b = bm_tensor_get(r.params[2], 0) + bm_tensor_get(r.params[3], 0);
    double h = 0.0;
    for (size_t k = 0; k < T; k++) {
        h = tanh(bm_tensor_get(r.in[0], k) * w_ih + b + h * w_hh);
        ck_near(bm_tensor_get(r.out, k), h, 1e-12);
    }
    bm_tl_free(&r);
}
END_TEST

START_TEST(attention_shapes_and_errors)
{
    const bm_layer_vt *vt = VT(ATTENTION);
    bm_layer_spec s = seq_spec(vt);
    ck_assert_uint_eq(s.heads, 1);
    ck_assert_int_eq(s.causal, 0);
    s.heads = 2;
    seq_shape(vt, &s, BM_TL_SHAPE(4, 6), BM_TL_SHAPE(4, 6));
    const bm_shape in = BM_TL_SHAPE(4, 6);
    bm_param_desc p[BM_LAYER_MAX_PARAMS];
    ck_assert_uint_eq(vt->params(&s, &in, 1, p), 4);
    ck_assert_str_eq(p[0].name, "qkv_weights");
    ck_assert_uint_eq(p[0].shape[0], 6);
    ck_assert_uint_eq(p[0].shape[1], 18);
    ck_assert_uint_eq(p[1].shape[0], 18);
    ck_assert_uint_eq(p[2].shape[1], 6);
    s.heads = 4;
    seq_error(vt, &s, in, BM_ERR_SHAPE,
              "attention: width 6 of input [4,6] is not a multiple of heads 4");
    s.heads = 0;
    seq_error(vt, &s, in, BM_ERR_ARG, "attention: heads must be at least 1");
    s.heads = 1;
    seq_error(vt, &s, BM_TL_SHAPE(2, 4, 6), BM_ERR_SHAPE, "attention: input [2,4,6] must be");
    s.bias = 0;
    ck_assert_uint_eq(vt->params(&s, &in, 1, p), 2);
}
END_TEST

START_TEST(attention_gradcheck)
{
    bm_tl_case c = seq_case(VT(ATTENTION), BM_TL_SHAPE(3, 6), 2);
    c.spec.heads = 3;
    bm_tl_gradcheck(&c);
    bm_tl_check_f32(&c, F32_TOL);
    c = seq_case(VT(ATTENTION), BM_TL_SHAPE(5, 4), 1);
    c.spec.heads = 2;
    c.spec.causal = 1;
    c.spec.bias = 0;
    bm_tl_gradcheck(&c);
    bm_tl_check_f32(&c, F32_TOL);
}
END_TEST

START_TEST(transformer_shapes_and_errors)
{
    const bm_layer_vt *vt = VT(TRANSFORMER);
    bm_layer_spec s = seq_spec(vt);
    ck_assert_int_eq(s.causal, 1);
    ck_assert(s.eps == 1e-5);
    const bm_shape in = BM_TL_SHAPE(3, 4);
    seq_shape(vt, &s, in, in);
    bm_param_desc p[BM_LAYER_MAX_PARAMS];
    ck_assert_uint_eq(vt->params(&s, &in, 1, p), 12);
    ck_assert_str_eq(p[6].name, "ln2_weights");
    ck_assert_int_eq(p[6].init, BM_PINIT_ONES);
    ck_assert_str_eq(p[8].name, "mlp_fc_weights");
    ck_assert_uint_eq(p[8].shape[1], 16); /* hidden 0: 4 x width */
    s.hidden = 7;
    vt->params(&s, &in, 1, p);
    ck_assert_uint_eq(p[8].shape[1], 7);
    ck_assert_uint_eq(p[10].shape[0], 7);
    s.bias = 0;
    ck_assert_uint_eq(vt->params(&s, &in, 1, p), 6);
    s.rate = 1.5;
    seq_error(vt, &s, in, BM_ERR_ARG, "transformer: rate 1.5 must be in [0, 1)");
    s.rate = 0;
    s.eps = 0;
    seq_error(vt, &s, in, BM_ERR_ARG, "transformer: eps 0 must be finite and > 0");
    s.eps = 1e-5;
    s.heads = 3;
    seq_error(vt, &s, in, BM_ERR_SHAPE, "transformer: width 4 of input [3,4] is not a multiple");
}
END_TEST

START_TEST(transformer_gradcheck)
{
    bm_tl_case c = seq_case(VT(TRANSFORMER), BM_TL_SHAPE(3, 4), 2);
    c.spec.heads = 2;
    c.spec.hidden = 5;
    bm_tl_gradcheck(&c);
    bm_tl_check_f32(&c, F32_TOL);
    /* no biases, not causal, the tanh gelu, residual dropout frozen */
    c = seq_case(VT(TRANSFORMER), BM_TL_SHAPE(4, 3), 1);
    c.spec.hidden = 3;
    c.spec.bias = 0;
    c.spec.causal = 0;
    c.spec.approximate = 1;
    c.spec.rate = 0.25;
    c.training = 1;
    bm_tl_gradcheck(&c);
}
END_TEST

START_TEST(position_embedding)
{
    const bm_layer_vt *vt = VT(POSITION);
    bm_layer_spec s = seq_spec(vt);
    s.in = 6;
    seq_shape(vt, &s, BM_TL_SHAPE(4, 3), BM_TL_SHAPE(4, 3));
    seq_error(vt, &s, BM_TL_SHAPE(7, 3), BM_ERR_SHAPE,
              "position: input [7,3] has 7 steps, more than the table's in = 6 rows");
    bm_param_desc p[BM_LAYER_MAX_PARAMS];
    const bm_shape in = BM_TL_SHAPE(4, 3);
    ck_assert_uint_eq(vt->params(&s, &in, 1, p), 1);
    ck_assert_uint_eq(p[0].shape[0], 6);
    ck_assert_int_eq(p[0].init, BM_PINIT_NORMAL);
    ck_assert(p[0].std == 0.02);
    /* x + P[:T]: the rows past T get no gradient */
    bm_tl_case c = seq_case(vt, in, 2);
    c.spec.in = 6;
    bm_tl_gradcheck(&c);
    bm_tl_run r;
    bm_tl_build(&r, &c, BM_F64);
    for (size_t i = 0; i < r.out->size; i++) {
        size_t row = (i / 3) % 4, col = i % 3;
        ck_assert(bm_tensor_get(r.out, i) ==
                  bm_tensor_get(r.in[0], i) + bm_tensor_get(r.params[0], row * 3 + col));
    }
    ck_assert_int_eq(bm_tape_backward(r.tape, bm_sum(r.tape, r.out, BM_AXIS_ALL, 0), NULL),
                     BM_OK);
    ck_assert(bm_tensor_grad_get(r.params[0], 0) == 2.0); /* two samples */
    ck_assert(bm_tensor_grad_get(r.params[0], 4 * 3) == 0.0);
    bm_tl_free(&r);
    c.spec.in = 0; /* a table of exactly T rows */
    bm_tl_gradcheck(&c);
}
END_TEST

/* Output step t of causal attention (and a causal block) does not change
 * when inputs after t do; without causal it does. */
static void causal_case(const bm_layer_vt *vt, int causal)
{
    enum { T = 4, E = 4, CUT = 2 };
    bm_tl_case c = seq_case(vt, BM_TL_SHAPE(T, E), 1);
    c.spec.heads = 2;
    c.spec.causal = causal;
    bm_tl_run r;
    bm_tl_build(&r, &c, BM_F64);
    double before[T * E];
    for (size_t i = 0; i < T * E; i++)
        before[i] = bm_tensor_get(r.out, i);
    /* steps CUT.. change, by amounts that vary along the width (layer norm
     * would cancel one shift of a whole row) */
    for (size_t i = CUT * E; i < T * E; i++)
        bm_tensor_set(r.in[0], i, bm_tensor_get(r.in[0], i) + 0.25 * (double)(i % E + 1));
    ck_assert_int_eq(bm_tape_forward(r.tape), BM_OK);
    int changed_early = 0, changed_late = 0;
    for (size_t i = 0; i < T * E; i++) {
        int diff = bm_tensor_get(r.out, i) != before[i];
        if (i < CUT * E)
            changed_early |= diff;
        else
            changed_late |= diff;
    }
    ck_assert_msg(changed_late, "%s: later outputs did not change", vt->name);
    ck_assert_msg(changed_early == !causal, "%s causal %d: steps before %d %s", vt->name, causal,
                  CUT, changed_early ? "changed" : "did not change");
    bm_tl_free(&r);
}

START_TEST(causal_does_not_look_ahead)
{
    causal_case(VT(ATTENTION), 1);
    causal_case(VT(ATTENTION), 0);
    causal_case(VT(TRANSFORMER), 1);
    causal_case(VT(TRANSFORMER), 0);
}
END_TEST

/* detach: the same values, no gradient: d(x·detach(x))/dx = x, not 2x. */
START_TEST(detach_stops_the_gradient)
{
    bm_tape *t = bm_tape_new();
    bm_tensor *x = bm_tape_leaf(t, BM_F64, 1, (size_t[]){3}, BM_REQUIRES_GRAD);
    for (size_t i = 0; i < 3; i++)
        bm_tensor_set(x, i, 0.5 + (double)i);
    bm_tensor *d = bm_detach(t, x);
    ck_assert_ptr_nonnull(d);
    ck_assert(!(d->flags & BM_REQUIRES_GRAD));
    bm_tensor *y = bm_sum(t, bm_mul(t, x, d), BM_AXIS_ALL, 0);
    ck_assert_int_eq(bm_tape_backward(t, y, NULL), BM_OK);
    for (size_t i = 0; i < 3; i++) {
        ck_assert(bm_tensor_get(d, i) == bm_tensor_get(x, i));
        ck_assert(bm_tensor_grad_get(x, i) == bm_tensor_get(x, i));
    }
    ck_assert_ptr_null(bm_detach(t, NULL));
    ck_assert_ptr_nonnull(strstr(bm_tape_error(t), "bm_detach"));
    bm_tape_free(t);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("layers_seq");
    TCase *tc = tcase_create("seq");
    tcase_add_loop_test(tc, recurrent_shapes_and_params, 0, N_RECURRENT);
    tcase_add_loop_test(tc, recurrent_bad_specs, 0, N_RECURRENT);
    tcase_add_loop_test(tc, recurrent_gradcheck, 0, N_RECURRENT);
    tcase_add_loop_test(tc, bptt_cuts_the_gradient, 0, N_RECURRENT);
    tcase_add_test(tc, long_sequence_outputs);
    tcase_add_test(tc, attention_shapes_and_errors);
    tcase_add_test(tc, attention_gradcheck);
    tcase_add_test(tc, transformer_shapes_and_errors);
    tcase_add_test(tc, transformer_gradcheck);
    tcase_add_test(tc, position_embedding);
    tcase_add_test(tc, causal_does_not_look_ahead);
    tcase_add_test(tc, detach_stops_the_gradient);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
