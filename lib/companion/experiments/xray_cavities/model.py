"""The cavity model: trained here with any settings, or the committed one (``xray_cavities_unet``) loaded.

``companion model train xray_cavities_unet [--out PATH]`` reproduces the committed file with
:func:`train_committed` (see ``data/models/README.md``). Training runs with one torch thread
whatever the caller set, so the same command gives the same bytes on any core count.
"""

import pandas as pd

from ... import artifacts
from ...nn import n_parameters, threads
from ...physics.clusters import nets, simulation, training
from ...physics.clusters.projection import REFERENCE_SIZE
from .params import TRAINED, settings

NAME = "xray_cavities_unet"
COMMITTED = artifacts.artifact(NAME)
TRAIN_SEED = 0
# Training: one torch thread. Measured on the shared two-core machine (other jobs running): five
# U-Net steps took 6-7 s wall with one thread and 22 s with two, and the weights differ bitwise
# between thread counts; fixing the count here makes the committed bytes reproducible.
TRAIN_THREADS = 1
DECODER_DETECT = (0.5, 5)  # threshold and minimum area (pixels at 64 px) of the decoder's training candidates


def crop_size(image_size):
    """Side of the decoder's crops: half the image."""
    return image_size // 2


def scaled_area(area, size):
    """An area in pixels of a 64-pixel image, in pixels of a ``size``-pixel one (at least 1)."""
    return max(1, int(round(area * (size / REFERENCE_SIZE) ** 2)))


def train_models(config=None, seed=TRAIN_SEED, device="cpu", prior=simulation.PRIOR):
    """Train segmenter and radius decoder with ``config`` (TRAINED by default) on ``n_train`` fresh
    clusters of the "train" stream drawn from ``prior`` (the committed model: the default prior, without
    point sources or PSF). Returns (model on the CPU, loss history with a ``net`` column)."""
    c = {**TRAINED, **(config or {})}
    size = c["image_size"]
    counts = prior.counts
    with threads(TRAIN_THREADS):
        sample = simulation.simulate(c["n_train"], seed, "train", prior, size)
        model = nets.CavityModel(c["architecture"], c["widths"], seed)
        seg = training.train_segmenter(model.segmenter, sample, steps=c["train_steps"], batch_size=c["batch_size"],
                                       lr=c["lr"], seed=seed, counts=counts, pos_weight=c["pos_weight"], device=device)
        threshold, area = DECODER_DETECT
        X, y = training.decoder_examples(model, sample, seed=seed, threshold=threshold,
                                         min_area=scaled_area(area, size), counts=counts, crop=crop_size(size),
                                         device=device)
        dec = training.train_decoder(model.decoder, X, y, steps=c["decoder_steps"], seed=seed, device=device)
    model.cpu().eval()
    history = pd.concat([seg.assign(net="segmenter"), dec.assign(net="decoder")], ignore_index=True)
    return model, history.astype({"step": int, "loss": float})


def parameter_counts(model):
    """Trainable parameters of the segmenter and of the decoder."""
    return n_parameters(model.segmenter, trainable=True), n_parameters(model.decoder, trainable=True)


def train_committed():
    """The committed model, trained from scratch with the committed settings (TRAINED, seed 0)."""
    model, _ = train_models()
    return model


def load_committed(path=None):
    """The committed model (from ``path`` when given), after its sha256 is checked."""
    model = nets.CavityModel(TRAINED["architecture"], TRAINED["widths"])
    model.load_state_dict(artifacts.load_state(NAME, path))
    return model.eval()


def get_model(p):
    """The notebook's model: the committed one, or (``retrain``) one trained now with ``p``'s settings,
    seed and instrument (point sources, PSF). Returns (model, history or None, sha256 of its state)."""
    if not p.retrain:
        return load_committed(), None, COMMITTED.sha256
    prior = simulation.instrument_prior(p.point_sources, p.psf)
    model, history = train_models(settings(p), seed=p.seed, device=p.device, prior=prior)
    return model, history, artifacts.state_sha256(model)
