"""The claims table of notebook 08; thresholds fixed from the paper's wording before any run."""

import numpy as np

# Thresholds, fixed from the paper's wording before any run (see the notebook's claims section).
OUTLIER_TOLERANCE = 1  # "exactly C directions": count within C +- 1 (diag p - p p^T has rank C - 1)
CONFINED = 0.5  # "largely confined": the majority of ||g||^2 in the top-C eigenspace
RISE, FALL = 1.5, 0.75  # "transiently explores higher curvature ... then flatter": peak >= 1.5 x start, end <= 0.75 x peak
SUCCESS = 0.9  # "training succeeds": >= 90% of the full-space test accuracy (Li et al.'s intrinsic-dimension rule)
CLUSTER_MARGIN = 0.1  # same-logit mean cosine above every other pair group's by at least this
WEAK = 0.5  # "weak logit curvature": |lambda|_max(H2) at most half of lambda_max(G)
FACTOR = 2.0  # the model's top eigenvalue within a factor 2 of the measured one
TRACKS = 0.8  # the model's signal follows lambda_max(t): Pearson r >= 0.8


def rise_then_fall(series):
    """(holds, peak position, peak / start, end / peak) of a sequence: an interior peak >= RISE x the start,
    ending <= FALL x the peak."""
    v = np.asarray(series, dtype=float)
    i = int(np.argmax(v))
    up, down = v[i] / v[0], v[-1] / v[i]
    return bool(0 < i < len(v) - 1 and up >= RISE and down <= FALL), i, up, down


def outlier_claim(counts):
    """P1: the outlier count of H within OUTLIER_TOLERANCE of C at every C."""
    h = counts[counts.matrix == "H"].set_index("C")
    g = counts[counts.matrix == "G"].set_index("C")
    ok = all(abs(h.loc[C, "outliers"] - C) <= OUTLIER_TOLERANCE for C in h.index)
    return {"claim": "P1 the Hessian has C outlier eigenvalues, C the number of classes",
            "measured": "; ".join(f"C={C}: {h.loc[C, 'outliers']} (G: {g.loc[C, 'outliers']}), "
                                  f"gap x{h.loc[C, 'gap']:.2f}" for C in h.index),
            "threshold": f"|count - C| <= {OUTLIER_TOLERANCE} for every C (largest gap in the top 2C + 1)",
            "holds": ok}


def _largely(median):
    """The rule of P2 and M4, "largely": the median fraction of ||g||^2 is at least CONFINED."""
    return {"threshold": f"median >= {CONFINED}", "holds": bool(median >= CONFINED)}


def confined_claim(later, chance):
    """P2: the median fraction of ||g||^2 in the top-C eigenspace after epoch 1 is at least CONFINED."""
    med = later.confined.median()
    return {"claim": "P2 the gradient lies largely in the top-C eigenspace",
            "measured": f"median {med:.3f} of ||g||^2 over {len(later)} checkpoints after epoch 1 "
                        f"(range {later.confined.min():.3f}-{later.confined.max():.3f}; chance C/D {chance:.4f})",
            **_largely(med)}


def transient_claim(dynamics):
    """P3: lambda_max rises to an interior peak, then falls (:func:`rise_then_fall`)."""
    holds, i, up, down = rise_then_fall(dynamics.lambda_max)
    return {"claim": "P3 lambda_max rises, then falls as training finds flatter regions",
            "measured": f"lambda_max {dynamics.lambda_max.iloc[0]:.3f} -> peak {dynamics.lambda_max.max():.3f} "
                        f"at epoch {dynamics.epoch.iloc[i]:.1f} -> {dynamics.lambda_max.iloc[-1]:.3f} "
                        f"(x{up:.2f} up, x{down:.2f} of peak at the end)",
            "threshold": f"interior peak >= {RISE} x start, end <= {FALL} x peak", "holds": holds}


def hyperplane_claim(hyper, zone_scales, full_test_acc, dim):
    """P4: every offset in the zone reaches SUCCESS x the full-space accuracy, and some offset outside does not."""
    target = SUCCESS * full_test_acc
    success = hyper.set_index("scale").test_acc >= target
    inside = [s for s in hyper.scale if s in zone_scales]
    outside = [s for s in hyper.scale if s not in zone_scales]
    ok = bool(inside) and all(success[s] for s in inside) and any(not success[s] for s in outside)
    return {"claim": f"P4 training in random d={dim} hyperplanes succeeds when they cross the zone",
            "measured": "test acc by offset scale: " + ", ".join(
                f"{r.scale:g}: {r.test_acc:.2f}" for r in hyper.itertuples())
            + f"; zone (FWHM of Tr/||H_d||) {zone_scales}; full space {full_test_acc:.2f}",
            "threshold": f"every zone offset >= {SUCCESS} x full-space accuracy ({target:.2f}), "
                         "some offset outside does not", "holds": ok}


