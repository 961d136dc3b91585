"""SciPy sparse input (sparse.py): fit and predict a block of rows at a time, equal to the dense result.

Mini-batches densify the same rows into the same buffers as a dense X, so they must be equal bit for
bit; full batch and L-BFGS sum the loss and gradients over blocks, equal within float rounding (a
normwise 1e-12 in float64 after several steps). The data: scikit-learn's bundled digits (pixel
intensities, about half of them exactly zero) and a TF-IDF matrix of a small corpus built here.
"""
import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.datasets import load_digits
from sklearn.feature_extraction.text import TfidfVectorizer

import residual_mlp as rm
from residual_mlp import ResidualMLPClassifier, resources, sparse
from residual_mlp.errors import InputError

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X, y = X[:600] / 16.0, y[:600]          # intensities in [0, 1]; about half the entries are 0
    assert 0.3 < np.mean(X == 0) < 0.7
    return X, y


def normwise(A, B):
    """max |A - B| / max |A|, per weight matrix: the largest over the four."""
    return max(float(np.max(np.abs(a - b)) / np.max(np.abs(a))) for a, b in zip(A, B))


def block_bytes(rows, D, M, C, itemsize=8):
    """The BLOCK_BYTES that make sparse.block_rows(D, M, C) equal to `rows`."""
    return rows * (5 * D + 4 * M + 4 * C) * itemsize


def fit_both(X, y, dtype=np.float64, M=24, **options):
    params = rm.init_params(X.shape[1], M, int(y.max()) + 1, seed=0, dtype=dtype)
    dense = rm.fit(params, X, y, **options)
    csr = rm.fit(params, sp.csr_matrix(X), y, **options)
    return dense, csr


MINI_BATCH = {
    "adam shuffled": dict(optimizer="adam", lr=1e-2, epochs=3, batch_size=64, seed=1),
    "adam in order": dict(optimizer="adam", lr=1e-2, epochs=3, batch_size=64, shuffle=False),
    "nesterov, weights, validation": dict(optimizer="nesterov", lr=0.05, epochs=4, batch_size=50, seed=2,
                                          validation_fraction=0.2, patience=2, lr_schedule="plateau"),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(MINI_BATCH))
def test_mini_batch_is_bit_identical(digits, name, dtype):
    X, y = digits
    options = dict(MINI_BATCH[name])
    if "validation_fraction" in options:
        options["sample_weight"] = np.random.default_rng(0).uniform(0, 2, len(y))
        options["class_weight"] = np.linspace(0.5, 2, 10)
    (a, ha), (b, hb) = fit_both(X, y, dtype, **options)
    assert b.W1.dtype == dtype
    for A, B in zip(a, b):
        np.testing.assert_array_equal(A, B)
    assert ha.loss == hb.loss and ha.accuracy == hb.accuracy and ha.val_loss == hb.val_loss
    assert ha.stop_reason == hb.stop_reason


FULL_BATCH = {
    "gd": dict(optimizer="gd", lr=0.5, epochs=8),
    "adam, weight decay": dict(optimizer="adam", lr=1e-2, epochs=6, weight_decay=1e-3),
    "lbfgs": dict(optimizer="lbfgs", epochs=6),
    "momentum, weights, validation": dict(optimizer="momentum", lr=0.2, epochs=6, validation_fraction=0.25,
                                          patience=3, seed=3),
    "lbfgs, weights, validation": dict(optimizer="lbfgs", epochs=6, validation_fraction=0.25, seed=4,
                                       validation_metric="accuracy"),
}


@pytest.mark.parametrize("name", list(FULL_BATCH))
def test_full_batch_sums_blocks_to_the_dense_mean(digits, name, monkeypatch):
    X, y = digits
    monkeypatch.setattr(sparse, "BLOCK_BYTES", block_bytes(200, 64, 24, 10))  # 3 blocks, the last short
    assert sparse.block_rows(64, 24, 10, np.float64) == 200
    options = dict(FULL_BATCH[name])
    if "weights" in name:
        options["sample_weight"] = np.random.default_rng(1).uniform(0, 2, len(y))
        options["class_weight"] = np.linspace(0.5, 2, 10)
    (a, ha), (b, hb) = fit_both(X, y, **options)
    assert normwise(a, b) < 1e-12
    np.testing.assert_allclose(hb.loss, ha.loss, rtol=1e-12)
    np.testing.assert_allclose(hb.grad_norm, ha.grad_norm, rtol=1e-10)
    np.testing.assert_allclose(hb.val_loss, ha.val_loss, rtol=1e-12)
    assert hb.accuracy == ha.accuracy and len(ha) == len(hb) and ha.stop_reason == hb.stop_reason


