"""A vectorised Bayesian particle filter (sequential Monte Carlo) for quantum state tomography.

The baseline of notebook 05 (Quek, Fort & Ng, arXiv:1812.06693), in the form of QInfer's ``SMCUpdater``
with the ``LiuWestResampler`` (Granade et al., arXiv:1509.03770) and the adaptive Bayesian tomography of
Huszar & Houlsby (PRA 85, 052120), but with no per-particle Python loop:

* particles are generalised Bloch vectors x (S, N, k) for S independent tomography runs (true states) at
  once, N particles each; Born probabilities are linear in x (``quantum.born_map``), so the likelihood of a
  whole batch of counts is one matrix product;
* the Bayes update multiplies the weights by the likelihood; when the effective sample size drops below
  ``ess_threshold * N`` the bank is resampled by Liu-West (a = 0.98, h = sqrt(1 - a**2)) and every particle is
  projected back onto the state space (Frobenius-nearest state, batched);
* data come in rounds whose batch of copies grows geometrically (:func:`geometric_schedule`); a batch whose
  likelihood would collapse the weights is applied in tempered steps L**phi (phi chosen by bisection so the
  ESS stays at the threshold), with a Liu-West move after each: the SMC posterior of the whole batch;
* :func:`run_per_copy` is the per-copy (ABQT) form, one Bayes update per measured copy, whose cost grows
  linearly with n: the "O(poly n)" side of the paper's timing claim;
* the adaptive choice measures part of each batch in the eigenbasis of the current estimate (Mahler et al.,
  PRL 111, 183601): see :class:`Scheme`.
"""

import time
from dataclasses import dataclass

import numpy as np

from . import quantum as Q

LIU_WEST_A = 0.98


def geometric_schedule(n_min, n_max, ratio=2):
    """Cumulative copy counts n_t = n_min * ratio**t up to the first one >= n_max, and the batch of each round."""
    if not (n_min >= 1 and n_max >= n_min and ratio > 1):
        raise ValueError(f"need 1 <= n_min <= n_max and ratio > 1, got n_min={n_min}, n_max={n_max}, ratio={ratio}")
    ns = [int(n_min)]
    while ns[-1] < n_max:
        ns.append(int(round(ns[-1] * ratio)))
    ns = np.array(ns)
    return ns, np.diff(ns, prepend=0)


def effective_sample_size(logw):
    """ESS = 1 / sum w_i**2 of normalised weights, per run (..., N) -> (...)."""
    w = normalise(logw)
    return 1.0 / np.sum(w * w, axis=-1)


def normalise(logw):
    """Normalised weights from log-weights (..., N)."""
    w = np.exp(logw - logw.max(-1, keepdims=True))
    return w / w.sum(-1, keepdims=True)


def systematic_indices(w, rng):
    """Systematic resampling: N ancestor indices per run drawn with probabilities w (S, N), one uniform per run.

    All runs at once: row s of the cumulative weights is shifted by s so the rows form one sorted array.
    """
    S, N = w.shape
    cum = np.cumsum(w, axis=1)
    cum[:, -1] = 1.0
    u = (rng.random((S, 1)) + np.arange(N)) / N
    flat = np.searchsorted((cum + np.arange(S)[:, None]).ravel(), (u + np.arange(S)[:, None]).ravel())
    return np.minimum(flat.reshape(S, N) - np.arange(S)[:, None] * N, N - 1)


def weighted_moments(x, w):
    """Weighted mean (S, k) and covariance (S, k, k) of particles x (S, N, k) with weights w (S, N)."""
    mean = np.einsum("sn,snj->sj", w, x)
    dx = x - mean[:, None, :]
    cov = np.einsum("sn,sni,snj->sij", w, dx, dx)
    return mean, cov


def psd_sqrt(cov):
    """A square root L with L L^T = cov for symmetric PSD matrices (S, k, k), via eigh (robust to rank loss)."""
    lam, V = np.linalg.eigh(cov)
    return V * np.sqrt(np.clip(lam, 0.0, None))[:, None, :]


