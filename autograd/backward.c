/* backward.c — gradients as graphs: bm_tape_backward, bm_grad.
 *
 * A gradient pass walks the main list in reverse from the output. Each
 * node the gradient reaches hands its output's gradient g (a tensor) to its
 * op's vjp, which records the inputs' gradients with ordinary op builders.
 * Where a tensor feeds several ops its contributions are accumulated here,
 * in one place: the first is taken as it is, later ones are added (the
 * engine's own op grad_add), so no kernel keeps a store/add pair of loops.
 *
 * bm_tape_backward records that gradient graph once per output into a plan
 * (a node list of its own, off the main list: bm_tape_forward does not
 * replay it) and replays the plan on the next calls: no allocation, and the
 * leaves' .grad buffers are added into. A leaf's gradient produced by a
 * product whose op can accumulate (BM_OP_ACCUMULATES) is written into the
 * leaf's buffer directly, so a dense layer's dW costs what it did before.
 * bm_grad with create_graph records the gradient graph on the main list:
 * its results are differentiable again, to any order. */
#include <stdint.h>
#include <string.h>

#include "anomaly_internal.h"
#include "engine_internal.h"
#include "vec_internal.h"

/* Stack room for the gradients of a node's inputs (larger arities use the
 * arena). */
enum { DX_STACK = 8 };

int bm_op_wants_grad(const bm_tape *tape, const bm_node *n, int k)
{
    if (!tape || !n || k < 0 || k >= n->n_in || !bm_node_diff(n, k))
        return 0;
    const bm_tensor *x = n->in[k];
    if (!(x->flags & BM_REQUIRES_GRAD))
        return 0;
    return !tape->pruning || x->want_stamp == tape->pass;
}

/* grad_add: a + b of one shape, the accumulation of two contributions.
 * out [..]  in a [..], b [..]; vjp: G to both. */
static int grad_add_infer(bm_tape *tape, bm_node *n)
{
    return bm_op_set_output_like(tape, n, n->in[0]) == BM_OK ? 0 : -1;
}

/* The elementwise add of the vector kernels (ops/vec_internal.h), both
 * operands of out's shape. */
static void grad_add_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    const bm_binary_shape s = {.layout = BM_BIN_SAME, .size = n->out->size, .N = n->out->size};
    if (n->out->dtype == BM_F64)
        bm_vec()->f64.add(n->in[0]->data, n->in[1]->data, n->out->data, &s);
    else
        bm_vec()->f32.add(n->in[0]->data, n->in[1]->data, n->out->data, &s);
}

static bm_status grad_add_vjp(bm_tape *tape, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    (void)n;
    dx[0] = dx[1] = g;
    return bm_tape_status(tape);
}

static const bm_op grad_add_op = {
    .name = "grad_add",
    .arity = 2,
    .infer = grad_add_infer,
    .forward = grad_add_forward,
    .vjp = grad_add_vjp,
};

/* One pass's bookkeeping: the leaves that received a gradient. */
typedef struct pass_state {
    bm_leaf_add *leaves; /* (leaf, NULL) in order of first contribution */
    bm_grad_view *views; /* intermediates and their gradients */
} pass_state;

/* Add contribution g into t's gradient for this pass. */
static int accumulate(bm_tape *tape, pass_state *ps, bm_tensor *t, bm_tensor *g,
                      const bm_node *from, int k)
{
    char st[64], sg[64];
    if (g->dtype != t->dtype || !bm_tensor_same_shape(g, t)) {
        bm_tape_fail(tape, BM_ERR_SHAPE,
                     "bm_%s: its vjp gave input %d a gradient %s %s for a %s %s tensor",
                     from ? from->op->name : "backward", k, bm_dtype_name(g->dtype),
                     bm_shape_str(g, sg, 64), bm_dtype_name(t->dtype), bm_shape_str(t, st, 64));
        return -1;
    }
    if (t->grad_stamp != tape->pass) {
        t->grad_stamp = tape->pass;
        t->gacc = g;
        if (!t->node) {
            bm_leaf_add *e = bm_tape_alloc(tape, sizeof *e);
            if (!e)
                return -1;
            *e = (bm_leaf_add){.leaf = t, .g = NULL, .next = ps->leaves};
            ps->leaves = e;
        }
        return 0;
    }
    bm_node *mark = tape->rec->tail;
    bm_tensor *pair[2] = {t->gacc, g};
    bm_tensor *sum = bm_tape_record(tape, &grad_add_op, pair, 2, NULL);
    if (!sum)
        return -1;
    if (sum->node && sum->node != mark) {
        sum->node->origin = from;
        sum->node->origin_input = k;
        sum->node->origin_grad = from ? from->out->gacc : NULL;
    }
    t->gacc = sum;
    return 0;
}

