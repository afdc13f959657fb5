"""Stiffness and the stiffness experiment, on cases small enough to check exactly (per-example gradients:
test_gradients.py)."""

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from companion.experiments import stiffness as ex
from companion.landscape import gradients as gr
from companion.landscape import stiffness as st
from companion.nn import flat_params, mlp
from companion.params import ParameterError

DT = torch.float64


def _data(n=9, shape=(6,), classes=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, *shape, generator=gen, dtype=DT), torch.randint(classes, (n,), generator=gen)


# ------------------------------------------------------------------------------------------ stiffness

def elementwise_sign_stiffness(g1, g2):
    """The mistake of some public snippets: the mean of element-wise signs, not the sign of the dot product."""
    return torch.sign(torch.sign(g1) * torch.sign(g2)).mean().sign()


def test_sign_stiffness_is_the_sign_of_the_dot_product_not_of_elementwise_signs():
    g1 = torch.tensor([[10.0, -1.0, -1.0]])
    g2 = torch.tensor([[10.0, 1.0, 1.0]])
    # g1 . g2 = 100 - 1 - 1 = 98 > 0: a step on example 1 lowers the loss on example 2
    assert st.sign_stiffness(g1, g2).item() == 1.0
    # element-wise, two of three coordinates disagree: that implementation says -1 and fails here
    assert elementwise_sign_stiffness(g1[0], g2[0]).item() == -1.0
    assert st.stiffness_from_gram(g1 @ g2.T, g1.norm(dim=1), g2.norm(dim=1), "sign").item() == 1.0


def test_identical_examples_have_stiffness_one_and_opposite_ones_minus_one():
    gen = torch.Generator().manual_seed(0)
    g = torch.randn(1, 50, generator=gen, dtype=DT)
    G = torch.cat([g, g, -g, 2 * g])
    for S in (st.cosine_stiffness(G), st.sign_stiffness(G)):
        assert torch.allclose(S[0], torch.tensor([1.0, 1.0, -1.0, 1.0], dtype=DT), atol=1e-12)


def test_identical_inputs_through_a_model_have_stiffness_one():
    X, y = _data(n=3)
    X, y = torch.cat([X, X[:1]]), torch.cat([y, y[:1]])
    G = gr.per_example_grads(mlp(6, [5, 4], 3, activation="tanh", seed=1, dtype=DT), X, y)
    assert st.cosine_stiffness(G)[0, 3].item() == pytest.approx(1.0, abs=1e-12)
    assert st.sign_stiffness(G)[0, 3].item() == 1.0


def test_cosine_stiffness_ignores_the_scale_of_the_loss_and_zero_gradients_give_zero():
    G = _data(n=5)[0]
    assert torch.allclose(st.cosine_stiffness(3 * G, G), st.cosine_stiffness(G), atol=1e-14)
    Z = torch.cat([G, torch.zeros(1, G.shape[1], dtype=DT)])
    assert (st.cosine_stiffness(Z)[-1] == 0).all() and (st.sign_stiffness(Z)[-1] == 0).all()


def test_gram_stiffness_splits_the_stacked_sets():
    G1, G2 = _data(n=4)[0], _data(n=3, seed=2)[0]
    G = torch.cat([G1, G2])
    S11, S12, S22 = st.gram_stiffness(G @ G.T, 4, "cos")
    assert torch.allclose(S12, st.cosine_stiffness(G1, G2), atol=1e-14)
    assert torch.allclose(S11, st.cosine_stiffness(G1), atol=1e-14)
    assert torch.allclose(S22, st.cosine_stiffness(G2), atol=1e-14)


