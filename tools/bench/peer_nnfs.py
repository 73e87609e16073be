"""peer_nnfs.py -- the walk-through's (nnfs) NumPy network, for peer.py.

Layer_Dense, Activation_ReLU, Activation_Softmax_Loss_CategoricalCrossentropy
and Optimizer_Adam as the book writes them (np.dot, the fused backward
(y_hat - y) / N, Adam's bias-corrected momentums and cache), kept in float32.
The book's dense layer computes dinputs for the first layer too.
"""
import numpy as np


class LayerDense:
    """The walk-through's Layer_Dense."""

    def __init__(self, n_inputs, n_neurons):
        self.weights = (0.01 * np.random.randn(n_inputs, n_neurons)).astype(np.float32)
        self.biases = np.zeros((1, n_neurons), dtype=np.float32)

    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.dot(inputs, self.weights) + self.biases

    def backward(self, dvalues):
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        self.dinputs = np.dot(dvalues, self.weights.T)


class ActivationReLU:
    """Activation_ReLU."""

    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.maximum(0, inputs)

    def backward(self, dvalues):
        self.dinputs = dvalues.copy()
        self.dinputs[self.inputs <= 0] = 0


class SoftmaxLossCCE:
    """Activation_Softmax_Loss_CategoricalCrossentropy (forward = mean loss)."""

    def forward(self, inputs, y_true):
        exp_values = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
        self.output = exp_values / np.sum(exp_values, axis=1, keepdims=True)
        samples = len(self.output)
        clipped = np.clip(self.output, 1e-7, 1 - 1e-7)
        correct = clipped[range(samples), y_true]
        return np.mean(-np.log(correct))

    def backward(self, dvalues, y_true):
        samples = len(dvalues)
        self.dinputs = dvalues.copy()
        self.dinputs[range(samples), y_true] -= 1
        self.dinputs = self.dinputs / samples


class OptimizerAdam:
    """Optimizer_Adam with the book's formulas."""

    def __init__(self, learning_rate=0.001, decay=0.0, epsilon=1e-7, beta_1=0.9,
                 beta_2=0.999):
        self.learning_rate = self.current_learning_rate = learning_rate
        self.decay, self.iterations = decay, 0
        self.epsilon, self.beta_1, self.beta_2 = epsilon, beta_1, beta_2

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate * (
                1.0 / (1.0 + self.decay * self.iterations))

    def update_params(self, layer):
        if not hasattr(layer, "weight_cache"):
            layer.weight_momentums = np.zeros_like(layer.weights)
            layer.weight_cache = np.zeros_like(layer.weights)
            layer.bias_momentums = np.zeros_like(layer.biases)
            layer.bias_cache = np.zeros_like(layer.biases)
        b1, b2, it = self.beta_1, self.beta_2, self.iterations
        layer.weight_momentums = b1 * layer.weight_momentums + (1 - b1) * layer.dweights
        layer.bias_momentums = b1 * layer.bias_momentums + (1 - b1) * layer.dbiases
        weight_momentums_corrected = layer.weight_momentums / (1 - b1 ** (it + 1))
        bias_momentums_corrected = layer.bias_momentums / (1 - b1 ** (it + 1))
        layer.weight_cache = b2 * layer.weight_cache + (1 - b2) * layer.dweights ** 2
        layer.bias_cache = b2 * layer.bias_cache + (1 - b2) * layer.dbiases ** 2
        weight_cache_corrected = layer.weight_cache / (1 - b2 ** (it + 1))
        bias_cache_corrected = layer.bias_cache / (1 - b2 ** (it + 1))
        layer.weights += -self.current_learning_rate * weight_momentums_corrected / (
            np.sqrt(weight_cache_corrected) + self.epsilon)
        layer.biases += -self.current_learning_rate * bias_momentums_corrected / (
            np.sqrt(bias_cache_corrected) + self.epsilon)

    def post_update_params(self):
        self.iterations += 1


def make_step(batch, widths, lr, seed):
    """A closure running one book-style training step on a fixed random batch
    (forward, loss, backward, Adam update); returns (step, layers)."""
    np.random.seed(seed)
    dense = [LayerDense(widths[i - 1], widths[i]) for i in range(1, len(widths))]
    relus = [ActivationReLU() for _ in dense[:-1]]
    loss_act = SoftmaxLossCCE()
    opt = OptimizerAdam(learning_rate=lr)
    x = np.random.randn(batch, widths[0]).astype(np.float32)
    y = np.random.randint(0, widths[-1], size=batch)

    def step():
        h = x
        for i, d in enumerate(dense):
            d.forward(h)
            h = d.output
            if i < len(relus):
                relus[i].forward(h)
                h = relus[i].output
        loss = loss_act.forward(h, y)
        loss_act.backward(loss_act.output, y)
        g = loss_act.dinputs
        for i in reversed(range(len(dense))):
            dense[i].backward(g)
            g = dense[i].dinputs
            if i > 0:
                relus[i - 1].backward(g)
                g = relus[i - 1].dinputs
        opt.pre_update_params()
        for d in dense:
            opt.update_params(d)
        opt.post_update_params()
        return loss

    return step, dense
