"""C4-C6: ensembles of runs, of subspace samples and both, on the clean test set and under dataset shift.

Random streams derived from ``p.seed``: the corruptions ``("corruptions",)``, the samples of each
method around run i ``("ensemble samples", method, i)`` and the k-subsets of run i's samples
``("k-subsets", i)``.
"""

import numpy as np
import pandas as pd
import torch

from ... import rng
from ...data.shift import shifted_sets
from ...landscape import function_space as fs
from .compute import METHODS, sample
from .training import late


def test_sets(data, p):
    """The clean test set and its corruptions at every severity (``companion.data.shift``), mapped to [0, 1]
    with the training set's range."""
    lo, hi = float(data.X_train.min()), float(data.X_train.max())
    return shifted_sets(data.X_test, p.corruptions, p.severities, seed=rng.derive(p.seed, "corruptions"),
                        value_range=(lo, hi))


def set_names(sets):
    """The name of each test set: "clean", or the corruption and its severity."""
    return [kind if severity == 0 else f"{kind} {severity}" for kind, severity, _ in sets]


def ensemble_predictions(runs, model, data, p, sets):
    """Probabilities on every test set: the final solutions (runs, N, C) and, per method and run, the
    ``n_samples`` subspace samples around that run (S, N, C). Keys: ('independent', None) and (method, run)."""
    out = {name: {} for name in set_names(sets)}
    finals = torch.stack([r.theta for r in runs])
    for name, (_, _, X) in zip(out, sets):
        out[name][("independent", None)] = fs.predict_many(model, finals, X)
    for method in METHODS:
        for i, run in enumerate(runs):
            thetas = sample(method, run, model, data, p, seed=rng.derive(p.seed, "ensemble samples", method, i))
            if not len(thetas):
                raise RuntimeError(f"no {method} sample around run {i} reached the accuracy floor in "
                                   f"{p.random_tries} tries; lower random_radius or random_acc_floor")
            for name, (_, _, X) in zip(out, sets):
                out[name][(method, i)] = fs.predict_many(model, thetas, X)
    return out


def ensemble_curves(probs, y, p):
    """Ensemble accuracy and Brier against size k = 1..n_runs on one test set, one row per (method, kind, size).

    kind "independent": k final solutions (all k-subsets); "subspace": k samples of one method around
    one run (up to ``max_subsets`` k-subsets of its samples), averaged over runs; "combined": k runs,
    each the average of its subspace samples (the official "subspace + ensemble").
    """
    R = p.n_runs
    frames = [fs.ensemble_metrics(probs[("independent", None)], y).assign(method="independent", kind="independent")]
    for method in METHODS:
        alone = [fs.ensemble_metrics(probs[(method, i)], y, sizes=range(1, min(R, len(probs[(method, i)])) + 1),
                                     max_subsets=p.max_subsets, seed=rng.derive(p.seed, "k-subsets", i))
                 for i in range(R)]
        frames.append(pd.concat(alone).groupby("size", as_index=False)[["accuracy", "brier", "subsets"]].mean()
                      .assign(method=method, kind="subspace"))
        models = torch.stack([probs[(method, i)].mean(0) for i in range(R)])
        frames.append(fs.ensemble_metrics(models, y).assign(method=method, kind="combined"))
    out = pd.concat(frames, ignore_index=True)
    return out[["method", "kind", "size", "accuracy", "brier", "subsets"]]


def shift_curves(probs, sets, y, p):
    """Under shift, the official comparison: one run, ensembles of ``shift_sizes`` runs, each method's
    subspace model (all its samples around one run averaged, mean over runs) and ensembles of ``shift_sizes``
    such models. One row per (set, method, size)."""
    rows = []
    for name, (kind, severity, _) in zip(set_names(sets), sets):
        P = probs[name]
        models = {"independent": P[("independent", None)],
                  **{m: torch.stack([P[(m, i)].mean(0) for i in range(p.n_runs)]) for m in METHODS}}
        for method, M in models.items():
            for size, row in fs.ensemble_metrics(M, y, sizes=[1, *p.shift_sizes]).set_index("size").iterrows():
                rows.append({"corruption": kind, "severity": severity, "method": method, "size": size,
                             "accuracy": row.accuracy, "brier": row.brier})
    return pd.DataFrame(rows)


def js_under_shift(probs, sets, runs, model, p):
    """Jensen-Shannon diversity on every test set: of the independent runs, of run 0's late checkpoints and of
    each method's samples around run 0. One row per (set, method)."""
    rows = []
    traj = runs[0].checkpoints[late(p)]
    for name, (kind, severity, X) in zip(set_names(sets), sets):
        P = probs[name]
        groups = {"independent": P[("independent", None)], "trajectory": fs.predict_many(model, traj, X),
                  **{m: P[(m, 0)] for m in METHODS}}
        for method, g in groups.items():
            rows.append({"corruption": kind, "severity": severity, "method": method, "models": len(g),
                         "js": fs.jensen_shannon(g)})
    return pd.DataFrame(rows)


def shift_table(shift, p):
    """Accuracy and Brier per severity (mean over corruptions) for one run, the largest ensemble of runs and each
    method's subspace model."""
    k = max(p.shift_sizes)
    runs_ = shift.method == "independent"
    keep = (runs_ & shift["size"].isin([1, k])) | (~runs_ & (shift["size"] == 1))
    names = np.where(runs_, shift["size"].map({1: "1 run", k: f"{k} runs"}), shift.method + " (one run)")
    t = shift.assign(model=names)[keep]
    return t.groupby(["severity", "model"], sort=False)[["accuracy", "brier"]].mean().reset_index()
