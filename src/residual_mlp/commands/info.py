"""`residual-mlp info`: what a model file holds: dimensions, classes, features, settings, results."""
from __future__ import annotations

import math

from .. import modelfile
from . import options

HELP = "show what a model file holds: dimensions, classes, feature names, training settings and results"


def add_arguments(parser):
    parser.add_argument("--model", required=True, metavar="FILE", help="a model file written by `train`")


def run(args):
    options.check_input("--model", args.model)
    m = modelfile.load(args.model)
    D, M, C = m.dims
    n_weights = sum(W.size for W in m.params)
    print(f"model     {args.model}")
    print(f"network   D={D} features, M={M} hidden, C={C} classes: {n_weights} weights "
          f"(W1 {D}x{D}, W2 {M}x{D}, W3 {M}x{M}, W4 {C}x{M}), {m.params.W1.dtype}")
    print(f"classes   {', '.join(str(c) for c in m.classes)}")
    if m.feature_names is None:
        print("features  unnamed (matched by position)")
    else:
        print(f"features  {', '.join(m.feature_names)}")
    print(f"scaling   {'standardized (x - mean) / scale' if m.mean is not None else 'none'}")
    if m.settings:
        print("settings")
        for key, value in m.settings.items():
            print(f"  {key:<22}{_value(value)}")
    if m.results:
        print("results")
        for key, value in m.results.items():
            print(f"  {key:<22}{_value(value)}")
    return 0


def _value(value):
    """A setting or a result as a short text; a long list (the loss curve) as its size and ends."""
    if isinstance(value, list) and len(value) > 6:
        return f"{len(value)} values: {_value(value[0])}, {_value(value[1])}, ..., {_value(value[-1])}"
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    return "-" if value is None else str(value)
