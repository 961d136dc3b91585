"""The update rules against torch.optim, step by step, through `fit` (full batch, float64).

The PyTorch side is tests/torch_twin.py: the seed's forward pass written independently, autograd for
the gradients and torch.optim for the steps. After each of 10 steps the four weight matrices must agree
to about 1e-10 relative; a wrong sign, a missing bias correction or eps in the wrong place is off by
far more than that.
"""
import numpy as np
import pytest
import torch
import torch_twin

from residual_mlp import flow, init_params, loss_and_grads, model, optim, predict
from residual_mlp.model import Params
from residual_mlp.train import fit

STEPS = 10
RTOL = 1e-10

# optimizer -> (fit's keyword arguments, the matching torch.optim factory given weight_decay)
# Non-default momentum, betas and eps make sure each option reaches the update rule; eps=1e-3 is
# large next to sqrt(v_hat) here, so eps inside the square root would be caught.
CASES = {
    "gd": (dict(lr=0.5),
           lambda wd: (lambda Ws: torch.optim.SGD(Ws, lr=0.5, weight_decay=wd))),
    "momentum": (dict(lr=0.2, momentum=0.7),
                 lambda wd: (lambda Ws: torch.optim.SGD(Ws, lr=0.2, momentum=0.7, weight_decay=wd))),
    "nesterov": (dict(lr=0.2, momentum=0.8),
                 lambda wd: (lambda Ws: torch.optim.SGD(Ws, lr=0.2, momentum=0.8, nesterov=True,
                                                         weight_decay=wd))),
    "adam": (dict(lr=0.01),
             lambda wd: (lambda Ws: torch.optim.Adam(Ws, lr=0.01, weight_decay=wd))),
    "adam_custom": (dict(lr=0.02, betas=(0.8, 0.99), eps=1e-3),
                    lambda wd: (lambda Ws: torch.optim.Adam(Ws, lr=0.02, betas=(0.8, 0.99), eps=1e-3,
                                                            weight_decay=wd))),
}


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(7)
    N, D, M, C = 40, 6, 9, 4
    X = rng.standard_normal((N, D))                            # (N, D)
    y = rng.integers(0, C, N)                                  # (N,)
    params = init_params(D, M, C, seed=3)
    # Scale W4 up from its small initialisation so every layer's gradient is far from zero.
    params = params._replace(W4=params.W4 * 10)
    return params, X, y


def _relative(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
@pytest.mark.parametrize("case", sorted(CASES))
def test_fit_follows_torch_optim_step_by_step(problem, case, weight_decay):
    params, X, y = problem
    kwargs, make = CASES[case]
    optimizer = case.split("_")[0]
    seen = []
    fit(params, X, y, optimizer=optimizer, epochs=STEPS, weight_decay=weight_decay, seed=0,
        callback=lambda state: seen.append([W.copy() for W in state.params]), **kwargs)
    expected = torch_twin.train(params, X, y, make(weight_decay), STEPS)
    assert len(seen) == STEPS
    moved = max(_relative(seen[-1][i], params[i]) for i in range(4))
    assert moved > 1e-3, "the weights barely moved: the comparison would prove nothing"
    for step, (ours, theirs) in enumerate(zip(seen, expected), start=1):
        for name, W, W_torch in zip(Params._fields, ours, theirs):
            err = _relative(W, W_torch)
            assert err < RTOL, f"{case} wd={weight_decay} step {step} {name}: max rel diff {err:.3e}"


def test_weight_decay_adds_wd_times_W_to_the_gradient(problem):
    """One gd step with weight decay is W - lr (dL/dW + wd W), dL/dW from the core gradients."""
    params, X, y = problem
    lr, wd = 0.3, 0.1
    new, _ = fit(params, X, y, lr=lr, epochs=1, weight_decay=wd)
    _, grads = loss_and_grads(params, X, y)
    for W_new, W, dW in zip(new, params, grads):
        np.testing.assert_allclose(W_new, W - lr * (dW + wd * W), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "nesterov", "adam"])
def test_step_writes_out_and_leaves_the_weights_alone(problem, optimizer):
    params, X, y = problem
    W_before = [W.copy() for W in params]
    _, grads = loss_and_grads(params, X, y)
    out = Params(*(np.empty_like(W) for W in params))
    state = optim.init_state(optimizer, params)
    optim.step(optimizer, params, grads, state, out, lr=0.1)
    assert state["step"] == 1
    for W, W0, W_new in zip(params, W_before, out):
        np.testing.assert_array_equal(W, W0)
        assert not np.array_equal(W_new, W0)


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "nesterov", "adam"])
def test_float32_stays_float32(optimizer):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((20, 3)).astype(np.float32)
    y = rng.integers(0, 2, 20)
    params = init_params(3, 5, 2, seed=0, dtype=np.float32)
    new, history = fit(params, X, y, optimizer=optimizer, lr=0.05, epochs=3, weight_decay=1e-3,
                       batch_size=7, seed=0)
    assert all(W.dtype == np.float32 for W in new)
    assert history.stop_reason == "max_epochs"
    assert all(np.isfinite(W).all() for W in new)


