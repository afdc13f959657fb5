"""Stiffness (Fort, Nowak, Jastrzebski & Narayanan, arXiv:1901.09491), measured along SGD trajectories.

For every learning rate in ``lrs`` and every seed index, a model (``companion.nn.mlp`` or ``cnn``)
is trained with plain SGD and checkpointed ``n_checkpoints`` times at equal steps; a seed index
gives the same initialisation and batch order at every learning rate, each from its own stream
of ``p.seed`` (:func:`companion.rng.derive`). At each checkpoint the per-example gradients of the
cross-entropy of two fixed probe sets, ``n_probe`` training examples and ``n_probe`` held-out
(test) examples, give their dot products (one Gram matrix,
:func:`companion.landscape.gradients.per_example_gram`, within ``memory_budget_mb``) and from them
the sign and cosine stiffness (:mod:`companion.landscape.stiffness`) of the pairs train-train,
train-test and test-test.

The claims are read on the train-test pairs, chosen before any run: a step on a training
example, the change of the loss on a held-out one, the pairs that say how training
generalises. There is no pair of an example with itself among them. Batch-norm models are
measured in eval mode, with running statistics recomputed on the training set at each
checkpoint (a checkpoint holds parameters only).

Distances are measured in input space (``metric``: Euclidean on the inputs as loaded, or
cosine distance 1 - cos) and, for the layer figure, in every hidden layer's representation.
The dynamical critical length xi is defined in
:func:`companion.landscape.stiffness.critical_length`: the distance at which the cosine
stiffness, binned by distance in ``n_bins`` equal-count bins, first falls to zero.

Small models run with one torch thread (:data:`THREADS`): on the shared two-core machine
one SGD step of the default MLP took 0.5 ms with one thread against 23 ms with two that
contend with other processes, and one thread fixes the order of every reduction.
"""

from .claims import CLAIMS, claim_values, lr_slopes
from .compute import (class_structure, early_stiffness, figure_steps, matrices_table, reference, training_trend,
                      xi_vs_lr)
from .explore import explorer
from .figures import plot_class_matrices, plot_distance, plot_layers, plot_training, plot_xi_vs_lr
from .measure import Measured, layer_distance, measure_runs, probes
from .params import CLAIM_PAIRS, PAIRS, PARAMETERS, THREADS, check
from .training import (histories, load_data, make_model, model_size, run_summary, schedule, superclasses,
                       train_runs)

__all__ = ["CLAIMS", "CLAIM_PAIRS", "PAIRS", "PARAMETERS", "THREADS", "Measured", "check", "claim_values",
           "class_structure", "early_stiffness", "explorer", "figure_steps", "histories", "layer_distance",
           "load_data", "lr_slopes", "make_model", "matrices_table", "measure_runs", "model_size",
           "plot_class_matrices", "plot_distance", "plot_layers", "plot_training", "plot_xi_vs_lr", "probes",
           "reference", "run_summary", "schedule", "superclasses", "train_runs", "training_trend", "xi_vs_lr"]
