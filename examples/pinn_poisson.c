/* pinn_poisson.c — a physics-informed network: the loss holds the second
 * derivative of the network with respect to its input.
 *
 *   −u''(x) = π² sin(πx) on [0, 1],  u(0) = u(1) = 0   (solution sin(πx))
 *
 * u(x) = x(1 − x)·N(x) with N a tanh network 1-H-1, so the boundary values
 * hold exactly; the loss is the mean squared residual of the equation at
 * collocation points. u' and u'' come from bm_grad with create_graph (each
 * u_i depends on x_i alone, so the gradient of Σu is the vector of u'(x_i)),
 * the loss's gradient with respect to the weights differentiates through
 * both, and the whole graph — forward, u', u'', the weights' gradients — is
 * recorded once and replayed each step. Adam updates the flat parameter
 * buffer. Exits 0 when the largest error against sin(πx) on a fine grid is
 * at most MAX_ERROR. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <bmnn.h>

enum {
    HIDDEN = 16,     /* tanh units */
    POINTS = 32,     /* collocation points in (0, 1) */
    STEPS = 4000,    /* Adam steps */
    GRID = 201,      /* points where the error is measured */
    REPORT = 1000,   /* steps between progress lines */
    SEED = 7,
};
#define LEARNING_RATE 0.01
#define LR_DECAY 1e-3
#define MAX_ERROR 1e-3
#define PI 3.14159265358979323846
#define INIT_STD 1.0

/* Parameters in one flat buffer: W1 [1,H], b1 [H], W2 [H,1], b2 [1]. */
enum { N_PARAMS = 3 * HIDDEN + 1 };

typedef struct net {
    double p[N_PARAMS], g[N_PARAMS];
    bm_tensor *W1, *b1, *W2, *b2;
} net;

static int net_init(net *n, bm_rng *rng)
{
    for (size_t i = 0; i < N_PARAMS; i++)
        n->p[i] = i < 2 * HIDDEN ? INIT_STD * bm_rng_normal(rng) : 0.0;
    for (size_t i = 2 * HIDDEN; i < 3 * HIDDEN; i++)
        n->p[i] = bm_rng_normal(rng) / sqrt((double)HIDDEN);
    n->W1 = bm_tensor_view(BM_F64, 2, (size_t[]){1, HIDDEN}, n->p, n->g, NULL);
    n->b1 = bm_tensor_view(BM_F64, 1, (size_t[]){HIDDEN}, n->p + HIDDEN, n->g + HIDDEN, NULL);
    n->W2 = bm_tensor_view(BM_F64, 2, (size_t[]){HIDDEN, 1}, n->p + 2 * HIDDEN,
                           n->g + 2 * HIDDEN, NULL);
    n->b2 = bm_tensor_view(BM_F64, 1, (size_t[]){1}, n->p + 3 * HIDDEN, n->g + 3 * HIDDEN, NULL);
    bm_tensor *all[] = {n->W1, n->b1, n->W2, n->b2};
    for (int k = 0; k < 4; k++)
        if (!all[k] || bm_tensor_set_requires_grad(all[k], 1, NULL) != BM_OK)
            return -1;
    return 0;
}

static void net_free(net *n)
{
    bm_tensor_free(n->W1);
    bm_tensor_free(n->b1);
    bm_tensor_free(n->W2);
    bm_tensor_free(n->b2);
}

/* u(x) = x(1 − x)·(tanh(x·W1 + b1)·W2 + b2)   out [N,1]  in x [N,1] */
static bm_tensor *u_of(bm_tape *t, const net *n, bm_tensor *x)
{
    bm_tensor *h = bm_tanh(t, bm_linear(t, x, n->W1, n->b1));
    bm_tensor *N = bm_linear(t, h, n->W2, n->b2);
    bm_tensor *bump = bm_mul(t, x, bm_add_scalar(t, bm_neg(t, x), 1.0));
    return bm_mul(t, bump, N);
}

