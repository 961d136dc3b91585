"""Every bad input ends with one line `error: ...` on stderr, naming what and where, and exit status 2.

The command line runs in-process through `cli.main` (fast); a few runs go through the installed
`residual-mlp` script. Tests run as root, so unwritable places are a missing folder or a path below a
regular file, and unreadable files are simulated.

What a table may hold changed in version 0.2: text in a feature column is encoded (one-hot), missing
cells are imputed and rows without a label are left out, so those cases now train (tested here as
such); infinite values, and values too large to standardize, are still refused.
"""
import functools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from residual_mlp import cli, data, load_model

SCRIPT = Path(sys.executable).with_name("residual-mlp")
FEATURES = ["a", "b", "c", "d"]
CLASSES = ["cat", "dog", "emu"]


def table(N=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(N) % 3
    X = rng.normal(size=(N, 4)).round(3) + y[:, None]
    return X, np.array(CLASSES)[y]


def csv_text(X, labels, names=FEATURES, target="label"):
    rows = [",".join([*names, target])] + [",".join([*map(str, x), str(t)]) for x, t in zip(X.tolist(), labels)]
    return "\n".join(rows) + "\n"


def write(path, text):
    Path(path).write_text(text, encoding="utf-8")
    return path


GOOD = csv_text(*table())


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    path = folder / "model.skops"
    assert cli.main(["train", "--data", str(write(folder / "train.csv", GOOD)), "--epochs", "5",
                     "--hidden", "8", "--quiet", "--out", str(path)]) == 0
    return path


def fails(capsys, argv, *needles):
    """Run the command; assert one clean `error:` line holding each needle; return that line."""
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    lines = err.splitlines()
    assert status == 2, (status, out, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def train(tmp_path, *more):
    return ["train", "--epochs", "2", "--hidden", "4", "--quiet", "--out", tmp_path / "out.skops", *more]


# The training data


BAD_CSV = {
    "empty file": ("", ["bad.csv: the file is empty"]),
    "header only": ("a,b,label\n", ["bad.csv: has a header row but no data rows"]),
    "blank header": ("\n1,2,x\n", ["bad.csv, line 1: the header row is empty"]),
    "ragged row, short": ("a,b,label\n1,2,x\n3,y\n", ["bad.csv, row 2: 2 fields, but the header names 3 columns"]),
    "ragged row, long": ("a,b,label\n1,2,x\n3,4,5,y\n", ["bad.csv, row 2: 4 fields, but the header names 3"]),
    "single class": ("a,b,label\n1,2,x\n3,4,x\n5,6,x\n", ["bad.csv: ", "one class: ['x']"]),
    "class of one row": ("a,label\n1,x\n2,y\n3,x\n4,y\n5,z\n", ["class 'z' of the target 'label' has 1 row"]),
    "too few rows for the split": ("a,label\n1,x\n2,y\n3,x\n4,y\n", ["too few rows (4) for a test split of 0.2"]),
    "every label missing": ("a,label\n1,\n2,NA\n", ["bad.csv, column 'label': every label is missing (2 rows)"]),
    "no feature column": ("label\nx\ny\n", ["bad.csv: the header row is a single column",
                                              "a table needs feature columns and a label column"]),
    "only the label and an identifier": (",label\n0,x\n1,y\n2,x\n3,y\n4,x\n5,y\n",
                                         ["bad.csv: no column is left to learn from", "'Unnamed: 0'"]),
    "duplicate column names": ("a,a,label\n1,2,x\n", ["the column name 'a' appears twice"]),
    "NUL byte": ("a,b,label\n1,2,x\n3\x00,4,y\n", ["bad.csv, line 3: a NUL byte"]),
}


@pytest.mark.parametrize("case", BAD_CSV)
def test_bad_csv_files(tmp_path, capsys, case):
    text, needles = BAD_CSV[case]
    path = write(tmp_path / "bad.csv", text)
    fails(capsys, train(tmp_path, "--data", path), *needles)
    assert not (tmp_path / "out.skops").exists()


def with_cells(cells, text=GOOD):
    """GOOD with some cells replaced: cells {(row, column index): text}, rows counted from 1 after the header."""
    lines = text.splitlines()
    for (row, j), cell in cells.items():
        fields = lines[row].split(",")
        fields[j] = cell
        lines[row] = ",".join(fields)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("cell, needle", [("-inf", "an infinite value (-inf)"), ("inf", "an infinite value (inf)")])
def test_an_infinite_feature_names_its_file_column_and_row(tmp_path, capsys, cell, needle):
    path = write(tmp_path / "bad.csv", with_cells({(7, 1): cell}))
    fails(capsys, train(tmp_path, "--data", path), f"bad.csv: column 'b', row 7: {needle}")
    assert not (tmp_path / "out.skops").exists()


def test_text_and_missing_cells_in_feature_columns_are_encoded_and_rows_without_a_label_left_out(tmp_path, capsys):
    """Refused before 0.2; now a text cell makes its column text: here its other cells are numbers, so it is
    read as numbers and the stray word, which the split put in the test rows, as missing (the role table
    says so); gaps are imputed, an unlabelled row is dropped."""
    cells = {(3, 1): "abc", (5, 2): "", (9, 0): "nan", (11, 3): "NA", (13, 4): ""}
    path = write(tmp_path / "cells.csv", with_cells(cells))
    out = tmp_path / "m.skops"
    status = cli.main(["train", "--data", str(path), "--epochs", "2", "--hidden", "4", "--out", str(out)])
    printed, err = capsys.readouterr()
    assert status == 0, err
    assert err == f"note      left out 1 row of {path} whose label ('label') is missing\n"
    assert "47 train / 12 test rows" in printed          # 60 rows less the unlabelled one
    roles = {name: role for name, role, _ in load_model(out)[0].roles_}
    assert roles == {"a": "numeric", "b": "numeric", "c": "numeric", "d": "numeric"}
    assert "text numbers (a later cell that is no number reads as missing)" in printed
    # text that repeats is one-hot encoded
    text = with_cells({(row, 1): "abc" for row in range(1, 61, 2)} | {(row, 1): "xyz" for row in range(2, 61, 2)})
    status = cli.main(["train", "--data", str(write(tmp_path / "text.csv", text)), "--epochs", "2", "--hidden", "4",
                       "--out", str(out)])
    printed, err = capsys.readouterr()
    assert status == 0, err
    assert "categorical  'b': 2 categories, one-hot" in printed


def test_a_file_that_is_not_utf8_text(tmp_path, capsys):
    path = tmp_path / "latin1.csv"
    path.write_bytes("a,b,label\n1,2,x\n3,4,café\n".encode("latin-1"))
    fails(capsys, train(tmp_path, "--data", path), "latin1.csv, line 3", "not UTF-8")
    path.write_bytes(bytes(range(256)) * 10)  # binary data
    fails(capsys, train(tmp_path, "--data", path), "latin1.csv, line 1")


def test_missing_file_and_directory(tmp_path, capsys):
    fails(capsys, train(tmp_path, "--data", tmp_path / "nope.csv"), "nope.csv: no such file")
    fails(capsys, train(tmp_path, "--data", tmp_path), f"{tmp_path}: is a directory")
    fails(capsys, train(tmp_path, "--data", tmp_path / "nope.csv", "--test", tmp_path), "nope.csv")


def test_missing_target_column_and_target_with_npz(tmp_path, capsys):
    path = write(tmp_path / "d.csv", GOOD)
    fails(capsys, train(tmp_path, "--data", path, "--target", "species"),
          "d.csv: no column 'species' (columns: 'a', 'b', 'c', 'd', 'label')")
    fails(capsys, train(tmp_path, "--data", path, "--target", "Label"), "d.csv: no column 'Label'; closest: 'label'")
    np.savez(tmp_path / "d.npz", X=np.zeros((6, 2)), y=np.arange(6) % 2)
    fails(capsys, train(tmp_path, "--data", tmp_path / "d.npz", "--target", "y"),
          "d.npz: --target names a column of a CSV or Parquet file; an NPZ file holds its labels in the array y")
    fails(capsys, train(tmp_path, "--target", "y"), "--target applies to --data files only")


def test_bad_npz_files(tmp_path, capsys):
    cases = {
        "no_y": ({"X": np.zeros((4, 2))}, "no array y"),
        "no_x": ({"features": np.zeros((4, 2))}, "no array X in the NPZ file (arrays: 'features')"),
        "flat": ({"X": np.zeros(4), "y": np.arange(4)}, "X has shape (4,); it must be 2-D"),
        "text": ({"X": np.array([["a"]]), "y": np.arange(1)}, "X holds <U1 values; expected numbers"),
        "short_y": ({"X": np.zeros((4, 2)), "y": np.arange(3)}, "y has shape (3,), but X has 4 rows"),
        "objects": ({"X": np.zeros((2, 2)), "y": np.array([{}, {}], dtype=object)}, "y holds Python objects"),
        "inf": ({"X": np.column_stack([np.arange(20.0), np.where(np.arange(20) == 6, np.inf, 1.0)]),
                 "y": np.arange(20) % 2}, "column 'x1', row 7: an infinite value (inf)"),
    }
    for name, (arrays, needle) in cases.items():
        np.savez(tmp_path / f"{name}.npz", **arrays)
        fails(capsys, train(tmp_path, "--data", tmp_path / f"{name}.npz"), f"{name}.npz", needle)
    write(tmp_path / "fake.npz", GOOD)
    fails(capsys, train(tmp_path, "--data", tmp_path / "fake.npz"), "fake.npz: not an NPZ file")
    np.savez(tmp_path / "cut.npz", X=np.ones((500, 3)), y=np.arange(500) % 2)
    raw = (tmp_path / "cut.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2])
    fails(capsys, train(tmp_path, "--data", tmp_path / "cut.npz"), "cut.npz")


def test_gaps_in_npz_and_parquet_features_are_imputed(tmp_path, capsys):
    """Refused before 0.2: NaN in X and nulls in Parquet columns are now missing values, imputed."""
    X, labels = table()
    X[[2, 30], 1] = np.nan
    np.savez(tmp_path / "nan.npz", X=X, y=labels)
    columns = {name: pa.array(X[:, j], from_pandas=True) for j, name in enumerate(FEATURES)}  # NaN -> null
    pq.write_table(pa.table({**columns, "label": labels}), tmp_path / "null.parquet")
    for name, column in (("nan.npz", "x1"), ("null.parquet", "b")):
        out = tmp_path / f"{name}.skops"
        assert cli.main(["train", "--data", str(tmp_path / name), "--epochs", "2", "--hidden", "4", "--quiet",
                         "--out", str(out)]) == 0, capsys.readouterr().err
        roles = {column: note for column, _, note in load_model(out)[0].roles_}
        assert "missing imputed (median)" in roles[column], roles


def test_bad_parquet_files(tmp_path, capsys):
    write(tmp_path / "fake.parquet", GOOD)
    fails(capsys, train(tmp_path, "--data", tmp_path / "fake.parquet"), "fake.parquet: not a Parquet file")
    pq.write_table(pa.table({"a": pa.array([], pa.float64()), "label": pa.array([], pa.string())}),
                   tmp_path / "empty.parquet")
    fails(capsys, train(tmp_path, "--data", tmp_path / "empty.parquet"), "empty.parquet: has no rows")
    pq.write_table(pa.table({"a": [1.0, 2.0], "label": [None, None]}, schema=pa.schema(
        [("a", pa.float64()), ("label", pa.string())])), tmp_path / "nolabel.parquet")
    fails(capsys, train(tmp_path, "--data", tmp_path / "nolabel.parquet"),
          "nolabel.parquet, column 'label': every label is missing (2 rows)")


def test_held_out_file_that_does_not_fit(tmp_path, capsys):
    X, labels = table()
    path = write(tmp_path / "d.csv", csv_text(X, labels))
    other = write(tmp_path / "t.csv", csv_text(X[:, :3], labels, names=["a", "b", "c"]))
    fails(capsys, train(tmp_path, "--data", path, "--test", other), "t.csv: no column 'd' (the model's features)")
    unseen = labels.copy()
    unseen[4] = "yak"
    fails(capsys, train(tmp_path, "--data", path, "--test", write(tmp_path / "u.csv", csv_text(X, unseen))),
          "u.csv: ", "labels ['yak'] that are not among the classes ['cat', 'dog', 'emu']")
    kind = write(tmp_path / "k.csv", csv_text(X, labels, target="kind"))
    fails(capsys, train(tmp_path, "--data", kind, "--target", "kind", "--test",
                        write(tmp_path / "v.csv", csv_text(X, labels))),
          "v.csv: no column 'kind' (columns: 'a', 'b', 'c', 'd', 'label')")
    np.savez(tmp_path / "d.npz", X=X, y=labels)
    np.savez(tmp_path / "u.npz", X=X, y=unseen)
    fails(capsys, train(tmp_path, "--data", tmp_path / "d.npz", "--test", tmp_path / "u.npz"),
          "u.npz: ", "labels ['yak'] that are not among the classes")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "d.npz", "k.csv", "t.csv", "u.csv", "u.npz",
                                                          "v.csv"]


def test_unreadable_files(tmp_path, capsys, monkeypatch):
    path = write(tmp_path / "d.csv", GOOD)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if mode == os.R_OK else real_access(p, mode))
    fails(capsys, train(tmp_path, "--data", path), "d.csv: permission denied")
    monkeypatch.undo()

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(pa, "input_stream", refuse)  # how the CSV reader opens the file
    fails(capsys, train(tmp_path, "--data", path), "d.csv: cannot read it: [Errno 13] Permission denied")


# Options


@pytest.mark.parametrize("option, value, needle", [
    ("--lr", "-0.1", "argument --lr: expected a positive number, got '-0.1'"),
    ("--lr", "0", "argument --lr"),
    ("--lr", "nan", "argument --lr: expected a finite number"),
    ("--epochs", "0", "argument --epochs: expected a positive integer, got '0'"),
    ("--epochs", "ten", "argument --epochs"),
    ("--hidden", "0", "argument --hidden: expected a positive integer, got '0'"),
    ("--batch-size", "-5", "argument --batch-size"),
    ("--test-size", "1", "argument --test-size: expected a fraction strictly between 0 and 1"),
    ("--test-size", "-0.2", "argument --test-size"),
    ("--seed", "-1", "argument --seed: expected a seed between 0 and"),
    ("--momentum", "-1", "argument --momentum"),
    ("--momentum", "1e10", "argument --momentum: expected a momentum from 0 up to (not including) 1, got '1e10'"),
    ("--momentum", "1", "argument --momentum"),
    ("--optimizer", "sgdx", "argument --optimizer: invalid choice"),
])
def test_nonsensical_options(tmp_path, capsys, option, value, needle):
    fails(capsys, ["train", option, value, "--out", tmp_path / "m.skops"], needle)


def test_a_validation_fraction_that_leaves_a_class_out_of_one_side(tmp_path, capsys):
    path = write(tmp_path / "d.csv", GOOD)  # 60 rows of 3 classes, 48 after the test split
    for value in ("0.999", "0.0001"):
        fails(capsys, train(tmp_path, "--data", path, "--validation-fraction", value),
              f"--validation-fraction {value[:5]}", "too few training rows (48) for a validation split with 3 "
              "classes: each side needs at least one row per class")
    assert not (tmp_path / "out.skops").exists()
    assert cli.main([str(a) for a in train(tmp_path, "--data", path, "--validation-fraction", "0.05")]) == 0


def test_empty_file_names_are_refused(tmp_path, capsys, model):
    path = write(tmp_path / "d.csv", GOOD)
    fails(capsys, train(tmp_path, "--data", ""), "--data: needs a file name")
    fails(capsys, train(tmp_path, "--data", path, "--test", ""), "--test: needs a file name")
    fails(capsys, train(tmp_path, "--target", ""), "--target applies to --data files only")
    fails(capsys, train(tmp_path, "--data", path, "--plot", ""), "--plot: needs a file name")
    fails(capsys, ["evaluate", "--model", model, "--data", path, "--plot", ""], "--plot: needs a file name")
    fails(capsys, ["evaluate", "--model", model, "--data", path, "--target", ""], "d.csv: no column ''")
    fails(capsys, ["evaluate", "--model", "", "--data", path], "--model: needs a file name")
    fails(capsys, ["predict", "--model", model, "--data", ""], "--data: needs a file name")
    fails(capsys, ["info", "--model", ""], "--model: needs a file name")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv"]


@pytest.mark.parametrize("values", [
    np.where(np.arange(60) % 4, 1.7e308, -1.7e308),   # x - mean overflows
    np.full(60, 1.5e307) + np.arange(60) * 1e300,     # their sum overflows
])
def test_columns_of_huge_values_that_cannot_be_standardized(tmp_path, capsys, values):
    X, labels = table()
    X[:, 1] = values
    low, high = f"{values.min():.3g}", f"{values.max():.3g}"
    path = write(tmp_path / "d.csv", csv_text(X, labels))
    line = fails(capsys, train(tmp_path, "--data", path), "d.csv: column 'b': the values (from ",
                 "are too large to standardize in float64; rescale the column")
    assert "Warning" not in line and capsys.readouterr() == ("", "")
    np.savez(tmp_path / "d.npz", X=X, y=labels)
    fails(capsys, train(tmp_path, "--data", tmp_path / "d.npz", "--test-size", "0.5"),
          f"d.npz: column 'x1': the values (from {low} to {high})")   # the train split holds both ends
    assert not (tmp_path / "out.skops").exists()


def test_unknown_command_and_missing_required_options(capsys):
    fails(capsys, ["fly"], "invalid choice: 'fly'")
    fails(capsys, ["predict", "--data", "x.csv"], "the following arguments are required: --model")
    fails(capsys, ["evaluate", "--model", "m.npz"], "the following arguments are required: --data")
    fails(capsys, ["info"], "--model")


# Outputs


def test_unwritable_outputs(tmp_path, capsys, model):
    path = write(tmp_path / "d.csv", GOOD)
    plain = write(tmp_path / "plain.txt", "a file")
    for out, needle in ((tmp_path / "no" / "m.skops", "the folder"), (tmp_path, "is a directory"),
                        (plain / "m.skops", "plain.txt is not a folder"), (path, "is the --data file")):
        fails(capsys, ["train", "--data", path, "--epochs", "2", "--quiet", "--out", out], f"--out {out}: ",
              needle)
    fails(capsys, train(tmp_path, "--data", path, "--plot", tmp_path / "no" / "c.png"), "--plot")
    fails(capsys, ["predict", "--model", model, "--data", path, "--out", plain / "p.csv"], "--out", "not a folder")
    fails(capsys, ["predict", "--model", model, "--data", path, "--out", model], "is the --model file")
    fails(capsys, ["evaluate", "--model", model, "--data", path, "--plot", tmp_path / "no" / "c.png"],
          "--plot", "does not exist")
    fails(capsys, ["evaluate", "--model", model, "--data", path, "--plot", tmp_path / "c.unknown"],
          "c.unknown: cannot tell the image format")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "plain.txt"]


