/* test_optim_groups.c — the training controls of optim/: parameter groups
 * (flat ranges and tensors, own lr / weight decay / frozen), AdamW and L2
 * weight decay against formulas written out here, clipping by global norm
 * and by value. (test_optim_sched.c: schedules and fit's step hook;
 * tests/torch_optim.py checks the same controls against PyTorch.) */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* Parameters in the examples. */
#define NP 6
/* Steps in the multi-step examples. */
#define NSTEPS 4
/* f64 results agree with the hand formulas to this (values ~1). */
#define TOL 1e-12

static const double P0[NP] = {1.0, -2.0, 0.5, 0.25, -0.75, 1.5};

/* Gradient i of step t (exact in f32 for the bit-identity tests). */
static double grad_at(int t, int i) { return (double)((i * 7 + t * 3) % 11 - 5) / 4.0; }

static void grads_f64(int t, double *g, int n)
{
    for (int i = 0; i < n; i++)
        g[i] = grad_at(t, i);
}

/* Every kind, plain and with lr decay, momentum or weight decay. */
static bm_optim_config config_case(int k)
{
    static const bm_optim_kind kinds[] = {BM_OPT_SGD, BM_OPT_ADAGRAD, BM_OPT_RMSPROP,
                                          BM_OPT_ADAM, BM_OPT_ADAMW};
    bm_optim_config c = bm_optim_defaults(kinds[k % 5]);
    c.lr = 0.05;
    if (k >= 5) {
        c.decay = 0.1;
        c.momentum = 0.5;
        c.weight_decay = 0.03;
    }
    return c;
}
/* Number of configurations in config_case. */
#define N_CASES 10

/* ------------------------------------------------------------ groups */

/* A flat optimizer and the same as groups of ranges give the same bits. */
START_TEST(groups_of_ranges_match_flat)
{
    for (int k = 0; k < N_CASES; k++) {
        for (int f32 = 0; f32 < 2; f32++) {
            bm_dtype dt = f32 ? BM_F32 : BM_F64;
            bm_optim_config c = config_case(k);
            bm_error e = {0};
            bm_optim_group gs[3] = {bm_optim_group_range(&c, 4, 2), bm_optim_group_range(&c, 0, 1),
                                    bm_optim_group_range(&c, 1, 3)};
            bm_optim *flat = bm_optim_new(&c, dt, NP, &e);
            bm_optim *grp = bm_optim_new_groups(&c, dt, NP, gs, 3, &e);
            ck_assert_msg(flat && grp, "%s", e.msg);
            ck_assert_uint_eq(bm_optim_n_groups(grp), 3);
            double pd[2][NP], gd[NP];
            float pf[2][NP], gf[NP];
            for (int i = 0; i < NP; i++)
                pd[0][i] = pd[1][i] = pf[0][i] = pf[1][i] = (float)P0[i];
            for (int t = 0; t < NSTEPS; t++) {
                grads_f64(t, gd, NP);
                for (int i = 0; i < NP; i++)
                    gf[i] = (float)gd[i];
                void *p0 = f32 ? (void *)pf[0] : (void *)pd[0];
                void *p1 = f32 ? (void *)pf[1] : (void *)pd[1];
                const void *g = f32 ? (const void *)gf : (const void *)gd;
                ck_assert_int_eq(bm_optim_step(flat, p0, g, NP, &e), BM_OK);
                ck_assert_int_eq(bm_optim_step(grp, p1, g, NP, &e), BM_OK);
            }
            size_t bytes = NP * bm_dtype_size(dt);
            ck_assert_msg(!memcmp(f32 ? (void *)pf[0] : (void *)pd[0],
                                  f32 ? (void *)pf[1] : (void *)pd[1], bytes),
                          "case %d %s: groups differ from flat", k, f32 ? "f32" : "f64");
            for (int s = 0; s < bm_optim_state_count(flat); s++)
                ck_assert(!memcmp(bm_optim_state(flat, s), bm_optim_state(grp, s), bytes));
            bm_optim_free(flat);
            bm_optim_free(grp);
        }
    }
}
END_TEST

