"""Dataset shift: corrupted copies of test inputs at increasing intensity, generated and seeded.

Five corruptions of CIFAR-10-C (Hendrycks & Dietterich 2019, arXiv:1903.12261) with that
benchmark's CIFAR severity constants, applied to any of the registry's inputs: images
(N, C, H, W), 1-D signals or feature vectors (N, F). Values are first mapped to [0, 1] by
``value_range`` (lo, hi) (default: the min and max of the inputs given; pass the training set's
for a fixed map), corrupted, clipped to [0, 1] as CIFAR-10-C does, and mapped back.

==============  ===========================================================  ===========================
kind            what it does, on the [0, 1] scale                            severities 1-5
==============  ===========================================================  ===========================
gaussian_noise  add N(0, c^2) to every value                                 c = .04 .06 .08 .09 .10
shot_noise      Poisson photon noise: Poisson(x c) / c                        c = 500 250 100 75 50
impulse_noise   salt and pepper: a fraction c of values set to 0 or 1         c = .01 .02 .03 .05 .07
contrast        (x - mean) c + mean, the mean per example (and channel)       c = .75 .5 .4 .3 .15
gaussian_blur   Gaussian filter of width c samples over the spatial axes     c = .4 .6 .7 .8 1.0
==============  ===========================================================  ===========================

Intensity 0 is the clean input. Each (kind, severity) draws from its own stream
``companion.rng.numpy_rng(seed, kind, severity)``, so the same call gives the same bits and
adding a kind or severity changes no other. These are *generated* corruptions in the style of
CIFAR-10-C, not its published files (which are rendered from 8-bit images with further steps).
"""

import numpy as np
import torch
from scipy import ndimage

from .. import rng

SEVERITIES = {
    "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),
    "shot_noise": (500, 250, 100, 75, 50),
    "impulse_noise": (0.01, 0.02, 0.03, 0.05, 0.07),
    "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),
    "gaussian_blur": (0.4, 0.6, 0.7, 0.8, 1.0),
}
CORRUPTIONS = tuple(SEVERITIES)
MAX_SEVERITY = 5


def _spatial_axes(ndim):
    """Axes holding space: (H, W) of (N, C, H, W) images, (H, W) of (N, H, W), the samples of (N, L) signals."""
    return {4: (2, 3), 3: (1, 2), 2: (1,)}[ndim]


def _apply(x, kind, c, draw):
    if kind == "gaussian_noise":
        return x + draw.normal(size=x.shape, scale=c)
    if kind == "shot_noise":
        return draw.poisson(x * c) / c
    if kind == "impulse_noise":
        u = draw.random(x.shape)
        out = x.copy()
        out[u < c / 2] = 0.0
        out[(u >= c / 2) & (u < c)] = 1.0
        return out
    if kind == "contrast":
        mean = x.mean(axis=_spatial_axes(x.ndim), keepdims=True)
        return (x - mean) * c + mean
    sigma = [0.0] * x.ndim
    for axis in _spatial_axes(x.ndim):
        sigma[axis] = c
    return ndimage.gaussian_filter(x, sigma=sigma, mode="nearest", truncate=4.0)


def corrupt(X, kind, severity, seed=0, value_range=None):
    """``X`` (N, ...) corrupted by ``kind`` at ``severity`` 0 (clean) to 5, same type, shape and dtype.

    ``X``: a torch tensor or numpy array of images (N, C, H, W) or (N, H, W), or signals /
    vectors (N, L). ``value_range``: (lo, hi) that maps values to [0, 1]; default X's own
    min and max.
    """
    if kind not in SEVERITIES:
        raise ValueError(f"kind={kind!r} is not a known corruption; allowed: {', '.join(CORRUPTIONS)}")
    if isinstance(severity, bool) or not isinstance(severity, (int, np.integer)) or not 0 <= severity <= MAX_SEVERITY:
        raise ValueError(f"severity={severity!r} must be an integer from 0 (clean) to {MAX_SEVERITY}")
    is_torch = isinstance(X, torch.Tensor)
    x = X.detach().cpu().numpy() if is_torch else np.asarray(X)
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"X must be (N, L) signals, (N, H, W) or (N, C, H, W) images; got shape {x.shape}")
    if severity == 0:
        out = x.copy()
    else:
        lo, hi = (float(x.min()), float(x.max())) if value_range is None else map(float, value_range)
        if not hi > lo:
            raise ValueError(f"value_range ({lo}, {hi}) must have hi > lo")
        draw = rng.numpy_rng(seed, kind, int(severity))
        unit = np.clip((x.astype(np.float64) - lo) / (hi - lo), 0.0, 1.0)
        c = SEVERITIES[kind][severity - 1]
        out = (np.clip(_apply(unit, kind, c, draw), 0.0, 1.0) * (hi - lo) + lo).astype(x.dtype)
    return torch.from_numpy(out).to(X.device) if is_torch else out


def shifted_sets(X, kinds=("gaussian_noise", "shot_noise"), severities=(1, 2, 3, 4, 5), seed=0, value_range=None):
    """The clean inputs and every (kind, severity) corruption: a list of (kind, severity, X) tuples.

    The first entry is ("clean", 0, X). Defaults: the two corruptions the official Deep
    Ensembles notebook enables (gaussian_noise, shot_noise) at severities 1-5.
    """
    out = [("clean", 0, corrupt(X, kinds[0] if kinds else "gaussian_noise", 0))]
    for kind in kinds:
        for severity in severities:
            if severity == 0:
                continue
            out.append((kind, int(severity), corrupt(X, kind, severity, seed, value_range)))
    return out
