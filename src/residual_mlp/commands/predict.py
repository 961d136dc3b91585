"""`residual-mlp predict`: labels, and optionally class probabilities, for new data.

The output is CSV with one line per input row, in input order: the predicted label as the model holds
it (for a model trained on a CSV file, the label text exactly as written), then with --proba one
probability column per class. Columns are matched to the model's by name, in any order; extra columns
(the label column among them) are ignored. The input is read, scored and written a block of rows at a
time, so files larger than memory work. With --out the file appears whole or not at all.
"""
from __future__ import annotations

import contextlib
import sys

from .. import data
from ..errors import InputError, OutputError
from ..saving import classifier_of, model_input, read_model_file
from . import options

HELP = "predict the labels of new data with a trained model, as CSV"


def add_arguments(parser):
    parser.add_argument("--model", required=True, metavar="FILE", help="a model file written by `train`")
    parser.add_argument("--data", required=True, metavar="FILE",
                        help="the rows to predict: CSV, Parquet or NPZ (array X); columns are matched to the "
                        "model's by name, and others (a label column, say) are ignored")
    options.add_table_options(parser)
    options.add_dask_options(parser)
    parser.add_argument("--out", metavar="FILE", help="write the CSV here (default: standard output)")
    parser.add_argument("--proba", action="store_true", help="add a column per class with its probability")


def run(args):

    options.check_input("--model", args.model)
    options.check_input("--data", args.data)
    if options.uses_dask(args):  # partition by partition on Dask: commands/dask_predict.py
        from .dask_predict import run as run_on_dask
        return run_on_dask(args)
    outputs = options.planned_outputs(args, [("--out", args.out)],
                                      inputs=[("--data", args.data), ("--model", args.model)],
                                      what={"--out": "the predictions"})
    pipe = read_model_file(args.model).model
    classes = classifier_of(pipe).classes_

    def probabilities():
        for block in data.iter_table(args.data, sep=args.sep, na_values=args.na_values):
            try:
                yield pipe.predict_proba(model_input(pipe, block))  # (n, C)
            except ValueError as e:  # InputError, or scikit-learn's check of the columns
                raise InputError(f"{args.data}: {str(e).splitlines()[0]}") from None

    with _output(outputs, args.out) as out:
        return write_predictions(out, classes, probabilities(), args)


def write_predictions(out, classes, probabilities, args):
    """Write the CSV of predictions for consecutive blocks of class probabilities (n, C), in order: the
    predicted label, then with --proba a column per class. 0; InputError when the output cannot be written."""
    import pandas as pd

    names = [f"proba_{c}" for c in classes]
    try:
        first = True
        for proba in probabilities:
            table = pd.DataFrame({"prediction": classes[proba.argmax(axis=1)]})
            if args.proba:
                table = pd.concat([table, pd.DataFrame(proba, columns=names)], axis=1)
            table.to_csv(out, header=first, index=False, lineterminator="\n")
            first = False
    except BrokenPipeError:
        raise  # the reader of standard output has gone (`... | head`): cli.main ends the command quietly
    except OSError as e:
        raise OutputError(f"cannot write the predictions to {args.out or 'standard output'}: "
                         f"{e.strerror or e}") from None
    return 0


@contextlib.contextmanager
def _output(outputs, path):
    """Standard output, or a staged file renamed over `path` once everything is written."""
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    with outputs.staging("--out") as stage:  # OutputError when the file cannot be staged or renamed into place
        temporary = stage.path("--out")
        try:
            with open(temporary, "w", encoding="utf-8", newline="") as f:
                yield f
        except OSError as e:  # opening or closing (flushing) it; the rows' own write errors are caught in `run`
            raise OutputError(f"cannot write the predictions to {path}: {e.strerror or e}") from None
