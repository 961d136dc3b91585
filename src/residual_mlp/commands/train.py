"""`residual-mlp train`: the main job. With no options: the seed's full-batch gradient descent on digits."""
from __future__ import annotations

import os
import sys
import time

import numpy as np

from .. import data, modelfile
from ..errors import InputError
from ..model import init_params
from ..modelfile import Model
from ..optim import OPTIMIZERS
from ..train import SCHEDULES, fit
from . import options
from .evaluate import loss_and_accuracy

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
    net.add_argument("--momentum", type=options.momentum, default=0.9,
                     help="momentum of 'momentum' and 'nesterov', in [0, 1) (default: 0.9)")
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
    net.add_argument("--seed", type=options.seed, default=0,
                     help="seed of weights, split and shuffling (default: 0)")
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
    # The data path works in place where it can: the split gathers the training rows inside X's own
    # memory and scaling overwrites them, so the peak stays near the size of the feature matrix.
    if X_test is None:
        X, X_test, y, y_test = data.split(X, y, args.test_size, args.seed, overwrite=True)
    else:
        y_test = _encode_test(classes, labels_test, args.test, args.target)
    _check_validation_fraction(args.validation_fraction, y)
    mean = scale = None
    if not args.no_standardize:
        mean, scale = data.standardization(X, lambda j: _column_place(args, names, j))
        data.standardize(X, mean, scale)
        data.standardize(X_test, mean, scale)
    dtype = np.dtype(args.dtype)
    X, X_test = X.astype(dtype, copy=False), X_test.astype(dtype, copy=False)
    D, C = X.shape[1], len(classes)
    params = init_params(D, args.hidden, C, seed=args.seed, dtype=dtype)
    settings = _settings(args)

    started = time.perf_counter()
    try:
        params, history = fit(params, X, y, lr=args.lr, epochs=args.epochs, batch_size=args.batch_size,
                              optimizer=args.optimizer, momentum=args.momentum,
                              weight_decay=args.weight_decay, lr_schedule=args.lr_schedule,
                              validation_fraction=args.validation_fraction, patience=args.patience,
                              tol=args.tol, seed=args.seed, record_flow=bool(args.plot_flow),
                              progress=not args.quiet, **_checkpointing(args, X, y))
    except ValueError as e:  # fit's own check of the options, e.g. lbfgs with --batch-size
        raise InputError(str(e)) from None
    elapsed = time.perf_counter() - started

    train_loss, train_acc = loss_and_accuracy(params, X, y)  # a block of rows at a time
    test_loss, test_acc = loss_and_accuracy(params, X_test, y_test)
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
    except ValueError as e:  # a model that could not be loaded back, e.g. a non-finite scaling
        raise InputError(f"cannot write the model to {args.out}: {e}") from None
    print(f"saved     {args.out}")
    if args.plot is not None:
        from ..plots import plot_learning_curves
        _write_figure(args.plot, plot_learning_curves, history)
    if args.plot_flow is not None:
        from ..plots import plot_flow
        _write_figure(args.plot_flow, plot_flow, history)
    return 0


def _load(args):
    if args.data is not None:
        options.check_input("--data", args.data)
        X, labels, names = data.load_table(args.data, target=args.target)
    else:
        if args.target is not None:
            raise InputError("--target applies to --data files only")
        X, labels, names = data.load_dataset(args.dataset)
    X_test = labels_test = None
    if args.test is not None:
        options.check_input("--test", args.test)
        if args.data is None:
            raise InputError("--test needs --data: the bundled data sets are split with --test-size")
        X_test, labels_test, test_names = data.load_table(args.test, target=args.target)
        if names is not None and test_names is not None and list(test_names) != list(names):
            raise InputError(f"{args.test}: the feature columns ({', '.join(test_names)}) differ from those of "
                             f"{args.data} ({', '.join(names)})")
        if X_test.shape[1] != X.shape[1]:
            raise InputError(f"{args.test}: {X_test.shape[1]} feature columns, but {args.data} has {X.shape[1]}")
    return X, labels, names, X_test, labels_test


