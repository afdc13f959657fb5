"""The figures of the Gaussian prototypical networks notebook (matplotlib is imported when one is drawn)."""

import numpy as np

from .compute import by_run

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
