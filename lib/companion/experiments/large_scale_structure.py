"""Large scale structure of neural network loss landscapes (Fort & Jastrzebski, arXiv:1906.04724), measured.

Four measurements on one small network, each beside what the wedge model predicts for it
(``companion.landscape.wedges``, solved exactly):

1. Random-subspace training: only x in theta = P + M x is trained (``companion.nn.HyperplaneModel``,
   Adam, full batch), from offsets P at several multiples of the initialisation (radius sweep)
   and for nested random orthonormal subspaces (the first d columns of one M). The threshold is
   Li et al.'s intrinsic dimension d90: the smallest d (interpolated in log d) whose test
   accuracy reaches 90% of full-space training from the scale-1 offset with the same budget.
2. Learning rate, width and L2: plain SGD from the same initialisation until the training loss
   first reaches ``target_loss`` (compared at matched loss, not matched steps), then the radius
   per parameter ||theta|| / sqrt(D) and the curvature explored: the top Hessian eigenvalue
   (Lanczos, float64) averaged over the checkpoints of the run.
3. The straight line between independent solutions against a trained connector.
4. A connector for m >= 3 solutions at once: a star (one shared point) and a simplicial
   connector (k shared points, one k-simplex per solution), ``companion.landscape.connectors``.

Barrier convention: max loss over the path minus the larger loss of its ends (training set,
mean cross-entropy). Seeds: every claim is judged per seed; seed s draws its own inits,
subspaces, batches and solutions.
"""

import copy
import math

import numpy as np
import pandas as pd
import torch

from ..data import LOADABLE, load
from ..landscape import HessianOperator, lanczos, random_subspace
from ..landscape import connectors as C
from ..landscape import wedges as W
from ..nn import HyperplaneModel, cnn, flat_params, mlp, train
from ..params import Param, ParameterError

KNOBS = ("lr", "width", "l2")
LINE_TOL = 1e-12  # the toy's 'zero loss': exact up to rounding of unit-sized coordinates

PARAMETERS = (
    Param("dataset", str, choices=LOADABLE),
    Param("n_train", int, 50, 60000),
    Param("n_test", int, 50, 10000),
    Param("model", str, choices=("mlp", "cnn")),
    Param("widths", int, 1, 4096, many=True),
    Param("n_seeds", int, 1, 20),
    Param("scales", float, 0.01, 100.0, many=True),
    Param("subspace_dims", int, 1, 10**7, many=True),
    Param("subspace_steps", int, 1, 100000),
    Param("subspace_lr", float, 1e-6, 10.0),
    Param("d90_fraction", float, 0.1, 1.0),
    Param("lr", float, 1e-5, 10.0),
    Param("lrs", float, 1e-5, 10.0, many=True),
    Param("width_factors", float, 0.05, 64.0, many=True),
    Param("l2s", float, 0.0, 1.0, many=True),
    Param("batch_size", int, 1, 60000),
    Param("max_steps", int, 1, 10**7),
    Param("target_loss", float, 0.0, 10.0),
    Param("checkpoint_every", int, 1, 10**6),
    Param("lanczos_iters", int, 2, 1000),
    Param("n_solutions", int, 3, 20),
    Param("connector_shared", int, 1, 10),
    Param("connector_steps", int, 1, 10**6),
    Param("connector_lr", float, 1e-6, 10.0),
    Param("connector_batch", int, 1, 60000),
    Param("connector_points", int, 3, 201),
    Param("toy_dim", int, 10, 20000),
    Param("toy_short", int, 1, 10000),
    Param("toy_eps", float, 0.0, 1.0),
    Param("toy_reach", float, 0.0, 1e6),
    Param("toy_radii", float, 0.0, 1e6, many=True),
    Param("toy_dims", int, 1, 20000, many=True),
)


