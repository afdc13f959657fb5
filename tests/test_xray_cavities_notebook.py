"""The X-ray cavities notebook end to end, asserting on what it recorded; its parameters and its committed model."""

import importlib
from types import SimpleNamespace

import pandas as pd
import pytest
from companion import paths, runner
from companion.claims import evaluate
from companion.experiments import xray_cavities as paper
from companion.experiments.xray_cavities import model as xmodel
from companion.experiments.xray_cavities.claims import LEVELS
from companion.io import sha256
from companion.params import ParameterError
from conftest import run_notebook, stopped_by_validation

NB = runner.find("02_xray_cavities")

# A retraining small enough for a test: the same code path as the committed model's command.
SMALL = {"retrain": True, "widths": [4, 8], "n_train": 32, "train_steps": 4, "batch_size": 4, "decoder_steps": 3,
         "counts": [3000, 30000], "n_test": 8, "n_calibration": 4, "n_stability": 2, "n_realisations": 3}


@pytest.mark.slow
def test_default_run_records_every_measurement_and_claim(default_record):
    record = default_record
    params = record["parameters"]
    assert params["retrain"] is False and params["device"] in ("cpu", "cuda")
    levels = params["counts"]
    assert len(record["metrics"]) == 3 * len(levels)
    for row in record["metrics"]:
        assert 0 <= row["iou"] <= 1 and 0 <= row["recall"] <= 1 and row["method"] in paper.METHODS
    assert record["projection"] and max(r["max_rel_err"] for r in record["projection"]) < 0.01
    assert {r["method"] for r in record["thresholds"]} == set(paper.METHODS)
    assert {r["method"] for r in record["speed"]} == set(paper.METHODS)
    claims = record["claims"]
    at = [LEVELS.index(level) for level in levels]  # the default levels all have claims
    assert [c["id"] for c in claims] == (["S1", "C1"] + [f"C2{'abcde'[i]}" for i in at] + ["C3"]
                                         + [f"C4{'abcde'[i]}" for i in at] + [f"C4{'fghij'[i]}" for i in at]
                                         + [f"C5{'abcde'[i]}" for i in at])
    assert all(c["verdict"] in ("holds", "fails", "undecided") for c in claims)
    assert [r["counts"] for r in record["margins"]] == levels
    assert all(r["detection_lo"] <= r["detection"] <= r["detection_hi"] for r in record["margins"])
    instrument = record["instrument"]  # four conditions, three methods, at every level
    assert len(instrument) == 12 * len(levels) and {r["counts"] for r in instrument} == set(levels)
    assert [c["kind"] for c in claims[:2]] == ["sanity", "sanity"]
    assert claims[0]["verdict"] == claims[1]["verdict"] == "holds"  # the simulator checks


@pytest.mark.slow
def test_the_cnn_map_beats_the_baselines_at_the_highest_count_level(default_record):
    # the recorded numbers, not the claims' wording: IoU of the CNN above both baselines at 30k counts
    record = default_record
    top = max(record["parameters"]["counts"])
    iou = {r["method"]: r["iou"] for r in record["metrics"] if r["counts"] == top}
    assert iou["cnn"] > max(iou["beta-fit"], iou["unsharp"])


@pytest.mark.slow
def test_the_notebook_retrains_at_reduced_size(tmp_path):
    record = run_notebook(NB, tmp_path, params=SMALL)
    steps = [r["step"] for r in record["training"] if r["net"] == "segmenter"]
    assert steps == [0, SMALL["train_steps"] - 1]  # logged at the first and last step
    # (four steps find no candidates, so the decoder may get no examples: only the segmenter is asserted on)
    assert len(record["metrics"]) == 3 * len(SMALL["counts"])


