"""peer_workers.py -- the peers' side of peer.py: one long-lived process per
setting (PyTorch, NumPy or OpenBLAS with its thread counts fixed at launch),
answering timing requests, one JSON object per line on stdin and stdout:

  {"cmd": "info"}                                -> versions, threads, OpenBLAS kernel
  {"cmd": "run", "what": "W1", "timing": {...}}  -> {"runs_s": [...], "cpu_runs_s": [...]}
  {"cmd": "run", "what": "G", "shape": {...}, "timing": {...}}   (cblas only)
  {"cmd": "run", "what": "O", "label": "...", "timing": {...}}   (torch: peer_ops.py)

Models, data and operand buffers are built on a workload's first request and
reused by later ones (later rounds continue training the same model, as
bmnn-bench's replayed step does). Timing is bench_util.c's: a warm-up of at
least WARMUP_MIN_ITERS calls and `warmup` seconds, then `reps` runs of
`iters` calls each lasting >= `min_run` seconds; wall and process CPU time.
"""
import ctypes
import json
import sys
import time

# The workloads (bench_work.c's MLPS and W4 constants).
MLPS = {
    "W1": (300, (2, 64, 3)),
    "W2": (128, (784, 128, 10)),
    "W3": (256, (784, 512, 512, 10)),
}
# workload O's batched product: batch, M, K, N (bench_ops.c).
BMM = (8, 128, 64, 128)
CHAIN_OPS = 1000
CHAIN_WIDTH = 16
CHAIN_SCALE = 1.0001
CHAIN_SHIFT = 0.0
CHAIN_LO = 0.5
LR = 1e-3
SEED = 42
WARMUP_MIN_ITERS = 3

# cblas.
CBLAS_ROW_MAJOR = 101
CBLAS_NO_TRANS = 111
CBLAS_TRANS = 112
OPENBLAS_LIB = "libopenblas.so.0"


def measure(fn, t):
    """Warm up, size the runs; per-iteration wall and CPU seconds of each run."""
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        el = time.perf_counter() - t0
        if n >= WARMUP_MIN_ITERS and el >= t["warmup"]:
            break
    iters = max(1, int(t["min_run"] / (el / n)) + 1)
    runs, cpu = [], []
    for _ in range(t["reps"]):
        s, cs = time.perf_counter(), time.process_time()
        for _ in range(iters):
            fn()
        runs.append((time.perf_counter() - s) / iters)
        cpu.append((time.process_time() - cs) / iters)
    return {"runs_s": runs, "cpu_runs_s": cpu, "iters": iters}


def openblas_info():
    """Kernel, version and threads of the OpenBLAS in this process."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {"note": "threadpoolctl not installed"}
    for p in threadpool_info():
        if p.get("internal_api") == "openblas":
            return {k: p.get(k) for k in ("architecture", "version", "num_threads",
                                          "threading_layer", "filepath")}
    return {"note": "no OpenBLAS loaded"}


class TorchPeer:
    """nn.Linear + ReLU, F.cross_entropy, Adam; and the W4 chain."""

    def __init__(self, threads):
        import torch
        self.torch = torch
        torch.set_num_threads(threads)
        torch.manual_seed(SEED)
        self.fns = {}

    def info(self):
        return dict(torch=self.torch.__version__, torch_threads=self.torch.get_num_threads(),
                    openblas=openblas_info())

    def mlp(self, batch, widths):
        torch = self.torch
        import torch.nn.functional as F
        from torch import nn
        layers = []
        for i in range(1, len(widths)):
            layers.append(nn.Linear(widths[i - 1], widths[i]))
            if i + 1 < len(widths):
                layers.append(nn.ReLU())
        model = nn.Sequential(*layers)
        opt = torch.optim.Adam(model.parameters(), lr=LR)
        x = torch.randn(batch, widths[0])
        y = torch.randint(0, widths[-1], (batch,))

        def step():
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        return step

    def chain(self):
        torch = self.torch
        x = (torch.rand(1, CHAIN_WIDTH) + CHAIN_LO).requires_grad_()

        def step():
            h = x
            for i in range(CHAIN_OPS):
                k = i % 3
                if k == 0:
                    h = h * CHAIN_SCALE
                elif k == 1:
                    h = h + CHAIN_SHIFT
                else:
                    h = torch.relu(h)
            s = h.sum()
            x.grad = None
            s.backward()
        return step

    def run(self, req):
        what = req["what"]
        if what not in self.fns:
            if what == "O":
                from peer_ops import torch_op
                self.fns[what, req["label"]] = torch_op(self.torch, req["label"])
            else:
                self.fns[what] = self.chain() if what == "W4" else self.mlp(*MLPS[what])
        fn = self.fns[what, req["label"]] if what == "O" else self.fns[what]
        return measure(fn, req["timing"])


class NumpyPeer:
    """The walk-through's NumPy network (peer_nnfs.py)."""

    def __init__(self, threads):
        import numpy as np
        self.np = np
        self.fns = {}

    def info(self):
        return dict(numpy=self.np.__version__, openblas=openblas_info())

    def run(self, req):
        from peer_nnfs import make_step
        what = req["what"]
        if what not in self.fns:
            self.fns[what] = make_step(*MLPS[what], LR, SEED)
        step, dense = self.fns[what]
        r = measure(step, req["timing"])
        assert all(d.weights.dtype == self.np.float32 for d in dense), "left float32"
        return r


