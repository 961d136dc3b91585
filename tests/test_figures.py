"""Figure 1 (architecture) and Figure 2 (computation graph), and the `figures` command."""
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from residual_mlp import cli, figures, init_params, modelfile  # noqa: E402
from residual_mlp.modelfile import Model  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
QUANTITIES = ("x", "z", "h", "s", "t", "p", "q", "r", "theta", "y_hat", "J")
WEIGHTS = ("W1", "W2", "W3", "W4")
# The seed's forward equations as edges (input -> output), written out from the seed, not from the code.
SEED_EDGES = {("x", "z"), ("z", "h"), ("W1", "h"), ("h", "s"), ("x", "s"), ("s", "t"), ("W2", "t"),
              ("t", "p"), ("p", "q"), ("W3", "q"), ("q", "r"), ("t", "r"), ("r", "theta"), ("W4", "theta"),
              ("theta", "y_hat"), ("y_hat", "J"), ("y", "J")}


def png_size(data):
    assert data.startswith(PNG_SIGNATURE)
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def texts(fig):
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


@pytest.mark.parametrize("dims", [(64, 128, 10), (3, 2, 2), (784, 1024, 100)])
def test_both_figures_are_written_as_valid_svg_and_png(tmp_path, capsys, dims):
    assert cli.main(["figures", "--dims", *map(str, dims), "--out", str(tmp_path)]) == 0
    written = [line.split()[-1] for line in capsys.readouterr().out.splitlines() if line.startswith("wrote")]
    names = sorted(Path(p).name for p in written)
    assert names == ["architecture.png", "architecture.svg", "computation_graph.png", "computation_graph.svg"]
    for path in map(Path, written):
        data = path.read_bytes()
        assert len(data) > 10_000
        if path.suffix == ".png":
            width, height = png_size(data)
            assert width > 1000 and height > 500
        else:
            assert ET.fromstring(data).tag.endswith("svg")
    D, M, C = dims
    arch = (tmp_path / "architecture.svg").read_text()
    # matplotlib's SVG keeps each text as a comment: the sizes of this model are in the picture
    for label in (f"{D}×{D}", f"{M}×{D}", f"{M}×{M}", f"{C}×{M}", f"D = {D}", f"M = {M}", f"C = {C}"):
        assert label in arch
    assert f"{D * D + M * D + M * M + C * M:,} weights" in arch
    graph = (tmp_path / "computation_graph.svg").read_text()
    for label in (f"{D}×{D}", f"{M}×{D}", f"{M}×{M}", f"{C}×{M}"):
        assert label in graph


def test_architecture_shows_every_layer_and_both_skips():
    fig = figures.architecture_figure((5, 7, 3))
    shown = "\n".join(texts(fig))
    assert shown.count("ReLU") == 2 and shown.count("fully connected") == 4
    for layer in ("softmax", "cross-entropy", "$W_1$: 5×5", "$W_2$: 7×5", "$W_3$: 7×7", "$W_4$: 3×7"):
        assert layer in shown
    assert "skip connection 1:  s = h + x" in shown and "skip connection 2:  r = q + t" in shown
    for name in ("x", "z", "h", "s", "t", "p", "q", "r"):
        assert re.search(r"\\mathbf\{%s\} \\in \\mathbb\{R\}\^\{%d\}" % (name, 5 if name in "xzhs" else 7), shown)


def test_graph_has_every_named_quantity_and_the_seed_edges():
    assert set(QUANTITIES) | set(WEIGHTS) <= set(figures.NODES)
    assert {(a, b) for a, b, _, _ in figures.EDGES} == SEED_EDGES
    path1 = {(a, b) for a, b, _, route in figures.EDGES if route == "path1"}
    path2 = {(a, b) for a, b, _, route in figures.EDGES if route == "path2"}
    assert path1 == {("t", "p"), ("p", "q"), ("q", "r")}
    assert path2 == {("t", "r")}
    kinds = {name: node[3] for name, node in figures.NODES.items()}
    assert all(kinds[W] == "param" for W in WEIGHTS)


def test_graph_figure_draws_each_node_edge_and_path():
    fig = figures.computation_graph_figure((5, 7, 3))
    shown = texts(fig)
    for name, (label, *_rest) in figures.NODES.items():
        assert label in shown, name
    arrows = [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == len(figures.EDGES)
    colors = [matplotlib.colors.to_hex(a.get_edgecolor()) for a in arrows]
    routes = [route for *_, route in figures.EDGES]
    for color, route in zip(colors, routes):
        if route == "path1":
            assert color == figures.PATH1_COLOR
        elif route == "path2":
            assert color == figures.PATH2_COLOR
        else:
            assert color not in (figures.PATH1_COLOR, figures.PATH2_COLOR)
    joined = "\n".join(shown)
    assert "path 1" in joined and "path 2 (skip)" in joined
    assert r"W_3 \Lambda_t" in joined and r"= I_M" in joined


def test_the_same_figure_gives_the_same_svg(tmp_path):
    """No dates, versions or random ids in the files: redrawing the committed figures changes nothing."""
    first = [Path(p).read_bytes() for p in figures.write_figures(tmp_path / "a", (4, 6, 2), formats=("svg",))]
    second = [Path(p).read_bytes() for p in figures.write_figures(tmp_path / "b", (4, 6, 2), formats=("svg",))]
    assert len(first) == 2 and first == second


def test_command_draws_the_sizes_of_a_model_file(tmp_path, capsys):
    params = init_params(5, 7, 3, seed=0)
    model_path = tmp_path / "m.npz"
    modelfile.save(model_path, Model(params, np.array(["a", "b", "c"])))
    out = tmp_path / "figs" / "nested"
    assert cli.main(["figures", "--model", str(model_path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "D=5, M=7, C=3" in printed
    assert sorted(p.name for p in out.iterdir()) == ["architecture.png", "architecture.svg",
                                                     "computation_graph.png", "computation_graph.svg"]
    assert "$W_2$: 7×5" in (out / "architecture.svg").read_text()


@pytest.mark.parametrize("argv, what", [
    (["--model", "missing.npz"], "missing.npz"),
    (["--dims", "0", "3", "2"], "--dims"),
    (["--dims", "3", "2"], "--dims"),
    (["--model", "m.npz", "--dims", "1", "2", "3"], "not allowed with"),
    (["--out", "a_file"], "a_file"),
])
def test_command_rejects_bad_input_with_one_line(tmp_path, monkeypatch, capsys, argv, what):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file").write_text("not a folder")
    assert cli.main(["figures", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and what in err


def test_the_committed_figures_exist_and_are_valid():
    folder = REPO / "docs" / "figures"
    for name in figures.NAMES:
        png = (folder / f"{name}.png").read_bytes()
        width, _ = png_size(png)
        assert width > 1000
        assert ET.fromstring((folder / f"{name}.svg").read_bytes()).tag.endswith("svg")
