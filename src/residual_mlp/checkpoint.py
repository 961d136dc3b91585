"""Training checkpoints: the whole `TrainState` in one file, so that a run continues bit for bit.

A checkpoint uses the model file's container (`modelfile.write_archive` / `read_archive`): an .npz
read with allow_pickle=False, so loading runs no code, written atomically (temporary file, fsync,
rename), so a run killed at any moment leaves the previous checkpoint or the new one, whole.

Arrays hold everything weight-shaped, in the training dtype, bit for bit: the weights, each slot of
the optimizer (Adam's exp_avg and exp_avg_sq, the momentum buffer) and the early-stopping best
weights. The JSON record `meta` holds the rest: the epoch and the seed (shuffling draws from
default_rng([seed, epoch]), so those two are the whole random state), the optimizer's step count,
the learning-rate factor and the plateau / early-stopping counters, the history, and `config`: the
run's settings, which the caller compares when it resumes. Python writes JSON floats with repr,
which reads back to the same bits (inf and nan included).

Layout, format version 1 (a different format name from model files, so neither is taken for the other):

    params.W1 .. params.W4          the weights (D, D), (M, D), (M, M), (C, M)
    opt_state.<slot>.W1 .. .W4      each optimizer slot, same shapes, e.g. opt_state.exp_avg.W1
    best_params.W1 .. .W4           the weights at the best monitored loss, when the run keeps them
    meta                            format, format_version, dims, dtype, state (every other field
                                    of TrainState), opt_state (its scalars and slot names),
                                    history, config
"""
from __future__ import annotations

import dataclasses
import math
import os

import numpy as np

from . import optim
from .devices import dtype_name, to_host
from .errors import InputError
from .model import Params
from .modelfile import Damaged, check_params, read_archive, write_archive
from .train import History, TrainState

FORMAT = "residual_mlp.checkpoint"
FORMAT_VERSION = 1

_WEIGHT_FIELDS = [f.name for f in dataclasses.fields(TrainState)
                  if f.name in ("params", "best_params") or "Params" in str(f.type)]
_SCALARS = (bool, int, float, str, type(None))


def save_state(path, state: TrainState, config: dict | None = None):
    """Write `state` (and the run's settings `config`, a JSON-able dict) to `path` atomically."""
    arrays, scalars = {}, {}
    for f in dataclasses.fields(TrainState):
        value = getattr(state, f.name)
        if f.name in ("opt_state", "history"):
            continue
        if isinstance(value, Params):
            arrays.update(_flatten(f.name, value))
        elif value is None and f.name in _WEIGHT_FIELDS:
            continue
        else:
            scalars[f.name] = _plain(value, f"TrainState.{f.name}")
    opt_scalars, slots = {}, []
    for key, value in state.opt_state.items():
        if isinstance(value, Params):
            arrays.update(_flatten(f"opt_state.{key}", value))
            slots.append(key)
        else:
            opt_scalars[key] = _plain(value, f"optimizer state {key!r}")
    D, M, C = state.params.W1.shape[0], state.params.W2.shape[0], state.params.W4.shape[0]
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "dims": {"D": D, "M": M, "C": C},
        "dtype": dtype_name(state.params.W1.dtype),
        "state": scalars,
        "opt_state": {"scalars": opt_scalars, "slots": slots},
        "history": state.history.as_dict(),
        "config": {} if config is None else config,
    }
    write_archive(path, {k: np.ascontiguousarray(v) for k, v in arrays.items()}, meta)


def load_state(path, optimizer=None):
    """(TrainState, config) from a checkpoint; any problem with the file raises InputError naming it.

    Before any array is decompressed, its declared size is checked against the dimensions the record
    gives (see `archive.read_archive`); then every array, scalar and history entry is checked for its
    type, shape and range, so that what comes back can be resumed without a TypeError or KeyError.
    With `optimizer` ("adam", ...), the optimizer slots that optimizer needs must all be present.
    """
    arrays, meta = read_archive(path, FORMAT, FORMAT_VERSION)
    try:
        state, config = _state_from(arrays, meta)
        if optimizer is not None:
            _check_slots(state, optimizer)
        return state, config
    except Damaged as e:
        raise InputError(f"{os.fspath(path)}: damaged training checkpoint: {e}") from None


def _check_slots(state, optimizer):
    needed = [k for k, v in optim.init_state(optimizer, Params(*(np.empty((0, 0)),) * 4)).items()
              if isinstance(v, Params)]
    missing = [k for k in needed if not isinstance(state.opt_state.get(k), Params)]
    if missing:
        raise Damaged(f"the optimizer state lacks {', '.join(missing)}, which {optimizer} needs")


