"""The Hessian of the mean cross-entropy split into its Gauss-Newton and second terms, H = G + H2.

With logits z^mu = f_theta(x^mu) in R^C, p^mu = softmax(z^mu), one-hot targets y^mu and the
per-logit gradients J_mu = dz^mu / dtheta (C x D) of :func:`companion.landscape.gradients.per_logit_grads`:

    g  = (1/N) sum_mu J_mu^T (p^mu - y^mu)                          the gradient
    G  = (1/N) sum_mu J_mu^T (diag p^mu - p^mu p^mu^T) J_mu         Gauss-Newton: positive semi-definite
    H2 = (1/N) sum_mu sum_c (p_c^mu - y_c^mu) d^2 z_c^mu / dtheta^2  curvature of the logits themselves

Fort & Ganguli (notebook 08) explain the top of the spectrum from G alone: logit gradients
cluster by logit index c, so G is a rank-(C - 1) signal (diag p - p p^T has rank C - 1) plus
a bulk, and H2 is weak. Everything is evaluated in eval mode at the parameters the model has
when an operator is built, like :class:`companion.landscape.HessianOperator`, and is in the
same flat_params coordinates, so G and H2 add up to that operator's H (tested exactly).

Products run over chunks of examples (:func:`~companion.landscape.gradients.chunk_size`
from ``memory_budget``), each a few backward passes through that chunk's graph of the logits;
dense matrices and the per-logit gradients are batched with ``torch.func`` (vmap of jacrev).
"""

import torch
import torch.nn.functional as F
from torch.func import functional_call

from ..nn.flat import flat_params, unflatten
from ..nn.modes import in_mode
from .curvature import dense_hessian
from .gradients import DEFAULT_BUDGET, chunk_size, iter_per_logit_grads


def softmax_curvature(logits):
    """diag(p) - p p^T for each row of ``logits`` (..., C): the Hessian of the cross-entropy w.r.t. the logits."""
    return probs_curvature(torch.softmax(logits, dim=-1))


def probs_curvature(p):
    """diag(p) - p p^T for each row of the probabilities ``p`` (..., C)."""
    return torch.diag_embed(p) - p[..., :, None] * p[..., None, :]


def _times_softmax_curvature(p, u):
    """(diag p - p p^T) u, row by row, without forming the C x C matrices."""
    return p * u - p * (p * u).sum(dim=-1, keepdim=True)


class _LogitOperator:
    """What the operators share: frozen parameters, the logits, the chunks of examples and their autograd graphs.

    Each chunk's graph (built by :meth:`_build`) is kept between products when all examples fit in
    one chunk of ``memory_budget`` (then a product is two backward passes); otherwise it is rebuilt
    for every chunk of every product, so memory stays at one chunk's worth.
    """

    def __init__(self, model, X, y, memory_budget=DEFAULT_BUDGET, chunk=None):
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} examples and y {len(y)}; give one class index per example")
        self.model, self.X, self.y = model, X, y
        self.params = flat_params(model)
        self.dim = self.params.numel()
        self.n_matvecs = 0
        self.chunk = chunk_size(model, X, memory_budget) if chunk is None else int(chunk)
        if self.chunk < 1:
            raise ValueError(f"chunk={chunk!r} must be at least 1 example")
        self._buffers = {k: v.detach() for k, v in model.named_buffers()}
        with torch.no_grad():
            logits = torch.cat([self.logits(self.params, X[s:s + self.chunk]) for s in self._starts()])
        self.logits_at_params = logits
        self.probs = torch.softmax(logits, dim=1)
        self.residuals = self.probs - F.one_hot(y, logits.shape[1]).to(logits)  # p - y, (N, C)
        self._kept = {} if len(X) <= self.chunk else None

    def _starts(self):
        return range(0, len(self.X), self.chunk)

    def logits(self, theta, X):
        """The (n, C) logits of inputs ``X`` at the flat parameters ``theta`` (eval mode)."""
        with in_mode(self.model):
            return functional_call(self.model, (unflatten(self.model, theta), self._buffers), (X,))

    def _graph(self, s):
        if self._kept is None:
            return self._build(s)
        if s not in self._kept:
            self._kept[s] = self._build(s)
        return self._kept[s]

    def _check(self, v):
        if v.dim() != 1 or v.shape[0] != self.dim:
            raise ValueError(f"expected a tensor of shape ({self.dim},), got {tuple(v.shape)}")
        return v.to(self.params)

    def matvec(self, v):
        v = self._check(v)
        out = torch.zeros_like(self.params)
        for s in self._starts():
            out += self._product(self._graph(s), s, v)
        self.n_matvecs += 1
        return out / len(self.X)

    def matmat(self, V):
        """The operator times V (D, k), one :meth:`matvec` per column."""
        return torch.stack([self.matvec(v) for v in V.T], dim=1)


