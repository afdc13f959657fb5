"""The claims table, one function per claim (C1-C7).

Thresholds say what each claim means: near-orthogonal is |cos| < 0.1 (84 to 96 degrees) against
cos > 0.9 within late checkpoints; 'separate clusters' is >= 90% of checkpoints with their t-SNE
nearest neighbour in their own run; a comparison at matched accuracy uses samples within
``match_tol`` of the independent runs' accuracy range; 'low-loss' is a trained path whose
training-loss barrier is at most a fifth of the straight line's; 'not connected in prediction
space' is a path midpoint that disagrees with both ends more than any two late checkpoints of one
run disagree with each other.
"""

from .compute import METHODS
from .connector import barrier


def _split(geo_summary):
    """(rows of the late checkpoints within each run, the row of the independent runs)."""
    within = geo_summary[geo_summary.pairs != "independent runs"]
    return within, geo_summary[geo_summary.pairs == "independent runs"].iloc[0]


def _c1_orthogonal(geo_summary):
    within, across = _split(geo_summary)
    cos_ind = max(abs(across.cos_min), abs(across.cos_max))
    return {"claim": "C1 independent solutions are near-orthogonal in weights, late checkpoints of one run not",
            "measured": f"max |cos| across runs {cos_ind:.3f}; "
                        f"min cos within late checkpoints {within.cos_min.min():.3f}",
            "threshold": "|cos| < 0.1 across, cos > 0.9 within",
            "holds": bool(cos_ind < 0.1 and within.cos_min.min() > 0.9)}


def _c1_disagree(geo_summary):
    within, across = _split(geo_summary)
    return {"claim": "C1 independent solutions disagree more than late checkpoints of any one run",
            "measured": f"disagreement across runs: mean {across.dis_mean:.3f}, min {across.dis_min:.3f}; "
                        f"within late checkpoints: max {within.dis_max.max():.3f}",
            "threshold": "min across > max within", "holds": bool(across.dis_min > within.dis_max.max())}


def _c2_tsne(tsne):
    purity = tsne.same_run_neighbour.mean()
    return {"claim": "C2 t-SNE of predictions: one cluster per trajectory",
            "measured": f"{purity:.0%} of {len(tsne)} checkpoints have their nearest neighbour in their own run",
            "threshold": ">= 90%", "holds": bool(purity >= 0.9)}


def _c3_plane(p, plane_sum):
    by = plane_sum.set_index("method")
    ind = by.loc["independent"]
    parts, ok = [], True
    for method in METHODS:
        r = by.loc[method]
        if r.matched == 0:
            parts.append(f"{method}: no sample within {p.match_tol}")
            ok = False
        else:
            parts.append(f"{method} {r.diversity_mean:.2f} (n={int(r.matched)})")
            ok = ok and ind.diversity_mean > r.diversity_mean
    return {"claim": "C3 at matched accuracy, independent runs are more diverse than every subspace method",
            "measured": f"d/(1-a): independent {ind.diversity_mean:.2f} (position {ind.position_mean:.2f}); "
                        + ", ".join(parts),
            "threshold": f"independent mean > each method's mean, accuracy within {p.match_tol} of the runs'",
            "holds": bool(ok)}


def _at_n_runs(p, curves):
    """(k = n_runs, the ensemble curves at size k indexed by (method, kind), the row of k independent runs)."""
    at_k = curves[curves["size"] == p.n_runs].set_index(["method", "kind"])
    return p.n_runs, at_k, at_k.loc[("independent", "independent")]


def _c4_ensembles(p, curves):
    k, at_k, indep = _at_n_runs(p, curves)
    parts, ok = [], True
    for method in METHODS:
        if (method, "subspace") not in at_k.index:
            parts.append(f"{method}: fewer than {k} samples")
            ok = False
            continue
        s = at_k.loc[(method, "subspace")]
        parts.append(f"{method} {s.accuracy:.3f}/{s.brier:.3f}")
        ok = ok and indep.accuracy > s.accuracy and indep.brier < s.brier
    return {"claim": f"C4 an ensemble of {k} independent runs beats {k} subspace samples (accuracy and Brier)",
            "measured": f"acc/Brier: independent {indep.accuracy:.3f}/{indep.brier:.3f}; " + ", ".join(parts),
            "threshold": "higher accuracy and lower Brier than every method", "holds": bool(ok)}


