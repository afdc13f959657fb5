"""make site: the committed notebooks rendered as they are, with their claims read back from the printed table."""

import json

import pandas as pd
import pytest
from companion import runner
from companion.notebook import claims_table, show_table
from companion.site import build_site, committed_claims, parse_claims_table


class _Run:
    def record(self, name, value):
        pass


def _printed(claims, capsys):
    show_table(claims_table(_Run(), claims))
    return capsys.readouterr().out


def test_a_printed_claims_table_parses_back_to_its_rows(capsys):
    claims = [{"claim": "C1 a long claim with spaces (seed 0)", "measured": "0.42 vs 0.1", "threshold": "> 2 s.e.", "holds": True},
              {"claim": "C2 short", "measured": "p 0.30", "threshold": "p < 0.05", "holds": False},
              {"claim": "C3 x", "measured": "", "threshold": "1.0 in [0.5, 2]", "holds": True}]
    assert parse_claims_table(_printed(claims, capsys)) == claims


def test_text_that_is_not_a_claims_table_is_refused(capsys):
    show_table(pd.DataFrame({"a": [1], "b": [2]}))
    with pytest.raises(ValueError, match="not a claims table"):
        parse_claims_table(capsys.readouterr().out)


@pytest.mark.parametrize("nb", runner.notebooks(), ids=lambda p: p.stem)
def test_every_committed_claims_table_parses(nb):
    claims = committed_claims(nb)
    has_cell = any("claims_table(" in "".join(c["source"]) for c in json.loads(nb.read_text())["cells"])
    assert bool(claims) == has_cell
    assert all(c["claim"] and c["threshold"] for c in claims)


def test_site_has_every_notebook_and_the_claims_index(tmp_path):
    index = build_site(tmp_path)
    page = index.read_text()
    for nb in runner.notebooks():
        assert (tmp_path / f"{nb.stem}.html").exists()
        assert f"href='{nb.stem}.html'" in page
        assert not (tmp_path / nb.name).exists()  # only the rendered page is published
    n_claims = sum(len(committed_claims(nb)) for nb in runner.notebooks())
    assert page.count("<td class='yes'>") + page.count("<td class='no'>") == n_claims
