"""Data, training and measurements of the Gaussian prototypical networks experiment (tables and arrays).

Random streams, each from ``rng.derive(p.seed, ...)``: "encoder init" and "training episodes" per
training run, "test episodes" per (way, shot), "damaged images" per side ("train", "test") and
fraction (in thousandths), "quality images" once.
"""

import numpy as np
import pandas as pd
import torch

from ... import rng
from ...data import load
from ...data import omniglot as og
from ...data.omniglot import ClassImages, group_split, resize, rotations_as_classes
from ...fewshot import (MODES, EpisodeSampler, ProtoNet, Split, damage, downsample, embed_all, encoder, evaluate,
                        floor_share, mean_ci, mean_precision, paired_difference, precision_floor, train_episodic)
from ...nn import n_parameters
from ...params import ParameterError
from .params import DIGITS_TEST, GAUSSIAN

QUALITY_IMAGES = 1000  # test images whose precision is read at every resolution (all when fewer)


# ---------------------------------------------------------------- data

def _digits(size):
    data = load("digits", normalize="unit")
    X = resize(torch.cat([data.X_train, data.X_test]), size)
    names = tuple(str(d) for d in range(10))
    return ClassImages(X, torch.cat([data.y_train, data.y_test]), names, tuple(range(10)), names)


def load_data(p):
    """The few-shot :class:`~companion.fewshot.Split` (rotations as classes, groups disjoint) at ``image_size``."""
    if p.dataset == "digits":
        train, test = group_split(_digits(p.image_size), [str(d) for d in DIGITS_TEST])
    else:
        train, test = og.load_split(p.dataset, p.image_size)
    split = Split(rotations_as_classes(train), rotations_as_classes(test))
    if max(p.ways) > split.test.n_classes or p.train_way > split.train.n_classes:
        raise ParameterError(f"{p.dataset} has {split.train.n_classes} training and {split.test.n_classes} test classes: "
                             f"'train_way' = {p.train_way} and 'ways' = {p.ways!r} must not exceed them")
    return split


def describe(split):
    """A one-line summary of the split."""
    return (f"train: {split.train.n_classes} classes from {len(split.train.groups)} groups, {len(split.train.X)} images; "
            f"test: {split.test.n_classes} classes from {len(split.test.groups)} groups {list(split.test.groups)}, "
            f"{len(split.test.X)} images; {tuple(split.train.X.shape[1:])} each")


def centre(X):
    """Subtract each image's mean (the paper's code centres every image)."""
    return X - X.mean(dim=(1, 2, 3), keepdim=True)


def damaged(images, fraction, p, side):
    """``images`` with ``fraction`` of them down-sampled to ``damage_size``; which ones depends on ``p.seed``,
    ``side`` ("train" or "test") and ``fraction`` only, so every training run sees the same damaged images."""
    return damage(images, fraction, p.damage_size, seed=rng.derive(p.seed, "damaged images", side,
                                                                   round(fraction * 1000)))


# ---------------------------------------------------------------- training and testing

def make_model(p, mode, run=0, in_channels=1):
    """A network of ``mode`` on the shared encoder, initialised by ``p.init``; the encoder's weights depend only on
    the seed, ``run`` and the init."""
    return ProtoNet(encoder(in_channels, p.filters, p.image_size, seed=rng.derive(p.seed, "encoder init", run),
                            init=p.init), mode, p.transform, p.distance)


def train_model(split, p, mode, fraction=0.0, run=0):
    """Train ``mode`` on the training side with ``fraction`` of its images down-sampled: (model, history).

    Every mode of training run ``run`` (0..n_seeds-1) starts from the same weights and sees the same
    episodes; the down-sampled images are the same in every run.
    """
    X = split.train.X
    if fraction:
        X, _ = damaged(X, fraction, p, "train")
    data = ClassImages(centre(X), split.train.y, split.train.class_names, split.train.class_group,
                       split.train.group_names)
    model = make_model(p, mode, run)
    history = train_episodic(model, data, n_way=p.train_way, n_shot=p.train_shot, n_query=p.train_query,
                             steps=p.steps, lr=p.lr, halve_every=p.halve_every,
                             seed=rng.derive(p.seed, "training episodes", run), device=p.device)
    return model.cpu(), history.assign(mode=mode, fraction=fraction, run=run)


