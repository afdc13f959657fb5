"""Frames per second of the event finder (C8): a timing, which varies from machine to machine."""

import time
from types import SimpleNamespace

import numpy as np
import pandas as pd

from ... import rng
from ...physics import wfi
from .compute import models

def throughput(p, repeats=3):
    """Frames per second of the event finder on full-size (1024 x 1024) simulated frames, one core.

    ``stream``: one frame at a time from its pixel list (what the SPM receives from the frame
    processor); ``batch``: all frames in one call; ``dense``: one frame at a time from the full image,
    thresholding included. Best of ``repeats``. Timings vary with the machine: they are not compared
    run to run.
    """
    q = _replace(p, n_side=1024, n_frames=p.throughput_frames)
    det, sky, part = models(q)
    frames, _ = wfi.simulate_frames(q.n_frames, det, sky, part, seed=rng.derive(p.seed, "throughput frames"))
    singles = [frames.select(np.arange(frames.n_frames) == i) for i in range(frames.n_frames)]
    n_dense = min(20, frames.n_frames)
    images = [singles[i].dense(0).astype(np.float32) for i in range(n_dense)]
    run = {"stream": (lambda: [wfi.find_events(s, p.evtth, mipth=p.mipth) for s in singles], frames.n_frames),
           "batch": (lambda: wfi.find_events(frames, p.evtth, mipth=p.mipth), frames.n_frames),
           "dense": (lambda: [wfi.find_events(wfi.from_dense(im, threshold=p.evtth), p.evtth, mipth=p.mipth)
                              for im in images], n_dense)}
    rows = []
    for mode, (fn, n) in run.items():
        best = min(_timed(fn) for _ in range(repeats))
        rows.append({"mode": mode, "frames": n, "seconds": best, "frames_per_s": n / best})
    out = pd.DataFrame(rows)
    out.attrs["pixels_per_frame"] = len(frames.frame) / frames.n_frames
    return out


def _timed(fn):
    """Wall-clock seconds of one call of ``fn``."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _replace(p, **changes):
    """The parameters ``p`` with ``changes`` applied."""
    return SimpleNamespace(**{**vars(p), **changes})
