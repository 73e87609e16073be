/* test_vec_nn.c — the elementwise.c and normalize.c kernels of every path
 * (vec_internal.h) against a naive double reference on odd sizes, F32 and
 * F64, and bit-identical to the portable path (the avx2/avx512 cases skip
 * with 77 where the CPU lacks them). test_vec.c does the other kernels. */
#include "test_vec_util.h"

typedef void (*map32)(const float *restrict, float *restrict, size_t, const bm_elem_params *);
typedef void (*map64)(const double *restrict, double *restrict, size_t, const bm_elem_params *);

/* A map kernel, its parameters, its input range and its reference. */
typedef struct map_case {
    const char *name;
    size_t off32, off64; /* offsets of its pointers in bm_vec_f32 / bm_vec_f64 */
    bm_elem_params p;
    double scale, shift;
    double (*ref)(double x, const bm_elem_params *p);
} map_case;

static double r_square(double x, const bm_elem_params *p) { (void)p; return x * x; }
static double r_recip(double x, const bm_elem_params *p) { (void)p; return 1 / x; }
static double r_sin(double x, const bm_elem_params *p) { (void)p; return sin(x); }
static double r_cos(double x, const bm_elem_params *p) { (void)p; return cos(x); }
static double r_erf(double x, const bm_elem_params *p) { (void)p; return erf(x); }
static double r_log1p(double x, const bm_elem_params *p) { (void)p; return log1p(x); }
static double r_expm1(double x, const bm_elem_params *p) { (void)p; return expm1(x); }
static double r_silu(double x, const bm_elem_params *p) { (void)p; return x / (1 + exp(-x)); }
static double r_gelu(double x, const bm_elem_params *p)
{
    if (p->mode == BM_GELU_TANH)
        return 0.5 * x * (1 + tanh(BM_GELU_K * (x + BM_GELU_C * x * x * x)));
    return 0.5 * x * (1 + erf(x * BM_SQRT1_2));
}
static double r_softplus(double x, const bm_elem_params *p)
{
    return p->a * x > p->b ? x : log1p(exp(p->a * x)) / p->a;
}
static double r_leaky(double x, const bm_elem_params *p) { return x > 0 ? x : p->a * x; }
static double r_elu(double x, const bm_elem_params *p) { return x > 0 ? x : p->a * expm1(x); }

#define MCASE(NAME, A, B, MODE, SCALE, SHIFT, REF)                                             \
    {.name = #NAME, .off32 = offsetof(bm_vec_f32, NAME), .off64 = offsetof(bm_vec_f64, NAME), \
     .p = {.a = (A), .b = (B), .mode = (MODE)}, .scale = (SCALE), .shift = (SHIFT), .ref = (REF)}

static const map_case MAPS[] = {
    MCASE(square, 0, 0, 0, 3, 0, r_square),
    MCASE(reciprocal, 0, 0, 0, 1, 2, r_recip),
    MCASE(sin, 0, 0, 0, 6, 0, r_sin),
    MCASE(cos, 0, 0, 0, 6, 0, r_cos),
    MCASE(erf, 0, 0, 0, 3, 0, r_erf),
    MCASE(log1p, 0, 0, 0, 0.9, 0, r_log1p),
    MCASE(expm1, 0, 0, 0, 5, 0, r_expm1),
    MCASE(silu, 0, 0, 0, 10, 0, r_silu),
    MCASE(gelu, 0, 0, BM_GELU_ERF, 5, 0, r_gelu),
    MCASE(gelu, 0, 0, BM_GELU_TANH, 5, 0, r_gelu),
    MCASE(softplus, 1.5, 20, 0, 15, 0, r_softplus),
    MCASE(leaky_relu, 0.1, 0, 0, 1, 0, r_leaky),
    MCASE(elu, 1.3, 0, 0, 4, 0, r_elu),
};
enum { N_MAPS = sizeof MAPS / sizeof MAPS[0] };

