/* test_layer_util.h — a harness for layer kinds (nn/bm_layer.h), shared by
 * the layer suites. Given a kind's vtable, a spec, per-sample input shapes
 * and a batch size it runs the vtable the way a model does: check, infer,
 * params; allocates the parameter tensors as the descriptors say (values
 * drawn from a seeded bm_rng), records the layer on a tape and checks the
 * output's shape; then bm_gradcheck AND bm_gradgradcheck (F64) with
 * respect to the differentiable inputs and the trained parameters.
 *
 *   bm_tl_case c = {.spec = bm_tl_spec(BM_LAYER_CONV2D), .n_in = 1,
 *                   .in = {BM_TL_SHAPE(3, 5, 4)}, .batch = 2};
 *   c.spec.out = 4; c.spec.kernel[0] = c.spec.kernel[1] = 3;
 *   bm_tl_gradcheck(&c);                       (asserts both checks pass)
 *   bm_tl_expect_error(&c.spec, 1, c.in, BM_ERR_SHAPE, "conv2d: input [3,5]");
 *
 * Everything asserts with Check (ck_assert*) and names the kind in its
 * messages. Stable API: other suites use it as it is. */
#ifndef BM_TEST_LAYER_UTIL_H
#define BM_TEST_LAYER_UTIL_H

#include "test_util.h"

/* A per-sample shape from its sizes: BM_TL_SHAPE(3, 28, 28). */
#define BM_TL_SHAPE(...)                                                                  \
    ((bm_shape){.rank = (int)(sizeof((size_t[]){__VA_ARGS__}) / sizeof(size_t)),          \
                .dim = {__VA_ARGS__}})

/* Batch size when a case gives 0. */
#define BM_TL_BATCH 2
/* Seed of the values when a case gives 0. */
#define BM_TL_SEED 1
/* Inputs are drawn from ±[BM_TL_MIN_ABS, BM_TL_MAX_ABS] (away from the kinks at 0). */
#define BM_TL_MIN_ABS 0.1
#define BM_TL_MAX_ABS 1.5
/* Trained parameters are drawn from U(±BM_TL_PARAM_ABS). */
#define BM_TL_PARAM_ABS 1.0
/* State starting at zero is drawn from U(±BM_TL_STATE_ABS), state starting
 * at one from 1 + U(±BM_TL_STATE_ABS) (a running variance stays positive). */
#define BM_TL_STATE_ABS 0.5
/* gradgradcheck's tolerances when a case gives 0 (as bm_op_selfcheck's). */
#define BM_TL_GG_ATOL 1e-5
#define BM_TL_GG_RTOL 1e-4

/* A layer under test. */
typedef struct bm_tl_case {
    const bm_layer_vt *vt;            /* NULL: bm_layer_vtable(spec.kind) */
    bm_layer_spec spec;               /* as a model would hold it (see bm_tl_spec) */
    size_t n_in;                      /* inputs of the node */
    bm_shape in[BM_LAYER_MAX_INPUTS]; /* their per-sample shapes */
    size_t batch;                     /* 0: BM_TL_BATCH */
    int training;                     /* bm_layer_call.training */
    unsigned ids;                     /* bit k set: input k holds integer ids in
                                       * [0, id_range) (embedding's tokens): not
                                       * differentiated */
    size_t id_range;
    uint64_t seed;                    /* values; 0: BM_TL_SEED */
    bm_gradcheck_mode mode;           /* exhaustive (0) or projection, for big cases */
    double atol, rtol;                /* gradcheck; 0: bm_gradcheck_defaults() */
    double gg_atol, gg_rtol;          /* gradgradcheck; 0: BM_TL_GG_ATOL, BM_TL_GG_RTOL */
} bm_tl_case;

/* A layer built and recorded by bm_tl_build; free with bm_tl_free. */
typedef struct bm_tl_run {
    bm_tape *tape;
    const bm_layer_vt *vt;
    bm_layer_spec spec;
    bm_shape out_shape;                       /* what infer said */
    size_t n_params;
    bm_param_desc desc[BM_LAYER_MAX_PARAMS];
    bm_tensor *in[BM_LAYER_MAX_INPUTS];       /* tape leaves [B, in shape] */
    bm_tensor *params[BM_LAYER_MAX_PARAMS];   /* tape leaves, the descriptors' shapes */
    bm_tensor *out;                           /* [B, out shape] */
    bm_rng rng;                               /* bm_layer_call.rng */
} bm_tl_run;

