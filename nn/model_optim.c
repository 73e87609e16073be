/* model_optim.c — handing a model an optimizer built outside it
 * (parameter groups, schedules, clipping). */
#include "model_internal.h"

bm_status bm_model_use_optim(bm_model *m, bm_optim *o, bm_error *err)
{
    static const char fn[] = "bm_model_use_optim";
    if (!m || !o)
        return bm_error_set(err, BM_ERR_NULL, "%s: %s is NULL", fn, !m ? "model" : "optimizer");
    if (!m->params)
        return bm_error_set(err, BM_ERR_STATE, "%s: call bm_model_init first", fn);
    if (o == m->opt)
        return BM_OK;
    if (bm_optim_dtype(o) != m->dtype)
        return bm_error_set(err, BM_ERR_DTYPE, "%s: the optimizer is %s, the model %s", fn,
                            bm_dtype_name(bm_optim_dtype(o)), bm_dtype_name(m->dtype));
    if (!bm_optim_is_flat(o) || bm_optim_size(o) != m->n_params)
        return bm_error_set(err, BM_ERR_SIZE, "%s: the optimizer must be flat over the "
                            "model's %zu parameters (it has %zu)", fn, m->n_params,
                            bm_optim_size(o));
    bm_optim_free(m->opt);
    bm_model_drop_groups(m);
    m->opt = o;
    m->ocfg = *bm_optim_get_config(o);
    m->has_ocfg = 1;
    return BM_OK;
}

bm_status bm_model_param_range(bm_model *m, const bm_tensor *t, size_t *offset, size_t *count,
                               bm_error *err)
{
    static const char fn[] = "bm_model_param_range";
    if (!m || !t || !offset || !count)
        return bm_error_set(err, BM_ERR_NULL, "%s: NULL argument", fn);
    if (!m->params)
        return bm_error_set(err, BM_ERR_STATE, "%s: call bm_model_init first", fn);
    size_t esz = bm_dtype_size(m->dtype);
    uintptr_t base = (uintptr_t)m->params, p = (uintptr_t)t->data;
    size_t n = m->n_params;
    if (t->dtype != m->dtype || p < base || (p - base) % esz != 0 || (p - base) / esz >= n ||
        t->size > n - (p - base) / esz)
        return bm_error_set(err, BM_ERR_ARG, "%s: the tensor is not one of the model's "
                            "parameters", fn);
    *offset = (size_t)((p - base) / esz);
    *count = t->size;
    return BM_OK;
}
