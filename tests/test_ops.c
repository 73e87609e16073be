/* test_ops.c — every op in ops.def: F64 gradcheck on several shapes
 * (broadcasting included), F32 agreeing with F64, and bad input. The case
 * table is checked against the registry: an op without a case fails. */
#include <stdlib.h>
#include <string.h>

#include "op_cases_internal.h"
#include "test_util.h"

/* Record case c, asserting success. */
static bm_tensor *record(bm_tape *t, const bm_op_case *c, bm_dtype dt, bm_tensor **in,
                         bm_rng *vals, bm_rng *drop)
{
    bm_tensor *out = bm_op_case_record(t, c, dt, in, vals, drop);
    ck_assert_msg(out != NULL, "%s: %s", c->op, bm_tape_error(t));
    return out;
}

START_TEST(every_op_has_a_case)
{
    for (size_t i = 0; i < bm_op_count(); i++) {
        int found = 0;
        for (size_t c = 0; c < bm_op_case_count(); c++)
            found += strcmp(bm_op_case_at(c)->op, bm_op_name(i)) == 0;
        ck_assert_msg(found > 0, "op %s in ops.def has no gradcheck case", bm_op_name(i));
        /* the README's table row: neither column left empty in ops.def */
        ck_assert_msg(bm_op_inputs(i)[0] != '\0', "op %s: no inputs text", bm_op_name(i));
        ck_assert_msg(bm_op_gradient(i)[0] != '\0', "op %s: no gradient text", bm_op_name(i));
        ck_assert_msg(bm_op_find(bm_op_name(i)) != NULL, "op %s is not found by name",
                      bm_op_name(i));
    }
    for (size_t c = 0; c < bm_op_case_count(); c++)
        ck_assert_msg(bm_op_find(bm_op_case_at(c)->op) != NULL, "case names unknown op %s",
                      bm_op_case_at(c)->op);
}
END_TEST

/* The first node of op `name` that one of its cases records, described into
 * buf (a case may record another form: attention without recompute); the
 * node's parameter block goes to *params. 0 when no case records one. */
static int describe_from_cases(const char *name, char *buf, size_t len, unsigned char *params,
                               size_t size)
{
    for (size_t i = 0; i < bm_op_case_count(); i++) {
        const bm_op_case *c = bm_op_case_at(i);
        if (strcmp(c->op, name) != 0)
            continue;
        bm_tape *t = bm_tape_new();
        bm_rng vals, drop;
        bm_rng_seed(&vals, 1000 + (uint64_t)i);
        bm_rng_seed(&drop, 7);
        bm_tensor *in[BM_MAX_INPUTS] = {NULL};
        record(t, c, BM_F64, in, &vals, &drop);
        const bm_node *nd = bm_tape_first(t);
        while (nd && strcmp(bm_node_op_name(nd), name) != 0)
            nd = bm_node_next(nd);
        if (nd) {
            bm_node_describe(nd, buf, len);
            memcpy(params, bm_op_params(nd), size);
        }
        bm_tape_free(t);
        if (nd)
            return 1;
    }
    return 0;
}

/* Every op with a parameter block shows it: DOT labels print describe()'s
 * text as name(params), JSON as "params", so a parameter never hides. */
START_TEST(params_are_described)
{
    for (size_t i = 0; i < bm_op_count(); i++) {
        const bm_op *op = bm_op_find(bm_op_name(i));
        ck_assert_ptr_nonnull(op);
        if (op->params_size == 0)
            continue;
        ck_assert_msg(op->describe != NULL, "op %s has parameters but no describe", op->name);
        char buf[128] = "";
        unsigned char *pb = calloc(1, op->params_size);
        ck_assert_ptr_nonnull(pb);
        ck_assert_msg(describe_from_cases(op->name, buf, sizeof buf, pb, op->params_size),
                      "no case of %s records a %s node", op->name, op->name);
        /* empty text only for the all-default block (matmul without transposes) */
        int zero = 1;
        for (size_t b = 0; b < op->params_size; b++)
            zero &= pb[b] == 0;
        free(pb);
        ck_assert_msg(buf[0] != '\0' || zero, "op %s: describe wrote nothing", op->name);
    }
}
END_TEST

