"""What a telescope adds to a cluster's image: unresolved point sources and a point-spread function.

Both are off in the default prior (the committed model was trained without them) and switched on
through :func:`instrument_prior`:

- point sources (background AGN, stars): their number in an image is Poisson, their positions
  uniform over the image, their counts a log-uniform fraction of the cluster's, and each is drawn
  with a King profile (1 + r^2 / r0^2)^(-3/2) (the shape of an X-ray telescope's PSF with its wings),
  normalised to unit flux on the infinite plane (``king``);
- the PSF: the whole sky image (cluster and point sources) convolved with a Gaussian (``blur``),
  which smears small cavities into the gas around them. The background is flat and is not blurred.

Lengths are in pixels of a 64-pixel image, scaled with ``size`` like every length of the prior.
"""

import numpy as np
from scipy import ndimage

SOURCES = 3.0              # mean number of point sources per image when they are switched on
SOURCE_FLUX = (0.002, 0.02)  # each source's counts relative to the cluster's, log-uniform
KING_CORE = 1.0            # core radius r0 of a source's King profile, pixels at 64 px
PSF_SIGMA = 1.0            # Gaussian PSF sigma when it is switched on, pixels at 64 px (FWHM 2.4 px)


def king(size, x, y, r0):
    """A point source at (x, y) (pixels from the corner): the King profile (1 + r^2/r0^2)^(-3/2) at the
    pixel centres, divided by its integral over the plane, 2 pi r0^2, so a source of flux f adds f * king."""
    c = np.arange(size) + 0.5
    r2 = (c[None, :] - x) ** 2 + (c[:, None] - y) ** 2
    return (1 + r2 / r0 ** 2) ** -1.5 / (2 * np.pi * r0 ** 2)


def draw_sources(gen, mean, flux, size):
    """Point sources of one image: ((x, y, flux fraction), ...), their number Poisson with ``mean``."""
    n = gen.poisson(mean) if mean > 0 else 0
    return tuple((float(gen.uniform(0, size)), float(gen.uniform(0, size)),
                  float(np.exp(gen.uniform(*np.log(flux))))) for _ in range(n))


def sources_map(sources, size, r0):
    """The sources' sky brightness (size, size), each ``flux fraction * king``, in units of the cluster's counts."""
    out = np.zeros((size, size))
    for x, y, f in sources:
        out += f * king(size, x, y, r0)
    return out


def blur(image, sigma):
    """``image`` convolved with a normalised Gaussian of ``sigma`` pixels (flux leaving the image is lost);
    ``sigma`` 0 returns it unchanged."""
    return ndimage.gaussian_filter(image, sigma, mode="constant", truncate=4.0) if sigma > 0 else image
