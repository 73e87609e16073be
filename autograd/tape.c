/* tape.c — the arena, recording, backward (reverse walk), replay.
 *
 * Every node and every intermediate tensor lives in the arena: a list of
 * chunks that bm_tape_reset() rewinds without freeing, so recording the same
 * graph again reuses the same memory and calls the allocator zero times. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly_internal.h"
#include "pool_internal.h"
#include "tape_internal.h"

enum { ARENA_ALIGN = 64, ARENA_CHUNK = 1 << 20 };

typedef struct chunk {
    struct chunk *next;
    size_t cap;
    size_t used;
    unsigned char *base; /* aligned start of the usable bytes */
} chunk;

struct bm_tape {
    bm_allocator alloc;
    chunk *first, *cur;
    bm_node *head, *tail;
    size_t count;
    uint32_t pass;        /* backward pass counter (grad stamps) */
    int grad_enabled;
    int random_frozen;
    int detect_anomaly;   /* check every value for NaN/Inf (anomaly.c) */
    bm_pool *pool;        /* worker threads of the ops (NULL: one thread) */
    bm_error err;
};

static void *sys_alloc(void *ud, size_t n)
{
    (void)ud;
    return malloc(n);
}

static void sys_free(void *ud, void *p)
{
    (void)ud;
    free(p);
}

bm_tape *bm_tape_new(void)
{
    bm_allocator a = {sys_alloc, sys_free, NULL};
    return bm_tape_new_ex(&a);
}

bm_tape *bm_tape_new_ex(const bm_allocator *a)
{
    if (!a || !a->alloc || !a->free)
        return NULL;
    bm_tape *t = a->alloc(a->ud, sizeof *t);
    if (!t)
        return NULL;
    memset(t, 0, sizeof *t);
    t->alloc = *a;
    t->pass = 1;
    t->grad_enabled = 1;
    return t;
}

void bm_tape_free(bm_tape *tape)
{
    if (!tape)
        return;
    chunk *c = tape->first;
    while (c) {
        chunk *next = c->next;
        tape->alloc.free(tape->alloc.ud, c);
        c = next;
    }
    bm_pool_free(tape->pool);
    tape->alloc.free(tape->alloc.ud, tape);
}

void bm_tape_reset(bm_tape *tape)
{
    if (!tape)
        return;
    for (chunk *c = tape->first; c; c = c->next)
        c->used = 0;
    tape->cur = tape->first;
    tape->head = tape->tail = NULL;
    tape->count = 0;
    bm_tape_clear_error(tape);
}

size_t bm_tape_size(const bm_tape *tape) { return tape ? tape->count : 0; }

size_t bm_tape_arena_bytes(const bm_tape *tape)
{
    size_t n = 0;
    if (tape)
        for (const chunk *c = tape->first; c; c = c->next)
            n += c->cap;
    return n;
}

bm_status bm_tape_status(const bm_tape *tape) { return tape ? tape->err.code : BM_ERR_NULL; }

const char *bm_tape_error(const bm_tape *tape) { return tape ? tape->err.msg : "tape is NULL"; }

void bm_tape_clear_error(bm_tape *tape)
{
    if (tape) {
        tape->err.code = BM_OK;
        tape->err.msg[0] = '\0';
    }
}

