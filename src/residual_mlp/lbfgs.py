"""L-BFGS: scipy's L-BFGS-B on the four weight matrices flattened into one vector.

The objective is the one every other optimizer minimises, weight decay included:

    f(W) = L(W) + weight_decay/2 (||W1||^2 + ||W2||^2 + ||W3||^2 + ||W4||^2)
    df/dWk = dWk + weight_decay Wk          (dWk: the seed's closed-form gradients of L)

with L and dW1..dW4 from `model.forward`, `model.cross_entropy` and `model.backward`. Full batch;
one L-BFGS-B iteration is one epoch of the history. scipy iterates in float64; each evaluation casts
the iterate to the training dtype first, so float32 weights are trained (and returned) in float32.

On a device (torch, CuPy, ... arrays; see `devices.py`): scipy works on the host, so every evaluation
copies one flat vector of all the weights to the device and one flat gradient vector back (2 P
numbers, P = the number of weights), plus a few scalars; forward and backward run on the device.

History rows mean what they mean for full-batch gradient descent: `loss`, `accuracy` and
`grad_norm` are measured at the weights entering iteration k, `val_*` and `flow` at the weights
leaving it. `lr` is recorded as nan: L-BFGS-B picks its own step length by a line search, and the
`lr` argument of `fit` does not apply to it.

Stopping: "converged" when scipy reports convergence (max |df/dW| <= tol, or a relative decrease
of f below scipy's `ftol`), "max_epochs" after `epochs` iterations, "stalled" when the line search
finds no further decrease, "early_stopping" (with `patience`), "non_finite", "interrupted". The
L-BFGS memory is not part of the TrainState: a resumed run continues from the weights with a
fresh memory.
"""
from __future__ import annotations

import math
import time

import numpy as np
from scipy.optimize import minimize

from . import devices, model, sparse
from .model import Params
from .monitor import drop_unfinished_row, monitor, n_correct, validation_row


class _NonFinite(Exception):
    """The objective or its gradient is not finite at a trial point."""


class _EarlyStop(Exception):
    """Early stopping asks L-BFGS-B to end."""


def fit_lbfgs(state, X, y, sample_weight, validation, *, epochs, lr, weight_decay, tol,
              record_flow, callback, patience=None, metric=None):
    """Run L-BFGS-B from `state` until `epochs` iterations in all; returns the updated TrainState.

    X (N, D) and the validation pair are in the training dtype already (see `train.fit`); `lr` is
    accepted for a uniform call and not used; `tol` is scipy's `gtol` and early stopping's `tol`.
    """
    history = state.history
    X_val = None if validation is None else validation[0]
    dtype = state.params.W1.dtype
    shapes = [W.shape for W in state.params]
    bounds = np.cumsum([0] + [math.prod(W.shape) for W in state.params])
    total = X.shape[0] if sample_weight is None else float(devices.namespace(sample_weight).sum(sample_weight))
    monitor_options = dict(tol=tol, patience=patience, lr_schedule="constant", validated=X_val is not None,
                           metric=metric if X_val is not None else None)
    start = time.perf_counter() - (history.elapsed[-1] if history.elapsed else 0.0)

    host = isinstance(state.params.W1, np.ndarray)
    # a sparse X: loss and gradients summed over blocks of rows, in buffers reused by every evaluation
    block_sums = sparse.BlockSums(state.params, X.shape[0]) if sparse.is_sparse(X) else None
    if not host:  # weights on a device: one flat vector goes there, and one comes back, per evaluation
        xp, dev = devices.namespace(X), devices.device(X)
        host_dtype = devices.numpy_dtype(dtype)

    def unflatten(vector):
        if not host:
            flat = xp.asarray(vector.astype(host_dtype), device=dev)  # (P,) on the device
            return Params(*(xp.reshape(flat[a:b], shape) for a, b, shape in zip(bounds[:-1], bounds[1:], shapes)))
        return Params(*(vector[a:b].reshape(shape).astype(dtype)
                        for a, b, shape in zip(bounds[:-1], bounds[1:], shapes)))

    def evaluate(vector):
        """(f, df as float64 (P,), statistics of the data loss) at the weights `vector` (P,)."""
        if not host:
            return evaluate_xp(vector)
        params = unflatten(vector)
        if block_sums is not None:
            loss, grads, correct = sparse.loss_and_grads(block_sums, params, X, y, sample_weight)
        else:
            acts = model.forward(params, X)
            loss, dtheta = model.cross_entropy(acts, y, sample_weight)
            grads = model.backward(params, acts, dtheta)
            correct = n_correct(acts.theta, y, sample_weight)
        penalty = 0.0
        if weight_decay:
            for W, dW in zip(params, grads):
                dW += weight_decay * W
                penalty += 0.5 * weight_decay * float(np.vdot(W, W))
        norm = math.sqrt(sum(float(np.vdot(dW, dW)) for dW in grads))
        if not (math.isfinite(float(loss)) and math.isfinite(norm)):
            raise _NonFinite
        stats = (float(loss), correct / total, norm)
        df = np.concatenate([dW.ravel() for dW in grads]).astype(np.float64, copy=False)  # (P,)
        return float(loss) + penalty, df, stats

    def evaluate_xp(vector):
        """evaluate() on the device: the flat gradient comes to the host as one vector."""
        params = unflatten(vector)
        acts = model.forward(params, X)
        loss, dtheta = model.cross_entropy(acts, y, sample_weight)
        grads = model.backward(params, acts, dtheta)
        penalty = 0.0
        if weight_decay:
            grads = Params(*(dW + W * weight_decay for W, dW in zip(params, grads)))
            penalty = 0.5 * weight_decay * float(sum(float(xp.sum(W * W)) for W in params))
        flat = xp.concat([xp.reshape(dW, (-1,)) for dW in grads])            # (P,) on the device
        df = devices.to_host(flat).astype(np.float64, copy=False)            # (P,) on the host
        norm = math.sqrt(float(np.dot(df, df)))
        if not (math.isfinite(float(loss)) and math.isfinite(norm)):
            raise _NonFinite
        stats = (float(loss), n_correct(acts.theta, y, sample_weight) / total, norm)
        return float(loss) + penalty, df, stats

    last = {}  # the latest evaluation: scipy's accepted iterate is almost always the latest trial

    def objective(vector):
        f, df, stats = evaluate(vector)
        last.update(vector=vector.copy(), stats=stats)
        return f, df

    def stats_at(vector):
        if "vector" not in last or not np.array_equal(last["vector"], vector):
            objective(vector)
        return last["stats"]

    x0 = np.concatenate([devices.to_host(W).ravel() for W in state.params]).astype(np.float64, copy=False)
    entering = {}

    def on_iteration(xk):
        """Called by scipy after each iteration with the new iterate xk (a buffer it reuses)."""
        loss, accuracy, norm = entering["stats"]
        params = unflatten(xk)
        entering["stats"] = stats_at(xk)  # the next row's training numbers, at xk
        row_val = None if validation is None else validation_row(params, validation, monitor_options["metric"])
        row_flow = None
        if record_flow:
            from .flow import flow_stats
            row_flow = flow_stats(*(devices.to_host(a) for a in (params, X, y, sample_weight)))
        # The row is complete: commit it and the weights together.
        history.loss.append(loss)
        history.accuracy.append(accuracy)
        history.lr.append(math.nan)
        history.grad_norm.append(norm)
        if row_val is not None:
            history.val_loss.append(row_val[0])
            history.val_accuracy.append(row_val[1])
            if row_val[2] is not None:
                history.val_score.append(row_val[2])
        if row_flow is not None:
            history.flow.append(row_flow)
        history.elapsed.append(time.perf_counter() - start)
        state.params = params
        state.epoch += 1
        state.opt_state["step"] = state.opt_state.get("step", 0) + 1
        stop = monitor(state, monitor_options)
        if callback is not None and callback(state) is True and not stop:
            _finish(history, "stopped", f"stopped at epoch {state.epoch}, as the callback asked")
            stop = True
        if stop:
            raise _EarlyStop

    maxiter = int(epochs) - state.epoch
    if maxiter < 1:
        _finish(history, "max_epochs", f"reached the maximum number of epochs ({epochs})")
        return state
    run(objective, x0, on_iteration, state, epochs=epochs, tol=tol,
        first=lambda: entering.update(stats=stats_at(x0)))
    if history.stop_reason == "early_stopping" and state.best_params is not None:
        state.params = state.best_params  # no copy: neither is ever written in place
    return state


