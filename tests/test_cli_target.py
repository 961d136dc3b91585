"""`train` says which column is the label and why, warns when it looks unlike classes, and refuses to
drop or use the label column as a feature in words that say it is the target."""
import numpy as np
import pandas as pd
import pytest

from residual_mlp import cli
from residual_mlp.commands import target
from residual_mlp.data import Table
from residual_mlp.errors import EXIT_INPUT

FAST = ("--epochs", "2", "--hidden", "4", "--quiet")


@pytest.fixture(scope="module")
def penguins(tmp_path_factory):
    """The penguins as shipped: the last column is `year` (2007-2009), the species a text column."""
    palmerpenguins = pytest.importorskip("palmerpenguins")
    path = tmp_path_factory.mktemp("penguins") / "penguins.csv"
    palmerpenguins.load_penguins().to_csv(path, index=False)
    return path


def main(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_the_default_target_is_named_and_a_year_column_is_warned_of(tmp_path, capsys, penguins):
    status, out, err = main(capsys, "train", "--data", penguins, *FAST, "--out", tmp_path / "m.skops")
    assert status == 0, err
    assert "target    'year' (the last column; --target names another)\n" in out
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning   the target 'year' (the last column; --target names "
                                                   "another) holds 3 whole numbers from 2007 to 2009 that look "
                                                   "like years, not classes"), err
    assert "'species' (3 categories), 'island' (3 categories), 'sex' (2 categories)" in lines[0]
    assert lines[0].endswith("--target species")


def test_a_target_named_with_the_option_is_said_so_without_a_warning(tmp_path, capsys, penguins):
    status, out, err = main(capsys, "train", "--data", penguins, "--target", "species", *FAST,
                            "--out", tmp_path / "m.skops")
    assert status == 0, err
    assert "target    'species' (--target)\n" in out
    assert "warning" not in err
    # years named on purpose are the user's choice: no warning either
    status, out, err = main(capsys, "train", "--data", penguins, "--target", "year", *FAST,
                            "--out", tmp_path / "m.skops")
    assert status == 0 and "warning" not in err, err
    assert "target    'year' (--target)\n" in out


def test_a_measurement_as_the_target_is_warned_of_even_with_a_test_file(tmp_path, capsys):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
    frame["price"] = np.repeat(np.round(rng.uniform(1, 100, size=40), 2), 2)  # 40 numbers, each twice
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    frame.to_csv(train, index=False)
    frame.to_csv(test, index=False)
    status, _, err = main(capsys, "train", "--data", train, "--test", test, *FAST, "--out", tmp_path / "m.skops")
    assert status == 0, err
    assert err == ("warning   the target 'price' (the last column; --target names another) has 40 distinct numbers "
                   "in 80 rows: it looks like a measurement, not classes; name the label column with --target\n")


def test_warning_rules():
    frame = pd.DataFrame({"kind": ["x", "y"] * 10, "n": np.arange(20.0)})
    years = np.array(["2001", "2002"] * 10, dtype=object)
    table = Table(features=frame, labels=years, target="when", n_dropped_labels=0, path="t.csv")
    assert "look like years" in target.warning(table, defaulted=True)
    assert target.warning(table, defaulted=False) is None                  # named with --target
    numbers = Table(features=frame, labels=np.array(["1", "2"] * 10, dtype=object), target="t", n_dropped_labels=0,
                    path="t.csv")
    assert target.warning(numbers, defaulted=True) is None                  # small class numbers: fine
    no_text = Table(features=frame[["n"]], labels=years, target="when", n_dropped_labels=0, path="t.csv")
    assert target.warning(no_text, defaulted=True) is None                  # no text column to prefer
    ids = pd.DataFrame({"id": [f"r{i}" for i in range(20)]})                # one value per row: not a label
    assert target.text_columns(ids) == []
    assert target.text_columns(frame) == [("kind", 2)]


@pytest.mark.parametrize("extra, needle", [
    (("--target", "species", "--drop", "species"),
     "--drop species: 'species' is the target (the label column), never a feature, so it cannot be dropped; "
     "leave it out of --drop"),
    (("--drop", "year"),
     "--drop year: 'year' is the target (the label column, the last column when --target is not given), never a "
     "feature, so it cannot be dropped; name the label column with --target"),
    (("--target", "species", "--features", "bill_length_mm,species"),
     "--features: 'species' is the target (the label column) and cannot also be a feature"),
    (("--target", "species", "--categorical", "island,species"),
     "--categorical: 'species' is the target (the label column), whose values are class labels already"),
])
def test_the_target_cannot_be_dropped_or_a_feature(tmp_path, capsys, penguins, extra, needle):
    status, out, err = main(capsys, "train", "--data", penguins, *extra, *FAST, "--out", tmp_path / "m.skops")
    assert status == EXIT_INPUT
    assert err.startswith(f"error: {needle}") and err.count("\n") == 1, err
    assert not (tmp_path / "m.skops").exists()


def test_dask_train_names_its_target_and_refuses_to_drop_it(tmp_path, capsys):
    pytest.importorskip("dask.dataframe")
    pytest.importorskip("distributed")
    frame = pd.DataFrame({"a": [0.0, 1.0] * 10, "label": ["x", "y"] * 10})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    status, _, err = main(capsys, "train", "--data", path, "--dask", "--drop", "label", *FAST,
                          "--out", tmp_path / "m.skops")
    assert status == EXIT_INPUT
    assert err.startswith("error: --drop label: 'label' is the target (the label column, the last column when "
                          "--target is not given)"), err
