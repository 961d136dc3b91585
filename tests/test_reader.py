"""data.read_table / iter_table: CSV through pyarrow's streaming reader, NPZ and Parquet, as typed DataFrames."""
import bz2
import gzip
import io
import lzma
import os
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet as pq
import pytest

from residual_mlp import data
from residual_mlp.errors import InputError


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def assert_frames_match(got, want):
    """Same names, values and kinds of dtype as pandas' own reading (pandas may choose str or object)."""
    assert list(got.columns) == list(want.columns)
    for name in want.columns:
        g, w = got[name], want[name]
        if w.dtype.kind in "fiub":
            assert g.dtype == w.dtype, (name, g.dtype, w.dtype)
            np.testing.assert_array_equal(g.to_numpy(), w.to_numpy())
        else:
            assert g.isna().tolist() == w.isna().tolist(), name
            assert g[g.notna()].tolist() == w[w.notna()].tolist(), name


# CSV: values, types, labels


def test_csv_columns_are_typed_like_pandas_reads_them(tmp_path):
    text = (",count,size,flag,when,island,label\n"
            "0,3,1.5,True,2020-01-02,Torgersen,a\n"
            "1,4,NA,False,2020-02-03,,b\n"
            "2,5,2.25,True,2021-12-31,Biscoe,a\n")
    path = write(tmp_path / "d.csv", text)
    table = data.read_table(path)
    want = pd.read_csv(io.StringIO(text), parse_dates=["when"])
    assert table.target == "label" and table.sep == "," and table.path == str(path)
    assert_frames_match(table.features, want.drop(columns="label"))
    assert table.features["when"].dtype.kind == "M"
    assert table.features["when"].tolist() == list(pd.to_datetime(["2020-01-02", "2020-02-03", "2021-12-31"]))
    assert table.labels.dtype == object and table.labels.tolist() == ["a", "b", "a"]
    assert table.n_dropped_labels == 0


def test_csv_labels_are_their_text_exactly(tmp_path):
    labels = ["01234", "1234", "5", "5.0", "12345678901234567890", "12345678901234567891", "١", "1", " x "]
    text = "f,label\n" + "".join(f"{j},{label}\n" for j, label in enumerate(labels))
    table = data.read_table(write(tmp_path / "d.csv", text))
    assert table.labels.tolist() == labels
    assert all(type(label) is str for label in table.labels)
    assert len(set(table.labels.tolist())) == len(labels)
    assert table.features["f"].tolist() == list(range(len(labels)))


def test_equal_labels_share_one_string_object(tmp_path):
    text = "f,label\n" + "".join(f"{j},{'long' * 50 if j % 2 else 'short'}\n" for j in range(100))
    labels = data.read_table(write(tmp_path / "d.csv", text)).labels
    assert len({id(label) for label in labels}) == 2


def test_missing_labels_are_dropped_and_counted(tmp_path):
    text = "a,b,y\n1,x,p\n2,y,\n3,z,NA\n4,w,q\n5,v,\"\"\n"
    table = data.read_table(write(tmp_path / "d.csv", text))
    assert table.n_dropped_labels == 3
    assert table.labels.tolist() == ["p", "q"]
    assert table.features["a"].tolist() == [1, 4] and table.features["b"].tolist() == ["x", "w"]
    with pytest.raises(InputError, match=r"d.csv, column 'y': every label is missing \(2 rows\)"):
        data.read_table(write(tmp_path / "d.csv", "a,y\n1,\n2,NA\n"))


def test_missing_labels_leave_the_float_matrix_rows_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "BLOCK_BYTES", 64)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)).round(3)
    labels = np.array(["a", "b", ""])[rng.integers(0, 3, 200)]
    text = "f0,f1,f2,y\n" + "".join(f"{r[0]!r},{r[1]!r},{r[2]!r},{label}\n" for r, label in zip(X.tolist(), labels))
    table = data.read_table(write(tmp_path / "d.csv", text))
    keep = labels != ""
    np.testing.assert_array_equal(table.features.to_numpy(), X[keep])
    assert table.labels.tolist() == labels[keep].tolist() and table.n_dropped_labels == int((~keep).sum())


