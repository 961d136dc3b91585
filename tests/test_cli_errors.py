"""Every bad input ends with one line `error: ...` on stderr, naming what and where, and exit status 2.

The command line runs in-process through `cli.main` (fast); a few runs go through the installed
`residual-mlp` script. Tests run as root, so unwritable places are a missing folder or a path below a
regular file, and unreadable files are simulated.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from residual_mlp import cli, data

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
    path = folder / "model.npz"
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
    return ["train", "--epochs", "2", "--hidden", "4", "--quiet", "--out", tmp_path / "out.npz", *more]


# The training data


BAD_CSV = {
    "empty file": ("", ["bad.csv: the file is empty"]),
    "header only": ("a,b,label\n", ["bad.csv: has a header row but no data rows"]),
    "blank header": ("\n1,2,x\n", ["bad.csv, line 1: the header row is empty"]),
    "ragged row, short": ("a,b,label\n1,2,x\n3,y\n", ["row 2 (line 3)", "2 fields, but the header names 3"]),
    "ragged row, long": ("a,b,label\n1,2,x\n3,4,5,y\n", ["row 2 (line 3)", "4 fields"]),
    "non-numeric value": ("a,b,label\n1,2,x\n3,4,y\n5,abc,x\n", ["bad.csv, row 3 (line 4), column 'b'",
                                                                "'abc' is not a number"]),
    "empty cell": ("a,b,label\n1,,x\n", ["row 1 (line 2), column 'b'", "empty"]),
    "NaN": ("a,b,label\n1,2,x\nnan,4,y\n", ["row 2 (line 3), column 'a'", "NaN"]),
    "infinity": ("a,b,label\n1,2,x\n3,-inf,y\n", ["row 2 (line 3), column 'b'", "infinite"]),
    "empty label": ("a,b,label\n1,2,x\n3,4,\n", ["row 2 (line 3), column 'label'", "the label is empty"]),
    "single class": ("a,b,label\n1,2,x\n3,4,x\n5,6,x\n", ["single class ('x')"]),
    "too few rows for the split": ("a,label\n1,x\n2,y\n3,x\n4,y\n", ["too few rows (4) for a test split of 0.2"]),
    "no feature column": ("label\nx\ny\n", ["no feature columns"]),
    "duplicate column names": ("a,a,label\n1,2,x\n", ["the column name 'a' appears twice"]),
    "NUL byte": ("a,b,label\n1,2,x\n3\x00,4,y\n", ["bad.csv, line 3: a NUL byte"]),
}


@pytest.mark.parametrize("case", BAD_CSV)
def test_bad_csv_files(tmp_path, capsys, case):
    text, needles = BAD_CSV[case]
    path = write(tmp_path / "bad.csv", text)
    fails(capsys, train(tmp_path, "--data", path), *needles)
    assert not (tmp_path / "out.npz").exists()


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
          "d.csv: no column named 'species'", "'a', 'b', 'c', 'd', 'label'")
    np.savez(tmp_path / "d.npz", X=np.zeros((6, 2)), y=np.arange(6) % 2)
    fails(capsys, train(tmp_path, "--data", tmp_path / "d.npz", "--target", "y"), "d.npz", "NPZ", "array y")
    fails(capsys, train(tmp_path, "--target", "y"), "--target applies to --data files only")


def test_bad_npz_files(tmp_path, capsys):
    cases = {
        "no_y": ({"X": np.zeros((4, 2))}, "no array y"),
        "no_x": ({"features": np.zeros((4, 2))}, "no array X in the NPZ file (arrays: 'features')"),
        "flat": ({"X": np.zeros(4), "y": np.arange(4)}, "X has shape (4,); it must be 2-D"),
        "text": ({"X": np.array([["a"]]), "y": np.arange(1)}, "features must be numbers"),
        "short_y": ({"X": np.zeros((4, 2)), "y": np.arange(3)}, "y has shape (3,), but X has 4 rows"),
        "objects": ({"X": np.zeros((2, 2)), "y": np.array([{}, {}], dtype=object)}, "y holds Python objects"),
        "nan": ({"X": np.array([[0.0, 1], [2, np.nan]]), "y": np.arange(2)}, "X[1, 1]: NaN"),
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


def test_bad_parquet_files(tmp_path, capsys, monkeypatch):
    write(tmp_path / "fake.parquet", GOOD)
    fails(capsys, train(tmp_path, "--data", tmp_path / "fake.parquet"), "fake.parquet: not a Parquet file")
    pq.write_table(pa.table({"a": [1.0, 2.0, None], "label": ["x", "y", "x"]}), tmp_path / "null.parquet")
    fails(capsys, train(tmp_path, "--data", tmp_path / "null.parquet"), "null.parquet, row 3, column 'a'")
    pq.write_table(pa.table({"a": [[1.0], [2.0]], "label": ["x", "y"]}), tmp_path / "list.parquet")
    fails(capsys, train(tmp_path, "--data", tmp_path / "list.parquet"), "column 'a'", "features must be numbers")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    fails(capsys, train(tmp_path, "--data", tmp_path / "null.parquet"), "needs pyarrow",
          "pip install 'residual_mlp[parquet]'")


def test_held_out_file_that_does_not_fit(tmp_path, capsys):
    X, labels = table()
    path = write(tmp_path / "d.csv", csv_text(X, labels))
    other = write(tmp_path / "t.csv", csv_text(X[:, :3], labels, names=["a", "b", "c"]))
    fails(capsys, train(tmp_path, "--data", path, "--test", other), "t.csv: the feature columns (a, b, c) differ")
    unseen = labels.copy()
    unseen[4] = "yak"
    fails(capsys, train(tmp_path, "--data", path, "--test", write(tmp_path / "u.csv", csv_text(X, unseen))),
          "u.csv, row 5, column 'label': label 'yak' is not one of the classes")
    kind = write(tmp_path / "k.csv", csv_text(X, labels, target="kind"))
    fails(capsys, train(tmp_path, "--data", kind, "--target", "kind", "--test",
                        write(tmp_path / "v.csv", csv_text(X, unseen, target="kind"))),
          "v.csv, row 5, column 'kind': label 'yak'")
    np.savez(tmp_path / "d.npz", X=X, y=labels)
    np.savez(tmp_path / "u.npz", X=X, y=unseen)
    fails(capsys, train(tmp_path, "--data", tmp_path / "d.npz", "--test", tmp_path / "u.npz"),
          "u.npz: y[4]: label 'yak' is not one of the classes")


def test_unreadable_files(tmp_path, capsys, monkeypatch):
    path = write(tmp_path / "d.csv", GOOD)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if mode == os.R_OK else real_access(p, mode))
    fails(capsys, train(tmp_path, "--data", path), "d.csv: permission denied")
    monkeypatch.undo()

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(data, "open", refuse, raising=False)  # data.py's own open()
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
    fails(capsys, ["train", option, value, "--out", tmp_path / "m.npz"], needle)


def test_a_validation_fraction_that_leaves_a_class_out_of_one_side(tmp_path, capsys):
    path = write(tmp_path / "d.csv", GOOD)  # 60 rows of 3 classes, 48 after the test split
    for value in ("0.999", "0.0001"):
        fails(capsys, train(tmp_path, "--data", path, "--validation-fraction", value),
              f"--validation-fraction {value[:5]}", "too few training rows (48) for a validation split with 3 "
              "classes: each side needs at least one row per class")
    assert not (tmp_path / "out.npz").exists()
    assert cli.main([str(a) for a in train(tmp_path, "--data", path, "--validation-fraction", "0.05")]) == 0


def test_empty_file_names_are_refused(tmp_path, capsys, model):
    path = write(tmp_path / "d.csv", GOOD)
    fails(capsys, train(tmp_path, "--data", ""), "--data: needs a file name")
    fails(capsys, train(tmp_path, "--data", path, "--test", ""), "--test: needs a file name")
    fails(capsys, train(tmp_path, "--target", ""), "--target applies to --data files only")
    fails(capsys, train(tmp_path, "--data", path, "--plot", ""), "--plot: needs a file name")
    fails(capsys, ["evaluate", "--model", model, "--data", path, "--plot", ""], "--plot: needs a file name")
    fails(capsys, ["evaluate", "--model", model, "--data", path, "--target", ""], "no column named ''")
    fails(capsys, ["evaluate", "--model", "", "--data", path], "--model: needs a file name")
    fails(capsys, ["predict", "--model", model, "--data", ""], "--data: needs a file name")
    fails(capsys, ["info", "--model", ""], "--model: needs a file name")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv"]


def test_columns_of_huge_values_that_cannot_be_standardized(tmp_path, capsys):
    X, labels = table()
    X[:, 1] = np.where(np.arange(len(X)) % 4, 1.7e308, -1.7e308)  # x - mean would overflow
    path = write(tmp_path / "d.csv", csv_text(X, labels))
    fails(capsys, train(tmp_path, "--data", path), "d.csv, column 'b': the values (from -1.7e+308 to 1.7e+308) are "
          "too far apart to standardize")
    np.savez(tmp_path / "d.npz", X=X, y=labels)
    fails(capsys, train(tmp_path, "--data", tmp_path / "d.npz"), "d.npz: X[:, 1]: the values")
    assert not (tmp_path / "out.npz").exists()


def test_a_model_that_could_not_be_loaded_back_is_not_saved(tmp_path, capsys, monkeypatch):
    path = write(tmp_path / "d.csv", GOOD)
    # a scaling that modelfile.load would refuse, left out of the features so that training runs
    monkeypatch.setattr(data, "standardization", lambda X, locate=None: (np.full(X.shape[1], np.nan),
                                                                          np.ones(X.shape[1])))
    monkeypatch.setattr(data, "standardize", lambda X, mean, scale: X)
    fails(capsys, train(tmp_path, "--data", path), f"cannot write the model to {tmp_path / 'out.npz'}: ",
          "the feature scaling 'mean' should be 4 finite numbers")
    assert not (tmp_path / "out.npz").exists()


def test_unknown_command_and_missing_required_options(capsys):
    fails(capsys, ["fly"], "invalid choice: 'fly'")
    fails(capsys, ["predict", "--data", "x.csv"], "the following arguments are required: --model")
    fails(capsys, ["evaluate", "--model", "m.npz"], "the following arguments are required: --data")
    fails(capsys, ["info"], "--model")


# Outputs


def test_unwritable_outputs(tmp_path, capsys, model):
    path = write(tmp_path / "d.csv", GOOD)
    plain = write(tmp_path / "plain.txt", "a file")
    for out, needle in ((tmp_path / "no" / "m.npz", "the folder"), (tmp_path, "is a directory"),
                        (plain / "m.npz", "plain.txt is a file, not a folder"), (path, "is the --data file")):
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
    out = tmp_path / "model.npz"
    out.write_bytes(model.read_bytes())
    before = out.read_bytes()
    bad = write(tmp_path / "bad.csv", GOOD + "nan,1,2,3,cat\n")
    fails(capsys, ["train", "--data", bad, "--epochs", "2", "--quiet", "--out", out], "bad.csv", "NaN")
    assert out.read_bytes() == before
    # a failure while the new model is being written: the rename never happens
    good = write(tmp_path / "good.csv", GOOD)

    def broken_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_disk)
    fails(capsys, ["train", "--data", good, "--epochs", "2", "--hidden", "4", "--quiet", "--out", out],
          f"cannot write the model to {out}: No space left on device")
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "good.csv", "model.npz"]


def test_a_failed_prediction_leaves_an_existing_output_untouched(tmp_path, capsys, model, monkeypatch):
    X, labels = table(N=300, seed=1)
    text = csv_text(X, labels).splitlines()
    text[250] = text[250].replace(text[250].split(",")[2], "x7", 1)   # row 250, column 'c', a later block
    path = write(tmp_path / "new.csv", "\n".join(text) + "\n")
    out = write(tmp_path / "predictions.csv", "old predictions\n")
    monkeypatch.setattr(data, "BLOCK_BYTES", 512)
    fails(capsys, ["predict", "--model", model, "--data", path, "--out", out],
          "new.csv, row 250 (line 251), column 'c': 'x7' is not a number")
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
          "e.csv, row 7, column 'label': label 'gnu' is not one of the classes the model was trained on "
          "('cat', 'dog', 'emu')")


def test_predict_and_evaluate_need_the_models_feature_columns(tmp_path, capsys, model):
    X, labels = table(N=5)
    missing = write(tmp_path / "m.csv", csv_text(X[:, :3], labels, names=["a", "b", "d"]))
    for command in ("predict", "evaluate"):
        fails(capsys, [command, "--model", model, "--data", missing],
              "m.csv: no column 'c': the model was trained on the features 'a', 'b', 'c', 'd'")
    extra = write(tmp_path / "x.csv", csv_text(np.column_stack([X, X[:, :1]]), labels, names=[*FEATURES, "e"]))
    fails(capsys, ["predict", "--model", model, "--data", extra], "x.csv: unexpected column 'e', 'label'")
    fails(capsys, ["evaluate", "--model", model, "--data", extra], "several columns besides the model's features")
    np.savez(tmp_path / "three.npz", X=X[:, :3])
    fails(capsys, ["predict", "--model", model, "--data", tmp_path / "three.npz"],
          "three.npz: X has 3 feature columns, but the model was trained on 4")
    fails(capsys, ["evaluate", "--model", model, "--data", tmp_path / "three.npz"], "three.npz")
    fails(capsys, ["evaluate", "--model", model, "--data", tmp_path / "three.npz", "--target", "y"],
          "--target y: ", "is an NPZ file, whose labels are the array y")


def test_a_model_without_feature_names_counts_columns(tmp_path, capsys):
    X, labels = table()
    np.savez(tmp_path / "d.npz", X=X, y=labels)
    model = tmp_path / "m.npz"
    assert cli.main(["train", "--data", str(tmp_path / "d.npz"), "--epochs", "2", "--hidden", "4", "--quiet",
                     "--out", str(model)]) == 0
    capsys.readouterr()
    wide = write(tmp_path / "w.csv", csv_text(np.column_stack([X, X]), labels, names=list("abcdefgh")))
    fails(capsys, ["predict", "--model", model, "--data", wide],
          "w.csv: 9 columns ('a', 'b', 'c', 'd', 'e', ... (9 in all)), but the model was trained on 4 features")
    fails(capsys, ["evaluate", "--model", model, "--data", wide],
          "w.csv: 8 feature columns besides the label column 'label' ('a', 'b', 'c', 'd', 'e', ... (8 in all)), "
          "but the model was trained on 4")


def test_evaluate_with_an_empty_or_headless_file(tmp_path, capsys, model):
    fails(capsys, ["evaluate", "--model", model, "--data", write(tmp_path / "e.csv", "")],
          "e.csv: the file is empty")
    fails(capsys, ["predict", "--model", model, "--data", write(tmp_path / "h.csv", "a,b,c,d\n")],
          "h.csv: has a header row but no data rows")


# The installed script


def run_script(*argv):
    return subprocess.run([str(SCRIPT), *map(str, argv)], capture_output=True, text=True, timeout=120)


def test_the_installed_script_answers_bad_input_with_one_line(tmp_path):
    done = run_script("train", "--data", tmp_path / "missing.csv", "--out", tmp_path / "m.npz")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"error: {tmp_path / 'missing.csv'}: no such file\n"
    bad = write(tmp_path / "bad.csv", "a,b,label\n1,2,x\n3,oops,y\n")
    done = run_script("train", "--data", bad, "--quiet", "--out", tmp_path / "m.npz")
    assert done.returncode == 2
    assert done.stderr == f"error: {bad}, row 2 (line 3), column 'b': 'oops' is not a number\n"


def test_the_installed_script_on_a_damaged_model_and_a_bad_option(tmp_path):
    write(tmp_path / "m.npz", "PK\x03\x04 not really a zip")
    done = run_script("info", "--model", tmp_path / "m.npz")
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith(f"error: {tmp_path / 'm.npz'}") and "Traceback" not in done.stderr
    done = run_script("train", "--epochs", "0")
    assert done.returncode == 2
    assert done.stderr == "error: residual-mlp train: argument --epochs: expected a positive integer, got '0'\n"
