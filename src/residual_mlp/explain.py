"""The seed's derivation, step by step, on one small concrete sample.

Each step takes one quantity the seed derives, computes it with the seed's formula, and computes it again
by central finite differences of the forward equations, which know nothing of the derivation. The two
must agree. One step is the exception: "the library's backward pass" compares the formulas with
`model.loss_and_grads`, the code training runs, rather than with finite differences; the formulas
themselves were checked by differences in the steps before it. The formulas are the module-level
functions below (`dJ_dtheta`, `path1_factor`, ...), built from one another the way the seed builds
them: first the shared factors, then the four gradients. The differences come from
`gradcheck.numerical_gradient`, the library's own checker.

The seed writes gradients of a scalar as row vectors (dJ/dr is 1 x M) and Jacobians of vectors as
matrices (dr/dt is M x M); here a row vector is a 1-d array. Gradients with respect to a matrix have
the matrix's shape. The example is drawn so that no ReLU input lies near its kink, where a finite
difference would straddle two slopes.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from . import gradcheck, model
from .model import Params, relu

EPS = 1e-6        # central-difference step
TOL = 1e-6        # a step agrees when max|formula - numerical| <= TOL * max(|numerical|, |formula|)
KINK = 1e-3       # no entry of x or t closer than this to 0
DEFAULT_SIZES = (4, 5, 3)   # D, M, C
MAX_SIZE = 10     # largest D, M or C: the matrices stay readable
MAX_PRINTED = 100  # arrays with more entries are compared, not printed
BATCH = 3          # samples in the batch of the Training Equations step


class Example(NamedTuple):
    """One sample x (D,) of class y with weights `params`, its forward pass (one row), and a small batch
    (X (N, D), labels (N,)) whose first row is x, for the seed's Training Equations."""

    params: Params
    x: np.ndarray        # (D,)
    y: int
    acts: model.Activations
    X: np.ndarray        # (N, D)
    labels: np.ndarray   # (N,)

    def __getattr__(self, name):  # ex.t is the sample's t (M,), ex.y_hat its y_hat (C,), ...
        if name in model.Activations._fields:
            return getattr(self.acts, name)[0]
        raise AttributeError(name)

    @property
    def y_onehot(self):
        onehot = np.zeros(self.params.W4.shape[0])  # (C,)
        onehot[self.y] = 1.0
        return onehot


class Step(NamedTuple):
    """One quantity of the derivation: its formula, the value the formula gives, an independent value."""

    title: str
    formula: str
    note: str
    value: Callable       # Example -> array: the seed's formula
    numerical: Callable   # Example -> array: finite differences of the forward equations
    check: str            # how `numerical` is obtained
    parts: Callable | None = None  # Example -> ((name, size), ...) when `value` stacks several matrices


class Outcome(NamedTuple):
    step: Step
    value: np.ndarray
    numerical: np.ndarray
    max_diff: float
    relative: float
    agrees: bool


def make_example(n_features=DEFAULT_SIZES[0], n_hidden=DEFAULT_SIZES[1], n_classes=DEFAULT_SIZES[2],
                 seed=0, batch=BATCH) -> Example:
    """Weights with entries N(0, 1/fan_in), inputs ~ N(0, I) and classes; away from ReLU kinks."""
    D, M, C = int(n_features), int(n_hidden), int(n_classes)
    rng = np.random.default_rng(seed)
    for _ in range(1000):
        params = Params(rng.standard_normal((D, D)) / np.sqrt(D),   # (D, D)
                        rng.standard_normal((M, D)) / np.sqrt(D),   # (M, D)
                        rng.standard_normal((M, M)) / np.sqrt(M),   # (M, M)
                        rng.standard_normal((C, M)) / np.sqrt(M))   # (C, M)
        X = rng.standard_normal((batch, D))                          # (N, D)
        labels = rng.integers(C, size=batch)                         # (N,)
        acts = model.forward(params, X)
        if np.abs(X).min() > KINK and np.abs(acts.t).min() > KINK:
            return sample(params, X, labels, 0)
    raise RuntimeError("could not draw an example away from the ReLU kinks")  # pragma: no cover


def sample(params, X, labels, i) -> Example:
    """The example of row i of the batch."""
    return Example(params, X[i], int(labels[i]), model.forward(params, X[i:i + 1]), X, labels)


# ---- The seed's formulas --------------------------------------------------------------------------

