"""Headless parameter sweeps: a grid of notebook runs, in parallel, resumable, on one machine or a Dask cluster.

Each point of the grid runs in its own folder ``<out>/<name>-<hash>`` (readable parameters and a
stable hash of all of them), holding the executed notebook, its HTML page, its record and
``status.json``. A point counts as finished only when ``status.json`` says ``done``; status
and records are written atomically, so a sweep killed at any moment (even by SIGKILL) and
started again runs exactly the points that have no finished result.

A repeated point runs once. A sweep holds an exclusive lock on ``<out>/.lock`` while it runs
(the operating system drops it when the process dies), so a second sweep on the same folder
stops at once. On this machine the points run on worker processes of the sweep, which die with
it (their kernels follow); a worker that dies during a run fails that point, and the others go
on. ``attempts`` counts every launch of a point, across restarts.
"""

import ctypes
import fcntl
import hashlib
import itertools
import json
import multiprocessing
import multiprocessing.connection
import os
import re
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import yaml

from . import runner
from .io import write_json_atomic
from .sweep_results import collect
from .params import ParameterError

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "COMPANION_THREADS")
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class SweepBusy(RuntimeError):
    """Another sweep is running in the same sweep folder."""


def grid_points(axes, fixed=None):
    """The cartesian product of ``axes`` ({name: [values]}), each point merged over ``fixed``."""
    names = list(axes)
    return [{**(fixed or {}), **dict(zip(names, values))} for values in itertools.product(*axes.values())]


def load_grid(path):
    """Points from a YAML file: ``grid:`` (name -> list, cartesian) and/or ``points:`` (a list of
    mappings), with optional ``fixed:`` values shared by every point. Loaded safely."""
    spec = yaml.safe_load(Path(path).read_text())
    if not isinstance(spec, dict) or not set(spec) <= {"grid", "points", "fixed"} or not ({"grid", "points"} & set(spec)):
        raise ParameterError(f"{path}: want a mapping with 'grid' (name: [values]) and/or 'points' "
                             "(a list of name: value mappings), and optionally 'fixed'")
    fixed = spec.get("fixed") or {}
    grid = spec.get("grid") or {}
    bad = [k for k, v in grid.items() if not isinstance(v, list) or not v]
    if bad:
        raise ParameterError(f"{path}: grid values must be non-empty lists; not so for {', '.join(bad)}")
    points = grid_points(grid, fixed) if grid else []
    return points + [{**fixed, **point} for point in spec.get("points") or []]


def check_points(nb, points, preset=None):
    """Validate every point (defaults, then preset, then the point) before anything runs.

    Raises ParameterError naming the first bad point and its problem.
    """
    base = runner.load_preset(nb, preset) if preset else {}
    for i, point in enumerate(points):
        try:
            runner.check_parameters(nb, {**base, **point})
        except ParameterError as err:
            raise ParameterError(f"sweep point {i + 1} ({point_name(point)}): {err}") from None
    return points


def unique_points(points):
    """The points in their order, each set of parameters once: two kernels must never share a point's folder."""
    first = {}
    for point in points:
        first.setdefault(_key(point), point)
    return list(first.values())


def _key(point):
    return json.dumps(point, sort_keys=True)


def point_name(point):
    """A readable name for a point, e.g. ``lr=0.1_seed=2``."""
    return "_".join(f"{k}={v}" for k, v in point.items()) or "defaults"


def point_folder(out, point):
    """``<out>/<name=value parts>-<8 hex of a hash of all the parameters>``; stable across runs and machines."""
    digest = hashlib.sha256(_key(point).encode()).hexdigest()[:8]
    readable = ""
    for k, v in point.items():  # whole name=value parts, up to 60 characters
        part = re.sub(r"[^A-Za-z0-9_=.,-]+", "", f"{k}={v}")
        if len(readable) + len(part) + 1 > 60:
            break
        readable = f"{readable}_{part}" if readable else part
    return Path(out) / f"{readable or 'defaults'}-{digest}"


def read_status(folder):
    path = Path(folder) / "status.json"
    return json.loads(path.read_text()) if path.exists() else None


def begin_attempt(folder, point, preset=None):
    """Mark a point running; its ``attempts`` is one more than its earlier status says, so it counts every
    launch ever made, across restarts."""
    earlier = read_status(folder) or {}
    status = {"params": point, "preset": preset, "state": "running", "attempts": earlier.get("attempts", 0) + 1,
              "started": time.time()}
    write_json_atomic(Path(folder) / "status.json", status)
    return status


def run_attempt(nb, status, folder, threads=1):
    """Run the point of a running ``status`` once, ``threads`` threads per kernel; write and return its final status."""
    env = {var: str(threads) for var in THREAD_VARIABLES}
    result = runner.run(Path(nb), status["params"], preset=status["preset"], out=folder, progress=False, env=env)
    status = {**status, "state": "done" if result.ok else "failed", "error": result.error, "seconds": result.seconds}
    write_json_atomic(Path(folder) / "status.json", status)
    return status


def run_point(nb, point, folder, preset=None, retries=0, threads=1):
    """Run one point, trying again up to ``retries`` times after a failure; return its final status (a Dask task)."""
    for _ in range(retries + 1):
        status = run_attempt(nb, begin_attempt(folder, point, preset), folder, threads)
        if status["state"] == "done":
            break
    return status


def pending(points, out):
    """The points that have no finished result in ``out``."""
    return [p for p in points if (read_status(point_folder(out, p)) or {}).get("state") != "done"]


