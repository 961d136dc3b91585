"""Update rules. Each follows torch.optim's published definition, so a run can be checked step by step.

Every rule works on one weight matrix at a time and writes the new weights into `out` (a buffer
distinct from `W`), so the weights of the previous step stay intact until the caller swaps the two:
a step that turns out to be non-finite costs nothing to undo. `dW` is the gradient of the objective,
weight decay already added (torch adds `weight_decay * W` to the gradient in the same place).

    gd        W <- W - lr dW                                      (the seed's rule)
    momentum  b <- mu b + dW  (b = dW at the first step);  W <- W - lr b
    nesterov  b as above;                                  W <- W - lr (dW + mu b)
    adam      m <- b1 m + (1 - b1) dW;  v <- b2 v + (1 - b2) dW^2
              W <- W - (lr / (1 - b1^step)) m / (sqrt(v) / sqrt(1 - b2^step) + eps)
"""
from __future__ import annotations

import math

import numpy as np

from .model import Params, array_namespace

OPTIMIZERS = ("gd", "momentum", "nesterov", "adam", "lbfgs")


def init_state(optimizer, params: Params) -> dict:
    """The optimizer's slots (Params of zeros, of the weights' library and device) and its step counter."""
    zeros = lambda: Params(*(_zeros_like(W) for W in params))  # noqa: E731
    if optimizer in ("momentum", "nesterov"):
        return {"step": 0, "momentum_buffer": zeros()}
    if optimizer == "adam":
        return {"step": 0, "exp_avg": zeros(), "exp_avg_sq": zeros()}
    return {"step": 0}


def step(optimizer, params: Params, grads: Params, state: dict, out: Params, *,
         lr, momentum=0.9, betas=(0.9, 0.999), eps=1e-8):
    """One update of all four matrices: new weights go to `out`; `grads` is used as scratch.

    `params`, `grads`, `out` and the slots in `state` may be any matching sequences of arrays, such as
    one flat buffer each that holds all four matrices (see `workspace.packed`): every rule is
    elementwise, so the numbers are the same either way.
    """
    state["step"] += 1
    if optimizer == "gd":
        for W, dW, W_new in zip(params, grads, out):
            np.multiply(dW, lr, dW)
            np.subtract(W, dW, W_new)
    elif optimizer == "momentum" or optimizer == "nesterov":
        buffers, nesterov, first = state["momentum_buffer"], optimizer == "nesterov", state["step"] == 1
        for W, dW, W_new, buf in zip(params, grads, out, buffers):
            _momentum(W, dW, W_new, buf, lr, momentum, nesterov, first)
    elif optimizer == "adam":
        step_count = state["step"]
        for W, dW, W_new, m, v in zip(params, grads, out, state["exp_avg"], state["exp_avg_sq"]):
            _adam(W, dW, W_new, m, v, lr, betas, eps, step_count)
    else:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {OPTIMIZERS}")


def _gd(W, dW, W_new, lr):
    np.multiply(dW, lr, dW)
    np.subtract(W, dW, W_new)


def _momentum(W, dW, W_new, buf, lr, mu, nesterov, first):
    if first:
        buf[...] = dW
    else:
        buf *= mu
        buf += dW
    if nesterov:
        np.multiply(buf, mu, W_new)  # W_new as scratch until the last line writes it
        dW += W_new
    else:
        dW[...] = buf
    _gd(W, dW, W_new, lr)


def _adam(W, dW, W_new, m, v, lr, betas, eps, step_count):
    # W_new serves as scratch until _gd writes the new weights into it: no temporary array as
    # large as W (the same operations, in the same order, as the plain expressions)
    b1, b2 = betas
    scratch = W_new
    m *= b1
    np.multiply(dW, 1 - b1, scratch)
    m += scratch                                # m += (1 - b1) dW
    v *= b2
    np.multiply(dW, dW, scratch)
    scratch *= 1 - b2
    v += scratch                                # v += (1 - b2) dW^2
    step_size = lr / (1 - b1 ** step_count)
    denom = np.sqrt(v, out=scratch)
    denom /= math.sqrt(1 - b2 ** step_count)  # a Python float: float32 stays float32, as in torch
    denom += eps
    np.divide(m, denom, out=dW)
    _gd(W, dW, W_new, step_size)


def step_xp(optimizer, params: Params, grads: Params, state: dict, *, lr, momentum=0.9, betas=(0.9, 0.999),
            eps=1e-8) -> Params:
    """`step` for arrays of any array API library (torch, CuPy, ...): returns the new weights as new
    arrays and replaces the slots in `state`; nothing is written in place. The same operations in the
    same order as `step`, so NumPy-backed arrays give the same numbers."""
    state["step"] += 1
    if optimizer == "gd":
        return Params(*(W - dW * lr for W, dW in zip(params, grads)))
    if optimizer == "momentum" or optimizer == "nesterov":
        first = state["step"] == 1
        buffers = Params(*(dW if first else buf * momentum + dW
                           for dW, buf in zip(grads, state["momentum_buffer"])))
        state["momentum_buffer"] = buffers
        if optimizer == "nesterov":
            return Params(*(W - (dW + buf * momentum) * lr for W, dW, buf in zip(params, grads, buffers)))
        return Params(*(W - buf * lr for W, buf in zip(params, buffers)))
    if optimizer == "adam":
        b1, b2 = betas
        step_count = state["step"]
        m = Params(*(m * b1 + dW * (1 - b1) for m, dW in zip(state["exp_avg"], grads)))
        v = Params(*(v * b2 + (dW * dW) * (1 - b2) for v, dW in zip(state["exp_avg_sq"], grads)))
        state["exp_avg"], state["exp_avg_sq"] = m, v
        step_size = lr / (1 - b1 ** step_count)
        root = math.sqrt(1 - b2 ** step_count)
        return Params(*(W - (m_k / (_sqrt(v_k) / root + eps)) * step_size
                        for W, m_k, v_k in zip(params, m, v)))
    raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {OPTIMIZERS}")


def _zeros_like(W):
    if isinstance(W, np.ndarray):
        return np.zeros_like(W)
    return array_namespace(W).zeros_like(W)


def _sqrt(a):
    return array_namespace(a).sqrt(a)
