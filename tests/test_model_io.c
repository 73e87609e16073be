/* test_model_io.c — JSON model files: specs, checkpoints that save → load →
 * save byte-identically and resume training bit-identically, atomic saves,
 * and a corpus of malformed files (tests/data/bad_models/) that must each
 * fail cleanly with the JSON path of the problem. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "test_util.h"

/* Spiral points per class and classes of the training set. */
#define SPIRAL_POINTS 40
#define SPIRAL_CLASSES 3
/* Seeds of the data and of the models. */
#define DATA_SEED 3
#define MODEL_SEED 42
/* Hidden width of the test models. */
#define HIDDEN 16
/* Mini-batch size (120 rows: three full batches and a short one). */
#define BATCH 32
/* Epochs before and after the checkpoint in the resume tests. */
#define RESUME_EPOCHS 4
/* Depth of the generated deeply nested file. */
#define DEEP 100000
/* Room for paths. */
#define PATH_MAX_LEN 512

/* ------------------------------------------------------------ temp files */

/* One temp dir per test, made and removed by an unchecked fixture (it runs
 * in the parent process, so failing tests get cleaned up too). */
static char tmp_dir[] = "/tmp/bm_test_model_io_XXXXXX";
static int tmp_made;

static void tmp_setup(void)
{
    if (!tmp_made) {
        ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
        tmp_made = 1;
    }
}

/* Remove dir's plain files and the dir (one level is all the tests make,
 * plus one subdir "sub"). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[PATH_MAX_LEN];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            if (unlink(p) != 0)
                remove_dir(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static void tmp_teardown(void)
{
    if (!tmp_made)
        return;
    char sub[PATH_MAX_LEN];
    snprintf(sub, sizeof sub, "%s/sub", tmp_dir);
    chmod(sub, 0700);
    remove_dir(tmp_dir);
    strcpy(tmp_dir, "/tmp/bm_test_model_io_XXXXXX");
    tmp_made = 0;
}

/* Path of `name` in the temp dir (one static buffer per slot). */
static const char *tmp_path(const char *name, int slot)
{
    static char buf[4][PATH_MAX_LEN];
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", tmp_dir, name);
    return buf[slot];
}

