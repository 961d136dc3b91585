"""Full-batch training on Dask equals the in-memory training of train.fit.

Every comparison is against the in-memory reference (`model.loss_and_grads`, `train.fit`,
scikit-learn's transformers) on the same rows, on a 2-worker LocalCluster (processes, one thread
each) and on the threads scheduler.
"""
import os
import signal
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("dask.array")
pytest.importorskip("distributed")

import cloudpickle
import dask
import dask.array as da
import dask.dataframe as dd
import pandas as pd
from distributed import Client, LocalCluster

import residual_mlp as rm
from residual_mlp import checkpoint
from residual_mlp.dask_training import (
    fit_dask,
    from_frame,
    loss_and_grads_dask,
    predict_dask,
    predict_proba_dask,
    prepass,
    select_rows,
)
from residual_mlp.errors import InputError

N, D, M, C = 600, 6, 8, 3


@pytest.fixture(scope="module")
def client():
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this file
    with (LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
          Client(cluster) as c):
        yield c


@pytest.fixture(params=["threads", "distributed"])
def scheduler(request):
    """Yields the client to pass (None for the threads scheduler), with that scheduler active."""
    if request.param == "threads":
        with dask.config.set(scheduler="threads"):
            yield None
    else:
        yield request.getfixturevalue("client")


def data(seed=0, n=N, weighted=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, D)) * rng.uniform(0.5, 2.0, D)
    y = rng.integers(0, C, n)
    w = rng.uniform(0.0, 3.0, n) if weighted else None
    return X, y, w


def chunked(X, y, w, rows):
    chunks = (rows,)
    Xd = da.from_array(X, chunks=(chunks[0], (D,)))
    yd = da.from_array(y, chunks=chunks)
    wd = None if w is None else da.from_array(w, chunks=chunks)
    return Xd, yd, wd


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(np.asarray(b))))


PARAMS = rm.init_params(D, M, C, seed=3)
ROWS = (70, 130, 100, 1, 99, 200)   # uneven chunks, one of a single row


@pytest.mark.parametrize("weighted", [False, True])
def test_loss_and_grads_equal_in_memory(scheduler, weighted):
    X, y, w = data(weighted=weighted)
    loss, grads = loss_and_grads_dask(PARAMS, *chunked(X, y, w, ROWS), client=scheduler, split_every=2)
    loss_ref, grads_ref = rm.loss_and_grads(PARAMS, X, y, w)
    assert rel(loss, loss_ref) <= 1e-12
    for name, dW, dW_ref in zip(rm.Params._fields, grads, grads_ref):
        assert dW.dtype == np.float64
        assert rel(dW, dW_ref) <= 1e-12, name


def test_twenty_gd_steps_follow_fit(scheduler):
    X, y, _ = data()
    params, history, state = fit_dask(PARAMS, *chunked(X, y, None, ROWS)[:2], lr=0.5, epochs=20,
                                      client=scheduler)
    params_ref, history_ref = rm.fit(PARAMS, X, y, lr=0.5, epochs=20, batch_size=None)
    for W, W_ref in zip(params, params_ref):
        assert rel(W, W_ref) <= 1e-10
    assert rel(history.loss, history_ref.loss) <= 1e-10
    assert history.accuracy == history_ref.accuracy
    assert rel(history.grad_norm, history_ref.grad_norm) <= 1e-10
    assert history.stop_reason == "max_epochs" and state.epoch == 20
    assert history.loss[-1] < history.loss[0]


@pytest.mark.parametrize("persist", [False, True])
def test_rerun_with_same_chunking_is_bit_identical(client, persist):
    X, y, w = data(weighted=True)
    runs = [fit_dask(PARAMS, *chunked(X, y, None, ROWS)[:2], sample_weight=chunked(X, y, w, ROWS)[2],
                     lr=0.5, epochs=4, client=client, persist=persist, split_every=3)[0]
            for _ in range(2)]
    for W, V in zip(*runs):
        assert np.array_equal(W, V)


