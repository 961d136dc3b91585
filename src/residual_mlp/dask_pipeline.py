"""Tables on Dask: numeric columns -> SimpleImputer -> StandardScaler -> ResidualMLPClassifier.

scikit-learn's ColumnTransformer and SimpleImputer do not work on Dask collections (the first raises,
the second gathers the data), and `TableEncoder` is pandas-only. On Dask the pipeline therefore takes
numeric columns only, and the statistics of its imputer and scaler come from one pre-pass
(`dask_training.prepass`, in the form scikit-learn stores them). `fit_frame` returns a plain fitted
scikit-learn Pipeline:

    Pipeline([("columns", ColumnTransformer([("numeric", "passthrough", columns)])),  # by name
              ("impute", SimpleImputer(strategy="mean")),
              ("scale", StandardScaler()),                # left out with standardize=False
              ("classifier", ResidualMLPClassifier(...))])

`residual_mlp.save_model` writes it and `load_model` reads it like any other model; its `predict`
takes pandas DataFrames, columns matched by name (others, a label column among them, are ignored).
For Dask input use `predict` / `predict_proba` of this module: they apply a fitted pipeline (this one
or a `make_pipeline` one) partition by partition, lazily.

Differences from `make_pipeline`'s TableEncoder: missing values are imputed with the mean (the median
needs a sort of every column), with no missing-indicator columns; a categorical, date or text column is
an error instead of being encoded. Identifier-like columns (an exported row index, an integer column
counting the rows) are left out by `columns.infer_role`, judged on the first rows.

Passes over the data in `fit_frame`: one for the imputation and scaling statistics, one for the
estimator's classes and checks, then one per epoch (per function evaluation with L-BFGS).
"""
from __future__ import annotations

import glob
import math
import os
import types
import warnings

import numpy as np

from . import dask_training, labels
from .columns import check_column, infer_role
from .errors import InputError

SAMPLE_ROWS = 1000  # rows of the first partition that columns.infer_role judges identifiers on
PARQUET_SUFFIXES = (".parquet", ".parq", ".pq")


def read_frame(path, *, sep=None, na_values=None, target=None):
    """A lazy dask DataFrame of a Parquet or CSV file, a folder of Parquet files, or a glob pattern.

    Parquet when the path is a folder or ends in .parquet/.parq/.pq (a glob too), else CSV (the
    separator `sep`, default ","; the cells in `na_values`, default `data.NA_VALUES`, are missing;
    the `target` column, default the last, is read as text, as `read_table` reads CSV labels).
    InputError when nothing matches the path.
    """
    import dask.dataframe as dd

    from .data import NA_VALUES

    path = os.fspath(path)
    if "://" not in path:
        if any(c in path for c in "*?["):
            if not glob.glob(path):
                raise InputError(f"{path}: no file matches")
        elif not os.path.exists(path):
            raise InputError(f"{path}: no such file or folder")
    if os.path.isdir(path) and not any(name.lower().endswith(PARQUET_SUFFIXES) for name in os.listdir(path)):
        raise InputError(f"{path}: is a directory with no Parquet file (*.parquet) in it")
    if os.path.isdir(path) or path.lower().endswith(PARQUET_SUFFIXES):
        try:
            return dd.read_parquet(path)
        except (OSError, ValueError) as e:
            reason = e.__cause__ or e   # dask wraps the reader's own error
            raise InputError(f"{path}: cannot read it as Parquet: {str(reason).splitlines()[0]}") from None
    options = dict(sep=sep or ",", na_values=list(NA_VALUES if na_values is None else na_values),
                   keep_default_na=False, assume_missing=True)
    try:
        names = list(dd.read_csv(path, **options).columns)
        label = target if target is not None else names[-1]
        return dd.read_csv(path, **options, dtype={label: object} if label in names else None)
    except (OSError, ValueError) as e:
        reason = e.__cause__ or e
        raise InputError(f"{path}: cannot read it as CSV: {str(reason).splitlines()[0]}") from None


