"""The measurements: simulator checks, the three methods, their calibrated thresholds and their accuracy.

Simulated cluster images (``companion.physics.clusters``) go through three methods: the CNN (a
per-pixel cavity probability, candidates above a threshold, radii from the ResNet decoder), a
beta-model fit with a residual-significance threshold, and an unsharp mask. Each is scored
against the truth at every total-count level on the same clusters: pixel IoU (pooled over the
images of a level), image-level TPR (images with cavities where anything is found) and FPR
(cavity-free images where anything is found), cavity-level recall (a cavity counts as found when
one candidate overlaps it with IoU >= 0.2) and the relative radius error |R_hat - R| / R of found
cavities, R being the radius of the circle with the cavity's projected area.

Every method's thresholds, the CNN's included, are chosen per count level on a separate
calibration set by one rule: the value that maximises pixel IoU (for maps, radii and stability)
and the one that maximises TPR - FPR (for detection). The CNN at the paper's fixed ``threshold``
(0.5) is reported beside them. Each set of clusters is its own stream of ``p.seed`` ("test",
"calibration", "stability"), and each count level its own Poisson draw.
"""

import time

import numpy as np
import pandas as pd

from ...physics.clusters import baselines, candidates, nets, projection, simulation
from .model import crop_size
from .uncertainty import image_margins, median_difference

MIN_IOU = 0.2
METHODS = ("cnn", "beta-fit", "unsharp")
BASELINES = METHODS[1:]
# thresholds of the baselines' significance maps, in sigma: 1-4.75 by 0.25, 5-11.5 by 0.5, 12-20 by 1
SIGMAS = np.concatenate([np.arange(4, 20) / 4, np.arange(10, 24) / 2, np.arange(12, 21) * 1.0])
GRIDS = {"cnn": np.round(np.arange(0.1, 0.951, 0.05), 2), "beta-fit": SIGMAS, "unsharp": SIGMAS}
OBJECTIVES = ("iou", "detection")


def projection_check(size=64):
    """Largest relative difference between the numerical line-of-sight projection of cavity-free
    clusters and the analytic profile, over a grid of core radii, slopes and ellipticities."""
    rows = []
    for rc in (2.5, 5.0, 10.0):
        for beta in (0.5, 0.67, 1.0):
            for ell in (0.0, 0.3):
                c = projection.Cluster(x=size / 2 + 0.3, y=size / 2 - 0.7, rc=rc * size / 64, beta=beta,
                                       ellipticity=ell, angle=0.6)
                _, plain, _ = projection.render(c, size)
                dx, dy = projection._grid(c, size)
                R = np.hypot(np.cos(c.angle) * dx + np.sin(c.angle) * dy,
                             (-np.sin(c.angle) * dx + np.cos(c.angle) * dy) / (1 - ell))
                err = np.abs(plain / projection.projected_beta(R, c.rc, beta) - 1).max()
                rows.append({"rc": rc, "beta": beta, "ellipticity": ell, "max_rel_err": float(err)})
    return pd.DataFrame(rows)


def deficit_sweep(size=64):
    """Surface-brightness deficit of one empty cavity in the sky plane of a fixed cluster (rc 5 px,
    beta 2/3): against its radius at distance 12 px, and against its distance at radius 4 px."""
    s = size / 64
    rows = []
    for kind, values in (("radius", (2, 3, 4, 5, 6, 7, 8)), ("distance", (6, 9, 12, 15, 18, 21, 24))):
        for v in values:
            radius, distance = (v, 12) if kind == "radius" else (4, v)
            cav = projection.Cavity(distance=distance * s, azimuth=0.4, radius=radius * s)
            c = projection.Cluster(x=size / 2, y=size / 2, rc=5 * s, beta=2 / 3, cavities=(cav,))
            bright, plain, lab = projection.render(c, size)
            foot = lab == 1
            rows.append({"vary": kind, "radius": radius, "distance": distance,
                         "deficit": float(1 - bright[foot].sum() / plain[foot].sum())})
    return pd.DataFrame(rows)


def baseline_scales(size):
    """Smoothing of the baselines in pixels: residual sigma, unsharp small and large (1.5, 1.5, 6 at 64 px)."""
    s = size / 64
    return 1.5 * s, 1.5 * s, 6.0 * s


