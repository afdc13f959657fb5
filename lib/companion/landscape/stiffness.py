"""Stiffness (Fort, Nowak, Jastrzebski & Narayanan, arXiv:1901.09491): how a step on one example moves another's loss.

A gradient step on example 1, theta -> theta - eps g1, changes the loss on example 2 by
-eps g1 . g2 + O(eps^2). Stiffness is the first-order term, normalised:

- sign stiffness  S_sign = sign(g1 . g2): the sign of the DOT PRODUCT of the two whole
  gradients (+1 the step helps example 2, -1 it hurts, 0 for a zero gradient). It is not the
  mean of element-wise signs sign(g1) * sign(g2), a mistake seen in public snippets.
- cosine stiffness S_cos = g1 . g2 / (|g1| |g2|) (0 where a gradient is zero).

Both are unchanged by any positive rescaling of the loss (mean or sum reduction alike). Every
function here works on gradient matrices (rows g_i, from ``companion.landscape.gradients``)
or on their matrix of dot products, and returns pairwise matrices; averages over pairs
leave out the pairs of an example with itself, which always give 1.
"""

import math

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..nn.modes import in_mode

KINDS = ("cos", "sign")
METRICS = ("euclidean", "cosine")


def stiffness_from_gram(K, norms1, norms2, kind="cos"):
    """Pairwise stiffness from the dot products K[i, j] = g1_i . g2_j and the gradient norms of each set."""
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not allowed; choose one of {', '.join(KINDS)}")
    if kind == "sign":
        return torch.sign(K)
    denom = torch.outer(norms1, norms2)
    return torch.where(denom > 0, K / denom.clamp_min(torch.finfo(K.dtype).tiny), torch.zeros_like(K))


def gram_stiffness(K, n1, kind="cos"):
    """Split the Gram matrix of the stacked sets [set 1; set 2] (the first ``n1`` rows set 1) into S(set 1, set 2).

    Returns (S11, S12, S22): stiffness within set 1, from set 1 to set 2, and within set 2.
    """
    norms = torch.diagonal(K).clamp_min(0).sqrt()
    S = stiffness_from_gram(K, norms, norms, kind)
    return S[:n1, :n1], S[:n1, n1:], S[n1:, n1:]


def cosine_stiffness(G1, G2=None):
    """S_cos[i, j] = cos(g1_i, g2_j) for gradient rows G1 (N1, D) and G2 (N2, D); G2 None means G1."""
    G2 = G1 if G2 is None else G2
    return stiffness_from_gram(G1 @ G2.T, G1.norm(dim=1), G2.norm(dim=1), "cos")


def sign_stiffness(G1, G2=None):
    """S_sign[i, j] = sign(g1_i . g2_j): the sign of the dot product of the whole gradients, 0 when it is 0."""
    G2 = G1 if G2 is None else G2
    return torch.sign(G1 @ G2.T)


def pair_mean(S, same=False):
    """Mean of a pairwise stiffness matrix; ``same`` (both sets the same examples) leaves out the diagonal."""
    S = torch.as_tensor(S, dtype=torch.float64)
    if not same:
        return S.mean().item()
    n = S.shape[0]
    if n < 2:
        raise ValueError("a set needs at least 2 examples for pairs of distinct examples")
    return ((S.sum() - torch.diagonal(S).sum()) / (n * n - n)).item()


def class_stiffness(S, y1, y2=None, n_classes=None, same=None):
    """The class stiffness matrix C[a, b]: mean of S over pairs with example 1 in class a and example 2 in class b.

    ``y2`` None means set 2 is set 1 (then ``same`` defaults to True and pairs of an example
    with itself are left out). Entries without a pair are NaN. Returns a (k, k) float64 numpy array.
    """
    same = (y2 is None) if same is None else same
    y1 = torch.as_tensor(y1).cpu().long()
    y2 = y1 if y2 is None else torch.as_tensor(y2).cpu().long()
    S = torch.as_tensor(S).detach().cpu().double()
    if S.shape != (len(y1), len(y2)):
        raise ValueError(f"S has shape {tuple(S.shape)}; expected ({len(y1)}, {len(y2)}) from the labels")
    k = int(n_classes if n_classes is not None else max(y1.max(), y2.max()) + 1)
    A1 = torch.nn.functional.one_hot(y1, k).double()
    A2 = torch.nn.functional.one_hot(y2, k).double()
    sums, counts = A1.T @ S @ A2, A1.T @ torch.ones_like(S) @ A2
    if same:
        sums -= A1.T @ torch.diag(torch.diagonal(S)) @ A2
        counts -= A1.T @ A2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts.numpy() > 0, sums.numpy() / np.maximum(counts.numpy(), 1), np.nan)


def within_between(C):
    """(within, between): the mean of the diagonal and of the off-diagonal entries of a class matrix (NaNs skipped)."""
    C = np.asarray(C, dtype=float)
    off = ~np.eye(len(C), dtype=bool)
    return float(np.nanmean(np.diag(C))), float(np.nanmean(C[off]))


