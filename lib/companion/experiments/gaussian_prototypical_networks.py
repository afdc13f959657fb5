"""Gaussian prototypical networks (Fort, arXiv:1708.02735), measured against vanilla ones.

Three networks share one 4-block encoder (:mod:`companion.fewshot.encoder`) with ``filters[-1] = C``
output numbers, so they have the same parameter count; they differ only in how they read them
(:mod:`companion.fewshot.protonets`): ``vanilla`` (a C-dimensional embedding), ``radius`` (C - 1
dimensions and one precision per image) and ``diagonal`` (C/2 dimensions and C/2 precisions). Every
mode starts from the same encoder weights and sees the same training episodes, and every model is
tested on the same test episodes, so accuracies compare episode by episode (paired).

Data: classes are characters (or digits) rotated by 0, 90, 180 and 270 degrees, each rotation a
class of its own, and the test classes come from groups (alphabets, digits) never seen in training.

- ``omniglot-full``: background set (964 characters, 30 alphabets) for training, evaluation set
  (659 characters, 20 alphabets) for testing, as the paper's code does.
- ``omniglot``: the two small background subsets (242 characters, 8 alphabets); Latin and Tagalog
  held out (:data:`companion.data.omniglot.SMALL_TEST_ALPHABETS`).
- ``digits`` (the offline default): scikit-learn's 8x8 digits, all 1,797 images, resized to
  ``image_size`` (8: as they are, for a 3-block encoder); digits 3, 4, 7 and 9 are the test classes (16 with rotations, so at most 16-way)
  and 0, 1, 2, 5, 6, 8 train (24 classes). The test digits are those whose four rotations differ
  from each other and from every other test class: 0, 1 and 8 look alike after half a turn and a 6
  upside down is a 9, so those stay on the training side where a near-duplicate class only makes
  training noisier.

Images are in [0, 1] with ink at 1; each image has its mean subtracted before the encoder (the
paper's code does the same after mapping to [-1, 1]). Down-sampling ("damage") is applied to the raw
images of a fraction of the training set, and for the damaged test to the same fraction of the test
set, before that centring.
"""

import numpy as np
import pandas as pd
import torch

from ..data import load
from ..data import omniglot as og
from ..data.omniglot import ClassImages, group_split, resize, rotations_as_classes
from ..fewshot import (DISTANCES, MODES, TRANSFORMS, EpisodeSampler, ProtoNet, Split, damage, downsample, embed_all,
                       encoder, evaluate, mean_ci, n_parameters, paired_difference, train_episodic)
from ..fewshot.encoder import output_side
from ..params import Param, ParameterError

DATASETS = ("digits", "omniglot", "omniglot-full")
DIGITS_TEST = (3, 4, 7, 9)  # see the module docstring: no test class looks like a rotation of another
GAUSSIAN = ("radius", "diagonal")
# Snell et al. (2017) prototypical networks on Omniglot, test accuracy in % as that paper reports it
# (the "Paper" row of the README of Wenlin-Chen/Prototypical-Networks-for-Few-shot-Learning).
SNELL = {(5, 1): 98.8, (5, 5): 99.7, (20, 1): 96.0, (20, 5): 98.9}

PARAMETERS = (
    Param("dataset", str, choices=DATASETS),
    Param("image_size", int, 8, 105),
    Param("filters", int, 1, 2048, many=True),
    Param("transform", str, choices=TRANSFORMS),
    Param("distance", str, choices=DISTANCES),
    Param("bn_mode", str, choices=("running", "transductive")),
    Param("train_way", int, 2, 5000),
    Param("train_shot", int, 1, 19),
    Param("train_query", int, 1, 19),
    Param("steps", int, 1, 1_000_000),
    Param("lr", float, 1e-6, 1.0),
    Param("halve_every", int, 1, 1_000_000),
    Param("ways", int, 2, 5000, many=True),
    Param("shots", int, 1, 19, many=True),
    Param("test_query", int, 1, 19),
    Param("n_episodes", int, 10, 1_000_000),
    Param("n_seeds", int, 1, 100),
    Param("damage_fractions", float, 0.0, 1.0, many=True),
    Param("damage_size", int, 1, 105),
    Param("damage_modes", str, choices=MODES, many=True),
    Param("quality_sizes", int, 1, 105, many=True),
    Param("lake_runs", bool),
)


