/* loss.c — losses; each returns a scalar (rank 0) mean over the batch.
 * cce, softmax_cce  out: []  in: p or z [N,C], y class indices [N] or [N,C]
 * bce, mse, mae     out: []  in: ŷ, y of one shape (mean over every element)
 * Targets (input 1) receive no gradient. The vjps are written in ops; the
 * fused loss's uses its backward primitive softmax_cce_grad, which has a
 * vjp of its own. */
#include "vec_internal.h"

extern const bm_op bm_op_softmax_cce_grad;

typedef struct class_params {
    int indices; /* set by infer: 1 when the targets are class indices */
} class_params;

enum { TARGETS = 1u << 1 }; /* nondiff: input 1 */

static int uses_indices(const bm_node *n) { return ((const class_params *)n->params)->indices; }

static int class_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *p = n->in[0], *y = n->in[1];
    char sp[64], sy[64];
    if (p->rank != 2) {
        bm_tape_fail(tape, BM_ERR_RANK, "bm_%s: predictions %s must be [N,C]", n->op->name,
                     BM_SHP(p, sp));
        return -1;
    }
    class_params *cp = n->params;
    if (y->rank == 1 && y->shape[0] == p->shape[0]) {
        cp->indices = 1;
    } else if (bm_tensor_same_shape(p, y)) {
        cp->indices = 0;
    } else {
        bm_tape_fail(tape, BM_ERR_SHAPE,
                     "bm_%s: predictions %s, targets %s: targets must be class indices [%zu] "
                     "or one-hot [%zu,%zu]",
                     n->op->name, BM_SHP(p, sp), BM_SHP(y, sy), p->shape[0], p->shape[0],
                     p->shape[1]);
        return -1;
    }
    n->out->rank = 0;
    return 0;
}


/* Class index of row r, or -1 (error set) when it is not one. */
static long class_of(bm_tape *tape, const bm_node *n, size_t r)
{
    double v = bm_tensor_get(n->in[1], r);
    size_t C = n->in[0]->shape[1];
    if (!bm_is_class(v, C)) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: target %g at row %zu is not a class index in 0..%zu",
                     n->op->name, v, r, C - 1);
        return -1;
    }
    return (long)v;
}


/* −Σ y·log clip(ŷ), averaged over rows. */
static void cce_forward(bm_tape *tape, bm_node *n)
{
    size_t N = n->in[0]->shape[0], C = n->in[0]->shape[1], bad;
    const void *P = n->in[0]->data, *Y = n->in[1]->data;
    if (n->out->dtype == BM_F64)
        bad = bm_vec()->f64.cce(P, Y, N, C, uses_indices(n), n->out->data);
    else
        bad = bm_vec()->f32.cce(P, Y, N, C, uses_indices(n), n->out->data);
    if (bad < N)
        class_of(tape, n, bad);
}

static int softmax_cce_infer(bm_tape *tape, bm_node *n)
{
    if (class_infer(tape, n) != 0)
        return -1;
    n->saved_bytes = n->in[0]->size * bm_dtype_size(n->in[0]->dtype); /* softmax */
    return 0;
}

/* loss = mean lse(z) − Σ y·z; saves softmax(z) (loss_kernels.inc). */
static void softmax_cce_forward(bm_tape *tape, bm_node *n)
{
    size_t N = n->in[0]->shape[0], C = n->in[0]->shape[1], bad;
    const void *Z = n->in[0]->data, *Y = n->in[1]->data;
    if (n->out->dtype == BM_F64)
        bad = bm_vec()->f64.softmax_cce(Z, Y, n->saved, N, C, uses_indices(n), n->out->data);
    else
        bad = bm_vec()->f32.softmax_cce(Z, Y, n->saved, N, C, uses_indices(n), n->out->data);
    if (bad < N)
        class_of(tape, n, bad);
}

/* softmax_cce_grad: out = (p·Σy − y)·g/N, with p = softmax(z) from input
 * 3 when given (the loss's saved probabilities) or computed into out.
 * in: z [N,C], y [N] or [N,C], g [], p [N,C] (optional). */
static int cce_grad_infer(bm_tape *tape, bm_node *n)
{
    char sg[64];
    if (n->n_in < 3 || n->n_in > 4) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_softmax_cce_grad: takes z, y, g and an optional p, got %d inputs", n->n_in);
        return -1;
    }
    if (class_infer(tape, n) != 0)
        return -1;
    if (n->in[2]->rank != 0) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_softmax_cce_grad: g %s must be a scalar []",
                     BM_SHP(n->in[2], sg));
        return -1;
    }
    if (n->n_in == 4 && !bm_tensor_same_shape(n->in[3], n->in[0])) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_softmax_cce_grad: p %s must have z's shape",
                     BM_SHP(n->in[3], sg));
        return -1;
    }
    bm_same_shape_as(n->out, n->in[0]);
    return 0;
}