bm_status bm_tape_fail(bm_tape *tape, bm_status code, const char *fmt, ...)
{
    if (tape && tape->err.code == BM_OK) {
        va_list ap;
        va_start(ap, fmt);
        tape->err.code = code;
        vsnprintf(tape->err.msg, sizeof tape->err.msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

int bm_tape_set_grad_enabled(bm_tape *tape, int on)
{
    int old = tape->grad_enabled;
    tape->grad_enabled = on != 0;
    return old;
}

int bm_tape_grad_enabled(const bm_tape *tape) { return tape->grad_enabled; }

int bm_tape_freeze_random(bm_tape *tape, int on)
{
    int old = tape->random_frozen;
    tape->random_frozen = on != 0;
    return old;
}

int bm_tape_random_frozen(const bm_tape *tape) { return tape->random_frozen; }

int bm_tape_set_detect_anomaly(bm_tape *tape, int on)
{
    if (!tape)
        return 0;
    int old = tape->detect_anomaly;
    tape->detect_anomaly = on != 0;
    return old;
}

int bm_tape_detect_anomaly(const bm_tape *tape) { return tape ? tape->detect_anomaly : 0; }

bm_status bm_tape_set_threads(bm_tape *tape, int threads, bm_error *err)
{
    if (!tape)
        return bm_error_set(err, BM_ERR_NULL, "bm_tape_set_threads: tape is NULL");
    if (threads < 1 || threads > BM_MAX_THREADS)
        return bm_error_set(err, BM_ERR_ARG, "bm_tape_set_threads: %d threads is not in 1..%d",
                            threads, BM_MAX_THREADS);
    if (threads == bm_pool_threads(tape->pool))
        return BM_OK;
    bm_pool *p = NULL;
    if (threads > 1 && !(p = bm_pool_new(threads, err)))
        return err ? err->code : BM_ERR_NOMEM;
    bm_pool_free(tape->pool);
    tape->pool = p;
    return BM_OK;
}

int bm_tape_threads(const bm_tape *tape) { return tape ? bm_pool_threads(tape->pool) : 1; }

bm_pool *bm_tape_pool(const bm_tape *tape) { return tape ? tape->pool : NULL; }

/* Place `bytes` in chunk c if they fit; NULL otherwise. */
static void *chunk_take(chunk *c, size_t bytes)
{
    size_t start = (c->used + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (start > c->cap || bytes > c->cap - start)
        return NULL;
    c->used = start + bytes;
    return c->base + start;
}

void *bm_tape_alloc(bm_tape *tape, size_t bytes)
{
    if (bytes == 0)
        bytes = 1;
    /* Try the current chunk, then later chunks kept from before a reset. */
    for (chunk *c = tape->cur; c; c = c->next) {
        void *p = chunk_take(c, bytes);
        if (p) {
            tape->cur = c;
            return p;
        }
    }
    size_t cap = bytes > ARENA_CHUNK ? bytes : ARENA_CHUNK;
    if (cap > SIZE_MAX - sizeof(chunk) - ARENA_ALIGN) {
        bm_tape_fail(tape, BM_ERR_NOMEM, "out of memory: arena request of %zu bytes", bytes);
        return NULL;
    }
    chunk *c = tape->alloc.alloc(tape->alloc.ud, sizeof(chunk) + ARENA_ALIGN + cap);
    if (!c) {
        bm_tape_fail(tape, BM_ERR_NOMEM, "out of memory: arena request of %zu bytes", bytes);
        return NULL;
    }
    uintptr_t raw = (uintptr_t)(c + 1);
    c->base = (unsigned char *)((raw + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1));
    c->cap = cap;
    c->used = 0;
    c->next = NULL;
    /* Append at the end so the chunk order stays the allocation order. */
    if (!tape->first) {
        tape->first = c;
    } else {
        chunk *last = tape->cur ? tape->cur : tape->first;
        while (last->next)
            last = last->next;
        last->next = c;
    }
    tape->cur = c;
    return chunk_take(c, bytes);
}

bm_tensor *bm_tape_leaf(bm_tape *tape, bm_dtype dt, int rank, const size_t *shape,
                        unsigned flags)
{
    size_t n;
    bm_error e;
    if (!tape || tape->err.code != BM_OK)
        return NULL;
    if (dt != BM_F32 && dt != BM_F64) {
        bm_tape_fail(tape, BM_ERR_DTYPE, "bm_tape_leaf: unknown dtype %d", (int)dt);
        return NULL;
    }
    if (bm_shape_check(rank, shape, &n, &e) != BM_OK) {
        bm_tape_fail(tape, e.code, "bm_tape_leaf: %s", e.msg);
        return NULL;
    }
    bm_tensor *t = bm_tape_alloc(tape, sizeof *t);
    void *data = t ? bm_tape_alloc(tape, n * bm_dtype_size(dt)) : NULL;
    if (!data)
        return NULL;
    memset(t, 0, sizeof *t);
    t->dtype = dt;
    t->rank = rank;
    for (int i = 0; i < BM_MAX_RANK; i++)
        t->shape[i] = i < rank ? shape[i] : 1;
    t->size = n;
    t->data = data;
    memset(data, 0, n * bm_dtype_size(dt));
    t->flags = BM_ON_TAPE | (flags & (BM_REQUIRES_GRAD | BM_PARAM));
    if (t->flags & BM_REQUIRES_GRAD) {
        t->grad = bm_tape_alloc(tape, n * bm_dtype_size(dt));
        if (!t->grad)
            return NULL;
        memset(t->grad, 0, n * bm_dtype_size(dt));
    }
    return t;
}

bm_tensor *bm_tape_apply(bm_tape *tape, const bm_op *op, bm_tensor *const *in, int n_in,
                         const bm_op_params *p)
{
    char s0[64], s1[64];
    if (!tape || tape->err.code != BM_OK)
        return NULL;
    if (n_in != op->arity) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: takes %d inputs, got %d", op->name, op->arity,
                     n_in);
        return NULL;
    }
    for (int k = 0; k < n_in; k++) {
        if (!in[k]) {
            bm_tape_fail(tape, BM_ERR_NULL, "bm_%s: input %d is NULL", op->name, k);
            return NULL;
        }
        if (in[k]->dtype != in[0]->dtype) {
            bm_tape_fail(tape, BM_ERR_DTYPE, "bm_%s: dtype mix: input 0 %s %s, input %d %s %s",
                         op->name, bm_dtype_name(in[0]->dtype), bm_shape_str(in[0], s0, 64), k,
                         bm_dtype_name(in[k]->dtype), bm_shape_str(in[k], s1, 64));
            return NULL;
        }
    }
    bm_node *n = bm_tape_alloc(tape, sizeof *n);
    bm_tensor *out = n ? bm_tape_alloc(tape, sizeof *out) : NULL;
    if (!out)
        return NULL;
    memset(n, 0, sizeof *n);
    memset(out, 0, sizeof *out);
    n->op = op;
    n->out = out;
    n->n_in = n_in;
    for (int k = 0; k < n_in; k++)
        n->in[k] = in[k];
    if (p)
        n->params = *p;
    out->dtype = n_in ? in[0]->dtype : BM_F64;
    out->flags = BM_ON_TAPE;
    for (int i = 0; i < BM_MAX_RANK; i++)
        out->shape[i] = 1;
    if (op->infer(tape, n) != 0) {
        if (tape->err.code == BM_OK)
            bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: invalid input", op->name);
        return NULL;
    }
    bm_error e;
    if (bm_shape_check(out->rank, out->shape, &out->size, &e) != BM_OK) {
        bm_tape_fail(tape, e.code, "bm_%s: output %s", op->name, e.msg);
        return NULL;
    }
    for (int i = out->rank; i < BM_MAX_RANK; i++)
        out->shape[i] = 1;
    out->data = bm_tape_alloc(tape, out->size * bm_dtype_size(out->dtype));
    if (!out->data)
        return NULL;
    if (n->saved_bytes) {
        n->saved = bm_tape_alloc(tape, n->saved_bytes);
        if (!n->saved)
            return NULL;
    }
    n->index = tape->count; /* its position (if recorded): anomaly messages name it */
    op->forward(tape, n);
    if (tape->err.code != BM_OK)
        return NULL; /* the forward rejected a value (e.g. a class index) */
    if (tape->detect_anomaly && bm_anomaly_forward(tape, n) != BM_OK)
        return NULL;
    if (!tape->grad_enabled)
        return out; /* no-grad: a constant result, nothing recorded */
    for (int k = 0; k < n_in; k++)
        if ((in[k]->flags & BM_REQUIRES_GRAD) && !(op->nondiff_mask & (1u << k)))
            out->flags |= BM_REQUIRES_GRAD;
    out->node = n;
    tape->count++;
    n->prev = tape->tail;
    if (tape->tail)
        tape->tail->next = n;
    else
        tape->head = n;
    tape->tail = n;
    return out;
}

void *bm_grad_buf(bm_tape *tape, bm_tensor *t)
{
    if (!(t->flags & BM_REQUIRES_GRAD))
        return NULL;
    if (!t->node)
        return t->grad; /* leaf: accumulate across passes */
    size_t bytes = t->size * bm_dtype_size(t->dtype);
    if (!t->grad) {
        t->grad = bm_tape_alloc(tape, bytes);
        if (!t->grad)
            return NULL;
    }
    if (t->grad_stamp != tape->pass) {
        memset(t->grad, 0, bytes);
        t->grad_stamp = tape->pass;
    }
    return t->grad;
}

/* Is node n recorded on tape? Searched from the newest node (a loss is
 * usually the last one), so the common case costs one comparison. */
static int recorded_here(const bm_tape *tape, const bm_node *n)
{
    for (const bm_node *p = tape->tail; p; p = p->prev)
        if (p == n)
            return 1;
    return 0;
}

void *bm_grad_buf_fresh(bm_tape *tape, bm_tensor *t, int *fresh)
{
    *fresh = 0;
    if ((t->flags & BM_REQUIRES_GRAD) && t->node && t->grad && t->grad_stamp != tape->pass) {
        t->grad_stamp = tape->pass; /* claimed unzeroed: the caller stores */
        *fresh = 1;
        return t->grad;
    }
    return bm_grad_buf(tape, t);
}

bm_status bm_tape_backward(bm_tape *tape, bm_tensor *out, const bm_tensor *seed)
{
    char s0[64], s1[64];
    if (!tape)
        return BM_ERR_NULL;
    if (tape->err.code != BM_OK)
        return tape->err.code;
    if (!out)
        return bm_tape_fail(tape, BM_ERR_NULL, "bm_tape_backward: output is NULL");
    if (!(out->flags & BM_REQUIRES_GRAD))
        return bm_tape_fail(tape, BM_ERR_STATE,
                            "bm_tape_backward: output %s needs no gradient (no input requires "
                            "one, or it was built in no-grad mode)",
                            bm_shape_str(out, s0, 64));
    if (out->node && !recorded_here(tape, out->node))
        return bm_tape_fail(tape, BM_ERR_STATE,
                            "bm_tape_backward: output %s is not recorded on this tape (it is "
                            "another tape's, or was recorded before bm_tape_reset)",
                            bm_shape_str(out, s0, 64));
    if (seed && !bm_tensor_same_shape(seed, out))
        return bm_tape_fail(tape, BM_ERR_SHAPE,
                            "bm_tape_backward: seed %s %s does not match output %s %s",
                            bm_dtype_name(seed->dtype), bm_shape_str(seed, s0, 64),
                            bm_dtype_name(out->dtype), bm_shape_str(out, s1, 64));
    if (!seed && out->size != 1)
        return bm_tape_fail(tape, BM_ERR_SHAPE,
                            "bm_tape_backward: output %s is not a scalar; pass a seed gradient",
                            bm_shape_str(out, s0, 64));
    if (seed && tape->detect_anomaly && bm_anomaly_seed(tape, out, seed) != BM_OK)
        return tape->err.code;
    if (++tape->pass == 0)
        tape->pass = 1;
    void *g = bm_grad_buf(tape, out);
    if (!g)
        return tape->err.code != BM_OK ? tape->err.code
                                       : bm_tape_fail(tape, BM_ERR_STATE,
                                                      "bm_tape_backward: output has no "
                                                      "gradient buffer");
    for (size_t i = 0; i < out->size; i++) {
        double v = seed ? bm_tensor_get(seed, i) : 1.0;
        if (out->dtype == BM_F64)
            ((double *)g)[i] += v;
        else
            ((float *)g)[i] += (float)v;
    }
    for (bm_node *n = out->node; n; n = n->prev) {
        if (n->out->grad_stamp != tape->pass)
            continue; /* no gradient reached this node */
        n->op->backward(tape, n);
        if (tape->err.code != BM_OK)
            return tape->err.code;
        if (tape->detect_anomaly && bm_anomaly_backward(tape, n, tape->pass) != BM_OK)
            return tape->err.code;
    }
    return BM_OK;
}

void bm_tape_zero_grad(bm_tape *tape)
{
    if (!tape)
        return;
    for (bm_node *n = tape->head; n; n = n->next)
        for (int k = 0; k < n->n_in; k++)
            if (!n->in[k]->node)
                bm_tensor_zero_grad(n->in[k]);
}

bm_status bm_tape_forward(bm_tape *tape)
{
    if (!tape)
        return BM_ERR_NULL;
    if (tape->err.code != BM_OK)
        return tape->err.code;
    for (bm_node *n = tape->head; n; n = n->next) {
        n->op->forward(tape, n);
        if (tape->detect_anomaly && bm_anomaly_forward(tape, n) != BM_OK)
            break; /* stop at the first non-finite output */
    }
    return tape->err.code;
}

const bm_node *bm_tape_first(const bm_tape *tape) { return tape ? tape->head : NULL; }

const bm_node *bm_node_next(const bm_node *n) { return n ? n->next : NULL; }

const char *bm_node_op_name(const bm_node *n) { return n->op->name; }

int bm_node_n_inputs(const bm_node *n) { return n->n_in; }

const bm_tensor *bm_node_input(const bm_node *n, int k)
{
    return k >= 0 && k < n->n_in ? n->in[k] : NULL;
}

const bm_tensor *bm_node_output(const bm_node *n) { return n->out; }

size_t bm_node_index(const bm_node *n) { return n->index; }

int bm_node_input_differentiable(const bm_node *n, int k)
{
    return k >= 0 && k < n->n_in && !(n->op->nondiff_mask & (1u << k));
}
