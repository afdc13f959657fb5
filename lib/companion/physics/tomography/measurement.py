"""Measured data and how it is taken: counts with their linear Born maps, their likelihood, and the schemes
(fixed or adaptive settings) that simulate a batch of copies.

Born probabilities are linear in the coordinates x (``quantum.born_map``), p = b + A x, so the likelihood of a
whole batch of counts at every particle is one matrix product.
"""

from dataclasses import dataclass

import numpy as np

from . import quantum as Q


@dataclass(frozen=True)
class Data:
    """Counts of one group of outcomes: p = b + A x per outcome; A (K, k) or (S, K, k), b (K,) or (S, K), counts (S, K)."""

    A: np.ndarray
    b: np.ndarray
    counts: np.ndarray


def rows_of(data, rows):
    """The data of the runs selected by the boolean mask ``rows``."""
    return [Data(d.A if d.A.ndim == 2 else d.A[rows], d.b if d.b.ndim == 1 else d.b[rows], d.counts[rows])
            for d in data]


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

    def is_adaptive_copy(self, t):
        """Whether copy ``t`` of a per-copy run is measured adaptively: a share ``adaptive_fraction``, interleaved."""
        f = self.adaptive_fraction
        return self.adaptive and np.floor((t + 1) * f) > np.floor(t * f)

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
