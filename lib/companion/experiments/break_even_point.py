"""The break-even point on SGD trajectories (Jastrzebski et al., arXiv:2002.09572), measured.

SGD runs (no momentum) of a small CNN are trained for a grid of learning rates at a fixed
batch size, a grid of batch sizes at a fixed learning rate, and, with batch normalisation,
a low and a high learning rate. Every ``measure_every`` steps a checkpoint (the flat
parameter vector ``companion.nn.train`` records) is measured:

- lambda_max(H), the top Hessian eigenvalue of the mean training cross-entropy on a fixed
  subset of ``hessian_subset`` training examples (:class:`companion.landscape.HessianOperator`
  and :func:`companion.landscape.lanczos`, ``hessian_iters`` steps);
- the gradient covariance K of ``cov_batches`` = L fixed, disjoint mini-batches of
  ``cov_batch_size`` training examples (:mod:`companion.landscape.covariance`: centred, 1/L,
  spectrum through the L x L Gram matrix): lambda_max(K), Tr(K) and the inverse condition
  number lambda_min_nonzero(K) / lambda_max(K).

The subsets are drawn once from ``seed`` and shared by every run, and K uses the same
mini-batch size for every run, so the batch-size grid compares trajectories, not the
1/B scaling of mini-batch noise. Batch-norm networks: K is measured as SGD sees them (batch
statistics), and so is H: the Hessian subset is treated as one training batch whose statistics
are differentiated through (``HessianOperator(..., train_mode=True)``; without batch norm this is the ordinary
Hessian). A checkpoint holds no running statistics, so for the test predictions they are set
to the statistics of the Hessian subset.

Matched progress: besides the maximum over the trajectory, each run is read at its first
checkpoint whose training accuracy reaches ``target_acc``, so a slow run is not compared at
an earlier stage of learning than a fast one.
"""

import math

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.nn.utils import vector_to_parameters

from ..data import load
from ..landscape import HessianOperator, lanczos
from ..landscape.covariance import covariance_spectrum, minibatch_gradients
from ..nn import cnn, train
from ..params import Param, ParameterError

IMAGE_DATASETS = ("digits", "fashion-mnist", "mnist", "cifar10")  # the CNN needs (C, H, W) inputs
DTYPES = {"float64": torch.float64, "float32": torch.float32}
MEASURES = ("lam_H", "lam_K", "trace_K", "inv_cond_K")
LABELS = {"lam_H": r"$\lambda_{max}(H)$", "lam_K": r"$\lambda_{max}(K)$", "trace_K": r"Tr$(K)$",
          "inv_cond_K": r"$\lambda_{*}(K) / \lambda_{max}(K)$", "train_acc": "training accuracy", "step": "step"}

PARAMETERS = (
    Param("dataset", str, choices=IMAGE_DATASETS),
    Param("n_train", int, 100, 60000),
    Param("n_test", int, 50, 10000),
    Param("channels", int, 1, 1024, many=True),
    Param("dtype", str, choices=tuple(DTYPES)),
    Param("lrs", float, 1e-5, 10.0, many=True),
    Param("batch_size", int, 1, 60000),
    Param("batch_sizes", int, 1, 60000, many=True),
    Param("lr_batch", float, 1e-5, 10.0),
    Param("bn_lrs", float, 1e-5, 10.0, many=True),
    Param("steps", int, 1, 1_000_000),
    Param("measure_every", int, 1, 1_000_000),
    Param("n_seeds", int, 1, 100),
    Param("hessian_subset", int, 10, 60000),
    Param("hessian_iters", int, 2, 500),
    Param("cov_batches", int, 3, 1000),
    Param("cov_batch_size", int, 1, 60000),
    Param("target_acc", float, 0.0, 1.0),
)


def _increasing(name, values):
    if len(values) < 2 or any(b <= a for a, b in zip(values, values[1:])):
        raise ParameterError(f"parameter {name!r} = {values!r} must hold at least 2 values in strictly "
                             "increasing order (the claims compare neighbours along the grid)")


