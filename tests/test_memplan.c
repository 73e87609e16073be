/* test_memplan.c — the memory planner (bm_tape_set_memory_plan,
 * bm_tape_plan_memory, bm_tape_keep, bm_tape_memory): training with the
 * planner on gives the same bits as without it (an MLP, a conv net, an
 * attention block, a gradient penalty recorded with create_graph), holds
 * less memory, allocates nothing per replayed step, and refuses to read
 * memory it reused; the same with the step recorded and its backward built
 * dry (bm_tape_set_dry_run) and planned before the first step, which adds
 * nothing into the parameters' gradients. */
#include "test_util.h"

/* Training steps compared, and the SGD step of the hand-written update. */
#define STEPS 6
#define LR 0.05
/* Most parameter tensors of a test graph. */
#define MAX_PARAMS 24
/* Seeds of the parameters and of the batches. */
#define PARAM_SEED 7
#define DATA_SEED 11
/* The deep MLP: batch, width, layers, classes; its planned arena must be at
 * most MLP_RATIO of the unplanned one. */
#define MLP_B 64
#define MLP_W 128
#define MLP_DEPTH 6
#define MLP_CLASSES 10
#define MLP_RATIO 0.7
/* The conv net: batch, channels, image side, filters, classes. */
#define CNN_B 8
#define CNN_C 3
#define CNN_HW 12
#define CNN_F 6
#define CNN_CLASSES 5
/* The attention block: batch, tokens, width, heads, classes. */
#define ATT_B 2
#define ATT_T 8
#define ATT_C 16
#define ATT_H 2
#define ATT_CLASSES 4
#define LN_EPS 1e-5

/* A graph under test: parameters (caller-owned), batch leaves, loss. */
typedef struct net {
    bm_dtype dt;
    unsigned x_flags; /* of the input leaf */
    bm_tensor *p[MAX_PARAMS];
    size_t n_p;
    bm_tensor *x, *y; /* on the tape */
    bm_tensor *logits, *loss;
} net;

typedef bm_tensor *(*build_fn)(bm_tape *t, net *n);

static bm_tensor *param(net *n, bm_rng *r, int rank, const size_t *shape, double std)
{
    bm_error e;
    bm_tensor *p = bm_tensor_randn(n->dt, rank, shape, 0.0, std, r, &e);
    ck_assert_msg(p != NULL, "%s", e.msg);
    ck_assert_int_eq(bm_tensor_set_requires_grad(p, 1, &e), BM_OK);
    ck_assert_uint_lt(n->n_p, MAX_PARAMS);
    n->p[n->n_p++] = p;
    return p;
}

static void free_params(net *n)
{
    for (size_t i = 0; i < n->n_p; i++)
        bm_tensor_free(n->p[i]);
    n->n_p = 0;
}

/* Fill the batch leaves from r: x normal, y class indices below classes. */
static void fill_batch(net *n, bm_rng *r, size_t classes)
{
    for (size_t i = 0; i < n->x->size; i++)
        bm_tensor_set(n->x, i, bm_rng_normal(r));
    for (size_t i = 0; i < n->y->size; i++)
        bm_tensor_set(n->y, i, (double)bm_rng_below(r, classes));
}

static bm_tensor *mlp(bm_tape *t, net *n)
{
    bm_rng r;
    bm_rng_seed(&r, PARAM_SEED);
    size_t xs[2] = {MLP_B, MLP_W}, ys[1] = {MLP_B};
    n->x = bm_tape_leaf(t, n->dt, 2, xs, n->x_flags);
    n->y = bm_tape_leaf(t, n->dt, 1, ys, 0);
    bm_tensor *h = n->x;
    for (int l = 0; l < MLP_DEPTH; l++) {
        size_t out = l + 1 == MLP_DEPTH ? MLP_CLASSES : MLP_W;
        size_t ws[2] = {MLP_W, out}, bs[1] = {out};
        bm_tensor *w = param(n, &r, 2, ws, 1.0 / sqrt((double)MLP_W));
        bm_tensor *b = param(n, &r, 1, bs, 0.1);
        h = bm_linear(t, h, w, b);
        if (l + 1 < MLP_DEPTH)
            h = bm_relu(t, h);
    }
    n->logits = h;
    return bm_softmax_cce(t, h, n->y);
}

