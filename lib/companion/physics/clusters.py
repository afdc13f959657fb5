"""Simulated X-ray images of galaxy clusters with AGN cavities, their truth masks and cavity radii.

The gas is a 3-D beta model, density n(r) proportional to (1 + r^2/r_c^2)^(-3 beta/2) on an
ellipsoidal radius, and the X-ray emissivity is n^2. The image is its integral along the line
of sight, done numerically on a grid of depths: Simpson's rule with a fine uniform step inside
the box where cavities live and Gauss-Legendre on the two infinite tails (z = h / t), so the
projection matches the analytic surface brightness
S(R) = r_c sqrt(pi) Gamma(3 beta - 1/2) / Gamma(3 beta) (1 + R^2/r_c^2)^(-3 beta + 1/2)
(``projected_beta``) to far better than 1 % for r_c >= 4 steps (tested).

Cavities are spheroids whose symmetry axis points from the cluster centre to the cavity
(rotational symmetry about that axis, as CADET assumes for volumes). Inside one the
emissivity is multiplied by ``fill`` (0: empty, < 1: partly filled); an optional rim is a
shell of enhanced emissivity around it. The truth label of a pixel is the exact projected
footprint of each cavity (the quadratic form minimised along the line of sight), and the
truth radius of a cavity is the radius of the circle with its projected area.

Counts: the cavity-free cluster is scaled to ``counts`` expected counts in the image, a flat
background of ``background * counts / n_pixels`` per pixel is added, both are multiplied
by an exposure map with radial vignetting, and Poisson counts are drawn.

Lengths are in pixels of a 64-pixel image; ``size`` scales every length of the prior, so a
128-pixel image shows the same clusters at twice the resolution. Every draw comes from
``numpy.random.default_rng([seed, i, ...])``: image ``i`` does not depend on how many are drawn.
"""

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.special import gammaln

REFERENCE_SIZE = 64


@dataclass(frozen=True)
class Cavity:
    """One spheroidal cavity. Angles in radians, lengths in pixels.

    distance: projected distance of its centre from the cluster centre; azimuth: its position
    angle on the sky; inclination: angle of the centre-cavity axis out of the sky plane;
    radius: semi-axis across that axis (twice: on the sky and along the line of sight);
    elongation: semi-axis along the axis divided by ``radius``; fill: emissivity inside relative
    to the undisturbed gas (0 empty); rim: relative emissivity excess of the rim shell (0 none);
    rim_width: its thickness.
    """

    distance: float
    azimuth: float
    radius: float
    inclination: float = 0.0
    elongation: float = 1.0
    fill: float = 0.0
    rim: float = 0.0
    rim_width: float = 1.0


@dataclass(frozen=True)
class Cluster:
    """A beta-model cluster with its cavities and how it is observed.

    (x, y): centre in pixels from the image corner; rc: core radius; beta: slope;
    ellipticity: 1 - minor/major axis on the sky; angle: position angle of the major axis;
    counts: expected counts of the cavity-free cluster in the image; background: total
    background counts relative to ``counts``; vignetting: fractional exposure loss at the
    image corners (exposure 1 - vignetting * (r / r_corner)^2).
    """

    x: float
    y: float
    rc: float
    beta: float
    ellipticity: float = 0.0
    angle: float = 0.0
    cavities: tuple = ()
    counts: float = 1e4
    background: float = 0.0
    vignetting: float = 0.0


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

    def with_(self, **changes):
        """A copy with some ranges changed."""
        return replace(self, **changes)


PRIOR = Prior()


def projected_beta(R, rc, beta):
    """The exact line-of-sight integral of the beta-model emissivity (1 + r^2/rc^2)^(-3 beta) at
    projected radius ``R``: the analytic profile the numerical projection is checked against."""
    R = np.asarray(R, dtype=float)
    if not beta > 1 / 6:
        raise ValueError(f"beta={beta!r}: the projected emission is finite only for beta > 1/6")
    norm = rc * np.sqrt(np.pi) * np.exp(gammaln(3 * beta - 0.5) - gammaln(3 * beta))
    return norm * (1 + R ** 2 / rc ** 2) ** (0.5 - 3 * beta)


