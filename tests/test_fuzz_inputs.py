"""Randomly damaged inputs: the command answers with one clean `error:` line (exit 2) or a correct result.

CSV files are mutated byte by byte and line by line; when `train` accepts one, the table it read must
be the one Python's csv module and float() find in the same bytes. Model files get bytes flipped and
are truncated; when one still loads, it must hold the original weights. A run that takes more than
a minute counts as a hang.
"""
import contextlib
import csv
import io
import json
import math
import os
import signal
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from residual_mlp import cli, data, modelfile

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def valid_csv():
    rng = np.random.default_rng(0)
    y = np.arange(30) % 3
    X = rng.normal(size=(30, 3)).round(3) + y[:, None]
    lines = ["f0,f1,f2,label"] + [",".join([*map(str, row), "abc"[k]]) for row, k in zip(X.tolist(), y)]
    return ("\n".join(lines) + "\n").encode()


VALID = valid_csv()
NOISE = list(b',\n\r"\x00 .-+e0123456789abnfi_\xff\xc3')

edit = st.tuples(st.sampled_from(["insert", "delete", "replace", "drop line", "repeat line", "truncate"]),
                 st.integers(0, 10**6), st.lists(st.sampled_from(NOISE), min_size=1, max_size=4).map(bytes))


def mutate(raw, edits):
    for kind, where, noise in edits:
        if kind in ("drop line", "repeat line"):
            lines = raw.split(b"\n")
            k = where % len(lines)
            lines[k:k + 1] = [] if kind == "drop line" else [lines[k], lines[k]]
            raw = b"\n".join(lines)
            continue
        at = where % (len(raw) + 1)
        if kind == "insert":
            raw = raw[:at] + noise + raw[at:]
        elif kind == "delete":
            raw = raw[:at] + raw[at + len(noise):]
        elif kind == "replace":
            raw = raw[:at] + noise + raw[at + len(noise):]
        else:
            raw = raw[:at]
    return raw


class Hung(BaseException):
    """Not an Exception, so that no handler in the code under test can take it for bad input."""


