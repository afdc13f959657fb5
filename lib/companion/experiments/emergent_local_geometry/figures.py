"""The figures of notebook 08."""

import numpy as np

from .claims import CONFINED, SUCCESS


def plot_outliers(eigs, counts):
    """P1: the top 4C + 1 eigenvalues of H (filled) and G (open) by rank for each C, C, the bulk edge of H and the
    counted outliers marked."""
    import matplotlib.pyplot as plt

    Cs = sorted(eigs.C.unique())
    fig, axes = plt.subplots(1, len(Cs), figsize=(4.2 * len(Cs), 3.6), squeeze=False)
    for ax, C in zip(axes[0], Cs):
        for name, style in (("H", dict(marker="o", color="C0")), ("G", dict(marker="o", mfc="none", color="C1"))):
            t = eigs[(eigs.C == C) & (eigs.matrix == name)]
            ax.plot(t["rank"], t.eigenvalue, ls="none", label=name, **style)
        h = counts[(counts.C == C) & (counts.matrix == "H")].iloc[0]
        n = h.outliers
        ax.axvline(C + 0.5, color="k", ls="--", lw=1, label="C")
        ax.axhline(h.edge, color="C3", ls=":", lw=1.5, label="bulk edge (H)")
        ax.set(yscale="log", xlabel="rank", ylabel="eigenvalue", title=f"C = {C} classes: {n} outliers")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def _shade_regime(ax, dynamics, C):
    """Shade the checkpoints at which H has at least C - 1 outliers: the regime P2 and M4 are judged in."""
    on = dynamics[dynamics.outliers >= C - 1]
    if len(on):
        ax.axvspan(on.epoch.min(), on.epoch.max(), color="C2", alpha=0.12, label=">= C - 1 outliers")


def _epoch_axes(fig, axes):
    """Put every axis on a symlog epoch scale from 0, lay the figure out and return it."""
    for ax in axes:
        ax.set(xscale="symlog", xlabel="epoch")
        ax.set_xlim(left=0)
    fig.tight_layout()
    return fig


def plot_dynamics(dynamics, history, C):
    """P2-P3: training loss, lambda_max, lambda_C and the bulk edge of H, and the fraction of ||g||^2 in the top-C
    eigenspace; the checkpoints where H has at least C - 1 outliers (the regime P2 is judged in) shaded."""
    import matplotlib.pyplot as plt

    per_epoch = dynamics.step.iloc[-1] / dynamics.epoch.iloc[-1]
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    axes[0].plot(history.step / per_epoch, history.train_loss, color="C0", label="train")
    if "test_loss" in history:
        axes[0].plot(history.step / per_epoch, history.test_loss, color="C1", label="test")
    axes[0].set(ylabel="cross-entropy", yscale="log")
    axes[0].legend(fontsize=8)
    axes[1].plot(dynamics.epoch, dynamics.lambda_max, "o-", color="C3", label=r"$\lambda_{max}(H)$")
    axes[1].plot(dynamics.epoch, dynamics.lambda_C, "s-", color="C2", label=r"$\lambda_C(H)$")
    axes[1].plot(dynamics.epoch, dynamics.bulk_edge, ":", color="k", label="bulk edge")
    axes[1].set(ylabel="eigenvalue", yscale="log")
    axes[1].legend(fontsize=8)
    axes[2].plot(dynamics.epoch, dynamics.confined, "o-", color="C4", label="top-C eigenspace of H")
    axes[2].axhline(dynamics.chance.iloc[0], color="k", ls=":", lw=1, label="chance C/D")
    axes[2].axhline(CONFINED, color="k", ls="--", lw=0.8)
    axes[2].set(ylabel=r"$\|P g\|^2 / \|g\|^2$", ylim=(-0.02, 1.02))
    _shade_regime(axes[2], dynamics, C)
    axes[2].legend(fontsize=8)
    return _epoch_axes(fig, axes)