def check(p):
    """Constraints between parameters, checked before any compute."""
    for name in ("lrs", "batch_sizes", "bn_lrs"):
        _increasing(name, getattr(p, name))
    if p.measure_every > p.steps:
        raise ParameterError(f"measure_every = {p.measure_every} exceeds steps = {p.steps}; "
                             "allowed: 1 <= measure_every <= steps")
    need = {"hessian_subset": p.hessian_subset, "cov_batches * cov_batch_size": p.cov_batches * p.cov_batch_size,
            "batch_size": p.batch_size, "max(batch_sizes)": max(p.batch_sizes)}
    for name, n in need.items():
        if n > p.n_train:
            raise ParameterError(f"{name} = {n} needs that many training examples but n_train = {p.n_train}; "
                                 f"allowed: {name} <= n_train")


def load_data(p):
    """The notebook's image dataset, pixel values scaled to [0, 1]."""
    return load(p.dataset, n_train=p.n_train, n_test=p.n_test, seed=p.seed, normalize="unit")


def make_model(data, p, batch_norm, seed):
    """SimpleCNN (3x3 conv, ReLU, 2x2 max-pool per entry of ``channels``, linear head), -BN with batch norm."""
    return cnn(data.input_shape, p.channels, data.n_classes, batch_norm=batch_norm, seed=seed,
               dtype=DTYPES[p.dtype]).to(p.device)


def tensors(data, p, split="train"):
    """(X, y) of one split in the notebook's dtype on ``p.device``."""
    X, y = (data.X_train, data.y_train) if split == "train" else (data.X_test, data.y_test)
    return X.to(p.device, DTYPES[p.dtype]), y.to(p.device)


def probes(n_train, p):
    """The fixed measuring sets, drawn once from ``p.seed``: the Hessian subset and the L disjoint K batches."""
    gen = torch.Generator().manual_seed(int(p.seed) + 7)
    hess = torch.randperm(n_train, generator=gen)[:p.hessian_subset]
    perm = torch.randperm(n_train, generator=gen)[:p.cov_batches * p.cov_batch_size]
    return hess, list(perm.view(p.cov_batches, p.cov_batch_size))


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

    ``model`` is moved to ``theta`` (its parameters are overwritten). Returns a dict; with
    ``X_test`` also the test-set class probabilities (for the trajectory embedding).
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


