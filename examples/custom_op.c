/* custom_op.c — two ops defined outside the library with the public op
 * interface (bm_op.h) only, used like built-in ones:
 *
 *   swish(x; β) = x·σ(βx)            one input, a parameter block {β}
 *   wsum(x₀..x_{n−1}; c) = Σ cᵢ·xᵢ    any number of inputs (BM_OP_VARIADIC)
 *
 * Each vjp is written with op builders, so the gradient is a recorded graph:
 * the program gradchecks both ops to second order (bm_gradcheck,
 * bm_gradgradcheck), takes a Hessian-vector product through swish, and
 * writes the graph as DOT and JSON where the ops appear by name. Built
 * against the installed library with `pkg-config --cflags --libs bmnn`
 * (tests/test_install.sh does that); exits 0 when every check passes.
 *
 * Usage: custom_op [GRAPH.dot [GRAPH.json]] */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <bmnn.h>

/* ---- swish ------------------------------------------------------------- */

typedef struct swish_params {
    double beta;
} swish_params;

/* out: x's shape   in: x (any shape) */
static int swish_infer(bm_tape *tape, bm_node *n)
{
    const swish_params *p = bm_op_params(n);
    if (!(p->beta > 0) || !isfinite(p->beta)) {
        bm_tape_fail(tape, BM_ERR_ARG, "swish: beta %g must be positive and finite", p->beta);
        return -1;
    }
    return bm_op_set_output_like(tape, n, bm_op_in(n, 0)) == BM_OK ? 0 : -1;
}

/* y = x·σ(βx), elementwise, in the input's precision. */
static void swish_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    const bm_tensor *x = bm_op_in(n, 0);
    bm_tensor *y = bm_op_out(n);
    double beta = ((const swish_params *)bm_op_params(n))->beta;
    if (x->dtype == BM_F64) {
        const double *xs = x->data;
        double *ys = y->data;
        for (size_t i = 0; i < x->size; i++)
            ys[i] = xs[i] / (1.0 + exp(-beta * xs[i]));
    } else {
        const float *xs = x->data;
        float *ys = y->data;
        for (size_t i = 0; i < x->size; i++)
            ys[i] = xs[i] / (1.0f + expf(-(float)beta * xs[i]));
    }
}

/* dy/dx = σ(βx) + βx·σ(βx)(1 − σ(βx)) = s + β·y·(1 − s), s = σ(βx), written
 * with ops on the input (not on saved values) so it differentiates again. */
static bm_status swish_vjp(bm_tape *tape, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *x = bm_op_in(n, 0);
    double beta = ((const swish_params *)bm_op_params(n))->beta;
    bm_tensor *s = bm_sigmoid(tape, bm_scale(tape, x, beta));
    bm_tensor *one_minus_s = bm_add_scalar(tape, bm_neg(tape, s), 1.0);
    bm_tensor *bxs = bm_mul(tape, bm_scale(tape, x, beta), s); /* β·y */
    bm_tensor *dydx = bm_add(tape, s, bm_mul(tape, bxs, one_minus_s));
    dx[0] = bm_mul(tape, g, dydx);
    return bm_tape_status(tape);
}

static void swish_describe(const bm_node *n, char *buf, size_t len)
{
    snprintf(buf, len, "beta=%g", ((const swish_params *)bm_op_params(n))->beta);
}

static const bm_op swish_op = {
    .name = "swish",
    .arity = 1,
    .params_size = sizeof(swish_params),
    .infer = swish_infer,
    .forward = swish_forward,
    .vjp = swish_vjp,
    .describe = swish_describe,
};

static bm_tensor *swish(bm_tape *t, bm_tensor *x, double beta)
{
    return bm_tape_record(t, &swish_op, &x, 1, &(swish_params){.beta = beta});
}

/* ---- wsum: a variadic op ----------------------------------------------- */

/* Weights for input k: c_k = 1 + k·step (one parameter, any input count). */
typedef struct wsum_params {
    double step;
} wsum_params;

static double wsum_coef(const bm_node *n, int k)
{
    return 1.0 + k * ((const wsum_params *)bm_op_params(n))->step;
}

/* out: the common shape   in: n tensors of one shape */
static int wsum_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *a = bm_op_in(n, 0);
    for (int k = 1; bm_op_in(n, k); k++) {
        const bm_tensor *b = bm_op_in(n, k);
        if (b->rank != a->rank || memcmp(b->shape, a->shape, sizeof a->shape) != 0) {
            bm_tape_fail(tape, BM_ERR_SHAPE, "wsum: input %d's shape differs from input 0's", k);
            return -1;
        }
    }
    return bm_op_set_output_like(tape, n, a) == BM_OK ? 0 : -1;
}

static void wsum_forward(bm_tape *tape, bm_node *n)
{
    (void)tape;
    bm_tensor *y = bm_op_out(n);
    for (size_t i = 0; i < y->size; i++) {
        double acc = 0;
        for (int k = 0; bm_op_in(n, k); k++)
            acc += wsum_coef(n, k) * bm_tensor_get(bm_op_in(n, k), i);
        bm_tensor_set(y, i, acc);
    }
}

/* d/dx_k = c_k·G */
static bm_status wsum_vjp(bm_tape *tape, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    for (int k = 0; bm_op_in(n, k); k++)
        if (bm_op_wants_grad(tape, n, k))
            dx[k] = bm_scale(tape, g, wsum_coef(n, k));
    return bm_tape_status(tape);
}

static const bm_op wsum_op = {
    .name = "wsum",
    .arity = BM_OP_VARIADIC,
    .params_size = sizeof(wsum_params),
    .infer = wsum_infer,
    .forward = wsum_forward,
    .vjp = wsum_vjp,
};

/* ---- the program -------------------------------------------------------- */

