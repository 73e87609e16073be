/* batch_norm.c — batch and group normalisation (NCHW, issue 10).
 *   batch_norm  out: x's shape   in: x [N,C] or [N,C,L] or [N,C,H,W],
 *               running_mean [C], running_var [C] (no gradient), then
 *               optional w [C] (and b [C]); training, momentum, eps
 *   group_norm  out: x's shape   in: x [N,C,..], optional w [C] (and b);
 *               groups, eps
 * Training batch_norm normalises with the batch's statistics (biased
 * variance) and updates the running statistics in the forward, as torch:
 * running = (1 − momentum)·running + momentum·stat, the variance's
 * unbiased (n/(n − 1)). The running tensors are the caller's; every run
 * of the forward — each replay, each gradcheck evaluation — updates them
 * again. Evaluation normalises with them (and leaves them). The vjps are
 * written in ops (statistics recomputed), so they differentiate again.
 * The forward kernels are batch_norm_kernels.inc's, through bm_vec(). */
#include <stdio.h>

#include "ops_internal.h"
#include "vec_internal.h"

typedef struct bn_params {
    double eps, momentum;
    int training, track; /* track: update the running statistics */
    size_t groups;       /* group_norm */
} bn_params;

/* Inputs of batch_norm: x, running mean and var, then w and b. */
enum { BN_X, BN_MEAN, BN_VAR, BN_W, BN_B, BN_MOST };
/* Inputs of group_norm: x, w, b. */
enum { GN_X, GN_W, GN_B, GN_MOST };

static const bn_params *bp_of(const bm_node *n) { return n->params; }

/* Spatial size S of x [N,C,..]. */
static size_t spatial(const bm_tensor *x) { return x->size / (x->shape[0] * x->shape[1]); }

/* x of rank 2..4 and inputs first..n_in of shape [C]. */
static int check_channels(bm_tape *tape, const bm_node *n, int first, int most)
{
    const bm_tensor *x = n->in[0];
    char sx[64], sp[64];
    if (n->n_in > most) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_%s: takes at most %d inputs, got %d", n->op->name,
                     most, n->n_in);
        return -1;
    }
    if (x->rank < 2) {
        bm_tape_fail(tape, BM_ERR_RANK, "bm_%s: x %s must be [N,C], [N,C,L] or [N,C,H,W]",
                     n->op->name, BM_SHP(x, sx));
        return -1;
    }
    for (int k = first; k < n->n_in; k++)
        if (n->in[k]->rank != 1 || n->in[k]->shape[0] != x->shape[1]) {
            bm_tape_fail(tape, BM_ERR_SHAPE, "bm_%s: x %s: input %d %s must be [%zu]",
                         n->op->name, BM_SHP(x, sx), k, BM_SHP(n->in[k], sp), x->shape[1]);
            return -1;
        }
    return 0;
}

static int bn_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    char sx[64];
    if (n->n_in < BN_W) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_batch_norm: needs x and the running statistics");
        return -1;
    }
    if (check_channels(tape, n, BN_MEAN, BN_MOST))
        return -1;
    if (bp_of(n)->training && x->size / x->shape[1] < 2) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_batch_norm: x %s: training needs more than one "
                     "value per channel", BM_SHP(x, sx));
        return -1;
    }
    bm_op_set_scratch(n, 2 * x->shape[1] * sizeof(double));
    return bm_op_set_output_like(tape, n, x) == BM_OK ? 0 : -1;
}

/* running[c] = (1 − m)·running[c] + m·stat[c]. */
static void bn_update(bm_tensor *running, const double *stat, size_t C, double m)
{
    for (size_t c = 0; c < C; c++)
        bm_tensor_set(running, c, (1 - m) * bm_tensor_get(running, c) + m * stat[c]);
}

