#!/usr/bin/env python3
"""NumPy reads what bmnn's bm_npz_save/bm_npy_save write and bmnn reads what
np.savez/np.save write, values bit for bit (tests/npz_check.c prints each
tensor's bits). Usage: npz_check.py NPZ_CHECK_EXE TMPDIR. Exit 77 (skip)
without NumPy."""
import os
import subprocess
import sys

try:
    import numpy as np
except ImportError:
    print("numpy is not installed: skipped")
    sys.exit(77)

exe, tmp = sys.argv[1], sys.argv[2]
os.makedirs(tmp, exist_ok=True)
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)


def bits(a):
    a = np.ascontiguousarray(a)
    u = {4: "<u4", 8: "<u8"}[a.dtype.itemsize]
    width = 2 * a.dtype.itemsize
    return " ".join(format(int(v), "0%dx" % width)
                    for v in a.astype(a.dtype.newbyteorder("<")).view(u).ravel())


def run(*args, want=0):
    p = subprocess.run([exe, *args], capture_output=True, text=True)
    check(p.returncode == want, "%s: exit %d, want %d (%s)" % (args, p.returncode, want, p.stderr))
    return p


def parsed(out):
    rows = {}
    for line in out.splitlines():
        name, dt, shape, b = line.split("|")
        rows[name] = (dt, tuple(int(d) for d in shape.split(",")) if shape else (), b)
    return rows


def same(name, arr, row):
    dt, shape, b = row
    check({"f32": np.float32, "f64": np.float64}[dt] == arr.dtype.type,
          "%s: dtype %s vs %s" % (name, arr.dtype, dt))
    check(arr.shape == shape, "%s: shape %s vs %s" % (name, arr.shape, shape))
    check(bits(arr) == b, "%s: bits differ" % name)


# bmnn writes, NumPy reads
path = os.path.join(tmp, "bmnn.npz")
rows = parsed(run("write", path).stdout)
with np.load(path) as z:
    check(sorted(z.files) == sorted(rows), "entries %s vs %s" % (z.files, list(rows)))
    for name in rows:
        same(name, z[name], rows[name])
path = os.path.join(tmp, "bmnn.npy")
rows = parsed(run("npy-write", path).stdout)
same("array", np.load(path), rows["array"])

# NumPy writes, bmnn reads (a big-endian array, a scalar, 1-D and 4-D)
rng = np.random.default_rng(5)
arrays = {
    "w": rng.standard_normal((7, 3)).astype(np.float32),
    "b": rng.standard_normal(9),
    "s": np.float64(np.pi),
    "big_endian": rng.standard_normal((2, 2)).astype(">f8"),
    "four": rng.standard_normal((2, 3, 1, 2)).astype(np.float32),
}
arrays["w"][0, 0] = -0.0
arrays["b"][1] = 5e-324
path = os.path.join(tmp, "numpy.npz")
np.savez(path, **arrays)
rows = parsed(run("read", path).stdout)
check(sorted(rows) == sorted(arrays), "read entries %s" % list(rows))
for name, a in arrays.items():
    if name in rows:
        same(name, np.asarray(a), rows[name])
path = os.path.join(tmp, "numpy.npy")
np.save(path, arrays["w"])
same("array", arrays["w"], parsed(run("npy-read", path).stdout)["array"])

# what bmnn refuses: compressed archives, Fortran order, other dtypes
path = os.path.join(tmp, "compressed.npz")
np.savez_compressed(path, a=arrays["w"])
check("compressed" in run("read", path, want=1).stderr, "compressed archive refused by name")
path = os.path.join(tmp, "fortran.npy")
np.save(path, np.asfortranarray(rng.standard_normal((3, 2))))
check("Fortran order" in run("npy-read", path, want=1).stderr, "Fortran order refused")
path = os.path.join(tmp, "int.npz")
np.savez(path, i=np.arange(4))
check("unsupported dtype '<i8'" in run("read", path, want=1).stderr, "int64 refused")

print("%d failures" % failures)
sys.exit(1 if failures else 0)
