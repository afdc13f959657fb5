"""Benchmarks: this library against its peer on the same input, in one process.

``python bench/run.py [ENTRY ...]`` runs every entry (or the named ones), prints one
side-by-side table per entry and writes all rows to ``build/bench.json``.

Entries live in ``bench/bench_NN_<topic>.py`` (NN: the notebook they serve), each with an
``ENTRIES`` dict of functions that return lists of row dicts. Row keys (``common.COLUMNS``):
library, method, wall_s (with wall_median_s: the minimum and median over ``common.interleaved``
repeats, where an entry repeats), matvecs (work: matrix-vector products or updates), max_rel_err
(against the exact answer; 0 for the exact answer itself), peak_mem_mb (peak resident memory above the
start of the measurement; None where the platform cannot reset the peak), note.
"""

import importlib
import sys
from pathlib import Path

import torch

from common import format_table
from companion.io import write_json_atomic

HERE = Path(__file__).resolve().parent
BUILD = HERE.parent / "build"


def entries():
    """Every entry of every ``bench_*.py`` module, in file order."""
    found = {}
    for path in sorted(HERE.glob("bench_*.py")):
        found.update(importlib.import_module(path.stem).ENTRIES)
    return found


def main(names):
    ENTRIES = entries()
    unknown = sorted(set(names) - set(ENTRIES))
    if unknown:
        sys.exit(f"unknown benchmark entries {unknown}; choose from {sorted(ENTRIES)}")
    torch.set_num_threads(1)  # small models: one thread is faster and steadier than two
    rows = []
    for name in names or ENTRIES:
        entry_rows = [{"entry": name, **row} for row in ENTRIES[name]()]
        print(f"\n== {name}: {ENTRIES[name].__doc__}\n{format_table(entry_rows)}")
        rows += entry_rows
    payload = {"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows}
    write_json_atomic(BUILD / "bench.json", payload)
    print(f"\nwrote {len(rows)} rows to {BUILD / 'bench.json'}")


if __name__ == "__main__":
    main(sys.argv[1:])