def clustering_claim(pairs):
    """M1: the same-logit mean cosine exceeds both other-logit groups by CLUSTER_MARGIN at both stages."""
    by_stage = pairs.set_index("stage")
    margins = by_stage["same logit"] - by_stage[["other logit, same class", "other logit, other class"]].max(axis=1)
    return {"claim": "M1 logit gradients cluster by logit index c, at init and after training",
            "measured": "; ".join(
                f"{s}: same logit {by_stage.loc[s, 'same logit']:.3f} vs other logit same class "
                f"{by_stage.loc[s, 'other logit, same class']:.3f} / other class "
                f"{by_stage.loc[s, 'other logit, other class']:.3f}" for s in by_stage.index),
            "threshold": f"same-logit mean cosine exceeds both other-logit groups by >= {CLUSTER_MARGIN} at "
                         "both stages", "holds": bool((margins >= CLUSTER_MARGIN).all())}


def weak_claim(summary):
    """M2: |lambda|max(H2) at most WEAK x lambda_max(G)."""
    return {"claim": "M2 weak logit curvature: H2 is small next to G",
            "measured": f"|lambda|max(H2) {summary['H2_extreme']:.3f} vs lambda_max(G) {summary['G_max']:.3f}",
            "threshold": f"ratio <= {WEAK}", "holds": summary["H2_extreme"] <= WEAK * summary["G_max"]}


def model_outlier_claim(spectrum_counts):
    """M3: the model's outlier count within OUTLIER_TOLERANCE of H's, its lambda_1 within a factor FACTOR."""
    sc = spectrum_counts.set_index("matrix")
    ratio = sc.loc["model", "lambda_1"] / sc.loc["H", "lambda_1"]
    count_ok = abs(sc.loc["model", "outliers"] - sc.loc["H", "outliers"]) <= OUTLIER_TOLERANCE
    return {"claim": "M3 the model (cluster means + isotropic noise) predicts the outliers of H",
            "measured": f"model: {sc.loc['model', 'outliers']} outliers, lambda_1 {sc.loc['model', 'lambda_1']:.3f}; "
                        f"measured H: {sc.loc['H', 'outliers']}, {sc.loc['H', 'lambda_1']:.3f} (ratio {ratio:.2f})",
            "threshold": f"counts within {OUTLIER_TOLERANCE}, lambda_1 within a factor {FACTOR:g}",
            "holds": bool(count_ok and 1 / FACTOR <= ratio <= FACTOR)}


def span_claim(later):
    """M4: the median fraction of ||g||^2 in span{m_c} after epoch 1 is at least CONFINED (P2's rule)."""
    med = later.in_means_span.median()
    return {"claim": "M4 the model puts the gradient in the span of the C cluster means",
            "measured": f"median {med:.3f} of ||g||^2 in span(m_c) after epoch 1 (top-C eigenspace: "
                        f"{later.confined.median():.3f})",
            **_largely(med)}


def tracking_claim(dynamics):
    """M5: Pearson r between the model's signal and lambda_max along training at least TRACKS."""
    r = float(np.corrcoef(dynamics.model_signal, dynamics.lambda_max)[0, 1])
    return {"claim": "M5 the model's signal eigenvalue follows lambda_max along training",
            "measured": f"Pearson r {r:.3f} over {len(dynamics)} checkpoints; signal "
                        f"{dynamics.model_signal.iloc[0]:.3f} -> {dynamics.model_signal.max():.3f} -> "
                        f"{dynamics.model_signal.iloc[-1]:.3f}",
            "threshold": f"r >= {TRACKS}", "holds": bool(r >= TRACKS)}


def claims(p, counts, dynamics, hyper, zone_scales, full_test_acc, pairs, spectrum_counts, summary):
    """The claims table rows P1-P4 and M1-M5, in that order."""
    later = dynamics[dynamics.epoch >= 1]
    return [outlier_claim(counts), confined_claim(later, dynamics.chance.iloc[0]), transient_claim(dynamics),
            hyperplane_claim(hyper, zone_scales, full_test_acc, p.hyper_dim), clustering_claim(pairs),
            weak_claim(summary), model_outlier_claim(spectrum_counts), span_claim(later), tracking_claim(dynamics)]
