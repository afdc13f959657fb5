"""Sweeps: grids, failures, resuming after a kill, and the Dask path, on a notebook that runs in a second."""

import contextlib
import fcntl
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
import yaml

from companion import sweep, sweep_results
from companion.io import write_json_atomic
from companion.params import ParameterError

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
    assert list(done.y) == [4.0, 5.0, 6.0] and (done["verdict:C1"] == "holds").all()
    failed = table[table.status == "failed"]
    assert len(failed) == 3 and failed.error.str.contains("fails on purpose").all()
    csv, parquet = sweep_results.write_tables(table, tmp_path)
    assert len(pd.read_csv(csv)) == 6 and len(pd.read_parquet(parquet)) == 6
    stacked = sweep_results.collect_table(tmp_path, "table")
    assert len(stacked) == 9 and set(stacked.columns) >= {"i", "xi", "x", "seed"}


def test_retries_rerun_a_failed_point(tmp_path):
    table = sweep.sweep(FAST, [{"x": -1.0}], tmp_path, retries=1, progress=False)
    assert table.attempts.item() == 2 and table.status.item() == "failed"


@pytest.fixture
def kernel_tmpdir(monkeypatch):
    """A folder of this test's own as TMPDIR of the processes it starts, removed at its end: the kernels it kills
    leave their sockets there."""
    folder = tempfile.mkdtemp(prefix="sweep-test-")  # short: a socket's path has at most 107 characters
    monkeypatch.setenv("TMPDIR", folder)
    yield folder
    shutil.rmtree(folder)


