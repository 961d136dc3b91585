"""Training checkpoints: exact round trips, resumed runs bit-identical to uninterrupted ones (in
process, and after `residual-mlp train` is killed with SIGKILL), clear errors for damaged files and
for a --resume whose settings differ from the checkpoint's run."""
from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import random
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pandas as pd
import pytest

from residual_mlp import RECIPES, cli, data, fit, init_params, make_pipeline, modelfile
from residual_mlp.checkpoint import FORMAT_VERSION, load_state, save_state
from residual_mlp.errors import InputError
from residual_mlp.model import Params
from residual_mlp.saving import read_model_file
from residual_mlp.train import History, TrainState


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X[:240] - 8.0) / 8.0, y[:240]  # (240, 64), 10 classes


def start(dtype=np.float64):
    return init_params(64, 12, 10, seed=2, dtype=dtype)


# Each option of the loop that keeps state across epochs, at least once.
RUNS = {
    "gd full batch": dict(lr=0.3, epochs=12),
    "adam mini-batch": dict(optimizer="adam", lr=0.01, batch_size=32, epochs=6),
    "momentum, plateau, validation": dict(optimizer="momentum", lr=0.05, batch_size=50, lr_schedule="plateau",
                                          validation_fraction=0.25, tol=10.0, epochs=14),
    "nesterov, cosine, weight decay, float32": dict(optimizer="nesterov", lr=0.05, batch_size=64,
                                                    lr_schedule="cosine", weight_decay=1e-3, epochs=10),
    "adam, early stopping": dict(optimizer="adam", lr=0.05, batch_size=32, validation_fraction=0.3,
                                 patience=2, epochs=200),
}


def same_params(a: Params, b: Params):
    return all(W.dtype == V.dtype and W.shape == V.shape and np.array_equal(W, V) for W, V in zip(a, b))


def same_history(a: History, b: History):
    """Equal record for record (elapsed wall time aside); nan equals nan."""
    da, db = a.as_dict(), b.as_dict()
    da.pop("elapsed"), db.pop("elapsed")
    return json.dumps(da, sort_keys=True) == json.dumps(db, sort_keys=True)


# ------------------------------------------------------------------ in process


@pytest.mark.parametrize("name", RUNS)
def test_save_and_load_keep_the_whole_state_exactly(tmp_path, digits, name):
    X, y = digits
    kw = dict(RUNS[name], epochs=min(RUNS[name]["epochs"], 5))
    dtype = np.float32 if "float32" in name else np.float64
    _, _, state = fit(start(dtype), X, y, seed=7, return_state=True, **kw)
    config = {"options": {"lr": 0.1, "batch_size": None}, "data_sha256": "ab" * 32}
    save_state(tmp_path / "c.ckpt", state, config)
    back, back_config = load_state(tmp_path / "c.ckpt")
    assert back_config == config
    assert same_params(back.params, state.params)
    assert (back.best_params is None) == (state.best_params is None)
    if state.best_params is not None:
        assert same_params(back.best_params, state.best_params)
    assert back.opt_state.keys() == state.opt_state.keys()
    for key, value in state.opt_state.items():
        if isinstance(value, Params):
            assert same_params(back.opt_state[key], value)
        else:
            assert type(back.opt_state[key]) is type(value) and back.opt_state[key] == value
    for field in ("epoch", "seed", "lr_scale", "monitor_best", "monitor_bad", "plateau_bad"):
        assert getattr(back, field) == getattr(state, field), field
    assert back.history.as_dict() == state.history.as_dict()
    assert all(W.flags.writeable and W.flags.c_contiguous for W in back.params)


def test_a_fresh_state_with_infinite_best_loss_round_trips(tmp_path):
    params = start()
    state = TrainState(params=params, opt_state={"step": 0}, epoch=0, seed=2**70 + 3, history=History())
    save_state(tmp_path / "c.ckpt", state)
    back, config = load_state(tmp_path / "c.ckpt")
    assert config == {} and back.monitor_best == math.inf and back.seed == 2**70 + 3
    assert same_params(back.params, params) and back.best_params is None and back.epoch == 0


