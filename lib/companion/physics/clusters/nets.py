"""The networks that find cavities: a segmenter (per-pixel cavity logit) and a radius decoder.

Pipeline (after Fort 2017, arXiv:1712.00523): a CNN maps log10(counts + 1) to a per-pixel
cavity probability; connected pixels above a threshold are candidate cavities
(``candidates``); a small ResNet reads each candidate's crop of the probability map and
returns its radius. Two segmenters:

- :class:`UNet`, a small U-Net of 3x3 convolutions that trains on two CPU cores in minutes;
- :class:`InceptionNet`, the paper's larger architecture as reconstructed by CADET ("Stan's
  model": parallel 1x1 ... 13x13 branches, then 8x8 ... 64x64), for a GPU.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ... import rng
from .candidates import crops


def log_input(counts):
    """Network input (n, 1, H, W) float32: log10(counts + 1), divided by each image's maximum so
    every count level spans [0, 1]."""
    x = torch.log10(torch.as_tensor(counts, dtype=torch.float32) + 1)
    peak = x.flatten(1).amax(1).clamp_min(1e-6)
    return (x / peak[:, None, None])[:, None]


def _double_conv(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                         nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """U-Net with 3x3 convolutions: per width two conv-BN-ReLU layers, 2x2 max-pooling down,
    transposed-convolution up with skip connections; one output logit per pixel.
    Image sides must be divisible by 2^(len(widths) - 1)."""

    def __init__(self, widths=(16, 32, 64)):
        super().__init__()
        self.widths = tuple(int(w) for w in widths)
        chans = (1, *self.widths)
        self.down = nn.ModuleList(_double_conv(a, b) for a, b in zip(chans[:-1], chans[1:]))
        self.up = nn.ModuleList(nn.ConvTranspose2d(b, a, 2, stride=2) for a, b in zip(self.widths[:-1], self.widths[1:]))
        self.merge = nn.ModuleList(_double_conv(2 * a, a) for a in self.widths[:-1])
        self.head = nn.Conv2d(self.widths[0], 1, 1)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for i in reversed(range(len(self.up))):
            x = self.merge[i](torch.cat([skips[i], self.up[i](x)], 1))
        return self.head(x)[:, 0]


class _Inception(nn.Module):
    """Parallel same-padded convolutions (each followed by ReLU and BN), concatenated, then 1x1 to ``out``."""

    def __init__(self, c_in, branches, out, dropout):
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c_in, n, k, padding="same"), nn.ReLU(inplace=True), nn.BatchNorm2d(n))
            for n, k in branches)
        total = sum(n for n, _ in branches)
        self.mix = (nn.Sequential(nn.Conv2d(total, out, 1), nn.ReLU(inplace=True), nn.BatchNorm2d(out), nn.Dropout(dropout))
                    if out else None)

    def forward(self, x):
        x = torch.cat([b(x) for b in self.branches], 1)
        return x if self.mix is None else self.mix(x)


INCEPTION_BRANCHES = ((32, 1), (32, 3), (16, 5), (8, 7), (4, 9), (2, 11), (1, 13))
INCEPTION_FINAL = ((8, 8), (4, 16), (2, 32), (1, 64))


class InceptionNet(nn.Module):
    """The paper's larger network as CADET's ``stannet.py`` reconstructs it (the paper's exact layers are
    not published): input BN, four Inception blocks (branches 1x1 ... 13x13, mixed to 32/64/64/32 filters,
    dropout), a final block of 8x8 ... 64x64 branches and a 1x1 convolution to one logit per pixel.
    ``scale`` multiplies every filter count (1: the full network, about 0.56 M parameters)."""

    def __init__(self, scale=1.0, dropout=0.2):
        super().__init__()
        s = lambda n: max(1, int(round(n * scale)))
        layers, c = [nn.BatchNorm2d(1)], 1
        for out in (32, 64, 64, 32):
            layers.append(_Inception(c, [(s(n), k) for n, k in INCEPTION_BRANCHES], s(out), dropout))
            c = s(out)
        final = [(s(n), k) for n, k in INCEPTION_FINAL]
        layers.append(_Inception(c, final, 0, 0.0))
        layers.append(nn.Conv2d(sum(n for n, _ in final), 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)[:, 0]


NETWORKS = {"unet": UNet, "inception": lambda widths: InceptionNet()}


def _seeded(build, seed):
    """``build()`` with torch's default initialisation drawn under ``seed``, the global generator untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def segmenter(architecture="unet", widths=(16, 32, 64), seed=0):
    """A freshly initialised segmentation network, its initialisation drawn under the torch seed ``seed``."""
    if architecture not in NETWORKS:
        raise ValueError(f"architecture={architecture!r} is not allowed; choose one of {list(NETWORKS)}")
    return _seeded(lambda: NETWORKS[architecture](widths), seed)


class _Block(nn.Module):
    """Residual block: two 3x3 conv-BN layers, identity (or strided 1x1) shortcut."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                                  nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out))
        self.skip = (nn.Identity() if stride == 1 and c_in == c_out
                     else nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)))

    def forward(self, x):
        return F.relu(self.body(x) + self.skip(x))


class RadiusDecoder(nn.Module):
    """Small ResNet: a crop of (probability map, candidate mask) -> log radius.

    It predicts a correction to log sqrt(area / pi) of the candidate, so an untrained decoder
    already returns the area radius, and training only has to learn how the thresholded map's
    area is biased (smaller at low counts, merged neighbours, partial fills).
    """

    def __init__(self, width=16):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(2, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        self.blocks = nn.Sequential(_Block(width, width, 1), _Block(width, 2 * width, 2), _Block(2 * width, 2 * width, 2))
        self.head = nn.Linear(2 * width, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, crops):
        area = crops[:, 1].flatten(1).sum(1).clamp_min(1.0)
        feats = self.blocks(self.stem(crops)).mean((2, 3))
        return 0.5 * torch.log(area / math.pi) + self.head(feats)[:, 0]


class CavityModel(nn.Module):
    """Segmenter and radius decoder in one module, so both travel in one state_dict; their
    initialisations come from the streams "segmenter init" and "decoder init" of ``seed``."""

    def __init__(self, architecture="unet", widths=(16, 32, 64), seed=0):
        super().__init__()
        self.segmenter = segmenter(architecture, widths, rng.derive(seed, "segmenter init"))
        self.decoder = _seeded(RadiusDecoder, rng.derive(seed, "decoder init"))


@torch.no_grad()
def probabilities(model, counts, batch_size=64, device="cpu"):
    """Per-pixel cavity probabilities (n, H, W) float32 of ``counts`` (n, H, W)."""
    model.to(device).eval()
    out = [torch.sigmoid(model(log_input(counts[i:i + batch_size]).to(device))).cpu()
           for i in range(0, len(counts), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros(np.shape(counts), np.float32)


@torch.no_grad()
def decode(decoder, prob, found, table, crop=32, device="cpu"):
    """The decoder's radius (pixels) for every candidate of ``table``."""
    if len(table) == 0:
        return np.zeros(0)
    decoder.to(device).eval()
    return torch.exp(decoder(crops(prob, found, table, crop).to(device))).cpu().numpy()
