"""BLAS threads for training: one thread, all cores, and the count `fit` chooses, at a small and a large size.

Each case times `residual_mlp.fit` (best of 3) with n_threads=1, n_threads=None-with-all-cores (the
library's BLAS default) and the automatic choice (`threads.blas_threads`). `--busy` runs a second copy of
the same measurement at the same time, as two jobs sharing the cores would.

    python benchmarks/bench_threads.py [--busy]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np
from threadpoolctl import threadpool_info

import residual_mlp as rm
from residual_mlp import threads

CASES = {  # name: (N, D, M, C, batch_size, epochs)
    "small (digits-sized, batch 64)": (1437, 64, 128, 10, 64, 5),
    "large (4096 x 784 -> 1024, full batch)": (4096, 784, 1024, 10, None, 3),
}


def measure(N, D, M, C, batch_size, epochs, n_threads):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(N, D)), rng.integers(0, C, N)
    params = rm.init_params(D, M, C, seed=0)
    best = np.inf
    for _ in range(3):
        started = time.perf_counter()
        rm.fit(params, X, y, lr=1e-3, epochs=epochs, batch_size=batch_size, optimizer="adam", seed=0,
               n_threads=n_threads)
        best = min(best, time.perf_counter() - started)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", action="store_true", help="run a second copy at the same time")
    parser.add_argument("--quiet-copy", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    cores = max(info.get("num_threads", 1) for info in threadpool_info() if info.get("user_api") == "blas")
    other = None
    if args.busy:
        other = subprocess.Popen([sys.executable, __file__, "--quiet-copy"], stdout=subprocess.DEVNULL)
    rows = []
    for name, (N, D, M, C, B, epochs) in CASES.items():
        chosen = threads.blas_threads(N if B is None else B, D, M)
        times = {k: measure(N, D, M, C, B, epochs, n) for k, n in (("1", 1), (str(cores), cores))}
        rows.append((name, chosen or cores, times["1"], times[str(cores)]))
    if other is not None:
        other.wait()
    if args.quiet_copy:
        return
    print(f"machine: {os.cpu_count()} CPUs, BLAS threads by default {cores}; "
          f"{'busy: a second copy ran at the same time' if args.busy else 'quiet'}")
    print(f"| case | fit chooses | 1 thread | {cores} threads | {cores} threads / 1 thread |")
    print("|---|---|---|---|---|")
    for name, chosen, one, many in rows:
        print(f"| {name} | {chosen} | {one:.3f} s | {many:.3f} s | {many / one:.2f}x |")


if __name__ == "__main__":
    main()
