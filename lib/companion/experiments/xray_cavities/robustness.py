"""Detection with and without what a telescope adds (point sources, a PSF), on the same test clusters.

The first ``IMAGES`` test clusters are rendered four times, clean, with point sources, with the
PSF and with both (``companion.physics.clusters.instrument``), and observed with the same Poisson
streams at the highest count level of the run, where detection works best (one level and 64 clusters
keep the table within the default run's time). Every method keeps the
run's model and its calibrated detection thresholds: the table shows what a cavity finder tuned on
one kind of image does on the others.
"""

import pandas as pd

from ...physics.clusters import candidates, simulation
from .compute import BASELINES, METHODS, any_found, at_level, score_maps
from .uncertainty import image_margins

IMAGES = 64  # test clusters in the table (the first of the test set)
CONDITIONS = (("clean", False, False), ("point sources", True, False), ("PSF", False, True), ("both", True, True))


def instrument_effect(model, p, thresholds):
    """One row per condition and method at the highest count level: TPR, FPR and TPR - FPR with the run's
    detection thresholds, and the CNN's margin over the best baseline in TPR - FPR with its bootstrap
    interval over the clusters (``margin``, ``margin_lo``, ``margin_hi``)."""
    level = max(p.counts)
    threshold = at_level(thresholds, level, "detection")
    rows = []
    for name, sources, psf in CONDITIONS:
        sample = simulation.simulate(min(p.n_test, IMAGES), p.seed, "test", simulation.instrument_prior(sources, psf),
                                     p.image_size)
        counts = sample.observe(level, p.seed, list(p.counts).index(level))
        maps, _ = score_maps(model, counts, sample.exposure, p)
        has, images, found = sample.has_cavity, [], {}
        for m in METHODS:
            found[m] = any_found(len(has), candidates.components(maps[m], threshold[m], p.min_area)[1])
            images.append(pd.DataFrame({"image": range(len(has)), "has_cavity": has, "detected": found[m], "method": m}))
        margin = image_margins(pd.concat(images), BASELINES, p.n_boot, p.seed, name, stats=("detection",))["detection"]
        rows += [{"condition": name, "counts": level, "method": m, "tpr": found[m][has].mean(),
                  "fpr": found[m][~has].mean(), **dict(zip(("margin", "margin_lo", "margin_hi"), margin))}
                 for m in METHODS]
    out = pd.DataFrame(rows)
    return out.assign(detection=out.tpr - out.fpr)
