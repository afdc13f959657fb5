"""Neural adaptive quantum state tomography (Quek, Fort & Ng, arXiv:1812.06693), measured at small scale.

Filters track S true states through rounds whose batch of copies doubles (n = n_min, 2 n_min, ...):

* ``bayes``: the vectorised SMC filter of :mod:`companion.physics.tomography.particle_filter` (tempered Bayes
  update of each batch, Liu-West resampling, Metropolis-Hastings moves): the Bayesian baseline on the same schedule;
* ``neural``: the same bank, reweighted by each batch and refined by one call of the learned resampler of
  :mod:`companion.physics.tomography.neural` per round;
* ``recurrent``: the journal version's network (npj Quantum Information 7, 105 (2021)), which replaces the Bayes
  update itself: one call per round of the recurrent update of :mod:`companion.physics.tomography.recurrent`,
  fed the bank and the raw counts, no likelihood;
* ``per-copy``: the ABQT form of the Bayesian filter, one update per copy (timing only), whose cost grows
  linearly with n: the "O(poly n)" side of the paper's timing claim.

params: the spec and its checks; compute: the accuracy runs and their tables; timing: time against n and the
speed-ups; claims, figures, explore: what the notebook shows.
"""

from .claims import CLAIMS, claim_values
from .compute import (accuracy, adaptivity, baseline_check, by_network, fit_slope, load_models, matched, methods_of,
                      mixed_states, per_round, slopes, summarise, truths)
from .explore import explorer
from .figures import plot_adaptivity, plot_infidelity, plot_networks, plot_timing
from .params import PARAMETERS, check
from .timing import n_to_reach, per_copy_accuracy, seconds_at, speedups, time_fits, timing

__all__ = ["CLAIMS", "PARAMETERS", "accuracy", "adaptivity", "baseline_check", "by_network", "check", "claim_values",
           "explorer", "fit_slope", "load_models", "matched", "methods_of", "mixed_states", "n_to_reach",
           "per_copy_accuracy", "per_round", "plot_adaptivity", "plot_infidelity", "plot_networks", "plot_timing",
           "seconds_at", "slopes", "speedups", "summarise", "time_fits", "timing", "truths"]
