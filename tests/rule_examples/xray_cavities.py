"""Values on which each claim of 02 holds and values on which it fails (see rule_examples/__init__.py)."""

LEVELS = {"a": 1000, "b": 3000, "c": 10000, "d": 30000, "e": 100000}


def interval(name, point, lo, hi):
    """Values of an interval rule: the margin and its bootstrap interval."""
    return {name: point, f"{name}_lo": lo, f"{name}_hi": hi}


def paired(what, level, beta_fit, unsharp):
    """Values of a paired rule: per baseline (difference of medians, its interval, common cavities)."""
    values = {}
    for name, (diff, lo, hi, n) in (("beta_fit", beta_fit), ("unsharp", unsharp)):
        values.update({**interval(f"{what}_diff_{name}_{level}", diff, lo, hi), f"{what}_pairs_{name}_{level}": n})
    return values


def radius(level):
    # holds: lower than both beyond their intervals; fails: the unsharp mask, with 7 common cavities, is better
    return (paired("radius_err", level, (-0.17, -0.25, -0.08, 10), (-0.2, -0.3, -0.05, 7)),
            paired("radius_err", level, (-0.17, -0.25, -0.08, 10), (0.07, 0.01, 0.2, 7)))


def stability(level):
    # holds: steadier than the beta-model residual, the unsharp mask has too few common cavities to compare;
    # fails: the beta-model residual is steadier (as in the default run)
    return (paired("scatter", level, (-0.04, -0.07, -0.01, 13), (0.24, 0.1, 0.3, 4)),
            paired("scatter", level, (0.07, 0.02, 0.12, 6), (0.05, -0.03, 0.13, 5)))


EXAMPLES = {
    "S1": ({"projection_max_rel_err": 9.1e-6}, {"projection_max_rel_err": 0.03}),
    "C1": ({"deficit_smallest_step_with_radius": 0.04, "deficit_largest_step_with_distance": -0.02},
           {"deficit_smallest_step_with_radius": 0.04, "deficit_largest_step_with_distance": 0.01}),
    **{f"C2{x}": (interval(f"iou_margin_{n}", 0.2, 0.14, 0.25), interval(f"iou_margin_{n}", -0.1, -0.15, -0.02))
       for x, n in LEVELS.items()},
    "C3": ({"decoder_minus_area_err_max": -0.06, "decoder_minus_area_err_lo_max": -0.1,
            "decoder_minus_area_err_hi_max": -0.02},
           {"decoder_minus_area_err_max": 0.1, "decoder_minus_area_err_lo_max": 0.03,
            "decoder_minus_area_err_hi_max": 0.2}),
    **{f"C4{x}": (interval(f"detection_margin_{n}", 0.19, 0.04, 0.32),
                  interval(f"detection_margin_{n}", -0.2, -0.35, -0.05)) for x, n in LEVELS.items()},
    **{f"C4{x}": radius(n) for x, n in zip("fghij", LEVELS.values())},
    **{f"C5{x}": stability(n) for x, n in LEVELS.items()},
}
