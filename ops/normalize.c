/* normalize.c — layer_norm and rms_norm over the last axis (issue 10).
 * out: x's shape [..,C]   in: x, then optional w [C] (and b [C] for
 * layer_norm); eps. The forward is fused (one pass for the statistics, one
 * for the output) and layer_norm keeps each row's mean and rstd as saved
 * values; its vjp is two fused gradient ops (layer_norm_grad, which adds
 * into a leaf's gradient in place, and layer_norm_wgrad, dW with dB in the
 * same pass) that read them, and their own vjps are written in ops (the
 * statistics recomputed from x), so it differentiates again. */
#include <stdio.h>

#include "vec_internal.h"

typedef struct norm_params {
    double eps;
    int stats; /* the gradient ops: 1 when an input after x, g (and w) is the forward's stats [R,2] */
    int bias;  /* the weight sums also hold the bias gradient ([2,C]: dw then db) */
    int sums;  /* layer_norm_grad: 1 when it also sums dW (and dB) into its saved block */
    int copy;  /* layer_norm_wgrad: 1 when its last input is those sums (it copies them) */
} norm_params;

/* Entries per row of layer_norm's saved statistics: the mean and 1/√(var + eps). */
enum { NORM_STATS = 2 };

/* Parameters eps, stats and bias (no sums, no copy), padding zeroed. */
static norm_params params_of(double eps, int stats, int bias)
{
    norm_params p;
    memset(&p, 0, sizeof p);
    p.eps = eps;
    p.stats = stats;
    p.bias = bias;
    return p;
}

static const norm_params *par(const bm_node *n) { return n->params; }

/* Does this layer_norm_wgrad node also sum the bias gradient? */
static int with_bias(const bm_node *n) { return par(n)->bias; }

/* The gradient ops' inputs before the optional stats and sums (x, g and maybe w). */
static int base_inputs(const bm_node *n) { return n->n_in - par(n)->stats - par(n)->copy; }

/* Rows of the weight sums ([2,C] with the bias gradient, else [C]). */
static int sum_rows(const bm_node *n) { return with_bias(n) ? 2 : 1; }

/* Rows of x [..,C]. */
static size_t rows_of(const bm_tensor *x) { return x->size / x->shape[x->rank - 1]; }

/* The stats input of a gradient node (NULL without). */
static const void *stats_in(const bm_node *n)
{
    return par(n)->stats ? n->in[base_inputs(n)]->data : NULL;
}

/* A gradient node's stats input (if any) must be [R,2] for x's R rows. */
static int stats_ok(bm_tape *tape, const bm_node *n)
{
    const bm_tensor *x = n->in[0], *st;
    char sx[64], ss[64];
    if (!par(n)->stats)
        return 1;
    st = n->in[base_inputs(n)];
    if (st->rank == 2 && st->shape[0] == rows_of(x) && st->shape[1] == NORM_STATS)
        return 1;
    bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: x %s: stats %s must be [%zu,%d]", n->op->name,
                 BM_SHP(x, sx), BM_SHP(st, ss), rows_of(x), (int)NORM_STATS);
    return 0;
}


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
    if (most == 3) /* layer_norm keeps each row's mean and rstd for its vjp */
        bm_op_set_saved(n, NORM_STATS * rows_of(x) * bm_dtype_size(x->dtype));
    return bm_op_set_output_like(tape, n, x) == BM_OK ? 0 : -1;
}

static void layer_norm_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    const bm_tensor *x = n->in[0];
    size_t C = x->shape[x->rank - 1], R = x->size / C;
    const void *w = n->n_in > 1 ? n->in[1]->data : NULL, *b = n->n_in > 2 ? n->in[2]->data : NULL;
    if (x->dtype == BM_F64)
        bm_vec()->f64.layer_norm(x->data, w, b, n->out->data, R, C, eps_of(n), bm_op_saved(n));
    else
        bm_vec()->f32.layer_norm(x->data, w, b, n->out->data, R, C, (float)eps_of(n),
                                 bm_op_saved(n));
}

static void rms_norm_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    const bm_tensor *x = n->in[0];
    size_t C = x->shape[x->rank - 1], R = x->size / C;
    const void *w = n->n_in > 1 ? n->in[1]->data : NULL;
    if (x->dtype == BM_F64)
        bm_vec()->f64.rms_norm(x->data, w, n->out->data, R, C, eps_of(n));
    else
        bm_vec()->f32.rms_norm(x->data, w, n->out->data, R, C, (float)eps_of(n));
}

