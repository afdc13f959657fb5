"""The one training loop (:func:`optimise`) and the classifier training on it that records a trajectory.

Loss is the mean cross-entropy plus ``l2/2 * ||theta||^2`` (an explicit penalty, so SGD and
Adam mean the same thing by ``l2``). A NaN or infinite loss is an outcome ("diverged"),
not a crash: sweeps over learning rates need to see where training blows up.
"""

import math
from dataclasses import dataclass, field

import pandas as pd
import torch
import torch.nn.functional as F

from .flat import flat_params

OPTIMIZERS = ("sgd", "adam")


@dataclass
class Trajectory:
    """What a training run recorded.

    history: one row per evaluation step (step, train_loss, train_acc[, test_loss, test_acc]).
    checkpoints: (step, flat parameter vector) every ``checkpoint_every`` steps.
    outcome: "completed", "reached_target" or "diverged".
    steps_to_target: first evaluated step whose train loss is <= ``target_loss`` (None if never).
    """

    history: pd.DataFrame
    checkpoints: list = field(default_factory=list)
    outcome: str = "completed"
    steps_to_target: int | None = None

    @property
    def final(self):
        """The last recorded row, as a dict."""
        return self.history.iloc[-1].to_dict()


@torch.no_grad()
def evaluate(model, X, y, chunk=4096):
    """Mean cross-entropy and accuracy of ``model`` on (X, y), in chunks to bound memory."""
    model.eval()
    loss, correct = 0.0, 0
    for start in range(0, len(X), chunk):
        logits = model(X[start:start + chunk])
        loss += F.cross_entropy(logits, y[start:start + chunk], reduction="sum").item()
        correct += (logits.argmax(1) == y[start:start + chunk]).sum().item()
    return loss / len(X), correct / len(X)


def _validate(optimizer, lr, batch_size, steps, epochs, n, l2):
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer={optimizer!r} is not allowed; choose one of {list(OPTIMIZERS)}")
    if not lr > 0:
        raise ValueError(f"lr={lr!r} must be > 0")
    if l2 < 0:
        raise ValueError(f"l2={l2!r} must be >= 0")
    if batch_size is not None and not 1 <= batch_size <= n:
        raise ValueError(f"batch_size={batch_size!r} must be between 1 and the {n} training examples (or None for full batch)")
    if (steps is None) == (epochs is None):
        raise ValueError("give exactly one of steps= or epochs=")
    bs = n if batch_size is None else batch_size
    total = steps if steps is not None else epochs * math.ceil(n / bs)
    if total < 1:
        raise ValueError(f"steps/epochs must give at least one step (got {total})")
    return bs, int(total)


def _batches(n, bs, seed, replacement=False):
    """Endless seeded mini-batch indices: a fresh permutation each epoch (all of it when full batch), or
    with ``replacement`` ``bs`` independent uniform draws per step."""
    gen = torch.Generator().manual_seed(int(seed))
    while True:
        if replacement:
            yield torch.randint(n, (bs,), generator=gen)
            continue
        perm = torch.arange(n) if bs == n else torch.randperm(n, generator=gen)
        for start in range(0, n - bs + 1, bs):
            yield perm[start:start + bs]


def halving(every):
    """Learning-rate schedule: the rate halves every ``every`` steps."""
    return lambda step: 0.5 ** (step // every)


def cosine(total):
    """Learning-rate schedule: cosine decay from the full rate at step 0 towards 0 at step ``total``."""
    return lambda step: 0.5 * (1 + math.cos(math.pi * step / total))


STOP = "stop"  # what a ``before`` hook of :func:`optimise` returns to end the run


def optimise(params, step_loss, steps, *, optimizer="sgd", lr=0.1, momentum=0.0, schedule=None, clip=None,
             before=None, after=None):
    """The optimisation loop every training in the project runs.

    Each step: ``before(step)`` (may return :data:`STOP`), the rate ``lr * schedule(step)``,
    ``loss = step_loss(step)``, and unless it is NaN or infinite a gradient step (gradient norm
    clipped to ``clip``), then ``after(step, loss)``. Returns ``(outcome, step)``: "completed" after
    ``steps`` steps, "stopped" by ``before``, or "diverged" at the step whose loss was not finite.
    """
    params = list(params)
    opt = (torch.optim.SGD(params, lr=lr, momentum=momentum) if optimizer == "sgd"
           else torch.optim.Adam(params, lr=lr))
    for step in range(steps):
        if before is not None and before(step) == STOP:
            return "stopped", step
        if schedule is not None:
            for group in opt.param_groups:
                group["lr"] = lr * schedule(step)
        loss = step_loss(step)
        if not torch.isfinite(loss):
            return "diverged", step
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        if after is not None:
            after(step, loss)
    return "completed", steps


def train(model, X, y, *, optimizer="sgd", lr=0.1, momentum=0.0, batch_size=None, steps=None, epochs=None,
          l2=0.0, seed=0, X_test=None, y_test=None, eval_every=None, checkpoint_every=None,
          target_loss=None, stop_at_target=False, replacement=False, schedule=None, hooks=()):
    """Train a classifier ``model`` in place on (X, y) with :func:`optimise`; return its :class:`Trajectory`.

    Evaluates the full training (and test) set at step 0, every ``eval_every`` steps (default:
    about 20 points along the run) and at the end; each ``hook(step, model)`` adds its dict to
    those rows. Mini-batches are reshuffled each epoch, or drawn ``replacement``; ``schedule(step)``
    scales the learning rate.
    """
    bs, total = _validate(optimizer, lr, batch_size, steps, epochs, len(X), l2)
    every = eval_every or max(1, total // 20)
    params = [p for p in model.parameters() if p.requires_grad]
    rows, checkpoints, reached = [], [], []
    batches = _batches(len(X), bs, seed, replacement)

    def record(step):
        row = dict(zip(("step", "train_loss", "train_acc"), (step, *evaluate(model, X, y))))
        if X_test is not None:
            row["test_loss"], row["test_acc"] = evaluate(model, X_test, y_test)
        for hook in hooks:
            row.update(hook(step, model))
        rows.append(row)
        return row["train_loss"]

    def before(step):
        if step % every == 0 or step == total:
            train_loss = record(step)
            if not math.isfinite(train_loss):
                return STOP
            if target_loss is not None and not reached and train_loss <= target_loss:
                reached.append(step)
                if stop_at_target:
                    return STOP
        if checkpoint_every and step % checkpoint_every == 0:
            checkpoints.append((step, flat_params(model)))
        return None

    def step_loss(step):
        model.train()
        idx = next(batches)
        loss = F.cross_entropy(model(X[idx]), y[idx])
        return loss + 0.5 * l2 * sum((p * p).sum() for p in params) if l2 else loss

    outcome, stopped = optimise(params, step_loss, total, optimizer=optimizer, lr=lr, momentum=momentum,
                                schedule=schedule, before=before)
    if outcome == "completed" and before(total) == STOP:
        outcome = "stopped"
    elif outcome == "diverged" and rows[-1]["step"] != stopped:
        record(stopped)
    if outcome == "stopped":
        outcome = "reached_target" if math.isfinite(rows[-1]["train_loss"]) else "diverged"
    return Trajectory(pd.DataFrame(rows), checkpoints, outcome, reached[0] if reached else None)
