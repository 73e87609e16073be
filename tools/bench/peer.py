#!/usr/bin/python3
"""peer.py -- bmnn-bench's workloads in PyTorch, NumPy and OpenBLAS, side by side.

Runs, in one command:
  * bmnn-bench (tools/bench/bench.c) with --json, one workload at a time;
  * PyTorch: the W1-W3 MLP training steps (nn.Linear, ReLU, F.cross_entropy,
    Adam lr 1e-3, float32, fixed batch; zero_grad + forward + backward + step)
    and the W4 1,000-op chain, in four thread settings;
  * NumPy written the walk-through's way (peer_nnfs.py: Layer_Dense,
    Activation_ReLU, Activation_Softmax_Loss_CategoricalCrossentropy,
    Optimizer_Adam), on 1 and 2 OpenBLAS threads;
  * cblas_sgemm from OpenBLAS through ctypes at bmnn-bench's G products, on 1
    and 2 threads;
and prints a markdown table (also written to --out).

  /usr/bin/python3 tools/bench/peer.py [--bench build-bench/tools/bench/bmnn-bench]
                                       [--quick] [--rounds R] [--out FILE]

Each peer setting is one long-lived process (peer_workers.py) started with its
environment (OPENBLAS_NUM_THREADS takes effect only at launch; OPENBLAS_CORETYPE
and OPENBLAS_L2_SIZE are unset together). This machine is shared and noisy, so
the measurements are interleaved finely: for each workload (each G product),
R rounds, each running bmnn-bench and then every peer setting, in an order
rotated per round. A figure is the median over all timed runs of all rounds.
Ratios are peer time / bmnn time (> 1: bmnn is faster); for SGEMM, bmnn's
GFLOP/s as a percentage of OpenBLAS's. Wall-clock figures are the headline;
single-threaded pairs are also compared in process CPU time, which the other
processes on the machine disturb much less.
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from peer_workers import CHAIN_OPS, CHAIN_WIDTH, MLPS, serve  # noqa: E402

DEFAULT_BENCH = "build/tools/bench/bmnn-bench"
# Per round and figure: `reps` runs of >= min_run seconds after a warm-up.
FULL = dict(rounds=3, reps=3, min_run=0.2, warmup=0.1)
QUICK = dict(rounds=1, reps=3, min_run=0.02, warmup=0.01)
# Environment variables that pin OpenBLAS to one kernel / cache size.
OPENBLAS_PINS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
# A ctypes call whose overhead exceeds this share of a call's time is flagged.
OVERHEAD_FLAG = 0.10
US, NS_OP = 1e6, 1e9 / CHAIN_OPS

# The peer settings: name, kind, torch threads, OPENBLAS_NUM_THREADS, workloads.
MLP_W4 = ("W1", "W2", "W3", "W4")
TORCH_WLS = MLP_W4 + ("O",)
SETTINGS = [
    ("torch t1 ob1", "torch", 1, 1, TORCH_WLS),
    ("torch t1 ob2", "torch", 1, 2, TORCH_WLS),
    ("torch t2 ob2", "torch", 2, 2, TORCH_WLS),
    ("torch t2 ob1", "torch", 2, 1, TORCH_WLS),
    ("numpy ob1", "numpy", 1, 1, ("W1", "W2", "W3")),
    ("numpy ob2", "numpy", 1, 2, ("W1", "W2", "W3")),
    ("cblas 1t", "cblas", 1, 1, ("G", "O")),
    ("cblas 2t", "cblas", 1, 2, ("G", "O")),
]
TORCH_1T, NUMPY_1T, CBLAS_1T, CBLAS_2T = "torch t1 ob1", "numpy ob1", "cblas 1t", "cblas 2t"
TORCH_ALL = [s[0] for s in SETTINGS if s[1] == "torch"]


# --------------------------------------------------------------- running

class Worker:
    """One peer setting in its own process."""

    def __init__(self, name, kind, torch_threads, ob_threads):
        env = dict(os.environ)
        self.unset = [k for k in OPENBLAS_PINS if k in env]
        for k in OPENBLAS_PINS:
            env.pop(k, None)
        env["OPENBLAS_NUM_THREADS"] = str(ob_threads)
        self.name = name
        self.p = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve", kind,
             "--torch-threads", str(torch_threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.info = self.ask(cmd="info")
        self.info["unset"] = self.unset

    def ask(self, **req):
        self.p.stdin.write(json.dumps(req) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise SystemExit(f"peer.py: the '{self.name}' process ended (status "
                             f"{self.p.wait()})")
        return json.loads(line)

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def run_bmnn(a, timing, only, gemm_index=None):
    """bmnn-bench's JSON for one workload (or one G product)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    try:
        cmd = [a.bench, "--only", only, "--json", path, "--reps", str(timing["reps"]),
               "--min-time", str(timing["min_run"])]
        cmd += ["--quick"] if a.quick else []
        cmd += ["--threads", str(a.bmnn_threads)] if a.bmnn_threads else []
        cmd += ["--gemm-index", str(gemm_index)] if gemm_index is not None else []
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"peer.py: {' '.join(cmd)} failed ({p.returncode}):\n"
                             f"{p.stdout}\n{p.stderr}")
        with open(path) as fh:
            return json.load(fh)
    finally:
        os.unlink(path)


