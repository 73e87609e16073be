/* test_model_io_v2.c — model files of format version 2: a graph model
 * (skip connection through a custom kind, two inputs, tied weights) saved,
 * loaded and saved again byte-identical with bit-exact parameters and
 * optimizer state; version 1 files loaded, converted to version 2 and back
 * to the same bytes; specs with inferred sizes; every reading error named
 * by its JSON path. */
#include <stdlib.h>
#include <string.h>

#include "test_add2_kind.h"
#include "test_util.h"

/* The add2 kind, for loading the graph models below. */
static const bm_layer_vt *const custom[] = {&add2_vt};
static const bm_model_load_opts with_add2 = {.kinds = custom, .n_kinds = 1};

#define ck_ok(s, e) ck_assert_msg((s) == BM_OK, "%s", (e).msg)

/* A graph spec: inputs a [3] and b [2], a residual block, a tied layer. */
static const char graph_spec[] =
    "{\"format\": 2, \"dtype\": \"f64\",\n"
    " \"inputs\": [{\"name\": \"a\", \"shape\": [3]}, {\"name\": \"b\", \"shape\": [2]}],\n"
    " \"nodes\": [\n"
    "  {\"name\": \"ha\", \"kind\": \"dense\", \"inputs\": [\"a\"], \"out\": 4, \"init\": \"glorot\"},\n"
    "  {\"name\": \"hb\", \"kind\": \"dense\", \"inputs\": [\"b\"], \"out\": 4, \"l2_weights\": 0.001},\n"
    "  {\"name\": \"h\", \"kind\": \"add2\", \"inputs\": [\"ha\", \"hb\"]},\n"
    "  {\"name\": \"r\", \"kind\": \"tanh\"},\n"
    "  {\"name\": \"t1\", \"kind\": \"dense\", \"out\": 4},\n"
    "  {\"name\": \"t2\", \"kind\": \"dense\", \"inputs\": [\"t1\"], \"out\": 4, \"share\": \"t1\"},\n"
    "  {\"name\": \"s\", \"kind\": \"add2\", \"inputs\": [\"t2\", \"h\"]},\n"
    "  {\"name\": \"logits\", \"kind\": \"dense\", \"out\": 3}\n"
    " ],\n"
    " \"outputs\": [\"logits\"], \"loss\": \"softmax_cce\",\n"
    " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.01},\n"
    " \"training\": {\"seed\": 11}}";

static bm_dataset make_data(size_t n)
{
    bm_error e = {0};
    bm_dataset ds = {0};
    size_t xs[2] = {n, 5}, ys[1] = {n};
    ds.x = bm_tensor_new(BM_F64, 2, xs, &e);
    ds.y = bm_tensor_new(BM_F64, 1, ys, &e);
    bm_rng g;
    bm_rng_seed(&g, 21);
    for (size_t i = 0; i < ds.x->size; i++)
        bm_tensor_set(ds.x, i, bm_rng_normal(&g));
    for (size_t i = 0; i < n; i++)
        bm_tensor_set(ds.y, i, (double)(bm_rng_below(&g, 3)));
    return ds;
}

/* Same parameters, optimizer state, epoch and RNG, bit for bit. */
static void ck_same(bm_model *a, bm_model *b)
{
    size_t bytes = bm_model_n_params(a) * bm_dtype_size(bm_model_dtype(a));
    ck_assert_uint_eq(bm_model_n_params(a), bm_model_n_params(b));
    ck_assert(memcmp(bm_model_params(a), bm_model_params(b), bytes) == 0);
    bm_optim *oa = bm_model_optim(a), *ob = bm_model_optim(b);
    ck_assert_int_eq(bm_optim_state_count(oa), bm_optim_state_count(ob));
    for (int k = 0; k < bm_optim_state_count(oa); k++)
        ck_assert(memcmp(bm_optim_state(oa, k), bm_optim_state(ob, k), bytes) == 0);
    ck_assert_uint_eq(bm_optim_iterations(oa), bm_optim_iterations(ob));
    ck_assert_uint_eq(bm_model_epoch(a), bm_model_epoch(b));
    ck_assert(memcmp(bm_model_rng(a), bm_model_rng(b), sizeof(bm_rng)) == 0);
}