def test_a_failed_run_leaves_an_existing_model_untouched(tmp_path, capsys, model, monkeypatch):
    out = tmp_path / "model.skops"
    out.write_bytes(model.read_bytes())
    before = out.read_bytes()
    bad = write(tmp_path / "bad.csv", GOOD + "1,2,3,cat\n")
    fails(capsys, ["train", "--data", bad, "--epochs", "2", "--quiet", "--out", out],
          "bad.csv, row 61: 4 fields, but the header names 5 columns")
    assert out.read_bytes() == before
    # a failure while the new model is being written: the rename never happens
    good = write(tmp_path / "good.csv", GOOD)

    def broken_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_disk)
    fails(capsys, ["train", "--data", good, "--epochs", "2", "--hidden", "4", "--quiet", "--out", out],
          f"cannot write the model to {out}: No space left on device")
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "good.csv", "model.skops"]


@pytest.mark.parametrize("cell, needle", [("x7", "'x7' is not a number (the column holds numbers in training)"),
                                          ("-inf", "an infinite value (-inf)")])
def test_a_failed_prediction_leaves_an_existing_output_untouched(tmp_path, capsys, model, monkeypatch, cell,
                                                                 needle):
    """A bad cell in a later block of rows: the blocks before it were scored, yet nothing is written."""
    X, labels = table(N=300, seed=1)
    path = write(tmp_path / "new.csv", with_cells({(250, 2): cell}, csv_text(X, labels)))
    out = write(tmp_path / "predictions.csv", "old predictions\n")
    monkeypatch.setattr(data, "BLOCK_BYTES", 512)
    monkeypatch.setattr(data, "iter_table", functools.partial(data.iter_table, block_rows=64))
    fails(capsys, ["predict", "--model", model, "--data", path, "--out", out],
          f"new.csv: column 'c', row 250: {needle}")
    assert out.read_text() == "old predictions\n"
    ragged = write(tmp_path / "new.csv", with_cells({(250, 2): "1,2"}, csv_text(X, labels)))
    fails(capsys, ["predict", "--model", model, "--data", ragged, "--out", out],
          "new.csv, row 250: 6 fields, but the header names 5 columns")
    assert out.read_text() == "old predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv", "predictions.csv"]


