"""Stiffness (Fort, Nowak, Jastrzebski & Narayanan, arXiv:1901.09491), measured along SGD trajectories.

For every learning rate in ``lrs`` and every seed, a model (``companion.nn.mlp`` or ``cnn``)
is trained with plain SGD and checkpointed ``n_checkpoints`` times at equal steps; the same
seed gives the same initialisation and batch order at every learning rate. At each
checkpoint the per-example gradients of the cross-entropy of two fixed probe sets, ``n_probe``
training examples and ``n_probe`` held-out (test) examples, give their dot products (one
Gram matrix, :func:`companion.landscape.gradients.per_example_gram`, within
``memory_budget_mb``) and from them the sign and cosine stiffness
(:mod:`companion.landscape.stiffness`) of the pairs train-train, train-test and test-test.

The claims are read on the train-test pairs, chosen before any run: a step on a training
example, the change of the loss on a held-out one, the pairs that say how training
generalises. There is no pair of an example with itself among them. Batch-norm models are
measured in eval mode, with running statistics recomputed on the training set at each
checkpoint (a checkpoint holds parameters only).

Distances are measured in input space (``metric``: Euclidean on the inputs as loaded, or
cosine distance 1 - cos) and, for the layer figure, in every hidden layer's representation.
The dynamical critical length xi is defined in
:func:`companion.landscape.stiffness.critical_length`: the distance at which the cosine
stiffness, binned by distance in ``n_bins`` equal-count bins, first falls to zero.

Small models run with one torch thread (:data:`THREADS`): on the shared two-core machine
one SGD step of the default MLP took 0.5 ms with one thread against 23 ms with two that
contend with other processes, and one thread fixes the order of every reduction.
"""

import itertools
import math
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from scipy import stats

from ..data import LOADABLE, load
from ..data.transforms import stratified_pick
from ..landscape import stiffness as st
from ..landscape.gradients import load_checkpoint, per_example_gram
from ..nn import cnn, mlp, train
from ..params import Param, ParameterError

THREADS = 1
PAIRS = ("train-train", "train-test", "test-test")
CLAIM_PAIRS = "train-test"

# Super-classes the notebook uses where the registry gives none: Fashion-MNIST's tops
# (T-shirt/top 0, pullover 2, coat 4, shirt 6) and footwear (sandal 5, sneaker 7, ankle boot 9);
# trouser 1, dress 3 and bag 8 are each their own group. Keyed by original label.
FASHION_GROUPS = {0: "tops", 2: "tops", 4: "tops", 6: "tops", 5: "footwear", 7: "footwear", 9: "footwear",
                  1: "trouser", 3: "dress", 8: "bag"}

PARAMETERS = (
    Param("dataset", str, choices=LOADABLE),
    Param("n_train", int, 20, 60000),
    Param("n_test", int, 20, 10000),
    Param("n_probe", int, 10, 10000),
    Param("model", str, choices=("mlp", "cnn")),
    Param("widths", int, 1, 4096, many=True),
    Param("channels", int, 1, 1024, many=True),
    Param("activation", str, choices=("relu", "tanh")),
    Param("batch_norm", bool),
    Param("lr", float, 1e-5, 10.0),
    Param("lrs", float, 1e-5, 10.0, many=True),
    Param("batch_size", int, 1, 60000),
    Param("epochs", int, 1, 100000),
    Param("n_checkpoints", int, 3, 500),
    Param("n_seeds", int, 1, 100),
    Param("metric", str, choices=st.METRICS),
    Param("n_bins", int, 3, 200),
    Param("memory_budget_mb", float, 1.0, 1e6),
)


