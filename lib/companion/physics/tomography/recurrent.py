"""The recurrent update of the journal version of neural adaptive tomography (Quek, Fort & Ng, *Adaptive quantum
state tomography with neural networks*, npj Quantum Information 7, 105 (2021)), as built here.

The arXiv version's network (:mod:`.neural`) learns only the resampling: each round it is handed the Bayes
reweighting log w_i = log L(batch | x_i) and the likelihood's gradient. The journal version replaces the Bayes
update itself by a network applied recurrently, with shared weights, over the rounds of copies. Its details are
not in the notes this companion works from, so this module makes a documented choice:

* **What the network sees each round.** The bank before the round (N particles, uniform weights), whitened as
  :func:`.neural.whiten` does (z = W (x - m)), and the raw batch: for each outcome k of each setting measured, its
  Born map row p_k = b_k + A_k . x, its count n_k and the copies of its setting (the settings of one group of
  :class:`.measurement.Data` are measured equally often, as :meth:`.measurement.Scheme.measure` does, so a
  setting's copies are the group's count over the sum of its b_k). In the bank's frame an outcome is a direction
  a_k = Winv A_k, the count e_k expected at the bank's mean m and the count n_k observed; its features are its
  direction scaled to Fisher units u_k = shots_k a_k / sqrt(e_k + 1), the surprise r_k = (n_k - e_k) /
  sqrt(e_k + 1), log(1 + e_k), log(1 + n_k), log |u_k| and 1 / K for a batch of K outcome rows; and per particle
  and outcome, the Born map applied to the particle: the count it expects, shots_k p_k(x_i). Never the likelihood
  (the counts combined with those probabilities) nor its gradient: turning the data into a posterior is what the
  network must learn. One encoding serves every POVM, fixed or rotated into the estimate's eigenbasis: a batch is
  a set of outcome rows.
* **Architecture (permutation invariant over particles and over outcomes).** An outcome encoder and a particle
  encoder, each pooled by a mean, feed a GRU cell with the log batch size, the bank's log scale and the purity of
  its mean; the cell's state h is carried from round to round (one per tomography run). The new bank starts as
  Liu-West would move a uniform bank, alpha z_i + beta eps_i (alpha and beta set by a gate on h), then takes
  ``STEPS`` steps z_i += sum_k (g_ik + g'_ik d_k . z_i) d_k along the outcome directions d_k = u_k / |u_k|, g and
  g' the two outputs of one MLP of d_k . z_i, u_k . z_i, log(1 + shots_k p_k(x_i)), the step, outcome k's
  features and h (the exact log-likelihood's gradient is a sum over outcomes along these directions, so the
  network can learn it, and more; the term in d_k . z_i lets it pull in particles at any distance). The gate and
  the last layer of the MLP start at zero, so the untrained network *is* Liu-West on a uniform bank: it ignores
  the data. Sizes (H = 32): about 15,000 weights for either qubit count.
* **Output.** N new particles with uniform weights, those outside the state space projected onto it
  (:func:`.neural.onto_states`).
* **Training.** As the resampler's (:func:`.neural.train_rounds`: Hilbert-Schmidt true states, a random kind and
  adaptivity per episode, the rounds unrolled on the network's own banks, the energy score of each new bank, one
  Adam step per round), the rate decaying as a cosine; the hidden state is carried through an episode's rounds,
  its gradient truncated at each. The move linear in d_k . z_i and the expected counts at the particles were added
  after first versions fell behind the Bayes filter with adaptive bases on pure states (notebook 05, claim C7).
  Two qubits train at a tenth of the one-qubit rate for 120 episodes: at the one-qubit rate (2e-3), and at 5e-4,
  the loss grew a hundredfold and more and banks ran away; 300 episodes at 2e-4 spiked again after episode 150.

The committed models are the entries ``recurrent_update_1q`` and ``recurrent_update_2q`` of
:data:`companion.artifacts.ARTIFACTS` (``companion model train NAME`` retrains one with :func:`train_committed_1q`
or :func:`train_committed_2q`).
"""

import numpy as np
import torch
from torch import nn

from ... import artifacts
from ...nn import threads
from . import neural
from . import particle_filter as PF
from . import quantum as Q
from .neural import mlp
from .particle_filter import ParticleFilter

# Training settings of the committed model (seed 0).
TRAIN_DEFAULTS = {1: dict(episodes=300, n_states=32, n_particles=128, rounds=10, hidden=32, lr=2e-3),
                  2: dict(episodes=120, n_states=32, n_particles=128, rounds=10, hidden=32, lr=2e-4)}