def test_a_write_error_during_prediction(tmp_path, capsys, model, monkeypatch):
    path = write(tmp_path / "new.csv", GOOD)
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(5, "Input/output error")))
    fails(capsys, ["predict", "--model", model, "--data", path, "--out", tmp_path / "p.csv"],
          "cannot write the predictions to", "Input/output error")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv"]


# Model files and the data given to predict and evaluate


def test_bad_model_files(tmp_path, capsys, model):
    data_path = write(tmp_path / "d.csv", GOOD)
    write(tmp_path / "text.npz", "not a model")
    raw = model.read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 3])
    for command in (["predict", "--data", data_path], ["evaluate", "--data", data_path], ["info"]):
        fails(capsys, [*command, "--model", tmp_path / "none.npz"], "none.npz")
        fails(capsys, [*command, "--model", tmp_path], str(tmp_path), "directory")
        fails(capsys, [*command, "--model", tmp_path / "text.npz"], "text.npz")
        fails(capsys, [*command, "--model", tmp_path / "cut.npz"], "cut.npz")


def test_evaluate_names_a_label_the_model_never_saw(tmp_path, capsys, model):
    X, labels = table(N=9)
    labels[6] = "gnu"
    path = write(tmp_path / "e.csv", csv_text(X, labels))
    fails(capsys, ["evaluate", "--model", model, "--data", path],
          "e.csv, column 'label': y holds labels ['gnu'] that are not among the classes ['cat', 'dog', 'emu']")


