/* test_optim.c — SGD (decay, momentum), AdaGrad, RMSProp, Adam against
 * values worked out from the walk-through's formulas; config validation;
 * state arrays and checkpoint restore. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* Parameters of the worked examples. */
#define NP 3
/* Steps in the multi-step examples. */
#define NSTEPS 3
/* f64 results agree with the hand formulas to this (absolute, values ~1). */
#define TOL_F64 1e-12
/* f32 results agree with f64 to this (relative to max(1, |p|)). */
#define TOL_F32 1e-6

static const double P0[NP] = {1.0, -2.0, 0.5};
/* One gradient per step; every value is exact in f32 too. */
static const double G[NSTEPS][NP] = {
    {0.5, -1.0, 2.0},
    {-0.25, 0.5, 1.0},
    {1.0, 0.125, -0.5},
};

/* ------------------------------------------------------------ helpers */

/* Reference: the walk-through's update rules, written out in plain double,
 * independent of the library. Runs `steps` steps from P0 into p. */
static void ref_run(const bm_optim_config *c, int steps, double p[NP])
{
    double m[NP] = {0}, cache[NP] = {0};
    memcpy(p, P0, sizeof P0);
    for (int t = 0; t < steps; t++) {
        const double *g = G[t];
        double lr = c->lr * (1.0 / (1.0 + c->decay * t));
        for (int i = 0; i < NP; i++) {
            switch (c->kind) {
            case BM_OPT_SGD:
                if (c->momentum > 0) {
                    double u = c->momentum * m[i] - lr * g[i];
                    m[i] = u;
                    p[i] += u;
                } else {
                    p[i] += -lr * g[i];
                }
                break;
            case BM_OPT_ADAGRAD:
                cache[i] += g[i] * g[i];
                p[i] += -lr * g[i] / (sqrt(cache[i]) + c->eps);
                break;
            case BM_OPT_RMSPROP:
                cache[i] = c->rho * cache[i] + (1 - c->rho) * g[i] * g[i];
                p[i] += -lr * g[i] / (sqrt(cache[i]) + c->eps);
                break;
            case BM_OPT_ADAM:
            case BM_OPT_ADAMW: {
                m[i] = c->beta1 * m[i] + (1 - c->beta1) * g[i];
                double mhat = m[i] / (1 - pow(c->beta1, t + 1));
                cache[i] = c->beta2 * cache[i] + (1 - c->beta2) * g[i] * g[i];
                double chat = cache[i] / (1 - pow(c->beta2, t + 1));
                p[i] += -lr * mhat / (sqrt(chat) + c->eps);
                break;
            }
            }
        }
    }
}

/* Run `steps` library steps from P0 in dtype dt; results as double in p. */
static void lib_run(const bm_optim_config *c, bm_dtype dt, int steps, double p[NP])
{
    bm_error e = {0};
    bm_optim *o = bm_optim_new(c, dt, NP, &e);
    ck_assert_msg(o != NULL, "bm_optim_new: %s", e.msg);
    float pf[NP], gf[NP];
    double pd[NP];
    for (int i = 0; i < NP; i++) {
        pf[i] = (float)P0[i];
        pd[i] = P0[i];
    }
    for (int t = 0; t < steps; t++) {
        bm_status s;
        if (dt == BM_F32) {
            for (int i = 0; i < NP; i++)
                gf[i] = (float)G[t][i];
            s = bm_optim_step(o, pf, gf, NP, &e);
        } else {
            s = bm_optim_step(o, pd, G[t], NP, &e);
        }
        ck_assert_msg(s == BM_OK, "bm_optim_step: %s", e.msg);
    }
    ck_assert_uint_eq(bm_optim_iterations(o), (uint64_t)steps);
    for (int i = 0; i < NP; i++)
        p[i] = dt == BM_F32 ? (double)pf[i] : pd[i];
    bm_optim_free(o);
}

