"""X-ray cavities found by a convolutional network (Fort 2017, arXiv:1712.00523), measured.

Simulated cluster images go through three methods (the CNN with its ResNet radius decoder, a
beta-model fit's residual significance, an unsharp mask), each with thresholds calibrated by one
rule, and are scored against the truth at every count level (``compute``); the scatter of the
radii over Poisson re-realisations is ``stability``; ``uncertainty`` gives each comparison a
bootstrap interval over the clusters, and ``robustness`` the detection with and without point
sources and a PSF at every count level. ``model`` trains the networks or loads the
committed ones, ``claims`` declares the paper's claims (``CLAIMS``) and the values they read
(``claim_values``), ``figures`` and ``explore`` show them.
"""

from .claims import CLAIMS, claim_values
from .compute import (METHODS, by_size, calibrate, decoder_gain, deficit_sweep, evaluate, level_margins,
                      projection_check, radius_pairs, test_set)
from .explore import explorer
from .figures import (plot_accuracy, plot_by_size, plot_deficit, plot_examples, plot_instrument, plot_stability,
                      plot_training)
from .model import COMMITTED, get_model, load_committed, parameter_counts, train_models
from .params import PARAMETERS, TRAINED, check
from .robustness import detection_table, instrument_effect
from .stability import stability, stability_pairs, stability_summary

__all__ = ["CLAIMS", "COMMITTED", "METHODS", "PARAMETERS", "TRAINED", "by_size", "calibrate", "check", "claim_values",
           "decoder_gain", "deficit_sweep", "detection_table", "evaluate", "explorer", "get_model", "instrument_effect",
           "level_margins", "load_committed", "parameter_counts", "plot_accuracy", "plot_by_size", "plot_deficit",
           "plot_examples", "plot_instrument", "plot_stability", "plot_training",
           "projection_check", "radius_pairs", "stability", "stability_pairs", "stability_summary", "test_set",
           "train_models"]
