/* test_ops.c — every op in ops.def: F64 gradcheck on several shapes
 * (broadcasting included), F32 agreeing with F64, and bad input. The case
 * table is checked against the registry: an op without a case fails. */
#include <string.h>

#include "ops_internal.h"
#include "test_util.h"

enum dom { ANY, POS, PROB };                   /* input value ranges */
enum tgt { NONE, IDX, ONEHOT, SAME01, SAMEANY }; /* the non-differentiable target */

typedef bm_tensor *(*build_fn)(bm_tape *t, bm_tensor *const *in, bm_tensor *y, bm_rng *r);

typedef struct op_case {
    const char *op;
    build_fn build;
    int n_in;
    int rank[2];
    size_t shape[2][BM_MAX_RANK];
    enum dom dom;
    enum tgt tgt;
} op_case;

#define B1(name, expr) \
    static bm_tensor *b_##name(bm_tape *t, bm_tensor *const *in, bm_tensor *y, bm_rng *r) \
    {                                                                                \
        (void)y, (void)r;                                                            \
        return expr;                                                                 \
    }

B1(matmul, bm_matmul(t, in[0], in[1]))
B1(add, bm_add(t, in[0], in[1]))
B1(sub, bm_sub(t, in[0], in[1]))
B1(mul, bm_mul(t, in[0], in[1]))
B1(div, bm_div(t, in[0], in[1]))
B1(neg, bm_neg(t, in[0]))
B1(scale, bm_scale(t, in[0], -1.5))
B1(add_scalar, bm_add_scalar(t, in[0], 0.75))
B1(exp, bm_exp(t, in[0]))
B1(log, bm_log(t, in[0]))
B1(pow, bm_pow(t, in[0], 2.5))
B1(sqrt, bm_sqrt(t, in[0]))
B1(abs, bm_abs(t, in[0]))
B1(relu, bm_relu(t, in[0]))
B1(sigmoid, bm_sigmoid(t, in[0]))
B1(tanh, bm_tanh(t, in[0]))
B1(softmax, bm_softmax(t, in[0]))
B1(log_softmax, bm_log_softmax(t, in[0]))
B1(sum_all, bm_sum(t, in[0], BM_AXIS_ALL, 0))
B1(sum_0, bm_sum(t, in[0], 0, 0))
B1(sum_last_keep, bm_sum(t, in[0], -1, 1))
B1(mean_all, bm_mean(t, in[0], BM_AXIS_ALL, 1))
B1(mean_1, bm_mean(t, in[0], 1, 0))
B1(transpose, bm_transpose(t, in[0]))
B1(reshape, bm_reshape(t, in[0], 2, (size_t[]){in[0] ? in[0]->size / 2 : 1, 2}))
B1(cce, bm_cce(t, in[0], y))
B1(softmax_cce, bm_softmax_cce(t, in[0], y))
B1(bce, bm_bce(t, in[0], y))
B1(mse, bm_mse(t, in[0], y))
B1(mae, bm_mae(t, in[0], y))
B1(dropout, bm_dropout(t, in[0], 0.3, r))
B1(l1, bm_l1(t, in[0], 0.1))
B1(l2, bm_l2(t, in[0], 0.05))

#define S1(r0, ...) 1, {r0, 0}, {{__VA_ARGS__}, {0}}
#define S2(r0, r1, s0, s1) 2, {r0, r1}, {s0, s1}
#define SH(...) {__VA_ARGS__}

