"""Peak memory of a training step of `fit` against the minimum it needs, and proof it does not grow.

    python benchmarks/bench_memory.py [--quick] [--sizes 4 | NxDxMxC,...] [--dtypes float64]

Minimum of a step: the weights, their gradients, and the activations backward reads (z, s of shape
(N, D); t, p, r of shape (N, M); dtheta of shape (N, C)); the data X, y are the caller's and are
not counted. Measured:

- peak: the largest amount of memory numpy held during `fit(epochs=3)` beyond what existed before
  (X, y, the initial weights), from tracemalloc (numpy reports its allocations to it); and the
  process's peak resident memory (VmHWM, reset just before `fit`) beyond its resident size then,
  which also sees what tracemalloc cannot (BLAS work buffers, page rounding). Each (size, dtype)
  runs in a fresh process.
- the same peak for one step written plainly with model.loss_and_grads, for comparison.
- growth: the memory numpy holds at the end of every epoch, over many full-batch steps and over
  mini-batch epochs with a short last batch; what remains is attributed to source lines.

Goal: peak within 1.3x of the minimum. Writes benchmarks/results/bench_memory.json.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import linecache
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_step import ROOT, SIZES, data, machine  # noqa: E402

from residual_mlp import model, train  # noqa: E402

MiB = 2.0 ** 20
NUMPY = tracemalloc.DomainFilter(True, 389047)  # numpy traces its array data in this domain


def minimum_bytes(N, D, M, C, dtype):
    """Weights + gradients + the activations backward reads: z, s (N, D); t, p, r (N, M); dtheta (N, C)."""
    weights = D * D + M * D + M * M + C * M
    return np.dtype(dtype).itemsize * (2 * weights + N * (2 * D + 3 * M + C))


def status_bytes(field):
    """VmRSS (resident now) or VmHWM (resident high-water mark) of this process, in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def start_rss_watch():
    """Give freed heap back to the system and reset the high-water mark; returns resident bytes now."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    with open("/proc/self/clear_refs", "w") as f:  # "5": reset VmHWM to VmRSS (Linux >= 4.0)
        f.write("5")
    return status_bytes("VmRSS")


def peak_of(run):
    """(peak numpy bytes above the start, bytes still held at the end) while `run()` runs."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        run()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before, current - before


def child(N, D, M, C, dtype):
    """One measurement in this (fresh) process; prints a JSON line."""
    X, y = data(N, D, C, dtype)
    params = model.init_params(D, M, C, seed=0, dtype=dtype)
    rss_before = start_rss_watch()
    per_epoch = []

    def record(state):
        per_epoch.append(tracemalloc.get_traced_memory()[0])

    fit_peak, _ = peak_of(lambda: train.fit(params, X, y, lr=1e-3, epochs=3, callback=record))
    rss_peak = status_bytes("VmHWM") - rss_before

    def reference_step():
        loss, grads = model.loss_and_grads(params, X, y)
        return [W - 1e-3 * dW for W, dW in zip(params, grads)]

    reference_peak, _ = peak_of(reference_step)
    print(json.dumps({"N": N, "D": D, "M": M, "C": C, "dtype": dtype,
                      "minimum": int(minimum_bytes(N, D, M, C, dtype)), "fit_peak": fit_peak,
                      "fit_rss_peak": rss_peak, "reference_peak": reference_peak,
                      "held_after_epoch": [b - per_epoch[0] for b in per_epoch]}))


