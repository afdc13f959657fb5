"""Tomography updates: the batched Bayesian particle filter, its per-copy form, the neural filter and the
journal version's recurrent update on the same states, particle count and copies (neural adaptive tomography,
notebook 05).

Each method runs ``repeats`` times, interleaved (``common.interleaved``); wall_s is the fastest run, wall_median_s
the median (both include simulating the data). The note gives the filter's own time per round (per copy), and the
time to reach a target infidelity: the median (over true states) infidelity of the batched Bayes filter with moves
at the largest n, reached by each method where its own median curve gets there (extrapolated along its last slope
beyond it), and the filter's own seconds to that n."""

import numpy as np
import pandas as pd
from common import interleaved
from companion.experiments.neural_adaptive_tomography import n_to_reach
from companion.nn import threads
from companion.physics.tomography import neural, recurrent, runs
from companion.physics.tomography import quantum as Q
from companion.physics.tomography.measurement import Scheme

REACH = 100  # how far beyond the measured n a time to target is extrapolated
BATCHED = {"bayes, Liu-West + MH moves": dict(method="bayes"), "bayes, Liu-West only": dict(method="bayes", mh_steps=0),
           "neural resampler": dict(method="neural"), "recurrent update (journal version)": dict(method="recurrent")}


def _to_reach(rows, target):
    """(n, filter seconds, extrapolated) at which the median infidelity over states first reaches ``target``;
    beyond the measured curve n follows its last slope and the seconds grow linearly in n from the last point, up to
    ``REACH`` times the largest measured n (None, None, True: not reached within that)."""
    t = pd.DataFrame(rows).groupby("n").agg(median=("infidelity", "median"), seconds=("seconds", "first"))
    n = n_to_reach(t.reset_index(), target)
    if n <= t.index.max() * (1 + 1e-9):
        return n, float(10 ** np.interp(np.log10(n), np.log10(t.index), np.log10(t.seconds))), False
    if not n <= REACH * t.index.max():
        return None, None, True
    return n, float(t.seconds.iloc[-1] * n / t.index.max()), True


def _reach_text(target, n_hit, s_hit, extrapolated):
    if n_hit is None:
        return f"infidelity {target:.2e} not reached within {REACH}x the measured n (extrapolated)"
    return f"infidelity {target:.2e} at n = {n_hit:.3g} after {s_hit:.3g} filter s{' (extrapolated)' if extrapolated else ''}"


def _methods(truth, scheme, ns, n_particles, seed, per_copy_n, mh_steps):
    model = neural.committed(scheme.qubits)
    rec = recurrent.committed(scheme.qubits) if scheme.qubits in recurrent.TRAIN_DEFAULTS else None
    fns = {name: (lambda kw=kw: runs.run_rounds(truth, scheme, ns, n_particles, seed, **{"mh_steps": mh_steps, **kw},
                                                resampler=neural.as_resampler(model) if kw["method"] == "neural"
                                                else None, recurrent=rec and recurrent.as_filter(rec)))
           for name, kw in BATCHED.items() if kw["method"] != "recurrent" or rec}
    record = runs.geometric_schedule(ns[0], per_copy_n)[0]
    fns["bayes per copy, Liu-West + MH moves"] = lambda: runs.run_per_copy(truth, scheme, int(record[-1]), n_particles,
                                                                           seed, record, mh_steps=mh_steps)
    return fns


def _rows(out, updates):
    ref = pd.DataFrame(out["bayes, Liu-West + MH moves"]["result"][0])
    target = float(ref[ref.n == ref.n.max()].infidelity.median())
    rows = []
    for name, m in out.items():
        result, filt = m["result"]
        t = pd.DataFrame(result)
        final = t[t.n == t.n.max()]
        n_hit, s_hit, extrapolated = _to_reach(result, target)
        copy = "per copy" in name
        own = float(final.seconds.iloc[0]) / (int(final.n.iloc[0]) if copy else updates)
        rows.append(dict(library="companion", method=name, wall_s=m["wall_s"], wall_median_s=m["wall_median_s"],
                         matvecs=filt.n_likelihood, max_rel_err=float(final.infidelity.median()),
                         peak_mem_mb=m["peak_mem_mb"],
                         note=f"filter {own * 1e3:.3f} ms per {'copy' if copy else 'round'} (last run); "
                              f"{_reach_text(target, n_hit, s_hit, extrapolated)}; max_rel_err = median infidelity 1 - F "
                              f"at n = {int(final.n.iloc[0])}"))
    return rows


def tomography_update(qubits=1, n_states=8, n_particles=500, n_max=12800, per_copy_n=1600, repeats=5, mh_steps=2,
                      seed=0):
    """Per-round time, accuracy and time to a target infidelity of each filter on the same true states (Haar
    pure), adaptive Pauli bases, one thread; ``matvecs`` counts particle likelihood evaluations. The Bayes filters
    make ``mh_steps`` moves after each resampling (notebook 05's defaults: 2 for one qubit, 10 for two)."""
    truth = Q.sample_states("haar", qubits, n_states, np.random.default_rng(seed))
    scheme = Scheme("pauli", qubits, True)
    ns = runs.geometric_schedule(100, n_max)[0]
    with threads(1, blas=True):
        out = interleaved(_methods(truth, scheme, ns, n_particles, seed, per_copy_n, mh_steps), repeats=repeats)
    return _rows(out, len(ns))


def tomography_update_2q():
    """The same on two qubits (15-dimensional banks, 10 moves), n up to 6400."""
    return tomography_update(qubits=2, n_states=4, n_particles=400, n_max=6400, mh_steps=10)


def tomography_update_1e5():
    """One true state, one qubit, every filter (the per-copy one too) to n = 102,400, three interleaved runs."""
    return tomography_update(n_states=1, n_max=102400, per_copy_n=102400, repeats=3)


ENTRIES = {"tomography_update": tomography_update, "tomography_update_2q": tomography_update_2q,
           "tomography_update_1e5": tomography_update_1e5}
