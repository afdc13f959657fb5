"""The gradient covariance (Gram trick) and the break-even experiment functions, against exact answers."""

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from companion import claims as cl
from companion.experiments import break_even_point as paper
from companion.experiments.break_even_point.compute import _set_bn_statistics
from companion.landscape import HessianOperator, dense_hessian
from companion.landscape.covariance import (
    centred,
    covariance_spectrum,
    dense_covariance,
    gram,
    minibatch_gradients,
)
from companion.nn import cnn, flat_params, mlp
from companion.params import ParameterError

DT = torch.float64


def _data(n=48, features=5, classes=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, features, generator=gen, dtype=DT), torch.randint(classes, (n,), generator=gen)


def _batches(n, L, B, seed=1):
    return list(torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:L * B].view(L, B))


# ---- the covariance and its Gram spectrum ----

def test_gram_spectrum_equals_the_dense_covariance_spectrum_on_a_small_model():
    X, y = _data()
    model = mlp(5, [6], 3, activation="tanh", seed=0, dtype=DT)  # D = 6*5 + 6 + 3*6 + 3 = 57
    L = 8
    G = minibatch_gradients(model, X, y, _batches(len(X), L, 6))
    assert G.shape == (L, 57)
    spec = covariance_spectrum(G)
    dense = torch.linalg.eigvalsh(dense_covariance(G)).flip(0)  # 57 eigenvalues, L - 1 = 7 non-zero
    assert spec.rank == L - 1
    assert spec.eigenvalues.numpy() == pytest.approx(dense[:L - 1].numpy(), rel=1e-10)
    assert dense[L - 1:].abs().max() < 1e-12 * dense[0]
    assert spec.lam_max == pytest.approx(dense[0].item(), rel=1e-12)
    assert spec.trace == pytest.approx(torch.trace(dense_covariance(G)).item(), rel=1e-12)
    assert spec.inv_cond == pytest.approx((dense[L - 2] / dense[0]).item(), rel=1e-10)


def test_covariance_by_hand_is_centred_and_divided_by_L():
    # mean 0; K = (1/4) [[2, 0], [0, 8]] = diag(0.5, 2)
    G = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]])
    spec = covariance_spectrum(G)
    assert spec.eigenvalues.tolist() == pytest.approx([2.0, 0.5])
    assert (spec.lam_max, spec.trace, spec.inv_cond, spec.rank, spec.n_gradients) == pytest.approx((2.0, 2.5, 0.25, 2, 4))
    # adding the same vector to every gradient changes nothing (centring)
    assert covariance_spectrum(G + torch.tensor([3.0, -7.0])).eigenvalues.tolist() == pytest.approx([2.0, 0.5])
    assert dense_covariance(G).flatten().tolist() == pytest.approx([0.5, 0.0, 0.0, 2.0])
    assert gram(G).shape == (4, 4) and centred(G).sum(0).abs().max() == 0


def test_two_opposite_gradients_give_one_eigenvalue_equal_to_the_squared_norm():
    g = torch.tensor([3.0, 4.0])
    spec = covariance_spectrum(torch.stack([g, -g]))  # K = (1/2)(g g^T + g g^T) = g g^T
    assert spec.eigenvalues.tolist() == pytest.approx([25.0])
    assert spec.inv_cond == 1.0


def test_rank_is_capped_by_the_dimension_and_the_tolerance_drops_round_off():
    gen = torch.Generator().manual_seed(3)
    G = torch.randn(9, 3, generator=gen, dtype=DT)  # L - 1 = 8 > D = 3
    spec = covariance_spectrum(G)
    exact = torch.linalg.eigvalsh(dense_covariance(G)).flip(0)
    assert spec.rank == 3
    assert spec.eigenvalues.numpy() == pytest.approx(exact.numpy(), rel=1e-10)
    assert spec.inv_cond == pytest.approx((exact[-1] / exact[0]).item(), rel=1e-10)
    # float32 gradients that agree in exact arithmetic: still rank 1 (two distinct values)
    g = torch.randn(1000, generator=gen)
    same = torch.stack([g, g * 1.0000001, -g, g])
    assert covariance_spectrum(same).rank == 1


def test_equal_gradients_have_no_spectrum():
    spec = covariance_spectrum(torch.ones(4, 3))
    assert spec.rank == 0 and spec.lam_max == 0.0 and spec.trace == 0.0 and math.isnan(spec.inv_cond)


