"""Time of one full-batch step on Dask against N, on 1 and 2 workers, with the in-memory step for reference.

For each N: the in-memory step (`train.fit`, one epoch of full-batch gradient descent) and `fit_dask`
on a LocalCluster of k = 1 and 2 worker processes (one thread each, data persisted on the workers,
one chunk per `--chunk` rows). A step's time is the median of the per-epoch differences of
`history.elapsed`. Bytes moved per step are measured on the workers (`transfer_outgoing_bytes_total`,
the partial sums sent back) and given by the model: B chunks x (3 + P) float64 back, k x P weights
out (P = D^2 + MD + M^2 + CM).

    python benchmarks/bench_dask.py                  # N = 25k, 100k, 400k; D = 64, M = 64, C = 10
    python benchmarks/bench_dask.py --quick          # N = 25k, 100k
Writes benchmarks/results/bench_dask.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from residual_mlp import model, train
from residual_mlp.dask_training import fit_dask


def step_seconds(history):
    return statistics.median(np.diff(history.elapsed))


def in_memory(params, X, y, epochs):
    _, history = train.fit(params, X, y, lr=0.1, epochs=epochs)
    return step_seconds(history)


def on_dask(params, X, y, k, chunk, epochs):
    from distributed import Client, LocalCluster

    with (LocalCluster(n_workers=k, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
          Client(cluster) as client):
        client.wait_for_workers(k)
        Xd, yd = X.rechunk((chunk, X.shape[1])), y.rechunk(chunk)  # made on the workers, persisted there
        fit_dask(params, Xd, yd, lr=0.1, epochs=2, client=client)  # warm up the workers

        def sent():
            return sum(client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total).values())

        before = sent()
        started = time.perf_counter()
        _, history, _ = fit_dask(params, Xd, yd, lr=0.1, epochs=epochs, client=client)
        wall = time.perf_counter() - started
        moved = (sent() - before) / epochs
    return step_seconds(history), wall / epochs, moved, Xd.numblocks[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", default=None, help="comma-separated N")
    parser.add_argument("--dims", default="64,64,10", help="D,M,C")
    parser.add_argument("--chunk", type=int, default=25_000, help="rows per chunk")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "bench_dask.json"))
    args = parser.parse_args(argv)
    sizes = ([int(n) for n in args.sizes.split(",")] if args.sizes else
             [25_000, 100_000] if args.quick else [25_000, 100_000, 400_000])
    D, M, C = (int(v) for v in args.dims.split(","))
    P = D * D + M * D + M * M + C * M
    rows = []
    print(f"D={D} M={M} C={C} float64, P={P} weights, chunks of {args.chunk} rows, {args.epochs} steps each")
    print(f"{'N':>8} {'in-memory':>10} {'k=1':>10} {'k=2':>10} {'chunks':>7} {'moved/step k=2':>15} "
          f"{'model':>10}")
    for N in sizes:
        import dask.array as da

        rng = da.random.default_rng(0)
        Xd = rng.standard_normal((N, D), chunks=(args.chunk, D))
        yd = rng.integers(0, C, N, chunks=args.chunk)
        X, y = Xd.compute(scheduler="threads"), yd.compute(scheduler="threads")  # the in-memory copy
        params = model.init_params(D, M, C, seed=0)
        row = {"N": N, "D": D, "M": M, "C": C, "chunk": args.chunk,
               "in_memory_s": in_memory(params, X, y, args.epochs)}
        for k in (1, 2):
            step, wall, moved, blocks = on_dask(params, Xd, yd, k, args.chunk, args.epochs)
            row[f"k{k}_step_s"], row[f"k{k}_wall_per_step_s"], row[f"k{k}_bytes_moved"] = step, wall, moved
            row["chunks"] = blocks
        row["model_bytes_k2"] = blocks * (3 + P) * 8 + 2 * P * 8
        rows.append(row)
        print(f"{N:>8} {row['in_memory_s']:>9.3f}s {row['k1_step_s']:>9.3f}s {row['k2_step_s']:>9.3f}s "
              f"{blocks:>7} {row['k2_bytes_moved'] / 1e6:>12.2f} MB {row['model_bytes_k2'] / 1e6:>7.2f} MB")
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"rows": rows}, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
