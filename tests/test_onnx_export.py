"""ONNX export, checked against onnxruntime: probabilities equal predict_proba within 1e-5 (float32)
and 1e-12 (float64); labels equal except where the top two probabilities tie within float32 rounding.

Each comparison prints its largest probability difference and its label mismatches and ties
(`pytest -s` shows them). Unsupported steps, bad samples and bad files end in one InputError line.
"""
import argparse
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits, load_iris
from sklearn.decomposition import PCA
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder, StandardScaler

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
skl2onnx = pytest.importorskip("skl2onnx")

import residual_mlp
from residual_mlp import cli, onnx_export
from residual_mlp.commands import export as export_command
from residual_mlp.errors import InputError
from residual_mlp.estimator import ResidualMLPClassifier
from residual_mlp.saving import save_model

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}
FLOATS = [np.float32, np.float64]


def fitted(pipeline, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short runs: ConvergenceWarning
        return pipeline.fit(X, y)


def run_onnx(onnx_model, X):
    session = ort.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    label, proba = session.run(["label", "probabilities"], onnx_export.input_feed(onnx_model, X))
    return label, proba


def check_against_onnxruntime(model, X, dtype, X_onnx=None, *, what=""):
    """The ONNX model's outputs on X against predict_proba / predict; returns the largest difference."""
    onnx_model = onnx_export.to_onnx(model, X if X_onnx is None else X_onnx)
    label, proba = run_onnx(onnx_model, X if X_onnx is None else X_onnx)
    expected_proba, expected_label = model.predict_proba(X), model.predict(X)
    assert proba.shape == expected_proba.shape and proba.dtype == expected_proba.dtype == dtype
    difference = float(np.abs(proba - expected_proba).max())
    differ, ties = label_mismatches(label, expected_label, expected_proba)
    print(f"{what} {np.dtype(dtype).name}: largest |probability difference| {difference:.3g}, "
          f"labels differing {differ} of {len(label)} (top-two ties within float32 rounding: {ties})")
    assert difference <= TOLERANCE[dtype]
    return difference


def label_mismatches(label, expected, proba):
    """(labels differing, rows whose top two probabilities tie); a difference outside a tie fails."""
    top = np.sort(proba, axis=1)[:, -2:]
    tie = top[:, 1] - top[:, 0] <= 8 * np.finfo(np.float32).eps * top[:, 1]
    differ = np.asarray(label) != np.asarray(expected)
    assert not np.any(differ & ~tie), f"labels differ outside ties at rows {np.flatnonzero(differ & ~tie)}"
    return int(differ.sum()), int(tie.sum())


def digits(dtype):
    X, y = load_digits(return_X_y=True)
    return X.astype(dtype), y


# ----------------------------------------------------------------- numbers in, one input X


@pytest.mark.parametrize("dtype", FLOATS)
def test_scaler_pipeline_on_digits(dtype):
    X, y = digits(dtype)
    pipe = fitted(make_pipeline(StandardScaler(), ResidualMLPClassifier(n_hidden=32, max_iter=30, random_state=0)),
                  X, y)
    assert pipe[-1].params_[0].dtype == dtype
    check_against_onnxruntime(pipe, X, dtype, what="digits, StandardScaler + M=32")
    onnx_model = onnx_export.to_onnx(pipe, X[:3])
    assert [i.name for i in onnx_model.graph.input] == ["X"]
    assert [o.name for o in onnx_model.graph.output] == ["label", "probabilities"]
    assert {e.domain: e.version for e in onnx_model.opset_import}[""] == onnx_export.TARGET_OPSET[""]
    onnx.checker.check_model(onnx_model, full_check=True)
    weight_bytes = sum(W.nbytes for W in pipe[-1].params_)  # the file is the weights and a little more
    assert weight_bytes < len(onnx_model.SerializeToString()) < weight_bytes + 4096


@pytest.mark.parametrize("dtype", FLOATS)
def test_bare_estimator_with_string_labels_on_iris(dtype):
    X, y = load_iris(return_X_y=True)
    X = ((X - X.mean(0)) / X.std(0)).astype(dtype)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    est = fitted(ResidualMLPClassifier(n_hidden=7, max_iter=50, random_state=1), X, names)  # D=4, M=7, C=3
    check_against_onnxruntime(est, X, dtype, what="iris, strings, D=4 M=7 C=3")
    label, _ = run_onnx(onnx_export.to_onnx(est), X)
    assert label.dtype == object and set(label) <= set(names)
    with pytest.raises(InputError, match=r"X has shape \(150, 2\); the ONNX model takes rows of 4 features"):
        onnx_export.input_feed(onnx_export.to_onnx(est), X[:, :2])


@pytest.mark.parametrize("dtype", FLOATS)
def test_two_classes_with_integer_labels_that_are_not_indices(dtype):
    X, y = digits(dtype)
    keep = np.isin(y, [3, 8])
    X, y = X[keep], y[keep] * 100 + 7  # labels 307 and 807: the graph must map index -> label
    pipe = fitted(make_pipeline(StandardScaler(), ResidualMLPClassifier(n_hidden=20, max_iter=20, random_state=2)),
                  X, y)
    check_against_onnxruntime(pipe, X, dtype, what="digits 3 vs 8, C=2, labels 307/807")
    label, _ = run_onnx(onnx_export.to_onnx(pipe), X)
    assert label.dtype == np.int64 and set(label) <= {307, 807}


def test_a_float64_graph_around_float32_weights_computes_as_predict_proba():
    """dtype=float64 on a float32 model: float64 inputs, the network in float32 as predict_proba does."""
    X, y = digits(np.float32)
    pipe = fitted(make_pipeline(StandardScaler(), ResidualMLPClassifier(n_hidden=16, max_iter=10, random_state=0)),
                  X, y)
    onnx_model = onnx_export.to_onnx(pipe, dtype=np.float64)
    assert onnx_model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    _, proba = run_onnx(onnx_model, X.astype(np.float64))
    assert proba.dtype == np.float32
    assert np.abs(proba - pipe.predict_proba(X)).max() <= TOLERANCE[np.float32]


def test_ties_take_the_first_class_as_numpy_does():
    """Two identical rows of W4 tie their classes exactly: both sides pick the first of the two."""
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    est = fitted(ResidualMLPClassifier(n_hidden=5, max_iter=5, random_state=0), X, y)
    W1, W2, W3, W4 = est.params_
    W4 = W4.copy()
    W4[1] = W4[2] = W4[0] * 10  # classes 0, 1 and 2: theta_0 < theta_1 == theta_2 wherever theta_0 > 0
    est.params_ = (W1, W2, W3, W4)
    label, _ = run_onnx(onnx_export.to_onnx(est), X)
    assert np.array_equal(label, est.predict(X))
    assert np.isin(label, [0, 1]).all() and (label == 1).any()


def test_input_bias_appends_a_constant_one_before_the_network():
    """input_bias=True: the network sees [x, 1], so W1 is (D+1, D+1); compared with a model fed [x, 1]."""
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    with_one = np.hstack([X, np.ones((len(X), 1))])
    plain = fitted(ResidualMLPClassifier(n_hidden=6, max_iter=40, input_bias=False, random_state=0), with_one, y)
    biased = fitted(ResidualMLPClassifier(n_hidden=6, max_iter=40, input_bias=True, random_state=0), X, y)
    assert all(np.array_equal(a, b) for a, b in zip(biased.params_, plain.params_))
    onnx_model = onnx_export.to_onnx(biased, X)
    assert onnx_model.graph.input[0].type.tensor_type.shape.dim[1].dim_value == 4
    label, proba = run_onnx(onnx_model, X)
    assert np.abs(proba - plain.predict_proba(with_one)).max() <= 1e-12
    assert np.array_equal(label, plain.predict(with_one))


def test_the_standardization_of_a_model_file_is_applied():
    X, y = load_iris(return_X_y=True)
    mean, scale = X.mean(0), X.std(0)
    est = fitted(ResidualMLPClassifier(n_hidden=6, max_iter=20, random_state=0), (X - mean) / scale, y)
    est._mean, est._scale = mean, scale
    _, proba = run_onnx(onnx_export.to_onnx(est), X)
    est._mean = est._scale = None
    assert np.abs(proba - est.predict_proba((X - mean) / scale)).max() <= 1e-12


# ----------------------------------------------------------- a mixed table, one input per column


def penguins(dtype, seed=0, n=300):
    """A table like Palmer penguins: numbers with gaps, a 0/1 column with gaps, text with gaps."""
    rng = np.random.default_rng(seed)
    species = rng.choice(["Adelie", "Chinstrap", "Gentoo"], size=n)
    k = pd.Series(species).map({"Adelie": 0, "Chinstrap": 1, "Gentoo": 2}).to_numpy()
    X = pd.DataFrame({
        "bill_length_mm": rng.normal(39 + 6 * k, 2.5),
        "flipper_length_mm": rng.normal(190 + 12 * k, 6),
        "body_mass_g": rng.normal(3700 + 700 * (k == 2), 400),
        "island": np.array(["Torgersen", "Dream", "Biscoe"], dtype=object)[(k + rng.integers(0, 2, n)) % 3],
        "sex": rng.choice(np.array(["male", "female"], dtype=object), size=n),
        "tagged": rng.integers(0, 2, n).astype(float),
    })
    for column, share in [("bill_length_mm", 0.05), ("body_mass_g", 0.03), ("sex", 0.08), ("tagged", 0.05)]:
        X.loc[rng.random(n) < share, column] = np.nan
    numeric = ["bill_length_mm", "flipper_length_mm", "body_mass_g", "tagged"]
    X[numeric] = X[numeric].astype(dtype)
    return X, species


def table_columns(dtype):
    """The ColumnTransformer of residual_mlp.make_pipeline's table encoder."""
    return ColumnTransformer([
        ("numeric", Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True)),
                              ("scale", StandardScaler())]), ["bill_length_mm", "flipper_length_mm", "body_mass_g"]),
        ("boolean", SimpleImputer(strategy="most_frequent"), ["tagged"]),
        ("categorical", Pipeline([("impute", SimpleImputer(strategy="constant", fill_value="missing")),
                                  ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False,
                                                           dtype=dtype))]),
         ["island", "sex"]),
    ], remainder="drop", sparse_threshold=0)


