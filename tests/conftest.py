"""Shared test helpers."""

import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("COMPANION_CELL_TIMEOUT", "300")  # a default-size cell takes seconds; a hang fails fast

import pytest  # noqa: E402
import torch  # noqa: E402
from companion import runner  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """Unit tests run small models: fastest, and the same every time, on one torch thread (as the notebooks do)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def run_notebook(nb, out, **kwargs):
    """Run ``nb`` through the runner into ``out``; fail the test unless it succeeds; return (result, record)."""
    result = runner.run(nb, out=out, progress=False, **kwargs)
    assert result.ok, result.error
    return result, result.record


def stopped_by_validation(nb, out, name, value):
    """Run ``nb`` through the CLI with ``-p name value``; assert it stopped with a ParameterError before any
    compute (no record written); return its stderr, for the test to check the message names what is wrong."""
    proc = subprocess.run([sys.executable, "-m", "companion.cli", "run", str(nb), "-p", name, value, "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1 and "ParameterError" in proc.stderr, proc.stderr[-2000:]
    assert not (Path(out) / f"{nb.stem}.record.json").exists()  # stopped before any compute or record
    return proc.stderr