@pytest.mark.slow
def test_the_paper_preset_runs_on_the_cpu_at_reduced_size(tmp_path):
    # the preset's network, image size and minimum area, at its highest count level; everything else as small as
    # allowed (the Inception-style net at 128 px takes seconds per image on a CPU)
    small = {"n_train": 16, "train_steps": 1, "batch_size": 1, "decoder_steps": 1, "n_test": 4, "n_calibration": 4,
             "n_stability": 1, "n_realisations": 3, "n_boot": 100, "counts": [100000], "device": "cpu"}
    record = run_notebook(NB, tmp_path, preset="paper", params=small)
    params = record["parameters"]
    assert (params["architecture"], params["image_size"], params["min_area"]) == ("inception", 128, 20)
    assert len(record["metrics"]) == 3 * len(small["counts"]) and len(record["instrument"]) == 12


@pytest.mark.slow
@pytest.mark.parametrize("name, value, words", [
    ("train_steps", "10", ["committed model was trained with", "train_steps = 3000", "retrain = True"]),
    ("threshold", "1.5", ["parameter 'threshold' = 1.5 is not allowed", "0.01 <= threshold <= 0.99"]),
    ("architecture", "'resnet'", ["parameter 'architecture'", "'unet', 'inception'"]),
    ("n_boot", "10", ["parameter 'n_boot' = 10 is not allowed", "100 <= n_boot"]),
])
def test_bad_parameters_stop_in_the_validation_cell(tmp_path, name, value, words):
    stderr = stopped_by_validation(NB, tmp_path, name, value)
    for word in words:
        assert word in stderr


def _p(**changes):
    base = dict(retrain=False, **paper.TRAINED, counts=[1000.0, 3000.0], n_test=8, n_calibration=4, n_stability=2,
                n_realisations=3, threshold=0.5, min_area=5, fit_iterations=20, n_boot=100, point_sources=False,
                psf=False, seed=0, device="cpu")
    return SimpleNamespace(**{**base, **changes})


def _claim_inputs(level=1000.0):
    """Hand-made tables of one count level: the CNN best in IoU and detection (intervals above zero), paired with
    the beta-model residual on 6 cavities (radius better, scatter worse) and with the unsharp mask on 2 (too few
    to compare)."""
    projection = pd.DataFrame({"max_rel_err": [1e-5, 3e-5]})
    sweep = pd.DataFrame({"vary": ["radius"] * 3 + ["distance"] * 3, "radius": [2, 4, 8, 4, 4, 4],
                          "distance": [12, 12, 12, 6, 12, 24], "deficit": [0.1, 0.3, 0.5, 0.4, 0.3, 0.1]})
    metrics = pd.DataFrame({"counts": level, "method": list(paper.METHODS), "iou": [0.3, 0.1, 0.05],
                            "tpr": [0.8, 0.6, 0.9], "fpr": [0.2, 0.3, 0.6]})
    margins = pd.DataFrame({"counts": [level], "iou": [0.2], "iou_lo": [0.1], "iou_hi": [0.3], "detection": [0.3],
                            "detection_lo": [-0.05], "detection_hi": [0.5]})
    pairs = {"counts": level, "baseline": ["beta-fit", "unsharp"], "pairs": [6, 2]}
    rpairs = pd.DataFrame({**pairs, "cnn_err": [0.1, 0.1], "baseline_err": [0.2, 0.05], "diff": [-0.1, 0.05],
                           "lo": [-0.15, 0.0], "hi": [-0.05, 0.1]})
    spairs = pd.DataFrame({**pairs, "cnn_scatter": [0.08, 0.2], "baseline_scatter": [0.05, 0.3], "diff": [0.03, -0.1],
                           "lo": [0.01, -0.2], "hi": [0.06, 0.0]})
    gain = pd.DataFrame({"counts": [level], "n": [10], "decoder_err": [0.2], "area_err": [0.3], "diff": [-0.1],
                         "lo": [-0.15], "hi": [-0.05]})
    return projection, sweep, metrics, margins, rpairs, spairs, gain


