"""Data: the user's tables (CSV, NPZ, Parquet), the bundled data sets, labels, the split and scaling.

A table is read in blocks of rows (`open_table`), so that loading one for training needs little more
memory than its float64 feature matrix, and `predict` can stream a file larger than memory.

    CSV      a header row naming the columns, then one row per sample; features are numbers, the
             label column (--target, default the last) holds numbers or text. Comma-separated
             (tab-separated for .tsv), UTF-8, fields may be quoted with ".
    NPZ      arrays X (N, D) of numbers and y (N,) of labels, as `numpy.savez` writes them.
    Parquet  named columns, as for CSV; needs the optional pyarrow (`pip install 'residual_mlp[parquet]'`).

Every problem with a file raises InputError naming the file and, where it applies, the row (counted
from 1 without the header), the line of the file and the column.
"""
from __future__ import annotations

import csv
import io
import os
import warnings
import zipfile
import zlib

import numpy as np

from .errors import InputError, short_reason

DATASETS = ("digits", "iris", "wine", "breast_cancer")
BLOCK_BYTES = 8 << 20   # bytes of CSV text or of NPZ features read per block, and of rows worked on at once
BLOCK_ROWS = 16384      # rows per block of a Parquet file

_READ_ERRORS = (OSError, EOFError, zipfile.BadZipFile, zlib.error)  # what unreadable or damaged files raise


