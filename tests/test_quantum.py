"""Quantum states, POVMs, the particle filter, the neural resampler and the tomography experiment functions,
each checked against an exact answer on a case small enough to know it (notebook 05).

Fidelity convention: squared, F = (Tr sqrt(sqrt(rho) sigma sqrt(rho)))**2.
"""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from companion.experiments import neural_adaptive_tomography as nat
from companion.params import ParameterError
from companion.physics import neural_filter as NF
from companion.physics import particle_filter as PF
from companion.physics import quantum as Q


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
    ns, batches = PF.geometric_schedule(100, 1000)
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
    data = [PF.Data(A.reshape(36, 15), b.reshape(36), counts)]
    p = Q.probabilities(Q.from_coords(x, 2), E.reshape(1, 1, 36, 4, 4))
    exact = (counts[:, None, :] * np.log(p)).sum(-1)
    assert PF.log_likelihood(x, data) == pytest.approx(exact, rel=1e-12)
    ll, grad = PF.log_likelihood_grad(x, data)
    assert ll == pytest.approx(exact, rel=1e-12)
    h, e = 1e-6, np.eye(15)[4]
    fd = (PF.log_likelihood(x + h * e, data) - PF.log_likelihood(x - h * e, data)) / (2 * h)
    assert grad[..., 4] == pytest.approx(fd, rel=1e-5)
    # per-run settings (3-D A) give the same as the shared ones
    data3 = [PF.Data(np.broadcast_to(A.reshape(36, 15), (2, 36, 15)), np.broadcast_to(b.reshape(36), (2, 36)), counts)]
    assert PF.log_likelihood(x, data3) == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("kind", ["pauli", "sic"])
def test_scheme_splits_every_batch(kind):
    for adaptive in (False, True):
        scheme = PF.Scheme(kind, 2, adaptive)
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
                             resampler=NF.as_resampler(NF.NeuralResampler(qubits)) if method == "neural" else None)
    scheme, data_rng = PF.Scheme("pauli", qubits, True), rng(2)
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
    ns = PF.geometric_schedule(100, 12800)[0]
    for adaptive, bound in ((False, 0.02), (True, 0.005)):
        rows, _ = PF.run_rounds(truth, PF.Scheme("pauli", 1, adaptive), ns, 400, seed=0)
        t = pd.DataFrame(rows)
        final = t[t.n == ns[-1]].infidelity
        assert final.max() < bound
        assert t[t.n == ns[-1]].hs.mean() < t[t.n == ns[0]].hs.mean() / 5


def test_per_copy_filter_counts_one_update_per_copy():
    truth = Q.sample_states("haar", 1, 2, rng())
    rows, filt = PF.run_per_copy(truth, PF.Scheme("pauli", 1, True), 300, 100, seed=0, record_at=[100, 300])
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


# ---------------------------------------------------------------------------------------------- neural


def test_untrained_resampler_is_liu_west():
    model = NF.NeuralResampler(1)
    bank = 0.3 + 0.05 * rng(1).normal(size=(2, 4000, 3))
    logw = -0.5 * ((bank - 0.32) ** 2).sum(-1) / 0.05 ** 2
    nn_bank = NF.resample(model, bank, logw, rng(2), 1)
    lw_bank = PF.liu_west(bank, logw, rng(2), 1)
    for s in range(2):
        m_nn, c_nn = PF.weighted_moments(nn_bank[s:s + 1], np.full((1, 4000), 1 / 4000))
        m_lw, c_lw = PF.weighted_moments(lw_bank[s:s + 1], np.full((1, 4000), 1 / 4000))
        assert np.abs(m_nn - m_lw).max() < 2e-3 and np.abs(c_nn - c_lw).max() < 2e-4


