"""The paper's model of logit gradients: their clustering, and its spectrum set against the measured one."""

import numpy as np
import pandas as pd
import torch

from ... import rng
from ...landscape import HessianOperator, lanczos
from ...landscape.gauss_newton import (
    ClusteredLogitModel,
    GaussNewtonOperator,
    logit_gradient_clusters,
    signal_eigenvalues,
)
from ...landscape.gradients import load_checkpoint, per_logit_grads
from ...landscape.spectrum import bulk_edge, hutchpp, slq
from .compute import budget, per_class_subset, top_count


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
    X, y = data.split("train", p.device, torch.float64)
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
    X, y = data.split("train", p.device, torch.float64)
    C = data.n_classes
    idx = per_class_subset(y, p.model_examples // C)
    Xs, ys = X[idx], y[idx]
    k = top_count(C)
    H, G = HessianOperator(net, Xs, ys), GaussNewtonOperator(net, Xs, ys, budget(p))
    means, noise = logit_gradient_clusters(per_logit_grads(net, Xs, budget(p)))
    model = ClusteredLogitModel(means, noise, G.probs, seed=rng.derive(p.seed, "model noise"))
    ops = {"H": H, "G": G, "model": model}
    top, densities = [], {}
    for name, op in ops.items():
        res = lanczos(op, k, n_iter=p.lanczos_steps, seed=rng.derive(p.seed, "lanczos"))
        top += [{"matrix": name, "rank": i + 1, "eigenvalue": v} for i, v in enumerate(res.eigenvalues.tolist())]
        densities[name] = slq(op, n_iter=p.lanczos_steps, n_probes=p.slq_probes, seed=rng.derive(p.seed, "slq"))
    signal = signal_eigenvalues(means, G.probs)
    top += [{"matrix": "signal", "rank": i + 1, "eigenvalue": v} for i, v in enumerate(signal.tolist())]
    h2 = _second_term_extreme(H, G, p)
    trace = hutchpp(H, n_matvecs=p.lanczos_steps, seed=rng.derive(p.seed, "hutchpp"))
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
    res = lanczos(_Difference(H, G), 1, n_iter=min(p.lanczos_steps, 40), seed=rng.derive(p.seed, "lanczos"),
                  which="LM")
    return abs(res.eigenvalues[0].item())


def model_counts(top):
    """Outlier count (above :func:`bulk_edge`), the bulk edge and the top eigenvalue of each matrix in
    ``model_spectrum``'s top table; the signal has no bulk, so its count is its rank (eigenvalues above 1e-9 x its
    largest) and its edge NaN."""
    rows = []
    for name, t in top.groupby("matrix", sort=False):
        lam = t.sort_values("rank").eigenvalue.to_numpy(copy=True)
        if name == "signal":
            edge, count = float("nan"), int((lam > 1e-9 * lam.max()).sum())
        else:
            edge, count = bulk_edge(lam)
        rows.append({"matrix": name, "lambda_1": lam[0], "outliers": count, "edge": edge})
    return pd.DataFrame(rows)
