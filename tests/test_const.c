/* test_const.c — values computed with recording off (no-grad mode) are
 * constants (BM_CONST): replay does not recompute them, DOT draws them apart,
 * and bm_gradcheck warns about an input that reaches the output only
 * through them. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_graph_util.h"

/* out = W ⊙ mean(x, axis 0), with the mean taken with recording off:
 * x [2,3], W [1,3], mu [1,3], out [1,3] (all f64). */
typedef struct const_graph {
    bm_tape *t;
    bm_tensor *x, *W, *mu, *out;
} const_graph;

static void build(const_graph *g, int mean_recorded)
{
    size_t xs[2] = {2, 3}, ws[2] = {1, 3};
    double xv[6] = {1, 2, 3, 5, 6, 7}, wv[3] = {0.5, -1, 2};
    g->t = bm_tape_new();
    ck_assert_ptr_nonnull(g->t);
    g->x = bm_tape_leaf(g->t, BM_F64, 2, xs, BM_REQUIRES_GRAD);
    g->W = bm_tape_leaf(g->t, BM_F64, 2, ws, BM_PARAM | BM_REQUIRES_GRAD);
    ck_assert_ptr_nonnull(g->W);
    ck_assert_int_eq(bm_tensor_load(g->x, xv, 6, NULL), BM_OK);
    ck_assert_int_eq(bm_tensor_load(g->W, wv, 3, NULL), BM_OK);
    g->x->name = "x";
    g->W->name = "W";
    int was = bm_tape_set_grad_enabled(g->t, mean_recorded);
    g->mu = bm_mean(g->t, g->x, 0, 1);
    bm_tape_set_grad_enabled(g->t, was);
    g->out = bm_mul(g->t, g->W, g->mu);
    ck_assert_msg(g->out != NULL, "%s", bm_tape_error(g->t));
}

/* The documented trap: replay reads the constant's old value. */
START_TEST(replay_keeps_constants)
{
    const_graph g;
    build(&g, 0);
    ck_assert(g.mu->flags & BM_CONST);
    ck_assert_ptr_null(g.mu->node);
    ck_assert_uint_eq(bm_tape_size(g.t), 1); /* only the mul is recorded */
    double before = bm_tensor_get(g.out, 2);
    ck_assert(before == 2 * 5.0);
    double xv[6] = {10, 20, 30, 50, 60, 70};
    ck_assert_int_eq(bm_tensor_load(g.x, xv, 6, NULL), BM_OK);
    ck_assert_int_eq(bm_tape_forward(g.t), BM_OK);
    ck_assert(bm_tensor_get(g.out, 2) == before); /* the old mean: not recomputed */
    bm_tape_free(g.t);
    /* recorded, the same graph follows the new data */
    build(&g, 1);
    ck_assert(!(g.mu->flags & BM_CONST));
    ck_assert_int_eq(bm_tensor_load(g.x, xv, 6, NULL), BM_OK);
    ck_assert_int_eq(bm_tape_forward(g.t), BM_OK);
    ck_assert(bm_tensor_get(g.out, 2) == 2 * 50.0);
    bm_tape_free(g.t);
}
END_TEST

/* DOT draws a constant as its own kind (c0), grey and dashed, with a note;
 * JSON calls it "constant". A recorded mean is an op node instead. */
START_TEST(dot_marks_constants)
{
    const_graph g;
    build(&g, 0);
    char *dot = bm_test_export_ok(g.t, g.out, NULL, 0);
    ck_assert_msg(strstr(dot, "  c0 [label=\"constant\\n[1,3] f64\\nno-grad constant: not "
                              "replayed\", shape=box, style=\"filled,dashed\", "
                              "fillcolor=\"#eeeeee\"") != NULL,
                  "%s", dot);
    ck_assert_msg(strstr(dot, "c0 -> n0") != NULL, "%s", dot);
    ck_assert_ptr_null(strstr(dot, "in0")); /* W is p0; nothing else is a plain input */
    free(dot);
    char *json = bm_test_export_ok(g.t, g.out, NULL, 1);
    ck_assert_msg(strstr(json, "\"id\": \"c0\", \"kind\": \"constant\"") != NULL, "%s", json);
    free(json);
    bm_tape_free(g.t);
    build(&g, 1);
    dot = bm_test_export_ok(g.t, g.out, NULL, 0);
    ck_assert_ptr_null(strstr(dot, "constant"));
    ck_assert_ptr_nonnull(strstr(dot, "0: mean"));
    free(dot);
    bm_tape_free(g.t);
}
END_TEST

/* gradcheck passes on W but names x, which reaches out only through the
 * constant; with the mean recorded there is no warning. */
START_TEST(gradcheck_warns_through_constants)
{
    const_graph g;
    build(&g, 0);
    bm_tensor *in[2] = {g.W, g.x};
    bm_gradcheck_result r;
    ck_assert_int_eq(bm_gradcheck(g.t, g.out, in, 2, NULL, &r), BM_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    ck_assert_msg(!strncmp(r.warning, "input 1: reaches the output only through constants (1 read "
                                      "of values computed with recording off",
                           82),
                  "%s", r.warning);
    ck_assert_ptr_nonnull(strstr(r.warning, "the check says nothing about it"));
    bm_tape_free(g.t);

    build(&g, 1);
    in[0] = g.W, in[1] = g.x;
    ck_assert_int_eq(bm_gradcheck(g.t, g.out, in, 2, NULL, &r), BM_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    ck_assert_str_eq(r.warning, "");
    bm_tape_free(g.t);

    /* an input the output does not read at all */
    size_t s[1] = {3};
    bm_tape *t = bm_tape_new();
    bm_tensor *a = bm_tape_leaf(t, BM_F64, 1, s, BM_REQUIRES_GRAD),
              *b = bm_tape_leaf(t, BM_F64, 1, s, BM_REQUIRES_GRAD);
    ck_assert_ptr_nonnull(b);
    double av[3] = {1, 2, 3};
    ck_assert_int_eq(bm_tensor_load(a, av, 3, NULL), BM_OK);
    bm_tensor *o = bm_exp(t, a), *both[2] = {b, a};
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(bm_gradcheck(t, o, both, 2, NULL, &r), BM_OK);
    ck_assert_str_eq(r.warning, "input 0: the output does not depend on it");
    bm_tape_free(t);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("constants");
    TCase *tc = tcase_create("constants");
    tcase_add_test(tc, replay_keeps_constants);
    tcase_add_test(tc, dot_marks_constants);
    tcase_add_test(tc, gradcheck_warns_through_constants);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
