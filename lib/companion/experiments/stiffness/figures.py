"""The stiffness notebook's figures (matplotlib is imported inside each function, only when one is drawn)."""

import numpy as np

from .compute import reference
from .params import CLAIM_PAIRS, PAIRS


def class_order(groups, k):
    """Class order for a matrix: grouped by super-class (first appearance), else 0..k-1."""
    if groups is None:
        return list(range(k))
    first = {g: i for i, g in reversed(list(enumerate(groups)))}
    return sorted(range(k), key=lambda a: (first[groups[a]], a))


def plot_class_matrices(measured, p, steps, groups=None, seed=0, pairs=CLAIM_PAIRS):
    """Class stiffness matrices (rows: sign, cosine) at ``steps``, classes grouped by super-class when given."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(steps), figsize=(3.3 * len(steps), 6.2), squeeze=False)
    for j, step in enumerate(steps):
        for i, kind in enumerate(("sign", "cos")):
            C = measured.matrices[(p.lr, seed, step, pairs, kind)]
            order = class_order(groups, len(C))
            im = axes[i, j].imshow(C[np.ix_(order, order)], cmap="RdBu_r", vmin=-1, vmax=1)
            axes[i, j].set_title(f"S_{kind}, step {step}", fontsize=10)
            ticks = order if len(C) <= 20 else []
            axes[i, j].set(xticks=range(len(ticks)), yticks=range(len(ticks)), xticklabels=ticks, yticklabels=ticks)
            axes[i, j].tick_params(labelsize=7)
            axes[i, j].grid(False)
    fig.colorbar(im, ax=axes, shrink=0.8, label="class stiffness")
    fig.suptitle(f"Class stiffness matrices ({pairs} pairs, lr {p.lr:g}, seed {seed})")
    return fig


def plot_training(measured, p, kind="cos"):
    """Within- and between-class stiffness over epochs for each pair set, beside the train and test losses."""
    import matplotlib.pyplot as plt

    c = reference(measured.curves, p)
    c = c[c.kind == kind]
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    for i, pairs in enumerate(PAIRS):
        m = c[c.pairs == pairs].groupby("epoch")[["within", "between"]].agg(["mean", "std"])
        for col, ax in zip(("within", "between"), axes[:2]):
            ax.plot(m.index, m[(col, "mean")], color=f"C{i}", label=pairs)
            ax.fill_between(m.index, m[(col, "mean")] - m[(col, "std")].fillna(0),
                            m[(col, "mean")] + m[(col, "std")].fillna(0), color=f"C{i}", alpha=0.15)
    loss = c[c.pairs == CLAIM_PAIRS].groupby("epoch")[["train_loss", "test_loss"]].mean()
    axes[2].plot(loss.index, loss.train_loss, label="train")
    axes[2].plot(loss.index, loss.test_loss, label="test")
    star = loss.test_loss.idxmin()
    for ax in axes:
        ax.axvline(star, color="k", lw=0.8, ls=":")
        ax.set_xlabel("epoch")
    axes[1].axhline(0, color="k", lw=0.8)
    axes[0].set_ylabel(f"within-class S_{kind}")
    axes[1].set_ylabel(f"between-class S_{kind}")
    axes[2].set(ylabel="cross-entropy", yscale="log")
    axes[0].legend(title="pairs")
    axes[2].legend()
    fig.suptitle(f"Stiffness over training (lr {p.lr:g}, mean +- sd over seeds; dotted: lowest test loss)")
    fig.tight_layout()
    return fig


def plot_distance(measured, p, seed=0):
    """Binned S_cos (train-test) against input distance at every checkpoint (colour: epoch), and xi over epochs
    for every learning rate."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    d = reference(measured.distance, p)
    d = d[d.seed == seed]
    epochs = sorted(d.epoch.unique())
    for e in epochs:
        b = d[d.epoch == e]
        axes[0].plot(b.distance, b.stiffness, color=plt.cm.viridis(epochs.index(e) / max(1, len(epochs) - 1)), lw=1)
    axes[0].axhline(0, color="k", lw=0.8)
    axes[0].set(xlabel=f"input distance ({p.metric})", ylabel="binned S_cos",
                title=f"lr {p.lr:g}, seed {seed}; colour: epoch {epochs[0]:g} (purple) to {epochs[-1]:g} (yellow)")
    for i, (lr, t) in enumerate(measured.xi.groupby("lr")):
        m = t.replace(np.inf, np.nan).groupby("epoch").xi.agg(["mean", "std"])
        axes[1].errorbar(m.index, m["mean"], yerr=m["std"].fillna(0), color=f"C{i}", marker="o", ms=3, capsize=2,
                         label=f"lr {lr:g}")
    axes[1].set(xlabel="epoch", ylabel=r"critical length $\xi$", title=r"$\xi$ (mean $\pm$ sd over seeds)")
    axes[1].legend()
    fig.tight_layout()
    return fig


def plot_xi_vs_lr(lr_table):
    """xi against the learning rate per seed, at matched epoch and at matched training loss."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
    for ax, col, title in ((axes[0], "xi_epoch", "matched epoch (end of training)"),
                           (axes[1], "xi_loss", "matched training loss")):
        for s, t in lr_table.groupby("seed"):
            t = t.sort_values("lr")
            ax.plot(t.lr, t[col].replace(np.inf, np.nan), marker="o", label=f"seed {s}")
        lrs = sorted(lr_table.lr.unique())
        ax.set(xscale="log", xlabel="learning rate", title=title)
        ax.set_xticks(lrs, [f"{v:g}" for v in lrs])
        ax.minorticks_off()
    axes[0].set_ylabel(r"critical length $\xi$")
    axes[0].legend()
    fig.tight_layout()
    return fig


def plot_layers(layer_binned):
    """Binned S_cos against distance (relative to the median) in input space and each hidden layer, first and
    last checkpoint, seed 0."""
    import matplotlib.pyplot as plt

    b = layer_binned[layer_binned.seed == layer_binned.seed.min()]
    steps = sorted(b.step.unique())
    fig, axes = plt.subplots(1, len(steps), figsize=(6 * len(steps), 3.6), sharey=True, squeeze=False)
    for ax, step in zip(axes[0], steps):
        for i, (layer, t) in enumerate(b[b.step == step].groupby("layer", sort=False)):
            ax.plot(t.distance, t.stiffness, marker="o", ms=3, color=f"C{i}", label=layer)
        ax.axhline(0, color="k", lw=0.8)
        ax.set(xlabel="distance / median distance", title=f"step {step}")
    axes[0, 0].set_ylabel("binned S_cos (train-test)")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig
