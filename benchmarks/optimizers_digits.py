"""Every optimizer of `fit` on the bundled digits, each with the settings recommended for it.

Digits (1797 images of 8x8 pixels, 10 classes) is split once: stratified, 20% test, split seed 0;
the features are standardized with the training rows' mean and scale. The network has M = 128
hidden units; each optimizer trains from the same initial weights (init seeds 0 .. seeds-1). The
table gives the test accuracy (mean and standard deviation over the seeds), the final training loss,
the epochs run with the reason training stopped, and the median wall time of one fit.

The settings were chosen by a short search on a validation split of the training rows (never on
the test rows). On this data every optimizer lands within about one standard error of the others
(the test set has 360 rows: one row is 0.28%), so the table is about cost and convenience:

    gd          lr 0.5, 300 epochs (the seed's rule; lr 0.1, the CLI default, needs more epochs)
    momentum    lr 0.05, momentum 0.9, 200 epochs
    nesterov    lr 0.05, momentum 0.9, 200 epochs
    adam        lr 0.003, weight decay 1e-3, 200 epochs, full batch
    lbfgs       weight decay 1e-3, up to 200 iterations (it stops on its own convergence test)
    adam, B=64  lr 0.003, cosine schedule, weight decay 1e-3, 30 epochs of mini-batches of 64

BLAS runs on one thread by default: at these sizes (1437 x 128) threads cost more than they save,
and on a busy machine they make the timings erratic (--threads 0 keeps numpy's own setting).

    python benchmarks/optimizers_digits.py [--seeds 3] [--hidden 128] [--threads 1]
"""
from __future__ import annotations

import argparse
import platform
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from residual_mlp import fit, init_params, loss_and_grads, predict
from residual_mlp.data import standardization

RECIPES = (
    ("gd", dict(optimizer="gd", lr=0.5, epochs=300)),
    ("momentum", dict(optimizer="momentum", lr=0.05, epochs=200)),
    ("nesterov", dict(optimizer="nesterov", lr=0.05, epochs=200)),
    ("adam", dict(optimizer="adam", lr=0.003, weight_decay=1e-3, epochs=200)),
    ("lbfgs", dict(optimizer="lbfgs", weight_decay=1e-3, epochs=200)),
    ("adam, B=64", dict(optimizer="adam", lr=0.003, weight_decay=1e-3, epochs=30, batch_size=64,
                        lr_schedule="cosine")),
)


def digits():
    """Standardized, stratified 80/20 split of digits with seed 0."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
    mean, scale = standardization(X_train)
    return (X_train - mean) / scale, (X_test - mean) / scale, y_train, y_test


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="initial weights from seeds 0 .. seeds-1")
    parser.add_argument("--hidden", type=int, default=128, help="hidden width M")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (0: numpy's default)")
    args = parser.parse_args(argv)
    if args.threads:
        from threadpoolctl import threadpool_limits
        with threadpool_limits(limits=args.threads, user_api="blas"):
            run(args)
    else:
        run(args)


def run(args):

    X_train, X_test, y_train, y_test = digits()
    D, C = X_train.shape[1], int(y_train.max()) + 1
    print(f"digits: {len(y_train)} train / {len(y_test)} test rows, D={D}, C={C}, M={args.hidden}, "
          f"{args.seeds} seeds; numpy {np.__version__}, {platform.processor() or platform.machine()}, "
          f"BLAS threads: {args.threads or 'default'}")
    header = (f"{'optimizer':<12}{'test accuracy':>18}{'train loss':>12}{'epochs':>8}  "
              f"{'stopped':<12}{'time':>8}")
    print(header)
    print("-" * len(header))
    started = time.perf_counter()
    for name, recipe in RECIPES:
        accuracy, losses, epochs, reasons, seconds = [], [], [], set(), []
        for seed in range(args.seeds):
            params = init_params(D, args.hidden, C, seed=seed)
            tic = time.perf_counter()
            trained, history = fit(params, X_train, y_train, seed=seed, **recipe)
            seconds.append(time.perf_counter() - tic)
            accuracy.append(np.mean(predict(trained, X_test) == y_test))
            losses.append(float(loss_and_grads(trained, X_train, y_train)[0]))
            epochs.append(len(history))
            reasons.add(history.stop_reason)
        print(f"{name:<12}{np.mean(accuracy):>11.2%} ± {np.std(accuracy):.2%}{np.mean(losses):>12.4f}"
              f"{int(np.median(epochs)):>8}  {'/'.join(sorted(reasons)):<12}{np.median(seconds):>7.2f}s")
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
