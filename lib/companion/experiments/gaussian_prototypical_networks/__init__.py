"""Gaussian prototypical networks (Fort, arXiv:1708.02735), measured against vanilla ones.

Three networks share one 4-block encoder (:mod:`companion.fewshot.encoder`) with ``filters[-1] = C``
output numbers, so they have the same parameter count; they differ only in how they read them
(:mod:`companion.fewshot.protonets`): ``vanilla`` (a C-dimensional embedding), ``radius`` (C - 1
dimensions and one precision per image) and ``diagonal`` (C/2 dimensions and C/2 precisions). Every
mode starts from the same encoder weights and sees the same training episodes, and every model is
tested on the same test episodes, so accuracies compare episode by episode (paired).

Data: classes are characters (or digits) rotated by 0, 90, 180 and 270 degrees, each rotation a
class of its own, and the test classes come from groups (alphabets, digits) never seen in training.

- ``omniglot-full``: background set (964 characters, 30 alphabets) for training, evaluation set
  (659 characters, 20 alphabets) for testing, as the paper's code does.
- ``omniglot`` (the default, offline from ``$COMPANION_DATA``): the two small background subsets (242
  characters, 8 alphabets); Latin and Tagalog held out (:data:`companion.data.omniglot.SMALL_TEST_ALPHABETS`).
- ``digits`` (a fast option): scikit-learn's 8x8 digits, all 1,797 images, resized to ``image_size``
  (8: as they are, for a 3-block encoder); digits 3, 4 and 7 are the test classes (12 with rotations, so
  at most 12-way) and 0, 1, 2, 5, 6, 8 and 9 train (28 classes). A 6 turned by half a turn is a 9, so 6
  and 9 stay together on the training side: no test class is a rotation of a training digit (with 9 on
  the test side, the nearest training class of its half turn was the 6).

Images are in [0, 1] with ink at 1; each image has its mean subtracted before the encoder (the
paper's code does the same after mapping to [-1, 1]). Down-sampling ("damage") is applied to the raw
images of a fraction of the training set, and for the damaged test to the same fraction of the test
set, before that centring.

The encoder's initialisation is a parameter (``init``): ours (Xavier-normal weights, zero biases) or the paper's
code's (TF1's defaults: Glorot-uniform weights and biases, batch-norm epsilon 1e-3), see
:mod:`companion.fewshot.encoder`; the preset ``paper_init`` runs the defaults with the latter.

Modules: ``params`` (the spec and ``check``), ``compute`` (data, training, measurements), ``claims``
(``CLAIMS``, ``claim_values`` and ``init_verdicts``), ``figures`` and ``explore`` (the widget).
"""

from .claims import CLAIMS, INIT_PRESETS, SNELL, claim_values, init_verdicts
from .compute import (QUALITY_IMAGES, accuracy, by_run, centre, compare, confidence_vs_quality, damage_experiment,
                      damaged, describe, differences, lake_runs, load_data, make_model, precision_by_quality,
                      precision_drop, precision_floors, quality_images, test_episodes, train_model, train_models)
from .explore import explorer
from .figures import COLORS, plot_accuracy, plot_confidence, plot_damage, plot_training
from .params import DATASETS, DIGITS_TEST, GAUSSIAN, PARAMETERS, check

__all__ = ["CLAIMS", "COLORS", "DATASETS", "DIGITS_TEST", "GAUSSIAN", "INIT_PRESETS", "PARAMETERS", "QUALITY_IMAGES",
           "SNELL", "accuracy", "by_run", "centre", "check", "claim_values", "compare", "confidence_vs_quality",
           "damage_experiment", "damaged", "describe", "differences", "explorer", "init_verdicts", "lake_runs",
           "load_data", "make_model", "plot_accuracy", "plot_confidence", "plot_damage", "plot_training",
           "precision_by_quality", "precision_drop", "precision_floors", "quality_images", "test_episodes",
           "train_model", "train_models"]
