"""Data: the user's tables (CSV, NPZ, Parquet), the bundled data sets, labels, the split and scaling.

`read_table` reads a whole table into a `Table`: a pandas DataFrame of the raw feature columns, typed
but not yet encoded (the preprocessing pipeline encodes them), and the labels. `iter_table` yields a
table in blocks of rows, so that `predict` can stream a file larger than memory.

    CSV      a header row naming the columns, then one row per sample. Separator ``,`` ``;`` tab or
             ``|``, detected from the header and the first lines (tab for .tsv), or given. UTF-8 with
             or without a byte-order mark, or UTF-16 with one. Compressed by extension: .gz, .bz2,
             .zst/.zstd, .xz. Parsed by pyarrow's streaming CSV reader, which infers each column's
             type (integer, float, boolean, date/time, else text); a column whose later rows do not
             fit the type inferred from the first block is read again wider (int64 -> float64 ->
             text). The label column is read as text, exactly as written.
    NPZ      arrays X (N, D) of numbers and y (N,) of labels, as `numpy.savez` writes them; the
             features are named x0 .. x{D-1}.
    Parquet  named columns; the index columns pandas stores (``__index_level_0__``, or a named index)
             come back as ordinary columns, and are never the default label column.

Missing cells (`NA_VALUES` in CSV files, nulls in Parquet, NaN) are NaN / None / NA in the features;
rows whose label is missing are left out and counted. Every problem with a file raises InputError,
one line naming the file and, where it applies, the row (counted from 1 after the header), the line
of the file and the column.
"""
from __future__ import annotations

import codecs
import csv
import dataclasses
import difflib
import io
import itertools
import os
import re
import stat
import zipfile
import zlib

import numpy as np

from .errors import InputError, short_reason

DATASETS = ("digits", "iris", "wine", "breast_cancer")

_DECIMAL_COMMA = re.compile(r"^[-+]?(\d{1,3}(\.\d{3})+|\d+),\d+$")   # 3,14 and 57.689,59
_DECIMAL_POINT = re.compile(r"^[-+]?\d*\.\d+$")
_LEADING_ZERO = re.compile(r"^[-+]?0\d")   # 01234: a code (zip, account), not a number
_GROUPED = re.compile(r"^[-+]?\d{1,3}(\.\d{3})+$")   # 9.000: a decimal point or thousands; proves neither
# in a file read with decimal commas: a number with "." grouping thousands (9.000, 57.689,59, 0,5)
_COMMA_NUMBER = re.compile(r"^[-+]?([1-9]\d{0,2}(\.\d{3})*|0)(,\d+)?$")
NA_VALUES = ("", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "null", "NULL", "None", "#N/A", "<NA>", "?")
"""The cells of a CSV file read as missing, in any column (the label column too): pandas' usual
markers (its `read_csv` default list, less the rarer spellings such as ``#N/A N/A`` and ``1.#IND``)
and ``?``. Pass `na_values` to `read_table` / `iter_table` to use another list."""

SEPARATORS = (",", ";", "\t", "|")   # the CSV separators detected, in order of preference on a tie
BLOCK_BYTES = 1 << 20   # bytes of CSV text parsed per block (1 MiB: faster than 8, the batch stays in cache)
SNIFF_BYTES = 1 << 16   # bytes read first to detect the encoding and the separator
SNIFF_LINES = 20        # data lines, after the header, that must agree on the separator

_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd", ".xz": "xz"}
_SEPARATOR_NAMES = {",": "',' (comma)", ";": "';' (semicolon)", "\t": "tab", "|": "'|' (pipe)"}
_CONVERSION = re.compile(r"In CSV column #(\d+): (?:Row #\d+: )?CSV conversion error to ([\w\[\], ]+?): (.*)",
                         re.DOTALL)
_DEFLATE_RATIO = 1100   # deflate cannot expand data by more than about 1032:1
_READ_ERRORS = (OSError, EOFError, zipfile.BadZipFile, zlib.error)  # what unreadable or damaged files raise


@dataclasses.dataclass
class Table:
    """A table read by `read_table`.

    Attributes
    ----------
    features : pandas.DataFrame (N, D)
        Every column but the label column, in file order, with the file's column names (NPZ: x0 ..
        x{D-1}; an empty CSV header cell j: "Unnamed: j", as pandas names it). Numbers are float64
        or int64 (integers with a missing cell: float64), booleans bool (pandas "boolean" with a
        missing cell), dates and times datetime64 where pyarrow recognised them, other text str.
        Missing cells are NaN / None / NA.
    labels : numpy.ndarray (N,) or None
        CSV: the label texts exactly as written (object array of str). NPZ / Parquet: numeric label
        columns keep their dtype; text is an object array of str. None when read with labels=False.
    target : str or None
        The label column's name (None for NPZ, and when no label column was read).
    n_dropped_labels : int
        Rows left out because their label was missing (an empty or NA cell, null, NaN).
    path : str
        The file read (the data set's name for `load_dataset`).
    sep : str or None
        The CSV separator used (None for other formats).
    """

    features: object
    labels: object
    target: str | None
    n_dropped_labels: int
    path: str
    sep: str | None = None


def table_format(path):
    """"csv", "npz" or "parquet", from the file name's extension (anything else is read as CSV)."""
    ext, _ = _extension(os.fspath(path))
    return {".npz": "npz", ".parquet": "parquet", ".pq": "parquet"}.get(ext, "csv")


