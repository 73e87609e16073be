/* plot_draw.c — cairo drawing helpers for the plots (palette, text, axes,
 * canvas, PNG output). Built only with cairo. */
#include "plot_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* tab10: matplotlib's default categorical palette. */
static const plot_rgb PALETTE[] = {
    {0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173}, {0.839, 0.153, 0.157},
    {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294}, {0.890, 0.467, 0.761}, {0.498, 0.498, 0.498},
    {0.737, 0.741, 0.133}, {0.090, 0.745, 0.812},
};
#define PALETTE_N (sizeof PALETTE / sizeof PALETTE[0])
/* Beyond this magnitude tick labels use %g; also past this many decimals. */
#define PLOT_FIXED_MAX 1e6
#define PLOT_FIXED_DECIMALS 6
/* Most ticks one axis draws. */
#define PLOT_MAX_TICKS 100
/* A range this small relative to its values counts as flat. */
#define PLOT_FLAT_RANGE 1e-12
/* Stand-in bounds when a range overflows. */
#define PLOT_HUGE 1e300

plot_rgb plot_class_colour(size_t k) { return PALETTE[k % PALETTE_N]; }

void plot_text(cairo_t *cr, const char *s, double x, double y, double size, int bold, double ax)
{
    cairo_text_extents_t te;
    cairo_font_extents_t fe;
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_text_extents(cr, s, &te);
    cairo_font_extents(cr, &fe);
    cairo_move_to(cr, x - ax * te.x_advance, y + (fe.ascent - fe.descent) / 2);
    cairo_show_text(cr, s);
}

double plot_text_width(cairo_t *cr, const char *s, double size)
{
    cairo_text_extents_t te;
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_text_extents(cr, s, &te);
    return te.x_advance;
}

plot_axis plot_axis_make(double lo, double hi, double pad, int integer)
{
    plot_axis a;
    if (!isfinite(lo) || !isfinite(hi))
        lo = 0, hi = 1;
    if (!isfinite(hi - lo))
        lo = -PLOT_HUGE, hi = PLOT_HUGE;
    if (!(hi - lo > PLOT_FLAT_RANGE * fmax(fabs(lo), fabs(hi)))) {
        double d = lo != 0 ? fabs(lo) * 0.1 : 1.0;
        lo -= d, hi += d;
    }
    double p = (hi - lo) * pad;
    a.lo = lo - p, a.hi = hi + p;
    double raw = (a.hi - a.lo) / PLOT_TICK_TARGET, mag = pow(10, floor(log10(raw))), f = raw / mag;
    a.step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
    if (integer && a.step < 1)
        a.step = 1;
    a.decimals = a.step >= 1 ? 0 : (int)ceil(-log10(a.step) - 1e-9);
    a.log10 = 0;
    return a;
}

/* Tick label of v: fixed decimals for the step, %g for extreme values. */
static void tick_label(char *buf, size_t len, const plot_axis *a, double v)
{
    if (a->log10) { /* a decade tick: the value itself */
        snprintf(buf, len, "%g", pow(10, v));
        return;
    }
    if (fabs(v) < a->step * 1e-9)
        v = 0;
    if (fabs(v) >= PLOT_FIXED_MAX || a->decimals > PLOT_FIXED_DECIMALS)
        snprintf(buf, len, "%.3g", v);
    else
        snprintf(buf, len, "%.*f", a->decimals, v);
}

