"""Time and peak memory of reading a CSV of one million rows and 64 numeric columns.

Writes the CSV into a temporary folder (and a copy whose first label is the unquoted text `15" big`,
one stray quote), then in a fresh child process each:

    read      data.read_table(FILE): the whole table as a DataFrame over one float64 matrix
    stray     the same on the copy with the stray quote: it must cost nothing extra
    stream    data.iter_table(FILE): the blocks `predict` streams; its peak must not grow with N

and prints each one's time and its peak resident memory above a baseline (a child that imports the
same modules and reads a tiny CSV first), as a ratio to the float64 feature matrix (N x D x 8 bytes:
512 MB for the default size). The budget for `read` is 1.5 times the matrix; the script exits 1
when it goes over it.

--old-src DIR runs the same reads with the package found in DIR (for example a checkout of an
earlier version, whose reader was `data.load_table`), for a comparison; its stray-quote run stops
after --old-timeout seconds.

    python benchmarks/memory_csv.py [--rows N] [--columns D] [--keep DIR] [--old-src DIR]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

BUDGET = 1.5  # peak above the baseline, in units of the feature matrix

CHILD = r"""
import sys, time
from residual_mlp import data
import pandas, pyarrow.csv  # imported before the baseline is taken

def status(key):  # this process's own figures: ru_maxrss would carry the parent's over fork and exec
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key)) * 1024

mode, path, small = sys.argv[1:4]
new = hasattr(data, "read_table")
# a first small read loads every module the reader uses and sets up its memory pools
data.read_table(small) if new else data.load_table(small)
before = status("VmRSS")
started = time.perf_counter()
if mode == "stream":
    rows = sum(len(block) for block in data.iter_table(path))
elif new:
    rows = len(data.read_table(path).labels)
else:
    rows = len(data.load_table(path)[1])
print(rows, time.perf_counter() - started, status("VmHWM") - before)
"""


def write_csv(path, rows, columns, seed=0):
    """N rows of D normal features and a label in {0, 1, 2} that depends on three of them."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        f.write(",".join([f"x{j}" for j in range(columns)] + ["label"]) + "\n")
        for start in range(0, rows, 50_000):
            X = rng.normal(size=(min(50_000, rows - start), columns))
            y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
            np.savetxt(f, np.column_stack([X, y]), fmt=["%.5f"] * columns + ["%d"], delimiter=",")


def with_stray_quote(path, out):
    """A copy of the CSV whose first data row's label is the unquoted text 15" big."""
    with open(path, "rb") as source, open(out, "wb") as sink:
        sink.write(source.readline())
        first = source.readline()
        sink.write(first[:first.rindex(b",") + 1] + b'15" big\n')
        shutil.copyfileobj(source, sink, 16 << 20)


def run(mode, path, small, src, timeout=None):
    """(rows, seconds, peak bytes above the child's baseline), or None when it ran past timeout."""
    env = dict(os.environ, PYTHONPATH=src)
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, mode, path, small], env=env, check=True,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    rows, seconds, peak = done.stdout.split()
    return int(rows), float(seconds), int(peak)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=64)
    parser.add_argument("--keep", metavar="DIR", help="write the CSVs here and keep them (default: a temporary folder)")
    parser.add_argument("--old-src", metavar="DIR", help="also time the reader of the package in DIR")
    parser.add_argument("--old-timeout", type=float, default=300.0)
    args = parser.parse_args(argv)

    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    folder = args.keep or tempfile.mkdtemp(prefix="residual_mlp_memory_")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"train_{args.rows}x{args.columns}.csv")
    stray = os.path.join(folder, f"stray_{args.rows}x{args.columns}.csv")
    small = os.path.join(folder, "small.csv")
    matrix = args.rows * args.columns * 8
    try:
        if not os.path.exists(path):
            write_csv(path, args.rows, args.columns)
        if not os.path.exists(stray):
            with_stray_quote(path, stray)
        with open(small, "w") as f:
            f.write("a,b,label\n1,2.5,x\n3,4.5,y\n")
        print(f"file      {path} ({os.path.getsize(path) / 2**20:.0f} MiB); matrix {args.rows} x {args.columns} "
              f"float64 = {matrix / 2**20:.0f} MiB")
        results = {}
        runs = [("read", path, src, None), ("stray", stray, src, None), ("stream", path, src, None)]
        if args.old_src:
            runs += [("old read", path, args.old_src, None), ("old stray", stray, args.old_src, args.old_timeout)]
        for name, file, package, timeout in runs:
            mode = "stream" if name == "stream" else "read"
            result = run(mode, file, small, package, timeout)
            results[name] = result
            if result is None:
                print(f"{name:9} did not finish in {timeout:.0f} s")
                continue
            rows, seconds, peak = result
            print(f"{name:9} {seconds:6.1f} s  peak {peak / 2**20:6.0f} MiB above the baseline = "
                  f"{peak / matrix:.2f} x the matrix  ({rows} rows)")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    ratio = results["read"][2] / matrix
    print(f"read: {ratio:.2f} x the matrix (budget {BUDGET:g}); stray quote: {results['stray'][1]:.1f} s against "
          f"{results['read'][1]:.1f} s")
    return 0 if ratio < BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
