"""ResidualMLPClassifier as scikit-learn users meet it: pipelines, search, persistence, labels, weights.

Expected values come from outside the estimator: the PyTorch twin, scipy, repeated rows, the CLI's
own model file and its recorded test accuracy.
"""
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.special
import torch
import torch_twin
from sklearn.base import clone
from sklearn.datasets import load_iris, load_wine, make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import residual_mlp
import residual_mlp.saving
from residual_mlp import ResidualMLPClassifier, cli, data, init_params, loss_and_grads
from residual_mlp.errors import InputError

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


@pytest.fixture(scope="module")
def blobs():
    """Standardized, 3 classes, 60 rows: small enough for exact comparisons of many epochs."""
    X, y = make_blobs(n_samples=60, centers=3, n_features=5, cluster_std=2.0, random_state=1)
    return StandardScaler().fit_transform(X), y


def small(**kw):
    """A narrow network on the seed's input (no input bias): W1 is D x D, as the references here assume."""
    options = dict(n_hidden=16, max_iter=20, random_state=0, input_bias=False)
    options.update(kw)
    return ResidualMLPClassifier(**options)


def assert_params_equal(a, b, rtol=0.0):
    for name, A, B in zip(residual_mlp.Params._fields, a, b):
        np.testing.assert_allclose(A, B, rtol=rtol, atol=0, err_msg=name)


# ------------------------------------------------------------------ scikit-learn tools

def test_pipeline_with_scaler_learns_wine(wine):
    X_train, X_test, y_train, y_test = wine
    pipe = make_pipeline(StandardScaler(), ResidualMLPClassifier(random_state=0))
    pipe.fit(X_train, y_train)
    assert pipe.score(X_test, y_test) >= 0.93
    assert pipe[-1].n_features_in_ == 13


def test_grid_search_picks_from_the_grid(wine):
    X_train, _, y_train, _ = wine
    grid = {"residualmlpclassifier__n_hidden": [8, 32], "residualmlpclassifier__lr": [1e-4, 1e-2]}
    pipe = make_pipeline(StandardScaler(), small(max_iter=30))
    search = GridSearchCV(pipe, grid, cv=3).fit(X_train, y_train)
    assert len(search.cv_results_["params"]) == 4
    # 30 epochs at lr 1e-4 barely move the weights: the search must prefer lr 1e-2
    assert search.best_params_["residualmlpclassifier__lr"] == 1e-2
    assert search.best_score_ >= 0.9


def test_cross_val_score(wine):
    X_train, _, y_train, _ = wine
    scores = cross_val_score(make_pipeline(StandardScaler(), small(max_iter=50, lr=1e-2)), X_train, y_train,
                             cv=StratifiedKFold(3))
    assert scores.shape == (3,)
    assert scores.min() >= 0.85


def test_clone_keeps_parameters_and_drops_the_fit(blobs):
    X, y = blobs
    est = small(lr=0.02, betas=(0.8, 0.99), early_stopping=True).fit(X, y)
    twin = clone(est)
    assert twin.get_params() == est.get_params()
    assert not hasattr(twin, "params_") and not hasattr(twin, "classes_")
    # a clone trains to the same weights, since random_state is fixed
    assert_params_equal(twin.fit(X, y).params_, est.params_)


def test_pickle_round_trip(blobs):
    X, y = blobs
    est = small().fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))
    assert again.loss_curve_ == est.loss_curve_
    # and training goes on from where the pickled one was, optimizer state included
    est.partial_fit(X, y)
    again.partial_fit(X, y)
    assert_params_equal(again.params_, est.params_)


def test_set_params_then_fit_uses_them(blobs):
    X, y = blobs
    est = small().set_params(n_hidden=7, max_iter=3, patience=None)
    est.fit(X, y)
    assert est.params_[1].shape == (7, 5)
    assert est.n_iter_ == 3


# ------------------------------------------------------------------ warm start and partial_fit

