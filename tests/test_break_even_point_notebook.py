"""The break-even notebook end to end, asserting on what it recorded."""


from types import SimpleNamespace

import pandas as pd
import pytest

from companion import runner
from conftest import run_notebook, stopped_by_validation
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
    assert [c["id"] for c in claims] == ["C1a", "C1b", "C3a", "C4a", "C4b", "C4c", "C5", "C6a", "C6b",
                                         "C2a", "C2b", "C3b"]  # the followed abstract first, then the submission's
    assert all(c["verdict"] in ("holds", "fails", "undecided") for c in claims)
    rules = {c.id: c.rule for c in paper.CLAIMS}
    assert all(rules[c["id"]](c["values"]) == c["verdict"] for c in claims)
    assert record["cap_slope"] == pytest.approx(paper.cap_slope(runs))
    matched = pd.DataFrame(record["matched_progress"])
    assert record["values"] == pytest.approx(paper.claim_values(SimpleNamespace(**p), runs, matched))
    # a run that never reaches a target counts against every C4 row
    short = matched.groupby(["lr", "seed"]).step_at_target.apply(lambda v: v.isna().any()).sum()
    assert record["values"]["lr_runs_short_of_target"] == short
    assert sorted(matched.target.unique()) == sorted(p["target_accs"]) and len(matched) == len(p["target_accs"]) * len(
        p["lrs"]) * p["n_seeds"]
    if short:
        assert {c["verdict"] for c in claims if c["id"].startswith("C4")} == {"fails"}


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
        hit = t[t.train_acc >= row["target"]].step.min()
        if pd.isna(hit):  # a run that never reaches the target is recorded as NaN
            assert pd.isna(row["step_at_target"])
        else:
            assert row["step_at_target"] == hit


@pytest.mark.slow
def test_unordered_grid_stops_in_the_validation_cell(tmp_path):
    stderr = stopped_by_validation(NB, tmp_path, 'lrs', '[0.2, 0.1]')
    assert "'lrs' = [0.2, 0.1]" in stderr


@pytest.mark.slow
def test_the_paper_preset_runs_on_a_cifar10_stand_in(tmp_path):
    """The paper preset's path (SimpleCNN and SimpleCNN-BN on 3x32x32 inputs, float32), at a reduced size."""
    small = dict(dataset="standin-cifar10", n_train=200, n_test=50, channels=[4, 8], batch_size=16,
                 batch_sizes=[8, 16, 32], steps=4, measure_every=2, n_seeds=2, hessian_subset=50, hessian_iters=5,
                 cov_batches=4, cov_batch_size=16)
    record = run_notebook(NB, tmp_path, preset="paper", params=small)
    p = record["parameters"]
    assert p["dtype"] == "float32" and p["lrs"] == [0.01, 0.03, 0.1] and p["target_accs"] == [0.65, 0.8, 0.9]
    assert len(record["runs"]) == (3 + 3 + 2) * 2  # every (group, grid point, seed)
    assert len(record["claims"]) == 12 and all(c["verdict"] in ("holds", "fails", "undecided") for c in record["claims"])
