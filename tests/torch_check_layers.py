#!/usr/bin/env python3
"""Compare tests/torch_check_layers' layer kinds (outputs, gradients of the
inputs and trained parameters, second derivatives, batch_norm's running
statistics after two training steps and its evaluation output) with
torch.nn's modules holding the same weights (f64). Exit 77 (skip) when
PyTorch is missing; 1 on a difference beyond TOL.
Usage: torch_check_layers.py PROGRAM"""
import math
import sys

from torch_check_util import compare_cases, need_torch

torch = need_torch()
import torch.nn as nn  # noqa: E402 (after the skip)
import torch.nn.functional as F  # noqa: E402
D = torch.float64


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * w over the last axis (torch.nn.RMSNorm
    arrived after torch 1.13)."""

    def __init__(self, c, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(c, dtype=D))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Fn(nn.Module):
    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, *xs):
        return self.f(*xs)


def add3(a, b, c):  # per-sample [3,2,4] + [3,1,1] + [4], the batch axis apart
    return a + b + c.reshape(c.shape[0], 1, 1, 4)


# name: (per-sample input shapes, batch, module, training, token rows (embedding))
CASES = {
    "conv2d": ([(4, 7, 6)], 2, lambda: nn.Conv2d(4, 6, 3, (2, 1), (1, 2), (1, 2), 2), False),
    "conv2d_nobias": ([(3, 5, 5)], 2, lambda: nn.Conv2d(3, 4, (2, 3), bias=False), False),
    "conv_transpose2d": ([(4, 3, 4)], 2,
                         lambda: nn.ConvTranspose2d(4, 6, (3, 2), 2, (1, 0), groups=2,
                                                    dilation=(1, 2)), False),
    "conv1d": ([(4, 9)], 2, lambda: nn.Conv1d(4, 6, 3, 2, 1, 2, 2), False),
    "max_pool2d": ([(3, 7, 6)], 2, lambda: nn.MaxPool2d(3, 2, 1), False),
    "avg_pool2d": ([(3, 7, 6)], 2, lambda: nn.AvgPool2d((3, 2), padding=1), False),
    "global_avg_pool": ([(3, 4, 5)], 2,
                        lambda: nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), False),
    "flatten": ([(2, 3, 4)], 2, lambda: nn.Flatten(), False),
    "reshape": ([(2, 3, 4)], 2, lambda: Fn(lambda x: x.reshape(x.shape[0], 4, 6)), False),
    "batch_norm_train_2d": ([(3, 4, 2)], 4, lambda: nn.BatchNorm2d(3), True),
    "batch_norm_train_1d": ([(4,)], 6, lambda: nn.BatchNorm1d(4), True),
    "batch_norm_train_cl": ([(3, 5)], 3, lambda: nn.BatchNorm1d(3), True),
    "batch_norm_eval": ([(3, 4, 2)], 4, lambda: nn.BatchNorm2d(3), False),
    "layer_norm": ([(3, 5)], 2, lambda: nn.LayerNorm(5), False),
    "rms_norm": ([(3, 5)], 2, lambda: RMSNorm(5, 1e-5), False),
    "group_norm": ([(6, 3, 2)], 2, lambda: nn.GroupNorm(3, 6), False),
    "group_norm_cl": ([(4, 5)], 3, lambda: nn.GroupNorm(2, 4), False),
    "embedding": ([(4,)], 2, lambda: nn.Embedding(7, 3), False),
    "add": ([(3, 2, 4), (3, 1, 1), (4,)], 2, lambda: Fn(add3), False),
    "concat": ([(2, 3), (2, 2)], 2, lambda: Fn(lambda a, b: torch.cat([a, b], -1)), False),
    "gelu": ([(2, 5)], 2, lambda: nn.GELU(), False),
    "gelu_tanh": ([(2, 5)], 2, lambda: nn.GELU(approximate="tanh"), False),
    "silu": ([(2, 5)], 2, lambda: nn.SiLU(), False),
    "leaky_relu": ([(2, 5)], 2, lambda: nn.LeakyReLU(0.2), False),
    "elu": ([(2, 5)], 2, lambda: nn.ELU(0.7), False),
    "softplus": ([(2, 5)], 2, lambda: nn.Softplus(2.0, 20), False),
    "log_softmax": ([(2, 5)], 2, lambda: nn.LogSoftmax(-1), False),
}


def ramp(n):
    return torch.arange(n, dtype=D)


def make(name):
    """The module with the C side's values, and its inputs."""
    shapes, batch, ctor, training = CASES[name]
    m = ctor().to(D)
    trained = [p for p in m.parameters()]  # weight before bias, as the layers' order
    with torch.no_grad():
        for j, p in enumerate(trained):
            p.copy_((0.5 * torch.cos(0.3 * ramp(p.numel()) + 0.9 * j + 0.2)).reshape(p.shape))
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            c = ramp(m.num_features)
            m.running_mean.copy_(0.1 * c)
            m.running_var.copy_(1 + 0.2 * c)
    xs = []
    for k, s in enumerate(shapes):
        n = batch * math.prod(s)
        if isinstance(m, nn.Embedding):
            xs.append(((3 * ramp(n) + 1) % m.num_embeddings).long().reshape((batch,) + s))
        else:
            x = (1.5 * torch.sin(0.7 * ramp(n) + 1.3 * k + 0.1)).reshape((batch,) + s)
            xs.append(x.requires_grad_(True))
    m.train(training)
    return m, xs, trained


def reference(name):
    m, xs, trained = make(name)
    y = m(*xs)
    wrt = [x for x in xs if x.requires_grad] + trained
    seed = (1 + 0.01 * ramp(y.numel())).reshape(y.shape)
    gs = torch.autograd.grad(y, wrt, seed, create_graph=True, allow_unused=True)
    gs = [torch.zeros_like(w) if g is None else g for g, w in zip(gs, wrt)]
    gv = sum((g * (1 - 0.01 * ramp(w.numel())).reshape(w.shape)).sum() for g, w in zip(gs, wrt))
    if gv.requires_grad:
        hs = torch.autograd.grad(gv, wrt, allow_unused=True)
        hs = [torch.zeros_like(w) if h is None else h for h, w in zip(hs, wrt)]
    else:
        hs = [torch.zeros_like(w) for w in wrt]
    flat = lambda ts: torch.cat([t.detach().flatten() for t in ts]).tolist()
    parts = [y.detach().flatten().tolist(), flat(gs), flat(hs)]
    if isinstance(m, nn.modules.batchnorm._BatchNorm) and CASES[name][3]:
        m, xs, _ = make(name)  # fresh statistics: two training steps, then evaluation
        with torch.no_grad():
            m(xs[0])
            m((0.8 * torch.cos(0.45 * ramp(xs[0].numel())) + 0.3).reshape(xs[0].shape))
            stats = torch.cat([m.running_mean, m.running_var]).tolist()
            m.eval()
            parts.append(stats + m(xs[0]).flatten().tolist())
    return parts


compare_cases(sys.argv[1], reference, len(CASES), ['value', 'grad', '2nd', 'stats+eval'], 22)
