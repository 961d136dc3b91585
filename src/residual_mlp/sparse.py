"""Sparse input: a SciPy sparse X (CSR, CSC, COO, ... matrices and arrays) trained and predicted a block
of rows at a time, never densified whole.

X is converted once to CSR (`as_features`); from then on every computation takes a block of rows,
densifies it into a buffer of its own (``X[rows].toarray(out=buffer)``) and runs model.py's equations
(through `workspace.Workspace` in training) on that dense block:

- mini-batches (`Batches`, train.py's loop): each batch's rows are densified into a reused buffer of
  the batch's size, then the same operations as on a dense X's batch, so a mini-batch run equals the
  dense one bit for bit;
- full batch and L-BFGS (`BlockSums`): the loss and the four gradients are sums over blocks of at most
  `block_rows` rows. Block b's workspace normalises by the block's own total T_b (its row count, or its
  sum of sample weights); its loss and dL/dtheta are rescaled by T_b / T (T: the total over all rows)
  before backward, so the blocks add up to the mean over all rows, as the dense full batch computes it
  (equal within float rounding: the order of the sums differs). This is the reduction of the Dask path
  (`dask_training._chunk_sums`), in one process;
- the validation loss, `record_flow`'s statistics and predictions (`forward`, `flow_sums`) likewise.

Block size: `block_rows(D, M, C, dtype)` rows, so that a dense block and its activations take about
`BLOCK_BYTES` (4 MiB), or about one copy of the weights when that is larger: every block adds its four
gradients into the sums (P numbers), so blocks much smaller than the weights would spend their time
there (with D = 2000, M = 64: 37% slower than dense at 4 MiB blocks, see benchmarks/bench_sparse.py),
and one more weight-sized buffer is within what training holds anyway (the memory check counts it).
Mini-batches use the batch size itself. The model's weights are what they are:
W1 is D x D whatever the sparsity, and the memory check (`check_memory`) refuses a run whose weights
do not fit. Array API dispatch (torch, CuPy, ... weights) and Dask collections of sparse chunks are not
supported for sparse input.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from . import model, resources, workspace
from .errors import InputError
from .model import Activations, Params

BLOCK_BYTES = 4 * 2**20  # a dense block of rows and its activations: about this many bytes


def is_sparse(X):
    """Whether X is a SciPy sparse matrix or array."""
    return sp.issparse(X)


def nbytes(X):
    """Bytes a CSR (or CSC) X holds: data, indices and indptr; other formats: their arrays."""
    if hasattr(X, "indptr"):
        parts = ("data", "indices", "indptr")
    else:  # COO: `row` and `col` are views of `coords` where scipy has it (1.13+): count the indices once
        parts = ("data", "coords") if hasattr(X, "coords") else ("data", "row", "col")
    total = 0
    for name in parts:
        value = getattr(X, name, None)
        for a in (value if isinstance(value, tuple) else (value,)):
            total += getattr(a, "nbytes", 0)
    return total


def as_csr(X, dtype):
    """X (N, D) as a CSR matrix or array of `dtype` (a copy only when the format or the dtype changes)."""
    if X.ndim != 2:
        raise InputError(f"X must be a 2-d sparse matrix, got {X.ndim} dimension(s)")
    X = X.tocsr()  # the same object when it already is CSR
    return X if X.dtype == dtype else X.astype(dtype)


def as_features(X, params: Params):
    """A sparse X (N, D) as CSR in the weights' dtype, checked against their shape (as model._as_features)."""
    W1 = params.W1
    if not isinstance(W1, np.ndarray):
        raise InputError("sparse X trains and predicts with NumPy weights only: with array API dispatch on, "
                         "give a dense array of the weights' library (X.toarray()), or move the weights to "
                         "NumPy (residual_mlp.devices.to_host)")
    if X.ndim != 2 or X.shape[1] != W1.shape[0]:
        raise ValueError(f"X must have shape (N, {W1.shape[0]}), got {tuple(X.shape)}")
    return as_csr(X, W1.dtype)