@pytest.mark.parametrize("optimizer, options", [
    ("momentum", {"lr": 0.1, "lr_schedule": "cosine"}),
    ("nesterov", {"lr": 0.1, "weight_decay": 1e-2}),
    ("adam", {"lr": 0.01, "weight_decay": 1e-3, "lr_schedule": "plateau"}),
    ("lbfgs", {"weight_decay": 1e-3}),
])
def test_optimizers_follow_fit(scheduler, optimizer, options):
    X, y, w = data(weighted=True)
    Xv, yv, _ = data(seed=1, n=200)
    Xd, yd, wd = chunked(X, y, w, ROWS)
    kw = dict(options, optimizer=optimizer, epochs=12, sample_weight=w)
    params_ref, history_ref = rm.fit(PARAMS, X, y, validation_data=(Xv, yv), **kw)
    params, history, _ = fit_dask(PARAMS, Xd, yd, **dict(kw, sample_weight=wd),
                                  validation=(da.from_array(Xv, chunks=50), da.from_array(yv, chunks=50)),
                                  client=scheduler)
    assert len(history) == len(history_ref) == 12
    for W, W_ref in zip(params, params_ref):
        assert rel(W, W_ref) <= 1e-8
    assert rel(history.loss, history_ref.loss) <= 1e-10
    assert rel(history.val_loss, history_ref.val_loss) <= 1e-10
    assert history.val_accuracy == history_ref.val_accuracy
    assert history.stop_reason == history_ref.stop_reason


def test_lbfgs_converges_at_the_same_epoch_as_fit():
    """Both loops end L-BFGS-B on the same test (gtol and ftol both `tol`): a run that converges
    early stops at the same iteration, for the same reason, on Dask as in memory."""
    X, y, _ = data()
    kw = dict(optimizer="lbfgs", epochs=200, tol=1e-4)
    params_ref, history_ref = rm.fit(PARAMS, X, y, **kw)
    with dask.config.set(scheduler="threads"):
        params, history, _ = fit_dask(PARAMS, *chunked(X, y, None, ROWS)[:2], **kw)
    assert history_ref.stop_reason == "converged" and len(history_ref) < 200
    assert history.stop_reason == "converged"
    assert len(history) == len(history_ref)
    for W, W_ref in zip(params, params_ref):
        assert rel(W, W_ref) <= 1e-8


def test_early_stopping_and_checkpointed_state_match_fit(tmp_path):
    X, y, _ = data()
    Xv, yv, _ = data(seed=1, n=200)
    kw = {"lr": 2.0, "epochs": 40, "patience": 2, "tol": 1e-2}
    params_ref, history_ref = rm.fit(PARAMS, X, y, validation_data=(Xv, yv), **kw)
    with dask.config.set(scheduler="threads"):
        params, history, state = fit_dask(PARAMS, *chunked(X, y, None, ROWS)[:2], validation=(Xv, yv), **kw)
    assert history.stop_reason == history_ref.stop_reason == "early_stopping"
    assert history.best_epoch == history_ref.best_epoch
    for W, W_ref in zip(params, params_ref):
        assert rel(W, W_ref) <= 1e-10
    checkpoint.save_state(tmp_path / "state.npz", state)
    loaded, _ = checkpoint.load_state(tmp_path / "state.npz")
    assert loaded.history.loss == history.loss


def test_empty_partitions_and_zero_weight_chunks(scheduler):
    X, y, w = data(weighted=True)
    w[:100] = 0.0                                   # the first chunk weighs nothing
    rows = (100, 0, 250, 0, 0, 250)
    loss, grads = loss_and_grads_dask(PARAMS, *chunked(X, y, w, rows), client=scheduler)
    loss_ref, grads_ref = rm.loss_and_grads(PARAMS, X, y, w)
    assert rel(loss, loss_ref) <= 1e-12
    for dW, dW_ref in zip(grads, grads_ref):
        assert rel(dW, dW_ref) <= 1e-12


def test_dask_dataframe_with_unknown_chunk_sizes(scheduler):
    X, y, _ = data()
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(D)]).assign(label=y)
    ddf = dd.from_pandas(frame, npartitions=5)
    Xd, yd = ddf[[f"f{j}" for j in range(D)]], ddf["label"]
    assert np.isnan(Xd.to_dask_array().chunks[0][0])   # sizes unknown, as read_parquet gives them
    params, history, _ = fit_dask(PARAMS, Xd, yd, lr=0.5, epochs=4, client=scheduler)
    params_ref, history_ref = rm.fit(PARAMS, X, y, lr=0.5, epochs=4)
    assert rel(history.loss, history_ref.loss) <= 1e-12
    for W, W_ref in zip(params, params_ref):
        assert rel(W, W_ref) <= 1e-10
    with pytest.raises(InputError, match="chunk sizes are unknown"):
        fit_dask(PARAMS, Xd, y, epochs=1, client=scheduler)


