"""The notebook's figures: a frame, the SAC trade-off, spectra and maps, flares, transients, Geant4, throughput."""

import numpy as np
import pandas as pd

from .compute import accepted
from .params import BAND, REQUIREMENT


def plot_frame(sim, p, index=None, radius=None):
    """One simulated frame: pixels (log keV), accepted events by origin, tracks, SAC circles."""
    import matplotlib.pyplot as plt

    fr, ev = sim["frames"], sim["events"]
    acc = accepted(ev, p.mipth)
    if index is None:
        counts = acc.groupby("frame").size()
        index = int(counts.idxmax()) if len(counts) else 0
    radius = p.sac_radius if radius is None else radius
    fig, ax = plt.subplots(figsize=(6.2, 5.6))
    m = (fr.frame == index) & (fr.energy > p.evtth)
    sc = ax.scatter(fr.x[m], fr.y[m], c=np.log10(fr.energy[m]), s=2, marker="s", cmap="magma_r", vmin=-1, vmax=3)
    fig.colorbar(sc, ax=ax, label="log10 pixel energy (keV)")
    colors = {"xray": "C0", "secondary": "C3", "lone": "C1"}
    for kind, c in colors.items():
        e = acc[(acc.frame == index) & (acc.kind == kind)]
        ax.scatter(e.x, e.y, s=60, facecolors="none", edgecolors=c, label=f"accepted: {kind}")
    mips = sim["rec"].mip_pixels
    mips = mips[mips.frame == index]
    for x, y in zip(mips.x, mips.y):
        ax.add_patch(plt.Circle((x, y), radius, color="0.5", alpha=0.04, lw=0))
    for x0, x1, y0, y1 in fr.quadrants:
        ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=0.5, color="0.6"))
    ax.set(xlim=(0, p.n_side), ylim=(0, p.n_side), aspect="equal", xlabel="x (px)", ylabel="y (px)",
           title=f"frame {index}: grey discs = SAC radius {radius:g} px around MIP pixels")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def plot_sac(curves):
    """C4: background removed and area x time lost against the SAC radius, and their ratio."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for i, (name, c) in enumerate(curves.items()):
        axes[0].errorbar(c.radius, c.removed, yerr=c.removed_se, marker="o", color=f"C{i}",
                         label=f"{name}: background removed b(r)")
        axes[0].plot(c.radius, c.area_lost, ls="--", color=f"C{i}", label=f"{name}: area x time lost f(r)")
        axes[1].plot(c.radius, c.residual, marker="o", color=f"C{i}", label=name)
        if "model" in c:
            axes[0].plot(c.radius, c.model, ls=":", color="k", label=r"random tracks $1-e^{-\rho(\pi r^2+2rL)}$")
        if "signal_lost" in c:
            axes[0].plot(c.radius, c.signal_lost, ls="", marker="x", color=f"C{i}", label=f"{name}: X-rays flagged")
    axes[0].set(xscale="log", xlabel="SAC radius r (px)", ylabel="fraction")
    axes[1].axhline(1, color="k", lw=0.8)
    axes[1].set(xscale="log", xlabel="SAC radius r (px)", ylabel="(1 - b) / (1 - f)",
                title="background per unit remaining exposure")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_spectra(spec, maps=None):
    """C5: particle-background spectra per unit exposure before and after flagging (and the maps)."""
    import matplotlib.pyplot as plt

    n = 1 if maps is None else 3
    fig, axes = plt.subplots(1, n, figsize=(5 * n + 2, 4), squeeze=False)
    ax = axes[0, 0]
    for i, (step, s) in enumerate(spec.groupby("step", sort=False)):
        mid = 0.5 * (s.e_lo + s.e_hi)
        ax.errorbar(mid + 0.1 * (i - 1), s.rate, yerr=s.rate_se, drawstyle="steps-mid", label=step, color=f"C{i}")
    ax.axhline(REQUIREMENT, color="k", ls=":", label="WFI requirement (2-7 keV)")
    ax.axvspan(*BAND, color="0.9", zorder=-1)
    ax.set(xlabel="energy (keV)", ylabel=r"counts cm$^{-2}$ s$^{-1}$ keV$^{-1}$", yscale="log")
    ax.legend(fontsize=8)
    if maps is not None:
        vmax = max(m.max() for m in maps)
        for a, m, t in zip(axes[0, 1:], maps, ("before SAC", "after SAC (per remaining exposure)")):
            im = a.imshow(m, origin="lower", vmin=0, vmax=vmax, cmap="viridis")
            a.set(title=f"particle background map, {t}", xlabel="cell x", ylabel="cell y")
            fig.colorbar(im, ax=a, label="counts / cell / s")
    fig.tight_layout()
    return fig


def plot_flares(p, example, flares, latency):
    """C6: a light curve with its blocks; detection rate and online latency against flare amplitude."""
    import matplotlib.pyplot as plt

    t, counts, blocks = example
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    ax = axes[0]
    ax.step(t, counts / p.lc_bin, where="mid", color="0.6", lw=0.6, label="counts/s per bin")
    idx = np.searchsorted(t, blocks)
    rates = [counts[a:b].sum() / (blocks[k + 1] - blocks[k]) for k, (a, b) in enumerate(zip(idx[:-1], idx[1:]))]
    ax.stairs(rates, blocks, color="C3", lw=2, label="Bayesian blocks")
    ax.axvspan(p.lc_duration / 2, p.lc_duration / 2 + p.flare_length, color="C1", alpha=0.2, label="flare")
    ax.set(xlabel="time (s)", ylabel="rate (counts/s)", title=f"{p.flare_amplitude:g}x flare, p0 = {p.p0:g}")
    ax.legend(fontsize=8)
    det = flares[(flares.method == "exact bin edges") & (flares.amplitude > 1)]
    axes[1].errorbar(det.amplitude, det.rate, yerr=det.rate_se, marker="o", label="offline (whole light curve)")
    axes[1].plot(latency.amplitude, latency.detected, marker="s", label="online (trailing window)")
    axes[1].set(xlabel="flare amplitude", ylabel="detection rate", ylim=(-0.05, 1.05))
    axes[1].legend(fontsize=8)
    axes[2].plot(latency.amplitude, latency.latency_median, marker="o", label="median")
    axes[2].plot(latency.amplitude, latency.latency_max, marker="v", ls="--", label="largest")
    axes[2].axhline(p.flare_length, color="k", ls=":", label="flare length")
    axes[2].set(xlabel="flare amplitude", ylabel="latency (s)", title="online detection latency")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_transients(summary, window):
    """C7: detection rate and latency of serendipitous transients against their count rate."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    axes[0].plot(summary.transient_rate, summary.detected, marker="o")
    axes[0].set(xscale="log", xlabel="transient rate (counts/s)", ylabel="detection rate", ylim=(-0.05, 1.05))
    axes[1].plot(summary.transient_rate, summary.latency_median, marker="o", label="median")
    axes[1].plot(summary.transient_rate, summary.latency_max, marker="v", ls="--", label="largest")
    axes[1].axhline(window, color="k", ls=":", label="one search window")
    axes[1].set(xscale="log", xlabel="transient rate (counts/s)", ylabel="latency (s)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_geant4(g):
    """C2: our events against the reference list: energies and the pattern confusion matrix."""
    import matplotlib.pyplot as plt

    m = g["match"][g["match"].found]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    axes[0].loglog(m.energy_ref, m.energy, ".", ms=3)
    axes[0].set(xlabel="reference event energy (keV)", ylabel="our event energy (keV)")
    conf = pd.crosstab(m.pattern_ref, m.pattern).reindex(index=range(14), columns=range(14), fill_value=0)
    im = axes[1].imshow(np.log10(1 + conf.to_numpy()), origin="lower", cmap="Blues")
    axes[1].set(xlabel="our pattern", ylabel="reference pattern", title="log10(1 + events)")
    fig.colorbar(im, ax=axes[1])
    fig.tight_layout()
    return fig


def plot_throughput(speed):
    """C8: time per frame of the per-frame path from the raw frame (best and median pass) against the frame time."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 2.6))
    labels = [f"{clock}, {stat} pass" for clock in ("CPU", "wall") for stat in ("best", "median")]
    ax.barh(labels, [speed[f"{clock}_ms_{stat}"] for clock in ("cpu", "wall") for stat in ("best", "median")],
            color=["C0", "C0", "C1", "C1"])
    ax.axvline(speed["frame_budget_ms"], color="C3", ls="--", label=f"frame time {speed['frame_budget_ms']:g} ms")
    ax.set(xlabel="ms per raw 1024 x 1024 frame (one core)", title=f"{speed['cpu']}, load {speed['load_1min']:.1f}")
    ax.legend()
    fig.tight_layout()
    return fig
