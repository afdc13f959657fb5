"""Every paper's claims, as declared: rules that decide both ways, sentences quoted from the abstracts this
project follows, committed verdicts and records that match their notebook, prose backed by the record."""

import importlib
import json
import os
import re
from pathlib import Path

import pytest
from companion import claims as cl
from companion import runner, verdicts
from companion.site import committed_record
from conftest import nbval_record, ran_whole_under_nbval

ABSTRACTS = Path(__file__).resolve().parents[2] / "shared" / "papers" / "abstracts.txt"
PAPERS = [nb for nb in runner.notebooks() if hasattr(runner.experiment_module(nb), "CLAIMS")]
NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(%?)")
PROSE_HEADING = "What the default run shows"


def _ids(nb):
    return nb.stem


def _paper(nb):
    return runner.experiment_module(nb)


def test_every_paper_notebook_declares_its_claims():
    assert len(PAPERS) == 10, [nb.stem for nb in PAPERS]


@pytest.mark.parametrize("nb", PAPERS, ids=_ids)
def test_every_rule_holds_on_one_record_and_fails_on_another(nb):
    """``rule_examples/<paper>.py`` gives, per claim, values on which its rule holds and values on which it
    fails; a rule that no record can fail would be a sanity row at best."""
    claims = _paper(nb).CLAIMS
    ids = [c.id for c in claims]
    assert len(set(ids)) == len(ids), f"repeated claim ids in {ids}"
    examples = importlib.import_module(f"rule_examples.{nb.stem.split('_', 1)[1]}").EXAMPLES
    assert sorted(examples) == sorted(ids), "every claim needs one example that holds and one that fails"
    for claim in claims:
        holds, fails = examples[claim.id]
        for values, expected in ((holds, cl.HOLDS), (fails, cl.FAILS)):
            missing = set(claim.reads) - set(values)
            assert not missing, f"{claim.id}: the example lacks {missing}"
            assert claim.rule(values) == expected, f"{claim.id} ({claim.rule.text}) on {values}"


def _abstracts():
    """{arXiv id: the text before its 'arXiv:' line}, from the abstracts this project follows."""
    if not ABSTRACTS.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI has the paper notes beside the checkout, but not {ABSTRACTS.name}")
        pytest.skip("the paper notes (shared/papers) are not beside this checkout")
    text, found, start = ABSTRACTS.read_text(), {}, 0
    for m in re.finditer(r"arXiv:(\d{4}\.\d{5})", text):
        found[m[1]] = text[start:m.start()]
        start = m.end()
    return found


def _flat(text):
    return " ".join(text.split())


@pytest.mark.parametrize("nb", PAPERS, ids=_ids)
def test_each_claim_quotes_the_abstract_it_tests(nb):
    arxiv = re.search(r"arXiv:(\d{4}\.\d{5})", _paper(nb).__doc__)[1]
    abstract = _flat(_abstracts()[arxiv])
    for claim in _paper(nb).CLAIMS:
        if claim.sentence and not claim.version:
            assert _flat(claim.sentence) in abstract, f"{claim.id}: not in the abstract of {arxiv}: {claim.sentence!r}"
    assert any(c.kind == "paper" for c in _paper(nb).CLAIMS)


@pytest.mark.parametrize("nb", PAPERS, ids=_ids)
def test_the_committed_verdict_matches_its_notebook(nb):
    """A verdict made for other claims or other default parameters is stale: run companion verify again."""
    verdict = verdicts.load(nb.stem)
    assert verdict is not None, f"no verdicts/{nb.stem}.default.json: run companion verify {nb.stem} --seeds 5"
    assert verdict["hash"] == cl.definitions_hash(_paper(nb).CLAIMS, runner.check_parameters(nb, {})), (
        f"verdicts/{nb.stem}.default.json is stale: run companion verify {nb.stem} --seeds 5")
    assert len(verdict["seeds"]) >= 5 and not verdict["failed"]
    declared = {c.id for c in _paper(nb).CLAIMS}
    assert {c["id"] for c in verdict["claims"]} <= declared


def _rows(record):
    return [(r["id"], r["verdict"], r["measured"]) for r in record.get("claims", []) if not r["timed"]]


@pytest.mark.parametrize("nb", PAPERS, ids=_ids)
def test_the_committed_record_is_the_committed_runs(nb):
    """The site reads the committed record; it must say what this session's run of the notebook says."""
    if not ran_whole_under_nbval(nb):
        pytest.skip("needs this session's nbval run of the notebook (make test)")
    assert _rows(committed_record(nb)) == _rows(nbval_record(nb)), (
        f"notebooks/records/{nb.stem}.record.json is stale: run companion execute {nb.stem}")


def prose_numbers(nb):
    """The numbers quoted in the notebook's 'What the default run shows' section, as (text, decimals, percent, value)."""
    cells, text, inside = json.loads(nb.read_text())["cells"], [], False
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and PROSE_HEADING in source:
            inside, source = True, source[source.index(PROSE_HEADING) + len(PROSE_HEADING):]
        elif cell["cell_type"] != "markdown" or source.lstrip().startswith("#"):
            inside = False
        if inside:
            text.append(source)
    return [(m[0], len(m[2]) - 1 if m[2] else 0, bool(m[3]), float(m[1].replace(",", "") + (m[2] or "")))
            for m in NUMBER.finditer("\n".join(text))]


def record_numbers(value):
    """Every number in a record, as absolute values: its numbers, and the numbers inside its strings."""
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [abs(value)]
    if isinstance(value, str):
        return [float(m[1].replace(",", "") + (m[2] or "")) for m in NUMBER.finditer(value)]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [x for item in items for x in record_numbers(item)]


def backed(number, decimals, percent, recorded):
    """Whether a quoted number is some recorded number, rounded as quoted (a percentage also as a fraction)."""
    scales = (1, 100) if percent else (1,)
    return any(round(x * s, decimals) == number for x in recorded for s in scales if x == x and abs(x) != float("inf"))


@pytest.mark.parametrize("nb", PAPERS, ids=_ids)
def test_every_number_in_the_prose_is_in_the_record(nb):
    quoted = prose_numbers(nb)
    assert quoted, f"{nb.stem} has no '{PROSE_HEADING}' section with numbers"
    recorded = set(record_numbers(committed_record(nb)))
    missing = [text for text, decimals, percent, number in quoted if not backed(number, decimals, percent, recorded)]
    assert not missing, f"{nb.stem}: numbers in '{PROSE_HEADING}' that its record does not hold: {missing}"


def test_the_prose_check_can_fail():
    recorded = set(record_numbers({"a": 0.3456, "rows": [{"m": "gap 1,234 steps"}], "p": 0.92}))
    assert backed(0.35, 2, False, recorded) and backed(1234, 0, False, recorded) and backed(92, 0, True, recorded)
    assert backed(0.346, 3, False, recorded)
    assert not backed(0.34, 2, False, recorded) and not backed(0.3457, 4, False, recorded)
    assert not backed(17, 0, False, recorded) and not backed(92, 0, False, recorded)
