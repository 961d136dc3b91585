"""The fast path of a training step: model.py's equations, computed in buffers that are reused.

`fit` runs every step through a `Workspace`. It computes what `model.forward`, `model.cross_entropy`
and `model.backward` compute, with the same floating-point operations in the same order; only memory
traffic differs (tests/test_workspace.py holds the two equal):

- every intermediate goes, with `out=`, into buffers allocated once per batch shape (N, dtype) and
  reused by every later step of that shape: mini-batches of one size share a workspace, the short
  last batch of an epoch has its own;
- the products on transposed views (z @ W1.T, dtheta.T @ r, ...) are single BLAS gemm calls with a
  transpose flag: C-contiguous buffers and weights need no copy. They go through np.dot with out=,
  which reaches the same gemm as the @ of model.py (same bits) with about 0.4 us less overhead a
  call than np.matmul: 4 us of a 55 us step at D = M = 64, batch 32;
- the fused softmax + cross-entropy start (y_hat - Y) / N is formed in place; the row max of the
  log-sum-exp is read at each row's argmax (`predicted`, which the accuracy reuses);
- ReLU is np.maximum against a block of zeros of the batch's shape (numpy's fastest loop);
- most elementwise ufuncs get their output as the third positional argument, np.add(s, x, s):
  parsing out= costs about as much as the addition itself at small sizes (np.maximum keeps out=:
  numpy deprecates a third positional argument there);
- backward writes each gradient over an activation it has finished reading;
- the four gradients are views of one flat buffer (`packed`), so that `fit` can add weight decay
  and take a gradient-descent step with one ufunc call over all four matrices at once;
- shuffled rows are gathered for many batches at once (`Workspaces.gather`, GATHER_BYTES of X),
  each batch then a view of the gathered block.

Buffer life, N samples (shape letters as in model.py):

    buffer        forward                   backward
    z      (N, D)  z = ReLU(x)               read by dW1
    s      (N, D)  h = W1 z, then s = h + x  read by dW2, then holds ds
    t      (N, M)  t = W2 s                  becomes Lambda_t = 1[t > 0] (as 1.0 / 0.0)
    p      (N, M)  p = ReLU(t)               read by dW3, then holds dp, then dt = Lambda_t dp + dr
    r      (N, M)  q = W3 p, then r = q + t  read by dW4, then holds dr
    theta  (N, C)  theta = W4 r              kept for the accuracy
    dtheta (N, C)  y_hat, then (y_hat - Y)/N read by dW4 and dr

h and q have no buffer of their own (neither is read by backward); x is the caller's batch. With the
gradients (D, D), (M, D), (M, M), (C, M) and small scratch (two more (N, C), one (N, 1), five (N,)
vectors, ReLU's block of zeros of at most ZERO_BLOCK_BYTES), that is all a step allocates, once: see
`Workspace.nbytes`.
"""
from __future__ import annotations

import numpy as np

from . import model
from .model import Params

# Shuffled mini-batches are gathered this many bytes of X at a time (whole batches, at least one):
# one np.take serves many small batches, each then a slice of the gathered block. The block is held
# once per run, in place of one gathered batch.
GATHER_BYTES = 1 << 20
# ReLU's zeros are held as a block of at most this many bytes (see Workspace.__init__)
ZERO_BLOCK_BYTES = 1 << 20


