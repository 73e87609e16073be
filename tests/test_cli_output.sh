#!/usr/bin/env bash
# test_cli_output.sh BMNN SRCDIR — what bmnn prints, for people and for scripts:
# losses in significant digits (an MSE of 1e-6 is not "0.000"), the final
# summary saying which loss it is, the progress bar's epoch count, a
# checkpoint with no epochs left, no "accuracy" for regression,
# `train --history FILE.csv` and `eval --json` in full precision.
# Ends with "N passed, N failed".
set -u
. "$(dirname "$0")/cli_lib.sh"
cli_setup "$@"
command -v python3 >/dev/null || { echo "SKIP: python3 reads the CSV and JSON"; exit 77; }

cp "$src/tests/data/cli_small.json" small.json
"$bmnn" data spiral --samples 50 --classes 3 --seed 1 -o train.csv >/dev/null || bad "data spiral"

# A regression whose MSE is exactly 1e-6: weights 0, targets 0.001.
printf '{"inputs": 1, "layers": [{"type": "dense", "in": 1, "out": 1, "weights": [[0]], "biases": [0]}],
 "loss": "mse", "optimizer": {"type": "sgd", "lr": 1e-9}}' >tiny.json
printf 'x,y\n1,0.001\n2,0.001\n' >tiny.csv
expect 0 "train tiny mse" -- "$bmnn" train tiny.json --data tiny.csv --epochs 3 -p 1 -o tiny3.json
has err.txt "epoch: 2, loss: 1e-06," "epoch line loss in significant digits"
has out.txt "data loss 1e-06" "summary loss in significant digits"
hasnt err.txt "accuracy" "regression epoch lines"
hasnt out.txt "accuracy" "regression summary"
has err.txt "within_tol: " "regression epoch lines name the tolerance metric"
expect 0 "eval tiny mse" -- "$bmnn" eval tiny.json --data tiny.csv
has out.txt "loss: 1e-06 (mse" "eval loss in significant digits, named"
hasnt out.txt "accuracy" "regression eval"
expect 0 "eval tiny mse --json" -- "$bmnn" eval tiny.json --data tiny.csv --json
python3 - out.txt <<'PY' && ok || bad "eval --json (regression): $(cat out.txt)"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["loss_function"] == "mse" and o["samples"] == 2, o
assert abs(o["loss"] - 1e-6) < 1e-12 and "within_tol" in o and "accuracy" not in o, o
assert "confusion_matrix" not in o, o
PY

# The final summary says what its loss is; the epoch lines' loss differs from it.
expect 0 "train 40" -- "$bmnn" train small.json --data train.csv -p 10 -o full.json --history hist.csv
has out.txt "trained epochs 0..39 (40)" "summary names the epochs"
has out.txt "final model on the training set: data loss " "summary names its loss"
has out.txt "no regularisation term" "summary says the loss has no regularisation"
has out.txt "wrote hist.csv" "history written"
# --history: a header and one row per epoch, the values in full precision,
# the last row's loss the last epoch line's (to its printed digits).
last_line_loss=$(sed -n 's/^epoch: 39, loss: \([^,]*\),.*/\1/p' err.txt)
python3 - hist.csv "$last_line_loss" <<'PY' && ok || bad "history CSV: $(head -3 hist.csv)"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
want = "epoch,loss,data_loss,reg_loss,accuracy,val_loss,val_accuracy,lr,time_s".split(",")
assert list(rows[0].keys()) == want, list(rows[0].keys())
assert [int(r["epoch"]) for r in rows] == list(range(40)), [r["epoch"] for r in rows]
for r in rows:
    assert abs(float(r["loss"]) - float(r["data_loss"]) - float(r["reg_loss"])) < 1e-6, r
    assert float(r["lr"]) > 0 and r["val_loss"] == "" and r["val_accuracy"] == "", r
