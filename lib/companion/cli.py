"""The ``companion`` command: list notebooks and their parameters, run one, build them all, manage data.

    companion list
    companion run NB [-p NAME VALUE]... [--preset NAME] [--out DIR]
    companion build [--out DIR]          (what ``make run`` does)
    companion site [--out DIR]           (what ``make site`` does: the committed notebooks, nothing run)
    companion sweep NB (-p NAME V1 V2 ...)... | --grid GRID.yaml [--preset NAME] [--workers N]
                    [--scheduler ADDRESS] [--retries K] [--out DIR]
    companion sweep collect DIR
    companion data list | fetch NAME | verify
"""

import argparse
import ast
import sys

from . import runner


def _value(text):
    """A command-line value as a Python literal when it is one ('1', '0.5', '[1, 2]'), else the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
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
    from . import sweep

    if args.notebook == "collect":
        if not args.folder:
            raise SystemExit("companion sweep collect: name the sweep folder")
        table = sweep.collect(args.folder)
        paths = sweep.write_tables(table, args.folder)
        print(f"{len(table)} runs ({(table.status == 'done').sum() if len(table) else 0} done) -> "
              + ", ".join(str(p) for p in paths))
        return 0
    nb = runner.find(args.notebook)
    if not args.p and not args.grid:
        raise SystemExit("companion sweep: give the grid with -p NAME V1 V2 ... or --grid GRID.yaml")
    bare = [p[0] for p in args.p if len(p) < 2]
    if bare:
        raise SystemExit(f"companion sweep: -p {bare[0]} needs at least one value")
    points = sweep.grid_points({p[0]: [_value(v) for v in p[1:]] for p in args.p})
    if args.grid:
        points = sweep.load_grid(args.grid) + (points if args.p else [])
    out = args.out or f"build/sweeps/{nb.stem}"
    table = sweep.sweep(nb, points, out, preset=args.preset, workers=args.workers, scheduler=args.scheduler,
                        retries=args.retries)
    sweep.write_tables(table, out)
    failed = table[table.status != "done"]
    print(f"{len(table) - len(failed)}/{len(table)} runs done in {out}; table: {out}/results.csv")
    for row in failed.itertuples():
        print(f"FAILED {row.folder}: {row.error}")
    return 0 if failed.empty else 1


def cmd_data(args):
    from . import data

    if args.action == "list":
        for row in data.dataset_status():
            print(f"{row['name']:<14} {row['source']:<10} {row['where']}")
        return 0
    if args.action == "fetch":
        if not args.name:
            raise SystemExit(f"companion data fetch: name a dataset, one of {', '.join(data.DATASETS)}")
        print(data.fetch(args.name))
        return 0
    rows = data.verify(args.name)
    for row in rows:
        print(("ok   " if row["ok"] else "FAIL ") + row["message"])
    return 0 if all(r["ok"] for r in rows) else 1


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
    build = sub.add_parser("build", help="run every notebook with its defaults and write index.html")
    build.add_argument("--out", default="build")
    site = sub.add_parser("site", help="render the committed notebooks and their claims to a static site")
    site.add_argument("--out", default="build/site")
    dat = sub.add_parser("data", help="the dataset registry")
    dat.add_argument("action", choices=("list", "fetch", "verify"))
    dat.add_argument("name", nargs="?")
    return ap


def main(argv=None):
    args = parser().parse_args(argv)
    handler = {"list": cmd_list, "run": cmd_run, "build": cmd_build, "site": cmd_site, "sweep": cmd_sweep, "data": cmd_data}[args.command]
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
