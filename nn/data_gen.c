/* data_gen.c — the nnfs data sets (spiral, vertical, sine), row subsets,
 * freeing. Every generator draws from the rng it is given, in the same
 * order as nnfs/NumPy, so equal seeds give equal data. */
#include <math.h>
#include <string.h>

#include "bm_data.h"

/* pi to double precision (M_PI is not C11). */
#define BM_DATA_PI 3.14159265358979323846
/* Spiral: each class spans this many radians of t (before the 2.5 factor). */
#define SPIRAL_T_SPAN 4.0
/* Spiral: angle multiplier of sin/cos. */
#define SPIRAL_ANGLE_SCALE 2.5
/* Spiral: standard deviation of the angle noise. */
#define SPIRAL_NOISE 0.2
/* Vertical: standard deviation of each blob. */
#define VERTICAL_STD 0.1
/* Vertical: class c is centred at x0 = c / VERTICAL_X_DIV. */
#define VERTICAL_X_DIV 3.0
/* Vertical: every blob is centred at x1 = VERTICAL_Y_CENTRE. */
#define VERTICAL_Y_CENTRE 0.5

void bm_dataset_free(bm_dataset *ds)
{
    if (!ds)
        return;
    bm_tensor_free(ds->x);
    bm_tensor_free(ds->y);
    memset(ds, 0, sizeof *ds);
}

/* Common checks of the class generators; computes the row count into *n. */
static bm_status check_class_args(const char *fn, bm_dataset *ds, size_t per_class,
                                  size_t classes, bm_dtype dt, const bm_rng *rng, size_t *n,
                                  bm_error *err)
{
    if (!ds)
        return bm_error_set(err, BM_ERR_NULL, "%s: data set is NULL", fn);
    memset(ds, 0, sizeof *ds);
    if (!rng)
        return bm_error_set(err, BM_ERR_NULL, "%s: rng is NULL", fn);
    if (dt != BM_F32 && dt != BM_F64)
        return bm_error_set(err, BM_ERR_DTYPE, "%s: unknown dtype %d", fn, (int)dt);
    if (per_class == 0 || classes == 0)
        return bm_error_set(err, BM_ERR_SIZE, "%s: %zu samples per class x %zu classes is empty",
                            fn, per_class, classes);
    if (per_class > BM_MAX_ELEMENTS / classes / 2)
        return bm_error_set(err, BM_ERR_SIZE, "%s: %zu samples per class x %zu classes is too many",
                            fn, per_class, classes);
    *n = per_class * classes;
    return BM_OK;
}

/* Allocate x [n, f] and y ([n] when n_classes > 0, else [n, 1]) into ds. */
static bm_status alloc_dataset(bm_dataset *ds, size_t n, size_t f, size_t n_classes,
                               bm_dtype dt, bm_error *err)
{
    size_t xs[2] = {n, f}, ys[2] = {n, 1};
    ds->x = bm_tensor_new(dt, 2, xs, err);
    if (!ds->x)
        return err->code;
    ds->y = bm_tensor_new(dt, n_classes ? 1 : 2, ys, err);
    if (!ds->y) {
        bm_status s = err->code;
        bm_dataset_free(ds);
        return s;
    }
    ds->n_classes = n_classes;
    return BM_OK;
}

/* NumPy linspace(start, stop, num)[i]: start + i*step, the last one exactly stop. */
static double linspace_at(double start, double stop, size_t num, size_t i)
{
    if (num < 2)
        return start;
    if (i == num - 1)
        return stop;
    return (double)i * ((stop - start) / (double)(num - 1)) + start;
}

bm_status bm_data_spiral(bm_dataset *ds, size_t samples_per_class, size_t classes,
                         bm_dtype dt, bm_rng *rng, bm_error *err)
{
    bm_error local_err;
    if (!err)
        err = &local_err;
    size_t n, per = samples_per_class;
    bm_status s = check_class_args("bm_data_spiral", ds, per, classes, dt, rng, &n, err);
    if (s != BM_OK || (s = alloc_dataset(ds, n, 2, classes, dt, err)) != BM_OK)
        return s;
    for (size_t c = 0; c < classes; c++) {
        double t0 = SPIRAL_T_SPAN * (double)c, t1 = SPIRAL_T_SPAN * (double)(c + 1);
        for (size_t i = 0; i < per; i++) {
            size_t row = c * per + i;
            double r = linspace_at(0.0, 1.0, per, i);
            double t = linspace_at(t0, t1, per, i) + bm_rng_normal(rng) * SPIRAL_NOISE;
            bm_tensor_set(ds->x, 2 * row, r * sin(t * SPIRAL_ANGLE_SCALE));
            bm_tensor_set(ds->x, 2 * row + 1, r * cos(t * SPIRAL_ANGLE_SCALE));
            bm_tensor_set(ds->y, row, (double)c);
        }
    }
    return BM_OK;
}