def check(p):
    """Constraints between parameters, checked before any compute."""
    if p.lr not in p.lrs:
        raise ParameterError(f"parameter 'lr' = {p.lr!r} must be one of 'lrs' = {p.lrs!r}: the reference run is "
                             "part of the learning-rate sweep")
    if len(set(p.lrs)) < 2:
        raise ParameterError(f"parameter 'lrs' = {p.lrs!r} needs at least two different learning rates")
    if p.n_probe > min(p.n_train, p.n_test):
        raise ParameterError(f"parameter 'n_probe' = {p.n_probe} must be at most n_train = {p.n_train} and "
                             f"n_test = {p.n_test}: each probe set is drawn from one of them")
    if p.batch_size > p.n_train:
        raise ParameterError(f"parameter 'batch_size' = {p.batch_size} must be at most n_train = {p.n_train}")
    if p.epochs * (p.n_train // p.batch_size) < p.n_checkpoints:
        raise ParameterError(f"epochs * (n_train // batch_size) = {p.epochs * (p.n_train // p.batch_size)} steps "
                             f"cannot hold n_checkpoints = {p.n_checkpoints} checkpoints; train longer or "
                             "checkpoint less often")


@contextmanager
def threads(n=THREADS):
    """Run the enclosed torch code with ``n`` threads, then restore the previous count."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def load_data(p):
    """The notebook's dataset, inputs scaled to [0, 1] (MNIST-1D as generated)."""
    return load(p.dataset, n_train=p.n_train, n_test=p.n_test, seed=p.seed, normalize="unit")


def superclasses(data):
    """The super-class of each class (a tuple aligned with labels 0..k-1), or None when the dataset has none.

    From the registry where it provides them (CIFAR-100's coarse labels, as ``data.superclasses``),
    else :data:`FASHION_GROUPS` for Fashion-MNIST.
    """
    groups = tuple(getattr(data, "superclasses", ()) or ())
    if groups:
        return groups
    if data.name == "fashion-mnist":
        return tuple(FASHION_GROUPS[c] for c in data.classes)
    return None


def make_model(data, p, seed):
    """The notebook's MLP or CNN (float32, PyTorch's default init drawn from ``seed``) on ``p.device``."""
    if p.model == "mlp":
        net = mlp(int(np.prod(data.input_shape)), p.widths, data.n_classes, activation=p.activation, seed=seed,
                  batch_norm=p.batch_norm)
    else:
        if len(data.input_shape) != 3:
            raise ParameterError(f"parameter 'model' = 'cnn' needs image inputs (C, H, W); {data.name} has inputs "
                                 f"of shape {data.input_shape}: use model = 'mlp'")
        net = cnn(data.input_shape, p.channels, data.n_classes, activation=p.activation, seed=seed,
                  batch_norm=p.batch_norm)
    return net.to(p.device)


def schedule(p):
    """(steps per epoch, steps between checkpoints, total steps): total is n_checkpoints whole intervals."""
    per_epoch = p.n_train // p.batch_size
    every = max(1, round(p.epochs * per_epoch / p.n_checkpoints))
    return per_epoch, every, every * p.n_checkpoints


def probes(data, p):
    """Indices of the two probe sets: a stratified pick of ``n_probe`` training and ``n_probe`` test examples."""
    rng = np.random.default_rng([p.seed, 6])
    train_idx = stratified_pick(data.y_train.numpy(), p.n_probe, rng)
    test_idx = stratified_pick(data.y_test.numpy(), p.n_probe, rng)
    return torch.from_numpy(train_idx), torch.from_numpy(test_idx)


@dataclass
class Run:
    """One training run: its learning rate, seed (offset from ``p.seed``) and :class:`companion.nn.Trajectory`."""

    lr: float
    seed: int
    trajectory: object


@dataclass
class Runs:
    """The trained runs in order (seed by seed, each over ``p.lrs``); iterable. A container rather than a list,
    so that a notebook global holding it is not mistaken for a parameter."""

    items: list

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


def train_runs(data, p):
    """Every (lr, seed) run with plain SGD; the same seed gives the same init and batch order at every lr."""
    _, every, total = schedule(p)
    X, y = data.X_train.to(p.device), data.y_train.to(p.device)
    Xt, yt = data.X_test.to(p.device), data.y_test.to(p.device)
    runs = []
    with threads():
        for s in range(p.n_seeds):
            for lr in p.lrs:
                model = make_model(data, p, p.seed + s)
                traj = train(model, X, y, optimizer="sgd", lr=lr, batch_size=p.batch_size, steps=total,
                             seed=p.seed + s, X_test=Xt, y_test=yt, eval_every=every, checkpoint_every=every)
                runs.append(Run(lr, s, traj))
    return Runs(runs)


def histories(runs, p):
    """All runs' evaluation rows (step, epoch, train/test loss and accuracy), one table."""
    per_epoch = schedule(p)[0]
    return pd.concat([r.trajectory.history.assign(lr=r.lr, seed=r.seed, epoch=r.trajectory.history.step / per_epoch)
                      for r in runs], ignore_index=True)


def run_summary(history):
    """Per (lr, seed): the epoch and value of the lowest test loss, and the final losses and test accuracy."""
    rows = []
    for (lr, s), t in history.groupby(["lr", "seed"]):
        best, end = t.loc[t.test_loss.idxmin()], t.iloc[-1]
        rows.append({"lr": lr, "seed": s, "epoch_min_test": best.epoch, "min_test_loss": best.test_loss,
                     "final_train_loss": end.train_loss, "final_test_loss": end.test_loss,
                     "final_test_acc": end.test_acc})
    return pd.DataFrame(rows)


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


def _spearman(x, y):
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
            "rho": _spearman(b.distance, b.stiffness)}


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


