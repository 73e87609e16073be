/* tape.c — the arena, the tape's state, recording, replay, graph walking.
 *
 * Every node and every intermediate tensor lives in the tape's arenas
 * (arena.c): chunks that bm_tape_reset() rewinds without freeing, so
 * recording the same graph again reuses the same memory and calls the
 * allocator zero times. A recorded node's output and saved block go to the
 * data arena, which the memory planner may replace (memplan.c).
 * Gradients (bm_tape_backward, bm_grad) are in backward.c. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly_internal.h"
#include "engine_internal.h"

enum { HEADER_ALIGN = 16 };

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
    bm_allocator a = {.alloc = sys_alloc, .free = sys_free, .ud = NULL};
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
    t->rec = &t->main;
    t->data.grows = 1;
    return t;
}

void bm_tape_free(bm_tape *tape)
{
    if (!tape)
        return;
    bm_arena_release(tape, &tape->meta);
    bm_arena_release(tape, &tape->data);
    bm_pool_free(tape->pool);
    bm_prof_free(tape);
    tape->alloc.free(tape->alloc.ud, tape);
}

void bm_tape_reset(bm_tape *tape)
{
    if (!tape)
        return;
    bm_arena_rewind(&tape->meta);
    bm_arena_rewind(&tape->data);
    tape->mem = (bm_memplan){.enabled = tape->mem.enabled, .dry = tape->mem.dry};
    memset(&tape->main, 0, sizeof tape->main);
    tape->rec = &tape->main;
    tape->rec_plan = 0;
    tape->plans = NULL;
    tape->views_of = NULL;
    tape->scratch = NULL;
    tape->scratch_bytes = 0;
    tape->epoch++;
    bm_tape_clear_error(tape);
}

size_t bm_tape_size(const bm_tape *tape) { return tape ? tape->main.count : 0; }

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
    if (tape && tape->err.code == BM_OK && fmt) {
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
    if (!tape)
        return 0;
    int old = tape->grad_enabled;
    tape->grad_enabled = on != 0;
    return old;
}

int bm_tape_grad_enabled(const bm_tape *tape) { return tape ? tape->grad_enabled : 0; }

int bm_tape_freeze_random(bm_tape *tape, int on)
{
    if (!tape)
        return 0;
    int old = tape->random_frozen;
    tape->random_frozen = on != 0;
    return old;
}

int bm_tape_random_frozen(const bm_tape *tape) { return tape ? tape->random_frozen : 0; }

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

/* bytes aligned to align from the meta arena. */
static void *tape_alloc(bm_tape *tape, size_t bytes, size_t align)
{
    return bm_arena_alloc(tape, &tape->meta, bytes, align);
}

/* Bytes rounded up to the alignment of anything a node block holds. */
static size_t round_up(size_t b) { return (b + HEADER_ALIGN - 1) & ~(size_t)(HEADER_ALIGN - 1); }

/* A tensor header in the arena, marked as this tape's. */
static bm_tensor *tape_tensor(bm_tape *tape)
{
    bm_tensor *t = bm_tape_alloc(tape, sizeof *t);
    if (!t)
        return NULL;
    memset(t, 0, sizeof *t);
    t->flags = BM_ON_TAPE;
    t->tape = tape;
    t->epoch = tape->epoch;
    for (int i = 0; i < BM_MAX_RANK; i++)
        t->shape[i] = 1;
    return t;
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
    bm_tensor *t = tape_tensor(tape);
    void *data = t ? bm_tape_alloc(tape, n * bm_dtype_size(dt)) : NULL;
    if (!data)
        return NULL;
    t->dtype = dt;
    t->rank = rank;
    for (int i = 0; i < rank; i++)
        t->shape[i] = shape[i];
    t->size = n;
    t->data = data;
    memset(data, 0, n * bm_dtype_size(dt));
    t->flags |= flags & (BM_REQUIRES_GRAD | BM_PARAM);
    if (t->flags & BM_REQUIRES_GRAD) {
        t->grad = bm_tape_alloc(tape, n * bm_dtype_size(dt));
        if (!t->grad)
            return NULL;
        memset(t->grad, 0, n * bm_dtype_size(dt));
    }
    return t;
}

