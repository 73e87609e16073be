#!/usr/bin/env bash
# dist.sh BMNN [EPOCHS] — data-parallel scaling of W3 (784-512-512-10 MLP,
# ReLU, softmax-CE, Adam lr 1e-3, float32, batches of 256, random data) in
# one command: one process × 1 thread and × 2 threads (--shards 1, which is
# bm_model_fit's step bit for bit), one process with --shards 2, and
# mpirun -np 2 × 1 thread (--shards 2: the deterministic sum, and
# --allreduce). Prints a Markdown table: ms per step, the part of
# it spent in the ranks' reduction, and the speed-up over 1 process × 1
# thread. Not a test (timings); README's "Data-parallel training" quotes it.
set -euo pipefail
bmnn=$(realpath "$1")
epochs=${2:-10}
rows=2048          # 8 steps of 256 per epoch
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
/usr/bin/python3 - "$rows" <<'PY'
import random, sys
random.seed(3)
n = int(sys.argv[1])
with open("w3.csv", "w") as f:
    for i in range(n):
        f.write(",".join(f"{random.random():.4f}" for _ in range(784)) + f",{i % 10}\n")
PY
cat >w3.json <<'JSON'
{"inputs": 784, "dtype": "f32",
 "layers": [{"type": "dense", "in": 784, "out": 512, "init": "he"}, {"type": "relu"},
            {"type": "dense", "in": 512, "out": 512, "init": "he"}, {"type": "relu"},
            {"type": "dense", "in": 512, "out": 10, "init": "he"}],
 "loss": "softmax_cce", "optimizer": {"type": "adam", "lr": 0.001},
 "training": {"batch_size": 256, "seed": 1}}
JSON
mpi=(mpirun --oversubscribe)
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
steps=$((epochs * rows / 256))
# run LABEL CMD...: one line of the table from the run's wall time and its data-parallel line
base=""
run() {
    local label=$1
    shift
    local t0 t1 ms comm line
    t0=$(date +%s%N)
    "$@" w3.json --data w3.csv --epochs "$epochs" -q >out.txt 2>err.txt
    t1=$(date +%s%N)
    line=$(grep "data-parallel:" err.txt || true)
    if [ -n "$line" ]; then
        ms=$(sed -n 's/.* \([0-9.]*\) ms per step.*/\1/p' <<<"$line")
        comm=$(sed -n 's/.*step, \([0-9.]*\) ms of it.*/\1/p' <<<"$line")
    else  # plain fit: wall time of the whole command over its steps
        ms=$(awk -v a="$t0" -v b="$t1" -v s="$steps" 'BEGIN { printf "%.3f", (b - a) / 1e6 / s }')
        comm="-"
    fi
    [ -z "$base" ] && base=$ms
    printf '| %s | %s | %s | %s |\n' "$label" "$ms" "$comm" \
        "$(awk -v b="$base" -v m="$ms" 'BEGIN { printf "%.2f", b / m }')"
}
echo "W3 data-parallel: $steps steps of 256 rows ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| run | ms per step | of it in the reduction | speed-up |"
echo "|---|---|---|---|"
run "1 process x 1 thread, --shards 1" "$bmnn" train --shards 1 -j 1
run "1 process x 2 threads, --shards 1" "$bmnn" train --shards 1 -j 2
run "1 process x 1 thread, --shards 2" "$bmnn" train --shards 2 -j 1
run "2 ranks x 1 thread, --shards 2 (deterministic)" "${mpi[@]}" -np 2 "$bmnn" train --shards 2 -j 1
run "2 ranks x 1 thread, --shards 2 --allreduce" "${mpi[@]}" -np 2 "$bmnn" train --shards 2 --allreduce -j 1
