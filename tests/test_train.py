"""The training loop: mini-batches, schedules, early stopping, failure handling, resume, determinism.

References are computed by hand from `loss_and_grads` (the core gradients) or by torch, never read
back from `fit` itself, except where the property under test is that two runs of `fit` agree.
"""
import math

import numpy as np
import pytest
import torch

from residual_mlp import flow, init_params, loss_and_grads, optim, predict
from residual_mlp.model import Params
from residual_mlp.train import fit

PER_EPOCH = ("loss", "accuracy", "lr", "grad_norm", "elapsed")


def _data(N=30, D=5, C=3, seed=5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D))                                 # (N, D)
    y = (X @ rng.standard_normal((D, C))).argmax(axis=1)            # (N,)
    return X, y


@pytest.fixture(scope="module")
def small():
    X, y = _data()
    return init_params(5, 8, 3, seed=2), X, y


def _equal(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b))


def _assert_close(a, b, rtol=1e-12):
    for name, u, v in zip(Params._fields, a, b):
        err = np.max(np.abs(u - v)) / np.max(np.abs(v))
        assert err < rtol, f"{name}: max rel diff {err:.3e}"


def _keep(seen):
    """A callback that keeps a copy of the weights after every epoch."""
    return lambda state: seen.append(Params(*(W.copy() for W in state.params)))


def _sgd_by_hand(params, X, y, lr, batches):
    """Plain SGD over the given index batches, with the core gradients."""
    losses = []
    for index in batches:
        loss, grads = loss_and_grads(params, X[index], y[index])
        losses.append((float(loss), len(index)))
        params = Params(*(W - lr * dW for W, dW in zip(params, grads)))
    return params, losses


def _batches_of(order, B):
    return [order[i:i + B] for i in range(0, len(order), B)]


def _history_without_time(history):
    d = history.as_dict()
    d.pop("elapsed")
    return d


# --- mini-batches -------------------------------------------------------------------------------


def test_shuffled_epochs_equal_hand_stepped_batches(small):
    """Two epochs of 30 rows in batches of 8 (the last one short: 6 rows), reshuffled per epoch."""
    params, X, y = small
    lr, B, seed = 0.2, 8, 3
    new, history = fit(params, X, y, lr=lr, epochs=2, batch_size=B, seed=seed)
    expected, losses = params, []
    for epoch in range(2):
        order = np.random.default_rng([seed, epoch]).permutation(len(X))
        expected, epoch_losses = _sgd_by_hand(expected, X, y, lr, _batches_of(order, B))
        assert [n for _, n in epoch_losses] == [8, 8, 8, 6]
        losses.append(sum(loss * n for loss, n in epoch_losses) / len(X))
    _assert_close(new, expected)
    np.testing.assert_allclose(history.loss, losses, rtol=1e-12)


def test_unshuffled_epochs_keep_the_row_order(small):
    params, X, y = small
    new, _ = fit(params, X, y, lr=0.2, epochs=2, batch_size=8, shuffle=False, seed=3)
    order = np.arange(len(X))
    expected, _ = _sgd_by_hand(params, X, y, 0.2, _batches_of(order, 8) * 2)
    _assert_close(new, expected)
    shuffled, _ = fit(params, X, y, lr=0.2, epochs=2, batch_size=8, seed=3)
    assert not _equal(new, shuffled)


def test_weighted_mini_batches_skip_a_batch_of_zero_weight(small):
    params, X, y = small
    w = np.r_[np.zeros(8), np.linspace(0.5, 2.0, 22)]                 # (30,) the first batch weighs 0
    new, history = fit(params, X, y, lr=0.2, epochs=1, batch_size=8, shuffle=False, sample_weight=w)
    expected, losses = params, []
    for index in _batches_of(np.arange(len(X)), 8)[1:]:
        loss, grads = loss_and_grads(expected, X[index], y[index], w[index])
        losses.append(float(loss) * w[index].sum())
        expected = Params(*(W - 0.2 * dW for W, dW in zip(expected, grads)))
    _assert_close(new, expected)
    assert history.loss[0] == pytest.approx(sum(losses) / w.sum(), rel=1e-12)


def test_a_batch_as_large_as_the_data_is_full_batch(small):
    params, X, y = small
    a, ha = fit(params, X, y, lr=0.2, epochs=3, batch_size=500, seed=1)
    b, hb = fit(params, X, y, lr=0.2, epochs=3, seed=1)
    assert _equal(a, b) and ha.loss == hb.loss