static bm_tensor *cnn(bm_tape *t, net *n)
{
    bm_rng r;
    bm_rng_seed(&r, PARAM_SEED);
    size_t xs[4] = {CNN_B, CNN_C, CNN_HW, CNN_HW}, ys[1] = {CNN_B};
    n->x = bm_tape_leaf(t, n->dt, 4, xs, 0);
    n->y = bm_tape_leaf(t, n->dt, 1, ys, 0);
    size_t ws[4] = {CNN_F, CNN_C, 3, 3}, bs[1] = {CNN_F};
    bm_conv_opts co = {.stride = {1, 1}, .pad = {1, 1}, .dilation = {1, 1}, .groups = 1};
    bm_tensor *h = bm_relu(t, bm_conv2d(t, n->x, param(n, &r, 4, ws, 0.3),
                                        param(n, &r, 1, bs, 0.1), &co));
    size_t w2s[4] = {CNN_F, CNN_F, 3, 3};
    h = bm_relu(t, bm_conv2d(t, h, param(n, &r, 4, w2s, 0.2), param(n, &r, 1, bs, 0.1), &co));
    bm_pool_opts po = {.kernel = {2, 2}, .stride = {2, 2}};
    h = bm_max_pool2d(t, h, &po);
    size_t flat = CNN_F * (CNN_HW / 2) * (CNN_HW / 2), fs[2] = {CNN_B, flat};
    h = bm_reshape(t, h, 2, fs);
    size_t ls[2] = {flat, CNN_CLASSES}, lb[1] = {CNN_CLASSES};
    n->logits = bm_linear(t, h, param(n, &r, 2, ls, 0.05), param(n, &r, 1, lb, 0.1));
    return bm_softmax_cce(t, n->logits, n->y);
}

/* One pre-norm transformer block (causal attention, GELU MLP, residuals)
 * over [B,T,C] tokens, then the mean token classified. */
static bm_tensor *attention(bm_tape *t, net *n)
{
    bm_rng r;
    bm_rng_seed(&r, PARAM_SEED);
    size_t D = ATT_C / ATT_H, xs[2] = {ATT_B * ATT_T, ATT_C}, ys[1] = {ATT_B};
    n->x = bm_tape_leaf(t, n->dt, 2, xs, 0);
    n->y = bm_tape_leaf(t, n->dt, 1, ys, 0);
    size_t cs[1] = {ATT_C}, ws[2] = {ATT_C, ATT_C}, w4[2] = {ATT_C, 4 * ATT_C};
    size_t w4b[2] = {4 * ATT_C, ATT_C}, c4[1] = {4 * ATT_C};
    double sd = 1.0 / sqrt((double)ATT_C);
    bm_tensor *a = bm_layer_norm(t, n->x, param(n, &r, 1, cs, 0.1), param(n, &r, 1, cs, 0.1),
                                 LN_EPS);
    size_t hs[4] = {ATT_B, ATT_T, ATT_H, D};
    bm_tensor *qkv[3];
    for (int i = 0; i < 3; i++) {
        bm_tensor *p = bm_linear(t, a, param(n, &r, 2, ws, sd), param(n, &r, 1, cs, 0.1));
        qkv[i] = bm_transpose_axes(t, bm_reshape(t, p, 4, hs), 1, 2);
    }
    bm_sdpa_opts so = bm_sdpa_defaults();
    so.causal = 1;
    bm_tensor *o = bm_scaled_dot_product_attention(t, qkv[0], qkv[1], qkv[2], &so);
    o = bm_reshape(t, bm_transpose_axes(t, o, 1, 2), 2, xs);
    bm_tensor *h = bm_add(t, n->x,
                          bm_linear(t, o, param(n, &r, 2, ws, sd), param(n, &r, 1, cs, 0.1)));
    bm_tensor *m = bm_layer_norm(t, h, param(n, &r, 1, cs, 0.1), param(n, &r, 1, cs, 0.1),
                                 LN_EPS);
    m = bm_gelu(t, bm_linear(t, m, param(n, &r, 2, w4, sd), param(n, &r, 1, c4, 0.1)), 1);
    h = bm_add(t, h, bm_linear(t, m, param(n, &r, 2, w4b, sd / 2), param(n, &r, 1, cs, 0.1)));
    size_t bt[3] = {ATT_B, ATT_T, ATT_C}, hc[2] = {ATT_C, ATT_CLASSES}, hb[1] = {ATT_CLASSES};
    bm_tensor *pooled = bm_mean(t, bm_reshape(t, h, 3, bt), 1, 0);
    n->logits = bm_linear(t, pooled, param(n, &r, 2, hc, sd), param(n, &r, 1, hb, 0.1));
    return bm_softmax_cce(t, n->logits, n->y);
}

