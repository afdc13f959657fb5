"""The runner: its index page, failed runs, parameters checked before papermill, each kernel's own environment."""

import os
from pathlib import Path

import nbformat
import pytest

from companion import runner
from companion.params import ParameterError

FAST = Path(__file__).parent / "fixtures" / "00_fast.ipynb"


def test_index_page_shows_claims_links_and_failures():
    ok = {"title": "The Goldilocks zone", "href": "03_goldilocks_zone.html", "note": "12 s.", "claims":
          [{"claim": "C1 <shell>", "measured": "0.42", "threshold": "> 2 s.e.", "holds": True},
           {"claim": "C2", "measured": "0.1", "threshold": "p < 0.05", "holds": False}]}
    failed = {"title": "Stiffness", "href": "06_stiffness.html", "claims": [], "error": "failed in cell 3: ParameterError"}
    summary = {"title": "Sweep summary", "href": "99.html", "claims": [], "note": "As committed."}
    page = runner.index_page([ok, failed, summary])
    assert "<a href='03_goldilocks_zone.html'>The Goldilocks zone</a>" in page
    assert "C1 &lt;shell&gt;" in page  # escaped
    assert "1 of 2 claims hold" in page
    assert page.count("class='yes'") == 1 and page.count("class='no'>no") == 1
    assert "The run failed: failed in cell 3: ParameterError" in page
    assert "As committed. It has no claims table." in page


def test_summary_line_counts_claims_that_hold():
    r = runner.Result("x", True, 3.25, Path("x.html"), record={"claims": [{"holds": True}, {"holds": False}]})
    assert "claims holding 1/2" in r.summary() and "ok" in r.summary()


def test_a_broken_notebook_is_reported_not_raised(tmp_path):
    broken = tmp_path / "99_broken.ipynb"
    broken.write_text("{not json")
    result = runner.run(broken, out=tmp_path / "out", progress=False)
    assert not result.ok and "99_broken" in result.error


def test_a_parameter_name_that_is_code_is_refused_before_anything_runs(tmp_path):
    marker = tmp_path / "ran"
    name = f'x=__import__("pathlib").Path({str(marker)!r}).touch();y'
    with pytest.raises(ParameterError, match="unknown parameter 'x=__import__"):
        runner.run(FAST, {name: 1}, out=tmp_path / "out", progress=False)
    assert not marker.exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("params, words", [({"seed": -1}, "parameter 'seed' = -1 is not allowed"),  # the spec
                                            ({"scales": [0.5, 2.0, 3.0]}, "including 1.0")])  # the module's check
def test_a_bad_value_is_refused_before_the_kernel_starts(tmp_path, params, words):
    with pytest.raises(ParameterError, match=words):
        runner.run(runner.find("03_goldilocks_zone"), params, out=tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_a_kernel_start_prints_no_transport_warning(tmp_path, capfd):
    result = runner.run(FAST, out=tmp_path, progress=False)
    assert result.ok, result.error
    err = capfd.readouterr().err
    assert "without encryption" not in err and "WARNING" not in err, err


def test_the_kernel_gets_its_own_environment_in_the_notebook_s_folder(tmp_path):
    nb = tmp_path / "notebooks" / "00_environment.ipynb"
    nb.parent.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import json, os\n"
        "with open(os.environ['COMPANION_RECORD'], 'w') as f:\n"
        "    json.dump({'probe': os.environ.get('COMPANION_PROBE'), 'cwd': os.getcwd()}, f)")]), nb)
    result = runner.run(nb, out=tmp_path / "out", progress=False, env={"COMPANION_PROBE": "7"})
    assert result.ok, result.error
    assert result.record["probe"] == "7" and Path(result.record["cwd"]) == nb.parent.resolve()
    assert "COMPANION_PROBE" not in os.environ and "COMPANION_RECORD" not in os.environ