def group_contrast(C, groups):
    """(same group, other groups): mean off-diagonal class stiffness for class pairs in the same super-class
    (``groups[a]`` is the super-class of class a) and for pairs in different super-classes."""
    C, g = np.asarray(C, dtype=float), np.asarray(groups)
    if len(g) != len(C):
        raise ValueError(f"groups has {len(g)} entries for a {len(C)}-class matrix; give one super-class per class")
    off = ~np.eye(len(C), dtype=bool)
    same = (g[:, None] == g[None, :]) & off
    if not same.any():
        raise ValueError("no two classes share a super-class: nothing to contrast")
    return float(np.nanmean(C[same])), float(np.nanmean(C[off & ~same]))


def pairwise_distance(A, B=None, metric="euclidean"):
    """Distances between the rows of A (N1, ...) and B (N2, ...), flattened: Euclidean, or cosine (1 - cos)."""
    if metric not in METRICS:
        raise ValueError(f"metric={metric!r} is not allowed; choose one of {', '.join(METRICS)}")
    A = A.reshape(len(A), -1).double()
    B = A if B is None else B.reshape(len(B), -1).double()
    if metric == "euclidean":
        return torch.cdist(A, B)
    return 1 - cosine_stiffness(A, B)


def stiffness_vs_distance(S, dist, n_bins=10, same=False, edges=None):
    """Mean stiffness in bins of distance: one row per non-empty bin (lo, hi, centre, mean, se, n).

    Bins are ``n_bins`` equal-count quantile bins of the pairs' distances unless ``edges`` is
    given; ``same`` leaves out the pairs of an example with itself.
    """
    S, dist = torch.as_tensor(S).double().cpu(), torch.as_tensor(dist).double().cpu()
    mask = torch.ones_like(S, dtype=torch.bool)
    if same:
        mask.fill_diagonal_(False)
    s, d = S[mask].numpy(), dist[mask].numpy()
    if edges is None:
        edges = np.unique(np.quantile(d, np.linspace(0, 1, n_bins + 1)))
    edges = np.asarray(edges, dtype=float)
    which = np.clip(np.searchsorted(edges, d, side="right") - 1, 0, len(edges) - 2)
    k = len(edges) - 1
    n = np.bincount(which, minlength=k)
    total, sq, dsum = (np.bincount(which, weights=w, minlength=k) for w in (s, s * s, d))
    rows = []
    for b in np.flatnonzero(n):
        mean = total[b] / n[b]
        var = max(sq[b] - n[b] * mean * mean, 0.0) / (n[b] - 1) if n[b] > 1 else float("nan")
        rows.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "distance": float(dsum[b] / n[b]),
                     "stiffness": float(mean), "se": float(math.sqrt(var / n[b])), "n": int(n[b])})
    return pd.DataFrame(rows)


def critical_length(binned):
    """The dynamical critical length xi: the distance at which the binned mean stiffness first falls to zero.

    Definition used throughout the companion (the paper pins down neither the metric nor the
    rule; this is our choice, stated): take the stiffness binned by distance (the output of
    :func:`stiffness_vs_distance`, bins ordered by distance, each at its mean distance); xi
    is the first distance at which the binned mean crosses from positive to <= 0, found by
    linear interpolation between the two bins that bracket the crossing. Pairs closer than
    xi move together under a gradient step on one of them, on average. When the nearest bin
    is already <= 0, xi is that bin's distance (no stiff region resolved); when no bin
    reaches zero, xi = inf (stiff at every distance measured).
    """
    b = binned.sort_values("distance")
    d, s = b["distance"].to_numpy(), b["stiffness"].to_numpy()
    if len(s) == 0:
        return float("nan")
    if s[0] <= 0:
        return float(d[0])
    for i in range(1, len(s)):
        if s[i] <= 0:
            return float(d[i - 1] + (d[i] - d[i - 1]) * s[i - 1] / (s[i - 1] - s[i]))
    return float("inf")


ACTIVATION_TYPES = (nn.ReLU, nn.Tanh, nn.GELU, nn.Sigmoid, nn.ELU, nn.LeakyReLU, nn.Identity)


def hidden_layers(model):
    """Names of the modules whose outputs are the hidden representations: every activation module
    (``companion.nn`` builders put one after each hidden linear or conv layer)."""
    return [name for name, m in model.named_modules() if isinstance(m, ACTIVATION_TYPES) and name]


@torch.no_grad()
def representations(model, X, layers=None):
    """The hidden representations of X: {layer name: (N, features) tensor}, in eval mode (running BN statistics).

    ``layers`` names modules of ``model`` (default: :func:`hidden_layers`); each output is flattened per example.
    """
    layers = hidden_layers(model) if layers is None else list(layers)
    modules = dict(model.named_modules())
    unknown = [name for name in layers if name not in modules]
    if unknown:
        raise ValueError(f"unknown layers {unknown}; the model's modules are {[n for n in modules if n]}")
    out, hooks = {}, []
    for name in layers:
        hooks.append(modules[name].register_forward_hook(
            lambda m, i, o, name=name: out.__setitem__(name, o.reshape(len(o), -1).detach())))
    try:
        with in_mode(model):
            model(X)
    finally:
        for h in hooks:
            h.remove()
    return {name: out[name] for name in layers}