/* Tag the nodes recorded after `mark` as built by n's vjp. */
static void tag_nodes(bm_tape *tape, bm_node *mark, const bm_node *n, bm_tensor *const *dx)
{
    bm_node *first = mark ? mark->next : tape->rec->head;
    for (bm_node *p = first; p; p = p->next) {
        p->origin = n;
        p->origin_grad = n->out->gacc;
        p->origin_input = -1;
        for (int k = 0; k < n->n_in; k++)
            if (dx[k] == p->out)
                p->origin_input = k;
    }
}

/* Walk back from `from` (the newest output's node) running vjps. Gradients
 * of the outputs are already seeded (stamped). */
static bm_status walk(bm_tape *tape, bm_node *from, pass_state *ps, int want_views)
{
    bm_tensor *stack_dx[DX_STACK];
    for (bm_node *n = from; n; n = n->prev) {
        bm_tensor *o = n->out;
        if (o->grad_stamp != tape->pass)
            continue; /* no gradient reached this node */
        int wanted = 0;
        for (int k = 0; k < n->n_in && !wanted; k++)
            wanted = bm_op_wants_grad(tape, n, k);
        if (want_views && (o->flags & BM_REQUIRES_GRAD)) {
            bm_grad_view *v = bm_tape_alloc(tape, sizeof *v);
            if (!v)
                return tape->err.code;
            *v = (bm_grad_view){.t = o, .g = o->gacc, .next = ps->views};
            ps->views = v;
        }
        if (!wanted)
            continue;
        if (!n->op->vjp)
            return bm_tape_fail(tape, BM_ERR_STATE, "bm_%s: op has no vjp (not differentiable)",
                                n->op->name);
        bm_tensor **dx = n->n_in <= DX_STACK ? stack_dx
                                              : bm_tape_alloc(tape, (size_t)n->n_in * sizeof *dx);
        if (!dx)
            return tape->err.code;
        for (int k = 0; k < n->n_in; k++)
            dx[k] = NULL;
        bm_node *mark = tape->rec->tail;
        bm_status s = n->op->vjp(tape, n, o->gacc, dx);
        if (s == BM_OK && tape->err.code != BM_OK)
            s = tape->err.code;
        if (s != BM_OK)
            return bm_tape_fail(tape, s, "bm_%s: vjp failed", n->op->name);
        tag_nodes(tape, mark, n, dx);
        for (int k = 0; k < n->n_in; k++)
            if (dx[k] && bm_op_wants_grad(tape, n, k) &&
                accumulate(tape, ps, n->in[k], dx[k], n, k) != 0)
                return tape->err.code;
    }
    return tape->err.code;
}

/* Start a pass: a fresh stamp. */
static void new_pass(bm_tape *tape)
{
    if (++tape->pass == 0)
        tape->pass = 1;
}

/* End a pass: leaves may be caller-owned tensors read by other tapes, whose
 * pass numbers are their own, so no stamp of this pass may stay on them. */
static void end_pass(pass_state *ps)
{
    for (bm_leaf_add *e = ps->leaves; e; e = e->next) {
        e->leaf->grad_stamp = 0;
        e->leaf->gacc = NULL;
    }
}

/* ------------------------------------------------------------ plans */

/* Is t read by a node of list l? */
static int read_by(const bm_node_list *l, const bm_tensor *t)
{
    for (const bm_node *p = l->head; p; p = p->next)
        for (int k = 0; k < p->n_in; k++)
            if (p->in[k] == t)
                return 1;
    return 0;
}

