"""The runner's index page and its handling of failed runs."""

from pathlib import Path

from companion import runner


def test_index_page_shows_claims_links_and_failures():
    ok = runner.Result("03_goldilocks_zone", True, 12.0, Path("03_goldilocks_zone.html"), record={"claims":
                       [{"claim": "C1 <shell>", "measured": "0.42", "threshold": "> 2 s.e.", "holds": True},
                               {"claim": "C2", "measured": "0.1", "threshold": "p < 0.05", "holds": False}]})
    failed = runner.Result("06_stiffness", False, 1.0, Path("06_stiffness.html"), error="failed in cell 3: ParameterError")
    page = runner.index_page([ok, failed], {"03_goldilocks_zone": "The Goldilocks zone", "06_stiffness": "Stiffness"})
    assert "<a href='03_goldilocks_zone.html'>The Goldilocks zone</a>" in page
    assert "C1 &lt;shell&gt;" in page  # escaped
    assert page.count("class='yes'") == 1 and page.count("class='no'>no") == 1
    assert "The run failed: failed in cell 3: ParameterError" in page


def test_summary_line_counts_claims_that_hold():
    r = runner.Result("x", True, 3.25, Path("x.html"), record={"claims": [{"holds": True}, {"holds": False}]})
    assert "claims holding 1/2" in r.summary() and "ok" in r.summary()


def test_a_broken_notebook_is_reported_not_raised(tmp_path):
    broken = tmp_path / "99_broken.ipynb"
    broken.write_text("{not json")
    result = runner.run(broken, out=tmp_path / "out", progress=False)
    assert not result.ok and "99_broken" in result.error