def sweep(nb, points, out, preset=None, workers=1, scheduler=None, retries=0, progress=True):
    """Run every point without a finished result, a repeated point once; return the collected table.

    ``workers`` processes on this machine (one torch/BLAS thread each, so they do not
    oversubscribe the cores), or the Dask cluster at ``scheduler`` when given. Raises
    SweepBusy at once when another sweep is running in ``out``.
    """
    nb = runner.find(str(nb))
    points = unique_points(check_points(nb, points, preset))
    Path(out).mkdir(parents=True, exist_ok=True)
    with locked(out):
        todo = pending(points, out)
        write_json_atomic(Path(out) / "sweep.json", {"notebook": nb.name, "preset": preset, "points": points})
        jobs = [(str(nb), p, str(point_folder(out, p)), preset) for p in todo]
        bar = _progress(len(points), len(points) - len(todo), progress)
        if scheduler:
            _run_dask(jobs, scheduler, retries, bar)
        else:
            _run_local(jobs, workers, retries, bar)
        bar.close()
    return collect(out)


@contextmanager
def locked(out):
    """Hold an exclusive lock on ``<out>/.lock``, or raise SweepBusy at once when another sweep holds it.

    The operating system releases the lock when this process ends, however it ends, so a killed
    sweep never leaves a stale one.
    """
    fd = os.open(Path(out) / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise SweepBusy(f"sweep folder {out} is in use by another sweep (it holds {Path(out) / '.lock'}); "
                        "wait for that sweep to end, or give another --out") from None
    try:
        yield
    finally:
        os.close(fd)


def _progress(total, done, enabled):
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=done, disable=not enabled, unit="run", desc="sweep")
    bar.failed = 0
    return bar


def _tick(bar, status):
    bar.failed += status["state"] != "done"
    bar.set_postfix(failed=bar.failed, remaining=bar.total - bar.n - 1, refresh=False)
    bar.update(1)


def _run_local(jobs, workers, retries, bar):
    """Run the points on at most ``workers`` processes of this sweep, each one attempt at a time, supervised here.

    A failed point is tried again, up to ``retries`` times, before the next point starts. A worker
    that dies (killed, out of memory, crashed) fails the point it was running, naming how it died,
    and a fresh worker takes the next point. Workers still running when this ends (an error,
    Ctrl-C) are killed.
    """
    context = multiprocessing.get_context("spawn")
    queue, idle, busy = [(job, 0) for job in jobs], [], {}
    try:
        while queue or busy:
            while queue and len(busy) < workers:
                job, tries = queue.pop(0)
                nb, point, folder, preset = job
                worker = _free_worker(idle, context)
                worker.conn.send((nb, begin_attempt(folder, point, preset), folder))
                busy[worker.conn] = worker, job, tries + 1
            for conn in multiprocessing.connection.wait(list(busy)):
                worker, job, tries = busy.pop(conn)
                exitcode = worker.wait_for_attempt()
                if exitcode is None:
                    idle.append(worker)
                status = _settled(job[2], exitcode)
                if status["state"] != "done" and tries <= retries:
                    queue.insert(0, (job, tries))
                else:
                    _tick(bar, status)
    finally:
        for worker, _, _ in busy.values():
            worker.process.kill()
        for worker in idle + [worker for worker, _, _ in busy.values()]:
            worker.conn.close()  # an idle worker's signal to stop
            worker.process.join()


def _free_worker(idle, context):
    """An idle worker that is still alive, else a new one: an idle worker may have died between two points."""
    while idle:
        worker = idle.pop()
        if worker.process.is_alive():
            return worker
        worker.conn.close()
        worker.process.join()
    return _Worker(context)


class _Worker:
    """A process of this sweep that runs the attempts it is sent, one at a time, and dies with the sweep."""

    def __init__(self, context):
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(os.getpid(), theirs), name="sweep-worker")
        self.process.start()
        theirs.close()  # so that the worker's death reads as the end of the pipe here

    def wait_for_attempt(self):
        """None once the worker has finished its attempt; its exit code when it died instead."""
        try:
            self.conn.recv()
            return None
        except EOFError:
            self.conn.close()
            self.process.join()
            return self.process.exitcode


def _serve(parent_pid, conn):
    """A worker's life: tied to the sweep's, running each attempt it receives until the sweep closes the pipe."""
    _die_with_parent(parent_pid)
    while True:
        try:
            nb, status, folder = conn.recv()
        except EOFError:
            return
        run_attempt(nb, status, folder)
        conn.send("finished")


def _die_with_parent(parent_pid):
    """End this process as soon as the sweep's process ``parent_pid`` ends, however it ends (SIGKILL too).

    On Linux the kernel sends SIGKILL at the parent's death (prctl PR_SET_PDEATHSIG); everywhere, a
    thread waits on multiprocessing's parent sentinel, which becomes ready when the parent is gone.
    The kernel this process starts exits on its own once this process is gone (ipykernel watches
    its parent).
    """
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the line above
        os._exit(1)
    threading.Thread(target=_exit_with_parent, daemon=True, name="exit-with-parent").start()


def _exit_with_parent():
    multiprocessing.connection.wait([multiprocessing.parent_process().sentinel])
    os._exit(1)


def _settled(folder, exitcode):
    """The point's final status; one still ``running`` because its worker died becomes a failure saying how."""
    status = read_status(folder)
    if status["state"] == "running":
        ended = (f"was killed by {signal.Signals(-exitcode).name}" if exitcode < 0
                 else f"exited with code {exitcode}")
        status.update(state="failed", error=f"the process running this point {ended} before the run finished")
        write_json_atomic(Path(folder) / "status.json", status)
    return status


def _run_dask(jobs, scheduler, retries, bar):
    from distributed import Client, as_completed

    with Client(scheduler) as client:
        futures = [client.submit(run_point, *job, retries, pure=False) for job in jobs]
        for future in as_completed(futures):
            _tick(bar, future.result())