enum { N_TERMS = 6, ROWS = 3, COLS = 4 };

static int report(const char *what, bm_status s, const bm_gradcheck_result *r)
{
    printf("%-34s %s  max abs err %.2e  (%zu checked)%s%s\n", what,
           s == BM_OK && r->passed ? "pass" : "FAIL", r->max_abs_err, r->checked,
           r->passed ? "" : "  ", r->passed ? "" : r->message);
    return s == BM_OK && r->passed ? 0 : 1;
}

/* Does file `path` contain `word`? */
static int file_has(const char *path, const char *word)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[1024];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, word) != NULL;
    fclose(f);
    return found;
}

int main(int argc, char **argv)
{
    const char *dot_path = argc > 1 ? argv[1] : "custom_op.dot";
    const char *json_path = argc > 2 ? argv[2] : "custom_op.json";
    int fails = 0;
    bm_tape *t = bm_tape_new();
    bm_rng rng;
    bm_rng_seed(&rng, 42);
    size_t shape[2] = {ROWS, COLS};

    /* loss = Σ wsum(swish(x₀), x₁, .., x₅)² : both ops, six inputs. */
    bm_tensor *in[N_TERMS];
    for (int k = 0; k < N_TERMS; k++) {
        in[k] = bm_tape_leaf(t, BM_F64, 2, shape, BM_REQUIRES_GRAD);
        for (size_t i = 0; in[k] && i < in[k]->size; i++)
            bm_tensor_set(in[k], i, 2.0 * bm_rng_uniform(&rng) - 1.0);
    }
    bm_tensor *terms[N_TERMS] = {swish(t, in[0], 1.5)};
    for (int k = 1; k < N_TERMS; k++)
        terms[k] = in[k];
    bm_tensor *w = bm_tape_record(t, &wsum_op, terms, N_TERMS, &(wsum_params){.step = 0.25});
    bm_tensor *loss = bm_sum(t, bm_square(t, w), BM_AXIS_ALL, 0);
    if (!loss) {
        fprintf(stderr, "custom_op: %s\n", bm_tape_error(t));
        bm_tape_free(t);
        return 1;
    }

    bm_gradcheck_opts o = bm_gradcheck_defaults();
    bm_gradcheck_result r;
    fails += report("gradcheck (first order)", bm_gradcheck(t, loss, in, N_TERMS, &o, &r), &r);
    fails += report("gradgradcheck (second order)",
                    bm_gradgradcheck(t, loss, in, N_TERMS, &o, &r), &r);

    /* swish''(x) against the formula β·s(1−s)·(2 + βx(1 − 2s)). */
    bm_tensor *g = NULL, *h = NULL;
    bm_tensor *x0 = in[0];
    bm_tensor *y0 = bm_sum(t, swish(t, x0, 1.5), BM_AXIS_ALL, 0);
    bm_status s = bm_grad(t, &y0, 1, &x0, 1, NULL, 1, &g);
    bm_tensor *gs = s == BM_OK ? bm_sum(t, g, BM_AXIS_ALL, 0) : NULL;
    if (gs)
        s = bm_grad(t, &gs, 1, &x0, 1, NULL, 0, &h);
    double worst = s == BM_OK && h ? 0 : INFINITY;
    for (size_t i = 0; s == BM_OK && h && i < x0->size; i++) {
        double x = bm_tensor_get(x0, i), b = 1.5, sg = 1 / (1 + exp(-b * x));
        double want = b * sg * (1 - sg) * (2 + b * x * (1 - 2 * sg));
        worst = fmax(worst, fabs(bm_tensor_get(h, i) - want));
    }
    printf("%-34s %s  max abs err %.2e\n", "swish'' against its formula",
           worst < 1e-12 ? "pass" : "FAIL", worst);
    fails += !(worst < 1e-12);

    /* The graph, with both ops named, as DOT and JSON. */
    bm_graph_opts go = bm_graph_defaults();
    bm_error err = {0};
    FILE *f = fopen(dot_path, "w");
    s = f ? bm_graph_write_dot(t, loss, f, &go, &err) : BM_ERR_IO;
    if (f && fclose(f) != 0)
        s = BM_ERR_IO;
    f = s == BM_OK ? fopen(json_path, "w") : NULL;
    s = f ? bm_graph_write_json(t, loss, f, &go, &err) : BM_ERR_IO;
    if (f && fclose(f) != 0)
        s = BM_ERR_IO;
    int named = s == BM_OK && file_has(dot_path, "swish") && file_has(dot_path, "wsum") &&
                file_has(json_path, "\"swish\"") && file_has(json_path, "\"wsum\"");
    printf("%-34s %s  (%s, %s)%s%s\n", "DOT and JSON name both ops", named ? "pass" : "FAIL",
           dot_path, json_path, err.code ? ": " : "", err.code ? err.msg : "");
    fails += !named;

    /* Bad input is an error naming the op, not a crash. */
    bm_tensor *odd = bm_tape_leaf(t, BM_F64, 1, (size_t[]){5}, 0);
    bm_tensor *bad[2] = {in[1], odd};
    bm_tape_clear_error(t);
    int refused = !bm_tape_record(t, &wsum_op, bad, 2, &(wsum_params){.step = 0}) &&
                  bm_tape_status(t) == BM_ERR_SHAPE && strstr(bm_tape_error(t), "wsum:");
    bm_tape_clear_error(t);
    refused = refused && !swish(t, in[1], -1.0) && strstr(bm_tape_error(t), "swish: beta");
    printf("%-34s %s\n", "bad shapes and beta refused", refused ? "pass" : "FAIL");
    fails += !refused;

    bm_tape_free(t);
    printf("%s\n", fails ? "custom_op: FAILED" : "custom_op: all checks passed");
    return fails ? 1 : 0;
}
