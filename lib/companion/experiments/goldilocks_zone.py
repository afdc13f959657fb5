"""The Goldilocks zone (Fort & Scherlis, arXiv:1807.02581), measured.

Configuration space is the flat parameter vector theta; its radius is ||theta||. A fixed
initialisation scaled by ``scale`` sits at radius ``scale * ||theta_0||``. At each point we
restrict the Hessian H of the mean training cross-entropy to a random d-dimensional
subspace M (H_d = M^T H M) and report, over its eigenvalues, the fraction that is positive
and Tr(H_d)/||H_d||_F (Frobenius norm), divided by sqrt(d) so different d compare: 1 means
all eigenvalues equal and positive, about 0 a random symmetric matrix.
"""

import numpy as np
import pandas as pd
import torch
from scipy import stats

from ..data import LOADABLE, load
from ..landscape import HessianOperator, positive_fraction, random_subspace, subspace_hessian, trace_ratio
from ..nn import INITS, HyperplaneModel, flat_params, mlp, train
from ..params import Param, ParameterError

PARAMETERS = (
    Param("dataset", str, choices=LOADABLE),
    Param("n_train", int, 50, 60000),
    Param("n_test", int, 50, 10000),
    Param("widths", int, 1, 4096, many=True),
    Param("activations", str, choices=("relu", "tanh"), many=True),
    Param("init", str, choices=INITS),
    Param("scales", float, 0.01, 100.0, many=True),
    Param("subspace_dim", int, 2, 2000),
    Param("subspace_kind", str, choices=("orthonormal", "sparse")),
    Param("n_seeds", int, 2, 1000),
    Param("train_dims", int, 1, 100000, many=True),
    Param("train_seeds", int, 1, 100),
    Param("train_steps", int, 1, 100000),
    Param("train_lr", float, 1e-6, 10.0),
    Param("n_inits", int, 5, 10000),
    Param("n_groups", int, 0, 1000),
    Param("group_size", int, 2, 100),
    Param("target_loss", float, 0.0, 10.0),
    Param("select_steps", int, 1, 100000),
    Param("select_lr", float, 1e-6, 100.0),
)


def check(p):
    """Constraints between parameters, checked before any compute."""
    if p.n_groups * p.group_size > p.n_inits:
        raise ParameterError(f"n_groups * group_size = {p.n_groups * p.group_size} needs at most n_inits = "
                             f"{p.n_inits} inits; raise n_inits or lower n_groups/group_size")
    if len(p.scales) < 3 or 1.0 not in p.scales:
        raise ParameterError(f"parameter 'scales' = {p.scales!r} needs at least 3 scales including 1.0 (the named init)")


def load_data(p):
    """The notebook's dataset, pixel values scaled to [0, 1]; refuses subspaces larger than the model."""
    data = load(p.dataset, n_train=p.n_train, n_test=p.n_test, seed=p.seed, normalize="unit")
    D = sum(t.numel() for t in make_model(data, p, p.activations[0], 1.0, p.seed).parameters())
    for name, dim in (("subspace_dim", p.subspace_dim), ("train_dims", max(p.train_dims))):
        if dim > D:
            raise ParameterError(f"parameter {name!r} asks for d = {dim}, but the model has only D = {D} "
                                 f"parameters; allowed: d <= {D}")
    return data


def make_model(data, p, activation, scale, seed):
    """The notebook's MLP at ``scale`` times the named init, in float64 for exact curvature, on ``p.device``."""
    return mlp(int(np.prod(data.input_shape)), p.widths, data.n_classes, activation=activation,
               init=p.init, init_scale=scale, seed=seed, dtype=torch.float64).to(p.device)


def tensors(data, p, split="train"):
    """(X, y) of one split in float64 on ``p.device``."""
    X, y = (data.X_train, data.y_train) if split == "train" else (data.X_test, data.y_test)
    return X.to(p.device, torch.float64), y.to(p.device)