@pytest.mark.parametrize("name", RUNS)
def test_resuming_from_epoch_k_ends_bit_identical_to_an_uninterrupted_run(tmp_path, digits, name):
    X, y = digits
    kw = RUNS[name]
    dtype = np.float32 if "float32" in name else np.float64
    ref, ref_history, ref_state = fit(start(dtype), X, y, seed=11, return_state=True, **kw)
    k = 2 if "early" in name else kw["epochs"] // 2 + 1
    path = tmp_path / "c.ckpt"

    def crash_after_k(state):
        if state.epoch == k:
            save_state(path, state, {})
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        fit(start(dtype), X, y, seed=11, callback=crash_after_k, **kw)
    resume, _ = load_state(path)
    assert resume.epoch == k
    at_k = (resume.lr_scale, resume.plateau_bad, resume.best_params is not None)  # fit advances `resume`
    params, history = fit(start(dtype), X, y, seed=11, resume=resume, **kw)
    assert same_params(params, ref)
    assert same_history(history, ref_history)
    # the runs exercise what they are named after
    if "plateau" in name:  # with this tol only epoch 1 improves: the rate halves after epochs 6 and 11
        assert at_k[:2] == (0.5, 2) and ref_state.lr_scale == 0.25
    if "early" in name:
        assert ref_history.stop_reason == "early_stopping" and len(ref_history) > k
        assert at_k[2]


# ------------------------------------------------------------------ damaged checkpoints