def test_claim_values_are_the_recorded_comparisons():
    values = paper.claim_values(_p(counts=[1000.0]), *_claim_inputs())
    assert values["projection_max_rel_err"] == 3e-5 and values["projection_clusters"] == 2
    assert values["deficit_smallest_step_with_radius"] == pytest.approx(0.2)
    assert values["deficit_largest_step_with_distance"] == pytest.approx(-0.1)
    assert (values["iou_cnn_1000"], values["iou_margin_1000"], values["iou_margin_1000_lo"]) == (0.3, 0.2, 0.1)
    assert (values["detection_margin_1000_lo"], values["detection_margin_1000_hi"]) == (-0.05, 0.5)
    assert (values["radius_err_diff_beta_fit_1000"], values["radius_err_diff_beta_fit_1000_hi"]) == (-0.1, -0.05)
    assert values["scatter_pairs_unsharp_1000"] == 2 and values["decoder_minus_area_err_max"] == pytest.approx(-0.1)
    assert values["scatter_text_1000"] == ("cnn 0.080 vs beta-fit 0.050, difference +0.030 [+0.010, +0.060] (n=6); "
                                           "unsharp: 2 common cavities, too few")
    rows = {r["id"]: r for r in evaluate(paper.CLAIMS, values)}
    assert list(rows) == ["S1", "C1", "C2a", "C3", "C4a", "C4f", "C5a"]  # one level: the others are not measured
    assert {i: r["verdict"] for i, r in rows.items() if r["verdict"] != "holds"} == {"C4a": "undecided",
                                                                                     "C5a": "fails"}
    assert rows["C4a"]["measured"] == ("cnn 0.80 - 0.20, beta-fit 0.60 - 0.30, unsharp 0.90 - 0.60; "
                                       "margin 0.30 [-0.05, 0.50]")
    assert rows["C1"]["measured"] == "deficit 0.10 -> 0.50 for R 2-8 px; 0.40 -> 0.10 for d 6-24 px"
    nothing = _claim_inputs()[:6] + (pd.DataFrame(columns=["counts", "n", "decoder_err", "area_err", "diff", "lo",
                                                           "hi"]),)
    values = paper.claim_values(_p(counts=[1000.0]), *nothing)  # the CNN found no cavity: C3 is not decided
    assert values["decoder_minus_area_err_max"] is None
    assert {r["id"]: r["verdict"] for r in evaluate(paper.CLAIMS, values)}["C3"] == "undecided"


def test_check_refuses_settings_the_committed_model_was_not_trained_with():
    paper.check(_p())
    with pytest.raises(ParameterError, match="retrain = True"):
        paper.check(_p(train_steps=10))
    paper.check(_p(train_steps=10, retrain=True))
    with pytest.raises(ParameterError, match="divisible"):
        paper.check(_p(image_size=66, retrain=True))
    with pytest.raises(ParameterError, match="repeats"):
        paper.check(_p(counts=[1000.0, 1000.0]))


def test_the_committed_model_loads_and_its_checksum_is_enforced(tmp_path):
    model = paper.load_committed()
    counts = paper.parameter_counts(model)
    assert counts == (117_073, 39_201) and sum(counts) == 156_274 and not model.training  # as the README says
    bad = tmp_path / "model.pt"
    bad.write_bytes((paths.models() / xmodel.COMMITTED.file).read_bytes()[:-1] + b"x")
    with pytest.raises(ValueError, match="sha256"):
        paper.load_committed(bad)
    with pytest.raises(FileNotFoundError, match="companion model train xray_cavities_unet"):
        paper.load_committed(tmp_path / "missing.pt")


def test_the_committed_models_trainer_is_train_committed():
    module, function = xmodel.COMMITTED.trainer.split(":")
    assert getattr(importlib.import_module(module), function) is xmodel.train_committed


def test_the_notebook_defaults_are_the_committed_models_settings():
    defaults = {row["name"]: row["default"] for row in runner.parameters(NB)}
    for key, value in paper.TRAINED.items():
        assert defaults[key] == (f'"{value}"' if isinstance(value, str) else str(value)), key
    assert defaults["retrain"] == "False"


def test_the_readme_gives_the_command_and_checksum_of_the_committed_model():
    text = (paths.models() / "README.md").read_text()
    assert "companion model train xray_cavities_unet" in text and xmodel.COMMITTED.sha256 in text
    assert sha256(paths.models() / xmodel.COMMITTED.file) == xmodel.COMMITTED.sha256
    assert (paths.models() / xmodel.COMMITTED.file).stat().st_size < 2 * 1024 ** 2