class Workspace:
    """Buffers for training steps on batches of `n_samples` rows in one dtype."""

    def __init__(self, n_samples, n_features, n_hidden, n_classes, dtype=np.float64, grads=None):
        N, D, M, C = (int(n) for n in (n_samples, n_features, n_hidden, n_classes))
        self.shape = (N, D, M, C)
        self.dtype = np.dtype(dtype)
        empty = lambda *shape: np.empty(shape, self.dtype)  # noqa: E731
        self.z = empty(N, D)                  # (N, D)
        self.s = empty(N, D)                  # (N, D)
        self.t = empty(N, M)                  # (N, M)
        self.p = empty(N, M)                  # (N, M)
        self.r = empty(N, M)                  # (N, M)
        self.theta = empty(N, C)              # (N, C)
        self.log_y_hat = empty(N, C)          # (N, C)
        self.dtheta = empty(N, C)             # (N, C)
        self.row_stat = empty(N, 1)           # (N, 1)  max of theta, then log-sum-exp
        self.row_starts = np.arange(N) * C    # (N,)  flat index of each row's first class
        self.picks = np.empty(N, np.intp)     # (N,)  flat index of each row's true class
        self.picked = empty(N)                # (N,)  log y_hat_i[y_i], then weighted
        self.predicted = np.empty(N, np.intp)  # (N,)  argmax of each row of theta: the predicted class
        self.row_max_at = np.empty(N, np.intp)  # (N,)  flat index of each row's largest logit
        # dW1 (D, D), dW2 (M, D), dW3 (M, M), dW4 (C, M): views of one flat buffer
        # (or the pair `grads` given, shared by the workspaces of several batch shapes)
        self.grads_flat, self.grads = grads or packed([(D, D), (M, D), (M, M), (C, M)], self.dtype)
        self.inv_n = self.dtype.type(1.0 / N)  # the 1/N of the mean, rounded as model.py rounds it
        # ReLU as np.maximum(u, zeros of u's shape): the same values as np.maximum(u, 0), in numpy's
        # one-dimensional contiguous loop (a scalar 0 or a broadcast zero row take slower ones: 1.4-2x
        # the time). The zeros are a block of at most ZERO_BLOCK_BYTES, applied block by block of rows.
        widest = max(D, M)
        self.zero_rows = max(1, min(N, ZERO_BLOCK_BYTES // (widest * self.dtype.itemsize)))
        self.zero_block = np.zeros(self.zero_rows * widest, self.dtype)  # (rows max(D, M),)
        self.zeros_d = self.zero_block[:self.zero_rows * D].reshape(self.zero_rows, D)  # (rows, D)
        self.zeros_m = self.zero_block[:self.zero_rows * M].reshape(self.zero_rows, M)  # (rows, M)
        self.theta_flat = self.theta.ravel()          # (N C,)  views, for entries picked by flat index
        self.log_y_hat_flat = self.log_y_hat.ravel()  # (N C,)
        self.dtheta_flat = self.dtheta.ravel()        # (N C,)
        self.row_stat_flat = self.row_stat.ravel()    # (N,)

    @property
    def nbytes(self):
        """Bytes held: activations, gradients and scratch."""
        arrays = [self.z, self.s, self.t, self.p, self.r, self.theta, self.log_y_hat, self.dtheta,
                  self.row_stat, self.row_starts, self.picks, self.picked, self.predicted, self.row_max_at,
                  self.zero_block, self.grads_flat]
        return sum(a.nbytes for a in arrays)

    def loss(self, params: Params, x, y, sample_weight=None):
        """Forward pass and cross-entropy of the batch x (N, D), y (N,); leaves theta, dtheta and
        `predicted` (N,), the argmax of each row of theta, here.

        The same sums as model.forward then model.cross_entropy; y must hold valid class indices
        (fit checks them once, not every step). Returns L in the parameters' dtype.
        """
        W1, W2, W3, W4 = params
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        z, s, t, p, r, theta = self.z, self.s, self.t, self.p, self.r, self.theta
        _relu(x, self.zeros_d, z)           # (N, D)   z = ReLU(x)
        np.dot(z, W1.T, out=s)              # (N, D)   h = W1 z, written where s goes
        np.add(s, x, s)                     # (N, D)   s = h + x
        np.dot(s, W2.T, out=t)              # (N, M)   t = W2 s
        _relu(t, self.zeros_m, p)           # (N, M)   p = ReLU(t)
        np.dot(p, W3.T, out=r)              # (N, M)   q = W3 p, written where r goes
        np.add(r, t, r)                     # (N, M)   r = q + t
        np.dot(r, W4.T, out=theta)          # (N, C)   theta = W4 r
        # log_y_hat = log softmax(theta) by log-sum-exp, as model.log_softmax (the ufuncs' own
        # reduce: np.max and np.sum with out= leave a little memory behind on every call).
        # The row max is read at each row's argmax, which the accuracy needs anyway: the same value as
        # the max (a NaN row gives NaN either way) in half the time of a reduce along rows of C entries.
        log_y_hat, dtheta, row_stat = self.log_y_hat, self.dtheta, self.row_stat
        # (the methods: np.argmax and np.take add a Python wrapper's microsecond to each call)
        theta.argmax(axis=1, out=self.predicted)                 # (N,)
        np.add(self.row_starts, self.predicted, self.row_max_at)
        self.theta_flat.take(self.row_max_at, out=self.row_stat_flat, mode="wrap")  # (N, 1) row max
        np.subtract(theta, row_stat, log_y_hat)                  # shifted logits
        np.exp(log_y_hat, dtheta)
        np.add.reduce(dtheta, axis=1, keepdims=True, out=row_stat)
        np.log(row_stat, row_stat)
        np.subtract(log_y_hat, row_stat, log_y_hat)              # (N, C)
        np.exp(log_y_hat, dtheta)                                # (N, C)   y_hat = softmax(theta)
        # as model.cross_entropy: L = -sum_i w_i log y_hat_i[y_i], w_i = 1/N unless weighted, and the
        # fused start of backward dL/dtheta = w_i (y_hat_i - y_i), formed in place over y_hat
        if sample_weight is None:
            weight = self.inv_n
            weight_col = weight
        else:
            weight = model._normalized_weights(sample_weight, x.shape[0], self.dtype)  # (N,)
            weight_col = weight[:, None]                                              # (N, 1)
        # entries [i, y_i] by flat index: the same elements as [rows, y], with cheaper indexing
        picks = np.add(self.row_starts, y, out=self.picks, casting="unsafe")  # labels are < C
        picked = self.log_y_hat_flat.take(picks, out=self.picked, mode="wrap")  # (N,)  log y_hat_i[y_i]
        np.multiply(picked, weight, picked)
        self.dtheta_flat[picks] -= 1
        np.multiply(dtheta, weight_col, dtheta)                  # (N, C)
        return -np.add.reduce(picked)  # picked.sum(), a scalar of the parameters' dtype

    def backward(self, params: Params) -> Params:
        """model.backward from the buffers `loss` left; returns the gradient buffers (reused next step).

        Overwrites the activations as it goes (see the module docstring); theta stays.
        """
        W1, W2, W3, W4 = params
        dW1, dW2, dW3, dW4 = self.grads
        dtheta = self.dtheta
        # theta = W4 r:  dW4 = sum_i dtheta_i r_i^T, dr = W4^T dtheta
        np.dot(dtheta.T, self.r, out=dW4)         # (C, M)
        dr = np.dot(dtheta, W4, out=self.r)       # (N, M)   r is read: its buffer takes dr
        # r = q + t: dq = dr, and dr also flows straight to t (path 2, below)
        # q = W3 p:  dW3 = sum_i dq_i p_i^T, dp = W3^T dq
        np.dot(dr.T, self.p, out=dW3)             # (M, M)
        dp = np.dot(dr, W3, out=self.p)           # (N, M)   p is read: its buffer takes dp
        # t is used twice, by p = ReLU(t) (path 1) and by r = q + t (path 2); the two add:
        #   dt = Lambda_t dp + dr, Lambda_t = 1[t > 0] (ReLU'(0) = 0)
        # The mask is written over t, as 1.0 / 0.0 (t is not read again): a float mask multiplies
        # without the casting buffer a boolean one needs, and gives the same products.
        positive = np.greater(self.t, 0, self.t)  # (N, M)
        np.multiply(dp, positive, dp)
        dt = np.add(dp, dr, dp)                   # (N, M)
        # t = W2 s:  dW2 = sum_i dt_i s_i^T, ds = W2^T dt
        np.dot(dt.T, self.s, out=dW2)             # (M, D)
        ds = np.dot(dt, W2, out=self.s)           # (N, D)   s is read: its buffer takes ds
        # s = h + x: dh = ds (x is data, its branch ends here); h = W1 z: dW1 = sum_i dh_i z_i^T
        np.dot(ds.T, self.z, out=dW1)             # (D, D)
        return self.grads

    def loss_and_grads(self, params: Params, x, y, sample_weight=None):
        """(L, grads) as model.loss_and_grads; the gradients are this workspace's buffers."""
        loss = self.loss(params, x, y, sample_weight)
        return loss, self.backward(params)


def _relu(u, zeros, out):
    """out = np.maximum(u, 0) for u (N, K), as np.maximum(u, zeros) over blocks of zeros' rows."""
    n, rows = u.shape[0], zeros.shape[0]
    if n == rows:
        np.maximum(u, zeros, out=out)
        return
    for a in range(0, n, rows):
        b = min(a + rows, n)
        np.maximum(u[a:b], zeros[:b - a], out=out[a:b])


def packed(shapes, dtype):
    """(flat, Params of views of it): arrays of `shapes`, each C-contiguous, in one zeroed buffer.

    Each view starts on a 64-byte boundary (a cache line); the gaps between them hold zeros, which
    weight decay and a gradient-descent step keep at zero, so that an elementwise operation over
    `flat` does to every view what it would do to the arrays one by one.
    """
    itemsize = np.dtype(dtype).itemsize
    align = max(1, 64 // itemsize)                   # elements per 64 bytes
    offsets, end = [], 0
    for shape in shapes:
        offsets.append(end)
        end += -(-int(np.prod(shape)) // align) * align
    buffer = np.zeros(end + align, dtype)             # room to move the start onto a boundary
    start = (-buffer.ctypes.data % 64) // itemsize
    flat = buffer[start:start + end]
    views = [flat[o:o + int(np.prod(shape))].reshape(shape) for o, shape in zip(offsets, shapes)]
    return flat, Params(*views)


def gather_rows(batch_rows, n_features, itemsize):
    """Rows to gather at once for batches of `batch_rows`: whole batches, about GATHER_BYTES of X."""
    return batch_rows * max(1, GATHER_BYTES // max(1, batch_rows * n_features * itemsize))


class Workspaces:
    """One `Workspace` per batch shape (N, dtype), made on first use, for the dimensions of `params`;
    and one buffer for shuffled rows (`gather`)."""

    def __init__(self, params: Params):
        self.dims = (params.W1.shape[0], params.W2.shape[0], params.W4.shape[0])  # D, M, C
        self.by_shape = {}
        self.grads = {}  # dtype -> (flat, Params): one gradient buffer per dtype, shared by all shapes
        self.rows = None  # (x, y, w) buffers for gathered rows, made on first use

    def gather(self, X, y, sample_weight, index):
        """Rows `index` of X (N_all, D), y and sample_weight, copied into one reused buffer.

        Returns (x, y, w) of len(index) rows each, contiguous (w None without sample weights): one
        gather serves many batches, which are then slices of it (views, no copy per batch).
        """
        n = index.shape[0]
        if (self.rows is None or self.rows[0].shape[0] < n or self.rows[0].dtype != X.dtype
                or self.rows[1].dtype != y.dtype or (self.rows[2] is None) != (sample_weight is None)
                or (sample_weight is not None and self.rows[2].dtype != sample_weight.dtype)):
            self.rows = (np.empty((n, X.shape[1]), X.dtype),                         # (n, D)
                         np.empty(n, y.dtype),                                       # (n,)
                         None if sample_weight is None else np.empty(n, sample_weight.dtype))
        xr, yr, wr = (None if a is None else a[:n] for a in self.rows)
        # mode="wrap" skips the bounds-checking copy of mode="raise"; `index` is a permutation's slice
        X.take(index, axis=0, out=xr, mode="wrap")
        y.take(index, out=yr, mode="wrap")
        if sample_weight is not None:
            sample_weight.take(index, out=wr, mode="wrap")
        return xr, yr, wr

    def get(self, n_samples, dtype) -> Workspace:
        key = (n_samples, dtype)
        ws = self.by_shape.get(key)
        if ws is None:
            D, M, C = self.dims
            grads = self.grads.get(np.dtype(dtype))
            ws = self.by_shape[key] = Workspace(n_samples, D, M, C, dtype, grads=grads)
            self.grads[np.dtype(dtype)] = (ws.grads_flat, ws.grads)
        return ws

    @property
    def nbytes(self):
        """Bytes held by all the workspaces made so far (the shared gradients counted once) and the
        buffer of gathered rows."""
        shared = sum(flat.nbytes for flat, _ in self.grads.values())
        rows = 0 if self.rows is None else sum(a.nbytes for a in self.rows if a is not None)
        return sum(ws.nbytes - ws.grads_flat.nbytes for ws in self.by_shape.values()) + shared + rows