@contextlib.contextmanager
def time_limit(seconds=60):
    def hung(signum, frame):
        raise Hung(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run(argv):
    """(status, stdout, stderr) of the command run in-process."""
    out, err = io.StringIO(), io.StringIO()
    with time_limit(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


def assert_clean_error(status, err):
    assert status == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err


def reference_table(raw, labels_needed=True):
    """(X, labels) that the bytes hold by the rules of the data format, read with the csv module; or None.

    The last column holds the labels; with labels_needed=False (predict) its content does not matter.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if "\x00" in text:
        return None
    try:
        records = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
    except csv.Error:
        return None
    if len(records) < 2:
        return None
    header = [name.strip() for name in records[0]]
    if len(set(header)) != len(header) or len(header) < 2:
        return None
    X, labels = [], []
    for record in records[1:]:
        if len(record) != len(header):
            return None
        cells = [c.strip() for c in record]
        try:
            row = [float(c) for c in cells[:-1] if "_" not in c]
        except ValueError:
            return None
        if len(row) != len(header) - 1 or not all(math.isfinite(v) for v in row):
            return None
        if labels_needed and not cells[-1]:
            return None
        X.append(row)
        labels.append(cells[-1])
    for kind in (int, float):
        try:
            return np.array(X), np.array([kind(v) for v in labels])
        except ValueError:
            continue
    return np.array(X), np.array(labels)


@FUZZ
@given(st.lists(edit, min_size=1, max_size=4), st.sampled_from([8 << 20, 64]))
def test_train_on_a_damaged_csv(edits, block_bytes):
    raw = mutate(VALID, edits)
    with tempfile.TemporaryDirectory() as folder:
        path, out = os.path.join(folder, "d.csv"), os.path.join(folder, "m.npz")
        with open(path, "wb") as f:
            f.write(raw)
        saved, data.BLOCK_BYTES = data.BLOCK_BYTES, block_bytes
        try:
            status, _, err = run(["train", "--data", path, "--epochs", "2", "--hidden", "4", "--quiet",
                                  "--out", out])
            if status != 0:
                assert_clean_error(status, err)
                assert not os.path.exists(out)
                return
            X, labels, _ = data.load_table(path)
        finally:
            data.BLOCK_BYTES = saved
        reference = reference_table(raw)
        assert reference is not None, "accepted a file that breaks the format's rules"
        np.testing.assert_array_equal(X, reference[0])
        np.testing.assert_array_equal(labels, reference[1])
        assert modelfile.load(out).classes.tolist() == np.unique(reference[1]).tolist()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz_model")
    (folder / "d.csv").write_bytes(VALID)
    path = folder / "m.npz"
    status, _, err = run(["train", "--data", folder / "d.csv", "--epochs", "3", "--hidden", "4", "--quiet",
                          "--out", path])
    assert status == 0, err
    return str(path)


@FUZZ
@given(edits=st.lists(edit, min_size=1, max_size=3))
def test_predict_on_a_damaged_csv(model, edits):
    """Without labels to train on, predict still answers every damaged file cleanly or correctly."""
    raw = mutate(VALID, edits)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "d.csv")
        with open(path, "wb") as f:
            f.write(raw)
        status, out, err = run(["predict", "--model", model, "--data", path])
        if status != 0:
            assert_clean_error(status, err)
            return
        reference = reference_table(raw, labels_needed=False)
        assert reference is not None, "accepted a file that breaks the format's rules"
        rows = out.splitlines()
        assert rows[0] == "prediction"
        assert rows[1:] == modelfile.load(model).predict(reference[0]).tolist()


model_damage = st.one_of(
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=3)
    .map(lambda flips: ("flip", flips)),
    st.integers(0, 10**6).map(lambda n: ("truncate", n)),
)


@FUZZ
@given(damage=model_damage)
def test_a_damaged_model_file(model, damage):
    kind, how = damage
    original = open(model, "rb").read()
    raw = bytearray(original)
    if kind == "flip":
        for at, bits in how:
            raw[at % len(raw)] ^= bits
    else:
        del raw[how % len(raw):]
    with tempfile.TemporaryDirectory() as folder:
        damaged = os.path.join(folder, "m.npz")
        with open(damaged, "wb") as f:
            f.write(bytes(raw))
        csv_path = os.path.join(folder, "d.csv")
        with open(csv_path, "wb") as f:
            f.write(VALID)
        for argv in (["info", "--model", damaged], ["predict", "--model", damaged, "--data", csv_path]):
            status, _, err = run(argv)
            if status != 0:
                assert_clean_error(status, err)
                continue
            # it loaded: then it holds exactly what was written
            got, want = modelfile.load(damaged), modelfile.load(model)
            for W, W0 in zip(got.params, want.params):
                np.testing.assert_array_equal(W, W0)
            np.testing.assert_array_equal(got.classes, want.classes)
            np.testing.assert_array_equal(got.mean, want.mean)
            np.testing.assert_array_equal(got.scale, want.scale)


# ------------------------------------------------------------------ checkpoints


def _checkpoint_data():
    rng = np.random.default_rng(1)
    y = np.arange(40) % 3
    return rng.normal(size=(40, 4)) + y[:, None], y


CHECKPOINT_RUN = {"optimizer": "adam", "lr": 0.01, "batch_size": 16, "validation_fraction": 0.25,
                  "patience": 5, "seed": 2}


@pytest.fixture(scope="module")
def checkpoint_file(tmp_path_factory):
    from residual_mlp import checkpoint, fit, init_params

    X, y = _checkpoint_data()
    _, _, state = fit(init_params(4, 5, 3, seed=0), X, y, epochs=3, return_state=True, **CHECKPOINT_RUN)
    path = tmp_path_factory.mktemp("fuzz_checkpoint") / "run.ckpt"
    checkpoint.save_state(path, state, {"options": {"lr": 0.01}})
    return path.read_bytes()


def _zip_members(raw):
    import zipfile

    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        return [(info.filename, z.read(info)) for info in z.infolist()]


def _zip_bytes(members):
    import zipfile

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names
        with zipfile.ZipFile(buffer, "w") as z:
            for name, content in members:
                z.writestr(name, content)
    return buffer.getvalue()


def _leaf_paths(record, prefix=()):
    if isinstance(record, dict):
        items = record.items()
    elif isinstance(record, list):
        items = enumerate(record)
    else:
        return [prefix]
    paths = [prefix] if prefix else []
    for key, value in items:
        paths += _leaf_paths(value, (*prefix, key))
    return paths


JSON_VALUES = [None, "x", "1", -1, 0, 1, 2.5, 10**30, 1e308, float("nan"), float("inf"), True, [], {}, [1.0, "a"],
               {"a": 1}, "delete"]

checkpoint_damage = st.one_of(
    model_damage,
    st.tuples(st.sampled_from(["drop", "duplicate", "swap", "retype", "reshape", "rename"]),
              st.integers(0, 100), st.integers(0, 100)).map(lambda edit: ("member", edit)),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.sampled_from(JSON_VALUES)), min_size=1, max_size=3)
    .map(lambda edits: ("json", edits)),
)


def _damage_checkpoint(raw, damage):
    kind, how = damage
    if kind == "flip":
        raw = bytearray(raw)
        for at, bits in how:
            raw[at % len(raw)] ^= bits
        return bytes(raw)
    if kind == "truncate":
        return raw[:how % len(raw)]
    members = _zip_members(raw)
    if kind == "member":
        edit, i, j = how
        i, j = i % len(members), j % len(members)
        name, content = members[i]
        if edit == "drop":
            del members[i]
        elif edit == "duplicate":
            members.append((name, members[j][1]))
        elif edit == "swap":
            members[i], members[j] = (name, members[j][1]), (members[j][0], content)
        elif edit == "rename":
            members[i] = (members[j][0] if i != j else name + ".x", content)
        else:
            array = np.lib.format.read_array(io.BytesIO(content), allow_pickle=False)
            if edit == "retype":
                array = array.astype([np.float32, np.int64, np.complex64, "U3", np.bool_][j % 5])
            else:
                array = array.reshape(-1)[: max(1, array.size - 1 - j % 3)]
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array)
            members[i] = (name, buffer.getvalue())
        return _zip_bytes(members)
    # JSON edits of the meta record
    index = next(k for k, (name, _) in enumerate(members) if name == "meta.npy")
    meta = json.loads(np.lib.format.read_array(io.BytesIO(members[index][1])).tobytes())
    for where, value in how:
        paths = _leaf_paths(meta)
        *outer, last = paths[int(where * len(paths))]
        record = meta
        for key in outer:
            record = record[key]
        if value == "delete":
            del record[last]
        else:
            record[last] = json.loads(json.dumps(value))  # a fresh copy: no shared lists
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    members[index] = ("meta.npy", buffer.getvalue())
    return _zip_bytes(members)


def _load_and_resume(raw):
    """Only InputError comes out of load_state; a checkpoint it accepts resumes without an exception."""
    from residual_mlp import checkpoint, fit
    from residual_mlp.errors import InputError

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "run.ckpt")
        with open(path, "wb") as f:
            f.write(raw)
        try:
            with time_limit():
                state, config = checkpoint.load_state(path, optimizer="adam")
        except InputError as e:
            message = str(e)
            assert message.startswith(f"{path}: ") and "\n" not in message, message
            return
    assert isinstance(config, dict)
    X, y = _checkpoint_data()
    if state.params.W1.shape != (4, 4) or state.params.W4.shape[0] != 3:
        return  # a whole checkpoint of another network: the caller compares dimensions
    with time_limit(), warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy warning may escape fit either
        _, history = fit(state.params, X, y, epochs=state.epoch + 1, resume=state, **CHECKPOINT_RUN)
    assert history.stop_reason


@FUZZ
@given(damage=checkpoint_damage)
def test_a_damaged_checkpoint(checkpoint_file, damage):
    _load_and_resume(_damage_checkpoint(checkpoint_file, damage))


def test_every_entry_of_the_checkpoint_record_replaced_by_every_kind_of_value(checkpoint_file):
    """Exhaustive over the JSON record: each entry in turn, each odd value (or deleted)."""
    meta = json.loads(np.lib.format.read_array(io.BytesIO(dict(_zip_members(checkpoint_file))["meta.npy"])).tobytes())
    n = len(_leaf_paths(meta))
    for k in range(n):
        for value in JSON_VALUES:
            _load_and_resume(_damage_checkpoint(checkpoint_file, ("json", [((k + 0.5) / n, value)])))
