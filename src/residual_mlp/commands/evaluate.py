"""`residual-mlp evaluate`: how a trained model does on labelled data.

Loss, accuracy, per-class precision, recall and F1, and the confusion matrix. The data are read and
scored a block of rows at a time, so a file larger than memory can be evaluated.
"""
from __future__ import annotations

import numpy as np

from .. import data, model, modelfile
from ..errors import InputError
from . import options

HELP = "measure a trained model on labelled data: loss, accuracy, per-class scores, confusion matrix"

ACTIVATION_BYTES = 32 << 20  # the activations of one forward pass over a block of rows


def add_arguments(parser):
    parser.add_argument("--model", required=True, metavar="FILE", help="a model file written by `train`")
    parser.add_argument("--data", required=True, metavar="FILE",
                        help="labelled data with the model's feature columns: CSV (with a header row), "
                        "NPZ (arrays X and y) or Parquet")
    parser.add_argument("--target", metavar="NAME",
                        help="the label column of a CSV/Parquet file (default: the one the model was "
                        "trained with, or the one column besides the model's features)")
    parser.add_argument("--plot", metavar="FILE.png", help="draw the confusion matrix to this image")


def run(args):
    options.check_input("--model", args.model)
    options.check_input("--data", args.data)
    if args.plot is not None:
        options.check_output("--plot", args.plot, [("--data", args.data), ("--model", args.model)])
    m = modelfile.load(args.model)
    if args.target is not None and data.table_format(args.data) == "npz":
        raise InputError(f"--target {args.target}: {args.data} is an NPZ file, whose labels are the array y")
    target = args.target if args.target is not None else trained_target(m)
    C = len(m.classes)
    loss_sum, confusion = 0.0, np.zeros((C, C), dtype=np.int64)   # (C, C)
    with data.open_table(args.data, target=target, features=m.feature_names, n_features=m.dims[0]) as table:
        for first_row, X, labels in table.blocks():
            y = data.encode_with(m.classes, labels, lambda i: table.label_place(first_row + i))
            block_loss, block_confusion = tally(m.params, m.scaled(X), y)
            loss_sum += block_loss
            confusion += block_confusion
    N = int(confusion.sum())
    names = [str(c) for c in m.classes]
    print(f"model     {args.model}: D={m.dims[0]} features, M={m.dims[1]} hidden, C={C} classes")
    print(f"data      {args.data}: {N} rows")
    print(f"loss      {loss_sum / N:.4f}")
    print(f"accuracy  {np.trace(confusion) / N:.2%} ({int(np.trace(confusion))} of {N})")
    print()
    print(report(confusion, names))
    print()
    print(confusion_text(confusion, names))
    if args.plot is not None:
        _plot(confusion, names, args.plot)
        print(f"\nplotted   {args.plot}")
    return 0


def tally(params, X, y):
    """(summed cross-entropy, confusion matrix (C, C) of int counts) of the network on X (N, D), y (N,).

    Rows of the confusion matrix are true classes, columns predicted ones. The forward pass runs on
    blocks of rows, so no activation is much larger than ACTIVATION_BYTES.
    """
    C = params.W4.shape[0]
    rows = rows_per_pass(params)
    loss, confusion = 0.0, np.zeros((C, C), dtype=np.int64)      # (C, C)
    for start in range(0, X.shape[0], rows):
        acts = model.forward(params, X[start:start + rows])
        yb = y[start:start + rows]
        # J_i = -log y_hat_i[y_i], summed over the block (model.cross_entropy's loss, without its dtheta)
        loss -= float(acts.log_y_hat[np.arange(yb.shape[0]), yb].sum(dtype=np.float64))
        predicted = acts.theta.argmax(axis=1)                     # (n,)
        confusion += np.bincount(yb * C + predicted, minlength=C * C).reshape(C, C)
    return loss, confusion


def rows_per_pass(params):
    """How many rows one forward pass takes so that its activations stay near ACTIVATION_BYTES."""
    (D, M), C = params.W2.shape[::-1], params.W4.shape[0]
    return max(1, ACTIVATION_BYTES // (params.W1.dtype.itemsize * (3 * D + 4 * M + 4 * C)))


def trained_target(m):
    """The label column the model was trained with (--target), or None."""
    target = m.settings.get("target")
    return target if isinstance(target, str) else None


def loss_and_accuracy(params, X, y):
    """Mean cross-entropy L and accuracy of the network on X (N, D), y (N,), a block of rows at a time."""
    loss, confusion = tally(params, X, y)
    N = X.shape[0]
    return loss / N, float(np.trace(confusion) / N)


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


def _plot(confusion, names, path):
    from ..plots import new_figure, save_figure

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
        save_figure(fig, path)
    except OSError as e:
        raise InputError(f"cannot write the figure to {path}: {e.strerror or e}") from None
