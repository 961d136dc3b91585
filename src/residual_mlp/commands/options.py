"""Argument types shared by the sub-commands: each rejects nonsense with a message naming the option."""
from __future__ import annotations

import argparse
import math
import os

from ..errors import InputError


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
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
        raise argparse.ArgumentTypeError(f"expected an integer seed, got {text!r}")
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
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def check_input(option, path):
    """InputError when an input file's name is empty; what the file holds is checked where it is read."""
    if not path:
        raise InputError(f"{option}: needs a file name")


def check_output(option, path, inputs=()):
    """InputError, before any work is done, when `path` cannot be written as a file or is one of `inputs`."""
    if not path:
        raise InputError(f"{option}: needs a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise InputError(f"{option} {path}: is a directory")
    if not os.path.exists(folder):
        raise InputError(f"{option} {path}: the folder {folder} does not exist")
    if not os.path.isdir(folder):
        raise InputError(f"{option} {path}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK):
        raise InputError(f"{option} {path}: the folder {folder} is not writable")
    for name, source in inputs:
        if source and os.path.exists(path) and os.path.exists(source) and os.path.samefile(path, source):
            raise InputError(f"{option} {path}: is the {name} file; writing there would destroy it")
