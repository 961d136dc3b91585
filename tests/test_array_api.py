"""The network on the Python array API standard: array-api-strict and PyTorch (CPU) arrays run model.py's
formulas and `fit`, checked against NumPy, finite differences and the PyTorch twin.

array-api-strict runs NumPy underneath with only the standard's functions: its results must be the
NumPy path's bit for bit (and on its second device, "device1", nothing may cross devices). torch CPU
uses other kernels: within 1e-13 normwise per tensor in float64, 1e-12 after ten steps of `fit`.
"""
import os
import subprocess
import sys
from pathlib import Path

import array_api_strict
import numpy as np
import pytest
import torch
import torch_twin

from residual_mlp import checkpoint, devices, model, train
from residual_mlp.gradcheck import check_gradients, make_problem
from residual_mlp.model import Params

ROOT = Path(__file__).resolve().parents[1]
STRICT_DEVICES = [array_api_strict.Device("CPU_DEVICE"), array_api_strict.Device("device1")]


def strict(a, device=STRICT_DEVICES[1]):
    return array_api_strict.asarray(np.asarray(a), device=device)


def is_strict(a):
    return type(a).__module__.startswith("array_api_strict")


def on_torch(a):
    return torch.asarray(np.asarray(a))


LIBRARIES = {"array_api_strict": strict, "torch": on_torch}


def normwise(a, b):
    a, b = np.asarray(devices.to_host(a), np.float64), np.asarray(devices.to_host(b), np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def problem(N=13, D=6, M=9, C=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    params = model.init_params(D, M, C, seed=seed, dtype=dtype)
    return params, rng.standard_normal((N, D)).astype(dtype), rng.integers(0, C, N), rng.random(N)


# ---- model.py -----------------------------------------------------------------------------------

@pytest.mark.parametrize("device", STRICT_DEVICES, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_array_api_strict_is_numpy_bit_for_bit(device, dtype, weighted):
    params, X, y, w = problem(dtype=dtype)
    w = w if weighted else None
    loss, grads = model.loss_and_grads(params, X, y, w)
    Xs = strict(X, device)
    params_s = devices.to_device(params, Xs)
    loss_s, grads_s = model.loss_and_grads(params_s, Xs, strict(y, device), None if w is None else strict(w, device))
    assert devices.to_host(loss_s) == loss
    for name, dW, dW_s in zip(Params._fields, grads, grads_s):
        assert is_strict(dW_s) and dW_s.device == device, name
        assert dW_s.dtype == getattr(array_api_strict, np.dtype(dtype).name), name  # float32 stays float32
        np.testing.assert_array_equal(devices.to_host(dW_s), dW, err_msg=name)
    acts, acts_s = model.forward(params, X), model.forward(params_s, Xs)
    for field in ("t", "theta", "y_hat", "log_y_hat"):
        np.testing.assert_array_equal(devices.to_host(acts_s[field]), acts[field], err_msg=field)
    np.testing.assert_array_equal(devices.to_host(model.predict(params_s, Xs)), model.predict(params, X))


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-13), (np.float32, 1e-5)])
def test_torch_cpu_agrees_with_numpy(dtype, tol):
    params, X, y, w = problem(N=40, D=12, M=16, C=5, dtype=dtype)
    for weights in (None, w):
        loss, grads = model.loss_and_grads(params, X, y, weights)
        Xt = on_torch(X)
        loss_t, grads_t = model.loss_and_grads(devices.to_device(params, Xt), Xt, on_torch(y),
                                               None if weights is None else on_torch(weights))
        assert abs(float(loss_t) - float(loss)) <= tol * abs(float(loss))
        for name, dW, dW_t in zip(Params._fields, grads, grads_t):
            assert isinstance(dW_t, torch.Tensor) and dW_t.dtype == getattr(torch, np.dtype(dtype).name), name
            assert normwise(dW_t, dW) <= tol, name


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("shape", [(6, 4, 5, 3), (1, 3, 4, 2), (7, 3, 6, 8)])
def test_finite_differences_on_other_libraries(library, shape):
    """The gradients and the loss that finite differences difference are both computed in `library`."""
    move = LIBRARIES[library]
    params, X, y = make_problem(*shape, seed=sum(shape))

    def grad_fn(P, X, y):
        Xl = move(X)
        loss, grads = model.loss_and_grads(devices.to_device(P, Xl), Xl, move(y))
        return float(loss), devices.to_host(grads)

    report = check_gradients(params, X, y, grad_fn)
    assert report.passed, report


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_broken_backward_is_caught_on_other_libraries(library):
    move = LIBRARIES[library]
    params, X, y = make_problem(6, 4, 5, 3, seed=1)

    def broken(P, X, y):  # dW2 without the skip path's term (dt = Lambda_t dp, the + dr dropped)
        Xl = move(X)
        P = devices.to_device(P, Xl)
        acts = model.forward(P, Xl)
        loss, dtheta = model.cross_entropy(acts, move(y))
        xp = devices.namespace(Xl)
        dp = (dtheta @ P.W4) @ P.W3
        dt = dp * xp.astype(acts.t > 0, dp.dtype)
        grads = model.backward(P, acts, dtheta)._replace(W2=dt.T @ acts.s)
        return float(loss), devices.to_host(grads)

    assert not check_gradients(params, X, y, broken).passed


