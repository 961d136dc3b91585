"""Full-batch training on Dask against dask-ml's `Incremental` + scikit-learn's `MLPClassifier`, same data.

A synthetic classification task (`make_classification`, N rows, D = 32 features, 5 classes, seed 0) as a
Dask array of row chunks on a LocalCluster of 2 worker processes (one thread each), with held-out rows
in memory for scoring. Compared, each for a wall-clock budget of passes over the data:

- ours: `ResidualMLPClassifier(optimizer="lbfgs")` on the Dask array: each L-BFGS iteration is one exact
  full-batch gradient, a tree reduction over the chunks (the seed's objective, not an approximation);
- dask-ml: `Incremental(MLPClassifier())`: `partial_fit` on one chunk after another, sequentially, one
  pass over the data per `fit` call (the estimator travels between workers; the data stay).

    pip install dask-ml && python benchmarks/compare_dask_ml.py [--rows 200000] [--passes 5]
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--chunk", type=int, default=25_000)
    parser.add_argument("--passes", type=int, default=5, help="passes over the data for dask-ml")
    parser.add_argument("--iterations", type=int, default=30, help="L-BFGS iterations for ours")
    args = parser.parse_args(argv)

    import dask.array as da
    from dask_ml.wrappers import Incremental
    from distributed import Client, LocalCluster
    from sklearn.datasets import make_classification
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    from residual_mlp import ResidualMLPClassifier

    X, y = make_classification(n_samples=args.rows + 20_000, n_features=32, n_informative=16, n_classes=5,
                               n_clusters_per_class=2, random_state=0)
    X = StandardScaler().fit_transform(X)
    X_train, y_train, X_test, y_test = X[:args.rows], y[:args.rows], X[args.rows:], y[args.rows:]
    rows = []
    with (LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
          Client(cluster) as client):
        Xd = da.from_array(X_train, chunks=(args.chunk, X.shape[1])).persist()
        yd = da.from_array(y_train, chunks=args.chunk).persist()
        client.wait_for_workers(2)

        started = time.perf_counter()
        ours = ResidualMLPClassifier(n_hidden=64, optimizer="lbfgs", max_iter=args.iterations, weight_decay=1e-4,
                                     input_bias=False, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours.fit(Xd, yd)
        rows.append(("ours: full-batch L-BFGS on Dask", f"{ours.n_iter_} iterations",
                     time.perf_counter() - started, ours.score(X_test, y_test)))

        started = time.perf_counter()
        peer = Incremental(MLPClassifier(hidden_layer_sizes=(64,), random_state=0), scoring="accuracy")
        for _ in range(args.passes):
            peer.fit(Xd, yd, classes=np.arange(5))
        rows.append(("dask-ml Incremental(MLPClassifier)", f"{args.passes} passes",
                     time.perf_counter() - started, float((peer.predict(X_test) == y_test).mean())))

    print(f"N = {args.rows} rows in chunks of {args.chunk}, D = 32, C = 5; 2 worker processes, 1 thread each; "
          f"held-out 20,000 rows")
    print("| method | work | wall time | held-out accuracy |")
    print("|---|---|---|---|")
    for name, work, seconds, accuracy in rows:
        print(f"| {name} | {work} | {seconds:.1f} s | {accuracy:.4f} |")


if __name__ == "__main__":
    main()
