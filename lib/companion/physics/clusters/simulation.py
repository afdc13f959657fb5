"""Samples of simulated clusters: drawn from a prior, rendered once, observed as Poisson counts at any level.

Lengths are in pixels of a 64-pixel image; ``size`` scales every length of the prior, so a
128-pixel image shows the same clusters at twice the resolution. A sample belongs to a named
``stream`` (training, test, ...): cluster ``i`` is drawn from the stream ("cluster", stream, i)
of the seed and its counts from ("counts", stream, i, *keys), so image ``i`` does not depend on
how many are drawn and two streams, or two seeds, share no cluster and no noise.
"""

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ... import rng
from . import instrument
from .projection import REFERENCE_SIZE, Cavity, Cluster, cavity_radius, expected_counts, exposure_map, render


@dataclass(frozen=True)
class Prior:
    """Ranges the clusters are drawn from (lengths in pixels of a 64-pixel image; see the module doc).

    The choices follow the public CADET simulator's ranges where it gives them (core radius
    mostly 3-10 px, beta 0.5-1.1, cluster ellipticity <= 0.3, cavity distance correlated with
    radius), scaled to 64 pixels; the paper's own are not known.
    """

    rc: tuple = (2.5, 10.0)            # core radius, log-uniform
    beta: tuple = (0.5, 1.0)           # slope, uniform
    ellipticity: tuple = (0.0, 0.3)    # cluster ellipticity, uniform
    offset: float = 2.0                # cluster centre within +-offset of the image centre
    cavity_fraction: float = 0.5       # probability that an image has cavities
    pair_fraction: float = 0.75        # given cavities: probability of a pair rather than one
    radius: tuple = (2.5, 9.0)         # cavity radius, log-uniform
    distance: tuple = (1.2, 2.4)       # cavity distance in units of its radius, uniform
    elongation: tuple = (0.8, 1.25)    # axis ratio along/across the jet axis, log-uniform
    inclination: float = 30.0          # largest inclination out of the sky plane, degrees
    pair_misalignment: float = 30.0    # the second cavity sits at azimuth + 180 +- this, degrees
    fill: tuple = (0.0, 0.5)           # emissivity left inside a cavity, uniform
    rim_fraction: float = 0.2          # probability that a cavity has a bright rim
    rim: tuple = (0.3, 1.0)            # rim emissivity excess, uniform
    rim_width: tuple = (1.0, 2.0)      # rim thickness, uniform
    counts: tuple = (500.0, 50000.0)   # expected cluster counts, log-uniform
    background: tuple = (0.1, 0.5)     # background counts relative to cluster counts, uniform
    vignetting: tuple = (0.0, 0.2)     # exposure loss at the corners, uniform
    sources: float = 0.0               # mean number of point sources per image (0: none; see instrument)
    psf: float = 0.0                   # Gaussian PSF sigma (0: none)

    def with_(self, **changes):
        """A copy with some ranges changed."""
        return replace(self, **changes)


PRIOR = Prior()


def instrument_prior(point_sources=False, psf=False, prior=PRIOR):
    """``prior`` with the point sources and the PSF of ``instrument`` switched on or off."""
    return prior.with_(sources=instrument.SOURCES if point_sources else 0.0,
                       psf=instrument.PSF_SIGMA if psf else 0.0)


def loguniform(gen, lo, hi, size=None):
    """Log-uniform draws between ``lo`` and ``hi`` (one number when ``size`` is None)."""
    return np.exp(gen.uniform(np.log(lo), np.log(hi), size))


def _draw_cavities(gen, prior, size):
    """One cavity or a pair on opposite sides, each kept inside the image."""
    s = size / REFERENCE_SIZE
    n = 2 if gen.uniform() < prior.pair_fraction else 1
    azimuth = gen.uniform(0, 2 * np.pi)
    cavs = []
    for k in range(n):
        radius = s * loguniform(gen, *prior.radius)
        elong = loguniform(gen, *prior.elongation)
        incl = np.deg2rad(gen.uniform(-prior.inclination, prior.inclination))
        dist = radius * gen.uniform(*prior.distance)
        # keep the whole cavity inside the image and its depth inside the fine part of the grid
        dist = min(dist, size / 2 - s * (prior.offset + 1) - radius * max(1, elong))
        dist = max(dist, 0.0)
        az = azimuth + k * np.pi + k * np.deg2rad(gen.uniform(-prior.pair_misalignment, prior.pair_misalignment))
        rim = gen.uniform(*prior.rim) if gen.uniform() < prior.rim_fraction else 0.0
        cavs.append(Cavity(distance=dist, azimuth=az % (2 * np.pi), radius=radius, inclination=incl,
                           elongation=elong, fill=gen.uniform(*prior.fill), rim=rim,
                           rim_width=s * gen.uniform(*prior.rim_width)))
    return tuple(cavs)


