"""The break-even notebook end to end, asserting on what it recorded."""


import pandas as pd
import pytest

from companion import runner
from conftest import stopped_by_validation
from companion.experiments import break_even_point as paper

NB = runner.find("10_break_even_point")


@pytest.mark.slow
def test_default_run_records_every_run_and_claim(default_record):
    record = default_record
    p = record["parameters"]
    assert p["dataset"] == "digits" and p["device"] in ("cpu", "cuda")
    runs = pd.DataFrame(record["runs"])
    sizes = {"lr": len(p["lrs"]), "batch": len(p["batch_sizes"]), "bn": len(p["bn_lrs"])}
    assert runs.groupby("group").size().to_dict() == {g: n * p["n_seeds"] for g, n in sizes.items()}
    claims = record["claims"]
    assert [c["claim"][:2] for c in claims] == ["C1", "C1", "C2", "C2", "C3", "C3", "C4", "C4", "C4", "C5", "C6", "C6"]
    assert all(isinstance(c["holds"], bool) for c in claims)
    assert record["cap_slope"] == pytest.approx(paper.cap_slope(runs))


@pytest.mark.slow
def test_every_checkpoint_is_measured_and_converged(default_record):
    record = default_record
    p, table = record["parameters"], pd.DataFrame(record["trajectories"])
    steps = list(range(0, p["steps"] + 1, p["measure_every"]))
    for _, t in table.groupby(paper.RUN):
        assert t.step.tolist() == steps  # no run diverged at these learning rates
    assert (table.rank_K == p["cov_batches"] - 1).all()  # L centred gradients span L - 1 directions
    assert (table.lam_H_residual <= 0.05 * table.lam_H).all()  # Lanczos converged on the top eigenvalue
    assert ((table.inv_cond_K > 0) & (table.inv_cond_K <= 1)).all()
    assert (table.trace_K >= table.lam_K).all()


@pytest.mark.slow
def test_runs_of_one_seed_share_their_init_and_the_matched_step_reaches_the_target(default_record):
    record = default_record
    p, table = record["parameters"], pd.DataFrame(record["trajectories"])
    init = table[(table.step == 0)].groupby(["model", "seed"])[["lam_H", "lam_K", "train_acc"]].nunique()
    assert (init == 1).all().all()
    for row in record["matched_progress"]:
        t = table[(table.group == "lr") & (table.lr == row["lr"]) & (table.seed == row["seed"])]
        hit = t[t.train_acc >= p["target_acc"]].step.min()
        if pd.isna(hit):  # a run that never reaches the target is recorded as NaN
            assert pd.isna(row["step_at_target"])
        else:
            assert row["step_at_target"] == hit


@pytest.mark.slow
def test_unordered_grid_stops_in_the_validation_cell(tmp_path):
    stderr = stopped_by_validation(NB, tmp_path, 'lrs', '[0.2, 0.1]')
    assert "'lrs' = [0.2, 0.1]" in stderr