def test_full_batch_float32(digits):
    X, y = digits
    (a, ha), (b, hb) = fit_both(X, y, np.float32, optimizer="gd", lr=0.5, epochs=5)
    assert b.W1.dtype == np.float32
    assert normwise(a, b) < 1e-5
    np.testing.assert_allclose(hb.loss, ha.loss, rtol=1e-5)


def test_record_flow_by_blocks(digits, monkeypatch):
    X, y = digits
    monkeypatch.setattr(sparse, "BLOCK_BYTES", block_bytes(150, 64, 24, 10))
    w = np.random.default_rng(2).uniform(0, 2, len(y))
    (_, ha), (_, hb) = fit_both(X, y, optimizer="gd", epochs=2, record_flow=True, sample_weight=w)
    for row_a, row_b in zip(ha.flow, hb.flow):
        assert row_a.keys() == row_b.keys()
        for key in row_a:
            np.testing.assert_allclose(row_b[key], row_a[key], rtol=1e-12, err_msg=key)


def test_the_whole_matrix_is_never_densified(digits, monkeypatch):
    """Every densification of a sparse matrix is recorded: none has more rows than a block or a batch."""
    X, y = digits
    calls = []
    owners = {next(k for k in cls.__mro__ if "toarray" in vars(k)) for cls in (sp.csr_matrix, sp.csr_array,
                                                                                sp.coo_matrix, sp.csc_matrix)}
    owners |= {next(k for k in cls.__mro__ if "todense" in vars(k)) for cls in (sp.csr_matrix, sp.csr_array)}

    def recording(original):
        def method(self, *args, **kwargs):
            calls.append(self.shape[0])
            return original(self, *args, **kwargs)
        return method

    for owner in owners:
        for name in ("toarray", "todense"):
            if name in vars(owner):
                monkeypatch.setattr(owner, name, recording(vars(owner)[name]))
    monkeypatch.setattr(sparse, "BLOCK_BYTES", block_bytes(100, 65, 16, 10))
    limit = sparse.block_rows(65, 16, 10, np.float64)
    assert limit == 100 < len(y)
    Xs = sp.csr_matrix(X)
    for options in (dict(recipe="seed", max_iter=3), dict(optimizer="lbfgs", max_iter=3),
                    dict(batch_size=32, max_iter=2, early_stopping=True, scoring="f1_macro")):
        calls.clear()
        clf = ResidualMLPClassifier(n_hidden=16, input_bias=True, random_state=0, **options).fit(Xs, y)
        clf.predict_proba(Xs), clf.predict(Xs), clf.decision_function(Xs), clf.score(Xs, y)
        assert calls and max(calls) <= limit
    calls.clear()
    rm.fit(rm.init_params(64, 16, 10, seed=0), Xs, y, epochs=2, record_flow=True, validation_fraction=0.2, seed=0)
    assert calls and max(calls) <= sparse.block_rows(64, 16, 10, np.float64) < 0.8 * len(y)  # no input bias here


ESTIMATOR_OPTIONS = {
    "default recipe (mini-batch adam, input bias)": dict(max_iter=3),
    "seed recipe (full-batch gd)": dict(recipe="seed", max_iter=6),
    "full batch, input bias, class weights": dict(recipe="seed", max_iter=6, input_bias=True,
                                                  class_weight="balanced"),
    "lbfgs, no input bias": dict(optimizer="lbfgs", max_iter=6, input_bias=False, weight_decay=1e-3),
    "early stopping on a scorer": dict(max_iter=4, early_stopping=True, scoring="f1_macro", patience=2,
                                       class_weight={0: 2.0, 3: 0.5}),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(ESTIMATOR_OPTIONS))
