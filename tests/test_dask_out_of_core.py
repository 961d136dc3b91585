"""Out of core for real: Parquet twice the size of the workers' memory, trained full batch on Dask.

Two workers of 768 MiB each read about 3.2 GB of float32 rows at every step; neither they nor the
client ever hold the data. The reference is exact and small: the files are 98 copies of one block
A of rows plus one different block B, so the mean loss over all the rows equals the in-memory
loss over A and B with sample weights 98 on A's rows and 1 on B's (a missing or doubled file
would change it).
"""
import math
import os
import shutil
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
psutil = pytest.importorskip("psutil")

import cloudpickle
import dask.dataframe as dd
from distributed import Client, LocalCluster

import residual_mlp as rm
from residual_mlp.dask_training import fit_dask, from_frame

WORKERS, MEMORY_LIMIT = 2, 768 * 2**20
D, M, C = 32, 8, 3
ROWS = 250_000           # rows per file: 33 MB of float32 features and int32 labels
STEPS = 3


def block(seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((ROWS, D), dtype=np.float32)
    y = (X[:, :C] + 0.5 * rng.standard_normal((ROWS, C), dtype=np.float32)).argmax(axis=1).astype(np.int32)
    return X, y


def write(path, X, y):
    columns = {f"f{j}": X[:, j] for j in range(D)}
    columns["label"] = y
    pq.write_table(pa.table(columns), path, compression="none")


def test_full_batch_steps_on_parquet_twice_the_workers_memory(tmp_path):
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    X_a, y_a = block(0)
    X_b, y_b = block(1)
    row_bytes = X_a.itemsize * D + y_a.itemsize
    copies = math.ceil(2 * WORKERS * MEMORY_LIMIT / (ROWS * row_bytes))
    write(tmp_path / "a000.parquet", X_a, y_a)
    for k in range(1, copies):
        shutil.copyfile(tmp_path / "a000.parquet", tmp_path / f"a{k:03d}.parquet")
    write(tmp_path / "b.parquet", X_b, y_b)
    total_bytes = (copies + 1) * ROWS * row_bytes
    assert total_bytes >= 2 * WORKERS * MEMORY_LIMIT

    frame = dd.read_parquet(str(tmp_path / "*.parquet"))
    assert frame.npartitions == copies + 1            # one file per partition, none merged
    X, y, _ = from_frame(frame, "label", dtype=np.float32)
    params = rm.init_params(D, M, C, seed=0, dtype=np.float32)

    me = psutil.Process()
    with (LocalCluster(n_workers=WORKERS, threads_per_worker=1, memory_limit=MEMORY_LIMIT,
                       processes=True, dashboard_address=None) as cluster,
          Client(cluster) as client):
        pids = client.run(os.getpid)
        baseline, peak, done = me.memory_info().rss, [0], threading.Event()

        def watch():
            while not done.wait(0.05):
                peak[0] = max(peak[0], me.memory_info().rss)

        watcher = threading.Thread(target=watch)
        watcher.start()
        started = time.perf_counter()
        try:
            fitted, history, _ = fit_dask(params, X, y, lr=0.5, epochs=STEPS, client=client)
        finally:
            done.set()
            watcher.join()
        elapsed = time.perf_counter() - started
        assert client.run(os.getpid) == pids          # no worker died or was restarted
    print(f"\n{STEPS} full-batch steps over {total_bytes / 1e9:.2f} GB of Parquet on {WORKERS} workers "
          f"of {MEMORY_LIMIT / 2**20:.0f} MiB: {elapsed:.1f} s; client memory grew by "
          f"{(peak[0] - baseline) / 2**20:.0f} MiB")
    assert peak[0] - baseline < 256 * 2**20           # the client never held the data

    weights = np.concatenate([np.full(ROWS, copies, np.float32), np.ones(ROWS, np.float32)])
    reference, history_ref = rm.fit(params, np.concatenate([X_a, X_b]), np.concatenate([y_a, y_b]),
                                    sample_weight=weights, lr=0.5, epochs=STEPS)
    assert history.stop_reason == "max_epochs" and len(history) == STEPS
    np.testing.assert_allclose(history.loss, history_ref.loss, rtol=2e-5)
    np.testing.assert_allclose(history.accuracy, history_ref.accuracy, rtol=2e-5)
    for W, W_ref in zip(fitted, reference):
        assert W.dtype == np.float32
        np.testing.assert_allclose(W, W_ref, rtol=0, atol=2e-5 * np.abs(W_ref).max())
    assert history.loss[-1] < history.loss[0]
