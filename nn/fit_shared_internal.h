/* fit_shared_internal.h — what bm_model_fit (nn/fit.c, nn/metrics.c) and
 * bm_dist_fit (nn/dist_fit.c, built on the model's public API) share, so
 * that both train on the same row order and the same regression tolerance
 * (not installed). */
#ifndef BM_FIT_SHARED_INTERNAL_H
#define BM_FIT_SHARED_INTERNAL_H

#include <stddef.h>

#include "bm_autograd.h"

/* Population standard deviation of t's elements. */
double bm_tensor_std(const bm_tensor *t);

/* Fisher–Yates shuffle of the n row indices p with rng (an epoch's order). */
static inline void bm_fit_shuffle(size_t *p, size_t n, bm_rng *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)bm_rng_below(rng, i);
        size_t t = p[i - 1];
        p[i - 1] = p[j];
        p[j] = t;
    }
}

#endif