class CblasPeer:
    """cblas_sgemm through ctypes, arguments converted once per shape."""

    def __init__(self, threads):
        import numpy as np
        self.np = np
        self.lib = ctypes.CDLL(OPENBLAS_LIB)
        self.lib.cblas_sgemm.restype = None
        self.rng = np.random.default_rng(SEED)
        self.fns = {}

    def info(self):
        info = dict(openblas=openblas_info())
        for fn in ("openblas_get_corename", "openblas_get_config"):
            if hasattr(self.lib, fn):
                getattr(self.lib, fn).restype = ctypes.c_char_p
                info[fn[len("openblas_get_"):]] = getattr(self.lib, fn)().decode()
        if hasattr(self.lib, "openblas_get_num_threads"):
            info["num_threads"] = self.lib.openblas_get_num_threads()
        return info

    def call_for(self, M, N, K, ta, tb, beta):
        np, c_int, c_float, c_void_p = self.np, ctypes.c_int, ctypes.c_float, ctypes.c_void_p
        bufs = [(self.rng.random(max(n, 1), dtype=np.float32) * 2 - 1)
                for n in (M * K, K * N, M * N)]
        a, b, c = bufs
        argv = (c_int(CBLAS_ROW_MAJOR), c_int(CBLAS_TRANS if ta else CBLAS_NO_TRANS),
                c_int(CBLAS_TRANS if tb else CBLAS_NO_TRANS), c_int(M), c_int(N), c_int(K),
                c_float(1.0), c_void_p(a.ctypes.data), c_int(max(M if ta else K, 1)),
                c_void_p(b.ctypes.data), c_int(max(K if tb else N, 1)), c_float(beta),
                c_void_p(c.ctypes.data), c_int(max(N, 1)))
        f = self.lib.cblas_sgemm

        def call(bufs=bufs):  # bufs keeps the operands alive
            f(*argv)
        return call

    def bmm_step(self):
        """workload O's bmm: per batch, C = A·B, then dA += G·Bᵀ and dB += Aᵀ·G."""
        B, M, K, N = BMM
        calls = [self.call_for(M, N, K, 0, 0, 0.0), self.call_for(M, K, N, 0, 1, 1.0),
                 self.call_for(K, N, M, 1, 0, 1.0)] * B

        def step():
            for c in calls:
                c()
        return step

    def run(self, req):
        if req["what"] == "O":
            if not req["label"].startswith("bmm"):
                return {"skip": True}
            if "bmm" not in self.fns:
                self.fns["bmm"] = self.bmm_step()
            return measure(self.fns["bmm"], req["timing"])
        if req["what"] == "overhead":  # a call that does nothing (M = 0)
            key, shape = "overhead", dict(M=0, N=1, K=1, ta=0, tb=0, beta=0.0)
        else:
            shape = req["shape"]
            key = shape["label"]
        if key not in self.fns:
            self.fns[key] = self.call_for(shape["M"], shape["N"], shape["K"], shape["ta"],
                                          shape["tb"], shape["beta"])
        return measure(self.fns[key], req["timing"])


PEERS = {"torch": TorchPeer, "numpy": NumpyPeer, "cblas": CblasPeer}


def serve(kind, threads):
    """Answer requests from stdin until it closes."""
    peer = PEERS[kind](threads)
    for line in sys.stdin:
        req = json.loads(line)
        out = peer.info() if req["cmd"] == "info" else peer.run(req)
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()
