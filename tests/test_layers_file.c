/* test_layers_file.c — the layer kinds in model files (format 2): a CNN
 * with batch_norm, a residual add, pooling, layer_norm and gelu, and a
 * token model with embedding, reshape, conv1d, concat, avg_pool2d, rms_norm
 * and the other activations, each loaded from a spec, trained until its loss
 * falls, saved, loaded and saved again byte-identical, with bit-exact
 * parameters, state (running statistics), optimizer state and predictions,
 * and both copies continuing the same. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define ck_ok(s, e) ck_assert_msg((s) == BM_OK, "%s", (e).msg)

/* Images of the CNN spec: one channel, SIDE × SIDE. */
#define SIDE 6
/* Tokens of the token spec: T ids in 0..VOCAB-1. */
#define T 6
#define VOCAB 5

static const char cnn_spec[] =
    "{\"format\": 2, \"dtype\": \"f32\",\n"
    " \"inputs\": [{\"name\": \"image\", \"shape\": [1, 6, 6]}],\n"
    " \"nodes\": [\n"
    "  {\"name\": \"conv1\", \"kind\": \"conv2d\", \"inputs\": [\"image\"], \"out\": 3, "
    "\"kernel\": 3, \"padding\": 1},\n"
    "  {\"name\": \"bn1\", \"kind\": \"batch_norm\"},\n"
    "  {\"name\": \"relu1\", \"kind\": \"relu\"},\n"
    "  {\"name\": \"conv2\", \"kind\": \"conv2d\", \"out\": 3, \"kernel\": [3, 3], "
    "\"padding\": [1, 1], \"bias\": false},\n"
    "  {\"name\": \"bn2\", \"kind\": \"batch_norm\", \"momentum\": 0.2},\n"
    "  {\"name\": \"sum\", \"kind\": \"add\", \"inputs\": [\"bn2\", \"relu1\"]},\n"
    "  {\"name\": \"pool\", \"kind\": \"max_pool2d\", \"kernel\": 2},\n"
    "  {\"name\": \"flat\", \"kind\": \"flatten\"},\n"
    "  {\"name\": \"ln\", \"kind\": \"layer_norm\"},\n"
    "  {\"name\": \"act\", \"kind\": \"gelu\", \"approximate\": true},\n"
    "  {\"name\": \"logits\", \"kind\": \"dense\", \"out\": 2, \"init\": \"glorot\"}\n"
    " ],\n"
    " \"outputs\": [\"logits\"], \"loss\": \"softmax_cce\",\n"
    " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.02},\n"
    " \"training\": {\"seed\": 3}}";

static const char token_spec[] =
    "{\"format\": 2, \"dtype\": \"f64\",\n"
    " \"inputs\": [{\"name\": \"tokens\", \"shape\": [6]}],\n"
    " \"nodes\": [\n"
    "  {\"name\": \"emb\", \"kind\": \"embedding\", \"in\": 5, \"out\": 4},\n"
    "  {\"name\": \"r1\", \"kind\": \"reshape\", \"shape\": [4, 6]},\n"
    "  {\"name\": \"c1\", \"kind\": \"conv1d\", \"out\": 4, \"kernel\": 3, \"padding\": 1},\n"
    "  {\"name\": \"s1\", \"kind\": \"silu\"},\n"
    "  {\"name\": \"cat\", \"kind\": \"concat\", \"inputs\": [\"s1\", \"r1\"], \"axis\": 0},\n"
    "  {\"name\": \"r2\", \"kind\": \"reshape\", \"shape\": [2, 4, 6]},\n"
    "  {\"name\": \"pool\", \"kind\": \"avg_pool2d\", \"kernel\": 2},\n"
    "  {\"name\": \"flat\", \"kind\": \"flatten\"},\n"
    "  {\"name\": \"rms\", \"kind\": \"rms_norm\"},\n"
    "  {\"name\": \"lr\", \"kind\": \"leaky_relu\", \"alpha\": 0.1},\n"
    "  {\"name\": \"d1\", \"kind\": \"dense\", \"out\": 8, \"init\": \"he\"},\n"
    "  {\"name\": \"e1\", \"kind\": \"elu\"},\n"
    "  {\"name\": \"sp\", \"kind\": \"softplus\", \"alpha\": 2},\n"
    "  {\"name\": \"d2\", \"kind\": \"dense\", \"out\": 3, \"init\": \"glorot\"},\n"
    "  {\"name\": \"out\", \"kind\": \"log_softmax\"}\n"
    " ],\n"
    " \"loss\": \"softmax_cce\",\n"
    " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.02},\n"
    " \"training\": {\"seed\": 5}}";

