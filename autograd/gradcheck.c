/* gradcheck.c — compare backward with central differences, by graph replay.
 *
 * The recorded F64 graph is replayed with each input nudged by ±eps; the
 * output is reduced to a scalar f = Σ w·out with a seeded random weighting w,
 * which is also the seed gradient of the analytic pass. Points where the
 * one-sided slopes disagree (ReLU at 0, |x| at 0) are kinks and skipped —
 * unless differences over a wider step show the disagreement is curvature
 * (a smooth point whose slope is far below its curvature times eps). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bm_autograd.h"

bm_gradcheck_opts bm_gradcheck_defaults(void)
{
    bm_gradcheck_opts o;
    o.mode = BM_GRADCHECK_EXHAUSTIVE;
    o.eps = 1e-6;
    o.atol = 1e-6;
    o.rtol = 1e-5;
    o.seed = 0x5eedULL;
    o.projections = 8;
    o.kink_tol = 1e-3;
    return o;
}

typedef struct gc_ctx {
    bm_tape *tape;
    bm_tensor *out;
    const double *w;
} gc_ctx;

/* Replay and reduce: f = Σ w·out. */
static bm_status eval(gc_ctx *c, double *f)
{
    bm_status s = bm_tape_forward(c->tape);
    if (s != BM_OK)
        return s;
    const double *o = c->out->data;
    double acc = 0.0;
    for (size_t i = 0; i < c->out->size; i++)
        acc += c->w[i] * o[i];
    *f = acc;
    return BM_OK;
}

/* Rounding error of f relative to |f| in a replayed evaluation (a few
 * ulps of f64, with headroom for long sums). */
#define EVAL_REL_NOISE 1e-13

/* Do the one-sided slopes disagree beyond their own size and beyond the
 * rounding noise of f (ReLU or |x| at 0)? Relative to the slopes, not to 1,
 * so a kink between small slopes (a ReLU at 0 whose other side is 1e-4) is
 * found too. */
static int is_kink(double f0, double fp, double fm, double eps, double tol)
{
    double sp = (fp - f0) / eps, sm = (f0 - fm) / eps, d = fabs(sp - sm);
    double noise = EVAL_REL_NOISE * fmax(1.0, fabs(f0)) / eps;
    return d > noise && d > tol * fmax(fabs(sp), fabs(sm));
}

/* The wider step that tells a kink from curvature, in eps. */
#define KINK_WIDE 4.0
/* How far (relative) the wider differences may stray from a smooth f's. */
#define KINK_SMOOTH_TOL 0.1

/* Is a point is_kink flagged smooth after all? fpw, fmw are f at ±KINK_WIDE·eps.
 * A smooth f's second difference grows with the step squared and its
 * central difference stays (S(H) = (H/eps)²·S(eps), D(H) = D(eps), up to
 * higher-order terms); a kink's second difference grows at most linearly and,
 * off its centre, moves the central difference by a fraction of the jump. */
static int smooth_after_all(double f0, double fp, double fm, double fpw, double fmw, double eps)
{
    const double wide = KINK_WIDE * eps, noise = EVAL_REL_NOISE * fmax(1.0, fabs(f0));
    double s1 = fp - 2.0 * f0 + fm, sw = fpw - 2.0 * f0 + fmw;
    double d1 = (fp - fm) / (2.0 * eps), dw = (fpw - fmw) / (2.0 * wide);
    int curved = fabs(sw - KINK_WIDE * KINK_WIDE * s1) <= KINK_SMOOTH_TOL * fabs(sw) + noise;
    int level = fabs(dw - d1) <= KINK_SMOOTH_TOL * fabs(sw) / wide + noise / eps;
    return curved && level;
}

/* Record one comparison in res; returns 1 when it is within tolerance. */
static int compare(const bm_gradcheck_opts *o, bm_gradcheck_result *r, double a, double num,
                   size_t input, size_t index)
{
    double abs_err = fabs(a - num);
    double denom = fmax(fabs(a), fabs(num));
    double rel_err = denom > 0.0 ? abs_err / denom : 0.0;
    if (abs_err > r->max_abs_err || r->checked == 0) {
        r->worst_input = input;
        r->worst_index = index;
        r->worst_analytic = a;
        r->worst_numeric = num;
    }
    if (abs_err > r->max_abs_err)
        r->max_abs_err = abs_err;
    if (rel_err > r->max_rel_err)
        r->max_rel_err = rel_err;
    r->checked++;
    return abs_err <= o->atol + o->rtol * fabs(num);
}

