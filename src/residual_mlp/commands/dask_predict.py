"""`residual-mlp predict --dask` (or --scheduler ADDRESS, or a --data pattern): predictions on Dask.

The same output as the in-memory `predict` (one CSV line per input row, in input order; with --proba a
probability column per class), computed partition by partition on the cluster by the model's own
`predict_proba` and written as the partitions come back, in order, at most `WINDOW_PER_WORKER` per
worker in flight: the client holds a few partitions' predictions, never the data. Any model file
works (a `make_pipeline` one or a `dask_pipeline` one).
"""
from __future__ import annotations

import collections

from ..errors import InputError
from ..saving import classifier_of, read_model_file
from . import options
from .dask_train import cluster, needs_dask
from .predict import _output, write_predictions

WINDOW_PER_WORKER = 2


def run(args):
    needs_dask()
    import dask

    from ..dask_pipeline import _proba_part, read_frame

    outputs = options.planned_outputs(args, [("--out", args.out)],
                                      inputs=[("--data", args.data), ("--model", args.model)],
                                      what={"--out": "the predictions"})
    pipe = read_model_file(args.model).model
    classes = classifier_of(pipe).classes_
    frame = read_frame(args.data, sep=args.sep, na_values=args.na_values)
    with cluster(args) as client, _output(outputs, args.out) as out:
        workers = max(1, len(client.scheduler_info(n_workers=-1)["workers"]))
        model = client.scatter(pipe, broadcast=True)   # the model goes to each worker once
        parts = [dask.delayed(_proba_part, pure=True)(model, part) for part in frame.to_delayed()]

        def probabilities():
            try:
                yield from _in_order(client, parts, WINDOW_PER_WORKER * workers)
            except ValueError as e:  # the model's check of the columns, raised on a worker
                raise InputError(f"{args.data}: {str(e).splitlines()[0]}") from None

        return write_predictions(out, classes, probabilities(), args)


def _in_order(client, parts, window):
    """The computed `parts`, in order, with at most `window` of them in flight."""
    pending = collections.deque()
    for part in parts:
        pending.append(client.compute(part))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