/* Each group runs with its own lr and weight decay; a frozen group and
 * elements outside every group stay as they are (state too). */
START_TEST(group_settings_apply_per_group)
{
    bm_optim_config c = bm_optim_defaults(BM_OPT_ADAM);
    bm_error e = {0};
    bm_optim_group gs[3] = {bm_optim_group_range(&c, 0, 2), bm_optim_group_range(&c, 2, 2),
                            bm_optim_group_range(&c, 4, 1)};
    gs[1].lr = 0.5;
    gs[1].weight_decay = 0.1;
    gs[2].frozen = 1; /* element 5 is in no group */
    bm_optim *o = bm_optim_new_groups(&c, BM_F64, NP, gs, 3, &e);
    ck_assert_msg(o != NULL, "%s", e.msg);
    /* references: one flat optimizer per setting on the same slice */
    bm_optim_config c1 = c;
    c1.lr = 0.5;
    c1.weight_decay = 0.1;
    bm_optim *r0 = bm_optim_new(&c, BM_F64, 2, &e), *r1 = bm_optim_new(&c1, BM_F64, 2, &e);
    double p[NP], q[NP], g[NP];
    memcpy(p, P0, sizeof p);
    memcpy(q, P0, sizeof q);
    for (int t = 0; t < NSTEPS; t++) {
        grads_f64(t, g, NP);
        ck_assert_int_eq(bm_optim_step(o, p, g, NP, &e), BM_OK);
        ck_assert_int_eq(bm_optim_step(r0, q, g, 2, &e), BM_OK);
        ck_assert_int_eq(bm_optim_step(r1, q + 2, g + 2, 2, &e), BM_OK);
    }
    for (int i = 0; i < 4; i++)
        ck_assert_msg(p[i] == q[i], "p[%d] = %.17g, reference %.17g", i, p[i], q[i]);
    ck_assert(p[4] == P0[4] && p[5] == P0[5]);
    for (int s = 0; s < 2; s++) {
        const double *st = bm_optim_state(o, s);
        ck_assert(st[4] == 0.0 && st[5] == 0.0);
        ck_assert(st[0] != 0.0 && st[2] != 0.0);
    }
    ck_near(bm_optim_group_lr(o, 1), 0.5, 0);
    ck_near(bm_optim_lr(o), c.lr, 0);
    double lr, wd;
    int frozen;
    ck_assert_int_eq(bm_optim_group_get(o, 2, &lr, &wd, &frozen, &e), BM_OK);
    ck_assert(frozen == 1 && lr == c.lr && wd == 0.0);
    /* unfreeze: element 4 moves from now on */
    ck_assert_int_eq(bm_optim_group_set(o, 2, 0.1, 0.0, 0, &e), BM_OK);
    grads_f64(NSTEPS, g, NP);
    ck_assert_int_eq(bm_optim_step(o, p, g, NP, &e), BM_OK);
    ck_assert(p[4] != P0[4] && p[5] == P0[5]);
    bm_optim_free(o);
    bm_optim_free(r0);
    bm_optim_free(r1);
}
END_TEST

/* Tensor groups update the tensors like a flat optimizer over their
 * concatenation; a tensor without a gradient is skipped. */
