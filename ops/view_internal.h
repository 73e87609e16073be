/* view_internal.h — strided views for the shape ops (permute, transpose,
 * slice, pad, concat, stack): a tensor's elements addressed as
 * base[offset + Σ i_k·stride_k] over a shape padded on the left to rank 4.
 * Not installed. */
#ifndef BM_VIEW_INTERNAL_H
#define BM_VIEW_INTERNAL_H

#include "ops_internal.h"

typedef struct bm_view {
    size_t shape[BM_MAX_RANK];  /* the dense side's shape, left-padded with 1s */
    size_t stride[BM_MAX_RANK]; /* element strides into the strided side */
    size_t offset;              /* first element of the strided side */
} bm_view;

/* Row-major element strides of t, one per axis of t (strides[k] for axis k). */
void bm_view_strides(const bm_tensor *t, size_t *strides);
/* A view of `rank` axes (shape, strides per axis) padded to rank 4. */
bm_view bm_view_make(int rank, const size_t *shape, const size_t *strides, size_t offset);
/* dst (dense, v's shape) = src read through v. */
void bm_view_read(bm_dtype dt, void *dst, const void *src, const bm_view *v);
/* dst written through v = src (dense, v's shape); elements of dst outside
 * the view are left as they are. */
void bm_view_write(bm_dtype dt, void *dst, const void *src, const bm_view *v);
/* Set n elements of dst to v. */
void bm_fill(bm_dtype dt, void *dst, size_t n, double v);

#endif
