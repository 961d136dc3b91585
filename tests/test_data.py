"""data.py: reading CSV, NPZ and Parquet tables in blocks, labels, the split and the scaling."""
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.model_selection import train_test_split

from residual_mlp import data
from residual_mlp.errors import InputError


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def random_table(N=40, D=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N, D)).round(4), rng.integers(0, 3, N)


def csv_text(X, labels, names=None, target="y"):
    names = names or [f"f{j}" for j in range(X.shape[1])]
    lines = [",".join([*names, target])]
    lines += [",".join([*(repr(v) for v in row), str(label)]) for row, label in zip(X.tolist(), labels)]
    return "\n".join(lines) + "\n"


# CSV


def test_csv_values_names_and_integer_labels(tmp_path):
    X, y = random_table()
    got, labels, names = data.load_table(write(tmp_path / "d.csv", csv_text(X, y)))
    np.testing.assert_array_equal(got, X)
    assert got.dtype == np.float64 and got.flags.c_contiguous
    assert labels.dtype.kind == "i"
    np.testing.assert_array_equal(labels, y)
    assert names == ["f0", "f1", "f2"]


def test_csv_labels_are_floats_when_some_are_not_integers_and_text_otherwise(tmp_path):
    _, labels, _ = data.load_table(write(tmp_path / "a.csv", "a,y\n1,1\n2,2.5\n3,1.0\n"))
    assert labels.dtype == np.float64 and labels.tolist() == [1.0, 2.5, 1.0]
    _, labels, _ = data.load_table(write(tmp_path / "b.csv", "a,y\n1,cat\n2, dog \n3,7\n"))
    assert labels.dtype.kind == "U" and labels.tolist() == ["cat", "dog", "7"]


def test_csv_target_column_in_the_middle_and_quoted_fields(tmp_path):
    text = ('"size, cm",label,"weight"\r\n'
            '1.5,"a, b",2\r\n'
            '\r\n'                           # a blank line is skipped
            '3,"say ""hi""\nthere",4\r\n'    # a quoted label with a quote and a line break
            '5,c,6')                         # no line break at the end
    X, labels, names = data.load_table(write(tmp_path / "q.csv", text), target="label")
    np.testing.assert_array_equal(X, [[1.5, 2], [3, 4], [5, 6]])
    assert labels.tolist() == ["a, b", 'say "hi"\nthere', "c"]
    assert names == ["size, cm", "weight"]


