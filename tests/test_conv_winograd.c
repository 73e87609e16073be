/* test_conv_winograd.c — conv2d and its gradients (conv_transpose2d for x,
 * conv2d_wgrad for w) on Winograd F(4×4,3×3) (BM_CONV_WINOGRAD forced, and BM_CONV_AUTO on 16+
 * channels) against a naive reference in double: odd sizes (edge tiles),
 * padding 0, 1, 2, channel counts 1, 3, 17, batches 1, 3 and several
 * chunks; F64 within 1e-12 and F32 within 1e-4 of Σ|terms| per element;
 * the same bits on 1, 2 and 3 threads; a second backward accumulating. */
#include "test_util.h"

/* x [N,C,H,W], w [O,C,3,3], b [O]; padding per axis; the algorithm. */
typedef struct wino_case {
    size_t N, C, H, W, O, pad[2];
    bm_conv_algo algo;
} wino_case;

enum { K = 3, MAX_THREADS_TRIED = 3 };

static const wino_case CASES[] = {
    {1, 1, 7, 9, 3, {0, 0}, BM_CONV_WINOGRAD},
    {3, 3, 11, 5, 17, {1, 1}, BM_CONV_WINOGRAD},
    {3, 17, 9, 13, 5, {2, 1}, BM_CONV_WINOGRAD},
    {1, 17, 3, 3, 17, {0, 2}, BM_CONV_WINOGRAD},
    {9, 3, 40, 37, 5, {1, 1}, BM_CONV_WINOGRAD}, /* 5 chunks of 2 images */
    {3, 16, 13, 11, 17, {1, 0}, BM_CONV_AUTO},
};

/* Tolerances relative to Σ|terms| of each element. */
static const double TOL_F32 = 1e-4, TOL_F64 = 1e-12;

/* Reference values and Σ|terms| of y = conv2d(x, w) + b, gx, gw for Σ y·g. */
typedef struct wino_ref {
    double *y, *ya, *gx, *gxa, *gw, *gwa;
} wino_ref;

static void reference(const wino_case *c, size_t OH, size_t OW, const double *x, const double *w,
                      const double *b, const double *g, wino_ref *r)
{
    for (size_t n = 0; n < c->N; n++)
        for (size_t o = 0; o < c->O; o++)
            for (size_t oy = 0; oy < OH; oy++)
                for (size_t ox = 0; ox < OW; ox++) {
                    size_t yi = ((n * c->O + o) * OH + oy) * OW + ox;
                    double acc = b[o], abs = fabs(b[o]);
                    for (size_t ci = 0; ci < c->C; ci++)
                        for (size_t i = 0; i < K; i++)
                            for (size_t j = 0; j < K; j++) {
                                long iy = (long)(oy + i) - (long)c->pad[0];
                                long ix = (long)(ox + j) - (long)c->pad[1];
                                if (iy < 0 || ix < 0 || iy >= (long)c->H || ix >= (long)c->W)
                                    continue;
                                size_t xi = ((n * c->C + ci) * c->H + (size_t)iy) * c->W +
                                            (size_t)ix;
                                size_t wi = ((o * c->C + ci) * K + i) * K + j;
                                acc += x[xi] * w[wi];
                                abs += fabs(x[xi] * w[wi]);
                                r->gx[xi] += g[yi] * w[wi];
                                r->gxa[xi] += fabs(g[yi] * w[wi]);
                                r->gw[wi] += g[yi] * x[xi];
                                r->gwa[wi] += fabs(g[yi] * x[xi]);
                            }
                    r->y[yi] = acc;
                    r->ya[yi] = abs;
                }
}