def _c5_combined(p, curves):
    k, at_k, indep = _at_n_runs(p, curves)
    parts, ok = [], True
    for method in METHODS:
        c = at_k.loc[(method, "combined")]
        parts.append(f"{method} {c.accuracy:.3f}/{c.brier:.3f}")
        ok = ok and c.accuracy > indep.accuracy and c.brier < indep.brier
    return {"claim": f"C5 subspace sampling adds to ensembling: {k} runs, each averaged over its samples, "
                     f"beat {k} runs",
            "measured": f"acc/Brier: {k} runs {indep.accuracy:.3f}/{indep.brier:.3f}; combined " + ", ".join(parts),
            "threshold": "higher accuracy and lower Brier for every method", "holds": bool(ok)}


def _c6_shift(p, shift):
    kk = max(p.shift_sizes)
    wins, total = 0, 0
    for _, g in shift[shift.severity > 0].groupby(["corruption", "severity"]):
        e = g[(g.method == "independent") & (g["size"] == kk)].iloc[0]
        subs = g[(g.method != "independent") & (g["size"] == 1)]
        total += 1
        wins += bool((e.accuracy > subs.accuracy).all() and (e.brier < subs.brier).all())
    return {"claim": f"C6 under shift, {kk} independent runs beat every subspace method's {p.n_samples}-sample model",
            "measured": f"better in accuracy and Brier at {wins} of {total} (corruption, severity) sets",
            "threshold": "all sets", "holds": bool(total and wins == total)}


def _c6_diversity(js):
    js_s = js[js.severity > 0]
    js_wins = sum(bool(g.set_index("method").js["independent"] > g.set_index("method").js[list(METHODS)].max())
                  for _, g in js_s.groupby(["corruption", "severity"]))
    n_sets = js_s.groupby(["corruption", "severity"]).ngroups
    return {"claim": "C6 under shift, independent runs are more diverse (Jensen-Shannon) than every subspace method",
            "measured": f"higher at {js_wins} of {n_sets} sets",
            "threshold": "all sets", "holds": bool(n_sets and js_wins == n_sets)}


def _c7_low_loss(path):
    conn, line = path[path.kind == "connector"], path[path.kind == "straight line"]
    b_conn, b_line = barrier(conn), barrier(line)
    return {"claim": "C7 a path with one trained bend joins two independent solutions at low loss",
            "measured": f"train-loss barrier {b_conn:.3f} on the path vs {b_line:.3f} on the straight line "
                        f"(test loss {barrier(conn, 'test_loss'):.3f} vs {barrier(line, 'test_loss'):.3f}; "
                        f"lowest test accuracy {conn.test_acc.min():.3f} vs {line.test_acc.min():.3f})",
            "threshold": "barrier <= 0.2 x the straight line's", "holds": bool(b_conn <= 0.2 * b_line)}


def _c7_not_connected(path, geo_summary):
    conn = path[path.kind == "connector"]
    mid = conn.iloc[(conn.t - 0.5).abs().argmin()]
    within_max = _split(geo_summary)[0].dis_max.max()
    return {"claim": "C7 ... yet it is not connected in prediction space: its ends disagree",
            "measured": f"ends disagree on {conn.dis_b.iloc[0]:.3f}; midpoint vs ends {mid.dis_a:.3f} / "
                        f"{mid.dis_b:.3f}; late checkpoints of one run at most {within_max:.3f}",
            "threshold": "midpoint disagrees with both ends more than within-run",
            "holds": bool(min(mid.dis_a, mid.dis_b) > within_max)}


def claims(p, geo_summary, tsne, plane_sum, curves, shift, js, path):
    """The claims table rows, C1 to C7, from the notebook's tables (see the module docstring for the thresholds)."""
    return [_c1_orthogonal(geo_summary), _c1_disagree(geo_summary), _c2_tsne(tsne), _c3_plane(p, plane_sum),
            _c4_ensembles(p, curves), _c5_combined(p, curves), _c6_shift(p, shift), _c6_diversity(js),
            _c7_low_loss(path), _c7_not_connected(path, geo_summary)]
