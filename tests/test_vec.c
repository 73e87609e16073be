/* test_vec.c — the elementwise kernels of every path (vec_internal.h) and
 * the vectorised float exp/log/tanh (vmath_internal.h).
 *   vmath: bm_expf and bm_logf within 2 ulp of libm over a dense sweep of
 *     every float bit pattern (a prime stride, plus every float in the
 *     intervals where the methods change: around 0, 1, the overflow and
 *     underflow thresholds, the subnormals), exact at the special values;
 *     bm_tanhf and bm_erff within 2 ulp likewise.
 *   portable / avx2 / avx512: each kernel of the path (attention's masked
 *     row softmax too) against a naive
 *     double reference on odd sizes, F32 and F64; a path other than
 *     portable must also give the portable path's results bit for bit.
 * A path is forced with bm_vec_isa_kernels (the test-only form);
 * test_vec_nn.c checks the elementwise.c and normalize.c kernels alike. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test_vec_util.h"
#include "vmath_internal.h"

enum {
    SWEEP_STRIDE = 509,     /* bit patterns between sweep points (a prime) */
    DENSE_SPAN = 1 << 16,   /* every float this many patterns either side of a landmark */
    MAX_ULP = 2,            /* the accuracy bound of exp, log, tanh */
};

/* Float bit patterns in an order where adjacent floats are 1 apart (−0 = +0). */
static int64_t ordered(float x)
{
    int32_t i;
    memcpy(&i, &x, sizeof i);
    return i < 0 ? -(int64_t)(i & INT32_MAX) : (int64_t)i;
}

static float from_bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

typedef float (*f1)(float);

/* Distance in ulps of got from the libm value want, NaN-aware (a NaN where libm
 * has none, or the other way, counts as a huge distance). */
static int64_t ulp_dist(float got, float want)
{
    if (isnan(got) || isnan(want))
        return isnan(got) && isnan(want) ? 0 : INT64_MAX;
    int64_t d = ordered(got) - ordered(want);
    return d < 0 ? -d : d;
}

/* Checks f against ref at bit patterns lo, lo + step, ..., up to hi (one
 * assertion for the whole sweep: the worst point). */
static void sweep(const char *what, f1 f, f1 ref, uint64_t lo, uint64_t hi, uint64_t step)
{
    int64_t worst = -1;
    float at = 0;
    for (uint64_t b = lo; b <= hi; b += step) {
        float x = from_bits((uint32_t)b);
        int64_t d = ulp_dist(f(x), ref(x));
        if (d > worst) {
            worst = d;
            at = x;
        }
    }
    ck_assert_msg(worst >= 0 && worst <= MAX_ULP, "%s(%a) = %a, libm %a: %lld ulp", what,
                  (double)at, (double)f(at), (double)ref(at), (long long)worst);
}

/* Every float within DENSE_SPAN patterns of x (either sign). */
static void dense_around(const char *what, f1 f, f1 ref, float x)
{
    int32_t i;
    memcpy(&i, &x, sizeof i);
    uint64_t u = (uint32_t)i, lo = u > DENSE_SPAN ? u - DENSE_SPAN : 0;
    uint64_t hi = u + DENSE_SPAN > UINT32_MAX ? UINT32_MAX : u + DENSE_SPAN;
    sweep(what, f, ref, lo, hi, 1);
}

static float libm_exp(float x) { return expf(x); }
static float libm_log(float x) { return logf(x); }
static float libm_tanh(float x) { return tanhf(x); }
static float libm_erf(float x) { return erff(x); }
static float v_exp(float x) { return bm_expf(x); }
static float v_log(float x) { return bm_logf(x); }
static float v_tanh(float x) { return bm_tanhf(x); }
static float v_erf(float x) { return bm_erff(x); }