def test_na_markers_and_a_custom_list(tmp_path):
    text = "a,b,y\n" + "".join(f"{j},{cell},c\n" for j, cell in enumerate(["1", "NA", "", "NaN", "null", "?", "N/A"]))
    path = write(tmp_path / "d.csv", text)
    b = data.read_table(path).features["b"]
    assert b.dtype == np.float64 and b.isna().tolist() == [False] + [True] * 6
    b = data.read_table(path, na_values=["?"]).features["b"]
    assert b.tolist() == ["1", "NA", "", "NaN", "null", None, "N/A"] or b.dtype.kind in "OT"
    assert b.isna().tolist() == [False] * 5 + [True, False]


def test_the_label_column_in_the_middle_quoted_fields_and_crlf(tmp_path):
    text = ('"size, cm",label,"weight"\r\n'
            '1.5,"a, b",2\r\n'
            '\r\n'
            '3,"say ""hi""\nthere",4\r\n'
            '5,c,6')
    table = data.read_table(write(tmp_path / "q.csv", text), target="label")
    assert list(table.features.columns) == ["size, cm", "weight"]
    np.testing.assert_array_equal(table.features.to_numpy(), [[1.5, 2], [3, 4], [5, 6]])
    assert table.labels.tolist() == ["a, b", 'say "hi"\nthere', "c"]


@pytest.mark.parametrize("name, text", [
    ("stray quote in an unquoted label", 'a,label\n1,15" big\n2,x\n3,15" big\n'),
    ("stray quote then a quoted line break",
     'a,b,label\n1,2,15" big\n' + "".join(f"{j},{j},x\n" for j in range(5)) + '7,8,"two\nlines"\n9,9,y\n'),
    ("a quote in a header cell", 'width_in",label\n1,a\n2,b\n3,c\n'),
    ("a quote inside a feature cell", 'a,b,label\n1,ab"c,x\n2,"d""e",y\n'),
])
def test_quotes_read_as_pandas_reads_them(tmp_path, name, text):
    table = data.read_table(write(tmp_path / "d.csv", text))
    want = pd.read_csv(io.StringIO(text), dtype={"label": str})
    assert_frames_match(table.features, want.iloc[:, :-1])
    assert table.labels.tolist() == want.iloc[:, -1].tolist()


def test_a_stray_quote_costs_nothing_in_a_large_file(tmp_path):
    rows = "".join(f"{j},{j % 7},x\n" for j in range(30_000))
    table = data.read_table(write(tmp_path / "d.csv", 'a,b,label\n1,2,15" big\n' + rows))
    assert table.features.shape == (30_001, 2) and table.labels[0] == '15" big'


@pytest.mark.parametrize("block_bytes", [40, 200, 1 << 20])
def test_small_blocks_give_the_same_table(tmp_path, monkeypatch, block_bytes):
    rng = np.random.default_rng(block_bytes)
    X = rng.normal(size=(150, 4)).round(4)
    labels = np.array(["x", 'q"uo"te', "line\nbreak", "comma,"])[rng.integers(0, 4, 150)]
    quoted = ['"' + s.replace('"', '""') + '"' for s in labels]
    text = "f0,f1,f2,f3,y\n" + "".join(",".join([*map(repr, r), q]) + "\n" for r, q in zip(X.tolist(), quoted))
    monkeypatch.setattr(data, "BLOCK_BYTES", block_bytes)
    table = data.read_table(write(tmp_path / "d.csv", text))
    np.testing.assert_array_equal(table.features.to_numpy(), X)
    assert table.features.to_numpy().dtype == np.float64
    assert table.labels.tolist() == labels.tolist()


def test_a_record_longer_than_a_block(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "BLOCK_BYTES", 64)
    long = "x" * 5000
    table = data.read_table(write(tmp_path / "d.csv", f"a,y\n1,{long}\n2,{long}\n3,b\n"))
    assert table.labels.tolist() == [long, long, "b"] and table.features["a"].tolist() == [1, 2, 3]


