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

A :class:`SimplexConnector` joins m >= 3 solutions the way the wedge model of notebook 07
(Fort & Jastrzebski, arXiv:1906.04724) predicts they can be joined: k trainable shared points
and one face per end, the simplex spanned by that end and all shared points (k = 1: a star of
segments; k = 2: triangles hinged on one shared edge). Training samples a face and a uniform
point of it each step, so every face, not only its edges, is kept at low loss (as the simplicial
complexes of Benton et al. 2021). Any two ends are joined inside the connector by the path
end_i -> centroid of the shared points -> end_j (:meth:`SimplexConnector.pair_path`).
:func:`evaluate_points` and :func:`evaluate_connector` give loss and accuracy over a connector.
"""

import itertools

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from ..nn.flat import unflatten
from ..nn.modes import in_mode
from ..nn.train import optimise
from .function_space import predict_many


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

    def sample(self, gen):
        """A random path and t ~ U(0, 1) from ``gen``: (theta(t), {"path": ..., "t": ...}), theta differentiable."""
        path = int(torch.randint(len(self.paths), (), generator=gen))
        t = torch.rand((), generator=gen).item()
        return self.point(t, path), {"path": path, "t": t}


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
    """Train the bends with Adam (:func:`companion.nn.optimise`) on the mean cross-entropy at a random point per step.

    A :class:`Connector` draws a path and t ~ U(0, 1); a :class:`SimplexConnector` a face and a
    uniform point of it; then ``batch_size`` examples with replacement, all from one generator
    seeded with ``seed``. ``model`` supplies the architecture (evaluated in eval mode, so without
    dropout; its own parameters are not changed). Returns one row per step: step, where the point
    was (path and t, or face) and loss; a non-finite loss ends training after its row.
    """
    if steps < 1 or not lr > 0 or not 1 <= batch_size <= len(X):
        raise ValueError(f"need steps >= 1 (got {steps}), lr > 0 (got {lr}) and 1 <= batch_size <= {len(X)} "
                         f"(got {batch_size})")
    device = connector.ends.device
    gen = torch.Generator().manual_seed(int(seed))
    rows = []

    def step_loss(step):
        theta, where = connector.sample(gen)
        idx = torch.randint(len(X), (batch_size,), generator=gen)
        out = functional_call(model, unflatten(model, theta), (X[idx].to(device),))
        loss = F.cross_entropy(out, y[idx].to(device))
        rows.append({"step": step, **where, "loss": loss.item()})
        return loss

    with in_mode(model):
        optimise([connector.bends], step_loss, steps, optimizer="adam", lr=lr)
    return pd.DataFrame(rows)


class SimplexConnector(nn.Module):
    """m fixed ``ends`` and k trainable ``shared`` points; face i is the simplex spanned by end i and all shared points.

    ``ends``, ``shared``: sequences of flat parameter vectors of one length D. Nodes are numbered
    as in :class:`Connector` (ends 0..m-1, then shared points m..m+k-1), so ``faces[i]`` is
    ``(i, m, ..., m + k - 1)``; the shared points are the trainable ``bends``.
    """

    def __init__(self, ends, shared):
        super().__init__()
        ends = torch.stack([torch.as_tensor(e).detach() for e in ends])
        if len(ends) < 2 or ends.ndim != 2:
            raise ValueError(f"need at least two ends, each a flat vector; got shape {tuple(ends.shape)}")
        if not len(shared):
            raise ValueError("need at least one shared point")
        shared = torch.stack([torch.as_tensor(s).detach() for s in shared])
        if shared.shape[1:] != ends.shape[1:]:
            raise ValueError(f"shared points have {shared.shape[1]} parameters, ends {ends.shape[1]}")
        self.register_buffer("ends", ends.clone())
        self.bends = nn.Parameter(shared.clone())
        m, k = len(ends), len(shared)
        self.faces = [(i, *range(m, m + k)) for i in range(m)]

    def nodes(self, face=0):
        """The (k + 1, D) vertices of face number ``face``: its end first, shared points attached to autograd."""
        return torch.cat([self.ends[face:face + 1], self.bends])

    def point(self, weights, face=0):
        """The point with barycentric ``weights`` (k + 1 numbers >= 0 summing to 1, the end's first) on ``face``."""
        w = torch.as_tensor(weights, dtype=self.ends.dtype, device=self.ends.device)
        k1 = len(self.bends) + 1
        if w.shape != (k1,) or (w < 0).any() or abs(w.sum().item() - 1) > 1e-6:
            raise ValueError(f"weights {w.tolist()} must be {k1} numbers >= 0 summing to 1")
        return w @ self.nodes(face)

    @torch.no_grad()
    def points(self, weights, face=0):
        """(T, D) points of ``face`` at each row of barycentric ``weights`` (T, k + 1) (detached)."""
        return torch.stack([self.point(w, face) for w in weights])

    def sample(self, gen):
        """A random face and a uniform point of it (flat Dirichlet weights) from ``gen``: (theta, {"face": ...})."""
        face = int(torch.randint(len(self.faces), (), generator=gen))
        e = -torch.log1p(-torch.rand(len(self.bends) + 1, generator=gen, dtype=torch.float64))
        return self.point((e / e.sum()).tolist(), face), {"face": face}

    @torch.no_grad()
    def pair_path(self, i, j, ts):
        """(T, D) points at ``ts`` of the path end i -> centroid of the shared points -> end j, inside faces i and j."""
        hub = self.bends.mean(0)
        return torch.stack([polychain(torch.stack([self.ends[i], hub, self.ends[j]]), t) for t in ts])


def connect_simplex(ends, k=1, spread=0.0, seed=0):
    """A :class:`SimplexConnector` joining ``ends`` through k shared points started around their centroid.

    ``spread``: the shared points start at the centroid plus seeded Gaussian offsets of norm about
    ``spread`` times the mean distance of the ends from the centroid (k >= 2 needs spread > 0 so
    that the faces start non-degenerate).
    """
    ends = torch.stack([torch.as_tensor(e).detach() for e in ends])
    if not (isinstance(k, int) and k >= 1):
        raise ValueError(f"k={k!r} must be a positive integer (the number of shared points)")
    if k >= 2 and not spread > 0:
        raise ValueError(f"k={k} shared points need spread > 0 so that they start apart (got {spread!r})")
    centre = ends.mean(0)
    size = (ends - centre).norm(dim=1).mean()
    gen = torch.Generator().manual_seed(int(seed))
    z = torch.randn(k, ends.shape[1], generator=gen, dtype=torch.float64).to(ends)
    shared = centre + spread * size * z / np.sqrt(ends.shape[1])
    return SimplexConnector(list(ends), list(shared))


def simplex_grid(k, resolution):
    """Barycentric weights (T, k + 1) of the regular grid of a k-simplex with ``resolution`` points per edge."""
    if not (isinstance(resolution, int) and resolution >= 2):
        raise ValueError(f"resolution={resolution!r} must be an integer >= 2")
    n = resolution - 1
    rows = [c for c in itertools.product(range(n + 1), repeat=k + 1) if sum(c) == n]
    return torch.tensor(rows, dtype=torch.float64) / n


@torch.no_grad()
def evaluate_points(model, thetas, X, y):
    """Mean cross-entropy and accuracy of ``model`` at each row of ``thetas`` on (X, y): two float64 arrays."""
    logits = predict_many(model, thetas, X, output="logits").double()
    y = y.cpu()
    losses = np.array([F.cross_entropy(lg, y).item() for lg in logits])
    accs = (logits.argmax(-1) == y).double().mean(1).numpy()
    return losses, accs


def evaluate_connector(model, connector, X, y, resolution=11):
    """Loss and accuracy over a connector, one row per evaluated point.

    :class:`Connector`: every path at ``resolution`` evenly spaced t (columns path, t).
    :class:`SimplexConnector`: every face on its barycentric grid with ``resolution`` points per
    edge (columns face, w_end: the end's weight, 1 at the end, 0 on the shared points' face).
    """
    rows = []
    if isinstance(connector, SimplexConnector):
        grid = simplex_grid(len(connector.bends), resolution)
        for face in range(len(connector.faces)):
            losses, accs = evaluate_points(model, connector.points(grid, face), X, y)
            rows += [{"face": face, "w_end": float(w[0]), "loss": lo, "acc": a}
                     for w, lo, a in zip(grid, losses, accs)]
    else:
        ts = np.linspace(0, 1, resolution)
        for path in range(len(connector.paths)):
            losses, accs = evaluate_points(model, connector.points(ts, path), X, y)
            rows += [{"path": path, "t": t, "loss": lo, "acc": a} for t, lo, a in zip(ts, losses, accs)]
    return pd.DataFrame(rows)


def barrier(losses, end_losses):
    """Highest loss over a path or connector above the highest loss of its ends (0 when it never rises above them)."""
    return float(np.max(losses) - np.max(end_losses))