times = [float(r["time_s"]) for r in rows]
assert times == sorted(times) and times[0] >= 0, times
# full precision: some loss needs more than the 4 digits of the epoch lines
assert any(len(r["loss"].replace(".", "").lstrip("0")) > 8 for r in rows), rows[-1]
assert float(f"{float(rows[-1]['loss']):.4g}") == float(sys.argv[2]), (rows[-1], sys.argv[2])
PY
# a run that diverges still writes the epochs it finished
cp "$src/tests/data/cli_diverge.json" diverge.json
expect 1 "diverging run with --history" -- "$bmnn" train diverge.json --data train.csv -q --history div.csv
bad_epoch=$(sed -n 's/^bmnn train: epoch \([0-9]*\): loss is.*/\1/p' err.txt)
python3 - div.csv "$bad_epoch" <<'PY' && ok || bad "history of a diverged run: $(tail -2 div.csv) (diverged at '$bad_epoch')"
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == int(sys.argv[2]) > 0, (len(rows), sys.argv[2])
assert all(math.isfinite(float(r["loss"])) for r in rows), rows[-1]
PY
expect 2 "--history without a file" -- "$bmnn" train small.json --data train.csv --history
expect 1 "--history unwritable" -- "$bmnn" train small.json --data train.csv --epochs 2 -q --history /nonexistent-dir/h.csv
has err.txt "/nonexistent-dir/h.csv" "unwritable history named"

# A checkpoint with no epochs left says so.
expect 0 "train nothing left" -- "$bmnn" train full.json --data train.csv -q -o same.json
has out.txt "no epochs left to train: full.json is at epoch 40" "nothing-left message"
hasnt out.txt "trained epochs" "no 'trained epochs' line when none were"
expect 0 "train --epochs 0" -- "$bmnn" train full.json --data train.csv --epochs 0 -q
has out.txt "--epochs 0: nothing trained" "--epochs 0 message"

# eval --json: every figure, in full precision, the text output's to its digits.
expect 0 "eval" -- "$bmnn" eval full.json --data train.csv
cp out.txt eval.txt
has eval.txt "loss: " "eval text"
expect 0 "eval --json" -- "$bmnn" eval full.json --data train.csv --json
python3 - out.txt eval.txt <<'PY' && ok || bad "eval --json: $(head -c 400 out.txt)"
import json, re, sys
o = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
assert o["model"] == "full.json" and o["data"] == "train.csv" and o["samples"] == 150, o
assert o["loss_function"] == "softmax_cce", o
assert float(re.search(r"^loss: (\S+)", text, re.M).group(1)) == float(f"{o['loss']:.6g}"), text
assert float(re.search(r"^accuracy: (\S+)", text, re.M).group(1)) == round(o["accuracy"], 4), text
cm = o["confusion_matrix"]
assert len(cm) == 3 and all(len(r) == 3 for r in cm) and sum(map(sum, cm)) == 150, cm
assert abs(sum(cm[i][i] for i in range(3)) / 150 - o["accuracy"]) < 1e-12, (cm, o["accuracy"])
PY
expect 2 "predict --json is eval's" -- "$bmnn" predict full.json --data train.csv --json

# The progress bar on a terminal counts epochs 1..N of N (util-linux script(1) gives a pty).
if command -v script >/dev/null; then
    script -qec "'$bmnn' train small.json --data train.csv --epochs 3" /dev/null >bar.txt 2>&1
    has bar.txt "epoch 3/3 [" "progress bar ends at N/N"
    hasnt bar.txt "epoch 2/2" "progress bar off by one"
    # resuming a checkpoint: lifetime epochs, to the run's end
    "$bmnn" train small.json --data train.csv --epochs 2 -q -o two.json >/dev/null
    script -qec "'$bmnn' train two.json --data train.csv --epochs 3" /dev/null >bar.txt 2>&1
    has bar.txt "epoch 5/5 [" "resumed progress bar counts the model's epochs"
fi

# --plot-log / --plot-linear are accepted (the axis choice is tests/test_plot.c's).
expect 0 "plot log" -- "$bmnn" train small.json --data train.csv --epochs 3 -q --plot p --plot-log
has out.txt "wrote p-" "plot written"

cli_summary
