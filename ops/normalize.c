/* normalize.c — layer_norm and rms_norm over the last axis (issue 10).
 * out: x's shape [..,C]   in: x, then optional w [C] (and b [C] for
 * layer_norm); eps. The forward is fused (one pass for the statistics, one
 * for the output); the vjp is written in ops (the statistics recomputed),
 * so it differentiates again. */
#include <stdio.h>

#include "ops_internal.h"

typedef struct norm_params {
    double eps;
} norm_params;

#define T float
#define F(name) name##_f32
#define SQRT sqrtf
#include "normalize_kernels.inc"
#undef T
#undef F
#undef SQRT
#define T double
#define F(name) name##_f64
#define SQRT sqrt
#include "normalize_kernels.inc"
#undef T
#undef F
#undef SQRT

static double eps_of(const bm_node *n) { return ((const norm_params *)n->params)->eps; }

/* x [..,C] of rank ≥ 1; the other inputs [C]. */
static int norm_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    char sx[64], sp[64];
    int most = strcmp(n->op->name, "layer_norm") == 0 ? 3 : 2; /* x, w, b or x, w */
    if (n->n_in > most) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: takes at most %d inputs, got %d", n->op->name,
                     most, n->n_in);
        return -1;
    }
    if (x->rank < 1) {
        bm_tape_fail(tape, BM_ERR_RANK, "bm_%s: x %s needs rank >= 1", n->op->name, BM_SHP(x, sx));
        return -1;
    }
    size_t C = x->shape[x->rank - 1];
    for (int k = 1; k < n->n_in; k++)
        if (n->in[k]->rank != 1 || n->in[k]->shape[0] != C) {
            bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: x %s: %s %s must be [%zu]", n->op->name,
                         BM_SHP(x, sx), k == 1 ? "weight" : "bias", BM_SHP(n->in[k], sp), C);
            return -1;
        }
    return bm_op_set_output_like(tape, n, x) == BM_OK ? 0 : -1;
}

static void layer_norm_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    const bm_tensor *x = n->in[0];
    size_t C = x->shape[x->rank - 1], R = x->size / C;
    const void *w = n->n_in > 1 ? n->in[1]->data : NULL, *b = n->n_in > 2 ? n->in[2]->data : NULL;
    if (x->dtype == BM_F64)
        layer_norm_f64(x->data, w, b, n->out->data, R, C, eps_of(n));
    else
        layer_norm_f32(x->data, w, b, n->out->data, R, C, (float)eps_of(n));
}

static void rms_norm_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    const bm_tensor *x = n->in[0];
    size_t C = x->shape[x->rank - 1], R = x->size / C;
    const void *w = n->n_in > 1 ? n->in[1]->data : NULL;
    if (x->dtype == BM_F64)
        rms_norm_f64(x->data, w, n->out->data, R, C, eps_of(n));
    else
        rms_norm_f32(x->data, w, n->out->data, R, C, (float)eps_of(n));
}

/* Row mean, kept as [..,1]. */
static bm_tensor *row_mean(bm_tape *t, bm_tensor *v) { return bm_mean(t, v, -1, 1); }

/* With x̂ = (x − μ)·r, r = 1/√(var + eps), ĝ = G·w:
 * dX = r·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), dW = Σ_rows G·x̂, dB = Σ_rows G. */
static bm_status layer_norm_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *x = n->in[0];
    bm_tensor *xc = bm_sub(t, x, row_mean(t, x));
    bm_tensor *r = bm_pow(t, bm_add_scalar(t, row_mean(t, bm_square(t, xc)), eps_of(n)), -0.5);
    bm_tensor *xhat = bm_mul(t, xc, r);
    if (n->n_in > 1 && bm_op_wants_grad(t, n, 1))
        dx[1] = bm_grad_to(t, bm_mul(t, g, xhat), n->in[1]);
    if (n->n_in > 2 && bm_op_wants_grad(t, n, 2))
        dx[2] = bm_grad_to(t, g, n->in[2]);
    if (bm_op_wants_grad(t, n, 0)) {
        bm_tensor *gh = n->n_in > 1 ? bm_mul(t, g, n->in[1]) : g;
        bm_tensor *inner = bm_sub(t, bm_sub(t, gh, row_mean(t, gh)),
                                  bm_mul(t, xhat, row_mean(t, bm_mul(t, gh, xhat))));
        dx[0] = bm_mul(t, r, inner);
    }
    return bm_tape_status(t);
}

/* With r = 1/√(mean(x²) + eps), ĝ = G·w:
 * dX = r·ĝ − x·r³·mean(ĝ·x), dW = Σ_rows G·x·r. */
static bm_status rms_norm_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *x = n->in[0];
    bm_tensor *r = bm_pow(t, bm_add_scalar(t, row_mean(t, bm_square(t, x)), eps_of(n)), -0.5);
    if (n->n_in > 1 && bm_op_wants_grad(t, n, 1))
        dx[1] = bm_grad_to(t, bm_mul(t, g, bm_mul(t, x, r)), n->in[1]);
    if (bm_op_wants_grad(t, n, 0)) {
        bm_tensor *gh = n->n_in > 1 ? bm_mul(t, g, n->in[1]) : g;
        bm_tensor *r3 = bm_mul(t, r, bm_square(t, r));
        dx[0] = bm_sub(t, bm_mul(t, gh, r), bm_mul(t, bm_mul(t, x, r3), row_mean(t, bm_mul(t, gh, x))));
    }
    return bm_tape_status(t);
}

static void eps_describe(const bm_node *n, char *buf, size_t len)
{
    snprintf(buf, len, "eps=%g", eps_of(n));
}

const bm_op bm_op_layer_norm = {
    .name = "layer_norm", .arity = BM_OP_VARIADIC, .params_size = sizeof(norm_params),
    .infer = norm_infer, .forward = layer_norm_forward, .vjp = layer_norm_vjp,
    .describe = eps_describe,
};
const bm_op bm_op_rms_norm = {
    .name = "rms_norm", .arity = BM_OP_VARIADIC, .params_size = sizeof(norm_params),
    .infer = norm_infer, .forward = rms_norm_forward, .vjp = rms_norm_vjp,
    .describe = eps_describe,
};

static int eps_ok(bm_tape *t, const char *fn, double eps)
{
    if (t && bm_tape_status(t) == BM_OK && !(eps >= 0 && isfinite(eps))) {
        bm_tape_fail(t, BM_ERR_ARG, "%s: eps %g must be finite and >= 0", fn, eps);
        return 0;
    }
    return 1;
}

bm_tensor *bm_layer_norm(bm_tape *t, bm_tensor *x, bm_tensor *w, bm_tensor *b, double eps)
{
    norm_params p = {.eps = eps};
    if (!w && b) {
        bm_tape_fail(t, BM_ERR_ARG, "bm_layer_norm: a bias needs a weight");
        return NULL;
    }
    bm_tensor *in[3] = {x, w, b};
    return eps_ok(t, "bm_layer_norm", eps)
               ? bm_tape_apply(t, &bm_op_layer_norm, in, b ? 3 : w ? 2 : 1, &p)
               : NULL;
}

bm_tensor *bm_rms_norm(bm_tape *t, bm_tensor *x, bm_tensor *w, double eps)
{
    norm_params p = {.eps = eps};
    bm_tensor *in[2] = {x, w};
    return eps_ok(t, "bm_rms_norm", eps) ? bm_tape_apply(t, &bm_op_rms_norm, in, w ? 2 : 1, &p)
                                         : NULL;
}