static void bn_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    const bm_tensor *x = n->in[BN_X];
    const bn_params *p = bp_of(n);
    size_t N = x->shape[0], C = x->shape[1], S = spatial(x);
    double *mean = n->scratch, *inv = mean + C;
    const bm_tensor *w = n->n_in > BN_W ? n->in[BN_W] : NULL;
    const bm_tensor *b = n->n_in > BN_B ? n->in[BN_B] : NULL;
    const bm_vec_kernels *k = bm_vec();
    if (p->training) {
        if (x->dtype == BM_F64)
            k->f64.bn_stats(x->data, mean, inv, N, C, S);
        else
            k->f32.bn_stats(x->data, mean, inv, N, C, S);
    } else {
        for (size_t c = 0; c < C; c++) {
            mean[c] = bm_tensor_get(n->in[BN_MEAN], c);
            inv[c] = bm_tensor_get(n->in[BN_VAR], c);
        }
    }
    double cnt = (double)(N * S);
    if (p->training && p->track) { /* the running variance is unbiased */
        for (size_t c = 0; c < C; c++)
            inv[c] *= cnt / (cnt - 1);
        bn_update(n->in[BN_MEAN], mean, C, p->momentum);
        bn_update(n->in[BN_VAR], inv, C, p->momentum);
        for (size_t c = 0; c < C; c++)
            inv[c] *= (cnt - 1) / cnt;
    }
    /* the scale and shift of each channel, in place of mean and inv */
    for (size_t c = 0; c < C; c++) {
        double sc = 1 / sqrt(inv[c] + p->eps) * (w ? bm_tensor_get(w, c) : 1.0);
        mean[c] = (b ? bm_tensor_get(b, c) : 0.0) - mean[c] * sc;
        inv[c] = sc;
    }
    if (x->dtype == BM_F64)
        k->f64.bn_apply(x->data, inv, mean, n->out->data, N, C, S);
    else
        k->f32.bn_apply(x->data, inv, mean, n->out->data, N, C, S);
}

/* v [C] viewed as [1,C,1,..] against x. */
static bm_tensor *per_channel(bm_tape *t, bm_tensor *v, const bm_tensor *x)
{
    size_t shape[BM_MAX_RANK] = {1, x->shape[1], 1, 1};
    return bm_reshape(t, v, x->rank, shape);
}

/* Mean over every axis but the channel's, kept as [1,C,1,..] (means of
 * means: each axis's groups have equal sizes). */
static bm_tensor *chan_mean(bm_tape *t, bm_tensor *v)
{
    int rank = v ? v->rank : 0;
    bm_tensor *m = bm_mean(t, v, 0, 1);
    for (int a = 2; a < rank; a++)
        m = bm_mean(t, m, a, 1);
    return m;
}

/* dX of a normalisation x̂ = (x − μ)·r with statistics over the reduced
 * axes (mean_fn): r·(ĝ − mean ĝ − x̂·mean(ĝ·x̂)), ĝ = G·w. */
static bm_tensor *norm_dx(bm_tape *t, bm_tensor *gh, bm_tensor *xhat, bm_tensor *r,
                          bm_tensor *(*mean_fn)(bm_tape *, bm_tensor *))
{
    bm_tensor *inner = bm_sub(t, bm_sub(t, gh, mean_fn(t, gh)),
                              bm_mul(t, xhat, mean_fn(t, bm_mul(t, gh, xhat))));
    return bm_mul(t, r, inner);
}

/* Affine gradients: dW = Σ G·x̂, dB = Σ G over all but the channels. */
static void affine_grads(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor *xhat, int iw, int ib,
                         bm_tensor **dx)
{
    bm_tensor *x = n->in[0];
    size_t C = x->shape[1];
    size_t shape[BM_MAX_RANK] = {1, C, 1, 1};
    if (n->n_in > iw && bm_op_wants_grad(t, n, iw))
        dx[iw] = bm_reshape(t, bm_sum_to(t, bm_mul(t, g, xhat), x->rank, shape), 1, &C);
    if (n->n_in > ib && bm_op_wants_grad(t, n, ib))
        dx[ib] = bm_reshape(t, bm_sum_to(t, g, x->rank, shape), 1, &C);
}

