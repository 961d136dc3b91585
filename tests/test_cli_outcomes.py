"""`train`'s exit status tells the truth, and only a run that succeeded touches its outputs.

0 trained and saved; 2 bad input; 3 diverged; 130 SIGINT; 143 SIGTERM. A diverged, interrupted or
failed run leaves every existing output byte for byte; --max-time ends a run cleanly with status 0.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from residual_mlp import cli, load_model
from residual_mlp.errors import EXIT_DIVERGED, EXIT_INPUT, EXIT_SIGINT, EXIT_SIGTERM

OLD = b"an existing model the user wants to keep"


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(rng.normal(size=(n, 5)), columns=[f"f{i}" for i in range(5)])
    frame["label"] = np.where(frame["f0"] + frame["f1"] > 0, "yes", "no")
    path = tmp_path_factory.mktemp("outcomes") / "table.csv"
    frame.to_csv(path, index=False)
    return path


def existing(tmp_path, name="model.skops"):
    path = tmp_path / name
    path.write_bytes(OLD)
    return path


def main(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_a_diverged_run_exits_3_and_keeps_the_model(tmp_path, capsys, table):
    out = existing(tmp_path)
    status, _, err = main(capsys, "train", "--data", table, "--out", out, "--recipe", "seed", "--lr", "50",
                          "--no-standardize", "--quiet")
    assert status == EXIT_DIVERGED
    assert out.read_bytes() == OLD
    assert err.count("\n") == 1 and "diverged" in err and "--lr" in err and "Warning" not in err


def test_divergence_keeps_the_last_good_checkpoint(tmp_path, capsys, table):
    checkpoint = tmp_path / "run.ckpt"
    status, _, _ = main(capsys, "train", "--data", table, "--out", tmp_path / "m.skops", "--recipe", "seed",
                        "--lr", "50", "--no-standardize", "--checkpoint", checkpoint, "--checkpoint-every", "1",
                        "--quiet")
    assert status == EXIT_DIVERGED
    assert not (tmp_path / "m.skops").exists()
    from residual_mlp import checkpoint as ckpt
    state, _ = ckpt.load_state(checkpoint)
    loss = state.history.loss
    assert all(np.isfinite(loss)) and max(loss) <= 10 * loss[0]


def test_a_failing_plot_leaves_the_model_untouched(tmp_path, capsys, table, monkeypatch):
    from residual_mlp import plots

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(plots, "save_figure", broken)
    out = existing(tmp_path)
    status, _, err = main(capsys, "train", "--data", table, "--out", out, "--plot", tmp_path / "curves.png",
                          "--quiet")
    assert status == EXIT_INPUT and "No space left" in err
    assert out.read_bytes() == OLD
    assert not (tmp_path / "curves.png").exists()
    assert [p for p in os.listdir(tmp_path) if p.endswith(".tmp")] == []


@pytest.mark.parametrize("kind", ["fifo", "link to a device", "read-only"])
def test_outputs_that_are_not_writable_regular_files_are_refused(tmp_path, capsys, table, kind):
    out = tmp_path / "model.skops"
    if kind == "fifo":
        os.mkfifo(out)
    elif kind == "read-only":
        out.write_bytes(OLD)
        out.chmod(0o444)
    else:
        os.symlink("/dev/null", out)  # as /dev/stdout is, on a terminal or a pipe
    status, _, err = main(capsys, "train", "--data", table, "--out", out, "--quiet")
    assert status == EXIT_INPUT and err.startswith("error: --out") and err.count("\n") == 1
    if kind == "read-only":
        assert out.read_bytes() == OLD


def test_max_time_ends_training_cleanly_and_saves(tmp_path, capsys, table):
    out = tmp_path / "m.skops"
    status, stdout, err = main(capsys, "train", "--data", table, "--out", out, "--epochs", "100000",
                               "--max-time", "0.5", "--quiet")
    assert status == 0, err
    assert "stopped" in stdout
    assert 0 < load_model(out)[-1].n_iter_ < 100000


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, EXIT_SIGINT), (signal.SIGTERM, EXIT_SIGTERM)])
def test_signals_exit_with_their_status_and_keep_the_model(tmp_path, table, signum, status):
    out = existing(tmp_path)
    checkpoint = tmp_path / "run.ckpt"
    process = subprocess.Popen(
        [sys.executable, "-m", "residual_mlp", "train", "--data", str(table), "--out", str(out), "--epochs",
         "100000", "--checkpoint", str(checkpoint), "--checkpoint-every", "1", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert checkpoint.exists(), process.communicate()
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    assert process.returncode == status, err
    assert out.read_bytes() == OLD
    assert "interrupted" in err and "Traceback" not in err and "Warning" not in err
    assert err.count("\n") == 1


def test_help_shows_every_default_and_train_shows_the_next_commands(tmp_path, capsys, table):
    parser = cli.build_parser()
    for action in parser._subparsers._group_actions[0].choices["train"]._actions:
        if action.option_strings and action.help and action.dest not in ("help", "resume", "quiet"):
            assert "default" in action.help, action.option_strings
    status, out, _ = main(capsys, "train", "--data", table, "--out", tmp_path / "m.skops", "--quiet")
    assert status == 0
    assert f"residual-mlp predict --model {tmp_path / 'm.skops'} --data {table}" in out


def test_the_command_alone_prints_its_usage():
    result = subprocess.run([sys.executable, "-m", "residual_mlp"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("usage: residual-mlp")


def test_label_memory_grows_with_the_texts_not_rows_times_the_longest(tmp_path):
    """A 2 MB CSV in which two rows share one 1 MB label trains in well under 1 GB."""
    rng = np.random.default_rng(3)
    long_label = "L" * (1 << 20)
    n = 4000
    labels = np.where(np.arange(n) % 2 == 0, "even", "odd").astype(object)
    labels[[10, 20]] = long_label
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "label": labels})
    path = tmp_path / "long.csv"
    frame.to_csv(path, index=False)
    assert 2 << 20 <= path.stat().st_size < 3 << 20
    code = ("import resource, sys; from residual_mlp import cli; status = cli.main(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(status)")
    result = subprocess.run([sys.executable, "-c", code, "train", "--data", str(path), "--out",
                             str(tmp_path / "m.skops"), "--epochs", "2", "--quiet"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    peak_kib = int(result.stdout.strip().splitlines()[-1])
    assert peak_kib < 1 << 20, f"peak {peak_kib / 1024:.0f} MiB"  # rows x longest label would be 4000 x 4 MiB
    classes = load_model(tmp_path / "m.skops")[-1].classes_
    assert len(classes) == 3 and long_label in classes.tolist()


def test_a_table_read_and_written_again_by_pandas_trains(tmp_path, capsys, table):
    """pd.read_csv(x).to_csv(y) writes ',Unnamed: 0,...': the blank header is pandas' 'Unnamed: 0.1'."""
    resaved = tmp_path / "resaved.csv"
    pd.read_csv(table).to_csv(tmp_path / "once.csv")
    pd.read_csv(tmp_path / "once.csv").to_csv(resaved)
    assert resaved.read_text().startswith(",Unnamed: 0,")
    status, out, err = main(capsys, "train", "--data", resaved, "--out", tmp_path / "m.skops", "--quiet")
    assert status == 0, err
    roles = {name: role for name, role, _ in load_model(tmp_path / "m.skops")[0].roles_}
    assert roles["Unnamed: 0"] == roles["Unnamed: 0.1"] == "dropped"


