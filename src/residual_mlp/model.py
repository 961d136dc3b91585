"""The seed's network: parameters, forward pass, backward pass. Nothing else lives here.

Forward pass of one sample x (a column vector), as the seed writes it:

    z     = ReLU(x)                   in R^D
    h     = W1 z                      in R^D
    s     = h + x                     in R^D    skip connection 1
    t     = W2 s                      in R^M
    p     = ReLU(t)                   in R^M
    q     = W3 p                      in R^M
    r     = q + t                     in R^M    skip connection 2
    theta = W4 r                      in R^C
    y_hat = softmax(theta)            in R^C
    J     = -y^T log y_hat            in R

Closed-form gradients (the seed's final results), Lambda_t = diag(1[t > 0]), so ReLU'(0) = 0:

    dJ/dW4 = (y_hat - y) r^T
    dJ/dW3 = W4^T (y_hat - y) p^T
    dJ/dW2 = (Lambda_t W3^T + I_M) W4^T (y_hat - y) s^T
    dJ/dW1 = W2^T (Lambda_t W3^T + I_M) W4^T (y_hat - y) z^T

Training objective: L = (1/N) sum_i J_i, whose gradients are the means of the per-sample ones.

Batched form. Rows of X are samples, so each column-vector line v = W u becomes the row form
V = U @ W.T, and each sum over samples of outer products sum_i a_i b_i^T becomes A.T @ B.

Shape letters, used in every shape comment of the package:
    N samples, D features, M hidden width, C classes.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Params(NamedTuple):
    """The four weight matrices in the seed's orientation; gradients use the same container."""

    W1: np.ndarray  # (D, D)
    W2: np.ndarray  # (M, D)
    W3: np.ndarray  # (M, M)
    W4: np.ndarray  # (C, M)


class Activations(NamedTuple):
    """Every intermediate of the forward pass, for a batch (one row per sample)."""

    x: np.ndarray          # (N, D)
    z: np.ndarray          # (N, D)
    h: np.ndarray          # (N, D)
    s: np.ndarray          # (N, D)
    t: np.ndarray          # (N, M)
    p: np.ndarray          # (N, M)
    q: np.ndarray          # (N, M)
    r: np.ndarray          # (N, M)
    theta: np.ndarray      # (N, C)
    y_hat: np.ndarray      # (N, C)
    log_y_hat: np.ndarray  # (N, C)  log-softmax, computed with log-sum-exp

    def __getitem__(self, key):  # acts["t"] as well as acts.t
        if isinstance(key, str):
            return getattr(self, key)
        return tuple.__getitem__(self, key)


def init_params(n_features, n_hidden, n_classes, *, seed=None, dtype=np.float64) -> Params:
    """Random weights: He-normal, with the two residual branches and the output layer scaled down.

    W2 ~ N(0, 2/D) is He initialisation for the ReLU that reads t. The residual branches W1 and W3
    start at half that standard deviation, so that s ~ x and r ~ t: each block starts close to its
    skip path, which keeps the activations' scale steady through both skips (the idea behind Fixup
    and zero-init residual branches, without making any gradient exactly zero). W4 ~ N(0, 0.1^2/M)
    makes the initial logits small, so the initial loss is close to ln C.
    Reproducible: the same seed gives the same weights, in any dtype.
    """
    D, M, C = int(n_features), int(n_hidden), int(n_classes)
    if min(D, M, C) < 1:
        raise ValueError(f"dimensions must be positive, got D={D}, M={M}, C={C}")
    rng = np.random.default_rng(seed)
    W1 = rng.standard_normal((D, D)) * (0.5 * np.sqrt(2.0 / D))  # (D, D)
    W2 = rng.standard_normal((M, D)) * np.sqrt(2.0 / D)          # (M, D)
    W3 = rng.standard_normal((M, M)) * (0.5 * np.sqrt(2.0 / M))  # (M, M)
    W4 = rng.standard_normal((C, M)) * (0.1 / np.sqrt(M))        # (C, M)
    return Params(*(W.astype(dtype) for W in (W1, W2, W3, W4)))


def relu(u):
    return np.maximum(u, 0)


def log_softmax(theta):
    """log softmax(theta) per row by log-sum-exp: exact and finite for any finite logits."""
    shifted = theta - theta.max(axis=1, keepdims=True)                # (N, C)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def forward(params: Params, X) -> Activations:
    """The seed's forward pass for a batch X (N, D); returns every intermediate."""
    W1, W2, W3, W4 = params
    x = _as_features(X, params)       # (N, D)
    z = relu(x)                       # (N, D)   z = ReLU(x)
    h = z @ W1.T                      # (N, D)   h = W1 z
    s = h + x                         # (N, D)   s = h + x
    t = s @ W2.T                      # (N, M)   t = W2 s
    p = relu(t)                       # (N, M)   p = ReLU(t)
    q = p @ W3.T                      # (N, M)   q = W3 p
    r = q + t                         # (N, M)   r = q + t
    theta = r @ W4.T                  # (N, C)   theta = W4 r
    log_y_hat = log_softmax(theta)    # (N, C)
    y_hat = np.exp(log_y_hat)         # (N, C)   y_hat = softmax(theta)
    return Activations(x, z, h, s, t, p, q, r, theta, y_hat, log_y_hat)


