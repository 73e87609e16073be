/* plot_boundary.c — decision regions of a 2-D classifier with its data on
 * top (PREFIX-boundary.png). Built only with cairo. */
#include "plot_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Image size in pixels. */
#define BOUNDARY_W 800
#define BOUNDARY_H 800
/* Decision-region grid: one cell per plot pixel when the model is small enough
 * that cells x parameters stays within GRID_WORK (multiply-adds, roughly),
 * else fewer cells (never under GRID_MIN_CELLS per side) drawn smoothed. */
#define GRID_MIN_CELLS 200
#define GRID_WORK 4e8
/* Points per predict call. */
#define PREDICT_CHUNK 8192
/* Plot area in pixels (square). */
#define AREA_X 95
#define AREA_Y 85
#define AREA_SIDE 650
/* Fraction of the data range added on each side. */
#define BOUNDARY_PAD 0.10
/* How much of a class colour its region tint keeps (the rest is white). */
#define TINT_STRENGTH 0.28
/* How much of a class colour a point's edge keeps (the rest is black). */
#define EDGE_DARKEN 0.45
/* Most classes the legend lists. */
#define LEGEND_MAX_CLASSES 10
/* Data point radius by data set size, and its edge width. */
#define POINT_R_FEW 4.0
#define POINT_R_SOME 3.0
#define POINT_R_MANY 2.0
#define POINTS_FEW 1000
#define POINTS_SOME 5000
#define POINT_EDGE_W 0.9
/* Room for the default title. */
#define TITLE_LEN 64

/* Colour of a point whose label is not a class. */
static const plot_rgb UNLABELLED = {0.6, 0.6, 0.6};

/* Where the points to classify come from: a data set's rows or the grid. */
typedef struct point_source {
    const bm_tensor *x;   /* [N,2] data, or NULL for the grid */
    const plot_frame *f;  /* the grid spans f's axes */
    size_t cells;         /* grid cells per side */
} point_source;

/* Point i of src: row i of the data, or grid cell i (row-major, top row first). */
static void source_point(const point_source *src, size_t i, double *px, double *py)
{
    if (src->x) {
        *px = bm_tensor_get(src->x, 2 * i);
        *py = bm_tensor_get(src->x, 2 * i + 1);
        return;
    }
    const plot_axis *ax = &src->f->ax, *ay = &src->f->ay;
    double cells = (double)src->cells;
    size_t col = i % src->cells, row = i / src->cells;
    *px = ax->lo + ((double)col + 0.5) / cells * (ax->hi - ax->lo);
    *py = ay->hi - ((double)row + 0.5) / cells * (ay->hi - ay->lo);
}

/* Predicted class of n points (argmax, or p > 0.5 for one output) into cls. */
static int predict_classes(bm_model *m, const point_source *src, size_t n, size_t *cls,
                           char *err, size_t errlen)
{
    const size_t chunk = PREDICT_CHUNK, K = bm_model_n_outputs(m);
    for (size_t start = 0; start < n; start += chunk) {
        size_t B = n - start < chunk ? n - start : chunk, shape[2] = {B, 2};
        bm_error e = {BM_OK, ""};
        bm_tensor *x = bm_tensor_new(bm_model_dtype(m), 2, shape, &e), *p = NULL;
        if (!x)
            return plot_fail(err, errlen, "boundary plot: %s", e.msg);
        for (size_t i = 0; i < B; i++) {
            double px, py;
            source_point(src, start + i, &px, &py);
            bm_tensor_set(x, 2 * i, px);
            bm_tensor_set(x, 2 * i + 1, py);
        }
        bm_status st = bm_model_predict(m, x, &p, &e);
        bm_tensor_free(x);
        if (st != BM_OK)
            return plot_fail(err, errlen, "boundary plot: %s", e.msg);
        for (size_t i = 0; i < B; i++) {
            size_t best = 0;
            if (K == 1)
                best = bm_tensor_get(p, i) > BM_BINARY_THRESHOLD;
            for (size_t k = 1; k < K; k++)
                if (bm_tensor_get(p, i * K + k) > bm_tensor_get(p, i * K + best))
                    best = k;
            cls[start + i] = best;
        }
        bm_tensor_free(p);
    }
    return 0;
}