def test_predict_and_evaluate_need_the_models_feature_columns(tmp_path, capsys, model):
    X, labels = table(N=5)
    missing = write(tmp_path / "m.csv", csv_text(X[:, :3], labels, names=["a", "b", "d"]))
    for command in ("predict", "evaluate"):
        fails(capsys, [command, "--model", model, "--data", missing], "m.csv: no column 'c' (the model's features)")
    renamed = write(tmp_path / "r.csv", csv_text(X, labels, names=["a", "b", "C", "d"]))
    fails(capsys, ["predict", "--model", model, "--data", renamed], "r.csv: no column 'c'", "closest: 'C'")
    np.savez(tmp_path / "three.npz", X=X[:, :3])
    fails(capsys, ["predict", "--model", model, "--data", tmp_path / "three.npz"],
          "three.npz: no column 'a' (the model's features)")
    fails(capsys, ["evaluate", "--model", model, "--data", tmp_path / "three.npz"],
          "three.npz: no array y (the labels) in the NPZ file (arrays: 'X')")   # not the CSV's label column
    np.savez(tmp_path / "three.npz", X=X[:, :3], y=labels)
    fails(capsys, ["evaluate", "--model", model, "--data", tmp_path / "three.npz"],
          "three.npz: no column 'a' (the model's features)")
    fails(capsys, ["evaluate", "--model", model, "--data", tmp_path / "three.npz", "--target", "y"],
          "three.npz: --target names a column of a CSV or Parquet file; an NPZ file holds its labels in the array y")