static void cce_grad_forward(bm_tape *tape, bm_node *n)
{
    size_t N = n->in[0]->shape[0], C = n->in[0]->shape[1], bad;
    const void *Z = n->in[0]->data, *Y = n->in[1]->data, *G = n->in[2]->data;
    const void *S = n->n_in == 4 ? n->in[3]->data : NULL;
    if (n->out->dtype == BM_F64)
        bad = bm_vec()->f64.cce_grad(Z, Y, *(const double *)G, S, n->out->data, N, C, uses_indices(n));
    else
        bad = bm_vec()->f32.cce_grad(Z, Y, *(const float *)G, S, n->out->data, N, C, uses_indices(n));
    if (bad < N)
        class_of(tape, n, bad);
}

/* out = (s·Σy − y)·g/N, s = softmax(z): dZ = softmax_grad(s, U)·Σy·g/N,
 * dG = Σ U ⊙ out|g=1. */
static bm_status cce_grad_vjp(bm_tape *t, bm_node *n, bm_tensor *u, bm_tensor **dx)
{
    bm_tensor *z = n->in[0], *y = n->in[1], *g = n->in[2];
    double inv_n = 1.0 / (double)z->shape[0];
    if (bm_op_wants_grad(t, n, 0)) {
        bm_tensor *v = bm_mul(t, bm_softmax_grad(t, bm_softmax(t, z), u), bm_scale(t, g, inv_n));
        dx[0] = uses_indices(n) ? v : bm_mul(t, v, bm_sum(t, y, -1, 1));
    }
    if (bm_op_wants_grad(t, n, 2)) {
        bm_tensor *in[4] = {z, y, bm_tape_scalar(t, z->dtype, 1.0), n->n_in == 4 ? n->in[3] : NULL};
        bm_tensor *unit = bm_tape_apply(t, &bm_op_softmax_cce_grad, in, n->n_in, NULL);
        dx[2] = bm_sum(t, bm_mul(t, u, unit), BM_AXIS_ALL, 0);
    }
    return bm_tape_status(t);
}

/* dZ = (softmax(z)·Σy − y)·G/N from the probabilities the forward saved. */
static bm_status softmax_cce_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *z = n->in[0];
    bm_tensor *p = bm_op_saved_tensor(t, n, 0, z->dtype, z->rank, z->shape);
    bm_tensor *in[4] = {z, n->in[1], g, p};
    dx[0] = bm_tape_apply(t, &bm_op_softmax_cce_grad, in, 4, NULL);
    return bm_tape_status(t);
}

/* dŷ = −y/clip(ŷ)·G/N (the walk-through's gradient), in ops: the clip is a
 * clamp, so a second derivative sees its zero slope outside the range. */
static bm_status cce_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *p = n->in[0], *y = n->in[1];
    bm_tensor *yh = uses_indices(n) ? bm_one_hot(t, y, p->shape[1]) : y;
    bm_tensor *c = bm_clamp(t, p, BM_PROB_CLIP, 1 - BM_PROB_CLIP);
    dx[0] = bm_mul(t, bm_div(t, yh, c), bm_scale(t, g, -1.0 / (double)p->shape[0]));
    return bm_tape_status(t);
}

/* one_hot: y [N] class indices -> [N,C] (not differentiable). */
typedef struct one_hot_params {
    size_t classes;
} one_hot_params;

static int one_hot_infer(bm_tape *tape, bm_node *n)
{
    const one_hot_params *p = n->params;
    char sy[64];
    if (n->in[0]->rank != 1 || p->classes == 0) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_one_hot: indices %s must be [N] and classes %zu >= 1",
                     BM_SHP(n->in[0], sy), p->classes);
        return -1;
    }
    n->out->rank = 2;
    n->out->shape[0] = n->in[0]->shape[0];
    n->out->shape[1] = p->classes;
    return 0;
}

static void one_hot_forward(bm_tape *tape, bm_node *n)
{
    size_t N = n->out->shape[0], C = n->out->shape[1];
    memset(n->out->data, 0, n->out->size * bm_dtype_size(n->out->dtype));
    for (size_t r = 0; r < N; r++) {
        double v = bm_tensor_get(n->in[0], r);
        if (!bm_is_class(v, C)) {
            bm_tape_fail(tape, BM_ERR_ARG, "bm_one_hot: index %g at row %zu is not in 0..%zu", v,
                         r, C - 1);
            return;
        }
        bm_tensor_set(n->out, r * C + (size_t)v, 1.0);
    }
}

static void one_hot_describe(const bm_node *n, char *buf, size_t len)
{
    snprintf(buf, len, "classes=%zu", ((const one_hot_params *)n->params)->classes);
}

const bm_op bm_op_one_hot = {
    .name = "one_hot", .arity = 1, .nondiff = 1u, .params_size = sizeof(one_hot_params),
    .infer = one_hot_infer, .forward = one_hot_forward, .describe = one_hot_describe,
};

bm_tensor *bm_one_hot(bm_tape *t, bm_tensor *indices, size_t classes)
{
    one_hot_params p = {.classes = classes};
    return bm_tape_apply(t, &bm_op_one_hot, &indices, 1, &p);
}

