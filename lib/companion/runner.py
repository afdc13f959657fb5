"""Headless runs: execute notebooks with papermill, render them to HTML, collect their records.

Each run writes ``<out>/<stem>.ipynb`` (the executed notebook), ``<stem>.html`` and
``<stem>.record.json`` (what the notebook ``record()``ed, claims included). ``build``
runs every notebook and writes ``<out>/index.html`` with every claims table.

A run checks its parameters before papermill writes them into the notebook as code, and
gives its kernel its own environment and working folder: nothing here changes ``os.environ``
or the working directory, so runs in threads of one process (a Dask worker) stay apart.
"""

import ast
import contextvars
import html
import importlib
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import yaml
from jupyter_client.manager import AsyncKernelManager
from traitlets import CaselessStrEnum, Dict
from traitlets.config import Config

from . import claims, paths
from .params import COMMON, Param, ParameterError, validate

# Seconds one cell may run before the run counts as failed, so a hung kernel never stalls a build or a sweep.
CELL_TIMEOUT = int(os.environ.get("COMPANION_CELL_TIMEOUT", 3600))


def notebooks():
    """The paper notebooks, in publication order."""
    return sorted(paths.notebooks().glob("[0-9][0-9]_*.ipynb"))


def find(name):
    """A notebook by path or by stem (``03_goldilocks_zone``)."""
    path = Path(name)
    if path.suffix == ".ipynb" and path.exists():
        return path.resolve()
    for nb in notebooks():
        if nb.stem == path.stem or nb.stem.split("_", 1)[1] == path.stem:
            return nb
    raise SystemExit(f"no notebook {name!r}; known: {', '.join(nb.stem for nb in notebooks())}")


def experiment_module(nb):
    """``companion.experiments.<name>`` for ``NN_<name>.ipynb``, or None for a notebook without one."""
    name = f"companion.experiments.{nb.stem.split('_', 1)[-1]}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name != name:
            raise
        return None


def spec(nb):
    """The notebook's parameter spec: its experiment module's, else types inferred from its defaults."""
    module = experiment_module(nb)
    if module is not None:
        return (*COMMON, *module.PARAMETERS)
    import papermill

    specs = []
    for name, info in papermill.inspect_notebook(str(nb)).items():
        value = ast.literal_eval(info["default"])
        many = isinstance(value, list) and bool(value)
        specs.append(Param(name, type(value[0] if many else value), many=many))
    return tuple(specs)


def check(nb):
    """The experiment module's ``check(p)`` for constraints between parameters, or None."""
    return getattr(experiment_module(nb), "check", None)


def defaults(nb):
    """The notebook's own default parameters (from its parameters cell)."""
    import papermill

    return {name: ast.literal_eval(info["default"]) for name, info in papermill.inspect_notebook(str(nb)).items()}


def check_parameters(nb, values):
    """The notebook's defaults updated with ``values``, checked against its spec and its module's ``check``.

    Raises ParameterError saying what is wrong and what is allowed. Papermill writes parameter
    names and values into the notebook as code, so they are checked before it runs.
    """
    merged = validate({**defaults(nb), **values}, spec(nb))
    constraint = check(nb)
    if constraint is not None:
        constraint(SimpleNamespace(**merged))
    return merged


def parameters(nb):
    """One row per parameter: name, default and doc (from the notebook's parameters cell), allowed values."""
    import papermill

    declared = papermill.inspect_notebook(str(nb))
    allowed = {p.name: p.allowed() for p in spec(nb)}
    return [{"name": name, "default": str(info["default"]),
             "doc": info["help"], "allowed": allowed.get(name, "(not in the spec)")}
            for name, info in declared.items()]


def presets(nb):
    """Names of the presets ``presets/<stem>.<name>.yaml`` beside the notebook."""
    return sorted(p.name[len(nb.stem) + 1:-len(".yaml")] for p in (nb.parent / "presets").glob(f"{nb.stem}.*.yaml"))


def load_preset(nb, name):
    """A preset's parameters (YAML, loaded safely); an unknown preset or a non-mapping file is an error."""
    path = nb.parent / "presets" / f"{nb.stem}.{name}.yaml"
    if not path.exists():
        raise SystemExit(f"no preset {name!r} for {nb.stem}; known presets: {', '.join(presets(nb)) or 'none'}")
    values = yaml.safe_load(path.read_text())
    if not isinstance(values, dict):
        raise SystemExit(f"preset {path.name} must be a mapping of parameter names to values")
    return values


