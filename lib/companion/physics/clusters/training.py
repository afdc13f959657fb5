"""Training the segmenter and the radius decoder on simulated clusters, both on ``companion.nn.optimise``.

Every random draw (batches, count levels, Poisson counts, rotations) comes from a named stream of
the training seed, so a run is repeatable at a fixed torch thread count and independent of
torch's global generator.
"""

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ... import rng
from ...nn import cosine, optimise
from .candidates import components, crops, match
from .nets import log_input, probabilities
from .simulation import loguniform


def _augment(x, y, k, flip):
    """The same rotation by k * 90 degrees and optional flip of images and masks (exact symmetries)."""
    x, y = torch.rot90(x, k, (-2, -1)), torch.rot90(y, k, (-2, -1))
    return (x.flip(-1), y.flip(-1)) if flip else (x, y)


def _run(model, step_loss, steps, lr, log_every):
    """Adam with a cosine-decaying rate on ``model`` in training mode; the loss every ``log_every`` steps
    and at the last (NaN at the step where it diverged, which ends the run)."""
    rows = []

    def log(step, loss):
        if step % log_every == 0 or step == steps - 1:
            rows.append({"step": step, "loss": loss.item()})

    model.train()
    outcome, stopped = optimise(model.parameters(), step_loss, steps, optimizer="adam", lr=lr,
                                schedule=cosine(steps), after=log)
    if outcome == "diverged":
        rows.append({"step": stopped, "loss": float("nan")})
    model.eval()
    return pd.DataFrame(rows, columns=["step", "loss"])


def train_segmenter(model, sample, *, steps, batch_size=32, lr=2e-3, seed=0, counts=(500.0, 50000.0),
                    pos_weight=1.0, device="cpu", log_every=50):
    """Train ``model`` in place on ``sample`` (a rendered ``Sample``) and return its loss history.

    Each step draws (from the stream "segmenter batch", step of ``seed``) ``batch_size`` clusters,
    a log-uniform count level in ``counts`` for each, fresh Poisson counts and a random
    rotation/flip, and takes an Adam step on the pixel BCE (``pos_weight`` weights cavity pixels)
    with a cosine-decaying learning rate.
    """
    model.to(device)
    weight = torch.tensor(float(pos_weight), device=device)
    n = len(sample.unit)

    def step_loss(step):
        gen = rng.numpy_rng(seed, "segmenter batch", step)
        idx = gen.integers(0, n, batch_size)
        lam = sample.unit[idx].astype(np.float64) * loguniform(gen, *counts, batch_size)[:, None, None]
        x = log_input(gen.poisson(lam))
        y = torch.from_numpy(sample.mask[idx]).float()[:, None]
        x, y = _augment(x, y, int(gen.integers(4)), bool(gen.integers(2)))
        return F.binary_cross_entropy_with_logits(model(x.to(device)), y[:, 0].to(device), pos_weight=weight)

    return _run(model, step_loss, steps, lr, log_every)


def decoder_examples(model, sample, *, seed, threshold=0.5, min_area=5, counts=(500.0, 50000.0), crop=32,
                     device="cpu"):
    """Crops of the segmenter's candidates on fresh Poisson draws of ``sample`` (at log-uniform count
    levels) and the log truth radius of the cavity each matches (unmatched candidates are left out)."""
    levels = loguniform(rng.numpy_rng(seed, "decoder levels"), *counts, len(sample.unit))
    observed = sample.observe(levels, seed, "decoder")
    prob = probabilities(model.segmenter, observed, device=device)
    found, table = components(prob, threshold, min_area)
    cavs, _ = match(found, table, sample.labels)
    cavs = cavs[cavs.component > 0].merge(sample.cavities[["image", "label", "radius"]], on=["image", "label"])
    pick = table.set_index(["image", "component"]).loc[list(zip(cavs.image, cavs.component))].reset_index()
    return crops(prob, found, pick, crop), torch.tensor(np.log(cavs.radius.to_numpy()), dtype=torch.float32)


def train_decoder(decoder, X, y, *, steps, batch_size=64, lr=2e-3, seed=0, device="cpu", log_every=50):
    """Train the radius decoder in place on crops ``X`` and log radii ``y`` (mean squared error,
    random 90-degree rotations and flips from the stream "decoder batch", step of ``seed``);
    returns the loss history (empty when there are no examples)."""
    decoder.to(device)

    def step_loss(step):
        gen = rng.numpy_rng(seed, "decoder batch", step)
        idx = torch.from_numpy(gen.integers(0, len(X), min(batch_size, len(X))))
        xb = torch.rot90(X[idx], int(gen.integers(4)), (-2, -1))
        xb = xb.flip(-1) if gen.integers(2) else xb
        return F.mse_loss(decoder(xb.to(device)), y[idx].to(device))

    return _run(decoder, step_loss, steps if len(X) else 0, lr, log_every)
