#!/usr/bin/env python3
"""zoo_torch.py — the PyTorch side of the model zoo (examples/zoo/): the same
three models, data pipelines, optimizer, batch and steps as the bmnn files,
so their figures can be set side by side.

  zoo_torch.py cnn  [--mnist DIR]  LeNet-5 style CNN on the 10k MNIST sample
                                   of tools/fetch_mnist.sh (8,000 train, 2,000
                                   test, pixels / 255, images [N,1,28,28])
  zoo_torch.py lstm [--text FILE]  char LSTM: embedding -> LSTM -> dense
  zoo_torch.py gpt  [--text FILE]  char GPT: token + learned position
                                   embedding, pre-norm blocks, final layer
                                   norm, dense head

Text: byte-level tokens (vocabulary 256) of FILE, split by position as
nn/bm_text.h / `bmnn data text --val-split F` does (train on [0, floor((1-F)
len)), validate on the rest, no window across the boundary); training windows
every --stride positions (bm_text_windows' strided layout), validation windows
every T positions; targets are the next token at every position, the loss the
mean cross-entropy per character (nats).

Each run trains once on --threads-train threads (default: the best of
--threads) and prints the final validation loss (and accuracy), then times
--time-steps steps of a fresh model at each thread count of --threads (after
--warmup steps) and prints the mean step time of each and the best. --json
prints one JSON object instead. Hyper-parameters default to the zoo's
(examples/zoo/README.md)."""
import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FORTUNES = "data/fortunes.txt"  # tools/zoo.sh: the fortunes-min files, concatenated
MNIST_DIR = "data/mnist"
VOCAB = 256  # byte-level tokens

# The zoo's settings per model: what examples/zoo/*.json say too.
ZOO = {
    "cnn": dict(epochs=12, batch=64, lr=1e-3, cosine=1, c1=32, c2=64, f1=256, f2=84),
    "lstm": dict(steps=1000, batch=32, lr=2e-3, cosine=0, context=64, stride=1, embed=32, hidden=128),
    "gpt": dict(steps=1000, batch=16, lr=1e-3, cosine=0, context=128, stride=1, width=128, heads=4,
                layers=4),
}
VAL_SPLIT = 0.1
# Std of GPT-2's initialisation (bmnn's attention/transformer/position kinds use it).
GPT_INIT_STD = 0.02


# ------------------------------------------------------------------ data

def read_idx(path):
    """An IDX file (uint8) as an array: images [N,rows,cols] or labels [N]."""
    with open(path, "rb") as f:
        raw = f.read()
    magic, n = struct.unpack(">II", raw[:8])
    if magic == 0x803:
        rows, cols = struct.unpack(">II", raw[8:16])
        return np.frombuffer(raw, np.uint8, offset=16).reshape(n, rows, cols)
    if magic == 0x801:
        return np.frombuffer(raw, np.uint8, offset=8)
    raise ValueError(f"{path}: magic {magic:#x} is not an IDX image or label file")


def mnist(directory):
    """(x_train [N,1,28,28], y_train, x_test, y_test): pixels / 255 (BM_IDX_UNIT)."""
    def part(prefix):
        x = read_idx(os.path.join(directory, prefix + "-images-idx3-ubyte"))
        y = read_idx(os.path.join(directory, prefix + "-labels-idx1-ubyte"))
        return (torch.tensor(x, dtype=torch.float32).unsqueeze(1) / 255.0,
                torch.tensor(y, dtype=torch.long))
    return part("train") + part("test")


def text_windows(path, context, stride, val_split=VAL_SPLIT):
    """Byte tokens of path split as bm_text_split; (train x, y, val x, y) with
    x [N,T] and y [N,T] the next tokens (bm_text_windows, strided)."""
    tokens = np.frombuffer(open(path, "rb").read(), np.uint8).astype(np.int64)
    cut = math.floor((1.0 - val_split) * len(tokens))

    def windows(start, end, step):
        # positions p in [start, end - T - 1]: x = tokens[p:p+T], y = tokens[p+1:p+T+1]
        ps = np.arange(start, end - context, step)
        idx = ps[:, None] + np.arange(context)[None, :]
        return torch.tensor(tokens[idx]), torch.tensor(tokens[idx + 1])
    return windows(0, cut, stride) + windows(cut, len(tokens), context)


# ---------------------------------------------------------------- models