def test_a_column_whose_type_changes_in_a_later_block_is_read_wider(tmp_path, monkeypatch):
    n = 300
    ints = [str(j) for j in range(n)]
    floats = ints[:-1] + ["2.5"]                         # ints, then one float at the end
    texts = ints[:-2] + ["abc", "7"]                     # numbers, then text
    flags = ["True", "False"] * (n // 2 - 1) + ["maybe", "True"]
    lines = [f"{i},{f},{t},{b},{j % 3}" for j, (i, f, t, b) in enumerate(zip(ints, floats, texts, flags))]
    text = "i,f,t,b,y\n" + "\n".join(lines) + "\n"
    monkeypatch.setattr(data, "BLOCK_BYTES", 128)
    features = data.read_table(write(tmp_path / "d.csv", text)).features
    want = pd.read_csv(io.StringIO(text)).drop(columns="y")
    assert features["i"].dtype == np.int64 and features["f"].dtype == np.float64
    assert features["f"].iloc[-1] == 2.5 and features["f"].iloc[5] == 5.0
    assert features["t"].dtype.kind in "OT" or str(features["t"].dtype) == "str"
    assert features["t"].tolist() == texts
    assert features["b"].tolist() == flags
    assert_frames_match(features, want)
    # iter_table: every block has the settled types, and together they are the table
    blocks = list(data.iter_table(tmp_path / "d.csv", block_rows=70))
    assert [len(b) for b in blocks] == [70, 70, 70, 70, 20]
    for block in blocks:
        assert block["f"].dtype == np.float64 and block["i"].dtype == np.int64
        assert block["t"].dtype == features["t"].dtype
    whole = pd.concat(blocks, ignore_index=True)
    assert_frames_match(whole.drop(columns="y"), want)


def test_iter_table_integers_missing_anywhere_are_float_in_every_block(tmp_path, monkeypatch):
    text = "a,b,y\n" + "".join(f"{j},{'' if j == 250 else j},x\n" for j in range(300))
    monkeypatch.setattr(data, "BLOCK_BYTES", 128)
    blocks = list(data.iter_table(write(tmp_path / "d.csv", text), block_rows=100))
    assert [b["b"].dtype for b in blocks] == [np.float64] * 3
    assert [b["a"].dtype for b in blocks] == [np.int64] * 3
    assert blocks[2]["b"].isna().sum() == 1 and blocks[0]["y"].tolist()[:2] == ["x", "x"]


# Separators, encodings, compression


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_separators_are_detected(tmp_path, sep):
    text = sep.join(["a", "b b", "label"]) + "\n" + "".join(sep.join([str(j), "1,5" if sep != "," else "1.5", "z"])
                                                          + "\n" for j in range(4))
    table = data.read_table(write(tmp_path / "d.csv", text))
    assert table.sep == sep and list(table.features.columns) == ["a", "b b"] and table.labels.tolist() == ["z"] * 4


def test_tsv_means_tab_and_sep_can_be_given(tmp_path):
    assert data.read_table(write(tmp_path / "d.tsv", "a,b\tc\n1,2\tx\n")).features.columns.tolist() == ["a,b"]
    table = data.read_table(write(tmp_path / "d.csv", "a;b;c\n1;2;x\n"), sep=";")
    assert table.features.columns.tolist() == ["a", "b"]


def test_a_separator_that_leaves_one_column_is_named(tmp_path):
    path = write(tmp_path / "d.csv", "a;b;c\n1;2;x\n")
    with pytest.raises(InputError, match=r"d.csv: the header row is a single column when split at ',' \(comma\), "
                                         r"but it holds ';' \(semicolon\): pass that separator"):
        data.read_table(path, sep=",")
    with pytest.raises(InputError, match=r"single column when split at ',' \(comma\); a table needs feature"):
        data.read_table(write(tmp_path / "one.csv", "abc\n1\n2\n"))


@pytest.mark.parametrize("encoding, bom", [("utf-8", b"\xef\xbb\xbf"), ("utf-8", b""),
                                           ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])
def test_encodings(tmp_path, encoding, bom):
    text = "größe,label\n1.5,café\n2,١\n"
    table = data.read_table(write(tmp_path / "d.csv", bom + text.encode(encoding)))
    assert table.features.columns.tolist() == ["größe"] and table.features["größe"].tolist() == [1.5, 2.0]
    assert table.labels.tolist() == ["café", "١"]


def test_bytes_that_are_not_utf8_name_the_line(tmp_path, monkeypatch):
    rows = "".join(f"{j},x\n" for j in range(50))
    path = write(tmp_path / "d.csv", b"a,label\n" + rows.encode() + b"51,caf\xe9\n")
    with pytest.raises(InputError,
                       match=r"^.*d.csv, line 52: byte 0xe9 is not UTF-8 text; save the file as UTF-8 CSV$"):
        data.read_table(path)
    monkeypatch.setattr(data, "BLOCK_BYTES", 64)   # found in a later block, in a feature column
    path = write(tmp_path / "e.csv", b"a,label\n" + rows.encode() + b"caf\xe9,x\n")
    with pytest.raises(InputError, match=r"e.csv, line 52: byte 0xe9 is not UTF-8"):
        data.read_table(path)
    path = write(tmp_path / "f.csv", b"a,label\ncaf\xe9,x\n1,y\n")   # in the first block: inferred binary
    with pytest.raises(InputError, match=r"f.csv, line 2: byte 0xe9 is not UTF-8"):
        data.read_table(path)


def test_a_nul_byte_is_not_text(tmp_path):
    with pytest.raises(InputError, match=r"d.csv, line 2: a NUL byte; this is not a text \(CSV\) file"):
        data.read_table(write(tmp_path / "d.csv", b"a,y\n1\x00,x\n"))


def zstd(raw):
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        out.write(raw)
    return sink.getvalue().to_pybytes()


@pytest.mark.parametrize("suffix, compress", [(".csv.gz", gzip.compress), (".csv.bz2", bz2.compress),
                                              (".csv.zst", zstd), (".csv.zstd", zstd), (".csv.xz", lzma.compress),
                                              (".tsv.gz", gzip.compress)])
def test_compressed_files_by_extension(tmp_path, suffix, compress):
    sep = "\t" if suffix.startswith(".tsv") else ","
    raw = f"a{sep}b{sep}y\n1{sep}2.5{sep}p\n3{sep}4{sep}q\n".encode()
    table = data.read_table(write(tmp_path / f"d{suffix}", compress(raw)))
    assert table.features.to_numpy().tolist() == [[1, 2.5], [3, 4]] and table.labels.tolist() == ["p", "q"]
    assert [len(b) for b in data.iter_table(tmp_path / f"d{suffix}", block_rows=1)] == [1, 1]


def test_a_damaged_compressed_file(tmp_path):
    with pytest.raises(InputError, match=r"d.csv.gz: cannot read it"):
        data.read_table(write(tmp_path / "d.csv.gz", gzip.compress(b"a,y\n1,2\n" * 100)[:-30] + b"xx"))


# Errors


def test_a_ragged_row_names_its_row_even_in_a_later_block(tmp_path, monkeypatch):
    rows = [f"{j},{j},x" for j in range(100)]
    rows[76] = "1,2,3,4"
    monkeypatch.setattr(data, "BLOCK_BYTES", 64)
    with pytest.raises(InputError, match=r"^.*d.csv, row 77: 4 fields, but the header names 3 columns$"):
        data.read_table(write(tmp_path / "d.csv", "a,b,y\n" + "\n".join(rows) + "\n"))
    rows[76] = "1,2"
    with pytest.raises(InputError, match=r"d.csv, row 77: 2 fields, but the header names 3 columns$"):
        list(data.iter_table(write(tmp_path / "d.csv", "a,b,y\n" + "\n".join(rows) + "\n")))


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"),
    ("\n\n", "the file is empty"),
    ("a,b,y\n", "has a header row but no data rows"),
    ("a,b,a\n1,2,3\n", "the column name 'a' appears twice"),
    (",,\n1,2,3\n", None),   # empty header cells are pandas' "Unnamed: j", not duplicates
])
def test_files_without_a_table(tmp_path, text, message):
    path = write(tmp_path / "d.csv", text)
    if message is None:
        assert data.read_table(path).features.columns.tolist() == ["Unnamed: 0", "Unnamed: 1"]
        return
    with pytest.raises(InputError) as e:
        data.read_table(path)
    assert str(e.value).startswith(f"{path}") and message in str(e.value) and "\n" not in str(e.value)