/* d(Σ y)/dx, kept differentiable (create_graph). */
static bm_tensor *d_dx(bm_tape *t, bm_tensor *y, bm_tensor *x)
{
    bm_tensor *s = bm_sum(t, y, BM_AXIS_ALL, 0), *g = NULL;
    if (!s || bm_grad(t, &s, 1, &x, 1, NULL, 1, &g) != BM_OK)
        return NULL;
    return g;
}

/* Largest |u(x) − sin(πx)| over GRID points of [0, 1]. */
static double max_error(const net *n)
{
    bm_tape *t = bm_tape_new();
    bm_tensor *x = bm_tape_leaf(t, BM_F64, 2, (size_t[]){GRID, 1}, 0);
    for (size_t i = 0; x && i < GRID; i++)
        bm_tensor_set(x, i, (double)i / (GRID - 1));
    bm_tape_set_grad_enabled(t, 0);
    bm_tensor *u = x ? u_of(t, n, x) : NULL;
    double worst = u ? 0 : INFINITY;
    for (size_t i = 0; u && i < GRID; i++)
        worst = fmax(worst, fabs(bm_tensor_get(u, i) - sin(PI * bm_tensor_get(x, i))));
    bm_tape_free(t);
    return worst;
}

int main(void)
{
    bm_rng rng;
    bm_rng_seed(&rng, SEED);
    net n = {0};
    bm_tape *t = bm_tape_new();
    bm_optim_config cfg = bm_optim_defaults(BM_OPT_ADAM);
    cfg.lr = LEARNING_RATE;
    cfg.decay = LR_DECAY;
    bm_error err = {0};
    bm_optim *opt = bm_optim_new(&cfg, BM_F64, N_PARAMS, &err);
    if (!t || !opt || net_init(&n, &rng) != 0) {
        fprintf(stderr, "pinn_poisson: setup failed: %s\n", err.msg);
        return 1;
    }

    /* Collocation points x_i = (i + ½)/POINTS, and f = π² sin(πx). */
    bm_tensor *x = bm_tape_leaf(t, BM_F64, 2, (size_t[]){POINTS, 1}, BM_REQUIRES_GRAD);
    bm_tensor *f = bm_tape_leaf(t, BM_F64, 2, (size_t[]){POINTS, 1}, 0);
    for (size_t i = 0; x && f && i < POINTS; i++) {
        double xi = (i + 0.5) / POINTS;
        bm_tensor_set(x, i, xi);
        bm_tensor_set(f, i, PI * PI * sin(PI * xi));
    }
    /* residual u'' + f, loss = mean(residual²) */
    bm_tensor *u = u_of(t, &n, x);
    bm_tensor *u2 = d_dx(t, d_dx(t, u, x), x);
    bm_tensor *loss = bm_mean(t, bm_square(t, bm_add(t, u2, f)), BM_AXIS_ALL, 0);
    if (!loss) {
        fprintf(stderr, "pinn_poisson: %s\n", bm_tape_error(t));
        return 1;
    }
    double first = bm_tensor_get(loss, 0);
    bm_status s = BM_OK;
    for (int step = 0; step < STEPS && s == BM_OK; step++) {
        if (step > 0)
            s = bm_tape_forward(t);
        bm_tape_zero_grad(t);
        if (s == BM_OK)
            s = bm_tape_backward(t, loss, NULL);
        if (s == BM_OK)
            s = bm_optim_step(opt, n.p, n.g, N_PARAMS, &err);
        if (step % REPORT == 0)
            printf("step %4d  residual loss %.3e\n", step, bm_tensor_get(loss, 0));
    }
    if (s != BM_OK) {
        fprintf(stderr, "pinn_poisson: %s%s\n", bm_tape_error(t), err.msg);
        return 1;
    }
    double e = max_error(&n);
    printf("residual loss %.3e -> %.3e after %d steps\n", first, bm_tensor_get(loss, 0), STEPS);
    printf("max |u(x) - sin(pi x)| on %d points: %.2e (target <= %.0e): %s\n", GRID, e,
           MAX_ERROR, e <= MAX_ERROR ? "pass" : "FAIL");
    bm_optim_free(opt);
    net_free(&n);
    bm_tape_free(t);
    return e <= MAX_ERROR ? 0 : 1;
}