def test_class_stiffness_averages_pairs_and_leaves_out_self_pairs():
    S = torch.tensor([[1.0, 0.5, -0.2],
                      [0.3, 1.0, 0.4],
                      [-0.6, 0.8, 1.0]])
    y = [0, 0, 1]
    C = st.class_stiffness(S, y)  # same set: diagonal of S left out
    assert C == pytest.approx(np.array([[0.4, 0.1], [0.1, np.nan]]), nan_ok=True)
    C2 = st.class_stiffness(S, y, [0, 1, 1])  # two sets: every pair counts
    assert C2 == pytest.approx(np.array([[(1.0 + 0.3) / 2, (0.5 - 0.2 + 1.0 + 0.4) / 4], [-0.6, 0.9]]))
    assert st.within_between(np.array([[1.0, 0.2], [0.0, 0.5]])) == pytest.approx((0.75, 0.1))
    assert st.pair_mean(S, same=True) == pytest.approx((0.5 - 0.2 + 0.3 + 0.4 - 0.6 + 0.8) / 6)


def test_group_contrast_compares_pairs_inside_and_across_super_classes():
    C = np.array([[1.0, 0.4, 0.0], [0.2, 1.0, -0.1], [0.1, -0.3, 1.0]])
    assert st.group_contrast(C, ["a", "a", "b"]) == pytest.approx((0.3, (0.0 - 0.1 + 0.1 - 0.3) / 4))
    with pytest.raises(ValueError, match="share a super-class"):
        st.group_contrast(C, ["a", "b", "c"])


def test_pairwise_distances():
    A = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    B = torch.tensor([[0.0, 0.0], [0.0, 2.0]])
    assert st.pairwise_distance(A, B).numpy() == pytest.approx(np.array([[5.0, math.sqrt(13)], [1.0, math.sqrt(5)]]))
    assert st.pairwise_distance(A, metric="cosine").numpy() == pytest.approx(np.array([[0.0, 0.4], [0.4, 0.0]]))


def test_stiffness_binned_by_distance():
    S = torch.tensor([[1.0, 0.6, -0.2], [0.4, 1.0, 0.0], [-0.4, 0.2, 1.0]])
    D = torch.tensor([[0.0, 1.0, 3.0], [1.5, 0.0, 2.5], [3.5, 2.0, 0.0]])
    b = st.stiffness_vs_distance(S, D, same=True, edges=[0.0, 2.0, 4.0])
    assert b.n.tolist() == [2, 4]
    assert b.stiffness.tolist() == pytest.approx([0.5, (-0.2 + 0.0 - 0.4 + 0.2) / 4])
    assert b.distance.tolist() == pytest.approx([1.25, 2.75])


def test_critical_length_is_the_interpolated_zero_crossing():
    rows = lambda s: pd.DataFrame({"distance": [1.0, 2.0, 3.0, 4.0], "stiffness": s})
    assert st.critical_length(rows([0.6, 0.2, -0.2, -0.1])) == pytest.approx(2.5)  # first crossing only
    assert st.critical_length(rows([0.6, 0.3, 0.1, 0.05])) == math.inf
    assert st.critical_length(rows([-0.1, 0.3, 0.1, 0.0])) == 1.0
    assert st.critical_length(rows([0.4, 0.0, 0.1, -0.3])) == 2.0


def test_representations_are_the_hidden_activations():
    X, _ = _data(n=4)
    model = mlp(6, [5, 4], 3, activation="relu", seed=1, dtype=DT, batch_norm=True)
    with torch.no_grad():
        model(3 * X + 1)  # running statistics away from the defaults
    reps = st.representations(model, X)
    assert list(reps) == st.hidden_layers(model) == ["3", "6"]
    model.eval()
    h1 = model[3](model[2](model[1](X)))
    assert torch.allclose(reps["3"], h1)
    assert torch.allclose(reps["6"], model[6](model[5](model[4](h1))))
    with pytest.raises(ValueError, match="unknown layers"):
        st.representations(model, X, ["nope"])


# ------------------------------------------------------------------------------------------ experiment

def _p(**kw):
    base = dict(seed=0, device="cpu", dataset="digits", n_train=100, n_test=60, n_probe=40, model="mlp",
                widths=[8], channels=[4], activation="relu", batch_norm=False, lr=0.1, lrs=[0.05, 0.1],
                batch_size=20, epochs=4, n_checkpoints=4, n_seeds=1, metric="euclidean", n_bins=5,
                memory_budget_mb=16.0)
    return SimpleNamespace(**{**base, **kw})


