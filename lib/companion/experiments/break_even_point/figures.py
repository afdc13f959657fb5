"""The figures: the trajectories embedded by their predictions (Fig. 1), the measures along training (Figs. 2-3),
and lambda_max(H) against 2/lr."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

from .compute import MEASURES, cap_slope

LABELS = {"lam_H": r"$\lambda_{max}(H)$", "lam_K": r"$\lambda_{max}(K)$", "trace_K": r"Tr$(K)$",
          "inv_cond_K": r"$\lambda_{*}(K) / \lambda_{max}(K)$", "train_acc": "training accuracy", "step": "step"}


def lr_colors(values):
    """One plasma colour per grid value, in increasing order."""
    values = sorted(values)
    return {v: plt.cm.plasma(0.85 * i / max(1, len(values) - 1)) for i, v in enumerate(values)}


def plot_embedding(emb):
    """Fig. 1 of the paper: checkpoints embedded by their test predictions, coloured by lambda_max(K).

    One line per learning rate (one seed), from the init (star) to the last checkpoint (square);
    the colour of each point is the spectral norm of K there, on a log scale.
    """
    fig, ax = plt.subplots(figsize=(7, 5))
    norm = LogNorm(emb.lam_K.min(), emb.lam_K.max())
    markers = dict(zip(sorted(emb.lr.unique()), "os^Dvp<>"))
    for lr, t in emb.groupby("lr", sort=True):
        t = t.sort_values("step")
        ax.plot(t.pc1, t.pc2, color="0.6", lw=1, zorder=1)
        sc = ax.scatter(t.pc1, t.pc2, c=t.lam_K, cmap="viridis", norm=norm, marker=markers[lr], s=45,
                        edgecolor="k", linewidth=0.4, zorder=2, label=f"lr = {lr:g}")
        ax.annotate(f"lr {lr:g}", (t.pc1.iloc[-1], t.pc2.iloc[-1]), textcoords="offset points", xytext=(5, 5),
                    fontsize=9)
    first = emb.sort_values("step").iloc[0]
    ax.scatter([first.pc1], [first.pc2], marker="*", s=250, color="k", zorder=3, label="init")
    fig.colorbar(sc, ax=ax, label=r"$\lambda_{max}(K)$ (spectral norm of the gradient covariance)")
    ax.set(xlabel="PC 1 of the test predictions", ylabel="PC 2 of the test predictions")
    ax.legend(fontsize=8, loc="best")
    ax.set_title("Early trajectories embedded by their predictions, coloured by $\\lambda_{max}(K)$")
    fig.tight_layout()
    return fig


def _curve(ax, u, m, x, color, targets):
    """One grid value's runs of measure ``m`` against ``x``: each seed thin, its matched-progress points marked."""
    for _, v in u.groupby("seed"):
        ax.plot(v[x], v[m], color=color, lw=0.7 if x == "step" else 1.2, alpha=0.5 if x == "step" else 0.8)
        for target in targets:
            hit = v[v.train_acc >= target]
            if len(hit):  # the run at matched progress
                ax.scatter(hit[x].iloc[:1], hit[m].iloc[:1], color=color, s=45, edgecolor="k", zorder=3)


def plot_curves(table, group, x="step", targets=()):
    """Fig. 2-3 of the paper: lambda_max(H), lambda_max(K), Tr(K) and K's inverse condition number along training.

    One colour per grid value of ``group`` ("lr": learning rates, "batch": batch sizes, "bn":
    the batch-norm pair); thick lines are the mean over seeds, thin ones each seed. ``x`` is
    "step" or "train_acc" (matched progress); ``targets`` draws the matched-progress accuracies and
    marks each run where it first reaches each.
    """
    t = table[table.group == group]
    hue = "batch_size" if group == "batch" else "lr"
    colors = lr_colors(t[hue].unique())
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    for ax, m in zip(axes, MEASURES):
        for value, u in t.groupby(hue, sort=True):
            label = f"{'B' if hue == 'batch_size' else 'lr'} = {value:g}"
            _curve(ax, u, m, x, colors[value], targets)
            if x == "step":
                mean = u.groupby("step")[m].mean()
                ax.plot(mean.index, mean.to_numpy(), color=colors[value], lw=2.2, label=label)
            else:
                ax.plot([], [], color=colors[value], lw=2.2, label=label)
        for target in targets:
            ax.axvline(target, color="k", ls=":", lw=1)
        ax.set(xlabel=LABELS[x], ylabel=LABELS[m], yscale="log")
    axes[0].legend(fontsize=8)
    model = t.model.iloc[0]
    fixed = f"lr = {t.lr.iloc[0]:g}" if hue == "batch_size" else f"B = {t.batch_size.iloc[0]}"
    fig.suptitle(f"{model}, {fixed}: curvature and gradient noise along training")
    fig.tight_layout()
    return fig


def plot_sharpness(table, runs):
    """lambda_max(H) against 2/lr: each run's curve with its stability limit (dashed), and the peaks against lr."""
    t = table[table.group == "lr"]
    colors = lr_colors(t.lr.unique())
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    for lr, u in t.groupby("lr", sort=True):
        for s, v in u.groupby("seed"):
            axes[0].plot(v.step, v.lam_H, color=colors[lr], lw=1.6 if s == 0 else 0.8, alpha=1 if s == 0 else 0.5,
                         label=f"lr = {lr:g}" if s == 0 else None)
        axes[0].axhline(2 / lr, color=colors[lr], ls="--", lw=1)
    axes[0].set(xlabel="step", ylabel=LABELS["lam_H"], yscale="log", title="dashed: 2 / lr")
    axes[0].legend(fontsize=8)
    r = runs[runs.group == "lr"]
    axes[1].scatter(r.lr, r.max_lam_H, color=[colors[v] for v in r.lr], zorder=3, label="peak, each seed")
    grid = np.geomspace(r.lr.min() / 1.3, r.lr.max() * 1.3, 50)
    axes[1].plot(grid, 2 / grid, "k--", lw=1, label="2 / lr")
    axes[1].set(xscale="log", yscale="log", xlabel="learning rate", ylabel=r"peak $\lambda_{max}(H)$",
                title=f"log-log slope of the mean peak: {cap_slope(runs):.2f}")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig
