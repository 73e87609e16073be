/* anomaly_internal.h — the NaN/Inf checks of a tape's anomaly mode
 * (bm_tape_set_detect_anomaly); tape.c calls them only when the mode is on.
 * Not installed. */
#ifndef BM_ANOMALY_INTERNAL_H
#define BM_ANOMALY_INTERNAL_H

#include "tape_internal.h"

/* After node n's forward: a non-finite output value sets BM_ERR_NUMERIC on
 * the tape, with a message naming the node, the element and the inputs'
 * shapes and ranges. Returns the tape's status. */
bm_status bm_anomaly_forward(bm_tape *tape, const bm_node *n);
/* Gradient g that node n's vjp gave its input k (out_grad: the gradient
 * the vjp was given, may be NULL): a non-finite value fails, naming the
 * node, the input and the ranges. Returns the tape's status. */
bm_status bm_anomaly_grad(bm_tape *tape, const bm_node *n, int k, const bm_tensor *g,
                         const bm_tensor *out_grad);
/* A leaf's gradient buffer after g was added into it. */
bm_status bm_anomaly_leaf(bm_tape *tape, const bm_tensor *leaf, const bm_tensor *g);
/* Before backward from out: a non-finite value in the caller's seed fails.
 * Returns the tape's status. */
bm_status bm_anomaly_seed(bm_tape *tape, const bm_tensor *out, const bm_tensor *seed);

#endif
