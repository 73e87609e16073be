/* test_layers_alloc.c — a steady-state training step of models made of the
 * layer kinds calls the process allocator zero times: fitting 6 epochs
 * calls it as often as fitting 1 (the calls are fit's own, per call, not
 * per step). A CNN (conv2d, batch_norm, relu, add, max_pool2d, avg_pool2d,
 * global_avg_pool, layer_norm, gelu, dense) and a token model (embedding,
 * reshape, conv1d, concat, flatten, rms_norm, silu, leaky_relu, elu,
 * softplus, log_softmax).
 *
 * Allocations are counted by the linker: this binary is linked with
 * -Wl,--wrap=malloc,... (tests/meson.build), so every call from the test
 * and from the static libbmnn lands in the __wrap_ functions of
 * test_alloc_wrap.h; their counter is a test-only process-wide global. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "test_alloc_wrap.h"

#define ck_ok(s, e) ck_assert_msg((s) == BM_OK, "%s", (e).msg)

/* Rows in a batch; the data has two full batches and a short one. */
#define BATCH 8
#define ROWS (2 * BATCH + 3)

static const char cnn_spec[] =
    "{\"format\": 2, \"dtype\": \"f32\", \"inputs\": [{\"name\": \"x\", \"shape\": [2, 6, 6]}],"
    " \"nodes\": ["
    "  {\"name\": \"c1\", \"kind\": \"conv2d\", \"out\": 2, \"kernel\": 3, \"padding\": 1},"
    "  {\"name\": \"bn\", \"kind\": \"batch_norm\"},"
    "  {\"name\": \"r\", \"kind\": \"relu\"},"
    "  {\"name\": \"sum\", \"kind\": \"add\", \"inputs\": [\"r\", \"x\"]},"
    "  {\"name\": \"mp\", \"kind\": \"max_pool2d\", \"kernel\": 2},"
    "  {\"name\": \"ap\", \"kind\": \"avg_pool2d\", \"kernel\": 3, \"stride\": 1, \"padding\": 1},"
    "  {\"name\": \"gap\", \"kind\": \"global_avg_pool\"},"
    "  {\"name\": \"ln\", \"kind\": \"layer_norm\"},"
    "  {\"name\": \"g\", \"kind\": \"gelu\"},"
    "  {\"name\": \"out\", \"kind\": \"dense\", \"out\": 2}],"
    " \"loss\": \"softmax_cce\", \"optimizer\": {\"type\": \"adam\", \"lr\": 0.01}}";

static const char token_spec[] =
    "{\"format\": 2, \"dtype\": \"f32\", \"inputs\": [{\"name\": \"t\", \"shape\": [6]}],"
    " \"nodes\": ["
    "  {\"name\": \"emb\", \"kind\": \"embedding\", \"in\": 5, \"out\": 4},"
    "  {\"name\": \"r1\", \"kind\": \"reshape\", \"shape\": [4, 6]},"
    "  {\"name\": \"c1\", \"kind\": \"conv1d\", \"out\": 4, \"kernel\": 3, \"padding\": 1},"
    "  {\"name\": \"s\", \"kind\": \"silu\"},"
    "  {\"name\": \"cat\", \"kind\": \"concat\", \"inputs\": [\"s\", \"r1\"], \"axis\": -1},"
    "  {\"name\": \"f\", \"kind\": \"flatten\"},"
    "  {\"name\": \"rms\", \"kind\": \"rms_norm\"},"
    "  {\"name\": \"lr\", \"kind\": \"leaky_relu\"},"
    "  {\"name\": \"d\", \"kind\": \"dense\", \"out\": 6},"
    "  {\"name\": \"e\", \"kind\": \"elu\"},"
    "  {\"name\": \"sp\", \"kind\": \"softplus\"},"
    "  {\"name\": \"out\", \"kind\": \"dense\", \"out\": 3},"
    "  {\"name\": \"ls\", \"kind\": \"log_softmax\"}],"
    " \"loss\": \"softmax_cce\", \"optimizer\": {\"type\": \"adam\", \"lr\": 0.01}}";

/* ROWS rows of `width` features (integer ids below `ids` when ids > 0), classes below `classes`. */
static bm_dataset data(size_t width, size_t ids, size_t classes)
{
    bm_error e = {0};
    bm_dataset ds = {0};
    size_t xs[2] = {ROWS, width}, ys[1] = {ROWS};
    ds.x = bm_tensor_new(BM_F32, 2, xs, &e);
    ds.y = bm_tensor_new(BM_F32, 1, ys, &e);
    ds.n_classes = classes;
    bm_rng r;
    bm_rng_seed(&r, 2);
    for (size_t i = 0; i < ds.x->size; i++)
        bm_tensor_set(ds.x, i, ids ? (double)bm_rng_below(&r, ids) : bm_rng_normal(&r));
    for (size_t i = 0; i < ROWS; i++)
        bm_tensor_set(ds.y, i, (double)(i % classes));
    return ds;
}

static void fit_allocates_per_call_only(const char *spec, bm_dataset ds)
{
    bm_error e = {0};
    bm_model *m = bm_model_from_json(spec, strlen(spec), "spec.json", NULL, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    bm_fit_opts o = bm_fit_defaults();
    o.batch_size = BATCH;
    o.shuffle = 1;
    ck_ok(bm_model_fit(m, &ds, &o, &e), e); /* records the steps */
    size_t calls[2];
    for (int k = 0; k < 2; k++) {
        o.epochs = k ? 6 : 1;
        size_t before = allocs();
        ck_ok(bm_model_fit(m, &ds, &o, &e), e);
        calls[k] = allocs() - before;
    }
    ck_assert_msg(calls[0] == calls[1], "%zu allocator calls for 1 epoch, %zu for 6", calls[0],
                  calls[1]);
    bm_model_free(m);
    bm_dataset_free(&ds);
}

START_TEST(cnn_steps_allocate_nothing)
{
    fit_allocates_per_call_only(cnn_spec, data(2 * 6 * 6, 0, 2));
}
END_TEST

START_TEST(token_steps_allocate_nothing)
{
    fit_allocates_per_call_only(token_spec, data(6, 5, 3));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("layers_alloc");
    TCase *tc = tcase_create("alloc");
    tcase_add_test(tc, cnn_steps_allocate_nothing);
    tcase_add_test(tc, token_steps_allocate_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
