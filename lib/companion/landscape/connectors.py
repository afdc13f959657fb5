"""Low-loss connectors between solutions: polygonal paths through trainable bend points.

Two independently trained solutions are usually separated by a loss barrier on the straight
line between them, yet a path through one or a few trained *bend* points can keep the loss
low all the way (Garipov et al. 2018, Draxler et al. 2018; the "polygonal chain"). The bends
are trained by minimising the expected loss E_t L(theta(t)) over t ~ U(0, 1) on the path,
one random t per mini-batch. Notebook 09 (Deep Ensembles, arXiv:1912.02757) uses one bend
between two solutions to ask whether modes joined in *loss* are also joined in *function*.

A :class:`Connector` holds fixed *ends* (the solutions) and trainable *bends* (shared points)
and any number of *paths*, each a sequence of node indices (ends first: 0..m-1, then bends:
m..m+b-1) that starts and ends at an end and runs through bends. So the same class joins
m >= 3 solutions, e.g. through one shared hub (:func:`connect_star`): training then samples
a path and a t per step.
"""

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from ..nn.flat import unflatten


def polychain(nodes, t):
    """The point at ``t`` in [0, 1] on the polygonal chain through ``nodes`` (k, D): each segment gets 1/(k-1) of t."""
    segments = len(nodes) - 1
    if segments < 1:
        raise ValueError("a chain needs at least two nodes")
    t = float(t)
    if not 0 <= t <= 1:
        raise ValueError(f"t={t!r} must be in [0, 1]")
    s = t * segments
    i = min(int(np.floor(s)), segments - 1)
    frac = s - i
    return (1 - frac) * nodes[i] + frac * nodes[i + 1]


class Connector(nn.Module):
    """Fixed ``ends`` (solutions), trainable ``bends`` (shared points) and ``paths`` through them.

    ``ends``, ``bends``: sequences of flat parameter vectors of one length D (bends are their
    starting positions). ``paths``: sequences of node indices; node i < m is end i, node m + j
    is bend j. Every path starts and ends at a (different) end and passes only through bends.
    """

    def __init__(self, ends, bends, paths):
        super().__init__()
        ends = torch.stack([torch.as_tensor(e).detach() for e in ends])
        if len(ends) < 2 or ends.ndim != 2:
            raise ValueError(f"need at least two ends, each a flat vector; got shape {tuple(ends.shape)}")
        bends = (torch.stack([torch.as_tensor(b).detach() for b in bends]) if len(bends)
                 else ends.new_zeros((0, ends.shape[1])))
        if bends.shape[1:] != ends.shape[1:]:
            raise ValueError(f"bends have {bends.shape[1]} parameters, ends {ends.shape[1]}")
        m, b = len(ends), len(bends)
        checked = []
        for path in paths:
            path = tuple(int(i) for i in path)
            ok = (len(path) >= 2 and path[0] < m and path[-1] < m and path[0] != path[-1]
                  and all(m <= i < m + b for i in path[1:-1]))
            if not ok:
                raise ValueError(f"path {path} is not allowed: it must start and end at two different ends "
                                 f"(0..{m - 1}) and pass only through bends ({m}..{m + b - 1})")
            checked.append(path)
        if not checked:
            raise ValueError("give at least one path")
        self.register_buffer("ends", ends.clone())
        self.bends = nn.Parameter(bends.clone())
        self.paths = checked

    def nodes(self, path=0):
        """The (k, D) nodes of path number ``path``, bends still attached to autograd."""
        all_nodes = torch.cat([self.ends, self.bends])
        return all_nodes[list(self.paths[path])]

    def point(self, t, path=0):
        """theta(t) on path number ``path`` (differentiable in the bends)."""
        return polychain(self.nodes(path), t)

    @torch.no_grad()
    def points(self, ts, path=0):
        """(T, D) points of path ``path`` at each t in ``ts`` (detached)."""
        return torch.stack([self.point(t, path) for t in ts])


def connect_pair(a, b, n_bends=1, paths=None):
    """A connector between solutions ``a`` and ``b`` with ``n_bends`` bends started evenly on the straight line.

    Untrained, it *is* the straight line (so it doubles as the linear-interpolation baseline).
    """
    a, b = torch.as_tensor(a).detach(), torch.as_tensor(b).detach()
    bends = [a + (j / (n_bends + 1)) * (b - a) for j in range(1, n_bends + 1)]
    return Connector([a, b], bends, [(0, *range(2, 2 + n_bends), 1)])


def connect_star(ends):
    """A connector joining m >= 2 solutions through one shared hub, started at their centroid.

    Paths: (i, hub, j) for every pair i < j, so training keeps the loss low between all pairs.
    """
    ends = [torch.as_tensor(e).detach() for e in ends]
    m = len(ends)
    hub = torch.stack(ends).mean(0)
    return Connector(ends, [hub], [(i, m, j) for i in range(m) for j in range(i + 1, m)])


def train_connector(model, connector, X, y, steps=1000, lr=1e-2, batch_size=128, seed=0):
    """Train the bends with Adam on the mean cross-entropy at theta(t), t ~ U(0, 1) and a random path per step.

    ``model`` supplies the architecture (evaluated in eval mode, so without dropout; its own
    parameters are not changed). Mini-batches of ``batch_size`` are drawn with replacement.
    Returns one row per step: step, path, t, loss.
    """
    if steps < 1 or not lr > 0 or not 1 <= batch_size <= len(X):
        raise ValueError(f"need steps >= 1 (got {steps}), lr > 0 (got {lr}) and 1 <= batch_size <= {len(X)} "
                         f"(got {batch_size})")
    device = connector.ends.device
    gen = torch.Generator().manual_seed(int(seed))
    opt = torch.optim.Adam([connector.bends], lr=lr)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    rows = []
    try:
        for step in range(steps):
            path = int(torch.randint(len(connector.paths), (), generator=gen))
            t = torch.rand((), generator=gen).item()
            idx = torch.randint(len(X), (batch_size,), generator=gen)
            theta = connector.point(t, path)
            out = functional_call(model, unflatten(model, theta), (X[idx].to(device),))
            loss = F.cross_entropy(out, y[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            rows.append({"step": step, "path": path, "t": t, "loss": loss.item()})
    finally:
        for m, mode in modes:
            m.training = mode
    return pd.DataFrame(rows)
