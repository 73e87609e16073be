/* dist_spiral.c — data-parallel training in a program of one's own, over
 * MPI: every rank builds the same model and data, bm_dist_fit_mpi trains
 * it with 4 shards per batch, and rank 0 prints the result with a hash of
 * the parameters — the same line for mpirun -np 1, 2 and 4
 * (tests/test_mpi.sh compares them). Built with -Dmpi. */
#include <stdio.h>

#include <mpi.h>

#include <bmnn.h>
#include <bm_dist_mpi.h>

/* The spiral: classes × samples rows of 2 features. */
#define SAMPLES 100
#define CLASSES 3
#define DATA_SEED 7
/* 2-HIDDEN-3 with ReLU, Adam. */
#define HIDDEN 32
#define LR 0.02
#define INIT_SEED 1
/* Batches of 60 rows (5 per epoch), 4 shards of 15: any N dividing 4. */
#define BATCH 60
#define SHARDS 4
#define EPOCHS 50

/* Build the model; BM_OK or err set. */
static bm_status build(bm_model *m, bm_error *err)
{
    bm_layer_spec d1 = bm_dense_spec(2, HIDDEN), d2 = bm_dense_spec(HIDDEN, CLASSES);
    bm_layer_spec relu = bm_activation_spec(BM_LAYER_RELU);
    bm_optim_config oc = bm_optim_defaults(BM_OPT_ADAM);
    bm_status s;
    d1.init = d2.init = BM_INIT_GLOROT;
    oc.lr = LR;
    if ((s = bm_model_add(m, &d1, err)) != BM_OK || (s = bm_model_add(m, &relu, err)) != BM_OK ||
        (s = bm_model_add(m, &d2, err)) != BM_OK ||
        (s = bm_model_set_loss(m, BM_LOSS_SOFTMAX_CCE, err)) != BM_OK ||
        (s = bm_model_set_optimizer(m, &oc, err)) != BM_OK)
        return s;
    return bm_model_init(m, INIT_SEED, err);
}

int main(int argc, char **argv)
{
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS)
        return 1;
    int rank = 0, rc = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    bm_error err = {0};
    bm_dataset ds = {0};
    bm_rng rng;
    bm_rng_seed(&rng, DATA_SEED);
    bm_model *m = bm_model_new(BM_F32, 2, &err);
    bm_dist_opts o = bm_dist_defaults();
    o.fit.epochs = EPOCHS;
    o.fit.batch_size = BATCH;
    o.fit.shuffle = 1;
    o.shards = SHARDS;
    bm_dist_stats st;
    double loss = 0, acc = 0;
    if (m && bm_data_spiral(&ds, SAMPLES, CLASSES, BM_F32, &rng, &err) == BM_OK &&
        build(m, &err) == BM_OK &&
        bm_dist_fit_mpi(m, &ds, &o, MPI_COMM_WORLD, &st, &err) == BM_OK &&
        bm_model_evaluate(m, &ds, &loss, &acc, &err) == BM_OK) {
        uint64_t h = bm_dist_hash(BM_DIST_HASH_INIT, bm_model_params(m),
                                  bm_model_n_params(m) * sizeof(float));
        if (rank == 0)
            printf("%llu steps, loss %.6f, accuracy %.3f, parameters %016llx\n",
                   (unsigned long long)st.steps, loss, acc, (unsigned long long)h);
        rc = 0;
    } else {
        fprintf(stderr, "dist_spiral: rank %d: %s\n", rank, err.msg);
    }
    bm_model_free(m);
    bm_dataset_free(&ds);
    MPI_Finalize();
    return rc;
}
