/* test_model_io_util.h — shared by test_model_io.c and test_model_io_bad.c:
 * a temp dir per test case, file helpers, a small spiral model and its
 * training, state comparison. */
#ifndef BM_TEST_MODEL_IO_UTIL_H
#define BM_TEST_MODEL_IO_UTIL_H

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

static inline void tmp_setup(void)
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

static inline void tmp_teardown(void)
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

static inline void write_file(const char *path, const void *bytes, size_t len)
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
static inline int count_entries(const char *dir)
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

static inline void ck_err_at(bm_status st, const bm_error *e, bm_status want, const char *sub, int line)
{
    ck_assert_msg(st == want, "line %d: status %s, expected %s (%s)", line, bm_status_name(st),
                  bm_status_name(want), e->msg);
    ck_assert_int_eq(e->code, want);
    if (sub)
        ck_assert_msg(strstr(e->msg, sub) != NULL, "line %d: message '%s' lacks '%s'", line,
                      e->msg, sub);
}

static inline void spiral(bm_dataset *ds, bm_dtype dt)
{
    bm_rng rng;
    bm_error e = {0};
    bm_rng_seed(&rng, DATA_SEED);
    ck_assert_msg(bm_data_spiral(ds, SPIRAL_POINTS, SPIRAL_CLASSES, dt, &rng, &e) == BM_OK, "%s",
                  e.msg);
}

/* 2 → HIDDEN (L2) → relu [→ dropout 0.1] → HIDDEN → 3 → softmax, seeded. */
static inline bm_model *make_model(bm_dtype dt, const bm_optim_config *oc, int dropout)
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

static inline void fit(bm_model *m, const bm_dataset *ds, uint64_t epochs)
{
    bm_error e = {0};
    bm_fit_opts o = bm_fit_defaults();
    o.epochs = epochs;
    o.batch_size = BATCH;
    ck_assert_msg(bm_model_fit(m, ds, &o, &e) == BM_OK, "fit: %s", e.msg);
}

static inline bm_optim_config adam(void)
{
    bm_optim_config c = bm_optim_defaults(BM_OPT_ADAM);
    c.lr = 0.05;
    c.decay = 5e-7;
    return c;
}

static inline bm_optim_config sgd_momentum(void)
{
    bm_optim_config c = bm_optim_defaults(BM_OPT_SGD);
    c.lr = 0.5;
    c.decay = 1e-3;
    c.momentum = 0.9;
    return c;
}

/* Assert a and b hold bit-identical parameters, optimizer state, epoch
 * and RNG state. */
static inline void ck_same_state(bm_model *a, bm_model *b)
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


#endif
