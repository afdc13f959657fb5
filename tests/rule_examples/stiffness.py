"""Values on which each stiffness claim's rule holds, and values on which it fails (see the package docstring)."""

EXAMPLES = {
    "C1": ({"cos_within_minus_between_end_min": 0.65, "sign_within_minus_between_end_min": 1.09},
           {"cos_within_minus_between_end_min": -0.02, "sign_within_minus_between_end_min": 1.09}),
    "C2": ({"test_loss_rise_after_min_smallest": 0.03, "between_rise_mean": 0.037, "between_rise_se2": 0.004,
            "between_fall_mean": 0.012, "between_fall_se2": 0.004},
           # the fall is within its noise but the test loss never turns up: no overfitting to fall with
           {"test_loss_rise_after_min_smallest": -0.01, "between_rise_mean": 0.037, "between_rise_se2": 0.004,
            "between_fall_mean": 0.004, "between_fall_se2": 0.0045}),
    "C3a": ({"seeds_nearest_bin_not_stiffest": 0, "nearest_bin_stiffness_end_min": 0.5, "seeds_xi_end_infinite": 0},
            {"seeds_nearest_bin_not_stiffest": 1, "nearest_bin_stiffness_end_min": 0.5, "seeds_xi_end_infinite": 0}),
    "C7": ({"class_distance_rho_max": -0.3, "class_distance_p_max": 0.01},
           {"class_distance_rho_max": 0.32, "class_distance_p_max": 0.03}),
    "C8": ({"superclass_same_minus_other_min": 0.05}, {"superclass_same_minus_other_min": -0.13}),
    "C9": ({"layer_seeds_nearest_bin_not_stiffest": 0, "layer_nearest_bin_stiffness_min": 0.5,
            "layer_seeds_xi_infinite": 0},
           {"layer_seeds_nearest_bin_not_stiffest": 0, "layer_nearest_bin_stiffness_min": 0.5,
            "layer_seeds_xi_infinite": 2}),
    "C3b": ({"xi_end_minus_init_max": -0.22, "xi_step_spearman_max": -0.57},
            {"xi_end_minus_init_max": -0.22, "xi_step_spearman_max": 0.1}),
    "C4": ({"xi_epoch_vs_lr_largest_step": -0.01}, {"xi_epoch_vs_lr_largest_step": 0.022}),
    "C5": ({"xi_loss_vs_lr_largest_step": -0.01}, {"xi_loss_vs_lr_largest_step": 0.166}),
    "C6": ({"within_epoch_vs_lr_largest_step": -0.029, "within_loss_vs_lr_largest_step": -0.019},
           {"within_epoch_vs_lr_largest_step": -0.029, "within_loss_vs_lr_largest_step": 0.01}),
}