def measure_runs(data, p, runs):
    """Stiffness at every checkpoint of every run: class matrices, within/between, stiffness against distance, xi."""
    per_epoch = schedule(p)[0]
    budget = p.memory_budget_mb * 2**20
    ia, ib = probes(data, p)
    Xa, ya = data.X_train[ia].to(p.device), data.y_train[ia].to(p.device)
    Xb, yb = data.X_test[ib].to(p.device), data.y_test[ib].to(p.device)
    X_stats = data.X_train.to(p.device)
    labels = {"train-train": (ya.cpu(), None), "train-test": (ya.cpu(), yb.cpu()), "test-test": (yb.cpu(), None)}
    dist = st.pairwise_distance(Xa, Xb, p.metric).cpu()
    edges = np.unique(np.quantile(dist.numpy().ravel(), np.linspace(0, 1, p.n_bins + 1)))
    curves, distance, xis, matrices = [], [], [], {}
    with threads():
        for run in runs:
            model = make_model(data, p, p.seed + run.seed)
            hist = run.trajectory.history.set_index("step")
            for step, theta in run.trajectory.checkpoints:
                load_checkpoint(model, theta, X_stats)
                S = checkpoint_stiffness(model, Xa, ya, Xb, yb, budget)
                where = {"lr": run.lr, "seed": run.seed, "step": step, "epoch": step / per_epoch,
                         "train_loss": hist.train_loss[step], "test_loss": hist.test_loss[step],
                         "test_acc": hist.test_acc[step]}
                for (pairs, kind), M in S.items():
                    y1, y2 = labels[pairs]
                    C = st.class_stiffness(M, y1, y2, data.n_classes)
                    within, between = st.within_between(C)
                    curves.append({**where, "pairs": pairs, "kind": kind, "within": within, "between": between,
                                   "mean": st.pair_mean(M, same=y2 is None)})
                    if run.lr == p.lr:
                        matrices[(run.lr, run.seed, step, pairs, kind)] = C
                binned = st.stiffness_vs_distance(S[(CLAIM_PAIRS, "cos")], dist, edges=edges)
                distance += [{**where, **row} for row in binned.to_dict("records")]
                xis.append({**where, **distance_summary(binned)})
    return Measured(pd.DataFrame(curves), pd.DataFrame(distance), pd.DataFrame(xis), matrices)