def train_models(split, p, modes=MODES):
    """Every mode, ``n_seeds`` training runs each, on the undamaged training set: ({(mode, run): model}, histories)."""
    models, histories = {}, []
    for run in range(p.n_seeds):
        for mode in modes:
            models[(mode, run)], history = train_model(split, p, mode, 0.0, run)
            histories.append(history)
    return models, pd.concat(histories, ignore_index=True)


def test_episodes(split, p, way, shot):
    """The test episodes of one setting: the same for every model and run (seeded by ``seed``, way and shot)."""
    return EpisodeSampler(split.test.y, way, shot, p.test_query,
                          seed=rng.derive(p.seed, "test episodes", way, shot)).take(p.n_episodes)


def accuracy(model, X, settings, p):
    """Per-episode accuracy of ``model`` on raw test images ``X`` for every ``{key: episodes}`` in ``settings``;
    with running batch-norm statistics the images are embedded once for all of them."""
    X = centre(X)
    embedded = embed_all(model, X, p.device) if p.bn_mode == "running" else None
    return {key: evaluate(model, X, episodes, bn=p.bn_mode, device=p.device, embedded=embedded)
            for key, episodes in settings.items()}


def compare(models, split, p):
    """Claim 1: every trained model at every (way, shot) on the clean test set.

    Returns (table, per-episode accuracies {(mode, way, shot, run): array}); the table has one row per
    (mode, way, shot, run) with the mean accuracy, its 95% half-width over episodes and the parameter count.
    """
    settings = {(way, shot): test_episodes(split, p, way, shot) for way in p.ways for shot in p.shots}
    rows, per_episode = [], {}
    for (mode, run), model in models.items():
        for (way, shot), acc in accuracy(model, split.test.X, settings, p).items():
            per_episode[(mode, way, shot, run)] = acc
            mean, half = mean_ci(acc)
            rows.append({"mode": mode, "way": way, "shot": shot, "run": run, "acc": mean, "ci95": half,
                         "params": n_parameters(model, trainable=True)})
    order = {key: i for i, key in enumerate(settings)}  # one block of rows per setting, in the order asked
    rows.sort(key=lambda r: order[(r["way"], r["shot"])])
    return pd.DataFrame(rows), dict(sorted(per_episode.items(), key=lambda kv: order[kv[0][1:3]]))


def differences(per_episode, p, modes=GAUSSIAN):
    """Paired per-episode differences of each Gaussian mode against vanilla of the same training run:
    one row per (mode, way, shot, run) with diff, its 95% half-width and the verdict (higher, tie, lower)."""
    rows = []
    for (mode, way, shot, run), acc in per_episode.items():
        if mode in modes and ("vanilla", way, shot, run) in per_episode:
            d = paired_difference(acc, per_episode[("vanilla", way, shot, run)])
            rows.append({"mode": mode, "way": way, "shot": shot, "run": run, **d})
    return pd.DataFrame(rows)


def damage_experiment(models, per_episode, split, p):
    """Claims 3-4: for every fraction and run, the ``damage_modes`` trained with that fraction of the training
    images down-sampled, tested at (ways[0], shots[0]) on the clean test set and on the test set with the same
    fraction down-sampled. Fraction 0 reuses ``models`` and their accuracies ``per_episode`` from :func:`compare`
    (the same test episodes).

    Returns (table, per-episode accuracies {(mode, fraction, test, run): array}, trained
    {(mode, fraction, run): model}, histories).
    """
    way, shot = p.ways[0], p.shots[0]
    episodes = {0: test_episodes(split, p, way, shot)}
    rows, damage_pe, trained, histories = [], {}, {}, []
    for run in range(p.n_seeds):
        for fraction in sorted(p.damage_fractions):
            X_test, _ = damaged(split.test.X, fraction, p, "test")
            for mode in p.damage_modes:
                if fraction == 0:
                    model = models[(mode, run)]
                    clean = damaged_acc = per_episode[(mode, way, shot, run)]
                else:
                    model, history = train_model(split, p, mode, fraction, run)
                    histories.append(history)
                    clean = accuracy(model, split.test.X, episodes, p)[0]
                    damaged_acc = accuracy(model, X_test, episodes, p)[0]
                trained[(mode, fraction, run)] = model
                for test, acc in (("clean", clean), ("damaged", damaged_acc)):
                    damage_pe[(mode, fraction, test, run)] = acc
                    mean, half = mean_ci(acc)
                    rows.append({"mode": mode, "fraction": fraction, "test": test, "run": run, "way": way,
                                 "shot": shot, "acc": mean, "ci95": half})
    return (pd.DataFrame(rows), damage_pe, trained,
            pd.concat(histories, ignore_index=True) if histories else pd.DataFrame())


