"""Finding X-ray cavities: segmentation networks, the radius decoder and classical baselines.

Pipeline (after Fort 2017, arXiv:1712.00523): a CNN maps log10(counts + 1) to a per-pixel
cavity probability; connected pixels above a threshold are candidate cavities; a small ResNet
reads each candidate's crop of the probability map and returns its radius. Two networks:

- :class:`UNet`, a small U-Net of 3x3 convolutions that trains on two CPU cores in minutes;
- :class:`InceptionNet`, the paper's larger architecture as reconstructed by CADET ("Stan's
  model": parallel 1x1 ... 13x13 branches, then 8x8 ... 64x64), for a GPU.

Two classical baselines, so the network's gain is measured, not assumed:

- :func:`beta_residual`: fit a 2-D elliptical beta model plus background to the counts by
  Poisson likelihood (all images at once, in torch), smooth the residual and divide by its
  Poisson noise: cavities are pixels more than ``t`` sigma below the model;
- :func:`unsharp_mask`: the difference of two Gaussian smoothings in units of its Poisson noise,
  a documented stand-in for looking at an unsharp-masked image (a person adds their own scatter).
"""

import math

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import nn

# ---------------------------------------------------------------------------------------------
# Input transform and the segmentation networks


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


ARCHITECTURES = ("unet", "inception")


