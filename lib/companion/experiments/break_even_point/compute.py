"""The runs and their measurements: SGD trajectories of SimpleCNN(-BN), each checkpoint's H and K, tidy tables.

Random streams, all derived from ``p.seed`` (:func:`companion.rng.derive`): run ``s`` of every
grid point starts from the init ``("init", s)`` and draws its mini-batches from ``("batches", s)``;
the Hessian subset and the K batches are drawn once from ``("hessian subset",)`` and
``("covariance batches",)``; Lanczos starts from ``("lanczos",)``.
"""

import math

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.nn.utils import vector_to_parameters

from ... import rng
from ...data import load
from ...landscape import HessianOperator, lanczos
from ...landscape.covariance import covariance_spectrum, minibatch_gradients
from ...nn import cnn, n_parameters, train

MEASURES = ("lam_H", "lam_K", "trace_K", "inv_cond_K")
RUN = ["group", "model", "lr", "batch_size", "seed"]


def load_data(p):
    """The notebook's image dataset, pixel values scaled to [0, 1]."""
    return load(p.dataset, n_train=p.n_train, n_test=p.n_test, seed=p.seed, normalize="unit")


def model_size(data, p):
    """D: the number of parameters of the notebook's SimpleCNN (without batch norm)."""
    return n_parameters(make_model(data, p, False, 0))


def make_model(data, p, batch_norm, run):
    """SimpleCNN (3x3 conv, ReLU, 2x2 max-pool per entry of ``channels``, linear head), -BN with batch norm.

    ``run`` indexes the seed's init stream: every grid point's run ``run`` starts from the same init.
    """
    return cnn(data.input_shape, p.channels, data.n_classes, batch_norm=batch_norm,
               seed=rng.derive(p.seed, "init", run), dtype=getattr(torch, p.dtype)).to(p.device)


def probes(n_train, p):
    """The fixed measuring sets, drawn once from ``p.seed``: the Hessian subset and the L disjoint K batches."""
    hess = torch.randperm(n_train, generator=rng.torch_generator(p.seed, "hessian subset"))[:p.hessian_subset]
    perm = torch.randperm(n_train, generator=rng.torch_generator(p.seed, "covariance batches"))
    return hess, list(perm[:p.cov_batches * p.cov_batch_size].view(p.cov_batches, p.cov_batch_size))


