"""The claims table: trends along the grids (C1-C4, C6) and the cap of the curvature by the learning rate (C5).

A trend claim holds when the mean over seeds strictly moves the claimed way from each grid
point to the next (no tolerance: with two seeds a tie counts against the claim). The cap
claim holds when the peak of lambda_max(H) scales like 1/lr: a log-log slope within
[-1.5, -0.5]. Measured values list the mean and, in brackets, each seed.
"""

import numpy as np

from .compute import cap_slope

TREND = {-1: "seed means strictly decrease along the grid", 1: "seed means strictly increase along the grid"}
SLOPE_BAND = (-1.5, -0.5)


def _grid_text(runs, x, column, fmt=".3g"):
    """'x=a: mean [seed values]; ...' for one column along a grid."""
    parts = []
    for value, t in runs.sort_values([x, "seed"]).groupby(x, sort=True):
        seeds = ", ".join(format(v, fmt) for v in t[column])
        parts.append(f"{x}={value:g}: {t[column].mean():{fmt}} [{seeds}]")
    return "; ".join(parts)


def monotone(runs, x, column, direction):
    """Whether the seed means of ``column`` strictly decrease (direction -1) or increase (+1) along ``x``.

    A run without a value (one that never reached the target accuracy, or diverged) counts against the claim.
    """
    if runs[column].isna().any():
        return False
    means = runs.groupby(x, sort=True)[column].mean().to_numpy()
    if len(means) < 2:
        return False
    steps = np.diff(means)
    return bool(np.all(steps < 0) if direction < 0 else np.all(steps > 0))


def _trends(p):
    """The trend claims in table order: (claim, group, grid column, measured column, direction)."""
    fixed_b, fixed_lr = f"B={p.batch_size}", f"lr={p.lr_batch:g}"
    target = f"first step with train acc >= {p.target_acc:g}"
    return [
        (f"C1 max lambda_max(H) decreases with lr ({fixed_b})", "lr", "lr", "max_lam_H", -1),
        (f"C1 max lambda_max(K) decreases with lr ({fixed_b})", "lr", "lr", "max_lam_K", -1),
        (f"C2 max lambda_max(H) increases with batch size ({fixed_lr})", "batch", "batch_size", "max_lam_H", 1),
        (f"C2 max lambda_max(K) increases with batch size ({fixed_lr})", "batch", "batch_size", "max_lam_K", 1),
        (f"C3 max inverse condition number of K increases with lr ({fixed_b})", "lr", "lr", "max_inv_cond_K", 1),
        (f"C3 max inverse condition number of K decreases with batch size ({fixed_lr})", "batch", "batch_size",
         "max_inv_cond_K", -1),
        (f"C4 at matched progress ({target}) lambda_max(H) decreases with lr", "lr", "lr", "lam_H_at_target", -1),
        (f"C4 at matched progress ({target}) lambda_max(K) decreases with lr", "lr", "lr", "lam_K_at_target", -1),
        (f"C4 at matched progress ({target}) inverse condition number of K increases with lr", "lr", "lr",
         "inv_cond_K_at_target", 1),
        (f"C6 with batch norm, max lambda_max(H) is larger at the lower lr ({fixed_b})", "bn", "lr", "max_lam_H", -1),
        (f"C6 with batch norm, max inverse condition number of K is smaller at the lower lr ({fixed_b})", "bn", "lr",
         "max_inv_cond_K", 1),
    ]


def _trend(runs, claim, group, x, column, direction):
    table = runs[runs.group == group]
    return {"claim": claim, "measured": _grid_text(table, x, column), "threshold": TREND[direction],
            "holds": monotone(table, x, column, direction)}


def _cap(runs):
    """C5: the log-log slope of the peak lambda_max(H) against lr, and lr * peak / 2 per grid point."""
    lr = runs[runs.group == "lr"]
    slope = cap_slope(runs)
    return {"claim": "C5 the curvature is capped by the learning rate: peak lambda_max(H) scales like 2/lr",
            "measured": f"log-log slope {slope:.2f}; lr * peak / 2: " + _grid_text(
                lr.assign(ratio=lr.max_lr_lam_H / 2), "lr", "ratio", ".2f"),
            "threshold": f"slope in [{SLOPE_BAND[0]}, {SLOPE_BAND[1]}] (1/lr scaling: -1)",
            "holds": SLOPE_BAND[0] <= slope <= SLOPE_BAND[1]}


def claims(p, runs):
    """The claims table rows from :func:`~.compute.per_run`'s table: C1-C4, then C5, then C6."""
    rows = [_trend(runs, *spec) for spec in _trends(p)]
    return rows[:9] + [_cap(runs)] + rows[9:]