static bm_status validate(bm_tape *tape, bm_tensor *out, bm_tensor *const *inputs, size_t n,
                          bm_gradcheck_result *res)
{
    if (!res)
        return BM_ERR_NULL;
    if (!tape || !out || !inputs || n == 0) {
        snprintf(res->message, sizeof res->message,
                 "bm_gradcheck: %s is NULL or empty", !tape ? "tape" : !out ? "output" : "inputs");
        return BM_ERR_NULL;
    }
    if (bm_tape_status(tape) != BM_OK) {
        snprintf(res->message, sizeof res->message, "tape has an error: %s", bm_tape_error(tape));
        return bm_tape_status(tape);
    }
    if (out->dtype != BM_F64) {
        snprintf(res->message, sizeof res->message,
                 "gradcheck runs in f64: build the graph with BM_F64");
        return BM_ERR_DTYPE;
    }
    for (size_t k = 0; k < n; k++) {
        const bm_tensor *t = inputs[k];
        if (!t) {
            snprintf(res->message, sizeof res->message, "bm_gradcheck: input %zu is NULL", k);
            return BM_ERR_NULL;
        }
        if (t->dtype != BM_F64 || t->node || !(t->flags & BM_REQUIRES_GRAD) || !t->grad) {
            snprintf(res->message, sizeof res->message,
                     "input %zu must be an f64 leaf with a gradient", k);
            return BM_ERR_ARG;
        }
    }
    return BM_OK;
}

/* Is t the output of nodes[i] of the main list (N nodes)? Its position goes to *pos. */
static int recorded_at(const bm_node *const *nodes, size_t N, const bm_tensor *t, size_t *pos)
{
    if (!t->node)
        return 0;
    size_t i = bm_node_index(t->node);
    if (i >= N || nodes[i] != t->node)
        return 0;
    *pos = i;
    return 1;
}

/* res->warning for the inputs out does not depend on through recorded ops, and whether
 * out's graph reads constants (BM_CONST) that such an input may have fed. Silent when
 * memory is short: the warning is advice, the check itself does not need it. */
static void reach_warning(const bm_tape *tape, const bm_tensor *out, bm_tensor *const *in,
                          size_t n, bm_gradcheck_result *res)
{
    size_t N = bm_tape_size(tape), p = 0, consts = 0, unreached = 0, used = 0;
    const bm_node **nodes = calloc(N ? N : 1, sizeof *nodes);
    unsigned char *anc = calloc(N ? N : 1, 1), *dep = calloc(N ? N : 1, 1);
    size_t k = 0;
    for (const bm_node *nd = bm_tape_first(tape); nodes && nd && k < N; nd = bm_node_next(nd))
        nodes[k++] = nd;
    if (!nodes || !anc || !dep || !recorded_at(nodes, N, out, &p))
        goto done;
    anc[p] = 1; /* the ancestors of out, and the constants they read */
    for (size_t j = p + 1; j-- > 0;)
        for (int i = 0; anc[j] && i < bm_node_n_inputs(nodes[j]); i++) {
            const bm_tensor *t = bm_node_input(nodes[j], i);
            size_t q;
            if (recorded_at(nodes, N, t, &q))
                anc[q] = 1;
            else if (t->flags & BM_CONST)
                consts++;
        }
    for (k = 0; k < n; k++) { /* does out depend on input k through recorded ops? */
        memset(dep, 0, p + 1);
        for (size_t j = 0; j <= p; j++)
            for (int i = 0; !dep[j] && i < bm_node_n_inputs(nodes[j]); i++) {
                const bm_tensor *t = bm_node_input(nodes[j], i);
                size_t q;
                dep[j] = t == in[k] || (recorded_at(nodes, N, t, &q) && dep[q]);
            }
        if (dep[p])
            continue;
        int w = snprintf(res->warning + used, sizeof res->warning - used, "%s%zu",
                         unreached++ ? ", " : "input ", k);
        used += w > 0 && (size_t)w < sizeof res->warning - used ? (size_t)w : 0;
    }
    if (unreached && consts)
        snprintf(res->warning + used, sizeof res->warning - used,
                 ": reaches the output only through constants (%zu read%s of values "
                 "computed with recording off, not recomputed by replay) or not at all: the "
                 "check says nothing about %s",
                 consts, consts == 1 ? "" : "s", unreached == 1 ? "it" : "them");
    else if (unreached)
        snprintf(res->warning + used, sizeof res->warning - used,
                 ": the output does not depend on %s", unreached == 1 ? "it" : "them");
done:
    free(nodes);
    free(anc);
    free(dep);
}

