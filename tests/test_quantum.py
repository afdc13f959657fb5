"""Quantum states, POVMs, measurement schemes, the particle filter and the tomography runs, each checked against an
exact answer on a case small enough to know it (notebook 05; the neural resampler and the experiment functions
are in test_neural_adaptive_tomography.py).

Fidelity convention: squared, F = (Tr sqrt(sqrt(rho) sigma sqrt(rho)))**2.
"""

import numpy as np
import pandas as pd
import pytest
from companion.physics.tomography import measurement as M
from companion.physics.tomography import neural, runs
from companion.physics.tomography import particle_filter as PF
from companion.physics.tomography import quantum as Q


def rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------------------------- states


@pytest.mark.parametrize("qubits", [1, 2])
@pytest.mark.parametrize("prior", Q.PRIORS)
def test_priors_give_states_and_fidelity_of_a_state_with_itself_is_one(qubits, prior):
    rho = Q.sample_states(prior, qubits, 50, rng())
    assert rho.dtype == np.complex128 and Q.is_state(rho)
    assert Q.fidelity(rho, rho) == pytest.approx(np.ones(50), abs=1e-12)
    assert Q.infidelity(rho, rho) == pytest.approx(np.zeros(50), abs=1e-12)
    assert Q.bures_distance(rho, rho) == pytest.approx(np.zeros(50), abs=1e-6)
    assert Q.hs_distance(rho, rho) == pytest.approx(np.zeros(50), abs=1e-12)


@pytest.mark.parametrize("qubits", [1, 2])
def test_fidelity_matches_closed_forms(qubits):
    d = 2 ** qubits
    psi = Q.sample_states("haar", qubits, 20, rng(1))
    sigma = Q.sample_states("hilbert-schmidt", qubits, 20, rng(2))
    # a pure state against anything: F = <psi|sigma|psi> = Tr(psi sigma)
    assert Q.fidelity(psi, sigma) == pytest.approx(np.einsum("nab,nba->n", psi, sigma).real, abs=1e-12)
    assert Q.fidelity(sigma, psi) == pytest.approx(Q.fidelity(psi, sigma), abs=1e-10)  # symmetric
    # commuting (diagonal) states: F = (sum_i sqrt(p_i q_i))**2
    p, q = rng(3).dirichlet(np.ones(d), 10), rng(4).dirichlet(np.ones(d), 10)
    diag = lambda v: np.einsum("ni,ij->nij", v, np.eye(d)).astype(np.complex128)
    assert Q.fidelity(diag(p), diag(q)) == pytest.approx(np.sqrt(p * q).sum(1) ** 2, abs=1e-12)
    # orthogonal pure states
    e0, e1 = np.zeros((d, d), complex), np.zeros((d, d), complex)
    e0[0, 0], e1[1, 1] = 1, 1
    assert Q.fidelity(e0, e1) == pytest.approx(0.0, abs=1e-12)


def test_bures_and_hilbert_schmidt_relations():
    psi, phi = Q.sample_states("haar", 2, 30, rng(5)), Q.sample_states("haar", 2, 30, rng(6))
    F = Q.fidelity(psi, phi)
    assert Q.bures_distance(psi, phi) ** 2 == pytest.approx(2 * (1 - np.sqrt(F)), abs=1e-12)
    # pure states: ||psi - phi||_F^2 = 2 (1 - F) exactly
    assert Q.hs_distance(psi, phi) ** 2 == pytest.approx(2 * (1 - F), abs=1e-12)
    # close states: 1 - F ~ D_B^2 with the squared fidelity (ratio -> 1)
    rho = Q.sample_states("hilbert-schmidt", 2, 30, rng(7))
    for eps in (1e-2, 1e-4):
        close = (1 - eps) * rho + eps * Q.sample_states("hilbert-schmidt", 2, 30, rng(8))
        ratio = Q.infidelity(rho, close) / Q.bures_distance(rho, close) ** 2
        assert ratio == pytest.approx(np.ones(30), abs=3 * eps ** 0.5)


@pytest.mark.parametrize("qubits", [1, 2])
def test_coordinates_round_trip_and_physicality_test(qubits):
    rho = Q.sample_states("bures", qubits, 10, rng())
    x = Q.to_coords(rho)
    assert np.abs(Q.from_coords(x, qubits) - rho).max() < 1e-14
    k = 4 ** qubits - 1
    y = rng(1).normal(size=(4000, k)) * (0.6 if qubits == 1 else 0.2)
    exact = np.linalg.eigvalsh(Q.from_coords(y, qubits)).min(-1) >= -1e-12
    assert 0.05 < exact.mean() < 0.95
    assert (Q.is_physical(y, qubits) == exact).all()
    assert Q.is_physical(x, qubits).all()
    T = rng(2).normal(size=(5, 2 ** qubits, 2 ** qubits)) + 1j * rng(3).normal(size=(5, 2 ** qubits, 2 ** qubits))
    assert Q.is_state(Q.from_cholesky(T))