def curvature_point(model, X, y, dim, kind, seed):
    """Radius, loss and the subspace-Hessian measures of ``model`` at its current parameters."""
    op = HessianOperator(model, X, y)
    M = random_subspace(op.dim, dim, kind=kind, seed=seed, dtype=op.params.dtype).to(op.params.device)
    eig = torch.linalg.eigvalsh(subspace_hessian(op, M))
    return {"radius": op.params.norm().item(), "loss": op.loss(), "frac_pos": positive_fraction(eig),
            "gamma": trace_ratio(eig) / np.sqrt(dim), "eigenvalues": eig.tolist()}


def curvature_vs_radius(data, p):
    """Claim 1-2: the fraction of positive eigenvalues and Tr/||.|| of H_d against the radius.

    One row per (activation, scale, seed); the same seed gives the same init direction and
    subspace at every scale, so each seed traces one ray through configuration space.
    """
    X, y = tensors(data, p)
    rows = []
    for activation in p.activations:
        for scale in p.scales:
            for s in range(p.n_seeds):
                model = make_model(data, p, activation, scale, p.seed + s)
                point = curvature_point(model, X, y, p.subspace_dim, p.subspace_kind, p.seed + s)
                rows.append({"activation": activation, "scale": scale, "seed": s, **point})
    return pd.DataFrame(rows).drop(columns="eigenvalues")


def summarise(table, by, columns):
    """Mean and standard error over seeds of ``columns``, per group."""
    g = table.groupby(by)[columns]
    out = g.mean().join(g.sem(), rsuffix="_se").join(g.size().rename("n"))
    return out.reset_index()


def zone(summary, column="gamma"):
    """The shell: scales where ``column`` rises above the larger end of the sweep by more than half its peak
    height (a full width at half maximum). Empty when the peak sits at an end of the sweep: no shell."""
    s = summary.sort_values("scale").reset_index(drop=True)
    values = s[column]
    if int(values.idxmax()) in (0, len(s) - 1):
        return []
    level = (values.max() + max(values.iloc[0], values.iloc[-1])) / 2
    return s.loc[values > level, "scale"].tolist()


def interior_peak(summary, column):
    """Whether ``column`` peaks strictly inside the scale range, above both ends by more than 2 s.e."""
    s = summary.sort_values("scale").reset_index(drop=True)
    i = int(s[column].idxmax())
    if i in (0, len(s) - 1):
        return False, s.loc[i, "scale"]
    peak, se = s.loc[i, column], s.loc[i, f"{column}_se"]
    ends = [(s.loc[j, column], s.loc[j, f"{column}_se"]) for j in (0, len(s) - 1)]
    return all(peak - v > 2 * np.hypot(se, e) for v, e in ends), s.loc[i, "scale"]


def hyperplane_training(data, p):
    """Claim 5: train only x in theta = P + M x (Adam, full batch) for P at each scale and each d.

    Uses the first activation; one row per (scale, d, seed), the seed choosing both the init
    direction of P and the subspace M.
    """
    activation, rows = p.activations[0], []
    (X, y), (Xte, yte) = tensors(data, p), tensors(data, p, "test")
    for s in range(p.train_seeds):
        for scale in p.scales:
            base = make_model(data, p, activation, scale, p.seed + s)
            P = flat_params(base)
            for dim in p.train_dims:
                M = random_subspace(P.numel(), dim, kind=p.subspace_kind, seed=20_000 + p.seed + s,
                                    dtype=P.dtype).to(P.device)
                traj = train(HyperplaneModel(base, P, M), X, y, optimizer="adam", lr=p.train_lr,
                             steps=p.train_steps, seed=p.seed + s, X_test=Xte, y_test=yte)
                rows.append({"scale": scale, "radius": P.norm().item(), "dim": dim, "seed": s,
                             "outcome": traj.outcome,
                             **{k: traj.final[k] for k in ("train_loss", "train_acc", "test_acc")}})
    return pd.DataFrame(rows)


def inits_at_one_radius(data, p, scale=1.0):
    """Claims 6-7: ``n_inits`` random inits at one scale, each with its initial loss and curvature."""
    X, y = tensors(data, p)
    rows = []
    for s in range(p.n_inits):
        model = make_model(data, p, p.activations[0], scale, 10_000 + p.seed + s)
        point = curvature_point(model, X, y, p.subspace_dim, p.subspace_kind, 10_000 + p.seed + s)
        rows.append({"init": s, **point})
    return pd.DataFrame(rows).drop(columns="eigenvalues")


