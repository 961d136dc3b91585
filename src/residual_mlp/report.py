"""Text reports over predictions that stay bounded in size and memory, however many classes there are.

A confusion matrix over C classes is C x C counts: 10 classes print as a table, 100,000 classes would
be 80 GB of int64 and a table no one reads. `confusion_summary` prints the full matrix up to
`MAX_MATRIX_CLASSES` classes and, above, a summary computed without building the matrix: the overall
accuracy, the most frequent confusions (true -> predicted) and the classes with the lowest recall.
Its memory is O(N + C) for N rows.
"""
from __future__ import annotations

import numpy as np

MAX_MATRIX_CLASSES = 50  # above this many classes, a summary instead of the full confusion matrix
TOP = 10                 # pairs and classes listed in the summary


def confusion_summary(y_true, y_pred, classes, max_classes=MAX_MATRIX_CLASSES, top=TOP):
    """The confusion report as text: the full matrix up to `max_classes` classes, a summary above.

    Parameters
    ----------
    y_true, y_pred : array of int (N,)
        True and predicted class indices in [0, C).
    classes : sequence (C,)
        The class labels, printed with str().
    max_classes : int
        The most classes for which the full C x C matrix is built and printed.
    top : int
        How many confused pairs and low-recall classes the summary lists.

    Returns
    -------
    str
        Lines separated by newlines, without a trailing newline.

    Raises
    ------
    ValueError
        y_true and y_pred of different shapes, or indices outside [0, C).
    """
    y_true = np.asarray(y_true).ravel()
    y_pred = np.asarray(y_pred).ravel()
    C = len(classes)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred have different lengths ({y_true.size} and {y_pred.size})")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and (y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= C):
            raise ValueError(f"{name} must hold class indices in [0, {C})")
    names = [str(c) for c in classes]
    if C <= max_classes:
        return _matrix_text(y_true, y_pred, names)
    return _summary_text(y_true.astype(np.int64), y_pred.astype(np.int64), names, max_classes, top)


def _matrix_text(y_true, y_pred, names):
    C = len(names)
    confusion = np.bincount(y_true.astype(np.int64) * C + y_pred, minlength=C * C).reshape(C, C)  # (C, C)
    width = max(max((len(n) for n in names), default=1), len(str(int(confusion.max(initial=0)))), 4)
    lines = ["confusion matrix (rows: true class, columns: predicted class)",
             " " * (width + 2) + " ".join(n.rjust(width) for n in names)]
    for name, row in zip(names, confusion):
        lines.append(name.rjust(width) + "  " + " ".join(str(int(v)).rjust(width) for v in row))
    return "\n".join(lines)


def _summary_text(y_true, y_pred, names, max_classes, top):
    C, N = len(names), y_true.size
    hits = y_true == y_pred                                            # (N,)
    n_hits = int(np.count_nonzero(hits))
    lines = [f"confusion summary: {C} classes, more than the {max_classes} a full matrix is printed for",
             f"accuracy  {n_hits / N:.2%} ({n_hits} of {N})" if N else "accuracy  (no rows)"]
    wrong_true, wrong_pred = y_true[~hits], y_pred[~hits]
    if wrong_true.size:
        codes, counts = np.unique(wrong_true * C + wrong_pred, return_counts=True)  # (pairs,)
        order = np.lexsort((codes, -counts))[:top]       # most frequent first, then by class order
        lines.append(f"most confused pairs (true -> predicted: rows), {min(top, codes.size)} of {codes.size}:")
        for k in order:
            t, p = divmod(int(codes[k]), C)
            lines.append(f"  {names[t]} -> {names[p]}: {int(counts[k])}")
    else:
        lines.append("no row was misclassified")
    support = np.bincount(y_true, minlength=C)                         # (C,)
    correct = np.bincount(y_true[hits], minlength=C)                   # (C,)
    present = np.flatnonzero(support)
    if present.size:
        recall = correct[present] / support[present]
        order = np.lexsort((present, recall))[:top]
        lines.append(f"lowest recall, {min(top, present.size)} of the {present.size} classes present:")
        for k in order:
            c = int(present[k])
            lines.append(f"  {names[c]}: {recall[k]:.2%} ({int(correct[c])} of {int(support[c])})")
    return "\n".join(lines)
