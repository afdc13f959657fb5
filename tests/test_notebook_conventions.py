"""What every notebook promises its users, checked without running it: documented parameters, valid presets,
and an Explore section the browser test can move."""

import ast
import json
from types import SimpleNamespace

import pytest
from companion import runner
from companion.params import validate

NOTEBOOKS = runner.notebooks()
PAPERS = [nb for nb in NOTEBOOKS if nb.stem[:2] != "99"]


def _cells(nb):
    return json.loads(nb.read_text())["cells"]


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_spec_parameter_is_in_the_parameters_cell_with_a_doc(nb):
    rows = runner.parameters(nb)
    assert {row["name"] for row in rows} == {p.name for p in runner.spec(nb)}
    undocumented = [row["name"] for row in rows if not row["doc"]]
    assert not undocumented, f"parameters without a comment: {undocumented}"


@pytest.mark.parametrize("nb", PAPERS, ids=lambda p: p.stem)
def test_a_paper_notebook_has_a_paper_preset(nb):
    assert "paper" in runner.presets(nb)


@pytest.mark.parametrize("nb, preset", [(nb, name) for nb in NOTEBOOKS for name in runner.presets(nb)],
                         ids=lambda x: x if isinstance(x, str) else x.stem)
def test_every_preset_passes_the_notebooks_validation(nb, preset):
    defaults = {row["name"]: ast.literal_eval(row["default"]) for row in runner.parameters(nb)}
    values = validate({**defaults, **runner.load_preset(nb, preset)}, runner.spec(nb))
    check = runner.check(nb)
    if check:
        check(SimpleNamespace(**values))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_ends_with_an_explore_widget_that_nbval_does_not_compare(nb):
    cells = _cells(nb)
    headings = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
                and "".join(c["source"]).lstrip().startswith("## Explore")]
    assert headings, "no '## Explore' section"
    code = [c for c in cells[headings[-1]:] if c["cell_type"] == "code"]
    assert code and "nbval-ignore-output" in code[-1]["metadata"].get("tags", [])
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in code[-1]["outputs"])


@pytest.mark.parametrize("nb", PAPERS, ids=lambda p: p.stem)
def test_a_paper_notebook_imports_its_package_as_paper_and_nothing_else_of_the_library(nb):
    source = "\n".join("".join(c["source"]) for c in _cells(nb) if c["cell_type"] == "code")
    imports = [node for node in ast.walk(ast.parse(source)) if isinstance(node, (ast.Import, ast.ImportFrom))]
    library = [(n.module, [(a.name, a.asname) for a in n.names]) for n in imports
               if isinstance(n, ast.ImportFrom) and n.module.startswith("companion")]
    module = nb.stem.split("_", 1)[1]
    assert ("companion.experiments", [(module, "paper")]) in library
    assert {m for m, _ in library} == {"companion.experiments", "companion.notebook"}
    assert not [n for n in imports if isinstance(n, ast.Import) and any(a.name.startswith("companion") for a in n.names)]
