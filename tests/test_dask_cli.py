"""Dask through the front doors: ResidualMLPClassifier on Dask input, dask_pipeline.fit_frame, and
`residual-mlp train/predict --dask`, each compared with the in-memory path on the same rows.

One LocalCluster (processes, 2 workers of one thread) serves the module; the CLI reaches it with
--scheduler, and one run starts its own cluster with --dask.
"""
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

import dask.array as da
import dask.dataframe as dd
import pandas as pd
from distributed import Client, LocalCluster
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import residual_mlp as rm
from residual_mlp import cli, dask_pipeline
from residual_mlp.errors import InputError

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

N, D = 480, 5
ROWS = (100, 7, 180, 120, 73)           # uneven chunks


@pytest.fixture(scope="module")
def client():
    with (LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
          Client(cluster) as c):
        yield c


def numbers(seed=0, n=N):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, D)) * rng.uniform(0.5, 2.0, D)
    y = np.array(["cat", "dog", "emu"], dtype=object)[(X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1.0)]
    return X, y


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(np.asarray(b))))


def assert_weights_close(a, b, tol):
    for name, A, B in zip(rm.Params._fields, a.params_, b.params_):
        assert rel(A, B) <= tol, name


# ----------------------------------------------------------------------------- the estimator


@pytest.mark.parametrize("options, tol", [({"recipe": "seed", "lr": 0.5, "max_iter": 20}, 1e-10),
                                          ({"optimizer": "lbfgs", "weight_decay": 1e-3, "max_iter": 15}, 1e-8)])
def test_estimator_on_dask_arrays_equals_in_memory_full_batch(client, options, tol):
    X, y = numbers()
    w = np.random.default_rng(1).uniform(0.0, 2.0, N)
    params = dict(n_hidden=8, random_state=3, batch_size=None, **options)
    ref = rm.ResidualMLPClassifier(**params).fit(X, y, sample_weight=w)
    Xd, yd, wd = da.from_array(X, chunks=(ROWS, D)), da.from_array(y, chunks=ROWS), da.from_array(w, chunks=ROWS)
    est = rm.ResidualMLPClassifier(**params).fit(Xd, yd, sample_weight=wd)
    assert_weights_close(est, ref, tol)
    assert est.classes_.tolist() == ["cat", "dog", "emu"]
    assert est.n_iter_ == ref.n_iter_ and est.t_ == ref.t_ and est.n_features_in_ == D
    assert rel(est.loss_curve_, ref.loss_curve_) <= tol

    X_new, _ = numbers(seed=2, n=150)
    X_new_d = da.from_array(X_new, chunks=40)
    for method in ("predict", "predict_proba", "predict_log_proba", "decision_function"):
        lazy = getattr(est, method)(X_new_d)
        assert isinstance(lazy, da.Array), method
        expected = getattr(ref, method)(X_new)
        if method == "predict":
            assert lazy.compute().tolist() == expected.tolist()
        else:
            assert lazy.shape[1:] == expected.shape[1:]
            assert rel(lazy.compute(), expected) <= 1e3 * tol, method


def test_estimator_on_a_dask_dataframe_keeps_feature_names(client):
    X, y = numbers()
    table = pd.DataFrame(X, columns=[f"f{j}" for j in range(D)]).assign(label=y)
    frame = dd.from_pandas(table, npartitions=4)
    params = dict(n_hidden=8, random_state=0, recipe="seed", max_iter=10)
    est = rm.ResidualMLPClassifier(**params).fit(frame[[f"f{j}" for j in range(D)]], frame["label"])
    ref = rm.ResidualMLPClassifier(**params).fit(table.drop(columns="label"), y)
    assert_weights_close(est, ref, 1e-10)
    assert est.feature_names_in_.tolist() == ref.feature_names_in_.tolist()
    shuffled = dd.from_pandas(table[["label", "f4", "f2", "f0", "f3", "f1"]], npartitions=3)
    assert est.predict(shuffled).compute().tolist() == ref.predict(table.drop(columns="label")).tolist()


def test_a_mini_batch_setting_warns_and_trains_full_batch(client):
    X, y = numbers()
    Xd, yd = da.from_array(X, chunks=(ROWS, D)), da.from_array(y, chunks=ROWS)
    with pytest.warns(UserWarning, match=r"batch_size=64 is ignored on Dask input"):
        est = rm.ResidualMLPClassifier(n_hidden=8, max_iter=5, random_state=0).fit(Xd, yd)  # default recipe: 64
    full = rm.ResidualMLPClassifier(n_hidden=8, max_iter=5, random_state=0, batch_size=None).fit(X, y)
    assert_weights_close(est, full, 1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)   # full batch asked for: no warning
        rm.ResidualMLPClassifier(n_hidden=8, max_iter=2, random_state=0, batch_size=None).fit(Xd, yd)


