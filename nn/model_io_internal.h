/* model_io_internal.h — what the model file reader and writer share (not
 * installed). */
#ifndef BM_MODEL_IO_INTERNAL_H
#define BM_MODEL_IO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bm_model_io.h"
#include "file_internal.h"

/* Longest file name quoted in a message (the JSON path after it matters more). */
#define BM_IO_NAME_SHOWN 100

/* Valid ranges of hyperparameters. */
typedef enum bm_io_range {
    BM_IO_POSITIVE,    /* finite and > 0 */
    BM_IO_NONNEGATIVE, /* finite and >= 0 */
    BM_IO_UNIT,        /* in [0, 1) */
    BM_IO_UNIT_CLOSED  /* in [0, 1] */
} bm_io_range;

/* One optimizer hyperparameter: its key, where it lives in bm_optim_config,
 * its range, the kinds that use it (bit 1 << bm_optim_kind), another key a
 * file may give it by instead (NULL: none; the writer uses key), and the
 * kinds whose files carry it only when it is not 0 (so files written before
 * the key existed keep their bytes). */
typedef struct bm_io_optim_field {
    const char *key;
    size_t offset;
    bm_io_range range;
    unsigned kinds;
    const char *alias;
    unsigned omit_zero;
} bm_io_optim_field;

/* Adam and AdamW. */
#define BM_IO_ADAM_KINDS ((1u << BM_OPT_ADAM) | (1u << BM_OPT_ADAMW))
/* Every kind. */
#define BM_IO_ALL_KINDS                                                                     \
    ((1u << BM_OPT_SGD) | (1u << BM_OPT_ADAGRAD) | (1u << BM_OPT_RMSPROP) | BM_IO_ADAM_KINDS)
/* Number of optimizer hyperparameters, and of their aliases. */
#define BM_IO_N_OPTIM_FIELDS 8
#define BM_IO_N_OPTIM_ALIASES 1

/* The hyperparameters in the order a file lists them. */
static const bm_io_optim_field bm_io_optim_fields[BM_IO_N_OPTIM_FIELDS] = {
    {.key = "lr", .offset = offsetof(bm_optim_config, lr), .range = BM_IO_POSITIVE,
     .kinds = BM_IO_ALL_KINDS},
    /* learning-rate decay (lr / (1 + decay·step)), not weight decay */
    {.key = "decay", .offset = offsetof(bm_optim_config, decay), .range = BM_IO_NONNEGATIVE,
     .kinds = BM_IO_ALL_KINDS, .alias = "lr_decay"},
    {.key = "momentum", .offset = offsetof(bm_optim_config, momentum), .range = BM_IO_UNIT,
     .kinds = 1u << BM_OPT_SGD},
    {.key = "rho", .offset = offsetof(bm_optim_config, rho), .range = BM_IO_UNIT,
     .kinds = 1u << BM_OPT_RMSPROP},
    {.key = "beta1", .offset = offsetof(bm_optim_config, beta1), .range = BM_IO_UNIT,
     .kinds = BM_IO_ADAM_KINDS},
    {.key = "beta2", .offset = offsetof(bm_optim_config, beta2), .range = BM_IO_UNIT,
     .kinds = BM_IO_ADAM_KINDS},
    {.key = "eps", .offset = offsetof(bm_optim_config, eps), .range = BM_IO_POSITIVE,
     .kinds = (1u << BM_OPT_ADAGRAD) | (1u << BM_OPT_RMSPROP) | BM_IO_ADAM_KINDS},
    /* adamw's is decoupled (default 0.01), the others' L2 (default 0: written
     * only when set, so their files keep the bytes they had without it) */
    {.key = "weight_decay", .offset = offsetof(bm_optim_config, weight_decay),
     .range = BM_IO_NONNEGATIVE, .kinds = BM_IO_ALL_KINDS,
     .omit_zero = BM_IO_ALL_KINDS & ~(1u << BM_OPT_ADAMW)},
};

/* Optimizer keys besides the hyperparameters: "type", "state", "clip",
 * "schedule". */
#define BM_IO_OPTIM_EXTRA_KEYS 4

/* One key of optimizer.schedule: where it lives in bm_schedule, whether it
 * is a count (uint64_t; >= 1 when required) or a real (double, in range),
 * the kinds that take it and those that need it (bits 1 << bm_schedule_kind). */
typedef struct bm_io_sched_field {
    const char *key;
    size_t offset;
    int is_count;
    bm_io_range range;
    unsigned kinds, required;
} bm_io_sched_field;

/* Every schedule kind (the warm-up composes with each). */
#define BM_IO_ALL_SCHEDS                                                                    \
    ((1u << BM_SCHED_CONSTANT) | (1u << BM_SCHED_STEP) | (1u << BM_SCHED_EXPONENTIAL) |     \
     (1u << BM_SCHED_COSINE))
/* Number of schedule keys besides "type". */
#define BM_IO_N_SCHED_FIELDS 6

/* The schedule's keys in the order the writer puts them. */
static const bm_io_sched_field bm_io_sched_fields[BM_IO_N_SCHED_FIELDS] = {
    {.key = "step_size", .offset = offsetof(bm_schedule, step_size), .is_count = 1,
     .kinds = 1u << BM_SCHED_STEP, .required = 1u << BM_SCHED_STEP},
    {.key = "gamma", .offset = offsetof(bm_schedule, gamma), .range = BM_IO_POSITIVE,
     .kinds = (1u << BM_SCHED_STEP) | (1u << BM_SCHED_EXPONENTIAL),
     .required = (1u << BM_SCHED_STEP) | (1u << BM_SCHED_EXPONENTIAL)},
    {.key = "t_max", .offset = offsetof(bm_schedule, t_max), .is_count = 1,
     .kinds = 1u << BM_SCHED_COSINE, .required = 1u << BM_SCHED_COSINE},
    {.key = "eta_min", .offset = offsetof(bm_schedule, eta_min), .range = BM_IO_NONNEGATIVE,
     .kinds = 1u << BM_SCHED_COSINE},
    {.key = "warmup_steps", .offset = offsetof(bm_schedule, warmup_steps), .is_count = 1,
     .kinds = BM_IO_ALL_SCHEDS},
    {.key = "warmup_start", .offset = offsetof(bm_schedule, warmup_start),
     .range = BM_IO_UNIT_CLOSED, .kinds = BM_IO_ALL_SCHEDS},
};

/* Most keys one layer kind takes in model files. */
#define BM_IO_MAX_KIND_KEYS 48

/* Room for a JSON path ("layers[12].weights[63]"). */
#define BM_IO_PATH_LEN 96

/* Where the reader is: the name for messages and the current JSON path. */
typedef struct bm_io_reader {
    const char *name;
    bm_error *err;
    char path[BM_IO_PATH_LEN];
    size_t plen;
} bm_io_reader;


struct cJSON;

/* What a model file says besides its layers or nodes, validated
 * (model_io_read.c fills it; the v1 reader's layers too). */
typedef struct bm_io_plan {
    bm_dtype dt;
    size_t inputs, n_layers, n_params;
    struct layer_plan *layers;     /* v1: n_layers, freed by the caller */
    bm_loss_kind loss;
    bm_optim_config ocfg;
    const struct cJSON *ostate;    /* optimizer.state or NULL */
    bm_schedule sched;             /* optimizer.schedule (constant when absent) */
    double clip_norm, clip_value;  /* optimizer.clip (0: off) */
    uint64_t iterations;
    bm_train_settings ts;
    uint64_t epoch;
    bm_rng rng;
    int has_epoch, has_rng;
} bm_io_plan;

/* root.optimizer into p (p->dt and p->n_params set: state arrays are checked
 * against them). */
bm_status bm_io_parse_optimizer(bm_io_reader *r, const struct cJSON *root, bm_io_plan *p);
/* root.training into p->ts. */
bm_status bm_io_parse_training(bm_io_reader *r, const struct cJSON *root, bm_io_plan *p);
/* root.state (epoch, rng) into p. */
bm_status bm_io_parse_state(bm_io_reader *r, const struct cJSON *root, bm_io_plan *p);
/* Apply the optimizer's schedule, clip and state, the epoch and the RNG of
 * p to the initialised model m. */
bm_status bm_io_finish(const bm_io_plan *p, bm_model *m, bm_error *e);
/* A format 2 document (root, an object) into a new model, p receiving
 * its training settings (model_io_v2.c); NULL with r's error set. */
bm_model *bm_io_read_v2(bm_io_reader *r, const struct cJSON *root, bm_io_plan *p,
                        const bm_model_load_opts *opts);

/* root.groups of an initialised model into bm_model_set_param_groups
 * (model_io_groups.c). */
bm_status bm_io_read_groups(bm_io_reader *r, const struct cJSON *root, bm_model *m);

/* Reader helpers (model_io_json.c). Each bm_status one sets r->err to
 * "NAME: PATH: message" on failure, leaving the failing value's path. */