def liu_west(x, logw, rng, qubits, a=LIU_WEST_A, max_redraws=50):
    """Liu-West resampling: x' = a x_j + (1 - a) mean + h L eps, j ~ w, h = sqrt(1 - a**2), L L^T = weighted cov.

    Preserves the weighted mean and covariance (a**2 + h**2 = 1). A draw that is not a state is drawn again
    (up to ``max_redraws`` times, as QInfer does), so the kernel is truncated to the state space; the few
    still outside are projected onto it. Redrawing matters: projecting every outside draw puts particles
    exactly on a face of the state space (a zero eigenvalue), where the bank's variance across the face
    vanishes and Liu-West can never move it off again. Returns new particles (S, N, k), weights uniform.
    """
    w = normalise(logw)
    mean, cov = weighted_moments(x, w)
    idx = systematic_indices(w, rng)
    centre = a * np.take_along_axis(x, idx[:, :, None], axis=1) + (1.0 - a) * mean[:, None, :]
    L = np.sqrt(1.0 - a * a) * psd_sqrt(cov)
    new = centre + np.einsum("sij,snj->sni", L, rng.standard_normal(x.shape))
    bad = ~Q.is_physical(new, qubits)
    for _ in range(max_redraws):
        if not bad.any():
            break
        s_idx, _ = np.nonzero(bad)
        new[bad] = centre[bad] + np.einsum("mij,mj->mi", L[s_idx], rng.standard_normal((len(s_idx), x.shape[-1])))
        bad[bad] = ~Q.is_physical(new[bad], qubits)
    if bad.any():
        new[bad] = Q.project_coords(new[bad], qubits)
    return new


# ---------------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Data:
    """Counts of one group of outcomes: p = b + A x per outcome; A (K, k) or (S, K, k), b (K,) or (S, K), counts (S, K)."""

    A: np.ndarray
    b: np.ndarray
    counts: np.ndarray


def log_likelihood(x, data):
    """Multinomial log-likelihood sum_k n_k log p_k(x) of every particle (S, N) for a list of :class:`Data`.

    Zero-count outcomes contribute nothing; probabilities are floored at 1e-300 so a particle that gives an
    observed outcome probability zero gets a very low, finite log-likelihood.
    """
    total = np.zeros(x.shape[:2])
    for d in data:
        if d.A.ndim == 2:
            p = x @ d.A.T + d.b
        else:
            p = np.matmul(x, np.swapaxes(d.A, -1, -2)) + d.b[:, None, :]
        total += np.matmul(np.log(np.clip(p, 1e-300, None)), d.counts[:, :, None].astype(np.float64))[..., 0]
    return total


def log_likelihood_grad(x, data):
    """The log-likelihood (S, N) and its gradient in x (S, N, k): sum_k n_k A_k / p_k, since p = b + A x.

    The 2-D case is summed with a matrix product over outcomes, as in :func:`log_likelihood`."""
    total, grad = np.zeros(x.shape[:2]), np.zeros(x.shape)
    for d in data:
        A_t = d.A.T if d.A.ndim == 2 else np.swapaxes(d.A, -1, -2)
        p = np.matmul(x, A_t) + (d.b if d.b.ndim == 1 else d.b[:, None, :])
        counts = d.counts[:, None, :].astype(np.float64)
        total += (counts * np.log(np.clip(p, 1e-300, None))).sum(-1)
        grad += np.matmul(counts / np.clip(p, 1e-12, None), d.A)  # floored so a boundary particle's gradient stays finite
    return total, grad


