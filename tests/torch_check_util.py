"""What the torch_check_*.py and torch_optim.py scripts share: PyTorch or
exit 77 (skip), the tolerance, and the comparison of a program's case lines
with PyTorch's references."""
import math
import subprocess
import sys

TOL = 1e-12


def need_torch():
    """The torch module; exit 77 (skip) when PyTorch is missing."""
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: skipped")
        sys.exit(77)
    return torch


def compare_cases(program, reference, n_cases, labels, width):
    """Run PROGRAM; each line of its output, "NAME v v ... | v ... | ...", is
    compared part by part with reference(NAME) (a list of lists of numbers),
    relative above 1. Prints a line per case (its errors named by labels),
    the worst difference and the counts; exits 1 when a case differs by more
    than TOL, has other parts or lengths, or when not all n_cases came."""
    out = subprocess.run([program], check=True, capture_output=True, text=True).stdout
    worst, seen, failed = 0.0, 0, []
    for line in out.splitlines():
        name, rest = line.split(" ", 1)
        mine = [[float(v) for v in part.split()] for part in rest.split("|")]
        ref = reference(name)
        errs = []
        if len(mine) != len(ref):
            errs.append(math.inf)
        for a, b in zip(mine, ref):
            if len(a) != len(b):
                errs.append(math.inf)
            else:
                errs.append(max((abs(u - v) / max(1.0, abs(v)) for u, v in zip(a, b)),
                                default=0.0))
        worst = max(worst, *errs)
        seen += 1
        if max(errs) > TOL:
            failed.append(name)
        print(f"{name:{width}s} " + "  ".join(f"{k} {e:.1e}" for k, e in zip(labels, errs)))
    if seen != n_cases:
        failed.append(f"{n_cases - seen} cases missing")
    print(f"worst difference {worst:.2e} over {seen} cases (tolerance {TOL:g}, relative above 1)")
    print(f"{seen - len(failed)} passed, {len(failed)} failed {' '.join(failed)}")
    sys.exit(1 if failed else 0)
