"""Stability: the scatter of each method's radius over Poisson re-realisations of the same clusters."""

import numpy as np
import pandas as pd

from ...physics.clusters import simulation
from .compute import METHODS, at_level, detect, paired_medians, prior, score


def stability(model, p, thresholds):
    """``n_realisations`` Poisson draws of ``n_stability`` clusters with cavities (the "stability" stream)
    at every count level; one row per level, method, realisation and true cavity with the radius found
    (NaN if missed)."""
    sample = simulation.simulate(p.n_stability, p.seed, "stability", prior(p), p.image_size, cavities=True)
    n, R = len(sample.unit), p.n_realisations
    tiled = sample.subset(np.tile(np.arange(n), R))
    rows = []
    for j, level in enumerate(p.counts):
        counts = np.concatenate([sample.observe(level, p.seed, j, r) for r in range(R)])
        found, _, _ = detect(model, counts, tiled.exposure, p, at_level(thresholds, level))
        for m in METHODS:
            _, cav = score(tiled, *found[m])
            rows.append(cav.assign(counts=level, method=m, cluster=cav.image % n, realisation=cav.image // n))
    out = pd.concat(rows, ignore_index=True)
    return out[["counts", "method", "cluster", "label", "realisation", "radius", "found", "r_hat", "r_area"]]


def stability_summary(stab, min_found=3):
    """Per level, method and cavity: detection rate and the scatter sd(R_hat) / R over the realisations
    where it was found (NaN when found fewer than ``min_found`` times); ``scatter_area`` the same for
    sqrt(area / pi) of the candidates (for the CNN, before the decoder)."""
    g = stab.groupby(["counts", "method", "cluster", "label"])
    out = g.agg(radius=("radius", "first"), found=("found", "mean"), n_found=("found", "sum"),
                mean_r=("r_hat", "mean"), sd_r=("r_hat", "std"), sd_area=("r_area", "std")).reset_index()
    enough = out.n_found >= min_found
    out["scatter"] = np.where(enough, out.sd_r / out.radius, np.nan)
    out["scatter_area"] = np.where(enough, out.sd_area / out.radius, np.nan)
    return out.drop(columns=["sd_r", "sd_area"])


def stability_pairs(summary, n_boot, seed):
    """Per level and baseline: median scatter of sqrt(area / pi) of the CNN's candidates and of the
    baseline's (like with like) over the cavities both measured (found at least ``min_found`` times), how
    many there were, the difference's bootstrap interval over the clusters, and the CNN's scatter with
    its ResNet decoder on the same cavities (``cnn_decoder_scatter``)."""
    idx = ["counts", "cluster", "label", "method"]
    wide = lambda column: summary.set_index(idx)[column].unstack("method").reindex(columns=list(METHODS))
    return paired_medians(wide("scatter_area"), summary.counts.unique(), "scatter", "cluster", n_boot, seed,
                          {"cnn_decoder_scatter": wide("scatter")})
