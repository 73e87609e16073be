#define _POSIX_C_SOURCE 200809L
/* test_plot.c — the plotting module of the bmnn program (tools/plot.c):
 * history, CSV, and with cairo the curves and decision-region PNGs.
 * Set BM_TEST_PLOT_DIR to keep the PNGs there for a look. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plot.h"
#include "test_util.h"

#ifdef BM_HAVE_CAIRO
#include <cairo.h>
#endif

enum { ERR_LEN = 512, PATH_LEN = 512, SPIRAL_PER_CLASS = 100, SPIRAL_CLASSES = 3, HIDDEN = 64 };
/* Epochs of the spiral training (enough for clear regions, still fast). */
enum { TRAIN_EPOCHS = 1500 };
/* Expected image sizes. */
enum { CURVES_W = 1000, CURVES_H = 600, BOUNDARY_W = 800, BOUNDARY_H = 800 };
/* Bytes read from a PNG: signature (8), IHDR length+type (8), width and height (8). */
enum { PNG_HEAD = 24 };

static bm_epoch_stats stats(uint64_t epoch, double loss, double acc, double vl, double va)
{
    bm_epoch_stats s = {epoch, 0, loss, loss, 0, acc, 0.001, vl, va};
    return s;
}

/* A fresh temporary directory in buf. */
static void temp_dir(char *buf, size_t len)
{
    snprintf(buf, len, "%s/bmnn-plot-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

/* dir/name into out, which must be large enough. */
static void join(char *out, size_t len, const char *dir, const char *name)
{
    int n = snprintf(out, len, "%s/%s", dir, name);
    ck_assert(n > 0 && (size_t)n < len);
}

/* Whole file into a NUL-terminated malloc'd string. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (n + 1 >= cap) {
            cap = cap ? 2 * cap : 256;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        buf[n++] = (char)c;
    }
    fclose(f);
    if (!buf)
        buf = calloc(1, 1);
    ck_assert_ptr_nonnull(buf);
    buf[n] = '\0';
    return buf;
}

START_TEST(history_push_grows)
{
    plot_history h = {0};
    const size_t n = 1000;
    for (size_t i = 0; i < n; i++) {
        double v = (double)i;
        bm_epoch_stats s = stats(i, v / 2, v / 1000, i % 2 ? NAN : v, v + 1);
        ck_assert_int_eq(plot_history_push(&h, &s), 0);
        ck_assert_uint_eq(h.n, i + 1);
        ck_assert_uint_ge(h.cap, h.n);
    }
    for (size_t i = 0; i < n; i++) {
        double v = (double)i;
        ck_assert(h.epoch[i] == v && h.loss[i] == v / 2 && h.acc[i] == v / 1000);
        ck_assert(i % 2 ? isnan(h.val_loss[i]) : h.val_loss[i] == v);
        ck_assert(h.val_acc[i] == v + 1);
    }
    ck_assert_int_eq(plot_history_push(NULL, NULL), -1);
    ck_assert_int_eq(plot_history_push(&h, NULL), -1);
    ck_assert_uint_eq(h.n, n);
    plot_history_free(&h);
    ck_assert_uint_eq(h.n, 0);
    ck_assert_uint_eq(h.cap, 0);
    ck_assert_ptr_null(h.loss);
    plot_history_free(&h); /* twice, and NULL, are fine */
    plot_history_free(NULL);
}
END_TEST

START_TEST(csv_exact)
{
    plot_history h = {0};
    bm_epoch_stats rows[] = {
        stats(0, 1.0986122886681098, 0.33333333333333331, NAN, NAN),
        stats(1, 0.5, 0.1, 0.75, 0.25),
        stats(2, INFINITY, 1, -INFINITY, 1e-7),
    };
    rows[1].reg_loss = 1e-6;
    rows[1].data_loss = 0.5 - 1e-6;
    for (size_t i = 0; i < 2; i++)
        ck_assert_int_eq(plot_history_push(&h, &rows[i]), 0);
    ck_assert_int_eq(plot_history_push_at(&h, &rows[2], 2.5), 0);
    char dir[PATH_LEN], path[PATH_LEN], err[ERR_LEN] = "";
    temp_dir(dir, sizeof dir);
    join(path, sizeof path, dir, "curves.csv");
    ck_assert_msg(plot_curves_csv(path, &h, err, sizeof err) == 0, "%s", err);
    char *got = slurp(path);
    ck_assert_str_eq(got, "epoch,loss,data_loss,reg_loss,accuracy,val_loss,val_accuracy,lr,time_s\n"
                          "0,1.0986122886681098,1.0986122886681098,0,0.33333333333333331,,,0.001,\n"
                          "1,0.5,0.499999,1e-06,0.1,0.75,0.25,0.001,\n"
                          "2,inf,inf,0,1,-inf,1e-07,0.001,2.5\n");
    free(got);
    /* The metric column is named by the caller (regression: within_tol). */
    h.metric = "within_tol";
    ck_assert_int_eq(plot_curves_csv(path, &h, err, sizeof err), 0);
    got = slurp(path);
    ck_assert_msg(!strncmp(got, "epoch,loss,data_loss,reg_loss,within_tol,val_loss,val_within_tol,"
                                "lr,time_s\n", 71), "%s", got);
    free(got);
    /* An empty history is a header only. */
    plot_history empty = {0};
    ck_assert_int_eq(plot_curves_csv(path, &empty, err, sizeof err), 0);
    got = slurp(path);
    ck_assert_str_eq(got, "epoch,loss,data_loss,reg_loss,accuracy,val_loss,val_accuracy,lr,time_s\n");
    free(got);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(rmdir(dir), 0);
    plot_history_free(&h);
}
END_TEST

/* The loss gets a log axis by default when it spans PLOT_LOG_DECADES decades and is
 * positive; LOG and LINEAR force one. */
START_TEST(log_scale_choice)
{
    plot_history h = {0};
    ck_assert_int_eq(plot_loss_log_scale(&h, PLOT_SCALE_AUTO), 0); /* empty */
    ck_assert_int_eq(plot_loss_log_scale(&h, PLOT_SCALE_LOG), 1);
    ck_assert_int_eq(plot_loss_log_scale(NULL, PLOT_SCALE_AUTO), 0);
    bm_epoch_stats s = stats(0, 1.0, 0.5, NAN, NAN);
    ck_assert_int_eq(plot_history_push(&h, &s), 0);
    s = stats(1, 0.02, 0.5, NAN, NAN); /* 1.7 decades */
    ck_assert_int_eq(plot_history_push(&h, &s), 0);
    ck_assert_int_eq(plot_loss_log_scale(&h, PLOT_SCALE_AUTO), 0);
    s = stats(2, 0.009, 0.5, NAN, NAN); /* past 2 decades */
    ck_assert_int_eq(plot_history_push(&h, &s), 0);
    ck_assert_int_eq(plot_loss_log_scale(&h, PLOT_SCALE_AUTO), 1);
    ck_assert_int_eq(plot_loss_log_scale(&h, PLOT_SCALE_LINEAR), 0);
    s = stats(3, NAN, 0.5, INFINITY, NAN); /* non-finite values do not count */
    ck_assert_int_eq(plot_history_push(&h, &s), 0);
    ck_assert_int_eq(plot_loss_log_scale(&h, PLOT_SCALE_AUTO), 1);
    s = stats(4, 0.5, 0.5, 1e-9, NAN); /* the validation loss counts */
    ck_assert_int_eq(plot_history_push(&h, &s), 0);
    ck_assert_int_eq(plot_loss_log_scale(&h, PLOT_SCALE_AUTO), 1);
    h.loss[0] = 0; /* a zero loss would vanish from a log axis: stay linear */
    ck_assert_int_eq(plot_loss_log_scale(&h, PLOT_SCALE_AUTO), 0);
    ck_assert_int_eq(plot_loss_log_scale(&h, PLOT_SCALE_LOG), 1);
    plot_history_free(&h);
}
END_TEST

START_TEST(csv_unwritable_names_path)
{
    plot_history h = {0};
    bm_epoch_stats s = stats(0, 1, 0.5, NAN, NAN);
    ck_assert_int_eq(plot_history_push(&h, &s), 0);
    const char *path = "/nonexistent-bmnn-dir/sub/curves.csv";
    char err[ERR_LEN] = "";
    ck_assert_int_eq(plot_curves_csv(path, &h, err, sizeof err), -1);
    ck_assert_msg(strstr(err, path) != NULL, "message '%s' does not name the path", err);
    ck_assert_int_eq(plot_curves_csv(NULL, &h, err, sizeof err), -1);
    ck_assert_int_eq(plot_curves_csv(path, &h, NULL, 0), -1); /* no message buffer is fine */
    plot_history_free(&h);
}
END_TEST

#ifdef BM_HAVE_CAIRO

/* Width and height from a PNG's IHDR after checking the signature. */
static void png_size(const char *path, unsigned long *w, unsigned long *h)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char b[PNG_HEAD];
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s was not written", path);
    size_t got = fread(b, 1, sizeof b, f);
    fclose(f);
    ck_assert_uint_eq(got, sizeof b);
    ck_assert_msg(memcmp(b, sig, sizeof sig) == 0, "%s: no PNG signature", path);
    ck_assert(memcmp(b + 12, "IHDR", 4) == 0);
    *w = *h = 0;
    for (int i = 0; i < 4; i++) { /* big-endian at bytes 16..19 and 20..23 */
        *w = *w << 8 | b[16 + i];
        *h = *h << 8 | b[20 + i];
    }
}

