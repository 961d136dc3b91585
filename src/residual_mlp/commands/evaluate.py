"""`residual-mlp evaluate`: how a trained model does on labelled data.

Loss, accuracy, per-class precision, recall and F1, and the confusion matrix. The data are read and
scored a block of rows at a time, so a file larger than memory can be evaluated.
"""
from __future__ import annotations

import numpy as np

from .. import data, labels
from ..errors import InputError, OutputError
from ..saving import classifier_of, model_input
from . import options

HELP = "measure a trained model on labelled data: loss, accuracy, per-class scores, confusion matrix"

ACTIVATION_BYTES = 32 << 20  # the activations of one forward pass over a block of rows
MAX_MATRIX_CLASSES = 30      # above this many classes the confusion matrix is summarized, not printed


def add_arguments(parser):
    parser.add_argument("--model", required=True, metavar="FILE", help="a model file written by `train`")
    parser.add_argument("--data", required=True, metavar="FILE",
                        help="a labelled table with the model's feature columns (any order; others are ignored): "
                        "CSV, Parquet or NPZ (arrays X and y)")
    parser.add_argument("--target", metavar="NAME",
                        help="the label column (default: the one the model was trained with)")
    options.add_table_options(parser)
    parser.add_argument("--plot", metavar="FILE.png", help="draw the confusion matrix to this image (default: none)")


def run(args):
    from ..saving import read_model_file

    options.check_input("--model", args.model)
    options.check_input("--data", args.data)
    outputs = options.planned_outputs(args, [("--plot", args.plot)],
                                      inputs=[("--data", args.data), ("--model", args.model)])
    loaded = read_model_file(args.model)
    pipe, record = loaded.model, loaded.record
    est = classifier_of(pipe)
    target = args.target
    if target is None and data.table_format(args.data) != "npz":  # an NPZ file's labels are its array y
        target = trained_target(record)
    table = data.read_table(args.data, target=target, sep=args.sep, na_values=args.na_values)
    if table.n_dropped_labels:
        rows = "row" if table.n_dropped_labels == 1 else "rows"
        print(f"note      left out {table.n_dropped_labels} {rows} whose label ({table.target!r}) is missing")
    C = len(est.classes_)
    try:
        y = labels.class_index(est.classes_, table.labels)
    except ValueError as e:
        raise InputError(f"{args.data}, column {table.target!r}: {e}") from None
    try:
        loss_sum, confusion = tally(pipe, model_input(pipe, table.features), y)
    except InputError as e:  # a column of the model missing from the table, say
        raise InputError(f"{args.data}: {e}") from None
    N = int(confusion.sum())
    names = [str(c) for c in est.classes_]
    print(f"model     {args.model}: D={est.n_features_in_} features, M={est.params_[1].shape[0]} hidden, "
          f"C={C} classes")
    print(f"data      {args.data}: {N} rows")
    print(f"loss      {loss_sum / N:.4f}")
    print(f"accuracy  {np.trace(confusion) / N:.2%} ({int(np.trace(confusion))} of {N})")
    print()
    print(report(confusion, names))
    print()
    print(confusion_text(confusion, names))
    if args.plot is not None:
        with outputs.staging("--plot") as stage:
            _plot(confusion, names, stage.path("--plot"), args.plot)
        print(f"\nplotted   {args.plot}")
    return 0


def tally(pipe, frame, y):
    """(summed cross-entropy, confusion matrix (C, C) of int counts) of a fitted model on a table and y (N,).

    Rows of the confusion matrix are true classes, columns predicted ones. The forward pass runs on
    blocks of rows, so no activation is much larger than ACTIVATION_BYTES.
    """
    est = classifier_of(pipe)
    C = len(est.classes_)
    rows = rows_per_pass(est.params_)
    loss, confusion = 0.0, np.zeros((C, C), dtype=np.int64)      # (C, C)
    for start in range(0, len(y), rows):
        log_y_hat = pipe.predict_log_proba(frame[start:start + rows])
        yb = y[start:start + rows]
        # J_i = -log y_hat_i[y_i], summed over the block (model.cross_entropy's loss, without its dtheta)
        loss -= float(log_y_hat[np.arange(yb.shape[0]), yb].sum(dtype=np.float64))
        predicted = log_y_hat.argmax(axis=1)                      # (n,)
        confusion += np.bincount(yb * C + predicted, minlength=C * C).reshape(C, C)
    return loss, confusion


