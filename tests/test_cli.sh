#!/usr/bin/env bash
# test_cli.sh BMNN SRCDIR — the bmnn program end to end: exit statuses
# (0 ok, 1 failure, 2 bad usage), error messages naming the file, each
# subcommand on a small case, exact continuation of a checkpoint, a golden
# DOT file. Ends with "N passed, N failed".
set -u
. "$(dirname "$0")/cli_lib.sh"
cli_setup "$@"
cp "$src/tests/data/cli_small.json" small.json

expect 2 "no arguments" -- "$bmnn"
expect 0 "--help" -- "$bmnn" --help
has out.txt "train" "--help lists commands"
expect 2 "unknown command" -- "$bmnn" frobnicate
has err.txt "unknown command 'frobnicate'" "unknown command message"
expect 0 "--version" -- "$bmnn" --version
for c in data train eval predict gradcheck dot layers convert; do
    expect 0 "$c --help" -- "$bmnn" "$c" --help
    has out.txt "usage: bmnn $c" "$c --help text"
    expect 2 "$c bad option" -- "$bmnn" "$c" --no-such-option
done

# data
expect 0 "data spiral" -- "$bmnn" data spiral --samples 50 --classes 3 --seed 1 -o train.csv
[ "$(wc -l <train.csv)" -eq 151 ] && ok || bad "spiral csv has $(wc -l <train.csv) lines, want 151"
expect 0 "data spiral test" -- "$bmnn" data spiral --samples 20 --seed 2 -o test.csv
expect 0 "data vertical" -- "$bmnn" data vertical --samples 10 --classes 2 -o vertical.csv
expect 0 "data sine" -- "$bmnn" data sine --samples 64 -o sine.csv
expect 2 "data bad number" -- "$bmnn" data spiral --samples abc -o x.csv
has err.txt "--samples: 'abc'" "bad number message"
expect 2 "data unknown set" -- "$bmnn" data moons -o x.csv
expect 2 "data without -o" -- "$bmnn" data spiral
expect 1 "data unwritable" -- "$bmnn" data spiral -o /nonexistent-dir/x.csv
has err.txt "/nonexistent-dir/x.csv" "unwritable path named"

# train: errors
expect 2 "train without --data" -- "$bmnn" train small.json
expect 1 "train missing model" -- "$bmnn" train missing.json --data train.csv
has err.txt "missing.json" "missing model named"
expect 1 "train missing data" -- "$bmnn" train small.json --data nothere.csv
has err.txt "nothere.csv" "missing data named"
printf '{"inputs": 2, "layers": [{"type": "relux"}]}' >badtype.json
expect 1 "train bad layer type" -- "$bmnn" train badtype.json --data train.csv
has err.txt "layers[0].type" "bad layer path named"
printf '{"inputs": 3, "layers": [{"type": "dense", "in": 3, "out": 3}]}' >wide.json
expect 1 "train data/model width mismatch" -- "$bmnn" train wide.json --data train.csv -q
has err.txt "3 inputs" "width mismatch message"
expect 2 "train bad val split" -- "$bmnn" train small.json --data train.csv --val-split 1.5

# train: a small run, then exact continuation (20 + 20 == 40 epochs)
expect 0 "train 40" -- "$bmnn" train small.json --data train.csv --val test.csv -q -o full.json
has out.txt "saved full.json" "train saved"
expect 0 "train 20" -- "$bmnn" train small.json --data train.csv --epochs 20 -q -o half.json
expect 0 "train 20 more" -- "$bmnn" train half.json --data train.csv --epochs 20 -q -o resumed.json
if cmp -s full.json resumed.json; then ok; else bad "20+20 epochs differ from 40 epochs"; fi
expect 0 "train nothing left" -- "$bmnn" train full.json --data train.csv -q -o same.json
expect 1 "train --seed on checkpoint" -- "$bmnn" train full.json --data train.csv --seed 5
expect 0 "train plain progress lines" -- "$bmnn" train small.json --data train.csv --epochs 10 --print-every 5
has err.txt "epoch: 5," "plain progress line"
expect 1 "train unwritable output" -- "$bmnn" train small.json --data train.csv -q -o /nonexistent-dir/m.json
has err.txt "/nonexistent-dir/m.json" "unwritable model path named"

