"""Emergent properties of the local geometry of neural loss landscapes (Fort & Ganguli, arXiv:1910.05929), measured.

Four properties of the Hessian H of the mean training cross-entropy, each measured on
trained networks, and then the paper's model of logit gradients set against them:

1. C outliers: the top of the spectrum of H (and of its Gauss-Newton term G) for networks
   trained on C = ``class_counts`` classes of the same data; the outliers are counted at the
   largest ratio of consecutive eigenvalues (:func:`companion.landscape.spectrum.outlier_count`).
2. Gradient confinement: the fraction of ||g||^2 inside the top-C eigenspace of H, along training.
3. Transient curvature: lambda_max(H) along training.
4. Hyperplanes: training only x in theta = P + M x (``companion.nn.HyperplaneModel``) from
   offsets P at several init scales, against the curvature Tr(H_d)/||H_d||_F of H restricted
   to that same hyperplane at P (the Goldilocks measure of notebook 03).
5. The model: logit gradients dz_c/dtheta cluster by logit index c (cosine matrix), and G
   is then m^T Mbar m (m the C cluster means, Mbar the mean of diag p - p p^T) plus a bulk
   from the spread around the means. Its spectrum, simulated with isotropic noise of the
   measured size (:class:`companion.landscape.gauss_newton.ClusteredLogitModel`), is set
   against the measured one; its signal and span are set against lambda_max(t) and g.

All curvature is of the mean loss over the training set (or a stated subset) in float64
and eval mode. Networks with fewer classes keep the same number of examples per class.
"""

import math

import numpy as np
import pandas as pd
import torch

from ..data import LOADABLE, load
from ..landscape import HessianOperator, lanczos, positive_fraction, random_subspace, subspace_hessian, trace_ratio
from ..landscape.gauss_newton import (
    ClusteredLogitModel,
    GaussNewtonOperator,
    logit_gradient_clusters,
    signal_eigenvalues,
)
from ..landscape.gradients import load_checkpoint, per_logit_grads
from ..landscape.spectrum import hutchpp, outlier_count, overlap, slq, subspace_alignment
from ..nn import INITS, HyperplaneModel, cnn, flat_params, mlp, train
from ..params import Param, ParameterError

PARAMETERS = (
    Param("dataset", str, choices=LOADABLE),
    Param("n_train", int, 20, 60000),
    Param("n_test", int, 20, 10000),
    Param("class_counts", int, 2, 100, many=True),
    Param("model", str, choices=("mlp", "cnn")),
    Param("widths", int, 1, 4096, many=True),
    Param("channels", int, 1, 1024, many=True),
    Param("activation", str, choices=("relu", "tanh")),
    Param("init", str, choices=INITS),
    Param("lr", float, 1e-5, 10.0),
    Param("batch_size", int, 1, 60000),
    Param("epochs", int, 1, 100000),
    Param("n_checkpoints", int, 3, 200),
    Param("lanczos_steps", int, 5, 2000),
    Param("slq_probes", int, 1, 200),
    Param("n_cosine", int, 2, 1000),
    Param("model_examples", int, 10, 100000),
    Param("hyper_scales", float, 0.01, 100.0, many=True),
    Param("hyper_dim", int, 1, 1000000),
    Param("hyper_steps", int, 1, 100000),
    Param("hyper_lr", float, 1e-6, 10.0),
    Param("memory_budget_mb", float, 1.0, 1e6),
)

# Thresholds, fixed from the paper's wording before any run (see the notebook's claims section).
OUTLIER_TOLERANCE = 1  # "exactly C directions": count within C +- 1 (diag p - p p^T has rank C - 1)
CONFINED = 0.5  # "largely confined": the majority of ||g||^2 in the top-C eigenspace
RISE, FALL = 1.5, 0.75  # "transiently explores higher curvature ... then flatter": peak >= 1.5 x start, end <= 0.75 x peak
SUCCESS = 0.9  # "training succeeds": >= 90% of the full-space test accuracy (Li et al.'s intrinsic-dimension rule)
CLUSTER_MARGIN = 0.1  # same-logit mean cosine above every other pair group's by at least this
WEAK = 0.5  # "weak logit curvature": |lambda|_max(H2) at most half of lambda_max(G)
FACTOR = 2.0  # the model's top eigenvalue within a factor 2 of the measured one
TRACKS = 0.8  # the model's signal follows lambda_max(t): Pearson r >= 0.8

N_CLASSES = {"cifar100": 100}  # every other loadable dataset has 10 classes