@pytest.mark.parametrize("change, words", [
    (dict(lr=0.2), "'lr' = 0.2 must be one of 'lrs'"),
    (dict(lrs=[0.1, 0.1]), "at least two different"),
    (dict(n_probe=80), "'n_probe' = 80"),
    (dict(batch_size=200), "'batch_size' = 200"),
    (dict(epochs=1, n_checkpoints=10), "n_checkpoints = 10"),
])
def test_check_refuses_inconsistent_parameters(change, words):
    with pytest.raises(ParameterError, match=words.replace("(", r"\(").replace("'", "'")):
        ex.check(_p(**change))


def test_schedule_checkpoints_at_equal_steps():
    assert ex.schedule(_p()) == (5, 5, 20)
    assert ex.schedule(_p(epochs=3, n_checkpoints=2)) == (5, 8, 16)


def test_training_trend_reads_peak_and_onset_of_overfitting():
    steps = [0, 10, 20, 30, 40]
    curves = pd.DataFrame({"lr": 0.1, "seed": 0, "step": steps, "epoch": steps, "pairs": "train-test", "kind": "cos",
                           "test_loss": [2.0, 1.0, 0.5, 0.6, 0.7], "train_loss": 0.0,
                           "within": [0.9, 0.8, 0.7, 0.6, 0.5], "between": [-0.1, 0.05, 0.02, 0.01, 0.0]})
    measured = ex.Measured(curves, pd.DataFrame(), pd.DataFrame(), {})
    r = ex.training_trend(measured, _p()).iloc[0]
    assert (r.step_star, r.step_max, r.between_max, r.between_star, r.between_end) == (20, 10, 0.05, 0.02, 0.0)
    assert (r.test_loss_min, r.test_loss_end) == (0.5, 0.7)


def test_xi_vs_lr_matches_epoch_and_training_loss():
    xi = pd.DataFrame({"lr": [0.1] * 3 + [1.0] * 3, "seed": 0, "step": [0, 5, 10] * 2, "epoch": [0, 1, 2] * 2,
                       "train_loss": [2.0, 0.8, 0.5, 2.0, 0.3, 0.1], "xi": [3.0, 2.5, 2.0, 3.0, 1.8, 1.5]})
    curves = xi[["lr", "seed", "step"]].assign(pairs="train-test", kind="cos", within=[0.9, 0.8, 0.7, 0.9, 0.6, 0.5])
    t = ex.xi_vs_lr(ex.Measured(curves, pd.DataFrame(), xi, {})).set_index("lr")
    assert t.loss_level.tolist() == [0.5, 0.5]  # the slow run's lowest loss: both runs reach it
    assert t.xi_epoch.tolist() == [2.0, 1.5] and t.within_epoch.tolist() == [0.7, 0.5]
    assert t.xi_loss.tolist() == [2.0, 1.8] and t.epoch_at_loss.tolist() == [2, 1]


def test_fashion_mnist_gets_the_notebook_super_classes():
    data = SimpleNamespace(name="fashion-mnist", classes=tuple(range(10)))
    groups = ex.superclasses(data)
    assert groups[0] == groups[2] == groups[4] == groups[6] == "tops"
    assert groups[5] == groups[7] == groups[9] == "footwear"
    assert ex.superclasses(SimpleNamespace(name="digits", classes=tuple(range(10)))) is None
    assert ex.superclasses(SimpleNamespace(name="cifar100", superclasses=(3, 3, 1))) == (3, 3, 1)