@pytest.mark.parametrize("G, words", [(torch.ones(1, 3), "L >= 2"), (torch.ones(3), "shape \\(L, D\\)")])
def test_bad_gradients_are_refused(G, words):
    with pytest.raises(ValueError, match=words):
        covariance_spectrum(G)


def test_bad_rtol_and_too_few_batches_are_refused():
    with pytest.raises(ValueError, match="rtol"):
        covariance_spectrum(torch.randn(3, 2), rtol=0.0)
    X, y = _data()
    with pytest.raises(ValueError, match="at least 2"):
        minibatch_gradients(mlp(5, [4], 3, dtype=DT), X, y, [torch.arange(4)])
    with pytest.raises(ValueError, match="loss='hinge'"):
        minibatch_gradients(mlp(5, [4], 3, dtype=DT), X, y, _batches(48, 2, 4), loss="hinge")


def test_minibatch_gradients_are_the_per_batch_gradients_of_the_mean_loss():
    X, y = _data()
    model = mlp(5, [4], 3, seed=2, dtype=DT)
    batches = _batches(len(X), 3, 5)
    G = minibatch_gradients(model, X, y, batches)
    for row, idx in zip(G, batches):
        model.zero_grad()
        F.cross_entropy(model(X[idx]), y[idx]).backward()
        assert row.tolist() == pytest.approx(torch.cat([q.grad.reshape(-1) for q in model.parameters()]).tolist(),
                                             rel=1e-12, abs=1e-15)


def test_minibatch_gradients_leave_batch_norm_statistics_and_modes_alone():
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(40, 1, 8, 8, generator=gen, dtype=DT), torch.randint(3, (40,), generator=gen)
    model = cnn((1, 8, 8), [4], 3, batch_norm=True, seed=0, dtype=DT).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    G = minibatch_gradients(model, X, y, _batches(40, 4, 10))
    assert not model.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    # train mode: the first batch's gradient is that of a plain train-mode step
    ref = cnn((1, 8, 8), [4], 3, batch_norm=True, seed=0, dtype=DT).train()
    idx = _batches(40, 4, 10)[0]
    F.cross_entropy(ref(X[idx]), y[idx]).backward()
    assert G[0].tolist() == pytest.approx(torch.cat([q.grad.reshape(-1) for q in ref.parameters()]).tolist(),
                                          rel=1e-10, abs=1e-14)


# ---- curvature measured as a training step sees it ----

def test_batch_hessian_is_the_hessian_without_batch_norm():
    X, y = _data(n=20)
    model = mlp(5, [4], 3, activation="tanh", seed=1, dtype=DT)
    assert torch.allclose(dense_hessian(HessianOperator(model, X, y, train_mode=True)), dense_hessian(HessianOperator(model, X, y)),
                          rtol=1e-10, atol=1e-13)


def test_batch_hessian_differentiates_through_the_batch_statistics():
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(12, 3, generator=gen, dtype=DT), torch.randint(2, (12,), generator=gen)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2)).to(DT)
    theta = flat_params(model)
    names = [n for n, _ in model.named_parameters()]

    def loss(t):  # the train-mode forward pass written out: normalise by the batch's own statistics
        parts = dict(zip(names, torch.split(t, [q.numel() for q in model.parameters()])))
        h = X @ parts["0.weight"].view(4, 3).T + parts["0.bias"]
        h = (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + 1e-5) * parts["1.weight"] + parts["1.bias"]
        return F.cross_entropy(torch.tanh(h) @ parts["3.weight"].view(2, 4).T + parts["3.bias"], y)

    exact = torch.autograd.functional.hessian(loss, theta)
    op = HessianOperator(model, X, y, train_mode=True)
    assert torch.allclose(dense_hessian(op), exact, rtol=1e-8, atol=1e-11)
    assert not torch.allclose(dense_hessian(HessianOperator(model, X, y)), exact, atol=1e-3)  # eval mode differs
    assert torch.equal(model[1].running_mean, torch.zeros(4))  # never updated


