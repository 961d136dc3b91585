"""Zip archives read as hostile input: every size is checked before anything is decompressed or allocated.

`check_zip` holds the checks any zip the package reads must pass (a model file in any format is a zip):
a regular file (never a FIFO or a device: those are refused before they are opened), a readable zip
directory with a bounded number of members, no duplicate or encrypted members, only stored or deflated
data, and declared uncompressed sizes within the caller's bounds. The zip format records each
member's uncompressed size in its directory, and Python's zipfile never returns more than that size,
so a bound on the declared sizes bounds what reading can produce: a 5 KB "zip bomb" that declares
gigabytes is refused from its directory alone.

`read_archive` / `write_archive` are the .npz container of version-1 model files and of training
checkpoints: .npy arrays plus a JSON record `meta` (format, format_version, dims, dtype, ...). Reading
checks the zip, reads `meta` first (at most `MAX_META_BYTES`), derives from its dimensions D, M, C the
largest array the format can hold, and refuses any member declared larger, before reading it. Each
array is then read by its .npy header alone: numeric or string types only (never Python objects, so
no code runs), a shape whose size agrees exactly with the member's size, and the data read into one
buffer of that size (numpy's own reader would allocate the header's shape first). Every failure is an
InputError of one line that starts with the file's path.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import struct
import zipfile
import zlib

import numpy as np

from . import resources
from .atomic import file_kind, write_atomic
from .errors import InputError, short_reason

# Every format written with `write_archive`, and what to call a file of each kind in a message.
KINDS = {"residual_mlp.model": "model file", "residual_mlp.checkpoint": "training checkpoint"}
WEIGHT_DTYPES = ("float32", "float64")

MAX_META_BYTES = 16 << 20      # the JSON record: settings, feature names, history
MAX_MEMBERS = 64               # a checkpoint holds 4 arrays per weight set, at most 5 sets, and meta
MAX_LABEL_CHARS = 1024         # the longest string a string array (class names) may hold per entry
NPY_HEADER_BYTES = 65536 + 16  # the largest .npy header numpy writes (version 2 allows more: refused)
DEFLATE_MAX_RATIO = 1032     # deflate expands 2 bits into at most 258 bytes
_ARRAY_KINDS = "biuf"          # numeric arrays; "U" (strings) is bounded separately


def open_regular(path, what="file"):
    """The file `path` opened for binary reading, refused first unless it is a regular file.

    A FIFO or a device such as /dev/zero is refused from its status, before open() (which could block
    on a FIFO), and checked again on the opened descriptor. Raises InputError naming `path`.
    """
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what}") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read the {what}: {e.strerror or short_reason(e)}") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path}: is {file_kind(st.st_mode)}, not a {what}")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise InputError(f"{path}: cannot read the {what}: {e.strerror or short_reason(e)}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced between the two looks
        os.close(fd)
        raise InputError(f"{path}: is not a regular file, not a {what}")
    if hasattr(os, "O_NONBLOCK"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


@contextlib.contextmanager
def _read_errors(path, what):
    """Turn the ways reading a damaged or unreadable archive fails into one InputError line."""
    try:
        yield
    except InputError:
        raise
    except OSError as e:  # EIO and friends: the file cannot be read, whatever it holds
        raise InputError(f"{path}: cannot read the {what}: {e.strerror or short_reason(e)}") from None
    except zlib.error:
        raise InputError(f"{path}: damaged {what}: the compressed data are corrupted") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError,
            struct.error) as e:
        raise InputError(f"{path}: damaged {what}, or not a residual_mlp {what} ({short_reason(e)})") from None


def _zip_directory(path, f, what, max_members):
    """The ZipFile of the open file `f`, its member count checked before the directory is parsed."""
    with _read_errors(path, what):
        f.seek(0)
        head = f.read(4)
        end = getattr(zipfile, "_EndRecData", None)  # the end record alone, before parsing the directory
        record = end(f) if end is not None else None
        if record is None and not zipfile.is_zipfile(f):
            if head == b"PK\x03\x04":
                raise InputError(f"{path}: damaged {what}: the archive is truncated or corrupted")
            raise InputError(f"{path}: not a residual_mlp {what} (not a zip archive)")
        if record is not None and record[zipfile._ECD_ENTRIES_TOTAL] > max_members:
            raise InputError(f"{path}: not a residual_mlp {what}: it holds {record[zipfile._ECD_ENTRIES_TOTAL]} "
                             f"members, more than the {max_members} it may")
        f.seek(0)
        return zipfile.ZipFile(f)


def check_members(path, zf, max_total_bytes, max_member_bytes, *, what="file", max_members=MAX_MEMBERS):
    """The members of the open ZipFile `zf`, checked from its directory alone; InputError names `path`.

    Refused: more than `max_members` members, a name that repeats, an encrypted member, a compression
    other than stored or deflated, a stored member whose sizes disagree, a member declared larger
    than `max_member_bytes` uncompressed, or all of them together larger than `max_total_bytes`.
    """
    path = os.fspath(path)
    members = zf.infolist()
    if len(members) > max_members:
        raise InputError(f"{path}: not a residual_mlp {what}: it holds {len(members)} members, more than "
                         f"the {max_members} it may")
    seen, total = set(), 0
    for info in members:
        name = info.filename
        if name in seen:
            raise InputError(f"{path}: damaged {what}: the member {name!r} appears twice")
        seen.add(name)
        if info.flag_bits & 0x1:
            raise InputError(f"{path}: not a residual_mlp {what}: the member {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise InputError(f"{path}: not a residual_mlp {what}: the member {name!r} uses an unsupported "
                             f"compression (method {info.compress_type})")
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise InputError(f"{path}: damaged {what}: the member {name!r} has inconsistent sizes")
        deflated = info.compress_type == zipfile.ZIP_DEFLATED
        if deflated and info.file_size > DEFLATE_MAX_RATIO * info.compress_size + 1024:
            raise InputError(f"{path}: damaged {what}: the member {name!r} declares {_size(info.file_size)} from "
                             f"{_size(info.compress_size)} of compressed data, more than deflate can produce")
        if info.file_size > max_member_bytes:
            raise InputError(f"{path}: damaged {what}: the member {name!r} declares {_size(info.file_size)} "
                             f"uncompressed, more than the {_size(max_member_bytes)} its dimensions allow")
        total += info.file_size
    if total > max_total_bytes:
        raise InputError(f"{path}: damaged {what}: its members declare {_size(total)} uncompressed, more "
                         f"than the {_size(max_total_bytes)} its dimensions allow")
    return members


def check_zip(path, max_total_bytes, max_member_bytes, *, what="file", max_members=MAX_MEMBERS):
    """Check the zip archive `path` from its directory alone, without decompressing anything.

    Parameters
    ----------
    path : str or path-like
        The archive; it must be a regular file (FIFOs and devices are refused before being opened).
    max_total_bytes, max_member_bytes : int
        Bounds, in bytes, on the declared uncompressed sizes of all members together and of each one.
    what : str
        What to call the file in messages ("model file").
    max_members : int
        The most members the archive may have.

    Returns
    -------
    list of zipfile.ZipInfo
        The members (names and declared sizes).

    Raises
    ------
    InputError
        One line starting with the path: missing, not a regular file, unreadable (EIO), not a zip,
        truncated, too many members, duplicate names, encrypted members, unknown compression, or
        declared sizes above the bounds.
    """
    path = os.fspath(path)
    with open_regular(path, what) as f, _zip_directory(path, f, what, max_members) as zf:
        return check_members(path, zf, max_total_bytes, max_member_bytes, what=what, max_members=max_members)


def write_archive(path, arrays: dict, meta: dict, default=None):
    """Write numeric/string arrays and a JSON record `meta` as one .npz file, atomically."""
    for name, value in arrays.items():
        if not isinstance(value, np.ndarray) or value.dtype.hasobject:
            raise TypeError(f"array {name!r} must be a numeric or string array, not {type(value).__name__}")
    record = json.dumps(meta, default=default).encode()
    buffer = io.BytesIO()
    with interrupts_kept():
        np.savez(buffer, **arrays, meta=np.frombuffer(record, dtype=np.uint8))
    write_atomic(path, buffer.getvalue())


@contextlib.contextmanager
def interrupts_kept():
    """Within the block, a KeyboardInterrupt (Ctrl-C, or SIGTERM during training) that arrives while
    zipfile writes a member comes out as itself: zipfile's cleanup would otherwise replace it with
    ValueError("Can't close the ZIP file while there is an open writing handle on it")."""
    try:
        yield
    except ValueError as e:
        if isinstance(e.__context__, KeyboardInterrupt):
            raise e.__context__ from None
        raise


def read_archive(path, fmt, version):
    """(arrays, meta) of a file written by `write_archive` as format `fmt`, up to `version`.

    Reads no pickles and allocates nothing larger than the dimensions in `meta` allow (see the module
    docstring). Raises InputError for a missing or non-regular file, a read error, a file that is not
    such an archive, a damaged or hostile one, or one from a newer version.
    """
    path = os.fspath(path)
    what = KINDS[fmt]
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory, not a {what}")
    with open_regular(path, what) as f, _zip_directory(path, f, what, MAX_MEMBERS) as zf:
        members = check_members(path, zf, float("inf"), float("inf"), what=what)
        by_name = {}
        for info in members:
            if not info.filename.endswith(".npy"):
                raise InputError(f"{path}: not a residual_mlp {what} (it holds {info.filename!r}, "
                                 f"which is not an array)")
            by_name[info.filename[:-4]] = info
        if "meta" not in by_name:
            raise InputError(f"{path}: not a residual_mlp {what} (no 'meta' record)")
        if by_name["meta"].file_size > MAX_META_BYTES + NPY_HEADER_BYTES:
            raise InputError(f"{path}: damaged {what}: its 'meta' record declares "
                             f"{_size(by_name['meta'].file_size)}, more than the {_size(MAX_META_BYTES)} "
                             f"it may hold")
        raw = _read_npy(path, zf, by_name.pop("meta"), what, max_elements=MAX_META_BYTES, kinds="u")
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise InputError(f"{path}: damaged {what}: its 'meta' record is not readable")
        meta = _parse_meta(path, raw, fmt, version, what)
        D, M, C = _dims(path, meta, what)
        max_elements = max(D * D, M * D, M * M, C * M, D, C)
        max_member = max(max_elements * 8, max(D, C) * 4 * MAX_LABEL_CHARS) + NPY_HEADER_BYTES
        max_total = 8 * (D * D + M * D + M * M + C * M) * 8 + 4 * max_member
        members = check_members(path, zf, max_total, max_member, what=what)
        need = sum(info.file_size for info in members)
        room = resources.available_bytes()
        if room is not None and need > room:
            raise InputError(f"{path}: reading the {what} needs {_size(need)} of memory, {_size(room)} "
                             f"are available")
        return {name: _read_npy(path, zf, info, what, max_elements=max_elements)
                for name, info in by_name.items()}, meta


def _read_npy(path, zf, info, what, *, max_elements, kinds=_ARRAY_KINDS + "U"):
    """One .npy member, checked by its header before its data are read; a writable array."""
    name = info.filename[:-4]
    with _read_errors(path, what), zf.open(info) as fp:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp, max_header_size=NPY_HEADER_BYTES)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp, max_header_size=NPY_HEADER_BYTES)
        else:
            raise InputError(f"{path}: damaged {what}: the array {name!r} has an unsupported .npy "
                             f"version {version}")
        if dtype.hasobject:
            raise InputError(f"{path}: damaged {what}, or not a residual_mlp {what}: the array {name!r} holds "
                             f"Python objects, which are never loaded")
        if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in kinds or (
                dtype.kind != "U" and dtype.itemsize > 8) or (
                dtype.kind == "U" and dtype.itemsize > 4 * MAX_LABEL_CHARS):
            raise InputError(f"{path}: damaged {what}: the array {name!r} has type {dtype}, which a "
                             f"{what} does not hold")
        count = 1
        for n in shape:
            count *= n
        if count > max_elements:
            raise InputError(f"{path}: damaged {what}: the array {name!r} has shape {shape}, larger than "
                             f"its dimensions allow")
        nbytes = count * dtype.itemsize
        if fp.tell() + nbytes != info.file_size:
            raise InputError(f"{path}: damaged {what}: the array {name!r} does not fill its member "
                             f"(shape {shape}, {_size(info.file_size)})")
        buffer = bytearray(nbytes)
        if fp.readinto(buffer) != nbytes or fp.read(1):  # reading to the end checks the CRC too
            raise InputError(f"{path}: damaged {what}: the array {name!r} is truncated")
    array = np.frombuffer(buffer, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C")


def _parse_meta(path, raw, fmt, version, what):
    try:
        meta = json.loads(raw.tobytes().decode())
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InputError(f"{path}: damaged {what}: its 'meta' record is not readable") from None
    check_format(path, meta, fmt, version, what)
    return meta


def check_format(path, record, fmt, version, what):
    """The format version of a file's top-level `record` (a dict with "format" and "format_version");
    InputError naming the file unless it is format `fmt` at a version from 1 to `version`."""
    found = record.get("format") if isinstance(record, dict) else None
    if found != fmt:
        if isinstance(found, str) and found in KINDS:
            raise InputError(f"{path}: this is a residual_mlp {KINDS[found]}, not a {what}")
        raise InputError(f"{path}: not a residual_mlp {what}")
    found_version = record.get("format_version")
    if type(found_version) is not int or found_version < 1:
        raise InputError(f"{path}: damaged {what}: format version {found_version!r} is not valid")
    if found_version > version:
        raise InputError(f"{path}: {what} format version {found_version} is newer than this residual_mlp "
                         f"reads (version {version}); upgrade residual_mlp to read it")
    return found_version


def _dims(path, meta, what):
    """(D, M, C) from the record, each a positive integer, and its weight type one of WEIGHT_DTYPES."""
    dims = meta.get("dims")
    if not isinstance(dims, dict) or any(type(dims.get(k)) is not int or dims[k] < 1 for k in "DMC"):
        raise InputError(f"{path}: damaged {what}: its record gives no valid dimensions D, M, C "
                         f"({short_reason(repr(dims))})")
    if meta.get("dtype") not in WEIGHT_DTYPES:
        raise InputError(f"{path}: damaged {what}: its record gives the weight type "
                         f"{short_reason(repr(meta.get('dtype')))}, not float32 or float64")
    return dims["D"], dims["M"], dims["C"]


def _size(n):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
