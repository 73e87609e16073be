/* mnist_mlp.c — a 784-128-10 multilayer perceptron on MNIST digits.
 *
 * Reads the IDX files that tools/fetch_mnist.sh writes (8,000 training and
 * 2,000 test digits by default), scales pixels to [0, 1], and trains
 * dense(784,128) → ReLU → dense(128,10) → softmax + cross-entropy with Adam
 * (lr 0.001) on shuffled mini-batches of 128. Prints the training loss and
 * accuracy of every epoch, with the test set's, then the final test accuracy.
 *
 * Usage: mnist_mlp [DIR] [EPOCHS]     (DIR defaults to data/mnist) */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <bmnn.h>

enum { INPUTS = 784, HIDDEN = 128, CLASSES = 10, BATCH = 128, EPOCHS = 10 };
static const double LR = 0.001;
static const uint64_t MODEL_SEED = 1;
static const char *const DEFAULT_DIR = "data/mnist";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Load DIR/<prefix>-images-idx3-ubyte and its labels into ds. */
static int load(bm_dataset *ds, const char *dir, const char *prefix)
{
    char img[1024], lbl[1024];
    snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte", dir, prefix);
    snprintf(lbl, sizeof lbl, "%s/%s-labels-idx1-ubyte", dir, prefix);
    bm_error err = {0};
    if (bm_data_load_idx(ds, img, lbl, BM_IDX_UNIT, BM_F32, &err) == BM_OK)
        return 1;
    fprintf(stderr, "mnist_mlp: %s\n", err.msg);
    if (err.code == BM_ERR_IO)
        fprintf(stderr, "mnist_mlp: no MNIST files in %s: run tools/fetch_mnist.sh first\n", dir);
    return 0;
}

typedef struct progress {
    double t0;
} progress;

static int on_epoch(void *ud, const bm_epoch_stats *s)
{
    progress *p = ud;
    printf("epoch %llu/%llu: loss %.4g, accuracy %.4f, test loss %.4g, test accuracy %.4f "
           "(%.1f s)\n",
           (unsigned long long)s->epoch + 1, (unsigned long long)s->epochs_total, s->loss,
           s->accuracy, s->val_loss, s->val_accuracy, now() - p->t0);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : DEFAULT_DIR;
    uint64_t epochs = argc > 2 ? strtoull(argv[2], NULL, 10) : EPOCHS;
    if (epochs == 0) {
        fprintf(stderr, "usage: mnist_mlp [DIR] [EPOCHS > 0]\n");
        return 2;
    }
    bm_dataset train = {0}, test = {0};
    if (!load(&train, dir, "train") || !load(&test, dir, "test")) {
        bm_dataset_free(&train);
        return 1;
    }
    printf("mnist_mlp: %zu training and %zu test images of %zu pixels\n", train.x->shape[0],
           test.x->shape[0], train.x->shape[1]);

    bm_error err = {0};
    bm_model *m = bm_model_new(BM_F32, INPUTS, &err);
    bm_layer_spec d1 = bm_dense_spec(INPUTS, HIDDEN), relu = bm_activation_spec(BM_LAYER_RELU),
                  d2 = bm_dense_spec(HIDDEN, CLASSES),
                  soft = bm_activation_spec(BM_LAYER_SOFTMAX);
    d1.init = BM_INIT_HE;
    d2.init = BM_INIT_GLOROT;
    bm_optim_config adam = bm_optim_defaults(BM_OPT_ADAM);
    adam.lr = LR;
    progress p = {now()};
    bm_fit_opts fit = bm_fit_defaults();
    fit.epochs = epochs;
    fit.batch_size = BATCH;
    fit.shuffle = 1;
    fit.val = &test;
    fit.callback = on_epoch;
    fit.callback_ud = &p;
    double loss = 0, acc = 0;
    int ok = m && bm_model_add(m, &d1, &err) == BM_OK && bm_model_add(m, &relu, &err) == BM_OK &&
             bm_model_add(m, &d2, &err) == BM_OK && bm_model_add(m, &soft, &err) == BM_OK &&
             bm_model_set_loss(m, BM_LOSS_SOFTMAX_CCE, &err) == BM_OK &&
             bm_model_set_optimizer(m, &adam, &err) == BM_OK &&
             bm_model_init(m, MODEL_SEED, &err) == BM_OK &&
             bm_model_fit(m, &train, &fit, &err) == BM_OK &&
             bm_model_evaluate(m, &test, &loss, &acc, &err) == BM_OK;
    if (ok)
        printf("test accuracy: %.4f (loss %.4g) after %llu epochs, %.1f s\n", acc, loss,
               (unsigned long long)epochs, now() - p.t0);
    else
        fprintf(stderr, "mnist_mlp: %s\n", err.msg);
    bm_model_free(m);
    bm_dataset_free(&train);
    bm_dataset_free(&test);
    return ok ? 0 : 1;
}
