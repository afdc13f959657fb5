"""The companion command, run as a user runs it: its data verbs, and how it reports a user's mistakes."""

import fcntl
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from companion import cli, runner
from companion.data import DATASETS
from test_data import DEBIAN_FASHION


def companion(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "companion.cli", *args], capture_output=True, text=True, **kwargs)


def test_data_list_names_every_dataset_and_where_it_is():
    proc = companion("data", "list")
    assert proc.returncode == 0
    rows = {line.split()[0]: line.split()[1:] for line in proc.stdout.splitlines()}
    assert set(rows) == set(DATASETS)
    assert rows["digits"][0] == "builtin" and rows["mnist1d"][0] == "generated"


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="Debian package dataset-fashion-mnist not installed")
def test_data_verify_checks_the_debian_files(tmp_path):
    proc = companion("data", "verify", "fashion-mnist", env={"PATH": "/usr/bin", "COMPANION_DATA": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("ok ") == 4


def test_data_verify_fails_on_a_corrupted_file(tmp_path):
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    proc = companion("data", "verify", "fashion-mnist", env={"PATH": "/usr/bin", "COMPANION_DATA": str(tmp_path)})
    assert proc.returncode == 1
    assert "FAIL" in proc.stdout and "train-labels-idx1-ubyte.gz" in proc.stdout


def test_fetch_without_a_name_says_what_to_name():
    proc = companion("data", "fetch")
    assert proc.returncode != 0 and "name a dataset" in proc.stderr


# A user's mistake: exit status 2 and one line on stderr that names it, as argparse reports a bad option.

FAST = Path(__file__).parent / "fixtures" / "00_fast.ipynb"


def refused(proc, *words):
    """Assert ``proc`` stopped with exit status 2 and one line ``companion: error: ...`` holding ``words``."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("companion: error: "), proc.stderr
    for word in words:
        assert word in lines[0]


def test_a_corrupted_dataset_file_is_a_user_error(tmp_path):
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz"):
        (folder / name).write_bytes(b"not gzip at all")
    proc = companion("data", "fetch", "fashion-mnist", env={"PATH": "/usr/bin", "COMPANION_DATA": str(tmp_path)})
    refused(proc, "train-images-idx3-ubyte.gz", "truncated or unreadable", "companion data fetch fashion-mnist")


@pytest.mark.parametrize("name, words", [("imagenet", ["'imagenet' is not a known dataset", "mnist"]),
                                         ("digits", ["there is nothing to fetch", "fashion-mnist"])])
def test_a_dataset_that_cannot_be_fetched_is_a_user_error(name, words):
    refused(companion("data", "fetch", name), *words)


def test_a_grid_that_is_not_yaml_names_the_file_and_the_line(tmp_path):
    grid = tmp_path / "grid.yaml"
    grid.write_text("grid:\n  x: [1, 2\n")
    refused(companion("sweep", str(FAST), "--grid", str(grid), "--out", str(tmp_path / "out")),
            f"--grid {grid} is not valid YAML", "expected ',' or ']'", "line 3")


def test_a_grid_of_the_wrong_shape_is_a_user_error(tmp_path):
    grid = tmp_path / "grid.yaml"
    grid.write_text("grid:\n  x: 1\n")
    refused(companion("sweep", str(FAST), "--grid", str(grid), "--out", str(tmp_path / "out")),
            "grid values must be non-empty lists", "x")


@pytest.mark.parametrize("value", ["fast", "{[]: 1}"])
def test_a_bad_sweep_value_names_the_point_and_the_parameter(tmp_path, value):
    proc = companion("sweep", str(FAST), "-p", "x", "1.0", value, "--out", str(tmp_path / "out"))
    refused(proc, "sweep point 2", f"parameter 'x' = {value!r} is not allowed: want float")
    assert not (tmp_path / "out").exists()


def test_a_bad_run_value_is_refused_before_the_notebook_runs(tmp_path):
    refused(companion("run", str(FAST), "-p", "x", "fast", "--out", str(tmp_path)),
            "parameter 'x' = 'fast' is not allowed: want float")
    assert not (tmp_path / "00_fast.record.json").exists()



def test_a_sweep_on_a_folder_another_sweep_holds_is_one_line(tmp_path):
    with open(tmp_path / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a running sweep holds it
        refused(companion("sweep", str(FAST), "-p", "x", "1.0", "--out", str(tmp_path)),
                f"sweep folder {tmp_path} is in use by another sweep")

@pytest.mark.parametrize("args, words", [
    (["run", "nosuch"], ["no notebook 'nosuch'; known: 01_gaussian_prototypical_networks"]),
    (["run", str(FAST), "--preset", "paper"], ["no preset 'paper' for 00_fast; known presets: none"]),
    (["sweep", "collect"], ["sweep collect: name the sweep folder"]),
    (["sweep", str(FAST), "-p", "x"], ["sweep: -p x needs at least one value"]),
])
def test_an_unknown_notebook_preset_or_a_missing_argument_is_one_line(tmp_path, args, words):
    refused(companion(*args, "--out", str(tmp_path)) if args[0] == "run" else companion(*args), *words)


def test_a_preset_that_is_not_yaml_names_the_preset_and_the_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "presets").mkdir()
    (tmp_path / "presets" / "00_fast.broken.yaml").write_text("x: 1\n\tsleep: 2\n")
    shutil.copy(FAST, tmp_path / FAST.name)
    assert cli.main(["run", str(tmp_path / FAST.name), "--preset", "broken", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == ("companion: error: preset 'broken' is not valid YAML: while scanning for the "
                                       "next token: found character '\\t' that cannot start any token at line 2, "
                                       "column 1\n")


def test_a_bug_keeps_its_traceback(monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(runner, "run", broken)
    with pytest.raises(KeyError, match="a bug"):
        cli.main(["run", str(FAST)])


def test_a_multi_line_message_becomes_one_line():
    assert cli.one_line("checksum mismatch for f:\n  expected a\n  actual   b\nDelete f.") == \
        "checksum mismatch for f: expected a; actual   b; Delete f."
