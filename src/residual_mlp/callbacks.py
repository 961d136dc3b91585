"""scikit-learn's callback API (`sklearn.callback`, scikit-learn 1.9 and later) for the estimator's epochs,
and one callback of this package: the gradient flow through the two paths of each skip connection.

Task tree, as scikit-learn's own estimators lay it out (`sklearn.callback.CallbackContext`):

- `ResidualMLPClassifier.fit` is one task, "fit", whose sequential subtasks are its epochs, "epoch" (with
  L-BFGS, its iterations). As in scikit-learn's L-BFGS bridge for LogisticRegression, an epoch's task begins
  when the previous one ends, so the task begun after the last epoch ends empty (`close`): ``max_iter + 1``
  subtasks at most.
- `partial_fit` is one task, "partial_fit", with no subtasks: it is one epoch.

At the end of every epoch each callback's ``on_fit_task_end`` may ask for ``fitted_estimator``: a copy of
the estimator holding a copy of that epoch's weights, ready to predict (ScoringMonitor scores it), with
``X``, ``y`` exactly as given to `fit` and ``metadata``
``{"sample_weight": ...}`` when weights were given. A callback returning True asks training to stop: the
run ends after that epoch with stop_reason "stopped", as when `fit`'s own `callback` returns True.

Where scikit-learn is older than 1.9, `CallbackSupportMixin` is an empty class: the estimator has no
`set_callbacks` and everything else works the same.
"""
from __future__ import annotations

import math

from . import devices, labels, sparse
from .monitor import copy

try:
    from sklearn.callback import CallbackSupportMixin, with_callbacks
    AVAILABLE = True  # scikit-learn >= 1.9
except ImportError:  # scikit-learn < 1.9: no callback API
    AVAILABLE = False

    class CallbackSupportMixin:
        """Stand-in for `sklearn.callback.CallbackSupportMixin` where scikit-learn has no callback API."""

    def with_callbacks(method):
        return method

MIN_SKLEARN = "1.9"  # the first scikit-learn with `sklearn.callback`


class EpochTasks:
    """The bridge between `train.fit`'s per-epoch hook and the estimator's callback tasks.

    Parameters
    ----------
    estimator : ResidualMLPClassifier
        Holds the callbacks (``set_callbacks``) and, before `fit` returns, the fitted attributes other than
        ``params_``, ``classes_`` and ``input_bias_`` (given here: a new model sets them only at the end).
    X : array-like (N, D), y : array-like (N,), sample_weight : array (N,) or None
        What the hooks receive: the data exactly as given to `fit` (a table stays a table), so that a
        snapshot scores it as the caller's own `predict` would.
    n_epochs : int or None
        Epochs the run may take: the fit task's subtasks are ``n_epochs + 1`` at most. None: `partial_fit`,
        one task and no subtasks.
    classes : array (C,), input_bias : bool
        The fitted attributes a snapshot needs beside its weights.
    """

    def __init__(self, estimator, X, y, sample_weight, n_epochs, classes, input_bias):
        self.estimator, self.X, self.y = estimator, X, y
        self.metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        self.fitted = {"classes_": classes, "input_bias_": input_bias}
        self.epochs = n_epochs is not None
        self.root = estimator._init_callback_context(
            task_name="fit" if self.epochs else "partial_fit", max_subtasks=(n_epochs + 1) if self.epochs else 0)
        self.root.call_on_fit_task_begin(estimator=estimator, X=X, y=y, metadata=self.metadata)
        self.task = None

    def begin(self, params):
        """Begin the first epoch's task from the initial weights (fit only)."""
        if self.epochs:
            self.task = self._begin_epoch(params)

    def __call__(self, state):
        """`train.fit`'s callback: end the epoch that just finished, begin the next; True to stop."""
        if not self.epochs:
            return False
        task, self.task = self.task, None  # ended once, even when a hook raises (Ctrl-C while scoring)
        stop = task.call_on_fit_task_end(
            estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata,
            reconstruction_attributes=lambda: self._snapshot(state.params))
        self.task = self._begin_epoch(state.params)
        return bool(stop)

    def abort(self):
        """End the open epoch task and the root task without a model: the fit failed (Diverged)."""
        if self.task is not None:
            task, self.task = self.task, None
            task.call_on_fit_task_end(estimator=self.estimator)
        self.root.call_on_fit_task_end(estimator=self.estimator)

    def close(self, params):
        """End the epoch task begun after the last epoch (empty) and the root task, weights `params`."""
        if self.task is not None:
            self.task.call_on_fit_task_end(estimator=self.estimator)
            self.task = None
        self.root.call_on_fit_task_end(estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata,
                                       reconstruction_attributes=lambda: self._snapshot(params))

    def _begin_epoch(self, params):
        task = self.root.subcontext(task_name="epoch")
        task.call_on_fit_task_begin(estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata,
                                    reconstruction_attributes=lambda: self._snapshot(params))
        return task

    def _snapshot(self, params):
        """The fitted attributes of a copy of the estimator at these weights (copied: training reuses them)."""
        return {"params_": tuple(copy(W) for W in params), **self.fitted}