def unseen_rows(X):
    """Rows unlike training: an unknown island, gaps where training had none, all gaps at once."""
    rows = X.iloc[:6].copy()
    rows.loc[rows.index[0], "island"] = "Atlantis"
    rows.loc[rows.index[1], "flipper_length_mm"] = np.nan  # no gap here in training: no indicator column
    rows.loc[rows.index[2], ["bill_length_mm", "body_mass_g", "tagged", "sex"]] = np.nan
    rows.loc[rows.index[3], :] = np.nan
    return rows


@pytest.mark.parametrize("dtype", FLOATS)
def test_mixed_table_with_gaps_and_categories(dtype):
    X, y = penguins(dtype)
    pipe = fitted(Pipeline([("columns", table_columns(dtype)),
                            ("classifier", ResidualMLPClassifier(n_hidden=12, max_iter=40, random_state=0))]), X, y)
    assert pipe[-1].params_[0].dtype == dtype
    assert pipe[0].named_transformers_["numeric"][0].indicator_.features_.tolist() == [0, 2]
    both = pd.concat([X, unseen_rows(X)], ignore_index=True)
    check_against_onnxruntime(pipe, both, dtype, what="penguin-like table with gaps")
    onnx_model = onnx_export.to_onnx(pipe, X.head())
    inputs = {i.name: i.type.tensor_type.elem_type for i in onnx_model.graph.input}
    number = onnx.TensorProto.FLOAT if dtype == np.float32 else onnx.TensorProto.DOUBLE
    assert inputs == {"bill_length_mm": number, "flipper_length_mm": number, "body_mass_g": number,
                      "island": onnx.TensorProto.STRING, "sex": onnx.TensorProto.STRING, "tagged": number}


