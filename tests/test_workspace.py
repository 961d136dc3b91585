"""The fast path (workspace.py) against the plain reference (model.py), and fit against a plain loop.

The fast path may differ from model.forward / cross_entropy / backward only in memory traffic, so in
float64 the two must agree to 1e-12 relative (in practice bit for bit), on the cases where a fused or
in-place rewrite could slip: sample weights, ReLU'(0) = 0 on exact zeros of t, saturated softmax.
"""
import tracemalloc

import numpy as np
import pytest
import torch_twin

from residual_mlp import model, train, workspace
from residual_mlp.model import Params
from residual_mlp.workspace import Workspace, Workspaces

N, D, M, C = 24, 7, 9, 4


def rel_diff(a, b):
    """max |a - b| / max |b|: one relative measure per tensor."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), np.finfo(np.float64).tiny))


def assert_same(fast, reference, rtol, label=""):
    (L_fast, g_fast), (L_ref, g_ref) = fast, reference
    diffs = {"L": rel_diff(L_fast, L_ref)}
    diffs.update({f"dW{i + 1}": rel_diff(a, b) for i, (a, b) in enumerate(zip(g_fast, g_ref))})
    print(label, " ".join(f"{k} {v:.1e}" for k, v in diffs.items()))
    assert all(v <= rtol for v in diffs.values()), diffs


def make_case(kind, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D))                                   # (N, D)
    y = rng.integers(0, C, N)                                         # (N,)
    y[:C] = np.arange(C)
    params = model.init_params(D, M, C, seed=seed + 1)
    w = None
    if kind == "weighted":
        w = rng.uniform(0.0, 3.0, N)                                  # (N,)
        w[::5] = 0.0                                                  # some samples weigh nothing
    elif kind == "relu_at_zero":
        # exact zeros in t: two hidden units with zero rows of W2, and two all-zero samples
        W2 = params.W2.copy()
        W2[:2] = 0.0
        X[:2] = 0.0
        params = params._replace(W2=W2)
    elif kind == "huge_logits":
        # logits in the thousands: softmax saturates to exact 0 and 1 in float64
        params = params._replace(W4=params.W4 * 3e4)
    params = Params(*(W.astype(dtype) for W in params))
    return params, X.astype(dtype), y, None if w is None else w.astype(dtype)


CASES = ["plain", "weighted", "relu_at_zero", "huge_logits"]


def test_cases_exercise_what_they_claim():
    params, X, _, _ = make_case("relu_at_zero")
    t = model.forward(params, X).t
    assert np.count_nonzero(t == 0.0) >= 2 * N + 2 * (M - 2)        # the zero units and zero rows
    params, X, y, _ = make_case("huge_logits")
    acts = model.forward(params, X)
    assert np.abs(acts.theta).max() > 1e3
    assert np.any(acts.y_hat == 0.0) and np.any(acts.y_hat == 1.0)
    loss, _ = model.loss_and_grads(params, X, y)
    assert np.isfinite(loss) and loss > 10.0


@pytest.mark.parametrize("kind", CASES)
def test_fast_path_equals_reference_float64(kind):
    params, X, y, w = make_case(kind)
    ws = Workspace(N, D, M, C, np.float64)
    reference = model.loss_and_grads(params, X, y, w)
    assert_same(ws.loss_and_grads(params, X, y, w), reference, 1e-12, kind)
    # again on the same buffers, after they held another batch's values
    other = make_case("plain", seed=5)
    ws.loss_and_grads(*other)
    assert_same(ws.loss_and_grads(params, X, y, w), reference, 1e-12, kind + " (reused)")


@pytest.mark.parametrize("kind", CASES)
def test_fast_path_equals_reference_float32(kind):
    params, X, y, w = make_case(kind, np.float32)
    ws = Workspace(N, D, M, C, np.float32)
    L, grads = ws.loss_and_grads(params, X, y, w)
    assert L.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    assert_same((L, grads), model.loss_and_grads(params, X, y, w), 1e-6, kind)


@pytest.mark.parametrize("kind", ["plain", "relu_at_zero"])
def test_fast_path_matches_autograd(kind):
    """An independent check: the PyTorch twin's autograd, same float64 weights."""
    params, X, y, _ = make_case(kind)
    ws = Workspace(N, D, M, C, np.float64)
    assert_same(ws.loss_and_grads(params, X, y), torch_twin.loss_and_grads(params, X, y), 1e-10, kind)


