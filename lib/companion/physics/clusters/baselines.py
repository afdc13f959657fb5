"""Classical cavity finders, so the network's gain is measured, not assumed.

- :func:`beta_residual`: fit a 2-D elliptical beta model plus background to the counts by
  Poisson likelihood (all images at once, in torch), smooth the residual and divide by its
  Poisson noise: cavities are pixels more than ``t`` sigma below the model;
- :func:`unsharp_mask`: the difference of two Gaussian smoothings in units of its Poisson noise,
  a documented stand-in for looking at an unsharp-masked image (a person adds their own scatter).
"""

import math

import numpy as np
import torch
import torch.nn.functional as F


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