/* The MLP's loss plus a gradient penalty Σ (∂loss/∂x)² recorded with
 * create_graph: the backward differentiates a gradient graph. */
static bm_tensor *penalty(bm_tape *t, net *n)
{
    n->x_flags = BM_REQUIRES_GRAD;
    bm_tensor *loss = mlp(t, n), *gx = NULL;
    if (!loss)
        return NULL;
    if (bm_grad(t, &loss, 1, &n->x, 1, NULL, 1, &gx) != BM_OK)
        return NULL;
    return bm_add(t, loss, bm_sum(t, bm_mul(t, gx, gx), BM_AXIS_ALL, 0));
}

/* Counting allocator: calls since the last look. */
typedef struct counter {
    size_t calls;
    int poison; /* fill new memory with POISON_BYTE (what a dry run must not read) */
} counter;

/* Bytes of new memory when poisoned: floats and doubles of about 3e38 / 1e306. */
#define POISON_BYTE 0x7f

static void *count_alloc(void *ud, size_t n)
{
    counter *c = ud;
    c->calls++;
    void *p = malloc(n);
    if (p && c->poison)
        memset(p, POISON_BYTE, n);
    return p;
}

static void count_free(void *ud, void *p)
{
    (void)ud;
    free(p);
}

/* What a training run leaves: the losses and the final parameters. */
typedef struct run {
    double loss[STEPS];
    double *params;
    size_t n_values;
    bm_tape_memory_stats mem;
    size_t allocs_after_plan; /* allocator calls over the replayed steps after planning */
} run;

/* How train records: unplanned, planned at the first replay, or dry and
 * planned before the first step (whose forward the backward then runs). */
enum { PLAN_OFF, PLAN_ON, PLAN_DRY };
/* A gradient value no step writes: the dry backward must leave it. */
#define UNTOUCHED 12345.0

/* The dry run's record, backward and plan, before the first step. */
static void build_dry(bm_tape *t, net *n)
{
    for (size_t i = 0; i < n->n_p; i++)
        for (size_t j = 0; j < n->p[i]->size; j++) {
            bm_tensor *p = n->p[i];
            if (p->dtype == BM_F64)
                ((double *)p->grad)[j] = UNTOUCHED;
            else
                ((float *)p->grad)[j] = (float)UNTOUCHED;
        }
    ck_assert_msg(bm_tape_backward(t, n->loss, NULL) == BM_OK, "%s", bm_tape_error(t));
    ck_assert_int_eq(bm_tape_backward(t, n->loss, NULL), BM_OK); /* built: runs nothing */
    ck_assert_int_eq(bm_tape_set_dry_run(t, 0), 1);
    for (size_t i = 0; i < n->n_p; i++)
        for (size_t j = 0; j < n->p[i]->size; j++)
            ck_assert(bm_tensor_grad_get(n->p[i], j) == UNTOUCHED);
    ck_assert_msg(bm_tape_plan_memory(t) == BM_OK, "%s", bm_tape_error(t));
}

