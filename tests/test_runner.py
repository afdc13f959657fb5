"""The runner's index page and its handling of failed runs."""

from pathlib import Path

from companion import runner


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
