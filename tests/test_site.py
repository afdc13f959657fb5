"""make site: the committed notebooks rendered as they are, with their claims read from their committed records
and their committed multi-seed verdicts."""

import re

from companion import runner, verdicts
from companion.site import build_site, committed_record


def test_site_has_every_notebook_and_the_claims_index(tmp_path):
    index = build_site(tmp_path)
    page = index.read_text()
    for nb in runner.notebooks():
        assert (tmp_path / f"{nb.stem}.html").exists()
        assert f"href='{nb.stem}.html'" in page
        assert not (tmp_path / nb.name).exists()  # only the rendered page is published
    rows = [r for nb in runner.notebooks() for r in committed_record(nb).get("claims", [])]
    assert len(rows) >= 60
    assert len(re.findall(r"<td class='(?:holds|fails|undecided)'>(?:holds|fails|undecided)</td>", page)) == len(rows)
    multi = [c for nb in runner.notebooks() for c in (verdicts.load(nb.stem) or {}).get("claims", [])]
    assert len(re.findall(r"<td class='(?:holds|fails|mixed|undecided)'>(?:holds|fails|mixed|undecided) \d+/\d+</td>", page)) == len(multi)
    assert len(multi) >= 60
