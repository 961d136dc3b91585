"""Bookkeeping after an epoch, shared by the epoch loop (train.py) and L-BFGS (lbfgs.py): early stopping,
reduce-on-plateau, the history's rows and the count of correct predictions."""
from __future__ import annotations

import numpy as np

from . import model, sparse
from .model import Params, array_namespace

try:
    from array_api_compat import device
except ImportError:  # pragma: no cover
    from sklearn.externals.array_api_compat import device

PLATEAU_FACTOR = 0.5    # reduce-on-plateau multiplies the learning rate by this ...
PLATEAU_PATIENCE = 5    # ... after this many epochs without improvement of the monitored loss
HISTORY_ROWS = ("loss", "accuracy", "val_loss", "val_accuracy", "val_score", "lr", "grad_norm", "elapsed", "flow")


def drop_unfinished_row(history, n_rows):
    """Keep `n_rows` rows in every per-epoch list: an interrupt may land between two appends."""
    for name in HISTORY_ROWS:
        del getattr(history, name)[n_rows:]


def monitor(state, hyper):
    """Early stopping and reduce-on-plateau bookkeeping after an epoch; True to stop.

    With early stopping, the best weights are copied (new arrays, never written in place later: a
    caller may hold them) after the previous best copy is released.
    """
    history = state.history
    # this run's validation set, if it has one (a resumed history may hold an earlier run's)
    if hyper.get("metric") is not None and history.val_score:
        monitored = -history.val_score[-1]  # a score: higher is better
    else:
        monitored = history.val_loss[-1] if hyper["validated"] else history.loss[-1]
    improved = monitored < state.monitor_best - hyper["tol"]
    if monitored < state.monitor_best:
        state.monitor_best = monitored
        history.best_epoch = state.epoch - 1
        if hyper["patience"] is not None:
            state.best_params = None  # release the old copy first: one set of best weights at a time
            state.best_params = Params(*(copy(W) for W in state.params))
    if improved:
        state.monitor_bad = state.plateau_bad = 0
    else:
        state.monitor_bad += 1
        state.plateau_bad += 1
    if hyper["lr_schedule"] == "plateau" and state.plateau_bad >= PLATEAU_PATIENCE:
        state.lr_scale *= PLATEAU_FACTOR
        state.plateau_bad = 0
    if hyper["patience"] is not None and state.monitor_bad >= hyper["patience"]:
        history.stop_reason = "early_stopping"
        what = ("validation score" if hyper.get("metric") is not None else
                "validation loss" if hyper["validated"] else "training loss")
        history.message = (f"stopped early at epoch {state.epoch}: the {what} did not improve by more "
                           f"than {hyper['tol']:g} for {hyper['patience']} epochs; restored epoch "
                           f"{history.best_epoch + 1}")
        return True
    return False


def n_correct(theta, y, w):
    """Correct predictions among the rows of theta (N, C): a count, or the sum of their weights.

    theta, y and w are arrays of one array API library (NumPy, torch, CuPy, ...) on one device."""
    if isinstance(theta, np.ndarray):
        hit = theta.argmax(axis=1) == y
        return float(np.count_nonzero(hit)) if w is None else float(w[hit].sum())
    return float(correct_xp(theta, y, w))


def n_hits(predicted, y, w):
    """n_correct from the predicted classes (N,) of NumPy: a count, or the sum of the hits' weights."""
    hit = predicted == y
    return float(np.count_nonzero(hit)) if w is None else float(w[hit].sum())


def correct_xp(theta, y, w):
    """n_correct as a 0-d array of theta's library and device (no transfer to the host)."""
    xp = array_namespace(theta)
    hit = xp.argmax(theta, axis=1) == y                                   # (N,)
    if w is None:
        return xp.sum(xp.astype(hit, theta.dtype))
    return xp.sum(xp.where(hit, w, xp.zeros((), dtype=w.dtype, device=device(w))))


def accuracy_of(theta, y):
    """The fraction of rows of theta (N, C) whose argmax is y (N,), as a float."""
    if isinstance(theta, np.ndarray):
        return float(np.mean(theta.argmax(1) == y))
    return float(correct_xp(theta, y, None)) / theta.shape[0]


def copy(W):
    """A new array equal to W, of its library and on its device."""
    if isinstance(W, np.ndarray):
        return W.copy()
    return array_namespace(W).asarray(W, copy=True)


def all_finite(params):
    """True when every entry of every weight matrix is finite (one transfer per matrix off a device)."""
    if all(isinstance(W, np.ndarray) for W in params):
        return all(np.isfinite(W).all() for W in params)
    return all(bool(array_namespace(W).all(array_namespace(W).isfinite(W))) for W in params)


def validation_row(params, validation, metric=None):
    """(loss, accuracy, score or None) of the network on the validation set (X_val, y_val, w_val).

    The loss is the mean cross-entropy, weighted by w_val when it is given (class weights); the
    accuracy counts rows; the score is metric's: "accuracy", or metric(params, X_val, y_val, w_val).
    """
    X_val, y_val, w_val = validation
    if sparse.is_sparse(X_val):  # by blocks of rows: theta, y_hat and log_y_hat only
        acts = sparse.forward(params, X_val)
    else:
        acts = model.forward(params, X_val)
    loss, _ = model.cross_entropy(acts, y_val, w_val)
    accuracy = accuracy_of(acts.theta, y_val)
    if metric is None:
        score = None
    elif metric == "accuracy":
        score = accuracy
    else:
        score = float(metric(params, X_val, y_val, w_val))
    return float(loss), accuracy, score


def append_validation_row(history, params, validation, metric=None):
    """Append this epoch's validation loss, accuracy (and score, with a metric) to the history."""
    loss, accuracy, score = validation_row(params, validation, metric)
    history.val_loss.append(loss)
    history.val_accuracy.append(accuracy)
    if score is not None:
        history.val_score.append(score)