def dJ_dtheta(ex):
    """dJ/dtheta = (y_hat - y)^T, (C,): softmax and cross-entropy together."""
    return ex.y_hat - ex.y_onehot


def dJ_dr(ex):
    """dJ/dr = dJ/dtheta dtheta/dr = (y_hat - y)^T W4, (M,)."""
    return dJ_dtheta(ex) @ ex.params.W4


def Lambda_t(ex):
    """Lambda_t = diag(1[t_1 > 0], ..., 1[t_M > 0]), (M, M): the Jacobian of p = ReLU(t)."""
    return np.diag((ex.t > 0).astype(float))


def path1_factor(ex):
    """(dr/dq dq/dp dp/dt)_1 = I_M W3 Lambda_t = W3 Lambda_t, (M, M)."""
    return ex.params.W3 @ Lambda_t(ex)


def path2_factor(ex):
    """(dr/dt)_2 = I_M, (M, M): r = q + t passes t through unchanged."""
    return np.eye(ex.params.W3.shape[0])


def dr_dt(ex):
    """dr/dt = W3 Lambda_t + I_M, (M, M): the two uses of t add."""
    return path1_factor(ex) + path2_factor(ex)


def dt_dh(ex):
    """dt/ds ds/dh = W2 I_D = W2, (M, D)."""
    return ex.params.W2 @ np.eye(ex.params.W1.shape[0])


def dJ_dW4(ex):
    """dJ/dW4 = (y_hat - y) r^T, (C, M)."""
    return np.outer(dJ_dtheta(ex), ex.r)


def dJ_dW3(ex):
    """dJ/dW3 = W4^T (y_hat - y) p^T, (M, M): the path through r = q + t into q."""
    return np.outer(dJ_dr(ex), ex.p)


def dJ_dW2_path1(ex):
    """Path 1 of dJ/dW2: Lambda_t W3^T W4^T (y_hat - y) s^T, (M, D)."""
    return np.outer(dJ_dr(ex) @ path1_factor(ex), ex.s)


def dJ_dW2_path2(ex):
    """Path 2 of dJ/dW2: W4^T (y_hat - y) s^T, (M, D)."""
    return np.outer(dJ_dr(ex) @ path2_factor(ex), ex.s)


def dJ_dW2(ex):
    """dJ/dW2 = (Lambda_t W3^T + I_M) W4^T (y_hat - y) s^T, (M, D)."""
    return dJ_dW2_path1(ex) + dJ_dW2_path2(ex)


def dJ_dW1_path1(ex):
    """Path 1 of dJ/dW1: W2^T Lambda_t W3^T W4^T (y_hat - y) z^T, (D, D)."""
    return np.outer(dJ_dr(ex) @ path1_factor(ex) @ dt_dh(ex), ex.z)


def dJ_dW1_path2(ex):
    """Path 2 of dJ/dW1: W2^T W4^T (y_hat - y) z^T, (D, D)."""
    return np.outer(dJ_dr(ex) @ path2_factor(ex) @ dt_dh(ex), ex.z)


def dJ_dW1(ex):
    """dJ/dW1 = W2^T (Lambda_t W3^T + I_M) W4^T (y_hat - y) z^T, (D, D)."""
    return dJ_dW1_path1(ex) + dJ_dW1_path2(ex)


def all_gradients(ex):
    """The four gradients by the seed's final formulas, in `Params` order."""
    return Params(dJ_dW1(ex), dJ_dW2(ex), dJ_dW3(ex), dJ_dW4(ex))


def batch_gradients(ex):
    """Training Equations: dL/dW = (1/N) sum_i dJ_i/dW for L = (1/N) sum_i J_i over the batch."""
    per_sample = [all_gradients(sample(ex.params, ex.X, ex.labels, i)) for i in range(len(ex.labels))]
    return Params(*(sum(grads) / len(per_sample) for grads in zip(*per_sample)))


# ---- Independent values: finite differences of the forward equations -----------------------------

def numerical_gradient(f, A, eps=EPS):
    """d f / d A by central differences, for a scalar f of an array A; same shape as A."""
    return gradcheck.numerical_gradient(f, A, eps)


def numerical_jacobian(f, v, eps=EPS):
    """d f / d v (len f, len v) by central differences, for a vector f of a vector v."""
    v = np.array(v, dtype=np.float64)
    columns = []
    for j in range(v.size):
        step = np.zeros_like(v)
        step[j] = eps
        columns.append((np.asarray(f(v + step)) - np.asarray(f(v - step))) / (2 * eps))
    return np.stack(columns, axis=1)


