#!/usr/bin/env bash
# test_cli_controls.sh BMNN SRCDIR — `bmnn train`'s training controls
# (--lr --weight-decay --clip-norm --clip-value --schedule --warmup) saved
# into the model file and resumed exactly, early stopping and --best, and
# `bmnn predict` on data without labels. Ends with "N passed, N failed".
set -u
. "$(dirname "$0")/cli_lib.sh"
cli_setup "$@"
command -v python3 >/dev/null || { echo "SKIP: python3 reads the JSON and CSV"; exit 77; }

"$bmnn" data spiral --samples 50 --classes 3 --seed 1 -o train.csv >/dev/null
"$bmnn" data spiral --samples 20 --classes 3 --seed 2 -o val.csv >/dev/null
spec="$src/examples/spiral_adam.json"
flags=(--lr 0.01 --weight-decay 1e-4 --clip-norm 1 --clip-value 5
       --schedule cosine:t_max=100,eta_min=1e-4 --warmup 5)

# the flags go into the saved file's optimizer
expect 0 "train with controls" -- "$bmnn" train "$spec" --data train.csv --epochs 4 --batch 32 \
    -q "${flags[@]}" -o full.json
py "controls saved" '
import json
o = json.load(open("full.json"))["optimizer"]
assert o["lr"] == 0.01 and o["weight_decay"] == 1e-4, o
assert o["clip"] == {"max_norm": 1, "max_value": 5}, o["clip"]
assert o["schedule"] == {"type": "cosine", "t_max": 100, "eta_min": 1e-4, "warmup_steps": 5,
                         "warmup_start": 0}, o["schedule"]'
# 2 epochs, then 2 more from the checkpoint (which carries the controls) = 4 at once
expect 0 "train half" -- "$bmnn" train "$spec" --data train.csv --epochs 2 --batch 32 -q \
    "${flags[@]}" -o half.json
expect 0 "resume half" -- "$bmnn" train half.json --data train.csv --epochs 2 -q -o resumed.json
if cmp -s full.json resumed.json; then ok; else bad "resumed checkpoint differs from the full run"; fi

# the schedule drives the lr the epochs report: step halves it every step (full batch)
expect 0 "step schedule" -- "$bmnn" train "$spec" --data train.csv --epochs 3 -q --lr 0.08 \
    --schedule step:step_size=1,gamma=0.5 --history hist.csv
py "lr per epoch" '
import csv
lr = [float(r["lr"]) for r in csv.DictReader(open("hist.csv"))]
assert lr == [0.08 * (1 + 0 * 5e-7), 0.04 / (1 + 5e-7), 0.02 / (1 + 2 * 5e-7)], lr'

# --warmup alone gives the file's constant schedule a warm-up
expect 0 "warmup alone" -- "$bmnn" train "$spec" --data train.csv --epochs 1 -q --warmup 3 -o wu.json
py "warm-up saved" '
import json
s = json.load(open("wu.json"))["optimizer"]["schedule"]
assert s == {"type": "constant", "warmup_steps": 3, "warmup_start": 0}, s'

# usage errors
expect 2 "--lr 0" -- "$bmnn" train "$spec" --data train.csv --lr 0
has err.txt "--lr 0 must be > 0" "--lr 0 named"
expect 2 "--lr text" -- "$bmnn" train "$spec" --data train.csv --lr fast
expect 2 "--weight-decay negative" -- "$bmnn" train "$spec" --data train.csv --weight-decay -1
has err.txt "--weight-decay -1 must be >= 0" "--weight-decay named"
expect 2 "--clip-norm negative" -- "$bmnn" train "$spec" --data train.csv --clip-norm -2
expect 2 "--schedule unknown kind" -- "$bmnn" train "$spec" --data train.csv --schedule linear
has err.txt "cosine" "--schedule lists the kinds"
expect 2 "--schedule step without step_size" -- "$bmnn" train "$spec" --data train.csv \
    --schedule step:gamma=0.5
