"""The hand-derived loss, gradients and training steps agree with an independent PyTorch twin."""
import numpy as np
import pytest
import torch
import torch_twin

from residual_mlp import fit, init_params, loss_and_grads
from residual_mlp.model import Params


def relative_error(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-300))


def order_one_problem(N, D, M, C, seed):
    """Weights of standard deviation 1/sqrt(fan-in): mixed ReLUs, logits of order one."""
    rng = np.random.default_rng(seed)
    params = Params(*(rng.standard_normal(shape) / np.sqrt(shape[1])
                      for shape in [(D, D), (M, D), (M, M), (C, M)]))
    return params, rng.standard_normal((N, D)), rng.integers(0, C, size=N)


@pytest.mark.parametrize("N, D, M, C", [(8, 4, 7, 3), (1, 5, 3, 2), (20, 3, 6, 10), (5, 6, 6, 6)])
def test_loss_and_gradients_match_autograd(N, D, M, C):
    params, X, y = order_one_problem(N, D, M, C, seed=N + D + M + C)
    loss, grads = loss_and_grads(params, X, y)
    twin_loss, twin_grads = torch_twin.loss_and_grads(params, X, y)
    assert relative_error(loss, twin_loss) < 1e-12
    for name, dW, twin_dW in zip(Params._fields, grads, twin_grads):
        assert np.max(np.abs(twin_dW)) > 1e-3, name  # a gradient of zero would prove nothing
        assert relative_error(dW, twin_dW) < 1e-10, name


def test_gradients_match_autograd_at_the_training_init():
    rng = np.random.default_rng(1)
    params = init_params(10, 16, 4, seed=2)
    X, y = rng.standard_normal((30, 10)), rng.integers(0, 4, size=30)
    loss, grads = loss_and_grads(params, X, y)
    twin_loss, twin_grads = torch_twin.loss_and_grads(params, X, y)
    assert relative_error(loss, twin_loss) < 1e-12
    for dW, twin_dW in zip(grads, twin_grads):
        assert relative_error(dW, twin_dW) < 1e-10


def sgd_side_by_side(steps, lr, seed):
    rng = np.random.default_rng(seed)
    N, D, M, C = 40, 6, 9, 4
    params = init_params(D, M, C, seed=seed)
    X, y = rng.standard_normal((N, D)), rng.integers(0, C, size=N)
    trajectory = torch_twin.train(params, X, y, lambda Ws: torch.optim.SGD(Ws, lr=lr), steps)
    return params, X, y, trajectory


def test_each_of_ten_full_batch_steps_follows_torch_sgd():
    lr = 0.5
    params, X, y, trajectory = sgd_side_by_side(10, lr, seed=4)
    for k in range(1, 11):
        after_k, history = fit(params, X, y, lr=lr, epochs=k)
        assert len(history.loss) == k
        for name, W, twin_W, W0 in zip(Params._fields, after_k, trajectory[k - 1], params):
            assert relative_error(W - W0, twin_W - W0) < 1e-10, (k, name)  # the distance travelled


def test_history_loss_is_the_twins_loss_before_each_step():
    lr = 0.5
    params, X, y, trajectory = sgd_side_by_side(10, lr, seed=5)
    _, history = fit(params, X, y, lr=lr, epochs=10)
    twin_losses = [torch_twin.loss_and_grads(W, X, y)[0] for W in [params] + trajectory[:-1]]
    assert twin_losses[-1] < twin_losses[0] - 0.05  # training moved: the comparison means something
    np.testing.assert_allclose(history.loss, twin_losses, rtol=1e-12, atol=0)
