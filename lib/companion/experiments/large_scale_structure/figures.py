"""The large-scale-structure notebook's figures (matplotlib is imported inside each function, when one is drawn)."""

import numpy as np

from .params import KNOBS


def _ticks(ax, values, axis="x"):
    """Ticks at the grid values, labelled plainly (log axes otherwise crowd them with powers of ten)."""
    from matplotlib.ticker import NullLocator

    values = sorted({float(v) for v in values})
    getattr(ax, f"set_{axis}ticks")(values, [f"{v:g}" for v in values])
    getattr(ax, f"{axis}axis").set_minor_locator(NullLocator())


def plot_subspace(sub, d90, curves, thresholds, p):
    """C1, C2: the network's loss reached against d per offset scale and d90 against radius, and the toy's."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(17, 3.8))
    t = sub[~sub.full].groupby(["scale", "dim"], as_index=False).train_loss.mean()
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(p.scales)))
    for c, (scale, u) in zip(colors, t.groupby("scale")):
        axes[0].plot(u.dim, u.train_loss, marker="o", color=c, label=f"scale {scale:g}")
    axes[0].set(xscale="log", yscale="log", xlabel="subspace dimension d", ylabel="train loss reached (mean)",
                title="network")
    _ticks(axes[0], p.subspace_dims)
    axes[0].legend(fontsize=8)
    for s, u in d90.groupby("seed"):
        axes[1].plot(u.radius, u.d90, marker="o", label=f"seed {s}")
    axes[1].set(xscale="log", yscale="log", xlabel=r"offset radius $\|P\|$", ylabel="d90", title="network threshold")
    _ticks(axes[1], d90.groupby("scale").radius.mean().round(1))
    _ticks(axes[1], [d for d in p.subspace_dims if d90.d90.min() / 2 <= d <= d90.d90.max() * 2], "y")
    axes[1].legend(fontsize=8)
    c = curves.groupby(["radius", "dim"], as_index=False).loss.mean()
    colors = plt.cm.viridis(np.linspace(0, 0.9, c.radius.nunique()))
    for col, (r, u) in zip(colors, c.groupby("radius")):
        axes[2].plot(u.dim, u.loss + 1e-6, marker="o", color=col, label=f"radius {r:g}")
    axes[2].set(yscale="log", xlabel="plane dimension d", ylabel="lowest toy loss + 1e-6",
                title=f"toy, reach {p.toy_reach:g}")
    axes[2].axvline(p.toy_short, color="k", ls=":", lw=0.8)
    axes[2].legend(fontsize=8)
    th = thresholds.groupby(["model", "radius"], as_index=False).d_star.mean()
    for (name, u), ls in zip(th.groupby("model", sort=False), ("-", "--", "-.")):
        axes[3].plot(u.radius, u.d_star, marker="o", ls=ls, label=name)
    axes[3].set(xscale="log", xlabel="offset radius (core distance 1)", ylabel="toy threshold d* (mean)",
                title="toy threshold")
    _ticks(axes[3], p.toy_radii)
    axes[3].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_knobs(knobs):
    """C3: curvature explored and radius per parameter against each knob, one line per seed."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(13, 6), sharey="row")
    for j, knob in enumerate(KNOBS):
        t = knobs[knobs.knob == knob]
        for s, u in t.groupby("seed"):
            u = u.sort_values("value")
            axes[0, j].plot(u.value, u.lam_path, marker="o", label=f"seed {s}")
            axes[1, j].plot(u.value, u.radius_pp, marker="o", label=f"seed {s}")
        axes[1, j].set(xlabel={"lr": "learning rate", "width": "width factor", "l2": "L2 coefficient"}[knob])
        for ax in axes[:, j]:
            if knob != "l2":
                ax.set_xscale("log")
            _ticks(ax, t.value)
    axes[0, 0].set(ylabel="mean top eigenvalue of H\nalong the run")
    axes[1, 0].set(ylabel=r"$\|\theta\| / \sqrt{D}$ at target loss")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_connectors(paths, toy):
    """C4, C5: loss along the straight lines and along the star's pair paths, network and toy, seed 0."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    for ax, t, title in ((axes[0], paths, "network (train loss)"), (axes[1], toy, "toy")):
        t = t[t.seed == 0]
        for i, (pair, u) in enumerate(t.groupby("pair")):
            for kind, ls in (("straight line", "--"), ("star", "-")):
                v = u[u.kind == kind]
                ax.plot(v.t, v.loss, ls=ls, color=f"C{i}", label=f"{pair} {kind}")
        ax.set(xlabel="t along the path (star: end i -> shared point at t = 0.5 -> end j)", ylabel="loss",
               title=title)
    axes[0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def plot_ensembles(table, margins):
    """C6: members' and ensemble test accuracy and members' disagreement per kind of ensemble (one point per seed,
    averaged over the anchors), and the independent ensemble's margin over each within-wedge kind with its 95%
    interval."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    t = table.groupby(["seed", "kind"], sort=False, as_index=False).mean(numeric_only=True)
    kinds = list(dict.fromkeys(table.kind))
    x = {k: i for i, k in enumerate(kinds)}
    for column, marker, label in (("member_acc", "o", "members (mean)"), ("ens_acc", "*", "ensemble")):
        axes[0].scatter(t.kind.map(x), t[column], marker=marker, s=60, label=label)
    axes[1].scatter(t.kind.map(x), t.disagreement, color="C2")
    for ax, ylabel in ((axes[0], "test accuracy"), (axes[1], "members' pairwise disagreement")):
        ax.set_xticks(range(len(kinds)), kinds)
        ax.set(ylabel=ylabel, title="per seed, mean over anchors")
    axes[0].legend(fontsize=8)
    rows = list(margins.itertuples())
    for i, r in enumerate(rows):
        axes[2].errorbar(r.margin, i, xerr=[[r.margin - r.lo], [r.hi - r.margin]], fmt="o", capsize=3,
                         color="C0" if r.kind == "snapshots" else "C1")
    axes[2].set_yticks(range(len(rows)), [f"{r.measure}, vs {r.kind}" for r in rows])
    axes[2].axvline(0, color="k", lw=0.8)
    axes[2].set(xlabel="independent minus within one wedge", title="margins, 95% bootstrap intervals")
    fig.tight_layout()
    return fig