def test_bn_statistics_are_set_to_the_batch_statistics():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(30, 3, generator=gen, dtype=DT) * 2 + 1
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).to(DT).eval()
    _set_bn_statistics(model, X)
    h = model[0](X).detach()
    assert model[1].running_mean.tolist() == pytest.approx(h.mean(0).tolist(), rel=1e-12)
    assert model[1].running_var.tolist() == pytest.approx(h.var(0).tolist(), rel=1e-12)
    assert model[1].momentum == 0.1 and not model.training


def _tiny_p(**kw):
    base = dict(dataset="digits", n_train=200, n_test=60, channels=[2], dtype="float64", lrs=[0.1, 0.3],
                batch_size=20, batch_sizes=[10, 20], lr_batch=0.1, bn_lrs=[0.1, 0.3], steps=4, measure_every=2,
                n_seeds=2, hessian_subset=30, hessian_iters=60, cov_batches=5, cov_batch_size=10, target_accs=[0.2],
                seed=0, device="cpu")
    return SimpleNamespace(**{**base, **kw})


def test_measure_matches_the_dense_hessian_and_the_covariance_of_the_batches():
    p = _tiny_p()
    data = paper.load_data(p)
    X, y = data.split("train", p.device, DT)
    model = paper.make_model(data, p, False, 0)  # D = 2*9 + 2 + 2*16*10 + 10 = 350 parameters
    hess, batches = paper.probes(len(X), p)
    assert len(hess) == 30 and len(batches) == 5 and len(torch.cat(batches).unique()) == 50  # disjoint
    theta = flat_params(model) * 3  # a point away from the model's own parameters
    m = paper.measure(model, theta, X, y, hess, batches, p.hessian_iters, X_test=data.split("test", p.device, DT)[0])
    assert torch.equal(flat_params(model), theta)
    exact_h = torch.linalg.eigvalsh(dense_hessian(HessianOperator(model, X[hess], y[hess])))[-1].item()
    spec = covariance_spectrum(minibatch_gradients(model, X, y, batches))
    assert m["lam_H"] == pytest.approx(exact_h, rel=1e-8)
    assert (m["lam_K"], m["trace_K"], m["inv_cond_K"], m["rank_K"]) == pytest.approx(
        (spec.lam_max, spec.trace, spec.inv_cond, 4), rel=1e-12)
    assert m["probs"].shape == (60, 10) and m["probs"].sum(1).tolist() == pytest.approx([1.0] * 60)


def test_runs_draw_independent_streams_from_the_seed():
    p0, p1 = _tiny_p(seed=0), _tiny_p(seed=1)
    data = paper.load_data(p0)

    def init(p, run):
        return flat_params(paper.make_model(data, p, False, run))

    assert torch.equal(init(p0, 1), init(p0, 1))
    assert not torch.equal(init(p0, 0), init(p0, 1))
    assert not torch.equal(init(p0, 1), init(p1, 0))  # seed + run would give these one init
    (h0, b0), (h1, b1) = paper.probes(200, p0), paper.probes(200, p1)
    assert not torch.equal(h0, h1) and not torch.equal(b0[0], b1[0])


# ---- tables and claims ----

def _table(values, steps=(0, 10, 20, 30), acc=(0.1, 0.5, 0.8, 0.9)):
    """One run per (lr, curve of lam_H); every other measure follows lam_H."""
    rows = []
    for lr, curve in values.items():
        for step, a, v in zip(steps, acc, curve):
            rows.append({"group": "lr", "model": "SimpleCNN", "lr": lr, "batch_size": 8, "seed": 0, "step": step,
                         "train_acc": a, "lam_H": v, "lam_K": v / 10, "trace_K": v / 5, "inv_cond_K": 1 / v})
    return pd.DataFrame(rows)


def test_per_run_leaves_out_the_init_and_matched_progress_reads_the_first_hit_of_each_target():
    runs = paper.per_run(_table({0.1: [50.0, 3.0, 9.0, 4.0]})).iloc[0]
    assert runs.max_lam_H == 9.0 and runs.step_peak_H == 20 and runs.acc_peak_H == 0.8  # not the init's 50
    assert runs.max_inv_cond_K == pytest.approx(1 / 3)
    assert runs.max_lr_lam_H == pytest.approx(0.9) and runs.final_acc == 0.9
    at = paper.matched_progress(_table({0.1: [50.0, 3.0, 9.0, 4.0]}), [0.5, 0.75, 0.95]).set_index("target")
    assert at.step_at_target.tolist()[:2] == [10, 20] and at.lam_H_at_target.tolist()[:2] == [3.0, 9.0]
    assert at.lam_K_at_target[0.75] == 0.9
    assert math.isnan(at.step_at_target[0.95]) and math.isnan(at.lam_K_at_target[0.95])  # never reached


