"""Raw table columns -> the network's features: one role per column, scikit-learn parts to encode them.

`TableEncoder` looks at each column of a table once, at `fit`, and gives it a role:

    numeric      numbers (also text numbers such as "0.750" or "1e3", and text numbers with a thousands
                 separator the values prove, "44,361.63", "44.361,63" or "1.234.567"; text with a leading
                 zero, "01234", is a code and follows the rules for text):
                 missing values imputed with the median (plus a 0/1 missing-indicator column where any
                 were missing), then standardized (StandardScaler: a constant column, or one constant
                 but for rounding noise, gets scale 1)
    boolean      True/False (also "true"/"false" text): 0/1; missing values imputed with the share of
                 True seen in training (plus a 0/1 missing-indicator column where any were missing), so
                 a missing value never reads as False
    categorical  text or categories: one-hot (OneHotEncoder); a missing value is a category of its
                 own; a category never seen in training encodes as all zeros. At most
                 `max_categories` columns per feature: rarer categories share one "infrequent" column
    date         dates and times (also text: ISO, or one explicit format such as day.month.year or
                 month/day/year for every value): numeric parts (year, month, day, day of week, and
                 hour and minute where any value has a time of day), then treated as numeric
    dropped      identifier-like columns (an unnamed first column, `rownames`, `__index_level_0__`,
                 row numbers: an integer column that rises down the rows from 0 or 1 and stays within
                 0..1.5 N for N rows (also the training part of a split, with gaps), or one that rises
                 down the rows under an identifier's name such as `id` or `row_id`; near-unique text),
                 columns with no value at all, and those the user left out (`features`, `drop`)

Every encoder is scikit-learn's own (`ColumnTransformer`, `SimpleImputer`, `StandardScaler`,
`OneHotEncoder`), so the fitted `transformer_` is plain scikit-learn. `roles_` says, per column,
what was done and why, guesses included; the command line prints it and saves it with the model.
A column dropped as an identifier also raises an `IdentifierWarning` (a UserWarning) at `fit`.
"""
from __future__ import annotations

import difflib
import os
import re
import sys
import warnings

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import callbacks
from .errors import InputError

ROLES = ("numeric", "boolean", "categorical", "date", "dropped")
# Names pandas, R and pyarrow give to an exported row index.
_INDEX_NAME = re.compile(r"^(|Unnamed: \d+(\.\d+)?|rownames|__index_level_\d+__)$")
# Names of a column that numbers the rows (an integer column that rises down the rows is dropped under
# one of them): id, idx, index, row, row_id, obs, "#", ..., or a name ending in "_id" / "Id".
_ID_NAME = re.compile(r"^(id|idx|index|row|rowid|row_?(id|idx|index|no|nr|num|number)|obs|case|record|no|nr|#)$"
                      r"|(^|[_\s.-])(id|idx|index)$", re.IGNORECASE)
_CAMEL_ID = re.compile(r"[a-z]I[dD]$")    # PassengerId, customerID
_BOOLEAN_TEXT = {"true": 1.0, "false": 0.0}
_DATE_LOOK = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?$")
# Text dates other than ISO: each tried as one explicit format for the whole column. Of two that both
# read every value (no day above 12 tells day and month apart) the first listed wins: month/day/year
# with slashes (pandas' and US spreadsheets' default), day-month-year with dashes.
_TEXT_DATE_LOOK = re.compile(r"^\d{1,4}([./-])\d{1,2}\1\d{1,4}( \d{1,2}:\d{2}(:\d{2})?)?$")
_DATE_FORMATS = tuple(date + time for date in ("%d.%m.%Y", "%m/%d/%Y", "%d/%m/%Y", "%d-%m-%Y", "%m-%d-%Y",
                                               "%Y/%m/%d", "%Y.%m.%d")
                      for time in ("", " %H:%M", " %H:%M:%S"))
