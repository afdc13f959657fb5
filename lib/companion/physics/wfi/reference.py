"""The per-frame algorithm written directly on the full image with ``scipy.ndimage``: the exact answer.

The obvious way to write the working group's algorithm (see :mod:`.frame`): islands by ``ndimage.label``,
local maxima by ``maximum_filter``, distances to blob and MIP pixels by ``distance_transform_edt``. It touches
every pixel of the frame several times, so it is slow; it is what :func:`~.frame.process_frame` is tested and
benchmarked against, event by event and column by column.
"""

import numpy as np
from scipy import ndimage

from .frame import BITS, EPICPN_PATTERN, PHAS_OFFSETS, Settings, quadrant_boxes


def dense_events(raw, quadrants=None, **settings):
    """The events of one raw (ny, nx) frame in keV, as a dict of columns like ``process_frame(raw).events``."""
    s = Settings(**settings)
    img = np.asarray(raw, dtype=np.float64)
    img = np.where(img >= s.low, img, 0.0)  # pixels under both thresholds count as empty, as in a pixel list
    above = img > s.evtth
    labels, n = ndimage.label(above, structure=np.ones((3, 3)))
    index = np.arange(1, n + 1)
    kept = np.r_[False, (ndimage.sum(above, labels, index) >= s.npixthresh)
                 | (ndimage.maximum(img, labels, index) >= s.mipth)]
    number = np.r_[-1, np.cumsum(kept[1:]) - 1]  # kept islands numbered in raster order of their first pixel
    blob = np.where(kept[labels], number[labels], -1)
    inside = np.zeros_like(above)
    for x0, x1, y0, y1 in quadrant_boxes(min(img.shape)) if quadrants is None else quadrants:
        inside[max(y0 + s.edge, 0):max(y1 - s.edge + 1, 0), max(x0 + s.edge, 0):max(x1 - s.edge + 1, 0)] = True
    peak = above & inside & (img >= ndimage.maximum_filter(img, size=3, mode="constant"))
    ys, xs = np.nonzero(peak)
    pad = np.pad(img, 2)
    phas = np.stack([pad[ys + 2 + dy, xs + 2 + dx] for dx, dy in PHAS_OFFSETS], axis=1).reshape(-1, 25)
    grade = ((phas[:, 1:9] >= s.splitth) * BITS).sum(axis=1)
    vfaint = (phas[:, 9:] > s.splitth).any(axis=1)
    box = phas if s.pha_box == 5 else phas[:, :9]
    dist = {name: ndimage.distance_transform_edt(~mask)[ys, xs] if mask.any() else np.full(len(ys), -1.0)
            for name, mask in (("blobdist", blob >= 0), ("mipdist", img >= s.mipth))}
    return {"x": xs, "y": ys, "energy": np.where(box >= s.splitth, box, 0.0).sum(axis=1),
            "pattern": np.where(vfaint & (EPICPN_PATTERN[grade] > 0), 13, EPICPN_PATTERN[grade]),
            "pattern3": EPICPN_PATTERN[grade], "grade": grade, "vfaint": vfaint, "blob": blob[ys, xs], **dist}