/* The vtable of a case. */
static inline const bm_layer_vt *bm_tl_vt(const bm_layer_vt *vt, const bm_layer_spec *s)
{
    const bm_layer_vt *v = vt ? vt : bm_layer_vtable((int)s->kind);
    ck_assert_msg(v != NULL, "layer kind %d has no vtable", (int)s->kind);
    ck_assert_msg(v->name && v->summary && v->keys && v->infer && v->params && v->record,
                  "layer kind %d: vtable lacks a required member", (int)s->kind);
    return v;
}

/* A spec of kind k with its vtable's defaults (what a model file starts from). */
static inline bm_layer_spec bm_tl_spec(bm_layer_kind k)
{
    bm_layer_spec s;
    memset(&s, 0, sizeof s);
    s.kind = k;
    const bm_layer_vt *v = bm_tl_vt(NULL, &s);
    if (v->defaults)
        v->defaults(&s);
    ck_assert_int_eq(s.kind, k);
    return s;
}

/* check then infer, as a model runs them: BM_OK and *out, or the error in *err. */
static inline bm_status bm_tl_infer(const bm_layer_vt *vt, const bm_layer_spec *s, size_t n_in,
                                    const bm_shape *in, bm_shape *out, bm_error *err)
{
    const bm_layer_vt *v = bm_tl_vt(vt, s);
    memset(out, 0, sizeof *out);
    bm_status st = v->check ? v->check(s, err) : BM_OK;
    if (st == BM_OK && (n_in < v->min_inputs || n_in > v->max_inputs))
        return bm_error_set(err, BM_ERR_ARG, "%s: %zu inputs", v->name, n_in);
    return st == BM_OK ? v->infer(s, in, n_in, out, err) : st;
}

/* Assert that check/infer refuse the spec and shapes with status code and a
 * message containing `text` (a substring: the kind and the shapes). */
static inline void bm_tl_expect_error(const bm_layer_spec *s, size_t n_in, const bm_shape *in,
                                      bm_status code, const char *text)
{
    bm_error e = {0};
    bm_shape out;
    bm_status st = bm_tl_infer(NULL, s, n_in, in, &out, &e);
    ck_assert_msg(st == code, "expected status %s, got %s (\"%s\")", bm_status_name(code),
                  bm_status_name(st), e.msg);
    ck_assert_msg(strstr(e.msg, text) != NULL, "message \"%s\" lacks \"%s\"", e.msg, text);
}

/* Assert that check/infer accept the case and give exactly `want`. */
static inline void bm_tl_expect_shape(const bm_layer_spec *s, size_t n_in, const bm_shape *in,
                                      bm_shape want)
{
    bm_error e = {0};
    bm_shape out;
    bm_status st = bm_tl_infer(NULL, s, n_in, in, &out, &e);
    ck_assert_msg(st == BM_OK, "infer failed: %s", e.msg);
    ck_assert_int_eq(out.rank, want.rank);
    for (int d = 0; d < want.rank; d++)
        ck_assert_msg(out.dim[d] == want.dim[d], "axis %d: %zu, expected %zu", d, out.dim[d],
                      want.dim[d]);
}

/* Fill an input leaf: ids, or values in ±[BM_TL_MIN_ABS, BM_TL_MAX_ABS]. */
static inline void bm_tl_fill_input(bm_tensor *x, int ids, size_t id_range, bm_rng *r)
{
    for (size_t i = 0; i < x->size; i++) {
        if (ids) {
            bm_tensor_set(x, i, (double)bm_rng_below(r, id_range));
            continue;
        }
        double u = bm_rng_uniform(r), v = BM_TL_MIN_ABS + (BM_TL_MAX_ABS - BM_TL_MIN_ABS) * u;
        bm_tensor_set(x, i, bm_rng_uniform(r) < 0.5 ? -v : v);
    }
}

