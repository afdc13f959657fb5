"""The ``companion`` command: list notebooks and their parameters, run one, build them all, manage data.

    companion list
    companion run NB [-p NAME VALUE]... [--preset NAME] [--out DIR]
    companion build [--out DIR]          (what ``make run`` does)
    companion site [--out DIR]           (what ``make site`` does: the committed notebooks, nothing run)
    companion sweep NB (-p NAME V1 V2 ...)... | --grid GRID.yaml [--preset NAME] [--workers N]
                    [--scheduler ADDRESS] [--retries K] [--out DIR]
    companion sweep collect DIR
    companion verify NB [--seeds K] [--preset NAME] [--workers N] [--out DIR]
    companion execute NB...              (re-run committed notebooks in place, keeping their records)
    companion data list | fetch NAME | verify
    companion model list | train NAME [--out PATH]

A user's mistake (a bad parameter, grid, preset, notebook or dataset name, a failed download)
is one line ``companion: error: ...`` on stderr and exit status 2, as argparse reports a bad
option; a notebook that fails while running exits 1; anything else is a bug and shows its traceback.
"""

import argparse
import ast
import re
import sys

import yaml

from . import paths, runner
from .params import ParameterError


def _value(text):
    """A command-line value as a Python literal when it is one ('1', '0.5', '[1, 2]'), else the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, RecursionError):  # '{[]: 1}' is a TypeError, deep nesting recurses
        return text


def cmd_list(args):
    for nb in runner.notebooks():
        print(f"{nb.stem}  (presets: {', '.join(runner.presets(nb)) or 'none'})")
        for row in runner.parameters(nb):
            print(f"  {row['name']:<16} = {row['default']:<28} {row['allowed']}")
            if row["doc"]:
                print(f"  {'':<16}   {row['doc']}")
    return 0


def cmd_run(args):
    nb = runner.find(args.notebook)
    params = {name: _value(value) for name, value in args.p}
    result = runner.run(nb, params, preset=args.preset, out=args.out)
    print(result.summary())
    if result.error:
        print(result.error, file=sys.stderr)
    return 0 if result.ok else 1


def cmd_build(args):
    results = runner.build(args.out)
    return 0 if all(r.ok for r in results) else 1


def cmd_site(args):
    from .site import build_site

    print(f"wrote {build_site(args.out)}")
    return 0


def cmd_sweep(args):
    from . import sweep, sweep_results

    if args.notebook == "collect":
        if not args.folder:
            raise SystemExit("sweep collect: name the sweep folder")
        table = sweep_results.collect(args.folder)
        written = sweep_results.write_tables(table, args.folder)
        print(f"{len(table)} runs ({(table.status == 'done').sum() if len(table) else 0} done) -> "
              + ", ".join(str(p) for p in written))
        return 0
    nb = runner.find(args.notebook)
    if not args.p and not args.grid:
        raise SystemExit("sweep: give the grid with -p NAME V1 V2 ... or --grid GRID.yaml")
    bare = [p[0] for p in args.p if len(p) < 2]
    if bare:
        raise SystemExit(f"sweep: -p {bare[0]} needs at least one value")
    points = sweep.grid_points({p[0]: [_value(v) for v in p[1:]] for p in args.p})
    if args.grid:
        points = read_grid(args.grid) + (points if args.p else [])
    out = args.out or f"build/sweeps/{nb.stem}"
    table = sweep.sweep(nb, points, out, preset=args.preset, workers=args.workers, scheduler=args.scheduler,
                        retries=args.retries)
    sweep_results.write_tables(table, out)
    failed = table[table.status != "done"]
    print(f"{len(table) - len(failed)}/{len(table)} runs done in {out}; table: {out}/results.csv")
    for row in failed.itertuples():
        print(f"FAILED {row.folder}: {row.error}")
    return 0 if failed.empty else 1


def cmd_verify(args):
    from . import verdicts

    if args.seeds < 1:
        raise SystemExit(f"verify: --seeds must be at least 1, not {args.seeds}")
    nb = runner.find(args.notebook)
    verdict = verdicts.verify(nb, seeds=args.seeds, preset=args.preset, workers=args.workers, out=args.out)
    print(verdicts.render(verdict))
    print(f"wrote {verdicts.path(nb.stem, verdict['preset'])}")
    return 1 if verdict["failed"] else 0


def cmd_execute(args):
    for name in args.notebooks:
        nb = runner.find(name)
        print(f"{nb.stem}: executed in place, record {runner.execute_in_place(nb)}", flush=True)
    return 0


def read_grid(path):
    """The points of a ``--grid`` file; a YAML syntax error names the file and the line."""
    from . import sweep

    try:
        return sweep.load_grid(path)
    except yaml.YAMLError as err:
        raise SystemExit(f"--grid {path} is not valid YAML: {yaml_problem(err)}") from None


def cmd_data(args):
    from . import data

    if args.action == "list":
        for row in data.dataset_status():
            print(f"{row['name']:<14} {row['source']:<10} {row['where']}")
        return 0
    if args.action == "fetch":
        if not args.name:
            raise SystemExit(f"data fetch: name a dataset, one of {', '.join(data.DATASETS)}")
        print(registry_call(data.fetch, args.name))
        return 0
    rows = registry_call(data.verify, args.name)
    for row in rows:
        print(("ok   " if row["ok"] else "FAIL ") + row["message"])
    return 0 if all(r["ok"] for r in rows) else 1


def cmd_model(args):
    from . import artifacts

    if args.action == "list":
        for row in artifacts.status():
            print(f"{row['name']:<22} {row['status']:<15} {row['file']}: {row['about']}")
        return 0
    if not args.name:
        raise SystemExit(f"model train: name a model, one of {', '.join(artifacts.ARTIFACTS)}")
    entry = registry_call(artifacts.artifact, args.name)
    out = args.out or paths.models() / entry.file
    digest = artifacts.save(entry.train(), out)
    same = "the committed sha256" if digest == entry.sha256 else f"not the committed {entry.sha256}"
    print(f"wrote {out}: sha256 {digest} ({same})")
    return 0


def registry_call(call, name):
    """``call(name)`` on a registry (datasets, models), whose ValueError means a name it does not know or cannot fetch."""
    try:
        return call(name)
    except ValueError as err:
        raise SystemExit(str(err)) from None


def parser():
    ap = argparse.ArgumentParser(prog="companion", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="notebooks, their parameters (default, allowed values, meaning) and presets")
    run = sub.add_parser("run", help="execute one notebook headless with papermill")
    run.add_argument("notebook", help="a notebook path or stem, e.g. notebooks/03_goldilocks_zone.ipynb")
    run.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"), help="set a parameter")
    run.add_argument("--preset", help="a preset from notebooks/presets/<stem>.<preset>.yaml, applied before -p")
    run.add_argument("--out", default="build", help="folder for the executed notebook, its HTML and record")
    sw = sub.add_parser("sweep", help="run a parameter grid headless (parallel, resumable), or collect one")
    sw.add_argument("notebook", help="a notebook path or stem, or 'collect' to tabulate a sweep folder")
    sw.add_argument("folder", nargs="?", help="with 'collect': the sweep folder")
    sw.add_argument("-p", nargs="+", action="append", default=[], metavar="NAME V",
                    help="a swept parameter and its values; several -p make a cartesian grid")
    sw.add_argument("--grid", help="YAML with grid: {name: [values]} and/or points: [{name: value}], fixed: {...}")
    sw.add_argument("--preset", help="a preset applied to every point before its own values")
    sw.add_argument("--workers", type=int, default=1, help="parallel runs on this machine (one thread each)")
    sw.add_argument("--scheduler", help="address of a Dask scheduler to run the points on")
    sw.add_argument("--retries", type=int, default=0, help="extra attempts for a failed point")
    sw.add_argument("--out", help="sweep folder (default build/sweeps/<stem>)")
    ver = sub.add_parser("verify", help="run a notebook at K independent seeds and write its multi-seed verdicts")
    ver.add_argument("notebook", help="a notebook path or stem")
    ver.add_argument("--seeds", type=int, default=5, help="seeds 0..K-1 (default 5)")
    ver.add_argument("--preset", help="a preset to verify instead of the defaults")
    ver.add_argument("--workers", type=int, default=1, help="parallel runs on this machine (one thread each)")
    ver.add_argument("--out", help="where the runs go, in a subfolder per version of the code (default build/verify/<stem>.<preset>)")
    exe = sub.add_parser("execute", help="execute committed notebooks in place at their defaults, keeping their records")
    exe.add_argument("notebooks", nargs="+", help="notebook paths or stems")
    build = sub.add_parser("build", help="run every notebook with its defaults and write index.html")
    build.add_argument("--out", default="build")
    site = sub.add_parser("site", help="render the committed notebooks and their claims to a static site")
    site.add_argument("--out", default="build/site")
    dat = sub.add_parser("data", help="the dataset registry")
    dat.add_argument("action", choices=("list", "fetch", "verify"))
    dat.add_argument("name", nargs="?")
    mod = sub.add_parser("model", help="the committed models: their status, or train one from scratch")
    mod.add_argument("action", choices=("list", "train"))
    mod.add_argument("name", nargs="?")
    mod.add_argument("--out", help="where to write the trained model (default: over the committed file)")
    return ap


def user_errors():
    """The exception classes that are the user's mistake (imported when needed: the data registry is slow to load)."""
    from .data import DataError
    from .sweep import SweepBusy

    return ParameterError, DataError, SweepBusy, yaml.YAMLError


