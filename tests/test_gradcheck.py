"""Finite differences over every weight agree with the hand-derived gradients; broken ones are caught."""
import sys

import numpy as np
import pytest

from residual_mlp import cli, model
from residual_mlp.commands import gradcheck as gradcheck_command
from residual_mlp.gradcheck import (
    Report,
    check_gradients,
    compare,
    format_report,
    kink_distance,
    make_problem,
    numerical_gradient,
    numerical_grads,
    torch_check,
)
from residual_mlp.model import Params

# (N, D, M, C): D != M != C; a single sample with two classes; more classes than features;
# one feature and one hidden unit
SHAPES = [(6, 4, 7, 3), (1, 5, 3, 2), (9, 3, 5, 6), (4, 1, 1, 2), (3, 6, 2, 4)]
TOL = 1e-7


@pytest.mark.parametrize("shape", SHAPES)
def test_every_entry_agrees_with_central_differences(shape):
    params, X, y = make_problem(*shape, seed=11)
    report = check_gradients(params, X, y)
    assert report.kink_safe
    assert [row.name for row in report.rows] == ["W1", "W2", "W3", "W4"]
    assert [row.shape for row in report.rows] == [W.shape for W in params]
    for row in report.rows:
        assert row.rel_error < TOL, format_report(report)
        assert row.passed
    assert report.passed


def test_every_entry_is_perturbed_once_each_way():
    params, X, y = make_problem(3, 4, 5, 3, seed=2)
    calls = []

    def counting_loss(P, X, y):
        calls.append(tuple(W.copy() for W in P))
        return model.loss_and_grads(P, X, y)[0]

    numerical_grads(counting_loss, params, X, y, h=1e-6)
    n_entries = sum(W.size for W in params)
    assert len(calls) == 2 * n_entries
    moved = set()
    for P in calls:  # each call differs from the original point in exactly one entry, by about h
        diffs = [(k, idx) for k, (W, W0) in enumerate(zip(P, params))
                 for idx in zip(*np.nonzero(W != W0))]
        assert len(diffs) == 1
        k, idx = diffs[0]
        assert abs(abs(P[k][idx] - params[k][idx]) - 1e-6) < 1e-12
        moved.add((k, idx))
    assert len(moved) == n_entries


def test_numerical_grads_of_a_known_function():
    rng = np.random.default_rng(0)
    params = Params(*(rng.standard_normal(shape) for shape in [(2, 2), (3, 2), (3, 3), (2, 3)]))
    weights = [1.0, -2.0, 0.5, 3.0]

    def cubic(P, X, y):  # sum_k w_k sum(W_k^3): gradient 3 w_k W_k^2
        return sum(w * float(np.sum(W ** 3)) for w, W in zip(weights, P))

    numeric = numerical_grads(cubic, params, None, None, h=1e-5)
    for w, W, dW in zip(weights, params, numeric):
        np.testing.assert_allclose(dW, 3 * w * W ** 2, rtol=1e-8, atol=1e-9)


def test_problems_mix_the_relus_and_stay_clear_of_the_kink():
    for seed, shape in enumerate(SHAPES):
        params, X, y = make_problem(*shape, seed=seed)
        t = model.forward(params, X).t
        min_abs_t, max_t_shift = kink_distance(params, X, 1e-6)
        assert min_abs_t == np.min(np.abs(t))
        assert min_abs_t > 10 * max_t_shift > 0
        if t.size > 1:
            assert (t > 0).any() and (t < 0).any()
        assert y.min() >= 0 and y.max() < shape[3]
    again = make_problem(*SHAPES[0], seed=0)
    first = make_problem(*SHAPES[0], seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(again[0] + again[1:], first[0] + first[1:]))
    with pytest.raises(RuntimeError, match="ReLU kink"):
        make_problem(5, 3, 4, 2, seed=0, margin=1e12)


def test_a_single_t_is_drawn_positive_so_that_W3_has_a_gradient():
    """With N = M = 1, t < 0 would make p = ReLU(t) = 0 and dW3 = dr p^T identically zero."""
    for seed in range(12):
        params, X, y = make_problem(1, 3, 1, 2, seed=seed)
        assert model.forward(params, X).t.item() > 0
        _, grads = model.loss_and_grads(params, X, y)
        assert np.abs(grads.W3).max() > 1e-6