/* Train STEPS steps of plain SGD on fresh batches (recorded once,
 * replayed); plan: PLAN_OFF, PLAN_ON or PLAN_DRY. */
static void train(build_fn build, bm_dtype dt, size_t classes, int plan, run *out)
{
    counter cnt = {.calls = 0, .poison = plan == PLAN_DRY};
    bm_allocator a = {.alloc = count_alloc, .free = count_free, .ud = &cnt};
    bm_tape *t = bm_tape_new_ex(&a);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(bm_tape_set_memory_plan(t, plan != PLAN_OFF), 0);
    ck_assert_int_eq(bm_tape_memory_plan(t), plan != PLAN_OFF);
    ck_assert_int_eq(bm_tape_set_dry_run(t, plan == PLAN_DRY), 0);
    net n = {.dt = dt};
    bm_rng data;
    bm_rng_seed(&data, DATA_SEED);
    n.loss = build(t, &n);
    ck_assert_msg(n.loss != NULL, "%s", bm_tape_error(t));
    if (plan == PLAN_DRY)
        build_dry(t, &n);
    size_t after = 0;
    for (int s = 0; s < STEPS; s++) {
        fill_batch(&n, &data, classes);
        if (s > 0 || plan != PLAN_DRY) /* dry: the first backward runs the forward */
            ck_assert_int_eq(bm_tape_forward(t), BM_OK);
        for (size_t i = 0; i < n.n_p; i++)
            bm_tensor_zero_grad(n.p[i]);
        ck_assert_msg(bm_tape_backward(t, n.loss, NULL) == BM_OK, "%s", bm_tape_error(t));
        out->loss[s] = bm_tensor_get(n.loss, 0);
        for (size_t i = 0; i < n.n_p; i++)
            for (size_t j = 0; j < n.p[i]->size; j++)
                bm_tensor_set(n.p[i], j, bm_tensor_get(n.p[i], j) -
                                             LR * bm_tensor_grad_get(n.p[i], j));
        if (s == (plan == PLAN_DRY ? 0 : 1))
            after = cnt.calls; /* planned (dry: before the first step) */
    }
    out->allocs_after_plan = cnt.calls - after;
    ck_assert_int_eq(bm_tape_memory(t, &out->mem), BM_OK);
    out->n_values = 0;
    for (size_t i = 0; i < n.n_p; i++)
        out->n_values += n.p[i]->size;
    out->params = malloc(out->n_values * sizeof *out->params);
    ck_assert_ptr_nonnull(out->params);
    for (size_t i = 0, k = 0; i < n.n_p; i++)
        for (size_t j = 0; j < n.p[i]->size; j++)
            out->params[k++] = bm_tensor_get(n.p[i], j);
    free_params(&n);
    bm_tape_free(t);
}

/* Train with and without the planner: the same bits, less memory. */
static void compare(build_fn build, bm_dtype dt, size_t classes, run *off, run *on)
{
    run dry;
    train(build, dt, classes, PLAN_DRY, &dry);
    train(build, dt, classes, PLAN_OFF, off);
    ck_assert(memcmp(dry.loss, off->loss, sizeof dry.loss) == 0);
    ck_assert_uint_eq(dry.n_values, off->n_values);
    ck_assert(memcmp(dry.params, off->params, off->n_values * sizeof(double)) == 0);
    ck_assert_uint_eq(dry.allocs_after_plan, 0);
    ck_assert_int_eq(dry.mem.planned, 1);
    free(dry.params);
    train(build, dt, classes, PLAN_ON, on);
    ck_assert_int_eq(off->mem.planned, 0);
    ck_assert_int_eq(on->mem.planned, 1);
    for (int s = 0; s < STEPS; s++)
        ck_assert_msg(memcmp(&off->loss[s], &on->loss[s], sizeof(double)) == 0,
                      "step %d: loss %.17g planned, %.17g not", s, on->loss[s], off->loss[s]);
    ck_assert(off->loss[STEPS - 1] != off->loss[0]); /* it trained */
    ck_assert_uint_eq(off->n_values, on->n_values);
    ck_assert(memcmp(off->params, on->params, off->n_values * sizeof(double)) == 0);
    ck_assert_uint_eq(on->allocs_after_plan, 0);
    ck_assert_uint_eq(off->allocs_after_plan, 0);
    /* the figures hang together */
    const bm_tape_memory_stats *m = &on->mem;
    ck_assert_uint_gt(m->values, 0);
    ck_assert_uint_gt(m->grads, 0);
    ck_assert_uint_ge(m->buffers, m->values + m->grads + m->saved);
    ck_assert_uint_le(m->peak_live, m->slab);
    ck_assert_uint_lt(m->slab, m->buffers);
    ck_assert_uint_eq(m->data_arena, m->slab);
    ck_assert_uint_lt(on->mem.arena, off->mem.arena);
    ck_assert_uint_eq(off->mem.values, on->mem.values);
    free(off->params);
    free(on->params);
}

