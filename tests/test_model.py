"""The network of model.py: shapes, dtypes, the seed's equations, exact values, and training sanity."""
import math
from fractions import Fraction

import numpy as np
import pytest
import torch_twin

from residual_mlp import fit, forward, init_params, loss_and_grads, predict, predict_proba
from residual_mlp.data import load_dataset, standardization
from residual_mlp.model import Params

FIELDS = ("x", "z", "h", "s", "t", "p", "q", "r", "theta", "y_hat", "log_y_hat")


def problem(N=7, D=4, M=6, C=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    params = Params(*(rng.standard_normal(shape).astype(dtype) / np.sqrt(shape[1])
                      for shape in [(D, D), (M, D), (M, M), (C, M)]))
    X = rng.standard_normal((N, D)).astype(dtype)
    return params, X, rng.integers(0, C, size=N)


def relative_error(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-300))


# ---- an exact reference: the seed's per-sample equations in rational arithmetic ----

def matvec(A, v):
    return [sum((a * b for a, b in zip(row, v)), Fraction(0)) for row in A]


def transpose(A):
    return [list(column) for column in zip(*A)]


def exact_reference(params, X, y, relu_grad_at_zero=0):
    """(L, [dW1..dW4]) from the seed's column-vector equations, every value an exact Fraction.

    Only exp and log are rounded (each once, in float64); the closed-form gradients are the
    seed's final results, Lambda_t = diag(1[t > 0]) (or 1[t >= 0] with relu_grad_at_zero=1).
    """
    W1, W2, W3, W4 = ([[Fraction(float(w)) for w in row] for row in W] for W in params)
    N = len(X)
    losses = []
    dW = [[[Fraction(0)] * len(W[0]) for _ in W] for W in (W1, W2, W3, W4)]
    for row, label in zip(X, y):
        x = [Fraction(float(v)) for v in row]
        z = [max(v, 0) for v in x]
        s = [a + b for a, b in zip(matvec(W1, z), x)]
        t = matvec(W2, s)
        p = [max(v, 0) for v in t]
        r = [a + b for a, b in zip(matvec(W3, p), t)]
        theta = matvec(W4, r)
        top = max(theta)
        exps = [math.exp(float(v - top)) for v in theta]
        total = math.fsum(exps)
        losses.append(float(top - theta[label]) + math.log(total))
        e = [Fraction(v / total) - (1 if j == label else 0) for j, v in enumerate(exps)]  # y_hat - y
        g = matvec(transpose(W4), e)                                    # W4^T (y_hat - y)
        on = [1 if (v > 0 or (relu_grad_at_zero and v == 0)) else 0 for v in t]
        u = [m * a + b for m, a, b in zip(on, matvec(transpose(W3), g), g)]  # (Lambda_t W3^T + I) g
        v = matvec(transpose(W2), u)
        for target, left, right in zip(dW, (v, u, g, e), (z, s, p, r)):  # outer products
            for i, a in enumerate(left):
                for j, b in enumerate(right):
                    target[i][j] += a * b
    grads = [np.array([[float(value / N) for value in row] for row in W]) for W in dW]
    return math.fsum(losses) / N, grads


def integer_problem(seed, N=4, D=3, M=5, C=3, scale4=1):
    """Integer weights and inputs: every forward value up to theta is exact in floating point."""
    rng = np.random.default_rng(seed)
    params = Params(*(rng.integers(-2, 3, size=shape).astype(np.float64)
                      for shape in [(D, D), (M, D), (M, M), (C, M)]))
    params = params._replace(W4=params.W4 * scale4)
    X = rng.integers(-3, 4, size=(N, D)).astype(np.float64)
    return params, X, rng.integers(0, C, size=N)


# ---- shapes, dtypes, inputs ----

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shapes_and_dtypes_follow_the_parameters(dtype):
    N, D, M, C = 5, 3, 7, 4
    params = init_params(D, M, C, seed=0, dtype=dtype)
    assert [W.shape for W in params] == [(D, D), (M, D), (M, M), (C, M)]
    assert all(W.dtype == dtype for W in params)
    X = np.random.default_rng(0).standard_normal((N, D)).astype(dtype)
    y = np.arange(N) % C
    acts = forward(params, X)
    widths = dict(x=D, z=D, h=D, s=D, t=M, p=M, q=M, r=M, theta=C, y_hat=C, log_y_hat=C)
    for name in FIELDS:
        assert acts[name].shape == (N, widths[name]), name
        assert acts[name].dtype == dtype, name
    loss, grads = loss_and_grads(params, X, y)
    assert np.ndim(loss) == 0 and np.asarray(loss).dtype == dtype
    assert type(grads) is Params
    assert all(dW.shape == W.shape and dW.dtype == dtype for dW, W in zip(grads, params))
    assert predict_proba(params, X).dtype == dtype and predict_proba(params, X).shape == (N, C)
    assert predict(params, X).shape == (N,) and predict(params, X).dtype.kind in "iu"
    trained, _ = fit(params, X, y, lr=0.1, epochs=2)
    assert all(W.dtype == dtype for W in trained)
    # float64 data into float32 weights: the weights' dtype is the computation's dtype
    other = np.float64 if dtype == np.float32 else np.float32
    assert forward(params, X.astype(other)).theta.dtype == dtype
    assert all(dW.dtype == dtype for dW in loss_and_grads(params, X.astype(other), y)[1])


