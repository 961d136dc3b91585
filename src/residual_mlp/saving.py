"""Model files: a fitted pipeline (or bare estimator) and a JSON-able record, loaded without running code.

Format version 2 is a skops.io file (a zip of JSON and .npy members): `load_model` reads it with an
explicit list of trusted types (this package's `TableEncoder` and `ResidualMLPClassifier`, and the
scikit-learn, NumPy and built-in types skops trusts by default), so loading a file never executes
code it carries. The top level is a dict:

    format           "residual_mlp.model"
    format_version   2
    model            the fitted sklearn Pipeline (columns -> classifier) or ResidualMLPClassifier
    record           settings, results, the label column, the column roles, the package version

Version 1 files (residual_mlp 0.1: a NumPy .npz archive, see `modelfile.py`) still load: their
standardization becomes a fitted StandardScaler in front of the estimator.

Files are written atomically (`atomic.write_atomic`): a reader sees the old file or the whole new one.
"""
from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field

import numpy as np

from .archive import check_format, check_zip, interrupts_kept
from .atomic import write_atomic
from .errors import InputError, short_reason

FORMAT = "residual_mlp.model"
FORMAT_VERSION = 2
# this package's two estimators, and two types scikit-learn's own encoders hold: SimpleImputer's fitted dtype, and
# ColumnTransformer's list of remainder columns (scikit-learn 1.6 and 1.7)
TRUSTED = ("residual_mlp.columns.TableEncoder", "residual_mlp.estimator.ResidualMLPClassifier", "numpy.dtype",
           "sklearn.compose._column_transformer._RemainderColsList")
MAX_EXPANSION = 16      # a model file's members may declare at most this times the file's size in all ...
MIN_BOUND = 64 << 20    # ... or 64 MiB, whichever is more
MAX_MEMBERS = 100_000   # skops writes one member per array

# the estimator's per-epoch lists, held as arrays in a model file (pack_floats)
CURVES = ("history_", "loss_curve_", "validation_scores_", "validation_loss_curve_")

@dataclass
class ModelFile:
    """A model file's content: the fitted `model` and its `record` (settings, results, roles, ...)."""

    model: object
    record: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION


def save_model(model, path, record=None, *, optimizer_state=False):
    """Write a fitted Pipeline or ResidualMLPClassifier to `path` atomically (format version 2).

    Parameters
    ----------
    model : sklearn.pipeline.Pipeline or ResidualMLPClassifier
        Fitted. Weights on a device (array API dispatch) are saved as NumPy arrays.
    path : str or path-like
    record : dict or None
        JSON-able information kept beside the model (settings, results, ...).
    optimizer_state : bool, default=False
        Keep the estimator's optimizer state (Adam's two moment estimates, momentum's buffer: up to
        twice the weights' size), so that `partial_fit` after loading continues the run exactly.
        Without it, `partial_fit` after loading starts the optimizer afresh from the saved weights,
        with a warning.

    Callbacks set with ``set_callbacks`` (scikit-learn 1.9+) are not saved: they belong to a run, and
    a model file holds no code.

    Raises
    ------
    TypeError
        `model` is not a Pipeline ending in a ResidualMLPClassifier, nor one; `optimizer_state` is not a bool.
    sklearn.exceptions.NotFittedError
        The classifier is not fitted.
    residual_mlp.errors.OutputError
        `path` cannot take the file (a folder, a missing folder, a read-only file, a full disk, ...);
        one line naming it. Nothing is left behind, and an existing file there is untouched.
    """
    import skops.io as sio
    from sklearn.utils.validation import check_is_fitted

    from . import __version__
    from .atomic import check_target
    from .errors import OutputError

    _check_savable(model)
    if not isinstance(optimizer_state, (bool, np.bool_)):
        raise TypeError(f"optimizer_state must be True or False, got {optimizer_state!r}")
    check_is_fitted(classifier_of(model), "params_")
    try:
        check_target(path, "")
    except InputError as e:
        raise OutputError(f"cannot write the model file: {e}") from None
    model = _for_file(model, bool(optimizer_state))
    content = {"format": FORMAT, "format_version": FORMAT_VERSION,
               "record": pack_floats({**plain_data(record or {}), "package_version": __version__}),
               "model": model}
    # deflated: the schema (JSON) and the arrays' .npy members shrink 2-4x; read back as skops reads any zip
    with interrupts_kept():
        data = sio.dumps(content, compression=zipfile.ZIP_DEFLATED, compresslevel=6)
    try:
        write_atomic(path, data)
    except OSError as e:
        raise OutputError(f"{os.fspath(path)}: cannot write the model file: {e.strerror or short_reason(e)}") from e


