#!/usr/bin/env python3
"""README's op table must list every op of ops/ops.def with the same inputs
and gradient formula, in the same order (docs stay current with the code)."""
import re
import sys

src = sys.argv[1]
ops = [m.groups() for m in re.finditer(r'^BM_OP\((\w+),\s*"([^"]*)",\s*"([^"]*)"\)',
                                        open(f"{src}/ops/ops.def", encoding="utf-8").read(), re.M)]
rows = re.findall(r"^\| `(\w+)` \| `bm_\w+` \| (.*?) \| (.*?) \|$",
                  open(f"{src}/README.md", encoding="utf-8").read(), re.M)
errors = []
if not ops:
    errors.append("no ops found in ops/ops.def")
if [r[0] for r in rows] != [o[0] for o in ops]:
    errors.append(f"README op table lists {[r[0] for r in rows]}, ops.def has {[o[0] for o in ops]}")
for (name, inputs, grad), row in zip(ops, rows):
    if row[1:] != (inputs, grad):
        errors.append(f"{name}: README says {row[1:]}, ops.def says {(inputs, grad)}")
for e in errors:
    print("FAIL:", e)
print(f"{len(ops) - len(errors) if not errors else 0} passed, {len(errors)} failed")
sys.exit(1 if errors else 0)