void plot_draw_axes(cairo_t *cr, const plot_frame *f, const char *xlabel, const char *ylabel)
{
    char buf[PLOT_NUM_LEN];
    const double tick = 5, gap = 8;
    for (int pass = 0; pass < 2; pass++) {
        const plot_axis *a = pass ? &f->ay : &f->ax;
        double k0 = ceil(a->lo / a->step - 1e-9), k1 = floor(a->hi / a->step + 1e-9);
        if (!(k1 - k0 >= 0 && k1 - k0 <= PLOT_MAX_TICKS))
            continue; /* beyond what doubles can count: leave the axis bare */
        for (int t = 0; t <= (int)(k1 - k0); t++) {
            double v = (k0 + t) * a->step; /* on a log axis, log10 of the value */
            double p = plot_crisp(pass ? plot_fy(f, a->log10 ? pow(10, v) : v) : plot_fx(f, v));
            plot_set_grey(cr, 0.88);
            cairo_set_line_width(cr, 1);
            if (pass) {
                cairo_move_to(cr, f->x, p);
                cairo_line_to(cr, f->x + f->w, p);
            } else {
                cairo_move_to(cr, p, f->y);
                cairo_line_to(cr, p, f->y + f->h);
            }
            cairo_stroke(cr);
            plot_set_grey(cr, 0.3);
            if (pass) {
                cairo_move_to(cr, f->x - tick, p);
                cairo_line_to(cr, f->x, p);
            } else {
                cairo_move_to(cr, p, f->y + f->h);
                cairo_line_to(cr, p, f->y + f->h + tick);
            }
            cairo_stroke(cr);
            tick_label(buf, sizeof buf, a, v);
            plot_set_grey(cr, 0.2);
            if (pass)
                plot_text(cr, buf, f->x - tick - gap / 2, p, PLOT_FONT_TICK, 0, 1);
            else
                plot_text(cr, buf, p, f->y + f->h + tick + gap + PLOT_FONT_TICK / 2, PLOT_FONT_TICK,
                          0, 0.5);
        }
    }
    plot_set_grey(cr, 0.3);
    cairo_rectangle(cr, plot_crisp(f->x), plot_crisp(f->y), floor(f->w), floor(f->h));
    cairo_stroke(cr);
    plot_set_grey(cr, 0.1);
    if (xlabel)
        plot_text(cr, xlabel, f->x + f->w / 2,
                  f->y + f->h + 2 * PLOT_FONT_TICK + 2 * gap + PLOT_FONT_LABEL / 2,
                  PLOT_FONT_LABEL, 0, 0.5);
    if (ylabel) {
        cairo_save(cr);
        cairo_translate(cr, f->x - 4 * PLOT_FONT_TICK - gap, f->y + f->h / 2);
        cairo_rotate(cr, -PLOT_PI / 2);
        plot_text(cr, ylabel, 0, 0, PLOT_FONT_LABEL, 0, 0.5);
        cairo_restore(cr);
    }
}

void plot_dot(cairo_t *cr, double x, double y, double r, plot_rgb fill, plot_rgb edge,
              double edge_w)
{
    cairo_new_sub_path(cr);
    cairo_arc(cr, x, y, r, 0, 2 * PLOT_PI);
    plot_set_rgb(cr, fill);
    cairo_fill_preserve(cr);
    plot_set_rgb(cr, edge);
    cairo_set_line_width(cr, edge_w);
    cairo_stroke(cr);
}

/* cairo's PNG stream callback: append to the atomic writer. */
static cairo_status_t png_chunk(void *closure, const unsigned char *data, unsigned int length)
{
    return bm_writer_write(closure, data, length) == BM_OK ? CAIRO_STATUS_SUCCESS
                                                           : CAIRO_STATUS_WRITE_ERROR;
}

int plot_save_png(cairo_surface_t *s, cairo_t *cr, const char *path, char *err, size_t errlen)
{
    cairo_status_t st = cairo_status(cr);
    if (st != CAIRO_STATUS_SUCCESS)
        return plot_fail(err, errlen, "%s: drawing failed: %s", path, cairo_status_to_string(st));
    bm_error e = {0};
    bm_writer *w = bm_writer_open(path, &e);
    if (!w)
        return plot_fail(err, errlen, "%s", e.msg);
    st = cairo_surface_write_to_png_stream(s, png_chunk, w);
    if (st != CAIRO_STATUS_SUCCESS && st != CAIRO_STATUS_WRITE_ERROR) {
        bm_writer_abort(w);
        return plot_fail(err, errlen, "%s: cannot write PNG: %s", path, cairo_status_to_string(st));
    }
    /* a write error is the writer's (sticky): commit names its reason */
    if (bm_writer_commit(w, &e) != BM_OK)
        return plot_fail(err, errlen, "%s", e.msg);
    return 0;
}

cairo_t *plot_canvas(cairo_surface_t **s, int w, int h, const char *path, char *err,
                     size_t errlen)
{
    *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(*s);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        plot_fail(err, errlen, "%s: cannot create image: %s", path,
                  cairo_status_to_string(cairo_status(cr)));
        cairo_destroy(cr);
        cairo_surface_destroy(*s);
        *s = NULL;
        return NULL;
    }
    cairo_set_antialias(cr, CAIRO_ANTIALIAS_BEST);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    return cr;
}
