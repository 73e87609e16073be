/* layer_util_internal.h — what the layer kinds' files share: shape text,
 * the common checks, and the batch-axis bookkeeping of recording. */
#ifndef BM_LAYER_UTIL_INTERNAL_H
#define BM_LAYER_UTIL_INTERNAL_H

#include "bm_model.h"

/* Room for a per-sample shape as text: "[" + up to 3 × 21 digits + commas + "]". */
#define BM_LAYER_SHAPE_LEN 80

/* "[3,28,28]" for a per-sample shape (rank 0: "[]"); returns buf. */
const char *bm_layer_shape_text(const bm_shape *s, char *buf, size_t len);
/* Product of a per-sample shape's sizes (1 for rank 0). */
size_t bm_layer_shape_size(const bm_shape *s);

/* BM_ERR_SIZE naming the kind and the shape when a per-sample shape holds
 * more than BM_MAX_ELEMENTS values. */
bm_status bm_layer_check_total(const char *kind, const bm_shape *s, bm_error *err);

/* The key list of the kinds that take none. */
extern const char *const bm_layer_no_keys[];

/* infer of the kinds that keep their input's shape. */
bm_status bm_layer_same_shape(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                              bm_shape *out, bm_error *err);
/* params of the kinds that own none. */
size_t bm_layer_no_params(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                          bm_param_desc *out);

/* The L1/L2 penalties of a spec are finite and >= 0 ("conv2d: l2_weights -1 ..."). */
bm_status bm_layer_check_penalties(const char *kind, const bm_layer_spec *s, bm_error *err);
/* A size key lies in 1..max ("conv2d: out 0 is not in 1..1099511627776"). */
bm_status bm_layer_check_size(const char *kind, const char *key, size_t v, size_t max,
                              bm_error *err);
/* eps is finite and > 0. */
bm_status bm_layer_check_eps(const char *kind, double eps, bm_error *err);
/* `in`, when given (non-zero), equals the channels or features found. */
bm_status bm_layer_check_in(const char *kind, const bm_layer_spec *s, const bm_shape *in,
                            size_t found, const char *what, bm_error *err);

/* resolve of the kinds whose `in` is the channels (axis 0: conv, batch_norm). */
void bm_layer_resolve_channels(bm_layer_spec *s, const bm_shape *in, size_t n_in);
/* resolve of the kinds whose `in` is the last axis (layer_norm, rms_norm). */
void bm_layer_resolve_features(bm_layer_spec *s, const bm_shape *in, size_t n_in);

/* x [B, ...] reshaped to [B, s...] (the batch axis kept). */
bm_tensor *bm_layer_reshape(bm_tape *tape, bm_tensor *x, const bm_shape *s);

#endif
