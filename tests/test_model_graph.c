/* test_model_graph.c — graph models: a skip connection through a custom
 * (test-local) two-input kind, two model inputs, weight tying (the tied
 * weight's gradient is the sum of both uses, gradchecked), sequence
 * outputs [T,V] with targets [N,T], names and accessors, and every error
 * of building a graph named. */
#include <stdlib.h>
#include <string.h>

#include "test_add2_kind.h"
#include "test_util.h"

/* Gradcheck tolerances for the second order (as `bmnn gradcheck --order 2`). */
#define GG_TOL 1e-4

#define ck_ok(s, e) ck_assert_msg((s) == BM_OK, "%s", (e).msg)
#define ck_err(s, code, e, part)                                                          \
    do {                                                                                  \
        bm_status ck_s_ = (s);                                                            \
        ck_assert_msg(ck_s_ == (code), "%s: got %s (%s)", #s, bm_status_name(ck_s_),      \
                      (e).msg);                                                           \
        ck_assert_msg(strstr((e).msg, (part)) != NULL, "message '%s' lacks '%s'", (e).msg, \
                      (part));                                                            \
    } while (0)

static void add_dense(bm_model *m, const char *name, const char *in, size_t out)
{
    bm_error e = {0};
    bm_layer_spec d = bm_dense_spec(0, out); /* `in` inferred */
    d.init = BM_INIT_GLOROT;
    ck_ok(bm_model_add_node(m, name, &d, 1, &in, &e), e);
}

/* y[r] = x[r]·W + b for one row of width n_in. */
static void dense_row(bm_tensor *W, bm_tensor *b, const double *x, double *y)
{
    size_t I = W->shape[0], O = W->shape[1];
    for (size_t o = 0; o < O; o++) {
        double s = bm_tensor_get(b, o);
        for (size_t i = 0; i < I; i++)
            s += x[i] * bm_tensor_get(W, i * O + o);
        y[o] = s;
    }
}

/* The residual MLP: h = dense(x); r = relu(h); d2 = dense(r); s = d2 + h; out = dense(s). */
static bm_model *residual(bm_dtype dt, bm_loss_kind loss)
{
    bm_error e = {0};
    bm_model *m = bm_model_new(dt, 3, &e);
    ck_assert_ptr_nonnull(m);
    bm_layer_spec relu = bm_activation_spec(BM_LAYER_RELU), none = {0};
    const char *r_in = "h", *s_in[2] = {"d2", "h"};
    add_dense(m, "h", "input", 4);
    ck_ok(bm_model_add_node(m, "r", &relu, 1, &r_in, &e), e);
    add_dense(m, "d2", "r", 4);
    ck_ok(bm_model_add_node_vt(m, "s", &add2_vt, &none, 2, s_in, &e), e);
    add_dense(m, "out", "s", 2);
    ck_ok(bm_model_set_loss(m, loss, &e), e);
    ck_ok(bm_model_init(m, 7, &e), e);
    return m;
}