/* Fill a parameter leaf as its descriptor's role says (see the constants). */
static inline void bm_tl_fill_param(bm_tensor *p, const bm_param_desc *d, bm_rng *r)
{
    for (size_t i = 0; i < p->size; i++) {
        double u = 2.0 * bm_rng_uniform(r) - 1.0;
        double v = d->role != BM_ROLE_STATE ? BM_TL_PARAM_ABS * u
                   : d->init == BM_PINIT_ONES ? 1.0 + BM_TL_STATE_ABS * u
                                              : BM_TL_STATE_ABS * u;
        bm_tensor_set(p, i, v);
    }
}

/* Build case c in dtype dt on a new tape in *r: check, infer, params
 * (asserting the descriptors are sound), leaves filled from the case's
 * seed (the same values for F32 and F64), record. Asserts every step and
 * that the output is [B, infer's shape]. Free with bm_tl_free. */
static inline void bm_tl_build(bm_tl_run *r, const bm_tl_case *c, bm_dtype dt)
{
    memset(r, 0, sizeof *r);
    r->vt = bm_tl_vt(c->vt, &c->spec);
    r->spec = c->spec;
    const char *name = r->vt->name;
    bm_error e = {0};
    ck_assert_msg(bm_tl_infer(r->vt, &c->spec, c->n_in, c->in, &r->out_shape, &e) == BM_OK,
                  "%s: check/infer refused the case: %s", name, e.msg);
    r->n_params = r->vt->params(&c->spec, c->in, c->n_in, r->desc);
    ck_assert_uint_le(r->n_params, BM_LAYER_MAX_PARAMS);
    r->tape = bm_tape_new();
    ck_assert_ptr_nonnull(r->tape);
    size_t batch = c->batch ? c->batch : BM_TL_BATCH;
    bm_rng_seed(&r->rng, c->seed ? c->seed : BM_TL_SEED);
    bm_shape in_shapes[BM_LAYER_MAX_INPUTS];
    for (size_t k = 0; k < c->n_in; k++) {
        size_t shape[BM_MAX_RANK] = {batch};
        ck_assert_int_lt(c->in[k].rank, BM_MAX_RANK);
        for (int d = 0; d < c->in[k].rank; d++)
            shape[d + 1] = c->in[k].dim[d];
        int ids = (c->ids >> k) & 1u;
        r->in[k] = bm_tape_leaf(r->tape, dt, c->in[k].rank + 1, shape,
                                ids ? 0u : BM_REQUIRES_GRAD);
        ck_assert_msg(r->in[k] != NULL, "%s: input %zu: %s", name, k, bm_tape_error(r->tape));
        bm_tl_fill_input(r->in[k], ids, c->id_range, &r->rng);
        in_shapes[k] = c->in[k];
    }
    for (size_t k = 0; k < r->n_params; k++) {
        const bm_param_desc *d = &r->desc[k];
        ck_assert_msg(d->name && d->rank >= 1 && d->rank <= BM_MAX_RANK,
                      "%s: parameter %zu: bad descriptor", name, k);
        ck_assert_int_le(d->init, BM_PINIT_NORMAL);
        ck_assert_int_le(d->role, BM_ROLE_STATE);
        if (d->init == BM_PINIT_UNIFORM || d->init == BM_PINIT_SPEC)
            ck_assert_msg(d->fan_in > 0, "%s.%s: no fan_in", name, d->name);
        unsigned flags = d->role == BM_ROLE_STATE ? 0u : BM_REQUIRES_GRAD;
        r->params[k] = bm_tape_leaf(r->tape, dt, d->rank, d->shape, flags);
        ck_assert_msg(r->params[k] != NULL, "%s.%s: %s", name, d->name, bm_tape_error(r->tape));
        bm_tl_fill_param(r->params[k], d, &r->rng);
    }
    bm_layer_call call = {.spec = &r->spec, .in = r->in, .n_in = c->n_in,
                          .in_shapes = in_shapes, .params = r->params,
                          .n_params = r->n_params, .training = c->training, .rng = &r->rng};
    r->out = r->vt->record(r->tape, &call);
    ck_assert_msg(r->out != NULL, "%s: record failed: %s", name, bm_tape_error(r->tape));
    ck_assert_int_eq(bm_tape_status(r->tape), BM_OK);
    ck_assert_int_eq(r->out->dtype, dt);
    ck_assert_msg(r->out->rank == r->out_shape.rank + 1 && r->out->shape[0] == batch,
                  "%s: output rank %d / batch %zu, infer said rank %d", name, r->out->rank,
                  r->out->shape[0], r->out_shape.rank);
    for (int d = 0; d < r->out_shape.rank; d++)
        ck_assert_msg(r->out->shape[d + 1] == r->out_shape.dim[d],
                      "%s: output axis %d is %zu, infer said %zu", name, d + 1,
                      r->out->shape[d + 1], r->out_shape.dim[d]);
}

