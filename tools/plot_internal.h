/* plot_internal.h — helpers shared by plot.c, plot_draw.c and
 * plot_boundary.c (the bmnn program's plotting; not installed). */
#ifndef BM_PLOT_INTERNAL_H
#define BM_PLOT_INTERNAL_H

#include <math.h>
#include <stddef.h>

#include "bm_file.h"
#include "plot.h"

#if defined(__GNUC__)
#define PLOT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PLOT_PRINTF(a, b)
#endif

/* Room for one formatted number ("-1.2345678901234567e-308" and the NUL). */
#define PLOT_NUM_LEN 32

/* Write a printf-style message into err (when errlen > 0) and return -1. */
int plot_fail(char *err, size_t errlen, const char *fmt, ...) PLOT_PRINTF(3, 4);

#ifdef BM_HAVE_CAIRO
#include <cairo.h>

#define PLOT_PI 3.14159265358979323846
/* About how many ticks an axis gets. */
#define PLOT_TICK_TARGET 6
/* Font sizes in pixels. */
#define PLOT_FONT_TITLE 18.0
#define PLOT_FONT_PANEL 15.0
#define PLOT_FONT_LABEL 13.0
#define PLOT_FONT_TICK 12.0
#define PLOT_FONT_NOTE 12.0

/* A colour, components in [0, 1]. */
typedef struct plot_rgb { double r, g, b; } plot_rgb;
/* An axis: view range, tick step, decimals for tick labels; log10: the range and
 * ticks are log10 of the data (decades), labelled with the values themselves. */
typedef struct plot_axis { double lo, hi, step; int decimals, log10; } plot_axis;
/* A plot area in pixels and its two axes. */
typedef struct plot_frame { double x, y, w, h; plot_axis ax, ay; } plot_frame;

/* Colour k of the tab10 palette (cycling). */
plot_rgb plot_class_colour(size_t k);
/* c blended towards grey level `other`, keeping `keep` of c. */
static inline plot_rgb plot_mix(plot_rgb c, double keep, double other)
{
    plot_rgb o = {c.r * keep + other * (1 - keep), c.g * keep + other * (1 - keep),
                  c.b * keep + other * (1 - keep)};
    return o;
}
static inline void plot_set_rgb(cairo_t *cr, plot_rgb c)
{
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
}
static inline void plot_set_grey(cairo_t *cr, double v) { cairo_set_source_rgb(cr, v, v, v); }
/* Pixel position of data value v in f. */
static inline double plot_fx(const plot_frame *f, double v)
{
    return f->x + (v - f->ax.lo) / (f->ax.hi - f->ax.lo) * f->w;
}
static inline double plot_fy(const plot_frame *f, double v)
{
    double u = f->ay.log10 ? log10(v) : v;
    return f->y + f->h - (u - f->ay.lo) / (f->ay.hi - f->ay.lo) * f->h;
}
/* Can v be drawn on axis a (finite, and positive on a log axis)? */
static inline int plot_drawable(const plot_axis *a, double v)
{
    return isfinite(v) && (!a->log10 || v > 0);
}
/* Snap a 1-px line to the pixel grid. */
static inline double plot_crisp(double v) { return floor(v) + 0.5; }

/* Draw s (toy API, sans-serif) anchored at x (ax: 0 left .. 1 right) with its middle at y. */
void plot_text(cairo_t *cr, const char *s, double x, double y, double size, int bold, double ax);
/* Advance width of s in the regular face at size. */
double plot_text_width(cairo_t *cr, const char *s, double size);
/* An axis over [lo, hi] widened by pad (a fraction of the range) with 1-2-5 ticks;
 * integer: steps of at least 1. Empty or non-finite ranges get a sensible span. */
plot_axis plot_axis_make(double lo, double hi, double pad, int integer);
/* Grid lines, frame, ticks, tick labels and axis labels (either may be NULL) of f. */
void plot_draw_axes(cairo_t *cr, const plot_frame *f, const char *xlabel, const char *ylabel);
/* Filled circle with an edge. */
void plot_dot(cairo_t *cr, double x, double y, double r, plot_rgb fill, plot_rgb edge,
              double edge_w);
/* A white w x h canvas in *s; NULL (message in err naming path) on failure. */
cairo_t *plot_canvas(cairo_surface_t **s, int w, int h, const char *path, char *err,
                     size_t errlen);
/* Check the drawing and write s to path as PNG; -1 with a message naming path on failure. */
int plot_save_png(cairo_surface_t *s, cairo_t *cr, const char *path, char *err, size_t errlen);
#endif

#endif