def test_a_killed_sweep_leaves_no_process_behind_and_resumes_each_point_to_one_finish(tmp_path, kernel_tmpdir):
    """SIGKILL the sweep (only its own process) once point 0 is done, point 1 sleeps and 2 and 3 wait: its workers
    and kernels die with it, its lock refuses a second sweep while it runs and dies with it, and the resumed sweep
    finishes every point exactly once, counting the killed launch in ``attempts``."""
    launches, out = tmp_path / "launches.txt", tmp_path / "out"
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump({"fixed": {"log": str(launches)},
                                    "points": [{"seed": 0}, {"seed": 1, "sleep": 20.0}, {"seed": 2}, {"seed": 3}]}))
    cmd = [sys.executable, "-m", "companion.cli", "sweep", str(FAST), "--grid", str(grid), "--workers", "2",
           "--out", str(out)]
    # point 1 must still be running when the sweep is killed: with a 4 s sleep it sometimes finished (and logged)
    # in the seconds between point 0's end and the kill, so the resumed sweep ran it a second time
    proc = subprocess.Popen(cmd, env={**os.environ, MARK: str(tmp_path)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until(lambda: proc.poll() is not None or _states(out).get(0) == "done", deadline=120)
        assert proc.poll() is None, "the sweep ended before it could be killed"
        with pytest.raises(sweep.SweepBusy, match=f"sweep folder {out} is in use by another sweep"):
            sweep.sweep(FAST, [{"seed": 0}], out, progress=False)
        proc.kill()
        proc.wait()
        _wait_until(lambda: not _processes_marked(str(tmp_path)), deadline=30)
        assert not _processes_marked(str(tmp_path)), "a worker or kernel outlived the killed sweep"
    finally:  # whatever failed above, end what this test started
        proc.kill()
        proc.wait()
        for pid in _processes_marked(str(tmp_path)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert subprocess.run(cmd, capture_output=True, timeout=300).returncode == 0
    finished = launches.read_text().split("\n").count
    assert [finished(f"finished {seed}") for seed in range(4)] == [1, 1, 1, 1]
    attempts = {status["params"]["seed"]: status["attempts"] for status in _statuses(out)}
    assert attempts[0] == 1 and attempts[1] == 2 and attempts[3] == 1  # 1 was killed mid-run; 3 never started


MARK = "COMPANION_SWEEP_TEST"  # in the environment of the killed sweep, so its workers and kernels can be found


def _wait_until(condition, deadline):
    """Poll ``condition`` until it holds or ``deadline`` seconds have passed."""
    end = time.monotonic() + deadline
    while not condition() and time.monotonic() < end:
        time.sleep(0.1)


def _processes_marked(mark):
    """Live processes with ``MARK=mark`` in their environment."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() != psutil.STATUS_ZOMBIE and process.environ().get(MARK) == mark:
                found.append(process.pid)
        except psutil.Error:  # gone meanwhile, or not ours to read
            continue
    return found


def _statuses(out):
    return [json.loads(path.read_text()) for path in Path(out).glob("*/status.json")]


def _states(out):
    return {status["params"]["seed"]: status["state"] for status in _statuses(out)}


def test_a_worker_that_died_while_idle_is_replaced_not_sent_the_next_point():
    context = multiprocessing.get_context("spawn")
    dead, alive = sweep._Worker(context), sweep._Worker(context)
    dead.process.kill()
    dead.process.join()
    try:
        assert sweep._free_worker([alive, dead], context) is alive  # the dead one is dropped, the live one kept
        fresh = sweep._free_worker([dead], context)
        assert fresh is not dead and fresh.process.is_alive()
    finally:
        for worker in (alive, fresh):
            worker.conn.close()  # an idle worker's signal to stop
            worker.process.join(timeout=60)


def test_a_dead_worker_fails_its_point_and_the_other_points_finish(tmp_path, kernel_tmpdir):
    points = [{"seed": 0, "crash": True}, {"seed": 1}, {"seed": 2}]
    table = sweep.sweep(FAST, points, tmp_path, workers=2, retries=1, progress=False).set_index("seed")
    assert table.status.to_dict() == {0: "failed", 1: "done", 2: "done"}
    assert "killed by SIGKILL" in table.error[0] and table.attempts[0] == 2  # the retry died too


def test_a_second_sweep_on_a_locked_folder_stops_at_once(tmp_path):
    with open(tmp_path / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(sweep.SweepBusy, match=f"sweep folder {tmp_path} is in use by another sweep"):
            sweep.sweep(FAST, [{"seed": 0}], tmp_path, progress=False)
    assert not list(tmp_path.glob("*/status.json"))


def test_a_repeated_point_runs_once(tmp_path):
    launches = tmp_path / "launches.txt"
    point = {"seed": 0, "log": str(launches)}
    points = [point, point, dict(reversed(point.items())), {"seed": 1, "log": str(launches)}]
    table = sweep.sweep(FAST, points, tmp_path / "out", workers=2, progress=False)
    assert sorted(table.seed) == [0, 1] and (table.status == "done").all()
    assert sorted(line for line in launches.read_text().splitlines() if line.startswith("launched")) == [
        "launched 0", "launched 1"]
    assert json.loads((tmp_path / "out" / "sweep.json").read_text())["points"] == [point, points[-1]]


def test_attempts_count_the_launches_of_earlier_sweeps(tmp_path):
    killed, failed = {"seed": 0}, {"seed": 1}
    for point, state, attempts in ((killed, "running", 1), (failed, "failed", 2)):
        write_json_atomic(sweep.point_folder(tmp_path, point) / "status.json",
                          {"params": point, "preset": None, "state": state, "attempts": attempts})
    table = sweep.sweep(FAST, [killed, failed], tmp_path, workers=2, progress=False).set_index("seed")
    assert table.status.to_dict() == {0: "done", 1: "done"} and table.attempts.to_dict() == {0: 2, 1: 3}


def test_threads_of_one_dask_worker_keep_every_point_s_record(tmp_path):
    from distributed import LocalCluster
    from jupyter_core.utils import ensure_event_loop

    ensure_event_loop()  # as after a run in this thread: jupyter's loop is in the context Dask copies into its tasks
    environment = dict(os.environ)
    points = sweep.grid_points({"seed": [0, 1, 2, 3]})
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        table = sweep.sweep(FAST, points, tmp_path, scheduler=cluster.scheduler_address, progress=False)
    assert (table.status == "done").all() and len(table) == 4
    for point in points:
        record = json.loads((sweep.point_folder(tmp_path, point) / f"{FAST.stem}.record.json").read_text())
        assert record["parameters"]["seed"] == point["seed"] and record["y"] == 1.0 + point["seed"]
    assert dict(os.environ) == environment  # the runs' variables went to their kernels only


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
    with pytest.raises(ParameterError, match="is not a sweep folder"):
        runner.run(nb, {"sweep_dir": str(tmp_path / "nowhere")}, out=tmp_path / "bad", progress=False)
    missing = runner.run(nb, {"y": "nope"}, out=tmp_path / "missing", progress=False)
    assert not missing.ok and "no column 'nope'" in missing.error
