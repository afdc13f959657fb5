"""Shared test helpers."""

from companion import runner


def run_notebook(nb, out, **kwargs):
    """Run ``nb`` through the runner into ``out``; fail the test unless it succeeds; return (result, record)."""
    result = runner.run(nb, out=out, progress=False, **kwargs)
    assert result.ok, result.error
    return result, result.record