def score_maps(model, counts, exposure, p, methods=METHODS):
    """Per method a map where larger means more cavity-like, and the seconds it took: the CNN
    probability, minus the beta-fit residual significance, minus the unsharp mask."""
    sig, small, large = baseline_scales(counts.shape[-1])
    maps, seconds = {}, {}
    for method in methods:
        start = time.perf_counter()
        if method == "cnn":
            maps[method] = nets.probabilities(model.segmenter, counts, device=p.device)
        elif method == "beta-fit":
            fit, _ = baselines.fit_beta(counts, exposure, p.fit_iterations)
            maps[method] = -baselines.beta_residual(counts, fit, sig)
        else:
            maps[method] = -baselines.unsharp_mask(counts, exposure, small, large)
        seconds[method] = time.perf_counter() - start
    return maps, seconds


def cnn_candidates(model, prob, threshold, p):
    """The CNN's candidates on its probability maps ``prob`` at ``threshold``, radii from the decoder."""
    found, table = candidates.components(prob, threshold, p.min_area)
    table["radius"] = nets.decode(model.decoder, prob, found, table, crop_size(prob.shape[-1]), p.device)
    return found, table


def detect(model, counts, exposure, p, thresholds, methods=METHODS):
    """Candidates of every method: {method: (labels, table with ``radius``)}, the maps and seconds per
    method. The CNN's radius comes from the decoder, the baselines' from sqrt(area / pi)."""
    maps, seconds = score_maps(model, counts, exposure, p, methods)
    out = {}
    for method, score in maps.items():
        start = time.perf_counter()
        if method == "cnn":
            found, table = cnn_candidates(model, score, thresholds[method], p)
        else:
            found, table = candidates.components(score, thresholds[method], p.min_area)
            table["radius"] = table["radius_area"]
        seconds[method] += time.perf_counter() - start
        out[method] = (found, table)
    return out, maps, seconds


def _pooled_iou(found, truth):
    """Pixel IoU of all candidates against all cavities of a set of images (0 when both are empty)."""
    pred = found > 0
    union = int((pred | truth).sum())
    return int((pred & truth).sum()) / union if union else 0.0


def any_found(n, table):
    """(n,) bool: the images where ``table`` has a candidate."""
    out = np.zeros(n, bool)
    out[table.image.unique().astype(int)] = True
    return out


def _detected(sample, table):
    """Image-level (TPR, FPR): the fraction of images with / without cavities where anything was found."""
    has = sample.has_cavity
    found = any_found(len(has), table)
    rate = lambda x: float(x.mean()) if len(x) else np.nan
    return rate(found[has]), rate(found[~has])


def per_image(sample, found, detected):
    """One row per image: has_cavity, ``detected`` (bool per image) and the pixel intersection and union of
    the candidates ``found`` (labels) with the cavities: what the bootstrap over images resamples."""
    pred, truth = found > 0, sample.mask
    return pd.DataFrame({"image": np.arange(len(truth)), "has_cavity": sample.has_cavity, "detected": detected,
                         "inter": (pred & truth).sum((1, 2)), "union": (pred | truth).sum((1, 2))})


def calibrate(model, p):
    """Every method's thresholds, two per count level, from ``n_calibration`` clusters outside the test
    set observed at that level: the grid value with the largest pooled pixel IoU (used for maps, radii
    and stability) and the one with the largest TPR - FPR (used for detection). The same rule for the
    CNN and the baselines, each at its best for what the threshold is used for; an observer knows
    roughly how many counts they have. Returns (thresholds: one row per level, method and objective;
    the whole grid)."""
    sample = simulation.simulate(p.n_calibration, p.seed, "calibration", prior(p), p.image_size)
    rows = []
    for j, level in enumerate(p.counts):
        maps, _ = score_maps(model, sample.observe(level, p.seed, j), sample.exposure, p)
        for m in METHODS:
            for t in GRIDS[m]:
                found, table = candidates.components(maps[m], t, p.min_area)
                tpr, fpr = _detected(sample, table)
                rows.append({"counts": level, "method": m, "threshold": float(t),
                             "iou": _pooled_iou(found, sample.mask), "detection": tpr - fpr})
    grid = pd.DataFrame(rows)
    picked = []
    for objective in OBJECTIVES:
        best = grid.loc[grid.groupby(["counts", "method"], sort=False)[objective].idxmax()]
        picked.append(best.assign(objective=objective, score=best[objective]))
    columns = ["counts", "method", "objective", "threshold", "score"]
    table = pd.concat([b[columns] for b in picked], ignore_index=True)
    return table.sort_values(["counts", "objective", "method"], kind="stable").reset_index(drop=True), grid


