"""Randomly damaged inputs: the command answers with one clean `error:` line (exit 2) or a correct result.

CSV files are mutated byte by byte, line by line and cell by cell (missing-value markers): when the
bytes clearly hold a table (read with Python's csv module), `read_table` must read that table, and a
model `train` saves has its labels. Model files (skops) get bytes flipped, are truncated, have members
dropped, duplicated, swapped, renamed, retyped or shortened, and entries of their JSON schema replaced:
`read_model_file` lets only InputError out, one line naming the file, and a file that still loads after
flips or a cut holds exactly the original model. Checkpoints are damaged the same ways: `load_state`
lets only InputError out, and a checkpoint it accepts resumes. A run over a minute counts as a hang.
"""
import contextlib
import csv
import io
import json
import os
import re
import signal
import tempfile
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from residual_mlp import cli, data
from residual_mlp.saving import load_model, read_model_file

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

MISSING = [b"", b"NA", b"?", b"null", b"NaN"]  # some of data.NA_VALUES

edit = st.tuples(st.sampled_from(["insert", "delete", "replace", "drop line", "repeat line", "truncate", "missing"]),
                 st.integers(0, 10**6), st.lists(st.sampled_from(NOISE), min_size=1, max_size=4).map(bytes))


def mutate(raw, edits):
    for kind, where, noise in edits:
        if kind in ("drop line", "repeat line"):
            lines = raw.split(b"\n")
            k = where % len(lines)
            lines[k:k + 1] = [] if kind == "drop line" else [lines[k], lines[k]]
            raw = b"\n".join(lines)
            continue
        if kind == "missing":  # a cell (a label too) replaced by a missing-value marker
            lines = raw.split(b"\n")
            k = where % len(lines)
            cells = lines[k].split(b",")
            cells[where // 7 % len(cells)] = MISSING[noise[0] % len(MISSING)]
            lines[k] = b",".join(cells)
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
    *notes, last = err.splitlines() or [""]
    assert last.startswith("error: ") and "Traceback" not in err, err
    assert all(line.startswith(("note ", "          ")) for line in notes), err  # (a note's next lines)


NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")  # what the reader's parser reads as a number
LEADING_ZERO = re.compile(r"[-+]?0\d")  # a code (01234): read as text, its zero kept
NOT_FINITE = re.compile(r"[-+]?(nan|inf|infinity)", re.IGNORECASE)


def reference_table(raw, labels_needed=True):
    """What the bytes hold by the data format's rules, read with Python's csv module; or None.

    Returns (names, columns, labels): the header's names (an empty cell is "Unnamed: j"), each
    feature column as ("number", float64 array with NaN for a missing cell) when every cell that is
    not missing is a number (surrounding blanks aside) and none has a leading zero (01234: a code), else
    ("text", cells as written, None for a missing one), and the label texts exactly as written. Rows whose
    label is missing are left out
    (labels_needed=False: kept, for predict). None where the file breaks the rules (not UTF-8, a NUL
    byte, a row of another width, duplicate names, no label left), and where this simple reading
    may disagree with a full CSV parser on what is right (quote characters; infinite numbers).
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if "\x00" in text or '"' in text:
        return None
    try:
        records = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
    except csv.Error:
        return None
    if len(records) < 2:
        return None
    names = [name if name else f"Unnamed: {j}" for j, name in enumerate(records[0])]
    if len(set(names)) != len(names) or len(names) < 2:
        return None
    rows = [r for r in records[1:] if not labels_needed or r[-1] not in data.NA_VALUES]
    if any(len(r) != len(names) for r in records[1:]) or not rows:
        return None
    columns = []
    for j in range(len(names) - 1):
        cells = [r[j] for r in rows]
        present = [c.strip() for c in cells if c not in data.NA_VALUES]
        if any(NOT_FINITE.fullmatch(c) for c in present):
            return None
        if all(NUMBER.fullmatch(c) for c in present) and not any(LEADING_ZERO.match(c) for c in present):
            values = np.array([np.nan if c in data.NA_VALUES else float(c) for c in cells])
            if not np.isfinite(values[~np.isnan(values)]).all():
                return None
            columns.append(("number", values))
        else:
            columns.append(("text", [None if c in data.NA_VALUES else c for c in cells]))
    return names, columns, [r[-1] for r in rows]


def assert_table_is(table, reference):
    """read_table's Table holds what reference_table found in the same bytes."""
    names, columns, labels = reference
    assert list(table.features.columns) == names[:-1] and table.target == names[-1]
    for name, (kind, values) in zip(names, columns):
        column = table.features[name]
        if kind == "number":
            assert column.dtype.kind in "if" or column.isna().all(), (name, column.dtype)
            np.testing.assert_array_equal(column.to_numpy(dtype=np.float64, na_value=np.nan), values, err_msg=name)
        else:
            assert [None if pd.isna(v) else v for v in column.tolist()] == values, name
    assert table.labels.tolist() == labels


@FUZZ
@given(st.lists(edit, min_size=1, max_size=4), st.sampled_from([1 << 20, 64]))
def test_train_on_a_damaged_csv(edits, block_bytes):
    """A clean error, or a model of the table the bytes hold; a table they clearly hold is read as such."""
    raw = mutate(VALID, edits)
    reference = reference_table(raw)
    with tempfile.TemporaryDirectory() as folder:
        path, out = os.path.join(folder, "d.csv"), os.path.join(folder, "m.skops")
        with open(path, "wb") as f:
            f.write(raw)
        saved, data.BLOCK_BYTES = data.BLOCK_BYTES, block_bytes
        try:
            status, _, err = run(["train", "--data", path, "--epochs", "2", "--hidden", "4", "--quiet",
                                  "--out", out])
            if status != 0:
                assert_clean_error(status, err)
                assert not os.path.exists(out)
            if reference is not None:
                assert_table_is(data.read_table(path), reference)
            if status != 0:
                return
            table = data.read_table(path)
        finally:
            data.BLOCK_BYTES = saved
        classes = read_model_file(out).model[-1].classes_
        assert classes.tolist() == sorted(set(table.labels.tolist()))


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz_model")
    (folder / "d.csv").write_bytes(VALID)
    path = folder / "m.skops"
    status, _, err = run(["train", "--data", folder / "d.csv", "--epochs", "3", "--hidden", "4", "--quiet",
                          "--out", path])
    assert status == 0, err
    return str(path)


@pytest.fixture(scope="module")
def valid_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz_valid") / "valid.csv"
    path.write_bytes(VALID)
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
        pipe = load_model(model)
        reference = reference_table(raw, labels_needed=False)
        if reference is not None and all(kind == "number" for kind, _ in reference[1]):
            names, columns, _ = reference
            frame = pd.DataFrame({name: values for name, (_, values) in zip(names, columns)})
        else:  # what the whole-file reader finds: the same as predict's reading block by block
            frame = data.read_table(path, labels=False).features
        rows = out.splitlines()
        assert rows[0] == "prediction"
        assert rows[1:] == pipe.predict(frame).tolist()


model_damage = st.one_of(
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=3)
    .map(lambda flips: ("flip", flips)),
    st.integers(0, 10**6).map(lambda n: ("truncate", n)),
)