def layer_distance(data, p, runs):
    """Stiffness against distance in input space and in each hidden layer, at the first and last checkpoint
    of the reference runs (lr = ``p.lr``). Distances are divided by the median pair distance of their space,
    so layers of different scale share one axis; xi is in the same relative units.

    Returns (binned rows: seed, step, layer, bin columns; summary rows: seed, step, layer, xi_rel, rho).
    """
    budget = p.memory_budget_mb * 2**20
    ia, ib = probes(data, p)
    Xa, ya = data.X_train[ia].to(p.device), data.y_train[ia].to(p.device)
    Xb, yb = data.X_test[ib].to(p.device), data.y_test[ib].to(p.device)
    binned_rows, rows = [], []
    with threads():
        for run in runs:
            if run.lr != p.lr:
                continue
            model = make_model(data, p, p.seed + run.seed)
            for step, theta in (run.trajectory.checkpoints[0], run.trajectory.checkpoints[-1]):
                load_checkpoint(model, theta, data.X_train.to(p.device))
                S = checkpoint_stiffness(model, Xa, ya, Xb, yb, budget)[(CLAIM_PAIRS, "cos")]
                spaces = {"input": (Xa, Xb)}
                ra, rb = st.representations(model, Xa), st.representations(model, Xb)
                spaces.update({f"hidden {i + 1} ({name})": (ra[name], rb[name]) for i, name in enumerate(ra)})
                for layer, (A, B) in spaces.items():
                    D = st.pairwise_distance(A, B, p.metric).cpu()
                    scale = float(D.median())
                    binned = st.stiffness_vs_distance(S, D / scale, n_bins=p.n_bins)
                    binned_rows += [{"seed": run.seed, "step": step, "layer": layer, **r}
                                    for r in binned.to_dict("records")]
                    summary = distance_summary(binned)
                    rows.append({"seed": run.seed, "step": step, "layer": layer, "median_distance": scale,
                                 "xi_rel": summary.pop("xi"), **summary})
    return pd.DataFrame(binned_rows), pd.DataFrame(rows)


def reference(table, p):
    """The rows of the reference learning rate."""
    return table[table.lr == p.lr]


def training_trend(measured, p, kind="cos", pairs=CLAIM_PAIRS):
    """Per seed at the reference lr: between-class stiffness at init, its early maximum, at the onset of
    overfitting (the checkpoint of lowest test loss, t*) and at the end, with the test losses there."""
    c = reference(measured.curves, p)
    c = c[(c.pairs == pairs) & (c.kind == kind)]
    rows = []
    for s, t in c.groupby("seed"):
        t = t.sort_values("step").reset_index(drop=True)
        i_star = int(t.test_loss.idxmin())
        i_max = int(t.loc[:i_star, "between"].idxmax())
        b = t["between"]
        rows.append({"seed": s, "step_star": int(t.step[i_star]), "epoch_star": t.epoch[i_star],
                     "test_loss_min": t.test_loss[i_star], "test_loss_end": t.test_loss.iloc[-1],
                     "between_init": b.iloc[0], "between_max": b[i_max],
                     "step_max": int(t.step[i_max]), "between_star": b[i_star],
                     "between_end": b.iloc[-1], "within_init": t.within.iloc[0],
                     "within_end": t.within.iloc[-1], "last_step": int(t.step.iloc[-1])})
    return pd.DataFrame(rows)


def xi_vs_lr(measured):
    """Per seed and lr: xi and within-class S_cos (train-test) at the last checkpoint (matched epoch) and at
    the first checkpoint whose training loss is at most the seed's matched level, the largest over lrs of
    the lowest training loss each run reached (so every run reaches it)."""
    xi = measured.xi
    cos = measured.curves[(measured.curves.pairs == CLAIM_PAIRS) & (measured.curves.kind == "cos")]
    rows = []
    for s, t in xi.groupby("seed"):
        level = t.groupby("lr").train_loss.min().max()
        for lr, r in t.groupby("lr"):
            r = r.sort_values("step")
            end = r.iloc[-1]
            at = r[r.train_loss <= level].iloc[0]
            w = cos[(cos.seed == s) & (cos.lr == lr)].set_index("step").within
            rows.append({"seed": s, "lr": lr, "epoch": end.epoch, "xi_epoch": end.xi, "within_epoch": w[end.step],
                         "loss_level": level, "epoch_at_loss": at.epoch, "xi_loss": at.xi,
                         "within_loss": w[at.step]})
    return pd.DataFrame(rows)


