"""`residual-mlp train`: the main job. With no options: the seed's full-batch gradient descent on digits."""
from __future__ import annotations

import os
import sys
import time

import numpy as np

from .. import data, modelfile
from ..errors import InputError
from ..model import init_params, predict
from ..modelfile import Model
from ..optim import OPTIMIZERS
from ..train import SCHEDULES, fit
from . import options

HELP = "train the network on a bundled data set or on your own file, and save the model"

# Defaults: the seed's full-batch gradient descent, tuned on the bundled digits.
HIDDEN, LR, EPOCHS = 128, 0.1, 500


def add_arguments(parser):
    source = parser.add_argument_group("data")
    source.add_argument("--data", metavar="FILE", help="training data: CSV (with a header row), NPZ "
                        "(arrays X and y) or Parquet; default: the bundled --dataset")
    source.add_argument("--target", metavar="NAME", help="the label column of a CSV/Parquet file "
                        "(default: the last column)")
    source.add_argument("--dataset", default="digits", choices=data.DATASETS,
                        help="a data set that scikit-learn bundles, used when --data is not given "
                        "(default: digits)")
    source.add_argument("--test", metavar="FILE", help="held-out test data, same format as --data")
    source.add_argument("--test-size", type=options.fraction, default=0.2, metavar="F",
                        help="fraction held out for testing when --test is not given (default: 0.2)")
    source.add_argument("--no-standardize", action="store_true",
                        help="feed the features as they are instead of standardizing them")

    net = parser.add_argument_group("network and training")
    net.add_argument("--hidden", type=options.positive_int, default=HIDDEN, metavar="M",
                     help=f"hidden width M (default: {HIDDEN})")
    net.add_argument("--epochs", type=options.positive_int, default=EPOCHS,
                     help=f"epochs; one full-batch step each by default (default: {EPOCHS})")
    net.add_argument("--lr", type=options.positive_float, default=LR,
                     help=f"learning rate alpha (default: {LR})")
    net.add_argument("--batch-size", type=options.positive_int, default=None, metavar="B",
                     help="mini-batch size (default: full batch, as in the seed)")
    net.add_argument("--optimizer", choices=OPTIMIZERS, default="gd",
                     help="update rule (default: gd, the seed's gradient descent)")
    net.add_argument("--momentum", type=options.non_negative_float, default=0.9,
                     help="momentum of 'momentum' and 'nesterov' (default: 0.9)")
    net.add_argument("--weight-decay", type=options.non_negative_float, default=0.0,
                     help="L2 penalty coefficient added to every gradient (default: 0)")
    net.add_argument("--lr-schedule", choices=SCHEDULES, default="constant",
                     help="learning-rate schedule (default: constant)")
    net.add_argument("--validation-fraction", type=options.fraction, default=None, metavar="F",
                     help="hold out this fraction of the training data for validation")
    net.add_argument("--patience", type=options.positive_int, default=None,
                     help="early stopping: epochs without improvement before stopping")
    net.add_argument("--tol", type=options.non_negative_float, default=1e-4,
                     help="improvement smaller than this counts as none (default: 1e-4)")
    net.add_argument("--seed", type=int, default=0, help="seed of weights, split and shuffling (default: 0)")
    net.add_argument("--dtype", choices=("float32", "float64"), default="float64",
                     help="floating-point type of training (default: float64)")

    out = parser.add_argument_group("output")
    out.add_argument("--out", default="model.npz", metavar="FILE", help="model file (default: model.npz)")
    out.add_argument("--plot", metavar="FILE.png", help="draw the learning curves to this image")
    out.add_argument("--plot-flow", metavar="FILE.png",
                     help="draw how gradient splits across the two skip connections over training")
    out.add_argument("--checkpoint", metavar="FILE", help="write the whole training state to this file")
    out.add_argument("--checkpoint-every", type=options.positive_int, default=10, metavar="K",
                     help="write the checkpoint every K epochs (default: 10)")
    out.add_argument("--resume", action="store_true", help="continue from --checkpoint if it exists")
    out.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args):
    _check_outputs(args)
    X, labels, names, X_test, labels_test = _load(args)
    classes, y = data.encode_labels(labels)
    if X_test is None:
        X, X_test, y, y_test = data.split(X, y, args.test_size, args.seed)
    else:
        y_test = _encode_test(classes, labels_test, args.test)
    mean = scale = None
    if not args.no_standardize:
        mean, scale = data.standardization(X)
        X, X_test = (X - mean) / scale, (X_test - mean) / scale
    dtype = np.dtype(args.dtype)
    X, X_test = X.astype(dtype), X_test.astype(dtype)
    D, C = X.shape[1], len(classes)
    params = init_params(D, args.hidden, C, seed=args.seed, dtype=dtype)
    settings = _settings(args)

    started = time.perf_counter()
    params, history = fit(params, X, y, lr=args.lr, epochs=args.epochs, batch_size=args.batch_size,
                          optimizer=args.optimizer, momentum=args.momentum,
                          weight_decay=args.weight_decay, lr_schedule=args.lr_schedule,
                          validation_fraction=args.validation_fraction, patience=args.patience,
                          tol=args.tol, seed=args.seed, record_flow=bool(args.plot_flow),
                          progress=not args.quiet)
    elapsed = time.perf_counter() - started

    from ..model import loss_and_grads
    train_loss = float(loss_and_grads(params, X, y)[0])
    test_loss = float(loss_and_grads(params, X_test, y_test)[0])
    train_acc = float(np.mean(predict(params, X) == y))
    test_acc = float(np.mean(predict(params, X_test) == y_test))
    if history.stop_reason not in ("max_epochs", "converged"):
        print(f"note: {history.message}", file=sys.stderr)
    print(f"data      {args.data or args.dataset}: {X.shape[0]} train / {X_test.shape[0]} test rows, "
          f"D={D} features, C={C} classes, M={args.hidden}")
    print(f"trained   {len(history)} epochs of {args.optimizer} in {elapsed:.2f} s ({history.stop_reason})")
    print(f"train     loss {train_loss:.4f}  accuracy {train_acc:.2%}")
    print(f"test      loss {test_loss:.4f}  accuracy {test_acc:.2%}")
    results = {"train_loss": train_loss, "train_accuracy": train_acc, "test_loss": test_loss,
               "test_accuracy": test_acc, "epochs_run": len(history), "seconds": elapsed,
               "stop_reason": history.stop_reason, "loss_curve": history.loss}
    try:
        modelfile.save(args.out, Model(params, classes, names, mean, scale, settings, results))
    except OSError as e:
        raise InputError(f"cannot write the model to {args.out}: {e.strerror or e}")
    print(f"saved     {args.out}")
    if args.plot:
        from ..plots import plot_learning_curves
        _write_figure(args.plot, plot_learning_curves, history)
    if args.plot_flow:
        from ..plots import plot_flow
        _write_figure(args.plot_flow, plot_flow, history)
    return 0


