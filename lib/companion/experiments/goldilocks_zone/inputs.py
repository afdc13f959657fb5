"""How the input scale moves the shell: the statistics that set it, and Tr/||H|| against radius per input scale.

For a ReLU MLP with zero biases (every init here but torch's), multiplying the inputs by c is the same
function as multiplying the first layer by c, so the logits at a given radius grow with c and the
shell moves to smaller radii. What the digits run must match to be the paper's setting is therefore
the first layer's pre-activation variance at scale 1, not the raw input norm.
"""

import dataclasses

import pandas as pd
import torch

from ...landscape.zone import half_maximum_zone
from .compute import ray_point

MNIST_PIXEL_MEAN, MNIST_PIXEL_STD = 0.1307, 0.3081  # MNIST/255, the customary normalisation constants


def mnist_reference(widths=(200, 200)):
    """MNIST/255 in the paper's 784-200-200-10 MLP: mean ||x||^2 and Xavier's first-layer pre-activation
    variance 2 E||x||^2 / (fan_in + fan_out), from the pixel mean and standard deviation above."""
    mean_square = 784 * (MNIST_PIXEL_STD ** 2 + MNIST_PIXEL_MEAN ** 2)
    return {"mean_square_norm": mean_square, "first_layer_variance": 2 * mean_square / (784 + widths[0])}


def input_statistics(data, p, model):
    """Mean ||x||^2 over the training inputs, and the variance of ``model``'s first pre-activations on them."""
    X = data.split("train", p.device, torch.float64)[0].flatten(1)
    first = next(layer for layer in model.modules() if isinstance(layer, torch.nn.Linear))
    with torch.no_grad():
        h = first(X)
    return {"mean_square_norm": X.pow(2).sum(1).mean().item(), "first_layer_variance": h.pow(2).mean().item()}


def scaled(data, c):
    """``data`` with every input multiplied by ``c``."""
    return dataclasses.replace(data, X_train=data.X_train * c, X_test=data.X_test * c)


def input_scale_panel(data, p):
    """Tr/||H|| and the fraction positive against radius, first activation, for inputs times each of
    ``input_scales``, on the first ``panel_seeds`` rays of :func:`curvature_vs_radius` (same inits, subspaces)."""
    activation, rows = p.activations[0], []
    for c in p.input_scales:
        data_c = scaled(data, c)
        X, y = data_c.split("train", p.device, torch.float64)
        rows += [{"input_scale": c, "scale": scale, "seed": s,
                  **ray_point(data_c, p, X, y, activation, scale, s, p.subspace_dim)}
                 for scale in p.scales for s in range(p.panel_seeds)]
    return pd.DataFrame(rows).drop(columns="eigenvalues")


def panel_shells(panel_summary):
    """{input scale: the scales of its shell}, by the sweep's half-maximum rule on Tr/||H||."""
    return {c: half_maximum_zone(t, x="scale", y="gamma") for c, t in panel_summary.groupby("input_scale")}