def test_warm_start_continues_from_the_previous_weights(blobs):
    X, y = blobs
    est = small(max_iter=5, batch_size=None, patience=None, warm_start=True).fit(X, y)
    first = est.params_
    est.fit(X, y)
    assert est.n_iter_ == 10 and len(est.loss_curve_) == 10
    assert est.t_ == 10 * len(X)
    # full batch: loss_curve_[k] is the loss at the start of epoch k, so epoch 5 starts from `first`
    assert est.loss_curve_[5] == pytest.approx(float(loss_and_grads(first, X, y)[0]), rel=1e-12)
    cold = small(max_iter=5, batch_size=None, patience=None).fit(X, y)
    assert est.loss_curve_[5] < cold.loss_curve_[0]


def test_without_warm_start_a_second_fit_starts_over(blobs):
    X, y = blobs
    est = small(max_iter=5, patience=None).fit(X, y)
    first = est.params_
    est.fit(X, y)
    assert est.n_iter_ == 5 and len(est.loss_curve_) == 5
    assert_params_equal(est.params_, first)


def test_warm_start_refuses_other_classes(blobs):
    X, y = blobs
    est = small(warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="classes"):
        est.fit(X, np.where(y == 2, 7, y))


@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_partial_fit_equals_fit_epoch_by_epoch(blobs, optimizer):
    """k calls of partial_fit = fit(max_iter=k): the optimizer state and the shuffling carry over."""
    X, y = blobs
    options = dict(optimizer=optimizer, batch_size=16, lr=0.01, patience=None, lr_schedule="constant")
    whole = small(max_iter=4, **options).fit(X, y)
    steps = small(**options)
    for _ in range(4):
        steps.partial_fit(X, y, classes=[0, 1, 2])
    assert_params_equal(steps.params_, whole.params_)
    assert steps.n_iter_ == 4 and steps.t_ == 4 * len(X)
    np.testing.assert_allclose(steps.loss_curve_, whole.loss_curve_, rtol=0)
    # fit then partial_fit continues the same run
    head = small(max_iter=2, **options).fit(X, y)
    head.partial_fit(X, y)
    head.partial_fit(X, y)
    assert_params_equal(head.params_, whole.params_)


def test_partial_fit_restarting_the_optimizer_would_differ(blobs):
    """The test above can fail: a fresh Adam state at every epoch gives other weights."""
    X, y = blobs
    whole = small(max_iter=3, batch_size=16, lr=0.01, patience=None).fit(X, y)
    restarted = small(max_iter=1, batch_size=16, lr=0.01, patience=None, warm_start=True)
    for _ in range(3):
        restarted.fit(X, y)
    assert np.abs(restarted.params_[3] - whole.params_[3]).max() > 1e-6


