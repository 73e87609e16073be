/* test_layers_every.c — every built-in layer kind gradchecked through a
 * model. For each kind 0 .. BM_LAYER_KIND_COUNT-1 (its name from its
 * vtable) the case table below gives per-sample input shapes and spec
 * tweaks (a kind may have several cases: its options); the test builds a
 * graph model through the public API (the inputs, the node under test,
 * flatten when its output has several axes, a dense head to 2 classes,
 * softmax_cce; or, for a case marked last, a dense to 2 classes before the
 * node, which then feeds the loss) in F64, records its loss on a tape for
 * a batch of 3 and runs bm_gradcheck AND bm_gradgradcheck w.r.t. every
 * trained parameter and w.r.t. the input (not for embedding's token ids),
 * in training mode (batch statistics, dropout) and in evaluation mode
 * (running statistics, no dropout). It also asserts that the
 * model's prediction has the shape the kind's infer gives, and that a
 * version 2 save/load round trip predicts the same bits.
 *
 * A kind without a case fails with "layer kind 'X' has no through-the-model
 * case in test_layers_every.c": a kind added to layers.def needs one here.
 *
 * Dropout (found out here): the model's dropout records a stochastic op,
 * and bm_tape_forward redraws its mask on every replay unless the tape is
 * frozen (bm_tape_freeze_random) — but bm_gradcheck freezes the tape for
 * its re-evaluations (and restores the setting), and bm_gradgradcheck runs
 * bm_gradcheck, so one mask serves a whole check and dropout is checked in
 * training mode too, on a tape the test leaves unfrozen. The dropout case
 * also asserts that an unfrozen replay does redraw the mask (the loss
 * changes) and a frozen one does not, so the check is not vacuous. */
#include "test_model_grad.h"

#define ck_ok(s, e) ck_assert_msg((s) == BM_OK, "%s", (e).msg)

/* Rows of the gradchecked batch. */
#define BATCH 3
/* Classes of the dense head. */
#define CLASSES 2
/* Seeds of the model's parameters and of the inputs. Other seeds pass as
 * well (8 other pairs were tried). With 2 rows, batch_norm in training
 * gives symmetric logits and the head's bias gradient is exactly zero
 * ("all gradients are zero": the check proves nothing); hence BATCH 3.
 * (Such a point used to be "every point was a kink" too, before
 * bm_gradcheck's kink test told curvature from a kink.) */
#define INIT_SEED 7
#define DATA_SEED 9
/* Vocabulary of embedding's token ids. */
#define VOCAB 7
/* Dropout's rate in its cases. */
#define DROP_RATE 0.4
/* Before the round trip every parameter moves by PARAM_NOISE·N(0, 1)
 * (biases start at zero) and every state value becomes STATE_MIN +
 * U(0, 1): a running variance stays positive, and a file that lost a
 * value, or rounded one, predicts other bits. */
#define PARAM_NOISE 0.1
#define STATE_MIN 0.5
/* Seed of that. */
#define MOVE_SEED 13

/* Switches a case turns off (bits of tweak.off). */
enum { OFF_BIAS = 1, OFF_AFFINE = 2, OFF_CAUSAL = 4 };

/* Spec fields a case sets (a zero field keeps the kind's default; a
 * window's second axis 0 takes its first: {3} is 3 × 3). */
typedef struct tweak {
    size_t in, out, groups, heads, hidden;
    size_t kernel[2], stride[2], padding[2], dilation[2];
    int causal, sequences, approximate, axis;
    unsigned off;           /* OFF_* bits */
    double rate, alpha;
    bm_shape shape;
} tweak;

/* One case of a kind (a kind may have several: its options). */
typedef struct every_case {
    const char *kind;       /* the vtable's name */
    size_t n_in;            /* model inputs the node reads (add, concat: 2) */
    bm_shape in[2];         /* their per-sample shapes */
    tweak set;
    int last;               /* 1: the node is the output, after a dense to CLASSES,
                             * straight into the loss (a softmax there is fused) */
    int ids;                /* 1: the input holds token ids in [0, VOCAB) */
} every_case;

#define SHAPE(...)                                                                        \
    {.rank = (int)(sizeof((size_t[]){__VA_ARGS__}) / sizeof(size_t)), .dim = {__VA_ARGS__}}