bm_status bm_data_vertical(bm_dataset *ds, size_t samples_per_class, size_t classes,
                           bm_dtype dt, bm_rng *rng, bm_error *err)
{
    bm_error local_err;
    if (!err)
        err = &local_err;
    size_t n, per = samples_per_class;
    bm_status s = check_class_args("bm_data_vertical", ds, per, classes, dt, rng, &n, err);
    if (s != BM_OK || (s = alloc_dataset(ds, n, 2, classes, dt, err)) != BM_OK)
        return s;
    for (size_t c = 0; c < classes; c++) {
        /* np.c_[randn(N)*.1 + c/3, randn(N)*.1 + 0.5]: all x0 first, then all x1. */
        for (size_t i = 0; i < per; i++)
            bm_tensor_set(ds->x, 2 * (c * per + i),
                          bm_rng_normal(rng) * VERTICAL_STD + (double)c / VERTICAL_X_DIV);
        for (size_t i = 0; i < per; i++)
            bm_tensor_set(ds->x, 2 * (c * per + i) + 1,
                          bm_rng_normal(rng) * VERTICAL_STD + VERTICAL_Y_CENTRE);
        for (size_t i = 0; i < per; i++)
            bm_tensor_set(ds->y, c * per + i, (double)c);
    }
    return BM_OK;
}

bm_status bm_data_sine(bm_dataset *ds, size_t samples, bm_dtype dt, bm_error *err)
{
    bm_error local_err;
    if (!err)
        err = &local_err;
    if (!ds)
        return bm_error_set(err, BM_ERR_NULL, "bm_data_sine: data set is NULL");
    memset(ds, 0, sizeof *ds);
    if (dt != BM_F32 && dt != BM_F64)
        return bm_error_set(err, BM_ERR_DTYPE, "bm_data_sine: unknown dtype %d", (int)dt);
    if (samples == 0)
        return bm_error_set(err, BM_ERR_SIZE, "bm_data_sine: 0 samples");
    if (samples > BM_MAX_ELEMENTS)
        return bm_error_set(err, BM_ERR_SIZE, "bm_data_sine: %zu samples is too many", samples);
    bm_status s = alloc_dataset(ds, samples, 1, 0, dt, err);
    if (s != BM_OK)
        return s;
    for (size_t i = 0; i < samples; i++) {
        double x = (double)i / (double)samples;
        bm_tensor_set(ds->x, i, x);
        bm_tensor_set(ds->y, i, sin(2.0 * BM_DATA_PI * x));
    }
    return BM_OK;
}

/* A copy of rows [start, start+count) of t (rank >= 1, rows = shape[0]). */
static bm_tensor *slice_rows(const bm_tensor *t, size_t start, size_t count, bm_error *err)
{
    size_t shape[BM_MAX_RANK];
    for (int i = 0; i < t->rank; i++)
        shape[i] = t->shape[i];
    size_t width = t->size / t->shape[0], es = bm_dtype_size(t->dtype);
    shape[0] = count;
    bm_tensor *o = bm_tensor_new(t->dtype, t->rank, shape, err);
    if (o)
        memcpy(o->data, (const char *)t->data + start * width * es, count * width * es);
    return o;
}

bm_status bm_dataset_subset(bm_dataset *out, const bm_dataset *src, size_t start, size_t count,
                            bm_error *err)
{
    bm_error local_err;
    if (!err)
        err = &local_err;
    if (!out || !src)
        return bm_error_set(err, BM_ERR_NULL, "bm_dataset_subset: NULL data set");
    if (out == src)
        return bm_error_set(err, BM_ERR_ARG, "bm_dataset_subset: out and src are the same");
    memset(out, 0, sizeof *out);
    if (!src->x || !src->y || !src->x->data || !src->y->data)
        return bm_error_set(err, BM_ERR_NULL, "bm_dataset_subset: source has no x or y");
    if (src->x->rank < 1 || src->y->rank < 1 || src->x->shape[0] != src->y->shape[0])
        return bm_error_set(err, BM_ERR_SHAPE, "bm_dataset_subset: x and y row counts differ");
    size_t rows = src->x->shape[0];
    if (count == 0)
        return bm_error_set(err, BM_ERR_SIZE, "bm_dataset_subset: count is 0");
    if (start > rows || count > rows - start)
        return bm_error_set(err, BM_ERR_ARG,
                            "bm_dataset_subset: rows [%zu, %zu+%zu) outside the %zu rows",
                            start, start, count, rows);
    out->x = slice_rows(src->x, start, count, err);
    out->y = out->x ? slice_rows(src->y, start, count, err) : NULL;
    if (!out->y) {
        bm_status s = err->code;
        bm_dataset_free(out);
        return s;
    }
    out->n_classes = src->n_classes;
    return BM_OK;
}