def test_gaps_are_fed_as_nan_and_empty_text_by_hand():
    """The input convention without input_feed: NaN for a missing number, "" for missing text."""
    X, y = penguins(np.float64)
    pipe = fitted(Pipeline([("columns", table_columns(np.float64)),
                            ("classifier", ResidualMLPClassifier(n_hidden=12, max_iter=20, random_state=0))]), X, y)
    row = pd.DataFrame({"bill_length_mm": [np.nan], "flipper_length_mm": [200.0], "body_mass_g": [np.nan],
                        "island": ["Dream"], "sex": pd.Series([np.nan], dtype="str"), "tagged": [np.nan]})
    feed = {"bill_length_mm": np.array([[np.nan]]), "flipper_length_mm": np.array([[200.0]]),
            "body_mass_g": np.array([[np.nan]]), "island": np.array([["Dream"]], dtype=object),
            "sex": np.array([[""]], dtype=object), "tagged": np.array([[np.nan]])}
    session = ort.InferenceSession(onnx_export.to_onnx(pipe).SerializeToString(), providers=["CPUExecutionProvider"])
    label, proba = session.run(None, feed)
    assert np.abs(proba - pipe.predict_proba(row)).max() <= 1e-12
    assert label.tolist() == pipe.predict(row).tolist()