def test_decimal_commas_of_a_semicolon_file_are_numbers(tmp_path, capsys, table):
    frame = pd.read_csv(table)
    frame.to_csv(tmp_path / "eu.csv", sep=";", decimal=",", index=False)
    assert "," in (tmp_path / "eu.csv").read_text().splitlines()[1]
    status, _, err = main(capsys, "train", "--data", tmp_path / "eu.csv", "--out", tmp_path / "eu.skops", "--quiet")
    assert status == 0, err
    status, _, err = main(capsys, "train", "--data", table, "--out", tmp_path / "plain.skops", "--quiet")
    eu, plain = load_model(tmp_path / "eu.skops"), load_model(tmp_path / "plain.skops")
    assert {role for _, role, _ in eu[0].roles_} == {"numeric"}
    np.testing.assert_array_equal(eu[-1].params_[0], plain[-1].params_[0])


# Outputs that pass the checks before training but cannot be written at the end: one error line, status 2


def remove_after_first_epoch(monkeypatch, folder):
    """Make `train` remove `folder` once training has begun: an output folder gone mid-run."""
    from residual_mlp.commands import train as train_command

    real_watch = train_command._watch

    def watch(args, callback):
        inner = real_watch(args, callback)

        def remove_then_watch(state):
            if folder.exists():
                shutil.rmtree(folder)
            return inner(state)
        return remove_then_watch

    monkeypatch.setattr(train_command, "_watch", watch)


def no_temporaries(folder):
    return [p for p in os.listdir(folder) if p.endswith(".tmp")]