# (thousands separator, decimal mark) pairs of text numbers such as "44,361.63" and "44.361,63".
_NUMBER_STYLES = ((",", "."), (".", ","), (" ", ","), ("\u00a0", ","), ("\u202f", ","), ("'", "."))
_NUMBER_LOOK = re.compile(r"^[+-]?\d[\d.,' \u00a0\u202f]*$")
# Text whose distinct values are more than 90% of its non-missing values, in more than 50 of them, is
# identifier-like (names, ticket or order numbers): at most a tenth of its rows share a value, so the
# `max_categories` most frequent values one-hot encodes describe a handful of rows each and a new row's
# value is almost surely unseen. Below 50 values a real category column (20 rows of 19 countries) can
# look as unique by chance, so there only a distinct text on every row counts.
_UNIQUE_SHARE = 0.9
_UNIQUE_MIN_VALUES = 50
_TIME_PARTS = ("hour", "minute")
# A rising integer column from 0 or 1 is row numbers while its last value is at most 1.5 times the rows seen.
_ROW_SPAN = 1.5
# A text number with a leading zero ("01234", a zip code) is a code, not a quantity: the text rules decide.
_CODE_LOOK = re.compile(r"^[+-]?0\d")


# The note of a text column whose every value in training is a number. It was text in the table, so a
# later cell that is no number (a stray word where the split put none in training) reads as missing, as
# pandas.to_numeric(errors="coerce") reads it, instead of failing a prediction of the whole table.
TEXT_NUMBERS = "text numbers (a later cell that is no number reads as missing)"


