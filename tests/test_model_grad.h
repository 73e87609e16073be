/* test_model_grad.h — gradchecking through a whole model, shared by the
 * model suites (layers_model, layers_seq_model, layers_every): given a
 * model's loss recorded on a tape, bm_gradcheck AND bm_gradgradcheck (F64)
 * with respect to one leaf, or to every trained parameter of the model
 * (BM_ROLE_STATE tensors are not trained and are left out). Everything
 * asserts with Check and names the leaf in its messages. */
#ifndef BM_TEST_MODEL_GRAD_H
#define BM_TEST_MODEL_GRAD_H

#include "test_util.h"

/* gradgradcheck's tolerances (atol and rtol) through a whole model. */
#define BM_TM_GG_TOL 1e-4

/* Assert that gradcheck and gradgradcheck of `loss` w.r.t. the leaf w pass
 * (first order with bm_gradcheck_defaults(), second with BM_TM_GG_TOL) and
 * that w reaches the loss through recorded ops; `what` names w. */
static inline void bm_tm_check_leaf(bm_tape *t, bm_tensor *loss, bm_tensor *w, const char *what)
{
    bm_gradcheck_opts o = bm_gradcheck_defaults();
    bm_gradcheck_result res;
    ck_assert_msg(bm_gradcheck(t, loss, &w, 1, &o, &res) == BM_OK, "%s: gradcheck: %s", what,
                  res.error.msg);
    ck_assert_msg(res.passed, "%s: %s (element %zu: %g vs %g)", what, res.message,
                  res.worst_index, res.worst_analytic, res.worst_numeric);
    ck_assert_msg(res.warning[0] == '\0', "%s: %s", what, res.warning);
    ck_assert_msg(res.skipped < res.checked, "%s: %zu of %zu elements skipped as kinks", what,
                  res.skipped, res.checked);
    o.atol = o.rtol = BM_TM_GG_TOL;
    ck_assert_msg(bm_gradgradcheck(t, loss, &w, 1, &o, &res) == BM_OK,
                  "%s: gradgradcheck: %s", what, res.error.msg);
    ck_assert_msg(res.passed, "%s (2nd order): %s (element %zu: %g vs %g)", what, res.message,
                  res.worst_index, res.worst_analytic, res.worst_numeric);
}

/* bm_tm_check_leaf for every trained parameter of m ("node.name" in the
 * messages); returns how many were checked. */
static inline size_t bm_tm_check_params(bm_model *m, bm_tape *t, bm_tensor *loss)
{
    size_t checked = 0;
    for (size_t i = 0; i < bm_model_n_layers(m); i++)
        for (size_t k = 0; k < bm_model_node_n_params(m, i); k++) {
            const bm_param_desc *d = bm_model_node_param_desc(m, i, k);
            if (d->role == BM_ROLE_STATE)
                continue;
            char what[2 * BM_NODE_NAME_MAX];
            snprintf(what, sizeof what, "%s.%s", bm_model_node_name(m, i), d->name);
            bm_tm_check_leaf(t, loss, bm_model_node_param(m, i, k), what);
            checked++;
        }
    return checked;
}

#endif
