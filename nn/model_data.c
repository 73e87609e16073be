/* model_data.c — a data set checked against a model before anything runs
 * on it: shapes, and every target against the loss's domain. Training,
 * evaluation and `bmnn gradcheck --data` share this one check. */
#include "model_internal.h"

/* Room for a shape string in a message. */
#define SHAPE_SHOWN 64

static int categorical(bm_loss_kind k) { return k == BM_LOSS_CCE || k == BM_LOSS_SOFTMAX_CCE; }

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
    if (ds->x->rank != 2 || ds->x->shape[1] != m->n_inputs)
        return bm_error_set(err, BM_ERR_SHAPE, "%s: features %s do not fit the model's %zu inputs",
                            what, bm_shape_str(ds->x, s, sizeof s), m->n_inputs);
    if (ds->y->rank < 1 || ds->y->rank > 2)
        return bm_error_set(err, BM_ERR_SHAPE, "%s: targets %s are not [N] or [N,T]", what,
                            bm_shape_str(ds->y, s, sizeof s));
    if (ds->y->shape[0] != ds->x->shape[0])
        return bm_error_set(err, BM_ERR_SHAPE, "%s: %zu rows of features but %zu targets", what,
                            ds->x->shape[0], ds->y->shape[0]);
    size_t outs = bm_model_width(m);
    if (categorical(m->loss)) {
        if (ds->y->rank == 2 && ds->y->shape[1] != outs)
            return bm_error_set(err, BM_ERR_SHAPE, "%s: one-hot targets have %zu columns, the model %zu outputs",
                                what, ds->y->shape[1], outs);
        if (ds->y->rank == 2)
            return check_unit_targets(m, ds->y, what, err);
        for (size_t i = 0; i < ds->y->size; i++) {
            double v = bm_tensor_get(ds->y, i);
            if (!(v >= 0.0 && v < (double)outs) || v != (double)(size_t)v)
                return bm_error_set(err, BM_ERR_ARG,
                                    "%s: row %zu has label %g, the model has %zu classes", what,
                                    i, v, outs);
        }
        return BM_OK;
    }
    size_t t = ds->y->rank == 1 ? 1 : ds->y->shape[1];
    if (t != outs)
        return bm_error_set(err, BM_ERR_SHAPE, "%s: targets have %zu columns, the model %zu outputs",
                            what, t, outs);
    return m->loss == BM_LOSS_BCE ? check_unit_targets(m, ds->y, what, err) : BM_OK;
}
