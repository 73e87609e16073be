/* hessian.c — the Hessian of a small function, by reverse over reverse,
 * printed beside its analytic form:
 *
 *   f(x) = ½·xᵀAx + logsumexp(x) + c·Σ sin(xᵢ),   x ∈ ℝⁿ
 *   ∇²f  = ½(A + Aᵀ) + diag(p) − p·pᵀ − c·diag(sin x),   p = softmax(x)
 *
 * bm_hessian records the gradient with create_graph and takes its Jacobian;
 * bm_hvp gives H·v without forming H. Exits 0 when both agree with the
 * formula to TOL. */
#include <math.h>
#include <stdio.h>

#include <bmnn.h>

enum { N = 4 };
#define C_SIN 0.5
#define TOL 1e-12

static const double A[N][N] = {
    {2.0, 0.5, -1.0, 0.0},
    {0.3, 1.5, 0.2, -0.4},
    {-0.6, 0.1, 3.0, 0.7},
    {0.0, -0.2, 0.9, 1.0},
};
static const double X0[N] = {0.3, -1.2, 0.8, 2.0};
static const double V[N] = {1.0, -0.5, 0.25, 2.0};

/* f(x) for x [1,N] on the tape. */
static bm_tensor *f_of(bm_tape *t, bm_tensor *x, bm_tensor *a)
{
    bm_tensor *quad = bm_matmul_ex(t, bm_matmul(t, x, a), x, 0, 1); /* [1,1] = x A xᵀ */
    bm_tensor *lse = bm_logsumexp(t, x, -1, 1);                    /* [1,1] */
    bm_tensor *sines = bm_sum(t, bm_sin(t, x), BM_AXIS_ALL, 1);    /* [1,1] */
    bm_tensor *sum = bm_add(t, bm_add(t, bm_scale(t, quad, 0.5), lse), bm_scale(t, sines, C_SIN));
    return bm_sum(t, sum, BM_AXIS_ALL, 0);
}

/* The formula's H into h. */
static void analytic(double h[N][N])
{
    double p[N], z = 0, mx = X0[0];
    for (int i = 1; i < N; i++)
        mx = fmax(mx, X0[i]);
    for (int i = 0; i < N; i++)
        z += p[i] = exp(X0[i] - mx);
    for (int i = 0; i < N; i++)
        p[i] /= z;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            h[i][j] = 0.5 * (A[i][j] + A[j][i]) + (i == j ? p[i] - C_SIN * sin(X0[i]) : 0) -
                      p[i] * p[j];
}

int main(void)
{
    bm_tape *t = bm_tape_new();
    bm_tensor *x = bm_tape_leaf(t, BM_F64, 2, (size_t[]){1, N}, BM_REQUIRES_GRAD);
    bm_tensor *a = bm_tape_leaf(t, BM_F64, 2, (size_t[]){N, N}, 0);
    bm_tensor *v = bm_tape_leaf(t, BM_F64, 2, (size_t[]){1, N}, 0);
    for (int i = 0; x && a && v && i < N; i++) {
        bm_tensor_set(x, (size_t)i, X0[i]);
        bm_tensor_set(v, (size_t)i, V[i]);
        for (int j = 0; j < N; j++)
            bm_tensor_set(a, (size_t)(i * N + j), A[i][j]);
    }
    bm_tensor *f = x && a && v ? f_of(t, x, a) : NULL;
    bm_tensor *H = NULL, *hv = NULL;
    bm_error err = {0};
    bm_status s = f ? bm_hessian(t, f, x, &H, &err) : BM_ERR_STATE;
    if (s == BM_OK)
        s = bm_hvp(t, f, &x, 1, &v, 0, &hv);
    if (s != BM_OK) {
        fprintf(stderr, "hessian: %s%s\n", err.msg, bm_tape_error(t));
        bm_tape_free(t);
        return 1;
    }
    double want[N][N], worst_h = 0, worst_hv = 0;
    analytic(want);
    printf("f(x) = %.12f at x = (%g, %g, %g, %g)\n\n", bm_tensor_get(f, 0), X0[0], X0[1], X0[2],
           X0[3]);
    printf("%-40s %s\n", "Hessian by bm_hessian", "analytic");
    for (int i = 0; i < N; i++) {
        double row = 0;
        for (int j = 0; j < N; j++) {
            double got = bm_tensor_get(H, (size_t)(i * N + j));
            printf("%9.5f ", got);
            worst_h = fmax(worst_h, fabs(got - want[i][j]));
            row += want[i][j] * V[j];
        }
        printf("   ");
        for (int j = 0; j < N; j++)
            printf("%9.5f ", want[i][j]);
        printf("\n");
        worst_hv = fmax(worst_hv, fabs(bm_tensor_get(hv, (size_t)i) - row));
    }
    printf("\nmax |H - analytic|   %.2e\nmax |Hv - analytic|  %.2e  (bm_hvp, v = (%g, %g, %g, %g))\n",
           worst_h, worst_hv, V[0], V[1], V[2], V[3]);
    int ok = worst_h <= TOL && worst_hv <= TOL;
    printf("%s\n", ok ? "hessian: pass" : "hessian: FAIL");
    bm_tensor_free(H);
    bm_tape_free(t);
    return ok ? 0 : 1;
}
