/* memplan.c — the memory planner: buffers of a recorded graph whose
 * lifetimes do not overlap share memory.
 *
 * The schedule is what a training step runs: the main list (forward, and
 * create_graph gradients) in order, then each gradient plan (oldest first),
 * each followed by one position for its end (where leaf gradients are added
 * and intermediate .grad pointed at). A buffer — a recorded node's output or
 * its saved block, in the data arena — is live from the node that writes it
 * to the last node that reads it (inputs are matched by address, so saved
 * tensors read by a vjp's nodes count). Saved blocks stay live to the end of
 * the schedule (a vjp's kernels may read them through their node), and with
 * several plans every forward value a plan reads stays live to the end (the
 * plans may then run in any order). Pinned for the whole schedule: forward
 * values nothing reads (the loss, outputs), each plan's output, and tensors
 * kept with bm_tape_keep (value and gradient).
 *
 * Offsets are assigned greedily, largest buffer first, each at the lowest
 * offset clear of every placed buffer live at the same time; the slab is one
 * chunk that replaces the data arena (the old chunks are freed), so memory
 * held falls. Values live at the forward/backward boundary and pinned ones
 * are copied into their new places, so a replayed forward's results survive
 * planning. Kernels and their order do not change: results are the same bits. */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

/* Schedule position "to the end". */
#define END_POS UINT32_MAX

typedef struct sched {
    bm_plan **plans;   /* oldest first */
    size_t n_plans;
    uint32_t first_plan; /* position of the first plan's first node (= main count) */
    uint32_t end;        /* last position */
} sched;

static size_t round64(size_t b) { return (b + BM_ARENA_ALIGN - 1) & ~(size_t)(BM_ARENA_ALIGN - 1); }

static size_t out_bytes(const bm_tensor *t) { return t->size * bm_dtype_size(t->dtype); }

/* Call fn(node, position) over the schedule. */
typedef void (*node_fn)(bm_tape *tape, void *ctx, bm_node *n, uint32_t pos);

static void for_nodes(bm_tape *tape, const sched *s, node_fn fn, void *ctx)
{
    uint32_t pos = 0;
    for (bm_node *n = tape->main.head; n; n = n->next)
        fn(tape, ctx, n, pos++);
    for (size_t i = 0; i < s->n_plans; i++) {
        for (bm_node *n = s->plans[i]->nodes.head; n; n = n->next)
            fn(tape, ctx, n, pos++);
        pos++; /* the plan's end */
    }
}

/* Plan i's end position. */
static uint32_t plan_end(bm_tape *tape, const sched *s, size_t i)
{
    uint32_t pos = (uint32_t)tape->main.count;
    for (size_t j = 0; j <= i; j++)
        pos += (uint32_t)s->plans[j]->nodes.count + 1;
    return pos - 1;
}

typedef struct collect {
    bm_buf *bufs;
    size_t n;
} collect;

static void add_buf(collect *c, void *p, size_t bytes, uint32_t def, uint32_t last,
                    const bm_tensor *owner)
{
    if (c->bufs)
        c->bufs[c->n] = (bm_buf){.old = p, .at = p, .bytes = round64(bytes ? bytes : 1),
                                 .def = def, .last = last, .pinned = 0, .owner = owner};
    c->n++;
}

static void collect_node(bm_tape *tape, void *ctx, bm_node *n, uint32_t pos)
{
    collect *c = ctx;
    if (bm_arena_holds(&tape->data, n->out->data))
        add_buf(c, n->out->data, out_bytes(n->out), pos, pos, n->out);
    if (n->saved && bm_arena_holds(&tape->data, n->saved))
        add_buf(c, n->saved, n->saved_bytes, pos, END_POS, NULL);
}

static int by_old(const void *a, const void *b)
{
    const bm_buf *x = a, *y = b;
    return x->old < y->old ? -1 : x->old > y->old;
}

/* The buffer holding address p (by old address), NULL when none. */
static bm_buf *find(const bm_memplan *m, const void *p)
{
    size_t lo = 0, hi = m->n_bufs;
    const unsigned char *q = p;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->bufs[mid].old <= q)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!lo || !p)
        return NULL;
    bm_buf *b = &m->bufs[lo - 1];
    return q < b->old + b->bytes ? b : NULL;
}

static void read_node(bm_tape *tape, void *ctx, bm_node *n, uint32_t pos)
{
    const sched *s = ctx;
    for (int k = 0; k < n->n_in; k++) {
        bm_buf *b = find(&tape->mem, n->in[k]->data);
        if (!b)
            continue;
        uint32_t last = pos;
        if (s->n_plans > 1 && b->def < s->first_plan && pos >= s->first_plan)
            last = END_POS; /* a forward value read by one of several plans */
        if (last > b->last)
            b->last = last;
    }
}