bm_tensor *bm_tape_scalar(bm_tape *tape, bm_dtype dt, double v)
{
    bm_tensor *t = bm_tape_leaf(tape, dt, 0, NULL, 0);
    if (t)
        bm_tensor_set(t, 0, v);
    return t;
}

/* Refuse input k of op when it is NULL, of another dtype than input 0, or
 * a tensor of another tape or of this tape before its last reset. */
static int check_input(bm_tape *tape, const bm_op *op, bm_tensor *const *in, int k)
{
    char s0[64], s1[64];
    const bm_tensor *x = in[k];
    if (!x) {
        bm_tape_fail(tape, BM_ERR_NULL, "bm_%s: input %d is NULL", op->name, k);
        return -1;
    }
    if (x->flags & BM_ON_TAPE) {
        if (x->tape != tape) {
            bm_tape_fail(tape, BM_ERR_STATE,
                         "bm_%s: input %d %s is another tape's tensor (record every op of a "
                         "graph on one tape)",
                         op->name, k, bm_shape_str(x, s0, 64));
            return -1;
        }
        if (x->epoch != tape->epoch) {
            bm_tape_fail(tape, BM_ERR_STATE,
                         "bm_%s: input %d %s was recorded before bm_tape_reset (it is gone)",
                         op->name, k, bm_shape_str(x, s0, 64));
            return -1;
        }
    }
    if (x->dtype != in[0]->dtype) {
        bm_tape_fail(tape, BM_ERR_DTYPE, "bm_%s: dtype mix: input 0 %s %s, input %d %s %s",
                     op->name, bm_dtype_name(in[0]->dtype), bm_shape_str(in[0], s0, 64), k,
                     bm_dtype_name(x->dtype), bm_shape_str(x, s1, 64));
        return -1;
    }
    return 0;
}

/* Point n->scratch at the tape's shared scratch, growing it when n needs
 * more (the old block stays with the nodes that fit it). */
static int take_scratch(bm_tape *tape, bm_node *n)
{
    if (!n->scratch_bytes)
        return 0;
    if (n->scratch_bytes > tape->scratch_bytes) {
        void *p = bm_tape_alloc(tape, n->scratch_bytes);
        if (!p)
            return -1;
        tape->scratch = p;
        tape->scratch_bytes = n->scratch_bytes;
    }
    n->scratch = tape->scratch;
    return 0;
}

static void list_append(bm_node_list *l, bm_node *n)
{
    n->index = l->count++;
    n->prev = l->tail;
    if (l->tail)
        l->tail->next = n;
    else
        l->head = n;
    l->tail = n;
}

