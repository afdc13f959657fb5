"""Function space: how far apart solutions are in weights and in what they predict.

The definitions follow the official notebook of *Deep Ensembles: A Loss Landscape
Perspective* (Fort, Hu & Lakshminarayanan, arXiv:1912.02757; notebook 09 of this project):

- :func:`cosine_matrix`: cosine between flat parameter vectors (all weights and biases);
  :func:`distances`: their Euclidean distances from one of them.
- :func:`disagreement_matrix`: the fraction of examples on which two models' argmax
  predictions differ.
- :func:`lower_limit` and :func:`upper_limit`: the two analytic reference curves of the
  diversity-accuracy plane, whose y axis is disagreement with a base solution divided by
  (1 - accuracy) (:func:`diversity_plane`).
- :func:`brier_score` (summed over classes, not divided by C) and :func:`jensen_shannon`
  (entropies with log(p + 1e-5)).
- :func:`ensemble_metrics`: accuracy and Brier of probability-averaging ensembles, averaged
  over all k-subsets of the available models; :func:`ensemble_examples`: one ensemble against its
  members (accuracy, NLL, disagreement) example by example, for paired comparisons.
- Subspace samplers around one trajectory: :func:`diagonal_gaussian`, :func:`pca_gaussian`,
  :func:`random_directions`, :func:`dropout_masks`, each with the official ensemble
  experiment's settings as defaults (the notebook's diversity plot uses larger ones; see
  ``PLANE_SETTINGS``).

Parameter vectors are flat, in ``named_parameters()`` order (``companion.nn.flat_params``);
:func:`predict_many` evaluates one model at many of them at once. Samplers draw from their
own seeded generator on the CPU and return CPU tensors.
"""

import itertools
import math

import numpy as np
import pandas as pd
import torch
from torch.func import functional_call

from .. import rng
from ..nn.flat import unflatten
from ..nn.modes import in_mode

EPS_LOG = 1e-5  # the official notebook's entropy uses log(p + 1e-5)

# Official settings of the notebook's diversity-accuracy plot (50 samples per method), where
# samples are meant to trade accuracy for diversity; the functions' defaults are those of its
# ensemble experiment (30 samples, diag and PCA scale 1, random radius 10 * U(0, 1) kept only
# above an accuracy floor).
PLANE_SETTINGS = {"n_samples": 50, "diag_scale": 10.0, "diag_random_scale": True, "pca_scale": 6.0,
                  "random_radius": 70.0, "dropout_rate": 0.1}


def _np(a):
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def _labels(preds):
    """Class labels from (n, N) labels or (n, N, C) probabilities/logits."""
    preds = _np(preds)
    return preds.argmax(-1) if preds.ndim == 3 else preds


# --- geometry of weights and predictions -------------------------------------------------------------------------

def cosine_matrix(thetas):
    """(n, n) cosines between the rows of ``thetas`` (n flat parameter vectors), in float64."""
    v = torch.as_tensor(thetas).detach().to("cpu", torch.float64)
    if v.ndim != 2 or len(v) < 1:
        raise ValueError(f"thetas must be an (n, D) array of flat parameter vectors, got shape {tuple(v.shape)}")
    norms = v.norm(dim=1, keepdim=True)
    if (norms == 0).any():
        raise ValueError("a parameter vector of zero length has no direction; cosine undefined")
    u = v / norms
    return (u @ u.T).clamp(-1, 1).numpy()


def distances(thetas, theta):
    """(n,) Euclidean distances, in float64, of the rows of ``thetas`` (n flat parameter vectors) from ``theta``."""
    v = torch.as_tensor(thetas).detach().to("cpu", torch.float64)
    ref = torch.as_tensor(theta).detach().to("cpu", torch.float64).reshape(-1)
    if v.ndim != 2 or v.shape[1] != ref.numel():
        raise ValueError(f"thetas must be (n, {ref.numel()}) to compare with theta, got shape {tuple(v.shape)}")
    return (v - ref).norm(dim=1).numpy()


def _labels1(pred):
    """Class labels of one model from (N,) labels or (N, C) scores."""
    pred = _np(pred)
    return pred.argmax(-1) if pred.ndim == 2 else pred


