"""Seeded, stratified subsets and normalisation, shared by every dataset.

All arithmetic is numpy on the CPU in a fixed order, so the same inputs give the same bits.
"""

import numpy as np

_CHUNK = 4096  # rows per step when computing statistics, to bound float64 temporaries


def stratified_pick(y, n, rng):
    """Sorted indices of ``n`` items of ``y``, each class in proportion to its share.

    Each class gets ``floor(n * share)`` items; the remainder goes to the classes with the
    largest fractional parts (ties to the earlier class); items within a class are drawn
    with ``rng``.
    """
    labels, counts = np.unique(y, return_counts=True)
    quota = n * counts / len(y)
    take = np.floor(quota).astype(np.int64)
    order = np.argsort(-(quota - take), kind="stable")
    take[order[:n - take.sum()]] += 1
    picked = [rng.permutation(np.flatnonzero(y == label))[:k] for label, k in zip(labels, take)]
    return np.sort(np.concatenate(picked))


def unit_scale(X_train, X_test, scale):
    """Divide by the format's maximum (``scale``); ``None`` leaves values as they are."""
    X_train, X_test = X_train.astype(np.float32), X_test.astype(np.float32)
    if scale is None:
        return X_train, X_test
    return X_train / np.float32(scale), X_test / np.float32(scale)


def standardize(X_train, X_test):
    """Zero mean and unit variance per feature, with statistics of the TRAINING set only.

    Features constant over the training set (say, a border pixel) are only centred.
    """
    flat = X_train.reshape(len(X_train), -1)
    mean = flat.mean(axis=0, dtype=np.float64)
    squares = np.zeros_like(mean)
    for start in range(0, len(flat), _CHUNK):
        squares += np.square(flat[start:start + _CHUNK] - mean).sum(axis=0)
    std = np.sqrt(squares / len(flat))
    std[std == 0] = 1.0
    mean = mean.astype(np.float32).reshape(X_train.shape[1:])
    std = std.astype(np.float32).reshape(X_train.shape[1:])
    return ((X_train.astype(np.float32) - mean) / std, (X_test.astype(np.float32) - mean) / std)
