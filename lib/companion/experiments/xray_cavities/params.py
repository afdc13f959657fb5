"""The notebook's parameters and the constraints between them."""

from ...params import Param, ParameterError

ARCHITECTURES = ("unet", "inception")  # the segmenters of companion.physics.clusters.nets (NETWORKS)

# The settings the committed model was trained with (the notebook's defaults).
TRAINED = {"architecture": "unet", "widths": [16, 32, 64], "image_size": 64, "n_train": 4000,
           "train_steps": 3000, "batch_size": 32, "lr": 0.002, "pos_weight": 5.0, "decoder_steps": 400}

PARAMETERS = (
    Param("retrain", bool),
    Param("architecture", str, choices=ARCHITECTURES),
    Param("widths", int, 2, 512, many=True),
    Param("image_size", int, 32, 512),
    Param("n_train", int, 16, 10**6),
    Param("train_steps", int, 1, 10**6),
    Param("batch_size", int, 1, 4096),
    Param("lr", float, 1e-6, 1.0),
    Param("pos_weight", float, 0.01, 100.0),
    Param("decoder_steps", int, 0, 10**6),
    Param("counts", float, 10.0, 1e9, many=True),
    Param("n_test", int, 4, 10**5),
    Param("n_calibration", int, 4, 10**5),
    Param("n_stability", int, 1, 10**4),
    Param("n_realisations", int, 3, 10**4),
    Param("threshold", float, 0.01, 0.99),
    Param("min_area", int, 1, 10**4),
    Param("fit_iterations", int, 1, 1000),
    Param("n_boot", int, 100, 10**5),
    Param("point_sources", bool),
    Param("psf", bool),
)


def settings(p):
    """The training settings in ``p`` (the keys of TRAINED)."""
    return {k: getattr(p, k) for k in TRAINED}


def check(p):
    """Constraints between parameters, checked before any compute."""
    if p.architecture == "unet" and p.image_size % 2 ** (len(p.widths) - 1):
        raise ParameterError(f"parameter 'image_size' = {p.image_size} must be divisible by 2^(len(widths) - 1) = "
                             f"{2 ** (len(p.widths) - 1)} for a U-Net with widths {p.widths}")
    if len(set(p.counts)) != len(p.counts):
        raise ParameterError(f"parameter 'counts' = {p.counts!r} repeats a count level; give distinct levels")
    if not p.retrain:
        changed = {k: v for k, v in settings(p).items() if (list(v) if isinstance(v, (list, tuple)) else v) != TRAINED[k]}
        if changed:
            raise ParameterError("the committed model was trained with " + ", ".join(
                f"{k} = {TRAINED[k]!r}" for k in changed) + f"; got {changed!r}: set retrain = True to train with these")
