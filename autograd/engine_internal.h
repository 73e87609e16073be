/* engine_internal.h — the tape's own state, shared by tape.c (arena,
 * recording) and backward.c (gradient graphs, plans). Not installed; ops
 * never include it. */
#ifndef BM_ENGINE_INTERNAL_H
#define BM_ENGINE_INTERNAL_H

#include "pool_internal.h"
#include "tape_internal.h"

/* Alignment of arena buffers, and the size of a new chunk (a larger
 * request gets a chunk of its own); a growing arena starts with chunks of
 * BM_ARENA_MIN_CHUNK and doubles up to BM_ARENA_CHUNK (a small graph's
 * buffers do not take a whole chunk). */
enum { BM_ARENA_ALIGN = 64, BM_ARENA_CHUNK = 1 << 20, BM_ARENA_MIN_CHUNK = 1 << 16 };

typedef struct chunk {
    struct chunk *next;
    size_t cap;
    size_t used;
    unsigned char *base; /* aligned start of the usable bytes */
} chunk;

/* A list of chunks (arena.c): rewound by bm_tape_reset, freed with the tape. */
typedef struct bm_arena {
    chunk *first, *cur;
    int grows;               /* chunks grow from BM_ARENA_MIN_CHUNK (else BM_ARENA_CHUNK) */
} bm_arena;

/* A new chunk of cap usable bytes from the tape's allocator (not linked);
 * NULL with a nomem error. */
chunk *bm_chunk_new(bm_tape *tape, size_t cap);
/* bytes aligned to align (a power of two, at most BM_ARENA_ALIGN) from a;
 * NULL with a nomem error on the tape. */
void *bm_arena_alloc(bm_tape *tape, bm_arena *a, size_t bytes, size_t align);
/* Mark every chunk of a unused (keeps them). */
void bm_arena_rewind(bm_arena *a);
/* Free every chunk of a. */
void bm_arena_release(bm_tape *tape, bm_arena *a);
/* Bytes held by a's chunks. */
size_t bm_arena_cap(const bm_arena *a);
/* Does p point into one of a's chunks? */
int bm_arena_holds(const bm_arena *a, const void *p);

/* A buffer the memory planner places (memplan.c): an op output's data or a
 * node's saved block, with its live interval over the schedule. */
typedef struct bm_buf {
    unsigned char *old, *at; /* where it was recorded; where the plan put it */
    size_t bytes;
    uint32_t def, last;      /* schedule positions: written first, read last */
    int pinned;              /* kept over the whole schedule (never shared) */
    const bm_tensor *owner;  /* the output it holds; NULL: a saved block */
} bm_buf;

/* A tensor the caller asked to keep (bm_tape_keep). */
typedef struct bm_keep {
    const bm_tensor *t;
    struct bm_keep *next;
} bm_keep;

/* The memory planner's state of a tape. */
typedef struct bm_memplan {
    int enabled;             /* plan at the first replay of a gradient graph */
    int planned;             /* this recording's buffers live in one slab */
    bm_buf *bufs;            /* planned buffers, by old address (meta arena) */
    size_t n_bufs;
    size_t slab_bytes;       /* the slab's size */
    size_t buffer_bytes;     /* their bytes unplanned (each its own) */
    size_t peak_live;        /* most bytes live at once over the schedule */
    uint32_t first_plan;     /* schedule position where the gradient graphs start */
    int shared_fwd;          /* the backward reuses memory of values it reads */
    int stale;               /* a gradient graph ran since the last forward (and
                              * shared_fwd): forward values may be overwritten */
    int dry;                 /* record without running kernels (bm_tape_set_dry_run) */
    int undefined;           /* nodes were recorded dry since the last forward:
                              * their values are not computed */
    bm_keep *keeps;
} bm_memplan;

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
    bm_tensor *seed_view;    /* the tensor whose .grad is the seed (the output), or NULL */
    bm_leaf_add *leaves;     /* every leaf the plan gives a gradient (g NULL) */
    bm_node_list nodes;
    bm_leaf_add *adds;
    bm_grad_view *views;
    struct bm_plan *next;
} bm_plan;

/* The profiler's counts of one op kind in one phase (profile.c). */
typedef struct bm_prof_row {
    const bm_op *op;
    int backward;            /* phase: recorded by a gradient pass */
    uint64_t calls;
    double seconds, flops;
} bm_prof_row;

/* The profiler's table: rows are added when a node is recorded (or when
 * profiling is turned on over recorded nodes), never while a graph runs. */
typedef struct bm_prof {
    int on;
    uint32_t n, cap;
    bm_prof_row *rows;       /* tape->alloc'd; kept over bm_tape_reset */
} bm_prof;

struct bm_tape {
    bm_allocator alloc;
    bm_arena meta;          /* nodes, headers, leaves, constants, scratch */
    bm_arena data;          /* recorded nodes' outputs and saved blocks */
    bm_memplan mem;         /* the memory planner (memplan.c) */
    bm_node_list main;      /* forward nodes (and create_graph gradients) */
    bm_node_list *rec;      /* where bm_tape_record appends */
    int rec_plan;           /* recording a plan: outputs need no gradient */
    int rec_data;           /* recording a kept plan: outputs go to the data arena */
    uint32_t pass;          /* gradient pass counter (grad stamps) */
    uint32_t epoch;         /* reset counter (stale tensors) */
    int pruning;            /* this pass wants only want_stamp'd tensors */
    int grad_enabled;
    int random_frozen;
    int detect_anomaly;     /* check every value for NaN/Inf (anomaly.c) */
    int grad_phase;         /* recording a gradient graph (its nodes are backward) */
    bm_prof prof;           /* time per op kind and phase (profile.c) */
    void *scratch;          /* shared scratch memory of the forwards */
    size_t scratch_bytes;
    bm_plan *plans;
    const bm_plan *views_of; /* the plan whose buffers intermediate .grad point into */
    bm_pool *pool;          /* worker threads of the ops (NULL: one thread) */
    bm_error err;
};

/* Give node n its row in the profiler's table (found or added); -1 with a
 * nomem error on the tape when the table cannot grow. */
int bm_prof_assign(bm_tape *tape, bm_node *n);
/* Run n's forward, timed, and add it to its row. */
void bm_prof_run(bm_tape *tape, bm_node *n);
/* Free the profiler's table (bm_tape_free). */
void bm_prof_free(bm_tape *tape);

/* Run node n's forward: timed when profiling, else directly (one branch). */
static inline void bm_run_node(bm_tape *tape, bm_node *n)
{
    if (tape->prof.on)
        bm_prof_run(tape, n);
    else
        n->op->forward(tape, n);
}

/* Plan the memory of the tape's recorded graph now (bm_tape_plan_memory). */
bm_status bm_memplan_run(bm_tape *tape);
/* Before a gradient pass on a planned tape: when its forward values may be
 * overwritten (stale), replay the forward (random ops frozen) first. */
bm_status bm_memplan_fresh(bm_tape *tape);
/* After a gradient graph ran on a planned tape: mark it stale if its
 * buffers share memory with forward values. */
void bm_memplan_ran(bm_tape *tape);
/* Refuse recording node n when an input's memory was reused by the plan:
 * -1 with BM_ERR_STATE naming the op and input, else 0. */
int bm_memplan_check_inputs(bm_tape *tape, const bm_node *n);

/* Is node n on the tape's main list? (Searched from the newest node.) */
int bm_tape_on_main(const bm_tape *tape, const bm_node *n);

#endif
