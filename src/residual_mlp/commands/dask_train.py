"""`residual-mlp train --dask` (or --scheduler ADDRESS, or a --data pattern): full-batch training on Dask.

The same shell as the in-memory `train`, over `residual_mlp.dask_pipeline`: read the files lazily
(`read_frame`), pick the numeric columns (`numeric_columns`; a categorical, date or text column is a
one-line error), hold out a seeded, stratified test mask when there is no --test (`prepass(...)
.validation_mask`, the test rows never leave the workers), fit the numeric pipeline (`fit_arrays`),
report the train and test loss and accuracy computed on the cluster, and save the model with the
in-memory path's staged outputs (`train._commit`). The cluster is a `LocalCluster` sized to this
machine (`dask_training.connect`), or the one at --scheduler; training is full batch.
"""
from __future__ import annotations

import contextlib
import sys
import time
import warnings

from sklearn.exceptions import ConvergenceWarning

from ..errors import Diverged, InputError
from ..train import History
from . import options, signals
from . import target as label_column

UNAVAILABLE = (("checkpoint", "--checkpoint"), ("resume", "--resume"), ("plot_flow", "--plot-flow"),
               ("categorical", "--categorical"))
CONNECT_TIMEOUT = 20  # seconds to reach a --scheduler


def run(args):
    needs_dask()
    import dask

    from .. import dask_pipeline
    from ..dask_training import prepass, select_rows
    from .train import _check_outcome, _commit, _settings, _watch, classifier_params, warning_lines

    if args.data is None:
        raise InputError("--dask needs --data: a Parquet or CSV file, a folder of Parquet files, or a pattern "
                         "such as 'folder/*.parquet'")
    for name, option in UNAVAILABLE:
        if getattr(args, name):
            raise InputError(f"{option} is not available with --dask")
    outputs = options.planned_outputs(args, [("--out", args.out), ("--plot", args.plot)],
                                      inputs=[("--data", args.data), ("--test", args.test)],
                                      what={"--out": "the model"})
    frame = dask_pipeline.read_frame(args.data, sep=args.sep, na_values=args.na_values, target=args.target)
    target = args.target if args.target is not None else str(frame.columns[-1])
    label_column.check_not_listed(target, args.target is None, features=args.features, drop=args.drop)
    columns, roles = dask_pipeline.numeric_columns(frame, target, features=args.features, drop=args.drop)
    test_frame = None
    if args.test is not None:
        test_frame = dask_pipeline.read_frame(args.test, sep=args.sep, na_values=args.na_values, target=target)

    with cluster(args) as client:
        X, y, _ = dask_pipeline.frame_arrays(frame, target, columns)
        if test_frame is None:  # a seeded, stratified test mask, never gathered
            test = prepass(X, y).validation_mask(args.test_size, args.seed)
            X, y, X_test, y_test = (select_rows(X, ~test), select_rows(y, ~test), select_rows(X, test),
                                    select_rows(y, test))
        else:
            X_test, y_test, _ = dask_pipeline.frame_arrays(test_frame, target, columns)
        params = classifier_params(args)
        fit_params = {"callback": _watch(args, None)}
        started = time.perf_counter()
        try:
            with signals.interrupts_as_stops(), warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                pipe = dask_pipeline.fit_arrays(X, y, columns, standardize=not args.no_standardize, dtype=args.dtype,
                                                fit_params=fit_params, **params)
        except Diverged as e:
            raise Diverged(str(e).removeprefix("ResidualMLPClassifier: ")) from None
        except ValueError as e:  # the estimator's checks (InputError is one too)
            raise InputError(str(e).splitlines()[0]) from None
        elapsed = time.perf_counter() - started
        est = pipe[-1]
        history = History(**est.history_)
        _check_outcome(history, args)
        for warning in caught:
            if not issubclass(warning.category, ConvergenceWarning):
                print(f"note      {_note(str(warning.message), args)}", file=sys.stderr)
        for line in warning_lines([w for w in caught if issubclass(w.category, ConvergenceWarning)], history):
            print(line, file=sys.stderr)
        try:
            sums = dask.compute(dask_pipeline.loss_and_accuracy(pipe, X, y),
                                dask_pipeline.loss_and_accuracy(pipe, X_test, y_test))
        except ValueError as e:  # a test label that is not among the classes
            place = args.test if args.test is not None else "the test split"
            raise InputError(f"{place}: {str(e).splitlines()[0]}") from None
        workers = len(client.scheduler_info(n_workers=-1)["workers"])

    (train_loss, train_acc, n_train), (test_loss, test_acc, n_test) = (
        (s[0] / s[2], s[1] / s[2], int(s[2])) for s in sums)
    options_used = est.training_options()
    settings = dict(_settings(args, est), target=target, batch_size=None, dask=True, scheduler=args.scheduler)
    results = {"train_loss": train_loss, "train_accuracy": train_acc, "test_loss": test_loss,
               "test_accuracy": test_acc, "epochs_run": len(history), "seconds": elapsed,
               "stop_reason": history.stop_reason, "loss_curve": history.loss, "train_rows": n_train,
               "test_rows": n_test}
    record = {"settings": settings, "results": results, "target": target, "roles": [list(r) for r in roles]}
    _commit(args, outputs, pipe, record, history)
    # the summary follows the commit: a closed or full standard output loses nothing
    print(f"data      {args.data}: {n_train} train / {n_test} test rows, {len(frame.columns)} columns -> "
          f"D={len(columns)} features, C={len(est.classes_)} classes, M={args.hidden}; columns:")
    for name, role, note in roles:
        print(f"  {role:<11}  {name!r}: {note}")
    print(f"target    {label_column.describe(target, args.target is None)}")
    print(f"trained   {len(history)} epochs of {options_used['optimizer']} (full batch, on Dask: {workers} "
          f"workers) in {elapsed:.2f} s ({history.stop_reason})")
    if history.stop_reason not in ("max_epochs", "converged"):
        print(f"note      {history.message}")
    print(f"train     loss {train_loss:.4f}  accuracy {train_acc:.2%}")
    print(f"test      loss {test_loss:.4f}  accuracy {test_acc:.2%}")
    print(f"saved     {args.out}")
    print(f"next      residual-mlp predict --model {args.out} --data '{args.data}' --dask")
    return 0


def needs_dask():
    """InputError when the optional Dask extra is not installed."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as e:
        raise InputError(f"running on Dask needs the optional extra: pip install \"residual_mlp[dask]\" "
                         f"({e})") from None


@contextlib.contextmanager
def cluster(args):
    """A distributed Client: to --scheduler, else to a new LocalCluster sized to this machine; closed after."""
    from ..dask_training import connect

    if args.scheduler:
        from distributed import Client
        try:
            client = Client(args.scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as e:
            raise InputError(f"--scheduler {args.scheduler}: cannot connect: {str(e).splitlines()[0]}") from None
        with client:
            yield client
        return
    client = connect()
    try:
        yield client
    finally:
        local = client.cluster
        client.close()
        if local is not None:
            local.close()


def _note(message, args):
    """A warning of the estimator as a note in the command's words."""
    if "batch_size=" in message and "ignored on Dask" in message:
        return ("training on Dask is full batch: the recipe's mini-batch size is ignored (--batch-size full "
                "silences this; --recipe seed or --optimizer lbfgs suit full batches)")
    return message.removeprefix("ResidualMLPClassifier: ")