class GaussNewtonOperator(_LogitOperator):
    """G = (1/N) sum_mu J_mu^T (diag p - p p^T) J_mu of the mean cross-entropy on (X, y), matrix-free.

    Per chunk: J v by the double-vjp trick (the vjp of the vjp J^T u with respect to u) and
    J^T (M J v) by one more vjp, all backward passes through one graph of the logits. On the
    digits MLP of notebook 08 (D = 3,466, one thread) a product took 0.4 ms on 300 examples and
    0.9 ms on 1,000 with the graph kept, against 15 and 9 ms with ``torch.func.jvp`` + ``vjp``
    rebuilt per product (and 0.5 / 1.3 ms for one Hessian-vector product).
    """

    def _build(self, s):
        theta = self.params.clone().requires_grad_(True)
        with torch.enable_grad():
            z = self.logits(theta, self.X[s:s + self.chunk])
            u = torch.zeros_like(z, requires_grad=True)
            (jtu,) = torch.autograd.grad(z, theta, u, create_graph=True)
        return theta, z, u, jtu

    def _product(self, graph, s, v):
        theta, z, u, jtu = graph
        (jv,) = torch.autograd.grad(jtu, u, v, retain_graph=True)
        (part,) = torch.autograd.grad(z, theta, _times_softmax_curvature(self.probs[s:s + self.chunk], jv),
                                      retain_graph=True)
        return part

    def gradient(self):
        """g = (1/N) sum_mu J_mu^T (p^mu - y^mu), the gradient of the mean cross-entropy (one vjp per chunk)."""
        out = torch.zeros_like(self.params)
        for s in self._starts():
            theta, z, _, _ = self._graph(s)
            out += torch.autograd.grad(z, theta, self.residuals[s:s + self.chunk], retain_graph=True)[0]
        return out / len(self.X)


class SecondTermOperator(_LogitOperator):
    """H2 = (1/N) sum_mu sum_c (p_c - y_c) d^2 z_c / dtheta^2, matrix-free: the Hessian of sum (p - y) . z / N
    with p - y held fixed at the operator's parameters (double backward through its gradient, per chunk)."""

    def _build(self, s):
        theta = self.params.clone().requires_grad_(True)
        with torch.enable_grad():
            weighted = (self.logits(theta, self.X[s:s + self.chunk]) * self.residuals[s:s + self.chunk]).sum()
            (g,) = torch.autograd.grad(weighted, theta, create_graph=True)
        return theta, g

    def _product(self, graph, s, v):
        theta, g = graph
        return torch.autograd.grad(g, theta, v, retain_graph=True)[0]


