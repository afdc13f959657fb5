"""The learned resampler of neural adaptive tomography (Quek, Fort & Ng, arXiv:1812.06693), as built here.

The paper replaces the Bayesian update of a particle filter by a network that maps the particle bank and the
new data to a refined bank, applied once per round of a geometrically growing batch of copies. Its network
details are not in the notes this companion works from (no reference code exists), so this module makes a
documented choice:

* **What the network sees.** The bank before the round, x_i (N particles, uniform weights), and the new data
  through the Bayes reweighting they imply, log w_i = log L(batch | x_i) normalised, and the gradient of
  log L(batch | x) at each particle; so one network serves every POVM and adaptive scheme. Everything is expressed in the coordinates z = W (x - m) whitened by the
  bank's mean m and covariance (W W^T = cov^-1), so rounds at every scale look alike and one set of weights
  serves every n.
* **Architecture (permutation invariant, DeepSets).** An encoder phi maps each particle's (z_i, log N w_i) to a
  feature h_i; a context vector pools them (weighted and plain means) together with the weighted mean z_w,
  the Cholesky factor C of the weighted covariance and log(ESS / N). Each new particle j starts from an
  ancestor a_j drawn by systematic resampling and a Gaussian draw eps_j, and is
  ``z_w + alpha (z_aj - z_w) + beta C eps_j + C psi(h_aj, z_aj - z_w, eps_j, context)``
  (psi: a two-layer MLP of width H = 64 whose first layer takes the context through a per-run term),
  plus steps along the batch's log-likelihood gradient g_j at the ancestor, gamma C C^T g_j + gamma0 g_j, and a
  draw at the bank's own scale, beta0 eps_j; alpha, beta, gamma, gamma0 and beta0 are set by a gate on the
  context. The gradient is what lets one call move particles to where the bank has none (the Bayes filter
  needs tempering and MCMC moves for that); it is cheap, since p = b + A x gives grad = sum_k n_k A_k / p_k. The gate and the last layer of psi start at zero, so the
  untrained network *is* Liu-West (alpha = a = 0.98, beta = sqrt(1 - a^2)); training learns corrections.
* **Output.** N new particles with uniform weights; a draw that is not a state is drawn again with fresh
  eps (up to 10 times, the encoder and context computed once) and the rest are projected onto the state
  space, as in :func:`.particle_filter.liu_west`.
* **Training (supervised meta-learning on simulated data).** True states from the filter's prior (the
  Hilbert-Schmidt measure), a random measurement kind and adaptivity per episode, the rounds of the
  geometric schedule unrolled with the network's own banks (on-policy, gradients truncated at each round).
  The loss of a round is the energy score of the new bank against the true state, E||X - x*|| -
  E||X - X'|| / 2 in coordinates scaled by sqrt(n) (so rounds weigh alike), a strictly proper score: it is minimised when the bank is a sample of the
  posterior given the data, so the network is trained to be a Bayesian update, not just to point at the
  state. Each round is one step of :func:`companion.nn.optimise` (Adam, gradient norm clipped to 1).

The committed models are entries of :data:`companion.artifacts.ARTIFACTS` (``companion model train
neural_resampler_1q`` retrains one with :func:`train_committed_1q`).
"""

import sys
import time

import numpy as np
import pandas as pd
import torch
from torch import nn

from ... import artifacts
from ...nn import cosine, optimise, threads
from ...rng import derive, numpy_rng
from . import particle_filter as PF
from . import quantum as Q
from .measurement import Scheme, log_likelihood, log_likelihood_grad
from .particle_filter import ParticleFilter

# Training settings of the committed models (seed 0).
TRAIN_DEFAULTS = {1: dict(episodes=60, n_states=32, n_particles=256, rounds=10, hidden=64, lr=1e-3),
                  2: dict(episodes=120, n_states=16, n_particles=256, rounds=10, hidden=64, lr=1e-3)}
MAX_REDRAWS = 10