START_TEST(skip_connection_forward_and_gradients)
{
    bm_error e = {0};
    bm_model *m = residual(BM_F64, BM_LOSS_MSE);
    ck_assert_uint_eq(bm_model_n_layers(m), 5);
    ck_assert_uint_eq(bm_model_n_params(m), (3 * 4 + 4) + (4 * 4 + 4) + (4 * 2 + 2));
    ck_assert_uint_eq(bm_model_layer(m, 4)->in, 4); /* inferred */
    ck_assert_ptr_eq(bm_model_param(m, "d2.weights"), bm_model_weights(m, 2));
    ck_assert_ptr_null(bm_model_param(m, "s.weights"));
    ck_assert_str_eq(bm_model_node_input(m, 3, 1), "h");
    ck_assert_uint_eq(bm_model_node_shape(m, 4)->dim[0], 2);
    /* predictions against the same arithmetic by hand */
    const double xv[2][3] = {{0.5, -1.0, 2.0}, {-0.3, 0.8, 0.1}};
    size_t xs[2] = {2, 3};
    bm_tensor *x = bm_tensor_new(BM_F64, 2, xs, &e), *p = NULL;
    ck_assert_int_eq(bm_tensor_load(x, &xv[0][0], 6, &e), BM_OK);
    ck_ok(bm_model_predict(m, x, &p, &e), e);
    for (size_t r = 0; r < 2; r++) {
        double h[4], rl[4], d2[4], sum[4], out[2];
        dense_row(bm_model_weights(m, 0), bm_model_biases(m, 0), xv[r], h);
        for (int k = 0; k < 4; k++)
            rl[k] = h[k] > 0 ? h[k] : 0;
        dense_row(bm_model_weights(m, 2), bm_model_biases(m, 2), rl, d2);
        for (int k = 0; k < 4; k++)
            sum[k] = d2[k] + h[k];
        dense_row(bm_model_weights(m, 4), bm_model_biases(m, 4), sum, out);
        for (int k = 0; k < 2; k++)
            ck_near(bm_tensor_get(p, r * 2 + k), out[k], 1e-12);
    }
    /* gradcheck and gradgradcheck of every parameter through the skip */
    bm_tape *t = bm_tape_new();
    size_t ys[2] = {2, 2};
    bm_tensor *bx = bm_tape_leaf(t, BM_F64, 2, xs, 0), *by = bm_tape_leaf(t, BM_F64, 2, ys, 0);
    ck_assert_int_eq(bm_tensor_load(bx, &xv[0][0], 6, &e), BM_OK);
    ck_assert_int_eq(bm_tensor_load(by, (double[]){1, 0, -1, 2}, 4, &e), BM_OK);
    bm_tensor *loss = bm_model_record(m, t, bx, by, 1, NULL);
    ck_assert_msg(loss != NULL, "%s", bm_tape_error(t));
    for (size_t i = 0; i < bm_model_n_layers(m); i++)
        for (size_t k = 0; k < bm_model_node_n_params(m, i); k++) {
            bm_tensor *w = bm_model_node_param(m, i, k);
            bm_gradcheck_opts o = bm_gradcheck_defaults();
            bm_gradcheck_result r;
            ck_assert_int_eq(bm_gradcheck(t, loss, &w, 1, &o, &r), BM_OK);
            ck_assert_msg(r.passed, "%s: %s", w->name, r.message);
            o.atol = o.rtol = GG_TOL;
            ck_assert_int_eq(bm_gradgradcheck(t, loss, &w, 1, &o, &r), BM_OK);
            ck_assert_msg(r.passed, "%s (2nd order): %s", w->name, r.message);
        }
    /* the DOT groups name the nodes */
    ck_assert_str_eq(bm_model_group(m, bm_model_weights(m, 2)), "d2: dense");
    bm_tape_free(t);
    bm_tensor_free(x);
    bm_tensor_free(p);
    bm_model_free(m);
}
END_TEST

START_TEST(skip_connection_trains)
{
    /* two classes by the sign of x0 + x1 - x2; the residual MLP learns them */
    bm_error e = {0};
    bm_model *m = residual(BM_F32, BM_LOSS_SOFTMAX_CCE);
    bm_optim_config oc = bm_optim_defaults(BM_OPT_ADAM);
    oc.lr = 0.05;
    ck_ok(bm_model_set_optimizer(m, &oc, &e), e);
    enum { N = 64 };
    bm_dataset ds = {0};
    size_t xs[2] = {N, 3}, ys[1] = {N};
    ds.x = bm_tensor_new(BM_F32, 2, xs, &e);
    ds.y = bm_tensor_new(BM_F32, 1, ys, &e);
    bm_rng r;
    bm_rng_seed(&r, 3);
    for (size_t i = 0; i < N; i++) {
        double v[3] = {bm_rng_normal(&r), bm_rng_normal(&r), bm_rng_normal(&r)};
        for (int k = 0; k < 3; k++)
            bm_tensor_set(ds.x, i * 3 + (size_t)k, v[k]);
        bm_tensor_set(ds.y, i, v[0] + v[1] - v[2] > 0);
    }
    double loss0, acc0, loss1, acc1;
    ck_ok(bm_model_evaluate(m, &ds, &loss0, &acc0, &e), e);
    bm_fit_opts fo = bm_fit_defaults();
    fo.epochs = 100;
    fo.batch_size = 16;
    ck_ok(bm_model_fit(m, &ds, &fo, &e), e);
    ck_ok(bm_model_evaluate(m, &ds, &loss1, &acc1, &e), e);
    ck_assert_msg(loss1 < 0.25 * loss0 && acc1 > 0.95, "loss %g -> %g, accuracy %g", loss0,
                  loss1, acc1);
    bm_dataset_free(&ds);
    bm_model_free(m);
}
END_TEST

