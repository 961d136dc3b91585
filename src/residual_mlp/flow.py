"""Gradient flow through the two skip connections: the seed's path 1 and path 2, measured.

The seed's computation graph reaches W3 and W4 by one path, but W1 and W2 by two, because t is
used twice (p = ReLU(t) and r = q + t). With e = y_hat - y (per sample, weighted as in the loss):

    path 1 (through W3 and the ReLU):  dt_1 = Lambda_t W3^T W4^T e
    path 2 (the skip r = q + t):       dt_2 =     I_M W4^T e

    dJ/dW2 = dt_1 s^T       + dt_2 s^T
    dJ/dW1 = W2^T dt_1 z^T  + W2^T dt_2 z^T

`path_terms` returns the four matrices; they add up to `model.backward`'s dW1 and dW2.
`flow_stats` reduces them to a few numbers per epoch (what `fit(record_flow=True)` records), together
with the size of each residual branch against its skip in the forward pass: ||h|| vs ||x|| and
||q|| vs ||t||. All norms are Frobenius norms over the batch.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import model, sparse
from .model import Params


class PathTerms(NamedTuple):
    """The gradients of W1 and W2 split by path: path1 + path2 is the whole gradient."""

    dW1_path1: np.ndarray  # (D, D)  W2^T Lambda_t W3^T W4^T (y_hat - y) z^T
    dW1_path2: np.ndarray  # (D, D)  W2^T            W4^T (y_hat - y) z^T
    dW2_path1: np.ndarray  # (M, D)       Lambda_t W3^T W4^T (y_hat - y) s^T
    dW2_path2: np.ndarray  # (M, D)                  W4^T (y_hat - y) s^T


def path_terms(params: Params, X, y, sample_weight=None, acts=None) -> PathTerms:
    """The four path terms of dL/dW1 and dL/dW2 for a batch X (N, D), y (N,).

    `acts` may pass a forward pass of the same X that the caller already has.
    """
    W1, W2, W3, W4 = params
    if acts is None:
        acts = model.forward(params, X)
    _, dtheta = model.cross_entropy(acts, y, sample_weight)  # (N, C) rows (y_hat - y)^T, weighted
    dr = dtheta @ W4                                          # (N, M) (y_hat - y)^T W4
    dt_1 = (dr @ W3) * (acts.t > 0)                           # (N, M) path 1: Lambda_t W3^T W4^T (y_hat - y)
    dt_2 = dr                                                 # (N, M) path 2: I_M W4^T (y_hat - y)
    return PathTerms(
        dW1_path1=(dt_1 @ W2).T @ acts.z,                     # (D, D)
        dW1_path2=(dt_2 @ W2).T @ acts.z,                     # (D, D)
        dW2_path1=dt_1.T @ acts.s,                            # (M, D)
        dW2_path2=dt_2.T @ acts.s,                            # (M, D)
    )


def flow_stats(params: Params, X, y, sample_weight=None) -> dict:
    """One epoch's record of gradient flow: a dict of plain floats.

    For W in (W1, W2), with path terms P1 and P2 (`path_terms`):
      ``dW*_path1``, ``dW*_path2``   ||P1||, ||P2||
      ``dW*_total``                  ||P1 + P2||, the norm of the whole gradient
      ``dW*_cosine``                 <P1, P2> / (||P1|| ||P2||): +1 the paths push together, -1 they cancel
      ``dW*_path1_share``            ||P1|| / (||P1|| + ||P2||)
    Forward pass, branch against skip at each fork:
      ``h_norm``, ``x_norm``, ``h_over_x``   ||h|| / ||x||   (s = h + x)
      ``q_norm``, ``t_norm``, ``q_over_t``   ||q|| / ||t||   (r = q + t)
      ``t_active``                           fraction of t > 0: the ReLU gate Lambda_t that path 1 passes
    The gradients are those of the loss alone (no weight decay). Undefined ratios are NaN.
    """
    if sparse.is_sparse(X):  # summed over blocks of rows (sparse.py)
        terms, norms, t_active = sparse.flow_sums(params, X, y, sample_weight)
    else:
        acts = model.forward(params, X)
        terms = path_terms(params, X, y, sample_weight, acts=acts)
        norms = {name: _norm(acts[name]) for name in "hxqt"}
        t_active = float(np.mean(acts.t > 0)) if acts.t.size else math.nan
    stats = {}
    for name, P1, P2 in (("dW1", terms.dW1_path1, terms.dW1_path2),
                         ("dW2", terms.dW2_path1, terms.dW2_path2)):
        n1, n2 = _norm(P1), _norm(P2)
        stats[f"{name}_path1"] = n1
        stats[f"{name}_path2"] = n2
        stats[f"{name}_total"] = _norm(P1 + P2)
        stats[f"{name}_cosine"] = _ratio(float(np.vdot(P1, P2)), n1 * n2)
        stats[f"{name}_path1_share"] = _ratio(n1, n1 + n2)
    for branch, skip in (("h", "x"), ("q", "t")):
        nb, ns = norms[branch], norms[skip]
        stats[f"{branch}_norm"] = nb
        stats[f"{skip}_norm"] = ns
        stats[f"{branch}_over_{skip}"] = _ratio(nb, ns)
    stats["t_active"] = t_active
    return stats


def _norm(A):
    return float(np.linalg.norm(A))


def _ratio(a, b):
    return a / b if b > 0 and math.isfinite(b) else math.nan