static void write_file(const char *path, const void *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* Whole file into a new NUL-terminated buffer (free it); *len its size. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    ck_assert_int_ge(n, 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = (size_t)n;
    return buf;
}

/* Names in dir other than . and .. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* ---------------------------------------------------------------- models */

/* Assert that st and err have code `want` and the message holds `sub`. */
#define ck_err(st, e, want, sub) ck_err_at((st), &(e), (want), (sub), __LINE__)

static void ck_err_at(bm_status st, const bm_error *e, bm_status want, const char *sub, int line)
{
    ck_assert_msg(st == want, "line %d: status %s, expected %s (%s)", line, bm_status_name(st),
                  bm_status_name(want), e->msg);
    ck_assert_int_eq(e->code, want);
    if (sub)
        ck_assert_msg(strstr(e->msg, sub) != NULL, "line %d: message '%s' lacks '%s'", line,
                      e->msg, sub);
}

static void spiral(bm_dataset *ds, bm_dtype dt)
{
    bm_rng rng;
    bm_error e = {0};
    bm_rng_seed(&rng, DATA_SEED);
    ck_assert_msg(bm_data_spiral(ds, SPIRAL_POINTS, SPIRAL_CLASSES, dt, &rng, &e) == BM_OK, "%s",
                  e.msg);
}

/* 2 → HIDDEN (L2) → relu [→ dropout 0.1] → HIDDEN → 3 → softmax, seeded. */
static bm_model *make_model(bm_dtype dt, const bm_optim_config *oc, int dropout)
{
    bm_error e = {0};
    bm_model *m = bm_model_new(dt, 2, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    bm_layer_spec d1 = bm_dense_spec(2, HIDDEN), d2 = bm_dense_spec(HIDDEN, SPIRAL_CLASSES);
    d1.l2_weights = d1.l2_biases = 5e-4;
    bm_layer_spec relu = bm_activation_spec(BM_LAYER_RELU), drop = bm_dropout_spec(0.1);
    bm_layer_spec soft = bm_activation_spec(BM_LAYER_SOFTMAX);
    ck_assert_int_eq(bm_model_add(m, &d1, &e), BM_OK);
    ck_assert_int_eq(bm_model_add(m, &relu, &e), BM_OK);
    if (dropout)
        ck_assert_int_eq(bm_model_add(m, &drop, &e), BM_OK);
    ck_assert_int_eq(bm_model_add(m, &d2, &e), BM_OK);
    ck_assert_int_eq(bm_model_add(m, &soft, &e), BM_OK);
    ck_assert_int_eq(bm_model_set_loss(m, BM_LOSS_SOFTMAX_CCE, &e), BM_OK);
    ck_assert_msg(bm_model_set_optimizer(m, oc, &e) == BM_OK, "%s", e.msg);
    ck_assert_msg(bm_model_init(m, MODEL_SEED, &e) == BM_OK, "%s", e.msg);
    return m;
}

static void fit(bm_model *m, const bm_dataset *ds, uint64_t epochs)
{
    bm_error e = {0};
    bm_fit_opts o = bm_fit_defaults();
    o.epochs = epochs;
    o.batch_size = BATCH;
    ck_assert_msg(bm_model_fit(m, ds, &o, &e) == BM_OK, "fit: %s", e.msg);
}

static bm_optim_config adam(void)
{
    bm_optim_config c = bm_optim_defaults(BM_OPT_ADAM);
    c.lr = 0.05;
    c.decay = 5e-7;
    return c;
}

static bm_optim_config sgd_momentum(void)
{
    bm_optim_config c = bm_optim_defaults(BM_OPT_SGD);
    c.lr = 0.5;
    c.decay = 1e-3;
    c.momentum = 0.9;
    return c;
}

/* Assert a and b hold bit-identical parameters, optimizer state, epoch
 * and RNG state. */
static void ck_same_state(bm_model *a, bm_model *b)
{
    size_t n = bm_model_n_params(a), esz = bm_dtype_size(bm_model_dtype(a));
    ck_assert_int_eq(bm_model_dtype(a), bm_model_dtype(b));
    ck_assert_uint_eq(n, bm_model_n_params(b));
    ck_assert_msg(memcmp(bm_model_params(a), bm_model_params(b), n * esz) == 0,
                  "parameters differ");
    bm_optim *oa = bm_model_optim(a), *ob = bm_model_optim(b);
    ck_assert_uint_eq(bm_optim_iterations(oa), bm_optim_iterations(ob));
    ck_assert_int_eq(bm_optim_state_count(oa), bm_optim_state_count(ob));
    for (int k = 0; k < bm_optim_state_count(oa); k++)
        ck_assert_msg(memcmp(bm_optim_state(oa, k), bm_optim_state(ob, k), n * esz) == 0,
                      "optimizer state %s differs", bm_optim_state_name(oa, k));
    ck_assert_uint_eq(bm_model_epoch(a), bm_model_epoch(b));
    ck_assert_msg(memcmp(bm_model_rng(a), bm_model_rng(b), sizeof(bm_rng)) == 0,
                  "RNG states differ");
}

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
         "model.json: layers[1].type: unknown layer type 'relux' (expected one of dense, relu, "
         "sigmoid, tanh, softmax, linear, dropout)"},
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

    tc = tcase_create("bad_files");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_loop_test(tc, bad_model_fails_cleanly, 0, (int)N_BAD);
    tcase_add_test(tc, bad_corpus_is_complete);
    tcase_add_test(tc, deep_nesting_is_refused);
    tcase_add_test(tc, file_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