def test_an_unknown_target_names_the_closest_columns_however_wide_the_file(tmp_path):
    names = [f"feature_{j}" for j in range(500)] + ["target", "targets_old"]
    path = write(tmp_path / "d.csv", ",".join(names) + "\n" + ",".join("1" * len(names)) + "\n")
    with pytest.raises(InputError, match=r"^.*d.csv: no column 'Target'; closest: 'target', 'targets_old'$"):
        data.read_table(path, target="Target")
    with pytest.raises(InputError, match=r"no column 'Feature 499'; closest: 'feature_499', "):
        data.read_table(path, target="Feature 499")
    with pytest.raises(InputError, match=r"no column 'zzz' \(columns: 'feature_0', "):
        data.read_table(path, target="zzz")


def test_paths_that_are_not_readable_files(tmp_path, monkeypatch):
    with pytest.raises(InputError, match=r"nope.csv: no such file$"):
        data.read_table(tmp_path / "nope.csv")
    with pytest.raises(InputError, match=r": is a directory, not a data file$"):
        data.read_table(tmp_path)
    if os.path.exists("/dev/zero"):
        with pytest.raises(InputError, match=r"^/dev/zero: is not a regular file"):
            data.read_table("/dev/zero")
        with pytest.raises(InputError, match=r"^/dev/zero: is not a regular file"):
            next(data.iter_table("/dev/zero"))
    path = write(tmp_path / "d.csv", "a,y\n1,2\n")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if mode == os.R_OK else real_access(p, mode))
    with pytest.raises(InputError, match=r"d.csv: permission denied$"):
        data.read_table(path)