@pytest.mark.parametrize("library", LIBRARIES)
def test_the_pytorch_twin_on_other_libraries(library):
    move = LIBRARIES[library]
    params, X, y, _ = problem(N=20, D=5, M=7, C=3, seed=4)
    params = Params(*(W * 4 for W in params))  # logits of order one
    Xl = move(X)
    loss, grads = model.loss_and_grads(devices.to_device(params, Xl), Xl, move(y))
    twin_loss, twin_grads = torch_twin.loss_and_grads(params, X, y)
    assert abs(float(loss) - twin_loss) <= 1e-12 * abs(twin_loss)
    for name, dW, twin in zip(Params._fields, grads, twin_grads):
        assert np.abs(twin).max() > 1e-3, name
        assert normwise(dW, twin) <= 1e-10, name


def test_labels_and_weights_may_come_from_another_library():
    params, X, y, w = problem()
    Xt = on_torch(X)
    loss, grads = model.loss_and_grads(devices.to_device(params, Xt), Xt, y, w)  # y, w: NumPy
    loss_t, grads_t = model.loss_and_grads(devices.to_device(params, Xt), Xt, on_torch(y), on_torch(w))
    assert float(loss) == float(loss_t)


def test_mixed_devices_and_bad_labels_are_refused():
    params, X, y, _ = problem()
    Xs = strict(X, STRICT_DEVICES[0])
    with pytest.raises(ValueError, match="device"):
        model.forward(devices.to_device(params, strict(X, STRICT_DEVICES[1])), Xs)
    params_t = devices.to_device(params, on_torch(X))
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 4\), got \[0, 7\]"):
        model.loss_and_grads(params_t, on_torch(X), on_torch(np.where(y == 1, 7, y)))
    with pytest.raises(ValueError, match="non-negative"):
        model.loss_and_grads(params_t, on_torch(X), on_torch(y), on_torch(-np.ones(len(y))))


def test_init_params_moves_the_same_draw_to_the_device():
    Xt = on_torch(np.zeros((2, 5), np.float32))
    host = model.init_params(5, 7, 3, seed=11, dtype=np.float32)
    moved = model.init_params(5, 7, 3, seed=11, dtype=torch.float32, like=Xt)
    for W, W_t in zip(host, moved):
        assert W_t.dtype == torch.float32
        np.testing.assert_array_equal(W_t.numpy(), W)


# ---- fit ----------------------------------------------------------------------------------------

