"""`residual-mlp figures`: draw the architecture (Figure 1) and the computation graph (Figure 2)."""
from __future__ import annotations

import os

from .. import figures
from ..errors import InputError, OutputError
from ..saving import classifier_of, read_model_file
from . import options

HELP = "draw the network's architecture and computation graph as SVG and PNG"


def add_arguments(parser):
    D, M, C = figures.DEFAULT_DIMS
    parser.add_argument("--out", default="figures", metavar="DIR",
                        help="folder for architecture.{svg,png} and computation_graph.{svg,png} "
                        "(created if missing; default: figures)")
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--model", metavar="FILE", help="show the sizes D, M, C of this model file")
    sizes.add_argument("--dims", nargs=3, type=options.positive_int, metavar=("D", "M", "C"),
                       help=f"show these sizes (default: {D} {M} {C}, the default run on digits)")


def run(args):
    if args.model:
        est = classifier_of(read_model_file(args.model).model)
        dims = (est.params_[0].shape[0], est.params_[1].shape[0], est.params_[3].shape[0])
    else:
        dims = tuple(args.dims) if args.dims else figures.DEFAULT_DIMS
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise InputError(f"--out {args.out}: exists and is not a folder")
    try:
        written = figures.write_figures(args.out, dims)
    except OSError as e:
        raise OutputError(f"cannot write the figures to {args.out}: {e.strerror or e}") from None
    D, M, C = dims
    print(f"drew      D={D}, M={M}, C={C}")
    for path in written:
        print(f"wrote     {path}")
    return 0