def test_unknown_optimizer_is_refused():
    params = init_params(2, 3, 2, seed=0)
    with pytest.raises(ValueError, match="unknown optimizer 'sgd'"):
        fit(params, np.zeros((4, 2)), np.array([0, 1, 0, 1]), optimizer="sgd")


# --- L-BFGS --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def separable():
    """60 rows labelled by a random linear map: a small problem L-BFGS can solve to convergence."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((60, 5))                                   # (60, 5)
    y = (X @ rng.standard_normal((5, 3))).argmax(axis=1)               # (60,)
    return init_params(5, 8, 3, seed=2), X, y


def _objective_gradient(params, X, y, weight_decay):
    """The largest entry of d/dW [L + wd/2 ||W||^2], from the core gradients."""
    _, grads = loss_and_grads(params, X, y)
    return max(float(np.abs(dW + weight_decay * W).max()) for W, dW in zip(params, grads))


def test_lbfgs_beats_100_steps_of_gradient_descent(separable):
    params, X, y = separable
    gd, _ = fit(params, X, y, optimizer="gd", lr=0.5, epochs=100)
    lbfgs, history = fit(params, X, y, optimizer="lbfgs", epochs=100, tol=0.0)
    gd_loss, lbfgs_loss = float(loss_and_grads(gd, X, y)[0]), float(loss_and_grads(lbfgs, X, y)[0])
    assert lbfgs_loss < 0.1 * gd_loss, (lbfgs_loss, gd_loss)
    assert history.loss[0] == pytest.approx(float(loss_and_grads(params, X, y)[0]), rel=1e-12)


def test_lbfgs_stops_on_its_own_convergence_test(separable):
    params, X, y = separable
    wd, tol = 0.01, 1e-3
    new, history = fit(params, X, y, optimizer="lbfgs", epochs=1000, weight_decay=wd, tol=tol)
    assert history.stop_reason == "converged"
    assert len(history) < 1000
    # The documented rule: the largest gradient entry of the penalised objective at most tol, or its
    # relative decrease in one iteration at most tol (scipy's ftol).
    if "PROJECTED GRADIENT" in history.message:
        assert _objective_gradient(new, X, y, wd) <= tol
    else:
        assert "RELATIVE REDUCTION OF F" in history.message
        assert _objective_gradient(new, X, y, wd) < 0.1 * _objective_gradient(params, X, y, wd)
    # Converged on the penalised objective, not on the bare loss
    assert _objective_gradient(new, X, y, 0.0) > 10 * tol
    short, history = fit(params, X, y, optimizer="lbfgs", epochs=5, weight_decay=wd, tol=tol)
    assert history.stop_reason == "max_epochs" and len(history) == 5


def test_lbfgs_history_rows(separable):
    params, X, y = separable
    Xv, yv = X[:20] + 0.1, y[:20]
    wd = 0.01
    seen = []
    new, history = fit(params, X, y, optimizer="lbfgs", epochs=8, weight_decay=wd, tol=0.0,
                       validation_data=(Xv, yv), record_flow=True,
                       callback=lambda s: seen.append(Params(*(W.copy() for W in s.params))))
    n = len(history)
    assert n == 8 and history.stop_reason == "max_epochs"
    for name in ("loss", "accuracy", "val_loss", "val_accuracy", "grad_norm", "elapsed", "flow", "lr"):
        assert len(getattr(history, name)) == n, name
    assert all(np.isnan(history.lr))
    # Training numbers at the weights entering an iteration, validation and flow at those leaving it.
    loss0, grads0 = loss_and_grads(params, X, y)
    norm0 = np.sqrt(sum(np.sum((dW + wd * W) ** 2) for W, dW in zip(params, grads0)))
    assert history.grad_norm[0] == pytest.approx(norm0, rel=1e-12)
    assert history.loss[0] == pytest.approx(float(loss0), rel=1e-12)
    assert history.loss[5] == pytest.approx(float(loss_and_grads(seen[4], X, y)[0]), rel=1e-12)
    assert history.accuracy[5] == np.mean(predict(seen[4], X) == y)
    assert history.val_loss[5] == pytest.approx(float(loss_and_grads(seen[5], Xv, yv)[0]), rel=1e-12)
    assert history.flow[-1] == pytest.approx(flow.flow_stats(new, X, y))
    assert all(np.array_equal(a, b) for a, b in zip(new, seen[-1]))


def test_lbfgs_keeps_float32(separable):
    params, X, y = separable
    params32 = Params(*(W.astype(np.float32) for W in params))
    new, history = fit(params32, X.astype(np.float32), y, optimizer="lbfgs", epochs=30)
    assert all(W.dtype == np.float32 for W in new)
    assert np.isfinite(history.loss).all() and history.loss[-1] < 0.5 * history.loss[0]


def test_lbfgs_non_finite_at_the_start_keeps_the_initial_weights(separable):
    params, X, y = separable
    with np.errstate(all="ignore"):
        kept, history = fit(params, X * 1e300, y, optimizer="lbfgs", epochs=10)
    assert history.stop_reason == "non_finite" and len(history) == 0
    assert "non-finite at epoch 1" in history.message and "standardize" in history.message
    assert all(np.array_equal(a, b) for a, b in zip(kept, params))


def test_lbfgs_non_finite_mid_run_keeps_the_last_iterate(separable, monkeypatch):
    params, X, y = separable
    real = model.cross_entropy
    calls = []

    def cross_entropy(acts, y, sample_weight=None):
        loss, dtheta = real(acts, y, sample_weight)
        calls.append(1)
        return (loss if len(calls) < 8 else loss * np.nan), dtheta

    monkeypatch.setattr(model, "cross_entropy", cross_entropy)
    seen = []
    kept, history = fit(params, X, y, optimizer="lbfgs", epochs=50,
                        callback=lambda s: seen.append(Params(*(W.copy() for W in s.params))))
    assert history.stop_reason == "non_finite"
    assert 1 <= len(history) == len(seen) < 8
    assert all(np.array_equal(a, b) for a, b in zip(kept, seen[-1]))
    assert all(np.isfinite(W).all() for W in kept)


def test_lbfgs_interrupt_keeps_the_weights_of_k_iterations(separable):
    params, X, y = separable

    def callback(state):
        if state.epoch == 4:
            raise KeyboardInterrupt

    stopped, history = fit(params, X, y, optimizer="lbfgs", epochs=50, tol=0.0, callback=callback)
    assert history.stop_reason == "interrupted" and len(history) == 4
    four, _ = fit(params, X, y, optimizer="lbfgs", epochs=4, tol=0.0)
    assert all(np.array_equal(a, b) for a, b in zip(stopped, four))


def test_lbfgs_early_stopping_restores_the_best_validation_weights():
    """Training labels with 40% noise, clean validation data: validation loss falls, then rises."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 6))
    w = rng.standard_normal((6, 3))
    y = (X @ w).argmax(axis=1)
    flip = rng.random(60) < 0.4
    y[flip] = (y[flip] + 1) % 3
    Xv = rng.standard_normal((200, 6))
    yv = (Xv @ w).argmax(axis=1)
    params = init_params(6, 32, 3, seed=1)
    options = dict(optimizer="lbfgs", validation_data=(Xv, yv), tol=0.0)
    best, history = fit(params, X, y, epochs=500, patience=3, **options)
    assert history.stop_reason == "early_stopping"
    k = history.best_epoch
    assert k >= 3 and len(history) == k + 1 + 3
    assert history.val_loss[k] == min(history.val_loss) < history.val_loss[-1]
    again, _ = fit(params, X, y, epochs=k + 1, **options)
    assert all(np.array_equal(a, b) for a, b in zip(best, again))
    assert float(loss_and_grads(best, Xv, yv)[0]) == pytest.approx(history.val_loss[k], rel=1e-12)


def test_lbfgs_stalls_when_the_line_search_cannot_descend(separable, monkeypatch):
    """A loss that never changes while its gradient says it should: no step is accepted."""
    params, X, y = separable
    real = model.cross_entropy
    monkeypatch.setattr(model, "cross_entropy",
                        lambda acts, y, w=None: (acts.theta.dtype.type(1.0), real(acts, y, w)[1]))
    kept, history = fit(params, X, y, optimizer="lbfgs", epochs=20)
    assert history.stop_reason == "stalled" and "line search" in history.message
    assert all(np.array_equal(a, b) for a, b in zip(kept, params))


def test_lbfgs_resume_continues_to_the_total(separable):
    params, X, y = separable
    _, _, state = fit(params, X, y, optimizer="lbfgs", epochs=5, tol=0.0, return_state=True)
    middle = Params(*(W.copy() for W in state.params))
    new, history = fit(params, X, y, optimizer="lbfgs", epochs=12, tol=0.0, resume=state)
    assert len(history) == 12 and history.stop_reason == "max_epochs"
    assert history.loss[5] == pytest.approx(float(loss_and_grads(middle, X, y)[0]), rel=1e-12)
    assert float(loss_and_grads(new, X, y)[0]) < history.loss[5]
