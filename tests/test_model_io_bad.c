/* test_model_io_bad.c — a corpus of malformed model files
 * (tests/data/bad_models/) that must each fail cleanly with its status and
 * the JSON path of the problem; deep nesting; files that cannot be read. */
#define _POSIX_C_SOURCE 200809L
#include "test_model_io_util.h"

/* ------------------------------------------------------------- bad files */

/* Each file of tests/data/bad_models, the status and message part it gives. */
static const struct bad_case {
    const char *file;
    bm_status status;
    const char *msg;
} BAD[] = {
    {"truncated.json", BM_ERR_PARSE, "malformed JSON near line 5 column"},
    {"not_json.json", BM_ERR_PARSE, "malformed JSON near line 1 column 1"},
    {"empty.json", BM_ERR_PARSE, "empty file"},
    {"top_array.json", BM_ERR_PARSE, "expected a JSON object at the top, got an array"},
    {"trailing_garbage.json", BM_ERR_PARSE, "malformed JSON near line"},
    {"inputs_string.json", BM_ERR_PARSE, "inputs: expected a number, got a string"},
    {"missing_inputs.json", BM_ERR_PARSE, "inputs: missing key"},
    {"missing_layers.json", BM_ERR_PARSE, "layers: missing key"},
    {"layers_empty.json", BM_ERR_PARSE, "layers: expected at least one layer"},
    {"layer_not_object.json", BM_ERR_PARSE, "layers[0]: expected an object, got a string"},
    {"missing_type.json", BM_ERR_PARSE, "layers[0].type: missing key"},
    {"unknown_layer.json", BM_ERR_PARSE, "layers[1].type: unknown layer type 'relux'"},
    {"unknown_key.json", BM_ERR_PARSE, "layers[0].wieghts: unknown key"},
    {"unknown_root_key.json", BM_ERR_PARSE, "optimiser: unknown key"},
    {"duplicate_key.json", BM_ERR_PARSE, "layers[0].in: duplicate key"},
    {"unknown_optimizer.json", BM_ERR_PARSE, "optimizer.type: unknown optimizer 'lamb'"},
    {"lr_string.json", BM_ERR_PARSE, "optimizer.lr: expected a number, got a string"},
    {"lr_negative.json", BM_ERR_ARG, "optimizer.lr: -0.5 must be > 0"},
    {"momentum_one.json", BM_ERR_ARG, "optimizer.momentum: 1 must be in [0, 1)"},
    {"sgd_with_beta1.json", BM_ERR_PARSE, "optimizer.beta1: unknown key"},
    {"huge_out.json", BM_ERR_SIZE, "layers[0].out: expected an integer in [1, 268435456]"},
    {"too_many_params.json", BM_ERR_SIZE, "layers[0]: 16384x16384 makes 268451840 parameters"},
    {"fractional_size.json", BM_ERR_SIZE, "layers[0].out: expected an integer in [1, "},
    {"negative_size.json", BM_ERR_SIZE, "inputs: expected an integer in [1, 268435456], got -3"},
    {"size_1e20.json", BM_ERR_SIZE, "layers[0].in: expected an integer in [1, 268435456], got 1e+20"},
    {"not_finite.json", BM_ERR_NUMERIC, "layers[0].l2_weights: the number is not finite"},
    {"weights_shape.json", BM_ERR_SHAPE, "layers[0].weights: expected 2x3, got 2x2"},
    {"weights_rows.json", BM_ERR_SHAPE, "layers[0].weights: expected 2x3, got 3x3"},
    {"weights_ragged.json", BM_ERR_SHAPE, "layers[0].weights[1]: expected 3 numbers, got 2"},
    {"weights_flat.json", BM_ERR_SHAPE, "layers[0].weights: expected 2x3, got an array of 6"},
    {"weight_string.json", BM_ERR_PARSE, "layers[0].weights[1][2]: expected a number, got a string"},
    {"weight_f32_overflow.json", BM_ERR_NUMERIC, "layers[0].weights[0][0]: 1e+39 is not finite in f32"},
    {"bias_f64_overflow.json", BM_ERR_NUMERIC, "layers[2].biases[1]: -inf is not finite in f64"},
    {"biases_missing.json", BM_ERR_PARSE, "layers[0].biases: missing key"},
    {"biases_length.json", BM_ERR_SHAPE, "layers[0].biases: expected 3 numbers, got 2"},
    {"biases_not_array.json", BM_ERR_PARSE, "layers[0].biases: expected an array of numbers, got a number"},
    {"dense_in_mismatch.json", BM_ERR_SHAPE, "layers[2].in: expected 3 (the width before this layer), got 4"},
    {"first_in_mismatch.json", BM_ERR_SHAPE, "layers[0].in: expected 2 (the width before this layer), got 3"},
    {"state_length.json", BM_ERR_SHAPE, "optimizer.state.momentums: expected 17 numbers, got 16"},
    {"state_missing_cache.json", BM_ERR_PARSE, "optimizer.state.cache: missing key"},
    {"state_unknown_array.json", BM_ERR_PARSE, "optimizer.state.momentums: unknown key"},
    {"iterations_fraction.json", BM_ERR_ARG, "optimizer.state.iterations: expected an integer"},
    {"rng_short.json", BM_ERR_PARSE, "state.rng: expected 4 strings of 16 hex digits, got 3"},
    {"rng_bad_hex.json", BM_ERR_PARSE, "state.rng[1]: expected 16 hex digits, got 'xyz'"},
    {"rng_number.json", BM_ERR_PARSE, "state.rng[2]: expected a string of 16 hex digits, got a number"},
    {"rng_zero.json", BM_ERR_PARSE, "state.rng: all zero is not a valid xoshiro256** state"},
    {"epoch_negative.json", BM_ERR_ARG, "state.epoch: expected an integer in [0, "},
    {"version2.json", BM_ERR_PARSE, "version: unsupported version 2 (this library reads 1)"},
    {"wrong_format.json", BM_ERR_PARSE, "format: expected \"bmnn-model\", got \"keras\""},
    {"unknown_dtype.json", BM_ERR_PARSE, "dtype: unknown dtype 'f16' (expected f32 or f64)"},
    {"unknown_loss.json", BM_ERR_PARSE, "loss: unknown loss 'hinge' (expected one of"},
    {"unknown_init.json", BM_ERR_PARSE, "layers[0].init: unknown initialiser 'xavier'"},
    {"dropout_rate.json", BM_ERR_ARG, "layers[1].rate: 1 must be in [0, 1)"},
    {"dropout_no_rate.json", BM_ERR_PARSE, "layers[1].rate: missing key"},
    {"no_dense.json", BM_ERR_PARSE, "layers: expected at least one dense layer"},
    {"training_string.json", BM_ERR_PARSE, "training.seed: expected a number, got a string"},
    {"deep_small.json", BM_ERR_PARSE, "nested deeper than 32 levels at line 1 column"},
};
#define N_BAD (sizeof BAD / sizeof BAD[0])