START_TEST(map_kernels)
{
    const bm_vec_kernels *k = path(_i), *p = bm_vec_portable_kernels();
    bufs *b = calloc(1, sizeof *b);
    ck_assert(b);
    for (size_t c = 0; c < N_MAPS; c++) {
        const map_case *m = &MAPS[c];
        map32 f32, p32;
        map64 f64, p64;
        kernel_at(&f32, sizeof f32, &k->f32, m->off32);
        kernel_at(&p32, sizeof p32, &p->f32, m->off32);
        kernel_at(&f64, sizeof f64, &k->f64, m->off64);
        kernel_at(&p64, sizeof p64, &p->f64, m->off64);
        for (size_t s = 0; s < N_SIZES; s++) {
            size_t n = SIZES[s];
            fill(b->xd, b->xf, n, m->scale, m->shift, c * 100 + s);
            f32(b->xf, b->of, n, &m->p);
            p32(b->xf, b->pf, n, &m->p);
            f64(b->xd, b->od, n, &m->p);
            p64(b->xd, b->pd, n, &m->p);
            for (size_t i = 0; i < n; i++) {
                near(m->name, n, i, b->of[i], m->ref(b->xd[i], &m->p), TOL32);
                near(m->name, n, i, b->od[i], m->ref(b->xd[i], &m->p), TOL64);
            }
            same_as_portable(m->name, n, k->name, b);
        }
    }
    free(b);
}
END_TEST

/* g·gelu'(x) in double, from the closed forms (not the kernel's formula):
 * erf form Φ(x) + x·φ(x); tanh form d/dx of ½x(1 + tanh u) by the chain rule. */
static double r_gelu_grad(double x, double g, int mode)
{
    if (mode == BM_GELU_TANH) {
        double u = BM_GELU_K * (x + BM_GELU_C * x * x * x), th = tanh(u);
        double du = BM_GELU_K * (1 + 3 * BM_GELU_C * x * x);
        return g * (0.5 * (1 + th) + 0.5 * x * (1 - th * th) * du);
    }
    return g * (0.5 * erfc(-x / sqrt(2.0)) + x * exp(-0.5 * x * x) / sqrt(2 * acos(-1.0)));
}

/* gelu_grad of both forms against r_gelu_grad, and the portable path's bits. */
START_TEST(gelu_grad_kernel)
{
    const bm_vec_kernels *k = path(_i), *p = bm_vec_portable_kernels();
    bufs *b = calloc(1, sizeof *b);
    ck_assert(b);
    const double X_RANGE = 6, G_RANGE = 2;
    for (int mode = BM_GELU_ERF; mode <= BM_GELU_TANH; mode++) {
        bm_elem_params prm = {.mode = mode};
        for (size_t s = 0; s < N_SIZES; s++) {
            size_t n = SIZES[s];
            fill(b->xd, b->xf, n, X_RANGE, 0, s + 40);
            fill(b->gd, b->gf, n, G_RANGE, 0, s + 70);
            k->f32.gelu_grad(b->xf, b->gf, b->of, n, &prm);
            p->f32.gelu_grad(b->xf, b->gf, b->pf, n, &prm);
            k->f64.gelu_grad(b->xd, b->gd, b->od, n, &prm);
            p->f64.gelu_grad(b->xd, b->gd, b->pd, n, &prm);
            for (size_t i = 0; i < n; i++) {
                double w = r_gelu_grad(b->xd[i], b->gd[i], mode);
                near("gelu_grad", n, i, b->of[i], w, TOL32);
                near("gelu_grad", n, i, b->od[i], w, TOL64);
            }
            same_as_portable("gelu_grad", n, k->name, b);
        }
    }
    free(b);
}
END_TEST

/* b's outputs (od, of) are ref(x, g) exactly, NaN where x is NaN. */
static void want_nan_first(const char *what, size_t n, const bufs *b,
                           double (*ref)(double, double))
{
    for (size_t i = 0; i < n; i++) {
        double w = isnan(b->xd[i]) ? NAN : ref(b->xd[i], b->gd[i]);
        near(what, n, i, b->od[i], w, 0);
        near(what, n, i, b->of[i], w, 0);
    }
}