def _encode_test(classes, labels_test, path, target):
    return data.encode_with(classes, labels_test, lambda i: data.label_place(path, i + 1, target))


def _column_place(args, names, j):
    """Feature column j of the training data, for a message."""
    if args.data is None:
        return f"the {args.dataset} data set, feature {names[j]!r}"
    if names is None:
        return f"{args.data}: X[:, {j}]"
    return f"{args.data}, column {names[j]!r}"


def _check_validation_fraction(fraction, y):
    """InputError, before training, when --validation-fraction leaves a side without a row of some class.

    fit holds out ceil(fraction N) rows with scikit-learn's stratified split, as data.split does.
    """
    if fraction is None:
        return
    N, C = y.shape[0], int(y.max()) + 1
    n_val = int(np.ceil(fraction * N))
    if n_val < C or N - n_val < C:
        raise InputError(f"--validation-fraction {fraction:g}: too few training rows ({N}) for a validation "
                         f"split with {C} classes: each side needs at least one row per class")


def _settings(args):
    keys = ("hidden", "epochs", "lr", "batch_size", "optimizer", "momentum", "weight_decay", "lr_schedule",
            "validation_fraction", "patience", "tol", "seed", "dtype", "data", "target", "dataset",
            "test", "test_size")
    return {k: getattr(args, k) for k in keys}


def _check_outputs(args):
    """Fail before training, not after, when an output cannot be written."""
    inputs = [("--data", args.data), ("--test", args.test)]
    for option, path in (("--out", args.out), ("--plot", args.plot), ("--plot-flow", args.plot_flow),
                         ("--checkpoint", args.checkpoint)):
        if path is not None:
            options.check_output(option, path, inputs)
    for option, path in (("--plot", args.plot), ("--plot-flow", args.plot_flow)):
        if path is not None:
            from ..plots import image_format
            image_format(path)  # an extension matplotlib cannot write fails here, not after training


def _write_figure(path, draw, history):
    figure = draw(history)
    try:
        from ..plots import save_figure
        save_figure(figure, path)
    except OSError as e:
        raise InputError(f"cannot write the figure to {path}: {e.strerror or e}")
    print(f"plotted   {path}")


# --checkpoint, --checkpoint-every, --resume

# The options whose values shape the trained weights: resuming under other values would not continue
# the same run. --epochs may grow (except under the cosine schedule, which spreads over all epochs).
# The training rows themselves are compared by content (_data_digest), so a moved file still resumes
# and an edited one does not.
_RESUME_OPTIONS = ("hidden", "lr", "batch_size", "optimizer", "momentum", "weight_decay", "lr_schedule",
                   "validation_fraction", "patience", "tol", "seed", "dtype", "dataset", "target",
                   "test_size", "no_standardize")


def _checkpointing(args, X, y):
    """fit's `callback` and `resume` for --checkpoint FILE, --checkpoint-every K and --resume.

    The checkpoint (see `checkpoint.py`) is written atomically every K epochs and after the last one,
    so a run killed at any moment resumes from a whole checkpoint and ends with the weights of an
    uninterrupted run, bit for bit (L-BFGS excepted: its memory restarts). The file is kept when the
    run ends, so that a later --resume with a larger --epochs continues from it. The epoch at which
    early stopping ends a run is not written: resuming from the checkpoint before it repeats the same
    epochs and reaches the same stop.
    """
    from .. import checkpoint

    if args.checkpoint is None:
        if args.resume:
            raise InputError("--resume needs --checkpoint FILE, the checkpoint to continue from")
        return {}
    if os.path.abspath(args.checkpoint) == os.path.abspath(args.out):
        raise InputError(f"--checkpoint {args.checkpoint}: is also the --out file; the model would "
                         f"overwrite the checkpoint")
    config = {"command": "train",
              "options": {k: getattr(args, k) for k in (*_RESUME_OPTIONS, "epochs", "data", "test")},
              "data_sha256": _data_digest(X, y)}
    resume = None
    if args.resume:
        if os.path.exists(args.checkpoint):
            resume, saved = checkpoint.load_state(args.checkpoint)
            _check_resumable(args, config, saved, resume, X, y)
            print(f"resuming from {args.checkpoint} at epoch {resume.epoch}", file=sys.stderr)
            if args.optimizer == "lbfgs":
                print("note: L-BFGS restarts its memory when it resumes: the weights can differ from those "
                      "of an uninterrupted run", file=sys.stderr)
        else:
            print(f"note: no checkpoint {args.checkpoint} yet: training from the start", file=sys.stderr)

    def write(state):
        if state.history.stop_reason:
            return
        if state.epoch % args.checkpoint_every == 0 or state.epoch == args.epochs:
            try:
                checkpoint.save_state(args.checkpoint, state, config)
            except OSError as e:
                raise InputError(f"cannot write the checkpoint {args.checkpoint}: {e.strerror or e}")

    return {"callback": write, "resume": resume}