START_TEST(tensor_groups_match_flat)
{
    bm_error e = {0};
    bm_tensor *a = bm_tensor_from(BM_F64, 1, (size_t[]){2}, P0, &e);
    bm_tensor *b = bm_tensor_from(BM_F64, 2, (size_t[]){2, 2}, P0 + 2, &e);
    bm_tensor *z = bm_tensor_from(BM_F64, 1, (size_t[]){1}, P0, &e);
    double ga[2], gb[4], g[NP], q[NP];
    a->grad = ga;
    b->grad = gb;
    bm_optim_config c = config_case(9);
    bm_tensor *list[3] = {a, b, z};
    bm_optim_group gs = bm_optim_group_tensors(&c, list, 3);
    bm_optim *o = bm_optim_new_groups(&c, BM_F64, 0, &gs, 1, &e);
    bm_optim *r = bm_optim_new(&c, BM_F64, 6, &e);
    ck_assert_msg(o && r, "%s", e.msg);
    ck_assert_uint_eq(bm_optim_size(o), 7);
    ck_assert_int_eq(bm_optim_is_flat(o), 0);
    ck_assert_int_eq(bm_optim_is_flat(r), 1);
    memcpy(q, P0, sizeof q);
    for (int t = 0; t < NSTEPS; t++) {
        grads_f64(t, g, NP);
        memcpy(ga, g, sizeof ga);
        memcpy(gb, g + 2, sizeof gb);
        ck_assert_int_eq(bm_optim_update(o, &e), BM_OK);
        ck_assert_int_eq(bm_optim_step(r, q, g, 6, &e), BM_OK);
    }
    for (int i = 0; i < 6; i++)
        ck_assert(((double *)(i < 2 ? a->data : b->data))[i < 2 ? i : i - 2] == q[i]);
    ck_assert(((double *)z->data)[0] == P0[0]);
    /* the flat calls refuse a tensor optimizer and back */
    ck_assert_int_eq(bm_optim_step(o, q, g, 6, &e), BM_ERR_STATE);
    ck_assert_int_eq(bm_optim_update(r, &e), BM_ERR_STATE);
    ck_assert_uint_eq(bm_optim_iterations(o), NSTEPS);
    a->grad = b->grad = NULL;
    bm_optim_free(o);
    bm_optim_free(r);
    bm_tensor_free(a);
    bm_tensor_free(b);
    bm_tensor_free(z);
}
END_TEST

START_TEST(bad_groups_rejected)
{
    bm_optim_config c = bm_optim_defaults(BM_OPT_SGD);
    bm_error e = {0};
    bm_optim_group two[2] = {bm_optim_group_range(&c, 0, 3), bm_optim_group_range(&c, 2, 2)};
    ck_assert_ptr_null(bm_optim_new_groups(&c, BM_F64, NP, two, 2, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "overlap"));
    two[1].offset = 5;
    ck_assert_ptr_null(bm_optim_new_groups(&c, BM_F64, NP, two, 2, &e));
    ck_assert_int_eq(e.code, BM_ERR_SIZE);
    ck_assert_ptr_nonnull(strstr(e.msg, "groups[1]"));
    two[1] = bm_optim_group_range(&c, 3, 3);
    two[1].lr = -1;
    ck_assert_ptr_null(bm_optim_new_groups(&c, BM_F64, NP, two, 2, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "groups[1].lr"));
    two[1].lr = 1;
    two[1].weight_decay = NAN;
    ck_assert_ptr_null(bm_optim_new_groups(&c, BM_F64, NP, two, 2, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "groups[1].weight_decay"));
    ck_assert_ptr_null(bm_optim_new_groups(&c, BM_F64, NP, two, 0, &e));
    ck_assert_ptr_null(bm_optim_new_groups(&c, BM_F64, NP, NULL, 1, &e));
    ck_assert_int_eq(e.code, BM_ERR_NULL);

    bm_tensor *a = bm_tensor_new(BM_F64, 1, (size_t[]){2}, &e);
    bm_tensor *f = bm_tensor_new(BM_F32, 1, (size_t[]){2}, &e);
    bm_tensor *aa[2] = {a, a}, *af[2] = {a, f};
    bm_optim_group tg = bm_optim_group_tensors(&c, aa, 2);
    ck_assert_ptr_null(bm_optim_new_groups(&c, BM_F64, 0, &tg, 1, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "twice"));
    tg = bm_optim_group_tensors(&c, af, 2);
    ck_assert_ptr_null(bm_optim_new_groups(&c, BM_F64, 0, &tg, 1, &e));
    ck_assert_int_eq(e.code, BM_ERR_DTYPE);
    ck_assert_ptr_nonnull(strstr(e.msg, "tensors[1]"));
    tg = bm_optim_group_tensors(&c, af, 1);
    ck_assert_ptr_null(bm_optim_new_groups(&c, BM_F64, 4, &tg, 1, &e)); /* n_params */
    bm_optim_group mixed[2] = {tg, bm_optim_group_range(&c, 0, 1)};
    ck_assert_ptr_null(bm_optim_new_groups(&c, BM_F64, 0, mixed, 2, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "not both"));

    /* group_set checks and changes nothing on error */
    bm_optim *o = bm_optim_new(&c, BM_F64, NP, &e);
    ck_assert_int_eq(bm_optim_group_set(o, 1, 0.1, 0, 0, &e), BM_ERR_ARG);
    ck_assert_int_eq(bm_optim_group_set(o, 0, 0.0, 0, 1, &e), BM_ERR_ARG);
    int frozen = 1;
    ck_assert_int_eq(bm_optim_group_get(o, 0, NULL, NULL, &frozen, &e), BM_OK);
    ck_assert_int_eq(frozen, 0);
    ck_assert_int_eq(bm_optim_group_get(o, 1, NULL, NULL, NULL, &e), BM_ERR_ARG);
    bm_optim_free(o);
    bm_tensor_free(a);
    bm_tensor_free(f);
}
END_TEST

