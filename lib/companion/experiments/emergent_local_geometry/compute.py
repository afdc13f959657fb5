"""Training the networks and measuring properties 1-4 of the Hessian on them.

Each random draw has its own named stream of the run's seed (:func:`companion.rng.derive`): the
init ("init"), the mini-batch order ("batches"), the Lanczos start vectors ("lanczos"), the
hyperplane ("hyperplane"); the data subset is drawn from the seed itself.
"""

import math

import numpy as np
import pandas as pd
import torch

from ... import rng
from ...data import load
from ...landscape import HessianOperator, lanczos, positive_fraction, random_subspace, subspace_hessian, trace_ratio
from ...landscape.gauss_newton import GaussNewtonOperator, logit_gradient_clusters, signal_eigenvalues
from ...landscape.gradients import load_checkpoint, per_logit_grads
from ...landscape.spectrum import bulk_edge, overlap, subspace_alignment
from ...landscape.zone import half_maximum_zone
from ...nn import HyperplaneModel, cnn, flat_params, mlp, n_parameters, train
from ...params import ParameterError


def load_data(p):
    """{C: Dataset} for each C in ``class_counts``: the first C classes, the same examples per class at every C."""
    top = p.class_counts[-1]
    out = {}
    for C in p.class_counts:
        out[C] = load(p.dataset, n_train=round(p.n_train * C / top), n_test=round(p.n_test * C / top),
                      classes=list(range(C)), seed=p.seed, normalize="unit")
    return out


def make_model(data, p, scale=1.0, seed=None):
    """The notebook's MLP or CNN in float64 at ``scale`` times the ``init`` draw of ``seed`` (default: the stream
    ("init") of the run's seed)."""
    seed = rng.derive(p.seed, "init") if seed is None else seed
    if p.model == "mlp":
        net = mlp(int(np.prod(data.input_shape)), p.widths, data.n_classes, activation=p.activation,
                  init=p.init, init_scale=scale, seed=seed, dtype=torch.float64)
    else:
        if len(data.input_shape) != 3:
            raise ParameterError(f"parameter 'model' = 'cnn' needs image inputs (C, H, W); {data.name} has inputs of "
                                 f"shape {data.input_shape}: use model = 'mlp'")
        net = cnn(data.input_shape, p.channels, data.n_classes, activation=p.activation, init=p.init,
                  init_scale=scale, seed=seed, dtype=torch.float64)
    return net.to(p.device)


def model_size(data, p):
    """D: the number of parameters of the notebook's model."""
    return n_parameters(make_model(data, p))


def budget(p):
    """The memory budget in bytes for one chunk of examples (Gauss-Newton products, per-logit gradients)."""
    return int(p.memory_budget_mb * 2**20)


def trace_mbar(probs):
    """Tr Mbar = mean over examples of 1 - sum_c p_c^2: how far the probabilities are from freezing."""
    return (1 - probs.square().sum(dim=1)).mean().item()


