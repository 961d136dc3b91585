"""SIGINT and SIGTERM during training: both stop it the way Ctrl-C does, and the exit status says which.

`fit` turns a KeyboardInterrupt into stop_reason "interrupted" with the weights of the last finished
step. Inside `interrupts_as_stops()`, SIGTERM raises that KeyboardInterrupt too, and `last_status()`
tells the command which signal came: 130 for SIGINT, 143 for SIGTERM (128 + the signal's number).
"""
from __future__ import annotations

import contextlib
import signal

from ..errors import EXIT_SIGINT, EXIT_SIGTERM

_received = {"status": EXIT_SIGINT}


@contextlib.contextmanager
def interrupts_as_stops():
    """Within the block, SIGINT and SIGTERM raise KeyboardInterrupt and record their exit status."""
    def stop(signum, frame):
        _received["status"] = EXIT_SIGTERM if signum == signal.SIGTERM else EXIT_SIGINT
        raise KeyboardInterrupt

    _received["status"] = EXIT_SIGINT
    try:
        before = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: signals stay as they are
        yield
        return
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


def last_status():
    """130 or 143: the status of the signal that last stopped training."""
    return _received["status"]
