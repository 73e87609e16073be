#!/usr/bin/env python3
"""bmnn_man.py BMNN OUT.1 — write the bmnn(1) man page from the program's own
`bmnn --help` and `bmnn COMMAND --help` texts, so the page cannot drift from
them: meson runs this at build time and installs the result. The sections
the help texts do not hold (exit status, files, examples) are written here.

A help text is: "usage: ..." lines (the synopsis), paragraphs, indented
blocks. An indented line starting with '-' begins an option ("-x, --long ARG
description"), whose description may go on over lines indented
CONTINUATION_INDENT or more. Other indented lines are kept as they are."""
import re
import subprocess
import sys

# An option line: "  -d, --data FILE   text" / "      --detect-anomaly text".
OPTION = re.compile(r"^(\s+)(-[^\s,]+(?:, --?[^\s]+)?(?: [A-Z0-9|.]+(?=\s|$))?)\s*(.*)$")
# Options start at column 2 ("-x, --long") or 6 ("--long"); a line indented
# this far or more continues the option above it.
CONTINUATION_INDENT = 10


def esc(text):
    """Roff-escape running text: backslashes, dashes, a leading dot/quote."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text[:1] in (".", "'") else text


def help_of(bmnn, *args):
    out = subprocess.run([bmnn, *args, "--help"], check=True, capture_output=True, text=True)
    return out.stdout


def parse_help(text):
    """Split a help text into (synopsis lines, blocks); a block is
    ('para', [lines]) or ('options', [(spec, description)]) or ('pre', [lines])."""
    lines = text.rstrip("\n").split("\n")
    synopsis = []
    i = 0
    while i < len(lines) and lines[i].strip():
        synopsis.append(re.sub(r"^usage:\s*", "", lines[i]).strip())
        i += 1
    blocks = []
    for line in lines[i:]:
        kind = blocks[-1][0] if blocks else None
        if not line.strip():
            blocks.append(("gap", []))
            continue
        m = OPTION.match(line)
        indent = len(line) - len(line.lstrip())
        if kind == "options" and indent >= CONTINUATION_INDENT:
            opt = blocks[-1][1][-1]
            opt[1] = (opt[1] + " " + line.strip()).strip()
        elif m:
            if kind != "options":
                blocks.append(("options", []))
            blocks[-1][1].append([m.group(2), m.group(3)])
        elif line.startswith(" "):
            if kind != "pre":
                blocks.append(("pre", []))
            blocks[-1][1].append(line)
        else:
            if kind != "para":
                blocks.append(("para", []))
            blocks[-1][1].append(line)
    return synopsis, [b for b in blocks if b[0] != "gap"]


def render_blocks(blocks, out):
    for kind, body in blocks:
        if kind == "para":
            out.append(".PP")
            out.extend(esc(line) for line in body)
        elif kind == "pre":
            out.extend([".PP", ".RS 4", ".nf"])
            out.extend(esc(line.strip()) for line in body)
            out.extend([".fi", ".RE"])
        else:
            for spec, desc in body:
                out.append(".TP")
                out.append("\\fB" + esc(spec) + "\\fR")
                out.append(esc(desc))


FIXED_HEAD = r""".SH DESCRIPTION
.B bmnn
defines, trains, evaluates, gradient-checks and draws neural networks
described by JSON model files (see
.I nn/MODEL_FORMAT.md
in the sources), on CSV or MNIST IDX data. Each command below is
.B bmnn
followed by the command's name; every command has
.BR \-\-help .
Errors go to standard error, after the command's name, and name the file
and what is wrong.
.PP
.B bmnn \-\-version
prints the program's and the library's versions and the build's features as
.IR key = value
words: BLAS, the GEMM kernel chosen on this CPU at run time, cairo plots,
Graphviz rendering, MPI.
"""

FIXED_TAIL = r""".SH EXIT STATUS
.TP
.B 0
success
.TP
.B 1
failure (a file that cannot be read or written, bad data, a gradient check
that fails, training that diverges)
.TP
.B 2
bad usage (an unknown option, a missing argument, a value out of range)
.SH FILES
Data is CSV (numeric features, the label last; a header line is optional)
or MNIST IDX images with their labels (found by name, or with
.BR \-\-labels ).
Model files are JSON: a spec written by hand, or a checkpoint written by
.BR "bmnn train" ,
which can be trained further.
.SH EXAMPLES
.nf
bmnn data spiral \-\-samples 100 \-\-classes 3 \-\-seed 1 \-o spiral.csv
bmnn train examples/spiral_adam.json \-\-data spiral.csv \-o model.json \-\-plot spiral
bmnn eval model.json \-\-data spiral.csv \-\-json
bmnn dot model.json \-\-backward \-o graph.svg
bmnn gradcheck \-\-all
.fi
.SH SEE ALSO
.BR dot (1),
README.md and nn/MODEL_FORMAT.md in the bmnn sources.
"""


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: bmnn_man.py BMNN OUT.1")
    bmnn, dest = sys.argv[1], sys.argv[2]
    version = subprocess.run([bmnn, "--version"], check=True, capture_output=True,
                             text=True).stdout.split("\n")[0].split()[1]
    top = help_of(bmnn)
    summary = re.search(r"^bmnn \S+ \W+ (.*?)\.?$", top, re.M).group(1)
    commands = re.findall(r"^  (\w+) +(.*)$", top.split("commands:", 1)[1], re.M)
    out = [f'.TH BMNN 1 "" "bmnn {version}" "User Commands"',
           ".SH NAME", "bmnn \\- " + esc(summary),
           ".SH SYNOPSIS", ".B bmnn", ".I COMMAND", "[\\fIARGS\\fR]", ".br",
           ".B bmnn \\-\\-help", "|", ".B \\-\\-version"]
    out.extend(FIXED_HEAD.rstrip("\n").split("\n"))
    for name, what in commands:
        out.extend([".TP", "\\fB" + name + "\\fR", esc(what)])
    out.append(".SH COMMANDS")
    for name, _ in commands:
        synopsis, blocks = parse_help(help_of(bmnn, name))
        out.append(".SS " + name)
        out.append(".nf")
        out.extend("\\fB" + esc(line) + "\\fR" for line in synopsis)
        out.append(".fi")
        render_blocks(blocks, out)
    out.extend(FIXED_TAIL.rstrip("\n").split("\n"))
    with open(dest, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