START_TEST(mlp_same_bits_less_memory)
{
    run off, on;
    compare(mlp, BM_F32, MLP_CLASSES, &off, &on);
    ck_assert_msg((double)on.mem.arena <= MLP_RATIO * (double)off.mem.arena,
                  "planned arena %zu bytes, unplanned %zu", on.mem.arena, off.mem.arena);
}
END_TEST

START_TEST(mlp_f64_same_bits)
{
    run off, on;
    compare(mlp, BM_F64, MLP_CLASSES, &off, &on);
}
END_TEST

START_TEST(cnn_same_bits)
{
    run off, on;
    compare(cnn, BM_F32, CNN_CLASSES, &off, &on);
}
END_TEST

START_TEST(attention_same_bits)
{
    run off, on;
    compare(attention, BM_F32, ATT_CLASSES, &off, &on);
}
END_TEST

START_TEST(create_graph_same_bits)
{
    run off, on;
    compare(penalty, BM_F64, MLP_CLASSES, &off, &on);
}
END_TEST

/* Values the caller may read after planning: the loss, kept tensors; an op
 * reading a reused buffer is refused; reset ends the plan. */
START_TEST(keep_and_refuse)
{
    bm_tape *t = bm_tape_new();
    net n = {.dt = BM_F64};
    bm_rng data;
    bm_rng_seed(&data, DATA_SEED);
    n.loss = mlp(t, &n);
    ck_assert_ptr_nonnull(n.loss);
    ck_assert_int_eq(bm_tape_keep(t, n.logits), BM_OK);
    fill_batch(&n, &data, MLP_CLASSES);
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    ck_assert_int_eq(bm_tape_backward(t, n.loss, NULL), BM_OK);
    double loss = bm_tensor_get(n.loss, 0);
    size_t nl = n.logits->size;
    double *logits = malloc(nl * sizeof *logits), *dlogits = malloc(nl * sizeof *dlogits);
    ck_assert(logits && dlogits);
    for (size_t i = 0; i < nl; i++) {
        logits[i] = bm_tensor_get(n.logits, i);
        dlogits[i] = bm_tensor_grad_get(n.logits, i);
    }
    /* the hidden layer's output (read by later ops) is not kept */
    bm_tensor *hidden = n.logits->node ? (bm_tensor *)bm_node_input(n.logits->node, 0) : NULL;
    ck_assert_ptr_nonnull(hidden);
    ck_assert_int_eq(bm_tape_plan_memory(t), BM_OK);
    ck_assert_int_eq(bm_tape_plan_memory(t), BM_OK); /* once */
    bm_tape_memory_stats st;
    ck_assert_int_eq(bm_tape_memory(t, &st), BM_OK);
    ck_assert_int_eq(st.planned, 1);
    /* the loss and the kept logits survive planning ... */
    ck_assert(bm_tensor_get(n.loss, 0) == loss);
    for (size_t i = 0; i < nl; i++)
        ck_assert(bm_tensor_get(n.logits, i) == logits[i]);
    /* ... and a replayed step (the same batch) */
    for (size_t i = 0; i < n.n_p; i++)
        bm_tensor_zero_grad(n.p[i]);
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    ck_assert_int_eq(bm_tape_backward(t, n.loss, NULL), BM_OK);
    ck_assert(bm_tensor_get(n.loss, 0) == loss);
    for (size_t i = 0; i < nl; i++) {
        ck_assert(bm_tensor_get(n.logits, i) == logits[i]);
        ck_assert(bm_tensor_grad_get(n.logits, i) == dlogits[i]);
    }
    /* reading the kept logits is fine, the reused hidden layer is not */
    ck_assert_ptr_nonnull(bm_sum(t, n.logits, BM_AXIS_ALL, 0));
    ck_assert_ptr_null(bm_sum(t, hidden, BM_AXIS_ALL, 0));
    ck_assert_int_eq(bm_tape_status(t), BM_ERR_STATE);
    ck_assert_msg(strstr(bm_tape_error(t), "bm_sum: input 0") &&
                      strstr(bm_tape_error(t), "bm_tape_keep"),
                  "%s", bm_tape_error(t));
    bm_tape_clear_error(t);
    ck_assert_int_eq(bm_tape_keep(t, n.logits), BM_ERR_STATE); /* too late */
    bm_tape_clear_error(t);
    /* reset: a new recording, planned again at its first replay */
    free_params(&n);
    bm_tape_reset(t);
    ck_assert_int_eq(bm_tape_memory(t, &st), BM_OK);
    ck_assert_int_eq(st.planned, 0);
    bm_tape_set_memory_plan(t, 1);
    n.loss = mlp(t, &n);
    ck_assert_ptr_nonnull(n.loss);
    ck_assert_int_eq(bm_tape_backward(t, n.loss, NULL), BM_OK);
    ck_assert_int_eq(bm_tape_memory(t, &st), BM_OK);
    ck_assert_int_eq(st.planned, 0); /* built, not yet replayed */
    ck_assert_int_eq(bm_tape_backward(t, n.loss, NULL), BM_OK);
    ck_assert_int_eq(bm_tape_memory(t, &st), BM_OK);
    ck_assert_int_eq(st.planned, 1);
    free(logits);
    free(dlogits);
    free_params(&n);
    bm_tape_free(t);
}
END_TEST