static bm_status bn_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *x = n->in[BN_X], *xhat, *r;
    const bn_params *p = bp_of(n);
    if (p->training) {
        bm_tensor *xc = bm_sub(t, x, chan_mean(t, x));
        r = bm_pow(t, bm_add_scalar(t, chan_mean(t, bm_square(t, xc)), p->eps), -0.5);
        xhat = bm_mul(t, xc, r);
    } else {
        r = per_channel(t, bm_pow(t, bm_add_scalar(t, n->in[BN_VAR], p->eps), -0.5), x);
        xhat = bm_mul(t, bm_sub(t, x, per_channel(t, n->in[BN_MEAN], x)), r);
    }
    affine_grads(t, n, g, xhat, BN_W, BN_B, dx);
    if (bm_op_wants_grad(t, n, BN_X)) {
        bm_tensor *gh = n->n_in > BN_W ? bm_mul(t, g, per_channel(t, n->in[BN_W], x)) : g;
        dx[BN_X] = p->training ? norm_dx(t, gh, xhat, r, chan_mean) : bm_mul(t, gh, r);
    }
    return bm_tape_status(t);
}

/* ---- group_norm ----------------------------------------------------------- */

static int gn_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0];
    size_t G = bp_of(n)->groups;
    char sx[64];
    if (check_channels(tape, n, GN_W, GN_MOST))
        return -1;
    if (!G || x->shape[1] % G) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_group_norm: x %s: %zu groups do not divide %zu "
                     "channels", BM_SHP(x, sx), G, x->shape[1]);
        return -1;
    }
    return bm_op_set_output_like(tape, n, x) == BM_OK ? 0 : -1;
}

static void gn_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    const bm_tensor *x = n->in[GN_X];
    const bn_params *p = bp_of(n);
    const void *w = n->n_in > GN_W ? n->in[GN_W]->data : NULL;
    const void *b = n->n_in > GN_B ? n->in[GN_B]->data : NULL;
    if (x->dtype == BM_F64)
        bm_vec()->f64.group_norm(x->data, w, b, n->out->data, x->shape[0], x->shape[1],
                                 spatial(x), p->groups, p->eps);
    else
        bm_vec()->f32.group_norm(x->data, w, b, n->out->data, x->shape[0], x->shape[1],
                                 spatial(x), p->groups, p->eps);
}

static bm_tensor *last_mean(bm_tape *t, bm_tensor *v) { return bm_mean(t, v, -1, 1); }

/* On the view [N, G, C/G·S] group_norm is a plain normalisation over the
 * last axis: layer_norm's formulas there, reshaped back. */
static bm_status gn_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *x = n->in[GN_X];
    const bn_params *p = bp_of(n);
    size_t G = p->groups, view[3] = {x->shape[0], G, x->size / (x->shape[0] * G)};
    bm_tensor *xr = bm_reshape(t, x, 3, view);
    bm_tensor *xc = bm_sub(t, xr, last_mean(t, xr));
    bm_tensor *r = bm_pow(t, bm_add_scalar(t, last_mean(t, bm_square(t, xc)), p->eps), -0.5);
    bm_tensor *xhat = bm_mul(t, xc, r);
    affine_grads(t, n, g, bm_reshape(t, xhat, x->rank, x->shape), GN_W, GN_B, dx);
    if (bm_op_wants_grad(t, n, GN_X)) {
        bm_tensor *gh = n->n_in > GN_W ? bm_mul(t, g, per_channel(t, n->in[GN_W], x)) : g;
        bm_tensor *d = norm_dx(t, bm_reshape(t, gh, 3, view), xhat, r, last_mean);
        dx[GN_X] = bm_reshape(t, d, x->rank, x->shape);
    }
    return bm_tape_status(t);
}

