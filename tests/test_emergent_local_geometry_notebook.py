"""Notebook 08 end to end, asserting on what it recorded; the paper preset checked without a GPU."""

import ast
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from companion import runner
from companion.experiments import emergent_local_geometry as el
from companion.params import COMMON, validate
from conftest import run_notebook, stopped_by_validation

NB = runner.find("08_emergent_local_geometry")
FASHION = Path("/usr/share/datasets/fashion-mnist")
CLAIMS = ["P1", "P2", "P3", "P4", "M1", "M2", "M3", "M4", "M5"]


@pytest.mark.slow
def test_default_run_records_every_measurement_and_claim(default_record):
    record = default_record
    p = record["parameters"]
    assert p["dataset"] == "digits" and p["class_counts"] == [2, 5, 10]
    assert [c["id"] for c in record["claims"]] == CLAIMS
    assert all(c["verdict"] in ("holds", "fails", "undecided") for c in record["claims"])
    assert [c["kind"] for c in record["claims"]] == ["paper"] * 4 + ["mechanism"] * 4 + ["sanity"]
    outliers = record["outliers"]
    assert {(r["C"], r["matrix"]) for r in outliers} == {(C, m) for C in p["class_counts"] for m in ("H", "G")}
    for r in outliers:
        assert 0 <= r["outliers"] <= 2 * r["C"] and r["edge"] > 0
    tops = {C: [r["eigenvalue"] for r in record["top_eigenvalues"] if r["C"] == C and r["matrix"] == "H"]
            for C in p["class_counts"]}
    assert all(len(v) == 4 * C + 1 and v == sorted(v, reverse=True) for C, v in tops.items())


@pytest.mark.slow
def test_recorded_numbers_are_consistent_with_each_other(default_record):
    record = default_record
    dyn = record["dynamics"]
    assert dyn[0]["step"] == 0 and [r["step"] for r in dyn] == sorted({r["step"] for r in dyn})
    for r in dyn:
        assert 0 <= r["confined"] <= 1 and 0 <= r["in_means_span"] <= 1 and 0 <= r["alignment"] <= 1
        assert r["lambda_max"] >= r["lambda_C"] > 0 and r["chance"] == pytest.approx(10 / 3466)
        assert 0 <= r["trace_Mbar"] <= 0.9 + 1e-12  # 1 - 1/C at most
    params = record["parameters"]
    assert len(record["hyperplane"]) == len(params["hyper_scales"]) * params["hyper_repeats"]
    assert len(record["hyperplane_means"]) == len(params["hyper_scales"])
    assert set(record["zone_scales"]) <= set(record["parameters"]["hyper_scales"])
    for stage in record["clustering"]:
        assert -1 <= stage["other logit, other class"] <= stage["same logit"] <= 1
    summary = record["model_summary"]
    assert summary["dim"] == 3466 and summary["n_examples"] == 300
    # two estimators of the same trace agree within their combined standard errors
    diff = abs(summary["trace_hutchpp"] - summary["trace_slq"])
    assert diff <= 3 * (summary["trace_hutchpp_se"] ** 2 + summary["trace_slq_se"] ** 2) ** 0.5
    model = {r["matrix"]: r for r in record["model_spectrum"]}
    assert model["signal"]["outliers"] <= 9  # the signal has rank <= C - 1


@pytest.mark.slow
@pytest.mark.parametrize("name, value, words", [
    ("class_counts", "[5, 2]", ["'class_counts'", "increasing"]),
    ("lanczos_steps", "10", ["'lanczos_steps' = 10", "lanczos_steps >= 41"]),
    ("widths", "[0]", ["parameter 'widths' = [0] is not allowed"]),
])
def test_bad_parameters_stop_in_the_validation_cell(tmp_path, name, value, words):
    stderr = stopped_by_validation(NB, tmp_path, name, value)
    for word in words:
        assert word in stderr


def test_the_paper_preset_is_valid_and_sized_for_a_gpu():
    preset = runner.load_preset(NB, "paper")
    defaults = {row["name"]: ast.literal_eval(row["default"]) for row in runner.parameters(NB)}
    values = validate({**defaults, **preset}, (*COMMON, *el.PARAMETERS))
    el.check(SimpleNamespace(**values))
    assert values["dataset"] in ("fashion-mnist", "cifar10") and values["n_train"] >= 10000
    assert values["widths"] == [200, 200] and values["device"] == "auto"


def test_every_spec_parameter_is_in_the_notebook():
    assert {row["name"] for row in runner.parameters(NB)} == {p.name for p in runner.spec(NB)}


SMALL = dict(n_train=300, n_test=100, class_counts=[2, 10], epochs=4, batch_size=30, n_checkpoints=4, lanczos_steps=41,
             slq_probes=2, n_cosine=5, model_examples=50, hyper_dim=20, hyper_steps=20, hyper_repeats=1,
             memory_budget_mb=256.0)


@pytest.mark.slow
@pytest.mark.parametrize("change", [
    dict(widths=[16, 16]),  # the preset's own data and MLP (784 inputs), narrower
    dict(dataset="standin-cifar10", model="cnn", channels=[4, 8, 8], n_train=200, n_test=50),  # its CIFAR-10 variant
])
def test_the_paper_preset_runs_end_to_end_at_a_small_size(tmp_path, change):
    if "dataset" not in change and not FASHION.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must install the Debian package dataset-fashion-mnist (.ci/run does)")
        pytest.skip("dataset-fashion-mnist is not installed")
    record = run_notebook(NB, tmp_path, preset="paper", params={**SMALL, **change})
    params = record["parameters"]
    assert params["dataset"] == change.get("dataset", "fashion-mnist") and params["model"] == change.get("model", "mlp")
    assert [c["id"] for c in record["claims"]] == CLAIMS
    assert record["model_summary"]["n_examples"] == 50
