"""The Goldilocks measurements: curvature of random subspaces along rays, hyperplane training, init selection.

Every random draw has its own named stream of the run's seed (:func:`companion.rng.derive`): ray ``s``
has its init direction from ("init", s) and its subspace from ("subspace", s), the same at every
scale, so it traces one ray through configuration space; the inits compared at one radius
(C6-C7) come from ("inits at one radius", i), so no two seeds share an init, subspace or data subset.
"""

import numpy as np
import pandas as pd
import torch
from scipy import stats

from ... import rng
from ...data import load
from ...landscape import HessianOperator, positive_fraction, random_subspace, subspace_hessian, trace_ratio
from ...landscape.zone import half_maximum_zone
from ...nn import HyperplaneModel, flat_params, mlp, n_parameters, train
from ...nn.hyperplane import HypersphereModel
from ...params import ParameterError


def load_data(p):
    """The notebook's dataset, pixel values scaled to [0, 1]; refuses subspaces larger than the model."""
    data = load(p.dataset, n_train=p.n_train, n_test=p.n_test, seed=p.seed, normalize="unit")
    D = model_size(data, p)
    for name, dim in (("subspace_dim", p.subspace_dim), ("train_dims", max(p.train_dims))):
        if dim > D:
            raise ParameterError(f"parameter {name!r} asks for d = {dim}, but the model has only D = {D} "
                                 f"parameters; allowed: d <= {D}")
    return data


def model_size(data, p):
    """D: the number of parameters of the notebook's MLP (every weight and bias)."""
    return n_parameters(make_model(data, p, p.activations[0], 1.0, seed=0))


def make_model(data, p, activation, scale, seed):
    """The notebook's MLP at ``scale`` times the named init, in float64 for exact curvature, on ``p.device``."""
    return mlp(int(np.prod(data.input_shape)), p.widths, data.n_classes, activation=activation,
               init=p.init, init_scale=scale, seed=seed, dtype=torch.float64).to(p.device)


def curvature_point(model, X, y, dim, kind, seed):
    """Radius, loss and the subspace-Hessian measures of ``model`` at its current parameters."""
    op = HessianOperator(model, X, y)
    M = random_subspace(op.dim, dim, kind=kind, seed=seed, dtype=op.params.dtype).to(op.params.device)
    eig = torch.linalg.eigvalsh(subspace_hessian(op, M))
    return {"radius": op.params.norm().item(), "loss": op.loss(), "frac_pos": positive_fraction(eig),
            "gamma": trace_ratio(eig) / np.sqrt(dim), "eigenvalues": eig.tolist()}


def ray_point(data, p, X, y, activation, scale, s, dim):
    """:func:`curvature_point` on ray ``s`` at ``scale``, in a ``dim``-dimensional subspace."""
    model = make_model(data, p, activation, scale, rng.derive(p.seed, "init", s))
    return curvature_point(model, X, y, dim, p.subspace_kind, rng.derive(p.seed, "subspace", s))


def curvature_vs_radius(data, p):
    """Claims 1, 2 and 4: the fraction of positive eigenvalues and Tr/||.|| of H_d against the radius.

    One row per (activation, scale, ray): ``n_seeds`` rays, each with its own init direction and subspace.
    """
    X, y = data.split("train", p.device, torch.float64)
    rows = [{"activation": activation, "scale": scale, "seed": s,
             **ray_point(data, p, X, y, activation, scale, s, p.subspace_dim)}
            for activation in p.activations for scale in p.scales for s in range(p.n_seeds)]
    return pd.DataFrame(rows).drop(columns="eigenvalues")


def summarise(table, by, columns):
    """Mean and standard error over seeds of ``columns``, per group."""
    g = table.groupby(by)[columns]
    out = g.mean().join(g.sem(), rsuffix="_se").join(g.size().rename("n"))
    return out.reset_index()


def shells(summary, activations):
    """{activation: the scales of its shell}: the full width at half maximum of Gamma over the scale sweep."""
    return {a: half_maximum_zone(summary[summary.activation == a], x="scale", y="gamma") for a in activations}


SURFACES = {"plane": HyperplaneModel, "sphere": HypersphereModel}


