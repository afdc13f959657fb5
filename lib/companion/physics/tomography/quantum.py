"""Quantum states and measurements for one and two qubits: the physics under the tomography notebook (05).

Conventions used everywhere in the companion:

* A state of q qubits is a d x d density matrix (d = 2**q), complex128. The same state in real coordinates
  is its generalised Bloch vector x in R^k, k = d**2 - 1, with x_j = Tr(rho P_j) over the non-identity Pauli
  strings P_j, so rho = (I + sum_j x_j P_j) / d. Born probabilities are *linear* in x (:func:`born_map`),
  which is what makes the particle filter cheap.
* Fidelity is the squared (Uhlmann-Jozsa) fidelity F = (Tr sqrt(sqrt(rho) sigma sqrt(rho)))**2, so
  infidelity 1 - F ~ D_B**2 for close states, with the Bures distance D_B**2 = 2 (1 - sqrt(F)).
* The Hilbert-Schmidt distance is the Frobenius norm ||rho - sigma||_F (not squared).
* A POVM is an array (K, d, d) of elements summing to the identity; a *setting* is one POVM. Basis
  measurements have K = d rank-one projectors; the SIC-POVM has K = d**2 elements |psi_k><psi_k| / d.

Every random draw takes an explicit ``numpy.random.Generator``.
"""

from functools import cache
from itertools import product

import numpy as np
from scipy.optimize import least_squares

PRIORS = ("haar", "hilbert-schmidt", "bures")
POVMS = ("pauli", "mub", "sic")

_PAULI_1 = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=np.complex128)
_LABELS_1 = "XYZ"
# Eigenbases of X, Y, Z as unitaries whose columns are the eigenvectors, eigenvalue +1 first.
_EIGENBASES_1 = np.array([np.array([[1, 1], [1, -1]]) / np.sqrt(2), np.array([[1, 1], [1j, -1j]]) / np.sqrt(2),
                          np.eye(2)], dtype=np.complex128)


def dim(qubits):
    """Hilbert-space dimension d = 2**qubits (one or two qubits are supported)."""
    if qubits not in (1, 2):
        raise ValueError(f"qubits={qubits!r} is not supported; choose 1 or 2")
    return 2 ** qubits


@cache
def pauli_strings(qubits):
    """The k = d**2 - 1 non-identity Pauli strings (k, d, d) and their labels ("X", ..., "XY", ...).

    Ordered lexicographically over I, X, Y, Z with the all-identity string left out; Tr(P_i P_j) = d delta_ij.
    """
    ops = [np.eye(2, dtype=np.complex128), *_PAULI_1]
    names = "I" + _LABELS_1
    strings, labels = [], []
    for idx in product(range(4), repeat=qubits):
        if not any(idx):
            continue
        m = np.ones((1, 1), dtype=np.complex128)
        for i in idx:
            m = np.kron(m, ops[i])
        strings.append(m)
        labels.append("".join(names[i] for i in idx))
    out = np.array(strings)
    out.setflags(write=False)
    return out, tuple(labels)


def qubits_of(d):
    """Number of qubits of a dimension d (2 or 4)."""
    return {2: 1, 4: 2}[int(d)]


def to_coords(rho):
    """Generalised Bloch vector x_j = Tr(rho P_j) of density matrices (..., d, d) -> real (..., k)."""
    P, _ = pauli_strings(qubits_of(rho.shape[-1]))
    return np.einsum("...ab,jba->...j", rho, P).real


def from_coords(x, qubits):
    """Density matrices rho = (I + sum_j x_j P_j) / d from real coordinates (..., k); complex128."""
    d = dim(qubits)
    x = np.asarray(x, dtype=np.float64)
    flat = x.reshape(-1, x.shape[-1])
    rho = np.empty((len(flat), d * d), dtype=np.complex128)
    rho.real, rho.imag = flat @ _real_part(qubits), flat @ _imag_part(qubits)  # two real products: faster
    rho = rho.reshape(*x.shape[:-1], d, d)
    rho += np.eye(d)
    return rho / d


@cache
def _real_part(qubits):
    P, _ = pauli_strings(qubits)
    return np.ascontiguousarray(P.real.reshape(len(P), -1))


@cache
def _imag_part(qubits):
    P, _ = pauli_strings(qubits)
    return np.ascontiguousarray(P.imag.reshape(len(P), -1))


def from_cholesky(T):
    """rho = T T^dagger / Tr(T T^dagger): positive and of unit trace for any non-zero complex T (..., d, d).

    The parametrisation that keeps a state physical without constraints (lower-triangular T gives each
    state once; any T works).
    """
    M = T @ np.conj(np.swapaxes(T, -1, -2))
    return M / np.trace(M, axis1=-2, axis2=-1).real[..., None, None]


