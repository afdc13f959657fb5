"""The figures: weights and predictions (Figs. 2-4 of the paper), the diversity-accuracy plane (Fig. 5), ensembles
(Fig. 7), dataset shift (Fig. 8) and the connector."""

import matplotlib.pyplot as plt
import numpy as np

from ...landscape import function_space as fs
from .compute import METHODS

LABELS = {"independent": "independent runs", "trajectory": "one trajectory", "diag": "diagonal Gaussian",
          "pca": "PCA Gaussian (rank 5)", "random": "random directions", "dropout": "dropout masks"}
COLORS = {"independent": "C3", "trajectory": "0.5", "diag": "C4", "pca": "C6", "random": "C0", "dropout": "C1"}


def plot_geometry(geo):
    """Fig. 2-3 of the paper: cosine and disagreement along one trajectory and between independent solutions."""
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    panels = [("cos_trajectory", "cosine along run 0", "epoch"),
              ("dis_trajectory", "disagreement along run 0", "epoch"),
              ("cos_independent", "cosine between runs", "run"),
              ("dis_independent", "disagreement between runs", "run")]
    for ax, (key, title, label) in zip(axes, panels):
        vmin, vmax = (-1, 1) if key.startswith("cos") else (0, max(0.01, float(np.max(geo[key]))))
        im = ax.imshow(geo[key], cmap="bwr" if key.startswith("cos") else "viridis", origin="lower",
                       vmin=vmin, vmax=vmax)
        ax.set(title=title, xlabel=label, ylabel=label)
        ax.grid(False)
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def plot_tsne(tsne):
    """Fig. 4 of the paper: t-SNE of the prediction vectors along each trajectory (star: first epoch)."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for run, t in tsne.groupby("run"):
        ax.plot(t.x, t.y, "-", color=f"C{run}", alpha=0.3)
        ax.scatter(t.x, t.y, color=f"C{run}", s=14, label=f"run {run}")
        ax.scatter(t.x.iloc[:1], t.y.iloc[:1], color=f"C{run}", marker="*", s=250, edgecolor="k")
    ax.set(xlabel="t-SNE 1", ylabel="t-SNE 2", title="prediction vectors along each trajectory")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_plane(plane, ref_acc, n_classes):
    """Fig. 5 of the paper: accuracy against disagreement with the base / (1 - accuracy), both analytic curves."""
    fig, ax = plt.subplots(figsize=(7, 5))
    curves = fs.plane_curves(ref_acc, n_classes)
    ax.plot(curves.accuracy, curves.upper, "k-.", label="upper limit (independent errors)")
    ax.plot(curves.accuracy, curves.lower, "k--", label="lower limit (perturbed base)")
    for method in ("trajectory", *METHODS):
        t = plane[plane.method == method]
        ax.scatter(t.accuracy, t.diversity, s=12, alpha=0.6, color=COLORS[method], label=LABELS[method])
    ind = plane[plane.method == "independent"]
    ax.scatter(ind.accuracy[1:], ind.diversity[1:], marker="*", s=300, color=COLORS["independent"],
               edgecolor="k", label=LABELS["independent"], zorder=5)
    ax.scatter(ind.accuracy[:1], ind.diversity[:1], marker="*", s=300, color="C2", edgecolor="k",
               label="base solution (run 0)", zorder=5)
    top = max(1.2, float(curves.upper.max()), float(np.nanmax(plane.diversity))) + 0.05
    ax.set(xlabel="test accuracy", ylabel="fraction of labels changed / (1 - accuracy)",
           ylim=(-0.1, top), xlim=(0, min(1, ref_acc + 0.07)))
    ax.legend(fontsize=8, loc="lower left", framealpha=0.6)
    fig.tight_layout()
    return fig


def plot_ensembles(curves):
    """Fig. 7 of the paper: ensemble accuracy and Brier against size, per method alone and combined with runs."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
    for ax, metric in zip(axes, ("accuracy", "brier")):
        ind = curves[curves.kind == "independent"]
        ax.plot(ind["size"], ind[metric], "s-", color=COLORS["independent"], lw=2.5, label=LABELS["independent"])
        for method in METHODS:
            for kind, ls in (("subspace", ":"), ("combined", "--")):
                t = curves[(curves.method == method) & (curves.kind == kind)]
                what = "samples around one run" if kind == "subspace" else "+ ensemble of runs"
                ax.plot(t["size"], t[metric], ls, marker="o", ms=4, color=COLORS[method],
                        label=f"{LABELS[method]}: {what}")
        ax.set(xlabel="ensemble size k", ylabel=f"test {metric}")
    axes[1].legend(fontsize=7, ncol=1, bbox_to_anchor=(1.02, 1), loc="upper left")
    fig.tight_layout()
    return fig


def plot_shift(shift, js, p):
    """Fig. 8 of the paper: accuracy, Brier and Jensen-Shannon diversity against corruption intensity."""
    k = max(p.shift_sizes)
    fig, axes = plt.subplots(1, 3, figsize=(16, 4))
    mean = shift.groupby(["severity", "method", "size"], as_index=False)[["accuracy", "brier"]].mean()
    for ax, metric in zip(axes[:2], ("accuracy", "brier")):
        for method in ("independent", *METHODS):
            sizes = [1, k]
            for size, ls in zip(sizes, ("--", "-")):
                t = mean[(mean.method == method) & (mean["size"] == size)]
                label = (f"{'1 run' if size == 1 else f'{k} runs'}" if method == "independent"
                         else f"{LABELS[method]}{'' if size == 1 else f' + {k} runs'}")
                ax.plot(t.severity, t[metric], ls, marker="s", ms=4, color=COLORS[method], label=label)
        ax.set(xlabel="corruption intensity (0 = clean)", ylabel=f"test {metric}")
    js_mean = js.groupby(["severity", "method"], as_index=False).js.mean()
    for method in ("independent", "trajectory", *METHODS):
        t = js_mean[js_mean.method == method]
        axes[2].plot(t.severity, t.js, marker="s", ms=4, color=COLORS[method], label=LABELS[method])
    axes[2].set(xlabel="corruption intensity (0 = clean)", ylabel="Jensen-Shannon diversity")
    axes[1].legend(fontsize=7, loc="upper left")
    axes[2].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def plot_connector(path):
    """Loss, accuracy and disagreement with each end along the trained connector and the straight line."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    for kind, ls in (("straight line", "--"), ("connector", "-")):
        t = path[path.kind == kind]
        axes[0].plot(t.t, t.train_loss, ls, color="C0", label=f"train, {kind}")
        axes[0].plot(t.t, t.test_loss, ls, color="C1", label=f"test, {kind}")
        axes[1].plot(t.t, t.test_acc, ls, color="C2", label=kind)
        axes[2].plot(t.t, t.dis_a, ls, color="C3", label=f"vs run 0, {kind}")
        axes[2].plot(t.t, t.dis_b, ls, color="C4", label=f"vs run 1, {kind}")
    axes[0].set(xlabel="t along the path (0: run 0, 1: run 1)", ylabel="cross-entropy")
    axes[1].set(xlabel="t", ylabel="test accuracy")
    axes[2].set(xlabel="t", ylabel="test disagreement with the end")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