/* Configurations every numeric test runs: each kind, plain and with decay
 * (and SGD with momentum). */
static bm_optim_config config_case(int k)
{
    bm_optim_config c;
    switch (k) {
    case 0: c = bm_optim_defaults(BM_OPT_SGD); break;
    case 1: c = bm_optim_defaults(BM_OPT_SGD); c.lr = 0.5; c.decay = 0.1; break;
    case 2: c = bm_optim_defaults(BM_OPT_SGD); c.lr = 0.1; c.momentum = 0.9; break;
    case 3: c = bm_optim_defaults(BM_OPT_SGD); c.lr = 0.1; c.momentum = 0.5; c.decay = 0.01; break;
    case 4: c = bm_optim_defaults(BM_OPT_ADAGRAD); break;
    case 5: c = bm_optim_defaults(BM_OPT_ADAGRAD); c.lr = 0.5; c.decay = 1e-4; break;
    case 6: c = bm_optim_defaults(BM_OPT_RMSPROP); break;
    case 7: c = bm_optim_defaults(BM_OPT_RMSPROP); c.rho = 0.95; c.decay = 1e-2; break;
    case 8: c = bm_optim_defaults(BM_OPT_ADAM); break;
    default: c = bm_optim_defaults(BM_OPT_ADAM); c.lr = 0.02; c.decay = 5e-7; break;
    }
    return c;
}
/* Number of configurations in config_case. */
#define N_CASES 10

/* --------------------------------------------------- literal one step */

START_TEST(sgd_one_step_literal)
{
    bm_optim_config c = bm_optim_defaults(BM_OPT_SGD); /* lr 1 */
    double p[NP];
    lib_run(&c, BM_F64, 1, p);
    /* p - 1*g = [1-0.5, -2+1, 0.5-2] */
    ck_near(p[0], 0.5, 0.0);
    ck_near(p[1], -1.0, 0.0);
    ck_near(p[2], -1.5, 0.0);
}
END_TEST

START_TEST(sgd_momentum_literal)
{
    bm_optim_config c = bm_optim_defaults(BM_OPT_SGD);
    c.lr = 0.1;
    c.momentum = 0.9;
    double p[NP];
    /* Step 1: m = -0.1*g1 = [-0.05, 0.1, -0.2]; p = [0.95, -1.9, 0.3]. */
    lib_run(&c, BM_F64, 1, p);
    ck_near(p[0], 0.95, TOL_F64);
    ck_near(p[1], -1.9, TOL_F64);
    ck_near(p[2], 0.3, TOL_F64);
    /* Step 2: m = 0.9*m - 0.1*g2 = [-0.045+0.025, 0.09-0.05, -0.18-0.1]
     *           = [-0.02, 0.04, -0.28]; p = [0.93, -1.86, 0.02].
     * Step 3: m = 0.9*m - 0.1*g3 = [-0.018-0.1, 0.036-0.0125, -0.252+0.05]
     *           = [-0.118, 0.0235, -0.202]; p = [0.812, -1.8365, -0.182]. */
    lib_run(&c, BM_F64, 3, p);
    ck_near(p[0], 0.812, TOL_F64);
    ck_near(p[1], -1.8365, TOL_F64);
    ck_near(p[2], -0.182, TOL_F64);
}
END_TEST

START_TEST(adagrad_one_step_literal)
{
    bm_optim_config c = bm_optim_defaults(BM_OPT_ADAGRAD); /* lr 1, eps 1e-7 */
    double p[NP];
    lib_run(&c, BM_F64, 1, p);
    /* cache = g^2 = [0.25, 1, 4]; p -= g / (|g| + eps). */
    ck_near(p[0], 1.0 - 0.5 / (0.5 + 1e-7), TOL_F64);
    ck_near(p[1], -2.0 + 1.0 / (1.0 + 1e-7), TOL_F64);
    ck_near(p[2], 0.5 - 2.0 / (2.0 + 1e-7), TOL_F64);
    ck_near(p[0], 2e-7, 1e-12); /* ~ 1 - 1 */
}
END_TEST

