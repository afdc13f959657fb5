"""The network side of C1-C3: the data and models, random-subspace training and d90, the knob study.

Every random draw has its own stream of ``p.seed`` (:func:`companion.rng.derive`), named by its
purpose and the seed index s (and the replica), so seed indices and purposes share nothing.
"""

import copy
import math

import numpy as np
import pandas as pd
import torch

from ... import rng
from ...data import load
from ...landscape import HessianOperator, lanczos, random_subspace
from ...nn import HyperplaneModel, cnn, flat_params, mlp, n_parameters, train
from ...params import ParameterError


def load_data(p):
    """The dataset, pixel values scaled to [0, 1]; refuses subspaces larger than the model."""
    data = load(p.dataset, n_train=p.n_train, n_test=p.n_test, seed=p.seed, normalize="unit")
    if p.model == "cnn" and len(data.input_shape) != 3:
        raise ParameterError(f"parameter 'model' = 'cnn' needs images; {p.dataset} has inputs of shape "
                             f"{data.input_shape}; use model = 'mlp'")
    D = n_parameters(make_model(data, p))
    if max(p.subspace_dims) > D:
        raise ParameterError(f"parameter 'subspace_dims' asks for d = {max(p.subspace_dims)}, but the model has only "
                             f"D = {D} parameters; allowed: d <= {D}")
    return data


def make_model(data, p, factor=1.0, scale=1.0, seed=0):
    """The notebook's network (PyTorch's default init times ``scale``, hidden sizes times ``factor``), on the device."""
    sizes = [max(1, round(w * factor)) for w in p.widths]
    if p.model == "mlp":
        net = mlp(int(np.prod(data.input_shape)), sizes, data.n_classes, init_scale=scale, seed=seed)
    else:
        net = cnn(data.input_shape, sizes, data.n_classes, init_scale=scale, seed=seed)
    return net.to(p.device)


def model_size(data, p):
    """D: the number of parameters of the notebook's network."""
    return n_parameters(make_model(data, p))


def model_at(model, theta, dtype=None):
    """A copy of ``model`` with its parameters set to a copy of the flat vector ``theta`` (optionally cast to
    ``dtype``): training the copy leaves ``theta`` as it was (``vector_to_parameters`` alone makes views of it)."""
    out = copy.deepcopy(model)
    if dtype is not None:
        out = out.to(dtype)
    torch.nn.utils.vector_to_parameters(theta.detach().to(next(out.parameters()), copy=True), out.parameters())
    return out


def top_eigenvalue(model, theta, X, y, iters, seed=0):
    """The largest Hessian eigenvalue of the mean training loss at ``theta`` (Lanczos, float64, start from ``seed``)."""
    op = HessianOperator(model_at(model, theta, torch.float64), X.double(), y)
    return lanczos(op, 1, n_iter=min(iters, op.dim), seed=seed).eigenvalues[0].item()


# --- C1, C2: random subspaces from offsets at several radii -------------------------------------------------------

def subspace_training(data, p):
    """Train x in theta = P + M_d x for every seed, offset scale and d (nested subspaces of one M per seed).

    One row per (seed, scale, dim) with the offset's radius, final train loss and accuracy and test
    accuracy; rows with ``full`` True (dim = D, scale 1 only) train all parameters with the same Adam budget.
    """
    (X, y), (Xte, yte) = data.split("train", p.device), data.split("test", p.device)
    rows = []
    for s in range(p.n_seeds):
        init_seed, batches = rng.derive(p.seed, "subspace init", s), rng.derive(p.seed, "subspace batches", s)
        D = n_parameters(make_model(data, p, seed=init_seed))
        M = random_subspace(D, max(p.subspace_dims), seed=rng.derive(p.seed, "subspace", s)).to(p.device)
        for scale in p.scales:
            base = make_model(data, p, scale=scale, seed=init_seed)
            P = flat_params(base)
            for dim in p.subspace_dims:
                plane = HyperplaneModel(base, P, M[:, :dim])
                traj = train(plane, X, y, optimizer="adam", lr=p.subspace_lr, steps=p.subspace_steps, seed=batches,
                             X_test=Xte, y_test=yte, eval_every=p.subspace_steps)
                rows.append(_subspace_row(s, scale, P, dim, traj, False, plane.theta().detach()))
            if scale == 1.0:
                full = make_model(data, p, scale=scale, seed=init_seed)
                traj = train(full, X, y, optimizer="adam", lr=p.subspace_lr, steps=p.subspace_steps,
                             seed=batches, X_test=Xte, y_test=yte, eval_every=p.subspace_steps)
                rows.append(_subspace_row(s, scale, P, D, traj, True, flat_params(full)))
    return pd.DataFrame(rows)


def _subspace_row(s, scale, P, dim, traj, full, theta):
    """One run: its offset's radius, where it ended (``end_radius`` = ||theta||, ``moved`` = ||theta - P||), its
    outcome and final losses and accuracies."""
    f = traj.final
    return {"seed": s, "scale": scale, "radius": P.norm().item(), "dim": dim, "full": full,
            "end_radius": theta.norm().item(), "moved": (theta - P).norm().item(), "outcome": traj.outcome,
            "train_loss": f["train_loss"], "train_acc": f["train_acc"], "test_acc": f["test_acc"]}


