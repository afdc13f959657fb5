"""The per-frame path from the raw frame, timed (C8): a timing, which varies from machine to machine."""

import os
import platform
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd

from ... import rng
from ...physics import wfi
from .compute import models
from .params import EDGE


def throughput(p, repeats=5):
    """Time per frame of :func:`wfi.process_frame` on ``throughput_frames`` raw 1024 x 1024 frames, one core.

    The frames are simulated at the notebook's occupancy and made raw (float32 keV, read noise in every pixel
    without charge) before the clock starts; what is timed is the whole per-frame path: thresholding, event
    finding, grading, the VFAINT flag, blobs and the distances to blob and MIP pixels. One pass runs every
    frame once; the best and the median of ``repeats`` passes are kept, in CPU time of the thread (the time it
    ran on its core: what "one core" asks, and what other processes on a shared machine do not inflate) and
    in wall-clock time, with the hardware and its load.
    """
    q = SimpleNamespace(**{**vars(p), "n_side": 1024, "n_frames": p.throughput_frames})
    det, sky, part = models(q)
    seed = rng.derive(p.seed, "throughput frames")
    frames, _ = wfi.simulate_frames(q.n_frames, det, sky, part, seed=seed)
    raws = [wfi.raw_frame(frames, i, p.read_noise, seed) for i in range(q.n_frames)]
    settings = dict(evtth=p.evtth, mipth=p.mipth, edge=EDGE)
    cpu, wall = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.thread_time()
        for raw in raws:
            wfi.process_frame(raw, frames.quadrants, **settings)
        cpu.append((time.thread_time() - start_cpu) / len(raws))
        wall.append((time.perf_counter() - start) / len(raws))
    out = {"frames": len(raws), "passes": repeats,
           "pixels_per_frame": float(np.mean([(r >= p.evtth).sum() for r in raws])),
           "frame_budget_ms": 1e3 * p.frame_time}
    for clock, times in (("cpu", cpu), ("wall", wall)):
        for stat, t in (("best", min(times)), ("median", float(np.median(times)))):
            out[f"{clock}_ms_{stat}"], out[f"{clock}_frames_per_s_{stat}"] = 1e3 * t, 1 / t
    return out | hardware()


def speed_table(speed):
    """The timings of :func:`throughput` as a table: one row per clock, ms per frame and frames/s per pass."""
    return pd.DataFrame([{"clock": name, **{f"{unit}, {stat} pass": speed[f"{clock}_{key}_{stat}"]
                                            for unit, key in (("ms per frame", "ms"), ("frames/s", "frames_per_s"))
                                            for stat in ("best", "median")}}
                         for name, clock in (("CPU of the thread", "cpu"), ("wall clock", "wall"))])


def hardware():
    """The CPU model, its logical cores and the 1-minute load average: what a timing depends on."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), model)
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {"cpu": model, "cores": os.cpu_count(), "load_1min": load}