static void nudge(bm_tensor *const *in, size_t n, double *const *v, double *const *x0, double h)
{
    for (size_t k = 0; k < n; k++) {
        double *x = in[k]->data;
        for (size_t j = 0; j < in[k]->size; j++)
            x[j] = x0[k][j] + h * v[k][j];
    }
}

/* f at x0 ± h along direction v (or element j of input k when v is NULL)
 * into *fp, *fm; the inputs are left at x0. */
static bm_status pair(gc_ctx *c, bm_tensor *const *in, size_t n, double *const *v,
                      double *const *x0, size_t k, size_t j, double h, double *fp, double *fm)
{
    bm_status s;
    if (v) {
        nudge(in, n, v, x0, h);
        s = eval(c, fp);
        nudge(in, n, v, x0, -h);
        if (s == BM_OK)
            s = eval(c, fm);
        nudge(in, n, v, x0, 0.0);
    } else {
        double *x = in[k]->data, keep = x[j];
        x[j] = keep + h;
        s = eval(c, fp);
        x[j] = keep - h;
        if (s == BM_OK)
            s = eval(c, fm);
        x[j] = keep;
    }
    return s;
}

/* Central difference of f along direction v (or element j of input k when
 * v is NULL) with step h. */
static bm_status central(gc_ctx *c, bm_tensor *const *in, size_t n, double *const *v,
                         double *const *x0, size_t k, size_t j, double h, double *d)
{
    double fp = 0.0, fm = 0.0;
    bm_status s = pair(c, in, n, v, x0, k, j, h, &fp, &fm);
    *d = (fp - fm) / (2.0 * h);
    return s;
}

/* Whether the point f0, fp, fm (at ±eps along v, or element j of input k)
 * is a kink: is_kink's verdict, checked over the wider step when it says so. */
static bm_status kink_at(gc_ctx *c, bm_tensor *const *in, size_t n, double *const *v,
                         double *const *x0, size_t k, size_t j, double eps, double tol,
                         const double f[3], int *kink)
{
    double fpw = 0.0, fmw = 0.0;
    *kink = is_kink(f[0], f[1], f[2], eps, tol);
    if (!*kink)
        return BM_OK;
    bm_status s = pair(c, in, n, v, x0, k, j, KINK_WIDE * eps, &fpw, &fmw);
    *kink = s != BM_OK || !smooth_after_all(f[0], f[1], f[2], fpw, fmw, eps);
    return s;
}

static bm_status run_exhaustive(gc_ctx *c, bm_tensor *const *in, size_t n, double *const *ga,
                                const bm_gradcheck_opts *o, double f0, bm_gradcheck_result *r,
                                int *all_ok, double *max_grad)
{
    for (size_t k = 0; k < n; k++) {
        double *x = in[k]->data;
        for (size_t j = 0; j < in[k]->size; j++) {
            double keep = x[j], fp = 0.0, fm = 0.0;
            bm_status s;
            int kink = 0;
            x[j] = keep + o->eps;
            s = eval(c, &fp);
            x[j] = keep - o->eps;
            if (s == BM_OK)
                s = eval(c, &fm);
            x[j] = keep;
            if (s == BM_OK)
                s = kink_at(c, in, n, NULL, NULL, k, j, o->eps, o->kink_tol,
                            (const double[3]){f0, fp, fm}, &kink);
            if (s != BM_OK)
                return s;
            if (kink) {
                r->skipped++;
                continue;
            }
            double num = (fp - fm) / (2.0 * o->eps);
            *max_grad = fmax(*max_grad, fmax(fabs(num), fabs(ga[k][j])));
            if (!compare(o, r, ga[k][j], num, k, j))
                *all_ok = 0;
        }
    }
    return BM_OK;
}