def test_csv_with_a_byte_order_mark_and_tab_separated(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffa,b,y\n1,2,x\n3,4,z\n".encode("utf-8"))
    X, labels, names = data.load_table(path)
    assert names == ["a", "b"] and X.tolist() == [[1, 2], [3, 4]]
    X, labels, names = data.load_table(write(tmp_path / "t.tsv", "a\tb\ty\n1\t2\tx\n3\t4\tz\n"))
    assert names == ["a", "b"] and labels.tolist() == ["x", "z"]


@pytest.mark.parametrize("block_bytes", [7, 64, 1000])
def test_csv_read_in_small_blocks_is_the_same_table(tmp_path, monkeypatch, block_bytes):
    X, y = random_table(N=120, D=4, seed=block_bytes)
    labels = np.array(["x", 'q"uo"te', "line\nbreak", "comma,"])[y % 4]
    quoted = ['"' + s.replace('"', '""') + '"' for s in labels]
    path = write(tmp_path / "d.csv", csv_text(X, quoted))
    monkeypatch.setattr(data, "BLOCK_BYTES", block_bytes)
    got, got_labels, _ = data.load_table(path)
    np.testing.assert_array_equal(got, X)
    np.testing.assert_array_equal(got_labels, labels)


def test_csv_errors_in_a_later_block_name_the_right_row_and_line(tmp_path, monkeypatch):
    X, y = random_table(N=60)
    lines = csv_text(X, y).splitlines()
    lines[37] = lines[37].replace(lines[37].split(",")[1], "oops", 1)   # data row 37, column f1
    path = write(tmp_path / "d.csv", "\n".join(lines) + "\n")
    monkeypatch.setattr(data, "BLOCK_BYTES", 100)
    with pytest.raises(InputError) as e:
        data.load_table(path)
    assert str(e.value) == f"{path}, row 37 (line 38), column 'f1': 'oops' is not a number"
    lines[37] = lines[37].replace("oops", "nan")
    write(path, "\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"row 37 \(line 38\), column 'f1': NaN"):
        data.load_table(path)


MEMORY_SCRIPT = """
import sys
import sklearn.model_selection
from residual_mlp import data

def status(key):  # this process's own figures: ru_maxrss would carry the parent's over fork and exec
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key)) * 1024

data.BLOCK_BYTES = 1 << 18
before = status("VmRSS")
X, labels, _ = data.load_table(sys.argv[1])
classes, y = data.encode_labels(labels)
X, X_test, y, y_test = data.split(X, y, 0.2, 0, overwrite=True)
mean, scale = data.standardization(X)
data.standardize(X, mean, scale)
data.standardize(X_test, mean, scale)
print(status("VmHWM") - before)
"""


def test_the_train_data_path_peaks_near_the_size_of_the_matrix(tmp_path):
    """Read, split and scale a CSV as `train` does: the peak resident memory they add stays well
    below two feature matrices (blocks go straight into one array, the split and scaling work in
    place). A fresh process, so that nothing else has raised its high-water mark."""
    X, y = random_table(N=25_000, D=64)
    path = write(tmp_path / "big.csv", csv_text(X, y))
    done = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    ratio = int(done.stdout) / X.nbytes
    assert ratio < 1.7, ratio


# NPZ and Parquet


def test_npz_in_blocks_with_any_numeric_dtype_and_layout(tmp_path, monkeypatch):
    X, y = random_table(N=50, D=3)
    monkeypatch.setattr(data, "BLOCK_BYTES", 40)   # two rows of float64 per block
    for name, stored in (("c", X), ("f", np.asfortranarray(X)), ("i", (X * 100).astype(np.int16))):
        path = tmp_path / f"{name}.npz"
        np.savez_compressed(path, X=stored, y=y[:, None])
        got, labels, names = data.load_table(path)
        np.testing.assert_array_equal(got, stored.astype(np.float64))
        np.testing.assert_array_equal(labels, y)
        assert names is None


def test_parquet_in_batches_with_text_and_dictionary_columns(tmp_path, monkeypatch):
    X, y = random_table(N=30)
    species = np.array(["setosa", "versicolor", "virginica"])[y]
    table = pa.table({"f0": X[:, 0], "f1": pa.array([repr(v) for v in X[:, 1].tolist()]),
                      "f2": (X[:, 2] * 10).round().astype(np.int32),
                      "species": pa.array(species).dictionary_encode()})
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=7)
    monkeypatch.setattr(data, "BLOCK_ROWS", 4)
    got, labels, names = data.load_table(tmp_path / "d.parquet")
    np.testing.assert_array_equal(got, np.column_stack([X[:, 0], X[:, 1], (X[:, 2] * 10).round()]))
    np.testing.assert_array_equal(labels, species)
    assert names == ["f0", "f1", "f2"]


def test_parquet_problems_name_row_and_column(tmp_path):
    pq.write_table(pa.table({"a": [1.0, None, 3.0], "y": [0, 1, 0]}), tmp_path / "null.parquet")
    with pytest.raises(InputError, match=r"null.parquet, row 2, column 'a': a missing value"):
        data.load_table(tmp_path / "null.parquet")
    pq.write_table(pa.table({"a": ["1", "2", "x"], "y": [0, 1, 0]}), tmp_path / "text.parquet")
    with pytest.raises(InputError, match=r"text.parquet, row 3, column 'a': 'x' is not a number"):
        data.load_table(tmp_path / "text.parquet")


def test_parquet_without_pyarrow_says_how_to_install_it(tmp_path, monkeypatch):
    pq.write_table(pa.table({"a": [1.0, 2.0], "y": [0, 1]}), tmp_path / "d.parquet")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(InputError, match=r"d.parquet: reading Parquet files needs pyarrow: pip install "
                                         r"'residual_mlp\[parquet\]'"):
        data.load_table(tmp_path / "d.parquet")


# Choosing columns for a model


def test_columns_are_matched_by_name_and_the_label_column_is_skipped(tmp_path):
    path = write(tmp_path / "d.csv", "c,label,a,b\n3,x,1,2\n6,y,4,5\n")
    with data.open_table(path, features=["a", "b", "c"], n_features=3, labels=False) as table:
        blocks = list(table.blocks())
    assert table.names == ["a", "b", "c"] and table.target is None
    assert len(blocks) == 1 and blocks[0][2] is None
    np.testing.assert_array_equal(blocks[0][1], [[1, 2, 3], [4, 5, 6]])
    with data.open_table(path, features=["a", "b", "c"], n_features=3) as table:
        (_, X, labels), = table.blocks()
    assert table.target == "label" and labels.tolist() == ["x", "y"]


@pytest.mark.parametrize("header, features, labels, message", [
    ("a,b,y", ["a", "b", "c"], False, "no column 'c': the model was trained on the features 'a', 'b', 'c'"),
    ("a,b,y,z", ["a", "b"], False, "unexpected column 'y', 'z'"),
    ("a,b,y,z", ["a", "b"], True, "several columns besides the model's features ('y', 'z')"),
    ("a,b", ["a", "b"], True, "no label column besides the model's features"),
    ("a,a,y", None, True, "the column name 'a' appears twice"),
])
def test_columns_that_do_not_fit_the_model(tmp_path, header, features, labels, message):
    path = write(tmp_path / "d.csv", header + "\n" + ",".join("1" * len(header.split(","))) + "\n")
    with pytest.raises(InputError) as e:
        data.open_table(path, features=features, n_features=features and len(features), labels=labels)
    assert message in str(e.value) and str(path) in str(e.value)


def test_unnamed_models_count_columns(tmp_path):
    path = write(tmp_path / "d.csv", "a,b,c\n1,2,3\n")
    with data.open_table(path, n_features=2, labels=False) as table:  # D + 1 columns: the last is a label
        (_, X, _), = table.blocks()
    np.testing.assert_array_equal(X, [[1, 2]])
    with pytest.raises(InputError, match=r"3 columns .* but the model was trained on 4 features"):
        data.open_table(path, n_features=4, labels=False)


# Labels, split, scaling


def test_encode_with_compares_numbers_as_numbers_and_names_an_unseen_label():
    np.testing.assert_array_equal(data.encode_with(np.array([1, 3, 7]), np.array(["3", "7.0", "1"]), str),
                                  [1, 2, 0])
    np.testing.assert_array_equal(data.encode_with(np.array(["1", "a"]), np.array([1, 1]), str), [0, 0])
    with pytest.raises(InputError, match=r"^where 1: label 'b' is not one of the classes the model was "
                                         r"trained on \('a', 'c'\)$"):
        data.encode_with(np.array(["a", "c"]), np.array(["a", "b"]), lambda i: f"where {i}")
    with pytest.raises(InputError, match="label 'x'"):
        data.encode_with(np.array([0, 1]), np.array(["1", "x"]), str)


def test_encode_labels_needs_two_classes():
    classes, y = data.encode_labels(np.array(["b", "a", "b"]))
    assert classes.tolist() == ["a", "b"] and y.tolist() == [1, 0, 1]
    with pytest.raises(InputError, match="single class"):
        data.encode_labels(np.array([4, 4]))


def test_split_takes_scikit_learns_stratified_rows_in_file_order():
    X, _ = random_table(N=50, D=2, seed=3)
    y = np.arange(50) % 3
    X_train, X_test, y_train, y_test = data.split(X, y, 0.3, 5)
    _, reference_test = train_test_split(np.arange(50), test_size=0.3, random_state=5, stratify=y)
    test = np.sort(reference_test)
    train = np.setdiff1d(np.arange(50), test)
    np.testing.assert_array_equal(X_test, X[test])
    np.testing.assert_array_equal(X_train, X[train])
    np.testing.assert_array_equal(y_train, y[train])
    np.testing.assert_array_equal(y_test, y[test])
    # in place: the same four arrays, and X's memory now holds the training rows
    X_copy = X.copy()
    parts = data.split(X_copy, y, 0.3, 5, overwrite=True)
    for got, want in zip(parts, (X[train], X[test], y[train], y[test])):
        np.testing.assert_array_equal(got, want)
    assert parts[0] is X_copy


def test_split_refuses_too_few_rows():
    with pytest.raises(InputError, match=r"too few rows \(4\) for a test split of 0.2 with 2 classes"):
        data.split(np.zeros((4, 2)), np.array([0, 1, 0, 1]), 0.2, 0)


def test_standardization_matches_numpy_and_maps_constant_columns_to_zero(monkeypatch):
    monkeypatch.setattr(data, "BLOCK_ROWS", 7)   # several blocks
    rng = np.random.default_rng(2)
    X = np.column_stack([rng.normal(5, 3, 50), np.full(50, 0.1), rng.integers(0, 4, 50)])
    mean, scale = data.standardization(X)
    np.testing.assert_allclose(mean[[0, 2]], X[:, [0, 2]].mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(scale[[0, 2]], X[:, [0, 2]].std(axis=0), rtol=1e-13)
    assert mean[1] == 0.1 and scale[1] == 1.0
    Z = data.standardize(X.copy(), mean, scale)
    assert np.all(Z[:, 1] == 0.0)
    np.testing.assert_allclose(Z[:, [0, 2]].mean(axis=0), 0, atol=1e-14)
    np.testing.assert_allclose(Z[:, [0, 2]].std(axis=0), 1, rtol=1e-13)


def test_standardization_of_columns_near_the_ends_of_the_float64_range():
    rng = np.random.default_rng(5)
    units = np.array([1e200, 1e307, 1e-300, 1.0])
    Z = rng.normal(size=(40, 4)) + np.array([3.0, -1.0, 0.5, 2.0])
    X = Z * units  # sums of x and of x**2 overflow (1e200, 1e307) or underflow (1e-300)
    mean, scale = data.standardization(X)
    # the reference: numpy's moments of each column brought near 1 first, then scaled back
    np.testing.assert_allclose(mean, (X / units).mean(axis=0) * units, rtol=1e-13)
    np.testing.assert_allclose(scale, (X / units).std(axis=0) * units, rtol=1e-13)
    S = data.standardize(X.copy(), mean, scale)
    np.testing.assert_allclose(S, (Z - Z.mean(axis=0)) / Z.std(axis=0), rtol=1e-12, atol=1e-12)
    # values up to the largest float64
    top = np.array([[np.finfo(float).max], [np.finfo(float).max / 2], [0.0]])
    mean, scale = data.standardization(top)
    assert np.isfinite(mean).all() and np.isfinite(scale).all()
    np.testing.assert_allclose(data.standardize(top.copy(), mean, scale)[:, 0], [1.22474487, 0.0, -1.22474487],
                               rtol=1e-8)


def test_standardization_names_a_column_that_cannot_be_standardized():
    X = np.array([[1.7e308, 0.0], [1.7e308, 1.0], [-1.7e308, 2.0]])  # x - mean overflows in column a
    with pytest.raises(InputError, match=r"^f.csv, column 'a': the values \(from -1.7e\+308 to 1.7e\+308\) "
                                         r"are too far apart to standardize"):
        data.standardization(X, lambda j: f"f.csv, column {'ab'[j]!r}")
    with pytest.raises(InputError, match=r"^column 0: "):
        data.standardization(X)


def test_encode_with_compares_large_integers_exactly():
    classes = np.array([10**17, 10**17 + 1])  # one apart, the same number in float64
    np.testing.assert_array_equal(data.encode_with(classes, np.array([10**17 + 1, 10**17, 10**17 + 1]), str),
                                  [1, 0, 1])
    np.testing.assert_array_equal(data.encode_with(classes, np.array(["100000000000000001", "100000000000000000"]),
                                                   str), [1, 0])
    with pytest.raises(InputError, match="where 0: label 100000000000000002 is not one of the classes"):
        data.encode_with(classes, np.array([10**17 + 2]), lambda i: f"where {i}")
    # integers and floats still meet as numbers
    np.testing.assert_array_equal(data.encode_with(np.array([1, 3]), np.array([3.0, 1.0]), str), [1, 0])
    np.testing.assert_array_equal(data.encode_with(np.array([1.5, 3.0]), np.array([3, "1.5"]), str), [1, 0])


def test_class_index_is_exact_for_any_sortable_classes():
    index, unseen = data.class_index(np.array(["a", "c"], dtype=object), np.array(["c", "b", "a"], dtype=object))
    assert unseen.tolist() == [False, True, False] and index[[0, 2]].tolist() == [1, 0]
    index, unseen = data.class_index(np.array([10**17, 10**17 + 1]), np.array([10**17 + 1]))
    assert index.tolist() == [1] and not unseen.any()


def test_a_label_that_is_no_finite_number_is_named_by_its_place(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((20, 2)), y=np.array(["1"] * 18 + ["inf", "2"]))
    with pytest.raises(InputError, match=r"^.*d.npz: y\[18\]: the label 'inf' is not a finite number$"):
        data.load_table(tmp_path / "d.npz")
    path = write(tmp_path / "d.csv", "a,y\n1,2\n3,-inf\n")
    with pytest.raises(InputError, match=r"d.csv, row 2, column 'y': the label '-inf' is not a finite number$"):
        data.load_table(path)
    assert data.label_place(tmp_path / "d.npz", 19) == f"{tmp_path / 'd.npz'}: y[18]"
    assert data.label_place(path, 2) == f"{path}, row 2, column 'y'"
    assert data.label_place(path, 2, target="a") == f"{path}, row 2, column 'a'"


def test_short_reason_is_the_first_line_of_a_message():
    from residual_mlp.errors import short_reason

    assert short_reason(ValueError("first line\nsecond line")) == "first line"
    assert short_reason(OSError()) == "OSError"
    assert short_reason(ValueError("x" * 500)) == "x" * 160
