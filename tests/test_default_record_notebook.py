"""The shared ``default_record`` fixture (conftest.py) on the fast fixture notebook: a record test reads this
session's nbval run of its notebook rather than running it again, and runs the notebook once itself when
nbval did not, never reading a record left from an earlier run. The runner's own outputs are checked once here."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from companion import runner
from conftest import default_parameters

TESTS = Path(__file__).parent
FAST = TESTS / "fixtures" / "00_fast.ipynb"
RECORD_TEST = '''
from pathlib import Path

NB = Path(__file__).parents[1] / "{folder}" / "00_fast.ipynb"


def test_reads_a_default_record_of_this_session(default_record):
    assert "stale" not in default_record and default_record["claims"]
'''


def _project_with_two_record_tests(root):
    """This project's layout: ``tests/`` (this conftest) beside two notebook folders, each copy of the fast
    notebook with a record test: ``nbval/`` for nbval to run, ``alone/`` with a record from an earlier run
    beside it (default parameters, marked stale) and no nbval run."""
    (root / "tests").mkdir()
    shutil.copy(TESTS / "conftest.py", root / "tests")
    for folder in ("nbval", "alone"):
        (root / folder).mkdir()
        shutil.copy(FAST, root / folder)
        shutil.copy(FAST.with_name("fast_claims.py"), root / folder)  # the claims the fast notebook imports
        (root / "tests" / f"test_{folder}.py").write_text(RECORD_TEST.format(folder=folder))
    stale = {"notebook": FAST.stem, "parameters": default_parameters(FAST), "stale": True, "claims": []}
    (root / "alone" / f"{FAST.stem}.record.json").write_text(json.dumps(stale))


@pytest.mark.slow
def test_a_record_test_reuses_this_sessions_nbval_run_and_otherwise_runs_the_notebook_once(tmp_path):
    _project_with_two_record_tests(tmp_path)
    basetemp = tmp_path / "basetemp"
    # the record tests are named before the notebook: the session must still run nbval's cells first
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval", "-q",
                           f"--rootdir={tmp_path}", f"--basetemp={basetemp}",
                           "tests/test_nbval.py", "tests/test_alone.py", "nbval/00_fast.ipynb"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    runner_runs = sorted(p.parent.name for p in basetemp.rglob(f"{FAST.stem}.ipynb"))
    assert runner_runs == [f"{FAST.stem}-default0"], runner_runs  # only alone/ was run again, once


@pytest.mark.slow
def test_the_runner_writes_the_executed_notebook_its_page_and_its_record(tmp_path):
    result = runner.run(FAST, out=tmp_path, progress=False)
    assert result.ok, result.error
    assert (tmp_path / f"{FAST.stem}.ipynb").exists()
    assert "y is more than x squared minus one half" in result.html.read_text()
    assert result.record == json.loads((tmp_path / f"{FAST.stem}.record.json").read_text())
