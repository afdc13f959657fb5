"""A static site of the committed notebooks: each rendered to HTML as committed (nothing is run),
and an index page with every notebook's claims table, read back from its printed output."""

import json
import re
import shutil
from pathlib import Path

from . import runner

CLAIM_COLUMNS = ("claim", "measured", "threshold", "holds")


def parse_claims_table(text):
    """The rows of a claims table printed by ``show_table(claims_table(...))``.

    ``DataFrame.to_string`` right-aligns every column and its header, so each column ends
    where its header word ends; the cells between two header ends belong to the later column.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    header = lines[0]
    found = re.findall(r"\S+", header)
    if tuple(found) != CLAIM_COLUMNS:
        raise ValueError(f"not a claims table: its header is {found}, expected {list(CLAIM_COLUMNS)}")
    ends = [m.end() for m in re.finditer(r"\S+", header)]
    rows = []
    for line in lines[1:]:
        cells = [line[start:end].strip() for start, end in zip([0] + ends[:-1], ends)]
        if cells[-1] not in ("yes", "no"):
            raise ValueError(f"claims table row without a yes/no verdict: {line.strip()!r}")
        rows.append({**dict(zip(CLAIM_COLUMNS, cells)), "holds": cells[-1] == "yes"})
    return rows


def committed_claims(nb):
    """The claims of a committed notebook, from the output of its ``claims_table`` cell ([] if it has none)."""
    cells = json.loads(Path(nb).read_text())["cells"]
    for cell in cells:
        if cell["cell_type"] == "code" and "claims_table(" in "".join(cell["source"]):
            text = "".join("".join(o.get("text", "")) for o in cell.get("outputs", []) if o.get("name") == "stdout")
            if not text.strip():
                raise ValueError(f"{Path(nb).name}: its claims cell has no output; execute and commit it first")
            return parse_claims_table(text)
    return []


def build_site(out="build/site"):
    """Render every committed notebook to ``out`` and write ``out/index.html``; return the index path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for nb in runner.notebooks():
        copy = out / nb.name
        shutil.copyfile(nb, copy)
        page = runner.render_html(copy)
        copy.unlink()
        entries.append({"title": runner.title(nb), "href": page.name, "claims": committed_claims(nb),
                        "note": "As committed: the default run re-checked by pytest --nbval."})
    index = out / "index.html"
    index.write_text(runner.index_page(entries))
    return index