/* ------------------------------------------------------ weight decay */

/* AdamW: p *= 1 - lr*wd, then Adam; SGD's L2: p -= lr*(g + wd*p). */
START_TEST(weight_decay_formulas)
{
    bm_error e = {0};
    bm_optim_config aw = bm_optim_defaults(BM_OPT_ADAMW), sg = bm_optim_defaults(BM_OPT_SGD);
    ck_near(aw.weight_decay, BM_OPTIM_ADAMW_WEIGHT_DECAY, 0);
    ck_near(sg.weight_decay, 0.0, 0);
    aw.lr = 0.01;
    aw.weight_decay = 0.2;
    sg.lr = 0.1;
    sg.weight_decay = 0.05;
    bm_optim *oa = bm_optim_new(&aw, BM_F64, NP, &e), *os = bm_optim_new(&sg, BM_F64, NP, &e);
    double pa[NP], ps[NP], ra[NP], rs[NP], m[NP] = {0}, v[NP] = {0}, g[NP];
    memcpy(pa, P0, sizeof pa);
    memcpy(ps, P0, sizeof ps);
    memcpy(ra, P0, sizeof ra);
    memcpy(rs, P0, sizeof rs);
    for (int t = 0; t < NSTEPS; t++) {
        grads_f64(t, g, NP);
        ck_assert_int_eq(bm_optim_step(oa, pa, g, NP, &e), BM_OK);
        ck_assert_int_eq(bm_optim_step(os, ps, g, NP, &e), BM_OK);
        for (int i = 0; i < NP; i++) {
            ra[i] *= 1 - aw.lr * aw.weight_decay;
            m[i] = aw.beta1 * m[i] + (1 - aw.beta1) * g[i];
            v[i] = aw.beta2 * v[i] + (1 - aw.beta2) * g[i] * g[i];
            double mh = m[i] / (1 - pow(aw.beta1, t + 1)), vh = v[i] / (1 - pow(aw.beta2, t + 1));
            ra[i] -= aw.lr * mh / (sqrt(vh) + aw.eps);
            rs[i] -= sg.lr * (g[i] + sg.weight_decay * rs[i]);
        }
    }
    for (int i = 0; i < NP; i++) {
        ck_near(pa[i], ra[i], TOL);
        ck_near(ps[i], rs[i], TOL);
    }
    /* a NaN or negative weight decay is refused, naming the field */
    aw.weight_decay = -0.1;
    ck_assert_ptr_null(bm_optim_new(&aw, BM_F64, NP, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "weight_decay"));
    bm_optim_free(oa);
    bm_optim_free(os);
}
END_TEST

