/* test_model_io.c — JSON model files: specs, checkpoints that save → load →
 * save byte-identically and resume training bit-identically, atomic saves.
 * Malformed files: test_model_io_bad.c. */
#define _POSIX_C_SOURCE 200809L
#include "test_model_io_util.h"

/* ------------------------------------------------------------------ specs */

START_TEST(spec_minimal_uses_defaults)
{
    static const char text[] = "{\"inputs\": 2, \"layers\": [{\"type\": \"dense\", \"in\": 2, "
                               "\"out\": 3}]}";
    bm_error e = {0};
    bm_train_settings ts = {1, 1, 1, 1, 1, 1};
    bm_model *m = bm_model_from_json(text, strlen(text), "mini.json", &ts, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    ck_assert_int_eq(bm_model_dtype(m), BM_F32);
    ck_assert_int_eq(bm_model_loss(m), BM_LOSS_SOFTMAX_CCE);
    ck_assert_uint_eq(bm_model_n_layers(m), 1);
    ck_assert_uint_eq(bm_model_n_params(m), 9);
    ck_assert_uint_eq(bm_model_epoch(m), 0);
    ck_assert_int_eq(bm_model_layer(m, 0)->init, BM_INIT_SMALL);
    const bm_optim_config *c = bm_optim_get_config(bm_model_optim(m));
    bm_optim_config d = bm_optim_defaults(BM_OPT_SGD);
    ck_assert_int_eq(c->kind, BM_OPT_SGD);
    ck_assert(c->lr == d.lr && c->decay == d.decay && c->momentum == d.momentum);
    ck_assert_uint_eq(bm_optim_iterations(bm_model_optim(m)), 0);
    ck_assert(!ts.has_epochs && !ts.has_batch_size && !ts.has_seed);
    /* initialised like bm_model_init(.., 0) */
    bm_model *ref = bm_model_new(BM_F32, 2, &e);
    bm_layer_spec d1 = bm_dense_spec(2, 3);
    ck_assert_int_eq(bm_model_add(ref, &d1, &e), BM_OK);
    ck_assert_int_eq(bm_model_init(ref, 0, &e), BM_OK);
    ck_assert(memcmp(bm_model_params(m), bm_model_params(ref), 9 * sizeof(float)) == 0);
    ck_assert(memcmp(bm_model_rng(m), bm_model_rng(ref), sizeof(bm_rng)) == 0);
    bm_model_free(ref);
    bm_model_free(m);
}
END_TEST

START_TEST(spec_file_full)
{
    bm_error e = {0};
    bm_train_settings ts;
    bm_model *m = bm_model_load(BM_TEST_DATA "/model_spec.json", &ts, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    ck_assert_int_eq(bm_model_dtype(m), BM_F64);
    ck_assert_uint_eq(bm_model_n_inputs(m), 2);
    ck_assert_uint_eq(bm_model_n_layers(m), 5);
    static const bm_layer_kind kinds[5] = {BM_LAYER_DENSE, BM_LAYER_RELU, BM_LAYER_DROPOUT,
                                           BM_LAYER_DENSE, BM_LAYER_SOFTMAX};
    for (size_t i = 0; i < 5; i++)
        ck_assert_int_eq(bm_model_layer(m, i)->kind, kinds[i]);
    const bm_layer_spec *l0 = bm_model_layer(m, 0), *l3 = bm_model_layer(m, 3);
    ck_assert_uint_eq(l0->in, 2);
    ck_assert_uint_eq(l0->out, 64);
    ck_assert_int_eq(l0->init, BM_INIT_GLOROT);
    ck_assert(l0->l2_weights == 5e-4 && l0->l2_biases == 5e-4 && l0->l1_weights == 0.0);
    ck_assert(bm_model_layer(m, 2)->rate == 0.1);
    ck_assert_uint_eq(l3->in, 64);
    ck_assert_uint_eq(l3->out, 3);
    ck_assert_int_eq(l3->init, BM_INIT_HE);
    ck_assert(l3->l1_weights == 1e-5 && l3->l2_weights == 0.0);
    ck_assert_uint_eq(bm_model_n_params(m), 2 * 64 + 64 + 64 * 3 + 3);
    ck_assert_int_eq(bm_model_loss(m), BM_LOSS_SOFTMAX_CCE);
    const bm_optim_config *c = bm_optim_get_config(bm_model_optim(m));
    ck_assert_int_eq(c->kind, BM_OPT_ADAM);
    ck_assert(c->lr == 0.05 && c->decay == 5e-7 && c->beta2 == 0.99);
    ck_assert(c->beta1 == BM_OPTIM_BETA1 && c->eps == BM_OPTIM_EPS); /* defaults */
    ck_assert(ts.has_epochs && ts.epochs == 10001);
    ck_assert(ts.has_batch_size && ts.batch_size == 32);
    ck_assert(ts.has_seed && ts.seed == 7);
    /* weights drawn from training.seed as bm_model_init would */
    bm_model *ref = bm_model_new(BM_F64, 2, &e);
    for (size_t i = 0; i < 5; i++)
        ck_assert_int_eq(bm_model_add(ref, bm_model_layer(m, i), &e), BM_OK);
    ck_assert_int_eq(bm_model_init(ref, 7, &e), BM_OK);
    ck_assert(memcmp(bm_model_params(m), bm_model_params(ref),
                     bm_model_n_params(m) * sizeof(double)) == 0);
    bm_model_free(ref);
    bm_model_free(m);
}
END_TEST

START_TEST(text_need_not_be_terminated)
{
    /* len stops before trailing bytes that are not JSON */
    static const char text[] = "{\"inputs\": 1, \"layers\": [{\"type\": \"dense\", \"in\": 1, "
                               "\"out\": 1}]}garbage";
    bm_error e = {0};
    bm_model *m = bm_model_from_json(text, strlen(text) - strlen("garbage"), NULL, NULL, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    bm_model_free(m);
    m = bm_model_from_json(text, strlen(text), NULL, NULL, &e);
    ck_assert_ptr_null(m);
    ck_err(e.code, e, BM_ERR_PARSE, "<json>: malformed JSON near line 1 column");
    ck_assert_ptr_null(bm_model_from_json(NULL, 0, "x", NULL, &e));
    ck_err(e.code, e, BM_ERR_NULL, NULL);
    ck_assert_ptr_null(bm_model_load(NULL, NULL, &e));
    ck_err(e.code, e, BM_ERR_NULL, NULL);
    static const char nul[] = "{\"inputs\": 1,\n \0 }";
    ck_assert_ptr_null(bm_model_from_json(nul, sizeof nul - 1, "nul.json", NULL, NULL));
    ck_assert_ptr_null(bm_model_from_json(nul, sizeof nul - 1, "nul.json", NULL, &e));
    ck_err(e.code, e, BM_ERR_PARSE, "nul.json: NUL byte at line 2 column 2");
}
END_TEST

/* Exact messages of the documented examples. */
START_TEST(messages_name_file_and_path)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"{\"inputs\": 2, \"layers\": [{\"type\": \"dense\", \"in\": 2, \"out\": 3, "
         "\"weights\": [[1, 2], [3, 4]], \"biases\": [0, 0, 0]}]}",
         "model.json: layers[0].weights: expected 2x3, got 2x2"},
        {"{\"inputs\": 2, \"layers\": [{\"type\": \"dense\", \"in\": 2, \"out\": 3}, "
         "{\"type\": \"relux\"}]}",
         "model.json: layers[1].type: unknown layer type 'relux' (did you mean 'relu'? `bmnn "
         "layers` lists the "},
        {"{\"inputs\": 2, \"layers\": [{\"type\": \"dense\", \"in\": 2, \"out\": 3}], "
         "\"optimizer\": {\"lr\": \"fast\"}}",
         "model.json: optimizer.lr: expected a number, got a string"},
        {"{\"layers\": []}", "model.json: inputs: missing key"},
        {"{\"inputs\": 2, \"layers\": [{\"type\": \"dense\", \"in\": 2, \"out\": 3, "
         "\"wieghts\": []}]}",
         "model.json: layers[0].wieghts: unknown key"},
        {"{\"inputs\": 2,\n \"layers\": [}", "model.json: malformed JSON near line 2 column 13"},
        {"{\"inputs\": 1e400}", "model.json: inputs: the number is not finite"},
        {"[]", "model.json: expected a JSON object at the top, got an array"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bm_error e = {0};
        bm_model *m = bm_model_from_json(cases[i].text, strlen(cases[i].text), "model.json",
                                         NULL, &e);
        ck_assert_ptr_null(m);
        ck_assert_msg(strncmp(e.msg, cases[i].msg, strlen(cases[i].msg)) == 0,
                      "case %zu: '%s', expected '%s'", i, e.msg, cases[i].msg);
    }
}
END_TEST

/* ------------------------------------------------------------ round trips */

/* save → load → save is byte-identical for a model trained with Adam. */
START_TEST(roundtrip_bytes)
{
    bm_dtype dt = _i ? BM_F64 : BM_F32;
    bm_dataset ds = {0};
    bm_error e = {0};
    spiral(&ds, dt);
    bm_optim_config oc = adam();
    bm_model *m = make_model(dt, &oc, 1);
    fit(m, &ds, 3);
    bm_train_settings ts = {10001, 0, 9, 1, 1, 1};
    char *j1 = bm_model_to_json(m, &ts, &e);
    ck_assert_msg(j1 != NULL, "%s", e.msg);
    bm_train_settings back;
    bm_model *m2 = bm_model_from_json(j1, strlen(j1), "j1", &back, &e);
    ck_assert_msg(m2 != NULL, "%s", e.msg);
    ck_same_state(m, m2);
    ck_assert(back.has_epochs && back.epochs == 10001 && back.has_batch_size &&
              back.batch_size == 0 && back.has_seed && back.seed == 9);
    char *j2 = bm_model_to_json(m2, &ts, &e);
    ck_assert_msg(j2 != NULL, "%s", e.msg);
    ck_assert_str_eq(j1, j2);
    ck_assert_ptr_nonnull(strstr(j1, "\"momentums\": ["));
    ck_assert_ptr_nonnull(strstr(j1, "\"iterations\": 12,")); /* 3 epochs x 4 batches */
    ck_assert_ptr_nonnull(strstr(j1, "\"rate\": 0.1}"));      /* shortest exact form */
    /* the same through files */
    ck_assert_msg(bm_model_save(m2, tmp_path("a.json", 0), &ts, &e) == BM_OK, "%s", e.msg);
    bm_model *m3 = bm_model_load(tmp_path("a.json", 0), NULL, &e);
    ck_assert_msg(m3 != NULL, "%s", e.msg);
    ck_assert_msg(bm_model_save(m3, tmp_path("b.json", 1), &ts, &e) == BM_OK, "%s", e.msg);
    char *fa = read_all(tmp_path("a.json", 0), NULL), *fb = read_all(tmp_path("b.json", 1), NULL);
    ck_assert_str_eq(fa, j1);
    ck_assert_str_eq(fa, fb);
    /* the JSON is valid for a strict parser too */
    cJSON *root = cJSON_Parse(fa);
    ck_assert_ptr_nonnull(root);
    cJSON_Delete(root);
    free(fa);
    free(fb);
    free(j1);
    free(j2);
    bm_model_free(m3);
    bm_model_free(m2);
    bm_model_free(m);
    bm_dataset_free(&ds);
}
END_TEST

/* Extreme values round-trip exactly: subnormals, -0, the largest finite. */
START_TEST(roundtrip_extreme_values)
{
    bm_dtype dt = _i ? BM_F64 : BM_F32;
    bm_error e = {0};
    bm_optim_config oc = bm_optim_defaults(BM_OPT_SGD);
    bm_model *m = make_model(dt, &oc, 0);
    bm_tensor *W = bm_model_weights(m, 0);
    const double f32_vals[] = {-0.0, 1.17549435e-38, 1.40129846e-45, 3.40282347e+38,
                               -3.40282347e+38, 0.1, 1.0 / 3.0};
    const double f64_vals[] = {-0.0, 4.9406564584124654e-324, 2.2250738585072014e-308,
                               1.7976931348623157e308, -1.7976931348623157e308, 0.1,
                               1.0 / 3.0};
    for (size_t i = 0; i < 7; i++)
        bm_tensor_set(W, i, dt == BM_F32 ? f32_vals[i] : f64_vals[i]);
    char *j1 = bm_model_to_json(m, NULL, &e);
    ck_assert_msg(j1 != NULL, "%s", e.msg);
    bm_model *m2 = bm_model_from_json(j1, strlen(j1), "x", NULL, &e);
    ck_assert_msg(m2 != NULL, "%s", e.msg);
    ck_same_state(m, m2);
    char *j2 = bm_model_to_json(m2, NULL, &e);
    ck_assert_str_eq(j1, j2);
    free(j1);
    free(j2);
    bm_model_free(m2);
    bm_model_free(m);
}
END_TEST

/* Train 2N epochs in one go == N epochs, save, load, N more. Cases: SGD
 * with momentum, Adam, Adam with dropout (RNG state), in f32 and f64. */
START_TEST(resume_is_bit_identical)
{
    int kind = _i % 3, dropout = kind == 2;
    bm_dtype dt = _i < 3 ? BM_F32 : BM_F64;
    bm_optim_config oc = kind == 0 ? sgd_momentum() : adam();
    bm_dataset ds = {0};
    bm_error e = {0};
    spiral(&ds, dt);

    bm_model *a = make_model(dt, &oc, dropout);
    fit(a, &ds, 2 * RESUME_EPOCHS);

    bm_model *b = make_model(dt, &oc, dropout);
    fit(b, &ds, RESUME_EPOCHS);
    size_t bytes = bm_model_n_params(b) * bm_dtype_size(dt);
    ck_assert_msg(memcmp(bm_model_params(a), bm_model_params(b), bytes) != 0,
                  "training did not move the parameters");
    ck_assert_msg(bm_model_save(b, tmp_path("ckpt.json", 0), NULL, &e) == BM_OK, "%s", e.msg);
    bm_model_free(b);
    b = bm_model_load(tmp_path("ckpt.json", 0), NULL, &e);
    ck_assert_msg(b != NULL, "%s", e.msg);
    ck_assert_uint_eq(bm_model_epoch(b), RESUME_EPOCHS);
    fit(b, &ds, RESUME_EPOCHS);

    ck_same_state(a, b);
    bm_model_free(a);
    bm_model_free(b);
    bm_dataset_free(&ds);
}
END_TEST

/* --------------------------------------------------------------- saving */

START_TEST(save_is_atomic_and_replaces)
{
    bm_error e = {0};
    bm_optim_config oc = adam();
    bm_model *m = make_model(BM_F32, &oc, 0);
    const char *path = tmp_path("model.json", 0);
    size_t junk_len = 1 << 20;
    char *junk = malloc(junk_len);
    ck_assert_ptr_nonnull(junk);
    memset(junk, 'x', junk_len);
    write_file(path, junk, junk_len); /* longer than the model file */
    free(junk);
    ck_assert_int_eq(chmod(path, 0640), 0);
    for (int round = 0; round < 2; round++) {
        ck_assert_msg(bm_model_save(m, path, NULL, &e) == BM_OK, "%s", e.msg);
        char *want = bm_model_to_json(m, NULL, &e);
        size_t len;
        char *got = read_all(path, &len);
        ck_assert_uint_eq(len, strlen(want));
        ck_assert_str_eq(got, want);
        free(got);
        free(want);
        ck_assert_int_eq(count_entries(tmp_dir), 1); /* no temp file left */
        bm_model_set_epoch(m, 5);
    }
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0640); /* the replaced file's mode is kept */
    /* a relative path without a directory part works too */
    char cwd[PATH_MAX_LEN];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(tmp_dir), 0);
    ck_assert_msg(bm_model_save(m, "rel.json", NULL, &e) == BM_OK, "%s", e.msg);
    ck_assert_int_eq(chdir(cwd), 0);
    ck_assert_int_eq(count_entries(tmp_dir), 2);
    bm_model_free(m);
}
END_TEST

