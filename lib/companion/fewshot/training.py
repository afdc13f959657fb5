"""Episodic training: every step is one episode, the loss is the cross-entropy of its queries.

Adam with the learning rate halved every ``halve_every`` steps (lr_t = lr / 2^floor(t / halve_every)),
as in the paper's code, run by :func:`companion.nn.optimise`. The loss is the mean over queries; the
code also divides it by the number of classes, which with Adam only changes the effective epsilon,
so it is left out.
"""

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ..nn import halving, optimise
from .episodes import EpisodeSampler


def train_episodic(model, data, *, n_way, n_shot, n_query, steps, lr=1e-3, halve_every=2000, seed=0,
                   device="cpu", log_every=None):
    """Train ``model`` (a :class:`~companion.fewshot.protonets.ProtoNet`) on episodes of ``data``.

    Returns the history: one row per ``log_every`` steps (default: 20 rows) with the step, the mean
    training loss and query accuracy over those steps, and the learning rate. A non-finite loss ends
    the run; its last row then holds that step and the non-finite mean loss.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps={steps!r} must be a positive integer")
    if not lr > 0 or halve_every < 1:
        raise ValueError(f"lr={lr!r} must be > 0 and halve_every={halve_every!r} >= 1")
    sampler = EpisodeSampler(data.y, n_way, n_shot, n_query, seed)
    log_every = log_every or max(1, steps // 20)
    schedule = halving(halve_every)
    model.to(device).train()
    X = data.X.to(device)
    rows, window = [], []  # window: (loss, accuracy) of the steps since the last row

    def step_loss(step):
        episode = sampler.sample()
        x, s = model.embed(X[torch.from_numpy(episode.indices()).to(device)])
        logits = model.episode_logits(x, s, episode)
        target = episode.query_labels().to(device)
        loss = F.cross_entropy(logits, target)
        window.append((loss.item(), (logits.argmax(1) == target).double().mean().item()))
        return loss

    def log(step):
        loss, acc = np.mean(window, axis=0)
        rows.append({"step": step + 1, "loss": float(loss), "acc": float(acc), "lr": lr * schedule(step)})
        window.clear()

    def after(step, loss):
        if (step + 1) % log_every == 0 or step + 1 == steps:
            log(step)

    outcome, step = optimise(model.parameters(), step_loss, steps, optimizer="adam", lr=lr, schedule=schedule,
                             after=after)
    if outcome == "diverged":
        log(step)
    model.eval()
    return pd.DataFrame(rows)