def test_a_tiny_run_is_consistent_with_its_own_matrices():
    p = _p()
    data = ex.load_data(p)
    runs = ex.train_runs(data, p)
    assert [(r.lr, r.seed) for r in runs] == [(0.05, 0), (0.1, 0)]
    measured = ex.measure_runs(data, p, runs)
    assert sorted(measured.curves.step.unique()) == [0, 5, 10, 15, 20]  # init and every 5 of 20 steps
    assert len(measured.curves) == 2 * 5 * 3 * 2  # runs x checkpoints x pair sets x kinds
    for (lr, s, step, pairs, kind), C in measured.matrices.items():
        row = measured.curves.query("lr == @lr and step == @step and pairs == @pairs and kind == @kind").iloc[0]
        assert (row["within"], row["between"]) == pytest.approx(st.within_between(C))
    assert {k[0] for k in measured.matrices} == {0.1}  # matrices are kept for the reference lr only
    sign = measured.curves[measured.curves.kind == "sign"]
    assert ((sign.within.abs() <= 1) & (sign.between.abs() <= 1)).all()
    assert measured.xi.groupby("lr").size().tolist() == [5, 5]


def test_run_summary_reads_each_run_by_its_own_rows():
    hist = pd.DataFrame({"lr": [0.1] * 3 + [1.0] * 3, "seed": [1] * 3 + [0] * 3, "epoch": [0, 1, 2] * 2,
                         "train_loss": [2.0, 1.0, 0.5, 2.0, 0.2, 0.1], "test_loss": [2.0, 0.9, 1.2, 2.0, 0.5, 0.4],
                         "test_acc": [0.1, 0.5, 0.6, 0.1, 0.7, 0.8]})
    t = ex.run_summary(hist).set_index("lr")
    assert t.loc[0.1, ["seed", "epoch_min_test", "min_test_loss", "final_train_loss"]].tolist() == [1, 1, 0.9, 0.5]
    assert t.loc[1.0, ["epoch_min_test", "final_test_loss", "final_test_acc"]].tolist() == [2, 0.4, 0.8]


def test_figure_steps_and_the_recorded_matrices():
    C = np.array([[0.5, -0.1], [0.2, 0.4]])
    matrices = {(0.1, s, step, "train-test", "cos"): C + s for s in (0, 1) for step in (0, 10, 20)}
    curves = pd.DataFrame({"step": [0, 10, 20]})
    measured = ex.Measured(curves, pd.DataFrame(), pd.DataFrame(), matrices)
    steps = ex.figure_steps(measured, pd.DataFrame({"step_star": [10]}))
    assert steps.tolist() == [0, 10, 20]
    t = ex.matrices_table(measured, [0, 20])
    assert len(t) == 2 * 4 and sorted(t.step.unique()) == [0, 20]
    assert t[(t.a == 1) & (t.b == 0)].value.tolist() == [0.2, 0.2]  # seed 0 only


def test_seed_indices_draw_independent_streams_and_share_them_across_learning_rates():
    p = _p(lrs=[0.05, 0.1], n_seeds=2)
    data = ex.load_data(p)
    theta = lambda q, s: flat_params(ex.make_model(data, q, s))
    assert torch.equal(theta(p, 1), theta(p, 1))
    assert not torch.equal(theta(p, 0), theta(p, 1))
    assert not torch.equal(theta(p, 1), theta(_p(seed=1), 0))  # seed 0 run 1 is not seed 1 run 0
    runs = ex.train_runs(data, p)
    starts = {(r.lr, r.seed): r.trajectory.checkpoints[0][1] for r in runs}
    assert torch.equal(starts[(0.05, 1)], starts[(0.1, 1)]) and torch.equal(starts[(0.1, 1)], theta(p, 1))
    assert not torch.equal(starts[(0.1, 0)], starts[(0.1, 1)])


def test_probe_sets_are_stratified_picks_from_their_own_stream():
    p = _p()
    data = ex.load_data(p)
    ia, ib = ex.probes(data, p)
    assert len(ia) == len(ib) == p.n_probe and len(set(ia.tolist())) == p.n_probe
    assert torch.equal(ex.probes(data, p)[0], ia)
    assert not torch.equal(ex.probes(data, _p(seed=1))[0], ia)
    assert np.bincount(data.y_train[ia].numpy()).max() - np.bincount(data.y_train[ia].numpy()).min() <= 1