def rewrite(path, change_arrays=None, change_meta=None):
    """Rewrite a checkpoint with some arrays or meta entries changed (None deletes)."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays.pop("meta").tobytes().decode())
    for key, value in (change_arrays or {}).items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    for key, value in (change_meta or {}).items():
        *outer, last = key.split("/")
        record = meta
        for part in outer:
            record = record[part]
        if value is None:
            del record[last]
        else:
            record[last] = value
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(path, "wb") as f:  # (np.savez would add .npz to a path)
        np.savez(f, **arrays)


@pytest.fixture
def adam_checkpoint(tmp_path, digits):
    X, y = digits
    _, _, state = fit(start(), X, y, seed=3, optimizer="adam", lr=0.01, batch_size=60, epochs=2,
                      validation_fraction=0.2, patience=3, return_state=True)
    path = tmp_path / "c.ckpt"
    save_state(path, state, {"options": {}})
    load_state(path)  # whole before any damage
    return path


def refused(path, *words):
    with pytest.raises(InputError) as info:
        load_state(path)
    message = str(info.value)
    assert message.startswith(f"{path}:") and "\n" not in message, message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("keep", [0, 9, 0.5, -1])
def test_truncated_checkpoint(adam_checkpoint, keep):
    data = adam_checkpoint.read_bytes()
    adam_checkpoint.write_bytes(data[:int(len(data) * keep) if isinstance(keep, float) else keep % len(data)])
    refused(adam_checkpoint)


def test_random_bytes_and_a_corrupted_byte(adam_checkpoint):
    data = bytearray(adam_checkpoint.read_bytes())
    with zipfile.ZipFile(adam_checkpoint) as z:  # a byte inside the stored weights
        info = z.getinfo("params.W2.npy")
    data[info.header_offset + 200] ^= 0x10
    adam_checkpoint.write_bytes(bytes(data))
    refused(adam_checkpoint, "damaged training checkpoint")
    adam_checkpoint.write_bytes(np.random.default_rng(1).bytes(3000))
    refused(adam_checkpoint, "not a residual_mlp training checkpoint")


def test_the_slots_an_optimizer_needs_must_be_there(adam_checkpoint):
    load_state(adam_checkpoint, optimizer="adam")
    load_state(adam_checkpoint, optimizer="gd")
    with pytest.raises(InputError, match="lacks momentum_buffer, which momentum needs"):
        load_state(adam_checkpoint, optimizer="momentum")
    arrays = {f"opt_state.exp_avg_sq.{k}": None for k in Params._fields}
    rewrite(adam_checkpoint, arrays, {"opt_state/slots": ["exp_avg"]})
    load_state(adam_checkpoint)  # a whole record, of some other optimizer
    with pytest.raises(InputError, match="damaged training checkpoint: the optimizer state lacks exp_avg_sq"):
        load_state(adam_checkpoint, optimizer="adam")


def test_a_model_file_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "m.npz"
    modelfile.save(path, modelfile.Model(start(), np.arange(10)))
    refused(path, "model file, not a training checkpoint")


def test_newer_checkpoint_version(adam_checkpoint):
    rewrite(adam_checkpoint, change_meta={"format_version": FORMAT_VERSION + 1})
    refused(adam_checkpoint, "newer", "upgrade")


def test_an_object_array_is_refused_without_running_code(adam_checkpoint, tmp_path):
    marker = tmp_path / "code-ran"

    class Trap:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    trap = np.empty(1, dtype=object)
    trap[0] = Trap()
    with zipfile.ZipFile(adam_checkpoint) as z:
        members = {name: z.read(name) for name in z.namelist()}
    pickled = io.BytesIO()
    np.lib.format.write_array(pickled, trap, allow_pickle=True)
    members["opt_state.exp_avg.W1.npy"] = pickled.getvalue()
    with zipfile.ZipFile(adam_checkpoint, "w") as z:
        for name, content in members.items():
            z.writestr(name, content)
    refused(adam_checkpoint)
    assert not marker.exists()


@pytest.mark.parametrize("arrays,meta,words", [
    ({"opt_state.exp_avg_sq.W3": None}, {}, ["opt_state.exp_avg_sq.W3", "missing"]),
    ({"params.W4": None}, {}, ["params.W4", "missing"]),
    ({"opt_state.exp_avg.W2": np.zeros((3, 3))}, {}, ["opt_state.exp_avg"]),
    ({"best_params.W1": np.zeros((64, 64), dtype=np.float32)}, {}, ["best_params"]),
    ({"params.W2": np.zeros((12, 65))}, {}, ["the arrays params.*", "do not fit together"]),
    ({}, {"state/epoch": -1}, ["epoch"]),
    ({}, {"state/epoch": "2"}, ["epoch"]),
    ({}, {"state/seed": 1.5}, ["seed"]),
    ({}, {"state/lr_scale": 0}, ["learning-rate factor"]),
    ({}, {"state/monitor_bad": "x"}, ["monitor_bad"]),
    ({}, {"opt_state/scalars/step": -3}, ["step count"]),
    ({}, {"opt_state/slots": ["exp_avg", "velocity"]}, ["opt_state.velocity"]),
    ({}, {"history/loss": 3}, ["history"]),
    ({}, {"history/surprise": []}, ["unknown entries surprise"]),
    ({}, {"config": [1]}, ["config"]),
    ({}, {"dims": {"D": 64, "M": 13, "C": 10}}, ["dimensions"]),
    ({}, {"history": None}, ["history"]),
    ({}, {"history/loss": ["0.5", 0.25]}, ["history's 'loss'", "not numbers"]),
    ({}, {"history/elapsed": [1.0, None]}, ["history's 'elapsed'", "not numbers"]),
    ({}, {"history/accuracy": [0.5]}, ["different lengths"]),
    ({}, {"state/epoch": 3}, ["epoch 3", "2 epochs"]),
    ({}, {"state/epoch": None}, ["lacks 'epoch'"]),
    ({}, {"state/monitor_best": "0.5"}, ["best monitored loss"]),
    ({}, {"state": "x"}, ["'state' record"]),
    ({}, {"opt_state": None}, ["'opt_state' record"]),
    ({}, {"opt_state/slots": ["exp_avg"]}, ["does not name", "opt_state.exp_avg_sq.W1"]),
    ({}, {"dims": {"D": "64", "M": 12, "C": 10}}, ["dimensions"]),
    ({}, {"dims": None}, ["dimensions"]),
    ({}, {"dtype": "float16"}, ["weight type"]),
    ({"params.W1": np.zeros((64, 64), dtype=np.complex64)}, {}, ["params.W1", "complex64"]),
    ({"params.W1": np.zeros((64, 64), dtype="datetime64[s]")}, {}, ["params.W1", "datetime64"]),
    ({"params.W1": np.zeros((64, 64), dtype=[("a", "f8")])}, {}, ["params.W1"]),
    ({"params.W1": np.zeros((65, 65))}, {}, ["params"]),
    ({"params.W1": np.zeros((640, 640))}, {}, ["params.W1.npy", "more than the 320.0 KiB its dimensions allow"]),
])
def test_damaged_content_is_named(adam_checkpoint, arrays, meta, words):
    rewrite(adam_checkpoint, arrays, meta)
    refused(adam_checkpoint, "damaged training checkpoint", *words)


# ------------------------------------------------------------------ through the pipeline


def test_the_pipeline_resumes_bit_identical_through_classifier_resume(tmp_path):
    """make_pipeline(...).fit routes callback= and resume= to the classifier (the default recipe)."""
    table = data.load_dataset("iris")
    frame, y = table.features, table.labels

    def pipe():
        return make_pipeline(n_hidden=6, random_state=5, max_iter=12)

    straight = pipe().fit(frame, y)
    path = tmp_path / "c.ckpt"

    def crash_after_5(state):
        if state.epoch == 5:
            save_state(path, state, {})
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        pipe().fit(frame, y, classifier__callback=crash_after_5)
    state, _ = load_state(path)
    resumed = pipe().fit(frame, y, classifier__resume=state)
    assert same_params(resumed[-1].params_, straight[-1].params_)
    assert resumed[-1].loss_curve_ == straight[-1].loss_curve_ and len(straight[-1].loss_curve_) == 12
    assert np.array_equal(resumed.predict_proba(frame), straight.predict_proba(frame))


# ------------------------------------------------------------------ the command line


IRIS = ["train", "--dataset", "iris", "--hidden", "6", "--quiet", "--seed", "5"]
CONSTANT = ["--batch-size", "16", "--lr", "0.01", "--lr-schedule", "constant"]  # so that --epochs may grow


def main(capsys, *argv):
    """`residual-mlp ...` in process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def train(tmp_path, *args, out="model.skops"):
    """`residual-mlp train` on iris in process; returns (exit status, the saved ModelFile or None)."""
    path = tmp_path / out
    code = cli.main([*IRIS, "--out", str(path), *map(str, args)])
    return code, (read_model_file(path) if code == 0 else None)


