/* torch_check_layers.c — for each case of the layer kinds (nn/layer_*.c),
 * run through the kind's vtable on fixed f64 values: inputs in_k[i] =
 * 1.5·sin(0.7·i + 1.3·k + 0.1) (token ids: (3·i + 1) mod rows), trained
 * parameters p_j[i] = 0.5·cos(0.3·i + 0.9·j + 0.2), running statistics
 * 0.1·c and 1 + 0.2·c. Prints the output, the gradients of the
 * differentiable inputs then of the trained parameters for the seed
 * 1 + 0.01·i, the second derivatives d/d(them) Σ_k v_k·grad_k (v = 1 −
 * 0.01·i) and, for batch_norm in training, the running statistics after two
 * steps (the second on inputs 0.8·cos(0.45·i) + 0.3) and the evaluation
 * output on the first inputs after them; tests/torch_check_layers.py
 * compares all of it with torch.nn's modules. */
#include <bmnn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_IN = 3, MAX_WRT = MAX_IN + BM_LAYER_MAX_PARAMS };

typedef struct lcase {
    const char *name;
    bm_layer_kind kind;
    void (*setup)(bm_layer_spec *s);
    int n_in;
    bm_shape in[MAX_IN];
    size_t batch;
    int training;
} lcase;

#define SHAPE(...)                                                                        \
    {.rank = (int)(sizeof((size_t[]){__VA_ARGS__}) / sizeof(size_t)), .dim = {__VA_ARGS__}}

static void conv2d_setup(bm_layer_spec *s)
{
    s->out = 6, s->kernel[0] = s->kernel[1] = 3, s->stride[0] = 2, s->padding[0] = 1;
    s->padding[1] = 2, s->dilation[1] = 2, s->groups = 2;
}
static void conv2d_nobias_setup(bm_layer_spec *s)
{
    s->out = 4, s->kernel[0] = 2, s->kernel[1] = 3, s->bias = 0;
}
static void convt_setup(bm_layer_spec *s)
{
    s->out = 6, s->kernel[0] = 3, s->kernel[1] = 2, s->stride[0] = s->stride[1] = 2;
    s->padding[0] = 1, s->dilation[1] = 2, s->groups = 2;
}
static void conv1d_setup(bm_layer_spec *s)
{
    s->out = 6, s->kernel[0] = 3, s->stride[0] = 2, s->padding[0] = 1, s->dilation[0] = 2;
    s->groups = 2;
}
static void max_pool_setup(bm_layer_spec *s)
{
    s->kernel[0] = s->kernel[1] = 3, s->stride[0] = s->stride[1] = 2;
    s->padding[0] = s->padding[1] = 1;
}
static void avg_pool_setup(bm_layer_spec *s)
{
    s->kernel[0] = 3, s->kernel[1] = 2, s->padding[0] = s->padding[1] = 1;
}
static void reshape_setup(bm_layer_spec *s) { s->shape = (bm_shape)SHAPE(4, 6); }
static void embedding_setup(bm_layer_spec *s) { s->in = 7, s->out = 3; }
static void concat_setup(bm_layer_spec *s) { s->axis = -1; }
static void gelu_tanh_setup(bm_layer_spec *s) { s->approximate = 1; }
static void leaky_setup(bm_layer_spec *s) { s->alpha = 0.2; }
static void elu_setup(bm_layer_spec *s) { s->alpha = 0.7; }
static void softplus_setup(bm_layer_spec *s) { s->alpha = 2.0; }
static void group3_setup(bm_layer_spec *s) { s->groups = 3; }
static void group2_setup(bm_layer_spec *s) { s->groups = 2; }
static void no_setup(bm_layer_spec *s) { (void)s; }