static int pair_infer(bm_tape *tape, bm_node *n)
{
    char sp[64], sy[64];
    if (!bm_tensor_same_shape(n->in[0], n->in[1])) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: predictions %s and targets %s differ in shape",
                     n->op->name, BM_SHP(n->in[0], sp), BM_SHP(n->in[1], sy));
        return -1;
    }
    n->out->rank = 0;
    return 0;
}

/* Define the forward of the mean-over-elements loss NAME from its kernels
 * in the vector table, and its op and builder. */
#define PAIR_LOSS(NAME)                                                               \
    static void NAME##_forward(bm_tape *tape, bm_node *n)                            \
    {                                                                                \
        (void)tape;                                                                  \
        const bm_tensor *p = n->in[0], *y = n->in[1];                                \
        if (n->out->dtype == BM_F64)                                                 \
            bm_vec()->f64.NAME(p->data, y->data, p->size, n->out->data);             \
        else                                                                         \
            bm_vec()->f32.NAME(p->data, y->data, p->size, n->out->data);             \
    }                                                                                \
    const bm_op bm_op_##NAME = {                                                     \
        .name = #NAME, .arity = 2, .nondiff = TARGETS, .infer = pair_infer,          \
        .forward = NAME##_forward, .vjp = NAME##_vjp,                                \
    };                                                                               \
    bm_tensor *bm_##NAME(bm_tape *t, bm_tensor *pred, bm_tensor *targets)            \
    {                                                                                \
        bm_tensor *in[2] = {pred, targets};                                          \
        return bm_tape_apply(t, &bm_op_##NAME, in, 2, NULL);                         \
    }

/* G/n, the scale every element's gradient carries. */
static bm_tensor *per_element(bm_tape *t, const bm_node *n, bm_tensor *g, double k)
{
    return bm_scale(t, g, k / (double)n->in[0]->size);
}

/* dŷ = (c − y)/(c(1 − c))·G/n with c = clip(ŷ) (the walk-through's). */
static bm_status bce_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *c = bm_clamp(t, n->in[0], BM_PROB_CLIP, 1 - BM_PROB_CLIP);
    bm_tensor *den = bm_mul(t, c, bm_add_scalar(t, bm_neg(t, c), 1.0));
    dx[0] = bm_mul(t, bm_div(t, bm_sub(t, c, n->in[1]), den), per_element(t, n, g, 1.0));
    return bm_tape_status(t);
}

/* dŷ = 2(ŷ − y)·G/n. */
static bm_status mse_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_mul(t, bm_sub(t, n->in[0], n->in[1]), per_element(t, n, g, 2.0));
    return bm_tape_status(t);
}

/* dŷ = sign(ŷ − y)·G/n. */
static bm_status mae_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    dx[0] = bm_mul(t, bm_sign(t, bm_sub(t, n->in[0], n->in[1])), per_element(t, n, g, 1.0));
    return bm_tape_status(t);
}

PAIR_LOSS(bce)
PAIR_LOSS(mse)
PAIR_LOSS(mae)

/* How the targets were read (infer decides from their shape). */
static void class_describe(const bm_node *n, char *buf, size_t len)
{
    snprintf(buf, len, "targets=%s", uses_indices(n) ? "indices" : "one-hot");
}

const bm_op bm_op_cce = {
    .name = "cce", .arity = 2, .nondiff = TARGETS, .params_size = sizeof(class_params),
    .infer = class_infer, .forward = cce_forward, .vjp = cce_vjp, .describe = class_describe,
};
const bm_op bm_op_softmax_cce = {
    .name = "softmax_cce", .arity = 2, .nondiff = TARGETS, .params_size = sizeof(class_params),
    .infer = softmax_cce_infer, .forward = softmax_cce_forward, .vjp = softmax_cce_vjp,
    .describe = class_describe,
};
const bm_op bm_op_softmax_cce_grad = {
    .name = "softmax_cce_grad", .arity = BM_OP_VARIADIC, .nondiff = TARGETS | (1u << 3),
    .params_size = sizeof(class_params), .infer = cce_grad_infer, .forward = cce_grad_forward,
    .vjp = cce_grad_vjp, .describe = class_describe,
};

bm_tensor *bm_cce(bm_tape *t, bm_tensor *probs, bm_tensor *targets)
{
    bm_tensor *in[2] = {probs, targets};
    return bm_tape_apply(t, &bm_op_cce, in, 2, NULL);
}

bm_tensor *bm_softmax_cce(bm_tape *t, bm_tensor *logits, bm_tensor *targets)
{
    bm_tensor *in[2] = {logits, targets};
    return bm_tape_apply(t, &bm_op_softmax_cce, in, 2, NULL);
}

bm_tensor *bm_softmax_cce_grad(bm_tape *t, bm_tensor *logits, bm_tensor *targets, bm_tensor *g)
{
    bm_tensor *in[3] = {logits, targets, g};
    return bm_tape_apply(t, &bm_op_softmax_cce_grad, in, 3, NULL);
}