START_TEST(max_min)
{
    const bm_vec_kernels *k = path(_i);
    bufs *b = calloc(1, sizeof *b);
    ck_assert(b);
    for (size_t s = 0; s < N_SIZES; s++) {
        size_t n = SIZES[s];
        fill(b->xd, b->xf, n, 1, 0, s);
        fill(b->gd, b->gf, n, 1, 0, s + 9);
        b->xd[0] = b->xf[0] = NAN; /* NaN from a propagates */
        k->f64.maximum(b->xd, b->gd, b->od, n);
        k->f32.maximum(b->xf, b->gf, b->of, n);
        want_nan_first("maximum", n, b, fmax);
        k->f64.minimum(b->xd, b->gd, b->od, n);
        k->f32.minimum(b->xf, b->gf, b->of, n);
        want_nan_first("minimum", n, b, fmin);
    }
    free(b);
}
END_TEST

/* Row statistics in double: mean and 1/√(var + eps). */
static void ref_stats(const double *x, size_t C, double eps, double *mean, double *rstd)
{
    double s = 0, v = 0;
    for (size_t j = 0; j < C; j++)
        s += x[j];
    *mean = s / (double)C;
    for (size_t j = 0; j < C; j++)
        v += (x[j] - *mean) * (x[j] - *mean);
    *rstd = 1 / sqrt(v / (double)C + eps);
}

/* Row widths: below, at and past the 16 lanes. */
static const size_t WIDTHS[] = {1, 3, 16, 17, 50};
static const double EPS = 1e-5;

/* layer_norm's saved row statistics (mean, rstd per row): near the
 * reference, and the gradient kernels reading them give the bits they give
 * recomputing them (so keeping them changes no result). */
static void stats_rows(const bm_vec_kernels *k, bufs *b, const double *wd, const float *wf,
                       size_t R, size_t C)
{
    enum { ROWS_MAX = 64 };
    double sd[2 * ROWS_MAX];
    float sf[2 * ROWS_MAX];
    size_t n = R * C;
    ck_assert(R <= ROWS_MAX);
    k->f64.layer_norm(b->xd, wd, NULL, b->od, R, C, EPS, sd);
    k->f32.layer_norm(b->xf, wf, NULL, b->of, R, C, (float)EPS, sf);
    for (size_t r = 0; r < R; r++) {
        double mean, rstd;
        ref_stats(b->xd + r * C, C, EPS, &mean, &rstd);
        near("layer_norm stats mean", C, r, sd[2 * r], mean, TOL64);
        near("layer_norm stats rstd", C, r, sd[2 * r + 1], rstd, TOL64 * rstd);
        near("layer_norm stats mean f32", C, r, sf[2 * r], mean, 20 * TOL32);
        near("layer_norm stats rstd f32", C, r, sf[2 * r + 1], rstd, 20 * TOL32 * rstd);
    }
    for (int with_w = 0; with_w < 2; with_w++) {
        k->f64.layer_norm_grad(b->xd, b->gd, with_w ? wd : NULL, b->od, R, C, EPS, 0, NULL);
        k->f64.layer_norm_grad(b->xd, b->gd, with_w ? wd : NULL, b->pd, R, C, EPS, 0, sd);
        ck_assert(memcmp(b->od, b->pd, n * sizeof(double)) == 0);
        k->f32.layer_norm_grad(b->xf, b->gf, with_w ? wf : NULL, b->of, R, C, (float)EPS, 0, NULL);
        k->f32.layer_norm_grad(b->xf, b->gf, with_w ? wf : NULL, b->pf, R, C, (float)EPS, 0, sf);
        ck_assert(memcmp(b->of, b->pf, n * sizeof(float)) == 0);
    }
    k->f64.layer_norm_wgrad(b->xd, b->gd, b->od, NULL, R, C, EPS, NULL);
    k->f64.layer_norm_wgrad(b->xd, b->gd, b->pd, NULL, R, C, EPS, sd);
    ck_assert(memcmp(b->od, b->pd, C * sizeof(double)) == 0);
    k->f32.layer_norm_wgrad(b->xf, b->gf, b->of, NULL, R, C, (float)EPS, NULL);
    k->f32.layer_norm_wgrad(b->xf, b->gf, b->pf, NULL, R, C, (float)EPS, sf);
    ck_assert(memcmp(b->of, b->pf, C * sizeof(float)) == 0);
    /* with the bias gradient Σ_rows g in the same pass: dw unchanged, db
     * the row-order sum */
    double *dbd = b->pd + C;
    float *dbf = b->pf + C;
    k->f64.layer_norm_wgrad(b->xd, b->gd, b->pd, dbd, R, C, EPS, sd);
    k->f32.layer_norm_wgrad(b->xf, b->gf, b->pf, dbf, R, C, (float)EPS, sf);
    ck_assert(memcmp(b->od, b->pd, C * sizeof(double)) == 0);
    ck_assert(memcmp(b->of, b->pf, C * sizeof(float)) == 0);
    for (size_t j = 0; j < C; j++) {
        double sd64 = 0;
        float sf32 = 0;
        for (size_t r = 0; r < R; r++) {
            sd64 += b->gd[r * C + j];
            sf32 += b->gf[r * C + j];
        }
        ck_assert_msg(dbd[j] == sd64 && dbf[j] == sf32, "layer_norm_wgrad db C %zu at %zu", C, j);
    }
}