def is_state(rho, atol=1e-10):
    """Whether every matrix in ``rho`` (..., d, d) is Hermitian, positive semidefinite and of unit trace."""
    rho = np.asarray(rho)
    herm = np.allclose(rho, np.conj(np.swapaxes(rho, -1, -2)), atol=atol)
    if not herm:
        return False
    trace = np.trace(rho, axis1=-2, axis2=-1)
    eig = np.linalg.eigvalsh(rho)
    return bool(np.allclose(trace, 1.0, atol=atol) and (eig >= -atol).all())


def is_physical(x, qubits, atol=1e-12):
    """Whether coordinates (..., k) describe states, without an eigendecomposition (vectorised, cheap).

    One qubit: |x| <= 1. Two qubits: a Hermitian matrix is positive semidefinite iff every elementary
    symmetric polynomial e_1..e_d of its eigenvalues is >= 0; they follow from the power traces Tr rho^m by
    Newton's identities (rho^2 by one batched product, Tr rho^4 = ||rho^2||_F^2).
    """
    x = np.asarray(x, dtype=np.float64)
    if qubits == 1:
        return np.einsum("...j,...j->...", x, x) <= 1.0 + atol
    rho = from_coords(x, qubits)
    rho2 = rho @ rho
    p1 = np.ones(x.shape[:-1])
    p2 = (1.0 + np.einsum("...j,...j->...", x, x)) / dim(qubits)  # Tr rho^2 = (1 + |x|^2) / d
    p3 = (rho2 * np.swapaxes(rho, -1, -2)).sum((-2, -1)).real
    p4 = (rho2.real ** 2 + rho2.imag ** 2).sum((-2, -1))
    e2 = (p1 * p1 - p2) / 2
    e3 = (e2 * p1 - p1 * p2 + p3) / 3
    e4 = (e3 * p1 - e2 * p2 + p1 * p3 - p4) / 4
    return (e2 >= -atol) & (e3 >= -atol) & (e4 >= -atol)


def project_simplex(v):
    """Euclidean projection of each row of ``v`` (..., m) onto the probability simplex (sort-based, vectorised)."""
    u = -np.sort(-v, axis=-1)
    css = np.cumsum(u, axis=-1) - 1.0
    idx = np.arange(1, v.shape[-1] + 1)
    cond = u - css / idx > 0
    r = cond.shape[-1] - np.argmax(cond[..., ::-1], axis=-1)  # last index where cond holds (1-based)
    theta = np.take_along_axis(css, (r - 1)[..., None], axis=-1) / r[..., None]
    return np.maximum(v - theta, 0.0)


def project_to_states(rho):
    """The nearest density matrix in Frobenius norm to each Hermitian matrix in ``rho`` (..., d, d).

    Eigendecompose, project the eigenvalues onto the simplex, rebuild (Smolin, Gambetta & Smith 2012). A
    state is left unchanged; this is the "projection back to physical states" after a resampling move.
    """
    rho = (rho + np.conj(np.swapaxes(rho, -1, -2))) / 2
    lam, V = np.linalg.eigh(rho)
    lam = project_simplex(lam)
    return (V * lam[..., None, :]) @ np.conj(np.swapaxes(V, -1, -2))


def project_coords(x, qubits):
    """Project real coordinates (..., k) onto the state space (Frobenius-nearest state), returning coordinates.

    One qubit: the state space is the unit Bloch ball and the Frobenius projection clips |x| to 1, done
    without an eigendecomposition. Two qubits: :func:`project_to_states` on the matrices.
    """
    x = np.asarray(x, dtype=np.float64)
    if qubits == 1:
        r = np.linalg.norm(x, axis=-1, keepdims=True)
        return x / np.maximum(r, 1.0)
    return to_coords(project_to_states(from_coords(x, qubits)))


# ---------------------------------------------------------------------------------------------- priors


def haar_unitary(d, size, rng):
    """``size`` Haar-random d x d unitaries (QR of a Ginibre matrix with the phases of R's diagonal fixed)."""
    Z = (rng.standard_normal((size, d, d)) + 1j * rng.standard_normal((size, d, d))) / np.sqrt(2)
    Q, R = np.linalg.qr(Z)
    phase = np.diagonal(R, axis1=-2, axis2=-1)
    return Q * (phase / np.abs(phase))[:, None, :]