def block_rows(D, M, C, dtype):
    """Rows per block: a dense block with model.forward's activations (5 D + 4 M + 4 C numbers a row)
    in about BLOCK_BYTES, or in one copy of the weights (P numbers) when that is larger; at least 1."""
    itemsize = np.dtype(dtype).itemsize
    per_row = (5 * D + 4 * M + 4 * C) * itemsize
    return max(1, max(BLOCK_BYTES, resources.weight_count(D, M, C) * itemsize) // per_row)


def densify(X, rows, out):
    """Rows `rows` (a slice or an index array) of the CSR X, written dense into `out` (n, D); returns out."""
    return X[rows].toarray(out=out)


def _check_weights(sample_weight, N):
    if sample_weight is not None and np.shape(sample_weight) != (N,):
        raise ValueError(f"sample_weight must have shape ({N},), got {np.shape(sample_weight)}")


class BlockSums:
    """Full-batch loss and gradients of a CSR X (N, D), summed over blocks of at most `rows` rows.

    It offers what train.py's epoch loop reads of a `workspace.Workspace`: `loss` (the whole pass,
    forward and backward, block by block), `backward` (the gradients `loss` summed), `grads`,
    `grads_flat` (views of one flat buffer, laid out as `workspace.packed` lays out the loop's),
    `theta` (N, C), the logits of every row, and `predicted` (N,), each row's argmax, for the accuracy.
    """

    def __init__(self, params: Params, n_samples, rows=None):
        D, M, C = params.W1.shape[0], params.W2.shape[0], params.W4.shape[0]
        self.dtype = params.W1.dtype
        self.rows = int(rows or block_rows(D, M, C, self.dtype))
        self.workspaces = workspace.Workspaces(params)  # one per block shape, their own gradient buffer
        self.grads_flat, self.grads = workspace.packed([W.shape for W in params], self.dtype)
        self.theta = np.empty((int(n_samples), C), self.dtype)  # (N, C)
        self.predicted = np.empty(int(n_samples), np.intp)       # (N,)
        self.x = {}  # dense block buffers (n, D), one per block shape

    def loss(self, params: Params, X, y, sample_weight=None):
        """L = sum_i w_i J_i / sum_i w_i over all rows of X, as a scalar of the weights' dtype; the
        gradients are left in `grads`. Blocks whose weights are all 0 add nothing (their theta is 0)."""
        N = X.shape[0]
        _check_weights(sample_weight, N)
        total = N if sample_weight is None else float(sample_weight.sum())
        if not total > 0:
            raise ValueError("sample_weight must have a positive sum")
        loss = 0.0
        started = False
        for start in range(0, N, self.rows):
            stop = min(start + self.rows, N)
            yb = y[start:stop]
            wb = None if sample_weight is None else sample_weight[start:stop]
            if wb is not None and not wb.any():
                self.theta[start:stop] = 0
                self.predicted[start:stop] = 0  # the argmax of a row of zeros
                continue
            ws = self.workspaces.get(stop - start, self.dtype)
            xb = self.x.get(stop - start)
            if xb is None:
                xb = self.x[stop - start] = np.empty((stop - start, X.shape[1]), self.dtype)  # (n, D)
            densify(X, slice(start, stop), xb)
            # the block's mean (normalised by its total T_b), rescaled to its share T_b / T of the whole
            share = (stop - start if wb is None else float(wb.sum())) / total
            loss += float(ws.loss(params, xb, yb, wb)) * share
            np.multiply(ws.dtheta, self.dtype.type(share), ws.dtheta)
            ws.backward(params)
            if started:
                np.add(self.grads_flat, ws.grads_flat, self.grads_flat)
            else:
                self.grads_flat[...] = ws.grads_flat
                started = True
            self.theta[start:stop] = ws.theta
            self.predicted[start:stop] = ws.predicted
        if not started:
            self.grads_flat[...] = 0
        return self.dtype.type(loss)

    def backward(self, params: Params) -> Params:
        """The gradients `loss` summed (the same buffers every call)."""
        return self.grads


class Batches:
    """The batches of train.py's epoch loop for a CSR X (N, D): (workspace, x, y, w) each.

    B < N: mini-batches, each densified into a reused buffer of its size (at most two: B rows, and the
    short last batch's); iterating this object gives them in order, `epoch(order)` in
    the order of a permutation. B = N (full batch): one item whose workspace is a `BlockSums`.
    Batches whose sample weights are all 0 are skipped, as for dense X.
    """

    def __init__(self, X, y, sample_weight, B, workspaces: workspace.Workspaces, params: Params):
        self.X, self.y, self.w, self.B, self.workspaces = X, y, sample_weight, int(B), workspaces
        self.sums = BlockSums(params, X.shape[0]) if self.B >= X.shape[0] else None
        self.buffers = {}  # rows -> (rows, D) dense buffer

    def __iter__(self):
        return self.epoch(None)

    def epoch(self, order=None):
        X, y, w, B = self.X, self.y, self.w, self.B
        if self.sums is not None:
            yield self.sums, X, y, w
            return
        for i in range(0, X.shape[0], B):
            index = slice(i, i + B) if order is None else order[i:i + B]
            yb = y[index]
            wb = None if w is None else w[index]
            if wb is not None and not wb.any():
                continue
            n = yb.shape[0]
            buffer = self.buffers.get(n)
            if buffer is None:
                buffer = self.buffers[n] = np.empty((n, X.shape[1]), X.dtype)  # (n, D)
            yield self.workspaces.get(n, X.dtype), densify(X, index, buffer), yb, wb


def loss_and_grads(sums: BlockSums, params: Params, X, y, sample_weight=None):
    """(L, grads, correct) over all rows of X: `sums`' buffers (reused by its next call) and the count
    (or weight) of correct predictions."""
    from .monitor import n_correct

    loss = sums.loss(params, X, y, sample_weight)
    grads = sums.backward(params)
    return loss, grads, n_correct(sums.theta, y, sample_weight)


def forward(params: Params, X, rows=None) -> Activations:
    """model.forward's outputs for a sparse X (N, D), block by block: an Activations whose theta,
    y_hat and log_y_hat (N, C) are filled and whose other fields (per-row activations, D or M wide)
    are None."""
    X = as_features(X, params)
    D, M, C = params.W1.shape[0], params.W2.shape[0], params.W4.shape[0]
    rows = int(rows or block_rows(D, M, C, params.W1.dtype))
    N = X.shape[0]
    theta, y_hat, log_y_hat = (np.empty((N, C), params.W1.dtype) for _ in range(3))  # (N, C) each
    buffer = None
    for start in range(0, N, rows):
        stop = min(start + rows, N)
        if buffer is None or buffer.shape[0] != stop - start:
            buffer = np.empty((stop - start, D), params.W1.dtype)  # (n, D)
        acts = model.forward(params, densify(X, slice(start, stop), buffer))
        theta[start:stop], y_hat[start:stop], log_y_hat[start:stop] = acts.theta, acts.y_hat, acts.log_y_hat
    return Activations(*(None,) * 8, theta, y_hat, log_y_hat)


def finite_forward(params: Params, X) -> Activations:
    """`forward`, refused with one ValueError line when a logit is not finite (as model.predict_proba)."""
    with np.errstate(over="ignore", invalid="ignore"):
        acts = forward(params, X)
    bad = ~np.isfinite(acts.theta).all(axis=1)  # (N,)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(f"the network's output overflows for {rows.size} row(s) (first: row {rows[0]}): "
                         f"features too large for these weights; standardize them or check their scale")
    return acts


