"""Sweeps: the same 8-point sweep with 1 and with 2 workers, and the per-run cost of starting a kernel."""

import tempfile
from pathlib import Path

from common import interleaved, timing
from companion import sweep

FAST = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "00_fast.ipynb"


def _sweep(points, workers):
    with tempfile.TemporaryDirectory() as out:
        return sweep.sweep(FAST, points, out, workers=workers, progress=False)


def sweep_workers():
    """8 runs of a notebook that does almost nothing, so the time is the runner's own overhead."""
    points = sweep.grid_points({"x": [1.0, 2.0, 3.0, 4.0], "seed": [0, 1]})
    runs = interleaved({workers: lambda workers=workers: _sweep(points, workers) for workers in (1, 2)})
    rows = []
    for workers, run in runs.items():
        table = run["result"]
        rows.append(dict(library="companion sweep", method=f"{workers} worker{'s' * (workers > 1)}", **timing(run),
                         matvecs=len(table), max_rel_err=None,
                         note=f"{(table.status == 'done').sum()}/8 done; per run {table.seconds.mean():.2f} s (kernel "
                              f"start-up and papermill: the notebook itself takes ~0 s)"
                              + (f"; speed-up {runs[1]['wall_s'] / run['wall_s']:.2f}x over 1 worker (minima)"
                                 if workers > 1 else "")))
    return rows


ENTRIES = {"sweep_workers": sweep_workers}