def test_model_size_counts_the_notebook_models_parameters():
    p = _p(widths=[8])
    assert ex.model_size(ex.load_data(p), p) == 64 * 8 + 8 + 8 * 10 + 10


# ------------------------------------------------------------------------------------------ claims

def _claim_tables(fall=(0.02, 0.04), peak=-0.05):
    """Two seeds at the reference lr 0.1 (and 0.05 for the lr table), with numbers whose claim values are known."""
    curves = pd.DataFrame([
        {"lr": 0.1, "seed": s, "step": step, "epoch": step, "train_loss": 2.0 - 0.15 * step, "pairs": "train-test",
         "kind": kind, "within": w, "between": b}
        for s in (0, 1)
        for step, kind, w, b in ((0, "cos", 0.9, -0.1), (10, "cos", 0.6 - 0.1 * s, -0.05), (0, "sign", 1.0, -0.1),
                                 (10, "sign", 0.9, -0.2 + 0.1 * s))])
    curves = pd.concat([curves, curves.assign(lr=0.05, within=0.0, between=0.5)])  # other lrs are not read by C1
    xi = pd.DataFrame([{"lr": 0.1, "seed": s, "step": step, "xi": x, "s_near": sn, "near_is_max": True}
                       for s in (0, 1)
                       for step, x, sn in ((0, 3.0, 0.8), (5, 2.8 - 0.5 * s, 0.6), (10, 2.5, 0.5 - 0.1 * s))])
    trend = pd.DataFrame({"seed": [0, 1], "between_init": [-0.1, -0.1], "between_max": [peak, peak],
                          "between_star": [peak - fall[0], peak - fall[1]], "test_loss_min": [0.3, 0.4],
                          "test_loss_end": [0.35, 0.41]})
    lr_table = pd.DataFrame({"seed": [0, 0, 1, 1], "lr": [0.05, 0.1] * 2, "epoch": 2.0,
                             "xi_epoch": [2.0, 1.5, 2.0, math.inf],
                             "xi_loss": [2.0, 2.2, math.inf, math.inf], "within_epoch": [0.7, 0.5, 0.6, 0.55],
                             "within_loss": [0.7, 0.6, 0.6, 0.5], "loss_level": [0.1, 0.1, 0.2, 0.2]})
    structure = pd.DataFrame({"seed": [0, 1, 0, 1], "step": [0, 0, 10, 10], "rho": [0.5, 0.5, -0.4, 0.1],
                              "p_value": [0.5, 0.5, 0.01, 0.3]})
    layers = pd.DataFrame({"seed": [0, 1, 0, 1], "step": [10] * 4, "layer": ["input", "input", "hidden 1", "hidden 1"],
                           "xi_rel": [0.8, 0.7, math.inf, 0.6], "s_near": [0.5, 0.4, 0.3, 0.6],
                           "near_is_max": [True, True, False, True]})
    return ex.Measured(curves, pd.DataFrame(), xi, {}), trend, lr_table, structure, layers


def test_lr_slopes_are_least_squares_slopes_on_log_lr_per_seed():
    lrs = [0.01, 0.1, 1.0, 10.0]
    table = pd.DataFrame({"seed": [0] * 4 + [1] * 4, "lr": lrs * 2,
                          "y": [2 * np.log10(lr) for lr in lrs] + [1.0, 0.0, 1.0, 0.0]})
    assert ex.lr_slopes(table, "y") == pytest.approx([2.0, -0.2])  # seed 1: x = -2..1, y - 0.5 = +-0.5: -1 / 5
    assert math.isnan(ex.lr_slopes(table.assign(y=[1.0, math.inf] * 4), "y")[0])


