"""data.py: labels, the split and the scaling (reading tables: test_reader.py)."""

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from residual_mlp import data
from residual_mlp.errors import InputError


def random_table(N=40, D=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N, D)).round(4), rng.integers(0, 3, N)


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
    monkeypatch.setattr(data, "BLOCK_BYTES", 7 * 3 * 8)   # blocks of 7 rows
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


def test_short_reason_is_the_first_line_of_a_message():
    from residual_mlp.errors import short_reason

    assert short_reason(ValueError("first line\nsecond line")) == "first line"
    assert short_reason(OSError()) == "OSError"
    assert short_reason(ValueError("x" * 500)) == "x" * 160
