/* optimizing.c — the walk-through's experiments/optimizing.py in C.
 *
 * 300 spiral points (100 per class, 3 classes), a 2-64-3 network (dense,
 * ReLU, dense, softmax + cross-entropy), plain SGD with learning rate 1.0,
 * trained full-batch for 10,000 epochs. The book prints
 *   epoch: 0,loss: 1.099,accuracy: 0.360 ... epoch: 10000,loss: 0.860,...
 * Usage: optimizing [epochs] [print_every] */
#include <stdio.h>
#include <stdlib.h>

#include <bmnn.h>

enum { SAMPLES = 100, CLASSES = 3, HIDDEN = 64, EPOCHS = 10000, PRINT_EVERY = 1000 };
static const uint64_t DATA_SEED = 0, MODEL_SEED = 0;

int main(int argc, char **argv)
{
    uint64_t epochs = argc > 1 ? strtoull(argv[1], NULL, 10) : EPOCHS;
    uint64_t every = argc > 2 ? strtoull(argv[2], NULL, 10) : PRINT_EVERY;
    bm_error err = {0};
    bm_rng rng;
    bm_dataset data = {0};
    bm_rng_seed(&rng, DATA_SEED);
    if (bm_data_spiral(&data, SAMPLES, CLASSES, BM_F32, &rng, &err) != BM_OK) {
        fprintf(stderr, "optimizing: %s\n", err.msg);
        return 1;
    }
    bm_model *m = bm_model_new(BM_F32, 2, &err);
    bm_layer_spec d1 = bm_dense_spec(2, HIDDEN), relu = bm_activation_spec(BM_LAYER_RELU),
                  d2 = bm_dense_spec(HIDDEN, CLASSES);
    bm_optim_config sgd = bm_optim_defaults(BM_OPT_SGD); /* lr 1.0, no decay, no momentum */
    bm_fit_opts fit = bm_fit_defaults();
    fit.epochs = epochs + 1; /* epochs 0..N, as the book's range(10001) */
    fit.print_every = every;
    int ok = m && bm_model_add(m, &d1, &err) == BM_OK && bm_model_add(m, &relu, &err) == BM_OK &&
             bm_model_add(m, &d2, &err) == BM_OK &&
             bm_model_set_loss(m, BM_LOSS_SOFTMAX_CCE, &err) == BM_OK &&
             bm_model_set_optimizer(m, &sgd, &err) == BM_OK &&
             bm_model_init(m, MODEL_SEED, &err) == BM_OK &&
             bm_model_fit(m, &data, &fit, &err) == BM_OK;
    if (!ok)
        fprintf(stderr, "optimizing: %s\n", err.msg);
    bm_model_free(m);
    bm_dataset_free(&data);
    return ok ? 0 : 1;
}