static void bn_describe(const bm_node *n, char *buf, size_t len)
{
    const bn_params *p = bp_of(n);
    if (p->groups)
        snprintf(buf, len, "groups=%zu, eps=%g", p->groups, p->eps);
    else
        snprintf(buf, len, "%s, momentum=%g, eps=%g", p->training ? "training" : "eval",
                 p->momentum, p->eps);
}

const bm_op bm_op_batch_norm = {
    .name = "batch_norm", .arity = BM_OP_VARIADIC, .params_size = sizeof(bn_params),
    .nondiff = (1u << BN_MEAN) | (1u << BN_VAR), .infer = bn_infer, .forward = bn_forward,
    .vjp = bn_vjp, .describe = bn_describe,
};
const bm_op bm_op_group_norm = {
    .name = "group_norm", .arity = BM_OP_VARIADIC, .params_size = sizeof(bn_params),
    .infer = gn_infer, .forward = gn_forward, .vjp = gn_vjp, .describe = bn_describe,
};

/* ---- builders ------------------------------------------------------------ */

/* eps ≥ 0 finite, momentum in [0, 1]. */
static int args_ok(bm_tape *t, const char *fn, double eps, double momentum)
{
    if (!t || bm_tape_status(t) != BM_OK)
        return 0;
    if (!(eps >= 0 && isfinite(eps)) || !(momentum >= 0 && momentum <= 1)) {
        bm_tape_fail(t, BM_ERR_ARG, "%s: eps %g must be finite and >= 0, momentum %g in [0, 1]",
                     fn, eps, momentum);
        return 0;
    }
    return 1;
}

bm_tensor *bm_batch_norm(bm_tape *t, bm_tensor *x, bm_tensor *running_mean,
                         bm_tensor *running_var, bm_tensor *w, bm_tensor *b, int training,
                         double momentum, double eps)
{
    if (!args_ok(t, "bm_batch_norm", eps, momentum))
        return NULL;
    if ((!w && b) || (!training && (!running_mean || !running_var)) ||
        (!running_mean != !running_var)) {
        const char *why = !x          ? "input 0 is NULL"
                          : !w && b ? "a bias needs a weight"
                                    : "evaluation needs both running statistics (training: "
                                      "both or neither)";
        bm_tape_fail(t, x ? BM_ERR_ARG : BM_ERR_NULL, "bm_batch_norm: %s", why);
        return NULL;
    }
    bn_params p = {.eps = eps, .momentum = momentum, .training = training != 0,
                   .track = running_mean != NULL};
    if (!running_mean) { /* training without running statistics: stand-ins */
        size_t C = x && x->rank >= 2 ? x->shape[1] : 1;
        bm_dtype dt = x ? x->dtype : BM_F64;
        running_mean = bm_tape_leaf(t, dt, 1, &C, 0);
        running_var = bm_tape_leaf(t, dt, 1, &C, 0);
    }
    bm_tensor *in[BN_MOST] = {x, running_mean, running_var, w, b};
    return bm_tape_apply(t, &bm_op_batch_norm, in, b ? BN_MOST : w ? BN_W + 1 : BN_W, &p);
}

bm_tensor *bm_group_norm(bm_tape *t, bm_tensor *x, size_t groups, bm_tensor *w, bm_tensor *b,
                         double eps)
{
    if (!args_ok(t, "bm_group_norm", eps, 0))
        return NULL;
    if (!w && b) {
        bm_tape_fail(t, BM_ERR_ARG, "bm_group_norm: a bias needs a weight");
        return NULL;
    }
    bn_params p = {.eps = eps, .groups = groups};
    bm_tensor *in[GN_MOST] = {x, w, b};
    return bm_tape_apply(t, &bm_op_group_norm, in, b ? GN_MOST : w ? GN_W + 1 : GN_X + 1, &p);
}
