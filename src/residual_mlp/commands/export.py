"""`residual-mlp export`: the fitted pipeline of a model file as an ONNX model, for onnxruntime.

The ONNX model holds the whole pipeline: imputation, missing indicators, scaling, one-hot encoding,
the network, probabilities and labels (see `residual_mlp.onnx_export` for its inputs and outputs).
The file appears whole or not at all. Needs the optional extra: ``pip install 'residual_mlp[onnx]'``.
"""
from __future__ import annotations

import os

from ..atomic import write_atomic
from ..errors import InputError, OutputError
from ..saving import load_model
from . import options

HELP = "write a trained model as an ONNX file (preprocessing, network, probabilities and labels)"


def add_arguments(parser):
    parser.add_argument("--model", required=True, metavar="FILE", help="a model file written by `train`")
    parser.add_argument("--out", required=True, metavar="FILE", help="the ONNX file to write (name ending in .onnx)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default=None,
                        help="float type of the ONNX model's inputs (default: that of the trained weights)")


def run(args):
    options.check_input("--model", args.model)
    options.check_output("--out", args.out, [("--model", args.model)])
    if not args.out.lower().endswith(".onnx"):
        raise InputError(f"--out {args.out}: an ONNX file's name ends in .onnx")
    if args.model.lower().endswith(".onnx"):
        raise InputError(f"--model {args.model}: is an ONNX file; export reads a model file written by `train`")
    if not os.path.isfile(args.model):
        raise InputError(f"--model {args.model}: no such file")
    try:
        import onnx  # noqa: F401
        import skl2onnx  # noqa: F401

        from .. import onnx_export
    except ImportError as e:
        raise InputError(f"export needs the onnx extra ({e.name} is missing): "
                         f"pip install 'residual_mlp[onnx]'") from None
    pipeline = _load(args.model)
    onnx_model = onnx_export.to_onnx(pipeline, dtype=args.dtype)
    data = onnx_model.SerializeToString()
    try:
        write_atomic(args.out, data)
    except OSError as e:
        raise OutputError(f"cannot write the ONNX model to {args.out}: {e.strerror or e}") from None
    inputs = ", ".join(i.name for i in onnx_model.graph.input)
    opset = {entry.domain or "ai.onnx": entry.version for entry in onnx_model.opset_import}
    print(f"wrote {args.out} ({len(data)} bytes): inputs {inputs}; outputs label, probabilities; "
          f"opset {opset.get('ai.onnx')}")
    return 0


def _load(path):
    """The fitted pipeline of a model file; anything wrong with the file is one InputError line."""
    return load_model(path)
