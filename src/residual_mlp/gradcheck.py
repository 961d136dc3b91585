"""Proof that the hand-derived gradients match the loss: finite differences, and PyTorch's autograd.

`check_gradients` perturbs every entry of W1..W4 in turn and compares the central difference

    dL/dW[i, j]  ~  (L(W[i, j] + h) - L(W[i, j] - h)) / 2h

with the analytic gradient, all in float64. Any callable with the signature of
`model.loss_and_grads` can be checked, so a deliberately broken backward goes through the very same
test. Per tensor the report gives the largest absolute difference and a relative error

    max |analytic - numeric| / max(max |analytic|, max |numeric|)

which is about 1e-10 for a correct derivation and of order 1 when a term of it is missing.

ReLU has a kink at 0: if a step of size h moved some t across 0, the central difference would mix
the two slopes. `make_problem` draws weights that keep every t far from 0 compared with how much one
step can move it, and every report carries that distance so a check that straddled a kink says so.

`torch_check` compares the same loss and gradients with autograd through a PyTorch copy of the
network written from the seed's forward equations. It imports torch only when called and returns
None when torch is not installed: the library never needs it.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .model import Params, forward, loss_and_grads

NAMES = Params._fields  # ("W1", "W2", "W3", "W4")
TINY = 1e-300           # denominator floor: two exactly-zero gradients agree perfectly


class TensorCheck(NamedTuple):
    """One row of a report: how far one tensor's analytic values are from the reference ones."""

    name: str
    shape: tuple
    max_abs_error: float
    rel_error: float
    passed: bool


class Report(NamedTuple):
    """A gradient check of one problem: a row per tensor and the distance to the nearest ReLU kink."""

    rows: tuple
    min_abs_t: float    # smallest |t| over the batch; inf when not measured
    max_t_shift: float  # the most one finite-difference step can move any t; 0 when none is taken

    @property
    def passed(self):
        return all(row.passed for row in self.rows)

    @property
    def kink_safe(self):
        """True when no finite-difference step can have moved a t across the ReLU kink at 0."""
        return self.min_abs_t > self.max_t_shift