def predict_proba(params: Params, X):
    """model.predict_proba for a sparse X (N, D): y_hat (N, C), computed block by block."""
    return finite_forward(params, X).y_hat


def predict(params: Params, X):
    """model.predict for a sparse X (N, D): class indices (N,), computed block by block."""
    return finite_forward(params, X).theta.argmax(axis=1)


def flow_sums(params: Params, X, y, sample_weight=None, rows=None):
    """What flow.flow_stats needs of a sparse X, summed over blocks: (PathTerms of the whole batch,
    {"h", "x", "q", "t": Frobenius norm over all rows}, fraction of t > 0)."""
    from .flow import PathTerms, path_terms

    X = as_features(X, params)
    D, M, C = params.W1.shape[0], params.W2.shape[0], params.W4.shape[0]
    rows = int(rows or block_rows(D, M, C, params.W1.dtype))
    N = X.shape[0]
    _check_weights(sample_weight, N)
    total = N if sample_weight is None else float(np.sum(sample_weight))
    terms = None
    squares = dict.fromkeys("hxqt", 0.0)
    active = 0
    for start in range(0, N, rows):
        stop = min(start + rows, N)
        yb = y[start:stop]
        wb = None if sample_weight is None else sample_weight[start:stop]
        xb = densify(X, slice(start, stop), np.empty((stop - start, D), params.W1.dtype))  # (n, D)
        acts = model.forward(params, xb)
        for name in squares:
            squares[name] += float(np.vdot(acts[name], acts[name]))
        active += int(np.count_nonzero(acts.t > 0))
        if wb is not None and not wb.any():
            continue
        share = (stop - start if wb is None else float(wb.sum())) / total
        block = [term * share for term in path_terms(params, xb, yb, wb, acts=acts)]  # rescaled to T_b / T
        terms = block if terms is None else [a + b for a, b in zip(terms, block)]
    if terms is None:
        terms = [np.zeros_like(W) for W in (params.W1, params.W1, params.W2, params.W2)]
    norms = {name: math.sqrt(value) for name, value in squares.items()}
    return PathTerms(*terms), norms, (active / (N * M) if N * M else math.nan)


def check_memory(X, D, M, C, dtype, *, batch_size=None, optimizer="gd", validation_fraction=None,
                 validation_data=None, patience=None, shuffle=True):
    """resources.check_training_memory for a sparse X (N, D): X counted by its own bytes (data, indices,
    indptr), a dense block of rows, and the weights (W1 is D x D); raises InsufficientMemory (one line)."""
    N = X.shape[0]
    V = 0
    if validation_data is not None:
        V = int(validation_data[0].shape[0])
    elif validation_fraction and 0 < validation_fraction < 1:
        V = math.ceil(N * validation_fraction)
        N -= V
    copied = (V > 0 and validation_data is None) or X.format != "csr" or X.dtype != dtype
    return resources.check_training_memory(
        max(N, 1), D, M, C, dtype, batch_size=batch_size, optimizer=optimizer, validation_rows=V,
        patience=patience, shuffle=shuffle, data_copy=copied, sparse_bytes=nbytes(X),
        block_rows=block_rows(D, M, C, dtype))
