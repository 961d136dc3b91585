"""Test-wide settings."""
import os
import re
import sys
from pathlib import Path

# scikit-learn's estimator checks include an array-API check that scipy only allows when this is set
# before scipy is first imported; without it that check would be skipped.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

# The benchmark suite's modules (benchmarks/realdata.py, benchmarks/suite.py) are imported by tests
# too; they stay out of the library.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

# scikit-learn's array-API checks come for every library and device it knows; those this machine cannot have
# (CuPy and dpnp not installed, no CUDA, XPU or MPS device) are left out of the run rather than reported as
# skipped. benchmarks/gpu_check.py runs the device checks where a GPU is at hand.
_NAMESPACE = re.compile(r"(?:array_namespace=|xp=')(\w+)")
_DEVICE = re.compile(r"(?:device_name=|device=')(\w+)")


def pytest_configure(config):
    config.addinivalue_line("markers", "sklearn_1_9: needs scikit-learn 1.9 or later (callbacks, array API checks)")


def pytest_collection_modifyitems(config, items):
    # with the oldest supported scikit-learn (1.6), the tests of what needs 1.9 are left out of the run, said so
    # in the summary as deselected; CI runs them with the newest
    from residual_mlp.estimator import SKLEARN_VERSION

    absent = [item for item in items if not _available(item.nodeid)
              or (SKLEARN_VERSION < (1, 9) and item.get_closest_marker("sklearn_1_9"))]
    if absent:
        config.hook.pytest_deselected(items=absent)
        items[:] = [item for item in items if item not in absent]


def _available(nodeid):
    """Whether every array library and device a check's id names exists here."""
    import importlib.util

    for name in _NAMESPACE.findall(nodeid):
        if name in ("cupy", "dpnp") and importlib.util.find_spec(name) is None:
            return False
    devices = set(_DEVICE.findall(nodeid)) & {"cuda", "xpu", "mps"}
    if not devices:
        return True
    import torch

    present = {"cuda": torch.cuda.is_available(),
               "xpu": hasattr(torch, "xpu") and torch.xpu.is_available(),
               "mps": torch.backends.mps.is_available() and os.environ.get("PYTORCH_ENABLE_MPS_FALLBACK") == "1"}
    return all(present[d] for d in devices)