START_TEST(rmsprop_one_step_literal)
{
    bm_optim_config c = bm_optim_defaults(BM_OPT_RMSPROP); /* lr 1e-3, rho 0.9 */
    double p[NP];
    lib_run(&c, BM_F64, 1, p);
    /* cache = 0.1*g^2 = [0.025, 0.1, 0.4]; p -= 1e-3*g / (sqrt(cache) + eps). */
    ck_near(p[0], 1.0 - 1e-3 * 0.5 / (sqrt(0.025) + 1e-7), TOL_F64);
    ck_near(p[1], -2.0 + 1e-3 * 1.0 / (sqrt(0.1) + 1e-7), TOL_F64);
    ck_near(p[2], 0.5 - 1e-3 * 2.0 / (sqrt(0.4) + 1e-7), TOL_F64);
    ck_near(p[0], 1.0 - 1e-3 * sqrt(10.0), 1e-8); /* 0.5/sqrt(0.025) = sqrt(10) */
}
END_TEST

START_TEST(adam_one_step_literal)
{
    bm_optim_config c = bm_optim_defaults(BM_OPT_ADAM); /* lr 1e-3 */
    double p[NP];
    lib_run(&c, BM_F64, 1, p);
    /* Step 1: mhat = 0.1g/0.1 = g, chat = 0.001g^2/0.001 = g^2, so
     * p -= 1e-3 * g / (|g| + eps): every parameter moves by ~lr against g. */
    ck_near(p[0], 1.0 - 1e-3 * 0.5 / (0.5 + 1e-7), TOL_F64);
    ck_near(p[1], -2.0 + 1e-3 * 1.0 / (1.0 + 1e-7), TOL_F64);
    ck_near(p[2], 0.5 - 1e-3 * 2.0 / (2.0 + 1e-7), TOL_F64);
    ck_near(p[1], -1.999, 1e-9);
}
END_TEST

/* ------------------------------------------ one and three steps, all */

START_TEST(one_and_three_steps_match_formulas)
{
    for (int k = 0; k < N_CASES; k++) {
        bm_optim_config c = config_case(k);
        for (int steps = 1; steps <= NSTEPS; steps += NSTEPS - 1) {
            double want[NP], got[NP];
            ref_run(&c, steps, want);
            lib_run(&c, BM_F64, steps, got);
            for (int i = 0; i < NP; i++)
                ck_assert_msg(fabs(got[i] - want[i]) <= TOL_F64,
                              "%s case %d, %d steps, p[%d] = %.17g, expected %.17g",
                              bm_optim_kind_name(c.kind), k, steps, i, got[i], want[i]);
            /* The parameters moved. */
            ck_assert(got[0] != P0[0]);
        }
    }
}
END_TEST

START_TEST(f32_agrees_with_f64)
{
    for (int k = 0; k < N_CASES; k++) {
        bm_optim_config c = config_case(k);
        double p32[NP], p64[NP];
        lib_run(&c, BM_F32, NSTEPS, p32);
        lib_run(&c, BM_F64, NSTEPS, p64);
        for (int i = 0; i < NP; i++) {
            double scale = fabs(p64[i]) > 1.0 ? fabs(p64[i]) : 1.0;
            ck_assert_msg(fabs(p32[i] - p64[i]) <= TOL_F32 * scale,
                          "%s case %d: f32 p[%d] = %.9g, f64 %.17g",
                          bm_optim_kind_name(c.kind), k, i, p32[i], p64[i]);
        }
    }
}
END_TEST

/* --------------------------------------------------------------- decay */

