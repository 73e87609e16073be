/* plot.h — training plots for `bmnn train --plot PREFIX` (tools only, not
 * part of libbmnn).
 *
 * A plot_history collects one row per epoch from the fit callback; the
 * writers turn it into PREFIX-loss.png (cairo) and a CSV (always). The
 * boundary plot draws a 2-D classifier's decision regions under its data.
 *
 * Ownership: the history owns its arrays (free with plot_history_free);
 * models and data sets stay the caller's. Every writer returns 0, or -1 with
 * a NUL-terminated message in err (errlen bytes, may be 0) naming the path
 * when a file could not be written. Nothing here exits or aborts. */
#ifndef BM_PLOT_H
#define BM_PLOT_H

#include <stddef.h>

#include "bm_model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Per-epoch history for plots and `bmnn train --history`; zero-initialise, push each
 * epoch, free at the end. epoch holds bm_epoch_stats.epoch (0-based, as the training log
 * prints it); time the seconds since the run started, at the epoch's end (NaN: unknown).
 * metric names the accuracy column and panel (NULL: "accuracy"; the caller's string). */
typedef struct plot_history {
    size_t n, cap;
    double *epoch, *loss, *data_loss, *reg_loss, *acc, *val_loss, *val_acc, *lr, *time;
    const char *metric;
} plot_history;
/* Append one epoch's stats (NaN val fields when absent) and its time (plot_history_push:
 * NaN). Returns 0, or -1 when out of memory (the history is unchanged then). */
int plot_history_push(plot_history *h, const bm_epoch_stats *s);
int plot_history_push_at(plot_history *h, const bm_epoch_stats *s, double seconds);
/* Free the arrays and zero *h; NULL and a zeroed history are fine. */
void plot_history_free(plot_history *h);
/* Is cairo compiled in? 1 or 0. */
int plot_available(void);
/* The loss panel's y axis: linear, log10, or log when the finite losses (training and
 * validation) are all positive and span PLOT_LOG_DECADES decades or more. */
typedef enum plot_scale { PLOT_SCALE_AUTO = 0, PLOT_SCALE_LINEAR, PLOT_SCALE_LOG } plot_scale;
/* Span (max/min = 10^this) from which PLOT_SCALE_AUTO draws the loss on a log axis. */
#define PLOT_LOG_DECADES 2
/* Does the loss panel of h get a log axis under scale? 1 or 0. */
int plot_loss_log_scale(const plot_history *h, plot_scale scale);
/* PREFIX-loss.png: two panels (loss, on the axis plot_loss_log_scale picks; accuracy) over
 * epochs, training and validation lines, axes with tick labels, legend, title; 1000x600 px.
 * Non-finite values (and, on a log axis, values <= 0) are skipped; long histories are thinned
 * to at most ~2000 points per line. Returns 0 or -1 with a message in err (empty history,
 * unwritable path). Without cairo returns -1 with "built without cairo". */
int plot_curves_png(const char *path, const plot_history *h, plot_scale scale, char *err,
                    size_t errlen);
/* The history as CSV, one row per epoch: epoch,loss,data_loss,reg_loss,M,val_loss,val_M,
 * lr,time_s with M the metric's name (always available). Numbers are the shortest of
 * %.15g/%.17g that reads back exactly; NaN is an empty field. */
int plot_curves_csv(const char *path, const plot_history *h, char *err, size_t errlen);
/* PREFIX-boundary.png (800x800) for 2-D classification data: the model's decision regions
 * (argmax class, or p > 0.5 for one output, on a grid over the data's bounding box + margin)
 * in light tints, the data points over them in their true class's colour with a dark edge,
 * axes, a legend and a title (NULL: "decision regions, accuracy A"). Requires ds->x [N,2],
 * n_classes >= 2 and a model taking 2 inputs, else -1 with a message. */
int plot_boundary_png(const char *path, bm_model *m, const bm_dataset *ds, const char *title,
                      char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