def test_haar_states_are_pure_and_hilbert_schmidt_purity_matches_its_mean():
    for qubits in (1, 2):
        d = 2 ** qubits
        purity = lambda r: np.einsum("nab,nba->n", r, r).real
        assert purity(Q.sample_states("haar", qubits, 100, rng())) == pytest.approx(np.ones(100), abs=1e-12)
        # E Tr rho^2 = 2d / (d^2 + 1) for the Hilbert-Schmidt measure
        assert purity(Q.sample_states("hilbert-schmidt", qubits, 20000, rng())).mean() == pytest.approx(
            2 * d / (d * d + 1), abs=0.01)


def test_projection_finds_the_nearest_state():
    assert np.allclose(Q.project_to_states(np.diag([1.2, -0.2]).astype(complex)), np.diag([1.0, 0.0]))
    assert np.allclose(Q.project_simplex(np.array([0.5, 0.5, 0.5, -1.0])), [1 / 3, 1 / 3, 1 / 3, 0])
    rho = Q.sample_states("hilbert-schmidt", 2, 10, rng())
    assert np.abs(Q.project_to_states(rho) - rho).max() < 1e-12  # states stay put
    x = rng(1).normal(size=(200, 15))
    proj = Q.project_to_states(Q.from_coords(x, 2))
    assert Q.is_state(proj)
    # no random state is closer than the projection (Frobenius)
    M = Q.from_coords(x[:1], 2)[0]
    others = Q.sample_states("hilbert-schmidt", 2, 2000, rng(2))
    assert np.linalg.norm(M - proj[0]) <= np.linalg.norm(M - others, axis=(1, 2)).min()
    # one qubit: the coordinate projection clips the Bloch vector to the unit ball, as the matrix projection
    y = rng(3).normal(size=(50, 3)) * 2
    assert np.allclose(Q.project_coords(y, 1), Q.to_coords(Q.project_to_states(Q.from_coords(y, 1))))


# ---------------------------------------------------------------------------------------------- POVMs


@pytest.mark.parametrize("qubits", [1, 2])
@pytest.mark.parametrize("kind", Q.POVMS)
def test_povm_elements_sum_to_identity_and_are_positive(qubits, kind):
    d = 2 ** qubits
    E = Q.fixed_povms(kind, qubits)
    assert np.abs(E.sum(1) - np.eye(d)).max() < 1e-12
    assert (np.linalg.eigvalsh(E) > -1e-12).all()
    U = Q.haar_unitary(d, 3, rng())
    rotated = Q.rotate(Q.reference_povm(kind, qubits), U)
    assert np.abs(rotated.sum(1) - np.eye(d)).max() < 1e-12


@pytest.mark.parametrize("d", [2, 4])
def test_sic_and_mub_overlaps(d):
    S = Q.sic_povm(d) * d  # rank-one projectors
    overlap = np.einsum("iab,jba->ij", S, S).real
    assert overlap == pytest.approx(np.where(np.eye(d * d, dtype=bool), 1.0, 1.0 / (d + 1)), abs=1e-10)
    M = Q.mub_bases(Q.qubits_of(d))
    assert len(M) == d + 1
    inner = np.abs(np.einsum("iak,jal->ijkl", np.conj(M), M)) ** 2
    for i in range(d + 1):
        for j in range(d + 1):
            expected = np.eye(d) if i == j else np.full((d, d), 1.0 / d)
            assert inner[i, j] == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("qubits", [1, 2])
def test_born_map_and_sampling(qubits):
    rho = Q.sample_states("hilbert-schmidt", qubits, 6, rng())
    for kind in Q.POVMS:
        E = Q.fixed_povms(kind, qubits)
        A, b = Q.born_map(E)
        p = Q.probabilities(rho[:, None], E[None])
        assert np.abs(b + np.einsum("mkj,sj->smk", A, Q.to_coords(rho)) - p).max() < 1e-12
        assert p.sum(-1) == pytest.approx(np.ones(p.shape[:-1]))
    E = Q.fixed_povms("sic", qubits)[0]
    counts = Q.sample_counts(rho, E, 200000, rng(1))
    assert (counts.sum(-1) == 200000).all()
    assert np.abs(counts / 200000 - Q.probabilities(rho, E)).max() < 0.01