def class_structure(data, p, measured):
    """Per seed and checkpoint of the reference lr, from the train-test S_cos class matrix (symmetrised): the
    Spearman correlation of off-diagonal stiffness with the distance between class-mean training inputs, and,
    where the dataset has super-classes, the mean off-diagonal stiffness within and between super-classes."""
    onehot = torch.nn.functional.one_hot(data.y_train, data.n_classes).float()
    means = (onehot.T @ data.X_train.reshape(len(data.X_train), -1)).double() / onehot.sum(0)[:, None].double()
    D = st.pairwise_distance(means, metric=p.metric).numpy()
    off = ~np.eye(data.n_classes, dtype=bool)
    groups = superclasses(data)
    per_epoch = schedule(p)[0]
    rows = []
    for (lr, s, step, pairs, kind), C in measured.matrices.items():
        if lr != p.lr or pairs != CLAIM_PAIRS or kind != "cos":
            continue
        Cs = (C + C.T) / 2
        ok = off & np.isfinite(Cs)
        r = stats.spearmanr(Cs[ok], D[ok])
        row = {"seed": s, "step": step, "epoch": step / per_epoch, "rho": float(r.statistic), "p_value": float(r.pvalue)}
        if groups is not None:
            row["same_group"], row["other_group"] = st.group_contrast(Cs, groups)
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["seed", "step"], ignore_index=True)


def figure_steps(measured, trend):
    """The checkpoints the class-matrix figure shows: init, the lowest test loss of seed 0, the end."""
    return np.array(sorted({0, int(trend.step_star.iloc[0]), int(measured.curves.step.max())}))


def matrices_table(measured, steps, pairs=CLAIM_PAIRS, seed=0):
    """The kept class matrices of one seed at ``steps`` as a tidy table (step, kind, a, b, value), for the record."""
    rows = []
    for (lr, s, step, pr, kind), C in measured.matrices.items():
        if pr == pairs and s == seed and step in steps:
            rows += [{"step": int(step), "kind": kind, "a": a, "b": b, "value": float(C[a, b])}
                     for a in range(len(C)) for b in range(len(C))]
    return pd.DataFrame(rows)


def _fmt(x, digits=3):
    return "inf" if math.isinf(x) else f"{x:.{digits}f}"


def _decreasing(values):
    v = list(values)
    return all(a > b for a, b in itertools.pairwise(v))