/* |t_i - ref_i| <= tol · max(abs_i, 1e-30) for the n values of t (or its grad). */
static void near_all(const char *what, const bm_tensor *t, int grad, const double *ref,
                     const double *abs, size_t n, double tol)
{
    for (size_t i = 0; i < n; i++) {
        double v = grad ? bm_tensor_grad_get(t, i) : bm_tensor_get(t, i);
        ck_assert_msg(fabs(v - ref[i]) <= tol * (abs[i] > 1e-30 ? abs[i] : 1e-30),
                      "%s[%zu] = %.12g, reference %.12g (sum of |terms| %.3g)", what, i, v,
                      ref[i], abs[i]);
    }
}

static void fill(bm_tensor *t, double *copy, bm_rng *rng)
{
    for (size_t i = 0; i < t->size; i++) {
        bm_tensor_set(t, i, bm_rng_normal(rng));
        copy[i] = bm_tensor_get(t, i);
    }
}

/* y's values and x's, w's gradients, one after the other (bytes). */
static unsigned char *snapshot(const bm_tensor *y, const bm_tensor *x, const bm_tensor *w,
                               size_t *bytes)
{
    size_t esz = bm_dtype_size(y->dtype), n = y->size + x->size + w->size;
    unsigned char *s = malloc(n * esz), *p = s;
    ck_assert_ptr_nonnull(s);
    memcpy(p, y->data, y->size * esz);
    p += y->size * esz;
    memcpy(p, x->grad, x->size * esz);
    p += x->size * esz;
    memcpy(p, w->grad, w->size * esz);
    *bytes = n * esz;
    return s;
}

static void run_case(const wino_case *c, bm_dtype dt)
{
    size_t OH = c->H + 2 * c->pad[0] - (K - 1), OW = c->W + 2 * c->pad[1] - (K - 1);
    size_t xs[4] = {c->N, c->C, c->H, c->W}, ws[4] = {c->O, c->C, K, K};
    size_t ys[4] = {c->N, c->O, OH, OW}, nx = c->N * c->C * c->H * c->W;
    size_t nw = c->O * c->C * K * K, ny = c->N * c->O * OH * OW;
    double *x = calloc(nx, sizeof *x), *w = calloc(nw, sizeof *w), *b = calloc(c->O, sizeof *b);
    double *g = calloc(ny, sizeof *g);
    wino_ref r = {calloc(ny, sizeof(double)), calloc(ny, sizeof(double)),
                  calloc(nx, sizeof(double)), calloc(nx, sizeof(double)),
                  calloc(nw, sizeof(double)), calloc(nw, sizeof(double))};
    ck_assert(x && w && b && g && r.y && r.ya && r.gx && r.gxa && r.gw && r.gwa);
    double tol = dt == BM_F64 ? TOL_F64 : TOL_F32;
    unsigned char *first = NULL;
    size_t first_bytes = 0;
    for (int threads = 1; threads <= MAX_THREADS_TRIED; threads++) {
        bm_rng rng;
        bm_rng_seed(&rng, 17);
        bm_tape *t = bm_tape_new();
        ck_assert_int_eq(bm_tape_set_threads(t, threads, NULL), BM_OK);
        bm_tensor *tx = bm_tape_leaf(t, dt, 4, xs, BM_REQUIRES_GRAD);
        bm_tensor *tw = bm_tape_leaf(t, dt, 4, ws, BM_REQUIRES_GRAD);
        bm_tensor *tb = bm_tape_leaf(t, dt, 1, &c->O, 0), *tg = bm_tape_leaf(t, dt, 4, ys, 0);
        ck_assert(tx && tw && tb && tg);
        fill(tx, x, &rng);
        fill(tw, w, &rng);
        fill(tb, b, &rng);
        fill(tg, g, &rng);
        bm_conv_opts o = bm_conv_defaults();
        o.pad[0] = c->pad[0], o.pad[1] = c->pad[1], o.algo = c->algo;
        bm_tensor *y = bm_conv2d(t, tx, tw, tb, &o);
        ck_assert_msg(y != NULL, "%s", bm_tape_error(t));
        ck_assert_int_eq(bm_tape_backward(t, y, tg), BM_OK);
        if (threads == 1) {
            reference(c, OH, OW, x, w, b, g, &r);
            near_all("y", y, 0, r.y, r.ya, ny, tol);
            near_all("dx", tx, 1, r.gx, r.gxa, nx, tol);
            near_all("dw", tw, 1, r.gw, r.gwa, nw, tol);
        }
        size_t bytes;
        unsigned char *snap = snapshot(y, tx, tw, &bytes);
        if (!first) {
            first = snap;
            first_bytes = bytes;
        } else {
            ck_assert_msg(bytes == first_bytes && memcmp(snap, first, bytes) == 0,
                          "winograd N=%zu C=%zu O=%zu: other bits on %d threads than on 1",
                          c->N, c->C, c->O, threads);
            free(snap);
        }
        /* a replayed step adds the same gradients again (wgrad accumulating) */
        ck_assert_int_eq(bm_tape_forward(t), BM_OK);
        ck_assert_int_eq(bm_tape_backward(t, y, tg), BM_OK);
        for (size_t i = 0; i < nw; i++)
            ck_assert_msg(fabs(bm_tensor_grad_get(tw, i) - 2 * r.gw[i]) <= 2 * tol * r.gwa[i],
                          "dw twice [%zu] = %g, reference %g", i, bm_tensor_grad_get(tw, i),
                          2 * r.gw[i]);
        bm_tape_free(t);
    }
    free(first);
    free(x), free(w), free(b), free(g);
    free(r.y), free(r.ya), free(r.gx), free(r.gxa), free(r.gw), free(r.gwa);
}

