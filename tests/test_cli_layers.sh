#!/usr/bin/env bash
# test_cli_layers.sh BMNN SRCDIR — the layer kinds through the bmnn program: a
# CNN model file (conv2d, batch_norm, add, max_pool2d, flatten, layer_norm, gelu,
# dense) trained on CSV images, evaluated, predicted, gradchecked to second order,
# drawn with its layers as boxes, listed by `bmnn layers`, and a bad kernel
# named at its node. Ends with "N passed, N failed".
set -u
. "$(dirname "$0")/cli_lib.sh"
cli_setup "$@"

cat >cnn.json <<'JSON'
{"format": 2, "dtype": "f32",
 "inputs": [{"name": "image", "shape": [1, 6, 6]}],
 "nodes": [
  {"name": "conv1", "kind": "conv2d", "out": 3, "kernel": 3, "padding": 1},
  {"name": "bn1", "kind": "batch_norm"},
  {"name": "relu1", "kind": "relu"},
  {"name": "conv2", "kind": "conv2d", "out": 3, "kernel": 3, "padding": 1, "bias": false},
  {"name": "bn2", "kind": "batch_norm"},
  {"name": "sum", "kind": "add", "inputs": ["bn2", "relu1"]},
  {"name": "pool", "kind": "max_pool2d", "kernel": 2},
  {"name": "flat", "kind": "flatten"},
  {"name": "ln", "kind": "layer_norm"},
  {"name": "act", "kind": "gelu"},
  {"name": "logits", "kind": "dense", "out": 2, "init": "glorot"}
 ],
 "loss": "softmax_cce",
 "optimizer": {"type": "adam", "lr": 0.02},
 "training": {"seed": 3}}
JSON
# 40 images of 6x6: class 1 lit in the top half, class 0 in the bottom half
python3 - <<'PY'
import random
random.seed(1)
with open("img.csv", "w") as f:
    f.write(",".join(f"p{i}" for i in range(36)) + ",label\n")
    for n in range(40):
        c = n % 2
        px = [(1.0 if (r < 3) == (c == 1) else 0.0) + random.gauss(0, 0.3)
              for r in range(6) for _ in range(6)]
        f.write(",".join(f"{v:.4f}" for v in px) + f",{c}\n")
PY

expect 0 "layers lists the kinds" -- "$bmnn" layers
for k in conv2d conv1d conv_transpose2d max_pool2d avg_pool2d global_avg_pool flatten reshape batch_norm \
         layer_norm rms_norm group_norm embedding add concat gelu silu leaky_relu elu softplus log_softmax; do
    has out.txt "$k" "bmnn layers names $k"
done
expect 0 "train the CNN" -- "$bmnn" train cnn.json --data img.csv -e 15 -b 8 --shuffle -q -o trained.json
has trained.json '"kind": "conv2d"' "the checkpoint keeps the kinds"
has trained.json '"running_var"' "the checkpoint keeps batch_norm's statistics"
expect 0 "eval" -- "$bmnn" eval trained.json --data img.csv --json
py "trained to high accuracy" "import json; d = json.load(open('out.txt')); assert d['accuracy'] >= 0.9, d"
expect 0 "predict" -- "$bmnn" predict trained.json --data img.csv -o pred.csv
py "one prediction per image" "assert len(open('pred.csv').read().split()) >= 40"
expect 0 "gradcheck of the model, second order" -- "$bmnn" gradcheck --model cnn.json --data img.csv --order 2
hasnt out.txt "FAIL" "every parameter passes"
has out.txt "conv1.weights" "gradcheck names the conv weights"
expect 0 "dot, one box per layer" -- "$bmnn" dot trained.json --collapse -o graph.dot
has graph.dot "conv1: conv2d" "the conv layer's box"
has graph.dot "bn2: batch_norm" "the batch norm's box"
sed 's/"kernel": 3, "padding": 1, "bias"/"kernel": 9, "bias"/' cnn.json >bad.json
expect 1 "a kernel larger than the input" -- "$bmnn" train bad.json --data img.csv -e 1 -q
has err.txt 'nodes[3]: conv2d: input [3,6,6]: kernel 9' "the node's JSON path and the shapes named"
has err.txt '(node "conv2")' "and the node's name"
cli_summary
