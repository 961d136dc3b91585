"""`residual-mlp explain`: the seed's derivation, step by step, on a small concrete example."""
from __future__ import annotations

from .. import explain
from ..errors import InputError
from . import options

HELP = "walk through the seed's gradient derivation on a small example, checking each step numerically"


def add_arguments(parser):
    D, M, C = explain.DEFAULT_SIZES
    parser.add_argument("--seed", type=options.seed, default=0, help="seed of the weights and the sample (default: 0)")
    parser.add_argument("--features", type=options.positive_int, default=D, metavar="D",
                        help=f"input size D, at most {explain.MAX_SIZE} (default: {D})")
    parser.add_argument("--hidden", type=options.positive_int, default=M, metavar="M",
                        help=f"hidden width M, at most {explain.MAX_SIZE} (default: {M})")
    parser.add_argument("--classes", type=options.positive_int, default=C, metavar="C",
                        help=f"number of classes C, 2 to {explain.MAX_SIZE} (default: {C})")


def run(args):
    for option, value, low in (("--features", args.features, 1), ("--hidden", args.hidden, 1),
                               ("--classes", args.classes, 2)):
        if not low <= value <= explain.MAX_SIZE:
            raise InputError(f"{option} {value}: the walk-through prints every matrix, so it takes "
                             f"{low} to {explain.MAX_SIZE}")
    agrees = explain.walk_through(args.features, args.hidden, args.classes, seed=args.seed)
    return 0 if agrees else 1
