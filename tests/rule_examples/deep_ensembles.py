"""Values on which each claim of notebook 09 holds, and values on which it fails (see test_claims_declared)."""

EXAMPLES = {
    "C1a": ({"cos_across_max_abs": 0.04, "cos_within_min": 0.999},
            {"cos_across_max_abs": 0.2, "cos_within_min": 0.999}),
    "C1b": ({"dis_across_min": 0.31, "dis_within_max": 0.12}, {"dis_across_min": 0.1, "dis_within_max": 0.12}),
    "C2": ({"tsne_purity": 0.98, "tsne_purity_se2": 0.026}, {"tsne_purity": 0.8, "tsne_purity_se2": 0.073}),
    "C8": ({"in_mode_distance_ratio_max": 0.9}, {"in_mode_distance_ratio_max": 0.2}),
    "C3": ({"diversity_independent": 0.79, "diversity_subspace_max": 0.35},
           {"diversity_independent": 0.3, "diversity_subspace_max": 0.35}),
    "C4": ({"ensemble_accuracy": 0.645, "subspace_accuracy_max": 0.605, "ensemble_brier": 0.461,
            "subspace_brier_min": 0.517},
           {"ensemble_accuracy": 0.645, "subspace_accuracy_max": 0.65, "ensemble_brier": 0.461,
            "subspace_brier_min": 0.517}),
    "C6a": ({"shift_sets_won": 6, "shift_sets": 6}, {"shift_sets_won": 5, "shift_sets": 6}),
    "C6b": ({"js_sets_higher": 6, "js_sets": 6}, {"js_sets_higher": 0, "js_sets": 6}),
    "C7a": ({"connector_line_ratio": 0.099}, {"connector_line_ratio": 0.5}),
    "C7b": ({"midpoint_disagreement_min": 0.41, "dis_within_max": 0.12},
            {"midpoint_disagreement_min": 0.1, "dis_within_max": 0.12}),
    "C5": ({"combined_accuracy_min": 0.65, "ensemble_accuracy": 0.645, "combined_brier_max": 0.45,
            "ensemble_brier": 0.461},
           {"combined_accuracy_min": 0.639, "ensemble_accuracy": 0.645, "combined_brier_max": 0.489,
            "ensemble_brier": 0.461}),
}