static bm_status run_projection(gc_ctx *c, bm_tensor *const *in, size_t n, double *const *ga,
                                double *const *v, double *const *vbest, double *const *x0,
                                const bm_gradcheck_opts *o, double f0, bm_rng *rng,
                                bm_gradcheck_result *r, int *all_ok, double *max_grad)
{
    for (int p = 0; p < o->projections; p++) {
        double a = 0.0, fp = 0.0, fm = 0.0;
        for (size_t k = 0; k < n; k++)
            for (size_t j = 0; j < in[k]->size; j++) {
                v[k][j] = bm_rng_normal(rng);
                a += ga[k][j] * v[k][j];
            }
        nudge(in, n, v, x0, o->eps);
        bm_status s = eval(c, &fp);
        nudge(in, n, v, x0, -o->eps);
        if (s == BM_OK)
            s = eval(c, &fm);
        nudge(in, n, v, x0, 0.0);
        int kink = 0;
        if (s == BM_OK)
            s = kink_at(c, in, n, v, x0, 0, 0, o->eps, o->kink_tol,
                        (const double[3]){f0, fp, fm}, &kink);
        if (s != BM_OK)
            return s;
        if (kink) {
            r->skipped++;
            continue;
        }
        double num = (fp - fm) / (2.0 * o->eps);
        *max_grad = fmax(*max_grad, fmax(fabs(num), fabs(a)));
        if (!compare(o, r, a, num, 0, (size_t)p))
            *all_ok = 0;
        if (r->worst_index == (size_t)p) /* the worst so far: keep its direction */
            for (size_t k = 0; k < n; k++)
                memcpy(vbest[k], v[k], in[k]->size * sizeof(double));
    }
    return BM_OK;
}

/* Richardson estimate of the worst element's finite-difference error: a
 * central difference errs by ~c·h², so D(h) − D(h/2) ≈ ¾ of D(h)'s error. */
static bm_status fd_error(gc_ctx *c, bm_tensor *const *in, size_t n, double *const *vbest,
                          double *const *x0, const bm_gradcheck_opts *o, bm_gradcheck_result *r)
{
    double half = 0.0;
    bm_status s = central(c, in, n, o->mode == BM_GRADCHECK_PROJECTION ? vbest : NULL, x0,
                          r->worst_input, r->worst_index, o->eps / 2, &half);
    r->worst_fd_error = (4.0 / 3.0) * fabs(r->worst_numeric - half);
    return s;
}

/* One buffer per input, each `size` doubles; all freed by free_bufs. */
static double **alloc_bufs(bm_tensor *const *in, size_t n)
{
    double **b = calloc(n, sizeof *b);
    if (!b)
        return NULL;
    for (size_t k = 0; k < n; k++) {
        b[k] = malloc(in[k]->size * sizeof(double));
        if (!b[k]) {
            for (size_t i = 0; i < k; i++)
                free(b[i]);
            free(b);
            return NULL;
        }
    }
    return b;
}

static void free_bufs(double **b, size_t n)
{
    if (!b)
        return;
    for (size_t k = 0; k < n; k++)
        free(b[k]);
    free(b);
}