def read_table(path, *, target=None, sep=None, na_values=None, labels=True):
    """Read a whole table: its raw feature columns and its labels.

    Parameters
    ----------
    path : str or path-like
        A CSV, NPZ or Parquet file (see the module's docstring).
    target : str or None
        The label column. None: the last column (for Parquet, the last that is not a pandas index
        column). NPZ files hold their labels in the array y: naming a column there is an error.
    sep : str or None
        The CSV separator; None: detected (tab for .tsv files).
    na_values : sequence of str or None
        The CSV cells read as missing; None: `NA_VALUES`.
    labels : bool
        True: the file must have labels. False: no label column is needed; a `target` that the file
        has is still left out of the features.

    Returns
    -------
    Table
        features (N, D) DataFrame, labels (N,) or None, and what was read; see `Table`. Rows whose
        label is missing are left out of both and counted in n_dropped_labels.

    Raises
    ------
    InputError
        One line naming the file (and row, line, column where they apply): a missing, unreadable or
        non-regular file, an empty file or one with a header and no rows, duplicate or unknown column
        names (with the closest names), a row with the wrong number of fields, bytes that are not
        text, a separator that leaves one column, every label missing, a damaged NPZ / Parquet file.
    """
    path = os.fspath(path)
    _check_readable(path)
    kind = table_format(path)
    if kind == "npz":
        return _read_npz(path, target, labels)
    if kind == "parquet":
        return _read_parquet(path, target, labels)
    return _read_csv(path, target, sep, na_values, labels)


def iter_table(path, *, sep=None, na_values=None, block_rows=65536):
    """Yield a whole table (every column, the label column too if any) in consecutive blocks of rows.

    Parameters
    ----------
    path : str or path-like
        A CSV, NPZ or Parquet file (see the module's docstring).
    sep, na_values
        As for `read_table`.
    block_rows : int
        Rows per block (the last block may have fewer).

    Yields
    ------
    pandas.DataFrame (n, D)
        Typed as `read_table` types features, the same in every block: a CSV column whose later
        rows need a wider type has it in every block (a first pass over the file settles the
        types), and an integer column with a missing cell anywhere is float64 everywhere. NPZ files
        give columns x0 .. x{D-1}, and y when the file has labels.

    Raises
    ------
    InputError
        As `read_table`, for problems found before or while reading.
    """
    path = os.fspath(path)
    _check_readable(path)
    if block_rows < 1:
        raise ValueError(f"block_rows must be at least 1, got {block_rows}")
    kind = table_format(path)
    if kind == "npz":
        yield from _iter_npz(path, block_rows)
    elif kind == "parquet":
        yield from _iter_parquet(path, block_rows)
    else:
        yield from _iter_csv(path, sep, na_values, block_rows)


def load_dataset(name):
    """A data set that scikit-learn ships, as a Table.

    features: a float64 DataFrame with the data set's feature names; labels: the class names as
    str (iris, wine, breast_cancer), or the digits 0-9 as int64 (digits); target: "target".
    """
    import pandas as pd
    from sklearn import datasets

    if name not in DATASETS:
        raise InputError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    bunch = getattr(datasets, f"load_{name}")()
    features = pd.DataFrame(bunch.data.astype(np.float64), columns=[str(n) for n in bunch.feature_names])
    if name == "digits":
        labels = bunch.target.astype(np.int64)
    else:
        labels = np.asarray([str(c) for c in bunch.target_names], dtype=object)[bunch.target]
    return Table(features=features, labels=labels, target="target", n_dropped_labels=0, path=name)


def closest_columns(name, columns, n=5):
    """Up to n column names like `name`: the same but for case first, then difflib's close matches
    (compared without case); looks at every column however many there are."""
    by_lower = {}
    for column in columns:
        by_lower.setdefault(str(column).lower(), []).append(column)
    found = list(by_lower.get(name.lower(), []))
    for key in difflib.get_close_matches(name.lower(), list(by_lower), n=n, cutoff=0.6):
        found += [column for column in by_lower[key] if column not in found]
    return found[:n]


def no_column_message(path, name, columns):
    """"FILE: no column 'X'; closest: 'x', ..." (or the file's first columns when none is close)."""
    close = closest_columns(name, columns)
    if close:
        return f"{path}: no column {name!r}; closest: {', '.join(repr(c) for c in close)}"
    return f"{path}: no column {name!r} (columns: {_listing(columns)})"


# Reading tables: checks common to every format


def _extension(path):
    """(the table's extension, the compression or None): "d.csv.gz" -> (".csv", "gzip")."""
    base, ext = os.path.splitext(path.lower())
    compression = _COMPRESSION.get(ext)
    if compression is not None:
        ext = os.path.splitext(base)[1]
    return ext, compression