# --- history -----------------------------------------------------------------------------------


def test_history_fields_and_their_first_values(small):
    params, X, y = small
    Xv, yv = _data(N=20, seed=9)
    wd = 0.01
    seen = []
    new, history = fit(params, X, y, lr=0.3, epochs=6, weight_decay=wd, validation_data=(Xv, yv),
                       record_flow=True, callback=_keep(seen))
    assert all(len(getattr(history, name)) == 6 for name in PER_EPOCH + ("val_loss", "val_accuracy", "flow"))
    assert history.stop_reason == "max_epochs" and "6" in history.message
    # Full batch: the training numbers of epoch k are those of the weights entering step k.
    loss0, grads0 = loss_and_grads(params, X, y)
    assert history.loss[0] == pytest.approx(float(loss0), rel=1e-12)
    assert history.accuracy[0] == np.mean(predict(params, X) == y)
    norm0 = math.sqrt(sum(np.sum((dW + wd * W) ** 2) for W, dW in zip(params, grads0)))
    assert history.grad_norm[0] == pytest.approx(norm0, rel=1e-12)
    assert history.loss[3] == pytest.approx(float(loss_and_grads(seen[2], X, y)[0]), rel=1e-12)
    # Validation and flow: the weights leaving step k.
    for k in (0, 5):
        assert history.val_loss[k] == pytest.approx(float(loss_and_grads(seen[k], Xv, yv)[0]), rel=1e-12)
        assert history.val_accuracy[k] == np.mean(predict(seen[k], Xv) == yv)
        assert history.flow[k] == pytest.approx(flow.flow_stats(seen[k], X, y))
    assert _equal(seen[-1], new)
    assert history.lr == [0.3] * 6
    assert all(b >= a for a, b in zip(history.elapsed, history.elapsed[1:]))
    _, plain = fit(params, X, y, lr=0.3, epochs=2)
    assert plain.val_loss == [] and plain.val_accuracy == [] and plain.flow == []


# --- schedules ---------------------------------------------------------------------------------


def test_cosine_schedule_matches_torch_and_drives_the_steps(small):
    params, X, y = small
    lr, epochs = 0.4, 12
    _, history = fit(params, X, y, lr=lr, epochs=epochs, lr_schedule="cosine")
    weight = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([weight], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    expected = []
    for _ in range(epochs):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    np.testing.assert_allclose(history.lr, expected, rtol=1e-9, atol=1e-15)
    # The scheduled rate is the one the step uses: epoch 1 of 2 runs at lr (1 + cos(pi/2)) / 2.
    two, _ = fit(params, X, y, lr=lr, epochs=2, lr_schedule="cosine")
    by_hand, _ = _sgd_by_hand(params, X, y, lr, [np.arange(len(X))])
    by_hand, _ = _sgd_by_hand(by_hand, X, y, lr / 2, [np.arange(len(X))])
    _assert_close(two, by_hand)


def test_plateau_halves_the_rate_after_five_epochs_without_improvement(small):
    params, X, y = small
    # tol = 10: no epoch after the first improves the training loss by that much.
    _, history = fit(params, X, y, lr=0.1, epochs=17, lr_schedule="plateau", tol=10.0)
    # Epoch 0 improves on +inf; epochs 1-5 are bad, so epoch 6 runs at half the rate; 6-10 are
    # bad again (the count restarts), so epoch 11 runs at a quarter; 11-15 bad, epoch 16 at 1/8.
    assert history.lr == [0.1] * 6 + [0.05] * 5 + [0.025] * 5 + [0.0125]
    _, steady = fit(params, X, y, lr=0.1, epochs=17, lr_schedule="plateau", tol=0.0)
    assert all(b < a for a, b in zip(steady.loss, steady.loss[1:]))
    assert steady.lr == [0.1] * 17


# --- determinism, validation split, resume -----------------------------------------------------


def test_same_seed_gives_bit_identical_runs(small):
    params, X, y = small
    options = dict(lr=0.05, epochs=5, batch_size=7, optimizer="nesterov", weight_decay=1e-3,
                   lr_schedule="cosine", validation_fraction=0.3)
    a, ha = fit(params, X, y, seed=11, **options)
    b, hb = fit(params, X, y, seed=11, **options)
    c, hc = fit(params, X, y, seed=12, **options)
    assert _equal(a, b)
    assert _history_without_time(ha) == _history_without_time(hb)
    assert not _equal(a, c)


def test_validation_split_is_stratified_and_seeded(monkeypatch):
    """The training rows reach `flow_stats`: their labels reveal the split."""
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [40, 20, 10])                          # (70,)
    X = rng.standard_normal((70, 4)) + y[:, None]                   # (70, 4)
    seen = []
    monkeypatch.setattr(flow, "flow_stats", lambda params, X, y, w: seen.append((X.copy(), y.copy())) or {})
    params = init_params(4, 6, 3, seed=0)
    for seed in (1, 1, 2):
        fit(params, X, y, lr=0.1, epochs=1, validation_fraction=0.3, seed=seed, record_flow=True)
    (X1, y1), (X1b, _), (X2, y2) = seen
    # 30% of 40/20/10 is 12/6/3 held out: 28/14/7 rows train, in every seeded split.
    assert np.bincount(y1).tolist() == [28, 14, 7]
    assert np.bincount(y2).tolist() == [28, 14, 7]
    assert np.array_equal(X1, X1b)
    assert not np.array_equal(X1, X2)
    # The training rows are rows of X, in their original order.
    index = [int(np.flatnonzero((X == row).all(axis=1))[0]) for row in X1]
    assert index == sorted(index)


