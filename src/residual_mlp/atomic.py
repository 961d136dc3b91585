"""Atomic file writes: readers see the old file or the whole new one, never a part.

Everything the package writes (model files, checkpoints, predictions, figures) goes through here:
a temporary file in the same folder, fsync, rename over the target, fsync of the folder. If anything
fails, the temporary file is removed and the target is untouched.

No litter: a temporary file is named ``.<target name>.<writer's process id>.<random>.tmp``. A process
killed mid-write (SIGKILL, power loss) cannot remove its own, so every later write to the same target
removes those whose process is gone; a live process's (a concurrent writer) is never touched.

Several outputs of one run (model, plots, predictions) are made all-or-nothing with `staged`: each is
written to its temporary file, and all are renamed over their targets at the end, in a given order,
or none is. `check_target` refuses, before any work, a target that cannot be replaced sensibly.

A target that is a symbolic link to a regular file is written through: the file it points to is
replaced (atomically, in that file's folder) and the link stays a link.
"""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile

from .errors import InputError

_SUFFIX = ".tmp"


def _prefix(target):
    """The start of every temporary file's name for `target` (an absolute, resolved path)."""
    return f".{os.path.basename(target)}."


def _resolve(path):
    """Absolute path of what a write to `path` replaces: a symbolic link's final target."""
    return os.path.realpath(os.path.abspath(os.fspath(path)))


def temporary_owner(name, target):
    """The process id in the temporary file name `name` of a write to `target`, or None if it is not one.

    Only names this module makes count: ``.<basename>.<pid>.<random>.tmp`` with a decimal pid and a
    random part without dots.
    """
    prefix = _prefix(target)
    if not (name.startswith(prefix) and name.endswith(_SUFFIX)):
        return None
    pid, dot, rest = name[len(prefix):-len(_SUFFIX)].partition(".")
    if not (dot and pid.isdigit() and rest and "." not in rest):
        return None
    return int(pid)


def process_alive(pid):
    """True unless process `pid` certainly does not exist (one of another user's counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, under another user
        return True
    return True


def remove_stale_temporaries(path):
    """Remove the temporary files that writes to `path` by processes now gone left behind.

    Returns the names removed. Temporary files of live processes, this one included, are kept.
    """
    target = _resolve(path)
    folder = os.path.dirname(target)
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    me = os.getpid()
    for name in names:
        pid = temporary_owner(name, target)
        if pid is None or pid == me or process_alive(pid):
            continue
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(folder, name))
            removed.append(name)
    return removed


def _new_temporary(target):
    """(fd, path) of a new, empty temporary file next to `target`, named with this process's id."""
    folder = os.path.dirname(target)
    remove_stale_temporaries(target)
    return tempfile.mkstemp(dir=folder, prefix=f"{_prefix(target)}{os.getpid()}.", suffix=_SUFFIX)


def _permissions_for(target):
    """A replaced file keeps its permissions; a new one gets what open() would give (0666 less umask)."""
    try:
        return os.stat(target).st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_open(path, mode="wb", **kwargs):
    """A file object to write `path` through; renamed over `path` only when the block ends cleanly.

    A new file gets the permissions a plain open() would give it (0666 less the umask); a replaced
    file keeps its own.
    """
    target = _resolve(path)
    permissions = _permissions_for(target)
    fd, tmp = _new_temporary(target)
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, permissions)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(os.path.dirname(target))  # make the rename itself durable


def write_atomic(path, data: bytes):
    """Write bytes to `path` atomically."""
    with atomic_open(path, "wb") as f:
        f.write(data)