/* The cases: odd sizes, shapes away from ties where the kind has kinks;
 * the first of each kind mostly with its defaults, later ones its options. */
static const every_case CASES[] = {
    {"dense", 1, {SHAPE(5)}, {.out = 3}, 0, 0},
    {"dense", 1, {SHAPE(5)}, {.out = CLASSES}, 1, 0},
    {"relu", 1, {SHAPE(5)}, {0}, 0, 0},
    {"sigmoid", 1, {SHAPE(5)}, {0}, 0, 0},
    {"sigmoid", 1, {SHAPE(5)}, {0}, 1, 0},
    {"tanh", 1, {SHAPE(5)}, {0}, 0, 0},
    {"softmax", 1, {SHAPE(5)}, {0}, 0, 0},
    {"softmax", 1, {SHAPE(3, 2)}, {0}, 0, 0},
    {"softmax", 1, {SHAPE(5)}, {0}, 1, 0},
    {"identity", 1, {SHAPE(5)}, {0}, 0, 0},
    {"identity", 1, {SHAPE(5)}, {0}, 1, 0},
    {"dropout", 1, {SHAPE(5)}, {.rate = DROP_RATE}, 0, 0},
    {"gelu", 1, {SHAPE(5)}, {0}, 0, 0},
    {"gelu", 1, {SHAPE(5)}, {.approximate = 1}, 0, 0},
    {"silu", 1, {SHAPE(5)}, {0}, 0, 0},
    {"leaky_relu", 1, {SHAPE(5)}, {0}, 0, 0},
    {"leaky_relu", 1, {SHAPE(5)}, {.alpha = 0.2}, 0, 0},
    {"elu", 1, {SHAPE(5)}, {0}, 0, 0},
    {"elu", 1, {SHAPE(5)}, {.alpha = 0.7}, 0, 0},
    {"softplus", 1, {SHAPE(5)}, {0}, 0, 0},
    {"softplus", 1, {SHAPE(5)}, {.alpha = 2.5}, 0, 0},
    {"log_softmax", 1, {SHAPE(2, 5)}, {0}, 0, 0},
    {"log_softmax", 1, {SHAPE(5)}, {0}, 1, 0},
    {"conv1d", 1, {SHAPE(2, 7)}, {.out = 3, .kernel = {3}, .padding = {1}}, 0, 0},
    {"conv1d", 1, {SHAPE(4, 9)},
     {.out = 2, .kernel = {2}, .stride = {2}, .dilation = {2}, .groups = 2, .off = OFF_BIAS}, 0, 0},
    {"conv2d", 1, {SHAPE(2, 5, 4)}, {.out = 3, .kernel = {3}, .stride = {2}}, 0, 0},
    {"conv2d", 1, {SHAPE(1, 6, 7)},
     {.out = 2, .kernel = {3, 2}, .stride = {1, 2}, .padding = {0, 1}, .dilation = {2, 1}}, 0, 0},
    {"conv2d", 1, {SHAPE(4, 7, 6)},
     {.out = 2, .kernel = {2}, .padding = {1}, .dilation = {2}, .groups = 2, .off = OFF_BIAS},
     0, 0},
    {"max_pool2d", 1, {SHAPE(2, 5, 5)}, {.kernel = {2}}, 0, 0},
    {"max_pool2d", 1, {SHAPE(2, 6, 5)}, {.kernel = {3, 2}, .stride = {2, 1}, .padding = {1, 0}},
     0, 0},
    {"max_pool2d", 1, {SHAPE(1, 5, 4)}, {.kernel = {3}, .stride = {1}, .padding = {1}}, 0, 0},
    {"avg_pool2d", 1, {SHAPE(2, 5, 5)}, {.kernel = {3}, .stride = {2}, .padding = {1}}, 0, 0},
    {"avg_pool2d", 1, {SHAPE(2, 6, 5)}, {.kernel = {2, 3}, .stride = {1, 2}, .padding = {0, 1}},
     0, 0},
    {"avg_pool2d", 1, {SHAPE(1, 4, 5)}, {.kernel = {2}}, 0, 0},
    {"global_avg_pool", 1, {SHAPE(3, 4, 5)}, {0}, 0, 0},
    {"flatten", 1, {SHAPE(2, 3, 2)}, {0}, 0, 0},
    {"reshape", 1, {SHAPE(6)}, {.shape = SHAPE(2, 3)}, 0, 0},
    {"reshape", 1, {SHAPE(2, 3, 2)}, {.shape = SHAPE(3, 4)}, 0, 0},
    {"batch_norm", 1, {SHAPE(3, 5)}, {0}, 0, 0},
    {"batch_norm", 1, {SHAPE(2, 3, 3)}, {.off = OFF_AFFINE}, 0, 0},
    {"batch_norm", 1, {SHAPE(3)}, {.off = OFF_BIAS}, 0, 0},
    {"layer_norm", 1, {SHAPE(2, 5)}, {0}, 0, 0},
    {"layer_norm", 1, {SHAPE(5)}, {.off = OFF_BIAS}, 0, 0},
    {"rms_norm", 1, {SHAPE(2, 5)}, {0}, 0, 0},
    {"rms_norm", 1, {SHAPE(5)}, {.off = OFF_AFFINE}, 0, 0},
    {"embedding", 1, {SHAPE(4)}, {.in = VOCAB, .out = 3}, 0, 1},
    {"embedding", 1, {SHAPE(2, 3)}, {.in = VOCAB, .out = 2}, 0, 1},
    {"add", 2, {SHAPE(3, 2), SHAPE(2)}, {0}, 0, 0},
    {"add", 2, {SHAPE(2, 3, 2), SHAPE(2, 1, 1)}, {0}, 0, 0},
    {"concat", 2, {SHAPE(2, 3), SHAPE(3, 3)}, {0}, 0, 0},
    {"concat", 2, {SHAPE(2, 3), SHAPE(2, 4)}, {.axis = -1}, 0, 0},
    {"group_norm", 1, {SHAPE(4, 5)}, {.groups = 2}, 0, 0},
    {"group_norm", 1, {SHAPE(6, 2, 3)}, {.groups = 3, .off = OFF_BIAS}, 0, 0},
    {"conv_transpose2d", 1, {SHAPE(2, 3, 2)}, {.out = 2, .kernel = {3}, .stride = {2}}, 0, 0},
    {"conv_transpose2d", 1, {SHAPE(1, 2, 3)},
     {.out = 3, .kernel = {2, 3}, .stride = {2, 1}, .padding = {1, 0}, .dilation = {1, 2}}, 0, 0},
    {"conv_transpose2d", 1, {SHAPE(4, 3, 3)},
     {.out = 2, .kernel = {2}, .padding = {1}, .dilation = {2}, .groups = 2, .off = OFF_BIAS},
     0, 0},
    {"rnn", 1, {SHAPE(4, 3)}, {.out = 3}, 0, 0},
    {"rnn", 1, {SHAPE(3, 2)}, {.out = 2, .sequences = 1, .off = OFF_BIAS}, 0, 0},
    {"lstm", 1, {SHAPE(4, 3)}, {.out = 3, .sequences = 1}, 0, 0},
    {"lstm", 1, {SHAPE(3, 2)}, {.out = 2, .off = OFF_BIAS}, 0, 0},
    {"gru", 1, {SHAPE(4, 3)}, {.out = 3}, 0, 0},
    {"gru", 1, {SHAPE(3, 2)}, {.out = 2, .sequences = 1, .off = OFF_BIAS}, 0, 0},
    {"attention", 1, {SHAPE(3, 4)}, {.heads = 2, .causal = 1}, 0, 0},
    {"attention", 1, {SHAPE(3, 3)}, {.off = OFF_BIAS}, 0, 0},
    {"transformer", 1, {SHAPE(3, 4)}, {.heads = 2, .hidden = 5}, 0, 0},
    {"transformer", 1, {SHAPE(3, 4)},
     {.hidden = 3, .approximate = 1, .rate = DROP_RATE, .off = OFF_CAUSAL | OFF_BIAS},
     0, 0},
    {"position", 1, {SHAPE(3, 4)}, {.in = 5}, 0, 0},
};
#define N_CASES (sizeof CASES / sizeof CASES[0])

