/* bm_model.h — layers, losses, metrics and graph models.
 *
 * A model is a graph: named inputs with per-sample shapes, named layer
 * nodes added in order (each reads inputs or earlier nodes, so the graph
 * is a DAG by construction; what a node does is its kind's vtable,
 * bm_layer.h), outputs, and one loss on output 0, trained by one
 * optimizer. bm_model_add is the sequential shorthand. Everything is
 * composed from the tape's ops: a training step records (or replays) the
 * forward graph, runs the tape's backward and lets the optimizer update one
 * contiguous parameter buffer from its parallel gradient buffer. nn/ has no
 * hand-written backward passes.
 *
 * Ownership: bm_model_new() returns a model the caller frees with
 * bm_model_free(); the model owns its parameters, optimizer, tapes and
 * batch buffers. Data sets stay the caller's; vtables given to
 * bm_model_add_node_vt must outlive the model. */
#ifndef BM_MODEL_H
#define BM_MODEL_H

#include <signal.h>

#include "bm_autograd.h"
#include "bm_data.h"
#include "bm_layer.h"
#include "bm_optim.h"

#ifdef __cplusplus
extern "C" {
#endif
BM_API_BEGIN

/* Std of the walk-through's weight initialiser (0.01·randn). */
#define BM_INIT_SMALL_STD 0.01
/* Binary accuracy threshold. */
#define BM_BINARY_THRESHOLD 0.5
/* Regression accuracy: |ŷ − y| < std(y) / BM_REGRESSION_PRECISION_DIV (the book's). */
#define BM_REGRESSION_PRECISION_DIV 250.0
/* Room for a node or input name, with its NUL ("layers[12]", "conv1"). */
#define BM_NODE_NAME_MAX 64
/* Most inputs, and most outputs, of one model. */
#define BM_MODEL_MAX_INPUTS 16
#define BM_MODEL_MAX_OUTPUTS 16

/* Layer kinds, one per line of layers.def (its vtable: bm_layer.h). */
typedef enum bm_layer_kind {
#define BM_LAYER(id, vt) BM_LAYER_##id,
#include "layers.def"
#undef BM_LAYER
    BM_LAYER_KIND_COUNT,               /* the number of built-in kinds */
    BM_LAYER_LINEAR = BM_LAYER_IDENTITY /* the old name of BM_LAYER_IDENTITY */
} bm_layer_kind;

/* Weight initialisers (biases start at zero). */
typedef enum bm_init {
    BM_INIT_SMALL = 0, /* 0.01·N(0,1), the walk-through's */
    BM_INIT_GLOROT,    /* U(±√(6/(in+out))) */
    BM_INIT_HE         /* N(0, 2/in) */
} bm_init;

/* One layer's description. Fields a kind does not use are ignored. */
typedef struct bm_layer_spec {
    bm_layer_kind kind;
    size_t in, out;           /* dense: weights [in,out], biases [1,out] */
    bm_init init;             /* dense */
    double l1_weights, l2_weights, l1_biases, l2_biases; /* dense, >= 0 */
    double rate;              /* dropout rate in [0,1) */
    /* Since the graph models (format 2). Each kind's defaults are filled by
     * bm_layer_default(kind); a field a kind does not list in its vtable's
     * keys is ignored. `in`/`out` above also serve: in = input features or
     * channels (0: inferred from the graph), embedding rows (vocabulary);
     * out = output features, channels, embedding width, hidden size. */
    size_t kernel[2];         /* conv/pool window (h, w); 1-D kinds use [0] */
    size_t stride[2];         /* conv/pool step (pool default: the kernel) */
    size_t padding[2];        /* zeros added on each side */
    size_t dilation[2];       /* conv tap spacing (1) */
    size_t groups;            /* conv channel groups (1); group_norm groups */
    int bias;                 /* 1: the kind's bias / affine shift exists (default 1) */
    int affine;               /* norms: learned scale (and shift with bias) (1) */
    size_t heads;             /* attention heads */
    size_t hidden;            /* transformer MLP width (default 4·width) */
    int causal;               /* attention: position t sees positions <= t only */
    double eps;               /* norms (1e-5) */
    double momentum;          /* batch norm running statistics (0.1, as torch) */
    double alpha;             /* leaky_relu slope (0.01), elu alpha (1), softplus beta (1) */
    int approximate;          /* gelu: 1 = tanh form, 0 = erf (exact) */
    int axis;                 /* concat: per-sample axis (negative from the end) */
    bm_shape shape;           /* reshape: per-sample target shape */
    int sequences;            /* rnn/lstm/gru: 1 = output every step [T,H], 0 = last [H] */
    size_t bptt;              /* rnn/lstm/gru: truncate backprop every this many steps (0: never) */
} bm_layer_spec;

/* Losses, one per line of losses.def (cce, softmax_cce, bce, mse, mae). */
typedef enum bm_loss_kind {
#define BM_LOSS(id, name, builder, classes, summary) BM_LOSS_##id,
#include "losses.def"
#undef BM_LOSS
    BM_LOSS_KIND_COUNT /* the number of losses */
} bm_loss_kind;

/* Name of a layer kind ("dense", "relu", ...). */
const char *bm_layer_kind_name(bm_layer_kind k);
/* Parse a layer kind name, or an alias kept for old files ("linear": identity). */
bm_status bm_layer_kind_parse(const char *s, bm_layer_kind *k, bm_error *err);
/* Name of an initialiser ("small", "glorot", "he"). */
const char *bm_init_name(bm_init i);
/* Parse an initialiser name. */
bm_status bm_init_parse(const char *s, bm_init *i, bm_error *err);
/* Name of a loss ("cce", "softmax_cce", "bce", "mse", "mae"). */
const char *bm_loss_name(bm_loss_kind k);
/* Parse a loss name. */
bm_status bm_loss_parse(const char *s, bm_loss_kind *k, bm_error *err);
/* A spec of kind k with that kind's defaults (bm_layer_vt.defaults); an
 * unknown kind gives a spec of that kind with every field zero. */
bm_layer_spec bm_layer_default(bm_layer_kind k);
/* A dense spec with the walk-through's initialiser and no regularization. */
bm_layer_spec bm_dense_spec(size_t in, size_t out);
/* An activation, identity or dropout spec. */
bm_layer_spec bm_activation_spec(bm_layer_kind k);
/* A dropout spec. */
bm_layer_spec bm_dropout_spec(double rate);

typedef struct bm_model bm_model;

/* New empty model, parameters in dt, with one input "input" of per-sample
 * shape [n_inputs]. */
bm_model *bm_model_new(bm_dtype dt, size_t n_inputs, bm_error *err);
/* Free the model and everything it owns; NULL is fine. */
void bm_model_free(bm_model *m);
/* Give input 0 the per-sample shape *shape ([1,28,28] for a CNN, [T] for
 * token ids); its product must be input 0's width. Before any node. */
bm_status bm_model_set_input_shape(bm_model *m, const bm_shape *shape, bm_error *err);
/* Add another input `name` of per-sample shape *shape (before any node). A
 * data set's feature rows [N, sum of the widths] are split over the inputs
 * in order; bm_model_n_inputs is that sum. */
bm_status bm_model_add_input(bm_model *m, const char *name, const bm_shape *shape,
                             bm_error *err);
/* Append node `name` of the built-in kind spec->kind reading the n_in
 * nodes or model inputs named in `inputs` (names of earlier nodes: the
 * graph is a DAG by construction). Checks the spec (vt->check), the input
 * count, and infers the node's per-sample shape (vt->infer); errors start
 * with `nodes[i] "name"`. Not allowed once parameters exist. */
bm_status bm_model_add_node(bm_model *m, const char *name, const bm_layer_spec *spec,
                            size_t n_in, const char *const *inputs, bm_error *err);
/* Same with a kind of the caller's (vt must outlive the model; spec->kind
 * is ignored): a custom layer trains, predicts and records like a built-in. */
bm_status bm_model_add_node_vt(bm_model *m, const char *name, const bm_layer_vt *vt,
                               const bm_layer_spec *spec, size_t n_in,
                               const char *const *inputs, bm_error *err);
/* Sequential shorthand: append node "layers[i]" (i = the node count)
 * reading the previous node, or input 0 for the first (a dense `in` of 0
 * is inferred; another must equal the width before it). */
bm_status bm_model_add(bm_model *m, const bm_layer_spec *spec, bm_error *err);
/* The model's outputs: n node names (default: the last node). The loss
 * and bm_model_predict use output 0. Before bm_model_init. */
bm_status bm_model_set_outputs(bm_model *m, size_t n, const char *const *names,
                               bm_error *err);
/* Weight tying: node `node` uses node `other`'s parameter tensors (same
 * kind, same parameter shapes; counted once in the flat buffer, so the
 * gradient is the sum over both uses). Before bm_model_init. */
bm_status bm_model_share(bm_model *m, const char *node, const char *other, bm_error *err);
/* Set the loss. */
bm_status bm_model_set_loss(bm_model *m, bm_loss_kind loss, bm_error *err);
/* Set the optimizer (replaces one that exists, dropping its state, its
 * schedule and its clipping). */
bm_status bm_model_set_optimizer(bm_model *m, const bm_optim_config *cfg, bm_error *err);
/* Train with optimizer o from now on, taken over (the model frees it; on
 * error it stays the caller's): a flat optimizer of the model's dtype over
 * exactly bm_model_n_params elements, typically bm_optim_new_groups with
 * ranges of bm_model_params (bm_model_param_range), or one given a
 * schedule or clipping. After bm_model_init. The model's
 * config becomes o's. Model files save o's config, schedule and clipping
 * (and, when o has one group, that group's lr and weight decay), not its
 * groups: such a file loads back with one group. */
bm_status bm_model_use_optim(bm_model *m, bm_optim *o, bm_error *err);
/* Where parameter tensor t (bm_model_weights, bm_model_biases) lies in
 * the flat parameter buffer: elements [*offset, *offset + *count), the
 * range for bm_optim_group_range. BM_ERR_ARG for a tensor that is not in
 * the buffer. */
bm_status bm_model_param_range(bm_model *m, const bm_tensor *t, size_t *offset, size_t *count,
                               bm_error *err);
/* One parameter group: parameters named by label ("conv1.weights") and/or
 * every trained parameter of whole nodes, trained with their own settings. */
typedef struct bm_param_group {
    const char *const *params;  /* n_params labels (may be NULL when n_params is 0) */
    size_t n_params;
    const char *const *nodes;   /* n_nodes node names */
    size_t n_nodes;
    double lr;                  /* base learning rate, finite and > 0 */
    double weight_decay;        /* finite and >= 0 (as bm_optim_config's) */
    int frozen;                 /* 1: never updated */
} bm_param_group;

/* Train in parameter groups (after bm_model_init, with an optimizer set):
 * the optimizer becomes one over these groups (a parameter in at most one;
 * the others keep the optimizer's lr and weight decay), keeping its
 * config, schedule, clipping, step count and every parameter's state
 * (Adam's moments, momentum): setting groups again, with the same or new
 * settings, trains on as bm_optim_group_set would, bit for bit. Model
 * files store the groups ("groups"). BM_ERR_ARG naming the group and the
 * parameter or node for an unknown or repeated one; nothing changes on error. */
bm_status bm_model_set_param_groups(bm_model *m, size_t n, const bm_param_group *groups,
                                    bm_error *err);
/* Number of parameter groups set (0: none; bm_model_set_optimizer and
 * bm_model_use_optim drop them). */
size_t bm_model_n_param_groups(const bm_model *m);
/* Group g's settings now (each pointer may be NULL); BM_ERR_ARG out of range. */
bm_status bm_model_param_group_get(const bm_model *m, size_t g, double *lr, double *weight_decay,
                                   int *frozen, bm_error *err);
/* The parameter group of trained parameter t: 0..n-1, or -1 (none, or not a parameter). */
int bm_model_param_group_of(const bm_model *m, const bm_tensor *t);
/* Allocate the parameter buffer and initialise every dense layer from the
 * model's RNG seeded with `seed`. Needs at least one layer. */
bm_status bm_model_init(bm_model *m, uint64_t seed, bm_error *err);

/* Re-draw every dense layer's weights from the RNG seeded with `seed`,
 * zero the biases, the optimizer state and the epoch counter (a fresh start
 * of an initialised model, e.g. `bmnn train --seed`). */
bm_status bm_model_reset_params(bm_model *m, uint64_t seed, bm_error *err);

/* Threads for training, evaluation and prediction (1..BM_MAX_THREADS; 1,
 * the default, starts none): applied to the training and evaluation tapes (see
 * bm_tape_set_threads; each tape keeps its own sleeping workers). Results
 * are bit-identical for any thread count (with -Dblas=enabled: for the same
 * thread count). */
bm_status bm_model_set_threads(bm_model *m, int threads, bm_error *err);
/* The model's thread setting (1 for NULL). */
int bm_model_threads(const bm_model *m);

/* The profile of the model's training steps (bm_fit_opts.profile), its
 * training tapes' rows merged by op name and phase, most seconds first: *n
 * is set to their number and the first min(*n, max) are written to rows
 * (see bm_tape_profile). Counts add up over fit calls until
 * bm_model_profile_reset. BM_ERR_NULL for a NULL m or n, BM_ERR_NOMEM. */
bm_status bm_model_profile(const bm_model *m, bm_profile_row *rows, size_t max, size_t *n);
/* Print that profile as bm_profile_print does. */
bm_status bm_model_profile_print(const bm_model *m, FILE *f);
/* Zero the counts of the model's profile. */
void bm_model_profile_reset(bm_model *m);

/* Number of layers (nodes). */
size_t bm_model_n_layers(const bm_model *m);
/* Spec of layer (node) i (NULL when out of range). */
const bm_layer_spec *bm_model_layer(const bm_model *m, size_t i);
/* The first weight (BM_ROLE_WEIGHT) parameter of node i: a dense layer's
 * [in,out] (NULL for kinds without one or before init). */
bm_tensor *bm_model_weights(bm_model *m, size_t i);
/* The first bias (BM_ROLE_BIAS) parameter of node i: a dense layer's [1,out]. */
bm_tensor *bm_model_biases(bm_model *m, size_t i);
/* Name of node i ("layers[1]", "conv1"); NULL when out of range. */
const char *bm_model_node_name(const bm_model *m, size_t i);
/* Index of the node called name; bm_model_n_layers(m) when there is none. */
size_t bm_model_node_find(const bm_model *m, const char *name);
/* The kind (vtable) of node i; NULL when out of range. */
const bm_layer_vt *bm_model_node_vt(const bm_model *m, size_t i);
/* The per-sample output shape of node i; NULL when out of range. */
const bm_shape *bm_model_node_shape(const bm_model *m, size_t i);
/* Number of inputs node i reads (0 when out of range). */
size_t bm_model_node_n_inputs(const bm_model *m, size_t i);
/* Name (a node's or a model input's) of input k of node i; NULL when out of range. */
const char *bm_model_node_input(const bm_model *m, size_t i, size_t k);
/* Name of the node whose parameters node i uses (bm_model_share); NULL when its own. */
const char *bm_model_node_shares(const bm_model *m, size_t i);
/* Number of parameter tensors of node i (its kind's, shared or not). */
size_t bm_model_node_n_params(const bm_model *m, size_t i);
/* Descriptor (name, shape, init, role) of parameter k of node i; NULL when out of range. */
const bm_param_desc *bm_model_node_param_desc(const bm_model *m, size_t i, size_t k);
/* Parameter k of node i (NULL before init or out of range). */
bm_tensor *bm_model_node_param(bm_model *m, size_t i, size_t k);
/* The parameter called "NODE.NAME" ("conv1.weights", "layers[0].biases");
 * NULL when there is none or before init. */
bm_tensor *bm_model_param(bm_model *m, const char *label);
/* Number of model inputs (1 for bm_model_new). */
size_t bm_model_input_count(const bm_model *m);
/* Name of model input k ("input"); NULL when out of range. */
const char *bm_model_input_name(const bm_model *m, size_t k);
/* Per-sample shape of model input k; NULL when out of range. */
const bm_shape *bm_model_input_shape(const bm_model *m, size_t k);
/* Number of model outputs (1 once a node exists). */
size_t bm_model_output_count(const bm_model *m);
/* Name of output k's node; NULL when out of range. */
const char *bm_model_output_name(const bm_model *m, size_t k);
/* Number of state values (BM_ROLE_STATE tensors: batch norm's running
 * statistics; not trained, saved in checkpoints). */
size_t bm_model_n_state(const bm_model *m);
/* The flat state buffer (n_state elements; NULL when there are none). */
void *bm_model_state(bm_model *m);
/* The accessors below answer a NULL model with BM_F32, 0, NULL or the
 * first loss kind (nothing for bm_model_set_epoch). */
/* Element type of the parameters. */
bm_dtype bm_model_dtype(const bm_model *m);
/* Input width. */
size_t bm_model_n_inputs(const bm_model *m);
/* Output width: the per-sample element count of output 0 (a dense
 * classifier's classes). */
size_t bm_model_n_outputs(const bm_model *m);
/* The loss. */
bm_loss_kind bm_model_loss(const bm_model *m);
/* Positions per sample the loss sees in output 0: T for an output [T, classes]
 * of a sequence model with a class loss (targets [N,T]), 1 otherwise (and for NULL). */
size_t bm_model_n_positions(const bm_model *m);
/* A copy of m's graph in dtype dt: inputs, nodes (custom kinds too), tying,
 * outputs, loss and optimizer settings, and, when m is initialised, its
 * parameter and state values (converted), RNG and epoch — not its
 * optimizer's state. A new model the caller frees, or NULL with err set. */
bm_model *bm_model_clone(const bm_model *m, bm_dtype dt, bm_error *err);
/* Total parameter count. */
size_t bm_model_n_params(const bm_model *m);
/* The flat parameter and gradient buffers (n_params elements each). */
void *bm_model_params(bm_model *m);
void *bm_model_grads(bm_model *m);
/* The optimizer (NULL before bm_model_set_optimizer + init). */
bm_optim *bm_model_optim(bm_model *m);
/* The model's RNG (shuffling, dropout); its state is saved in checkpoints. */
bm_rng *bm_model_rng(bm_model *m);
/* Epochs trained so far. */
uint64_t bm_model_epoch(const bm_model *m);
/* Set the epoch counter (checkpoint restore). */
void bm_model_set_epoch(bm_model *m, uint64_t epoch);
/* Group label of a tensor of the model's last recorded graph ("layers[1]: relu"),
 * NULL when it belongs to no layer; fits bm_graph_opts.group (ud = the model). */
const char *bm_model_group(void *model, const bm_tensor *t);

/* The losses of a recorded step. */
typedef struct bm_step_losses {
    bm_tensor *total;   /* data + regularization (what backward starts from) */
    bm_tensor *data;    /* the loss function's value */
    bm_tensor *reg;     /* sum of L1/L2 penalties, NULL when there are none */
    bm_tensor *output;  /* the network's output 0 as the loss sees it (logits for
                         * softmax_cce): [B, width], or [B*T, classes] for outputs
                         * [T, classes] of sequence models */
    bm_tensor *targets; /* the targets as the loss sees them (y, or y [B,T] as [B*T]) */
} bm_step_losses;

/* Record the model's forward graph on `tape` for inputs x [B,F] (F the sum
 * of the inputs' widths: split over the inputs by columns, each reshaped
 * to [B, its shape]) and, when y is not NULL, its loss on output 0
 * (targets as bm_dataset.y rows). Nodes are recorded in insertion order,
 * each by its kind's vtable. training=1 applies dropout. Returns the total loss (or, with y NULL, the predictions:
 * softmax of logits for softmax_cce), NULL on error (tape error set). */
bm_tensor *bm_model_record(bm_model *m, bm_tape *tape, bm_tensor *x, bm_tensor *y,
                           int training, bm_step_losses *losses);
/* Same with one tensor per model input: xs[k] [B, input k's shape]. */
bm_tensor *bm_model_record_inputs(bm_model *m, bm_tape *tape, bm_tensor *const *xs,
                                  bm_tensor *y, int training, bm_step_losses *losses);

/* Statistics of one epoch, passed to the fit callback. NaN where absent. */
typedef struct bm_epoch_stats {
    uint64_t epoch;      /* 0-based, counted over the model's lifetime */
    uint64_t epochs_total; /* the epoch count this fit runs to */
    double loss, data_loss, reg_loss, accuracy, lr;
    double val_loss, val_accuracy;
} bm_epoch_stats;

/* Called after each epoch, when bm_model_epoch() already counts it (so a
 * checkpoint saved here resumes at the next epoch); return non-zero to stop. */
typedef int (*bm_fit_callback)(void *ud, const bm_epoch_stats *s);

/* One training step, passed to the step hook. */
typedef struct bm_step_stats {
    uint64_t step;   /* 0-based optimizer step: its iteration count before the update */
    uint64_t epoch;  /* 0-based epoch the step belongs to (as bm_epoch_stats.epoch) */
    size_t batch;    /* rows in the batch */
    double loss;     /* the batch's total loss, computed before the update */
    double lr;       /* learning rate the update used (group 0's) */
} bm_step_stats;

/* Called after each optimizer update; return non-zero to stop training:
 * fit then returns BM_OK at once with the parameters of that update; the
 * unfinished epoch is not counted, printed nor passed to the callback. */
typedef int (*bm_fit_step_hook)(void *ud, const bm_step_stats *s);

/* Training settings; bm_fit_defaults() fills them. */
typedef struct bm_fit_opts {
    uint64_t epochs;         /* epochs to run in this call */
    size_t batch_size;       /* 0 = full batch */
    int shuffle;             /* reshuffle each epoch (model RNG) */
    const bm_dataset *val;   /* validation set, or NULL */
    double val_split;        /* used when val is NULL: last fraction held out */
    uint64_t print_every;    /* print "epoch: E, loss: ..." to `log` every N (0 = never) */
    FILE *log;               /* where to print (stdout when NULL and print_every > 0) */
    bm_fit_callback callback;
    void *callback_ud;
    int replay;              /* reuse recorded graphs when shapes repeat (1) */
    int detect_anomaly;      /* 1: anomaly detection on the training tapes (slower): the
                              * first NaN/Inf an op makes stops fit with the tape's message
                              * naming the op (bm_tape_set_detect_anomaly); 0 by default */
    const volatile sig_atomic_t *stop; /* NULL, or a flag (e.g. set by a signal handler)
                              * read before every step: non-zero stops fit there with
                              * BM_ERR_INTERRUPTED (see bm_model_fit) */
    int profile;             /* 1: profile the training steps (bm_tape_set_profile on the
                              * training tapes; read with bm_model_profile_print); 0 by default */
    int plan_memory;         /* 1: plan the training tapes' memory (bm_tape_set_memory_plan:
                              * buffers whose lifetimes do not overlap share memory, the same
                              * bits; with replay the step is recorded dry and planned before
                              * it runs, so even the first step holds only the plan); 0 by
                              * default. The step's losses, output and targets stay readable. */
    bm_fit_step_hook step_hook; /* after every update (NULL: none) */
    void *step_hook_ud;
    uint64_t early_stop;     /* patience: stop after this many epochs in a row whose
                              * val_loss is not below the lowest of this call (0: never);
                              * needs validation data (val or val_split) */
    bm_fit_callback on_best; /* after each epoch whose val_loss is the lowest of this call
                              * so far, after `callback` (the model then holds the best
                              * parameters: save it there to keep the best); needs
                              * validation data; non-zero stops (NULL: none) */
    void *on_best_ud;
} bm_fit_opts;

/* Check a data set against the model before anything runs on it: features
 * [N, inputs] (or [N, input shape...] for a model of one input), N target rows, and targets in the loss's domain: class
 * numbers 0..outputs-1, or one-hot/soft rows of `outputs` values in [0, 1],
 * for cce/softmax_cce; values in [0, 1] for bce; one column per output for
 * bce/mse/mae. For an output 0 of per-sample shape [T, classes] (T > 1:
 * sequence models) targets are class numbers [N, T] (the loss is the mean
 * over all N·T positions). BM_ERR_SHAPE or BM_ERR_ARG naming the row and column
 * ("training data: row 3, column 0 has target 2; bce targets must be in
 * [0, 1]"); `what` names the data (NULL: "data"). bm_model_fit,
 * bm_model_evaluate and `bmnn gradcheck --data` call it. */
bm_status bm_model_check_data(const bm_model *m, const bm_dataset *ds, const char *what,
                              bm_error *err);

/* Default training settings: 1 epoch, full batch, no shuffle, replay on,
 * no early stopping. */
bm_fit_opts bm_fit_defaults(void);
/* Train. Stops with BM_ERR_NUMERIC naming the epoch when the loss becomes
 * NaN or Inf (no update is made from it), when an update makes a parameter
 * NaN or Inf, or (detect_anomaly) at the first NaN/Inf of any op. The
 * parameters are then finite and the message says which they are: those
 * of the last finite step (the usual case), or, when an update had made
 * one NaN/Inf, those at the start of the failing epoch (restored from a
 * copy taken each epoch). The epoch counter counts the completed epochs;
 * the optimizer's state and the RNG are not rolled back.
 * When *o->stop reads non-zero before a step, fit returns
 * BM_ERR_INTERRUPTED at once: the steps of the unfinished epoch are in the
 * parameters, optimizer state and RNG, but not in the epoch counter, so the
 * model is between two checkpoints: resume from the last one saved (the fit
 * callback's), not from this state. BM_ERR_ARG when epoch + o->epochs
 * would overflow the epoch counter. */
bm_status bm_model_fit(bm_model *m, const bm_dataset *train, const bm_fit_opts *o,
                       bm_error *err);

/* Loss and accuracy on a data set (evaluation mode: no dropout, no grad). */
bm_status bm_model_evaluate(bm_model *m, const bm_dataset *ds, double *loss, double *accuracy,
                            bm_error *err);
/* Predictions of output 0 for x [N,F] (or [N, input shape...]) into *out
 * (a new caller-owned tensor [N, output 0's shape...]: [N,outputs] for a
 * classifier). */
bm_status bm_model_predict(bm_model *m, const bm_tensor *x, bm_tensor **out, bm_error *err);

/* Accuracy of predictions against targets for a loss kind: argmax for
 * cce/softmax_cce (class indices [N] or one-hot [N,C]), threshold 0.5 for
 * bce, |ŷ − y| < tolerance for mse/mae (tolerance <= 0: std(y)/250). */
double bm_accuracy(bm_loss_kind loss, const bm_tensor *pred, const bm_tensor *targets,
                   double tolerance);

BM_API_END
#ifdef __cplusplus
}
#endif
#endif