static int is_view(const bm_plan *p, const bm_tensor *g)
{
    for (const bm_grad_view *v = p->views; v; v = v->next)
        if (v->g == g)
            return 1;
    return 0;
}

/* Add n values of g into the leaf's gradient buffer. */
static void add_into(bm_tensor *leaf, const void *g)
{
    if (leaf->dtype == BM_F64) {
        double *restrict d = leaf->grad;
        const double *restrict s = g;
        for (size_t i = 0; i < leaf->size; i++)
            d[i] += s[i];
    } else {
        float *restrict d = leaf->grad;
        const float *restrict s = g;
        for (size_t i = 0; i < leaf->size; i++)
            d[i] += s[i];
    }
}

/* After the first run of a plan: fold each leaf's gradient into the node
 * that made it when that node can accumulate in place, else keep an add. */
static int finish_plan(bm_tape *tape, bm_plan *p, pass_state *ps)
{
    for (bm_leaf_add *e = ps->leaves; e; e = e->next) {
        bm_tensor *leaf = e->leaf, *g = leaf->gacc;
        if (!(leaf->flags & BM_REQUIRES_GRAD) || !leaf->grad)
            continue;
        bm_node *gn = g->node;
        int fold = gn && (gn->op->flags & BM_OP_ACCUMULATES) && g != p->seed &&
                   !read_by(&p->nodes, g) && !is_view(p, g);
        for (bm_leaf_add *o = ps->leaves; fold && o; o = o->next)
            fold = o == e || o->leaf->gacc != g;
        if (!tape->mem.dry)
            add_into(leaf, g->data); /* this run's contribution (none when dry) */
        if (fold) {
            g->data = leaf->grad;
            gn->accumulate = 1;
            continue;
        }
        bm_leaf_add *a = bm_tape_alloc(tape, sizeof *a);
        if (!a)
            return -1;
        *a = (bm_leaf_add){.leaf = leaf, .g = g, .next = p->adds};
        p->adds = a;
    }
    return 0;
}

/* Point the intermediate tensors' .grad into plan p's buffers — once: the
 * buffers stay where they are until bm_tape_reset, so a replay of the same
 * plan finds them set (another plan's backward moves them). */
static void set_views(bm_tape *tape, const bm_plan *p)
{
    if (tape->views_of == p)
        return;
    tape->views_of = p;
    for (const bm_grad_view *v = p->views; v; v = v->next)
        v->t->grad = v->g->data;
}

/* Copy the caller's seed (or ones) into the plan's seed leaf. */
static void fill_seed(bm_tensor *dst, const bm_tensor *seed)
{
    if (seed && seed->dtype == dst->dtype && seed->size == dst->size) {
        memcpy(dst->data, seed->data, dst->size * bm_dtype_size(dst->dtype));
        return;
    }
    for (size_t i = 0; i < dst->size; i++)
        bm_tensor_set(dst, i, seed ? bm_tensor_get(seed, i) : 1.0);
}

/* Do the byte ranges [a, a + an) and [b, b + bn) overlap? */
static int overlaps(const void *a, size_t an, const void *b, size_t bn)
{
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return x < y + bn && y < x + an;
}

/* May plan p's nodes read the caller's seed where it lies (no copy)? Its
 * dtype and size match, it is not in this tape's data arena (the memory
 * planner may lay the plan's outputs over a recorded value), and it overlaps
 * no leaf gradient the plan writes (kernels use restrict pointers). */
static int seed_in_place(const bm_tape *tape, const bm_plan *p, const bm_tensor *seed)
{
    size_t bytes = p->seed->size * bm_dtype_size(p->seed->dtype);
    if (!seed || seed->dtype != p->seed->dtype || seed->size != p->seed->size || !seed->data ||
        bm_arena_holds(&tape->data, seed->data))
        return 0;
    for (const bm_leaf_add *e = p->leaves; e; e = e->next)
        if (e->leaf->grad && overlaps(seed->data, bytes, e->leaf->grad,
                                      e->leaf->size * bm_dtype_size(e->leaf->dtype)))
            return 0;
    return 1;
}

