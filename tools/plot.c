/* plot.c — the per-epoch history, its CSV, and the training-curves PNG for
 * `bmnn train --plot PREFIX`. Drawing uses cairo when BM_HAVE_CAIRO is set
 * (helpers in plot_draw.c, the boundary plot in plot_boundary.c); the
 * history and the CSV writer never need it. */
#include "plot_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* First capacity of a history; it doubles after that. */
#define HISTORY_INITIAL_CAP 64
/* Digits that print most doubles exactly, and those that always do. */
#define SHORT_DIGITS 15
#define EXACT_DIGITS 17

int plot_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ------------------------------------------------------------ history */

/* The history's arrays, in one list for growing and freeing. */
#define HISTORY_ARRAYS(h)                                                                    \
    {&(h)->epoch, &(h)->loss, &(h)->data_loss, &(h)->reg_loss, &(h)->acc, &(h)->val_loss,   \
     &(h)->val_acc, &(h)->lr, &(h)->time}

int plot_history_push_at(plot_history *h, const bm_epoch_stats *s, double seconds)
{
    if (!h || !s)
        return -1;
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : HISTORY_INITIAL_CAP;
        if (cap < h->cap || cap > SIZE_MAX / sizeof(double))
            return -1;
        double **arrays[] = HISTORY_ARRAYS(h);
        for (size_t k = 0; k < sizeof arrays / sizeof arrays[0]; k++) {
            /* An array grown before a later failure is merely larger than cap. */
            double *p = realloc(*arrays[k], cap * sizeof(double));
            if (!p)
                return -1;
            *arrays[k] = p;
        }
        h->cap = cap;
    }
    h->epoch[h->n] = (double)s->epoch;
    h->loss[h->n] = s->loss;
    h->data_loss[h->n] = s->data_loss;
    h->reg_loss[h->n] = s->reg_loss;
    h->acc[h->n] = s->accuracy;
    h->val_loss[h->n] = s->val_loss;
    h->val_acc[h->n] = s->val_accuracy;
    h->lr[h->n] = s->lr;
    h->time[h->n] = seconds;
    h->n++;
    return 0;
}

int plot_history_push(plot_history *h, const bm_epoch_stats *s)
{
    return plot_history_push_at(h, s, NAN);
}

void plot_history_free(plot_history *h)
{
    if (!h)
        return;
    double **arrays[] = HISTORY_ARRAYS(h);
    for (size_t k = 0; k < sizeof arrays / sizeof arrays[0]; k++)
        free(*arrays[k]);
    memset(h, 0, sizeof *h);
}

/* The accuracy column's name. */
static const char *metric_name(const plot_history *h)
{
    return h->metric ? h->metric : "accuracy";
}

int plot_loss_log_scale(const plot_history *h, plot_scale scale)
{
    if (scale != PLOT_SCALE_AUTO || !h)
        return scale == PLOT_SCALE_LOG;
    double lo = INFINITY, hi = 0;
    for (size_t i = 0; i < h->n; i++) {
        const double v[2] = {h->loss[i], h->val_loss[i]};
        for (int k = 0; k < 2; k++) {
            if (!isfinite(v[k]))
                continue;
            if (v[k] <= 0)
                return 0; /* a log axis would hide it */
            lo = fmin(lo, v[k]), hi = fmax(hi, v[k]);
        }
    }
    return hi > 0 && log10(hi / lo) >= PLOT_LOG_DECADES;
}

int plot_available(void)
{
#ifdef BM_HAVE_CAIRO
    return 1;
#else
    return 0;
#endif
}

/* ---------------------------------------------------------------- CSV */

/* v as the shorter of %.15g / %.17g that reads back exactly; NaN is "". */
static const char *fmt_num(char buf[PLOT_NUM_LEN], double v)
{
    if (isnan(v))
        buf[0] = '\0';
    else if (isinf(v))
        snprintf(buf, PLOT_NUM_LEN, "%s", v > 0 ? "inf" : "-inf");
    else {
        snprintf(buf, PLOT_NUM_LEN, "%.*g", SHORT_DIGITS, v);
        if (strtod(buf, NULL) != v)
            snprintf(buf, PLOT_NUM_LEN, "%.*g", EXACT_DIGITS, v);
    }
    return buf;
}

int plot_curves_csv(const char *path, const plot_history *h, char *err, size_t errlen)
{
    if (!path || !h)
        return plot_fail(err, errlen, "plot_curves_csv: NULL argument");
    bm_error e = {0};
    bm_writer *w = bm_writer_open(path, &e);
    if (!w)
        return plot_fail(err, errlen, "%s", e.msg);
    const char *m = metric_name(h);
    bm_writer_printf(w, "epoch,loss,data_loss,reg_loss,%s,val_loss,val_%s,lr,time_s\n", m, m);
    for (size_t i = 0; i < h->n; i++) {
        const double row[] = {h->epoch[i], h->loss[i],     h->data_loss[i],
                              h->reg_loss[i], h->acc[i],   h->val_loss[i],
                              h->val_acc[i], h->lr[i],     h->time[i]};
        char num[PLOT_NUM_LEN];
        for (size_t k = 0; k < sizeof row / sizeof row[0]; k++)
            bm_writer_printf(w, "%s%s", k ? "," : "", fmt_num(num, row[k]));
        bm_writer_printf(w, "\n");
    }
    if (bm_writer_commit(w, &e) != BM_OK)
        return plot_fail(err, errlen, "%s", e.msg);
    return 0;
}

