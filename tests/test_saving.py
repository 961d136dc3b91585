"""Model files (format 2): the whole fitted pipeline, read back without running code; format 1 still loads."""
import fractions
import os
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

import residual_mlp as rm
from residual_mlp import modelfile
from residual_mlp.errors import InputError
from residual_mlp.saving import FORMAT, _for_file, read_model_file


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    n = 90
    frame = pd.DataFrame({"x": rng.normal(size=n), "y": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
                          "colour": rng.choice(["red", "green", "blue"], n)})
    labels = np.array(["01", "1", "b"], dtype=object)[(frame["x"] > 0).astype(int) + (frame["colour"] == "red")]
    return rm.make_pipeline(n_hidden=16, random_state=0).fit(frame, labels), frame


def test_a_pipeline_round_trips_with_its_record(tmp_path, fitted):
    pipe, frame = fitted
    path = tmp_path / "m.skops"
    rm.save_model(pipe, path, {"settings": {"lr": 0.003, "note": np.float64(1.5)}})
    loaded = read_model_file(path)
    assert loaded.record["settings"] == {"lr": 0.003, "note": 1.5}
    np.testing.assert_array_equal(loaded.model.predict_proba(frame), pipe.predict_proba(frame))
    assert loaded.model.predict(frame).tolist() == pipe.predict(frame).tolist()
    # the optimizer state stays out of the file, and the fitted model in memory keeps it
    assert not hasattr(loaded.model[-1], "_optimizer_state")
    assert pipe[-1]._optimizer_state["optimizer"] == "adam"


def test_per_epoch_curves_cost_bytes_per_number_not_a_node_each(tmp_path):
    """A long run's curves (history_, loss_curve_, the record's loss curve) are arrays in the file:
    a run of 4,000 epochs makes a file a few hundred KB larger than a run of 40, not megabytes
    (about 2.8 KB an epoch as lists), and they load back as the same lists of floats."""
    X, y = np.random.default_rng(0).standard_normal((60, 4)), np.arange(60) % 3
    sizes, loaded = {}, {}
    for epochs in (40, 4000):
        est = rm.ResidualMLPClassifier(n_hidden=8, recipe="seed", max_iter=epochs, random_state=0).fit(X, y)
        path = tmp_path / f"m{epochs}.skops"
        rm.save_model(est, path, {"results": {"loss_curve": list(est.loss_curve_), "note": [1.5, "text"]}})
        sizes[epochs] = os.path.getsize(path)
        loaded[epochs] = read_model_file(path), est
    grown = sizes[4000] - sizes[40]
    with zipfile.ZipFile(tmp_path / "m40.skops") as zf:  # members are deflated
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in zf.infolist())
    assert grown < 100 * 3960, (sizes, grown)  # 7 curves of 8 bytes a number: under 100 bytes an epoch
    model_file, est = loaded[4000]
    again = model_file.model
    assert len(est.loss_curve_) == 4000
    for name in ("loss_curve_", "validation_scores_", "validation_loss_curve_"):
        assert getattr(again, name) == getattr(est, name)
        assert getattr(again, name) is None or all(type(v) is float for v in getattr(again, name))
    assert again.history_ == est.history_ and type(again.history_["loss"]) is list
    assert model_file.record["results"]["loss_curve"] == est.loss_curve_
    assert model_file.record["results"]["note"] == [1.5, "text"]
    # the estimator in memory keeps its lists (the file holds a copy)
    assert type(est.history_["loss"]) is list and type(est.loss_curve_) is list


def test_a_bare_estimator_round_trips_and_load_names_the_right_loader(tmp_path, fitted):
    pipe, frame = fitted
    est = pipe[-1]
    est.save(tmp_path / "est.skops")
    again = rm.ResidualMLPClassifier.load(tmp_path / "est.skops")
    X = pipe[0].transform(frame)
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))
    rm.save_model(pipe, tmp_path / "pipe.skops")
    with pytest.raises(InputError, match=r"pipe\.skops.*residual_mlp\.load_model"):
        rm.ResidualMLPClassifier.load(tmp_path / "pipe.skops")


def test_format_1_files_still_load_with_their_scaling(tmp_path):
    rng = np.random.default_rng(3)
    params = rm.init_params(4, 8, 3, seed=1)
    mean, scale = rng.normal(size=4), rng.uniform(0.5, 2, size=4)
    path = tmp_path / "old.npz"
    modelfile.save(path, modelfile.Model(params, np.array(["a", "b", "c"]), ["p", "q", "r", "s"], mean, scale,
                                         {"hidden": 8, "lr": 0.1, "epochs": 5, "optimizer": "gd"}, {}))
    old = modelfile.load(path)
    X = rng.normal(size=(20, 4))
    loaded = read_model_file(path)
    assert loaded.format_version == 1
    frame = pd.DataFrame(X, columns=["p", "q", "r", "s"])
    np.testing.assert_array_equal(loaded.model.predict(frame), old.predict(X))
    np.testing.assert_allclose(loaded.model.predict_proba(frame), old.predict_proba(X), rtol=0, atol=1e-15)
    assert loaded.model[-1].get_params()["optimizer"] == "gd"


