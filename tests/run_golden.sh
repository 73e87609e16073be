#!/bin/sh
# run_golden.sh EXE GOLDEN — run EXE and compare its stdout with GOLDEN.
# Fails (showing a unified diff) when they differ or when EXE fails.
set -u
if [ $# -ne 2 ]; then
    echo "usage: $0 EXE GOLDEN" >&2
    exit 2
fi
out=$("$1") || { echo "$1 exited with status $?" >&2; exit 1; }
printf '%s\n' "$out" | diff -u "$2" - || exit 1