def los_nodes(size, step=0.5, n_tail=24):
    """Depths z and weights w for integrals along the line of sight, sum(w f(z)) ~ int f dz.

    Simpson's rule with ``step`` on |z| <= size/2 (cavities live there), Gauss-Legendre with
    ``n_tail`` nodes on each tail |z| > size/2 after the substitution z = (size/2) / t.
    """
    half = size / 2
    n = int(round(2 * half / step))
    n += n % 2  # Simpson needs an even number of intervals
    z_in = np.linspace(-half, half, n + 1)
    h = z_in[1] - z_in[0]
    w_in = np.full(n + 1, 2.0)
    w_in[1::2] = 4.0
    w_in[[0, -1]] = 1.0
    w_in *= h / 3
    t, wt = np.polynomial.legendre.leggauss(n_tail)
    t, wt = (t + 1) / 2, wt / 2  # on (0, 1)
    z_tail, w_tail = (half / t)[::-1], (wt * half / t ** 2)[::-1]  # increasing depth
    z = np.concatenate([-z_tail[::-1], z_in, z_tail])
    w = np.concatenate([w_tail[::-1], w_in, w_tail])
    return z, w


def _axis(cav):
    """Unit vector (x, y, z) from the cluster centre to the cavity."""
    return np.array([np.cos(cav.azimuth) * np.cos(cav.inclination),
                     np.sin(cav.azimuth) * np.cos(cav.inclination), np.sin(cav.inclination)])


def _shape(cav, grow=0.0):
    """Centre offset (x, y, z) from the cluster centre and the 3x3 matrix A of the spheroid
    (p - c)^T A (p - c) <= 1, both semi-axes grown by ``grow`` pixels."""
    u = _axis(cav)
    a, b = cav.radius * cav.elongation + grow, cav.radius + grow
    A = np.eye(3) / b ** 2 + (1 / a ** 2 - 1 / b ** 2) * np.outer(u, u)
    depth = cav.distance * np.tan(cav.inclination)
    centre = np.array([cav.distance * np.cos(cav.azimuth), cav.distance * np.sin(cav.azimuth), depth])
    return centre, A


def projected_matrix(cav):
    """The 2x2 matrix B of the cavity's projected ellipse d^T B d <= 1 (d on the sky, pixels)."""
    _, A = _shape(cav)
    return A[:2, :2] - np.outer(A[:2, 2], A[:2, 2]) / A[2, 2]


def cavity_radius(cav):
    """Truth radius of a cavity: that of the circle with its projected area, det(B)^(-1/4)."""
    return float(np.linalg.det(projected_matrix(cav)) ** -0.25)


def _grid(cluster, size):
    """Pixel-centre offsets (dx, dy) from the cluster centre, each (size, size), rows are y."""
    c = np.arange(size) + 0.5
    return np.meshgrid(c - cluster.x, c - cluster.y)


def render(cluster, size=REFERENCE_SIZE, step=0.5, n_tail=24):
    """Project ``cluster`` along the line of sight.

    Returns (brightness, brightness without cavities, labels): two (size, size) float64 maps of
    surface brightness and the int8 map with 0 outside cavities and k inside the projected
    footprint of cavity k (1-based; a later cavity wins where two overlap on the sky).
    """
    z, w = los_nodes(size, step, n_tail)
    dx, dy = _grid(cluster, size)
    cos, sin = np.cos(cluster.angle), np.sin(cluster.angle)
    major, minor = cos * dx + sin * dy, -sin * dx + cos * dy
    rho2 = major ** 2 + (minor / (1 - cluster.ellipticity)) ** 2
    eps = (1 + (rho2[None] + z[:, None, None] ** 2) / cluster.rc ** 2) ** (-3 * cluster.beta)
    weighted = eps * w[:, None, None]
    plain = weighted.sum(0)
    labels = np.zeros((size, size), np.int8)
    if not cluster.cavities:
        return plain, plain.copy(), labels
    for k, cav in enumerate(cluster.cavities, 1):
        labels[_footprint(cav, dx, dy)] = k
    # Rims first, then cavities, so a cavity is never brightened by a neighbour's rim.
    factor = np.ones_like(eps)
    for cav in cluster.cavities:
        if cav.rim > 0:
            _apply(factor, cav, dx, dy, z, grow=cav.rim_width, value=1 + cav.rim, multiply=True)
    for cav in cluster.cavities:
        _apply(factor, cav, dx, dy, z, grow=0.0, value=cav.fill, multiply=False)
    return (weighted * factor).sum(0), plain, labels


