"""Multi-seed verdicts: a notebook run at K independent seeds, and per claim how often it holds.

``companion verify NB --seeds K`` runs seeds 0..K-1 through the sweep engine (so a killed run resumes
where it stopped) and writes ``verdicts/<stem>.<preset>.json`` and a rendered ``.md`` table. The file
stores a hash of the claims' definitions and the parameters (:func:`companion.claims.definitions_hash`),
so a verdict that no longer matches its notebook is known to be stale. The runs of one verify sit in a
folder named by :func:`run_key`, so a killed verify resumes only runs made by the same code and kernels.
"""

import hashlib
import json
import os
from pathlib import Path

import pandas as pd

from . import NUMERICS, paths
from . import claims as cl
from .io import write_bytes_atomic, write_json_atomic

DEFAULT = "default"  # the preset name of a notebook's own defaults


def path(stem, preset=DEFAULT, folder=None):
    """``<folder>/<stem>.<preset>.json``; the folder defaults to the committed ``verdicts/``."""
    return Path(folder or paths.verdicts()) / f"{stem}.{preset}.json"


def load(stem, preset=DEFAULT):
    """The committed verdict file, or None when there is none."""
    p = path(stem, preset)
    return json.loads(p.read_text()) if p.exists() else None


def matching(stem, claims, parameters, preset=DEFAULT):
    """(summaries by claim id, note) for a run's table: the committed multi-seed verdicts when they were
    made for these claims at these parameters (any seed); otherwise none, and the note says why."""
    verdict = load(stem, preset)
    if verdict is None:
        return {}, "No multi-seed verdict is committed for this notebook (companion verify)."
    if verdict["hash"] != cl.definitions_hash(claims, parameters):
        return {}, ("The committed multi-seed verdict was made for other parameters or other claim definitions; "
                    "run companion verify to renew it.")
    seeds = verdict["seeds"]
    return ({s["id"]: s for s in verdict["claims"]},
            f"seeds: the committed verdict over seeds {seeds[0]}-{seeds[-1]}, and at how many of these {len(seeds)} "
            f"runs the claim holds; a claim {cl.MULTI_SEED_RULE}.")


def made_for(verdict, claims):
    """Whether ``verdict`` was made for these claim definitions (at the parameters it was run at)."""
    return verdict["hash"] == cl.definitions_hash(claims, verdict["parameters"])


def committed(stem):
    """Every committed verdict of ``stem`` (one per preset verified), the defaults' first."""
    files = sorted(paths.verdicts().glob(f"{stem}.*.json"), key=lambda f: (f.name != f"{stem}.{DEFAULT}.json", f.name))
    return [json.loads(f.read_text()) for f in files]


def by_preset(stem, claims):
    """The committed multi-seed verdicts of every preset of ``stem`` side by side, one row per claim in the
    order of ``claims`` (e.g. 'holds 3/3'), defaults first: how the verdicts move with the scale. A column
    whose verdict was made for other claim definitions than ``claims`` is marked stale; a claim a preset
    did not decide shows '-'."""
    table = pd.DataFrame({"id": [c.id for c in claims], "kind": [c.kind for c in claims]})
    for verdict in committed(stem):
        stale = "" if made_for(verdict, claims) else ", stale"
        column = f"{verdict['preset']} (K={len(verdict['seeds'])}{stale})"
        decided = {s["id"]: cl.seeds_text(s) for s in verdict["claims"]}
        table[column] = [decided.get(c.id, "-") for c in claims]
    return table


def numerics():
    """The numerical kernels this process's runs use: the variables of ``companion.NUMERICS`` as set now."""
    return {name: os.environ.get(name) for name in NUMERICS}


