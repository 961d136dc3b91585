"""Hostile archives: sizes are checked from the zip directory and the .npy headers before anything is
decompressed or allocated; non-regular files and read errors end in one InputError line."""
from __future__ import annotations

import errno
import io
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import warnings
import zipfile

import numpy as np
import pytest

from residual_mlp import archive, init_params, modelfile, resources
from residual_mlp.errors import InputError
from residual_mlp.model import Params

D, M, C = 5, 7, 3


def npy(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=False)
    return buffer.getvalue()


def meta_bytes(**change):
    meta = {"format": "residual_mlp.model", "format_version": 1, "dims": {"D": D, "M": M, "C": C},
            "dtype": "float64", "feature_names": None, "scaled": False, "settings": {}, "results": {}}
    meta.update(change)
    return npy(np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))


def members(**change):
    """The members of a valid model file by name (`name.npy`: bytes); None drops one."""
    out = {f"{k}.npy": npy(W) for k, W in zip(Params._fields, init_params(D, M, C, seed=1))}
    out["classes.npy"] = npy(np.arange(C))
    out["meta.npy"] = meta_bytes()
    out.update(change)
    return {k: v for k, v in out.items() if v is not None}


def write_zip(path, content, compression=zipfile.ZIP_STORED):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names
        with zipfile.ZipFile(path, "w", compression) as z:
            for name, data in (content.items() if isinstance(content, dict) else content):
                z.writestr(name, data)


def set_declared_size(path, member, size):
    """Patch the uncompressed size recorded for `member` in the local header and the directory."""
    with open(path, "rb") as f:
        raw = bytearray(f.read())
    name = member.encode()
    at = raw.find(b"PK\x01\x02")
    while at >= 0:
        n = struct.unpack_from("<H", raw, at + 28)[0]
        if raw[at + 46:at + 46 + n] == name:
            struct.pack_into("<I", raw, at + 24, size)
            local = struct.unpack_from("<I", raw, at + 42)[0]
            struct.pack_into("<I", raw, local + 22, size)
        at = raw.find(b"PK\x01\x02", at + 4)
    with open(path, "wb") as f:
        f.write(bytes(raw))


def huge_npy_header(shape):
    """A .npy header of float64 with the given shape (no data)."""
    header = np.lib.format.header_data_from_array_1_0(np.zeros((2, 2)))
    header["shape"] = shape
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def refused(path, *words):
    with pytest.raises(InputError) as info:
        modelfile.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    for word in words:
        assert word in message, message
    return message


def test_the_valid_archive_loads(tmp_path):
    write_zip(tmp_path / "m.npz", members())
    assert modelfile.load(tmp_path / "m.npz").dims == (D, M, C)
    write_zip(tmp_path / "m.npz", members(), zipfile.ZIP_DEFLATED)  # compressed by hand: fine too
    assert modelfile.load(tmp_path / "m.npz").dims == (D, M, C)


def test_a_zip_bomb_is_refused_from_its_directory(tmp_path):
    """5 KB that declares 3 GB: more than deflate can produce from 5 KB, and more than the dims allow."""
    path = tmp_path / "bomb.npz"
    write_zip(path, members(**{"W1.npy": b"\0" * (5 << 20)}), zipfile.ZIP_DEFLATED)
    set_declared_size(path, "W1.npy", 3 << 30)
    assert path.stat().st_size < 10_000
    refused(path, "'W1.npy' declares 3.0 GiB", "more than deflate can produce")
    # honest about its ratio, and still far more than a 5-7-3 network holds
    write_zip(path, members(**{"W1.npy": b"\0" * (5 << 20)}), zipfile.ZIP_DEFLATED)
    refused(path, "'W1.npy' declares 5.0 MiB", "more than the", "its dimensions allow")


def test_an_npy_header_that_declares_a_huge_shape_is_refused_before_allocating(tmp_path):
    path = tmp_path / "m.npz"
    huge = huge_npy_header((60000, 60000)) + bytes(32)  # 27 GiB declared, 32 bytes of data
    write_zip(path, members(**{"W1.npy": huge}))
    refused(path, "'W1'", "shape (60000, 60000)", "larger than its dimensions allow")
    # the record claims the dimensions too: the member is far smaller than the shape
    write_zip(path, members(**{"W1.npy": huge, "meta.npy": meta_bytes(dims={"D": 60000, "M": M, "C": C})}))
    refused(path, "'W1'", "does not fill its member")