/* Check the gradient a plan node gave an input of its origin. */
static bm_status check_node(bm_tape *tape, const bm_node *n)
{
    if (!tape->detect_anomaly || n->origin_input < 0 || !n->origin)
        return BM_OK;
    return bm_anomaly_grad(tape, n->origin, n->origin_input, n->out, n->origin_grad);
}

/* Run plan p's nodes and its leaf adds. */
static bm_status run_nodes(bm_tape *tape, const bm_plan *p)
{
    for (bm_node *n = p->nodes.head; n; n = n->next) {
        bm_run_node(tape, n);
        if (tape->err.code != BM_OK)
            return tape->err.code;
        if (check_node(tape, n) != BM_OK)
            return tape->err.code;
    }
    for (bm_leaf_add *a = p->adds; a; a = a->next) {
        add_into(a->leaf, a->g->data);
        if (tape->detect_anomaly && bm_anomaly_leaf(tape, a->leaf, a->g) != BM_OK)
            return tape->err.code;
    }
    return BM_OK;
}

/* Replay plan p. A caller's seed that may be read where it lies
 * (seed_in_place) is: the seed leaf points at it for the run (no copy of
 * the seed), and the output's .grad is the caller's seed afterwards. */
static bm_status run_plan(bm_tape *tape, bm_plan *p, const bm_tensor *seed)
{
    void *own = p->seed->data;
    int in_place = p->seeded && seed_in_place(tape, p, seed);
    if (in_place)
        p->seed->data = seed->data;
    else if (p->seeded)
        fill_seed(p->seed, seed);
    bm_status s = run_nodes(tape, p);
    p->seed->data = own;
    if (s != BM_OK)
        return s;
    set_views(tape, p);
    if (p->seed_view)
        p->seed_view->grad = in_place ? seed->data : own;
    return BM_OK;
}

static bm_plan *find_plan(bm_tape *tape, const bm_tensor *out, int seeded)
{
    for (bm_plan *p = tape->plans; p; p = p->next)
        if (p->out == out && p->seeded == seeded)
            return p;
    return NULL;
}

/* Record and run the gradient graph of out into a new plan. */
static bm_status build_plan(bm_tape *tape, bm_tensor *out, const bm_tensor *seed)
{
    bm_plan *p = bm_tape_alloc(tape, sizeof *p);
    if (!p)
        return tape->err.code;
    memset(p, 0, sizeof *p);
    p->out = out;
    p->seeded = seed != NULL;
    p->seed = bm_tape_leaf(tape, out->dtype, out->rank, out->shape, 0);
    if (!p->seed)
        return tape->err.code;
    fill_seed(p->seed, seed);
    pass_state ps = {.leaves = NULL, .views = NULL};
    bm_node_list *saved_rec = tape->rec;
    int saved_plan = tape->rec_plan, saved_prune = tape->pruning, saved_phase = tape->grad_phase;
    tape->rec = &p->nodes;
    tape->rec_plan = 1;
    tape->rec_data = 1;
    tape->pruning = 0;
    tape->grad_phase = 1;
    new_pass(tape);
    bm_status s = accumulate(tape, &ps, out, p->seed, NULL, 0) == 0
                      ? walk(tape, out->node, &ps, 1)
                      : tape->err.code;
    tape->rec = saved_rec;
    tape->rec_plan = saved_plan;
    tape->rec_data = 0;
    tape->pruning = saved_prune;
    tape->grad_phase = saved_phase;
    if (s != BM_OK) {
        end_pass(&ps);
        return s;
    }
    p->views = ps.views;
    p->leaves = ps.leaves;
    for (const bm_grad_view *v = ps.views; v; v = v->next)
        if (v->g == p->seed)
            p->seed_view = v->t;
    for (bm_node *n = p->nodes.head; n && s == BM_OK && !tape->mem.dry; n = n->next)
        s = check_node(tape, n);
    if (s == BM_OK && finish_plan(tape, p, &ps) != 0)
        s = tape->err.code;
    end_pass(&ps);
    if (s != BM_OK)
        return s;
    for (bm_leaf_add *a = p->adds; a && !tape->mem.dry; a = a->next)
        if (tape->detect_anomaly && bm_anomaly_leaf(tape, a->leaf, a->g) != BM_OK)
            return tape->err.code;
    set_views(tape, p);
    p->next = tape->plans;
    tape->plans = p;
    return BM_OK;
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
    if (out->node && !bm_tape_on_main(tape, out->node))
        return bm_tape_fail(tape, BM_ERR_STATE,
                            "bm_tape_backward: output %s is not recorded on this tape (it is "
                            "another tape's, or was recorded before bm_tape_reset)",
                            bm_shape_str(out, s0, 64));
    if (seed && seed->dtype != out->dtype)
        return bm_tape_fail(tape, BM_ERR_DTYPE,
                            "bm_tape_backward: seed %s %s does not match output %s %s",
                            bm_dtype_name(seed->dtype), bm_shape_str(seed, s0, 64),
                            bm_dtype_name(out->dtype), bm_shape_str(out, s1, 64));
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
    bm_plan *p = find_plan(tape, out, seed != NULL);
    if (p && tape->mem.dry)
        return BM_OK; /* dry: built already, nothing to run */
    if (tape->mem.enabled && p && !tape->mem.planned && bm_memplan_run(tape) != BM_OK)
        return tape->err.code; /* the first replay: place the buffers first */
    if (bm_memplan_fresh(tape) != BM_OK)
        return tape->err.code;
    bm_status s = p ? run_plan(tape, p, seed) : build_plan(tape, out, seed);
    if (s == BM_OK)
        bm_memplan_ran(tape);
    return s;
}