def plot_hyperplane(hyper, zone_scales, full_test_acc):
    """P4, from the means over the hyperplanes (``hyperplane_means``): test accuracy after hyperplane training and
    the curvature Tr/||H_d|| at the offset (+- its standard error), against its radius; right: the model's
    ingredients at the offset (logit spread, top probability, Tr Mbar)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    ax = axes[0]
    ax.plot(hyper.radius, hyper.test_acc, "o-", color="C0", label="test accuracy, hyperplane (mean)")
    ax.axhline(SUCCESS * full_test_acc, color="C0", ls="--", lw=1, label=f"{SUCCESS:g} x full-space accuracy")
    zone_rows = hyper[hyper.scale.isin(zone_scales)]
    for r in zone_rows.radius:
        ax.axvspan(r / 1.3, r * 1.3, color="C2", alpha=0.15)
    ax.set(xscale="log", xlabel=r"radius of the offset $\|P\|$", ylabel="test accuracy", ylim=(0, 1))
    twin = ax.twinx()
    twin.errorbar(hyper.radius, hyper.gamma, yerr=hyper.gamma_se, fmt="s--", color="C2", capsize=3,
                  label=r"Tr$(H_d)/\|H_d\|_F\sqrt{d}$ at $P$")
    twin.set_ylabel(r"Tr$(H_d)/\|H_d\|_F\sqrt{d}$", color="C2")
    twin.grid(False)
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="lower left")
    ax.set_title("shaded: the zone (FWHM of the curvature)")
    ax = axes[1]
    ax.plot(hyper.radius, hyper.max_prob, "o-", label="mean top probability")
    ax.plot(hyper.radius, hyper.trace_Mbar, "s-", label=r"Tr $\bar M$ = mean$(1 - \sum p^2)$")
    ax.set(xscale="log", xlabel=r"radius of the offset $\|P\|$", ylim=(0, 1.02))
    twin = ax.twinx()
    twin.plot(hyper.radius, hyper.logit_std, "^--", color="C3", label="std of the logits")
    twin.set(yscale="log")
    twin.set_ylabel("std of the logits", color="C3")
    twin.grid(False)
    lines, more = ax.get_legend_handles_labels(), twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="center left")
    ax.set_title("the model's ingredients at the offset")
    fig.tight_layout()
    return fig


def plot_cosines(mats):
    """M1: the logit-gradient cosine matrix, ordered by logit index c (left) and by input class (right), per stage."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(mats), 2, figsize=(7.5, 3.6 * len(mats)), squeeze=False)
    for row, (stage, (cos, index)) in zip(axes, mats.items()):
        by_class = np.lexsort((index.example, index.logit, index.input_class))
        for ax, order, title in ((row[0], np.arange(len(cos)), "ordered by logit c"),
                                 (row[1], by_class, "ordered by input class")):
            image = ax.imshow(cos[np.ix_(order, order)], cmap="RdBu_r", vmin=-1, vmax=1)
            ax.set(title=title, xticks=[], yticks=[])
        row[0].set_ylabel(stage)
        fig.colorbar(image, ax=row.tolist(), shrink=0.8, label="cosine")
    return fig


def density_grid(densities, sigma=None, n=600):
    """(grid, sigma): a common grid over every density's nodes; sigma defaults to 1/150 of their spread."""
    lo = min(d.nodes.min().item() for d in densities.values())
    hi = max(d.nodes.max().item() for d in densities.values())
    sigma = (hi - lo) / 150 if sigma is None else sigma
    return np.linspace(lo - 4 * sigma, hi + 4 * sigma, n), sigma


def plot_spectrum(densities, top, sigma=None):
    """M3: SLQ densities of H, G and the model (log scale), and their top eigenvalues by rank with the signal's."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    grid, sigma = density_grid(densities, sigma)
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    styles = {"H": dict(color="C0", lw=2), "G": dict(color="C1", ls="--"), "model": dict(color="C3", ls="-.")}
    for name, d in densities.items():
        axes[0].plot(grid, d.density(grid, sigma).numpy(), label=name, **styles[name])
    peak = max(d.density(grid, sigma).max().item() for d in densities.values())
    axes[0].set(yscale="log", ylim=(1e-5, 3 * peak), xlabel="eigenvalue", ylabel="density (SLQ)",
                title=f"spectral density, Gaussian broadening {sigma:.3g}")
    axes[0].legend(fontsize=8)
    marks = {"H": dict(marker="o", color="C0"), "G": dict(marker="o", mfc="none", color="C1"),
             "model": dict(marker="x", color="C3"), "signal": dict(marker="_", ms=12, color="k")}
    for name, t in top.groupby("matrix", sort=False):
        t = t[t.eigenvalue > 0]
        axes[1].plot(t["rank"], t.eigenvalue, ls="none", label=name, **marks[name])
    axes[1].set(yscale="log", xlabel="rank", ylabel="eigenvalue", title="top eigenvalues")
    axes[1].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_model_dynamics(dynamics, C):
    """M4-M5: the model's signal eigenvalue against lambda_max, and ||g||^2 in span{m_c} against the top-C eigenspace."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    axes[0].plot(dynamics.epoch, dynamics.lambda_max, "o-", color="C3", label=r"measured $\lambda_{max}(H)$")
    axes[0].plot(dynamics.epoch, dynamics.model_signal, "x--", color="k", label=r"model: top of $m^T \bar M m$")
    axes[0].set(yscale="log", ylabel="eigenvalue")
    axes[0].legend(fontsize=8)
    axes[1].plot(dynamics.epoch, dynamics.confined, "o-", color="C4", label="g in the top-C eigenspace of H")
    axes[1].plot(dynamics.epoch, dynamics.in_means_span, "x--", color="k", label=r"g in span$\{m_c\}$")
    axes[1].plot(dynamics.epoch, dynamics.alignment, "s:", color="C2", label=r"alignment of the two spaces")
    axes[1].set(ylim=(-0.02, 1.02), ylabel="fraction")
    _shade_regime(axes[1], dynamics, C)
    axes[1].legend(fontsize=8)
    return _epoch_axes(fig, axes)