class LeNet(nn.Module):
    """conv 5x5 (c1, pad 2) - relu - max 2 - conv 5x5 (c2) - relu - max 2 -
    dense c2·25->f1 - relu - dense f2 - relu - dense 10 (LeNet-5: 6, 16, 120, 84)."""

    def __init__(self, c1, c2, f1, f2):
        super().__init__()
        self.c1 = nn.Conv2d(1, c1, 5, padding=2)
        self.c2 = nn.Conv2d(c1, c2, 5)
        self.f1 = nn.Linear(c2 * 5 * 5, f1)
        self.f2 = nn.Linear(f1, f2)
        self.f3 = nn.Linear(f2, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        x = torch.flatten(x, 1)
        return self.f3(F.relu(self.f2(F.relu(self.f1(x)))))


class CharLSTM(nn.Module):
    """embedding (V, E) -> one LSTM layer (H, every step) -> dense H->V."""

    def __init__(self, embed, hidden):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, embed)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, VOCAB)

    def forward(self, x):
        h, _ = self.lstm(self.emb(x))
        return self.head(h)


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x)),
    causal multi-head attention, MLP 4·width with exact GELU."""

    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width)
        self.fc = nn.Linear(width, 4 * width)
        self.out = nn.Linear(4 * width, width)

    def attn(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        a = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.heads)
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        a = a.masked_fill(~mask, float("-inf")).softmax(-1)
        return self.proj((a @ v).transpose(1, 2).reshape(B, T, C))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class CharGPT(nn.Module):
    """token + learned position embedding -> blocks -> layer norm -> dense."""

    def __init__(self, context, width, heads, layers):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, width)
        self.pos = nn.Embedding(context, width)
        self.blocks = nn.Sequential(*[Block(width, heads) for _ in range(layers)])
        self.ln = nn.LayerNorm(width)
        self.head = nn.Linear(width, VOCAB)
        # initialised as bmnn's kinds are: the blocks' products and the
        # positions N(0, 0.02) (GPT-2's), biases 0, the head Glorot-uniform
        # (char_gpt.json's "init": "glorot"), the token embedding N(0, 1)
        for b in self.blocks:
            for lin in (b.qkv, b.proj, b.fc, b.out):
                nn.init.normal_(lin.weight, 0.0, GPT_INIT_STD)
                nn.init.zeros_(lin.bias)
        nn.init.normal_(self.pos.weight, 0.0, GPT_INIT_STD)
        nn.init.xavier_uniform_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x):
        h = self.tok(x) + self.pos(torch.arange(x.shape[1]))
        return self.head(self.ln(self.blocks(h)))


# -------------------------------------------------------------- training

def seq_loss(model, x, y):
    logits = model(x)
    return F.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1))


@torch.no_grad()
def evaluate(model, x, y, batch, seq):
    """Mean loss per target and accuracy over (x, y) in batches."""
    model.eval()
    total, correct, count = 0.0, 0, 0
    for i in range(0, len(x), batch):
        logits = model(x[i:i + batch])
        t = y[i:i + batch]
        if seq:
            logits, t = logits.reshape(-1, VOCAB), t.reshape(-1)
        total += F.cross_entropy(logits, t, reduction="sum").item()
        correct += (logits.argmax(-1) == t).sum().item()
        count += t.numel()
    model.train()
    return total / count, correct / count


def make(kind, cfg):
    if kind == "cnn":
        return LeNet(cfg["c1"], cfg["c2"], cfg["f1"], cfg["f2"])
    if kind == "lstm":
        return CharLSTM(cfg["embed"], cfg["hidden"])
    return CharGPT(cfg["context"], cfg["width"], cfg["heads"], cfg["layers"])


def batches(n, batch, gen):
    """Endless shuffled mini-batch index tensors (a fresh permutation per epoch)."""
    while True:
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n - batch + 1, batch):
            yield perm[i:i + batch]


def step_fn(kind, model, opt):
    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y) if kind == "cnn" else seq_loss(model, x, y)
        loss.backward()
        opt.step()
        return loss
    return step


def train(kind, cfg, data, seed, threads):
    """Train per cfg; (val loss, val accuracy, mean step seconds, steps)."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    xt, yt, xv, yv = data
    model = make(kind, cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    step = step_fn(kind, model, opt)
    gen = torch.Generator().manual_seed(seed)
    steps = cfg["steps"] if kind != "cnn" else cfg["epochs"] * (len(xt) // cfg["batch"])
    it = batches(len(xt), cfg["batch"], gen)
    t0 = time.perf_counter()
    for t in range(steps):
        if cfg["cosine"]:  # bmnn's --schedule cosine:t_max=STEPS: lr(t) for step t
            for g in opt.param_groups:
                g["lr"] = cfg["lr"] * (1.0 + math.cos(math.pi * t / steps)) / 2.0
        idx = next(it)
        step(xt[idx], yt[idx])
    seconds = time.perf_counter() - t0
    loss, acc = evaluate(model, xv, yv, 256, kind != "cnn")
    return loss, acc, seconds / steps, steps


def time_steps(kind, cfg, data, threads, warmup, n):
    """Mean wall-clock and process CPU seconds of n training steps on
    `threads` threads, after warmup."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    xt, yt = data[0], data[1]
    model = make(kind, cfg)
    step = step_fn(kind, model, torch.optim.Adam(model.parameters(), lr=cfg["lr"]))
    it = batches(len(xt), cfg["batch"], torch.Generator().manual_seed(0))
    for _ in range(warmup):
        idx = next(it)
        step(xt[idx], yt[idx])
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        idx = next(it)
        step(xt[idx], yt[idx])
    return (time.perf_counter() - t0) / n, (time.process_time() - c0) / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", choices=sorted(ZOO))
    ap.add_argument("--mnist", default=MNIST_DIR)
    ap.add_argument("--text", default=FORTUNES)
    ap.add_argument("--steps", type=int, help="training steps (lstm, gpt)")
    ap.add_argument("--epochs", type=int, help="training epochs (cnn)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a setting of the zoo's (e.g. batch=32, lr=0.002)")
    ap.add_argument("--threads", default="1,2", help="thread counts timed [1,2]")
    ap.add_argument("--threads-train", type=int, help="threads of the training run [best]")
    ap.add_argument("--time-steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--no-train", action="store_true", help="time the steps only")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--print-config", action="store_true",
                    help="print the settings as KEY=VALUE lines (for tools/zoo.sh) and stop")
    a = ap.parse_args()
    cfg = dict(ZOO[a.model])
    if a.steps:
        cfg["steps"] = a.steps
    if a.epochs:
        cfg["epochs"] = a.epochs
    for kv in a.set:
        key, _, value = kv.partition("=")
        if key not in cfg:
            ap.error(f"--set {kv}: {a.model} has no setting {key} ({', '.join(cfg)})")
        cfg[key] = type(cfg[key])(float(value)) if isinstance(cfg[key], int) else float(value)
    if a.print_config:
        print("\n".join(f"{k}={v}" for k, v in cfg.items()))
        return 0
    if a.model == "cnn":
        data = mnist(a.mnist)
    else:
        data = text_windows(a.text, cfg["context"], cfg["stride"])
    threads = [int(t) for t in a.threads.split(",")]
    measured = {t: time_steps(a.model, cfg, data, t, a.warmup, a.time_steps) for t in threads}
    times = {t: w for t, (w, _) in measured.items()}
    best = min(times, key=times.get)
    out = {"model": a.model, "torch": torch.__version__, "config": cfg,
           "train_samples": len(data[0]), "val_samples": len(data[2]),
           "step_s": {str(t): s for t, s in times.items()},
           "step_cpu_s": {str(t): c for t, (_, c) in measured.items()}, "best_threads": best}
    if not a.no_train:
        tt = a.threads_train or best
        loss, acc, per_step, steps = train(a.model, cfg, data, a.seed, tt)
        out.update({"threads_train": tt, "steps": steps, "val_loss": loss, "val_accuracy": acc,
                    "train_step_s": per_step})
    if a.json:
        print(json.dumps(out))
        return
    print(f"{a.model}: torch {torch.__version__}, {out['train_samples']} training and "
          f"{out['val_samples']} validation samples, {cfg}")
    for t, s in times.items():
        print(f"  step time, {t} thread{'s' if t > 1 else ''}: {s * 1e3:.2f} ms")
    print(f"  best: {best} thread{'s' if best > 1 else ''}")
    if not a.no_train:
        what = "test accuracy" if a.model == "cnn" else "validation accuracy"
        print(f"  after {out['steps']} steps on {out['threads_train']} threads: validation loss "
              f"{out['val_loss']:.4f}{' nats/char' if a.model != 'cnn' else ''}, {what} "
              f"{out['val_accuracy'] * 100:.2f} %")


if __name__ == "__main__":
    sys.exit(main())
