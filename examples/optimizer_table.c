/* optimizer_table.c — the walk-through's optimizer comparison in bmnn.
 *
 * For each of the book's six optimizer settings, trains the spiral net of
 * experiments/optimizing.py (100 points x 3 classes, 2-64-3, ReLU,
 * softmax + cross-entropy, full batch) for epochs 0..EPOCHS from the same
 * seeds, and prints one tab-separated line per setting:
 *   key  final_loss  final_accuracy  seconds
 * (loss and accuracy of the last epoch's forward pass, as the book prints
 * them; seconds of training only). tools/optimizer_table.py runs this next
 * to a NumPy reference and prints the markdown table.
 *
 * Usage: optimizer_table [--epochs N] [--only KEY] [--seed S] [--f64] [--dump FILE]
 *   --epochs  last epoch (10000); --only one setting (sgd, sgd_decay,
 *   sgd_momentum, adagrad, rmsprop, adam); --seed of data and weights (0);
 *   --f64 trains in double; --dump writes the data and each setting's
 *   initial weights to FILE (one %.17g number a line: x [300,2], labels
 *   [300], weights [2,64], weights [64,3]; biases start at zero) so that a
 *   reference can start from exactly the same point. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bmnn.h>

enum { SAMPLES = 100, CLASSES = 3, HIDDEN = 64, EPOCHS = 10000 };

/* The book's settings (chapter 10), in its order. */
typedef struct setting {
    const char *key;
    bm_optim_kind kind;
    double lr, decay, momentum, rho;
} setting;

static const setting SETTINGS[] = {
    {"sgd", BM_OPT_SGD, 1.0, 0, 0, 0},
    {"sgd_decay", BM_OPT_SGD, 1.0, 1e-3, 0, 0},
    {"sgd_momentum", BM_OPT_SGD, 1.0, 1e-3, 0.9, 0},
    {"adagrad", BM_OPT_ADAGRAD, 1.0, 1e-4, 0, 0},
    {"rmsprop", BM_OPT_RMSPROP, 0.02, 1e-5, 0, 0.999},
    {"adam", BM_OPT_ADAM, 0.05, 5e-7, 0, 0},
};
enum { N_SETTINGS = sizeof SETTINGS / sizeof SETTINGS[0] };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int keep_last(void *ud, const bm_epoch_stats *s)
{
    *(bm_epoch_stats *)ud = *s;
    return 0;
}

/* Train one setting; prints its line. */
/* Write x, labels and every dense layer's weights to f. */
static void dump_start(FILE *f, const bm_dataset *data, bm_model *m)
{
    for (size_t i = 0; i < data->x->size; i++)
        fprintf(f, "%.17g\n", bm_tensor_get(data->x, i));
    for (size_t i = 0; i < data->y->size; i++)
        fprintf(f, "%.17g\n", bm_tensor_get(data->y, i));
    for (size_t l = 0; l < bm_model_n_layers(m); l++) {
        const bm_tensor *W = bm_model_weights(m, l);
        for (size_t i = 0; W && i < W->size; i++)
            fprintf(f, "%.17g\n", bm_tensor_get(W, i));
    }
}

typedef struct run_opts {
    uint64_t epochs, seed;
    bm_dtype dtype;
    FILE *dump;
} run_opts;