def _check_readable(path):
    """InputError unless path is a regular file this process may read (a device such as /dev/zero
    would never end: it is refused before it is opened)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read it: {short_reason(e)}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: is a directory, not a data file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: is not a regular file (a device, pipe or socket); save the data to a file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied")


def _check_names(path, names):
    seen = set()
    for name in names:
        if name in seen:
            raise InputError(f"{path}: the column name {name!r} appears twice; names must be distinct")
        seen.add(name)


def _choose_target(path, names, target, labels, index_columns=()):
    """The label column's name, or None when labels are not wanted and none is named or present."""
    if target is None:
        if not labels:
            return None
        candidates = [name for name in names if name not in set(index_columns)]
        if not candidates:
            raise InputError(f"{path}: no column to read the labels from (only index columns: "
                             f"{_listing(names)})")
        target = candidates[-1]
    elif target not in names:
        if not labels:
            return None
        raise InputError(no_column_message(path, target, names))
    if labels and len(names) == 1:
        raise InputError(f"{path}: no feature columns: the only column is the label column {target!r}")
    return target


def _finish(path, frame, label_values, target, sep, n_dropped):
    """The Table, once every row with a missing label is gone; InputError when none is left."""
    if label_values is not None and len(label_values) == 0 and n_dropped:
        raise InputError(f"{path}, column {target!r}: every label is missing ({_count(n_dropped, 'row')}); "
                         f"name the label column with --target")
    return Table(features=frame, labels=label_values, target=target, n_dropped_labels=n_dropped, path=path,
                 sep=sep)


# Collecting record batches into one DataFrame