has err.txt "step_size = 0: must be >= 1" "--schedule step_size named"
expect 2 "--schedule unknown key" -- "$bmnn" train "$spec" --data train.csv --schedule cosine:tmax=3
has err.txt "unknown key 'tmax'" "--schedule key named"
expect 2 "--schedule no value" -- "$bmnn" train "$spec" --data train.csv --schedule cosine:t_max
expect 2 "--warmup text" -- "$bmnn" train "$spec" --data train.csv --warmup x
expect 2 "--early-stop without validation" -- "$bmnn" train "$spec" --data train.csv --early-stop 3
has err.txt "--early-stop needs validation data" "--early-stop needs --val"
expect 2 "--best without validation" -- "$bmnn" train "$spec" --data train.csv --best b.json
expect 2 "--best is -o" -- "$bmnn" train "$spec" --data train.csv --val val.csv --best x.json -o x.json
has err.txt "--best and -o name the same file" "--best and -o the same refused"
expect 2 "--early-stop 0" -- "$bmnn" train "$spec" --data train.csv --val val.csv --early-stop 0

# a hand-written schedule with a mistake names its path
python3 -c '
import json, sys
m = json.load(open(sys.argv[1])); m["optimizer"]["schedule"] = {"type": "cosine"}
json.dump(m, open("badsched.json", "w"))' "$spec"
expect 1 "bad schedule in the file" -- "$bmnn" train badsched.json --data train.csv
has err.txt "badsched.json: optimizer.schedule.t_max: missing key" "file schedule error path"

# early stopping and the best model (an lr far too high: val_loss soon stops falling)
expect 0 "early stop" -- "$bmnn" train "$spec" --data train.csv --val val.csv --epochs 500 \
    --lr 0.5 --early-stop 4 --best best.json -o last.json -p 1
has out.txt "early stop: val_loss did not fall below" "early stop reported"
has out.txt "saved best.json: the lowest val_loss" "best saved"
has err.txt "val_loss:" "epoch lines show val_loss"
"$bmnn" eval best.json --data val.csv --json >best_eval.json 2>/dev/null
py "best.json is the best epoch" '
import json, re
out = open("out.txt").read()
m = re.search(r"the lowest val_loss, ([0-9.e+-]+), after epoch (\d+)", out)
best, epoch = float(m.group(1)), int(m.group(2))
stop = re.search(r"trained epochs 0\.\.(\d+)", out)
assert int(stop.group(1)) == epoch + 4, (stop.group(1), epoch)
assert json.load(open("best.json"))["state"]["epoch"] == epoch + 1
assert json.load(open("last.json"))["state"]["epoch"] == epoch + 5
assert abs(json.load(open("best_eval.json"))["loss"] - best) <= 1e-5 * best, best
vals = [float(v) for v in re.findall(r"val_loss: ([0-9.e+-]+)", open("err.txt").read())]
assert min(vals) >= best * (1 - 1e-3), (min(vals), best)'

expect 1 "--best unwritable" -- "$bmnn" train "$spec" --data train.csv --val val.csv --epochs 3 \
    -q --best no/such/dir/best.json
has err.txt "best model at epoch 1: no/such/dir/best.json: cannot create a temp file" \
    "--best failure named"

# predict without labels: features only, or the training layout (label ignored)
cut -d, -f1,2 val.csv >features.csv
expect 0 "predict on labelled data" -- "$bmnn" predict last.json --data val.csv -o with.csv
expect 0 "predict on features only" -- "$bmnn" predict last.json --data features.csv -o without.csv
if cmp -s with.csv without.csv; then ok; else bad "predictions differ without the label column"; fi
py "one prediction per row" '
assert len(open("without.csv").read().splitlines()) == 61'
cut -d, -f1 val.csv >onecol.csv
expect 1 "predict on too few columns" -- "$bmnn" predict last.json --data onecol.csv
has err.txt "onecol.csv: 1 columns, but the model takes 2 features (give 2 columns, or 3 with a label last)" \
    "column rule named"

cli_summary