def at_level(thresholds, level, objective="iou"):
    """{method: threshold} for ``objective`` at the calibrated count level nearest (in log) to ``level``."""
    levels = thresholds.counts.unique()
    nearest = levels[np.argmin(np.abs(np.log(levels) - np.log(level)))]
    t = thresholds[(thresholds.counts == nearest) & (thresholds.objective == objective)]
    return dict(zip(t.method, t.threshold))


def prior(p):
    """The prior of the run's clusters: the default one, with point sources and the PSF as ``p`` says."""
    return simulation.instrument_prior(p.point_sources, p.psf)


def test_set(p):
    """The ``n_test`` clusters every method is scored on (about half with cavities)."""
    return simulation.simulate(p.n_test, p.seed, "test", prior(p), p.image_size)


def level_margins(images, p):
    """Per count level: the CNN's margin over the best baseline in pooled pixel IoU (``iou``) and in TPR - FPR
    (``detection``), each with its bootstrap interval over the test clusters (``_lo``, ``_hi``)."""
    rows = []
    for level, t in images.groupby("counts", sort=False):
        margins = image_margins(t, BASELINES, p.n_boot, p.seed, f"{round(level)}")
        rows.append({"counts": level, **{name + end: x for name, triple in margins.items()
                                         for end, x in zip(("", "_lo", "_hi"), triple)}})
    return pd.DataFrame(rows)


def score(sample, found, table):
    """(image-level and pixel numbers, per-cavity rows) of one method on one set of observations."""
    cav, cands = candidates.match(found, table, sample.labels, MIN_IOU)
    cav = cav.merge(sample.cavities[["image", "label", "radius", "distance", "fill"]], on=["image", "label"])
    keys = list(zip(cav.image.astype(int), cav.component.astype(int)))
    rows = zip(table.image.astype(int), table.component.astype(int))
    radius = dict(zip(rows, zip(table.radius, table.radius_area)))
    cav["found"] = cav.component > 0
    cav["r_hat"] = [radius.get(k, (np.nan, np.nan))[0] for k in keys]
    cav["r_area"] = [radius.get(k, (np.nan, np.nan))[1] for k in keys]
    err = (cav.r_hat - cav.radius).abs() / cav.radius
    err_area = (cav.r_area - cav.radius).abs() / cav.radius
    tpr, fpr = _detected(sample, table)
    summary = {"iou": _pooled_iou(found, sample.mask), "tpr": tpr, "fpr": fpr,
               "recall": cav.found.mean(), "false_per_image": float((~cands.true).sum() / len(sample.unit)),
               "radius_err": err[cav.found].median(), "radius_err_area": err_area[cav.found].median(),
               "n_found": int(cav.found.sum()), "n_cavities": len(cav)}
    return summary, cav


def example_images(sample, n_with=3, n_without=1):
    """Indices of the first ``n_with`` test images with cavities and the first ``n_without`` without."""
    has = sample.has_cavity
    return np.concatenate([np.flatnonzero(has)[:n_with], np.flatnonzero(~has)[:n_without]])


def _evaluate_level(model, sample, counts, p, thresholds, level):
    """One count level: per method its summary row, per-cavity and per-image rows, the maps, candidates and seconds."""
    found, maps, seconds = detect(model, counts, sample.exposure, p, at_level(thresholds, level))
    detection = at_level(thresholds, level, "detection")
    metrics, cavs, images = [], [], []
    for m in METHODS:
        summary, cav = score(sample, *found[m])
        # image-level detection with the threshold calibrated for it (the same for the CNN)
        table = candidates.components(maps[m], detection[m], p.min_area)[1]
        summary["tpr"], summary["fpr"] = _detected(sample, table)
        metrics.append({"counts": level, "method": m, **summary})
        cavs.append(cav.assign(counts=level, method=m))
        images.append(per_image(sample, found[m][0], any_found(len(sample.unit), table)).assign(counts=level, method=m))
    return metrics, cavs, images, maps, found, seconds


