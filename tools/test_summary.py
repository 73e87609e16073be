#!/usr/bin/env python3
"""Count passed/failed tests from one or more of meson's testlog.json files.

A Check suite counts its checks ("100%: Checks: 139, Failures: 0, Errors: 0");
any other test counts as one. A skipped test (exit 77: its precondition, such
as Graphviz or an AVX-512 CPU, is missing) counts as neither: "N skipped"
is printed on a line of its own when any was, before the last line, which
is always "N passed, N failed". Exits 1 when nothing ran or anything
failed."""
import json
import re
import sys

CHECK = re.compile(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)")


def count(path):
    """(passed, failed, skipped) of one testlog.json."""
    passed = failed = skipped = 0
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as e:
        print(f"test_summary: {e}")
        return 0, 1, 0
    for line in lines:
        t = json.loads(line)
        if t.get("result") == "SKIP":
            skipped += 1
            continue
        ok = t.get("result") in ("OK", "EXPECTEDFAIL")
        m = CHECK.search(t.get("stdout", "") or "")
        if m:
            checks, fails, errs = (int(g) for g in m.groups())
            passed += checks - fails - errs
            failed += fails + errs
            if not ok and fails + errs == 0:
                failed += 1  # crashed or timed out after its report
        else:
            passed += ok
            failed += not ok
    return passed, failed, skipped


def main(paths):
    passed = failed = skipped = 0
    for p in paths:
        a, b, c = count(p)
        passed += a
        failed += b
        skipped += c
    if skipped:
        print(f"{skipped} skipped (exit 77: a precondition this machine lacks)")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