START_TEST(vmath_sweep)
{
    sweep("exp", v_exp, libm_exp, 0, UINT32_MAX, SWEEP_STRIDE);
    sweep("log", v_log, libm_log, 0, UINT32_MAX, SWEEP_STRIDE);
    sweep("tanh", v_tanh, libm_tanh, 0, UINT32_MAX, SWEEP_STRIDE);
    sweep("erf", v_erf, libm_erf, 0, UINT32_MAX, SWEEP_STRIDE);
    /* where the methods change or the results leave the normal range */
    const float exp_marks[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.34657359f, 88.7228394f,
                               -87.3365479f, -103.972084f, -103.278931f};
    for (size_t i = 0; i < sizeof exp_marks / sizeof exp_marks[0]; i++)
        dense_around("exp", v_exp, libm_exp, exp_marks[i]);
    const float log_marks[] = {1.0f, 0.70710678f, 1.41421356f, 1.17549435e-38f, 1.4e-45f,
                               3.40282347e38f, 2.0f, 0.5f};
    for (size_t i = 0; i < sizeof log_marks / sizeof log_marks[0]; i++)
        dense_around("log", v_log, libm_log, log_marks[i]);
    const float tanh_marks[] = {0.0f, BM_VM_TANH_SMALL, -BM_VM_TANH_SMALL, 9.0f, 1e-20f};
    for (size_t i = 0; i < sizeof tanh_marks / sizeof tanh_marks[0]; i++)
        dense_around("tanh", v_tanh, libm_tanh, tanh_marks[i]);
    /* erf: its split, where it rounds to 1, near 0 and the subnormals */
    const float erf_marks[] = {0.0f, BM_VM_ERF_SPLIT, -BM_VM_ERF_SPLIT, 3.92f, -3.92f, 1e-20f, 0.5f};
    for (size_t i = 0; i < sizeof erf_marks / sizeof erf_marks[0]; i++)
        dense_around("erf", v_erf, libm_erf, erf_marks[i]);
}
END_TEST

START_TEST(vmath_special)
{
    const float inf = (float)INFINITY;
    ck_assert(bm_expf(0.0f) == 1.0f && bm_expf(-0.0f) == 1.0f);
    ck_assert(bm_expf(-inf) == 0.0f && bm_expf(inf) == inf);
    ck_assert(bm_expf(89.0f) == inf && bm_expf(-104.0f) == 0.0f);
    ck_assert(isnan(bm_expf(NAN)));
    ck_assert(bm_logf(1.0f) == 0.0f && bm_logf(inf) == inf);
    ck_assert(bm_logf(0.0f) == -inf && bm_logf(-0.0f) == -inf);
    ck_assert(isnan(bm_logf(-1.0f)) && isnan(bm_logf(-inf)) && isnan(bm_logf(NAN)));
    ck_assert(bm_tanhf(0.0f) == 0.0f && signbit(bm_tanhf(-0.0f)));
    ck_assert(bm_tanhf(inf) == 1.0f && bm_tanhf(-inf) == -1.0f && isnan(bm_tanhf(NAN)));
    ck_assert(bm_erff(0.0f) == 0.0f && signbit(bm_erff(-0.0f)));
    ck_assert(bm_erff(inf) == 1.0f && bm_erff(-inf) == -1.0f && isnan(bm_erff(NAN)));
    ck_assert(bm_erff(4.0f) == 1.0f && bm_erff(-10.0f) == -1.0f);
}
END_TEST

/* ---- the kernels of each path ---- */


typedef void (*un32)(const float *restrict, float *restrict, size_t, float);
typedef void (*un64)(const double *restrict, double *restrict, size_t, double);

/* A unary kernel, its parameter, its input range and its reference. */
typedef struct unary_case {
    const char *name;
    size_t off32, off64; /* offsets of its pointers in bm_vec_f32 / bm_vec_f64 */
    double a, scale, shift;
    double (*ref)(double x, double a);
} unary_case;

static double r_neg(double x, double a) { (void)a; return -x; }
static double r_scale(double x, double a) { return a * x; }
static double r_add(double x, double a) { return x + a; }
static double r_exp(double x, double a) { (void)a; return exp(x); }
static double r_log(double x, double a) { (void)a; return log(x); }
static double r_pow(double x, double a) { return pow(x, a); }
static double r_sqrt(double x, double a) { (void)a; return sqrt(x); }
static double r_abs(double x, double a) { (void)a; return fabs(x); }
static double r_relu(double x, double a) { (void)a; return x > 0 ? x : 0; }
static double r_sigmoid(double x, double a) { (void)a; return 1 / (1 + exp(-x)); }
static double r_tanh(double x, double a) { (void)a; return tanh(x); }
static double r_sign(double x, double a) { (void)a; return (x > 0) - (x < 0); }