def _footprint(cav, dx, dy):
    """Pixels inside the exact projected footprint (the quadratic form minimised along the line of sight)."""
    centre, _ = _shape(cav)
    B = projected_matrix(cav)
    ex, ey = dx - centre[0], dy - centre[1]
    return B[0, 0] * ex ** 2 + 2 * B[0, 1] * ex * ey + B[1, 1] * ey ** 2 <= 1


def _inside(cav, dx, dy, z, grow):
    """The index box (z, y, x slices) around the spheroid grown by ``grow`` and its quadratic form there."""
    centre, A = _shape(cav, grow)
    extent = np.sqrt(np.diag(np.linalg.inv(A)))  # half-widths of the bounding box
    # pixel i has dx = i + 0.5 - x, so the spheroid's centre sits at index position centre - dx[0, 0]
    xs = _span(centre[0] - dx[0, 0], extent[0], dx.shape[1])
    ys = _span(centre[1] - dy[0, 0], extent[1], dy.shape[0])
    zs = slice(int(np.searchsorted(z, centre[2] - extent[2])), int(np.searchsorted(z, centre[2] + extent[2], "right")))
    ex = dx[ys, xs][None] - centre[0]
    ey = dy[ys, xs][None] - centre[1]
    ez = z[zs][:, None, None] - centre[2]
    q = (A[0, 0] * ex ** 2 + A[1, 1] * ey ** 2 + A[2, 2] * ez ** 2
         + 2 * (A[0, 1] * ex * ey + A[0, 2] * ex * ez + A[1, 2] * ey * ez))
    return (zs, ys, xs), q


def _span(c, half, n):
    """Index slice of the pixels whose centres can lie within ``half`` of index position ``c``."""
    return slice(max(0, int(np.floor(c - half))), min(n, int(np.ceil(c + half)) + 1))


def _apply(factor, cav, dx, dy, z, grow, value, multiply):
    """Set (or multiply) ``factor`` to ``value`` inside the spheroid grown by ``grow``."""
    box, q = _inside(cav, dx, dy, z, grow)
    sub = factor[box]
    inside = q <= 1
    if multiply:
        sub[inside] *= value
    else:
        sub[inside] = value
    factor[box] = sub


def exposure_map(size, vignetting):
    """Relative exposure 1 - vignetting * (r / r_corner)^2 about the image centre."""
    c = np.arange(size) + 0.5 - size / 2
    r2 = c[None, :] ** 2 + c[:, None] ** 2
    return 1 - vignetting * r2 / (2 * (size / 2) ** 2)


def expected_counts(brightness, plain, cluster):
    """Expected counts per pixel: the cavity-free cluster scaled to ``cluster.counts``, plus background,
    times the exposure map."""
    size = brightness.shape[-1]
    source = brightness * (cluster.counts / plain.sum())
    bkg = cluster.background * cluster.counts / size ** 2
    return exposure_map(size, cluster.vignetting) * (source + bkg)


