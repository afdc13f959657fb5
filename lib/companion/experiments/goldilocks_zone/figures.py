"""The Goldilocks figures: curvature against the radius with each shell shaded, and hyperplane training."""

import numpy as np


def shell_band(summary, scales):
    """The radii spanned by the shell's ``scales``, reaching halfway (geometrically) to the neighbouring scales."""
    s = summary.sort_values("scale").reset_index(drop=True)
    inside = s.index[s.scale.isin(scales)]
    if not len(inside):
        return None
    r = s.radius.to_numpy()
    lo, hi = inside.min(), inside.max()
    return (np.sqrt(r[lo] * r[lo - 1]) if lo > 0 else r[lo], np.sqrt(r[hi] * r[hi + 1]) if hi < len(r) - 1 else r[hi])


def plot_curvature(summary, zones):
    """C1, C2, C4: mean +- s.e. over seeds of the two measures and the loss against the radius, shells shaded."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    labels = {"frac_pos": "fraction of positive eigenvalues", "gamma": r"Tr$(H_d)$ / $\|H_d\|_F\sqrt{d}$",
              "loss": "initial loss"}
    for i, activation in enumerate(zones):
        s = summary[summary.activation == activation].sort_values("scale")
        band = shell_band(s, zones[activation])
        for ax, col in zip(axes, labels):
            ax.errorbar(s.radius, s[col], yerr=s[f"{col}_se"], marker="o", capsize=3, color=f"C{i}", label=activation)
            if band:
                ax.axvspan(*band, color=f"C{i}", alpha=0.12)
    for ax, (col, label) in zip(axes, labels.items()):
        ax.set(xscale="log", xlabel=r"radius $\|\theta\|$", ylabel=label)
    axes[0].axhline(0.5, color="k", lw=0.8, ls="--")
    axes[2].set_yscale("log")
    axes[0].legend(title="activation")
    fig.suptitle("Curvature in random subspaces against radius (shaded: the shell of each activation)")
    fig.tight_layout()
    return fig


def plot_hyperplane(hyper, band):
    """C5: mean test accuracy against the offset's radius, one line per d, on hyperplanes (left) and on
    hyperspheres of the offset's radius (right), with where each hyperplane run ended (left, crosses)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), sharey=True)
    for ax, (surface, t) in zip(axes, hyper.groupby("surface")):
        mean = t.groupby(["dim", "scale"], as_index=False)[["radius", "end_radius", "test_acc"]].mean()
        for i, (dim, m) in enumerate(mean.groupby("dim")):
            color = plt.cm.viridis(i / max(1, mean.dim.nunique() - 1))
            ax.plot(m.radius, m.test_acc, marker="o", color=color, label=f"d = {dim}")
            if surface == "plane":
                ax.scatter(m.end_radius, m.test_acc, marker="x", color=color)
        if band:
            ax.axvspan(*band, color="C2", alpha=0.15, label="shell")
        ax.set(xscale="log", xlabel=r"radius of the offset $\|P\|$ (x: end radius)", title=f"on the hyper{surface}")
    axes[0].set_ylabel("test accuracy (mean over rays)")
    axes[1].legend()
    fig.tight_layout()
    return fig


def plot_input_panel(summary, panel):
    """Tr/||H|| against radius for the sweep's inputs (input scale 1) and for inputs times each panel scale."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.8))
    curves = [(1.0, summary)] + list(panel.groupby("input_scale"))
    for i, (c, s) in enumerate(sorted(curves, key=lambda x: x[0])):
        s = s.sort_values("scale")
        ax.errorbar(s.radius, s.gamma, yerr=s.gamma_se, marker="o", capsize=3, color=plt.cm.plasma(i / len(curves)),
                    label=f"inputs x {c:g}")
    ax.set(xscale="log", xlabel=r"radius $\|\theta\|$", ylabel=r"Tr$(H_d)$ / $\|H_d\|_F\sqrt{d}$")
    ax.legend(title="input scale")
    fig.tight_layout()
    return fig
