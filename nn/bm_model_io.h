/* bm_model_io.h — model files in JSON: specs written by hand and
 * checkpoints written by the library (format: nn/MODEL_FORMAT.md).
 *
 * A spec names the layers, the loss, the optimizer and training settings;
 * a checkpoint adds every parameter, the optimizer's state arrays and
 * iteration count, the epoch counter and the model's RNG state, so a
 * loaded checkpoint continues training exactly as the uninterrupted run.
 *
 * Reading validates everything before the model's parameters are
 * allocated and reports the first problem as "FILE: JSON.PATH: what"
 * ("model.json: layers[2].weights: expected 64x3, got 64x2"). Nothing here
 * aborts or exits; every error path frees what it allocated.
 *
 * Ownership: bm_model_load()/bm_model_from_json() return a model the caller
 * frees with bm_model_free(); bm_model_to_json() returns a string the
 * caller frees with free(). Settings structs are the caller's. */
#ifndef BM_MODEL_IO_H
#define BM_MODEL_IO_H

#include <stddef.h>
#include <stdint.h>

#include "bm_model.h"

#ifdef __cplusplus
extern "C" {
#endif
BM_API_BEGIN

/* The "format" string of a model file. */
#define BM_MODEL_FORMAT "bmnn-model"
/* The "version" this library writes: 2, graph models (`nodes`). Version 1
 * files (sequential `layers`) keep loading; saving one writes version 2. */
#define BM_MODEL_FORMAT_VERSION 2
/* The version of the sequential files of the first release. */
#define BM_MODEL_FORMAT_V1 1
/* Most trained parameters (of all layers or nodes) a file may ask for;
 * checked before anything is allocated. */
#define BM_MODEL_MAX_PARAMS ((size_t)1 << 28)
/* Largest model file read (1 GiB); larger files are rejected unread. */
#define BM_MODEL_MAX_FILE_BYTES ((size_t)1 << 30)
/* Deepest nesting of arrays/objects accepted (a model file needs 5). */
#define BM_MODEL_MAX_DEPTH 32
/* Largest integer a file holds exactly (2^53: epochs, seeds, counters). */
#define BM_MODEL_MAX_INT ((uint64_t)1 << 53)

/* Training settings a model file may carry (all optional). */
typedef struct bm_train_settings {
    uint64_t epochs;
    size_t batch_size;
    uint64_t seed;
    int has_epochs, has_batch_size, has_seed;
} bm_train_settings;

/* Load a spec or checkpoint from a file. A spec (no weights) is initialised
 * from the file's "training.seed" (default 0); a checkpoint restores
 * parameters, optimizer state, epoch and RNG state exactly. settings may be
 * NULL; otherwise it receives the file's "training" values (has_* flags say
 * which were present). Returns a new model the caller frees with
 * bm_model_free(), or NULL with err naming the file and the JSON path of
 * the first problem. */
bm_model *bm_model_load(const char *path, bm_train_settings *settings, bm_error *err);
/* Same from a string of len bytes (need not be NUL-terminated; not kept);
 * name is used in messages (e.g. the file name; NULL gives "<json>").
 * Returns a new model the caller frees with bm_model_free(), or NULL. */
bm_model *bm_model_from_json(const char *text, size_t len, const char *name,
                             bm_train_settings *settings, bm_error *err);
/* Options for loading. */
typedef struct bm_model_load_opts {
    const bm_layer_vt *const *kinds; /* layer kinds of the caller's a file may name (by
                                      * vt->name) besides the built-in ones; they must
                                      * outlive the model */
    size_t n_kinds;
} bm_model_load_opts;

/* bm_model_load with options (opts may be NULL). */
bm_model *bm_model_load_ex(const char *path, const bm_model_load_opts *opts,
                           bm_train_settings *settings, bm_error *err);
/* bm_model_from_json with options (opts may be NULL). */
bm_model *bm_model_from_json_ex(const char *text, size_t len, const char *name,
                                const bm_model_load_opts *opts, bm_train_settings *settings,
                                bm_error *err);
/* Serialise an initialised model (spec + all parameters + optimizer state
 * + epoch + RNG, and "training" from settings when not NULL) as JSON.
 * Returns a NUL-terminated string the caller frees with free(), or NULL
 * with err set (BM_ERR_STATE before bm_model_init, BM_ERR_NUMERIC for a
 * NaN/Inf parameter or state value). */
char *bm_model_to_json(bm_model *m, const bm_train_settings *settings, bm_error *err);
/* Save atomically: write PATH.tmp.XXXXXX in the same directory, fsync it,
 * rename it over PATH, fsync the directory. A crash never leaves a broken
 * PATH; on error no temp file is left. m and settings stay the caller's. */
bm_status bm_model_save(bm_model *m, const char *path, const bm_train_settings *settings,
                        bm_error *err);
/* bm_model_to_json writing format `version`: 0 = version 1 when the model
 * fits one (a sequential model of the first release's layers: existing
 * files keep their bytes), else 2; 1 = version 1 (BM_ERR_ARG when it does
 * not fit); 2 = version 2 (what `bmnn convert` writes). */
char *bm_model_to_json_version(bm_model *m, const bm_train_settings *settings, int version,
                               bm_error *err);
/* bm_model_save writing format `version` as bm_model_to_json_version. */
bm_status bm_model_save_version(bm_model *m, const char *path,
                                const bm_train_settings *settings, int version, bm_error *err);

BM_API_END
#ifdef __cplusplus
}
#endif
#endif