# ---------------------------------------------------------------- learned precision against image quality

def quality_images(split, p):
    """The test images of claim 5: ``QUALITY_IMAGES`` of them drawn once with ``seed`` (all when fewer)."""
    n = len(split.test.X)
    if n <= QUALITY_IMAGES:
        return split.test.X
    pick = np.sort(rng.numpy_rng(p.seed, "quality images").choice(n, QUALITY_IMAGES, replace=False))
    return split.test.X[torch.from_numpy(pick)]


@torch.no_grad()
def precision_by_quality(trained, split, p):
    """Claim 5: the learned precision of every image of :func:`quality_images`, down-sampled to each of
    ``quality_sizes`` and ``damage_size`` (the image size itself: clean), for every Gaussian model of the
    damage experiment.

    Returns {(mode, fraction, run): {size: precisions (N,) float64}} (the precision of a diagonal model
    is averaged over dimensions).
    """
    sizes = sorted({*p.quality_sizes, p.damage_size, p.image_size}, reverse=True)
    X = quality_images(split, p)
    images = {size: centre(X if size == p.image_size else downsample(X, size)) for size in sizes}
    return {key: {size: mean_precision(model, at_size, p.device).double().numpy() for size, at_size in images.items()}
            for key, model in trained.items() if key[0] != "vanilla"}


def precision_floors(trained, split, p):
    """Per Gaussian model: its precision floor (:func:`~companion.fewshot.precision_floor`, averaged over
    dimensions), the share of the clean :func:`quality_images` at it (a share near 1: a constant precision) and
    that share's 95% half-width over the images."""
    X = centre(quality_images(split, p))
    rows = []
    for (mode, fraction, run), m in trained.items():
        if mode != "vanilla":
            share, half = mean_ci(floor_share(m, X, p.device))
            rows.append({"mode": mode, "fraction": fraction, "run": run, "floor": float(precision_floor(m).mean()),
                         "share_at_floor": share, "ci95": half})
    return pd.DataFrame(rows)


def confidence_vs_quality(precisions, p):
    """Mean learned precision (and 95% half-width over test images) at each of ``quality_sizes``, per model."""
    rows = []
    for (mode, fraction, run), by_size in precisions.items():
        for size in sorted(p.quality_sizes, reverse=True):
            mean, half = mean_ci(by_size[size])
            rows.append({"mode": mode, "fraction": fraction, "run": run, "size": size, "precision": mean,
                         "ci95": half})
    return pd.DataFrame(rows)


def precision_drop(precisions, p):
    """Per test image, precision clean minus precision down-sampled to ``damage_size``, per model: mean, 95%
    half-width (paired over images), and the share of images whose precision drops."""
    rows = []
    for (mode, fraction, run), by_size in precisions.items():
        clean, low = by_size[p.image_size], by_size[p.damage_size]
        mean, half = mean_ci(clean - low)
        rows.append({"mode": mode, "fraction": fraction, "run": run, "clean": clean.mean(), "downsampled": low.mean(),
                     "drop": mean, "ci95": half, "share_lower": float((low < clean).mean())})
    return pd.DataFrame(rows)


@torch.no_grad()
def lake_runs(models, p, runs=None):
    """Lake et al.'s 20 within-alphabet 20-way 1-shot runs: accuracy of each model per run (no claim)."""
    runs = og.one_shot_runs(p.image_size) if runs is None else runs
    rows = []
    for (mode, seed_run), model in models.items():
        for run in runs:
            x_train, s_train = embed_all(model, centre(run["train"]), p.device)
            x_test, _ = embed_all(model, centre(run["test"]), p.device)
            logits = model.logits(x_train[:, None], s_train[:, None] if s_train is not None else None, x_test)
            rows.append({"mode": mode, "run": seed_run, "lake_run": run["name"],
                         "acc": (logits.argmax(1) == run["answer"]).double().mean().item()})
    return pd.DataFrame(rows)


def by_run(table, keys, value="acc"):
    """Mean over training runs of ``value`` and of its half-width, per ``keys`` (for figures and summaries)."""
    return table.groupby(keys, sort=False, as_index=False)[[value, "ci95"]].mean()