def sample_states(prior, qubits, size, rng):
    """``size`` density matrices (size, d, d) drawn from ``prior``.

    haar: pure states |psi><psi| with psi uniform on the unit sphere; hilbert-schmidt: G G^dag / Tr with G
    complex Ginibre d x d (the induced measure of rank d); bures: (I + U) G G^dag (I + U)^dag / Tr with U Haar
    (Osipov, Sommers & Zyczkowski 2010).
    """
    d = dim(qubits)
    if prior not in PRIORS:
        raise ValueError(f"prior={prior!r} is not known; choose one of {list(PRIORS)}")
    if prior == "haar":
        psi = rng.standard_normal((size, d)) + 1j * rng.standard_normal((size, d))
        psi /= np.linalg.norm(psi, axis=-1, keepdims=True)
        return psi[:, :, None] * np.conj(psi[:, None, :])
    G = rng.standard_normal((size, d, d)) + 1j * rng.standard_normal((size, d, d))
    if prior == "bures":
        G = (np.eye(d) + haar_unitary(d, size, rng)) @ G
    return from_cholesky(G)


# ---------------------------------------------------------------------------------------------- POVMs


def basis_povm(U):
    """Projectors onto the columns of the unitaries ``U`` (..., d, d): a POVM (..., d, d, d) per unitary."""
    return np.einsum("...ak,...bk->...kab", U, np.conj(U))


def rotate(povm, U):
    """Elements U E U^dag of a POVM (K, d, d) for each unitary in ``U`` (..., d, d) -> (..., K, d, d)."""
    return np.einsum("...ab,kbc,...dc->...kad", U, povm, np.conj(U))


@cache
def pauli_bases(qubits):
    """Unitaries (3**q, d, d) of the product Pauli bases (XX, XY, ..., ZZ): the standard tomography settings."""
    out = []
    for idx in product(range(3), repeat=qubits):
        U = np.ones((1, 1), dtype=np.complex128)
        for i in idx:
            U = np.kron(U, _EIGENBASES_1[i])
        out.append(U)
    out = np.array(out)
    out.setflags(write=False)
    return out


@cache
def mub_bases(qubits):
    """Unitaries (d + 1, d, d) of a complete set of mutually unbiased bases.

    One qubit: the X, Y, Z eigenbases. Two qubits: the common eigenbases of the five sets of three commuting
    Pauli strings {ZI, IZ, ZZ}, {XI, IX, XX}, {YI, IY, YY}, {XY, YZ, ZX}, {YX, ZY, XZ}, found by diagonalising
    P_1 + 2 P_2 (eigenvalues +-1 +-2 are distinct, so the basis is unique up to phases).
    """
    if qubits == 1:
        return pauli_bases(1)
    P, labels = pauli_strings(2)
    op = dict(zip(labels, P))
    sets = [("ZI", "IZ"), ("XI", "IX"), ("YI", "IY"), ("XY", "YZ"), ("YX", "ZY")]
    out = np.array([np.linalg.eigh(op[a] + 2 * op[b])[1] for a, b in sets])
    out.setflags(write=False)
    return out


def weyl_heisenberg(d):
    """The d**2 displacement operators X^a Z^b (a, b = 0..d-1) with X|j> = |j+1>, Z|j> = w^j |j>, w = e^(2 pi i/d)."""
    X = np.roll(np.eye(d, dtype=np.complex128), 1, axis=0)
    Z = np.diag(np.exp(2j * np.pi * np.arange(d) / d))
    return np.array([np.linalg.matrix_power(X, a) @ np.linalg.matrix_power(Z, b) for a in range(d) for b in range(d)])