static const op_case cases[] = {
    {"matmul", b_matmul, S2(2, 2, SH(3, 4), SH(4, 5)), ANY, NONE},
    {"matmul", b_matmul, S2(2, 2, SH(1, 1), SH(1, 7)), ANY, NONE},
    {"matmul", b_matmul, S2(2, 2, SH(5, 33), SH(33, 2)), ANY, NONE},
    {"add", b_add, S2(2, 2, SH(3, 4), SH(3, 4)), ANY, NONE},
    {"add", b_add, S2(2, 2, SH(3, 4), SH(1, 4)), ANY, NONE},
    {"add", b_add, S2(3, 1, SH(2, 3, 4), SH(4)), ANY, NONE},
    {"add", b_add, S2(2, 2, SH(3, 1), SH(1, 4)), ANY, NONE},
    {"sub", b_sub, S2(2, 2, SH(3, 4), SH(3, 1)), ANY, NONE},
    {"sub", b_sub, S2(4, 0, SH(2, 1, 3, 2), SH(1)), ANY, NONE},
    {"mul", b_mul, S2(2, 2, SH(3, 4), SH(3, 4)), ANY, NONE},
    {"mul", b_mul, S2(2, 1, SH(5, 3), SH(3)), ANY, NONE},
    {"div", b_div, S2(2, 2, SH(3, 4), SH(3, 4)), POS, NONE},
    {"div", b_div, S2(2, 2, SH(3, 4), SH(1, 4)), POS, NONE},
    {"neg", b_neg, S1(2, 3, 4), ANY, NONE},
    {"scale", b_scale, S1(1, 6), ANY, NONE},
    {"add_scalar", b_add_scalar, S1(3, 2, 2, 2), ANY, NONE},
    {"exp", b_exp, S1(2, 3, 4), ANY, NONE},
    {"log", b_log, S1(2, 3, 4), POS, NONE},
    {"pow", b_pow, S1(2, 3, 4), POS, NONE},
    {"sqrt", b_sqrt, S1(1, 9), POS, NONE},
    {"abs", b_abs, S1(2, 3, 4), ANY, NONE},
    {"relu", b_relu, S1(2, 4, 5), ANY, NONE},
    {"relu", b_relu, S1(0, 1), POS, NONE},
    {"sigmoid", b_sigmoid, S1(2, 3, 4), ANY, NONE},
    {"tanh", b_tanh, S1(2, 3, 4), ANY, NONE},
    {"softmax", b_softmax, S1(2, 3, 5), ANY, NONE},
    {"softmax", b_softmax, S1(3, 2, 2, 3), ANY, NONE},
    {"log_softmax", b_log_softmax, S1(2, 4, 3), ANY, NONE},
    {"sum", b_sum_all, S1(2, 3, 4), ANY, NONE},
    {"sum", b_sum_0, S1(3, 2, 3, 4), ANY, NONE},
    {"sum", b_sum_last_keep, S1(2, 3, 4), ANY, NONE},
    {"mean", b_mean_all, S1(2, 3, 4), ANY, NONE},
    {"mean", b_mean_1, S1(3, 2, 3, 4), ANY, NONE},
    {"transpose", b_transpose, S1(2, 3, 5), ANY, NONE},
    {"transpose", b_transpose, S1(3, 2, 3, 4), ANY, NONE},
    {"reshape", b_reshape, S1(3, 2, 3, 2), ANY, NONE},
    {"cce", b_cce, S1(2, 4, 3), PROB, IDX},
    {"cce", b_cce, S1(2, 4, 3), PROB, ONEHOT},
    {"softmax_cce", b_softmax_cce, S1(2, 4, 3), ANY, IDX},
    {"softmax_cce", b_softmax_cce, S1(2, 5, 4), ANY, ONEHOT},
    {"bce", b_bce, S1(2, 4, 2), PROB, SAME01},
    {"mse", b_mse, S1(2, 4, 3), ANY, SAMEANY},
    {"mae", b_mae, S1(2, 4, 3), ANY, SAMEANY},
    {"dropout", b_dropout, S1(2, 6, 5), ANY, NONE},
    {"l1", b_l1, S1(2, 3, 4), ANY, NONE},
    {"l2", b_l2, S1(2, 3, 4), ANY, NONE},
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

/* Fill x with values of the case's domain, kept away from 0 (kinks). */
static void fill(bm_tensor *x, enum dom d, bm_rng *r)
{
    for (size_t i = 0; i < x->size; i++) {
        double u = bm_rng_uniform(r);
        double v = d == POS ? 0.3 + 1.7 * u : d == PROB ? 0.05 + 0.9 * u : 2.0 * u - 1.0;
        if (d == ANY && fabs(v) < 0.1)
            v = v < 0 ? v - 0.1 : v + 0.1;
        bm_tensor_set(x, i, d == ANY ? 2.0 * v : v);
    }
}

/* Build the target of case c for prediction shape of in0. */
static bm_tensor *make_target(bm_tape *t, const op_case *c, const bm_tensor *in0, bm_rng *r)
{
    if (c->tgt == NONE)
        return NULL;
    size_t N = in0->shape[0], C = in0->rank > 1 ? in0->shape[1] : 1;
    bm_tensor *y = c->tgt == IDX ? bm_tape_leaf(t, in0->dtype, 1, &N, 0)
                                 : bm_tape_leaf(t, in0->dtype, in0->rank, in0->shape, 0);
    for (size_t i = 0; i < N; i++) {
        size_t cls = (i * 7 + 1) % C;
        if (c->tgt == IDX)
            bm_tensor_set(y, i, (double)cls);
        else if (c->tgt == ONEHOT)
            bm_tensor_set(y, i * C + cls, 1.0);
    }
    if (c->tgt == SAME01 || c->tgt == SAMEANY)
        for (size_t i = 0; i < y->size; i++)
            bm_tensor_set(y, i, c->tgt == SAME01 ? (double)(bm_rng_next(r) & 1)
                                                 : 2.0 * bm_rng_uniform(r) - 1.0);
    return y;
}

/* Record case c in dtype dt on tape t; inputs land in in[]. */
static bm_tensor *record(bm_tape *t, const op_case *c, bm_dtype dt, bm_tensor **in,
                         bm_rng *vals, bm_rng *drop)
{
    for (int k = 0; k < c->n_in; k++) {
        in[k] = bm_tape_leaf(t, dt, c->rank[k], c->shape[k], BM_REQUIRES_GRAD);
        ck_assert_msg(in[k] != NULL, "%s: %s", c->op, bm_tape_error(t));
        fill(in[k], c->dom, vals);
    }
    bm_tensor *y = make_target(t, c, in[0], vals);
    bm_tensor *out = c->build(t, in, y, drop);
    ck_assert_msg(out != NULL, "%s: %s", c->op, bm_tape_error(t));
    return out;
}

START_TEST(every_op_has_a_case)
{
    for (size_t i = 0; i < bm_op_count(); i++) {
        int found = 0;
        for (int c = 0; c < N_CASES; c++)
            found += strcmp(cases[c].op, bm_op_name(i)) == 0;
        ck_assert_msg(found > 0, "op %s in ops.def has no gradcheck case", bm_op_name(i));
        ck_assert_ptr_nonnull(bm_op_inputs(i));
        ck_assert_ptr_nonnull(bm_op_gradient(i));
    }
    for (int c = 0; c < N_CASES; c++)
        ck_assert_msg(bm_op_find(cases[c].op) != NULL, "case names unknown op %s", cases[c].op);
}
END_TEST

START_TEST(gradcheck_f64)
{
    const op_case *c = &cases[_i];
    bm_tape *t = bm_tape_new();
    bm_rng vals, drop;
    bm_rng_seed(&vals, 1000 + (uint64_t)_i);
    bm_rng_seed(&drop, 7);
    bm_tensor *in[2] = {NULL, NULL};
    bm_tensor *out = record(t, c, BM_F64, in, &vals, &drop);
    bm_gradcheck_result res;
    bm_gradcheck_opts o = bm_gradcheck_defaults();
    ck_assert_int_eq(bm_gradcheck(t, out, in, (size_t)c->n_in, &o, &res), BM_OK);
    ck_assert_msg(res.passed, "case %d (%s): %s (max abs %g, rel %g)", _i, c->op, res.message,
                  res.max_abs_err, res.max_rel_err);
    o.mode = BM_GRADCHECK_PROJECTION;
    ck_assert_int_eq(bm_gradcheck(t, out, in, (size_t)c->n_in, &o, &res), BM_OK);
    ck_assert_msg(res.passed, "case %d (%s) projection: %s", _i, c->op, res.message);
    bm_tape_free(t);
}
END_TEST

START_TEST(f32_agrees_with_f64)
{
    /* Stated tolerance: 1e-4 relative to the largest magnitude involved. */
    const double tol = 1e-4;
    const op_case *c = &cases[_i];
    bm_tape *t64 = bm_tape_new(), *t32 = bm_tape_new();
    bm_rng v1, v2, d1, d2;
    bm_rng_seed(&v1, 99 + (uint64_t)_i);
    v2 = v1;
    bm_rng_seed(&d1, 5);
    d2 = d1;
    bm_tensor *a[2] = {NULL, NULL}, *b[2] = {NULL, NULL};
    bm_tensor *o64 = record(t64, c, BM_F64, a, &v1, &d1);
    bm_tensor *o32 = record(t32, c, BM_F32, b, &v2, &d2);
    bm_tensor *s64 = bm_tape_leaf(t64, BM_F64, o64->rank, o64->shape, 0);
    bm_tensor *s32 = bm_tape_leaf(t32, BM_F32, o32->rank, o32->shape, 0);
    for (size_t i = 0; i < o64->size; i++) {
        bm_tensor_set(s64, i, 1.0 + 0.01 * (double)i);
        bm_tensor_set(s32, i, 1.0 + 0.01 * (double)i);
    }
    ck_assert_int_eq(bm_tape_backward(t64, o64, s64), BM_OK);
    ck_assert_int_eq(bm_tape_backward(t32, o32, s32), BM_OK);
    for (size_t i = 0; i < o64->size; i++) {
        double x = bm_tensor_get(o64, i);
        ck_near(bm_tensor_get(o32, i), x, tol * fmax(1.0, fabs(x)));
    }
    for (int k = 0; k < c->n_in; k++)
        for (size_t i = 0; i < a[k]->size; i++) {
            double g = bm_tensor_grad_get(a[k], i);
            ck_near(bm_tensor_grad_get(b[k], i), g, tol * fmax(1.0, fabs(g)));
        }
    bm_tape_free(t64);
    bm_tape_free(t32);
}
END_TEST

/* Every op rejects a NULL input and a dtype mix with a message naming it. */
START_TEST(null_and_dtype_mix)
{
    const op_case *c = &cases[_i];
    bm_tape *t = bm_tape_new();
    bm_rng r;
    bm_rng_seed(&r, 3);
    bm_tensor *in[2] = {NULL, NULL};
    ck_assert_ptr_null(c->build(t, in, NULL, &r));
    ck_assert_int_eq(bm_tape_status(t), BM_ERR_NULL);
    char want[64];
    snprintf(want, sizeof want, "bm_%s", c->op);
    ck_assert_msg(strstr(bm_tape_error(t), want), "message '%s' lacks '%s'", bm_tape_error(t),
                  want);
    ck_assert_ptr_nonnull(strstr(bm_tape_error(t), "NULL"));
    bm_tape_reset(t);
    /* a dtype mix: inputs or target in the other dtype */
    if (c->n_in == 2 || c->tgt != NONE) {
        in[0] = bm_tape_leaf(t, BM_F64, c->rank[0], c->shape[0], BM_REQUIRES_GRAD);
        fill(in[0], c->dom, &r);
        bm_tensor *y = NULL;
        if (c->n_in == 2) {
            in[1] = bm_tape_leaf(t, BM_F32, c->rank[1], c->shape[1], BM_REQUIRES_GRAD);
            fill(in[1], c->dom, &r);
        } else {
            bm_tensor *y64 = make_target(t, c, in[0], &r);
            y = bm_tape_leaf(t, BM_F32, y64->rank, y64->shape, 0);
        }
        ck_assert_ptr_null(c->build(t, in, y, &r));
        ck_assert_int_eq(bm_tape_status(t), BM_ERR_DTYPE);
        ck_assert_msg(strstr(bm_tape_error(t), want) && strstr(bm_tape_error(t), "f32"),
                      "%s", bm_tape_error(t));
    }
    bm_tape_free(t);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("ops");
    TCase *tc = tcase_create("registry");
    tcase_add_test(tc, every_op_has_a_case);
    tcase_add_loop_test(tc, gradcheck_f64, 0, N_CASES);
    tcase_add_loop_test(tc, f32_agrees_with_f64, 0, N_CASES);
    tcase_add_loop_test(tc, null_and_dtype_mix, 0, N_CASES);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