def test_labels_false_needs_no_label_column_and_leaves_out_a_named_one(tmp_path):
    path = write(tmp_path / "d.csv", "a,b,y\n1,2,x\n")
    table = data.read_table(path, labels=False)
    assert table.labels is None and table.target is None and table.features.columns.tolist() == ["a", "b", "y"]
    table = data.read_table(path, labels=False, target="y")
    assert table.target == "y" and table.features.columns.tolist() == ["a", "b"]
    assert data.read_table(path, labels=False, target="other").features.shape == (1, 3)


# Parquet


def test_parquet_written_by_pandas_keeps_its_index_as_a_column_never_the_label(tmp_path):
    frame = pd.DataFrame({"a": [1.5, 2.5, 3.5], "b": pd.array([1, None, 3], dtype="Int64"),
                          "kind": pd.Categorical(["x", "y", "x"]), "label": [3, 1, 2]}, index=[10, 20, 30])
    frame.to_parquet(tmp_path / "d.parquet")
    table = data.read_table(tmp_path / "d.parquet")
    assert table.target == "label" and table.labels.tolist() == [3, 1, 2] and table.labels.dtype.kind == "i"
    assert table.features.columns.tolist() == ["a", "b", "kind", "__index_level_0__"]
    assert table.features["__index_level_0__"].tolist() == [10, 20, 30]
    assert table.features["b"].dtype == np.float64 and table.features["b"].isna().tolist() == [False, True, False]
    assert table.features["kind"].tolist() == ["x", "y", "x"]
    # a named index is a column too; the default label is the last column that is not an index
    frame.drop(columns="label").rename_axis("id").to_parquet(tmp_path / "named.parquet")
    table = data.read_table(tmp_path / "named.parquet")
    assert table.target == "kind" and table.features.columns.tolist() == ["a", "b", "id"]


def test_parquet_labels_keep_their_dtype_and_missing_ones_are_dropped(tmp_path):
    pq.write_table(pa.table({"a": [1.0, 2.0, 3.0, 4.0], "y": [0.5, None, 1.5, float("nan")]}), tmp_path / "f.parquet")
    table = data.read_table(tmp_path / "f.parquet")
    assert table.labels.dtype == np.float64 and table.labels.tolist() == [0.5, 1.5] and table.n_dropped_labels == 2
    assert table.features["a"].tolist() == [1.0, 3.0]
    pq.write_table(pa.table({"a": [1, 2], "y": pa.array(["b", "a"]).dictionary_encode()}), tmp_path / "t.parquet")
    table = data.read_table(tmp_path / "t.parquet")
    assert table.labels.dtype == object and table.labels.tolist() == ["b", "a"]
    assert table.features["a"].dtype == np.int64


def test_parquet_in_blocks(tmp_path):
    frame = pd.DataFrame({"a": np.arange(10), "b": [1.0] * 9 + [None], "y": list("abcdeabcde")})
    frame.to_parquet(tmp_path / "d.parquet", index=False, row_group_size=4)
    blocks = list(data.iter_table(tmp_path / "d.parquet", block_rows=3))
    assert [len(b) for b in blocks] == [3, 3, 3, 1]
    whole = pd.concat(blocks)
    assert whole["a"].tolist() == list(range(10)) and whole["y"].tolist() == list("abcdeabcde")
    assert all(b["b"].dtype == np.float64 for b in blocks)


def test_not_a_parquet_file(tmp_path):
    with pytest.raises(InputError, match=r"d.parquet: not a Parquet file"):
        data.read_table(write(tmp_path / "d.parquet", "a,b\n1,2\n"))