def test_weakest_step_is_the_step_of_the_seed_means_least_in_the_claimed_direction_against_its_noise():
    runs = pd.DataFrame({"lr": [0.1, 0.1, 0.2, 0.2, 0.4, 0.4], "v": [5.0, 7.0, 4.0, 6.0, 1.0, 9.0]})
    # means 6, 5, 5; standard errors 1, 1, 4: the tie at the end (0 +- 2 * sqrt(17)) decides a decrease
    step, noise, i = paper.weakest_step(runs, "lr", "v", -1)
    assert (step, i) == (0.0, 1) and noise == pytest.approx(2 * math.sqrt(17))
    runs.loc[5, "v"] = 8.0  # means 6, 5, 4.5 (seed 1 alone would rise at the end); errors 1, 1, 3.5
    step, noise, i = paper.weakest_step(runs, "lr", "v", -1)
    assert (step, i) == (-0.5, 1) and noise == pytest.approx(2 * math.sqrt(1 + 3.5 ** 2))  # -0.5/7.3 beats -1/2.8
    assert paper.weakest_step(runs, "lr", "v", 1)[:2] == (-1.0, pytest.approx(2 * math.sqrt(2)))
    exact = pd.DataFrame({"lr": [0.1, 0.1, 0.2, 0.2, 0.4, 0.4], "v": [6.0, 6.0, 5.0, 5.0, 5.0, 5.0]})
    assert paper.weakest_step(exact, "lr", "v", -1) == (0.0, 0.0, 1)  # no spread: the tie decides, and fails
    one_seed = pd.DataFrame({"lr": [0.1, 0.2, 0.4], "v": [6.0, 5.0, 5.5]})
    step, noise, i = paper.weakest_step(one_seed, "lr", "v", -1)
    assert (step, i) == (0.5, 1) and math.isnan(noise)  # no noise estimate: the rule is undecided
    assert paper.weakest_step(runs.assign(v=np.nan), "lr", "v", -1) == (None, None, None)
    one_missed = runs.copy()
    one_missed.loc[0, "v"] = np.nan  # never reached the target at lr 0.1; without it the means 7, 5, 4.5 decrease
    assert paper.weakest_step(one_missed, "lr", "v", -1) == (None, None, None)


def test_a_step_whose_seed_ranges_overlap_stays_within_its_noise():
    # three seeds: means 1 and 13/3, a step of 10/3 against two standard errors of 2.52, but the ranges
    # [0, 3] and [2.8, 5.1] overlap: the reach, (13/3 - 2.8) + (3 - 1) = 3.53, is the noise
    runs = pd.DataFrame({"lr": [0.1] * 3 + [0.2] * 3, "v": [0.0, 0.0, 3.0, 2.8, 5.1, 5.1]})
    step, noise, i = paper.weakest_step(runs, "lr", "v", 1)
    assert step == pytest.approx(10 / 3) and noise == pytest.approx(13 / 3 - 2.8 + 2) and i == 0
    apart = runs.assign(v=[0.0, 0.0, 3.0, 3.2, 5.1, 5.1])  # ranges apart: two standard errors decide again
    step, noise, _ = paper.weakest_step(apart, "lr", "v", 1)
    assert step > noise


def _verdicts(values):
    return {r["id"]: r["verdict"] for r in cl.evaluate(paper.CLAIMS, values)}