def check(p):
    """Constraints between parameters, checked before any compute (the data's own limits are checked on loading)."""
    if output_side(p.image_size, len(p.filters)) < 1:
        raise ParameterError(f"parameter 'filters' = {p.filters!r}: {len(p.filters)} blocks halve a {p.image_size}-pixel "
                             f"image to nothing; allowed: at most {p.image_size.bit_length() - 1} blocks")
    if p.filters[-1] < 2 or p.filters[-1] % 2:
        raise ParameterError(f"parameter 'filters' = {p.filters!r}: the last entry (the output channels, split in half "
                             "by the diagonal mode) must be even and at least 2")
    per_class = 20 if p.dataset != "digits" else 150  # Omniglot: 20 drawers; digits: at least 174 per class
    for name, need in (("train_shot + train_query", p.train_shot + p.train_query),
                       ("max(shots) + test_query", max(p.shots) + p.test_query)):
        if need > per_class:
            raise ParameterError(f"{name} = {need} images per class, but {p.dataset} has {per_class} per class; "
                                 f"allowed: at most {per_class}")
    if p.dataset == "digits" and (max(p.ways) > 16 or p.train_way > 24):
        raise ParameterError(f"digits has 16 test classes and 24 training classes (with rotations): parameter 'ways' = "
                             f"{p.ways!r} must be at most 16 and 'train_way' = {p.train_way} at most 24; "
                             "use dataset 'omniglot' for 20-way")
    if 0.0 not in p.damage_fractions or len(set(p.damage_fractions)) != len(p.damage_fractions):
        raise ParameterError(f"parameter 'damage_fractions' = {p.damage_fractions!r} must hold 0.0 (the undamaged "
                             "reference) and no repeats")
    if "vanilla" not in p.damage_modes or not set(p.damage_modes) & set(GAUSSIAN):
        raise ParameterError(f"parameter 'damage_modes' = {p.damage_modes!r} must hold 'vanilla' and at least one of "
                             f"{GAUSSIAN}")
    if not p.damage_size < p.image_size or max(p.quality_sizes) > p.image_size:
        raise ParameterError(f"parameters 'damage_size' = {p.damage_size} and 'quality_sizes' = {p.quality_sizes!r} "
                             f"must be below (damage) and at most (quality) image_size = {p.image_size}")
    if p.lake_runs and p.dataset == "digits":
        raise ParameterError("parameter 'lake_runs' = True needs an Omniglot dataset (the runs are Omniglot images)")


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


def damaged(images, fraction, p, which):
    """``images`` with ``fraction`` of them down-sampled to ``damage_size`` (seeded by ``p.seed`` and ``which``)."""
    return damage(images, fraction, p.damage_size, seed=[p.seed, 7, round(fraction * 1000), which])


# ---------------------------------------------------------------- training and testing

def make_model(p, mode, seed, in_channels=1):
    """A network of ``mode`` on the shared encoder; the encoder's init depends only on ``seed``."""
    return ProtoNet(encoder(in_channels, p.filters, p.image_size, seed=seed), mode, p.transform, p.distance)


