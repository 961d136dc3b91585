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

Array libraries. Everything below is written against the Python array API standard (the namespace
`xp` of the inputs, found by array-api-compat), so NumPy, CuPy, PyTorch (CPU or CUDA) and
array-api-strict arrays run the same lines and keep their dtype and device. For NumPy the results
are bit-identical to the NumPy-only form of the same lines; `workspace.py` computes them faster for
`fit`, in reused NumPy buffers.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

try:  # the package itself; scikit-learn vendors a copy (a GPU machine may have no package index)
    import array_api_compat
except ImportError:  # pragma: no cover
    from sklearn.externals import array_api_compat
array_namespace = array_api_compat.array_namespace


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


def init_params(n_features, n_hidden, n_classes, *, seed=None, dtype=np.float64, like=None) -> Params:
    """Random weights: He-normal, with the two residual branches and the output layer scaled down.

    W2 ~ N(0, 2/D) is He initialisation for the ReLU that reads t. The residual branches W1 and W3
    start at half that standard deviation, so that s ~ x and r ~ t: each block starts close to its
    skip path, which keeps the activations' scale steady through both skips (the idea behind Fixup
    and zero-init residual branches, without making any gradient exactly zero). W4 ~ N(0, 0.1^2/M)
    makes the initial logits small, so the initial loss is close to ln C.
    Reproducible: the same seed gives the same weights, in any dtype, on any device: they are drawn
    by NumPy's seeded generator on the host, then, with `like` (an array of any array API library),
    moved to its library and device. `dtype` may be a NumPy dtype or one of `like`'s library.
    """
    D, M, C = int(n_features), int(n_hidden), int(n_classes)
    if min(D, M, C) < 1:
        raise ValueError(f"dimensions must be positive, got D={D}, M={M}, C={C}")
    rng = np.random.default_rng(seed)
    W1 = rng.standard_normal((D, D)) * (0.5 * np.sqrt(2.0 / D))  # (D, D)
    W2 = rng.standard_normal((M, D)) * np.sqrt(2.0 / D)          # (M, D)
    W3 = rng.standard_normal((M, M)) * (0.5 * np.sqrt(2.0 / M))  # (M, M)
    W4 = rng.standard_normal((C, M)) * (0.1 / np.sqrt(M))        # (C, M)
    if not isinstance(dtype, np.dtype) and not (isinstance(dtype, type) and issubclass(dtype, np.generic)):
        from .devices import numpy_dtype
        dtype = numpy_dtype(dtype)  # torch.float32, array_api_strict.float64, ...
    params = Params(*(W.astype(dtype) for W in (W1, W2, W3, W4)))
    if like is not None and not isinstance(like, np.ndarray):
        from .devices import to_device
        return to_device(params, like)
    return params


def relu(u):
    xp = array_namespace(u)
    return xp.maximum(u, _zero(xp, u))


def log_softmax(theta):
    """log softmax(theta) per row by log-sum-exp: exact and finite for any finite logits."""
    xp = array_namespace(theta)
    shifted = theta - xp.max(theta, axis=1, keepdims=True)              # (N, C)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))


def forward(params: Params, X) -> Activations:
    """The seed's forward pass for a batch X (N, D); returns every intermediate.

    X and the weights are arrays of one array API library on one device (NumPy, CuPy, torch, ...);
    every intermediate is of that library, on that device, in the weights' dtype.
    """
    W1, W2, W3, W4 = params
    xp = array_namespace(W1)
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
    y_hat = xp.exp(log_y_hat)         # (N, C)   y_hat = softmax(theta)
    return Activations(x, z, h, s, t, p, q, r, theta, y_hat, log_y_hat)