/* Over more elements than one gradient chunk (the L2 and clipping paths
 * transform the gradient 1024 at a time): SGD with momentum, L2 and both
 * clips equals the formula in double, and f32 agrees with f64. */
START_TEST(long_arrays_f32_and_f64)
{
    enum { N = 2500 };
    bm_optim_config c = bm_optim_defaults(BM_OPT_SGD);
    c.lr = 0.05;
    c.momentum = 0.9;
    c.weight_decay = 0.02;
    bm_error e = {0};
    bm_optim *od = bm_optim_new(&c, BM_F64, N, &e), *of = bm_optim_new(&c, BM_F32, N, &e);
    ck_assert_int_eq(bm_optim_set_clip(od, 20.0, 0.9, &e), BM_OK);
    ck_assert_int_eq(bm_optim_set_clip(of, 20.0, 0.9, &e), BM_OK);
    double *pd = malloc(N * sizeof *pd), *gd = malloc(N * sizeof *gd);
    double *r = malloc(N * sizeof *r), *m = calloc(N, sizeof *m);
    float *pf = malloc(N * sizeof *pf), *gf = malloc(N * sizeof *gf);
    for (int i = 0; i < N; i++)
        pd[i] = r[i] = pf[i] = (float)P0[i % NP];
    for (int t = 0; t < NSTEPS; t++) {
        double ss = 0;
        for (int i = 0; i < N; i++) {
            gd[i] = grad_at(t, i);
            gf[i] = (float)gd[i];
            ss += gd[i] * gd[i];
        }
        double coef = 20.0 / (sqrt(ss) + 1e-6);
        ck_assert(coef < 1.0); /* the norm clip acts */
        for (int i = 0; i < N; i++) {
            double g = fmin(fmax(gd[i] * coef, -0.9), 0.9) + c.weight_decay * r[i];
            m[i] = c.momentum * m[i] - c.lr * g;
            r[i] += m[i];
        }
        ck_assert_int_eq(bm_optim_step(od, pd, gd, N, &e), BM_OK);
        ck_assert_int_eq(bm_optim_step(of, pf, gf, N, &e), BM_OK);
        ck_near(bm_optim_grad_norm(od), sqrt(ss), TOL);
    }
    for (int i = 0; i < N; i++) {
        ck_near(pd[i], r[i], TOL);
        ck_near(pf[i], pd[i], 1e-5 * fmax(1.0, fabs(pd[i])));
    }
    free(pd);
    free(gd);
    free(r);
    free(m);
    free(pf);
    free(gf);
    bm_optim_free(od);
    bm_optim_free(of);
}
END_TEST

/* ---------------------------------------------------------- clipping */

