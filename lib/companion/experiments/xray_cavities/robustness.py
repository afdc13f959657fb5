"""Detection with and without what a telescope adds (point sources, a PSF), on the same test clusters.

The first ``IMAGES`` test clusters are rendered four times, clean, with point sources, with the
PSF and with both (``companion.physics.clusters.instrument``), and observed with the same Poisson
streams as the test set at every count level of the run. Every method keeps the run's model and its
calibrated detection thresholds: the table shows what a cavity finder tuned on one kind of image does
on the others. ``IMAGES`` is half the 64 clusters this panel used when it ran at the highest level
only: at the four default levels, 64 clusters took 22 s of CPU time on one thread (7 s for the
single-level panel), more than the default run's 60 s leave room for; 32 take 12 s.
"""

import pandas as pd

from ...physics.clusters import candidates, simulation
from .compute import BASELINES, METHODS, any_found, at_level, score_maps
from .uncertainty import image_margins

IMAGES = 32  # test clusters in the table (the first of the test set)
CONDITIONS = (("clean", False, False), ("point sources", True, False), ("PSF", False, True), ("both", True, True))


def _detection_rows(model, p, sample, level, j, thresholds, condition):
    """One row per method of ``sample`` observed at count ``level`` (the ``j``-th of the run): TPR and FPR with
    the level's detection thresholds and the CNN's margin over the best baseline with its bootstrap interval."""
    maps, _ = score_maps(model, sample.observe(level, p.seed, j), sample.exposure, p)
    threshold = at_level(thresholds, level, "detection")
    has, images, found = sample.has_cavity, [], {}
    for m in METHODS:
        found[m] = any_found(len(has), candidates.components(maps[m], threshold[m], p.min_area)[1])
        images.append(pd.DataFrame({"image": range(len(has)), "has_cavity": has, "detected": found[m], "method": m}))
    margin = image_margins(pd.concat(images), BASELINES, p.n_boot, p.seed, condition, f"{round(level)}",
                           stats=("detection",))["detection"]
    return [{"condition": condition, "counts": level, "method": m, "clusters": len(has), "tpr": found[m][has].mean(),
             "fpr": found[m][~has].mean(), **dict(zip(("margin", "margin_lo", "margin_hi"), margin))} for m in METHODS]


def instrument_effect(model, p, thresholds):
    """One row per condition, count level and method: TPR, FPR and TPR - FPR (``detection``) on the first
    ``IMAGES`` test clusters (``clusters``) with the run's detection thresholds, and the CNN's margin over the
    best baseline in TPR - FPR with its bootstrap interval over the clusters (``margin``, ``margin_lo``,
    ``margin_hi``)."""
    rows = []
    for name, sources, psf in CONDITIONS:
        sample = simulation.simulate(min(p.n_test, IMAGES), p.seed, "test", simulation.instrument_prior(sources, psf),
                                     p.image_size)
        for j, level in enumerate(p.counts):
            rows += _detection_rows(model, p, sample, level, j, thresholds, name)
    out = pd.DataFrame(rows)
    return out.assign(detection=out.tpr - out.fpr)


def detection_table(effect):
    """``instrument_effect`` as one row per count level and condition (in the run's order): each method's TPR,
    FPR and TPR - FPR side by side, and the CNN's margin with its interval."""
    rows = []
    for (level, condition), t in effect.sort_values("counts", kind="stable").groupby(["counts", "condition"],
                                                                                      sort=False):
        row = {"counts": level, "condition": condition}
        for r in t.itertuples():
            row.update({f"{r.method} {v}": getattr(r, v) for v in ("tpr", "fpr", "detection")})
        rows.append({**row, **t.iloc[0][["margin", "margin_lo", "margin_hi"]].to_dict()})
    return pd.DataFrame(rows)