# eval and predict
expect 0 "eval" -- "$bmnn" eval full.json --data test.csv
has out.txt "accuracy:" "eval accuracy"
has out.txt "confusion matrix" "eval confusion matrix"
expect 1 "eval missing data" -- "$bmnn" eval full.json --data none.csv
expect 0 "predict" -- "$bmnn" predict full.json --data test.csv -o pred.csv
[ "$(wc -l <pred.csv)" -eq 61 ] && ok || bad "predict wrote $(wc -l <pred.csv) lines, want 61"
head -1 pred.csv | grep -qx "class,p0,p1,p2" && ok || bad "predict header: $(head -1 pred.csv)"

# gradcheck
expect 0 "gradcheck one op" -- "$bmnn" gradcheck --op softmax_cce
has out.txt "passed, 0 failed" "gradcheck op summary"
expect 2 "gradcheck unknown op" -- "$bmnn" gradcheck --op nosuch
has err.txt "nosuch" "unknown op named"
expect 0 "gradcheck model" -- "$bmnn" gradcheck --model full.json --data test.csv
has out.txt "layers[0].weights" "gradcheck model table"
expect 0 "gradcheck list" -- "$bmnn" gradcheck --list
expect 0 "gradcheck second order" -- "$bmnn" gradcheck --op softmax_cce --order 2
has out.txt "2nd order" "gradcheck --order 2 rows"
has out.txt "(order 2): 2 passed, 0 failed" "gradcheck --order 2 summary"
expect 0 "gradcheck model second order" -- "$bmnn" gradcheck --model full.json --data test.csv --order 2
has out.txt "2nd order" "gradcheck model --order 2 rows"
expect 2 "gradcheck order 3" -- "$bmnn" gradcheck --order 3
has err.txt "--order must be 1 or 2" "gradcheck bad order named"