START_TEST(winograd_matches_reference_on_any_thread_count)
{
    run_case(&CASES[_i / 2], _i % 2 ? BM_F64 : BM_F32);
}
END_TEST

/* Forcing im2col on a shape auto runs on Winograd: the same values up to
 * F32 rounding, other bits (so the two paths really differ). */
START_TEST(im2col_opt_out_gives_the_same_values)
{
    size_t xs[4] = {2, 16, 9, 9}, ws[4] = {16, 16, K, K};
    bm_rng rng;
    bm_rng_seed(&rng, 3);
    bm_tape *t = bm_tape_new();
    bm_tensor *x = bm_tape_leaf(t, BM_F32, 4, xs, 0), *w = bm_tape_leaf(t, BM_F32, 4, ws, 0);
    ck_assert(x && w);
    for (size_t i = 0; i < x->size; i++)
        bm_tensor_set(x, i, bm_rng_normal(&rng));
    for (size_t i = 0; i < w->size; i++)
        bm_tensor_set(w, i, bm_rng_normal(&rng));
    bm_conv_opts o = bm_conv_defaults();
    o.pad[0] = o.pad[1] = 1;
    bm_tensor *ya = bm_conv2d(t, x, w, NULL, &o);
    o.algo = BM_CONV_IM2COL;
    bm_tensor *yi = bm_conv2d(t, x, w, NULL, &o);
    ck_assert_msg(ya && yi, "%s", bm_tape_error(t));
    int differ = 0;
    for (size_t i = 0; i < ya->size; i++) {
        double a = bm_tensor_get(ya, i), b = bm_tensor_get(yi, i);
        ck_assert_msg(fabs(a - b) <= TOL_F32 * (1.0 + fabs(b)), "y[%zu]: %g vs %g", i, a, b);
        differ |= a != b;
    }
    ck_assert_msg(differ, "auto and im2col gave the same bits: auto did not take Winograd");
    bm_tape_free(t);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("conv_winograd");
    TCase *tc = tcase_create("conv_winograd");
    tcase_add_loop_test(tc, winograd_matches_reference_on_any_thread_count, 0,
                        (int)(2 * sizeof CASES / sizeof CASES[0]));
    tcase_add_test(tc, im2col_opt_out_gives_the_same_values);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