def check(p):
    """Constraints between parameters, checked before any compute."""
    problems = []
    if 1.0 not in p.scales or len(p.scales) < 2:
        problems.append(f"scales = {p.scales!r} needs at least 2 scales including 1.0 (the initialisation itself)")
    if sorted(p.subspace_dims) != list(p.subspace_dims) or len(set(p.subspace_dims)) != len(p.subspace_dims):
        problems.append(f"subspace_dims = {p.subspace_dims!r} must be strictly increasing")
    for name, base in (("lrs", p.lr), ("width_factors", 1.0), ("l2s", 0.0)):
        values = getattr(p, name)
        if base not in values or len(values) < 2:
            problems.append(f"{name} = {values!r} needs at least 2 values including the base {base!r}")
    if p.batch_size > p.n_train:
        problems.append(f"batch_size = {p.batch_size} exceeds n_train = {p.n_train}")
    if p.connector_batch > p.n_train:
        problems.append(f"connector_batch = {p.connector_batch} exceeds n_train = {p.n_train}")
    if not p.toy_short < p.toy_dim:
        problems.append(f"toy_short = {p.toy_short} must be below toy_dim = {p.toy_dim}")
    elif p.n_solutions * p.toy_short > p.toy_dim - p.connector_shared + 1:
        problems.append(f"the toy's {p.n_solutions} wedges share a set of dimension toy_dim - n_solutions * toy_short "
                        f"= {p.toy_dim - p.n_solutions * p.toy_short}; {p.connector_shared} shared points need at "
                        f"least {p.connector_shared - 1}")
    if 1.0 not in p.toy_radii or len(p.toy_radii) < 2:
        problems.append(f"toy_radii = {p.toy_radii!r} needs at least 2 radii including 1.0 (the cores' distance)")
    if max(p.toy_dims) > p.toy_dim:
        problems.append(f"toy_dims = {p.toy_dims!r} asks for planes larger than toy_dim = {p.toy_dim}")
    if problems:
        raise ParameterError("; ".join(problems))


def _seed(p, *keys):
    """An independent 63-bit seed for each purpose, derived from ``p.seed`` and the purpose's keys."""
    return int(np.random.SeedSequence([p.seed, *keys]).generate_state(2, np.uint64)[0] >> np.uint64(1))


# --- data and models ---------------------------------------------------------------------------------------------

def load_data(p):
    """The dataset, pixel values scaled to [0, 1]; refuses subspaces larger than the model."""
    data = load(p.dataset, n_train=p.n_train, n_test=p.n_test, seed=p.seed, normalize="unit")
    if p.model == "cnn" and len(data.input_shape) != 3:
        raise ParameterError(f"parameter 'model' = 'cnn' needs images; {p.dataset} has inputs of shape "
                             f"{data.input_shape}; use model = 'mlp'")
    D = n_params(make_model(data, p))
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


def n_params(model):
    """Number of parameters D."""
    return sum(t.numel() for t in model.parameters())


def tensors(data, p, split="train"):
    """(X, y) of one split on ``p.device``."""
    X, y = (data.X_train, data.y_train) if split == "train" else (data.X_test, data.y_test)
    return X.to(p.device), y.to(p.device)


def model_at(model, theta, dtype=None):
    """A copy of ``model`` with its parameters set to the flat vector ``theta`` (optionally cast to ``dtype``)."""
    out = copy.deepcopy(model)
    if dtype is not None:
        out = out.to(dtype)
    torch.nn.utils.vector_to_parameters(theta.to(next(out.parameters())), out.parameters())
    return out


def top_eigenvalue(model, theta, X, y, iters):
    """The largest Hessian eigenvalue of the mean training loss at ``theta`` (Lanczos, float64, seeded)."""
    op = HessianOperator(model_at(model, theta, torch.float64), X.double(), y)
    return lanczos(op, 1, n_iter=min(iters, op.dim), seed=0).eigenvalues[0].item()


# --- C1, C2: random subspaces from offsets at several radii -------------------------------------------------------

