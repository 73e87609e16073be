/* train_controls.h — `bmnn train`'s training-control flags (--lr,
 * --weight-decay, --clip-norm, --clip-value, --schedule, --warmup): parsed
 * into a train_controls, then applied to a loaded model's optimizer, over
 * what its file says (tools/ only). */
#ifndef BM_TRAIN_CONTROLS_H
#define BM_TRAIN_CONTROLS_H

#include <getopt.h>

#include "cli.h"

/* The flags given (has_* says which). */
typedef struct train_controls {
    double lr, weight_decay, clip_norm, clip_value;
    bm_schedule schedule;
    uint64_t warmup;
    int has_lr, has_weight_decay, has_clip_norm, has_clip_value, has_schedule, has_warmup;
} train_controls;

/* Option ids of the flags (getopt_long values), after those of cmd_train. */
enum {
    TC_LR = 512,
    TC_WEIGHT_DECAY,
    TC_CLIP_NORM,
    TC_CLIP_VALUE,
    TC_SCHEDULE,
    TC_WARMUP
};

/* Number of those options. */
#define TC_N_OPTIONS (TC_WARMUP - TC_LR + 1)

/* Their getopt_long table: TC_N_OPTIONS entries, then an all-zero one. */
extern const struct option train_control_options[];

/* Take option c (one of TC_*) with its argument; 0, or -1 after a usage
 * message. */
int train_controls_take(train_controls *tc, int c, const char *arg);
/* Apply the flags given to m's optimizer (every group's lr and weight
 * decay, the clipping parts given, the schedule and its warm-up); BM_OK or
 * err set. */
bm_status train_controls_apply(const train_controls *tc, bm_model *m, bm_error *err);

#endif