def growth(N, D, M, C, dtype, epochs, batch_size=None):
    """Memory held after each epoch of one fit: numpy's arrays apart from other Python objects, and
    the source lines that hold whatever was added from epoch 2 to the last."""
    X, y = data(N, D, C, dtype)
    params = model.init_params(D, M, C, seed=0, dtype=dtype)
    snapshots = []
    tracemalloc.start()
    try:
        train.fit(params, X, y, lr=1e-3, epochs=epochs, batch_size=batch_size, seed=0,
                  callback=lambda state: snapshots.append(tracemalloc.take_snapshot()))
    finally:
        tracemalloc.stop()
    # snapshots hold only what was allocated while tracing, so the benchmark's own objects are left out
    mine = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__)]
    snapshots = [snapshot.filter_traces(mine) for snapshot in snapshots]
    arrays = [sum(t.size for t in s.filter_traces([NUMPY]).traces) for s in snapshots]
    objects = [sum(t.size for t in s.traces) - a for s, a in zip(snapshots, arrays)]
    lines = []
    for stat in snapshots[-1].compare_to(snapshots[1], "lineno")[:8]:
        if stat.size_diff:
            frame = stat.traceback[0]
            code = linecache.getline(frame.filename, frame.lineno).strip()
            lines.append(f"{stat.size_diff:+d} B  {Path(frame.filename).name}:{frame.lineno}  {code}")
    steps = epochs * (1 if batch_size is None else -(-N // batch_size))
    return {"N": N, "D": D, "M": M, "C": C, "dtype": dtype, "batch_size": batch_size,
            "epochs": epochs, "steps": steps, "arrays_after_epoch": arrays,
            "objects_after_epoch": objects, "growth_by_line": lines}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="size 1024x784x256x10 instead of the largest")
    parser.add_argument("--sizes", help="indices into bench_step's sizes (0-4) or NxDxMxC; default 4")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "bench_memory.json"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        *dims, dtype = args.child.split(",")
        child(*map(int, dims), dtype)
        return
    if args.sizes:
        sizes = [tuple(map(int, s.split("x"))) if "x" in s else SIZES[int(s)] for s in args.sizes.split(",")]
    else:
        sizes = [SIZES[2] if args.quick else SIZES[4]]
    dtypes = args.dtypes.split(",")
    peaks = []
    for N, D, M, C in sizes:
        for dtype in dtypes:
            out = subprocess.run([sys.executable, __file__, "--child", f"{N},{D},{M},{C},{dtype}"],
                                 capture_output=True, text=True, check=True).stdout
            peaks.append(json.loads(out.strip().splitlines()[-1]))
    head = (f"{'N':>5} {'D':>5} {'M':>5} {'C':>3} {'dtype':8} {'minimum':>10} {'fit peak':>18} "
            f"{'fit peak RSS':>18} {'plain step':>18} {'bytes held, epochs 1..3':>24}")
    lines = [head, "-" * len(head)]
    for r in peaks:
        lo = r["minimum"]
        cells = [f"{r[k] / MiB:8.1f} MiB {r[k] / lo:5.3f}x" for k in ("fit_peak", "fit_rss_peak", "reference_peak")]
        lines.append(f"{r['N']:>5} {r['D']:>5} {r['M']:>5} {r['C']:>3} {r['dtype']:8} {lo / MiB:6.1f} MiB "
                     + " ".join(f"{c:>18}" for c in cells) + f" {str(r['held_after_epoch']):>24}")
    table = "\n".join(lines)
    print(table)
    n = 2048 if args.quick else 8192
    runs = [growth(256, 64, 128, 10, dtypes[-1], epochs=200 if not args.quick else 50),
            growth(n, 784, 256, 10, dtypes[-1], epochs=6, batch_size=100)]
    for g in runs:
        kind = "full batch" if g["batch_size"] is None else f"batch {g['batch_size']} (last {g['N'] % g['batch_size']})"
        arrays, objects = g["arrays_after_epoch"], g["objects_after_epoch"]
        print(f"growth, {g['N']}x{g['D']}x{g['M']}x{g['C']} {g['dtype']} {kind}, {g['steps']} steps in "
              f"{g['epochs']} epochs: numpy arrays held after each epoch {arrays[0]} B, then "
              f"{arrays[-1] - arrays[0]:+d} B by the last; other objects {objects[-1] - objects[1]:+d} B "
              f"from epoch 2 to {g['epochs']} ({(objects[-1] - objects[1]) / (g['epochs'] - 2):.0f} B per epoch):")
        for line in g["growth_by_line"]:
            print("    " + line)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), "command": " ".join(sys.argv), "peaks": peaks,
                               "growth": runs, "table": table}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