FIT_CASES = {
    "gd": dict(optimizer="gd"),
    "momentum": dict(optimizer="momentum"),
    "nesterov": dict(optimizer="nesterov"),
    "adam": dict(optimizer="adam", lr=0.01),
    "adam, batches, cosine, decay": dict(optimizer="adam", lr=0.01, batch_size=16, lr_schedule="cosine",
                                         weight_decay=1e-3, seed=3),
    "momentum, batches, weights, plateau": dict(optimizer="momentum", batch_size=7, lr_schedule="plateau",
                                                weighted=True, seed=5),
    "gd, early stopping, weights": dict(optimizer="gd", weighted=True, validation_fraction=0.25, patience=2,
                                        seed=2),
    "lbfgs": dict(optimizer="lbfgs", weight_decay=1e-3),
    "gd, class weights, early stopping on accuracy": dict(optimizer="gd", class_weight=[1.0, 3.0, 0.5],
                                                          weighted=True, validation_fraction=0.25, patience=2,
                                                          validation_metric="accuracy", seed=4),
    "adam, batches, class weights, validation data": dict(optimizer="adam", lr=0.01, batch_size=9,
                                                          class_weight=[2.0, 1.0, 1.0], validation=True, seed=8),
    "lbfgs, class weights, early stopping on accuracy": dict(optimizer="lbfgs", class_weight=[1.0, 0.5, 2.0],
                                                             validation_fraction=0.25, patience=3,
                                                             validation_metric="accuracy", seed=6),
}


def _fit_both(library, case, dtype=np.float64):
    params, X, y, w = problem(N=40, D=6, M=8, C=3, seed=1, dtype=dtype)
    options = dict(FIT_CASES[case])
    weighted = options.pop("weighted", False)
    validation = options.pop("validation", False)
    options.setdefault("lr", 0.1)
    move = LIBRARIES[library]
    X_val, y_val = X[::3] + 0.25, y[::-3].copy()
    ref = train.fit(params, X, y, epochs=10, sample_weight=w if weighted else None,
                    validation_data=(X_val, y_val) if validation else None, **options)
    got = train.fit(params, move(X), move(y), epochs=10, sample_weight=move(w) if weighted else None,
                    validation_data=(move(X_val), move(y_val)) if validation else None, **options)
    return ref, got


@pytest.mark.parametrize("case", FIT_CASES)
def test_ten_steps_of_fit_on_array_api_strict_are_numpys(case):
    (params, history), (params_s, history_s) = _fit_both("array_api_strict", case)
    assert history_s.stop_reason == history.stop_reason
    assert history_s.loss == history.loss and history_s.val_loss == history.val_loss
    assert history_s.val_score == history.val_score and history_s.best_epoch == history.best_epoch
    # a weighted accuracy sums the weights of the hits: NumPy over w[hit], the standard (no boolean
    # indexing of unknown size) over where(hit, w, 0): another summation order, in the last bit only
    np.testing.assert_allclose(history_s.accuracy, history.accuracy, rtol=1e-15)
    for name, W, W_s in zip(Params._fields, params, params_s):
        assert is_strict(W_s) and W_s.device == STRICT_DEVICES[1], name
        np.testing.assert_array_equal(devices.to_host(W_s), W, err_msg=name)


@pytest.mark.parametrize("case", FIT_CASES)
def test_ten_steps_of_fit_on_torch_follow_numpy(case):
    (params, history), (params_t, history_t) = _fit_both("torch", case)
    assert history_t.stop_reason == history.stop_reason and len(history_t) == len(history)
    np.testing.assert_allclose(history_t.loss, history.loss, rtol=1e-12)
    np.testing.assert_allclose(history_t.val_loss, history.val_loss, rtol=1e-12)
    for name, W, W_t in zip(Params._fields, params, params_t):
        assert isinstance(W_t, torch.Tensor), name
        assert normwise(W_t, W) <= 1e-12, name


def test_fit_keeps_float32_on_torch():
    (params, _), (params_t, history_t) = _fit_both("torch", "adam", dtype=np.float32)
    assert all(W.dtype == torch.float32 for W in params_t)
    assert all(normwise(W_t, W) < 1e-4 for W, W_t in zip(params, params_t))
    assert all(np.isfinite(history_t.loss))


def test_fit_on_torch_follows_torch_optim_sgd():
    params, X, y, _ = problem(N=30, D=5, M=6, C=3, seed=7)
    trajectory = torch_twin.train(params, X, y, lambda Ws: torch.optim.SGD(Ws, lr=0.2), steps=10)
    fitted, _ = train.fit(params, on_torch(X), on_torch(y), lr=0.2, epochs=10)
    for name, W, W_twin in zip(Params._fields, fitted, trajectory[-1]):
        assert normwise(W, W_twin) <= 1e-12, name


