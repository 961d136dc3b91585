"""Model files: exact round trips, no code run on load, clear errors for damaged files, atomic writes."""
from __future__ import annotations

import io
import json
import os
import pickle
import stat
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from residual_mlp import cli, init_params, modelfile
from residual_mlp.errors import InputError
from residual_mlp.model import Params
from residual_mlp.modelfile import Model

D, M, C = 5, 7, 3


def make_model(dtype=np.float64, classes="int", scaled=True, names=True):
    params = init_params(D, M, C, seed=4, dtype=dtype)
    labels = {"int": np.array([-3, 7, 42]), "str": np.array(["cat", "dog", "émeu"])}[classes]
    rng = np.random.default_rng(5)
    mean = rng.normal(size=D) if scaled else None
    scale = rng.uniform(0.5, 2.0, size=D) if scaled else None
    return Model(params, labels, [f"f{i}" for i in range(D)] if names else None, mean, scale,
                 settings={"lr": 0.1, "hidden": M, "optimizer": "adam", "batch_size": None},
                 results={"test_accuracy": 0.875, "loss_curve": [1.5, 0.25, 0.125],
                          "stop_reason": "max_epochs"})


def raw_npz(path, arrays, meta=None, allow_pickle=False):
    """Write an .npz with exactly these arrays (and a JSON meta record), bypassing modelfile.save."""
    arrays = dict(arrays)
    if meta is not None:
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, value in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=allow_pickle)
            z.writestr(f"{name}.npy", member.getvalue())
    with open(path, "wb") as f:
        f.write(buffer.getvalue())


def good_meta(**change):
    meta = {"format": "residual_mlp.model", "format_version": 1, "dims": {"D": D, "M": M, "C": C},
            "dtype": "float64", "feature_names": None, "scaled": False, "settings": {}, "results": {}}
    meta.update(change)
    return meta


def good_arrays(**change):
    arrays = dict(zip(Params._fields, init_params(D, M, C, seed=1)))
    arrays["classes"] = np.arange(C)
    arrays.update(change)
    return {k: v for k, v in arrays.items() if v is not None}


def refused(path, *words):
    """Loading `path` raises InputError naming the file and saying each of `words`."""
    with pytest.raises(InputError) as info:
        modelfile.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}:"), message
    assert "\n" not in message
    for word in words:
        assert word in message, message
    return message


# ------------------------------------------------------------------ round trip


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("classes", ["int", "str"])
@pytest.mark.parametrize("scaled,names", [(True, True), (False, False), (True, False), (False, True)])
def test_round_trip_keeps_every_field_exactly(tmp_path, dtype, classes, scaled, names):
    m = make_model(dtype, classes, scaled, names)
    path = tmp_path / "m.npz"
    modelfile.save(path, m)
    back = modelfile.load(path)
    for W, V in zip(m.params, back.params):
        assert V.dtype == dtype and V.shape == W.shape
        assert np.array_equal(V, W)
    assert back.classes.dtype.kind == m.classes.dtype.kind
    assert back.classes.tolist() == m.classes.tolist()
    assert back.feature_names == m.feature_names
    if scaled:
        assert np.array_equal(back.mean, m.mean) and np.array_equal(back.scale, m.scale)
    else:
        assert back.mean is None and back.scale is None
    assert back.settings == m.settings and back.results == m.results
    X = np.random.default_rng(0).normal(size=(9, D))
    assert np.array_equal(back.predict_proba(X), m.predict_proba(X))
    assert back.predict(X).tolist() == m.predict(X).tolist()


def test_object_classes_are_saved_as_strings(tmp_path):
    m = make_model()
    m.classes = np.array(["a", 2, 3.5], dtype=object)
    modelfile.save(tmp_path / "m.npz", m)
    assert modelfile.load(tmp_path / "m.npz").classes.tolist() == ["a", "2", "3.5"]


def test_new_file_gets_plain_permissions_and_a_replaced_one_keeps_its_own(tmp_path):
    path = tmp_path / "m.npz"
    old = os.umask(0o022)
    try:
        modelfile.save(path, make_model())
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    os.chmod(path, 0o600)
    modelfile.save(path, make_model())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


# ------------------------------------------------------------------ loading runs no code