def rank_correlation(table, x, y):
    """Spearman rank correlation of two columns with its two-sided p-value."""
    r = stats.spearmanr(table[x], table[y])
    return float(r.statistic), float(r.pvalue)


def steps_to_target(data, p, inits):
    """Train every init in ``inits`` (plain SGD, full batch) and add the steps it took to reach ``target_loss``.

    A run that never reaches it counts as ``select_steps + 1`` (censored), so it ranks last.
    """
    X, y = tensors(data, p)
    steps = []
    for s in inits["init"]:
        model = make_model(data, p, p.activations[0], 1.0, 10_000 + p.seed + int(s))
        traj = train(model, X, y, optimizer="sgd", lr=p.select_lr, steps=p.select_steps, seed=p.seed,
                     eval_every=1, target_loss=p.target_loss, stop_at_target=True)
        steps.append(traj.steps_to_target if traj.steps_to_target is not None else p.select_steps + 1)
    return inits.assign(steps=steps)


RULES = {"highest Tr/||H||": ("gamma", False), "most positive eigenvalues": ("frac_pos", False),
         "lowest initial loss": ("loss", True)}


def init_selection(timed, p):
    """Claim 8: split the inits into groups; in each, pick one by each rule and compare its steps with the
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


def _peak(summary, column):
    """(significant interior peak?, 'measured' text) for one activation's summary."""
    holds, at = interior_peak(summary, column)
    s = summary.sort_values("scale")
    return holds, (f"peak {s[column].max():.2f} at scale {at:g}, "
                   f"ends {s[column].iloc[0]:.2f} / {s[column].iloc[-1]:.2f}")


PEAK = "interior peak above both ends by > 2 s.e."


def claims(p, summary, zones, hyper, correlation, selection):
    """The claims table rows. Each threshold says what its claim means: a peak must stand > 2 standard
    errors over seeds above both ends of the radius sweep; the shell (zone) is the full width at half
    maximum of Tr/||H|| above the larger end; statistical tests need p < 0.05."""
    first, rows = p.activations[0], []
    by_act = {a: summary[summary.activation == a] for a in p.activations}
    if "relu" in by_act:
        pos_ok, pos_text = _peak(by_act["relu"], "frac_pos")
        gamma_ok, gamma_text = _peak(by_act["relu"], "gamma")
        rows.append({"claim": "C1 excess of positive eigenvalues peaks in a shell of radii (relu)",
                     "measured": f"fraction positive: {pos_text}", "threshold": PEAK, "holds": pos_ok})
        rows.append({"claim": "C2 Tr(H)/||H|| peaks in a shell of radii (relu)",
                     "measured": f"Tr/||H||/sqrt(d): {gamma_text}; shell {zones['relu']}",
                     "threshold": PEAK, "holds": gamma_ok})
        relu = by_act["relu"].sort_values("scale")
        level = (relu.gamma.max() + max(relu.gamma.iloc[0], relu.gamma.iloc[-1])) / 2
        rows.append({"claim": "C3 the standard init (scale 1) lies in the zone (relu)",
                     "measured": f"Tr/||H||/sqrt(d) at scale 1: {relu.set_index('scale').gamma[1.0]:.3f}, "
                                 f"half-maximum level {level:.3f}; shell scales {zones['relu']}",
                     "threshold": "1.0 in the shell", "holds": 1.0 in zones["relu"]})
    if "tanh" in by_act:
        pos_ok, pos_text = _peak(by_act["tanh"], "frac_pos")
        gamma_ok, gamma_text = _peak(by_act["tanh"], "gamma")
        rows.append({"claim": "C4 the same shell appears with tanh",
                     "measured": f"fraction positive: {pos_text}; Tr/||H||/sqrt(d): {gamma_text}",
                     "threshold": "C1 and C2 both hold for tanh", "holds": pos_ok and gamma_ok})
    mean = hyper.groupby(["dim", "scale"], as_index=False).test_acc.mean()
    best = mean.loc[mean.groupby("dim").test_acc.idxmax()]
    rows.append({"claim": f"C5 hyperplane training does best from offsets in the zone ({first})",
                 "measured": "best scale by d: " + ", ".join(
                     f"d={r.dim}: {r.scale:g} ({r.test_acc:.2f})" for r in best.itertuples())
                 + f"; shell {zones[first]}",
                 "threshold": "at every d the best scale is in the shell",
                 "holds": bool(zones[first]) and bool(best.scale.isin(zones[first]).all())})
    rho, pval = correlation
    rows.append({"claim": "C6 lower initial loss goes with more positive curvature (scale 1)",
                 "measured": f"Spearman(loss, fraction positive) = {rho:.2f}, p = {pval:.2g}, {p.n_inits} inits",
                 "threshold": "rho < 0 and p < 0.05", "holds": rho < 0 and pval < 0.05})
    if selection is not None:
        for r in selection.itertuples():
            rows.append({"claim": f"C7 picking by {r.rule} trains faster than a random pick",
                         "measured": f"{r.picked_steps:.1f} vs {r.random_steps:.1f} steps, p = {r.p_value:.2g}, "
                                     f"{p.n_groups} groups of {p.group_size}",
                         "threshold": "fewer steps, one-sided Wilcoxon p < 0.05",
                         "holds": r.picked_steps < r.random_steps and r.p_value < 0.05})
    return rows