STEPS = 3  # moves along the outcome directions per round


class RecurrentUpdate(nn.Module):
    """The recurrent update for states of ``qubits`` qubits (k = 4**qubits - 1 coordinates), hidden width H."""

    def __init__(self, qubits, hidden=32, a=PF.LIU_WEST_A):
        super().__init__()
        self.qubits, self.k = qubits, Q.dim(qubits) ** 2 - 1
        H = hidden
        self.outcome = mlp([5, H, H])
        self.particle = mlp([self.k, H, H])
        self.cell = nn.GRUCell(2 * H + 3, H)
        self.gate = mlp([H, 2], zero_last=True)
        self.move_in = nn.Linear(4, H)
        self.move_outcome = nn.Linear(5, H, bias=False)
        self.move_state = nn.Linear(H, H, bias=False)
        self.move_out = nn.Sequential(nn.SiLU(), *mlp([H, H, 2], zero_last=True))
        self.register_buffer("logit_a", torch.tensor(float(np.log(a / (1 - a)))))
        self.register_buffer("hidden", torch.tensor(hidden))

    def forward(self, f, h, eps):
        """New whitened banks (S, N, k) and hidden states (S, H) from a round's frame ``f`` (:func:`frame`, as
        tensors), the hidden states before it and draws ``eps`` (S, N, k)."""
        z, u, feats = f["z"], f["u"], f["features"]
        pooled = torch.cat([self.outcome(feats).mean(1), self.particle(z.clamp(-10.0, 10.0)).mean(1), f["globals"]], -1)
        h = self.cell(pooled, h)
        gate = self.gate(h)
        alpha = torch.sigmoid(self.logit_a + gate[:, :1])[..., None]
        beta = torch.sqrt(1 - torch.sigmoid(self.logit_a) ** 2) * gate[:, 1:2].exp()[..., None]
        norm = u.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        d = u / norm
        per_outcome = (self.move_outcome(feats) + self.move_state(h)[:, None, :])[:, None]  # (S, 1, K, H)
        z = alpha * z + beta * eps
        for step in range(STEPS):
            proj = torch.einsum("snj,skj->snk", z, d)
            fisher = proj * norm[..., 0][:, None, :]
            at_particle = (f["expected"][:, None, :] + f["spread"][:, None, :] * proj).clamp_min(0.0)
            inputs = torch.stack([proj.clamp(-10.0, 10.0), fisher.clamp(-20.0, 20.0) / 5.0,
                                  torch.log1p(at_particle) / 5.0, torch.full_like(proj, step / STEPS)], -1)
            g = self.move_out(self.move_in(inputs) + per_outcome)  # (S, N, K, 2)
            z = z + torch.einsum("snk,skj->snj", g[..., 0] + g[..., 1] * proj, d)
        return z, h


def _outcomes(data, S):
    """Every outcome row of a batch, per run: A (S, K, k), b (S, K), counts (S, K) and its setting's copies (S, K)."""
    if not data:
        raise ValueError("the recurrent update needs a batch with at least one outcome")
    A = np.concatenate([np.broadcast_to(d.A, (S, *d.A.shape[-2:])) for d in data], 1)
    b = np.concatenate([np.broadcast_to(d.b, (S, d.b.shape[-1])) for d in data], 1)
    counts = np.concatenate([d.counts for d in data], 1).astype(np.float64)
    shots = np.concatenate([np.broadcast_to((d.counts.sum(1) / d.b.sum(-1))[:, None], d.counts.shape) for d in data], 1)
    return A, b, counts, shots


def frame(x, data):
    """A round in the bank's whitened frame (see the module): m, W, Winv (:func:`.neural.whiten`), the whitened bank
    z (S, N, k), each outcome's u_k (S, K, k), its features (S, K, 5), its expected count at the bank's mean and
    that count's change per whitened unit along d_k (S, K), and the per-run globals (S, 3)."""
    S, N, k = x.shape
    m, W, Winv = neural.whiten(x)
    z = np.einsum("sij,snj->sni", W, x - m[:, None, :])
    A, b, counts, shots = _outcomes(data, S)
    a = np.einsum("sij,skj->ski", Winv, A)  # Winv is symmetric
    expected = shots * np.clip(b + np.einsum("skj,sj->sk", A, m), 0.0, None)
    u = (shots / np.sqrt(expected + 1.0))[..., None] * a
    surprise = (counts - expected) / np.sqrt(expected + 1.0)
    log_norm = np.log(np.linalg.norm(u, axis=-1) + 1e-12)
    features = np.stack([np.clip(surprise / 5.0, -4.0, 4.0), np.log1p(expected) / 5.0, np.log1p(counts) / 5.0,
                         np.clip(log_norm / 5.0, -4.0, 4.0), np.full_like(surprise, 1.0 / surprise.shape[1])], -1)
    log_scale = 2.0 * np.linalg.slogdet(Winv)[1] / k  # mean log variance of the bank
    d = int(round(np.sqrt(k + 1)))  # the dimension: k = d**2 - 1
    globals_ = np.stack([np.log1p(counts.sum(1)) / 10.0, log_scale / 10.0, (m * m).sum(1) / (d - 1)], -1)
    spread = shots * np.linalg.norm(a, axis=-1)  # expected count per whitened unit along d_k
    return dict(m=m, Winv=Winv, z=z, u=u, features=features, globals=globals_, expected=expected, spread=spread)


