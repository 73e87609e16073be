/* view.c — strided views shared by the shape ops (view_internal.h).
 * Kernels: view_kernels.inc per element type. */
#include "view_internal.h"

#define T float
#define F(name) name##_f32
#include "view_kernels.inc"
#undef T
#undef F
#define T double
#define F(name) name##_f64
#include "view_kernels.inc"
#undef T
#undef F

void bm_view_strides(const bm_tensor *t, size_t *strides)
{
    size_t s = 1;
    for (int k = t->rank - 1; k >= 0; k--) {
        strides[k] = s;
        s *= t->shape[k];
    }
}

bm_view bm_view_make(int rank, const size_t *shape, const size_t *strides, size_t offset)
{
    bm_view v = {.offset = offset};
    int pad = BM_MAX_RANK - rank;
    for (int k = 0; k < BM_MAX_RANK; k++) {
        v.shape[k] = k < pad ? 1 : shape[k - pad];
        v.stride[k] = k < pad ? 0 : strides[k - pad];
    }
    return v;
}

void bm_view_read(bm_dtype dt, void *dst, const void *src, const bm_view *v)
{
    if (dt == BM_F64)
        view_read_f64(dst, src, v);
    else
        view_read_f32(dst, src, v);
}

void bm_view_write(bm_dtype dt, void *dst, const void *src, const bm_view *v)
{
    if (dt == BM_F64)
        view_write_f64(dst, src, v);
    else
        view_write_f32(dst, src, v);
}

void bm_fill(bm_dtype dt, void *dst, size_t n, double v)
{
    if (dt == BM_F64)
        fill_f64(dst, n, v);
    else
        fill_f32(dst, n, (float)v);
}