def test_early_stopping_on_dask_holds_out_a_stratified_mask(client):
    X, y = numbers()
    Xd, yd = da.from_array(X, chunks=(ROWS, D)), da.from_array(y, chunks=ROWS)
    est = rm.ResidualMLPClassifier(n_hidden=8, recipe="seed", lr=0.5, max_iter=6, early_stopping=True,
                                   validation_fraction=0.25, random_state=0).fit(Xd, yd)
    counts = np.unique(y, return_counts=True)[1]
    n_val = int(np.ceil(0.25 * N))                      # 120, shared among the classes by their counts
    assert abs(n_val - sum(np.round(0.25 * counts))) <= 1
    assert est.t_ == 6 * (N - n_val)
    assert len(est.validation_scores_) == len(est.validation_loss_curve_) == est.n_iter_ == 6
    assert 0.5 < est.best_validation_score_ <= 1.0       # learnt: three classes, one third by chance
    assert est.validation_loss_curve_[-1] < est.validation_loss_curve_[0]


def test_importing_the_estimator_does_not_import_dask():
    code = "import sys, residual_mlp.estimator, residual_mlp.dask_pipeline; assert 'dask' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------- tables: fit_frame and the CLI


def write_table(folder, seed=0, n=N, parts=4):
    """Parquet files of numeric features with missing values, an exported row index and integer labels;
    returns the whole table in memory."""
    X, y = numbers(seed, n)
    X[::13, 1] = np.nan
    X[5::29, 4] = np.nan
    table = pd.DataFrame(X, columns=["alpha", "beta", "gamma", "delta", "eps"])
    table.insert(0, "rownames", np.arange(n))
    table["kind"] = pd.Series(y).map({"cat": 10, "dog": 20, "emu": 30}).to_numpy()
    folder.mkdir()
    for k, rows in enumerate(np.array_split(np.arange(n), parts)):
        table.iloc[rows].to_parquet(folder / f"part{k}.parquet", index=False)
    return table


FEATURES = ["alpha", "beta", "gamma", "delta", "eps"]


def in_memory_reference(table, **params):
    """The same pipeline fitted in memory by scikit-learn's own transformers."""
    ref = Pipeline([("impute", SimpleImputer(strategy="mean")), ("scale", StandardScaler()),
                    ("classifier", rm.ResidualMLPClassifier(**params))])
    return ref.fit(table[FEATURES].to_numpy(), table["kind"].to_numpy())


def test_fit_frame_equals_the_in_memory_pipeline_and_saves(client, tmp_path):
    table = write_table(tmp_path / "train")
    params = dict(n_hidden=8, recipe="seed", lr=0.5, max_iter=15, random_state=1)
    pipe = dask_pipeline.fit_frame(dd.read_parquet(str(tmp_path / "train" / "*.parquet")), "kind", **params)
    ref = in_memory_reference(table, **params)
    assert [name for name, _ in pipe.steps] == ["columns", "impute", "scale", "classifier"]
    assert pipe[0].transformers_[0][2] == FEATURES                   # the row index was left out
    assert rel(pipe["impute"].statistics_, ref["impute"].statistics_) <= 1e-12
    assert rel(pipe["scale"].mean_, ref["scale"].mean_) <= 1e-12
    assert rel(pipe["scale"].scale_, ref["scale"].scale_) <= 1e-12
    assert_weights_close(pipe[-1], ref[-1], 1e-10)

    new = write_table(tmp_path / "new", seed=5, n=200, parts=3)
    expected = ref.predict(new[FEATURES].to_numpy())
    rm.save_model(pipe, tmp_path / "model.skops")
    loaded = rm.load_model(tmp_path / "model.skops")
    shuffled = new[["kind", "eps", "alpha", "rownames", "delta", "gamma", "beta"]]   # by name, extras ignored
    assert loaded.predict(shuffled).tolist() == expected.tolist()
    lazy = dask_pipeline.predict(loaded, dd.read_parquet(str(tmp_path / "new" / "*.parquet")))
    assert isinstance(lazy, da.Array) and lazy.compute().tolist() == expected.tolist()


def test_a_categorical_column_is_a_one_line_error(client, tmp_path):
    table = write_table(tmp_path / "train")
    table["colour"] = np.where(table["alpha"] > 0, "red", "blue")
    table.to_parquet(tmp_path / "with_text.parquet", index=False)
    frame = dd.read_parquet(str(tmp_path / "with_text.parquet"))
    with pytest.raises(InputError, match=r"^column 'colour' holds text values .*numeric columns only") as error:
        dask_pipeline.fit_frame(frame, "kind")
    assert "\n" not in str(error.value)
    assert dask_pipeline.numeric_columns(frame, "kind", drop=["colour"])[0] == FEATURES