START_TEST(norm_rows)
{
    const bm_vec_kernels *k = path(_i), *p = bm_vec_portable_kernels();
    bufs *b = calloc(1, sizeof *b);
    double *wd = malloc(MAXN * sizeof *wd), *bd = malloc(MAXN * sizeof *bd);
    float *wf = malloc(MAXN * sizeof *wf), *bf = malloc(MAXN * sizeof *bf);
    ck_assert(b && wd && bd && wf && bf);
    for (size_t ci = 0; ci < sizeof WIDTHS / sizeof WIDTHS[0]; ci++) {
        size_t C = WIDTHS[ci], R = (MAXN / C) < 20 ? MAXN / C : 20, n = R * C;
        fill(b->xd, b->xf, n, 2, 0.5, ci);
        fill(b->gd, b->gf, n, 1, 0, ci + 30);
        fill(wd, wf, C, 1, 1, ci + 60);
        fill(bd, bf, C, 1, 0, ci + 90);
        for (int form = 0; form < 3; form++) { /* w and b, w only, neither */
            const double *w64 = form < 2 ? wd : NULL, *b64 = form == 0 ? bd : NULL;
            const float *w32 = form < 2 ? wf : NULL, *b32 = form == 0 ? bf : NULL;
            k->f64.layer_norm(b->xd, w64, b64, b->od, R, C, EPS, NULL);
            k->f32.layer_norm(b->xf, w32, b32, b->of, R, C, (float)EPS, NULL);
            p->f32.layer_norm(b->xf, w32, b32, b->pf, R, C, (float)EPS, NULL);
            for (size_t r = 0; r < R; r++) {
                double mean, rstd;
                ref_stats(b->xd + r * C, C, EPS, &mean, &rstd);
                for (size_t j = 0; j < C; j++) {
                    size_t i = r * C + j;
                    double want = (b->xd[i] - mean) * rstd * (w64 ? w64[j] : 1) + (b64 ? b64[j] : 0);
                    near("layer_norm", C, i, b->od[i], want, TOL64);
                    near("layer_norm", C, i, b->of[i], want, 20 * TOL32);
                }
            }
            ck_assert(memcmp(b->of, b->pf, n * sizeof(float)) == 0);
        }
        /* rms_norm: x/√(mean x² + eps)·w */
        k->f64.rms_norm(b->xd, wd, b->od, R, C, EPS);
        k->f32.rms_norm(b->xf, wf, b->of, R, C, (float)EPS);
        p->f32.rms_norm(b->xf, wf, b->pf, R, C, (float)EPS);
        for (size_t r = 0; r < R; r++) {
            double ms = 0;
            for (size_t j = 0; j < C; j++)
                ms += b->xd[r * C + j] * b->xd[r * C + j];
            for (size_t j = 0; j < C; j++) {
                size_t i = r * C + j;
                double want = b->xd[i] / sqrt(ms / (double)C + EPS) * wd[j];
                near("rms_norm", C, i, b->od[i], want, TOL64);
                near("rms_norm", C, i, b->of[i], want, TOL32);
            }
        }
        ck_assert(memcmp(b->of, b->pf, n * sizeof(float)) == 0);
        /* the input gradient r·(ĝ − mean ĝ − x̂·mean(ĝ·x̂)), ĝ = g·w */
        for (int with_w = 0; with_w < 2; with_w++) {
            k->f64.layer_norm_grad(b->xd, b->gd, with_w ? wd : NULL, b->od, R, C, EPS, 0, NULL);
            k->f32.layer_norm_grad(b->xf, b->gf, with_w ? wf : NULL, b->of, R, C, (float)EPS, 0, NULL);
            p->f32.layer_norm_grad(b->xf, b->gf, with_w ? wf : NULL, b->pf, R, C, (float)EPS, 0, NULL);
            for (size_t r = 0; r < R; r++) {
                const double *x = b->xd + r * C, *g = b->gd + r * C;
                double mean, rstd, m1 = 0, m2 = 0;
                ref_stats(x, C, EPS, &mean, &rstd);
                for (size_t j = 0; j < C; j++) {
                    double gh = g[j] * (with_w ? wd[j] : 1);
                    m1 += gh / (double)C;
                    m2 += gh * (x[j] - mean) * rstd / (double)C;
                }
                for (size_t j = 0; j < C; j++) {
                    double gh = g[j] * (with_w ? wd[j] : 1);
                    double want = rstd * (gh - m1 - (x[j] - mean) * rstd * m2);
                    near("layer_norm_grad", C, r * C + j, b->od[r * C + j], want, 1e-10);
                    near("layer_norm_grad", C, r * C + j, b->of[r * C + j], want, 1e-3);
                }
            }
            ck_assert(memcmp(b->of, b->pf, n * sizeof(float)) == 0);
            /* acc adds into what dx held: exactly old + the stored result */
            for (size_t i = 0; i < n; i++) {
                b->pd[i] = b->gd[n - 1 - i];
                b->pf[i] = b->gf[n - 1 - i];
            }
            k->f64.layer_norm_grad(b->xd, b->gd, with_w ? wd : NULL, b->pd, R, C, EPS, 1, NULL);
            k->f32.layer_norm_grad(b->xf, b->gf, with_w ? wf : NULL, b->pf, R, C, (float)EPS, 1, NULL);
            for (size_t i = 0; i < n; i++) {
                ck_assert_msg(b->pd[i] == b->gd[n - 1 - i] + b->od[i],
                              "layer_norm_grad acc C %zu at %zu", C, i);
                ck_assert_msg(b->pf[i] == b->gf[n - 1 - i] + b->of[i],
                              "layer_norm_grad acc f32 C %zu at %zu", C, i);
            }
        }
        /* the weight gradient Σ_rows g·x̂ */
        k->f64.layer_norm_wgrad(b->xd, b->gd, b->od, NULL, R, C, EPS, NULL);
        k->f32.layer_norm_wgrad(b->xf, b->gf, b->of, NULL, R, C, (float)EPS, NULL);
        p->f32.layer_norm_wgrad(b->xf, b->gf, b->pf, NULL, R, C, (float)EPS, NULL);
        for (size_t j = 0; j < C; j++) {
            double want = 0;
            for (size_t r = 0; r < R; r++) {
                double mean, rstd;
                ref_stats(b->xd + r * C, C, EPS, &mean, &rstd);
                want += b->gd[r * C + j] * (b->xd[r * C + j] - mean) * rstd;
            }
            near("layer_norm_wgrad", C, j, b->od[j], want, 1e-10);
            near("layer_norm_wgrad", C, j, b->of[j], want, 1e-3);
        }
        ck_assert(memcmp(b->of, b->pf, C * sizeof(float)) == 0);
        stats_rows(k, b, wd, wf, R, C);
    }
    free(wd);
    free(bd);
    free(wf);
    free(bf);
    free(b);
}
END_TEST