/* class 1: the top half lit; class 0: the bottom half; plus noise. */
static bm_dataset images(size_t n)
{
    bm_error e = {0};
    bm_dataset ds = {0};
    size_t xs[2] = {n, SIDE * SIDE}, ys[1] = {n};
    ds.x = bm_tensor_new(BM_F32, 2, xs, &e);
    ds.y = bm_tensor_new(BM_F32, 1, ys, &e);
    ds.n_classes = 2;
    bm_rng r;
    bm_rng_seed(&r, 4);
    for (size_t i = 0; i < n; i++) {
        bm_tensor_set(ds.y, i, (double)(i % 2));
        for (size_t j = 0; j < SIDE * SIDE; j++) {
            int top = j / SIDE < SIDE / 2, lit = i % 2 ? top : !top;
            bm_tensor_set(ds.x, i * SIDE * SIDE + j, lit + 0.3 * bm_rng_normal(&r));
        }
    }
    return ds;
}

/* T token ids per row; the class is the first token's id mod 3. */
static bm_dataset tokens(size_t n)
{
    bm_error e = {0};
    bm_dataset ds = {0};
    size_t xs[2] = {n, T}, ys[1] = {n};
    ds.x = bm_tensor_new(BM_F64, 2, xs, &e);
    ds.y = bm_tensor_new(BM_F64, 1, ys, &e);
    ds.n_classes = 3;
    bm_rng r;
    bm_rng_seed(&r, 6);
    for (size_t i = 0; i < n; i++) {
        for (size_t t = 0; t < T; t++)
            bm_tensor_set(ds.x, i * T + t, (double)bm_rng_below(&r, VOCAB));
        bm_tensor_set(ds.y, i, (double)((size_t)bm_tensor_get(ds.x, i * T) % 3));
    }
    return ds;
}

/* Same parameters, state, optimizer state, epoch and RNG, bit for bit. */
static void ck_same(bm_model *a, bm_model *b)
{
    size_t es = bm_dtype_size(bm_model_dtype(a)), bytes = bm_model_n_params(a) * es;
    ck_assert_uint_eq(bm_model_n_params(a), bm_model_n_params(b));
    ck_assert(memcmp(bm_model_params(a), bm_model_params(b), bytes) == 0);
    ck_assert_uint_eq(bm_model_n_state(a), bm_model_n_state(b));
    if (bm_model_n_state(a))
        ck_assert(memcmp(bm_model_state(a), bm_model_state(b), bm_model_n_state(a) * es) == 0);
    bm_optim *oa = bm_model_optim(a), *ob = bm_model_optim(b);
    ck_assert_int_eq(bm_optim_state_count(oa), bm_optim_state_count(ob));
    for (int k = 0; k < bm_optim_state_count(oa); k++)
        ck_assert(memcmp(bm_optim_state(oa, k), bm_optim_state(ob, k), bytes) == 0);
    ck_assert_uint_eq(bm_model_epoch(a), bm_model_epoch(b));
    ck_assert(memcmp(bm_model_rng(a), bm_model_rng(b), sizeof(bm_rng)) == 0);
}

/* Load spec, train until the loss falls below `ratio` of the start, round
 * trip through JSON byte-identical, predict and continue the same. */