def write_figure(path, figure, shown_path):
    """Write a figure to `path` in the format `shown_path`'s extension names (a staged output)."""
    from ..plots import image_format, save_figure

    try:
        save_figure(figure, path, fmt=image_format(shown_path))
    except OSError as e:
        raise OutputError(f"cannot write the figure to {shown_path}: {e.strerror or e}") from None
    print(f"plotted   {shown_path}")


def rows_per_pass(params):
    """How many rows one forward pass takes so that its activations stay near ACTIVATION_BYTES."""
    W1, W2, _, W4 = params
    (D, M), C = W2.shape[::-1], W4.shape[0]
    return max(1, ACTIVATION_BYTES // (W1.dtype.itemsize * (3 * D + 4 * M + 4 * C)))


def trained_target(record):
    """The label column the model was trained with, or None."""
    target = record.get("target")
    return target if isinstance(target, str) else None


def scores(confusion):
    """Per-class precision, recall, F1 (each (C,); 0 where undefined) and support (C,)."""
    confusion = np.asarray(confusion, dtype=np.float64)
    hits = np.diag(confusion)                                     # (C,)
    predicted, support = confusion.sum(axis=0), confusion.sum(axis=1)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, support, out=np.zeros_like(hits), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(hits), where=both > 0)
    return precision, recall, f1, support.astype(np.int64)


def report(confusion, names):
    """The per-class table: precision, recall, F1 and support, with their macro and weighted means."""
    precision, recall, f1, support = scores(confusion)
    width = max(12, *(len(n) for n in names))
    lines = [f"{'class':<{width}}  precision  recall      f1  support"]
    for name, p, r, f, n in zip(names, precision, recall, f1, support):
        lines.append(f"{name:<{width}}  {p:9.4f}  {r:6.4f}  {f:6.4f}  {n:7d}")
    weight = support / max(support.sum(), 1)
    for label, mean in (("macro avg", np.mean), ("weighted avg", lambda v: float(np.dot(v, weight)))):
        lines.append(f"{label:<{width}}  {mean(precision):9.4f}  {mean(recall):6.4f}  {mean(f1):6.4f}  "
                     f"{int(support.sum()):7d}")
    return "\n".join(lines)


def confusion_text(confusion, names):
    """The confusion matrix as a text table: rows are true classes, columns predicted ones."""
    width = max(max(len(n) for n in names), len(str(int(confusion.max()))), 4)
    head = " " * width + "  " + " ".join(f"{n:>{width}}" for n in names)
    lines = ["confusion matrix (rows: true class, columns: predicted class)", head]
    for name, row in zip(names, confusion):
        lines.append(f"{name:>{width}}  " + " ".join(f"{int(k):>{width}}" for k in row))
    return "\n".join(lines)


def _plot(confusion, names, path, shown_path):
    from ..plots import image_format, new_figure, save_figure

    C = len(names)
    size = min(3.0 + 0.45 * C, 16.0)
    fig = new_figure(size + 1.0, size)
    ax = fig.subplots()
    shown = ax.imshow(confusion, cmap="Blues")
    fig.colorbar(shown, ax=ax, label="rows")
    ax.set(xticks=range(C), yticks=range(C), xlabel="predicted class", ylabel="true class",
           title="Confusion matrix")
    if max(len(n) for n in names) > 3:
        ax.set_xticklabels(names, rotation=45, ha="right")
    else:
        ax.set_xticklabels(names)
    ax.set_yticklabels(names)
    if C <= 30:
        threshold = confusion.max() / 2
        for i in range(C):
            for j in range(C):
                ax.text(j, i, str(int(confusion[i, j])), ha="center", va="center", fontsize="small",
                        color="white" if confusion[i, j] > threshold else "black")
    try:
        save_figure(fig, path, fmt=image_format(shown_path))
    except OSError as e:
        raise OutputError(f"cannot write the figure to {shown_path}: {e.strerror or e}") from None
