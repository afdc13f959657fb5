"""The network side of C4, C5: independent solutions, straight lines between them, trained connectors, barriers."""

import numpy as np
import pandas as pd
import torch

from ... import rng
from ...landscape import connectors as C
from ...nn import flat_params
from .compute import make_model, sgd_run


def solutions(data, p, base):
    """``n_solutions`` independent SGD solutions per seed at the base setting (the knob study's base run first)."""
    out = {}
    for s in range(p.n_seeds):
        thetas = [base[s]] if s in base else []
        for r in range(len(thetas), p.n_solutions):
            model, _ = sgd_run(data, p, s, p.lr, 1.0, 0.0, replica=r)
            thetas.append(flat_params(model))
        out[s] = thetas
    return out


def pairs(m):
    """Every pair (i, j), i < j, of m solutions."""
    return [(i, j) for i in range(m) for j in range(i + 1, m)]


def line(a, b, ts):
    """The points (1 - t) a + t b of the straight line from a to b, one row per t."""
    return torch.stack([(1 - t) * a + t * b for t in ts])


def _trained_connectors(model, ends, X, y, p, s):
    """Seed s's star and (with ``connector_shared`` > 1) simplicial connector, trained; with their loss histories."""
    trained = {"star": C.connect_simplex(ends, k=1).to(p.device)}
    if p.connector_shared > 1:
        trained[f"simplex (k={p.connector_shared})"] = C.connect_simplex(
            ends, k=p.connector_shared, spread=0.1, seed=rng.derive(p.seed, "simplex spread", s)).to(p.device)
    history = []
    for j, (kind, conn) in enumerate(trained.items()):
        h = C.train_connector(model, conn, X, y, steps=p.connector_steps, lr=p.connector_lr,
                              batch_size=p.connector_batch, seed=rng.derive(p.seed, "connector batches", s, j))
        history.append(h.assign(seed=s, kind=kind))
    return trained, history


def connector_study(data, p, sols):
    """Straight lines between every pair of solutions, a trained star (one shared point) and a trained simplicial
    connector (``connector_shared`` points), per seed.

    Returns (paths, faces, history, hubs): paths has one row per (seed, kind, pair, t) for kind
    "straight line" and "star" (the star's path end i -> shared point -> end j) with train loss and
    accuracy and test accuracy; faces one row per (seed, kind, face, grid point) over every face of each
    connector; history the training loss per step; hubs[s] the star's trained shared point (C6 uses it).
    """
    (X, y), (Xte, yte) = data.split("train", p.device), data.split("test", p.device)
    model = make_model(data, p)
    ts = np.linspace(0, 1, p.connector_points)
    paths, faces, history, hubs = [], [], [], {}
    for s in range(p.n_seeds):
        ends = [t.to(p.device) for t in sols[s]]
        trained, h = _trained_connectors(model, ends, X, y, p, s)
        history += h
        hubs[s] = trained["star"].bends[0].detach()
        faces += [C.evaluate_connector(model, conn, X, y, resolution=p.connector_points).assign(seed=s, kind=kind)
                  for kind, conn in trained.items()]
        for i, j in pairs(len(ends)):
            for kind, thetas in (("straight line", line(ends[i], ends[j], ts)),
                                 ("star", trained["star"].pair_path(i, j, ts))):
                loss, acc = C.evaluate_points(model, thetas, X, y)
                _, test_acc = C.evaluate_points(model, thetas, Xte, yte)
                paths += [{"seed": s, "kind": kind, "pair": f"{i}-{j}", "t": t, "loss": lo, "acc": a, "test_acc": ta}
                          for t, lo, a, ta in zip(ts, loss, acc, test_acc)]
    return pd.DataFrame(paths), pd.concat(faces, ignore_index=True), pd.concat(history, ignore_index=True), hubs


def path_barriers(paths):
    """Barrier of every (seed, kind, pair) path: max loss minus the larger end loss, with the ends' losses."""
    rows = []
    for (s, kind, pair), t in paths.groupby(["seed", "kind", "pair"], sort=False):
        t = t.sort_values("t")
        ends = [t.loss.iloc[0], t.loss.iloc[-1]]
        rows.append({"seed": s, "kind": kind, "pair": pair, "end_loss": max(ends), "max_loss": t.loss.max(),
                     "barrier": C.barrier(t.loss, ends), "min_acc": t.acc.min()})
    return pd.DataFrame(rows)


def connector_barriers(faces):
    """Per (seed, connector): the highest loss over all its faces against the highest loss of its ends."""
    rows = []
    for (s, kind), t in faces.groupby(["seed", "kind"], sort=False):
        ends = t[t.w_end == 1.0].loss
        rows.append({"seed": s, "kind": kind, "faces": t.face.nunique(), "points": len(t), "end_loss": ends.max(),
                     "max_loss": t.loss.max(), "barrier": C.barrier(t.loss, ends), "min_acc": t.acc.min()})
    return pd.DataFrame(rows)
