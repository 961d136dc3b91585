"""`residual-mlp predict`: labels, and optionally class probabilities, for new data.

The output is CSV with one line per input row, in input order: the predicted label under its
original name, then with --proba one probability column per class. Input is read, scored and written
a block of rows at a time, so files larger than memory work. With --out the file appears whole or
not at all: the output goes to a temporary file in the same folder, renamed at the end.
"""
from __future__ import annotations

import contextlib
import csv
import io
import os
import sys

import numpy as np

from .. import data, model, modelfile
from ..atomic import atomic_open
from ..errors import InputError
from . import options
from .evaluate import rows_per_pass, trained_target

HELP = "predict the labels of new data with a trained model, as CSV"


def add_arguments(parser):
    parser.add_argument("--model", required=True, metavar="FILE", help="a model file written by `train`")
    parser.add_argument("--data", required=True, metavar="FILE",
                        help="the rows to predict: CSV (with a header row), NPZ (array X) or Parquet; "
                        "columns are matched to the model's features by name, and a label column, "
                        "if present, is ignored")
    parser.add_argument("--out", metavar="FILE", help="write the CSV here (default: standard output)")
    parser.add_argument("--proba", action="store_true", help="add a column per class with its probability")


def run(args):
    options.check_input("--model", args.model)
    options.check_input("--data", args.data)
    if args.out is not None:
        options.check_output("--out", args.out, [("--data", args.data), ("--model", args.model)])
    m = modelfile.load(args.model)
    names = np.array([str(c) for c in m.classes])                # (C,)
    header = ["prediction"] + ([f"proba_{n}" for n in names] if args.proba else [])
    lines = np.array([_csv_line([n]) for n in names])            # (C,) each label as a line of CSV
    rows = rows_per_pass(m.params)
    with data.open_table(args.data, target=trained_target(m), features=m.feature_names, n_features=m.dims[0],
                         labels=False) as table:
        try:
            with _output(args.out) as out:
                out.write(_csv_line(header))
                writer = csv.writer(out, lineterminator="\n")
                for _, X, _ in table.blocks():
                    for start in range(0, X.shape[0], rows):
                        acts = model.forward(m.params, m.scaled(X[start:start + rows]))
                        predicted = acts.theta.argmax(axis=1)             # (n,) as Model.predict
                        if args.proba:
                            writer.writerows(zip(names[predicted].tolist(), *acts.y_hat.T.tolist()))
                        else:
                            out.write("".join(lines[predicted]))
        except BrokenPipeError:
            # The reader of standard output has gone (`... | head`): stop quietly, as other tools do.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        except OSError as e:
            raise InputError(f"cannot write the predictions to {args.out or 'standard output'}: "
                             f"{e.strerror or e}") from None
    return 0


def _csv_line(cells):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


@contextlib.contextmanager
def _output(path):
    """Standard output, or a temporary file next to `path` renamed over it once everything is written."""
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    with atomic_open(path, "w", encoding="utf-8", newline="") as f:
        yield f