bm_status bm_gradcheck(bm_tape *tape, bm_tensor *out, bm_tensor *const *inputs,
                       size_t n_inputs, const bm_gradcheck_opts *opts,
                       bm_gradcheck_result *res)
{
    bm_gradcheck_opts o = opts ? *opts : bm_gradcheck_defaults();
    if (res)
        memset(res, 0, sizeof *res);
    bm_status s = validate(tape, out, inputs, n_inputs, res);
    if (s == BM_OK && (!(o.eps > 0.0) || (o.mode == BM_GRADCHECK_PROJECTION && o.projections <= 0))) {
        snprintf(res->message, sizeof res->message, "eps must be > 0 and projections > 0");
        s = BM_ERR_ARG;
    }
    if (s != BM_OK) {
        if (res)
            bm_error_set(&res->error, s, "%s%s", strncmp(res->message, "bm_gradcheck", 12) ? "bm_gradcheck: " : "",
                         res->message);
        return s;
    }
    bm_rng rng;
    bm_rng_seed(&rng, o.seed);
    double *w = malloc(out->size * sizeof *w);
    bm_tensor *seed = bm_tensor_new(BM_F64, out->rank, out->shape, NULL);
    double **ga = alloc_bufs(inputs, n_inputs);
    double **v = alloc_bufs(inputs, n_inputs);
    double **x0 = alloc_bufs(inputs, n_inputs);
    double **vbest = alloc_bufs(inputs, n_inputs);
    int frozen = bm_tape_freeze_random(tape, 1);
    if (!w || !seed || !ga || !v || !x0 || !vbest) {
        s = BM_ERR_NOMEM;
        snprintf(res->message, sizeof res->message, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < out->size; i++)
        w[i] = ((double *)seed->data)[i] = 0.5 + bm_rng_uniform(&rng);
    for (size_t k = 0; k < n_inputs; k++)
        memcpy(x0[k], inputs[k]->data, inputs[k]->size * sizeof(double));

    gc_ctx c = {tape, out, w};
    double f0 = 0.0, max_grad = 0.0;
    int all_ok = 1;
    s = eval(&c, &f0);
    for (size_t k = 0; s == BM_OK && k < n_inputs; k++)
        bm_tensor_zero_grad(inputs[k]);
    if (s == BM_OK)
        s = bm_tape_backward(tape, out, seed);
    if (s != BM_OK) {
        snprintf(res->message, sizeof res->message, "%s", bm_tape_error(tape));
        goto done;
    }
    for (size_t k = 0; k < n_inputs; k++)
        memcpy(ga[k], inputs[k]->grad, inputs[k]->size * sizeof(double));
    if (o.mode == BM_GRADCHECK_PROJECTION)
        s = run_projection(&c, inputs, n_inputs, ga, v, vbest, x0, &o, f0, &rng, res, &all_ok,
                           &max_grad);
    else
        s = run_exhaustive(&c, inputs, n_inputs, ga, &o, f0, res, &all_ok, &max_grad);
    if (s == BM_OK && res->checked)
        s = fd_error(&c, inputs, n_inputs, vbest, x0, &o, res);
    if (s != BM_OK) {
        snprintf(res->message, sizeof res->message, "%s", bm_tape_error(tape));
        goto done;
    }
    if (res->checked == 0)
        snprintf(res->message, sizeof res->message, "nothing checked: every point was a kink");
    else if (max_grad == 0.0)
        snprintf(res->message, sizeof res->message,
                 "all gradients are zero: the check proves nothing");
    else if (!all_ok)
        snprintf(res->message, sizeof res->message,
                 "input %zu %s %zu: analytic %.10g, numeric %.10g (finite-difference error "
                 "~%.2g: %s)",
                 res->worst_input, o.mode == BM_GRADCHECK_PROJECTION ? "direction" : "element",
                 res->worst_index, res->worst_analytic, res->worst_numeric, res->worst_fd_error,
                 fabs(res->worst_analytic - res->worst_numeric) > 10 * res->worst_fd_error
                     ? "far beyond it, a gradient bug"
                     : "within step-size noise, try another eps");
    else
        snprintf(res->message, sizeof res->message, "ok: %zu checked, %zu kinks skipped",
                 res->checked, res->skipped);
    res->passed = res->checked > 0 && max_grad > 0.0 && all_ok;
    reach_warning(tape, out, inputs, n_inputs, res);
    s = bm_tape_forward(tape); /* leave the graph's values at the unperturbed point */
done:
    bm_tape_freeze_random(tape, frozen);
    free(w);
    bm_tensor_free(seed);
    free_bufs(ga, n_inputs);
    free_bufs(v, n_inputs);
    free_bufs(x0, n_inputs);
    free_bufs(vbest, n_inputs);
    if (s != BM_OK)
        bm_error_set(&res->error, s, "bm_gradcheck: %s", res->message);
    return s;
}