def segmenter(architecture="unet", widths=(16, 32, 64), seed=0):
    """A freshly initialised segmentation network (torch's default init drawn under ``seed``)."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture={architecture!r} is not allowed; choose one of {list(ARCHITECTURES)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return UNet(widths) if architecture == "unet" else InceptionNet()


# ---------------------------------------------------------------------------------------------
# The radius decoder: a small ResNet on crops of the predicted map


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
    """Segmenter and radius decoder in one module, so both travel in one state_dict."""

    def __init__(self, architecture="unet", widths=(16, 32, 64), seed=0):
        super().__init__()
        self.segmenter = segmenter(architecture, widths, seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + 1)
            self.decoder = RadiusDecoder()


def n_parameters(model):
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ---------------------------------------------------------------------------------------------
# Candidates: connected pixels above a threshold


EIGHT = np.ones((3, 3), bool)


def components(score, threshold, min_area=1):
    """Connected (8-neighbour) regions of ``score > threshold`` with at least ``min_area`` pixels.

    ``score``: (n, H, W). Returns (labels (n, H, W) int32 with 0 = none and 1.. per image, table
    with one row per region: image, component, area, y, x (centroid, pixel centres at i + 0.5),
    peak (largest score), radius_area = sqrt(area / pi)).
    """
    score = np.asarray(score)
    out = np.zeros(score.shape, np.int32)
    rows = []
    for i, s in enumerate(score):
        lab, n = ndimage.label(s > threshold, structure=EIGHT)
        if n == 0:
            continue
        idx = np.arange(1, n + 1)
        area = ndimage.sum_labels(np.ones_like(s), lab, idx)
        keep = idx[area >= min_area]
        if len(keep) == 0:
            continue
        renumber = np.zeros(n + 1, np.int32)
        renumber[keep] = np.arange(1, len(keep) + 1)
        out[i] = renumber[lab]
        centres = ndimage.center_of_mass(np.ones_like(s), lab, keep)
        peaks = ndimage.maximum(s, lab, keep)
        for j, (k, (cy, cx), pk) in enumerate(zip(keep, centres, peaks), 1):
            a = float(area[k - 1])
            rows.append({"image": i, "component": j, "area": a, "y": cy + 0.5, "x": cx + 0.5, "peak": float(pk),
                         "radius_area": math.sqrt(a / math.pi)})
    columns = ["image", "component", "area", "y", "x", "peak", "radius_area"]
    return out, pd.DataFrame(rows, columns=columns)


def match(found, table, labels, min_iou=0.2):
    """Match candidates to true cavities by overlap.

    ``found``: candidate labels (n, H, W); ``table``: their rows from :func:`components`;
    ``labels``: truth labels (n, H, W). Returns (cavities, candidates): per true cavity (image,
    label) the best candidate's ``component`` (0 when none reaches IoU ``min_iou``) and its
    ``iou``; per candidate whether it matched a cavity (``true``).
    """
    cav_rows, matched = [], set()
    for i in range(len(labels)):
        truth = labels[i]
        for k in np.unique(truth[truth > 0]):
            t = truth == k
            cands, inter = np.unique(found[i][t & (found[i] > 0)], return_counts=True)
            best, best_iou = 0, 0.0
            for c, n in zip(cands, inter):
                iou = n / np.count_nonzero(t | (found[i] == c))
                if iou > best_iou:
                    best, best_iou = int(c), float(iou)
            ok = best_iou >= min_iou
            cav_rows.append({"image": i, "label": int(k), "component": best if ok else 0, "iou": best_iou})
            if ok:
                matched.add((i, best))
    cavities = pd.DataFrame(cav_rows, columns=["image", "label", "component", "iou"])
    cands = table.assign(true=[(int(i), int(c)) in matched for i, c in zip(table.image, table.component)])
    return cavities, cands


def crops(prob, found, table, size=32):
    """Decoder input (m, 2, size, size): the probability map and the candidate's own mask, centred on
    each candidate of ``table`` (zero outside the image)."""
    m = len(table)
    out = np.zeros((m, 2, size, size), np.float32)
    H, W = prob.shape[1:]
    half = size // 2
    for r, row in enumerate(table.itertuples()):
        i, cy, cx = int(row.image), int(row.y), int(row.x)
        y0, x0 = cy - half, cx - half
        ys, xs = slice(max(0, y0), min(H, y0 + size)), slice(max(0, x0), min(W, x0 + size))
        dst = (slice(ys.start - y0, ys.stop - y0), slice(xs.start - x0, xs.stop - x0))
        out[r, 0][dst] = prob[i][ys, xs]
        out[r, 1][dst] = found[i][ys, xs] == row.component
    return torch.from_numpy(out)


# ---------------------------------------------------------------------------------------------
# Training


def _augment(x, y, k, flip):
    """The same rotation by k * 90 degrees and optional flip of images and masks (exact symmetries)."""
    x, y = torch.rot90(x, k, (-2, -1)), torch.rot90(y, k, (-2, -1))
    return (x.flip(-1), y.flip(-1)) if flip else (x, y)


def train_segmenter(model, sample, *, steps, batch_size=32, lr=2e-3, seed=0, counts=(500.0, 50000.0),
                    pos_weight=1.0, device="cpu", log_every=50):
    """Train ``model`` in place on ``sample`` (a rendered ``clusters.Sample``) and return its loss history.

    Each step draws ``batch_size`` clusters, a log-uniform count level in ``counts`` for each,
    fresh Poisson counts, a random rotation/flip, and takes an Adam step on the pixel BCE
    (``pos_weight`` weights cavity pixels) with a cosine-decaying learning rate. Every draw
    comes from ``seed``, so the run is repeatable at a fixed torch thread count.
    """
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, steps))
    weight = torch.tensor(float(pos_weight), device=device)
    n, rows = len(sample.unit), []
    for step in range(steps):
        rng = np.random.default_rng([seed, step])
        idx = rng.integers(0, n, batch_size)
        level = np.exp(rng.uniform(np.log(counts[0]), np.log(counts[1]), batch_size))
        lam = sample.unit[idx].astype(np.float64) * level[:, None, None]
        x = log_input(rng.poisson(lam))
        y = torch.from_numpy(sample.mask[idx]).float()[:, None]
        x, y = _augment(x, y, int(rng.integers(4)), bool(rng.integers(2)))
        logits = model(x.to(device))
        loss = F.binary_cross_entropy_with_logits(logits, y[:, 0].to(device), pos_weight=weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % log_every == 0 or step == steps - 1:
            rows.append({"step": step, "loss": loss.item()})
    model.eval()
    return pd.DataFrame(rows)


@torch.no_grad()
def probabilities(model, counts, batch_size=64, device="cpu"):
    """Per-pixel cavity probabilities (n, H, W) float32 of ``counts`` (n, H, W)."""
    model.to(device).eval()
    out = [torch.sigmoid(model(log_input(counts[i:i + batch_size]).to(device))).cpu()
           for i in range(0, len(counts), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros(np.shape(counts), np.float32)


def decoder_examples(model, sample, *, seed, threshold=0.5, min_area=5, counts=(500.0, 50000.0), crop=32,
                     device="cpu"):
    """Crops of the segmenter's candidates on fresh Poisson draws of ``sample`` and the log truth radius
    of the cavity each matches (unmatched candidates are left out)."""
    rng = np.random.default_rng([seed, 10**6])
    levels = np.exp(rng.uniform(np.log(counts[0]), np.log(counts[1]), len(sample.unit)))
    observed = sample.observe(levels, seed=seed, realisation=10**6)
    prob = probabilities(model.segmenter, observed, device=device)
    found, table = components(prob, threshold, min_area)
    cavs, _ = match(found, table, sample.labels)
    cavs = cavs[cavs.component > 0].merge(sample.cavities[["image", "label", "radius"]], on=["image", "label"])
    pick = table.set_index(["image", "component"]).loc[list(zip(cavs.image, cavs.component))].reset_index()
    return crops(prob, found, pick, crop), torch.tensor(np.log(cavs.radius.to_numpy()), dtype=torch.float32)


def train_decoder(decoder, X, y, *, steps, batch_size=64, lr=2e-3, seed=0, device="cpu", log_every=50):
    """Train the radius decoder in place on crops ``X`` and log radii ``y`` (mean squared error,
    random 90-degree rotations and flips); returns the loss history."""
    decoder.to(device).train()
    opt = torch.optim.Adam(decoder.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, steps))
    rows = []
    for step in range(steps if len(X) else 0):
        rng = np.random.default_rng([seed, step, 7])
        idx = torch.from_numpy(rng.integers(0, len(X), min(batch_size, len(X))))
        xb = torch.rot90(X[idx], int(rng.integers(4)), (-2, -1))
        xb = xb.flip(-1) if rng.integers(2) else xb
        loss = F.mse_loss(decoder(xb.to(device)), y[idx].to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % log_every == 0 or step == steps - 1:
            rows.append({"step": step, "loss": loss.item()})
    decoder.eval()
    return pd.DataFrame(rows, columns=["step", "loss"])


@torch.no_grad()
def decode(decoder, prob, found, table, crop=32, device="cpu"):
    """The decoder's radius (pixels) for every candidate of ``table``."""
    if len(table) == 0:
        return np.zeros(0)
    decoder.to(device).eval()
    return torch.exp(decoder(crops(prob, found, table, crop).to(device))).cpu().numpy()