# dot: golden file, rendering, JSON
(cd "$src/tests/data" && "$bmnn" dot cli_small.json) >small.dot 2>err.txt && ok || bad "dot failed: $(cat err.txt)"
if cmp -s small.dot "$src/tests/golden/cli_small.dot"; then ok; else bad "dot output differs from tests/golden/cli_small.dot"; fi
# --collapse: one box per layer, forward and backward, as DOT and as JSON
for g in "cli_small_collapse.dot:--collapse --backward" "cli_small_collapse.json:--collapse --json"; do
    (cd "$src/tests/data" && "$bmnn" dot cli_small.json ${g#*:}) >collapse.out 2>err.txt && ok || bad "dot ${g#*:} failed: $(cat err.txt)"
    if cmp -s collapse.out "$src/tests/golden/${g%%:*}"; then ok; else bad "dot ${g#*:} differs from tests/golden/${g%%:*}"; fi
done
if command -v dot >/dev/null; then
    dot -Tsvg "$src/tests/golden/cli_small_collapse.dot" -o collapse.svg 2>dot.err && [ ! -s dot.err ] && ok || bad "dot -Tsvg collapsed: $(cat dot.err)"
fi
expect 0 "dot backward" -- "$bmnn" dot full.json --backward -o back.dot
has back.dot "seed" "backward graph has the gradient seed"
if command -v dot >/dev/null; then
    dot -Tsvg back.dot -o back.svg 2>dot.err && [ ! -s dot.err ] && ok || bad "dot -Tsvg: $(cat dot.err)"
fi
expect 0 "dot svg" -- "$bmnn" dot full.json -o graph.svg
[ -s graph.svg ] || [ -s graph.dot ] && ok || bad "dot -o graph.svg wrote nothing"
expect 0 "dot json" -- "$bmnn" dot full.json --json -o graph.json
python3 -c 'import json,sys; g=json.load(open("graph.json")); sys.exit(0 if g["nodes"] and g["edges"] else 1)' && ok || bad "graph.json is not a graph"
expect 1 "dot bad model" -- "$bmnn" dot badtype.json

# train --checkpoint-every / --detect-anomaly
cp "$src/tests/data/cli_diverge.json" diverge.json # SGD lr 5 on MSE: diverges near epoch 20
# state_epoch FILE / training_epochs FILE: from the lines bm_model_save writes
state_epoch() { sed -n 's/^  "state": {"epoch": \([0-9]*\),.*/\1/p' "$1"; }
training_epochs() { sed -n 's/^  "training": {"epochs": \([0-9]*\),.*/\1/p' "$1"; }
# same_but_training A B: equal model files apart from their "training" line
same_but_training() { cmp -s <(grep -v '^  "training": ' "$1") <(grep -v '^  "training": ' "$2"); }
expect 2 "checkpoint without -o" -- "$bmnn" train small.json --data train.csv --checkpoint-every 5
has err.txt "--checkpoint-every needs -o" "checkpoint without -o message"
expect 2 "checkpoint every 0" -- "$bmnn" train small.json --data train.csv --checkpoint-every 0 -o c.json
expect 2 "checkpoint every abc" -- "$bmnn" train small.json --data train.csv --checkpoint-every abc -o c.json
expect 0 "train 20 with checkpoints" -- "$bmnn" train small.json --data train.csv --epochs 20 --checkpoint-every 7 -q -o ck20.json
if cmp -s ck20.json half.json; then ok; else bad "checkpointing changed the 20-epoch model"; fi
ls ck20.json.tmp.* >/dev/null 2>&1 && bad "temp files left: $(ls ck20.json.tmp.*)" || ok
expect 0 "train with --detect-anomaly" -- "$bmnn" train small.json --data train.csv --val test.csv --detect-anomaly -q -o anom.json
if cmp -s anom.json full.json; then ok; else bad "--detect-anomaly changed a finite run"; fi
expect 1 "diverging run" -- "$bmnn" train diverge.json --data train.csv -q -o div.json
has err.txt "loss is inf (training diverged" "divergence names the loss"
has err.txt "parameters are from the last finite step" "divergence names the parameters"
grep -qE "^bmnn train: epoch [0-9]+: loss" err.txt && ok || bad "divergence names no epoch: $(cat err.txt)"
[ -e div.json ] && bad "a diverged model was saved" || ok
expect 1 "diverging run, --detect-anomaly" -- "$bmnn" train diverge.json --data train.csv -q --detect-anomaly
grep -qE "^bmnn train: epoch [0-9]+: anomaly: forward of node [0-9]+ \((linear|matmul|add|relu|mse)\): output\[[0-9]+\] = -?(inf|nan); inputs: \[" err.txt \
    && ok || bad "anomaly message: $(cat err.txt)"
expect 1 "diverging run with checkpoints" -- "$bmnn" train diverge.json --data train.csv -q --checkpoint-every 4 -o divck.json
msg=$(cat err.txt)
bad_epoch=$(sed -n 's/^bmnn train: epoch \([0-9]*\): loss is.*/\1/p' err.txt)
kept=$(sed -n 's/.*kept the last good checkpoint divck.json (epoch \([0-9]*\)); the diverged model was not saved.*/\1/p' err.txt)
if [ -n "$bad_epoch" ] && [ -n "$kept" ] && [ "$kept" -le "$bad_epoch" ] && [ $((kept % 4)) -eq 0 ] && [ "$kept" -gt 0 ]; then ok; else bad "checkpoint kept on divergence: '$msg'"; fi
[ "$(state_epoch divck.json)" = "$kept" ] && ok || bad "divck.json is not at epoch $kept"
[ "$(training_epochs divck.json)" = 200 ] && ok || bad "divck.json does not keep the run's 200 epochs"
expect 0 "eval the kept checkpoint" -- "$bmnn" eval divck.json --data train.csv
# the kept file is exactly the model after $kept epochs
expect 0 "train to the kept epoch" -- "$bmnn" train diverge.json --data train.csv -q --epochs "$kept" -o kept.json
same_but_training divck.json kept.json && ok || bad "the kept checkpoint differs from $kept epochs of training"
# (tests/test_kill.sh resumes intermediate checkpoints to the run's end)
printf '{"inputs": 2, "layers": [{"type": "dense", "in": 2, "out": 3}], "loss": "softmax_cce",
 "optimizer": {"type": "sgd", "lr": 0.1}, "training": {"epochs": 30, "seed": 2}}' >lin.json
expect 0 "train 12 of 30" -- "$bmnn" train lin.json --data train.csv -q --epochs 12 --checkpoint-every 5 -o lin12.json
[ "$(training_epochs lin12.json)" = 12 ] && ok || bad "a finished run's file records its own end"
expect 1 "checkpoint unwritable" -- "$bmnn" train lin.json --data train.csv -q --checkpoint-every 5 -o /nonexistent-dir/c.json
has err.txt "checkpoint at epoch 5" "checkpoint failure names the epoch"
has err.txt "/nonexistent-dir/c.json" "checkpoint failure names the file"

# bad input, per subcommand: exit 1 and a message naming the file
: >empty.csv
printf '1,2,0\n1,\377\376,0\n' >latin1.csv
head -c 200 full.json >trunc.json
mkdir adir.json
printf 'x' >file.txt
# 3 images of 1x2 pixels, with no labels file beside them
printf '\000\000\010\003\000\000\000\003\000\000\000\001\000\000\000\002\001\002\003\004\005\006' >digits-images-idx3-ubyte
cp digits-images-idx3-ubyte digits.idx
expect 1 "train empty data" -- "$bmnn" train small.json --data empty.csv -q -o e.json
has err.txt "empty.csv: file is empty" "empty data named"
expect 1 "train non-UTF-8 CSV" -- "$bmnn" train small.json --data latin1.csv -q -o e.json
has err.txt "latin1.csv:2:2: expected a number, got '??'" "non-UTF-8 field named"
expect 1 "train truncated model" -- "$bmnn" train trunc.json --data train.csv -q -o e.json
has err.txt "trunc.json: malformed JSON near line" "truncated model named"
expect 1 "train directory as model" -- "$bmnn" train adir.json --data train.csv -q -o e.json
has err.txt "adir.json: is a directory" "directory model named"
expect 1 "train IDX without labels" -- "$bmnn" train small.json --data digits-images-idx3-ubyte -q -o e.json
has err.txt "digits-labels-idx1-ubyte: No such file" "missing labels named"
expect 1 "train unwritable output under a file" -- "$bmnn" train small.json --data train.csv --epochs 1 -q -o file.txt/m.json
has err.txt "file.txt/m.json" "output under a file named"
[ -e e.json ] && bad "a failed train wrote e.json" || ok
expect 1 "eval empty data" -- "$bmnn" eval full.json --data empty.csv
has err.txt "empty.csv: file is empty" "eval: empty data named"
expect 1 "eval non-UTF-8 CSV" -- "$bmnn" eval full.json --data latin1.csv
has err.txt "latin1.csv:2:2" "eval: non-UTF-8 field named"
expect 1 "eval truncated model" -- "$bmnn" eval trunc.json --data test.csv
has err.txt "trunc.json: malformed JSON" "eval: truncated model named"
expect 1 "eval directory as model" -- "$bmnn" eval adir.json --data test.csv
has err.txt "adir.json: is a directory" "eval: directory model named"
expect 1 "eval IDX without labels" -- "$bmnn" eval full.json --data digits-images-idx3-ubyte
has err.txt "digits-labels-idx1-ubyte: No such file" "eval: missing labels named"
expect 1 "eval IDX not named *images*idx3*" -- "$bmnn" eval full.json --data digits.idx
has err.txt "digits.idx: not a .csv file" "eval: unnamed IDX named"
expect 1 "predict empty data" -- "$bmnn" predict full.json --data empty.csv
has err.txt "empty.csv: file is empty" "predict: empty data named"
expect 1 "predict non-UTF-8 CSV" -- "$bmnn" predict full.json --data latin1.csv
has err.txt "latin1.csv:2:2" "predict: non-UTF-8 field named"
expect 1 "predict truncated model" -- "$bmnn" predict trunc.json --data test.csv
has err.txt "trunc.json: malformed JSON" "predict: truncated model named"
expect 1 "predict directory as model" -- "$bmnn" predict adir.json --data test.csv
has err.txt "adir.json: is a directory" "predict: directory model named"
# predict needs no labels: the images alone (one line per image after the header)
expect 0 "predict IDX without labels" -- "$bmnn" predict full.json --data digits-images-idx3-ubyte
if [ "$(wc -l <out.txt)" -eq 4 ]; then ok; else bad "predict IDX without labels: $(wc -l <out.txt) lines, want 4"; fi
expect 1 "predict unwritable output" -- "$bmnn" predict full.json --data test.csv -o file.txt/p.csv
has err.txt "file.txt/p.csv" "predict: unwritable output named"
expect 1 "gradcheck empty data" -- "$bmnn" gradcheck --model full.json --data empty.csv
has err.txt "empty.csv: file is empty" "gradcheck: empty data named"
expect 1 "gradcheck non-UTF-8 CSV" -- "$bmnn" gradcheck --model full.json --data latin1.csv
has err.txt "latin1.csv:2:2" "gradcheck: non-UTF-8 field named"
expect 1 "gradcheck truncated model" -- "$bmnn" gradcheck --model trunc.json
has err.txt "trunc.json: malformed JSON" "gradcheck: truncated model named"
expect 1 "gradcheck directory as model" -- "$bmnn" gradcheck --model adir.json
has err.txt "adir.json: is a directory" "gradcheck: directory model named"
expect 1 "gradcheck IDX without labels" -- "$bmnn" gradcheck --model full.json --data digits-images-idx3-ubyte
has err.txt "digits-labels-idx1-ubyte: No such file" "gradcheck: missing labels named"
expect 1 "dot truncated model" -- "$bmnn" dot trunc.json
has err.txt "trunc.json: malformed JSON" "dot: truncated model named"
expect 1 "dot directory as model" -- "$bmnn" dot adir.json
has err.txt "adir.json: is a directory" "dot: directory model named"
expect 1 "dot unwritable output" -- "$bmnn" dot full.json -o file.txt/g.dot
has err.txt "file.txt/g.dot" "dot: unwritable output named"
expect 1 "data unwritable output under a file" -- "$bmnn" data sine -o file.txt/s.csv
has err.txt "file.txt/s.csv" "data: output under a file named"

# layers, convert, and a graph model (format 2, tied weights) through every command
expect 0 "layers" -- "$bmnn" layers
has out.txt "dense (1 input): x·W + b" "layers: dense and its summary"
has out.txt "    rate         dropout rate in [0, 1)" "layers: a kind's keys"
expect 0 "layers --markdown" -- "$bmnn" layers --markdown
has out.txt "| \`dropout\` | 1 | \`rate\` |" "layers: the Markdown table"
expect 2 "layers with an argument" -- "$bmnn" layers dense
expect 0 "convert v1" -- "$bmnn" convert full.json -o conv.json
has conv.json '"version": 2' "convert writes version 2"
has conv.json '"nodes": [' "convert writes nodes"
expect 0 "convert again" -- "$bmnn" convert conv.json -o conv2.json
cmp -s conv.json conv2.json && ok || bad "converting a converted file changed its bytes"
expect 0 "eval converted" -- "$bmnn" eval conv.json --data test.csv
cp out.txt eval_conv.txt
expect 0 "eval original" -- "$bmnn" eval full.json --data test.csv
cmp -s out.txt eval_conv.txt && ok || bad "the converted model evaluates differently"
expect 1 "convert missing" -- "$bmnn" convert missing.json
has err.txt "missing.json" "convert: missing file named"
printf '%s' '{"version": 2, "inputs": [{"name": "xy", "shape": [2]}],
 "nodes": [{"name": "a", "kind": "dense", "inputs": ["xy"], "out": 2, "init": "glorot"},
  {"name": "t", "kind": "tanh"}, {"name": "b", "kind": "dense", "out": 2, "share": "a"},
  {"name": "h", "kind": "tanh"}, {"name": "out", "kind": "dense", "out": 3}],
 "loss": "softmax_cce", "optimizer": {"type": "adam", "lr": 0.02},
 "training": {"epochs": 5, "batch_size": 32, "seed": 1}}' >tied.json