#define UCASE(NAME, A, SCALE, SHIFT, REF)                                                      \
    {.name = #NAME, .off32 = offsetof(bm_vec_f32, NAME), .off64 = offsetof(bm_vec_f64, NAME), \
     .a = (A), .scale = (SCALE), .shift = (SHIFT), .ref = (REF)}

static const unary_case UNARY[] = {
    UCASE(neg, 0, 1, 0, r_neg),          UCASE(scale, 0.7, 1, 0, r_scale),
    UCASE(add_scalar, -1.3, 1, 0, r_add), UCASE(exp, 0, 30, 0, r_exp),
    UCASE(log, 0, 50, 51, r_log),        UCASE(pow, 1.7, 2, 2.5, r_pow),
    UCASE(sqrt, 0, 5, 5.5, r_sqrt),      UCASE(abs, 0, 1, 0, r_abs),
    UCASE(relu, 0, 1, 0, r_relu),        UCASE(sigmoid, 0, 20, 0, r_sigmoid),
    UCASE(tanh, 0, 4, 0, r_tanh),        UCASE(sign, 0, 1, 0, r_sign),
};
enum { N_UNARY = sizeof UNARY / sizeof UNARY[0] };


START_TEST(unary_kernels)
{
    const bm_vec_kernels *k = path(_i), *p = bm_vec_portable_kernels();
    bufs *b = calloc(1, sizeof *b);
    ck_assert(b);
    for (size_t c = 0; c < N_UNARY; c++) {
        const unary_case *u = &UNARY[c];
        un32 f32, p32;
        un64 f64, p64;
        kernel_at(&f32, sizeof f32, &k->f32, u->off32);
        kernel_at(&p32, sizeof p32, &p->f32, u->off32);
        kernel_at(&f64, sizeof f64, &k->f64, u->off64);
        kernel_at(&p64, sizeof p64, &p->f64, u->off64);
        for (size_t s = 0; s < N_SIZES; s++) {
            size_t n = SIZES[s];
            fill(b->xd, b->xf, n, u->scale, u->shift, c * 100 + s);
            f32(b->xf, b->of, n, (float)u->a);
            p32(b->xf, b->pf, n, (float)u->a);
            f64(b->xd, b->od, n, u->a);
            p64(b->xd, b->pd, n, u->a);
            for (size_t i = 0; i < n; i++) {
                double want32 = u->ref((double)b->xf[i], (double)(float)u->a);
                near(u->name, n, i, b->of[i], want32, TOL32);
                near(u->name, n, i, b->od[i], u->ref(b->xd[i], u->a), TOL64);
            }
            same_as_portable(u->name, n, k->name, b);
        }
    }
    free(b);
}
END_TEST

