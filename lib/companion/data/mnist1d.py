"""MNIST-1D, generated offline: the recipe of Greydanus (2020), "Scaling down deep learning".

Each example is one of ten short 1-D templates ("digits") placed in a zero-padded signal,
stretched in time, circularly translated, sheared by a linear ramp, sampled at 40 points,
plus correlated (smoothed) noise and white noise. It is small enough to train on a CPU in
seconds yet, like MNIST, separates linear models from deep ones.

This implementation is written for this project (templates and code are its own). The
transformations are applied in continuous coordinates: each of the 40 output points is
mapped back to a position on its template and read by linear interpolation, so a whole
dataset is a handful of vectorised numpy operations. Only arithmetic, floor and modulo are
used (no exp or log, whose last bit can differ between math libraries) and noise is built
from uniform draws, so the same seed gives bit-identical data on every machine.
"""

import numpy as np

LENGTH = 40
N_CLASSES = 10

# Ten 12-point profiles, one per class; zero beyond both ends.
TEMPLATES = np.array([
    [0.0, 0.8, 1.2, 1.2, 0.8, 0.0, 0.0, 0.8, 1.2, 1.2, 0.8, 0.0],      # 0: two bumps
    [0.0, 0.0, 0.0, 0.0, 1.5, 1.5, 1.5, 1.5, 0.0, 0.0, 0.0, 0.0],      # 1: a plateau
    [0.0, 0.3, 0.6, 0.9, 1.2, 1.5, 1.5, -0.5, -0.5, 0.0, 0.0, 0.0],    # 2: ramp, then drop
    [0.0, 1.0, 0.0, -1.0, 0.0, 1.0, 0.0, -1.0, 0.0, 1.0, 0.0, 0.0],    # 3: fast oscillation
    [0.0, -1.0, -1.0, 0.0, 1.0, 1.0, 0.0, -1.0, -1.0, 0.0, 0.0, 0.0],  # 4: slow oscillation
    [1.5, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0, -1.5, -1.5, 0.0, 0.0, 0.0],  # 5: descent
    [0.0, 0.0, 0.5, 1.0, 1.5, 1.0, 0.5, 0.0, -1.5, -1.5, 0.0, 0.0],    # 6: peak, then a pit
    [0.0, -1.5, -1.5, -1.5, 0.0, 0.0, 0.0, 0.0, 1.0, 0.5, 0.0, 0.0],   # 7: pit, pause, bump
    [0.0, 1.0, 1.0, 0.0, -1.0, -1.0, 0.0, 1.0, 1.0, 0.0, -1.0, 0.0],   # 8: up, down, up, down
    [0.0, 0.0, -0.5, -1.0, -1.5, -1.0, -0.5, 0.0, 0.0, 1.5, 0.0, 0.0],  # 9: valley, then spike
])

# The recipe's knobs (Greydanus 2020 defaults, in this implementation's units).
PADDING = (36, 60)        # zeros added around the 12-point template, total, uniform
STRETCH = 0.4             # time stretch factor uniform in [1 - STRETCH, 1 + STRETCH]
MAX_TRANSLATION = 48      # circular shift, uniform integer in [-48, 48] padded samples
SHEAR = 0.75              # linear ramp slope, uniform in [-SHEAR, SHEAR] over the signal
CORR_NOISE = 0.25         # standard deviation of the smoothed noise
IID_NOISE = 0.02          # standard deviation of the white noise
_BINOMIAL = np.array([1.0, 8, 28, 56, 70, 56, 28, 8, 1])  # ~ Gaussian kernel, sigma 1.4
_SMOOTH = _BINOMIAL / np.sqrt(np.sum(_BINOMIAL ** 2))     # keeps unit variance


def make_mnist1d(n, seed):
    """Generate ``n`` examples: X float32 (n, 40), y int64 (n,), classes balanced to within one.

    ``seed`` is anything ``numpy.random.default_rng`` takes (an int, a list of ints).
    """
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % N_CLASSES)
    pad = rng.integers(PADDING[0], PADDING[1], size=n, endpoint=True)
    left = rng.integers(0, pad, endpoint=True)
    stretch = rng.uniform(1 - STRETCH, 1 + STRETCH, size=n)
    shift = rng.integers(-MAX_TRANSLATION, MAX_TRANSLATION, size=n, endpoint=True)
    shear = rng.uniform(-SHEAR, SHEAR, size=n)

    # Output point k sits at time v = k * M / 40 on the stretched signal of length M; undo
    # the shift (circularly) and the stretch, then subtract the template's offset.
    span = (TEMPLATES.shape[1] + pad) * stretch
    v = np.arange(LENGTH) * (span / LENGTH)[:, None]
    pos = np.mod(v - shift[:, None], span[:, None]) / stretch[:, None] - left[:, None]
    X = _interpolate(TEMPLATES[y], pos)
    X += shear[:, None] * np.linspace(-1.0, 1.0, LENGTH)
    X += CORR_NOISE * _smooth(_noise(rng, (n, LENGTH + len(_SMOOTH) - 1)))
    X += IID_NOISE * _noise(rng, (n, LENGTH))
    return X.astype(np.float32), y.astype(np.int64)


def _interpolate(templates, pos):
    """Read each row's template at fractional positions; it ramps to zero one step past its ends."""
    ext = np.pad(templates, ((0, 0), (1, 1)))  # ext[:, j + 1] is template point j
    base = np.floor(pos)
    frac = pos - base
    idx = base.astype(np.int64) + 1
    inside = (idx >= 0) & (idx < ext.shape[1] - 1)
    idx = np.where(inside, idx, 0)
    lo = np.take_along_axis(ext, idx, axis=1)
    hi = np.take_along_axis(ext, idx + 1, axis=1)
    return np.where(inside, lo * (1 - frac) + hi * frac, 0.0)


def _noise(rng, shape):
    """Near-Gaussian noise of unit variance: a centred sum of four uniforms (exact arithmetic)."""
    return (rng.random((4, *shape)).sum(axis=0) - 2.0) * np.sqrt(3.0)


def _smooth(noise):
    """Correlate neighbouring samples: a 'valid' convolution with the binomial kernel."""
    width = noise.shape[1] - len(_SMOOTH) + 1
    return sum(w * noise[:, i:i + width] for i, w in enumerate(_SMOOTH))