/* x [..,C], g x's shape, then optional w [C] (then stats). */
static int norm_grad_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0], *g = n->in[1];
    char sx[64], sg[64];
    int base = base_inputs(n);
    if (base < 2 || base > 3) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: takes x, g and an optional w, got %d inputs",
                     n->op->name, n->n_in);
        return -1;
    }
    if (x->rank < 1 || g->rank != x->rank || memcmp(g->shape, x->shape, sizeof x->shape) != 0) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: x %s and g %s must have one shape of rank >= 1",
                     n->op->name, BM_SHP(x, sx), BM_SHP(g, sg));
        return -1;
    }
    size_t C = x->shape[x->rank - 1];
    if (base > 2 && (n->in[2]->rank != 1 || n->in[2]->shape[0] != C)) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: x %s: weight %s must be [%zu]", n->op->name,
                     BM_SHP(x, sx), BM_SHP(n->in[2], sg), C);
        return -1;
    }
    if (!stats_ok(tape, n))
        return -1;
    if (par(n)->sums && base < 3) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: summing the weight gradient needs w", n->op->name);
        return -1;
    }
    if (par(n)->sums) /* dW (and dB), summed in the same sweep, for layer_norm_wgrad */
        bm_op_set_saved(n, (size_t)sum_rows(n) * C * bm_dtype_size(x->dtype));
    return bm_op_set_output_like(tape, n, x) == BM_OK ? 0 : -1;
}

/* x [..,C] and g x's shape (then stats) -> [C] (bias: [2,C], dw then db). */
static int wgrad_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0], *g = n->in[1];
    char sx[64], sg[64];
    if (base_inputs(n) != 2) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: takes x and g, got %d inputs", n->op->name,
                     base_inputs(n));
        return -1;
    }
    if (x->rank < 1 || g->rank != x->rank || memcmp(g->shape, x->shape, sizeof x->shape) != 0) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: x %s and g %s must have one shape of rank >= 1",
                     n->op->name, BM_SHP(x, sx), BM_SHP(g, sg));
        return -1;
    }
    size_t shape[2] = {2, x->shape[x->rank - 1]};
    if (!stats_ok(tape, n))
        return -1;
    const bm_tensor *sums = par(n)->copy ? n->in[n->n_in - 1] : NULL;
    if (sums && sums->size != (size_t)sum_rows(n) * shape[1]) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: x %s: sums %s must hold %d×%zu values",
                     n->op->name, BM_SHP(x, sx), BM_SHP(sums, sg), sum_rows(n), shape[1]);
        return -1;
    }
    return bm_op_set_output(tape, n, x->dtype, with_bias(n) ? 2 : 1, shape + !with_bias(n)) ==
                   BM_OK
               ? 0
               : -1;
}

static void layer_norm_wgrad_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    const bm_tensor *x = n->in[0];
    size_t C = x->shape[x->rank - 1], R = x->size / C;
    if (par(n)->copy) /* summed by the layer_norm_grad node before it */
        memcpy(n->out->data, n->in[n->n_in - 1]->data, n->out->size * bm_dtype_size(x->dtype));
    else if (x->dtype == BM_F64) {
        double *dw = n->out->data;
        bm_vec()->f64.layer_norm_wgrad(x->data, n->in[1]->data, dw, with_bias(n) ? dw + C : NULL,
                                       R, C, eps_of(n), stats_in(n));
    } else {
        float *dw = n->out->data;
        bm_vec()->f32.layer_norm_wgrad(x->data, n->in[1]->data, dw, with_bias(n) ? dw + C : NULL,
                                       R, C, (float)eps_of(n), stats_in(n));
    }
}

static void layer_norm_grad_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    const bm_tensor *x = n->in[0];
    size_t C = x->shape[x->rank - 1], R = x->size / C;
    const void *w = base_inputs(n) > 2 ? n->in[2]->data : NULL;
    if (par(n)->sums && x->dtype == BM_F64) {
        double *dw = bm_op_saved(n);
        bm_vec()->f64.layer_norm_backward(x->data, n->in[1]->data, w, n->out->data, dw,
                                          with_bias(n) ? dw + C : NULL, R, C, eps_of(n),
                                          n->accumulate, stats_in(n));
    } else if (par(n)->sums) {
        float *dw = bm_op_saved(n);
        bm_vec()->f32.layer_norm_backward(x->data, n->in[1]->data, w, n->out->data, dw,
                                          with_bias(n) ? dw + C : NULL, R, C, (float)eps_of(n),
                                          n->accumulate, stats_in(n));
    } else if (x->dtype == BM_F64)
        bm_vec()->f64.layer_norm_grad(x->data, n->in[1]->data, w, n->out->data, R, C, eps_of(n),
                                      n->accumulate, stats_in(n));
    else
        bm_vec()->f32.layer_norm_grad(x->data, n->in[1]->data, w, n->out->data, R, C,
                                      (float)eps_of(n), n->accumulate, stats_in(n));
}

