"""The deep-ensembles notebook end to end, asserting on what it recorded; its claim values on hand-made tables."""

import math
from types import SimpleNamespace

import pandas as pd
import pytest

from companion import runner
from companion.claims import evaluate
from companion.experiments import deep_ensembles as paper
from conftest import run_notebook, stopped_by_validation
from companion.landscape import function_space as fs

NB = runner.find("09_deep_ensembles")
CLAIMS = ["C1a", "C1b", "C2", "C8", "C3", "C4", "C6a", "C6b", "C7a", "C7b", "C5"]


@pytest.mark.slow
def test_default_run_records_every_measurement_and_claim(default_record):
    record = default_record
    params = record["parameters"]
    assert params["dataset"] == "mnist1d" and params["device"] in ("cpu", "cuda")
    assert len(record["runs"]) == params["n_runs"]
    assert [c["id"] for c in record["claims"]] == CLAIMS == [c.id for c in paper.CLAIMS]
    assert all(c["verdict"] in ("holds", "fails", "undecided") for c in record["claims"])
    assert [c["id"] for c in record["claims"] if c["kind"] == "sanity"] == ["C1a"]
    assert [c["id"] for c in record["claims"] if c["version"]] == ["C5"]


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


@pytest.mark.slow
def test_the_paper_preset_runs_end_to_end_on_cifar10_shaped_data(tmp_path):
    """The paper preset's CNN, raw 0-255 inputs and settings, at a small size on the CIFAR-10 stand-in (3x32x32)."""
    small = dict(dataset="standin-cifar10", n_train=200, n_val=40, n_test=50, channels=[4, 8, 8, 8], n_runs=3,
                 n_trajectories=2, epochs=4, lr_halving_epochs=2, collect_after=2, pca_rank=1, n_samples=2,
                 plane_samples=3, max_subsets=10, corruptions=["gaussian_noise"], severities=[1], shift_sizes=[2],
                 connector_steps=5, connector_points=3, batch_size=32)
    record = run_notebook(NB, tmp_path, preset="paper", params=small)
    params = record["parameters"]
    assert params["dataset"] == "standin-cifar10" and params["model"] == "cnn" and params["normalize"] == "none"
    assert [c["id"] for c in record["claims"]] == CLAIMS


def _claim_tables():
    """Hand-made tables of a 3-run study whose claim values are known exactly (methods: diag, pca, random, dropout)."""
    methods = ("diag", "pca", "random", "dropout")
    geo = pd.DataFrame([{"pairs": f"late checkpoints of run {i}", "cos_min": 0.95, "cos_max": 1.0, "dis_max": d}
                        for i, d in enumerate((0.05, 0.1, 0.08))]
                       + [{"pairs": "independent runs", "cos_min": -0.06, "cos_max": 0.03, "dis_mean": 0.3,
                           "dis_min": 0.2, "dis_max": 0.4, "dist_mean": 10.0}])
    plane = pd.DataFrame([{"method": m, "disagreement": d, "distance": x}
                          for m, d, x in (("trajectory", 0.5, 20), ("trajectory", 0.1, 3), ("trajectory", 0.05, 1),
                                          ("diag", 0.1, 6), ("diag", 0.15, 8), ("pca", 0.3, 9), ("random", 0.19, 4),
                                          ("random", 0.25, 9), ("dropout", 0.01, 1))])
    tsne = pd.DataFrame({"run": [0] * 5 + [1] * 5, "same_run_neighbour": [True] * 9 + [False]})
    plane_sum = pd.DataFrame([{"method": "independent", "matched": 2, "diversity_mean": 0.8, "position_mean": 0.5}]
                             + [{"method": m, "matched": 0 if m == "pca" else 5, "diversity_mean": x,
                                 "position_mean": 0.1} for m, x in zip(methods, (0.3, None, 0.2, 0.4))])
    curves = pd.DataFrame([{"method": "independent", "kind": "independent", "size": 3, "accuracy": 0.7, "brier": 0.4}]
                          + [{"method": m, "kind": k, "size": 3, "accuracy": a, "brier": b}
                             for m in methods for k, a, b in (("subspace", 0.6, 0.5), ("combined", 0.71, 0.39))])
    curves.loc[(curves.method == "dropout") & (curves.kind == "combined"), ["accuracy", "brier"]] = (0.69, 0.45)
    shift = pd.DataFrame([{"corruption": c, "severity": s, "method": m, "size": size, "accuracy": a, "brier": 0.5}
                          for c in ("noise",) for s in (0, 1, 3)
                          for m, size, a in (("independent", 2, 0.6 if s != 3 else 0.5),
                                             *((m, 1, 0.55) for m in methods))])
    shift.loc[shift.method != "independent", "brier"] = 0.6
    js = pd.DataFrame([{"corruption": "noise", "severity": s, "method": m, "js": x}
                       for s in (0, 1, 3) for m, x in (("independent", 0.3), ("trajectory", 0.01), ("diag", 0.01),
                                                       ("pca", 0.01), ("random", 0.01), ("dropout", 0.2))])
    t = [0.0, 0.5, 1.0]
    path = pd.DataFrame({"kind": ["straight line"] * 3 + ["connector"] * 3, "t": t * 2,
                         "train_loss": [0.3, 1.3, 0.3, 0.3, 0.4, 0.3], "test_loss": [1.0, 2.0, 1.0, 1.0, 1.5, 1.0],
                         "test_acc": [0.6, 0.3, 0.6, 0.6, 0.55, 0.6], "dis_a": [0.0, 0.5, 0.3, 0.0, 0.35, 0.3],
                         "dis_b": [0.3, 0.5, 0.0, 0.3, 0.4, 0.0]})
    return geo, tsne, plane, plane_sum, curves, shift, js, path


