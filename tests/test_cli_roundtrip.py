"""train -> predict / evaluate / info on the user's files agree with the Python API on the same data.

The reference numbers come from `modelfile.load(path).predict` / `.predict_proba` and scikit-learn's
metrics, never from the command's own output.
"""
import csv
import io
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from residual_mlp import cli, data, model, modelfile

NAMES = ["sepal length", "sepal width", "petal length", "petal width"]


@pytest.fixture(scope="module")
def iris():
    X, labels, _ = data.load_dataset("iris")
    order = np.random.default_rng(0).permutation(len(X))
    return X[order], labels[order]


def write_csv(path, X, labels=None, names=NAMES, target="species"):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(list(names) + ([target] if labels is not None else []))
        for i, row in enumerate(X.tolist()):
            writer.writerow(row + ([labels[i]] if labels is not None else []))
    return path


def run(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert status == 0, err
    return out


def read_predictions(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def number(out, key):
    return float(re.search(rf"^{key}\s+([0-9.]+)", out, re.M).group(1))


@pytest.fixture(scope="module")
def trained(iris, tmp_path_factory):
    """A model trained on 120 CSV rows with text labels, its held-out 30 rows given with --test."""
    X, labels = iris
    folder = tmp_path_factory.mktemp("roundtrip")
    train_csv = write_csv(folder / "train.csv", X[:120], labels[:120])
    test_csv = write_csv(folder / "test.csv", X[120:], labels[120:])
    model = folder / "model.npz"
    assert cli.main(["train", "--data", str(train_csv), "--test", str(test_csv), "--epochs", "30", "--quiet",
                     "--out", str(model)]) == 0
    return folder, model, modelfile.load(model)


def test_predict_without_the_target_in_another_column_order(trained, iris, capsys):
    folder, path, m = trained
    X, labels = iris
    order = [2, 0, 3, 1]
    new = write_csv(folder / "new.csv", X[:, order], names=[NAMES[j] for j in order])
    header, rows = read_predictions(run(capsys, "predict", "--model", path, "--data", new))
    assert header == ["prediction"] and len(rows) == len(X)
    reference = m.predict(X)
    assert [r[0] for r in rows] == reference.tolist()
    assert set(reference) == {"setosa", "versicolor", "virginica"}  # a model that learned something
    # the target column, when present, is ignored; --out writes the same text
    out = folder / "predictions.csv"
    assert run(capsys, "predict", "--model", path, "--data", folder / "train.csv", "--out", out) == ""
    _, rows = read_predictions(out.read_text())
    assert [r[0] for r in rows] == reference[:120].tolist()


def test_predict_probabilities(trained, iris, capsys):
    folder, path, m = trained
    X, _ = iris
    header, rows = read_predictions(run(capsys, "predict", "--model", path, "--data", folder / "test.csv",
                                        "--proba"))
    assert header == ["prediction", "proba_setosa", "proba_versicolor", "proba_virginica"]
    P = np.array([[float(v) for v in r[1:]] for r in rows])
    np.testing.assert_array_equal(P, m.predict_proba(X[120:]))  # printed with every digit
    assert [r[0] for r in rows] == m.predict(X[120:]).tolist()


def test_predict_streams_in_blocks_with_the_same_result(trained, iris, capsys, monkeypatch):
    folder, path, m = trained
    X, _ = iris
    whole = read_predictions(run(capsys, "predict", "--model", path, "--data", folder / "train.csv", "--proba"))
    monkeypatch.setattr(data, "BLOCK_BYTES", 256)                   # a few rows per block
    blocks = read_predictions(run(capsys, "predict", "--model", path, "--data", folder / "train.csv", "--proba"))
    assert blocks[0] == whole[0] and len(blocks[1]) == len(whole[1]) == 120
    assert [r[0] for r in blocks[1]] == [r[0] for r in whole[1]] == m.predict(X[:120]).tolist()
    # BLAS may round a block of other size differently in the last bit
    np.testing.assert_allclose(np.array(blocks[1])[:, 1:].astype(float), np.array(whole[1])[:, 1:].astype(float),
                               rtol=1e-13, atol=1e-300)


def test_evaluate_agrees_with_the_python_api_and_scikit_learn(trained, iris, capsys):
    folder, path, m = trained
    X, labels = iris
    out = run(capsys, "evaluate", "--model", path, "--data", folder / "test.csv", "--plot", folder / "cm.png")
    truth, predicted = labels[120:], m.predict(X[120:])
    accuracy = np.mean(predicted == truth)
    P = m.predict_proba(X[120:])
    loss = -np.mean(np.log(P[np.arange(30), np.searchsorted(m.classes, truth)]))
    assert number(out, "accuracy") == pytest.approx(100 * accuracy, abs=0.006)
    assert number(out, "loss") == pytest.approx(loss, abs=6e-5)
    assert m.results["test_accuracy"] == pytest.approx(accuracy, abs=1e-12)   # what train measured
    assert m.results["test_loss"] == pytest.approx(loss, rel=1e-10)
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=m.classes,
                                                                     zero_division=0)
    for k, name in enumerate(m.classes):
        cells = re.search(rf"^{name}\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+(\d+)$", out, re.M).groups()
        np.testing.assert_allclose([float(c) for c in cells[:3]], [precision[k], recall[k], f1[k]], atol=6e-5)
        assert int(cells[3]) == support[k]
    matrix = confusion_matrix(truth, predicted, labels=m.classes)
    block = out[out.index("confusion matrix"):].splitlines()[2:5]
    assert [[int(v) for v in line.split()[1:]] for line in block] == matrix.tolist()
    assert (folder / "cm.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_info_shows_dimensions_classes_features_settings_and_results(trained, capsys):
    folder, path, m = trained
    out = run(capsys, "info", "--model", path)
    assert "D=4 features, M=128 hidden, C=3 classes" in out
    assert "classes   setosa, versicolor, virginica" in out
    assert "features  sepal length, sepal width, petal length, petal width" in out
    assert re.search(r"^  epochs\s+30$", out, re.M) and re.search(r"^  lr\s+0.1$", out, re.M)
    assert re.search(rf"^  test_accuracy\s+{m.results['test_accuracy']:.6g}$", out, re.M)
    assert re.search(r"^  loss_curve\s+30 values: ", out, re.M)


def test_the_split_of_a_csv_is_the_data_modules_split(iris, tmp_path, capsys):
    """Without --test, train holds out data.split's rows: its recorded accuracy is theirs."""
    X, labels = iris
    path = write_csv(tmp_path / "all.csv", X, labels)
    run(capsys, "train", "--data", path, "--epochs", "10", "--quiet", "--out", tmp_path / "m.npz")
    m = modelfile.load(tmp_path / "m.npz")
    classes, y = data.encode_labels(labels)
    _, X_test, _, y_test = data.split(X, y, 0.2, 0)
    assert m.results["test_accuracy"] == pytest.approx(np.mean(m.predict(X_test) == classes[y_test]), abs=1e-12)


def test_npz_with_integer_labels(iris, tmp_path, capsys):
    X, labels = iris
    y = np.searchsorted(np.unique(labels), labels) * 10          # classes 0, 10, 20
    np.savez(tmp_path / "d.npz", X=X, y=y)
    run(capsys, "train", "--data", tmp_path / "d.npz", "--epochs", "20", "--hidden", "16", "--quiet",
        "--out", tmp_path / "m.npz")
    m = modelfile.load(tmp_path / "m.npz")
    assert m.feature_names is None and m.classes.tolist() == [0, 10, 20]
    np.savez(tmp_path / "x.npz", X=X[:25])
    _, rows = read_predictions(run(capsys, "predict", "--model", tmp_path / "m.npz", "--data", tmp_path / "x.npz"))
    assert [int(r[0]) for r in rows] == m.predict(X[:25]).tolist()
    out = run(capsys, "evaluate", "--model", tmp_path / "m.npz", "--data", tmp_path / "d.npz")
    assert number(out, "accuracy") == pytest.approx(100 * np.mean(m.predict(X) == y), abs=0.006)
    # the same model reads the same rows from a CSV, matched by position, labels compared as numbers
    write_csv(tmp_path / "d.csv", X, [f"{v:.1f}" for v in y], names=list("abcd"))
    out_csv = run(capsys, "evaluate", "--model", tmp_path / "m.npz", "--data", tmp_path / "d.csv")
    assert number(out_csv, "accuracy") == number(out, "accuracy")


def test_parquet_with_text_labels_and_a_held_out_file(iris, tmp_path, capsys):
    X, labels = iris
    columns = {name: X[:, j] for j, name in enumerate(NAMES)}
    pq.write_table(pa.table({**columns, "species": labels}).slice(0, 120), tmp_path / "train.parquet")
    pq.write_table(pa.table(columns).slice(120), tmp_path / "new.parquet")
    pq.write_table(pa.table({**columns, "species": labels}).slice(120), tmp_path / "test.parquet")
    run(capsys, "train", "--data", tmp_path / "train.parquet", "--test", tmp_path / "test.parquet",
        "--target", "species", "--epochs", "20", "--hidden", "16", "--quiet", "--out", tmp_path / "m.npz")
    m = modelfile.load(tmp_path / "m.npz")
    assert m.feature_names == NAMES and m.settings["target"] == "species"
    _, rows = read_predictions(run(capsys, "predict", "--model", tmp_path / "m.npz", "--data",
                                   tmp_path / "new.parquet"))
    assert [r[0] for r in rows] == m.predict(X[120:]).tolist()
    out = run(capsys, "evaluate", "--model", tmp_path / "m.npz", "--data", tmp_path / "test.parquet")
    assert number(out, "accuracy") == pytest.approx(100 * m.results["test_accuracy"], abs=0.006)
    assert m.results["test_accuracy"] == pytest.approx(np.mean(m.predict(X[120:]) == labels[120:]), abs=1e-12)


def test_labels_with_commas_and_quotes_come_back_as_they_were(tmp_path, capsys):
    rng = np.random.default_rng(4)
    names = np.array(['say "yes"', "no, never", "ünïcode"])
    y = np.arange(90) % 3
    angle = 2 * np.pi * y / 3                       # three clusters around the origin: the network has no biases
    X = rng.normal(size=(90, 2)) * 0.5 + 3 * np.column_stack([np.cos(angle), np.sin(angle)])
    path = write_csv(tmp_path / "q.csv", X, names[y].tolist(), names=["x1", "x2"], target="answer")
    run(capsys, "train", "--data", path, "--epochs", "100", "--hidden", "8", "--quiet",
        "--out", tmp_path / "m.npz")
    m = modelfile.load(tmp_path / "m.npz")
    assert sorted(m.classes.tolist()) == sorted(names.tolist())
    _, rows = read_predictions(run(capsys, "predict", "--model", tmp_path / "m.npz", "--data", path))
    assert [r[0] for r in rows] == m.predict(X).tolist()
    assert np.mean(m.predict(X) == names[y]) > 0.9


def test_integer_labels_one_apart_beyond_float64_precision(iris, tmp_path, capsys):
    """10**17 and 10**17 + 1 are one float64: evaluate must still count them as two classes."""
    X, labels = iris
    keep = labels != "virginica"
    X, is_second = X[keep], labels[keep] == "versicolor"
    y = np.where(is_second, 10**17 + 1, 10**17)                 # 50 rows of each
    np.savez(tmp_path / "d.npz", X=X, y=y)
    run(capsys, "train", "--data", tmp_path / "d.npz", "--epochs", "30", "--hidden", "8", "--quiet",
        "--out", tmp_path / "m.npz")
    m = modelfile.load(tmp_path / "m.npz")
    assert m.classes.tolist() == [10**17, 10**17 + 1]
    out = run(capsys, "evaluate", "--model", tmp_path / "m.npz", "--data", tmp_path / "d.npz")
    predicted = m.predict(X)
    for label in m.classes.tolist():
        support = re.search(rf"^{label}\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+\s+(\d+)$", out, re.M).group(1)
        assert int(support) == 50
    matrix = confusion_matrix(y, predicted, labels=m.classes)
    block = out[out.index("confusion matrix"):].splitlines()[2:4]
    assert [[int(v) for v in line.split()[1:]] for line in block] == matrix.tolist()
    assert number(out, "accuracy") == pytest.approx(100 * np.mean(predicted == y), abs=0.006)


def test_columns_of_huge_and_tiny_values_are_standardized(iris, tmp_path, capsys):
    """Features near 1e200, 1e307 and 1e-300: their sums of squares leave float64, their scaling must not."""
    X, labels = iris
    units = np.array([1e200, 1e307, 1e-300, 1.0])
    path = write_csv(tmp_path / "big.csv", X * units, labels)
    run(capsys, "train", "--data", path, "--epochs", "30", "--quiet", "--out", tmp_path / "m.npz")
    m = modelfile.load(tmp_path / "m.npz")
    classes, y = data.encode_labels(labels)
    X_train, X_test, _, y_test = data.split(X, y, 0.2, 0)
    np.testing.assert_allclose(m.mean, X_train.mean(axis=0) * units, rtol=1e-12)
    np.testing.assert_allclose(m.scale, X_train.std(axis=0) * units, rtol=1e-12)
    assert m.results["test_accuracy"] == pytest.approx(np.mean(m.predict(X_test * units) == classes[y_test]),
                                                       abs=1e-12)
    assert m.results["test_accuracy"] > 0.8


def test_evaluate_sums_the_loss_without_a_gradient(trained, iris, capsys, monkeypatch):
    """The loss comes from log y_hat directly: cross_entropy's dtheta (N, C) would be thrown away."""
    folder, path, m = trained
    X, labels = iris

    def no_gradient(*args, **kwargs):
        raise AssertionError("evaluate needs no dtheta")

    monkeypatch.setattr(model, "cross_entropy", no_gradient)
    out = run(capsys, "evaluate", "--model", path, "--data", folder / "test.csv")
    P = m.predict_proba(X[120:])
    loss = -np.mean(np.log(P[np.arange(30), np.searchsorted(m.classes, labels[120:])]))
    assert number(out, "loss") == pytest.approx(loss, abs=6e-5)
