"""The stiffness notebook end to end: the default run and the ci preset, asserting on what they recorded."""

import math
import os
from pathlib import Path

import pandas as pd
import pytest
from companion import runner
from companion.experiments import stiffness as paper
from conftest import run_notebook

NB = runner.find("06_stiffness")
FASHION = Path("/usr/share/datasets/fashion-mnist")
# v1 first, then the ICLR 2020 submission; C8 (super-classes) comes after C7 where the dataset has them
CLAIMS = ["C1", "C2", "C3a", "C10a", "C10b", "C11a", "C11b", "C7", "C9", "C3b", "C4", "C5", "C6"]
WITH_C8 = CLAIMS[:8] + ["C8"] + CLAIMS[8:]


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory):
    if not FASHION.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must install the Debian package dataset-fashion-mnist (.ci/run does)")
        pytest.skip("dataset-fashion-mnist is not installed")
    return run_notebook(NB, tmp_path_factory.mktemp("ci"), preset="ci")


def _ids(record):
    return [c["id"] for c in record["claims"]]


def _row(record, cid):
    return next(c for c in record["claims"] if c["id"] == cid)


def _check_record(record):
    """What every run must record, whatever its dataset: consistent numbers in their ranges, one row per claim
    over all seeds, each row decided from its recorded values as its rule says."""
    p = record["parameters"]
    n_runs, n_points = len(p["lrs"]) * p["n_seeds"], p["n_checkpoints"] + 1
    assert len(record["curves"]) == n_runs * n_points * 3 * 2  # runs x checkpoints x pair sets x kinds
    for row in record["curves"]:
        assert -1 <= row["between"] <= 1 and -1 <= row["within"] <= 1
    init = [r for r in record["curves"] if r["step"] == 0 and r["kind"] == "cos" and r["pairs"] == "train-test"]
    assert all(r["within"] > r["between"] for r in init)  # even at init the softmax makes classes differ
    assert len(record["xi"]) == n_runs * n_points
    assert len(record["xi_vs_lr"]) == n_runs and len(record["early"]) == n_runs
    assert all(c["verdict"] in ("holds", "fails", "undecided") and not c["timed"] for c in record["claims"])
    claims = {c.id: c for c in paper.CLAIMS}
    for row in record["claims"]:
        assert claims[row["id"]].rule(row["values"]) == row["verdict"]
    # the C4 row states exactly the recorded xi at matched epoch, seed by seed, and holds only if every seed decreases
    per_seed = [sorted((r for r in record["xi_vs_lr"] if r["seed"] == s), key=lambda r: r["lr"])
                for s in range(p["n_seeds"])]
    text = _row(record, "C4")["measured"]
    assert text.endswith("; ".join(" / ".join("inf" if math.isinf(r["xi_epoch"]) else f"{r['xi_epoch']:.3f}"
                                              for r in rows) for rows in per_seed))
    slopes = paper.lr_slopes(pd.DataFrame(record["xi_vs_lr"]), "xi_epoch")
    assert record["values"]["xi_epoch_lr_slope_mean"] == pytest.approx(sum(slopes) / len(slopes), nan_ok=True)
    # C4 (ICLR) and C11b (v1) read the same slope in opposite directions: they never both hold
    assert "holds" not in {_row(record, "C4")["verdict"]} & {_row(record, "C11b")["verdict"]}


@pytest.mark.slow
def test_default_run_records_every_measurement_and_claim(default_record):
    record = default_record
    assert record["parameters"]["dataset"] == "digits"
    assert _ids(record) == CLAIMS  # digits has no super-classes: no C8
    _check_record(record)


@pytest.mark.slow
def test_default_run_claims_as_measured(default_record):
    """Stiff within classes, anti-stiff between them after training; a finite critical length that shrinks."""
    record = default_record
    assert [_row(record, c)["verdict"] for c in ("C1", "C3a", "C3b")] == ["holds"] * 3  # robust at this scale
    assert _row(record, "C1")["kind"] == "sanity"  # it holds at init already
    assert record["values"]["cos_within_minus_between_init_min"] > 0
    for row in record["curves"]:
        if row["step"] == max(r["step"] for r in record["curves"]) and row["kind"] == "cos":
            assert row["within"] > 0.5 and row["between"] < 0  # trained: stiff within, anti-stiff between


@pytest.mark.slow
def test_ci_preset_on_fashion_mnist_records_claims_with_super_classes(ci_run):
    record = ci_run
    assert record["parameters"]["dataset"] == "fashion-mnist"
    assert _ids(record) == WITH_C8  # tops and footwear: C8 is measured
    _check_record(record)
    assert _row(record, "C1")["verdict"] == "holds"
    losses = [r["train_loss"] for r in record["history"] if r["step"] == 0]
    assert losses == pytest.approx([2.3026] * len(losses), abs=0.1)  # near ln 10 at init: 10 real classes


@pytest.mark.slow
def test_the_paper_preset_runs_on_a_cifar100_stand_in(tmp_path):
    """The paper preset's path (a CNN on 3x32x32 inputs with 100 classes in 20 super-classes), at a reduced size."""
    small = dict(dataset="standin-cifar100", n_train=400, n_test=200, n_probe=200, channels=[4, 8], batch_size=50,
                 epochs=2, n_checkpoints=3, n_seeds=2, n_bins=5, memory_budget_mb=256.0)
    record = run_notebook(NB, tmp_path, preset="paper", params=small)
    assert record["parameters"]["model"] == "cnn" and record["parameters"]["lrs"] == [0.01, 0.03, 0.1]
    assert _ids(record) == WITH_C8
    _check_record(record)
