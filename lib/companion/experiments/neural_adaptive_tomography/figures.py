"""The figures of notebook 05: infidelity against n, processing time against n, and the adaptivity ratios."""

import numpy as np
import pandas as pd

from .params import METHODS
from .timing import seconds_at

COLORS = {"bayes": "C0", "neural": "C1", "recurrent": "C4", "per-copy": "C2"}
STYLE = {(method, adaptive): (COLORS[method], "-" if adaptive else "--") for method in METHODS
         for adaptive in (False, True)}  # (method, adaptive) -> colour, line style


def plot_infidelity(summary):
    """Median infidelity (quartiles shaded) against n, one panel per (qubits, POVM), as the paper's accuracy plots."""
    import matplotlib.pyplot as plt

    panels = summary[["qubits", "povm"]].drop_duplicates().values.tolist()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.4), squeeze=False, sharey=False)
    for ax, (q, kind) in zip(axes[0], panels):
        t = summary[(summary.qubits == q) & (summary.povm == kind)]
        for (method, adaptive), g in t.groupby(["method", "adaptive"]):
            color, ls = STYLE[(method, adaptive)]
            g = g.sort_values("n")
            ax.plot(g.n, g["median"], color=color, ls=ls, marker=".",
                    label=f"{method}, {'adaptive' if adaptive else 'fixed'}")
            ax.fill_between(g.n, g.q25, g.q75, color=color, alpha=0.08 if ls == "--" else 0.15)
        n = np.array([t.n.min(), t.n.max()], float)
        ax.plot(n, 0.5 * (n / n[0]) ** -0.5 * t["median"].max(), color="grey", lw=0.7, ls="-.", label=r"$n^{-1/2}$")
        ax.plot(n, 0.5 * (n / n[0]) ** -1.0 * t["median"].max(), color="grey", lw=0.7, ls=":", label=r"$n^{-1}$")
        ax.set(xscale="log", yscale="log", xlabel="copies n", title=f"{q} qubit{'s' if q > 1 else ''}, {kind}")
    axes[0][0].set_ylabel("median infidelity 1 - F")
    max(axes[0], key=lambda ax: len(ax.get_lines())).legend(fontsize=7, loc="lower left")  # the panel with every filter
    fig.tight_layout()
    return fig


def plot_timing(tim, fits, speed):
    """Processing time against n for every filter (log-log): measured medians as points, the extrapolation
    to ``n_big`` dashed (per-copy: its fitted power law, shaded over the slope's 95% interval; batched filters:
    a + b log2 n)."""
    import matplotlib.pyplot as plt

    qs = sorted(tim.qubits.unique())
    fig, axes = plt.subplots(1, len(qs), figsize=(5 * len(qs), 3.6), squeeze=False)
    for ax, q in zip(axes[0], qs):
        big = float(speed[speed.qubits == q].n_big.iloc[0])
        for method, g in tim[tim.qubits == q].groupby("method"):
            g = g.groupby("n").seconds.median()
            ax.plot(g.index, g.values, "o-", ms=3, lw=0.8, color=COLORS[method], label=f"{method} (measured)")
            ext = np.logspace(np.log10(g.index.max()), np.log10(big), 20)
            ax.plot(ext, [seconds_at(fits, q, method, n) for n in ext], color=COLORS[method], lw=0.8, ls="--")
            if method == "per-copy":
                ax.fill_between(ext, [seconds_at(fits, q, method, n, -1) for n in ext],
                                [seconds_at(fits, q, method, n, 1) for n in ext], color=COLORS[method], alpha=0.15,
                                label="per-copy, extrapolated (95%)")
        ax.set(xscale="log", yscale="log", xlabel="copies n", ylabel="processing time (s)",
               title=f"{q} qubit{'s' if q > 1 else ''}: adaptive basis measurements")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_adaptivity(adapt, mixed_adapt=None):
    """Non-adaptive / adaptive infidelity at the largest n per POVM, filter and qubit count (bars, log scale)."""
    import matplotlib.pyplot as plt

    t = adapt.assign(label=adapt.povm + ", " + adapt.qubits.astype(str) + "q")
    if mixed_adapt is not None:
        t = pd.concat([t, mixed_adapt.assign(label="pauli, " + mixed_adapt.qubits.astype(str) + "q, full rank")])
    labels = list(dict.fromkeys(t.label))
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(labels), 3.4))
    methods = [m for m in METHODS if m in set(t.method)]
    width = 0.8 / len(methods)
    for i, method in enumerate(methods):
        g = t[t.method == method].set_index("label").reindex(labels)
        ax.bar(np.arange(len(labels)) + (i - (len(methods) - 1) / 2) * width, g.ratio, width=width, label=method,
               color=COLORS[method])
    ax.axhline(2, color="k", lw=0.8, ls="--")
    ax.set(yscale="log", xticks=np.arange(len(labels)), ylabel="non-adaptive / adaptive infidelity")
    ax.set_xticklabels(labels, rotation=20, fontsize=8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_networks(summary):
    """Each network's median infidelity over the Bayes filter's against n, one panel per qubit count and one line
    per POVM and fixed/adaptive: the journal version's recurrent update beside the arXiv version's resampler."""
    import matplotlib.pyplot as plt

    t = summary.pivot_table(index=["qubits", "povm", "adaptive", "n"], columns="method", values="median")
    qs = sorted(summary.qubits.unique())
    fig, axes = plt.subplots(1, len(qs), figsize=(4.8 * len(qs), 3.4), squeeze=False)
    markers = {"pauli": "o", "mub": "s", "sic": "^"}
    for ax, q in zip(axes[0], qs):
        ratios = t.loc[q].drop(columns="bayes").div(t.loc[q]["bayes"], axis=0)
        for method in [m for m in METHODS if m in ratios and ratios[m].notna().any()]:
            for (kind, adaptive), g in ratios[method].groupby(level=["povm", "adaptive"]):
                color, ls = STYLE[(method, adaptive)]
                g = g.droplevel(["povm", "adaptive"])
                ax.plot(g.index, g.values, color=color, ls=ls, marker=markers[kind], ms=3,
                        label=f"{method}, {kind}, {'adaptive' if adaptive else 'fixed'}")
        ax.axhline(1.0, color="grey", lw=0.7)
        ax.set(xscale="log", yscale="log", xlabel="copies n", ylabel="median infidelity / Bayes filter's",
               title=f"{q} qubit{'s' if q > 1 else ''}")
        ax.legend(fontsize=6, ncol=2, loc="upper left")
    fig.tight_layout()
    return fig
