"""Headless parameter sweeps: a grid of notebook runs, in parallel, resumable, on one machine or a Dask cluster.

Each point of the grid runs in its own folder ``<out>/<name>-<hash>`` (readable parameters and a
stable hash of all of them), holding the executed notebook, its HTML page, its record and
``status.json``. A point counts as finished only when ``status.json`` says ``done``; status
and records are written atomically, so a sweep killed at any moment (even by SIGKILL) and
started again runs exactly the points that have no finished result.
"""

import ast
import hashlib
import itertools
import json
import os
import re
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import yaml

from . import runner
from .notebook import ParameterError, validate, write_json_atomic

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "COMPANION_THREADS")


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


def defaults(nb):
    """The notebook's own default parameters (from its parameters cell)."""
    import papermill

    return {name: ast.literal_eval(info["default"]) for name, info in papermill.inspect_notebook(str(nb)).items()}


def check_points(nb, points, preset=None):
    """Validate every point (defaults, then preset, then the point) before anything runs.

    Raises ParameterError naming the first bad point and its problem.
    """
    base = {**defaults(nb), **(runner.load_preset(nb, preset) if preset else {})}
    spec, check = runner.spec(nb), runner.check(nb)
    for i, point in enumerate(points):
        values = {**base, **point}
        try:
            validate(values, spec)
            if check is not None:
                check(SimpleNamespace(**values))
        except ParameterError as err:
            raise ParameterError(f"sweep point {i + 1} ({point_name(point)}): {err}") from None
    return points


def point_name(point):
    """A readable name for a point, e.g. ``lr=0.1_seed=2``."""
    return "_".join(f"{k}={v}" for k, v in point.items()) or "defaults"


def point_folder(out, point):
    """``<out>/<name=value parts>-<8 hex of a hash of all the parameters>``; stable across runs and machines."""
    digest = hashlib.sha256(json.dumps(point, sort_keys=True).encode()).hexdigest()[:8]
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


def run_point(nb, point, folder, preset=None, retries=0, threads=1):
    """Run one point (retrying up to ``retries`` times) with ``threads`` threads per kernel; write its status."""
    for var in THREAD_VARIABLES:
        os.environ[var] = str(threads)
    folder = Path(folder)
    status = {"params": point, "preset": preset, "state": "running", "attempts": 0}
    for attempt in range(1, retries + 2):
        status.update(attempts=attempt, started=time.time())
        write_json_atomic(folder / "status.json", status)
        result = runner.run(Path(nb), point, preset=preset, out=folder, progress=False)
        status.update(state="done" if result.ok else "failed", error=result.error, seconds=result.seconds)
        if result.ok:
            break
    write_json_atomic(folder / "status.json", status)
    return status


def pending(points, out):
    """The points that have no finished result in ``out``."""
    return [p for p in points if (read_status(point_folder(out, p)) or {}).get("state") != "done"]


def sweep(nb, points, out, preset=None, workers=1, scheduler=None, retries=0, progress=True):
    """Run every point without a finished result; return the collected table.

    ``workers`` processes on this machine (one torch/BLAS thread each, so they do not
    oversubscribe the cores), or the Dask cluster at ``scheduler`` when given.
    """
    nb = runner.find(str(nb))
    check_points(nb, points, preset)
    todo = pending(points, out)
    Path(out).mkdir(parents=True, exist_ok=True)
    write_json_atomic(Path(out) / "sweep.json", {"notebook": nb.name, "preset": preset, "points": points})
    jobs = [(str(nb), p, str(point_folder(out, p)), preset, retries) for p in todo]
    bar = _progress(len(points), len(points) - len(todo), progress)
    if scheduler:
        _run_dask(jobs, scheduler, bar)
    else:
        _run_local(jobs, workers, bar)
    bar.close()
    return collect(out)


def _progress(total, done, enabled):
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=done, disable=not enabled, unit="run", desc="sweep")
    bar.failed = 0
    return bar


def _tick(bar, status):
    bar.failed += status["state"] != "done"
    bar.set_postfix(failed=bar.failed, remaining=bar.total - bar.n - 1, refresh=False)
    bar.update(1)


def _run_local(jobs, workers, bar):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for future in as_completed([pool.submit(run_point, *job) for job in jobs]):
            _tick(bar, future.result())


def _run_dask(jobs, scheduler, bar):
    from distributed import Client, as_completed

    with Client(scheduler) as client:
        futures = [client.submit(run_point, *job, pure=False) for job in jobs]
        for future in as_completed(futures):
            _tick(bar, future.result())


def _flatten(record, prefix=""):
    """The scalar entries of a record, nested dicts flattened to ``a.b``; tables (lists) are left out."""
    flat = {}
    for key, value in record.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        elif not isinstance(value, list):
            flat[f"{prefix}{key}"] = value
    return flat


def collect(out):
    """One tidy row per point: its parameters, status, duration, attempts and every scalar it recorded."""
    rows = []
    for status_path in sorted(Path(out).glob("*/status.json")):
        status = json.loads(status_path.read_text())
        records = list(status_path.parent.glob("*.record.json"))
        record = json.loads(records[0].read_text()) if records and status["state"] == "done" else {}
        claims = {f"holds:{c['claim'].split()[0]}": c["holds"] for c in record.get("claims", [])}
        rows.append({**status["params"], "status": status["state"], "seconds": status.get("seconds"),
                     "attempts": status["attempts"], "error": status.get("error") or "", "folder": status_path.parent.name,
                     **{k: v for k, v in _flatten(record).items() if not k.startswith("parameters.") and k != "notebook"},
                     **claims})
    return pd.DataFrame(rows)


def collect_table(out, name):
    """Stack the recorded table ``name`` (a list of rows) of every finished point, with the point's parameters
    as columns (``param:<name>`` where the table has a column of that name already)."""
    frames = []
    for status_path in sorted(Path(out).glob("*/status.json")):
        status = json.loads(status_path.read_text())
        records = list(status_path.parent.glob("*.record.json"))
        if status["state"] != "done" or not records:
            continue
        table = json.loads(records[0].read_text()).get(name)
        if isinstance(table, list) and table:
            frame = pd.DataFrame(table)
            frames.append(frame.assign(**{(f"param:{k}" if k in frame else k): str(v) if isinstance(v, list) else v
                                          for k, v in status["params"].items()}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def write_tables(table, out):
    """``results.csv`` and ``results.parquet`` in ``out`` (each written to a temp file, then renamed)."""
    out = Path(out)
    for suffix, writer in ((".csv", lambda t, p: t.to_csv(p, index=False)),
                           (".parquet", lambda t, p: t.astype({c: str for c in t.columns if t[c].dtype == object})
                            .to_parquet(p, index=False))):
        tmp = out / f".results{suffix}.tmp"
        writer(table, tmp)
        os.replace(tmp, out / f"results{suffix}")
    return out / "results.csv", out / "results.parquet"
