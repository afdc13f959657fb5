"""The Goldilocks notebook end to end, and through the CLI, asserting on what it recorded."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from companion import runner
from conftest import run_notebook, stopped_by_validation

NB = runner.find("03_goldilocks_zone")
FASHION = Path("/usr/share/datasets/fashion-mnist")


def _companion(*args, out):
    return subprocess.run([sys.executable, "-m", "companion.cli", *args, "--out", str(out)],
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_default_run_records_every_measurement_and_claim(default_record):
    record = default_record
    assert record["parameters"]["dataset"] == "digits"
    scales = record["parameters"]["scales"]
    assert len(record["curvature"]) == len(scales) * len(record["parameters"]["activations"])
    assert max(scales) / min(scales) >= 10  # at least a decade of radii
    for row in record["curvature"]:
        assert 0 <= row["frac_pos"] <= 1 and -1 <= row["gamma"] <= 1 and row["n"] == record["parameters"]["n_seeds"]
    assert {row["dim"] for row in record["hyperplane"]} == set(record["parameters"]["train_dims"])
    assert len(record["init_selection"]) == 3
    claims = record["claims"]
    assert [c["id"] for c in claims] == ["C1", "C2", "C3", "C5", "S1", "C6", "C7a", "C7b", "C7c", "C4"]
    assert all(c["verdict"] in ("holds", "fails", "undecided") for c in claims)
    assert [c["version"] for c in claims] == [""] * 9 + ["v2"]  # the followed abstract's claims first


@pytest.mark.slow
def test_the_radius_scales_with_the_init_scale(default_record):
    record = default_record
    relu = {row["scale"]: row["radius"] for row in record["curvature"] if row["activation"] == "relu"}
    for scale, radius in relu.items():
        assert radius == pytest.approx(scale * relu[1.0], rel=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("name, value, words", [
    ("seed", "-1", ["parameter 'seed' = -1 is not allowed", "0 <= seed <= 2147483647"]),
    ("sed", "1", ["unknown parameter 'sed'", "known parameters:", "seed"]),
    ("scales", "[0.5, 2.0, 3.0]", ["'scales'", "including 1.0"]),
])
def test_bad_parameters_stop_in_the_validation_cell(tmp_path, name, value, words):
    stderr = stopped_by_validation(NB, tmp_path, name, value)
    for word in words:
        assert word in stderr


@pytest.mark.slow
def test_real_fashion_mnist_run_from_the_debian_package(tmp_path):
    if not FASHION.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must install the Debian package dataset-fashion-mnist (.ci/run does)")
        pytest.skip("dataset-fashion-mnist is not installed")
    proc = _companion("run", str(NB), "--preset", "ci", out=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads((tmp_path / f"{NB.stem}.record.json").read_text())
    assert record["parameters"]["dataset"] == "fashion-mnist"
    assert len(record["claims"]) >= 6
    losses = [row["loss"] for row in record["curvature"] if row["scale"] == min(record["parameters"]["scales"])]
    assert losses == pytest.approx([2.3026] * len(losses), abs=0.01)  # near ln 10 at small radius: 10 real classes


def test_cli_list_shows_every_parameter_with_default_range_and_doc():
    proc = subprocess.run([sys.executable, "-m", "companion.cli", "list"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert "03_goldilocks_zone" in proc.stdout and "paper" in proc.stdout
    for row in runner.parameters(NB):
        assert row["allowed"] != "(not in the spec)", row["name"]
        assert row["doc"], row["name"]
        assert row["name"] in proc.stdout
    assert "0 <= seed <= 2147483647" in proc.stdout


@pytest.mark.slow
def test_the_paper_preset_runs_end_to_end_on_mnist_shaped_data(tmp_path):
    # the paper preset (784-200-200-10, its every sweep) at reduced size, on the MNIST-shaped stand-in
    small = dict(dataset="standin-mnist", n_train=100, n_test=50, scales=[0.1, 1.0, 30.0], subspace_dim=4, n_seeds=2,
                 input_scales=[2.0], panel_seeds=2, train_scales=[1.0, 30.0], train_dims=[4], train_seeds=1,
                 train_steps=3, n_inits=10, n_groups=2, group_size=5, select_steps=3)
    record = run_notebook(NB, tmp_path, preset="paper", params=small)
    assert record["parameters"]["widths"] == [200, 200] and record["n_parameters"] == 784 * 200 + 200 * 200 + 2010 + 400
    assert {c["id"] for c in record["claims"]} == {"C1", "C2", "C3", "C5", "S1", "C6", "C7a", "C7b", "C7c", "C4"}