def test_a_tie_and_a_run_short_of_the_target_count_against_a_trend():
    runs, matched = _runs(), _matched()
    values = paper.claim_values(P, runs, matched)
    assert values["lr_runs_short_of_target"] == 0 and _verdicts(values)["C4b"] == cl.HOLDS
    short = matched.copy()
    short.loc[(short.lr == 0.05) & (short.seed == 1) & (short.target == 0.9),
              ["step_at_target", "lam_H_at_target", "lam_K_at_target", "inv_cond_K_at_target"]] = np.nan
    values = paper.claim_values(P, runs, short)
    assert values["lr_runs_short_of_target"] == 1 and values["lam_k_at_target_vs_lr_weakest_step"] is None
    assert {_verdicts(values)[c] for c in ("C4a", "C4b", "C4c")} == {cl.FAILS}  # the other seed alone still decreases
    c4b = next(r["measured"] for r in cl.evaluate(paper.CLAIMS, values) if r["id"] == "C4b")
    assert "acc 0.9: lr=0.05: 1 [1, nan]" in c4b and "0.9: not measured" in c4b
    reversed_at_one = matched.copy()  # every target decreases but 0.65, where the lr 0.2 runs rise above lr 0.1
    reversed_at_one.loc[(reversed_at_one.lr == 0.2) & (reversed_at_one.target == 0.65), "lam_K_at_target"] = 0.9
    values = paper.claim_values(P, runs, reversed_at_one)
    assert values["lam_k_at_target_vs_lr_weakest_step_text"].endswith("(lr 0.1 to 0.2) at train acc 0.65")
    assert _verdicts(values)["C4b"] == cl.FAILS
    tie = runs.copy()
    tie.loc[(tie.group == "lr") & (tie.lr == 0.2), "max_lam_K"] = 0.5  # the seed means 1, 0.5, 0.5 tie at the end
    values = paper.claim_values(P, tie, _matched())
    assert values["max_lam_k_vs_lr_weakest_step"] == 0.0 and values["max_lam_k_vs_lr_weakest_step_se2"] == 0.0
    assert _verdicts(values)["C1b"] == cl.FAILS  # the seeds agree exactly: no noise to hide the tie in
    noisy = runs.copy()
    noisy.loc[(noisy.group == "lr") & (noisy.lr == 0.1), "max_lam_K"] = [0.2, 0.9]  # mean 0.55 between 1 and 0.333
    values = paper.claim_values(P, noisy, _matched())
    assert values["max_lam_k_vs_lr_weakest_step_se2"] == pytest.approx(0.7)  # 2 * sqrt(0.35 ** 2 + 0)
    assert _verdicts(values)["C1b"] == cl.UNDECIDED  # steps -0.45 and -0.217, each within 0.7
    diverged = runs.copy()
    diverged.loc[(diverged.group == "bn") & (diverged.seed == 0), "max_lam_H"] = np.nan
    values = paper.claim_values(P, diverged, _matched())
    assert values["bn_runs_without_peak"] == 2 and _verdicts(values)["C6a"] == cl.FAILS


def test_cap_slope_is_minus_one_when_the_peak_is_two_over_lr():
    runs = pd.DataFrame({"group": "lr", "lr": [0.05, 0.1, 0.2], "max_lam_H": [40.0, 20.0, 10.0]})
    assert paper.cap_slope(runs) == pytest.approx(-1.0)


def _runs(flip=False):
    """Per-run tables where every claimed effect shows (f grows along each grid), or is reversed (flip)."""
    rows = []
    for group, key, grid in (("lr", "lr", [0.05, 0.1, 0.2]), ("batch", "batch_size", [8, 32, 128]),
                             ("bn", "lr", [0.05, 0.2])):
        for i, value in enumerate(grid):
            f = (i + 1.0) ** (-1 if flip else 1)
            g = f if group == "batch" else 1 / f  # peaks: fall along the lr grids, rise along the batch grid
            for s in range(2):
                rows.append({"group": group, "lr": value if key == "lr" else 0.1,
                             "batch_size": value if key == "batch_size" else 32, "seed": s,
                             "max_lam_H": 10 * g + 0.01 * s, "max_lam_K": g, "max_inv_cond_K": 0.01 / g})
    runs = pd.DataFrame(rows)
    return runs.assign(max_lr_lam_H=runs.lr * runs.max_lam_H)


def _matched(flip=False, targets=(0.65, 0.9)):
    """Matched-progress rows of the lr grid at every target, where the claimed effect shows (or is reversed)."""
    rows = []
    for i, lr in enumerate([0.05, 0.1, 0.2]):
        f = (i + 1.0) ** (-1 if flip else 1)
        rows += [{"group": "lr", "lr": lr, "batch_size": 32, "model": "SimpleCNN", "seed": s, "target": t,
                  "step_at_target": 100 / f, "lam_H_at_target": 10 / f + 0.01 * s, "lam_K_at_target": 1 / f,
                  "inv_cond_K_at_target": f / 100} for t in targets for s in range(2)]
    return pd.DataFrame(rows)