START_TEST(save_errors)
{
    bm_error e = {0};
    bm_optim_config oc = bm_optim_defaults(BM_OPT_SGD);
    bm_model *m = make_model(BM_F32, &oc, 0);
    /* a directory that does not exist */
    const char *p = tmp_path("nodir/model.json", 0);
    ck_err(bm_model_save(m, p, NULL, &e), e, BM_ERR_IO, p);
    ck_assert_ptr_nonnull(strstr(e.msg, strerror(ENOENT)));
    /* a "directory" that is a file */
    write_file(tmp_path("file", 1), "x", 1);
    p = tmp_path("file/model.json", 0);
    ck_err(bm_model_save(m, p, NULL, &e), e, BM_ERR_IO, p);
    /* a directory we may not write (root may write anywhere: skip then) */
    const char *sub = tmp_path("sub", 2);
    ck_assert_int_eq(mkdir(sub, 0500), 0);
    if (geteuid() != 0) {
        p = tmp_path("sub/model.json", 0);
        ck_err(bm_model_save(m, p, NULL, &e), e, BM_ERR_IO, p);
        ck_assert_ptr_nonnull(strstr(e.msg, strerror(EACCES)));
    }
    /* the target is a directory: the temp file is removed again */
    ck_assert_int_eq(mkdir(tmp_path("adir", 1), 0700), 0);
    p = tmp_path("adir", 1);
    ck_err(bm_model_save(m, p, NULL, &e), e, BM_ERR_IO, "cannot rename");
    ck_assert_int_eq(count_entries(tmp_dir), 3); /* file, sub, adir */
    ck_assert_int_eq(count_entries(p), 0);
    ck_err(bm_model_save(m, NULL, NULL, &e), e, BM_ERR_NULL, NULL);
    ck_err(bm_model_save(NULL, tmp_path("x.json", 1), NULL, &e), e, BM_ERR_NULL, NULL);
    bm_model_free(m);
    /* nothing to save before init */
    m = bm_model_new(BM_F32, 2, &e);
    ck_assert_ptr_null(bm_model_to_json(m, NULL, &e));
    ck_err(e.code, e, BM_ERR_STATE, "bm_model_init");
    bm_model_free(m);
}
END_TEST

