"""Figures of a training run: learning curves and gradient flow through the two skip connections.

matplotlib is an optional extra (``pip install 'residual_mlp[plot]'``), imported only when a figure is
drawn. Figures are built on the Agg canvas directly, without pyplot, so drawing one never opens a
window nor touches pyplot's global state.
"""
from __future__ import annotations

import io
import math
import os

from .atomic import write_atomic
from .errors import InputError

PATH1_COLOR = "#d9730d"   # path 1: through W3 and the ReLU
PATH2_COLOR = "#1f6fb4"   # path 2: the skip connection
TOTAL_COLOR = "#333333"


def new_figure(width, height, layout="constrained"):
    """An empty matplotlib Figure on an Agg canvas; InputError if matplotlib is not installed."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise InputError("drawing figures needs matplotlib: pip install 'residual_mlp[plot]'") from None
    fig = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def plot_learning_curves(history):
    """Loss and accuracy per epoch, training and (when recorded) validation.

    Parameters
    ----------
    history : History or dict
        A `fit` history, or its ``as_dict()``.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        (a ValueError) when the history has no epochs, or matplotlib is not installed.
    """
    loss, accuracy = _series(history, "loss"), _series(history, "accuracy")
    val_loss, val_accuracy = _series(history, "val_loss"), _series(history, "val_accuracy")
    if not loss:
        raise InputError("the history has no epochs to plot")
    epochs = range(1, len(loss) + 1)
    fig = new_figure(10, 4)
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.plot(epochs, loss, label="training", color=PATH2_COLOR)
    if val_loss:
        ax_loss.plot(range(1, len(val_loss) + 1), val_loss, label="validation", color=PATH1_COLOR)
    if all(v > 0 and math.isfinite(v) for v in [*loss, *val_loss]):
        ax_loss.set_yscale("log")
    ax_loss.set(title="loss L (cross-entropy)", xlabel="epoch", ylabel="L")
    ax_acc.plot(epochs, accuracy, label="training", color=PATH2_COLOR)
    if val_accuracy:
        ax_acc.plot(range(1, len(val_accuracy) + 1), val_accuracy, label="validation", color=PATH1_COLOR)
    ax_acc.set(title="accuracy", xlabel="epoch", ylabel="fraction correct")
    for ax in (ax_loss, ax_acc):
        ax.grid(True, alpha=0.3)
        ax.legend()
    return fig


def plot_flow(history):
    """How the gradients of W1 and W2 split between path 1 and path 2, per epoch.

    Panels: the norms of the path-1 term, the path-2 term and their sum for dW1 and for dW2; the
    cosine between the two terms; and, in the forward pass, each residual branch against its skip
    (||h|| / ||x|| and ||q|| / ||t||).

    Parameters
    ----------
    history : History or dict
        A history from ``fit(..., record_flow=True)`` (records in ``history.flow``).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        (a ValueError) when the history holds no flow records, or matplotlib is not installed.
    """
    flow = _series(history, "flow")
    if not flow:
        raise InputError("the history has no gradient-flow records: train with record_flow=True")
    epochs = range(1, len(flow) + 1)

    def col(key):
        return [float(record.get(key, math.nan)) for record in flow]

    fig = new_figure(11, 7.5)
    (ax1, ax2), (ax_cos, ax_fwd) = fig.subplots(2, 2)
    for ax, W in ((ax1, "W1"), (ax2, "W2")):
        ax.plot(epochs, col(f"d{W}_path1"), color=PATH1_COLOR,
                label=r"path 1 (through $W_3$ and ReLU: $\Lambda_t W_3^T W_4^T(\hat y - y)$)")
        ax.plot(epochs, col(f"d{W}_path2"), color=PATH2_COLOR,
                label=r"path 2 (skip: $I_M W_4^T(\hat y - y)$)")
        ax.plot(epochs, col(f"d{W}_total"), color=TOTAL_COLOR, linestyle="--", label="whole gradient")
        if _positive(col(f"d{W}_path1") + col(f"d{W}_path2") + col(f"d{W}_total")):
            ax.set_yscale("log")
        ax.set(title=rf"$\|\partial L / \partial {W[0]}_{W[1]}\|$ by path", xlabel="epoch",
               ylabel="Frobenius norm")
        ax.legend(fontsize="small")
    ax_cos.plot(epochs, col("dW1_cosine"), color="#6a3d9a", label=r"$dW_1$")
    ax_cos.plot(epochs, col("dW2_cosine"), color="#2ca02c", label=r"$dW_2$")
    ax_cos.axhline(0, color="#999999", linewidth=0.8)
    ax_cos.set(title="cosine between the path-1 and path-2 terms", xlabel="epoch", ylabel="cosine",
               ylim=(-1.05, 1.05))
    ax_cos.legend(fontsize="small")
    ax_fwd.plot(epochs, col("h_over_x"), color="#8c564b", label=r"$\|h\| / \|x\|$  ($s = h + x$)")
    ax_fwd.plot(epochs, col("q_over_t"), color="#e377c2", label=r"$\|q\| / \|t\|$  ($r = q + t$)")
    ax_fwd.axhline(1, color="#999999", linewidth=0.8)
    ax_fwd.set(title="forward pass: residual branch against its skip", xlabel="epoch", ylabel="ratio")
    ax_fwd.legend(fontsize="small")
    for ax in (ax1, ax2, ax_cos, ax_fwd):
        ax.grid(True, alpha=0.3)
    fig.suptitle("Gradient flow through the two skip connections")
    return fig


def save_figure(fig, path, metadata=None, dpi=None, fmt=None):
    """Write a figure to `path` atomically, in the format its extension names, and close it.

    The image is rendered in memory, written to a temporary file in the same folder and renamed
    over `path`, so a reader never sees a partial image. InputError for an unknown extension.
    `fmt` names the format when `path`'s extension does not (a staged temporary file).
    """
    path = os.fspath(path)
    try:
        fmt = fmt or image_format(path)
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, metadata=metadata, dpi=dpi or "figure")
        write_atomic(path, buffer.getvalue())
    finally:
        _close(fig)


def image_format(path):
    """The image format that `path`'s extension names ("png", "svg", ...); InputError if none does.

    Cheap: a command can call it on its output paths before any work.
    """
    new_figure(1, 1)  # InputError if matplotlib is missing
    from matplotlib.backend_bases import FigureCanvasBase
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lower().lstrip(".")
    supported = FigureCanvasBase.get_supported_filetypes()
    if fmt not in supported:
        raise InputError(f"{path}: cannot tell the image format from the extension "
                         f"{'.' + fmt if fmt else '(none)'}; use one of "
                         f"{', '.join('.' + k for k in sorted(supported))}")
    return fmt


def _close(fig):
    import sys
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:  # a figure made with pyplot is registered there: release it
        pyplot.close(fig)
    fig.clear()


def _series(history, key):
    if isinstance(history, dict):
        return list(history.get(key) or [])
    return list(getattr(history, key, None) or [])


def _positive(values):
    finite = [v for v in values if math.isfinite(v)]
    return bool(finite) and all(v > 0 for v in finite)