@FUZZ
@given(damage=model_damage)
def test_a_damaged_model_file(model, valid_path, damage):
    """Flipped bytes or a cut: info and predict answer with one error line, or the model as it was written."""
    damaged_bytes = damage_archive(open(model, "rb").read(), damage)
    with tempfile.TemporaryDirectory() as folder:
        damaged = os.path.join(folder, "m.skops")
        with open(damaged, "wb") as f:
            f.write(damaged_bytes)
        csv_path = os.path.join(folder, "d.csv")
        with open(csv_path, "wb") as f:
            f.write(VALID)
        for argv in (["info", "--model", damaged], ["predict", "--model", damaged, "--data", csv_path]):
            status, _, err = run(argv)
            if status != 0:
                assert_clean_error(status, err)
                continue
            # it loaded: then it holds exactly what was written (the zip's checksums cover every member)
            assert_same_model(load_model(damaged), load_model(model), valid_path)


def assert_same_model(got, want, valid_path):
    for W, W0 in zip(got[-1].params_, want[-1].params_, strict=True):
        assert W.dtype == W0.dtype and np.array_equal(W, W0)
    np.testing.assert_array_equal(got[-1].classes_, want[-1].classes_)
    frame = data.read_table(valid_path).features
    np.testing.assert_array_equal(got.predict_proba(frame), want.predict_proba(frame))


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