START_TEST(save_rejects_nonfinite)
{
    bm_error e = {0};
    bm_optim_config oc = adam();
    bm_model *m = make_model(BM_F64, &oc, 0);
    bm_tensor_set(bm_model_weights(m, 0), HIDDEN + 1, NAN);
    ck_assert_ptr_null(bm_model_to_json(m, NULL, &e));
    ck_err(e.code, e, BM_ERR_NUMERIC, "layers[0].weights[1][1] is nan");
    ck_err(bm_model_save(m, tmp_path("m.json", 0), NULL, &e), e, BM_ERR_NUMERIC, "nan");
    ck_assert_int_eq(count_entries(tmp_dir), 0);
    bm_tensor_set(bm_model_weights(m, 0), HIDDEN + 1, 0.5);
    ((double *)bm_optim_state(bm_model_optim(m), 1))[3] = INFINITY;
    ck_assert_ptr_null(bm_model_to_json(m, NULL, &e));
    ck_err(e.code, e, BM_ERR_NUMERIC, "optimizer.state.cache[3] is inf");
    bm_model_free(m);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("model_io");
    TCase *tc = tcase_create("specs");
    tcase_add_test(tc, spec_minimal_uses_defaults);
    tcase_add_test(tc, spec_file_full);
    tcase_add_test(tc, text_need_not_be_terminated);
    tcase_add_test(tc, messages_name_file_and_path);
    suite_add_tcase(s, tc);

    tc = tcase_create("checkpoints");
    tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_loop_test(tc, roundtrip_bytes, 0, 2);
    tcase_add_loop_test(tc, roundtrip_extreme_values, 0, 2);
    tcase_add_loop_test(tc, resume_is_bit_identical, 0, 6);
    suite_add_tcase(s, tc);

    tc = tcase_create("saving");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, save_is_atomic_and_replaces);
    tcase_add_test(tc, save_errors);
    tcase_add_test(tc, save_rejects_nonfinite);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