START_TEST(clamp_gate)
{
    const bm_vec_kernels *k = path(_i), *p = bm_vec_portable_kernels();
    bufs *b = calloc(1, sizeof *b);
    ck_assert(b);
    const double lo = -0.4, hi = 0.3;
    for (size_t s = 0; s < N_SIZES; s++) {
        size_t n = SIZES[s];
        fill(b->xd, b->xf, n, 1, 0, s);
        fill(b->gd, b->gf, n, 2, 0, s + 50);
        b->xf[0] = (float)lo; /* a value on the closed range's edge */
        b->xd[0] = b->xf[0];
        k->f32.clamp(b->xf, b->of, n, (float)lo, (float)hi);
        k->f64.clamp(b->xd, b->od, n, lo, hi);
        for (size_t i = 0; i < n; i++) {
            double v = b->xd[i], w = v < lo ? lo : v > hi ? hi : v;
            ck_assert(b->od[i] == w);
            ck_assert(b->of[i] == (float)(b->xf[i] < (float)lo ? (float)lo : b->xf[i] > (float)hi ? (float)hi : b->xf[i]));
        }
        for (int kind = 0; kind < 3; kind++) {
            const int open = kind < 2;
            const double h = kind == 0 ? INFINITY : hi, l = kind == 0 ? 0.0 : lo;
            k->f32.gate(b->xf, b->gf, b->of, n, (float)l, (float)h, open);
            p->f32.gate(b->xf, b->gf, b->pf, n, (float)l, (float)h, open);
            k->f64.gate(b->xd, b->gd, b->od, n, l, h, open);
            for (size_t i = 0; i < n; i++) {
                double v = b->xd[i];
                int in = open ? (v > l && v < h) : (v >= l && v <= h);
                ck_assert_msg(b->od[i] == (in ? b->gd[i] : 0.0), "gate kind %d n=%zu [%zu]", kind, n, i);
                float vf = b->xf[i], lf = (float)l, hf = (float)h;
                int inf = open ? (vf > lf && vf < hf) : (vf >= lf && vf <= hf);
                ck_assert(b->of[i] == (inf ? b->gf[i] : 0.0f));
            }
            ck_assert(memcmp(b->of, b->pf, n * sizeof(float)) == 0);
        }
    }
    free(b);
}
END_TEST

typedef void (*bin32)(const float *, const float *, float *, const bm_binary_shape *);
typedef void (*bin64)(const double *, const double *, double *, const bm_binary_shape *);

static double apply_op(int op, double x, double y)
{
    return op == 0 ? x + y : op == 1 ? x - y : op == 2 ? x * y : x / y;
}

/* Shapes [R,N] of out for the binary layouts (the operand rows are [N]). */
static const size_t ROWS[] = {1, 3, 7, 20};
static const size_t COLS[] = {1, 3, 8, 17, 33, 50};

START_TEST(binary_layouts)
{
    const bm_vec_kernels *k = path(_i), *p = bm_vec_portable_kernels();
    bufs *b = calloc(1, sizeof *b);
    ck_assert(b);
    const bin32 f32[] = {k->f32.add, k->f32.sub, k->f32.mul, k->f32.div};
    const bin32 p32[] = {p->f32.add, p->f32.sub, p->f32.mul, p->f32.div};
    const bin64 f64[] = {k->f64.add, k->f64.sub, k->f64.mul, k->f64.div};
    for (size_t ri = 0; ri < sizeof ROWS / sizeof ROWS[0]; ri++)
        for (size_t ci = 0; ci < sizeof COLS / sizeof COLS[0]; ci++) {
            size_t R = ROWS[ri], N = COLS[ci], n = R * N;
            fill(b->xd, b->xf, n, 1, 0, ri * 10 + ci);
            fill(b->gd, b->gf, n, 1, 2, ri * 10 + ci + 7); /* away from 0: divisors */
            for (int layout = BM_BIN_SAME; layout <= BM_BIN_GENERIC; layout++) {
                bm_binary_shape s = {.layout = layout, .size = n, .N = N};
                /* generic: a [R,1] (a column) against b [1,N] */
                s.bc.shape[0] = s.bc.shape[1] = 1;
                s.bc.shape[2] = R;
                s.bc.shape[3] = N;
                s.bc.sa[2] = 1;
                s.bc.sb[3] = 1;
                for (int op = 0; op < 4; op++) {
                    f32[op](b->xf, b->gf, b->of, &s);
                    p32[op](b->xf, b->gf, b->pf, &s);
                    f64[op](b->xd, b->gd, b->od, &s);
                    for (size_t i = 0; i < n; i++) {
                        size_t r = i / N, j = i % N;
                        size_t ia = layout == BM_BIN_ROW_A ? j : layout == BM_BIN_GENERIC ? r : i;
                        size_t ib = layout == BM_BIN_ROW_B || layout == BM_BIN_GENERIC ? j : i;
                        near("binary", n, i, b->od[i], apply_op(op, b->xd[ia], b->gd[ib]), TOL64);
                        ck_assert(b->of[i] == (float)apply_op(op, b->xf[ia], b->gf[ib]));
                    }
                    ck_assert_msg(memcmp(b->of, b->pf, n * sizeof(float)) == 0,
                                  "binary op %d layout %d [%zu,%zu]: %s differs", op, layout, R,
                                  N, k->name);
                }
            }
        }
    free(b);
}
END_TEST

