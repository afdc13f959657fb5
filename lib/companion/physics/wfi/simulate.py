"""A toy frame simulator for the Athena WFI Large Detector Array, and event lists for long observations.

Frames are made as pixel lists (:class:`~companion.physics.wfi.events.PixelFrames`), one row per
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

Each component draws from its own named stream of ``seed`` (:func:`companion.rng.numpy_rng`): every
point source, the diffuse X-rays, the tracks, the positions and deposits of secondaries, the noise
pixels and the read noise, so a change to one rate leaves the draws of every other component as they were.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from ... import rng
from .events import PixelFrames
from .frame import EVTTH, FRAME_TIME, quadrant_boxes

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


class _Objects:
    """The truth table (one row per deposited object) and the charge deposits, filled step by step."""

    def __init__(self):
        self.rows, self.deposits, self.n = [], [], 0

    def add(self, kind, frame, x, y, energy, parent=-1, length=0.0, angle=0.0):
        """Objects of one kind (ids continue from the last); returns the id of the first."""
        start = self.n
        self.rows.append(pd.DataFrame({"id": start + np.arange(len(frame)), "kind": kind, "frame": frame, "x": x,
                                       "y": y, "energy": energy, "parent": parent, "length": length, "angle": angle}))
        self.n += len(frame)
        return start

    def deposit(self, owner, frame, x, y, energy):
        """Charge ``energy`` keV put into pixel (x, y) of ``frame`` by object ``owner`` (arrays)."""
        self.deposits.append((owner, frame, x, y, energy))


def _add_xrays(objects, n_frames, detector, sky, seed):
    """Photons of each point source (Gaussian PSF) and of the diffuse emission, with Fano noise, as charge clouds."""
    sources = [(("point source", k), x, y, rate) for k, (x, y, rate) in enumerate(sky.points)]
    sources.append((("diffuse x-rays",), None, None, sky.diffuse_rate))
    for keys, x_src, y_src, rate in sources:
        gen = rng.numpy_rng(seed, *keys)
        frame = np.repeat(np.arange(n_frames), gen.poisson(rate * detector.frame_time, n_frames))
        if x_src is None:
            x, y = gen.uniform(0, detector.n_side, (2, len(frame)))
        else:
            x, y = x_src + sky.psf_sigma * gen.standard_normal((2, len(frame)))
        e = _power_law(gen, len(frame), sky.photon_index, sky.emin, sky.emax)
        e = np.maximum(e + gen.standard_normal(len(e)) * np.sqrt(detector.fano * e * W_SI), 0.0)
        start = objects.add("xray", frame, x, y, e)
        i, px, py, q = cloud_deposits(x, y, e, detector.cloud_um / detector.pixel_um)
        objects.deposit(start + i, frame[i], px, py, q)


def _add_tracks(objects, n_frames, detector, particles, seed):
    """Cosmic-ray primaries crossing the array on straight lines, cos(theta)-weighted (Poisson per frame).

    Returns (id, frame, x, y of the midpoint) of every track, where its secondaries are placed around.
    """
    gen = rng.numpy_rng(seed, "tracks")
    frame = np.repeat(np.arange(n_frames), gen.poisson(particles.tracks_per_frame, n_frames))
    k = len(frame)
    x0, y0 = gen.uniform(0, detector.n_side, (2, k))
    cos_t = np.sqrt(gen.uniform(0.0004, 1, k))     # flux through a plane: cos(theta)^2 uniform, theta < 88.9 deg
    length = detector.thickness_um / detector.pixel_um * np.sqrt(1 - cos_t ** 2) / cos_t
    phi = gen.uniform(0, 2 * np.pi, k)
    e = particles.dedx * detector.thickness_um / cos_t
    start = objects.add("track", frame, x0, y0, e, length=length, angle=phi)
    i, px, py, q = _segments(gen, x0, y0, length, phi, e)
    objects.deposit(start + i, frame[i], px, py, q)
    mid = 0.5 * length
    return start + np.arange(k), frame, x0 + mid * np.cos(phi), y0 + mid * np.sin(phi)


def _add_secondaries(objects, tracks, n_frames, detector, particles, seed):
    """Secondaries at Exponential(``secondary_scale``) px from their track's midpoint, and lone ones (no track)."""
    track_id, frame, mid_x, mid_y = tracks
    gen = rng.numpy_rng(seed, "secondary positions")
    parent = np.repeat(np.arange(len(frame)), gen.poisson(particles.secondaries_per_track, len(frame)))
    r, a = gen.exponential(particles.secondary_scale, len(parent)), gen.uniform(0, 2 * np.pi, len(parent))
    near = (frame[parent], mid_x[parent] + r * np.cos(a), mid_y[parent] + r * np.sin(a), track_id[parent])
    gen = rng.numpy_rng(seed, "lone positions")
    lone_frame = np.repeat(np.arange(n_frames), gen.poisson(particles.lone_per_frame, n_frames))
    lone = (lone_frame, *gen.uniform(0, detector.n_side, (2, len(lone_frame))), -1)
    for kind, (fr, x, y, par) in (("secondary", near), ("lone", lone)):
        gen = rng.numpy_rng(seed, kind, "deposits")
        _deposit_secondaries(objects, kind, fr, x, y, par, detector, particles, gen)


