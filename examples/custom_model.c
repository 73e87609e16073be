/* custom_model.c — the README's "custom model in C" example, compiled and
 * run by the tests: a 2-8-3 network written with the tape's ops, trained
 * for a few steps by hand with graph replay and plain gradient descent. */
#include <stdio.h>

#include <bmnn.h>

enum { STEPS = 200 };
static const float LEARNING_RATE = 0.5f;

int main(void)
{
    bm_tape *t = bm_tape_new();
    bm_rng rng;
    bm_rng_seed(&rng, 42);
    size_t xs[2] = {4, 2}, w1s[2] = {2, 8}, b1s[2] = {1, 8}, w2s[2] = {8, 3}, b2s[2] = {1, 3};
    size_t ys[1] = {4};
    bm_tensor *x = bm_tensor_randn(BM_F32, 2, xs, 0, 1, &rng, NULL);
    bm_tensor *W1 = bm_tensor_randn(BM_F32, 2, w1s, 0, 0.5, &rng, NULL);
    bm_tensor *b1 = bm_tensor_new(BM_F32, 2, b1s, NULL);
    bm_tensor *W2 = bm_tensor_randn(BM_F32, 2, w2s, 0, 0.5, &rng, NULL);
    bm_tensor *b2 = bm_tensor_new(BM_F32, 2, b2s, NULL);
    bm_tensor *y = bm_tensor_from(BM_F32, 1, ys, (float[]){0, 2, 1, 2}, NULL);
    bm_tensor *params[] = {W1, b1, W2, b2};
    static const char *const names[] = {"W1", "b1", "W2", "b2"};
    for (int i = 0; i < 4; i++) { /* trainable: a gradient, drawn as a parameter in DOT */
        bm_error err = {0};
        if (bm_tensor_mark_param(params[i], names[i], &err) != BM_OK) {
            fprintf(stderr, "custom_model: %s\n", err.msg);
            return 1;
        }
    }

    /* Record the graph once. */
    bm_tensor *h = bm_relu(t, bm_add(t, bm_matmul(t, x, W1), b1));
    bm_tensor *loss = bm_softmax_cce(t, bm_add(t, bm_matmul(t, h, W2), b2), y);
    if (!loss || bm_tape_backward(t, loss, NULL) != BM_OK) {
        fprintf(stderr, "custom_model: %s\n", bm_tape_error(t));
        return 1;
    }
    double first = bm_tensor_get(loss, 0);
    for (int step = 0; step < STEPS; step++) {
        for (int i = 0; i < 4; i++) { /* w -= lr * dw */
            float *w = params[i]->data;
            const float *g = params[i]->grad;
            for (size_t k = 0; k < params[i]->size; k++)
                w[k] -= LEARNING_RATE * g[k];
        }
        bm_tape_zero_grad(t);
        if (bm_tape_forward(t) != BM_OK || bm_tape_backward(t, loss, NULL) != BM_OK) {
            fprintf(stderr, "custom_model: %s\n", bm_tape_error(t));
            return 1;
        }
    }
    double last = bm_tensor_get(loss, 0);
    printf("loss: %.4f -> %.4f after %d replayed steps\n", first, last, STEPS);
    bm_tensor_print(W2, stdout);
    for (int i = 0; i < 4; i++)
        bm_tensor_free(params[i]);
    bm_tensor_free(x);
    bm_tensor_free(y);
    bm_tape_free(t);
    return last < first / 4 ? 0 : 1; /* it must have learned */
}