START_TEST(bias_and_sums)
{
    const bm_vec_kernels *k = path(_i), *p = bm_vec_portable_kernels();
    bufs *b = calloc(1, sizeof *b);
    ck_assert(b);
    for (size_t ri = 0; ri < sizeof ROWS / sizeof ROWS[0]; ri++)
        for (size_t ci = 0; ci < sizeof COLS / sizeof COLS[0]; ci++) {
            size_t M = ROWS[ri], N = COLS[ci], n = M * N;
            fill(b->xd, b->xf, n, 1, 0, ri + 3 * ci);
            fill(b->gd, b->gf, N, 1, 0, ri + 3 * ci + 99);
            /* bias: o += b per row */
            memcpy(b->of, b->xf, n * sizeof(float));
            memcpy(b->pf, b->xf, n * sizeof(float));
            memcpy(b->od, b->xd, n * sizeof(double));
            k->f32.add_rows(b->of, b->gf, M, N);
            p->f32.add_rows(b->pf, b->gf, M, N);
            k->f64.add_rows(b->od, b->gd, M, N);
            for (size_t i = 0; i < n; i++) {
                ck_assert(b->od[i] == b->xd[i] + b->gd[i % N]);
                ck_assert(b->of[i] == b->xf[i] + b->gf[i % N]);
            }
            ck_assert(memcmp(b->of, b->pf, n * sizeof(float)) == 0);
            /* column sums: s[j] += Σ_r x[r,j] (serial per column: exact order) */
            for (size_t j = 0; j < N; j++) {
                b->yf[j] = b->pf[j] = 0.5f;
                b->yd[j] = 0.5;
            }
            k->f32.col_sums(b->yf, b->xf, M, N);
            p->f32.col_sums(b->pf, b->xf, M, N);
            k->f64.col_sums(b->yd, b->xd, M, N);
            for (size_t j = 0; j < N; j++) {
                double sd = 0.5;
                float sf = 0.5f;
                for (size_t r = 0; r < M; r++) {
                    sd += b->xd[r * N + j];
                    sf += b->xf[r * N + j];
                }
                ck_assert(b->yd[j] == sd && b->yf[j] == sf);
            }
            ck_assert(memcmp(b->yf, b->pf, N * sizeof(float)) == 0);
            /* sum_to over the last axis: [M,N] -> [M,1] (lane sums) */
            const size_t sh[BM_MAX_RANK] = {1, 1, M, N}, st[BM_MAX_RANK] = {0, 0, 1, 0};
            memset(b->of, 0, M * sizeof(float));
            memset(b->pf, 0, M * sizeof(float));
            memset(b->od, 0, M * sizeof(double));
            k->f32.sum_to(b->xf, b->of, sh, st);
            p->f32.sum_to(b->xf, b->pf, sh, st);
            k->f64.sum_to(b->xd, b->od, sh, st);
            for (size_t r = 0; r < M; r++) {
                double sd = 0;
                for (size_t j = 0; j < N; j++)
                    sd += b->xd[r * N + j];
                near("sum_to", n, r, b->od[r], sd, TOL64);
                near("sum_to", n, r, b->of[r], sd, TOL32);
            }
            ck_assert(memcmp(b->of, b->pf, M * sizeof(float)) == 0);
            /* reduce (sum, mean): [M,N] over its rows (inner N) and over its last axis (inner 1) */
            k->f64.reduce(b->xd, b->od, 1, M, N, 0.5);
            k->f32.reduce(b->xf, b->of, 1, M, N, 0.5);
            p->f32.reduce(b->xf, b->pf, 1, M, N, 0.5);
            for (size_t j = 0; j < N; j++) {
                double sd = 0;
                for (size_t r = 0; r < M; r++)
                    sd += b->xd[r * N + j];
                near("reduce rows", n, j, b->od[j], 0.5 * sd, TOL64);
                near("reduce rows", n, j, b->of[j], 0.5 * sd, TOL32);
            }
            ck_assert(memcmp(b->of, b->pf, N * sizeof(float)) == 0);
            k->f64.reduce(b->xd, b->od, M, N, 1, 1.0);
            k->f32.reduce(b->xf, b->of, M, N, 1, 1.0);
            p->f32.reduce(b->xf, b->pf, M, N, 1, 1.0);
            for (size_t r = 0; r < M; r++) {
                double sd = 0;
                for (size_t j = 0; j < N; j++)
                    sd += b->xd[r * N + j];
                near("reduce last", n, r, b->od[r], sd, TOL64);
                near("reduce last", n, r, b->of[r], sd, TOL32);
            }
            ck_assert(memcmp(b->of, b->pf, M * sizeof(float)) == 0);
            /* expand [1,N] -> [M,N] */
            const size_t se[BM_MAX_RANK] = {0, 0, 0, 1};
            k->f64.expand(b->gd, b->od, sh, se);
            k->f32.expand(b->gf, b->of, sh, se);
            for (size_t i = 0; i < n; i++)
                ck_assert(b->od[i] == b->gd[i % N] && b->of[i] == b->gf[i % N]);
        }
    free(b);
}
END_TEST

