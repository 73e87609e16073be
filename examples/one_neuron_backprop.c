/* one_neuron_backprop.c — the walk-through's first back-propagation: one
 * neuron, one sample of 3 features, minimising the neuron's own output.
 *
 *   z = x0·w0 + x1·w1 + x2·w2 + b,   output = max(0, z)
 *
 * The tape records the three multiplications, the sum, the bias and the
 * ReLU; backward with the next layer's gradient 1 gives dx = w, dw = x,
 * db = 1; one step w -= 0.001·dw, b -= 0.001·db lowers the output. */
#include <stdio.h>

#include <bmnn.h>

/* Print "name = [a, b, c]" from t's values (grad = 0) or gradient (grad = 1). */
static void show(const char *name, const bm_tensor *t, int grad)
{
    printf("%s = ", name);
    if (t->rank > 0)
        printf("[");
    for (size_t i = 0; i < t->size; i++) {
        double v = grad ? bm_tensor_grad_get(t, i) : bm_tensor_get(t, i);
        printf("%s%g", i ? ", " : "", v == 0 ? 0.0 : v); /* no "-0" */
    }
    printf(t->rank > 0 ? "]\n" : "\n");
}

int main(void)
{
    const double xv[3] = {1.0, -2.0, 3.0};  /* one sample, 3 features */
    const double wv[3] = {-3.0, -1.0, 2.0}; /* the neuron's weights */
    const double bv = 1.0;                  /* its bias */
    size_t three = 3;

    bm_tape *tape = bm_tape_new();
    if (!tape)
        return 1;
    bm_tensor *x = bm_tape_leaf(tape, BM_F64, 1, &three, BM_REQUIRES_GRAD);
    bm_tensor *w = bm_tape_leaf(tape, BM_F64, 1, &three, BM_REQUIRES_GRAD);
    bm_tensor *b = bm_tape_leaf(tape, BM_F64, 0, NULL, BM_REQUIRES_GRAD);
    if (!x || !w || !b)
        return 1;
    bm_tensor_load(x, xv, 3, NULL);
    bm_tensor_load(w, wv, 3, NULL);
    bm_tensor_load(b, &bv, 1, NULL);
    show("x", x, 0);
    show("w", w, 0);
    show("b", b, 0);

    /* Forward: three multiplications, one addition (with the bias), ReLU. */
    bm_tensor *xw = bm_mul(tape, x, w);               /* [x0·w0, x1·w1, x2·w2] */
    bm_tensor *sum = bm_sum(tape, xw, BM_AXIS_ALL, 0); /* xw0 + xw1 + xw2 */
    bm_tensor *z = bm_add(tape, sum, b);              /* + b */
    bm_tensor *y = bm_relu(tape, z);                  /* max(0, z) */
    if (!y) {
        fprintf(stderr, "%s\n", bm_tape_error(tape));
        return 1;
    }
    show("z", z, 0);
    show("relu(z)", y, 0);

    /* Backward: the next layer hands us a gradient of 1 (the seed for a
     * scalar output). ReLU passes it on since z > 0; the sum passes it to
     * every product; each product sends it on times the other factor. */
    if (bm_tape_backward(tape, y, NULL) != BM_OK) {
        fprintf(stderr, "%s\n", bm_tape_error(tape));
        return 1;
    }
    show("dx", x, 1); /* = w */
    show("dw", w, 1); /* = x */
    show("db", b, 1); /* = 1 */

    /* One step of gradient descent on the weights and the bias. */
    for (size_t i = 0; i < 3; i++)
        bm_tensor_set(w, i, bm_tensor_get(w, i) - 0.001 * bm_tensor_grad_get(w, i));
    bm_tensor_set(b, 0, bm_tensor_get(b, 0) - 0.001 * bm_tensor_grad_get(b, 0));
    show("w after update", w, 0);
    show("b after update", b, 0);

    /* Forward again on the same graph (replay) with the new w and b. */
    if (bm_tape_forward(tape) != BM_OK)
        return 1;
    printf("output after update = %g\n", bm_tensor_get(y, 0));
    bm_tape_free(tape);
    return 0;
}
