"""`make_pipeline`: the one pipeline both front doors train, raw table in, labels out.

    Pipeline([("columns", TableEncoder(...)),            # columns.py: roles, scikit-learn encoders
              ("classifier", ResidualMLPClassifier(...))])

`residual-mlp train` builds exactly this from its options and fits it; a Python user calls it the
same way, so the command line and the library share one data path, one set of defaults
(`estimator.RECIPES`) and one model file (`saving.py`).
"""
from __future__ import annotations

from sklearn.pipeline import Pipeline

from .columns import TableEncoder
from .estimator import ResidualMLPClassifier


def make_pipeline(*, features=None, drop=None, categorical=None, max_categories=30, dtype="float64",
                  standardize=True, **classifier_params):
    """A scikit-learn Pipeline that encodes a raw table's columns and trains the residual MLP on them.

    Parameters
    ----------
    features, drop, categorical, max_categories, dtype, standardize
        Passed to `TableEncoder` (see `residual_mlp.columns`): which columns to use or leave out,
        which to treat as categories, the most one-hot columns per feature, the dtype the network
        trains in ("float32" or "float64"), and whether numeric columns are standardized.
    **classifier_params
        Parameters of `ResidualMLPClassifier` (n_hidden, recipe, lr, max_iter, random_state, ...).

    Returns
    -------
    sklearn.pipeline.Pipeline
        Unfitted; steps "columns" (TableEncoder) and "classifier" (ResidualMLPClassifier). `fit(X, y)`
        takes a pandas DataFrame (or an array of numbers) and labels of any kind.

    Examples
    --------
    >>> import pandas as pd, residual_mlp
    >>> pipe = residual_mlp.make_pipeline(random_state=0)
    >>> frame = pd.DataFrame({"size": [1.0, 2.0, None, 4.0] * 10, "colour": ["red", "blue"] * 20})
    >>> pipe.fit(frame, ["a", "b"] * 20).predict(frame.iloc[:2]).tolist()
    ['a', 'b']
    """
    encoder = TableEncoder(features=features, drop=drop, categorical=categorical, max_categories=max_categories,
                           dtype=dtype, standardize=standardize)
    return Pipeline([("columns", encoder), ("classifier", ResidualMLPClassifier(**classifier_params))])
