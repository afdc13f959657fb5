"""Down-sampling ("damage"): degrade a fraction of the images by shrinking and re-growing them.

An image of side S is resized to ``size`` x ``size`` and back to S x S (antialiased bilinear both
ways), which keeps its shape but removes detail finer than S / size pixels; the paper's code does
28 -> 7 -> 28 to a fraction of the images.
"""

import numpy as np
import torch

from ..data.omniglot import resize


def downsample(X, size):
    """Images (N, C, S, S) shrunk to ``size`` and grown back to S."""
    side = X.shape[-1]
    if not 1 <= size <= side:
        raise ValueError(f"size={size!r} must be from 1 to the image side {side}")
    return resize(resize(X, size), side)


def damage(X, fraction, size, seed):
    """Down-sample exactly round(fraction * N) images chosen with ``seed``: (X', damaged mask (N,) bool)."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction={fraction!r} must be from 0 to 1")
    n = len(X)
    mask = torch.zeros(n, dtype=torch.bool)
    pick = np.random.default_rng(seed).choice(n, round(fraction * n), replace=False)
    mask[torch.from_numpy(pick).long()] = True
    out = X.clone()
    if mask.any():
        out[mask] = downsample(X[mask], size)
    return out, mask
