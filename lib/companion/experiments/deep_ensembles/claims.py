"""The claims table as data: ``CLAIMS`` (C1a-C7b, then C5, which tests a sentence of the first abstract only)
and ``claim_values``, the named numbers they read.

Thresholds say what each claim means: near-orthogonal is |cos| < 0.1 (84 to 96 degrees) against cos > 0.9 within
late checkpoints (in about 15,000 dimensions independent directions are near-orthogonal anyway: a sanity row);
'separate clusters' is >= 90% of checkpoints with their t-SNE nearest neighbour in their own run, undecided within
two binomial standard errors of that share over the checkpoints; a comparison at matched accuracy uses samples
within ``match_tol`` of the independent runs' accuracy range; 'low-loss' is a trained path whose training-loss
barrier is at most a fifth of the straight line's; 'not connected in prediction space' is a path midpoint that
disagrees with both ends more than any two late checkpoints of one run disagree with each other; 'deviating
significantly in the weight space' is a median distance from the run of at least half the mean distance between
independent runs, for the models of at least one method that stay in the run's mode (disagree with it less than any
two independent runs do). A comparison that cannot be made (a method with no sample at matched accuracy, or fewer
samples than runs) leaves its value None: the row is undecided.
"""

import math

from ...claims import FAILS, HOLDS, AllOf, Above, Below, Claim, Rule
from .compute import METHODS
from .connector import barrier

RANDOM_INITS = "Our results show that random initializations explore entirely different modes"
ONE_MODE = ("functions along an optimization trajectory or sampled from the subspace thereof cluster within a single "
            "mode predictions-wise")
UNMATCHED = ("we show that the decorrelation power of random initializations is unmatched by popular subspace sampling "
             "methods")
BAYES = ("Bayesian neural networks, which learn distributions over the parameters of the network, are theoretically "
         "well-motivated by Bayesian principles, but do not perform as well as deep ensembles in practice")
SHIFT = "but do not perform as well as deep ensembles in practice, particularly under dataset shift"
DIVERSE = "whereas deep ensembles tend to explore diverse modes in function space"
DEVIATING = "while often deviating significantly in the weight space"
FAR = 0.5  # C8: a median distance of at least half the mean distance between independent runs is significant
CONNECTORS = "We demonstrate that while low-loss connectors between modes exist"
NOT_CONNECTED = "they are not connected in the space of predictions"
V1_ENSEMBLES = ("Finally, we evaluate the relative effects of ensembling, subspace based methods and ensembles of "
                "subspace based methods, and the experimental results validate our hypothesis.")


def every_set(count, total):
    """Holds when the comparison wins on every one of at least one set, fails otherwise."""
    def decide(values):
        return HOLDS if values[total] and values[count] == values[total] else FAILS

    return Rule(decide, (count, total), f"{count} = {total} (every set)")