def claims(p, measured, trend, lr_table, structure, layers_summary):
    """The claims table rows; each threshold says what its claim means (see the notebook)."""
    rows = []
    final = reference(measured.curves, p)
    final = final[(final.pairs == CLAIM_PAIRS) & (final.step == final.step.max())].set_index(["seed", "kind"])
    for s in sorted(final.index.get_level_values(0).unique()):
        c, g = final.loc[(s, "cos")], final.loc[(s, "sign")]
        rows.append({"claim": f"C1 within-class stiffness exceeds between-class (seed {s})",
                     "measured": f"S_cos {c['within']:.3f} vs {c['between']:.3f}; "
                                 f"S_sign {g['within']:.3f} vs {g['between']:.3f}",
                     "threshold": "within > between for S_cos and S_sign",
                     "holds": bool(c["within"] > c["between"] and g["within"] > g["between"])})
    for r in trend.itertuples():
        overfits = r.step_star < r.last_step and r.test_loss_end > r.test_loss_min
        rows.append({"claim": f"C2 between-class stiffness rises, then falls as overfitting starts (seed {r.seed})",
                     "measured": f"S_cos between: init {r.between_init:.3f}, peak {r.between_max:.3f} (step "
                                 f"{r.step_max}), at lowest test loss {r.between_star:.3f} (step {r.step_star}), "
                                 f"end {r.between_end:.3f}; test loss {r.test_loss_min:.3f} -> {r.test_loss_end:.3f}",
                     "threshold": "test loss rises after its minimum t*; peak before t*, above init and above t*",
                     "holds": bool(overfits and r.step_max < r.step_star and r.between_max > r.between_init
                                   and r.between_max > r.between_star)})
    xi = reference(measured.xi, p)
    for s, t in xi.groupby("seed"):
        t = t.sort_values("step")
        rho_t = _spearman(t.step, t.xi.replace(np.inf, 1e300))
        end, start = t.iloc[-1], t.iloc[0]
        rows.append({"claim": f"C3 stiffness is highest for the closest pairs, falls to 0 at a finite xi, and xi "
                              f"shrinks with training (seed {s})",
                     "measured": f"nearest-bin S_cos {end.s_near:.3f} (largest bin: {'yes' if end.near_is_max else 'no'}); "
                                 f"xi {_fmt(start.xi)} -> {_fmt(end.xi)}; Spearman(step, xi) {rho_t:.2f}",
                     "threshold": "nearest bin largest and > 0, xi_end finite and < xi_init, rho(step, xi) < 0",
                     "holds": bool(end.near_is_max and end.s_near > 0 and math.isfinite(end.xi)
                                   and end.xi < start.xi and rho_t < 0)})
    for s, t in lr_table.groupby("seed"):
        t = t.sort_values("lr")
        lrs = "/".join(f"{v:g}" for v in t.lr)
        rows.append({"claim": f"C4 higher learning rate, smaller xi at matched epoch (seed {s})",
                     "measured": f"xi at epoch {t.epoch.iloc[0]:g} for lr {lrs}: "
                                 + " / ".join(_fmt(v) for v in t.xi_epoch),
                     "threshold": "xi strictly decreasing in lr",
                     "holds": _decreasing(t.xi_epoch)})
        rows.append({"claim": f"C5 higher learning rate, smaller xi at matched training loss (seed {s})",
                     "measured": f"xi at train loss <= {t.loss_level.iloc[0]:.3f} for lr {lrs}: "
                                 + " / ".join(_fmt(v) for v in t.xi_loss),
                     "threshold": "xi strictly decreasing in lr",
                     "holds": _decreasing(t.xi_loss)})
    mean = lr_table.groupby("lr")[["within_epoch", "within_loss"]].mean().sort_index()
    per_seed = lr_table.sort_values("lr").groupby("seed")
    ok_epoch = all(_decreasing(t.within_epoch) for _, t in per_seed)
    ok_loss = all(_decreasing(t.within_loss) for _, t in per_seed)
    rows.append({"claim": "C6 smaller learning rate, higher stiffness at matched epoch and loss (ICLR version)",
                 "measured": "mean within-class S_cos by lr " + "/".join(f"{v:g}" for v in mean.index)
                             + ": epoch " + " / ".join(f"{v:.3f}" for v in mean.within_epoch)
                             + "; loss " + " / ".join(f"{v:.3f}" for v in mean.within_loss),
                 "threshold": "decreasing in lr at both, in every seed", "holds": bool(ok_epoch and ok_loss)})
    last = structure[structure.step == structure.step.max()]
    rows.append({"claim": "C7 classes that look alike are stiffer (coarse structure of the class matrix)",
                 "measured": "Spearman(off-diagonal S_cos, class-mean distance) at the end, per seed: "
                             + ", ".join(f"{v:.2f} (p={q:.1g})" for v, q in zip(last.rho, last.p_value)),
                 "threshold": "rho < 0 and p < 0.05 in every seed",
                 "holds": bool((last.rho < 0).all() and (last.p_value < 0.05).all())})
    if "same_group" in last:
        rows.append({"claim": "C8 stiffer within super-classes than between them",
                     "measured": "off-diagonal S_cos same vs other super-class at the end, per seed: "
                                 + ", ".join(f"{a:.3f} vs {b:.3f}" for a, b in zip(last.same_group, last.other_group)),
                     "threshold": "same > other in every seed",
                     "holds": bool((last.same_group > last.other_group).all())})
    end = layers_summary[layers_summary.step == layers_summary.step.max()]
    by_layer = end.groupby("layer", sort=False)
    rows.append({"claim": "C9 the same short-range stiffness in every hidden representation (v1)",
                 "measured": "at the end, by layer: " + "; ".join(
                     f"{k} xi/median {t.xi_rel.mean():.2f}, nearest bin largest in {int(t.near_is_max.sum())}/{len(t)}"
                     for k, t in by_layer),
                 "threshold": "every layer and seed: nearest bin largest and > 0, finite xi",
                 "holds": bool((end.near_is_max & (end.s_near > 0) & np.isfinite(end.xi_rel)).all())})
    return rows