START_TEST(decay_schedule)
{
    bm_optim_config c = bm_optim_defaults(BM_OPT_SGD);
    c.lr = 1.0;
    c.decay = 0.5;
    bm_optim *o = bm_optim_new(&c, BM_F64, 1, NULL);
    ck_assert_ptr_nonnull(o);
    double p = 0.0;
    const double g = 1.0;
    double expect_p = 0.0;
    for (int t = 0; t < 4; t++) {
        double lr_t = 1.0 / (1.0 + 0.5 * t); /* 1, 2/3, 1/2, 2/5 */
        ck_near(bm_optim_lr(o), lr_t, 1e-15);
        ck_assert_int_eq(bm_optim_step(o, &p, &g, 1, NULL), BM_OK);
        expect_p -= lr_t;
        ck_near(p, expect_p, 1e-15);
    }
    ck_near(p, -(1.0 + 2.0 / 3.0 + 0.5 + 0.4), 1e-15);
    bm_optim_set_iterations(o, 10);
    ck_near(bm_optim_lr(o), 1.0 / 6.0, 1e-15);
    bm_optim_free(o);

    /* No decay: the rate stays. */
    c.decay = 0.0;
    o = bm_optim_new(&c, BM_F32, 1, NULL);
    bm_optim_set_iterations(o, 1000000);
    ck_near(bm_optim_lr(o), 1.0, 0.0);
    bm_optim_free(o);
}
END_TEST

/* ------------------------------------------------------------- state */

START_TEST(state_arrays_exposed)
{
    struct {
        bm_optim_kind kind;
        double momentum;
        int count;
        const char *names[2];
    } want[] = {
        {BM_OPT_SGD, 0.0, 0, {NULL, NULL}},
        {BM_OPT_SGD, 0.9, 1, {"momentums", NULL}},
        {BM_OPT_ADAGRAD, 0.0, 1, {"cache", NULL}},
        {BM_OPT_RMSPROP, 0.0, 1, {"cache", NULL}},
        {BM_OPT_ADAM, 0.0, 2, {"momentums", "cache"}},
    };
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        bm_optim_config c = bm_optim_defaults(want[w].kind);
        c.momentum = want[w].momentum;
        bm_optim *o = bm_optim_new(&c, BM_F64, NP, NULL);
        ck_assert_ptr_nonnull(o);
        ck_assert_int_eq(bm_optim_state_count(o), want[w].count);
        for (int k = 0; k < want[w].count; k++) {
            ck_assert_str_eq(bm_optim_state_name(o, k), want[w].names[k]);
            double *s = bm_optim_state(o, k);
            ck_assert_ptr_nonnull(s);
            for (int i = 0; i < NP; i++)
                ck_near(s[i], 0.0, 0.0); /* zero-initialized */
        }
        ck_assert_ptr_null(bm_optim_state(o, want[w].count));
        ck_assert_ptr_null(bm_optim_state(o, -1));
        ck_assert_ptr_null(bm_optim_state_name(o, want[w].count));
        bm_optim_free(o);
    }

    /* After one step the state holds the formulas' values. */
    bm_optim_config c = bm_optim_defaults(BM_OPT_ADAM);
    bm_optim *o = bm_optim_new(&c, BM_F64, NP, NULL);
    double p[NP];
    memcpy(p, P0, sizeof p);
    ck_assert_int_eq(bm_optim_step(o, p, G[0], NP, NULL), BM_OK);
    const double *m = bm_optim_state(o, 0), *cache = bm_optim_state(o, 1);
    for (int i = 0; i < NP; i++) /* (1-beta1) g and (1-beta2) g^2 */
        ck_assert(fabs(m[i] - 0.1 * G[0][i]) + fabs(cache[i] - 0.001 * G[0][i] * G[0][i]) < 1e-15);
    bm_optim_free(o);
}
END_TEST

/* Fill n gradients for step t from a seeded generator (exact in f32). */
static void make_grads(bm_rng *r, size_t n, double *gd, float *gf)
{
    for (size_t i = 0; i < n; i++) {
        float v = (float)bm_rng_normal(r);
        gf[i] = v;
        gd[i] = v;
    }
}

