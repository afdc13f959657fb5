"""Tomography updates: the batched Bayesian particle filter, its per-copy form and the neural filter on the same
states, particle count and copies (neural adaptive tomography, notebook 05)."""

import numpy as np
import pandas as pd
from common import measure
from companion.physics.tomography import neural, runs
from companion.physics.tomography import quantum as Q
from companion.physics.tomography.measurement import Scheme


def _row(method, note, rows, filt, wall, peak, updates):
    t = pd.DataFrame(rows)
    final = t[t.n == t.n.max()]
    return dict(library="companion", method=method, wall_s=wall, matvecs=filt.n_likelihood, max_rel_err=float(final.infidelity.median()),
                peak_mem_mb=peak, note=f"{note}; {wall / updates * 1e3:.2f} ms per update ({updates} updates); "
                                        f"max_rel_err = median infidelity 1 - F at n = {int(final.n.iloc[0])}")


def tomography_update(qubits=1, n_states=8, n_particles=500, n_max=12800, seed=0):
    """Per-update time and accuracy of each filter on the same true states (Haar pure), adaptive Pauli bases;
    ``matvecs`` counts particle likelihood evaluations."""
    truth = Q.sample_states("haar", qubits, n_states, np.random.default_rng(seed))
    scheme = Scheme("pauli", qubits, True)
    ns = runs.geometric_schedule(100, n_max)[0]
    model = neural.committed(qubits)
    rows = []
    for method, note, kwargs in (
            ("bayes, Liu-West + 2 MH moves", "tempered SMC on doubling batches", dict(method="bayes", mh_steps=2)),
            ("bayes, Liu-West only", "as QInfer's SMCUpdater, no moves", dict(method="bayes", mh_steps=0)),
            ("neural resampler", "one network call per doubling batch",
             dict(method="neural", resampler=neural.as_resampler(model)))):
        (out, filt), wall, peak = measure(lambda kw=kwargs: runs.run_rounds(truth, scheme, ns, n_particles, seed, **kw))
        rows.append(_row(method, note, out, filt, wall, peak, len(ns)))
    n_copy = min(n_max, 1600)
    (out, filt), wall, peak = measure(lambda: runs.run_per_copy(truth, scheme, n_copy, n_particles, seed, [n_copy]))
    rows.append(_row("bayes per copy, Liu-West + 2 MH moves", "one Bayes update per copy (ABQT form)", out, filt,
                     wall, peak, n_copy))
    return rows


def tomography_update_2q():
    """The same on two qubits (15-dimensional banks), n up to 6400."""
    return tomography_update(qubits=2, n_states=4, n_particles=400, n_max=6400)


ENTRIES = {"tomography_update": tomography_update, "tomography_update_2q": tomography_update_2q}
