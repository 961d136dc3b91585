"""ResidualMLPClassifier against scikit-learn's MLPClassifier, both with their default settings.

Each data set is split once (stratified, 25% test, split seed 0) and standardized on the training
rows; both classifiers then train with random_state 0 .. seeds-1 on the same rows. The table gives
the test accuracy (mean and standard deviation over the seeds), the epochs run and the median fit time.

    python benchmarks/compare_sklearn.py [--datasets digits wine breast_cancer] [--seeds 5]
"""
from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np
import sklearn
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from residual_mlp import ResidualMLPClassifier

DATASETS = ("digits", "wine", "breast_cancer", "iris")


def split(name):
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def measure(make, X_train, X_test, y_train, y_test, seeds):
    """(accuracies, epochs, fit seconds), one entry per seed."""
    accuracy, epochs, seconds = [], [], []
    for seed in range(seeds):
        est = make(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            started = time.perf_counter()
            est.fit(X_train, y_train)
            seconds.append(time.perf_counter() - started)
        accuracy.append(est.score(X_test, y_test))
        epochs.append(est.n_iter_)
    return np.array(accuracy), np.array(epochs), np.array(seconds)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=["digits", "wine", "breast_cancer"])
    parser.add_argument("--seeds", type=int, default=5, help="random_state 0 .. seeds-1 (default: 5)")
    args = parser.parse_args(argv)

    contenders = {
        "ResidualMLPClassifier()": lambda seed: ResidualMLPClassifier(random_state=seed),
        "MLPClassifier()": lambda seed: MLPClassifier(random_state=seed),
    }
    print(f"python {platform.python_version()}, numpy {np.__version__}, scikit-learn {sklearn.__version__}, "
          f"{args.seeds} seeds\n")
    print("| data set | N train / test | D | C | classifier | test accuracy | epochs | fit time (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.datasets:
        X_train, X_test, y_train, y_test = split(name)
        shape = f"{len(X_train)} / {len(X_test)}"
        for label, make in contenders.items():
            acc, epochs, seconds = measure(make, X_train, X_test, y_train, y_test, args.seeds)
            print(f"| {name} | {shape} | {X_train.shape[1]} | {len(np.unique(y_train))} | {label} | "
                  f"{acc.mean():.4f} ± {acc.std():.4f} | {np.median(epochs):.0f} | {np.median(seconds):.3f} |",
                  flush=True)


if __name__ == "__main__":
    main()