def run_cli(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_trains_on_a_parquet_folder_and_predicts_a_csv_like_the_in_memory_model(client, tmp_path, capsys):
    table = write_table(tmp_path / "train")
    test = write_table(tmp_path / "test", seed=7, n=120, parts=1)
    model = tmp_path / "model.skops"
    status, out, err = run_cli(capsys, "train", "--data", tmp_path / "train" / "*.parquet", "--target", "kind",
                               "--test", tmp_path / "test" / "part0.parquet", "--scheduler", client.scheduler.address,
                               "--recipe", "seed", "--lr", "0.5", "--epochs", "15", "--hidden", "8", "--seed", "1",
                               "--out", model)
    assert status == 0, err
    assert f"{N} train / 120 test rows" in out and "'rownames': identifier" in out
    ref = in_memory_reference(table, n_hidden=8, recipe="seed", lr=0.5, max_iter=15, random_state=1)
    accuracy = np.mean(ref.predict(test[FEATURES].to_numpy()) == test["kind"].to_numpy())
    assert f"accuracy {accuracy:.2%}" in out.split("test      ")[1]

    test.to_csv(tmp_path / "test.csv", index=False)
    status, out, err = run_cli(capsys, "predict", "--model", model, "--data", tmp_path / "test.csv")
    assert status == 0, err
    predicted = pd.read_csv(pd.io.common.StringIO(out))["prediction"].tolist()
    assert predicted == ref.predict(test[FEATURES].to_numpy()).tolist()


def test_cli_holds_out_a_test_split_and_predicts_chunk_by_chunk_on_dask(client, tmp_path, capsys):
    table = write_table(tmp_path / "train")
    model = tmp_path / "model.skops"
    status, out, err = run_cli(capsys, "train", "--data", tmp_path / "train", "--target", "kind", "--dask",
                               "--epochs", "5", "--hidden", "8", "--test-size", "0.25", "--out", model)
    assert status == 0, err
    assert f"{N - N // 4} train / {N // 4} test rows" in out
    assert "full batch" in err and "mini-batch size is ignored" in err   # the default recipe's batch of 64
    assert rm.load_model(model)[-1].n_iter_ == 5

    status, out, err = run_cli(capsys, "predict", "--model", model, "--data", tmp_path / "train" / "*.parquet",
                               "--scheduler", client.scheduler.address, "--proba")
    assert status == 0, err
    lines = pd.read_csv(pd.io.common.StringIO(out))
    expected = rm.load_model(model).predict_proba(table)
    assert len(lines) == N and rel(lines.iloc[:, 1:].to_numpy(), expected) <= 1e-12
    assert lines["prediction"].tolist() == rm.load_model(model).predict(table).tolist()


def test_cli_a_categorical_column_on_dask_is_a_one_line_error(client, tmp_path, capsys):
    table = write_table(tmp_path / "train")
    table["colour"] = np.where(table["alpha"] > 0, "red", "blue")
    table.to_parquet(tmp_path / "with_text.parquet", index=False)
    status, out, err = run_cli(capsys, "train", "--data", tmp_path / "with_text.parquet", "--target", "kind",
                               "--scheduler", client.scheduler.address, "--out", tmp_path / "m.skops")
    assert status == 2
    assert err.startswith("error: column 'colour' holds text values") and err.count("\n") == 1
    assert not (tmp_path / "m.skops").exists()


def test_the_readme_cluster_example_runs(client, tmp_path):
    import pathlib
    import re

    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## On a cluster (Dask)", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```py\n(.*?)```", section, flags=re.S)
    table = write_table(tmp_path / "folder")
    table = table.rename(columns={"kind": "label"})
    for k, rows in enumerate(np.array_split(np.arange(N), 4)):
        table.iloc[rows].to_parquet(tmp_path / "folder" / f"part{k}.parquet", index=False)
    code = (code.replace("tcp://HOST:8786", client.scheduler.address)
                .replace("folder/*.parquet", str(tmp_path / "folder" / "*.parquet"))
                .replace('"model.skops"', repr(str(tmp_path / "model.skops")))
                .replace('optimizer="lbfgs"', 'optimizer="lbfgs", max_iter=15'))   # the same call, shorter
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    namespace["client"].close()
    model = rm.load_model(tmp_path / "model.skops")
    assert model[-1].training_options()["optimizer"] == "lbfgs"
    majority = table["label"].value_counts(normalize=True).max()
    assert np.mean(model.predict(table) == table["label"].to_numpy()) > majority + 0.2
