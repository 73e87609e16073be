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

import nnfs_ref as nnfs
from nnfs_ref import (OPTIMIZERS, Activation_ReLU,
                      Activation_Softmax_Loss_CategoricalCrossentropy, Layer_Dense, spiral_data)

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
    X = v[:2 * n].reshape(n, 2).astype(nnfs.DTYPE)
    y = v[2 * n:3 * n].astype(np.int64)
    W1 = v[3 * n:3 * n + 128].reshape(2, 64).astype(nnfs.DTYPE)
    W2 = v[3 * n + 128:3 * n + 128 + 192].reshape(64, 3).astype(nnfs.DTYPE)
    return X, y, W1, W2


def same_start_table(driver, epochs):
    """bmnn (f64) and the f64 NumPy reference from bmnn's data and weights."""
    keep, nnfs.DTYPE = nnfs.DTYPE, np.float64
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
    nnfs.DTYPE = keep
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
    nnfs.DTYPE = np.dtype(a.dtype).type
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