# ---------------------------------------------------------------------------------------------
# Classical baselines


def _gauss_kernel(sigma):
    r = max(1, int(math.ceil(3 * sigma)))
    g = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float64) / sigma) ** 2)
    return g / g.sum()


def smooth(images, sigma):
    """Separable Gaussian smoothing of (n, H, W) with zero padding (float64 torch)."""
    g = _gauss_kernel(sigma)
    x = torch.as_tensor(images, dtype=torch.float64)[:, None]
    x = F.conv2d(x, g.view(1, 1, 1, -1), padding=(0, len(g) // 2))
    x = F.conv2d(x, g.view(1, 1, -1, 1), padding=(len(g) // 2, 0))
    return x[:, 0]


def _beta_surface(params, size, jacobian=False):
    """2-D elliptical beta model A (1 + r^2/rc^2)^(1/2 - 3 beta) + b for each row of ``params``
    (x0, y0, log rc, beta', log A, log b, e1, e2), beta = 0.2 + softplus(beta'), with
    r^2 = d^T [[1 + e1, e2], [e2, 1 - e1]] d: the shape enters linearly, so a round cluster is no
    singular point of the fit. With ``jacobian`` also its analytic derivatives (n, 8, H, W)."""
    x0, y0, log_rc, beta_raw, log_a, log_b, e1, e2 = (t[:, None, None] for t in params.unbind(1))
    c = torch.arange(size, dtype=params.dtype) + 0.5
    dx, dy = c[None, None, :] - x0, c[None, :, None] - y0
    r2 = (1 + e1) * dx ** 2 + 2 * e2 * dx * dy + (1 - e1) * dy ** 2
    inv_rc2 = torch.exp(-2 * log_rc)
    u = 1 + r2 * inv_rc2
    power = 0.5 - 3 * (0.2 + F.softplus(beta_raw))
    core = torch.exp(log_a) * u ** power
    bkg = torch.exp(log_b).expand_as(core)
    if not jacobian:
        return core + bkg
    slope = core * power / u * inv_rc2  # d core / d r2
    J = torch.stack([slope * -2 * ((1 + e1) * dx + e2 * dy), slope * -2 * (e2 * dx + (1 - e1) * dy),
                     slope * -2 * r2, core * torch.log(u) * -3 * torch.sigmoid(beta_raw), core, bkg,
                     slope * (dx ** 2 - dy ** 2), slope * 2 * dx * dy], 1)
    return core + bkg, J


def _beta_init(c):
    """Starting parameters: the counts' centroid, core 4 px (at 64 px), beta' = 0.3 (beta about 1.05),
    round, the smoothed peak and the mean count of a 4-pixel border."""
    size = c.shape[-1]
    grid = torch.arange(size, dtype=torch.float64) + 0.5
    tot = c.sum((1, 2)).clamp_min(1)
    x0, y0 = (c.sum(1) * grid).sum(1) / tot, (c.sum(2) * grid).sum(1) / tot
    edge = torch.cat([c[:, :4].flatten(1), c[:, -4:].flatten(1), c[:, :, :4].flatten(1), c[:, :, -4:].flatten(1)], 1)
    b0 = edge.mean(1).clamp_min(0.01)
    a0 = smooth(c, 1.5).flatten(1).amax(1).clamp_min(0.1)
    return torch.stack([x0, y0, torch.full_like(x0, math.log(4.0 * size / 64)), torch.full_like(x0, 0.3),
                        torch.log(a0), torch.log(b0), torch.zeros_like(x0), torch.zeros_like(x0)], 1)


def fit_beta(counts, exposure=None, iterations=25):
    """Poisson maximum-likelihood fit of an elliptical 2-D beta model plus flat background to every
    image at once: Fisher scoring with Levenberg-Marquardt damping (per image), float64, analytic
    Jacobians. Returns the fitted expected counts (n, H, W), including ``exposure`` (n, H, W;
    default 1), and the parameters (n, 8)."""
    c = torch.as_tensor(np.asarray(counts), dtype=torch.float64)
    size = c.shape[-1]
    expo = torch.ones_like(c) if exposure is None else torch.as_tensor(np.asarray(exposure), dtype=torch.float64)
    nll = lambda m: (m - c * torch.log(m)).sum((1, 2))
    params = _beta_init(c)
    m = expo * _beta_surface(params, size)
    current = nll(m)
    lam = torch.full((len(c),), 1e-2, dtype=torch.float64)
    eye = torch.eye(params.shape[1], dtype=torch.float64)
    for _ in range(iterations):
        _, J = _beta_surface(params, size, jacobian=True)
        J = (J * expo[:, None]).flatten(2)  # (n, 8, pixels)
        grad = torch.einsum("nkp,np->nk", J, (1 - c / m).flatten(1))
        fisher = torch.einsum("nkp,nlp->nkl", J / m.flatten(1)[:, None], J)
        damped = fisher + lam[:, None, None] * (torch.diagonal(fisher, dim1=1, dim2=2)[:, :, None] * eye + 1e-9 * eye)
        trial = params + torch.linalg.solve(damped, -grad[..., None])[..., 0]
        m_new = expo * _beta_surface(trial, size)
        new = nll(m_new)
        ok = torch.isfinite(new) & (new < current)
        params = torch.where(ok[:, None], trial, params)
        m = torch.where(ok[:, None, None], m_new, m)
        current = torch.where(ok, new, current)
        lam = torch.where(ok, lam / 3, lam * 4).clamp(1e-6, 1e6)
    return m.numpy(), params.numpy()


def beta_residual(counts, model, sigma=1.5):
    """Significance of the smoothed residual: (G * (counts - model)) / sqrt(G^2 * model), the residual
    in units of its Poisson standard deviation. Cavities are strongly negative."""
    num = smooth(np.asarray(counts, np.float64) - model, sigma)
    g = _gauss_kernel(sigma)
    g2 = g ** 2
    x = torch.as_tensor(model, dtype=torch.float64)[:, None]
    x = F.conv2d(x, g2.view(1, 1, 1, -1), padding=(0, len(g) // 2))
    var = F.conv2d(x, g2.view(1, 1, -1, 1), padding=(len(g) // 2, 0))[:, 0]
    return (num / var.clamp_min(1e-12).sqrt()).numpy()


def unsharp_mask(counts, exposure=None, small=1.5, large=6.0):
    """Unsharp mask in units of its noise: the image smoothed by ``small`` minus the image smoothed by
    ``large``, divided by the Poisson noise of the first, i.e. :func:`beta_residual` with the large-scale
    smoothing (of the exposure-corrected image, edges normalised by the kernel mass inside the image,
    times the exposure) as the model. Model-free; cavities are negative."""
    c = np.asarray(counts, np.float64)
    expo = np.ones_like(c) if exposure is None else np.asarray(exposure, np.float64)
    ones = np.ones_like(c[:1])
    reference = expo * (smooth(c / expo, large) / smooth(ones, large)).numpy()
    return beta_residual(c, np.maximum(reference, 1e-9), small)