def one_line(message):
    """A message on one line: a line ending in ':' runs on into the next, other lines are joined by '; '."""
    return re.sub(r"(:?)\s*\n\s*", lambda m: ": " if m[1] else "; ", str(message).strip())


def yaml_problem(err):
    """A YAML syntax error in words, with its line and column (PyYAML's own text spans several lines)."""
    mark = getattr(err, "problem_mark", None)
    if mark is None:
        return str(err)
    context = f"{err.context}: " if getattr(err, "context", None) else ""
    return f"{context}{err.problem} at line {mark.line + 1}, column {mark.column + 1}"


def user_error(message):
    """Report a user's mistake as argparse does, on one line, and give exit status 2."""
    print(f"companion: error: {one_line(message)}", file=sys.stderr)
    return 2


def main(argv=None):
    args = parser().parse_args(argv)
    handler = {"list": cmd_list, "run": cmd_run, "build": cmd_build, "site": cmd_site, "sweep": cmd_sweep, "data": cmd_data,
               "model": cmd_model, "verify": cmd_verify, "execute": cmd_execute}[args.command]
    try:
        return handler(args)
    except SystemExit as exit_:  # the CLI's and the runner's refusals carry their message as the code
        if not isinstance(exit_.code, str):
            raise
        return user_error(exit_.code)
    except Exception as err:
        if not isinstance(err, user_errors()):
            raise
        if isinstance(err, yaml.YAMLError):  # a --grid is named by read_grid; what is left is the preset
            where = f"preset {args.preset!r}" if getattr(args, "preset", None) else "a YAML file"
            return user_error(f"{where} is not valid YAML: {yaml_problem(err)}")
        return user_error(err)


if __name__ == "__main__":
    sys.exit(main())