class StandInEncoder(TransformerMixin, BaseEstimator):
    """The shape of make_pipeline's table encoder: date columns become numeric parts, then the
    fitted ColumnTransformer `transformer_` does the rest."""

    def __init__(self, transformer):
        self.transformer = transformer

    def parts(self, X):
        X = X.copy()
        for column in self.date_columns_:
            when = pd.to_datetime(X.pop(column))
            X[f"{column}_year"] = when.dt.year.astype(float)
            X[f"{column}_dayofyear"] = when.dt.day_of_year.astype(float)
        return X

    def fit(self, X, y=None):
        self.input_columns_ = list(X.columns)
        self.date_columns_ = [c for c in X.columns if X[c].dtype.kind == "M"]
        self.transformer_ = clone(self.transformer).fit(self.parts(X))
        return self

    def transform(self, X):
        return self.transformer_.transform(self.parts(X))


def test_a_table_encoder_with_dates_exports_the_date_parts_as_inputs():
    X, y = penguins(np.float64)
    rng = np.random.default_rng(3)
    X["seen"] = pd.Timestamp("2007-11-01") + pd.to_timedelta(rng.integers(0, 900, len(X)), unit="D")
    columns = table_columns(np.float64)
    columns.transformers[0][2].extend(["seen_year", "seen_dayofyear"])
    pipe = fitted(Pipeline([("columns", StandInEncoder(columns)),
                            ("classifier", ResidualMLPClassifier(n_hidden=12, max_iter=30, random_state=0))]), X, y)
    onnx_model = onnx_export.to_onnx(pipe, X.head())  # the sample as the pipeline reads it, with dates
    names = [i.name for i in onnx_model.graph.input]
    assert "seen" not in names and {"seen_year", "seen_dayofyear"} <= set(names)
    label, proba = run_onnx(onnx_model, pipe[0].parts(X))
    assert np.abs(proba - pipe.predict_proba(X)).max() <= 1e-12
    label_mismatches(label, pipe.predict(X), pipe.predict_proba(X))


def test_missing_indicator_alone_and_text_missing_values_of_its_own():
    X, y = penguins(np.float64)
    X["sex"] = X["sex"].fillna("?")
    columns = ColumnTransformer([
        ("gaps", MissingIndicator(), ["bill_length_mm", "body_mass_g"]),
        ("numbers", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()),
         ["flipper_length_mm", "body_mass_g"]),
        ("text", make_pipeline(SimpleImputer(missing_values="?", strategy="most_frequent"),
                               OneHotEncoder(handle_unknown="ignore", sparse_output=False)), ["sex"]),
    ], sparse_threshold=0)
    pipe = fitted(Pipeline([("columns", columns), ("classifier", ResidualMLPClassifier(n_hidden=8, max_iter=20,
                                                                                        random_state=0))]), X, y)
    onnx_model = onnx_export.to_onnx(pipe)
    feed = onnx_export.input_feed(onnx_model, X)
    feed["sex"] = X[["sex"]].to_numpy(dtype=object)  # "?" is this imputer's gap, fed as it is
    _, proba = ort.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feed)
    assert np.abs(proba - pipe.predict_proba(X)).max() <= 1e-12