static void round_trip(const char *spec, const char *name, bm_dataset ds, uint64_t epochs,
                       double ratio, const char *const *must_hold)
{
    bm_error e = {0};
    bm_model *m = bm_model_from_json(spec, strlen(spec), name, NULL, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    double loss0, acc0, loss1, acc1;
    ck_ok(bm_model_evaluate(m, &ds, &loss0, &acc0, &e), e);
    bm_fit_opts fo = bm_fit_defaults();
    fo.epochs = epochs;
    fo.batch_size = 8;
    fo.shuffle = 1;
    ck_ok(bm_model_fit(m, &ds, &fo, &e), e);
    ck_ok(bm_model_evaluate(m, &ds, &loss1, &acc1, &e), e);
    ck_assert_msg(loss1 < ratio * loss0, "%s: loss %g -> %g", name, loss0, loss1);
    char *j1 = bm_model_to_json(m, NULL, &e);
    ck_assert_msg(j1 != NULL, "%s", e.msg);
    ck_assert_ptr_nonnull(strstr(j1, "\"version\": 2"));
    for (const char *const *h = must_hold; *h; h++)
        ck_assert_msg(strstr(j1, *h) != NULL, "%s: the file lacks %s", name, *h);
    bm_model *m2 = bm_model_from_json(j1, strlen(j1), name, NULL, &e);
    ck_assert_msg(m2 != NULL, "%s", e.msg);
    ck_same(m, m2);
    char *j2 = bm_model_to_json(m2, NULL, &e);
    ck_assert_msg(j2 != NULL, "%s", e.msg);
    ck_assert_str_eq(j1, j2);
    bm_tensor *p1 = NULL, *p2 = NULL;
    ck_ok(bm_model_predict(m, ds.x, &p1, &e), e);
    ck_ok(bm_model_predict(m2, ds.x, &p2, &e), e);
    ck_assert_uint_eq(p1->size, p2->size);
    ck_assert(memcmp(p1->data, p2->data, p1->size * bm_dtype_size(p1->dtype)) == 0);
    fo.epochs = 2;
    ck_ok(bm_model_fit(m, &ds, &fo, &e), e);
    ck_ok(bm_model_fit(m2, &ds, &fo, &e), e);
    ck_same(m, m2);
    bm_tensor_free(p1);
    bm_tensor_free(p2);
    free(j1);
    free(j2);
    bm_model_free(m);
    bm_model_free(m2);
}

START_TEST(cnn_file_trains_and_round_trips)
{
    const char *const hold[] = {"\"kind\": \"conv2d\"", "\"kind\": \"batch_norm\"",
                                "running_var", "\"kind\": \"max_pool2d\"", "\"momentum\": 0.2",
                                NULL};
    bm_error e = {0};
    bm_model *m = bm_model_from_json(cnn_spec, strlen(cnn_spec), "cnn.json", NULL, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    ck_assert_uint_eq(bm_model_layer(m, 0)->in, 1); /* inferred channels */
    ck_assert_uint_eq(bm_model_node_n_params(m, 3), 1);   /* conv2 without bias */
    ck_assert_uint_eq(bm_model_n_state(m), 2 * 2 * 3);
    ck_assert_uint_eq(bm_model_node_shape(m, 7)->dim[0], 3 * 3 * 3); /* flat */
    bm_model_free(m);
    bm_dataset ds = images(32);
    round_trip(cnn_spec, "cnn.json", ds, 20, 0.2, hold);
    bm_dataset_free(&ds);
}
END_TEST

START_TEST(token_file_trains_and_round_trips)
{
    const char *const hold[] = {"\"kind\": \"embedding\"", "\"kind\": \"conv1d\"",
                                "\"kind\": \"concat\"", "\"kind\": \"softplus\"", NULL};
    bm_error e = {0};
    bm_model *m = bm_model_from_json(token_spec, strlen(token_spec), "tokens.json", NULL, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    ck_assert_uint_eq(bm_model_node_shape(m, 4)->dim[0], 8);  /* concat [8,6] */
    ck_assert_uint_eq(bm_model_node_shape(m, 7)->dim[0], 12); /* flat of [2,2,3] */
    bm_model_free(m);
    bm_dataset ds = tokens(48);
    round_trip(token_spec, "tokens.json", ds, 40, 0.5, hold);
    bm_dataset_free(&ds);
}
END_TEST

START_TEST(bad_layer_keys_are_named)
{
    static const struct {
        const char *node, *msg;
    } cases[] = {
        {"{\"name\": \"c\", \"kind\": \"conv2d\", \"out\": 2}", "bad.json: nodes[0].kernel: conv2d: kernel 0"},
        {"{\"name\": \"c\", \"kind\": \"conv2d\", \"out\": 2, \"kernel\": 9}",
         "conv2d: input [1,6,6]: kernel 9"},
        {"{\"name\": \"b\", \"kind\": \"batch_norm\", \"momentum\": 2}",
         "batch_norm: momentum 2 must be in [0, 1]"},
        {"{\"name\": \"p\", \"kind\": \"max_pool2d\", \"kernel\": 2, \"rate\": 0.5}", "rate"},
        {"{\"name\": \"r\", \"kind\": \"reshape\", \"shape\": [5, 7]}",
         "reshape: input [1,6,6] does not fit shape [5,7]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "{\"format\": 2, \"inputs\": [{\"name\": \"image\", "
                 "\"shape\": [1, 6, 6]}], \"nodes\": [%s]}", cases[i].node);
        bm_error e = {0};
        bm_model *m = bm_model_from_json(text, strlen(text), "bad.json", NULL, &e);
        ck_assert_ptr_null(m);
        ck_assert_msg(strstr(e.msg, cases[i].msg) != NULL, "case %zu: '%s' lacks '%s'", i,
                      e.msg, cases[i].msg);
    }
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("layers_file");
    TCase *tc = tcase_create("files");
    tcase_add_test(tc, cnn_file_trains_and_round_trips);
    tcase_add_test(tc, token_file_trains_and_round_trips);
    tcase_add_test(tc, bad_layer_keys_are_named);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
