/* layer_seq_internal.h — helpers shared by the sequence kinds
 * (layer_rnn.c, layer_attention.c): the [T, width] input check, column
 * slices of a matrix, [B,T,C] as rows. Not installed. */
#ifndef BM_LAYER_SEQ_INTERNAL_H
#define BM_LAYER_SEQ_INTERNAL_H

#include "bm_ops.h"
#include "layer_util_internal.h"

/* The input of a sequence kind is [T, width] per sample: sets *T and
 * *width, or an error naming the kind and the shape. */
static inline bm_status bm_seq_input(const char *kind, const bm_shape *in, size_t *T,
                                     size_t *width, bm_error *err)
{
    if (in->rank != 2) {
        char buf[BM_LAYER_SHAPE_LEN];
        return bm_error_set(err, BM_ERR_SHAPE,
                            "%s: input %s must be [steps, features] (rank 2 per sample)", kind,
                            bm_layer_shape_text(in, buf, sizeof buf));
    }
    *T = in->dim[0];
    *width = in->dim[1];
    return BM_OK;
}

/* Columns [lo, hi) of a matrix x [R,C]. */
static inline bm_tensor *bm_seq_cols(bm_tape *t, bm_tensor *x, size_t lo, size_t hi)
{
    const bm_range r[2] = {{0, BM_END, 1}, {(long)lo, (long)hi, 1}};
    return bm_slice(t, x, 2, r);
}

/* x [B,T,C] as [B·T, C] (the rows of a dense product); NULL for NULL. */
static inline bm_tensor *bm_seq_rows(bm_tape *t, bm_tensor *x)
{
    if (!x || x->rank != 3)
        return bm_reshape(t, x, 2, (size_t[]){x ? x->size : 0, 1});
    return bm_reshape(t, x, 2, (size_t[]){x->shape[0] * x->shape[1], x->shape[2]});
}

#endif
