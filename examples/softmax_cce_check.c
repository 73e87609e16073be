/* softmax_cce_check.c — the walk-through's "smart thing" (its testing.py):
 * back-propagating through CCE and then through softmax's Jacobian gives the
 * same gradient as the fused softmax + CCE formula dz = (ŷ − y) / N.
 *
 * Softmax outputs ŷ are given; the logits z = log ŷ reproduce them, since
 * each row of ŷ sums to 1 and softmax(log ŷ) = ŷ / Σŷ. */
#include <math.h>
#include <stdio.h>

#include <bmnn.h>

/* Print an [R,C] matrix of values (grad = 0) or gradients (grad = 1). */
static void show(const char *title, const bm_tensor *t, int grad)
{
    size_t rows = t->rank == 2 ? t->shape[0] : 1, cols = t->shape[t->rank - 1];
    printf("%s\n", title);
    for (size_t r = 0; r < rows; r++) {
        printf(r ? " [" : "[[");
        for (size_t c = 0; c < cols; c++) {
            size_t i = r * cols + c;
            double v = grad ? bm_tensor_grad_get(t, i) : bm_tensor_get(t, i);
            printf("%s%g", c ? ", " : "", v == 0 ? 0.0 : v);
        }
        printf(r + 1 < rows ? "],\n" : "]]\n");
    }
}

/* A tape leaf of `shape` holding v (log v when take_log), with a gradient. */
static bm_tensor *leaf(bm_tape *t, int rank, const size_t *shape, const double *v, int take_log,
                       unsigned flags)
{
    bm_tensor *x = bm_tape_leaf(t, BM_F64, rank, shape, flags);
    for (size_t i = 0; x && i < x->size; i++)
        bm_tensor_set(x, i, take_log ? log(v[i]) : v[i]);
    return x;
}

int main(void)
{
    const double yhat[9] = {0.7, 0.1, 0.2, 0.1, 0.5, 0.4, 0.02, 0.9, 0.08};
    const double classes[3] = {0, 1, 1};
    const size_t nc[2] = {3, 3}, n = 3;
    bm_tape *tape = bm_tape_new();
    if (!tape)
        return 1;
    bm_tensor *y = leaf(tape, 1, &n, classes, 0, 0);

    /* The softmax Jacobian of s = [0.7, 0.1, 0.2]: backward with a one-hot
     * seed e_j returns row j, ds_j/dz = s_j·(δ_jk − s_k), i.e. diag(s) − s·sᵀ. */
    bm_tensor *z1 = leaf(tape, 2, (size_t[]){1, 3}, yhat, 1, BM_REQUIRES_GRAD);
    bm_tensor *s1 = bm_softmax(tape, z1);
    bm_tensor *e = leaf(tape, 2, (size_t[]){1, 3}, yhat, 0, 0);
    bm_tensor *jac = leaf(tape, 2, nc, yhat, 0, 0);
    if (!s1 || !e || !jac)
        return 1;
    for (size_t j = 0; j < 3; j++) {
        for (size_t k = 0; k < 3; k++)
            bm_tensor_set(e, k, k == j);
        bm_tensor_zero_grad(z1);
        if (bm_tape_backward(tape, s1, e) != BM_OK)
            return 1;
        for (size_t k = 0; k < 3; k++)
            bm_tensor_set(jac, j * 3 + k, bm_tensor_grad_get(z1, k));
    }
    show("softmax Jacobian of [0.7, 0.1, 0.2]:", jac, 0);

    /* Separate, as testing.py: CCE backward w.r.t. the probabilities,
     * dL/dŷ = −y/ŷ / N ... */
    bm_tensor *p = leaf(tape, 2, nc, yhat, 0, BM_REQUIRES_GRAD);
    bm_tensor *loss = bm_cce(tape, p, y);
    if (!loss || bm_tape_backward(tape, loss, NULL) != BM_OK)
        return 1;
    /* ... then through the softmax Jacobian, seeded with dL/dŷ. */
    bm_tensor *z2 = leaf(tape, 2, nc, yhat, 1, BM_REQUIRES_GRAD);
    bm_tensor *s2 = bm_softmax(tape, z2);
    bm_tensor *dp = leaf(tape, 2, nc, yhat, 0, 0);
    if (!s2 || !dp)
        return 1;
    for (size_t i = 0; i < 9; i++)
        bm_tensor_set(dp, i, bm_tensor_grad_get(p, i));
    if (bm_tape_backward(tape, s2, dp) != BM_OK)
        return 1;

    /* Combined: the fused op on the logits, dz = (ŷ − y) / N. */
    bm_tensor *z3 = leaf(tape, 2, nc, yhat, 1, BM_REQUIRES_GRAD);
    bm_tensor *fused = bm_softmax_cce(tape, z3, y);
    if (!fused || bm_tape_backward(tape, fused, NULL) != BM_OK) {
        fprintf(stderr, "%s\n", bm_tape_error(tape));
        return 1;
    }

    printf("loss (cce of softmax outputs) = %.6f\n", bm_tensor_get(loss, 0));
    printf("loss (fused, from logits)     = %.6f\n", bm_tensor_get(fused, 0));
    show("Gradients: combined loss and activation:", z3, 1);
    show("Gradients: separate loss and activation:", z2, 1);
    double worst = 0;
    for (size_t i = 0; i < 9; i++)
        worst = fmax(worst, fabs(bm_tensor_grad_get(z2, i) - bm_tensor_grad_get(z3, i)));
    printf("equal: %s\n", worst < 1e-7 ? "yes" : "no");
    bm_tape_free(tape);
    return worst < 1e-7 ? 0 : 1;
}
