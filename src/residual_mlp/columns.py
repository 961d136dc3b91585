"""Raw table columns -> the network's features: one role per column, scikit-learn parts to encode them.

`TableEncoder` looks at each column of a table once, at `fit`, and gives it a role:

    numeric      numbers: missing values imputed with the median (plus a 0/1 missing-indicator column
                 where any were missing), then standardized (StandardScaler: a constant column, or one
                 constant but for rounding noise, gets scale 1)
    boolean      True/False (also "true"/"false" text): 0/1, a missing value imputed with the most
                 frequent
    categorical  text or categories: one-hot (OneHotEncoder); a missing value is a category of its
                 own; a category never seen in training encodes as all zeros. At most
                 `max_categories` columns per feature: rarer categories share one "infrequent" column
    date         dates and times: numeric parts (year, month, day, day of week, and hour and minute
                 where any value has a time of day), then treated as numeric
    dropped      identifier-like columns (an unnamed first column, `rownames`, `__index_level_0__`,
                 an integer column that rises down the rows (row numbers), a text column with
                 a distinct value on every row), columns with no value at all, and those the user
                 left out (`features`, `drop`)

Every encoder is scikit-learn's own (`ColumnTransformer`, `SimpleImputer`, `StandardScaler`,
`OneHotEncoder`), so the fitted `transformer_` is plain scikit-learn. `roles_` says, per column,
what was done and why; the command line prints it and saves it with the model.
"""
from __future__ import annotations

import difflib
import re

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_array, check_is_fitted

from . import callbacks
from .errors import InputError

ROLES = ("numeric", "boolean", "categorical", "date", "dropped")
# Names pandas, R and pyarrow give to an exported row index.
_INDEX_NAME = re.compile(r"^(|Unnamed: \d+(\.\d+)?|rownames|__index_level_\d+__)$")
_BOOLEAN_TEXT = {"true": 1.0, "false": 0.0}
_DATE_LOOK = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?$")
_TIME_PARTS = ("hour", "minute")


