"""The Goldilocks zone (Fort & Scherlis, arXiv:1807.02581), measured.

Configuration space is the flat parameter vector theta; its radius is ||theta||. A fixed
initialisation scaled by ``scale`` sits at radius ``scale * ||theta_0||``. At each point we
restrict the Hessian H of the mean training cross-entropy to a random d-dimensional
subspace M (H_d = M^T H M) and report, over its eigenvalues, the fraction that is positive
and Tr(H_d)/||H_d||_F (Frobenius norm), divided by sqrt(d) so different d compare: 1 means
all eigenvalues equal and positive, about 0 a random symmetric matrix.
"""

from .claims import CLAIMS, claim_values, peak_values
from .compute import (
    curvature_point,
    curvature_vs_radius,
    hyperplane_training,
    init_selection,
    inits_at_one_radius,
    load_data,
    make_model,
    model_size,
    rank_correlation,
    selection_test,
    shells,
    steps_to_target,
    summarise,
)
from .explore import spectrum_explorer
from .figures import plot_curvature, plot_hyperplane, plot_input_panel, shell_band
from .inputs import input_scale_panel, input_statistics, mnist_reference, panel_shells
from .params import PARAMETERS, check

__all__ = ["CLAIMS", "PARAMETERS", "check", "claim_values", "curvature_point", "curvature_vs_radius",
           "hyperplane_training", "init_selection", "input_scale_panel", "input_statistics", "inits_at_one_radius",
           "load_data", "make_model", "mnist_reference", "model_size", "peak_values", "plot_curvature", "plot_hyperplane",
           "panel_shells", "plot_input_panel", "rank_correlation", "selection_test", "shell_band",
           "shells", "spectrum_explorer", "steps_to_target", "summarise"]
