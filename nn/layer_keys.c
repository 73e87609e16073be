/* layer_keys.c — the spec keys of model files, one table for every kind,
 * and the registry of built-in kinds made from layers.def. */
#include <stddef.h>

#include "bm_model.h"

#define KEY(n, t, f, d) {n, t, offsetof(bm_layer_spec, f), d}

static const bm_layer_key keys[] = {
    KEY("in", BM_KEY_SIZE, in, "input features or channels (0 or absent: inferred); embedding: rows"),
    KEY("out", BM_KEY_SIZE, out, "output features or channels; embedding width; hidden size"),
    KEY("init", BM_KEY_INIT, init, "weight initialiser: small, glorot, he"),
    KEY("l1_weights", BM_KEY_DOUBLE, l1_weights, "L1 penalty on the weights (>= 0)"),
    KEY("l2_weights", BM_KEY_DOUBLE, l2_weights, "L2 penalty on the weights (>= 0)"),
    KEY("l1_biases", BM_KEY_DOUBLE, l1_biases, "L1 penalty on the biases (>= 0)"),
    KEY("l2_biases", BM_KEY_DOUBLE, l2_biases, "L2 penalty on the biases (>= 0)"),
    KEY("rate", BM_KEY_DOUBLE, rate, "dropout rate in [0, 1)"),
    KEY("kernel", BM_KEY_SIZE2, kernel, "window size: n or [h, w]"),
    KEY("stride", BM_KEY_SIZE2, stride, "window step: n or [h, w]"),
    KEY("padding", BM_KEY_SIZE2, padding, "zeros added on each side: n or [h, w]"),
    KEY("dilation", BM_KEY_SIZE2, dilation, "spacing of the kernel's taps: n or [h, w]"),
    KEY("groups", BM_KEY_SIZE, groups, "channel groups"),
    KEY("bias", BM_KEY_BOOL, bias, "whether the layer has a bias (shift)"),
    KEY("affine", BM_KEY_BOOL, affine, "normalisation: whether it has a learned scale"),
    KEY("heads", BM_KEY_SIZE, heads, "attention heads (divides the width)"),
    KEY("hidden", BM_KEY_SIZE, hidden, "transformer MLP width (0: 4 x width)"),
    KEY("causal", BM_KEY_BOOL, causal, "attention: position t sees positions <= t only"),
    KEY("eps", BM_KEY_DOUBLE, eps, "normalisation: added to the variance (> 0)"),
    KEY("momentum", BM_KEY_DOUBLE, momentum, "batch norm: running statistics' momentum in [0, 1]"),
    KEY("alpha", BM_KEY_DOUBLE, alpha, "leaky_relu slope, elu alpha, softplus beta"),
    KEY("approximate", BM_KEY_BOOL, approximate, "gelu: the tanh form instead of erf"),
    KEY("axis", BM_KEY_INT, axis, "concat: per-sample axis (negative counts from the end)"),
    KEY("shape", BM_KEY_SHAPE, shape, "reshape: per-sample target shape"),
    KEY("sequences", BM_KEY_BOOL, sequences, "recurrent: output every step, not only the last"),
    KEY("bptt", BM_KEY_SIZE, bptt, "recurrent: truncate backpropagation every this many steps (0: never)"),
};

const bm_layer_key *bm_layer_keys(size_t *n)
{
    if (n)
        *n = sizeof keys / sizeof keys[0];
    return keys;
}

#define BM_LAYER(id, vt) extern const bm_layer_vt bm_layer_vt_##vt;
#include "layers.def"
#undef BM_LAYER

static const bm_layer_vt *const vtables[] = {
#define BM_LAYER(id, vt) &bm_layer_vt_##vt,
#include "layers.def"
#undef BM_LAYER
};

const bm_layer_vt *bm_layer_vtable(int kind)
{
    return kind >= 0 && kind < BM_LAYER_KIND_COUNT ? vtables[kind] : NULL;
}