class Pool:
    """Per-run wall and CPU seconds pooled over rounds, by (setting, workload, mode)."""

    def __init__(self):
        self.runs, self.cpu = {}, {}

    def add(self, setting, workload, mode, r):
        self.runs.setdefault((setting, workload, mode), []).extend(r["runs_s"])
        self.cpu.setdefault((setting, workload, mode), []).extend(r["cpu_runs_s"])

    def get(self, setting, workload, mode, cpu=False):
        r = (self.cpu if cpu else self.runs).get((setting, workload, mode))
        return (statistics.median(r), min(r), max(r), len(r)) if r else None


def measure_all(a, timing):
    pool, bm_rows, bm_meta = Pool(), {}, None
    print("peer.py: starting the peer processes", file=sys.stderr)
    workers = [(Worker(n, k, tt, ob), wls) for n, k, tt, ob, wls in SETTINGS]
    listing = run_bmnn(a, dict(timing, reps=1, min_run=0), "G")  # the G products
    shapes = [dict(label=r["label"], M=r["M"], N=r["N"], K=r["K"], ta=r["ta"], tb=r["tb"],
                   beta=r["beta"]) for r in listing["rows"] if r["kind"] == "gemm"]
    units = [(wl, None) for wl in MLP_W4] + [("G", i) for i in range(len(shapes))]
    units += [("O", None)]
    if a.only:
        units = [u for u in units if u[0] in a.only.split(",")]
    op_labels = []
    try:
        for wl, gi in units:
            for rnd in range(timing["rounds"]):
                print(f"peer.py: {wl if gi is None else shapes[gi]['label']}, round "
                      f"{rnd + 1}/{timing['rounds']}", file=sys.stderr)
                jobs = [None] + [w for w, wls in workers if wl in wls]
                k = rnd % len(jobs)
                for job in jobs[k:] + jobs[:k]:
                    if job is None:
                        bm = run_bmnn(a, timing, wl, gi)
                        bm_meta = bm_meta or bm
                        for r in bm["rows"]:
                            mode = r["label"] if r["kind"] == "gemm" or wl == "O" else r["mode"]
                            if wl == "O" and mode not in op_labels:
                                op_labels.append(mode)
                            pool.add("bmnn", r["workload"], mode, r)
                            bm_rows.setdefault((r["workload"], mode), r)
                    elif wl == "O":
                        for lab in op_labels or run_labels(a):
                            r = job.ask(cmd="run", what="O", label=lab, timing=timing)
                            if not r.get("skip"):
                                pool.add(job.name, "O", lab, r)
                    elif wl == "G":
                        r = job.ask(cmd="run", what="G", shape=shapes[gi], timing=timing)
                        pool.add(job.name, "G", shapes[gi]["label"], r)
                    else:
                        r = job.ask(cmd="run", what=wl, timing=timing)
                        pool.add(job.name, wl, "chain" if wl == "W4" else "step", r)
        for w, wls in workers:  # the cost of a ctypes call that does nothing
            if "G" in wls:
                pool.add(w.name, "G", "overhead", w.ask(cmd="run", what="overhead",
                                                       timing=timing))
    finally:
        for w, _ in workers:
            w.close()
    infos = {w.name: w.info for w, _ in workers}
    return pool, infos, bm_meta, bm_rows, shapes, op_labels