def test_eigenbasis_puts_the_largest_eigenvalue_first():
    rho = np.diag([0.1, 0.6, 0.3]).astype(complex)
    U = Q.eigenbasis(rho)
    assert np.abs(np.abs(U[:, 0]) - [0, 1, 0]).max() < 1e-12
    assert np.abs(np.abs(U[:, 1]) - [0, 0, 1]).max() < 1e-12


# ---------------------------------------------------------------------------------------------- filter


def test_geometric_schedule_and_resampling_indices():
    ns, batches = runs.geometric_schedule(100, 1000)
    assert ns.tolist() == [100, 200, 400, 800, 1600] and batches.tolist() == [100, 100, 200, 400, 800]
    w = np.array([[0.25, 0.25, 0.25, 0.25], [0.0, 1.0, 0.0, 0.0], [0.5, 0.0, 0.0, 0.5]])
    idx = PF.systematic_indices(w, rng())
    assert sorted(idx[0]) == [0, 1, 2, 3] and (idx[1] == 1).all() and sorted(idx[2]) == [0, 0, 3, 3]
    assert PF.effective_sample_size(np.log(w + 1e-300)) == pytest.approx([4, 1, 2])


def test_weighted_moments_and_liu_west_preserve_mean_and_covariance():
    x = rng().normal(size=(1, 4, 3))
    w = np.array([[0.1, 0.2, 0.3, 0.4]])
    mean, cov = PF.weighted_moments(x, w)
    assert mean[0] == pytest.approx(w[0] @ x[0])
    assert cov[0] == pytest.approx(((x[0] - mean[0]).T * w[0]) @ (x[0] - mean[0]))
    # a bank well inside the Bloch ball (no draw is redrawn): a^2 + h^2 = 1 keeps both moments
    bank = 0.3 + 0.05 * rng(1).normal(size=(1, 20000, 3))
    logw = -0.5 * ((bank - 0.32) ** 2).sum(-1) / 0.05 ** 2
    m0, c0 = PF.weighted_moments(bank, PF.normalise(logw))
    new = PF.liu_west(bank, logw, rng(2), 1)
    m1, c1 = PF.weighted_moments(new, np.full((1, 20000), 1 / 20000))
    assert np.abs(m1 - m0).max() < 1e-3 and np.abs(c1 - c0).max() < 1e-4


@pytest.mark.parametrize("qubits", [1, 2])
def test_liu_west_returns_states_near_the_boundary(qubits):
    x = Q.to_coords(Q.sample_states("haar", qubits, 1, rng()))[:, None, :] * 0.999
    bank = x + 0.02 * rng(1).normal(size=(1, 300, 4 ** qubits - 1))
    bank = Q.project_coords(bank, qubits)
    assert Q.is_physical(PF.liu_west(bank, np.zeros((1, 300)), rng(2), qubits), qubits).all()


def test_likelihood_and_its_gradient():
    x = Q.to_coords(Q.sample_states("hilbert-schmidt", 2, 6, rng())).reshape(2, 3, 15)
    E = Q.fixed_povms("pauli", 2)
    A, b = Q.born_map(E)
    counts = rng(1).integers(0, 5, size=(2, 36))
    data = [M.Data(A.reshape(36, 15), b.reshape(36), counts)]
    p = Q.probabilities(Q.from_coords(x, 2), E.reshape(1, 1, 36, 4, 4))
    exact = (counts[:, None, :] * np.log(p)).sum(-1)
    assert M.log_likelihood(x, data) == pytest.approx(exact, rel=1e-12)
    ll, grad = M.log_likelihood_grad(x, data)
    assert ll == pytest.approx(exact, rel=1e-12)
    h, e = 1e-6, np.eye(15)[4]
    fd = (M.log_likelihood(x + h * e, data) - M.log_likelihood(x - h * e, data)) / (2 * h)
    assert grad[..., 4] == pytest.approx(fd, rel=1e-5)
    # per-run settings (3-D A) give the same as the shared ones
    data3 = [M.Data(np.broadcast_to(A.reshape(36, 15), (2, 36, 15)), np.broadcast_to(b.reshape(36), (2, 36)), counts)]
    assert M.log_likelihood(x, data3) == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("kind", ["pauli", "sic"])