class _Columns:
    """Arrow record batches collected into columns: every floating-point column into one growing
    float64 (N, D) matrix (the DataFrame is built on it without a copy), the others as Arrow chunks.

    reset(schema) starts over (a CSV file read again with a wider column type); add(batch) appends.
    """

    def __init__(self, rows_hint):
        self.rows_hint = rows_hint   # rows_hint(rows_read, bytes_hint) -> an estimate of the total rows
        self.schema = None

    def reset(self, schema):
        import pyarrow as pa

        self.schema = schema
        self.floats = [j for j, field in enumerate(schema) if pa.types.is_floating(field.type)]
        self.chunks = {j: [] for j in range(len(schema)) if j not in set(self.floats)}
        self.X = None
        self.n = 0

    def add(self, batch):
        end = self.n + batch.num_rows
        if self.floats:
            if self.X is None or end > self.X.shape[0]:
                self._grow(end)
            for k, j in enumerate(self.floats):
                self.X[self.n:end, k] = batch.column(j).to_numpy(zero_copy_only=False)  # a null is NaN
        for j, chunks in self.chunks.items():
            chunks.append(batch.column(j))
        self.n = end

    def _grow(self, end):
        # An estimate that overshoots costs address space, not memory: rows never written are never
        # touched. A C realloc grows or shrinks the array in place where it can.
        D = len(self.floats)
        rows = max(end, self.rows_hint(end), 0 if self.X is None else self.X.shape[0] * 5 // 4)
        if self.X is None:
            self.X = np.empty((rows, D))                 # (N, D)
        else:
            self.X.resize((rows, D), refcheck=False)

    def finish(self, label=None):
        """(features DataFrame, label column as an Arrow ChunkedArray or None, missing (N,) bool or None).

        Rows whose label is null (or NaN) are removed in place before the DataFrame is built.
        """
        import pandas as pd
        import pyarrow as pa

        names = self.schema.names
        n = self.n
        X = np.empty((0, len(self.floats))) if self.X is None else self.X
        if X.shape[0] != n:
            X.resize((n, X.shape[1]), refcheck=False)
        columns = {j: pa.chunked_array(chunks, type=self.schema.field(j).type) for j, chunks in self.chunks.items()}
        self.chunks = {}
        label_column = missing = None
        if label is not None:
            j = names.index(label)
            label_column = columns.pop(j) if j in columns else pa.chunked_array([X[:, self.floats.index(j)]])
            missing = label_column.is_null(nan_is_null=True).to_numpy(zero_copy_only=False)
            if missing.any():
                keep = np.flatnonzero(~missing)
                _keep_rows(X, keep)
                X = X[:len(keep)]
                mask = pa.array(~missing)
                columns = {j: column.filter(mask) for j, column in columns.items()}
                label_column = label_column.filter(mask)
        float_names = [names[j] for j in self.floats]
        parts = []
        if self.floats:
            parts.append(pd.DataFrame(X, columns=float_names, copy=False))
        others = {j: column for j, column in columns.items() if names[j] != label}
        if others:
            parts.append(_to_pandas(pa.table(list(others.values()), names=[names[j] for j in others])))
        order = [name for name in names if name != label]
        if not parts:
            return pd.DataFrame(index=pd.RangeIndex(n - int(missing.sum()) if missing is not None else n)), \
                label_column, missing
        frame = parts[0] if len(parts) == 1 else pd.concat(parts, axis=1)
        if label is not None and label in frame.columns:
            frame = frame.drop(columns=[label])
        return frame[order], label_column, missing


def _release_arrow_memory():
    """Hand the memory Arrow's allocator keeps for reuse back to the system (tens of MB after a read)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _keep_rows(X, keep):
    """X[:len(keep)] = X[keep], in place, block by block (keep is increasing, so keep[k] >= k and no
    row is overwritten before it is read)."""
    rows = _rows_per_block(X)
    for start in range(0, len(keep), rows):
        index = keep[start:start + rows]
        X[start:start + len(index)] = X[index]
    if X.flags.owndata and X.flags.c_contiguous and X.shape[0]:
        X.resize((len(keep), X.shape[1]), refcheck=False)


def _to_pandas(table, nullable=None):
    """An Arrow table as a DataFrame typed as `Table.features` documents.

    nullable: names of the columns that have a missing cell somewhere in the file (default: in this
    table); its integer columns become float64 and its boolean columns pandas' "boolean", so that
    every block of a file comes out the same.
    """
    import pyarrow as pa

    if nullable is None:
        nullable = {name for name, column in zip(table.column_names, table.columns) if column.null_count}
    for j, field in enumerate(table.schema):
        kind = field.type
        if pa.types.is_dictionary(kind):
            table = table.set_column(j, field.name, table.column(j).cast(kind.value_type))
            kind = kind.value_type
        if pa.types.is_decimal(kind) or pa.types.is_floating(kind):
            table = table.set_column(j, field.name, table.column(j).cast(pa.float64()))
        elif pa.types.is_integer(kind):
            wide = pa.float64() if field.name in nullable else pa.int64()
            if not (pa.types.is_uint64(kind) and wide == pa.int64()):
                table = table.set_column(j, field.name, table.column(j).cast(wide, safe=False))
    booleans = [field.name for field in table.schema if pa.types.is_boolean(field.type) and field.name in nullable]
    frame = table.to_pandas(date_as_object=False, split_blocks=True, self_destruct=True)
    del table   # self_destruct: the Arrow buffers are released as the columns are converted
    for name in booleans:
        frame[name] = frame[name].astype("boolean")
    return frame


def _label_texts(column):
    """An Arrow column of text as an object array of str; equal texts share one str object, so
    memory grows with the distinct texts, not with rows x the longest."""
    import pyarrow as pa

    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(column.type):
        encoded = column
    else:
        encoded = column.dictionary_encode()
    texts = np.empty(len(encoded.dictionary), dtype=object)
    texts[:] = encoded.dictionary.to_pylist()
    return texts[encoded.indices.to_numpy(zero_copy_only=False)]


def _label_values(path, column, target):
    """Labels of an NPZ / Parquet column: numbers keep their dtype, text becomes str."""
    import pyarrow as pa

    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _label_texts(column)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        if pa.types.is_dictionary(column.type):
            column = column.cast(kind)
        return column.to_numpy()
    raise InputError(f"{path}, column {target!r}: holds values of type {kind}; labels must be numbers or text")


# CSV


class _Csv:
    """A CSV file, sniffed: its compression, encoding, separator and column names."""

    def __init__(self, path, sep, na_values):
        self.path = path
        self.block_bytes = BLOCK_BYTES   # grows when one record is longer
        ext, self.compression = _extension(path)
        self.na_values = list(NA_VALUES if na_values is None else na_values)
        if sep is not None and (len(sep) != 1 or sep in "\"\r\n"):
            raise InputError(f"{path}: the separator must be one character other than a quote or a line "
                             f"break, got {sep!r}")
        sample, complete = self._sample()
        if not sample:
            raise InputError(f"{path}: the file is empty; a CSV file starts with a header row naming its "
                             f"columns")
        if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
            self.encoding, decoder = "utf-16", "utf-16"
        else:
            self.encoding, decoder = "utf8", "utf-8-sig"
            if b"\x00" in sample:   # looked for in the first SNIFF_BYTES: what a binary file shows at once
                line = sample.count(b"\n", 0, sample.index(b"\x00")) + 1
                raise InputError(f"{path}, line {line}: a NUL byte; this is not a text (CSV) file (a compressed "
                                 f"file needs its extension: .gz, .bz2, .zst, .xz)")
        try:
            text = codecs.getincrementaldecoder(decoder)().decode(sample, final=complete)
        except UnicodeDecodeError as e:
            raise self._undecodable(sample.count(b"\n", 0, e.start) + 1, sample[e.start]) from None
        if not complete and "\n" in text:
            text = text[:text.rindex("\n") + 1]   # whole lines only
        if not text.strip():
            raise InputError(f"{path}: the file is empty; a CSV file starts with a header row naming its "
                             f"columns")
        if sep is None:
            sep = "\t" if ext in (".tsv", ".tab") else _detect_separator(text)
        self.sep = sep
        reader = csv.reader(io.StringIO(text), delimiter=sep)
        try:
            header = next(reader)
        except (csv.Error, StopIteration) as e:
            raise InputError(f"{path}, line 1: cannot read the header row: {short_reason(e)}") from None
        self.header_lines = reader.line_num
        if len(header) < 2 and not "".join(header).strip():
            raise InputError(f"{path}, line 1: the header row is empty; a CSV file starts with a header row "
                             f"naming its columns")
        # pandas' names for empty header cells (the unnamed index column that DataFrame.to_csv writes); one
        # that meets a named column of the same name (a file read and written again by pandas) gets ".1", as
        # pandas does
        self.names = [cell if cell else f"Unnamed: {j}" for j, cell in enumerate(header)]
        for j, cell in enumerate(header):
            k = 0
            while not cell and self.names.count(self.names[j]) > 1:
                k += 1
                self.names[j] = f"Unnamed: {j}.{k}"
        _check_names(path, self.names)
        records = []   # the first 200 records, to sniff from; pyarrow's reader is the judge of what follows
        try:
            records.extend(itertools.islice(reader, 200))
        except csv.Error:
            pass
        self.decimal = _decimal_point(text, sep, records)
        self.codes = _code_columns(self.names, records)
        lines = max(text.count("\n") - self.header_lines, 1)
        self.bytes_per_row = len(sample) / (lines + self.header_lines)
        self.size = os.path.getsize(path)

    def _sample(self):
        """(the first bytes of the (decompressed) file, whether that is all of it)."""
        import pyarrow as pa

        try:
            return self._read_sample()
        except (pa.ArrowException, *_READ_ERRORS) as e:
            raise InputError(f"{self.path}: cannot read it: {short_reason(e)}") from None

    def _read_sample(self):
        with self._open() as f:
            sample = f.read(SNIFF_BYTES)
            while sample.count(b"\n") <= SNIFF_LINES and len(sample) < 64 * SNIFF_BYTES:
                more = f.read(SNIFF_BYTES)
                if not more:
                    return sample, True
                sample += more
            more = f.read(1)
        return sample + more, not more

    def _open(self):
        """The file's bytes, decompressed by its extension, as a stream pyarrow reads."""
        import pyarrow as pa

        try:
            if self.compression == "xz" or (self.compression and not pa.Codec.is_available(self.compression)):
                import bz2
                import gzip
                import lzma

                opener = {"xz": lzma.open, "gzip": gzip.open, "bz2": bz2.open}.get(self.compression)
                if opener is None:
                    raise InputError(f"{self.path}: this pyarrow cannot read {self.compression} files; "
                                     f"decompress the file first")
                return opener(self.path, "rb")
            return pa.input_stream(self.path, compression=self.compression)
        except (OSError, pa.ArrowException) as e:
            raise InputError(f"{self.path}: cannot read it: {short_reason(e)}") from None

    def rows_hint(self, rows_read):
        if self.compression is not None:
            return 0   # the file's size says little about its rows
        return int(self.size / self.bytes_per_row * 1.05) + 16

    def single_column(self, labels):
        """InputError when the header has one column and the separator is likely the wrong one."""
        if len(self.names) != 1:
            return
        others = [s for s in SEPARATORS if s != self.sep and s in self.names[0]]
        where = _SEPARATOR_NAMES.get(self.sep, repr(self.sep))
        said = f"{self.path}: the header row is a single column when split at {where}"
        if others:
            raise InputError(f"{said}, but it holds {_SEPARATOR_NAMES[others[0]]}: pass that separator "
                             f"(sep={others[0]!r}, --sep)")
        if labels:
            raise InputError(f"{said}; a table needs feature columns and a label column (pass the separator "
                             f"with sep= / --sep if it is another)")

    def scan(self, column_types, include, on_schema, on_batch):
        """Read the file through once, calling on_schema(schema) then on_batch(batch) for each record
        batch; a column whose later rows do not convert is widened and the file read again from the
        start (on_schema is called again). Returns the column types finally used."""
        types = dict(column_types)
        while True:
            try:
                batches = self.batches(types, include)
                on_schema(next(batches))
                for batch in batches:
                    on_batch(batch)
                return types
            except _Widen as widen:
                if widen.name is None:   # a record longer than a block
                    self.block_bytes *= 4
                else:
                    types[widen.name] = widen.wider

    def batches(self, types, include=None):
        """Generator: the schema, then each record batch of the file read with these column types
        (the others inferred). Raises _Widen when a column must be read wider, else InputError."""
        import pyarrow as pa
        import pyarrow.csv as pc

        bad_rows = []

        def invalid_row(row):
            bad_rows.append(row)
            return "error"

        schema = None
        types = {**{name: pa.string() for name in self.codes}, **types}   # codes with leading zeros stay text
        stream = self._open()
        try:
            reader = pc.open_csv(
                stream,
                read_options=pc.ReadOptions(block_size=self.block_bytes, use_threads=False, encoding=self.encoding,
                                            column_names=self.names, skip_rows=self.header_lines),
                parse_options=pc.ParseOptions(delimiter=self.sep, newlines_in_values=True, ignore_empty_lines=True,
                                              invalid_row_handler=invalid_row),
                convert_options=pc.ConvertOptions(column_types=types, null_values=self.na_values,
                                                  decimal_point=self.decimal,
                                                  strings_can_be_null=True, quoted_strings_can_be_null=True,
                                                  include_columns=include))
            schema = reader.schema
            for field in schema:
                if pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
                    raise self._locate_undecodable()
            yield schema
            yield from reader
        except pa.ArrowInvalid as e:
            raise self._failed(e, bad_rows, schema, types) from None
        except UnicodeError:
            raise self._locate_undecodable() from None
        except (pa.ArrowException, *_READ_ERRORS) as e:
            raise InputError(f"{self.path}: cannot read it: {short_reason(e)}") from None
        finally:
            stream.close()

    def _failed(self, e, bad_rows, schema, types):
        """What an ArrowInvalid means: _Widen (a column to read again wider) or an InputError."""

        message = str(e)
        if "straddl" in message and self.block_bytes < (1 << 31):
            return _Widen(None, None)
        if bad_rows:
            row = bad_rows[0]
            where = f"row {row.number - self.header_lines}" if row.number is not None else "a row"
            return InputError(f"{self.path}, {where}: {_count(row.actual_columns, 'field')}, but the header names "
                              f"{_count(row.expected_columns, 'column')}")
        found = _CONVERSION.match(message)
        if found is None:
            if "UTF8" in message or "UTF-8" in message:
                return self._locate_undecodable()
            return InputError(f"{self.path}: cannot read it: {short_reason(e)}")
        names = schema.names if schema is not None else self.names
        name = names[int(found.group(1))] if int(found.group(1)) < len(names) else self.names[int(found.group(1))]
        if "invalid UTF8" in found.group(3):
            return self._locate_undecodable()
        kind = types.get(name)
        if kind is None and schema is not None:
            kind = schema.field(name).type
        wider = _wider(kind)
        if wider is None:
            return InputError(f"{self.path}, column {name!r}: cannot read it: {short_reason(e)}")
        return _Widen(name, wider)

    def _locate_undecodable(self):
        """InputError at the first line of the file that is not text in its encoding."""
        decoder = codecs.getincrementaldecoder("utf-16" if self.encoding == "utf-16" else "utf-8-sig")()
        line = 1
        with self._open() as f:
            while True:
                chunk = f.read(1 << 20)
                try:
                    decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError as e:
                    # e.start counts from the decoder's buffered bytes, which are at most a few
                    # bytes of the previous chunk: count the line breaks of this chunk before it
                    return self._undecodable(line + chunk.count(b"\n", 0, max(e.start, 0)),
                                             e.object[e.start] if e.start < len(e.object) else None)
                if not chunk:
                    break
                line += chunk.count(b"\n")
        return InputError(f"{self.path}: cannot read it: bytes that are not {self.encoding} text")

    def _undecodable(self, line, byte):
        what = "" if byte is None else f"byte 0x{byte:02x} "
        encoding = "UTF-16" if self.encoding == "utf-16" else "UTF-8"
        return InputError(f"{self.path}, line {line}: {what}is not {encoding} text; save the file as UTF-8 CSV")


def _detect_separator(text):
    """The separator of SEPARATORS that splits the header and the first lines into the same number
    of fields, the most fields; if none does, the one giving the header the most fields."""
    best, best_key = ",", None
    for sep in SEPARATORS:
        counts = []
        try:
            for record in csv.reader(io.StringIO(text), delimiter=sep):
                if record:
                    counts.append(len(record))
                if len(counts) > SNIFF_LINES:
                    break
        except csv.Error:
            continue
        if not counts:
            continue
        key = (counts[0] > 1 and all(n == counts[0] for n in counts), counts[0])
        if best_key is None or key > best_key:
            best, best_key = sep, key
    return best


def _wider(kind):
    """The next type to try for a CSV column that did not convert: int -> float64 -> text."""
    import pyarrow as pa

    if kind is None or pa.types.is_null(kind) or pa.types.is_integer(kind):
        return pa.float64()
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind):
        return None
    return pa.string()


