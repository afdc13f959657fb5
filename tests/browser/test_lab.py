"""In a real browser: every notebook runs top to bottom in JupyterLab and its Explore widget responds.

Run by ``make test-browser`` (CI runs it); needs Debian's chromium and the playwright package.
"""

import os
import shutil
from pathlib import Path

import pytest

from lab import CHROMIUM, check_notebook, chromium, jupyter_lab, scratch_copy

PROJECT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p.name for p in (PROJECT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SHOTS = PROJECT / "build" / "screenshots"
FIXTURES = ["widget_raises.ipynb", "widget_draws_late.ipynb"]  # notebooks that test the check itself

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                                reason="Debian's chromium is not installed (make test-browser installs it)")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    notebooks = scratch_copy(PROJECT, root)
    for fixture in FIXTURES:
        shutil.copy(Path(__file__).parent / fixture, notebooks)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with jupyter_lab(notebooks) as url:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = chromium(pw)
            yield browser, url
            browser.close()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_jupyterlab_and_its_widget_responds(lab, name):
    browser, url = lab
    check_notebook(browser, url, name, SHOTS)
    assert (SHOTS / f"{Path(name).stem}.widget-after.png").exists()


def test_the_check_fails_when_a_widget_callback_raises(lab, tmp_path):
    browser, url = lab
    with pytest.raises(AssertionError, match="widget's output shows an error"):
        check_notebook(browser, url, "widget_raises.ipynb", tmp_path)


def test_the_check_waits_for_a_figure_drawn_after_the_kernel_is_idle(lab, tmp_path):
    browser, url = lab
    check_notebook(browser, url, "widget_draws_late.ipynb", tmp_path)
    assert (tmp_path / "widget_draws_late.widget-after.png").exists()