def test_numerical_gradient_of_one_array():
    A = np.array([[0.5, -1.5, 2.0], [0.25, 1.0, -0.75]])
    np.testing.assert_allclose(numerical_gradient(lambda B: float(np.sum(B ** 3)), A, h=1e-5), 3 * A ** 2,
                               rtol=1e-8)
    assert A[0, 0] == 0.5  # the caller's array is not moved


def test_kink_distance_bounds_the_move_of_t():
    params, X, y = make_problem(4, 3, 5, 2, seed=1)
    h = 1e-3
    _, bound = kink_distance(params, X, h)
    t0 = model.forward(params, X).t
    largest = 0.0
    for k in (0, 1):  # only W1 and W2 come before t
        for idx in np.ndindex(params[k].shape):
            moved = [W.copy() for W in params]
            moved[k][idx] += h
            largest = max(largest, float(np.max(np.abs(model.forward(Params(*moved), X).t - t0))))
    assert 0 < largest <= bound * (1 + 1e-12)


def test_a_point_on_the_kink_is_reported():
    # x = (1, -1), W1 = 0, W2 = [[1, 1], ...]: t_1 = 1 - 1 = 0 exactly
    params = Params(np.zeros((2, 2)), np.array([[1.0, 1.0], [1.0, 0.0]]), np.eye(2), np.eye(2))
    X, y = np.array([[1.0, -1.0]]), np.array([0])
    report = check_gradients(params, X, y)
    assert report.min_abs_t == 0.0 and not report.kink_safe
    assert "warning" in format_report(report) and "kink" in format_report(report)


def test_compare_measures():
    row = compare("W", np.array([1.0, -2.0]), np.array([1.0, -2.5]), tol=0.1)
    assert row.max_abs_error == 0.5 and row.rel_error == 0.5 / 2.5 and not row.passed
    assert compare("W", np.zeros(3), np.zeros(3), tol=1e-12).passed
    assert not compare("W", np.array([np.nan]), np.array([1.0]), tol=1e-7).passed
    with pytest.raises(ValueError, match="shape"):
        compare("W", np.zeros(2), np.zeros(3), tol=1e-7)


# ---- planted bugs: copies of model.backward, each with one term of the derivation broken ----

def backward_without_second_skip(params, acts, dtheta):
    """model.backward with the `+ I_M` of (Lambda_t W3^T + I_M) dropped: path 2 of r = q + t lost."""
    W1, W2, W3, W4 = params
    dW4 = dtheta.T @ acts.r
    dr = dtheta @ W4
    dW3 = dr.T @ acts.p
    dp = dr @ W3
    dt = dp * (acts.t > 0)                     # the bug: `+ dr` is missing
    dW2 = dt.T @ acts.s
    ds = dt @ W2
    dW1 = ds.T @ acts.z
    return Params(dW1, dW2, dW3, dW4)


def backward_without_first_skip(params, acts, dtheta):
    """model.backward that forgets the x branch of s = h + x: t = W2 s is differentiated as W2 h."""
    W1, W2, W3, W4 = params
    dW4 = dtheta.T @ acts.r
    dr = dtheta @ W4
    dW3 = dr.T @ acts.p
    dp = dr @ W3
    dt = dp * (acts.t > 0) + dr
    dW2 = dt.T @ acts.h                        # the bug: h where s = h + x belongs
    ds = dt @ W2
    dW1 = ds.T @ acts.z
    return Params(dW1, dW2, dW3, dW4)


def with_backward(backward):
    def loss_and_grads(params, X, y):
        acts = model.forward(params, X)
        loss, dtheta = model.cross_entropy(acts, y)
        return loss, backward(params, acts, dtheta)
    return loss_and_grads


PLANTED = [(backward_without_second_skip, {"W1", "W2"}), (backward_without_first_skip, {"W2"})]


def test_the_copy_of_backward_is_faithful():
    params, X, y = make_problem(6, 4, 7, 3, seed=5)
    assert check_gradients(params, X, y, with_backward(model.backward)).passed


@pytest.mark.parametrize("backward, broken", PLANTED, ids=["second-skip", "first-skip"])
@pytest.mark.parametrize("shape", SHAPES[:3])
def test_a_planted_bug_is_caught(backward, broken, shape):
    params, X, y = make_problem(*shape, seed=3)
    report = check_gradients(params, X, y, with_backward(backward))
    assert not report.passed
    assert {row.name for row in report.rows if not row.passed} == broken
    for row in report.rows:
        if row.name in broken:
            assert row.rel_error > 1e-3   # four orders of magnitude and more above a correct one
        else:
            assert row.rel_error < TOL