def disagreement(a, b):
    """Fraction of examples on which two prediction vectors (labels, or (N, C) scores) give different classes."""
    la, lb = _labels1(a), _labels1(b)
    if la.shape != lb.shape:
        raise ValueError(f"predictions of different shapes {la.shape} and {lb.shape}")
    return float(np.mean(la != lb))


def disagreement_matrix(preds):
    """(n, n) pairwise disagreement of n models from (n, N) labels or (n, N, C) probabilities."""
    labels = _labels(preds)
    if labels.ndim != 2:
        raise ValueError(f"preds must be (n, N) labels or (n, N, C) scores, got {labels.ndim + 1}-d probabilities")
    return (labels[:, None, :] != labels[None, :, :]).mean(-1)


def _check_curve(acc, ref_acc, n_classes):
    if not (isinstance(n_classes, (int, np.integer)) and n_classes >= 2):
        raise ValueError(f"n_classes={n_classes!r} must be an integer >= 2")
    if not 0 <= ref_acc <= 1:
        raise ValueError(f"ref_acc={ref_acc!r} must be an accuracy in [0, 1]")
    acc = np.asarray(acc, dtype=float)
    if ((acc < 0) | (acc > 1)).any():
        raise ValueError("acc must be accuracies in [0, 1]")
    return acc


def lower_limit(acc, ref_acc, n_classes):
    """Disagreement with the reference of a *perturbed reference* at accuracy ``acc`` (the plane's lower curve).

    Replace a fraction f of the reference's predictions by uniformly random classes: its
    accuracy falls to a = a_ref - f (a_ref - 1/C) and it disagrees on f (C-1)/C of the examples,
    so d = (a_ref - a) / (a_ref + (a_ref - 1)/(C - 1)). Zero at a = a_ref, (C-1)/C at chance.
    """
    acc = _check_curve(acc, ref_acc, n_classes)
    return (ref_acc - acc) / (ref_acc + (ref_acc - 1.0) / (n_classes - 1.0))


def upper_limit(acc, ref_acc, n_classes):
    """Disagreement with the reference of an *independent* classifier at accuracy ``acc`` (the plane's upper curve).

    Errors of both are uniform over the C - 1 wrong classes and independent of each other:
    d = a_ref (1 - a) + a (1 - a_ref) + (1 - a_ref)(1 - a)(C - 2)/(C - 1)
      = 1 - [a_ref a + (1 - a_ref)(1 - a)/(C - 1)].
    """
    acc = _check_curve(acc, ref_acc, n_classes)
    return (ref_acc * (1 - acc) + acc * (1 - ref_acc)
            + (1 - ref_acc) * (1 - acc) * (n_classes - 2.0) / (n_classes - 1.0))


def plane_curves(ref_acc, n_classes, accs=None):
    """Both reference curves on the plane's axes: accuracy against disagreement / (1 - accuracy).

    ``accs`` defaults to 100 points from 0.1 to ``ref_acc`` (as the official plot).
    """
    accs = np.linspace(0.1, ref_acc, 100) if accs is None else np.asarray(accs, dtype=float)
    return pd.DataFrame({"accuracy": accs,
                         "lower": lower_limit(accs, ref_acc, n_classes) / (1 - accs),
                         "upper": upper_limit(accs, ref_acc, n_classes) / (1 - accs)})


def diversity_plane(preds, y, base):
    """One row per model: test accuracy, disagreement with the ``base`` predictions, and their ratio.

    ``diversity`` = disagreement / (1 - accuracy): the official y axis, "fraction of labels
    changed / (1 - accuracy)". ``preds``: (n, N) labels or (n, N, C) scores; ``base``: (N,) labels
    or (N, C) scores of the base solution.
    """
    labels, y, base = _labels(preds), _np(y), _labels1(base)
    acc = (labels == y).mean(-1)
    dis = (labels != base).mean(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        div = np.where(acc < 1, dis / (1 - acc), np.nan)
    return pd.DataFrame({"accuracy": acc, "disagreement": dis, "diversity": div})


def curve_position(acc, disagreement_, ref_acc, n_classes):
    """Where a point lies between the two curves at its own accuracy: 0 on the lower, 1 on the upper.

    (d - lower(a)) / (upper(a) - lower(a)); NaN where the curves meet (a at chance or a = 1).
    Dividing both by (1 - a) leaves it unchanged, so it reads the same on the plane's axes.
    """
    acc = np.asarray(acc, dtype=float)
    lo, up = lower_limit(acc, ref_acc, n_classes), upper_limit(acc, ref_acc, n_classes)
    gap = up - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(gap) > 1e-12, (np.asarray(disagreement_, dtype=float) - lo) / gap, np.nan)