#ifdef BM_HAVE_CAIRO
/* ------------------------------------------------------------- curves */

/* Image size in pixels. */
#define CURVES_W 1000
#define CURVES_H 600
/* Most points one line is drawn through (first and last always kept). */
#define MAX_LINE_POINTS 2000
/* Fraction of the data range added above and below. */
#define CURVE_PAD 0.05
/* Room for the subtitle (epochs and final values), and a metric's name in it. */
#define SUBTITLE_LEN 256
#define METRIC_NAME_LEN 64

/* Line width of the curves. */
#define CURVE_LINE_W 2.2

/* The line through the finite (x[i], y[i]), thinned to MAX_LINE_POINTS
 * evenly spaced finite points (first and last kept); one point is a dot. */
static void draw_series(cairo_t *cr, const plot_frame *f, const double *x, const double *y,
                        size_t n, plot_rgb c)
{
    size_t nf = 0;
    for (size_t i = 0; i < n; i++)
        nf += isfinite(x[i]) && plot_drawable(&f->ay, y[i]);
    if (nf == 0)
        return;
    size_t m = nf < MAX_LINE_POINTS ? nf : MAX_LINE_POINTS, k = 0, j = 0, last = 0;
    cairo_save(cr);
    cairo_rectangle(cr, f->x, f->y, f->w, f->h);
    cairo_clip(cr);
    for (size_t i = 0; i < n && k < m; i++) {
        if (!(isfinite(x[i]) && plot_drawable(&f->ay, y[i])))
            continue;
        size_t want = m == 1 ? 0 : (size_t)((double)k * (double)(nf - 1) / (double)(m - 1) + 0.5);
        if (j++ != want)
            continue;
        (k++ ? cairo_line_to : cairo_move_to)(cr, plot_fx(f, x[i]), plot_fy(f, y[i]));
        last = i;
    }
    plot_set_rgb(cr, c);
    if (m == 1) {
        cairo_new_path(cr);
        plot_dot(cr, plot_fx(f, x[last]), plot_fy(f, y[last]), 3.5, c, c, 1);
    } else {
        cairo_set_line_width(cr, CURVE_LINE_W);
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
        cairo_stroke(cr);
    }
    cairo_restore(cr);
}

/* Legend box of line entries in the upper (bottom: lower) right corner of f. */
static void draw_line_legend(cairo_t *cr, const plot_frame *f, const char **names,
                             const plot_rgb *cols, int count, int bottom)
{
    const double pad = 10, row = 22, swatch = 28;
    double w = 0;
    for (int i = 0; i < count; i++) {
        double tw = plot_text_width(cr, names[i], PLOT_FONT_NOTE);
        w = tw > w ? tw : w;
    }
    w += swatch + 3 * pad;
    double h = count * row + pad, x = f->x + f->w - w - pad;
    double y = bottom ? f->y + f->h - h - pad : f->y + pad;
    cairo_rectangle(cr, plot_crisp(x), plot_crisp(y), floor(w), floor(h));
    cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
    cairo_fill_preserve(cr);
    plot_set_grey(cr, 0.75);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
    for (int i = 0; i < count; i++) {
        double cy = y + pad / 2 + row * (i + 0.5);
        cairo_move_to(cr, x + pad, cy);
        cairo_line_to(cr, x + pad + swatch, cy);
        plot_set_rgb(cr, cols[i]);
        cairo_set_line_width(cr, CURVE_LINE_W);
        cairo_stroke(cr);
        plot_set_grey(cr, 0.1);
        plot_text(cr, names[i], x + 2 * pad + swatch, cy, PLOT_FONT_NOTE, 0, 0);
    }
}

/* Last finite value of v[0..n), NaN when there is none. */
static double last_finite(const double *v, size_t n)
{
    for (size_t i = n; i-- > 0;)
        if (isfinite(v[i]))
            return v[i];
    return NAN;
}

/* One curves panel: training and validation series against the epochs; log_y: a log10
 * y axis in decades (values <= 0 are not drawn). */
