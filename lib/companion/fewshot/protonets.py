"""Prototypical networks (Snell et al. 2017) and Gaussian prototypical networks (Fort 2017).

The encoder's ``C`` output numbers are read as an embedding ``x`` of dimension ``D`` and ``k`` raw
numbers ``r``, which a transform turns into a *precision* ``s >= 1`` (an inverse variance: large ``s``
means a confident image). ``mode`` sets the split of the same ``C`` outputs, so every mode has
exactly the same encoder and parameter count:

- ``vanilla``: D = C, k = 0 (no covariance);
- ``radius``: D = C - 1, k = 1 (one precision per image, the same in every direction);
- ``diagonal``: D = k = C / 2 (one precision per embedding dimension).

Transforms (raw -> precision), as in the paper's code: ``softplus`` s = 1 + softplus(r) (its
default), ``sigmoid`` s = 1 + sigmoid(r), ``sigmoid4`` s = 1 + 4 sigmoid(r), ``learned``
s = a + b softplus(r / c) with a, b, c trained from 1 (three more parameters; s >= 1 only at the
start).

A class's prototype is the precision-weighted mean of its support embeddings and its precision is
their sum, element-wise over dimensions (a radius broadcasts):

    p_c = sum_i s_i x_i / sum_i s_i,        S_c = sum_i s_i,

and a query q is at distance d_c(q) = sqrt(sum_j S_cj (q_j - p_cj)^2) (``euclidean``, the paper's
code: not squared) or its square (``squared``); the logits are -d. The query's own precision is not
used. The vanilla network uses the plain mean and S_c = 1, i.e. Snell et al.'s network with the
unsquared (or squared) Euclidean distance.

The documented transform between the two: if every image has the same precision sigma (a scalar,
or the same vector with equal entries), the Gaussian prototype is the plain mean and S_c = K sigma
for K shots, so the Gaussian logits are sqrt(K sigma) times the vanilla logits (``euclidean``) or
K sigma times them (``squared``): the same ranking, a different temperature.
"""

import torch
import torch.nn.functional as F
from torch import nn

MODES = ("vanilla", "radius", "diagonal")
TRANSFORMS = ("softplus", "sigmoid", "sigmoid4", "learned")
DISTANCES = ("euclidean", "squared")
_EPS = 1e-12  # floor under a squared distance before its square root, so the gradient stays finite


def _choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; choose one of {', '.join(allowed)}")


def split_channels(mode, channels):
    """(D, k): the embedding and raw-precision sizes that ``mode`` reads from ``channels`` outputs."""
    _choice("mode", mode, MODES)
    if mode == "vanilla":
        return channels, 0
    if mode == "radius":
        if channels < 2:
            raise ValueError(f"the radius mode needs at least 2 output channels, got {channels}")
        return channels - 1, 1
    if channels < 2 or channels % 2:
        raise ValueError(f"the diagonal mode splits the output channels in half: want an even number >= 2, "
                         f"got {channels}")
    return channels // 2, channels // 2


class Precision(nn.Module):
    """Raw encoder outputs -> precisions, by one of ``TRANSFORMS``."""

    def __init__(self, kind="softplus"):
        super().__init__()
        _choice("transform", kind, TRANSFORMS)
        self.kind = kind
        if kind == "learned":
            self.a, self.b, self.c = (nn.Parameter(torch.ones(())) for _ in range(3))

    def forward(self, raw):
        if self.kind == "softplus":
            return 1 + F.softplus(raw)
        if self.kind == "sigmoid":
            return 1 + torch.sigmoid(raw)
        if self.kind == "sigmoid4":
            return 1 + 4 * torch.sigmoid(raw)
        return self.a + self.b * F.softplus(raw / self.c)


def prototypes(x, s=None):
    """Precision-weighted prototypes: x (..., N, K, D), s (..., N, K, D) or (..., N, K, 1) -> p (..., N, D),
    S (..., N, D or 1). Leading dimensions (several episodes) are carried along.

    ``s=None`` (vanilla): the plain mean and S = 1.
    """
    if s is None:
        return x.mean(-2), torch.ones(*x.shape[:-2], 1, dtype=x.dtype, device=x.device)
    S = s.sum(-2)
    return (s * x).sum(-2) / S, S


def distances(q, p, S, squared=False):
    """d[m, c] = sqrt(sum_j S[c, j] (q[m, j] - p[c, j])^2): q (..., M, D), p (..., N, D), S (..., N, D or 1)
    -> (..., M, N)."""
    d2 = ((q[..., :, None, :] - p[..., None, :, :]) ** 2 * S[..., None, :, :]).sum(-1)
    return d2 if squared else d2.clamp_min(_EPS).sqrt()


class ProtoNet(nn.Module):
    """An encoder read in one of ``MODES``: ``embed`` gives (x, s), ``logits`` classifies queries."""

    def __init__(self, encoder, mode="radius", transform="softplus", distance="euclidean"):
        super().__init__()
        _choice("distance", distance, DISTANCES)
        self.encoder = encoder
        self.mode, self.distance = mode, distance
        self.dim, self.sigma_dim = split_channels(mode, encoder.out_features)
        self.precision = Precision(transform) if self.sigma_dim else None

    def embed(self, X):
        """Embeddings (B, D) and precisions (B, k), or None for vanilla."""
        out = self.encoder(X)
        x = out[:, :self.dim]
        return x, (self.precision(out[:, self.dim:]) if self.precision is not None else None)

    def logits(self, x_support, s_support, x_query):
        """Logits -d (..., M, N) of queries (..., M, D) against supports (..., N, K, D) with precisions
        (..., N, K, k) or None."""
        p, S = prototypes(x_support, s_support)
        return -distances(x_query, p, S, squared=self.distance == "squared")

    def episode_logits(self, x, s, episode):
        """Logits of one episode's queries from embeddings (and precisions) of its images, in
        :meth:`Episode.indices` order: the N*K supports first, then the N*Q queries."""
        n, k = episode.support.shape
        xs = x[:n * k].reshape(n, k, -1)
        ss = s[:n * k].reshape(n, k, -1) if s is not None else None
        return self.logits(xs, ss, x[n * k:])