def _t(a):
    return torch.as_tensor(a, dtype=torch.float32)


def _tensors(f):
    return {key: _t(f[key]) for key in ("z", "u", "features", "globals", "expected", "spread")}


def initial_state(model, n_runs):
    """The hidden state before the first round: zeros (S, H)."""
    return torch.zeros(n_runs, int(model.hidden))


def step(model, x, h, data, rng):
    """One round of the recurrent update without gradients: (new banks (S, N, k) of states, new hidden states).

    Runs on one torch thread, as :func:`.neural.resample` does (small products, a shared machine)."""
    f = frame(x, data)
    with torch.no_grad(), threads(1):
        z, h = model(_tensors(f), h, _t(rng.standard_normal(x.shape)))
    return neural.onto_states(neural.unwhiten(f["m"], f["Winv"], z.double().numpy()), model.qubits), h


class RecurrentFilter(ParticleFilter):
    """S banks of N particles (the Hilbert-Schmidt prior, uniform weights) whose :meth:`update` is one call of the
    recurrent network per batch; the estimate and the counters are the particle filter's (no likelihood is
    evaluated: ``n_likelihood`` stays 0)."""

    def __init__(self, model, n_particles, n_runs, rng):
        super().__init__(model.qubits, n_particles, n_runs, rng, mh_steps=0)
        self.model, self.h = model, initial_state(model, n_runs)

    def update(self, data):
        self.x, self.h = step(self.model, self.x, self.h, data, self.rng)
        self.n_steps += 1


def as_filter(model):
    """A factory ``(n_particles, n_runs, rng) -> RecurrentFilter`` for :func:`.runs.run_rounds`."""
    return lambda n_particles, n_runs, rng: RecurrentFilter(model, n_particles, n_runs, rng)


def _round_loss(model, episode, n, batch, rng):
    """One round of an episode: :func:`.neural.score_bank` of the network's new bank; the hidden state moves on
    (its gradient stops here)."""
    filt = episode["filt"]
    data = episode["scheme"].measure(episode["truth"], filt.estimate(), int(batch), rng)
    f = frame(filt.x, data)
    z, h = model(_tensors(f), filt.h, _t(rng.standard_normal(filt.x.shape)))
    filt.h = h.detach()
    return neural.score_bank(filt, f["m"], f["Winv"], z, episode["x_true"], n, rng)


def train_recurrent(qubits, seed=0, episodes=300, n_states=32, n_particles=128, rounds=10, hidden=32, lr=2e-3,
                    n_min=100, kinds=None, progress=None):
    """Train a :class:`RecurrentUpdate` with :func:`.neural.train_rounds` (the rate decaying as a cosine); returns
    (model, history DataFrame)."""
    return neural.train_rounds(lambda: RecurrentUpdate(qubits, hidden), RecurrentFilter, _round_loss, qubits, seed,
                               episodes, n_states, n_particles, rounds, lr, n_min, kinds, progress, decay=True)


def train_committed_1q():
    """The committed one-qubit recurrent update, trained from scratch with its committed settings."""
    return train_recurrent(1, **TRAIN_DEFAULTS[1], progress=neural.print_progress)[0]


def train_committed_2q():
    """The committed two-qubit recurrent update, trained from scratch with its committed settings."""
    return train_recurrent(2, **TRAIN_DEFAULTS[2], progress=neural.print_progress)[0]


def artifact_name(qubits):
    """The name of the committed recurrent update for ``qubits`` qubits in :data:`companion.artifacts.ARTIFACTS`."""
    return f"recurrent_update_{qubits}q"


def committed(qubits):
    """The committed recurrent update for ``qubits`` qubits, checked against its sha256."""
    return neural.from_state(artifacts.load_state(artifact_name(qubits)), qubits, RecurrentUpdate)
