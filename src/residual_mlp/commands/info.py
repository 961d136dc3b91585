"""`residual-mlp info`: what a model file holds: network, classes, the columns and their roles, settings, results."""
from __future__ import annotations

import math

from ..saving import classifier_of, read_model_file
from . import options

HELP = "show what a model file holds: network, classes, columns and their roles, training settings and results"


def add_arguments(parser):
    parser.add_argument("--model", required=True, metavar="FILE", help="a model file written by `train`")


def run(args):
    options.check_input("--model", args.model)
    loaded = read_model_file(args.model)
    model, record = loaded.model, loaded.record
    est = classifier_of(model)
    W1, W2, W3, W4 = est.params_
    x, M, C = W1.shape[0], W2.shape[0], W4.shape[0]   # x: the network's input, D features (+1 with the bias)
    bias = bool(getattr(est, "input_bias_", False))
    n_weights = sum(W.size for W in est.params_)
    print(f"model     {args.model} (format version {loaded.format_version})")
    print(f"network   D={est.n_features_in_} features, M={M} hidden, C={C} classes: {n_weights} weights "
          f"(W1 {x}x{x}, W2 {M}x{x}, W3 {M}x{M}, W4 {C}x{M}), {W1.dtype}"
          + ("; input bias: x = [features, 1]" if bias else ""))
    print(f"classes   {', '.join(str(c) for c in est.classes_)}")
    if record.get("target"):
        print(f"target    {record['target']}")
    encoder = model.steps[0][1] if hasattr(model, "steps") and hasattr(model.steps[0][1], "role_table") else None
    if encoder is not None:
        print("columns")
        for line in encoder.role_table(max_names=len(encoder.roles_)):  # every column: nowhere else to see them
            print(f"  {line}")
    elif hasattr(model, "steps"):
        names = getattr(model, "feature_names_in_", None)
        print(f"features  {', '.join(map(str, names)) if names is not None else 'unnamed (matched by position)'}")
        print(f"scaling   {', '.join(name for name, _ in model.steps[:-1])}")
    for title in ("settings", "results"):
        values = record.get(title) or {}
        if values:
            print(title)
            for key, value in values.items():
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
