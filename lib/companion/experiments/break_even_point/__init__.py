"""The break-even point on SGD trajectories (Jastrzebski et al., arXiv:2002.09572), measured.

SGD runs (no momentum) of a small CNN are trained for a grid of learning rates at a fixed
batch size, a grid of batch sizes at a fixed learning rate, and, with batch normalisation,
a low and a high learning rate. Every ``measure_every`` steps a checkpoint (the flat
parameter vector ``companion.nn.train`` records) is measured:

- lambda_max(H), the top Hessian eigenvalue of the mean training cross-entropy on a fixed
  subset of ``hessian_subset`` training examples (:class:`companion.landscape.HessianOperator`
  and :func:`companion.landscape.lanczos`, ``hessian_iters`` steps);
- the gradient covariance K of ``cov_batches`` = L fixed, disjoint mini-batches of
  ``cov_batch_size`` training examples (:mod:`companion.landscape.covariance`: centred, 1/L,
  spectrum through the L x L Gram matrix): lambda_max(K), Tr(K) and the inverse condition
  number lambda_min_nonzero(K) / lambda_max(K).

The subsets are drawn once from ``seed`` and shared by every run, and K uses the same
mini-batch size for every run, so the batch-size grid compares trajectories, not the
1/B scaling of mini-batch noise. Batch-norm networks: K is measured as SGD sees them (batch
statistics), and so is H: the Hessian subset is treated as one training batch whose statistics
are differentiated through (``HessianOperator(..., train_mode=True)``; without batch norm this is the ordinary
Hessian). A checkpoint holds no running statistics, so for the test predictions they are set
to the statistics of the Hessian subset.

Matched progress: besides the maximum over the trajectory, each run is read at its first
checkpoint whose training accuracy reaches each of ``target_accs``, so a slow run is not compared at
an earlier stage of learning than a fast one; the C4 rows hold only when they hold at every target.

Modules: :mod:`.params` (the spec), :mod:`.compute` (runs, measurements, tables), :mod:`.claims`,
:mod:`.figures`, :mod:`.explore`.
"""

from .claims import CLAIMS, claim_values, weakest_step
from .compute import (MEASURES, RUN, cap_slope, configurations, embedding, load_data, make_model, matched_progress,
                      measure, model_size, per_run, probes, run_trajectory, summarise, trajectories)
from .explore import explorer
from .figures import plot_curves, plot_embedding, plot_sharpness
from .params import IMAGE_DATASETS, PARAMETERS, check

__all__ = ["CLAIMS", "IMAGE_DATASETS", "MEASURES", "PARAMETERS", "RUN", "cap_slope", "check", "claim_values",
           "configurations", "embedding", "explorer", "load_data", "make_model", "matched_progress", "measure",
           "model_size", "per_run", "plot_curves", "plot_embedding", "plot_sharpness", "probes", "run_trajectory",
           "summarise", "trajectories", "weakest_step"]