P = _tiny_p(batch_size=32, lr_batch=0.1, target_accs=[0.65, 0.9])


def test_claims_hold_on_runs_that_show_every_effect_and_fail_on_reversed_ones():
    good = cl.evaluate(paper.CLAIMS, paper.claim_values(P, _runs(), _matched()))
    assert [r["verdict"] for r in good] == [cl.HOLDS] * 12, [r["id"] for r in good if r["verdict"] != cl.HOLDS]
    assert [r["id"] for r in good] == ["C1a", "C1b", "C3a", "C4a", "C4b", "C4c", "C5", "C6a", "C6b", "C2a", "C2b",
                                       "C3b"]
    assert good[0]["measured"].startswith("batch_size=32: lr=0.05: 10 [10, 10]; lr=0.1: 5 [5, 5.01]")
    assert "slope -0.79" in good[6]["measured"]  # peaks 10, 5, 3.33 over lr 0.05, 0.1, 0.2
    assert [r["version"] for r in good] == [""] * 9 + ["ICLR 2020 submission"] * 3
    values = paper.claim_values(P, _runs(), _matched())
    # means 10.005, 5.005, 3.338, each seed 0.01 apart: the last step is the weakest against its noise (0.01 * sqrt 2)
    assert values["max_lam_h_vs_lr_weakest_step"] == pytest.approx(10 / 3 - 5)
    assert values["max_lam_h_vs_lr_weakest_step_se2"] == pytest.approx(0.01 * math.sqrt(2))
    assert values["max_lam_h_vs_lr_weakest_step_text"] == "-1.67 ± 0.0141 (lr 0.1 to 0.2)"
    assert values["lr_runs_short_of_target"] == values["bn_runs_without_peak"] == 0
    bad = cl.evaluate(paper.CLAIMS, paper.claim_values(P, _runs(flip=True), _matched(flip=True)))
    assert [r["verdict"] for r in bad] == [cl.FAILS] * 12


def test_check_refuses_unordered_grids_and_oversized_subsets():
    with pytest.raises(ParameterError, match="'lrs' = \\[0.2, 0.1\\] must hold at least 2 values"):
        paper.check(_tiny_p(lrs=[0.2, 0.1]))
    with pytest.raises(ParameterError, match="'bn_lrs'"):
        paper.check(_tiny_p(bn_lrs=[0.1]))
    with pytest.raises(ParameterError, match="cov_batches \\* cov_batch_size = 300 .* n_train = 200"):
        paper.check(_tiny_p(cov_batches=30))
    with pytest.raises(ParameterError, match="measure_every = 9 exceeds steps = 4"):
        paper.check(_tiny_p(measure_every=9))
    paper.check(_tiny_p())


def test_trajectories_share_the_common_run_and_embed_deterministically():
    p = _tiny_p(hessian_iters=8)
    data = paper.load_data(p)
    table, probs = paper.trajectories(data, p)
    # lr grid (0.1, 0.3) x 2 seeds; batch grid (10, 20) at lr 0.1: B = 20 is the lr grid's run; BN (0.1, 0.3)
    assert len(probs) == 2 * 2 + 1 * 2 + 2 * 2
    shared = table[(table.lr == 0.1) & (table.batch_size == 20) & (table.model == "SimpleCNN")]
    assert sorted(shared.group.unique()) == ["batch", "lr"]
    a, b = (shared[shared.group == g].drop(columns="group").reset_index(drop=True) for g in ("lr", "batch"))
    pd.testing.assert_frame_equal(a, b)
    assert sorted(table.step.unique()) == [0, 2, 4] and (table.rank_K == p.cov_batches - 1).all()
    emb = paper.embedding(table, probs, "lr", seed=0)
    assert len(emb) == 2 * 3 and {"pc1", "pc2"} <= set(emb.columns)
    pd.testing.assert_frame_equal(emb, paper.embedding(table, probs, "lr", seed=0))
    runs = paper.per_run(table)
    assert len(runs) == 2 * 2 + 2 * 2 + 2 * 2  # every (group, grid point, seed)
    assert len(paper.matched_progress(table, p.target_accs)) == 2 * 2  # the lr grid's runs, one target
