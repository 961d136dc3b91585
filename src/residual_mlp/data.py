"""Data: the bundled data sets, label encoding, the held-out split and feature scaling."""
from __future__ import annotations

import numpy as np

from .errors import InputError

DATASETS = ("digits", "iris", "wine", "breast_cancer")


def load_dataset(name):
    """A data set that scikit-learn ships: (X (N, D) float64, labels (N,), feature names)."""
    from sklearn import datasets

    if name not in DATASETS:
        raise InputError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    bunch = getattr(datasets, f"load_{name}")()
    names = [str(n) for n in bunch.feature_names]
    labels = np.asarray(bunch.target_names)[bunch.target] if name != "digits" else bunch.target
    return bunch.data.astype(np.float64), labels, names


def encode_labels(labels):
    """(classes (C,), y (N,) indices into classes); needs at least two classes."""
    classes, y = np.unique(np.asarray(labels), return_inverse=True)
    if len(classes) < 2:
        raise InputError(f"the target has a single class ({classes[0]!r}); a classifier needs two or more")
    return classes, y


def split(X, y, test_size, seed):
    """Stratified, seeded split into (X_train, X_test, y_train, y_test)."""
    from sklearn.model_selection import train_test_split

    N = X.shape[0]
    n_test = int(np.ceil(test_size * N))
    C = int(y.max()) + 1
    if n_test < C or N - n_test < C:
        raise InputError(f"too few rows ({N}) for a test split of {test_size:g} with {C} classes: each side "
                         f"needs at least one row per class")
    counts = np.bincount(y)
    if counts.min() < 2:
        raise InputError(f"class index {int(counts.argmin())} has a single row; a stratified split needs two")
    return train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)


def standardization(X):
    """(mean, scale) of each column; constant columns get scale 1 so they map to 0."""
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    return mean, scale
