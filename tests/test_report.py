"""Confusion reports: a full matrix for few classes, a summary in bounded memory for many."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from residual_mlp.report import MAX_MATRIX_CLASSES, confusion_summary


def test_the_full_matrix_for_few_classes():
    text = confusion_summary([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], ["cat", "dog", "emu"])
    assert text.splitlines() == [
        "confusion matrix (rows: true class, columns: predicted class)",
        "       cat  dog  emu",
        " cat     1    1    0",
        " dog     0    1    0",
        " emu     1    0    2",
    ]


def test_a_summary_above_the_bound():
    classes = [f"c{k}" for k in range(MAX_MATRIX_CLASSES + 1)]
    y_true = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3, 3])
    y_pred = np.array([5, 5, 0, 2, 1, 1, 3, 3, 3, 5])
    lines = confusion_summary(y_true, y_pred, classes, top=3).splitlines()
    assert lines[0] == "confusion summary: 51 classes, more than the 50 a full matrix is printed for"
    assert lines[1] == "accuracy  50.00% (5 of 10)"
    assert lines[2:6] == ["most confused pairs (true -> predicted: rows), 3 of 4:",
                          "  c0 -> c5: 2", "  c1 -> c2: 1", "  c2 -> c1: 1"]
    assert lines[6:] == ["lowest recall, 3 of the 4 classes present:",
                         "  c2: 0.00% (0 of 1)", "  c0: 33.33% (1 of 3)", "  c1: 50.00% (1 of 2)"]


def test_all_correct_and_no_rows():
    classes = list(range(100))
    assert "no row was misclassified" in confusion_summary([3, 4], [3, 4], classes)
    assert "accuracy  (no rows)" in confusion_summary(np.array([], int), np.array([], int), classes)


@pytest.mark.parametrize("y_true, y_pred, words", [([0, 1], [0], "different lengths"),
                                                   ([0, 3], [0, 1], "y_true must hold class indices in"),
                                                   ([0, 1], [0.5, 1], "y_pred must hold")])
def test_bad_input(y_true, y_pred, words):
    with pytest.raises(ValueError, match=words):
        confusion_summary(y_true, y_pred, ["a", "b", "c"])


def test_100000_classes_in_bounded_memory():
    """A C x C matrix would be 80 GB; the summary of 200,000 rows over 100,000 classes needs a few MB."""
    code = textwrap.dedent("""
        import resource
        import numpy as np
        from residual_mlp.report import confusion_summary
        C, N = 100_000, 200_000
        rng = np.random.default_rng(0)
        y_true = rng.integers(0, C, N)
        y_pred = np.where(rng.random(N) < 0.7, y_true, rng.integers(0, C, N))
        classes = [f"class{k}" for k in range(C)]
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        text = confusion_summary(y_true, y_pred, classes)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(before, after, len(text.splitlines()))
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    before, after, n_lines = map(int, done.stdout.split())  # KiB, KiB, lines
    assert after - before < 64 * 1024
    assert n_lines == 2 + 1 + 10 + 1 + 10