def test_partial_fit_checks_classes(blobs):
    X, y = blobs
    est = small()
    with pytest.raises(ValueError, match="classes must be given"):
        est.partial_fit(X, y)
    est.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])  # a class may be absent from a call
    assert list(est.classes_) == [0, 1, 2]
    with pytest.raises(ValueError, match="not among the classes"):
        est.partial_fit(X, np.where(y == 2, 5, y))
    with pytest.raises(ValueError, match="differ"):
        est.partial_fit(X, y, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(X[:, :4], y)


# ------------------------------------------------------------------ labels and dtypes

@pytest.mark.parametrize("names", [np.array(["ant", "bee", "cat"]), np.array([3, 10, 42]),
                                   np.array([-1.0, 0.0, 2.0]), np.array(["no", "yes"], dtype=object)])
def test_any_labels_train_like_their_indices(blobs, names):
    """Relabeling the classes (order kept) changes nothing but the names predict returns."""
    X, y = blobs
    keep = y < len(names)
    X, y = X[keep], y[keep]
    by_index = small().fit(X, y)
    by_name = small().fit(X, names[y])
    np.testing.assert_array_equal(by_name.classes_, names)
    np.testing.assert_array_equal(by_name.predict_proba(X), by_index.predict_proba(X))
    np.testing.assert_array_equal(by_name.predict(X), names[by_index.predict(X)])
    assert by_name.score(X, names[y]) == by_index.score(X, y)


def test_classes_are_sorted_and_indexed_in_that_order(blobs):
    X, y = blobs
    names = np.array(["zebra", "ant", "moth"])
    est = small(max_iter=100, lr=0.02).fit(X, names[y])
    assert list(est.classes_) == ["ant", "moth", "zebra"]
    proba = est.predict_proba(X)
    np.testing.assert_array_equal(est.predict(X), est.classes_[proba.argmax(axis=1)])
    assert est.score(X, names[y]) >= 0.9


def test_two_classes_softmax_and_decision_function(blobs):
    X, y = blobs
    keep = y < 2
    X, labels = X[keep], np.array(["no", "yes"])[y[keep]]
    est = small(max_iter=50, lr=0.02).fit(X, labels)
    proba = est.predict_proba(X)
    assert proba.shape == (len(X), 2) and est.params_[3].shape == (2, 16)
    decision = est.decision_function(X)
    assert decision.shape == (len(X),)
    # the log-odds of classes_[1]: sigmoid(decision) is its probability
    np.testing.assert_allclose(scipy.special.expit(decision), proba[:, 1], rtol=1e-12)
    np.testing.assert_array_equal(est.predict(X), np.where(decision > 0, "yes", "no"))
    assert est.score(X, labels) >= 0.95


def test_many_classes():
    X, y = make_blobs(n_samples=240, centers=12, n_features=6, random_state=0)
    X = StandardScaler().fit_transform(X)
    est = ResidualMLPClassifier(n_hidden=32, lr=0.01, random_state=0).fit(X, y * 7 + 100)
    assert est.decision_function(X).shape == (240, 12)
    assert set(np.unique(est.predict(X))) <= set(est.classes_)
    assert est.score(X, y * 7 + 100) >= 0.8


def test_a_single_class_is_refused(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="one class"):
        small().fit(X, np.ones(len(X)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_trains_and_predicts_in_the_dtype_of_x(blobs, dtype):
    X, y = blobs
    est = small().fit(X.astype(dtype), y)
    assert all(W.dtype == dtype for W in est.params_)
    for method in (est.predict_proba, est.predict_log_proba, est.decision_function):
        assert method(X.astype(dtype)).dtype == dtype
    # float32 weights stay float32 on float64 input
    assert est.predict_proba(X).dtype == dtype


def test_float32_training_follows_float64_closely(blobs):
    X, y = blobs
    p32 = small(batch_size=None).fit(X.astype(np.float32), y).predict_proba(X)
    p64 = small(batch_size=None).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(p32, p64, atol=1e-4)


def test_integer_features_train_in_float64(blobs):
    X, y = blobs
    est = small().fit(np.round(X * 10).astype(np.int64), y)
    assert est.params_[0].dtype == np.float64


# ------------------------------------------------------------------ sample weights

def twin_weighted_loss(params, X, y, w):
    """sum_i w_i J_i / sum_i w_i from the PyTorch twin's logits."""
    with torch.no_grad():
        theta = torch_twin.forward(torch_twin.to_torch(params, requires_grad=False), X)
        J = -torch.log_softmax(theta, dim=1)[torch.arange(len(y)), torch.as_tensor(y)]
    w = torch.as_tensor(np.asarray(w, dtype=np.float64))
    return float((w * J).sum() / w.sum())


def test_sample_weight_is_the_weighted_mean_loss(blobs):
    X, y = blobs
    w = np.random.default_rng(0).uniform(0.1, 3.0, size=len(y))
    est = small(max_iter=1, batch_size=None, patience=None).fit(X, y, sample_weight=w)
    start = init_params(5, 16, 3, seed=0)  # random_state=0 is the seed of the initial weights
    assert est.loss_curve_[0] == pytest.approx(twin_weighted_loss(start, X, y, w), rel=1e-12)


@pytest.mark.parametrize("optimizer, lr", [("gd", 0.1), ("adam", 0.01)])
def test_weight_two_equals_the_row_twice(blobs, optimizer, lr):
    X, y = blobs
    w = np.ones(len(y))
    w[::3] = 2.0
    options = dict(optimizer=optimizer, lr=lr, max_iter=30, batch_size=None, patience=None)
    weighted = small(**options).fit(X, y, sample_weight=w)
    twice = np.r_[np.arange(len(y)), np.arange(0, len(y), 3)]
    repeated = small(**options).fit(X[twice], y[twice])
    assert_params_equal(weighted.params_, repeated.params_, rtol=1e-9)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-12)
    # and the weights matter: unweighted training ends elsewhere
    plain = small(**options).fit(X, y)
    assert np.abs(plain.params_[3] - weighted.params_[3]).max() > 1e-4


def test_zero_weight_is_removing_the_row_even_in_mini_batches(blobs):
    X, y = blobs
    w = np.ones(len(y))
    w[[0, 1, 2, 3, 5, 8, 13, 21]] = 0.0  # a whole first mini-batch of 4 rows weighs nothing
    options = dict(batch_size=4, shuffle=False, max_iter=5, patience=None)
    weighted = small(**options).fit(X, y, sample_weight=w)
    removed = small(**options).fit(X[w > 0], y[w > 0])
    assert_params_equal(weighted.params_, removed.params_)


def test_scaling_all_weights_changes_nothing(blobs):
    X, y = blobs
    w = np.random.default_rng(1).integers(1, 4, size=len(y)).astype(float)
    a = small(batch_size=None).fit(X, y, sample_weight=w)
    b = small(batch_size=None).fit(X, y, sample_weight=5 * w)
    assert_params_equal(a.params_, b.params_, rtol=1e-9)


def test_bad_sample_weight_is_refused(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="non-negative"):
        small().fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="shape"):
        small().fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="zero for every row"):
        small().fit(X, y, sample_weight=np.zeros(len(y)))


