"""Stiffness at every checkpoint of the runs: class matrices, stiffness against distance, the critical length."""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from scipy import stats

from ... import rng
from ...data.transforms import stratified_pick
from ...landscape import stiffness as st
from ...landscape.gradients import load_checkpoint, per_example_gram
from ...nn import threads
from .params import CLAIM_PAIRS, THREADS
from .training import make_model, schedule


def probes(data, p):
    """Indices of the two probe sets: a stratified pick of ``n_probe`` training and ``n_probe`` test examples."""
    gen = rng.numpy_rng(p.seed, "probes")
    train_idx = stratified_pick(data.y_train.numpy(), p.n_probe, gen)
    test_idx = stratified_pick(data.y_test.numpy(), p.n_probe, gen)
    return torch.from_numpy(train_idx), torch.from_numpy(test_idx)


def probe_sets(data, p):
    """(Xa, ya, Xb, yb): the training and the test probe examples on ``p.device``."""
    ia, ib = probes(data, p)
    Xa, ya = data.split("train", p.device)
    Xb, yb = data.split("test", p.device)
    ia, ib = ia.to(p.device), ib.to(p.device)
    return Xa[ia], ya[ia], Xb[ib], yb[ib]


@dataclass
class Measured:
    """What :func:`measure_runs` found at every checkpoint.

    curves: lr, seed, step, epoch, train/test loss, pairs, kind, within, between, mean (all pairs).
    distance: lr, seed, step, epoch, then one row per distance bin (train-test, cosine stiffness).
    xi: lr, seed, step, epoch, train_loss, test_loss, xi, rho (Spearman of binned stiffness on distance).
    matrices: {(lr, seed, step, pairs, kind): (k, k) class stiffness matrix}.
    """

    curves: pd.DataFrame
    distance: pd.DataFrame
    xi: pd.DataFrame
    matrices: dict = field(repr=False)