def test_a_divergent_run_on_torch_keeps_the_last_finite_weights():
    params, X, y, _ = problem(seed=3)
    fitted, history = train.fit(params, on_torch(X * 1e3), on_torch(y), lr=1e6, epochs=20)
    ref, ref_history = train.fit(params, X * 1e3, y, lr=1e6, epochs=20)
    assert history.stop_reason == ref_history.stop_reason != "max_epochs"
    assert len(history) == len(ref_history)
    assert all(torch.isfinite(W).all() for W in fitted)


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_loss_ten_times_the_first_epochs_stops_as_on_numpy(library):
    params, X, y, _ = problem(N=40, D=6, M=8, C=3, seed=1)
    ref, ref_history = train.fit(params, X, y, lr=12.0, epochs=30, seed=0)
    assert ref_history.stop_reason == "diverged"  # the rule, not a non-finite loss
    move = LIBRARIES[library]
    got, history = train.fit(params, move(X), move(y), lr=12.0, epochs=30, seed=0)
    assert history.stop_reason == "diverged" and len(history) == len(ref_history)
    assert history.message == ref_history.message
    for W, W_ref in zip(got, ref):
        assert normwise(W, W_ref) <= 1e-12


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_callback_returning_true_stops_the_device_loop(library):
    params, X, y, _ = problem(N=40, D=6, M=8, C=3, seed=1)
    seen = []

    def callback(state):
        seen.append(state.epoch)
        return state.epoch == 3

    move = LIBRARIES[library]
    got, history = train.fit(params, move(X), move(y), lr=0.1, epochs=10, callback=callback)
    ref, _ = train.fit(params, X, y, lr=0.1, epochs=3)
    assert seen == [1, 2, 3] and len(history) == 3
    assert history.stop_reason == "stopped" and "as the callback asked" in history.message
    for W, W_ref in zip(got, ref):
        assert normwise(W, W_ref) <= 1e-12


def test_a_validation_metric_callable_sees_arrays_of_the_devices_library():
    params, X, y, _ = problem(N=40, D=6, M=8, C=3, seed=1)
    seen = []

    def metric(params, X_val, y_val, w_val):
        seen.append((type(X_val), type(y_val), type(w_val), type(params.W1)))
        return -float(model.cross_entropy(model.forward(params, X_val), y_val, w_val)[0])

    options = dict(lr=0.1, epochs=6, validation_fraction=0.25, patience=2, seed=3, class_weight=[1.0, 2.0, 1.0])
    _, ref_history = train.fit(params, X, y, validation_metric=metric, **options)
    seen.clear()
    _, history = train.fit(params, strict(X), strict(y), validation_metric=metric, **options)
    assert {t.__module__.split(".")[0] for row in seen for t in row} == {"array_api_strict"}
    assert history.val_score == ref_history.val_score
    # the score is minus the class-weighted validation loss: the metric got the class weights
    np.testing.assert_array_equal(-np.asarray(history.val_score), history.val_loss)


def test_checkpoints_hold_host_arrays_and_resume_on_the_device(tmp_path):
    params, X, y, _ = problem(seed=9)
    Xt, yt = on_torch(X), on_torch(y)
    _, _, state = train.fit(params, Xt, yt, optimizer="adam", lr=0.01, epochs=4, return_state=True, seed=1)
    path = tmp_path / "run.ckpt"
    checkpoint.save_state(path, state)
    loaded, _ = checkpoint.load_state(path, optimizer="adam")
    assert all(isinstance(W, np.ndarray) for W in loaded.params)
    assert all(isinstance(W, np.ndarray) for W in loaded.opt_state["exp_avg"])
    resumed, _ = train.fit(None, Xt, yt, optimizer="adam", lr=0.01, epochs=8, resume=loaded)
    straight, _ = train.fit(params, Xt, yt, optimizer="adam", lr=0.01, epochs=8, seed=1)
    for W, W_ref in zip(resumed, straight):
        assert isinstance(W, torch.Tensor)
        assert normwise(W, W_ref) == 0.0