# --- uncertainty metrics -----------------------------------------------------------------------------------------

def brier_score(probs, y):
    """Mean over examples of sum_k p_k^2 - 2 p_y + 1 (summed over classes, as the official notebook).

    ``probs``: (N, C) or (M, N, C) probabilities; returns a float or an (M,) array.
    """
    probs, y = _np(probs).astype(np.float64), _np(y)
    p_y = np.take_along_axis(probs, np.broadcast_to(y[..., None], probs.shape[:-1] + (1,)), -1)[..., 0]
    per_example = (probs ** 2).sum(-1) - 2 * p_y + 1
    out = per_example.mean(-1)
    return float(out) if np.ndim(out) == 0 else out


def entropy(probs):
    """-sum_k p_k log(p_k + 1e-5) over the last axis (the official notebook's convention)."""
    p = _np(probs).astype(np.float64)
    return -(p * np.log(p + EPS_LOG)).sum(-1)


def jensen_shannon(probs):
    """Jensen-Shannon diversity of M models on N examples: H(mean_m p_m) - mean_m H(p_m), averaged over examples.

    ``probs``: (M, N, C). Zero when all models agree exactly; at most log M.
    """
    p = _np(probs).astype(np.float64)
    if p.ndim != 3:
        raise ValueError(f"probs must be (M, N, C), got shape {p.shape}")
    return float(entropy(p.mean(0)).mean() - entropy(p).mean())


def k_subsets(n, k, max_subsets=None, seed=0):
    """The k-subsets of range(n) that :func:`ensemble_metrics` averages over, as a list of index tuples.

    All C(n, k) of them (lexicographic order), or, when that is more than ``max_subsets``,
    that many distinct subsets drawn uniformly from the stream ``(seed, "k-subsets", n, k)``.
    """
    if not 1 <= k <= n:
        raise ValueError(f"ensemble size k={k} must be between 1 and the n={n} available models")
    total = math.comb(n, k)
    if max_subsets is None or total <= max_subsets:
        return list(itertools.combinations(range(n), k))
    draw, seen = rng.numpy_rng(seed, "k-subsets", n, k), {}
    while len(seen) < max_subsets:
        seen.setdefault(tuple(sorted(draw.choice(n, k, replace=False).tolist())), None)
    return list(seen)


def ensemble_metrics(probs, y, sizes=None, max_subsets=None, seed=0):
    """Accuracy and Brier of probability-averaging ensembles of each size, averaged over k-subsets.

    ``probs``: (M, N, C) probabilities of M models; ``sizes``: ensemble sizes (default 1..M).
    One row per size: size, accuracy, brier, subsets (how many subsets were averaged; all of
    them unless more than ``max_subsets``, see :func:`k_subsets`).
    """
    p, y = torch.as_tensor(_np(probs), dtype=torch.float64), torch.as_tensor(_np(y))
    if p.ndim != 3:
        raise ValueError(f"probs must be (M, N, C), got shape {tuple(p.shape)}")
    rows = []
    for k in (range(1, len(p) + 1) if sizes is None else sizes):
        subsets = k_subsets(len(p), int(k), max_subsets, seed)
        accs, briers = [], []
        for s in subsets:
            ens = p[list(s)].mean(0)
            accs.append((ens.argmax(-1) == y).double().mean().item())
            briers.append(((ens ** 2).sum(-1) - 2 * ens.gather(-1, y[:, None])[:, 0] + 1).mean().item())
        rows.append({"size": int(k), "accuracy": float(np.mean(accs)), "brier": float(np.mean(briers)),
                     "subsets": len(subsets)})
    return pd.DataFrame(rows)


