/* grad_internal.h — gradient buffers for backward kernels that write every
 * element of an input's gradient (not installed). */
#ifndef BM_GRAD_INTERNAL_H
#define BM_GRAD_INTERNAL_H

#include "tape_internal.h"

/* Like bm_grad_buf(tape, t) for node n's backward, for a kernel about to
 * write every element of t's gradient. When this pass has not touched the
 * buffer of the intermediate t yet, it is returned without being zeroed and
 * *fresh is 1: the kernel must store (=) rather than add (+=), which saves
 * the zeroing pass over the buffer. Otherwise *fresh is 0 and the kernel
 * adds, as with bm_grad_buf: leaves (parameters) always accumulate, and a
 * first pass allocates and zeroes the buffer. During n's backward
 * n->out->grad_stamp is the current pass (backward runs a node only when its
 * output's gradient carries the pass's stamp). When t is also another input
 * of n, finish the store before adding anything else into t's gradient. */
static inline void *bm_grad_buf_all(bm_tape *tape, const bm_node *n, bm_tensor *t, int *fresh)
{
    *fresh = 0;
    if ((t->flags & BM_REQUIRES_GRAD) && t->node && t->grad &&
        t->grad_stamp != n->out->grad_stamp) {
        t->grad_stamp = n->out->grad_stamp;
        *fresh = 1;
        return t->grad;
    }
    return bm_grad_buf(tape, t);
}

#endif