def train_model(split, p, mode, fraction=0.0, run=0):
    """Train ``mode`` on the training side with ``fraction`` of its images down-sampled: (model, history).

    Training run ``run`` (0..n_seeds-1) uses seed ``p.seed + run`` for the encoder's init and the
    training episodes; every mode of one run starts from the same weights and sees the same episodes.
    The down-sampled images are the same in every run.
    """
    X = split.train.X
    if fraction:
        X, _ = damaged(X, fraction, p, which=0)
    data = ClassImages(centre(X), split.train.y, split.train.class_names, split.train.class_group,
                       split.train.group_names)
    model = make_model(p, mode, p.seed + run)
    history = train_episodic(model, data, n_way=p.train_way, n_shot=p.train_shot, n_query=p.train_query,
                             steps=p.steps, lr=p.lr, halve_every=p.halve_every, seed=[p.seed + run, 1],
                             device=p.device)
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
    return EpisodeSampler(split.test.y, way, shot, p.test_query, seed=[p.seed, 2, way, shot]).take(p.n_episodes)


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
                         "params": n_parameters(model)})
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
            X_test, _ = damaged(split.test.X, fraction, p, which=1)
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


QUALITY_IMAGES = 1000  # test images whose precision is read at every resolution (all when fewer)


def quality_images(split, p):
    """The test images of claim 5: ``QUALITY_IMAGES`` of them drawn once with ``seed`` (all when fewer)."""
    n = len(split.test.X)
    if n <= QUALITY_IMAGES:
        return split.test.X
    pick = np.sort(np.random.default_rng([p.seed, 5]).choice(n, QUALITY_IMAGES, replace=False))
    return split.test.X[torch.from_numpy(pick)]


@torch.no_grad()
def precision_by_quality(trained, split, p):
    """Claim 5: the learned precision of every image of :func:`quality_images`, down-sampled to each of ``quality_sizes`` and
    ``damage_size`` (the image size itself: clean), for every Gaussian model of the damage experiment.

    Returns {(mode, fraction, run): {size: precisions (N,) float64}} (the precision of a diagonal model
    is averaged over dimensions).
    """
    sizes = sorted({*p.quality_sizes, p.damage_size, p.image_size}, reverse=True)
    X = quality_images(split, p)
    images = {size: centre(X if size == p.image_size else downsample(X, size)) for size in sizes}
    out = {}
    for key, model in trained.items():
        if key[0] != "vanilla":
            out[key] = {size: embed_all(model, X, p.device)[1].mean(1).double().numpy() for size, X in images.items()}
    return out


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


# ---------------------------------------------------------------- claims

def _pct(x):
    return f"{100 * x:.1f}"


def _runs(values, fmt):
    return "; ".join(fmt(v) for v in values)


BEATS = "in every training run, the paired 95% CI of the per-episode difference lies above 0"


