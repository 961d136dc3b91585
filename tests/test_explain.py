"""`residual-mlp explain`: the seed's derivation checked step by step, and failing when a step is wrong."""
import io
import re

import numpy as np
import pytest

from residual_mlp import cli, explain, gradcheck, model
from residual_mlp.model import Params


def test_the_walk_through_agrees_at_every_step(capsys):
    assert cli.main(["explain"]) == 0
    out = capsys.readouterr().out
    n = len(explain.steps())
    assert f"All {n} steps agree" in out
    assert out.count(": agrees") == n and "DISAGREE" not in out
    for formula in ("dJ/dtheta = (y_hat - y)^T", "dJ/dr = dJ/dtheta dtheta/dr = (y_hat - y)^T W4",
                    "W3 Lambda_t", "(dr/dt)_2 = I_M", "dt/ds ds/dh = W2 I_D = W2",
                    "dJ/dW4 = (y_hat - y) r^T", "dJ/dW3 = W4^T (y_hat - y) p^T",
                    "dJ/dW2 = (Lambda_t W3^T + I_M) W4^T (y_hat - y) s^T",
                    "dJ/dW1 = W2^T (Lambda_t W3^T + I_M) W4^T (y_hat - y) z^T"):
        assert formula in out
    assert "finite differences" in out


@pytest.mark.parametrize("sizes, seed", [((1, 1, 2), 0), ((6, 3, 4), 7), ((10, 10, 10), 123)])
def test_other_sizes_and_seeds_agree(sizes, seed):
    out = io.StringIO()
    assert explain.walk_through(*sizes, seed=seed, out=out)
    assert "DISAGREE" not in out.getvalue()


def test_the_example_is_reproducible_and_clear_of_the_relu_kinks():
    a, b = explain.make_example(5, 6, 3, seed=4), explain.make_example(5, 6, 3, seed=4)
    assert all(np.array_equal(u, v) for u, v in zip(a.params, b.params)) and a.y == b.y
    assert np.abs(a.X).min() > explain.KINK and np.abs(model.forward(a.params, a.X).t).min() > explain.KINK
    assert 0 < (a.t > 0).sum() < a.t.size or a.t.size == 1  # both slopes of the ReLU usually appear


def test_finite_differences_of_known_functions():
    A = np.array([[0.5, -1.5], [2.0, 0.25]])
    np.testing.assert_allclose(explain.numerical_gradient(lambda B: float(np.sum(B ** 3)), A), 3 * A ** 2,
                               rtol=1e-8)
    M = np.array([[1.0, 2.0], [3.0, -4.0], [0.5, 0.0]])
    v = np.array([0.3, -0.7])
    np.testing.assert_allclose(explain.numerical_jacobian(lambda u: M @ u, v), M, rtol=1e-8)


def test_finite_differences_are_the_gradient_checkers():
    """explain differentiates with gradcheck's loop: the same numbers, to the last bit."""
    A = np.array([[0.5, -1.5], [2.0, 0.25]])

    def f(B):
        return float(np.sum(np.sin(B) * B))

    np.testing.assert_array_equal(explain.numerical_gradient(f, A), gradcheck.numerical_gradient(f, A, explain.EPS))


def broken_backward(params, acts, dtheta):
    """model.backward with path 2 (the skip's dr in dt) dropped."""
    W1, W2, W3, W4 = params
    dr = dtheta @ W4
    dt = (dr @ W3) * (acts.t > 0)
    return Params((dt @ W2).T @ acts.z, dt.T @ acts.s, dr.T @ acts.p, dtheta.T @ acts.r)


PLANTED = {
    "the path-1 factor without Lambda_t": ("path1_factor", lambda ex: ex.params.W3),
    "dJ/dtheta without - y": ("dJ_dtheta", lambda ex: ex.y_hat),
    "dJ/dr with the sign of y_hat - y flipped": ("dJ_dr", lambda ex: (ex.y_onehot - ex.y_hat) @ ex.params.W4),
    "the path-2 term of dW2 dropped": ("dJ_dW2_path2", lambda ex: np.zeros_like(ex.params.W2)),
    "dW1 with s in place of z": ("dJ_dW1_path1",
                                 lambda ex: np.outer(explain.dJ_dr(ex) @ explain.path1_factor(ex)
                                                     @ explain.dt_dh(ex), ex.s)),
    "dW4 transposed": ("dJ_dW4", lambda ex: np.outer(ex.r, explain.dJ_dtheta(ex))),
}


@pytest.mark.parametrize("bug", sorted(PLANTED))
def test_a_wrong_formula_makes_the_command_fail(monkeypatch, capsys, bug):
    name, wrong = PLANTED[bug]
    monkeypatch.setattr(explain, name, wrong)
    assert cli.main(["explain"]) == 1
    out = capsys.readouterr().out
    assert "DISAGREE" in out and "All" not in out.splitlines()[-1]


def test_a_library_backward_without_the_skip_fails_the_library_step(monkeypatch, capsys):
    monkeypatch.setattr(model, "backward", broken_backward)
    assert cli.main(["explain", "--seed", "2"]) == 1
    out = capsys.readouterr().out
    library = next(i for i, s in enumerate(explain.steps(), 1) if "library" in s.title)
    assert failing_steps(out.splitlines()[-1]) == [library]  # the formulas themselves still agree


def failing_steps(line):
    """The step numbers that the last line of a failed walk-through lists."""
    found = re.search(r"DISAGREE: steps? ([0-9, ]+)\.", line)
    assert found, line
    return [int(n) for n in found.group(1).split(",")]


def test_failing_steps_reads_every_number():
    assert failing_steps("2 of 16 steps DISAGREE: steps 3, 15. The derivation ...") == [3, 15]
    assert failing_steps("1 of 16 steps DISAGREE: step 1. The derivation ...") == [1]


def test_a_formula_of_the_wrong_shape_disagrees_instead_of_crashing():
    ex = explain.make_example()
    step = explain.steps()[0]._replace(value=lambda ex: np.zeros(7))
    outcome = explain.evaluate(step, ex)
    assert not outcome.agrees


def test_evaluate_tolerance_separates_rounding_from_a_wrong_value():
    ex = explain.make_example()
    step = explain.steps()[6]  # dJ/dW4
    good = explain.evaluate(step, ex)
    assert good.agrees and good.relative < 1e-8
    off = explain.evaluate(step._replace(value=lambda ex: explain.dJ_dW4(ex) * (1 + 1e-4)), ex)
    assert not off.agrees


@pytest.mark.parametrize("argv, what", [
    (["--hidden", "11"], "--hidden 11"),
    (["--classes", "1"], "--classes 1"),
    (["--features", "0"], "--features"),
    (["--seed", "x"], "--seed"),
    (["--seed", "-1"], "argument --seed: expected a seed between 0 and"),
])
def test_bad_sizes_are_refused_with_one_line(capsys, argv, what):
    assert cli.main(["explain", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and what in err
