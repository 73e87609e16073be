#!/usr/bin/env python3
"""Compare tests/torch_check_seq's outputs, gradients (of the input and of
every parameter) and second derivatives with PyTorch's (f64):
torch.nn.RNN/LSTM/GRU (batch_first) holding the same weights, and
multi-head attention, a pre-norm GPT block and a position table written in
plain torch ops in the layout layer_attention.c documents (GPT-2's: qkv
x·W + b with W [E,3E], columns q | k | v, head-major). Exit 77 (skip) when
PyTorch is missing; 1 on a difference beyond TOL. Usage: torch_check_seq.py
PROGRAM"""
import math
import sys

from torch_check_util import compare_cases, need_torch

torch = need_torch()
import torch.nn.functional as F  # noqa: E402 (after the skip)
D = torch.float64

# name: (module class, B, T, F, H, bias, sequences) for the recurrent cases
RECURRENT = {
    "rnn": (torch.nn.RNN, 2, 4, 3, 5, True, True),
    "lstm": (torch.nn.LSTM, 2, 5, 3, 4, True, True),
    "lstm_last_nobias": (torch.nn.LSTM, 3, 4, 2, 3, False, False),
    "gru": (torch.nn.GRU, 3, 4, 2, 3, True, True),
    "gru_last_nobias": (torch.nn.GRU, 2, 3, 3, 5, False, False),
}
# name: (B, T, E, heads, causal, bias)
ATTENTION = {
    "attention": (2, 4, 6, 3, False, True),
    "attention_causal_nobias": (2, 5, 4, 2, True, False),
}
# name: (B, T, E, heads, hidden, causal, bias, tanh gelu)
TRANSFORMER = {
    "transformer": (2, 5, 4, 2, 6, True, True, False),
    "transformer_nobias_tanh": (1, 4, 6, 3, 24, False, False, True),
}
# name: (B, T, E, table rows)
POSITION = {"position": (2, 4, 3, 6)}


def values(shape, k, ones=False):
    """Leaf k's values as torch_check_seq.c sets them (k = 0: the input)."""
    i = torch.arange(math.prod(shape), dtype=D)
    v = 1.5 * torch.sin(0.7 * i + 0.1) if k == 0 else 0.5 * torch.sin(0.7 * i + 1.3 * k + 0.1)
    return ((1.0 if ones else 0.0) + v).reshape(shape).requires_grad_(True)


def attention(x, wqkv, bqkv, wproj, bproj, heads, causal):
    B, T, E = x.shape
    qkv = x @ wqkv + (bqkv if bqkv is not None else 0)
    q, k, v = (t.reshape(B, T, heads, E // heads).transpose(1, 2) for t in qkv.split(E, -1))
    scores = q @ k.transpose(-2, -1) / math.sqrt(E // heads)
    if causal:
        keep = torch.ones(T, T, dtype=torch.bool).tril()
        scores = scores.masked_fill(~keep, float("-inf"))
    y = (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(B, T, E)
    return y @ wproj + (bproj if bproj is not None else 0)


def recurrent(name):
    cls, B, T, Fe, H, bias, seqs = RECURRENT[name]
    m = cls(Fe, H, batch_first=True, bias=bias).double()
    names = ["weight_ih_l0", "weight_hh_l0"] + (["bias_ih_l0", "bias_hh_l0"] if bias else [])
    leaves = [values((B, T, Fe), 0)]
    for k, n in enumerate(names, 1):
        p = getattr(m, n)
        with torch.no_grad():
            p.copy_(values(tuple(p.shape), k))
        leaves.append(p)
    y = m(leaves[0])[0]
    return (y if seqs else y[:, -1, :]), leaves


def attention_case(name):
    B, T, E, heads, causal, bias = ATTENTION[name]
    shapes = [(E, 3 * E)] + ([(3 * E,)] if bias else []) + [(E, E)] + ([(E,)] if bias else [])
    leaves = [values((B, T, E), 0)] + [values(s, k) for k, s in enumerate(shapes, 1)]
    p = leaves[1:]
    wqkv, bqkv, wproj, bproj = (p[0], p[1], p[2], p[3]) if bias else (p[0], None, p[1], None)
    return attention(leaves[0], wqkv, bqkv, wproj, bproj, heads, causal), leaves


def transformer_case(name):
    B, T, E, heads, hidden, causal, bias, tanh = TRANSFORMER[name]
    # (shape, starts at one) in layer_attention.c's order
    layout = [((E,), True), ((E,), False), ((E, 3 * E), False), ((3 * E,), False),
              ((E, E), False), ((E,), False), ((E,), True), ((E,), False),
              ((E, hidden), False), ((hidden,), False), ((hidden, E), False), ((E,), False)]
    biases = {1, 3, 5, 7, 9, 11}
    layout = [l for j, l in enumerate(layout) if bias or j not in biases]
    leaves = [values((B, T, E), 0)] + [values(s, k, ones) for k, (s, ones) in enumerate(layout, 1)]
    it = iter(leaves[1:])
    take = lambda keep: next(it) if keep else None
    ln1w, ln1b = take(True), take(bias)
    wqkv, bqkv, wproj, bproj = take(True), take(bias), take(True), take(bias)
    ln2w, ln2b = take(True), take(bias)
    fcw, fcb, pw, pb = take(True), take(bias), take(True), take(bias)
    x = leaves[0]
    x = x + attention(F.layer_norm(x, (E,), ln1w, ln1b, 1e-5), wqkv, bqkv, wproj, bproj, heads,
                      causal)
    h = F.layer_norm(x, (E,), ln2w, ln2b, 1e-5) @ fcw + (fcb if bias else 0)
    h = F.gelu(h, approximate="tanh" if tanh else "none") @ pw + (pb if bias else 0)
    return x + h, leaves


def position_case(name):
    B, T, E, rows = POSITION[name]
    leaves = [values((B, T, E), 0), values((rows, E), 1)]
    return leaves[0] + leaves[1][:T], leaves


def reference(name):
    for table, f in ((RECURRENT, recurrent), (ATTENTION, attention_case),
                     (TRANSFORMER, transformer_case), (POSITION, position_case)):
        if name in table:
            y, xs = f(name)
            break
    seed = (1 + 0.01 * torch.arange(y.numel(), dtype=D)).reshape(y.shape)
    gs = torch.autograd.grad(y, xs, seed, create_graph=True)
    gv = sum(((g * (1 - 0.01 * torch.arange(x.numel(), dtype=D)).reshape(x.shape)).sum()
              for g, x in zip(gs, xs)))
    hs = torch.autograd.grad(gv, xs, allow_unused=True) if gv.requires_grad else [None] * len(xs)
    hs = [torch.zeros_like(x) if h is None else h for h, x in zip(hs, xs)]
    flat = lambda ts: torch.cat([t.detach().flatten() for t in ts]).tolist()
    return y.detach().flatten().tolist(), flat(gs), flat(hs)


N_CASES = len(RECURRENT) + len(ATTENTION) + len(TRANSFORMER) + len(POSITION)
compare_cases(sys.argv[1], reference, N_CASES, ['value', 'grad', '2nd'], 26)