START_TEST(clip_grad_norm_and_value)
{
    bm_optim_config c = bm_optim_defaults(BM_OPT_SGD);
    bm_error e = {0};
    bm_optim_group gs[2] = {bm_optim_group_range(&c, 0, 4), bm_optim_group_range(&c, 4, 2)};
    gs[1].frozen = 1;
    bm_optim *o = bm_optim_new_groups(&c, BM_F64, NP, gs, 2, &e);
    double g[NP] = {3, -4, 0, 0, 100, -100}, norm = 0;
    ck_assert_int_eq(bm_optim_clip_grad_norm(o, g, NP, 1.0, &norm, &e), BM_OK);
    ck_near(norm, 5.0, TOL); /* the frozen group is not counted */
    ck_near(g[0], 3.0 / (5.0 + 1e-6), TOL);
    ck_near(g[1], -4.0 / (5.0 + 1e-6), TOL);
    ck_assert(g[4] == 100 && g[5] == -100);
    /* under the limit: unchanged */
    double h[NP] = {0.3, -0.4, 0, 0, 9, 9};
    ck_assert_int_eq(bm_optim_clip_grad_norm(o, h, NP, 1.0, NULL, &e), BM_OK);
    ck_assert(h[0] == 0.3 && h[1] == -0.4);
    double v[NP] = {0.3, -0.7, NAN, 0.1, 9, -9};
    ck_assert_int_eq(bm_optim_clip_grad_value(o, v, NP, 0.5, &e), BM_OK);
    ck_assert(v[0] == 0.3 && v[1] == -0.5 && isnan(v[2]) && v[3] == 0.1 && v[4] == 9);
    ck_assert_int_eq(bm_optim_clip_grad_norm(o, g, NP, 0.0, NULL, &e), BM_ERR_ARG);
    ck_assert_int_eq(bm_optim_clip_grad_value(o, g, NP - 1, 1.0, &e), BM_ERR_SIZE);
    ck_assert_int_eq(bm_optim_clip_grad_value(o, NULL, NP, 1.0, &e), BM_ERR_NULL);
    bm_optim_free(o);
}
END_TEST

/* Clipping set on the optimizer gives the bits of clipping the gradients
 * first, and leaves the caller's gradients as they are. */
START_TEST(clip_in_step_matches_clip_then_step)
{
    bm_optim_config c = config_case(8);
    bm_error e = {0};
    bm_optim *a = bm_optim_new(&c, BM_F64, NP, &e), *b = bm_optim_new(&c, BM_F64, NP, &e);
    ck_assert(isnan(bm_optim_grad_norm(a)));
    ck_assert_int_eq(bm_optim_set_clip(a, 1.5, 0.6, &e), BM_OK);
    double pa[NP], pb[NP], g[NP], gc[NP];
    memcpy(pa, P0, sizeof pa);
    memcpy(pb, P0, sizeof pb);
    for (int t = 0; t < NSTEPS; t++) {
        grads_f64(t, g, NP);
        memcpy(gc, g, sizeof g);
        double norm;
        ck_assert_int_eq(bm_optim_clip_grad_norm(b, gc, NP, 1.5, &norm, &e), BM_OK);
        ck_assert_int_eq(bm_optim_clip_grad_value(b, gc, NP, 0.6, &e), BM_OK);
        ck_assert_int_eq(bm_optim_step(a, pa, g, NP, &e), BM_OK);
        ck_assert_int_eq(bm_optim_step(b, pb, gc, NP, &e), BM_OK);
        ck_assert(bm_optim_grad_norm(a) == norm);
        double g2[NP];
        grads_f64(t, g2, NP);
        ck_assert(!memcmp(g, g2, sizeof g)); /* caller's gradients untouched */
    }
    ck_assert(!memcmp(pa, pb, sizeof pa));
    ck_assert_int_eq(bm_optim_set_clip(a, -1, 0, &e), BM_ERR_ARG);
    ck_assert_int_eq(bm_optim_set_clip(a, 0, INFINITY, &e), BM_ERR_ARG);
    bm_optim_free(a);
    bm_optim_free(b);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("optim_groups");
    TCase *groups = tcase_create("groups");
    tcase_add_test(groups, groups_of_ranges_match_flat);
    tcase_add_test(groups, group_settings_apply_per_group);
    tcase_add_test(groups, tensor_groups_match_flat);
    tcase_add_test(groups, bad_groups_rejected);
    suite_add_tcase(s, groups);
    TCase *rules = tcase_create("decay_clip");
    tcase_add_test(rules, weight_decay_formulas);
    tcase_add_test(rules, long_arrays_f32_and_f64);
    tcase_add_test(rules, clip_grad_norm_and_value);
    tcase_add_test(rules, clip_in_step_matches_clip_then_step);
    suite_add_tcase(s, rules);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