/* The number of cases of the kind called name. */
static size_t count_cases(const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < N_CASES; i++)
        n += strcmp(CASES[i].kind, name) == 0;
    return n;
}

/* The kind's defaults with the case's tweaks. */
static bm_layer_spec case_spec(bm_layer_kind k, const tweak *t)
{
    bm_layer_spec s = bm_layer_default(k);
    size_t *const fields[] = {&s.in, &s.out, &s.groups, &s.heads, &s.hidden};
    const size_t values[] = {t->in, t->out, t->groups, t->heads, t->hidden};
    int *const flags[] = {&s.causal, &s.sequences, &s.approximate, &s.axis};
    const int flag_values[] = {t->causal, t->sequences, t->approximate, t->axis};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        if (values[i])
            *fields[i] = values[i];
    for (size_t i = 0; i < sizeof flag_values / sizeof flag_values[0]; i++)
        if (flag_values[i])
            *flags[i] = flag_values[i];
    struct { size_t *to; const size_t *from; } windows[] = {
        {s.kernel, t->kernel}, {s.stride, t->stride}, {s.padding, t->padding},
        {s.dilation, t->dilation}};
    for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++)
        if (windows[i].from[0]) {
            windows[i].to[0] = windows[i].from[0];
            windows[i].to[1] = windows[i].from[1] ? windows[i].from[1] : windows[i].from[0];
        }
    if (t->rate > 0)
        s.rate = t->rate;
    if (t->alpha > 0)
        s.alpha = t->alpha;
    if (t->off & OFF_BIAS)
        s.bias = 0;
    if (t->off & OFF_AFFINE)
        s.affine = 0;
    if (t->off & OFF_CAUSAL)
        s.causal = 0;
    if (t->shape.rank)
        s.shape = t->shape;
    return s;
}

