/* model_data.c — a data set checked against a model before anything runs
 * on it: shapes, and every target against the loss's domain. Training,
 * evaluation and `bmnn gradcheck --data` share this one check. */
#include "model_internal.h"

/* Room for a shape string in a message. */
#define SHAPE_SHOWN 64

/* Every value of y [N] or [N,T] must be in [0, 1] (probabilities). */
static bm_status check_unit_targets(const bm_model *m, const bm_tensor *y, const char *what,
                                    bm_error *err)
{
    size_t cols = y->rank == 1 ? 1 : y->shape[1];
    for (size_t i = 0; i < y->size; i++) {
        double v = bm_tensor_get(y, i);
        if (!(v >= 0.0 && v <= 1.0))
            return bm_error_set(err, BM_ERR_ARG,
                                "%s: row %zu, column %zu has target %g; %s targets must be in "
                                "[0, 1]",
                                what, i / cols, i % cols, v, bm_loss_name(m->loss));
    }
    return BM_OK;
}

/* Features [N, inputs], or [N, ...] of as many values per row for a model of one input. */
static bm_status check_features(const bm_model *m, const bm_tensor *x, const char *what,
                                bm_error *err)
{
    char s[SHAPE_SHOWN];
    int ok = x->rank >= 2 && x->size == x->shape[0] * m->n_inputs;
    if (ok && x->rank > 2) /* [N, C, H, W]: rows of one input's values, reshaped to it */
        ok = m->n_in == 1;
    if (!ok)
        return bm_error_set(err, BM_ERR_SHAPE, "%s: features %s do not fit the model's %zu inputs",
                            what, bm_shape_str(x, s, sizeof s), m->n_inputs);
    return BM_OK;
}

/* Every value of y must be a class number 0..classes-1. */
static bm_status check_labels(const bm_tensor *y, size_t classes, const char *what,
                              bm_error *err)
{
    size_t cols = y->rank == 1 ? 1 : y->shape[1];
    for (size_t i = 0; i < y->size; i++) {
        double v = bm_tensor_get(y, i);
        if (!(v >= 0.0 && v < (double)classes) || v != (double)(size_t)v) {
            if (cols == 1)
                return bm_error_set(err, BM_ERR_ARG,
                                    "%s: row %zu has label %g, the model has %zu classes", what,
                                    i, v, classes);
            return bm_error_set(err, BM_ERR_ARG, "%s: row %zu, position %zu has label %g, the "
                                "model has %zu classes", what, i / cols, i % cols, v, classes);
        }
    }
    return BM_OK;
}

bm_status bm_model_check_data(const bm_model *m, const bm_dataset *ds, const char *what,
                              bm_error *err)
{
    char s[SHAPE_SHOWN];
    if (!what)
        what = "data";
    if (!m)
        return bm_error_set(err, BM_ERR_NULL, "%s: model is NULL", what);
    if (!ds || !ds->x || !ds->y)
        return bm_error_set(err, BM_ERR_NULL, "%s: data set is empty", what);
    bm_status st = check_features(m, ds->x, what, err);
    if (st != BM_OK)
        return st;
    if (ds->y->rank < 1 || ds->y->rank > 2)
        return bm_error_set(err, BM_ERR_SHAPE, "%s: targets %s are not [N] or [N,T]", what,
                            bm_shape_str(ds->y, s, sizeof s));
    if (ds->y->shape[0] != ds->x->shape[0])
        return bm_error_set(err, BM_ERR_SHAPE, "%s: %zu rows of features but %zu targets", what,
                            ds->x->shape[0], ds->y->shape[0]);
    bm_loss_layout L = bm_model_loss_layout(m);
    size_t outs = L.width;
    if (bm_loss_categorical(m->loss) && L.positions > 1) {
        if (ds->y->rank != 2 || ds->y->shape[1] != L.positions)
            return bm_error_set(err, BM_ERR_SHAPE, "%s: targets %s do not fit the output [%zu,%zu]: "
                                "a sequence model takes class numbers [N,%zu]", what,
                                bm_shape_str(ds->y, s, sizeof s), L.positions, L.classes,
                                L.positions);
        return check_labels(ds->y, L.classes, what, err);
    }
    if (bm_loss_categorical(m->loss)) {
        if (ds->y->rank == 2 && ds->y->shape[1] != outs)
            return bm_error_set(err, BM_ERR_SHAPE, "%s: one-hot targets have %zu columns, the model %zu outputs",
                                what, ds->y->shape[1], outs);
        if (ds->y->rank == 2)
            return check_unit_targets(m, ds->y, what, err);
        return check_labels(ds->y, outs, what, err);
    }
    size_t t = ds->y->rank == 1 ? 1 : ds->y->shape[1];
    if (t != outs)
        return bm_error_set(err, BM_ERR_SHAPE, "%s: targets have %zu columns, the model %zu outputs",
                            what, t, outs);
    return m->loss == BM_LOSS_BCE ? check_unit_targets(m, ds->y, what, err) : BM_OK;
}