static void pin(bm_buf *b)
{
    if (b) {
        b->pinned = 1;
        b->def = 0;
        b->last = END_POS;
    }
}

static void extend(bm_buf *b, uint32_t pos)
{
    if (b && b->last < pos)
        b->last = pos;
}

/* Pins and the plans' end reads. */
static void mark_ends(bm_tape *tape, const sched *s)
{
    bm_memplan *m = &tape->mem;
    for (bm_node *n = tape->main.head; n; n = n->next) {
        bm_buf *b = find(m, n->out->data);
        if (b && b->last == b->def && b->old == n->out->data)
            pin(b); /* nothing reads it: an output of the graph */
    }
    for (size_t i = 0; i < s->n_plans; i++) {
        const bm_plan *p = s->plans[i];
        uint32_t e = plan_end(tape, s, i);
        pin(find(m, p->out->data));
        for (const bm_leaf_add *a = p->adds; a; a = a->next)
            extend(find(m, a->g->data), e);
        for (const bm_grad_view *v = p->views; v; v = v->next) {
            extend(find(m, v->g->data), e);
            for (const bm_keep *k = m->keeps; k; k = k->next)
                if (k->t == v->t)
                    pin(find(m, v->g->data));
        }
    }
    for (const bm_keep *k = m->keeps; k; k = k->next)
        pin(find(m, k->t->data));
    for (size_t i = 0; i < m->n_bufs; i++)
        if (m->bufs[i].last == END_POS)
            m->bufs[i].last = s->end;
}

/* Largest first; ties by first write, then address (deterministic). */
static int by_size(const void *a, const void *b)
{
    const bm_buf *x = *(bm_buf *const *)a, *y = *(bm_buf *const *)b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    if (x->def != y->def)
        return x->def < y->def ? -1 : 1;
    return by_old(x, y);
}

static int by_offset(const void *a, const void *b)
{
    const bm_buf *x = *(bm_buf *const *)a, *y = *(bm_buf *const *)b;
    return x->at < y->at ? -1 : x->at > y->at;
}

/* Offsets (kept in .at, relative to NULL) for every buffer; returns the
 * slab size. order and near are scratch arrays of n_bufs entries. */
static size_t assign(bm_memplan *m, bm_buf **order, bm_buf **near)
{
    size_t top = 0;
    for (size_t i = 0; i < m->n_bufs; i++)
        order[i] = &m->bufs[i];
    qsort(order, m->n_bufs, sizeof *order, by_size);
    for (size_t i = 0; i < m->n_bufs; i++) {
        bm_buf *b = order[i];
        size_t nn = 0;
        for (size_t j = 0; j < i; j++)
            if (order[j]->def <= b->last && b->def <= order[j]->last)
                near[nn++] = order[j];
        qsort(near, nn, sizeof *near, by_offset);
        size_t off = 0;
        for (size_t j = 0; j < nn; j++) {
            size_t lo = (size_t)(uintptr_t)near[j]->at;
            if (off + b->bytes <= lo)
                break;
            if (lo + near[j]->bytes > off)
                off = lo + near[j]->bytes;
        }
        b->at = (unsigned char *)(uintptr_t)off;
        if (off + b->bytes > top)
            top = off + b->bytes;
    }
    return top;
}

/* Most bytes live at once (live[] has end + 2 entries, zeroed). */
static size_t peak_live(const bm_memplan *m, long long *live, uint32_t end)
{
    for (size_t i = 0; i < m->n_bufs; i++) {
        live[m->bufs[i].def] += (long long)m->bufs[i].bytes;
        live[m->bufs[i].last + 1] -= (long long)m->bufs[i].bytes;
    }
    long long cur = 0, peak = 0;
    for (uint32_t i = 0; i <= end; i++) {
        cur += live[i];
        if (cur > peak)
            peak = cur;
    }
    return (size_t)peak;
}

static void remap(const bm_memplan *m, void **p)
{
    const bm_buf *b = find(m, *p);
    if (b)
        *p = b->at + ((unsigned char *)*p - b->old);
}

static void remap_node(bm_tape *tape, void *ctx, bm_node *n, uint32_t pos)
{
    (void)ctx;
    (void)pos;
    const bm_memplan *m = &tape->mem;
    remap(m, &n->out->data);
    remap(m, &n->out->grad);
    remap(m, &n->saved);
    for (int k = 0; k < n->n_in; k++) {
        remap(m, &n->in[k]->data);
        remap(m, &n->in[k]->grad);
    }
}