def _json_member(name, content):
    """The JSON record an archive member holds: a checkpoint's meta.npy (uint8 array) or skops' schema.json."""
    if name.endswith(".npy"):
        return json.loads(np.lib.format.read_array(io.BytesIO(content), allow_pickle=False).tobytes())
    return json.loads(content)


def _json_bytes(name, record):
    text = json.dumps(record).encode()
    if not name.endswith(".npy"):
        return text
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.frombuffer(text, dtype=np.uint8))
    return buffer.getvalue()


def damage_archive(raw, damage, record="meta.npy"):
    """The bytes of a zip archive (checkpoint or skops model file) after one kind of damage.

    ("flip", [(at, bits), ...]) and ("truncate", n) act on the bytes; ("member", (edit, i, j)) drops,
    duplicates, swaps, renames, retypes or shortens member i (j: the other member, or the variant);
    ("json", [(where, value), ...]) replaces (or deletes) entries of the JSON `record` member.
    """
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
        elif not name.endswith(".npy"):
            members[i] = (name, content[:len(content) - 1 - j % 3])
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
    index = next(k for k, (name, _) in enumerate(members) if name == record)
    meta = _json_member(*members[index])
    for where, value in how:
        paths = _leaf_paths(meta)
        *outer, last = paths[int(where * len(paths))]
        node = meta
        for key in outer:
            node = node[key]
        if value == "delete":
            del node[last]
        else:
            node[last] = json.loads(json.dumps(value))  # a fresh copy: no shared lists
    members[index] = (record, _json_bytes(record, meta))
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
    _load_and_resume(damage_archive(checkpoint_file, damage))


def test_every_entry_of_the_checkpoint_record_replaced_by_every_kind_of_value(checkpoint_file):
    """Exhaustive over the JSON record: each entry in turn, each odd value (or deleted)."""
    meta = _json_member("meta.npy", dict(_zip_members(checkpoint_file))["meta.npy"])
    n = len(_leaf_paths(meta))
    for k in range(n):
        for value in JSON_VALUES:
            _load_and_resume(damage_archive(checkpoint_file, ("json", [((k + 0.5) / n, value)])))


# ------------------------------------------------------------------ the model reader


archive_damage = st.one_of(
    model_damage,
    st.tuples(st.sampled_from(["drop", "duplicate", "swap", "retype", "reshape", "rename"]),
              st.integers(0, 100), st.integers(0, 100)).map(lambda edit: ("member", edit)),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.sampled_from(JSON_VALUES)), min_size=1, max_size=3)
    .map(lambda edits: ("json", edits)),
)


def _read_damaged_model(raw, model, valid_path, damage):
    """Only InputError, one line naming the file, comes out of read_model_file; and no code runs."""
    from residual_mlp.errors import InputError

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "m.skops")
        with open(path, "wb") as f:
            f.write(raw)
        try:
            with time_limit(), warnings.catch_warnings():
                warnings.simplefilter("error")  # no warning may escape the reader either
                loaded = read_model_file(path)
        except InputError as e:
            message = str(e)
            assert message.startswith(f"{path}: ") and "\n" not in message, message
            return
    assert isinstance(loaded.record, dict)
    if damage[0] in ("flip", "truncate"):  # the zip's checksums cover every member's content
        assert_same_model(loaded.model, load_model(model), valid_path)


