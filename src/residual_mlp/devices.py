"""Arrays of any library on any device: the array namespace of an input, and moves to and from the host.

The network (`model.py`) is written against the Python array API standard, so NumPy, CuPy, PyTorch
(CPU and CUDA) and array-api-strict arrays all run the same formulas; `namespace` finds the library
of an input (array-api-compat's `array_namespace`, or the copy scikit-learn vendors when the package
is not installed). Weights and data meet on one device: `to_device` moves weights next to an input,
`to_host` brings anything back as NumPy arrays (model files and checkpoints hold host arrays).
"""
from __future__ import annotations

import numpy as np

try:  # the package itself; scikit-learn vendors a copy (a GPU machine may have no package index)
    import array_api_compat as compat
except ImportError:  # pragma: no cover
    from sklearn.externals import array_api_compat as compat

from .model import Params

FLOAT_NAMES = ("float32", "float64")


def is_array(a):
    """True for an array of any array API library (NumPy included); False for lists and scalars."""
    return compat.is_array_api_obj(a)


def is_host(a):
    """True for a NumPy array (or anything that is not an array of another library)."""
    return not is_array(a) or compat.is_numpy_array(a)


def namespace(*arrays):
    """The array API namespace of `arrays` (array-api-compat's wrapper for NumPy, CuPy, torch).

    Raises TypeError when they come from different libraries.
    """
    return compat.array_namespace(*arrays)


def device(a):
    """The device `a` lives on ("cpu" for NumPy)."""
    return compat.device(a)


def to_host(a):
    """`a` as a NumPy array (a copy from a device; NumPy arrays and None as they are).

    A Params of arrays comes back as a Params of NumPy arrays.
    """
    if isinstance(a, Params):
        return Params(*(to_host(W) for W in a))
    if a is None or compat.is_numpy_array(a) or not is_array(a):
        return a
    if compat.is_torch_array(a):
        return a.detach().cpu().numpy()
    if compat.is_cupy_array(a):
        return a.get()
    xp = namespace(a)
    try:  # array-api-strict and others: a copy through DLPack once on the CPU
        cpu = xp.asarray(a, device=_cpu_device(xp, a))
        return np.asarray(np.from_dlpack(cpu))
    except (TypeError, ValueError, RuntimeError, BufferError, AttributeError):
        return np.asarray(a)


def to_device(params: Params, like, dtype=None) -> Params:
    """The weights `params` (of any library) as new arrays of the library and on the device of `like`.

    This is the one call that loads host weights (a model file's, `init_params`') onto a GPU:
    ``to_device(params, X_gpu)``. The dtype is kept unless `dtype` (a NumPy dtype or a dtype of
    `like`'s library) is given. The arrays never share memory with `params`.
    """
    xp, dev = namespace(like), device(like)
    target = None if dtype is None else dtype_of(xp, dtype)
    out = []
    for W in params:
        if not (is_array(W) and namespace(W) is xp):
            W = to_host(W)
            W = xp.asarray(np.ascontiguousarray(W), dtype=dtype_of(xp, W.dtype), device=dev, copy=True)
        else:
            W = xp.asarray(W, device=dev, copy=True)
        out.append(W if target is None or W.dtype == target else xp.astype(W, target))
    return Params(*out)


def numpy_dtype(dtype):
    """The NumPy float dtype of the same name as `dtype` (a dtype of any array library)."""
    name = dtype_name(dtype)
    if name not in FLOAT_NAMES:
        raise TypeError(f"expected a float32 or float64 dtype, got {dtype}")
    return np.dtype(name)


def dtype_of(xp, dtype):
    """The dtype of namespace `xp` with the name of `dtype` (a NumPy or any library's dtype)."""
    name = dtype_name(dtype)
    return getattr(xp, name) if hasattr(xp, name) else dtype


def dtype_name(dtype):
    """"float32", "int64", ...: the name of a NumPy dtype or of a dtype of any array library."""
    if isinstance(dtype, np.dtype) or (isinstance(dtype, type) and issubclass(dtype, np.generic)):
        return np.dtype(dtype).name
    return str(dtype).rsplit(".", 1)[-1]


def _cpu_device(xp, a):
    info = getattr(xp, "__array_namespace_info__", None)
    if info is not None:
        for dev in info().devices():
            if "cpu" in str(dev).lower():
                return dev
    return device(a)


def take_rows(X, rows):
    """Rows `rows` (host integer indices) of X, an array of any library, taken on X's device."""
    xp = namespace(X)
    return xp.take(X, xp.asarray(np.asarray(rows, dtype=np.int64), device=device(X)), axis=0)


def like_weights(X, W):
    """X (N, D) as an array of W's library, device and dtype (the input of a model fitted on a device)."""
    xp = namespace(W)
    if not (is_array(X) and namespace(X) is xp):
        X = xp.asarray(np.asarray(to_host(X)), device=device(W))
    if device(X) != device(W):
        raise ValueError(f"X is on device {device(X)}, the weights on {device(W)}: move one of them")
    return X if X.dtype == W.dtype else xp.astype(X, W.dtype)


def labels_like(classes, index):
    """classes[index] for class indices `index` of any library: labels of index's library and device,
    except text labels, which only NumPy holds (as scikit-learn's own classifiers return them)."""
    labels = np.asarray(classes)[to_host(index)]
    if labels.dtype.kind in "OUSV" or is_host(index):
        return labels
    return namespace(index).asarray(labels, device=device(index))
