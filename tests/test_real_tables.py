"""Real tables, exported as a new user exports them (`DataFrame.to_csv`), train through the command line.

Each set ships inside an installed package (benchmarks/realdata.py). For each: `residual-mlp train` with
default options apart from `--target` succeeds, uses no identifier column, and its predictions on the
held-out rows equal those of a pipeline this test assembles itself from scikit-learn parts
(ColumnTransformer, SimpleImputer, StandardScaler, OneHotEncoder) and ResidualMLPClassifier -- not
through the project's own `make_pipeline`.
"""
import csv
import re

import numpy as np
import pandas as pd
import pytest
import realdata
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from residual_mlp import ResidualMLPClassifier, cli, load_model

SETS = ["penguins", "mtcars", "chickwts", "iris", "fgl", "credit", "cars", "biopsy", "pima", "olive",
        "titanic", "seattle_weather"]
INDEX_NAME = re.compile(r"^(|Unnamed: \d+|rownames|__index_level_\d+__)$")
ISO_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")


def identifier_name(name):
    return name.lower() in ("id", "index", "row", "row_id") or name.lower().endswith("_id") or name.endswith("Id")


def roles_by_hand(frame):
    """(numeric, boolean, categorical, dates, dropped) column lists, decided by this test's own reading."""
    numeric, boolean, categorical, dates, dropped = [], [], [], [], []
    n = len(frame)
    for name in frame.columns:
        column = frame[name]
        values = column.dropna()
        if INDEX_NAME.match(name) or len(values) == 0:
            dropped.append(name)
        elif column.dtype == bool:
            boolean.append(name)
        elif column.dtype.kind in "iu" and (np.diff(column) > 0).all() and (
                (column.iloc[0] in (0, 1) and column.iloc[-1] <= 1.5 * n) or identifier_name(name)):
            dropped.append(name)  # rises down the rows, from 0 or 1 within 1.5 N or under an id's name: row numbers
        elif column.dtype.kind in "iuf":
            numeric.append(name)
        elif values.astype(str).str.lower().isin(["true", "false"]).all():
            boolean.append(name)
        elif values.astype(str).str.match(ISO_DATE).all():
            dates.append(name)
            numeric += [f"{name}_{part}" for part in ("year", "month", "day", "day_of_week")]
        elif (distinct := values.astype(str).nunique()) == n or (len(values) > 50 and distinct > 0.9 * len(values)):
            dropped.append(name)  # a distinct text on every row, or near-unique text
        else:
            categorical.append(name)
    return numeric, boolean, categorical, dates, dropped


def prepared(frame, boolean, dates):
    """Dates as numeric parts, booleans as 0/1: what the encoders read."""
    frame = frame.copy()
    for name in dates:
        when = pd.to_datetime(frame.pop(name), format="ISO8601")
        for part in ("year", "month", "day", "day_of_week"):
            frame[f"{name}_{part}"] = getattr(when.dt, part).astype(float)
    for name in boolean:
        frame[name] = frame[name].map(lambda v: {"true": 1.0, "false": 0.0}.get(str(v).lower(), np.nan))
    return frame


def pipeline_by_hand(numeric, boolean, categorical):
    parts = []
    if numeric:
        parts.append(("numeric", Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True,
                                                                     keep_empty_features=True)),
                                           ("scale", StandardScaler())]), numeric))
    if boolean:
        parts.append(("boolean", SimpleImputer(strategy="mean", add_indicator=True, keep_empty_features=True),
                      boolean))
    if categorical:
        parts.append(("categorical", Pipeline([
            ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
            ("onehot", OneHotEncoder(handle_unknown="infrequent_if_exist", sparse_output=False,
                                     max_categories=30))]), categorical))
    return Pipeline([("columns", ColumnTransformer(parts, sparse_threshold=0)),
                     ("classifier", ResidualMLPClassifier(random_state=0))])


@pytest.mark.parametrize("name", SETS)
def test_a_raw_export_trains_as_is_and_equals_a_pipeline_built_by_hand(tmp_path, capsys, name):
    path = realdata.export_csv(name, tmp_path)
    _, target = realdata.load(name)
    model = tmp_path / "model.skops"
    status = cli.main(["train", "--data", str(path), "--target", target, "--out", str(model), "--quiet"])
    out, err = capsys.readouterr()
    assert status == 0, err

    # The user's table as pandas reads it: labels as their text (pandas 3 reads numbers correctly rounded)
    frame = pd.read_csv(path, dtype={target: str}, keep_default_na=True)
    frame = frame[frame[target].notna()].reset_index(drop=True)
    labels = frame.pop(target).to_numpy(dtype=object)
    numeric, boolean, categorical, dates, dropped = roles_by_hand(frame)
    assert "Unnamed: 0" in dropped  # pandas' exported index is never a feature
    pipe = load_model(model)
    used = set(pipe[0].input_columns_)
    assert not used & set(dropped), used & set(dropped)
    assert used == set(frame.columns) - set(dropped)

    # The command line's split, then the hand-built pipeline on the same rows
    train, test = train_test_split(np.arange(len(labels)), test_size=0.2, random_state=0, stratify=labels)
    train.sort(), test.sort()
    table = prepared(frame, boolean, dates)
    by_hand = pipeline_by_hand(numeric, boolean, categorical).fit(table.iloc[train], labels[train])

    test_csv = tmp_path / "test_rows.csv"
    pd.read_csv(path, dtype=str, keep_default_na=False).loc[lambda f: f[target].ne("")].reset_index(drop=True) \
        .iloc[test].to_csv(test_csv, index=False)
    predictions = tmp_path / "predictions.csv"
    status = cli.main(["predict", "--model", str(model), "--data", str(test_csv), "--out", str(predictions)])
    assert status == 0, capsys.readouterr().err
    with open(predictions, newline="") as f:
        predicted = [row[0] for row in csv.reader(f)][1:]
    assert predicted == by_hand.predict(table.iloc[test]).tolist()
    np.testing.assert_array_equal(pipe[-1].params_[0], by_hand[-1].params_[0])
