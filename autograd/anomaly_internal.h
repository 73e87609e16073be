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
/* After node n's backward in pass `pass`: checks the gradients it wrote
 * into its differentiable inputs (intermediate ones stamped with `pass`,
 * leaves' whole accumulated gradient). Returns the tape's status. */
bm_status bm_anomaly_backward(bm_tape *tape, const bm_node *n, uint32_t pass);
/* Before backward from out: a non-finite value in the caller's seed fails.
 * Returns the tape's status. */
bm_status bm_anomaly_seed(bm_tape *tape, const bm_tensor *out, const bm_tensor *seed);

#endif