static const lcase cases[] = {
    {"conv2d", BM_LAYER_CONV2D, conv2d_setup, 1, {SHAPE(4, 7, 6)}, 2, 0},
    {"conv2d_nobias", BM_LAYER_CONV2D, conv2d_nobias_setup, 1, {SHAPE(3, 5, 5)}, 2, 0},
    {"conv_transpose2d", BM_LAYER_CONV_TRANSPOSE2D, convt_setup, 1, {SHAPE(4, 3, 4)}, 2, 0},
    {"conv1d", BM_LAYER_CONV1D, conv1d_setup, 1, {SHAPE(4, 9)}, 2, 0},
    {"max_pool2d", BM_LAYER_MAX_POOL2D, max_pool_setup, 1, {SHAPE(3, 7, 6)}, 2, 0},
    {"avg_pool2d", BM_LAYER_AVG_POOL2D, avg_pool_setup, 1, {SHAPE(3, 7, 6)}, 2, 0},
    {"global_avg_pool", BM_LAYER_GLOBAL_AVG_POOL, no_setup, 1, {SHAPE(3, 4, 5)}, 2, 0},
    {"flatten", BM_LAYER_FLATTEN, no_setup, 1, {SHAPE(2, 3, 4)}, 2, 0},
    {"reshape", BM_LAYER_RESHAPE, reshape_setup, 1, {SHAPE(2, 3, 4)}, 2, 0},
    {"batch_norm_train_2d", BM_LAYER_BATCH_NORM, no_setup, 1, {SHAPE(3, 4, 2)}, 4, 1},
    {"batch_norm_train_1d", BM_LAYER_BATCH_NORM, no_setup, 1, {SHAPE(4)}, 6, 1},
    {"batch_norm_train_cl", BM_LAYER_BATCH_NORM, no_setup, 1, {SHAPE(3, 5)}, 3, 1},
    {"batch_norm_eval", BM_LAYER_BATCH_NORM, no_setup, 1, {SHAPE(3, 4, 2)}, 4, 0},
    {"layer_norm", BM_LAYER_LAYER_NORM, no_setup, 1, {SHAPE(3, 5)}, 2, 0},
    {"rms_norm", BM_LAYER_RMS_NORM, no_setup, 1, {SHAPE(3, 5)}, 2, 0},
    {"group_norm", BM_LAYER_GROUP_NORM, group3_setup, 1, {SHAPE(6, 3, 2)}, 2, 0},
    {"group_norm_cl", BM_LAYER_GROUP_NORM, group2_setup, 1, {SHAPE(4, 5)}, 3, 0},
    {"embedding", BM_LAYER_EMBEDDING, embedding_setup, 1, {SHAPE(4)}, 2, 0},
    {"add", BM_LAYER_ADD, no_setup, 3, {SHAPE(3, 2, 4), SHAPE(3, 1, 1), SHAPE(4)}, 2, 0},
    {"concat", BM_LAYER_CONCAT, concat_setup, 2, {SHAPE(2, 3), SHAPE(2, 2)}, 2, 0},
    {"gelu", BM_LAYER_GELU, no_setup, 1, {SHAPE(2, 5)}, 2, 0},
    {"gelu_tanh", BM_LAYER_GELU, gelu_tanh_setup, 1, {SHAPE(2, 5)}, 2, 0},
    {"silu", BM_LAYER_SILU, no_setup, 1, {SHAPE(2, 5)}, 2, 0},
    {"leaky_relu", BM_LAYER_LEAKY_RELU, leaky_setup, 1, {SHAPE(2, 5)}, 2, 0},
    {"elu", BM_LAYER_ELU, elu_setup, 1, {SHAPE(2, 5)}, 2, 0},
    {"softplus", BM_LAYER_SOFTPLUS, softplus_setup, 1, {SHAPE(2, 5)}, 2, 0},
    {"log_softmax", BM_LAYER_LOG_SOFTMAX, no_setup, 1, {SHAPE(2, 5)}, 2, 0},
};

/* One case's tensors: inputs on the tape, parameters the caller's. */
typedef struct built {
    bm_layer_spec spec;
    const bm_layer_vt *vt;
    bm_param_desc desc[BM_LAYER_MAX_PARAMS];
    size_t n_params;
    bm_tensor *in[MAX_IN], *params[BM_LAYER_MAX_PARAMS];
} built;

static void print_all(const bm_tensor *t)
{
    for (size_t i = 0; t && i < t->size; i++)
        printf(" %.17g", bm_tensor_get(t, i));
}

static int fail(const lcase *c, const char *what)
{
    fprintf(stderr, "%s: %s\n", c->name, what);
    return 1;
}

/* Spec, parameters (fresh values) and input leaves of case c on tape t. */
static int build(const lcase *c, bm_tape *t, built *b)
{
    bm_error e = {0};
    memset(b, 0, sizeof *b);
    b->vt = bm_layer_vtable(c->kind);
    b->spec.kind = c->kind;
    if (b->vt->defaults)
        b->vt->defaults(&b->spec);
    c->setup(&b->spec);
    bm_shape out;
    if ((b->vt->check && b->vt->check(&b->spec, &e) != BM_OK) ||
        b->vt->infer(&b->spec, c->in, (size_t)c->n_in, &out, &e) != BM_OK)
        return fail(c, e.msg);
    b->n_params = b->vt->params(&b->spec, c->in, (size_t)c->n_in, b->desc);
    for (size_t j = 0; j < b->n_params; j++) {
        const bm_param_desc *d = &b->desc[j];
        bm_tensor *p = bm_tensor_new(BM_F64, d->rank, d->shape, &e);
        if (!p)
            return fail(c, e.msg);
        for (size_t i = 0; i < p->size; i++)
            bm_tensor_set(p, i, d->role == BM_ROLE_STATE
                                    ? (d->init == BM_PINIT_ONES ? 1 + 0.2 * (double)i
                                                                : 0.1 * (double)i)
                                    : 0.5 * cos(0.3 * (double)i + 0.9 * (double)j + 0.2));
        if (d->role != BM_ROLE_STATE)
            bm_tensor_set_requires_grad(p, 1, &e);
        b->params[j] = p;
    }
    for (int k = 0; k < c->n_in; k++) {
        size_t shape[BM_MAX_RANK] = {c->batch};
        for (int d = 0; d < c->in[k].rank; d++)
            shape[d + 1] = c->in[k].dim[d];
        int ids = c->kind == BM_LAYER_EMBEDDING;
        b->in[k] = bm_tape_leaf(t, BM_F64, c->in[k].rank + 1, shape, ids ? 0 : BM_REQUIRES_GRAD);
        if (!b->in[k])
            return fail(c, bm_tape_error(t));
        for (size_t i = 0; i < b->in[k]->size; i++)
            bm_tensor_set(b->in[k], i, ids ? (double)((3 * i + 1) % b->spec.in)
                                           : 1.5 * sin(0.7 * (double)i + 1.3 * k + 0.1));
    }
    return 0;
}