@FUZZ
@given(damage=archive_damage)
def test_the_model_reader_on_a_damaged_file(model, valid_path, damage):
    raw = open(model, "rb").read()
    _read_damaged_model(damage_archive(raw, damage, record="schema.json"), model, valid_path, damage)


def test_each_kind_of_entry_of_the_model_schema_replaced(model, valid_path):
    """Deterministic sweep over skops' JSON schema of the model: the first entry of each distinct key
    (class, module, loader, id, content, shape, each parameter and attribute, ...) replaced by two odd
    values (or deleted), the values taken in turn. (Every entry x every value would be 47,000 reads.)"""
    raw = open(model, "rb").read()
    schema = _json_member("schema.json", dict(_zip_members(raw))["schema.json"])
    paths = _leaf_paths(schema)
    first = {}
    for k, path in enumerate(paths):
        first.setdefault(path[-1], k)
    assert len(first) > 50  # the whole pipeline's schema, not a stub
    for n, k in enumerate(first.values()):
        for value in (JSON_VALUES[n % len(JSON_VALUES)], JSON_VALUES[(n + 8) % len(JSON_VALUES)]):
            damage = ("json", [((k + 0.5) / len(paths), value)])
            _read_damaged_model(damage_archive(raw, damage, record="schema.json"), model, valid_path, damage)


def _pipeline_with(pipe, change):
    import copy

    pipe = copy.deepcopy(pipe)
    change(pipe)
    return pipe


HOSTILE_CONTENTS = {
    "classes_ a number": lambda pipe: setattr(pipe[-1], "classes_", 3),
    "classes_ a table": lambda pipe: setattr(pipe[-1], "classes_", np.zeros((3, 3))),
    "weights of one dimension": lambda pipe: setattr(pipe[-1], "params_", tuple(np.zeros(4) for _ in range(4))),
    "weights as numbers": lambda pipe: setattr(pipe[-1], "params_", (1.0, 2.0, 3.0, 4.0)),
    "weights a dict": lambda pipe: setattr(pipe[-1], "params_", {"W1": 1, "W2": 2, "W3": 3, "W4": 4}),
    "optimizer state a number": lambda pipe: setattr(pipe[-1], "_optimizer_state", 3),
    "optimizer slots of the wrong shape": lambda pipe: setattr(pipe[-1], "_optimizer_state", {
        "optimizer": "adam", "step": 1, "epoch": 1, "seed": 0, "plateau_bad": 0, "lr_scale": 1.0,
        "monitor_best": 1.0, "slots": {"exp_avg": tuple(np.zeros((2, 2)) for _ in range(4)),
                                       "exp_avg_sq": tuple(np.zeros((2, 2)) for _ in range(4))}}),
    "optimizer slots missing": lambda pipe: setattr(pipe[-1], "_optimizer_state", {
        "optimizer": "momentum", "step": 1, "epoch": 1, "seed": 0, "plateau_bad": 0, "lr_scale": 1.0,
        "monitor_best": 1.0, "slots": {}}),
    "no steps": lambda pipe: setattr(pipe, "steps", []),
    "steps a string": lambda pipe: setattr(pipe, "steps", "classifier"),
    "a step without its name": lambda pipe: setattr(pipe, "steps", [pipe.steps[0], pipe.steps[1][1]]),
}


@pytest.mark.parametrize("change", HOSTILE_CONTENTS)
def test_a_model_file_of_wrongly_shaped_contents_is_refused(model, tmp_path, change):
    """Written with skops itself (trusted types only), so only the reader's own checks can refuse them."""
    import skops.io as sio

    from residual_mlp.errors import InputError
    from residual_mlp.saving import FORMAT, FORMAT_VERSION, _for_file

    pipe = _pipeline_with(_for_file(load_model(model), False), HOSTILE_CONTENTS[change])
    path = tmp_path / "m.skops"
    path.write_bytes(sio.dumps({"format": FORMAT, "format_version": FORMAT_VERSION, "record": {}, "model": pipe}))
    with pytest.raises(InputError, match=f"^{path}: damaged model file: "):
        read_model_file(path)
