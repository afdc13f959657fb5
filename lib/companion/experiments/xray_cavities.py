"""X-ray cavities found by a convolutional network (Fort 2017, arXiv:1712.00523), measured.

Simulated cluster images (``companion.physics.clusters``) go through three methods
(``companion.physics.cavity_nets``): the CNN (a per-pixel cavity probability, candidates above a
threshold, radii from the ResNet decoder), a beta-model fit with a residual-significance
threshold, and an unsharp mask. Each is scored against the truth at every total-count level
on the same clusters: pixel IoU (pooled over the images of a level), image-level TPR (images
with cavities where anything is found) and FPR (cavity-free images where anything is found),
cavity-level recall (a cavity counts as found when one candidate overlaps it with IoU >= 0.2)
and the relative radius error |R_hat - R| / R of found cavities, R being the radius of the
circle with the cavity's projected area. Stability is the scatter of R_hat over Poisson
re-realisations of the same clusters.

Every method's thresholds, the CNN's included, are chosen per count level on a separate
calibration set by one rule: the value that maximises pixel IoU (for maps, radii and stability)
and the one that maximises TPR - FPR (for detection). The CNN at the paper's fixed ``threshold``
(0.5) is reported beside them.

The committed model (``data/models/xray_cavities_unet.pt``) was trained by ``main``; run
``python -m companion.experiments.xray_cavities --out PATH`` to reproduce it (see
``data/models/README.md``). Training runs with one torch thread whatever the caller set, so
the same command gives the same bytes on any core count.
"""

import argparse
import contextlib
import hashlib
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..params import Param, ParameterError
from ..physics import cavity_nets as cn
from ..physics import clusters

ROOT = Path(__file__).resolve().parents[3]
MODEL_FILE = ROOT / "data" / "models" / "xray_cavities_unet.pt"
MODEL_SHA256 = "22f23031708a7988ab31c75b69f1c3b8fd557b6ef73721d7ef51c020b7db2a73"
COMMAND = "python -m companion.experiments.xray_cavities --out data/models/xray_cavities_unet.pt"

# The settings the committed model was trained with (the notebook's defaults).
TRAINED = {"architecture": "unet", "widths": [16, 32, 64], "image_size": 64, "n_train": 4000,
           "train_steps": 3000, "batch_size": 32, "lr": 0.002, "pos_weight": 5.0, "decoder_steps": 400}
TRAIN_SEED = 0
# Training: one torch thread. Measured on the shared two-core machine (other jobs running): five
# U-Net steps took 6-7 s wall with one thread and 22 s with two, and the weights differ bitwise
# between thread counts; fixing the count here makes the committed bytes reproducible.
TRAIN_THREADS = 1
DECODER_DETECT = (0.5, 5)  # threshold and minimum area (pixels at 64 px) of the decoder's training candidates
MIN_IOU = 0.2
STREAMS = {"train": 0, "test": 1, "calibration": 2, "stability": 3}
METHODS = ("cnn", "beta-fit", "unsharp")
BASELINES = METHODS[1:]
# thresholds of the baselines' significance maps, in sigma: 1-4.75 by 0.25, 5-11.5 by 0.5, 12-20 by 1
SIGMAS = np.concatenate([np.arange(4, 20) / 4, np.arange(10, 24) / 2, np.arange(12, 21) * 1.0])
GRIDS = {"cnn": np.round(np.arange(0.1, 0.951, 0.05), 2), "beta-fit": SIGMAS, "unsharp": SIGMAS}
MIN_PAIRS = 5  # fewest cavities found by both methods for a radius or stability comparison

PARAMETERS = (
    Param("retrain", bool),
    Param("architecture", str, choices=cn.ARCHITECTURES),
    Param("widths", int, 2, 512, many=True),
    Param("image_size", int, 32, 512),
    Param("n_train", int, 16, 10**6),
    Param("train_steps", int, 1, 10**6),
    Param("batch_size", int, 1, 4096),
    Param("lr", float, 1e-6, 1.0),
    Param("pos_weight", float, 0.01, 100.0),
    Param("decoder_steps", int, 0, 10**6),
    Param("counts", float, 10.0, 1e9, many=True),
    Param("n_test", int, 4, 10**5),
    Param("n_calibration", int, 4, 10**5),
    Param("n_stability", int, 1, 10**4),
    Param("n_realisations", int, 3, 10**4),
    Param("threshold", float, 0.01, 0.99),
    Param("min_area", int, 1, 10**4),
    Param("fit_iterations", int, 1, 1000),
)


