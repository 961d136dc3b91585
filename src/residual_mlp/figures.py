"""The seed's two figures, drawn from code: the architecture (Figure 1) and the computation graph (Figure 2).

Both are plain matplotlib (boxes, circles, arrows, labels) on the Agg canvas; `write_figures` saves them
as SVG and PNG. The graph's nodes and edges are data (`NODES`, `EDGES`), so what the picture shows can
be checked without looking at it.
"""
from __future__ import annotations

import os

from .plots import PATH1_COLOR, PATH2_COLOR, new_figure, save_figure

DEFAULT_DIMS = (64, 128, 10)   # D, M, C of the default run: the bundled digits, hidden width 128
FORMATS = ("svg", "png")
NAMES = ("architecture", "computation_graph")
DPI = 150                      # of the PNG files

_FC, _ACT, _DATA, _LOSS, _PARAM = "#dbe8f6", "#e2f2dc", "#f3f3f3", "#f9dcdc", "#fff1c9"
_EDGE, _TRUNK = "#555555", "#222222"

# Figure 2. Every named quantity of the forward pass, and the parameters, as nodes:
# name -> (label, x, y, kind); kind "value" is a vector, "param" a weight matrix, "data" the label y.
NODES = {
    "x": (r"$\mathbf{x}$", 0.0, 0.0, "value"),
    "z": (r"$\mathbf{z}$", 1.5, 1.6, "value"),
    "h": (r"$\mathbf{h}$", 3.0, 1.6, "value"),
    "W1": (r"$W_1$", 3.0, 3.2, "param"),
    "s": (r"$\mathbf{s}$", 4.5, 0.0, "value"),
    "t": (r"$\mathbf{t}$", 6.0, 0.0, "value"),
    "W2": (r"$W_2$", 6.0, -1.6, "param"),
    "p": (r"$\mathbf{p}$", 7.5, 1.6, "value"),
    "q": (r"$\mathbf{q}$", 9.0, 1.6, "value"),
    "W3": (r"$W_3$", 9.0, 3.2, "param"),
    "r": (r"$\mathbf{r}$", 10.5, 0.0, "value"),
    "theta": (r"$\boldsymbol{\theta}$", 12.0, 0.0, "value"),
    "W4": (r"$W_4$", 12.0, -1.6, "param"),
    "y_hat": (r"$\hat{\mathbf{y}}$", 13.5, 0.0, "value"),
    "y": (r"$\mathbf{y}$", 15.0, -1.6, "data"),
    "J": (r"$J$", 15.0, 0.0, "value"),
}

# Edges of the forward pass: (from, to, local Jacobian d to / d from, route). The route marks what the
# gradient to W1 and W2 crosses on its way back from r: "path1" the upper branch through W3 and the
# ReLU, "path2" the skip, "trunk" the part both paths share (t -> W2, and t -> s -> h -> W1).
EDGES = (
    ("x", "z", r"$\Lambda_x$", None),
    ("z", "h", r"$W_1$", None),
    ("W1", "h", "", "trunk"),
    ("h", "s", r"$I_D$", "trunk"),
    ("x", "s", r"$I_D$", None),
    ("s", "t", r"$W_2$", "trunk"),
    ("W2", "t", "", "trunk"),
    ("t", "p", r"$\Lambda_t$", "path1"),
    ("p", "q", r"$W_3$", "path1"),
    ("W3", "q", "", None),
    ("q", "r", r"$I_M$", "path1"),
    ("t", "r", r"$I_M$", "path2"),
    ("r", "theta", r"$W_4$", None),
    ("W4", "theta", "", None),
    ("theta", "y_hat", "softmax'", None),
    ("y_hat", "J", r"$-(\mathbf{y}/\hat{\mathbf{y}})^T$", None),
    ("y", "J", "", None),
)


