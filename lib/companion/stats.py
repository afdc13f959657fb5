"""Percentile bootstrap intervals: how far a statistic moves when its units are drawn again.

A comparison measured on units (clusters, test examples) is a statistic of those units. Resampling
them with replacement (the statistic given each unit's multiplicity) and taking the central ``LEVEL``
of the resampled values gives its percentile interval; a claim read through
:func:`companion.claims.bootstrap_interval` is undecided when that interval contains zero. Each
interval has its own stream of the run's seed, named by what it is for, so intervals are reproducible.
"""

import numpy as np

from . import rng

LEVEL = 0.95  # the central share of the bootstrap values an interval spans


def bootstrap(stat, n, n_boot, seed, *keys, level=LEVEL):
    """(point, lo, hi): ``stat(ones)`` and the central ``level`` percentile interval of ``stat(w)`` over
    ``n_boot`` resamples, ``w`` (n,) the multiplicities of ``n`` units drawn with replacement from the
    stream ("bootstrap", *keys) of ``seed``. A resample where ``stat`` is NaN (e.g. no image with
    cavities drawn) is left out; NaN bounds when every one is."""
    gen = rng.numpy_rng(seed, "bootstrap", *keys)
    weights = gen.multinomial(n, np.full(n, 1.0 / n), size=n_boot)
    values = np.array([stat(w) for w in weights], dtype=float)
    values = values[~np.isnan(values)]
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2]) if len(values) else (np.nan, np.nan)
    return float(stat(np.ones(n, dtype=int))), float(lo), float(hi)