def weights(model_file):
    return model_file.model[-1].params_


def same_model(a, b):
    return (same_params(weights(a), weights(b))
            and a.record["results"]["loss_curve"] == b.record["results"]["loss_curve"])


def test_growing_epochs_continues_the_kept_checkpoint(tmp_path, capsys):
    _, straight = train(tmp_path, "--epochs", 25, *CONSTANT, out="straight.skops")
    ckpt = tmp_path / "run.ckpt"
    opts = [*CONSTANT, "--checkpoint", ckpt, "--checkpoint-every", 4]
    code, first = train(tmp_path, "--epochs", 10, *opts)
    assert code == 0 and load_state(ckpt)[0].epoch == 10  # the last epoch is written too, and kept
    capsys.readouterr()
    code, resumed = train(tmp_path, "--epochs", 25, "--resume", *opts)
    assert code == 0
    assert f"resuming  from {ckpt} at epoch 10" in capsys.readouterr().err
    assert same_model(resumed, straight) and not same_model(first, straight)
    assert len(resumed.record["results"]["loss_curve"]) == 25


def test_resume_without_a_checkpoint_file_starts_afresh_and_says_so(tmp_path, capsys):
    _, plain = train(tmp_path, "--epochs", 6, out="plain.skops")
    capsys.readouterr()
    ckpt = tmp_path / "new.ckpt"
    code, fresh = train(tmp_path, "--epochs", 6, "--checkpoint", ckpt, "--resume")
    assert code == 0 and same_model(fresh, plain)
    assert f"no checkpoint {ckpt} yet: training from the start" in capsys.readouterr().err
    assert load_state(ckpt)[0].epoch == 6


def test_resume_needs_a_checkpoint_option(tmp_path, capsys):
    assert train(tmp_path, "--epochs", 2, "--resume")[0] == 2
    err = capsys.readouterr().err
    assert err == "error: --resume needs --checkpoint FILE, the checkpoint to continue from\n"
    assert not (tmp_path / "model.skops").exists()


def test_the_checkpoint_cannot_be_the_model_file(tmp_path, capsys):
    assert train(tmp_path, "--epochs", 2, "--checkpoint", tmp_path / "model.skops")[0] == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --checkpoint {tmp_path / 'model.skops'}: is also the --out"), err
    assert not (tmp_path / "model.skops").exists()


def test_early_stopping_resumes_to_the_same_stop(tmp_path, capsys):
    opts = ["--epochs", 300, "--lr", 0.05, "--batch-size", 16, "--lr-schedule", "constant",
            "--validation-fraction", 0.3, "--patience", 3]
    _, straight = train(tmp_path, *opts, out="straight.skops")
    assert straight.record["results"]["stop_reason"] == "early_stopping"
    stop = straight.record["results"]["epochs_run"]
    ckpt = tmp_path / "run.ckpt"
    code, _ = train(tmp_path, *opts, "--checkpoint", ckpt, "--checkpoint-every", 1)
    state, _ = load_state(ckpt)
    assert code == 0 and state.epoch == stop - 1 and state.history.stop_reason == ""
    code, resumed = train(tmp_path, *opts, "--checkpoint", ckpt, "--resume")
    assert code == 0 and same_model(resumed, straight)
    assert resumed.record["results"]["stop_reason"] == "early_stopping"


