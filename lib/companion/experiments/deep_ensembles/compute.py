"""C1-C3: weights and predictions along one trajectory and across runs, and the subspaces around one run.

Subspace samples (``companion.landscape.function_space``): diagonal Gaussian, rank-5 PCA
Gaussian, random directions and dropout masks on the weights, fitted to the checkpoints of epochs
>= ``collect_after`` (official: 30 of 40). Absolute lengths of the official notebook (the
random-direction radius, the PCA step) were set for MediumCNN's 971,146 parameters; they are
multiplied by sqrt(D / ``length_reference``) so that each parameter moves by the same typical
amount in a model of D parameters (``length_reference = 0`` uses them as given). The
random-direction acceptance floor is a fraction of the base run's validation accuracy (official:
0.70 absolute with a base of about 0.71, so 0.986).

Random streams: the plane's samples of each method ``("plane samples", method)`` and the t-SNE
``("t-sne",)``, derived from ``p.seed``.
"""

import numpy as np
import pandas as pd
import torch

from ... import rng
from ...landscape import function_space as fs
from .training import late, length_factor

METHODS = ("diag", "pca", "random", "dropout")


def trajectory_predictions(model, runs, data):
    """Test-set probabilities at every checkpoint of every run: (runs, epochs, N, C)."""
    return torch.stack([fs.predict_many(model, r.checkpoints, data.X_test) for r in runs])


def geometry(runs, preds, p):
    """Cosine and disagreement matrices: along run 0 (epoch x epoch) and between the final solutions (run x run)."""
    finals = torch.stack([r.theta for r in runs])
    return {"cos_trajectory": fs.cosine_matrix(runs[0].checkpoints),
            "dis_trajectory": fs.disagreement_matrix(preds[0]),
            "cos_independent": fs.cosine_matrix(finals),
            "dis_independent": fs.disagreement_matrix(preds[:, -1])}


def _off_diagonal(m):
    m = np.asarray(m)
    return m[~np.eye(len(m), dtype=bool)]


def _pairs_row(pairs, thetas, preds):
    """Mean, min and max of the pairwise cosine and disagreement of the models ``thetas`` / ``preds``, and the mean
    of their pairwise Euclidean distances in weight space."""
    cos = _off_diagonal(fs.cosine_matrix(thetas))
    dis = _off_diagonal(fs.disagreement_matrix(preds))
    dist = _off_diagonal(np.stack([fs.distances(thetas, theta) for theta in thetas]))
    return {"pairs": pairs, "cos_mean": cos.mean(), "cos_min": cos.min(), "cos_max": cos.max(),
            "dis_mean": dis.mean(), "dis_min": dis.min(), "dis_max": dis.max(), "dist_mean": dist.mean()}


def geometry_summary(runs, preds, p):
    """Late checkpoints of each run (pairs within it) against the final solutions of different runs (pairs across).

    One row per comparison with the mean, min and max pairwise cosine and disagreement.
    """
    idx = late(p)
    rows = [_pairs_row(f"late checkpoints of run {i}", r.checkpoints[idx], preds[i, idx]) for i, r in enumerate(runs)]
    rows.append(_pairs_row("independent runs", torch.stack([r.theta for r in runs]), preds[:, -1]))
    return pd.DataFrame(rows)