/* True class of row i, or SIZE_MAX when the label is not a valid class. */
static size_t label_of(const bm_dataset *ds, size_t i)
{
    double v = bm_tensor_get(ds->y, i);
    return v >= 0 && v < (double)ds->n_classes ? (size_t)v : SIZE_MAX;
}

/* Grid cells per side for model m: pixel-fine when affordable. */
static size_t grid_cells(bm_model *m)
{
    double work = (double)bm_model_n_params(m) + 1, full = (double)AREA_SIDE * AREA_SIDE;
    if (full * work <= GRID_WORK)
        return AREA_SIDE;
    double side = floor(sqrt(GRID_WORK / work));
    return side < GRID_MIN_CELLS ? GRID_MIN_CELLS : (size_t)side;
}

/* Paint the grid's classes (cells x cells) as tints over f, smoothed when enlarged. */
static int paint_regions(cairo_t *cr, const plot_frame *f, const size_t *cls, size_t cells,
                         char *err, size_t errlen)
{
    cairo_surface_t *img =
        cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)cells, (int)cells);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(img);
        return plot_fail(err, errlen, "boundary plot: cannot create the region image");
    }
    cairo_surface_flush(img);
    unsigned char *data = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    for (size_t r = 0; r < cells; r++) {
        uint32_t *row = (uint32_t *)(void *)(data + r * (size_t)stride);
        for (size_t c = 0; c < cells; c++) {
            plot_rgb t = plot_mix(plot_class_colour(cls[r * cells + c]), TINT_STRENGTH, 1.0);
            row[c] = (uint32_t)lround(t.r * 255) << 16 | (uint32_t)lround(t.g * 255) << 8 |
                     (uint32_t)lround(t.b * 255);
        }
    }
    cairo_surface_mark_dirty(img);
    cairo_save(cr);
    cairo_rectangle(cr, f->x, f->y, f->w, f->h);
    cairo_clip(cr);
    cairo_translate(cr, f->x, f->y);
    cairo_scale(cr, f->w / (double)cells, f->h / (double)cells);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_BILINEAR);
    cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_PAD);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
    return 0;
}

/* Row of "● class k" entries centred at y. */
static void draw_class_legend(cairo_t *cr, size_t n_classes, double cx, double y)
{
    const double r = 5, gap = 6, space = 22;
    size_t shown = n_classes < LEGEND_MAX_CLASSES ? n_classes : LEGEND_MAX_CLASSES;
    char buf[PLOT_NUM_LEN];
    double total = 0;
    for (size_t k = 0; k < shown; k++) {
        snprintf(buf, sizeof buf, "class %zu", k);
        total += 2 * r + gap + plot_text_width(cr, buf, PLOT_FONT_NOTE);
        total += k + 1 < shown ? space : 0;
    }
    if (shown < n_classes)
        total += space + plot_text_width(cr, "...", PLOT_FONT_NOTE);
    double x = cx - total / 2;
    for (size_t k = 0; k < shown; k++) {
        plot_rgb c = plot_class_colour(k);
        snprintf(buf, sizeof buf, "class %zu", k);
        plot_dot(cr, x + r, y, r, c, plot_mix(c, EDGE_DARKEN, 0), 1);
        plot_set_grey(cr, 0.15);
        plot_text(cr, buf, x + 2 * r + gap, y, PLOT_FONT_NOTE, 0, 0);
        x += 2 * r + gap + plot_text_width(cr, buf, PLOT_FONT_NOTE) + space;
    }
    if (shown < n_classes)
        plot_text(cr, "...", x, y, PLOT_FONT_NOTE, 0, 0);
}

