"""Bootstrap intervals over clusters: how far a comparison moves when the clusters are drawn again.

A comparison (CNN minus the best baseline, a difference of medians) is a statistic of the clusters it
was measured on. Resampling the clusters with replacement (the statistic given each cluster's
multiplicity) and taking the central ``LEVEL`` of the resampled values gives its percentile interval;
a claim is undecided when that interval contains its threshold (:func:`companion.stats.bootstrap`).
Each interval has its own stream of the run's seed, named by what it is for, so the intervals are
reproducible.
"""

import numpy as np

from ...stats import bootstrap


def weighted_median(x, w):
    """Median of ``x`` with each value repeated ``w`` times (NaN when nothing is left)."""
    x = np.repeat(np.asarray(x, float), np.asarray(w, int))
    return float(np.median(x)) if len(x) else np.nan


def _ratio(num, den):
    return num / den if den > 0 else np.nan


def image_margins(images, baselines, n_boot, seed, *keys, stats=("iou", "detection")):
    """From ``images`` (one row per method and image: has_cavity, detected, inter, union at one count
    level, named by ``keys``), the CNN's margin over the best baseline in ``stats``, pooled pixel IoU and
    TPR - FPR, each with its bootstrap interval over the images: {"iou": (point, lo, hi), ...}."""
    by = {m: t.sort_values("image") for m, t in images.groupby("method")}
    has = by["cnn"].has_cavity.to_numpy(bool)

    def iou(m, w):
        t = by[m]
        return _ratio((w * t.inter.to_numpy()).sum(), (w * t.union.to_numpy()).sum())

    def youden(m, w):
        found = by[m].detected.to_numpy(bool)
        return _ratio((w * (found & has)).sum(), (w * has).sum()) - _ratio((w * (found & ~has)).sum(), (w * ~has).sum())

    margin = lambda f: lambda w: f("cnn", w) - max(f(b, w) for b in baselines)
    return {name: bootstrap(margin(f), len(has), n_boot, seed, name, *keys)
            for name, f in (("iou", iou), ("detection", youden)) if name in stats}


def median_difference(cnn, base, units, n_boot, seed, *keys):
    """median(cnn) - median(base) over paired rows, each row belonging to the unit (cluster) ``units``,
    with its bootstrap interval over the units: (point, lo, hi); all NaN without rows."""
    if len(cnn) == 0:
        return np.nan, np.nan, np.nan
    codes, units = np.unique(np.asarray(units), return_inverse=True)
    cnn, base = np.asarray(cnn, float), np.asarray(base, float)
    stat = lambda w: weighted_median(cnn, w[units]) - weighted_median(base, w[units])
    return bootstrap(stat, len(codes), n_boot, seed, *keys)
