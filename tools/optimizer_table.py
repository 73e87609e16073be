#!/usr/bin/env python3
"""optimizer_table.py — bmnn against a NumPy reference on the book's optimizers.

Trains the walk-through's spiral net (100 points x 3 classes, 2-64-3, ReLU,
softmax + categorical cross-entropy, full batch, epochs 0..10000) with the six
optimizer settings of "Neural Networks from Scratch" chapter 10, once in bmnn
(the C driver examples/optimizer_table) and once in NumPy written the book's
way (Layer_Dense, Activation_ReLU, Activation_Softmax_Loss_CategoricalCrossentropy,
Optimizer_SGD/Adagrad/RMSprop/Adam), and prints a markdown table:

  optimizer | bmnn loss | bmnn acc | NumPy loss | NumPy acc | bmnn time | NumPy time | time ratio

Loss and accuracy are those of the last epoch's forward pass, as the book
prints them; times cover training only; the ratio is NumPy time / bmnn time.
The two sides draw their data and initial weights from different generators
(bmnn's seeded xoshiro256**, NumPy's np.random.seed(0) as nnfs does), so the
numbers agree in size, not digit for digit.

Usage: /usr/bin/python3 tools/optimizer_table.py [--driver PATH] [--epochs N] [--seeds N]
                                                [--dtype float32|float64] [--out FILE]
e.g.   /usr/bin/python3 tools/optimizer_table.py --seeds 8 --out tools/optimizer_table.md
Needs NumPy (Debian: apt-get install python3-numpy).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

# key -> (label, optimizer class name, keyword arguments): the book's settings.
SETTINGS = [
    ("sgd", "SGD (lr 1)", "SGD", {}),
    ("sgd_decay", "SGD, decay 1e-3", "SGD", {"decay": 1e-3}),
    ("sgd_momentum", "SGD, decay 1e-3, momentum 0.9", "SGD", {"decay": 1e-3, "momentum": 0.9}),
    ("adagrad", "AdaGrad (lr 1, decay 1e-4)", "Adagrad", {"decay": 1e-4}),
    ("rmsprop", "RMSProp (lr 0.02, decay 1e-5, rho 0.999)", "RMSprop",
     {"learning_rate": 0.02, "decay": 1e-5, "rho": 0.999}),
    ("adam", "Adam (lr 0.05, decay 5e-7)", "Adam", {"learning_rate": 0.05, "decay": 5e-7}),
]

DTYPE = np.float32


# ---------------------------------------------------------------- the book's code

def spiral_data(samples, classes):
    """nnfs.datasets.spiral_data."""
    X = np.zeros((samples * classes, 2), dtype=DTYPE)
    y = np.zeros(samples * classes, dtype="uint8")
    for class_number in range(classes):
        ix = range(samples * class_number, samples * (class_number + 1))
        r = np.linspace(0.0, 1, samples)
        t = np.linspace(class_number * 4, (class_number + 1) * 4, samples) + \
            np.random.randn(samples) * 0.2
        X[ix] = np.c_[r * np.sin(t * 2.5), r * np.cos(t * 2.5)]
        y[ix] = class_number
    return X, y


class Layer_Dense:
    def __init__(self, n_inputs, n_neurons):
        self.weights = (0.01 * np.random.randn(n_inputs, n_neurons)).astype(DTYPE)
        self.biases = np.zeros((1, n_neurons), dtype=DTYPE)

    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.dot(inputs, self.weights) + self.biases

    def backward(self, dvalues):
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        self.dinputs = np.dot(dvalues, self.weights.T)


class Activation_ReLU:
    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.maximum(0, inputs)

    def backward(self, dvalues):
        self.dinputs = dvalues.copy()
        self.dinputs[self.inputs <= 0] = 0


class Activation_Softmax:
    def forward(self, inputs):
        exp_values = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
        self.output = exp_values / np.sum(exp_values, axis=1, keepdims=True)


class Loss:
    def calculate(self, output, y):
        return np.mean(self.forward(output, y))


class Loss_CategoricalCrossentropy(Loss):
    def forward(self, y_pred, y_true):
        samples = len(y_pred)
        y_pred_clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)
        if len(y_true.shape) == 1:
            correct_confidences = y_pred_clipped[range(samples), y_true]
        else:
            correct_confidences = np.sum(y_pred_clipped * y_true, axis=1)
        return -np.log(correct_confidences)


class Activation_Softmax_Loss_CategoricalCrossentropy:
    def __init__(self):
        self.activation = Activation_Softmax()
        self.loss = Loss_CategoricalCrossentropy()

    def forward(self, inputs, y_true):
        self.activation.forward(inputs)
        self.output = self.activation.output
        return self.loss.calculate(self.output, y_true)

    def backward(self, dvalues, y_true):
        samples = len(dvalues)
        if len(y_true.shape) == 2:
            y_true = np.argmax(y_true, axis=1)
        self.dinputs = dvalues.copy()
        self.dinputs[range(samples), y_true] -= 1
        self.dinputs = self.dinputs / samples


class Optimizer_SGD:
    def __init__(self, learning_rate=1., decay=0., momentum=0.):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.momentum = momentum

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate * \
                (1. / (1. + self.decay * self.iterations))

    def update_params(self, layer):
        if self.momentum:
            if not hasattr(layer, "weight_momentums"):
                layer.weight_momentums = np.zeros_like(layer.weights)
                layer.bias_momentums = np.zeros_like(layer.biases)
            weight_updates = self.momentum * layer.weight_momentums - \
                self.current_learning_rate * layer.dweights
            layer.weight_momentums = weight_updates
            bias_updates = self.momentum * layer.bias_momentums - \
                self.current_learning_rate * layer.dbiases
            layer.bias_momentums = bias_updates
        else:
            weight_updates = -self.current_learning_rate * layer.dweights
            bias_updates = -self.current_learning_rate * layer.dbiases
        layer.weights += weight_updates
        layer.biases += bias_updates

    def post_update_params(self):
        self.iterations += 1


class Optimizer_Adagrad:
    def __init__(self, learning_rate=1., decay=0., epsilon=1e-7):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.epsilon = epsilon

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate * \
                (1. / (1. + self.decay * self.iterations))

    def update_params(self, layer):
        if not hasattr(layer, "weight_cache"):
            layer.weight_cache = np.zeros_like(layer.weights)
            layer.bias_cache = np.zeros_like(layer.biases)
        layer.weight_cache += layer.dweights**2
        layer.bias_cache += layer.dbiases**2
        layer.weights += -self.current_learning_rate * layer.dweights / \
            (np.sqrt(layer.weight_cache) + self.epsilon)
        layer.biases += -self.current_learning_rate * layer.dbiases / \
            (np.sqrt(layer.bias_cache) + self.epsilon)

    def post_update_params(self):
        self.iterations += 1


class Optimizer_RMSprop:
    def __init__(self, learning_rate=0.001, decay=0., epsilon=1e-7, rho=0.9):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.epsilon = epsilon
        self.rho = rho

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate * \
                (1. / (1. + self.decay * self.iterations))

    def update_params(self, layer):
        if not hasattr(layer, "weight_cache"):
            layer.weight_cache = np.zeros_like(layer.weights)
            layer.bias_cache = np.zeros_like(layer.biases)
        layer.weight_cache = self.rho * layer.weight_cache + \
            (1 - self.rho) * layer.dweights**2
        layer.bias_cache = self.rho * layer.bias_cache + \
            (1 - self.rho) * layer.dbiases**2
        layer.weights += -self.current_learning_rate * layer.dweights / \
            (np.sqrt(layer.weight_cache) + self.epsilon)
        layer.biases += -self.current_learning_rate * layer.dbiases / \
            (np.sqrt(layer.bias_cache) + self.epsilon)

    def post_update_params(self):
        self.iterations += 1


class Optimizer_Adam:
    def __init__(self, learning_rate=0.001, decay=0., epsilon=1e-7, beta_1=0.9, beta_2=0.999):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.epsilon = epsilon
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate * \
                (1. / (1. + self.decay * self.iterations))

    def update_params(self, layer):
        if not hasattr(layer, "weight_cache"):
            layer.weight_momentums = np.zeros_like(layer.weights)
            layer.weight_cache = np.zeros_like(layer.weights)
            layer.bias_momentums = np.zeros_like(layer.biases)
            layer.bias_cache = np.zeros_like(layer.biases)
        layer.weight_momentums = self.beta_1 * layer.weight_momentums + \
            (1 - self.beta_1) * layer.dweights
        layer.bias_momentums = self.beta_1 * layer.bias_momentums + \
            (1 - self.beta_1) * layer.dbiases
        weight_momentums_corrected = layer.weight_momentums / \
            (1 - self.beta_1 ** (self.iterations + 1))
        bias_momentums_corrected = layer.bias_momentums / \
            (1 - self.beta_1 ** (self.iterations + 1))
        layer.weight_cache = self.beta_2 * layer.weight_cache + \
            (1 - self.beta_2) * layer.dweights**2
        layer.bias_cache = self.beta_2 * layer.bias_cache + \
            (1 - self.beta_2) * layer.dbiases**2
        weight_cache_corrected = layer.weight_cache / \
            (1 - self.beta_2 ** (self.iterations + 1))
        bias_cache_corrected = layer.bias_cache / \
            (1 - self.beta_2 ** (self.iterations + 1))
        layer.weights += -self.current_learning_rate * weight_momentums_corrected / \
            (np.sqrt(weight_cache_corrected) + self.epsilon)
        layer.biases += -self.current_learning_rate * bias_momentums_corrected / \
            (np.sqrt(bias_cache_corrected) + self.epsilon)

    def post_update_params(self):
        self.iterations += 1


OPTIMIZERS = {"SGD": Optimizer_SGD, "Adagrad": Optimizer_Adagrad,
              "RMSprop": Optimizer_RMSprop, "Adam": Optimizer_Adam}


def numpy_run(opt_name, kwargs, epochs, seed=0, start=None):
    """The book's training loop; returns (loss, accuracy, seconds) of the last epoch.
    start: (X, y, W1, W2) to begin from instead of the seeded data and weights."""
    np.random.seed(seed)
    X, y = spiral_data(samples=100, classes=3)
    dense1 = Layer_Dense(2, 64)
    activation1 = Activation_ReLU()
    dense2 = Layer_Dense(64, 3)
    if start is not None:
        X, y, dense1.weights, dense2.weights = start
    loss_activation = Activation_Softmax_Loss_CategoricalCrossentropy()
    optimizer = OPTIMIZERS[opt_name](**kwargs)
    t0 = time.perf_counter()
    for epoch in range(epochs + 1):
        dense1.forward(X)
        activation1.forward(dense1.output)
        dense2.forward(activation1.output)
        loss = loss_activation.forward(dense2.output, y)
        predictions = np.argmax(loss_activation.output, axis=1)
        accuracy = np.mean(predictions == y)
        loss_activation.backward(loss_activation.output, y)
        dense2.backward(loss_activation.dinputs)
        activation1.backward(dense2.dinputs)
        dense1.backward(activation1.dinputs)
        optimizer.pre_update_params()
        optimizer.update_params(dense1)
        optimizer.update_params(dense2)
        optimizer.post_update_params()
    return float(loss), float(accuracy), time.perf_counter() - t0


# ------------------------------------------------------------------- the table

def git_rev(root):
    """Short commit of the bmnn tree ("-dirty" with local changes), or "unknown"."""
    try:
        return subprocess.run(["git", "-C", root, "describe", "--always", "--dirty"], check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def find_driver(root):
    for build in ("build", "build-nn", "builddir"):
        p = os.path.join(root, build, "examples", "optimizer_table")
        if os.access(p, os.X_OK):
            return p
    return None


def bmnn_runs(driver, epochs, seed):
    """key -> (loss, accuracy, seconds) of the C driver's run from `seed`."""
    out = subprocess.run([driver, "--epochs", str(epochs), "--seed", str(seed)], check=True,
                         capture_output=True, text=True).stdout
    runs = {}
    for line in out.splitlines():
        key, loss, acc, secs = line.split("\t")
        runs[key] = (float(loss), float(acc), float(secs))
    return runs