def run_labels(a):
    """The labels of bmnn-bench's O rows (a listing run)."""
    return [r["label"] for r in run_bmnn(a, dict(reps=1, min_run=0), "O")["rows"]]


# --------------------------------------------------------------- report

def fmt(v, digits=3):
    if v is None:
        return "–"
    if v >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}" if v < 100 else f"{v:.0f}"


def cell(st, scale):
    """'median [min–max]' of a pool entry in the given unit."""
    if st is None:
        return "–"
    return f"{fmt(st[0] * scale)} [{fmt(st[1] * scale)}–{fmt(st[2] * scale)}]"


def ratio(peer, bm):
    return "–" if peer is None or bm is None else fmt(peer[0] / bm[0])


def best_of(pool, names, wl, mode):
    best = None
    for n in names:
        st = pool.get(n, wl, mode)
        if st and (best is None or st[0] < best[1][0]):
            best = (n, st)
    return best


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def header(infos, bm, timing, started, a):
    ti, ni, ci = infos.get(TORCH_1T, {}), infos.get(NUMPY_1T, {}), infos.get(CBLAS_1T, {})
    ob = ni.get("openblas", {})
    unset = sorted({u for i in infos.values() for u in i.get("unset", [])})
    threads = {n: i.get("torch_threads") for n, i in infos.items() if "torch_threads" in i}
    return [
        "## Machine and peers\n",
        f"- date: {started.strftime('%Y-%m-%d %H:%M UTC')}; CPU: {cpu_model()}, "
        f"{os.cpu_count()} cores; load average at the end: "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}",
        f"- bmnn {bm.get('bmnn_version')} ({bm.get('buildtype')} build, gcc "
        f"{bm.get('compiler')}); threads: "
        + ("applied" if bm.get("threads_applied") else bm.get("threads_note", "n/a")),
        f"- PyTorch {ti.get('torch')} (torch threads per setting: {threads}), NumPy "
        f"{ni.get('numpy')}, OpenBLAS {ob.get('version', '?')} (kernel: threadpoolctl "
        f"'{ob.get('architecture', '?')}', openblas_get_corename '{ci.get('corename', '?')}'; "
        f"{ci.get('config', '')}); Python {sys.version.split()[0]}",
        "- OpenBLAS pins unset for the peers: " + (", ".join(unset) if unset else
                                                   "none were set"),
        f"- method: per workload (per G product), {timing['rounds']} round(s) of bmnn-bench "
        f"and every peer setting in rotated order; {timing['reps']} timed runs of >= "
        f"{timing['min_run']} s per figure per round; figures are medians over all runs "
        "[min–max]" + (" (--quick)" if a.quick else ""),
        "",
    ]