def evaluate(model, sample, p, thresholds):
    """Score every method at every count level on ``sample``. Returns (metrics: one row per level and
    method; cavities: one row per level, method and true cavity; images: one row per level, method and
    image (``per_image``); seconds per image per method; examples: counts and score maps of the
    ``example_images`` per level; the CNN's metrics at its fixed ``threshold``, the paper's way, per level)."""
    metrics, cavs, images, examples, fixed = [], [], [], {}, []
    shown = example_images(sample)
    seconds = dict.fromkeys(METHODS, 0.0)
    for j, level in enumerate(p.counts):
        counts = sample.observe(level, p.seed, j)
        rows, cav, imgs, maps, found, secs = _evaluate_level(model, sample, counts, p, thresholds, level)
        metrics += rows
        cavs += cav
        images += imgs
        for m in METHODS:
            seconds[m] += secs[m]
        summary, _ = score(sample, *cnn_candidates(model, maps["cnn"], p.threshold, p))
        fixed.append({"counts": level, "threshold": p.threshold, **summary})
        examples[level] = {"index": shown, "counts": counts[shown], **{m: maps[m][shown] for m in METHODS},
                           **{f"{m}_found": found[m][0][shown] for m in METHODS}}
    n = len(p.counts) * len(sample.unit)
    speed = pd.DataFrame([{"method": m, "ms_per_image": 1e3 * seconds[m] / n, "images": n} for m in METHODS])
    return (pd.DataFrame(metrics), pd.concat(cavs, ignore_index=True), pd.concat(images, ignore_index=True), speed,
            examples, pd.DataFrame(fixed))


def by_size(cavities, edges=(2.0, 4.0, 6.0, 12.0)):
    """Recall and median radius error per count level, method and bin of true radius (pixels at 64 px)."""
    c = cavities.assign(size_bin=pd.cut(cavities.radius, list(edges)).astype(str),
                        err=(cavities.r_hat - cavities.radius).abs() / cavities.radius)
    g = c.groupby(["counts", "method", "size_bin"], sort=True)
    return g.agg(n=("found", "size"), recall=("found", "mean"),
                 radius_err=("err", "median")).reset_index()


def paired_medians(wide, levels, value, unit, n_boot, seed, extra=None):
    """Per count level in ``levels`` and baseline: how many cavities (rows of ``wide``, indexed by level
    first and by the cluster ``unit`` among the rest, one column per method) both the CNN and the baseline
    measured, the median of each on them (``cnn_<value>``, ``baseline_<value>``), and the difference
    CNN - baseline with its bootstrap interval over the clusters (``diff``, ``lo``, ``hi``); ``extra``:
    {column: frame like ``wide``} adds the median of its CNN column on the same cavities."""
    med = lambda x: float(x.median()) if len(x) else np.nan
    rows = []
    for level in levels:
        w = wide.loc[level]
        for b in BASELINES:
            both = w[["cnn", b]].dropna()
            diff = median_difference(both["cnn"], both[b], both.index.get_level_values(unit), n_boot, seed, value,
                                     f"{round(level)}", b)
            row = {"counts": level, "baseline": b, "pairs": len(both), f"cnn_{value}": med(both["cnn"]),
                   f"baseline_{value}": med(both[b]), **dict(zip(("diff", "lo", "hi"), diff))}
            for column, frame in (extra or {}).items():
                row[column] = med(frame.loc[level].loc[both.index, "cnn"])
            rows.append(row)
    return pd.DataFrame(rows)


def radius_pairs(cavities, n_boot, seed):
    """Per count level and baseline: the median relative radius error of the CNN and of the baseline on the
    cavities both found (a paired comparison), every method's radius being sqrt(area / pi) of its
    candidate (like with like); how many there were; the CNN's error with its ResNet decoder on the same
    cavities (``cnn_decoder_err``); and the difference's bootstrap interval over the test clusters."""
    def wide(radius):
        err = (cavities[radius] - cavities.radius).abs() / cavities.radius
        return (cavities.assign(err=err).set_index(["counts", "image", "label", "method"]).err.unstack("method")
                .reindex(columns=list(METHODS)))

    return paired_medians(wide("r_area"), cavities.counts.unique(), "err", "image", n_boot, seed,
                          {"cnn_decoder_err": wide("r_hat")})


def decoder_gain(cavities, n_boot, seed):
    """Per count level: median relative radius error of the CNN's candidates read by the ResNet decoder and by
    sqrt(area / pi), on the same found cavities, and the difference decoder - area with its bootstrap interval
    over the test clusters (``diff``, ``lo``, ``hi``)."""
    c = cavities[(cavities.method == "cnn") & cavities.found]
    g = c.assign(decoder=(c.r_hat - c.radius).abs() / c.radius, area=(c.r_area - c.radius).abs() / c.radius)
    rows = []
    for level, t in g.groupby("counts", sort=True):
        diff = median_difference(t.decoder, t.area, t.image, n_boot, seed, "decoder", f"{round(level)}")
        rows.append({"counts": level, "n": len(t), "decoder_err": float(t.decoder.median()),
                     "area_err": float(t.area.median()), **dict(zip(("diff", "lo", "hi"), diff))})
    return pd.DataFrame(rows, columns=["counts", "n", "decoder_err", "area_err", "diff", "lo", "hi"])
