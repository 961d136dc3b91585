"""Full-batch training on Dask: one step is a map over row chunks and a tree sum of exact partial sums.

The seed's objective is a mean over samples, L = (1/N) sum_i J_i, so L and each dL/dWk are sums over
rows. A chunk of rows X_b (n_b, D) therefore contributes exact partial sums

    S_b = ( sum_{i in b} w_i J_i,  sum_{i in b} w_i [argmax theta_i = y_i],  sum_{i in b} w_i,
            sum_{i in b} w_i dJ_i/dW1, ..., sum_{i in b} w_i dJ_i/dW4 )         (w_i = 1 unweighted)

computed by `model.forward`, `model.cross_entropy` and `model.backward` themselves: cross_entropy
normalises a chunk by its own weight total T_b (1/n_b unweighted), so the chunk's dtheta is multiplied
back by T_b before `backward` (which is linear in dtheta), giving the unnormalised sums. The S_b are
packed in one float64 row each, added in a fixed tree (`dask.array` sum with `split_every`), and the
1/N (or 1/sum w) is applied once, to the total, on the client. The step itself (`optim.step`), the
schedule, early stopping and the history are those of `train.fit` with `batch_size=None`.

Exactness: the totals equal the in-memory `model.loss_and_grads` up to the order of floating-point
additions (about 1e-15 relative in float64); the tree depends only on the chunking and `split_every`,
never on which worker finishes first, so a rerun with the same chunking is bit-identical.

Data movement per step: the weights go to every worker once (scattered, with `distributed`; inside the
graph with the threads / processes schedulers), and each chunk sends back one row of
3 + D^2 + MD + M^2 + CM float64. Data that fit comfortably in the cluster's memory are persisted on the
workers before the first step; larger data are re-read from their source at every step.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import numpy as np

from . import model, optim, sparse, workspace
from .errors import InputError
from .model import Params
from .monitor import drop_unfinished_row as _drop_unfinished_row
from .monitor import monitor as _monitor
from .monitor import n_hits as _n_hits
from .train import (
    DIVERGENCE_FACTOR,
    History,
    TrainState,
    _check_options,
    _schedule_factor,
    _stop_diverged,
    _stop_non_finite,
)

N_STATS = 3  # loss sum, correct (weighted) count, weight total: the head of each packed partial sum
PERSIST_FRACTION = 0.5  # persist the data when they take at most this share of the cluster's memory


# ---------------------------------------------------------------------------------------------------
# the chunk kernel: exact unnormalised partial sums of one block of rows


def _unpack(vector, shapes):
    """Params of views into the flat weight vector (P,)."""
    bounds = np.cumsum([0] + [a * b for a, b in shapes])
    return Params(*(vector[a:b].reshape(shape) for a, b, shape in zip(bounds[:-1], bounds[1:], shapes)))


def _chunk_sums(x, y, w, vector, shapes, with_grads):
    """One packed row (1, 3 + P) float64: loss sum, correct count, weight total, gradient sums.

    The chunk is taken in sub-blocks of at most `_block_rows` rows, so a worker's memory for the
    activations stays near SUB_BLOCK_BYTES whatever the partition size; each sub-block runs through
    `workspace.Workspace` (model.py's equations in reused buffers, equal to them bit for bit), and its
    sums are added into the float64 row in order.
    """
    params = _unpack(vector, shapes)
    (D, _), (M, _), _, (C, _) = shapes
    P = vector.size if with_grads else 0
    out = np.zeros((1, N_STATS + P))                                   # (1, 3 + P)
    n = x.shape[0]
    y = model._as_labels(y.reshape(-1), n, C)
    if w is not None:
        w = np.asarray(w, dtype=vector.dtype).reshape(-1)
        if np.any(w < 0) or not np.all(np.isfinite(w)):
            raise InputError("sample_weight must be finite and non-negative")
    rows = _block_rows(D, M, C, vector.dtype)
    for i in range(0, n, rows):
        xb, yb, wb = x[i:i + rows], y[i:i + rows], (None if w is None else w[i:i + rows])
        if wb is not None and not wb.any():
            continue  # rows that all weigh 0 add nothing (and cross_entropy has no total to divide by)
        ws = _workspace(xb.shape[0], D, M, C, vector.dtype)
        loss = ws.loss(params, xb, yb, wb)             # normalised by this sub-block's total T_b
        total = xb.shape[0] if wb is None else wb.sum()  # T_b, as cross_entropy rounds it
        out[0, 0] += float(loss) * float(total)
        out[0, 1] += _n_hits(ws.predicted, yb, wb)
        out[0, 2] += float(total)
        if with_grads:
            ws.dtheta *= total                         # undo the 1/T_b: unnormalised sums
            offset = N_STATS
            for dW in ws.backward(params):             # dW1..dW4, in the weight vector's order
                out[0, offset:offset + dW.size] += dW.ravel()
                offset += dW.size
    return out


SUB_BLOCK_BYTES = 64 * 2**20  # activations' memory per sub-block of a chunk
_local = threading.local()


def _block_rows(D, M, C, dtype):
    """Rows per sub-block: about SUB_BLOCK_BYTES of activations (2 (N, D), 4 (N, M), 4 (N, C))."""
    per_row = (2 * D + 4 * M + 4 * C) * np.dtype(dtype).itemsize
    return max(1, SUB_BLOCK_BYTES // per_row)


def _workspace(n, D, M, C, dtype):
    """This thread's Workspace for sub-blocks of n rows (the latest two shapes are kept)."""
    cache = getattr(_local, "workspaces", None)
    if cache is None:
        cache = _local.workspaces = {}
    key = (n, D, M, C, np.dtype(dtype).str)
    if key not in cache:
        if len(cache) >= 2:
            cache.pop(next(iter(cache)))
        cache[key] = workspace.Workspace(n, D, M, C, dtype)
    return cache[key]


# ---------------------------------------------------------------------------------------------------
# input checks


def _as_dask_rows(a, name, ndim):
    """A dask array from a dask array, DataFrame or Series (chunk sizes may stay unknown)."""
    import dask.array as da

    if hasattr(a, "to_dask_array") and not isinstance(a, da.Array):
        a = a.to_dask_array()
    if sparse.is_sparse(a):
        raise InputError(f"{name} is a SciPy sparse matrix: the Dask path takes dask arrays; train on it in "
                         f"memory (residual_mlp.fit, ResidualMLPClassifier.fit), a block of rows at a time")
    if not isinstance(a, da.Array):
        raise InputError(f"{name} must be a dask array or dask DataFrame/Series, got {type(a).__name__}")
    if sparse.is_sparse(getattr(a, "_meta", None)):
        raise InputError(f"{name} is a dask array of sparse chunks, which the Dask path does not take: densify "
                         f"its chunks ({name}.map_blocks(lambda b: b.toarray())), or train in memory on one "
                         f"SciPy sparse matrix")
    if a.ndim == 2 and ndim == 1 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != ndim:
        raise InputError(f"{name} must have {ndim} dimension(s), got shape {a.shape}")
    if ndim == 2 and len(a.chunks[1]) != 1:
        raise InputError(f"{name} is chunked along its columns ({len(a.chunks[1])} column chunks); "
                         f"training needs whole rows in each chunk: use {name}.rechunk({{1: -1}})")
    return a


def _aligned(a, X, name):
    """`a` (1-D) as a dask array with X's row chunks; numpy input is chunked like X."""
    import dask.array as da

    if a is None:
        return None
    if not hasattr(a, "dask") and not hasattr(a, "to_dask_array"):
        a = np.asarray(a)
        if any(math.isnan(c) for c in X.chunks[0]):
            raise InputError(f"{name} is an in-memory array but X's chunk sizes are unknown; pass {name} "
                             f"as a dask collection partitioned like X, or call X.compute_chunk_sizes()")
        if a.shape[:1] != X.shape[:1]:
            raise InputError(f"{name} has {a.shape[0] if a.ndim else 0} rows, X has {X.shape[0]}")
        a = da.from_array(a, chunks=(X.chunks[0],) + a.shape[1:])
    a = _as_dask_rows(a, name, 1)
    if a.numblocks[0] != X.numblocks[0]:
        raise InputError(f"{name} has {a.numblocks[0]} row chunks, X has {X.numblocks[0]}: they must be "
                         f"partitioned alike (for columns of one dask DataFrame use "
                         f"dask_training.from_frame)")
    known = not any(math.isnan(c) for c in X.chunks[0] + a.chunks[0])
    if known and a.chunks[0] != X.chunks[0]:
        raise InputError(f"{name}'s row chunks {a.chunks[0]} differ from X's {X.chunks[0]}")
    return a


def from_frame(frame, target, *, features=None, sample_weight=None, dtype=np.float64):
    """(X, y, w) dask arrays from one dask DataFrame, partitioned alike (one chunk per partition).

    X (N, D) holds `features` (default: every column but `target` and `sample_weight`) in `dtype`,
    y (N,) the `target` column as it is (a text or other pandas extension dtype as objects), w (N,)
    the `sample_weight` column (or None). Chunk sizes
    stay unknown and the file is read once per computation. Selecting X and y separately from a
    Parquet-backed frame does not do this: dask may merge the partitions of a narrow column.
    """
    import dask
    import dask.array as da

    names = [str(c) for c in frame.columns]
    for name in [target] + ([] if sample_weight is None else [sample_weight]):
        if name not in names:
            raise InputError(f"column {name!r} not found; the columns are {', '.join(names[:12])}")
    if features is None:
        features = [c for c in frame.columns if c not in (target, sample_weight)]
    columns = list(features) + [target] + ([] if sample_weight is None else [sample_weight])
    parts = frame[columns].to_delayed()
    D = len(features)

    def pieces(pick, shape, kind):
        blocks = [da.from_delayed(dask.delayed(pick)(part), shape=shape, dtype=kind) for part in parts]
        return da.concatenate(blocks, axis=0, allow_unknown_chunksizes=True)

    X = pieces(_frame_features(features, dtype), (math.nan, D), dtype)
    label_dtype = frame[target].dtype
    text = not isinstance(label_dtype, np.dtype)  # pandas' str and other extension dtypes: as objects
    y = pieces(_frame_column(target, object if text else None), (math.nan,), object if text else label_dtype)
    w = None if sample_weight is None else pieces(_frame_column(sample_weight, dtype), (math.nan,), dtype)
    return X, y, w


class _frame_features:
    def __init__(self, features, dtype):
        self.features, self.dtype = list(features), dtype

    def __call__(self, part):
        return np.ascontiguousarray(part[self.features].to_numpy(dtype=self.dtype))  # rows contiguous


class _frame_column:
    def __init__(self, name, dtype):
        self.name, self.dtype = name, dtype

    def __call__(self, part):
        return part[self.name].to_numpy(dtype=self.dtype)


def _client_or_none(client):
    """The distributed Client to use: the one given, else the default one unless a local scheduler
    is configured; None for the threads / processes / synchronous schedulers."""
    if client is not None:
        return client
    import dask

    if dask.config.get("scheduler", None) not in (None, "dask.distributed", "distributed"):
        return None
    try:
        from distributed import default_client
        return default_client()
    except (ImportError, ValueError):
        return None


def _memory_for_data(client):
    """Bytes the data may take when persisted: a share of the workers' (or this machine's) memory."""
    if client is not None:
        workers = client.scheduler_info(n_workers=-1)["workers"].values()
        total = sum(w.get("memory_limit") or 0 for w in workers)
    else:
        try:
            import psutil
        except ImportError:
            return 0
        total = psutil.virtual_memory().available
    return PERSIST_FRACTION * total


# ---------------------------------------------------------------------------------------------------
# the reduction


class _Reducer:
    """Builds and computes the per-step reduction of (X, y, w) at given weights."""

    def __init__(self, X, y, w, client, split_every, shapes, dtype):
        self.X, self.y, self.w = X, y, w
        self.weighted = False  # for a packed X (y and w None): whether its last column is w
        self.client, self.split_every = client, split_every
        self.shapes, self.dtype = shapes, dtype
        self.P = sum(a * b for a, b in shapes)
        self.bytes_moved = 0  # partial sums sent back + weights sent out, over all evaluations

    def sums(self, params, with_grads=True):
        """The packed total (3 + P,) float64 over all rows at `params`."""
        import dask.array as da

        vector = np.concatenate([W.ravel() for W in params]).astype(self.dtype, copy=False)  # (P,)
        if self.client is not None:
            weights = self.client.scatter(vector, broadcast=True, hash=False)
            self.bytes_moved += vector.nbytes * len(self.client.scheduler_info(n_workers=-1)["workers"])
        else:
            weights = vector
        width = N_STATS + (self.P if with_grads else 0)
        nb = self.X.numblocks[0]
        if self.w is None and self.y is None:  # one packed array [x | y | w] per chunk, see _pack
            parts = da.map_blocks(_kernel_packed, self.X, weights, self.shapes, with_grads, self.weighted,
                                  chunks=((1,) * nb, (width,)), dtype=np.float64)
        else:
            args = [self.X, self.y[:, None]] + ([] if self.w is None else [self.w[:, None]])
            kernel = _kernel_weighted if self.w is not None else _kernel
            parts = da.map_blocks(kernel, *args, weights, self.shapes, with_grads,
                                  chunks=((1,) * nb, (width,)), dtype=np.float64)
        total = parts.sum(axis=0, split_every=self.split_every)
        self.bytes_moved += nb * width * 8
        if self.client is not None:
            result = self.client.compute(total).result()
            weights.release()
        else:
            (result,) = __import__("dask").compute(total)
        return np.asarray(result, dtype=np.float64)

    def loss_and_grads(self, params):
        """(loss, accuracy, total weight, grads Params in the training dtype), normalised once."""
        sums = self.sums(params, with_grads=True)
        total = sums[2]
        if not total > 0:
            raise InputError("the training data have no rows (or all sample weights are 0)")
        grads = _unpack((sums[N_STATS:] / total).astype(self.dtype), self.shapes)
        return sums[0] / total, sums[1] / total, total, Params(*(np.array(g) for g in grads))


def _kernel_packed(xyw, vector, shapes, with_grads, weighted):
    D = shapes[0][0]
    x = np.ascontiguousarray(xyw[:, :D])
    w = xyw[:, D + 1] if weighted else None
    return _chunk_sums(x, xyw[:, D].astype(np.intp), w, vector, shapes, with_grads)


def _pack(x, y, w=None):
    """[x | y | w] (n, D + 1 or D + 2) in x's dtype: one block per chunk, so that a chunk's rows,
    labels and weights are persisted on the same worker (class indices are exact as floats)."""
    return np.concatenate([x, y.reshape(-1, 1).astype(x.dtype)]
                          + ([] if w is None else [w.reshape(-1, 1).astype(x.dtype)]), axis=1)


def _kernel(x, y, vector, shapes, with_grads):
    return _chunk_sums(x, y, None, vector, shapes, with_grads)


def _kernel_weighted(x, y, w, vector, shapes, with_grads):
    return _chunk_sums(x, y, w, vector, shapes, with_grads)


# ---------------------------------------------------------------------------------------------------
# fit


def fit_dask(params: Params, X, y, *, lr=0.1, epochs=100, optimizer="gd", momentum=0.9,
             betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, lr_schedule="constant",
             sample_weight=None, validation=None, patience=None, tol=1e-4, seed=None, callback=None,
             resume=None, client=None, split_every=None, persist="auto"):
    """Full-batch training on Dask collections; the same rules and records as `train.fit`.

    Parameters
    ----------
    params : Params
        Initial weights; never modified. Their dtype is the training dtype.
    X : dask array (N, D) or dask DataFrame
        Features, chunked by rows only (all D columns in one chunk); chunk sizes may be unknown.
        Never gathered on the client.
    y : dask array (N,) or dask Series
        Integer class indices in [0, C), partitioned like X (a NumPy array is chunked like X).
    lr, epochs, optimizer, momentum, betas, eps, weight_decay, lr_schedule, patience, tol
        As in `train.fit` (full batch: an epoch is one step; "lbfgs" runs scipy on the client,
        one reduction per function evaluation).
    sample_weight : dask array (N,) or None
        Per-sample weights, partitioned like X: loss ``sum_i w_i J_i / sum_i w_i``.
    validation : (X_val, y_val) or None
        A validation set (dask or NumPy), for the history's val_* columns and early stopping.
    seed : int or None
        Recorded in the state (full-batch training draws no random numbers).
    callback : callable(TrainState) or None
        Called after every finished epoch (checkpoints: `checkpoint.save_state`); returning True
        ends training there (stop_reason "stopped"), as in `train.fit`.
    resume : TrainState or None
        Continue a run (then `params` is ignored).
    client : distributed.Client or None
        None: the default client if there is one, else the configured local scheduler.
    split_every : int or None
        Fan-in of the tree that adds the chunks' partial sums (dask's default when None).
    persist : "auto", bool
        "auto": persist X, y and the weights on the workers when they take at most half of the
        cluster's memory (the client machine's for local schedulers), else re-read them every step.

    Returns
    -------
    params, history, state : Params, History, TrainState
        As `train.fit(..., return_state=True)`.

    Raises
    ------
    InputError
        X chunked along columns, a feature count other than D, y or weights partitioned unlike X,
        no rows, negative or non-finite weights.
    """
    _check_options(lr, epochs, None, optimizer, weight_decay, lr_schedule, patience)
    start_params = params if resume is None else resume.params
    dtype = start_params.W1.dtype
    shapes = [W.shape for W in start_params]
    D = start_params.W1.shape[0]
    X = _as_dask_rows(X, "X", 2)
    if X.shape[1] != D:
        raise InputError(f"X has {X.shape[1]} columns, the network expects D = {D}")
    y = _aligned(y, X, "y")
    w = _aligned(sample_weight, X, "sample_weight")
    client = _client_or_none(client)
    val = None
    if validation is not None:
        X_val = _as_dask_rows(_to_dask(validation[0]), "validation X", 2)
        if X_val.shape[1] != D:
            raise InputError(f"validation X has {X_val.shape[1]} columns, the network expects D = {D}")
        y_val = _aligned(validation[1], X_val, "validation y")
        val = (X_val, y_val)
    if persist == "auto":
        pieces = [a for a in (X, y, w) + (val or ()) if a is not None]
        nbytes = sum(a.nbytes for a in pieces)
        persist = math.isfinite(nbytes) and nbytes <= _memory_for_data(client)
    if persist:
        reducer = _packed_reducer(client, X, y, w, split_every, shapes, dtype)
        val_reducer = None if val is None else _packed_reducer(client, *val, None, split_every, shapes, dtype)
    else:
        reducer = _Reducer(X, y, w, client, split_every, shapes, dtype)
        val_reducer = None if val is None else _Reducer(*val, None, client, split_every, shapes, dtype)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    if resume is None:
        state = TrainState(params=Params(*(np.array(W) for W in params)),
                           opt_state=optim.init_state(optimizer, params), epoch=0, seed=seed,
                           history=History())
    else:
        state = resume
        validated_before = len(state.history.val_loss) == len(state.history.loss) > 0
        if validated_before != (val is not None):
            state.monitor_best, state.monitor_bad, state.plateau_bad = math.inf, 0, 0
            state.best_params = None
    hyper = {"lr": lr, "epochs": epochs, "optimizer": optimizer, "momentum": momentum, "betas": betas,
             "eps": eps, "weight_decay": weight_decay, "lr_schedule": lr_schedule, "patience": patience,
             "tol": tol, "validated": val is not None}
    if optimizer == "lbfgs":
        _run_lbfgs(state, reducer, val_reducer, hyper, callback)
    else:
        _run(state, reducer, val_reducer, hyper, callback)
    return Params(*(W.copy() for W in state.params)), state.history, state


def select_rows(a, mask):
    """The rows of dask array `a` (N,) or (N, D) where the dask boolean `mask` (N,) is True; lazy,
    with unknown chunk sizes (`fit_dask` accepts those). Use ~mask for the other rows."""
    import dask.array as da

    a = _as_dask_rows(a, "array", a.ndim)
    shape = ((math.nan,) * a.numblocks[0],) + tuple((n,) for n in a.shape[1:])
    m = mask[:, None] if a.ndim == 2 else mask
    return da.map_blocks(_select_block, a, m, chunks=shape, dtype=a.dtype)


def _select_block(a, m):
    return a[m.reshape(-1)]


def _to_dask(a):
    import dask.array as da

    if hasattr(a, "dask") or hasattr(a, "to_dask_array"):
        return a
    a = np.asarray(a)
    return da.from_array(a, chunks=(max(1, a.shape[0]),) + a.shape[1:])


def _packed_reducer(client, X, y, w, split_every, shapes, dtype):
    """A reducer over [x | y | w] blocks persisted on the workers (or in this process)."""
    import dask
    import dask.array as da

    width = X.shape[1] + 1 + (w is not None)
    args = [X.astype(dtype), y[:, None]] + ([] if w is None else [w[:, None]])
    packed = da.map_blocks(_pack, *args, chunks=(X.chunks[0], (width,)), dtype=dtype)
    packed = client.persist(packed) if client is not None else dask.persist(packed)[0]
    reducer = _Reducer(packed, None, None, client, split_every, shapes, dtype)
    reducer.weighted = w is not None
    return reducer


def _validation_row(val_reducer, params):
    sums = val_reducer.sums(params, with_grads=False)
    return float(sums[0] / sums[2]), float(sums[1] / sums[2])


def _grad_norm(grads):
    return math.sqrt(sum(float(np.vdot(dW, dW)) for dW in grads))


def _run(state, reducer, val_reducer, hyper, callback):
    """The epoch loop of `train._run` for full batches: one reduction (and one update) per epoch."""
    history = state.history
    epochs, optimizer, weight_decay = hyper["epochs"], hyper["optimizer"], hyper["weight_decay"]
    stepped = state.previous_params is not None
    spare = state.previous_params if stepped else Params(*(np.empty_like(W) for W in state.params))
    start = time.perf_counter() - (history.elapsed[-1] if history.elapsed else 0.0)
    lr = hyper["lr"]
    try:
        while state.epoch < epochs:
            lr = hyper["lr"] * state.lr_scale * _schedule_factor(hyper["lr_schedule"], state.epoch, epochs)
            loss, accuracy, _, grads = reducer.loss_and_grads(state.params)
            if weight_decay:
                for W, dW in zip(state.params, grads):
                    dW += weight_decay * W
            norm = _grad_norm(grads)
            if not (math.isfinite(loss) and math.isfinite(norm)):
                if stepped:  # the latest step broke the weights: go back to the ones before it
                    state.params, state.previous_params = spare, None
                _stop_non_finite(history, state.epoch + 1, lr)
                break
            optim.step(optimizer, state.params, grads, state.opt_state, spare, lr=lr,
                       momentum=hyper["momentum"], betas=hyper["betas"], eps=hyper["eps"])
            state.params, spare = spare, state.params
            state.previous_params = spare
            stepped = True
            history.loss.append(float(loss))
            history.accuracy.append(float(accuracy))
            history.lr.append(lr)
            history.grad_norm.append(norm)
            if val_reducer is not None:
                val_loss, val_accuracy = _validation_row(val_reducer, state.params)
                history.val_loss.append(val_loss)
                history.val_accuracy.append(val_accuracy)
            history.elapsed.append(time.perf_counter() - start)
            state.epoch += 1
            stop = _monitor(state, hyper)
            if history.loss[-1] > DIVERGENCE_FACTOR * history.loss[0]:  # as train.fit
                _stop_diverged(history, state.epoch, lr)
                stop = True
            if callback is not None and callback(state) is True and not stop:
                history.stop_reason = "stopped"
                history.message = f"stopped at epoch {state.epoch}, as the callback asked"
                stop = True
            if stop:
                break
        else:
            history.stop_reason = "max_epochs"
            history.message = f"reached the maximum number of epochs ({epochs})"
            if stepped and not all(np.isfinite(W).all() for W in state.params):
                state.params, state.previous_params = spare, None
                _stop_non_finite(history, state.epoch, lr)
    except KeyboardInterrupt:
        _drop_unfinished_row(history, state.epoch)
        history.stop_reason = "interrupted"
        history.message = f"interrupted after {state.epoch} epochs; kept the weights of the last step"
    if history.stop_reason == "early_stopping" and state.best_params is not None:
        state.params = Params(*(W.copy() for W in state.best_params))


def _run_lbfgs(state, reducer, val_reducer, hyper, callback):
    """scipy's L-BFGS-B on the client, as `lbfgs.fit_lbfgs`, with one reduction per evaluation."""
    from . import lbfgs
    from .lbfgs import _EarlyStop, _finish, _NonFinite

    history = state.history
    epochs, weight_decay, tol = hyper["epochs"], hyper["weight_decay"], hyper["tol"]
    dtype = reducer.dtype
    shapes = reducer.shapes
    monitor = dict(hyper, lr_schedule="constant")
    start = time.perf_counter() - (history.elapsed[-1] if history.elapsed else 0.0)

    def unflatten(vector):
        return Params(*(W.astype(dtype) for W in _unpack(vector, shapes)))

    def evaluate(vector):
        params = unflatten(vector)
        loss, accuracy, _, grads = reducer.loss_and_grads(params)
        penalty = 0.0
        if weight_decay:
            for W, dW in zip(params, grads):
                dW += weight_decay * W
                penalty += 0.5 * weight_decay * float(np.vdot(W, W))
        norm = _grad_norm(grads)
        if not (math.isfinite(loss) and math.isfinite(norm)):
            raise _NonFinite
        df = np.concatenate([dW.ravel() for dW in grads]).astype(np.float64, copy=False)  # (P,)
        return loss + penalty, df, (float(loss), float(accuracy), norm)

    last = {}

    def objective(vector):
        f, df, stats = evaluate(vector)
        last.update(vector=vector.copy(), stats=stats)
        return f, df

    def stats_at(vector):
        if "vector" not in last or not np.array_equal(last["vector"], vector):
            objective(vector)
        return last["stats"]

    entering = {}

    def on_iteration(xk):
        loss, accuracy, norm = entering["stats"]
        params = unflatten(xk)
        entering["stats"] = stats_at(xk)
        row_val = None if val_reducer is None else _validation_row(val_reducer, params)
        history.loss.append(loss)
        history.accuracy.append(accuracy)
        history.lr.append(math.nan)
        history.grad_norm.append(norm)
        if row_val is not None:
            history.val_loss.append(row_val[0])
            history.val_accuracy.append(row_val[1])
        history.elapsed.append(time.perf_counter() - start)
        state.params = params
        state.epoch += 1
        state.opt_state["step"] = state.opt_state.get("step", 0) + 1
        stop = _monitor(state, monitor)
        if callback is not None and callback(state) is True and not stop:
            _finish(history, "stopped", f"stopped at epoch {state.epoch}, as the callback asked")
            stop = True
        if stop:
            raise _EarlyStop

    maxiter = int(epochs) - state.epoch
    if maxiter < 1:
        _finish(history, "max_epochs", f"reached the maximum number of epochs ({epochs})")
        return
    x0 = np.concatenate([W.ravel() for W in state.params]).astype(np.float64, copy=False)
    lbfgs.run(objective, x0, on_iteration, state, epochs=epochs, tol=tol,
              first=lambda: entering.update(stats=stats_at(x0)))
    if history.stop_reason == "early_stopping" and state.best_params is not None:
        state.params = Params(*(W.copy() for W in state.best_params))


def loss_and_grads_dask(params: Params, X, y, sample_weight=None, *, client=None, split_every=None):
    """(loss, grads) over Dask collections: `model.loss_and_grads` computed by one tree reduction."""
    X = _as_dask_rows(X, "X", 2)
    y = _aligned(y, X, "y")
    w = _aligned(sample_weight, X, "sample_weight")
    reducer = _Reducer(X, y, w, _client_or_none(client), split_every,
                       [W.shape for W in params], params.W1.dtype)
    loss, _, _, grads = reducer.loss_and_grads(params)
    return params.W1.dtype.type(loss), grads


# ---------------------------------------------------------------------------------------------------
# prediction


def predict_proba_dask(params: Params, X):
    """Class probabilities as a lazy dask array (N, C), chunked by X's rows."""
    X = _as_dask_rows(X, "X", 2)
    C = params.W4.shape[0]
    return X.map_blocks(_proba_block, params, chunks=(X.chunks[0], (C,)), dtype=params.W1.dtype)


def predict_dask(params: Params, X):
    """Class indices as a lazy dask array (N,) of int: the argmax of the logits theta."""
    X = _as_dask_rows(X, "X", 2)
    return X.map_blocks(_predict_block, params, chunks=(X.chunks[0],), drop_axis=1, dtype=np.intp)


def forward_dask(params: Params, X, field="theta"):
    """One field of `model.forward` ("theta", "y_hat" or "log_y_hat") as a lazy dask array (N, C)."""
    if field not in ("theta", "y_hat", "log_y_hat"):
        raise ValueError(f"field must be 'theta', 'y_hat' or 'log_y_hat', got {field!r}")
    X = _as_dask_rows(X, "X", 2)
    C = params.W4.shape[0]
    return X.map_blocks(_forward_block, params, field, chunks=(X.chunks[0], (C,)), dtype=params.W1.dtype)


def _forward_block(x, params, field):
    return getattr(model.forward(params, x), field)


def _proba_block(x, params):
    return model.predict_proba(params, x)


def _predict_block(x, params):
    return model.predict(params, x).astype(np.intp, copy=False)


# ---------------------------------------------------------------------------------------------------
# the pre-pass: what preprocessing needs before training, in one pass over the data


@dataclass
class Prepass:
    """Statistics of one pass over (X, y, w), in the form scikit-learn's transformers store them.

    classes (C,) sorted labels; class_counts (C,); chunk_class_counts (B, C) per row chunk;
    n_samples N; weight_sum (N when unweighted); n_missing (D,) NaN counts per column;
    statistics_ (D,) the mean of each column's present values, as SimpleImputer(strategy="mean")
    stores it (NaN for an all-missing column); mean_, var_, scale_ (D,) and n_samples_seen_ as
    StandardScaler stores them when fitted after that imputer (the imputed values sit at the mean,
    so var_ = sum of squared deviations / N); y (N,) the lazy class indices into `classes`.
    """

    classes: np.ndarray
    class_counts: np.ndarray
    chunk_class_counts: np.ndarray
    n_samples: int
    weight_sum: float
    n_missing: np.ndarray
    statistics_: np.ndarray
    mean_: np.ndarray
    var_: np.ndarray
    scale_: np.ndarray
    n_samples_seen_: int
    y: object = None

    def simple_imputer(self):
        """A fitted sklearn SimpleImputer(strategy="mean") holding `statistics_`."""
        from sklearn.impute import SimpleImputer

        D = self.mean_.shape[0]
        imputer = SimpleImputer(strategy="mean", keep_empty_features=True).fit(np.zeros((1, D)))
        imputer.statistics_ = self.statistics_.copy()
        return imputer

    def standard_scaler(self):
        """A fitted sklearn StandardScaler holding mean_, var_, scale_, n_samples_seen_."""
        from sklearn.preprocessing import StandardScaler

        D = self.mean_.shape[0]
        scaler = StandardScaler().fit(np.zeros((2, D)))
        scaler.mean_, scaler.var_, scaler.scale_ = self.mean_.copy(), self.var_.copy(), self.scale_.copy()
        scaler.n_samples_seen_ = self.n_samples_seen_
        return scaler

    def validation_mask(self, fraction, seed):
        """A lazy boolean dask array (N,): True for the rows of a seeded, stratified validation split.

        Each class c gets round-to-total(fraction * count_c) rows (largest remainders, summing to
        ceil(fraction * N)), shared among the row chunks in proportion to their rows of class c; a
        chunk draws its rows with default_rng([seed, chunk index]). The same data, chunking and
        seed give the same split; a different chunking gives a different (equally valid) one.
        """
        counts = self.chunk_class_counts                          # (B, C)
        per_class = self._validation_counts(fraction)             # (C,)
        share = np.zeros_like(counts)
        for c in range(counts.shape[1]):
            if self.class_counts[c]:
                share[:, c] = _largest_remainder(counts[:, c] * (per_class[c] / self.class_counts[c]),
                                                 int(per_class[c]))
        return self.y.map_blocks(_mask_block, share, int(seed), dtype=bool)

    def _validation_counts(self, fraction):
        """Rows per class (C,) of `validation_mask(fraction, ...)`."""
        if not 0 < fraction < 1:
            raise InputError(f"validation fraction must lie in (0, 1), got {fraction!r}")
        per_class = _largest_remainder(fraction * self.class_counts,
                                       math.ceil(fraction * self.n_samples))   # (C,)
        return np.minimum(per_class, np.maximum(self.class_counts - 1, 0))

    def validation_size(self, fraction):
        """The number of rows `validation_mask(fraction, seed)` marks (known without a pass)."""
        return int(self._validation_counts(fraction).sum())


def _largest_remainder(quotas, total):
    """Integers summing to `total`, each floor(quota) or one more (largest remainders first)."""
    quotas = np.asarray(quotas, dtype=np.float64)
    base = np.floor(quotas).astype(np.int64)
    extra = int(total) - int(base.sum())
    if extra > 0:
        order = np.argsort(-(quotas - base), kind="stable")
        base[order[:extra]] += 1
    return base


def _mask_block(y, share, seed, block_info=None):
    b = block_info[0]["chunk-location"][0]
    rng = np.random.default_rng([seed, b])
    mask = np.zeros(y.shape[0], dtype=bool)
    for c in np.flatnonzero(share[b]):
        rows = np.flatnonzero(y == c)
        mask[rng.choice(rows, size=int(share[b, c]), replace=False)] = True
    return mask


def _column_moments(x):
    """(4, D) float64: present count, sum, sum of squared deviations from the chunk mean, min."""
    x = np.asarray(x, dtype=np.float64)
    present = ~np.isnan(x)
    n = present.sum(axis=0).astype(np.float64)                       # (D,)
    total = np.where(present, x, 0.0).sum(axis=0)                    # (D,)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, total / n, 0.0)
    m2 = np.where(present, (x - mean) ** 2, 0.0).sum(axis=0)         # (D,)
    return np.stack([n, total, m2, mean])[None]                     # (1, 4, D)


def _merge_moments(parts, axis=None, keepdims=False):
    """Chan et al.'s pairwise update of (count, sum, M2) over the stacked chunk moments."""
    parts = np.asarray(parts)
    if parts.shape[0] == 0:  # dask's metadata probe
        return parts
    n, total, m2 = parts[0, 0].copy(), parts[0, 1].copy(), parts[0, 2].copy()
    for k in range(1, parts.shape[0]):
        nb, tb, m2b = parts[k, 0], parts[k, 1], parts[k, 2]
        both = n + nb
        with np.errstate(invalid="ignore", divide="ignore"):
            delta = np.where((n > 0) & (nb > 0), tb / np.where(nb > 0, nb, 1) - total / np.where(n > 0, n, 1), 0.0)
            m2 = m2 + m2b + np.where(both > 0, delta * delta * n * nb / np.where(both > 0, both, 1), 0.0)
        n, total = both, total + tb
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, total / np.where(n > 0, n, 1), 0.0)
    out = np.stack([n, total, m2, mean])[None]
    return out


