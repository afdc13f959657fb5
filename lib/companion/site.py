"""A static site of the committed notebooks: each rendered to HTML as committed (nothing is run), and an
index page with every notebook's claims, read from its committed record and its committed verdicts."""

import json
import shutil
from pathlib import Path

from . import paths, runner, verdicts


def committed_record(nb):
    """The record of the committed run of ``nb`` (``companion execute`` writes it); {} when it has none."""
    path = paths.records() / f"{nb.stem}.record.json"
    return json.loads(path.read_text()) if path.exists() else {}


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
        entries.append({"title": runner.title(nb), "href": page.name, "claims": committed_record(nb).get("claims", []),
                        "verdict": verdicts.load(nb.stem),
                        "note": "This run: the committed default run, re-checked by pytest --nbval."})
    index = out / "index.html"
    index.write_text(runner.index_page(entries))
    return index