@pytest.mark.parametrize("label_dtype", [np.uint8, np.int32, np.uint64])
def test_label_dtypes(label_dtype):
    params, X, y, w = make_case("weighted")
    ws = Workspace(N, D, M, C, np.float64)
    assert_same(ws.loss_and_grads(params, X, y.astype(label_dtype), w),
                model.loss_and_grads(params, X, y, w), 0.0, np.dtype(label_dtype).name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, d, m, c", [(1, 7, 9, 4), (5, 1, 3, 2), (5, 3, 1, 2), (3, 64, 64, 10), (33, 20, 12, 1)])
def test_fast_path_is_bit_for_bit_on_edge_shapes(n, d, m, c, dtype):
    """Exactly model.py's numbers (not merely close) where BLAS might pick another kernel: one row,
    one feature, one hidden unit, one class; float32 too."""
    rng = np.random.default_rng(n + d + m + c)
    X = rng.standard_normal((n, d)).astype(dtype)                     # (n, d)
    y = rng.integers(0, c, n)                                         # (n,)
    params = Params(*(W.astype(dtype) for W in model.init_params(d, m, c, seed=2)))
    L_ref, g_ref = model.loss_and_grads(params, X, y)
    L, grads = Workspace(n, d, m, c, dtype).loss_and_grads(params, X, y)
    assert L == L_ref
    for a, b in zip(grads, g_ref):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", CASES)
@pytest.mark.parametrize("zero_rows", [1, 5, N - 1])
def test_relu_by_blocks_of_zero_rows_is_bit_for_bit(monkeypatch, kind, zero_rows):
    """A batch longer than ReLU's block of zeros (the large full batches) goes block by block of
    rows, the last block short: still exactly model.py's numbers."""
    monkeypatch.setattr(workspace, "ZERO_BLOCK_BYTES", zero_rows * max(D, M) * 8)
    params, X, y, w = make_case(kind)
    ws = Workspace(N, D, M, C, np.float64)
    assert ws.zero_rows == zero_rows
    L, grads = ws.loss_and_grads(params, X, y, w)
    L_ref, g_ref = model.loss_and_grads(params, X, y, w)
    assert L == L_ref
    for a, b in zip(grads, g_ref):
        np.testing.assert_array_equal(a, b)


def test_predicted_is_the_argmax_of_theta_with_ties_and_nan():
    """`predicted` is each row's first largest logit (np.argmax); the row max read there is the
    max, so a row with a NaN logit gives a NaN loss, as model.py's does."""
    params, X, y, _ = make_case("plain")
    W4 = params.W4.copy()
    W4[1] = W4[0]                       # classes 0 and 1 tie on every row
    params = params._replace(W4=W4)
    ws = Workspace(N, D, M, C, np.float64)
    L = ws.loss(params, X, y)
    theta = model.forward(params, X).theta
    np.testing.assert_array_equal(ws.predicted, theta.argmax(axis=1))
    assert L == model.cross_entropy(model.forward(params, X), y)[0]
    assert np.all(ws.predicted != 1)    # the tie goes to the first class
    X_nan = X.copy()
    X_nan[3, 0] = np.nan
    with np.errstate(invalid="ignore"):
        assert np.isnan(ws.loss(params, X_nan, y))
        assert np.isnan(model.cross_entropy(model.forward(params, X_nan), y)[0])


def test_theta_survives_backward():
    params, X, y, _ = make_case("plain")
    ws = Workspace(N, D, M, C, np.float64)
    ws.loss_and_grads(params, X, y)
    np.testing.assert_array_equal(ws.theta, model.forward(params, X).theta)


def test_a_step_allocates_no_batch_sized_array():
    """After the first step nothing of size (N, D) or (N, M) is allocated: no copies for the
    products on transposed views, no temporaries, and memory does not grow from step to step."""
    n, d, m, c = 512, 128, 256, 10       # (N, D) is 512 KiB, the smallest weight matrix W1 128 KiB
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((n, d)), rng.integers(0, c, n)
    params = model.init_params(d, m, c, seed=0)
    ws = Workspace(n, d, m, c, np.float64)
    ws.loss_and_grads(params, X, y)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        ws.loss_and_grads(params, X, y)
        peak = tracemalloc.get_traced_memory()[1] - before
        for _ in range(20):
            ws.loss_and_grads(params, X, y)
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    print(f"one step: peak {peak} B above the start; after 21 steps: {kept} B kept")
    # numpy's iterators may take a 64 KiB buffer (8192 elements) for broadcasting; nothing more
    assert peak < 96 * 1024
    assert kept < 1024


def test_workspaces_are_keyed_on_batch_shape():
    params = model.init_params(D, M, C, seed=0)
    cache = Workspaces(params)
    full = cache.get(16, np.dtype(np.float64))
    assert cache.get(16, np.dtype(np.float64)) is full
    short = cache.get(2, np.dtype(np.float64))
    assert short is not full and short.shape == (2, D, M, C)
    assert cache.get(16, np.dtype(np.float32)).dtype == np.float32
    assert len(cache.by_shape) == 3


@pytest.mark.parametrize("gather_bytes", [1 << 20, 16 * D * 8, 40 * D * 8])
def test_batches_are_views_or_gathered_rows(monkeypatch, gather_bytes):
    """Shuffled batches are the rows `order` picks, in order, as views of one reused buffer gathered
    whole batches at a time: one block (1 MiB), one batch per block, or two batches per block (50
    rows: blocks of 32, 18; the last block holds a full and a short batch)."""
    monkeypatch.setattr(workspace, "GATHER_BYTES", gather_bytes)
    rng = np.random.default_rng(0)
    X, y, w = rng.standard_normal((50, D)), rng.integers(0, C, 50), rng.random(50)
    cache = Workspaces(model.init_params(D, M, C, seed=0))
    plain = list(train._batches(X, y, w, None, 16, cache))
    assert [b[0].shape[0] for b in plain] == [16, 16, 16, 2]
    assert all(np.shares_memory(Xb, X) for Xb, _, _ in plain)
    order = rng.permutation(50)
    batches = list(train._batches(X, y, w, order, 16, cache, with_workspace=True))
    assert [b[1].shape[0] for b in batches] == [16, 16, 16, 2]
    buffer = cache.rows[0]
    for i, (ws, Xb, yb, wb) in enumerate(batches):
        index = order[16 * i:16 * (i + 1)]
        assert ws is cache.get(len(index), X.dtype)
        assert np.shares_memory(Xb, buffer) and not np.shares_memory(Xb, X)
        assert np.shares_memory(yb, cache.rows[1]) and np.shares_memory(wb, cache.rows[2])
    # the buffer is reused: check each batch's values as it comes, before the next gather
    for i, (Xb, yb, wb) in enumerate(train._batches(X, y, w, order, 16, cache)):
        index = order[16 * i:16 * (i + 1)]
        np.testing.assert_array_equal(Xb, X[index])
        np.testing.assert_array_equal(yb, y[index])
        np.testing.assert_array_equal(wb, w[index])
    assert cache.rows[0] is buffer and buffer.shape[0] == min(workspace.gather_rows(16, D, 8), 50)
    assert cache.nbytes >= buffer.nbytes


def test_batches_skip_zero_weight_batches_without_losing_rows():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((40, D)), rng.integers(0, C, 40)
    order = rng.permutation(40)
    w = np.ones(40)
    w[order[10:20]] = 0.0                                             # the second batch of 10 weighs nothing
    cache = Workspaces(model.init_params(D, M, C, seed=0))
    batches = [(Xb.copy(), yb.copy()) for Xb, yb, _ in train._batches(X, y, w, order, 10, cache)]
    assert len(batches) == 3
    for (Xb, yb), index in zip(batches, (order[0:10], order[20:30], order[30:40])):
        np.testing.assert_array_equal(Xb, X[index])
        np.testing.assert_array_equal(yb, y[index])


def plain_fit(params, X, y, *, lr, epochs, batch_size=None, sample_weight=None, weight_decay=0.0,
              seed=0):
    """The training loop written plainly from model.py: gradient descent, mini-batches reshuffled
    every epoch with numpy's generator seeded by (seed, epoch), as fit documents."""
    n = X.shape[0]
    B = n if batch_size is None else batch_size
    params = Params(*(W.copy() for W in params))
    losses, accuracies = [], []
    for epoch in range(epochs):
        order = np.random.default_rng([seed, epoch]).permutation(n) if B < n else np.arange(n)
        loss_sum = correct = 0.0
        for i in range(0, n, B):
            index = order[i:i + B]
            wb = None if sample_weight is None else sample_weight[index]
            acts = model.forward(params, X[index])
            loss, dtheta = model.cross_entropy(acts, y[index], wb)
            grads = model.backward(params, acts, dtheta)
            share = len(index) if wb is None else wb.sum()
            loss_sum += float(loss) * share
            hit = acts.theta.argmax(axis=1) == y[index]
            correct += hit.sum() if wb is None else wb[hit].sum()
            params = Params(*(W - lr * (dW + weight_decay * W) for W, dW in zip(params, grads)))
        total = n if sample_weight is None else sample_weight.sum()
        losses.append(loss_sum / total)
        accuracies.append(correct / total)
    return params, losses, accuracies


@pytest.mark.parametrize("dtype, batch_size, weighted, rtol", [
    (np.float64, None, False, 1e-12),
    (np.float64, 16, True, 1e-12),
    (np.float32, 16, False, 1e-5),
])
def test_fit_equals_plain_loop(dtype, batch_size, weighted, rtol):
    rng = np.random.default_rng(3)
    n = 50                                                           # batches of 16, 16, 16, 2
    X, y = rng.standard_normal((n, D)), rng.integers(0, C, n)
    w = rng.uniform(0.5, 2.0, n) if weighted else None
    params = model.init_params(D, M, C, seed=4, dtype=dtype)
    options = dict(lr=0.3, epochs=6, batch_size=batch_size, weight_decay=1e-3 if weighted else 0.0)
    fitted, history = train.fit(params, X, y, seed=7, sample_weight=w, **options)
    X, w = X.astype(dtype), None if w is None else w.astype(dtype)
    expected, losses, accuracies = plain_fit(params, X, y, seed=7, sample_weight=w, **options)
    for i, (a, b) in enumerate(zip(fitted, expected)):
        print(f"W{i + 1}: {rel_diff(a, b):.1e}")
        assert rel_diff(a, b) <= rtol
        assert rel_diff(a, params[i]) > 1e-3                        # training did move the weights
    np.testing.assert_allclose(history.loss, losses, rtol=rtol)
    np.testing.assert_allclose(history.accuracy, accuracies, rtol=rtol)


@pytest.mark.parametrize("N, D, B", [(5000, 20, 32), (300, 20, 64), (2000, 3000, 16)])
def test_the_memory_estimate_counts_the_gathered_rows_buffer_as_made(N, D, B):
    from residual_mlp import resources

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((N, D)), rng.integers(0, 3, N)
    params = model.init_params(D, 4, 3, seed=0)
    workspaces = workspace.Workspaces(params)
    order = rng.permutation(N)
    for _ in train._batches(X, y, None, order, B, workspaces):
        pass
    estimate = resources.training_bytes(N, D, 4, 3, batch_size=B)["gathered batch"]
    assert estimate == workspaces.rows[0].nbytes


@pytest.mark.parametrize("optimizer", ["momentum", "nesterov", "adam"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_an_update_over_the_flat_buffers_equals_one_matrix_at_a_time(optimizer, dtype):
    """fit steps every update rule over one flat buffer per set (weights, gradients, each slot): the numbers
    are those of optim.step applied matrix by matrix after model.py's gradients, bit for bit."""
    from residual_mlp import optim

    rng = np.random.default_rng(5)
    n, B, epochs, lr, decay = 40, 16, 3, 0.01, 1e-3
    X, y = rng.standard_normal((n, D)).astype(dtype), rng.integers(0, C, n)
    params = model.init_params(D, M, C, seed=2, dtype=dtype)
    fitted, _ = train.fit(params, X, y, lr=lr, epochs=epochs, batch_size=B, optimizer=optimizer,
                          weight_decay=decay, seed=9)
    state = optim.init_state(optimizer, params)
    W = Params(*(A.copy() for A in params))
    for epoch in range(epochs):
        order = np.random.default_rng([9, epoch]).permutation(n)
        for i in range(0, n, B):
            index = order[i:i + B]
            acts = model.forward(W, X[index])
            _, dtheta = model.cross_entropy(acts, y[index])
            grads = Params(*(dW + decay * A for dW, A in zip(model.backward(W, acts, dtheta), W)))
            new = Params(*(np.empty_like(A) for A in W))
            optim.step(optimizer, W, grads, state, new, lr=lr)
            W = new
    for A, E in zip(fitted, W):
        np.testing.assert_array_equal(A, E)


def test_gathered_rows_follow_the_weights_given():
    rng = np.random.default_rng(0)
    X, y, w = rng.standard_normal((20, 3)), rng.integers(0, 2, 20), rng.uniform(size=20)
    workspaces = Workspaces(model.init_params(3, 4, 2, seed=0))
    index = rng.permutation(20)[:8]
    assert workspaces.gather(X, y, None, index)[2] is None
    np.testing.assert_array_equal(workspaces.gather(X, y, w, index)[2], w[index])
    np.testing.assert_array_equal(workspaces.gather(X, y.astype(np.int32), w, index)[1], y[index])