@pytest.fixture
def iris_checkpoint(tmp_path):
    """The checkpoint of a finished 4-epoch run of the default recipe (adam, batch 64, cosine, wd 1e-3)."""
    ckpt = tmp_path / "run.ckpt"
    assert train(tmp_path, "--epochs", 4, "--checkpoint", ckpt, out="first.skops")[0] == 0
    return ckpt


def test_resuming_a_finished_run_gives_its_model_again(tmp_path, capsys, iris_checkpoint):
    code, again = train(tmp_path, "--epochs", 4, "--checkpoint", iris_checkpoint, "--resume")
    assert code == 0
    assert same_model(again, read_model_file(tmp_path / "first.skops"))


@pytest.mark.parametrize("change,said", [
    (["--hidden", "7"], "was written with --hidden 6, this run has --hidden 7"),
    (["--recipe", "seed"], "was written with --recipe default, this run has --recipe seed"),
    (["--batch-size", "8"], "was written with --batch-size 64, this run has --batch-size 8"),
    (["--batch-size", "full"], "was written with --batch-size 64, this run has --batch-size full"),
    (["--optimizer", "gd"], "was written with --optimizer adam, this run has --optimizer gd"),
    (["--optimizer", "nesterov"], "was written with --optimizer adam, this run has --optimizer nesterov"),
    (["--momentum", "0.5"], "--momentum 0.9, this run has --momentum 0.5"),
    (["--weight-decay", "0.01"],
     f"--weight-decay {RECIPES['default']['weight_decay']}, this run has --weight-decay 0.01"),
    (["--lr-schedule", "constant"], "--lr-schedule cosine, this run has --lr-schedule constant"),
    (["--seed", "6"], "was written with --seed 5, this run has --seed 6"),
    (["--dtype", "float32"], "was written with --dtype float64, this run has --dtype float32"),
    (["--no-standardize"], "with no --no-standardize, this run has --no-standardize"),
    (["--dataset", "wine"], "was trained on --dataset iris, this run on --dataset wine"),
    (["--test-size", "0.3"], "--test-size 0.2, this run has --test-size 0.3"),
    (["--validation-fraction", "0.2"], "no --validation-fraction, this run has --validation-fraction 0.2"),
    (["--patience", "5"], "no --patience, this run has --patience 5"),
    (["--tol", "0.01"], "--tol 0.0001, this run has --tol 0.01"),
    (["--features", "petal width (cm),sepal width (cm)"],
     "no --features, this run has --features petal width (cm),sepal width (cm)"),
    (["--drop", "petal width (cm)"], "no --drop, this run has --drop petal width (cm)"),
    (["--categorical", "petal width (cm)"], "no --categorical, this run has --categorical petal width (cm)"),
    (["--epochs", "8"], "--epochs 4, this run has --epochs 8; the cosine schedule spreads over all epochs"),
])
def test_a_resume_with_other_settings_names_the_option(tmp_path, capsys, iris_checkpoint, change, said):
    before = iris_checkpoint.read_bytes()
    capsys.readouterr()
    args = ["--epochs", 4, "--checkpoint", iris_checkpoint, "--resume", *change]
    assert train(tmp_path, *args)[0] == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --resume: the checkpoint {iris_checkpoint} ") and err.count("\n") == 1, err
    assert said in err, err
    assert not (tmp_path / "model.skops").exists() and iris_checkpoint.read_bytes() == before


def test_epochs_past_the_checkpoint_are_refused(tmp_path, capsys):
    ckpt = tmp_path / "run.ckpt"
    assert train(tmp_path, "--epochs", 4, *CONSTANT, "--checkpoint", ckpt)[0] == 0
    capsys.readouterr()
    assert train(tmp_path, "--epochs", 3, *CONSTANT, "--checkpoint", ckpt, "--resume")[0] == 2
    assert "is at epoch 4, past this run's --epochs 3" in capsys.readouterr().err


