"""Shared test helpers, and the one default run of each notebook that its record tests read.

``make test`` runs every committed notebook under nbval; the kernel runs in the notebook's folder, so
each nbval run writes ``notebooks/<stem>.record.json``. The ``default_record`` fixture reads that
record when the notebook ran whole under nbval in this session, and otherwise (a test file run
alone) runs the notebook once through the runner, so no notebook's default run is executed twice.
"""

import ast
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("COMPANION_CELL_TIMEOUT", "300")  # a default-size cell takes seconds; a hang fails fast

import companion  # noqa: E402  (first: pins the numerical kernels before numpy and torch load)
import pytest  # noqa: E402
import torch  # noqa: E402
from companion import runner  # noqa: E402
from companion.data import files  # noqa: E402
from companion.notebook import resolve_device  # noqa: E402

SESSION_START = time.time()  # a record older than this is from an earlier session, never read


def _is_nbval_cell(item):
    return item.path.suffix == ".ipynb"


class NbvalCells:
    """Counts, per notebook, the cells that nbval ran and that passed in this session.

    Registered as a plugin: a hook in this conftest would only see the items under tests/, not notebooks/.
    """

    def __init__(self):
        self.passed = Counter()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if _is_nbval_cell(item) and report.when == "call" and report.passed:
            self.passed[item.path.resolve()] += 1
        return report


NBVAL_CELLS = NbvalCells()


def pytest_configure(config):
    config.pluginmanager.register(NBVAL_CELLS, "companion-nbval-cells")


def pytest_report_header():
    """The processor, numpy's BLAS kernels and whether companion's numerical pins are on: the committed outputs were
    made with them, and without them nbval may find their printed numbers changed (see the README)."""
    import numpy  # noqa: F401  (loads OpenBLAS, so threadpoolctl can see it)
    from threadpoolctl import threadpool_info

    cpuinfo = Path("/proc/cpuinfo")
    vendor = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                   if line.startswith("vendor_id")), "unknown") if cpuinfo.exists() else "unknown"
    blas = ", ".join(sorted({f"{i['internal_api']} {i.get('architecture', '?')}" for i in threadpool_info()
                            if i["user_api"] == "blas"}))
    return (f"numerics: processor {vendor}, BLAS {blas}, "
            + ("pinned as the committed outputs were (companion.NUMERICS)" if companion.PINNED else
               "not pinned (COMPANION_NUMERICS=native): nbval may find printed numbers changed"))


def pytest_collection_modifyitems(items):
    """Run nbval's notebook cells before every other test, so the record tests find this session's records."""
    items.sort(key=lambda item: not _is_nbval_cell(item))  # stable: each group keeps its order


def _code_cells(nb):
    return sum(cell["cell_type"] == "code" for cell in json.loads(Path(nb).read_text())["cells"])


def ran_whole_under_nbval(nb):
    """Whether nbval ran every code cell of ``nb`` in this session, each passing."""
    return NBVAL_CELLS.passed[Path(nb).resolve()] == _code_cells(nb)


def default_parameters(nb):
    """The parameters a default run records: the parameters cell's values, with 'auto' resolved to a device."""
    values = {row["name"]: ast.literal_eval(row["default"]) for row in runner.parameters(nb)}
    if "device" in values:
        values["device"] = resolve_device(values["device"])
    return json.loads(json.dumps(values))  # as read back from the record: tuples become lists


def nbval_record(nb):
    """The record the nbval run of ``nb`` wrote beside it in this session; fail if it is stale or not a default run."""
    path = Path(nb).parent / f"{Path(nb).stem}.record.json"
    fresh = path.exists() and path.stat().st_mtime >= SESSION_START
    assert fresh, (f"nbval ran {Path(nb).name} in this session but {path} was not written by it "
                   "(is COMPANION_RECORD set in the environment? unset it)")
    record = json.loads(path.read_text())
    assert record["parameters"] == default_parameters(nb), f"{path} is not a default run"
    return record


def run_notebook(nb, out, **kwargs):
    """Run ``nb`` through the runner into ``out``; fail the test unless it succeeds; return its record."""
    result = runner.run(nb, out=out, progress=False, **kwargs)
    assert result.ok, result.error
    return result.record


@pytest.fixture(scope="module")
def default_record(request, tmp_path_factory):
    """The record of the default run of the test module's notebook ``NB``: this session's nbval run when
    there was one, else one run through the runner."""
    nb = request.module.NB
    if ran_whole_under_nbval(nb):
        return nbval_record(nb)
    return run_notebook(nb, tmp_path_factory.mktemp(f"{Path(nb).stem}-default"))


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """Unit tests run small models: fastest, and the same every time, on one torch thread (as the notebooks do)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def stopped_by_validation(nb, out, name, value):
    """Run ``nb`` through the CLI with ``-p name value``; assert it stopped as a user error, before any compute:
    exit status 2, a ``companion: error:`` message naming the parameter, no traceback, no record. Return its
    stderr, for the test to check the message says what is wrong and what is allowed."""
    proc = subprocess.run([sys.executable, "-m", "companion.cli", "run", str(nb), "-p", name, value, "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "companion: error: " in proc.stderr and name in proc.stderr, proc.stderr[-2000:]
    assert not (Path(out) / f"{nb.stem}.record.json").exists()  # stopped before any compute or record
    return proc.stderr


@pytest.fixture()
def data_root(tmp_path, monkeypatch):
    """Point $COMPANION_DATA and the user cache at empty temporary folders."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("COMPANION_DATA", str(root))
    monkeypatch.setattr(files, "CACHE", tmp_path / "cache")
    return root