def architecture_figure(dims=DEFAULT_DIMS):
    """Figure 1: every layer, the two skip connections, and the sizes D, M, C. Returns a Figure."""
    D, M, C = (int(d) for d in dims)
    fig = new_figure(12.5, 5.6, layout=None)
    ax = fig.add_axes((0, 0, 1, 1))
    _canvas(ax, (-1.2, 16.0), (-2.5, 5.3))
    n_weights = D * D + M * D + M * M + C * M
    ax.text(7.4, 5.0, f"Figure 1: the residual MLP with D = {D} features, M = {M} hidden units, "
            f"C = {C} classes ({n_weights:,} weights, no biases)", ha="center", va="center", fontsize=12,
            weight="bold")

    # Row 1: block 1, a pre-activation residual block of width D, then W2 into width M.
    y1 = 2.6
    _band(ax, -0.9, 7.6, y1, f"block 1: pre-activation residual, width D = {D}")
    _box(ax, 0.0, y1, 1.4, "input\n" + _vec("x", D), _DATA)
    _box(ax, 2.3, y1, 1.2, "ReLU", _ACT)
    _box(ax, 4.8, y1, 1.9, f"fully connected\n$W_1$: {D}×{D}", _FC)
    _add(ax, 7.0, y1)
    _box(ax, 9.2, y1, 1.9, f"fully connected\n$W_2$: {M}×{D}", _FC)
    _arrow(ax, [(0.7, y1), (1.7, y1)], "")
    _arrow(ax, [(2.9, y1), (3.85, y1)], _vec("z", D))
    _arrow(ax, [(5.75, y1), (6.78, y1)], _vec("h", D))
    _arrow(ax, [(7.22, y1), (8.25, y1)], _vec("s", D))
    # skip connection 1: x goes around ReLU and W1 to the sum s = h + x
    _arrow(ax, [(0.0, y1 + 0.42), (0.0, y1 + 1.3), (7.0, y1 + 1.3), (7.0, y1 + 0.22)],
           "skip connection 1:  s = h + x", color=PATH2_COLOR, label_at=(3.5, y1 + 1.3))

    # Row 2: block 2, a residual block of width M (t is used twice), then the classifier head.
    y2 = -0.6
    _band(ax, -0.9, 6.6, y2, f"block 2: residual, width M = {M}", title_x=-0.3)
    _band(ax, 6.8, 15.75, y2, f"output: C = {C} classes")
    # t leaves W2 and comes down to the start of row 2, where it forks
    _arrow(ax, [(10.15, y1), (10.6, y1), (10.6, 1.0), (-0.5, 1.0), (-0.5, y2), (0.5, y2)], "")
    ax.text(5.0, 1.1, _vec("t", M), ha="center", va="bottom", fontsize=9.5)
    ax.plot([-0.5], [y2], "o", color=_EDGE, markersize=5, zorder=4)
    _box(ax, 1.1, y2, 1.2, "ReLU", _ACT)
    _box(ax, 3.6, y2, 1.9, f"fully connected\n$W_3$: {M}×{M}", _FC)
    _add(ax, 5.9, y2)
    _box(ax, 8.2, y2, 1.9, f"fully connected\n$W_4$: {C}×{M}", _FC)
    _box(ax, 10.6, y2, 1.3, "softmax", _ACT)
    _box(ax, 13.0, y2, 1.7, "cross-entropy", _LOSS)
    _box(ax, 15.1, y2, 0.9, r"loss $J$", _DATA)
    _arrow(ax, [(1.7, y2), (2.65, y2)], _vec("p", M))
    _arrow(ax, [(4.55, y2), (5.68, y2)], _vec("q", M))
    _arrow(ax, [(6.12, y2), (7.25, y2)], _vec("r", M))
    _arrow(ax, [(9.15, y2), (9.95, y2)], _vec(r"\theta", C))
    _arrow(ax, [(11.25, y2), (12.15, y2)], _vec(r"\hat{y}", C))
    _arrow(ax, [(13.85, y2), (14.65, y2)], "")
    _arrow(ax, [(13.0, y2 - 1.35), (13.0, y2 - 0.42)], "")
    ax.text(13.0, y2 - 1.45, r"label $\mathbf{y}$ (one-hot, $\mathbb{R}^{%d}$)" % C, ha="center",
            va="top", fontsize=9.5)
    # skip connection 2: t goes around ReLU and W3 to the sum r = q + t
    _arrow(ax, [(-0.5, y2), (-0.5, y2 - 1.05), (5.9, y2 - 1.05), (5.9, y2 - 0.22)],
           "skip connection 2:  r = q + t", color=PATH2_COLOR, label_at=(2.7, y2 - 1.05), above=False)
    return fig