def _check_resumable(args, config, saved, state, X, y):
    """InputError naming the first setting in which this run differs from the checkpoint's run."""
    where = f"--resume: the checkpoint {args.checkpoint}"
    before, now = saved.get("options"), config["options"]
    if saved.get("command") != "train" or not isinstance(before, dict) or "data_sha256" not in saved:
        raise InputError(f"{where} does not record the settings of a `train` run; start afresh "
                         f"without --resume")
    for key in _RESUME_OPTIONS:
        if key == "dataset" and args.data is not None or key == "test_size" and args.test is not None:
            continue  # ignored by this run, so it cannot matter
        if before.get(key) != now[key]:
            raise InputError(f"{where} was written with {_option_text(key, before.get(key))}, this run has "
                             f"{_option_text(key, now[key])}; resume with the settings of the checkpoint "
                             f"(only --epochs may grow) or start afresh without --resume")
    if args.lr_schedule == "cosine" and before.get("epochs") != args.epochs:
        raise InputError(f"{where} was written with --epochs {before.get('epochs')}, this run has --epochs "
                         f"{args.epochs}; the cosine schedule spreads over all epochs, so they must agree")
    if state.epoch > args.epochs:
        raise InputError(f"{where} is at epoch {state.epoch}, past this run's --epochs {args.epochs}")
    if saved["data_sha256"] != config["data_sha256"]:
        source = (before.get("data") or f"--dataset {before.get('dataset')}",
                  now["data"] or f"--dataset {now['dataset']}")
        if source[0] != source[1]:
            what = f"was trained on {source[0]}, this run on {source[1]}"
        elif before.get("test") != now["test"]:
            what = f"was written with --test {before.get('test')}, this run has --test {now['test']}"
        else:
            what = f"was trained on other rows than {source[1]} holds now (the data changed since)"
        raise InputError(f"{where} {what}; resume on the same data or start afresh without --resume")
    W1, W2, _, W4 = state.params
    fits = (W1.shape[0], W2.shape[0], str(W1.dtype)) == (X.shape[1], args.hidden, args.dtype)
    if not fits or y.max() >= W4.shape[0]:
        raise InputError(f"{where} holds a {W1.shape[0]}-{W2.shape[0]}-{W4.shape[0]} network of {W1.dtype}, "
                         f"which does not fit this run's data and settings")


def _option_text(key, value):
    name = "--" + key.replace("_", "-")
    if isinstance(value, bool):
        return name if value else f"no {name}"
    return f"no {name}" if value is None else f"{name} {value}"


def _data_digest(X, y):
    """SHA-256 of the training rows exactly as fit receives them (after the split, scaling and cast).

    Hashed a block of rows at a time, from the arrays' own memory: no copy of the data set.
    """
    import hashlib

    digest = hashlib.sha256()
    for a in (X, np.asarray(y, dtype=np.int64)):
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        rows = max(1, (1 << 20) // max(1, a[:1].nbytes))
        for start in range(0, a.shape[0], rows):
            digest.update(memoryview(np.ascontiguousarray(a[start:start + rows])).cast("B"))
    return digest.hexdigest()
