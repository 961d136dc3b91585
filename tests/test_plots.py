"""Learning curves and gradient-flow figures from a History; saving them."""
import os
import sys
import xml.etree.ElementTree as ET

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from residual_mlp import cli, fit, init_params, plots  # noqa: E402
from residual_mlp.errors import InputError  # noqa: E402
from residual_mlp.train import History  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def histories():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 5))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    params = init_params(5, 6, 3, seed=0)
    _, with_val = fit(params, X, y, lr=0.3, epochs=6, validation_fraction=0.25, record_flow=True, seed=0)
    _, plain = fit(params, X, y, lr=0.3, epochs=5, seed=0)
    return with_val, plain


def lines_by_label(ax):
    return {line.get_label(): np.asarray(line.get_ydata(), dtype=float) for line in ax.get_lines()}


def test_learning_curves_draw_training_and_validation(histories):
    history, _ = histories
    fig = plots.plot_learning_curves(history)
    ax_loss, ax_acc = fig.axes
    loss, acc = lines_by_label(ax_loss), lines_by_label(ax_acc)
    np.testing.assert_array_equal(loss["training"], history.loss)
    np.testing.assert_array_equal(loss["validation"], history.val_loss)
    np.testing.assert_array_equal(acc["training"], history.accuracy)
    np.testing.assert_array_equal(acc["validation"], history.val_accuracy)
    np.testing.assert_array_equal(ax_loss.get_lines()[0].get_xdata(), np.arange(1, len(history) + 1))


def test_learning_curves_without_validation_and_from_a_dict(histories):
    _, history = histories
    fig = plots.plot_learning_curves(history.as_dict())
    assert [set(lines_by_label(ax)) for ax in fig.axes] == [{"training"}, {"training"}]
    np.testing.assert_array_equal(lines_by_label(fig.axes[0])["training"], history.loss)


def test_an_empty_history_is_refused():
    with pytest.raises(InputError, match="no epochs"):  # a ValueError too
        plots.plot_learning_curves(History())


def test_flow_figure_draws_every_recorded_series(histories):
    history, _ = histories
    fig = plots.plot_flow(history)
    ax1, ax2, ax_cos, ax_fwd = fig.axes

    def column(key):
        return np.array([record[key] for record in history.flow])

    for ax, W in ((ax1, "dW1"), (ax2, "dW2")):
        drawn = [np.asarray(line.get_ydata(), dtype=float) for line in ax.get_lines()]
        assert len(drawn) == 3
        for got, key in zip(drawn, ("path1", "path2", "total")):
            np.testing.assert_array_equal(got, column(f"{W}_{key}"))
        labels = [line.get_label() for line in ax.get_lines()]
        assert labels[0].startswith("path 1") and labels[1].startswith("path 2")
    cos = [np.asarray(line.get_ydata(), dtype=float) for line in ax_cos.get_lines()]
    np.testing.assert_array_equal(cos[0], column("dW1_cosine"))
    np.testing.assert_array_equal(cos[1], column("dW2_cosine"))
    ratios = [np.asarray(line.get_ydata(), dtype=float) for line in ax_fwd.get_lines()]
    np.testing.assert_array_equal(ratios[0], column("h_over_x"))
    np.testing.assert_array_equal(ratios[1], column("q_over_t"))


def test_flow_figure_needs_recorded_flow(histories):
    _, history = histories
    with pytest.raises(InputError, match="record_flow"):
        plots.plot_flow(history)


@pytest.mark.parametrize("ext", ["png", "svg", "pdf"])
def test_save_figure_writes_the_format_of_the_extension(histories, tmp_path, ext):
    path = tmp_path / f"curves.{ext}"
    path.write_bytes(b"old contents")
    plots.save_figure(plots.plot_learning_curves(histories[0]), path)
    data = path.read_bytes()
    if ext == "png":
        assert data.startswith(PNG_SIGNATURE)
    elif ext == "svg":
        assert ET.fromstring(data).tag.endswith("svg")
    else:
        assert data.startswith(b"%PDF")
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left behind


def test_save_figure_refuses_an_unknown_extension_and_writes_nothing(histories, tmp_path):
    with pytest.raises(InputError, match=r"\.xyz"):
        plots.save_figure(plots.plot_learning_curves(histories[0]), tmp_path / "curves.xyz")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("path, fmt", [("a.png", "png"), ("dir.x/B.SVG", "svg"), ("c.pdf", "pdf")])
def test_image_format_reads_the_extension(path, fmt):
    assert plots.image_format(path) == fmt


@pytest.mark.parametrize("path", ["flow", "flow.pngx", "flow.png.txt"])
def test_image_format_refuses_what_matplotlib_cannot_write(path):
    with pytest.raises(InputError, match="cannot tell the image format"):
        plots.image_format(path)


def test_save_figure_closes_a_pyplot_figure(tmp_path):
    fig = plt.figure()
    fig.add_subplot().plot([1, 2, 3])
    plots.save_figure(fig, tmp_path / "f.png")
    assert not plt.fignum_exists(fig.number)
    assert (tmp_path / "f.png").read_bytes().startswith(PNG_SIGNATURE)


def test_without_matplotlib_the_error_says_what_to_install(histories, monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)  # makes `import` raise ImportError
    with pytest.raises(InputError, match=r"pip install 'residual_mlp\[plot\]'"):
        plots.plot_learning_curves(histories[0])


def test_train_command_draws_both_figures(tmp_path, capsys):
    curves, flow_png = tmp_path / "curves.png", tmp_path / "flow.svg"
    rc = cli.main(["train", "--dataset", "iris", "--epochs", "4", "--hidden", "5", "--quiet",
                   "--out", str(tmp_path / "m.npz"), "--plot", str(curves), "--plot-flow", str(flow_png)])
    assert rc == 0, capsys.readouterr().err
    assert curves.read_bytes().startswith(PNG_SIGNATURE)
    svg = flow_png.read_text()
    assert ET.fromstring(svg).tag.endswith("svg")
    assert "path 1" in svg and "path 2" in svg  # matplotlib keeps each text as a comment
