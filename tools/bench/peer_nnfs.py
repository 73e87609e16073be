"""peer_nnfs.py -- one training step of the walk-through's (nnfs) NumPy network, for peer.py.

The network is tools/nnfs_ref.py's (Layer_Dense, Activation_ReLU,
Activation_Softmax_Loss_CategoricalCrossentropy, Optimizer_Adam as the book
writes them, float32). The book's dense layer computes dinputs for the first
layer too.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from nnfs_ref import (Activation_ReLU, Activation_Softmax_Loss_CategoricalCrossentropy,  # noqa: E402
                      Layer_Dense, Optimizer_Adam)


def make_step(batch, widths, lr, seed):
    """A closure running one book-style training step on a fixed random batch
    (forward, loss, backward, Adam update); returns (step, layers)."""
    np.random.seed(seed)
    dense = [Layer_Dense(widths[i - 1], widths[i]) for i in range(1, len(widths))]
    relus = [Activation_ReLU() for _ in dense[:-1]]
    loss_act = Activation_Softmax_Loss_CategoricalCrossentropy()
    opt = Optimizer_Adam(learning_rate=lr)
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
