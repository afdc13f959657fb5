"""The companion command's data verbs, run as a user runs them."""

import subprocess
import sys

import pytest

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