def _write_skops(path, content):
    path.write_bytes(sio.dumps(content))


def test_a_file_from_a_newer_version_is_refused(tmp_path, fitted):
    plain = _for_file(fitted[0], optimizer_state=False)
    _write_skops(tmp_path / "new.skops", {"format": FORMAT, "format_version": 99, "record": {}, "model": plain})
    with pytest.raises(InputError, match="format version 99 is newer"):
        rm.load_model(tmp_path / "new.skops")


def test_a_file_holding_other_types_is_not_loaded(tmp_path):
    _write_skops(tmp_path / "odd.skops", {"format": FORMAT, "format_version": 2, "record": {},
                                          "model": fractions.Fraction(1, 3)})
    with pytest.raises(InputError, match="fractions.Fraction.*not loaded"):
        rm.load_model(tmp_path / "odd.skops")


def test_a_skops_file_of_something_else_is_not_a_model(tmp_path):
    _write_skops(tmp_path / "other.skops", {"a": 1})
    with pytest.raises(InputError, match="not a residual_mlp model file"):
        rm.load_model(tmp_path / "other.skops")


def test_duplicate_members_are_refused(tmp_path, fitted):
    path = tmp_path / "dup.skops"
    rm.save_model(fitted[0], path)
    with zipfile.ZipFile(path) as z:
        name = z.namelist()[0]
        first = z.read(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(path, "a") as z:
            z.writestr(name, first)
    with pytest.raises(InputError, match="appears twice"):
        rm.load_model(path)


def test_a_member_declaring_gigabytes_is_refused_before_decompression(tmp_path):
    path = tmp_path / "bomb.skops"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("schema.json", "w", force_zip64=True) as f:
            block = b"\0" * (1 << 20)
            for _ in range(256):       # 256 MiB of zeros compress to about 256 KiB
                f.write(block)
    assert os.path.getsize(path) < 1 << 20
    with pytest.raises(InputError, match="declares"):
        rm.load_model(path)


@pytest.mark.parametrize("text", [b"", b"not a zip at all", b"PK\x03\x04 truncated"])
def test_files_that_are_no_archive_are_refused(tmp_path, text):
    path = tmp_path / "m.skops"
    path.write_bytes(text)
    with pytest.raises(InputError, match="m.skops"):
        rm.load_model(path)


def test_non_regular_files_are_refused_unread(tmp_path):
    with pytest.raises(InputError, match="character device, not a model file"):
        rm.load_model("/dev/zero")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="pipe.*not a model file"):
        rm.load_model(fifo)
    with pytest.raises(InputError, match="no such model file"):
        rm.load_model(tmp_path / "absent.skops")
    with pytest.raises(InputError, match="is a directory"):
        rm.load_model(tmp_path)


@pytest.mark.parametrize("thing", [None, "model", {"a": 1}, rm.ResidualMLPClassifier()])
def test_save_model_refuses_what_is_not_a_fitted_model_before_writing(tmp_path, thing):
    from sklearn.exceptions import NotFittedError

    path = tmp_path / "m.skops"
    with pytest.raises((TypeError, NotFittedError)):
        rm.save_model(thing, path)
    assert not path.exists()


def test_save_model_path_faults_are_one_line_output_errors_and_leave_nothing(tmp_path, fitted):
    from residual_mlp.errors import OutputError

    pipe = fitted[0]
    with pytest.raises(OutputError, match=r"folder .*missing.* does not exist"):
        rm.save_model(pipe, tmp_path / "missing" / "m.skops")
    with pytest.raises(OutputError, match="is a directory, not a regular file"):
        rm.save_model(pipe, tmp_path)
    old = tmp_path / "old.skops"
    old.write_bytes(b"kept")
    old.chmod(0o444)
    with pytest.raises(OutputError, match="read-only"):
        rm.save_model(pipe, old)
    assert old.read_bytes() == b"kept" and sorted(p.name for p in tmp_path.iterdir()) == ["old.skops"]
    with pytest.raises(TypeError, match="optimizer_state must be True or False"):
        rm.save_model(pipe, tmp_path / "m.skops", optimizer_state="yes")
    with pytest.raises(InputError, match="path is a string or path-like, not NoneType"):
        rm.load_model(None)