def compare(name, analytic, reference, tol) -> TensorCheck:
    """Max absolute and relative difference between two arrays of the same shape."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(reference, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"{name}: analytic shape {a.shape} differs from reference shape {n.shape}")
    if a.size == 0:
        return TensorCheck(name, a.shape, 0.0, 0.0, True)
    max_abs = float(np.max(np.abs(a - n)))
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(n))), TINY)
    rel = max_abs / scale
    return TensorCheck(name, a.shape, max_abs, rel, bool(rel <= tol))  # NaN fails


def numerical_gradient(f, A, h=1e-6):
    """d f / d A (same shape as A, float64) by central differences, for a scalar function f of an array A.

    Every entry of a float64 copy of A is moved to A + h and A - h in turn; f sees that copy and
    must not keep it.
    """
    A = np.array(A, dtype=np.float64)
    dA = np.zeros_like(A)
    for index in np.ndindex(A.shape):
        original = A[index]
        A[index] = original + h
        up = float(f(A))
        A[index] = original - h
        down = float(f(A))
        A[index] = original
        # the step actually taken, (a + h) - (a - h) in floating point, not the ideal 2h
        dA[index] = (up - down) / ((original + h) - (original - h))
    return dA


def numerical_grads(loss_fn, params: Params, X, y, h=1e-6) -> Params:
    """Central differences of loss_fn(params, X, y) over every entry of W1..W4 (float64)."""
    work = Params(*(np.array(W, dtype=np.float64) for W in params))

    def loss_of(k):  # the loss as a function of the k-th matrix alone
        return lambda W: loss_fn(work._replace(**{NAMES[k]: W}), X, y)

    return Params(*(numerical_gradient(loss_of(k), W, h) for k, W in enumerate(work)))


def kink_distance(params: Params, X, h):
    """(smallest |t|, the most one step of size h on a single weight can move any t).

    Only t goes through a ReLU that the weights can move (z = ReLU(x) reads the data alone).
    A step on W2[i, j] moves t[:, i] by h s[:, j]; a step on W1[a, b] moves s[:, a] by h z[:, b]
    and so t by h z[:, b] W2[:, a]. W3 and W4 come after t.
    """
    return _kink_distance(forward(params, X), params.W2, h)


def _kink_distance(acts, W2, h):
    if acts.t.size == 0:
        return np.inf, 0.0
    min_abs_t = float(np.min(np.abs(acts.t)))
    largest = max(float(np.max(np.abs(acts.s), initial=0.0)),
                  float(np.max(np.abs(acts.z), initial=0.0)) * float(np.max(np.abs(W2))))
    return min_abs_t, h * largest


def check_gradients(params: Params, X, y, grad_fn=loss_and_grads, *, h=1e-6, tol=1e-7) -> Report:
    """Finite-difference check of a `loss_and_grads`-like callable over every weight, in float64.

    Parameters
    ----------
    params : Params
        The point to check at (cast to float64; see `make_problem` for good ones).
    X : array (N, D)
        Features.
    y : array (N,)
        Integer class indices.
    grad_fn : callable(params, X, y) -> (loss, Params of gradients)
        The function under test; its own loss is differenced, its own gradients are compared.
    h : float
        Finite-difference step.
    tol : float
        A tensor passes when its relative error is at most `tol`.

    Returns
    -------
    Report
        A `TensorCheck` row per weight matrix, and how close the batch came to a ReLU kink.
    """
    params = Params(*(np.array(W, dtype=np.float64) for W in params))
    X = np.asarray(X, dtype=np.float64)
    _, analytic = grad_fn(params, X, y)
    numeric = numerical_grads(lambda P, X, y: grad_fn(P, X, y)[0], params, X, y, h)
    rows = tuple(compare(name, a, n, tol) for name, a, n in zip(NAMES, analytic, numeric))
    return Report(rows, *kink_distance(params, X, h))


def make_problem(N, D, M, C, *, seed=0, h=1e-6, margin=10.0, attempts=100):
    """A random float64 problem (params, X, y) fit for finite differences.

    The weights have standard deviation 1/sqrt(fan-in), far above the training init, so that the
    ReLUs are mixed, the logits spread and no gradient is near zero; X is standard normal, so
    z = ReLU(x) has zeros too. Draws again, up to `attempts` times, until t has entries of both
    signs when it has two or more (both paths of the second skip then carry gradient), is positive
    when it has one (else p = 0 and W3's gradient would be identically zero), and every |t|
    exceeds `margin` times the most one step of size h can move it.
    """
    rng = np.random.default_rng(seed)
    for _ in range(attempts):
        params = Params(rng.standard_normal((D, D)) / np.sqrt(D),  # (D, D)
                        rng.standard_normal((M, D)) / np.sqrt(D),  # (M, D)
                        rng.standard_normal((M, M)) / np.sqrt(M),  # (M, M)
                        rng.standard_normal((C, M)) / np.sqrt(M))  # (C, M)
        X = rng.standard_normal((N, D))                             # (N, D)
        y = rng.integers(0, C, size=N)                              # (N,)
        acts = forward(params, X)
        t = acts.t                                                  # (N, M)
        if t.size >= 2:
            mixed = bool((t > 0).any() and (t < 0).any())
        else:
            mixed = t.size == 0 or bool((t > 0).any())
        min_abs_t, max_t_shift = _kink_distance(acts, params.W2, h)
        if mixed and min_abs_t > margin * max_t_shift:
            return params, X, y
    raise RuntimeError(f"no draw in {attempts} gave t of both signs (a single t: positive), each farther than "
                       f"{margin:g} steps from the ReLU kink (N={N}, D={D}, M={M}, C={C}); try another seed or "
                       f"shape")


def torch_check(params: Params, X, y, grad_fn=loss_and_grads, *, tol=1e-10):
    """Compare the loss and W1..W4 gradients of `grad_fn` with PyTorch autograd, in float64.

    Returns a `Report` with rows "L", "W1".."W4", or None when torch is not installed.
    """
    try:
        import torch
    except ImportError:
        return None
    params = Params(*(np.array(W, dtype=np.float64) for W in params))
    X = np.asarray(X, dtype=np.float64)
    loss, analytic = grad_fn(params, X, y)

    # The seed's forward pass, one row per sample, written again for autograd.
    W1, W2, W3, W4 = (torch.tensor(W, requires_grad=True) for W in params)
    x = torch.tensor(X)
    z = torch.relu(x)        # z = ReLU(x); torch's ReLU'(0) = 0, as in the seed
    h = z @ W1.T             # h = W1 z
    s = h + x                # s = h + x
    t = s @ W2.T             # t = W2 s
    p = torch.relu(t)        # p = ReLU(t)
    q = p @ W3.T             # q = W3 p
    r = q + t                # r = q + t
    theta = r @ W4.T         # theta = W4 r
    L = torch.nn.functional.cross_entropy(theta, torch.as_tensor(np.asarray(y), dtype=torch.long))
    L.backward()
    reference = [W.grad.numpy() for W in (W1, W2, W3, W4)]

    rows = (compare("L", loss, L.item(), tol),) + tuple(
        compare(name, a, n, tol) for name, a, n in zip(NAMES, analytic, reference))
    return Report(rows, np.inf, 0.0)


def format_report(report: Report) -> str:
    """The report as a plain-text table: tensor, shape, max abs error, relative error, result."""
    header = ("tensor", "shape", "max abs error", "relative error", "result")
    lines = [(row.name, str(row.shape), f"{row.max_abs_error:.2e}", f"{row.rel_error:.2e}",
              "pass" if row.passed else "FAIL") for row in report.rows]
    widths = [max(len(cell) for cell in column) for column in zip(header, *lines)]
    text = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip()
            for line in (header, *lines)]
    if not report.kink_safe:
        text.append(f"warning: some |t| = {report.min_abs_t:.1e} lies within one step "
                    f"({report.max_t_shift:.1e}) of the ReLU kink: the numeric gradient is unreliable")
    return "\n".join(text)
