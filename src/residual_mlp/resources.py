"""Memory bounds: what training will hold, what the machine lets this process have, and a check of one
against the other before anything large is allocated.

`training_bytes` counts, from the shapes alone, what `train.fit` holds at its peak (shape letters as in
model.py; P = D*D + M*D + M*M + C*M weights, b bytes per number of the training dtype):

    weights                   2 P b   the weights and those before the latest step (to undo a
                                      non-finite one); L-BFGS: its float64 iterate and gradient instead
    gradients                 1 P b   one buffer, shared by every batch shape
    optimizer slots           k P b   k = 1 momentum / nesterov, 2 adam, 0 gd; L-BFGS: 2 * 10 float64
                                      correction pairs, and its float64 trial point
    best weights              1 P b   with early stopping (patience) only
    activations, per batch    (3 D + 3 M + 4 C) B b   z, s, t, p, r (workspace.py) plus theta, y_hat,
                                      log y_hat, dtheta, for B rows; with a short last batch, twice
    gathered batch            B D b   when mini-batches are shuffled
    validation forward pass   (3 D + 4 M + 3 C) V b   model.forward over the V validation rows
    data copies               N D b   when fit makes its own copy of X (a validation split, a cast)

A SciPy sparse X (`sparse_bytes`, see sparse.py) is never densified whole: a copy of it counts its own
bytes (data, indices, indptr) instead of N D b; mini-batches densify B rows (B D b), full batch and
L-BFGS a block of K rows at a time (activations and the dense rows for K rows, one more gradient
buffer for the sums, the logits N C b), and the validation pass runs by blocks too (its logits,
probabilities and log-probabilities 3 V C b). The weights count as for dense X: W1 is D x D.

`available_bytes` is the least of MemAvailable (/proc/meminfo), the cgroup's limit less its usage
(cgroup v2 memory.max, v1 memory.limit_in_bytes, for this process's cgroup and its ancestors) and
the address-space limit RLIMIT_AS less what the process has mapped. `check_training_memory` refuses a
run whose estimate, times `MARGIN`, exceeds that.
"""
from __future__ import annotations

import os
import resource

import numpy as np

from .errors import InputError
from .workspace import gather_rows

MARGIN = 1.25   # the estimate is raised by this factor before the comparison: BLAS, Python and
                # numpy temporaries come on top of the arrays counted
LBFGS_MEMORY = 10  # scipy's L-BFGS-B default number of correction pairs


class InsufficientMemory(InputError, MemoryError):
    """Training would need more memory than is available: an InputError (exit 2) and a MemoryError."""


def weight_count(D, M, C):
    """P: the number of weights, D*D + M*D + M*M + C*M."""
    return D * D + M * D + M * M + C * M


def training_bytes(N, D, M, C, dtype=np.float64, *, batch_size=None, optimizer="gd", validation_rows=0,
                   patience=None, shuffle=True, data_copy=False, sparse_bytes=None, block_rows=None):
    """Bytes `train.fit` holds at its peak for N training rows (see the module docstring for the terms).

    Parameters
    ----------
    N, D, M, C : int
        Training rows, features, hidden width, classes.
    dtype : numpy dtype
        The training dtype (float32 or float64).
    batch_size : int or None
        None: full batch.
    optimizer : str
        One of `optim.OPTIMIZERS`.
    validation_rows : int
        Rows of the validation set (0 without one).
    patience : int or None
        Early stopping keeps the best weights.
    shuffle : bool
        Shuffled mini-batches are gathered into a buffer of their own.
    data_copy : bool
        Whether fit copies X (N + validation_rows rows), as a validation split or a dtype cast does.
    sparse_bytes : int or None
        For a SciPy sparse X: its bytes (data, indices, indptr), counted for a copy instead of N D b.
    block_rows : int or None
        For a sparse X: the rows densified at once by full batch, L-BFGS and the validation pass.

    Returns
    -------
    dict
        Each term in bytes, and their sum under "total".
    """
    N, D, M, C, V = (int(v) for v in (N, D, M, C, validation_rows))
    b = np.dtype(dtype).itemsize
    P = weight_count(D, M, C)
    B = N if batch_size is None else min(int(batch_size), N)
    per_row = (3 * D + 3 * M + 4 * C) * b
    terms = {}
    if optimizer == "lbfgs":
        terms["weights"] = 2 * P * b + 3 * P * 8
        terms["optimizer"] = (2 * LBFGS_MEMORY + 2) * P * 8
        terms["gradients"] = P * b
        terms["activations"] = (3 * D + 4 * M + 3 * C) * N * b
    else:
        terms["weights"] = 2 * P * b
        terms["gradients"] = P * b
        terms["optimizer"] = {"momentum": 1, "nesterov": 1, "adam": 2}.get(optimizer, 0) * P * b
        short = N % B != 0
        terms["activations"] = per_row * B * (2 if short else 1)
        # shuffled rows are gathered whole batches at a time, about workspace.GATHER_BYTES (workspace.gather_rows)
        terms["gathered batch"] = min(N, gather_rows(B, D, b)) * D * b if (shuffle and B < N) else 0
    terms["best weights"] = P * b if patience is not None else 0
    terms["validation"] = (3 * D + 4 * M + 3 * C) * V * b
    terms["data copy"] = (N + V) * D * b if data_copy else 0
    if sparse_bytes is not None:  # rows densified a block at a time (sparse.py)
        K = min(N, int(block_rows or N))
        if optimizer == "lbfgs" or B == N:
            terms["activations"] = per_row * K * (2 if N % K else 1) + N * C * b
            terms["gradients"] += P * b  # the blocks' own buffer, besides the sums
        terms["gathered batch"] = (K if (optimizer == "lbfgs" or B == N) else B) * D * b
        terms["validation"] = (5 * D + 4 * M + 4 * C) * min(V, K) * b + 3 * V * C * b
        terms["data copy"] = int(sparse_bytes) if data_copy else 0
    terms["total"] = sum(terms.values())
    return terms