def backward(params: Params, acts: Activations, dtheta) -> Params:
    """The seed's closed-form gradients, given dtheta = dL/dtheta (N, C); forward read upwards."""
    W1, W2, W3, W4 = params
    # theta = W4 r:  dL/dW4 = sum_i dtheta_i r_i^T, and dr = W4^T dtheta
    dW4 = dtheta.T @ acts.r                    # (C, M)
    dr = dtheta @ W4                           # (N, M)
    # r = q + t: dq = dr, and dr also flows straight to t (path 2, below)
    # q = W3 p:  dL/dW3 = sum_i dq_i p_i^T, and dp = W3^T dq
    dW3 = dr.T @ acts.p                        # (M, M)
    dp = dr @ W3                               # (N, M)
    # t is used twice, by p = ReLU(t) and by r = q + t; the gradients of the two uses add:
    #   path 1 (through W3 and the ReLU): Lambda_t W3^T W4^T (y_hat - y)
    #   path 2 (the skip):                I_M     W4^T (y_hat - y)
    dt = dp * (acts.t > 0) + dr                # (N, M)   ReLU'(0) = 0
    # t = W2 s:  dL/dW2 = sum_i dt_i s_i^T, and ds = W2^T dt
    dW2 = dt.T @ acts.s                        # (M, D)
    ds = dt @ W2                               # (N, D)
    # s = h + x: dh = ds (x is data, so its branch of the fork ends here)
    # h = W1 z:  dL/dW1 = sum_i dh_i z_i^T
    dW1 = ds.T @ acts.z                        # (D, D)
    return Params(dW1, dW2, dW3, dW4)


def loss_and_grads(params: Params, X, y, sample_weight=None):
    """Mean cross-entropy L and its gradients dL/dW1..dL/dW4 for a batch.

    X (N, D) features, y (N,) integer classes in [0, C). With sample_weight w (N,), the loss is
    sum_i w_i J_i / sum_i w_i (weight 1 everywhere is the seed's L). The dtype of the parameters
    is the dtype of the computation and of the results; X is read in that dtype, nothing is modified.
    """
    acts = forward(params, X)
    loss, dtheta = cross_entropy(acts, y, sample_weight)
    return loss, backward(params, acts, dtheta)


def cross_entropy(acts: Activations, y, sample_weight=None):
    """L = sum_i w_i J_i (w_i = 1/N by default) and its gradient dL/dtheta (N, C)."""
    N, C = acts.theta.shape
    y = _as_labels(y, N, C)
    weight = _normalized_weights(sample_weight, N, acts.theta.dtype)  # (N,) sums to 1
    rows = np.arange(N)
    loss = -(weight * acts.log_y_hat[rows, y]).sum()
    # softmax + cross-entropy fused: dJ_i/dtheta_i = y_hat_i - y_i; the 1/N of the mean (or the
    # normalized sample weight) enters here, once, and every gradient inherits it.
    dtheta = acts.y_hat.copy()                                         # (N, C)
    dtheta[rows, y] -= 1
    dtheta *= weight[:, None]
    return acts.theta.dtype.type(loss), dtheta


def predict_proba(params: Params, X):
    """Class probabilities y_hat (N, C); ValueError when the logits overflow (never NaN probabilities)."""
    return _finite_forward(params, X).y_hat


def predict(params: Params, X):
    """Class indices (N,): the argmax of the logits theta; ValueError when the logits overflow."""
    return _finite_forward(params, X).theta.argmax(axis=1)


def _finite_forward(params, X):
    """forward(), refused with one ValueError line when a logit is not finite: then softmax has no
    answer (inf - inf), and an argmax over NaN would name an arbitrary class."""
    with np.errstate(over="ignore", invalid="ignore"):
        acts = forward(params, X)
    bad = ~np.isfinite(acts.theta).all(axis=1)                         # (N,)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(f"the network's output overflows for {rows.size} row(s) (first: row {rows[0]}): "
                         f"features too large for these weights; standardize them or check their scale")
    return acts


def _as_features(X, params):
    dtype = params.W1.dtype
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != params.W1.shape[0]:
        raise ValueError(f"X must have shape (N, {params.W1.shape[0]}), got {X.shape}")
    return X.astype(dtype, copy=False)


def _as_labels(y, N, C):
    y = np.asarray(y)
    if y.shape != (N,):
        raise ValueError(f"y must have shape ({N},), got {y.shape}")
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0):
            y = y.astype(np.intp)
        else:
            raise ValueError("y must hold integer class indices")
    if N and (y.min() < 0 or y.max() >= C):
        raise ValueError(f"class indices must lie in [0, {C}), got [{y.min()}, {y.max()}]")
    return y


def _normalized_weights(sample_weight, N, dtype):
    if sample_weight is None:
        return np.full(N, 1.0 / N, dtype=dtype)
    w = np.asarray(sample_weight, dtype=dtype)
    if w.shape != (N,):
        raise ValueError(f"sample_weight must have shape ({N},), got {w.shape}")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("sample_weight must be finite and non-negative")
    total = w.sum()
    if total <= 0:
        raise ValueError("sample_weight must have a positive sum")
    return w / total