# ---------------------------------------------------------------------------------------------- figures

def _order(groups, k):
    """Class order for a matrix: grouped by super-class (first appearance), else 0..k-1."""
    if groups is None:
        return list(range(k))
    first = {g: i for i, g in reversed(list(enumerate(groups)))}
    return sorted(range(k), key=lambda a: (first[groups[a]], a))


def plot_class_matrices(measured, p, steps, groups=None, seed=0, pairs=CLAIM_PAIRS):
    """Class stiffness matrices (rows: sign, cosine) at ``steps``, classes grouped by super-class when given."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(steps), figsize=(3.3 * len(steps), 6.2), squeeze=False)
    for j, step in enumerate(steps):
        for i, kind in enumerate(("sign", "cos")):
            C = measured.matrices[(p.lr, seed, step, pairs, kind)]
            order = _order(groups, len(C))
            im = axes[i, j].imshow(C[np.ix_(order, order)], cmap="RdBu_r", vmin=-1, vmax=1)
            axes[i, j].set_title(f"S_{kind}, step {step}", fontsize=10)
            ticks = order if len(C) <= 20 else []
            axes[i, j].set(xticks=range(len(ticks)), yticks=range(len(ticks)), xticklabels=ticks, yticklabels=ticks)
            axes[i, j].tick_params(labelsize=7)
            axes[i, j].grid(False)
    fig.colorbar(im, ax=axes, shrink=0.8, label="class stiffness")
    fig.suptitle(f"Class stiffness matrices ({pairs} pairs, lr {p.lr:g}, seed {seed})")
    return fig


def plot_training(measured, p, kind="cos"):
    """Within- and between-class stiffness over epochs for each pair set, beside the train and test losses."""
    import matplotlib.pyplot as plt

    c = reference(measured.curves, p)
    c = c[c.kind == kind]
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    for i, pairs in enumerate(PAIRS):
        m = c[c.pairs == pairs].groupby("epoch")[["within", "between"]].agg(["mean", "std"])
        for col, ax in zip(("within", "between"), axes[:2]):
            ax.plot(m.index, m[(col, "mean")], color=f"C{i}", label=pairs)
            ax.fill_between(m.index, m[(col, "mean")] - m[(col, "std")].fillna(0),
                            m[(col, "mean")] + m[(col, "std")].fillna(0), color=f"C{i}", alpha=0.15)
    loss = c[c.pairs == CLAIM_PAIRS].groupby("epoch")[["train_loss", "test_loss"]].mean()
    axes[2].plot(loss.index, loss.train_loss, label="train")
    axes[2].plot(loss.index, loss.test_loss, label="test")
    star = loss.test_loss.idxmin()
    for ax in axes:
        ax.axvline(star, color="k", lw=0.8, ls=":")
        ax.set_xlabel("epoch")
    axes[1].axhline(0, color="k", lw=0.8)
    axes[0].set_ylabel(f"within-class S_{kind}")
    axes[1].set_ylabel(f"between-class S_{kind}")
    axes[2].set(ylabel="cross-entropy", yscale="log")
    axes[0].legend(title="pairs")
    axes[2].legend()
    fig.suptitle(f"Stiffness over training (lr {p.lr:g}, mean +- sd over seeds; dotted: lowest test loss)")
    fig.tight_layout()
    return fig


def plot_distance(measured, p, seed=0):
    """Binned S_cos (train-test) against input distance at every checkpoint (colour: epoch), and xi over epochs
    for every learning rate."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    d = reference(measured.distance, p)
    d = d[d.seed == seed]
    epochs = sorted(d.epoch.unique())
    for e in epochs:
        b = d[d.epoch == e]
        axes[0].plot(b.distance, b.stiffness, color=plt.cm.viridis(epochs.index(e) / max(1, len(epochs) - 1)), lw=1)
    axes[0].axhline(0, color="k", lw=0.8)
    axes[0].set(xlabel=f"input distance ({p.metric})", ylabel="binned S_cos",
                title=f"lr {p.lr:g}, seed {seed}; colour: epoch {epochs[0]:g} (purple) to {epochs[-1]:g} (yellow)")
    for i, (lr, t) in enumerate(measured.xi.groupby("lr")):
        m = t.replace(np.inf, np.nan).groupby("epoch").xi.agg(["mean", "std"])
        axes[1].errorbar(m.index, m["mean"], yerr=m["std"].fillna(0), color=f"C{i}", marker="o", ms=3, capsize=2,
                         label=f"lr {lr:g}")
    axes[1].set(xlabel="epoch", ylabel=r"critical length $\xi$", title=r"$\xi$ (mean $\pm$ sd over seeds)")
    axes[1].legend()
    fig.tight_layout()
    return fig


