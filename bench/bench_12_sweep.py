"""Sweeps: the same 8-point sweep with 1 and with 2 workers, and the per-run cost of starting a kernel."""

import tempfile
from pathlib import Path

from common import measure
from companion import sweep

FAST = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "00_fast.ipynb"


def sweep_workers():
    """8 runs of a notebook that does almost nothing, so the time is the runner's own overhead."""
    points = sweep.grid_points({"x": [1.0, 2.0, 3.0, 4.0], "seed": [0, 1]})
    rows, walls = [], {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as out:
            table, wall, peak = measure(lambda: sweep.sweep(FAST, points, out, workers=workers, progress=False))
        walls[workers] = wall
        per_run = table.seconds.mean()
        rows.append(dict(library="companion sweep", method=f"{workers} worker{'s' * (workers > 1)}", wall_s=wall,
                         matvecs=len(table), max_rel_err=None, peak_mem_mb=peak,
                         note=f"{(table.status == 'done').sum()}/8 done; per run {per_run:.2f} s (kernel start-up "
                              f"and papermill: the notebook itself takes ~0 s)"
                              + (f"; speed-up {walls[1] / wall:.2f}x over 1 worker" if workers > 1 else "")))
    return rows


ENTRIES = {"sweep_workers": sweep_workers}