START_TEST(graph_round_trip_bit_exact)
{
    bm_error e = {0};
    bm_model *m = bm_model_from_json_ex(graph_spec, strlen(graph_spec), "g.json", &with_add2,
                                        NULL, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    ck_assert_uint_eq(bm_model_input_count(m), 2);
    ck_assert_str_eq(bm_model_input_name(m, 0), "a");
    ck_assert_str_eq(bm_model_node_shares(m, 5), "t1");
    ck_assert_uint_eq(bm_model_layer(m, 4)->in, 4); /* inferred */
    ck_assert_uint_eq(bm_model_n_params(m), 16 + 12 + 20 + 15);
    bm_dataset ds = make_data(24);
    bm_fit_opts fo = bm_fit_defaults();
    fo.epochs = 3;
    fo.batch_size = 8;
    fo.shuffle = 1;
    ck_ok(bm_model_fit(m, &ds, &fo, &e), e);
    char *j1 = bm_model_to_json(m, NULL, &e);
    ck_assert_msg(j1 != NULL, "%s", e.msg);
    ck_assert_ptr_nonnull(strstr(j1, "\"version\": 2"));
    ck_assert_ptr_nonnull(strstr(j1, "\"share\": \"t1\""));
    ck_assert_ptr_null(bm_model_from_json(j1, strlen(j1), "j1", NULL, &e)); /* add2 unknown */
    ck_assert_ptr_nonnull(strstr(e.msg, "j1: nodes[2].kind: unknown layer type 'add2'"));
    bm_model *m2 = bm_model_from_json_ex(j1, strlen(j1), "j1", &with_add2, NULL, &e);
    ck_assert_msg(m2 != NULL, "%s", e.msg);
    ck_same(m, m2);
    char *j2 = bm_model_to_json(m2, NULL, &e);
    ck_assert_str_eq(j1, j2);
    /* both continue the same */
    ck_ok(bm_model_fit(m, &ds, &fo, &e), e);
    ck_ok(bm_model_fit(m2, &ds, &fo, &e), e);
    ck_same(m, m2);
    /* version 1 cannot hold it */
    ck_assert_ptr_null(bm_model_to_json_version(m, NULL, 1, &e));
    ck_assert_int_eq(e.code, BM_ERR_ARG);
    free(j1);
    free(j2);
    bm_dataset_free(&ds);
    bm_model_free(m);
    bm_model_free(m2);
}
END_TEST

static const char v1_spec[] =
    "{\"inputs\": 2, \"layers\": [{\"type\": \"dense\", \"in\": 2, \"out\": 5, \"init\": \"he\","
    " \"l2_weights\": 5e-4}, {\"type\": \"relu\"}, {\"type\": \"dropout\", \"rate\": 0.25},"
    " {\"type\": \"dense\", \"in\": 5, \"out\": 3}, {\"type\": \"softmax\"}],"
    " \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.5, \"momentum\": 0.9}}";

START_TEST(v1_convert_and_back)
{
    bm_error e = {0};
    bm_model *m = bm_model_from_json(v1_spec, strlen(v1_spec), "v1.json", NULL, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    char *v1 = bm_model_to_json(m, NULL, &e); /* fits version 1: written as one */
    ck_assert_ptr_nonnull(strstr(v1, "\"version\": 1"));
    char *v2 = bm_model_to_json_version(m, NULL, 2, &e);
    ck_assert_msg(v2 != NULL, "%s", e.msg);
    ck_assert_ptr_nonnull(strstr(v2, "\"nodes\": ["));
    ck_assert_ptr_nonnull(strstr(v2, "{\"name\": \"layers[2]\", \"kind\": \"dropout\", "
                                     "\"inputs\": [\"layers[1]\"], \"rate\": 0.25}"));
    bm_model *m2 = bm_model_from_json(v2, strlen(v2), "v2.json", NULL, &e);
    ck_assert_msg(m2 != NULL, "%s", e.msg);
    ck_same(m, m2);
    char *back = bm_model_to_json(m2, NULL, &e);
    ck_assert_str_eq(back, v1);
    char *v2b = bm_model_to_json_version(m2, NULL, 2, &e);
    ck_assert_str_eq(v2b, v2);
    ck_assert_ptr_null(bm_model_to_json_version(m2, NULL, 7, &e));
    free(v1);
    free(v2);
    free(back);
    free(v2b);
    bm_model_free(m);
    bm_model_free(m2);
}
END_TEST

START_TEST(v2_spec_with_inferred_sizes)
{
    /* a CNN-shaped input fed to dense over the last axis; inputs omitted = sequential */
    static const char text[] =
        "{\"version\": 2, \"inputs\": [{\"name\": \"x\", \"shape\": [2, 3]}],"
        " \"nodes\": [{\"name\": \"d\", \"kind\": \"dense\", \"out\": 4},"
        " {\"name\": \"act\", \"kind\": \"relu\"},"
        " {\"name\": \"o\", \"kind\": \"dense\", \"out\": 2}], \"loss\": \"mse\","
        " \"training\": {\"seed\": 5}}";
    bm_error e = {0};
    bm_model *m = bm_model_from_json(text, strlen(text), "s.json", NULL, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    ck_assert_uint_eq(bm_model_n_inputs(m), 6);
    ck_assert_uint_eq(bm_model_layer(m, 0)->in, 3);
    ck_assert_uint_eq(bm_model_node_shape(m, 2)->rank, 2);
    ck_assert_uint_eq(bm_model_n_outputs(m), 4);
    ck_assert_str_eq(bm_model_node_input(m, 1, 0), "d");
    /* the seed initialises as bm_model_init does */
    bm_model *ref = bm_model_from_json(text, strlen(text), "s.json", NULL, &e);
    ck_ok(bm_model_reset_params(ref, 5, &e), e);
    ck_assert(memcmp(bm_model_params(m), bm_model_params(ref),
                     bm_model_n_params(m) * sizeof(float)) == 0);
    bm_model_free(ref);
    bm_model_free(m);
}
END_TEST

START_TEST(param_groups_in_files)
{
    /* "ha" frozen, the head's weights at their own lr; the rest the optimizer's */
    static const char groups[] = ",\n \"groups\": [{\"nodes\": [\"ha\"], \"frozen\": true},"
                                 " {\"params\": [\"logits.weights\"], \"lr\": 0.05, "
                                 "\"weight_decay\": 0.01}]}";
    char text[sizeof graph_spec + sizeof groups];
    memcpy(text, graph_spec, sizeof graph_spec);
    memcpy(text + strlen(graph_spec) - 1, groups, sizeof groups); /* over the final '}' */
    bm_error e = {0};
    bm_model *m = bm_model_from_json_ex(text, strlen(text), "g.json", &with_add2, NULL, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    ck_assert_uint_eq(bm_model_n_param_groups(m), 2);
    double lr, wd;
    int frozen;
    ck_ok(bm_model_param_group_get(m, 1, &lr, &wd, &frozen, &e), e);
    ck_assert(lr == 0.05 && wd == 0.01 && !frozen);
    ck_ok(bm_model_param_group_get(m, 0, &lr, &wd, &frozen, &e), e);
    ck_assert(lr == 0.01 && frozen); /* the optimizer's lr */
    ck_assert_int_eq(bm_model_param_group_of(m, bm_model_param(m, "ha.biases")), 0);
    ck_assert_int_eq(bm_model_param_group_of(m, bm_model_param(m, "hb.weights")), -1);
    bm_tensor *ha = bm_model_param(m, "ha.weights"), *hb = bm_model_param(m, "hb.weights");
    double ha0 = bm_tensor_get(ha, 0), hb0 = bm_tensor_get(hb, 0);
    bm_dataset ds = make_data(16);
    bm_fit_opts fo = bm_fit_defaults();
    fo.epochs = 2;
    ck_ok(bm_model_fit(m, &ds, &fo, &e), e);
    ck_assert(bm_tensor_get(ha, 0) == ha0); /* frozen */
    ck_assert(bm_tensor_get(hb, 0) != hb0);
    char *j1 = bm_model_to_json(m, NULL, &e);
    ck_assert_msg(j1 != NULL, "%s", e.msg);
    ck_assert_msg(strstr(j1, "\"groups\": [\n    {\"params\": [\"ha.weights\", \"ha.biases\"], "
                             "\"lr\": 0.01, \"weight_decay\": 0, \"frozen\": true},"), "%s", j1);
    bm_model *m2 = bm_model_from_json_ex(j1, strlen(j1), "j1", &with_add2, NULL, &e);
    ck_assert_msg(m2 != NULL, "%s", e.msg);
    ck_same(m, m2);
    char *j2 = bm_model_to_json(m2, NULL, &e);
    ck_assert_str_eq(j1, j2);
    /* a parameter in two groups, an unknown one */
    bm_param_group g[2] = {{.nodes = (const char *[]){"ha"}, .n_nodes = 1, .lr = 0.1},
                           {.params = (const char *[]){"ha.weights"}, .n_params = 1, .lr = 0.1}};
    ck_assert_int_eq(bm_model_set_param_groups(m2, 2, g, &e), BM_ERR_ARG);
    ck_assert_msg(strstr(e.msg, "groups[1]: ha.weights is in groups[0] already"), "%s", e.msg);
    g[1].params = (const char *[]){"ha.weighs"};
    ck_assert_int_eq(bm_model_set_param_groups(m2, 2, g, &e), BM_ERR_ARG);
    ck_assert_msg(strstr(e.msg, "groups[1]: no parameter \"ha.weighs\""), "%s", e.msg);
    ck_assert_uint_eq(bm_model_n_param_groups(m2), 2); /* unchanged */
    bm_optim_config sgd = bm_optim_defaults(BM_OPT_SGD);
    ck_ok(bm_model_set_optimizer(m2, &sgd, &e), e);
    ck_assert_uint_eq(bm_model_n_param_groups(m2), 0); /* a new optimizer drops them */
    free(j1);
    free(j2);
    bm_dataset_free(&ds);
    bm_model_free(m);
    bm_model_free(m2);
}
END_TEST

/* One bad document and a part of the message it must give. */
typedef struct bad_case {
    const char *text, *part;
    bm_status code;
} bad_case;

#define IN "\"inputs\": [{\"name\": \"input\", \"shape\": [2]}]"

static const bad_case bad[] = {
    {"{" IN ", \"nodes\": [{\"name\": \"d\", \"kind\": \"dense\", \"out\": 2, \"kernal\": 3}]}",
     "b.json: nodes[0].kernal: unknown key for dense (keys: name, kind, inputs, share, params, "
     "in, out, init, l1_weights", BM_ERR_PARSE},
    {"{" IN ", \"nodes\": [{\"name\": \"d\", \"kind\": \"dense\", \"out\": \"two\"}]}",
     "b.json: nodes[0].out: expected a number, got a string", BM_ERR_PARSE},
    {"{" IN ", \"nodes\": [{\"name\": \"d\", \"kind\": \"dense\", \"out\": 0}]}",
     "b.json: nodes[0]: dense size 2x0 is invalid (node \"d\")", BM_ERR_SIZE},
    {"{" IN ", \"nodes\": [{\"name\": \"d\", \"kind\": \"conv9\"}]}",
     "b.json: nodes[0].kind: unknown layer type 'conv9' (did you mean 'conv1d'?", BM_ERR_PARSE},
    {"{" IN ", \"nodes\": [{\"name\": \"d\", \"kind\": \"qqqqqqqqq\"}]}",
     "b.json: nodes[0].kind: unknown layer type 'qqqqqqqqq' (`bmnn layers` lists the", BM_ERR_PARSE},
    {"{" IN ", \"nodes\": [{\"name\": \"d\", \"kind\": \"relu\", \"inputs\": [\"zz\"]}]}",
     "b.json: nodes[0].inputs[0]: \"zz\" is neither an earlier node nor a model input (node "
     "\"d\")", BM_ERR_ARG},
    {"{" IN ", \"nodes\": [{\"name\": \"d\", \"kind\": \"relu\"}, {\"name\": \"d\", \"kind\": \"relu\"}]}",
     "b.json: nodes[1].name: the name \"d\" is taken", BM_ERR_ARG},
    {"{" IN ", \"nodes\": [{\"name\": \"a.b\", \"kind\": \"relu\"}]}",
     "b.json: nodes[0].name: a name has 1..63 characters", BM_ERR_PARSE},
    {"{" IN ", \"nodes\": [{\"kind\": \"relu\"}]}", "b.json: nodes[0].name: missing key",
     BM_ERR_PARSE},
    {"{" IN ", \"nodes\": [{\"name\": \"d\", \"kind\": \"dense\", \"out\": 2, \"params\": "
     "{\"weights\": [[1, 2]], \"biases\": [[0, 0]]}}]}",
     "b.json: nodes[0].params.weights: expected 2 arrays, got 1", BM_ERR_SHAPE},
    {"{" IN ", \"nodes\": [{\"name\": \"d\", \"kind\": \"dense\", \"out\": 2, \"params\": "
     "{\"weights\": [[1, 2], [3, 4]]}}]}",
     "b.json: nodes[0].params.biases: missing key", BM_ERR_PARSE},
    {"{" IN ", \"nodes\": [{\"name\": \"d\", \"kind\": \"dense\", \"out\": 2, \"params\": "
     "{\"weights\": [[1, 2], [3, 4]], \"biases\": [[0, 1e999]]}}]}",
     "b.json: nodes[0].params.biases[0][1]: inf is not finite in f32", BM_ERR_NUMERIC},
    {"{" IN ", \"nodes\": [{\"name\": \"d\", \"kind\": \"dense\", \"out\": 2}, {\"name\": \"e\", "
     "\"kind\": \"dense\", \"out\": 2, \"share\": \"d\", \"params\": {}}]}",
     "b.json: nodes[1].params: a node that shares another's parameters has none", BM_ERR_PARSE},
    {"{" IN ", \"nodes\": [{\"name\": \"d\", \"kind\": \"dense\", \"out\": 2}, {\"name\": \"e\", "
     "\"kind\": \"dense\", \"out\": 3, \"share\": \"d\"}]}",
     "b.json: nodes[1].share: \"e\" and \"d\" have weights of different shapes", BM_ERR_SHAPE},
    {"{" IN ", \"nodes\": [{\"name\": \"d\", \"kind\": \"dropout\", \"rate\": 1.5}]}",
     "b.json: nodes[0].rate: 1.5 must be in [0, 1) (node \"d\")", BM_ERR_ARG},
    /* a kind's own checks name the key's JSON path, then the node */
    {"{" IN ", \"nodes\": [{\"name\": \"r\", \"kind\": \"relu\"}, {\"name\": \"d\", \"kind\": "
     "\"dropout\", \"rate\": -0.5}]}",
     "b.json: nodes[1].rate: -0.5 must be in [0, 1) (node \"d\")", BM_ERR_ARG},
    {"{" IN ", \"nodes\": [{\"name\": \"d\", \"kind\": \"dense\", \"out\": 2, \"l2_weights\": -1}]}",
     "b.json: nodes[0].l2_weights: -1 must be finite and >= 0 (node \"d\")", BM_ERR_ARG},
    {"{" IN ", \"nodes\": [{\"name\": \"c\", \"kind\": \"conv2d\", \"out\": 2}]}",
     "b.json: nodes[0].kernel: conv2d: kernel 0, stride 1, dilation 1 must be in 1..", BM_ERR_ARG},
    {"{" IN ", \"nodes\": [{\"name\": \"c\", \"kind\": \"conv2d\", \"out\": 2, \"kernel\": 3, "
     "\"groups\": 0}]}", "b.json: nodes[0].groups: conv2d: groups 0 is not in 1..", BM_ERR_SIZE},
    {"{" IN ", \"nodes\": [{\"name\": \"l\", \"kind\": \"lstm\", \"out\": 0}]}",
     "b.json: nodes[0].out: lstm: out (the hidden size) 0 is not in 1..", BM_ERR_SIZE},
    {"{" IN ", \"nodes\": [{\"name\": \"t\", \"kind\": \"transformer\", \"heads\": 1, "
     "\"rate\": 2}]}", "b.json: nodes[0].rate: transformer: rate 2 must be in [0, 1) (node \"t\")",
     BM_ERR_ARG},
    {"{" IN ", \"nodes\": [{\"name\": \"l\", \"kind\": \"lstm\", \"out\": 3}]}",
     "b.json: nodes[0]: lstm: ", BM_ERR_SHAPE},
    {"{" IN ", \"nodes\": [{\"name\": \"d\", \"kind\": \"relu\"}], \"outputs\": [\"input\"]}",
     "b.json: outputs: output 0 \"input\" is not a node", BM_ERR_ARG},
    {"{" IN ", \"nodes\": []}", "b.json: nodes: expected at least one node", BM_ERR_PARSE},
    {"{" IN ", \"nodes\": [{\"name\": \"d\", \"kind\": \"dense\", \"out\": 2}], \"groups\": "
     "[{\"params\": [\"d.w\"]}]}", "b.json: groups: groups[0]: no parameter \"d.w\"", BM_ERR_ARG},
    {"{" IN ", \"nodes\": [{\"name\": \"d\", \"kind\": \"dense\", \"out\": 2}], \"groups\": "
     "[{\"nodes\": [\"d\"], \"lr\": -1}]}", "b.json: groups[0].lr: ", BM_ERR_ARG},
    {"{" IN ", \"nodes\": [{\"name\": \"d\", \"kind\": \"dense\", \"out\": 2}], \"groups\": "
     "[{\"nodes\": [\"d\"], \"frozen\": 1}]}", "b.json: groups[0].frozen: expected true or false",
     BM_ERR_PARSE},
    {"{\"version\": 3, " IN ", \"nodes\": [{\"name\": \"d\", \"kind\": \"relu\"}]}",
     "b.json: version: unsupported version 3 for a file of \"nodes\"", BM_ERR_PARSE},
    {"{\"inputs\": [{\"name\": \"input\", \"shape\": [0]}], \"nodes\": []}",
     "b.json: inputs[0].shape[0]: expected an integer in [1,", BM_ERR_SIZE},
    {"{" IN ", \"nodes\": [{\"name\": \"d\", \"kind\": \"relu\"}], \"extra\": 1}",
     "b.json: extra: unknown key for a model file", BM_ERR_PARSE},
    {"{" IN ", \"nodes\": [{\"name\": \"d\", \"kind\": \"dense\", \"out\": 70000, \"in\": 0},"
     " {\"name\": \"e\", \"kind\": \"dense\", \"out\": 70000}]}",
     "b.json: nodes[1]: makes 4900280000 parameters in all, more than the limit", BM_ERR_SIZE},
};

START_TEST(v2_errors_name_the_path)
{
    bm_error e = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.code = BM_OK;
        bm_model *m = bm_model_from_json(bad[i].text, strlen(bad[i].text), "b.json", NULL, &e);
        ck_assert_msg(m == NULL, "case %zu loaded", i);
        ck_assert_msg(strstr(e.msg, bad[i].part) != NULL, "case %zu: '%s' lacks '%s'", i, e.msg,
                      bad[i].part);
        ck_assert_msg(e.code == bad[i].code, "case %zu: %s, want %s (%s)", i,
                      bm_status_name(e.code), bm_status_name(bad[i].code), e.msg);
    }
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("model_io_v2");
    TCase *tc = tcase_create("v2");
    tcase_add_test(tc, graph_round_trip_bit_exact);
    tcase_add_test(tc, v1_convert_and_back);
    tcase_add_test(tc, v2_spec_with_inferred_sizes);
    tcase_add_test(tc, v2_errors_name_the_path);
    tcase_add_test(tc, param_groups_in_files);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
