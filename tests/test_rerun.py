"""A notebook in a real kernel: Run All twice works, and a name papermill injects outside the spec is refused."""

import nbformat
import papermill
import pytest
from nbclient import NotebookClient
from papermill.exceptions import PapermillExecutionError

from companion import runner

# The cheapest paper notebook whose cells leave public literals in the kernel (about 15 s a run).
NB = runner.find("08_emergent_local_geometry")


def test_run_all_twice_in_one_kernel_succeeds(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_RECORD", str(tmp_path / "record.json"))
    nb = nbformat.read(NB, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=runner.CELL_TIMEOUT,
                            resources={"metadata": {"path": str(NB.parent)}})
    with client.setup_kernel():
        for _ in range(2):
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)  # raises CellExecutionError on the first failing cell
    assert (tmp_path / "record.json").exists()


def test_a_misspelt_parameter_given_to_papermill_directly_is_refused_by_start(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_RECORD", str(tmp_path / "record.json"))
    with pytest.raises(PapermillExecutionError) as err:
        papermill.execute_notebook(str(NB), str(tmp_path / "out.ipynb"), parameters={"sed": 1},
                                   cwd=str(NB.parent), progress_bar=False, kernel_name="python3")
    assert err.value.ename == "ParameterError" and "unknown parameter 'sed'" in err.value.evalue
    assert not (tmp_path / "record.json").exists()