def _code_columns(names, records):
    """The columns whose sampled cells include a number with a leading zero (01234, a zip code): codes,
    read as text so that the zero is kept, not as numbers."""
    return {name for record in records for name, cell in zip(names, record) if _LEADING_ZERO.match(cell.strip())}


def _decimal_point(text, sep, records):
    """"," when a file not separated by commas writes its numbers with decimal commas (3,14; 57.689,59) and
    never with decimal points (as spreadsheets in many locales save CSV), else ".". A number whose "." is
    followed by groups of three digits (9.000) may be either and decides nothing; in a file read with ","
    it is text, which the encoder reads as a number with "." grouping thousands (columns.py)."""
    if sep == ",":
        return "."
    comma = point = False
    for record in itertools.islice(records, 200):
        for cell in record:
            cell = cell.strip()
            comma = comma or bool(_DECIMAL_COMMA.match(cell))
            point = point or bool(_DECIMAL_POINT.match(cell) and not _GROUPED.match(cell))
    return "," if comma and not point else "."


def _comma_numbers(frame):
    """In a file read with decimal commas, the text columns whose every cell is a number with "."
    grouping thousands (9.000, 57.689,59; Arrow's reader has no thousands option) as float64 numbers.
    A code with a leading zero (012) is no such number and keeps the column text."""
    import pandas as pd

    for name in frame.columns:
        column = frame[name]
        if column.dtype.kind not in "OUT" and str(column.dtype) not in ("str", "string"):
            continue
        present = column.dropna()
        if present.empty or not all(isinstance(v, str) and _COMMA_NUMBER.match(v.strip()) for v in present):
            continue
        plain = column.map(lambda v: v.strip().replace(".", "").replace(",", ".") if isinstance(v, str) else v)
        frame[name] = pd.to_numeric(plain).astype(np.float64)
    return frame


