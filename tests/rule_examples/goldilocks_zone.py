"""Per claim of notebook 03, values on which its rule holds and values on which it fails."""


def _peak(prefix, gap_start, gap_end, se2=0.02):
    return {f"{prefix}_peak_minus_start": gap_start, f"{prefix}_peak_minus_start_se2": se2,
            f"{prefix}_peak_minus_end": gap_end, f"{prefix}_peak_minus_end_se2": se2}


def _selection(key, picked, random, p):
    return {f"select_{key}_picked_steps": picked, f"select_{key}_random_steps": random, f"select_{key}_p": p}


EXAMPLES = {
    # a peak 0.1 above both ends, 2 s.e. = 0.02 / an end 0.05 above the interior peak (the peak at that end)
    "C1": (_peak("relu_frac_pos", 0.1, 0.06), _peak("relu_frac_pos", 0.1, -0.05)),
    "C2": (_peak("relu_gamma", 0.22, 0.13, 0.06), _peak("relu_gamma", 0.22, -0.1, 0.06)),
    "C3": ({"relu_gamma_at_1": 0.40, "relu_half_maximum_level": 0.356, "relu_gamma_at_1_vs_level_se2": 0.02},
           {"relu_gamma_at_1": 0.25, "relu_half_maximum_level": 0.356, "relu_gamma_at_1_vs_level_se2": 0.02}),
    "C5": ({"hyperplane_dims_best_outside_shell": 0}, {"hyperplane_dims_best_outside_shell": 3}),
    "S1": ({"sphere_radius_error": 2e-16}, {"sphere_radius_error": 0.3}),
    "C6": ({"loss_frac_pos_spearman": -0.30, "loss_frac_pos_p": 0.02},
           {"loss_frac_pos_spearman": -0.03, "loss_frac_pos_p": 0.80}),
    "C7a": (_selection("gamma", 34.6, 37.7, 0.002), _selection("gamma", 36.8, 38.0, 0.16)),
    "C7b": (_selection("frac_pos", 30.0, 38.0, 0.01), _selection("frac_pos", 38.9, 38.0, 0.65)),
    "C7c": (_selection("loss", 34.6, 37.7, 0.002), _selection("loss", 40.0, 38.0, 0.01)),
    "C4": ({**_peak("tanh_frac_pos", 0.05, 0.06), **_peak("tanh_gamma", 0.08, 0.19)},
           {**_peak("tanh_frac_pos", -0.05, 0.06), **_peak("tanh_gamma", 0.08, 0.19)}),
}
