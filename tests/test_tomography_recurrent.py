"""The recurrent update of notebook 05 (the journal version's network): its frame of the data, its Liu-West start,
invariances, outputs, training and committed model, on cases small enough to know the answer."""

import numpy as np
import pytest
import torch
from companion import artifacts, paths
from companion.physics.tomography import neural, recurrent, runs
from companion.physics.tomography import particle_filter as PF
from companion.physics.tomography import quantum as Q
from companion.physics.tomography.measurement import Scheme


def rng(seed=0):
    return np.random.default_rng(seed)


def bank(qubits, runs_, particles, seed=0):
    states = Q.sample_states("hilbert-schmidt", qubits, runs_ * particles, rng(seed))
    return Q.to_coords(states).reshape(runs_, particles, -1)


def batch(qubits, kind="pauli", adaptive=True, shots=300, runs_=2, seed=1):
    truth = Q.sample_states("haar", qubits, runs_, rng(seed))
    estimate = Q.sample_states("hilbert-schmidt", qubits, runs_, rng(seed + 1))
    return Scheme(kind, qubits, adaptive).measure(truth, estimate, shots, rng(seed + 2))


def randomised(model, seed=0):
    """``model`` with every weight drawn afresh (the zero last layers too), so that it moves particles."""
    torch.manual_seed(seed)
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.3)
    return model


def test_the_frame_holds_each_outcome_exactly():
    """p_k(x_i) = c_k + a_k . z_i with the frame's whitened bank; expected counts at the bank's mean, and a fixed
    setting's copies recovered from its group (300 copies: 150 adaptive, 50 per Pauli basis)."""
    x, data = bank(1, 2, 40), batch(1)
    f = recurrent.frame(x, data)
    A, b, counts, shots = recurrent._outcomes(data, 2)
    assert shots[:, :6] == pytest.approx(50.0) and shots[:, 6:] == pytest.approx(150.0)
    assert counts.sum(1).tolist() == [300, 300]
    p = np.einsum("skj,snj->snk", A, x) + b[:, None, :]
    a = np.einsum("sij,skj->ski", f["Winv"], A)
    c = b + np.einsum("skj,sj->sk", A, f["m"])
    assert np.einsum("skj,snj->snk", a, f["z"]) + c[:, None, :] == pytest.approx(p, abs=1e-12)
    expected = shots * c
    assert f["expected"] == pytest.approx(expected) and f["features"][..., 1] == pytest.approx(np.log1p(expected) / 5.0)
    d = f["u"] / np.linalg.norm(f["u"], axis=-1, keepdims=True)  # each particle's expected count, from the frame
    at_particle = f["expected"][:, None, :] + f["spread"][:, None, :] * np.einsum("skj,snj->snk", d, f["z"])
    assert at_particle == pytest.approx(shots[:, None, :] * p, abs=1e-9)
    assert f["u"] == pytest.approx((shots / np.sqrt(expected + 1.0))[..., None] * a)
    with pytest.raises(ValueError, match="at least one outcome"):
        recurrent.frame(x, [])


def test_untrained_update_is_liu_west_and_ignores_the_data():
    model = recurrent.RecurrentUpdate(1)
    x = 0.3 + 0.05 * rng(1).normal(size=(2, 4000, 3))
    h = recurrent.initial_state(model, 2)
    new, _ = recurrent.step(model, x, h, batch(1), rng(2))
    lw = PF.liu_west(x, np.zeros((2, 4000)), rng(2), 1)
    for s in range(2):
        m_r, c_r = PF.weighted_moments(new[s:s + 1], np.full((1, 4000), 1 / 4000))
        m_lw, c_lw = PF.weighted_moments(lw[s:s + 1], np.full((1, 4000), 1 / 4000))
        assert np.abs(m_r - m_lw).max() < 2e-3 and np.abs(c_r - c_lw).max() < 2e-4


@pytest.mark.parametrize("qubits", [1, 2])
def test_shapes_and_every_output_is_a_state(qubits):
    model = randomised(recurrent.RecurrentUpdate(qubits, hidden=16))
    x, h = bank(qubits, 3, 50), recurrent.initial_state(model, 3)
    k = 4 ** qubits - 1
    for kind in ("pauli", "sic"):
        new, h_new = recurrent.step(model, x, h, batch(qubits, kind, runs_=3), rng(3))
        assert new.shape == (3, 50, k) and h_new.shape == (3, 16)
        assert Q.is_physical(new, qubits).all() and not np.allclose(new, x)
        assert Q.is_state(Q.from_coords(new, qubits), atol=1e-9)