def plot_xi_vs_lr(lr_table):
    """xi against the learning rate per seed, at matched epoch and at matched training loss."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
    for ax, col, title in ((axes[0], "xi_epoch", "matched epoch (end of training)"),
                           (axes[1], "xi_loss", "matched training loss")):
        for s, t in lr_table.groupby("seed"):
            t = t.sort_values("lr")
            ax.plot(t.lr, t[col].replace(np.inf, np.nan), marker="o", label=f"seed {s}")
        lrs = sorted(lr_table.lr.unique())
        ax.set(xscale="log", xlabel="learning rate", title=title)
        ax.set_xticks(lrs, [f"{v:g}" for v in lrs])
        ax.minorticks_off()
    axes[0].set_ylabel(r"critical length $\xi$")
    axes[0].legend()
    fig.tight_layout()
    return fig


def plot_layers(layer_binned):
    """Binned S_cos against distance (relative to the median) in input space and each hidden layer, first and
    last checkpoint, seed 0."""
    import matplotlib.pyplot as plt

    b = layer_binned[layer_binned.seed == layer_binned.seed.min()]
    steps = sorted(b.step.unique())
    fig, axes = plt.subplots(1, len(steps), figsize=(6 * len(steps), 3.6), sharey=True, squeeze=False)
    for ax, step in zip(axes[0], steps):
        for i, (layer, t) in enumerate(b[b.step == step].groupby("layer", sort=False)):
            ax.plot(t.distance, t.stiffness, marker="o", ms=3, color=f"C{i}", label=layer)
        ax.axhline(0, color="k", lw=0.8)
        ax.set(xlabel="distance / median distance", title=f"step {step}")
    axes[0, 0].set_ylabel("binned S_cos (train-test)")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def explorer(measured, p, groups=None):
    """ipywidgets: a checkpoint of the reference run (seed 0), the stiffness kind and the pair set -> its class matrix."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    steps = sorted({k[2] for k in measured.matrices})

    def show(step_index, kind, pairs):
        step = steps[step_index]
        C = measured.matrices[(p.lr, 0, step, pairs, kind)]
        order = _order(groups, len(C))
        fig, ax = plt.subplots(figsize=(4.5, 4))
        im = ax.imshow(C[np.ix_(order, order)], cmap="RdBu_r", vmin=-1, vmax=1)
        within, between = st.within_between(C)
        ax.set_title(f"step {step}: within {within:.2f}, between {between:.2f}", fontsize=10)
        ax.grid(False)
        fig.colorbar(im, ax=ax)
        plt.show()

    return widgets.interactive(
        show,
        step_index=widgets.IntSlider(value=len(steps) - 1, min=0, max=len(steps) - 1, description="checkpoint"),
        kind=widgets.Dropdown(options=list(st.KINDS), value="cos", description="stiffness"),
        pairs=widgets.Dropdown(options=list(PAIRS), value=CLAIM_PAIRS, description="pairs"),
    )