@pytest.mark.parametrize("backward, broken", PLANTED, ids=["second-skip", "first-skip"])
def test_torch_check_agrees_with_the_library_and_catches_planted_bugs(backward, broken):
    params, X, y = make_problem(7, 3, 6, 4, seed=8)
    good = torch_check(params, X, y)
    assert [row.name for row in good.rows] == ["L", "W1", "W2", "W3", "W4"]
    assert good.passed and max(row.rel_error for row in good.rows) < 1e-12
    bad = torch_check(params, X, y, with_backward(backward))
    assert {row.name for row in bad.rows if not row.passed} == broken


def test_torch_check_without_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    params, X, y = make_problem(2, 2, 2, 2, seed=0)
    assert torch_check(params, X, y) is None


def test_format_report_lists_every_tensor():
    params, X, y = make_problem(2, 3, 4, 2, seed=0)
    report = check_gradients(params, X, y)
    lines = format_report(report).splitlines()
    assert lines[0].split() == ["tensor", "shape", "max", "abs", "error", "relative", "error", "result"]
    assert [line.split()[0] for line in lines[1:]] == ["W1", "W2", "W3", "W4"]
    assert all(line.endswith("pass") for line in lines[1:])
    failing = Report(report.rows[:1] + (report.rows[1]._replace(passed=False),), report.min_abs_t,
                     report.max_t_shift)
    assert format_report(failing).splitlines()[2].endswith("FAIL")


# ---- the command ----

def test_command_passes_and_prints_tables(capsys):
    assert cli.main(["gradcheck", "--trials", "1", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("shape ") >= 4 and "4 shapes" in out
    for name in ("W1", "W2", "W3", "W4"):
        assert out.count(f"\n  {name} ") == 8  # a finite-difference and a PyTorch row per shape
    assert "PyTorch autograd" in out and "FAIL" not in out
    assert out.rstrip().splitlines()[-1].startswith("gradcheck passed")


def test_command_covers_the_required_shapes():
    shapes = gradcheck_command.SHAPES
    assert any(D != M and M != C and D != C for _, D, M, C in shapes)
    assert any(N == 1 for N, _, _, _ in shapes)
    assert any(C == 2 for _, _, _, C in shapes)


@pytest.mark.parametrize("backward", [backward_without_second_skip, backward_without_first_skip])
def test_command_fails_on_a_wrong_gradient(monkeypatch, capsys, backward):
    monkeypatch.setattr(gradcheck_command, "loss_and_grads", with_backward(backward))
    assert cli.main(["gradcheck", "--trials", "0", "--shapes", "5,3,4,2"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out
    assert "gradcheck FAILED" in out and "shape 1 W2" in out and "W2 vs PyTorch" in out


def test_command_applies_its_tolerance(capsys):
    # finite differences in float64 agree to about 1e-10, not to 1e-13: --tol is what decides
    assert cli.main(["gradcheck", "--trials", "0", "--shapes", "6,4,7,3", "--tol", "1e-13"]) == 1
    out = capsys.readouterr().out
    assert "gradcheck FAILED" in out and "vs PyTorch" not in out


def test_command_says_when_torch_is_missing(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)
    assert cli.main(["gradcheck", "--trials", "0", "--shapes", "2,3,4,2"]) == 0
    out = capsys.readouterr().out
    assert "torch is not installed" in out and "PyTorch autograd" not in out
    assert "gradcheck passed" in out


@pytest.mark.parametrize("argv, what", [
    (["--shapes", "1,2,3"], "--shapes"),
    (["--shapes", "2,2,2,1"], "two classes"),
    (["--shapes", "2,0,2,2"], "positive"),
    (["--trials", "-1"], "--trials"),
    (["--tol", "0"], "--tol"),
    (["--step", "abc"], "--step"),
    (["--seed", "-1"], "argument --seed: expected a seed between 0 and"),
])
def test_command_rejects_bad_options(capsys, argv, what):
    assert cli.main(["gradcheck", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and what in err and len(err.strip().splitlines()) == 1