@pytest.mark.parametrize("options", [
    dict(lr=0.3),
    dict(lr=0.01, optimizer="adam", batch_size=7, validation_fraction=0.2, lr_schedule="plateau"),
], ids=["gd-full-batch", "adam-mini-batch"])
def test_resume_is_bit_identical_to_an_uninterrupted_run(small, options):
    params, X, y = small
    whole, h_whole = fit(params, X, y, epochs=9, seed=4, **options)
    _, _, state = fit(params, X, y, epochs=4, seed=4, return_state=True, **options)
    assert state.epoch == 4
    resumed, h_resumed = fit(params, X, y, epochs=9, seed=4, resume=state, **options)
    assert _equal(whole, resumed)
    assert _history_without_time(h_whole) == _history_without_time(h_resumed)


# --- early stopping ----------------------------------------------------------------------------


def test_early_stopping_restores_the_best_validation_weights():
    """Training labels with 40% noise, clean validation data: validation loss falls, then rises."""
    rng = np.random.default_rng(0)
    D, C = 6, 3
    X = rng.standard_normal((60, D))
    w = rng.standard_normal((D, C))
    y = (X @ w).argmax(axis=1)
    flip = rng.random(60) < 0.4
    y[flip] = (y[flip] + 1) % C
    Xv = rng.standard_normal((200, D))
    yv = (Xv @ w).argmax(axis=1)
    params = init_params(D, 32, C, seed=1)
    options = dict(lr=0.2, validation_data=(Xv, yv), tol=0.0)
    best, history = fit(params, X, y, epochs=1000, patience=5, **options)
    assert history.stop_reason == "early_stopping"
    k = history.best_epoch
    assert 5 < k and len(history) == k + 1 + 5
    assert history.val_loss[k] == min(history.val_loss)
    assert history.val_loss[-1] > history.val_loss[k]
    assert f"restored epoch {k + 1}" in history.message
    again, _ = fit(params, X, y, epochs=k + 1, **options)
    assert _equal(best, again)
    assert float(loss_and_grads(best, Xv, yv)[0]) == pytest.approx(history.val_loss[k], rel=1e-12)


# --- non-finite loss ---------------------------------------------------------------------------


def test_a_huge_learning_rate_stops_with_the_last_finite_weights(small, monkeypatch):
    from residual_mlp import train

    monkeypatch.setattr(train, "DIVERGENCE_FACTOR", math.inf)  # the loss grows 10x before it overflows
    params, X, y = small
    seen = []
    with np.errstate(all="ignore"):
        kept, history = fit(params, X, y, lr=1e6, epochs=50, callback=_keep(seen))
    assert history.stop_reason == "non_finite"
    n = len(history)
    assert 1 <= n < 50
    assert f"diverged at epoch {n + 1}: the loss or its gradient became non-finite" in history.message
    assert "smaller learning rate" in history.message
    assert all(np.isfinite(W).all() for W in kept)
    # The last step (epoch n) made the loss non-finite; the weights before it came out of epoch n - 1.
    assert _equal(kept, seen[n - 2] if n >= 2 else params)
    with np.errstate(all="ignore"):
        loss, grads = loss_and_grads(seen[n - 1], X, y)
        assert not (np.isfinite(loss) and all(np.isfinite(np.sum(dW * dW)) for dW in grads))
    assert float(loss_and_grads(kept, X, y)[0]) == pytest.approx(history.loss[-1], rel=1e-12)


