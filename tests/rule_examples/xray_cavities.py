"""Values on which each claim of 02 holds and values on which it fails (see rule_examples/__init__.py)."""

LEVELS = {"a": 1000, "b": 3000, "c": 10000, "d": 30000, "e": 100000}


def paired(what, level, beta_fit, unsharp):
    """Values of a paired rule: per baseline (CNN median, baseline median, common cavities)."""
    values = {}
    for name, (c, b, n) in (("beta_fit", beta_fit), ("unsharp", unsharp)):
        values.update({f"{what}_cnn_vs_{name}_{level}": c, f"{what}_{name}_{level}": b,
                       f"{what}_pairs_{name}_{level}": n})
    return values


def radius(level):
    # holds: lower than both; fails: the unsharp mask, with 7 common cavities, is better
    return (paired("radius_err", level, (0.25, 0.42, 10), (0.14, 0.43, 7)),
            paired("radius_err", level, (0.25, 0.42, 10), (0.50, 0.43, 7)))


def stability(level):
    # holds: steadier than the beta-model residual, the unsharp mask has too few common cavities to compare;
    # fails: the beta-model residual is steadier (as in the default run)
    return (paired("scatter", level, (0.05, 0.09, 13), (0.30, 0.06, 4)),
            paired("scatter", level, (0.16, 0.09, 6), (0.11, 0.06, 5)))


EXAMPLES = {
    "S1": ({"projection_max_rel_err": 9.1e-6}, {"projection_max_rel_err": 0.03}),
    "C1": ({"deficit_smallest_step_with_radius": 0.04, "deficit_largest_step_with_distance": -0.02},
           {"deficit_smallest_step_with_radius": 0.04, "deficit_largest_step_with_distance": 0.01}),
    **{f"C2{x}": ({f"iou_cnn_{n}": 0.35, f"iou_best_baseline_{n}": 0.09},
                  {f"iou_cnn_{n}": 0.08, f"iou_best_baseline_{n}": 0.09}) for x, n in LEVELS.items()},
    "C3": ({"decoder_minus_area_err_max": -0.06}, {"decoder_minus_area_err_max": 0.02}),
    **{f"C4{x}": ({f"detection_cnn_{n}": 0.55, f"detection_best_baseline_{n}": 0.30},
                  {f"detection_cnn_{n}": 0.16, f"detection_best_baseline_{n}": 0.22}) for x, n in LEVELS.items()},
    **{f"C4{x}": radius(n) for x, n in zip("fghij", LEVELS.values())},
    **{f"C5{x}": stability(n) for x, n in LEVELS.items()},
}
