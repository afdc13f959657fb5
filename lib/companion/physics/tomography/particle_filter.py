"""A vectorised Bayesian particle filter (sequential Monte Carlo) for quantum state tomography.

The baseline of notebook 05 (Quek, Fort & Ng, arXiv:1812.06693), in the form of QInfer's ``SMCUpdater``
with the ``LiuWestResampler`` (Granade et al., arXiv:1509.03770) and the adaptive Bayesian tomography of
Huszar & Houlsby (PRA 85, 052120), but with no per-particle Python loop:

* particles are generalised Bloch vectors x (S, N, k) for S independent tomography runs (true states) at
  once, N particles each; Born probabilities are linear in x (``quantum.born_map``), so the likelihood of a
  whole batch of counts is one matrix product (:mod:`.measurement`);
* the Bayes update multiplies the weights by the likelihood; when the effective sample size drops below
  ``ess_threshold * N`` the bank is resampled by Liu-West (a = 0.98, h = sqrt(1 - a**2)) and every particle is
  projected back onto the state space (Frobenius-nearest state, batched);
* a batch whose likelihood would collapse the weights is applied in tempered steps L**phi (phi chosen by
  bisection so the ESS stays at the threshold), with a Liu-West move after each: the SMC posterior of the
  whole batch. :mod:`.runs` feeds it rounds of copies, or one copy at a time.
"""

import numpy as np

from . import quantum as Q
from .measurement import Data, log_likelihood, rows_of

LIU_WEST_A = 0.98


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
        x, past, cur, phi = self.x[rows], rows_of(self.past, rows), rows_of(current, rows) if current else [], phi[rows]
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

    def resample(self, rows, current=None, phi=None):
        """Resample the banks in ``rows`` (a mask) and move them, given the batch ``current`` tempered at ``phi``."""
        if rows.any():
            self.x[rows] = self.resampler(self.x[rows], self.logw[rows], self.rng, self.qubits,
                                          rows_of(current, rows) if current else [])
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
            self.resample(moved, data, done)
            self.n_steps += 1
            if (moved & (left > 0)).any():  # the moved particles need the batch's likelihood afresh
                loglik = log_likelihood(self.x, data)
                self.n_likelihood += loglik.size
        else:  # out of steps: apply what is left in one go
            self.logw += left[:, None] * loglik
            self.resample(effective_sample_size(self.logw) < target, data, done + left)
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
