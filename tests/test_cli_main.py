"""cli.main's last lines of defence: whatever goes wrong ends in one `error:` line, never a traceback."""
import errno
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from residual_mlp import cli, model


def test_out_of_memory_is_one_line(monkeypatch, capsys, tmp_path):
    def too_big(*args, **kwargs):
        raise MemoryError("Unable to allocate 47.7 GiB for an array with shape (100000000, 64)")

    monkeypatch.setattr(model, "init_params", too_big)   # what the estimator's fit calls first
    out = tmp_path / "m.skops"
    assert cli.main(["train", "--dataset", "iris", "--quiet", "--epochs", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: out of memory: Unable to allocate 47.7 GiB")
    assert not out.exists()


def test_an_unknown_command_is_one_line(capsys):
    assert cli.main(["fly"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "fly" in err


def test_every_command_has_help(capsys):
    for name in cli.COMMANDS:
        with pytest.raises(SystemExit) as stop:
            cli.main([name, "--help"])
        assert stop.value.code == 0
        assert f"usage: residual-mlp {name}" in capsys.readouterr().out


class _BrokenStdout:
    """A standard output whose every write fails with `error` (a closed pipe, a full disk)."""

    def __init__(self, error):
        self.error = error

    def write(self, text):
        raise self.error

    def flush(self):
        pass


@pytest.mark.parametrize("error, status, message", [
    (BrokenPipeError(errno.EPIPE, "Broken pipe"), 0, ""),
    (OSError(errno.ENOSPC, "No space left on device"), 2,
     "error: cannot write to standard output: No space left on device\n"),
])
def test_train_saves_the_model_when_standard_output_fails(monkeypatch, capsys, tmp_path, error, status, message):
    out = tmp_path / "m.skops"
    monkeypatch.setattr(sys, "stdout", _BrokenStdout(error))
    assert cli.main(["train", "--dataset", "iris", "--quiet", "--epochs", "2", "--out", str(out)]) == status
    assert capsys.readouterr().err == message
    assert out.is_file()


class _ClosingStdout:
    """A standard output that takes writes and fails when flushed: the reader left after the command ended."""

    def write(self, text):
        return len(text)

    def flush(self):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


@pytest.mark.parametrize("returned", [0, 1, 3])
def test_a_reader_that_leaves_after_the_command_ended_keeps_its_status(monkeypatch, capsys, returned):
    from residual_mlp.commands import info

    monkeypatch.setattr(info, "run", lambda args: print("the table") or returned)
    monkeypatch.setattr(sys, "stdout", _ClosingStdout())
    assert cli.main(["info", "--model", "x.skops"]) == returned
    assert capsys.readouterr().err == ""


def test_info_on_a_full_standard_output_is_one_line(monkeypatch, capsys, tmp_path):
    out = tmp_path / "m.skops"
    assert cli.main(["train", "--dataset", "iris", "--quiet", "--epochs", "2", "--out", str(out)]) == 0
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdout", _BrokenStdout(OSError(errno.ENOSPC, "No space left on device")))
    assert cli.main(["info", "--model", str(out)]) == 2
    assert capsys.readouterr().err == "error: cannot write to standard output: No space left on device\n"


def test_an_error_that_is_not_standard_outputs_is_not_explained_as_one(monkeypatch):
    from residual_mlp.commands import info

    def fails(args):
        raise BrokenPipeError  # from some other stream: a bug to show, not a reader that went away

    monkeypatch.setattr(info, "run", fails)
    with pytest.raises(BrokenPipeError):
        cli.main(["info", "--model", "x.skops"])


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("command", ["train", "info", "evaluate"])
def test_dev_full_is_one_line_and_the_model_is_saved(tmp_path, command):
    from sklearn.datasets import load_iris

    table, model_file = tmp_path / "iris.csv", tmp_path / "m.skops"
    load_iris(as_frame=True).frame.to_csv(table, index=False)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    train = [sys.executable, "-m", "residual_mlp", "train", "--data", str(table), "--quiet", "--epochs", "2",
             "--out", str(model_file)]
    if command != "train":
        subprocess.run(train, env=env, check=True, capture_output=True)
        args = {"info": ["info", "--model", str(model_file)],
                "evaluate": ["evaluate", "--model", str(model_file), "--data", str(table)]}[command]
        argv = [sys.executable, "-m", "residual_mlp", *args]
    else:
        argv = train
    with open("/dev/full", "w") as full:
        done = subprocess.run(argv, env=env, stdout=full, stderr=subprocess.PIPE, text=True)
    assert (done.returncode, done.stderr) == (2, "error: cannot write to standard output: No space left on device\n")
    assert model_file.is_file()


def test_quiet_help_says_what_it_does(capsys, tmp_path):
    """--quiet hides the progress bar only: its help says the summary stays, and the summary does."""
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--quiet no progress bar; the summary is printed all the same" in help_text
    out = tmp_path / "m.skops"
    assert cli.main(["train", "--dataset", "iris", "--quiet", "--epochs", "2", "--out", str(out)]) == 0
    assert "saved" in capsys.readouterr().out


def test_info_names_every_column(capsys, tmp_path):
    rng = np.random.default_rng(0)
    names = ["zip", "sci", "years", "height", "weight", "age"]
    frame = pd.DataFrame(rng.normal(size=(40, len(names))), columns=names)
    frame["y"] = np.where(frame["sci"] > 0, "hi", "lo")
    table, out = tmp_path / "t.csv", tmp_path / "m.skops"
    frame.to_csv(table, index=False)
    assert cli.main(["train", "--data", str(table), "--quiet", "--epochs", "2", "--out", str(out)]) == 0
    capsys.readouterr()
    assert cli.main(["info", "--model", str(out)]) == 0
    shown = capsys.readouterr().out
    assert all(repr(name) in shown for name in names) and "..." not in shown.split("settings")[0]
