"""The deep-ensembles notebook end to end, asserting on what it recorded."""


import pytest

from companion import runner
from conftest import stopped_by_validation
from companion.landscape import function_space as fs

NB = runner.find("09_deep_ensembles")
CLAIMS = ["C1", "C1", "C2", "C3", "C4", "C5", "C6", "C6", "C7", "C7"]


@pytest.mark.slow
def test_default_run_records_every_measurement_and_claim(default_record):
    record = default_record
    params = record["parameters"]
    assert params["dataset"] == "mnist1d" and params["device"] in ("cpu", "cuda")
    assert len(record["runs"]) == params["n_runs"]
    assert [c["claim"][:2] for c in record["claims"]] == CLAIMS
    assert all(isinstance(c["holds"], bool) for c in record["claims"])


@pytest.mark.slow
def test_independent_runs_are_orthogonal_and_disagree_more_than_one_trajectory(default_record):
    record = default_record
    geometry = {row["pairs"]: row for row in record["geometry"]}
    across = geometry.pop("independent runs")
    assert max(abs(across["cos_min"]), abs(across["cos_max"])) < 0.1
    assert all(row["cos_min"] > 0.9 for row in geometry.values())
    assert across["dis_min"] > max(row["dis_max"] for row in geometry.values())
    assert record["tsne_same_run_neighbour"] >= 0.9


@pytest.mark.slow
def test_the_plane_uses_the_base_run_and_the_analytic_curves(default_record):
    record = default_record
    plane = record["plane"]
    base = [row for row in plane if row["method"] == "independent" and row["sample"] == 0][0]
    assert base["disagreement"] == 0.0 and base["diversity"] == 0.0
    ref = record["runs"][0]["test_acc"]
    assert base["accuracy"] == pytest.approx(ref)
    for row in plane:  # the recorded position is the one the analytic curves give
        if row["position"] is not None and row["accuracy"] > 0.2:
            assert row["position"] == pytest.approx(
                float(fs.curve_position(row["accuracy"], row["disagreement"], ref, 10)), abs=1e-9)
    counts = {m: sum(r["method"] == m for r in plane) for m in ("diag", "pca", "random", "dropout")}
    assert set(counts.values()) == {record["parameters"]["plane_samples"]}
    summary = {row["method"]: row for row in record["plane_summary"]}
    assert all(summary["independent"]["diversity_mean"] > summary[m]["diversity_mean"] for m in counts)


@pytest.mark.slow
def test_ensembles_of_runs_beat_subspace_samples_and_gain_with_size(default_record):
    record = default_record
    k = record["parameters"]["n_runs"]
    rows = {(r["method"], r["kind"], r["size"]): r for r in record["ensembles"]}
    ind = [rows[("independent", "independent", s)] for s in range(1, k + 1)]
    assert ind[-1]["accuracy"] > ind[0]["accuracy"] and ind[-1]["brier"] < ind[0]["brier"]
    assert [r["subsets"] for r in ind] == [5, 10, 10, 5, 1]  # all k-subsets of 5 runs
    for method in ("diag", "pca", "random", "dropout"):
        sub = rows[(method, "subspace", k)]
        assert ind[-1]["accuracy"] > sub["accuracy"] and ind[-1]["brier"] < sub["brier"]


@pytest.mark.slow
def test_shift_lowers_accuracy_and_the_connector_is_low_loss_but_leaves_the_mode(default_record):
    record = default_record
    single = {(r["corruption"], r["severity"]): r["accuracy"] for r in record["shift"]
              if r["method"] == "independent" and r["size"] == 1}
    for kind in record["parameters"]["corruptions"]:
        accs = [single[("clean", 0)]] + [single[(kind, s)] for s in sorted(record["parameters"]["severities"])]
        assert accs == sorted(accs, reverse=True)
    path = record["connector"]
    conn = [r for r in path if r["kind"] == "connector"]
    line = [r for r in path if r["kind"] == "straight line"]
    assert len(conn) == len(line) == record["parameters"]["connector_points"]
    assert conn[0]["dis_a"] == 0.0 and conn[-1]["dis_b"] == 0.0
    assert max(r["train_loss"] for r in conn) < max(r["train_loss"] for r in line)
    mid = conn[len(conn) // 2]
    assert min(mid["dis_a"], mid["dis_b"]) > 0.2


@pytest.mark.slow
@pytest.mark.parametrize("name, value, words", [
    ("n_trajectories", "9", ["n_trajectories = 9 must be at most n_runs = 5"]),
    ("model", "'cnn'", ["'cnn' needs images", "mnist1d"]),
])
def test_bad_parameters_stop_before_any_training(tmp_path, name, value, words):
    stderr = stopped_by_validation(NB, tmp_path, name, value)
    for word in words:
        assert word in stderr
