"""The network side of C6: ensembles of independent solutions against ensembles of members of one wedge.

Three kinds of ensembles of M = ``n_solutions`` members, per seed, on the test set:

- ``independent``: the seed's M independent solutions (different initialisations; different wedges in the model);
- ``snapshots``: solution i and M - 1 snapshots of its run continued past it with the same SGD, one every
  ``snapshot_every`` steps (members of one trajectory, like the snapshots FGE and SWA collect);
- ``segment``: M points on the trained star's segment from solution i towards its shared point, at 0, 1/M, ...,
  (M - 1)/M of the way (inside the low-loss connector; the shared point itself, common to every wedge, is left out).

Every solution i anchors one ensemble of each within-wedge kind; per test example those are averaged over the
anchors. The comparisons pair the kinds on each test example (:func:`ensemble_margins`).
"""

import numpy as np
import pandas as pd
import torch

from ... import rng
from ...landscape import function_space as fs
from ...nn import train
from ...stats import bootstrap
from .compute import make_model, model_at

WITHIN = ("snapshots", "segment")  # the within-wedge kinds, compared with "independent"
MEASURES = {"member_acc": "member_correct", "acc_gain": "acc_gain", "nll_gain": "nll_gain",
            "disagreement": "disagreement"}  # what the margins compare: measure -> the per-example column it averages


def snapshot_members(data, p, theta, s, i):
    """(M, D): ``theta`` and M - 1 snapshots of SGD (``lr``, ``batch_size``) continued from it, ``snapshot_every``
    steps apart; batches from the stream ("snapshot batches", s, i) of ``p.seed``."""
    X, y = data.split("train", p.device)
    net = model_at(make_model(data, p), theta)
    every, m = p.snapshot_every, p.n_solutions
    traj = train(net, X, y, optimizer="sgd", lr=p.lr, batch_size=p.batch_size, steps=(m - 1) * every,
                 seed=rng.derive(p.seed, "snapshot batches", s, i), eval_every=every, checkpoint_every=every)
    return torch.stack([c for _, c in traj.checkpoints])


def segment_members(theta, hub, m):
    """(m, D): the points theta + (j / m)(hub - theta), j = 0..m-1, on the segment from ``theta`` to ``hub``."""
    return torch.stack([theta + (j / m) * (hub - theta) for j in range(m)])


def _members(model, thetas, X, y):
    """What the ensemble of ``thetas`` does on (X, y): per example (:func:`companion.landscape.function_space
    .ensemble_examples`, with the accuracy gain and the NLL gain, members' mean NLL minus the ensemble's), and
    each member's accuracy."""
    logits = fs.predict_many(model, thetas, X, output="logits")
    ex = fs.ensemble_examples(logits, y)
    ex = ex.assign(acc_gain=ex.ens_correct - ex.member_correct, nll_gain=ex.member_nll - ex.ens_nll)
    return ex, (logits.argmax(-1) == y.cpu()).double().mean(1)


def ensemble_study(data, p, sols, hubs):
    """Every seed's independent ensemble and, anchored at each solution, its snapshot and segment ensembles.

    ``sols[s]``: seed s's M solutions; ``hubs[s]``: the shared point of its trained star. Returns (table,
    examples): table has one row per (seed, kind, anchor) with the members' test accuracy (mean, min, max),
    the ensemble's, the accuracy gain, both NLLs, the NLL gain and the members' mean pairwise disagreement;
    examples one row per (seed, kind, example) of the per-example columns, averaged over the anchors.
    """
    X, y = data.split("test", p.device)
    model, m = make_model(data, p), p.n_solutions
    groups = []
    for s in range(p.n_seeds):
        groups.append((s, "independent", -1, torch.stack(sols[s])))
        for i, theta in enumerate(sols[s]):
            groups.append((s, "snapshots", i, snapshot_members(data, p, theta, s, i)))
            groups.append((s, "segment", i, segment_members(theta, hubs[s].to(theta), m)))
    rows, per_example = [], []
    for s, kind, anchor, thetas in groups:
        ex, member_acc = _members(model, thetas, X, y)
        rows.append({"seed": s, "kind": kind, "anchor": anchor, "members": len(thetas),
                     "member_acc": ex.member_correct.mean(), "member_acc_min": member_acc.min().item(),
                     "member_acc_max": member_acc.max().item(), "ens_acc": ex.ens_correct.mean(),
                     "acc_gain": ex.acc_gain.mean(), "member_nll": ex.member_nll.mean(), "ens_nll": ex.ens_nll.mean(),
                     "nll_gain": ex.nll_gain.mean(), "disagreement": ex.disagreement.mean()})
        per_example.append(ex.assign(seed=s, kind=kind, example=np.arange(len(ex))))
    examples = pd.concat(per_example).groupby(["seed", "kind", "example"], as_index=False).mean()
    return pd.DataFrame(rows), examples


def ensemble_margins(examples, p):
    """Independent minus each within-wedge kind, per measure, paired on the test examples.

    Each example's value is averaged over the run's seeds (they share the test set), so the units of the
    ``n_boot``-resample bootstrap (:func:`companion.stats.bootstrap`, stream ("ensembles", kind, measure))
    are the test examples. One row per (kind, measure): the independent value, the kind's, the margin and
    its 95% interval (lo, hi).
    """
    by_kind = examples.groupby(["kind", "example"]).mean(numeric_only=True)
    rows = []
    for kind in WITHIN:
        for measure, column in MEASURES.items():
            ind = by_kind.loc["independent"][column].to_numpy()
            mine = by_kind.loc[kind][column].to_numpy()
            diff = ind - mine
            point, lo, hi = bootstrap(lambda w: w @ diff / w.sum(), len(diff), p.n_boot, p.seed, "ensembles", kind,
                                      measure)
            rows.append({"kind": kind, "measure": measure, "independent": ind.mean(), "within": mine.mean(),
                         "margin": point, "lo": lo, "hi": hi})
    return pd.DataFrame(rows)