def mlp(sizes, zero_last=False):
    """A SiLU MLP on the last axis, its last layer zero when ``zero_last`` (``companion.nn.mlp`` flattens its
    input and has no SiLU, so it cannot serve (S, N, features) banks); both networks of notebook 05 use it."""
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.SiLU())
    if zero_last:
        nn.init.zeros_(layers[-1].weight)
        nn.init.zeros_(layers[-1].bias)
    return nn.Sequential(*layers)


class NeuralResampler(nn.Module):
    """The permutation-invariant resampler for states of ``qubits`` qubits (k = 4**qubits - 1 coordinates).

    Sizes: encoder k + 1 -> H -> H; decoder (H + 2k, plus the context through its own first layer) -> H -> H
    -> k; gate context -> 2. With H = 64 that is about 15,000 weights for one qubit, 25,000 for two.
    """

    def __init__(self, qubits, hidden=64, a=PF.LIU_WEST_A):
        super().__init__()
        self.qubits, self.k = qubits, Q.dim(qubits) ** 2 - 1
        k, H = self.k, hidden
        self.ctx_dim = 2 * H + k + k * (k + 1) // 2 + 1
        self.encoder = mlp([2 * k + 1, H, H])
        self.gate = mlp([self.ctx_dim, 5], zero_last=True)
        self.dec_particle = nn.Linear(H + 3 * k, H)
        self.dec_context = nn.Linear(self.ctx_dim, H, bias=False)
        self.dec_out = nn.Sequential(nn.SiLU(), *mlp([H, H, k], zero_last=True))
        self.register_buffer("logit_a", torch.tensor(float(np.log(a / (1 - a)))))
        self.register_buffer("hidden", torch.tensor(hidden))
        self.tril = torch.tril_indices(k, k)

    def context(self, z, logw, g, C, log_ess):
        """Per-particle features h (S, N, H) and per-run quantities: weighted mean, C, alpha, beta, gamma, context."""
        N = z.shape[1]
        w = logw.exp()
        h = self.encoder(torch.cat([z.clamp(-10.0, 10.0), g, (logw + np.log(N)).clamp(-20.0, 5.0)[..., None] / 5.0],
                                   -1))
        zbar = (w[..., None] * z).sum(1)
        ctx = torch.cat([(w[..., None] * h).sum(1), h.mean(1), zbar.clamp(-10.0, 10.0),
                         C[:, self.tril[0], self.tril[1]].clamp(-10.0, 10.0), log_ess[:, None]], -1)
        gate = self.gate(ctx)
        alpha = torch.sigmoid(self.logit_a + gate[:, :1])
        beta = torch.sqrt(1 - torch.sigmoid(self.logit_a) ** 2) * gate[:, 1:2].exp()
        return h, dict(zbar=zbar, C=C, alpha=alpha, beta=beta, gamma=gate[:, 2:3], gamma0=gate[:, 3:4],
                       beta0=gate[:, 4:5], ctx=self.dec_context(ctx))

    def propose(self, run, z_anc, h_anc, g_anc, eps, per_run):
        """New whitened particles for rows of runs ``run`` (M,) from ancestors (M, k), their features (M, H) and
        likelihood gradients (M, k), and draws (M, k)."""
        zbar, C = per_run["zbar"][run], per_run["C"][run]
        CCg = torch.einsum("mij,mkj,mk->mi", C, C, g_anc)  # a step along the gradient, preconditioned by the posterior
        base = (zbar + per_run["alpha"][run] * (z_anc - zbar) + per_run["beta"][run] * torch.einsum("mij,mj->mi", C, eps)
                + per_run["gamma"][run] * CCg
                # the same at the scale of the bank before the round (the identity in z): moves past a collapsed bank
                + per_run["gamma0"][run] * g_anc + per_run["beta0"][run] * eps)
        hidden = self.dec_particle(torch.cat([h_anc, (z_anc - zbar).clamp(-10.0, 10.0), g_anc, eps], -1))
        return base + torch.einsum("mij,mj->mi", C, self.dec_out(hidden + per_run["ctx"][run]))


