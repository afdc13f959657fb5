"""Large scale structure of neural network loss landscapes (Fort & Jastrzebski, arXiv:1906.04724), measured.

Five measurements on one small network, the first four each beside what the wedge model predicts for it
(``companion.landscape.wedges``, solved exactly; :mod:`.toy`):

1. Random-subspace training: only x in theta = P + M x is trained (``companion.nn.HyperplaneModel``,
   Adam, full batch), from offsets P at several multiples of the initialisation (radius sweep)
   and for nested random orthonormal subspaces (the first d columns of one M). The threshold is
   Li et al.'s intrinsic dimension d90: the smallest d (interpolated in log d) whose test
   accuracy reaches 90% of full-space training from the scale-1 offset with the same budget.
2. Learning rate, width and L2: plain SGD from the same initialisation until the training loss
   first reaches ``target_loss`` (compared at matched loss, not matched steps), then the radius
   per parameter ||theta|| / sqrt(D) and the curvature explored: the top Hessian eigenvalue
   (Lanczos, float64) averaged over the checkpoints of the run (:mod:`.compute`).
3. The straight line between independent solutions against a trained connector.
4. A connector for m >= 3 solutions at once: a star (one shared point) and a simplicial
   connector (k shared points, one k-simplex per solution), ``companion.landscape.connectors``
   (:mod:`.connect`).
5. Ensembles: of the independent solutions against ensembles of members of one wedge (snapshots
   of one run continued past its solution; points of one segment of the star), in test accuracy,
   NLL and disagreement, paired on the test examples (:mod:`.ensembles`).

Barrier convention: max loss over the path minus the larger loss of its ends (training set,
mean cross-entropy). Seeds: every claim but the ensembles' is judged per seed (those pool the seeds on each
test example); seed index s draws its own inits, subspaces, batches and solutions, each from its own stream
of ``p.seed`` (:func:`companion.rng.derive`).
"""

from .claims import CLAIMS, claim_values
from .compute import (d_threshold, intrinsic_dimension, knob_effects, knob_settings, knob_study, load_data,
                      make_model, model_at, model_size, subspace_training, top_eigenvalue)
from .connect import connector_barriers, connector_study, path_barriers, solutions
from .ensembles import ensemble_margins, ensemble_study, segment_members, snapshot_members
from .explore import explorer
from .figures import plot_connectors, plot_ensembles, plot_knobs, plot_subspace
from .params import KNOBS, LINE_TOL, PARAMETERS, check
from .toy import toy_connectivity, toy_model, toy_paths, toy_plane, toy_subspace

__all__ = ["CLAIMS", "KNOBS", "LINE_TOL", "PARAMETERS", "check", "claim_values", "connector_barriers",
           "connector_study", "d_threshold", "ensemble_margins", "ensemble_study", "explorer", "intrinsic_dimension",
           "knob_effects", "knob_settings", "knob_study", "load_data", "make_model", "model_at", "model_size",
           "path_barriers", "plot_connectors", "plot_ensembles", "plot_knobs", "plot_subspace", "segment_members",
           "snapshot_members", "solutions", "subspace_training", "toy_connectivity", "toy_model", "toy_paths",
           "toy_plane", "toy_subspace", "top_eigenvalue"]