/* The schedule's plans, oldest first. */
static int make_sched(bm_tape *tape, sched *s)
{
    size_t np = 0, total = tape->main.count;
    for (const bm_plan *p = tape->plans; p; p = p->next, np++)
        total += p->nodes.count + 1;
    if (total >= END_POS) {
        bm_tape_fail(tape, BM_ERR_SIZE, "bm_tape_plan_memory: %zu nodes are too many", total);
        return -1;
    }
    *s = (sched){.n_plans = np, .first_plan = (uint32_t)tape->main.count,
                 .end = total ? (uint32_t)total - 1 : 0};
    if (np && !(s->plans = bm_tape_alloc(tape, np * sizeof *s->plans)))
        return -1;
    size_t i = np;
    for (bm_plan *p = tape->plans; p; p = p->next)
        s->plans[--i] = p;
    return 0;
}

/* Move the buffers into the slab c: copy what is live now, repoint every
 * tensor, free the old data chunks. */
static void move_into(bm_tape *tape, const sched *s, chunk *c)
{
    bm_memplan *m = &tape->mem;
    for (size_t i = 0; i < m->n_bufs; i++) {
        bm_buf *b = &m->bufs[i];
        b->at = c->base + (size_t)(uintptr_t)b->at;
        if (!m->undefined && (b->pinned || (b->def < s->first_plan && b->last >= s->first_plan)))
            memcpy(b->at, b->old, b->bytes); /* (values recorded dry are not there yet) */
    }
    for_nodes(tape, s, remap_node, NULL);
    bm_arena_release(tape, &tape->data);
    tape->data.first = tape->data.cur = c;
    c->used = c->cap;
    tape->views_of = NULL; /* the next backward points intermediate .grad anew */
    for (const bm_plan *p = tape->plans; p; p = p->next)
        for (const bm_grad_view *v = p->views; v; v = v->next)
            if (v->t->grad == v->g->data || find(m, v->t->grad))
                v->t->grad = v->g->data;
}

bm_status bm_memplan_run(bm_tape *tape)
{
    bm_memplan *m = &tape->mem;
    sched s;
    if (tape->err.code != BM_OK)
        return tape->err.code;
    if (m->planned)
        return BM_OK;
    if (make_sched(tape, &s) != 0)
        return tape->err.code;
    collect c = {.bufs = NULL, .n = 0};
    for_nodes(tape, &s, collect_node, &c);
    size_t n = c.n;
    if (!n) {
        m->planned = 1; /* nothing to place */
        return BM_OK;
    }
    void *mem = bm_tape_alloc(tape, n * (sizeof(bm_buf) + 2 * sizeof(bm_buf *)) +
                                        ((size_t)s.end + 2) * sizeof(long long));
    if (!mem)
        return tape->err.code;
    c = (collect){.bufs = mem, .n = 0};
    for_nodes(tape, &s, collect_node, &c);
    bm_buf **order = (bm_buf **)(c.bufs + n), **near = order + n;
    long long *live = (long long *)(near + n);
    m->bufs = c.bufs;
    m->n_bufs = n;
    qsort(m->bufs, n, sizeof *m->bufs, by_old);
    for_nodes(tape, &s, read_node, &s);
    mark_ends(tape, &s);
    m->buffer_bytes = 0;
    for (size_t i = 0; i < n; i++)
        m->buffer_bytes += m->bufs[i].bytes;
    memset(live, 0, ((size_t)s.end + 2) * sizeof *live);
    m->peak_live = peak_live(m, live, s.end);
    m->slab_bytes = assign(m, order, near);
    chunk *slab = bm_chunk_new(tape, m->slab_bytes);
    if (!slab) {
        m->bufs = NULL;
        m->n_bufs = 0;
        return tape->err.code; /* nothing moved: the graph is as it was */
    }
    move_into(tape, &s, slab);
    m->first_plan = s.first_plan;
    m->shared_fwd = s.n_plans == 1;
    m->stale = 0; /* the values live at the boundary were copied */
    m->planned = 1;
    return BM_OK;
}

bm_status bm_memplan_fresh(bm_tape *tape)
{
    if (tape->mem.undefined && !tape->mem.dry)
        return bm_tape_forward(tape); /* recorded dry: the first forward, as recorded */
    if (!tape->mem.planned || !tape->mem.stale)
        return tape->err.code;
    int frozen = bm_tape_freeze_random(tape, 1);
    bm_status s = bm_tape_forward(tape);
    bm_tape_freeze_random(tape, frozen);
    return s;
}

void bm_memplan_ran(bm_tape *tape)
{
    if (tape->mem.planned && tape->mem.shared_fwd)
        tape->mem.stale = 1;
}