def test_bad_input_gets_one_line_errors():
    X, y, _ = data()
    Xd, yd, _ = chunked(X, y, None, ROWS)
    with pytest.raises(InputError, match=r"chunked along its columns.*rechunk"):
        fit_dask(PARAMS, da.from_array(X, chunks=(100, 3)), yd, epochs=1)
    with pytest.raises(InputError, match="X has 5 columns, the network expects D = 6"):
        fit_dask(PARAMS, Xd[:, :5], yd, epochs=1)
    with pytest.raises(InputError, match="y has 3 row chunks, X has 6"):
        fit_dask(PARAMS, Xd, da.from_array(y, chunks=200), epochs=1)
    with pytest.raises(InputError, match="must be a dask array"):
        fit_dask(PARAMS, X, yd, epochs=1)
    with dask.config.set(scheduler="sync"), pytest.raises(InputError, match="non-negative"):
        fit_dask(PARAMS, Xd, yd, sample_weight=-np.ones(N), epochs=1)
    with dask.config.set(scheduler="sync"), pytest.raises(InputError, match="no rows"):
        fit_dask(PARAMS, Xd[:0], yd[:0], epochs=1)


def test_predict_returns_dask_arrays_equal_to_in_memory(scheduler):
    X, y, _ = data()
    Xd = chunked(X, y, None, ROWS)[0]
    proba, labels = predict_proba_dask(PARAMS, Xd), predict_dask(PARAMS, Xd)
    assert isinstance(proba, da.Array) and isinstance(labels, da.Array)
    assert proba.chunks == (ROWS, (C,)) and labels.chunks == (ROWS,)
    np.testing.assert_array_equal(labels.compute(), rm.predict(PARAMS, X))
    np.testing.assert_allclose(proba.compute(), rm.predict_proba(PARAMS, X), rtol=0, atol=1e-15)


def test_prepass_statistics_are_scikit_learns():
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, _, w = data(weighted=True)
    X = X * 1e3 + 5e4                                 # a large offset: a naive sum of squares loses digits
    X[:, 2] = 7.0                                     # a constant column
    X[::7, 1] = np.nan                                # missing values
    X[:, 4][np.arange(N) % 3 == 0] = np.nan
    labels = np.array(["cat", "dog", "emu"])[data()[1]]
    Xd = da.from_array(X, chunks=(ROWS, (D,)))
    yd = da.from_array(labels, chunks=(ROWS,))
    with dask.config.set(scheduler="threads"):
        stats = prepass(Xd, yd, da.from_array(w, chunks=(ROWS,)))
        codes = stats.y.compute()
    assert list(stats.classes) == ["cat", "dog", "emu"]
    np.testing.assert_array_equal(stats.classes[codes], labels)
    assert stats.n_samples == N and stats.class_counts.tolist() == np.bincount(codes).tolist()
    assert stats.weight_sum == pytest.approx(w.sum(), rel=1e-14)
    np.testing.assert_array_equal(stats.n_missing, np.isnan(X).sum(axis=0))
    imputer = SimpleImputer(strategy="mean").fit(X)
    scaler = StandardScaler().fit(imputer.transform(X))
    np.testing.assert_allclose(stats.statistics_, imputer.statistics_, rtol=1e-14)
    np.testing.assert_allclose(stats.mean_, scaler.mean_, rtol=1e-14)
    np.testing.assert_allclose(stats.var_, scaler.var_, rtol=1e-11, atol=0)
    np.testing.assert_array_equal(stats.scale_ == 1.0, scaler.scale_ == 1.0)
    np.testing.assert_allclose(stats.scale_, scaler.scale_, rtol=1e-11)
    ours = make_pipeline(stats.simple_imputer(), stats.standard_scaler())
    np.testing.assert_allclose(ours.transform(X), make_pipeline(imputer, scaler).transform(X),
                               rtol=1e-9, atol=1e-9)


def test_prepass_validation_split_is_stratified_seeded_and_lazy():
    X, y, _ = data(n=1000)
    y[:10] = 0
    Xd, yd, _ = chunked(X, y, None, (250, 0, 300, 450))
    with dask.config.set(scheduler="threads"):
        stats = prepass(Xd, yd)
        mask = stats.validation_mask(0.2, seed=5)
        assert isinstance(mask, da.Array)
        chosen = mask.compute()
        again = stats.validation_mask(0.2, seed=5).compute()
        other = stats.validation_mask(0.2, seed=6).compute()
        X_val = select_rows(Xd, mask).compute()
        y_train = select_rows(yd, ~mask).compute()
    np.testing.assert_array_equal(chosen, again)
    assert not np.array_equal(chosen, other)
    assert chosen.sum() == 200
    counts = np.bincount(y, minlength=C)
    for c in range(C):
        assert abs(int(chosen[y == c].sum()) - 0.2 * counts[c]) <= 1   # per class, to the row
    np.testing.assert_array_equal(X_val, X[chosen])
    np.testing.assert_array_equal(y_train, y[~chosen])


