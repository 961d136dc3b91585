"""The label column of `train`: which one it is and why, and a warning when it looks unlike class labels.

Without --target the label column is the table's last column (`data.read_table`). The run says so in
its summary, and warns, before training, when that column does not look like classes: numbers with
many distinct values for the rows (a measurement), or years while a text column with few categories
(a likely label) exists. A --drop, --features or --categorical that names the label column is refused
in words that say it is the target.
"""
from __future__ import annotations

import numpy as np

from .. import labels
from ..errors import InputError

MAX_CATEGORIES = 30      # a text column with at most this many distinct values (and 2 or more) may be the label
YEARS = (1800, 2100)     # whole numbers in this range, all of them, look like years


def why(defaulted):
    """Why the label column is the one it is: the last column (no --target), or --target."""
    return "the last column; --target names another" if defaulted else "--target"


def describe(target, defaulted):
    """The summary's text for the label column: "'year' (the last column; --target names another)"."""
    if target is None:  # an NPZ file's labels
        return "the array y"
    return f"{target!r} ({why(defaulted)})"


def check_not_listed(target, defaulted, *, features=None, drop=None, categorical=None):
    """InputError when --drop, --features or --categorical names the label column `target`."""
    if target is None:
        return
    which = "the label column" + (", the last column when --target is not given" if defaulted else "")
    if drop and target in drop:
        advice = "name the label column with --target" if defaulted else "leave it out of --drop"
        raise InputError(f"--drop {target}: {target!r} is the target ({which}), never a feature, so it cannot be "
                         f"dropped; {advice}")
    if features and target in features:
        raise InputError(f"--features: {target!r} is the target ({which}) and cannot also be a feature; leave it "
                         f"out of --features, or name another label column with --target")
    if categorical and target in categorical:
        raise InputError(f"--categorical: {target!r} is the target ({which}), whose values are class labels "
                         f"already, not a feature; leave it out of --categorical")


def warning(table, defaulted):
    """A line "warning   ..." when the label column looks unlike class labels, else None.

    `table` is a `data.Table` (features a DataFrame, labels (N,)). Numbers with many distinct values for
    the rows (`labels.looks_continuous`) are warned of whichever way the column was chosen; years only
    when the column is the last one by default and a text column with few categories exists.
    """
    if table.target is None or table.labels is None or len(table.labels) == 0:
        return None
    classes = np.unique(np.asarray(table.labels))
    numbers = _numbers(classes)
    if numbers is None:
        return None
    N = len(table.labels)
    where = f"the target {describe(table.target, defaulted)}"
    if labels.looks_continuous(classes, N):
        return (f"warning   {where} has {len(classes)} distinct numbers in {N} rows: it looks like a measurement, "
                f"not classes; name the label column with --target")
    if not defaulted or not all(v.is_integer() and YEARS[0] <= v <= YEARS[1] for v in numbers):
        return None
    candidates = text_columns(table.features)
    if not candidates:
        return None
    shown = ", ".join(f"{name!r} ({k} categories)" for name, k in candidates[:3])
    return (f"warning   {where} holds {len(classes)} whole numbers from {int(min(numbers))} to {int(max(numbers))} "
            f"that look like years, not classes, while text columns hold few categories: {shown}; if one of them "
            f"is the label, name it: --target {candidates[0][0]}")


def text_columns(frame):
    """[(name, number of distinct values)] of the text (or categorical) columns with 2 to MAX_CATEGORIES
    distinct values, each value on at least two rows on average, in table order."""
    import pandas as pd

    found = []
    for name in frame.columns:
        column = frame[name]
        if not (pd.api.types.is_string_dtype(column.dtype) or isinstance(column.dtype, pd.CategoricalDtype)
                or column.dtype == object):
            continue
        k = int(column.nunique(dropna=True))
        if 2 <= k <= MAX_CATEGORIES and 2 * k <= len(column):
            found.append((str(name), k))
    return found


def _numbers(classes):
    """The classes as floats, or None when one of them is not a number (a text that does not read as one)."""
    if classes.dtype.kind == "b":
        return None
    values = []
    for c in classes.tolist():
        if isinstance(c, bool):
            return None
        try:
            value = float(c)
        except (TypeError, ValueError):
            return None
        if value != value:  # NaN
            return None
        values.append(value)
    return values