def test_scheme_splits_every_batch(kind):
    for adaptive in (False, True):
        scheme = M.Scheme(kind, 2, adaptive)
        n_adapt, per = scheme.split(1001)
        assert n_adapt + per.sum() == 1001 and n_adapt == (500 if adaptive else 0)
        truth = Q.sample_states("haar", 2, 3, rng())
        data = scheme.measure(truth, Q.sample_states("hilbert-schmidt", 2, 3, rng(1)), 1001, rng(2))
        assert sum(d.counts.sum(1) for d in data).tolist() == [1001] * 3


@pytest.mark.parametrize("qubits", [1, 2])
@pytest.mark.parametrize("method", ["bayes", "neural", "per-copy"])
def test_every_estimate_is_a_density_matrix_after_each_update(qubits, method):
    truth = Q.sample_states("haar", qubits, 3, rng())
    filt = PF.ParticleFilter(qubits, 150, 3, rng(1), mh_steps=1 if method == "bayes" else 0,
                             resampler=neural.as_resampler(neural.NeuralResampler(qubits)) if method == "neural" else None)
    scheme, data_rng = M.Scheme("pauli", qubits, True), rng(2)
    checked = 0
    for batch in (100, 100, 200, 400, 800):
        for _ in range(batch if method == "per-copy" and batch <= 100 else 1):
            data = scheme.measure(truth, filt.estimate(), 1 if method == "per-copy" else batch, data_rng)
            (filt.update_once if method == "neural" else filt.update)(data)
            est = filt.estimate()
            assert Q.is_state(est, atol=1e-10), "estimate not a density matrix"
            assert np.allclose(est, np.conj(np.swapaxes(est, 1, 2)))
            assert Q.is_physical(filt.x, qubits, atol=1e-9).all()
            checked += 1
    assert checked >= 5


def test_posterior_mean_converges_to_the_true_state_on_one_qubit():
    truth = Q.sample_states("haar", 1, 4, rng(3))
    ns = runs.geometric_schedule(100, 12800)[0]
    for adaptive, bound in ((False, 0.02), (True, 0.005)):
        rows, _ = runs.run_rounds(truth, M.Scheme("pauli", 1, adaptive), ns, 400, seed=0)
        t = pd.DataFrame(rows)
        final = t[t.n == ns[-1]].infidelity
        assert final.max() < bound
        assert t[t.n == ns[-1]].hs.mean() < t[t.n == ns[0]].hs.mean() / 5


def test_seeds_give_independent_data_and_filters():
    truth = Q.sample_states("haar", 1, 2, rng())
    ns = runs.geometric_schedule(100, 400)[0]
    a, b = (pd.DataFrame(runs.run_rounds(truth, M.Scheme("pauli", 1, False), ns, 100, seed=s)[0]) for s in (0, 1))
    assert not np.allclose(a.infidelity, b.infidelity)
    again = pd.DataFrame(runs.run_rounds(truth, M.Scheme("pauli", 1, False), ns, 100, seed=0)[0])
    assert again.infidelity.tolist() == a.infidelity.tolist()


def test_a_per_copy_scheme_interleaves_its_adaptive_copies():
    scheme = M.Scheme("pauli", 1, True, adaptive_fraction=0.25)
    turns = [scheme.is_adaptive_copy(t) for t in range(12)]
    assert turns == [False, False, False, True] * 3
    assert not any(M.Scheme("pauli", 1, False).is_adaptive_copy(t) for t in range(12))


def test_per_copy_filter_counts_one_update_per_copy():
    truth = Q.sample_states("haar", 1, 2, rng())
    rows, filt = runs.run_per_copy(truth, M.Scheme("pauli", 1, True), 300, 100, seed=0, record_at=[100, 300])
    assert filt.n_likelihood >= 300 * 2 * 100
    assert [r["n"] for r in rows] == [100, 100, 300, 300]
    assert rows[-1]["infidelity"] < 0.2


def test_mh_moves_keep_the_flat_prior_with_no_data():
    """With no data the posterior is the prior: moves must leave the Hilbert-Schmidt purity distribution alone."""
    filt = PF.ParticleFilter(1, 4000, 1, rng(), mh_steps=5)
    before = np.linalg.norm(filt.x, axis=-1).mean()
    filt._move(np.array([True]), [], np.zeros(1))
    after = np.linalg.norm(filt.x, axis=-1).mean()
    assert after == pytest.approx(before, abs=0.02)
    assert after == pytest.approx(0.75, abs=0.02)  # E|x| = 3/4 for the uniform Bloch ball
    assert 0.1 < filt.n_accepted / filt.n_moves < 0.9
