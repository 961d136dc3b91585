"""`residual-mlp train`: read a table, fit `make_pipeline(...)` on it, save the fitted pipeline.

A thin shell: options -> `residual_mlp.make_pipeline` -> fit -> report and save. With no options it
trains the default recipe on the bundled digits; `--recipe seed` is the seed's full-batch gradient
descent. Only a run that trained (status 0) writes its outputs, all of them at the end, the model last
(see `atomic.staged`); a run that diverged (status 3) or was interrupted (130, 143) leaves every
existing output as it was, and with --checkpoint its last good state.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .. import data, labels
from ..errors import Diverged, InputError, Interrupted, OutputError
from ..estimator import RECIPES
from ..optim import OPTIMIZERS
from ..train import SCHEDULES, History
from . import options, resume, signals, target
from .evaluate import write_figure

HELP = "train the network on a bundled data set or on your own table, and save the model"
HIDDEN = 128
_DEFAULT = RECIPES["default"]
_SEED = RECIPES["seed"]


def add_arguments(parser):
    source = parser.add_argument_group("data")
    source.add_argument("--data", metavar="FILE", help="training table: CSV/TSV (a header row; .gz, .bz2, .zst, "
                        ".xz too), Parquet, or NPZ (arrays X and y) (default: the bundled --dataset)")
    source.add_argument("--target", metavar="NAME", help="the label column (default: the last column)")
    source.add_argument("--dataset", default="digits", choices=data.DATASETS,
                        help="a data set that scikit-learn bundles, used when --data is not given (default: digits)")
    source.add_argument("--test", metavar="FILE",
                        help="held-out test table, same columns as --data (default: none; a --test-size split)")
    source.add_argument("--test-size", type=options.fraction, default=0.2, metavar="F",
                        help="fraction held out (stratified) for testing when --test is not given (default: 0.2)")
    options.add_table_options(source)
    options.add_dask_options(source)
    source.add_argument("--features", type=options.names, metavar="A,B,...",
                        help="use only these columns as features (default: all but identifier-like ones)")
    source.add_argument("--drop", type=options.names, metavar="A,B,...", help="leave these columns out (default: none)")
    source.add_argument("--categorical", type=options.names, metavar="A,B,...",
                        help="treat these columns as categories even if they hold numbers (default: by type)")
    source.add_argument("--no-standardize", action="store_true",
                        help="feed numeric columns as they are instead of standardizing them (default: standardize)")

    net = parser.add_argument_group("network and training (defaults: the recipe's)")
    net.add_argument("--recipe", choices=tuple(RECIPES), default="default",
                     help=f"'default': {_recipe_text(_DEFAULT)}; 'seed': the seed's own method, "
                          f"{_recipe_text(_SEED)} (default: default)")
    net.add_argument("--hidden", type=options.positive_int, default=HIDDEN, metavar="M",
                     help=f"hidden width M (default: {HIDDEN})")
    net.add_argument("--epochs", type=options.positive_int, metavar="K",
                     help=f"epochs (default: {_DEFAULT['max_iter']}; seed recipe {_SEED['max_iter']})")
    net.add_argument("--lr", type=options.positive_float,
                     help=f"learning rate alpha (default: {_DEFAULT['lr']:g}; seed recipe {_SEED['lr']:g})")
    net.add_argument("--batch-size", type=options.batch_size, metavar="B|full",
                     help=f"mini-batch size, or 'full' for full batch (default: {_DEFAULT['batch_size']}; "
                          f"seed recipe full)")
    net.add_argument("--optimizer", choices=OPTIMIZERS,
                     help=f"update rule (default: {_DEFAULT['optimizer']}; seed recipe gd, the seed's gradient "
                          f"descent)")
    net.add_argument("--momentum", type=options.momentum, default=0.9,
                     help="momentum of 'momentum' and 'nesterov', in [0, 1) (default: 0.9)")
    net.add_argument("--weight-decay", type=options.non_negative_float,
                     help=f"L2 penalty coefficient added to every gradient (default: {_DEFAULT['weight_decay']:g}; "
                          f"seed recipe 0)")
    net.add_argument("--lr-schedule", choices=SCHEDULES,
                     help=f"learning-rate schedule (default: {_DEFAULT['lr_schedule']}; seed recipe constant)")
    net.add_argument("--input-bias", action=argparse.BooleanOptionalAction, default=None,
                     help="append a constant 1 to the network's input after scaling, so its weights act as "
                          "biases (default: on; seed recipe off)")
    net.add_argument("--class-weight", choices=("balanced",),
                     help="weigh classes inversely to their frequency in the loss (default: none)")
    net.add_argument("--validation-fraction", type=options.fraction, default=None, metavar="F",
                     help="hold out this fraction of the training rows and stop early on its loss (default: none)")
    net.add_argument("--patience", type=options.positive_int, default=None,
                     help="early stopping: epochs without improvement before stopping (default: none; 10 with "
                          "--validation-fraction)")
    net.add_argument("--tol", type=options.non_negative_float, default=1e-4,
                     help="improvement smaller than this counts as none (default: 1e-4)")
    net.add_argument("--seed", type=options.seed, default=0,
                     help="seed of weights, split and shuffling (default: 0)")
    net.add_argument("--dtype", choices=("float32", "float64"), default="float64",
                     help="floating-point type of training (default: float64)")
    net.add_argument("--max-time", type=options.positive_float, metavar="SECONDS",
                     help="end training cleanly after this many seconds and save the model (default: no limit)")

    out = parser.add_argument_group("output")
    out.add_argument("--out", default="model.skops", metavar="FILE", help="model file (default: model.skops)")
    out.add_argument("--plot", metavar="FILE.png", help="draw the learning curves to this image (default: none)")
    out.add_argument("--plot-flow", metavar="FILE.png",
                     help="draw how gradient splits across the two skip connections over training (default: none)")
    out.add_argument("--checkpoint", metavar="FILE",
                     help="write the whole training state to this file as training goes (default: none)")
    out.add_argument("--checkpoint-every", type=options.positive_int, default=10, metavar="K",
                     help="write the checkpoint every K epochs (default: 10)")
    out.add_argument("--resume", action="store_true",
                     help="continue from --checkpoint if it exists (default: start afresh)")
    out.add_argument("--quiet", action="store_true",
                     help="no progress bar; the summary is printed all the same (default: a progress bar on a "
                          "terminal)")


def classifier_params(args):
    """ResidualMLPClassifier parameters from the options (None: the recipe decides)."""
    params = dict(n_hidden=args.hidden, recipe=args.recipe, optimizer=args.optimizer, lr=args.lr,
                  max_iter=args.epochs, momentum=args.momentum, weight_decay=args.weight_decay,
                  lr_schedule=args.lr_schedule, tol=args.tol, random_state=args.seed, patience=args.patience,
                  input_bias=args.input_bias, class_weight=args.class_weight)
    if args.batch_size is not None:
        params["batch_size"] = None if args.batch_size == "full" else args.batch_size
    if args.validation_fraction is not None:
        params.update(early_stopping=True, validation_fraction=args.validation_fraction)
    return params


def run(args):
    from ..pipeline import make_pipeline

    for option, path in (("--data", args.data), ("--test", args.test)):
        if path is not None:
            options.check_input(option, path)
    if options.uses_dask(args):  # full-batch training on Dask: commands/dask_train.py
        from .dask_train import run as run_on_dask
        return run_on_dask(args)

    outputs = options.planned_outputs(args, [("--out", args.out), ("--plot", args.plot),
                                             ("--plot-flow", args.plot_flow), ("--checkpoint", args.checkpoint)],
                                      inputs=[("--data", args.data), ("--test", args.test)],
                                      what={"--out": "the model"})
    train_table, test_table = _read(args)
    defaulted = args.data is not None and args.target is None  # the label column is the table's last column
    target.check_not_listed(train_table.target, defaulted, features=args.features, drop=args.drop,
                            categorical=args.categorical)
    if args.data is not None and (line := target.warning(train_table, defaulted)) is not None:
        print(line, file=sys.stderr)
    frame, y_text = train_table.features, train_table.labels
    if test_table is None:
        frame, test_frame, y_text, y_test = split(frame, y_text, args.test_size, args.seed, train_table)
    else:
        test_frame, y_test = test_table.features, test_table.labels
    pipe = make_pipeline(features=args.features, drop=args.drop, categorical=args.categorical, dtype=args.dtype,
                         standardize=not args.no_standardize, **classifier_params(args))
    est = pipe[-1]
    settings = _settings(args, est)
    _check_validation_fraction(args.validation_fraction, y_text)

    fit_params = {"record_flow": bool(args.plot_flow), "progress": not args.quiet}
    fit_params.update(resume.checkpointing(args, settings, frame, y_text))
    fit_params["callback"] = _watch(args, fit_params.get("callback"))
    started = time.perf_counter()
    try:
        with signals.interrupts_as_stops(), warnings.catch_warnings(record=True) as caught:
            # the command reports how training ended itself (below), in its own words
            warnings.simplefilter("always", ConvergenceWarning)
            pipe.fit(frame, y_text, **{f"classifier__{k}": v for k, v in fit_params.items()})
    except Diverged as e:
        kept = f"; the checkpoint {args.checkpoint} holds the last good state" if args.checkpoint else ""
        raise Diverged(f"{str(e).removeprefix('ResidualMLPClassifier: ')}{kept}") from None
    except OutputError:  # a checkpoint that cannot be written: its message names it already
        raise
    except ValueError as e:  # the estimator's own checks of the options and of the table
        raise InputError(f"{args.data or args.dataset}: {str(e).splitlines()[0]}") from None
    elapsed = time.perf_counter() - started
    history = History(**est.history_)
    _check_outcome(history, args)
    for line in warning_lines(caught, history):
        print(line, file=sys.stderr)

    # the summary is printed after the outputs are committed: a closed or full standard output loses nothing
    summary = [_data_line(args, train_table, frame, test_frame, pipe)]
    summary += [f"  {line}" for line in pipe[0].role_table()]
    if args.data is not None:
        summary.append(f"target    {target.describe(train_table.target, defaulted)}")
    train_loss, train_acc = loss_and_accuracy(pipe, frame, y_text)
    test_loss, test_acc = loss_and_accuracy(pipe, test_frame, y_test, place=_test_place(args))
    options_used = est.training_options()
    summary.append(f"trained   {len(history)} epochs of {options_used['optimizer']} in {elapsed:.2f} s "
                   f"({history.stop_reason})")
    if history.stop_reason not in ("max_epochs", "converged"):
        summary.append(f"note      {history.message}")
    summary.append(f"train     loss {train_loss:.4f}  accuracy {train_acc:.2%}")
    summary.append(f"test      loss {test_loss:.4f}  accuracy {test_acc:.2%}")
    results = {"train_loss": train_loss, "train_accuracy": train_acc, "test_loss": test_loss,
               "test_accuracy": test_acc, "epochs_run": len(history), "seconds": elapsed,
               "stop_reason": history.stop_reason, "loss_curve": history.loss}
    record = {"settings": settings, "results": results, "target": train_table.target,
              "roles": [list(r) for r in pipe[0].roles_]}
    _commit(args, outputs, pipe, record, history)
    for line in summary:
        print(line)
    print(f"saved     {args.out}")
    data_hint = "TABLE" if args.data is None else args.data
    print(f"next      residual-mlp predict --model {args.out} --data {data_hint}")
    print(f"          residual-mlp evaluate --model {args.out} --data {args.test or data_hint}")
    return 0


def split(frame, y_text, test_size, seed, table):
    """Stratified, seeded split of the rows into (train frame, test frame, train labels, test labels)."""
    from sklearn.model_selection import train_test_split

    N = len(y_text)
    classes, counts = np.unique(y_text, return_counts=True)
    continuous = labels.looks_continuous(classes, N)  # warned of after reading (`target.warning`)
    where = f"the target {table.target!r}" if table.target else "the labels"
    n_test = int(np.ceil(test_size * N))
    if counts.min() < 2:
        if continuous:
            raise InputError(f"{where} looks continuous ({len(classes)} distinct numbers in {N} rows), not like "
                             f"classes; name the label column with --target")
        rare = classes[int(np.argmin(counts))]
        raise InputError(f"class {rare!r} of {where} has 1 row; a stratified test split needs at least 2 per "
                         f"class (give more rows of it, or a --test file)")
    if n_test < len(classes) or N - n_test < len(classes):
        raise InputError(f"too few rows ({N}) for a test split of {test_size:g} with {len(classes)} classes: each "
                         f"side needs at least one row per class")
    train, test = train_test_split(np.arange(N), test_size=test_size, random_state=seed, stratify=y_text)
    train.sort()
    test.sort()
    return frame.iloc[train], frame.iloc[test], y_text[train], y_text[test]


def loss_and_accuracy(pipe, frame, y_text, place=None):
    """(mean cross-entropy, accuracy) of a fitted pipeline on a table with labels (texts)."""
    est = pipe[-1]
    try:
        index = labels.class_index(est.classes_, y_text)
    except ValueError as e:
        raise InputError(f"{place or 'the test rows'}: {e}") from None
    try:
        log_proba = pipe.predict_log_proba(frame)
    except InputError as e:  # a column of the model missing from the --test file, say
        raise InputError(f"{place or 'the test rows'}: {e}") from None
    rows = np.arange(len(index))
    loss = float(-log_proba[rows, index].mean())
    accuracy = float(np.mean(log_proba.argmax(axis=1) == index))
    return loss, accuracy


def _read(args):
    if args.data is None:
        for option in ("target", "features", "sep", "na_values"):
            if getattr(args, option) is not None and option != "features":
                raise InputError(f"--{option.replace('_', '-')} applies to --data files only")
        if args.test is not None:
            raise InputError("--test needs --data: the bundled data sets are split with --test-size")
        return data.load_dataset(args.dataset), None
    table = data.read_table(args.data, target=args.target, sep=args.sep, na_values=args.na_values)
    if table.n_dropped_labels:
        rows = "row" if table.n_dropped_labels == 1 else "rows"
        print(f"note      left out {table.n_dropped_labels} {rows} of {args.data} whose label "
              f"({table.target!r}) is missing", file=sys.stderr)
    test = None
    if args.test is not None:
        test = data.read_table(args.test, target=table.target, sep=args.sep, na_values=args.na_values)
    return table, test


def _check_validation_fraction(fraction, y_text):
    """InputError, before training, when --validation-fraction leaves a side without a row of some class."""
    if fraction is None:
        return
    N, C = len(y_text), len(np.unique(y_text))
    n_val = int(np.ceil(fraction * N))
    if n_val < C or N - n_val < C:
        raise InputError(f"--validation-fraction {fraction:g}: too few training rows ({N}) for a validation "
                         f"split with {C} classes: each side needs at least one row per class")


def _watch(args, callback):
    """fit's callback: the checkpoint writer, then the --max-time limit (True asks fit to stop)."""
    started = time.monotonic()

    def watch(state):
        if callback is not None:
            callback(state)
        return args.max_time is not None and time.monotonic() - started >= args.max_time
    return watch