def step_table(pool):
    L = ["## Training step and tape overhead\n",
         "Step: zero grads + forward + backward + Adam update, softmax-CE, float32, fixed "
         "batch, µs per step (bmnn: the replayed graph). W4: ns per elementwise op, "
         "backward included. Ratio = peer time / bmnn time (> 1: bmnn is faster); the CPU "
         "columns compare process CPU time of the single-threaded runs.\n",
         "| workload | bmnn | PyTorch 1 thread | PyTorch best | NumPy (1 thread) | "
         "vs PyTorch 1t | vs PyTorch best | vs NumPy | CPU: vs PyTorch 1t | CPU: vs NumPy |",
         "|---|---|---|---|---|---|---|---|---|---|"]
    rows = [(wl, "replay", "step", US, f"{wl} MLP {'-'.join(map(str, w))} b{b}")
            for wl, (b, w) in MLPS.items()]
    rows += [("W4", m, "chain", NS_OP, f"W4 chain of {CHAIN_OPS} ops 1x{CHAIN_WIDTH}, bmnn "
              f"{m} (ns/op)") for m in ("record", "replay")]
    for wl, bmode, pmode, scale, name in rows:
        bm, t1 = pool.get("bmnn", wl, bmode), pool.get(TORCH_1T, wl, pmode)
        best, npst = best_of(pool, TORCH_ALL, wl, pmode), pool.get(NUMPY_1T, wl, pmode)
        bmc = pool.get("bmnn", wl, bmode, cpu=True)
        bst = best[1] if best else None
        L.append(f"| {name} | {cell(bm, scale)} | {cell(t1, scale)} | "
                 f"{cell(bst, scale) + ' (' + best[0] + ')' if best else '–'} | "
                 f"{cell(npst, scale)} | {ratio(t1, bm)} | {ratio(bst, bm)} | "
                 f"{ratio(npst, bm)} | {ratio(pool.get(TORCH_1T, wl, pmode, cpu=True), bmc)} | "
                 f"{ratio(pool.get(NUMPY_1T, wl, pmode, cpu=True), bmc)} |")
    names = ["bmnn replay", "bmnn record", "bmnn fit"] + [s[0] for s in SETTINGS
                                                           if s[1] != "cblas"]
    L += ["", "All settings (median µs per step; W4 ns per op). tN = "
          "torch.set_num_threads(N), obN = OPENBLAS_NUM_THREADS=N at launch:\n",
          "| workload | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for wl in MLP_W4:
        scale, vals = NS_OP if wl == "W4" else US, []
        for n in names:
            st = (pool.get("bmnn", wl, n.split()[1]) if n.startswith("bmnn") else
                  pool.get(n, wl, "chain" if wl == "W4" else "step"))
            vals.append(fmt(st[0] * scale) if st else "–")
        L.append(f"| {wl} | " + " | ".join(vals) + " |")
    return L + [""]


def gemm_table(pool, shapes):
    ovh = pool.get(CBLAS_1T, "G", "overhead")
    L = ["## SGEMM\n",
         "GFLOP/s, C[M,N] (+)= op(A)·op(B); NN = A·B (forward, beta 0), NT = G·Bᵀ (dX, "
         "beta 1), TN = Aᵀ·G (dW, beta 1). bmnn: bm_gemm_f32 called from C; OpenBLAS: "
         "cblas_sgemm through ctypes"
         + (f" (a call that does nothing costs {ovh[0] * 1e6:.2f} µs; * marks rows where "
            f"that is > {OVERHEAD_FLAG:.0%} of the OpenBLAS 1-thread time)" if ovh else "")
         + ". CPU: the single-threaded ratio in process CPU time.\n",
         "| product | M×N×K | form | bmnn | OpenBLAS 1t | OpenBLAS 2t | bmnn/OpenBLAS 1t | "
         "bmnn/OpenBLAS 2t | CPU: bmnn/OpenBLAS 1t |",
         "|---|---|---|---|---|---|---|---|---|"]
    for s in shapes:
        gf, lab = 2.0 * s["M"] * s["N"] * s["K"] / 1e9, s["label"]
        sts = [pool.get(n, "G", lab) for n in ("bmnn", CBLAS_1T, CBLAS_2T)]
        g = [gf / st[0] if st else None for st in sts]
        pct = ["–" if g[0] is None or x is None else f"{100 * g[0] / x:.0f}%" for x in g[1:]]
        bc, oc = pool.get("bmnn", "G", lab, cpu=True), pool.get(CBLAS_1T, "G", lab, cpu=True)
        cpct = f"{100 * oc[0] / bc[0]:.0f}%" if bc and oc else "–"
        flag = "*" if ovh and sts[1] and ovh[0] > OVERHEAD_FLAG * sts[1][0] else ""
        form = ("T" if s["ta"] else "N") + ("T" if s["tb"] else "N")
        L.append(f"| {lab}{flag} | {s['M']}×{s['N']}×{s['K']} | {form} | {fmt(g[0])} | "
                 f"{fmt(g[1])} | {fmt(g[2])} | {pct[0]} | {pct[1]} | {cpct} |")
    return L + [""]


def ops_table(pool, labels):
    L = ["## Ops (workload O)\n",
         "Forward + backward of one op (every input's gradient; the seed a fixed random "
         "tensor), float32, µs per step (bmnn: the replayed graph). Ratio = PyTorch time / "
         "bmnn time (> 1: bmnn is faster).\n",
         "| op | bmnn | PyTorch 1 thread | PyTorch best | vs PyTorch 1t | vs PyTorch best | "
         "CPU: vs PyTorch 1t | cblas_sgemm loop 1t | bmnn vs cblas loop |",
         "|---|---|---|---|---|---|---|---|---|"]
    for lab in labels:
        bm, t1 = pool.get("bmnn", "O", lab), pool.get(TORCH_1T, "O", lab)
        best = best_of(pool, TORCH_ALL, "O", lab)
        bst = best[1] if best else None
        L.append(f"| {lab} | {cell(bm, US)} | {cell(t1, US)} | "
                 f"{cell(bst, US) + ' (' + best[0] + ')' if best else '–'} | "
                 f"{ratio(t1, bm)} | {ratio(bst, bm)} | "
                 f"{ratio(pool.get(TORCH_1T, 'O', lab, cpu=True), pool.get('bmnn', 'O', lab, cpu=True))} | "
                 f"{cell(pool.get(CBLAS_1T, 'O', lab), US)} | "
                 f"{ratio(pool.get(CBLAS_1T, 'O', lab), bm)} |")
    return L + [""]


def detail_table(pool, bm_rows):
    L = ["## bmnn detail\n",
         "| workload | replay | record | fit(epochs=1) | tape allocator calls per step "
         "(replay/record) | tape arena | params + grads + Adam state | total | max RSS |",
         "|---|---|---|---|---|---|---|---|---|"]
    kib = lambda x: f"{x / 1024:,.0f} KiB"  # noqa: E731
    for wl in MLP_W4:
        rep, rec = bm_rows.get((wl, "replay")), bm_rows.get((wl, "record"))
        if not rep or not rec:
            continue
        scale, unit = (NS_OP, " ns/op") if wl == "W4" else (US, " µs")
        m = rep.get("memory", {})
        fit = pool.get("bmnn", wl, "fit")
        state = m.get("param_bytes", 0) + m.get("grad_bytes", 0) + m.get("optim_bytes", 0)
        L.append(f"| {wl} | {fmt(pool.get('bmnn', wl, 'replay')[0] * scale)}{unit} | "
                 f"{fmt(pool.get('bmnn', wl, 'record')[0] * scale)}{unit} | "
                 f"{fmt(fit[0] * scale) + unit if fit else '–'} | "
                 f"{fmt(rep.get('allocs_per_iter'))}/{fmt(rec.get('allocs_per_iter'))} | "
                 f"{kib(m.get('arena_bytes', 0))} | {kib(state)} | "
                 f"{kib(m.get('total_bytes', 0))} | {m.get('max_rss_kib', 0) / 1024:.1f} MiB |")
    return L + [""]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bench", default=DEFAULT_BENCH, help="bmnn-bench binary (%(default)s)")
    p.add_argument("--quick", action="store_true", help="one short round")
    p.add_argument("--rounds", type=int, default=0, help="rounds per workload (3; quick 1)")
    p.add_argument("--min-time", type=float, default=None, help="seconds per timed run")
    p.add_argument("--bmnn-threads", type=int, default=0, help="pass --threads N to bmnn-bench")
    p.add_argument("--out", help="also write the markdown table here")
    p.add_argument("--only", help="these workloads (W1,W2,W3,W4,G,O; default: all)")
    p.add_argument("--serve", choices=("torch", "numpy", "cblas"), help=argparse.SUPPRESS)
    p.add_argument("--torch-threads", type=int, default=1, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.serve:
        serve(a.serve, a.torch_threads)
        return
    timing = dict(QUICK if a.quick else FULL)
    if a.rounds > 0:
        timing["rounds"] = a.rounds
    if a.min_time is not None:
        timing["min_run"] = a.min_time
    if not os.access(a.bench, os.X_OK):
        raise SystemExit(f"peer.py: no bmnn-bench at {a.bench} (build it: meson setup "
                         f"build-bench --buildtype=release && ninja -C build-bench)")
    started = datetime.datetime.now(datetime.timezone.utc)
    pool, infos, bm, bm_rows, shapes, op_labels = measure_all(a, timing)
    text = "\n".join(header(infos, bm, timing, started, a) + step_table(pool)
                     + gemm_table(pool, shapes) + ops_table(pool, op_labels)
                     + detail_table(pool, bm_rows))
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