START_TEST(gradcheck_f64)
{
    const bm_op_case *c = bm_op_case_at((size_t)_i);
    bm_tape *t = bm_tape_new();
    bm_rng vals, drop;
    bm_rng_seed(&vals, 1000 + (uint64_t)_i);
    bm_rng_seed(&drop, 7);
    bm_tensor *in[BM_MAX_INPUTS] = {NULL};
    bm_tensor *out = record(t, c, BM_F64, in, &vals, &drop);
    if (c->flags & CASE_NODIFF) {
        /* no gradient: the output needs none though its inputs do */
        ck_assert_msg(!(out->flags & BM_REQUIRES_GRAD), "%s output requires a gradient", c->op);
        ck_assert_int_eq(bm_tape_backward(t, out, NULL), BM_ERR_STATE);
        bm_tape_free(t);
        return;
    }
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
    const bm_op_case *c = bm_op_case_at((size_t)_i);
    bm_tape *t64 = bm_tape_new(), *t32 = bm_tape_new();
    bm_rng v1, v2, d1, d2;
    bm_rng_seed(&v1, 99 + (uint64_t)_i);
    v2 = v1;
    bm_rng_seed(&d1, 5);
    d2 = d1;
    bm_tensor *a[BM_MAX_INPUTS] = {NULL}, *b[BM_MAX_INPUTS] = {NULL};
    bm_tensor *o64 = record(t64, c, BM_F64, a, &v1, &d1);
    bm_tensor *o32 = record(t32, c, BM_F32, b, &v2, &d2);
    if (c->flags & CASE_NODIFF) {
        /* exactly the F64 values in F32 (those rounded: detach copies its
         * input; the other such ops' outputs are small integers) */
        for (size_t i = 0; i < o64->size; i++)
            ck_assert(bm_tensor_get(o32, i) == (double)(float)bm_tensor_get(o64, i));
        bm_tape_free(t64);
        bm_tape_free(t32);
        return;
    }
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

/* Second derivatives: gradgradcheck in F64 (the gradient of the first
 * gradient, recorded with create_graph, against central differences of it). */
START_TEST(gradgradcheck_f64)
{
    const bm_op_case *c = bm_op_case_at((size_t)_i);
    if (c->flags & CASE_NODIFF)
        return; /* checked by gradcheck_f64: nothing flows */
    bm_tape *t = bm_tape_new();
    bm_rng vals, drop;
    bm_rng_seed(&vals, 1000 + (uint64_t)_i);
    bm_rng_seed(&drop, 7);
    bm_tensor *in[BM_MAX_INPUTS] = {NULL};
    bm_tensor *out = record(t, c, BM_F64, in, &vals, &drop);
    bm_gradcheck_result res;
    bm_gradcheck_opts o = bm_gradcheck_defaults();
    o.atol = 1e-5;
    o.rtol = 1e-4;
    ck_assert_msg(bm_gradgradcheck(t, out, in, (size_t)c->n_in, &o, &res) == BM_OK,
                  "case %d (%s): %s", _i, c->op, res.message);
    ck_assert_msg(res.passed, "case %d (%s) %s: %s (max abs %g, rel %g)", _i, c->op,
                  bm_op_case_shapes(c, (char[64]){0}, 64), res.message, res.max_abs_err,
                  res.max_rel_err);
    bm_tape_free(t);
}
END_TEST

/* Every op rejects a NULL input and a dtype mix with a message naming it. */
START_TEST(null_and_dtype_mix)
{
    const bm_op_case *c = bm_op_case_at((size_t)_i);
    bm_tape *t = bm_tape_new();
    bm_rng r;
    bm_rng_seed(&r, 3);
    bm_tensor *in[BM_MAX_INPUTS] = {NULL};
    ck_assert_ptr_null(c->build(t, in, NULL, &r));
    ck_assert_int_eq(bm_tape_status(t), BM_ERR_NULL);
    char want[64];
    snprintf(want, sizeof want, "bm_%s", c->op);
    ck_assert_msg(strstr(bm_tape_error(t), want), "message '%s' lacks '%s'", bm_tape_error(t),
                  want);
    ck_assert_ptr_nonnull(strstr(bm_tape_error(t), "NULL"));
    bm_tape_reset(t);
    /* a dtype mix: inputs after the first, or the target, in the other dtype
     * (an op of one tensor input and no gradient cannot mix) */
    if (c->n_in >= 2 || (c->tgt != NONE && !(c->flags & CASE_NODIFF))) {
        in[0] = bm_tape_leaf(t, BM_F64, c->rank[0], c->shape[0], BM_REQUIRES_GRAD);
        bm_op_case_fill(in[0], c->dom, &r);
        bm_tensor *y = NULL;
        if (c->n_in >= 2) {
            for (int k = 1; k < c->n_in; k++) {
                in[k] = bm_tape_leaf(t, BM_F32, c->rank[k], c->shape[k], BM_REQUIRES_GRAD);
                bm_op_case_fill(in[k], c->dom, &r);
            }
            if (c->tgt != NONE)
                y = bm_op_case_target(t, c, in[0], &r); /* in input 0's dtype */
        } else {
            bm_tensor *y64 = bm_op_case_target(t, c, in[0], &r);
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

/* Gradcheck out w.r.t. in[0..n), asserting a pass (exhaustive). */
static void gradcheck_passes(bm_tape *t, bm_tensor *out, bm_tensor **in, size_t n,
                             const char *what)
{
    bm_gradcheck_result res;
    bm_gradcheck_opts o = bm_gradcheck_defaults();
    ck_assert_int_eq(bm_gradcheck(t, out, in, n, &o, &res), BM_OK);
    ck_assert_msg(res.passed, "%s: %s", what, res.message);
}

/* Backward twice from out (seed of ones-and-more); leaf gradients of the
 * second pass must equal the first's exactly. */
static void second_pass_equal(bm_tape *t, bm_tensor *out, bm_tensor **in, int n, const char *what)
{
    bm_tensor *seed = bm_tape_leaf(t, out->dtype, out->rank, out->shape, 0);
    for (size_t i = 0; i < out->size; i++)
        bm_tensor_set(seed, i, 1.0 + 0.25 * (double)(i % 5));
    double first[256];
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < n; k++)
            bm_tensor_zero_grad(in[k]);
        ck_assert_int_eq(bm_tape_backward(t, out, seed), BM_OK);
        size_t j = 0;
        for (int k = 0; k < n; k++)
            for (size_t i = 0; i < in[k]->size && j < 256; i++, j++) {
                double g = bm_tensor_grad_get(in[k], i);
                if (pass == 0)
                    first[j] = g;
                else
                    ck_assert_msg(g == first[j], "%s: input %d [%zu]: %.17g then %.17g", what, k,
                                  i, first[j], g);
            }
    }
}

/* Every case again with its inputs behind an op (x·1), so that they are
 * intermediates: their gradient buffers exist after one pass, and a later
 * pass lets the op store into them instead of adding. Repeated passes give
 * the same gradients, and gradcheck (one more pass) passes, in F64 and F32. */
START_TEST(intermediate_inputs)
{
    const bm_op_case *c = bm_op_case_at((size_t)_i);
    if (c->flags & CASE_NODIFF)
        return; /* no gradient to store or add */
    for (int f32 = 0; f32 < 2; f32++) {
        bm_tape *t = bm_tape_new();
        bm_rng vals, drop;
        bm_rng_seed(&vals, 1000 + (uint64_t)_i);
        bm_rng_seed(&drop, 7);
        bm_dtype dt = f32 ? BM_F32 : BM_F64;
        bm_tensor *in[BM_MAX_INPUTS] = {NULL}, *mid[BM_MAX_INPUTS] = {NULL};
        for (int k = 0; k < c->n_in; k++) {
            in[k] = bm_tape_leaf(t, dt, c->rank[k], c->shape[k], BM_REQUIRES_GRAD);
            bm_op_case_fill(in[k], c->dom, &vals);
            mid[k] = bm_scale(t, in[k], 1.0);
        }
        bm_tensor *y = bm_op_case_target(t, c, in[0], &vals);
        bm_tensor *out = c->build(t, mid, y, &drop);
        ck_assert_msg(out != NULL, "%s: %s", c->op, bm_tape_error(t));
        second_pass_equal(t, out, in, c->n_in, c->op);
        if (!f32)
            gradcheck_passes(t, out, in, (size_t)c->n_in, c->op);
        bm_tape_free(t);
    }
}
END_TEST

/* An intermediate fed to both inputs of an op: the first gradient stored,
 * the second added to it. */
START_TEST(aliased_intermediate)
{
    for (int which = 0; which < 4; which++) {
        bm_tape *t = bm_tape_new();
        bm_rng r;
        bm_rng_seed(&r, 11);
        size_t xs[2] = {4, 4}, bs[1] = {4};
        bm_tensor *x = bm_tape_leaf(t, BM_F64, 2, xs, BM_REQUIRES_GRAD);
        bm_tensor *b = bm_tape_leaf(t, BM_F64, 1, bs, BM_REQUIRES_GRAD);
        bm_op_case_fill(x, POS, &r);
        bm_op_case_fill(b, ANY, &r);
        bm_tensor *h = bm_scale(t, x, 1.0);
        bm_tensor *out = which == 0   ? bm_add(t, h, h)
                         : which == 1 ? bm_mul(t, h, h)
                         : which == 2 ? bm_linear(t, h, h, b)
                                      : bm_linear(t, h, bm_scale(t, x, -0.5), b);
        ck_assert_ptr_nonnull(out);
        bm_tensor *in[2] = {x, b};
        int n = which >= 2 ? 2 : 1;
        second_pass_equal(t, out, in, n, "aliased");
        gradcheck_passes(t, out, in, (size_t)n, "aliased");
        bm_tape_free(t);
    }
}
END_TEST

/* linear equals add(matmul) bit for bit, forward and backward, and skips
 * the input's gradient when it needs none. */
START_TEST(linear_matches_add_matmul)
{
    static const size_t dims[][3] = {{3, 4, 5}, {300, 2, 64}, {300, 64, 3}, {7, 300, 33}};
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
        for (int f32 = 0; f32 < 2; f32++) {
            size_t M = dims[d][0], K = dims[d][1], N = dims[d][2];
            bm_dtype dt = f32 ? BM_F32 : BM_F64;
            bm_tape *t = bm_tape_new();
            bm_rng r;
            bm_rng_seed(&r, 5 + d);
            size_t xs[2] = {M, K}, ws[2] = {K, N}, bs[2] = {1, N};
            bm_tensor *x = bm_tape_leaf(t, dt, 2, xs, BM_REQUIRES_GRAD);
            bm_tensor *w = bm_tape_leaf(t, dt, 2, ws, BM_REQUIRES_GRAD);
            bm_tensor *b = bm_tape_leaf(t, dt, 2, bs, BM_REQUIRES_GRAD);
            bm_tensor *xc = bm_tape_leaf(t, dt, 2, xs, 0); /* needs no gradient */
            bm_op_case_fill(x, ANY, &r);
            bm_op_case_fill(w, ANY, &r);
            bm_op_case_fill(b, ANY, &r);
            memcpy(xc->data, x->data, x->size * bm_dtype_size(dt));
            bm_tensor *l1 = bm_linear(t, x, w, b), *a1 = bm_add(t, bm_matmul(t, x, w), b);
            bm_tensor *l2 = bm_linear(t, xc, w, b);
            ck_assert_ptr_nonnull(l1);
            ck_assert_ptr_nonnull(a1);
            ck_assert_ptr_nonnull(l2);
            for (size_t i = 0; i < l1->size; i++)
                ck_assert(bm_tensor_get(l1, i) == bm_tensor_get(a1, i));
            bm_tensor *leaves[3] = {x, w, b};
            double *g[3];
            for (int pass = 0; pass < 3; pass++) {
                for (int k = 0; k < 3; k++)
                    bm_tensor_zero_grad(leaves[k]);
                bm_tensor *out = pass == 0 ? l1 : pass == 1 ? a1 : l2;
                bm_tensor *seed = bm_tape_leaf(t, dt, 2, out->shape, 0);
                for (size_t i = 0; i < seed->size; i++)
                    bm_tensor_set(seed, i, 0.5 - 0.01 * (double)(i % 97));
                ck_assert_int_eq(bm_tape_backward(t, out, seed), BM_OK);
                for (int k = 0; k < 3; k++) {
                    if (pass == 0) {
                        g[k] = malloc(leaves[k]->size * sizeof(double));
                        for (size_t i = 0; i < leaves[k]->size; i++)
                            g[k][i] = bm_tensor_grad_get(leaves[k], i);
                        continue;
                    }
                    for (size_t i = 0; i < leaves[k]->size; i++)
                        ck_assert_msg(bm_tensor_grad_get(leaves[k], i) == (pass == 2 && k == 0 ? 0.0 : g[k][i]),
                                      "dims %zu %s pass %d input %d [%zu]", d, f32 ? "f32" : "f64",
                                      pass, k, i);
                }
            }
            for (int k = 0; k < 3; k++)
                free(g[k]);
            bm_tape_free(t);
        }
}
END_TEST

/* Shape errors name the op and the shapes. */
START_TEST(linear_bad_shapes)
{
    bm_tape *t = bm_tape_new();
    bm_tensor *x = bm_tape_leaf(t, BM_F32, 2, (size_t[]){3, 4}, 0);
    bm_tensor *w = bm_tape_leaf(t, BM_F32, 2, (size_t[]){4, 5}, 0);
    bm_tensor *w3 = bm_tape_leaf(t, BM_F32, 2, (size_t[]){3, 5}, 0);
    bm_tensor *b = bm_tape_leaf(t, BM_F32, 1, (size_t[]){5}, 0);
    bm_tensor *b4 = bm_tape_leaf(t, BM_F32, 1, (size_t[]){4}, 0);
    bm_tensor *b25 = bm_tape_leaf(t, BM_F32, 2, (size_t[]){2, 5}, 0);
    bm_tensor *v = bm_tape_leaf(t, BM_F32, 1, (size_t[]){4}, 0);
    ck_assert_ptr_nonnull(bm_linear(t, x, w, b));
    ck_assert_ptr_null(bm_linear(t, x, w3, b));
    ck_assert_str_eq(bm_tape_error(t), "bm_linear: [3,4] x [3,5]: inner sizes differ");
    bm_tape_clear_error(t);
    ck_assert_ptr_null(bm_linear(t, x, w, b4));
    ck_assert_str_eq(bm_tape_error(t), "bm_linear: [3,4] x [4,5] + [4]: bias must be [5] or [1,5]");
    bm_tape_clear_error(t);
    ck_assert_ptr_null(bm_linear(t, x, w, b25));
    ck_assert_int_eq(bm_tape_status(t), BM_ERR_SHAPE);
    bm_tape_clear_error(t);
    ck_assert_ptr_null(bm_linear(t, v, w, b));
    ck_assert_int_eq(bm_tape_status(t), BM_ERR_RANK);
    ck_assert_str_eq(bm_tape_error(t), "bm_linear: [4] x [4,5]: x and W must be 2-D");
    bm_tape_free(t);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("ops");
    TCase *tc = tcase_create("registry");
    tcase_add_test(tc, every_op_has_a_case);
    int n = (int)bm_op_case_count();
    tcase_add_test(tc, params_are_described);
    tcase_add_loop_test(tc, gradcheck_f64, 0, n);
    tcase_add_loop_test(tc, f32_agrees_with_f64, 0, n);
    tcase_add_loop_test(tc, gradgradcheck_f64, 0, n);
    tcase_add_loop_test(tc, null_and_dtype_mix, 0, n);
    tcase_add_loop_test(tc, intermediate_inputs, 0, n);
    tcase_add_test(tc, aliased_intermediate);
    tcase_add_test(tc, linear_matches_add_matmul);
    tcase_add_test(tc, linear_bad_shapes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