/* Row mean, kept as [..,1]. */
static bm_tensor *row_mean(bm_tape *t, bm_tensor *v) { return bm_mean(t, v, -1, 1); }

/* x̂ = (x − μ)·r, layer_norm without affine (fused). */
static bm_tensor *xhat_of(bm_tape *t, bm_tensor *x, double eps)
{
    return bm_layer_norm(t, x, NULL, NULL, eps);
}

extern const bm_op bm_op_layer_norm_grad, bm_op_layer_norm_wgrad;

/* Row i of m [2,C] as a [C] tensor. */
static bm_tensor *row_of(bm_tape *t, bm_tensor *m, long i)
{
    size_t C = m->shape[1];
    return bm_reshape(t, bm_slice_axis(t, m, 0, i, i + 1, 1), 1, &C);
}

/* dX = layer_norm_grad(x, G, w), dW = layer_norm_wgrad(x, G) = Σ_rows G·x̂
 * (both fused, reading the forward's saved row statistics rather than
 * recomputing them: a constant input, their vjps differentiate through x),
 * dB = Σ_rows G (with dW in the same pass over G where both are wanted).
 * Where dX and dW are both wanted the layer_norm_grad node sums dW (and dB)
 * in its sweep over (x, G) too, and layer_norm_wgrad copies those sums (its
 * vjp is unchanged: the sums are a constant input). */
static bm_status layer_norm_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *x = n->in[0], *w = n->n_in > 1 ? n->in[1] : NULL, *sums = NULL;
    size_t shape[2] = {rows_of(x), NORM_STATS}, C = x->shape[x->rank - 1];
    int want_w = w && bm_op_wants_grad(t, n, 1), want_b = n->n_in > 2 && bm_op_wants_grad(t, n, 2);
    norm_params p = params_of(eps_of(n), 1, want_w && want_b);
    bm_tensor *st = bm_op_saved_tensor(t, n, 0, x->dtype, 2, shape);
    if (bm_op_wants_grad(t, n, 0)) {
        norm_params pg = p;
        pg.sums = want_w;
        pg.bias = pg.sums && p.bias;
        bm_tensor *in[4] = {x, g, w ? w : st, st};
        dx[0] = bm_tape_apply(t, &bm_op_layer_norm_grad, in, w ? 4 : 3, &pg);
        if (pg.sums && dx[0] && dx[0]->node) {
            size_t ss[2] = {p.bias ? 2 : 1, C};
            sums = bm_op_saved_tensor(t, dx[0]->node, 0, x->dtype, p.bias ? 2 : 1,
                                      p.bias ? ss : ss + 1);
        }
    }
    if (want_w) {
        bm_tensor *in[4] = {x, g, st, sums};
        p.copy = sums != NULL;
        bm_tensor *wb = bm_tape_apply(t, &bm_op_layer_norm_wgrad, in, sums ? 4 : 3, &p);
        dx[1] = p.bias ? row_of(t, wb, 0) : wb;
        dx[2] = p.bias ? row_of(t, wb, 1) : NULL;
    }
    if (want_b && !want_w)
        dx[2] = bm_grad_to(t, g, n->in[2]);
    return bm_tape_status(t);
}

/* dX = layer_norm_grad(x, g, w) = r·P·ĝ, with P = I − 11ᵀ/C − x̂x̂ᵀ/C
 * symmetric and ĝ = g·w, so with H the incoming gradient and Q = r·P·H =
 * layer_norm_grad(x, H): dg = Q·w, dw = Σ_rows g·Q, and (differentiating r,
 * x̂ and mean(ĝ·x̂) in x; E = dX, the output)
 *   dx = −r·(x̂·mean(H·E) + mean(ĝ·x̂)·Q + mean(H·x̂)·E). */
