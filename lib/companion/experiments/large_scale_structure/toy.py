"""The toy wedge model beside the network (``companion.landscape.wedges``, solved exactly, never trained)."""

import numpy as np
import pandas as pd
import torch

from ... import rng
from ...landscape import connectors as C
from ...landscape import random_subspace
from ...landscape import wedges as W
from .connect import line, pairs


def toy_model(p, s, n_wedges=1, eps=None, n=None):
    """Seed s's toy: ``n_wedges`` wedges of short dimension ``n`` (default ``toy_short``) in R^``toy_dim``, cores at
    distance 1, width growth ``eps`` (default ``toy_eps``)."""
    return W.random_wedges(p.toy_dim, p.toy_short if n is None else n, N=n_wedges,
                           eps=p.toy_eps if eps is None else eps, offset=1.0, seed=rng.derive(p.seed, "toy wedges", s))


def toy_plane(p, s, width=None):
    """Seed s's nested random directions (D x ``width``, default enough for ``toy_dims`` and 2 ``toy_short``) and
    unit offset direction."""
    width = max(max(p.toy_dims), 2 * p.toy_short) if width is None else width
    M = random_subspace(p.toy_dim, width, seed=rng.derive(p.seed, "toy plane", s), dtype=W.DT)
    u = torch.randn(p.toy_dim, generator=rng.torch_generator(p.seed, "toy offset", s), dtype=W.DT)
    return M, u / u.norm()


def toy_subspace(p):
    """What the toy predicts for random-subspace training, per seed (same directions at every radius).

    Returns (curves, thresholds): curves, the lowest loss within ``toy_reach`` on the plane of each
    d in ``toy_dims`` from the offset at each radius in ``toy_radii``; thresholds, the exact d* per
    (seed, radius) for three models: a tunnel (eps = 0, whole plane), the widening wedge on the
    whole plane, and the widening wedge within the reach. d* is None (NaN) when no d reaches.
    """
    curves, thresholds = [], []
    for s in range(p.n_seeds):
        wedge, tunnel = toy_model(p, s), toy_model(p, s, eps=0.0)
        M, u = toy_plane(p, s)
        for r in p.toy_radii:
            for dim in p.toy_dims:
                res = W.plane_minimum(wedge, r * u, M[:, :dim], reach=p.toy_reach)
                curves.append({"seed": s, "radius": r, "dim": dim, "loss": res["loss"], "reaches": res["reaches"]})
            for model, reach, name in ((tunnel, None, "tunnel, whole plane"), (wedge, None, "wedge, whole plane"),
                                       (wedge, p.toy_reach, f"wedge, reach {p.toy_reach:g}")):
                d = W.subspace_threshold(model, r * u, M, reach=reach)
                thresholds.append({"seed": s, "radius": r, "model": name, "d_star": np.nan if d is None else d})
    return pd.DataFrame(curves), pd.DataFrame(thresholds)


def toy_connectivity(p):
    """The toy's dimension count: for m = 1 .. toy_dim // toy_short + 1 wedges (seed 0), the dimension of the set
    their cores share (-1: none), against D - m n."""
    m_max = p.toy_dim // p.toy_short + 1
    model = toy_model(p, 0, n_wedges=m_max, eps=0.0)
    return pd.DataFrame([{"m": m, "m_n": m * p.toy_short, "D_minus_m_n": p.toy_dim - m * p.toy_short,
                          "shared_dim": W.intersection_dimension(model, range(m))} for m in range(1, m_max + 1)])


def toy_paths(p):
    """In the toy (n_solutions widening wedges, one solution on each core at radius 4): the loss along the straight
    lines, along the star's pair paths through one shared point, and over the faces of the simplicial connector
    through ``connector_shared`` shared points (no training: the shared points are solved for).

    Returns (paths, barriers): paths one row per (seed, kind, pair, t); barriers one row per (seed, kind) with the
    largest loss over the straight lines (pairs) or over the connector (all faces).
    """
    ts = np.linspace(0, 1, p.connector_points)
    paths, rows = [], []
    for s in range(p.n_seeds):
        model = toy_model(p, s, n_wedges=p.n_solutions)
        ends = [W.wedge_point(model, i, radius=4.0, seed=rng.derive(p.seed, "toy ends", s, i))
                for i in range(p.n_solutions)]
        connectors = {"star": C.SimplexConnector(ends, W.shared_points(model, 1)),
                      f"simplex (k={p.connector_shared})": C.SimplexConnector(
                          ends, W.shared_points(model, p.connector_shared, seed=rng.derive(p.seed, "toy bends", s)))}
        mine = []
        for i, j in pairs(p.n_solutions):
            for kind, thetas in (("straight line", line(ends[i], ends[j], ts)),
                                 ("star", connectors["star"].pair_path(i, j, ts))):
                mine += [{"seed": s, "kind": kind, "pair": f"{i}-{j}", "t": t, "loss": lo}
                         for t, lo in zip(ts, W.loss(model, thetas).tolist())]
        paths += mine
        lines = pd.DataFrame([r for r in mine if r["kind"] == "straight line"])
        rows.append({"seed": s, "kind": "straight lines", "max_loss": lines.loss.max(),
                     "min_pair_max": lines.groupby("pair").loss.max().min()})
        for kind, conn in connectors.items():
            grid = C.simplex_grid(len(conn.bends), p.connector_points)
            worst = max(W.loss(model, conn.points(grid, f)).max().item() for f in range(len(conn.faces)))
            rows.append({"seed": s, "kind": kind, "max_loss": worst, "min_pair_max": np.nan})
    return pd.DataFrame(paths), pd.DataFrame(rows)