def _loguniform(rng, lo, hi):
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def draw_cluster(rng, prior=PRIOR, size=REFERENCE_SIZE, cavities=None):
    """One cluster from ``prior`` (``cavities``: force with (True) or without (False) cavities)."""
    s = size / REFERENCE_SIZE
    has = rng.uniform() < prior.cavity_fraction if cavities is None else bool(cavities)
    ell = rng.uniform(*prior.ellipticity)
    cluster = dict(x=size / 2 + s * rng.uniform(-prior.offset, prior.offset),
                   y=size / 2 + s * rng.uniform(-prior.offset, prior.offset),
                   rc=s * _loguniform(rng, *prior.rc), beta=rng.uniform(*prior.beta), ellipticity=ell,
                   angle=rng.uniform(0, np.pi), counts=_loguniform(rng, *prior.counts),
                   background=rng.uniform(*prior.background), vignetting=rng.uniform(*prior.vignetting))
    cavs = []
    if has:
        n = 2 if rng.uniform() < prior.pair_fraction else 1
        azimuth = rng.uniform(0, 2 * np.pi)
        for k in range(n):
            radius = s * _loguniform(rng, *prior.radius)
            elong = _loguniform(rng, *prior.elongation)
            incl = np.deg2rad(rng.uniform(-prior.inclination, prior.inclination))
            dist = radius * rng.uniform(*prior.distance)
            # keep the whole cavity inside the image and its depth inside the fine part of the grid
            dist = min(dist, size / 2 - s * (prior.offset + 1) - radius * max(1, elong))
            dist = max(dist, 0.0)
            az = azimuth + k * np.pi + k * np.deg2rad(rng.uniform(-prior.pair_misalignment, prior.pair_misalignment))
            rim = rng.uniform(*prior.rim) if rng.uniform() < prior.rim_fraction else 0.0
            cavs.append(Cavity(distance=dist, azimuth=az % (2 * np.pi), radius=radius, inclination=incl,
                               elongation=elong, fill=rng.uniform(*prior.fill), rim=rim,
                               rim_width=s * rng.uniform(*prior.rim_width)))
    return Cluster(**cluster, cavities=tuple(cavs))


def draw(n, seed, prior=PRIOR, size=REFERENCE_SIZE, cavities=None, stream=0):
    """``n`` clusters; cluster ``i`` comes from ``default_rng([seed, stream, i])`` alone, so separate
    ``stream`` numbers give independent sets (training, test, ...) from one seed."""
    return [draw_cluster(np.random.default_rng([seed, stream, i]), prior, size, cavities) for i in range(n)]


@dataclass
class Sample:
    """Rendered clusters: expected-count maps per unit counts and their truth.

    unit: (n, H, W) float32, the expected counts divided by ``cluster.counts`` (so any count
    level is ``unit * counts``); labels: (n, H, W) int8 cavity labels; cavities: one row per
    cavity (image, label, radius = truth radius, distance, fill, rim, deficit = 1 - observed /
    cavity-free brightness summed over its footprint); clusters: the drawn parameters.
    """

    unit: np.ndarray
    labels: np.ndarray
    cavities: pd.DataFrame
    clusters: list = field(default_factory=list)
    stream: int = 0

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

    def observe(self, counts, seed, realisation=0):
        """Poisson counts (n, H, W) int32 at ``counts`` (a number or one per image; None: each
        cluster's own), image ``i`` drawn from ``default_rng([seed, stream, i, realisation])``."""
        n = len(self.unit)
        levels = np.array([c.counts for c in self.clusters]) if counts is None else np.broadcast_to(counts, (n,))
        out = np.empty(self.unit.shape, np.int32)
        for i in range(n):
            rng = np.random.default_rng([seed, self.stream, i, realisation])
            out[i] = rng.poisson(self.unit[i].astype(np.float64) * float(levels[i]))
        return out

    def subset(self, index):
        """The images ``index`` (positions, repeats allowed), renumbered from 0 in that order."""
        index = np.asarray(index, dtype=int)
        by_image = {j: t for j, t in self.cavities.groupby("image")}
        parts = [by_image[j].assign(image=i) for i, j in enumerate(index) if j in by_image]
        rows = pd.concat(parts) if parts else self.cavities.iloc[:0]
        return Sample(self.unit[index], self.labels[index], rows.reset_index(drop=True),
                      [self.clusters[j] for j in index], self.stream)


def render_all(clusters, size=REFERENCE_SIZE, step=0.5, stream=0):
    """Render every cluster: a :class:`Sample`."""
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
    columns = ["image", "label", "radius", "distance", "radius_3d", "elongation", "inclination", "fill", "rim",
               "area", "deficit"]
    return Sample(unit, labels, pd.DataFrame(rows, columns=columns), list(clusters), stream)


def simulate(n, seed, prior=PRIOR, size=REFERENCE_SIZE, cavities=None, stream=0):
    """Draw and render ``n`` clusters of one ``stream``: a :class:`Sample` (``.observe`` gives counts)."""
    return render_all(draw(n, seed, prior, size, cavities, stream), size, stream=stream)