def table_format(path):
    """"csv", "npz" or "parquet", from the file name's extension (anything else is read as CSV)."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    return {".npz": "npz", ".parquet": "parquet", ".pq": "parquet"}.get(ext, "csv")


def open_table(path, *, target=None, features=None, n_features=None, labels=True):
    """Open a data file for reading in blocks of rows; use it as a context manager.

    Parameters
    ----------
    path : str or path-like
        A CSV, NPZ or Parquet file (see the module's docstring).
    target : str or None
        The label column of a CSV or Parquet file. None: the last column, or, when `features` are
        named, the one column besides them. Ignored for NPZ files, whose labels are the array y.
    features : list of str or None
        Read these columns, by name and in this order, as the features (a model's feature names).
        None: every column but the label column, in file order.
    n_features : int or None
        The number of features the caller needs; a file with another number raises InputError.
    labels : bool
        True: the file must have labels, and `blocks()` yields them. False: labels are not needed;
        a label column, if the file has one, is skipped.

    Returns
    -------
    Table
        With `names` (feature names in X's column order, None for NPZ), `target` (the label
        column's name, or None) and `blocks()`, which yields ``(first_row, X, y)`` for consecutive
        blocks: first_row counts from 1, X (n, D) float64 and finite, y (n,) raw labels or None.
    """
    path = os.fspath(path)
    _check_readable(path)
    kind = table_format(path)
    reader = {"csv": _Csv, "npz": _Npz, "parquet": _Parquet}[kind]
    return reader(path, target=target, features=features, n_features=n_features, labels=labels)


def load_table(path, target=None):
    """Read a whole table for training.

    Parameters
    ----------
    path : str or path-like
        A CSV, NPZ or Parquet file (see the module's docstring).
    target : str or None
        The label column of a CSV or Parquet file (default: the last column). An NPZ file holds
        its labels in the array y, so naming a column there raises InputError.

    Returns
    -------
    X : ndarray (N, D) float64
        The features, finite.
    labels : ndarray (N,)
        Integers when every label is an integer, else floats when every one is a number, else text.
    names : list of str or None
        The feature names (None for NPZ).
    """
    path = os.fspath(path)
    if target is not None and table_format(path) == "npz":
        _check_readable(path)
        raise InputError(f"{path}: --target names a column of a CSV or Parquet file; an NPZ file holds "
                         f"its labels in the array y")
    with open_table(path, target=target) as table:
        D = len(table.columns_read)
        X = None
        n = 0
        raw = []
        for _, Xb, yb in table.blocks():
            end = n + Xb.shape[0]
            if X is None or end > X.shape[0]:
                # An estimate that overshoots costs address space, not memory: rows never written are
                # never touched. A C realloc grows or shrinks the array in place where it can.
                rows = max(end, table.rows_hint(end), 0 if X is None else X.shape[0] * 5 // 4)
                if X is None:
                    X = np.empty((rows, D))                     # (N, D)
                else:
                    X.resize((rows, D), refcheck=False)
            X[n:end] = Xb
            n = end
            raw.append(yb)
        if X.shape[0] != n:
            X.resize((n, D), refcheck=False)
        labels = _typed_labels(np.concatenate(raw), table)
    return X, labels, table.names


def load_dataset(name):
    """A data set that scikit-learn ships: (X (N, D) float64, labels (N,), feature names)."""
    from sklearn import datasets

    if name not in DATASETS:
        raise InputError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    bunch = getattr(datasets, f"load_{name}")()
    names = [str(n) for n in bunch.feature_names]
    labels = np.asarray(bunch.target_names)[bunch.target] if name != "digits" else bunch.target
    return bunch.data.astype(np.float64), labels, names


def encode_labels(labels):
    """(classes (C,), y (N,) indices into classes); needs at least two classes."""
    classes, y = np.unique(np.asarray(labels), return_inverse=True)
    if len(classes) < 2:
        raise InputError(f"the target has a single class ({_text(classes[0])}); a classifier needs two or more")
    return classes, y


def encode_with(classes, labels, locate):
    """Indices (n,) of `labels` in the sorted `classes` a model knows; InputError for any other label.

    Numbers compare as numbers (text "3" or "3.0" is the class 3); integers compare with integers
    exactly, however large; text classes compare as text. locate(i) names the place of labels[i]
    in its file, for the message.
    """
    classes, labels = np.asarray(classes), np.asarray(labels)
    if classes.dtype.kind in "US":
        known = classes
        keys = labels if labels.dtype.kind in "US" else labels.astype(str)
    else:
        known, keys = _integers(classes), _integers(labels)
        if known is None or keys is None:  # some are not integers: compare as float64
            known, keys = classes.astype(np.float64), _as_numbers(labels)
    index, unseen = class_index(known, keys)
    if unseen.any():
        i = int(np.argmax(unseen))
        raise InputError(f"{locate(i)}: label {_text(labels[i])} is not one of the classes the model was "
                         f"trained on ({_listing(classes)})")
    return index


def class_index(classes, keys):
    """(index (n,), unseen (n,) bool): where each key stands in the sorted `classes`, compared exactly.

    index is meaningful only where unseen is False.
    """
    index = np.clip(np.searchsorted(classes, keys), 0, len(classes) - 1)  # (n,)
    return index, classes[index] != keys


def split(X, y, test_size, seed, *, overwrite=False):
    """Stratified, seeded split into (X_train, X_test, y_train, y_test); rows keep their order.

    With overwrite=True the training rows are gathered inside X's own memory and X is shrunk to them
    (the caller must not use X afterwards), so the split costs only the copy of the test rows.
    """
    from sklearn.model_selection import train_test_split

    N = X.shape[0]
    n_test = int(np.ceil(test_size * N))
    C = int(y.max()) + 1
    if n_test < C or N - n_test < C:
        raise InputError(f"too few rows ({N}) for a test split of {test_size:g} with {C} classes: each side "
                         f"needs at least one row per class")
    counts = np.bincount(y)
    if counts.min() < 2:
        raise InputError(f"class index {int(counts.argmin())} has a single row; a stratified split needs two")
    train, test = train_test_split(np.arange(N), test_size=test_size, random_state=seed, stratify=y)
    train.sort()
    test.sort()
    X_test, y_train, y_test = X[test], y[train], y[test]
    if not overwrite:
        return X[train], X_test, y_train, y_test
    # Row k of the training set comes from row train[k] >= k, so filling rows in increasing order
    # never overwrites a row still to be read (each block is read whole before it is written).
    rows = _rows_per_block(X)
    for start in range(0, len(train), rows):
        index = train[start:start + rows]
        X[start:start + len(index)] = X[index]
    if X.flags.owndata and X.flags.c_contiguous:
        X.resize((len(train), X.shape[1]), refcheck=False)
        return X, X_test, y_train, y_test
    return X[:len(train)], X_test, y_train, y_test


def standardization(X, locate=None):
    """(mean (D,), scale (D,)) of X's columns; a constant column gets scale 1 and maps to exactly 0.

    Two passes over blocks of rows, so no temporary as large as X is made. Each column is first
    divided by a power of two near its largest |x|, so that its sums cannot overflow (values near
    1e308) or underflow (values near 1e-300); scaling by a power of two is exact, so ordinary
    columns get the same result as without it. InputError when the standardized column would still
    not be finite (values spread over more than the float64 range); locate(j) names column j.
    """
    N, D = X.shape
    low, high = X[0].astype(np.float64), X[0].astype(np.float64)
    for block in _row_blocks(X):
        np.minimum(low, block.min(axis=0), out=low)
        np.maximum(high, block.max(axis=0), out=high)
    constant = low == high
    # unit = 2**(e-1) where max |x| = f 2**e, 0.5 <= f < 1: x / unit lies in [-2, 2], and unit <= 2**1023
    unit = np.ldexp(1.0, np.frexp(np.maximum(np.abs(low), np.abs(high)))[1] - 1)  # (D,)
    total = np.zeros(D)                   # (D,) sum of x / unit
    for block in _row_blocks(X):
        total += (block / unit).sum(axis=0)
    center = total / N                    # (D,) the mean of x / unit
    squares = np.zeros(D)                 # (D,)
    for block in _row_blocks(X):
        deviation = block / unit          # a new array: X is not changed
        deviation -= center
        squares += np.einsum("nd,nd->d", deviation, deviation)
    with np.errstate(over="ignore", invalid="ignore"):
        mean = np.where(constant, low, center * unit)   # (D,)
        scale = np.sqrt(squares / N) * unit             # (D,)
        scale[constant | (scale == 0)] = 1.0
        # the largest |x - mean| that standardize will compute
        reach = np.maximum(high - mean, mean - low)     # (D,)
    bad = ~(np.isfinite(mean) & np.isfinite(scale) & np.isfinite(reach))
    if bad.any():
        j = int(np.argmax(bad))
        where = locate(j) if locate is not None else f"column {j}"
        raise InputError(f"{where}: the values (from {low[j]:.3g} to {high[j]:.3g}) are too far apart to "
                         f"standardize in float64; rescale the column")
    return mean, scale


def standardize(X, mean, scale):
    """X <- (X - mean) / scale, in place; returns X."""
    X -= mean
    X /= scale
    return X


def label_place(path, row, target=None):
    """Where the label of `row` (counted from 1) of `load_table(path, target)` stands, for a message.

    Reads no more than the header of a CSV file or the schema of a Parquet file.
    """
    path = os.fspath(path)
    if table_format(path) == "npz":
        return f"{path}: y[{row - 1}]"
    with open_table(path, target=target) as table:
        return table.label_place(row)


# Reading tables


def _check_readable(path):
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory, not a data file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied")


class Table:
    """An open data file, read in blocks of rows; see `open_table`. One subclass per format."""

    names = None        # feature names, in X's column order (None: the file has no column names)
    target = None       # the label column's name (None: no label column is read)

    def __init__(self, path, *, target, features, n_features, labels):
        self.path = path
        self.want_labels = labels
        try:
            self._open()
        except InputError:
            self.close()
            raise
        except (*_READ_ERRORS, ValueError, UnicodeError, csv.Error) as e:
            self.close()
            raise InputError(f"{path}: cannot read it: {short_reason(e)}") from None
        if self.columns is None:
            self._select_unnamed(n_features)
        else:
            self._select(target, features, n_features)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def blocks(self):
        """Yield (first_row, X (n, D) float64, labels (n,) or None) for consecutive blocks of rows."""
        row = 1
        try:
            for X, y in self._blocks():
                yield row, X, y
                row += X.shape[0]
        except InputError:
            raise
        except (*_READ_ERRORS, ValueError, UnicodeError, csv.Error) as e:
            raise InputError(f"{self.path}: cannot read it past row {row - 1}: {short_reason(e)}") from None
        if row == 1:
            raise InputError(f"{self.path}: {self._no_rows}")

    def rows_hint(self, rows_read):
        """An estimate of the number of rows in the file (exact where the format stores it)."""
        return self.n_rows

    def close(self):
        pass

    def label_place(self, row):
        """Where the label of `row` (counted from 1) stands in the file, for a message."""
        if self.columns is None:
            return f"{self.path}: y[{row - 1}]"
        return f"{self.path}, row {row}, column {self.target!r}"

    def _select(self, target, features, n_features):
        """Pick the feature columns (`columns_read`, in X's order) and the label column among the named ones."""
        path, columns = self.path, self.columns
        seen = set()
        for name in columns:
            if name in seen:
                raise InputError(f"{path}: the column name {name!r} appears twice; names must be distinct")
            seen.add(name)
        if target is not None and target not in seen:
            if self.want_labels:
                raise InputError(f"{path}: no column named {target!r} to read the labels from "
                                 f"(columns: {_listing(columns)})")
            target = None
        if features is not None:
            missing = [name for name in features if name not in seen]
            if missing:
                raise InputError(f"{path}: no column {_listing(missing, 5)}: the model was trained on the "
                                 f"features {_listing(features)}")
            if target in features:
                raise InputError(f"{path}: the label column {target!r} is one of the model's features")
            others = [name for name in columns if name not in set(features)]
            if target is None and len(others) == 1:
                target = others[0]
            elif target is None and self.want_labels:
                if others:
                    raise InputError(f"{path}: several columns besides the model's features "
                                     f"({_listing(others)}): name the label column with --target")
                raise InputError(f"{path}: no label column besides the model's features")
            extra = [name for name in others if name != target]
            if extra:
                raise InputError(f"{path}: unexpected column {_listing(extra, 5)}: the model was trained on "
                                 f"the features {_listing(features)}" + ("" if self.want_labels else
                                 " (and at most one label column, which predict ignores)"))
            names = list(features)
        else:
            if target is None and (self.want_labels or len(columns) == (n_features or 0) + 1):
                target = columns[-1]
            names = [name for name in columns if name != target]
            if not names:
                raise InputError(f"{path}: no feature columns: the only column is the label column {target!r}")
            if n_features is not None and len(names) != n_features:
                if self.want_labels:
                    raise InputError(f"{path}: {len(names)} feature columns besides the label column {target!r} "
                                     f"({_listing(names, 5)}), but the model was trained on {n_features}")
                raise InputError(f"{path}: {len(columns)} columns ({_listing(columns, 5)}), but the model was "
                                 f"trained on {n_features} features (and a label column, if any, comes last)")
        position = {name: j for j, name in enumerate(columns)}
        self.names = names
        self.target = target if self.want_labels else None
        self.columns_read = [position[name] for name in names]
        self.target_column = position[target] if self.want_labels else None

    def _select_unnamed(self, n_features):
        D = self.n_columns
        if n_features is not None and D != n_features:
            raise InputError(f"{self.path}: X has {D} feature columns, but the model was trained on {n_features}")
        self.columns_read = list(range(D))
        self.target_column = None

    def _check_finite(self, X, locate):
        """InputError at the first NaN or infinity of a block; locate(i, j) says where in the file."""
        finite = np.isfinite(X)
        if not finite.all():
            i, j = (int(k) for k in np.argwhere(~finite)[0])
            what = "NaN (a missing value?)" if np.isnan(X[i, j]) else "an infinite value"
            raise InputError(f"{locate(i, j)}: {what}; features must be finite numbers")


class _Csv(Table):
    n_rows = None
    _no_rows = "has a header row but no data rows"

    def _open(self):
        self.delimiter = "\t" if os.path.splitext(self.path)[1].lower() in (".tsv", ".tab") else ","
        self.file = open(self.path, "rb")
        self.size = os.fstat(self.file.fileno()).st_size
        header = self.file.readline()
        while header.count(b'"') % 2 and header.endswith(b"\n"):  # a quoted name holds a line break
            more = self.file.readline()
            if not more:
                break
            header += more
        if not header:
            raise InputError(f"{self.path}: the file is empty; a CSV file starts with a header row naming "
                             f"its columns")
        self.header_lines = header.count(b"\n")
        self.consumed = len(header)
        text = self._decode(header, 1, "utf-8-sig")
        if not text.strip():
            raise InputError(f"{self.path}, line 1: the header row is empty; a CSV file starts with a header "
                             f"row naming its columns")
        try:
            self.columns = [name.strip() for name in next(csv.reader([text], delimiter=self.delimiter))]
        except csv.Error as e:
            raise InputError(f"{self.path}, line 1: cannot read the header row: {e}") from None

    def close(self):
        file = getattr(self, "file", None)
        if file is not None:
            file.close()

    def rows_hint(self, rows_read):
        return int(self.size * rows_read / max(self.consumed, 1) * 1.05) + 16

    def _blocks(self):
        kinds = [None] * len(self.columns)        # per column: its X column, "label" or None (skipped)
        for k, j in enumerate(self.columns_read):
            kinds[j] = k
        if self.target_column is not None:
            kinds[self.target_column] = "label"
        fields, places = _record_dtype(kinds)
        line = self.header_lines + 1
        self.rows_done = 0
        for piece in self._pieces():
            text = self._decode(piece, line, "utf-8")
            if text.strip():
                records = self._parse(text, fields, line)
                X = np.empty((records.shape[0], len(self.columns_read)))   # (n, D)
                for name, index in places:
                    X[:, index] = records[name]
                self._check_finite(X, lambda i, j: self._where(text, line, i, self.columns_read[j]))
                y = None
                if self.target_column is not None:
                    y = np.char.strip(records["label"].astype(str))
                    empty = y == ""
                    if empty.any():
                        i = int(np.argmax(empty))
                        raise InputError(f"{self._where(text, line, i, self.target_column)}: the label is empty")
                yield X, y
                self.rows_done += X.shape[0]
            line += piece.count(b"\n")

    def _pieces(self):
        """Consecutive pieces of the file's bytes, each ending after a whole record."""
        rest = b""
        while True:
            chunk = self.file.read(BLOCK_BYTES)
            if not chunk:
                break
            buffer = rest + chunk
            end = buffer.rfind(b"\n") + 1
            while end and buffer.count(b'"', 0, end) % 2:  # that line break is inside a quoted field
                end = buffer.rfind(b"\n", 0, end - 1) + 1
            rest = buffer[end:]
            if end:
                self.consumed += end
                yield buffer[:end]
        if rest:
            self.consumed += len(rest)
            yield rest

    def _decode(self, piece, line, encoding):
        if b"\x00" in piece:
            line += piece.count(b"\n", 0, piece.index(b"\x00"))
            raise InputError(f"{self.path}, line {line}: a NUL byte; this is not a text (CSV) file")
        try:
            return piece.decode(encoding)
        except UnicodeDecodeError as e:
            line += piece.count(b"\n", 0, e.start)
            raise InputError(f"{self.path}, line {line}: byte 0x{piece[e.start]:02x} is not UTF-8 text; "
                             f"save the file as UTF-8 CSV") from None

    def _parse(self, text, fields, line):
        """numpy's C parser reads the block; if it refuses, find the row and column to blame."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return np.loadtxt(io.StringIO(text), dtype=fields, delimiter=self.delimiter, quotechar='"',
                                  comments=None, ndmin=1)
        except ValueError as e:
            self._diagnose(text, line)
            last = line + text.count("\n")
            raise InputError(f"{self.path}, lines {line}-{last}: {short_reason(e)}") from None

    def _diagnose(self, text, line):
        """InputError at the first record that has the wrong number of fields or a feature that is no number."""
        reader = csv.reader(io.StringIO(text), delimiter=self.delimiter)
        n_columns = len(self.columns)
        i = -1
        try:
            for record in reader:
                if not record:
                    continue  # a blank line: numpy's parser skips it too
                i += 1
                if len(record) != n_columns:
                    raise InputError(f"{self._where(text, line, i)}: {_count(len(record), 'field')}, but the "
                                     f"header names {n_columns} columns")
                for j in self.columns_read:
                    cell = record[j].strip()
                    if not cell:
                        raise InputError(f"{self._where(text, line, i, j)}: the cell is empty (missing values "
                                         f"are not supported)")
                    if not _is_number(cell):
                        raise InputError(f"{self._where(text, line, i, j)}: {cell!r} is not a number")
        except csv.Error as e:
            raise InputError(f"{self.path}, line {line + reader.line_num - 1}: {e}") from None

    def _where(self, text, line, i, j=None):
        """'file, row R (line L), column NAME' for record i (blank lines not counted) of a block."""
        reader = csv.reader(io.StringIO(text), delimiter=self.delimiter)
        start, k = 1, -1
        for record in reader:
            if record:
                k += 1
                if k == i:
                    break
            start = reader.line_num + 1
        row = self.rows_done + i + 1
        column = "" if j is None else f", column {self.columns[j]!r}"
        return f"{self.path}, row {row} (line {line + start - 1}){column}"


class _Npz(Table):
    columns = None
    _no_rows = "X has no rows"

    def _open(self):
        try:
            self.zip = zipfile.ZipFile(self.path)
        except zipfile.BadZipFile:
            raise InputError(f"{self.path}: not an NPZ file (not a zip archive)") from None
        arrays = [name[:-4] for name in self.zip.namelist() if name.endswith(".npy")]
        if "X" not in arrays:
            raise InputError(f"{self.path}: no array X in the NPZ file (arrays: {_listing(arrays) or 'none'})")
        self.stream = self.zip.open("X.npy")
        version = np.lib.format.read_magic(self.stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(self.stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(self.stream)
        else:
            raise InputError(f"{self.path}: X is stored in .npy format version {version}, which is not read here")
        if len(shape) != 2:
            raise InputError(f"{self.path}: X has shape {shape}; it must be 2-D, one row per sample")
        if dtype.kind not in "iufb":
            raise InputError(f"{self.path}: X holds {dtype} values; features must be numbers")
        self.n_rows, self.n_columns = shape
        self.fortran, self.dtype = fortran, dtype
        self.y = None
        if self.want_labels:
            if "y" not in arrays:
                raise InputError(f"{self.path}: no array y (the labels) in the NPZ file "
                                 f"(arrays: {_listing(arrays)})")
            try:
                with self.zip.open("y.npy") as f:
                    y = np.lib.format.read_array(f, allow_pickle=False)
            except ValueError as e:
                if "Object arrays" not in str(e):
                    raise
                raise InputError(f"{self.path}: y holds Python objects, which are not read (they could run "
                                 f"code); store the labels as numbers or text") from None
            if y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]
            if y.shape != (self.n_rows,):
                raise InputError(f"{self.path}: y has shape {y.shape}, but X has {self.n_rows} rows; y must be "
                                 f"1-D with one label per row")
            if y.dtype.kind not in "iufbUS":
                raise InputError(f"{self.path}: y holds {y.dtype} values; labels must be numbers or text")
            self.y = y.astype(str) if y.dtype.kind == "S" else y

    def close(self):
        for name in ("stream", "zip"):
            handle = getattr(self, name, None)
            if handle is not None:
                handle.close()

    def _blocks(self):
        N, D = self.n_rows, self.n_columns
        if self.fortran:  # columns are stored one after another: read them all at once
            data = self.stream.read(N * D * self.dtype.itemsize)
            _check_length(self.path, data, N * D * self.dtype.itemsize)
            X = np.frombuffer(data, dtype=self.dtype).reshape((N, D), order="F").astype(np.float64)
            blocks = [(0, X)]
        else:
            blocks = self._stored_rows(N, D)
        for start, X in blocks:
            self._check_finite(X, lambda i, j: f"{self.path}: X[{start + i}, {j}]")
            y = None
            if self.y is not None:
                y = self.y[start:start + X.shape[0]]
                if y.dtype.kind == "f" and not np.isfinite(y).all():
                    raise InputError(f"{self.path}: y[{start + int(np.argmin(np.isfinite(y)))}] is not a finite "
                                     f"number; every row needs a label")
            yield X, y

    def _stored_rows(self, N, D):
        """(first row index, X (n, D) float64) for blocks of the C-ordered array as stored."""
        row_bytes = max(D * self.dtype.itemsize, 1)
        rows = max(1, BLOCK_BYTES // row_bytes)
        for start in range(0, N, rows):
            n = min(rows, N - start)
            data = self.stream.read(n * row_bytes) if D else b""
            _check_length(self.path, data, n * row_bytes if D else 0)
            yield start, np.frombuffer(data, dtype=self.dtype).reshape(n, D).astype(np.float64)

    def _select_unnamed(self, n_features):
        if self.n_columns == 0:
            raise InputError(f"{self.path}: X has no columns")
        super()._select_unnamed(n_features)


class _Parquet(Table):
    _no_rows = "has no rows"

    def _open(self):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise InputError(f"{self.path}: reading Parquet files needs pyarrow: "
                             f"pip install 'residual_mlp[parquet]'") from None
        import pyarrow as pa

        try:
            self.file = pq.ParquetFile(self.path)
        except (pa.ArrowException, OSError) as e:
            raise InputError(f"{self.path}: not a Parquet file, or a damaged one ({short_reason(e)})") from None
        self.columns = list(self.file.schema_arrow.names)
        self.n_rows = self.file.metadata.num_rows

    def close(self):
        file = getattr(self, "file", None)
        if file is not None:
            file.close()

    def _blocks(self):
        import pyarrow as pa

        wanted = [self.columns[j] for j in self.columns_read]
        label = None if self.target_column is None else self.columns[self.target_column]
        start = 0
        try:
            read = wanted + ([label] if label else [])
            for batch in self.file.iter_batches(batch_size=BLOCK_ROWS, columns=read):
                n = batch.num_rows
                X = np.empty((n, len(wanted)))                                 # (n, D)
                for k, name in enumerate(wanted):
                    X[:, k] = self._numbers(batch.column(name), name, start)
                self._check_finite(X, lambda i, j: f"{self.path}, row {start + i + 1}, column {wanted[j]!r}")
                y = None
                if label is not None:
                    y = self._values(batch.column(label), label, start)
                    if y.dtype.kind == "O":
                        y = y.astype(str)
                    elif y.dtype.kind == "f" and not np.isfinite(y).all():
                        i = int(np.argmin(np.isfinite(y)))
                        raise InputError(f"{self.path}, row {start + i + 1}, column {label!r}: the label is not a "
                                         f"finite number")
                yield X, y
                start += n
        except pa.ArrowException as e:
            raise InputError(f"{self.path}: cannot read it past row {start}: {short_reason(e)}") from None

    def _values(self, column, name, start):
        """A column of a batch as numpy values; InputError at its first missing value."""
        import pyarrow as pa

        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        if column.null_count:
            i = int(np.argmax(column.is_null().to_numpy(zero_copy_only=False)))
            raise InputError(f"{self.path}, row {start + i + 1}, column {name!r}: a missing value (null)")
        return column.to_numpy(zero_copy_only=False)

    def _numbers(self, column, name, start):
        import pyarrow as pa

        kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
        numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind) \
            or pa.types.is_decimal(kind)
        text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
        if not (numeric or text):
            raise InputError(f"{self.path}, column {name!r}: holds values of type {kind}; features must be "
                             f"numbers")
        values = self._values(column, name, start)
        if numeric:
            return values.astype(np.float64)
        for i, cell in enumerate(values):
            if not _is_number(cell.strip()):
                raise InputError(f"{self.path}, row {start + i + 1}, column {name!r}: {cell!r} is not a number")
        return values.astype(np.float64)


def _record_dtype(kinds):
    """A structured dtype reading a CSV record: one field per run of adjacent features or skipped columns.

    Returns (dtype, places): places pairs each feature field with the X columns it fills.
    """
    fields, places = [], []
    j = 0
    while j < len(kinds):
        kind = kinds[j]
        if kind == "label":
            fields.append(("label", "O"))
            j += 1
            continue
        end = j + 1
        while end < len(kinds) and kinds[end] != "label" and (kinds[end] is None) == (kind is None):
            end += 1
        name = f"c{j}"
        if kind is None:
            fields.append((name, "O", (end - j,)))
        else:
            fields.append((name, "f8", (end - j,)))
            places.append((name, np.array(kinds[j:end])))
        j = end
    return np.dtype(fields), places


def _typed_labels(labels, table):
    """Labels as integers if every one is an integer, as floats if every one is a number, else as text."""
    if labels.dtype.kind not in "US":
        return labels
    for dtype in (np.int64, np.float64):
        try:
            typed = labels.astype(dtype)
        except (ValueError, OverflowError):
            continue
        if dtype is np.float64 and not np.isfinite(typed).all():
            i = int(np.argmin(np.isfinite(typed)))
            raise InputError(f"{table.label_place(i + 1)}: the label {_text(labels[i])} is not a finite number")
        return typed
    return labels


def _integers(values):
    """values as int64 when every one is an integer in int64's range (numbers or text), else None."""
    if values.dtype.kind in "iub":
        if values.dtype.kind == "u" and values.size and values.max() > np.iinfo(np.int64).max:
            return None
        return values.astype(np.int64)
    if values.dtype.kind not in "US":
        return None  # floats compare as floats
    try:
        return values.astype(np.int64)
    except (ValueError, OverflowError, TypeError):
        return None


def _as_numbers(labels):
    """Labels as float64 for comparison with numeric classes; text that is no number becomes NaN."""
    if labels.dtype.kind not in "USO":
        return labels.astype(np.float64)
    try:
        return labels.astype(np.float64)
    except ValueError:
        return np.array([_float_or_nan(v) for v in labels.tolist()])


def _float_or_nan(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _is_number(cell):
    if "_" in cell:
        return False
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _check_length(path, data, expected):
    if len(data) != expected:
        raise InputError(f"{path}: X's data end early: the file is truncated or damaged")


def _rows_per_block(X):
    return max(1, BLOCK_BYTES // max(X.shape[1] * X.itemsize, 1))


def _row_blocks(X):
    rows = _rows_per_block(X)
    for start in range(0, X.shape[0], rows):
        yield X[start:start + rows]


def _count(n, noun):
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _text(label):
    return repr(label.item() if isinstance(label, np.generic) else label)


def _listing(names, limit=12):
    names = [str(n) for n in names]
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")
