/* test_conv.c — conv2d's forward and both adjoints (conv_transpose2d for x,
 * conv2d_wgrad for w, through the backward of conv2d) against a naive
 * reference in double, on odd sizes, strides, padding, dilation and groups,
 * in F32 and F64; the same bits on 1, 2 and 3 threads (the kernels split
 * the batch into chunks over the threads, and wgrad adds partial sums in a
 * fixed order); and a second backward accumulating onto the first. */
#include "test_util.h"

#include "conv_internal.h"

/* One geometry: x [N,C,H,W], w [O,C/g,kh,kw], b [O] when bias. */
typedef struct conv_case {
    size_t N, C, H, W, O, kh, kw, stride[2], pad[2], dil[2], groups;
    int bias;
} conv_case;

/* Several chunks of images (more than the threads), one chunk, groups, a
 * stride larger than the kernel's step, dilation on one axis only. */
static const conv_case CASES[] = {
    {29, 3, 17, 19, 4, 3, 5, {1, 2}, {1, 2}, {1, 1}, 1, 1},
    {9, 6, 40, 40, 9, 3, 3, {2, 2}, {1, 1}, {2, 2}, 3, 1},
    {5, 2, 33, 31, 3, 5, 2, {3, 1}, {0, 1}, {1, 3}, 1, 0},
    {1, 8, 20, 20, 16, 3, 3, {1, 1}, {1, 1}, {1, 1}, 2, 1},
    /* batches the direct kernels take (ops/conv_direct.c: whole 8-float or
     * 4-double blocks of images, or a last block at least ~3/4 full, few
     * taps): LeNet-2's geometry; odd sizes, a partial last block, strides,
     * padding, dilation and 2 groups; 1 → 6 channels (conv2d and wgrad
     * direct, conv_transpose2d on the GEMM path). */
    {16, 6, 14, 14, 16, 5, 5, {1, 1}, {0, 0}, {1, 1}, 1, 1},
    {13, 6, 11, 9, 8, 3, 2, {2, 1}, {1, 0}, {1, 2}, 2, 1},
    {12, 1, 17, 15, 6, 5, 5, {1, 1}, {2, 1}, {1, 1}, 1, 0},
};

enum { MAX_THREADS_TRIED = 3 };

/* Tolerances against the double reference, relative to the largest |value|. */
static const double TOL_F32 = 1e-5, TOL_F64 = 1e-12;