bm_tensor *bm_tape_record(bm_tape *tape, const bm_op *op, bm_tensor *const *in, int n_in,
                          const void *params)
{
    if (!tape || tape->err.code != BM_OK)
        return NULL;
    if (!op || !op->name || !op->infer || !op->forward) {
        bm_tape_fail(tape, BM_ERR_NULL, "bm_tape_record: op %s is NULL or lacks infer/forward",
                     op && op->name ? op->name : "(unnamed)");
        return NULL;
    }
    int fixed = op->arity != BM_OP_VARIADIC;
    if ((fixed && n_in != op->arity) || (!fixed && (n_in < 1 || n_in > BM_OP_MAX_INPUTS))) {
        if (fixed)
            bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: takes %d inputs, got %d", op->name, op->arity,
                         n_in);
        else
            bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: takes 1..%d inputs, got %d", op->name,
                         BM_OP_MAX_INPUTS, n_in);
        return NULL;
    }
    if (n_in && !in) {
        bm_tape_fail(tape, BM_ERR_NULL, "bm_%s: inputs array is NULL", op->name);
        return NULL;
    }
    for (int k = 0; k < n_in; k++)
        if (check_input(tape, op, in, k) != 0)
            return NULL;
    /* node, output header, inputs and parameters in one arena block */
    size_t off_out = round_up(sizeof(bm_node)), off_in = off_out + round_up(sizeof(bm_tensor));
    size_t off_par = off_in + round_up((size_t)n_in * sizeof(bm_tensor *));
    unsigned char *blk = tape_alloc(tape, off_par + round_up(op->params_size), HEADER_ALIGN);
    if (!blk)
        return NULL;
    bm_node *n = (bm_node *)blk;
    bm_tensor *out = (bm_tensor *)(blk + off_out);
    bm_tensor **ins = (bm_tensor **)(blk + off_in);
    *out = (bm_tensor){.flags = BM_ON_TAPE, .tape = tape, .epoch = tape->epoch,
                       .shape = {1, 1, 1, 1}};
    *n = (bm_node){.op = op, .out = out, .in = ins, .n_in = n_in, .origin_input = -1,
                   .backward = tape->grad_phase};
    for (int k = 0; k < n_in; k++)
        ins[k] = in[k];
    if (tape->mem.planned && bm_memplan_check_inputs(tape, n) != 0)
        return NULL;
    if (op->params_size) {
        n->params = blk + off_par;
        if (params)
            memcpy(n->params, params, op->params_size);
        else
            memset(n->params, 0, op->params_size);
    }
    out->dtype = n_in ? in[0]->dtype : BM_F64;
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
    int record = tape->rec_plan || tape->grad_enabled;
    /* What stays on a kept list (the main list, a plan) is the planner's. */
    bm_arena *ar = record && (tape->rec == &tape->main || tape->rec_data) ? &tape->data
                                                                           : &tape->meta;
    out->data = bm_arena_alloc(tape, ar, out->size * bm_dtype_size(out->dtype), BM_ARENA_ALIGN);
    if (!out->data)
        return NULL;
    if (n->saved_bytes && !(n->saved = bm_arena_alloc(tape, ar, n->saved_bytes, BM_ARENA_ALIGN)))
        return NULL;
    if (take_scratch(tape, n) != 0)
        return NULL;
    n->index = tape->rec->count; /* its position (if recorded): anomaly messages name it */
    if (tape->prof.on && bm_prof_assign(tape, n) != 0)
        return NULL;
    if (record && tape->mem.dry) {
        tape->mem.undefined = 1; /* computed by the next forward (or a plan's replay) */
    } else {
        bm_run_node(tape, n);
        if (tape->err.code != BM_OK)
            return NULL; /* the forward rejected a value (e.g. a class index) */
        if (!tape->rec_plan && tape->detect_anomaly && bm_anomaly_forward(tape, n) != BM_OK)
            return NULL;
    }
    if (!record) {
        out->flags |= BM_CONST; /* no-grad: a constant result, nothing recorded */
        return out;
    }
    if (!tape->rec_plan)
        for (int k = 0; k < n_in; k++)
            if ((in[k]->flags & BM_REQUIRES_GRAD) && bm_node_diff(n, k))
                out->flags |= BM_REQUIRES_GRAD;
    out->node = n;
    list_append(tape->rec, n);
    return out;
}

bm_status bm_tape_forward(bm_tape *tape)
{
    if (!tape)
        return BM_ERR_NULL;
    if (tape->err.code != BM_OK)
        return tape->err.code;
    for (bm_node *n = tape->main.head; n; n = n->next) {
        bm_run_node(tape, n);
        if (tape->err.code != BM_OK)
            break;
        if (tape->detect_anomaly && bm_anomaly_forward(tape, n) != BM_OK)
            break; /* stop at the first non-finite output */
    }
    if (tape->err.code == BM_OK)
        tape->mem.stale = tape->mem.undefined = 0; /* every forward value is fresh */
    return tape->err.code;
}

void bm_tape_zero_grad(bm_tape *tape)
{
    if (!tape)
        return;
    for (bm_node *n = tape->main.head; n; n = n->next)
        for (int k = 0; k < n->n_in; k++)
            if (!n->in[k]->node)
                bm_tensor_zero_grad(n->in[k]);
}

int bm_tape_on_main(const bm_tape *tape, const bm_node *n)
{
    for (const bm_node *p = tape->main.tail; p; p = p->prev)
        if (p == n)
            return 1;
    return 0;
}

/* ------------------------------------------------- the op interface */

bm_tensor *bm_op_in(const bm_node *n, int k) { return n && k >= 0 && k < n->n_in ? n->in[k] : NULL; }

bm_tensor *bm_op_out(const bm_node *n) { return n ? n->out : NULL; }

void *bm_op_params(const bm_node *n) { return n ? n->params : NULL; }

void *bm_op_saved(const bm_node *n) { return n ? n->saved : NULL; }

void *bm_op_scratch(const bm_node *n) { return n ? n->scratch : NULL; }

