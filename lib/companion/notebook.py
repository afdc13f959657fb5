"""What every notebook calls: ``start``, ``record()``, the claims table and the figure style.

A notebook's ``parameters`` cell holds literals (papermill overrides them); the notebook
then calls :func:`start` with ``globals()`` and its experiment module's ``PARAMETERS``
spec. ``start`` refuses unknown names and out-of-range values before any compute, seeds
every random source and opens the JSON record written beside the executed notebook.
"""

import ast
import json
import os
import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch

from .io import jsonable, write_json_atomic
from .params import COMMON, ParameterError, validate

INJECTED_HEADER = "# Parameters\n"  # the first line of the cell papermill injects after the parameters cell


def parameters_in(namespace, spec):
    """The values of the spec's names in a notebook namespace; a spec name not there is left for validate to report.

    Only spec names are taken, so the notebook's own later variables (left in the kernel by a first
    Run All) are never mistaken for parameters; names papermill injected are added, so that an unknown
    one is refused.
    """
    names = [p.name for p in spec] + sorted(injected_names(namespace) - {p.name for p in spec})
    return {name: namespace[name] for name in names if name in namespace}


def injected_names(namespace):
    """The names assigned by the last cell papermill injected in this kernel, from IPython's input history ``In``.

    Papermill writes its parameters as a cell whose source starts with ``# Parameters``; IPython keeps
    the source of every executed cell in ``In``. Outside IPython (no ``In``) there are none.
    """
    cells = [source for source in namespace.get("In", []) if source.startswith(INJECTED_HEADER)]
    if not cells:
        return set()
    return {target.id for node in ast.parse(cells[-1]).body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)}


def resolve_device(device):
    """'auto' -> 'cuda' when a GPU is there, else 'cpu'; 'cuda' without a GPU is an error."""
    if device == "cuda" and not torch.cuda.is_available():
        raise ParameterError("parameter 'device' = 'cuda' but no CUDA device is available; use 'auto' or 'cpu'")
    return "cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device)


def seed_everything(seed):
    """Seed Python, NumPy and torch; library code takes explicit seeds, this guards the rest."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class Run:
    """One execution of a notebook: its validated parameters and its record file."""

    def __init__(self, stem, params, record_path):
        self.stem = stem
        self.p = SimpleNamespace(**params)
        self.record_path = Path(record_path)
        self.results = {"notebook": stem, "parameters": params}
        write_json_atomic(self.record_path, self.results)

    def record(self, name, value):
        """Store ``value`` under ``name`` in the record file (rewritten atomically) and return it."""
        self.results[name] = json.loads(json.dumps(value, default=jsonable))
        write_json_atomic(self.record_path, self.results)
        return value


def start(stem, namespace, spec, check=None, threads=None):
    """Validate the notebook's parameters, seed, pick the device and open the record.

    ``check(params)`` may add constraints between parameters; it raises ParameterError.

    The parameters are the spec's names (COMMON and ``spec``) taken from ``namespace``, not every
    literal in it, so Run All a second time in the same kernel works. A misspelt ``-p`` name is
    still refused here, not only by the runner's check before papermill (which papermill used
    directly skips): papermill assigns it in the cell it injects, whose source ``In`` keeps, and
    the names of that cell outside the spec are reported as unknown. A misspelt name in the
    parameters cell itself is caught by the conventions test (parameters cell = spec).

    The record goes to ``$COMPANION_RECORD`` when set (the runner puts it beside the executed
    notebook) and otherwise to ``<stem>.record.json`` in the working directory.

    ``threads`` is fixed rather than left to the machine so that reductions, and so the printed
    numbers, do not depend on the core count: ``$COMPANION_THREADS`` when set, else one. Two
    threads were faster on two idle cores (12 s against 17 s of Goldilocks compute), but up to
    ten times slower when anything else competes for the cores (a browser, a sweep, CI jobs).
    """
    spec = (*COMMON, *spec)
    params = validate(parameters_in(namespace, spec), spec)
    if check is not None:
        check(SimpleNamespace(**params))
    params["device"] = resolve_device(params["device"])
    torch.set_num_threads(threads or int(os.environ.get("COMPANION_THREADS", 1)))
    seed_everything(params["seed"])
    path = os.environ.get("COMPANION_RECORD") or f"{stem}.record.json"
    return Run(stem, params, path)


def claims_table(run, claims, values):
    """Decide ``claims`` (a paper's ``CLAIMS``) from ``values`` (named numbers), record both, and return
    the table to print: each row's verdict in this run beside the committed multi-seed verdict, when
    that was made for these claims at these parameters."""
    from . import claims as cl
    from . import verdicts

    run.record("values", values)
    rows = run.record("claims", cl.evaluate(claims, values))
    seeds, note = verdicts.matching(run.stem, claims, run.results["parameters"])
    return cl.Table(rows, seeds, note)


def verdicts_by_preset(run, claims):
    """The committed multi-seed verdicts of every preset of this notebook side by side, one row per claim: how
    they move from the defaults to the larger presets (:func:`companion.verdicts.by_preset`). The other presets'
    verdicts (parameters, seeds, per-claim values) go into the record, so the prose can quote them."""
    from . import verdicts

    run.record("preset_verdicts", {v["preset"]: {k: v[k] for k in ("parameters", "seeds", "claims")}
                                   for v in verdicts.committed(run.stem) if v["preset"] != verdicts.DEFAULT})
    return verdicts.by_preset(run.stem, claims)


def show_table(table):
    """Print a table as plain text, so nbval compares it exactly and HTML rendering cannot make it flaky."""
    with pd.option_context("display.max_colwidth", 80, "display.width", 200):
        print(table.to_string(index=False))


def style():
    """The one figure style of every notebook."""
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
