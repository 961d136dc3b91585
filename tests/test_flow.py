"""The split of dW1 and dW2 into the seed's path 1 and path 2, and the per-epoch flow record."""
import math

import numpy as np
import pytest
import torch

from residual_mlp import fit, flow, model
from residual_mlp.model import Params

SHAPES = [(1, 3, 4, 2), (7, 5, 6, 3), (40, 12, 9, 4)]  # (N, D, M, C)


def problem(N, D, M, C, seed=0):
    """Non-trivial weights (all of order one, so no term hides behind a small W4) and mixed ReLUs."""
    rng = np.random.default_rng(seed)
    params = Params(rng.standard_normal((D, D)) / np.sqrt(D), rng.standard_normal((M, D)) / np.sqrt(D),
                    rng.standard_normal((M, M)) / np.sqrt(M), rng.standard_normal((C, M)) / np.sqrt(M))
    X = rng.standard_normal((N, D))
    y = rng.integers(C, size=N)
    return params, X, y


def rel_diff(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def broken_backward(params, acts, dtheta):
    """model.backward with the skip's term dropped from dt: path 1 alone."""
    W1, W2, W3, W4 = params
    dr = dtheta @ W4
    dt = (dr @ W3) * (acts.t > 0)
    return Params((dt @ W2).T @ acts.z, dt.T @ acts.s, dr.T @ acts.p, dtheta.T @ acts.r)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
def test_paths_sum_to_gradient(shape, weighted):
    params, X, y = problem(*shape)
    w = np.random.default_rng(1).uniform(0.2, 3.0, size=shape[0]) if weighted else None
    terms = flow.path_terms(params, X, y, w)
    _, grads = model.loss_and_grads(params, X, y, w)
    assert rel_diff(terms.dW1_path1 + terms.dW1_path2, grads.W1) < 1e-12
    assert rel_diff(terms.dW2_path1 + terms.dW2_path2, grads.W2) < 1e-12
    # both terms matter: neither alone is the gradient
    for alone in (terms.dW1_path1, terms.dW1_path2):
        assert rel_diff(alone, grads.W1) > 1e-3
    for alone in (terms.dW2_path1, terms.dW2_path2):
        assert rel_diff(alone, grads.W2) > 1e-3


def test_the_sum_check_catches_a_backward_without_the_skip_term():
    params, X, y = problem(*SHAPES[1])
    terms = flow.path_terms(params, X, y)
    acts = model.forward(params, X)
    _, dtheta = model.cross_entropy(acts, y)
    broken = broken_backward(params, acts, dtheta)
    assert rel_diff(terms.dW1_path1 + terms.dW1_path2, broken.W1) > 1e-2
    assert rel_diff(terms.dW2_path1 + terms.dW2_path2, broken.W2) > 1e-2


def torch_path_grads(params, X, y, w, path):
    """Autograd gradients of W1, W2 when only one use of t is differentiated, the other detached.

    path 1: r = W3 ReLU(t) + t.detach()      path 2: r = W3 ReLU(t.detach()) + t
    """
    W1, W2, W3, W4 = (torch.tensor(W, dtype=torch.float64, requires_grad=True) for W in params)
    x = torch.tensor(X, dtype=torch.float64)
    t = (torch.relu(x) @ W1.T + x) @ W2.T
    if path == 1:
        r = torch.relu(t) @ W3.T + t.detach()
    else:
        r = torch.relu(t.detach()) @ W3.T + t
    J = torch.nn.functional.cross_entropy(r @ W4.T, torch.tensor(y), reduction="none")
    weight = torch.ones(len(y), dtype=torch.float64) if w is None else torch.tensor(w, dtype=torch.float64)
    L = (weight * J).sum() / weight.sum()
    L.backward()
    return W1.grad.numpy(), W2.grad.numpy()


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
def test_each_path_term_matches_autograd_with_the_other_use_of_t_detached(shape, weighted):
    params, X, y = problem(*shape, seed=3)
    w = np.random.default_rng(2).uniform(0.2, 3.0, size=shape[0]) if weighted else None
    terms = flow.path_terms(params, X, y, w)
    dW1_1, dW2_1 = torch_path_grads(params, X, y, w, path=1)
    dW1_2, dW2_2 = torch_path_grads(params, X, y, w, path=2)
    assert rel_diff(terms.dW1_path1, dW1_1) < 1e-10
    assert rel_diff(terms.dW2_path1, dW2_1) < 1e-10
    assert rel_diff(terms.dW1_path2, dW1_2) < 1e-10
    assert rel_diff(terms.dW2_path2, dW2_2) < 1e-10


def test_path_terms_are_the_seed_formulas_sample_by_sample():
    """(1/N) sum_i of the seed's column-vector formulas, with Lambda_t an explicit diagonal matrix."""
    params, X, y = problem(6, 4, 5, 3, seed=4)
    W1, W2, W3, W4 = params
    N, M = X.shape[0], W2.shape[0]
    want = {k: 0.0 for k in flow.PathTerms._fields}
    for x, label in zip(X, y):
        z = np.maximum(x, 0)
        s = W1 @ z + x
        t = W2 @ s
        r = W3 @ np.maximum(t, 0) + t
        theta = W4 @ r
        y_hat = np.exp(theta - theta.max()) / np.exp(theta - theta.max()).sum()
        e = y_hat - np.eye(W4.shape[0])[label]
        Lambda = np.diag((t > 0).astype(float))
        path1 = Lambda @ W3.T @ W4.T @ e
        path2 = np.eye(M) @ W4.T @ e
        want["dW1_path1"] += np.outer(W2.T @ path1, z) / N
        want["dW1_path2"] += np.outer(W2.T @ path2, z) / N
        want["dW2_path1"] += np.outer(path1, s) / N
        want["dW2_path2"] += np.outer(path2, s) / N
    terms = flow.path_terms(params, X, y)
    for name in flow.PathTerms._fields:
        assert rel_diff(getattr(terms, name), want[name]) < 1e-12, name


def test_flow_stats_reports_norms_cosines_and_branch_ratios():
    params, X, y = problem(30, 6, 8, 3, seed=5)
    stats = flow.flow_stats(params, X, y)
    for W in ("W1", "W2"):
        for key in ("path1", "path2", "total", "cosine", "path1_share"):
            assert f"d{W}_{key}" in stats
    assert all(type(v) is float for v in stats.values())
    # expected values from autograd and from a forward pass written out here
    for W, index in (("W1", 0), ("W2", 1)):
        P1 = torch_path_grads(params, X, y, None, 1)[index]
        P2 = torch_path_grads(params, X, y, None, 2)[index]
        n1, n2 = np.linalg.norm(P1), np.linalg.norm(P2)
        assert stats[f"d{W}_path1"] == pytest.approx(n1, rel=1e-10)
        assert stats[f"d{W}_path2"] == pytest.approx(n2, rel=1e-10)
        assert stats[f"d{W}_total"] == pytest.approx(np.linalg.norm(P1 + P2), rel=1e-10)
        assert stats[f"d{W}_cosine"] == pytest.approx(np.vdot(P1, P2) / (n1 * n2), rel=1e-9)
        assert stats[f"d{W}_path1_share"] == pytest.approx(n1 / (n1 + n2), rel=1e-10)
        assert -1 <= stats[f"d{W}_cosine"] <= 1
    W1, W2, W3, _ = params
    h = np.maximum(X, 0) @ W1.T
    t = (h + X) @ W2.T
    q = np.maximum(t, 0) @ W3.T
    assert stats["h_norm"] == pytest.approx(np.linalg.norm(h), rel=1e-12)
    assert stats["x_norm"] == pytest.approx(np.linalg.norm(X), rel=1e-12)
    assert stats["h_over_x"] == pytest.approx(np.linalg.norm(h) / np.linalg.norm(X), rel=1e-12)
    assert stats["q_over_t"] == pytest.approx(np.linalg.norm(q) / np.linalg.norm(t), rel=1e-12)
    assert stats["t_active"] == pytest.approx(np.mean(t > 0))


def test_flow_stats_of_an_all_zero_batch_has_undefined_ratios_not_errors():
    params, _, _ = problem(1, 3, 4, 2)
    stats = flow.flow_stats(params, np.zeros((4, 3)), np.array([0, 1, 0, 1]))
    assert stats["x_norm"] == 0.0 and math.isnan(stats["h_over_x"])
    assert stats["dW1_path1"] == 0.0 and math.isnan(stats["dW1_cosine"])


def test_fit_records_flow_every_epoch_at_the_weights_after_the_step():
    params, X, y = problem(50, 5, 6, 3, seed=6)
    trained, history = fit(params, X, y, lr=0.2, epochs=4, record_flow=True, seed=0)
    assert len(history.flow) == len(history.loss) == 4
    _, grads = model.loss_and_grads(trained, X, y)
    last = history.flow[-1]
    assert last["dW1_total"] == pytest.approx(np.linalg.norm(grads.W1), rel=1e-10)
    assert last["dW2_total"] == pytest.approx(np.linalg.norm(grads.W2), rel=1e-10)
    assert history.flow[0]["dW1_total"] != history.flow[-1]["dW1_total"]
    _, plain = fit(params, X, y, lr=0.2, epochs=2, seed=0)
    assert plain.flow == []