# ------------------------------------------------------------- skl2onnx, registered converter


@pytest.mark.parametrize("dtype", FLOATS)
def test_skl2onnx_converts_a_user_pipeline_with_the_registered_converter(dtype):
    X, y = digits(dtype)
    pipe = fitted(make_pipeline(StandardScaler(), ResidualMLPClassifier(n_hidden=16, max_iter=10, random_state=0)),
                  X, y)
    onnx_model = skl2onnx.to_onnx(pipe, X[:1])
    session = ort.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    label, proba = session.run(["label", "probabilities"], {onnx_model.graph.input[0].name: X})
    # skl2onnx's own StandardScaler multiplies by 1/scale in float32: a few float32 roundings more
    assert np.abs(proba - pipe.predict_proba(X)).max() <= TOLERANCE[dtype]
    label_mismatches(label, pipe.predict(X), pipe.predict_proba(X))


def test_a_users_own_simple_imputer_keeps_skl2onnxs_converter():
    X, y = load_iris(return_X_y=True)
    X = X.astype(np.float32)
    X[::7, 1] = np.nan
    onnx_export.to_onnx(fitted(make_pipeline(SimpleImputer(), ResidualMLPClassifier(max_iter=2)), X, y))
    logistic = fitted(make_pipeline(SimpleImputer(), LogisticRegression()), X, y)
    onnx_model = skl2onnx.to_onnx(logistic, X[:1], options={"zipmap": False})
    assert "Imputer" in {node.op_type for node in onnx_model.graph.node}


# ---------------------------------------------------------------------------- refusals


def test_unsupported_steps_are_named_in_one_line():
    X, y = digits(np.float64)
    clf = ResidualMLPClassifier(n_hidden=8, max_iter=2, random_state=0)
    cases = [
        (make_pipeline(StandardScaler(), PCA(5), clone(clf)), "'pca' (PCA)"),
        (Pipeline([("columns", ColumnTransformer([("binned", KBinsDiscretizer(encode="ordinal"), [0, 1]),
                                                   ("rest", StandardScaler(), list(range(2, 64)))])),
                   ("classifier", clone(clf))]), "'columns > binned' (KBinsDiscretizer)"),
        (Pipeline([("union", FeatureUnion([("s", StandardScaler())])), ("classifier", clone(clf))]),
         "'union' (FeatureUnion)"),
    ]
    for pipe, named in cases:
        fitted(pipe, X, y)
        with pytest.raises(InputError) as caught:
            onnx_export.to_onnx(pipe, X)
        assert named in str(caught.value) and "\n" not in str(caught.value), str(caught.value)


def test_other_refusals():
    X, y = digits(np.float64)
    with pytest.raises(InputError, match="LogisticRegression"):
        onnx_export.to_onnx(fitted(LogisticRegression(max_iter=5), X, y), X)
    with pytest.raises(InputError, match="last step is StandardScaler"):
        onnx_export.to_onnx(fitted(make_pipeline(StandardScaler()), X, y), X)
    with pytest.raises(InputError, match="not fitted"):
        onnx_export.to_onnx(ResidualMLPClassifier(), X)
    odd = fitted(ResidualMLPClassifier(max_iter=2), X, y.astype(float))  # whole floats: int64 labels
    label, _ = run_onnx(onnx_export.to_onnx(odd), X)
    assert label.dtype == np.int64 and np.array_equal(label, odd.predict(X))
    odd.classes_ = np.array([complex(k, 1) for k in range(10)])
    with pytest.raises(InputError, match="integers or strings"):
        onnx_export.to_onnx(odd, X)
    pipe = fitted(make_pipeline(StandardScaler(), ResidualMLPClassifier(max_iter=2)), X, y)
    with pytest.raises(InputError, match=r"shape \(n, 64\)"):
        onnx_export.to_onnx(pipe, X[:, :10])
    with pytest.raises(InputError, match="dtype must be float32 or float64"):
        onnx_export.to_onnx(pipe, X, dtype=np.int64)
    table, species = penguins(np.float64)
    mixed = fitted(Pipeline([("columns", table_columns(np.float64)), ("classifier", clone(pipe[-1]))]), table, species)
    with pytest.raises(InputError, match="no column 'sex'"):
        onnx_export.to_onnx(mixed, table.drop(columns="sex"))
    with pytest.raises(InputError, match="'body_mass_g' of X_sample holds .* reads it as numbers"):
        onnx_export.to_onnx(mixed, table.assign(body_mass_g="heavy"))


