"""Values on which each rule of notebook 05 holds, and values on which it fails (test_claims_declared)."""


def _per_qubit(q):
    s = f"_{q}q"
    return {
        "C1": ({"time_slope_neural" + s: 0.14, "time_slope_per_copy" + s: 0.95},
               {"time_slope_neural" + s: 0.14, "time_slope_per_copy" + s: 0.5}),
        "C2": ({"log10_speedup_extrapolated" + s: 6.4, "log10_speedup_halfwidth" + s: 0.3},
               {"log10_speedup_extrapolated" + s: 3.5, "log10_speedup_halfwidth" + s: 0.1}),
        "C3": ({"speedup_bayes" + s: 300.0}, {"speedup_bayes" + s: 4.4}),
        "C4": ({"worst_accuracy_ratio" + s: 1.37, "matched_within": 1.5},
               {"worst_accuracy_ratio" + s: 1.6, "matched_within": 1.5}),
        "C5": ({f"adaptivity_ratio_pauli{s}": 25.9}, {f"adaptivity_ratio_pauli{s}": 1.7}),
        "C5mub": ({f"adaptivity_ratio_mub{s}": 12.0}, {f"adaptivity_ratio_mub{s}": 1.2}),
        "C6": ({f"adaptivity_ratio_sic{s}": 1.1}, {f"adaptivity_ratio_sic{s}": 3.0}),
        "C6full": ({f"adaptivity_ratio_full_rank{s}": 1.3}, {f"adaptivity_ratio_full_rank{s}": 2.2}),
        "C7": ({"worst_accuracy_ratio_recurrent" + s: 1.2, "matched_within": 1.5},
               {"worst_accuracy_ratio_recurrent" + s: 2.1, "matched_within": 1.5}),
        "C8": ({"time_slope_recurrent" + s: 0.15, "time_slope_per_copy" + s: 0.95},
               {"time_slope_recurrent" + s: 0.45, "time_slope_per_copy" + s: 0.95}),
    }


def _converged(q, examples):
    """C4-C7 read the baseline's convergence check too: on examples with a converged baseline, the claim decides."""
    ok = {f"baseline_drift_{q}q": 1.2}
    return {key: ({**holds, **ok}, {**fails, **ok}) if key[1] in "4567" else (holds, fails)
            for key, (holds, fails) in examples.items()}


ONE, TWO = _converged(1, _per_qubit(1)), _converged(2, _per_qubit(2))
EXAMPLES = {
    "C1a": ONE["C1"], "C1b": TWO["C1"], "C2a": ONE["C2"], "C2b": TWO["C2"], "C3a": ONE["C3"], "C3b": TWO["C3"],
    "C4a": ONE["C4"], "C4b": TWO["C4"], "C5a": ONE["C5"], "C5b": TWO["C5"], "C5c": ONE["C5mub"], "C5d": TWO["C5mub"],
    "C6a": ONE["C6"], "C6b": TWO["C6"], "C6c": ONE["C6full"], "C6d": TWO["C6full"],
    "C7a": ONE["C7"], "C7b": TWO["C7"], "C8a": ONE["C8"], "C8b": TWO["C8"],
}