# NPZ


def test_npz_values_names_and_labels(tmp_path):
    X = np.arange(12, dtype=np.int16).reshape(4, 3)
    np.savez(tmp_path / "d.npz", X=X, y=np.array([1.5, np.nan, 2.5, 1.5]))
    table = data.read_table(tmp_path / "d.npz")
    assert table.features.columns.tolist() == ["x0", "x1", "x2"] and table.features.dtypes.tolist() == [np.int64] * 3
    np.testing.assert_array_equal(table.features.to_numpy(), X[[0, 2, 3]])
    assert table.labels.tolist() == [1.5, 2.5, 1.5] and table.n_dropped_labels == 1 and table.target is None
    np.savez(tmp_path / "s.npz", X=np.asfortranarray(np.eye(3)), y=np.array(["b", "a", "b"]))
    table = data.read_table(tmp_path / "s.npz")
    assert table.labels.dtype == object and table.labels.tolist() == ["b", "a", "b"]
    np.testing.assert_array_equal(table.features.to_numpy(), np.eye(3))
    blocks = list(data.iter_table(tmp_path / "s.npz", block_rows=2))
    assert [b.columns.tolist() for b in blocks] == [["x0", "x1", "x2", "y"]] * 2
    with pytest.raises(InputError, match=r"s.npz: --target names a column of a CSV or Parquet file"):
        data.read_table(tmp_path / "s.npz", target="y")


def npz_with(path, members):
    """An NPZ archive with these (name, bytes) members, duplicates allowed."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # zipfile warns about a duplicate name
        with zipfile.ZipFile(path, "w") as z:
            for name, raw in members:
                z.writestr(name, raw)
    return path


def npy(array=None, header=None):
    sink = io.BytesIO()
    if header is None:
        np.save(sink, array, allow_pickle=True)
        return sink.getvalue()
    np.lib.format.write_array_header_1_0(sink, header)
    return sink.getvalue()


@pytest.mark.parametrize("members, message", [
    ([("X.npy", npy(np.zeros((2, 2)))), ("y.npy", npy(np.array([{}, {}], dtype=object)))],
     "y holds Python objects, which are not read"),
    ([("X.npy", npy(np.zeros(3))), ("y.npy", npy(np.zeros(3)))], "X has shape (3,); it must be 2-D"),
    ([("X.npy", npy(np.zeros((3, 2)))), ("y.npy", npy(np.zeros(2)))], "y has shape (2,), but X has 3 rows"),
    ([("X.npy", npy(np.zeros((3, 2)))), ("X.npy", npy(np.ones((3, 2)))), ("y.npy", npy(np.zeros(3)))],
     "two members named 'X.npy'"),
    ([("X.npy", npy(header={"descr": "<f8", "fortran_order": False, "shape": (10**9, 10**6)})),
      ("y.npy", npy(np.zeros(3)))], "X declares shape (1000000000, 1000000)"),
    ([("y.npy", npy(np.zeros(3)))], "no array X in the NPZ file"),
    ([("X.npy", npy(np.array([[1 + 2j]])))], "X holds complex128 values; expected numbers"),
])
def test_hostile_or_broken_npz_files(tmp_path, members, message):
    path = npz_with(tmp_path / "d.npz", members)
    with pytest.raises(InputError) as e:
        data.read_table(path)
    assert str(e.value).startswith(str(path)) and message in str(e.value)


def test_npz_that_is_not_a_zip(tmp_path):
    with pytest.raises(InputError, match=r"d.npz: not an NPZ file"):
        data.read_table(write(tmp_path / "d.npz", "a,b\n"))


# Bundled data sets


def test_load_dataset_is_a_table():
    table = data.load_dataset("iris")
    assert table.features.shape == (150, 4) and table.features.columns[0] == "sepal length (cm)"
    assert table.labels.dtype == object and sorted(set(table.labels)) == ["setosa", "versicolor", "virginica"]
    digits = data.load_dataset("digits")
    assert digits.labels.dtype == np.int64 and digits.features.dtypes.unique().tolist() == [np.float64]
    with pytest.raises(InputError, match="unknown data set 'nope'"):
        data.load_dataset("nope")


# Memory


MEMORY_SCRIPT = """
import sys
from residual_mlp import data
import pandas, pyarrow.csv  # imported before the baseline

