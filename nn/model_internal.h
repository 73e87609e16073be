/* model_internal.h — the model's private layout (not installed). */
#ifndef BM_MODEL_INTERNAL_H
#define BM_MODEL_INTERNAL_H

#include <math.h>

#include "bm_model.h"

/* Recorded training graphs kept for replay: full batches and the last,
 * shorter batch of an epoch. */
#define BM_MODEL_GRAPHS 2
/* Rows per evaluation/prediction chunk (bounds the eval tape's memory). */
#define BM_EVAL_CHUNK 1024
/* Room for a layer's labels ("layers[123].weights"). */
#define BM_LAYER_NAME_LEN 40

typedef struct bm_layer {
    bm_layer_spec spec;
    bm_tensor *W, *b;              /* views into the flat buffers (dense) */
    char wname[BM_LAYER_NAME_LEN], bname[BM_LAYER_NAME_LEN];
    char group[BM_LAYER_NAME_LEN];
    size_t node_lo, node_hi;       /* tape positions of the last recording */
    int has_nodes;
    size_t param_lo;               /* offset of its parameters in the flat buffer (of the
                                      next layer's when it has none): ascending */
} bm_layer;

/* One recorded training step that can be replayed. */
typedef struct bm_step_graph {
    bm_tape *tape;
    bm_tensor *x, *y;              /* batch leaves in the tape's arena */
    size_t batch;                  /* rows; 0 = nothing recorded */
    bm_step_losses losses;
} bm_step_graph;

struct bm_model {
    bm_dtype dtype;
    size_t n_inputs;
    bm_layer *layers;
    size_t n_layers, cap;
    bm_loss_kind loss;
    bm_optim_config ocfg;
    int has_ocfg;
    bm_optim *opt;
    void *params, *grads;
    size_t n_params;
    bm_rng rng;
    uint64_t epoch;
    bm_step_graph graphs[BM_MODEL_GRAPHS];
    bm_tape *eval_tape;
    size_t *perm;                  /* row order of the current epoch */
    size_t perm_len;
};

/* Population standard deviation of t's elements. */
double bm_tensor_std(const bm_tensor *t);
/* Width of the activations after the last dense layer. */
size_t bm_model_width(const bm_model *m);

#endif
