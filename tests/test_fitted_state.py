"""The fitted state is plain data: arrays and built-in types, so a model file trusts only the estimator's class.

The optimizer's state stays out of model files unless asked for; with it, partial_fit after loading continues
the run exactly as in memory; without it, partial_fit starts the optimizer afresh and says so.
"""
import pickle
import warnings

import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_iris
from sklearn.pipeline import make_pipeline as sk_make_pipeline
from sklearn.preprocessing import StandardScaler

import residual_mlp as rm
from residual_mlp import ResidualMLPClassifier

BUILTIN = (bool, int, float, str, type(None))


def _plain_types(value, where="est"):
    """Every (path, type) in `value` that is not an ndarray, a built-in scalar, or a list/tuple/dict of them."""
    if isinstance(value, np.ndarray):
        return [] if value.dtype != object else [(where, "object array")]
    if isinstance(value, BUILTIN):
        return []
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        return [bad for i, v in enumerate(value) for bad in _plain_types(v, f"{where}[{i}]")]
    if type(value) is dict:
        return [bad for k, v in value.items() for bad in _plain_types(v, f"{where}[{k!r}]")]
    return [(where, type(value).__qualname__)]


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), np.array(["setosa", "versicolor", "virginica"])[y]


@pytest.mark.parametrize("options", [dict(), dict(optimizer="momentum", early_stopping=True),
                                     dict(optimizer="lbfgs", max_iter=20), dict(recipe="seed", max_iter=5)])