def test_resampler_is_permutation_invariant():
    model = NF.NeuralResampler(2)
    torch.manual_seed(0)
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.05)
    bank = Q.to_coords(Q.sample_states("hilbert-schmidt", 2, 200, rng())).reshape(1, 200, 15)
    logw = rng(1).normal(size=(1, 200))
    perm = rng(2).permutation(200)
    inp, inp_p = NF._inputs(bank, logw, rng(3), []), NF._inputs(bank[:, perm], logw[:, perm], rng(3), [])
    with torch.no_grad():
        h, run = model.context(NF._t(inp["z"]), NF._t(inp["logw"]), NF._t(inp["g"]), NF._t(inp["C"]), NF._t(inp["log_ess"]))
        h_p, run_p = model.context(NF._t(inp_p["z"]), NF._t(inp_p["logw"]), NF._t(inp_p["g"]), NF._t(inp_p["C"]),
                                   NF._t(inp_p["log_ess"]))
    assert torch.allclose(h[:, perm], h_p, atol=1e-5)
    for key in ("zbar", "alpha", "beta", "ctx"):
        assert torch.allclose(run[key], run_p[key], atol=1e-4)


def test_energy_score_prefers_the_right_distribution():
    g = torch.Generator().manual_seed(0)
    truth = torch.randn(400, 3, generator=g)
    right = torch.randn(400, 200, 3, generator=g)
    shifted, narrow = right + 1.0, 0.2 * right
    score = lambda b: NF.energy_score(b, truth, rng()).item()
    assert score(right) < score(shifted) and score(right) < score(narrow)


def test_save_and_load_check_the_sha256(tmp_path):
    model = NF.NeuralResampler(1, hidden=8)
    digest = NF.save(model, tmp_path / "m.pt")
    loaded = NF.load(tmp_path / "m.pt", 1, digest)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))
    with pytest.raises(ValueError, match="sha256"):
        NF.load(tmp_path / "m.pt", 1, "0" * 64)
    with pytest.raises(FileNotFoundError, match="retrain"):
        NF.load(tmp_path / "missing.pt", 1)


def test_committed_models_load_and_are_small():
    for q in (1, 2):
        name, digest = NF.COMMITTED[q]
        assert digest is not None and (NF.MODELS / name).stat().st_size < 2_000_000
        assert isinstance(NF.committed(q), NF.NeuralResampler)


def test_training_is_reproducible():
    a, hist = NF.train_resampler(1, seed=3, episodes=1, n_states=4, n_particles=32, rounds=2, hidden=8)
    b, _ = NF.train_resampler(1, seed=3, episodes=1, n_states=4, n_particles=32, rounds=2, hidden=8)
    assert len(hist) == 2 and np.isfinite(hist.loss).all()
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


# ---------------------------------------------------------------------------------------------- experiment


def test_slope_and_the_n_that_reaches_a_target():
    n = np.array([100, 200, 400, 800])
    assert nat.fit_slope(n, 3.0 * n ** -0.5) == pytest.approx(-0.5)
    curve = pd.DataFrame({"n": n, "median": 1.0 / n})
    assert nat.n_to_reach(curve, 1 / 300) == pytest.approx(300)
    assert nat.n_to_reach(curve, 1 / 3200) == pytest.approx(3200)  # extrapolated along the slope
    assert nat.n_to_reach(curve, 1.0) == 100


def _summary():
    rows = []
    for q in (1,):
        for kind, fixed_slope in (("pauli", -0.5), ("sic", -0.5)):
            for adaptive in (False, True):
                for method in ("bayes", "neural"):
                    slope = -1.0 if (adaptive and kind == "pauli") else fixed_slope
                    scale = 1.2 if method == "neural" else 1.0
                    for n in (100, 1000, 10000):
                        rows.append({"qubits": q, "povm": kind, "adaptive": adaptive, "method": method, "n": n,
                                     "median": scale * 0.1 * (n / 100) ** slope})
    return pd.DataFrame(rows).assign(q25=lambda t: t["median"], q75=lambda t: t["median"])


