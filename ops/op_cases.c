/* op_cases.c — a small example of every op, for gradcheck: input shapes
 * (broadcasting included), value domains away from kinks and poles, and the
 * target a loss needs. Used by tests/test_ops.c and `bmnn gradcheck`; an op
 * in ops.def without an example fails both. */
#include <stdio.h>

#include "op_cases_internal.h"

/* gradgradcheck's tolerances: central differences of a first gradient
 * (itself exact) carry the same O(ε²) error on larger values. */
#define GRADGRAD_ATOL 1e-5
#define GRADGRAD_RTOL 1e-4


/* Every family's table, in order. */
static const struct {
    const bm_op_case *cases;
    const size_t *n;
} tables[] = {
#define BM_OP_CASE_TABLE(family) {bm_op_cases_##family, &bm_op_cases_##family##_n},
    BM_OP_CASE_TABLES
#undef BM_OP_CASE_TABLE
};

size_t bm_op_case_count(void)
{
    size_t n = 0;
    for (size_t k = 0; k < sizeof tables / sizeof tables[0]; k++)
        n += *tables[k].n;
    return n;
}

const bm_op_case *bm_op_case_at(size_t i)
{
    for (size_t k = 0; k < sizeof tables / sizeof tables[0]; k++) {
        if (i < *tables[k].n)
            return &tables[k].cases[i];
        i -= *tables[k].n;
    }
    return NULL;
}


/* Fill x with values of the case's domain, kept away from 0 (kinks). */
void bm_op_case_fill(bm_tensor *x, enum dom d, bm_rng *r)
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
bm_tensor *bm_op_case_target(bm_tape *t, const bm_op_case *c, const bm_tensor *in0, bm_rng *r)
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

bm_tensor *bm_op_case_record(bm_tape *t, const bm_op_case *c, bm_dtype dt, bm_tensor **in,
                             bm_rng *vals, bm_rng *drop)
{
    for (int k = 0; k < c->n_in; k++) {
        in[k] = bm_tape_leaf(t, dt, c->rank[k], c->shape[k], BM_REQUIRES_GRAD);
        if (!in[k])
            return NULL;
        bm_op_case_fill(in[k], c->dom, vals);
    }
    bm_tensor *y = bm_op_case_target(t, c, in[0], vals);
    if (c->tgt != NONE && !y)
        return NULL;
    return c->build(t, in, y, drop);
}

char *bm_op_case_shapes(const bm_op_case *c, char *buf, size_t len)
{
    size_t pos = 0;
    buf[0] = '\0';
    for (int k = 0; k < c->n_in && pos < len; k++) {
        pos += (size_t)snprintf(buf + pos, len - pos, k ? " x [" : "[");
        for (int d = 0; d < c->rank[k] && pos < len; d++)
            pos += (size_t)snprintf(buf + pos, len - pos, d ? ",%zu" : "%zu", c->shape[k][d]);
        if (pos < len)
            pos += (size_t)snprintf(buf + pos, len - pos, "]");
    }
    return buf;
}

/* Gradcheck example c in F64, both modes, into *r. */
static bm_status check_case(const bm_op_case *c, size_t idx, int order, bm_op_check *r,
                            bm_error *err)
{
    enum { VALUE_SEED = 1000, DROPOUT_SEED = 7 };
    bm_tape *t = bm_tape_new();
    if (!t)
        return bm_error_set(err, BM_ERR_NOMEM, "out of memory");
    bm_rng vals, drop;
    bm_rng_seed(&vals, VALUE_SEED + idx);
    bm_rng_seed(&drop, DROPOUT_SEED);
    bm_tensor *in[BM_MAX_INPUTS] = {NULL};
    memset(r, 0, sizeof *r);
    r->op = c->op;
    bm_op_case_shapes(c, r->shapes, sizeof r->shapes);
    bm_tensor *out = bm_op_case_record(t, c, BM_F64, in, &vals, &drop);
    bm_status s = out ? BM_OK : bm_error_set(err, bm_tape_status(t), "%s", bm_tape_error(t));
    if (s == BM_OK && (c->flags & CASE_NODIFF)) {
        /* no gradient: passed when none is asked of it */
        r->passed = !(out->flags & BM_REQUIRES_GRAD);
        snprintf(r->exhaustive.message, sizeof r->exhaustive.message, "not differentiable");
        r->exhaustive.passed = r->projection.passed = r->second.passed = r->passed;
        r->order = order;
        bm_tape_free(t);
        return BM_OK;
    }
    bm_gradcheck_opts o = bm_gradcheck_defaults();
    if (s == BM_OK)
        s = bm_gradcheck(t, out, in, (size_t)c->n_in, &o, &r->exhaustive);
    o.mode = BM_GRADCHECK_PROJECTION;
    if (s == BM_OK)
        s = bm_gradcheck(t, out, in, (size_t)c->n_in, &o, &r->projection);
    if (s != BM_OK && (!err || err->code == BM_OK))
        bm_error_set(err, s, "bm_op_selfcheck: %s %s: %s", c->op, r->shapes,
                     r->exhaustive.message[0] ? r->exhaustive.message : r->projection.message);
    r->order = order;
    r->passed = s == BM_OK && r->exhaustive.passed && r->projection.passed;
    if (s == BM_OK && order == 2) {
        o = bm_gradcheck_defaults();
        o.atol = GRADGRAD_ATOL;
        o.rtol = GRADGRAD_RTOL;
        s = bm_gradgradcheck(t, out, in, (size_t)c->n_in, &o, &r->second);
        if (s != BM_OK)
            bm_error_set(err, s, "bm_op_selfcheck: %s %s: %s", c->op, r->shapes,
                         r->second.message);
        r->passed = r->passed && s == BM_OK && r->second.passed;
    }
    bm_tape_free(t);
    return s;
}

bm_status bm_op_selfcheck(const char *name, int order, bm_op_check *out, size_t max, size_t *n,
                          bm_error *err)
{
    if (!n || (max && !out))
        return bm_error_set(err, BM_ERR_NULL, "bm_op_selfcheck: NULL argument");
    if (order != 1 && order != 2)
        return bm_error_set(err, BM_ERR_ARG, "bm_op_selfcheck: order %d is not 1 or 2", order);
    if (name && !bm_op_find(name))
        return bm_error_set(err, BM_ERR_ARG, "bm_op_selfcheck: unknown op '%s'", name);
    *n = 0;
    for (size_t i = 0, n_cases = bm_op_case_count(); i < n_cases; i++) {
        const bm_op_case *c = bm_op_case_at(i);
        if (name && strcmp(name, c->op) != 0)
            continue;
        if (*n < max) {
            bm_status s = check_case(c, i, order, &out[*n], err);
            if (s != BM_OK)
                return s;
        }
        (*n)++;
    }
    return BM_OK;
}
