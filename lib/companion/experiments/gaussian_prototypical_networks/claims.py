"""The claims of the Gaussian prototypical networks notebook as data: ``CLAIMS`` and ``claim_values``.

Every comparison is paired over the same test episodes (or test images) and made within each training
run (same init, same training episodes). A claim holds only when the paired 95% interval lies above zero
in every run; the rule reads the run whose interval reaches lowest (its difference and half-width), so it
holds exactly when every run's interval is above zero, fails when that run's interval lies below zero,
and is undecided when it contains zero (a tie). C2 reads each run's accuracy with its 95% interval over
test episodes the same way, against a published number in place of zero. C6 reads the share of test images
whose precision sits at its floor: it holds when every run's 95% interval over the images lies below a half.

One row per setting: the ids cover the settings of the default run and of the presets (ways 5 and 20,
shots 1 and 5, down-sampled fractions 0.25, 0.5 and 0.75); a claim whose setting was not run is left out.
"""

import numpy as np
import pandas as pd

from ... import verdicts
from ...claims import Above, Below, Claim, seeds_text
from ...fewshot import paired_difference
from .compute import by_run
from .params import GAUSSIAN

# Snell et al. (2017) prototypical networks on Omniglot, test accuracy in % as that paper reports it
# (the "Paper" row of the README of Wenlin-Chen/Prototypical-Networks-for-Few-shot-Learning). Snell et al.
# follow Vinyals et al.'s split (1,200 training characters, 423 test characters, with rotations); the
# notebook's omniglot-full uses the background (964) and evaluation (659) sets, as the paper's code does.
SNELL = {(5, 1): 98.8, (5, 5): 99.7, (20, 1): 96.0, (20, 5): 98.9}

PREFERRED = ("We show that Gaussian prototypical networks are a preferred architecture over vanilla prototypical "
             "networks with an equivalent number of parameters.")
STATE_OF_THE_ART = ("We report state-of-the-art performance in 1-shot and 5-shot classification both in 5-way and "
                    "20-way regime (for 5-shot 5-way, we are comparable to previous state-of-the-art) on the "
                    "Omniglot dataset.")
DOWNSAMPLING = ("We explore artificially down-sampling a fraction of images in the training set, which improves "
                "our performance even further.")
NOISIER = ("We therefore hypothesize that Gaussian prototypical networks might perform better in less homogeneous, "
           "noisier datasets")
WEIGHTS = "using uncertainties of individual data points as weights"


def setting(way, shot):
    """The name of a test setting in value names: ``5w1s``."""
    return f"{way}w{shot}s"


def down(fraction):
    """The name of a down-sampled fraction in value names: ``75pct``."""
    return f"{round(100 * fraction)}pct"


BAND = ("The undecided band was added when the claims became data, after the committed runs: a run whose 95% "
        "interval contains zero now makes the row undecided, where it made it fail. The condition for holding (every "
        "run's interval above zero) is unchanged.")


def _paired(cid, claim, sentence, key, diff="diff", shows="", kind="paper"):
    """A claim decided by the paired interval of ``<key>_worst_<diff>`` and ``<key>_worst_half``."""
    return Claim(cid, claim, kind, Above(f"{key}_worst_{diff}", 0.0, noise=f"{key}_worst_half"), sentence=sentence,
                 shows=shows, revised=BAND)


def _c1(cid, mode, way, shot):
    key = f"c1_{mode}_{setting(way, shot)}"
    return _paired(cid, f"{mode} beats vanilla at equal parameters, {way}-way {shot}-shot", PREFERRED, key,
                   shows=f"{{{key}_acc:.1f}}% vs {{vanilla_{setting(way, shot)}_acc:.1f}}%; difference "
                         f"{{{key}_runs}} points")


SPLITS = ("Snell et al.: Vinyals et al.'s split, 1,200 training and 423 test characters; here: Omniglot's background "
          "set, 964 characters, trains and its evaluation set, 659 characters, tests")


