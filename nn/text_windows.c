/* text_windows.c — context windows of a text (bm_text.h) as a data set, and
 * the train/validation split by position. */
#include <math.h>
#include <string.h>

#include "text_internal.h"

bm_text_window_opts bm_text_window_defaults(size_t context)
{
    return (bm_text_window_opts){.context = context,
                                 .stride = 1,
                                 .rng = NULL,
                                 .count = 0,
                                 .target = BM_TEXT_TARGET_SEQUENCE,
                                 .dtype = BM_F32};
}

/* Check o and the range against t; *n gets the number of windows. */
static bm_status check_windows(const bm_text *t, const bm_text_window_opts *o, size_t start,
                               size_t end, size_t *n, bm_error *err)
{
    static const char fn[] = "bm_text_windows";
    size_t T = o->context;
    if (o->dtype != BM_F32 && o->dtype != BM_F64)
        return bm_error_set(err, BM_ERR_DTYPE, "%s: unknown dtype %d", fn, (int)o->dtype);
    if (o->target != BM_TEXT_TARGET_SEQUENCE && o->target != BM_TEXT_TARGET_NEXT)
        return bm_error_set(err, BM_ERR_ARG, "%s: unknown target %d (sequence 0, next 1)", fn,
                            (int)o->target);
    if (T == 0)
        return bm_error_set(err, BM_ERR_ARG, "%s: context 0; a window needs at least 1 token",
                            fn);
    if (!o->rng && o->stride == 0)
        return bm_error_set(err, BM_ERR_ARG, "%s: stride 0; 1 takes every position", fn);
    if (o->rng && o->count == 0)
        return bm_error_set(err, BM_ERR_ARG, "%s: count 0 random windows", fn);
    if (start >= end || end > t->length)
        return bm_error_set(err, BM_ERR_ARG,
                            "%s: range [%zu, %zu) is empty or outside the text of %zu tokens",
                            fn, start, end, t->length);
    size_t span = end - start;
    if (T >= span) /* T + 1 tokens: the window and its last target */
        return bm_error_set(err, BM_ERR_SIZE,
                            "%s: context %zu needs %zu tokens, the range [%zu, %zu) holds %zu",
                            fn, T, T == SIZE_MAX ? T : T + 1, start, end, span);
    size_t positions = span - T; /* first tokens p in [start, end - T - 1] */
    *n = o->rng ? o->count : (positions - 1) / o->stride + 1;
    if (*n > BM_MAX_ELEMENTS / T)
        return bm_error_set(err, BM_ERR_SIZE,
                            "%s: %zu windows of %zu tokens is more than %zu elements", fn, *n, T,
                            (size_t)BM_MAX_ELEMENTS);
    return BM_OK;
}

bm_status bm_text_windows(const bm_text *t, const bm_text_window_opts *o, size_t start,
                          size_t end, bm_dataset *ds, bm_error *err)
{
    if (ds)
        memset(ds, 0, sizeof *ds);
    if (!t || !o || !ds)
        return bm_error_set(err, BM_ERR_NULL, "bm_text_windows: NULL %s",
                            !t ? "text" : !o ? "options" : "data set");
    size_t n = 0, T = o->context;
    bm_status st = check_windows(t, o, start, end, &n, err);
    if (st != BM_OK)
        return st;
    size_t xs[2] = {n, T};
    int seq = o->target == BM_TEXT_TARGET_SEQUENCE;
    bm_error te = {0};
    ds->x = bm_tensor_new(o->dtype, 2, xs, &te);
    ds->y = ds->x ? bm_tensor_new(o->dtype, seq ? 2 : 1, xs, &te) : NULL;
    if (!ds->y) {
        bm_dataset_free(ds);
        return bm_error_set(err, te.code, "bm_text_windows: %zu windows of %zu tokens: %s", n, T,
                            te.msg);
    }
    size_t positions = end - start - T;
    for (size_t i = 0; i < n; i++) {
        /* x [n,T]: tokens p .. p+T-1; y [n,T]: p+1 .. p+T, or y [n]: p+T */
        size_t p = start + (o->rng ? (size_t)bm_rng_below(o->rng, positions) : i * o->stride);
        const uint32_t *tok = t->tokens + p;
        for (size_t j = 0; j < T; j++) {
            bm_tensor_set(ds->x, i * T + j, tok[j]);
            if (seq)
                bm_tensor_set(ds->y, i * T + j, tok[j + 1]);
        }
        if (!seq)
            bm_tensor_set(ds->y, i, tok[T]);
    }
    ds->n_classes = t->vocab;
    return BM_OK;
}

bm_status bm_text_split(const bm_text *t, double val_fraction, size_t *boundary, bm_error *err)
{
    if (boundary)
        *boundary = 0;
    if (!t || !boundary)
        return bm_error_set(err, BM_ERR_NULL, "bm_text_split: NULL %s",
                            !t ? "text" : "boundary");
    if (!(val_fraction >= 0.0 && val_fraction < 1.0))
        return bm_error_set(err, BM_ERR_ARG,
                            "bm_text_split: validation fraction %g is not in [0, 1)",
                            val_fraction);
    double b = floor((1.0 - val_fraction) * (double)t->length);
    *boundary = b >= (double)t->length ? t->length : (size_t)b;
    return BM_OK;
}