int plot_boundary_png(const char *path, bm_model *m, const bm_dataset *ds, const char *title,
                      char *err, size_t errlen)
{
    if (!path || !m || !ds || !ds->x || !ds->y)
        return plot_fail(err, errlen, "plot_boundary_png: NULL argument");
    if (ds->x->rank != 2 || ds->x->shape[1] != 2)
        return plot_fail(err, errlen, "%s: a decision-region plot needs 2 feature columns, the "
                         "data has %zu", path, ds->x->rank == 2 ? ds->x->shape[1] : (size_t)0);
    if (ds->n_classes < 2)
        return plot_fail(err, errlen, "%s: a decision-region plot needs classification data "
                         "with at least 2 classes", path);
    if (bm_model_n_inputs(m) != 2 || bm_model_n_outputs(m) == 0)
        return plot_fail(err, errlen, "%s: a decision-region plot needs a model with 2 inputs, "
                         "this one has %zu", path, bm_model_n_inputs(m));
    size_t N = ds->x->shape[0];
    if (N == 0 || ds->y->size != N)
        return plot_fail(err, errlen, "%s: a decision-region plot needs rows and one class "
                         "number per row", path);
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (size_t i = 0; i < N; i++) {
        double px = bm_tensor_get(ds->x, 2 * i), py = bm_tensor_get(ds->x, 2 * i + 1);
        if (isfinite(px) && isfinite(py))
            xlo = fmin(xlo, px), xhi = fmax(xhi, px), ylo = fmin(ylo, py), yhi = fmax(yhi, py);
    }
    if (!(xhi >= xlo))
        return plot_fail(err, errlen, "%s: the data set has no finite points", path);
    plot_frame f = {AREA_X, AREA_Y, AREA_SIDE, AREA_SIDE, plot_axis_make(xlo, xhi, BOUNDARY_PAD, 0),
                    plot_axis_make(ylo, yhi, BOUNDARY_PAD, 0)};
    size_t cells = grid_cells(m), ncells = cells * cells;
    size_t *cls = malloc((ncells > N ? ncells : N) * sizeof *cls);
    if (!cls)
        return plot_fail(err, errlen, "%s: out of memory", path);
    char auto_title[TITLE_LEN];
    if (!title) {
        point_source data = {ds->x, &f, 0};
        if (predict_classes(m, &data, N, cls, err, errlen) != 0) {
            free(cls);
            return -1;
        }
        size_t hits = 0;
        for (size_t i = 0; i < N; i++)
            hits += cls[i] == label_of(ds, i);
        snprintf(auto_title, sizeof auto_title, "decision regions, accuracy %.3f",
                 (double)hits / (double)N);
        title = auto_title;
    }
    point_source grid = {NULL, &f, cells};
    cairo_surface_t *s = NULL;
    cairo_t *cr = NULL;
    int rc = predict_classes(m, &grid, ncells, cls, err, errlen);
    if (rc == 0 && !(cr = plot_canvas(&s, BOUNDARY_W, BOUNDARY_H, path, err, errlen)))
        rc = -1;
    if (rc == 0)
        rc = paint_regions(cr, &f, cls, cells, err, errlen);
    if (rc == 0) {
        plot_draw_axes(cr, &f, "x0", "x1");
        double r = N <= POINTS_FEW ? POINT_R_FEW : N <= POINTS_SOME ? POINT_R_SOME : POINT_R_MANY;
        cairo_save(cr);
        cairo_rectangle(cr, f.x, f.y, f.w, f.h);
        cairo_clip(cr);
        for (size_t i = 0; i < N; i++) {
            double px = bm_tensor_get(ds->x, 2 * i), py = bm_tensor_get(ds->x, 2 * i + 1);
            size_t k = label_of(ds, i);
            if (!isfinite(px) || !isfinite(py))
                continue;
            plot_rgb c = k == SIZE_MAX ? UNLABELLED : plot_class_colour(k);
            plot_dot(cr, plot_fx(&f, px), plot_fy(&f, py), r, c, plot_mix(c, EDGE_DARKEN, 0),
                     POINT_EDGE_W);
        }
        cairo_restore(cr);
        plot_set_grey(cr, 0.05);
        plot_text(cr, title, BOUNDARY_W / 2.0, 28, PLOT_FONT_TITLE, 1, 0.5);
        draw_class_legend(cr, ds->n_classes, BOUNDARY_W / 2.0, 58);
        rc = plot_save_png(s, cr, path, err, errlen);
    }
    if (cr)
        cairo_destroy(cr);
    if (s)
        cairo_surface_destroy(s);
    free(cls);
    return rc;
}