def ensemble_examples(logits, y):
    """Per example, an ensemble of M >= 2 models (probabilities averaged) against its members: one row each.

    ``logits``: (M, N, C) outputs of the M models. Columns: ens_correct (1 when the ensemble's argmax is
    the label), member_correct (the share of members right), ens_nll (-log of the averaged probability of
    the label), member_nll (the members' mean -log p of the label) and disagreement (the share of the
    M (M - 1) / 2 member pairs whose argmax differ). Their means over examples are the ensemble's and the
    members' mean accuracy and NLL and the mean of :func:`disagreement_matrix` off its diagonal; kept per
    example, two ensembles on the same examples can be compared pair by pair.
    """
    lp = torch.as_tensor(_np(logits), dtype=torch.float64).log_softmax(-1)
    y = torch.as_tensor(_np(y)).long()
    if lp.ndim != 3 or len(lp) < 2 or y.shape != lp.shape[1:2]:
        raise ValueError(f"logits must be (M >= 2, N, C) with y of shape (N,), got {tuple(lp.shape)} and "
                         f"{tuple(y.shape)}")
    m = len(lp)
    ens = torch.logsumexp(lp, 0) - math.log(m)
    labels = lp.argmax(-1)
    pairs = (labels[:, None] != labels[None]).double().sum((0, 1)) / (m * (m - 1))
    return pd.DataFrame({"ens_correct": (ens.argmax(-1) == y).double().numpy(),
                         "member_correct": (labels == y).double().mean(0).numpy(),
                         "ens_nll": -ens.gather(-1, y[:, None])[:, 0].numpy(),
                         "member_nll": -lp.gather(-1, y[None, :, None].expand(m, -1, 1))[..., 0].mean(0).numpy(),
                         "disagreement": pairs.numpy()})


# --- predictions at many parameter vectors -----------------------------------------------------------------------