START_TEST(two_inputs)
{
    /* y = dense(a) + dense(b) over inputs a [3] and b [2]: rows [a | b] */
    bm_error e = {0};
    bm_model *m = bm_model_new(BM_F64, 3, &e);
    bm_shape bs = {.rank = 1, .dim = {2}};
    ck_ok(bm_model_add_input(m, "b", &bs, &e), e);
    ck_assert_uint_eq(bm_model_n_inputs(m), 5);
    ck_assert_uint_eq(bm_model_input_count(m), 2);
    ck_assert_str_eq(bm_model_input_name(m, 1), "b");
    add_dense(m, "da", "input", 1);
    add_dense(m, "db", "b", 1);
    const char *in[2] = {"da", "db"};
    bm_layer_spec none = {0};
    ck_ok(bm_model_add_node_vt(m, "sum", &add2_vt, &none, 2, in, &e), e);
    ck_ok(bm_model_set_loss(m, BM_LOSS_MSE, &e), e);
    ck_ok(bm_model_init(m, 1, &e), e);
    const double xv[5] = {1, 2, 3, -1, 0.5};
    size_t xs[2] = {1, 5};
    bm_tensor *x = bm_tensor_new(BM_F64, 2, xs, &e), *p = NULL;
    ck_assert_int_eq(bm_tensor_load(x, xv, 5, &e), BM_OK);
    ck_ok(bm_model_predict(m, x, &p, &e), e);
    double a, b;
    dense_row(bm_model_weights(m, 0), bm_model_biases(m, 0), xv, &a);
    dense_row(bm_model_weights(m, 1), bm_model_biases(m, 1), xv + 3, &b);
    ck_near(bm_tensor_get(p, 0), a + b, 1e-12);
    /* both inputs' columns reach their own dense: gradcheck both weights */
    bm_tape *t = bm_tape_new();
    size_t ys[2] = {1, 1};
    bm_tensor *bx = bm_tape_leaf(t, BM_F64, 2, xs, 0), *by = bm_tape_leaf(t, BM_F64, 2, ys, 0);
    ck_assert_int_eq(bm_tensor_load(bx, xv, 5, &e), BM_OK);
    bm_tensor_set(by, 0, 0.25);
    bm_tensor *loss = bm_model_record(m, t, bx, by, 1, NULL);
    ck_assert_msg(loss != NULL, "%s", bm_tape_error(t));
    bm_tensor *w[2] = {bm_model_weights(m, 0), bm_model_weights(m, 1)};
    bm_gradcheck_opts o = bm_gradcheck_defaults();
    bm_gradcheck_result r;
    ck_assert_int_eq(bm_gradcheck(t, loss, w, 2, &o, &r), BM_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    /* a linear target of both inputs is learned */
    enum { N = 32 };
    bm_dataset ds = {0};
    size_t dxs[2] = {N, 5}, dys[2] = {N, 1};
    ds.x = bm_tensor_new(BM_F64, 2, dxs, &e);
    ds.y = bm_tensor_new(BM_F64, 2, dys, &e);
    bm_rng g;
    bm_rng_seed(&g, 5);
    for (size_t i = 0; i < N; i++) {
        double s = 0;
        for (size_t k = 0; k < 5; k++) {
            double v = bm_rng_normal(&g);
            bm_tensor_set(ds.x, i * 5 + k, v);
            s += (double)(k + 1) * v * (k < 3 ? 1 : -1);
        }
        bm_tensor_set(ds.y, i, s);
    }
    bm_optim_config oc = bm_optim_defaults(BM_OPT_ADAM);
    oc.lr = 0.05;
    ck_ok(bm_model_set_optimizer(m, &oc, &e), e);
    double l0, l1;
    ck_ok(bm_model_evaluate(m, &ds, &l0, NULL, &e), e);
    bm_fit_opts fo = bm_fit_defaults();
    fo.epochs = 400;
    ck_ok(bm_model_fit(m, &ds, &fo, &e), e);
    ck_ok(bm_model_evaluate(m, &ds, &l1, NULL, &e), e);
    ck_assert_msg(l1 < 1e-3 * l0, "loss %g -> %g", l0, l1);
    bm_dataset_free(&ds);
    bm_tape_free(t);
    bm_tensor_free(x);
    bm_tensor_free(p);
    bm_model_free(m);
}
END_TEST

START_TEST(tied_weights)
{
    /* y = W(Wx + b) + b with one W, b: their gradients sum both uses */
    bm_error e = {0};
    bm_model *m = bm_model_new(BM_F64, 3, &e);
    add_dense(m, "d1", "input", 3);
    add_dense(m, "d2", "d1", 3);
    ck_ok(bm_model_share(m, "d2", "d1", &e), e);
    ck_assert_str_eq(bm_model_node_shares(m, 1), "d1");
    ck_assert_ptr_null(bm_model_node_shares(m, 0));
    ck_ok(bm_model_set_loss(m, BM_LOSS_MSE, &e), e);
    ck_ok(bm_model_init(m, 2, &e), e);
    ck_assert_uint_eq(bm_model_n_params(m), 12); /* counted once */
    ck_assert_ptr_eq(bm_model_weights(m, 1), bm_model_weights(m, 0));
    bm_tape *t = bm_tape_new();
    size_t xs[2] = {2, 3};
    bm_tensor *bx = bm_tape_leaf(t, BM_F64, 2, xs, 0), *by = bm_tape_leaf(t, BM_F64, 2, xs, 0);
    ck_assert_int_eq(bm_tensor_load(bx, (double[]){1, -2, 0.5, 0.3, 0.7, -1.1}, 6, &e), BM_OK);
    ck_assert_int_eq(bm_tensor_load(by, (double[]){0.1, 0.2, 0.3, -0.4, 0.5, 0.6}, 6, &e),
                     BM_OK);
    bm_tensor *loss = bm_model_record(m, t, bx, by, 1, NULL);
    ck_assert_msg(loss != NULL, "%s", bm_tape_error(t));
    bm_tensor *p[2] = {bm_model_weights(m, 0), bm_model_biases(m, 0)};
    bm_gradcheck_opts o = bm_gradcheck_defaults();
    bm_gradcheck_result r;
    ck_assert_int_eq(bm_gradcheck(t, loss, p, 2, &o, &r), BM_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    o.atol = o.rtol = GG_TOL;
    ck_assert_int_eq(bm_gradgradcheck(t, loss, p, 2, &o, &r), BM_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    bm_tape_free(t);
    bm_model_free(m);
}
END_TEST

START_TEST(sequence_outputs)
{
    /* input [T=3, F=2] -> dense over the last axis -> logits [3, V=4]; targets [N,3] */
    bm_error e = {0};
    bm_model *m = bm_model_new(BM_F64, 6, &e);
    bm_shape s = {.rank = 2, .dim = {3, 2}};
    ck_ok(bm_model_set_input_shape(m, &s, &e), e);
    add_dense(m, "logits", "input", 4);
    ck_assert_uint_eq(bm_model_node_shape(m, 0)->rank, 2);
    ck_ok(bm_model_init(m, 4, &e), e);
    enum { N = 5, T = 3, V = 4 };
    bm_dataset ds = {0};
    size_t xs[2] = {N, 6}, ys[2] = {N, T};
    ds.x = bm_tensor_new(BM_F64, 2, xs, &e);
    ds.y = bm_tensor_new(BM_F64, 2, ys, &e);
    bm_rng g;
    bm_rng_seed(&g, 9);
    for (size_t i = 0; i < ds.x->size; i++)
        bm_tensor_set(ds.x, i, bm_rng_normal(&g));
    for (size_t i = 0; i < ds.y->size; i++)
        bm_tensor_set(ds.y, i, (double)(i % V));
    ck_ok(bm_model_check_data(m, &ds, "seq", &e), e);
    /* the loss is the mean cross-entropy over all N·T positions */
    bm_tensor *p = NULL;
    ck_ok(bm_model_predict(m, ds.x, &p, &e), e);
    ck_assert_int_eq(p->rank, 3);
    double want = 0;
    for (size_t i = 0; i < N * T; i++)
        want -= log(bm_tensor_get(p, i * V + (size_t)bm_tensor_get(ds.y, i)));
    want /= N * T;
    double loss;
    ck_ok(bm_model_evaluate(m, &ds, &loss, NULL, &e), e);
    ck_near(loss, want, 1e-12);
    /* bm_model_record reshapes rows [N, 6] to the input's [N, 3, 2] */
    bm_tape *t = bm_tape_new();
    bm_tensor *bx = bm_tape_leaf(t, BM_F64, 2, xs, 0);
    ck_assert_int_eq(bm_tensor_load(bx, ds.x->data, ds.x->size, &e), BM_OK);
    bm_tensor *probs = bm_model_record(m, t, bx, NULL, 0, NULL);
    ck_assert_msg(probs != NULL, "%s", bm_tape_error(t));
    ck_assert_int_eq(probs->rank, 3);
    for (size_t i = 0; i < probs->size; i++)
        ck_assert(bm_tensor_get(probs, i) == bm_tensor_get(p, i));
    bm_tape_free(t);
    /* targets that do not fit the positions, and labels out of range */
    bm_dataset bad = {0};
    size_t bys[2] = {N, 2};
    bad.x = ds.x;
    bad.y = bm_tensor_new(BM_F64, 2, bys, &e);
    ck_err(bm_model_check_data(m, &bad, "seq", &e), BM_ERR_SHAPE, e, "class numbers [N,3]");
    bm_tensor_free(bad.y);
    bm_tensor_set(ds.y, 4, 7);
    ck_err(bm_model_check_data(m, &ds, "seq", &e), BM_ERR_ARG, e, "row 1, position 1 has label 7");
    bm_tensor_free(p);
    bm_dataset_free(&ds);
    bm_model_free(m);
}
END_TEST

START_TEST(graph_errors)
{
    bm_error e = {0};
    bm_model *m = bm_model_new(BM_F32, 4, &e);
    bm_layer_spec d = bm_dense_spec(5, 3), relu = bm_activation_spec(BM_LAYER_RELU), none = {0};
    const char *in = "input", *nowhere = "nowhere", *two[2] = {"input", "input"};
    ck_err(bm_model_add_node(m, "d", &d, 1, &in, &e), BM_ERR_SHAPE, e,
           "nodes[0] \"d\": dense input 5 does not match the width 4");
    ck_err(bm_model_add_node(m, "r", &relu, 1, &nowhere, &e), BM_ERR_ARG, e,
           "nodes[0] \"r\": input 0 \"nowhere\" is neither an earlier node nor a model input");
    ck_err(bm_model_add_node(m, "r", &relu, 2, two, &e), BM_ERR_ARG, e,
           "relu reads 1..1 inputs, got 2");
    ck_err(bm_model_add_node(m, "a.b", &relu, 1, &in, &e), BM_ERR_ARG, e, "no '.'");
    ck_err(bm_model_add_node(m, "input", &relu, 1, &in, &e), BM_ERR_ARG, e, "is taken");
    ck_err(bm_model_add_node_vt(m, "s", &add2_vt, &none, 1, &in, &e), BM_ERR_ARG, e,
           "add2 reads 2..2 inputs, got 1");
    bm_layer_spec bad_kind = bm_activation_spec((bm_layer_kind)999);
    ck_err(bm_model_add_node(m, "k", &bad_kind, 1, &in, &e), BM_ERR_ARG, e,
           "unknown layer kind 999");
    bm_layer_spec dr = bm_dropout_spec(2.0);
    ck_err(bm_model_add_node(m, "dr", &dr, 1, &in, &e), BM_ERR_ARG, e,
           "nodes[0] \"dr\".rate: 2 must be in [0, 1)");
    ck_ok(bm_model_add_node(m, "r", &relu, 1, &in, &e), e);
    ck_err(bm_model_add_node(m, "r", &relu, 1, &in, &e), BM_ERR_ARG, e, "\"r\" is taken");
    add_dense(m, "d3", "r", 3);
    const char *mixed[2] = {"r", "d3"}; /* [4] + [3] */
    ck_err(bm_model_add_node_vt(m, "s", &add2_vt, &none, 2, mixed, &e), BM_ERR_SHAPE, e,
           "nodes[2] \"s\": add2: inputs of different shapes");
    add_dense(m, "d2", "r", 2);
    ck_err(bm_model_share(m, "d2", "d3", &e), BM_ERR_SHAPE, e, "weights of different shapes");
    ck_err(bm_model_share(m, "d2", "r", &e), BM_ERR_ARG, e, "not of one kind");
    ck_err(bm_model_share(m, "d2", "zz", &e), BM_ERR_ARG, e, "\"zz\" is not a node");
    ck_err(bm_model_share(m, "d2", "d2", &e), BM_ERR_ARG, e, "itself");
    const char *outs[1] = {"input"};
    ck_err(bm_model_set_outputs(m, 1, outs, &e), BM_ERR_ARG, e, "output 0 \"input\" is not a node");
    ck_err(bm_model_set_outputs(m, 0, outs, &e), BM_ERR_ARG, e, "0 outputs");
    bm_shape s = {.rank = 1, .dim = {2}};
    ck_err(bm_model_add_input(m, "b", &s, &e), BM_ERR_STATE, e, "before the nodes");
    ck_err(bm_model_set_input_shape(m, &s, &e), BM_ERR_STATE, e, "before adding nodes");
    bm_model_free(m);
    m = bm_model_new(BM_F32, 4, &e);
    ck_err(bm_model_set_input_shape(m, &s, &e), BM_ERR_SHAPE, e, "2 elements, input \"input\" 4");
    bm_shape zero = {.rank = 1, .dim = {0}};
    ck_err(bm_model_add_input(m, "z", &zero, &e), BM_ERR_SHAPE, e, "sizes >= 1");
    ck_err(bm_model_add_input(m, "input", &s, &e), BM_ERR_ARG, e, "is taken");
    /* outputs pick which node the loss reads */
    add_dense(m, "a", "input", 2);
    add_dense(m, "b", "input", 3);
    const char *first[1] = {"a"};
    ck_ok(bm_model_set_outputs(m, 1, first, &e), e);
    ck_assert_uint_eq(bm_model_n_outputs(m), 2);
    ck_assert_str_eq(bm_model_output_name(m, 0), "a");
    bm_model_free(m);
}
END_TEST

/* ---------------- a kind with a state tensor (as batch norm's running
 * statistics): y = x * scale + shift, plus a "count" it keeps as state */

static size_t scaled_params(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                            bm_param_desc *p)
{
    (void)s;
    (void)n_in;
    size_t w = in->dim[in->rank - 1];
    p[0] = (bm_param_desc){.name = "scale", .rank = 1, .shape = {w}, .init = BM_PINIT_ONES,
                           .role = BM_ROLE_WEIGHT};
    p[1] = (bm_param_desc){.name = "count", .rank = 1, .shape = {2}, .init = BM_PINIT_ONES,
                           .role = BM_ROLE_STATE};
    p[2] = (bm_param_desc){.name = "shift", .rank = 1, .shape = {w}, .init = BM_PINIT_UNIFORM,
                           .fan_in = 4, .role = BM_ROLE_BIAS};
    return 3;
}

static bm_status same_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                            bm_shape *out, bm_error *err)
{
    (void)s;
    (void)n_in;
    (void)err;
    *out = *in;
    return BM_OK;
}

static bm_tensor *scaled_record(bm_tape *t, const bm_layer_call *c)
{
    return bm_add(t, bm_mul(t, c->in[0], c->params[0]), c->params[2]);
}

static bm_tensor *wrong_record(bm_tape *t, const bm_layer_call *c)
{
    return bm_sum(t, c->in[0], 1, 0); /* [B] instead of [B, width] */
}

static const bm_layer_vt scaled_vt = {
    .name = "scaled", .summary = "x * scale + shift", .min_inputs = 1, .max_inputs = 1,
    .keys = add2_keys, .infer = same_infer, .params = scaled_params, .record = scaled_record,
};
static const char *const odd_keys[] = {"out", "colour", NULL};
static const bm_layer_vt odd_vt = {
    .name = "odd", .summary = "lists a key the key table lacks", .min_inputs = 1,
    .max_inputs = 1, .keys = odd_keys, .infer = same_infer, .params = add2_params,
    .record = wrong_record,
};
static const bm_layer_vt wrong_vt = {
    .name = "wrong", .summary = "records a shape it did not infer", .min_inputs = 1,
    .max_inputs = 1, .keys = add2_keys, .infer = same_infer, .params = add2_params,
    .record = wrong_record,
};

START_TEST(state_tensors_and_custom_kinds)
{
    bm_error e = {0};
    bm_model *m = bm_model_new(BM_F64, 4, &e);
    bm_layer_spec none = {0};
    const char *in = "input", *sc = "sc";
    ck_ok(bm_model_add_node_vt(m, "sc", &scaled_vt, &none, 1, &in, &e), e);
    add_dense(m, "out", "sc", 2);
    ck_ok(bm_model_set_loss(m, BM_LOSS_MSE, &e), e);
    ck_ok(bm_model_init(m, 3, &e), e);
    /* state is apart from the trained buffer; ONES / UNIFORM initialisers */
    ck_assert_uint_eq(bm_model_n_params(m), 4 + 4 + 4 * 2 + 2);
    ck_assert_uint_eq(bm_model_n_state(m), 2);
    bm_tensor *count = bm_model_param(m, "sc.count"), *shift = bm_model_param(m, "sc.shift");
    ck_assert_ptr_eq(count->data, bm_model_state(m));
    ck_assert_ptr_null(count->grad);
    ck_assert(bm_tensor_get(count, 1) == 1.0 && bm_tensor_get(bm_model_param(m, "sc.scale"), 3) == 1.0);
    for (size_t i = 0; i < 4; i++) /* U(±1/√fan_in) = U(±0.5), not all zero */
        ck_assert(fabs(bm_tensor_get(shift, i)) <= 0.5 && bm_tensor_get(shift, i) != 0.0);
    ck_assert_ptr_eq(bm_model_biases(m, 0), shift);
    /* the state reaches checkpoints and comes back */
    bm_tensor_set(count, 0, 41.5);
    char *j = bm_model_to_json(m, NULL, &e);
    ck_assert_msg(j != NULL, "%s", e.msg);
    const bm_layer_vt *kinds[1] = {&scaled_vt};
    bm_model_load_opts lo = {.kinds = kinds, .n_kinds = 1};
    bm_model *m2 = bm_model_from_json_ex(j, strlen(j), "s.json", &lo, NULL, &e);
    ck_assert_msg(m2 != NULL, "%s", e.msg);
    ck_assert(bm_tensor_get(bm_model_param(m2, "sc.count"), 0) == 41.5);
    ck_assert(memcmp(bm_model_params(m), bm_model_params(m2),
                     bm_model_n_params(m) * sizeof(double)) == 0);
    /* a clone in f32 keeps the graph, the custom kind and the values */
    bm_model *c = bm_model_clone(m2, BM_F32, &e);
    ck_assert_msg(c != NULL, "%s", e.msg);
    ck_assert_ptr_eq(bm_model_node_vt(c, 0), &scaled_vt);
    ck_assert(bm_tensor_get(bm_model_param(c, "sc.count"), 0) == 41.5f);
    /* records through bm_model_record_inputs */
    bm_tape *t = bm_tape_new();
    size_t xs[2] = {3, 4}, bad[2] = {3, 5};
    bm_tensor *x = bm_tape_leaf(t, BM_F64, 2, xs, 0), *x5 = bm_tape_leaf(t, BM_F64, 2, bad, 0);
    ck_assert_ptr_nonnull(bm_model_record_inputs(m2, t, &x, NULL, 0, NULL));
    ck_assert_ptr_null(bm_model_record_inputs(m2, t, &x5, NULL, 0, NULL));
    ck_assert_msg(strstr(bm_tape_error(t), "input \"input\" is [3,5]"), "%s", bm_tape_error(t));
    bm_tape_free(t);
    /* a kind whose record disagrees with its infer is caught; so are unknown keys */
    bm_model *w = bm_model_new(BM_F64, 4, &e);
    ck_assert_int_eq(bm_model_add_node_vt(w, "o", &odd_vt, &none, 1, &in, &e), BM_ERR_ARG);
    ck_assert_msg(strstr(e.msg, "odd lists the key \"colour\""), "%s", e.msg);
    ck_ok(bm_model_add_node_vt(w, "sc", &scaled_vt, &none, 1, &in, &e), e);
    ck_ok(bm_model_add_node_vt(w, "bad", &wrong_vt, &none, 1, &sc, &e), e);
    ck_ok(bm_model_init(w, 0, &e), e);
    t = bm_tape_new();
    x = bm_tape_leaf(t, BM_F64, 2, xs, 0);
    ck_assert_ptr_null(bm_model_record(w, t, x, NULL, 0, NULL));
    ck_assert_msg(strstr(bm_tape_error(t), "bad: wrong recorded an output [3]"), "%s",
                  bm_tape_error(t));
    bm_tape_free(t);
    free(j);
    bm_model_free(w);
    bm_model_free(c);
    bm_model_free(m2);
    bm_model_free(m);
}
END_TEST

START_TEST(sequence_model_trains)
{
    /* per position t: class = argmax of the two features at t; [T=4, F=2] -> [4, 2] */
    enum { N = 64, T = 4, F = 2 };
    bm_error e = {0};
    bm_model *m = bm_model_new(BM_F32, T * F, &e);
    bm_shape s = {.rank = 2, .dim = {T, F}};
    ck_ok(bm_model_set_input_shape(m, &s, &e), e);
    add_dense(m, "h", "input", 8);
    bm_layer_spec tanh_ = bm_activation_spec(BM_LAYER_TANH);
    const char *h = "h";
    ck_ok(bm_model_add_node(m, "a", &tanh_, 1, &h, &e), e);
    add_dense(m, "logits", "a", 2);
    bm_optim_config oc = bm_optim_defaults(BM_OPT_ADAM);
    oc.lr = 0.05;
    ck_ok(bm_model_set_optimizer(m, &oc, &e), e);
    ck_ok(bm_model_init(m, 1, &e), e);
    ck_assert_uint_eq(bm_model_n_positions(m), T);
    bm_dataset ds = {0};
    size_t xs[2] = {N, T * F}, ys[2] = {N, T};
    ds.x = bm_tensor_new(BM_F32, 2, xs, &e);
    ds.y = bm_tensor_new(BM_F32, 2, ys, &e);
    bm_rng g;
    bm_rng_seed(&g, 2);
    for (size_t i = 0; i < N * T; i++) {
        double a = bm_rng_normal(&g), b = bm_rng_normal(&g);
        bm_tensor_set(ds.x, 2 * i, a);
        bm_tensor_set(ds.x, 2 * i + 1, b);
        bm_tensor_set(ds.y, i, b > a);
    }
    double l0, l1, acc;
    ck_ok(bm_model_evaluate(m, &ds, &l0, NULL, &e), e);
    bm_fit_opts fo = bm_fit_defaults();
    fo.epochs = 150;
    fo.batch_size = 16;
    ck_ok(bm_model_fit(m, &ds, &fo, &e), e);
    ck_ok(bm_model_evaluate(m, &ds, &l1, &acc, &e), e);
    ck_assert_msg(l1 < 0.3 * l0 && acc > 0.95, "loss %g -> %g, accuracy %g", l0, l1, acc);
    bm_dataset_free(&ds);
    bm_model_free(m);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("model_graph");
    TCase *tc = tcase_create("graph");
    tcase_add_test(tc, skip_connection_forward_and_gradients);
    tcase_add_test(tc, skip_connection_trains);
    tcase_add_test(tc, two_inputs);
    tcase_add_test(tc, tied_weights);
    tcase_add_test(tc, sequence_outputs);
    tcase_add_test(tc, graph_errors);
    tcase_add_test(tc, state_tensors_and_custom_kinds);
    tcase_add_test(tc, sequence_model_trains);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