/* --------------------------------------------------------------- bm_grad */

/* Stamp every tensor that depends on one of the inputs (pruning). */
static void mark_wanted(bm_tape *tape, bm_tensor *const *inputs, size_t n_in,
                        const bm_node *last)
{
    for (size_t i = 0; i < n_in; i++)
        inputs[i]->want_stamp = tape->pass;
    for (bm_node *n = tape->main.head; n; n = n->next) {
        for (int k = 0; k < n->n_in; k++)
            if (bm_node_diff(n, k) && n->in[k]->want_stamp == tape->pass)
                n->out->want_stamp = tape->pass;
        if (n == last)
            break;
    }
}

/* Validate bm_grad's arguments; returns the newest output's node. */
static bm_status grad_args(bm_tape *tape, bm_tensor *const *outputs, size_t n_out,
                           bm_tensor *const *inputs, size_t n_in,
                           bm_tensor *const *grad_outputs, bm_tensor **results,
                           bm_node **last)
{
    char s0[64], s1[64];
    if (!outputs || !inputs || !results || n_out == 0 || n_in == 0)
        return bm_tape_fail(tape, BM_ERR_NULL,
                            "bm_grad: outputs, inputs and results must be non-NULL and "
                            "non-empty");
    *last = NULL;
    for (size_t i = 0; i < n_out; i++) {
        const bm_tensor *o = outputs[i], *g = grad_outputs ? grad_outputs[i] : NULL;
        if (!o)
            return bm_tape_fail(tape, BM_ERR_NULL, "bm_grad: output %zu is NULL", i);
        if (o->node && !bm_tape_on_main(tape, o->node))
            return bm_tape_fail(tape, BM_ERR_STATE,
                                "bm_grad: output %zu %s is not recorded on this tape", i,
                                bm_shape_str(o, s0, 64));
        if (g && (g->dtype != o->dtype))
            return bm_tape_fail(tape, BM_ERR_DTYPE,
                                "bm_grad: grad_outputs[%zu] %s %s does not match output %s %s",
                                i, bm_dtype_name(g->dtype), bm_shape_str(g, s0, 64),
                                bm_dtype_name(o->dtype), bm_shape_str(o, s1, 64));
        if (g && !bm_tensor_same_shape(g, o))
            return bm_tape_fail(tape, BM_ERR_SHAPE,
                                "bm_grad: grad_outputs[%zu] %s does not match output %s", i,
                                bm_shape_str(g, s0, 64), bm_shape_str(o, s1, 64));
        if (!g && o->size != 1)
            return bm_tape_fail(tape, BM_ERR_SHAPE,
                                "bm_grad: output %zu %s is not a scalar; pass grad_outputs", i,
                                bm_shape_str(o, s0, 64));
        if (o->node && (!*last || o->node->index > (*last)->index))
            *last = o->node;
    }
    for (size_t i = 0; i < n_in; i++) {
        if (!inputs[i])
            return bm_tape_fail(tape, BM_ERR_NULL, "bm_grad: input %zu is NULL", i);
        if (inputs[i]->node && !bm_tape_on_main(tape, inputs[i]->node))
            return bm_tape_fail(tape, BM_ERR_STATE,
                                "bm_grad: input %zu %s is not recorded on this tape", i,
                                bm_shape_str(inputs[i], s0, 64));
    }
    return BM_OK;
}

