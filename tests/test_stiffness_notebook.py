"""The stiffness notebook end to end: the default run and the ci preset, asserting on what they recorded."""

import itertools
import math
import os
from pathlib import Path

import pytest
from companion import runner
from conftest import run_notebook

NB = runner.find("06_stiffness")
FASHION = Path("/usr/share/datasets/fashion-mnist")
CLAIMS = ["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C9"]


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory):
    if not FASHION.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must install the Debian package dataset-fashion-mnist (.ci/run does)")
        pytest.skip("dataset-fashion-mnist is not installed")
    return run_notebook(NB, tmp_path_factory.mktemp("ci"), preset="ci")


def _claim_prefixes(record):
    return sorted({c["claim"][:2] for c in record["claims"]})


def _per_seed(record, prefix):
    return [c for c in record["claims"] if c["claim"].startswith(prefix)]


def _check_record(record):
    """What every run must record, whatever its dataset: consistent numbers in their ranges, one claim row per seed."""
    p = record["parameters"]
    n_runs, n_points = len(p["lrs"]) * p["n_seeds"], p["n_checkpoints"] + 1
    assert len(record["curves"]) == n_runs * n_points * 3 * 2  # runs x checkpoints x pair sets x kinds
    for row in record["curves"]:
        assert -1 <= row["between"] <= 1 and -1 <= row["within"] <= 1
    init = [r for r in record["curves"] if r["step"] == 0 and r["kind"] == "cos" and r["pairs"] == "train-test"]
    assert all(r["within"] > r["between"] for r in init)  # even at init the softmax makes classes differ
    assert len(record["xi"]) == n_runs * n_points
    assert len(record["xi_vs_lr"]) == n_runs
    for prefix in ("C1", "C2", "C3", "C4", "C5"):
        assert [c["claim"][-7:-1] for c in _per_seed(record, prefix)] == [f"seed {s}" for s in range(p["n_seeds"])]
    assert all(isinstance(c["holds"], bool) for c in record["claims"])
    # the C4 row states exactly the recorded xi at matched epoch
    for s in range(p["n_seeds"]):
        rows = sorted((r for r in record["xi_vs_lr"] if r["seed"] == s), key=lambda r: r["lr"])
        text = _per_seed(record, "C4")[s]["measured"]
        assert text.endswith(" / ".join("inf" if math.isinf(r["xi_epoch"]) else f"{r['xi_epoch']:.3f}" for r in rows))
        assert _per_seed(record, "C4")[s]["holds"] == all(a["xi_epoch"] > b["xi_epoch"] for a, b in itertools.pairwise(rows))


@pytest.mark.slow
def test_default_run_records_every_measurement_and_claim(default_record):
    record = default_record
    assert record["parameters"]["dataset"] == "digits"
    assert _claim_prefixes(record) == CLAIMS  # digits has no super-classes: no C8
    _check_record(record)


@pytest.mark.slow
def test_default_run_claims_as_measured(default_record):
    """Stiff within classes, anti-stiff between them after training; a finite critical length that shrinks."""
    record = default_record
    holds = {c["claim"][:2]: [] for c in record["claims"]}
    for c in record["claims"]:
        holds[c["claim"][:2]].append(c["holds"])
    assert all(holds["C1"]) and all(holds["C3"])  # robust at this scale; the rest is reported, not pinned
    for row in record["curves"]:
        if row["step"] == max(r["step"] for r in record["curves"]) and row["kind"] == "cos":
            assert row["within"] > 0.5 and row["between"] < 0  # trained: stiff within, anti-stiff between


@pytest.mark.slow
def test_ci_preset_on_fashion_mnist_records_claims_with_super_classes(ci_run):
    record = ci_run
    assert record["parameters"]["dataset"] == "fashion-mnist"
    assert _claim_prefixes(record) == sorted(CLAIMS + ["C8"])  # tops and footwear: C8 is measured
    _check_record(record)
    assert all(c["holds"] for c in _per_seed(record, "C1"))
    losses = [r["train_loss"] for r in record["history"] if r["step"] == 0]
    assert losses == pytest.approx([2.3026] * len(losses), abs=0.1)  # near ln 10 at init: 10 real classes
