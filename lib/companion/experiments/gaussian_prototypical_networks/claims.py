"""The claims table rows of the Gaussian prototypical networks notebook; thresholds fixed before any run.

Every comparison is paired over the same test episodes (or test images) and made within each training
run (same init, same training episodes); a claim holds only when it holds in every run.
"""

import numpy as np

from ...fewshot import paired_difference
from .compute import by_run
from .params import GAUSSIAN

# Snell et al. (2017) prototypical networks on Omniglot, test accuracy in % as that paper reports it
# (the "Paper" row of the README of Wenlin-Chen/Prototypical-Networks-for-Few-shot-Learning).
SNELL = {(5, 1): 98.8, (5, 5): 99.7, (20, 1): 96.0, (20, 5): 98.9}
BEATS = "in every training run, the paired 95% CI of the per-episode difference lies above 0"


def _pct(x):
    return f"{100 * x:.1f}"


def _runs(values, fmt):
    return "; ".join(fmt(v) for v in values)


def _diff(d):
    return f"{100 * d['diff']:+.1f} ± {_pct(d['half'])}"


def c1_beats_vanilla(mean, diffs):
    """C1: each Gaussian mode against vanilla at each (way, shot)."""
    rows = []
    for (mode, way, shot), d in diffs.groupby(["mode", "way", "shot"], sort=False):
        rows.append({"claim": f"C1 {mode} beats vanilla at equal parameters, {way}-way {shot}-shot",
                     "measured": f"{_pct(mean.loc[(mode, way, shot), 'acc'])}% vs "
                                 f"{_pct(mean.loc[('vanilla', way, shot), 'acc'])}%; difference "
                                 + _runs(d.to_dict("records"), _diff) + " points",
                     "threshold": BEATS, "holds": bool((d.verdict == "higher").all())})
    return rows


def c2_state_of_the_art(p, mean):
    """C2: the radius network against Snell et al.'s reported accuracy, on the full Omniglot sets only."""
    if p.dataset != "omniglot-full":
        return []
    rows = []
    for (way, shot), ref in SNELL.items():
        if ("radius", way, shot) in mean.index:
            acc = mean.loc[("radius", way, shot), "acc"]
            rows.append({"claim": f"C2 radius at or above the earlier state of the art, {way}-way {shot}-shot",
                         "measured": f"{_pct(acc)}% vs {ref}% (Snell et al. 2017)",
                         "threshold": "mean accuracy >= the reported one", "holds": bool(100 * acc >= ref)})
    return rows


def c3_damage_helps(mode, fraction, pe, runs):
    """C3: ``mode`` trained with ``fraction`` down-sampled against itself trained clean, on the clean test set."""
    ds = [paired_difference(pe[(mode, fraction, "clean", r)], pe[(mode, 0.0, "clean", r)]) for r in runs]
    return {"claim": f"C3 {mode}: down-sampling {fraction:g} of the training images improves clean-test accuracy",
            "measured": f"{_pct(np.mean([pe[(mode, fraction, 'clean', r)].mean() for r in runs]))}% vs "
                        f"{_pct(np.mean([pe[(mode, 0.0, 'clean', r)].mean() for r in runs]))}%; difference "
                        + _runs(ds, _diff) + " points",
            "threshold": BEATS, "holds": all(d["verdict"] == "higher" for d in ds)}


def c4_gain_grows(mode, fraction, pe, runs):
    """C4: the gain of ``mode`` over vanilla with ``fraction`` down-sampled (training and test) against without."""
    ds, gains = [], []
    for r in runs:
        gap_f = pe[(mode, fraction, "damaged", r)] - pe[("vanilla", fraction, "damaged", r)]
        gap_0 = pe[(mode, 0.0, "clean", r)] - pe[("vanilla", 0.0, "clean", r)]
        ds.append(paired_difference(gap_f, gap_0))
        gains.append((gap_f.mean(), gap_0.mean()))
    return {"claim": f"C4 {mode}: the gain over vanilla grows when {fraction:g} of the images are down-sampled",
            "measured": f"gain at 0 -> at {fraction:g}: "
                        + _runs(gains, lambda g: f"{100 * g[1]:+.1f} -> {100 * g[0]:+.1f}")
                        + " points; growth " + _runs(ds, _diff),
            "threshold": "in every training run, the paired 95% CI of the growth lies above 0",
            "holds": all(d["verdict"] == "higher" for d in ds)}


def c5_lower_precision(p, drops):
    """C5: each Gaussian model gives down-sampled test images a lower precision than the same images clean."""
    rows = []
    for (mode, fraction), d in drops.groupby(["mode", "fraction"], sort=False):
        rows.append({"claim": f"C5 {mode} (trained with {fraction:g} down-sampled): lower precision for "
                              f"down-sampled images",
                     "measured": f"precision {d['clean'].mean():.2f} clean vs {d['downsampled'].mean():.2f} at "
                                 f"{p.damage_size} px; drop "
                                 + _runs(d.itertuples(), lambda r: f"{r.drop:.3f} ± {r.ci95:.3f}")
                                 + f"; lower for {_pct(d['share_lower'].mean())}% of images",
                     "threshold": "in every training run, the paired 95% CI of the drop lies above 0",
                     "holds": bool((d["drop"] - d["ci95"] > 0).all())})
    return rows


def claims(p, table, diffs, damage_per_episode, drops):
    """The claims table rows, C1 to C5, from the outputs of compare, differences, damage_experiment and
    precision_drop."""
    mean = by_run(table, ["mode", "way", "shot"]).set_index(["mode", "way", "shot"])
    rows = c1_beats_vanilla(mean, diffs) + c2_state_of_the_art(p, mean)
    fractions = sorted(f for f in p.damage_fractions if f > 0)
    runs = range(p.n_seeds)
    for mode in [m for m in p.damage_modes if m in GAUSSIAN]:
        rows += [c3_damage_helps(mode, f, damage_per_episode, runs) for f in fractions]
        rows += [c4_gain_grows(mode, f, damage_per_episode, runs) for f in fractions]
    return rows + c5_lower_precision(p, drops)