expect 0 "train graph" -- "$bmnn" train tied.json --data train.csv -q -o tied_out.json
has tied_out.json '"share": "a"' "graph checkpoint keeps the tying"
expect 0 "eval graph" -- "$bmnn" eval tied_out.json --data test.csv
expect 0 "gradcheck graph" -- "$bmnn" gradcheck --model tied_out.json --data test.csv
has out.txt "a.weights" "gradcheck graph: named parameters"
hasnt out.txt "b.weights" "gradcheck graph: a tied tensor once"
expect 0 "dot graph" -- "$bmnn" dot tied_out.json --collapse
has out.txt 'b: dense' "dot graph: a node's cluster"
printf '%s' '{"version": 2, "inputs": [{"name": "xy", "shape": [2]}],
 "nodes": [{"name": "a", "kind": "dense", "out": 2, "strid": 1}]}' >badkey.json
expect 1 "graph unknown key" -- "$bmnn" train badkey.json --data train.csv
has err.txt "badkey.json: nodes[0].strid: unknown key for dense" "graph: unknown key named"

# a sequence model (output [T=2, 3 classes]): predictions, one line per position
printf '%s' '{"version": 2, "inputs": [{"name": "x", "shape": [2, 1]}],
 "nodes": [{"name": "d", "kind": "dense", "out": 3}], "training": {"seed": 2}}' >seq.json
printf '0.5,1\n-1,2\n' >seq.csv
expect 0 "predict sequence" -- "$bmnn" predict seq.json --data seq.csv
[ "$(wc -l <out.txt)" -eq 5 ] && ok || bad "sequence predictions: $(wc -l <out.txt) lines, want a header and 4"
has out.txt "class,p0,p1,p2" "sequence predictions: a class's columns"

cli_summary