def d_threshold(dims, accs, target):
    """Smallest d reaching ``target`` accuracy, linearly interpolated in log d between grid points.

    The first grid point when it already reaches it; NaN when no grid point does.
    """
    dims, accs = np.asarray(dims, float), np.asarray(accs, float)
    above = np.flatnonzero(accs >= target)
    if not len(above):
        return float("nan")
    i = above[0]
    if i == 0:
        return float(dims[0])
    lo, hi = np.log(dims[i - 1]), np.log(dims[i])
    frac = (target - accs[i - 1]) / (accs[i] - accs[i - 1])
    return float(np.exp(lo + frac * (hi - lo)))


def intrinsic_dimension(table, p):
    """d90 per (seed, scale): the threshold at ``d90_fraction`` of the full-space test accuracy of that seed."""
    rows = []
    for s, t in table.groupby("seed"):
        full = t[t.full].test_acc.iloc[0]
        for scale, u in t[~t.full].groupby("scale"):
            u = u.sort_values("dim")
            rows.append({"seed": s, "scale": scale, "radius": u.radius.iloc[0], "full_test_acc": full,
                         "target_acc": p.d90_fraction * full,
                         "d90": d_threshold(u.dim, u.test_acc, p.d90_fraction * full)})
    return pd.DataFrame(rows)


# --- C3: learning rate, width and L2 -----------------------------------------------------------------------------

def knob_settings(p):
    """(knob, value, lr, width factor, l2) of every run: each knob swept with the others at their base."""
    out = [("lr", v, v, 1.0, 0.0) for v in p.lrs]
    out += [("width", v, p.lr, v, 0.0) for v in p.width_factors]
    out += [("l2", v, p.lr, 1.0, v) for v in p.l2s]
    return out


def sgd_run(data, p, s, lr, factor, l2, replica=0):
    """One SGD run until the training loss first reaches ``target_loss`` (or ``max_steps``): (model, trajectory).

    Same seed, same initialisation draw and batch order for every knob value (replica 0); replicas
    1, 2, ... are the other independent solutions of seed s.
    """
    X, y = data.split("train", p.device)
    model = make_model(data, p, factor=factor, seed=rng.derive(p.seed, "init", s, replica))
    traj = train(model, X, y, optimizer="sgd", lr=lr, batch_size=p.batch_size, steps=p.max_steps, l2=l2,
                 seed=rng.derive(p.seed, "batches", s, replica), eval_every=25, target_loss=p.target_loss,
                 stop_at_target=True, checkpoint_every=p.checkpoint_every)
    return model, traj


def _knob_row(data, p, s, lr, factor, l2):
    """(final theta, row) of one knob run: steps to target, radius, distance travelled, curvature at the end and
    explored (the mean top Hessian eigenvalue over the checkpoints after the start)."""
    X, y = data.split("train", p.device)
    model, traj = sgd_run(data, p, s, lr, factor, l2)
    theta, theta0 = flat_params(model), traj.checkpoints[0][1]
    visited = [c for step, c in traj.checkpoints[1:]] or [theta]
    start = rng.derive(p.seed, "lanczos", s)
    lams = [top_eigenvalue(model, c, X, y, p.lanczos_iters, start) for c in visited]
    D = theta.numel()
    return theta, {"D": D, "steps": traj.steps_to_target if traj.steps_to_target is not None else p.max_steps,
                   "reached": traj.steps_to_target is not None, "train_loss": traj.final["train_loss"],
                   "radius": theta.norm().item(), "radius_pp": theta.norm().item() / math.sqrt(D),
                   "distance": (theta - theta0).norm().item(),
                   "lam_end": top_eigenvalue(model, theta, X, y, p.lanczos_iters, start),
                   "lam_path": float(np.mean(lams))}


def knob_study(data, p):
    """C3: every knob setting for every seed; one row per run, and the base runs kept for the connectors.

    Returns (table, base): table has seed, knob, value, D, steps (to target; max_steps if never),
    reached, train_loss, radius, radius_pp = radius / sqrt(D), distance travelled, lam_end (top
    Hessian eigenvalue at the end) and lam_path (its mean over the run's checkpoints after the
    start, the curvature explored); base[s] is seed s's final theta at the base setting.
    """
    rows, base = [], {}
    for s in range(p.n_seeds):
        done = {}  # the base setting appears once per knob: run it once
        for knob, value, lr, factor, l2 in knob_settings(p):
            if (lr, factor, l2) not in done:
                done[(lr, factor, l2)] = _knob_row(data, p, s, lr, factor, l2)
            theta, row = done[(lr, factor, l2)]
            if (lr, factor, l2) == (p.lr, 1.0, 0.0):
                base[s] = theta
            rows.append({"seed": s, "knob": knob, "value": value, **row})
    return pd.DataFrame(rows), base


def knob_effects(table):
    """Per seed and knob: the change of each measure from the smallest to the largest knob value."""
    rows = []
    for (s, knob), t in table.groupby(["seed", "knob"], sort=False):
        t = t.sort_values("value")
        lo, hi = t.iloc[0], t.iloc[-1]
        rows.append({"seed": s, "knob": knob, "from": lo.value, "to": hi.value,
                     "d_lam_path": hi.lam_path - lo.lam_path, "d_lam_end": hi.lam_end - lo.lam_end,
                     "d_radius_pp": hi.radius_pp - lo.radius_pp, "all_reached": bool(t.reached.all())})
    return pd.DataFrame(rows)
