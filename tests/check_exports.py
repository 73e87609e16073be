#!/usr/bin/env python3
"""The shared library exports exactly the functions the public headers
declare: every declared function is defined and exported (none missing), and
nothing else is (internal helpers stay hidden). Usage:
check_exports.py LIBBMNN.so HEADER..."""
import re
import subprocess
import sys


def declared(paths):
    names = set()
    for p in paths:
        src = open(p, encoding="utf-8").read()
        src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
        src = re.sub(r"//[^\n]*", " ", src)
        src = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", " ", src, flags=re.M)  # directives
        src = re.sub(r'extern "C" \{', " ", src)
        for stmt in src.split(";"):
            stmt = stmt.strip()
            if stmt.startswith("typedef") or "static" in stmt.split("(")[0]:
                continue
            m = re.search(r"\b(bm_\w+)\s*\((?!\s*\*)", stmt)  # not a function pointer
            if m and "{" not in stmt[: m.start()]:
                names.add(m.group(1))
    return names


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    return {f[2] for f in (line.split() for line in out.splitlines())
            if len(f) == 3 and f[1] in "TW"}


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    decl, exp = declared(sys.argv[2:]), exported(sys.argv[1])
    missing, extra = sorted(decl - exp), sorted(exp - decl)
    for name in missing:
        print(f"declared in a public header but not exported: {name}")
    for name in extra:
        print(f"exported but not in any public header: {name}")
    print(f"{len(decl)} public functions, {len(exp)} exported")
    ok = not missing and not extra and len(decl) > 0
    print("1 passed, 0 failed" if ok else "0 passed, 1 failed")
    return 0 if ok else 1


sys.exit(main())