def test_a_model_trained_on_npz_names_its_features_x0_x1(tmp_path, capsys):
    """Before 0.2 such a model matched columns by position; now by the names x0 .. x{D-1} it was given."""
    X, labels = table()
    np.savez(tmp_path / "d.npz", X=X, y=labels)
    model = tmp_path / "m.skops"
    assert cli.main(["train", "--data", str(tmp_path / "d.npz"), "--epochs", "2", "--hidden", "4", "--quiet",
                     "--out", str(model)]) == 0
    capsys.readouterr()
    wide = write(tmp_path / "w.csv", csv_text(np.column_stack([X, X]), labels, names=list("abcdefgh")))
    fails(capsys, ["predict", "--model", model, "--data", wide], "w.csv: no column 'x0' (the model's features)")
    fails(capsys, ["evaluate", "--model", model, "--data", wide], "w.csv: no column 'x0' (the model's features)")
    order = [3, 1, 0, 2]
    named = write(tmp_path / "n.csv", csv_text(X[:, order], labels, names=[f"x{j}" for j in order]))
    assert cli.main(["predict", "--model", str(model), "--data", str(named)]) == 0
    printed = capsys.readouterr().out.splitlines()
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(4)])
    assert printed == ["prediction", *load_model(model).predict(frame).tolist()]


