"""cli.main's last lines of defence: whatever goes wrong ends in one `error:` line, never a traceback."""
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


def test_a_closed_pipe_ends_quietly(monkeypatch, capsys):
    from residual_mlp.commands import info

    def reader_went_away(args):
        raise BrokenPipeError

    monkeypatch.setattr(info, "run", reader_went_away)
    monkeypatch.setattr(cli.os, "dup2", lambda fd, fd2: None)  # keep the test's own stdout
    assert cli.main(["info", "--model", "x.npz"]) == 1
    assert capsys.readouterr().err == ""
