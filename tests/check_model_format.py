#!/usr/bin/env python3
"""nn/MODEL_FORMAT.md's key and kind tables must be what `bmnn layers
--markdown` prints from the vtables and the key table (so a kind added to
nn/layers.def shows up in the doc, or this test fails), and every JSON
example of a version 2 file in the doc must name only kinds and keys that
exist (kinds named in a `<!-- pending kinds: a b -->` comment are skipped
until they are built in: remove the comment when they are).

  check_model_format.py BMNN SRC          check (a meson test)
  check_model_format.py BMNN SRC --write  rewrite the tables from bmnn's output"""
import json
import re
import subprocess
import sys

BEGIN, END = "<!-- begin: bmnn layers --markdown -->", "<!-- end: bmnn layers --markdown -->"

bmnn, src = sys.argv[1], sys.argv[2]
doc_path = f"{src}/nn/MODEL_FORMAT.md"
doc = open(doc_path, encoding="utf-8").read()
tables = subprocess.run([bmnn, "layers", "--markdown"], check=True, capture_output=True,
                        text=True).stdout
if BEGIN not in doc or END not in doc:
    sys.exit(f"FAIL: {doc_path} lacks the markers {BEGIN} ... {END}")
head, rest = doc.split(BEGIN, 1)
body, tail = rest.split(END, 1)
if "--write" in sys.argv[3:]:
    open(doc_path, "w", encoding="utf-8").write(f"{head}{BEGIN}\n{tables}{END}{tail}")
    sys.exit(0)
errors = []
if body.strip() != tables.strip():
    errors.append("the key/kind tables differ from `bmnn layers --markdown` (run "
                  "tests/check_model_format.py BMNN SRC --write)")
kinds = dict(re.findall(r"^\| `(\w+)` \| [^|]* \| ([^|]*) \|", tables.split("| kind |", 1)[1], re.M))
keys = {k: {x.strip("` ") for x in v.split(",") if x.strip()} for k, v in kinds.items()}
# kinds another branch adds, named in the doc until they are built in
pending = set(" ".join(re.findall(r"<!-- pending kinds: ([\w ]+) -->", doc)).split())
examples = 0
for block in re.findall(r"```json\n(.*?)```", doc, re.S):
    if '"nodes"' not in block:
        continue
    examples += 1
    try:
        model = json.loads(block)
    except ValueError as e:
        errors.append(f"a version 2 example is not JSON: {e}")
        continue
    for i, node in enumerate(model.get("nodes", [])):
        kind = node.get("kind")
        if kind not in keys and kind in pending:
            continue
        if kind not in keys:
            errors.append(f"example {examples}: nodes[{i}]: unknown kind {kind!r}")
            continue
        extra = set(node) - {"name", "kind", "inputs", "share", "params"} - keys[kind]
        if extra:
            errors.append(f"example {examples}: nodes[{i}] ({kind}): unknown keys {sorted(extra)}")
if examples == 0:
    errors.append("no version 2 example in the doc")
for e in errors:
    print("FAIL:", e)
print(f"{0 if errors else 1} passed, {len(errors)} failed")
sys.exit(1 if errors else 0)