START_TEST(checkpoint_restore_is_bit_identical)
{
    enum { N = 17, TOTAL = 7, SAVE_AT = 3 };
    for (int k = 0; k < N_CASES; k++) {
        for (int dt = BM_F32; dt <= BM_F64; dt++) {
            bm_optim_config c = config_case(k);
            size_t es = bm_dtype_size((bm_dtype)dt);
            bm_optim *a = bm_optim_new(&c, (bm_dtype)dt, N, NULL);
            ck_assert_ptr_nonnull(a);
            bm_optim *b = NULL;
            double pa[N], pb[N]; /* f32 runs use the front half */
            double gd[N], p0[N];
            float gf[N];
            bm_rng r;
            bm_rng_seed(&r, 1234 + (uint64_t)k);
            for (int i = 0; i < N; i++) {
                p0[i] = bm_rng_uniform(&r) - 0.5;
                if (dt == BM_F32)
                    ((float *)pa)[i] = (float)p0[i];
                else
                    ((double *)pa)[i] = p0[i];
            }
            for (int t = 0; t < TOTAL; t++) {
                if (t == SAVE_AT) {
                    /* Checkpoint a into a fresh optimizer b. */
                    b = bm_optim_new(&c, (bm_dtype)dt, N, NULL);
                    ck_assert_ptr_nonnull(b);
                    ck_assert_int_eq(bm_optim_state_count(b), bm_optim_state_count(a));
                    memcpy(pb, pa, N * es);
                    for (int s = 0; s < bm_optim_state_count(a); s++)
                        memcpy(bm_optim_state(b, s), bm_optim_state(a, s), N * es);
                    bm_optim_set_iterations(b, bm_optim_iterations(a));
                }
                make_grads(&r, N, gd, gf);
                const void *g = dt == BM_F32 ? (const void *)gf : (const void *)gd;
                ck_assert_int_eq(bm_optim_step(a, pa, g, N, NULL), BM_OK);
                if (b)
                    ck_assert_int_eq(bm_optim_step(b, pb, g, N, NULL), BM_OK);
            }
            ck_assert_uint_eq(bm_optim_iterations(b), TOTAL);
            ck_assert_msg(memcmp(pa, pb, N * es) == 0, "%s case %d %s: params differ",
                          bm_optim_kind_name(c.kind), k, bm_dtype_name((bm_dtype)dt));
            for (int s = 0; s < bm_optim_state_count(a); s++)
                ck_assert_msg(memcmp(bm_optim_state(a, s), bm_optim_state(b, s), N * es) == 0,
                              "%s case %d: state %s differs", bm_optim_kind_name(c.kind), k,
                              bm_optim_state_name(a, s));
            bm_optim_free(a);
            bm_optim_free(b);
        }
    }
}
END_TEST

START_TEST(restore_needs_iterations_for_adam)
{
    /* Control: the same state without the iteration count continues
     * differently (bias correction restarts), so the count is needed. */
    bm_optim_config c = bm_optim_defaults(BM_OPT_ADAM);
    bm_optim *a = bm_optim_new(&c, BM_F64, NP, NULL);
    bm_optim *b = bm_optim_new(&c, BM_F64, NP, NULL);
    double pa[NP], pb[NP];
    memcpy(pa, P0, sizeof pa);
    ck_assert_int_eq(bm_optim_step(a, pa, G[0], NP, NULL), BM_OK);
    memcpy(pb, pa, sizeof pb);
    for (int s = 0; s < 2; s++)
        memcpy(bm_optim_state(b, s), bm_optim_state(a, s), sizeof pa);
    ck_assert_int_eq(bm_optim_step(a, pa, G[1], NP, NULL), BM_OK);
    ck_assert_int_eq(bm_optim_step(b, pb, G[1], NP, NULL), BM_OK);
    ck_assert(memcmp(pa, pb, sizeof pa) != 0);
    bm_optim_free(a);
    bm_optim_free(b);
}
END_TEST

