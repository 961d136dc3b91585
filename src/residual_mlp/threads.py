"""BLAS threads chosen for the size of the products, once per training call.

The matrix products of these networks are small for most tabular data: a batch of B rows through
layers of width D and M costs about B * (D + M) * max(D, M) multiply-adds per product. Below about
four million of them a second thread gains nothing (starting and joining it costs more than it saves),
and on a machine whose cores are busy it costs a great deal; above, the products are large enough
to share. `fit` sets the count once per call (switching costs 6-200 us, more than a small product).
"""
from __future__ import annotations

import contextlib
import os

SMALL_PRODUCT = 1 << 22     # multiply-adds per step and layer below which one thread is used
_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def blas_threads(batch_rows, D, M, n_threads=None):
    """The BLAS thread count for products of a batch of `batch_rows` rows and layers of width D and M.

    Returns `n_threads` when given; None (leave the libraries as they are) when a ``*_NUM_THREADS``
    variable is set; else 1 for small products and None (all cores) for large ones.
    """
    if n_threads is not None:
        return int(n_threads)
    if any(os.environ.get(name) for name in _VARIABLES):
        return None
    work = int(batch_rows) * (D + M) * max(D, M)
    return 1 if work < SMALL_PRODUCT else None


@contextlib.contextmanager
def limited(n_threads):
    """Within the block, BLAS libraries use at most `n_threads` threads (no change for None)."""
    if n_threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n_threads, user_api="blas"):
        yield