def warning_lines(caught, history):
    """Lines "warning   ..." for the ConvergenceWarnings among the warnings `caught` during fit, in the
    command's words (--epochs for max_iter); one that repeats `history.message` is left to the summary's
    "note" line. Other warnings are shown as Python shows them, as if they had not been caught."""
    lines = []
    for w in caught:
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
            continue
        text = str(w.message).removeprefix("ResidualMLPClassifier: ")
        if text == history.message and history.stop_reason not in ("max_epochs", "converged"):
            continue
        text = re.sub(r"\bmax_iter=(\d+) (\w+)", r"\1 \2 (--epochs)", text).replace("max_iter", "--epochs")
        text = re.sub(r"\b(tol|patience)=", r"--\1 ", text)
        lines.append(f"warning   {text}")
    return lines


def _check_outcome(history, args):
    """Interrupted when a signal stopped training: nothing is then written."""
    if history.stop_reason == "interrupted":
        status = signals.last_status()
        kept = f"; the checkpoint {args.checkpoint} holds the last good state" if args.checkpoint else ""
        raise Interrupted(f"interrupted after {len(history)} epochs: nothing was saved{kept}", status)


def _commit(args, outputs, pipe, record, history):
    """Render every promised output, then write them all, the model last; on any failure, none."""
    from ..saving import save_model

    order = [option for option, path in (("--plot", args.plot), ("--plot-flow", args.plot_flow), ("--out", args.out))
             if path is not None]
    with outputs.staging(*order) as stage:
        if args.plot is not None:
            from ..plots import plot_learning_curves
            write_figure(stage.path("--plot"), plot_learning_curves(history), args.plot)
        if args.plot_flow is not None:
            from ..plots import plot_flow
            write_figure(stage.path("--plot-flow"), plot_flow(history), args.plot_flow)
        temporary = stage.path("--out")  # OutputError naming --out when it cannot be made
        try:
            save_model(pipe, temporary, record)
        except OutputError as e:  # it names the staged file: say the reason for the one the user named
            reason = getattr(e.__cause__, "strerror", None) or str(e)
            raise OutputError(f"cannot write the model to {args.out}: {reason}") from None


def _settings(args, est):
    keys = ("data", "target", "dataset", "test", "test_size", "sep", "na_values", "features", "drop",
            "categorical", "no_standardize", "hidden", "recipe", "momentum", "validation_fraction", "patience", "tol",
            "seed", "dtype", "class_weight")
    settings = {k: getattr(args, k) for k in keys}
    if args.data is not None:
        settings["dataset"] = None  # not used: the table is --data
    settings.update(est.training_options())
    return settings


def _data_line(args, table, frame, test_frame, pipe):
    D = pipe[-1].n_features_in_
    C = len(pipe[-1].classes_)
    source = args.data or args.dataset
    return (f"data      {source}: {len(frame)} train / {len(test_frame)} test rows, {len(table.features.columns)} "
            f"columns -> D={D} features, C={C} classes, M={args.hidden}; columns:")


def _test_place(args):
    return args.test if args.test is not None else "the test split"


def _recipe_text(recipe):
    batch = "full batch" if recipe["batch_size"] is None else f"batch {recipe['batch_size']}"
    return (f"{recipe['optimizer']}, lr {recipe['lr']:g}, {batch}, {recipe['lr_schedule']} schedule, "
            f"weight decay {recipe['weight_decay']:g}, {recipe['max_iter']} epochs")
