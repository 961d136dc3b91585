"""The real-data loader (benchmarks/realdata.py) and the benchmark suite (benchmarks/suite.py)."""
import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import realdata
import suite

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    path = tmp_path_factory.mktemp("suite") / "quick.json"
    out = io.StringIO()
    report = suite.main(["--quick", "--json", str(path)], out=out)
    return report, out.getvalue(), json.loads(path.read_text())


# ---------------------------------------------------------------------------- the loader

# Figures the sources document themselves (package help pages, the ISLR book), not read off the loader.
KNOWN = {  # name: (rows, classes, missing cells)
    "mtcars": (32, 3, 0),
    "chickwts": (71, 6, 0),
    "iris": (150, 3, 0),
    "fgl": (214, 6, 0),
    "penguins": (344, 3, 19),  # 2 rows without measurements (4 cells each), 11 without sex
    "pima": (300 + 332, 2, None),  # Pima.tr2 + Pima.te
    "biopsy": (699, 2, 16),
    "anes96": (944, 2, 0),
    "titanic": (1309, 2, 263),
    "digits": (1797, 10, 0),
    "leaf": (1907, 32, 0),  # the Flavia leaf collection: 32 species
    "default": (10000, 2, 0),
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_load_gives_the_documented_table(name):
    frame, target = realdata.load(name)
    rows, classes, missing = KNOWN[name]
    assert len(frame) == rows
    assert frame[target].nunique() == classes
    if missing is not None:
        assert int(frame.isna().sum().sum()) == missing


def test_load_keeps_the_raw_columns():
    frame, _ = realdata.load("titanic")
    assert list(frame.columns) == ["rownames", "survived", "sex", "age", "passengerClass"]
    assert frame["rownames"].iloc[0] == "Allen, Miss. Elisabeth Walton"
    weather, _ = realdata.load("seattle_weather")
    assert pd.api.types.is_datetime64_any_dtype(weather["date"])
    default, _ = realdata.load("default")
    assert (default["default"] == "Yes").sum() == 333


def test_every_set_loads_and_the_docs_table_matches():
    doc_rows = {}
    for line in DOCS.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 9 and cells[2].isdigit():
            doc_rows[cells[0]] = (int(cells[2]), int(cells[3]), int(cells[4]), int(cells[6]), cells[7])
    assert set(doc_rows) == set(realdata.NAMES)
    for name in realdata.NAMES:
        d = realdata.describe(name)
        assert doc_rows[name] == (d["rows"], d["columns"], d["classes"], d["missing"], d["target"]), name
    assert len(realdata.NAMES) >= 16


def test_the_sets_span_the_ranges_the_suite_needs():
    figures = [realdata.describe(name) for name in realdata.NAMES]
    assert min(f["rows"] for f in figures) <= 32 and max(f["rows"] for f in figures) >= 10000
    assert max(f["columns"] for f in figures) >= 100
    assert max(f["classes"] for f in figures) >= 30
    assert sum(f["missing"] > 0 for f in figures) >= 4


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(KeyError, match="penguins"):
        realdata.load("pengiuns")


def test_export_csv_is_pandas_default_to_csv(tmp_path):
    path = realdata.export_csv("penguins", tmp_path)
    frame, _ = realdata.load("penguins")
    assert path.read_text() == frame.to_csv()
    assert path.read_text().splitlines()[0].startswith(",species,island,")  # the unnamed index column
    back = pd.read_csv(path)
    assert list(back.columns)[:2] == ["Unnamed: 0", "species"] and len(back) == 344


# ---------------------------------------------------------------------------- the stand-in encoder

def test_standin_drops_identifiers_only():
    frame = pd.DataFrame({"Unnamed: 0": range(6), "rownames": range(1, 7), "name": list("abcdef"),
                          "colour": list("rgbrgb"), "size": [1.0, None, 3, 4, 5, 6],
                          "flag": [True, False] * 3})
    roles = suite.column_roles(frame)
    assert set(roles["dropped"]) == {"Unnamed: 0", "rownames", "name"}
    assert roles["numeric"] == ["size", "flag"] and roles["categorical"] == ["colour"]
    encoder, _ = suite.standin_encoder(frame)
    encoded = encoder.fit_transform(frame)
    # size (scaled) + its missing indicator (scaled) + flag + 3 one-hot colours
    assert encoded.shape == (6, 6)
    assert np.isfinite(encoded).all()


def test_standin_reads_a_csv_export(tmp_path):
    frame = pd.read_csv(realdata.export_csv("chickwts", tmp_path)).drop(columns="feed")
    roles = suite.column_roles(frame)
    assert set(roles["dropped"]) == {"Unnamed: 0", "rownames"} and roles["numeric"] == ["weight"]


def test_date_columns_become_numbers():
    weather, target = realdata.load("seattle_weather")
    encoder, roles = suite.standin_encoder(weather.drop(columns=target))
    assert roles["date"] == ["date"]
    encoded = encoder.fit_transform(weather.drop(columns=target))
    assert encoded.shape == (1461, 4 + 4)  # 4 numbers, 4 date parts


# ---------------------------------------------------------------------------- the suite

def test_quick_suite_scores_every_model(quick):
    report, text, written = quick
    assert [r["name"] for r in report["results"]] == list(suite.QUICK_SETS)
    assert written["seeds"] == [0] and written["folds"] == 3
    for r in report["results"]:
        for model in suite.MODELS:
            folds = r["folds"][model]
            assert len(folds["accuracy"]) == 3
            assert all(0 <= a <= 1 for a in folds["accuracy"] + folds["balanced_accuracy"])
            assert all(math.isfinite(v) and v >= 0 for v in folds["log_loss"] + folds["fit_time"])
    iris = report["results"][0]["summary"]
    assert all(iris[model]["accuracy"]["mean"] > 0.8 for model in suite.MODELS)
    for short in suite.SHORT.values():
        assert f"| {short} |" in text or f" {short} |" in text
    assert "penguins" in text and "Log-loss" in text


def test_params_reach_our_estimator(tmp_path):
    out = io.StringIO()
    report = suite.main(["--sets", "iris", "--seeds", "3", "--folds", "2", "--param", "max_iter=4",
                         "--param", "optimizer=adam", "--param", "lr=1e-2"], out=out)
    folds = report["results"][0]["folds"]
    assert folds[suite.OURS]["epochs"] == [4, 4]
    assert max(folds["MLPClassifier"]["epochs"]) > 4  # the peers keep their defaults
    assert report["seeds"] == [3] and "max_iter=4" in out.getvalue()


def test_classes_smaller_than_the_folds_are_left_out():
    _, y, notes = suite.prepare("mtcars", n_splits=8, max_rows=None)
    assert sorted(set(y.tolist())) == [4, 8]  # the 7 six-cylinder cars cannot fill 8 folds
    assert len(y) == 32 - 7 and "(7)" in notes[0]
    _, y, notes = suite.prepare("default", n_splits=5, max_rows=2000)
    assert len(y) == 2000 and (y == "Yes").sum() in (66, 67)  # stratified: 3.33% defaults
    assert "subsampled" in notes[0]


def test_paired_standard_error():
    folds = {m: {metric: [0.9, 0.9, 0.9, 0.9] for metric in suite.METRICS} for m in suite.MODELS}
    folds[suite.OURS]["accuracy"] = [1.0, 0.9, 0.8, 0.9]  # differences 0.1, 0, -0.1, 0: variance 0.02/3
    paired = suite.summarize(folds, n_test_over_train=0.25)["paired"]["MLPClassifier"]["accuracy"]
    assert paired["mean"] == pytest.approx(0.0, abs=1e-12)
    assert paired["se_plain"] == pytest.approx(math.sqrt(0.02 / 3 / 4))
    assert paired["se"] == pytest.approx(math.sqrt((1 / 4 + 0.25) * 0.02 / 3))


def test_bad_arguments_are_refused():
    with pytest.raises(SystemExit):
        suite.parse_args(["--sets", "iris,nope"])
    with pytest.raises(SystemExit):
        suite.parse_args(["--param", "lr"])