def claims(p, table, diffs, damage_table, damage_per_episode, drops):
    """The claims table rows; thresholds fixed before any run (see the notebook's claims section).

    Every comparison is paired over the same test episodes and made within each training run (same
    init, same training episodes); a claim holds only when it holds in every run.
    """
    rows = []
    mean = by_run(table, ["mode", "way", "shot"]).set_index(["mode", "way", "shot"])
    for (mode, way, shot), d in diffs.groupby(["mode", "way", "shot"], sort=False):
        rows.append({"claim": f"C1 {mode} beats vanilla at equal parameters, {way}-way {shot}-shot",
                     "measured": f"{_pct(mean.loc[(mode, way, shot), 'acc'])}% vs "
                                 f"{_pct(mean.loc[('vanilla', way, shot), 'acc'])}%; difference "
                                 + _runs(d.itertuples(), lambda r: f"{100 * r.diff:+.1f} ± {_pct(r.half)}")
                                 + " points", "threshold": BEATS, "holds": bool((d.verdict == "higher").all())})
    if p.dataset == "omniglot-full":
        for (way, shot), ref in SNELL.items():
            if ("radius", way, shot) in mean.index:
                acc = mean.loc[("radius", way, shot), "acc"]
                rows.append({"claim": f"C2 radius at or above the earlier state of the art, {way}-way {shot}-shot",
                             "measured": f"{_pct(acc)}% vs {ref}% (Snell et al. 2017)",
                             "threshold": "mean accuracy >= the reported one", "holds": bool(100 * acc >= ref)})
    fractions = sorted(f for f in p.damage_fractions if f > 0)
    pe, runs = damage_per_episode, range(p.n_seeds)
    for mode in [m for m in p.damage_modes if m in GAUSSIAN]:
        for f in fractions:
            ds = [paired_difference(pe[(mode, f, "clean", r)], pe[(mode, 0.0, "clean", r)]) for r in runs]
            rows.append({"claim": f"C3 {mode}: down-sampling {f:g} of the training images improves clean-test accuracy",
                         "measured": f"{_pct(np.mean([pe[(mode, f, 'clean', r)].mean() for r in runs]))}% vs "
                                     f"{_pct(np.mean([pe[(mode, 0.0, 'clean', r)].mean() for r in runs]))}%; difference "
                                     + _runs(ds, lambda d: f"{100 * d['diff']:+.1f} ± {_pct(d['half'])}") + " points",
                         "threshold": BEATS, "holds": all(d["verdict"] == "higher" for d in ds)})
        for f in fractions:
            ds, gains = [], []
            for r in runs:
                gap_f = pe[(mode, f, "damaged", r)] - pe[("vanilla", f, "damaged", r)]
                gap_0 = pe[(mode, 0.0, "clean", r)] - pe[("vanilla", 0.0, "clean", r)]
                ds.append(paired_difference(gap_f, gap_0))
                gains.append((gap_f.mean(), gap_0.mean()))
            rows.append({"claim": f"C4 {mode}: the gain over vanilla grows when {f:g} of the images are down-sampled",
                         "measured": "gain at 0 -> at " + f"{f:g}: "
                                     + _runs(gains, lambda g: f"{100 * g[1]:+.1f} -> {100 * g[0]:+.1f}")
                                     + " points; growth " + _runs(ds, lambda d: f"{100 * d['diff']:+.1f} ± "
                                                                               f"{_pct(d['half'])}"),
                         "threshold": "in every training run, the paired 95% CI of the growth lies above 0",
                         "holds": all(d["verdict"] == "higher" for d in ds)})
    for (mode, fraction), d in drops.groupby(["mode", "fraction"], sort=False):
        rows.append({"claim": f"C5 {mode} (trained with {fraction:g} down-sampled): lower precision for "
                              f"down-sampled images",
                     "measured": f"precision {d['clean'].mean():.2f} clean vs {d['downsampled'].mean():.2f} at "
                                 f"{p.damage_size} px; drop " + _runs(d.itertuples(), lambda r: f"{r.drop:.3f} ± "
                                                                                          f"{r.ci95:.3f}")
                                 + f"; lower for {_pct(d['share_lower'].mean())}% of images",
                     "threshold": "in every training run, the paired 95% CI of the drop lies above 0",
                     "holds": bool((d["drop"] - d["ci95"] > 0).all())})
    return rows


# ---------------------------------------------------------------- figures

COLORS = {"vanilla": "C0", "radius": "C1", "diagonal": "C2"}