CLAIMS = [
    Claim("C1a", "independent solutions are near-orthogonal in weights, late checkpoints of one run are not",
          "sanity", AllOf(Below("cos_across_max_abs", 0.1), Above("cos_within_min", 0.9)),
          shows="max |cos| across runs {cos_across_max_abs:.3f}; min cos within late checkpoints {cos_within_min:.3f}"),
    Claim("C1b", "independent solutions disagree more than the late checkpoints of any one run",
          "paper", Above("dis_across_min", "dis_within_max"), sentence=RANDOM_INITS,
          shows="disagreement across runs: mean {dis_across_mean:.3f}, min {dis_across_min:.3f}; within late "
                "checkpoints: max {dis_within_max:.3f}"),
    Claim("C2", "t-SNE of predictions: one cluster per trajectory", "paper",
          Above("tsne_purity", 0.9, noise="tsne_purity_se2"), sentence=ONE_MODE,
          revised="The noise band (two binomial standard errors of the share) was added when the claims became "
                  "data, after the committed run had shown 0.917 against 0.9; before, any share of at least 0.9 held.",
          shows="{tsne_purity:.1%} of {tsne_checkpoints} checkpoints have their nearest neighbour in their own run "
                "(two standard errors {tsne_purity_se2:.3f})"),
    Claim("C8", "models that stay in the run's mode in predictions lie far from it in weights (some method)", "paper",
          Above("in_mode_distance_ratio_max", FAR), sentence=DEVIATING,
          shows="median distance from run 0 of the models that stay in its mode, over the mean distance between "
                "independent runs ({dist_across_mean:.3g}): {c8_methods}"),
    Claim("C3", "at matched accuracy, independent runs are more diverse than every subspace method", "paper",
          Above("diversity_independent", "diversity_subspace_max"), sentence=UNMATCHED,
          shows="d/(1-a): independent {diversity_independent:.2f} (position {position_independent:.2f}); "
                "{c3_methods}"),
    Claim("C4", "an ensemble of the independent runs beats as many subspace samples (accuracy and Brier)", "paper",
          AllOf(Above("ensemble_accuracy", "subspace_accuracy_max"), Below("ensemble_brier", "subspace_brier_min")),
          sentence=BAYES,
          shows="acc/Brier at k = {ensemble_size}: independent {ensemble_accuracy:.3f}/{ensemble_brier:.3f}; "
                "{c4_methods}"),
    Claim("C6a", "under shift, the largest ensemble of runs beats every subspace method's sample model", "paper",
          every_set("shift_sets_won", "shift_sets"), sentence=SHIFT,
          shows="{shift_ensemble_size} runs better in accuracy and Brier at {shift_sets_won} of {shift_sets} "
                "(corruption, severity) sets"),
    Claim("C6b", "under shift, independent runs are more diverse (Jensen-Shannon) than every subspace method",
          "paper", every_set("js_sets_higher", "js_sets"), sentence=DIVERSE,
          shows="higher at {js_sets_higher} of {js_sets} sets"),
    Claim("C7a", "a path with one trained bend joins two independent solutions at low loss", "paper",
          Below("connector_line_ratio", 0.2), sentence=CONNECTORS,
          shows="train-loss barrier {connector_barrier:.3f} on the path vs {line_barrier:.3f} on the straight line "
                "(test loss {connector_test_barrier:.3f} vs {line_test_barrier:.3f}; lowest test accuracy "
                "{connector_min_acc:.3f} vs {line_min_acc:.3f})"),
    Claim("C7b", "... yet it is not connected in prediction space: its midpoint disagrees with both ends", "paper",
          Above("midpoint_disagreement_min", "dis_within_max"), sentence=NOT_CONNECTED,
          shows="ends disagree on {ends_disagreement:.3f}; midpoint vs ends {midpoint_dis_a:.3f} / "
                "{midpoint_dis_b:.3f}; late checkpoints of one run at most {dis_within_max:.3f}"),
    Claim("C5", "subspace sampling adds to ensembling: runs each averaged over their samples beat the runs",
          "paper", AllOf(Above("combined_accuracy_min", "ensemble_accuracy"),
                         Below("combined_brier_max", "ensemble_brier")),
          sentence=V1_ENSEMBLES, version="v1",
          shows="acc/Brier: {ensemble_size} runs {ensemble_accuracy:.3f}/{ensemble_brier:.3f}; combined "
                "{c5_methods}"),
]


def geometry_values(geo_summary, tsne):
    """C1 and C2: cosines and disagreements within late checkpoints and across runs; t-SNE neighbours."""
    within = geo_summary[geo_summary.pairs != "independent runs"]
    across = geo_summary[geo_summary.pairs == "independent runs"].iloc[0]
    purity, n = float(tsne.same_run_neighbour.mean()), len(tsne)
    return {"cos_across_max_abs": float(max(abs(across.cos_min), abs(across.cos_max))),
            "cos_within_min": float(within.cos_min.min()), "dis_across_mean": float(across.dis_mean),
            "dis_across_min": float(across.dis_min), "dis_within_max": float(within.dis_max.max()),
            "tsne_purity": purity, "tsne_checkpoints": n, "tsne_purity_se2": 2 * math.sqrt(purity * (1 - purity) / n)}


def weight_values(geo_summary, plane):
    """C8: per method, the median distance from run 0 of its plane models that stay in run 0's mode (disagree with
    it less than any two independent runs do), over the mean distance between independent runs; the largest."""
    across = geo_summary[geo_summary.pairs == "independent runs"].iloc[0]
    in_mode = plane[plane.disagreement < across.dis_min]
    ratios, parts = [], []
    for method in ("trajectory", *METHODS):
        m = in_mode[in_mode.method == method]
        n = int((plane.method == method).sum())
        if len(m):
            ratios.append(float(m.distance.median() / across.dist_mean))
            parts.append(f"{method} {ratios[-1]:.2f} ({len(m)} of {n} in the mode)")
        else:
            parts.append(f"{method}: none of {n} in the mode")
    return {"dist_across_mean": float(across.dist_mean), "in_mode_distance_ratio_max": max(ratios, default=None),
            "c8_methods": ", ".join(parts)}