def settings(p):
    """The training settings in ``p`` (the keys of TRAINED)."""
    return {k: getattr(p, k) for k in TRAINED}


def check(p):
    """Constraints between parameters, checked before any compute."""
    if p.architecture == "unet" and p.image_size % 2 ** (len(p.widths) - 1):
        raise ParameterError(f"parameter 'image_size' = {p.image_size} must be divisible by 2^(len(widths) - 1) = "
                             f"{2 ** (len(p.widths) - 1)} for a U-Net with widths {p.widths}")
    if len(set(p.counts)) != len(p.counts):
        raise ParameterError(f"parameter 'counts' = {p.counts!r} repeats a count level; give distinct levels")
    if not p.retrain:
        changed = {k: v for k, v in settings(p).items() if (list(v) if isinstance(v, (list, tuple)) else v) != TRAINED[k]}
        if changed:
            raise ParameterError("the committed model was trained with " + ", ".join(
                f"{k} = {TRAINED[k]!r}" for k in changed) + f"; got {changed!r}: set retrain = True to train with these")


# ---------------------------------------------------------------------------------------------
# The model: train, save, load


@contextlib.contextmanager
def threads(n):
    """Run a block with ``n`` torch threads, then restore the caller's setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def crop_size(image_size):
    """Side of the decoder's crops: half the image."""
    return image_size // 2


def train_models(config=None, seed=TRAIN_SEED, device="cpu"):
    """Train segmenter and radius decoder with ``config`` (TRAINED by default) on ``n_train`` fresh
    clusters. Returns (model on the CPU, loss history with a ``net`` column)."""
    c = {**TRAINED, **(config or {})}
    size = c["image_size"]
    with threads(TRAIN_THREADS):
        sample = clusters.simulate(c["n_train"], seed, size=size, stream=STREAMS["train"])
        model = cn.CavityModel(c["architecture"], c["widths"], seed)
        seg = cn.train_segmenter(model.segmenter, sample, steps=c["train_steps"], batch_size=c["batch_size"],
                                 lr=c["lr"], seed=seed, counts=clusters.PRIOR.counts, pos_weight=c["pos_weight"],
                                 device=device)
        threshold, area = DECODER_DETECT
        X, y = cn.decoder_examples(model, sample, seed=seed, threshold=threshold,
                                   min_area=_scaled_area(area, size), counts=clusters.PRIOR.counts,
                                   crop=crop_size(size), device=device)
        dec = cn.train_decoder(model.decoder, X, y, steps=c["decoder_steps"], seed=seed, device=device)
    model.cpu().eval()
    history = pd.concat([seg.assign(net="segmenter"), dec.assign(net="decoder")], ignore_index=True)
    return model, history.astype({"step": int, "loss": float})


def _scaled_area(area, size):
    return max(1, int(round(area * (size / clusters.REFERENCE_SIZE) ** 2)))


def sha256(path):
    """Hex sha256 of a file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def state_sha256(model):
    """sha256 of the bytes ``save_model`` writes for ``model``."""
    return hashlib.sha256(state_bytes(model)).hexdigest()


def state_bytes(model):
    """The plain state_dict serialised by ``torch.save`` into memory. In memory, because ``torch.save``
    to a file names the archive's folder after the file, so the same tensors saved under two names
    would give two checksums."""
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu().clone() for k, v in model.state_dict().items()}, buffer)
    return buffer.getvalue()


def save_model(model, path):
    """Write the plain state_dict atomically (temp file, rename); return its sha256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = state_bytes(model)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; a model file is for sharing
    os.replace(tmp, path)
    return hashlib.sha256(data).hexdigest()