/* After a replayed forward, a value the backward reads may be read by a
 * new op; one only the forward read (its memory reused within the forward)
 * may not. Backward twice without a forward between gives twice the
 * gradient, as without the planner. */
START_TEST(refuse_dead_value)
{
    bm_tape *t = bm_tape_new();
    bm_tape_set_memory_plan(t, 1);
    size_t n = 8;
    bm_tensor *x = bm_tape_leaf(t, BM_F64, 1, &n, BM_REQUIRES_GRAD);
    bm_tensor *w = bm_tape_leaf(t, BM_F64, 1, &n, BM_REQUIRES_GRAD);
    for (size_t i = 0; i < n; i++) {
        bm_tensor_set(x, i, 0.25 * (double)i - 1.0);
        bm_tensor_set(w, i, 0.5 + 0.125 * (double)i);
    }
    bm_tensor *m = bm_mul(t, x, w);   /* read only by scale's forward */
    bm_tensor *th = bm_tanh(t, bm_scale(t, m, 2.0)); /* read by tanh's vjp */
    bm_tensor *f = bm_sum(t, bm_mul(t, th, th), BM_AXIS_ALL, 0);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(bm_tape_backward(t, f, NULL), BM_OK);
    double g1[8];
    for (size_t i = 0; i < n; i++)
        g1[i] = bm_tensor_grad_get(x, i);
    ck_assert_int_eq(bm_tape_backward(t, f, NULL), BM_OK); /* plans, then runs */
    ck_assert_int_eq(bm_tape_backward(t, f, NULL), BM_OK); /* stale: forward first */
    for (size_t i = 0; i < n; i++)
        ck_assert(bm_tensor_grad_get(x, i) == g1[i] + g1[i] + g1[i]);
    bm_tape_memory_stats st;
    ck_assert_int_eq(bm_tape_memory(t, &st), BM_OK);
    ck_assert_int_eq(st.planned, 1);
    ck_assert_ptr_null(bm_sum(t, th, BM_AXIS_ALL, 0)); /* a backward overwrote it */
    ck_assert_msg(strstr(bm_tape_error(t), "replay bm_tape_forward first") != NULL, "%s",
                  bm_tape_error(t));
    bm_tape_clear_error(t);
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    bm_tensor *s = bm_sum(t, th, BM_AXIS_ALL, 0);
    ck_assert_msg(s != NULL, "%s", bm_tape_error(t));
    double want = 0;
    for (size_t i = 0; i < n; i++)
        want += bm_tensor_get(th, i);
    ck_assert(bm_tensor_get(s, 0) == want);
    ck_assert_ptr_null(bm_sum(t, m, BM_AXIS_ALL, 0));
    ck_assert_int_eq(bm_tape_status(t), BM_ERR_STATE);
    ck_assert_msg(strstr(bm_tape_error(t), "replay") == NULL, "%s", bm_tape_error(t));
    bm_tape_free(t);
}
END_TEST