@torch.no_grad()
def predict_many(model, thetas, X, output="probs", chunk=16, batch=None):
    """Outputs of ``model`` (in eval mode: no dropout) at each row of ``thetas`` on inputs ``X``: (S, N, C).

    Evaluated ``chunk`` parameter vectors at a time with ``torch.func.vmap`` on the model's
    device, on ``batch`` inputs at a time (default 16384 // chunk, so that chunk x batch
    forward passes share the memory at once); ``output`` is "probs" (softmax) or "logits".
    Returned on the CPU, float32.
    """
    if output not in ("probs", "logits"):
        raise ValueError(f"output={output!r} is not allowed; choose 'probs' or 'logits'")
    thetas = torch.as_tensor(thetas)
    if thetas.ndim == 1:
        thetas = thetas[None]
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype

    def f(theta, xb):
        return functional_call(model, unflatten(model, theta), (xb,))

    batch = batch or max(1, 16384 // chunk)
    outs = []
    with in_mode(model):
        for start in range(0, len(thetas), chunk):
            th = thetas[start:start + chunk].to(device, dtype)
            parts = [torch.func.vmap(f, in_dims=(0, None))(th, X[i:i + batch].to(device, dtype))
                     for i in range(0, len(X), batch)]
            out = torch.cat(parts, dim=1)
            outs.append((out.softmax(-1) if output == "probs" else out).float().cpu())
    return torch.cat(outs)


# --- subspace samplers around one trajectory ---------------------------------------------------------------------

def _gen(seed):
    return torch.Generator().manual_seed(int(seed))


def _checkpoints(checkpoints):
    c = torch.as_tensor(checkpoints).detach().cpu()
    if c.ndim != 2 or len(c) < 2:
        raise ValueError(f"checkpoints must be an (n, D) array with n >= 2 flat parameter vectors, got shape "
                         f"{tuple(c.shape)}")
    return c


def diagonal_gaussian(checkpoints, n_samples=30, scale=1.0, random_scale=False, seed=0):
    """Samples from N(mu, (s sigma)^2) per coordinate, mu and sigma the mean and (population) std of ``checkpoints``.

    The official sampler fits the late checkpoints of one run (epochs 30-39 of 40). s = ``scale``,
    or ``scale`` * U(0, 1) drawn per sample when ``random_scale`` (the diversity plot: 10 * U).
    Returns (n_samples, D) in the checkpoints' dtype.
    """
    c = _checkpoints(checkpoints)
    mu, sigma = c.double().mean(0), c.double().std(0, unbiased=False)
    gen = _gen(seed)
    out = []
    for _ in range(n_samples):
        s = scale * torch.rand((), generator=gen, dtype=torch.float64) if random_scale else scale
        out.append(mu + s * sigma * torch.randn(mu.shape, generator=gen, dtype=torch.float64))
    return torch.stack(out).to(c.dtype)


def pca_directions(checkpoints, rank):
    """Mean and the top ``rank`` principal directions (unit rows) of ``checkpoints``, by SVD of the centred stack."""
    c = _checkpoints(checkpoints).double()
    if not (isinstance(rank, int) and 1 <= rank <= len(c) - 1):
        raise ValueError(f"rank={rank!r} must be an integer from 1 to n - 1 = {len(c) - 1} (n checkpoints); "
                         "centred checkpoints span at most n - 1 directions")
    mu = c.mean(0)
    _, _, vh = torch.linalg.svd(c - mu, full_matrices=False)
    return mu, vh[:rank]


def pca_gaussian(checkpoints, n_samples=30, rank=5, scale=1.0, seed=0):
    """Samples mu + scale * z @ V, z ~ N(0, I_rank), V the top ``rank`` principal directions of ``checkpoints``.

    As the official sampler (sklearn ``PCA.inverse_transform`` of standard normals, not whitened):
    each direction has unit length, so a sample moves by about ``scale * sqrt(rank)`` whatever
    the spread of the checkpoints. Official: rank 5, scale 1 (ensembles) or 6 (diversity plot).
    """
    c = _checkpoints(checkpoints)
    mu, v = pca_directions(c, rank)
    z = torch.randn(n_samples, rank, generator=_gen(seed), dtype=torch.float64)
    return (mu + scale * z @ v).to(c.dtype)


def random_directions(theta, n_samples=30, radius=10.0, seed=0, accept=None, tries=5):
    """Samples theta + s u, u a uniformly random unit direction, s = ``radius`` * U(0, 1).

    With ``accept`` (a function of a candidate vector returning bool), each sample gets up to
    ``tries`` candidates and is dropped when none is accepted, as the official ensemble
    experiment (radius 10, kept when validation accuracy >= 0.70); so fewer than ``n_samples``
    rows may come back. Official diversity plot: radius 70, no acceptance test.
    """
    theta = torch.as_tensor(theta).detach().cpu()
    if theta.ndim != 1:
        raise ValueError(f"theta must be one flat parameter vector, got shape {tuple(theta.shape)}")
    gen, out = _gen(seed), []
    for _ in range(n_samples):
        for _ in range(tries if accept is not None else 1):
            s = radius * torch.rand((), generator=gen, dtype=torch.float64)
            u = torch.randn(theta.shape, generator=gen, dtype=torch.float64)
            cand = (theta.double().cpu() + s * u / u.norm()).to(theta.dtype)
            if accept is None or accept(cand):
                out.append(cand)
                break
    return torch.stack(out) if out else theta.new_zeros((0, theta.numel()))


def dropout_masks(theta, n_samples=30, rate=0.1, seed=0):
    """Samples theta * m / (1 - r), m a Bernoulli(1 - r) mask on every weight and bias, r = ``rate`` * U(0, 1).

    The official dropout sampler: it masks *parameters* (DropConnect-like), not activations,
    with a fresh rate per sample.
    """
    theta = torch.as_tensor(theta).detach().cpu()
    if not 0 <= rate < 1:
        raise ValueError(f"rate={rate!r} must be in [0, 1)")
    gen, out = _gen(seed), []
    for _ in range(n_samples):
        r = rate * torch.rand((), generator=gen, dtype=torch.float64).item()
        mask = torch.rand(theta.shape, generator=gen, dtype=torch.float64) < (1.0 - r)
        out.append((theta.double().cpu() * mask / (1.0 - r)).to(theta.dtype))
    return torch.stack(out)


SAMPLERS = {"diag": diagonal_gaussian, "pca": pca_gaussian, "random": random_directions, "dropout": dropout_masks}
