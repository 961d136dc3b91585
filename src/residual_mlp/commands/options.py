"""Argument types shared by the sub-commands: each rejects nonsense with a message naming the option."""
from __future__ import annotations

import argparse
import contextlib
import math
import os

from .. import atomic
from ..errors import InputError, OutputError


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def positive_float(text):
    value = _float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def seed(text):
    """A random seed: an integer in [0, 2**32), the range numpy and scikit-learn both take."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"expected a seed between 0 and {2**32 - 1}, got {text!r}")
    return value


def momentum(text):
    """A momentum coefficient: a number in [0, 1); at 1 or above the velocity never decays."""
    value = _float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a momentum from 0 up to (not including) 1, got {text!r}")
    return value


def non_negative_float(text):
    value = _float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def fraction(text):
    value = _float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction strictly between 0 and 1, got {text!r}")
    return value


def _float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def check_input(option, path):
    """InputError when an input file's name is empty; what the file holds is checked where it is read."""
    if not path:
        raise InputError(f"{option}: needs a file name")


def check_output(option, path, inputs=()):
    """InputError, before any work is done, when `path` cannot take an output file or is one of `inputs`.

    See `atomic.check_target`: an existing non-regular file (a FIFO, a device, a link to /dev/stdout),
    a read-only file or a missing or unwritable folder is refused.
    """
    if not path:
        raise InputError(f"{option}: needs a file name")
    atomic.check_target(path, option)
    for name, source in inputs:
        if source and os.path.exists(path) and os.path.exists(source) and os.path.samefile(path, source):
            raise InputError(f"{option} {path}: is the {name} file; writing there would destroy it")


def names(text):
    """A comma-separated list of column names."""
    values = [v.strip() for v in text.split(",")]
    if not text.strip() or any(not v for v in values):
        raise argparse.ArgumentTypeError(f"expected column names separated by commas, got {text!r}")
    return values


def batch_size(text):
    """A mini-batch size, or 'full' for full batch."""
    if text.strip().lower() == "full":
        return "full"
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'full', got {text!r}") from None


def add_table_options(group):
    """--sep and --na-values, shared by the commands that read tables."""
    group.add_argument("--sep", metavar="CHAR",
                       help="the CSV separator (default: detected among , ; tab |; tab for .tsv)")
    group.add_argument("--na-values", type=names, metavar="A,B,...",
                       help="cell texts that mean a missing value (default: empty, NA, N/A, NaN, nan, null, NULL, "
                            "None, #N/A, ?)")


# What each output option writes, for "cannot write the figure to FILE: ..." (a command names its --out).
OUTPUT_NAMES = {"--out": "the output", "--plot": "the figure", "--plot-flow": "the figure",
                "--checkpoint": "the checkpoint"}


class Outputs:
    """The files a run promises, checked before any work and written together at the end (see `staging`)."""

    def __init__(self, paths, what=None):
        self.paths = {option: path for option, path in paths if path is not None}
        self.what = {**OUTPUT_NAMES, **(what or {})}

    @contextlib.contextmanager
    def staging(self, *order):
        """Yield a stage whose `path(option)` names the temporary file to write that output to; when the block
        ends cleanly the outputs are renamed into place in `order` (the model last), else none is
        (`atomic.staged`). A temporary file that cannot be made, or a rename that fails (a folder gone, a full
        disk, a read-only file system), is an OutputError naming the output: "cannot write the model to FILE:
        No such file or directory"."""
        stage = atomic.Staged([self.paths[option] for option in order])
        try:
            yield _Stage(stage, self)
            try:
                stage.commit()
            except OSError as e:
                raise self.error(stage.failed, e) from None
        finally:
            stage.discard()

    def error(self, path, e):
        """The OutputError for the OSError `e` raised while writing the output `path` (None: not known)."""
        option = next((o for o, p in self.paths.items() if p is not None and os.fspath(p) == path), None)
        what = self.what.get(option, "the output")
        reason = e.strerror or str(e) or type(e).__name__
        return OutputError(f"cannot write {what} to {path}: {reason}" if path else f"cannot write {what}: {reason}")


class _Stage:
    def __init__(self, stage, outputs):
        self.stage, self.outputs = stage, outputs

    def path(self, option):
        path = self.outputs.paths[option]
        try:
            return self.stage.temporary(path)
        except OSError as e:
            raise self.outputs.error(os.fspath(path), e) from None


def planned_outputs(args, outputs, inputs=(), what=None):
    """Outputs for `outputs` [(option, path)], each checked now (before any work) by `check_output`; `what`
    {option: "the model"} names what an option writes, in messages (see `OUTPUT_NAMES`)."""
    for option, path in outputs:
        if path is not None:
            check_output(option, path, inputs)
            if option.startswith("--plot"):
                from ..plots import image_format
                image_format(path)  # an extension matplotlib cannot write fails here, not after training
    return Outputs(outputs, what)


def add_dask_options(group):
    """--dask and --scheduler, shared by the commands that can run on Dask."""
    group.add_argument("--dask", action="store_true",
                       help="run on Dask, on a local cluster sized to this machine; --data may then be a folder of "
                            "Parquet files (default: in memory, unless --data is a pattern such as "
                            "'folder/*.parquet')")
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on the Dask cluster whose scheduler is at ADDRESS, e.g. tcp://HOST:8786 "
                            "(implies --dask; default: none)")


def uses_dask(args):
    """Whether a command runs on Dask: --dask, --scheduler, or a --data glob pattern."""
    path = getattr(args, "data", None) or ""
    return bool(args.dask or args.scheduler or any(c in path for c in "*?["))