# ---- the estimator under scikit-learn's array API dispatch --------------------------------------

def test_the_estimator_keeps_torch_tensors_on_their_device():
    import sklearn

    from residual_mlp import ResidualMLPClassifier

    _, X, y, _ = problem(N=60, D=5, seed=2)
    labels = np.array(["ant", "bee", "cat", "dog"])[y]
    with sklearn.config_context(array_api_dispatch=True):
        clf = ResidualMLPClassifier(n_hidden=8, max_iter=5, random_state=0).fit(on_torch(X), on_torch(y))
        proba = clf.predict_proba(on_torch(X))
        predicted = clf.predict(on_torch(X))
        text = ResidualMLPClassifier(n_hidden=8, max_iter=5, random_state=0).fit(on_torch(X), labels)
        text_predicted = text.predict(on_torch(X))
        with pytest.raises(ValueError, match=r"ResidualMLPClassifier.predict\(\) must use the same namespace"):
            clf.predict(X)
    assert isinstance(proba, torch.Tensor) and proba.dtype == torch.float64 and proba.shape == (60, 4)
    assert isinstance(predicted, torch.Tensor) and predicted.dtype == torch.int64
    assert all(isinstance(W, torch.Tensor) for W in clf.params_)
    assert isinstance(clf.classes_, np.ndarray)
    assert isinstance(text_predicted, np.ndarray) and set(text_predicted) <= set(labels)
    # the same fit on NumPy: the same seed gives the same start, so the same model
    ref = ResidualMLPClassifier(n_hidden=8, max_iter=5, random_state=0).fit(X, y)
    np.testing.assert_allclose(proba.numpy(), ref.predict_proba(X), rtol=1e-10)
    # the default recipe's input bias: a ones column appended on the device, as on NumPy
    assert clf.input_bias_ and ref.input_bias_ and clf.params_[0].shape == ref.params_[0].shape == (6, 6)


@pytest.mark.parametrize("scoring", ["accuracy", "balanced_accuracy", "neg_log_loss"])
def test_the_estimator_on_torch_with_class_weights_and_a_scoring(scoring):
    import sklearn

    from residual_mlp import ResidualMLPClassifier

    _, X, y, _ = problem(N=80, D=5, C=3, seed=4)
    labels = np.array(["ant", "bee", "cat"])[y]
    options = dict(n_hidden=8, max_iter=12, random_state=0, class_weight="balanced", early_stopping=True,
                   validation_fraction=0.25, patience=3, scoring=scoring)
    with sklearn.config_context(array_api_dispatch=True):
        clf = ResidualMLPClassifier(**options).fit(on_torch(X), labels)
        proba = clf.predict_proba(on_torch(X))
    ref = ResidualMLPClassifier(**options).fit(X, labels)
    assert clf.history_["stop_reason"] == ref.history_["stop_reason"]
    assert len(clf.history_["val_score"]) == len(ref.history_["val_score"]) == len(ref.history_["loss"])
    np.testing.assert_allclose(clf.history_["val_score"], ref.history_["val_score"], rtol=1e-10)
    np.testing.assert_allclose(clf.history_["val_loss"], ref.history_["val_loss"], rtol=1e-12)
    np.testing.assert_allclose(proba.numpy(), ref.predict_proba(X), rtol=1e-10)


