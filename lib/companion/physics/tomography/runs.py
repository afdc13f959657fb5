"""Tomography runs: S true states tracked by a filter through rounds of copies, or one copy at a time.

* :func:`run_rounds`: data come in rounds whose batch of copies grows geometrically (:func:`geometric_schedule`);
  the Bayes filter absorbs each batch by a tempered SMC update, the neural filter by one resampler call, the
  recurrent filter (the journal version's) by one call of its network, without any likelihood;
* :func:`run_per_copy` is the per-copy (ABQT) form, one Bayes update per measured copy, whose cost grows
  linearly with n: the "O(poly n)" side of the paper's timing claim;
* the adaptive choice measures part of each batch in the eigenbasis of the current estimate (Mahler et al.,
  PRL 111, 183601): see :class:`.measurement.Scheme`.

The data and the filter draw from separate streams of the run's seed ("data", "filter"), so non-adaptive runs
of both filters see the same counts. Only the filter's work is timed, not the simulation of the data.
"""

import time

import numpy as np

from ...rng import numpy_rng
from . import quantum as Q
from .measurement import Data
from .particle_filter import ParticleFilter, effective_sample_size


def geometric_schedule(n_min, n_max, ratio=2):
    """Cumulative copy counts n_t = n_min * ratio**t up to the first one >= n_max, and the batch of each round."""
    if not (n_min >= 1 and n_max >= n_min and ratio > 1):
        raise ValueError(f"need 1 <= n_min <= n_max and ratio > 1, got n_min={n_min}, n_max={n_max}, ratio={ratio}")
    ns = [int(n_min)]
    while ns[-1] < n_max:
        ns.append(int(round(ns[-1] * ratio)))
    ns = np.array(ns)
    return ns, np.diff(ns, prepend=0)


def _rows(truth, estimate, **columns):
    """One row per true state: the given columns, the infidelity and the Hilbert-Schmidt distance of its estimate."""
    inf, hs = Q.infidelity(truth, estimate), Q.hs_distance(truth, estimate)
    return [{**columns, "state": s, "infidelity": float(inf[s]), "hs": float(hs[s])} for s in range(len(truth))]


def run_rounds(truth, scheme, ns, n_particles, seed, method="bayes", resampler=None, mh_steps=2, recurrent=None):
    """Track S true states (S, d, d) through rounds ending at the cumulative copy counts ``ns``.

    method: "bayes" (tempered SMC with Liu-West), "neural" (one resampler call per round; needs ``resampler``)
    or "recurrent" (one call of the recurrent network per round; needs ``recurrent``, a factory
    ``(n_particles, n_runs, rng) -> filter`` such as :func:`.recurrent.as_filter`). Returns one row per (round,
    state) with n, the infidelity, the Hilbert-Schmidt distance of the estimate, and the processing seconds of
    the filter so far, plus the filter for its counters.
    """
    if not (method == "bayes" or (method == "neural" and resampler is not None)
            or (method == "recurrent" and recurrent is not None)):
        raise ValueError(f"method={method!r}: choose 'bayes', 'neural' with a resampler or 'recurrent' with a "
                         f"recurrent filter")
    ns = np.asarray(ns)
    batches = np.diff(ns, prepend=0)
    data_rng, filter_rng = numpy_rng(seed, "data"), numpy_rng(seed, "filter")
    if method == "recurrent":
        filt = recurrent(n_particles, len(truth), filter_rng)
    else:
        filt = ParticleFilter(scheme.qubits, n_particles, len(truth), filter_rng, resampler=resampler,
                              mh_steps=mh_steps if method == "bayes" else 0)
    update = filt.update_once if method == "neural" else filt.update
    rows, seconds = [], 0.0
    estimate = filt.estimate()
    for t, (n, batch) in enumerate(zip(ns, batches)):
        data = scheme.measure(truth, estimate, int(batch), data_rng)
        t0 = time.perf_counter()
        update(data)
        estimate = filt.estimate()
        seconds += time.perf_counter() - t0
        rows += [{**row, "seconds": seconds, "steps": filt.n_steps}
                 for row in _rows(truth, estimate, round=t, n=int(n))]
    return rows, filt


