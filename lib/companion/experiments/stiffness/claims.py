"""The claims table: one function per claim, each row saying what was measured, the rule and the verdict."""

import itertools
import math

import numpy as np

from .compute import reference
from .measure import spearman
from .params import CLAIM_PAIRS


def _fmt(x, digits=3):
    return "inf" if math.isinf(x) else f"{x:.{digits}f}"


def _decreasing(values):
    v = list(values)
    return all(a > b for a, b in itertools.pairwise(v))


def c1_within_between(p, measured):
    """C1 per seed: within-class above between-class stiffness at the end, for S_cos and S_sign."""
    final = reference(measured.curves, p)
    final = final[(final.pairs == CLAIM_PAIRS) & (final.step == final.step.max())].set_index(["seed", "kind"])
    rows = []
    for s in sorted(final.index.get_level_values(0).unique()):
        c, g = final.loc[(s, "cos")], final.loc[(s, "sign")]
        rows.append({"claim": f"C1 within-class stiffness exceeds between-class (seed {s})",
                     "measured": f"S_cos {c['within']:.3f} vs {c['between']:.3f}; "
                                 f"S_sign {g['within']:.3f} vs {g['between']:.3f}",
                     "threshold": "within > between for S_cos and S_sign",
                     "holds": bool(c["within"] > c["between"] and g["within"] > g["between"])})
    return rows


def c2_trend(trend):
    """C2 per seed: between-class stiffness peaks before the lowest test loss, then falls."""
    rows = []
    for r in trend.itertuples():
        overfits = r.step_star < r.last_step and r.test_loss_end > r.test_loss_min
        rows.append({"claim": f"C2 between-class stiffness rises, then falls as overfitting starts (seed {r.seed})",
                     "measured": f"S_cos between: init {r.between_init:.3f}, peak {r.between_max:.3f} (step "
                                 f"{r.step_max}), at lowest test loss {r.between_star:.3f} (step {r.step_star}), "
                                 f"end {r.between_end:.3f}; test loss {r.test_loss_min:.3f} -> {r.test_loss_end:.3f}",
                     "threshold": "test loss rises after its minimum t*; peak before t*, above init and above t*",
                     "holds": bool(overfits and r.step_max < r.step_star and r.between_max > r.between_init
                                   and r.between_max > r.between_star)})
    return rows


def c3_critical_length(p, measured):
    """C3 per seed: a stiff core at short range, a finite xi at the end, shrinking along training."""
    rows = []
    for s, t in reference(measured.xi, p).groupby("seed"):
        t = t.sort_values("step")
        rho_t = spearman(t.step, t.xi.replace(np.inf, 1e300))
        end, start = t.iloc[-1], t.iloc[0]
        rows.append({"claim": f"C3 stiffness is highest for the closest pairs, falls to 0 at a finite xi, and xi "
                              f"shrinks with training (seed {s})",
                     "measured": f"nearest-bin S_cos {end.s_near:.3f} (largest bin: {'yes' if end.near_is_max else 'no'}); "
                                 f"xi {_fmt(start.xi)} -> {_fmt(end.xi)}; Spearman(step, xi) {rho_t:.2f}",
                     "threshold": "nearest bin largest and > 0, xi_end finite and < xi_init, rho(step, xi) < 0",
                     "holds": bool(end.near_is_max and end.s_near > 0 and math.isfinite(end.xi)
                                   and end.xi < start.xi and rho_t < 0)})
    return rows


