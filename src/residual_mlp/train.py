"""The training loop: the seed's full-batch gradient descent, and the options people expect on top.

With the defaults, `fit` is exactly the seed's Training Equations: each epoch is one full-batch step
W <- W - lr dL/dW for all four matrices at once. Every other option reuses the same gradients
(`model.forward`, `model.cross_entropy`, `model.backward`, computed in reused buffers by
`workspace.py`); L-BFGS lives in `lbfgs.py`.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from . import devices, model, optim, resources, sparse, threads, workspace
from .lbfgs import fit_lbfgs
from .model import Params
from .monitor import (  # noqa: F401  (the plateau constants: where they were before)
    PLATEAU_FACTOR,
    PLATEAU_PATIENCE,
    all_finite,
    append_validation_row,
    copy,
    correct_xp,
    drop_unfinished_row,
    monitor,
    n_correct,
    n_hits,
)

SCHEDULES = ("constant", "cosine", "plateau")
DIVERGENCE_FACTOR = 10  # a loss above this many times the first epoch's means the run diverged
DIVERGED = ("non_finite", "diverged")  # the stop reasons of a run that diverged


@dataclass
class History:
    """Per-epoch record of a run. `loss[k]` is the training loss L of epoch k.

    Full batch: L at the start of step k (before its update), exactly the seed's L.
    Mini-batch: the mean of the batch losses met during epoch k, weighted by batch size.
    `accuracy` is measured on the same forward passes; `val_*` at the end of each epoch.
    `grad_norm` is the Frobenius norm of the whole gradient (all four matrices, weight decay included),
    averaged over the epoch's steps. `elapsed` is wall time since the start, in seconds. `best_epoch` is
    the row (0-based) of the epoch whose weights early stopping kept: epoch ``best_epoch + 1`` in the
    1-based count of `message`.
    """

    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    val_score: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    elapsed: list = field(default_factory=list)
    flow: list = field(default_factory=list)
    stop_reason: str = ""
    message: str = ""
    best_epoch: int | None = None

    def __len__(self):
        return len(self.loss)

    def as_dict(self):
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items()}


@dataclass
class TrainState:
    """Everything a run needs to continue exactly where it was: a checkpoint holds this."""

    params: Params
    opt_state: dict
    epoch: int
    seed: int
    history: History
    lr_scale: float = 1.0               # reduce-on-plateau's factor so far
    monitor_best: float = math.inf      # best monitored loss (plateau and early stopping)
    monitor_bad: int = 0                # epochs since it improved (early stopping)
    plateau_bad: int = 0                # epochs since it improved (reduce-on-plateau)
    best_params: Params | None = None   # weights at the best monitored loss
    previous_params: Params | None = None  # weights before the latest step, to undo a non-finite one


def fit(params: Params, X, y, *, lr=0.1, epochs=100, batch_size=None, optimizer="gd",
        momentum=0.9, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, lr_schedule="constant",
        validation_fraction=None, validation_data=None, patience=None, tol=1e-4, shuffle=True,
        seed=None, sample_weight=None, class_weight=None, validation_metric=None, n_threads=None,
        record_flow=False, progress=False, callback=None, resume=None, return_state=False):
    """Train the network; returns ``(params, history)`` (and the final state if `return_state`).

    Parameters
    ----------
    params : Params
        Initial weights (see `init_params`); never modified. W1's dtype is the training dtype (the
        other matrices are converted to it).
    X : array (N, D)
        Features, one sample per row: NumPy, or an array of any array API library (torch, CuPy,
        array-api-strict), which `fit` trains on where it lives (the weights, y and the sample and class
        weights are moved there; the result is of that library and device). Or a SciPy sparse matrix
        or array of any format (converted once to CSR, in the weights' dtype), never densified whole:
        mini-batches densify their B rows; full batch and L-BFGS sum the loss and gradients over
        blocks of `sparse.block_rows` rows (a dense block and its activations in about 4 MiB,
        or in one copy of the weights when that is larger),
        equal to the dense result within float rounding; validation, `record_flow` and predictions
        run by blocks too (see `sparse.py`). Sparse X needs NumPy weights.
    y : array (N,)
        Integer class indices in [0, C).
    lr : float
        Learning rate alpha (the initial one when a schedule is used).
    epochs : int
        Number of epochs; with full batch an epoch is one step. With `resume`, the total to reach.
    batch_size : int or None
        None: full batch, the seed's training. An int: mini-batches, reshuffled every epoch.
    optimizer : {"gd", "momentum", "nesterov", "adam", "lbfgs"}
        "gd" is the seed's rule (plain SGD with mini-batches); the others follow `torch.optim`
        (SGD with momentum / Nesterov and zero dampening; Adam with bias correction). "lbfgs"
        is scipy's L-BFGS-B on the flattened weights, full batch, one epoch per iteration; it
        stops on scipy's convergence test (largest gradient entry <= `tol`, or a negligible
        relative decrease) and ignores `lr`, `lr_schedule`, `momentum`, `betas` and `eps` (its
        history records lr as nan; see `lbfgs.py`).
    momentum, betas, eps : float, (float, float), float
        Hyper-parameters of momentum/nesterov and adam.
    weight_decay : float
        Adds ``weight_decay * W`` to every gradient: an L2 penalty ``weight_decay/2 ||W||^2``.
    lr_schedule : {"constant", "cosine", "plateau"}
        Constant; cosine decay from `lr` to 0 over `epochs`; or halve the rate after 5 epochs
        without improvement of the validation loss (training loss when there is no validation set).
    validation_fraction : float or None
        Hold out this stratified fraction of (X, y), split with `seed`, as a validation set.
    validation_data : (X_val, y_val) or None
        An explicit validation set instead.
    patience : int or None
        Early stopping: stop after this many epochs in which the monitored loss (validation loss,
        or training loss without a validation set) did not improve by more than `tol`, and
        restore the weights of the best epoch (those at the end of it). None: no early stopping.
    tol : float
        An improvement of the monitored loss by `tol` or less counts as none (early stopping,
        reduce-on-plateau); for "lbfgs" also scipy's `gtol`.
    shuffle : bool
        Reshuffle the mini-batches every epoch (from `seed` and the epoch number).
    seed : int or None
        Seeds shuffling and the validation split; the same seed gives bit-identical runs.
    sample_weight : array (N,) or None
        Per-sample weights of the loss: ``sum_i w_i J_i / sum_i w_i``.
    class_weight : array (C,) or None
        A weight per class index, multiplying the sample weights of the training rows; the
        validation loss (and a validation metric that takes weights) weighs its rows by it too.
    validation_metric : None, "accuracy" or callable(params, X_val, y_val, w_val) -> float
        What early stopping (and reduce-on-plateau) watches on the validation set: None, the
        validation loss; otherwise a score, higher is better, recorded in ``history.val_score``. A
        callable gets arrays of X's library and device.
    n_threads : int or None
        BLAS threads for this call. None: `threads.blas_threads` chooses by the size of the
        products (one thread for small ones), unless an ``*_NUM_THREADS`` variable is set.
    record_flow : bool
        Record, every epoch, how the gradients of W1 and W2 split between the two paths of each
        skip connection (see `flow.flow_stats`) into ``history.flow``.
    progress : bool
        Show a progress bar with the current loss.
    callback : callable(TrainState) or None
        Called after every finished epoch, once its history row, early stopping and the
        schedule are settled (used for checkpoints). Returning True ends the run there, with
        stop_reason "stopped" (a time limit, say). A KeyboardInterrupt raised in it after
        epoch k ends the run with the weights of k epochs, as Ctrl-C there would.
    resume : TrainState or None
        Continue a previous run from its state (then `params` is ignored).

    Returns
    -------
    params : Params
        The trained weights (arrays that are not the caller's; with `return_state` they are those of
        the state's ``params``: modify neither in place). On a non-finite loss: the last finite weights.
    history : History
        Per-epoch records and ``stop_reason`` ("max_epochs", "early_stopping", "non_finite",
        "diverged", "interrupted", "stopped" (the callback asked); with L-BFGS also "converged" and
        "stalled") with a one-line
        ``message``. On Ctrl-C: the weights of the last finished step (mid-epoch with mini-batches)
        and the rows of the finished epochs.

    Divergence
    ----------
    A run diverged when its loss or gradient becomes non-finite (stop_reason "non_finite": the step
    that broke the weights is undone and its epoch has no row) or when an epoch's loss exceeds
    ``DIVERGENCE_FACTOR`` (10) times the first epoch's (stop_reason "diverged": that epoch's row and
    weights are kept). Both are listed in ``DIVERGED``; the message names the epoch, the loss and
    the learning rate, and asks for a smaller one. No numpy floating-point warning is emitted.

    Memory
    ------
    Before anything is allocated, `resources.check_training_memory` compares what the run will hold
    with what the machine allows and raises `resources.InsufficientMemory` (a MemoryError and an
    InputError, one line) when it does not fit. Weight-sized arrays held at once, P = all four
    matrices: 2 P for the weights and the weights before the latest step (to undo a non-finite one),
    1 P of gradients (shared by all batch shapes), the optimizer's slots (momentum 1 P, Adam 2 P),
    and with `patience` 1 P of best weights: 3 P for "gd", 4 P momentum, 5 P Adam, plus 1 P with
    early stopping. The result is handed over without a further copy. X of another array library
    (torch, CuPy, ... on a device; see `devices.py`) is not checked: the device's memory is not the host's.

    Raises
    ------
    ValueError
        Bad options, labels or sample weights (negative, non-finite, a sum that overflows, none
        positive in the training part of a validation split), or a `resume` state without the
        optimizer's slots.
    resources.InsufficientMemory
        The run would not fit in the memory available.
    """
    _check_options(lr, epochs, batch_size, optimizer, weight_decay, lr_schedule, patience)
    start = params if resume is None else resume.params
    given = {id(W) for W in start}  # the caller's arrays: never handed back as the result
    on_device = not devices.is_host(X)  # torch, CuPy, ... arrays: the weights move to X's device
    if on_device:
        if resume is None:
            params = devices.to_device(params, X)
        else:
            _state_to_device(resume, X)
    else:
        check_memory(X, start.W1.shape[0], start.W2.shape[0], start.W4.shape[0], start.W1.dtype,
                     batch_size=batch_size, optimizer=optimizer, validation_fraction=validation_fraction,
                     validation_data=validation_data, patience=patience, shuffle=shuffle)
    if resume is not None:
        _check_resumable(resume, optimizer)
    X, y, sample_weight, (X_val, y_val), seed = _prepare_data(
        params if resume is None else resume.params, X, y, sample_weight,
        validation_fraction, validation_data, seed if resume is None else resume.seed)
    w_val = None
    if class_weight is not None:
        if on_device:  # the weights of the rows, taken on X's device
            xp = devices.namespace(X)
            class_weight = xp.asarray(devices.to_host(class_weight), dtype=X.dtype, device=devices.device(X))
            row_weight = xp.take(class_weight, y)
            sample_weight = row_weight if sample_weight is None else sample_weight * row_weight
            w_val = None if X_val is None else xp.take(class_weight, y_val)
        else:
            class_weight = np.asarray(class_weight, dtype=X.dtype)
            sample_weight = class_weight[y] if sample_weight is None else sample_weight * class_weight[y]
            w_val = None if X_val is None else class_weight[y_val]
    validation = None if X_val is None else (X_val, y_val, w_val)
    if resume is None:
        # the caller's arrays, read only: the loop copies them into buffers of its own before a step
        state = TrainState(params=Params(*params), opt_state=optim.init_state(optimizer, params), epoch=0,
                           seed=seed, history=History())
    else:
        state = resume
        validated_before = len(state.history.val_loss) == len(state.history.loss) > 0
        if validated_before != (X_val is not None):
            # the monitored loss changes meaning (validation <-> training): its best so far is void
            state.monitor_best, state.monitor_bad, state.plateau_bad = math.inf, 0, 0
            state.best_params = None
    B = X.shape[0] if batch_size is None or optimizer == "lbfgs" else min(int(batch_size), X.shape[0])
    D, M = start.W2.shape[1], start.W2.shape[0]
    with threads.limited(threads.blas_threads(B, D, M, n_threads)):
        if optimizer == "lbfgs":
            state = fit_lbfgs(state, X, y, sample_weight, validation, epochs=epochs, lr=lr,
                              weight_decay=weight_decay, tol=tol, record_flow=record_flow,
                              callback=callback, patience=patience, metric=validation_metric)
        else:
            hyper = dict(lr=lr, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                         momentum=momentum, betas=betas, eps=eps, weight_decay=weight_decay,
                         lr_schedule=lr_schedule, patience=patience, tol=tol, shuffle=shuffle,
                         validated=X_val is not None, metric=validation_metric if X_val is not None else None)
            # Overflow and invalid operations show as a non-finite loss or gradient, which the loop
            # reports in the history: numpy's own warnings would only repeat it, with source lines.
            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                run = _run_xp if on_device else _run
                run(state, X, y, sample_weight, validation, hyper, record_flow, progress, callback)
    if any(id(W) in given for W in state.params):
        params_out = Params(*(copy(W) for W in state.params))  # no step was taken: new arrays
    else:
        params_out = Params(*state.params)  # the loop's own buffers, handed over without a copy
    if return_state:
        return params_out, state.history, state
    return params_out, state.history


def _run(state, X, y, sample_weight, validation, hyper, record_flow, progress, callback):
    history = state.history
    N = X.shape[0]
    B = N if hyper["batch_size"] is None else min(int(hyper["batch_size"]), N)
    epochs, optimizer, weight_decay = hyper["epochs"], hyper["optimizer"], hyper["weight_decay"]
    momentum, betas, eps = hyper["momentum"], hyper["betas"], hyper["eps"]
    base_lr, lr_schedule = hyper["lr"], hyper["lr_schedule"]
    shuffled = hyper["shuffle"] and B < N
    total = N if sample_weight is None else float(sample_weight.sum())  # an epoch's share of the loss
    # Double buffering: a step writes the new weights into `spare`, then the two swap, so the weights
    # before the latest step stay at hand (state.previous_params) until the next step. Both sets are
    # views of one flat buffer each (as are the gradients and the optimizer's slots, see
    # workspace.packed), in W1's dtype (the copy converts matrices given in another): weight decay and
    # each operation of an update rule are then one ufunc call, not four.
    stepped = state.previous_params is not None
    dtype = state.params.W1.dtype
    shapes = [W.shape for W in state.params]
    params_flat, params = workspace.packed(shapes, dtype)
    spare_flat, spare = workspace.packed(shapes, dtype)
    for W_to, W_from in zip(params, state.params):
        W_to[...] = W_from  # never step in the caller's arrays
    if stepped:
        for W_to, W_from in zip(spare, state.previous_params):
            W_to[...] = W_from
        state.previous_params = spare
    state.params = params
    step_state = {"step": state.opt_state["step"]}
    for key in [k for k in state.opt_state if k != "step"]:  # one slot at a time: at most 1 P more at once
        slot_flat, slot = workspace.packed(shapes, dtype)
        for A_to, A_from in zip(slot, state.opt_state[key]):
            A_to[...] = A_from
        state.opt_state[key], step_state[key] = slot, (slot_flat,)
    # the step's buffers, one set of activations per batch shape, one gradient buffer for all
    workspaces = workspace.Workspaces(state.params)
    decay_scratch = np.empty(min(params_flat.size, 1 << 16), dtype) if weight_decay else None
    # sparse X: rows densified batch by batch (full batch: block by block), see sparse.py
    sparse_batches = sparse.Batches(X, y, sample_weight, B, workspaces, state.params) if sparse.is_sparse(X) else None
    # unshuffled batches are the same views every epoch: made once
    fixed_batches = (None if shuffled else sparse_batches if sparse_batches is not None else
                     tuple(_batches(X, y, sample_weight, None, B, workspaces, with_workspace=True)))
    isfinite, sqrt, vdot = math.isfinite, math.sqrt, np.vdot
    start = time.perf_counter() - (history.elapsed[-1] if history.elapsed else 0.0)
    bar = _progress_bar(progress, state.epoch, epochs)
    lr = base_lr
    try:
        while state.epoch < epochs:
            lr = base_lr * state.lr_scale * _schedule_factor(lr_schedule, state.epoch, epochs)
            if shuffled:  # a generator only when shuffling
                order = np.random.default_rng([state.seed, state.epoch]).permutation(N)
                batches = (sparse_batches.epoch(order) if sparse_batches is not None else
                           _batches(X, y, sample_weight, order, B, workspaces, with_workspace=True))
            else:
                batches = fixed_batches
            loss_sum = correct = norm_sum = 0.0
            n_steps = 0
            finite = True
            for ws, Xb, yb, wb in batches:
                # model.forward, model.cross_entropy and model.backward, computed in reused buffers
                loss = ws.loss(state.params, Xb, yb, wb)
                if not isfinite(loss):
                    finite = False
                    break
                ws.backward(state.params)
                if weight_decay:
                    _add_scaled(ws.grads_flat, weight_decay, params_flat, decay_scratch)
                # one dot product over all four gradients (the gaps between them hold zeros)
                norm = sqrt(float(vdot(ws.grads_flat, ws.grads_flat)))
                if not isfinite(norm):
                    finite = False
                    break
                loss_sum += float(loss) * (Xb.shape[0] if wb is None else float(wb.sum()))
                correct += n_hits(ws.predicted, yb, wb)
                norm_sum += norm
                n_steps += 1
                # the same elementwise operations as one matrix at a time, in one buffer
                optim.step(optimizer, (params_flat,), (ws.grads_flat,), step_state,
                           (spare_flat,), lr=lr, momentum=momentum, betas=betas, eps=eps)
                state.opt_state["step"] = step_state["step"]
                # `spare` now holds the new weights; the old ones stay valid until this swap.
                state.params, spare = spare, state.params
                params_flat, spare_flat = spare_flat, params_flat
                state.previous_params = spare
                stepped = True
            if not finite:
                if stepped:  # the latest step broke the weights: go back to the ones before it
                    state.params, state.previous_params = spare, None
                _stop_non_finite(history, state.epoch + 1, lr)
                break
            if _end_epoch(state, hyper, lr, (loss_sum, correct, norm_sum, n_steps, total),
                          (X, y, sample_weight, validation), record_flow, start, bar, callback):
                break
        else:
            _max_epochs(state, hyper, lr, stepped, spare)
    except KeyboardInterrupt:
        _interrupted(state)
    finally:
        if bar is not None:
            bar.close()
    if history.stop_reason == "early_stopping" and state.best_params is not None:
        state.params = state.best_params  # no copy: neither is ever written in place


def _end_epoch(state, hyper, lr, sums, data, record_flow, start, bar, callback):
    """After an epoch's steps, in both loops: its history row, validation, flow, early stopping and
    the schedule (monitor.py), divergence, the progress bar and the callback; True to stop."""
    history = state.history
    loss_sum, correct, norm_sum, n_steps, total = sums
    X, y, sample_weight, validation = data
    history.loss.append(loss_sum / total)
    history.accuracy.append(correct / total)
    history.lr.append(lr)
    history.grad_norm.append(norm_sum / n_steps)
    if validation is not None:
        append_validation_row(history, state.params, validation, hyper["metric"])
    if record_flow:
        from .flow import flow_stats
        history.flow.append(flow_stats(*(devices.to_host(a) for a in (state.params, X, y, sample_weight))))
    history.elapsed.append(time.perf_counter() - start)
    state.epoch += 1
    stop = monitor(state, hyper)
    if history.loss[-1] > DIVERGENCE_FACTOR * history.loss[0]:
        _stop_diverged(history, state.epoch, lr)
        stop = True
    if bar is not None:
        bar.update(1)
        bar.set_postfix(loss=f"{history.loss[-1]:.4f}")
    if callback is not None and callback(state) is True and not stop:
        history.stop_reason = "stopped"
        history.message = f"stopped at epoch {state.epoch}, as the callback asked"
        stop = True
    return stop


def _max_epochs(state, hyper, lr, stepped, before):
    """The loop ran all its epochs: say so, unless the last step broke the weights (then undo it)."""
    state.history.stop_reason = "max_epochs"
    state.history.message = f"reached the maximum number of epochs ({hyper['epochs']})"
    if stepped and not all_finite(state.params):
        state.params, state.previous_params = before, None
        _stop_non_finite(state.history, state.epoch, lr)


def _interrupted(state):
    # The swap of weights is the only place they change, so state.params is a finished step.
    drop_unfinished_row(state.history, state.epoch)
    state.history.stop_reason = "interrupted"
    state.history.message = f"interrupted after {state.epoch} epochs; kept the weights of the last step"


def _run_xp(state, X, y, sample_weight, validation, hyper, record_flow, progress, callback):
    """The epoch loop for arrays of any array API library on any device (torch, CuPy, ...).

    The same steps as `_run`, computed by model.py's plain formulas and `optim.step_xp` (new arrays
    every step, no buffers reused); the bookkeeping is `_run`'s own (`_end_epoch`, monitor.py). Each
    step brings three numbers to the host (loss, squared gradient norm, correct predictions) in one
    transfer; everything else stays on the device.
    """
    xp, dev = devices.namespace(X), devices.device(X)
    history = state.history
    N = X.shape[0]
    B = N if hyper["batch_size"] is None else min(int(hyper["batch_size"]), N)
    epochs, optimizer, weight_decay = hyper["epochs"], hyper["optimizer"], hyper["weight_decay"]
    step_options = dict(momentum=hyper["momentum"], betas=hyper["betas"], eps=hyper["eps"])
    base_lr, lr_schedule = hyper["lr"], hyper["lr_schedule"]
    shuffled = hyper["shuffle"] and B < N
    total = N if sample_weight is None else float(xp.sum(sample_weight))
    stepped = state.previous_params is not None
    start = time.perf_counter() - (history.elapsed[-1] if history.elapsed else 0.0)
    bar = _progress_bar(progress, state.epoch, epochs)
    lr = base_lr
    try:
        while state.epoch < epochs:
            lr = base_lr * state.lr_scale * _schedule_factor(lr_schedule, state.epoch, epochs)
            order = None
            if shuffled:  # the permutation of the NumPy loop, drawn on the host
                order = xp.asarray(np.random.default_rng([state.seed, state.epoch]).permutation(N), device=dev)
            loss_sum = correct = norm_sum = 0.0
            n_steps = 0
            finite = True
            for i in range(0, N, B):
                end = min(i + B, N)  # the standard leaves slices past the end unspecified
                if order is None:
                    xb, yb = X[i:end, ...], y[i:end]
                    wb = None if sample_weight is None else sample_weight[i:end]
                else:
                    index = order[i:end]
                    xb, yb = xp.take(X, index, axis=0), xp.take(y, index)
                    wb = None if sample_weight is None else xp.take(sample_weight, index)
                if wb is None:
                    weight = xp.full(xb.shape[0], 1.0 / xb.shape[0], dtype=X.dtype, device=dev)
                else:
                    batch_total = xp.sum(wb)
                    if not bool(batch_total > 0):
                        continue  # no loss to follow, as in the NumPy loop
                    weight = wb / batch_total
                acts = model.forward(state.params, xb)
                loss, dtheta = model.weighted_cross_entropy(acts, yb, weight)
                grads = model.backward(state.params, acts, dtheta)
                if weight_decay:
                    grads = Params(*(dW + W * weight_decay for W, dW in zip(state.params, grads)))
                squares = xp.stack([xp.sum(dW * dW) for dW in grads])
                stats = devices.to_host(xp.stack([loss, xp.sum(squares), correct_xp(acts.theta, yb, wb)]))
                loss_b, norm = float(stats[0]), math.sqrt(float(stats[1]))
                if not (math.isfinite(loss_b) and math.isfinite(norm)):
                    finite = False
                    break
                loss_sum += loss_b * (xb.shape[0] if wb is None else float(batch_total))
                correct += float(stats[2])
                norm_sum += norm
                n_steps += 1
                new = optim.step_xp(optimizer, state.params, grads, state.opt_state, lr=lr, **step_options)
                state.params, state.previous_params = new, state.params
                stepped = True
            if not finite:
                if stepped:  # the latest step broke the weights: go back to the ones before it
                    state.params, state.previous_params = state.previous_params, None
                _stop_non_finite(history, state.epoch + 1, lr)
                break
            if _end_epoch(state, hyper, lr, (loss_sum, correct, norm_sum, n_steps, total),
                          (X, y, sample_weight, validation), record_flow, start, bar, callback):
                break
        else:
            _max_epochs(state, hyper, lr, stepped, state.previous_params)
    except KeyboardInterrupt:
        _interrupted(state)
    finally:
        if bar is not None:
            bar.close()
    if history.stop_reason == "early_stopping" and state.best_params is not None:
        state.params = state.best_params


def _add_scaled(total, factor, values, scratch):
    """total += factor * values, elementwise and bit for bit, through a small scratch buffer (no copy
    of `values` as large as the weights)."""
    step = scratch.size
    for a in range(0, total.size, step):
        part = scratch[:min(step, total.size - a)]
        np.multiply(values[a:a + step], factor, part)
        np.add(total[a:a + step], part, total[a:a + step])


def _stop_non_finite(history, epoch, lr):
    history.stop_reason = "non_finite"
    history.message = (f"training diverged at epoch {epoch}: the loss or its gradient became non-finite "
                       f"(learning rate {lr:.3g}); kept the last finite weights; try a smaller learning "
                       f"rate (lr / --lr)")


def _stop_diverged(history, epoch, lr):
    loss, first = history.loss[-1], history.loss[0]
    history.stop_reason = "diverged"
    history.message = (f"training diverged at epoch {epoch}: the loss {loss:.4g} is more than "
                       f"{DIVERGENCE_FACTOR} times the first epoch's ({first:.4g}) at learning rate "
                       f"{lr:.3g}; try a smaller learning rate (lr / --lr)")


def check_memory(X, D, M, C, dtype, *, batch_size=None, optimizer="gd", validation_fraction=None,
                 validation_data=None, patience=None, shuffle=True):
    """Refuse at once a run of `fit` on X (N, D) with layers of width D, M, C in `dtype` that would not
    fit in memory: raises resources.InsufficientMemory (a MemoryError, one line), before anything of the
    run is allocated; callers that draw the weights themselves call it first (W1 alone is D x D).

    Dense X is counted as resources.check_training_memory counts it; a SciPy sparse X by its own bytes
    and one dense block of rows (sparse.check_memory). The options are fit's.
    """
    if sparse.is_sparse(X):
        sparse.check_memory(X, D, M, C, dtype, batch_size=batch_size, optimizer=optimizer,
                            validation_fraction=validation_fraction, validation_data=validation_data,
                            patience=patience, shuffle=shuffle)
        return
    N = int(np.shape(X)[0]) if np.ndim(X) == 2 else 0
    dtype = np.dtype(dtype)
    V = 0
    if validation_data is not None:
        V = int(np.shape(validation_data[0])[0])
    elif validation_fraction and 0 < validation_fraction < 1:
        V = math.ceil(N * validation_fraction)
        N -= V
    copied = V > 0 and validation_data is None or getattr(X, "dtype", None) != dtype
    resources.check_training_memory(max(N, 1), D, M, C, dtype, batch_size=batch_size, optimizer=optimizer,
                                    validation_rows=V, patience=patience, shuffle=shuffle, data_copy=copied)


def _check_resumable(state, optimizer):
    empty = Params(*(np.empty((0, 0)),) * 4)
    slots = [k for k, v in optim.init_state(optimizer, empty).items() if isinstance(v, Params)]
    missing = [k for k in slots if not isinstance(state.opt_state.get(k), Params)]
    if missing or not isinstance(state.opt_state.get("step"), int):
        raise ValueError(f"the state to resume lacks the optimizer state {optimizer!r} needs "
                         f"({', '.join(missing) or 'step'})")


def _schedule_factor(schedule, epoch, epochs):
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))
    return 1.0


def _batches(X, y, w, order, B, workspaces, with_workspace=False):
    """Mini-batches of B rows: views of X in order; shuffled, the rows `order` picks are gathered
    about a megabyte at a time into one reused buffer (workspace.gather_rows; no per-epoch copy of
    X), and each batch is a view of it. A batch whose sample weights are all zero has no loss to
    follow and is skipped. Each is (x, y, w), or with `with_workspace` (its workspace, x, y, w)."""
    N = X.shape[0]
    block = B if order is None else workspace.gather_rows(B, X.shape[1], X.dtype.itemsize)
    get = workspaces.get
    for i in range(0, N, block):
        if order is None:
            Xr, yr, wr = X, y, w
            rows = range(i, min(i + B, N), B)
        else:
            Xr, yr, wr = workspaces.gather(X, y, w, order[i:i + block])
            rows = range(0, Xr.shape[0], B)
        for j in rows:
            xb, yb, wb = Xr[j:j + B], yr[j:j + B], (None if wr is None else wr[j:j + B])
            if wb is None or wb.any():
                yield (get(xb.shape[0], X.dtype), xb, yb, wb) if with_workspace else (xb, yb, wb)


def _progress_bar(progress, done, total):
    if not progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=done, unit="epoch", leave=False, dynamic_ncols=True, disable=None)


def _check_options(lr, epochs, batch_size, optimizer, weight_decay, lr_schedule, patience):
    if optimizer not in optim.OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(optim.OPTIMIZERS)}")
    if lr_schedule not in SCHEDULES:
        raise ValueError(f"unknown lr_schedule {lr_schedule!r}; choose one of {', '.join(SCHEDULES)}")
    if not (isinstance(lr, (int, float, np.floating)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if batch_size is not None and (int(batch_size) != batch_size or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    if optimizer == "lbfgs" and batch_size is not None:
        raise ValueError("optimizer 'lbfgs' is full batch only: leave batch_size at None")
    if not (math.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be non-negative, got {weight_decay!r}")
    if patience is not None and (int(patience) != patience or patience < 1):
        raise ValueError(f"patience must be a positive integer or None, got {patience!r}")


def _prepare_data(params, X, y, sample_weight, validation_fraction, validation_data, seed):
    """Cast to the training dtype, check labels, split off the validation set."""
    C = params.W4.shape[0]
    X = sparse.as_features(X, params) if sparse.is_sparse(X) else model._as_features(X, params)
    if not isinstance(X, np.ndarray) and not sparse.is_sparse(X):
        return _prepare_data_xp(params, X, y, sample_weight, validation_fraction, validation_data, seed)
    y = model._as_labels(y, X.shape[0], C)
    if sample_weight is not None:
        sample_weight = np.asarray(devices.to_host(sample_weight), dtype=X.dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            model._normalized_weights(sample_weight, X.shape[0], X.dtype)  # validates
            total = sample_weight.sum()
        if not np.isfinite(total):
            raise ValueError(f"sample_weight sums to more than {X.dtype} can hold; scale the weights down "
                             f"(only their ratios matter)")
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    X_val = y_val = None
    if validation_data is not None:
        X_val = validation_data[0]
        X_val = sparse.as_features(X_val, params) if sparse.is_sparse(X_val) else model._as_features(X_val, params)
        y_val = model._as_labels(validation_data[1], X_val.shape[0], C)
    elif validation_fraction:
        if not 0 < validation_fraction < 1:
            raise ValueError(f"validation_fraction must lie in (0, 1), got {validation_fraction!r}")
        from sklearn.model_selection import train_test_split
        index = np.arange(X.shape[0])
        counts = np.bincount(y)
        stratify = y if counts[counts > 0].min() >= 2 else None
        train, val = train_test_split(index, test_size=validation_fraction, random_state=seed % 2**32,
                                      stratify=stratify)
        train.sort(), val.sort()
        X_val, y_val = X[val], y[val]
        X, y = X[train], y[train]
        if sample_weight is not None:
            sample_weight = sample_weight[train]
            if not sample_weight.sum() > 0:
                raise ValueError("no training row has a positive sample_weight once the validation split "
                                 "is held out: give more rows positive weights or no validation_fraction")
    return X, y, sample_weight, (X_val, y_val), seed


def _prepare_data_xp(params, X, y, sample_weight, validation_fraction, validation_data, seed):
    """_prepare_data for X of another array library: y and sample_weight move to X's device; the
    validation split is drawn on the host (the same rows as for NumPy) and taken on the device."""
    xp, dev = devices.namespace(X), devices.device(X)
    C = params.W4.shape[0]
    y = model._as_labels(y, X.shape[0], C, like=X)
    if sample_weight is not None:
        sample_weight = model._on(sample_weight, X)
        sample_weight = xp.astype(sample_weight, X.dtype) if sample_weight.dtype != X.dtype else sample_weight
        model._normalized_weights(sample_weight, X.shape[0], X.dtype, like=X)  # validates
        if not math.isfinite(float(xp.sum(sample_weight))):
            raise ValueError(f"sample_weight sums to more than {devices.dtype_name(X.dtype)} can hold; scale the "
                             f"weights down (only their ratios matter)")
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    X_val = y_val = None
    if validation_data is not None:
        X_val = model._as_features(model._on(validation_data[0], X), params)
        y_val = model._as_labels(validation_data[1], X_val.shape[0], C, like=X)
    elif validation_fraction:
        if not 0 < validation_fraction < 1:
            raise ValueError(f"validation_fraction must lie in (0, 1), got {validation_fraction!r}")
        from sklearn.model_selection import train_test_split
        y_host = devices.to_host(y)
        counts = np.bincount(y_host)
        stratify = y_host if counts[counts > 0].min() >= 2 else None
        train, val = train_test_split(np.arange(X.shape[0]), test_size=validation_fraction,
                                      random_state=seed % 2**32, stratify=stratify)
        train, val = xp.asarray(np.sort(train), device=dev), xp.asarray(np.sort(val), device=dev)
        X_val, y_val = xp.take(X, val, axis=0), xp.take(y, val)
        X, y = xp.take(X, train, axis=0), xp.take(y, train)
        if sample_weight is not None:
            sample_weight = xp.take(sample_weight, train)
            if not bool(xp.sum(sample_weight) > 0):
                raise ValueError("no training row has a positive sample_weight once the validation split "
                                 "is held out: give more rows positive weights or no validation_fraction")
    return X, y, sample_weight, (X_val, y_val), seed


def _state_to_device(state, like):
    """Move a TrainState's weights and optimizer slots (host arrays from a checkpoint, say) to `like`'s
    library and device, in place."""
    for name in ("params", "best_params", "previous_params"):
        value = getattr(state, name)
        if value is not None:
            setattr(state, name, devices.to_device(value, like))
    for key, value in state.opt_state.items():
        if isinstance(value, Params):
            state.opt_state[key] = devices.to_device(value, like)