class _Copies:
    """The copies a per-copy run has measured: fixed settings as summed counts, each adaptive copy as one row."""

    def __init__(self, truth, scheme, n_max, k):
        E, self.A_all, self.b_all = scheme.fixed
        self.M, self.K = E.shape[:2]
        self.A, self.b = self.A_all.reshape(self.M, self.K, -1), self.b_all.reshape(self.M, self.K)
        self.P_true = Q.probabilities(truth[:, None], E[None])  # (S, M, K)
        self.ref = Q.reference_povm(scheme.kind, scheme.qubits)
        S = len(truth)
        self.runs = np.arange(S)
        self.fixed_counts = np.zeros((S, self.M * self.K), dtype=np.int64)
        self.adapt_A, self.adapt_b, self.n_adapt = np.zeros((S, n_max, k)), np.zeros((S, n_max)), 0
        self.fixed_turn = 0

    def next_fixed(self):
        """The next fixed setting in turn: its index and the true outcome probabilities (S, K)."""
        m = self.fixed_turn % self.M
        self.fixed_turn += 1
        return m, self.P_true[:, m]

    def add(self, setting, outcome):
        """Record one copy's outcomes (S,) of a fixed setting (an index) or an adaptive one ((A, b) per run);
        return the Born map row (a_k (S, k), b_k (S,)) of the outcomes."""
        if isinstance(setting, tuple):
            a_k, b_k = setting[0][self.runs, outcome], setting[1][self.runs, outcome]
            self.adapt_A[:, self.n_adapt], self.adapt_b[:, self.n_adapt] = a_k, b_k
            self.n_adapt += 1
            return a_k, b_k
        self.fixed_counts[self.runs, setting * self.K + outcome] += 1
        return self.A[setting, outcome], self.b[setting, outcome]

    def past(self):
        """All copies so far as :class:`Data` (what the Metropolis-Hastings moves need)."""
        past = [Data(self.A_all, self.b_all, self.fixed_counts)]
        if self.n_adapt:
            past.append(Data(self.adapt_A[:, :self.n_adapt], self.adapt_b[:, :self.n_adapt],
                             np.ones((len(self.runs), self.n_adapt))))
        return past


def _draw(p_true, rng):
    """One outcome per run from its outcome probabilities (S, K), by one uniform per run."""
    outcome = (np.cumsum(p_true, axis=1) < rng.random((len(p_true), 1)) * p_true.sum(1, keepdims=True)).sum(1)
    return np.minimum(outcome, p_true.shape[1] - 1)


def _absorb_copy(filt, copies, a_k, b_k):
    """Bayes update of every bank with one copy's outcome; resample and move the banks whose ESS fell below N/2."""
    p = np.matmul(filt.x, a_k[:, :, None])[..., 0] + b_k[:, None]
    filt.logw += np.log(np.clip(p, 1e-300, None))
    filt.n_likelihood += p.size
    low = effective_sample_size(filt.logw) < filt.ess_threshold * filt.n_particles
    if low.any() and filt.mh_steps:
        filt.past = copies.past()
    filt.resample(low)


def run_per_copy(truth, scheme, n_max, n_particles, seed, record_at=(), mh_steps=2):
    """The per-copy (ABQT) filter: one Bayes update per measured copy; when the ESS drops below N/2, Liu-West
    resampling followed by ``mh_steps`` Metropolis-Hastings moves, as in :meth:`ParticleFilter.update`.

    Non-adaptive copies cycle through the fixed settings; an adaptive scheme measures every copy whose turn it
    is (a fraction ``adaptive_fraction`` of them, interleaved) in the eigenbasis of the current estimate,
    recomputed for that copy. The moves need every copy's likelihood: fixed settings as summed counts, each
    adaptive copy as one row, so a move costs time growing with n and the whole run more than linearly (the
    price of per-copy Bayesian adaptivity). Returns rows (n, state, infidelity, hs, seconds) at the copy counts
    in ``record_at`` and the filter.
    """
    data_rng = numpy_rng(seed, "data")
    filt = ParticleFilter(scheme.qubits, n_particles, len(truth), numpy_rng(seed, "filter"), mh_steps=mh_steps)
    copies = _Copies(truth, scheme, n_max, filt.k)
    record_at, rows, seconds = {int(n) for n in record_at}, [], 0.0
    for t in range(n_max):
        t0 = time.perf_counter()
        if scheme.is_adaptive_copy(t):
            Ead = Q.rotate(copies.ref, Q.eigenbasis(filt.estimate()))
            setting = Q.born_map(Ead)
            seconds += time.perf_counter() - t0
            p_true = Q.probabilities(truth, Ead)
        else:
            setting, p_true = copies.next_fixed()
        outcome = _draw(p_true, data_rng)
        t0 = time.perf_counter()
        _absorb_copy(filt, copies, *copies.add(setting, outcome))
        seconds += time.perf_counter() - t0
        if t + 1 in record_at:
            t0 = time.perf_counter()
            estimate = filt.estimate()
            seconds += time.perf_counter() - t0
            rows += [{**row, "seconds": seconds} for row in _rows(truth, estimate, n=t + 1)]
    return rows, filt