def backward(params: Params, acts: Activations, dtheta) -> Params:
    """The seed's closed-form gradients, given dtheta = dL/dtheta (N, C); forward read upwards."""
    W1, W2, W3, W4 = params
    xp = array_namespace(dtheta)
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
    # Lambda_t = 1[t > 0] as 1.0 / 0.0 (the standard has no bool * float): ReLU'(0) = 0
    dt = dp * xp.astype(acts.t > 0, dp.dtype) + dr  # (N, M)
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
    Any array API library works (NumPy, CuPy, torch, array-api-strict): X and the weights share one
    library and device, and so do the results (L as a NumPy scalar for NumPy, else a 0-d array);
    y and sample_weight may come from another library (they are moved to the weights' device).
    """
    acts = forward(params, X)
    loss, dtheta = cross_entropy(acts, y, sample_weight)
    return loss, backward(params, acts, dtheta)


def cross_entropy(acts: Activations, y, sample_weight=None):
    """L = sum_i w_i J_i (w_i = 1/N by default) and its gradient dL/dtheta (N, C)."""
    N, C = acts.theta.shape
    y = _as_labels(y, N, C, like=acts.theta)
    weight = _normalized_weights(sample_weight, N, acts.theta.dtype, like=acts.theta)  # (N,) sums to 1
    return weighted_cross_entropy(acts, y, weight)


def weighted_cross_entropy(acts: Activations, y, weight):
    """cross_entropy for checked labels y (N,) and weights (N,) that sum to 1, of theta's library and
    device: no check, so no transfer to the host (the training loop checks once, not every step)."""
    theta = acts.theta
    xp = array_namespace(theta)
    C = theta.shape[1]
    # the one-hot Y by comparison with an arange (no fancy-index assignment): Y_ik = 1[y_i = k]
    onehot = y[:, None] == xp.arange(C, dtype=y.dtype, device=_device(theta))[None, :]  # (N, C)
    # -log y_hat_i[y_i]: the one entry of each row that Y picks (adding the zeros is exact)
    picked = xp.sum(xp.where(onehot, acts.log_y_hat, _zero(xp, theta)), axis=1)  # (N,)
    loss = -xp.sum(weight * picked)
    # softmax + cross-entropy fused: dJ_i/dtheta_i = y_hat_i - y_i; the 1/N of the mean (or the
    # normalized sample weight) enters here, once, and every gradient inherits it.
    dtheta = (acts.y_hat - xp.astype(onehot, theta.dtype)) * weight[:, None]  # (N, C)
    if isinstance(theta, np.ndarray):
        loss = theta.dtype.type(loss)
    return loss, dtheta


def predict_proba(params: Params, X):
    """Class probabilities y_hat (N, C); ValueError when the logits overflow (never NaN probabilities)."""
    return _finite_forward(params, X).y_hat


def predict(params: Params, X):
    """Class indices (N,): the argmax of the logits theta; ValueError when the logits overflow."""
    theta = _finite_forward(params, X).theta
    return array_namespace(theta).argmax(theta, axis=1)


def _finite_forward(params, X):
    """forward(), refused with one ValueError line when a logit is not finite: then softmax has no
    answer (inf - inf), and an argmax over NaN would name an arbitrary class."""
    with np.errstate(over="ignore", invalid="ignore"):
        acts = forward(params, X)
    xp = array_namespace(acts.theta)
    bad = ~xp.all(xp.isfinite(acts.theta), axis=1)                    # (N,)
    if bool(xp.any(bad)):
        rows = np.flatnonzero(_host(bad))
        raise ValueError(f"the network's output overflows for {rows.size} row(s) (first: row {rows[0]}): "
                         f"features too large for these weights; standardize them or check their scale")
    return acts


def _zero(xp, like):
    """A 0-d zero of `like`'s dtype and device (broadcasts where a scalar 0 is not standard)."""
    return xp.zeros((), dtype=like.dtype, device=_device(like))


def _device(a):
    return array_api_compat.device(a)


def _host(a):
    from .devices import to_host
    return to_host(a)


def _as_features(X, params):
    W1 = params[0]
    dtype = W1.dtype
    if isinstance(W1, np.ndarray):
        X = np.asarray(X)
    elif not array_api_compat.is_array_api_obj(X):
        X = array_namespace(W1).asarray(X, device=_device(W1))
    if X.ndim != 2 or X.shape[1] != W1.shape[0]:
        raise ValueError(f"X must have shape (N, {W1.shape[0]}), got {tuple(X.shape)}")
    if isinstance(X, np.ndarray):
        return X.astype(dtype, copy=False)
    xp = array_namespace(X, W1)  # TypeError when X and the weights come from different libraries
    if _device(X) != _device(W1):
        raise ValueError(f"X is on device {_device(X)}, the weights on {_device(W1)}: move one of them "
                         f"(residual_mlp.devices.to_device)")
    return X if X.dtype == dtype else xp.astype(X, dtype)


def _on(a, like):
    """`a` (any library, or a list) as an array of `like`'s library, on its device."""
    if isinstance(like, np.ndarray):
        return np.asarray(a) if not array_api_compat.is_array_api_obj(a) else np.asarray(_host(a))
    xp = array_namespace(like)
    if array_api_compat.is_array_api_obj(a) and array_namespace(a) is xp and _device(a) == _device(like):
        return a
    host = _host(a) if array_api_compat.is_array_api_obj(a) else np.asarray(a)
    return xp.asarray(host, device=_device(like))


def _as_labels(y, N, C, like=None):
    if like is None or isinstance(like, np.ndarray):
        return _as_labels_host(_on(y, np.empty(0)), N, C)
    y = _on(y, like)
    xp = array_namespace(y)
    if tuple(y.shape) != (N,):
        raise ValueError(f"y must have shape ({N},), got {tuple(y.shape)}")
    if not xp.isdtype(y.dtype, "integral"):
        if xp.isdtype(y.dtype, "real floating") and bool(xp.all(y == xp.round(y))):
            y = xp.astype(y, xp.int64)
        else:
            raise ValueError("y must hold integer class indices")
    if N:
        low, high = int(xp.min(y)), int(xp.max(y))
        if low < 0 or high >= C:
            raise ValueError(f"class indices must lie in [0, {C}), got [{low}, {high}]")
    return y


def _as_labels_host(y, N, C):
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


def _normalized_weights(sample_weight, N, dtype, like=None):
    if like is not None and not isinstance(like, np.ndarray):
        return _normalized_weights_xp(sample_weight, N, dtype, like)
    if sample_weight is None:
        return np.full(N, 1.0 / N, dtype=dtype)
    if array_api_compat.is_array_api_obj(sample_weight) and not isinstance(sample_weight, np.ndarray):
        sample_weight = _host(sample_weight)
    w = np.asarray(sample_weight, dtype=dtype)
    if w.shape != (N,):
        raise ValueError(f"sample_weight must have shape ({N},), got {w.shape}")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("sample_weight must be finite and non-negative")
    total = w.sum()
    if total <= 0:
        raise ValueError("sample_weight must have a positive sum")
    return w / total


def _normalized_weights_xp(sample_weight, N, dtype, like):
    xp = array_namespace(like)
    if sample_weight is None:
        return xp.full(N, 1.0 / N, dtype=dtype, device=_device(like))
    w = _on(sample_weight, like)
    w = w if w.dtype == dtype else xp.astype(w, dtype)
    if tuple(w.shape) != (N,):
        raise ValueError(f"sample_weight must have shape ({N},), got {tuple(w.shape)}")
    if bool(xp.any(w < 0)) or not bool(xp.all(xp.isfinite(w))):
        raise ValueError("sample_weight must be finite and non-negative")
    total = xp.sum(w)
    if not bool(total > 0):
        raise ValueError("sample_weight must have a positive sum")
    return w / total