def shell_band(summary, scales):
    """The radii spanned by the shell's ``scales``, reaching halfway (geometrically) to the neighbouring scales."""
    s = summary.sort_values("scale").reset_index(drop=True)
    inside = s.index[s.scale.isin(scales)]
    if not len(inside):
        return None
    r = s.radius.to_numpy()
    lo, hi = inside.min(), inside.max()
    return (np.sqrt(r[lo] * r[lo - 1]) if lo > 0 else r[lo], np.sqrt(r[hi] * r[hi + 1]) if hi < len(r) - 1 else r[hi])


def plot_curvature(summary, zones):
    """C1, C2, C4: mean +- s.e. over seeds of the two measures and the loss against the radius, shells shaded."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    labels = {"frac_pos": "fraction of positive eigenvalues", "gamma": r"Tr$(H_d)$ / $\|H_d\|_F\sqrt{d}$",
              "loss": "initial loss"}
    for i, activation in enumerate(zones):
        s = summary[summary.activation == activation].sort_values("scale")
        band = shell_band(s, zones[activation])
        for ax, col in zip(axes, labels):
            ax.errorbar(s.radius, s[col], yerr=s[f"{col}_se"], marker="o", capsize=3, color=f"C{i}", label=activation)
            if band:
                ax.axvspan(*band, color=f"C{i}", alpha=0.12)
    for ax, (col, label) in zip(axes, labels.items()):
        ax.set(xscale="log", xlabel=r"radius $\|\theta\|$", ylabel=label)
    axes[0].axhline(0.5, color="k", lw=0.8, ls="--")
    axes[2].set_yscale("log")
    axes[0].legend(title="activation")
    fig.suptitle("Curvature in random subspaces against radius (shaded: the shell of each activation)")
    fig.tight_layout()
    return fig


def plot_hyperplane(hyper, band):
    """C5: mean test accuracy of hyperplane training against the offset's radius, one line per d."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.8))
    mean = hyper.groupby(["dim", "scale"], as_index=False)[["radius", "test_acc"]].mean()
    sd = hyper.groupby(["dim", "scale"]).test_acc.std().fillna(0).to_numpy()
    for i, (dim, t) in enumerate(mean.groupby("dim")):
        ax.errorbar(t.radius, t.test_acc, yerr=sd[mean.dim == dim], marker="o", capsize=3,
                    color=plt.cm.viridis(i / max(1, mean.dim.nunique() - 1)), label=f"d = {dim}")
    if band:
        ax.axvspan(*band, color="C2", alpha=0.15, label="shell")
    ax.set(xscale="log", xlabel=r"radius of the offset $\|P\|$", ylabel=r"test accuracy (mean $\pm$ sd)")
    ax.legend()
    fig.tight_layout()
    return fig