/* The planned buffer holding x's value: its own (an op output) or the
 * saved block its data lies in (a saved tensor); NULL when none. Addresses
 * alone are ambiguous once buffers share memory. */
static const bm_buf *buf_of(const bm_memplan *m, const bm_tensor *x)
{
    const unsigned char *p = x->data;
    for (size_t i = 0; i < m->n_bufs; i++) {
        const bm_buf *b = &m->bufs[i];
        if (x->node ? b->owner == x : !b->owner && p >= b->at && p < b->at + b->bytes)
            return b;
    }
    return NULL;
}

int bm_memplan_check_inputs(bm_tape *tape, const bm_node *n)
{
    char sh[64];
    const bm_memplan *m = &tape->mem;
    for (int k = 0; k < n->n_in; k++) {
        const bm_buf *hit = buf_of(m, n->in[k]);
        if (!hit || hit->pinned)
            continue;
        int boundary = hit->def < m->first_plan && hit->last >= m->first_plan;
        if (boundary && !m->stale)
            continue; /* a value the backward reads, valid after the forward */
        bm_tape_fail(tape, BM_ERR_STATE,
                     "bm_%s: input %d %s lives in memory the memory plan reuses "
                     "(bm_tape_plan_memory)%s; keep it with bm_tape_keep before planning, "
                     "or bm_tape_reset and record again",
                     n->op->name, k, bm_shape_str(n->in[k], sh, sizeof sh),
                     boundary ? " and a backward overwrote it: replay bm_tape_forward first"
                              : "");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- public */

int bm_tape_set_memory_plan(bm_tape *tape, int on)
{
    if (!tape)
        return 0;
    int old = tape->mem.enabled;
    tape->mem.enabled = on != 0;
    return old;
}

int bm_tape_memory_plan(const bm_tape *tape) { return tape ? tape->mem.enabled : 0; }

int bm_tape_set_dry_run(bm_tape *tape, int on)
{
    if (!tape)
        return 0;
    int was = tape->mem.dry;
    tape->mem.dry = on != 0;
    return was;
}

bm_status bm_tape_plan_memory(bm_tape *tape) { return tape ? bm_memplan_run(tape) : BM_ERR_NULL; }

bm_status bm_tape_keep(bm_tape *tape, const bm_tensor *t)
{
    if (!tape)
        return BM_ERR_NULL;
    if (tape->err.code != BM_OK)
        return tape->err.code;
    if (!t)
        return bm_tape_fail(tape, BM_ERR_NULL, "bm_tape_keep: tensor is NULL");
    if ((t->flags & BM_ON_TAPE) && (t->tape != tape || t->epoch != tape->epoch))
        return bm_tape_fail(tape, BM_ERR_STATE,
                            "bm_tape_keep: the tensor is another tape's, or was recorded "
                            "before bm_tape_reset");
    if (tape->mem.planned)
        return bm_tape_fail(tape, BM_ERR_STATE,
                            "bm_tape_keep: the memory is already planned (keep tensors before "
                            "bm_tape_plan_memory or the first replayed backward)");
    bm_keep *k = bm_tape_alloc(tape, sizeof *k);
    if (!k)
        return tape->err.code;
    *k = (bm_keep){.t = t, .next = tape->mem.keeps};
    tape->mem.keeps = k;
    return BM_OK;
}

/* Add the bytes of list l's nodes to st (fwd: the main list). */
static void sum_list(const bm_tape *tape, const bm_node_list *l, int fwd, bm_tape_memory_stats *st)
{
    for (const bm_node *n = l->head; n; n = n->next) {
        if (bm_arena_holds(&tape->data, n->out->data)) {
            if (fwd)
                st->values += out_bytes(n->out);
            else
                st->grads += out_bytes(n->out);
        }
        if (n->saved && bm_arena_holds(&tape->data, n->saved))
            st->saved += n->saved_bytes;
    }
}

bm_status bm_tape_memory(const bm_tape *tape, bm_tape_memory_stats *st)
{
    if (!st)
        return BM_ERR_NULL;
    memset(st, 0, sizeof *st);
    if (!tape)
        return BM_ERR_NULL;
    sum_list(tape, &tape->main, 1, st);
    for (const bm_plan *p = tape->plans; p; p = p->next)
        sum_list(tape, &p->nodes, 0, st);
    st->arena = bm_tape_arena_bytes(tape);
    st->data_arena = bm_arena_cap(&tape->data);
    st->scratch = tape->scratch_bytes;
    st->planned = tape->mem.planned;
    st->slab = tape->mem.slab_bytes;
    st->buffers = tape->mem.buffer_bytes;
    st->peak_live = tape->mem.peak_live;
    return BM_OK;
}