def test_weights_that_overflow_on_the_last_step_are_rolled_back():
    X, y = _data()
    params = init_params(5, 8, 3, seed=2, dtype=np.float32)
    params = params._replace(W4=params.W4 * 1000)  # gradient entries up to ~50: 1e38 * 50 overflows
    with np.errstate(all="ignore"):
        kept, history = fit(params, X.astype(np.float32), y, lr=1e38, epochs=1)
    assert history.stop_reason == "non_finite" and "epoch 1" in history.message
    assert _equal(kept, params) and kept.W1.dtype == np.float32


def test_mini_batch_non_finite_keeps_the_weights_before_the_bad_step(small):
    params, X, y = small
    with np.errstate(all="ignore"):
        kept, history = fit(params, X, y, lr=1e30, epochs=5, batch_size=8, seed=0)
    assert history.stop_reason == "non_finite" and len(history) == 0
    assert all(np.isfinite(W).all() for W in kept)
    assert np.isfinite(loss_and_grads(kept, X, y)[0])


# --- Ctrl-C ------------------------------------------------------------------------------------


def _interrupt_after(k):
    def callback(state):
        if state.epoch == k:
            raise KeyboardInterrupt
    return callback


@pytest.mark.parametrize("options", [dict(lr=0.3), dict(lr=0.02, optimizer="adam", batch_size=8)],
                         ids=["gd-full-batch", "adam-mini-batch"])
def test_interrupt_in_the_callback_keeps_the_weights_of_k_epochs(small, options):
    params, X, y = small
    stopped, history = fit(params, X, y, epochs=20, seed=1, callback=_interrupt_after(3), **options)
    assert history.stop_reason == "interrupted"
    assert "after 3 epochs" in history.message
    assert len(history) == 3
    three, _ = fit(params, X, y, epochs=3, seed=1, **options)
    assert _equal(stopped, three)