def _c2(cid, way, shot):
    key, ref = f"c2_radius_{setting(way, shot)}", SNELL[(way, shot)]
    return Claim(cid, f"radius > Snell's {ref}% at {way}-way {shot}-shot ({SPLITS})", "paper",
                 Above(f"{key}_worst_acc", ref, noise=f"{key}_worst_half"), sentence=STATE_OF_THE_ART,
                 revised="The rule was changed after review, before any run of the full sets: it read the mean over "
                         "runs with a band of half the range of the run means (no interval); it now reads each run's "
                         "95% interval over test episodes, and holds only when every run's interval lies above the "
                         "published number.",
                 shows=f"{{{key}_runs}}% per run vs {ref}% (Snell et al. 2017, on Vinyals et al.'s split)")


def _c3(cid, mode, fraction):
    key = f"c3_{mode}_{down(fraction)}"
    return _paired(cid, f"{mode}: down-sampling {fraction:g} of the training images improves clean-test accuracy",
                   DOWNSAMPLING, key, shows=f"{{{key}_acc:.1f}}% vs {{{key}_clean_trained_acc:.1f}}%; difference "
                                            f"{{{key}_runs}} points")


def _c4(cid, mode, fraction):
    key = f"c4_{mode}_{down(fraction)}"
    return _paired(cid, f"{mode}: the gain over vanilla grows when {fraction:g} of the images are down-sampled",
                   NOISIER, key, "growth", f"gain at 0 -> at {fraction:g}: {{{key}_gains}} points; growth "
                                           f"{{{key}_runs}}")


def _c5(cid, mode, fraction):
    key = f"c5_{mode}_{down(fraction)}"
    return _paired(cid, f"{mode} (trained with {fraction:g} down-sampled): lower precision for down-sampled images",
                   WEIGHTS, key, "drop", f"precision {{{key}_clean:.2f}} clean vs {{{key}_downsampled:.2f}} at "
                                         f"{{damage_size}} px; drop {{{key}_runs}}; lower for "
                                         f"{{{key}_share_lower:.1%}} of images", "mechanism")


FLOOR_REVISED = ("Added after earlier runs had shown the precision of most test images at its floor (the section on "
                 "the floor); the threshold, a half (most images), was set then and not tuned: the two clean-trained "
                 "radius networks of the committed default run had 86.0% and 98.5% of the test images at the floor, "
                 "so any threshold below 86% gives that run the same verdict.")


def _c6(cid, mode):
    key = f"c6_{mode}"
    return Claim(cid, f"{mode} (trained clean): the precision differs between images, fewer than half of the test "
                      "images at its floor", "mechanism", Below(f"{key}_worst_share", 0.5, noise=f"{key}_worst_half"),
                 sentence=WEIGHTS, revised=FLOOR_REVISED, shows=f"share of test images at the floor per run: "
                                                                 f"{{{key}_runs}}")


CLAIMS = [
    _c1("C1a", "radius", 5, 1), _c1("C1b", "diagonal", 5, 1), _c1("C1c", "radius", 5, 5),
    _c1("C1d", "diagonal", 5, 5), _c1("C1e", "radius", 20, 1), _c1("C1f", "diagonal", 20, 1),
    _c1("C1g", "radius", 20, 5), _c1("C1h", "diagonal", 20, 5),
    _c2("C2a", 5, 1), _c2("C2b", 5, 5), _c2("C2c", 20, 1), _c2("C2d", 20, 5),
    _c3("C3a", "radius", 0.25), _c3("C3b", "radius", 0.5), _c3("C3c", "radius", 0.75),
    _c3("C3d", "diagonal", 0.25), _c3("C3e", "diagonal", 0.5), _c3("C3f", "diagonal", 0.75),
    _c4("C4a", "radius", 0.25), _c4("C4b", "radius", 0.5), _c4("C4c", "radius", 0.75),
    _c4("C4d", "diagonal", 0.25), _c4("C4e", "diagonal", 0.5), _c4("C4f", "diagonal", 0.75),
    _c5("C5a", "radius", 0.0), _c5("C5b", "radius", 0.25), _c5("C5c", "radius", 0.5), _c5("C5d", "radius", 0.75),
    _c5("C5e", "diagonal", 0.0), _c5("C5f", "diagonal", 0.25), _c5("C5g", "diagonal", 0.5),
    _c5("C5h", "diagonal", 0.75),
    _c6("C6a", "radius"), _c6("C6b", "diagonal"),
]


