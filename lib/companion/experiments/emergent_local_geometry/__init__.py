"""Emergent properties of the local geometry of neural loss landscapes (Fort & Ganguli, arXiv:1910.05929), measured.

Four properties of the Hessian H of the mean training cross-entropy, each measured on
trained networks, and then the paper's model of logit gradients set against them:

1. C outliers: the top of the spectrum of H (and of its Gauss-Newton term G) for networks
   trained on C = ``class_counts`` classes of the same data; the outliers are those of the top
   4C + 1 above a robust estimate of the bulk edge (:func:`companion.landscape.spectrum.bulk_edge`).
2. Gradient confinement: the fraction of ||g||^2 inside the top-C eigenspace of H, along training,
   judged where the outliers exist.
3. Transient curvature: lambda_max(H) along training.
4. Hyperplanes: training only x in theta = P + M x (``companion.nn.HyperplaneModel``) from offsets P at several
   init scales, on ``hyper_repeats`` hyperplanes, against the curvature Tr(H_d)/||H_d||_F of H restricted to that
   same hyperplane at P (the Goldilocks measure of notebook 03); the zone is read off by
   :func:`companion.landscape.zone.half_maximum_zone`, as in notebook 03.
5. The model: logit gradients dz_c/dtheta cluster by logit index c (cosine matrix), and G
   is then m^T Mbar m (m the C cluster means, Mbar the mean of diag p - p p^T) plus a bulk
   from the spread around the means. Its spectrum, simulated with isotropic noise of the
   measured size (:class:`companion.landscape.gauss_newton.ClusteredLogitModel`), is set
   against the measured one; its signal and span are set against lambda_max(t) and g.

All curvature is of the mean loss over the training set (or a stated subset) in float64
and eval mode. Networks with fewer classes keep the same number of examples per class.
"""

from .claims import CLAIMS, claim_values, peak_position
from .compute import (
    checkpoint_steps,
    hyperplane_means,
    hyperplane_training,
    load_data,
    make_model,
    model_size,
    outliers_vs_classes,
    per_class_subset,
    top_count,
    top_spectrum,
    train_all,
    training_dynamics,
    zone,
)
from .explore import explorer
from .figures import plot_cosines, plot_dynamics, plot_hyperplane, plot_model_dynamics, plot_outliers, plot_spectrum
from .model import PAIR_GROUPS, clustering, cosine_matrix, model_counts, model_spectrum, pair_means
from .params import PARAMETERS, check


__all__ = ["CLAIMS", "PAIR_GROUPS", "PARAMETERS", "check", "checkpoint_steps", "claim_values", "clustering",
           "cosine_matrix", "explorer", "hyperplane_means", "hyperplane_training", "load_data", "make_model",
           "model_counts", "model_size", "model_spectrum", "outliers_vs_classes", "pair_means", "peak_position",
           "per_class_subset", "plot_cosines", "plot_dynamics", "plot_hyperplane", "plot_model_dynamics",
           "plot_outliers", "plot_spectrum", "top_count", "top_spectrum", "train_all", "training_dynamics", "zone"]
