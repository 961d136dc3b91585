"""train -> predict / evaluate / info on the user's files agree with the Python API on the same data.

The reference numbers come from the Python side, never from the command's own output: the model file
read back with `residual_mlp.load_model` (its `predict` / `predict_proba`), a pipeline that the test
fits itself with `residual_mlp.make_pipeline`, and scikit-learn's split and metrics.
"""
import csv
import functools
import io
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import residual_mlp as rm
from residual_mlp import cli, data, model
from residual_mlp.saving import read_model_file

NAMES = ["sepal length", "sepal width", "petal length", "petal width"]


@pytest.fixture(scope="module")
def iris():
    table = data.load_dataset("iris")
    order = np.random.default_rng(0).permutation(len(table.labels))
    return table.features.to_numpy()[order], table.labels[order]


def write_csv(path, X, labels=None, names=NAMES, target="species"):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(list(names) + ([target] if labels is not None else []))
        for i, row in enumerate(X.tolist()):
            writer.writerow(row + ([labels[i]] if labels is not None else []))
    return path


def frame_of(X, names=NAMES):
    return pd.DataFrame(X, columns=names)


def run(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert status == 0, err
    return out


def fails(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert status == 2 and "Traceback" not in err, (status, err)
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err.strip()


def read_predictions(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def number(out, key):
    return float(re.search(rf"^{key}\s+([0-9.]+)", out, re.M).group(1))


def sklearn_split(y, test_size=0.2, seed=0):
    """The rows `train` holds out without --test: scikit-learn's stratified split, each side in file order."""
    train, test = train_test_split(np.arange(len(y)), test_size=test_size, random_state=seed, stratify=y)
    return np.sort(train), np.sort(test)


@pytest.fixture(scope="module")
def trained(iris, tmp_path_factory):
    """A model trained on 120 CSV rows with text labels, its held-out 30 rows given with --test."""
    X, labels = iris
    folder = tmp_path_factory.mktemp("roundtrip")
    train_csv = write_csv(folder / "train.csv", X[:120], labels[:120])
    test_csv = write_csv(folder / "test.csv", X[120:], labels[120:])
    path = folder / "model.skops"
    assert cli.main(["train", "--data", str(train_csv), "--test", str(test_csv), "--epochs", "30", "--quiet",
                     "--out", str(path)]) == 0
    return folder, path, rm.load_model(path)


# The "done when": one model, the same predictions from Python and from the command line


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """A table as R or pandas exports it: a row-number column, numbers with gaps, text, booleans, dates."""
    rng = np.random.default_rng(3)
    n = 240
    size = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], n)
    ok = rng.random(n) < 0.5
    when = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    score = 2 * size + np.where(colour == "red", 1.5, 0.0) + ok
    label = np.where(score > 1.5, "high", np.where(score > -0.5, "mid", "low"))
    frame = pd.DataFrame({"rownames": np.arange(1, n + 1), "size": np.where(rng.random(n) < 0.1, np.nan, size),
                          "colour": colour, "ok": ok, "when": when, "weight": rng.normal(size=n), "label": label})
    folder = tmp_path_factory.mktemp("mixed")
    frame.to_csv(folder / "table.csv", index=False)
    return folder, frame


def test_one_model_predicts_alike_from_python_and_the_command_line_by_column_name(mixed, capsys):
    folder, frame = mixed
    path = folder / "model.skops"
    run(capsys, "train", "--data", folder / "table.csv", "--epochs", "20", "--hidden", "16", "--quiet",
        "--out", path)
    pipe = rm.load_model(path)
    features = frame.drop(columns="label")
    reference = pipe.predict(features)
    P = pipe.predict_proba(features)
    assert set(reference) == {"high", "mid", "low"}           # label texts, a model that learned something
    assert np.mean(reference == frame["label"]) > 0.7
    # a DataFrame and a CSV file with the columns in another order and one more column
    shuffled = features[["weight", "when", "ok", "colour", "size", "rownames"]].assign(extra="unused")
    np.testing.assert_array_equal(pipe.predict(shuffled), reference)
    np.testing.assert_array_equal(pipe.predict_proba(shuffled), P)
    shuffled.to_csv(folder / "shuffled.csv", index=False)
    header, rows = read_predictions(run(capsys, "predict", "--model", path, "--data", folder / "shuffled.csv",
                                        "--proba"))
    assert header == ["prediction", *(f"proba_{c}" for c in pipe.classes_)]
    assert [r[0] for r in rows] == reference.tolist()
    np.testing.assert_array_equal(np.array([r[1:] for r in rows], dtype=float), P)   # every digit printed
    # a missing column: one line naming it, from both doors
    features.drop(columns="colour").to_csv(folder / "missing.csv", index=False)
    line = fails(capsys, "predict", "--model", path, "--data", folder / "missing.csv")
    assert line == f"error: {folder / 'missing.csv'}: no column 'colour' (the model's features) (5 columns)"
    with pytest.raises(ValueError, match="no column 'colour'"):
        pipe.predict(features.drop(columns="colour"))


def test_the_command_line_fits_the_pipeline_a_python_user_builds(mixed, capsys):
    """Same table, same rows, same defaults: `train` and `make_pipeline(...).fit` give the same model."""
    folder, frame = mixed
    path = folder / "cli.skops"
    run(capsys, "train", "--data", folder / "table.csv", "--epochs", "15", "--hidden", "16", "--quiet",
        "--out", path)
    cli_model = rm.load_model(path)
    table = pd.read_csv(folder / "table.csv", parse_dates=["when"])
    y = table.pop("label").to_numpy(dtype=object)
    train, _ = sklearn_split(y)
    mine = rm.make_pipeline(n_hidden=16, max_iter=15, random_state=0).fit(table.iloc[train], y[train])
    assert [role for _, role, _ in cli_model[0].roles_] == \
        ["dropped", "numeric", "categorical", "boolean", "date", "numeric"]
    assert cli_model[0].roles_ == mine[0].roles_
    np.testing.assert_array_equal(cli_model.predict_proba(table), mine.predict_proba(table))


# predict, evaluate and info on a model trained with --test


def test_predict_without_the_target_in_another_column_order(trained, iris, capsys):
    folder, path, pipe = trained
    X, labels = iris
    order = [2, 0, 3, 1]
    new = write_csv(folder / "new.csv", X[:, order], names=[NAMES[j] for j in order])
    header, rows = read_predictions(run(capsys, "predict", "--model", path, "--data", new))
    assert header == ["prediction"] and len(rows) == len(X)
    reference = pipe.predict(frame_of(X))
    assert [r[0] for r in rows] == reference.tolist()
    assert set(reference) == {"setosa", "versicolor", "virginica"}  # a model that learned something
    # the target column, when present, is ignored; --out writes the same text
    out = folder / "predictions.csv"
    assert run(capsys, "predict", "--model", path, "--data", folder / "train.csv", "--out", out) == ""
    _, rows = read_predictions(out.read_text())
    assert [r[0] for r in rows] == reference[:120].tolist()


def test_predict_probabilities(trained, iris, capsys):
    folder, path, pipe = trained
    X, _ = iris
    header, rows = read_predictions(run(capsys, "predict", "--model", path, "--data", folder / "test.csv",
                                        "--proba"))
    assert header == ["prediction", "proba_setosa", "proba_versicolor", "proba_virginica"]
    P = np.array([[float(v) for v in r[1:]] for r in rows])
    np.testing.assert_array_equal(P, pipe.predict_proba(frame_of(X[120:])))  # printed with every digit
    assert [r[0] for r in rows] == pipe.predict(frame_of(X[120:])).tolist()


def test_predict_streams_in_blocks_with_the_same_result(trained, iris, capsys, monkeypatch):
    folder, path, pipe = trained
    X, _ = iris
    whole = read_predictions(run(capsys, "predict", "--model", path, "--data", folder / "train.csv", "--proba"))
    monkeypatch.setattr(data, "BLOCK_BYTES", 256)                                      # a few rows per batch
    monkeypatch.setattr(data, "iter_table", functools.partial(data.iter_table, block_rows=7))  # and per block
    blocks = read_predictions(run(capsys, "predict", "--model", path, "--data", folder / "train.csv", "--proba"))
    assert blocks[0] == whole[0] and len(blocks[1]) == len(whole[1]) == 120
    assert [r[0] for r in blocks[1]] == [r[0] for r in whole[1]] == pipe.predict(frame_of(X[:120])).tolist()
    # BLAS may round a block of other size differently in the last bit
    np.testing.assert_allclose(np.array(blocks[1])[:, 1:].astype(float), np.array(whole[1])[:, 1:].astype(float),
                               rtol=1e-13, atol=1e-300)


def test_evaluate_agrees_with_the_python_api_and_scikit_learn(trained, iris, capsys):
    folder, path, pipe = trained
    X, labels = iris
    classes = pipe.classes_
    out = run(capsys, "evaluate", "--model", path, "--data", folder / "test.csv", "--plot", folder / "cm.png")
    truth, predicted = labels[120:], pipe.predict(frame_of(X[120:]))
    accuracy = np.mean(predicted == truth)
    P = pipe.predict_proba(frame_of(X[120:]))
    loss = -np.mean(np.log(P[np.arange(30), np.searchsorted(classes, truth)]))
    results = read_model_file(path).record["results"]
    assert number(out, "accuracy") == pytest.approx(100 * accuracy, abs=0.006)
    assert number(out, "loss") == pytest.approx(loss, abs=6e-5)
    assert results["test_accuracy"] == pytest.approx(accuracy, abs=1e-12)   # what train measured
    assert results["test_loss"] == pytest.approx(loss, rel=1e-10)
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=classes,
                                                                     zero_division=0)
    for k, name in enumerate(classes):
        cells = re.search(rf"^{name}\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+(\d+)$", out, re.M).groups()
        np.testing.assert_allclose([float(c) for c in cells[:3]], [precision[k], recall[k], f1[k]], atol=6e-5)
        assert int(cells[3]) == support[k]
    matrix = confusion_matrix(truth, predicted, labels=classes)
    block = out[out.index("confusion matrix"):].splitlines()[2:5]
    assert [[int(v) for v in line.split()[1:]] for line in block] == matrix.tolist()
    assert (folder / "cm.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_info_shows_dimensions_classes_columns_settings_and_results(trained, capsys):
    folder, path, pipe = trained
    out = run(capsys, "info", "--model", path)
    results = read_model_file(path).record["results"]
    assert "D=4 features, M=128 hidden, C=3 classes" in out
    assert "classes   setosa, versicolor, virginica" in out
    assert "target    species" in out
    assert "  numeric      'sepal length', 'sepal width', 'petal length', 'petal width': standardized" in out
    defaults = rm.ResidualMLPClassifier().training_options()      # the estimator's defaults are the command's
    assert re.search(r"^  max_iter\s+30$", out, re.M)
    assert re.search(rf"^  lr\s+{defaults['lr']:.6g}$", out, re.M)
    assert re.search(rf"^  optimizer\s+{defaults['optimizer']}$", out, re.M)
    assert re.search(rf"^  test_accuracy\s+{results['test_accuracy']:.6g}$", out, re.M)
    assert re.search(r"^  loss_curve\s+30 values: ", out, re.M)
    assert len(pipe[-1].loss_curve_) == 30


def test_the_split_of_a_csv_is_scikit_learns_stratified_split(iris, tmp_path, capsys):
    """Without --test, train holds out the rows of scikit-learn's stratified split: its recorded accuracy is theirs."""
    X, labels = iris
    path = write_csv(tmp_path / "all.csv", X, labels)
    run(capsys, "train", "--data", path, "--epochs", "10", "--quiet", "--out", tmp_path / "m.skops")
    pipe = rm.load_model(tmp_path / "m.skops")
    results = read_model_file(tmp_path / "m.skops").record["results"]
    _, test = sklearn_split(labels)
    assert results["test_accuracy"] == pytest.approx(np.mean(pipe.predict(frame_of(X[test])) == labels[test]),
                                                     abs=1e-12)


# Other formats and label kinds


def test_npz_with_integer_labels(iris, tmp_path, capsys):
    X, labels = iris
    y = np.searchsorted(np.unique(labels), labels) * 10          # classes 0, 10, 20
    np.savez(tmp_path / "d.npz", X=X, y=y)
    run(capsys, "train", "--data", tmp_path / "d.npz", "--epochs", "20", "--hidden", "16", "--quiet",
        "--out", tmp_path / "m.skops")
    pipe = rm.load_model(tmp_path / "m.skops")
    columns = [f"x{j}" for j in range(4)]                         # an NPZ file's features are x0 .. x3
    assert pipe[0].feature_names_in_.tolist() == columns and pipe.classes_.tolist() == [0, 10, 20]
    reference = pipe.predict(frame_of(X, columns))
    np.savez(tmp_path / "x.npz", X=X[:25])
    _, rows = read_predictions(run(capsys, "predict", "--model", tmp_path / "m.skops", "--data", tmp_path / "x.npz"))
    assert [int(r[0]) for r in rows] == reference[:25].tolist()
    out = run(capsys, "evaluate", "--model", tmp_path / "m.skops", "--data", tmp_path / "d.npz")
    assert number(out, "accuracy") == pytest.approx(100 * np.mean(reference == y), abs=0.006)
    # the same model reads the same rows from a CSV, matched by name, its label texts read as numbers
    for text in ("{:.1f}", "{}"):
        write_csv(tmp_path / "d.csv", X[:, ::-1], [text.format(v) for v in y], names=columns[::-1], target="y")
        out_csv = run(capsys, "evaluate", "--model", tmp_path / "m.skops", "--data", tmp_path / "d.csv")
        assert number(out_csv, "accuracy") == number(out, "accuracy")
    write_csv(tmp_path / "d.csv", X, ["ten" if v == 10 else str(v) for v in y], names=columns, target="y")
    line = fails(capsys, "evaluate", "--model", tmp_path / "m.skops", "--data", tmp_path / "d.csv")
    assert "d.csv, column 'y': label 'ten' is not a number, but the classes are [0, 10, 20]" in line


def test_parquet_with_text_labels_and_a_held_out_file(iris, tmp_path, capsys):
    X, labels = iris
    columns = {name: X[:, j] for j, name in enumerate(NAMES)}
    pq.write_table(pa.table({**columns, "species": labels}).slice(0, 120), tmp_path / "train.parquet")
    pq.write_table(pa.table(columns).slice(120), tmp_path / "new.parquet")
    pq.write_table(pa.table({**columns, "species": labels}).slice(120), tmp_path / "test.parquet")
    run(capsys, "train", "--data", tmp_path / "train.parquet", "--test", tmp_path / "test.parquet",
        "--target", "species", "--epochs", "20", "--hidden", "16", "--quiet", "--out", tmp_path / "m.skops")
    loaded = read_model_file(tmp_path / "m.skops")
    pipe, results = loaded.model, loaded.record["results"]
    assert pipe[0].feature_names_in_.tolist() == NAMES and loaded.record["settings"]["target"] == "species"
    reference = pipe.predict(frame_of(X[120:]))
    _, rows = read_predictions(run(capsys, "predict", "--model", tmp_path / "m.skops", "--data",
                                   tmp_path / "new.parquet"))
    assert [r[0] for r in rows] == reference.tolist()
    out = run(capsys, "evaluate", "--model", tmp_path / "m.skops", "--data", tmp_path / "test.parquet")
    assert number(out, "accuracy") == pytest.approx(100 * results["test_accuracy"], abs=0.006)
    assert results["test_accuracy"] == pytest.approx(np.mean(reference == labels[120:]), abs=1e-12)


def test_labels_with_commas_quotes_and_number_look_come_back_as_they_were(tmp_path, capsys):
    """Label texts are kept as written: quoted, with commas, Unicode, and texts that read as one number."""
    rng = np.random.default_rng(4)
    names = np.array(['say "yes"', "no, never", "ünïcode", "05", "5"])
    C = len(names)
    y = np.arange(50 * C) % C
    angle = 2 * np.pi * y / C                       # clusters around the origin: the network has no biases
    X = rng.normal(size=(len(y), 2)) * 0.3 + 3 * np.column_stack([np.cos(angle), np.sin(angle)])
    path = write_csv(tmp_path / "q.csv", X, names[y].tolist(), names=["x1", "x2"], target="answer")
    run(capsys, "train", "--data", path, "--epochs", "60", "--hidden", "8", "--quiet",
        "--out", tmp_path / "m.skops")
    pipe = rm.load_model(tmp_path / "m.skops")
    assert sorted(pipe.classes_.tolist()) == sorted(names.tolist())
    reference = pipe.predict(frame_of(X, ["x1", "x2"]))
    _, rows = read_predictions(run(capsys, "predict", "--model", tmp_path / "m.skops", "--data", path))
    assert [r[0] for r in rows] == reference.tolist()
    assert np.mean(reference == names[y]) > 0.9


def test_integer_labels_one_apart_beyond_float64_precision(iris, tmp_path, capsys):
    """10**17 and 10**17 + 1 are one float64: evaluate must still count them as two classes, from NPZ and CSV."""
    X, labels = iris
    keep = labels != "virginica"
    X, is_second = X[keep], labels[keep] == "versicolor"
    y = np.where(is_second, 10**17 + 1, 10**17)                 # 50 rows of each
    np.savez(tmp_path / "d.npz", X=X, y=y)
    run(capsys, "train", "--data", tmp_path / "d.npz", "--epochs", "30", "--hidden", "8", "--quiet",
        "--out", tmp_path / "m.skops")
    pipe = rm.load_model(tmp_path / "m.skops")
    assert pipe.classes_.tolist() == [10**17, 10**17 + 1]
    predicted = pipe.predict(frame_of(X, [f"x{j}" for j in range(4)]))
    write_csv(tmp_path / "d.csv", X, [str(v) for v in y], names=[f"x{j}" for j in range(4)], target="y")
    for source in ("d.npz", "d.csv"):
        out = run(capsys, "evaluate", "--model", tmp_path / "m.skops", "--data", tmp_path / source)
        for label in pipe.classes_.tolist():
            support = re.search(rf"^{label}\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+\s+(\d+)$", out, re.M).group(1)
            assert int(support) == 50
        matrix = confusion_matrix(y, predicted, labels=pipe.classes_)
        block = out[out.index("confusion matrix"):].splitlines()[2:4]
        assert [[int(v) for v in line.split()[1:]] for line in block] == matrix.tolist()
        assert number(out, "accuracy") == pytest.approx(100 * np.mean(predicted == y), abs=0.006)


def test_columns_of_large_and_small_values_are_standardized_as_scikit_learn_does(iris, tmp_path, capsys):
    """Features near 1e150 and 1e-150: their squares are near the ends of float64; StandardScaler's scaling."""
    X, labels = iris
    units = np.array([1e150, 1e-150, 1e100, 1.0])
    path = write_csv(tmp_path / "big.csv", X * units, labels)
    run(capsys, "train", "--data", path, "--epochs", "30", "--quiet", "--out", tmp_path / "m.skops")
    loaded = read_model_file(tmp_path / "m.skops")
    pipe, results = loaded.model, loaded.record["results"]
    train, test = sklearn_split(labels)
    scaler = pipe[0].transformer_.named_transformers_["numeric"].named_steps["scale"]
    reference = StandardScaler().fit(X[train] * units)
    np.testing.assert_allclose(scaler.mean_, reference.mean_, rtol=1e-12)
    np.testing.assert_allclose(scaler.scale_, reference.scale_, rtol=1e-12)
    np.testing.assert_allclose(scaler.scale_, X[train].std(axis=0) * units, rtol=1e-12)
    predicted = pipe.predict(frame_of(X[test] * units))
    assert results["test_accuracy"] == pytest.approx(np.mean(predicted == labels[test]), abs=1e-12)
    assert results["test_accuracy"] > 0.8


def test_evaluate_sums_the_loss_without_a_gradient(trained, iris, capsys, monkeypatch):
    """The loss comes from log y_hat directly: cross_entropy's dtheta (N, C) would be thrown away."""
    folder, path, pipe = trained
    X, labels = iris

    def no_gradient(*args, **kwargs):
        raise AssertionError("evaluate needs no dtheta")

    monkeypatch.setattr(model, "cross_entropy", no_gradient)
    out = run(capsys, "evaluate", "--model", path, "--data", folder / "test.csv")
    P = pipe.predict_proba(frame_of(X[120:]))
    loss = -np.mean(np.log(P[np.arange(30), np.searchsorted(pipe.classes_, labels[120:])]))
    assert number(out, "loss") == pytest.approx(loss, abs=6e-5)