# ---------------------------------------------------------------- the values

def _pct(x):
    return f"{100 * x:.1f}"


def _diff(d):
    return f"{100 * d['diff']:+.1f} ± {_pct(d['half'])}"


def paired_values(key, diffs, scale=100.0, diff="diff", text=_diff):
    """``<key>_worst_<diff>`` and ``<key>_worst_half`` of the run whose paired interval reaches lowest (times
    ``scale``: percentage points for accuracies), and ``<key>_runs``, every run's interval as text."""
    worst = min(diffs, key=lambda d: d["diff"] - d["half"])
    return {f"{key}_worst_{diff}": scale * worst["diff"], f"{key}_worst_half": scale * worst["half"],
            f"{key}_runs": "; ".join(text(d) for d in diffs)}


def c1_values(mean, diffs):
    """C1: each Gaussian mode against vanilla of the same run at each (way, shot), from ``differences``."""
    values = {}
    for (mode, way, shot), d in diffs.groupby(["mode", "way", "shot"], sort=False):
        key = f"c1_{mode}_{setting(way, shot)}"
        values[f"vanilla_{setting(way, shot)}_acc"] = 100 * float(mean.loc[("vanilla", way, shot), "acc"])
        values[f"{key}_acc"] = 100 * float(mean.loc[(mode, way, shot), "acc"])
        values.update(paired_values(key, d.to_dict("records")))
    return values


def c2_values(p, table):
    """C2: the radius network's accuracy (%) and its 95% half-width over test episodes, per run, on the full
    Omniglot sets only (Snell et al.'s numbers are for Omniglot), read at the run whose interval reaches lowest."""
    if p.dataset != "omniglot-full":
        return {}
    values = {}
    for (way, shot) in SNELL:
        runs = table[(table["mode"] == "radius") & (table.way == way) & (table.shot == shot)]
        if len(runs):
            intervals = [{"diff": r.acc, "half": r.ci95} for r in runs.itertuples()]
            values.update(paired_values(f"c2_radius_{setting(way, shot)}", intervals, diff="acc",
                                        text=lambda d: f"{_pct(d['diff'])} ± {_pct(d['half'])}"))
    return values


def c3_values(mode, fraction, pe, runs):
    """C3: ``mode`` trained with ``fraction`` down-sampled against itself trained clean, on the clean test set."""
    key = f"c3_{mode}_{down(fraction)}"
    ds = [paired_difference(pe[(mode, fraction, "clean", r)], pe[(mode, 0.0, "clean", r)]) for r in runs]
    return {f"{key}_acc": 100 * float(np.mean([pe[(mode, fraction, "clean", r)].mean() for r in runs])),
            f"{key}_clean_trained_acc": 100 * float(np.mean([pe[(mode, 0.0, "clean", r)].mean() for r in runs])),
            **paired_values(key, ds)}


def c4_values(mode, fraction, pe, runs):
    """C4: the gain of ``mode`` over vanilla with ``fraction`` down-sampled (training and test) against without."""
    key = f"c4_{mode}_{down(fraction)}"
    ds, gains = [], []
    for r in runs:
        gap_f = pe[(mode, fraction, "damaged", r)] - pe[("vanilla", fraction, "damaged", r)]
        gap_0 = pe[(mode, 0.0, "clean", r)] - pe[("vanilla", 0.0, "clean", r)]
        ds.append(paired_difference(gap_f, gap_0))
        gains.append(f"{100 * gap_0.mean():+.1f} -> {100 * gap_f.mean():+.1f}")
    return {f"{key}_gains": "; ".join(gains), **paired_values(key, ds, diff="growth")}


