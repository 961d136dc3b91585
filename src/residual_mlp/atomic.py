"""Atomic file writes: readers see the old file or the whole new one, never a part.

Everything the package writes (model files, checkpoints, predictions, figures) goes through here:
a temporary file in the same folder, fsync, rename over the target, fsync of the folder. If anything
fails, the temporary file is removed and the target is untouched.
"""
from __future__ import annotations

import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_open(path, mode="wb", **kwargs):
    """A file object to write `path` through; renamed over `path` only when the block ends cleanly.

    A new file gets the permissions a plain open() would give it (0666 less the umask); a replaced
    file keeps its own.
    """
    path = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(path)
    try:
        permissions = os.stat(path).st_mode & 0o7777
    except OSError:
        permissions = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, permissions)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)  # make the rename itself durable


def write_atomic(path, data: bytes):
    """Write bytes to `path` atomically."""
    with atomic_open(path, "wb") as f:
        f.write(data)


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