static void unbuild(built *b)
{
    for (size_t j = 0; j < b->n_params; j++)
        bm_tensor_free(b->params[j]);
}

static bm_tensor *record(const lcase *c, bm_tape *t, built *b, int training)
{
    bm_layer_call call = {.spec = &b->spec, .in = b->in, .n_in = (size_t)c->n_in,
                          .in_shapes = c->in, .params = b->params, .n_params = b->n_params,
                          .training = training};
    return b->vt->record(t, &call);
}

/* The output, first and second derivatives of case c. */
static int run_grads(const lcase *c)
{
    bm_tape *t = bm_tape_new();
    built b;
    if (build(c, t, &b))
        return 1;
    bm_tensor *y = record(c, t, &b, c->training);
    if (!y)
        return fail(c, bm_tape_error(t));
    bm_tensor *wrt[MAX_WRT], *g[MAX_WRT] = {NULL}, *h[MAX_WRT] = {NULL};
    size_t n = 0;
    for (int k = 0; k < c->n_in; k++)
        if (b.in[k]->flags & BM_REQUIRES_GRAD)
            wrt[n++] = b.in[k];
    for (size_t j = 0; j < b.n_params; j++)
        if (b.desc[j].role != BM_ROLE_STATE)
            wrt[n++] = b.params[j];
    printf("%s", c->name);
    print_all(y);
    bm_tensor *s = bm_tape_leaf(t, BM_F64, y->rank, y->shape, 0);
    for (size_t i = 0; i < s->size; i++)
        bm_tensor_set(s, i, 1 + 0.01 * (double)i);
    if (bm_grad(t, &y, 1, wrt, n, &s, 1, g) != BM_OK)
        return fail(c, bm_tape_error(t));
    bm_tensor *gv = NULL;
    for (size_t k = 0; k < n; k++) {
        bm_tensor *v = bm_tape_leaf(t, BM_F64, wrt[k]->rank, wrt[k]->shape, 0);
        for (size_t i = 0; i < v->size; i++)
            bm_tensor_set(v, i, 1 - 0.01 * (double)i);
        bm_tensor *term = bm_sum(t, bm_mul(t, g[k], v), BM_AXIS_ALL, 0);
        gv = gv ? bm_add(t, gv, term) : term;
    }
    if (gv && (gv->flags & BM_REQUIRES_GRAD) && bm_grad(t, &gv, 1, wrt, n, NULL, 0, h) != BM_OK)
        return fail(c, bm_tape_error(t));
    printf(" |");
    for (size_t k = 0; k < n; k++)
        print_all(g[k]);
    printf(" |");
    for (size_t k = 0; k < n; k++)
        if (h[k])
            print_all(h[k]);
        else
            for (size_t i = 0; i < wrt[k]->size; i++)
                printf(" 0");
    bm_tape_free(t);
    unbuild(&b);
    return 0;
}

/* batch_norm in training: the running statistics after two steps, then
 * the evaluation output on the first step's inputs. */
static int run_stats(const lcase *c)
{
    bm_tape *t = bm_tape_new();
    built b;
    if (build(c, t, &b))
        return 1;
    if (!record(c, t, &b, 1))
        return fail(c, bm_tape_error(t));
    bm_tensor *x = b.in[0];
    double *first = malloc(x->size * sizeof *first);
    if (!first)
        return fail(c, "out of memory");
    for (size_t i = 0; i < x->size; i++) {
        first[i] = bm_tensor_get(x, i);
        bm_tensor_set(x, i, 0.8 * cos(0.45 * (double)i) + 0.3);
    }
    if (bm_tape_forward(t) != BM_OK)
        return fail(c, bm_tape_error(t));
    printf(" |");
    print_all(b.params[b.n_params - 2]);
    print_all(b.params[b.n_params - 1]);
    for (size_t i = 0; i < x->size; i++)
        bm_tensor_set(x, i, first[i]);
    free(first);
    bm_tensor *y = record(c, t, &b, 0);
    if (!y)
        return fail(c, bm_tape_error(t));
    print_all(y);
    bm_tape_free(t);
    unbuild(&b);
    return 0;
}

int main(void)
{
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const lcase *c = &cases[ci];
        if (run_grads(c))
            return 1;
        if (c->kind == BM_LAYER_BATCH_NORM && c->training && run_stats(c))
            return 1;
        printf("\n");
    }
    return 0;
}