def test_inputs_are_not_modified():
    params, X, y = problem(N=8, seed=1)
    X[0, :] = 0.0
    w = np.linspace(0.5, 2.0, 8)
    copies = [W.copy() for W in params], X.copy(), y.copy(), w.copy()
    forward(params, X)
    loss_and_grads(params, X, y, sample_weight=w)
    predict(params, X), predict_proba(params, X)
    fit(params, X, y, lr=0.1, epochs=3, sample_weight=w)
    fit(params, X, y, lr=0.1, epochs=3, batch_size=3, seed=0)
    assert all(np.array_equal(W, W0) for W, W0 in zip(params, copies[0]))
    assert np.array_equal(X, copies[1]) and np.array_equal(y, copies[2]) and np.array_equal(w, copies[3])


# ---- the seed's equations ----

def test_forward_intermediates_satisfy_the_seed_equations():
    params, X, y = problem(N=6, D=5, M=4, C=3, seed=2)
    W1, W2, W3, W4 = params
    acts = forward(params, X)
    assert np.array_equal(acts.x, X)
    for i, x in enumerate(X):  # one sample at a time, as column vectors, in the seed's order
        z = np.maximum(x, 0)
        np.testing.assert_array_equal(acts.z[i], z)
        np.testing.assert_allclose(acts.h[i], W1 @ z, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(acts.s[i], acts.h[i] + x, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(acts.t[i], W2 @ acts.s[i], rtol=1e-13, atol=1e-15)
        np.testing.assert_array_equal(acts.p[i], np.maximum(acts.t[i], 0))
        np.testing.assert_allclose(acts.q[i], W3 @ acts.p[i], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(acts.r[i], acts.q[i] + acts.t[i], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(acts.theta[i], W4 @ acts.r[i], rtol=1e-13, atol=1e-15)
        e = np.exp(acts.theta[i])
        np.testing.assert_allclose(acts.y_hat[i], e / e.sum(), rtol=1e-13)
        np.testing.assert_allclose(acts.log_y_hat[i], np.log(e / e.sum()), rtol=1e-13)
    assert (acts.t > 0).any() and (acts.t < 0).any() and (X < 0).any()  # both sides of every ReLU
    loss, _ = loss_and_grads(params, X, y)
    assert loss == pytest.approx(-np.mean(np.log(acts.y_hat[np.arange(6), y])), rel=1e-14)


@pytest.mark.parametrize("seed", [0, 1])
def test_loss_and_gradients_equal_the_exact_reference(seed):
    params, X, y = problem(N=5, D=3, M=4, C=3, seed=seed)
    loss, grads = loss_and_grads(params, X, y)
    ref_loss, ref_grads = exact_reference(params, X, y)
    assert loss == pytest.approx(ref_loss, rel=1e-13)
    for dW, ref in zip(grads, ref_grads):
        assert relative_error(dW, ref) < 1e-12


# ---- exactness at the edges ----

def test_a_hand_computed_case_with_logits_of_ten_thousand():
    # W1 = W3 = 0 and W2 = 1 make r = t = s = x; with x = 1, theta is the single column of W4
    params = Params(np.zeros((1, 1)), np.ones((1, 1)), np.zeros((1, 1)),
                    np.array([[10000.0], [-5000.0], [9990.0]]))
    X, y = np.ones((1, 1)), np.array([2])
    assert forward(params, X).theta.max() > np.log(np.finfo(np.float64).max)  # exp would overflow
    # J = log(e^10000 + e^-5000 + e^9990) - 9990 = 10 + log(1 + e^-10 + e^-15000)
    a = 1 / (1 + math.exp(-10))  # y_hat_1; y_hat_3 = 1 - a, y_hat_2 = e^-15000 ~ 0
    loss, (dW1, dW2, dW3, dW4) = loss_and_grads(params, X, y)
    assert loss == pytest.approx(10 + math.log1p(math.exp(-10)), rel=1e-15)
    # y_hat - y = (a, 0, -a); W4^T (y_hat - y) = 10000 a - 9990 a = 10 a; r = s = z = p = 1
    np.testing.assert_allclose(dW4, [[a], [0.0], [-a]], rtol=1e-15, atol=1e-300)
    for dW in (dW3, dW2, dW1):
        assert dW[0, 0] == pytest.approx(10 * a, rel=1e-12)
    loss32, grads32 = loss_and_grads(Params(*(W.astype(np.float32) for W in params)), X, y)
    assert loss32 == pytest.approx(10 + math.log1p(math.exp(-10)), rel=1e-6)
    assert np.allclose(grads32.W1, 10 * a, rtol=1e-3)


def test_logits_of_ten_thousand_are_exact_and_finite():
    params, X, y = integer_problem(seed=4, N=6, scale4=100)
    theta = forward(params, X).theta
    assert 5e3 < np.abs(theta).max() < 1e5 and np.ptp(theta, axis=1).min() > 1e3
    loss, grads = loss_and_grads(params, X, y)
    ref_loss, ref_grads = exact_reference(params, X, y)
    assert np.isfinite(loss) and ref_loss > 1e3
    assert loss == pytest.approx(ref_loss, rel=1e-15)
    for dW, ref in zip(grads, ref_grads):
        assert np.isfinite(dW).all()
        assert relative_error(dW, ref) < 1e-13
    loss32, grads32 = loss_and_grads(Params(*(W.astype(np.float32) for W in params)), X, y)
    assert np.isfinite(loss32) and all(np.isfinite(dW).all() for dW in grads32)
    assert loss32 == pytest.approx(ref_loss, rel=1e-6)


def test_exact_zeros_in_t_take_relu_derivative_zero():
    params, X, y = integer_problem(seed=2)
    t = forward(params, X).t
    assert (t == 0).sum() >= 3
    loss, grads = loss_and_grads(params, X, y)
    ref_loss, ref_grads = exact_reference(params, X, y, relu_grad_at_zero=0)
    _, other_grads = exact_reference(params, X, y, relu_grad_at_zero=1)
    twin_loss, twin_grads = torch_twin.loss_and_grads(params, X, y)  # torch's ReLU'(0) is 0 too
    assert loss == pytest.approx(ref_loss, rel=1e-14) and loss == pytest.approx(twin_loss, rel=1e-14)
    for name, dW, ref, _other, twin in zip(Params._fields, grads, ref_grads, other_grads, twin_grads):
        assert relative_error(dW, ref) < 1e-12, name
        assert relative_error(dW, twin) < 1e-12, name
    # the convention decides the answer here: ReLU'(0) = 1 would give other W1 and W2 gradients
    assert relative_error(ref_grads[1], other_grads[1]) > 1e-2
    assert relative_error(ref_grads[0], other_grads[0]) > 1e-2


def test_a_zero_input_row_contributes_ln_c_and_no_gradient():
    params, X, y = problem(N=5, D=4, M=6, C=3, seed=3)
    X0, y0 = np.vstack([X, np.zeros((1, 4))]), np.append(y, 1)
    acts = forward(params, X0)
    assert np.array_equal(acts.t[-1], np.zeros(6)) and np.array_equal(acts.y_hat[-1], np.full(3, 1 / 3))
    loss, grads = loss_and_grads(params, X, y)
    loss0, grads0 = loss_and_grads(params, X0, y0)
    assert loss0 == pytest.approx((5 * loss + math.log(3)) / 6, rel=1e-14)
    for dW, dW0 in zip(grads, grads0):
        np.testing.assert_allclose(dW0, dW * 5 / 6, rtol=1e-13, atol=1e-17)


# ---- predictions, initialisation, training sanity ----

def test_predict_is_the_argmax_of_predict_proba():
    params, X, _ = problem(N=50, C=5, seed=4)
    proba = predict_proba(params, X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-14)
    assert np.array_equal(predict(params, X), proba.argmax(axis=1))
    assert len(set(predict(params, X))) > 1


def test_init_params_is_reproducible_and_of_the_documented_scale():
    a, b = init_params(5, 6, 3, seed=7), init_params(5, 6, 3, seed=7)
    assert all(np.array_equal(Wa, Wb) for Wa, Wb in zip(a, b))
    assert not np.array_equal(a.W2, init_params(5, 6, 3, seed=8).W2)
    single = init_params(5, 6, 3, seed=7, dtype=np.float32)
    assert all(np.array_equal(W32, W.astype(np.float32)) for W32, W in zip(single, a))
    D, M, C = 200, 300, 100
    W1, W2, W3, W4 = init_params(D, M, C, seed=0)
    # documented: W1 ~ N(0, (0.5 sqrt(2/D))^2), W2 ~ N(0, 2/D), W3 ~ N(0, (0.5 sqrt(2/M))^2),
    # W4 ~ N(0, 0.1^2/M)
    for W, std in ((W1, 0.5 * math.sqrt(2 / D)), (W2, math.sqrt(2 / D)), (W3, 0.5 * math.sqrt(2 / M)),
                   (W4, 0.1 / math.sqrt(M))):
        assert W.std() == pytest.approx(std, rel=0.03)
        assert abs(W.mean()) < 0.05 * std
    with pytest.raises(ValueError):
        init_params(0, 3, 2)


@pytest.fixture(scope="module")
def digits30():
    digits = load_dataset("digits")
    X, y = digits.features.to_numpy(), digits.labels
    X, y = X[:30], y[:30]  # three samples of each digit
    mean, scale = standardization(X)
    return (X - mean) / scale, y


def test_loss_at_initialisation_is_near_ln_c(digits30):
    X, y = digits30
    for seed in range(3):
        loss, _ = loss_and_grads(init_params(64, 128, 10, seed=seed), X, y)
        assert abs(loss - math.log(10)) < 0.1


def test_a_small_subset_is_fit_to_every_label(digits30):
    X, y = digits30
    params, history = fit(init_params(64, 32, 10, seed=0), X, y, lr=0.2, epochs=150)
    assert np.array_equal(predict(params, X), y)
    assert history.loss[-1] < 0.02 < history.loss[0]
    assert all(later <= earlier + 1e-12 for earlier, later in zip(history.loss, history.loss[1:]))


def test_a_sample_weight_of_two_equals_the_row_twice():
    params, X, y = problem(N=5, seed=5)
    w = np.array([1.0, 2.0, 1.0, 1.0, 1.0])
    X2, y2 = np.vstack([X, X[1:2]]), np.append(y, y[1])
    loss_w, grads_w = loss_and_grads(params, X, y, sample_weight=w)
    loss_2, grads_2 = loss_and_grads(params, X2, y2)
    assert loss_w == pytest.approx(loss_2, rel=1e-14)
    for a, b in zip(grads_w, grads_2):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-17)
    loss_1, _ = loss_and_grads(params, X, y)
    assert abs(loss_w - loss_1) > 1e-3  # the weight does change the loss
    fitted_w, history_w = fit(params, X, y, lr=0.3, epochs=4, sample_weight=w)
    fitted_2, history_2 = fit(params, X2, y2, lr=0.3, epochs=4)
    np.testing.assert_allclose(history_w.loss, history_2.loss, rtol=1e-13)
    for a, b in zip(fitted_w, fitted_2):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_fit_is_the_seed_training_equations():
    params, X, y = problem(N=12, D=4, M=6, C=3, seed=6)
    copies = [W.copy() for W in params]
    lr, epochs = 0.4, 7
    trained, history = fit(params, X, y, lr=lr, epochs=epochs)
    assert all(np.array_equal(W, W0) for W, W0 in zip(params, copies))
    assert len(history.loss) == epochs
    current = params
    for k in range(epochs):  # W <- W - alpha dL/dW for all four at once; loss[k] before step k
        loss, grads = loss_and_grads(current, X, y)
        assert history.loss[k] == pytest.approx(loss, rel=1e-14)
        current = Params(*(W - lr * dW for W, dW in zip(current, grads)))
    for W, W_manual in zip(trained, current):
        np.testing.assert_allclose(W, W_manual, rtol=1e-13, atol=1e-15)
    assert history.loss[-1] < history.loss[0]


def test_features_near_the_float_limit_give_an_error_not_nan_probabilities():
    import warnings

    from residual_mlp.model import predict, predict_proba

    params = init_params(3, 4, 2, seed=0)
    X = np.array([[0.5, -1.0, 2.0], [1e308, -1e308, 1e308], [1.0, 1.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for f in (predict_proba, predict):
            with pytest.raises(ValueError, match=r"output overflows for 1 row\(s\) \(first: row 1\)"):
                f(params, X)
        ok = predict_proba(params, X[[0, 2]])
    assert np.isfinite(ok).all() and np.allclose(ok.sum(1), 1)
    # large but harmless: finite logits give finite probabilities, however extreme
    big = predict_proba(params._replace(W4=params.W4 * 1e150), X[[0, 2]] * 1e150)
    assert np.isfinite(big).all() and np.allclose(big.sum(1), 1)
