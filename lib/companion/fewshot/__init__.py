"""Few-shot learning: episodes, the 4-block encoder, prototypical and Gaussian prototypical networks.

``episodes`` (the seeded N-way K-shot sampler and the split that keeps groups apart), ``encoder``
(conv-ReLU-BN-pool blocks), ``protonets`` (vanilla, radius and diagonal networks, precision
transforms, precision-weighted prototypes, the distance), ``training`` (episodic Adam on
:func:`companion.nn.optimise`), ``evaluation`` (many episodes, 95% intervals, paired differences, the precision floor)
and ``damage`` (down-sampling a fraction of the images).
"""

from .damage import damage, downsample
from .encoder import encoder
from .episodes import Episode, EpisodeSampler, Split
from .evaluation import embed_all, evaluate, floor_share, mean_ci, mean_precision, paired_difference, precision_floor
from .protonets import DISTANCES, MODES, TRANSFORMS, Precision, ProtoNet, distances, prototypes, split_channels
from .training import train_episodic

__all__ = ["DISTANCES", "MODES", "TRANSFORMS", "Episode", "EpisodeSampler", "Precision", "ProtoNet", "Split",
           "damage", "distances", "downsample", "embed_all", "encoder", "evaluate", "floor_share", "mean_ci",
           "mean_precision", "paired_difference", "precision_floor", "prototypes", "split_channels", "train_episodic"]
