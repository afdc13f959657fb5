"""The figures of notebook 02: the deficit sweep, example maps, accuracy, size dependence, stability, point
sources and PSF, training."""

import numpy as np

from .claims import level_name
from .compute import METHODS


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
    fig.suptitle(f"{level_name(level)}: truth in cyan, candidates in white", fontsize=10)
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
            axes[0, j].plot(t.size_bin, t.recall, marker="o", color=color, label=level_name(level))
            axes[1, j].plot(t.size_bin, t.radius_err, marker="o", color=color)
        axes[0, j].set_title(m)
        axes[1, j].set_xlabel("true radius bin (px)")
    axes[0, 0].set_ylabel("recall")
    axes[1, 0].set_ylabel("median |R_hat - R| / R")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_stability(summary):
    """Stability: per level and method, the scatter sd(R_area) / R of each cavity over Poisson draws, R_area =
    sqrt(area / pi) of the candidate for every method (as C5 compares them)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    s = summary.assign(level=summary.counts.map(level_name))
    sns.stripplot(data=s.dropna(subset=["scatter_area"]), x="level", y="scatter_area", hue="method",
                  hue_order=list(METHODS), dodge=True, ax=axes[0])
    axes[0].set(xlabel="", ylabel="sd(R_area) / R over draws")
    rate = s.groupby(["level", "method"], sort=False).found.mean().reset_index()
    sns.barplot(data=rate, x="level", y="found", hue="method", hue_order=list(METHODS), ax=axes[1])
    axes[1].set(xlabel="", ylabel="fraction of draws where found")
    fig.tight_layout()
    return fig


def plot_instrument(effect):
    """Point sources and a PSF: each method's TPR - FPR against total counts, one panel per condition."""
    import matplotlib.pyplot as plt

    conditions = list(dict.fromkeys(effect.condition))
    fig, axes = plt.subplots(1, len(conditions), figsize=(13, 3.2), sharey=True, squeeze=False)
    for ax, condition in zip(axes[0], conditions):
        for k, m in enumerate(METHODS):
            t = effect[(effect.condition == condition) & (effect.method == m)]
            ax.plot(t.counts, t.detection, marker="o", color=f"C{k}", label=m)
        ax.set(xscale="log", xlabel="total counts", title=condition)
    axes[0, 0].set_ylabel("TPR - FPR")
    axes[0, 0].legend(fontsize=8)
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
