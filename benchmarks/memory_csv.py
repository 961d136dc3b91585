"""Peak memory of `residual-mlp train` on a CSV of one million rows and 64 numeric columns.

Writes the CSV into a temporary folder, runs the real command in a child process,
    residual-mlp train --data FILE --epochs 2 --batch-size 1024 --quiet --out FILE
and compares its peak resident memory, less that of a child that only imports what the command
imports, with the size of the float64 feature matrix (N x D x 8 bytes: 512 MB for the default size).
The budget is three times the matrix; the script exits 1 when the run goes over it. Then it runs
`residual-mlp predict` on the same file, which streams it: its peak should not grow with N.

    python benchmarks/memory_csv.py [--rows N] [--columns D] [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

BUDGET = 3.0  # peak above the baseline, in units of the feature matrix


def write_csv(path, rows, columns, seed=0):
    """N rows of D normal features and a label in {0, 1, 2} that depends on three of them."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        f.write(",".join([f"x{j}" for j in range(columns)] + ["label"]) + "\n")
        for start in range(0, rows, 50_000):
            X = rng.normal(size=(min(50_000, rows - start), columns))
            y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
            np.savetxt(f, np.column_stack([X, y]), fmt=["%.5f"] * columns + ["%d"], delimiter=",")


def peak_rss_of(command):
    """Peak resident memory of a command, in bytes.

    A fresh small wrapper process runs it and reads getrusage(RUSAGE_CHILDREN), so that each figure
    is the command's own (ru_maxrss is a maximum over all the children a process has waited for).
    """
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=sys.stderr); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", probe, *command], check=True, stdout=subprocess.PIPE, text=True)
    return int(done.stdout.split()[-1]) * 1024  # Linux reports KiB


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=64)
    parser.add_argument("--keep", metavar="DIR",
                        help="write the CSV here and keep it (default: a temporary folder)")
    args = parser.parse_args(argv)

    folder = args.keep or tempfile.mkdtemp(prefix="residual_mlp_memory_")
    os.makedirs(folder, exist_ok=True)
    csv_path = os.path.join(folder, f"train_{args.rows}x{args.columns}.csv")
    model_path = os.path.join(folder, "model.npz")
    predictions_path = os.path.join(folder, "predictions.csv")
    try:
        if not os.path.exists(csv_path):
            started = time.perf_counter()
            write_csv(csv_path, args.rows, args.columns)
            print(f"wrote     {csv_path} ({os.path.getsize(csv_path) / 2**20:.0f} MiB) in "
                  f"{time.perf_counter() - started:.1f} s")
        # The baseline imports what `train` imports before it reads data: the interpreter, numpy,
        # scikit-learn's splitter, the package and its command line.
        baseline = peak_rss_of([sys.executable, "-c", "import sklearn.model_selection, residual_mlp.cli as c; "
                                "c.build_parser()"])
        started = time.perf_counter()
        peak = peak_rss_of([sys.executable, "-m", "residual_mlp", "train", "--data", csv_path, "--epochs", "2",
                            "--batch-size", "1024", "--quiet", "--out", model_path])
        elapsed = time.perf_counter() - started
        predict_peak = peak_rss_of([sys.executable, "-m", "residual_mlp", "predict", "--model", model_path,
                                    "--data", csv_path, "--out", predictions_path])
    finally:
        if not args.keep:
            for path in (csv_path, model_path, predictions_path):
                if os.path.exists(path):
                    os.unlink(path)
            os.rmdir(folder)

    matrix = args.rows * args.columns * 8
    ratio = (peak - baseline) / matrix
    print(f"matrix    {args.rows} x {args.columns} float64 = {matrix / 2**20:.0f} MiB")
    print(f"baseline  {baseline / 2**20:.0f} MiB (interpreter and imports)")
    print(f"peak      {peak / 2**20:.0f} MiB, {(peak - baseline) / 2**20:.0f} MiB above the baseline "
          f"(train took {elapsed:.1f} s)")
    print(f"ratio     {ratio:.2f} x the feature matrix (budget {BUDGET:g})")
    print(f"predict   peak {predict_peak / 2**20:.0f} MiB, {(predict_peak - baseline) / 2**20:.0f} MiB above the "
          f"baseline: {(predict_peak - baseline) / matrix:.2f} x the feature matrix (streamed in blocks)")
    return 0 if ratio < BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