class LeafTask:
    """A fit that is one task with no subtasks (`TableEncoder.fit`), so that a pipeline's callbacks (a
    ProgressBar set on the pipeline) reach every step. Use as ``with LeafTask(self, X, y): ...``; the task
    ends, with the fitted estimator, only when the block finishes without an error."""

    def __init__(self, estimator, X=None, y=None):
        self.estimator, self.X, self.y = estimator, X, y

    def __enter__(self):
        if AVAILABLE:
            self.task = self.estimator._init_callback_context(max_subtasks=0)
            self.task.call_on_fit_task_begin(estimator=self.estimator, X=self.X, y=self.y)
        return self

    def __exit__(self, kind, error, trace):
        if AVAILABLE and kind is None:
            self.task.call_on_fit_task_end(estimator=self.estimator, X=self.X, y=self.y,
                                           reconstruction_attributes={})
        return False


class GradientFlow:
    """A scikit-learn callback recording, at the end of every epoch, how the gradients of W1 and W2 split
    between the two paths of each skip connection (the seed's path 1 through W3 and the ReLU, path 2 through
    the skip r = q + t), and how large each residual branch is against its skip.

    Each record is `residual_mlp.flow.flow_stats` of that epoch's weights on the data `fit` was given,
    all of its rows, with its sample weights (the network's input: with the column of ones when
    ``input_bias_``), plus ``"epoch"`` (1, 2, ...). Without early stopping, class weights or zero sample
    weights it equals what ``fit(record_flow=True)`` keeps in ``history_["flow"]``; with them, record_flow
    measures the training part as the loss sees it (after the validation split, with the class weights).
    Costs one forward and backward pass over the training set per epoch.

    Set it on the classifier (``ResidualMLPClassifier().set_callbacks(GradientFlow())``, or the pipeline's
    last step); needs scikit-learn 1.9 or later.

    Attributes
    ----------
    records : list of dict
        One dict of plain floats per epoch of the latest `fit` (a new fit starts a new list; each
        `partial_fit` call adds one).
    """

    def __init__(self):
        self.records = []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        if context.task_name == "fit":
            self.records = []  # a new run; each partial_fit adds to the current one

    def on_fit_task_end(self, estimator, context, *, X=None, y=None, metadata=None, fitted_estimator=None):
        if context.task_name not in ("epoch", "partial_fit") or fitted_estimator is None or X is None or y is None:
            return False
        from .flow import flow_stats

        est = fitted_estimator
        params = devices.to_host(est._params())
        x = est._checked_input(X)  # as predict sees it: validated, in the weights' dtype, with the input bias
        x = x if sparse.is_sparse(x) else devices.to_host(x)
        index = labels.class_index(est.classes_, devices.to_host(y))
        weight = None if metadata is None else metadata.get("sample_weight")
        weight = None if weight is None else devices.to_host(weight)
        stats = flow_stats(params, x, index, weight)
        self.records.append({"epoch": len(self.records) + 1, **stats})
        return False

    def as_frame(self):
        """The records as a pandas DataFrame, one row per epoch."""
        import pandas as pd

        return pd.DataFrame(self.records)

    def path1_share(self, weight="dW2"):
        """Per epoch, the share ||P1|| / (||P1|| + ||P2||) of path 1 in `weight` ("dW1" or "dW2")."""
        return [r.get(f"{weight}_path1_share", math.nan) for r in self.records]