def test_a_model_folder_removed_during_training_is_one_error_line(tmp_path, capsys, table, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    remove_after_first_epoch(monkeypatch, gone)
    status, out, err = main(capsys, "train", "--data", table, "--epochs", "3", "--hidden", "4", "--quiet",
                            "--out", gone / "m.skops")
    assert status == EXIT_INPUT, err
    assert err == f"error: cannot write the model to {gone / 'm.skops'}: No such file or directory\n"
    assert "saved" not in out


def test_a_plot_folder_removed_during_training_keeps_the_model(tmp_path, capsys, table, monkeypatch):
    gone = tmp_path / "plots"
    gone.mkdir()
    out = existing(tmp_path)
    remove_after_first_epoch(monkeypatch, gone)
    for option in ("--plot", "--plot-flow"):
        gone.mkdir(exist_ok=True)
        status, _, err = main(capsys, "train", "--data", table, "--epochs", "3", "--hidden", "4", "--quiet",
                              "--out", out, option, gone / "c.png")
        assert status == EXIT_INPUT, err
        assert err == f"error: cannot write the figure to {gone / 'c.png'}: No such file or directory\n"
        assert out.read_bytes() == OLD
        assert no_temporaries(tmp_path) == []


def test_a_model_under_proc_is_one_error_line(tmp_path, capsys):
    """/proc takes no new files, even from root (whom the check before training lets through)."""
    if not os.path.isdir("/proc/self"):
        pytest.skip("no /proc here")
    status, _, err = main(capsys, "train", "--dataset", "iris", "--epochs", "2", "--hidden", "4", "--quiet",
                          "--out", "/proc/m.skops")
    assert status == EXIT_INPUT, err
    assert err.count("\n") == 1 and err.startswith("error: ") and "/proc/m.skops" in err, err
    if os.geteuid() == 0:  # the check passes (the folder is writable to root): the write itself fails
        assert err.startswith("error: cannot write the model to /proc/m.skops: "), err


def test_a_rename_that_fails_at_the_end_keeps_every_output(tmp_path, capsys, table, monkeypatch):
    """The model's rename over its target fails (a read-only file system): the plot renamed before it is
    put back, and the message names the model, not a temporary file."""
    from residual_mlp import atomic

    out, plot = existing(tmp_path), existing(tmp_path, "curves.png")
    real_replace = os.replace

    def replace(src, dst):
        if os.path.realpath(dst) == os.path.realpath(out):
            raise OSError(30, "Read-only file system")
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    status, _, err = main(capsys, "train", "--data", table, "--epochs", "2", "--hidden", "4", "--quiet",
                          "--out", out, "--plot", plot)
    monkeypatch.undo()
    assert status == EXIT_INPUT, err
    assert err == f"error: cannot write the model to {out}: Read-only file system\n"
    assert out.read_bytes() == OLD and plot.read_bytes() == OLD
    assert no_temporaries(tmp_path) == []


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_an_output_folder_removed_before_the_write_is_one_error_line(tmp_path, capsys, table, monkeypatch,
                                                                      command):
    from residual_mlp import data

    model = tmp_path / "m.skops"
    assert main(capsys, "train", "--data", table, "--epochs", "2", "--hidden", "4", "--quiet", "--out", model)[0] == 0
    gone = tmp_path / "gone"
    gone.mkdir()
    real_read, real_iter = data.read_table, data.iter_table

    def read_then_remove(*args, **kwargs):
        shutil.rmtree(gone, ignore_errors=True)
        return real_read(*args, **kwargs)

    def iter_then_remove(*args, **kwargs):
        shutil.rmtree(gone, ignore_errors=True)
        yield from real_iter(*args, **kwargs)

    monkeypatch.setattr(data, "read_table", read_then_remove)
    monkeypatch.setattr(data, "iter_table", iter_then_remove)
    option, what, name = {"evaluate": ("--plot", "the figure", "c.png"),
                          "predict": ("--out", "the predictions", "p.csv")}[command]
    status, _, err = main(capsys, command, "--model", model, "--data", table, option, gone / name)
    assert status == EXIT_INPUT, err
    assert err.endswith(f"error: cannot write {what} to {gone / name}: No such file or directory\n"), err
    assert err.count("error:") == 1 and "Traceback" not in err


def test_lbfgs_that_stops_at_epochs_without_converging_says_so(tmp_path, capsys, table):
    status, out, err = main(capsys, "train", "--data", table, "--optimizer", "lbfgs", "--epochs", "2",
                            "--hidden", "4", "--quiet", "--out", tmp_path / "m.skops")
    assert status == 0, err
    assert err == ("warning   L-BFGS-B did not converge (largest gradient entry above --tol 0.0001) in 2 iterations "
                   "(--epochs); increase --epochs\n"), err
    assert "(max_epochs)" in out
    # converged: no warning
    status, _, err = main(capsys, "train", "--data", table, "--optimizer", "lbfgs", "--epochs", "2000",
                          "--tol", "0.01", "--hidden", "4", "--quiet", "--out", tmp_path / "m.skops")
    assert status == 0 and err == "", err


def test_early_stopping_cut_short_by_epochs_says_so(tmp_path, capsys, table):
    status, _, err = main(capsys, "train", "--data", table, "--validation-fraction", "0.2", "--epochs", "2",
                          "--hidden", "4", "--quiet", "--out", tmp_path / "m.skops")
    assert status == 0, err
    assert err.startswith("warning   2 epochs (--epochs) ended training before the validation loss stopped "
                          "improving by more than --tol 0.0001 for --patience 10 epochs; increase --epochs"), err