def whiten(x):
    """Mean m (S, k), whitening W and its inverse (S, k, k) of banks x (S, N, k) with uniform weights.

    Variances below 1e-4 of the mean variance (a bank collapsed in some direction) are floored there, so
    whitened coordinates stay within a few hundred of the bank.
    """
    m, cov = PF.weighted_moments(x, np.full(x.shape[:2], 1.0 / x.shape[1]))
    lam, V = np.linalg.eigh(cov)
    lam = np.maximum(lam, 1e-4 * lam.mean(1, keepdims=True) + 1e-300)
    W = (V / np.sqrt(lam)[:, None, :]) @ np.swapaxes(V, 1, 2)
    Winv = (V * np.sqrt(lam)[:, None, :]) @ np.swapaxes(V, 1, 2)
    return m, W, Winv


def unwhiten(m, Winv, z):
    """Coordinates x = m + Winv z of whitened banks z (S, N, k), given what :func:`whiten` returned."""
    return m[:, None, :] + np.einsum("sij,snj->sni", Winv, z)


def onto_states(x, qubits):
    """``x`` (..., k) with every point that is not a state projected onto the state space (the rest unchanged)."""
    bad = ~Q.is_physical(x, qubits)
    if bad.any():
        x[bad] = Q.project_coords(x[bad], qubits)
    return x


def squash(g, limit=10.0):
    """Scale each vector (..., k) down to norm ``limit`` when it is longer (keeps network inputs in range)."""
    norm = np.linalg.norm(g, axis=-1, keepdims=True)
    return g * np.minimum(1.0, limit / np.maximum(norm, 1e-300))


def _inputs(x, logw, rng, data):
    """Whitened bank, normalised log-weights, likelihood gradients, posterior Cholesky factor, log ESS/N,
    ancestors and draws. ``logw`` already includes the batch; ``data`` is the batch (for the gradients)."""
    S, N, k = x.shape
    m, W, Winv = whiten(x)
    z = np.einsum("sij,snj->sni", W, x - m[:, None, :])
    grad = log_likelihood_grad(x, data)[1] if data else np.zeros_like(x)
    g = squash(np.einsum("sji,snj->sni", Winv, grad))  # the gradient in z: Winv^T grad_x (Winv is symmetric)
    logw = logw - logw.max(1, keepdims=True)
    logw = logw - np.log(np.exp(logw).sum(1, keepdims=True))
    w = np.exp(logw)
    _, cov = PF.weighted_moments(z, w)
    C = np.linalg.cholesky(cov + 1e-9 * np.eye(k))
    log_ess = np.log(1.0 / (w * w).sum(1) / N)
    anc = PF.systematic_indices(w, rng)
    eps = rng.standard_normal((S, N, k))
    return dict(m=m, W=W, Winv=Winv, z=z, g=g, logw=logw, C=C, log_ess=log_ess, anc=anc, eps=eps)


def _t(a):
    return torch.as_tensor(a, dtype=torch.float32)


def _forward(model, inp):
    """New whitened particles (S, N, k) as a tensor (differentiable), plus what a redraw needs."""
    S, N, k = inp["z"].shape
    z = _t(inp["z"])
    g = _t(inp["g"])
    h, per_run = model.context(z, _t(inp["logw"]), g, _t(inp["C"]), _t(inp["log_ess"]))
    anc = torch.as_tensor(inp["anc"])[..., None]
    z_anc = torch.take_along_dim(z, anc, 1).reshape(S * N, k)
    h_anc = torch.take_along_dim(h, anc, 1).reshape(S * N, -1)
    g_anc = torch.take_along_dim(g, anc, 1).reshape(S * N, k)
    run = torch.arange(S).repeat_interleave(N)
    out = model.propose(run, z_anc, h_anc, g_anc, _t(inp["eps"]).reshape(S * N, k), per_run)
    return out.reshape(S, N, k), (run, z_anc, h_anc, g_anc, per_run)