/* ----------------------------------------------------------- getters */

START_TEST(getters_and_defaults)
{
    const double lrs[4] = {1.0, 1.0, 0.001, 0.001};
    for (int k = BM_OPT_SGD; k <= BM_OPT_ADAM; k++) {
        bm_optim_config c = bm_optim_defaults((bm_optim_kind)k);
        ck_assert_int_eq(c.kind, k);
        ck_near(c.lr, lrs[k], 0.0);
        ck_assert(c.decay == 0.0 && c.momentum == 0.0 && c.rho == 0.9 && c.beta1 == 0.9);
        ck_assert(c.beta2 == 0.999 && c.eps == 1e-7);
        bm_optim *o = bm_optim_new(&c, BM_F32, 5, NULL);
        ck_assert_ptr_nonnull(o);
        c.lr = 123.0; /* the optimizer keeps its own copy */
        ck_near(bm_optim_get_config(o)->lr, lrs[k], 0.0);
        ck_assert_int_eq(bm_optim_get_config(o)->kind, k);
        ck_assert_uint_eq(bm_optim_size(o), 5);
        ck_assert_int_eq(bm_optim_dtype(o), BM_F32);
        ck_assert_uint_eq(bm_optim_iterations(o), 0);
        ck_near(bm_optim_lr(o), lrs[k], 0.0);
        bm_optim_free(o);
    }
    /* NULL is harmless everywhere. */
    bm_optim_free(NULL);
    ck_assert_ptr_null(bm_optim_get_config(NULL));
    ck_assert_uint_eq(bm_optim_size(NULL), 0);
    ck_assert_uint_eq(bm_optim_iterations(NULL), 0);
    ck_assert_int_eq(bm_optim_state_count(NULL), 0);
    ck_assert_ptr_null(bm_optim_state(NULL, 0));
    ck_assert_ptr_null(bm_optim_state_name(NULL, 0));
    bm_optim_set_iterations(NULL, 3);
}
END_TEST

START_TEST(kind_names_round_trip)
{
    const char *names[5] = {"sgd", "adagrad", "rmsprop", "adam", "adamw"};
    for (int k = BM_OPT_SGD; k <= BM_OPT_ADAMW; k++) {
        ck_assert_str_eq(bm_optim_kind_name((bm_optim_kind)k), names[k]);
        bm_optim_kind out = BM_OPT_SGD;
        ck_assert_int_eq(bm_optim_kind_parse(names[k], &out, NULL), BM_OK);
        ck_assert_int_eq(out, k);
    }
    bm_optim_kind out = BM_OPT_SGD;
    ck_assert_int_eq(bm_optim_kind_parse("Adam", &out, NULL), BM_OK);
    ck_assert_int_eq(out, BM_OPT_ADAM);
    ck_assert_int_eq(bm_optim_kind_parse("RMSPROP", &out, NULL), BM_OK);
    ck_assert_int_eq(out, BM_OPT_RMSPROP);

    bm_error e = {0};
    out = BM_OPT_ADAGRAD;
    ck_assert_int_eq(bm_optim_kind_parse("lamb", &out, &e), BM_ERR_ARG);
    ck_assert_int_eq(e.code, BM_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(e.msg, "'lamb'"));
    ck_assert_ptr_nonnull(strstr(e.msg, "rmsprop"));
    ck_assert_int_eq(out, BM_OPT_ADAGRAD); /* untouched on error */
    ck_assert_int_eq(bm_optim_kind_parse("", &out, &e), BM_ERR_ARG);
    ck_assert_int_eq(bm_optim_kind_parse("sgdx", &out, &e), BM_ERR_ARG);
    ck_assert_int_eq(bm_optim_kind_parse("sg", &out, &e), BM_ERR_ARG);
    ck_assert_int_eq(bm_optim_kind_parse(NULL, &out, &e), BM_ERR_NULL);
    ck_assert_ptr_nonnull(strstr(e.msg, "name"));
    ck_assert_int_eq(bm_optim_kind_parse("sgd", NULL, &e), BM_ERR_NULL);
    ck_assert_ptr_nonnull(strstr(e.msg, "out"));
    ck_assert_str_eq(bm_optim_kind_name((bm_optim_kind)42), "unknown");
}
END_TEST

