#!/usr/bin/env python3
"""Compare tests/torch_check_nn's values, gradients, second derivatives and
batch_norm running statistics with PyTorch's (f64) for conv2d, conv1d,
pooling, batch_norm (training, evaluation), group_norm and attention
(causal). Exit 77 (skip) when PyTorch is missing; 1 on a difference beyond
TOL. Usage: torch_check_nn.py PROGRAM"""
import math
import sys

from torch_check_util import compare_cases, need_torch

torch = need_torch()
import torch.nn.functional as F  # noqa: E402 (after the skip)
D = torch.float64

# name: (input shapes, function of the inputs (and the running stats), channels of stats, training)
def conv2d(x, w, b):
    return F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)


def sdpa(causal, scale=None):
    """torch's scaled_dot_product_attention (is_causal: row i sees keys
    j <= i); composed from torch ops where this torch predates it (1.13)."""
    def f(q, k, v):
        s = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
        if hasattr(F, "scaled_dot_product_attention") and scale is None:
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        scores = q @ k.transpose(-2, -1) * s
        if causal:
            keep = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
            scores = scores.masked_fill(~keep, float("-inf"))
        return torch.softmax(scores, -1) @ v
    return f


def bn(training):
    def f(x, *wb, stats):
        w, b = (wb + (None, None))[:2]
        return F.batch_norm(x, stats[0], stats[1], w, b, training=training, momentum=0.1, eps=1e-5)
    return f


CASES = {
    "conv2d": ([(2, 4, 7, 6), (6, 2, 3, 3), (6,)], conv2d, 0),
    "conv1d": ([(2, 4, 9), (6, 2, 3), (6,)],
               lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2), 0),
    "max_pool2d": ([(2, 3, 7, 6)], lambda x: F.max_pool2d(x, 3, 2, 1), 0),
    "avg_pool2d": ([(2, 3, 7, 6)], lambda x: F.avg_pool2d(x, 3, 2, 1), 0),
    "avg_pool2d_exclude": ([(2, 3, 5, 6)],
                           lambda x: F.avg_pool2d(x, (3, 2), (1, 2), 1, count_include_pad=False), 0),
    "adaptive_avg_pool2d": ([(2, 3, 7, 5)], lambda x: F.adaptive_avg_pool2d(x, (3, 2)), 0),
    "global_avg_pool": ([(2, 3, 4, 5)], lambda x: F.adaptive_avg_pool2d(x, 1), 0),
    "batch_norm_train": ([(4, 3, 3, 2), (3,), (3,)], bn(True), 3),
    "batch_norm_train_2d": ([(6, 4)], bn(True), 4),
    "batch_norm_eval": ([(4, 3, 3, 2), (3,), (3,)], bn(False), 3),
    "group_norm": ([(2, 6, 3, 2), (6,), (6,)], lambda x, w, b: F.group_norm(x, 3, w, b, 1e-5), 0),
    "sdpa": ([(2, 2, 4, 3), (2, 2, 5, 3), (2, 2, 5, 2)], sdpa(False), 0),
    "sdpa_causal": ([(2, 2, 5, 4), (2, 2, 5, 4), (2, 2, 5, 3)], sdpa(True), 0),
    "sdpa_causal_long": ([(1, 2, 70, 3), (1, 2, 70, 3), (1, 2, 70, 2)], sdpa(True), 0),
    "sdpa_causal_recompute_scaled": ([(1, 3, 6, 2), (1, 3, 6, 2), (1, 3, 6, 4)], sdpa(True, 0.6), 0),
}


def inputs(shapes):
    out = []
    for k, s in enumerate(shapes):
        n = math.prod(s)
        i = torch.arange(n, dtype=D)
        out.append((1.5 * torch.sin(0.7 * i + 1.3 * k + 0.1)).reshape(s).requires_grad_(True))
    return out


def reference(name):
    shapes, f, C = CASES[name]
    xs = inputs(shapes)
    kw = {}
    if C:
        c = torch.arange(C, dtype=D)
        kw["stats"] = (0.1 * c, 1 + 0.2 * c)
    y = f(*xs, **kw)
    extra = torch.cat([kw["stats"][0], kw["stats"][1]]).tolist() if C else []
    seed = (1 + 0.01 * torch.arange(y.numel(), dtype=D)).reshape(y.shape)
    gs = torch.autograd.grad(y, xs, seed, create_graph=True, allow_unused=True)
    gs = [torch.zeros_like(x) if g is None else g for g, x in zip(gs, xs)]
    gv = sum(((g * (1 - 0.01 * torch.arange(x.numel(), dtype=D)).reshape(x.shape)).sum()
              for g, x in zip(gs, xs)))
    if gv.requires_grad:
        hs = torch.autograd.grad(gv, xs, allow_unused=True)
        hs = [torch.zeros_like(x) if h is None else h for h, x in zip(hs, xs)]
    else:
        hs = [torch.zeros_like(x) for x in xs]
    flat = lambda ts: torch.cat([t.detach().flatten() for t in ts]).tolist()
    return y.detach().flatten().tolist(), extra, flat(gs), flat(hs)


compare_cases(sys.argv[1], reference, len(CASES), ['value', 'stats', 'grad', '2nd'], 30)
