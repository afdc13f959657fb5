"""The 4-block convolutional encoder of prototypical networks (Vinyals et al. 2016; Snell et al. 2017).

Each block: 3x3 convolution (stride 1, same padding, with bias), ReLU, batch norm, 2x2 max pooling
(stride 2). Batch norm comes after the ReLU, as in the Gaussian prototypical networks code. On
28x28 images the side goes 28 -> 14 -> 7 -> 3 -> 1, so the output has ``filters[-1]`` numbers and
there is no final affine layer.
"""

from torch import nn

from ..nn.models import _initialise


def block(c_in, c_out):
    """conv 3x3 (same) -> ReLU -> BatchNorm -> max-pool 2x2."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(c_out), nn.MaxPool2d(2))


def output_side(side, n_blocks):
    """The spatial side after ``n_blocks`` poolings of 2 (floor, as VALID pooling)."""
    for _ in range(n_blocks):
        side //= 2
    return side


class Encoder(nn.Sequential):
    """Blocks of :func:`block` with ``filters[i]`` channels, then flatten: (B, C, S, S) -> (B, out_features)."""

    def __init__(self, in_channels, filters, side):
        filters = [int(f) for f in filters]
        if not filters or any(f < 1 for f in filters):
            raise ValueError(f"filters={filters!r} must be a non-empty list of positive channel counts")
        if output_side(side, len(filters)) < 1:
            raise ValueError(f"{len(filters)} blocks halve a {side}x{side} image to nothing; "
                             f"allowed: at most {side.bit_length() - 1} blocks, or larger images")
        channels = [in_channels, *filters]
        super().__init__(*[block(a, b) for a, b in zip(channels, channels[1:])], nn.Flatten())
        self.out_features = filters[-1] * output_side(side, len(filters)) ** 2


def encoder(in_channels=1, filters=(64, 64, 64, 64), side=28, seed=0):
    """A seeded :class:`Encoder`: Xavier-normal convolutions, zero biases, batch norm at (1, 0)."""
    return _initialise(Encoder(in_channels, filters, side), "xavier", 1.0, seed)