class _Trap:
    """Unpickling this creates a file: if the file appears, loading ran code from the model file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_an_object_array_with_a_pickle_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code-ran"
    trap = np.empty(1, dtype=object)
    trap[0] = _Trap(marker)
    for member in ("W1", "classes", "meta"):
        path = tmp_path / f"trap-{member}.npz"
        arrays = good_arrays(**{member: trap})
        raw_npz(path, arrays, None if member == "meta" else good_meta(), allow_pickle=True)
        refused(path)
        assert not marker.exists()


def test_a_plain_pickle_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "m.npz"
    path.write_bytes(pickle.dumps({"W1": _Trap(marker)}))
    refused(path, "not a residual_mlp model file")
    assert not marker.exists()


# ------------------------------------------------------------------ damaged and foreign files


def test_missing_file_and_directory(tmp_path):
    refused(tmp_path / "absent.npz", "no such model file")
    refused(tmp_path, "is a directory")


def test_newer_format_version_asks_for_an_upgrade(tmp_path):
    path = tmp_path / "m.npz"
    raw_npz(path, good_arrays(), good_meta(format_version=modelfile.FORMAT_VERSION + 1))
    refused(path, f"version {modelfile.FORMAT_VERSION + 1}", "newer", "upgrade")


@pytest.mark.parametrize("version", [0, -1, "1", 1.5, None, True])
def test_invalid_format_version(tmp_path, version):
    path = tmp_path / "m.npz"
    raw_npz(path, good_arrays(), good_meta(format_version=version))
    refused(path, "format version")


def test_a_valid_hand_written_file_loads(tmp_path):
    """The fixtures below break one thing each in this file, which is itself fine."""
    path = tmp_path / "m.npz"
    raw_npz(path, good_arrays(), good_meta())
    assert modelfile.load(path).dims == (D, M, C)


@pytest.mark.parametrize("keep", [0, 1, 30, 100, 0.5, -22, -1])
def test_truncated_file(tmp_path, keep):
    path = tmp_path / "m.npz"
    modelfile.save(path, make_model())
    data = path.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    path.write_bytes(data[:n])
    refused(path)


def test_random_bytes_and_text(tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    refused(path, "not a residual_mlp model file")
    path.write_text("x,y\n1,2\n")
    refused(path, "not a residual_mlp model file")


def test_a_single_npy_array_is_not_a_model(tmp_path):
    path = tmp_path / "m.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros((3, 3)))
    refused(path, "not a residual_mlp model file")


def test_a_zip_that_is_not_a_model(tmp_path):
    path = tmp_path / "m.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    refused(path, "not a residual_mlp model file")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("meta", "{}")  # a member that is no .npy array
    refused(path, "not a residual_mlp model file")


def test_an_npz_of_other_arrays_is_not_a_model(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, X=np.zeros((4, 2)), y=np.arange(4))
    refused(path, "no 'meta' record")
    raw_npz(path, good_arrays(), {"format": "something.else", "format_version": 1})
    refused(path, "not a residual_mlp model file")
    raw_npz(path, {"meta": np.frombuffer(b"\xff\xfe{", dtype=np.uint8)})
    refused(path, "'meta' record")


def test_a_checkpoint_is_not_a_model(tmp_path):
    path = tmp_path / "c.npz"
    raw_npz(path, good_arrays(), {"format": "residual_mlp.checkpoint", "format_version": 1})
    refused(path, "training checkpoint, not a model file")


@pytest.mark.parametrize("missing", ["W1", "W3", "W4", "classes"])
def test_missing_arrays_are_named(tmp_path, missing):
    path = tmp_path / "m.npz"
    raw_npz(path, good_arrays(**{missing: None}), good_meta())
    refused(path, "damaged model file", missing)


@pytest.mark.parametrize("change", [
    {"W2": np.zeros((D, M))},                 # transposed
    {"W3": np.zeros((M, M + 1))},
    {"W4": np.zeros(M)},                      # not a matrix
    {"W1": np.float64(1.0)},                  # 0-d
    {"W1": np.zeros((0, 0)), "W2": np.zeros((M, 0))},
])
def test_weight_shapes_that_do_not_fit(tmp_path, change):
    path = tmp_path / "m.npz"
    raw_npz(path, good_arrays(**change), good_meta())
    refused(path, "damaged model file")


@pytest.mark.parametrize("change,words", [
    ({"W1": np.zeros((D, D), dtype=np.int64)}, ["float32 or all float64"]),
    ({"W3": np.zeros((M, M), dtype=np.float32)}, ["float32 or all float64"]),
    ({"classes": np.arange(C + 1)}, ["classes"]),
    ({"classes": np.array([1, 1, 2])}, ["classes repeat"]),
    ({"classes": np.zeros(C, dtype="complex128")}, ["classes"]),
    ({"mean": np.zeros(D)}, ["scaling"]),
])
def test_inconsistent_arrays(tmp_path, change, words):
    path = tmp_path / "m.npz"
    raw_npz(path, good_arrays(**change), good_meta())
    refused(path, "damaged model file", *words)


@pytest.mark.parametrize("change", [
    {"dims": {"D": D, "M": M + 1, "C": C}},
    {"feature_names": ["a", "b"]},
    {"feature_names": [1, 2, 3, 4, 5]},
    {"settings": [1, 2]},
    {"scaled": True},
])
def test_inconsistent_meta(tmp_path, change):
    path = tmp_path / "m.npz"
    raw_npz(path, good_arrays(), good_meta(**change))
    refused(path, "damaged model file")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights(tmp_path, bad):
    path = tmp_path / "m.npz"
    W4 = good_arrays()["W4"].copy()
    W4[1, 2] = bad
    raw_npz(path, good_arrays(W4=W4), good_meta())
    refused(path, "damaged model file", "not all finite")
    scale = np.ones(D)
    scale[0] = bad
    raw_npz(path, good_arrays(mean=np.zeros(D), scale=scale), good_meta(scaled=True))
    refused(path, "damaged model file", "scale")


def test_saving_a_model_that_could_not_be_loaded_is_refused_before_writing(tmp_path):
    path = tmp_path / "m.npz"
    modelfile.save(path, make_model())
    before = path.read_bytes()
    m = make_model()
    m.params.W2[0, 0] = np.nan
    with pytest.raises(ValueError, match="not all finite"):
        modelfile.save(path, m)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.npz"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_corrupted_byte_gives_a_clear_error_or_the_same_model(tmp_path, data):
    """Flip one byte anywhere: the file is refused with InputError, or (for bytes the format does not
    read, like zip timestamps) loads as exactly the original model; never garbage, never a traceback."""
    path = tmp_path / "m.npz"
    m = make_model(np.float32, "str")
    modelfile.save(path, m)
    raw = bytearray(path.read_bytes())
    where = data.draw(st.integers(0, len(raw) - 1))
    raw[where] ^= data.draw(st.integers(1, 255))
    path.write_bytes(bytes(raw))
    try:
        back = modelfile.load(path)
    except InputError as e:
        assert str(e).startswith(f"{path}:")
        return
    assert all(np.array_equal(W, V) and W.dtype == V.dtype for W, V in zip(m.params, back.params))
    assert back.classes.tolist() == m.classes.tolist()
    assert np.array_equal(back.mean, m.mean) and np.array_equal(back.scale, m.scale)
    assert (back.feature_names, back.settings, back.results) == (m.feature_names, m.settings, m.results)


# ------------------------------------------------------------------ atomic writes


def _fail(*args, **kwargs):
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize("where", ["replace", "fsync", "write"])
def test_a_failed_save_keeps_the_existing_file_and_leaves_no_temporary(tmp_path, monkeypatch, where):
    path = tmp_path / "m.npz"
    modelfile.save(path, make_model(np.float32))
    before = path.read_bytes()
    if where == "replace":
        monkeypatch.setattr(modelfile.os, "replace", _fail)
    elif where == "fsync":
        monkeypatch.setattr(modelfile.os, "fsync", _fail)
    else:  # the data stop half-way, as on a full disk
        real_fdopen = os.fdopen

        class HalfWriter(io.FileIO):
            def write(self, b):
                super().write(bytes(b)[: len(b) // 2])
                _fail()

        def fdopen(fd, mode="r", *args, **kwargs):
            return HalfWriter(fd, "wb") if "w" in mode else real_fdopen(fd, mode, *args, **kwargs)

        monkeypatch.setattr(modelfile.os, "fdopen", fdopen)
    with pytest.raises(OSError, match="No space left"):
        modelfile.save(path, make_model(np.float64, "str"))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.npz"]
    assert modelfile.load(path).params.W1.dtype == np.float32


def test_an_interrupted_save_keeps_the_existing_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    modelfile.save(path, make_model())
    before = path.read_bytes()

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(modelfile.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        modelfile.save(path, make_model(np.float32))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.npz"]


def test_a_training_run_that_fails_leaves_the_existing_model_byte_identical(tmp_path, capsys, monkeypatch):
    out = tmp_path / "model.npz"
    checkpoint = tmp_path / "run.ckpt"
    common = ["train", "--dataset", "iris", "--hidden", "8", "--epochs", "4", "--quiet", "--out", str(out),
              "--checkpoint", str(checkpoint), "--checkpoint-every", "2"]
    assert cli.main(common) == 0
    before = out.read_bytes()
    capsys.readouterr()
    # Fails after loading the data, when the checkpoint's settings are checked.
    assert cli.main(common + ["--hidden", "9", "--resume"]) == 2  # another width: refused
    assert "error: --resume" in capsys.readouterr().err
    assert out.read_bytes() == before
    # Fails in the middle of training, when the second checkpoint cannot be written.
    from residual_mlp import checkpoint as checkpoint_module
    real_save = checkpoint_module.save_state
    calls = []

    def save_then_fail(path, state, config):
        calls.append(state.epoch)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_save(path, state, config)

    monkeypatch.setattr(checkpoint_module, "save_state", save_then_fail)
    assert cli.main(common + ["--lr", "0.5"]) == 2
    assert calls == [2, 4]
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot write the checkpoint {checkpoint}: No space left"), err
    assert out.read_bytes() == before


def _damage(path, how, tmp_path):
    modelfile.save(path, make_model())
    if how == "truncated":
        path.write_bytes(path.read_bytes()[:-40])
    elif how == "random bytes":
        path.write_bytes(np.random.default_rng(2).bytes(777))
    elif how == "newer version":
        raw_npz(path, good_arrays(), good_meta(format_version=modelfile.FORMAT_VERSION + 1))
    elif how == "missing array":
        raw_npz(path, good_arrays(W2=None), good_meta())
    elif how == "non-finite weights":
        raw_npz(path, good_arrays(W1=np.full((D, D), np.nan)), good_meta())
    elif how == "pickled object":
        trap = np.empty(1, dtype=object)
        trap[0] = _Trap(tmp_path / "code-ran")
        raw_npz(path, good_arrays(W3=trap), good_meta(), allow_pickle=True)
    elif how == "checkpoint":
        raw_npz(path, good_arrays(), {"format": "residual_mlp.checkpoint", "format_version": 1})
    elif how == "absent":
        path.unlink()


@pytest.mark.parametrize("how,said", [
    ("truncated", "damaged model file: the archive is truncated or corrupted"),
    ("random bytes", "not a residual_mlp model file"),
    ("newer version", "newer than this residual_mlp reads"),
    ("missing array", "damaged model file: the arrays W2 are missing"),
    ("non-finite weights", "damaged model file: the weights are not all finite"),
    ("pickled object", "damaged model file, or not a residual_mlp model file"),
    ("checkpoint", "this is a residual_mlp training checkpoint, not a model file"),
    ("absent", "no such model file"),
])
@pytest.mark.parametrize("command", ["info", "predict"])
def test_the_command_line_reports_a_bad_model_file_in_one_line(tmp_path, capsys, how, said, command):
    path = tmp_path / "model.npz"
    _damage(path, how, tmp_path)
    rows = tmp_path / "rows.csv"
    rows.write_text(",".join(f"f{i}" for i in range(D)) + "\n" + ",".join(["0.5"] * D) + "\n")
    argv = {"info": ["info", "--model", str(path)],
            "predict": ["predict", "--model", str(path), "--data", str(rows),
                        "--out", str(tmp_path / "p.csv")]}
    assert cli.main(argv[command]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: {path}: ") and captured.err.count("\n") == 1, captured.err
    assert said in captured.err
    assert not (tmp_path / "code-ran").exists() and not (tmp_path / "p.csv").exists()