CHECKS = r"""
import sys, warnings
import numpy as np
import sklearn
from sklearn.utils.estimator_checks import (check_array_api_input, check_array_api_mixed_inputs,
                                            check_array_api_same_namespace)
from sklearn.utils._array_api import NamespaceAndDevice
from residual_mlp import ResidualMLPClassifier
warnings.simplefilter("ignore")
estimators = [ResidualMLPClassifier(n_hidden=16, max_iter=30, lr=1e-2, batch_size=None),
              ResidualMLPClassifier(n_hidden=16, max_iter=30, lr=1e-2, batch_size=8),
              ResidualMLPClassifier(n_hidden=16, max_iter=30, lr=1e-2, early_stopping=True,
                                    validation_fraction=0.2),
              ResidualMLPClassifier(n_hidden=16, max_iter=30, optimizer="lbfgs", weight_decay=1e-3)]
for est in estimators:
    for namespace, device, dtype in [("array_api_strict", "CPU_DEVICE", "float64"),
                                     ("array_api_strict", "device1", "float32"),
                                     ("torch", "cpu", "float64"), ("torch", "cpu", "float32")]:
        # values compared with the NumPy fit too (float64: the same numbers; float32: scikit-learn's
        # float32 tolerance, which an L-BFGS run can leave)
        check_values = dtype == "float64" or est.optimizer != "lbfgs"
        check_array_api_input(type(est).__name__, est, namespace, device, dtype, check_values=check_values,
                              check_sample_weight=True)
    check_array_api_mixed_inputs(type(est).__name__, est, NamespaceAndDevice("torch", "cpu"),
                                 NamespaceAndDevice("array_api_strict", "device1"))
    check_array_api_same_namespace(type(est).__name__, est, "array_api_strict")
print("array API checks passed")
"""


@pytest.mark.sklearn_1_9  # the array API checks it runs, and the estimator's array_api_support tag
def test_scikit_learns_array_api_checks_in_a_process_of_their_own():
    """scipy reads SCIPY_ARRAY_API when first imported: a fresh interpreter makes sure it was set."""
    env = dict(os.environ, SCIPY_ARRAY_API="1", PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    run = subprocess.run([sys.executable, "-c", CHECKS], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "array API checks passed" in run.stdout


# ---- the GPU check's own logic, on torch CPU ----------------------------------------------------

def test_gpu_check_self_test_on_torch_cpu():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    script = str(ROOT / "benchmarks" / "gpu_check.py")
    plain = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True, timeout=300)
    if not torch.cuda.is_available():
        assert plain.returncode == 0 and "no GPU" in plain.stdout, plain.stdout + plain.stderr
    run = subprocess.run([sys.executable, script, "--cpu-self-test"], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert "gradient check" in run.stdout and "fit equality" in run.stdout and "PASS" in run.stdout
    assert "FAIL" not in run.stdout


def test_the_readmes_gpu_lines_train_on_torch_tensors():
    """The three lines of the README's "On a GPU", on the CPU when there is no CUDA device."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## On a GPU", 1)[1].split("\n## ", 1)[0]
    lines = section.split("```py\n", 1)[1].split("```", 1)[0]
    assert len(lines.strip().splitlines()) == 3 and 'device="cuda"' in lines
    if not torch.cuda.is_available():
        lines = lines.replace('device="cuda"', 'device="cpu"')
    script = ("import numpy as np\nfrom sklearn.datasets import load_digits\n"
              "from residual_mlp import ResidualMLPClassifier\n"
              "X, y = load_digits(return_X_y=True)\nX = (X - X.mean(0)) / (X.std(0) + 1e-8)\n"
              + lines +
              "proba = clf.predict_proba(torch.asarray(X, device=clf.params_[0].device))\n"
              "assert isinstance(proba, torch.Tensor) and proba.device == clf.params_[0].device\n"
              "assert isinstance(clf.classes_, np.ndarray)\n"
              "print('accuracy', float((proba.argmax(1).cpu().numpy() == y).mean()))\n")
    env = dict(os.environ, SCIPY_ARRAY_API="1", PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert float(run.stdout.split("accuracy")[1]) > 0.9


@pytest.mark.parametrize("case", ["gd", "momentum", "nesterov", "adam", "adam, batches, cosine, decay"])
def test_ten_float32_steps_on_array_api_strict_are_numpys(case):
    """float32 stays float32 in every update rule (Adam's bias correction too): the two loops agree bit for bit."""
    (params, history), (params_s, _) = _fit_both("array_api_strict", case, dtype=np.float32)
    for name, W, W_s in zip(Params._fields, params, params_s):
        assert W.dtype == np.float32, name
        np.testing.assert_array_equal(devices.to_host(W_s), W, err_msg=name)
