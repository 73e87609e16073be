/* higher.c — higher-order helpers on bm_grad: Hessian-vector products and
 * dense Jacobians and Hessians for small sizes.
 *
 * Each is a composition of bm_grad calls: an HVP is the gradient of
 * Σ v·∇f (two reverse passes, never the n×n matrix); a Jacobian is one
 * reverse pass per output element (a one-hot seed each); a Hessian is the
 * Jacobian of the gradient recorded with create_graph. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "bm_ops.h"

bm_status bm_hvp(bm_tape *tape, bm_tensor *out, bm_tensor *const *inputs, size_t n_inputs,
                 bm_tensor *const *v, int create_graph, bm_tensor **results)
{
    char s0[64], s1[64];
    if (!tape)
        return BM_ERR_NULL;
    if (bm_tape_status(tape) != BM_OK)
        return bm_tape_status(tape);
    if (!out || !inputs || !v || !results || n_inputs == 0)
        return bm_tape_fail(tape, BM_ERR_NULL, "bm_hvp: out, inputs, v and results must be non-NULL");
    if (out->size != 1)
        return bm_tape_fail(tape, BM_ERR_SHAPE, "bm_hvp: output %s is not a scalar",
                            bm_shape_str(out, s0, sizeof s0));
    for (size_t k = 0; k < n_inputs; k++)
        if (!inputs[k] || !v[k] || !bm_tensor_same_shape(inputs[k], v[k]))
            return bm_tape_fail(tape, !inputs[k] || !v[k] ? BM_ERR_NULL : BM_ERR_SHAPE,
                                "bm_hvp: v[%zu] %s must match input %zu %s", k,
                                bm_shape_str(v[k], s0, sizeof s0), k,
                                bm_shape_str(inputs[k], s1, sizeof s1));
    bm_status s = bm_grad(tape, &out, 1, inputs, n_inputs, NULL, 1, results);
    if (s != BM_OK)
        return s;
    bm_tensor *dot = NULL;
    for (size_t k = 0; k < n_inputs; k++) {
        bm_tensor *term = bm_sum(tape, bm_mul(tape, results[k], v[k]), BM_AXIS_ALL, 0);
        dot = dot ? bm_add(tape, dot, term) : term;
    }
    if (!dot)
        return bm_tape_status(tape);
    if (!(dot->flags & BM_REQUIRES_GRAD)) {
        /* the gradient does not depend on the inputs: the Hessian is 0 */
        for (size_t k = 0; k < n_inputs; k++)
            if (!(results[k] = bm_tape_leaf(tape, inputs[k]->dtype, inputs[k]->rank,
                                            inputs[k]->shape, 0)))
                return bm_tape_status(tape);
        return BM_OK;
    }
    return bm_grad(tape, &dot, 1, inputs, n_inputs, NULL, create_graph, results);
}

bm_status bm_jacobian(bm_tape *tape, bm_tensor *out, bm_tensor *input, bm_tensor **jac,
                      bm_error *err)
{
    if (!tape || !out || !input || !jac)
        return bm_error_set(err, BM_ERR_NULL, "bm_jacobian: tape, out, input and jac must be non-NULL");
    *jac = NULL;
    if (bm_tape_status(tape) != BM_OK)
        return bm_error_set(err, bm_tape_status(tape), "bm_jacobian: %s", bm_tape_error(tape));
    size_t m = out->size, n = input->size;
    if (m > BM_JACOBIAN_MAX / n)
        return bm_error_set(err, BM_ERR_SIZE,
                            "bm_jacobian: %zu x %zu elements exceed the dense limit %zu", m, n,
                            (size_t)BM_JACOBIAN_MAX);
    size_t shape[2] = {m, n};
    bm_tensor *J = bm_tensor_new(out->dtype, 2, shape, err);
    bm_tensor *seed = J ? bm_tape_leaf(tape, out->dtype, out->rank, out->shape, 0) : NULL;
    if (!seed) {
        bm_tensor_free(J);
        return J ? bm_error_set(err, bm_tape_status(tape), "bm_jacobian: %s", bm_tape_error(tape))
                 : (err ? err->code : BM_ERR_NOMEM);
    }
    for (size_t i = 0; i < m; i++) {
        bm_tensor *row = NULL;
        if (i)
            bm_tensor_set(seed, i - 1, 0.0);
        bm_tensor_set(seed, i, 1.0);
        bm_status s = bm_grad(tape, &out, 1, &input, 1, &seed, 0, &row);
        if (s != BM_OK) {
            bm_tensor_free(J);
            return bm_error_set(err, s, "bm_jacobian: %s", bm_tape_error(tape));
        }
        memcpy((unsigned char *)J->data + i * n * bm_dtype_size(J->dtype), row->data,
               n * bm_dtype_size(J->dtype));
    }
    *jac = J;
    return BM_OK;
}