/* One type's fused layer_norm_backward against layer_norm_grad and
 * layer_norm_wgrad (bit for bit: dx stored and added, dw, db or none, the
 * statistics kept or recomputed), and against the portable path's. */
#define FUSED_CASE(TY, FLD, K, P, X, G, W, ST, OUT, REF, SUMS)                                     \
    do {                                                                                           \
        TY *dw = SUMS, *db = SUMS + 2 * C, *pw = SUMS + 4 * C;                                     \
        for (int acc = 0; acc < 2; acc++)                                                          \
            for (int bias = 0; bias < 2; bias++)                                                   \
                for (int kept = 0; kept < 2; kept++) {                                             \
                    const TY *st = kept ? ST : NULL;                                               \
                    for (size_t i = 0; i < n; i++)                                                 \
                        OUT[i] = REF[i] = G[n - 1 - i];                                            \
                    K->FLD.layer_norm_backward(X, G, W, OUT, dw, bias ? db : NULL, R, C,           \
                                                  (TY)EPS, acc, st);                               \
                    K->FLD.layer_norm_grad(X, G, W, REF, R, C, (TY)EPS, acc, st);                  \
                    ck_assert_msg(memcmp(OUT, REF, n * sizeof(TY)) == 0,                           \
                                  "layer_norm_backward dx C %zu acc %d", C, acc);                  \
                    K->FLD.layer_norm_wgrad(X, G, pw, bias ? pw + C : NULL, R, C, (TY)EPS,         \
                                               st);                                                \
                    ck_assert_msg(memcmp(dw, pw, C * sizeof(TY)) == 0 &&                           \
                                      (!bias || memcmp(db, pw + C, C * sizeof(TY)) == 0),          \
                                  "layer_norm_backward dw/db C %zu bias %d", C, bias);             \
                    for (size_t i = 0; i < n; i++)                                                 \
                        REF[i] = G[n - 1 - i];                                                     \
                    P->FLD.layer_norm_backward(X, G, W, REF, pw, bias ? pw + C : NULL, R, C,       \
                                               (TY)EPS, acc, st);                                  \
                    ck_assert_msg(memcmp(OUT, REF, n * sizeof(TY)) == 0 &&                         \
                                      memcmp(dw, pw, C * sizeof(TY)) == 0,                         \
                                  "layer_norm_backward vs portable C %zu", C);                     \
                }                                                                                  \
    } while (0)