def plot_accuracy(table):
    """Claim 1: accuracy per setting, one bar per mode (the paper's results table); mean over training runs,
    error bars the 95% interval over test episodes."""
    import matplotlib.pyplot as plt

    t = by_run(table, ["mode", "way", "shot"])
    settings = list(t[["way", "shot"]].drop_duplicates().itertuples(index=False))
    modes = list(dict.fromkeys(t["mode"]))
    fig, ax = plt.subplots(figsize=(3.2 + 1.6 * len(settings), 3.6))
    width = 0.8 / len(modes)
    for i, mode in enumerate(modes):
        u = t[t["mode"] == mode].set_index(["way", "shot"])
        ax.bar(np.arange(len(settings)) + (i - (len(modes) - 1) / 2) * width,
               [100 * u.loc[(s.way, s.shot), "acc"] for s in settings], width,
               yerr=[100 * u.loc[(s.way, s.shot), "ci95"] for s in settings], capsize=3, color=COLORS[mode], label=mode)
    ax.set_xticks(range(len(settings)), [f"{s.way}-way {s.shot}-shot" for s in settings])
    low = 100 * (t.acc - t.ci95).min()
    ax.set(ylabel="test accuracy (%), 95% CI", ylim=(max(0, low - 5), 100))
    ax.legend(title="mode", loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


def plot_training(histories):
    """Training loss against episodes for every trained model (training run 0)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4))
    for (mode, fraction), h in histories[histories.run == 0].groupby(["mode", "fraction"], sort=False):
        ax.plot(h.step, h.loss, color=COLORS[mode], ls="-" if fraction == 0 else "--",
                label=f"{mode}, {fraction:g} down-sampled")
    ax.set(xlabel="training episode", ylabel="training loss (nats)", yscale="log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_damage(damage_table):
    """Claims 3-4: accuracy against the fraction of down-sampled images, on the clean and the damaged test set."""
    import matplotlib.pyplot as plt

    t = by_run(damage_table, ["mode", "fraction", "test", "way", "shot"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, test in zip(axes, ("clean", "damaged")):
        for mode, u in t[t.test == test].groupby("mode", sort=False):
            ax.errorbar(u.fraction, 100 * u.acc, yerr=100 * u.ci95, marker="o", capsize=3, color=COLORS[mode],
                        label=mode)
        ax.set(xlabel="fraction of images down-sampled", title=f"{test} test set")
    axes[0].set_ylabel(f"{t.way.iloc[0]}-way {t.shot.iloc[0]}-shot accuracy (%)")
    axes[0].legend()
    fig.tight_layout()
    return fig


def plot_confidence(quality, image_size):
    """Claim 5: mean learned precision against the resolution a test image was reduced to."""
    import matplotlib.pyplot as plt

    t = by_run(quality, ["mode", "fraction", "size"], value="precision")
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for (mode, fraction), u in t.groupby(["mode", "fraction"], sort=False):
        ax.errorbar(u["size"], u.precision, yerr=u.ci95, marker="o", capsize=3, color=COLORS[mode],
                    ls="-" if fraction == 0 else "--", label=f"{mode}, trained with {fraction:g} down-sampled")
    ax.axvline(image_size, color="k", lw=0.8, ls=":")
    ax.set(xlabel="resolution the test image was reduced to (pixels; right: clean)",
           ylabel="mean learned precision s")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def explorer(trained, split, p):
    """Sliders: a test image and a resolution -> the image as the network sees it and the precision every
    Gaussian model of training run 0 gives it."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    gaussian = {(mode, fraction): m for (mode, fraction, run), m in trained.items() if mode != "vanilla" and run == 0}

    def show(index, size):
        X = split.test.X[index:index + 1]
        X = X if size == p.image_size else downsample(X, size)
        fig, axes = plt.subplots(1, 2, figsize=(8, 3), gridspec_kw={"width_ratios": [1, 2]})
        axes[0].imshow(X[0, 0], cmap="gray_r")
        axes[0].set(title=split.test.class_names[int(split.test.y[index])], xticks=[], yticks=[])
        names = [f"{mode}, {fraction:g}" for mode, fraction in gaussian]
        values = [embed_all(m, centre(X))[1].mean().item() for m in gaussian.values()]
        axes[1].barh(names, values, color=[COLORS[mode] for mode, _ in gaussian])
        axes[1].set(xlabel="learned precision s (mode, fraction trained down-sampled)")
        fig.tight_layout()
        plt.show()

    return widgets.interactive(
        show,
        index=widgets.IntSlider(value=0, min=0, max=len(split.test.X) - 1, description="test image"),
        size=widgets.IntSlider(value=p.image_size, min=2, max=p.image_size, description="resolution"),
    )
