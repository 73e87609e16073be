/* test_vec_stat.c — the batch_norm.c, reduce_axis.c and prod.c kernels of
 * every path (vec_internal.h) against a naive double reference on odd
 * shapes, F32 and F64, and bit-identical to the portable path (the
 * avx2/avx512 cases skip with 77 where the CPU lacks them). */
#include "test_vec_util.h"

enum { BIG = 4096 }; /* the largest tensor of these tests */

/* Inputs, outputs of the path under test (o), of the portable path (p),
 * and the reference (r), for both types; m/a: masks and indices. */
typedef struct sbufs {
    double xd[BIG], od[BIG], pd[BIG], md[BIG], mpd[BIG], ad[BIG], apd[BIG], r[BIG];
    float xf[BIG], of[BIG], pf[BIG], mf[BIG], mpf[BIG], af[BIG], apf[BIG];
    double s1[BIG], s2[BIG], s3[BIG], s4[BIG]; /* double outputs (statistics) */
} sbufs;

/* [outer, len, inner] around the reduced axis. */
typedef struct span3 {
    size_t outer, len, inner;
} span3;

/* Last axis (inner 1) below, at and past the 16 lanes and the 256-element
 * block; non-last axes with inner below, at and past a vector and the
 * 256-column block. */
static const span3 SPANS[] = {
    {1, 1, 1},  {3, 2, 1},  {2, 15, 1}, {2, 16, 1}, {3, 17, 1},   {1, 257, 1}, {1, 1031, 1},
    {2, 1, 3},  {2, 3, 7},  {3, 5, 8},  {2, 7, 17}, {1, 33, 31},  {2, 4, 100}, {2, 3, 300},
    {1, 2, 513}, {4, 16, 16},
};
enum { N_SPANS = sizeof SPANS / sizeof SPANS[0] };

static size_t span_size(const span3 *s) { return s->outer * s->len * s->inner; }

/* out of (f32, f64) equal to the portable outputs of n values, bit for bit. */
static void same_bits(const char *what, const char *path_name, const void *a, const void *b,
                      size_t bytes, const span3 *s)
{
    ck_assert_msg(memcmp(a, b, bytes) == 0, "%s [%zu,%zu,%zu]: path %s differs from portable",
                  what, s->outer, s->len, s->inner, path_name);
}

/* x of n values, scale·[-1,1) + shift, optionally rounded to quarters (ties). */
static void fill_s(sbufs *b, size_t n, double scale, double shift, uint64_t seed, int ties)
{
    fill(b->xd, b->xf, n, scale, shift, seed);
    if (ties)
        for (size_t i = 0; i < n; i++)
            b->xd[i] = b->xf[i] = (float)(round(b->xd[i] * 4) / 4);
}

/* The reference of extreme: first extreme along the axis, a NaN wins. */
static void ref_extreme(const double *x, const span3 *s, int dir, double *y, double *arg)
{
    for (size_t o = 0; o < s->outer; o++)
        for (size_t i = 0; i < s->inner; i++) {
            const double *row = x + o * s->len * s->inner + i;
            size_t best = 0;
            for (size_t l = 1; l < s->len && !isnan(row[best * s->inner]); l++) {
                double v = row[l * s->inner], c = row[best * s->inner];
                if (isnan(v) || (dir > 0 ? v > c : v < c))
                    best = l;
            }
            y[o * s->inner + i] = row[best * s->inner];
            arg[o * s->inner + i] = (double)best;
        }
}