def test_changed_data_are_noticed(tmp_path, capsys, iris_checkpoint, monkeypatch):
    real = data.load_dataset

    def edited(name):
        table = real(name)
        features = table.features.copy()
        features.iloc[:10, 2] += 0.1  # some of these rows are training rows
        return dataclasses.replace(table, features=features)

    monkeypatch.setattr(data, "load_dataset", edited)
    capsys.readouterr()
    assert train(tmp_path, "--epochs", 4, "--checkpoint", iris_checkpoint, "--resume")[0] == 2
    assert "was trained on other rows than --dataset iris holds now" in capsys.readouterr().err
    monkeypatch.undo()
    assert train(tmp_path, "--epochs", 4, "--checkpoint", iris_checkpoint, "--resume")[0] == 0


@pytest.fixture
def tables(tmp_path):
    """(train CSV, test CSV): a number, a category and a label that depends on both."""
    rng = np.random.default_rng(0)

    def table(n):
        frame = pd.DataFrame({"size": rng.normal(size=n).round(3), "colour": rng.choice(["red", "green", "blue"], n)})
        frame["label"] = np.where(frame["size"] + (frame["colour"] == "red") > 0.5, "big", "small")
        return frame

    paths = tmp_path / "train.csv", tmp_path / "test.csv"
    table(90).to_csv(paths[0], index=False)
    table(30).to_csv(paths[1], index=False)
    return paths


def on_table(tables, *args):
    return ["train", "--data", tables[0], "--test", tables[1], "--hidden", 6, "--seed", 5, "--quiet", *args]


def test_a_checkpoint_of_another_data_file_is_refused(tmp_path, capsys, tables):
    ckpt, out = tmp_path / "run.ckpt", tmp_path / "m.skops"
    first = on_table(tables, "--epochs", 4, "--checkpoint", ckpt, "--out", out)
    assert main(capsys, *first)[0] == 0
    original = tables[0].read_text()
    other = tmp_path / "other.csv"
    other.write_text(original.replace("red", "blue", 1))
    resume = ["--epochs", 4, "--checkpoint", ckpt, "--out", tmp_path / "again.skops", "--resume"]
    code, _, err = main(capsys, "train", "--data", other, "--test", tables[1], "--hidden", 6, "--seed", 5,
                        "--quiet", *resume)
    assert code == 2 and err.count("\n") == 1
    assert f"the checkpoint {ckpt} was trained on {tables[0]}, this run on {other}; resume on the same data" in err
    code, _, err = main(capsys, *IRIS, *resume)
    assert code == 2 and f"was trained on {tables[0]}, this run on --dataset iris" in err
    tables[0].write_text(original.replace("big", "small", 1))  # the same file, edited since
    code, _, err = main(capsys, *on_table(tables, *resume))
    assert code == 2 and f"was trained on other rows than {tables[0]} holds now (the data changed since)" in err
    assert not (tmp_path / "again.skops").exists()
    tables[0].write_text(original)
    assert main(capsys, *on_table(tables, *resume))[0] == 0
    assert same_model(read_model_file(tmp_path / "again.skops"), read_model_file(out))


def test_a_resume_may_change_the_learning_rate_and_says_so(tmp_path, capsys, tables):
    ckpt = tmp_path / "run.ckpt"
    run = on_table(tables, "--recipe", "seed", "--checkpoint", ckpt)
    assert main(capsys, *run, "--epochs", 10, "--out", tmp_path / "first.skops")[0] == 0
    at_10 = ckpt.read_bytes()
    code, _, err = main(capsys, *run, "--epochs", 20, "--resume", "--lr", 0.05, "--out", tmp_path / "slow.skops")
    assert code == 0, err
    assert "note      resuming with --lr 0.05 (the checkpoint's run had 0.1)" in err
    ckpt.write_bytes(at_10)
    code, _, err = main(capsys, *run, "--epochs", 20, "--resume", "--out", tmp_path / "same.skops")
    assert code == 0 and "resuming with --lr" not in err
    slow, same = read_model_file(tmp_path / "slow.skops"), read_model_file(tmp_path / "same.skops")
    assert slow.record["settings"]["lr"] == 0.05
    slow_curve, same_curve = slow.record["results"]["loss_curve"], same.record["results"]["loss_curve"]
    assert slow_curve[:10] == same_curve[:10] and len(slow_curve) == 20
    assert all(a != b for a, b in zip(slow_curve[11:], same_curve[11:]))
    # what the command trained is the pipeline continued from the checkpoint at the new rate
    ckpt.write_bytes(at_10)
    state, _ = load_state(ckpt)
    table = data.read_table(tables[0])
    pipe = make_pipeline(n_hidden=6, recipe="seed", lr=0.05, max_iter=20, random_state=5)
    pipe.fit(table.features, table.labels, classifier__resume=state)
    assert same_params(pipe[-1].params_, weights(slow)) and pipe[-1].loss_curve_ == slow_curve