static bm_status layer_norm_grad_vjp(bm_tape *t, bm_node *n, bm_tensor *h, bm_tensor **dx)
{
    bm_tensor *x = n->in[0], *g = n->in[1], *w = base_inputs(n) > 2 ? n->in[2] : NULL;
    double eps = eps_of(n);
    int want_x = bm_op_wants_grad(t, n, 0), want_g = bm_op_wants_grad(t, n, 1);
    int want_w = w && bm_op_wants_grad(t, n, 2);
    bm_tensor *q = bm_layer_norm_grad(t, x, h, NULL, eps);
    if (want_g)
        dx[1] = w ? bm_mul(t, q, w) : q;
    if (want_w)
        dx[2] = bm_grad_to(t, bm_mul(t, g, q), w);
    if (want_x) {
        bm_tensor *xh = xhat_of(t, x, eps), *e = n->out;
        bm_tensor *r = bm_pow(t, bm_add_scalar(t, bm_var(t, x, -1, 0, 1), eps), -0.5);
        bm_tensor *gh = w ? bm_mul(t, g, w) : g;
        bm_tensor *sum = bm_add(t, bm_mul(t, xh, row_mean(t, bm_mul(t, h, e))),
                                bm_add(t, bm_mul(t, row_mean(t, bm_mul(t, gh, xh)), q),
                                       bm_mul(t, row_mean(t, bm_mul(t, h, xh)), e)));
        dx[0] = bm_neg(t, bm_mul(t, r, sum));
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

/* out = Σ_rows g·x̂: with H [C] incoming, dg = x̂·H and dx = the input
 * gradient of Σ_rows <g·H, x̂> = layer_norm_grad(x, g, H). With the bias
 * row (out [2,C] = [Σ g·x̂; Σ g]) and H = [H0; H1]: dg = x̂·H0 + H1, and dx
 * as for H0 (Σ g does not depend on x). */
static bm_status layer_norm_wgrad_vjp(bm_tape *t, bm_node *n, bm_tensor *h, bm_tensor **dx)
{
    bm_tensor *x = n->in[0], *g = n->in[1];
    bm_tensor *h0 = with_bias(n) ? row_of(t, h, 0) : h;
    if (bm_op_wants_grad(t, n, 1)) {
        dx[1] = bm_mul(t, xhat_of(t, x, eps_of(n)), h0);
        if (with_bias(n))
            dx[1] = bm_add(t, dx[1], row_of(t, h, 1));
    }
    if (bm_op_wants_grad(t, n, 0))
        dx[0] = bm_layer_norm_grad(t, x, g, h0, eps_of(n));
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
const bm_op bm_op_layer_norm_grad = {
    .name = "layer_norm_grad", .arity = BM_OP_VARIADIC, .params_size = sizeof(norm_params),
    .flags = BM_OP_ACCUMULATES, /* adds into a leaf's gradient in place */
    .infer = norm_grad_infer, .forward = layer_norm_grad_forward, .vjp = layer_norm_grad_vjp,
    .describe = eps_describe,
};
const bm_op bm_op_layer_norm_wgrad = {
    .name = "layer_norm_wgrad", .arity = BM_OP_VARIADIC, .params_size = sizeof(norm_params),
    .infer = wgrad_infer, .forward = layer_norm_wgrad_forward, .vjp = layer_norm_wgrad_vjp,
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
    norm_params p = params_of(eps, 0, 0);
    if (!w && b) {
        bm_tape_fail(t, BM_ERR_ARG, "bm_layer_norm: a bias needs a weight");
        return NULL;
    }
    bm_tensor *in[3] = {x, w, b};
    return eps_ok(t, "bm_layer_norm", eps)
               ? bm_tape_apply(t, &bm_op_layer_norm, in, b ? 3 : w ? 2 : 1, &p)
               : NULL;
}

bm_tensor *bm_layer_norm_grad(bm_tape *t, bm_tensor *x, bm_tensor *g, bm_tensor *w, double eps)
{
    norm_params p = params_of(eps, 0, 0);
    bm_tensor *in[3] = {x, g, w};
    return eps_ok(t, "bm_layer_norm_grad", eps)
               ? bm_tape_apply(t, &bm_op_layer_norm_grad, in, w ? 3 : 2, &p)
               : NULL;
}

bm_tensor *bm_layer_norm_wgrad(bm_tape *t, bm_tensor *x, bm_tensor *g, double eps)
{
    norm_params p = params_of(eps, 0, 0);
    bm_tensor *in[2] = {x, g};
    return eps_ok(t, "bm_layer_norm_wgrad", eps)
               ? bm_tape_apply(t, &bm_op_layer_norm_wgrad, in, 2, &p)
               : NULL;
}

bm_tensor *bm_rms_norm(bm_tape *t, bm_tensor *x, bm_tensor *w, double eps)
{
    norm_params p = params_of(eps, 0, 0);
    bm_tensor *in[2] = {x, w};
    return eps_ok(t, "bm_rms_norm", eps) ? bm_tape_apply(t, &bm_op_rms_norm, in, w ? 2 : 1, &p)
                                         : NULL;
}
