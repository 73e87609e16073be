/* engine_internal.h — the tape's own state, shared by tape.c (arena,
 * recording) and backward.c (gradient graphs, plans). Not installed; ops
 * never include it. */
#ifndef BM_ENGINE_INTERNAL_H
#define BM_ENGINE_INTERNAL_H

#include "pool_internal.h"
#include "tape_internal.h"

typedef struct chunk {
    struct chunk *next;
    size_t cap;
    size_t used;
    unsigned char *base; /* aligned start of the usable bytes */
} chunk;

/* A list of nodes being recorded into (the main list or a plan's). */
typedef struct bm_node_list {
    bm_node *head, *tail;
    size_t count;
} bm_node_list;

/* A leaf's gradient that a plan adds into leaf->grad after its nodes ran. */
typedef struct bm_leaf_add {
    bm_tensor *leaf, *g;
    struct bm_leaf_add *next;
} bm_leaf_add;

/* An intermediate tensor whose .grad a plan points at its gradient. */
typedef struct bm_grad_view {
    bm_tensor *t, *g;
    struct bm_grad_view *next;
} bm_grad_view;

/* The gradient graph of one output, built by the first bm_tape_backward
 * from it and replayed by the next ones (no allocation). */
typedef struct bm_plan {
    const bm_tensor *out;
    int seeded;              /* built for a caller's seed (else ones) */
    bm_tensor *seed;         /* the seed leaf the nodes read */
    bm_node_list nodes;
    bm_leaf_add *adds;
    bm_grad_view *views;
    struct bm_plan *next;
} bm_plan;

struct bm_tape {
    bm_allocator alloc;
    chunk *first, *cur;
    bm_node_list main;      /* forward nodes (and create_graph gradients) */
    bm_node_list *rec;      /* where bm_tape_record appends */
    int rec_plan;           /* recording a plan: outputs need no gradient */
    uint32_t pass;          /* gradient pass counter (grad stamps) */
    uint32_t epoch;         /* reset counter (stale tensors) */
    int pruning;            /* this pass wants only want_stamp'd tensors */
    int grad_enabled;
    int random_frozen;
    int detect_anomaly;     /* check every value for NaN/Inf (anomaly.c) */
    void *scratch;          /* shared scratch memory of the forwards */
    size_t scratch_bytes;
    bm_plan *plans;
    bm_pool *pool;          /* worker threads of the ops (NULL: one thread) */
    bm_error err;
};

/* Is node n on the tape's main list? (Searched from the newest node.) */
int bm_tape_on_main(const bm_tape *tape, const bm_node *n);

#endif