/* layer_norm's one-pass backward (dx with dw and db) gives the separate
 * kernels' bits, and the portable path's. */
START_TEST(norm_backward_fused)
{
    enum { ROWS_MAX = 64 };
    const bm_vec_kernels *k = path(_i), *p = bm_vec_portable_kernels();
    bufs *b = calloc(1, sizeof *b);
    double *wd = malloc(MAXN * sizeof *wd), *sumd = malloc(6 * MAXN * sizeof *sumd);
    float *wf = malloc(MAXN * sizeof *wf), *sumf = malloc(6 * MAXN * sizeof *sumf);
    double stdd[2 * ROWS_MAX];
    float stf[2 * ROWS_MAX];
    ck_assert(b && wd && sumd && wf && sumf);
    for (size_t ci = 0; ci < sizeof WIDTHS / sizeof WIDTHS[0]; ci++) {
        size_t C = WIDTHS[ci], R = (MAXN / C) < 20 ? MAXN / C : 20, n = R * C;
        fill(b->xd, b->xf, n, 2, 0.5, ci);
        fill(b->gd, b->gf, n, 1, 0, ci + 30);
        fill(wd, wf, C, 1, 1, ci + 60);
        ck_assert(R <= ROWS_MAX);
        k->f64.layer_norm(b->xd, wd, NULL, b->yd, R, C, EPS, stdd);
        k->f32.layer_norm(b->xf, wf, NULL, b->yf, R, C, (float)EPS, stf);
        FUSED_CASE(double, f64, k, p, b->xd, b->gd, wd, stdd, b->od, b->pd, sumd);
        FUSED_CASE(float, f32, k, p, b->xf, b->gf, wf, stf, b->of, b->pf, sumf);
    }
    free(wd);
    free(sumd);
    free(wf);
    free(sumf);
    free(b);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("vec_nn");
    for (int i = 0; i < N_PATHS; i++) {
        int isa = (int)paths[i].isa;
        if (!bm_vec_isa_available(paths[i].isa))
            continue; /* not run here: its own meson test reports a skip */
        TCase *p = paths[i].needs ? bm_test_case_needing(paths[i].name) : tcase_create(paths[i].name);
        tcase_set_timeout(p, 300);
        tcase_add_loop_test(p, map_kernels, isa, isa + 1);
        tcase_add_loop_test(p, max_min, isa, isa + 1);
        tcase_add_loop_test(p, gelu_grad_kernel, isa, isa + 1);
        tcase_add_loop_test(p, norm_rows, isa, isa + 1);
        tcase_add_loop_test(p, norm_backward_fused, isa, isa + 1);
        suite_add_tcase(s, p);
    }
    return s;
}

int main(void) { return bm_vec_test_main(make_suite); }
