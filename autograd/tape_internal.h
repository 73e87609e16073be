/* tape_internal.h — the op interface, nodes and the arena (not installed).
 *
 * An op is one bm_op: name, arity, shape inference, forward and backward.
 * bm_tape_apply() checks inputs, runs infer, allocates the output and the
 * saved buffer in the arena, runs forward and (unless no-grad) appends the
 * node. Backward walks nodes in reverse creation order. */
#ifndef BM_TAPE_INTERNAL_H
#define BM_TAPE_INTERNAL_H

#include "bm_autograd.h"

/* Small op parameters stored inline in the node. */
typedef struct bm_op_params {
    double f[2];               /* scalars: pow exponent, scale, dropout rate */
    long i[BM_MAX_RANK + 2];   /* axes, keepdims, new shapes, flags */
    void *p;                   /* e.g. the dropout RNG (not owned) */
} bm_op_params;

typedef struct bm_op bm_op;

struct bm_node {
    const bm_op *op;
    bm_tensor *out;
    bm_tensor *in[BM_MAX_INPUTS];
    int n_in;
    bm_op_params params;
    void *saved;          /* arena buffer the forward fills for backward */
    size_t saved_bytes;   /* set by infer */
    size_t index;         /* tape position */
    struct bm_node *prev, *next;
};

struct bm_op {
    const char *name;
    int arity;
    unsigned nondiff_mask;  /* bit k set: input k gets no gradient */
    /* Set n->out->rank/shape (dtype defaults to input 0's) and
     * n->saved_bytes; on bad input call bm_tape_fail and return non-zero. */
    int (*infer)(bm_tape *tape, bm_node *n);
    /* Compute n->out->data (and n->saved) from the inputs. */
    void (*forward)(bm_tape *tape, bm_node *n);
    /* Add to the inputs' gradients from n->out->grad (use bm_grad_buf). */
    void (*backward)(bm_tape *tape, bm_node *n);
};

/* Record op on inputs in[0..n_in-1] with params p (may be NULL). Returns the
 * output tensor or NULL (error set on the tape). */
bm_tensor *bm_tape_apply(bm_tape *tape, const bm_op *op, bm_tensor *const *in, int n_in,
                         const bm_op_params *p);

/* Arena allocation of `bytes` (64-byte aligned, not zeroed). NULL sets a
 * nomem error on the tape. */
void *bm_tape_alloc(bm_tape *tape, size_t bytes);

/* Gradient buffer of t to accumulate into during the current backward pass,
 * or NULL when t needs no gradient. Intermediate buffers are allocated on
 * first use and zeroed once per pass. */
void *bm_grad_buf(bm_tape *tape, bm_tensor *t);

/* Like bm_grad_buf, for a backward kernel about to write every element of
 * t's gradient. When this pass has not touched the intermediate t's buffer
 * yet, it is returned without zeroing and *fresh is 1: the kernel must store
 * (=), not add, which saves the zeroing pass. Otherwise *fresh is 0 and the
 * kernel adds (leaves always accumulate; a first pass allocates and zeroes).
 * When t is also another input of the node, finish the store before adding
 * anything else into t's gradient. */
void *bm_grad_buf_fresh(bm_tape *tape, bm_tensor *t, int *fresh);

/* Is the tape's random state frozen (replay keeps dropout masks)? */
int bm_tape_random_frozen(const bm_tape *tape);

/* The tape's worker threads for op kernels (bm_tape_set_threads); NULL when
 * it runs on one thread. */
struct bm_pool *bm_tape_pool(const bm_tape *tape);

/* The output's incoming gradient during backward. */
static inline const void *bm_out_grad(const bm_node *n) { return n->out->grad; }

#endif