def numeric_columns(frame, target, *, features=None, drop=None, sample_weight=None):
    """The feature columns of a dask DataFrame and their roles, as TableEncoder would give them.

    Parameters
    ----------
    frame : dask DataFrame
    target : str
        The label column (not a feature).
    features, drop : list of str or None
        Use only these columns / leave these out (as in `make_pipeline`).
    sample_weight : str or None
        A column of sample weights (not a feature).

    Returns
    -------
    columns : list of str
        The numeric feature columns, in table order.
    roles : list of (str, str, str)
        (column, role, note) for every column but `target` and `sample_weight`: "numeric", or
        "dropped" with the reason.

    Raises
    ------
    InputError
        One line: a named column the frame lacks (with the closest names), a categorical, date or
        text column among the features (naming it), or no feature column left.
    """
    names = [str(c) for c in frame.columns]
    check_column(target, names, "the target")
    for option, given in (("features", features), ("drop", drop)):
        for name in given or ():
            check_column(name, names, option)
    if sample_weight is not None:
        check_column(sample_weight, names, "sample_weight")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # dask's "fewer rows than asked for"
        head = frame.head(SAMPLE_ROWS, npartitions=1)
    options = types.SimpleNamespace(features=features, drop=drop, categorical=None, standardize=True,
                                    max_categories=30)
    columns, roles = [], []
    for position, name in enumerate(names):
        if name in (target, sample_weight):
            continue
        role, note = infer_role(head[name], name, position, options)
        kind = getattr(frame[name].dtype, "kind", "O")
        numeric = kind in "iufb" and isinstance(frame[name].dtype, np.dtype)
        if role == "dropped" and not (numeric and note == "no value at all"):
            roles.append((name, role, note))
            continue
        if not numeric:
            what = "text" if role in ("categorical", "dropped", "numeric") else role  # numeric: "1,234.5" text
            raise InputError(f"column {name!r} holds {what} values ({frame[name].dtype}): training on Dask takes "
                             f"numeric columns only; encode it as numbers first, or leave it out (drop=[{name!r}], "
                             f"--drop {name})")
        columns.append(name)
        roles.append((name, "numeric", "standardized; missing values imputed (mean)"))
    if not columns:
        raise InputError("no numeric column is left to learn from: " + "; ".join(
            f"{name!r} {note}" for name, _, note in roles[:8]))
    return columns, roles


def frame_arrays(frame, target, columns, sample_weight=None):
    """(X (N, D) float64, y (N,), w (N,) or None) dask arrays of a dask DataFrame, one chunk per partition.

    Rows whose label is missing are left out (as `read_table` does); y holds the labels as read
    (numbers keep their dtype, text becomes str objects).
    """
    frame = frame.dropna(subset=[target])
    return dask_training.from_frame(frame, target, features=list(columns), sample_weight=sample_weight,
                                    dtype=np.float64)


def fit_arrays(X, y, columns, *, sample_weight=None, standardize=True, dtype="float64", fit_params=None,
               **classifier_params):
    """Fit the numeric pipeline (see the module docstring) on dask arrays; the Pipeline, fitted.

    X (N, D) float64 dask array of the raw numeric `columns` (NaN = missing), chunked by rows; y (N,)
    labels; sample_weight (N,) or None, partitioned like X. `fit_params` go to the classifier's `fit`
    (callback, ...); `classifier_params` to `ResidualMLPClassifier` (on Dask it trains full batch).
    """
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    from .estimator import ResidualMLPClassifier

    columns = [str(c) for c in columns]
    if X.shape[1] != len(columns):
        raise InputError(f"X has {X.shape[1]} columns but {len(columns)} column names were given")
    pre = dask_training.prepass(X, y, sample_weight)
    selector = ColumnTransformer([("numeric", "passthrough", columns)], remainder="drop", sparse_threshold=0)
    selector.fit(pd.DataFrame(np.zeros((1, len(columns))), columns=columns))
    steps = [("columns", selector), ("impute", pre.simple_imputer())]
    if standardize:
        steps.append(("scale", pre.standard_scaler()))
    classifier = ResidualMLPClassifier(**classifier_params)
    features = _transform(X, [step for _, step in steps[1:]]).astype(np.dtype(dtype))
    classifier.fit(features, y, sample_weight=sample_weight, **(fit_params or {}))
    return Pipeline(steps + [("classifier", classifier)])