def loss(ex, W1=None, W2=None, W3=None, W4=None):
    """J of the example with some weights replaced: the library's forward pass and cross-entropy."""
    params = Params(*(ex.params[i] if W is None else W for i, W in enumerate((W1, W2, W3, W4))))
    value, _ = model.cross_entropy(model.forward(params, ex.x[None, :]), np.array([ex.y]))
    return float(value)


def loss_through(ex, path, W1=None, W2=None):
    """J when only one use of t sees a change of W1 or W2; the other use keeps the example's t.

    path 1: r = W3 ReLU(t_new) + t_old      path 2: r = W3 ReLU(t_old) + t_new
    Differentiating this J gives exactly that path's term of the gradient.
    """
    P = ex.params
    W1 = P.W1 if W1 is None else W1
    W2 = P.W2 if W2 is None else W2
    t_new = W2 @ (W1 @ ex.z + ex.x)
    r = P.W3 @ relu(t_new) + ex.t if path == 1 else P.W3 @ relu(ex.t) + t_new
    return _cross_entropy_of_logits(P.W4 @ r, ex.y)


def batch_loss(ex, params):
    """L = (1/N) sum_i J_i over the example's batch, by the library's forward pass."""
    value, _ = model.cross_entropy(model.forward(params, ex.X), ex.labels)
    return float(value)


def _numerical_batch_gradients(ex):
    grads = []
    for k in range(4):
        def L(W, k=k):
            return batch_loss(ex, Params(*(W if i == k else V for i, V in enumerate(ex.params))))
        grads.append(numerical_gradient(L, ex.params[k]))
    return grads


def _cross_entropy_of_logits(theta, y):
    return float(-model.log_softmax(np.asarray(theta)[None, :])[0, y])