def test_a_damaged_checkpoint_is_one_line_exit_2(tmp_path, capsys, iris_checkpoint):
    iris_checkpoint.write_bytes(iris_checkpoint.read_bytes()[:-100])
    capsys.readouterr()
    assert train(tmp_path, "--epochs", 4, "--checkpoint", iris_checkpoint, "--resume")[0] == 2
    err = capsys.readouterr().err
    assert err == (f"error: {iris_checkpoint}: damaged training checkpoint: the archive is truncated or "
                   f"corrupted\n")


# ------------------------------------------------------------------ SIGKILL at a random moment


KILLED_RUNS = {  # each takes a few seconds with a checkpoint every epoch
    "default recipe: adam, batch 64, cosine": ["--epochs", "60"],
    "seed recipe: full-batch gd": ["--recipe", "seed", "--epochs", "200"],
}


def command(*args):
    return [sys.executable, "-m", "residual_mlp", *args]


@pytest.mark.parametrize("name", KILLED_RUNS)
def test_a_run_killed_at_a_random_moment_resumes_bit_identical(tmp_path, name):
    run = ["train", "--dataset", "digits", "--hidden", "32", "--seed", "3", "--quiet", *KILLED_RUNS[name]]
    epochs = int(KILLED_RUNS[name][-1])
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    (tmp_path / "reference").mkdir()  # apart: the reference stages its own temporaries while it runs
    ref_out, out, ckpt = tmp_path / "reference" / "m.skops", tmp_path / "model.skops", tmp_path / "run.ckpt"
    out.write_bytes(b"an earlier model, which the killed run must leave whole")
    before = out.read_bytes()
    reference = subprocess.Popen(command(*run, "--out", str(ref_out)), env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    checkpointed = [*run, "--out", str(out), "--checkpoint", str(ckpt), "--checkpoint-every", "1"]
    victim = subprocess.Popen(command(*checkpointed), env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    target = random.randint(1, epochs // 2)  # kill during the epoch after this one, at a random moment
    try:
        deadline = time.monotonic() + 120
        reached = 0
        while reached < target:
            assert victim.poll() is None, victim.stderr.read().decode()
            assert time.monotonic() < deadline, f"the run did not reach epoch {target}"
            if ckpt.exists():
                reached = load_state(ckpt)[0].epoch  # a reader never sees a part-written checkpoint
            time.sleep(0.003)
        delay = random.uniform(0.0, 0.02)
        time.sleep(delay)
        assert victim.poll() is None, f"the run ended before the kill (epoch {reached} + {delay:.3f} s)"
        victim.send_signal(signal.SIGKILL)
        assert victim.wait(timeout=30) == -signal.SIGKILL
    finally:
        victim.kill()
        victim.stderr.close()
    state, _ = load_state(ckpt)  # whole, whenever the kill came
    assert target <= state.epoch < epochs, (target, state.epoch)
    assert out.read_bytes() == before  # the model is written only after the last epoch
    leftovers = set(os.listdir(tmp_path)) - {"reference", "model.skops", "run.ckpt"}
    assert all(name.startswith(".run.ckpt.") and name.endswith(".tmp") for name in leftovers), leftovers

    resumed = subprocess.run(command(*checkpointed, "--resume"), env=env, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming  from {ckpt} at epoch {state.epoch}" in resumed.stderr
    assert reference.wait(timeout=300) == 0, reference.stderr.read().decode()
    reference.stderr.close()
    a, b = read_model_file(ref_out), read_model_file(out)
    for W, V in zip(weights(a), weights(b)):
        assert W.dtype == V.dtype and np.array_equal(W, V), (f"killed {delay:.3f} s after checkpoint {reached}, "
                                                             f"resumed at {state.epoch}")
    assert a.record["results"]["loss_curve"] == b.record["results"]["loss_curve"]
    assert len(b.record["results"]["loss_curve"]) == epochs
    frame = data.load_dataset("digits").features
    assert np.array_equal(a.model.predict_proba(frame), b.model.predict_proba(frame))