def fit_frame(frame, target, *, features=None, drop=None, sample_weight=None, standardize=True, dtype="float64",
              fit_params=None, **classifier_params):
    """Fit the numeric pipeline on a dask DataFrame: the three lines of training on a cluster.

    Parameters
    ----------
    frame : dask DataFrame
        The training table: numeric feature columns and a label column, any number of partitions
        (for example ``dask.dataframe.read_parquet("folder/*.parquet")``). Never gathered.
    target : str
        The label column (numbers or text); rows whose label is missing are left out.
    features, drop : list of str or None
        Use only these columns / leave these out; by default every numeric column but the target,
        the weights and identifier-like columns.
    sample_weight : str or None
        A column of non-negative sample weights.
    standardize : bool
        Standardize the features after imputation (the scale step).
    dtype : {"float64", "float32"}
        The dtype the network trains in.
    fit_params : dict or None
        Passed to `ResidualMLPClassifier.fit` (callback, ...).
    **classifier_params
        `ResidualMLPClassifier` parameters. Training on Dask is full batch: use ``recipe="seed"``,
        ``optimizer="lbfgs"`` or ``batch_size=None`` (a mini-batch setting is ignored with a warning).

    Returns
    -------
    sklearn.pipeline.Pipeline
        Fitted: steps "columns", "impute", "scale" (unless standardize=False), "classifier".

    Raises
    ------
    InputError
        See `numeric_columns`; labels of fewer than two classes; negative weights.

    Examples
    --------
    >>> import dask.dataframe as dd, residual_mlp                        # doctest: +SKIP
    >>> frame = dd.read_parquet("folder/*.parquet")                      # doctest: +SKIP
    >>> pipe = residual_mlp.dask_pipeline.fit_frame(frame, "label", optimizer="lbfgs")  # doctest: +SKIP
    """
    columns, _ = numeric_columns(frame, target, features=features, drop=drop, sample_weight=sample_weight)
    X, y, w = frame_arrays(frame, target, columns, sample_weight)
    return fit_arrays(X, y, columns, sample_weight=w, standardize=standardize, dtype=dtype, fit_params=fit_params,
                      **classifier_params)


def transform(pipe, X):
    """The imputation and scaling steps of a `fit_arrays` pipeline on a dask array X (N, D), lazily."""
    return _transform(X, [step for name, step in pipe.steps[1:-1]])


def _transform(X, steps):
    return X.map_blocks(_transform_block, steps, dtype=np.float64)


def _transform_block(x, steps):
    for step in steps:
        x = step.transform(x)
    return np.asarray(x, dtype=np.float64)


def predict_proba(pipe, frame):
    """Class probabilities (N, C) of a fitted pipeline: a lazy dask array for a dask DataFrame (one
    chunk per partition, each predicted by ``pipe.predict_proba`` on the pandas partition), else
    ``pipe.predict_proba(frame)``."""
    if not _is_dask(frame):
        return pipe.predict_proba(frame)
    import dask.array as da

    from .saving import classifier_of

    C = len(classifier_of(pipe).classes_)
    return _per_partition(frame, pipe, _proba_part, (math.nan, C), np.float64, da)


def predict(pipe, frame):
    """Predicted labels (N,) of a fitted pipeline: lazy for a dask DataFrame, as `predict_proba`."""
    if not _is_dask(frame):
        return pipe.predict(frame)
    import dask.array as da

    from .saving import classifier_of

    classes = classifier_of(pipe).classes_
    return _per_partition(frame, pipe, _predict_part, (math.nan,), classes.dtype, da)


def _per_partition(frame, pipe, function, shape, dtype, da):
    import dask

    model = dask.delayed(pipe, pure=True)  # one task holding the model, shared by every partition
    blocks = [da.from_delayed(dask.delayed(function, pure=True)(model, part), shape=shape, dtype=dtype)
              for part in frame.to_delayed()]
    return da.concatenate(blocks, axis=0, allow_unknown_chunksizes=True)


def _proba_part(pipe, part):
    from .saving import classifier_of, model_input

    if len(part) == 0:
        return np.zeros((0, len(classifier_of(pipe).classes_)))
    return pipe.predict_proba(model_input(pipe, part))


def _predict_part(pipe, part):
    from .saving import classifier_of, model_input

    if len(part) == 0:
        return classifier_of(pipe).classes_[:0]
    return pipe.predict(model_input(pipe, part))


def loss_and_accuracy(pipe, X, y):
    """Lazy (3,) float64 dask array: summed cross-entropy, correct count and rows of a `fit_arrays`
    pipeline on raw dask arrays X (N, D) and labels y (N,); divide the first two by the third.

    Computed chunk by chunk with the pipeline's own in-memory steps; a label that is not one of the
    classes raises ValueError when computed."""
    sums = X.map_blocks(_score_block, y[:, None], pipe[1:], chunks=((1,) * X.numblocks[0], (3,)),
                        dtype=np.float64)
    return sums.sum(axis=0)


def _score_block(x, y, tail):
    if x.shape[0] == 0:
        return np.zeros((1, 3))
    index = labels.class_index(tail.steps[-1][1].classes_, y.reshape(-1))   # (n,)
    log_proba = tail.predict_log_proba(x)                                      # (n, C)
    rows = np.arange(len(index))
    return np.array([[-log_proba[rows, index].sum(), float(np.sum(log_proba.argmax(axis=1) == index)),
                      float(len(index))]])


def _is_dask(X):
    import sys

    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(X)