/* gradcheck on a graph planned after its gradient graph was built: the
 * replays give the same verdict and errors as before planning. */
START_TEST(gradcheck_planned)
{
    bm_tape *t = bm_tape_new();
    net n = {.dt = BM_F64};
    bm_rng data;
    bm_rng_seed(&data, DATA_SEED);
    bm_tensor *loss = attention(t, &n);
    ck_assert_msg(loss != NULL, "%s", bm_tape_error(t));
    fill_batch(&n, &data, ATT_CLASSES);
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    bm_gradcheck_opts o = bm_gradcheck_defaults();
    o.mode = BM_GRADCHECK_PROJECTION;
    bm_gradcheck_result before, after;
    ck_assert_int_eq(bm_gradcheck(t, loss, n.p, n.n_p, &o, &before), BM_OK);
    ck_assert_msg(before.passed, "%s", before.message);
    ck_assert_int_eq(bm_tape_plan_memory(t), BM_OK);
    ck_assert_int_eq(bm_gradcheck(t, loss, n.p, n.n_p, &o, &after), BM_OK);
    ck_assert_msg(after.passed, "%s", after.message);
    ck_assert(after.max_abs_err == before.max_abs_err);
    ck_assert(after.worst_analytic == before.worst_analytic);
    bm_tape_memory_stats st;
    ck_assert_int_eq(bm_tape_memory(t, &st), BM_OK);
    ck_assert_int_eq(st.planned, 1);
    free_params(&n);
    bm_tape_free(t);
}
END_TEST

/* Two gradient graphs of one forward (the loss and Σ logits²), planned
 * together (plan 1) or the second built on a planned tape (plan 2):
 * replayed in either order they give the unplanned gradients (plan 0). */