static size_t out_size(size_t in, size_t k, size_t s, size_t p, size_t d)
{
    return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

/* The reference: y = conv2d(x, w) + b; gx, gw, gb the gradients of Σ y·g. */
typedef struct conv_ref {
    double *y, *gx, *gw, *gb;
} conv_ref;

static void reference(const conv_case *c, const double *x, const double *w, const double *b,
                      const double *g, conv_ref *r)
{
    size_t OH = out_size(c->H, c->kh, c->stride[0], c->pad[0], c->dil[0]);
    size_t OW = out_size(c->W, c->kw, c->stride[1], c->pad[1], c->dil[1]);
    size_t cg = c->C / c->groups, og = c->O / c->groups;
    for (size_t n = 0; n < c->N; n++)
        for (size_t o = 0; o < c->O; o++)
            for (size_t oy = 0; oy < OH; oy++)
                for (size_t ox = 0; ox < OW; ox++) {
                    size_t yi = ((n * c->O + o) * OH + oy) * OW + ox;
                    double acc = c->bias ? b[o] : 0.0;
                    for (size_t ci = 0; ci < cg; ci++)
                        for (size_t i = 0; i < c->kh; i++)
                            for (size_t j = 0; j < c->kw; j++) {
                                long iy = (long)(oy * c->stride[0] + i * c->dil[0]);
                                long ix = (long)(ox * c->stride[1] + j * c->dil[1]);
                                iy -= (long)c->pad[0];
                                ix -= (long)c->pad[1];
                                if (iy < 0 || ix < 0 || iy >= (long)c->H || ix >= (long)c->W)
                                    continue;
                                size_t xc = (o / og) * cg + ci, row = (n * c->C + xc) * c->H;
                                size_t xi = (row + (size_t)iy) * c->W + (size_t)ix;
                                size_t wi = ((o * cg + ci) * c->kh + i) * c->kw + j;
                                acc += x[xi] * w[wi];
                                r->gx[xi] += g[yi] * w[wi];
                                r->gw[wi] += g[yi] * x[xi];
                            }
                    r->y[yi] = acc;
                    r->gb[o] += g[yi];
                }
}

/* max |scale·t_i - ref_i| <= tol · max(1, max |ref_i|) over n values of t (or its grad). */
static void near_all(const char *what, const bm_tensor *t, int grad, const double *ref, size_t n,
                     double tol, double scale)
{
    double big = 1.0;
    for (size_t i = 0; i < n; i++)
        big = fabs(ref[i]) > big ? fabs(ref[i]) : big;
    for (size_t i = 0; i < n; i++) {
        double v = scale * (grad ? bm_tensor_grad_get(t, i) : bm_tensor_get(t, i));
        ck_assert_msg(fabs(v - ref[i]) <= tol * big, "%s[%zu] = %.10g (scaled), reference %.10g",
                      what, i, v, ref[i]);
    }
}

static void fill(bm_tensor *t, double *copy, bm_rng *rng)
{
    for (size_t i = 0; i < t->size; i++) {
        bm_tensor_set(t, i, bm_rng_normal(rng));
        copy[i] = bm_tensor_get(t, i); /* rounded to the tensor's type */
    }
}

/* Bytes of y and of the gradients of x, w, b, one after the other. */
static unsigned char *snapshot(bm_tensor *const *t, int n, size_t *bytes)
{
    size_t total = 0;
    for (int k = 0; k < n; k++)
        total += 2 * t[k]->size * bm_dtype_size(t[k]->dtype);
    unsigned char *s = malloc(total), *p = s;
    ck_assert_ptr_nonnull(s);
    for (int k = 0; k < n; k++) {
        size_t b = t[k]->size * bm_dtype_size(t[k]->dtype);
        memcpy(p, t[k]->data, b);
        p += b;
        for (size_t i = 0; i < t[k]->size; i++, p += bm_dtype_size(t[k]->dtype)) {
            if (t[k]->dtype == BM_F64) {
                double v = bm_tensor_grad_get(t[k], i);
                memcpy(p, &v, sizeof v);
            } else {
                float v = (float)bm_tensor_grad_get(t[k], i);
                memcpy(p, &v, sizeof v);
            }
        }
    }
    *bytes = total;
    return s;
}

/* One case in one type on 1, 2 and 3 threads. */
static void run_case(const conv_case *c, bm_dtype dt)
{
    size_t xs[4] = {c->N, c->C, c->H, c->W}, ws[4] = {c->O, c->C / c->groups, c->kh, c->kw};
    size_t OH = out_size(c->H, c->kh, c->stride[0], c->pad[0], c->dil[0]);
    size_t OW = out_size(c->W, c->kw, c->stride[1], c->pad[1], c->dil[1]);
    size_t ys[4] = {c->N, c->O, OH, OW}, nx = c->N * c->C * c->H * c->W;
    size_t nw = c->O * ws[1] * c->kh * c->kw, ny = c->N * c->O * OH * OW;
    double *x = calloc(nx, sizeof *x), *w = calloc(nw, sizeof *w), *b = calloc(c->O, sizeof *b);
    double *g = calloc(ny, sizeof *g);
    conv_ref r = {calloc(ny, sizeof(double)), calloc(nx, sizeof(double)),
                  calloc(nw, sizeof(double)), calloc(c->O, sizeof(double))};
    ck_assert(x && w && b && g && r.y && r.gx && r.gw && r.gb);
    double tol = dt == BM_F64 ? TOL_F64 : TOL_F32;
    unsigned char *first = NULL;
    size_t first_bytes = 0;
    for (int threads = 1; threads <= MAX_THREADS_TRIED; threads++) {
        bm_error e = {0};
        bm_rng rng;
        bm_rng_seed(&rng, 11);
        bm_tape *t = bm_tape_new();
        ck_assert_int_eq(bm_tape_set_threads(t, threads, &e), BM_OK);
        bm_tensor *tx = bm_tape_leaf(t, dt, 4, xs, BM_REQUIRES_GRAD),
                  *tw = bm_tape_leaf(t, dt, 4, ws, BM_REQUIRES_GRAD);
        bm_tensor *tb = c->bias ? bm_tape_leaf(t, dt, 1, &c->O, BM_REQUIRES_GRAD) : NULL;
        bm_tensor *tg = bm_tape_leaf(t, dt, 4, ys, 0);
        ck_assert(tx && tw && tg && (tb || !c->bias));
        fill(tx, x, &rng);
        fill(tw, w, &rng);
        if (tb)
            fill(tb, b, &rng);
        fill(tg, g, &rng);
        bm_conv_opts o = bm_conv_defaults();
        for (int a = 0; a < 2; a++) {
            o.stride[a] = c->stride[a];
            o.pad[a] = c->pad[a];
            o.dilation[a] = c->dil[a];
        }
        o.groups = c->groups;
        bm_tensor *y = bm_conv2d(t, tx, tw, tb, &o);
        ck_assert_msg(y != NULL, "%s", bm_tape_error(t));
        ck_assert_int_eq(bm_tape_backward(t, y, tg), BM_OK);
        if (threads == 1) {
            reference(c, x, w, b, g, &r);
            near_all("y", y, 0, r.y, ny, tol, 1.0);
            near_all("dx", tx, 1, r.gx, nx, tol, 1.0);
            near_all("dw", tw, 1, r.gw, nw, tol, 1.0);
            if (tb)
                near_all("db", tb, 1, r.gb, c->O, tol, 1.0);
        }
        bm_tensor *all[4] = {y, tx, tw, tb};
        size_t bytes;
        unsigned char *snap = snapshot(all, tb ? 4 : 3, &bytes);
        if (!first) {
            first = snap;
            first_bytes = bytes;
        } else {
            ck_assert_msg(bytes == first_bytes && memcmp(snap, first, bytes) == 0,
                          "conv2d N=%zu C=%zu groups=%zu: other bits on %d threads than on 1",
                          c->N, c->C, c->groups, threads);
            free(snap);
        }
        /* a replayed step adds the same gradients again (conv2d_wgrad accumulating) */
        ck_assert_int_eq(bm_tape_forward(t), BM_OK);
        ck_assert_int_eq(bm_tape_backward(t, y, tg), BM_OK);
        near_all("dx twice", tx, 1, r.gx, nx, tol, 0.5);
        near_all("dw twice", tw, 1, r.gw, nw, tol, 0.5);
        bm_tape_free(t);
    }
    free(first);
    free(x), free(w), free(b), free(g);
    free(r.y), free(r.gx), free(r.gw), free(r.gb);
}

/* Threads raised after recording (the scratch has one slot): the same bits. */
START_TEST(conv2d_threads_raised_after_recording)
{
    const conv_case *c = &CASES[_i];
    size_t xs[4] = {c->N, c->C, c->H, c->W}, ws[4] = {c->O, c->C / c->groups, c->kh, c->kw};
    bm_rng rng;
    bm_rng_seed(&rng, 5);
    bm_tape *t = bm_tape_new();
    bm_tensor *x = bm_tape_leaf(t, BM_F32, 4, xs, BM_REQUIRES_GRAD);
    bm_tensor *w = bm_tape_leaf(t, BM_F32, 4, ws, BM_REQUIRES_GRAD);
    ck_assert(x && w);
    for (size_t i = 0; i < x->size; i++)
        bm_tensor_set(x, i, bm_rng_normal(&rng));
    for (size_t i = 0; i < w->size; i++)
        bm_tensor_set(w, i, bm_rng_normal(&rng));
    bm_conv_opts o = bm_conv_defaults();
    for (int a = 0; a < 2; a++) {
        o.stride[a] = c->stride[a];
        o.pad[a] = c->pad[a];
        o.dilation[a] = c->dil[a];
    }
    o.groups = c->groups;
    bm_tensor *y = bm_conv2d(t, x, w, NULL, &o);
    bm_tensor *loss = y ? bm_sum(t, bm_square(t, y), BM_AXIS_ALL, 0) : NULL;
    ck_assert_msg(loss && bm_tape_backward(t, loss, NULL) == BM_OK, "%s", bm_tape_error(t));
    bm_tensor *all[3] = {y, x, w};
    size_t b1, b3;
    unsigned char *one = snapshot(all, 3, &b1);
    ck_assert_int_eq(bm_tape_set_threads(t, MAX_THREADS_TRIED, NULL), BM_OK);
    bm_tape_zero_grad(t);
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    ck_assert_int_eq(bm_tape_backward(t, loss, NULL), BM_OK);
    unsigned char *three = snapshot(all, 3, &b3);
    ck_assert_msg(b1 == b3 && memcmp(one, three, b1) == 0,
                  "conv2d case %d: other bits after raising the threads", _i);
    free(one);
    free(three);
    bm_tape_free(t);
}
END_TEST

/* The cases after the first DIRECT_FIRST are there for ops/conv_direct.c:
 * they must stay on it (conv2d and wgrad; conv_transpose2d where the input
 * channels fill its tiles), or the reference checks above miss its kernels. */
enum { DIRECT_FIRST = 4, DIRECT_DX_CASES = 2 };
START_TEST(conv2d_direct_cases_take_the_direct_path)
{
    const conv_case *c = &CASES[DIRECT_FIRST + _i];
    size_t cg = c->C / c->groups, og = c->O / c->groups, K = cg * c->kh * c->kw;
    const bm_dtype types[2] = {BM_F32, BM_F64};
    for (int k = 0; k < 2; k++) {
        ck_assert(bm_conv_direct_fits(types[k], BM_CONV_DIRECT_FWD, c->N, cg, og, K));
        ck_assert(bm_conv_direct_fits(types[k], BM_CONV_DIRECT_DW, c->N, cg, og, K));
        ck_assert_int_eq(bm_conv_direct_fits(types[k], BM_CONV_DIRECT_DX, c->N, cg, og, K),
                         _i < DIRECT_DX_CASES);
    }
    /* one image, or many taps: the GEMM path */
    ck_assert(!bm_conv_direct_fits(BM_F32, BM_CONV_DIRECT_FWD, 1, cg, og, K));
    ck_assert(!bm_conv_direct_fits(BM_F32, BM_CONV_DIRECT_FWD, c->N, 64, og, 64 * 9));
    if (!bm_conv_direct_cpu())
        fprintf(stderr, "test_conv: no AVX2 + FMA: the direct cases ran on the GEMM path\n");
}
END_TEST

START_TEST(conv2d_matches_reference_on_any_thread_count)
{
    run_case(&CASES[_i / 2], _i % 2 ? BM_F64 : BM_F32);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("conv");
    tcase_add_loop_test(tc, conv2d_matches_reference_on_any_thread_count, 0,
                        (int)(2 * sizeof CASES / sizeof CASES[0]));
    tcase_add_loop_test(tc, conv2d_threads_raised_after_recording, 0,
                        (int)(sizeof CASES / sizeof CASES[0]));
    tcase_add_loop_test(tc, conv2d_direct_cases_take_the_direct_path, 0,
                        (int)(sizeof CASES / sizeof CASES[0]) - DIRECT_FIRST);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