def _deposit_secondaries(objects, kind, frame, x, y, parent, detector, particles, gen):
    """Secondaries of one kind: uniform energies; electrons leave short tracks, the others a charge cloud."""
    m = len(frame)
    e = gen.uniform(particles.emin, particles.emax, m)
    is_e = gen.random(m) < particles.electron_fraction
    ell = np.where(is_e, gen.exponential(particles.electron_range, m), 0.0)
    ang = gen.uniform(0, 2 * np.pi, m)
    start = objects.add(kind, frame, x, y, e, parent=parent, length=ell, angle=ang)
    pt = np.nonzero(~is_e)[0]
    i, px, py, q = cloud_deposits(x[pt], y[pt], e[pt], detector.cloud_um / detector.pixel_um)
    objects.deposit(start + pt[i], frame[pt][i], px, py, q)
    el = np.nonzero(is_e)[0]
    i, px, py, q = _segments(gen, x[el], y[el], ell[el], ang[el], e[el])
    objects.deposit(start + el[i], frame[el][i], px, py, q)


def _noise_pixels(n_frames, detector, seed):
    """Pure read-noise pixels above the event threshold, at their Gaussian tail rate: (frame, x, y, keV)."""
    gen = rng.numpy_rng(seed, "noise pixels")
    n = detector.n_side
    z = detector.evtth / detector.read_noise if detector.read_noise > 0 else np.inf  # threshold in sigmas
    count = gen.poisson(stats.norm.sf(z) * n * n * n_frames)
    frame = gen.integers(0, n_frames, count)
    x, y = gen.integers(0, n, (2, count))
    energy = (stats.truncnorm.rvs(z, np.inf, scale=detector.read_noise, size=count, random_state=gen)
              if count else np.zeros(0))
    return frame, x, y, energy


def _pixel_sums(objects, n, read_noise, gen):
    """The deposits summed per pixel of the n x n array, plus read noise: (frame, x, y, keV, owner).

    ``owner`` is the object with the largest share of the pixel's charge.
    """
    owner, f, x, y, q = (np.concatenate(c) for c in zip(*objects.deposits))
    keep = (x >= 0) & (x < n) & (y >= 0) & (y < n)
    owner, f, x, y, q = owner[keep], f[keep], x[keep], y[keep], q[keep]
    key = (f * n + y) * n + x
    order = np.lexsort((-q, key))                      # by pixel, the largest share first
    key = key[order]
    first = np.nonzero(np.r_[True, key[1:] != key[:-1]])[0]
    charge = np.add.reduceat(q[order], first) + read_noise * gen.standard_normal(len(first))
    frame, rest = np.divmod(key[first], n * n)
    y, x = np.divmod(rest, n)
    return frame, x, y, charge, owner[order][first]


def simulate_frames(n_frames, detector=Detector(), sky=Sky(), particles=Particles(), seed=0):
    """``n_frames`` frames as (PixelFrames, truth).

    ``truth`` has one row per deposited object (X-ray photon, track, secondary, lone secondary, noise
    pixel): id, kind, frame, x, y (sub-pixel centre; a track's entry point), energy (keV, after Fano),
    parent (the track of a secondary, else -1), length (px) and angle (rad) of a track on the array.
    ``frames.meta['owner']`` gives, for every pixel of the list, the id of the object that put the most charge
    into it.
    """
    objects = _Objects()
    _add_xrays(objects, n_frames, detector, sky, seed)
    tracks = _add_tracks(objects, n_frames, detector, particles, seed)
    _add_secondaries(objects, tracks, n_frames, detector, particles, seed)
    nf, nx, ny, ne = _noise_pixels(n_frames, detector, seed)
    noise = objects.add("noise", nf, nx + 0.5, ny + 0.5, ne)
    n = detector.n_side
    pf, px, py, charge, owner = _pixel_sums(objects, n, detector.read_noise, rng.numpy_rng(seed, "read noise"))
    frames = PixelFrames(np.concatenate([pf, nf]), np.concatenate([px, nx]), np.concatenate([py, ny]),
                         np.concatenate([charge, ne]), n_frames, (n, n), quadrant_boxes(n), detector.frame_time,
                         {"owner": np.concatenate([owner, noise + np.arange(len(nf))])})
    return frames, pd.concat(objects.rows, ignore_index=True)


def raw_frame(frames, index, read_noise, seed=0):
    """Frame ``index`` of a pixel list as the raw (ny, nx) float32 image in keV that a frame processor reads:
    the listed charge, and Gaussian read noise of ``read_noise`` keV rms in every other pixel."""
    img = frames.dense(index)
    noise = rng.numpy_rng(seed, "raw frame", index).normal(0.0, read_noise, img.shape)
    return np.where(img != 0, img, noise).astype(np.float32)


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
    return 0.5 * (edges[1:] + edges[:-1]), rng.numpy_rng(seed, "light curve").poisson(lam)