START_TEST(bad_model_fails_cleanly)
{
    const struct bad_case *c = &BAD[_i];
    char path[PATH_MAX_LEN];
    snprintf(path, sizeof path, "%s/bad_models/%s", BM_TEST_DATA, c->file);
    bm_error e = {0};
    bm_train_settings ts;
    bm_model *m = bm_model_load(path, &ts, &e);
    ck_assert_msg(m == NULL, "%s loaded", c->file);
    ck_assert_msg(e.code == c->status, "%s: status %s, expected %s (%s)", c->file,
                  bm_status_name(e.code), bm_status_name(c->status), e.msg);
    ck_assert_msg(strncmp(e.msg, path, strlen(path)) == 0, "%s: message '%s' lacks the file",
                  c->file, e.msg);
    ck_assert_msg(strstr(e.msg, c->msg) != NULL, "%s: message '%s' lacks '%s'", c->file, e.msg,
                  c->msg);
    /* the same text from memory gives the same verdict */
    size_t len;
    char *text = read_all(path, &len);
    bm_error e2 = {0};
    ck_assert_ptr_null(bm_model_from_json(text, len, path, NULL, &e2));
    ck_assert_str_eq(e.msg, e2.msg);
    free(text);
}
END_TEST

/* Every file of the corpus is in the table (and the other way round). */
START_TEST(bad_corpus_is_complete)
{
    char dir[PATH_MAX_LEN];
    snprintf(dir, sizeof dir, "%s/bad_models", BM_TEST_DATA);
    ck_assert_int_eq(count_entries(dir), (int)N_BAD);
    ck_assert_uint_ge(N_BAD, 20);
}
END_TEST