def schedule(n, p):
    """(total SGD steps, steps between stored checkpoints) for ``n`` training examples: at most ~100 stored."""
    total = p.epochs * (n // p.batch_size)
    return total, max(1, total // 100)


def train_all(datasets, p):
    """Train one network per class count (plain SGD); the largest C keeps its checkpoints. {C: (model, trajectory)}."""
    runs = {}
    for C, data in datasets.items():
        X, y = data.split("train", p.device, torch.float64)
        Xte, yte = data.split("test", p.device, torch.float64)
        net = make_model(data, p)
        total, every = schedule(len(X), p)
        keep = every if C == p.class_counts[-1] else None
        traj = train(net, X, y, optimizer="sgd", lr=p.lr, batch_size=p.batch_size, steps=total,
                     seed=rng.derive(p.seed, "batches"), X_test=Xte, y_test=yte, eval_every=every,
                     checkpoint_every=keep)
        runs[C] = (net, traj)
    return runs


def top_spectrum(net, X, y, k, p):
    """Top-k eigenvalues (LA, float64) of H and of G at the network's parameters, one Lanczos run each."""
    return {name: lanczos(op, k, n_iter=p.lanczos_steps, seed=rng.derive(p.seed, "lanczos"))
            for name, op in (("H", HessianOperator(net, X, y)), ("G", GaussNewtonOperator(net, X, y, budget(p))))}


def top_count(C):
    """How many top eigenvalues are read at C classes: 4C + 1, so that the bulk edge's rule (which breaks down at
    half the values) can count up to 2C outliers."""
    return 4 * C + 1


def outliers_vs_classes(runs, datasets, p):
    """Property 1: (eigenvalues, counts). eigenvalues: one row per (C, matrix, rank); counts: one row per (C, matrix)
    with the number of the top 4C + 1 above the bulk edge (:func:`bulk_edge`), that edge and lambda_C / lambda_(C+1)."""
    rows, counts = [], []
    for C, (net, traj) in runs.items():
        X, y = datasets[C].split("train", p.device, torch.float64)
        spectra = top_spectrum(net, X, y, top_count(C), p)
        for name, res in spectra.items():
            lam = res.eigenvalues.cpu()
            rows += [{"C": C, "matrix": name, "rank": i + 1, "eigenvalue": v} for i, v in enumerate(lam.tolist())]
            edge, count = bulk_edge(lam)
            counts.append({"C": C, "matrix": name, "outliers": count, "edge": edge,
                           "gap_at_C": (lam[C - 1] / lam[C]).item(), "lambda_1": lam[0].item(),
                           "train_acc": traj.final["train_acc"], "test_acc": traj.final["test_acc"]})
    return pd.DataFrame(rows), pd.DataFrame(counts)


def per_class_subset(y, per_class):
    """Indices of the first ``per_class`` examples of each class, grouped by class (0, 0, ..., 1, 1, ...)."""
    y = y.cpu()
    picked = []
    for c in range(int(y.max()) + 1):
        idx = torch.nonzero(y == c).flatten()[:per_class]
        if len(idx) < per_class:
            raise ParameterError(f"class {c} has only {len(idx)} training examples; lower 'n_cosine' or "
                                 f"'model_examples' (per class) to at most {len(idx)}")
        picked.append(idx)
    return torch.cat(picked)


def checkpoint_steps(traj, n):
    """About ``n`` of the stored checkpoint steps: 0, the last, and the nearest to n // 2 targets spaced geometrically
    from the first stored step after 0 (the early phase) and to n // 2 spaced evenly (the rest of training)."""
    stored = [s for s, _ in traj.checkpoints]
    geometric = np.geomspace(max(stored[1], 1), stored[-1], n // 2)
    even = np.linspace(0, stored[-1], n - n // 2 + 1)[1:-1]
    picked = {0, stored[-1]} | {min(stored, key=lambda s: abs(math.log(max(s, 1) / t))) for t in geometric}
    picked |= {min(stored, key=lambda s: abs(s - t)) for t in even}
    return sorted(picked)


def training_dynamics(net, traj, data, p):
    """Properties 2-3 and the model along training: one row per selected checkpoint.

    lambda_max and the top-C eigenvectors of H (Lanczos), the number of outliers of H (the top 4C + 1 above
    :func:`bulk_edge`), the fraction of ||g||^2 in the top-C span (``confined``), chance C/D; the model's
    side from the per-logit gradients of ``n_cosine``
    examples per class: the top eigenvalue of its signal m^T Mbar m (Mbar over the whole
    training set), the fraction of ||g||^2 in span{m_c}, and how well span{m_c} and the top-C
    eigenspace align (mean squared cosine of their principal angles); and the two factors of the signal,
    sum_c ||m_c||^2 (``means_sq``) and Tr Mbar = mean(1 - sum p^2) (``trace_Mbar``).
    """
    X, y = data.split("train", p.device, torch.float64)
    C = data.n_classes
    probe = per_class_subset(y, p.n_cosine)
    stored = dict(traj.checkpoints)
    history = traj.history.set_index("step")
    rows = []
    for step in checkpoint_steps(traj, p.n_checkpoints):
        load_checkpoint(net, stored[step])
        res = lanczos(HessianOperator(net, X, y), top_count(C), n_iter=p.lanczos_steps,
                      seed=rng.derive(p.seed, "lanczos"))
        edge, count = bulk_edge(res.eigenvalues.cpu())
        gop = GaussNewtonOperator(net, X, y, budget(p))
        g = gop.gradient()
        means, _ = logit_gradient_clusters(per_logit_grads(net, X[probe], budget(p)))
        rows.append({"step": step, "epoch": step / (len(X) // p.batch_size),
                     "train_loss": history.loc[step, "train_loss"], "train_acc": history.loc[step, "train_acc"],
                     "lambda_max": res.eigenvalues[0].item(), "lambda_C": res.eigenvalues[C - 1].item(),
                     "bulk_edge": edge, "outliers": count, "confined": overlap(g, res.eigenvectors[:, :C]),
                     "chance": C / gop.dim, "grad_norm": g.norm().item(),
                     "model_signal": signal_eigenvalues(means, gop.probs)[0].item(),
                     "means_sq": means.square().sum().item(), "trace_Mbar": trace_mbar(gop.probs),
                     "in_means_span": overlap(g, means.T), "alignment": subspace_alignment(res.eigenvectors, means.T)})
    load_checkpoint(net, traj.checkpoints[-1][1])
    return pd.DataFrame(rows)


def hyperplane_training(data, p):
    """Property 4: per hyperplane r < ``hyper_repeats`` and offset scale, the curvature of H restricted to the
    hyperplane at its offset P (d = hyper_dim, orthonormal directions M) and the accuracy after training x alone
    (Adam, full batch, ``hyper_steps``); the radius ||P|| and the end radius ||P + M x||; the model's side at P: the
    spread of the logits, the mean top probability and Tr Mbar = mean(1 - sum p^2).

    Hyperplane r has its own init direction (stream ("hyperplane init", r)) and M (stream ("hyperplane", r)); its
    offsets are that init scaled by each of ``hyper_scales``."""
    X, y = data.split("train", p.device, torch.float64)
    Xte, yte = data.split("test", p.device, torch.float64)
    rows, D = [], model_size(data, p)
    if p.hyper_dim > D:
        raise ParameterError(f"parameter 'hyper_dim' = {p.hyper_dim} exceeds the model's D = {D} parameters")
    for r in range(p.hyper_repeats):
        M = random_subspace(D, p.hyper_dim, kind="orthonormal", seed=rng.derive(p.seed, "hyperplane", r),
                            dtype=torch.float64).to(p.device)
        for scale in p.hyper_scales:
            base = make_model(data, p, scale, seed=rng.derive(p.seed, "hyperplane init", r))
            rows.append({"repeat": r, "scale": scale, **_hyperplane_point(base, M, X, y, Xte, yte, p, r)})
    return pd.DataFrame(rows)


def _hyperplane_point(base, M, X, y, Xte, yte, p, r):
    """One offset P = the parameters of ``base``: the curvature of M^T H M there, then training x alone from it."""
    P = flat_params(base)
    eig = torch.linalg.eigvalsh(subspace_hessian(HessianOperator(base, X, y), M))
    with torch.no_grad():
        logits = base(X)
        probs = torch.softmax(logits, dim=1)
    plane = HyperplaneModel(base, P, M)
    traj = train(plane, X, y, optimizer="adam", lr=p.hyper_lr, steps=p.hyper_steps,
                 seed=rng.derive(p.seed, "hyperplane training", r), X_test=Xte, y_test=yte)
    return {"radius": P.norm().item(), "end_radius": plane.theta().norm().item(),
            "gamma": trace_ratio(eig) / math.sqrt(p.hyper_dim), "frac_pos": positive_fraction(eig),
            "logit_std": logits.std().item(), "max_prob": probs.max(dim=1).values.mean().item(),
            "trace_Mbar": trace_mbar(probs), "outcome": traj.outcome, "train_acc": traj.final["train_acc"],
            "test_acc": traj.final["test_acc"]}


def hyperplane_means(hyper):
    """Per offset scale, the mean over the hyperplanes of every measured column and of the end radius over the
    start radius, and the standard error of gamma (NaN for one hyperplane)."""
    by_scale = (hyper.drop(columns=["repeat", "outcome"]).assign(end_over_start=hyper.end_radius / hyper.radius)
                .groupby("scale", as_index=False))
    return by_scale.mean().assign(gamma_se=by_scale.gamma.sem().gamma)  # NaN for one hyperplane


def zone(means):
    """The Goldilocks zone among the offset scales: the full width at half maximum of the mean curvature gamma."""
    return half_maximum_zone(means, x="scale", y="gamma")
