"""Per claim of notebook 08, values on which its rule holds and values on which it fails."""

EXAMPLES = {
    "P1": ({"outliers_worst_miss": 1}, {"outliers_worst_miss": 2}),  # counts C - 1 pass, C - 2 does not
    "P2": ({"confined_median": 0.8}, {"confined_median": 0.062}),
    "P3": ({"lambda_max_rise": 3.0, "lambda_max_end_over_peak": 0.6},
           {"lambda_max_rise": 44.8, "lambda_max_end_over_peak": 0.82}),
    "P4": ({"hyper_zone_offsets": 1, "hyper_zone_offsets_below_bar": 0, "hyper_outside_offsets_below_bar": 1},
           {"hyper_zone_offsets": 0, "hyper_zone_offsets_below_bar": 0, "hyper_outside_offsets_below_bar": 1}),
    "M1": ({"cosine_margin_init": 0.83, "cosine_margin_trained": 0.74},
           {"cosine_margin_init": 0.83, "cosine_margin_trained": 0.05}),
    "M2": ({"h2_over_g": 0.03}, {"h2_over_g": 0.8}),
    "M3": ({"model_outlier_miss": 0, "model_lambda_1_ratio": 0.91},
           {"model_outlier_miss": 0, "model_lambda_1_ratio": 0.4}),
    "M4": ({"in_means_span_median": 0.7}, {"in_means_span_median": 0.05}),
    "M5": ({"signal_lambda_max_pearson": 0.996}, {"signal_lambda_max_pearson": 0.3}),
}