/* -------------------------------------------------------------- errors */

/* Set the config field called `field` to v. */
static void set_field(bm_optim_config *c, const char *field, double v)
{
    if (!strcmp(field, "lr")) c->lr = v;
    else if (!strcmp(field, "decay")) c->decay = v;
    else if (!strcmp(field, "momentum")) c->momentum = v;
    else if (!strcmp(field, "rho")) c->rho = v;
    else if (!strcmp(field, "beta1")) c->beta1 = v;
    else if (!strcmp(field, "beta2")) c->beta2 = v;
    else if (!strcmp(field, "eps")) c->eps = v;
    else ck_abort_msg("no field %s", field);
}

START_TEST(bad_configs_rejected)
{
    struct {
        bm_optim_kind kind;
        const char *field;
        double value;
    } bad[] = {
        {BM_OPT_SGD, "lr", 0.0},        {BM_OPT_SGD, "lr", -1.0},        {BM_OPT_ADAM, "lr", NAN},
        {BM_OPT_ADAGRAD, "lr", INFINITY}, {BM_OPT_ADAM, "decay", -0.1},  {BM_OPT_SGD, "decay", NAN},
        {BM_OPT_RMSPROP, "decay", INFINITY}, {BM_OPT_SGD, "momentum", 1.0},
        {BM_OPT_SGD, "momentum", -0.5}, {BM_OPT_SGD, "momentum", NAN}, {BM_OPT_RMSPROP, "rho", 1.0},
        {BM_OPT_RMSPROP, "rho", -0.1},  {BM_OPT_RMSPROP, "rho", NAN},    {BM_OPT_ADAM, "beta1", 1.0},
        {BM_OPT_ADAM, "beta1", -1e-9},  {BM_OPT_ADAM, "beta2", 1.0},    {BM_OPT_ADAM, "beta2", NAN},
        {BM_OPT_ADAGRAD, "eps", 0.0},   {BM_OPT_RMSPROP, "eps", -1e-7}, {BM_OPT_ADAM, "eps", INFINITY},
        {BM_OPT_ADAM, "eps", NAN},
    };
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        bm_optim_config c = bm_optim_defaults(bad[b].kind);
        set_field(&c, bad[b].field, bad[b].value);
        bm_error e = {0};
        ck_assert_ptr_null(bm_optim_new(&c, BM_F64, NP, &e));
        ck_assert_int_eq(e.code, BM_ERR_ARG);
        char needle[32];
        snprintf(needle, sizeof needle, "%s = ", bad[b].field);
        ck_assert_msg(strstr(e.msg, needle) && strstr(e.msg, "bm_optim_new"),
                      "case %zu: message '%s' does not name %s", b, e.msg, bad[b].field);
        /* A NULL err is allowed. */
        ck_assert_ptr_null(bm_optim_new(&c, BM_F32, NP, NULL));
    }

    bm_error e = {0};
    bm_optim_config c = bm_optim_defaults(BM_OPT_SGD);
    ck_assert_ptr_null(bm_optim_new(NULL, BM_F64, NP, &e));
    ck_assert_int_eq(e.code, BM_ERR_NULL);
    ck_assert_ptr_nonnull(strstr(e.msg, "cfg"));
    ck_assert_ptr_null(bm_optim_new(&c, BM_F64, 0, &e));
    ck_assert_int_eq(e.code, BM_ERR_SIZE);
    ck_assert_ptr_nonnull(strstr(e.msg, "n_params = 0"));
    ck_assert_ptr_null(bm_optim_new(&c, BM_F64, SIZE_MAX, &e));
    ck_assert_int_eq(e.code, BM_ERR_SIZE);
    ck_assert_ptr_null(bm_optim_new(&c, (bm_dtype)7, NP, &e));
    ck_assert_int_eq(e.code, BM_ERR_DTYPE);
    ck_assert_ptr_nonnull(strstr(e.msg, "dtype"));
    c.kind = (bm_optim_kind)9;
    ck_assert_ptr_null(bm_optim_new(&c, BM_F64, NP, &e));
    ck_assert_int_eq(e.code, BM_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(e.msg, "kind = 9"));

    /* Fields a kind does not use are not validated. */
    c = bm_optim_defaults(BM_OPT_SGD);
    c.eps = 0.0;
    c.beta1 = 5.0;
    c.rho = NAN;
    bm_optim *o = bm_optim_new(&c, BM_F64, NP, &e);
    ck_assert_ptr_nonnull(o);
    bm_optim_free(o);
}
END_TEST