def computation_graph_figure(dims=DEFAULT_DIMS):
    """Figure 2: every named quantity and W1..W4 as nodes; path 1 and path 2 to W1 and W2 marked."""
    D, M, C = (int(d) for d in dims)
    space = {"x": D, "z": D, "h": D, "s": D, "t": M, "p": M, "q": M, "r": M, "theta": C, "y_hat": C,
             "y": C, "J": None, "W1": (D, D), "W2": (M, D), "W3": (M, M), "W4": (C, M)}
    fig = new_figure(12.5, 6.4, layout=None)
    ax = fig.add_axes((0, 0, 1, 1))
    _canvas(ax, (-0.8, 15.8), (-4.6, 4.4))
    ax.text(7.5, 4.1, r"Figure 2: the computation graph; the gradient reaches $W_1$ and $W_2$ by two paths",
            ha="center", va="center", fontsize=12, weight="bold")
    radius = 0.36
    for a, b, jacobian, route in EDGES:
        (xa, ya), (xb, yb) = NODES[a][1:3], NODES[b][1:3]
        color, width = {"path1": (PATH1_COLOR, 3.0), "path2": (PATH2_COLOR, 3.0),
                        "trunk": (_TRUNK, 2.2)}.get(route, (_EDGE, 1.2))
        _graph_edge(ax, (xa, ya), (xb, yb), radius, color, width)
        if jacobian:
            mx, my = (xa + xb) / 2, (ya + yb) / 2
            dx, dy = (0, 0.22) if ya == yb else ((-0.3, 0.08) if (yb - ya) * (xb - xa) > 0 else (0.3, 0.08))
            ax.text(mx + dx, my + dy, jacobian, ha="center", va="bottom",
                    fontsize=9, color=color if route in ("path1", "path2") else "#444444",
                    bbox=dict(boxstyle="round,pad=0.1", facecolor="white", edgecolor="none", alpha=0.85))
    for name, (label, x, y, kind) in NODES.items():
        _graph_node(ax, x, y, radius, label, kind)
        size = space[name]
        if size is not None:
            text = (r"$\mathbb{R}^{%d}$" % size) if isinstance(size, int) else f"{size[0]}×{size[1]}"
            if kind == "param":   # right of the box
                where = dict(x=x + radius + 0.08, y=y, ha="left", va="center")
            elif name in ("h", "q"):  # an edge leaves to the lower right: label the upper right
                where = dict(x=x + 0.8 * radius, y=y + 0.8 * radius, ha="left", va="bottom")
            else:
                where = dict(x=x + 0.8 * radius, y=y - 0.8 * radius, ha="left", va="top")
            ax.text(s=text, fontsize=8, color="#666666", **where)
    ax.text(11.2, 1.0, "path 1", color=PATH1_COLOR, fontsize=11, weight="bold", ha="center")
    ax.text(8.25, -0.3, "path 2 (skip)", color=PATH2_COLOR, fontsize=11, weight="bold", ha="center")

    # The two paths, as the seed writes them.
    lines = [
        (r"path 1:  $\left(\dfrac{\partial \mathbf{r}}{\partial \mathbf{q}}\dfrac{\partial \mathbf{q}}{\partial "
         r"\mathbf{p}}\dfrac{\partial \mathbf{p}}{\partial \mathbf{t}}\right)_1 = W_3 \Lambda_t$", PATH1_COLOR,
         r"path 2:  $\left(\dfrac{\partial \mathbf{r}}{\partial \mathbf{t}}\right)_2 = I_M$", PATH2_COLOR),
        (r"$\partial J/\partial W_2 = \Lambda_t W_3^T W_4^T(\hat{\mathbf{y}}-\mathbf{y})\,\mathbf{s}^T$",
         PATH1_COLOR, r"$+\; W_4^T(\hat{\mathbf{y}}-\mathbf{y})\,\mathbf{s}^T$", PATH2_COLOR),
        (r"$\partial J/\partial W_1 = W_2^T \Lambda_t W_3^T W_4^T(\hat{\mathbf{y}}-\mathbf{y})\,"
         r"\mathbf{z}^T$", PATH1_COLOR, r"$+\; W_2^T W_4^T(\hat{\mathbf{y}}-\mathbf{y})\,\mathbf{z}^T$",
         PATH2_COLOR),
    ]
    for y, gap, (left, left_color, right, right_color) in zip((-2.65, -3.4, -4.05), (0.6, 0.15, 0.15), lines):
        ax.text(7.45, y, left, ha="right", va="center", fontsize=11, color=left_color)
        ax.text(7.45 + gap, y, right, ha="left", va="center", fontsize=11, color=right_color)
    ax.text(0.0, -3.95, "edge labels: the local Jacobian\n"
            r"$\Lambda_t = \mathrm{diag}(\mathbb{1}[t_i > 0])$" "\n"
            "bold dark: shared by both paths", ha="left", va="center", fontsize=8.5, color="#444444")
    return fig