def plane_values(p, plane_sum):
    """C3: the independent runs' mean diversity and each method's at matched accuracy (None when one has none)."""
    by = plane_sum.set_index("method")
    ind = by.loc["independent"]
    parts, means = [], []
    for method in METHODS:
        r = by.loc[method]
        if r.matched == 0:
            parts.append(f"{method}: no sample within {p.match_tol}")
            means.append(None)
        else:
            parts.append(f"{method} {r.diversity_mean:.2f} (n={int(r.matched)})")
            means.append(float(r.diversity_mean))
    return {"diversity_independent": float(ind.diversity_mean), "position_independent": float(ind.position_mean),
            "diversity_subspace_max": None if None in means else max(means), "c3_methods": ", ".join(parts)}


def ensemble_values(p, curves):
    """C4 and C5 at k = n_runs: the ensemble of runs against each method's samples and each combined ensemble."""
    at_k = curves[curves["size"] == p.n_runs].set_index(["method", "kind"])
    indep = at_k.loc[("independent", "independent")]
    sub, combined = [], []
    for method in METHODS:
        s = at_k.loc[(method, "subspace")] if (method, "subspace") in at_k.index else None
        sub.append((method, s))
        combined.append((method, at_k.loc[(method, "combined")]))
    complete = all(s is not None for _, s in sub)
    return {"ensemble_size": int(p.n_runs), "ensemble_accuracy": float(indep.accuracy),
            "ensemble_brier": float(indep.brier),
            "subspace_accuracy_max": float(max(s.accuracy for _, s in sub)) if complete else None,
            "subspace_brier_min": float(min(s.brier for _, s in sub)) if complete else None,
            "c4_methods": ", ".join(f"{m}: fewer than {p.n_runs} samples" if s is None else
                                    f"{m} {s.accuracy:.3f}/{s.brier:.3f}" for m, s in sub),
            "combined_accuracy_min": float(min(c.accuracy for _, c in combined)),
            "combined_brier_max": float(max(c.brier for _, c in combined)),
            "c5_methods": ", ".join(f"{m} {c.accuracy:.3f}/{c.brier:.3f}" for m, c in combined)}


def shift_values(p, shift, js):
    """C6: on each corrupted (corruption, severity) set, the largest ensemble of runs against every subspace
    model in accuracy and Brier, and the runs' Jensen-Shannon diversity against every method's."""
    kk = max(p.shift_sizes)
    won, total = 0, 0
    for _, g in shift[shift.severity > 0].groupby(["corruption", "severity"]):
        e = g[(g.method == "independent") & (g["size"] == kk)].iloc[0]
        subs = g[(g.method != "independent") & (g["size"] == 1)]
        total += 1
        won += bool((e.accuracy > subs.accuracy).all() and (e.brier < subs.brier).all())
    js_s = js[js.severity > 0]
    higher = sum(bool(g.set_index("method").js["independent"] > g.set_index("method").js[list(METHODS)].max())
                 for _, g in js_s.groupby(["corruption", "severity"]))
    return {"shift_ensemble_size": int(kk), "shift_sets_won": int(won), "shift_sets": int(total),
            "js_sets_higher": int(higher), "js_sets": int(js_s.groupby(["corruption", "severity"]).ngroups)}


def connector_values(path):
    """C7: the trained path's barrier against the straight line's, and its midpoint's disagreement with the ends."""
    conn, line = path[path.kind == "connector"], path[path.kind == "straight line"]
    b_conn, b_line = float(barrier(conn)), float(barrier(line))
    mid = conn.iloc[(conn.t - 0.5).abs().argmin()]
    return {"connector_barrier": b_conn, "line_barrier": b_line,
            "connector_line_ratio": b_conn / b_line if b_line > 0 else None,
            "connector_test_barrier": float(barrier(conn, "test_loss")),
            "line_test_barrier": float(barrier(line, "test_loss")),
            "connector_min_acc": float(conn.test_acc.min()), "line_min_acc": float(line.test_acc.min()),
            "ends_disagreement": float(conn.dis_b.iloc[0]), "midpoint_dis_a": float(mid.dis_a),
            "midpoint_dis_b": float(mid.dis_b), "midpoint_disagreement_min": float(min(mid.dis_a, mid.dis_b))}


def claim_values(p, geo_summary, tsne, plane, plane_sum, curves, shift, js, path):
    """The named numbers every claim reads, from the notebook's tables (plain Python numbers and short texts)."""
    return {**geometry_values(geo_summary, tsne), **weight_values(geo_summary, plane), **plane_values(p, plane_sum),
            **ensemble_values(p, curves),
            **shift_values(p, shift, js), **connector_values(path)}