def run_key(nb, claims, parameters):
    """A short sha256 of what a verify run depends on: the claims' definitions and the parameters, the
    notebook file, every source file of the library and the numerical kernels. Runs made under another key
    are never resumed."""
    digest = hashlib.sha256(cl.definitions_hash(claims, parameters).encode())
    digest.update(json.dumps(numerics(), sort_keys=True).encode())
    digest.update(Path(nb).read_bytes())
    package = Path(__file__).resolve().parent
    for source in sorted(package.rglob("*.py")):
        digest.update(str(source.relative_to(package)).encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:12]


def verify(nb, seeds=5, preset=None, workers=1, out=None, claims=None, to=None, progress=True):
    """Run ``nb`` at seeds 0..seeds-1 (resuming what a killed run of the same code finished) and write its
    verdict file.

    ``claims`` defaults to the paper's ``CLAIMS``; the runs go to ``<out>/<run_key>`` (``out`` defaults to
    ``build/verify/<stem>.<preset>``), the verdict to the folder ``to`` (default the committed
    ``verdicts/``). Returns the verdict as written. A seed whose run failed is listed under ``failed``
    and left out of the counts; the claims of the others still decide.
    """
    from . import runner, sweep

    name = preset or DEFAULT
    claims = claims if claims is not None else getattr(runner.experiment_module(nb), "CLAIMS", None)
    if not claims:
        raise SystemExit(f"verify: {nb.stem} declares no claims")
    parameters = runner.check_parameters(nb, runner.load_preset(nb, preset) if preset else {})
    folder = Path(out or Path("build") / "verify" / f"{nb.stem}.{name}") / run_key(nb, claims, parameters)
    points = [{"seed": s} for s in range(seeds)]
    sweep.sweep(nb, points, folder, preset=preset, workers=workers, progress=progress)
    done, failed, runs = [], [], []
    for point in points:
        status = sweep.read_status(sweep.point_folder(folder, point)) or {}
        record = sweep.point_folder(folder, point) / f"{nb.stem}.record.json"
        if status.get("state") == "done" and record.exists():
            done.append(point["seed"])
            runs.append(json.loads(record.read_text())["claims"])
        else:
            failed.append({"seed": point["seed"], "error": status.get("error", "did not run")})
    verdict = {"notebook": nb.stem, "preset": name, "seeds": done, "failed": failed,
               "hash": cl.definitions_hash(claims, parameters),
               "parameters": {k: v for k, v in parameters.items() if k not in ("seed", "device")},
               "numerics": numerics(), "rule": cl.MULTI_SEED_RULE,
               "claims": cl.aggregate(runs)}
    write_json_atomic(path(nb.stem, name, to), verdict)
    write_bytes_atomic(path(nb.stem, name, to).with_suffix(".md"), render(verdict).encode())
    return verdict


def render(verdict):
    """The verdict file as a Markdown table: per claim the multi-seed verdict, seed counts and value ranges."""
    lines = [f"# {verdict['notebook']} ({verdict['preset']}): verdicts over {len(verdict['seeds'])} seeds",
             "", f"Rule: {verdict['rule']}. Seeds run: {verdict['seeds']}."]
    if verdict["failed"]:
        lines.append(f"Failed runs (not counted): {verdict['failed']}.")
    if verdict.get("numerics"):  # verdicts written before the kernels were pinned do not say
        lines.append("Kernels: " + ", ".join(f"{k}={v}" for k, v in verdict["numerics"].items()) + ".")
    lines += ["", "| id | kind | claim | verdict | holds | fails | undecided | values: median [min, max] |",
              "|---|---|---|---|---|---|---|---|"]
    for c in verdict["claims"]:
        values = "; ".join(f"{name} {v['median']:.3g} [{v['min']:.3g}, {v['max']:.3g}]"
                           for name, v in c["values"].items())
        lines.append(f"| {c['id']} | {c['kind']} | {c['claim']} | {c['overall']} | {c[cl.HOLDS]} | {c[cl.FAILS]} "
                     f"| {c[cl.UNDECIDED]} | {values} |")
    return "\n".join(lines) + "\n"
