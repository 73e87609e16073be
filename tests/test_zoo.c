/* test_zoo.c — a CI-sized smoke test of every model of the zoo
 * (the model files of examples/zoo): each file loads, trains a few steps on small data
 * of its input's shape (images with a class-dependent bright square; a
 * repeated text's byte windows for the character models) and its loss
 * falls; a character model then generates ids inside its vocabulary. The
 * full runs and their figures are tools/zoo.sh's. */
#include "test_util.h"

/* Samples and batch of the smoke runs; epochs over them. */
#define SMOKE_SAMPLES 64
#define SMOKE_BATCH 16
#define SMOKE_EPOCHS 3
/* The loss after the steps must be below this share of the loss before. */
#define SMOKE_FALL 0.9
/* Image side and classes of the image models (MNIST's). */
#define SIDE 28
#define CLASSES 10
/* Side of the bright square that marks an image's class. */
#define MARK 6
/* The text the character models see: the committed sample, repeated. */
#define TEXT_PATH BM_TEST_DATA "/text_small.txt"
#define TEXT_REPEATS 40
/* Tokens generated after training. */
#define GEN_TOKENS 8

typedef enum zoo_data { ZOO_IMAGES, ZOO_TEXT } zoo_data;

typedef struct zoo_case {
    const char *file;
    zoo_data data;
} zoo_case;

/* Every model of the zoo, once. */
static const zoo_case cases[] = {
    {"mnist_cnn.json", ZOO_IMAGES},
    {"char_lstm.json", ZOO_TEXT},
    {"char_gpt.json", ZOO_TEXT},
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

/* Images [N,784] in [0,1]: noise plus a bright square whose place is the class. */
static void make_images(bm_dataset *ds)
{
    bm_error e = {0};
    size_t xs[2] = {SMOKE_SAMPLES, SIDE * SIDE}, ys[1] = {SMOKE_SAMPLES};
    ds->x = bm_tensor_new(BM_F32, 2, xs, &e);
    ds->y = bm_tensor_new(BM_F32, 1, ys, &e);
    ck_assert_ptr_nonnull(ds->y);
    ds->n_classes = CLASSES;
    bm_rng r;
    bm_rng_seed(&r, 5);
    for (size_t i = 0; i < SMOKE_SAMPLES; i++) {
        size_t c = i % CLASSES, r0 = 2 + (c / 5) * 12, c0 = 2 + (c % 5) * 5;
        bm_tensor_set(ds->y, i, (double)c);
        for (size_t p = 0; p < SIDE * SIDE; p++) {
            size_t row = p / SIDE, col = p % SIDE;
            int in = row >= r0 && row < r0 + MARK && col >= c0 && col < c0 + MARK;
            bm_tensor_set(ds->x, i * SIDE * SIDE + p, in ? 1.0 : 0.2 * bm_rng_uniform(&r));
        }
    }
}

/* The committed text repeated, as bytes. */
static bm_text *make_text(void)
{
    FILE *f = fopen(TEXT_PATH, "rb");
    ck_assert_ptr_nonnull(f);
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    char *all = malloc(n * TEXT_REPEATS);
    ck_assert_ptr_nonnull(all);
    for (size_t k = 0; k < TEXT_REPEATS; k++)
        memcpy(all + k * n, buf, n);
    bm_text *t = NULL;
    bm_error e = {0};
    ck_assert_int_eq(bm_text_from_bytes(all, n * TEXT_REPEATS, NULL, &t, &e), BM_OK);
    free(all);
    return t;
}

/* Random windows of T tokens of t, y [N,T] the next tokens. */
static void make_windows(const bm_text *t, size_t T, bm_dtype dt, bm_dataset *ds)
{
    bm_rng r;
    bm_rng_seed(&r, 6);
    bm_text_window_opts w = bm_text_window_defaults(T);
    w.rng = &r;
    w.count = SMOKE_SAMPLES;
    w.dtype = dt;
    bm_error e = {0};
    ck_assert_msg(bm_text_windows(t, &w, 0, bm_text_length(t), ds, &e) == BM_OK, "%s", e.msg);
}

/* A trained character model continues a prompt with ids of its vocabulary. */
static void check_generates(bm_model *m)
{
    const uint32_t prompt[3] = {'T', 'h', 'e'};
    uint32_t out[GEN_TOKENS];
    bm_generate_opts g = bm_generate_defaults();
    g.tokens = GEN_TOKENS;
    g.top_k = 5;
    g.seed = 2;
    bm_error e = {0};
    ck_assert_msg(bm_generate(m, prompt, 3, &g, out, &e) == BM_OK, "%s", e.msg);
    for (size_t i = 0; i < GEN_TOKENS; i++)
        ck_assert_uint_lt(out[i], BM_TEXT_BYTE_VOCAB);
}

START_TEST(zoo_model_trains)
{
    const zoo_case *c = &cases[_i];
    char path[512];
    snprintf(path, sizeof path, "%s/%s", BM_ZOO_DIR, c->file);
    bm_error e = {0};
    bm_model *m = bm_model_load(path, NULL, &e);
    ck_assert_msg(m, "%s: %s", c->file, e.msg);
    bm_dataset ds = {0};
    bm_text *t = NULL;
    if (c->data == ZOO_IMAGES) {
        make_images(&ds);
    } else {
        t = make_text();
        make_windows(t, bm_model_n_inputs(m), bm_model_dtype(m), &ds);
    }
    double before = 0.0, after = 0.0;
    ck_assert_msg(bm_model_evaluate(m, &ds, &before, NULL, &e) == BM_OK, "%s: %s", c->file,
                  e.msg);
    bm_fit_opts o = bm_fit_defaults();
    o.epochs = SMOKE_EPOCHS;
    o.batch_size = SMOKE_BATCH;
    o.shuffle = 1;
    ck_assert_msg(bm_model_fit(m, &ds, &o, &e) == BM_OK, "%s: %s", c->file, e.msg);
    ck_assert_int_eq(bm_model_evaluate(m, &ds, &after, NULL, &e), BM_OK);
    ck_assert_msg(after < SMOKE_FALL * before, "%s: loss %g -> %g after %d steps", c->file,
                  before, after, SMOKE_EPOCHS * SMOKE_SAMPLES / SMOKE_BATCH);
    if (c->data == ZOO_TEXT)
        check_generates(m);
    bm_dataset_free(&ds);
    bm_text_free(t);
    bm_model_free(m);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("zoo");
    TCase *tc = tcase_create("zoo");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, zoo_model_trains, 0, N_CASES);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