def test_adaptivity_and_matched_tables():
    sl = nat.slopes(_summary(), 100)
    adapt = nat.adaptivity(sl).set_index(["povm", "method"])
    assert adapt.loc[("pauli", "bayes"), "ratio"] == pytest.approx(10.0)
    assert adapt.loc[("pauli", "bayes"), "slope_adaptive"] == pytest.approx(-1.0)
    assert adapt.loc[("sic", "bayes"), "ratio"] == pytest.approx(1.0)
    assert nat.matched(sl).ratio.to_numpy() == pytest.approx(1.2)


def test_speedups_and_claims_on_synthetic_times():
    p = SimpleNamespace(qubits=[1], extrapolate_to=10**7, matched_within=1.5)
    summary = _summary()
    tim = pd.DataFrame([{"qubits": 1, "method": m, "n": n, "seconds": s, "infidelity": 0.0}
                        for n in (1000, 10000, 100000)
                        for m, s in (("per-copy", 1e-4 * n), ("bayes", 0.01 * np.log2(n)), ("neural", 0.001 * np.log2(n)))])
    fits = nat.time_fits(tim, 1000)
    f = fits.set_index("method")
    assert f.loc["per-copy", "time_slope"] == pytest.approx(1.0)
    assert nat.seconds_at(fits, 1, "neural", 2 ** 20) == pytest.approx(0.02)
    # the per-copy filter: its measured curve, then linear at the cost per copy of its last doubling
    assert nat.seconds_at(fits, 1, "per-copy", 3000) == pytest.approx(0.3)
    assert nat.seconds_at(fits, 1, "per-copy", 10**6) == pytest.approx(100.0)
    speed = nat.speedups(p, summary, fits).iloc[0]
    # neural reaches 1.2e-4 at n = 1e4; bayes gets there at n = 1e4 / 1.2
    assert speed.n_bayes == pytest.approx(10000 / 1.2)
    assert speed.speedup_per_copy == pytest.approx(1e-4 * 10000 / 1.2 / (0.001 * np.log2(10000)))
    rows = nat.claims(p, nat.adaptivity(nat.slopes(summary, 100)), nat.matched(nat.slopes(summary, 100)), None,
                      fits, nat.speedups(p, summary, fits))
    verdict = {r["claim"][:2] + r["claim"][-12:]: r["holds"] for r in rows}
    assert [r["claim"][:2] for r in rows] == ["C1", "C2", "C3", "C4", "C5", "C6"]
    assert all(isinstance(r["holds"], bool) for r in rows)
    assert rows[0]["holds"] and rows[3]["holds"] and rows[4]["holds"] and rows[5]["holds"]
    assert not rows[2]["holds"]  # 10x over the batched filter is not "orders of magnitude"
    assert len(verdict) == 6


def test_check_refuses_inconsistent_parameters():
    base = dict(qubits=[1], povms=["pauli", "sic"], n_min=100, n_max_1q=100000, n_max_2q=25600, slope_from=1000,
                per_copy_n_max=3200, time_n_max=10**6)
    nat.check(SimpleNamespace(**base))
    for change, words in (({"n_max_1q": 200}, "n_max_1q"), ({"povms": ["sic"]}, "'pauli'"),
                          ({"time_n_max": 1000}, "time_n_max"), ({"qubits": [1, 1]}, "repeat")):
        with pytest.raises(ParameterError, match=words):
            nat.check(SimpleNamespace(**{**base, **change}))


def test_retraining_in_the_notebook_reports_whether_it_matches_the_committed_model():
    p = SimpleNamespace(qubits=[1], retrain=True, train_episodes_1q=1, train_episodes_2q=1, seed=0)
    models, info = nat.load_models(p)
    assert isinstance(models[1], NF.NeuralResampler)
    row = info.iloc[0]
    assert row.source == "retrained here" and row.episodes == 1 and not row.same_as_committed
