"""--checkpoint FILE, --checkpoint-every K and --resume for `residual-mlp train`.

The checkpoint (see `checkpoint.py`) holds the network's whole TrainState and the run's settings. It is
written atomically every K epochs and after the last one, so a run killed at any moment resumes from a
whole checkpoint and ends with the weights of an uninterrupted run, bit for bit (L-BFGS excepted: its
memory restarts). The column encoders are refitted on the same training rows, which gives them the same
state. The file is kept when the run ends, so that a later --resume with a larger --epochs continues it.
"""
from __future__ import annotations

import hashlib
import os
import sys

import numpy as np

from ..errors import InputError, OutputError

# The settings that shape the trained weights: resuming under other values would not continue the same run.
# --epochs may grow (except under the cosine schedule, which spreads over all epochs), and --lr may change
# (the advice after a divergence), which the run says.
RESUME_SETTINGS = ("hidden", "recipe", "batch_size", "optimizer", "momentum", "weight_decay", "lr_schedule",
                   "validation_fraction", "patience", "tol", "seed", "dtype", "features", "drop", "categorical",
                   "no_standardize", "test_size", "input_bias", "class_weight")


def checkpointing(args, settings, frame, y_text):
    """fit's `callback` and `resume` for the checkpoint options (an empty dict without --checkpoint)."""
    from .. import checkpoint

    if args.checkpoint is None:
        if args.resume:
            raise InputError("--resume needs --checkpoint FILE, the checkpoint to continue from")
        return {}
    if os.path.abspath(args.checkpoint) == os.path.abspath(args.out):
        raise InputError(f"--checkpoint {args.checkpoint}: is also the --out file; the model would overwrite the "
                         f"checkpoint")
    config = {"command": "train", "options": {k: settings.get(k) for k in (*RESUME_SETTINGS, "lr", "max_iter",
                                                                             "data", "dataset", "test")},
              "data_sha256": data_digest(frame, y_text)}
    state = None
    if args.resume:
        if os.path.exists(args.checkpoint):
            state, saved = checkpoint.load_state(args.checkpoint)
            check_resumable(args, config, saved, state)
            print(f"resuming  from {args.checkpoint} at epoch {state.epoch}", file=sys.stderr)
            if settings.get("optimizer") == "lbfgs":
                print("note      L-BFGS restarts its memory when it resumes: the weights can differ from those of "
                      "an uninterrupted run", file=sys.stderr)
        else:
            print(f"note      no checkpoint {args.checkpoint} yet: training from the start", file=sys.stderr)
    epochs = settings["max_iter"]

    def write(state):
        if state.history.stop_reason:
            return
        if state.epoch % args.checkpoint_every == 0 or state.epoch == epochs:
            try:
                checkpoint.save_state(args.checkpoint, state, config)
            except OSError as e:
                raise OutputError(f"cannot write the checkpoint {args.checkpoint}: {e.strerror or e}") from None

    return {"callback": write, "resume": state}


def check_resumable(args, config, saved, state):
    """InputError naming the first setting in which this run differs from the checkpoint's run."""
    where = f"--resume: the checkpoint {args.checkpoint}"
    before, now = saved.get("options"), config["options"]
    if saved.get("command") != "train" or not isinstance(before, dict) or "data_sha256" not in saved:
        raise InputError(f"{where} does not record the settings of a `train` run; start afresh without --resume")
    for key in RESUME_SETTINGS:
        if key == "test_size" and args.test is not None:
            continue  # ignored by this run, so it cannot matter
        if _comparable(before.get(key)) != _comparable(now[key]):
            raise InputError(f"{where} was written with {_option_text(key, before.get(key))}, this run has "
                             f"{_option_text(key, now[key])}; resume with the settings of the checkpoint "
                             f"(only --epochs and --lr may change) or start afresh without --resume")
    if before.get("lr") != now["lr"]:
        print(f"note      resuming with --lr {now['lr']:g} (the checkpoint's run had {before.get('lr')})",
              file=sys.stderr)
    if now["lr_schedule"] == "cosine" and before.get("max_iter") != now["max_iter"]:
        raise InputError(f"{where} was written with --epochs {before.get('max_iter')}, this run has --epochs "
                         f"{now['max_iter']}; the cosine schedule spreads over all epochs, so they must agree")
    if state.epoch > now["max_iter"]:
        raise InputError(f"{where} is at epoch {state.epoch}, past this run's --epochs {now['max_iter']}")
    if saved["data_sha256"] != config["data_sha256"]:
        source = (before.get("data") or f"--dataset {before.get('dataset')}",
                  now["data"] or f"--dataset {now['dataset']}")
        if source[0] != source[1]:
            what = f"was trained on {source[0]}, this run on {source[1]}"
        elif before.get("test") != now["test"]:
            what = f"was written with --test {before.get('test')}, this run has --test {now['test']}"
        else:
            what = f"was trained on other rows than {source[1]} holds now (the data changed since)"
        raise InputError(f"{where} {what}; resume on the same data or start afresh without --resume")
    W1, W2 = state.params.W1, state.params.W2
    if (W2.shape[0], str(W1.dtype)) != (now["hidden"], now["dtype"]):
        raise InputError(f"{where} holds a network of width {W2.shape[0]} in {W1.dtype}, which does not fit this "
                         f"run's settings")


def data_digest(frame, y_text):
    """SHA-256 of the training rows (their values, row by row) and labels, as this run reads them."""
    import pandas as pd

    digest = hashlib.sha256()
    digest.update(",".join(map(str, frame.columns)).encode())
    digest.update(np.ascontiguousarray(pd.util.hash_pandas_object(frame, index=False).to_numpy()).tobytes())
    digest.update("\n".join(map(str, np.asarray(y_text).tolist())).encode())
    return digest.hexdigest()


def _comparable(value):
    return list(value) if isinstance(value, tuple) else value


def _option_text(key, value):
    name = "--" + key.replace("_", "-")
    if key == "batch_size" and value is None:
        return f"{name} full"
    if isinstance(value, bool):
        return name if value else f"no {name}"
    if isinstance(value, list):
        value = ",".join(map(str, value))
    return f"no {name}" if value is None else f"{name} {value}"
