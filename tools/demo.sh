#!/usr/bin/env bash
# demo.sh — the main job: install what is missing, build, make spiral data,
# train the walk-through's 2-64-3 model with Adam, evaluate it on fresh test
# data, and write the model, its graph (DOT/SVG) and the plots to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/deps.sh
bm_install_deps
[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
bmnn=build/tools/bmnn
mkdir -p out
$bmnn data spiral --samples 100 --classes 3 --seed 1 -o out/spiral-train.csv
$bmnn data spiral --samples 100 --classes 3 --seed 2 -o out/spiral-test.csv
$bmnn train examples/spiral_adam.json --data out/spiral-train.csv --val out/spiral-test.csv \
    -o out/spiral-model.json --plot out/spiral
$bmnn eval out/spiral-model.json --data out/spiral-test.csv
$bmnn dot out/spiral-model.json -o out/spiral-graph.dot
$bmnn dot out/spiral-model.json -o out/spiral-graph.svg
echo "results in out/: spiral-model.json, spiral-graph.{dot,svg}, spiral-loss.png, spiral-boundary.png"