class IdentifierWarning(UserWarning):
    """A column left out at `fit` because it looks like an identifier (row numbers, an exported index,
    near-unique text); the role table gives the reason, `features=[...]` keeps such a column."""


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
    date_formats_ : dict of str -> str
        The text date columns read with one explicit format (strftime codes, e.g. "%d.%m.%Y").
    number_formats_ : dict of str -> list of str
        The text number columns read as [thousands separator, decimal mark], e.g. [",", "."].
    transformer_ : sklearn.compose.ColumnTransformer
        The fitted encoders, applied to the table after dates are expanded and booleans made 0/1.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        The DataFrame's column names (absent when fitted on an array, whose columns are read by
        position and named "x0", "x1", ... in `roles_`).

    Warns
    -----
    IdentifierWarning (a UserWarning)
        At `fit`, naming each column dropped as an identifier and the reason (as `role_table` does).
        `transform` of an array by an encoder fitted on a DataFrame, or of a DataFrame by one fitted on an
        array, warns as scikit-learn does ("X does not have valid feature names", "X has feature names,
        but ... was fitted without feature names"): its columns are then taken by position.

    Raises
    ------
    InputError (a ValueError)
        A column named in `features`, `drop` or `categorical` that the table lacks (with the closest
        names), a table left with no feature column, a numeric column with an infinite value or
        (in `transform`) a text cell, a date column's value that is no date in its format, or values too
        large to standardize in float64 (a mean or spread beyond its range); in `transform`, a missing
        column.
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
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(columns, dtype=object)
        elif hasattr(self, "feature_names_in_"):  # refitted on an array: read by position, as scikit-learn does
            del self.feature_names_in_
        self.n_features_in_ = len(columns)
        found = [_infer(frame[name], name, position, self) for position, name in enumerate(columns)]
        self.roles_ = [(name, role, note) for name, (role, note, _) in zip(columns, found)]
        self.date_formats_ = {name: fmt for name, (role, _, fmt) in zip(columns, found) if role == "date" and fmt}
        self.number_formats_ = {name: list(style) for name, (role, _, style) in zip(columns, found)
                                if role == "numeric" and style}
        identifiers = [f"{name!r} ({note})" for name, role, note in self.roles_
                       if role == "dropped" and note.startswith("identifier")]
        if identifiers:
            warnings.warn(f"{type(self).__name__} left out {len(identifiers)} identifier-like column(s): "
                          f"{'; '.join(identifiers)}; name a column in features=[...] to keep it",
                          IdentifierWarning, stacklevel=_caller_level())
        self.input_columns_ = [name for name, role, _ in self.roles_ if role != "dropped"]
        if not self.input_columns_:
            raise InputError("no column is left to learn from: " + "; ".join(
                f"{name!r} {note}" for name, _, note in self.roles_[:8]))
        self.date_columns_ = {name: _date_parts(_as_dates(frame[name], self.date_formats_.get(name)))
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
            # the share of True for a missing value (never a silent False), and an indicator as for numbers
            parts.append(("boolean", SimpleImputer(strategy="mean", add_indicator=True, keep_empty_features=True),
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
        if not isinstance(X, pd.DataFrame):
            X = check_array(X, dtype=None, ensure_all_finite="allow-nan")  # 2-D, not sparse, not empty
            # scikit-learn's own check: the warning when fitted with names, the error on another width
            validate_data(self, X, reset=False, skip_check_array=True)
        elif not hasattr(self, "feature_names_in_"):  # fitted on an array: a table's columns by position
            if X.shape[1] != self.n_features_in_:
                raise InputError(f"the table has {X.shape[1]} columns, but {type(self).__name__} was fitted on an "
                                 f"array of {self.n_features_in_} columns, read by position")
            # scikit-learn's own check and warning ("X has feature names, but ... was fitted without")
            validate_data(self, X, reset=False, skip_check_array=True)
            X = X.set_axis([f"x{j}" for j in range(X.shape[1])], axis=1)
        frame = as_frame(X, getattr(self, "feature_names_in_", None))  # an array: by position
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
        for name, role, note in self.roles_:
            if role == "dropped":
                continue
            column = frame[name]
            if role == "date":
                dates = _checked_dates(column, name, getattr(self, "date_formats_", {}).get(name))
                for part in self.date_columns_[name]:
                    out[f"{name}_{part}"] = _date_part(dates, part)
            elif role == "boolean":
                out[name] = _as_booleans(column, name)
            elif role == "categorical":
                out[name] = column.astype(object).map(_category_text)
            else:
                out[name] = _numbers(column, name, getattr(self, "number_formats_", {}).get(name),
                                     lenient=TEXT_NUMBERS in note)
        return pd.DataFrame(out, index=frame.index)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.input_tags.allow_nan = True
        return tags


def _caller_level():
    """The `stacklevel` of a warning raised by the caller of this function that names the user's line: the
    first frame outside this package, scikit-learn and joblib (a Pipeline calls its steps through joblib's
    Memory; the callback wrappers), however deep."""
    inside = tuple(os.path.dirname(module.__file__) + os.sep
                   for module in (sklearn, joblib, sys.modules[__package__]))
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(inside):
        level, frame = level + 1, frame.f_back
    return level


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
    role, note, _ = _infer(column, name, position, options)
    return role, note


def _infer(column, name, position, options):
    """(role, note, how to read it): the date format of a text date column, the (thousands separator,
    decimal mark) of a text number column, else None."""
    if options.drop and name in options.drop:
        return "dropped", "left out (drop)", None
    if options.features is not None and name not in options.features:
        return "dropped", "not among the features asked for", None
    asked = options.features is not None and name in options.features
    values = column.dropna()
    n = len(column)
    missing = n - len(values)
    if len(values) == 0:
        return "dropped", "no value at all", None
    if options.categorical and name in options.categorical:
        return "categorical", f"{values.nunique()} categories (asked for)", None
    if not asked and _INDEX_NAME.match(name):
        return "dropped", "identifier: an exported row index", None
    kind = column.dtype.kind
    if kind == "b" or str(column.dtype) == "boolean":
        return "boolean", "0/1" + _boolean_missing(column, missing), None
    if kind == "M" or isinstance(column.dtype, pd.DatetimeTZDtype):
        return "date", "year, month, day, ... as numbers", None
    if kind in "iuf":
        guess = ""
        if not asked and kind in "iu" and _rises(column):
            first, last = column.iloc[0], column.iloc[-1]
            if _counts_rows(column):
                return "dropped", (f"identifier: row numbers (integers rising from {first} to {last} down "
                                   f"{n} rows)"), None
            if _id_name(name):
                return "dropped", "identifier: row numbers (rises down the rows, named like an identifier)", None
            guess = "; rises down the rows, but kept: an ordinary name, and it does not count the rows from 0 or 1"
        return "numeric", _numeric_note(options, missing) + guess, None
    texts = values.astype(str).str.strip()
    if texts.str.lower().isin(list(_BOOLEAN_TEXT)).all():
        return "boolean", "0/1 (true/false text)" + _boolean_missing(column, missing), None
    if texts.str.match(_DATE_LOOK).all() and not pd.isna(_as_dates(column)[column.notna()]).any():
        return "date", "year, month, day, ... as numbers", None
    fmt, how = _text_date_format(texts)
    if fmt:
        return "date", f"year, month, day, ... as numbers ({how})", fmt
    if not texts.str.match(_CODE_LOOK).any() and pd.to_numeric(texts, errors="coerce").notna().all():
        return "numeric", f"{_numeric_note(options, missing)}; {TEXT_NUMBERS}", None
    style, how = _number_style(texts)
    if style:
        return "numeric", f"{_numeric_note(options, missing)}; {how}", style
    distinct = texts.nunique()
    if not asked and distinct == n and n > 1:
        return "dropped", "identifier: a distinct text on every row", None
    if not asked and len(values) > _UNIQUE_MIN_VALUES and distinct > _UNIQUE_SHARE * len(values):
        return "dropped", (f"identifier: near-unique text ({distinct} distinct values in {len(values)} rows, "
                           f"over {_UNIQUE_SHARE:.0%})"), None
    note = f"{distinct} categories, one-hot"
    if missing:
        note += f" ({missing} missing: a category of its own)"
    if distinct > options.max_categories:
        note += f" (the {options.max_categories - 1} most frequent; the rest share one column)"
    return "categorical", note, None


def _numeric_note(options, missing):
    scaled = "standardized" if options.standardize else "as is"
    return scaled + (f"; {missing} missing imputed (median), plus a 0/1 missing-indicator column" if missing else "")


def _boolean_missing(column, missing):
    if not missing:
        return ""
    share = float(np.nanmean(_as_booleans(column).to_numpy(dtype=np.float64)))
    return f"; {missing} missing imputed (the share of true, {share:.2f}), plus a 0/1 missing-indicator column"


def _rises(column):
    """Whether an integer column rises down the rows, every value above the one before."""
    if column.isna().any() or len(column) < 3:
        return False
    return bool(np.all(np.diff(column.to_numpy()) > 0))


def _counts_rows(column):
    """Whether a rising integer column counts the rows: it starts at 0 or 1 and stays within 0..1.5 N, as an
    exported RangeIndex or R's row names do, also on the training part of a split (which keeps 50-100% of
    the rows, so there with gaps). Years (1800, ...) or a sorted feature of a wider range are no row numbers."""
    values = column.to_numpy()
    return bool(values[0] in (0, 1) and values[-1] <= _ROW_SPAN * len(values))


def _id_name(name):
    return bool(_ID_NAME.search(name) or _CAMEL_ID.search(name))


def _text_date_format(texts):
    """(format, how it was chosen) of text dates that one explicit format of _DATE_FORMATS reads every one
    of, else (None, None). `texts`: the non-missing values as stripped str."""
    if not texts.str.match(_TEXT_DATE_LOOK).all():
        return None, None
    unique = pd.Series(texts.unique(), dtype=object)
    fits = [fmt for fmt in _DATE_FORMATS
            if not pd.to_datetime(unique, format=fmt, errors="coerce").isna().any()]
    if not fits:
        return None, None
    how = f"text dates read as {_format_words(fits[0])}"
    if len(fits) > 1:  # day/month and month/day both read every value: no day above 12 proves the order
        how += f"; no value proves it against {_format_words(fits[1])} (no day above 12)"
    return fits[0], how


def _format_words(fmt):
    return (fmt.replace("%d", "day").replace("%m", "month").replace("%Y", "year")
            .replace("%H", "hour").replace("%M", "minute").replace("%S", "second"))


def _number_pattern(thousands, decimal):
    """A text number with groups of three digits after a first group of 1-3 digits that is no "0" ("0.750"
    is no grouping), or without groups; then the decimal mark and digits, if any."""
    t, p = re.escape(thousands), re.escape(decimal)
    return re.compile(rf"^[+-]?([1-9]\d{{0,2}}({t}\d{{3}})+|\d+)({p}\d+)?$")


def _number_style(texts):
    """((thousands separator, decimal mark), note) when every text is a number in one style of
    _NUMBER_STYLES and the values prove its thousands separator, else (None, None). Proof: a value with the
    separator twice ("1.234.567") or followed by the decimal mark ("44,361.63", "44.361,63"); a space or an
    apostrophe, never a decimal mark, proves itself. A lone "12.000" or "1,234" proves nothing: it may as
    well be a decimal number."""
    if not texts.str.match(_NUMBER_LOOK).all():
        return None, None
    unique = pd.Series(texts.unique(), dtype=object)
    fits = [(t, p) for t, p in _NUMBER_STYLES
            if unique.map(lambda v, t=t, p=p: _proves(v, t, p)).any()
            and unique.str.match(_number_pattern(t, p)).all()]
    if len(fits) != 1:
        return None, None
    t, p = fits[0]
    named = {" ": "a space", "\u00a0": "a space", "\u202f": "a space"}.get(t, repr(t))
    return (t, p), f"text numbers with {named} as thousands separator and {p!r} as decimal mark, read as numbers"


def _proves(value, thousands, decimal):
    """Whether one text number proves `thousands` is its thousands separator (see _number_style)."""
    if thousands not in value:
        return False
    if thousands not in ".,":
        return True
    return value.count(thousands) > 1 or decimal in value[value.index(thousands):]


def _numbers(column, name, style=None, lenient=False):
    """A numeric column as float64; InputError naming the column and row of a cell that is not a number
    (text where training saw numbers) or is infinite. Missing cells stay NaN (imputed later).
    style: (thousands separator, decimal mark) of text numbers ("44,361.63"), or None.
    lenient: a column that was text in training (TEXT_NUMBERS): a cell that is no number reads as NaN."""
    read = column
    if style is not None and column.dtype.kind not in "iufb":
        pattern = _number_pattern(*style)
        read = column.astype(object).map(lambda v: _plain_number(v, pattern, *style))
    values = pd.to_numeric(read, errors="coerce").astype(np.float64)
    bad = np.isinf(values) if lenient else (values.isna() & column.notna()) | np.isinf(values)
    if bad.any():
        position = int(np.argmax(bad.to_numpy()))
        cell = column.iloc[position]
        row = _row(column, position)
        what = f"an infinite value ({cell})" if np.isinf(values.iloc[position]) else \
            f"{str(cell)!r} is not a number (the column holds numbers in training)"
        raise InputError(f"column {name!r}, {row}: {what}")
    return values


def _plain_number(value, pattern, thousands, decimal):
    """A text number of the column's style as plain text ("44,361.63" -> "44361.63"); other text as None."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    if not pattern.match(value):
        return None
    return value.replace(thousands, "").replace(decimal, ".")


def _check_scaling(scaler, prepared, names):
    """InputError naming the first column whose mean or spread overflows float64 in StandardScaler."""
    bad = ~(np.isfinite(scaler.mean_) & np.isfinite(scaler.scale_))[:len(names)]
    if bad.any():
        name = names[int(np.argmax(bad))]
        values = prepared[name]
        raise InputError(f"column {name!r}: the values (from {values.min():.3g} to {values.max():.3g}) are too "
                         f"large to standardize in float64; rescale the column")


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
    text = column.astype(object).where(present, None).map(
        lambda v: None if v is None else str(v).strip().lower())
    values = text.map({**_BOOLEAN_TEXT, "1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0}).astype(np.float64)
    bad = values.isna() & present
    if bad.any():
        position = int(np.argmax(bad.to_numpy()))
        raise InputError(f"column {name!r}, {_row(column, position)}: {str(column.iloc[position])!r} is neither "
                         f"true nor false (the column holds booleans in training)")
    return values


def _as_dates(column, fmt=None):
    """A date column as datetimes (NaT where missing or unreadable): text read as ISO, or with `fmt`."""
    if column.dtype.kind == "M" or isinstance(column.dtype, pd.DatetimeTZDtype):
        return column
    text = column.astype(object)
    if fmt is not None:
        text = text.map(lambda v: v.strip() if isinstance(v, str) else v)
    return pd.to_datetime(text, errors="coerce", format=fmt or "ISO8601")


def _checked_dates(column, name, fmt=None):
    """_as_dates, with an InputError naming the column, row and value of a cell that is there but no date in
    the column's format (as a text number is in _numbers), never a silently missing date."""
    dates = _as_dates(column, fmt)
    bad = dates.isna() & column.notna()
    if bad.any():
        position = int(np.argmax(bad.to_numpy()))
        expected = f"{_format_words(fmt)} ({fmt})" if fmt else "a date such as 2012-01-31 (ISO, year-month-day)"
        raise InputError(f"column {name!r}, {_row(column, position)}: {str(column.iloc[position])!r} is not a "
                         f"date in the column's format, {expected}")
    return dates


def _row(column, position):
    """The row of a cell as a message names it: "row 4" for the 4th row of a default index, else its label."""
    label = column.index[position]
    return f"row {label + 1}" if isinstance(label, (int, np.integer)) else f"index {label!r}"


def _date_parts(dates):
    """The parts a date column is expanded into: hour and minute only where some value has a time."""
    parts = ["year", "month", "day", "day_of_week"]
    valid = dates.dropna()
    if len(valid) and ((valid.dt.hour != 0) | (valid.dt.minute != 0)).any():
        parts += list(_TIME_PARTS)
    return parts


def _date_part(dates, part):
    return getattr(dates.dt, part).astype(np.float64)