def load_start(path):
    """(X, y, W1, W2) from the C driver's --dump file."""
    v = np.loadtxt(path, dtype=np.float64)
    n = 300
    X = v[:2 * n].reshape(n, 2).astype(DTYPE)
    y = v[2 * n:3 * n].astype(np.int64)
    W1 = v[3 * n:3 * n + 128].reshape(2, 64).astype(DTYPE)
    W2 = v[3 * n + 128:3 * n + 128 + 192].reshape(64, 3).astype(DTYPE)
    return X, y, W1, W2


def same_start_table(driver, epochs):
    """bmnn (f64) and the f64 NumPy reference from bmnn's data and weights."""
    global DTYPE
    keep, DTYPE = DTYPE, np.float64
    rows = ["| optimizer | bmnn loss | NumPy loss | bmnn acc | NumPy acc |",
            "|---|---:|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "start.txt")
        for key, label, opt, kwargs in SETTINGS:
            out = subprocess.run([driver, "--epochs", str(epochs), "--only", key, "--f64",
                                  "--dump", path], check=True, capture_output=True,
                                 text=True).stdout
            _, bl, ba, _ = out.split("\t")
            nl, na, _ = numpy_run(opt, kwargs, epochs, start=load_start(path))
            rows.append(f"| {label} | {float(bl):.6f} | {nl:.6f} | {float(ba):.4f} | {na:.4f} |")
    DTYPE = keep
    return "\n".join(rows)


def table(bm, ref):
    """Markdown rows; bm/ref: key -> list of (loss, acc, secs) over seeds."""
    multi = len(next(iter(bm.values()))) > 1
    rows = ["| optimizer | bmnn loss | bmnn acc | NumPy loss | NumPy acc | bmnn time | NumPy time "
            "| time ratio |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]

    def acc(runs):
        a = [r[1] for r in runs]
        m = sum(a) / len(a)
        return f"{m:.3f} ({min(a):.2f}–{max(a):.2f})" if multi else f"{m:.3f}"

    def mean(runs, k):
        return sum(r[k] for r in runs) / len(runs)

    for key, label, _, _ in SETTINGS:
        b, n = bm[key], ref[key]
        rows.append(f"| {label} | {mean(b, 0):.3f} | {acc(b)} | {mean(n, 0):.3f} | {acc(n)} "
                    f"| {mean(b, 2):.2f} s | {mean(n, 2):.2f} s | {mean(n, 2) / mean(b, 2):.1f}x |")
    return "\n".join(rows)


def main():
    global DTYPE
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--driver", help="path of examples/optimizer_table (default: found in build*/)")
    ap.add_argument("--epochs", type=int, default=10000)
    ap.add_argument("--seeds", type=int, default=1,
                    help="also average over seeds 0..N-1 (a second table when N > 1)")
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                    help="NumPy reference precision (bmnn runs in f32; nnfs defaults to float32)")
    ap.add_argument("--same-start-epochs", type=int, default=500,
                    help="epochs of the same-start f64 comparison (0: leave it out)")
    ap.add_argument("--out", help="also write the tables (with a header) to this file")
    a = ap.parse_args()
    DTYPE = np.dtype(a.dtype).type
    driver = a.driver or find_driver(root)
    if not driver:
        sys.exit("optimizer_table: build first (meson setup build && ninja -C build) or pass --driver")
    bm = {key: [] for key, _, _, _ in SETTINGS}
    ref = {key: [] for key, _, _, _ in SETTINGS}
    for seed in range(max(1, a.seeds)):
        for key, r in bmnn_runs(driver, a.epochs, seed).items():
            bm[key].append(r)
        for key, _, opt, kwargs in SETTINGS:
            ref[key].append(numpy_run(opt, kwargs, a.epochs, seed))
        print(f"optimizer_table: seed {seed} done", file=sys.stderr)
    first = table({k: v[:1] for k, v in bm.items()}, {k: v[:1] for k, v in ref.items()})
    text = f"Seed 0 (NumPy's seed 0 is nnfs's, so its column is the book's run):\n\n{first}\n"
    if a.seeds > 1:
        text += (f"\nMean over seeds 0..{a.seeds - 1} (accuracy: mean (min–max)):\n\n"
                 f"{table(bm, ref)}\n")
    if a.same_start_epochs > 0:
        text += (f"\nSame start, f64: NumPy begins from bmnn's data and initial weights "
                 f"(seed 0), epochs 0..{a.same_start_epochs}. Both sides do the same arithmetic, "
                 f"so they agree to rounding at first; over a long run the rounding differences "
                 f"grow (ReLU kinks; Adam and RMSProp turn tiny gradients into full-size steps) "
                 f"and the runs part:\n\n{same_start_table(driver, a.same_start_epochs)}\n")
    print(text, end="")
    if a.out:
        header = (f"<!-- written by tools/optimizer_table.py --epochs {a.epochs} --seeds {a.seeds}"
                  f" --dtype {a.dtype} --same-start-epochs {a.same_start_epochs};"
                  f" NumPy {np.__version__}; bmnn {git_rev(root)} -->\n"
                  f"Spiral data 100 x 3, 2-64-3 ReLU + softmax/cross-entropy, full batch, "
                  f"epochs 0..{a.epochs}, the book's hyperparameters. Loss and accuracy are the "
                  f"last epoch's; times cover training only; ratio = NumPy time / bmnn time. "
                  f"bmnn runs in f32, the NumPy reference in {a.dtype}. The two draw data and "
                  f"weights from different generators (bmnn's xoshiro256**, NumPy's Mersenne "
                  f"Twister), so single runs agree in size, not digit for digit. Times are from one "
                  f"machine ({os.cpu_count()} CPUs, bmnn single-threaded) and vary with its "
                  f"load.\n\n")
        with open(a.out, "w") as f:
            f.write(header + text)


if __name__ == "__main__":
    main()
