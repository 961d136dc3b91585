"""`residual-mlp gradcheck`: show that the hand-derived gradients are the derivatives of the loss.

For each shape (N samples, D features, M hidden width, C classes) it draws a random problem, nudges
every entry of W1..W4 by +h and -h, and compares the slope of the loss with the analytic gradient.
Then, when PyTorch is installed, it compares the loss and gradients with autograd as well.
"""
from __future__ import annotations

import argparse

import numpy as np

from ..gradcheck import check_gradients, format_report, make_problem, torch_check
from ..model import loss_and_grads
from . import options

HELP = "check the analytic gradients against finite differences and PyTorch autograd"

# (N, D, M, C): D, M and C all differ; a single sample with two classes; more classes than features
SHAPES = ((6, 4, 7, 3), (1, 5, 3, 2), (9, 3, 5, 6))
TORCH_TOL = 1e-10


def shape(text):
    """N,D,M,C as four positive integers, at least two classes."""
    parts = text.split(",")
    try:
        values = tuple(int(part) for part in parts)
    except ValueError:
        values = ()
    if len(values) != 4 or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected N,D,M,C as four positive integers, got {text!r}")
    if values[3] < 2:
        raise argparse.ArgumentTypeError(f"expected at least two classes (C >= 2), got {text!r}")
    return values


def add_arguments(parser):
    parser.add_argument("--shapes", type=shape, nargs="+", metavar="N,D,M,C",
                        help="shapes to check as N,D,M,C: samples, features, hidden width, classes "
                        "(default: " + " ".join(",".join(map(str, s)) for s in SHAPES) + ")")
    parser.add_argument("--trials", type=options.non_negative_int, default=2, metavar="K",
                        help="also check K shapes drawn at random (default: 2)")
    parser.add_argument("--seed", type=options.seed, default=0, help="seed of the random shapes, weights and data "
                        "(default: 0)")
    parser.add_argument("--tol", type=options.positive_float, default=1e-7,
                        help="largest relative error that passes (default: 1e-7)")
    parser.add_argument("--step", type=options.positive_float, default=1e-6, metavar="H",
                        help="finite-difference step h (default: 1e-6)")


def run(args):
    shapes = list(args.shapes or SHAPES)
    rng = np.random.default_rng(args.seed)
    for _ in range(args.trials):
        shapes.append((int(rng.integers(1, 11)), int(rng.integers(1, 9)), int(rng.integers(1, 9)),
                       int(rng.integers(2, 7))))

    print(f"Finite differences in float64: every entry of W1..W4 is moved by +h and -h "
          f"(h = {args.step:g}),")
    print("and the slope of the loss is compared with the analytic gradient. Relative error =")
    print(f"max |analytic - numeric| / max(max |analytic|, max |numeric|); a tensor passes "
          f"at <= {args.tol:g}.")
    failed = []
    torch_missing = False
    for number, (N, D, M, C) in enumerate(shapes, 1):
        seed = args.seed + number
        try:
            params, X, y = make_problem(N, D, M, C, seed=seed, h=args.step)
        except RuntimeError as e:
            print(f"\nshape {number} of {len(shapes)}: {e}")
            failed.append(f"shape {number} (no problem could be drawn)")
            continue
        report = check_gradients(params, X, y, loss_and_grads, h=args.step, tol=args.tol)
        print(f"\nshape {number} of {len(shapes)}: N={N} D={D} M={M} C={C} (seed {seed}); nearest ReLU "
              f"kink: min |t| = {report.min_abs_t:.2g}, one step moves t by at most {report.max_t_shift:.2g}")
        print(_indent(format_report(report)))
        failed += [f"shape {number} {row.name}" for row in report.rows if not row.passed]
        if not report.kink_safe:
            failed.append(f"shape {number} (a step crossed the ReLU kink)")

        cross = torch_check(params, X, y, loss_and_grads, tol=TORCH_TOL)
        if cross is None:
            torch_missing = True
            continue
        print(f"PyTorch autograd, same float64 weights (a tensor passes at <= {TORCH_TOL:g}):")
        print(_indent(format_report(cross)))
        failed += [f"shape {number} {row.name} vs PyTorch" for row in cross.rows if not row.passed]

    print()
    if torch_missing:
        print("PyTorch cross-check: not run, torch is not installed (pip install torch to add it)")
    if failed:
        print(f"gradcheck FAILED: {', '.join(failed)}")
        return 1
    checked = "finite differences" + ("" if torch_missing else " and PyTorch autograd")
    count = f"{len(shapes)} shape" + ("" if len(shapes) == 1 else "s")
    print(f"gradcheck passed: {count}, every gradient entry agrees with {checked}")
    return 0


def _indent(text):
    return "\n".join("  " + line for line in text.splitlines())