def check(p):
    """Constraints between parameters, checked before any compute."""
    counts = list(p.class_counts)
    available = N_CLASSES.get(p.dataset, 10)
    if counts != sorted(set(counts)) or counts[-1] > available:
        raise ParameterError(f"parameter 'class_counts' = {counts!r} must be distinct, increasing and at most the "
                             f"{available} classes of {p.dataset}")
    if 1.0 not in p.hyper_scales or len(p.hyper_scales) < 3 or list(p.hyper_scales) != sorted(set(p.hyper_scales)):
        raise ParameterError(f"parameter 'hyper_scales' = {p.hyper_scales!r} needs at least 3 increasing scales "
                             "including 1.0 (the named init)")
    need = 2 * counts[-1] + 1
    if p.lanczos_steps < need:
        raise ParameterError(f"parameter 'lanczos_steps' = {p.lanczos_steps} is too few: reading {counts[-1]} "
                             f"outliers needs the top 2C + 1 = {need} eigenvalues, so lanczos_steps >= {need}")
    smallest = round(p.n_train * counts[0] / counts[-1])
    if p.batch_size > smallest:
        raise ParameterError(f"parameter 'batch_size' = {p.batch_size} exceeds the {smallest} training examples of "
                             f"the {counts[0]}-class task (n_train * {counts[0]} / {counts[-1]}); lower it")
    per_class = int(0.9 * p.n_train / counts[-1])  # a stratified subset holds about n_train / C per class
    if p.n_cosine > per_class or p.model_examples // counts[-1] > per_class:
        raise ParameterError(f"parameters 'n_cosine' = {p.n_cosine} and 'model_examples' / C = "
                             f"{p.model_examples // counts[-1]} are examples per class; allowed: at most {per_class} "
                             f"(90% of n_train / {counts[-1]}), or raise n_train")


def load_data(p):
    """{C: Dataset} for each C in ``class_counts``: the first C classes, the same examples per class at every C."""
    top = p.class_counts[-1]
    out = {}
    for C in p.class_counts:
        out[C] = load(p.dataset, n_train=round(p.n_train * C / top), n_test=round(p.n_test * C / top),
                      classes=list(range(C)), seed=p.seed, normalize="unit")
    return out


def tensors(data, p, split="train"):
    """(X, y) of one split in float64 on ``p.device``."""
    X, y = (data.X_train, data.y_train) if split == "train" else (data.X_test, data.y_test)
    return X.to(p.device, torch.float64), y.to(p.device)


def make_model(data, p, scale=1.0, seed=None):
    """The notebook's MLP or CNN in float64 at ``scale`` times the ``init`` draw of ``seed`` (default p.seed)."""
    seed = p.seed if seed is None else seed
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


def n_parameters(data, p):
    """D, the number of parameters of the notebook's network for ``data``."""
    return sum(t.numel() for t in make_model(data, p).parameters())


def budget(p):
    """The memory budget in bytes for one chunk of examples (Gauss-Newton products, per-logit gradients)."""
    return int(p.memory_budget_mb * 2**20)


