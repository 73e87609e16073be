#!/usr/bin/env bash
# memplan_compare.sh — the memory planner's figures against a baseline, in one
# command: builds tools/bench/memplan_bench.c against a baseline checkout's
# library (which has no planner: its rows are "off") and runs it there and in
# this build (off and planned), same steps and threads.
#
#   tools/bench/memplan_compare.sh BASE_SRC BASE_BUILD [BUILD] [STEPS] [THREADS]
#
# BASE_SRC: a checkout of the baseline commit (e.g. git worktree add
# /work/baseF 2413e25); BASE_BUILD: its meson build dir with libbmnn built
# (ninja -C BASE_BUILD libbmnn.so.0.1.0); BUILD: this tree's build dir
# (default build). Loss checksums of equal rows must agree.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
base_src=${1:?usage: memplan_compare.sh BASE_SRC BASE_BUILD [BUILD] [STEPS] [THREADS]}
base_build=${2:?usage: memplan_compare.sh BASE_SRC BASE_BUILD [BUILD] [STEPS] [THREADS]}
build=${3:-$here/build}
steps=${4:-20}
threads=${5:-1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc=${CC:-cc}
"$cc" -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -o "$tmp/memplan-base" \
    "$here/tools/bench/memplan_bench.c" \
    -I"$base_src/autograd" -I"$base_src/ops" -I"$base_src/nn" -I"$base_src/optim" \
    -I"$base_build/autograd" -L"$base_build" -Wl,-rpath,"$base_build" -lbmnn -lm
echo "== baseline ($base_src, $(git -C "$base_src" rev-parse --short HEAD 2>/dev/null || echo '?'))"
"$tmp/memplan-base" --steps "$steps" --threads "$threads"
echo "== this build ($build, $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?'))"
"$build/tools/bench/bmnn-memplan" --steps "$steps" --threads "$threads"