static int run(const setting *st, const bm_dataset *data, const run_opts *ro)
{
    bm_error err = {0};
    bm_model *m = bm_model_new(ro->dtype, 2, &err);
    bm_layer_spec d1 = bm_dense_spec(2, HIDDEN), relu = bm_activation_spec(BM_LAYER_RELU),
                  d2 = bm_dense_spec(HIDDEN, CLASSES),
                  soft = bm_activation_spec(BM_LAYER_SOFTMAX);
    bm_optim_config oc = bm_optim_defaults(st->kind);
    oc.lr = st->lr;
    oc.decay = st->decay;
    if (st->kind == BM_OPT_SGD)
        oc.momentum = st->momentum;
    if (st->kind == BM_OPT_RMSPROP)
        oc.rho = st->rho;
    bm_epoch_stats last = {0};
    bm_fit_opts fit = bm_fit_defaults();
    fit.epochs = ro->epochs + 1; /* epochs 0..N, as the book's range(10001) */
    fit.callback = keep_last;
    fit.callback_ud = &last;
    int ok = m && bm_model_add(m, &d1, &err) == BM_OK && bm_model_add(m, &relu, &err) == BM_OK &&
             bm_model_add(m, &d2, &err) == BM_OK && bm_model_add(m, &soft, &err) == BM_OK &&
             bm_model_set_loss(m, BM_LOSS_SOFTMAX_CCE, &err) == BM_OK &&
             bm_model_set_optimizer(m, &oc, &err) == BM_OK &&
             bm_model_init(m, ro->seed, &err) == BM_OK;
    if (ok && ro->dump)
        dump_start(ro->dump, data, m);
    double t0 = now();
    ok = ok && bm_model_fit(m, data, &fit, &err) == BM_OK;
    double secs = now() - t0;
    if (ok)
        printf("%s\t%.6f\t%.6f\t%.4f\n", st->key, last.loss, last.accuracy, secs);
    else
        fprintf(stderr, "optimizer_table: %s: %s\n", st->key, err.msg);
    fflush(stdout);
    bm_model_free(m);
    return ok;
}

/* Value of option argv[*i] (advancing *i), or NULL when it is missing. */
static const char *value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "optimizer_table: %s needs a value\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int main(int argc, char **argv)
{
    run_opts ro = {EPOCHS, 0, BM_F32, NULL};
    const char *only = NULL, *dump = NULL, *v = "";
    for (int i = 1; i < argc && v; i++) {
        if (strcmp(argv[i], "--epochs") == 0 && (v = value(argc, argv, &i)))
            ro.epochs = strtoull(v, NULL, 10);
        else if (strcmp(argv[i], "--seed") == 0 && (v = value(argc, argv, &i)))
            ro.seed = strtoull(v, NULL, 10);
        else if (strcmp(argv[i], "--only") == 0 && (v = value(argc, argv, &i)))
            only = v;
        else if (strcmp(argv[i], "--dump") == 0 && (v = value(argc, argv, &i)))
            dump = v;
        else if (strcmp(argv[i], "--f64") == 0)
            ro.dtype = BM_F64;
        else if (v) {
            fprintf(stderr, "usage: optimizer_table [--epochs N] [--only KEY] [--seed S] [--f64] "
                            "[--dump FILE]\n");
            return 2;
        }
    }
    if (!v)
        return 2;
    bm_error err = {0};
    bm_rng rng;
    bm_dataset data = {0};
    bm_rng_seed(&rng, ro.seed);
    if (bm_data_spiral(&data, SAMPLES, CLASSES, ro.dtype, &rng, &err) != BM_OK) {
        fprintf(stderr, "optimizer_table: %s\n", err.msg);
        return 1;
    }
    if (dump && !(ro.dump = fopen(dump, "w"))) {
        perror(dump);
        bm_dataset_free(&data);
        return 1;
    }
    int ok = 1, found = 0;
    for (int i = 0; i < N_SETTINGS; i++) {
        if (only && strcmp(only, SETTINGS[i].key) != 0)
            continue;
        found = 1;
        ok &= run(&SETTINGS[i], &data, &ro);
    }
    if (!found) {
        fprintf(stderr, "optimizer_table: unknown setting '%s' (sgd, sgd_decay, sgd_momentum, "
                        "adagrad, rmsprop, adam)\n", only);
        ok = 0;
    }
    if (ro.dump && fclose(ro.dump) != 0) {
        perror(dump);
        ok = 0;
    }
    bm_dataset_free(&data);
    return ok ? 0 : 1;
}