def resample(model, x, logw, rng, qubits, data=()):
    """The neural resampler as a drop-in for Liu-West: banks x (S, N, k) with log-weights -> new banks.

    Runs on one torch thread: products this small gain nothing from a second thread, and on a shared
    two-core machine two threads were measured 10-20 times slower than one (thread contention).
    """
    S, N, k = x.shape
    inp = _inputs(x, logw, rng, data)
    with torch.no_grad(), threads(1):
        out, (run, z_anc, h_anc, g_anc, per_run) = _forward(model, inp)
        x_new = unwhiten(inp["m"], inp["Winv"], out.double().numpy()).reshape(S * N, k)
        bad = ~Q.is_physical(x_new, qubits)
        for _ in range(MAX_REDRAWS):
            if not bad.any():
                break
            idx = np.nonzero(bad)[0]
            eps = _t(rng.standard_normal((len(idx), k)))
            z_b = model.propose(run[idx], z_anc[idx], h_anc[idx], g_anc[idx], eps, per_run).double().numpy()
            x_new[idx] = inp["m"][idx // N] + np.einsum("mij,mj->mi", inp["Winv"][idx // N], z_b)
            bad[idx] = ~Q.is_physical(x_new[idx], qubits)
    return onto_states(x_new, qubits).reshape(S, N, k)


def as_resampler(model):
    """``model`` wrapped with the resampler signature ``(x, logw, rng, qubits, data) -> x'`` of the filter."""
    return lambda x, logw, rng, qubits, data: resample(model, x, logw, rng, qubits, data)


def energy_score(z_new, z_true, rng):
    """Mean over runs of E||Z - z*|| - E||Z - Z'|| / 2 for banks z_new (S, N, k) and truths z_true (S, k).

    A strictly proper score (Gneiting & Raftery 2007): its expectation is lowest when the bank is distributed
    as the truth given the data.

    The second expectation pairs each particle with the one a random shift away (an unbiased estimate).
    """
    N = z_new.shape[1]
    shift = int(rng.integers(1, N))
    spread = (z_new - torch.roll(z_new, shift, 1)).norm(dim=-1).mean(1)
    return ((z_new - z_true[:, None, :]).norm(dim=-1).mean(1) - 0.5 * spread).mean()




def _episode(model, new_filter, kinds, n_states, n_particles, rng):
    """A training episode's measurement scheme, true states (and their coordinates) and fresh filter."""
    scheme = Scheme(kinds[int(rng.integers(len(kinds)))], model.qubits, bool(rng.integers(2)))
    truth = Q.sample_states("hilbert-schmidt", model.qubits, n_states, rng)
    filt = new_filter(model, n_particles, n_states, rng)
    return dict(scheme=scheme, truth=truth, x_true=Q.to_coords(truth), filt=filt)


def score_bank(filt, m, Winv, z_new, x_true, n, rng):
    """The energy score of a network's new whitened banks ``z_new`` (S, N, k) against the true states at the total
    copy count ``n`` (differentiable); the filter's bank moves on to them, projected onto states (on-policy: the
    next round starts from the network's own bank; gradients stop here). Both networks' rounds end with it."""
    scale = np.sqrt(n)  # posterior widths shrink like 1/sqrt(n): every round's loss is O(1)
    x_pred = _t(scale * m)[:, None, :] + torch.einsum("sij,snj->sni", _t(scale * Winv), z_new)
    loss = energy_score(x_pred, _t(scale * x_true), rng)
    filt.x = onto_states(unwhiten(m, Winv, z_new.detach().double().numpy()), filt.qubits)
    return loss


def _round_loss(model, episode, n, batch, rng):
    """One round of an episode with the network as the resampler: :func:`score_bank` of its new bank."""
    filt = episode["filt"]
    data = episode["scheme"].measure(episode["truth"], filt.estimate(), int(batch), rng)
    inp = _inputs(filt.x, log_likelihood(filt.x, data), rng, data)
    z_new, _ = _forward(model, inp)
    return score_bank(filt, inp["m"], inp["Winv"], z_new, episode["x_true"], n, rng)


def _plain_filter(model, n_particles, n_runs, rng):
    return ParticleFilter(model.qubits, n_particles, n_runs, rng, mh_steps=0)


def train_rounds(make_model, new_filter, round_loss, qubits, seed, episodes, n_states, n_particles, rounds, lr,
                 n_min=100, kinds=None, progress=None, decay=False):
    """The training loop of both networks of notebook 05, on simulated tomography; returns (model, history).

    ``make_model()`` builds the network (its initialisation from the stream "init" of ``seed``); each episode
    draws ``n_states`` true states from the Hilbert-Schmidt prior, one measurement kind (pauli, sic, and mub for
    two qubits) and adaptive or not (stream "training episodes"), and a fresh ``new_filter(model, n_particles,
    n_states, rng)``, then runs ``rounds`` rounds of the doubling schedule from ``n_min`` copies;
    ``round_loss(model, episode, n, batch, rng)`` gives each round's loss, one Adam step each (gradient norm
    clipped to 1; with ``decay`` the rate decays as a cosine to zero at the last step). ``progress(episode, last
    row, seconds)`` is called after each episode. Runs on one CPU thread (torch and BLAS) so the result, and so
    its sha256, does not depend on the core count.
    """
    kinds = kinds or (("pauli", "sic") if qubits == 1 else ("pauli", "mub", "sic"))
    rng = numpy_rng(seed, "training episodes")
    ns = n_min * 2 ** np.arange(rounds)
    batches = np.diff(ns, prepend=0)
    rows, episode, t0 = [], {}, time.perf_counter()
    with threads(1, blas=True):
        torch.manual_seed(derive(seed, "init"))
        model = make_model()

        def step_loss(step):
            ep, t = divmod(step, rounds)
            if t == 0:
                episode.update(_episode(model, new_filter, kinds, n_states, n_particles, rng))
            loss = round_loss(model, episode, ns[t], batches[t], rng)
            rows.append({"episode": ep, "round": t, "n": int(ns[t]), "kind": episode["scheme"].kind,
                         "adaptive": episode["scheme"].adaptive, "loss": loss.item()})
            return loss

        def after(step, loss):
            if progress and step % rounds == rounds - 1:
                progress(step // rounds, rows[-1], time.perf_counter() - t0)

        outcome, step = optimise(model.parameters(), step_loss, episodes * rounds, optimizer="adam", lr=lr,
                                 schedule=cosine(episodes * rounds) if decay else None, clip=1.0, after=after)
    if outcome != "completed":
        raise RuntimeError(f"training of the {qubits}-qubit {type(model).__name__} {outcome} at step {step}")
    model.eval()
    return model, pd.DataFrame(rows)


def train_resampler(qubits, seed=0, episodes=60, n_states=32, n_particles=256, rounds=10, hidden=64, lr=1e-3,
                    n_min=100, kinds=None, progress=None):
    """Train a :class:`NeuralResampler` with :func:`train_rounds`, the network as the resampler of each round
    (the bank reweighted by the batch, then one call); returns (model, history DataFrame)."""
    return train_rounds(lambda: NeuralResampler(qubits, hidden), _plain_filter, _round_loss, qubits, seed, episodes,
                        n_states, n_particles, rounds, lr, n_min, kinds, progress)


def print_progress(episode, row, seconds):
    print(f"episode {episode}: loss {row['loss']:.3f} ({seconds:.0f} s)", file=sys.stderr, flush=True)


def train_committed_1q():
    """The committed one-qubit resampler, trained from scratch with its committed settings."""
    return train_resampler(1, **TRAIN_DEFAULTS[1], progress=print_progress)[0]


def train_committed_2q():
    """The committed two-qubit resampler, trained from scratch with its committed settings."""
    return train_resampler(2, **TRAIN_DEFAULTS[2], progress=print_progress)[0]


def artifact_name(qubits):
    """The name of the committed resampler for ``qubits`` qubits in :data:`companion.artifacts.ARTIFACTS`."""
    return f"neural_resampler_{qubits}q"


def from_state(state, qubits, network=None):
    """A ``network`` (default :class:`NeuralResampler`; in eval mode) holding the weights of ``state`` (a state_dict
    whose buffer ``hidden`` is the width)."""
    model = (network or NeuralResampler)(qubits, int(state["hidden"]))
    model.load_state_dict(state)
    model.eval()
    return model


def committed(qubits):
    """The committed model for ``qubits`` qubits, checked against its sha256."""
    return from_state(artifacts.load_state(artifact_name(qubits)), qubits)