def _set_bn_statistics(model, X):
    """Running statistics of every batch-norm layer := the batch statistics of X (one train-mode pass)."""
    layers = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not layers:
        return
    saved = [(m, m.momentum, m.training) for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: after one pass, exactly this batch's statistics
        m.train()
    with torch.no_grad():
        model(X)
    for m, momentum, training in saved:
        m.momentum, m.training = momentum, training


def measure(model, theta, X, y, hess_idx, cov_batches, hessian_iters, seed=0, X_test=None):
    """lambda_max(H) on X[hess_idx], and K's lambda_max, trace and inverse condition number, at ``theta``.

    ``model`` is moved to ``theta`` (its parameters are overwritten); ``seed`` seeds Lanczos's
    start vector. Returns a dict; with ``X_test`` also the test-set class probabilities (for the
    trajectory embedding).
    """
    with torch.no_grad():
        vector_to_parameters(theta.to(next(model.parameters())), model.parameters())
    spec = covariance_spectrum(minibatch_gradients(model, X, y, cov_batches, train_mode=True))
    Xh, yh = X[hess_idx], y[hess_idx]
    op = HessianOperator(model, Xh, yh, train_mode=True)
    top = lanczos(op, 1, n_iter=min(hessian_iters, op.dim), seed=seed)
    out = {"lam_H": top.eigenvalues[0].item(), "lam_H_residual": top.residuals[0].item(),
           "lam_K": spec.lam_max, "trace_K": spec.trace, "inv_cond_K": spec.inv_cond, "rank_K": spec.rank}
    if X_test is not None:
        _set_bn_statistics(model, Xh)
        model.eval()
        with torch.no_grad():
            out["probs"] = F.softmax(model(X_test), dim=1).double().cpu()
    return out


def run_trajectory(data, p, lr, batch_size, batch_norm, run, measuring):
    """Train run ``run`` (0..n_seeds-1) with SGD and measure every checkpoint; one row each, plus test probabilities."""
    dtype = getattr(torch, p.dtype)
    (X, y), (Xte, _) = data.split("train", p.device, dtype), data.split("test", p.device, dtype)
    hess_idx, cov_batches = measuring
    model = make_model(data, p, batch_norm, run)
    traj = train(model, X, y, optimizer="sgd", lr=lr, batch_size=batch_size, steps=p.steps,
                 seed=rng.derive(p.seed, "batches", run), eval_every=p.measure_every,
                 checkpoint_every=p.measure_every)
    hist = traj.history.drop_duplicates("step").set_index("step")
    rows, probs = [], []
    for step, theta in traj.checkpoints:
        if not torch.isfinite(theta).all():
            break
        m = measure(model, theta, X, y, hess_idx, cov_batches, p.hessian_iters, seed=rng.derive(p.seed, "lanczos"),
                    X_test=Xte)
        probs.append(m.pop("probs"))
        rows.append({"model": "SimpleCNN-BN" if batch_norm else "SimpleCNN", "lr": lr, "batch_size": batch_size,
                     "seed": run, "step": step, "train_loss": hist.train_loss.get(step, math.nan),
                     "train_acc": hist.train_acc.get(step, math.nan), **m, "outcome": traj.outcome})
    return pd.DataFrame(rows), probs


def configurations(p):
    """The runs of each group: (group, batch_norm, lr, batch_size) for the lr grid, the batch grid and the BN pair."""
    runs = [("lr", False, lr, p.batch_size) for lr in p.lrs]
    runs += [("batch", False, p.lr_batch, b) for b in p.batch_sizes]
    runs += [("bn", True, lr, p.batch_size) for lr in p.bn_lrs]
    return runs


def trajectories(data, p, progress=None):
    """All runs of the notebook, every checkpoint measured: a tidy table and the test probabilities.

    A run shared by two groups (the lr grid's point at ``batch_size`` equal to the batch
    grid's point at ``lr_batch``) is trained once and listed in both groups.
    Returns (table, probs) with ``probs[(bn, lr, batch_size, run)]`` a list of (n_test, k) tensors.
    """
    measuring = probes(len(data.X_train), p)
    done, frames, probs = {}, [], {}
    for group, bn, lr, bs in configurations(p):
        for s in range(p.n_seeds):
            key = (bn, lr, bs, s)
            if key not in done:
                done[key], probs[key] = run_trajectory(data, p, lr, bs, bn, s, measuring)
                if progress:
                    progress(key)
            frames.append(done[key].assign(group=group))
    table = pd.concat(frames, ignore_index=True)
    return table[["group", *[c for c in table.columns if c != "group"]]], probs


def per_run(table):
    """One row per run: maxima over the trajectory, the curvature peak, and the final training accuracy.

    ``max_*``: the largest value over the checkpoints after step 0 (every run of a seed starts
    from the same init, so its value there says nothing about the run). ``step_peak_H`` and
    ``acc_peak_H``: where lambda_max(H) peaks (the break-even point, roughly).
    """
    rows = []
    for key, t in table.groupby(RUN, sort=False):
        t = t.sort_values("step")
        row = dict(zip(RUN, key))
        after = t[t.step > 0]
        for m in MEASURES:
            row[f"max_{m}"] = after[m].max()
        row["max_lr_lam_H"] = row["lr"] * row["max_lam_H"]
        peak = after.loc[after.lam_H.idxmax()] if len(after) else None
        row["step_peak_H"] = math.nan if peak is None else peak.step
        row["acc_peak_H"] = math.nan if peak is None else peak.train_acc
        row["final_acc"] = t.train_acc.iloc[-1]
        rows.append(row)
    return pd.DataFrame(rows)


def matched_progress(table, targets, group="lr"):
    """One row per run of ``group`` and training accuracy in ``targets``: the run read at its first checkpoint
    whose training accuracy is >= the target (``step_at_target`` and ``*_at_target``; NaN if never reached)."""
    rows = []
    for key, t in table[table.group == group].groupby(RUN, sort=False):
        t = t.sort_values("step")
        for target in targets:
            hit = t[t.train_acc >= target]
            row = {**dict(zip(RUN, key)), "target": target, "step_at_target": hit.step.iloc[0] if len(hit) else math.nan}
            row.update({f"{m}_at_target": hit[m].iloc[0] if len(hit) else math.nan for m in MEASURES})
            rows.append(row)
    return pd.DataFrame(rows)


def summarise(runs, by, columns):
    """Mean and standard deviation over seeds of ``columns``, per group of ``by``."""
    g = runs.groupby(by, sort=True)[columns]
    return g.mean().join(g.std(), rsuffix="_sd").join(g.size().rename("n")).reset_index()


def cap_slope(runs):
    """Log-log slope of the seed-mean peak lambda_max(H) against lr over the lr grid (-1: the peak scales as 1/lr)."""
    mean = runs[runs.group == "lr"].groupby("lr", sort=True).max_lam_H.mean()
    return float(np.polyfit(np.log(mean.index.to_numpy()), np.log(mean.to_numpy()), 1)[0])


def embedding(table, probs, group="lr", seed=0):
    """The checkpoints of one seed's runs in ``group``, embedded in 2-D by their test-set predictions.

    The paper embeds checkpoints by their test predictions with UMAP; this uses PCA (no extra
    dependency, deterministic) of the concatenated class probabilities. Returns the group's
    rows of ``table`` for that seed with ``pc1`` and ``pc2`` added.
    """
    rows = table[(table.group == group) & (table.seed == seed)].sort_values(["lr", "batch_size", "step"])
    runs = rows[["model", "lr", "batch_size"]].drop_duplicates().itertuples(index=False)
    Z = np.concatenate([torch.stack(probs[(m == "SimpleCNN-BN", lr, bs, seed)]).flatten(1).numpy()
                        for m, lr, bs in runs])
    Z = Z - Z.mean(axis=0)
    _, _, Vt = np.linalg.svd(Z, full_matrices=False)
    V = Vt[:2]
    V = V * np.sign(V[np.arange(2), np.abs(V).argmax(axis=1)])[:, None]  # sign fixed: largest loading positive
    pcs = Z @ V.T
    return rows.assign(pc1=pcs[:, 0], pc2=pcs[:, 1]).reset_index(drop=True)