/* Free what bm_tl_build made. */
static inline void bm_tl_free(bm_tl_run *r)
{
    bm_tape_free(r->tape);
    memset(r, 0, sizeof *r);
}

/* The leaves gradchecked: differentiable inputs, then trained parameters;
 * returns their number. */
static inline size_t bm_tl_wrt(const bm_tl_run *r, const bm_tl_case *c, bm_tensor **wrt)
{
    size_t n = 0;
    for (size_t k = 0; k < c->n_in; k++)
        if (!((c->ids >> k) & 1u))
            wrt[n++] = r->in[k];
    for (size_t k = 0; k < r->n_params; k++)
        if (r->desc[k].role != BM_ROLE_STATE)
            wrt[n++] = r->params[k];
    return n;
}

/* Build c in F64 and assert that bm_gradcheck AND bm_gradgradcheck pass
 * with respect to its differentiable inputs and trained parameters. */
static inline void bm_tl_gradcheck(const bm_tl_case *c)
{
    bm_tl_run r;
    bm_tl_build(&r, c, BM_F64);
    bm_tensor *wrt[BM_LAYER_MAX_INPUTS + BM_LAYER_MAX_PARAMS];
    size_t n = bm_tl_wrt(&r, c, wrt);
    ck_assert_msg(n > 0, "%s: nothing to differentiate", r.vt->name);
    bm_tape_freeze_random(r.tape, 1); /* one dropout mask for every evaluation */
    bm_gradcheck_opts o = bm_gradcheck_defaults();
    o.mode = c->mode;
    if (c->atol > 0)
        o.atol = c->atol;
    if (c->rtol > 0)
        o.rtol = c->rtol;
    bm_gradcheck_result res;
    ck_assert_msg(bm_gradcheck(r.tape, r.out, wrt, n, &o, &res) == BM_OK, "%s: gradcheck: %s",
                  r.vt->name, res.message);
    ck_assert_msg(res.passed, "%s: gradcheck failed: %s (input %zu [%zu]: %g vs %g)",
                  r.vt->name, res.message, res.worst_input, res.worst_index,
                  res.worst_analytic, res.worst_numeric);
    ck_assert_msg(res.warning[0] == '\0', "%s: gradcheck: %s", r.vt->name, res.warning);
    o.atol = c->gg_atol > 0 ? c->gg_atol : BM_TL_GG_ATOL;
    o.rtol = c->gg_rtol > 0 ? c->gg_rtol : BM_TL_GG_RTOL;
    ck_assert_msg(bm_gradgradcheck(r.tape, r.out, wrt, n, &o, &res) == BM_OK,
                  "%s: gradgradcheck: %s", r.vt->name, res.message);
    ck_assert_msg(res.passed, "%s: gradgradcheck failed: %s (input %zu [%zu]: %g vs %g)",
                  r.vt->name, res.message, res.worst_input, res.worst_index,
                  res.worst_analytic, res.worst_numeric);
    bm_tl_free(&r);
}

/* Build c in F32 and in F64 (the same values) and assert that the F32
 * output is finite and within tol (relative above 1) of the F64 one. */
static inline void bm_tl_check_f32(const bm_tl_case *c, double tol)
{
    bm_tl_run r32, r64;
    bm_tl_build(&r32, c, BM_F32);
    bm_tl_build(&r64, c, BM_F64);
    ck_assert_uint_eq(r32.out->size, r64.out->size);
    for (size_t i = 0; i < r32.out->size; i++) {
        double a = bm_tensor_get(r32.out, i), b = bm_tensor_get(r64.out, i);
        ck_assert_msg(isfinite(a) && fabs(a - b) <= tol * fmax(1.0, fabs(b)),
                      "%s: f32 output[%zu] = %.9g, f64 %.9g", r32.vt->name, i, a, b);
    }
    bm_tl_free(&r32);
    bm_tl_free(&r64);
}

#endif