START_TEST(step_errors_change_nothing)
{
    bm_optim_config c = bm_optim_defaults(BM_OPT_ADAM);
    bm_optim *o = bm_optim_new(&c, BM_F64, NP, NULL);
    double p[NP];
    memcpy(p, P0, sizeof p);
    bm_error e = {0};

    ck_assert_int_eq(bm_optim_step(o, p, G[0], NP - 1, &e), BM_ERR_SIZE);
    ck_assert_ptr_nonnull(strstr(e.msg, "n = 2"));
    ck_assert_ptr_nonnull(strstr(e.msg, "n_params = 3"));
    ck_assert_int_eq(bm_optim_step(o, p, G[0], NP + 1, NULL), BM_ERR_SIZE);
    ck_assert_int_eq(bm_optim_step(o, NULL, G[0], NP, &e), BM_ERR_NULL);
    ck_assert_ptr_nonnull(strstr(e.msg, "params"));
    ck_assert_int_eq(bm_optim_step(o, p, NULL, NP, &e), BM_ERR_NULL);
    ck_assert_ptr_nonnull(strstr(e.msg, "grads"));
    ck_assert_int_eq(bm_optim_step(NULL, p, G[0], NP, &e), BM_ERR_NULL);
    ck_assert_ptr_nonnull(strstr(e.msg, "optimizer"));

    ck_assert_uint_eq(bm_optim_iterations(o), 0);
    ck_assert(memcmp(p, P0, sizeof p) == 0);
    for (int s = 0; s < bm_optim_state_count(o); s++) {
        const double *st = bm_optim_state(o, s);
        for (int i = 0; i < NP; i++)
            ck_near(st[i], 0.0, 0.0);
    }
    bm_optim_free(o);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *rules = tcase_create("rules");
    tcase_add_test(rules, sgd_one_step_literal);
    tcase_add_test(rules, sgd_momentum_literal);
    tcase_add_test(rules, adagrad_one_step_literal);
    tcase_add_test(rules, rmsprop_one_step_literal);
    tcase_add_test(rules, adam_one_step_literal);
    tcase_add_test(rules, one_and_three_steps_match_formulas);
    tcase_add_test(rules, f32_agrees_with_f64);
    tcase_add_test(rules, decay_schedule);
    suite_add_tcase(s, rules);

    TCase *state = tcase_create("state");
    tcase_add_test(state, state_arrays_exposed);
    tcase_add_test(state, checkpoint_restore_is_bit_identical);
    tcase_add_test(state, restore_needs_iterations_for_adam);
    suite_add_tcase(s, state);

    TCase *api = tcase_create("api");
    tcase_add_test(api, getters_and_defaults);
    tcase_add_test(api, kind_names_round_trip);
    tcase_add_test(api, bad_configs_rejected);
    tcase_add_test(api, step_errors_change_nothing);
    suite_add_tcase(s, api);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
