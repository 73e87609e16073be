#!/usr/bin/env bash
# zoo.sh — reproduce the figures of examples/zoo/README.md: fetch the MNIST
# sample (tools/fetch_mnist.sh), make the text (the fortunes-min files,
# concatenated), train each zoo model with bmnn (`bmnn train` for the CNN,
# examples/zoo/zoo_text.c for the character models), time its steps on 1 and
# 2 threads, and run its PyTorch peer (tools/zoo_torch.py) with the same
# settings. Results go to OUT (default out/zoo): one file per run, and
# summary.txt.
#
# Usage: tools/zoo.sh [MODEL...]   (cnn lstm gpt; default: all)
# Environment: BUILD (default build), OUT (default out/zoo), PYTHON
# (default /usr/bin/python3, with torch), TIME_STEPS (steps timed per
# thread count, default 30); ZOO_EPOCHS / ZOO_STEPS override the CNN's epochs
# and the text models' steps on both sides (a quick check of the script).
# Minutes per model on a 2-core machine.
set -euo pipefail

BUILD="${BUILD:-build}"
OUT="${OUT:-out/zoo}"
PYTHON="${PYTHON:-/usr/bin/python3}"
TIME_STEPS="${TIME_STEPS:-30}"
FORTUNES_DIR=/usr/share/games/fortunes
TEXT=data/fortunes.txt
MNIST=data/mnist
bmnn="$BUILD/tools/bmnn"
zoo_text="$BUILD/examples/zoo_text"
[[ $# -gt 0 ]] || set -- cnn lstm gpt
models=("$@")

for tool in "$bmnn" "$zoo_text"; do
    [[ -x "$tool" ]] || { echo "zoo: $tool is missing: build first (ninja -C $BUILD)" >&2; exit 1; }
done
mkdir -p "$OUT" data

# the settings of a model, as zoo_torch.py holds them (one place for both sides)
setting() { "$PYTHON" tools/zoo_torch.py "$1" --print-config | sed -n "s/^$2=//p"; }

run_cnn() {
    tools/fetch_mnist.sh "$MNIST"
    local spec=examples/zoo/mnist_cnn.json epochs=()
    [[ -z "${ZOO_EPOCHS:-}" ]] || epochs=(--epochs "$ZOO_EPOCHS")
    echo "zoo: cnn: bmnn, 1 thread"
    "$bmnn" train "$spec" --data "$MNIST/train-images-idx3-ubyte" --shuffle --threads 1 "${epochs[@]}" \
        --history "$OUT/cnn_history.csv" -q -o "$OUT/mnist_cnn.trained.json" | tee "$OUT/cnn_train.txt"
    "$bmnn" eval "$OUT/mnist_cnn.trained.json" --data "$MNIST/test-images-idx3-ubyte" --json \
        >"$OUT/cnn_eval.json"
    echo "zoo: cnn: bmnn, 2 threads, 1 epoch"
    "$bmnn" train "$spec" --data "$MNIST/train-images-idx3-ubyte" --shuffle --threads 2 \
        --epochs 1 --history "$OUT/cnn_history_2t.csv" -q -o "$OUT/cnn_2t.json" >/dev/null
    echo "zoo: cnn: torch"
    "$PYTHON" tools/zoo_torch.py cnn --mnist "$MNIST" --threads 1,2 --threads-train 1 "${epochs[@]}" \
        --time-steps "$TIME_STEPS" --json >"$OUT/cnn_torch.json"
}

run_text() { # lstm|gpt
    local m=$1 spec="examples/zoo/char_$1.json"
    [[ -f "$spec" ]] || { echo "zoo: $spec is missing" >&2; return 1; }
    local steps batch
    steps=${ZOO_STEPS:-$(setting "$m" steps)}
    batch=$(setting "$m" batch)
    echo "zoo: $m: bmnn, 1 thread, $steps steps of $batch"
    "$zoo_text" "$spec" "$TEXT" "$steps" "$batch" 1 "$OUT/char_$m.trained.json" >"$OUT/${m}_bmnn.txt"
    echo "zoo: $m: bmnn, 2 threads, $TIME_STEPS steps"
    "$zoo_text" "$spec" "$TEXT" "$TIME_STEPS" "$batch" 2 >"$OUT/${m}_bmnn_2t.txt"
    echo "zoo: $m: torch"
    "$PYTHON" tools/zoo_torch.py "$m" --text "$TEXT" --threads 1,2 --threads-train 1 --steps "$steps" \
        --time-steps "$TIME_STEPS" --json >"$OUT/${m}_torch.json"
}

if [[ " ${models[*]} " == *" lstm "* || " ${models[*]} " == *" gpt "* ]]; then
    [[ -f "$FORTUNES_DIR/fortunes" ]] ||
        { echo "zoo: $FORTUNES_DIR/fortunes is missing: install fortunes-min (tools/deps.sh)" >&2; exit 1; }
    cat "$FORTUNES_DIR/fortunes" "$FORTUNES_DIR/literature" "$FORTUNES_DIR/riddles" >"$TEXT"
fi
for m in "${models[@]}"; do
    case "$m" in
    cnn) run_cnn ;;
    lstm | gpt) run_text "$m" ;;
    *) echo "zoo: unknown model '$m' (cnn, lstm, gpt)" >&2; exit 2 ;;
    esac
done

{
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "bmnn: $("$bmnn" --version | tr '\n' ' ')"
    echo "torch: $("$PYTHON" -c 'import torch; print(torch.__version__)')"
    for f in "$OUT"/*_torch.json "$OUT"/cnn_eval.json; do [[ -f "$f" ]] && echo "$f: $(tr -d '\n\t' <"$f")"; done
    for f in "$OUT"/*_bmnn*.txt; do [[ -f "$f" ]] && echo "$f: $(grep -E '^(step_ms|val_loss|val_accuracy) ' "$f" | tr '\n' ' ')"; done
    for f in "$OUT"/cnn_history*.csv; do
        [[ -f "$f" ]] && echo "$f: last epoch $(tail -n 1 "$f")"
    done
} | tee "$OUT/summary.txt"