def prepass(X, y, sample_weight=None, *, classes=None, client=None):
    """One pass over Dask collections: classes, counts, weight sum, imputation and scaling statistics.

    X (N, D) numeric dask array or DataFrame (NaN = missing), chunked by rows; y (N,) labels
    (numbers or text), partitioned like X; sample_weight (N,) or None. `classes` (sorted), when
    given, are used instead of the labels found (unknown labels raise). Returns a `Prepass`;
    nothing but per-chunk summaries reaches the client. InputError for a non-numeric X, fewer than
    two classes, or negative weights.
    """
    import dask
    import dask.array as da

    X = _as_dask_rows(X, "X", 2)
    if X.dtype.kind not in "fiub":
        raise InputError(f"X has dtype {X.dtype}: the Dask path takes numeric columns only; encode "
                         f"categorical, date and text columns before training")
    y = _aligned(y, X, "y")
    w = _aligned(sample_weight, X, "sample_weight")
    if classes is None:
        classes = da.unique(y)
    moments = da.map_blocks(_column_moments, X, chunks=((1,) * X.numblocks[0], (4,), (X.shape[1],)),
                            new_axis=1, dtype=np.float64)
    moments = da.reduction(moments, chunk=lambda a, axis, keepdims: a,
                           combine=_merge_moments_axis, aggregate=_merge_moments_axis,
                           axis=0, concatenate=True, dtype=np.float64, keepdims=True)
    weight_sum = None if w is None else w.astype(np.float64).sum()
    w_min = None if w is None else w.min()
    scheduler = {} if client is None else {"scheduler": client}
    classes, moments, weight_sum, w_min = dask.compute(classes, moments, weight_sum, w_min, **scheduler)
    classes = np.asarray(classes)
    if len(classes) < 2:
        raise InputError(f"the target has {len(classes)} class(es); a classifier needs two or more")
    codes = y.map_blocks(_encode_block, classes, dtype=np.intp)
    C = len(classes)
    chunk_counts = da.map_blocks(lambda c: np.bincount(c, minlength=C)[None], codes,
                                 chunks=((1,) * X.numblocks[0], (C,)), new_axis=1, dtype=np.int64)
    (chunk_counts,) = dask.compute(chunk_counts, **scheduler)
    n, _, m2, mean = (np.asarray(moments)[0, k] for k in range(4))
    N = int(chunk_counts.sum())
    if w is not None and w_min < 0:
        raise InputError("sample_weight has negative values")
    with np.errstate(invalid="ignore", divide="ignore"):
        statistics = np.where(n > 0, mean, np.nan)
        var = m2 / N if N else np.zeros_like(m2)
    from sklearn.preprocessing._data import _handle_zeros_in_scale, _is_constant_feature
    constant = _is_constant_feature(var, mean, N)
    scale = _handle_zeros_in_scale(np.sqrt(var), copy=True, constant_mask=constant)
    return Prepass(classes=classes, class_counts=chunk_counts.sum(axis=0),
                   chunk_class_counts=chunk_counts, n_samples=N,
                   weight_sum=float(N if w is None else weight_sum), n_missing=(N - n).astype(np.int64),
                   statistics_=statistics, mean_=mean, var_=var, scale_=scale, n_samples_seen_=N,
                   y=codes)


def _merge_moments_axis(parts, axis=None, keepdims=True):
    return _merge_moments(parts)


def _encode_block(labels, classes):
    index = np.clip(np.searchsorted(classes, labels), 0, len(classes) - 1)
    unseen = classes[index] != labels
    if unseen.any():
        raise InputError(f"label {labels[np.argmax(unseen)]!r} is not one of the classes {list(classes)}")
    return index.astype(np.intp)


# ---------------------------------------------------------------------------------------------------
# clusters


def connect(scheduler=None, **cluster_options):
    """A distributed Client: to `scheduler` (an address such as 'tcp://host:8786'), or to a new
    LocalCluster sized to this machine when None (`cluster_options` go to LocalCluster).

    Starting worker processes re-imports the calling script: a script that calls this at its top
    level needs an ``if __name__ == "__main__":`` guard, and gets an InputError saying so otherwise.
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        return Client(scheduler)
    try:
        cluster = LocalCluster(dashboard_address=None, **cluster_options)
    except RuntimeError as e:
        if "bootstrapping phase" in str(e) or "freeze_support" in str(e):
            raise InputError("starting Dask worker processes needs the calling script's top-level code under "
                             "`if __name__ == \"__main__\":`") from None
        raise
    return Client(cluster)