def subspace_training(data, p):
    """Train x in theta = P + M_d x for every seed, offset scale and d (nested subspaces of one M per seed).

    One row per (seed, scale, dim) with the offset's radius, final train loss and accuracy and test
    accuracy; rows with ``full`` True (dim = D, scale 1 only) train all parameters with the same Adam budget.
    """
    (X, y), (Xte, yte) = tensors(data, p), tensors(data, p, "test")
    rows = []
    for s in range(p.n_seeds):
        init_seed = _seed(p, 1, s)
        D = n_params(make_model(data, p, seed=init_seed))
        M = random_subspace(D, max(p.subspace_dims), seed=_seed(p, 2, s)).to(p.device)
        for scale in p.scales:
            base = make_model(data, p, scale=scale, seed=init_seed)
            P = flat_params(base)
            for dim in p.subspace_dims:
                traj = train(HyperplaneModel(base, P, M[:, :dim]), X, y, optimizer="adam", lr=p.subspace_lr,
                             steps=p.subspace_steps, seed=_seed(p, 3, s), X_test=Xte, y_test=yte,
                             eval_every=p.subspace_steps)
                rows.append(_subspace_row(s, scale, P, dim, traj, False))
            if scale == 1.0:
                full = make_model(data, p, scale=scale, seed=init_seed)
                traj = train(full, X, y, optimizer="adam", lr=p.subspace_lr, steps=p.subspace_steps,
                             seed=_seed(p, 3, s), X_test=Xte, y_test=yte, eval_every=p.subspace_steps)
                rows.append(_subspace_row(s, scale, P, D, traj, True))
    return pd.DataFrame(rows)