def test_claim_values_on_a_hand_made_study():
    p = SimpleNamespace(n_runs=3, match_tol=0.02, shift_sizes=[2])
    v = paper.claim_values(p, *_claim_tables())
    assert (v["cos_across_max_abs"], v["cos_within_min"], v["dis_across_min"], v["dis_within_max"]) == (
        0.06, 0.95, 0.2, 0.1)
    assert (v["tsne_purity"], v["tsne_checkpoints"]) == (0.9, 10)
    assert v["tsne_purity_se2"] == pytest.approx(2 * math.sqrt(0.9 * 0.1 / 10))
    assert v["dist_across_mean"] == 10.0 and v["in_mode_distance_ratio_max"] == pytest.approx(0.7)  # diag: 7 / 10
    assert v["c8_methods"].startswith("trajectory 0.20 (2 of 3 in the mode), diag 0.70 (2 of 2 in the mode), pca: "
                                      "none of 1 in the mode, random 0.40 (1 of 2 in the mode)")
    assert v["diversity_subspace_max"] is None and "pca: no sample within 0.02" in v["c3_methods"]
    assert (v["ensemble_accuracy"], v["subspace_accuracy_max"], v["subspace_brier_min"]) == (0.7, 0.6, 0.5)
    assert (v["combined_accuracy_min"], v["combined_brier_max"]) == (0.69, 0.45)
    assert (v["shift_sets_won"], v["shift_sets"], v["js_sets_higher"], v["js_sets"]) == (1, 2, 2, 2)
    assert (v["connector_barrier"], v["line_barrier"]) == (pytest.approx(0.1), pytest.approx(1.0))
    assert v["connector_line_ratio"] == pytest.approx(0.1)
    assert (v["midpoint_dis_a"], v["midpoint_dis_b"], v["midpoint_disagreement_min"]) == (0.35, 0.4, 0.35)
    verdicts = {r["id"]: r["verdict"] for r in evaluate(paper.CLAIMS, v)}
    assert verdicts == {"C1a": "holds", "C1b": "holds", "C2": "undecided", "C8": "holds", "C3": "undecided",
                        "C4": "holds",
                        "C6a": "fails", "C6b": "holds", "C7a": "holds", "C7b": "holds", "C5": "fails"}


def test_a_claim_without_its_values_is_left_out():
    p = SimpleNamespace(n_runs=3, match_tol=0.02, shift_sizes=[2])
    v = paper.claim_values(p, *_claim_tables())
    del v["connector_line_ratio"]
    assert "C7a" not in {r["id"] for r in evaluate(paper.CLAIMS, v)}