def steps() -> list:
    """The walk-through, in the seed's order."""
    return [
        Step("the loss at the logits", "dJ/dtheta = (y_hat - y)^T",
             "softmax and cross-entropy together: the seed's sum over i collapses because y is one-hot",
             dJ_dtheta,
             lambda ex: numerical_gradient(lambda theta: _cross_entropy_of_logits(theta, ex.y), ex.theta),
             "finite differences of J(theta) = -log softmax(theta)_y"),
        Step("the shared start of every gradient", "dJ/dr = dJ/dtheta dtheta/dr = (y_hat - y)^T W4",
             "used by all four gradients, so the seed computes it first",
             dJ_dr,
             lambda ex: numerical_gradient(
                 lambda r: _cross_entropy_of_logits(ex.params.W4 @ r, ex.y), ex.r),
             "finite differences of J(r) = CE(softmax(W4 r))"),
        Step("path 1 factor: t reaches r through the ReLU and W3",
             "(dr/dq dq/dp dp/dt)_1 = I_M W3 Lambda_t = W3 Lambda_t",
             "Lambda_t = diag(1[t > 0]) is the ReLU's Jacobian; columns of inactive units are zero",
             path1_factor,
             lambda ex: numerical_jacobian(lambda t: ex.params.W3 @ relu(t), ex.t),
             "finite differences of the q-branch alone, t -> W3 ReLU(t)"),
        Step("path 2 factor: t reaches r through the skip", "(dr/dt)_2 = I_M",
             "r = q + t hands t on unchanged",
             path2_factor,
             lambda ex: numerical_jacobian(lambda t: ex.q + t, ex.t),
             "finite differences of the skip alone, t -> q + t with q held"),
        Step("both paths together", "dr/dt = W3 Lambda_t + I_M",
             "t is used twice, so the two Jacobians add",
             dr_dt,
             lambda ex: numerical_jacobian(lambda t: ex.params.W3 @ relu(t) + t, ex.t),
             "finite differences of t -> r = W3 ReLU(t) + t"),
        Step("from h to t", "dt/ds ds/dh = W2 I_D = W2",
             "s = h + x passes h on unchanged; x is data and needs no gradient",
             dt_dh,
             lambda ex: numerical_jacobian(lambda h: ex.params.W2 @ (h + ex.x), ex.h),
             "finite differences of h -> t = W2 (h + x)"),
        Step("the output layer", "dJ/dW4 = (y_hat - y) r^T",
             "one path: theta = W4 r",
             dJ_dW4,
             lambda ex: numerical_gradient(lambda W4: loss(ex, W4=W4), ex.params.W4),
             "finite differences of J(W4) through the whole forward pass"),
        Step("the second block's branch", "dJ/dW3 = W4^T (y_hat - y) p^T",
             "one path: q = W3 p, and dr/dq = I_M",
             dJ_dW3,
             lambda ex: numerical_gradient(lambda W3: loss(ex, W3=W3), ex.params.W3),
             "finite differences of J(W3) through the whole forward pass"),
        Step("W2 by path 1", "Lambda_t W3^T W4^T (y_hat - y) s^T",
             "the gradient that reaches W2 through the ReLU and W3",
             dJ_dW2_path1,
             lambda ex: numerical_gradient(lambda W2: loss_through(ex, 1, W2=W2), ex.params.W2),
             "finite differences of J(W2) where only the ReLU branch sees the new t"),
        Step("W2 by path 2", "W4^T (y_hat - y) s^T",
             "the gradient that reaches W2 through the skip r = q + t",
             dJ_dW2_path2,
             lambda ex: numerical_gradient(lambda W2: loss_through(ex, 2, W2=W2), ex.params.W2),
             "finite differences of J(W2) where only the skip sees the new t"),
        Step("W2, both paths", "dJ/dW2 = (Lambda_t W3^T + I_M) W4^T (y_hat - y) s^T",
             "the sum of the two paths",
             dJ_dW2,
             lambda ex: numerical_gradient(lambda W2: loss(ex, W2=W2), ex.params.W2),
             "finite differences of J(W2) through the whole forward pass"),
        Step("W1 by path 1", "W2^T Lambda_t W3^T W4^T (y_hat - y) z^T",
             "back through W2 and s = h + x to h = W1 z, entering t's ReLU branch",
             dJ_dW1_path1,
             lambda ex: numerical_gradient(lambda W1: loss_through(ex, 1, W1=W1), ex.params.W1),
             "finite differences of J(W1) where only the ReLU branch sees the new t"),
        Step("W1 by path 2", "W2^T W4^T (y_hat - y) z^T",
             "back through W2 and s = h + x to h = W1 z, entering t's skip",
             dJ_dW1_path2,
             lambda ex: numerical_gradient(lambda W1: loss_through(ex, 2, W1=W1), ex.params.W1),
             "finite differences of J(W1) where only the skip sees the new t"),
        Step("W1, both paths", "dJ/dW1 = W2^T (Lambda_t W3^T + I_M) W4^T (y_hat - y) z^T",
             "the sum of the two paths",
             dJ_dW1,
             lambda ex: numerical_gradient(lambda W1: loss(ex, W1=W1), ex.params.W1),
             "finite differences of J(W1) through the whole forward pass"),
        Step("the library's backward pass", "residual_mlp.model.backward = the four formulas above",
             "what training uses: dW1..dW4 from model.loss_and_grads on this sample, stacked",
             lambda ex: _stack(all_gradients(ex)),
             lambda ex: _stack(model.loss_and_grads(ex.params, ex.x[None, :], np.array([ex.y]))[1]),
             "model.loss_and_grads (not finite differences)", parts=_parts),
        Step("a batch: the Training Equations", "dL/dW = (1/N) sum_i dJ_i/dW for W = W1, W2, W3, W4",
             "L = (1/N) sum_i J_i, so each gradient is the mean of the per-sample ones above",
             lambda ex: _stack(batch_gradients(ex)),
             lambda ex: _stack(_numerical_batch_gradients(ex)),
             "finite differences of L over the batch", parts=_parts),
    ]


def _parts(ex):
    return tuple(zip(("dW1", "dW2", "dW3", "dW4"), (W.size for W in ex.params)))


def _stack(grads):
    return np.concatenate([np.ravel(g) for g in grads])


def evaluate(step: Step, ex: Example, tol=TOL) -> Outcome:
    """Both values of a step and whether they agree; a formula of the wrong shape disagrees."""
    value = np.asarray(step.value(ex), dtype=np.float64)
    numerical = np.asarray(step.numerical(ex), dtype=np.float64)
    if value.shape != numerical.shape:
        return Outcome(step, value, numerical, np.inf, np.inf, False)
    max_diff = float(np.max(np.abs(value - numerical))) if value.size else 0.0
    scale = max(float(np.max(np.abs(numerical), initial=0.0)), float(np.max(np.abs(value), initial=0.0)))
    relative = max_diff / scale if scale > 0 else max_diff
    agrees = bool(np.isfinite(max_diff) and relative <= tol)
    return Outcome(step, value, numerical, max_diff, relative, agrees)