def spearman(x, y):
    """Spearman correlation of x and y; NaN with fewer than 3 points or a constant series."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)


def distance_summary(binned):
    """xi, the nearest bin's stiffness, whether it is the largest of all bins (a stiff core at short range),
    and the Spearman correlation of binned stiffness with distance (descriptive: it also sees the anti-stiff
    dip that can follow the core)."""
    b = binned.sort_values("distance")
    s = b.stiffness.to_numpy()
    return {"xi": st.critical_length(b), "s_near": float(s[0]), "near_is_max": bool(s[0] >= s.max()),
            "rho": spearman(b.distance, b.stiffness)}


def checkpoint_stiffness(model, Xa, ya, Xb, yb, budget):
    """Sign and cosine stiffness of the model as it is, for the pairs of sets a and b.

    Returns {(pairs, kind): pairwise matrix} for pairs train-train (a-a), train-test (a-b)
    and test-test (b-b), from one Gram matrix of the stacked sets' gradients.
    """
    K = per_example_gram(model, torch.cat([Xa, Xb]), torch.cat([ya, yb]), memory_budget=budget).double().cpu()
    out = {}
    for kind in st.KINDS:
        S11, S12, S22 = st.gram_stiffness(K, len(Xa), kind)
        out.update({("train-train", kind): S11, ("train-test", kind): S12, ("test-test", kind): S22})
    return out


def _class_rows(S, where, labels, n_classes):
    """One curves row per (pairs, kind) of a checkpoint, and its class matrix keyed by (pairs, kind)."""
    rows, matrices = [], {}
    for (pairs, kind), M in S.items():
        y1, y2 = labels[pairs]
        C = st.class_stiffness(M, y1, y2, n_classes)
        within, between = st.within_between(C)
        rows.append({**where, "pairs": pairs, "kind": kind, "within": within, "between": between,
                     "mean": st.pair_mean(M, same=y2 is None)})
        matrices[(pairs, kind)] = C
    return rows, matrices


def measure_runs(data, p, runs):
    """Stiffness at every checkpoint of every run: class matrices, within/between, stiffness against distance, xi."""
    per_epoch = schedule(p)[0]
    budget = p.memory_budget_mb * 2**20
    Xa, ya, Xb, yb = probe_sets(data, p)
    X_stats = data.split("train", p.device)[0]
    labels = {"train-train": (ya.cpu(), None), "train-test": (ya.cpu(), yb.cpu()), "test-test": (yb.cpu(), None)}
    dist = st.pairwise_distance(Xa, Xb, p.metric).cpu()
    edges = np.unique(np.quantile(dist.numpy().ravel(), np.linspace(0, 1, p.n_bins + 1)))
    curves, distance, xis, matrices = [], [], [], {}
    with threads(THREADS):
        for run in runs:
            model = make_model(data, p, run.seed)
            hist = run.trajectory.history.set_index("step")
            for step, theta in run.trajectory.checkpoints:
                load_checkpoint(model, theta, X_stats)
                S = checkpoint_stiffness(model, Xa, ya, Xb, yb, budget)
                where = {"lr": run.lr, "seed": run.seed, "step": step, "epoch": step / per_epoch,
                         "train_loss": hist.train_loss[step], "test_loss": hist.test_loss[step],
                         "test_acc": hist.test_acc[step]}
                rows, kept = _class_rows(S, where, labels, data.n_classes)
                curves += rows
                if run.lr == p.lr:  # class matrices are kept for the reference lr only
                    matrices.update({(run.lr, run.seed, step, *key): C for key, C in kept.items()})
                binned = st.stiffness_vs_distance(S[(CLAIM_PAIRS, "cos")], dist, edges=edges)
                distance += [{**where, **row} for row in binned.to_dict("records")]
                xis.append({**where, **distance_summary(binned)})
    return Measured(pd.DataFrame(curves), pd.DataFrame(distance), pd.DataFrame(xis), matrices)


def _layer_rows(model, S, Xa, Xb, p, where):
    """Binned stiffness ``S`` against distance in input space and each hidden layer, distances over their median."""
    spaces = {"input": (Xa, Xb)}
    ra, rb = st.representations(model, Xa), st.representations(model, Xb)
    spaces.update({f"hidden {i + 1} ({name})": (ra[name], rb[name]) for i, name in enumerate(ra)})
    binned_rows, rows = [], []
    for layer, (A, B) in spaces.items():
        D = st.pairwise_distance(A, B, p.metric).cpu()
        scale = float(D.median())
        binned = st.stiffness_vs_distance(S, D / scale, n_bins=p.n_bins)
        binned_rows += [{**where, "layer": layer, **r} for r in binned.to_dict("records")]
        summary = distance_summary(binned)
        rows.append({**where, "layer": layer, "median_distance": scale, "xi_rel": summary.pop("xi"), **summary})
    return binned_rows, rows


def layer_distance(data, p, runs):
    """Stiffness against distance in input space and in each hidden layer, at the first and last checkpoint
    of the reference runs (lr = ``p.lr``). Distances are divided by the median pair distance of their space,
    so layers of different scale share one axis; xi is in the same relative units.

    Returns (binned rows: seed, step, layer, bin columns; summary rows: seed, step, layer, xi_rel, rho).
    """
    budget = p.memory_budget_mb * 2**20
    Xa, ya, Xb, yb = probe_sets(data, p)
    X_stats = data.split("train", p.device)[0]
    binned_rows, rows = [], []
    with threads(THREADS):
        for run in runs:
            if run.lr != p.lr:
                continue
            model = make_model(data, p, run.seed)
            for step, theta in (run.trajectory.checkpoints[0], run.trajectory.checkpoints[-1]):
                load_checkpoint(model, theta, X_stats)
                S = checkpoint_stiffness(model, Xa, ya, Xb, yb, budget)[(CLAIM_PAIRS, "cos")]
                b, r = _layer_rows(model, S, Xa, Xb, p, {"seed": run.seed, "step": step})
                binned_rows += b
                rows += r
    return pd.DataFrame(binned_rows), pd.DataFrame(rows)
