"""The claims table: what each claim means, measured. "Beats" is strictly better than both baselines;
radius and stability comparisons are paired on cavities both methods found (at least MIN_PAIRS of
them) and skip a baseline that finds fewer."""

import numpy as np

from .compute import BASELINES, METHODS

MIN_PAIRS = 5  # fewest cavities found by both methods for a radius or stability comparison


def level_name(c):
    """A count level in words."""
    return f"{c:,.0f} counts"


def paired_claim(pairs, better, cnn_col, base_col, what):
    """Holds when the CNN is better than every baseline with at least MIN_PAIRS common cavities and at
    least one baseline is comparable; the text names each comparison."""
    parts, verdicts = [], []
    for r in pairs.itertuples():
        if r.pairs >= MIN_PAIRS:
            c, b = getattr(r, cnn_col), getattr(r, base_col)
            verdicts.append(better(c, b))
            parts.append(f"cnn {c:.3f} vs {r.baseline} {b:.3f} (n={r.pairs})")
        else:
            parts.append(f"{r.baseline}: {r.pairs} common {what}, too few")
    return "; ".join(parts), bool(verdicts) and all(verdicts)


def projection_claim(projection):
    """S1: the simulator's projection against the analytic profile."""
    err = projection.max_rel_err.max()
    return {"claim": "S1 the projected 3-D beta model matches its analytic profile",
            "measured": f"largest relative error {err:.1e} over {len(projection)} clusters",
            "threshold": "< 1 %", "holds": bool(err < 0.01)}


def deficit_claim(sweep):
    """C1: the deficit rises with the cavity's radius and falls with its distance."""
    r, d = sweep[sweep.vary == "radius"], sweep[sweep.vary == "distance"]
    up, down = bool(np.all(np.diff(r.deficit) > 0)), bool(np.all(np.diff(d.deficit) < 0))
    return {"claim": "C1 a cavity is a brightness deficit, deeper for larger cavities, shallower further out",
            "measured": f"deficit {r.deficit.iloc[0]:.2f} -> {r.deficit.iloc[-1]:.2f} for R "
                        f"{r.radius.iloc[0]}-{r.radius.iloc[-1]} px; {d.deficit.iloc[0]:.2f} -> "
                        f"{d.deficit.iloc[-1]:.2f} for d {d.distance.iloc[0]}-{d.distance.iloc[-1]} px",
            "threshold": "rises with R and falls with d at every step", "holds": up and down}


def level_claims(level, x, rpairs, spairs):
    """C2 (IoU), C4 (detection, radius error) and C5 (stability) at one count level; ``x`` the level's
    metrics indexed by method."""
    iou, j = x.iou, x.tpr - x.fpr
    radius_text, radius_ok = paired_claim(rpairs[rpairs.counts == level], lambda c, b: c < b, "cnn_err",
                                          "baseline_err", "cavities")
    stable_text, stable_ok = paired_claim(spairs[spairs.counts == level], lambda c, b: c < b, "cnn_scatter",
                                          "baseline_scatter", "cavities")
    paired = f"cnn lower, paired, >= {MIN_PAIRS} common cavities"
    return [
        {"claim": f"C2 pixel IoU, {level_name(level)}",
         "measured": f"cnn {iou['cnn']:.3f} vs beta-fit {iou['beta-fit']:.3f}, unsharp {iou['unsharp']:.3f}",
         "threshold": "cnn > both baselines", "holds": bool(iou["cnn"] > iou[list(BASELINES)].max())},
        {"claim": f"C4 detection TPR - FPR, {level_name(level)}",
         "measured": ", ".join(f"{k} {x.tpr[k]:.2f} - {x.fpr[k]:.2f}" for k in METHODS),
         "threshold": "cnn's TPR - FPR > both baselines'", "holds": bool(j["cnn"] > j[list(BASELINES)].max())},
        {"claim": f"C4 median radius error, {level_name(level)}", "measured": radius_text, "threshold": paired,
         "holds": radius_ok},
        {"claim": f"C5 radius scatter over Poisson draws, {level_name(level)}", "measured": stable_text,
         "threshold": paired, "holds": stable_ok},
    ]


def decoder_claim(gain):
    """C3: the decoder's radii beat sqrt(area / pi) of the same candidates at every level."""
    ok = bool(len(gain)) and bool((gain.decoder_err < gain.area_err).all())
    return {"claim": "C3 the ResNet decoder reads radii better than sqrt(area / pi)",
            "measured": "; ".join(f"{level_name(r.counts)}: {r.decoder_err:.3f} vs {r.area_err:.3f} (n={r.n})"
                                  for r in gain.itertuples()),
            "threshold": "lower median error at every level", "holds": ok}


def claims(p, projection, sweep, metrics, rpairs, spairs, gain):
    """The claims table rows: S1, C1, then C2, C4, C4, C5 per count level, then C3."""
    m = metrics.set_index(["counts", "method"])
    rows = [projection_claim(projection), deficit_claim(sweep)]
    for level in p.counts:
        rows += level_claims(level, m.loc[level], rpairs, spairs)
    return rows + [decoder_claim(gain)]