def test_evaluate_with_an_empty_or_headless_file(tmp_path, capsys, model):
    fails(capsys, ["evaluate", "--model", model, "--data", write(tmp_path / "e.csv", "")],
          "e.csv: the file is empty")
    fails(capsys, ["predict", "--model", model, "--data", write(tmp_path / "h.csv", "a,b,c,d\n")],
          "h.csv: has a header row but no data rows")


# The installed script


def run_script(*argv):
    return subprocess.run([str(SCRIPT), *map(str, argv)], capture_output=True, text=True, timeout=120)


def test_the_installed_script_answers_bad_input_with_one_line(tmp_path):
    done = run_script("train", "--data", tmp_path / "missing.csv", "--out", tmp_path / "m.skops")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"error: {tmp_path / 'missing.csv'}: no such file\n"
    bad = write(tmp_path / "bad.csv", with_cells({(7, 1): "-inf"}))
    done = run_script("train", "--data", bad, "--quiet", "--out", tmp_path / "m.skops")
    assert done.returncode == 2 and not (tmp_path / "m.skops").exists()
    assert done.stderr == f"error: {bad}: column 'b', row 7: an infinite value (-inf)\n"


def test_the_installed_script_on_a_damaged_model_and_a_bad_option(tmp_path):
    write(tmp_path / "m.skops", "PK\x03\x04 not really a zip")
    done = run_script("info", "--model", tmp_path / "m.skops")
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith(f"error: {tmp_path / 'm.skops'}") and "Traceback" not in done.stderr
    done = run_script("train", "--epochs", "0")
    assert done.returncode == 2
    assert done.stderr == "error: residual-mlp train: argument --epochs: expected a positive integer, got '0'\n"