def _slow_copy(block):
    time.sleep(0.15)
    return block.copy()


def test_killed_worker_mid_step_is_recomputed_and_checkpoint_resumes(client, tmp_path):
    X, y, _ = data()
    Xd, yd, _ = chunked(X, y, None, (75,) * 8)
    Xd = Xd.map_blocks(_slow_copy, dtype=Xd.dtype)   # each step takes about 0.6 s
    params_ref, history_ref, _ = fit_dask(PARAMS, Xd, yd, lr=0.5, epochs=4, client=client, persist=False)

    step_two_done = threading.Event()
    killed = []

    def on_epoch(state):
        if state.epoch == 2:
            checkpoint.save_state(tmp_path / "epoch2.npz", state)
            step_two_done.set()

    def kill_a_worker():
        step_two_done.wait(60)
        time.sleep(0.3)  # inside step 3
        killed.append(next(iter(client.run(os.getpid).values())))
        os.kill(killed[0], signal.SIGKILL)

    killer = threading.Thread(target=kill_a_worker)
    killer.start()
    params, history, _ = fit_dask(PARAMS, Xd, yd, lr=0.5, epochs=4, client=client, persist=False,
                                  callback=on_epoch)
    killer.join()
    assert history.stop_reason == "max_epochs"
    assert history.loss == history_ref.loss          # the lost chunks were recomputed, bit for bit
    for W, V in zip(params, params_ref):
        assert np.array_equal(W, V)
    client.wait_for_workers(2, timeout=60)
    assert killed and killed[0] not in client.run(os.getpid).values()   # the nanny started a new one

    state, _ = checkpoint.load_state(tmp_path / "epoch2.npz")
    params_resumed, history_resumed, _ = fit_dask(None, Xd, yd, lr=0.5, epochs=4, client=client,
                                                  persist=False, resume=state)
    assert history_resumed.loss == history_ref.loss
    for W, V in zip(params_resumed, params_ref):
        assert np.array_equal(W, V)


def test_from_frame_keeps_parquet_columns_partitioned_alike(tmp_path):
    X, y, w = data(weighted=True)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(D)]).assign(label=y, weight=w)
    for k, rows in enumerate(np.array_split(np.arange(N), 6)):
        frame.iloc[rows].to_parquet(tmp_path / f"part{k}.parquet")
    stored = dd.read_parquet(str(tmp_path / "*.parquet"))
    Xd, yd, wd = from_frame(stored, "label", sample_weight="weight")
    assert Xd.numblocks[0] == yd.numblocks[0] == wd.numblocks[0] == 6
    with dask.config.set(scheduler="threads"):
        loss, grads = loss_and_grads_dask(PARAMS, Xd, yd, wd)
    loss_ref, grads_ref = rm.loss_and_grads(PARAMS, X, y, w)
    assert rel(loss, loss_ref) <= 1e-12
    for dW, dW_ref in zip(grads, grads_ref):
        assert rel(dW, dW_ref) <= 1e-12
    with pytest.raises(InputError, match="column 'species' not found"):
        from_frame(stored, "species")


@pytest.mark.sklearn_1_9
def test_the_estimator_on_dask_reports_its_epochs_to_callbacks_and_stops_when_asked():
    from residual_mlp import ResidualMLPClassifier

    class StopAtTwo:
        def __init__(self):
            self.ends = []

        def setup(self, estimator, context):
            pass

        def teardown(self, estimator, context):
            pass

        def on_fit_task_begin(self, estimator, context):
            pass

        def on_fit_task_end(self, estimator, context, *, X=None, fitted_estimator=None):
            if context.task_name != "epoch" or fitted_estimator is None:
                return False
            self.ends.append((X, fitted_estimator.params_))
            return len(self.ends) == 2

    X, y, _ = data()
    Xd, yd, _ = chunked(X, y, None, ROWS)
    stop = StopAtTwo()
    with dask.config.set(scheduler="threads"):
        est = ResidualMLPClassifier(n_hidden=M, recipe="seed", max_iter=10, random_state=0).set_callbacks(stop)
        est.fit(Xd, yd)
    assert est.n_iter_ == 2 and est.stop_reason_ == "stopped"
    assert [x for x, _ in stop.ends] == [None, None]  # no data: scoring would compute the collection each epoch
    for W, V in zip(stop.ends[-1][1], est.params_):
        np.testing.assert_array_equal(W, V)