static size_t shape_size(const bm_shape *s)
{
    size_t n = 1;
    for (int d = 0; d < s->rank; d++)
        n *= s->dim[d];
    return n;
}

/* The model inputs of case c: "input" and, for two, "other". */
static const char *const INPUT_NAMES[2] = {"input", "other"};

/* Add node `name` of spec s reading the n nodes or inputs in `from`. */
static void add(bm_model *m, const char *name, bm_layer_spec s, size_t n,
                const char *const *from)
{
    bm_error e = {0};
    ck_ok(bm_model_add_node(m, name, &s, n, from, &e), e);
}

/* The case's inputs, node "layer", flatten when needed and the dense head
 * to CLASSES with softmax_cce; initialised. For a case that is last, a
 * dense "pre" to CLASSES then "layer". As a probe, the loss is mse on
 * "layer" (output 0; the head, when there is one, output 1). */
static bm_model *build(const every_case *c, bm_layer_kind k, int probe)
{
    bm_error e = {0};
    bm_model *m = bm_model_new(BM_F64, shape_size(&c->in[0]), &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    ck_ok(bm_model_set_input_shape(m, &c->in[0], &e), e);
    for (size_t i = 1; i < c->n_in; i++)
        ck_ok(bm_model_add_input(m, INPUT_NAMES[i], &c->in[i], &e), e);
    bm_layer_spec dense = bm_dense_spec(0, CLASSES);
    dense.init = BM_INIT_GLOROT;
    const char *const *from = INPUT_NAMES, *pre = "pre", *layer = "layer", *flat = "flat";
    if (c->last) {
        add(m, pre, dense, 1, from);
        from = &pre;
    }
    add(m, layer, case_spec(k, &c->set), c->n_in, from);
    if (!c->last) {
        from = &layer;
        if (bm_model_node_shape(m, 0)->rank != 1) {
            add(m, flat, bm_layer_default(BM_LAYER_FLATTEN), 1, from);
            from = &flat;
        }
        add(m, "fc", dense, 1, from);
    }
    if (probe && !c->last) {
        const char *outs[2] = {"layer", "fc"};
        ck_ok(bm_model_set_outputs(m, 2, outs, &e), e);
    }
    ck_ok(bm_model_set_loss(m, probe ? BM_LOSS_MSE : BM_LOSS_SOFTMAX_CCE, &e), e);
    ck_ok(bm_model_init(m, INIT_SEED, &e), e);
    return m;
}

/* Fill x [rows, width]: token ids, or N(0, 1). */
static void fill(bm_tensor *x, int ids)
{
    bm_rng r;
    bm_rng_seed(&r, DATA_SEED);
    for (size_t i = 0; i < x->size; i++)
        bm_tensor_set(x, i, ids ? (double)bm_rng_below(&r, VOCAB) : bm_rng_normal(&r));
}

/* A new F64 tensor [BATCH, width] of the case's inputs (not on a tape). */
static bm_tensor *batch_x(const every_case *c, size_t width)
{
    bm_error e = {0};
    size_t xs[2] = {BATCH, width};
    bm_tensor *x = bm_tensor_new(BM_F64, 2, xs, &e);
    ck_assert_msg(x != NULL, "%s", e.msg);
    fill(x, c->ids);
    return x;
}

/* Record the loss in `training` mode and gradcheck it w.r.t. every trained
 * parameter and the input (unless ids). */
static void gradcheck_case(bm_model *m, const every_case *c, int training, const char *name)
{
    bm_tape *t = bm_tape_new();
    ck_assert_ptr_nonnull(t);
    size_t xs[2] = {BATCH, bm_model_n_inputs(m)}, ys[1] = {BATCH};
    bm_tensor *x = bm_tape_leaf(t, BM_F64, 2, xs, c->ids ? 0u : BM_REQUIRES_GRAD);
    bm_tensor *y = bm_tape_leaf(t, BM_F64, 1, ys, 0);
    ck_assert_msg(x && y, "%s: %s", name, bm_tape_error(t));
    fill(x, c->ids);
    for (size_t i = 0; i < BATCH; i++)
        bm_tensor_set(y, i, (double)(i % CLASSES));
    bm_tensor *loss = bm_model_record(m, t, x, y, training, NULL);
    ck_assert_msg(loss != NULL, "%s: record: %s", name, bm_tape_error(t));
    /* no bm_tape_freeze_random here: bm_gradcheck freezes the tape itself */
    ck_assert_uint_gt(bm_tm_check_params(m, t, loss), 0);
    if (!c->ids) {
        char what[BM_NODE_NAME_MAX];
        snprintf(what, sizeof what, "%s: the input", name);
        bm_tm_check_leaf(t, loss, x, what);
    }
    bm_tape_free(t);
}

/* The prediction of `probe` (output 0: the node) has infer's shape. */
static void assert_infer_shape(bm_model *probe, const every_case *c, bm_layer_kind k,
                               const bm_layer_vt *vt)
{
    bm_error e = {0};
    bm_layer_spec s = case_spec(k, &c->set);
    bm_shape want, pre = {.rank = 1, .dim = {CLASSES}};
    ck_ok(vt->infer(&s, c->last ? &pre : c->in, c->n_in, &want, &e), e);
    bm_tensor *x = batch_x(c, bm_model_n_inputs(probe)), *out = NULL;
    ck_ok(bm_model_predict(probe, x, &out, &e), e);
    ck_assert_msg(out->rank == want.rank + 1 && out->shape[0] == BATCH,
                  "%s: prediction rank %d, infer says %d", vt->name, out->rank, want.rank);
    for (int d = 0; d < want.rank; d++)
        ck_assert_msg(out->shape[d + 1] == want.dim[d], "%s: prediction axis %d is %zu, infer %zu",
                      vt->name, d + 1, out->shape[d + 1], want.dim[d]);
    bm_tensor_free(out);
    bm_tensor_free(x);
}

/* Move m's parameters and state as PARAM_NOISE and STATE_MIN say (F64). */
static void move_values(bm_model *m)
{
    bm_rng r;
    bm_rng_seed(&r, MOVE_SEED);
    double *p = bm_model_params(m), *st = bm_model_state(m);
    for (size_t i = 0; i < bm_model_n_params(m); i++)
        p[i] += PARAM_NOISE * bm_rng_normal(&r);
    for (size_t i = 0; i < bm_model_n_state(m); i++)
        st[i] = STATE_MIN + bm_rng_uniform(&r);
}

/* A version 2 save/load round trip of m, its values moved first, predicts
 * the same bits. */
static void assert_round_trip(bm_model *m, const every_case *c, const char *name)
{
    bm_error e = {0};
    move_values(m);
    char *json = bm_model_to_json_version(m, NULL, 2, &e);
    ck_assert_msg(json != NULL, "%s: save: %s", name, e.msg);
    bm_model *back = bm_model_from_json(json, strlen(json), name, NULL, &e);
    ck_assert_msg(back != NULL, "%s: load: %s", name, e.msg);
    free(json);
    bm_tensor *x = batch_x(c, bm_model_n_inputs(m)), *p0 = NULL, *p1 = NULL;
    ck_ok(bm_model_predict(m, x, &p0, &e), e);
    ck_ok(bm_model_predict(back, x, &p1, &e), e);
    ck_assert_uint_eq(p0->size, p1->size);
    for (size_t i = 0; i < p0->size; i++) {
        double a = bm_tensor_get(p0, i), b = bm_tensor_get(p1, i);
        ck_assert_msg(memcmp(&a, &b, sizeof a) == 0, "%s: prediction %zu: %.17g, loaded %.17g",
                      name, i, a, b);
    }
    bm_tensor_free(p0);
    bm_tensor_free(p1);
    bm_tensor_free(x);
    bm_model_free(back);
}

/* Without bm_tape_freeze_random a replay of a training step redraws the
 * dropout mask: the loss changes (what the frozen gradcheck relies on). */
static void assert_dropout_redraws(bm_model *m, const every_case *c)
{
    bm_tape *t = bm_tape_new();
    size_t xs[2] = {BATCH, bm_model_n_inputs(m)}, ys[1] = {BATCH};
    bm_tensor *x = bm_tape_leaf(t, BM_F64, 2, xs, 0), *y = bm_tape_leaf(t, BM_F64, 1, ys, 0);
    fill(x, c->ids);
    for (size_t i = 0; i < BATCH; i++)
        bm_tensor_set(y, i, (double)(i % CLASSES));
    bm_tensor *loss = bm_model_record(m, t, x, y, 1, NULL);
    ck_assert_msg(loss != NULL, "%s", bm_tape_error(t));
    double before = bm_tensor_get(loss, 0);
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    ck_assert_msg(bm_tensor_get(loss, 0) != before, "dropout: replay kept the mask unfrozen");
    bm_tape_freeze_random(t, 1);
    before = bm_tensor_get(loss, 0);
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    ck_assert_msg(bm_tensor_get(loss, 0) == before, "dropout: frozen replay changed the mask");
    bm_tape_free(t);
}

/* Case c (row `row` of CASES) of kind k: infer's shape, gradchecks, round trip. */
static void run_case(const every_case *c, size_t row, bm_layer_kind k)
{
    const bm_layer_vt *vt = bm_layer_vtable((int)k);
    char name[BM_NODE_NAME_MAX];
    snprintf(name, sizeof name, "%s (CASES[%zu])", vt->name, row);
    bm_model *probe = build(c, k, 1);
    assert_infer_shape(probe, c, k, vt);
    bm_model_free(probe);
    bm_model *m = build(c, k, 0);
    gradcheck_case(m, c, 1, name);
    gradcheck_case(m, c, 0, name);
    if (c->set.rate > 0)
        assert_dropout_redraws(m, c);
    assert_round_trip(m, c, name);
    bm_model_free(m);
}

START_TEST(every_kind_through_a_model)
{
    const bm_layer_vt *vt = bm_layer_vtable(_i);
    ck_assert_msg(vt != NULL && vt->name != NULL, "layer kind %d has no vtable", _i);
    ck_assert_msg(count_cases(vt->name) > 0, "layer kind '%s' has no through-the-model case in "
                  "test_layers_every.c", vt->name);
    for (size_t i = 0; i < N_CASES; i++)
        if (strcmp(CASES[i].kind, vt->name) == 0)
            run_case(&CASES[i], i, (bm_layer_kind)_i);
}
END_TEST

/* Every case names a built-in kind (no stale rows) and every kind has one. */
START_TEST(cases_name_kinds)
{
    size_t covered = 0;
    for (size_t i = 0; i < N_CASES; i++) {
        bm_layer_kind k;
        bm_error e = {0};
        ck_assert_msg(bm_layer_kind_parse(CASES[i].kind, &k, &e) == BM_OK, "CASES[%zu]: %s", i,
                      e.msg);
        ck_assert_str_eq(bm_layer_vtable((int)k)->name, CASES[i].kind);
    }
    for (int k = 0; k < BM_LAYER_KIND_COUNT; k++)
        covered += count_cases(bm_layer_vtable(k)->name) > 0;
    ck_assert_uint_eq(covered, BM_LAYER_KIND_COUNT);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("layers_every");
    TCase *tc = tcase_create("kinds");
    tcase_add_loop_test(tc, every_kind_through_a_model, 0, BM_LAYER_KIND_COUNT);
    tcase_add_test(tc, cases_name_kinds);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
