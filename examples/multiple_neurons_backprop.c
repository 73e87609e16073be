/* multiple_neurons_backprop.c — the walk-through's layer of 3 neurons fed a
 * batch of 3 samples with 4 features each, back-propagated from the next
 * layer's gradients dvalues [3,3].
 *
 *   out [3,3] = inputs [3,4] · W [4,3] + biases [1,3]   (W = weightsᵀ)
 *   dinputs  = dvalues · Wᵀ        one row of nudges per sample
 *   dweights = inputsᵀ · dvalues   summed over the samples
 *   dbiases  = Σ_samples dvalues
 *
 * The tape's matmul and broadcasting add compute exactly these. */
#include <stdio.h>

#include <bmnn.h>

/* Print t's gradient as a matrix, "[[a, b], [c, d]]" one row a line. */
static void show_grad(const char *name, const bm_tensor *t)
{
    size_t rows = t->shape[0], cols = t->shape[1];
    printf("%s =\n", name);
    for (size_t r = 0; r < rows; r++) {
        printf(r ? " [" : "[[");
        for (size_t c = 0; c < cols; c++) {
            double v = bm_tensor_grad_get(t, r * cols + c);
            printf("%s%g", c ? ", " : "", v == 0 ? 0.0 : v);
        }
        printf(r + 1 < rows ? "],\n" : "]]\n");
    }
}

/* A tape leaf [rows,cols] holding v, with a gradient when grad is set. */
static bm_tensor *matrix(bm_tape *t, size_t rows, size_t cols, const double *v, int grad)
{
    size_t shape[2] = {rows, cols};
    bm_tensor *m = bm_tape_leaf(t, BM_F64, 2, shape, grad ? BM_REQUIRES_GRAD : 0);
    if (m)
        bm_tensor_load(m, v, rows * cols, NULL);
    return m;
}

int main(void)
{
    /* Gradients from the next layer: one row per sample, one column per neuron. */
    const double dvalues[3 * 3] = {1, 1, 1, 2, 2, 2, 3, 3, 3};
    /* 3 samples of 4 features. */
    const double inputs[3 * 4] = {1, 2, 3, 2.5, 2, 5, -1, 2, -1.5, 2.7, 3.3, -0.8};
    /* 3 neurons of 4 weights, as written: one row per neuron. */
    const double weights[3 * 4] = {0.2, 0.8, -0.5, 1, 0.5, -0.91, 0.26, -0.5,
                                   -0.26, -0.27, 0.17, 0.87};
    const double biases[3] = {2, 3, 0.5};

    /* The layer keeps its weights transposed, [4,3]: w_xy joins input x to
     * neuron y, so inputs · W needs no transpose in the forward pass. */
    double wt[4 * 3];
    for (size_t x = 0; x < 4; x++)
        for (size_t y = 0; y < 3; y++)
            wt[x * 3 + y] = weights[y * 4 + x];

    bm_tape *tape = bm_tape_new();
    if (!tape)
        return 1;
    bm_tensor *in = matrix(tape, 3, 4, inputs, 1);
    bm_tensor *w = matrix(tape, 4, 3, wt, 1);
    bm_tensor *b = matrix(tape, 1, 3, biases, 1);
    bm_tensor *dv = matrix(tape, 3, 3, dvalues, 0);

    /* Forward: out = inputs · W + biases (the bias row broadcasts). */
    bm_tensor *out = bm_add(tape, bm_matmul(tape, in, w), b);
    /* Backward, seeded with dvalues instead of ones. */
    if (!out || !dv || bm_tape_backward(tape, out, dv) != BM_OK) {
        fprintf(stderr, "%s\n", bm_tape_error(tape));
        return 1;
    }
    show_grad("dinputs", in);  /* dvalues · Wᵀ */
    show_grad("dweights", w);  /* inputsᵀ · dvalues */
    show_grad("dbiases", b);   /* column sums of dvalues */
    bm_tape_free(tape);
    return 0;
}
