/* bench_zoo.c — workload Z: one training step (the replayed forward graph,
 * backward, Adam, as W1-W3's replay rows) of each model of the zoo
 * (the model files of examples/zoo), on a random batch of its input's shape and its
 * file's batch size. tools/zoo_torch.py --no-train times the same steps in
 * PyTorch (tools/bench/peer_zoo.py runs both side by side). A model file
 * whose kinds this build lacks is reported and skipped. */
#include <stdio.h>
#include <string.h>

#include "bench_internal.h"

/* Classes of the image models (MNIST's digits). */
#define ZOO_CLASSES 10
/* Vocabulary of the character models (bytes). */
#define ZOO_VOCAB 256

/* A zoo model and what its inputs are. */
typedef struct zoo_spec {
    const char *file;
    int text; /* 1: byte ids [T] -> [T,V] with y [B,T]; 0: images with class labels */
} zoo_spec;

static const zoo_spec ZOO[] = {
    {"mnist_cnn.json", 0},
    {"char_lstm.json", 1},
    {"char_gpt.json", 1},
};
#define N_ZOO (sizeof ZOO / sizeof ZOO[0])

typedef struct zoo_ctx {
    bm_model *m;
    bm_dataset ds;
    bm_tape *tape;
    bm_tensor *loss;
    size_t n_params, esz;
} zoo_ctx;

static int zoo_fail(const char *what, const char *msg)
{
    fprintf(stderr, "bmnn-bench: Z: %s: %s\n", what, msg);
    return -1;
}

/* Record the step's graph once: the batch as leaves, the model, its loss. */
static int zoo_record(zoo_ctx *c)
{
    const bm_dataset *ds = &c->ds;
    bm_dtype dt = bm_model_dtype(c->m);
    bm_tensor *x = bm_tape_leaf(c->tape, dt, ds->x->rank, ds->x->shape, 0);
    bm_tensor *y = bm_tape_leaf(c->tape, dt, ds->y->rank, ds->y->shape, 0);
    if (!x || !y)
        return zoo_fail("batch leaves", bm_tape_error(c->tape));
    memcpy(x->data, ds->x->data, ds->x->size * c->esz);
    memcpy(y->data, ds->y->data, ds->y->size * c->esz);
    c->loss = bm_model_record(c->m, c->tape, x, y, 1, NULL);
    return c->loss ? 0 : zoo_fail("bm_model_record", bm_tape_error(c->tape));
}

/* One step on the replayed graph: forward, zeroed gradients, backward, Adam. */
static int zoo_step(void *ctx)
{
    zoo_ctx *c = ctx;
    bm_error err = {0};
    if (bm_tape_forward(c->tape) != BM_OK)
        return zoo_fail("bm_tape_forward", bm_tape_error(c->tape));
    memset(bm_model_grads(c->m), 0, c->n_params * c->esz);
    if (bm_tape_backward(c->tape, c->loss, NULL) != BM_OK)
        return zoo_fail("bm_tape_backward", bm_tape_error(c->tape));
    if (bm_optim_step(bm_model_optim(c->m), bm_model_params(c->m), bm_model_grads(c->m),
                      c->n_params, &err) != BM_OK)
        return zoo_fail("bm_optim_step", err.msg);
    return 0;
}

/* One batch of B rows: pixels in [0,1) and a class, or ids and next ids. */
static int zoo_batch(zoo_ctx *c, const zoo_spec *s, size_t B, uint64_t seed, bm_error *err)
{
    size_t F = bm_model_n_inputs(c->m);
    size_t xs[2] = {B, F};
    bm_rng rng;
    bm_rng_seed(&rng, seed);
    c->ds.x = bm_tensor_new(bm_model_dtype(c->m), 2, xs, err);
    c->ds.y = c->ds.x ? bm_tensor_new(bm_model_dtype(c->m), s->text ? 2 : 1, xs, err) : NULL;
    if (!c->ds.y)
        return -1;
    c->ds.n_classes = s->text ? ZOO_VOCAB : ZOO_CLASSES;
    for (size_t i = 0; i < c->ds.x->size; i++)
        bm_tensor_set(c->ds.x, i, s->text ? (double)bm_rng_below(&rng, ZOO_VOCAB)
                                          : bm_rng_uniform(&rng));
    for (size_t i = 0; i < c->ds.y->size; i++)
        bm_tensor_set(c->ds.y, i, (double)bm_rng_below(&rng, c->ds.n_classes));
    return 0;
}

/* Time model s into a new row; 1 when the file does not load here. */
static int zoo_one(bench_report *r, const bench_opts *o, const zoo_spec *s)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", BENCH_ZOO_DIR, s->file);
    bm_error err = {0};
    bm_train_settings ts = {0};
    zoo_ctx c = {.m = bm_model_load(path, &ts, &err)};
    if (!c.m) {
        printf("Z: %s skipped: %s\n", s->file, err.msg);
        return 1;
    }
    int rc = -1, threads = o->threads > 0 ? o->threads : 1;
    size_t B = ts.has_batch_size && ts.batch_size ? ts.batch_size : 1;
    c.n_params = bm_model_n_params(c.m);
    c.esz = bm_dtype_size(bm_model_dtype(c.m));
    if (bm_model_set_threads(c.m, threads, &err) != BM_OK ||
        zoo_batch(&c, s, B, o->seed, &err) != 0 || !(c.tape = bm_tape_new()) ||
        bm_tape_set_threads(c.tape, threads, &err) != BM_OK) {
        fprintf(stderr, "bmnn-bench: Z: %s: %s\n", s->file, c.tape ? err.msg : "no memory");
        goto done;
    }
    if (zoo_record(&c) != 0)
        goto done;
    bench_row *row = bench_row_add(r, ROW_STEP, "Z");
    if (!row)
        goto done;
    snprintf(row->label, sizeof row->label, "zoo %.*s b%zu",
             (int)(strlen(s->file) - strlen(".json")), s->file, B);
    snprintf(row->mode, sizeof row->mode, "replay");
    if (bench_measure(zoo_step, &c, o, NULL, &row->t) != 0)
        goto done;
    row->loss = bm_tensor_get(c.loss, 0);
    rc = 0;
done:
    bm_tape_free(c.tape);
    bm_model_free(c.m);
    bm_dataset_free(&c.ds);
    return rc;
}

int bench_zoo(bench_report *r, const bench_opts *o)
{
    for (size_t i = 0; i < N_ZOO; i++)
        if (zoo_one(r, o, &ZOO[i]) < 0)
            return -1;
    return 0;
}