# ------------------------------------------------------------------- files and the command


def test_save_onnx_writes_the_model_and_leaves_a_file_alone_on_failure(tmp_path):
    X, y = digits(np.float32)
    pipe = fitted(make_pipeline(StandardScaler(), ResidualMLPClassifier(n_hidden=8, max_iter=3)), X, y)
    path = tmp_path / "model.onnx"
    written = onnx_export.save_onnx(pipe, X[:2], path)
    assert onnx.load(str(path)) == written
    _, proba = run_onnx(onnx.load(str(path)), X)
    assert np.abs(proba - pipe.predict_proba(X)).max() <= 1e-5
    before = path.read_bytes()
    with pytest.raises(InputError):
        onnx_export.save_onnx(make_pipeline(PCA(3).fit(X), pipe[-1]), X, path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["model.onnx"]
    assert residual_mlp.to_onnx is onnx_export.to_onnx


@pytest.fixture
def export_cli(monkeypatch):
    """`residual-mlp export` through cli.main, with the command added as the integrator adds it."""
    if "export" not in cli.COMMANDS:
        monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, "export"))
    return cli.main


def test_export_command_writes_an_onnx_file(tmp_path, monkeypatch, export_cli, capsys):
    X, y = penguins(np.float64)
    pipe = fitted(Pipeline([("columns", table_columns(np.float64)),
                            ("classifier", ResidualMLPClassifier(n_hidden=8, max_iter=10, random_state=0))]), X, y)
    save_model(pipe, tmp_path / "model.skops")
    out = tmp_path / "model.onnx"
    assert export_cli(["export", "--model", str(tmp_path / "model.skops"), "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    _, proba = run_onnx(onnx.load(str(out)), X)
    assert np.abs(proba - pipe.predict_proba(X)).max() <= 1e-12


def test_export_command_errors_are_one_line(tmp_path, monkeypatch, export_cli, capsys):
    good = tmp_path / "model.skops"
    X, y = penguins(np.float64)
    save_model(fitted(Pipeline([("columns", table_columns(np.float64)),
                                ("classifier", ResidualMLPClassifier(n_hidden=8, max_iter=2, random_state=0))]), X, y),
               good)
    damaged = tmp_path / "damaged.skops"
    damaged.write_bytes(b"PK\x03\x04 not really a zip")
    out = str(tmp_path / "m.onnx")
    cases = [
        (["--model", str(damaged), "--out", out], "damaged.skops: damaged model file"),
        (["--model", str(tmp_path / "missing.skops"), "--out", out], "no such file"),
        (["--model", str(tmp_path / "model.onnx"), "--out", out], "is an ONNX file"),
        (["--model", str(good), "--out", str(tmp_path / "m.npz")], "ends in .onnx"),
        (["--model", str(good), "--out", str(tmp_path / "nowhere" / "m.onnx")], "does not exist"),
    ]
    for argv, message in cases:
        assert export_cli(["export", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "m.onnx").exists()


def test_export_command_arguments():
    parser = argparse.ArgumentParser()
    export_command.add_arguments(parser)
    args = parser.parse_args(["--model", "a", "--out", "b.onnx", "--dtype", "float32"])
    assert (args.model, args.out, args.dtype) == ("a", "b.onnx", "float32")
    assert export_command.HELP
