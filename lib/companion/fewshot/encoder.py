"""The 4-block convolutional encoder of prototypical networks (Vinyals et al. 2016; Snell et al. 2017).

Each block: 3x3 convolution (stride 1, same padding, with bias), ReLU, batch norm, 2x2 max pooling
(stride 2). Batch norm comes after the ReLU, as in the Gaussian prototypical networks code. On
28x28 images the side goes 28 -> 14 -> 7 -> 3 -> 1, so the output has ``filters[-1]`` numbers and
there is no final affine layer.

Two initialisations (``INITS``):

- ``xavier`` (ours): Xavier-normal convolution weights, zero biases, batch-norm epsilon 1e-5 (PyTorch's).
- ``paper``: what the paper's TensorFlow 1 code gets by default. Its weights and biases are
  ``tf.get_variable`` without an initialiser, which TF1 fills Glorot-uniform, U(-a, a) with
  a = sqrt(6 / (fan_in + fan_out)); a 3x3 kernel has fans 9 c_in and 9 c_out, and a bias of n
  entries, being 1-D, has fan_in = fan_out = n (TF1's ``_compute_fans``), so a = sqrt(3 / n).
  Its ``tf.layers.batch_normalization`` has epsilon 1e-3. Batch-norm weight 1 and bias 0 in both.
"""

import math

import torch
from torch import nn

from ..nn.models import _initialise

INITS = ("xavier", "paper")
EPS = {"xavier": 1e-5, "paper": 1e-3}  # batch-norm epsilon: PyTorch's default, TF1's default


def block(c_in, c_out, eps=1e-5):
    """conv 3x3 (same) -> ReLU -> BatchNorm -> max-pool 2x2."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(c_out, eps=eps),
                         nn.MaxPool2d(2))


def output_side(side, n_blocks):
    """The spatial side after ``n_blocks`` poolings of 2 (floor, as VALID pooling)."""
    for _ in range(n_blocks):
        side //= 2
    return side


class Encoder(nn.Sequential):
    """Blocks of :func:`block` with ``filters[i]`` channels, then flatten: (B, C, S, S) -> (B, out_features)."""

    def __init__(self, in_channels, filters, side, eps=1e-5):
        filters = [int(f) for f in filters]
        if not filters or any(f < 1 for f in filters):
            raise ValueError(f"filters={filters!r} must be a non-empty list of positive channel counts")
        if output_side(side, len(filters)) < 1:
            raise ValueError(f"{len(filters)} blocks halve a {side}x{side} image to nothing; "
                             f"allowed: at most {side.bit_length() - 1} blocks, or larger images")
        channels = [in_channels, *filters]
        super().__init__(*[block(a, b, eps) for a, b in zip(channels, channels[1:])], nn.Flatten())
        self.out_features = filters[-1] * output_side(side, len(filters)) ** 2


def glorot_bound(shape):
    """TF1's Glorot-uniform bound sqrt(6 / (fan_in + fan_out)) of a PyTorch weight (out, in, kh, kw) or a 1-D
    bias (n,), whose fans are both n."""
    if len(shape) == 1:
        fan_in = fan_out = shape[0]
    else:
        receptive = math.prod(shape[2:])
        fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
    return math.sqrt(6 / (fan_in + fan_out))


def encoder(in_channels=1, filters=(64, 64, 64, 64), side=28, seed=0, init="xavier"):
    """A seeded :class:`Encoder` initialised by ``init`` (one of ``INITS``; see the module docstring)."""
    if init not in INITS:
        raise ValueError(f"init={init!r} is not allowed; choose one of {', '.join(INITS)}")
    model = Encoder(in_channels, filters, side, EPS[init])
    if init == "xavier":
        return _initialise(model, "xavier", 1.0, seed)
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for conv in (m for m in model.modules() if isinstance(m, nn.Conv2d)):
            for t in (conv.weight, conv.bias):
                t.copy_((2 * torch.rand(t.shape, generator=gen) - 1) * glorot_bound(t.shape))
    return model
