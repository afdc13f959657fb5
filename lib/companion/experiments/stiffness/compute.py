"""Tables read off the measurements: the training trend, xi against the learning rate, the class structure."""

import numpy as np
import pandas as pd
import torch
from scipy import stats

from ...landscape import stiffness as st
from .params import CLAIM_PAIRS
from .training import schedule, superclasses


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


def early_stiffness(measured, kind="cos", pairs=CLAIM_PAIRS):
    """Per seed and lr: between- and within-class stiffness at the first checkpoint after init (matched epoch:
    what each learning rate learns first) and at the first checkpoint whose training loss is at most half its
    value at init (matched early progress; NaN if the run never gets there), with the training losses there."""
    c = measured.curves[(measured.curves.pairs == pairs) & (measured.curves.kind == kind)]
    rows = []
    for (s, lr), t in c.groupby(["seed", "lr"]):
        t = t.sort_values("step")
        first = t[t.step > 0].iloc[0]
        half = t[t.train_loss <= t.train_loss.iloc[0] / 2]
        at = half.iloc[0] if len(half) else pd.Series(np.nan, index=t.columns)
        rows.append({"seed": s, "lr": lr, "epoch_first": first.epoch, "loss_first": first.train_loss,
                     "between_first": first["between"], "within_first": first["within"], "epoch_half": at.epoch,
                     "loss_half": at.train_loss, "between_half": at["between"]})
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
