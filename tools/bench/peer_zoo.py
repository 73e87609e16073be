#!/usr/bin/python3
"""peer_zoo.py -- the zoo's training steps (bmnn-bench --only Z) beside
PyTorch's same models (tools/zoo_torch.py --no-train), on 1 and 2 threads.

  /usr/bin/python3 tools/bench/peer_zoo.py [--bench build/tools/bench/bmnn-bench]
                                           [--rounds R] [--steps N] [--out FILE]

For each round and thread count: bmnn-bench's Z rows (the replayed step of
each model of examples/zoo at its file's batch size), then zoo_torch.py's
step time of each model (N steps after a warm-up). A figure is the median
over the rounds; the machine is shared, so process CPU time per step is
printed beside the wall clock. Ratio: torch's best / bmnn's best wall-clock
(> 1: bmnn is faster). Prints a markdown table (also written to --out)."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# bmnn-bench's row label -> zoo_torch.py's model name
MODELS = {"mnist_cnn": "cnn", "char_lstm": "lstm", "char_gpt": "gpt"}
THREADS = (1, 2)


def bmnn_rows(bench, threads):
    """{model: (wall s, cpu s)} of one bmnn-bench --only Z run."""
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        subprocess.run([bench, "--only", "Z", "--threads", str(threads), "--json", f.name],
                       check=True, stdout=subprocess.DEVNULL)
        rows = json.load(open(f.name))["rows"]
    out = {}
    for r in rows:
        name = r["label"].split()[1]
        out[name] = (r["seconds_median"], statistics.median(r["cpu_runs_s"]))
    return out


def torch_step(model, threads, steps):
    """(wall s, cpu s) per step of zoo_torch.py's model."""
    # OpenBLAS's own threads follow the setting too (they start at launch)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "zoo_torch.py"), model,
                        "--no-train", "--threads", str(threads), "--time-steps", str(steps),
                        "--json"], check=True, capture_output=True, text=True, cwd=ROOT, env=env)
    d = json.loads(p.stdout)
    return d["step_s"][str(threads)], d["step_cpu_s"][str(threads)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", default=os.path.join(ROOT, "build/tools/bench/bmnn-bench"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--out")
    a = ap.parse_args()
    res = {}  # (side, model, threads) -> [(wall, cpu)]
    for _ in range(a.rounds):
        for t in THREADS:
            for name, v in bmnn_rows(a.bench, t).items():
                res.setdefault(("bmnn", name, t), []).append(v)
            for name, model in MODELS.items():
                if ("bmnn", name, t) in res:  # only the models this build has
                    res.setdefault(("torch", name, t), []).append(torch_step(model, t, a.steps))

    def med(side, name, t, k):
        v = res.get((side, name, t))
        return statistics.median(x[k] for x in v) if v else float("nan")
    lines = ["| model | bmnn 1t ms (cpu) | torch 1t ms (cpu) | bmnn 2t ms | torch 2t ms | "
             "torch best / bmnn best |", "|---|---|---|---|---|---|"]
    for name in MODELS:
        if ("bmnn", name, 1) not in res:
            continue
        bm = [med("bmnn", name, t, 0) for t in THREADS]
        to = [med("torch", name, t, 0) for t in THREADS]
        lines.append(f"| {name} | {bm[0] * 1e3:.1f} ({med('bmnn', name, 1, 1) * 1e3:.1f}) | "
                     f"{to[0] * 1e3:.1f} ({med('torch', name, 1, 1) * 1e3:.1f}) | "
                     f"{bm[1] * 1e3:.1f} | {to[1] * 1e3:.1f} | {min(to) / min(bm):.2f} |")
    text = "\n".join(lines)
    print(text)
    if a.out:
        open(a.out, "w").write(text + "\n")


if __name__ == "__main__":
    main()