def c5_values(drops):
    """C5: per Gaussian model, the precision drop of down-sampled test images, from ``precision_drop``."""
    values = {}
    for (mode, fraction), d in drops.groupby(["mode", "fraction"], sort=False):
        key = f"c5_{mode}_{down(fraction)}"
        runs = [{"diff": r.drop, "half": r.ci95} for r in d.itertuples()]
        values.update({f"{key}_clean": float(d["clean"].mean()), f"{key}_downsampled": float(d["downsampled"].mean()),
                       f"{key}_share_lower": float(d["share_lower"].mean()),
                       **paired_values(key, runs, 1.0, "drop", lambda r: f"{r['diff']:.3f} ± {r['half']:.3f}")})
    return values


def c6_values(floors):
    """C6: per Gaussian mode trained clean, the run whose share of test images at the floor reaches highest (its
    95% interval's upper end), from ``precision_floors``."""
    values = {}
    for mode, d in floors[floors.fraction == 0].groupby("mode", sort=False):
        key = f"c6_{mode}"
        worst = d.loc[(d.share_at_floor + d.ci95).idxmax()]
        runs = "; ".join(f"{_pct(r.share_at_floor)} ± {_pct(r.ci95)}%" for r in d.itertuples())
        values.update({f"{key}_worst_share": float(worst.share_at_floor), f"{key}_worst_half": float(worst.ci95),
                       f"{key}_runs": runs})
    return values


def claim_values(p, table, diffs, damage_per_episode, drops, floors):
    """The named numbers the claims read, from the outputs of compare, differences, damage_experiment,
    precision_drop and precision_floors; a setting that was not run has no values (its claim is left out)."""
    mean = by_run(table, ["mode", "way", "shot"]).set_index(["mode", "way", "shot"])
    values = {"damage_size": p.damage_size, **c1_values(mean, diffs), **c2_values(p, table)}
    runs = range(p.n_seeds)
    for mode in [m for m in p.damage_modes if m in GAUSSIAN]:
        for fraction in sorted(f for f in p.damage_fractions if f > 0):
            values.update(c3_values(mode, fraction, damage_per_episode, runs))
            values.update(c4_values(mode, fraction, damage_per_episode, runs))
    return {**values, **c5_values(drops), **c6_values(floors)}


# ---------------------------------------------------------------- the committed verdicts by initialisation

INIT_PRESETS = {"default": "xavier", "paper_init": "paper"}  # the preset that runs the defaults at each init


def _spread(summary, name, scale=1.0):
    v = summary["values"][name]
    return f"{scale * v['median']:.1f} [{scale * v['min']:.1f}, {scale * v['max']:.1f}]"


def init_verdicts(stem="01_gaussian_prototypical_networks"):
    """The committed multi-seed verdicts of the defaults at each encoder init (:data:`INIT_PRESETS`), side by side:
    per init, the seeds run, C6a (the radius network's worst-run share of test images at the floor, %, median
    [min, max] over seeds) and C1a (radius minus vanilla at 5-way 1-shot, worst run, points), each with its verdict.
    An init without a verdict for these claims is left out."""
    rows = []
    for preset, init in INIT_PRESETS.items():
        verdict = verdicts.load(stem, preset)
        if verdict is None or not verdicts.made_for(verdict, CLAIMS):
            continue
        by_id = {c["id"]: c for c in verdict["claims"]}
        c6, c1 = by_id["C6a"], by_id["C1a"]
        rows.append({"init": init, "seeds": len(verdict["seeds"]),
                     "share at floor (%)": _spread(c6, "c6_radius_worst_share", 100), "C6a": seeds_text(c6),
                     "radius - vanilla (points)": _spread(c1, "c1_radius_5w1s_worst_diff"), "C1a": seeds_text(c1)})
    return pd.DataFrame(rows)