def schedule(n, p):
    """(total SGD steps, steps between stored checkpoints) for ``n`` training examples: at most ~100 stored."""
    total = p.epochs * (n // p.batch_size)
    return total, max(1, total // 100)


def train_all(datasets, p):
    """Train one network per class count (plain SGD); the largest C keeps its checkpoints. {C: (model, trajectory)}."""
    runs = {}
    for C, data in datasets.items():
        X, y = tensors(data, p)
        Xte, yte = tensors(data, p, "test")
        net = make_model(data, p)
        total, every = schedule(len(X), p)
        keep = every if C == p.class_counts[-1] else None
        traj = train(net, X, y, optimizer="sgd", lr=p.lr, batch_size=p.batch_size, steps=total, seed=p.seed,
                     X_test=Xte, y_test=yte, eval_every=every, checkpoint_every=keep)
        runs[C] = (net, traj)
    return runs


# ----------------------------------------------------------------------------------------------- 1. C outliers


def top_spectrum(net, X, y, k, p, seed=None):
    """Top-k eigenvalues (LA, float64) of H and of G at the network's parameters, one Lanczos run each."""
    seed = p.seed if seed is None else seed
    out = {}
    for name, op in (("H", HessianOperator(net, X, y)), ("G", GaussNewtonOperator(net, X, y, budget(p)))):
        res = lanczos(op, k, n_iter=p.lanczos_steps, seed=seed)
        out[name] = res
    return out


def outliers_vs_classes(runs, datasets, p):
    """Property 1: (eigenvalues, counts). eigenvalues: one row per (C, matrix, rank); counts: one row per (C, matrix)
    with the outlier count at the largest gap among the top 2C + 1, that gap and lambda_C / lambda_(C+1)."""
    rows, counts = [], []
    for C, (net, traj) in runs.items():
        X, y = tensors(datasets[C], p)
        spectra = top_spectrum(net, X, y, 2 * C + 1, p)
        for name, res in spectra.items():
            lam = res.eigenvalues.cpu()
            rows += [{"C": C, "matrix": name, "rank": i + 1, "eigenvalue": v} for i, v in enumerate(lam.tolist())]
            count, gap = outlier_count(lam, max_count=2 * C)
            counts.append({"C": C, "matrix": name, "outliers": count, "gap": gap,
                           "gap_at_C": (lam[C - 1] / lam[C]).item(), "lambda_1": lam[0].item(),
                           "train_acc": traj.final["train_acc"], "test_acc": traj.final["test_acc"]})
    return pd.DataFrame(rows), pd.DataFrame(counts)


# ----------------------------------------------------------------------------------------------- 2-3. along training


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
    """About ``n`` of the stored checkpoint steps, geometrically spaced from the first after 0 to the last, plus 0."""
    stored = [s for s, _ in traj.checkpoints]
    targets = np.geomspace(max(stored[1], 1), stored[-1], n - 1)
    picked = {0, stored[-1]} | {min(stored, key=lambda s: abs(math.log(max(s, 1) / t))) for t in targets}
    return sorted(picked)


def training_dynamics(net, traj, data, p):
    """Properties 2-3 and the model along training: one row per selected checkpoint.

    lambda_max and the top-C eigenvectors of H (Lanczos), the fraction of ||g||^2 in their span
    (``confined``), chance C/D; the model's side from the per-logit gradients of ``n_cosine``
    examples per class: the top eigenvalue of its signal m^T Mbar m (Mbar over the whole
    training set), the fraction of ||g||^2 in span{m_c}, and how well span{m_c} and the top-C
    eigenspace align (mean squared cosine of their principal angles); and the two factors of the signal,
    sum_c ||m_c||^2 (``means_sq``) and Tr Mbar = mean(1 - sum p^2) (``trace_Mbar``).
    """
    X, y = tensors(data, p)
    C = data.n_classes
    probe = per_class_subset(y, p.n_cosine)
    stored = dict(traj.checkpoints)
    history = traj.history.set_index("step")
    rows = []
    for step in checkpoint_steps(traj, p.n_checkpoints):
        load_checkpoint(net, stored[step])
        res = lanczos(HessianOperator(net, X, y), C, n_iter=p.lanczos_steps, seed=p.seed)
        gop = GaussNewtonOperator(net, X, y, budget(p))
        g = gop.gradient()
        means, _ = logit_gradient_clusters(per_logit_grads(net, X[probe], budget(p)))
        rows.append({"step": step, "epoch": step / (len(X) // p.batch_size),
                     "train_loss": history.loc[step, "train_loss"], "train_acc": history.loc[step, "train_acc"],
                     "lambda_max": res.eigenvalues[0].item(), "lambda_C": res.eigenvalues[C - 1].item(),
                     "confined": overlap(g, res.eigenvectors), "chance": C / gop.dim, "grad_norm": g.norm().item(),
                     "model_signal": signal_eigenvalues(means, gop.probs)[0].item(),
                     "means_sq": means.square().sum().item(), "trace_Mbar": (1 - gop.probs.square().sum(1)).mean().item(),
                     "in_means_span": overlap(g, means.T), "alignment": subspace_alignment(res.eigenvectors, means.T)})
    load_checkpoint(net, traj.checkpoints[-1][1])
    return pd.DataFrame(rows)


def rise_then_fall(series):
    """(holds, peak position, peak / start, end / peak) of a sequence: an interior peak >= RISE x the start,
    ending <= FALL x the peak."""
    v = np.asarray(series, dtype=float)
    i = int(np.argmax(v))
    up, down = v[i] / v[0], v[-1] / v[i]
    return bool(0 < i < len(v) - 1 and up >= RISE and down <= FALL), i, up, down


# ----------------------------------------------------------------------------------------------- 4. hyperplanes


def hyperplane_training(data, p):
    """Property 4: per offset scale, the curvature of H restricted to the hyperplane at its offset P (d = hyper_dim,
    orthonormal directions M) and the accuracy after training x alone (Adam, full batch, ``hyper_steps``); with the
    model's side at P: the spread of the logits, the mean top probability and Tr Mbar = mean(1 - sum p^2)."""
    X, y = tensors(data, p)
    Xte, yte = tensors(data, p, "test")
    rows, D = [], sum(t.numel() for t in make_model(data, p).parameters())
    if p.hyper_dim > D:
        raise ParameterError(f"parameter 'hyper_dim' = {p.hyper_dim} exceeds the model's D = {D} parameters")
    M = random_subspace(D, p.hyper_dim, kind="orthonormal", seed=p.seed + 20_000, dtype=torch.float64).to(p.device)
    for scale in p.hyper_scales:  # one hyperplane direction M, offsets P along one init direction
        base = make_model(data, p, scale)
        P = flat_params(base)
        eig = torch.linalg.eigvalsh(subspace_hessian(HessianOperator(base, X, y), M))
        with torch.no_grad():
            probs = torch.softmax(base(X), dim=1)
            logits = base(X)
        traj = train(HyperplaneModel(base, P, M), X, y, optimizer="adam", lr=p.hyper_lr, steps=p.hyper_steps,
                     seed=p.seed, X_test=Xte, y_test=yte)
        rows.append({"scale": scale, "radius": P.norm().item(), "gamma": trace_ratio(eig) / math.sqrt(p.hyper_dim),
                     "frac_pos": positive_fraction(eig), "logit_std": logits.std().item(),
                     "max_prob": probs.max(dim=1).values.mean().item(),
                     "trace_Mbar": (1 - probs.square().sum(dim=1)).mean().item(), "outcome": traj.outcome,
                     "train_acc": traj.final["train_acc"], "test_acc": traj.final["test_acc"]})
    return pd.DataFrame(rows)


def zone(hyper):
    """The Goldilocks zone among the offsets: scales where gamma rises above the larger end of the sweep by more than
    half its peak height (full width at half maximum, as notebook 03); empty when gamma peaks at an end."""
    s = hyper.sort_values("scale").reset_index(drop=True)
    g = s["gamma"]
    i = int(g.idxmax())
    if i in (0, len(s) - 1):
        return []
    level = (g.max() + max(g.iloc[0], g.iloc[-1])) / 2
    return s.loc[g > level, "scale"].tolist()


# ----------------------------------------------------------------------------------------------- 5. the model


def cosine_matrix(J, labels):
    """Cosines between all per-logit gradients of a probe set, and the (logit, input class, example) of each row.

    J: (n, C, D) per-logit gradients; labels: (n,) input classes. Rows are ordered by logit
    index c first, then input class, then example.
    """
    n, C, _ = J.shape
    V = J.permute(1, 0, 2).reshape(n * C, -1)
    V = V / V.norm(dim=1, keepdim=True)
    index = pd.DataFrame({"logit": np.repeat(np.arange(C), n), "input_class": np.tile(labels.cpu().numpy(), C),
                          "example": np.tile(np.arange(n), C)})
    return (V @ V.T).cpu().numpy(), index


PAIR_GROUPS = ("same logit", "same logit, same class", "same logit, other class",
               "other logit, same class", "other logit, other class")


def pair_means(cos, index):
    """Mean cosine of each pair group of :data:`PAIR_GROUPS` (pairs of distinct rows only; NaN for an empty group)."""
    logit, cls, ex = (index[k].to_numpy() for k in ("logit", "input_class", "example"))
    same_logit = logit[:, None] == logit[None]
    same_class = cls[:, None] == cls[None]
    distinct = ~np.eye(len(cos), dtype=bool)
    masks = {"same logit": same_logit, "same logit, same class": same_logit & same_class,
             "same logit, other class": same_logit & ~same_class, "other logit, same class": ~same_logit & same_class,
             "other logit, other class": ~same_logit & ~same_class}
    return {k: float(cos[m & distinct].mean()) if (m & distinct).any() else float("nan") for k, m in masks.items()}


def clustering(net, traj, data, p):
    """Model assumption: mean cosines of the logit-gradient pair groups at initialisation and after training.

    Returns (table with one row per stage, {stage: (cosine matrix, its index)})."""
    X, y = tensors(data, p)
    probe = per_class_subset(y, p.n_cosine)
    rows, mats = [], {}
    for stage, theta in (("init", traj.checkpoints[0][1]), ("trained", traj.checkpoints[-1][1])):
        load_checkpoint(net, theta)
        cos, index = cosine_matrix(per_logit_grads(net, X[probe], budget(p)), y[probe])
        rows.append({"stage": stage, **pair_means(cos, index)})
        mats[stage] = (cos, index)
    load_checkpoint(net, traj.checkpoints[-1][1])
    return pd.DataFrame(rows), mats


def model_spectrum(net, data, p):
    """The model's spectrum against the measured one, on ``model_examples`` training examples (balanced).

    Measured: H, G and H2 = H - G's extreme eigenvalue (Lanczos), SLQ densities of H and G, tr(H) by
    Hutch++ and by SLQ. Model: logit gradients replaced by their C cluster means plus isotropic
    Gaussian noise of the measured size (one seeded draw), the network's own probabilities;
    its top eigenvalues, SLQ density, and the signal's eigenvalues alone.
    Returns (top: one row per (matrix, rank), densities: SLQ results by name, summary dict).
    """
    X, y = tensors(data, p)
    C = data.n_classes
    idx = per_class_subset(y, p.model_examples // C)
    Xs, ys = X[idx], y[idx]
    k = 2 * C + 1
    H, G = HessianOperator(net, Xs, ys), GaussNewtonOperator(net, Xs, ys, budget(p))
    means, noise = logit_gradient_clusters(per_logit_grads(net, Xs, budget(p)))
    model = ClusteredLogitModel(means, noise, G.probs, seed=p.seed)
    ops = {"H": H, "G": G, "model": model}
    top, densities = [], {}
    for name, op in ops.items():
        res = lanczos(op, k, n_iter=p.lanczos_steps, seed=p.seed)
        top += [{"matrix": name, "rank": i + 1, "eigenvalue": v} for i, v in enumerate(res.eigenvalues.tolist())]
        densities[name] = slq(op, n_iter=p.lanczos_steps, n_probes=p.slq_probes, seed=p.seed)
    signal = signal_eigenvalues(means, G.probs)
    top += [{"matrix": "signal", "rank": i + 1, "eigenvalue": v} for i, v in enumerate(signal.tolist())]
    h2 = _second_term_extreme(H, G, p)
    trace = hutchpp(H, n_matvecs=p.lanczos_steps, seed=p.seed)
    summary = {"n_examples": len(idx), "dim": H.dim, "noise_to_signal": (noise.sum() / means.square().sum()).item(),
               "H2_extreme": h2, "G_max": densities["G"].nodes.max().item(),
               "trace_hutchpp": trace.estimate, "trace_hutchpp_se": trace.stderr,
               "trace_slq": H.dim * densities["H"].moment(1), "trace_slq_se": H.dim * densities["H"].moment_stderr(1)}
    return pd.DataFrame(top), densities, summary


class _Difference:
    """H - G as an operator: H2 without a second pass (its products are those of H and of G)."""

    def __init__(self, H, G):
        self.H, self.G, self.dim, self.params = H, G, H.dim, H.params

    def matvec(self, v):
        return self.H.matvec(v) - self.G.matvec(v)


def _second_term_extreme(H, G, p):
    """The largest |eigenvalue| of H2 = H - G (Lanczos, largest magnitude)."""
    res = lanczos(_Difference(H, G), 1, n_iter=min(p.lanczos_steps, 40), seed=p.seed, which="LM")
    return abs(res.eigenvalues[0].item())


def model_counts(top):
    """Outlier count and top eigenvalue of each matrix in ``model_spectrum``'s top table."""
    rows = []
    for name, t in top.groupby("matrix", sort=False):
        lam = t.sort_values("rank").eigenvalue.to_numpy()
        positive = lam[lam > 1e-12 * max(lam.max(), 1e-300)]
        count, gap = outlier_count(positive) if len(positive) >= 2 else (len(positive), float("nan"))
        rows.append({"matrix": name, "lambda_1": lam[0], "outliers": count, "gap": gap})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------- claims


def claims(p, counts, dynamics, hyper, zone_scales, full_test_acc, pairs, spectrum_counts, summary):
    """The claims table rows; thresholds are the module constants, fixed from the paper's wording before any run."""
    rows = []
    h = counts[counts.matrix == "H"].set_index("C")
    g = counts[counts.matrix == "G"].set_index("C")
    ok = all(abs(h.loc[C, "outliers"] - C) <= OUTLIER_TOLERANCE for C in h.index)
    rows.append({"claim": "P1 the Hessian has C outlier eigenvalues, C the number of classes",
                 "measured": "; ".join(f"C={C}: {h.loc[C, 'outliers']} (G: {g.loc[C, 'outliers']}), "
                                       f"gap x{h.loc[C, 'gap']:.2f}" for C in h.index),
                 "threshold": f"|count - C| <= {OUTLIER_TOLERANCE} for every C (largest gap in the top 2C + 1)",
                 "holds": ok})
    later = dynamics[dynamics.epoch >= 1]
    med = later.confined.median()
    rows.append({"claim": "P2 the gradient lies largely in the top-C eigenspace",
                 "measured": f"median {med:.3f} of ||g||^2 over {len(later)} checkpoints after epoch 1 "
                             f"(range {later.confined.min():.3f}-{later.confined.max():.3f}; chance C/D "
                             f"{dynamics.chance.iloc[0]:.4f})",
                 "threshold": f"median >= {CONFINED}", "holds": bool(med >= CONFINED)})
    holds, i, up, down = rise_then_fall(dynamics.lambda_max)
    rows.append({"claim": "P3 lambda_max rises, then falls as training finds flatter regions",
                 "measured": f"lambda_max {dynamics.lambda_max.iloc[0]:.3f} -> peak {dynamics.lambda_max.max():.3f} "
                             f"at epoch {dynamics.epoch.iloc[i]:.1f} -> {dynamics.lambda_max.iloc[-1]:.3f} "
                             f"(x{up:.2f} up, x{down:.2f} of peak at the end)",
                 "threshold": f"interior peak >= {RISE} x start, end <= {FALL} x peak", "holds": holds})
    target = SUCCESS * full_test_acc
    success = hyper.set_index("scale").test_acc >= target
    inside = [s for s in hyper.scale if s in zone_scales]
    outside = [s for s in hyper.scale if s not in zone_scales]
    ok = bool(inside) and all(success[s] for s in inside) and any(not success[s] for s in outside)
    rows.append({"claim": f"P4 training in random d={p.hyper_dim} hyperplanes succeeds when they cross the zone",
                 "measured": "test acc by offset scale: " + ", ".join(
                     f"{r.scale:g}: {r.test_acc:.2f}" for r in hyper.itertuples())
                 + f"; zone (FWHM of Tr/||H_d||) {zone_scales}; full space {full_test_acc:.2f}",
                 "threshold": f"every zone offset >= {SUCCESS} x full-space accuracy ({target:.2f}), "
                              "some offset outside does not", "holds": ok})
    by_stage = pairs.set_index("stage")
    margins = by_stage["same logit"] - by_stage[["other logit, same class", "other logit, other class"]].max(axis=1)
    rows.append({"claim": "M1 logit gradients cluster by logit index c, at init and after training",
                 "measured": "; ".join(
                     f"{s}: same logit {by_stage.loc[s, 'same logit']:.3f} vs other logit same class "
                     f"{by_stage.loc[s, 'other logit, same class']:.3f} / other class "
                     f"{by_stage.loc[s, 'other logit, other class']:.3f}" for s in by_stage.index),
                 "threshold": f"same-logit mean cosine exceeds both other-logit groups by >= {CLUSTER_MARGIN} at "
                              "both stages", "holds": bool((margins >= CLUSTER_MARGIN).all())})
    rows.append({"claim": "M2 weak logit curvature: H2 is small next to G",
                 "measured": f"|lambda|max(H2) {summary['H2_extreme']:.3f} vs lambda_max(G) {summary['G_max']:.3f}",
                 "threshold": f"ratio <= {WEAK}", "holds": summary["H2_extreme"] <= WEAK * summary["G_max"]})
    sc = spectrum_counts.set_index("matrix")
    ratio = sc.loc["model", "lambda_1"] / sc.loc["H", "lambda_1"]
    count_ok = abs(sc.loc["model", "outliers"] - sc.loc["H", "outliers"]) <= OUTLIER_TOLERANCE
    rows.append({"claim": "M3 the model (cluster means + isotropic noise) predicts the outliers of H",
                 "measured": f"model: {sc.loc['model', 'outliers']} outliers, lambda_1 {sc.loc['model', 'lambda_1']:.3f}; "
                             f"measured H: {sc.loc['H', 'outliers']}, {sc.loc['H', 'lambda_1']:.3f} (ratio {ratio:.2f})",
                 "threshold": f"counts within {OUTLIER_TOLERANCE}, lambda_1 within a factor {FACTOR:g}",
                 "holds": bool(count_ok and 1 / FACTOR <= ratio <= FACTOR)})
    med = later.in_means_span.median()
    rows.append({"claim": "M4 the model puts the gradient in the span of the C cluster means",
                 "measured": f"median {med:.3f} of ||g||^2 in span(m_c) after epoch 1 (top-C eigenspace: "
                             f"{later.confined.median():.3f})",
                 "threshold": f"median >= {CONFINED}", "holds": bool(med >= CONFINED)})
    r = float(np.corrcoef(dynamics.model_signal, dynamics.lambda_max)[0, 1])
    rows.append({"claim": "M5 the model's signal eigenvalue follows lambda_max along training",
                 "measured": f"Pearson r {r:.3f} over {len(dynamics)} checkpoints; signal "
                             f"{dynamics.model_signal.iloc[0]:.3f} -> {dynamics.model_signal.max():.3f} -> "
                             f"{dynamics.model_signal.iloc[-1]:.3f}",
                 "threshold": f"r >= {TRACKS}", "holds": bool(r >= TRACKS)})
    return rows


# ----------------------------------------------------------------------------------------------- figures


def plot_outliers(eigs, counts):
    """P1: the top 2C + 1 eigenvalues of H (filled) and G (open) by rank for each C, C and the counted outliers marked."""
    import matplotlib.pyplot as plt

    Cs = sorted(eigs.C.unique())
    fig, axes = plt.subplots(1, len(Cs), figsize=(4.2 * len(Cs), 3.6), squeeze=False)
    for ax, C in zip(axes[0], Cs):
        for name, style in (("H", dict(marker="o", color="C0")), ("G", dict(marker="o", mfc="none", color="C1"))):
            t = eigs[(eigs.C == C) & (eigs.matrix == name)]
            ax.plot(t["rank"], t.eigenvalue, ls="none", label=name, **style)
        n = counts[(counts.C == C) & (counts.matrix == "H")].outliers.item()
        ax.axvline(C + 0.5, color="k", ls="--", lw=1, label="C")
        ax.axvline(n + 0.5, color="C3", ls=":", lw=1.5, label="largest gap (H)")
        ax.set(yscale="log", xlabel="rank", ylabel="eigenvalue", title=f"C = {C} classes: {n} outliers")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_dynamics(dynamics, history):
    """P2-P3: training loss, lambda_max and lambda_C of H, and the fraction of ||g||^2 in the top-C eigenspace."""
    import matplotlib.pyplot as plt

    per_epoch = dynamics.step.iloc[-1] / dynamics.epoch.iloc[-1]
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    axes[0].plot(history.step / per_epoch, history.train_loss, color="C0", label="train")
    if "test_loss" in history:
        axes[0].plot(history.step / per_epoch, history.test_loss, color="C1", label="test")
    axes[0].set(ylabel="cross-entropy", yscale="log")
    axes[0].legend(fontsize=8)
    axes[1].plot(dynamics.epoch, dynamics.lambda_max, "o-", color="C3", label=r"$\lambda_{max}(H)$")
    axes[1].plot(dynamics.epoch, dynamics.lambda_C, "s-", color="C2", label=r"$\lambda_C(H)$")
    axes[1].set(ylabel="eigenvalue", yscale="log")
    axes[1].legend(fontsize=8)
    axes[2].plot(dynamics.epoch, dynamics.confined, "o-", color="C4", label="top-C eigenspace of H")
    axes[2].axhline(dynamics.chance.iloc[0], color="k", ls=":", lw=1, label="chance C/D")
    axes[2].axhline(CONFINED, color="k", ls="--", lw=0.8)
    axes[2].set(ylabel=r"$\|P g\|^2 / \|g\|^2$", ylim=(-0.02, 1.02))
    axes[2].legend(fontsize=8)
    for ax in axes:
        ax.set(xscale="symlog", xlabel="epoch")
        ax.set_xlim(left=0)
    fig.tight_layout()
    return fig


def plot_hyperplane(hyper, zone_scales, full_test_acc):
    """P4: test accuracy after hyperplane training and the curvature Tr/||H_d|| at the offset, against its radius;
    right: the model's ingredients at the offset (logit spread, top probability, Tr Mbar)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    ax = axes[0]
    ax.plot(hyper.radius, hyper.test_acc, "o-", color="C0", label="test accuracy, hyperplane")
    ax.axhline(SUCCESS * full_test_acc, color="C0", ls="--", lw=1, label=f"{SUCCESS:g} x full-space accuracy")
    zone_rows = hyper[hyper.scale.isin(zone_scales)]
    for r in zone_rows.radius:
        ax.axvspan(r / 1.3, r * 1.3, color="C2", alpha=0.15)
    ax.set(xscale="log", xlabel=r"radius of the offset $\|P\|$", ylabel="test accuracy", ylim=(0, 1))
    twin = ax.twinx()
    twin.plot(hyper.radius, hyper.gamma, "s--", color="C2", label=r"Tr$(H_d)/\|H_d\|_F\sqrt{d}$ at $P$")
    twin.set_ylabel(r"Tr$(H_d)/\|H_d\|_F\sqrt{d}$", color="C2")
    twin.grid(False)
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="lower left")
    ax.set_title("shaded: the zone (FWHM of the curvature)")
    ax = axes[1]
    ax.plot(hyper.radius, hyper.max_prob, "o-", label="mean top probability")
    ax.plot(hyper.radius, hyper.trace_Mbar, "s-", label=r"Tr $\bar M$ = mean$(1 - \sum p^2)$")
    ax.set(xscale="log", xlabel=r"radius of the offset $\|P\|$", ylim=(0, 1.02))
    twin = ax.twinx()
    twin.plot(hyper.radius, hyper.logit_std, "^--", color="C3", label="std of the logits")
    twin.set(yscale="log")
    twin.set_ylabel("std of the logits", color="C3")
    twin.grid(False)
    lines, more = ax.get_legend_handles_labels(), twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="center left")
    ax.set_title("the model's ingredients at the offset")
    fig.tight_layout()
    return fig


def plot_cosines(mats):
    """M1: the logit-gradient cosine matrix, ordered by logit index c (left) and by input class (right), per stage."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(mats), 2, figsize=(7.5, 3.6 * len(mats)), squeeze=False)
    for row, (stage, (cos, index)) in zip(axes, mats.items()):
        by_class = np.lexsort((index.example, index.logit, index.input_class))
        for ax, order, title in ((row[0], np.arange(len(cos)), "ordered by logit c"),
                                 (row[1], by_class, "ordered by input class")):
            image = ax.imshow(cos[np.ix_(order, order)], cmap="RdBu_r", vmin=-1, vmax=1)
            ax.set(title=title, xticks=[], yticks=[])
        row[0].set_ylabel(stage)
        fig.colorbar(image, ax=row.tolist(), shrink=0.8, label="cosine")
    return fig


def density_grid(densities, sigma=None, n=600):
    """(grid, sigma): a common grid over every density's nodes; sigma defaults to 1/150 of their spread."""
    lo = min(d.nodes.min().item() for d in densities.values())
    hi = max(d.nodes.max().item() for d in densities.values())
    sigma = (hi - lo) / 150 if sigma is None else sigma
    return np.linspace(lo - 4 * sigma, hi + 4 * sigma, n), sigma


def plot_spectrum(densities, top, sigma=None):
    """M3: SLQ densities of H, G and the model (log scale), and their top eigenvalues by rank with the signal's."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    grid, sigma = density_grid(densities, sigma)
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    styles = {"H": dict(color="C0", lw=2), "G": dict(color="C1", ls="--"), "model": dict(color="C3", ls="-.")}
    for name, d in densities.items():
        axes[0].plot(grid, d.density(grid, sigma).numpy(), label=name, **styles[name])
    peak = max(d.density(grid, sigma).max().item() for d in densities.values())
    axes[0].set(yscale="log", ylim=(1e-5, 3 * peak), xlabel="eigenvalue", ylabel="density (SLQ)",
                title=f"spectral density, Gaussian broadening {sigma:.3g}")
    axes[0].legend(fontsize=8)
    marks = {"H": dict(marker="o", color="C0"), "G": dict(marker="o", mfc="none", color="C1"),
             "model": dict(marker="x", color="C3"), "signal": dict(marker="_", ms=12, color="k")}
    for name, t in top.groupby("matrix", sort=False):
        t = t[t.eigenvalue > 0]
        axes[1].plot(t["rank"], t.eigenvalue, ls="none", label=name, **marks[name])
    axes[1].set(yscale="log", xlabel="rank", ylabel="eigenvalue", title="top eigenvalues")
    axes[1].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_model_dynamics(dynamics):
    """M4-M5: the model's signal eigenvalue against lambda_max, and ||g||^2 in span{m_c} against the top-C eigenspace."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    axes[0].plot(dynamics.epoch, dynamics.lambda_max, "o-", color="C3", label=r"measured $\lambda_{max}(H)$")
    axes[0].plot(dynamics.epoch, dynamics.model_signal, "x--", color="k", label=r"model: top of $m^T \bar M m$")
    axes[0].set(yscale="log", ylabel="eigenvalue")
    axes[0].legend(fontsize=8)
    axes[1].plot(dynamics.epoch, dynamics.confined, "o-", color="C4", label="g in the top-C eigenspace of H")
    axes[1].plot(dynamics.epoch, dynamics.in_means_span, "x--", color="k", label=r"g in span$\{m_c\}$")
    axes[1].plot(dynamics.epoch, dynamics.alignment, "s:", color="C2", label=r"alignment of the two spaces")
    axes[1].set(ylim=(-0.02, 1.02), ylabel="fraction")
    axes[1].legend(fontsize=8)
    for ax in axes:
        ax.set(xscale="symlog", xlabel="epoch")
        ax.set_xlim(left=0)
    fig.tight_layout()
    return fig


def explorer(eigs, counts, densities):
    """Widgets over the computed results (no recomputation): the top of the spectrum for each C, and the SLQ
    densities with an adjustable Gaussian broadening."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    _, default = density_grid(densities)

    def show(C, sigma):
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
        for name, marker in (("H", "o"), ("G", "s")):
            t = eigs[(eigs.C == C) & (eigs.matrix == name)]
            axes[0].plot(t["rank"], t.eigenvalue, marker=marker, ls="none", mfc="none" if name == "G" else None,
                         label=name)
        n = counts[(counts.C == C) & (counts.matrix == "H")].outliers.item()
        axes[0].axvline(n + 0.5, color="C3", ls=":", label=f"largest gap: {n}")
        axes[0].set(yscale="log", xlabel="rank", ylabel="eigenvalue", title=f"C = {C}")
        axes[0].legend(fontsize=8)
        grid, _ = density_grid(densities, sigma)
        for name, d in densities.items():
            axes[1].plot(grid, d.density(grid, sigma).numpy(), label=name)
        axes[1].set(yscale="log", ylim=(1e-5, None), xlabel="eigenvalue", title=f"SLQ density, broadening {sigma:.3g}")
        axes[1].legend(fontsize=8)
        plt.show()

    return widgets.interactive(
        show,
        C=widgets.Dropdown(options=sorted(int(c) for c in eigs.C.unique()), value=int(eigs.C.max()),
                           description="classes C"),
        sigma=widgets.FloatLogSlider(value=default, base=10, min=np.log10(default) - 1.5,
                                     max=np.log10(default) + 1, step=0.1, description="broadening"),
    )