@cache
def sic_fiducial(d):
    """A Weyl-Heisenberg covariant SIC fiducial vector in dimension d (2 or 4), found numerically.

    Solves |<psi|D|psi>|^2 = 1/(d+1) for every displacement D != I by least squares (Levenberg-Marquardt)
    from seeded starts, to machine precision; the orbit {D psi} then has |<psi_i|psi_j>|^2 = 1/(d+1) for i != j (unit-tested).
    """
    D = weyl_heisenberg(d)[1:]
    target = 1.0 / (d + 1)

    def residuals(v):
        psi = v[:d] + 1j * v[d:]
        psi = psi / np.linalg.norm(psi)
        overlaps = np.abs(np.einsum("a,kab,b->k", np.conj(psi), D, psi)) ** 2 - target
        return np.append(overlaps, [np.sum(v ** 2) - 1.0, v[d]])  # fix the norm and the global phase

    rng = np.random.default_rng(12345)
    for _ in range(200):
        res = least_squares(residuals, rng.standard_normal(2 * d), method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
        if np.abs(res.fun).max() < 1e-13:
            psi = res.x[:d] + 1j * res.x[d:]
            psi = psi / np.linalg.norm(psi)
            psi = psi * np.exp(-1j * np.angle(psi[0]))
            psi.setflags(write=False)
            return psi
    raise RuntimeError(f"no SIC fiducial found in dimension {d}")


@cache
def sic_povm(d):
    """The SIC-POVM (d**2, d, d): elements |psi_k><psi_k| / d over the Weyl-Heisenberg orbit of the fiducial."""
    psi = np.einsum("kab,b->ka", weyl_heisenberg(d), sic_fiducial(d))
    out = psi[:, :, None] * np.conj(psi[:, None, :]) / d
    out.setflags(write=False)
    return out


def fixed_povms(kind, qubits):
    """The non-adaptive settings of a measurement kind as POVMs (M, K, d, d).

    pauli: the 3**q product Pauli bases; mub: the d + 1 mutually unbiased bases; sic: the one SIC-POVM.
    """
    if kind not in POVMS:
        raise ValueError(f"povm={kind!r} is not known; choose one of {list(POVMS)}")
    d = dim(qubits)
    if kind == "pauli":
        return basis_povm(pauli_bases(qubits))
    if kind == "mub":
        return basis_povm(mub_bases(qubits))
    return sic_povm(d)[None]


def reference_povm(kind, qubits):
    """The POVM (K, d, d) that an adaptive step rotates into the estimate's eigenbasis.

    Basis kinds: the computational basis, so the rotated setting measures in the eigenbasis itself. SIC: the
    fiducial SIC in its standard Weyl-Heisenberg orientation.
    """
    d = dim(qubits)
    return sic_povm(d) if kind == "sic" else basis_povm(np.eye(d, dtype=np.complex128))


def eigenbasis(rho):
    """Unitaries (..., d, d) whose columns are the eigenvectors of ``rho``, largest eigenvalue first."""
    _, V = np.linalg.eigh(rho)
    return V[..., ::-1]


def born_map(povm):
    """(A, b) with Born probabilities p_k = b_k + A_k . x for coordinates x: A (..., K, k), b (..., K), real.

    Tr(rho E_k) = (Tr E_k + sum_j x_j Tr(E_k P_j)) / d.
    """
    d = povm.shape[-1]
    P, _ = pauli_strings(qubits_of(d))
    A = np.einsum("...kab,jba->...kj", povm, P).real / d
    b = np.trace(povm, axis1=-2, axis2=-1).real / d
    return A, b


def probabilities(rho, povm):
    """Born probabilities Tr(rho E_k) (..., K) for states (..., d, d) and POVMs (..., K, d, d)."""
    return np.einsum("...ab,...kba->...k", rho, povm).real


def sample_counts(rho, povm, shots, rng):
    """Multinomial outcome counts (..., K) of ``shots`` copies of each state measured with its POVM."""
    p = np.clip(probabilities(rho, povm), 0.0, None)
    p = p / p.sum(-1, keepdims=True)
    shots = np.broadcast_to(np.asarray(shots, dtype=np.int64), p.shape[:-1])
    return rng.multinomial(shots, p)


# ---------------------------------------------------------------------------------------------- distances


EIG_FLOOR = 1e-14  # eigenvalues below this (rounding noise of eigh on unit-trace matrices) count as zero


def _psd_sqrt(rho):
    lam, V = np.linalg.eigh((rho + np.conj(np.swapaxes(rho, -1, -2))) / 2)
    lam = np.where(lam > EIG_FLOOR, lam, 0.0)
    return (V * np.sqrt(lam)[..., None, :]) @ np.conj(np.swapaxes(V, -1, -2))


def fidelity(rho, sigma):
    """Squared fidelity F = (Tr sqrt(sqrt(rho) sigma sqrt(rho)))**2 of states (..., d, d), in [0, 1].

    Computed as the squared sum of the singular values of sqrt(rho) sqrt(sigma) (the same number): singular
    values carry an absolute error of about 1e-16, where the square roots of the eigenvalues of
    sqrt(rho) sigma sqrt(rho) would carry 1e-8 for nearly pure states.
    """
    sv = np.linalg.svd(_psd_sqrt(rho) @ _psd_sqrt(sigma), compute_uv=False)
    return np.clip(sv.sum(-1) ** 2, 0.0, 1.0)


def infidelity(rho, sigma):
    """1 - F with the squared fidelity of :func:`fidelity`."""
    return 1.0 - fidelity(rho, sigma)


def bures_distance(rho, sigma):
    """Bures distance D_B = sqrt(2 (1 - sqrt(F)))."""
    return np.sqrt(np.clip(2.0 * (1.0 - np.sqrt(fidelity(rho, sigma))), 0.0, None))


def hs_distance(rho, sigma):
    """Hilbert-Schmidt distance ||rho - sigma||_F."""
    diff = rho - sigma
    return np.sqrt(np.einsum("...ab,...ab->...", diff, np.conj(diff)).real)
