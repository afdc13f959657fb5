"""On-board event recognition for the Athena WFI, one frame at a time: the per-frame path from the raw frame.

The algorithm is the one of the MIT/Stanford/PSU background working group's ``find_events.py``
(E. D. Miller, erwocky/geant4-scripts):

- an *event* is a pixel above the event threshold that is >= each of its 8 neighbours, not within
  ``edge`` pixels of a quadrant border; its 5x5 neighbourhood is kept (``phas``, central pixel first);
- the ACIS-style 8-bit grade of the 3x3 neighbours >= the split threshold maps through a 256-entry
  table to EPIC-pn patterns (0 single, 1-4 doubles, 5-8 triples, 9-12 quads, 13 invalid);
- VFAINT: any of the 16 outer pixels > the split threshold sets ``vfaint`` and turns patterns > 0
  into 13 (``pattern3`` keeps the 3x3 pattern); PHA = sum of the pixels >= the split threshold in the
  ``pha_box`` x ``pha_box`` box (the reference sums all 25, although its comments say 3x3);
- a *blob* (particle track) is an 8-connected island of pixels above the event threshold with at
  least ``npixthresh`` pixels or any pixel >= the MIP threshold; ``blobdist`` and ``mipdist`` are the
  distances (pixels) from the event to the nearest blob / MIP pixel of the frame (-1: none).

:func:`process_frame` thresholds a raw frame and runs :func:`recognise` on its pixel list; the batch finder
(:func:`~.events.find_events`) runs the same :func:`recognise` frame by frame. It is whole-array numpy on the
frame's few hundred pixels: neighbours by ``searchsorted`` on pixel keys ``y * (nx + 4) + x``, islands by
pointer jumping, distances by brute force, so that a frame costs little more than reading it once.
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

EVTTH = 0.1        # keV, event threshold of the working group's Geant4 processing
MIPTH = 15.0       # keV, minimum-ionising-particle threshold
CLIP = 22.0        # keV, the largest pixel value the WFI reports
NPIXTHRESH = 5     # pixels: an island this large is a particle track even without a MIP pixel
FRAME_TIME = 0.005  # s, the 5 ms full-frame readout of the 2020 baseline

# ACIS 8-bit grade (bit k = k-th 3x3 neighbour, rows from y-1 up) -> EPIC-pn pattern, as in find_events.py
EPICPN_PATTERN = np.full(256, 13, dtype=np.int64)
EPICPN_PATTERN[[0, 64, 16, 2, 8, 72, 80, 18, 10, 104, 208, 22, 11]] = np.arange(13)

# (dx, dy) of the 25 pixels in the reference's PHAS order: centre, 3x3 ring, outer 5x5 ring
INNER = tuple((dx, dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dx, dy) != (0, 0))
OUTER = tuple((dx, dy) for dy in range(-2, 3) for dx in range(-2, 3) if max(abs(dx), abs(dy)) == 2)
PHAS_OFFSETS = ((0, 0), *INNER, *OUTER)
BITS = 1 << np.arange(8)
_CHUNK = 1 << 20  # query x point pairs per brute-force distance step (8 MB)
_END = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Settings:
    """The event finder's thresholds (keV), island rule, border margin (px) and PHA box; ``splitth`` None: evtth."""

    evtth: float = EVTTH
    splitth: float | None = None
    mipth: float = MIPTH
    npixthresh: int = NPIXTHRESH
    edge: int = 2
    pha_box: int = 5

    def __post_init__(self):
        if self.pha_box not in (3, 5):
            raise ValueError(f"pha_box={self.pha_box!r} is not allowed; allowed: 3 (3x3 PHA) or 5 (5x5, as the "
                             "reference)")
        if self.splitth is None:
            object.__setattr__(self, "splitth", self.evtth)

    @property
    def low(self):
        """The lowest pixel value that counts: pixels under both thresholds change no event, blob or flag."""
        return min(self.evtth, self.splitth)


@dataclass
class FrameEvents:
    """One frame's recognition: events (column -> array), their 5x5 ``phas`` (keV, PHAS order, 0 below
    :attr:`Settings.low`), the pixels of blobs (x, y, energy, blob: 0..k-1 in key order) and the MIP pixels."""

    events: dict
    phas: np.ndarray
    blob_pixels: dict
    mip_pixels: dict


def quadrant_boxes(n_side, origin=(0, 0)):
    """The four inclusive (x0, x1, y0, y1) boxes of a 2x2 array of (n_side/2)-pixel sensors."""
    h, (ox, oy) = n_side // 2, origin
    return tuple((ox + i * h, ox + (i + 1) * h - 1, oy + j * h, oy + (j + 1) * h - 1)
                 for j in (0, 1) for i in (0, 1))


def process_frame(raw, quadrants=None, **settings):
    """The events of one raw frame, a (ny, nx) image in keV: threshold, find, grade, flag (VFAINT, blobs, MIP).

    ``quadrants``: inclusive (x0, x1, y0, y1) sensor boxes (default: 2x2 sensors of the frame). This is the
    whole per-frame path of the on-board processing; the frame itself is only read, never copied. ``settings``:
    those of :class:`Settings`.
    """
    settings = Settings(**settings)
    raw = np.asarray(raw)
    if raw.ndim != 2:
        raise ValueError(f"process_frame takes one (ny, nx) frame; got an array of shape {raw.shape}")
    i = np.flatnonzero(raw >= settings.low)
    energy = raw.ravel()[i].astype(np.float64)
    if len(i) and energy.min() < settings.low:  # a float32 frame is compared at float32 precision
        i, energy = i[energy >= settings.low], energy[energy >= settings.low]
    y, x = np.divmod(i, raw.shape[1])
    return recognise(x, y, energy, raw.shape, quadrant_boxes(min(raw.shape)) if quadrants is None else quadrants,
                     settings)