class TableEncoder(callbacks.CallbackSupportMixin, TransformerMixin, BaseEstimator):
    """Encode a raw table (a DataFrame, or an array of numbers) column by column; see the module docstring.

    Parameters
    ----------
    features : list of str or None, default=None
        Use only these columns (by name). None: every column, less the identifier-like ones.
    drop : list of str or None, default=None
        Leave these columns out.
    categorical : list of str or None, default=None
        Treat these columns as categorical even when they hold numbers.
    max_categories : int, default=30
        Most one-hot columns per categorical feature (OneHotEncoder's `max_categories`).
    dtype : {"float64", "float32"}, default="float64"
        The dtype of the encoded features.
    standardize : bool, default=True
        Standardize the numeric columns (False: impute only).

    Attributes
    ----------
    roles_ : list of (str, str, str)
        (column, role, note) for every column of the table seen in `fit`, in table order.
    input_columns_ : list of str
        The columns `transform` reads, in table order (the others may be absent).
    date_columns_ : dict of str -> list of str
        The date columns and the parts each is expanded into.
    transformer_ : sklearn.compose.ColumnTransformer
        The fitted encoders, applied to the table after dates are expanded and booleans made 0/1.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        The table's column names (names "x0", "x1", ... for an array).

    Raises
    ------
    InputError (a ValueError)
        A column named in `features`, `drop` or `categorical` that the table lacks (with the closest
        names), a table left with no feature column, a numeric column with an infinite value or
        (in `transform`) a text cell, or values too large to standardize in float64 (a mean or
        spread beyond its range); in `transform`, a missing column.
    """

    def __init__(self, features=None, drop=None, categorical=None, max_categories=30, dtype="float64",
                 standardize=True):
        self.features = features
        self.drop = drop
        self.categorical = categorical
        self.max_categories = max_categories
        self.dtype = dtype
        self.standardize = standardize

    @callbacks.with_callbacks
    def fit(self, X, y=None):
        """Give each column of X (a table) its role and fit the encoders; one callback task (scikit-learn 1.9+)."""
        with callbacks.LeafTask(self, X, y):
            return self._fit(X)

    def _fit(self, X):
        frame = as_frame(X)
        columns = [str(c) for c in frame.columns]
        for option in ("features", "drop", "categorical"):
            for name in getattr(self, option) or ():
                check_column(name, columns, option)
        self.feature_names_in_ = np.asarray(columns, dtype=object)
        self.n_features_in_ = len(columns)
        roles = [infer_role(frame[name], name, position, self) for position, name in enumerate(columns)]
        self.roles_ = [(name, role, note) for name, (role, note) in zip(columns, roles)]
        self.input_columns_ = [name for name, role, _ in self.roles_ if role != "dropped"]
        if not self.input_columns_:
            raise InputError("no column is left to learn from: " + "; ".join(
                f"{name!r} {note}" for name, _, note in self.roles_[:8]))
        self.date_columns_ = {name: _date_parts(_as_dates(frame[name]))
                              for name, role, _ in self.roles_ if role == "date"}
        prepared = self._prepare(frame)
        by_role = {role: [] for role in ROLES}
        for name, role, _ in self.roles_:
            if role == "date":
                by_role["numeric"] += [f"{name}_{part}" for part in self.date_columns_[name]]
            else:
                by_role[role].append(name)
        parts = []
        if by_role["numeric"]:
            steps = [("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True))]
            if self.standardize:
                steps.append(("scale", StandardScaler()))
            parts.append(("numeric", Pipeline(steps), by_role["numeric"]))
        if by_role["boolean"]:
            parts.append(("boolean", SimpleImputer(strategy="most_frequent", keep_empty_features=True),
                          by_role["boolean"]))
        if by_role["categorical"]:
            parts.append(("categorical", Pipeline([
                ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
                ("onehot", OneHotEncoder(handle_unknown="infrequent_if_exist", sparse_output=False,
                                         max_categories=self.max_categories))]), by_role["categorical"]))
        self.transformer_ = ColumnTransformer(parts, remainder="drop", sparse_threshold=0)
        with np.errstate(over="ignore", invalid="ignore"):  # an overflowing scaling is refused below
            self.transformer_.fit(prepared)
        if self.standardize and by_role["numeric"]:
            _check_scaling(self.transformer_.named_transformers_["numeric"].named_steps["scale"],
                           prepared, by_role["numeric"])
        return self

    def transform(self, X):
        check_is_fitted(self, "transformer_")
        frame = as_frame(X, self.feature_names_in_)
        if not isinstance(X, pd.DataFrame) and frame.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {frame.shape[1]} features, but TableEncoder is expecting "
                             f"{self.n_features_in_} features as input")
        columns = [str(c) for c in frame.columns]
        for name in self.input_columns_:
            check_column(name, columns, "the model's features")
        return np.asarray(self.transformer_.transform(self._prepare(frame)), dtype=self.dtype)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "transformer_")
        return self.transformer_.get_feature_names_out()

    def role_table(self, max_names=4):
        """The roles as short lines of text: role, what was done, and the columns (grouped when alike)."""
        check_is_fitted(self, "roles_")
        groups = {}
        for name, role, note in self.roles_:
            groups.setdefault((role, note), []).append(name)
        lines = []
        for (role, note), names in groups.items():
            shown = ", ".join(repr(n) for n in names[:max_names])
            if len(names) > max_names:
                shown += f", ... ({len(names)} columns)"
            lines.append(f"{role:<11}  {shown}: {note}")
        return lines

    def _prepare(self, frame):
        """The columns the encoders read: dates as numeric parts, booleans as 0/1 floats."""
        out = {}
        for name, role, _ in self.roles_:
            if role == "dropped":
                continue
            column = frame[name]
            if role == "date":
                dates = _as_dates(column)
                for part in self.date_columns_[name]:
                    out[f"{name}_{part}"] = _date_part(dates, part)
            elif role == "boolean":
                out[name] = _as_booleans(column, name)
            elif role == "categorical":
                out[name] = column.astype(object).map(_category_text)
            else:
                out[name] = _numbers(column, name)
        return pd.DataFrame(out, index=frame.index)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.input_tags.allow_nan = True
        return tags


def as_frame(X, names=None):
    """A DataFrame of X: itself, or an array's columns named by `names` (default "x0", "x1", ...)."""
    if isinstance(X, pd.DataFrame):
        if X.shape[0] == 0:
            raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required.")
        return X
    X = check_array(X, dtype=None, ensure_all_finite="allow-nan")  # 2-D, not sparse, not complex, not empty
    if names is None or len(names) != X.shape[1]:  # an array of another width: named by position
        names = [f"x{j}" for j in range(X.shape[1])]
    return pd.DataFrame(X, columns=[str(n) for n in names])


def check_column(name, columns, what):
    """InputError naming the closest column names when `name` is not among `columns`."""
    if name in columns:
        return
    lower = {c.lower(): c for c in columns}
    close = [lower[c] for c in difflib.get_close_matches(str(name).lower(), list(lower), n=3, cutoff=0.5)]
    hint = f"; closest: {', '.join(repr(c) for c in close)}" if close else f" ({len(columns)} columns)"
    raise InputError(f"no column {name!r} ({what}){hint}")