START_TEST(extreme_kernels)
{
    const bm_vec_kernels *k = path(_i), *p = bm_vec_portable_kernels();
    sbufs *b = calloc(1, sizeof *b);
    ck_assert(b);
    for (size_t c = 0; c < N_SPANS; c++)
        for (int dir = -1; dir <= 1; dir += 2) {
            const span3 *s = &SPANS[c];
            size_t n = span_size(s), m = s->outer * s->inner;
            fill_s(b, n, 2, 0, c * 7 + (size_t)(dir + 1), 1);
            if (n > 4) /* a NaN in one column, past its start */
                b->xd[n - 2] = b->xf[n - 2] = NAN;
            k->f64.extreme(b->xd, b->od, b->md, b->ad, s->outer, s->len, s->inner, dir);
            k->f32.extreme(b->xf, b->of, b->mf, b->af, s->outer, s->len, s->inner, dir);
            p->f64.extreme(b->xd, b->pd, b->mpd, b->apd, s->outer, s->len, s->inner, dir);
            p->f32.extreme(b->xf, b->pf, b->mpf, b->apf, s->outer, s->len, s->inner, dir);
            double *ry = b->r, *ra = b->s1;
            ref_extreme(b->xd, s, dir, ry, ra);
            for (size_t j = 0; j < m; j++) {
                near("extreme f64", n, j, b->od[j], ry[j], 0);
                near("extreme f32", n, j, b->of[j], ry[j], 0);
                near("extreme arg f64", n, j, b->ad[j], ra[j], 0);
                near("extreme arg f32", n, j, b->af[j], ra[j], 0);
            }
            for (size_t o = 0; o < s->outer; o++) /* the mask: 1 at the argument only */
                for (size_t l = 0; l < s->len; l++)
                    for (size_t i = 0; i < s->inner; i++) {
                        size_t at = (o * s->len + l) * s->inner + i;
                        double want = (double)l == ra[o * s->inner + i] ? 1 : 0;
                        near("extreme mask f64", n, at, b->md[at], want, 0);
                        near("extreme mask f32", n, at, b->mf[at], want, 0);
                    }
            /* arg alone (argmax's call), no mask */
            k->f32.extreme(b->xf, b->of, NULL, b->af, s->outer, s->len, s->inner, dir);
            for (size_t j = 0; j < m; j++)
                near("extreme arg only", n, j, b->af[j], ra[j], 0);
            same_bits("extreme f32", k->name, b->of, b->pf, m * sizeof(float), s);
            same_bits("extreme f64", k->name, b->od, b->pd, m * sizeof(double), s);
            same_bits("extreme mask", k->name, b->md, b->mpd, n * sizeof(double), s);
        }
    free(b);
}
END_TEST

/* The reductions with one output per [outer, inner] and their references. */
typedef enum { R_LSE, R_VAR, R_STD, R_VAR1, R_NORM, R_PROD, R_COUNT } red_kind;

static const char *const RED_NAMES[R_COUNT] = {"logsumexp", "var", "std", "var unbiased",
                                               "norm", "prod"};

/* The reference of kind along the axis of x at (o, i). */
static double ref_reduce(red_kind kind, const double *x, const span3 *s, size_t o, size_t i)
{
    const double *row = x + o * s->len * s->inner + i;
    double m = -INFINITY, sum = 0, sq = 0, pr = 1;
    for (size_t l = 0; l < s->len; l++) {
        double v = row[l * s->inner];
        m = v > m ? v : m;
        sum += v;
        pr *= v;
    }
    double mean = sum / (double)s->len, lse = 0;
    for (size_t l = 0; l < s->len; l++) {
        double v = row[l * s->inner];
        sq += (v - mean) * (v - mean);
        lse += exp(v - m);
    }
    switch (kind) {
    case R_LSE:
        return m + log(lse);
    case R_VAR:
        return sq / (double)s->len;
    case R_STD:
        return sqrt(sq / (double)s->len);
    case R_VAR1:
        return s->len > 1 ? sq / (double)(s->len - 1) : NAN;
    case R_NORM: {
        double n2 = 0;
        for (size_t l = 0; l < s->len; l++)
            n2 += row[l * s->inner] * row[l * s->inner];
        return sqrt(n2);
    }
    default:
        return pr;
    }
}

/* Runs kind on path k, both types, into (of, od). */
static void run_reduce(const bm_vec_kernels *k, red_kind kind, sbufs *b, float *of, double *od,
                       const span3 *s)
{
    size_t O = s->outer, L = s->len, I = s->inner;
    switch (kind) {
    case R_LSE:
        k->f32.logsumexp(b->xf, of, O, L, I);
        k->f64.logsumexp(b->xd, od, O, L, I);
        break;
    case R_VAR:
    case R_STD:
    case R_VAR1:
        k->f32.variance(b->xf, of, O, L, I, kind == R_VAR1, kind == R_STD);
        k->f64.variance(b->xd, od, O, L, I, kind == R_VAR1, kind == R_STD);
        break;
    case R_NORM:
        k->f32.l2norm(b->xf, of, O, L, I);
        k->f64.l2norm(b->xd, od, O, L, I);
        break;
    default:
        k->f32.prod(b->xf, of, O, L, I);
        k->f64.prod(b->xd, od, O, L, I);
        break;
    }
}