def test_bank_input_is_permutation_invariant():
    """Shuffling the particles (with their draws) shuffles the new bank alike and leaves the hidden state; so does
    shuffling the outcome rows of the batch, which changes nothing at all."""
    model = randomised(recurrent.RecurrentUpdate(1, hidden=16))
    x, data = bank(1, 2, 60), batch(1)
    h = torch.randn(2, 16, generator=torch.Generator().manual_seed(0))
    eps = torch.randn(2, 60, 3, generator=torch.Generator().manual_seed(1))
    perm = rng(4).permutation(60)
    tensors = recurrent._tensors
    with torch.no_grad():
        z, h1 = model(tensors(recurrent.frame(x, data)), h, eps)
        z_p, h_p = model(tensors(recurrent.frame(x[:, perm], data)), h, eps[:, perm])
        reversed_rows = [type(d)(d.A[..., ::-1, :], d.b[..., ::-1], d.counts[:, ::-1]) for d in data[::-1]]
        z_o, h_o = model(tensors(recurrent.frame(x, reversed_rows)), h, eps)
    assert torch.allclose(z[:, perm], z_p, atol=1e-4) and torch.allclose(h1, h_p, atol=1e-5)
    assert torch.allclose(z, z_o, atol=1e-4) and torch.allclose(h1, h_o, atol=1e-5)


def test_a_seed_gives_the_same_banks_and_the_filter_runs_in_rounds():
    model = randomised(recurrent.RecurrentUpdate(1, hidden=16))
    x, h = bank(1, 2, 40), recurrent.initial_state(model, 2)
    a, ha = recurrent.step(model, x, h, batch(1), rng(5))
    b, hb = recurrent.step(model, x, h, batch(1), rng(5))
    assert np.array_equal(a, b) and torch.equal(ha, hb)
    truth = Q.sample_states("haar", 1, 3, rng())
    rows, filt = runs.run_rounds(truth, Scheme("sic", 1, False), [100, 200, 400], 50, 0, method="recurrent",
                                 recurrent=recurrent.as_filter(model))
    assert len(rows) == 9 and filt.n_steps == 3 and filt.n_likelihood == 0
    assert all(0 <= r["infidelity"] <= 1 for r in rows)
    with pytest.raises(ValueError, match="recurrent"):
        runs.run_rounds(truth, Scheme("sic", 1, False), [100, 200], 50, 0, method="recurrent")


def _final_score(model):
    """Energy score (at the scale sqrt(n)) of the banks after four rounds of adaptive Pauli data, fixed seeds."""
    truth = Q.sample_states("hilbert-schmidt", 1, 16, rng(7))
    _, filt = runs.run_rounds(truth, Scheme("pauli", 1, True), [100, 200, 400, 800], 64, 0, method="recurrent",
                              recurrent=recurrent.as_filter(model))
    scale = np.sqrt(800)
    return neural.energy_score(torch.as_tensor(scale * filt.x), torch.as_tensor(scale * Q.to_coords(truth)),
                               rng(8)).item()


def test_training_lowers_the_loss_and_is_reproducible():
    settings = dict(seed=3, episodes=10, n_states=16, n_particles=64, rounds=4, hidden=16, lr=5e-3, kinds=("pauli",))
    a, hist = recurrent.train_recurrent(1, **settings)
    b, _ = recurrent.train_recurrent(1, **settings)
    assert len(hist) == 40 and np.isfinite(hist.loss).all()
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    untrained = recurrent.RecurrentUpdate(1, hidden=16)  # Liu-West: the banks never learn from the data
    assert _final_score(a) < 0.5 * _final_score(untrained)


def test_the_committed_model_loads_is_small_and_names_its_trainer(tmp_path):
    entry = artifacts.artifact(recurrent.artifact_name(1))
    assert (paths.models() / entry.file).stat().st_size < 500_000
    model = recurrent.committed(1)
    assert isinstance(model, recurrent.RecurrentUpdate) and model.qubits == 1
    module, function = entry.trainer.split(":")
    assert module == recurrent.__name__ and callable(getattr(recurrent, function))
    artifacts.save(recurrent.RecurrentUpdate(1, hidden=8), tmp_path / "m.pt")
    with pytest.raises(ValueError, match="sha256"):
        artifacts.load_state(recurrent.artifact_name(1), tmp_path / "m.pt")
