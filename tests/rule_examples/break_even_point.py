"""Values on which each break-even claim's rule holds, and values on which it fails (see the package docstring)."""


def _trend(group, step, holds, fails, missing=None):
    """(holds, fails) for a trend row: its weakest step and that step's noise, and its count of runs without a value.
    ``holds`` and ``fails`` are (step, noise) pairs."""
    missing = missing or f"{group}_runs_without_peak"
    return tuple({missing: 0, step: value, step + "_se2": noise} for value, noise in (holds, fails))


EXAMPLES = {
    "C1a": _trend("lr", "max_lam_h_vs_lr_weakest_step", (-6.1, 5.5), (0.0, 0.0)),  # seeds that agree exactly and tie
    "C1b": _trend("lr", "max_lam_k_vs_lr_weakest_step", (-0.41, 0.11), (0.3, 0.11)),
    "C3a": _trend("lr", "max_inv_cond_k_vs_lr_weakest_step", (0.008, 0.005), (-0.006, 0.005)),
    "C4a": ({"lr_runs_short_of_target": 0, "lam_h_at_target_vs_lr_weakest_step": -5.7,
             "lam_h_at_target_vs_lr_weakest_step_se2": 3.0},
            # the runs that reach the target decrease, but one run never reaches it
            {"lr_runs_short_of_target": 1, "lam_h_at_target_vs_lr_weakest_step": None,
             "lam_h_at_target_vs_lr_weakest_step_se2": None}),
    "C4b": _trend("lr", "lam_k_at_target_vs_lr_weakest_step", (-0.13, 0.09), (0.2, 0.09), "lr_runs_short_of_target"),
    "C4c": ({"lr_runs_short_of_target": 0, "inv_cond_k_at_target_vs_lr_weakest_step": 0.004,
             "inv_cond_k_at_target_vs_lr_weakest_step_se2": 0.003},
            {"lr_runs_short_of_target": 1, "inv_cond_k_at_target_vs_lr_weakest_step": 0.004,
             "inv_cond_k_at_target_vs_lr_weakest_step_se2": 0.003}),
    "C5": ({"max_lam_h_vs_lr_log_slope": -0.62}, {"max_lam_h_vs_lr_log_slope": -0.3}),
    "C6a": _trend("bn", "max_lam_h_vs_bn_lr_weakest_step", (-8.0, 4.5), (6.0, 4.5)),
    "C6b": _trend("bn", "max_inv_cond_k_vs_bn_lr_weakest_step", (0.03, 0.02), (-0.03, 0.02)),
    "C2a": _trend("batch", "max_lam_h_vs_batch_size_weakest_step", (10.0, 6.8), (-10.0, 6.8)),
    "C2b": _trend("batch", "max_lam_k_vs_batch_size_weakest_step", (0.3, 0.25), (-0.3, 0.25)),
    "C3b": ({"batch_runs_without_peak": 0, "max_inv_cond_k_vs_batch_size_weakest_step": -0.012,
             "max_inv_cond_k_vs_batch_size_weakest_step_se2": 0.005},
            {"batch_runs_without_peak": 2, "max_inv_cond_k_vs_batch_size_weakest_step": -0.012,
             "max_inv_cond_k_vs_batch_size_weakest_step_se2": 0.005}),
}