def run(objective, x0, on_iteration, state, *, epochs, tol, first=None):
    """scipy's L-BFGS-B from x0 (P,) for the iterations left to `epochs`; writes how it ended
    (`stop_reason`, `message`) into state.history. Shared by `fit_lbfgs` and the Dask loop.

    `objective(x)` returns (f, df); `on_iteration(xk)` commits one history row per iteration and
    raises _EarlyStop to end the run; either raises _NonFinite at a non-finite point. `first()`, if
    given, runs inside the same handlers before the first iteration. Convergence: max |df| <= tol
    (scipy's gtol) or a relative decrease of f below tol (its ftol).
    """
    history = state.history
    maxiter = int(epochs) - state.epoch
    try:
        if first is not None:
            first()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            # an overflow shows as a non-finite loss or gradient, which the objective reports
            result = minimize(objective, x0, jac=True, method="L-BFGS-B", callback=on_iteration,
                              options=dict(maxiter=maxiter, maxfun=20 * maxiter + 20, gtol=tol, ftol=tol))
    except _NonFinite:
        _finish(history, "non_finite",
                f"the loss or its gradient became non-finite at epoch {state.epoch + 1} (L-BFGS-B); "
                f"training stopped and kept the last finite weights: standardize the features or "
                f"add weight decay")
    except _EarlyStop:
        pass  # monitor (or the callback) wrote the reason and the message
    except KeyboardInterrupt:
        drop_unfinished_row(history, state.epoch)
        _finish(history, "interrupted",
                f"interrupted after {state.epoch} epochs; kept the weights of the last iteration")
    else:
        if result.success:
            _finish(history, "converged", f"L-BFGS-B converged at epoch {state.epoch} "
                                          f"({_scipy_reason(result)})")
        elif state.epoch >= epochs:
            _finish(history, "max_epochs", f"reached the maximum number of epochs ({epochs})")
        else:
            _finish(history, "stalled", f"L-BFGS-B stopped at epoch {state.epoch}: the line search "
                                        f"found no further decrease ({_scipy_reason(result)}); kept the "
                                        f"weights of the last iteration")


def _finish(history, reason, message):
    history.stop_reason = reason
    history.message = message


def _scipy_reason(result):
    message = result.message.decode() if isinstance(result.message, bytes) else str(result.message)
    return f"scipy: {message.strip().rstrip(':')}"