def memory_limits():
    """{source: bytes this process may still allocate}, for each limit found (see `available_bytes`)."""
    limits = {}
    meminfo = _meminfo()
    if "MemAvailable" in meminfo:
        limits["MemAvailable"] = meminfo["MemAvailable"]
    cgroup = _cgroup_room()
    if cgroup is not None:
        limits["cgroup memory limit"] = cgroup
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        limits["RLIMIT_AS (ulimit -v)"] = max(0, soft - _mapped_bytes())
    return limits


def available_bytes():
    """The least of MemAvailable, the cgroup's room and RLIMIT_AS's room, in bytes (None when none is known)."""
    limits = memory_limits()
    return min(limits.values()) if limits else None


def check_training_memory(N, D, M, C, dtype=np.float64, *, available=None, **options):
    """Raise InsufficientMemory (one line) when `training_bytes(...)` times MARGIN exceeds what is available.

    `options` are those of `training_bytes`; `available` (bytes) defaults to `available_bytes()`.
    Returns the estimate (the dict of `training_bytes`). Nothing is refused when no limit is known.
    """
    need = training_bytes(N, D, M, C, dtype, **options)
    if available is None:
        limits = memory_limits()
        source = min(limits, key=limits.get) if limits else None
        available = limits.get(source)
    else:
        source = "given"
    if available is not None and need["total"] * MARGIN > available:
        biggest = max((k for k in need if k != "total"), key=need.get)
        if biggest in ("weights", "gradients", "optimizer", "best weights"):  # W1 alone is D x D
            advice = "fewer features (W1 is D x D), a smaller hidden width (n_hidden, --hidden) or float32"
        else:
            advice = "a mini-batch size (batch_size, --batch-size), fewer rows or float32"
        raise InsufficientMemory(
            f"training a {D}-{M}-{C} network on {N} rows needs about {format_bytes(need['total'])} "
            f"({format_bytes(need[biggest])} of it {biggest}), and with the margin of {MARGIN:g}x more than the "
            f"{format_bytes(available)} available ({source}); shrink it with {advice}")
    return need


def format_bytes(n):
    """'1.5 GiB'-style text for a number of bytes."""
    n = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _meminfo():
    values = {}
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                name, _, rest = line.partition(":")
                parts = rest.split()
                if parts and parts[0].isdigit():
                    values[name] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    except OSError:
        pass
    return values


def _read_number(path):
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    if text == "max":
        return None
    return int(text) if text.isdigit() else None


def _cgroup_room():
    """Least limit-less-usage over this process's memory cgroup and its ancestors (v2 and v1); or None."""
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    candidates = []  # (limit file, usage file)
    for line in lines:
        _, controllers, where = line.split(":", 2)
        if controllers == "":       # v2 unified hierarchy
            base, limit, usage = "/sys/fs/cgroup", "memory.max", "memory.current"
        elif "memory" in controllers.split(","):
            base, limit, usage = "/sys/fs/cgroup/memory", "memory.limit_in_bytes", "memory.usage_in_bytes"
        else:
            continue
        parts = [p for p in where.split("/") if p]
        for k in range(len(parts), -1, -1):  # the cgroup, then each ancestor; a namespaced mount is its root
            folder = os.path.join(base, *parts[:k])
            candidates.append((os.path.join(folder, limit), os.path.join(folder, usage)))
    room = None
    for limit_file, usage_file in dict.fromkeys(candidates):
        limit = _read_number(limit_file)
        if limit is None or limit >= 1 << 60:  # "max", or v1's "no limit" (a page-rounded 2**63)
            continue
        usage = _read_number(usage_file) or 0
        left = max(0, limit - usage)
        room = left if room is None else min(room, left)
    return room


def _mapped_bytes():
    """Virtual memory this process has mapped (VmSize), in bytes."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0
