"""What every benchmark entry shares: measuring a run, comparing with an exact answer, the table."""

import time
from pathlib import Path

import numpy as np

COLUMNS = ("library", "method", "wall_s", "wall_median_s", "matvecs", "max_rel_err", "peak_mem_mb", "note")
FORMATS = {"wall_s": ".2f", "wall_median_s": ".2f", "max_rel_err": ".1e", "peak_mem_mb": ".0f"}
REPEATS = 5  # interleaved repeats per method: wall_s is their minimum, wall_median_s their median


def _status_kb(field):
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(field + ":"))
    return int(line.split()[1])


def measure(fn):
    """Run ``fn()``; return (its result, wall seconds, peak RSS in MB above the start).

    The peak is Linux's VmHWM, reset before the run through /proc/self/clear_refs; where
    that is not possible the peak is None. Memory the allocator kept from earlier runs is
    reused without showing up, so small numbers are lower bounds.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
        start_kb = _status_kb("VmRSS")
    except OSError:
        start_kb = None
    t0 = time.perf_counter()
    result = fn()
    wall = time.perf_counter() - t0
    peak = None if start_kb is None else (_status_kb("VmHWM") - start_kb) / 1024
    return result, wall, peak


def interleaved(methods, repeats=REPEATS):
    """Run every method of ``methods`` (name -> zero-argument function) ``repeats`` times, interleaved
    (A B A B ...), so that a slow spell of the machine hits every method alike.

    Returns name -> {"result" (of the last run), "wall_s" (minimum), "wall_median_s", "peak_mem_mb" (largest)}.
    Ratios between methods are taken from the minima: the least disturbed run of each.
    """
    if repeats < 1:
        raise ValueError(f"repeats={repeats!r} must be at least 1")
    walls, peaks, results = {name: [] for name in methods}, {name: [] for name in methods}, {}
    for _ in range(repeats):
        for name, fn in methods.items():
            results[name], wall, peak = measure(fn)
            walls[name].append(wall)
            peaks[name].append(peak)
    return {name: {"result": results[name], "wall_s": min(walls[name]),
                   "wall_median_s": float(np.median(walls[name])),
                   "peak_mem_mb": None if None in peaks[name] else max(peaks[name])} for name in methods}


def timing(run):
    """The row columns of one method's :func:`interleaved` run: wall_s, wall_median_s, peak_mem_mb."""
    return {key: run[key] for key in ("wall_s", "wall_median_s", "peak_mem_mb")}


def max_rel_err(values, exact):
    """Largest |value - exact| / |exact| over paired eigenvalues."""
    values, exact = np.asarray(values, dtype=float), np.asarray(exact, dtype=float)
    return float(np.max(np.abs(values - exact) / np.abs(exact)))


def by_magnitude(values):
    values = np.asarray(values, dtype=float)
    return values[np.argsort(-np.abs(values), kind="stable")]


def format_table(rows):
    """A fixed-width side-by-side table of ``rows``."""
    cells = [["n/a" if row.get(key) is None else format(row[key], FORMATS.get(key, "")) for key in COLUMNS]
             for row in rows]
    widths = [max(len(key), *(len(c[i]) for c in cells)) for i, key in enumerate(COLUMNS)]
    lines = ["  ".join(key.ljust(w) for key, w in zip(COLUMNS, widths))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in cells]
    return "\n".join(lines)