# ------------------------------------------------------------------ outputs

def test_predict_log_proba_is_finite_for_huge_logits(blobs):
    X, y = blobs
    est = small(max_iter=50, lr=0.02).fit(X, y)
    X_far = X * 1e6  # no biases: the logits scale with x, up to about 1e6
    theta = est.decision_function(X_far)
    assert np.abs(theta).max() > 1e5
    log_proba = est.predict_log_proba(X_far)
    assert np.isfinite(log_proba).all()
    np.testing.assert_allclose(log_proba, scipy.special.log_softmax(theta, axis=1), rtol=1e-12, atol=1e-9)
    # the rounded probabilities underflow to 0, so log(predict_proba) would be -inf
    assert (est.predict_proba(X_far) == 0).any()


def test_outputs_against_the_twin(blobs):
    X, y = blobs
    est = small().fit(X, y)
    with torch.no_grad():
        theta = torch_twin.forward(torch_twin.to_torch(est.params_, requires_grad=False), X).numpy()
    np.testing.assert_allclose(est.decision_function(X), theta, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(est.predict_proba(X), scipy.special.softmax(theta, axis=1), rtol=1e-12)
    np.testing.assert_array_equal(est.predict(X), theta.argmax(axis=1))


def test_convergence_warning_when_max_iter_ends_training(blobs):
    X, y = blobs
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        small(max_iter=3, patience=10).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = small(max_iter=3, patience=None).fit(X, y)  # no convergence test: no warning
        assert est.stop_reason_ == "max_epochs"
        converged = small(max_iter=2000, lr=0.05, patience=3, tol=1e-2).fit(X, y)
    assert converged.stop_reason_ == "early_stopping" and converged.n_iter_ < 2000
    assert converged.best_loss_ == min(converged.loss_curve_)


def test_lbfgs_is_full_batch_and_reports_convergence(blobs):
    X, y = blobs
    est = small(optimizer="lbfgs", batch_size=4, max_iter=500).fit(X, y)  # batch_size does not apply
    assert est.stop_reason_ in ("converged", "early_stopping") and est.n_iter_ < 500
    assert est.score(X, y) >= 0.9
    with pytest.warns(ConvergenceWarning, match="L-BFGS-B did not converge"):
        small(optimizer="lbfgs", max_iter=2).fit(X, y)
    assert not hasattr(small(optimizer="lbfgs"), "partial_fit")  # available_if: no partial_fit to find
    assert hasattr(small(), "partial_fit")


def test_early_stopping_records_validation_scores(blobs):
    X, y = blobs
    est = small(early_stopping=True, validation_fraction=0.25, patience=3, max_iter=500, lr=0.05).fit(X, y)
    assert est.stop_reason_ == "early_stopping"
    assert len(est.validation_scores_) == len(est.validation_loss_curve_) == est.n_iter_ < 500
    best = int(np.argmin(est.validation_loss_curve_))
    assert est.best_validation_score_ == est.validation_scores_[best]
    assert est.best_loss_ is None
    assert est.t_ == est.n_iter_ * (len(X) - 15)  # 15 = ceil(0.25 * 60) rows held out
    plain = small().fit(X, y)
    assert plain.validation_scores_ is None and plain.best_validation_score_ is None
    # ended by max_iter, the last epoch's weights are kept, and so is its score
    with pytest.warns(ConvergenceWarning, match="validation loss"):
        short = small(early_stopping=True, validation_fraction=0.25, max_iter=3, lr=0.05).fit(X, y)
    assert short.best_validation_score_ == short.validation_scores_[-1]


def test_verbose_prints_every_epoch(blobs, capsys):
    X, y = blobs
    small(max_iter=3, verbose=True, patience=None).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == ["epoch 1", "epoch 2", "epoch 3"]


def test_bad_parameters_are_reported_at_fit(blobs):
    X, y = blobs
    for bad, match in ((dict(optimizer="sgdx"), "optimizer"), (dict(lr=-1.0), "lr"),
                       (dict(n_hidden=0), "n_hidden"), (dict(max_iter=0), "max_iter"),
                       (dict(batch_size=0), "batch_size"), (dict(lr_schedule="step"), "lr_schedule")):
        with pytest.raises(ValueError, match=match):
            small(**bad).fit(X, y)


# ------------------------------------------------------------------ model files

def test_save_load_round_trip(tmp_path, blobs):
    X, y = blobs
    names = np.array(["ant", "bee", "cat"])
    est = small(betas=(0.8, 0.99), early_stopping=True, validation_fraction=0.2).fit(X.astype(np.float32),
                                                                                      names[y])
    path = tmp_path / "model.skops"
    est.save(path)
    again = ResidualMLPClassifier.load(path)
    assert again.get_params() == est.get_params()
    assert again.params_[0].dtype == np.float32
    np.testing.assert_array_equal(again.classes_, est.classes_)
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    for name in ("loss_curve_", "n_iter_", "t_", "stop_reason_", "validation_scores_", "validation_loss_curve_",
                 "best_validation_score_", "n_features_in_"):
        assert getattr(again, name) == pytest.approx(getattr(est, name)), name
    # the loader the command line uses gives the same labels
    np.testing.assert_array_equal(residual_mlp.load_model(path).predict(X), est.predict(X))
    # a loaded estimator trains on, with a fresh optimizer state and a warning saying so
    with pytest.warns(UserWarning, match="no optimizer state.*starts afresh"):
        again.partial_fit(X, names[y])
    assert again.n_iter_ == est.n_iter_ + 1


def test_the_predict_command_reads_an_estimator_model(tmp_path, blobs, capsys):
    X, y = blobs
    labels = np.array(["ant", "bee", "cat"])[y]
    est = small().fit(X, labels)
    est.save(tmp_path / "model.skops")
    np.savez(tmp_path / "rows.npz", X=X, y=labels)
    out = tmp_path / "predictions.csv"
    status = cli.main(["predict", "--model", str(tmp_path / "model.skops"), "--data", str(tmp_path / "rows.npz"),
                       "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert captured.err == ""  # no feature-name warning: the bare estimator reads the columns by position
    lines = out.read_text().splitlines()
    assert lines[0] == "prediction"
    np.testing.assert_array_equal(lines[1:], est.predict(X))


def test_load_refuses_a_bad_file(tmp_path):
    path = tmp_path / "not_a_model.skops"
    path.write_bytes(b"hello")
    with pytest.raises(InputError, match="not_a_model.skops"):
        ResidualMLPClassifier.load(path)


@pytest.fixture(scope="module")
def cli_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "iris.skops"
    status = cli.main(["train", "--dataset", "iris", "--recipe", "seed", "--epochs", "50", "--out", str(path),
                       "--quiet"])
    assert status == 0
    return path


def iris_split():
    """The command line's split of iris: stratified 80/20 with seed 0, rows kept in file order."""
    iris = data.load_dataset("iris")
    index = np.arange(len(iris.labels))
    train, test = train_test_split(index, test_size=0.2, random_state=0, stratify=iris.labels)
    train.sort(), test.sort()
    X = iris.features.to_numpy()
    return X[train], X[test], iris.labels[train], iris.labels[test]


def test_a_cli_model_is_the_whole_pipeline(cli_model):
    pipe = residual_mlp.load_model(cli_model)
    est = pipe[-1]
    _, X_test, _, labels_test = iris_split()
    record = residual_mlp.saving.read_model_file(cli_model).record
    np.testing.assert_array_equal(est.classes_, ["setosa", "versicolor", "virginica"])
    names = data.load_dataset("iris").features.columns
    test = pd.DataFrame(X_test, columns=names)
    assert pipe.score(test, labels_test) == pytest.approx(record["results"]["test_accuracy"], abs=1e-12)
    assert est.training_options()["optimizer"] == "gd" and est.n_iter_ == 50 and len(est.loss_curve_) == 50
    assert est.get_params()["n_hidden"] == 128 and est.get_params()["random_state"] == 0


def test_the_estimator_reproduces_the_cli_training(cli_model):
    """The same split, scikit-learn's StandardScaler, the same seed and recipe: the CLI's very weights."""
    X_train, _, labels_train, _ = iris_split()
    est = ResidualMLPClassifier(recipe="seed", max_iter=50, random_state=0).fit(
        StandardScaler().fit_transform(X_train), labels_train)
    assert_params_equal(est.params_, residual_mlp.load_model(cli_model)[-1].params_)


def test_training_a_cli_model_on_continues_from_its_weights(cli_model, tmp_path):
    pipe = residual_mlp.load_model(cli_model)
    record = residual_mlp.saving.read_model_file(cli_model).record
    X_train, _, labels_train, _ = iris_split()
    names = data.load_dataset("iris").features.columns
    encoded = pipe[0].transform(pd.DataFrame(X_train, columns=names))
    with pytest.warns(UserWarning, match="no optimizer state"):
        pipe[-1].partial_fit(encoded, labels_train)
    # full-batch gd: the epoch's loss is that of the loaded weights on the training rows
    assert pipe[-1].loss_curve_[-1] == pytest.approx(record["results"]["train_loss"], rel=1e-12)
    path = tmp_path / "again.skops"
    residual_mlp.save_model(pipe, path)
    frame = pd.DataFrame(X_train, columns=names)
    np.testing.assert_array_equal(residual_mlp.load_model(path).predict(frame), pipe.predict(frame))


def test_a_constant_feature_lifts_iris():
    """The class docstring's claim: a constant column lifts iris (no biases in the network)."""
    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    A, B = scaler.transform(X_train), scaler.transform(X_test)
    plain = ResidualMLPClassifier(input_bias=False, random_state=0).fit(A, y_train).score(B, y_test)
    offset = ResidualMLPClassifier(input_bias=False, random_state=0).fit(np.c_[A, np.ones(len(A))], y_train)
    assert offset.score(np.c_[B, np.ones(len(B))], y_test) > plain
    # the default recipe's input bias is that constant column
    assert ResidualMLPClassifier(random_state=0).fit(A, y_train).score(B, y_test) > plain


