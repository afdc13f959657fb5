"""Shared test helpers."""

import os

os.environ.setdefault("COMPANION_CELL_TIMEOUT", "300")  # a default-size cell takes seconds; a hang fails fast

from companion import runner  # noqa: E402


def run_notebook(nb, out, **kwargs):
    """Run ``nb`` through the runner into ``out``; fail the test unless it succeeds; return (result, record)."""
    result = runner.run(nb, out=out, progress=False, **kwargs)
    assert result.ok, result.error
    return result, result.record
