"""The large-scale-structure notebook (07) end to end, asserting on what it recorded."""

import ast
from types import SimpleNamespace

import pytest
import yaml

from companion import runner
from companion.experiments import large_scale_structure as lss
from companion.params import validate
from conftest import run_notebook, stopped_by_validation

NB = runner.find("07_large_scale_structure")


@pytest.mark.slow
def test_default_run_records_every_measurement_and_every_claim_over_its_seeds(default_record):
    record = default_record
    params = record["parameters"]
    assert params["dataset"] == "digits" and params["n_seeds"] >= 2 and params["n_solutions"] >= 3
    claims = record["claims"]
    assert [c["id"] for c in claims] == [c.id for c in lss.CLAIMS]  # the simplicial connector too (k = 2)
    assert all(c["verdict"] in ("holds", "fails", "undecided") for c in claims)
    assert {c["id"] for c in claims if c["kind"] == "sanity"} == {"C1t", "C2t", "C4t", "C5t"}
    values = record["values"]
    assert values["n_seeds"] == params["n_seeds"]
    counts = [n for c in claims if c["kind"] != "sanity"
              for n in c["values"] if n.endswith("_seeds") and n != "n_seeds"]
    assert len(counts) == 8 and all(0 <= values[name] <= params["n_seeds"] for name in counts)
    assert all(f"seed {s}:" in values["d90_text"] for s in range(params["n_seeds"]))


@pytest.mark.slow
def test_subspace_offsets_sit_at_the_scaled_radii_and_the_toy_tunnel_threshold_is_n(default_record):
    record = default_record
    params = record["parameters"]
    for s in range(params["n_seeds"]):
        rows = {r["scale"]: r["radius"] for r in record["d90"] if r["seed"] == s}
        assert sorted(rows) == sorted(params["scales"])
        for scale, radius in rows.items():
            assert radius == pytest.approx(scale * rows[1.0], rel=1e-6)
    tunnel = [r["d_star"] for r in record["toy_thresholds"] if r["model"].startswith("tunnel")]
    assert tunnel == [params["toy_short"]] * (params["n_seeds"] * len(params["toy_radii"]))
    whole = [r for r in record["toy_thresholds"] if r["model"] == "wedge, whole plane"]
    assert all(r["d_star"] < params["toy_short"] for r in whole)  # a widening wedge is reached below n


@pytest.mark.slow
def test_knob_runs_are_compared_at_matched_loss(default_record):
    record = default_record
    params = record["parameters"]
    runs = record["knobs"]
    assert len(runs) == params["n_seeds"] * (len(params["lrs"]) + len(params["width_factors"]) + len(params["l2s"]))
    assert all(r["reached"] and r["train_loss"] <= params["target_loss"] for r in runs)
    assert all(r["lam_path"] > 0 and r["lam_end"] > 0 for r in runs)


@pytest.mark.slow
def test_connectors_start_at_the_solutions_and_are_judged_against_the_straight_lines(default_record):
    record = default_record
    params = record["parameters"]
    barriers = record["barriers"]
    pairs = params["n_solutions"] * (params["n_solutions"] - 1) // 2
    assert len(barriers) == 2 * pairs * params["n_seeds"]
    for s in range(params["n_seeds"]):
        mine = [b for b in barriers if b["seed"] == s]
        line = {b["pair"]: b for b in mine if b["kind"] == "straight line"}
        star = {b["pair"]: b for b in mine if b["kind"] == "star"}
        assert set(line) == set(star)
        for pair in line:  # the same two ends, so the same end loss
            assert star[pair]["end_loss"] == pytest.approx(line[pair]["end_loss"], rel=1e-6)
        conn = [c for c in record["connectors"] if c["seed"] == s]
        assert {c["faces"] for c in conn} == {params["n_solutions"]}
        assert all(c["end_loss"] == pytest.approx(max(b["end_loss"] for b in line.values()), rel=1e-6) for c in conn)
    toy = record["toy_connectivity"]
    assert [r["shared_dim"] for r in toy] == [max(-1, r["D_minus_m_n"]) for r in toy]


@pytest.mark.slow
def test_bad_parameters_stop_in_the_validation_cell(tmp_path):
    stderr = stopped_by_validation(NB, tmp_path, 'scales', '[0.5, 2.0]')
    assert 'including 1.0' in stderr


def test_the_paper_preset_is_valid_for_the_spec_and_its_constraints():
    values = {row["name"]: ast.literal_eval(row["default"]) for row in runner.parameters(NB)}
    values.update(yaml.safe_load((NB.parent / "presets" / f"{NB.stem}.paper.yaml").read_text()))
    validate(values, runner.spec(NB))
    lss.check(SimpleNamespace(**values))
    assert values["dataset"] == "cifar10" and values["model"] == "cnn" and values["n_seeds"] >= 3


def test_every_spec_parameter_is_in_the_notebook():
    declared = {row["name"] for row in runner.parameters(NB)}
    assert declared == {p.name for p in runner.spec(NB)}


@pytest.mark.slow
def test_the_paper_preset_runs_end_to_end_on_cifar10_shaped_data(tmp_path):
    # the paper preset (a CNN on 3 x 32 x 32 images, every study) at reduced size, on the CIFAR-10-shaped stand-in
    small = dict(dataset="standin-cifar10", n_train=100, n_test=50, widths=[2, 4], n_seeds=1, scales=[1.0, 2.0],
                 subspace_dims=[4, 8], subspace_steps=3, lrs=[0.025, 0.05], width_factors=[0.5, 1.0],
                 l2s=[0.0, 0.0001], batch_size=20, max_steps=10, checkpoint_every=5, lanczos_iters=3,
                 n_solutions=3, connector_steps=3, connector_batch=20, connector_points=3, snapshot_every=2,
                 toy_dim=200, toy_short=20, toy_radii=[0.5, 1.0], toy_dims=[5, 20])
    record = run_notebook(NB, tmp_path, preset="paper", params=small)
    assert record["parameters"]["model"] == "cnn" and record["parameters"]["dataset"] == "standin-cifar10"
    assert [c["id"] for c in record["claims"]] == [c.id for c in lss.CLAIMS]
