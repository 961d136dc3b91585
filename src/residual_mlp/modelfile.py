"""A trained model and its file: weights, classes, feature scaling, settings, results.

The file is a NumPy ``.npz`` archive (a zip of ``.npy`` arrays) read with ``allow_pickle=False``, so
loading executes no code: it holds plain numeric or string arrays and one JSON document (``meta``)
that names the format and its version. Training checkpoints (`checkpoint.py`) use the same container
under another format name. Anything wrong with a file (not an archive, truncated, corrupted, from a
newer version, arrays missing or of the wrong shape, non-finite weights) raises `InputError` naming
the file. Files are written atomically: a temporary file in the same folder, fsync, then rename, so
a reader sees the old file or the whole new one, never a part.

Layout of a model file, format version 1:

    W1 (D, D), W2 (M, D), W3 (M, M), W4 (C, M)   the weights, float32 or float64, finite
    classes (C,)                                 the original labels (numbers or strings), distinct
    mean (D,), scale (D,)                        optional feature scaling x' = (x - mean) / scale
    meta                                         UTF-8 JSON: format, format_version, dims, dtype,
                                                 feature_names, scaled, settings, results
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from . import archive, model
from .archive import KINDS, WEIGHT_DTYPES, read_archive  # noqa: F401  (read_archive: checkpoints use it)
from .errors import InputError
from .model import Params

FORMAT = "residual_mlp.model"
FORMAT_VERSION = 1


class Damaged(Exception):
    """An archive that reads fine but whose content is inconsistent: the message says what."""


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
        return scaled(X, self.params.W1.dtype, self.mean, self.scale)

    def predict_proba(self, X):
        return model.predict_proba(self.params, self.scaled(X))

    def predict(self, X):
        """Labels in their original names."""
        return self.classes[model.predict(self.params, self.scaled(X))]


def scaled(X, dtype, mean, scale):
    """X (N, D) as the network sees it: in the weights' dtype, then (X - mean) / scale if mean is not None.

    The one place the scaling is applied, so the command line and the estimator predict bit-identically.
    """
    X = np.asarray(X, dtype=dtype)
    if mean is None:
        return X
    return (X - mean) / scale


def save(path, m: Model):
    """Write the model file atomically; an existing file is replaced only once the new one is whole.

    Raises ValueError, before touching the disk, for a model that `load` would refuse
    (non-finite weights, shapes that do not fit together, ...).
    """
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
    arrays = {k: np.asarray(W) for k, W in zip(Params._fields, m.params)}
    classes = np.asarray(m.classes)
    if classes.dtype.kind not in "iufbU":
        classes = classes.astype(str)
    arrays["classes"] = classes
    if m.mean is not None:
        arrays["mean"] = np.asarray(m.mean)
        arrays["scale"] = np.asarray(m.scale)
    meta = json.loads(json.dumps(meta, default=_jsonable))  # what `load` will read back
    try:
        _model_from(arrays, meta)
    except Damaged as e:
        raise ValueError(f"refusing to save a model that could not be loaded: {e}") from None
    write_archive(path, arrays, meta)


def load(path) -> Model:
    """Read a model file; any problem with it raises InputError naming the file."""
    arrays, meta = read_archive(path, FORMAT, FORMAT_VERSION)
    try:
        return _model_from(arrays, meta)
    except Damaged as e:
        raise InputError(f"{os.fspath(path)}: damaged model file: {e}") from None


def _model_from(arrays, meta) -> Model:
    missing = [k for k in (*Params._fields, "classes") if k not in arrays]
    if missing:
        raise Damaged(f"the arrays {', '.join(missing)} are missing")
    params = check_params(arrays, Params._fields)
    D, M, C = params.W1.shape[0], params.W2.shape[0], params.W4.shape[0]
    dims = meta.get("dims")
    if dims is not None and dims != {"D": D, "M": M, "C": C}:
        raise Damaged(f"its record gives dimensions {dims}, its weights D={D}, M={M}, C={C}")
    if not all(np.isfinite(W).all() for W in params):
        raise Damaged("the weights are not all finite")
    classes = arrays["classes"]
    if classes.shape != (C,) or classes.dtype.kind not in "iufbU":
        raise Damaged(f"classes should be {C} numbers or strings, found shape {classes.shape} of "
                      f"type {classes.dtype}")
    if len(np.unique(classes)) != C:
        raise Damaged("the classes repeat")
    mean, scale = arrays.get("mean"), arrays.get("scale")
    if (mean is None) != (scale is None) or bool(meta.get("scaled")) != (mean is not None):
        raise Damaged("the feature scaling is incomplete")
    if mean is not None:
        for name, v in (("mean", mean), ("scale", scale)):
            if v.shape != (D,) or v.dtype.kind != "f" or not np.isfinite(v).all():
                raise Damaged(f"the feature scaling '{name}' should be {D} finite numbers")
        if np.any(scale == 0):
            raise Damaged("the feature scaling 'scale' has zeros")
    names = meta.get("feature_names")
    if names is not None and (not isinstance(names, list) or len(names) != D
                              or not all(isinstance(n, str) for n in names)):
        raise Damaged(f"the feature names should be {D} strings")
    settings, results = meta.get("settings") or {}, meta.get("results") or {}
    if not isinstance(settings, dict) or not isinstance(results, dict):
        raise Damaged("the settings or results record is not a mapping")
    return Model(params=params, classes=classes, feature_names=names, mean=mean, scale=scale,
                 settings=settings, results=results)


def check_params(arrays, names, what="the weights") -> Params:
    """The four matrices stored under `names`, checked to be float32/float64 and to fit together."""
    params = Params(*(arrays[k] for k in names))
    if any(W.ndim != 2 for W in params):
        raise Damaged(f"{what} are not all matrices")
    dtype = params.W1.dtype
    if str(dtype) not in WEIGHT_DTYPES or any(W.dtype != dtype for W in params):
        raise Damaged(f"{what} should all be float32 or all float64, found "
                      f"{', '.join(str(W.dtype) for W in params)}")
    D, M, C = params.W1.shape[0], params.W2.shape[0], params.W4.shape[0]
    want = Params((D, D), (M, D), (M, M), (C, M))
    if min(D, M, C) < 1 or any(W.shape != shape for W, shape in zip(params, want)):
        raise Damaged(f"the shapes of {what}, {', '.join(str(W.shape) for W in params)}, do not fit "
                      f"together (expected (D, D), (M, D), (M, M), (C, M))")
    return params


def write_archive(path, arrays: dict, meta: dict):
    """Write numeric/string arrays and a JSON record `meta` as one .npz file, atomically (see archive.py)."""
    archive.write_archive(path, arrays, meta, default=_jsonable)


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "_asdict"):
        return value._asdict()
    return str(value)