/* F32 tolerance of kind over len values (sums of len float roundings). */
static double tol32(red_kind kind, size_t len)
{
    return kind == R_LSE ? TOL32 : TOL32 * (1.0 + sqrt((double)len));
}

START_TEST(reduce_kernels)
{
    const bm_vec_kernels *k = path(_i), *p = bm_vec_portable_kernels();
    sbufs *b = calloc(1, sizeof *b);
    ck_assert(b);
    for (int kind = 0; kind < R_COUNT; kind++)
        for (size_t c = 0; c < N_SPANS; c++) {
            const span3 *s = &SPANS[c];
            size_t n = span_size(s), m = s->outer * s->inner;
            /* prod: values near 1, so a long axis neither overflows nor vanishes */
            if (kind == R_PROD)
                fill_s(b, n, 0.05, 1, c + 50, 0);
            else
                fill_s(b, n, 3, kind == R_NORM ? 1 : 0, c + 10 * (size_t)kind, 0);
            run_reduce(k, (red_kind)kind, b, b->of, b->od, s);
            run_reduce(p, (red_kind)kind, b, b->pf, b->pd, s);
            for (size_t o = 0; o < s->outer; o++)
                for (size_t i = 0; i < s->inner; i++) {
                    double want = ref_reduce((red_kind)kind, b->xd, s, o, i);
                    near(RED_NAMES[kind], n, o * s->inner + i, b->od[o * s->inner + i], want,
                         TOL64 * (double)s->len);
                    near(RED_NAMES[kind], n, o * s->inner + i, b->of[o * s->inner + i], want,
                         tol32((red_kind)kind, s->len));
                }
            same_bits(RED_NAMES[kind], k->name, b->of, b->pf, m * sizeof(float), s);
            same_bits(RED_NAMES[kind], k->name, b->od, b->pd, m * sizeof(double), s);
        }
    free(b);
}
END_TEST

START_TEST(logsumexp_infinite)
{
    const bm_vec_kernels *k = path(_i);
    sbufs *b = calloc(1, sizeof *b);
    ck_assert(b);
    const span3 spans[] = {{1, 20, 1}, {1, 20, 9}};
    for (size_t c = 0; c < 2; c++) {
        const span3 *s = &spans[c];
        size_t n = span_size(s);
        for (size_t j = 0; j < n; j++)
            b->xd[j] = b->xf[j] = -INFINITY;
        k->f32.logsumexp(b->xf, b->of, s->outer, s->len, s->inner);
        k->f64.logsumexp(b->xd, b->od, s->outer, s->len, s->inner);
        for (size_t j = 0; j < s->inner; j++) {
            ck_assert(isinf(b->of[j]) && b->of[j] < 0);
            ck_assert(isinf(b->od[j]) && b->od[j] < 0);
        }
        b->xf[3 * s->inner] = INFINITY; /* +inf anywhere: +inf */
        k->f32.logsumexp(b->xf, b->of, s->outer, s->len, s->inner);
        ck_assert(isinf(b->of[0]) && b->of[0] > 0);
    }
    free(b);
}
END_TEST

START_TEST(cumsum_kernels)
{
    const bm_vec_kernels *k = path(_i), *p = bm_vec_portable_kernels();
    sbufs *b = calloc(1, sizeof *b);
    ck_assert(b);
    for (int rev = 0; rev <= 1; rev++)
        for (size_t c = 0; c < N_SPANS; c++) {
            const span3 *s = &SPANS[c];
            size_t n = span_size(s);
            fill_s(b, n, 1, 0, c + 99, 0);
            k->f32.cumsum(b->xf, b->of, s->outer, s->len, s->inner, rev);
            k->f64.cumsum(b->xd, b->od, s->outer, s->len, s->inner, rev);
            p->f32.cumsum(b->xf, b->pf, s->outer, s->len, s->inner, rev);
            p->f64.cumsum(b->xd, b->pd, s->outer, s->len, s->inner, rev);
            for (size_t o = 0; o < s->outer; o++)
                for (size_t i = 0; i < s->inner; i++) {
                    double acc = 0;
                    for (size_t t = 0; t < s->len; t++) {
                        size_t l = rev ? s->len - 1 - t : t;
                        size_t at = (o * s->len + l) * s->inner + i;
                        acc += b->xd[at];
                        near("cumsum f64", n, at, b->od[at], acc, TOL64 * (double)s->len);
                        near("cumsum f32", n, at, b->of[at], acc, TOL32 * (double)(t + 1));
                    }
                }
            same_bits("cumsum f32", k->name, b->of, b->pf, n * sizeof(float), s);
            same_bits("cumsum f64", k->name, b->od, b->pd, n * sizeof(double), s);
        }
    free(b);
}
END_TEST