def walk_through(n_features=DEFAULT_SIZES[0], n_hidden=DEFAULT_SIZES[1], n_classes=DEFAULT_SIZES[2],
                 seed=0, out=None, tol=TOL) -> bool:
    """Print the lesson to `out` (default stdout); True when every step agrees."""
    out = sys.stdout if out is None else out
    ex = make_example(n_features, n_hidden, n_classes, seed)
    D, M, C = n_features, n_hidden, n_classes

    def say(text=""):
        print(text, file=out)

    say(f"The seed's derivation, checked on one sample (and, last, on a batch of {len(ex.labels)})")
    say(f"  D = {D} features, M = {M} hidden units, C = {C} classes; weights and input drawn with seed {seed}")
    say("  Each formula is computed as the seed writes it, then again by central finite differences")
    say(f"  (step {EPS:g}) of the forward equations alone, except where a step names another check.")
    say(f"  They agree when the largest difference is at most {tol:g} of the largest value.")
    say()
    say("Forward pass")
    for name, text in (("x", "input"), ("z", "ReLU(x)"), ("h", "W1 z"), ("s", "h + x"), ("t", "W2 s"),
                       ("p", "ReLU(t)"), ("q", "W3 p"), ("r", "q + t"), ("theta", "W4 r"),
                       ("y_hat", "softmax(theta)")):
        say(f"  {name:<6}= {text:<15}{_format(getattr(ex, name), 26)}")
    say(f"  {'y':<6}= {'class ' + str(ex.y):<15}{_format(ex.y_onehot, 26)}")
    say(f"  {'J':<6}= {'-log y_hat_y':<15}{loss(ex):.6f}")
    say(f"  Lambda_t = diag({_format((ex.t > 0).astype(int), 17)})")

    outcomes = []
    all_steps = steps()
    for number, step in enumerate(all_steps, 1):
        outcome = evaluate(step, ex, tol)
        outcomes.append(outcome)
        say()
        say(f"Step {number} of {len(all_steps)}. {step.title[0].upper()}{step.title[1:]}")
        say(f"  {step.formula}")
        say(f"  ({step.note})")
        if step.parts and outcome.value.shape == outcome.numerical.shape:
            say(f"  formula against {step.check}, largest |difference| in each matrix:")
            start = 0
            for name, size in step.parts(ex):
                diff = np.abs(outcome.value[start:start + size] - outcome.numerical[start:start + size])
                say(f"    {name}  {diff.max():.1e}")
                start += size
        elif max(outcome.value.size, outcome.numerical.size) <= MAX_PRINTED:
            say("  formula:")
            say(_indent(_format(outcome.value, 4), 4))
            say(f"  {step.check}:")
            say(_indent(_format(outcome.numerical, 4), 4))
        else:
            say(f"  formula against {step.check}: {outcome.value.size} numbers each, not printed")
        if outcome.value.shape != outcome.numerical.shape:
            say(f"  DISAGREES: the formula gives shape {outcome.value.shape}, the check {outcome.numerical.shape}")
        else:
            verdict = "agrees" if outcome.agrees else "DISAGREES"
            say(f"  max |difference| {outcome.max_diff:.1e}, relative {outcome.relative:.1e}: {verdict}")

    say()
    bad = [i for i, o in enumerate(outcomes, 1) if not o.agrees]
    if bad:
        say(f"{len(bad)} of {len(outcomes)} steps DISAGREE: step{'s' if len(bad) > 1 else ''} "
            f"{', '.join(map(str, bad))}. The derivation, or the code that implements it, is wrong there.")
        return False
    worst = max(o.relative for o in outcomes)
    say(f"All {len(outcomes)} steps agree (largest relative difference {worst:.1e}).")
    return True


def _format(a, indent):
    a = np.asarray(a)
    if a.dtype.kind == "f":
        a = np.round(a, 5) + 0.0  # no "-0.00000"
    text = np.array2string(a, precision=5, suppress_small=True, max_line_width=100 - indent,
                           floatmode="fixed" if a.dtype.kind == "f" else "maxprec", sign=" ")
    return text.replace("\n", "\n" + " " * indent)


def _indent(text, n):
    return " " * n + text