def test_interrupt_during_bookkeeping_drops_the_unfinished_row(small, monkeypatch):
    """Ctrl-C while epoch 2's row is half written: the step is kept, the half row is not."""
    params, X, y = small
    calls = []

    def flow_stats(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return {}

    monkeypatch.setattr(flow, "flow_stats", flow_stats)
    stopped, history = fit(params, X, y, lr=0.3, epochs=10, validation_fraction=0.3, seed=0,
                           record_flow=True)
    assert history.stop_reason == "interrupted"
    assert all(len(getattr(history, name)) == 2
               for name in PER_EPOCH + ("val_loss", "val_accuracy", "flow"))
    three, _ = fit(params, X, y, lr=0.3, epochs=3, validation_fraction=0.3, seed=0)
    assert _equal(stopped, three)


def test_interrupt_mid_epoch_keeps_the_last_finished_step(small, monkeypatch):
    params, X, y = small
    real_step = optim.step
    calls = []

    def step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 6:  # the second batch of epoch 1 (4 batches an epoch)
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(optim, "step", step)
    stopped, history = fit(params, X, y, lr=0.2, epochs=5, batch_size=8, shuffle=False)
    assert history.stop_reason == "interrupted" and len(history) == 1
    order = np.arange(len(X))
    expected, _ = _sgd_by_hand(params, X, y, 0.2, _batches_of(order, 8) + _batches_of(order, 8)[:1])
    _assert_close(stopped, expected)


# --- options -----------------------------------------------------------------------------------


@pytest.mark.parametrize("options, message", [
    (dict(lr_schedule="linear"), "unknown lr_schedule"),
    (dict(lr=0.0), "lr must be a positive number"),
    (dict(epochs=0), "epochs must be a positive integer"),
    (dict(batch_size=0), "batch_size must be a positive integer"),
    (dict(optimizer="lbfgs", batch_size=4), "full batch only"),
    (dict(weight_decay=-1.0), "weight_decay must be non-negative"),
    (dict(patience=0), "patience must be a positive integer"),
    (dict(validation_fraction=1.5), "validation_fraction must lie in"),
])
def test_bad_options_are_refused(small, options, message):
    params, X, y = small
    with pytest.raises(ValueError, match=message):
        fit(params, X, y, **options)


def test_a_non_finite_step_right_after_a_resume_is_undone_as_in_one_run(small, monkeypatch):
    from residual_mlp import train

    monkeypatch.setattr(train, "DIVERGENCE_FACTOR", math.inf)
    params, X, y = small
    with np.errstate(all="ignore"):
        whole, history = fit(params, X, y, lr=50.0, epochs=60)
        assert history.stop_reason == "non_finite"
        n = len(history)  # epoch n + 1 met the non-finite loss
        for k in range(max(1, n - 2), n + 1):  # resume points just before the stop
            _, _, state = fit(params, X, y, lr=50.0, epochs=k, return_state=True)
            resumed, history2 = fit(None, X, y, lr=50.0, epochs=60, resume=state)
            assert history2.stop_reason == "non_finite"
            assert _equal(resumed, whole), f"resumed at epoch {k}"


def test_a_resumed_run_without_validation_monitors_its_training_loss(small):
    params, X, y = small
    _, _, state = fit(params, X, y, lr=0.01, epochs=3, validation_fraction=0.3, seed=0, return_state=True)
    # Resumed on all rows with no validation set: the training loss keeps falling at this small rate,
    # so patience 1 must not fire (an earlier run's frozen validation loss would stop it at once).
    _, history = fit(None, X, y, lr=0.01, epochs=8, patience=1, tol=0.0, resume=state)
    assert history.stop_reason == "max_epochs"
    assert len(history.loss) == 8 and len(history.val_loss) == 3


# --- divergence, bounds -------------------------------------------------------------------------


def test_a_loss_ten_times_the_first_epochs_is_divergence(small):
    import warnings

    params, X, y = small
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy warning escapes a diverging run
        kept, history = fit(params, X, y, lr=1e6, epochs=50, callback=_keep(seen))
    n = len(history)
    assert history.stop_reason == "diverged"
    assert history.loss[-1] > 10 * history.loss[0] and all(v <= 10 * history.loss[0] for v in history.loss[:-1])
    assert history.message.startswith(f"training diverged at epoch {n}: the loss {history.loss[-1]:.4g} is "
                                      f"more than 10 times the first epoch's ({history.loss[0]:.4g})")
    assert "try a smaller learning rate (lr / --lr)" in history.message and "\n" not in history.message
    assert _equal(kept, seen[-1])  # the weights after the diverged epoch, finite


@pytest.mark.parametrize("options", [dict(batch_size=8, seed=0), dict(optimizer="adam", lr=50.0),
                                     dict(optimizer="momentum", batch_size=4, seed=1)])
def test_divergence_in_every_loop_is_reported_without_warnings(small, options):
    import warnings

    from residual_mlp.train import DIVERGED

    params, X, y = small
    options = {"lr": 1e4, **options}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept, history = fit(params, X, y, epochs=40, **options)
    assert history.stop_reason in DIVERGED and "diverged at epoch" in history.message
    assert all(np.isfinite(W).all() for W in kept)


def test_a_normal_run_does_not_count_as_diverged(small):
    params, X, y = small
    _, history = fit(params, X, y, lr=0.1, epochs=30)
    assert history.stop_reason == "max_epochs"


def test_sample_weights_whose_sum_overflows_are_refused(small):
    params, X, y = small
    w = np.full(len(y), 1e307)
    with pytest.raises(ValueError, match="sample_weight sums to more than float64 can hold"):
        fit(params, X, y, sample_weight=w, epochs=2)


def test_a_validation_split_that_takes_every_weighted_row_is_refused(small):
    params, X, y = small
    w = np.zeros(len(y))
    w[:2] = 1.0
    with pytest.raises(ValueError, match="no training row has a positive sample_weight"):
        for seed in range(50):  # some split puts both weighted rows into validation
            fit(params, X, y, sample_weight=w, validation_fraction=0.5, seed=seed, epochs=1)


def test_training_that_does_not_fit_in_memory_is_refused_at_once(small, monkeypatch):
    from residual_mlp import resources

    params, X, y = small
    monkeypatch.setattr(resources, "memory_limits", lambda: {"cgroup memory limit": 10_000})
    with pytest.raises(resources.InsufficientMemory, match=r"needs about .* more than the 9.8 KiB available "
                                                           r"\(cgroup memory limit\); shrink it with "):
        fit(params, X, y, epochs=2)


@pytest.mark.parametrize("optimizer", ["gd", "adam"])
def test_weights_of_mixed_dtypes_train_in_w1s_dtype(small, optimizer):
    """W1's dtype is the training dtype: a W4 given in float32 is converted, and the run equals the
    run from the converted weights, bit for bit; the caller's arrays are left as they were."""
    params, X, y = small
    mixed = params._replace(W4=params.W4.astype(np.float32))
    converted = mixed._replace(W4=mixed.W4.astype(np.float64))
    kw = dict(optimizer=optimizer, lr=0.01, epochs=3, batch_size=7, weight_decay=1e-3, seed=0)
    got, history = fit(mixed, X, y, **kw)
    want, history_want = fit(converted, X, y, **kw)
    assert [W.dtype for W in got] == [np.float64] * 4
    assert history.loss == history_want.loss
    for W, V in zip(got, want):
        np.testing.assert_array_equal(W, V)
    assert mixed.W4.dtype == np.float32


@pytest.mark.parametrize("n_hidden", [12_000, 10**8])
def test_the_estimator_refuses_a_network_too_large_before_drawing_a_weight(monkeypatch, n_hidden):
    """Dense input as sparse: the memory check runs before init_params allocates W3 (M x M), so a
    hidden width of 10^8 gets the one-line advice, not numpy's allocation error or the OOM killer."""
    from residual_mlp import ResidualMLPClassifier, model, resources

    monkeypatch.setattr(resources, "memory_limits", lambda: {"cgroup memory limit": 2**30})

    def no_draw(*args, **kwargs):
        raise AssertionError("weights drawn before the memory check")

    monkeypatch.setattr(model, "init_params", no_draw)
    X, y = np.random.default_rng(0).standard_normal((40, 5)), np.arange(40) % 3
    with pytest.raises(resources.InsufficientMemory) as refused:
        ResidualMLPClassifier(n_hidden=n_hidden, max_iter=1).fit(X, y)
    message = str(refused.value)
    assert "\n" not in message and f"-{n_hidden}-3 network" in message
    assert "a smaller hidden width (n_hidden, --hidden)" in message


@pytest.mark.parametrize("N, D, batch_size, advice", [
    (100, 3000, 16, r"fewer features \(W1 is D x D\), a smaller hidden width \(n_hidden, --hidden\) or float32$"),
    (200_000, 10, None, r"a mini-batch size \(batch_size, --batch-size\), fewer rows or float32$"),
])
def test_the_memory_advice_names_what_takes_the_memory(N, D, batch_size, advice):
    from residual_mlp import resources

    need = resources.training_bytes(N, D, 16, 3, batch_size=batch_size)
    with pytest.raises(resources.InsufficientMemory, match=advice):
        resources.check_training_memory(N, D, 16, 3, batch_size=batch_size, available=need["total"])


def test_a_resume_without_the_optimizers_slots_is_refused(small):
    params, X, y = small
    _, _, state = fit(params, X, y, optimizer="adam", lr=0.01, epochs=2, return_state=True)
    del state.opt_state["exp_avg_sq"]
    with pytest.raises(ValueError, match="lacks the optimizer state 'adam' needs \\(exp_avg_sq\\)"):
        fit(None, X, y, optimizer="adam", lr=0.01, epochs=3, resume=state)


def test_the_result_is_not_the_callers_arrays(small):
    params, X, y = small
    before = [W.copy() for W in params]
    out, _ = fit(params, X, y, lr=0.1, epochs=2)
    assert all(not np.shares_memory(W, V) for W, V in zip(out, params))
    assert all(np.array_equal(W, V) for W, V in zip(params, before))
    _, _, state = fit(params, X, y, lr=0.1, epochs=2, return_state=True)
    given = state.params
    again, _ = fit(None, X, y, lr=0.1, epochs=2, resume=state)  # nothing left to do: still new arrays
    assert all(not np.shares_memory(W, V) for W, V in zip(again, given))