def _load(args):
    if args.data:
        X, labels, names = data.load_table(args.data, target=args.target)
    else:
        if args.target:
            raise InputError("--target applies to --data files only")
        X, labels, names = data.load_dataset(args.dataset)
    X_test = labels_test = None
    if args.test:
        if not args.data:
            raise InputError("--test needs --data: the bundled data sets are split with --test-size")
        X_test, labels_test, test_names = data.load_table(args.test, target=args.target)
        if names is not None and test_names is not None and list(test_names) != list(names):
            raise InputError(f"{args.test}: feature columns {list(test_names)} differ from those of "
                             f"{args.data} ({list(names)})")
        if X_test.shape[1] != X.shape[1]:
            raise InputError(f"{args.test}: {X_test.shape[1]} feature columns, but {args.data} has {X.shape[1]}")
    return X, labels, names, X_test, labels_test


def _encode_test(classes, labels_test, path):
    labels_test = np.asarray(labels_test)
    if labels_test.dtype.kind != classes.dtype.kind and classes.dtype.kind == "U":
        labels_test = labels_test.astype(str)
    index = np.searchsorted(classes, labels_test)
    index = np.clip(index, 0, len(classes) - 1)
    unseen = classes[index] != labels_test
    if unseen.any():
        row = int(np.argmax(unseen))
        raise InputError(f"{path}: row {row + 1} has label {labels_test[row]!r}, which the training data "
                         f"never shows")
    return index


def _settings(args):
    keys = ("hidden", "epochs", "lr", "batch_size", "optimizer", "momentum", "weight_decay", "lr_schedule",
            "validation_fraction", "patience", "tol", "seed", "dtype", "data", "target", "dataset",
            "test", "test_size")
    return {k: getattr(args, k) for k in keys}


def _check_outputs(args):
    """Fail before training, not after, when an output cannot be written."""
    for option, path in (("--out", args.out), ("--plot", args.plot), ("--plot-flow", args.plot_flow),
                         ("--checkpoint", args.checkpoint)):
        if path is None:
            continue
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path):
            raise InputError(f"{option} {path}: is a directory")
        if not os.path.isdir(folder):
            raise InputError(f"{option} {path}: the folder {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise InputError(f"{option} {path}: the folder {folder} is not writable")


def _write_figure(path, draw, history):
    figure = draw(history)
    try:
        from ..plots import save_figure
        save_figure(figure, path)
    except OSError as e:
        raise InputError(f"cannot write the figure to {path}: {e.strerror or e}")
    print(f"plotted   {path}")
