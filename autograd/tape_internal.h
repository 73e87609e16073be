/* tape_internal.h — nodes, the arena and the engine's own calls (not
 * installed). The op interface itself is public: bm_op.h.
 *
 * bm_tape_record() checks inputs, copies the parameter block, runs infer,
 * allocates the output, saved values and scratch in the arena, runs forward
 * and appends the node to the list being recorded: the tape's main list, or
 * a backward plan (the gradient graph bm_tape_backward builds once per
 * output and replays). Backward walks the main list in reverse. */
#ifndef BM_TAPE_INTERNAL_H
#define BM_TAPE_INTERNAL_H

#include "bm_op.h"

struct bm_node {
    const bm_op *op;
    bm_tensor *out;
    bm_tensor **in;        /* n_in inputs, in the arena */
    int n_in;
    void *params;          /* copy of op->params_size bytes, or NULL */
    void *saved;           /* saved values: forward fills, vjp reads */
    size_t saved_bytes;
    void *scratch;         /* scratch memory of the forward (shared) */
    size_t scratch_bytes;
    size_t index;          /* position in its list */
    int accumulate;        /* forward adds into out (a leaf's gradient) */
    /* Nodes of a gradient graph: the forward node whose vjp built it and
     * the input whose gradient it is (-1: an intermediate of that vjp). */
    const struct bm_node *origin;
    int origin_input;
    const bm_tensor *origin_grad; /* the gradient the vjp was given */
    int backward;          /* recorded by a gradient pass (the profiler's phase) */
    uint32_t prof_row;     /* its row in the profiler's table + 1 (0: none) */
    struct bm_node *prev, *next;
};

/* Arena allocation of `bytes` (64-byte aligned, not zeroed). NULL sets a
 * nomem error on the tape. */
void *bm_tape_alloc(bm_tape *tape, size_t bytes);

/* Internal name of bm_tape_record for the built-in ops. */
static inline bm_tensor *bm_tape_apply(bm_tape *tape, const bm_op *op, bm_tensor *const *in,
                                       int n_in, const void *params)
{
    return bm_tape_record(tape, op, in, n_in, params);
}

/* Is the tape's random state frozen (replay keeps dropout masks)? */
int bm_tape_random_frozen(const bm_tape *tape);

/* The tape's worker threads for op kernels (bm_tape_set_threads); NULL when
 * it runs on one thread. */
struct bm_pool *bm_tape_pool(const bm_tape *tape);

/* Is input k of node n differentiable (its nondiff bit clear)? */
static inline int bm_node_diff(const bm_node *n, int k)
{
    return k >= 32 || !(n->op->nondiff & (1u << k));
}

#endif
