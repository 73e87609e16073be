#!/usr/bin/env python3
"""check_man.py BMNN BMNN.1 — the built man page against the program: a
section per command of `bmnn --help`, holding every option and every line
of that command's `--help` (words compared with the roff markup and
hyphenation undone); `bmnn --version` names every feature the page
promises; the page renders without groff warnings (when groff is there)."""
import re
import shutil
import subprocess
import sys

VERSION_KEYS = ("blas", "gemm", "cairo", "graphviz", "mpi")


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def plain(roff):
    """Roff source to comparable text: no requests, escapes or fonts."""
    text = re.sub(r"^\.(?:SS|SH|TP|PP|RS|RE|nf|fi|br|B|I|BR|IR|TH)\b ?", "", roff, flags=re.M)
    text = re.sub(r"\\f[BIR]", "", text).replace("\\-", "-").replace("\\e", "\\")
    text = text.replace("\\&", "")
    return " ".join(text.split())


def main():
    bmnn, page = sys.argv[1], sys.argv[2]
    roff = open(page, encoding="utf-8").read()
    failures = []
    top = run(bmnn, "--help")
    commands = re.findall(r"^  (\w+) +(.*)$", top.split("commands:", 1)[1], re.M)
    if not commands:
        failures.append("no commands in bmnn --help")
    sections = dict(re.findall(r"^\.SS (\w+)\n(.*?)(?=^\.S[SH] |\Z)", roff, re.M | re.S))
    for name, summary in commands:
        if name not in sections:
            failures.append(f"no section for '{name}'")
            continue
        body = plain(sections[name])
        helptext = run(bmnn, name, "--help")
        for opt in sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", helptext))):
            if opt not in body:
                failures.append(f"{name}: option {opt} of --help missing from the page")
        for line in helptext.splitlines():
            words = " ".join(re.sub(r"^usage:\s*", "", line).split())
            if words and words not in body:
                failures.append(f"{name}: --help line missing from the page: {words!r}")
        if plain(summary) not in plain(roff):
            failures.append(f"{name}: summary missing: {summary!r}")
    version = run(bmnn, "--version")
    for key in VERSION_KEYS:
        if not re.search(rf"\b{key}=\S+", version):
            failures.append(f"bmnn --version lacks {key}=: {version!r}")
    if shutil.which("groff"):
        r = subprocess.run(["groff", "-man", "-ww", "-z", page], capture_output=True, text=True)
        if r.returncode or r.stderr.strip():
            failures.append("groff warnings: " + r.stderr.strip())
    for f in failures:
        print("FAIL:", f)
    print(f"{len(commands)} commands checked, {len(failures)} problems")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
