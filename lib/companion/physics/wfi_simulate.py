"""A toy frame simulator for the Athena WFI Large Detector Array, and event lists for long observations.

Frames are made as pixel lists (:class:`~companion.physics.wfi_events.PixelFrames`), one row per
pixel that received charge, so a 1024 x 1024 frame costs what its few hundred hit pixels cost.

- **X-rays** from point sources (Gaussian PSF) and diffuse emission (uniform), power-law energies with
  Fano noise, each a Gaussian charge cloud of ``cloud_um`` split over the 3x3 pixels around its hit.
- **Cosmic-ray primaries** (Poisson per frame) cross the 450 um sensor on straight lines with the
  cos(theta)-weighted directions of an isotropic flux through a plane, depositing ``dedx`` keV/um
  (gamma-distributed step to step) along the path: minimum-ionising tracks of 1 to ~100 pixels.
- **Secondaries**: each primary sends Poisson(``secondaries_per_track``) X-ray-like deposits to
  distances ~ Exponential(``secondary_scale``) px from its track (the ~30 px correlation scale seen in
  XMM EPIC-pn small-window data, Bulbul et al. arXiv:1908.00604); ``lone_per_frame`` more come from
  primaries that missed the array, with no track in the frame. A fraction ``electron_fraction`` are
  short electron tracks of length ~ Exponential(``electron_range``) px, the rest point-like.
  This is a toy, not Geant4 physics: SAC and VFAINT numbers from it are qualitative.
- **Read noise** (Gaussian, ``read_noise`` keV rms) on every pixel with charge; pure-noise pixels
  above the event threshold are added at their Gaussian tail rate.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from .wfi_events import EVTTH, FRAME_TIME, PixelFrames, quadrant_boxes

W_SI = 3.65e-3  # keV per electron-hole pair in silicon
KINDS = ("xray", "track", "secondary", "lone", "noise")


@dataclass(frozen=True)
class Detector:
    """The array: ``n_side`` pixels square (2x2 sensors), DEPFET-like pixels, 5 ms frames."""

    n_side: int = 1024
    pixel_um: float = 130.0
    thickness_um: float = 450.0
    frame_time: float = FRAME_TIME
    read_noise: float = 0.01   # keV rms, ~2.7 electrons
    fano: float = 0.12
    cloud_um: float = 8.0      # charge-cloud sigma
    evtth: float = EVTTH

    @property
    def area_cm2(self):
        return (self.n_side * self.pixel_um * 1e-4) ** 2


@dataclass(frozen=True)
class Sky:
    """X-ray sources: ``points`` as (x, y, counts/s), diffuse ``diffuse_rate`` counts/s over the array."""

    points: tuple = ((512.0, 512.0, 20.0),)
    diffuse_rate: float = 40.0
    psf_sigma: float = 1.0      # px
    photon_index: float = 1.7
    emin: float = 0.3           # keV
    emax: float = 10.0          # keV


@dataclass(frozen=True)
class Particles:
    """The cosmic-ray background (defaults: ~the track density of the Geant4 reference set, 33/frame)."""

    tracks_per_frame: float = 30.0
    dedx: float = 0.29              # keV/um, most probable MIP loss in Si (~80 pairs/um)
    secondaries_per_track: float = 0.02
    secondary_scale: float = 30.0   # px
    lone_per_frame: float = 0.3
    electron_fraction: float = 0.5
    electron_range: float = 1.0     # px, mean length of a secondary-electron track
    emin: float = 0.2               # keV, secondary energies uniform in [emin, emax]
    emax: float = 15.0


def _power_law(rng, n, index, emin, emax):
    u = rng.random(n)
    if abs(index - 1) < 1e-9:
        return emin * (emax / emin) ** u
    a, b = emin ** (1 - index), emax ** (1 - index)
    return (a + u * (b - a)) ** (1 / (1 - index))


def cloud_deposits(x, y, energy, sigma_px):
    """Split Gaussian charge clouds centred at (x, y) over the 3x3 pixels around each hit pixel.

    Returns (index of the cloud, pixel x, pixel y, keV) for every share above 1e-9 keV.
    """
    ix, iy = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    edges = np.array([0.0, 1.0])
    cdf = lambda f: special.ndtr((edges[None] - f[:, None]) / sigma_px)  # noqa: E731
    cx, cy = cdf(x - ix), cdf(y - iy)
    fx = np.column_stack([cx[:, 0], cx[:, 1] - cx[:, 0], 1 - cx[:, 1]])  # shares at dx = -1, 0, 1
    fy = np.column_stack([cy[:, 0], cy[:, 1] - cy[:, 0], 1 - cy[:, 1]])
    share = energy[:, None, None] * fy[:, :, None] * fx[:, None, :]    # (n, dy, dx)
    n, dy, dx = np.nonzero(share > 1e-9)
    return n, ix[n] + dx - 1, iy[n] + dy - 1, share[n, dy, dx]


def _segments(rng, x0, y0, length, phi, energy, step=0.5):
    """Deposit ``energy`` along straight segments (gamma-fluctuating steps of ``step`` px)."""
    nstep = np.maximum(1, np.ceil(length / step).astype(np.int64))
    owner = np.repeat(np.arange(len(x0)), nstep)
    first = np.cumsum(nstep) - nstep
    s = (np.arange(len(owner)) - first[owner] + rng.random(len(owner))) / nstep[owner] * length[owner]
    w = rng.gamma(4.0, 0.25, len(owner))
    w /= np.bincount(owner, weights=w)[owner]
    return (owner, np.floor(x0[owner] + s * np.cos(phi[owner])).astype(np.int64),
            np.floor(y0[owner] + s * np.sin(phi[owner])).astype(np.int64), energy[owner] * w)


def simulate_frames(n_frames, detector=Detector(), sky=Sky(), particles=Particles(), seed=0):
    """``n_frames`` frames as (PixelFrames, truth).

    ``truth`` has one row per deposited object (X-ray photon, track, secondary, lone secondary, noise
    pixel): id, kind, frame, x, y (sub-pixel centre; a track's entry point), energy (keV, after Fano),
    parent (the track of a secondary, else -1), length (px) and angle (rad) of a track on the array.
    ``frames.meta['owner']`` gives, for every pixel of the list, the id of the object that put the most charge
    into it.
    """
    rng = np.random.default_rng([seed, 9])
    n, T = detector.n_side, detector.frame_time
    objs, deps = [], []

    def add(kind, frame, x, y, energy, parent=None, length=None, angle=None):
        start = sum(len(o) for o in objs)
        objs.append(pd.DataFrame({"id": start + np.arange(len(frame)), "kind": kind, "frame": frame, "x": x, "y": y,
                                  "energy": energy, "parent": -1 if parent is None else parent,
                                  "length": 0.0 if length is None else length,
                                  "angle": 0.0 if angle is None else angle}))
        return start

    # X-rays
    rates = [(x, y, r) for x, y, r in sky.points] + [(None, None, sky.diffuse_rate)]
    for x_src, y_src, rate in rates:
        counts = rng.poisson(rate * T, n_frames)
        frame = np.repeat(np.arange(n_frames), counts)
        if x_src is None:
            x, y = rng.uniform(0, n, (2, len(frame)))
        else:
            x, y = x_src + sky.psf_sigma * rng.standard_normal((2, len(frame)))
        e = _power_law(rng, len(frame), sky.photon_index, sky.emin, sky.emax)
        e = np.maximum(e + rng.standard_normal(len(e)) * np.sqrt(detector.fano * e * W_SI), 0.0)
        start = add("xray", frame, x, y, e)
        i, px, py, q = cloud_deposits(x, y, e, detector.cloud_um / detector.pixel_um)
        deps.append((start + i, frame[i], px, py, q))

    # primaries crossing the array
    counts = rng.poisson(particles.tracks_per_frame, n_frames)
    frame = np.repeat(np.arange(n_frames), counts)
    k = len(frame)
    x0, y0 = rng.uniform(0, n, (2, k))
    cos_t = np.sqrt(rng.uniform(0.0004, 1, k))     # flux through a plane: cos(theta)^2 uniform, theta < 88.9 deg
    t_px = detector.thickness_um / detector.pixel_um
    length = t_px * np.sqrt(1 - cos_t ** 2) / cos_t
    phi = rng.uniform(0, 2 * np.pi, k)
    e = particles.dedx * detector.thickness_um / cos_t
    start = add("track", frame, x0, y0, e, length=length, angle=phi)
    i, px, py, q = _segments(rng, x0, y0, length, phi, e)
    deps.append((start + i, frame[i], px, py, q))

    # secondaries near tracks, and lone ones
    n_sec = rng.poisson(particles.secondaries_per_track, k)
    parent = np.repeat(np.arange(k), n_sec)
    r, a = rng.exponential(particles.secondary_scale, len(parent)), rng.uniform(0, 2 * np.pi, len(parent))
    mid = 0.5 * length[parent]
    sx = x0[parent] + mid * np.cos(phi[parent]) + r * np.cos(a)
    sy = y0[parent] + mid * np.sin(phi[parent]) + r * np.sin(a)
    n_lone = rng.poisson(particles.lone_per_frame, n_frames)
    lframe = np.repeat(np.arange(n_frames), n_lone)
    lx, ly = rng.uniform(0, n, (2, len(lframe)))
    for kind, fr, x, y, par in (("secondary", frame[parent], sx, sy, start + parent),
                                ("lone", lframe, lx, ly, None)):
        m = len(fr)
        e = rng.uniform(particles.emin, particles.emax, m)
        is_e = rng.random(m) < particles.electron_fraction
        ell = np.where(is_e, rng.exponential(particles.electron_range, m), 0.0)
        ang = rng.uniform(0, 2 * np.pi, m)
        s0 = add(kind, fr, x, y, e, parent=par, length=ell, angle=ang)
        pt = ~is_e
        i, px, py, q = cloud_deposits(x[pt], y[pt], e[pt], detector.cloud_um / detector.pixel_um)
        deps.append((s0 + np.nonzero(pt)[0][i], fr[pt][i], px, py, q))
        el = np.nonzero(is_e)[0]
        i, px, py, q = _segments(rng, x[el], y[el], ell[el], ang[el], e[el])
        deps.append((s0 + el[i], fr[el][i], px, py, q))

    # pure-noise pixels above threshold (Gaussian tail), then sum, clip to the array, add noise
    tail = stats.norm.sf(detector.evtth / detector.read_noise) if detector.read_noise > 0 else 0.0
    n_noise = rng.poisson(tail * n * n * n_frames)
    nf = rng.integers(0, n_frames, n_noise)
    nx_, ny_ = rng.integers(0, n, (2, n_noise))
    ne = stats.truncnorm.rvs(detector.evtth / detector.read_noise, np.inf, scale=detector.read_noise,
                             size=n_noise, random_state=rng) if n_noise else np.zeros(0)
    s0 = add("noise", nf, nx_ + 0.5, ny_ + 0.5, ne)
    owner, f, x, y, q = (np.concatenate(c) for c in zip(*deps))
    keep = (x >= 0) & (x < n) & (y >= 0) & (y < n)
    owner, f, x, y, q = owner[keep], f[keep], x[keep], y[keep], q[keep]
    key = (f * n + y) * n + x
    order = np.lexsort((-q, key))                      # by pixel, the largest share first
    key = key[order]
    first = np.nonzero(np.r_[True, key[1:] != key[:-1]])[0]
    ukey, pix_owner = key[first], owner[order][first]
    charge = np.add.reduceat(q[order], first) + detector.read_noise * rng.standard_normal(len(first))
    pf, rest = np.divmod(ukey, n * n)
    py, px = np.divmod(rest, n)
    truth = pd.concat(objs, ignore_index=True)
    frames = PixelFrames(np.concatenate([pf, nf]), np.concatenate([px, nx_]), np.concatenate([py, ny_]),
                         np.concatenate([charge, ne]), n_frames, (n, n), quadrant_boxes(n), T,
                         {"owner": np.concatenate([pix_owner, s0 + np.arange(n_noise)])})
    return frames, truth


def label_events(events, frames, truth):
    """Add to each event the object that owns its central pixel: ``owner``, ``kind`` and its true energy."""
    n = frames.shape[1]
    key = (frames.frame * frames.shape[0] + frames.y) * n + frames.x
    order = np.argsort(key)
    q = (events.frame.to_numpy() * frames.shape[0] + events.y.to_numpy()) * n + events.x.to_numpy()
    i = np.minimum(np.searchsorted(key[order], q), len(order) - 1)
    owner = np.where(key[order][i] == q, frames.meta["owner"][order][i], -1)
    t = truth.set_index("id")
    return events.assign(owner=owner, kind=t.kind.reindex(owner).fillna("none").to_numpy(),
                         true_energy=t.energy.reindex(owner).to_numpy())


def light_curve(duration, rate, bin_width, flare=None, seed=0):
    """Counts in bins of ``bin_width`` s of a source of ``rate`` counts/s over ``duration`` s.

    ``flare`` = (start s, length s, amplitude): the rate is multiplied by ``amplitude`` in the flare.
    Returns (bin centres, counts).
    """
    edges = np.arange(0.0, duration + 1e-9, bin_width)
    lam = np.full(len(edges) - 1, rate * bin_width)
    if flare is not None:
        start, length, amp = flare
        overlap = np.clip(np.minimum(edges[1:], start + length) - np.maximum(edges[:-1], start), 0, None)
        lam += rate * (amp - 1) * overlap
    return 0.5 * (edges[1:] + edges[:-1]), np.random.default_rng([seed, 11]).poisson(lam)