def _read_csv(path, target, sep, na_values, labels):
    import pyarrow as pa

    source = _Csv(path, sep, na_values)
    source.single_column(labels)
    names = source.names
    target = _choose_target(path, names, target, labels)
    include = names if labels or target is None else [name for name in names if name != target]
    types = {target: pa.string()} if labels else {}   # labels stay the text written
    columns = _Columns(source.rows_hint)
    source.scan(types, include, columns.reset, columns.add)
    if columns.n == 0:
        raise InputError(f"{path}: has a header row but no data rows")
    label = target if labels else None
    frame, label_column, missing = columns.finish(label)
    if source.decimal == ",":
        frame = _comma_numbers(frame)
    label_values = None if label is None else _label_texts(label_column)
    del label_column
    _release_arrow_memory()
    n_dropped = 0 if missing is None else int(missing.sum())
    return _finish(path, frame, label_values, target, source.sep, n_dropped)


def _iter_csv(path, sep, na_values, block_rows):
    import pyarrow as pa

    source = _Csv(path, sep, na_values)
    source.single_column(False)
    # First pass: settle every column's type, and which columns have a missing cell, over the whole file.
    seen = {}

    def on_schema(schema):
        seen.update(schema=schema, nulls=set(), rows=0)

    def on_batch(batch):
        seen["nulls"].update(name for name, column in zip(batch.schema.names, batch.columns) if column.null_count)
        seen["rows"] += batch.num_rows

    source.scan({}, None, on_schema, on_batch)
    schema, nullable = seen["schema"], seen["nulls"]
    if seen["rows"] == 0:
        raise InputError(f"{path}: has a header row but no data rows")
    # Second pass with those types; record batches are regrouped into blocks of block_rows rows,
    # each indexed by its rows' positions in the file (0 for the first data row), as for NPZ and Parquet.
    batches = source.batches({field.name: field.type for field in schema})
    next(batches)
    pending, rows, start = [], 0, 0

    def block(table):
        frame = _to_pandas(table, nullable)
        if source.decimal == ",":
            frame = _comma_numbers(frame)
        frame.index = range(start, start + len(frame))
        return frame

    try:
        for batch in batches:
            pending.append(batch)
            rows += batch.num_rows
            while rows >= block_rows:
                table = pa.Table.from_batches(pending, schema=schema)
                yield block(table.slice(0, block_rows))
                start += block_rows
                rest = table.slice(block_rows)
                pending, rows = rest.to_batches(), rest.num_rows
    except _Widen:
        raise InputError(f"{path}: the file changed while it was read") from None
    if rows:
        yield block(pa.Table.from_batches(pending, schema=schema))