def write_figures(out_dir, dims=DEFAULT_DIMS, formats=FORMATS):
    """Draw both figures into `out_dir` (created if missing) in each format; returns the paths written."""
    new_figure(1, 1)  # InputError now, naming the extra to install, if matplotlib is missing
    from matplotlib import rc_context
    os.makedirs(out_dir, exist_ok=True)
    written = []
    with rc_context({"svg.hashsalt": "residual_mlp"}):  # fixed SVG ids: the same figure, the same file
        for name, draw in zip(NAMES, (architecture_figure, computation_graph_figure)):
            for fmt in formats:
                path = os.path.join(out_dir, f"{name}.{fmt}")
                save_figure(draw(dims), path, metadata=_metadata(fmt), dpi=DPI)
                written.append(path)
    return written


def _metadata(fmt):
    """Metadata without dates or versions, so the same figure gives the same file."""
    if fmt == "svg":
        return {"Date": None, "Creator": None}
    if fmt == "png":
        return {"Software": None}
    return None


def _canvas(ax, xlim, ylim):
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")


def _vec(name, size):
    """Mathtext for "v in R^size"; Latin names in bold, as the seed writes vectors."""
    symbol = name if name.startswith("\\") else r"\mathbf{%s}" % name
    return r"$%s \in \mathbb{R}^{%d}$" % (symbol, size)


def _band(ax, x0, x1, y, title, title_x=None):
    from matplotlib.patches import FancyBboxPatch
    ax.add_patch(FancyBboxPatch((x0, y - 0.75), x1 - x0, 1.5, boxstyle="round,pad=0,rounding_size=0.15",
                                facecolor="#fafafa", edgecolor="#cccccc", linewidth=0.8, zorder=0))
    ax.text(x0 + 0.12 if title_x is None else title_x, y - 0.7, title, ha="left", va="bottom", fontsize=8.5,
            color="#777777", style="italic")


def _box(ax, cx, cy, width, text, color, height=0.84):
    from matplotlib.patches import FancyBboxPatch
    ax.add_patch(FancyBboxPatch((cx - width / 2, cy - height / 2), width, height,
                                boxstyle="round,pad=0,rounding_size=0.12", facecolor=color,
                                edgecolor="#444444", linewidth=1.0, zorder=2))
    ax.text(cx, cy, text, ha="center", va="center", fontsize=9.5, zorder=3, linespacing=1.4)


def _add(ax, cx, cy, radius=0.22):
    from matplotlib.patches import Circle
    ax.add_patch(Circle((cx, cy), radius, facecolor="white", edgecolor="#444444", linewidth=1.2, zorder=2))
    ax.text(cx, cy, "+", ha="center", va="center", fontsize=13, zorder=3)


def _arrow(ax, points, text, color=_EDGE, label_at=None, above=True):
    """A polyline with an arrow head at its last point, and an optional label."""
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path
    ax.add_patch(FancyArrowPatch(path=Path(points), arrowstyle="-|>", mutation_scale=13, color=color,
                                 linewidth=1.4 if color == _EDGE else 1.8, zorder=1,
                                 shrinkA=0, shrinkB=0))
    if label_at is None:
        (xa, ya), (xb, yb) = points[-2], points[-1]
        label_at = ((xa + xb) / 2, (ya + yb) / 2 + 0.12)
    else:
        label_at = (label_at[0], label_at[1] + (0.1 if above else -0.1))
    ax.text(*label_at, text, ha="center", va="bottom" if above else "top", fontsize=9.5,
            color="#222222" if color == _EDGE else color)


def _graph_node(ax, x, y, radius, label, kind):
    from matplotlib.patches import Circle, FancyBboxPatch
    if kind == "param":
        ax.add_patch(FancyBboxPatch((x - radius, y - radius), 2 * radius, 2 * radius,
                                    boxstyle="round,pad=0,rounding_size=0.06", facecolor=_PARAM,
                                    edgecolor="#444444", linewidth=1.1, zorder=2))
    else:
        ax.add_patch(Circle((x, y), radius, facecolor=_DATA if kind == "data" else "white",
                            edgecolor="#444444", linewidth=1.1, zorder=2))
    ax.text(x, y, label, ha="center", va="center", fontsize=13, zorder=3)


def _graph_edge(ax, a, b, radius, color, width):
    import math

    from matplotlib.patches import FancyArrowPatch
    (xa, ya), (xb, yb) = a, b
    length = math.hypot(xb - xa, yb - ya)
    ux, uy = (xb - xa) / length, (yb - ya) / length
    start = (xa + ux * radius, ya + uy * radius)
    end = (xb - ux * (radius + 0.02), yb - uy * (radius + 0.02))
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, color=color,
                                 linewidth=width, shrinkA=0, shrinkB=0, zorder=1))