/* Reference softmax of one row in double; returns log Σ exp(x − max) + max. */
static double ref_softmax(const double *x, double *y, size_t C)
{
    double m = x[0], s = 0;
    for (size_t j = 1; j < C; j++)
        m = x[j] > m ? x[j] : m;
    for (size_t j = 0; j < C; j++)
        s += exp(x[j] - m);
    for (size_t j = 0; j < C; j++)
        y[j] = exp(x[j] - m) / s;
    return m + log(s);
}

/* Row widths of the softmax tests: 3 classes (W1), odd, and past the block. */
static const size_t CLASSES[] = {1, 3, 10, 17, 33, 600};

START_TEST(softmax_rows)
{
    const bm_vec_kernels *k = path(_i), *p = bm_vec_portable_kernels();
    bufs *b = calloc(1, sizeof *b);
    double *ref = malloc(MAXN * sizeof *ref);
    ck_assert(b && ref);
    for (size_t ci = 0; ci < sizeof CLASSES / sizeof CLASSES[0]; ci++) {
        size_t C = CLASSES[ci], R = MAXN / C, n = R * C;
        fill(b->xd, b->xf, n, 8, 0, ci);
        fill(b->gd, b->gf, n, 1, 0, ci + 40);
        for (int want_log = 0; want_log < 2; want_log++) {
            k->f32.softmax(b->xf, b->of, R, C, want_log);
            p->f32.softmax(b->xf, b->pf, R, C, want_log);
            k->f64.softmax(b->xd, b->od, R, C, want_log);
            for (size_t r = 0; r < R; r++) {
                double lse = ref_softmax(b->xd + r * C, ref + r * C, C);
                for (size_t j = 0; j < C; j++) {
                    size_t i = r * C + j;
                    double want = want_log ? b->xd[i] - lse : ref[i];
                    near("softmax", C, i, b->od[i], want, TOL64);
                    near("softmax", C, i, b->of[i], want, TOL32);
                }
            }
            ck_assert_msg(memcmp(b->of, b->pf, n * sizeof(float)) == 0,
                          "softmax C=%zu log=%d: %s differs", C, want_log, k->name);
        }
        /* the Jacobian-vector product: o = s ⊙ (g − Σ g·s) */
        k->f64.softmax(b->xd, b->yd, R, C, 0);
        k->f32.softmax(b->xf, b->yf, R, C, 0);
        k->f64.softmax_grad(b->yd, b->gd, b->od, R, C);
        k->f32.softmax_grad(b->yf, b->gf, b->of, R, C);
        p->f32.softmax_grad(b->yf, b->gf, b->pf, R, C);
        for (size_t r = 0; r < R; r++) {
            double dot = 0;
            for (size_t j = 0; j < C; j++)
                dot += b->gd[r * C + j] * b->yd[r * C + j];
            for (size_t j = 0; j < C; j++) {
                size_t i = r * C + j;
                near("softmax_grad", C, i, b->od[i], b->yd[i] * (b->gd[i] - dot), TOL64);
                near("softmax_grad", C, i, b->of[i], b->yd[i] * (b->gd[i] - dot), TOL32);
            }
        }
        ck_assert(memcmp(b->of, b->pf, n * sizeof(float)) == 0);
    }
    free(ref);
    free(b);
}
END_TEST