def test_estimator_equals_dense(digits, name, dtype, monkeypatch):
    X, y = digits
    X = X.astype(dtype)
    monkeypatch.setattr(sparse, "BLOCK_BYTES", block_bytes(256, 65, 24, 10))  # blocks of 256 rows (float64)
    w = np.random.default_rng(3).uniform(0, 2, len(y))
    w[:20] = 0  # rows of weight 0 are dropped, from the sparse X too
    options = dict(n_hidden=24, random_state=0, **ESTIMATOR_OPTIONS[name])
    dense = ResidualMLPClassifier(**options).fit(X, y, sample_weight=w)
    csr = ResidualMLPClassifier(**options).fit(sp.csr_matrix(X), y, sample_weight=w)
    assert csr.params_[0].dtype == dtype and csr.n_features_in_ == 64
    bit_identical = options.get("recipe") != "seed" and options.get("optimizer") != "lbfgs"
    tolerance = 0 if bit_identical else 1e-12 if dtype == np.float64 else 1e-5
    assert normwise(dense.params_, csr.params_) <= tolerance
    assert dense.n_iter_ == csr.n_iter_ and dense.stop_reason_ == csr.stop_reason_
    for fmt in ("csr", "csc", "coo"):
        for kind in (sp.csr_matrix, sp.csr_array):
            Xs = kind(X).asformat(fmt)
            # predictions of one set of weights: dense against sparse blocks
            np.testing.assert_array_equal(dense.predict(Xs), dense.predict(X))
            np.testing.assert_allclose(dense.predict_proba(Xs), dense.predict_proba(X), rtol=1e-12 if
                                       dtype == np.float64 else 1e-6, atol=1e-300)
            np.testing.assert_allclose(dense.predict_log_proba(Xs), dense.predict_log_proba(X), rtol=1e-6)
            np.testing.assert_allclose(dense.decision_function(Xs), dense.decision_function(X), rtol=1e-6,
                                       atol=1e-6)
            assert dense.score(Xs, y) == dense.score(X, y)
    if bit_identical:
        np.testing.assert_array_equal(csr.predict(sp.csr_matrix(X)), dense.predict(X))


def test_partial_fit_equals_dense(digits):
    X, y = digits
    dense, csr = (ResidualMLPClassifier(n_hidden=16, random_state=0) for _ in range(2))
    for start in (0, 300):
        rows = slice(start, start + 300)
        dense.partial_fit(X[rows], y[rows], classes=np.arange(10))
        csr.partial_fit(sp.csr_array(X[rows]), y[rows], classes=np.arange(10))
    assert normwise(dense.params_, csr.params_) == 0


def test_integer_sparse_trains_in_float64_and_float32_stays(digits):
    X, y = digits
    ints = sp.csr_matrix((X * 16).astype(np.int64))
    assert ResidualMLPClassifier(n_hidden=8, max_iter=1).fit(ints, y).params_[0].dtype == np.float64
    floats = sp.csr_matrix(X.astype(np.float32))
    assert ResidualMLPClassifier(n_hidden=8, max_iter=1).fit(floats, y).params_[0].dtype == np.float32


def test_tfidf_text(monkeypatch):
    """A TF-IDF matrix (sparse, 2 classes of made-up sentences): sparse and dense fits agree, and it learns."""
    rng = np.random.default_rng(0)
    topics = [["goal", "match", "team", "score", "league", "coach", "season", "player"],
              ["vote", "party", "minister", "law", "election", "senate", "policy", "budget"]]
    common = ["the", "a", "today", "new", "said", "after", "week", "report", "big", "news"]
    texts, labels = [], []
    for i in range(400):
        label = i % 2
        words = [*rng.choice(topics[label], 3), *rng.choice(common, 6), *rng.choice(topics[1 - label], 1)]
        texts.append(" ".join(rng.permutation(words)))
        labels.append(["sport", "politics"][label])
    X = TfidfVectorizer().fit_transform(texts)                      # CSR, float64
    assert sp.issparse(X) and X.nnz < 0.6 * X.shape[0] * X.shape[1]
    labels = np.array(labels)
    monkeypatch.setattr(sparse, "BLOCK_BYTES", block_bytes(64, X.shape[1], 16, 2))  # several blocks
    for options in (dict(recipe="seed", max_iter=30, lr=1.0), dict(optimizer="lbfgs", max_iter=20),
                    dict(max_iter=10)):
        csr = ResidualMLPClassifier(n_hidden=16, random_state=0, **options).fit(X[:300], labels[:300])
        dense = ResidualMLPClassifier(n_hidden=16, random_state=0, **options).fit(X[:300].toarray(), labels[:300])
        assert normwise(dense.params_, csr.params_) < 1e-12
        np.testing.assert_array_equal(csr.predict(X[300:]), dense.predict(X[300:].toarray()))
        assert csr.score(X[300:], labels[300:]) > 0.9


def test_wrong_number_of_columns_is_the_usual_error(digits):
    X, y = digits
    clf = ResidualMLPClassifier(n_hidden=8, max_iter=1, random_state=0).fit(sp.csr_matrix(X), y)
    with pytest.raises(ValueError) as dense_error:
        clf.predict(X[:, :60])
    with pytest.raises(ValueError) as sparse_error:
        clf.predict(sp.csr_matrix(X[:, :60]))
    assert str(sparse_error.value) == str(dense_error.value)
    assert "60 features" in str(sparse_error.value) and "64" in str(sparse_error.value)


def random_csr(N, D, per_row):
    """A CSR matrix (N, D) with `per_row` random entries in every row (scipy's sp.random is slow at this size)."""
    rng = np.random.default_rng(0)
    indices = rng.integers(0, D, N * per_row)
    return sp.csr_matrix((rng.standard_normal(N * per_row), indices, np.arange(N + 1) * per_row), shape=(N, D))


