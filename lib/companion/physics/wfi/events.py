"""Frames as pixel lists (:class:`PixelFrames`) and the event finder over many frames (:func:`find_events`).

A pixel list is what a frame processor hands on after thresholding, and what the simulator and the Geant4
set provide. :func:`find_events` runs the per-frame algorithm (:func:`~.frame.recognise`, the same code as
:func:`~.frame.process_frame` on a raw frame) on each frame and gathers the results as tables.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .frame import CLIP, FRAME_TIME, MIPTH, Settings, recognise


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
        for name, size in (("x", self.shape[1]), ("y", self.shape[0])):
            v = getattr(self, name)
            if len(v) and (v.min() < 0 or v.max() >= size):
                raise ValueError(f"PixelFrames: {name} must lie in 0..{size - 1} (shape {self.shape})")

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


def find_events(frames, **settings):
    """Events, blobs and track pixels of every frame in ``frames`` (a :class:`PixelFrames`).

    A pixel listed twice adds; pixels below both thresholds are dropped (they change nothing). Each frame
    goes through :func:`~.frame.recognise`; ``settings`` are those of :class:`~.frame.Settings`.
    """
    s = Settings(**settings)
    f, y, x, e = _unique_pixels(frames)
    keep = e >= s.low
    f, y, x, e = f[keep], y[keep], x[keep], e[keep]
    starts = np.flatnonzero(np.r_[True, f[1:] != f[:-1]]) if len(f) else np.zeros(0, np.int64)
    bounds = np.r_[starts, len(f)]
    results = [recognise(x[a:b], y[a:b], e[a:b], frames.shape, frames.quadrants, s)
               for a, b in zip(bounds[:-1], bounds[1:])]
    frame_of = f[starts]
    if not results:  # no pixel in any frame: the (empty) result of one empty frame
        results, frame_of = [recognise(x, y, e, frames.shape, frames.quadrants, s)], np.zeros(1, np.int64)
    return _gather(results, frame_of, frames.n_frames)


def _unique_pixels(frames):
    """(frame, y, x, keV) of each distinct pixel, sorted by frame, y, x; a pixel listed twice adds."""
    ny, nx = frames.shape
    key = (np.asarray(frames.frame, np.int64) * ny + frames.y) * nx + frames.x
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, np.int64)
    energy = np.add.reduceat(np.asarray(frames.energy, float)[order], first) if len(key) else np.zeros(0)
    frame, rest = np.divmod(key[first], ny * nx)
    y, x = np.divmod(rest, nx)
    return frame, y, x, energy


def _gather(results, frame_of, n_frames):
    """One :class:`Recognition` from per-frame results (frames ``frame_of``): blob numbers run on over frames."""
    cat = lambda part, col: np.concatenate([getattr(r, part)[col] for r in results])  # noqa: E731
    count = lambda part: np.array([len(getattr(r, part)["x"]) for r in results])  # noqa: E731
    n_blobs = np.array([r.blob_pixels["blob"].max() + 1 if len(r.blob_pixels["blob"]) else 0 for r in results])
    first_blob = np.cumsum(n_blobs) - n_blobs
    ev = {c: cat("events", c) for c in results[0].events}
    ev["blob"] = np.where(ev["blob"] >= 0, ev["blob"] + np.repeat(first_blob, count("events")), -1)
    events = pd.DataFrame({"frame": np.repeat(frame_of, count("events")), **ev})
    bp = {c: cat("blob_pixels", c) for c in results[0].blob_pixels}
    bp["frame"] = np.repeat(frame_of, count("blob_pixels"))
    bp["blob"] += np.repeat(first_blob, count("blob_pixels"))
    mip = pd.DataFrame({"frame": np.repeat(frame_of, count("mip_pixels")), "x": cat("mip_pixels", "x"),
                        "y": cat("mip_pixels", "y")})
    return Recognition(events, _blob_table(bp), pd.DataFrame({c: bp[c] for c in ("frame", "x", "y")}), mip,
                       n_frames, np.concatenate([r.phas for r in results]))


def _blob_table(bp):
    """One row per blob from its pixels (frame, x, y, energy, blob): frame, number of pixels, summed and clipped
    energy, energy-weighted centroid."""
    ids, e = bp["blob"], bp["energy"]
    n = int(ids.max()) + 1 if len(ids) else 0
    total = np.bincount(ids, weights=e, minlength=n)
    frame = np.zeros(n, dtype=np.int64)
    frame[ids] = bp["frame"]
    return pd.DataFrame({
        "blob": np.arange(n), "frame": frame, "npix": np.bincount(ids, minlength=n), "energy": total,
        "energy_clipped": np.bincount(ids, weights=np.minimum(e, CLIP), minlength=n),
        "x": np.bincount(ids, weights=e * bp["x"], minlength=n) / np.where(total > 0, total, 1),
        "y": np.bincount(ids, weights=e * bp["y"], minlength=n) / np.where(total > 0, total, 1)})