/* Set the error "NAME: PATH: message" (no PATH at the top); returns code. */
bm_status bm_io_fail(bm_io_reader *r, bm_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Append ".key" / "[i]" to the path; each returns the length for bm_io_pop. */
size_t bm_io_push_key(bm_io_reader *r, const char *key);
size_t bm_io_push_index(bm_io_reader *r, size_t i);
/* Cut the path back to length old. */
void bm_io_pop(bm_io_reader *r, size_t old);
/* msg without a leading "bm_function: ". */
const char *bm_io_unprefixed(const char *msg);
/* "a string", "an array", ... for messages. */
const char *bm_io_type_name(const struct cJSON *j);
/* Is j of cJSON type `type` (cJSON_Number, ...)? */
int bm_io_is(const struct cJSON *j, int type);
/* Number of elements of an array or object. */
size_t bm_io_count(const struct cJSON *a);
/* j must have type `type` ("expected WHAT, got ..."). */
bm_status bm_io_want(bm_io_reader *r, const struct cJSON *j, int type, const char *what);
/* Unknown and repeated keys of obj fail; allowed has at most 32 keys. */
bm_status bm_io_check_keys(bm_io_reader *r, const struct cJSON *obj, const char *const *allowed,
                           size_t n);
/* obj[key] into *out (NULL when absent); a missing required key fails. */
bm_status bm_io_member(bm_io_reader *r, const struct cJSON *obj, const char *key, int required,
                       const struct cJSON **out);
/* A finite number in range rg (path already at the value). */
bm_status bm_io_want_real(bm_io_reader *r, const struct cJSON *j, bm_io_range rg, double *out);
/* An integer in [lo, hi]; code is the status of one out of range. */
bm_status bm_io_want_uint(bm_io_reader *r, const struct cJSON *j, uint64_t lo, uint64_t hi,
                          bm_status code, uint64_t *out);
/* Optional obj.key as a number in rg (left unchanged when absent). */
bm_status bm_io_get_real(bm_io_reader *r, const struct cJSON *obj, const char *key,
                         bm_io_range rg, double *out);
/* obj.key as an integer in [lo, hi]; *present (may be NULL) is set to 1
 * when it was there. */
bm_status bm_io_get_uint(bm_io_reader *r, const struct cJSON *obj, const char *key,
                         int required, uint64_t lo, uint64_t hi, bm_status code, uint64_t *out,
                         int *present);
/* obj.key as a string (*out NULL when absent and not required; the string
 * belongs to the cJSON tree). */
bm_status bm_io_get_string(bm_io_reader *r, const struct cJSON *obj, const char *key,
                           int required, const char **out);
/* obj.key as an array described by what (*out NULL when absent and not
 * required); when there, the path is left at key and *top is what to pop
 * back to. */
bm_status bm_io_get_array(bm_io_reader *r, const struct cJSON *obj, const char *key,
                          int required, const char *what, const struct cJSON **out, size_t *top);
/* The optional root.dtype ("f32", the default, or "f64") into *dt. */
bm_status bm_io_get_dtype(bm_io_reader *r, const struct cJSON *root, bm_dtype *dt);
/* A library name parser's failure e, reported at key. */
bm_status bm_io_bad_name(bm_io_reader *r, const char *key, const bm_error *e);
/* An array of exactly n numbers, each finite in dt. */
bm_status bm_io_want_numbers(bm_io_reader *r, const struct cJSON *a, size_t n, bm_dtype dt);
/* An array of `rows` arrays of `cols` numbers finite in dt (weights). */
bm_status bm_io_want_matrix(bm_io_reader *r, const struct cJSON *a, size_t rows, size_t cols,
                            bm_dtype dt);
/* Store the numbers of a validated array at dst[off...] in dt; returns the
 * offset after the last. */
size_t bm_io_copy_numbers(const struct cJSON *a, void *dst, bm_dtype dt, size_t off);
/* Reject text (len bytes) nested deeper than BM_MODEL_MAX_DEPTH or holding
 * NUL bytes before cJSON (recursive) sees it. */
bm_status bm_io_prescan(bm_io_reader *r, const char *s, size_t len);
/* optimizer.clip of the optimizer object o into *max_norm, *max_value
 * (left unchanged when absent). */
bm_status bm_io_parse_clip(bm_io_reader *r, const struct cJSON *o, double *max_norm,
                           double *max_value);
/* optimizer.schedule of o into *out (left unchanged when absent). */
bm_status bm_io_parse_schedule(bm_io_reader *r, const struct cJSON *o, bm_schedule *out);
/* Line and column (1-based, columns in bytes) of offset pos in s. */
void bm_io_line_col(const char *s, size_t pos, size_t *line, size_t *col);
/* Read the file r->name (at most BM_MODEL_MAX_FILE_BYTES) into *out, a
 * NUL-ended buffer of *len bytes + 1 the caller frees with free(). */
bm_status bm_io_read_file(bm_io_reader *r, char **out, size_t *len);

#endif
