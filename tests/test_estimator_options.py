"""The estimator's options for real data: an input bias, class weights, the early-stopping metric,
L-BFGS's stopping rule and the BLAS thread count."""
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

import residual_mlp
from residual_mlp import ResidualMLPClassifier, threads


@pytest.fixture(scope="module")
def one_feature():
    """Three classes, perfectly separable on one feature, the middle one around 0 after scaling."""
    rng = np.random.default_rng(0)
    x = np.r_[rng.uniform(-2, -1, 30), rng.uniform(-0.4, 0.4, 30), rng.uniform(1, 2, 30)]
    return x[:, None], np.repeat(["low", "middle", "high"], 30)


def test_without_biases_one_feature_separates_at_most_two_classes(one_feature):
    X, y = one_feature
    plain = ResidualMLPClassifier(recipe="seed", random_state=0).fit(X, y)
    assert len(np.unique(plain.predict(X))) <= 2  # theta(a x) = a theta(x): one class per sign of x
    assert plain.score(X, y) <= 2 / 3 + 1e-12


def test_the_input_bias_separates_three_classes_on_one_feature(one_feature):
    X, y = one_feature
    est = ResidualMLPClassifier(recipe="seed", input_bias=True, random_state=0).fit(X, y)
    assert est.score(X, y) == 1.0
    assert est.n_features_in_ == 1 and est.params_[0].shape == (2, 2)
    # the documented way to call the library on such weights
    index = residual_mlp.predict(est.params_, np.c_[X, np.ones(len(X))])
    np.testing.assert_array_equal(est.classes_[index], est.predict(X))


def test_the_bias_is_just_a_column_of_ones(one_feature):
    X, y = one_feature
    biased = ResidualMLPClassifier(n_hidden=16, max_iter=5, input_bias=True, random_state=0).fit(X, y)
    by_hand = ResidualMLPClassifier(n_hidden=16, max_iter=5, input_bias=False,
                                    random_state=0).fit(np.c_[X, np.ones(len(X))], y)
    for a, b in zip(biased.params_, by_hand.params_):
        np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def unbalanced():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 4))
    y = np.where(X[:, 0] + 0.5 * rng.normal(size=120) > 1.0, "rare", "common")
    return X, y


@pytest.mark.parametrize("recipe", ["seed", "default"])
def test_class_weights_equal_the_matching_sample_weights(unbalanced, recipe):
    X, y = unbalanced
    options = dict(n_hidden=16, max_iter=10, recipe=recipe, random_state=0)
    weights = {"rare": 5.0, "common": 0.5}
    by_class = ResidualMLPClassifier(class_weight=weights, **options).fit(X, y)
    by_sample = ResidualMLPClassifier(**options).fit(X, y, sample_weight=np.vectorize(weights.get)(y))
    for a, b in zip(by_class.params_, by_sample.params_):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    balanced = ResidualMLPClassifier(class_weight="balanced", **options).fit(X, y)
    as_samples = ResidualMLPClassifier(**options).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    for a, b in zip(balanced.params_, as_samples.params_):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    plain = ResidualMLPClassifier(**options).fit(X, y)
    assert np.abs(plain.params_[3] - balanced.params_[3]).max() > 1e-4


def test_partial_fit_takes_a_dict_of_class_weights_but_not_balanced(unbalanced):
    X, y = unbalanced
    est = ResidualMLPClassifier(n_hidden=8, class_weight={"rare": 3.0})
    est.partial_fit(X, y, classes=["common", "rare"])
    with pytest.raises(ValueError, match="'balanced' is not supported for partial_fit"):
        ResidualMLPClassifier(class_weight="balanced").partial_fit(X, y, classes=["common", "rare"])
    with pytest.raises(ValueError, match="not among the classes"):
        ResidualMLPClassifier(class_weight={"other": 2.0}).fit(X, y)


def test_class_weights_weigh_the_validation_loss(unbalanced):
    X, y = unbalanced
    options = dict(n_hidden=8, max_iter=3, early_stopping=True, validation_fraction=0.3, random_state=0)
    plain = ResidualMLPClassifier(**options).fit(X, y)
    weighted = ResidualMLPClassifier(class_weight={"rare": 1.0, "common": 1.0}, **options).fit(X, y)
    np.testing.assert_allclose(weighted.validation_loss_curve_, plain.validation_loss_curve_, rtol=1e-12)
    heavy = ResidualMLPClassifier(class_weight={"rare": 10.0, "common": 1.0}, **options).fit(X, y)
    assert heavy.validation_loss_curve_[0] != pytest.approx(plain.validation_loss_curve_[0], rel=1e-3)


@pytest.fixture(scope="module")
def noisy_digits():
    rng = np.random.default_rng(0)
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    y = y.copy()
    flip = rng.random(len(y)) < 0.3
    y[flip] = rng.integers(0, 10, flip.sum())
    return X[:600], y[:600]


def test_the_metric_choice_changes_which_epoch_is_restored(noisy_digits):
    X, y = noisy_digits
    options = dict(early_stopping=True, patience=5, max_iter=60, lr_schedule="constant", random_state=0)
    by_loss = ResidualMLPClassifier(scoring="loss", **options).fit(X, y)
    by_accuracy = ResidualMLPClassifier(scoring="accuracy", **options).fit(X, y)
    assert by_loss.history_["best_epoch"] == int(np.argmin(by_loss.validation_loss_curve_))
    assert by_accuracy.history_["best_epoch"] == int(np.argmax(by_accuracy.history_["val_score"]))
    assert by_loss.history_["best_epoch"] != by_accuracy.history_["best_epoch"]
    # any scikit-learn scorer name: recorded every epoch, higher is better
    scored = ResidualMLPClassifier(scoring="balanced_accuracy", **options).fit(X, y)
    assert len(scored.history_["val_score"]) == scored.n_iter_
    assert scored.history_["best_epoch"] == int(np.argmax(scored.history_["val_score"]))


def test_lbfgs_stops_before_its_cap_where_it_used_to_run_to_it():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning: it converged
        est = ResidualMLPClassifier(optimizer="lbfgs", weight_decay=1e-3, max_iter=500, random_state=0).fit(X, y)
    # scipy's own default (relative change below 2.2e-9) ran this to the 500-iteration cap
    assert est.stop_reason_ == "converged" and est.n_iter_ < 250


def test_threads_are_chosen_by_the_size_of_the_products(monkeypatch):
    for name in threads._VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert threads.blas_threads(64, 64, 128) == 1
    assert threads.blas_threads(4096, 784, 1024) is None
    assert threads.blas_threads(64, 64, 128, n_threads=2) == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert threads.blas_threads(64, 64, 128) is None  # the user's variable decides
    monkeypatch.delenv("OMP_NUM_THREADS")
    seen = []
    real = threads.limited

    def recording(n):
        seen.append(n)
        return real(n)

    monkeypatch.setattr(threads, "limited", recording)
    X, y = np.random.default_rng(0).normal(size=(50, 3)), np.arange(50) % 2
    ResidualMLPClassifier(n_hidden=8, max_iter=3).fit(X, y)
    ResidualMLPClassifier(n_hidden=8, max_iter=3, n_threads=2).fit(X, y)
    assert seen == [1, 2]  # once per fit call