class Staged:
    """Outputs written to temporary files now and renamed over their targets together by `commit`.

    Made by `staged`; see there. Each target is staged once, by one of `open`, `write` or `temporary`.
    """

    def __init__(self, paths):
        self.paths = [os.fspath(p) for p in paths]
        self.targets = [_resolve(p) for p in self.paths]
        if len(set(self.targets)) != len(self.targets):
            raise ValueError(f"two outputs are the same file: {self.paths}")
        self._temporaries = {}  # target -> temporary path
        self.committed = False
        self.failed = None  # the output (as given) whose temporary file or rename raised an OSError

    def _claim(self, path):
        target = _resolve(path)
        if target not in self.targets:
            raise ValueError(f"{os.fspath(path)} was not declared as an output of this stage")
        if target in self._temporaries:
            raise ValueError(f"{os.fspath(path)} is staged already")
        if self.committed:
            raise ValueError("the stage is committed already")
        try:
            fd, tmp = _new_temporary(target)
        except OSError:
            self.failed = self.paths[self.targets.index(target)]
            raise
        self._temporaries[target] = tmp
        return fd, tmp

    def temporary(self, path):
        """A path to write the output `path` to, by any means (it exists, empty); committed with the rest."""
        fd, tmp = self._claim(path)
        os.close(fd)
        return tmp

    @contextlib.contextmanager
    def open(self, path, mode="wb", **kwargs):
        """A file object for the output `path`, like `atomic_open`; renamed at `commit`, not at the block's end."""
        fd, _ = self._claim(path)
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f

    def write(self, path, data: bytes):
        """Stage the bytes `data` as the output `path`."""
        with self.open(path, "wb") as f:
            f.write(data)

    def commit(self):
        """Rename every staged file over its target, in the order the paths were given.

        Raises ValueError, before renaming anything, when a declared output was never staged. All data
        are fsynced before the first rename. Should a rename fail, the targets renamed before it are put
        back as they were (from hard links made beforehand, where the file system has them). An OSError
        (here or from `temporary`, `open`, `write`) leaves `failed` naming the output it concerns, as given.
        """
        missing = [p for p, target in zip(self.paths, self.targets) if target not in self._temporaries]
        if missing:
            raise ValueError(f"no content was staged for {', '.join(missing)}")
        self._current = None
        try:
            self._commit()
        except OSError:
            if self._current is not None:
                self.failed = self.paths[self.targets.index(self._current)]
            raise

    def _commit(self):
        for target in self.targets:
            self._current = target
            tmp = self._temporaries[target]
            os.chmod(tmp, _permissions_for(target))
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        backups = {}  # target -> a hard link to its previous content, or None when it had none
        try:
            for target in self.targets:
                self._current = target
                backups[target] = self._backup(target)
            done = []
            try:
                for target in self.targets:
                    self._current = target
                    os.replace(self._temporaries[target], target)
                    done.append(target)
            except BaseException:
                for target in reversed(done):
                    with contextlib.suppress(OSError):
                        if backups[target] is None:
                            os.unlink(target)
                        elif backups[target] is not False:
                            os.replace(backups[target], target)
                            backups[target] = None
                raise
            self.committed = True
        finally:
            for backup in backups.values():
                if backup:
                    with contextlib.suppress(OSError):
                        os.unlink(backup)
        self._current = None
        for folder in dict.fromkeys(os.path.dirname(t) for t in self.targets):
            _fsync_folder(folder)

    @staticmethod
    def _backup(target):
        """A hard link to `target`'s current content: its path, None if there is no target, False if no link."""
        if not os.path.lexists(target):
            return None
        fd, backup = _new_temporary(target)
        os.close(fd)
        os.unlink(backup)
        try:
            os.link(target, backup)
        except OSError:
            return False
        return backup

    def discard(self):
        """Remove every staged temporary file; the targets stay as they were."""
        for tmp in self._temporaries.values():
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self._temporaries.clear()


@contextlib.contextmanager
def staged(paths):
    """All-or-nothing outputs: stage each of `paths` inside the block; all are committed when it ends cleanly.

    ``paths`` lists every output, in the order of the renames at the end: put the one that marks a
    finished run (the model file) last, so that its presence means the others are in place too.
    Inside the block write each output with ``stage.open(path, mode)``, ``stage.write(path, data)``
    or to the file named by ``stage.temporary(path)``. When the block raises (or any output was not
    staged), every temporary file is removed and every target keeps its old content, byte for byte.

    >>> with staged(["plot.png", "model.npz"]) as stage:       # doctest: +SKIP
    ...     stage.write("plot.png", png_bytes)
    ...     with stage.open("model.npz") as f:
    ...         f.write(model_bytes)
    """
    stage = Staged(paths)
    try:
        yield stage
        stage.commit()
    finally:
        stage.discard()


def check_target(path, option):
    """Raise InputError (one line, naming `option` and `path`) when `path` cannot take an output file.

    Refused: an existing target that is not a regular file (a directory, FIFO, device, socket, or a
    link to one, such as /dev/stdout), an existing file without a write permission bit for this user
    in its mode (a 0444 file is refused even for root, whom the system would let write), and a target
    whose folder is missing, not a folder or not writable. A missing target in a writable folder, or
    a writable regular file (or a link to one), passes.
    """
    raw = os.fspath(path)
    where = f"{option} {raw}" if option else raw
    if not raw:
        raise InputError(f"{option}: the path is empty")
    target = _resolve(raw)
    try:
        st = os.stat(raw)  # follows links: /dev/stdout is a link to whatever fd 1 is
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as e:
        raise InputError(f"{where}: cannot use it as an output: {e.strerror or e}") from None
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{where}: is {file_kind(st.st_mode)}, not a regular file; give a file path")
        if not _mode_allows_writing(st):
            raise InputError(f"{where}: the file is read-only (mode {stat.S_IMODE(st.st_mode):04o}); "
                             f"make it writable or choose another path")
    folder = os.path.dirname(target)
    if not os.path.exists(folder):
        raise InputError(f"{where}: the folder {folder} does not exist")
    if not os.path.isdir(folder):
        raise InputError(f"{where}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{where}: the folder {folder} is not writable")


def _mode_allows_writing(st):
    """Whether the mode bits give this user a write permission (root: any write bit at all)."""
    uid = os.geteuid()
    if uid == 0:
        return bool(st.st_mode & 0o222)
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IWUSR)
    if st.st_gid == os.getegid() or st.st_gid in os.getgroups():
        return bool(st.st_mode & stat.S_IWGRP)
    return bool(st.st_mode & stat.S_IWOTH)


def file_kind(mode):
    """What a file of mode `mode` is, for a message: "a directory", "a FIFO (named pipe)", ..."""
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _fsync_folder(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