def _state_from(arrays, meta):
    params = _params(arrays, "params", required=True)
    dims = {"D": params.W1.shape[0], "M": params.W2.shape[0], "C": params.W4.shape[0]}
    if meta.get("dims") != dims or meta.get("dtype") != str(params.W1.dtype):
        raise Damaged(f"its record gives dimensions {meta.get('dims')} of {meta.get('dtype')}, "
                      f"its weights {dims} of {params.W1.dtype}")
    scalars = _mapping(meta, "state")
    fields = {}
    for f in dataclasses.fields(TrainState):
        if f.name == "params":
            continue
        if f.name == "opt_state":
            fields[f.name] = _opt_state(arrays, _mapping(meta, "opt_state"), params)
        elif f.name == "history":
            fields[f.name] = _history(_mapping(meta, "history"))
        elif f.name in _WEIGHT_FIELDS:
            fields[f.name] = _params(arrays, f.name, like=params)
        elif f.name in scalars:
            fields[f.name] = scalars[f.name]
        elif f.default is dataclasses.MISSING:
            raise Damaged(f"the state lacks '{f.name}'")
    _check_scalars(fields)
    epochs = len(fields["history"].loss)
    if fields["epoch"] != epochs or len(fields["history"].val_loss) > epochs:
        raise Damaged(f"it is at epoch {fields['epoch']}, its history holds {epochs} epochs")
    config = meta.get("config")
    if not isinstance(config, dict):
        raise Damaged("the 'config' record is not a mapping")
    used = {name for name in arrays if name.split(".")[0] in _WEIGHT_FIELDS}
    used |= {f"opt_state.{key}.{k}" for key in meta["opt_state"]["slots"] for k in Params._fields}
    unknown = sorted(set(arrays) - used)
    if unknown:
        raise Damaged(f"it holds arrays its record does not name: {', '.join(unknown[:3])}")
    return TrainState(params=params, **fields), config


def _params(arrays, prefix, required=False, like=None):
    names = [f"{prefix}.{k}" for k in Params._fields]
    present = [n for n in names if n in arrays]
    if not present and not required:
        return None
    if len(present) != len(names):
        missing = sorted(set(names) - set(present))
        raise Damaged(f"the arrays {', '.join(missing)} are missing")
    found = check_params(arrays, names, what=f"the arrays {prefix}.*")
    if prefix in ("params", "best_params", "previous_params") and not all(np.isfinite(W).all() for W in found):
        raise Damaged(f"the arrays {prefix}.* are not all finite")
    if like is not None and any(W.shape != V.shape or W.dtype != V.dtype for W, V in zip(found, like)):
        raise Damaged(f"the arrays {prefix}.* do not match the weights' shapes and type")
    return Params(*(np.array(W) for W in found))  # writable, contiguous copies


def _opt_state(arrays, record, params):
    opt_scalars, slots = record.get("scalars"), record.get("slots")
    if not isinstance(opt_scalars, dict) or not isinstance(slots, list):
        raise Damaged("the optimizer record is damaged")
    state = dict(opt_scalars)
    if type(state.get("step")) is not int or state["step"] < 0:
        raise Damaged(f"the optimizer's step count {state.get('step')!r} is not a count")
    for key in slots:
        if not isinstance(key, str):
            raise Damaged("the optimizer record is damaged")
        state[key] = _params(arrays, f"opt_state.{key}", required=True, like=params)
        if not all(np.isfinite(W).all() for W in state[key]):
            raise Damaged(f"the optimizer slot {key} is not all finite")
        if key == "exp_avg_sq" and any((W < 0).any() for W in state[key]):
            raise Damaged("the optimizer slot exp_avg_sq has negative entries")
    return state


def _history(record):
    known = {f.name: f for f in dataclasses.fields(History)}
    unknown = sorted(set(record) - set(known))
    if unknown:
        raise Damaged(f"the history has unknown entries {', '.join(unknown)}")
    for name, value in record.items():
        list_field = known[name].default_factory is list
        if list_field and not isinstance(value, list):
            raise Damaged(f"the history's '{name}' is not a list")
        if name == "flow":
            if not all(isinstance(v, dict) for v in value):
                raise Damaged("the history's 'flow' entries are not records")
        elif list_field and not all(type(v) in (int, float) for v in value):
            raise Damaged(f"the history's '{name}' holds entries that are not numbers")
    rows = {len(record.get(k, [])) for k in ("loss", "accuracy", "lr", "grad_norm", "elapsed")}
    if len(rows) != 1 or len(record.get("val_loss", [])) != len(record.get("val_accuracy", [])):
        raise Damaged("the history's lists have different lengths")
    if not isinstance(record.get("stop_reason", ""), str) or not isinstance(record.get("message", ""), str):
        raise Damaged("the history's stop reason is damaged")
    best = record.get("best_epoch")
    if best is not None and type(best) is not int:
        raise Damaged("the history's best epoch is damaged")
    return History(**record)


def _check_scalars(fields):
    def count(name):
        value = fields.get(name, 0)
        if type(value) is not int or value < 0:
            raise Damaged(f"'{name}' is {value!r}, not a count")

    for name in ("epoch", "monitor_bad", "plateau_bad"):
        count(name)
    if type(fields.get("seed")) is not int or fields["seed"] < 0:
        raise Damaged(f"the seed {fields.get('seed')!r} is not a non-negative integer")
    lr_scale = fields.get("lr_scale", 1.0)
    if type(lr_scale) not in (int, float) or not (math.isfinite(lr_scale) and lr_scale > 0):
        raise Damaged(f"the learning-rate factor {lr_scale!r} is not a positive number")
    best = fields.get("monitor_best", math.inf)
    if type(best) not in (int, float):
        raise Damaged(f"the best monitored loss {best!r} is not a number")


def _mapping(meta, key):
    value = meta.get(key)
    if not isinstance(value, dict):
        raise Damaged(f"the '{key}' record is missing or not a mapping")
    return value


def _flatten(prefix, params: Params):
    # host arrays: weights trained on a device are copied back (devices.to_device loads them there again)
    return {f"{prefix}.{k}": to_host(W) for k, W in zip(Params._fields, params)}


def _plain(value, what):
    """A JSON-able scalar (numpy scalars become Python ones of the same value)."""
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, _SCALARS):
        raise TypeError(f"cannot store {what} of type {type(value).__name__} in a checkpoint")
    return value