def status(key):  # this process's own figures: ru_maxrss would carry the parent's over fork and exec
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key)) * 1024

data.BLOCK_BYTES = 1 << 18
with open(sys.argv[2], "w") as f:   # a first small read loads every module and sets up Arrow's memory pool
    f.write("a,b,c,y\\n1,2.5,x,y\\n")
data.read_table(sys.argv[2])
before = status("VmRSS")
table = data.read_table(sys.argv[1])
print(status("VmHWM") - before)
"""


def test_reading_peaks_near_the_size_of_the_matrix(tmp_path):
    """Numeric columns go block by block into one float64 matrix that the DataFrame wraps without a
    copy: the peak resident memory added stays well below two matrices. A fresh process, so that
    nothing else has raised its high-water mark."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150_000, 64)).round(4)
    path = tmp_path / "big.csv"
    columns = {f"f{j}": X[:, j] for j in range(64)} | {"y": rng.integers(0, 3, len(X))}
    pa.csv.write_csv(pa.table(columns), path)
    done = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(path), str(tmp_path / "small.csv")],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    ratio = int(done.stdout) / X.nbytes
    assert ratio < 1.7, ratio   # 1.4x here: some 30 MB of fixed pools and buffers on a 77 MB matrix; 1.1x at 1M rows


def test_a_european_file_groups_thousands_with_points_and_marks_decimals_with_commas(tmp_path):
    """57.689,59 proves the file's decimal mark is ","; 9.000 (a point or thousands) then reads as 9000."""
    from residual_mlp.pipeline import make_pipeline

    rng = np.random.default_rng(0)
    n = 100
    price, cnt, rate = rng.uniform(1000, 90000, n), rng.integers(1, 40, n) * 1000, rng.uniform(0, 10, n).round(1)

    def eu(v, k):
        return f"{v:,.{k}f}".replace(",", "X").replace(".", ",").replace("X", ".")

    frame = pd.DataFrame({"price": [eu(v, 2) for v in price], "cnt": [eu(v, 0) for v in cnt],
                          "rate": [eu(v, 1) for v in rate], "y": np.where(price > 45000, "hi", "lo")})
    path = tmp_path / "eu.csv"
    frame.to_csv(path, sep=";", index=False)
    assert path.read_text().splitlines()[1] == "57.689,59;9.000;0,1;hi"
    table = data.read_table(path)
    np.testing.assert_array_equal(table.features["rate"], rate)
    pipe = make_pipeline(max_iter=1).fit(table.features, table.labels)
    assert [role for _, role, _ in pipe[0].roles_] == ["numeric"] * 3
    prepared = pipe[0]._prepare(table.features)
    np.testing.assert_array_equal(prepared["cnt"], cnt)
    np.testing.assert_allclose(prepared["price"], price.round(2), rtol=0, atol=1e-9)
    # the reader itself reads them as numbers, and block by block (predict) the same
    np.testing.assert_array_equal(table.features["cnt"], cnt)
    blocks = pd.concat(data.iter_table(path, block_rows=7))
    np.testing.assert_array_equal(blocks["cnt"], cnt)
    np.testing.assert_allclose(blocks["price"], price.round(2), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(blocks["rate"], rate)


def test_codes_with_a_leading_zero_stay_text_in_a_decimal_comma_file(tmp_path):
    path = write(tmp_path / "codes.csv", "code;amount;y\n" + "".join(
        f"{c};{k},5;{'ab'[k % 2]}\n" for k, c in enumerate(["012", "045", "1.234", "007"] * 3)))
    table = data.read_table(path)
    assert list(table.features["code"]) == ["012", "045", "1.234", "007"] * 3
    np.testing.assert_array_equal(table.features["amount"], np.arange(12) + 0.5)


def test_codes_with_leading_zeros_stay_text(tmp_path):
    zips = ["01234", "02139", "10001", "00501", "90210", "07030"]
    path = write(tmp_path / "zips.csv", "zip,amount,y\n" + "".join(
        f"{z},{k}.5,{'ab'[k % 2]}\n" for k, z in enumerate(zips * 3)))
    table = data.read_table(path)
    assert list(table.features["zip"]) == zips * 3
    assert table.features["amount"].dtype == np.float64   # a plain number column is still numbers
    blocks = list(data.iter_table(path, block_rows=4))
    assert list(pd.concat(blocks)["zip"]) == zips * 3