START_TEST(deep_nesting_is_refused)
{
    char *text = malloc(2 * DEEP + 1);
    ck_assert_ptr_nonnull(text);
    memset(text, '[', DEEP);
    memset(text + DEEP, ']', DEEP);
    text[2 * DEEP] = '\0';
    bm_error e = {0};
    const char *p = tmp_path("deep.json", 0);
    write_file(p, text, 2 * DEEP);
    ck_assert_ptr_null(bm_model_load(p, NULL, &e));
    ck_err(e.code, e, BM_ERR_PARSE, "nested deeper than 32 levels at line 1 column 33");
    /* objects nest too */
    for (size_t i = 0; i < DEEP / 4; i++)
        memcpy(text + 4 * i, "{\"\":", 4);
    ck_assert_ptr_null(bm_model_from_json(text, 4 * (DEEP / 4), "deep", NULL, &e));
    ck_err(e.code, e, BM_ERR_PARSE, "deep: nested deeper than 32 levels");
    /* brackets inside strings do not count */
    static const char in_string[] = "{\"inputs\": \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"\"}";
    ck_assert_ptr_null(bm_model_from_json(in_string, strlen(in_string), "s", NULL, &e));
    ck_err(e.code, e, BM_ERR_PARSE, "s: inputs: expected a number, got a string");
    /* cJSON alone stops at its own limit without crashing */
    memset(text, '[', DEEP);
    memset(text + DEEP, ']', DEEP);
    cJSON *j = cJSON_ParseWithLength(text, 2 * DEEP);
    ck_assert_ptr_null(j);
    free(text);
}
END_TEST

START_TEST(file_errors)
{
    bm_error e = {0};
    const char *p = tmp_path("missing.json", 0);
    ck_assert_ptr_null(bm_model_load(p, NULL, &e));
    ck_err(e.code, e, BM_ERR_IO, strerror(ENOENT));
    ck_assert_ptr_nonnull(strstr(e.msg, "missing.json"));
    ck_assert_ptr_null(bm_model_load(tmp_dir, NULL, &e));
    ck_err(e.code, e, BM_ERR_IO, "is a directory");
    /* over the size limit: refused from its size, unread (a sparse file) */
    p = tmp_path("huge.json", 1);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)BM_MODEL_MAX_FILE_BYTES + 1), 0);
    close(fd);
    ck_assert_ptr_null(bm_model_load(p, NULL, &e));
    ck_err(e.code, e, BM_ERR_SIZE, "more than the limit of 1073741824");
    ck_assert_ptr_null(bm_model_from_json("{}", BM_MODEL_MAX_FILE_BYTES + 1, "big", NULL, &e));
    ck_err(e.code, e, BM_ERR_SIZE, "big: ");
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("model_io_bad");
    TCase *tc = tcase_create("bad_files");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_loop_test(tc, bad_model_fails_cleanly, 0, (int)N_BAD);
    tcase_add_test(tc, bad_corpus_is_complete);
    tcase_add_test(tc, deep_nesting_is_refused);
    tcase_add_test(tc, file_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
