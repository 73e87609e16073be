/* model_internal.h — the model's private layout (not installed).
 *
 * A model is its inputs, a list of layer nodes in insertion order (a
 * topological order: a node reads only inputs and earlier nodes), its
 * outputs and one loss. Everything a node does comes from its kind's
 * vtable (bm_layer.h); nothing here names a kind. */
#ifndef BM_MODEL_INTERNAL_H
#define BM_MODEL_INTERNAL_H

#include <math.h>

#include "bm_model.h"
#include "fit_shared_internal.h"

/* Recorded training graphs kept for replay: full batches and the last,
 * shorter batch of an epoch. */
#define BM_MODEL_GRAPHS 2
/* Rows per evaluation/prediction chunk (bounds the eval tape's memory). */
#define BM_EVAL_CHUNK 1024
/* Room for a label: a node name, "." or ": ", a parameter or kind name. */
#define BM_LAYER_NAME_LEN (BM_NODE_NAME_MAX + 32)

/* A model input: its name, per-sample shape, width (the shape's product)
 * and first column in a data set's feature rows. */
typedef struct bm_model_input {
    char name[BM_NODE_NAME_MAX];
    bm_shape shape;
    size_t width, col;
} bm_model_input;

/* A node's source: >= 0 an earlier node's index, < 0 model input -(src + 1). */
typedef int bm_node_src;

typedef struct bm_layer {
    char name[BM_NODE_NAME_MAX];
    const bm_layer_vt *vt;
    bm_layer_spec spec;
    size_t n_in;
    bm_node_src src[BM_LAYER_MAX_INPUTS];
    bm_shape shape;                /* the output's per-sample shape */
    int share;                     /* node whose parameters this one uses; -1: its own */
    size_t consumers;              /* inputs of later nodes that read this one */
    size_t n_params;
    /* One block per node with parameters (NULL when none; freed through pd):
     * n_params descriptors, their tensors — views into the flat buffers
     * (the shared node's when share >= 0: not freed) — and their labels. */
    bm_param_desc *pd;
    bm_tensor **params;
    char (*pname)[BM_LAYER_NAME_LEN];
    char group[BM_LAYER_NAME_LEN];
    size_t node_lo, node_hi;       /* tape positions of the last recording */
    int has_nodes;
    size_t param_lo;               /* offset of its parameters in the flat buffer (of the
                                      next layer's when it has none): ascending */
} bm_layer;

/* One recorded training step that can be replayed. */
typedef struct bm_step_graph {
    bm_tape *tape;
    bm_tensor *xs[BM_MODEL_MAX_INPUTS]; /* batch leaves in the tape's arena, one per input */
    bm_tensor *y;
    size_t batch;                  /* rows; 0 = nothing recorded */
    bm_step_losses losses;
} bm_step_graph;

struct bm_model {
    bm_dtype dtype;
    size_t n_inputs;               /* the sum of the inputs' widths */
    bm_model_input inputs[BM_MODEL_MAX_INPUTS];
    size_t n_in;
    bm_layer *layers;
    size_t n_layers, cap;
    size_t *index;                 /* open-addressing hash of node names: index + 1, 0 empty */
    size_t index_cap;              /* a power of two, > 2 * n_layers */
    int outputs[BM_MODEL_MAX_OUTPUTS];
    size_t n_out;                  /* 0: the last node */
    bm_loss_kind loss;
    bm_optim_config ocfg;
    int has_ocfg;
    bm_optim *opt;
    void *params, *grads;
    size_t n_params;
    void *state;                   /* BM_ROLE_STATE tensors (no gradient) */
    size_t n_state;
    bm_tensor **vals;              /* n_layers node outputs of a recording */
    int *tgroup;                   /* parameter group of each owned trained tensor, in
                                      buffer order (-1: none); NULL without groups */
    size_t *gfirst;                /* per group: its first range in the optimizer */
    size_t n_groups;
    bm_rng rng;
    uint64_t epoch;
    bm_step_graph graphs[BM_MODEL_GRAPHS];
    bm_tape *eval_tape;
    size_t *perm;                  /* row order of the current epoch */
    size_t perm_len;
};

/* How the loss sees output 0 of per-sample shape S: `positions` rows of
 * `classes` values each (classes = S's last axis, positions = the product
 * of the others: > 1 for sequence models), and `width` = their product. */
typedef struct bm_loss_layout {
    size_t positions, classes, width;
} bm_loss_layout;

/* Drop the model's parameter groups (the optimizer is replaced). */
void bm_model_drop_groups(bm_model *m);

/* bm_model_add_node_vt for a model file: messages start with the node's
 * JSON path (path, e.g. "nodes[3]"; ".name", ".inputs[k]" or ".KEY" added
 * where the problem is) and end with the node's name. */
bm_status bm_model_add_node_at(bm_model *m, const char *path, const char *name,
                               const bm_layer_vt *vt, const bm_layer_spec *spec, size_t n_in,
                               const char *const *inputs, bm_error *err);

/* Width of output 0 (its per-sample element count). */
size_t bm_model_width(const bm_model *m);
/* Index of output k's node. */
size_t bm_model_out_node(const bm_model *m, size_t k);
/* The loss layout of output 0. */
bm_loss_layout bm_model_loss_layout(const bm_model *m);
/* Whether loss k takes class targets (cce, softmax_cce). */
int bm_loss_categorical(bm_loss_kind k);
/* Record the graph on tape for one batch leaf per input (xs[k] of shape
 * [B, input k's shape]) and the loss on y, as bm_model_record. */
bm_tensor *bm_model_record_leaves(bm_model *m, bm_tape *tape, bm_tensor *const *xs,
                                  bm_tensor *y, int training, bm_step_losses *losses);
/* Copy, for rows idx[start..start+B) of src (start..start+B when idx is
 * NULL), w values from column col into dst's rows. */
void bm_gather_rows(bm_tensor *dst, const bm_tensor *src, const size_t *idx, size_t start,
                    size_t B, size_t col, size_t w);

#endif