def test_every_fitted_attribute_is_plain_data(iris, options):
    X, y = iris
    est = ResidualMLPClassifier(n_hidden=8, max_iter=options.pop("max_iter", 4), random_state=0, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    fitted = {k: v for k, v in vars(est).items() if k.endswith("_") or k.startswith("_") and not k.startswith("__")}
    assert "params_" in fitted and "history_" in fitted and "_optimizer_state" in fitted
    assert _plain_types(fitted) == []
    D = 4 + est.input_bias_  # the seed recipe has no column of ones
    assert est.input_bias_ == (options.get("recipe") != "seed")
    assert type(est.params_) is tuple and [W.shape for W in est.params_] == [(D, D), (8, D), (8, 8), (3, 8)]
    assert est.history_["loss"] == est.loss_curve_ and est.history_["stop_reason"] == est.stop_reason_


def test_a_model_file_trusts_only_the_estimator_class(tmp_path, iris):
    X, y = iris
    est = ResidualMLPClassifier(n_hidden=8, max_iter=3, random_state=0).fit(X, y)
    for what, model in (("bare", est), ("pipeline", sk_make_pipeline(StandardScaler(), est))):
        if what == "pipeline":
            model.fit(X, y)
        for keep in (False, True):
            path = tmp_path / f"{what}-{keep}.skops"
            rm.save_model(model, path, optimizer_state=keep)
            untrusted = sio.get_untrusted_types(file=path)
            assert untrusted == ["residual_mlp.estimator.ResidualMLPClassifier"], (what, keep, untrusted)


def test_the_optimizer_state_is_kept_only_when_asked_and_then_partial_fit_continues_exactly(tmp_path, iris):
    X, y = iris
    est = ResidualMLPClassifier(n_hidden=16, max_iter=3, random_state=0)  # adam
    est.fit(X, y)
    small, full = tmp_path / "small.skops", tmp_path / "full.skops"
    est.save(small)
    est.save(full, optimizer_state=True)
    # Adam's two moment estimates are twice the weights: the file without them is much smaller
    weight_bytes = sum(W.nbytes for W in est.params_)
    assert full.stat().st_size - small.stat().st_size > 1.8 * weight_bytes

    in_memory = pickle.loads(pickle.dumps(est))
    in_memory.partial_fit(X, y)
    resumed = ResidualMLPClassifier.load(full)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: the state is there
        resumed.partial_fit(X, y)
    for W, V in zip(resumed.params_, in_memory.params_):
        np.testing.assert_array_equal(W, V)
    assert resumed.loss_curve_ == in_memory.loss_curve_

    restarted = ResidualMLPClassifier.load(small)
    with pytest.warns(UserWarning, match="no optimizer state to continue"):
        restarted.partial_fit(X, y)
    # a fresh Adam's first step differs from the continued one
    assert max(np.abs(W - V).max() for W, V in zip(restarted.params_, in_memory.params_)) > 1e-6


def test_the_history_reads_back_as_a_history(iris):
    X, y = iris
    est = ResidualMLPClassifier(n_hidden=8, max_iter=4, random_state=0, early_stopping=True).fit(X, y)
    history = rm.History(**est.history_)
    assert len(history) == 4 and history.val_loss == est.validation_loss_curve_


def test_a_pickle_of_version_0_2_0_still_loads(iris):
    """0.2.0 kept the optimizer state as a TrainState and the history as a History: both become plain data."""
    X, y = iris
    est = ResidualMLPClassifier(n_hidden=8, max_iter=2, random_state=0).fit(X, y)
    state = dict(vars(est))
    saved = state.pop("_optimizer_state")
    state["_train_state"] = rm.TrainState(params=rm.Params(*est.params_), opt_state={
        "step": saved["step"], **{k: rm.Params(*v) for k, v in saved["slots"].items()}},
        epoch=saved["epoch"], seed=saved["seed"], history=rm.History())
    state["_state_optimizer"] = "adam"
    state["history_"] = rm.History(**est.history_)
    old = ResidualMLPClassifier.__new__(ResidualMLPClassifier)
    old.__setstate__(state)
    assert _plain_types({k: v for k, v in vars(old).items() if k.endswith("_") or k.startswith("_")}) == []
    assert old._optimizer_state["step"] == saved["step"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        old.partial_fit(X, y)


def test_under_array_api_dispatch_the_arrays_are_of_the_inputs_library(iris):
    torch = pytest.importorskip("torch")
    import sklearn

    X, y = iris
    codes = np.searchsorted(np.unique(y), y)
    with sklearn.config_context(array_api_dispatch=True), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = ResidualMLPClassifier(n_hidden=8, max_iter=3, early_stopping=True, random_state=0).fit(
            torch.asarray(X), torch.asarray(codes))
    assert all(isinstance(W, torch.Tensor) for W in est.params_)
    assert all(isinstance(A, torch.Tensor) for slot in est._optimizer_state["slots"].values() for A in slot)
    host = {k: v for k, v in vars(est).items() if (k.endswith("_") or k.startswith("_")) and k not in (
        "params_", "_optimizer_state")}
    assert _plain_types(host) == []


def test_an_lbfgs_model_saved_with_the_optimizer_state_loads(tmp_path, iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = ResidualMLPClassifier(n_hidden=4, max_iter=3, optimizer="lbfgs", random_state=0).fit(X, y)
    assert est._optimizer_state is None  # no partial_fit with L-BFGS: nothing to continue
    est.save(tmp_path / "m.skops", optimizer_state=True)
    np.testing.assert_array_equal(ResidualMLPClassifier.load(tmp_path / "m.skops").predict_proba(X),
                                  est.predict_proba(X))


def test_partial_fit_after_early_stopping_monitors_its_own_training_loss(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = ResidualMLPClassifier(n_hidden=16, max_iter=5, early_stopping=True, scoring="accuracy",
                                    lr_schedule="plateau", lr=0.01, random_state=0).fit(X, y)
    assert est._optimizer_state["monitor_best"] == float("inf") and est._optimizer_state["plateau_bad"] == 0
    rates = []
    for _ in range(12):
        est.partial_fit(X, y)
        rates += est.history_["lr"]
    # the training loss falls (it did not rise for 5 calls in a row), so reduce-on-plateau keeps the rate;
    # measured against the best validation score of the fit, it would halve every 5 calls
    assert est.loss_curve_[-1] < est.loss_curve_[-12] and rates == [0.01] * 12