def dense_gauss_newton(model, X, y, memory_budget=DEFAULT_BUDGET):
    """The D x D matrix G from the per-logit gradients J (chunked): sum over chunks of J^T (diag p - p p^T) J / N.

    Independent of :class:`GaussNewtonOperator` (no jvp/vjp), so the two check each other; D^2 memory.
    """
    G = None
    with torch.no_grad(), in_mode(model):
        logits = model(X)
    M = softmax_curvature(logits)
    for start, stop, J in iter_per_logit_grads(model, X, memory_budget):
        n, C, D = J.shape
        MJ = torch.einsum("nce,ned->ncd", M[start:stop].to(J), J)
        part = J.reshape(n * C, D).T @ MJ.reshape(n * C, D)
        G = part if G is None else G + part
    G = G / len(X)
    return (G + G.T) / 2


def dense_second_term(model, X, y, memory_budget=DEFAULT_BUDGET):
    """The D x D matrix H2, one :class:`SecondTermOperator` product per column (D products; small models only)."""
    return dense_hessian(SecondTermOperator(model, X, y, memory_budget))


# ---------------------------------------------------------------------------------------------------------------
# Fort & Ganguli's model: logit gradients = one mean per logit index + isotropic noise


def logit_gradient_clusters(J):
    """(means, noise): the mean per-logit gradient m_c over examples (C, D) and the mean squared distance
    E ||dz_c/dtheta - m_c||^2 of each logit's gradients from their mean (C,), from J (N, C, D)."""
    means = J.mean(dim=0)
    return means, (J - means).square().sum(dim=2).mean(dim=0)


def signal_eigenvalues(means, probs):
    """Eigenvalues (descending, C of them) of the model's signal m^T Mbar m, Mbar = mean over examples of diag p - p p^T.

    The G of logit gradients that all equal their means m_c; computed in C x C as the eigenvalues
    of Mbar^(1/2) (m m^T) Mbar^(1/2). Mbar has rank <= C - 1 (its rows sum to 0), so at most C - 1 are non-zero.
    """
    Mbar = probs_curvature(probs.to(torch.float64)).mean(dim=0)
    w, U = torch.linalg.eigh(Mbar)
    root = U @ torch.diag(w.clamp_min(0).sqrt()) @ U.T
    K = means.to(torch.float64) @ means.to(torch.float64).T
    return torch.linalg.eigvalsh(root @ K @ root).flip(0)


class ClusteredLogitModel:
    """G of the model: J_mu = m + E_mu with E_mu Gaussian, isotropic, of the measured size per logit.

    ``means`` (C, D) and ``noise`` (C,) from :func:`logit_gradient_clusters`; ``probs`` (N, C)
    the network's softmax outputs on the N examples the model stands for. One seeded draw of
    the N x C x D synthetic gradients is held in ``dtype`` (float32 halves the N C D memory);
    products are computed in it and returned in float64. An operator for
    :func:`~companion.landscape.lanczos` and :func:`~companion.landscape.spectrum.slq`.
    """

    def __init__(self, means, noise, probs, seed=0, dtype=torch.float32):
        C, D = means.shape
        if probs.dim() != 2 or probs.shape[1] != C:
            raise ValueError(f"probs must have shape (N, {C}), got {tuple(probs.shape)}")
        gen = torch.Generator().manual_seed(int(seed))
        N = probs.shape[0]
        scale = (noise.to(torch.float64) / D).sqrt().to(dtype)
        E = torch.randn(N, C, D, generator=gen, dtype=dtype).to(means.device)
        self.J = E.mul_(scale.to(means.device)[None, :, None]).add_(means.to(dtype)[None])
        self.probs = probs.to(dtype)
        self.dim, self.n_matvecs = D, 0
        self.params = torch.empty(0, dtype=torch.float64, device=means.device)

    def matvec(self, v):
        N, C, D = self.J.shape
        flat = self.J.reshape(N * C, D)
        u = (flat @ v.to(flat.dtype)).reshape(N, C)
        out = flat.T @ _times_softmax_curvature(self.probs, u).reshape(N * C) / N
        self.n_matvecs += 1
        return out.to(torch.float64)

    def matmat(self, V):
        """The operator times V (D, k), one :meth:`matvec` per column."""
        return torch.stack([self.matvec(v) for v in V.T], dim=1)
