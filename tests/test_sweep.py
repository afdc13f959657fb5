"""Sweeps: grids, failures, resuming after a kill, and the Dask path, on a notebook that runs in a second."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from companion import sweep
from companion.notebook import ParameterError

FAST = Path(__file__).parent / "fixtures" / "00_fast.ipynb"


def test_grid_points_and_folders_are_stable():
    points = sweep.grid_points({"x": [1.0, 2.0], "seed": [0, 1, 2]}, fixed={"sleep": 0.0})
    assert len(points) == 6 and points[0] == {"sleep": 0.0, "x": 1.0, "seed": 0}
    a, b = sweep.point_folder("out", points[0]), sweep.point_folder("out", dict(reversed(list(points[0].items()))))
    assert a.name.startswith("sleep=0.0_x=1.0_seed=0-") and a.name[-8:] == b.name[-8:]
    assert len({sweep.point_folder("out", p) for p in points}) == 6


def test_yaml_grid_with_points_and_fixed(tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_text("grid:\n  x: [1.0, 2.0]\nfixed:\n  seed: 3\npoints:\n  - {x: 5.0}\n")
    assert sweep.load_grid(path) == [{"seed": 3, "x": 1.0}, {"seed": 3, "x": 2.0}, {"seed": 3, "x": 5.0}]
    path.write_text("grid:\n  x: 1.0\n")
    with pytest.raises(ParameterError, match="non-empty lists; not so for x"):
        sweep.load_grid(path)


def test_a_bad_point_stops_the_sweep_before_anything_runs(tmp_path):
    nb = Path("notebooks/03_goldilocks_zone.ipynb").resolve()
    with pytest.raises(ParameterError, match=r"sweep point 2 \(seed=-1\): parameter 'seed' = -1"):
        sweep.sweep(nb, [{"seed": 0}, {"seed": -1}], tmp_path, progress=False)
    assert not any(tmp_path.iterdir())


def test_two_by_three_grid_with_one_failure_and_collect(tmp_path):
    points = sweep.grid_points({"x": [-1.0, 2.0], "seed": [0, 1, 2]})
    table = sweep.sweep(FAST, points, tmp_path, workers=2, progress=False)
    assert len(table) == 6
    done = table[table.status == "done"].sort_values(["x", "seed"])
    assert list(done.y) == [4.0, 5.0, 6.0] and done["holds:C1"].all()
    failed = table[table.status == "failed"]
    assert len(failed) == 3 and failed.error.str.contains("fails on purpose").all()
    csv, parquet = sweep.write_tables(table, tmp_path)
    assert len(pd.read_csv(csv)) == 6 and len(pd.read_parquet(parquet)) == 6
    stacked = sweep.collect_table(tmp_path, "table")
    assert len(stacked) == 9 and set(stacked.columns) >= {"i", "xi", "x", "seed"}


def test_retries_rerun_a_failed_point(tmp_path):
    table = sweep.sweep(FAST, [{"x": -1.0}], tmp_path, retries=1, progress=False)
    assert table.attempts.item() == 2 and table.status.item() == "failed"


def test_killed_sweep_resumes_and_runs_each_point_once(tmp_path):
    cmd = [sys.executable, "-m", "companion.cli", "sweep", str(FAST), "-p", "seed", "0", "1", "2", "3",
           "-p", "sleep", "1.5", "--out", str(tmp_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(_done(tmp_path)) < 2:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _done(tmp_path)
    assert 2 <= len(before) < 4
    assert subprocess.run(cmd, capture_output=True, timeout=300).returncode == 0
    after = _done(tmp_path)
    assert len(after) == 4
    for folder, started in before.items():
        assert after[folder] == started  # finished points were not run again
    assert all(json.loads((tmp_path / f / "status.json").read_text())["attempts"] == 1 for f in after)


def _done(out):
    found = {}
    for path in Path(out).glob("*/status.json"):
        status = json.loads(path.read_text())
        if status["state"] == "done":
            found[path.parent.name] = status["started"]
    return found


def test_dask_local_cluster_gives_the_same_table(tmp_path):
    from distributed import LocalCluster

    points = sweep.grid_points({"x": [1.0, 3.0], "seed": [0, 1]})
    local = sweep.sweep(FAST, points, tmp_path / "local", progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = sweep.sweep(FAST, points, tmp_path / "dask", scheduler=cluster.scheduler_address, progress=False)
    columns = ["folder", "x", "seed", "status", "y"]
    assert local[columns].sort_values("folder").reset_index(drop=True).equals(
        remote[columns].sort_values("folder").reset_index(drop=True))


@pytest.mark.slow
def test_summary_notebook_plots_the_committed_example(tmp_path):
    from companion import runner

    nb = runner.find("99_sweep_summary")
    result = runner.run(nb, out=tmp_path, progress=False)
    assert result.ok, result.error
    summary = pd.DataFrame(json.loads((tmp_path / "99_sweep_summary.record.json").read_text())["summary"])
    assert set(summary.subspace_dim) == {10, 40} and (summary["count"] == 3).all()  # 3 seeds, relu only
    bad = runner.run(nb, {"sweep_dir": str(tmp_path / "nowhere")}, out=tmp_path / "bad", progress=False)
    assert not bad.ok and "is not a sweep folder" in bad.error
    missing = runner.run(nb, {"y": "nope"}, out=tmp_path / "missing", progress=False)
    assert not missing.ok and "no column 'nope'" in missing.error