@dataclass
class Result:
    """How one run went."""

    stem: str
    ok: bool
    seconds: float
    html: Path
    error: str = ""
    record: dict = field(default_factory=dict)

    @property
    def claims(self):
        return self.record.get("claims", [])

    def summary(self):
        held, counted = claims.counted(self.claims)
        status = "ok    " if self.ok else "FAILED"
        return (f"{self.stem:<32} {status} {self.seconds:6.1f} s  claims holding {held}/{counted}"
                f"  {self.html.name}")


class RunKernelManager(AsyncKernelManager):
    """The kernel of one run: on IPC sockets, and started with ``os.environ`` plus ``run_env``.

    Over TCP every ipykernel start warns that it runs without encryption; local IPC sockets
    need none. Each run configures a manager of its own (``kernel_options``), so runs in
    threads of one process never share variables (``COMPANION_RECORD`` above all).
    """

    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)
    run_env = Dict(config=True, help="variables added to the kernel's environment")

    async def start_kernel(self, **kw):
        await super().start_kernel(env={**os.environ, **self.run_env}, **kw)


def kernel_options(nb, env, sockets):
    """Papermill's options for a kernel of our own: in ``nb``'s folder, with ``env`` added to its environment,
    its connection file and sockets in the folder ``sockets`` (an absolute path, as the kernel runs elsewhere)."""
    config = Config({"RunKernelManager": {"run_env": env, "connection_file": str(Path(sockets) / "kernel.json"),
                                          "ip": str(Path(sockets) / "kernel")}})
    return {"kernel_manager_class": RunKernelManager, "config": config,
            "resources": {"metadata": {"path": str(nb.parent)}}}


def headless_output_widgets():
    """Stop nbclient's Output widget from echoing each captured output back to the kernel.

    nbclient sends that echo on the shell channel from the task that reads IOPub, while another task
    waits on the same channel for the cell's reply; now and then the reply is never seen, the kernel sits
    idle and the run waits out its cell timeout (nbclient issue 312; here, in widget cells of sweeps and
    tests). A headless run never needs the kernel to know what its Output widget shows: nbclient keeps the
    captured outputs in the notebook's widget state all the same.
    """
    from nbclient.output_widget import OutputWidget

    OutputWidget.sync_state = lambda self: None


def run(nb, params=None, preset=None, out="build", progress=True, *, env=None):
    """Execute ``nb`` with papermill (preset first, then ``params``), render HTML, read back the record.

    The parameters are checked first: a bad name or value raises ParameterError before anything
    runs or is written. The kernel gets ``env`` (e.g. thread counts) and ``COMPANION_RECORD``
    in its own environment.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    headless_output_widgets()
    out = Path(out).resolve()
    values = {**(load_preset(nb, preset) if preset else {}), **(params or {})}
    executed, record = out / f"{nb.stem}.ipynb", out / f"{nb.stem}.record.json"
    start, error = time.perf_counter(), ""
    try:
        check_parameters(nb, values)
        out.mkdir(parents=True, exist_ok=True)
        record.unlink(missing_ok=True)
        with tempfile.TemporaryDirectory(prefix="companion-kernel-") as sockets:
            # In a context of its own: jupyter keeps its event loop in a context variable, and a caller's
            # context may be shared by threads (Dask copies it into every task), which would share the loop.
            contextvars.Context().run(
                papermill.execute_notebook, str(nb), str(executed), parameters=values, progress_bar=progress,
                kernel_name="python3", execution_timeout=CELL_TIMEOUT,
                **kernel_options(nb, {**(env or {}), "COMPANION_RECORD": str(record)}, sockets))
    except ParameterError:
        raise  # the caller's mistake, named before anything ran
    except PapermillExecutionError as exc:
        error = f"{nb.stem}: failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
    except Exception as exc:  # a dead kernel or a broken notebook: report it, let the other runs go on
        error = f"{nb.stem}: {type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - start
    page = render_html(executed) if executed.exists() else executed.with_suffix(".html")
    recorded = json.loads(record.read_text()) if record.exists() and not error else {}
    return Result(nb.stem, not error, seconds, page, error, recorded)


def execute_in_place(nb):
    """Execute a committed notebook at its defaults where it lies (its outputs replaced) and keep its record
    in ``notebooks/records/``: what to run after changing a notebook or the code behind it, so that the
    committed outputs and the committed record come from one run."""
    import nbformat
    from nbclient import NotebookClient

    headless_output_widgets()
    record = paths.records() / f"{nb.stem}.record.json"
    record.parent.mkdir(exist_ok=True)
    notebook = nbformat.read(nb, as_version=4)
    with tempfile.TemporaryDirectory(prefix="companion-kernel-") as sockets:
        options = kernel_options(nb, {"COMPANION_RECORD": str(record)}, sockets)
        NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3", resources=options["resources"],
                       kernel_manager_class=options["kernel_manager_class"], config=options["config"]).execute()
    nbformat.write(notebook, nb)
    return record


def render_html(executed):
    """The executed notebook as a standalone HTML page beside it."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(executed))
    page = executed.with_suffix(".html")
    page.write_text(body)
    return page


