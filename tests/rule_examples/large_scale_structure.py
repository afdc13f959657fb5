"""Values on which each claim of notebook 07 holds, and values on which it fails (see test_claims_declared)."""

SEEDS = {"n_seeds": 2}


def margins(measure, segment):
    """C6 values: independent minus snapshots above 0, and independent minus segment in the interval ``segment``."""
    out = {}
    for kind, (lo, hi) in (("snapshots", (0.003, 0.017)), ("segment", segment)):
        name = f"ens_{measure}_margin_{kind}"
        out.update({name: (lo + hi) / 2, f"{name}_lo": lo, f"{name}_hi": hi})
    return out


EXAMPLES = {
    "C1": ({"c1_falling_seeds": 2, **SEEDS}, {"c1_falling_seeds": 0, **SEEDS}),
    "C2": ({"c2_rising_seeds": 2, **SEEDS}, {"c2_rising_seeds": 0, **SEEDS}),
    "C3a": ({"c3_curvature_seeds": 2, **SEEDS}, {"c3_curvature_seeds": 0, **SEEDS}),
    "C3b": ({"c3_radius_seeds": 2, **SEEDS}, {"c3_radius_seeds": 0, **SEEDS}),
    "C4a": ({"c4_line_seeds": 2, **SEEDS}, {"c4_line_seeds": 0, **SEEDS}),
    "C4b": ({"c4_star_seeds": 2, **SEEDS}, {"c4_star_seeds": 0, **SEEDS}),
    "C5a": ({"c5_star_seeds": 2, **SEEDS}, {"c5_star_seeds": 0, **SEEDS}),
    "C5b": ({"c5_simplex_seeds": 2, **SEEDS}, {"c5_simplex_seeds": 0, **SEEDS}),
    # C6: one within-wedge kind's interval below 0 fails the row
    **{cid: (margins(measure, (0.001, 0.01)), margins(measure, (-0.018, -0.001)))
       for cid, measure in (("C6a", "acc_gain"), ("C6b", "nll_gain"), ("C6c", "disagreement"))},
    # the toy's sanity rows fail on a single wrong case
    "C1t": ({"toy_tunnel_at_n": 14, "toy_tunnel_cases": 14}, {"toy_tunnel_at_n": 13, "toy_tunnel_cases": 14}),
    "C2t": ({"toy_reach_rising_seeds": 2, **SEEDS}, {"toy_reach_rising_seeds": 1, **SEEDS}),
    "C4t": ({"toy_line_min": 0.24, "toy_star_max": 0.0}, {"toy_line_min": 0.24, "toy_star_max": 0.01}),
    "C5t": ({"toy_m_matching": 11, "toy_m_cases": 11, "toy_simplex_max": 0.0},
            {"toy_m_matching": 10, "toy_m_cases": 11, "toy_simplex_max": 0.0}),
}