def test_early_stiffness_reads_the_first_checkpoint_and_half_the_initial_loss():
    curves = pd.DataFrame({"seed": 0, "lr": [0.1] * 3 + [1.0] * 3, "step": [0, 5, 10] * 2, "epoch": [0, 1, 2] * 2,
                           "pairs": "train-test", "kind": "cos", "train_loss": [2.0, 1.5, 0.9, 2.0, 1.0, 0.1],
                           "between": [-0.1, -0.08, -0.05, -0.1, 0.02, 0.0], "within": 0.5})
    t = ex.early_stiffness(ex.Measured(curves, pd.DataFrame(), pd.DataFrame(), {})).set_index("lr")
    assert t.between_first.tolist() == [-0.08, 0.02] and t.loss_first.tolist() == [1.5, 1.0]
    assert t.between_half.tolist() == [-0.05, 0.02] and t.epoch_half.tolist() == [2, 1]
    never = ex.early_stiffness(ex.Measured(curves.assign(train_loss=2.0), pd.DataFrame(), pd.DataFrame(), {}))
    assert never.between_half.isna().all()


def test_claim_values_read_every_seed_and_the_c2_noise_band():
    from companion import claims as cl

    measured, trend, lr_table, structure, layers = _claim_tables()
    early = ex.early_stiffness(measured)
    v = ex.claim_values(_p(lr=0.1, lrs=[0.05, 0.1], n_seeds=2), measured, trend, lr_table, structure, layers, early)
    assert v["cos_within_minus_between_end_min"] == pytest.approx(0.55)  # seed 1: 0.5 - (-0.05)
    assert v["sign_within_minus_between_end_min"] == pytest.approx(1.0)  # seed 1: 0.9 - (-0.1)
    assert v["cos_within_minus_between_init_min"] == pytest.approx(1.0)
    assert v["test_loss_rise_after_min_smallest"] == pytest.approx(0.01)
    assert v["between_rise_mean"] == pytest.approx(0.05) and v["between_rise_se2"] == pytest.approx(0.0)
    # a negative peak falling by 0.02 and 0.04 moves away from 0: a decay towards 0 of -0.02 and -0.04
    assert v["between_decay_mean"] == pytest.approx(-0.03)  # sd 0.01414, 2 SE = 2 * 0.01
    assert v["between_decay_se2"] == pytest.approx(0.02) and v["between_decay_by_seed"] == "-0.020, -0.040"
    assert v["between_peak_mean"] == pytest.approx(-0.05) and v["between_peak_se2"] == pytest.approx(0.0)
    # lr 0.05 -> 0.1: between-class S_cos 0.5 -> -0.05 at the first checkpoint (step 10, loss 0.5: half of 2.0)
    slope = -0.55 / math.log10(2)
    assert v["between_first_lr_slope_mean"] == pytest.approx(slope) and v["between_first_lr_slope_se2"] == 0
    assert v["between_half_lr_slope_mean"] == pytest.approx(slope) and v["first_epoch"] == 10
    assert v["nearest_bin_stiffness_end_min"] == pytest.approx(0.4) and v["seeds_nearest_bin_not_stiffest"] == 0
    assert (v["xi_init_max"], v["xi_end_min"], v["xi_end_minus_init_max"]) == (3.0, 2.5, -0.5)
    assert v["xi_step_spearman_max"] == pytest.approx(-0.5)  # seed 1: xi 3.0, 2.3, 2.5 is not monotone
    assert v["xi_step_spearman_by_seed"] == "-1.00, -0.50" and v["seeds_xi_end_infinite"] == 0
    # seed 0: xi 2.0 -> 1.5 falls; seed 1 has an infinite xi: no slope, so the mean is not a number (undecided)
    assert v["xi_epoch_lr_slopes"] == f"{-0.5 / math.log10(2):.3f}, nan" and math.isnan(v["xi_epoch_lr_slope_mean"])
    assert math.isnan(v["xi_loss_lr_slope_mean"])
    assert v["xi_epoch_by_seed"] == "2.000 / 1.500; 2.000 / inf" and v["loss_levels_by_seed"] == "0.100, 0.200"
    # within-class S_cos falls from lr 0.05 to 0.1 by 0.2 and 0.05 (epoch), 0.1 and 0.1 (loss), per log10(2)
    assert v["within_epoch_lr_slope_mean"] == pytest.approx(-0.125 / math.log10(2))
    assert v["within_epoch_lr_slope_se2"] == pytest.approx(0.15 / math.log10(2))  # sd 0.075 * sqrt(2), 2 SE = sd * sqrt(2)
    assert v["within_loss_lr_slope_mean"] == pytest.approx(-0.1 / math.log10(2))
    assert v["within_loss_lr_slope_se2"] == pytest.approx(0, abs=1e-12)
    assert v["within_epoch_by_lr"] == "0.650 / 0.525"
    assert (v["class_distance_rho_max"], v["class_distance_p_max"]) == (0.1, 0.3)  # the last checkpoint only
    assert "superclass_same_minus_other_min" not in v  # digits has no super-classes
    assert v["layer_seeds_nearest_bin_not_stiffest"] == 1 and v["layer_seeds_xi_infinite"] == 1
    assert v["layer_nearest_bin_stiffness_min"] == pytest.approx(0.3)
    rows = {r["id"]: r["verdict"] for r in cl.evaluate(ex.CLAIMS, v)}
    assert rows == {"C1": "holds", "C2": "fails", "C3a": "holds", "C10a": "fails", "C10b": "fails",
                    "C11a": "undecided", "C11b": "undecided", "C7": "fails", "C9": "fails", "C3b": "holds",
                    "C4": "undecided", "C5": "undecided", "C6": "undecided"}  # C8 is left out: its values are absent