bm_status bm_hessian(bm_tape *tape, bm_tensor *out, bm_tensor *input, bm_tensor **hess,
                     bm_error *err)
{
    char s0[64];
    if (!tape || !out || !input || !hess)
        return bm_error_set(err, BM_ERR_NULL, "bm_hessian: tape, out, input and hess must be non-NULL");
    *hess = NULL;
    if (out->size != 1)
        return bm_error_set(err, BM_ERR_SHAPE, "bm_hessian: output %s is not a scalar",
                            bm_shape_str(out, s0, sizeof s0));
    bm_tensor *g = NULL;
    bm_status s = bm_grad(tape, &out, 1, &input, 1, NULL, 1, &g);
    if (s != BM_OK)
        return bm_error_set(err, s, "bm_hessian: %s", bm_tape_error(tape));
    if (!(g->flags & BM_REQUIRES_GRAD)) { /* a gradient constant in x: H = 0 */
        size_t shape[2] = {input->size, input->size};
        *hess = bm_tensor_new(out->dtype, 2, shape, err);
        return *hess ? BM_OK : (err ? err->code : BM_ERR_NOMEM);
    }
    return bm_jacobian(tape, g, input, hess, err);
}

/* Seed offset of gradgradcheck's weights and directions (apart from the
 * first-order check's). */
#define GRADGRAD_SEED 0x9e3779b97f4a7c15ULL

bm_status bm_gradgradcheck(bm_tape *tape, bm_tensor *out, bm_tensor *const *inputs,
                           size_t n_inputs, const bm_gradcheck_opts *opts,
                           bm_gradcheck_result *res)
{
    bm_gradcheck_opts o = opts ? *opts : bm_gradcheck_defaults();
    if (res)
        memset(res, 0, sizeof *res);
    if (!res)
        return BM_ERR_NULL;
    if (!tape || !out || !inputs || n_inputs == 0) {
        snprintf(res->message, sizeof res->message, "bm_gradgradcheck: %s is NULL or empty",
                 !tape ? "tape" : !out ? "output" : "inputs");
        return BM_ERR_NULL;
    }
    if (out->dtype != BM_F64) {
        snprintf(res->message, sizeof res->message,
                 "gradgradcheck runs in f64: build the graph with BM_F64");
        return BM_ERR_DTYPE;
    }
    bm_status s;
    bm_rng rng;
    bm_rng_seed(&rng, o.seed ^ GRADGRAD_SEED);
    /* w: the first gradient's output weighting, itself an input checked */
    bm_tensor *w = bm_tape_leaf(tape, BM_F64, out->rank, out->shape, BM_REQUIRES_GRAD);
    bm_tensor **g = calloc(n_inputs, sizeof *g), **all = calloc(n_inputs + 1, sizeof *all);
    if (!w || !g || !all) {
        free(g);
        free(all);
        snprintf(res->message, sizeof res->message, "%s", w ? "out of memory" : bm_tape_error(tape));
        return w ? BM_ERR_NOMEM : bm_tape_status(tape);
    }
    for (size_t i = 0; i < w->size; i++)
        bm_tensor_set(w, i, 0.5 + bm_rng_uniform(&rng));
    s = bm_grad(tape, &out, 1, inputs, n_inputs, &w, 1, g);
    /* h = Σ_k Σ v_k ⊙ ∂(w·out)/∂x_k, v_k seeded directions */
    bm_tensor *h = NULL;
    for (size_t k = 0; s == BM_OK && k < n_inputs; k++) {
        bm_tensor *v = bm_tape_leaf(tape, BM_F64, g[k]->rank, g[k]->shape, 0);
        if (v)
            for (size_t i = 0; i < v->size; i++)
                bm_tensor_set(v, i, bm_rng_normal(&rng));
        bm_tensor *term = bm_sum(tape, bm_mul(tape, g[k], v), BM_AXIS_ALL, 0);
        h = h ? bm_add(tape, h, term) : term;
        s = bm_tape_status(tape);
    }
    if (s == BM_OK && !(h->flags & BM_REQUIRES_GRAD)) {
        snprintf(res->message, sizeof res->message,
                 "the first gradient is constant: nothing to differentiate");
        s = BM_ERR_STATE;
    }
    if (s != BM_OK) {
        if (!res->message[0])
            snprintf(res->message, sizeof res->message, "%s", bm_tape_error(tape));
        free(g);
        free(all);
        return s;
    }
    for (size_t k = 0; k < n_inputs; k++)
        all[k] = inputs[k];
    all[n_inputs] = w;
    s = bm_gradcheck(tape, h, all, n_inputs + 1, &o, res);
    free(g);
    free(all);
    return s;
}