def _check_savable(model):
    from sklearn.pipeline import Pipeline

    from .estimator import ResidualMLPClassifier

    steps = getattr(model, "steps", None)
    last = classifier_of(model) if isinstance(model, Pipeline) and steps else model
    if not isinstance(last, ResidualMLPClassifier):
        raise TypeError(f"save_model takes a fitted ResidualMLPClassifier or a Pipeline ending in one, "
                        f"not {type(model).__name__}")


def load_model(path):
    """The fitted Pipeline or ResidualMLPClassifier in a model file; InputError naming the file if damaged."""
    return read_model_file(path).model


def read_model_file(path) -> ModelFile:
    """A model file's `ModelFile` (format 2, or format 1 converted); InputError naming the file for any fault."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise InputError(f"a model file's path is a string or path-like, not {type(path).__name__}")
    path = os.fspath(path)
    size = os.path.getsize(path) if os.path.isfile(path) else 0
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory, not a model file")
    # Declared sizes are checked from the zip directory before anything is decompressed: our own files
    # store their arrays uncompressed, so what they declare stays near the file's own size.
    bound = max(MAX_EXPANSION * size, MIN_BOUND)
    members = check_zip(path, bound, bound, what="model file", max_members=MAX_MEMBERS)
    names = [info.filename for info in members]
    if "meta.npy" in names:  # format 1: a NumPy .npz archive
        return _from_version_1(path)
    if "schema.json" not in names:
        raise InputError(f"{path}: not a residual_mlp model file")
    import skops.io as sio

    try:
        with open(path, "rb") as f:
            raw = f.read()
        untrusted = sio.get_untrusted_types(data=raw)
        unknown = [t for t in untrusted if t not in TRUSTED]
        if unknown:
            raise InputError(f"{path}: holds objects of type {', '.join(unknown[:3])}, which a residual_mlp model "
                             f"file never holds; not loaded")
        content = sio.loads(raw, trusted=list(untrusted))
    except InputError:
        raise
    except OSError as e:
        raise InputError(f"{path}: cannot read the model file: {e.strerror or short_reason(e)}") from None
    except Exception as e:  # any failure to parse an archive that opened is damage
        raise InputError(f"{path}: damaged model file ({short_reason(e)})") from None
    version = check_format(path, content, FORMAT, FORMAT_VERSION, "model file")
    record = content.get("record")
    if not isinstance(record, dict):
        raise InputError(f"{path}: damaged model file: its record is not a mapping")
    record = unpack_floats(record)
    model = content.get("model")
    _check_model(path, model)
    return ModelFile(model=model, record=record, format_version=version)


def classifier_of(model):
    """The ResidualMLPClassifier of a model (itself, or a pipeline's last step)."""
    return model.steps[-1][1] if hasattr(model, "steps") else model


def model_input(model, frame):
    """What the model's `predict` takes from a table: the DataFrame itself when the model reads columns by
    name (a pipeline, or an estimator fitted on a DataFrame), else its values, column by column in order."""
    if getattr(model, "feature_names_in_", None) is not None or hasattr(model, "steps"):
        return frame
    n = classifier_of(model).n_features_in_
    positional = [f"x{j}" for j in range(n)]  # an NPZ file's X, as data.read_table names its columns
    if frame.shape[1] != n and all(name in frame.columns for name in positional):
        frame = frame[positional]
    if frame.shape[1] != n:
        raise InputError(f"the table has {frame.shape[1]} columns; the model reads {n} unnamed features, by position")
    return frame.to_numpy(dtype=np.float64)


def _check_model(path, model):
    from sklearn.pipeline import Pipeline

    from .estimator import ResidualMLPClassifier

    steps = getattr(model, "steps", None)
    if isinstance(model, Pipeline) and not (isinstance(steps, list) and steps and all(
            isinstance(step, tuple) and len(step) == 2 for step in steps)):
        raise InputError(f"{path}: damaged model file: its pipeline's steps are not (name, transform) pairs")
    last = classifier_of(model)
    if not isinstance(model, (Pipeline, ResidualMLPClassifier)) or not isinstance(last, ResidualMLPClassifier):
        raise InputError(f"{path}: damaged model file: it holds no fitted ResidualMLPClassifier")
    params = getattr(last, "params_", None)
    if not isinstance(params, tuple) or len(params) != 4:
        raise InputError(f"{path}: damaged model file: the classifier has no weights")
    shapes = [getattr(W, "shape", None) for W in params]
    classes = getattr(last, "classes_", None)
    if not all(isinstance(shape, tuple) and len(shape) == 2 for shape in shapes) or not (
            isinstance(classes, np.ndarray) and classes.ndim == 1):
        raise InputError(f"{path}: damaged model file: the weights' shapes {shapes} do not fit together")
    (D, _), (M, _), _, (C, _) = shapes
    if shapes != [(D, D), (M, D), (M, M), (C, M)] or len(classes) != C:
        raise InputError(f"{path}: damaged model file: the weights' shapes {shapes} do not fit together")
    if not all(isinstance(W, np.ndarray) and W.dtype in (np.float32, np.float64) and np.isfinite(W).all()
               for W in params):
        raise InputError(f"{path}: damaged model file: the weights are not all finite float32/float64 numbers")
    if not _state_fits(getattr(last, "_optimizer_state", None), params):
        raise InputError(f"{path}: damaged model file: its optimizer state does not fit the weights")


def _state_fits(state, params):
    """Whether a saved optimizer state (see estimator._saved_state) is absent or well formed for `params`."""
    if state is None:
        return True
    numbers = ("step", "epoch", "seed", "plateau_bad")
    if not (isinstance(state, dict) and isinstance(state.get("slots"), dict) and isinstance(state.get("optimizer"), str)
            and all(isinstance(state.get(k), int) and state[k] >= 0 for k in numbers)
            and all(isinstance(state.get(k), float) for k in ("lr_scale", "monitor_best"))):
        return False
    from .optim import OPTIMIZERS, init_state

    if state["optimizer"] not in set(OPTIMIZERS) - {"lbfgs"} or (
            set(state["slots"]) != set(init_state(state["optimizer"], params)) - {"step"}):
        return False
    return all(isinstance(slot, tuple) and len(slot) == 4 and all(
        isinstance(A, np.ndarray) and A.shape == W.shape and A.dtype == W.dtype and np.isfinite(A).all()
        for A, W in zip(slot, params)) for slot in state["slots"].values())


def _from_version_1(path):
    """A format-1 file (.npz) as a ModelFile: its scaling as a fitted StandardScaler before the estimator."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from . import modelfile
    from .estimator import ResidualMLPClassifier

    m = modelfile.load(path)
    est = ResidualMLPClassifier(**_v1_parameters(m.settings))
    est.params_ = tuple(m.params)
    est.classes_ = np.asarray(m.classes)
    est.input_bias_ = False  # format 1 had no input bias
    D = m.params.W1.shape[0]
    est.n_features_in_ = D
    est.loss_curve_ = [float(v) for v in m.results.get("loss_curve", [])]
    est.n_iter_ = int(m.results.get("n_iter", m.results.get("epochs_run", len(est.loss_curve_))))
    est.t_ = int(m.results.get("t", 0))
    est.validation_scores_ = est.validation_loss_curve_ = est.best_validation_score_ = None
    est.best_loss_ = min(est.loss_curve_) if est.loss_curve_ else None
    est.stop_reason_ = str(m.results.get("stop_reason", ""))
    names = None if m.feature_names is None else np.asarray(m.feature_names, dtype=object)
    if m.mean is None:
        if names is not None and m.settings.get("feature_names_in", True):
            est.feature_names_in_ = names
        model = est
    else:
        scaler = StandardScaler()
        scaler.mean_, scaler.scale_ = m.mean.astype(np.float64), m.scale.astype(np.float64)
        scaler.var_ = scaler.scale_ ** 2
        scaler.n_features_in_, scaler.n_samples_seen_ = D, int(m.results.get("t", 0) or 1)
        if names is not None:
            scaler.feature_names_in_ = names
        model = Pipeline([("scale", scaler), ("classifier", est)])
    record = {"settings": m.settings, "results": m.results, "converted_from_format": 1}
    if m.feature_names is not None:
        record["features"] = list(m.feature_names)
    return ModelFile(model=model, record=record, format_version=1)


_V1_SETTINGS = {"hidden": "n_hidden", "epochs": "max_iter", "lr": "lr", "batch_size": "batch_size",
                "optimizer": "optimizer", "momentum": "momentum", "weight_decay": "weight_decay",
                "lr_schedule": "lr_schedule", "tol": "tol", "seed": "random_state"}


def _v1_parameters(settings):
    """Estimator parameters from a format-1 file's settings (the estimator's own names, or the CLI's)."""
    from .estimator import ResidualMLPClassifier

    names = ResidualMLPClassifier().get_params()
    if settings.get("estimator"):
        params = {k: v for k, v in settings.items() if k in names}
    else:
        params = {name: settings[key] for key, name in _V1_SETTINGS.items() if key in settings}
    if isinstance(params.get("betas"), list):
        params["betas"] = tuple(params["betas"])
    params.setdefault("batch_size", None)     # format 1 wrote None for full batch
    params["recipe"] = "default"
    return params


def _for_file(model, optimizer_state):
    """A shallow copy of the model as a file holds it: host arrays, the optimizer state only if asked."""
    import copy

    from .devices import is_host, to_host

    model = _without_callbacks(model)
    est = classifier_of(model)
    state = getattr(est, "_optimizer_state", None)
    on_device = hasattr(est, "params_") and not all(is_host(W) for W in est.params_)
    est = copy.copy(est)
    for name in CURVES:  # per-epoch lists as arrays: see pack_floats (the estimator's __setstate__ unpacks)
        if name in est.__dict__:
            est.__dict__[name] = pack_floats(est.__dict__[name])
    if not optimizer_state:
        est.__dict__.pop("_optimizer_state", None)
    if on_device:  # model files hold host arrays; devices.to_device(est.params_, X) moves them back
        est.params_ = tuple(to_host(W) for W in est.params_)
        if optimizer_state and state is not None:
            est._optimizer_state = {**state, "slots": {k: tuple(to_host(W) for W in v)
                                                       for k, v in state["slots"].items()}}
    if hasattr(model, "steps"):
        model = copy.copy(model)
        model.steps = [*model.steps[:-1], (model.steps[-1][0], est)]
        return model
    return est


def _without_callbacks(model):
    """The model, with shallow copies of the pipeline and of each step that holds callbacks, without them."""
    import copy

    def bare(obj):
        if "_skl_callbacks" not in getattr(obj, "__dict__", {}):
            return obj
        obj = copy.copy(obj)
        del obj.__dict__["_skl_callbacks"]
        return obj

    if not hasattr(model, "steps"):
        return bare(model)
    steps = [(name, bare(step)) for name, step in model.steps]
    new = bare(model)
    if any(step is not old for (_, step), (_, old) in zip(steps, model.steps)):
        new = copy.copy(model) if new is model else new
        new.steps = steps
    return new


def pack_floats(value):
    """`value` (built-in data) with every list of floats turned into a float64 array (1-D): what a
    model file holds. skops writes a list one node per element (about 400 bytes a number), an array
    as one .npy (8 bytes a number): a per-epoch curve of a long run would otherwise make the file
    grow by kilobytes per epoch. `unpack_floats` gives back the lists, equal float for float."""
    if isinstance(value, dict):
        return {k: pack_floats(v) for k, v in value.items()}
    if isinstance(value, list) and value and all(type(v) is float for v in value):
        return np.asarray(value, dtype=np.float64)
    if isinstance(value, list):
        return [pack_floats(v) for v in value]
    return value


def unpack_floats(value):
    """The inverse of `pack_floats`: 1-D float64 arrays back to lists of Python floats."""
    if isinstance(value, dict):
        return {k: unpack_floats(v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype == np.float64:
        return value.tolist()
    if isinstance(value, list):
        return [unpack_floats(v) for v in value]
    return value


def plain_data(value):
    """A JSON-able copy of `value` (numpy scalars and arrays as Python numbers and lists, tuples as lists):
    built-in types only. Model records, and the estimator's `history_`."""
    if isinstance(value, dict):
        return {str(k): plain_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_data(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return plain_data(value.tolist())
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
