"""The Goldilocks claims table: one function per claim, each threshold saying what its claim means.

A peak must stand more than 2 standard errors over seeds above both ends of the radius sweep; the
shell (zone) is the full width at half maximum of Tr/||H|| above the larger end
(:func:`companion.landscape.zone.half_maximum_zone`); statistical tests need p < 0.05.
"""

import numpy as np

from ...landscape.zone import half_maximum_level

PEAK = "interior peak above both ends by > 2 s.e."


def interior_peak(summary, column):
    """Whether ``column`` peaks strictly inside the scale range, above both ends by more than 2 s.e."""
    s = summary.sort_values("scale").reset_index(drop=True)
    i = int(s[column].idxmax())
    if i in (0, len(s) - 1):
        return False, s.loc[i, "scale"]
    peak, se = s.loc[i, column], s.loc[i, f"{column}_se"]
    ends = [(s.loc[j, column], s.loc[j, f"{column}_se"]) for j in (0, len(s) - 1)]
    return all(peak - v > 2 * np.hypot(se, e) for v, e in ends), s.loc[i, "scale"]


def _peak(summary, column):
    """(significant interior peak?, 'measured' text) for one activation's summary."""
    holds, at = interior_peak(summary, column)
    s = summary.sort_values("scale")
    return holds, (f"peak {s[column].max():.2f} at scale {at:g}, "
                   f"ends {s[column].iloc[0]:.2f} / {s[column].iloc[-1]:.2f}")


def relu_claims(relu, shell):
    """C1-C3 from the relu summary and its shell's scales."""
    pos_ok, pos_text = _peak(relu, "frac_pos")
    gamma_ok, gamma_text = _peak(relu, "gamma")
    at_one = relu.set_index("scale").gamma[1.0]
    return [
        {"claim": "C1 excess of positive eigenvalues peaks in a shell of radii (relu)",
         "measured": f"fraction positive: {pos_text}", "threshold": PEAK, "holds": pos_ok},
        {"claim": "C2 Tr(H)/||H|| peaks in a shell of radii (relu)",
         "measured": f"Tr/||H||/sqrt(d): {gamma_text}; shell {shell}", "threshold": PEAK, "holds": gamma_ok},
        {"claim": "C3 the standard init (scale 1) lies in the zone (relu)",
         "measured": f"Tr/||H||/sqrt(d) at scale 1: {at_one:.3f}, half-maximum level "
                     f"{half_maximum_level(relu):.3f}; shell scales {shell}",
         "threshold": "1.0 in the shell", "holds": 1.0 in shell},
    ]


def tanh_claim(tanh):
    """C4: both peaks of C1 and C2 with tanh."""
    pos_ok, pos_text = _peak(tanh, "frac_pos")
    gamma_ok, gamma_text = _peak(tanh, "gamma")
    return {"claim": "C4 the same shell appears with tanh",
            "measured": f"fraction positive: {pos_text}; Tr/||H||/sqrt(d): {gamma_text}",
            "threshold": "C1 and C2 both hold for tanh", "holds": pos_ok and gamma_ok}


def hyperplane_claim(hyper, shell, activation):
    """C5: at every hyperplane dimension d the offset scale with the best mean test accuracy lies in the shell."""
    mean = hyper.groupby(["dim", "scale"], as_index=False).test_acc.mean()
    best = mean.loc[mean.groupby("dim").test_acc.idxmax()]
    return {"claim": f"C5 hyperplane training does best from offsets in the zone ({activation})",
            "measured": "best scale by d: " + ", ".join(
                f"d={r.dim}: {r.scale:g} ({r.test_acc:.2f})" for r in best.itertuples()) + f"; shell {shell}",
            "threshold": "at every d the best scale is in the shell",
            "holds": bool(shell) and bool(best.scale.isin(shell).all())}


def correlation_claim(correlation, n_inits):
    """C6: lower initial loss goes with a larger fraction of positive eigenvalues (Spearman, p < 0.05)."""
    rho, pval = correlation
    return {"claim": "C6 lower initial loss goes with more positive curvature (scale 1)",
            "measured": f"Spearman(loss, fraction positive) = {rho:.2f}, p = {pval:.2g}, {n_inits} inits",
            "threshold": "rho < 0 and p < 0.05", "holds": rho < 0 and pval < 0.05}


def selection_claims(selection, p):
    """C7, one row per rule: its pick trains in fewer steps than a random pick (one-sided Wilcoxon p < 0.05)."""
    return [{"claim": f"C7 picking by {r.rule} trains faster than a random pick",
             "measured": f"{r.picked_steps:.1f} vs {r.random_steps:.1f} steps, p = {r.p_value:.2g}, "
                         f"{p.n_groups} groups of {p.group_size}",
             "threshold": "fewer steps, one-sided Wilcoxon p < 0.05",
             "holds": r.picked_steps < r.random_steps and r.p_value < 0.05} for r in selection.itertuples()]


def claims(p, summary, zones, hyper, correlation, selection):
    """The claims table rows: C1-C3 need relu among the activations, C4 tanh, C7 a selection (n_groups > 0)."""
    by_act = {a: summary[summary.activation == a] for a in p.activations}
    rows = relu_claims(by_act["relu"], zones["relu"]) if "relu" in by_act else []
    if "tanh" in by_act:
        rows.append(tanh_claim(by_act["tanh"]))
    rows.append(hyperplane_claim(hyper, zones[p.activations[0]], p.activations[0]))
    rows.append(correlation_claim(correlation, p.n_inits))
    if selection is not None:
        rows += selection_claims(selection, p)
    return rows
