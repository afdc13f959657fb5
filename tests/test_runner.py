"""The runner: its index page, failed runs, parameters checked before papermill, each kernel's own environment."""

import os
from pathlib import Path

import nbformat
import pytest

from companion import runner
from companion.params import ParameterError

FAST = Path(__file__).parent / "fixtures" / "00_fast.ipynb"


def _row(cid, kind, verdict, claim="c"):
    return {"id": cid, "kind": kind, "claim": claim, "verdict": verdict, "measured": "0.42", "rule": "x > 0",
            "sentence": "s", "version": "", "revised": "", "timed": False, "values": {"x": 0.42}}


def test_index_page_shows_claims_both_verdicts_links_and_failures():
    rows = [_row("C1", "paper", "holds", "C1 <shell>"), _row("C2", "mechanism", "undecided"),
            _row("S1", "sanity", "holds")]
    verdict = {"claims": [{"id": "C1", "overall": "mixed", "holds": 3, "seeds": 5}]}
    ok = {"title": "The Goldilocks zone", "href": "03_goldilocks_zone.html", "note": "12 s.", "claims": rows,
          "verdict": verdict}
    failed = {"title": "Stiffness", "href": "06_stiffness.html", "claims": [], "error": "failed in cell 3: ParameterError"}
    summary = {"title": "Sweep summary", "href": "99.html", "claims": [], "note": "As committed."}
    page = runner.index_page([ok, failed, summary])
    assert "<a href='03_goldilocks_zone.html'>The Goldilocks zone</a>" in page
    assert "&lt;shell&gt;" in page  # escaped
    assert "1 of 2 claims hold in this run" in page  # the sanity row is not counted
    assert "<caption>Sanity checks</caption>" in page
    assert page.count("<td class='holds'>holds</td>") == 2 and "<td class='undecided'>undecided</td>" in page
    assert "<td class='mixed'>mixed 3/5</td>" in page and page.count("<td>-</td>") == 2
    assert "The run failed: failed in cell 3: ParameterError" in page
    assert "As committed. It has no claims table." in page


def test_summary_line_counts_claims_that_hold_but_not_sanity_rows():
    rows = [_row("C1", "paper", "holds"), _row("C2", "paper", "fails"), _row("S1", "sanity", "holds")]
    r = runner.Result("x", True, 3.25, Path("x.html"), record={"claims": rows})
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


def test_headless_output_widgets_keep_their_outputs_without_echoing_them_to_the_kernel():
    from nbclient.output_widget import OutputWidget

    class Client:  # any use of the kernel's channels is a failure
        def __getattr__(self, name):
            raise AssertionError(f"the widget used the kernel client ({name})")

    class Executor:
        widget_state = {"w": {}}

    runner.headless_output_widgets()
    widget = OutputWidget("w", {"outputs": []}, Client(), Executor())
    message = {"parent_header": {"msg_id": "m"}, "msg_type": "stream", "content": {"name": "stdout", "text": "hi"},
               "header": {"msg_type": "stream"}}
    widget.output([], message, None, 0)
    assert [o["text"] for o in Executor.widget_state["w"]["outputs"]] == ["hi"]