@dataclass(frozen=True)
class Scheme:
    """How a batch of copies is measured.

    kind: pauli (product Pauli bases), mub (mutually unbiased bases) or sic (the SIC-POVM). Non-adaptive: the
    batch is split evenly over the fixed settings. Adaptive: a fraction ``adaptive_fraction`` of it (default
    one half) is measured with the reference POVM rotated into the eigenbasis of the current estimate (for a
    basis kind, the eigenbasis itself), the rest as in the non-adaptive scheme. The non-adaptive half keeps the
    direction of the state identifiable: measuring only in the estimate's eigenbasis cannot move the
    eigenbasis once it is wrong (Mahler et al. split the copies the same way, once).
    """

    kind: str
    qubits: int
    adaptive: bool
    adaptive_fraction: float = 0.5

    def __post_init__(self):
        Q.fixed_povms(self.kind, self.qubits)  # validates kind and qubits
        if not 0 < self.adaptive_fraction <= 1:
            raise ValueError(f"adaptive_fraction={self.adaptive_fraction!r} must be in (0, 1]")

    @property
    def fixed(self):
        """The fixed settings (M, K, d, d), their Born maps A (M*K, k), b (M*K,)."""
        E = Q.fixed_povms(self.kind, self.qubits)
        A, b = Q.born_map(E)
        return E, A.reshape(-1, A.shape[-1]), b.reshape(-1)

    def adaptive_povms(self, estimate):
        """Per run, the reference POVM rotated into the eigenbasis of its estimate: (S, K, d, d)."""
        return Q.rotate(Q.reference_povm(self.kind, self.qubits), Q.eigenbasis(estimate))

    def split(self, shots):
        """(copies measured adaptively, copies per fixed setting (M,)) for a batch of ``shots`` copies."""
        n_adapt = int(round(shots * self.adaptive_fraction)) if self.adaptive else 0
        M = Q.fixed_povms(self.kind, self.qubits).shape[0]
        rest = shots - n_adapt
        per = np.full(M, rest // M)
        per[: rest % M] += 1
        return n_adapt, per

    def measure(self, truth, estimate, shots, rng):
        """Simulate one batch: list of :class:`Data` for states ``truth`` (S, d, d) given the current estimates."""
        n_adapt, per = self.split(shots)
        data = []
        E, A, b = self.fixed
        if per.sum():
            counts = Q.sample_counts(truth[:, None], E[None], per[None, :], rng)  # (S, M, K)
            data.append(Data(A, b, counts.reshape(len(truth), -1)))
        if n_adapt:
            Ead = self.adaptive_povms(estimate)
            Aad, bad = Q.born_map(Ead)
            data.append(Data(Aad, bad, Q.sample_counts(truth, Ead, n_adapt, rng)))
        return data


# ---------------------------------------------------------------------------------------------- filter


def _rows(data, rows):
    """The data of the runs selected by the boolean mask ``rows``."""
    return [Data(d.A if d.A.ndim == 2 else d.A[rows], d.b if d.b.ndim == 1 else d.b[rows], d.counts[rows])
            for d in data]


class ParticleFilter:
    """S independent particle banks of N particles over the states of ``qubits`` qubits.

    The prior is the Hilbert-Schmidt measure, which is the flat (Lebesgue) measure on the state space in the
    coordinates x: its density is constant inside and zero outside, so a Metropolis-Hastings move needs only
    the likelihood and a test of physicality.

    ``resampler(x, logw, rng, qubits, data) -> x'`` replaces Liu-West (the neural filter passes its network;
    ``data`` is the batch being absorbed, which Liu-West ignores).
    ``update(data)`` is the tempered SMC update of a batch: reweight, and whenever the ESS would fall below
    ``ess_threshold * N``, resample with Liu-West and then make ``mh_steps`` Metropolis-Hastings moves (Gaussian
    random walk scaled by 2.38 / sqrt(k) times the bank's covariance) targeting the posterior tempered so far.
    The moves are what keep two-qubit banks honest: with Liu-West alone (a = 0.98, as QInfer) a 15-dimensional
    bank of a few hundred particles stops following the data after a few rounds and the infidelity stalls at
    0.1-0.3; the moves need the data so far, which is kept as counts (fixed settings summed, one group per
    adaptive setting). ``update_once(data)`` is the neural filter's update: reweight by the whole batch, then one
    call of the resampler, no moves.
    Counters: ``n_resample`` (resampler calls, each over all S banks that need it), ``n_steps`` (tempering
    steps), ``n_likelihood`` (particle likelihood evaluations), ``n_moves`` and ``n_accepted`` (MH proposals).
    """

    def __init__(self, qubits, n_particles, n_runs, rng, resampler=None, mh_steps=2, ess_threshold=0.5,
                 max_steps=30):
        self.qubits, self.rng = qubits, rng
        self.k = Q.dim(qubits) ** 2 - 1
        states = Q.sample_states("hilbert-schmidt", qubits, n_runs * n_particles, rng)
        self.x = Q.to_coords(states).reshape(n_runs, n_particles, self.k)
        self.logw = np.zeros((n_runs, n_particles))
        self.resampler = resampler or (lambda x, logw, rng, qubits, data: liu_west(x, logw, rng, qubits))
        self.mh_steps, self.ess_threshold, self.max_steps = mh_steps, ess_threshold, max_steps
        self.past = []
        self.n_resample = self.n_likelihood = self.n_steps = self.n_moves = self.n_accepted = 0

    @property
    def n_particles(self):
        return self.x.shape[1]

    def mean(self):
        """Posterior-mean coordinates (S, k)."""
        return np.einsum("sn,snj->sj", normalise(self.logw), self.x)

    def estimate(self):
        """Posterior-mean density matrices (S, d, d): the Bayes estimate under the Hilbert-Schmidt loss."""
        return Q.from_coords(self.mean(), self.qubits)

    def absorb(self, data):
        """Add a batch to the data so far: counts of fixed settings are summed, adaptive settings concatenated."""
        for d in data:
            for i, g in enumerate(self.past):
                if d.A.ndim == 2 and g.A.ndim == 2 and g.A.shape == d.A.shape and np.array_equal(g.A, d.A):
                    self.past[i] = Data(g.A, g.b, g.counts + d.counts)
                    break
                if d.A.ndim == 3 and g.A.ndim == 3:  # per-run settings: one group with all their outcomes
                    self.past[i] = Data(np.concatenate([g.A, d.A], 1), np.concatenate([g.b, d.b], 1),
                                        np.concatenate([g.counts, d.counts], 1))
                    break
            else:
                self.past.append(d)

    def _log_target(self, x, past, current, phi):
        total = log_likelihood(x, past)
        if current:
            total += phi[:, None] * log_likelihood(x, current)
        self.n_likelihood += total.size
        return total

    def _move(self, rows, current, phi):
        """``mh_steps`` random-walk Metropolis-Hastings moves of the banks in ``rows`` (posterior tempered at phi)."""
        x, past, cur, phi = self.x[rows], _rows(self.past, rows), _rows(current, rows) if current else [], phi[rows]
        logp = self._log_target(x, past, cur, phi)
        for _ in range(self.mh_steps):
            _, cov = weighted_moments(x, np.full(x.shape[:2], 1.0 / x.shape[1]))
            L = (2.38 / np.sqrt(self.k)) * psd_sqrt(cov)
            prop = x + np.einsum("sij,snj->sni", L, self.rng.standard_normal(x.shape))
            ok = Q.is_physical(prop, self.qubits)
            logp_prop = np.where(ok, self._log_target(np.where(ok[..., None], prop, x), past, cur, phi), -np.inf)
            accept = np.log(self.rng.random(ok.shape)) < logp_prop - logp
            x = np.where(accept[..., None], prop, x)
            logp = np.where(accept, logp_prop, logp)
            self.n_moves += accept.size
            self.n_accepted += int(accept.sum())
        self.x[rows] = x

    def _resample(self, rows, current=None, phi=None):
        if rows.any():
            self.x[rows] = self.resampler(self.x[rows], self.logw[rows], self.rng, self.qubits,
                                          _rows(current, rows) if current else [])
            self.logw[rows] = 0.0
            self.n_resample += 1
            if self.mh_steps:
                self._move(rows, current, np.zeros(len(self.x)) if phi is None else phi)

    def update(self, data):
        """Bayes update with a batch, tempered so the ESS never drops below ``ess_threshold * N`` unresampled."""
        loglik = log_likelihood(self.x, data)
        self.n_likelihood += loglik.size
        target = self.ess_threshold * self.n_particles
        left, done = np.ones(len(self.x)), np.zeros(len(self.x))
        for _ in range(self.max_steps):
            active = left > 0
            if not active.any():
                break
            phi = np.where(active, self._step(loglik, left, target), 0.0)
            partial = active & (phi < left)
            self.logw += phi[:, None] * loglik
            left, done = np.where(partial, left - phi, 0.0), done + phi
            moved = partial | (effective_sample_size(self.logw) < target)
            self._resample(moved, data, done)
            self.n_steps += 1
            if (moved & (left > 0)).any():  # the moved particles need the batch's likelihood afresh
                loglik = log_likelihood(self.x, data)
                self.n_likelihood += loglik.size
        else:  # out of steps: apply what is left in one go
            self.logw += left[:, None] * loglik
            self._resample(effective_sample_size(self.logw) < target, data, done + left)
        if self.mh_steps:
            self.absorb(data)

    def _step(self, loglik, left, target, iters=40):
        """Per run, the largest exponent phi <= left with ESS(w L**phi) >= target (bisection), else left."""
        ok_full = effective_sample_size(self.logw + left[:, None] * loglik) >= target
        lo, hi = np.zeros_like(left), left.copy()
        for _ in range(iters):
            mid = (lo + hi) / 2
            good = effective_sample_size(self.logw + mid[:, None] * loglik) >= target
            lo, hi = np.where(good, mid, lo), np.where(good, hi, mid)
        # at least a small positive step, so a bank already below the target still moves on after resampling
        return np.where(ok_full, left, np.maximum(lo, left * 1e-6))

    def update_once(self, data):
        """Reweight by the whole batch and call the resampler once on every bank (the neural filter's update)."""
        loglik = log_likelihood(self.x, data)
        self.n_likelihood += loglik.size
        self.logw += loglik
        self.x = self.resampler(self.x, self.logw, self.rng, self.qubits, data)
        self.logw[:] = 0.0
        self.n_resample += 1
        self.n_steps += 1


def run_rounds(truth, scheme, ns, n_particles, seed, method="bayes", resampler=None, mh_steps=2):
    """Track S true states (S, d, d) through rounds ending at the cumulative copy counts ``ns``.

    method: "bayes" (tempered SMC with Liu-West) or "neural" (one resampler call per round; needs
    ``resampler``). The data and the filter draw from separate seeded streams, so non-adaptive runs of both
    methods see the same counts. Returns one row per (round, state) with n, the infidelity, the
    Hilbert-Schmidt distance of the estimate, and the processing seconds of the filter so far (data simulation
    not counted), plus the filter for its counters.
    """
    if method not in ("bayes", "neural") or (method == "neural" and resampler is None):
        raise ValueError(f"method={method!r}: choose 'bayes', or 'neural' with a resampler")
    ns = np.asarray(ns)
    batches = np.diff(ns, prepend=0)
    data_rng = np.random.default_rng([seed, 1])
    filt = ParticleFilter(scheme.qubits, n_particles, len(truth), np.random.default_rng([seed, 2]),
                          resampler=resampler, mh_steps=mh_steps if method == "bayes" else 0)
    update = filt.update if method == "bayes" else filt.update_once
    rows, seconds = [], 0.0
    estimate = filt.estimate()
    for t, (n, batch) in enumerate(zip(ns, batches)):
        data = scheme.measure(truth, estimate, int(batch), data_rng)
        t0 = time.perf_counter()
        update(data)
        estimate = filt.estimate()
        seconds += time.perf_counter() - t0
        inf, hs = Q.infidelity(truth, estimate), Q.hs_distance(truth, estimate)
        rows += [{"round": t, "n": int(n), "state": s, "infidelity": float(inf[s]), "hs": float(hs[s]),
                  "seconds": seconds, "steps": filt.n_steps} for s in range(len(truth))]
    return rows, filt


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
    data_rng = np.random.default_rng([seed, 1])
    filt = ParticleFilter(scheme.qubits, n_particles, len(truth), np.random.default_rng([seed, 2]), mh_steps=mh_steps)
    S, k = len(truth), filt.k
    E, A_all, b_all = scheme.fixed
    M, K = E.shape[:2]
    A, b = A_all.reshape(M, K, -1), b_all.reshape(M, K)
    P_true = Q.probabilities(truth[:, None], E[None])  # (S, M, K)
    ref = Q.reference_povm(scheme.kind, scheme.qubits)
    target = filt.ess_threshold * n_particles
    fixed_counts = np.zeros((S, M * K), dtype=np.int64)
    adapt_A, adapt_b, n_adapt = np.zeros((S, n_max, k)), np.zeros((S, n_max)), 0
    record_at, rows, seconds, fixed_turn = {int(n) for n in record_at}, [], 0.0, 0
    runs = np.arange(S)
    for t in range(n_max):
        adaptive = scheme.adaptive and np.floor((t + 1) * scheme.adaptive_fraction) > np.floor(t * scheme.adaptive_fraction)
        t0 = time.perf_counter()
        if adaptive:
            Ead = Q.rotate(ref, Q.eigenbasis(filt.estimate()))
            Aad, bad = Q.born_map(Ead)
            seconds += time.perf_counter() - t0
            p_true = Q.probabilities(truth, Ead)
        else:
            m = fixed_turn % M
            fixed_turn += 1
            p_true = P_true[:, m]
        outcome = (np.cumsum(p_true, axis=1) < data_rng.random((S, 1)) * p_true.sum(1, keepdims=True)).sum(1)
        outcome = np.minimum(outcome, p_true.shape[1] - 1)
        t0 = time.perf_counter()
        if adaptive:
            a_k, b_k = Aad[runs, outcome], bad[runs, outcome]
            adapt_A[:, n_adapt], adapt_b[:, n_adapt] = a_k, b_k
            n_adapt += 1
        else:
            a_k, b_k = A[m, outcome], b[m, outcome]
            fixed_counts[runs, m * K + outcome] += 1
        p = np.matmul(filt.x, a_k[:, :, None])[..., 0] + b_k[:, None]
        filt.logw += np.log(np.clip(p, 1e-300, None))
        filt.n_likelihood += p.size
        low = effective_sample_size(filt.logw) < target
        if low.any() and mh_steps:
            filt.past = [Data(A_all, b_all, fixed_counts)]
            if n_adapt:
                filt.past.append(Data(adapt_A[:, :n_adapt], adapt_b[:, :n_adapt], np.ones((S, n_adapt))))
        filt._resample(low)
        seconds += time.perf_counter() - t0
        if t + 1 in record_at:
            t0 = time.perf_counter()
            estimate = filt.estimate()
            seconds += time.perf_counter() - t0
            inf, hs = Q.infidelity(truth, estimate), Q.hs_distance(truth, estimate)
            rows += [{"n": t + 1, "state": s, "infidelity": float(inf[s]), "hs": float(hs[s]), "seconds": seconds}
                     for s in range(S)]
    return rows, filt