static int push_cb(void *ud, const bm_epoch_stats *s)
{
    return plot_history_push(ud, s) != 0; /* stop on out of memory */
}

/* The walk-through's 2-64-3 spiral classifier, Adam, not yet trained. */
static bm_model *spiral_model(size_t n_inputs)
{
    bm_error err = {0};
    bm_model *m = bm_model_new(BM_F32, n_inputs, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    bm_layer_spec d1 = bm_dense_spec(n_inputs, HIDDEN), relu = bm_activation_spec(BM_LAYER_RELU),
                  d2 = bm_dense_spec(HIDDEN, SPIRAL_CLASSES);
    d1.init = BM_INIT_HE;
    bm_optim_config adam = bm_optim_defaults(BM_OPT_ADAM);
    adam.lr = 0.05;
    adam.decay = 5e-5;
    ck_assert_msg(bm_model_add(m, &d1, &err) == BM_OK && bm_model_add(m, &relu, &err) == BM_OK &&
                      bm_model_add(m, &d2, &err) == BM_OK &&
                      bm_model_set_loss(m, BM_LOSS_SOFTMAX_CCE, &err) == BM_OK &&
                      bm_model_set_optimizer(m, &adam, &err) == BM_OK &&
                      bm_model_init(m, 0, &err) == BM_OK,
                  "%s", err.msg);
    return m;
}

static void spiral(bm_dataset *ds, uint64_t seed)
{
    bm_rng rng;
    bm_error err = {0};
    bm_rng_seed(&rng, seed);
    ck_assert_msg(bm_data_spiral(ds, SPIRAL_PER_CLASS, SPIRAL_CLASSES, BM_F32, &rng, &err) == BM_OK,
                  "%s", err.msg);
}

START_TEST(train_and_plot_spiral)
{
    bm_dataset train = {0}, val = {0};
    spiral(&train, 0);
    spiral(&val, 1);
    bm_model *m = spiral_model(2);
    plot_history h = {0};
    bm_fit_opts fo = bm_fit_defaults();
    fo.epochs = TRAIN_EPOCHS;
    fo.val = &val;
    fo.callback = push_cb;
    fo.callback_ud = &h;
    bm_error e = {0};
    ck_assert_msg(bm_model_fit(m, &train, &fo, &e) == BM_OK, "%s", e.msg);
    ck_assert_uint_eq(h.n, TRAIN_EPOCHS);
    ck_assert(h.loss[h.n - 1] < h.loss[0]);

    const char *keep = getenv("BM_TEST_PLOT_DIR");
    char dir[PATH_LEN], loss[PATH_LEN], bnd[PATH_LEN], err[ERR_LEN] = "";
    if (keep)
        snprintf(dir, sizeof dir, "%s", keep);
    else
        temp_dir(dir, sizeof dir);
    join(loss, sizeof loss, dir, "spiral-loss.png");
    join(bnd, sizeof bnd, dir, "spiral-boundary.png");
    ck_assert_msg(plot_curves_png(loss, &h, PLOT_SCALE_AUTO, err, sizeof err) == 0, "%s", err);
    /* A given title first, then the default one over the old file. */
    ck_assert_msg(plot_boundary_png(bnd, m, &train, "decision regions", err, sizeof err) == 0,
                  "%s", err);
    ck_assert_msg(plot_boundary_png(bnd, m, &train, NULL, err, sizeof err) == 0, "%s", err);
    unsigned long w, ht;
    png_size(loss, &w, &ht);
    ck_assert_uint_eq(w, CURVES_W);
    ck_assert_uint_eq(ht, CURVES_H);
    png_size(bnd, &w, &ht);
    ck_assert_uint_eq(w, BOUNDARY_W);
    ck_assert_uint_eq(ht, BOUNDARY_H);
    if (!keep) {
        ck_assert_int_eq(unlink(loss), 0);
        ck_assert_int_eq(unlink(bnd), 0);
        ck_assert_int_eq(rmdir(dir), 0);
    }
    plot_history_free(&h);
    bm_model_free(m);
    bm_dataset_free(&train);
    bm_dataset_free(&val);
    cairo_debug_reset_static_data();
}
END_TEST

/* The grid's grey (0.88) as cairo writes it; the loss panel's frame rows (plot.c). */
enum { GRID_GREY_LO = 220, GRID_GREY_HI = 230, LOSS_FRAME_TOP = 100, LOSS_FRAME_BOTTOM = 515 };

/* Horizontal grid lines (grid grey, three pixels in a row) crossing column x of the loss
 * panel, between its top and bottom. */
static int grid_rows(const char *path, int x)
{
    cairo_surface_t *img = cairo_image_surface_create_from_png(path);
    ck_assert_int_eq(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
    const unsigned char *d = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img), rows = 0;
    for (int y = LOSS_FRAME_TOP + 2; y < LOSS_FRAME_BOTTOM - 2; y++) { /* inside the frame */
        int grid = 1;
        for (int dx = 0; dx < 3; dx++) { /* three pixels in a row: a line, not a curve */
            uint32_t px;
            memcpy(&px, d + (size_t)y * (size_t)stride + 4 * (size_t)(x + dx), sizeof px);
            unsigned r = px >> 16 & 0xff, g = px >> 8 & 0xff, b = px & 0xff;
            grid &= r == g && g == b && g >= GRID_GREY_LO && g <= GRID_GREY_HI;
        }
        rows += grid;
    }
    cairo_surface_destroy(img);
    return rows;
}

/* A loss over four decades: a log axis by default, with a grid line per decade
 * (1e-4 .. 1: three inside the frame); --plot-linear keeps the linear one. */
START_TEST(curves_log_axis_has_decade_ticks)
{
    char dir[PATH_LEN], path[PATH_LEN], err[ERR_LEN] = "";
    temp_dir(dir, sizeof dir);
    join(path, sizeof path, dir, "log-loss.png");
    plot_history h = {0};
    for (size_t i = 0; i < 200; i++) {
        bm_epoch_stats s = stats(i, pow(10, -4.0 * (double)i / 199.0), 0.5, NAN, NAN);
        ck_assert_int_eq(plot_history_push(&h, &s), 0);
    }
    ck_assert_int_eq(plot_loss_log_scale(&h, PLOT_SCALE_AUTO), 1);
    ck_assert_msg(plot_curves_png(path, &h, PLOT_SCALE_AUTO, err, sizeof err) == 0, "%s", err);
    int rows = grid_rows(path, 400);
    ck_assert_msg(rows == 3, "log axis: %d grid rows at x 400, want 3 (0.001, 0.01, 0.1)", rows);
    ck_assert_msg(plot_curves_png(path, &h, PLOT_SCALE_LINEAR, err, sizeof err) == 0, "%s", err);
    rows = grid_rows(path, 400);
    ck_assert_msg(rows >= 3 && rows <= 8, "linear axis: %d grid rows", rows);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(rmdir(dir), 0);
    plot_history_free(&h);
    cairo_debug_reset_static_data();
}
END_TEST

START_TEST(curves_odd_histories)
{
    char dir[PATH_LEN], path[PATH_LEN], err[ERR_LEN] = "";
    temp_dir(dir, sizeof dir);
    join(path, sizeof path, dir, "odd-loss.png");
    plot_history h = {0};
    ck_assert_int_eq(plot_curves_png(path, &h, PLOT_SCALE_AUTO, err, sizeof err), -1); /* empty */
    ck_assert_msg(strstr(err, "empty") != NULL, "%s", err);
    /* Nothing finite at all: empty panels that say so. */
    bm_epoch_stats s = stats(0, NAN, NAN, NAN, NAN);
    ck_assert_int_eq(plot_history_push(&h, &s), 0);
    ck_assert_msg(plot_curves_png(path, &h, PLOT_SCALE_AUTO, err, sizeof err) == 0, "%s", err);
    /* One epoch: dots, flat ranges. */
    h.loss[0] = h.acc[0] = 1;
    ck_assert_msg(plot_curves_png(path, &h, PLOT_SCALE_AUTO, err, sizeof err) == 0, "%s", err);
    /* A long history (thinned) with NaN, Inf, sparse validation and no accuracy at all. */
    plot_history_free(&h);
    for (size_t i = 0; i < 50000; i++) {
        double v = 1.0 / (1.0 + (double)i / 100);
        double loss = i % 997 == 5 ? NAN : i % 1009 == 7 ? INFINITY : v;
        s = stats(i, loss, NAN, i % 100 ? NAN : v * 1.1, NAN);
        ck_assert_int_eq(plot_history_push(&h, &s), 0);
    }
    ck_assert_msg(plot_curves_png(path, &h, PLOT_SCALE_AUTO, err, sizeof err) == 0, "%s", err);
    unsigned long w, ht;
    png_size(path, &w, &ht);
    ck_assert_uint_eq(w, CURVES_W);
    ck_assert_uint_eq(ht, CURVES_H);
    /* Forced log axis over a loss falling 5 decades, with zeros and negatives left out;
     * a log axis over less than one decade; and all values non-positive. */
    for (size_t i = 0; i < h.n; i++)
        h.loss[i] = i % 5000 == 1 ? (i % 2 ? 0.0 : -1.0) : pow(10, -5.0 * (double)i / (double)h.n);
    ck_assert_msg(plot_curves_png(path, &h, PLOT_SCALE_LOG, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(plot_curves_png(path, &h, PLOT_SCALE_AUTO, err, sizeof err) == 0, "%s", err);
    for (size_t i = 0; i < h.n; i++)
        h.loss[i] = 0.5 + 0.1 * (double)(i % 3), h.val_loss[i] = NAN;
    ck_assert_msg(plot_curves_png(path, &h, PLOT_SCALE_LOG, err, sizeof err) == 0, "%s", err);
    for (size_t i = 0; i < h.n; i++)
        h.loss[i] = -(double)i;
    ck_assert_msg(plot_curves_png(path, &h, PLOT_SCALE_LOG, err, sizeof err) == 0, "%s", err);
    png_size(path, &w, &ht);
    ck_assert_uint_eq(w, CURVES_W);
    /* Huge and constant values. */
    for (size_t i = 0; i < h.n; i++)
        h.loss[i] = i % 2 ? 1e300 : -1e300, h.acc[i] = 0.5;
    ck_assert_msg(plot_curves_png(path, &h, PLOT_SCALE_AUTO, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(rmdir(dir), 0);
    plot_history_free(&h);
    cairo_debug_reset_static_data();
}
END_TEST

START_TEST(boundary_rejects_bad_data)
{
    bm_dataset three = {0}, reg = {0}, two = {0};
    bm_rng rng;
    bm_error e = {0};
    bm_rng_seed(&rng, 0);
    size_t shp3[2] = {10, 3}, shp1[1] = {10};
    three.x = bm_tensor_randn(BM_F32, 2, shp3, 0, 1, &rng, &e);
    three.y = bm_tensor_new(BM_F32, 1, shp1, &e);
    three.n_classes = 2;
    ck_assert_ptr_nonnull(three.x);
    ck_assert_ptr_nonnull(three.y);
    bm_model *m3 = spiral_model(3), *m2 = spiral_model(2);
    char err[ERR_LEN] = "";
    const char *path = "/nonexistent-bmnn-dir/b.png";
    ck_assert_int_eq(plot_boundary_png(path, m3, &three, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "2 feature columns") && strstr(err, "has 3"), "%s", err);
    /* Regression data (no classes). */
    spiral(&two, 0);
    ck_assert_int_eq(bm_dataset_subset(&reg, &two, 0, 20, &e), BM_OK);
    reg.n_classes = 0;
    ck_assert_int_eq(plot_boundary_png(path, m2, &reg, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "classification") != NULL, "%s", err);
    /* A model that does not take 2 inputs. */
    ck_assert_int_eq(plot_boundary_png(path, m3, &two, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "2 inputs") != NULL, "%s", err);
    ck_assert_int_eq(plot_boundary_png(NULL, m2, &two, NULL, err, sizeof err), -1);
    bm_model_free(m3);
    bm_model_free(m2);
    bm_dataset_free(&three);
    bm_dataset_free(&reg);
    bm_dataset_free(&two);
    cairo_debug_reset_static_data();
}
END_TEST

START_TEST(png_unwritable_names_path)
{
    plot_history h = {0};
    bm_epoch_stats s = stats(0, 1, 0.5, 1.5, 0.4);
    ck_assert_int_eq(plot_history_push(&h, &s), 0);
    s = stats(1, 0.8, 0.6, 1.2, 0.5);
    ck_assert_int_eq(plot_history_push(&h, &s), 0);
    const char *path = "/nonexistent-bmnn-dir/sub/run-loss.png";
    char err[ERR_LEN] = "";
    ck_assert_int_eq(plot_curves_png(path, &h, PLOT_SCALE_AUTO, err, sizeof err), -1);
    ck_assert_msg(strstr(err, path) != NULL, "message '%s' does not name the path", err);
    bm_dataset ds = {0};
    spiral(&ds, 0);
    bm_model *m = spiral_model(2);
    const char *bpath = "/nonexistent-bmnn-dir/sub/run-boundary.png";
    err[0] = '\0';
    ck_assert_int_eq(plot_boundary_png(bpath, m, &ds, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, bpath) != NULL, "message '%s' does not name the path", err);
    bm_model_free(m);
    bm_dataset_free(&ds);
    plot_history_free(&h);
    cairo_debug_reset_static_data();
}
END_TEST

#else

START_TEST(png_without_cairo)
{
    plot_history h = {0};
    bm_epoch_stats s = stats(0, 1, 0.5, NAN, NAN);
    ck_assert_int_eq(plot_history_push(&h, &s), 0);
    char err[ERR_LEN] = "";
    ck_assert_int_eq(plot_curves_png("x.png", &h, PLOT_SCALE_AUTO, err, sizeof err), -1);
    ck_assert_str_eq(err, "built without cairo");
    ck_assert_int_eq(plot_boundary_png("x.png", NULL, NULL, NULL, err, sizeof err), -1);
    ck_assert_str_eq(err, "built without cairo");
    plot_history_free(&h);
}
END_TEST

#endif

START_TEST(available_matches_build)
{
#ifdef BM_HAVE_CAIRO
    ck_assert_int_eq(plot_available(), 1);
#else
    ck_assert_int_eq(plot_available(), 0);
#endif
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("plot");
    TCase *tc = tcase_create("plot");
    tcase_add_test(tc, history_push_grows);
    tcase_add_test(tc, csv_exact);
    tcase_add_test(tc, log_scale_choice);
    tcase_add_test(tc, csv_unwritable_names_path);
    tcase_add_test(tc, available_matches_build);
#ifdef BM_HAVE_CAIRO
    tcase_add_test(tc, train_and_plot_spiral);
    tcase_add_test(tc, curves_odd_histories);
    tcase_add_test(tc, curves_log_axis_has_decade_ticks);
    tcase_add_test(tc, boundary_rejects_bad_data);
    tcase_add_test(tc, png_unwritable_names_path);
#else
    tcase_add_test(tc, png_without_cairo);
#endif
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