/* attention's in-place row softmax, causal (row i keeps its first r0 + i + 1) or not */
START_TEST(masked_rows)
{
    const bm_vec_kernels *k = path(_i), *p = bm_vec_portable_kernels();
    bufs *b = calloc(1, sizeof *b);
    double *ref = malloc(MAXN * sizeof *ref);
    ck_assert(b && ref);
    const size_t widths[] = {1, 5, 17, 40};
    for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++)
        for (int causal = 0; causal < 2; causal++) {
            size_t S = widths[wi], rows = MAXN / S < 25 ? MAXN / S : 25, r0 = S > 3 ? 2 : 0;
            size_t n = rows * S;
            fill(b->xd, b->xf, n, 5, 0, wi * 2 + (size_t)causal);
            memcpy(b->od, b->xd, n * sizeof(double));
            memcpy(b->of, b->xf, n * sizeof(float));
            memcpy(b->pf, b->xf, n * sizeof(float));
            k->f64.masked_softmax(b->od, r0, rows, S, causal);
            k->f32.masked_softmax(b->of, r0, rows, S, causal);
            p->f32.masked_softmax(b->pf, r0, rows, S, causal);
            for (size_t r = 0; r < rows; r++) {
                size_t lim = causal && r0 + r + 1 < S ? r0 + r + 1 : S;
                ref_softmax(b->xd + r * S, ref, lim);
                for (size_t j = 0; j < S; j++) {
                    double want = j < lim ? ref[j] : 0.0;
                    near("masked_softmax", S, r * S + j, b->od[r * S + j], want, TOL64);
                    near("masked_softmax", S, r * S + j, b->of[r * S + j], want, TOL32);
                }
            }
            ck_assert(memcmp(b->of, b->pf, n * sizeof(float)) == 0);
        }
    free(ref);
    free(b);
}
END_TEST