class _Widen(Exception):
    """A CSV column to read again with a wider type (name None: read again in larger blocks)."""

    def __init__(self, name, wider):
        super().__init__(name)
        self.name, self.wider = name, wider


# NPZ


def _npz_members(path, z):
    names = z.namelist()
    if len(set(names)) != len(names):
        twice = next(name for name in names if names.count(name) > 1)
        raise InputError(f"{path}: the NPZ archive holds two members named {twice!r}; refusing an ambiguous file")
    return {name[:-4]: name for name in names if name.endswith(".npy")}


def _npy(path, z, member, array, kinds):
    """Read array `array` of an NPZ archive after checking its declared shape and dtype.

    kinds: the dtype kinds accepted. Object arrays are refused (reading them could run code); a
    declared size that the archive member cannot hold is refused before anything is allocated.
    """
    info = z.getinfo(member)
    with z.open(member) as f:
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise InputError(f"{path}: {array} is stored in .npy format version {version}, which is not read here")
        except ValueError as e:
            if isinstance(e, InputError):
                raise
            raise InputError(f"{path}: {array} is not a valid .npy array: {short_reason(e)}") from None
        if dtype.hasobject:
            raise InputError(f"{path}: {array} holds Python objects, which are not read (they could run code); "
                             f"store numbers or text")
        if dtype.kind not in kinds:
            raise InputError(f"{path}: {array} holds {dtype} values; expected numbers" +
                             (" or text" if "U" in kinds else ""))
        count = 1
        for n in shape:
            count *= int(n)
        nbytes = count * dtype.itemsize
        stored = info.file_size - f.tell()
        if nbytes != stored:
            raise InputError(f"{path}: {array} declares shape {shape} ({nbytes} bytes of {dtype}) but its member "
                             f"holds {stored} bytes: the file is damaged")
        if info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) and \
                nbytes > _DEFLATE_RATIO * info.compress_size + (1 << 20):
            raise InputError(f"{path}: {array} declares {nbytes} bytes, more than its compressed member can hold")
        values = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
        view = memoryview(values.reshape(-1, order="A").view(np.uint8)) if count else memoryview(b"")
        done = 0
        while done < nbytes:
            got = f.readinto(view[done:])
            if not got:
                raise InputError(f"{path}: {array}'s data end early: the file is truncated or damaged")
            done += got
    return values


def _npz_arrays(path, labels):
    """(X (N, D), y (N,) or None) of an NPZ file, checked."""
    try:
        with zipfile.ZipFile(path) as z:
            members = _npz_members(path, z)
            if "X" not in members:
                raise InputError(f"{path}: no array X in the NPZ file (arrays: {_listing(members) or 'none'})")
            X = _npy(path, z, members["X"], "X", "iufb")
            if X.ndim != 2:
                raise InputError(f"{path}: X has shape {X.shape}; it must be 2-D, one row per sample")
            if X.shape[1] == 0:
                raise InputError(f"{path}: X has no columns")
            y = None
            if labels:
                if "y" not in members:
                    raise InputError(f"{path}: no array y (the labels) in the NPZ file (arrays: {_listing(members)})")
                y = _npy(path, z, members["y"], "y", "iufbUS")
                if y.ndim == 2 and y.shape[1] == 1:
                    y = y[:, 0]
                if y.shape != (X.shape[0],):
                    raise InputError(f"{path}: y has shape {y.shape}, but X has {X.shape[0]} rows; y must be 1-D "
                                     f"with one label per row")
    except zipfile.BadZipFile:
        raise InputError(f"{path}: not an NPZ file (not a zip archive, or a damaged one)") from None
    except (*_READ_ERRORS, RuntimeError) as e:
        raise InputError(f"{path}: cannot read it: {short_reason(e)}") from None
    if X.shape[0] == 0:
        raise InputError(f"{path}: X has no rows")
    return X, y


