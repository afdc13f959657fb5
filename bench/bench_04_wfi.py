"""WFI event-finder throughput on full-size sparse frames (notebook 04): pixel lists against dense scipy.ndimage.

Both run the background working group's algorithm (find_events.py) on the same simulated 1024 x 1024 frames at the
default occupancy (30 tracks and ~0.3 X-rays per 5 ms frame). The dense finder, the obvious way to write it, labels
the full image with ``scipy.ndimage.label``, finds local maxima with ``maximum_filter`` and measures distances to
tracks with ``distance_transform_edt``; its events are the exact answer the others are compared with (relative
energy difference over matched events; an event missing on either side counts as error 1). Work is counted in frames.
"""

import numpy as np
import pandas as pd
from scipy import ndimage

from common import measure
from companion.physics import wfi

N_FRAMES = 100   # frames for the pixel-list runs
N_DENSE = 10     # frames for the dense runs (8 MB each)
NEEDED = 200     # frames/s of 5 ms frames


def ndimage_events(img, quadrants, evtth=wfi.EVTTH, mipth=wfi.MIPTH, npixthresh=wfi.NPIXTHRESH, edge=2):
    """The same algorithm on one dense image, with scipy.ndimage: events as a DataFrame (x, y, energy, pattern)."""
    above = img > evtth
    labels, n = ndimage.label(above, structure=np.ones((3, 3)))
    index = np.arange(1, n + 1)
    big = ndimage.sum(above, labels, index) >= npixthresh
    keep = np.r_[False, big | (ndimage.maximum(img, labels, index) >= mipth)]
    blob = keep[labels]
    inside = np.zeros_like(above)
    for x0, x1, y0, y1 in quadrants:
        inside[y0 + edge:y1 - edge + 1, x0 + edge:x1 - edge + 1] = True
    peak = above & inside & (img >= ndimage.maximum_filter(img, size=3, mode="constant"))
    ys, xs = np.nonzero(peak)
    pad = np.pad(img, 2)
    phas = np.stack([pad[ys + 2 + dy, xs + 2 + dx] for dx, dy in wfi.PHAS_OFFSETS], axis=1)
    grade = ((phas[:, 1:9] >= evtth) * (1 << np.arange(8))).sum(axis=1)
    vfaint = (phas[:, 9:] > evtth).any(axis=1)
    pattern = np.where(vfaint & (wfi.EPICPN_PATTERN[grade] > 0), 13, wfi.EPICPN_PATTERN[grade])
    dist = {}
    for name, mask in (("blobdist", blob), ("mipdist", img >= mipth)):
        dist[name] = ndimage.distance_transform_edt(~mask)[ys, xs] if mask.any() else np.full(len(ys), -1.0)
    return pd.DataFrame({"x": xs, "y": ys, "energy": np.where(phas >= evtth, phas, 0).sum(axis=1),
                         "pattern": pattern, **dist})


def _errors(ours, exact):
    """Largest relative energy difference over events matched on (frame, x, y); 1.0 if any event is unmatched."""
    m = ours.merge(exact, on=["frame", "x", "y"], how="outer", suffixes=("", "_x"), indicator=True)
    if (m["_merge"] != "both").any() or (m.pattern != m.pattern_x).any():
        return 1.0
    return float(np.max(np.abs(m.energy - m.energy_x) / m.energy_x)) if len(m) else 0.0


def event_finder():
    """Frames per second of the event finder: pixel lists (one frame at a time, batched) against dense ndimage."""
    frames, _ = wfi.simulate_frames(N_FRAMES, seed=0)
    singles = [frames.select(np.arange(N_FRAMES) == i) for i in range(N_FRAMES)]
    images = [s.dense(0) for s in singles[:N_DENSE]]
    per_frame = len(frames.frame) / N_FRAMES

    exact, wall, peak = measure(lambda: [ndimage_events(im, frames.quadrants) for im in images])
    exact = pd.concat([e.assign(frame=i) for i, e in enumerate(exact)], ignore_index=True)
    rows = [dict(library="scipy.ndimage (dense)", method="label + maximum_filter + distance_transform_edt",
                 wall_s=wall, matvecs=N_DENSE, max_rel_err=0.0, peak_mem_mb=peak,
                 note=f"exact answer; {N_DENSE / wall:.0f} frames/s on 1024 x 1024 images")]

    dense, wall, peak = measure(lambda: [wfi.find_events(wfi.from_dense(im)).events for im in images])
    dense = pd.concat([e.assign(frame=i) for i, e in enumerate(dense)], ignore_index=True)
    rows.append(dict(library="companion", method="from_dense + find_events, per frame", wall_s=wall, matvecs=N_DENSE,
                     max_rel_err=_errors(dense, exact), peak_mem_mb=peak,
                     note=f"{N_DENSE / wall:.0f} frames/s, thresholding the full image included"))

    stream, wall, peak = measure(lambda: [wfi.find_events(s).events for s in singles])
    stream = pd.concat([e.assign(frame=i) for i, e in enumerate(stream)], ignore_index=True)
    rows.append(dict(library="companion", method="find_events on pixel lists, per frame", wall_s=wall,
                     matvecs=N_FRAMES, max_rel_err=_errors(stream[stream.frame < N_DENSE], exact), peak_mem_mb=peak,
                     note=f"{N_FRAMES / wall:.0f} frames/s ({'above' if N_FRAMES / wall >= NEEDED else 'BELOW'} the "
                          f"{NEEDED} of 5 ms frames); {per_frame:.0f} pixels/frame"))

    batch, wall, peak = measure(lambda: wfi.find_events(frames).events)
    rows.append(dict(library="companion", method="find_events on pixel lists, all frames at once", wall_s=wall,
                     matvecs=N_FRAMES, max_rel_err=_errors(batch[batch.frame < N_DENSE], exact), peak_mem_mb=peak,
                     note=f"{N_FRAMES / wall:.0f} frames/s"))
    return rows


ENTRIES = {"wfi_event_finder": event_finder}