def infer_role(column, name, position, options):
    """(role, note) of one raw column; see the module docstring for the rules."""
    if options.drop and name in options.drop:
        return "dropped", "left out (drop)"
    if options.features is not None and name not in options.features:
        return "dropped", "not among the features asked for"
    asked = options.features is not None and name in options.features
    values = column.dropna()
    n = len(column)
    if len(values) == 0:
        return "dropped", "no value at all"
    if options.categorical and name in options.categorical:
        return "categorical", f"{values.nunique()} categories (asked for)"
    if not asked and _INDEX_NAME.match(name):
        return "dropped", "identifier: an exported row index"
    kind = column.dtype.kind
    if kind == "b" or str(column.dtype) == "boolean":
        return "boolean", "0/1"
    if kind == "M" or isinstance(column.dtype, pd.DatetimeTZDtype):
        return "date", "year, month, day, ... as numbers"
    if kind in "iuf":
        if not asked and kind in "iu" and _counts_rows(column):
            return "dropped", "identifier: row numbers (rises down the rows)"
        missing = n - len(values)
        scaled = "standardized" if options.standardize else "as is"
        return "numeric", scaled + (f"; {missing} missing imputed (median), plus a 0/1 missing-indicator column"
                                    if missing else "")
    texts = values.astype(str)
    if texts.str.lower().isin(list(_BOOLEAN_TEXT)).all():
        return "boolean", "0/1 (true/false text)"
    if texts.str.match(_DATE_LOOK).all() and not pd.isna(_as_dates(column)[column.notna()]).any():
        return "date", "year, month, day, ... as numbers"
    distinct = texts.nunique()
    if not asked and distinct == n and n > 1:
        return "dropped", "identifier: a distinct text on every row"
    note = f"{distinct} categories, one-hot"
    missing = n - len(values)
    if missing:
        note += f" ({missing} missing: a category of its own)"
    if distinct > options.max_categories:
        note += f" (the {options.max_categories - 1} most frequent; the rest share one column)"
    return "categorical", note


def _numbers(column, name):
    """A numeric column as float64; InputError naming the column and row of a cell that is not a number
    (text where training saw numbers) or is infinite. Missing cells stay NaN (imputed later)."""
    values = pd.to_numeric(column, errors="coerce").astype(np.float64)
    bad = (values.isna() & column.notna()) | np.isinf(values)
    if bad.any():
        position = int(np.argmax(bad.to_numpy()))
        label, cell = column.index[position], column.iloc[position]
        row = f"row {label + 1}" if isinstance(label, (int, np.integer)) else f"index {label!r}"
        what = f"an infinite value ({cell})" if np.isinf(values.iloc[position]) else \
            f"{str(cell)!r} is not a number (the column holds numbers in training)"
        raise InputError(f"column {name!r}, {row}: {what}")
    return values


def _check_scaling(scaler, prepared, names):
    """InputError naming the first column whose mean or spread overflows float64 in StandardScaler."""
    bad = ~(np.isfinite(scaler.mean_) & np.isfinite(scaler.scale_))[:len(names)]
    if bad.any():
        name = names[int(np.argmax(bad))]
        values = prepared[name]
        raise InputError(f"column {name!r}: the values (from {values.min():.3g} to {values.max():.3g}) are too "
                         f"large to standardize in float64; rescale the column")


def _counts_rows(column):
    """Whether an integer column rises down the rows, every value above the one before: an exported row
    number (0, 1, 2, ... or 1, 2, 3, ..., with gaps where rows were held out or left out)."""
    if column.isna().any() or len(column) < 3:
        return False
    return bool(np.all(np.diff(column.to_numpy()) > 0))


def _category_text(value):
    """A category as text: None when missing; a whole float as an integer ("4", not "4.0")."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _as_booleans(column, name=None):
    """A boolean column as 0/1 floats (NaN where missing); InputError naming the column and row of a cell
    that is neither true nor false (numbers 0 and 1 count as false and true)."""
    if column.dtype.kind == "b" or str(column.dtype) == "boolean":
        return column.astype("float64")
    present = column.notna()
    text = column.astype(object).where(present, None).map(lambda v: None if v is None else str(v).lower())
    values = text.map({**_BOOLEAN_TEXT, "1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0}).astype(np.float64)
    bad = values.isna() & present
    if bad.any():
        position = int(np.argmax(bad.to_numpy()))
        label = column.index[position]
        row = f"row {label + 1}" if isinstance(label, (int, np.integer)) else f"index {label!r}"
        raise InputError(f"column {name!r}, {row}: {str(column.iloc[position])!r} is neither true nor false (the "
                         f"column holds booleans in training)")
    return values


def _as_dates(column):
    if column.dtype.kind == "M" or isinstance(column.dtype, pd.DatetimeTZDtype):
        return column
    return pd.to_datetime(column.astype(object), errors="coerce", format="ISO8601")


def _date_parts(dates):
    """The parts a date column is expanded into: hour and minute only where some value has a time."""
    parts = ["year", "month", "day", "day_of_week"]
    valid = dates.dropna()
    if len(valid) and ((valid.dt.hour != 0) | (valid.dt.minute != 0)).any():
        parts += list(_TIME_PARTS)
    return parts


def _date_part(dates, part):
    return getattr(dates.dt, part).astype(np.float64)
