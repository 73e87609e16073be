#!/usr/bin/env python3
"""Compare tests/torch_optim's training controls with torch.optim (f64):
SGD/Adam/Adagrad/RMSprop weight decay, AdamW, parameter groups (own lr and
weight decay, frozen), clip_grad_norm_/clip_grad_value_, StepLR,
ExponentialLR, CosineAnnealingLR and LinearLR warm-up (SequentialLR).
Exit 77 (skip) when PyTorch is missing; 1 on a difference beyond TOL.
Usage: torch_optim.py PROGRAM"""
import math
import subprocess
import sys
import warnings

from torch_check_util import TOL, need_torch

torch = need_torch()
# SequentialLR steps the next scheduler with an epoch argument at the milestone
warnings.filterwarnings("ignore", message="The epoch parameter")
NA, NB = 2, 3
P0 = [0.5, -1.2, 0.8, 2.0, -0.3]
O = torch.optim
S = torch.optim.lr_scheduler


def grads(t):
    """Step t's gradients, as torch_optim.c makes them."""
    return [math.sin(1.3 * i + 0.7 * t) * (1.0 + 0.5 * i) for i in range(NA + NB)]


def tensors():
    a = torch.tensor(P0[:NA], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(P0[NA:], dtype=torch.float64, requires_grad=True)
    return a, b


def set_grads(a, b, t):
    g = torch.tensor(grads(t), dtype=torch.float64)
    a.grad = g[:NA].clone()
    b.grad = g[NA:].clone()


def adamw(p, **kw):
    return O.AdamW(p, **{"lr": 0.01, "weight_decay": 0.1, "eps": 1e-8, **kw})


def two(a, b, lr_a, wd_a):
    return [{"params": [a], "lr": lr_a, "weight_decay": wd_a}, {"params": [b]}]


def seq(opt, warm, total, then):
    return S.SequentialLR(opt, [S.LinearLR(opt, start_factor=warm, end_factor=1.0,
                                           total_iters=total), then], milestones=[total])


# name -> (make optimizer from (a, b), make scheduler or None, clip_norm, clip_value)
CASES = {
    "sgd_wd": (lambda a, b: O.SGD([a, b], lr=0.1, weight_decay=0.05), None, 0, 0),
    "sgd_momentum_wd": (lambda a, b: O.SGD([a, b], lr=0.1, momentum=0.9, weight_decay=0.05),
                        None, 0, 0),
    "adam_l2": (lambda a, b: O.Adam([a, b], lr=0.01, weight_decay=0.1, eps=1e-8), None, 0, 0),
    "adamw": (lambda a, b: adamw([a, b]), None, 0, 0),
    "adamw_groups": (lambda a, b: O.AdamW(two(a, b, 0.02, 0.0), lr=0.005, weight_decay=0.2,
                                          eps=1e-8), None, 0, 0),
    "adamw_frozen": (lambda a, b: adamw([b]), None, 0, 0),
    "adagrad_wd": (lambda a, b: O.Adagrad([a, b], lr=0.5, lr_decay=0.01, weight_decay=0.05,
                                          eps=1e-10), None, 0, 0),
    "rmsprop_wd": (lambda a, b: O.RMSprop([a, b], lr=0.01, alpha=0.9, eps=1e-8,
                                          weight_decay=0.05), None, 0, 0),
    "sgd_clip_norm": (lambda a, b: O.SGD([a, b], lr=0.1), None, 0.5, 0),
    "adamw_clip_value": (lambda a, b: adamw([a, b]), None, 0, 0.3),
    "adamw_clip_both_groups": (lambda a, b: adamw(two(a, b, 0.03, 0.01)), None, 0.8, 0.4),
    "sched_step": (lambda a, b: O.SGD([a, b], lr=0.1),
                   lambda o: S.StepLR(o, step_size=2, gamma=0.5), 0, 0),
    "sched_exponential": (lambda a, b: O.Adam([a, b], lr=0.01, eps=1e-8),
                          lambda o: S.ExponentialLR(o, gamma=0.8), 0, 0),
    "sched_cosine": (lambda a, b: adamw([a, b]),
                     lambda o: S.CosineAnnealingLR(o, T_max=4, eta_min=1e-3), 0, 0),
    "sched_warmup_cosine": (lambda a, b: O.SGD([a, b], lr=0.1),
                            lambda o: seq(o, 0.25, 3, S.CosineAnnealingLR(o, T_max=5)), 0, 0),
    "sched_warmup_step_groups": (lambda a, b: adamw(two(a, b, 0.05, 0.0)),
                                 lambda o: seq(o, 0.1, 2, S.StepLR(o, step_size=2, gamma=0.5)),
                                 0, 0),
    "sched_warmup_only": (lambda a, b: O.Adam([a, b], lr=0.02, eps=1e-8),
                          lambda o: S.LinearLR(o, start_factor=0.5, total_iters=4), 0, 0),
    "sched_warmup_exponential_sgd_wd": (lambda a, b: O.SGD([a, b], lr=0.2, weight_decay=0.01),
                                        lambda o: seq(o, 0.2, 3, S.ExponentialLR(o, gamma=0.9)),
                                        1.0, 0),
}


def run(name, steps):
    make, sched, clip_norm, clip_value = CASES[name]
    a, b = tensors()
    opt = make(a, b)
    sch = sched(opt) if sched else None
    lrs, norm = [], 0.0
    for t in range(steps):
        set_grads(a, b, t)
        if clip_norm:
            norm = float(torch.nn.utils.clip_grad_norm_([a, b], clip_norm))
        if clip_value:
            torch.nn.utils.clip_grad_value_([a, b], clip_value)
        group = opt.param_groups[-1]
        # Adagrad's lr_decay (the walk-through's `decay`) acts inside step()
        lrs.append(group["lr"] / (1 + t * group.get("lr_decay", 0.0)))
        opt.step()
        if sch:
            sch.step()
    return a.detach().tolist() + b.detach().tolist(), lrs, norm


def clip(name):
    """Standalone clipping of step 0's gradients over A only (B frozen)."""
    a, b = tensors()
    set_grads(a, b, 0)
    norm = 0.0
    if name == "clip_grad_norm":
        norm = float(torch.nn.utils.clip_grad_norm_([a], 0.7))
    else:
        torch.nn.utils.clip_grad_value_([a], 0.25)
    return a.grad.tolist() + b.grad.tolist(), [], norm


def main():
    out = subprocess.run([sys.argv[1]], check=True, capture_output=True, text=True).stdout
    worst, seen, fails = 0.0, set(), 0
    for line in out.splitlines():
        name, vals, lrs, extra = (part.strip() for part in line.split("|"))
        mine_p = [float(v) for v in vals.split()]
        mine_lr = [float(v) for v in lrs.split()]
        mine_x = float(extra)
        ref_p, ref_lr, ref_x = (clip(name) if name.startswith("clip_")
                                else run(name, len(mine_lr)))
        errs = [max(abs(x - y) for x, y in zip(mine_p, ref_p)),
                max((abs(x - y) for x, y in zip(mine_lr, ref_lr)), default=0.0),
                abs(mine_x - ref_x)]
        bad = max(errs) > TOL or len(mine_p) != len(ref_p) or len(mine_lr) != len(ref_lr)
        fails += bad
        worst = max(worst, *errs)
        seen.add(name)
        print(f"{name:34s} params {errs[0]:.1e}  lr {errs[1]:.1e}  norm {errs[2]:.1e}"
              f"{'  FAIL' if bad else ''}")
    missing = set(CASES) | {"clip_grad_norm", "clip_grad_value"}
    missing -= seen
    if missing:
        print("cases missing from the program's output:", ", ".join(sorted(missing)))
        fails += len(missing)
    print(f"worst difference {worst:.2e} over {len(seen)} cases (tolerance {TOL:g})")
    print(f"{len(seen) - fails} passed, {fails} failed")
    sys.exit(1 if fails else 0)


main()
