"""On-board event recognition for the Athena WFI, on sparse frames (pixel lists).

The algorithm is the one of the MIT/Stanford/PSU background working group's ``find_events.py``
(E. D. Miller, erwocky/geant4-scripts), rewritten with whole-array numpy over all frames at once:

- an *event* is a pixel above the event threshold that is >= each of its 8 neighbours, not within
  ``edge`` pixels of a quadrant border; its 5x5 neighbourhood is kept (``phas``, central pixel first);
- the ACIS-style 8-bit grade of the 3x3 neighbours >= the split threshold maps through a 256-entry
  table to EPIC-pn patterns (0 single, 1-4 doubles, 5-8 triples, 9-12 quads, 13 invalid);
- VFAINT: any of the 16 outer pixels > the split threshold sets ``vfaint`` and turns patterns > 0
  into 13 (``pattern3`` keeps the 3x3 pattern); PHA = sum of the pixels >= the split threshold in the
  ``pha_box`` x ``pha_box`` box (the reference sums all 25, although its comments say 3x3);
- a *blob* (particle track) is an 8-connected island of pixels above the event threshold with at
  least ``npixthresh`` pixels or any pixel >= the MIP threshold; ``blobdist`` and ``mipdist`` are the
  distances (pixels) from the event to the nearest blob / MIP pixel in the same frame (-1: none).

Frames are held as pixel lists (what a frame processor hands on after thresholding); a pixel key
``(frame * ny' + y') * nx' + x'`` on a grid padded by 2 makes every neighbour a ``searchsorted``.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

EVTTH = 0.1        # keV, event threshold of the working group's Geant4 processing
MIPTH = 15.0       # keV, minimum-ionising-particle threshold
CLIP = 22.0        # keV, the largest pixel value the WFI reports
NPIXTHRESH = 5     # pixels: an island this large is a particle track even without a MIP pixel
FRAME_TIME = 0.005  # s, the 5 ms full-frame readout of the 2020 baseline

# ACIS 8-bit grade (bit k = k-th 3x3 neighbour, rows from y-1 up) -> EPIC-pn pattern, as in find_events.py
EPICPN_PATTERN = np.full(256, 13, dtype=np.int64)
EPICPN_PATTERN[[0, 64, 16, 2, 8, 72, 80, 18, 10, 104, 208, 22, 11]] = np.arange(13)

# (dx, dy) of the 25 pixels in the reference's PHAS order: centre, 3x3 ring, outer 5x5 ring
INNER = [(dx, dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dx, dy) != (0, 0)]
OUTER = [(dx, dy) for dy in range(-2, 3) for dx in range(-2, 3) if max(abs(dx), abs(dy)) == 2]
PHAS_OFFSETS = [(0, 0), *INNER, *OUTER]
_HALF = [(1, 0), (-1, 1), (0, 1), (1, 1)]  # each 8-neighbour pair once


@dataclass(frozen=True)
class PixelFrames:
    """Frames as pixel lists: pixel (x, y) of frame ``frame`` holds ``energy`` keV (0 elsewhere).

    ``quadrants`` are inclusive (x0, x1, y0, y1) boxes of the sensors; events within ``edge`` pixels
    of a box border are not reported. ``shape`` (ny, nx) bounds the coordinates.
    """

    frame: np.ndarray
    x: np.ndarray
    y: np.ndarray
    energy: np.ndarray
    n_frames: int
    shape: tuple
    quadrants: tuple
    frame_time: float = FRAME_TIME
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in ("frame", "x", "y", "energy"):
            if len(getattr(self, name)) != len(self.frame):
                raise ValueError(f"PixelFrames: column {name!r} has {len(getattr(self, name))} rows, "
                                 f"frame has {len(self.frame)}")
        if len(self.frame) and (self.frame.min() < 0 or self.frame.max() >= self.n_frames):
            raise ValueError(f"PixelFrames: frame numbers must lie in 0..{self.n_frames - 1}")

    @property
    def area_px(self):
        """Pixels in all quadrants."""
        return int(sum((x1 - x0 + 1) * (y1 - y0 + 1) for x0, x1, y0, y1 in self.quadrants))

    def select(self, frames):
        """The pixels of the frames in ``frames`` (a boolean mask over frame numbers), renumbered 0..k-1."""
        frames = np.asarray(frames, dtype=bool)
        new = np.cumsum(frames) - 1
        keep = frames[self.frame]
        return PixelFrames(new[self.frame[keep]], self.x[keep], self.y[keep], self.energy[keep],
                           int(frames.sum()), self.shape, self.quadrants, self.frame_time, dict(self.meta))

    def dense(self, index):
        """Frame ``index`` as a (ny, nx) image in keV."""
        img = np.zeros(self.shape)
        keep = self.frame == index
        np.add.at(img, (self.y[keep], self.x[keep]), self.energy[keep])
        return img


def quadrant_boxes(n_side, origin=(0, 0)):
    """The four inclusive (x0, x1, y0, y1) boxes of a 2x2 array of (n_side/2)-pixel sensors."""
    h, (ox, oy) = n_side // 2, origin
    return tuple((ox + i * h, ox + (i + 1) * h - 1, oy + j * h, oy + (j + 1) * h - 1)
                 for j in (0, 1) for i in (0, 1))


def from_dense(images, quadrants=None, threshold=EVTTH, frame_time=FRAME_TIME):
    """Pixel lists of a stack of (n, ny, nx) images: every pixel >= ``threshold`` (what a frame processor sends on).

    Give the split threshold when it is below the event threshold: pixels under both can neither start an
    event or a blob nor count in an event's PHA, grade or VFAINT flag, so dropping them changes nothing.
    """
    images = np.asarray(images)
    if images.ndim == 2:
        images = images[None]
    n, ny, nx = images.shape
    f, y, x = np.nonzero(images >= threshold)
    return PixelFrames(f, x, y, images[f, y, x].astype(float), n, (ny, nx),
                       quadrants or quadrant_boxes(min(nx, ny)), frame_time)


@dataclass
class Recognition:
    """What the event finder returns: the events, the blobs (tracks) and the track pixels per frame."""

    events: pd.DataFrame
    blobs: pd.DataFrame
    blob_pixels: pd.DataFrame  # frame, x, y of every pixel in a blob
    mip_pixels: pd.DataFrame   # frame, x, y of every pixel >= the MIP threshold
    n_frames: int
    phas: np.ndarray = field(repr=False, default=None)  # (events, 25) keV in the reference's PHAS order

    def accepted(self, mipth=MIPTH):
        """X-ray-like events the on-board processor keeps: below the MIP threshold, pattern 0-12, not in a blob."""
        ev = self.events
        return ev[(ev.energy < mipth) & (ev.pattern <= 12) & (ev.blobdist != 0)]


class _Grid:
    """Sorted pixel keys on a grid padded by 2 on every side, so every 5x5 neighbour has a key."""

    def __init__(self, frames):
        self.nx, self.ny = frames.shape[1] + 4, frames.shape[0] + 4
        keys = self.key(frames.frame, frames.x, frames.y)
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        first = np.nonzero(np.r_[True, keys[1:] != keys[:-1]])[0] if len(keys) else np.zeros(0, np.int64)
        self.keys = keys[first]
        self.energy = np.add.reduceat(np.asarray(frames.energy, float)[order], first) if len(keys) else np.zeros(0)
        self.frame, rest = np.divmod(self.keys, self.nx * self.ny)
        y, x = np.divmod(rest, self.nx)
        self.x, self.y = x - 2, y - 2

    def key(self, frame, x, y):
        return (np.asarray(frame, np.int64) * self.ny + (np.asarray(y, np.int64) + 2)) * self.nx + (
            np.asarray(x, np.int64) + 2)

    def find(self, keys, subset=None):
        """Index (into ``subset`` or all pixels) of each key, -1 where there is no such pixel."""
        table = self.keys if subset is None else self.keys[subset]
        if not len(table):
            return np.full(len(keys), -1)
        i = np.minimum(np.searchsorted(table, keys), len(table) - 1)
        return np.where(table[i] == keys, i, -1)

    def values(self, index, dx, dy):
        """Energy of the pixel at offset (dx, dy) from pixels ``index`` (0 where none)."""
        j = self.find(self.keys[index] + dy * self.nx + dx)
        return np.where(j >= 0, self.energy[np.maximum(j, 0)], 0.0)


def _inside(x, y, quadrants, edge):
    ok = np.zeros(len(x), dtype=bool)
    for x0, x1, y0, y1 in quadrants:
        ok |= (x >= x0 + edge) & (x <= x1 - edge) & (y >= y0 + edge) & (y <= y1 - edge)
    return ok


def _blobs(grid, above, npixthresh, mipth):
    """Label 8-connected islands of the pixels ``above`` (indices); return (labels, kept mask per island)."""
    n = len(above)
    rows, cols = [], []
    for dx, dy in _HALF:
        j = grid.find(grid.keys[above] + dy * grid.nx + dx, subset=above)
        rows.append(np.nonzero(j >= 0)[0])
        cols.append(j[j >= 0])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    n_islands, labels = connected_components(graph, directed=False)
    size = np.bincount(labels, minlength=n_islands)
    peak = np.zeros(n_islands)
    np.maximum.at(peak, labels, grid.energy[above])
    return labels, (size >= npixthresh) | (peak >= mipth)


def nearest_in_frame(frame_pts, x_pts, y_pts, frame_q, x_q, y_q):
    """Distance from each query to the nearest point of the same frame (-1 when the frame has none).

    One k-d tree over all frames: frames sit 10^5 pixels apart, far beyond any in-frame distance.
    """
    if not len(frame_q):
        return np.zeros(0)
    if not len(frame_pts):
        return np.full(len(frame_q), -1.0)
    sep = 1e5
    tree = cKDTree(np.column_stack([x_pts + sep * frame_pts, y_pts]).astype(float))
    d, _ = tree.query(np.column_stack([x_q + sep * frame_q, y_q]).astype(float), distance_upper_bound=sep / 4)
    return np.where(np.isfinite(d), d, -1.0)


def find_events(frames, evtth=EVTTH, splitth=None, mipth=MIPTH, npixthresh=NPIXTHRESH, edge=2, pha_box=5):
    """Events, blobs and track pixels of every frame in ``frames`` (a :class:`PixelFrames`)."""
    splitth = evtth if splitth is None else splitth
    if pha_box not in (3, 5):
        raise ValueError(f"pha_box={pha_box!r} is not allowed; allowed: 3 (3x3 PHA) or 5 (5x5, as the reference)")
    grid = _Grid(frames)
    above = np.nonzero(grid.energy > evtth)[0]

    labels, kept = _blobs(grid, above, npixthresh, mipth)
    in_blob = above[kept[labels]]
    blob_id = np.full(len(grid.keys), -1)
    blob_id[in_blob] = (np.cumsum(kept) - 1)[labels[kept[labels]]]  # kept islands renumbered 0..k-1
    blobs = _blob_table(grid, in_blob, blob_id[in_blob])
    mip = np.nonzero(grid.energy >= mipth)[0]

    cand = above[_inside(grid.x[above], grid.y[above], frames.quadrants, edge)]
    is_max = np.ones(len(cand), dtype=bool)
    for dx, dy in INNER:
        is_max &= grid.energy[cand] >= grid.values(cand, dx, dy)
    ev = cand[is_max]

    phas = np.column_stack([grid.values(ev, dx, dy) for dx, dy in PHAS_OFFSETS]) if len(ev) else np.zeros((0, 25))
    grade = ((phas[:, 1:9] >= splitth) * (1 << np.arange(8))).sum(axis=1)
    pattern = EPICPN_PATTERN[grade]
    vfaint = (phas[:, 9:] > splitth).any(axis=1)
    pattern = np.where(vfaint & (pattern > 0), 13, pattern)
    box = phas if pha_box == 5 else phas[:, :9]
    pha = np.where(box >= splitth, box, 0.0).sum(axis=1)

    fr, x, y = grid.frame[ev], grid.x[ev], grid.y[ev]
    # an event on a blob (MIP) pixel is at distance 0; only the others need the k-d tree
    blobdist, mipdist = np.zeros(len(ev)), np.zeros(len(ev))
    off = blob_id[ev] < 0
    blobdist[off] = nearest_in_frame(grid.frame[in_blob], grid.x[in_blob], grid.y[in_blob], fr[off], x[off], y[off])
    off = grid.energy[ev] < mipth
    mipdist[off] = nearest_in_frame(grid.frame[mip], grid.x[mip], grid.y[mip], fr[off], x[off], y[off])
    events = pd.DataFrame({
        "frame": fr, "x": x, "y": y, "energy": pha, "pattern": pattern, "pattern3": EPICPN_PATTERN[grade],
        "grade": grade, "vfaint": vfaint, "blob": blob_id[ev], "blobdist": blobdist, "mipdist": mipdist})
    pix = lambda idx: pd.DataFrame({"frame": grid.frame[idx], "x": grid.x[idx], "y": grid.y[idx]})  # noqa: E731
    return Recognition(events, blobs, pix(in_blob), pix(mip), frames.n_frames, phas)


def _blob_table(grid, idx, ids):
    """One row per blob: frame, number of pixels, summed and clipped energy, energy-weighted centroid."""
    n = int(ids.max()) + 1 if len(ids) else 0
    e = grid.energy[idx]
    total = np.bincount(ids, weights=e, minlength=n)
    frame = np.zeros(n, dtype=np.int64)
    frame[ids] = grid.frame[idx]
    return pd.DataFrame({
        "blob": np.arange(n), "frame": frame, "npix": np.bincount(ids, minlength=n), "energy": total,
        "energy_clipped": np.bincount(ids, weights=np.minimum(e, CLIP), minlength=n),
        "x": np.bincount(ids, weights=e * grid.x[idx], minlength=n) / np.where(total > 0, total, 1),
        "y": np.bincount(ids, weights=e * grid.y[idx], minlength=n) / np.where(total > 0, total, 1)})
