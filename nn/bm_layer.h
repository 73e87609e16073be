/* bm_layer.h — the layer interface: one vtable per layer kind.
 *
 * A model (bm_model.h) is a graph of named layer nodes. What a node does is
 * its kind's vtable: which spec keys it takes, the shape it makes from its
 * inputs' shapes, the parameter tensors it owns (shapes and initialisers),
 * and how it records its forward onto a tape from the tape's ops. The model
 * does everything else generically from these: allocating one flat parameter
 * buffer, initialising it, L1/L2 penalties, reading and writing the kind's
 * JSON keys, DOT clusters, fit/save/load. Built-in kinds are listed once in
 * nn/layers.def; a new built-in kind is one file defining its vtable plus one
 * line there.
 *
 * Shapes here are per sample: without the leading batch axis. The tensors a
 * layer records with have the batch axis first: a node whose per-sample
 * shape is [C,H,W] gets inputs [B,C,H,W].
 *
 * Ownership: vtables are static constant data; nothing here allocates. */
#ifndef BM_LAYER_H
#define BM_LAYER_H

#include "bm_autograd.h"

#ifdef __cplusplus
extern "C" {
#endif
BM_API_BEGIN

/* Most parameter tensors one layer owns (a transformer block has 12). */
#define BM_LAYER_MAX_PARAMS 16
/* Most inputs of one node (concat, add). */
#define BM_LAYER_MAX_INPUTS 16
/* Most axes of a per-sample shape (one axis of a tensor is the batch). */
#define BM_LAYER_MAX_RANK (BM_MAX_RANK - 1)

/* A per-sample shape. */
typedef struct bm_shape {
    int rank;                         /* 0..BM_LAYER_MAX_RANK */
    size_t dim[BM_LAYER_MAX_RANK];
} bm_shape;

/* How a parameter tensor starts. Biases and norm shifts start at zero. */
typedef enum bm_param_init {
    BM_PINIT_ZEROS = 0,
    BM_PINIT_ONES,
    BM_PINIT_SPEC,      /* the spec's `init` (bm_init: small, glorot, he) with fan_in/fan_out */
    BM_PINIT_UNIFORM,   /* U(±1/√fan_in): torch's default for Linear, Conv, RNN, LSTM, GRU */
    BM_PINIT_NORMAL     /* N(0, std²): torch's default for Embedding (std 1), GPT's 0.02 */
} bm_param_init;

/* What a parameter is for. */
typedef enum bm_param_role {
    BM_ROLE_WEIGHT = 0, /* trained; the spec's l1_weights/l2_weights apply */
    BM_ROLE_BIAS,       /* trained; l1_biases/l2_biases apply */
    BM_ROLE_STATE       /* not trained, no gradient (batch norm's running statistics):
                         * kept in the model's state buffer, saved in checkpoints */
} bm_param_role;

/* One parameter tensor of a layer. */
typedef struct bm_param_desc {
    const char *name;                 /* label suffix: "weights" -> "conv1.weights" */
    int rank;                         /* 1..BM_MAX_RANK (the full shape: no batch axis) */
    size_t shape[BM_MAX_RANK];
    bm_param_init init;
    size_t fan_in, fan_out;           /* BM_PINIT_SPEC, BM_PINIT_UNIFORM */
    double std;                       /* BM_PINIT_NORMAL */
    bm_param_role role;
} bm_param_desc;

struct bm_layer_spec;
struct bm_rng;

/* What a layer's record gets. */
typedef struct bm_layer_call {
    const struct bm_layer_spec *spec;
    bm_tensor *const *in;             /* n_in inputs, batch axis first */
    size_t n_in;
    const bm_shape *in_shapes;        /* their per-sample shapes */
    bm_tensor *const *params;         /* in the order of the vtable's params() */
    size_t n_params;
    int training;                     /* 1: training step (dropout, batch statistics) */
    struct bm_rng *rng;               /* the model's RNG (dropout masks) */
    int feeds_fused_loss;             /* 1: the output goes straight into a loss that
                                       * applies its own final activation (a softmax
                                       * layer before softmax_cce passes its input on) */
} bm_layer_call;

/* A layer kind. Every function pointer but `check` and `defaults` is required. */
typedef struct bm_layer_vt {
    const char *name;                 /* the kind's name in model files: "conv2d" */
    const char *summary;              /* one line for README and `bmnn layers` */
    size_t min_inputs, max_inputs;    /* inputs a node of this kind reads */
    const char *const *keys;          /* NULL-terminated spec keys the kind takes in model
                                       * files (names from bm_layer_keys: "out", "kernel") */
    /* Fill the kind's defaults into *s (s->kind is set; all else zero). */
    void (*defaults)(struct bm_layer_spec *s);
    /* Check the spec's values on their own. A message starting with one
     * of the kind's keys ("rate: 1.5 must be in [0, 1)") is reported at that
     * key ("layers[2].rate: ..."), others after the node ("layers[2]:
     * dense: out 0 ..."); infer's likewise. */
    bm_status (*check)(const struct bm_layer_spec *s, bm_error *err);
    /* The output's per-sample shape from the inputs', or an error naming
     * the shapes ("conv2d: input [3,28,28] has 3 channels, in says 1"). */
    bm_status (*infer)(const struct bm_layer_spec *s, const bm_shape *in, size_t n_in,
                       bm_shape *out, bm_error *err);
    /* The parameter tensors for these input shapes (infer has accepted
     * them): fills up to BM_LAYER_MAX_PARAMS descriptors, returns how many. */
    size_t (*params)(const struct bm_layer_spec *s, const bm_shape *in, size_t n_in,
                     bm_param_desc *out);
    /* Record the forward on the tape; returns the output [B, out shape...],
     * NULL with the tape's error set. */
    bm_tensor *(*record)(bm_tape *tape, const bm_layer_call *c);
    /* Optional: fill the spec fields inferred from the input shapes into
     * the node's stored spec (dense: an `in` of 0 becomes the width), after
     * infer has accepted them. */
    void (*resolve)(struct bm_layer_spec *s, const bm_shape *in, size_t n_in);
} bm_layer_vt;

/* Type of a spec key's value in model files. */
typedef enum bm_key_type {
    BM_KEY_SIZE = 0,  /* non-negative integer (size_t) */
    BM_KEY_SIZE2,     /* n, or [h, w] (size_t[2]) */
    BM_KEY_DOUBLE,    /* finite number */
    BM_KEY_BOOL,      /* true/false (int) */
    BM_KEY_INT,       /* integer, may be negative (int): axes */
    BM_KEY_INIT,      /* "small", "glorot", "he" (bm_init) */
    BM_KEY_SHAPE      /* [d0, d1, ...] per-sample shape (bm_shape) */
} bm_key_type;

/* One spec key: its name in model files, type and place in bm_layer_spec. */
typedef struct bm_layer_key {
    const char *name;
    bm_key_type type;
    size_t offset;                    /* offsetof(bm_layer_spec, field) */
    const char *doc;                  /* one line for MODEL_FORMAT.md */
} bm_layer_key;

/* The spec keys every kind may list (one table for all kinds); *n is set
 * to their number. */
const bm_layer_key *bm_layer_keys(size_t *n);
/* The vtable of a built-in kind, NULL when k is not one. */
const bm_layer_vt *bm_layer_vtable(int kind);

BM_API_END
#ifdef __cplusplus
}
#endif
#endif