def hyperplane_training(data, p):
    """Claim 5: train only x (Adam, full batch) on the random hyperplane theta = P + M x through P, and on the
    hypersphere of P's radius through P (:class:`HypersphereModel`), for P at each of ``train_scales``.

    Uses the first activation; one row per (surface, scale, d, ray): P lies on ray ``s`` of
    :func:`curvature_vs_radius`, M is drawn from the stream ("hyperplane", s). ``end_radius`` is
    ||theta|| after training: a plane run drifts from its offset's radius, a sphere run cannot.
    """
    activation, rows = p.activations[0], []
    X, y = data.split("train", p.device, torch.float64)
    Xte, yte = data.split("test", p.device, torch.float64)
    for s in range(p.train_seeds):
        for scale in p.train_scales:
            base = make_model(data, p, activation, scale, rng.derive(p.seed, "init", s))
            P = flat_params(base)
            for dim in p.train_dims:
                M = random_subspace(P.numel(), dim, kind=p.subspace_kind, seed=rng.derive(p.seed, "hyperplane", s),
                                    dtype=P.dtype).to(P.device)
                for surface, Model in SURFACES.items():
                    model = Model(base, P, M)
                    traj = train(model, X, y, optimizer="adam", lr=p.train_lr, steps=p.train_steps,
                                 seed=rng.derive(p.seed, "hyperplane training", s), eval_every=p.train_steps,
                                 X_test=Xte, y_test=yte)
                    rows.append({"surface": surface, "scale": scale, "radius": P.norm().item(),
                                 "end_radius": model.theta().norm().item(), "dim": dim, "seed": s,
                                 "outcome": traj.outcome,
                                 **{k: traj.final[k] for k in ("train_loss", "train_acc", "test_acc")}})
    return pd.DataFrame(rows)


def one_radius_model(data, p, i, scale=1.0):
    """Init ``i`` of the inits compared at one radius (C6-C7), from the stream ("inits at one radius", i)."""
    return make_model(data, p, p.activations[0], scale, rng.derive(p.seed, "inits at one radius", i))


def inits_at_one_radius(data, p, scale=1.0):
    """Claims 6-7: ``n_inits`` random inits at one scale, each with its initial loss and curvature."""
    X, y = data.split("train", p.device, torch.float64)
    rows = [{"init": i, **curvature_point(one_radius_model(data, p, i, scale), X, y, p.subspace_dim, p.subspace_kind,
                                          rng.derive(p.seed, "subspaces at one radius", i))}
            for i in range(p.n_inits)]
    return pd.DataFrame(rows).drop(columns="eigenvalues")


def rank_correlation(table, x, y):
    """Spearman rank correlation of two columns with its two-sided p-value."""
    r = stats.spearmanr(table[x], table[y])
    return float(r.statistic), float(r.pvalue)


def steps_to_target(data, p, inits):
    """Train every init in ``inits`` (plain SGD, full batch) and add the steps it took to reach ``target_loss``.

    A run that never reaches it counts as ``select_steps + 1`` (censored), so it ranks last.
    """
    X, y = data.split("train", p.device, torch.float64)
    steps = []
    for i in inits["init"]:
        traj = train(one_radius_model(data, p, int(i)), X, y, optimizer="sgd", lr=p.select_lr, steps=p.select_steps,
                     seed=p.seed, eval_every=1, target_loss=p.target_loss, stop_at_target=True)
        steps.append(traj.steps_to_target if traj.steps_to_target is not None else p.select_steps + 1)
    return inits.assign(steps=steps)


RULES = {"highest Tr/||H||": ("gamma", False), "most positive eigenvalues": ("frac_pos", False),
         "lowest initial loss": ("loss", True)}


def init_selection(timed, p):
    """Claim 7: split the inits into groups; in each, pick one by each rule and compare its steps with the
    group's mean (the expected steps of a random pick). One row per (group, rule)."""
    rows = []
    for g in range(p.n_groups):
        group = timed.iloc[g * p.group_size:(g + 1) * p.group_size]
        for rule, (column, ascending) in RULES.items():
            pick = group.sort_values([column, "init"], ascending=[ascending, True]).iloc[0]
            rows.append({"group": g, "rule": rule, "picked_steps": pick["steps"], "random_steps": group["steps"].mean()})
    return pd.DataFrame(rows)


def selection_test(selection):
    """Per rule: mean steps of the pick and of a random pick, and the one-sided Wilcoxon signed-rank p-value
    that the rule trains faster."""
    rows = []
    for rule, t in selection.groupby("rule", sort=False):
        diff = t["picked_steps"] - t["random_steps"]
        pval = stats.wilcoxon(diff, alternative="less").pvalue if (diff != 0).any() else 1.0
        rows.append({"rule": rule, "picked_steps": t["picked_steps"].mean(), "random_steps": t["random_steps"].mean(),
                     "p_value": float(pval)})
    return pd.DataFrame(rows)