def test_a_million_features_are_refused_by_the_memory_check():
    """W1 is D x D whatever the sparsity: the memory check refuses it (one line) before W1 is drawn."""
    D = 10**6
    X = random_csr(50, D, per_row=20)
    y = np.arange(50) % 2
    with pytest.raises(resources.InsufficientMemory) as refused:
        ResidualMLPClassifier(n_hidden=16, input_bias=False).fit(X, y)
    message = str(refused.value)
    assert "\n" not in message and f"{D}-16-2 network" in message and "weights" in message
    with pytest.raises(resources.InsufficientMemory):  # the same from the library, given small weights
        sparse.check_memory(X, D, 16, 2, np.float64)


def test_memory_estimate_counts_the_sparse_bytes_not_n_by_d():
    N, D, M, C = 200_000, 2_000, 64, 10
    X = random_csr(N, D, per_row=2)
    K = sparse.block_rows(D, M, C, np.float64)
    options = dict(validation_rows=N // 10, data_copy=True)
    dense = resources.training_bytes(N, D, M, C, **options)
    sparse_terms = resources.training_bytes(N, D, M, C, **options, sparse_bytes=sparse.nbytes(X), block_rows=K)
    assert sparse.nbytes(X) == X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    assert dense["data copy"] == (N + N // 10) * D * 8
    assert sparse_terms["data copy"] == sparse.nbytes(X)
    assert sparse_terms["gathered batch"] == K * D * 8                  # one dense block of rows
    assert sparse_terms["activations"] <= 2 * K * (3 * D + 3 * M + 4 * C) * 8 + N * C * 8
    P = resources.weight_count(D, M, C)
    assert sparse_terms["weights"] == dense["weights"] == 2 * P * 8  # W1 (D x D) counts all the same
    assert sparse_terms["total"] < dense["total"] / 10


def test_sparse_with_array_api_dispatch_is_one_line_error(digits):
    X, y = digits
    clf = ResidualMLPClassifier(n_hidden=8, max_iter=1, random_state=0).fit(X, y)
    with sklearn.config_context(array_api_dispatch=True):
        for call in (lambda: ResidualMLPClassifier().fit(sp.csr_matrix(X), y),
                     lambda: clf.predict(sp.csr_matrix(X))):
            with pytest.raises(InputError, match="host only") as error:
                call()
            assert "\n" not in str(error.value)


def test_sparse_on_the_dask_path_is_one_line_error(digits):
    da = pytest.importorskip("dask.array")
    from residual_mlp import dask_training

    X, y = digits
    with pytest.raises(InputError, match="SciPy sparse matrix: the Dask path") as error:
        dask_training.fit_dask(rm.init_params(64, 8, 10, seed=0), sp.csr_matrix(X), y, epochs=1)
    assert "\n" not in str(error.value)
    chunks = da.from_array(sp.csr_matrix(X), chunks=(300, 64))
    with pytest.raises(InputError, match="sparse chunks"):
        ResidualMLPClassifier(batch_size=None).fit(chunks, da.from_array(y, chunks=300))


def test_sparse_validation_data(digits, monkeypatch):
    """An explicit sparse validation set: its loss, accuracy and score by blocks, equal to the dense ones."""
    X, y = digits
    monkeypatch.setattr(sparse, "BLOCK_BYTES", block_bytes(40, 64, 24, 10))  # the 100 rows in 3 blocks
    params = rm.init_params(64, 24, 10, seed=0)
    options = dict(optimizer="gd", lr=0.5, epochs=3, validation_metric="accuracy", class_weight=np.linspace(1, 2, 10))
    _, dense = rm.fit(params, X[:500], y[:500], validation_data=(X[500:], y[500:]), **options)
    _, mixed = rm.fit(params, X[:500], y[:500], validation_data=(sp.csc_matrix(X[500:]), y[500:]), **options)
    np.testing.assert_allclose(mixed.val_loss, dense.val_loss, rtol=1e-13)
    assert mixed.val_accuracy == dense.val_accuracy and mixed.val_score == dense.val_score


def test_the_bytes_of_a_coo_matrix_count_its_indices_once():
    import scipy.sparse as sp

    X = sp.random(1000, 50, density=0.1, format="coo", random_state=0)
    index_bytes = sum(a.nbytes for a in X.coords) if hasattr(X, "coords") else X.row.nbytes + X.col.nbytes
    assert sparse.nbytes(X) == X.data.nbytes + index_bytes == X.nnz * (8 + 2 * X.row.itemsize)