static void two_plans(int plan, int order, double *grads, size_t max)
{
    bm_tape *t = bm_tape_new();
    net n = {.dt = BM_F64};
    bm_rng data;
    bm_rng_seed(&data, DATA_SEED);
    n.loss = mlp(t, &n);
    bm_tensor *other = bm_sum(t, bm_mul(t, n.logits, n.logits), BM_AXIS_ALL, 0);
    ck_assert_ptr_nonnull(other);
    fill_batch(&n, &data, MLP_CLASSES);
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    bm_tensor *outs[2] = {order ? other : n.loss, order ? n.loss : other};
    ck_assert_int_eq(bm_tape_backward(t, n.loss, NULL), BM_OK);
    if (plan == 2) {
        ck_assert_int_eq(bm_tape_plan_memory(t), BM_OK);
        ck_assert_int_eq(bm_tape_backward(t, n.loss, NULL), BM_OK); /* stale forward */
        ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    }
    ck_assert_msg(bm_tape_backward(t, other, NULL) == BM_OK, "%s", bm_tape_error(t));
    if (plan == 1)
        ck_assert_int_eq(bm_tape_plan_memory(t), BM_OK);
    size_t k = 0;
    for (int rep = 0; rep < 2; rep++) {
        fill_batch(&n, &data, MLP_CLASSES);
        ck_assert_int_eq(bm_tape_forward(t), BM_OK);
        for (int o = 0; o < 2; o++) {
            for (size_t i = 0; i < n.n_p; i++)
                bm_tensor_zero_grad(n.p[i]);
            ck_assert_int_eq(bm_tape_backward(t, outs[o], NULL), BM_OK);
            for (size_t i = 0; i < n.n_p; i++)
                for (size_t j = 0; j < n.p[i]->size && k < max; j++)
                    grads[k++] = bm_tensor_grad_get(n.p[i], j);
        }
    }
    ck_assert_uint_eq(k, max);
    free_params(&n);
    bm_tape_free(t);
}

START_TEST(two_plans_any_order)
{
    size_t per = 0;
    for (int l = 0; l < MLP_DEPTH; l++) {
        size_t out = l + 1 == MLP_DEPTH ? MLP_CLASSES : MLP_W;
        per += MLP_W * out + out;
    }
    size_t max = 4 * per; /* two replays × two outputs */
    double *ref = malloc(max * sizeof *ref), *got = malloc(max * sizeof *got);
    ck_assert(ref && got);
    for (int order = 0; order < 2; order++) {
        two_plans(0, order, ref, max);
        for (int plan = 1; plan <= 2; plan++) {
            two_plans(plan, order, got, max);
            ck_assert_msg(memcmp(ref, got, max * sizeof *ref) == 0, "plan %d order %d", plan,
                          order);
        }
    }
    free(ref);
    free(got);
}
END_TEST

START_TEST(null_and_errors)
{
    bm_tape_memory_stats st;
    ck_assert_int_eq(bm_tape_memory(NULL, &st), BM_ERR_NULL);
    ck_assert_uint_eq(st.arena, 0);
    ck_assert_int_eq(bm_tape_plan_memory(NULL), BM_ERR_NULL);
    ck_assert_int_eq(bm_tape_keep(NULL, NULL), BM_ERR_NULL);
    ck_assert_int_eq(bm_tape_set_memory_plan(NULL, 1), 0);
    ck_assert_int_eq(bm_tape_memory_plan(NULL), 0);
    bm_tape *t = bm_tape_new(), *u = bm_tape_new();
    ck_assert_int_eq(bm_tape_memory(t, NULL), BM_ERR_NULL);
    ck_assert_int_eq(bm_tape_keep(t, NULL), BM_ERR_NULL);
    bm_tape_clear_error(t);
    size_t s = 2;
    bm_tensor *x = bm_tape_leaf(u, BM_F64, 1, &s, 0);
    ck_assert_int_eq(bm_tape_keep(t, x), BM_ERR_STATE);
    bm_tape_clear_error(t);
    /* an empty tape plans to nothing */
    ck_assert_int_eq(bm_tape_plan_memory(t), BM_OK);
    ck_assert_int_eq(bm_tape_memory(t, &st), BM_OK);
    ck_assert_int_eq(st.planned, 1);
    ck_assert_uint_eq(st.slab, 0);
    bm_tape_free(t);
    bm_tape_free(u);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("memplan");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, mlp_same_bits_less_memory);
    tcase_add_test(tc, mlp_f64_same_bits);
    tcase_add_test(tc, cnn_same_bits);
    tcase_add_test(tc, attention_same_bits);
    tcase_add_test(tc, create_graph_same_bits);
    tcase_add_test(tc, keep_and_refuse);
    tcase_add_test(tc, refuse_dead_value);
    tcase_add_test(tc, gradcheck_planned);
    tcase_add_test(tc, two_plans_any_order);
    tcase_add_test(tc, null_and_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