def title(nb):
    """The first markdown heading of a notebook."""
    cells = json.loads(Path(nb).read_text())["cells"]
    text = next(("".join(c["source"]) for c in cells if c["cell_type"] == "markdown"), nb.stem)
    match = re.search(r"^#\s+(.+)$", text, re.M)
    return match.group(1) if match else nb.stem


def build(out="build"):
    """Run every notebook with its defaults, write ``index.html``, print one summary line per notebook."""
    from . import verdicts

    results, nbs = [], notebooks()
    for i, nb in enumerate(nbs, 1):
        print(f"[{i}/{len(nbs)}] {nb.stem}", flush=True)
        results.append(run(nb, out=out))
        print(results[-1].summary(), flush=True)
    index = Path(out) / "index.html"
    index.write_text(index_page([{"title": title(nb), "href": r.html.name, "claims": r.claims, "error": r.error,
                                  "verdict": verdicts.load(nb.stem), "note": f"This run: {r.seconds:.0f} s on this machine."}
                                 for r, nb in zip(results, nbs)]))
    print(f"\nwrote {index}")
    for r in results:
        print(r.summary())
    return results


def index_page(entries):
    """One page with every notebook's claims and a link to its page: each claim's verdict in the run and,
    beside it, the committed multi-seed verdict.

    Each entry has ``title``, ``href``, ``claims`` (the rows of a record), ``verdict`` (a committed verdict
    file, or None) and a ``note`` (how it was run), or an ``error``.
    """
    parts = ["<!doctype html><meta charset='utf-8'><title>Paper companion: claims</title>",
             "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
             ".holds{color:#060}.fails{color:#a00}.undecided,.mixed{color:#850}</style>",
             "<h1>Paper companion: which claims hold at the scale run here</h1>",
             f"<p>Multi-seed verdicts: {html.escape(claims.MULTI_SEED_RULE)}. Sanity rows check the setup and are "
             "not counted as claims.</p>"]
    for e in entries:
        parts.append(f"<h2><a href='{html.escape(e['href'])}'>{html.escape(e['title'])}</a></h2>")
        if e.get("error"):
            parts.append(f"<p class='fails'>The run failed: {html.escape(e['error'])}</p>")
            continue
        if not e["claims"]:
            parts.append(f"<p>{html.escape(e['note'])} It has no claims table.</p>")
            continue
        held, counted = claims.counted(e["claims"])
        seeds = {c["id"]: c for c in (e.get("verdict") or {}).get("claims", [])}
        parts.append(f"<p>{html.escape(e['note'])} {held} of {counted} claims hold in this run.</p>")
        for title_, rows in (("Claims", [r for r in e["claims"] if r["kind"] != "sanity"]),
                             ("Sanity checks", [r for r in e["claims"] if r["kind"] == "sanity"])):
            if rows:
                parts.append(_claims_html(title_, rows, seeds))
    return "\n".join(parts)


def _claims_html(caption, rows, seeds):
    """One table of claims rows, each with its verdict in the run and over seeds."""
    cells = ["<table><caption>" + html.escape(caption) + "</caption><tr><th>id</th><th>kind</th><th>claim</th>"
             "<th>measured</th><th>rule</th><th>this run</th><th>over seeds</th></tr>"]
    for r in rows:
        s = seeds.get(r["id"])
        over = (f"<td class='{s['overall']}'>{html.escape(claims.seeds_text(s))}</td>" if s else "<td>-</td>")
        text = html.escape(r["claim"]) + (f"<br><small>revised: {html.escape(r['revised'])}</small>" if r["revised"] else "")
        cells.append(f"<tr><td>{html.escape(r['id'])}</td><td>{r['kind']}</td><td>{text}</td>"
                     f"<td>{html.escape(r['measured'])}</td><td>{html.escape(r['rule'])}</td>"
                     f"<td class='{r['verdict']}'>{r['verdict']}</td>{over}</tr>")
    cells.append("</table>")
    return "".join(cells)