def test_memory_stays_bounded_on_hostile_archives(tmp_path):
    """Each hostile file is refused by a fresh interpreter whose peak memory stays near its baseline."""
    bomb = tmp_path / "bomb.npz"
    write_zip(bomb, members(**{"W1.npy": b"\0" * (5 << 20)}), zipfile.ZIP_DEFLATED)
    set_declared_size(bomb, "W1.npy", 3 << 30)
    shape = tmp_path / "shape.npz"
    write_zip(shape, members(**{"W1.npy": huge_npy_header((60000, 60000)) + bytes(32),
                                "meta.npy": meta_bytes(dims={"D": 60000, "M": M, "C": C})}))
    code = textwrap.dedent("""
        import resource, sys
        from residual_mlp import modelfile
        from residual_mlp.errors import InputError
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for path in sys.argv[1:]:
            try:
                modelfile.load(path)
            except InputError:
                pass
            else:
                raise SystemExit("accepted " + path)
        print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-c", code, str(bomb), str(shape)], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    before, after = map(int, done.stdout.split())  # KiB
    print(f"peak resident memory {before / 1024:.0f} MiB before, {after / 1024:.0f} MiB after")
    assert after - before < 50 * 1024  # 3 GiB and 27 GiB declared


def test_duplicate_members_are_refused(tmp_path):
    path = tmp_path / "m.npz"
    content = list(members().items()) + [("W1.npy", npy(np.ones((D, D))))]
    write_zip(path, content)
    refused(path, "'W1.npy' appears twice")


def test_too_many_members(tmp_path):
    path = tmp_path / "m.npz"
    write_zip(path, members(**{f"x{k}.npy": npy(np.zeros(1)) for k in range(archive.MAX_MEMBERS)}))
    refused(path, "members, more than the 64")


@pytest.mark.parametrize("name", ["readme.txt", "W1", "sub/../x.npy.bak"])
def test_members_that_are_not_npy_arrays(tmp_path, name):
    path = tmp_path / "m.npz"
    write_zip(path, members(**{name: b"hello"}))
    refused(path, "not a residual_mlp model file", "not an array")


@pytest.mark.parametrize("array, words", [
    (np.zeros(C, dtype="complex128"), ["complex128"]),
    (np.zeros(C, dtype="S4"), ["|S4"]),
    (np.zeros(C, dtype="datetime64[s]"), ["datetime64"]),
    (np.zeros(C, dtype=[("a", "f8"), ("b", "i4")]), ["'classes'"]),
    (np.zeros(C, dtype="f16") if hasattr(np, "float128") else np.zeros(C, dtype="c8"), ["'classes'"]),
    (np.array(["x" * (archive.MAX_LABEL_CHARS + 1)] * C), ["'classes'"]),
])
def test_types_no_model_holds_are_refused(tmp_path, array, words):
    path = tmp_path / "m.npz"
    write_zip(path, members(**{"classes.npy": npy(array)}))
    refused(path, "damaged model file", *words)


def test_an_object_array_is_refused_by_its_header(tmp_path):
    path = tmp_path / "m.npz"
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array([1, "a", None], dtype=object), allow_pickle=True)
    write_zip(path, members(**{"classes.npy": buffer.getvalue()}))
    refused(path, "'classes' holds Python objects")


def test_a_meta_record_above_its_bound_is_refused_unread(tmp_path):
    path = tmp_path / "m.npz"
    write_zip(path, members(**{"meta.npy": b"\0" * (archive.MAX_META_BYTES + archive.NPY_HEADER_BYTES + 1)}),
              zipfile.ZIP_DEFLATED)
    refused(path, "'meta' record declares", "more than the 16.0 MiB")


@pytest.mark.parametrize("meta", [{"dims": None}, {"dims": {"D": 5, "M": "7", "C": 3}},
                                  {"dims": {"D": 0, "M": 7, "C": 3}},
                                  {"dims": {"D": True, "M": 7, "C": 3}}, {"dtype": 64}])
def test_the_dimensions_must_be_recorded(tmp_path, meta):
    path = tmp_path / "m.npz"
    write_zip(path, members(**{"meta.npy": meta_bytes(**meta)}))
    refused(path, "damaged model file")


def test_an_array_shorter_than_its_header_says(tmp_path):
    path = tmp_path / "m.npz"
    write_zip(path, members(**{"W2.npy": npy(np.zeros((M, D)))[:-8]}))
    refused(path, "'W2' does not fill its member")


def test_an_unknown_compression_and_an_encrypted_member(tmp_path):
    path = tmp_path / "m.npz"
    write_zip(path, members(), zipfile.ZIP_BZIP2)
    refused(path, "unsupported compression")
    write_zip(path, members())
    raw = bytearray(path.read_bytes())
    at = raw.find(b"PK\x01\x02")
    raw[at + 8] |= 1  # the first member's "encrypted" flag, in the directory
    path.write_bytes(bytes(raw))
    refused(path, "is encrypted")


def test_corrupted_compressed_data(tmp_path):
    path = tmp_path / "m.npz"
    write_zip(path, members(**{"W1.npy": npy(np.random.default_rng(0).normal(size=(D, D)))}), zipfile.ZIP_DEFLATED)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("W1.npy")
    start = info.header_offset + 30 + len(info.filename)
    for k in range(10, 40):
        raw[start + k] ^= 0xA5
    path.write_bytes(bytes(raw))
    refused(path, "damaged model file")


def test_not_enough_memory_to_read_it(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    write_zip(path, members())
    monkeypatch.setattr(resources, "available_bytes", lambda: 1000)
    refused(path, "reading the model file needs", "1000 bytes are available")


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/null", "fifo"])
def test_special_files_are_refused_before_they_are_opened(tmp_path, special):
    if special == "fifo":
        special = tmp_path / "fifo.npz"
        os.mkfifo(special)  # opening it for reading would wait for a writer forever
    previous = signal.signal(signal.SIGALRM, signal.default_int_handler)
    signal.alarm(20)
    try:
        words = ["FIFO"] if str(special).endswith("fifo.npz") else ["character device"]
        refused(special, *words, "not a model file")
        with pytest.raises(InputError, match="not a skops file"):
            archive.check_zip(special, 1 << 30, 1 << 30, what="skops file")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_read_error_names_the_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    write_zip(path, members())

    def broken(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(np.lib.format, "read_magic", broken)
    refused(path, "cannot read the model file: Input/output error")
    monkeypatch.undo()
    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", broken)
    refused(path, "cannot read the model file: Input/output error")


def test_check_zip_for_other_formats(tmp_path):
    """The generic checks alone, as a caller reading some other zip-based format would use them."""
    path = tmp_path / "x.skops"
    write_zip(path, {"schema.json": b"{}", "a.npy": npy(np.zeros(100))}, zipfile.ZIP_DEFLATED)
    found = archive.check_zip(path, 10_000, 1_000)
    assert [(i.filename, i.file_size) for i in found] == [("schema.json", 2), ("a.npy", 928)]
    with pytest.raises(InputError, match=r"'a.npy' declares 928 bytes uncompressed, more than the 900 bytes"):
        archive.check_zip(path, 10_000, 900)
    with pytest.raises(InputError, match="members declare 930 bytes uncompressed, more than the 929 bytes"):
        archive.check_zip(path, 929, 1_000)
    path.write_bytes(b"not a zip at all")
    with pytest.raises(InputError, match="not a zip archive"):
        archive.check_zip(path, 10_000, 1_000)
    with pytest.raises(InputError, match="no such file"):
        archive.check_zip(tmp_path / "absent", 10_000, 1_000)



def test_an_interrupt_while_a_zip_member_is_written_stays_an_interrupt(tmp_path, monkeypatch):
    """Ctrl-C inside zipfile's writing of a checkpoint: the KeyboardInterrupt comes out (training then
    stops as interrupted), not zipfile's "Can't close the ZIP file" ValueError, which read as bad input."""
    real_open = zipfile.ZipFile.open

    def interrupted_open(self, name, mode="r", **kwargs):
        handle = real_open(self, name, mode, **kwargs)
        if mode == "w":
            handle.write(b"x")
            raise KeyboardInterrupt  # with the member's writing handle still open
        return handle

    monkeypatch.setattr(zipfile.ZipFile, "open", interrupted_open)
    path = tmp_path / "f.npz"
    with pytest.raises(KeyboardInterrupt):
        archive.write_archive(path, {"a": np.zeros(3)}, {"k": 1})
    assert not path.exists()