def recognise(x, y, energy, shape, quadrants, settings):
    """:class:`FrameEvents` of one frame's pixel list: unique pixels sorted by (y, x), all >= ``settings.low``."""
    s = settings
    nx = shape[1] + 4  # keys y * nx + x: an offset of up to 2 px never reaches into the next row
    table = np.append(y * nx + x, _END)  # the end key: every search lands on a pixel or on it
    padded = np.append(energy, 0.0)
    j, hit = _lookup(table, table[:-1], _offsets(INNER, nx))
    near = np.where(hit, padded[j], 0.0)  # the 8 neighbours, 0 where there is no pixel
    above = energy > s.evtth
    blob = _blobs(j[:, 4:], hit[:, 4:], above, energy, s)  # INNER[4:] is HALF: each neighbour pair once
    ev = np.flatnonzero(above & (energy[:, None] >= near).all(axis=1)
                        & _inside(tuple(shape), tuple(map(tuple, quadrants)), s.edge)[y, x])
    jo, hit_o = _lookup(table, table[ev], _offsets(OUTER, nx))
    phas = np.concatenate([energy[ev, None], near[ev], np.where(hit_o, padded[jo], 0.0)], axis=1)
    grade = (phas[:, 1:9] >= s.splitth) @ BITS
    vfaint = (phas[:, 9:] > s.splitth).any(axis=1)
    pattern3 = EPICPN_PATTERN[grade]
    box = phas if s.pha_box == 5 else phas[:, :9]
    in_blob, mip = blob >= 0, energy >= s.mipth
    events = {"x": x[ev], "y": y[ev], "energy": np.where(box >= s.splitth, box, 0.0).sum(axis=1),
              "pattern": np.where(vfaint & (pattern3 > 0), 13, pattern3), "pattern3": pattern3, "grade": grade,
              "vfaint": vfaint, "blob": blob[ev], "blobdist": _nearest(ev, in_blob, x, y),
              "mipdist": _nearest(ev, mip, x, y)}
    blob_pixels = {"x": x[in_blob], "y": y[in_blob], "energy": energy[in_blob], "blob": blob[in_blob]}
    return FrameEvents(events, phas, blob_pixels, {"x": x[mip], "y": y[mip]})


@lru_cache(maxsize=16)
def _offsets(dxdy, nx):
    return np.array([dy * nx + dx for dx, dy in dxdy])


@lru_cache(maxsize=16)
def _inside(shape, quadrants, edge):
    """A (ny, nx) mask of the pixels at least ``edge`` pixels inside one of the quadrant boxes."""
    mask = np.zeros(shape, dtype=bool)
    for x0, x1, y0, y1 in quadrants:
        mask[max(y0 + edge, 0):max(y1 - edge + 1, 0), max(x0 + edge, 0):max(x1 - edge + 1, 0)] = True
    return mask


def _lookup(table, query, offsets):
    """Index into ``table`` (sorted keys, the end key last) of each ``query`` key plus each offset, and whether
    that pixel exists: (n, k) each."""
    q = query[:, None] + offsets
    j = np.searchsorted(table, q)
    return j, table[j] == q


def _blobs(j, hit, above, energy, s):
    """Blob number (0..k-1 in key order) of each pixel, -1 outside blobs; ``j``, ``hit``: neighbour lookups.

    Islands are 8-connected pixels above the event threshold; a blob is one with ``npixthresh`` pixels or
    more, or with a pixel at or above the MIP threshold.
    """
    n = len(above)
    u, k = np.nonzero(hit & above[:, None])
    v = j[u, k]
    link = above[v]
    root = components(n, u[link], v[link])
    size = np.bincount(root, minlength=n)
    has_mip = np.bincount(root, weights=energy >= s.mipth, minlength=n) > 0
    kept = ((size >= s.npixthresh) | has_mip) & above & (root == np.arange(n))
    return np.where(kept[root], np.cumsum(kept)[root] - 1, -1)


def components(n, u, v):
    """Connected components of the graph on nodes 0..n-1 with edges (u, v): each node's smallest node.

    Hook and compress (pointer jumping): every root points at the smallest root it shares an edge with,
    then every node at its root; each round at least halves the roots of a component.
    """
    root = np.arange(n)
    while True:
        ru, rv = root[u], root[v]
        if (ru == rv).all():
            return root
        np.minimum.at(root, np.maximum(ru, rv), np.minimum(ru, rv))
        while True:
            up = root[root]
            if (up == root).all():
                break
            root = up


def _nearest(query, points, x, y):
    """Distance (px) from pixels ``query`` (indices) to the nearest pixel of the mask ``points``; -1 when there
    is none. A query that is itself one of the points is at distance 0 without a search."""
    itself = points[query]
    out = np.where(itself, 0.0, -1.0)
    xp, yp = x[points], y[points]
    if len(xp):
        rest = np.flatnonzero(~itself)
        step = max(1, _CHUNK // len(xp))
        for i in range(0, len(rest), step):
            r = rest[i:i + step]
            d2 = (x[query[r], None] - xp) ** 2 + (y[query[r], None] - yp) ** 2
            out[r] = np.sqrt(d2.min(axis=1))
    return out