/* batch_norm shapes [N, C, S]: S 1 ([N,C]), below, at and past the lanes. */
static const size_t BN_SHAPES[][3] = {{5, 3, 1}, {7, 17, 1}, {2, 3, 5}, {3, 2, 15}, {2, 3, 16},
                                      {3, 2, 17}, {2, 4, 49}, {1, 1, 1031}};
enum { N_BN = sizeof BN_SHAPES / sizeof BN_SHAPES[0] };

START_TEST(bn_kernels)
{
    const bm_vec_kernels *k = path(_i), *p = bm_vec_portable_kernels();
    sbufs *b = calloc(1, sizeof *b);
    ck_assert(b);
    for (size_t c = 0; c < N_BN; c++) {
        size_t N = BN_SHAPES[c][0], C = BN_SHAPES[c][1], S = BN_SHAPES[c][2], n = N * C * S;
        span3 sp = {N, C, S};
        fill_s(b, n, 2, 0.5, c + 7, 0);
        double *m = b->s1, *v = b->s1 + C, *pm = b->s2, *pv = b->s2 + C;
        k->f64.bn_stats(b->xd, m, v, N, C, S);
        p->f64.bn_stats(b->xd, pm, pv, N, C, S);
        same_bits("bn_stats f64", k->name, b->s1, b->s2, 2 * C * sizeof(double), &sp);
        double *mf = b->s3, *vf = b->s3 + C, *pmf = b->s4, *pvf = b->s4 + C;
        k->f32.bn_stats(b->xf, mf, vf, N, C, S);
        p->f32.bn_stats(b->xf, pmf, pvf, N, C, S);
        same_bits("bn_stats f32", k->name, b->s3, b->s4, 2 * C * sizeof(double), &sp);
        for (size_t ch = 0; ch < C; ch++) {
            double s = 0, q = 0;
            for (size_t i = 0; i < N; i++)
                for (size_t j = 0; j < S; j++)
                    s += b->xd[(i * C + ch) * S + j];
            s /= (double)(N * S);
            for (size_t i = 0; i < N; i++)
                for (size_t j = 0; j < S; j++)
                    q += (b->xd[(i * C + ch) * S + j] - s) * (b->xd[(i * C + ch) * S + j] - s);
            q /= (double)(N * S);
            near("bn_stats mean f64", n, ch, m[ch], s, TOL64);
            near("bn_stats var f64", n, ch, v[ch], q, TOL64);
            near("bn_stats mean f32", n, ch, mf[ch], s, TOL64);
            near("bn_stats var f32", n, ch, vf[ch], q, TOL64);
        }
        /* apply with a scale and shift per channel: pm, pv reused as sc, sh */
        for (size_t ch = 0; ch < C; ch++) {
            pm[ch] = 0.5 + 0.25 * (double)ch;
            pv[ch] = -0.125 * (double)ch;
        }
        k->f64.bn_apply(b->xd, pm, pv, b->od, N, C, S);
        k->f32.bn_apply(b->xf, pm, pv, b->of, N, C, S);
        p->f64.bn_apply(b->xd, pm, pv, b->pd, N, C, S);
        p->f32.bn_apply(b->xf, pm, pv, b->pf, N, C, S);
        for (size_t i = 0; i < n; i++) {
            size_t ch = i / S % C;
            double want = b->xd[i] * pm[ch] + pv[ch];
            near("bn_apply f64", n, i, b->od[i], want, 0);
            near("bn_apply f32", n, i, b->of[i], (float)want, 0);
        }
        same_bits("bn_apply f32", k->name, b->of, b->pf, n * sizeof(float), &sp);
        same_bits("bn_apply f64", k->name, b->od, b->pd, n * sizeof(double), &sp);
    }
    free(b);
}
END_TEST