START_TEST(class_losses)
{
    const bm_vec_kernels *k = path(_i), *p = bm_vec_portable_kernels();
    bufs *b = calloc(1, sizeof *b);
    double *ref = malloc(MAXN * sizeof *ref);
    ck_assert(b && ref);
    for (size_t ci = 0; ci < sizeof CLASSES / sizeof CLASSES[0]; ci++) {
        size_t C = CLASSES[ci], N = MAXN / C;
        size_t n = N * C;
        fill(b->xd, b->xf, n, 6, 0, ci + 7);
        double labels_d[MAXN];
        float labels_f[MAXN];
        for (size_t r = 0; r < N; r++)
            labels_d[r] = labels_f[r] = (float)((r * 7 + 1) % C);
        double want = 0;
        for (size_t r = 0; r < N; r++)
            want += ref_softmax(b->xd + r * C, ref + r * C, C) - b->xd[r * C + (size_t)labels_d[r]];
        want /= (double)N;
        float lf, lp;
        double ld;
        ck_assert(k->f32.softmax_cce(b->xf, labels_f, b->of, N, C, 1, &lf) == N);
        ck_assert(p->f32.softmax_cce(b->xf, labels_f, b->pf, N, C, 1, &lp) == N);
        ck_assert(k->f64.softmax_cce(b->xd, labels_d, b->od, N, C, 1, &ld) == N);
        near("softmax_cce", C, 0, ld, want, TOL64);
        near("softmax_cce", C, 0, lf, want, TOL32);
        ck_assert(lf == lp && memcmp(b->of, b->pf, n * sizeof(float)) == 0);
        for (size_t i = 0; i < n; i++) {
            near("softmax_cce s", C, i, b->od[i], ref[i], TOL64);
            near("softmax_cce s", C, i, b->of[i], ref[i], TOL32);
        }
        /* the gradient, from the kept softmax and recomputed (S NULL) */
        const double g = 1.5;
        for (int kept = 0; kept < 2; kept++) {
            ck_assert(k->f64.cce_grad(b->xd, labels_d, g, kept ? b->od : NULL, b->yd, N, C, 1) == N);
            ck_assert(k->f32.cce_grad(b->xf, labels_f, (float)g, kept ? b->of : NULL, b->yf, N, C, 1) == N);
            ck_assert(p->f32.cce_grad(b->xf, labels_f, (float)g, kept ? b->of : NULL, b->gf, N, C, 1) == N);
            for (size_t i = 0; i < n; i++) {
                double w = g / (double)N * (ref[i] - (i % C == (size_t)labels_d[i / C]));
                near("cce_grad", C, i, b->yd[i], w, TOL64);
                near("cce_grad", C, i, b->yf[i], w, TOL32);
            }
            ck_assert(memcmp(b->yf, b->gf, n * sizeof(float)) == 0);
        }
        /* one-hot targets give the same loss; a bad label stops at its row */
        memset(b->gd, 0, n * sizeof(double));
        for (size_t r = 0; r < N; r++)
            b->gd[r * C + (size_t)labels_d[r]] = 1;
        ck_assert(k->f64.softmax_cce(b->xd, b->gd, b->od, N, C, 0, &ld) == N);
        near("softmax_cce one-hot", C, 0, ld, want, TOL64);
        ck_assert(k->f64.cce_grad(b->xd, b->gd, g, b->od, b->yd, N, C, 0) == N);
        for (size_t i = 0; i < n; i++)
            near("cce_grad one-hot", C, i, b->yd[i],
                 g / (double)N * (ref[i] - (i % C == (size_t)labels_d[i / C])), TOL64);
        if (N > 1) {
            labels_f[N - 1] = (float)C;
            ck_assert(k->f32.softmax_cce(b->xf, labels_f, b->of, N, C, 1, &lf) == N - 1);
            ck_assert(k->f32.cce_grad(b->xf, labels_f, 1.0f, b->of, b->yf, N, C, 1) == N - 1);
        }
    }
    free(ref);
    free(b);
}
END_TEST


START_TEST(dispatch)
{
    ck_assert(bm_vec() != NULL && bm_vec_isa_kernels(BM_VEC_AUTO) == bm_vec());
    ck_assert(bm_vec_isa_kernels(BM_VEC_PORTABLE) == bm_vec_portable_kernels());
    ck_assert(bm_vec_isa_kernels(BM_VEC_ISA_COUNT) == NULL);
    ck_assert(bm_vec_isa_available(bm_vec_isa_best()));
    for (int i = 0; i < N_PATHS; i++)
        if (!bm_vec_isa_available(paths[i].isa))
            ck_assert(bm_vec_isa_kernels(paths[i].isa) == NULL);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("vec");
    TCase *tc = tcase_create("vmath");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, vmath_sweep);
    tcase_add_test(tc, vmath_special);
    tcase_add_test(tc, dispatch);
    suite_add_tcase(s, tc);
    for (int i = 0; i < N_PATHS; i++) {
        int isa = (int)paths[i].isa;
        if (!bm_vec_isa_available(paths[i].isa))
            continue; /* not run here: its own meson test reports a skip */
        TCase *p = paths[i].needs ? bm_test_case_needing(paths[i].name) : tcase_create(paths[i].name);
        tcase_set_timeout(p, 300);
        tcase_add_loop_test(p, unary_kernels, isa, isa + 1);
        tcase_add_loop_test(p, clamp_gate, isa, isa + 1);
        tcase_add_loop_test(p, binary_layouts, isa, isa + 1);
        tcase_add_loop_test(p, bias_and_sums, isa, isa + 1);
        tcase_add_loop_test(p, softmax_rows, isa, isa + 1);
        tcase_add_loop_test(p, class_losses, isa, isa + 1);
        tcase_add_loop_test(p, masked_rows, isa, isa + 1);
        suite_add_tcase(s, p);
    }
    return s;
}

int main(void) { return bm_vec_test_main(make_suite); }
