"""The explorer: sliders over the recorded trajectories (no recomputation)."""

import ipywidgets as widgets
import matplotlib.pyplot as plt

from .compute import MEASURES
from .figures import LABELS, lr_colors


def _show(table, group, measure, x, seed):
    """One seed's runs of one grid: ``measure`` against ``x``, with 2/lr dashed for lambda_max(H)."""
    t = table[(table.group == group) & (table.seed == seed)]
    hue = "batch_size" if group == "batch" else "lr"
    colors = lr_colors(t[hue].unique())
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for value, u in t.groupby(hue, sort=True):
        ax.plot(u[x], u[measure], marker="o", ms=3, color=colors[value], label=f"{hue} = {value:g}")
    if measure == "lam_H" and hue == "lr":
        for value in colors:
            ax.axhline(2 / value, color=colors[value], ls="--", lw=0.8)
    ax.set(xlabel=LABELS[x], ylabel=LABELS[measure], yscale="log", title=f"{t.model.iloc[0]}, seed {seed}")
    ax.legend(fontsize=8)
    plt.show()


def explorer(table):
    """Sliders over the recorded trajectories (no recomputation): group, measure, x axis and seed."""
    return widgets.interactive(
        lambda group, measure, x, seed: _show(table, group, measure, x, seed),
        group=widgets.Dropdown(options=[("learning rates", "lr"), ("batch sizes", "batch"), ("batch norm", "bn")],
                               value="lr", description="grid"),
        measure=widgets.Dropdown(options=list(MEASURES), value="lam_K", description="measure"),
        x=widgets.Dropdown(options=["step", "train_acc"], value="step", description="x axis"),
        seed=widgets.IntSlider(value=0, min=0, max=int(table.seed.max()), description="seed"),
    )