/* group_norm shapes [N, C, S] and groups G. */
static const size_t GN_SHAPES[][4] = {{2, 4, 1, 2}, {2, 4, 5, 2}, {3, 6, 17, 3},
                                      {1, 2, 33, 1}, {2, 8, 3, 8}, {1, 3, 100, 1}};
enum { N_GN = sizeof GN_SHAPES / sizeof GN_SHAPES[0] };

START_TEST(gn_kernels)
{
    const bm_vec_kernels *k = path(_i), *p = bm_vec_portable_kernels();
    sbufs *b = calloc(1, sizeof *b);
    ck_assert(b);
    const double eps = 1e-5;
    for (size_t c = 0; c < N_GN; c++) {
        size_t N = GN_SHAPES[c][0], C = GN_SHAPES[c][1], S = GN_SHAPES[c][2];
        size_t G = GN_SHAPES[c][3], n = N * C * S, M = C / G * S;
        span3 sp = {N, C, S};
        float wf[16], bf[16];
        for (size_t ch = 0; ch < C; ch++) {
            wf[ch] = 1.0f + 0.25f * (float)ch;
            bf[ch] = -0.5f * (float)ch;
        }
        double wd[16], bd[16];
        for (size_t ch = 0; ch < C; ch++) {
            wd[ch] = wf[ch];
            bd[ch] = bf[ch];
        }
        fill_s(b, n, 2, 0.25, c + 3, 0);
        for (int affine = 0; affine <= 1; affine++) {
            k->f64.group_norm(b->xd, affine ? wd : NULL, affine ? bd : NULL, b->od, N, C, S, G, eps);
            k->f32.group_norm(b->xf, affine ? wf : NULL, affine ? bf : NULL, b->of, N, C, S, G, eps);
            p->f64.group_norm(b->xd, affine ? wd : NULL, affine ? bd : NULL, b->pd, N, C, S, G, eps);
            p->f32.group_norm(b->xf, affine ? wf : NULL, affine ? bf : NULL, b->pf, N, C, S, G, eps);
            for (size_t i = 0; i < N; i++)
                for (size_t g = 0; g < G; g++) {
                    const double *xg = b->xd + (i * C + g * (C / G)) * S;
                    double s = 0, q = 0;
                    for (size_t j = 0; j < M; j++)
                        s += xg[j];
                    s /= (double)M;
                    for (size_t j = 0; j < M; j++)
                        q += (xg[j] - s) * (xg[j] - s);
                    double inv = 1 / sqrt(q / (double)M + eps);
                    for (size_t j = 0; j < M; j++) {
                        size_t at = (i * C + g * (C / G)) * S + j, ch = g * (C / G) + j / S;
                        double want = (xg[j] - s) * inv;
                        if (affine)
                            want = want * wd[ch] + bd[ch];
                        near("group_norm f64", n, at, b->od[at], want, TOL64);
                        near("group_norm f32", n, at, b->of[at], want, TOL32);
                    }
                }
            same_bits("group_norm f32", k->name, b->of, b->pf, n * sizeof(float), &sp);
            same_bits("group_norm f64", k->name, b->od, b->pd, n * sizeof(double), &sp);
        }
    }
    free(b);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("vec_stat");
    for (int i = 0; i < N_PATHS; i++) {
        int isa = (int)paths[i].isa;
        if (!bm_vec_isa_available(paths[i].isa))
            continue; /* not run here: its own meson test reports a skip */
        TCase *p = paths[i].needs ? bm_test_case_needing(paths[i].name) : tcase_create(paths[i].name);
        tcase_set_timeout(p, 300);
        tcase_add_loop_test(p, extreme_kernels, isa, isa + 1);
        tcase_add_loop_test(p, reduce_kernels, isa, isa + 1);
        tcase_add_loop_test(p, logsumexp_infinite, isa, isa + 1);
        tcase_add_loop_test(p, cumsum_kernels, isa, isa + 1);
        tcase_add_loop_test(p, bn_kernels, isa, isa + 1);
        tcase_add_loop_test(p, gn_kernels, isa, isa + 1);
        suite_add_tcase(s, p);
    }
    return s;
}

int main(void) { return bm_vec_test_main(make_suite); }
