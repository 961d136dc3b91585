"""Sparse against dense input: peak memory and time of `fit`, and the largest weight difference.

    python benchmarks/bench_sparse.py [--rows 20000] [--features 2000] [--density 0.01] [--hidden 64]

A random CSR matrix (a TF-IDF-like density) and its dense copy train the same network, in one BLAS
thread: full-batch gradient descent (sparse: summed over blocks of rows), L-BFGS, and mini-batch Adam
(sparse: each batch densified). Peak memory is what tracemalloc sees numpy allocate during `fit` (the
inputs, made before, are not counted; their sizes are printed).
"""
from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

import residual_mlp as rm
from residual_mlp import resources, sparse


def measure(params, X, y, options):
    tracemalloc.start()
    start = time.perf_counter()
    trained, history = rm.fit(params, X, y, **options)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return trained, elapsed, peak, history


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--features", type=int, default=2_000)
    parser.add_argument("--density", type=float, default=0.01)
    parser.add_argument("--hidden", type=int, default=64)
    args = parser.parse_args()
    N, D, M, C = args.rows, args.features, args.hidden, 10
    rng = np.random.default_rng(0)
    per_row = max(1, round(args.density * D))
    X = sp.csr_matrix((rng.random(N * per_row), rng.integers(0, D, N * per_row), np.arange(N + 1) * per_row),
                      shape=(N, D))
    X.sum_duplicates()
    y = rng.integers(0, C, N)
    dense = X.toarray()
    params = rm.init_params(D, M, C, seed=0)
    print(f"N={N} D={D} M={M} C={C}: sparse X {resources.format_bytes(sparse.nbytes(X))} "
          f"({X.nnz} stored), dense X {resources.format_bytes(dense.nbytes)}, weights "
          f"{resources.format_bytes(8 * resources.weight_count(D, M, C))}, block "
          f"{sparse.block_rows(D, M, C, np.float64)} rows")
    runs = {"full-batch gd, 3 epochs": dict(optimizer="gd", lr=0.1, epochs=3),
            "lbfgs, 3 iterations": dict(optimizer="lbfgs", epochs=3),
            "adam, batch 256, 1 epoch": dict(optimizer="adam", lr=1e-3, epochs=1, batch_size=256, seed=0)}
    print(f"{'run':<26} {'dense s':>8} {'sparse s':>9} {'dense peak':>11} {'sparse peak':>12} {'max |dW| rel':>13}")
    with threadpool_limits(1):
        for name, options in runs.items():
            a, t_dense, peak_dense, _ = measure(params, dense, y, options)
            b, t_sparse, peak_sparse, _ = measure(params, X, y, options)
            diff = max(float(np.max(np.abs(A - B)) / np.max(np.abs(A))) for A, B in zip(a, b))
            print(f"{name:<26} {t_dense:8.2f} {t_sparse:9.2f} {resources.format_bytes(peak_dense):>11} "
                  f"{resources.format_bytes(peak_sparse):>12} {diff:13.2e}")


if __name__ == "__main__":
    main()