def _npz_frame(X):
    import pandas as pd

    if X.dtype.kind == "f":
        X = X.astype(np.float64, copy=False)
    elif X.dtype.kind in "iu" and not (X.dtype.kind == "u" and X.dtype.itemsize == 8):
        X = X.astype(np.int64, copy=False)
    return pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])], copy=False)


def _read_npz(path, target, labels):
    if target is not None and labels:
        raise InputError(f"{path}: --target names a column of a CSV or Parquet file; an NPZ file holds its "
                         f"labels in the array y")
    X, y = _npz_arrays(path, labels)
    n_dropped = 0
    if y is not None:
        if y.dtype.kind in "US":
            y = y.astype(str).astype(object)
            missing = y == ""
        else:
            missing = np.isnan(y) if y.dtype.kind == "f" else np.zeros(len(y), bool)
        if missing.any():
            n_dropped = int(missing.sum())
            X, y = X[~missing], y[~missing]
        if len(y) == 0:
            raise InputError(f"{path}: every label in y is missing ({_count(n_dropped, 'row')})")
    return Table(features=_npz_frame(X), labels=y, target=None, n_dropped_labels=n_dropped, path=path)


def _iter_npz(path, block_rows):
    try:
        with zipfile.ZipFile(path) as z:
            has_y = "y" in _npz_members(path, z)
    except zipfile.BadZipFile:
        raise InputError(f"{path}: not an NPZ file (not a zip archive, or a damaged one)") from None
    X, y = _npz_arrays(path, has_y)
    for start in range(0, X.shape[0], block_rows):
        frame = _npz_frame(X[start:start + block_rows])
        frame.index = range(start, start + frame.shape[0])
        if y is not None:
            frame["y"] = y[start:start + block_rows].astype(str).astype(object) if y.dtype.kind in "US" \
                else y[start:start + block_rows]
        yield frame


# Parquet


def _parquet_file(path):
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{path}: reading Parquet files needs pyarrow: pip install pyarrow") from None
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{path}: not a Parquet file, or a damaged one ({short_reason(e)})") from None


def _index_columns(schema):
    """The columns that hold a pandas index (`__index_level_0__`, or a named index), from the metadata
    pandas writes."""
    meta = schema.pandas_metadata or {}
    return [name for name in meta.get("index_columns", []) if isinstance(name, str)]


def _read_parquet(path, target, labels):
    import pyarrow as pa

    file = _parquet_file(path)
    with file:
        schema = file.schema_arrow
        names = list(schema.names)
        _check_names(path, names)
        target = _choose_target(path, names, target, labels, _index_columns(schema))
        read = names if labels or target is None else [name for name in names if name != target]
        plain = pa.schema([pa.field(field.name, _plain_type(field.type)) for field in schema if field.name in read])
        columns = _Columns(lambda rows: file.metadata.num_rows)
        columns.reset(plain)
        start = 0
        try:
            for batch in file.iter_batches(batch_size=65536, columns=read):
                columns.add(pa.RecordBatch.from_arrays(
                    [column.cast(field.type) for column, field in zip(batch.columns, plain)], schema=plain))
                start += batch.num_rows
        except (pa.ArrowException, OSError) as e:
            raise InputError(f"{path}: cannot read it past row {start}: {short_reason(e)}") from None
    if columns.n == 0:
        raise InputError(f"{path}: has no rows")
    label = target if labels else None
    frame, label_column, missing = columns.finish(label)
    label_values = None if label is None else _label_values(path, label_column, target)
    n_dropped = 0 if missing is None else int(missing.sum())
    return _finish(path, frame, label_values, target, None, n_dropped)


def _plain_type(kind):
    """A Parquet column's type as read: dictionaries decoded, decimals as float64."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_decimal(kind) or pa.types.is_floating(kind):
        return pa.float64()
    return kind


def _iter_parquet(path, block_rows):
    import pyarrow as pa

    file = _parquet_file(path)
    with file:
        meta = file.metadata
        if meta.num_rows == 0:
            raise InputError(f"{path}: has no rows")
        nullable = set()
        for j, name in enumerate(file.schema_arrow.names):
            for g in range(meta.num_row_groups):
                statistics = meta.row_group(g).column(j).statistics if j < meta.num_columns else None
                if statistics is None or not statistics.has_null_count or statistics.null_count:
                    nullable.add(name)
                    break
        start = 0
        try:
            for batch in file.iter_batches(batch_size=block_rows):
                frame = _to_pandas(pa.Table.from_batches([batch]), nullable)
                frame.index = range(start, start + batch.num_rows)
                start += batch.num_rows
                yield frame
        except (pa.ArrowException, OSError) as e:
            raise InputError(f"{path}: cannot read it past row {start}: {short_reason(e)}") from None


# Labels, split, scaling


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