def run_trajectory(data, p, lr, batch_size, batch_norm, seed, measuring):
    """Train one SGD run and measure every checkpoint; one row per checkpoint, plus test probabilities."""
    (X, y), (Xte, _) = tensors(data, p), tensors(data, p, "test")
    hess_idx, cov_batches = measuring
    model = make_model(data, p, batch_norm, seed)
    traj = train(model, X, y, optimizer="sgd", lr=lr, batch_size=batch_size, steps=p.steps, seed=seed,
                 eval_every=p.measure_every, checkpoint_every=p.measure_every)
    hist = traj.history.drop_duplicates("step").set_index("step")
    rows, probs = [], []
    for step, theta in traj.checkpoints:
        if not torch.isfinite(theta).all():
            break
        m = measure(model, theta, X, y, hess_idx, cov_batches, p.hessian_iters, seed=p.seed, X_test=Xte)
        probs.append(m.pop("probs"))
        rows.append({"model": "SimpleCNN-BN" if batch_norm else "SimpleCNN", "lr": lr, "batch_size": batch_size,
                     "seed": seed - p.seed, "step": step, "train_loss": hist.train_loss.get(step, math.nan),
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
    Returns (table, probs) with ``probs[(bn, lr, batch_size, seed)]`` a list of (n_test, k) tensors.
    """
    measuring = probes(len(data.X_train), p)
    done, frames, probs = {}, [], {}
    for group, bn, lr, bs in configurations(p):
        for s in range(p.n_seeds):
            key = (bn, lr, bs, s)
            if key not in done:
                done[key], probs[key] = run_trajectory(data, p, lr, bs, bn, p.seed + s, measuring)
                if progress:
                    progress(key)
            frames.append(done[key].assign(group=group))
    table = pd.concat(frames, ignore_index=True)
    return table[["group", *[c for c in table.columns if c != "group"]]], probs


RUN = ["group", "model", "lr", "batch_size", "seed"]


def per_run(table, target_acc):
    """One row per run: maxima over the trajectory, the curvature peak, and the measures at matched progress.

    ``max_*``: the largest value over the checkpoints after step 0 (every run of a seed starts
    from the same init, so its value there says nothing about the run). ``step_peak_H`` and
    ``acc_peak_H``: where lambda_max(H) peaks (the break-even point, roughly). ``step_at_target``
    and ``*_at_target``: the first checkpoint whose training accuracy is >= ``target_acc``
    (NaN if never reached).
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
        hit = t[t.train_acc >= target_acc]
        row["step_at_target"] = hit.step.iloc[0] if len(hit) else math.nan
        for m in MEASURES:
            row[f"{m}_at_target"] = hit[m].iloc[0] if len(hit) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def summarise(runs, by, columns):
    """Mean and standard deviation over seeds of ``columns``, per group of ``by``."""
    g = runs.groupby(by, sort=True)[columns]
    return g.mean().join(g.std(), rsuffix="_sd").join(g.size().rename("n")).reset_index()


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


def _grid_text(runs, x, column, fmt=".3g"):
    """'x=a: mean [seed values]; ...' for one column along a grid."""
    parts = []
    for value, t in runs.sort_values([x, "seed"]).groupby(x, sort=True):
        seeds = ", ".join(format(v, fmt) for v in t[column])
        parts.append(f"{x}={value:g}: {t[column].mean():{fmt}} [{seeds}]")
    return "; ".join(parts)


def monotone(runs, x, column, direction):
    """Whether the seed means of ``column`` strictly decrease (direction -1) or increase (+1) along ``x``."""
    means = runs.groupby(x, sort=True)[column].mean().to_numpy()
    if np.isnan(means).any() or len(means) < 2:
        return False
    steps = np.diff(means)
    return bool(np.all(steps < 0) if direction < 0 else np.all(steps > 0))


def cap_slope(runs):
    """Log-log slope of the seed-mean peak lambda_max(H) against lr over the lr grid (-1: the peak scales as 1/lr)."""
    mean = runs[runs.group == "lr"].groupby("lr", sort=True).max_lam_H.mean()
    return float(np.polyfit(np.log(mean.index.to_numpy()), np.log(mean.to_numpy()), 1)[0])


TREND = {-1: "seed means strictly decrease along the grid", 1: "seed means strictly increase along the grid"}
SLOPE_BAND = (-1.5, -0.5)


def claims(p, runs):
    """The claims table rows from :func:`per_run`'s table.

    A trend claim holds when the mean over seeds strictly moves the claimed way from each grid
    point to the next (no tolerance: with two seeds a tie counts against the claim). The cap
    claim holds when the peak of lambda_max(H) scales like 1/lr: a log-log slope within
    [-1.5, -0.5]. Measured values list the mean and, in brackets, each seed.
    """
    lr, batch, bn = (runs[runs.group == g] for g in ("lr", "batch", "bn"))
    rows = []

    def trend(claim, table, x, column, direction):
        rows.append({"claim": claim, "measured": _grid_text(table, x, column), "threshold": TREND[direction],
                     "holds": monotone(table, x, column, direction)})

    fixed_b, fixed_lr = f"B={p.batch_size}", f"lr={p.lr_batch:g}"
    trend(f"C1 max lambda_max(H) decreases with lr ({fixed_b})", lr, "lr", "max_lam_H", -1)
    trend(f"C1 max lambda_max(K) decreases with lr ({fixed_b})", lr, "lr", "max_lam_K", -1)
    trend(f"C2 max lambda_max(H) increases with batch size ({fixed_lr})", batch, "batch_size", "max_lam_H", 1)
    trend(f"C2 max lambda_max(K) increases with batch size ({fixed_lr})", batch, "batch_size", "max_lam_K", 1)
    trend(f"C3 max inverse condition number of K increases with lr ({fixed_b})", lr, "lr", "max_inv_cond_K", 1)
    trend(f"C3 max inverse condition number of K decreases with batch size ({fixed_lr})", batch, "batch_size",
          "max_inv_cond_K", -1)
    target = f"first step with train acc >= {p.target_acc:g}"
    for column, direction, what in (("lam_H_at_target", -1, "lambda_max(H)"), ("lam_K_at_target", -1, "lambda_max(K)"),
                                    ("inv_cond_K_at_target", 1, "inverse condition number of K")):
        word = "decreases" if direction < 0 else "increases"
        trend(f"C4 at matched progress ({target}) {what} {word} with lr", lr, "lr", column, direction)
    slope = cap_slope(runs)
    rows.append({"claim": "C5 the curvature is capped by the learning rate: peak lambda_max(H) scales like 2/lr",
                 "measured": f"log-log slope {slope:.2f}; lr * peak / 2: " + _grid_text(
                     lr.assign(ratio=lr.max_lr_lam_H / 2), "lr", "ratio", ".2f"),
                 "threshold": f"slope in [{SLOPE_BAND[0]}, {SLOPE_BAND[1]}] (1/lr scaling: -1)",
                 "holds": SLOPE_BAND[0] <= slope <= SLOPE_BAND[1]})
    trend(f"C6 with batch norm, max lambda_max(H) is larger at the lower lr ({fixed_b})", bn, "lr", "max_lam_H", -1)
    trend(f"C6 with batch norm, max inverse condition number of K is smaller at the lower lr ({fixed_b})", bn, "lr",
          "max_inv_cond_K", 1)
    return rows


def _lr_colors(values):
    import matplotlib.pyplot as plt

    values = sorted(values)
    return {v: plt.cm.plasma(0.85 * i / max(1, len(values) - 1)) for i, v in enumerate(values)}


def plot_embedding(emb):
    """Fig. 1 of the paper: checkpoints embedded by their test predictions, coloured by lambda_max(K).

    One line per learning rate (one seed), from the init (star) to the last checkpoint (square);
    the colour of each point is the spectral norm of K there, on a log scale.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    fig, ax = plt.subplots(figsize=(7, 5))
    norm = LogNorm(emb.lam_K.min(), emb.lam_K.max())
    markers = dict(zip(sorted(emb.lr.unique()), "os^Dvp<>"))
    for lr, t in emb.groupby("lr", sort=True):
        t = t.sort_values("step")
        ax.plot(t.pc1, t.pc2, color="0.6", lw=1, zorder=1)
        sc = ax.scatter(t.pc1, t.pc2, c=t.lam_K, cmap="viridis", norm=norm, marker=markers[lr], s=45,
                        edgecolor="k", linewidth=0.4, zorder=2, label=f"lr = {lr:g}")
        ax.annotate(f"lr {lr:g}", (t.pc1.iloc[-1], t.pc2.iloc[-1]), textcoords="offset points", xytext=(5, 5),
                    fontsize=9)
    first = emb.sort_values("step").iloc[0]
    ax.scatter([first.pc1], [first.pc2], marker="*", s=250, color="k", zorder=3, label="init")
    fig.colorbar(sc, ax=ax, label=r"$\lambda_{max}(K)$ (spectral norm of the gradient covariance)")
    ax.set(xlabel="PC 1 of the test predictions", ylabel="PC 2 of the test predictions")
    ax.legend(fontsize=8, loc="best")
    ax.set_title("Early trajectories embedded by their predictions, coloured by $\\lambda_{max}(K)$")
    fig.tight_layout()
    return fig


def plot_curves(table, group, x="step", target=None):
    """Fig. 2-3 of the paper: lambda_max(H), lambda_max(K), Tr(K) and K's inverse condition number along training.

    One colour per grid value of ``group`` ("lr": learning rates, "batch": batch sizes, "bn":
    the batch-norm pair); thick lines are the mean over seeds, thin ones each seed. ``x`` is
    "step" or "train_acc" (matched progress); ``target`` draws the matched-progress accuracy and
    marks each run where it first reaches it.
    """
    import matplotlib.pyplot as plt

    t = table[table.group == group]
    hue = "batch_size" if group == "batch" else "lr"
    colors = _lr_colors(t[hue].unique())
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    for ax, m in zip(axes, MEASURES):
        for value, u in t.groupby(hue, sort=True):
            label = f"{'B' if hue == 'batch_size' else 'lr'} = {value:g}"
            for _, v in u.groupby("seed"):
                ax.plot(v[x], v[m], color=colors[value], lw=0.7 if x == "step" else 1.2, alpha=0.5 if x == "step" else 0.8)
                hit = v[v.train_acc >= target] if target is not None else v.iloc[:0]
                if len(hit):  # the run at matched progress
                    ax.scatter(hit[x].iloc[:1], hit[m].iloc[:1], color=colors[value], s=45, edgecolor="k", zorder=3)
            if x == "step":
                mean = u.groupby("step")[m].mean()
                ax.plot(mean.index, mean.to_numpy(), color=colors[value], lw=2.2, label=label)
            else:
                ax.plot([], [], color=colors[value], lw=2.2, label=label)
        if target is not None:
            ax.axvline(target, color="k", ls=":", lw=1)
        ax.set(xlabel=LABELS[x], ylabel=LABELS[m], yscale="log")
    axes[0].legend(fontsize=8)
    model = t.model.iloc[0]
    fixed = f"lr = {t.lr.iloc[0]:g}" if hue == "batch_size" else f"B = {t.batch_size.iloc[0]}"
    fig.suptitle(f"{model}, {fixed}: curvature and gradient noise along training")
    fig.tight_layout()
    return fig


def plot_sharpness(table, runs):
    """lambda_max(H) against 2/lr: each run's curve with its stability limit (dashed), and the peaks against lr."""
    import matplotlib.pyplot as plt

    t = table[table.group == "lr"]
    colors = _lr_colors(t.lr.unique())
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    for lr, u in t.groupby("lr", sort=True):
        for s, v in u.groupby("seed"):
            axes[0].plot(v.step, v.lam_H, color=colors[lr], lw=1.6 if s == 0 else 0.8, alpha=1 if s == 0 else 0.5,
                         label=f"lr = {lr:g}" if s == 0 else None)
        axes[0].axhline(2 / lr, color=colors[lr], ls="--", lw=1)
    axes[0].set(xlabel="step", ylabel=LABELS["lam_H"], yscale="log", title="dashed: 2 / lr")
    axes[0].legend(fontsize=8)
    r = runs[runs.group == "lr"]
    axes[1].scatter(r.lr, r.max_lam_H, color=[colors[v] for v in r.lr], zorder=3, label="peak, each seed")
    grid = np.geomspace(r.lr.min() / 1.3, r.lr.max() * 1.3, 50)
    axes[1].plot(grid, 2 / grid, "k--", lw=1, label="2 / lr")
    axes[1].set(xscale="log", yscale="log", xlabel="learning rate", ylabel=r"peak $\lambda_{max}(H)$",
                title=f"log-log slope of the mean peak: {cap_slope(runs):.2f}")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def explorer(table):
    """Sliders over the recorded trajectories (no recomputation): group, measure, x axis and seed."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def show(group, measure, x, seed):
        t = table[(table.group == group) & (table.seed == seed)]
        hue = "batch_size" if group == "batch" else "lr"
        colors = _lr_colors(t[hue].unique())
        fig, ax = plt.subplots(figsize=(6.5, 3.6))
        for value, u in t.groupby(hue, sort=True):
            ax.plot(u[x], u[measure], marker="o", ms=3, color=colors[value], label=f"{hue} = {value:g}")
        if measure == "lam_H" and hue == "lr":
            for value in colors:
                ax.axhline(2 / value, color=colors[value], ls="--", lw=0.8)
        ax.set(xlabel=LABELS[x], ylabel=LABELS[measure], yscale="log", title=f"{t.model.iloc[0]}, seed {seed}")
        ax.legend(fontsize=8)
        plt.show()

    return widgets.interactive(
        show,
        group=widgets.Dropdown(options=[("learning rates", "lr"), ("batch sizes", "batch"), ("batch norm", "bn")],
                               value="lr", description="grid"),
        measure=widgets.Dropdown(options=list(MEASURES), value="lam_K", description="measure"),
        x=widgets.Dropdown(options=["step", "train_acc"], value="step", description="x axis"),
        seed=widgets.IntSlider(value=0, min=0, max=int(table.seed.max()), description="seed"),
    )
