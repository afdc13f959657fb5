"""Deep ensembles from the loss-landscape view (Fort, Hu & Lakshminarayanan, arXiv:1912.02757), measured.

Independent runs from different random initialisations are compared with functions from one
run: its own checkpoints and samples from subspaces around it (diagonal Gaussian, rank-5 PCA
Gaussian, random directions, dropout masks on the weights; ``companion.landscape.function_space``).

Modules: :mod:`.params` (the spec), :mod:`.training` (data, networks, the runs), :mod:`.compute`
(C1-C3: geometry, t-SNE, subspace samples, the diversity-accuracy plane), :mod:`.ensembles` (C4-C6),
:mod:`.connector` (C7), :mod:`.claims`, :mod:`.figures`, :mod:`.explore`. Every random stream is
derived from ``seed`` with :func:`companion.rng.derive` under a name saying what it is for.
"""

from .claims import CLAIMS, claim_values
from .compute import (METHODS, diversity_plane, geometry, geometry_summary, plane_summary, sample,
                      trajectory_predictions, tsne_embedding)
from .connector import barrier, connector_study
from .ensembles import ensemble_curves, ensemble_predictions, js_under_shift, shift_curves, shift_table, test_sets
from .explore import explorer
from .figures import plot_connector, plot_ensembles, plot_geometry, plot_plane, plot_shift, plot_tsne
from .params import PARAMETERS, check
from .training import Run, fit, late, length_factor, load_data, make_model, model_size, run_table, train_runs

__all__ = ["CLAIMS", "METHODS", "PARAMETERS", "Run", "barrier", "check", "claim_values", "connector_study",
           "diversity_plane", "ensemble_curves", "ensemble_predictions", "explorer", "fit", "geometry",
           "geometry_summary", "js_under_shift", "late", "length_factor", "load_data", "make_model", "model_size",
           "plane_summary", "plot_connector", "plot_ensembles", "plot_geometry", "plot_plane", "plot_shift",
           "plot_tsne", "run_table", "sample", "shift_curves", "shift_table", "test_sets", "train_runs",
           "trajectory_predictions", "tsne_embedding"]
