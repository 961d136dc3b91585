"""A trained model and its file: weights, classes, feature scaling, settings, results.

The file is a NumPy ``.npz`` archive read with ``allow_pickle=False``, so loading executes no code.
It holds plain numeric or string arrays and one JSON document (``meta``) with the format version.
Files are written atomically: a temporary file in the same folder, fsync, then rename.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field

import numpy as np

from . import model
from .errors import InputError
from .model import Params

FORMAT = "residual_mlp.model"
FORMAT_VERSION = 1


@dataclass
class Model:
    """What `residual-mlp train` saves and `predict` reads; the estimator saves the same."""

    params: Params
    classes: np.ndarray                 # (C,) the original labels, in class-index order
    feature_names: list | None = None   # D names, or None
    mean: np.ndarray | None = None      # (D,) feature scaling x' = (x - mean) / scale, or None
    scale: np.ndarray | None = None     # (D,)
    settings: dict = field(default_factory=dict)
    results: dict = field(default_factory=dict)

    @property
    def dims(self):
        """(D, M, C)."""
        return self.params.W1.shape[0], self.params.W2.shape[0], self.params.W4.shape[0]

    def scaled(self, X):
        """Features as the network sees them: standardized if the model carries a scaling."""
        X = np.asarray(X, dtype=self.params.W1.dtype)
        if self.mean is None:
            return X
        return (X - self.mean) / self.scale

    def predict_proba(self, X):
        return model.predict_proba(self.params, self.scaled(X))

    def predict(self, X):
        """Labels in their original names."""
        return self.classes[model.predict(self.params, self.scaled(X))]


def save(path, m: Model):
    """Write the model file atomically; an existing file is replaced only once the new one is whole."""
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "dims": dict(zip("DMC", map(int, m.dims))),
        "dtype": str(m.params.W1.dtype),
        "feature_names": None if m.feature_names is None else [str(n) for n in m.feature_names],
        "scaled": m.mean is not None,
        "settings": m.settings,
        "results": m.results,
    }
    arrays = dict(zip(Params._fields, m.params))
    classes = np.asarray(m.classes)
    if classes.dtype.kind not in "iufbU":
        classes = classes.astype(str)
    arrays["classes"] = classes
    if m.mean is not None:
        arrays["mean"] = np.asarray(m.mean)
        arrays["scale"] = np.asarray(m.scale)
    arrays["meta"] = np.frombuffer(json.dumps(meta, default=_jsonable).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_atomic(path, buffer.getvalue())


def load(path) -> Model:
    """Read a model file; any problem with it raises InputError naming the file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(f"{path}: no such model file")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory, not a model file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise InputError(f"{path}: not a residual_mlp model file, or the file is damaged ({_short(e)})")
    if "meta" not in arrays:
        raise InputError(f"{path}: not a residual_mlp model file (no 'meta' record)")
    try:
        meta = json.loads(arrays["meta"].tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError(f"{path}: the model file's 'meta' record is damaged")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(f"{path}: not a residual_mlp model file")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise InputError(f"{path}: model format version {version!r} is newer than this residual_mlp "
                         f"reads (version {FORMAT_VERSION}); upgrade residual_mlp")
    missing = [k for k in (*Params._fields, "classes") if k not in arrays]
    if missing:
        raise InputError(f"{path}: the model file lacks {', '.join(missing)}")
    params = Params(*(arrays[k] for k in Params._fields))
    D, M, C = params.W1.shape[0], params.W2.shape[0], params.W4.shape[0]
    want = {"W1": (D, D), "W2": (M, D), "W3": (M, M), "W4": (C, M)}
    if any(getattr(params, k).shape != v for k, v in want.items()) or arrays["classes"].shape != (C,):
        raise InputError(f"{path}: the model file's weight shapes do not fit together")
    if not all(W.dtype.kind == "f" and np.isfinite(W).all() for W in params):
        raise InputError(f"{path}: the model file's weights are not finite floating-point numbers")
    mean = arrays.get("mean")
    scale = arrays.get("scale")
    if (mean is None) != (scale is None) or (mean is not None and (mean.shape != (D,) or scale.shape != (D,))):
        raise InputError(f"{path}: the model file's feature scaling is damaged")
    names = meta.get("feature_names")
    if names is not None and (not isinstance(names, list) or len(names) != D):
        raise InputError(f"{path}: the model file's feature names are damaged")
    return Model(params=params, classes=arrays["classes"], feature_names=names, mean=mean, scale=scale,
                 settings=meta.get("settings") or {}, results=meta.get("results") or {})


def write_atomic(path, data: bytes):
    """Write bytes to path so that readers see the old file or the whole new one, never a part."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _short(e):
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return text[:120]