bm_status bm_grad(bm_tape *tape, bm_tensor *const *outputs, size_t n_outputs,
                  bm_tensor *const *inputs, size_t n_inputs, bm_tensor *const *grad_outputs,
                  int create_graph, bm_tensor **results)
{
    if (!tape)
        return BM_ERR_NULL;
    if (tape->err.code != BM_OK)
        return tape->err.code;
    bm_node *last = NULL;
    bm_status s = grad_args(tape, outputs, n_outputs, inputs, n_inputs, grad_outputs, results,
                            &last);
    if (s == BM_OK)
        s = bm_memplan_fresh(tape);
    if (s != BM_OK)
        return s;
    bm_plan scratch_plan;
    memset(&scratch_plan, 0, sizeof scratch_plan);
    bm_node_list *saved_rec = tape->rec;
    int saved_plan = tape->rec_plan, saved_prune = tape->pruning, saved_grad = tape->grad_enabled;
    int saved_phase = tape->grad_phase;
    /* Without create_graph the gradient graph goes to a list of its own:
     * computed once, not replayed, not differentiable. */
    if (!create_graph) {
        tape->rec = &scratch_plan.nodes;
        tape->rec_plan = 1;
    }
    tape->grad_enabled = 1;
    tape->grad_phase = 1;
    new_pass(tape);
    tape->pruning = 1;
    mark_wanted(tape, inputs, n_inputs, last);
    pass_state ps = {.leaves = NULL, .views = NULL};
    for (size_t i = 0; i < n_outputs && s == BM_OK; i++) {
        bm_tensor *o = outputs[i];
        bm_tensor *g = bm_tape_leaf(tape, o->dtype, o->rank, o->shape, 0);
        if (!g) {
            s = tape->err.code;
            break;
        }
        fill_seed(g, grad_outputs ? grad_outputs[i] : NULL);
        if (grad_outputs && grad_outputs[i] && create_graph &&
            (grad_outputs[i]->flags & BM_REQUIRES_GRAD))
            g = grad_outputs[i]; /* differentiable through the seed too */
        if (o->want_stamp == tape->pass && accumulate(tape, &ps, o, g, NULL, 0) != 0)
            s = tape->err.code;
    }
    if (s == BM_OK && last)
        s = walk(tape, last, &ps, 0);
    tape->rec = saved_rec;
    tape->rec_plan = saved_plan;
    tape->pruning = saved_prune;
    tape->grad_enabled = saved_grad;
    tape->grad_phase = saved_phase;
    for (size_t i = 0; i < n_inputs; i++) {
        bm_tensor *x = inputs[i];
        results[i] = s == BM_OK && x->grad_stamp == tape->pass ? x->gacc : NULL;
    }
    for (size_t i = 0; i < n_inputs; i++)
        inputs[i]->want_stamp = 0;
    for (size_t i = 0; i < n_outputs; i++)
        if (!outputs[i]->node)
            outputs[i]->grad_stamp = 0;
    end_pass(&ps);
    if (s != BM_OK)
        return s;
    for (size_t i = 0; i < n_inputs; i++) {
        if (results[i])
            continue;
        const bm_tensor *x = inputs[i];
        results[i] = bm_tape_leaf(tape, x->dtype, x->rank, x->shape, 0); /* zeros */
        if (!results[i])
            return tape->err.code;
    }
    return BM_OK;
}