def c4_c5_learning_rate(lr_table):
    """C4 and C5 per seed: xi strictly decreasing in the learning rate, at matched epoch and matched loss."""
    rows = []
    for s, t in lr_table.groupby("seed"):
        t = t.sort_values("lr")
        lrs = "/".join(f"{v:g}" for v in t.lr)
        rows.append({"claim": f"C4 higher learning rate, smaller xi at matched epoch (seed {s})",
                     "measured": f"xi at epoch {t.epoch.iloc[0]:g} for lr {lrs}: "
                                 + " / ".join(_fmt(v) for v in t.xi_epoch),
                     "threshold": "xi strictly decreasing in lr",
                     "holds": _decreasing(t.xi_epoch)})
        rows.append({"claim": f"C5 higher learning rate, smaller xi at matched training loss (seed {s})",
                     "measured": f"xi at train loss <= {t.loss_level.iloc[0]:.3f} for lr {lrs}: "
                                 + " / ".join(_fmt(v) for v in t.xi_loss),
                     "threshold": "xi strictly decreasing in lr",
                     "holds": _decreasing(t.xi_loss)})
    return rows


def c6_stiffer_at_small_lr(lr_table):
    """C6: within-class S_cos strictly decreasing in the learning rate, at both matchings, in every seed."""
    mean = lr_table.groupby("lr")[["within_epoch", "within_loss"]].mean().sort_index()
    per_seed = lr_table.sort_values("lr").groupby("seed")
    ok_epoch = all(_decreasing(t.within_epoch) for _, t in per_seed)
    ok_loss = all(_decreasing(t.within_loss) for _, t in per_seed)
    return [{"claim": "C6 smaller learning rate, higher stiffness at matched epoch and loss (ICLR version)",
             "measured": "mean within-class S_cos by lr " + "/".join(f"{v:g}" for v in mean.index)
                         + ": epoch " + " / ".join(f"{v:.3f}" for v in mean.within_epoch)
                         + "; loss " + " / ".join(f"{v:.3f}" for v in mean.within_loss),
             "threshold": "decreasing in lr at both, in every seed", "holds": bool(ok_epoch and ok_loss)}]


def c7_c8_structure(structure):
    """C7: alike classes stiffer (negative, significant rho in every seed); C8 with super-classes."""
    last = structure[structure.step == structure.step.max()]
    rows = [{"claim": "C7 classes that look alike are stiffer (coarse structure of the class matrix)",
             "measured": "Spearman(off-diagonal S_cos, class-mean distance) at the end, per seed: "
                         + ", ".join(f"{v:.2f} (p={q:.1g})" for v, q in zip(last.rho, last.p_value)),
             "threshold": "rho < 0 and p < 0.05 in every seed",
             "holds": bool((last.rho < 0).all() and (last.p_value < 0.05).all())}]
    if "same_group" in last:
        rows.append({"claim": "C8 stiffer within super-classes than between them",
                     "measured": "off-diagonal S_cos same vs other super-class at the end, per seed: "
                                 + ", ".join(f"{a:.3f} vs {b:.3f}" for a, b in zip(last.same_group, last.other_group)),
                     "threshold": "same > other in every seed",
                     "holds": bool((last.same_group > last.other_group).all())})
    return rows


def c9_layers(layers_summary):
    """C9: every hidden layer in every seed has its nearest bin stiffest and positive, and a finite xi."""
    end = layers_summary[layers_summary.step == layers_summary.step.max()]
    by_layer = end.groupby("layer", sort=False)
    return [{"claim": "C9 the same short-range stiffness in every hidden representation (v1)",
             "measured": "at the end, by layer: " + "; ".join(
                 f"{k} xi/median {t.xi_rel.mean():.2f}, nearest bin largest in {int(t.near_is_max.sum())}/{len(t)}"
                 for k, t in by_layer),
             "threshold": "every layer and seed: nearest bin largest and > 0, finite xi",
             "holds": bool((end.near_is_max & (end.s_near > 0) & np.isfinite(end.xi_rel)).all())}]


def claims(p, measured, trend, lr_table, structure, layers_summary):
    """The claims table rows; each threshold says what its claim means (see the notebook)."""
    return (c1_within_between(p, measured) + c2_trend(trend) + c3_critical_length(p, measured)
            + c4_c5_learning_rate(lr_table) + c6_stiffer_at_small_lr(lr_table) + c7_c8_structure(structure)
            + c9_layers(layers_summary))