static void draw_panel(cairo_t *cr, plot_frame *f, const char *title, const plot_history *h,
                       const double *train, const double *val, int legend_bottom, int log_y)
{
    double lo = INFINITY, hi = -INFINITY, elo = INFINITY, ehi = -INFINITY;
    int have_val = 0;
    f->ay.log10 = log_y;
    for (size_t i = 0; i < h->n; i++) {
        if (!isfinite(h->epoch[i]))
            continue;
        elo = fmin(elo, h->epoch[i]), ehi = fmax(ehi, h->epoch[i]);
        if (plot_drawable(&f->ay, train[i])) {
            double u = log_y ? log10(train[i]) : train[i];
            lo = fmin(lo, u), hi = fmax(hi, u);
        }
        if (plot_drawable(&f->ay, val[i])) {
            double u = log_y ? log10(val[i]) : val[i];
            lo = fmin(lo, u), hi = fmax(hi, u), have_val = 1;
        }
    }
    if (log_y && hi >= lo) { /* whole decades, at least one */
        lo = floor(lo), hi = ceil(hi);
        hi = hi > lo ? hi : lo + 1;
    }
    f->ax = plot_axis_make(elo, ehi, 0, 1);
    f->ay = plot_axis_make(lo, hi, log_y ? 0 : CURVE_PAD, log_y);
    f->ay.log10 = log_y;
    plot_set_grey(cr, 0.1);
    plot_text(cr, title, f->x + f->w / 2, f->y - PLOT_FONT_PANEL, PLOT_FONT_PANEL, 1, 0.5);
    plot_draw_axes(cr, f, "epoch", NULL);
    if (!(hi >= lo)) {
        plot_set_grey(cr, 0.5);
        plot_text(cr, "no finite values", f->x + f->w / 2, f->y + f->h / 2, PLOT_FONT_LABEL, 0,
                  0.5);
        return;
    }
    const char *names[] = {"training", "validation"};
    const plot_rgb cols[] = {plot_class_colour(0), plot_class_colour(1)};
    draw_series(cr, f, h->epoch, train, h->n, cols[0]);
    if (have_val)
        draw_series(cr, f, h->epoch, val, h->n, cols[1]);
    draw_line_legend(cr, f, names, cols, have_val ? 2 : 1, legend_bottom);
}

/* Append ", NAME V" (" NAME V" right after the colon) when v is finite. */
static void append_value(char *buf, size_t len, const char *name, double v)
{
    size_t used = strlen(buf);
    if (isfinite(v) && used < len)
        snprintf(buf + used, len - used, "%s %s %.4g", buf[used - 1] == ':' ? "" : ",", name, v);
}

/* "N epochs - final: loss L, accuracy A, validation loss VL, ..." (finite values only). */
static void subtitle(char *buf, size_t len, const plot_history *h)
{
    snprintf(buf, len, "%zu epoch%s", h->n, h->n == 1 ? "" : "s");
    size_t base = strlen(buf);
    snprintf(buf + base, len - base, " - final:");
    append_value(buf, len, "loss", last_finite(h->loss, h->n));
    char vname[METRIC_NAME_LEN];
    snprintf(vname, sizeof vname, "validation %.*s", METRIC_NAME_LEN / 2, metric_name(h));
    append_value(buf, len, metric_name(h), last_finite(h->acc, h->n));
    append_value(buf, len, "validation loss", last_finite(h->val_loss, h->n));
    append_value(buf, len, vname, last_finite(h->val_acc, h->n));
    if (buf[strlen(buf) - 1] == ':') /* nothing finite to report */
        buf[base] = '\0';
}

int plot_curves_png(const char *path, const plot_history *h, plot_scale scale, char *err,
                    size_t errlen)
{
    if (!path || !h)
        return plot_fail(err, errlen, "plot_curves_png: NULL argument");
    if (h->n == 0)
        return plot_fail(err, errlen, "%s: nothing to plot: the history is empty", path);
    cairo_surface_t *s;
    cairo_t *cr = plot_canvas(&s, CURVES_W, CURVES_H, path, err, errlen);
    if (!cr)
        return -1;
    char sub[SUBTITLE_LEN];
    subtitle(sub, sizeof sub, h);
    plot_set_grey(cr, 0.05);
    plot_text(cr, "training curves", CURVES_W / 2.0, 26, PLOT_FONT_TITLE, 1, 0.5);
    plot_set_grey(cr, 0.35);
    plot_text(cr, sub, CURVES_W / 2.0, 50, PLOT_FONT_NOTE, 0, 0.5);
    plot_frame left = {.x = 80, .y = 100, .w = 400, .h = 415};
    plot_frame right = {.x = 575, .y = 100, .w = 400, .h = 415};
    int log_y = plot_loss_log_scale(h, scale);
    draw_panel(cr, &left, log_y ? "loss (log scale)" : "loss", h, h->loss, h->val_loss, 0, log_y);
    draw_panel(cr, &right, metric_name(h), h, h->acc, h->val_acc, 1, 0);
    int rc = plot_save_png(s, cr, path, err, errlen);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    return rc;
}

#else /* !BM_HAVE_CAIRO */

int plot_curves_png(const char *path, const plot_history *h, plot_scale scale, char *err,
                    size_t errlen)
{
    (void)path, (void)h, (void)scale;
    return plot_fail(err, errlen, "built without cairo");
}

int plot_boundary_png(const char *path, bm_model *m, const bm_dataset *ds, const char *title,
                      char *err, size_t errlen)
{
    (void)path, (void)m, (void)ds, (void)title;
    return plot_fail(err, errlen, "built without cairo");
}

#endif