size_t bm_op_scratch_bytes(const bm_node *n) { return n ? n->scratch_bytes : 0; }

int bm_op_accumulate(const bm_node *n) { return n ? n->accumulate : 0; }

void bm_op_set_saved(bm_node *n, size_t bytes)
{
    if (n)
        n->saved_bytes = bytes;
}

void bm_op_set_scratch(bm_node *n, size_t bytes)
{
    if (n)
        n->scratch_bytes = bytes;
}

bm_status bm_op_set_output(bm_tape *tape, bm_node *n, bm_dtype dt, int rank,
                           const size_t *shape)
{
    bm_error e;
    if (!n)
        return bm_tape_fail(tape, BM_ERR_NULL, "bm_op_set_output: node is NULL");
    const char *name = n->op->name;
    if (dt != BM_F32 && dt != BM_F64)
        return bm_tape_fail(tape, BM_ERR_DTYPE, "bm_%s: unknown output dtype %d", name, (int)dt);
    if (bm_shape_check(rank, shape, NULL, &e) != BM_OK)
        return bm_tape_fail(tape, e.code, "bm_%s: output %s", name, e.msg);
    n->out->dtype = dt;
    n->out->rank = rank;
    for (int i = 0; i < BM_MAX_RANK; i++)
        n->out->shape[i] = i < rank ? shape[i] : 1;
    return BM_OK;
}

bm_status bm_op_set_output_like(bm_tape *tape, bm_node *n, const bm_tensor *x)
{
    if (!x)
        return bm_tape_fail(tape, BM_ERR_NULL, "bm_op_set_output_like: tensor is NULL");
    return bm_op_set_output(tape, n, x->dtype, x->rank, x->shape);
}

bm_tensor *bm_op_saved_tensor(bm_tape *tape, const bm_node *n, size_t offset, bm_dtype dt,
                              int rank, const size_t *shape)
{
    size_t size;
    bm_error e;
    if (!tape || tape->err.code != BM_OK)
        return NULL;
    if (!n) {
        bm_tape_fail(tape, BM_ERR_NULL, "bm_op_saved_tensor: node is NULL");
        return NULL;
    }
    if (bm_shape_check(rank, shape, &size, &e) != BM_OK) {
        bm_tape_fail(tape, e.code, "bm_op_saved_tensor: %s: %s", n->op->name, e.msg);
        return NULL;
    }
    size_t bytes = size * bm_dtype_size(dt);
    if (offset > n->saved_bytes || bytes > n->saved_bytes - offset) {
        bm_tape_fail(tape, BM_ERR_SIZE,
                     "bm_op_saved_tensor: %s: %zu bytes at %zu do not fit its %zu saved bytes",
                     n->op->name, bytes, offset, n->saved_bytes);
        return NULL;
    }
    bm_tensor *t = tape_tensor(tape);
    if (!t)
        return NULL;
    t->dtype = dt;
    t->rank = rank;
    for (int i = 0; i < rank; i++)
        t->shape[i] = shape[i];
    t->size = size;
    t->data = (unsigned char *)n->saved + offset;
    return t;
}

/* ------------------------------------------------------- graph walking */

const bm_node *bm_tape_first(const bm_tape *tape) { return tape ? tape->main.head : NULL; }

const bm_node *bm_node_next(const bm_node *n) { return n ? n->next : NULL; }

const char *bm_node_op_name(const bm_node *n) { return n ? n->op->name : ""; }

int bm_node_n_inputs(const bm_node *n) { return n ? n->n_in : 0; }

const bm_tensor *bm_node_input(const bm_node *n, int k)
{
    return n && k >= 0 && k < n->n_in ? n->in[k] : NULL;
}

const bm_tensor *bm_node_output(const bm_node *n) { return n ? n->out : NULL; }

size_t bm_node_index(const bm_node *n) { return n ? n->index : 0; }

int bm_node_input_differentiable(const bm_node *n, int k)
{
    return n && k >= 0 && k < n->n_in && bm_node_diff(n, k) && n->op->vjp;
}

void bm_node_describe(const bm_node *n, char *buf, size_t len)
{
    if (!buf || !len)
        return;
    buf[0] = '\0';
    if (n && n->op->describe)
        n->op->describe(n, buf, len);
}