def load_models(path=MODEL_FILE, expected=MODEL_SHA256, config=None):
    """The committed model: its sha256 is checked, then the state_dict is loaded without unpickling
    code (``weights_only=True``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no trained model at {path.name}; reproduce it with `{COMMAND}` "
                                "or run the notebook with retrain = True")
    actual = sha256(path)
    if expected is not None and actual != expected:
        raise ValueError(f"{path.name} has sha256 {actual}, expected {expected}: the file is not the committed "
                         f"model; restore it from git or reproduce it with `{COMMAND}`")
    c = {**TRAINED, **(config or {})}
    model = cn.CavityModel(c["architecture"], c["widths"])
    model.load_state_dict(torch.load(path, weights_only=True))
    return model.eval()


def get_model(p):
    """The notebook's model: the committed one, or (``retrain``) one trained now with ``p``'s settings
    and seed. Returns (model, history or None, sha256 of its state)."""
    if not p.retrain:
        return load_models(), None, MODEL_SHA256
    model, history = train_models(settings(p), seed=p.seed, device=p.device)
    return model, history, state_sha256(model)


def main(argv=None):
    """Command line: train the model and write it (the command in data/models/README.md)."""
    parser = argparse.ArgumentParser(prog="python -m companion.experiments.xray_cavities",
                                     description="Train the X-ray cavity segmenter and radius decoder; write the state_dict.")
    parser.add_argument("--out", required=True, help="where to write the state_dict (.pt)")
    parser.add_argument("--seed", type=int, default=TRAIN_SEED)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    for key, value in TRAINED.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, list):
            parser.add_argument(flag, type=int, nargs="+", default=value)
        else:
            parser.add_argument(flag, type=type(value), default=value)
    args = parser.parse_args(argv)
    config = {k: getattr(args, k) for k in TRAINED}
    start = time.perf_counter()
    model, history = train_models(config, seed=args.seed, device=args.device)
    digest = save_model(model, args.out)
    last = history.groupby("net").loss.last()
    print(f"wrote {args.out}: sha256 {digest}; {cn.n_parameters(model)} parameters; final losses "
          + ", ".join(f"{k} {v:.4f}" for k, v in last.items()) + f"; {time.perf_counter() - start:.0f} s")
    return 0


# ---------------------------------------------------------------------------------------------
# The simulator checks


def projection_check(size=64):
    """Largest relative difference between the numerical line-of-sight projection of cavity-free
    clusters and the analytic profile, over a grid of core radii, slopes and ellipticities."""
    rows = []
    for rc in (2.5, 5.0, 10.0):
        for beta in (0.5, 0.67, 1.0):
            for ell in (0.0, 0.3):
                c = clusters.Cluster(x=size / 2 + 0.3, y=size / 2 - 0.7, rc=rc * size / 64, beta=beta, ellipticity=ell,
                                     angle=0.6)
                _, plain, _ = clusters.render(c, size)
                dx, dy = clusters._grid(c, size)
                R = np.hypot(np.cos(c.angle) * dx + np.sin(c.angle) * dy,
                             (-np.sin(c.angle) * dx + np.cos(c.angle) * dy) / (1 - ell))
                err = np.abs(plain / clusters.projected_beta(R, c.rc, beta) - 1).max()
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
            cav = clusters.Cavity(distance=distance * s, azimuth=0.4, radius=radius * s)
            c = clusters.Cluster(x=size / 2, y=size / 2, rc=5 * s, beta=2 / 3, cavities=(cav,))
            bright, plain, lab = clusters.render(c, size)
            foot = lab == 1
            rows.append({"vary": kind, "radius": radius, "distance": distance,
                         "deficit": float(1 - bright[foot].sum() / plain[foot].sum())})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Running the three methods


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
            maps[method] = cn.probabilities(model.segmenter, counts, device=p.device)
        elif method == "beta-fit":
            fit, _ = cn.fit_beta(counts, exposure, p.fit_iterations)
            maps[method] = -cn.beta_residual(counts, fit, sig)
        else:
            maps[method] = -cn.unsharp_mask(counts, exposure, small, large)
        seconds[method] = time.perf_counter() - start
    return maps, seconds


def detect(model, counts, exposure, p, thresholds, methods=METHODS):
    """Candidates of every method: {method: (labels, table with ``radius``)} and seconds per method.
    The CNN's radius comes from the decoder, the baselines' from sqrt(area / pi)."""
    maps, seconds = score_maps(model, counts, exposure, p, methods)
    out = {}
    for method, score in maps.items():
        start = time.perf_counter()
        found, table = cn.components(score, thresholds[method], p.min_area)
        if method == "cnn":
            table["radius"] = cn.decode(model.decoder, score, found, table, crop_size(counts.shape[-1]), p.device)
        else:
            table["radius"] = table["radius_area"]
        seconds[method] += time.perf_counter() - start
        out[method] = (found, table)
    return out, maps, seconds


def _pooled_iou(found, truth):
    pred = found > 0
    return int((pred & truth).sum()), int((pred | truth).sum())


def _detected(sample, table):
    """Image-level (TPR, FPR): the fraction of images with / without cavities where anything was found."""
    has = sample.has_cavity
    any_found = np.zeros(len(has), bool)
    any_found[table.image.unique().astype(int)] = True
    rate = lambda x: float(x.mean()) if len(x) else np.nan
    return rate(any_found[has]), rate(any_found[~has])


OBJECTIVES = ("iou", "detection")


def calibrate(model, p):
    """Every method's thresholds, two per count level, from ``n_calibration`` clusters outside the test
    set observed at that level: the grid value with the largest pooled pixel IoU (used for maps, radii
    and stability) and the one with the largest TPR - FPR (used for detection). The same rule for the
    CNN and the baselines, each at its best for what the threshold is used for; an observer knows
    roughly how many counts they have. Returns (thresholds: one row per level, method and objective;
    the whole grid)."""
    sample = clusters.simulate(p.n_calibration, p.seed, size=p.image_size, stream=STREAMS["calibration"])
    rows = []
    for j, level in enumerate(p.counts):
        counts = sample.observe(level, p.seed, realisation=j)
        maps, _ = score_maps(model, counts, sample.exposure, p)
        for m in METHODS:
            for t in GRIDS[m]:
                found, table = cn.components(maps[m], t, p.min_area)
                inter, union = _pooled_iou(found, sample.mask)
                tpr, fpr = _detected(sample, table)
                rows.append({"counts": level, "method": m, "threshold": float(t),
                             "iou": inter / union if union else 0.0, "detection": tpr - fpr})
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


def test_set(p):
    """The ``n_test`` clusters every method is scored on (about half with cavities)."""
    return clusters.simulate(p.n_test, p.seed, size=p.image_size, stream=STREAMS["test"])


def _score(sample, found, table):
    """(image-level and pixel numbers, per-cavity rows) of one method on one set of observations."""
    cav, cands = cn.match(found, table, sample.labels, MIN_IOU)
    cav = cav.merge(sample.cavities[["image", "label", "radius", "distance", "fill"]], on=["image", "label"])
    keys = list(zip(cav.image.astype(int), cav.component.astype(int)))
    radius = dict(zip(zip(table.image.astype(int), table.component.astype(int)), table.radius))
    area = dict(zip(zip(table.image.astype(int), table.component.astype(int)), table.radius_area))
    cav["found"] = cav.component > 0
    cav["r_hat"] = [radius.get(k, np.nan) for k in keys]
    cav["r_area"] = [area.get(k, np.nan) for k in keys]
    inter, union = _pooled_iou(found, sample.mask)
    err = (cav.r_hat - cav.radius).abs() / cav.radius
    err_area = (cav.r_area - cav.radius).abs() / cav.radius
    tpr, fpr = _detected(sample, table)
    summary = {"iou": inter / union if union else 0.0, "tpr": tpr, "fpr": fpr,
               "recall": cav.found.mean(), "false_per_image": float((~cands.true).sum() / len(sample.unit)),
               "radius_err": err[cav.found].median(), "radius_err_area": err_area[cav.found].median(),
               "n_found": int(cav.found.sum()), "n_cavities": len(cav)}
    return summary, cav


def example_images(sample, n_with=3, n_without=1):
    """Indices of the first ``n_with`` test images with cavities and the first ``n_without`` without."""
    has = sample.has_cavity
    return np.concatenate([np.flatnonzero(has)[:n_with], np.flatnonzero(~has)[:n_without]])


def evaluate(model, sample, p, thresholds):
    """Score every method at every count level on ``sample``. Returns (metrics: one row per level and
    method; cavities: one row per level, method and true cavity; seconds per image per method;
    examples: counts and score maps of the ``example_images`` per level; the CNN's metrics at its
    fixed ``threshold``, the paper's way, per level)."""
    metrics, cavs, examples, fixed = [], [], {}, []
    shown = example_images(sample)
    seconds = dict.fromkeys(METHODS, 0.0)
    for j, level in enumerate(p.counts):
        counts = sample.observe(level, p.seed, realisation=j)
        found, maps, secs = detect(model, counts, sample.exposure, p, at_level(thresholds, level))
        detection = at_level(thresholds, level, "detection")
        for m in METHODS:
            seconds[m] += secs[m]
            summary, cav = _score(sample, *found[m])
            # image-level detection with the threshold calibrated for it (the same for the CNN)
            summary["tpr"], summary["fpr"] = _detected(sample, cn.components(maps[m], detection[m], p.min_area)[1])
            metrics.append({"counts": level, "method": m, **summary})
            cavs.append(cav.assign(counts=level, method=m))
        found_fixed, table_fixed = cn.components(maps["cnn"], p.threshold, p.min_area)
        table_fixed["radius"] = cn.decode(model.decoder, maps["cnn"], found_fixed, table_fixed,
                                          crop_size(counts.shape[-1]), p.device)
        summary, _ = _score(sample, found_fixed, table_fixed)
        fixed.append({"counts": level, "threshold": p.threshold, **summary})
        examples[level] = {"index": shown, "counts": counts[shown], **{m: maps[m][shown] for m in METHODS},
                           **{f"{m}_found": found[m][0][shown] for m in METHODS}}
    n = len(p.counts) * len(sample.unit)
    speed = pd.DataFrame([{"method": m, "ms_per_image": 1e3 * seconds[m] / n, "images": n} for m in METHODS])
    return pd.DataFrame(metrics), pd.concat(cavs, ignore_index=True), speed, examples, pd.DataFrame(fixed)


def by_size(cavities, edges=(2.0, 4.0, 6.0, 12.0)):
    """Recall and median radius error per count level, method and bin of true radius (pixels at 64 px)."""
    c = cavities.assign(size_bin=pd.cut(cavities.radius, list(edges)).astype(str),
                        err=(cavities.r_hat - cavities.radius).abs() / cavities.radius)
    g = c.groupby(["counts", "method", "size_bin"], sort=True)
    return g.agg(n=("found", "size"), recall=("found", "mean"),
                 radius_err=("err", "median")).reset_index()


def radius_pairs(cavities):
    """Per count level and baseline: the median relative radius error of the CNN and of the baseline
    on the cavities both found (a paired comparison), and how many there were."""
    wide = (cavities.assign(err=(cavities.r_hat - cavities.radius).abs() / cavities.radius)
            .set_index(["counts", "image", "label", "method"]).err.unstack("method").reindex(columns=list(METHODS)))
    rows = []
    for level in cavities.counts.unique():
        w = wide.loc[level]
        for b in BASELINES:
            both = w[["cnn", b]].dropna()
            rows.append({"counts": level, "baseline": b, "pairs": len(both),
                         "cnn_err": both["cnn"].median() if len(both) else np.nan,
                         "baseline_err": both[b].median() if len(both) else np.nan})
    return pd.DataFrame(rows)


def decoder_gain(cavities):
    """Per count level: median relative radius error of the CNN's candidates read by the ResNet
    decoder and by sqrt(area / pi), on the same found cavities."""
    c = cavities[(cavities.method == "cnn") & cavities.found]
    g = c.assign(decoder=(c.r_hat - c.radius).abs() / c.radius, area=(c.r_area - c.radius).abs() / c.radius)
    return g.groupby("counts").agg(n=("decoder", "size"), decoder_err=("decoder", "median"),
                                   area_err=("area", "median")).reset_index()


# ---------------------------------------------------------------------------------------------
# Stability over Poisson re-realisations


def stability(model, p, thresholds):
    """``n_realisations`` Poisson draws of ``n_stability`` clusters with cavities at every count level;
    one row per level, method, realisation and true cavity with the radius found (NaN if missed)."""
    sample = clusters.simulate(p.n_stability, p.seed, size=p.image_size, cavities=True, stream=STREAMS["stability"])
    n, R = len(sample.unit), p.n_realisations
    tiled = sample.subset(np.tile(np.arange(n), R))
    rows = []
    for j, level in enumerate(p.counts):
        counts = np.concatenate([sample.observe(level, p.seed, realisation=1000 * (j + 1) + r) for r in range(R)])
        found, _, _ = detect(model, counts, tiled.exposure, p, at_level(thresholds, level))
        for m in METHODS:
            _, cav = _score(tiled, *found[m])
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


def stability_pairs(summary):
    """Per level and baseline: median scatter of the CNN and of the baseline over the cavities both
    measured (found at least ``min_found`` times), how many there were, and the CNN's scatter of
    sqrt(area / pi) on the same cavities (what the decoder adds)."""
    idx = ["counts", "cluster", "label", "method"]
    wide = summary.set_index(idx).scatter.unstack("method").reindex(columns=list(METHODS))
    area = summary.set_index(idx).scatter_area.unstack("method").reindex(columns=list(METHODS))
    rows = []
    for level in summary.counts.unique():
        w = wide.loc[level]
        for b in BASELINES:
            both = w[["cnn", b]].dropna()
            med = lambda x: float(x.median()) if len(x) else np.nan
            rows.append({"counts": level, "baseline": b, "pairs": len(both), "cnn_scatter": med(both["cnn"]),
                         "baseline_scatter": med(both[b]), "cnn_area_scatter": med(area.loc[level].loc[both.index, "cnn"])})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Claims


def _level(c):
    return f"{c:,.0f} counts"


def _paired_claim(pairs, better, cnn_col, base_col, what):
    """Holds when the CNN is better than every baseline with at least MIN_PAIRS common cavities and at
    least one baseline is comparable; the text names each comparison."""
    parts, verdicts = [], []
    for r in pairs.itertuples():
        if r.pairs >= MIN_PAIRS:
            c, b = getattr(r, cnn_col), getattr(r, base_col)
            verdicts.append(better(c, b))
            parts.append(f"cnn {c:.3f} vs {r.baseline} {b:.3f} (n={r.pairs})")
        else:
            parts.append(f"{r.baseline}: {r.pairs} common {what}, too few")
    return "; ".join(parts), bool(verdicts) and all(verdicts)


def claims(p, projection, sweep, metrics, rpairs, spairs, gain):
    """The claims table rows. Thresholds say what each claim means: "beats" is strictly better than
    both baselines; radius and stability comparisons are paired on cavities both methods found
    (at least MIN_PAIRS of them) and skip a baseline that finds fewer."""
    rows = []
    err = projection.max_rel_err.max()
    rows.append({"claim": "S1 the projected 3-D beta model matches its analytic profile",
                 "measured": f"largest relative error {err:.1e} over {len(projection)} clusters",
                 "threshold": "< 1 %", "holds": bool(err < 0.01)})
    r, d = sweep[sweep.vary == "radius"], sweep[sweep.vary == "distance"]
    up, down = bool(np.all(np.diff(r.deficit) > 0)), bool(np.all(np.diff(d.deficit) < 0))
    rows.append({"claim": "C1 a cavity is a brightness deficit, deeper for larger cavities, shallower further out",
                 "measured": f"deficit {r.deficit.iloc[0]:.2f} -> {r.deficit.iloc[-1]:.2f} for R "
                             f"{r.radius.iloc[0]}-{r.radius.iloc[-1]} px; {d.deficit.iloc[0]:.2f} -> "
                             f"{d.deficit.iloc[-1]:.2f} for d {d.distance.iloc[0]}-{d.distance.iloc[-1]} px",
                 "threshold": "rises with R and falls with d at every step", "holds": up and down})
    m = metrics.set_index(["counts", "method"])
    for level in p.counts:
        x = m.loc[level]
        iou = x.iou
        rows.append({"claim": f"C2 pixel IoU, {_level(level)}",
                     "measured": f"cnn {iou['cnn']:.3f} vs beta-fit {iou['beta-fit']:.3f}, unsharp {iou['unsharp']:.3f}",
                     "threshold": "cnn > both baselines", "holds": bool(iou["cnn"] > iou[list(BASELINES)].max())})
        j = x.tpr - x.fpr
        rows.append({"claim": f"C4 detection TPR - FPR, {_level(level)}",
                     "measured": ", ".join(f"{k} {x.tpr[k]:.2f} - {x.fpr[k]:.2f}" for k in METHODS),
                     "threshold": "cnn's TPR - FPR > both baselines'", "holds": bool(j["cnn"] > j[list(BASELINES)].max())})
        text, ok = _paired_claim(rpairs[rpairs.counts == level], lambda c, b: c < b, "cnn_err", "baseline_err", "cavities")
        rows.append({"claim": f"C4 median radius error, {_level(level)}", "measured": text,
                     "threshold": f"cnn lower, paired, >= {MIN_PAIRS} common cavities", "holds": ok})
        text, ok = _paired_claim(spairs[spairs.counts == level], lambda c, b: c < b, "cnn_scatter",
                                 "baseline_scatter", "cavities")
        rows.append({"claim": f"C5 radius scatter over Poisson draws, {_level(level)}", "measured": text,
                     "threshold": f"cnn lower, paired, >= {MIN_PAIRS} common cavities", "holds": ok})
    ok = bool(len(gain)) and bool((gain.decoder_err < gain.area_err).all())
    rows.append({"claim": "C3 the ResNet decoder reads radii better than sqrt(area / pi)",
                 "measured": "; ".join(f"{_level(r.counts)}: {r.decoder_err:.3f} vs {r.area_err:.3f} (n={r.n})"
                                       for r in gain.itertuples()),
                 "threshold": "lower median error at every level", "holds": ok})
    return rows


# ---------------------------------------------------------------------------------------------
# Figures


def plot_deficit(sweep):
    """C2: the cavity's deficit against its radius and its distance from the centre."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
    for ax, kind, label in ((axes[0], "radius", "cavity radius R (px), d = 12 px"),
                            (axes[1], "distance", "distance d (px), R = 4 px")):
        s = sweep[sweep.vary == kind]
        ax.plot(s[kind], s.deficit, marker="o")
        ax.set(xlabel=label)
    axes[0].set_ylabel("surface-brightness deficit")
    fig.tight_layout()
    return fig


def plot_examples(examples, level, truth):
    """The pipeline side by side: the counts, the CNN's pixel-wise map and the two baselines' maps, with
    each method's candidates outlined (white) and the truth outlined (cyan)."""
    import matplotlib.pyplot as plt

    ex = examples[level]
    n = len(ex["counts"])
    titles = {"counts": "log10(counts + 1)", "cnn": "CNN probability", "beta-fit": "-(beta-fit residual) / sigma",
              "unsharp": "-(unsharp mask) / sigma"}
    fig, axes = plt.subplots(n, 4, figsize=(9, 2.3 * n), squeeze=False)
    for i in range(n):
        for j, key in enumerate(titles):
            ax = axes[i, j]
            img = np.log10(ex[key][i] + 1) if key == "counts" else ex[key][i]
            ax.imshow(img, cmap="magma" if key == "counts" else "viridis", origin="lower")
            ax.contour(truth[i] > 0, levels=[0.5], colors="cyan", linewidths=0.8, origin="lower")
            if key != "counts":
                ax.contour(ex[f"{key}_found"][i] > 0, levels=[0.5], colors="white", linewidths=0.8, origin="lower")
            ax.set(xticks=[], yticks=[])
            if i == 0:
                ax.set_title(titles[key], fontsize=9)
    fig.suptitle(f"{_level(level)}: truth in cyan, candidates in white", fontsize=10)
    fig.tight_layout()
    return fig


def plot_accuracy(metrics):
    """C6: pixel IoU, image-level TPR and FPR, cavity recall and median radius error against total counts."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(15, 3.4))
    for k, m in enumerate(METHODS):
        t = metrics[metrics.method == m]
        axes[0].plot(t.counts, t.iou, marker="o", color=f"C{k}", label=m)
        axes[1].plot(t.counts, t.tpr, marker="o", color=f"C{k}", label=f"{m} TPR")
        axes[1].plot(t.counts, t.fpr, marker="x", ls="--", color=f"C{k}", label=f"{m} FPR")
        axes[2].plot(t.counts, t.recall, marker="o", color=f"C{k}", label=m)
        axes[3].plot(t.counts, t.radius_err, marker="o", color=f"C{k}", label=m)
    for ax, label in zip(axes, ("pixel IoU", "image-level TPR (solid), FPR (dashed)", "cavity recall",
                                "median |R_hat - R| / R")):
        ax.set(xscale="log", xlabel="total counts", ylabel=label)
    axes[0].legend()
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_by_size(table):
    """Recall and radius error against the true cavity radius, one panel per method, one line per level."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(METHODS), figsize=(13, 5.5), sharex=True, sharey="row")
    levels = sorted(table.counts.unique())
    for j, m in enumerate(METHODS):
        for k, level in enumerate(levels):
            t = table[(table.method == m) & (table.counts == level)]
            color = plt.cm.viridis(k / max(1, len(levels) - 1))
            axes[0, j].plot(t.size_bin, t.recall, marker="o", color=color, label=_level(level))
            axes[1, j].plot(t.size_bin, t.radius_err, marker="o", color=color)
        axes[0, j].set_title(m)
        axes[1, j].set_xlabel("true radius bin (px)")
    axes[0, 0].set_ylabel("recall")
    axes[1, 0].set_ylabel("median |R_hat - R| / R")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_stability(summary):
    """Stability: per level and method, the scatter sd(R_hat) / R of each cavity over Poisson draws."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    s = summary.assign(level=summary.counts.map(_level))
    sns.stripplot(data=s.dropna(subset=["scatter"]), x="level", y="scatter", hue="method", hue_order=list(METHODS),
                  dodge=True, ax=axes[0])
    axes[0].set(xlabel="", ylabel="sd(R_hat) / R over draws")
    rate = s.groupby(["level", "method"], sort=False).found.mean().reset_index()
    sns.barplot(data=rate, x="level", y="found", hue="method", hue_order=list(METHODS), ax=axes[1])
    axes[1].set(xlabel="", ylabel="fraction of draws where found")
    fig.tight_layout()
    return fig


def plot_training(history):
    """Loss curves of a retrained model."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    for ax, net in zip(axes, ("segmenter", "decoder")):
        h = history[history.net == net]
        ax.plot(h.step, h.loss)
        ax.set(xlabel="step", ylabel=f"{net} loss", yscale="log")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Explore


def explorer(model, p, thresholds):
    """Sliders: total counts, a test cluster and the CNN threshold; shows the counts, the CNN's map
    and the beta-fit significance with the truth and the candidates outlined."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    sample = clusters.simulate(16, p.seed, size=p.image_size, stream=STREAMS["test"])
    style = {"description_width": "initial"}

    def show(log_counts=3.5, cluster=0, threshold=p.threshold):
        one = sample.subset([cluster])
        counts = one.observe(10 ** log_counts, p.seed, realisation=99)
        q = type(p)(**{**vars(p), "threshold": threshold})
        found, maps, _ = detect(model, counts, one.exposure, q,
                                {**at_level(thresholds, 10 ** log_counts), "cnn": threshold})
        _, axes = plt.subplots(1, 3, figsize=(10, 3.3))
        for ax, (key, img) in zip(axes, (("counts", np.log10(counts[0] + 1)), ("cnn", maps["cnn"][0]),
                                         ("beta-fit", maps["beta-fit"][0]))):
            ax.imshow(img, origin="lower", cmap="magma" if key == "counts" else "viridis")
            ax.contour(one.labels[0] > 0, levels=[0.5], colors="cyan", linewidths=0.8, origin="lower")
            if key != "counts":
                ax.contour(found[key][0][0] > 0, levels=[0.5], colors="white", linewidths=0.8, origin="lower")
                radii = ", ".join(f"{r:.1f}" for r in found[key][1].radius)
                ax.set_title(f"{key}: R = {radii or 'none'} px", fontsize=9)
            ax.set(xticks=[], yticks=[])
        true = ", ".join(f"{r:.1f}" for r in one.cavities.radius)
        axes[0].set_title(f"{10 ** log_counts:,.0f} counts; true R = {true or 'none'} px", fontsize=9)
        plt.show()

    return widgets.interactive(
        show,
        log_counts=widgets.FloatSlider(value=3.5, min=2.5, max=5.0, step=0.25, description="log10 counts",
                                       continuous_update=False, style=style),
        cluster=widgets.IntSlider(value=0, min=0, max=15, description="cluster", continuous_update=False),
        threshold=widgets.FloatSlider(value=p.threshold, min=0.05, max=0.95, step=0.05, description="CNN threshold",
                                      continuous_update=False, style=style))


if __name__ == "__main__":
    sys.exit(main())
