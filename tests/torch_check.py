#!/usr/bin/env python3
"""Compare tests/torch_check's values, gradients and second derivatives with
PyTorch's (f64). Exit 77 (skip) when PyTorch is missing; 1 on a difference
beyond TOL. Usage: torch_check.py PROGRAM"""
import subprocess
import warnings
import sys

try:
    import torch
except ImportError:
    print("PyTorch is not installed: skipped")
    sys.exit(77)

TOL = 1e-12
warnings.filterwarnings("ignore", message="reduction: .mean.")
# Ops whose second derivative at the kink x = 0 follows another convention.
AT_KINK_2ND = {"elu"}
X = torch.tensor([-1.7, -0.9, -0.3, 0.0, 0.2, 0.45, 0.8, 1.1, 1.9, 2.6, -2.2, 3.1], dtype=torch.float64).reshape(3, 4)
f = {"gelu": lambda x: torch.nn.functional.gelu(x), "gelu_tanh": lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
     "silu": torch.nn.functional.silu, "softplus": lambda x: torch.nn.functional.softplus(x, 1.5, 2.0),
     "leaky_relu": lambda x: torch.nn.functional.leaky_relu(x, 0.1), "elu": lambda x: torch.nn.functional.elu(x, 0.7),
     "erf": torch.erf, "sin": torch.sin, "expm1": torch.expm1, "max1": lambda x: torch.amax(x, 1),
     "lse0": lambda x: torch.logsumexp(x, 0), "var1": lambda x: torch.var(x, 1, unbiased=True),
     "std0": lambda x: torch.std(x, 0, unbiased=False, keepdim=True), "norm1": lambda x: torch.linalg.vector_norm(x, dim=1),
     "cumsum1": lambda x: torch.cumsum(x, 1),
     "softmax": lambda x: torch.softmax(x, -1), "tanh": torch.tanh, "sigmoid": torch.sigmoid,
     "relu": torch.relu, "abs": torch.abs, "exp": torch.exp,
     "log_softmax": lambda x: torch.log_softmax(x, -1), "square": torch.square, "cos": torch.cos,
     "layer_norm": lambda x: torch.nn.functional.layer_norm(x, (4,), eps=1e-5),
     "rms_norm": lambda x: x * torch.rsqrt((x * x).mean(-1, keepdim=True) + 1e-6),
     "cross_entropy": lambda x: torch.nn.functional.cross_entropy(
         x, torch.tensor([1, 3, 0]), ignore_index=3, label_smoothing=0.1),
     "nll_loss": lambda x: torch.nn.functional.nll_loss(x, torch.tensor([2, 0, 1]), ignore_index=0),
     "huber": lambda x: torch.nn.functional.huber_loss(x, torch.full_like(x, 0.5), delta=1.0),
     "kl_div": lambda x: torch.nn.functional.kl_div(x, torch.tensor(
         [.1, .2, .3, .4, 0, .5, .25, .25, .7, .1, .1, .1], dtype=torch.float64).reshape(3, 4),
         reduction="mean"),
     "prod1": lambda x: torch.prod(x, 1), "prod_all": torch.prod,
     "permute": lambda x: x.permute(1, 0).square(), "slice": lambda x: x[1:, -3::2].square(),
     "pad": lambda x: torch.nn.functional.pad(x, (0, 2, 1, 0), value=0.5).square(),
     "concat": lambda x: torch.cat([x, x.square()], 0),
     "stack": lambda x: torch.stack([x.sin(), x.square()], 1),
     "gather": lambda x: torch.gather(x, 1, torch.tensor([[3, 0], [1, 1], [2, 3]])).square(),
     "index_select": lambda x: torch.index_select(x, 0, torch.tensor([2, 0, 2])).square(),
     "embedding": lambda x: torch.nn.functional.embedding(torch.tensor([[1, 2], [2, 0]]), x).sin(),
     "where": lambda x: torch.where(x > 0.5, x.sin(), x.square()),
     "masked_fill": lambda x: x.masked_fill(torch.tensor([[False, True, False, True]]), -1.5).square(),
     "scatter_add": lambda x: x.scatter_add(0, torch.tensor([[2, 0, 0, 1], [2, 2, 1, 1]]),
                                            x.square()[:2]).square(),
     "index_add": lambda x: x.index_add(1, torch.tensor([3, 3]), x.sin()[:, :2]).square()}
worst = 0
out = subprocess.run([sys.argv[1]], check=True, capture_output=True, text=True).stdout
seen = 0
for line in out.splitlines():
    name, rest = line.split(" ", 1)
    ys, gs, hs = ([float(v) for v in part.split()] for part in rest.split("|"))
    x = X.clone().requires_grad_(True)
    y = f[name](x)
    seed = 1 + 0.1 * torch.arange(y.numel(), dtype=torch.float64).reshape(y.shape)
    (g,) = torch.autograd.grad(y, x, seed, create_graph=True)
    v = 1 - 0.05 * torch.arange(12, dtype=torch.float64).reshape(3, 4)
    gv = (g * v).sum()
    h = torch.autograd.grad(gv, x)[0] if gv.requires_grad else None
    h = torch.zeros_like(x) if h is None else torch.zeros_like(x) + h  # torch's lazy zeros
    if name in AT_KINK_2ND:
        # at x = 0 the second derivative does not exist; bmnn takes the left
        # branch's (α·eˣ), torch 0: compare elsewhere
        h = torch.where(X == 0, torch.tensor(hs, dtype=torch.float64).reshape(3, 4), h)
    errs = [max(abs(a - b) for a, b in zip(mine, ref.flatten().tolist()))
            for mine, ref in ((ys, y), (gs, g), (hs, h))]
    worst = max(worst, *errs)
    seen += 1
    print(f"{name:12s} value {errs[0]:.1e}  grad {errs[1]:.1e}  2nd {errs[2]:.1e}")
fails = 0 if worst <= TOL and seen == len(f) else 1
print(f"worst difference {worst:.2e} over {seen} ops (tolerance {TOL:g})")
print(f"{seen - fails * seen} passed, {fails * seen} failed")
sys.exit(fails)