def draw_cluster(gen, prior=PRIOR, size=REFERENCE_SIZE, cavities=None):
    """One cluster from ``prior`` with the NumPy generator ``gen`` (``cavities``: force with (True) or
    without (False) cavities)."""
    s = size / REFERENCE_SIZE
    has = gen.uniform() < prior.cavity_fraction if cavities is None else bool(cavities)
    ell = gen.uniform(*prior.ellipticity)
    cluster = dict(x=size / 2 + s * gen.uniform(-prior.offset, prior.offset),
                   y=size / 2 + s * gen.uniform(-prior.offset, prior.offset),
                   rc=s * loguniform(gen, *prior.rc), beta=gen.uniform(*prior.beta), ellipticity=ell,
                   angle=gen.uniform(0, np.pi), counts=loguniform(gen, *prior.counts),
                   background=gen.uniform(*prior.background), vignetting=gen.uniform(*prior.vignetting))
    cavities = _draw_cavities(gen, prior, size) if has else ()
    # drawn last, so a cluster is the same with and without them
    sources = instrument.draw_sources(gen, prior.sources, instrument.SOURCE_FLUX, size)
    return Cluster(**cluster, cavities=cavities, sources=sources, psf=s * prior.psf)


def draw(n, seed, stream, prior=PRIOR, size=REFERENCE_SIZE, cavities=None):
    """``n`` clusters of ``stream`` (a name: "train", "test", ...); cluster ``i`` comes from the stream
    ("cluster", stream, i) of ``seed`` alone."""
    return [draw_cluster(rng.numpy_rng(seed, "cluster", stream, i), prior, size, cavities) for i in range(n)]


@dataclass
class Sample:
    """Rendered clusters: expected-count maps per unit counts and their truth.

    unit: (n, H, W) float32, the expected counts divided by ``cluster.counts`` (so any count
    level is ``unit * counts``); labels: (n, H, W) int8 cavity labels; cavities: one row per
    cavity (image, label, radius = truth radius, distance, fill, rim, deficit = 1 - observed /
    cavity-free brightness summed over its footprint); clusters: the drawn parameters; stream:
    the name of the stream they were drawn from (their counts come from it too).
    """

    unit: np.ndarray
    labels: np.ndarray
    cavities: pd.DataFrame
    clusters: list = field(default_factory=list)
    stream: str = ""

    @property
    def mask(self):
        """(n, H, W) bool: any cavity."""
        return self.labels > 0

    @property
    def exposure(self):
        """(n, H, W) float64: each image's exposure map (what an observer knows of the telescope)."""
        size = self.unit.shape[-1]
        return np.stack([exposure_map(size, c.vignetting) for c in self.clusters])

    @property
    def has_cavity(self):
        """(n,) bool: the image has at least one cavity."""
        return np.array([bool(c.cavities) for c in self.clusters])

    def observe(self, counts, seed, *keys):
        """Poisson counts (n, H, W) int32 at ``counts`` (a number or one per image; None: each
        cluster's own); image ``i`` is drawn from the stream ("counts", stream, i, *keys) of ``seed``,
        the ``keys`` naming the observation (a count level, a re-realisation, ...)."""
        n = len(self.unit)
        levels = np.array([c.counts for c in self.clusters]) if counts is None else np.broadcast_to(counts, (n,))
        out = np.empty(self.unit.shape, np.int32)
        for i in range(n):
            gen = rng.numpy_rng(seed, "counts", self.stream, i, *keys)
            out[i] = gen.poisson(self.unit[i].astype(np.float64) * float(levels[i]))
        return out

    def subset(self, index):
        """The images ``index`` (positions, repeats allowed), renumbered from 0 in that order."""
        index = np.asarray(index, dtype=int)
        by_image = {j: t for j, t in self.cavities.groupby("image")}
        parts = [by_image[j].assign(image=i) for i, j in enumerate(index) if j in by_image]
        rows = pd.concat(parts) if parts else self.cavities.iloc[:0]
        return Sample(self.unit[index], self.labels[index], rows.reset_index(drop=True),
                      [self.clusters[j] for j in index], self.stream)


CAVITY_COLUMNS = ["image", "label", "radius", "distance", "radius_3d", "elongation", "inclination", "fill", "rim",
                  "area", "deficit"]


def render_all(clusters, stream, size=REFERENCE_SIZE, step=0.5):
    """Render every cluster of ``stream``: a :class:`Sample`."""
    unit = np.empty((len(clusters), size, size), np.float32)
    labels = np.empty((len(clusters), size, size), np.int8)
    rows = []
    for i, c in enumerate(clusters):
        bright, plain, lab = render(c, size, step)
        unit[i] = expected_counts(bright, plain, replace(c, counts=1.0))
        labels[i] = lab
        for k, cav in enumerate(c.cavities, 1):
            foot = lab == k
            deficit = 1 - bright[foot].sum() / plain[foot].sum() if foot.any() else np.nan
            rows.append({"image": i, "label": k, "radius": cavity_radius(cav), "distance": cav.distance,
                         "radius_3d": cav.radius, "elongation": cav.elongation, "inclination": cav.inclination,
                         "fill": cav.fill, "rim": cav.rim, "area": int(foot.sum()), "deficit": deficit})
    return Sample(unit, labels, pd.DataFrame(rows, columns=CAVITY_COLUMNS), list(clusters), stream)


def simulate(n, seed, stream, prior=PRIOR, size=REFERENCE_SIZE, cavities=None):
    """Draw and render ``n`` clusters of ``stream``: a :class:`Sample` (``.observe`` gives counts)."""
    return render_all(draw(n, seed, stream, prior, size, cavities), stream, size)
