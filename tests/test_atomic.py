"""Atomic writes: temporary files named by process, stale ones cleaned, staged all-or-nothing outputs,
targets that cannot take an output refused."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from residual_mlp import atomic
from residual_mlp.errors import InputError

# A child that writes `target` slowly through atomic_open and says when its temporary file exists.
SLOW_WRITER = textwrap.dedent("""
    import sys, time
    from residual_mlp.atomic import atomic_open
    with atomic_open(sys.argv[1]) as f:
        f.write(b"x" * (1 << 20))
        f.flush()
        print("writing", flush=True)
        for _ in range(600):
            f.write(b"y" * 4096)
            time.sleep(0.1)
""")


def start_slow_writer(target):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    child = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(target)], stdout=subprocess.PIPE, env=env)
    assert child.stdout.readline() == b"writing\n"
    return child


def temporaries(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith(".tmp"))


def test_a_temporary_file_carries_the_writers_process_id(tmp_path):
    target = tmp_path / "m.npz"
    with atomic.atomic_open(target) as f:
        (name,) = temporaries(tmp_path)
        f.write(b"data")
    assert name.startswith(f".m.npz.{os.getpid()}.")
    assert atomic.temporary_owner(name, str(target)) == os.getpid()
    assert target.read_bytes() == b"data" and temporaries(tmp_path) == []


@pytest.mark.parametrize("name", [".m.npz.12x.abc.tmp", ".m.npz.abc.tmp", ".m.npz.12.a.b.tmp", "m.npz.12.abc.tmp",
                                  ".other.npz.12.abc.tmp", ".m.npz.12..tmp", ".m.npz.12.abc"])
def test_only_names_of_this_module_count_as_temporaries(tmp_path, name):
    assert atomic.temporary_owner(name, str(tmp_path / "m.npz")) is None


def test_a_killed_writers_temporary_file_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "m.npz"
    target.write_bytes(b"old")
    child = start_slow_writer(target)
    (name,) = temporaries(tmp_path)
    assert atomic.temporary_owner(name, str(target)) == child.pid
    assert (tmp_path / name).stat().st_size >= 1 << 20
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert temporaries(tmp_path) == [name]      # a killed writer cannot clean up after itself
    assert target.read_bytes() == b"old"
    atomic.write_atomic(target, b"new")
    assert temporaries(tmp_path) == []          # ... the next write to the same target does
    assert target.read_bytes() == b"new"


def test_a_live_writers_temporary_file_is_kept(tmp_path):
    target = tmp_path / "m.npz"
    child = start_slow_writer(target)
    try:
        (name,) = temporaries(tmp_path)
        atomic.write_atomic(target, b"mine")
        assert temporaries(tmp_path) == [name]
        assert target.read_bytes() == b"mine"
    finally:
        child.kill()
        child.wait()


def test_stale_temporaries_of_other_targets_and_other_files_are_left_alone(tmp_path):
    dead = dead_pid()
    keep = [f".other.npz.{dead}.abc.tmp", "notes.txt", f".m.npz.{dead}.abc", ".m.npz.abc123.tmp"]
    for name in keep + [f".m.npz.{dead}.abc.tmp"]:
        (tmp_path / name).write_bytes(b"x")
    assert atomic.remove_stale_temporaries(tmp_path / "m.npz") == [f".m.npz.{dead}.abc.tmp"]
    assert sorted(os.listdir(tmp_path)) == sorted(keep)


def dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not atomic.process_alive(child.pid)
    return child.pid


def test_process_alive():
    assert atomic.process_alive(os.getpid())
    assert atomic.process_alive(1)
    assert not atomic.process_alive(dead_pid())
    assert not atomic.process_alive(0)


# ------------------------------------------------------------------ staged outputs


def outputs(tmp_path):
    paths = [tmp_path / "plot.png", tmp_path / "pred.csv", tmp_path / "model.npz"]
    for p in paths:
        p.write_bytes(b"old " + p.name.encode())
    return paths


def test_staged_outputs_are_committed_in_the_given_order(tmp_path, monkeypatch):
    plot, pred, model = outputs(tmp_path)
    renamed = []
    real_replace = os.replace

    def replace(src, dst):
        renamed.append(os.path.basename(dst))
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with atomic.staged([plot, pred, model]) as stage:
        with stage.open(model) as f:  # written first, renamed last
            f.write(b"new model")
        stage.write(plot, b"new plot")
        with open(stage.temporary(pred), "w") as f:
            f.write("new pred")
        assert plot.read_bytes() == b"old plot.png"   # nothing replaced before the end
        assert model.read_bytes() == b"old model.npz"
    assert renamed == ["plot.png", "pred.csv", "model.npz"]
    assert (plot.read_bytes(), pred.read_bytes(), model.read_bytes()) == (b"new plot", b"new pred", b"new model")
    assert temporaries(tmp_path) == []


def test_a_failure_in_the_block_keeps_every_output(tmp_path):
    paths = outputs(tmp_path)
    before = {p: p.read_bytes() for p in paths}
    with pytest.raises(RuntimeError, match="plot failed"), atomic.staged(paths) as stage:
        stage.write(paths[2], b"new model")
        stage.write(paths[1], b"new pred")
        raise RuntimeError("plot failed")
    assert {p: p.read_bytes() for p in paths} == before
    assert temporaries(tmp_path) == []


def test_an_interrupt_in_the_block_keeps_every_output(tmp_path):
    paths = outputs(tmp_path)
    before = {p: p.read_bytes() for p in paths}
    with pytest.raises(KeyboardInterrupt), atomic.staged(paths) as stage:
        stage.write(paths[0], b"new plot")
        raise KeyboardInterrupt
    assert {p: p.read_bytes() for p in paths} == before
    assert temporaries(tmp_path) == []


def test_an_output_never_staged_commits_nothing(tmp_path):
    paths = outputs(tmp_path)
    before = {p: p.read_bytes() for p in paths}
    with pytest.raises(ValueError, match="no content was staged for .*pred.csv"), atomic.staged(paths) as stage:
        stage.write(paths[0], b"new plot")
        stage.write(paths[2], b"new model")
    assert {p: p.read_bytes() for p in paths} == before
    assert temporaries(tmp_path) == []


def test_a_failed_rename_puts_back_the_outputs_already_renamed(tmp_path, monkeypatch):
    plot, pred, model = outputs(tmp_path)
    new = tmp_path / "new.txt"  # did not exist: a rollback removes it again
    before = {p: p.read_bytes() for p in (plot, pred, model)}
    real_replace = os.replace

    def replace(src, dst):
        if os.path.basename(dst) == "model.npz" and os.path.basename(src).endswith(".tmp"):
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OSError, match="No space"), atomic.staged([new, plot, pred, model]) as stage:
        for p in (new, plot, pred, model):
            stage.write(p, b"new")
    monkeypatch.undo()
    assert {p: p.read_bytes() for p in (plot, pred, model)} == before
    assert not new.exists()
    assert temporaries(tmp_path) == []


def test_undeclared_and_repeated_outputs_are_refused(tmp_path):
    with atomic.staged([tmp_path / "a"]) as stage:
        with pytest.raises(ValueError, match="not declared"):
            stage.write(tmp_path / "b", b"")
        stage.write(tmp_path / "a", b"1")
        with pytest.raises(ValueError, match="staged already"):
            stage.write(tmp_path / "a", b"2")
    assert (tmp_path / "a").read_bytes() == b"1"
    with pytest.raises(ValueError, match="the same file"):
        atomic.staged([tmp_path / "a", tmp_path / "." / "a"]).__enter__()


def test_a_staged_replacement_keeps_the_files_permissions(tmp_path):
    path = tmp_path / "m"
    path.write_bytes(b"old")
    path.chmod(0o640)
    with atomic.staged([path]) as stage:
        stage.write(path, b"new")
    assert path.stat().st_mode & 0o777 == 0o640


# ------------------------------------------------------------------ targets


def refused(path, *words):
    with pytest.raises(InputError) as e:
        atomic.check_target(path, "--out")
    message = str(e.value)
    assert "\n" not in message and message.startswith(f"--out {path}: "), message
    for word in words:
        assert word in message, message


def test_a_fifo_is_refused(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    refused(tmp_path / "pipe", "FIFO", "not a regular file")


def test_a_device_is_refused():
    refused("/dev/null", "character device")


def test_a_link_to_a_device_or_fifo_is_refused(tmp_path):
    (tmp_path / "null").symlink_to("/dev/null")
    refused(tmp_path / "null", "character device")
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "out").symlink_to(tmp_path / "pipe")
    refused(tmp_path / "out", "FIFO")


def test_dev_stdout_when_it_is_a_pipe_is_refused():
    read_end, write_end = os.pipe()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    code = ("from residual_mlp.atomic import check_target\n"
            "try:\n    check_target('/dev/stdout', '--out')\n"
            "except ValueError as e:\n    import sys; sys.stderr.write(str(e))\n")
    child = subprocess.run([sys.executable, "-c", code], check=False, stdout=write_end, stderr=subprocess.PIPE, env=env)
    os.close(write_end)
    os.close(read_end)
    assert child.stderr.decode().startswith("--out /dev/stdout: is a FIFO"), child.stderr


def test_a_directory_is_refused(tmp_path):
    refused(tmp_path, "is a directory")


def test_a_read_only_file_is_refused_even_for_root(tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(b"model")
    path.chmod(0o444)
    refused(path, "read-only", "0444")
    assert path.read_bytes() == b"model"


@pytest.mark.parametrize("mode, refuse", [(0o644, True), (0o646, False), (0o600, True)])
def test_the_mode_bits_of_another_users_file(tmp_path, monkeypatch, mode, refuse):
    path = tmp_path / "m.npz"
    path.write_bytes(b"model")
    path.chmod(mode)
    owner = path.stat().st_uid
    monkeypatch.setattr(atomic.os, "geteuid", lambda: owner + 12345)
    monkeypatch.setattr(atomic.os, "getegid", lambda: path.stat().st_gid + 12345)
    monkeypatch.setattr(atomic.os, "getgroups", list)
    if refuse:
        refused(path, "read-only")
    else:
        atomic.check_target(path, "--out")


def test_a_missing_folder_is_refused(tmp_path):
    refused(tmp_path / "absent" / "m.npz", "folder", "does not exist")
    (tmp_path / "file").write_bytes(b"")
    refused(tmp_path / "file" / "m.npz", "not a folder")


def test_a_folder_without_write_permission_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:  # root may write into any folder: the system's answer for an ordinary user
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda path, mode: False if os.fspath(path) == str(folder)
                            else real_access(path, mode))
    try:
        refused(folder / "m.npz", "not writable")
    finally:
        folder.chmod(0o755)


def test_an_empty_path_is_refused():
    with pytest.raises(InputError, match="^--out: the path is empty$"):
        atomic.check_target("", "--out")


def test_a_new_file_an_existing_file_and_a_link_to_one_pass(tmp_path):
    atomic.check_target(tmp_path / "new.npz", "--out")
    existing = tmp_path / "m.npz"
    existing.write_bytes(b"old")
    atomic.check_target(existing, "--out")
    link = tmp_path / "link.npz"
    link.symlink_to(existing)
    atomic.check_target(link, "--out")
    # a write through the link replaces the file it points to; the link stays a link
    atomic.write_atomic(link, b"new")
    assert link.is_symlink() and existing.read_bytes() == b"new"

