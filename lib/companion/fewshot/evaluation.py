"""Evaluation over many episodes: per-episode accuracy, 95% confidence intervals, paired differences.

With ``bn="running"`` batch norm uses its running statistics (eval mode), so every test image is
embedded once and episodes only gather embeddings: thousands of episodes cost one pass over the
test set. ``bn="transductive"`` embeds each episode on its own with the episode's batch statistics,
as the paper's code does (its test encoder is built with ``is_training=True``).

The confidence interval of a mean over n episodes is mean +- z sd / sqrt(n), z = 1.96 for 95% (the
normal approximation the few-shot literature reports), sd with n - 1 degrees of freedom. Two
models evaluated on the same episodes are compared by the interval of their per-episode
difference (a paired comparison).
"""

from contextlib import contextmanager

import numpy as np
import torch
from scipy import stats
from torch import nn

_CHUNK = 1024  # images per forward pass when embedding a whole set


@contextmanager
def batch_statistics(model):
    """Batch norm normalises with each batch's own statistics and leaves its running ones unchanged."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.training, m.momentum) for m in norms]
    for m in norms:
        m.train()
        m.momentum = 0.0  # running = (1 - 0) * running + 0 * batch: unchanged
    try:
        yield
    finally:
        for m, (training, momentum) in zip(norms, saved):
            m.train(training)
            m.momentum = momentum


@torch.no_grad()
def embed_all(model, X, device="cpu"):
    """Embeddings (N, D) and precisions (N, k) or None of every image, in eval mode."""
    model.to(device).eval()
    xs, ss = [], []
    for start in range(0, len(X), _CHUNK):
        x, s = model.embed(X[start:start + _CHUNK].to(device))
        xs.append(x.cpu())
        ss.append(s.cpu() if s is not None else None)
    return torch.cat(xs), (torch.cat(ss) if ss[0] is not None else None)


@torch.no_grad()
def evaluate(model, X, episodes, bn="running", device="cpu", embedded=None):
    """Query accuracy of every episode (drawn on the images ``X``), float64 array (E,).

    ``embedded``: the (x, s) of :func:`embed_all` on ``X`` when already computed (running statistics only).
    """
    if bn not in ("running", "transductive"):
        raise ValueError(f"bn={bn!r} is not allowed; choose running or transductive")
    model.to(device).eval()
    if bn == "running":
        x_all, s_all = embedded if embedded is not None else embed_all(model, X, device)
        return accuracy_from_embeddings(model, x_all, s_all, episodes)
    acc = np.empty(len(episodes))
    for i, episode in enumerate(episodes):
        with batch_statistics(model):
            x, s = model.embed(X[torch.from_numpy(episode.indices())].to(device))
        logits = model.episode_logits(x.cpu(), s.cpu() if s is not None else None, episode)
        acc[i] = (logits.argmax(1) == episode.query_labels()).double().mean().item()
    return acc


@torch.no_grad()
def accuracy_from_embeddings(model, x, s, episodes, chunk=10):
    """Query accuracy of every episode from embeddings (N, D) and precisions (N, k) or None of its images.

    Episodes of the same shape are classified ``chunk`` at a time with batched prototypes and distances.
    """
    acc = np.empty(len(episodes))
    shapes = {}
    for i, episode in enumerate(episodes):
        shapes.setdefault((episode.support.shape, episode.query.shape), []).append(i)
    for (sup_shape, q_shape), members in shapes.items():
        n, q = q_shape
        target = torch.arange(n).repeat_interleave(q)
        for start in range(0, len(members), chunk):
            batch = members[start:start + chunk]
            sup = torch.from_numpy(np.stack([episodes[i].support for i in batch]))  # (E, N, K)
            qry = torch.from_numpy(np.stack([episodes[i].query for i in batch]).reshape(len(batch), -1))
            logits = model.logits(x[sup], s[sup] if s is not None else None, x[qry])  # (E, N*Q, N)
            acc[batch] = (logits.argmax(-1) == target).double().mean(-1).numpy()
    return acc


def z_value(level=0.95):
    """The two-sided normal quantile of ``level`` (1.959964 for 0.95)."""
    if not 0 < level < 1:
        raise ValueError(f"level={level!r} must be between 0 and 1")
    return float(stats.norm.ppf(0.5 + level / 2))


def mean_ci(values, level=0.95):
    """(mean, half-width) of the ``level`` confidence interval of the mean: z sd / sqrt(n)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        raise ValueError(f"a confidence interval needs at least 2 values, got {values.size}")
    return float(values.mean()), z_value(level) * float(values.std(ddof=1)) / np.sqrt(values.size)


def paired_difference(a, b, level=0.95):
    """Mean of a - b over paired values (the same episodes), its half-width, and whether the interval
    lies above zero (a beats b), below zero (b beats a) or contains it."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired values must have the same shape, got {a.shape} and {b.shape}")
    mean, half = mean_ci(a - b, level)
    verdict = "higher" if mean - half > 0 else "lower" if mean + half < 0 else "tie"
    return {"diff": mean, "half": half, "verdict": verdict}


@torch.no_grad()
def precision_floor(model):
    """The precision (k,) of an image whose last block has a zero ReLU output at every pooled position.

    The raw precision is batch norm (eval mode) of a ReLU output, so every such image gets the same
    precision, transform((0 - running mean) / sqrt(running var + eps) * weight + bias), the lowest the
    network can give when the batch-norm weight is positive.
    """
    if model.precision is None:
        raise ValueError("a vanilla network has no precision; use the radius or diagonal mode")
    norm = model.encoder[-2][2]  # the last block: conv, ReLU, batch norm, pool
    zero = (0 - norm.running_mean) / torch.sqrt(norm.running_var + norm.eps) * norm.weight + norm.bias
    per_output = zero.repeat_interleave(model.encoder.out_features // len(zero))  # channel-major flatten
    return model.precision(per_output[model.dim:])


@torch.no_grad()
def floor_share(model, X, device="cpu", rtol=1e-5):
    """Per image of ``X``, the share of its precisions that sit at :func:`precision_floor`: float64 (N,), 0 or 1
    for a radius network. Its mean is the share of (image, precision) entries at the floor."""
    _, s = embed_all(model, X, device)
    floor = precision_floor(model.cpu())
    return torch.isclose(s, floor.expand_as(s), rtol=rtol, atol=0).double().mean(1).numpy()


@torch.no_grad()
def mean_precision(model, X, device="cpu"):
    """Each image's learned precision (averaged over dimensions for the diagonal mode), (N,) tensor."""
    _, s = embed_all(model, X, device)
    if s is None:
        raise ValueError("a vanilla network has no precision; use the radius or diagonal mode")
    return s.mean(1)