def test_c6_reads_both_within_class_slopes_within_two_standard_errors():
    c6 = next(c for c in ex.CLAIMS if c.id == "C6").rule
    both = lambda e, l: {"within_epoch_lr_slope_mean": e, "within_epoch_lr_slope_se2": 0.02,
                         "within_loss_lr_slope_mean": l, "within_loss_lr_slope_se2": 0.02}
    assert c6(both(-0.05, -0.03)) == "holds"
    assert c6(both(-0.05, 0.03)) == "fails"  # higher at a larger lr, at matched loss
    assert c6(both(-0.05, -0.01)) == "undecided"  # within the noise band


def test_c2_reads_the_decay_towards_zero_within_two_standard_errors():
    from companion import claims as cl

    p = _p(lr=0.1, lrs=[0.05, 0.1], n_seeds=2)

    def verdict(fall, peak):
        measured, trend, lr_table, structure, layers = _claim_tables(fall, peak)
        values = ex.claim_values(p, measured, trend, lr_table, structure, layers, ex.early_stiffness(measured))
        return next(r["verdict"] for r in cl.evaluate(ex.CLAIMS, values) if r["id"] == "C2")

    assert verdict((0.02, 0.04), peak=0.1) == cl.HOLDS  # a positive peak falls towards 0
    assert verdict((0.0, 0.008), peak=0.1) == cl.UNDECIDED  # mean 0.004 within 2 SE = 0.008
    assert verdict((0.0, 0.0), peak=0.1) == cl.FAILS  # the peak is at t* in every seed
    assert verdict((0.22, 0.24), peak=0.1) == cl.FAILS  # it falls past 0, to -0.12 and -0.14: further from 0
    assert verdict((0.02, 0.04), peak=-0.05) == cl.FAILS  # a negative peak that falls moves away from 0
    structure = _claim_tables()[3].assign(same_group=0.1, other_group=[0.0, 0.0, 0.05, -0.1])
    measured, trend, lr_table, _, layers = _claim_tables()
    v = ex.claim_values(p, measured, trend, lr_table, structure, layers, ex.early_stiffness(measured))
    assert v["superclass_same_minus_other_min"] == pytest.approx(0.05)  # last checkpoint: 0.1 - 0.05, 0.1 + 0.1
