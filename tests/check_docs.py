#!/usr/bin/env python3
"""README's op table must list every op of ops/ops.def with the same inputs
and gradient formula, in the same order, and ops/bm_ops.h must declare each
op's builder (docs and prototypes stay current with the code).

  check_docs.py SRC          check (a meson test)
  check_docs.py SRC --write  rewrite README's op table from ops.def"""
import re
import sys

src = sys.argv[1]
ops = [m.groups() for m in re.finditer(r'^BM_OP\((\w+),\s*"([^"]*)",\s*"([^"]*)"\)',
                                        open(f"{src}/ops/ops.def", encoding="utf-8").read(), re.M)]
readme_path = f"{src}/README.md"
readme = open(readme_path, encoding="utf-8").read()
row_re = re.compile(r"^\| `(\w+)` \| `bm_\w+` \| (.*?) \| (.*?) \|$", re.M)

if "--write" in sys.argv[2:]:
    rows = list(row_re.finditer(readme))
    if not rows:
        sys.exit("README has no op table rows to replace")
    table = "\n".join(f"| `{n}` | `bm_{n}` | {i} | {g} |" for n, i, g in ops)
    readme = readme[:rows[0].start()] + table + readme[rows[-1].end():]
    open(readme_path, "w", encoding="utf-8").write(readme)
    sys.exit(0)

rows = row_re.findall(readme)
header = open(f"{src}/ops/bm_ops.h", encoding="utf-8").read()
errors = []
if not ops:
    errors.append("no ops found in ops/ops.def")
if [r[0] for r in rows] != [o[0] for o in ops]:
    errors.append(f"README op table lists {[r[0] for r in rows]}, ops.def has {[o[0] for o in ops]}")
for (name, inputs, grad), row in zip(ops, rows):
    if row[1:] != (inputs, grad):
        errors.append(f"{name}: README says {row[1:]}, ops.def says {(inputs, grad)}")
for name, _, _ in ops:
    if not re.search(rf"^bm_tensor \*bm_{name}\(bm_tape \*t,", header, re.M):
        errors.append(f"{name}: ops/bm_ops.h declares no builder bm_{name}(bm_tape *t, ...)")
for e in errors:
    print("FAIL:", e)
print(f"{len(ops) - len(errors) if not errors else 0} passed, {len(errors)} failed")
sys.exit(1 if errors else 0)