def tsne_embedding(preds, p):
    """t-SNE (scikit-learn, exact, seeded) of the prediction vectors (N x C softmax outputs) of every checkpoint
    of the first ``n_trajectories`` runs; one row per checkpoint with run, epoch, x, y and whether its nearest
    neighbour in the embedding belongs to the same run."""
    from sklearn.manifold import TSNE

    P = preds[:p.n_trajectories].numpy()
    R, E = P.shape[:2]
    vectors = P.reshape(R * E, -1).astype(np.float64)
    perplexity = min(30.0, (R * E - 1) / 3)
    emb = TSNE(n_components=2, perplexity=perplexity, init="pca", method="exact",
               random_state=rng.derive(p.seed, "t-sne") % 2**32).fit_transform(vectors)
    run = np.repeat(np.arange(R), E)
    dist = ((emb[:, None, :] - emb[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(dist, np.inf)
    nearest = dist.argmin(1)
    return pd.DataFrame({"run": run, "epoch": np.tile(np.arange(E), R), "x": emb[:, 0], "y": emb[:, 1],
                         "same_run_neighbour": run[nearest] == run})


def _random(run, model, data, p, n, plane, seed):
    """Random directions around ``run``: the plane's radius, or the ensembles' with the validation-accuracy floor."""
    scale = length_factor(p, run.theta.numel())
    if plane:
        return fs.random_directions(run.theta, n, radius=p.plane_random_radius * scale, seed=seed)
    floor = p.random_acc_floor * run.history.val_acc.iloc[-1]

    def accept(theta):
        probs = fs.predict_many(model, theta, data.X_val)[0]
        return (probs.argmax(1) == data.y_val).double().mean().item() >= floor

    return fs.random_directions(run.theta, n, radius=p.random_radius * scale, seed=seed, accept=accept,
                                tries=p.random_tries)


def sample(method, run, model, data, p, plane=False, seed=0):
    """(S, D) parameter vectors from one subspace method around ``run``.

    ``plane=False``: the official ensemble settings (``n_samples``; diag and PCA scale from
    ``diag_scale``/``pca_scale``; random radius ``random_radius`` * U(0, 1), a sample kept only if its
    validation accuracy reaches ``random_acc_floor`` x the run's, ``random_tries`` tries);
    ``plane=True``: the diversity-plot settings (``plane_samples``, ``plane_*``, no floor).
    Absolute lengths (PCA step, random radius) are scaled by :func:`~.training.length_factor`.
    """
    n = p.plane_samples if plane else p.n_samples
    ckpts = run.checkpoints[late(p)]
    if method == "diag":
        return fs.diagonal_gaussian(ckpts, n, scale=p.plane_diag_scale if plane else p.diag_scale,
                                    random_scale=plane, seed=seed)
    if method == "pca":
        scale = (p.plane_pca_scale if plane else p.pca_scale) * length_factor(p, run.theta.numel())
        return fs.pca_gaussian(ckpts, n, rank=p.pca_rank, scale=scale, seed=seed)
    if method == "random":
        return _random(run, model, data, p, n, plane, seed)
    if method == "dropout":
        return fs.dropout_masks(run.theta, n, rate=p.dropout_rate, seed=seed)
    raise ValueError(f"method={method!r} is not allowed; choose one of {', '.join(METHODS)}")


def diversity_plane(runs, preds, model, data, p):
    """Every method on the plane around run 0 (the base): one row per model with method, accuracy,
    disagreement with the base, diversity = disagreement / (1 - accuracy), and its position between the
    analytic curves (0 lower, 1 upper), and its Euclidean distance from the base in weight space. Independent runs
    (the base included) and run 0's checkpoints too."""
    y, base, theta = data.y_test, preds[0, -1], runs[0].theta
    ref = float((base.argmax(1) == y).double().mean())
    finals = torch.stack([r.theta for r in runs])
    frames = [fs.diversity_plane(preds[:, -1], y, base)
              .assign(method="independent", sample=range(len(runs)), distance=fs.distances(finals, theta)),
              fs.diversity_plane(preds[0, :-1], y, base)
              .assign(method="trajectory", sample=range(p.epochs - 1),
                      distance=fs.distances(runs[0].checkpoints[:-1], theta))]
    for method in METHODS:
        thetas = sample(method, runs[0], model, data, p, plane=True, seed=rng.derive(p.seed, "plane samples", method))
        frames.append(fs.diversity_plane(fs.predict_many(model, thetas, data.X_test), y, base)
                      .assign(method=method, sample=range(len(thetas)), distance=fs.distances(thetas, theta)))
    plane = pd.concat(frames, ignore_index=True)
    plane["position"] = fs.curve_position(plane.accuracy, plane.disagreement, ref, data.n_classes)
    return plane[["method", "sample", "accuracy", "disagreement", "diversity", "position", "distance"]]


def _matched_row(method, t):
    """Counts of the models ``t`` of one method and, over those matched, accuracy, diversity and position."""
    m = t[t.matched]
    return {"method": method, "samples": len(t), "matched": len(m), "accuracy": m.accuracy.mean(),
            "diversity_mean": m.diversity.mean(), "diversity_max": m.diversity.max(),
            "position_mean": m.position.mean()}


def plane_summary(plane, p):
    """Per method: its samples at matched accuracy, within ``match_tol`` of the accuracy range of the independent
    runs (base included), with their mean accuracy, mean and max diversity and mean position between the curves;
    first the independent runs other than the base (whose disagreement with itself is 0)."""
    ind = plane[plane.method == "independent"]
    lo, hi = ind.accuracy.min() - p.match_tol, ind.accuracy.max() + p.match_tol
    plane = plane.assign(matched=(plane.accuracy >= lo) & (plane.accuracy <= hi))
    rows = [_matched_row("independent", plane[(plane.method == "independent") & (plane["sample"] > 0)]
                         .assign(matched=True))]
    rows += [_matched_row(method, plane[plane.method == method]) for method in ("trajectory", *METHODS)]
    return pd.DataFrame(rows)