def _subspace_row(s, scale, P, dim, traj, full):
    f = traj.final
    return {"seed": s, "scale": scale, "radius": P.norm().item(), "dim": dim, "full": full, "outcome": traj.outcome,
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
    X, y = tensors(data, p)
    model = make_model(data, p, factor=factor, seed=_seed(p, 4, s, replica))
    traj = train(model, X, y, optimizer="sgd", lr=lr, batch_size=p.batch_size, steps=p.max_steps, l2=l2,
                 seed=_seed(p, 5, s, replica), eval_every=25, target_loss=p.target_loss, stop_at_target=True,
                 checkpoint_every=p.checkpoint_every)
    return model, traj


def knob_study(data, p):
    """C3: every knob setting for every seed; one row per run, and the base runs kept for the connectors.

    Returns (table, base): table has seed, knob, value, D, steps (to target; max_steps if never),
    reached, train_loss, radius, radius_pp = radius / sqrt(D), distance travelled, lam_end (top
    Hessian eigenvalue at the end) and lam_path (its mean over the run's checkpoints after the
    start, the curvature explored); base[s] is seed s's final theta at the base setting.
    """
    X, y = tensors(data, p)
    rows, base = [], {}
    for s in range(p.n_seeds):
        done = {}  # the base setting appears once per knob: run it once
        for knob, value, lr, factor, l2 in knob_settings(p):
            if (lr, factor, l2) not in done:
                model, traj = sgd_run(data, p, s, lr, factor, l2)
                theta, theta0 = flat_params(model), traj.checkpoints[0][1]
                visited = [c for step, c in traj.checkpoints[1:]] or [theta]
                lams = [top_eigenvalue(model, c, X, y, p.lanczos_iters) for c in visited]
                D = theta.numel()
                done[(lr, factor, l2)] = theta, {
                    "D": D, "steps": traj.steps_to_target if traj.steps_to_target is not None else p.max_steps,
                    "reached": traj.steps_to_target is not None, "train_loss": traj.final["train_loss"],
                    "radius": theta.norm().item(), "radius_pp": theta.norm().item() / math.sqrt(D),
                    "distance": (theta - theta0).norm().item(),
                    "lam_end": top_eigenvalue(model, theta, X, y, p.lanczos_iters), "lam_path": float(np.mean(lams))}
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


# --- C4, C5: straight lines and connectors -----------------------------------------------------------------------

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


def _pairs(m):
    return [(i, j) for i in range(m) for j in range(i + 1, m)]


def connector_study(data, p, sols):
    """Straight lines between every pair of solutions, a trained star (one shared point) and a trained simplicial
    connector (``connector_shared`` points), per seed.

    Returns (paths, faces, history): paths has one row per (seed, kind, pair, t) for kind "straight
    line" and "star" (the star's path end i -> shared point -> end j) with train loss and accuracy
    and test accuracy; faces one row per (seed, kind, face, grid point) over every face of each
    connector; history the training loss per step.
    """
    (X, y), (Xte, yte) = tensors(data, p), tensors(data, p, "test")
    model = make_model(data, p)
    ts = np.linspace(0, 1, p.connector_points)
    paths, faces, history = [], [], []
    for s in range(p.n_seeds):
        ends = [t.to(p.device) for t in sols[s]]
        trained = {"star": C.connect_simplex(ends, k=1).to(p.device)}
        if p.connector_shared > 1:
            trained[f"simplex (k={p.connector_shared})"] = C.connect_simplex(
                ends, k=p.connector_shared, spread=0.1, seed=_seed(p, 6, s)).to(p.device)
        for j, (kind, conn) in enumerate(trained.items()):
            h = C.train_connector(model, conn, X, y, steps=p.connector_steps, lr=p.connector_lr,
                                  batch_size=p.connector_batch, seed=_seed(p, 7, s, j))
            history.append(h.assign(seed=s, kind=kind))
            table = C.evaluate_connector(model, conn, X, y, resolution=p.connector_points)
            faces.append(table.assign(seed=s, kind=kind))
        for i, j in _pairs(len(ends)):
            for kind, thetas in (("straight line", torch.stack([(1 - t) * ends[i] + t * ends[j] for t in ts])),
                                 ("star", trained["star"].pair_path(i, j, ts))):
                loss, acc = C.evaluate_points(model, thetas, X, y)
                _, test_acc = C.evaluate_points(model, thetas, Xte, yte)
                paths += [{"seed": s, "kind": kind, "pair": f"{i}-{j}", "t": t, "loss": lo, "acc": a, "test_acc": ta}
                          for t, lo, a, ta in zip(ts, loss, acc, test_acc)]
    return pd.DataFrame(paths), pd.concat(faces, ignore_index=True), pd.concat(history, ignore_index=True)


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


# --- the toy wedge model, side by side ---------------------------------------------------------------------------

def toy_model(p, s, n_wedges=1, eps=None):
    """Seed s's toy: ``n_wedges`` wedges of short dimension ``toy_short`` in R^``toy_dim``, cores at distance 1."""
    return W.random_wedges(p.toy_dim, p.toy_short, N=n_wedges, eps=p.toy_eps if eps is None else eps, offset=1.0,
                           seed=_seed(p, 8, s) % 2**31)


def _toy_plane(p, s):
    """Seed s's nested random directions (D x max d) and unit offset direction."""
    M = random_subspace(p.toy_dim, max(max(p.toy_dims), 2 * p.toy_short), seed=_seed(p, 9, s), dtype=W.DT)
    u = torch.randn(p.toy_dim, generator=torch.Generator().manual_seed(_seed(p, 10, s)), dtype=W.DT)
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
        M, u = _toy_plane(p, s)
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
        ends = [W.wedge_point(model, i, radius=4.0, seed=_seed(p, 11, s, i) % 2**31) for i in range(p.n_solutions)]
        connectors = {"star": C.SimplexConnector(ends, W.shared_points(model, 1)),
                      f"simplex (k={p.connector_shared})": C.SimplexConnector(
                          ends, W.shared_points(model, p.connector_shared, seed=_seed(p, 12, s) % 2**31))}
        for i, j in _pairs(p.n_solutions):
            for kind, thetas in (("straight line", torch.stack([(1 - t) * ends[i] + t * ends[j] for t in ts])),
                                 ("star", connectors["star"].pair_path(i, j, ts))):
                paths += [{"seed": s, "kind": kind, "pair": f"{i}-{j}", "t": t, "loss": lo}
                          for t, lo in zip(ts, W.loss(model, thetas).tolist())]
        lines = pd.DataFrame([r for r in paths if r["seed"] == s and r["kind"] == "straight line"])
        rows.append({"seed": s, "kind": "straight lines", "max_loss": lines.loss.max(),
                     "min_pair_max": lines.groupby("pair").loss.max().min()})
        for kind, conn in connectors.items():
            grid = C.simplex_grid(len(conn.bends), p.connector_points)
            worst = max(W.loss(model, conn.points(grid, f)).max().item() for f in range(len(conn.faces)))
            rows.append({"seed": s, "kind": kind, "max_loss": worst, "min_pair_max": np.nan})
    return pd.DataFrame(paths), pd.DataFrame(rows)


# --- claims ------------------------------------------------------------------------------------------------------

def _fmt(values):
    return ", ".join("-" if (v is None or (isinstance(v, float) and math.isnan(v))) else f"{v:.3g}" for v in values)


def claims(p, sub, d90, toy_thr, knobs, effects, barriers, conn, toy_bar, toy_conn):
    """The claims table, one row per claim and seed (toy rows: exact computations of the model).

    Thresholds, fixed from the paper's wording before any run: 'falls with d' is a strictly falling
    mean training loss along the d grid at every offset radius; 'the threshold moves with radius
    the way the model with a finite reach says' is d90 at the largest radius above d90 at radius 1
    (NaN, never reached, counts as above); 'act alike' is the same sign of change, from the
    smallest to the largest value of each knob, for all three knobs, at matched training loss
    (every run reached ``target_loss``); a barrier exists above 0.1 nats; 'low loss along a
    connector' is a connector barrier at most a fifth of the straight-line barrier it replaces (as
    notebook 09), for every pair, and for the m-solution connectors a fifth of the largest
    straight-line barrier among the pairs.
    """
    rows = []
    sub_dims = sub[~sub.full]
    big = max(p.scales)
    n = p.toy_short
    tun = toy_thr[toy_thr.model.str.startswith("tunnel")]
    rows.append({"claim": "C1 toy: a random d-plane reaches a tunnel iff d >= n",
                 "measured": f"d* = {sorted(set(tun.d_star.astype(int)))} over {len(tun)} (seed, radius) for n = {n}",
                 "threshold": f"d* = {n} at every radius", "holds": bool((tun.d_star == n).all())})
    for s in range(p.n_seeds):
        t = sub_dims[sub_dims.seed == s]
        mono = all(np.all(np.diff(u.sort_values("dim").train_loss) < 0) for _, u in t.groupby("scale"))
        at1 = t[t.scale == 1.0].sort_values("dim")
        rows.append({"claim": f"C1 the loss reached in a random d-subspace falls as d grows (seed {s})",
                     "measured": "scale 1, d " + _fmt(at1.dim) + ": " + _fmt(at1.train_loss),
                     "threshold": "strictly falling with d at every radius", "holds": bool(mono)})
    wedge_whole = toy_thr[toy_thr.model == "wedge, whole plane"]
    reach = toy_thr[toy_thr.model.str.startswith("wedge, reach")]
    for s in range(p.n_seeds):
        r = reach[reach.seed == s].sort_values("radius")
        w = wedge_whole[wedge_whole.seed == s].sort_values("radius")
        rises = _above(r.d_star.iloc[-1], r[r.radius == 1.0].d_star.iloc[0]) if 1.0 in set(r.radius) else False
        rows.append({"claim": f"C2 toy: within a finite reach, d* rises with the offset's radius (seed {s})",
                     "measured": f"radii {_fmt(r.radius)}: reach {_fmt(r.d_star)}; whole plane {_fmt(w.d_star)}",
                     "threshold": "d* at the largest radius > d* at radius 1 (within the reach)", "holds": bool(rises)})
    for s in range(p.n_seeds):
        t = d90[d90.seed == s].sort_values("scale")
        at1, atbig = t[t.scale == 1.0].d90.iloc[0], t[t.scale == big].d90.iloc[0]
        rows.append({"claim": f"C2 the threshold d90 moves with the offset's radius as the toy says (seed {s})",
                     "measured": f"scales {_fmt(t.scale)}: d90 {_fmt(t.d90)}",
                     "threshold": f"d90 at scale {big:g} > d90 at scale 1", "holds": _above(atbig, at1)})
    for s in range(p.n_seeds):
        e = effects[effects.seed == s].set_index("knob")
        matched = bool(e.all_reached.all())
        for column, what in (("d_lam_path", "curvature explored (mean top Hessian eigenvalue)"),
                             ("d_radius_pp", "radius per parameter")):
            signs = {np.sign(e.loc[k, column]) for k in KNOBS}
            rows.append({"claim": f"C3 raising lr, width and L2 moves the {what} the same way (seed {s})",
                         "measured": "; ".join(f"{k} {e.loc[k, 'from']:g}->{e.loc[k, 'to']:g}: {e.loc[k, column]:+.3g}"
                                               for k in KNOBS)
                         + ("" if matched else "; not all runs reached the target"),
                         "threshold": "one sign for all three knobs, at matched loss",
                         "holds": bool(matched and len(signs) == 1 and 0 not in signs)})
    tb = toy_bar.set_index(["seed", "kind"])
    for s in range(p.n_seeds):
        star = tb.loc[(s, "star"), "max_loss"]
        rows.append({"claim": f"C4 toy: lines between wedges rise, the path through a shared point does not (seed {s})",
                     "measured": f"lowest line maximum {tb.loc[(s, 'straight lines'), 'min_pair_max']:.3g}; "
                                 f"star maximum {star:.2g}",
                     "threshold": f"line > 0 and star <= {LINE_TOL:g}",
                     "holds": bool(tb.loc[(s, "straight lines"), "min_pair_max"] > LINE_TOL and star <= LINE_TOL)})
    for s in range(p.n_seeds):
        b = barriers[barriers.seed == s]
        line = b[b.kind == "straight line"].set_index("pair").barrier
        star = b[b.kind == "star"].set_index("pair").barrier
        rows.append({"claim": f"C4 a barrier on the straight line between independent solutions (seed {s})",
                     "measured": "pairs " + ", ".join(f"{k}: {v:.3f}" for k, v in line.items()),
                     "threshold": "every pair > 0.1 nats", "holds": bool((line > 0.1).all())})
        rows.append({"claim": f"C4 a trained connector removes it (seed {s})",
                     "measured": "star path barrier " + ", ".join(f"{k}: {v:.3f}" for k, v in star.items()),
                     "threshold": "<= 1/5 of the pair's straight-line barrier",
                     "holds": bool((star <= 0.2 * line[star.index]).all() and (line > 0).all())})
    for s in range(p.n_seeds):
        line_max = barriers[(barriers.seed == s) & (barriers.kind == "straight line")].barrier.max()
        for r in conn[conn.seed == s].itertuples():
            rows.append({"claim": f"C5 a low-loss {r.kind} connector joins all {p.n_solutions} solutions (seed {s})",
                         "measured": f"max loss {r.max_loss:.3f} vs ends {r.end_loss:.3f}: barrier {r.barrier:.3f}; "
                                     f"largest straight-line barrier {line_max:.3f}",
                         "threshold": "barrier <= 1/5 of the largest straight-line barrier",
                         "holds": bool(r.barrier <= 0.2 * line_max and line_max > 0)})
    ok = all((row.shared_dim == row.D_minus_m_n) if row.D_minus_m_n >= 0 else row.shared_dim == -1
             for row in toy_conn.itertuples())
    last = toy_conn[toy_conn.shared_dim >= 0].m.max()
    rows.append({"claim": "C5 toy: m wedges share a low-loss set iff m n <= D, of dimension D - m n",
                 "measured": f"largest m with a shared set {last} (D = {p.toy_dim}, n = {n}); "
                             f"simplex maxima {_fmt(toy_bar[toy_bar.kind.str.startswith('simplex')].max_loss)}",
                 "threshold": "dimension D - m n for every m, -1 beyond; simplex faces at 0",
                 "holds": bool(ok and (toy_bar[toy_bar.kind.str.startswith("simplex")].max_loss <= LINE_TOL).all())})
    return rows


def _above(a, b):
    """a > b, where NaN (never reached in the grid) is above everything and nothing is above NaN."""
    if math.isnan(b):
        return False
    return True if math.isnan(a) else bool(a > b)


# --- figures -----------------------------------------------------------------------------------------------------

def _ticks(ax, values, axis="x"):
    """Ticks at the grid values, labelled plainly (log axes otherwise crowd them with powers of ten)."""
    from matplotlib.ticker import NullLocator

    values = sorted({float(v) for v in values})
    getattr(ax, f"set_{axis}ticks")(values, [f"{v:g}" for v in values])
    getattr(ax, f"{axis}axis").set_minor_locator(NullLocator())


def plot_subspace(sub, d90, curves, thresholds, p):
    """C1, C2: the network's loss reached against d per offset scale and d90 against radius, and the toy's."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(17, 3.8))
    t = sub[~sub.full].groupby(["scale", "dim"], as_index=False).train_loss.mean()
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(p.scales)))
    for c, (scale, u) in zip(colors, t.groupby("scale")):
        axes[0].plot(u.dim, u.train_loss, marker="o", color=c, label=f"scale {scale:g}")
    axes[0].set(xscale="log", yscale="log", xlabel="subspace dimension d", ylabel="train loss reached (mean)",
                title="network")
    _ticks(axes[0], p.subspace_dims)
    axes[0].legend(fontsize=8)
    for s, u in d90.groupby("seed"):
        axes[1].plot(u.radius, u.d90, marker="o", label=f"seed {s}")
    axes[1].set(xscale="log", yscale="log", xlabel=r"offset radius $\|P\|$", ylabel="d90", title="network threshold")
    _ticks(axes[1], d90.groupby("scale").radius.mean().round(1))
    _ticks(axes[1], [d for d in p.subspace_dims if d90.d90.min() / 2 <= d <= d90.d90.max() * 2], "y")
    axes[1].legend(fontsize=8)
    c = curves.groupby(["radius", "dim"], as_index=False).loss.mean()
    colors = plt.cm.viridis(np.linspace(0, 0.9, c.radius.nunique()))
    for col, (r, u) in zip(colors, c.groupby("radius")):
        axes[2].plot(u.dim, u.loss + 1e-6, marker="o", color=col, label=f"radius {r:g}")
    axes[2].set(yscale="log", xlabel="plane dimension d", ylabel="lowest toy loss + 1e-6",
                title=f"toy, reach {p.toy_reach:g}")
    axes[2].axvline(p.toy_short, color="k", ls=":", lw=0.8)
    axes[2].legend(fontsize=8)
    th = thresholds.groupby(["model", "radius"], as_index=False).d_star.mean()
    for (name, u), ls in zip(th.groupby("model", sort=False), ("-", "--", "-.")):
        axes[3].plot(u.radius, u.d_star, marker="o", ls=ls, label=name)
    axes[3].set(xscale="log", xlabel="offset radius (core distance 1)", ylabel="toy threshold d* (mean)",
                title="toy threshold")
    _ticks(axes[3], p.toy_radii)
    axes[3].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_knobs(knobs):
    """C3: curvature explored and radius per parameter against each knob, one line per seed."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(13, 6), sharey="row")
    for j, knob in enumerate(KNOBS):
        t = knobs[knobs.knob == knob]
        for s, u in t.groupby("seed"):
            u = u.sort_values("value")
            axes[0, j].plot(u.value, u.lam_path, marker="o", label=f"seed {s}")
            axes[1, j].plot(u.value, u.radius_pp, marker="o", label=f"seed {s}")
        axes[1, j].set(xlabel={"lr": "learning rate", "width": "width factor", "l2": "L2 coefficient"}[knob])
        for ax in axes[:, j]:
            if knob != "l2":
                ax.set_xscale("log")
            _ticks(ax, t.value)
    axes[0, 0].set(ylabel="mean top eigenvalue of H\nalong the run")
    axes[1, 0].set(ylabel=r"$\|\theta\| / \sqrt{D}$ at target loss")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_connectors(paths, toy):
    """C4, C5: loss along the straight lines and along the star's pair paths, network and toy, seed 0."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    for ax, t, title in ((axes[0], paths, "network (train loss)"), (axes[1], toy, "toy")):
        t = t[t.seed == 0]
        for i, (pair, u) in enumerate(t.groupby("pair")):
            for kind, ls in (("straight line", "--"), ("star", "-")):
                v = u[u.kind == kind]
                ax.plot(v.t, v.loss, ls=ls, color=f"C{i}", label=f"{pair} {kind}")
        ax.set(xlabel="t along the path (star: end i -> shared point at t = 0.5 -> end j)", ylabel="loss",
               title=title)
    axes[0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def explorer(p):
    """Sliders over the toy: short dimension, width growth eps, reach and offset radius -> lowest loss against d."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def show(n=p.toy_short, eps=p.toy_eps, reach=p.toy_reach, radius=1.0, seed=0):
        model = W.random_wedges(p.toy_dim, n, eps=eps, offset=1.0, seed=seed)
        M = random_subspace(p.toy_dim, min(p.toy_dim, 2 * n), seed=seed + 1, dtype=W.DT)
        u = torch.randn(p.toy_dim, generator=torch.Generator().manual_seed(seed + 2), dtype=W.DT)
        u = radius * u / u.norm()
        dims = sorted({max(1, round(x)) for x in np.linspace(1, M.shape[1], 25)})
        _, ax = plt.subplots(figsize=(6, 3.6))
        for r, name in ((None, "whole plane"), (reach, f"reach {reach:g}")):
            ax.plot(dims, [W.plane_minimum(model, u, M[:, :d], reach=r)["loss"] + 1e-6 for d in dims], marker=".",
                    label=name)
        ax.axvline(n, color="k", ls=":", lw=0.8)
        ax.set(yscale="log", xlabel="plane dimension d", ylabel="lowest toy loss + 1e-6",
               title=f"D = {p.toy_dim}, n = {n}, eps = {eps:.3f}, radius {radius:g}")
        ax.legend()
        plt.show()

    return widgets.interactive(
        show,
        n=widgets.IntSlider(value=p.toy_short, min=1, max=max(2, p.toy_dim // 4), description="n"),
        eps=widgets.FloatSlider(value=p.toy_eps, min=0.0, max=0.5, step=0.01, description="eps"),
        reach=widgets.FloatLogSlider(value=max(p.toy_reach, 0.01), base=10, min=-1, max=2, description="reach"),
        radius=widgets.FloatLogSlider(value=1.0, base=10, min=-2, max=2, description="radius"),
        seed=widgets.IntSlider(value=0, min=0, max=20, description="seed"),
    )
