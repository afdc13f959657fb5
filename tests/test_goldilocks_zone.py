"""The Goldilocks experiment functions, on cases small enough to check exactly."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from companion.claims import evaluate
from companion.experiments import goldilocks_zone as gz
from companion.landscape import HessianOperator, dense_hessian, random_subspace
from companion.landscape.zone import half_maximum_level, half_maximum_zone
from companion.params import ParameterError


def _summary(values, se=0.01):
    scales = [0.1, 0.5, 1.0, 2.0, 10.0][:len(values)]
    return pd.DataFrame({"scale": scales, "gamma": values, "gamma_se": se, "frac_pos": values, "frac_pos_se": se})


def test_zone_is_the_full_width_at_half_maximum_above_the_larger_end():
    # ends 0.1 and 0.3, peak 0.9: level (0.9 + 0.3) / 2 = 0.6; rows given out of order on purpose
    table = _summary([0.1, 0.65, 0.9, 0.5, 0.3]).iloc[[3, 0, 4, 2, 1]]
    assert half_maximum_level(table) == pytest.approx(0.6)
    assert half_maximum_zone(table) == [0.5, 1.0]
    assert half_maximum_zone(table.rename(columns={"scale": "s", "gamma": "g"}), x="s", y="g") == [0.5, 1.0]


def test_no_shell_when_the_peak_is_at_an_end():
    assert half_maximum_zone(_summary([0.1, 0.2, 0.3, 0.4, 0.9])) == []
    assert half_maximum_zone(_summary([0.9, 0.2, 0.3, 0.4, 0.1])) == []


def test_shells_are_per_activation_in_the_given_order():
    relu, tanh = _summary([0.1, 0.65, 0.9, 0.5, 0.3]), _summary([0.1, 0.2, 0.3, 0.4, 0.9])
    summary = pd.concat([relu.assign(activation="relu"), tanh.assign(activation="tanh")])
    assert gz.shells(summary, ["tanh", "relu"]) == {"tanh": [], "relu": [0.5, 1.0]}


def _peak_verdict(summary):
    """C2's rule (the interior peak above both ends by two s.e.) on the gamma column of a summary."""
    return {c.id: c for c in gz.CLAIMS}["C2"].rule(gz.peak_values(summary, "gamma", "relu_gamma"))


def test_interior_peak_needs_two_standard_errors_over_both_ends():
    assert gz.peak_values(_summary([0.1, 0.5, 0.3], se=0.05), "gamma", "g") == pytest.approx({
        "g_peak": 0.5, "g_peak_scale": 0.5, "g_start": 0.1, "g_end": 0.3, "g_peak_minus_start": 0.4,
        "g_peak_minus_end": 0.2, "g_peak_minus_start_se2": 2 * np.hypot(0.05, 0.05),
        "g_peak_minus_end_se2": 2 * np.hypot(0.05, 0.05)})
    assert _peak_verdict(_summary([0.1, 0.5, 0.3], se=0.05)) == "holds"
    # 0.5 - 0.4 = 0.1 < 2 * hypot(0.05, 0.05) = 0.141: within the noise, not a peak nor its absence
    assert _peak_verdict(_summary([0.1, 0.5, 0.4], se=0.05)) == "undecided"
    # the highest interior point (0.2 at scale 0.5) lies 0.4 below the end, far beyond 2 s.e.
    assert gz.peak_values(_summary([0.1, 0.2, 0.6], se=0.01), "gamma", "g")["g_peak_scale"] == 0.5
    assert _peak_verdict(_summary([0.1, 0.2, 0.6], se=0.01)) == "fails"


SCALES = [0.1, 1.0, 2.0, 10.0]


def _claim_inputs(activations=("relu",), n_groups=2):
    """A hand-made run: relu's Tr/||H|| peaks at scale 2 (0.5) with ends 0.2 and 0.3, every s.e. 0.01."""
    summary = pd.concat([pd.DataFrame({"activation": a, "scale": SCALES, "frac_pos": [0.55, 0.6, 0.58, 0.57],
                                       "frac_pos_se": 0.01, "gamma": [0.2, 0.35, 0.5, 0.3], "gamma_se": 0.01})
                         for a in activations])
    sphere = pd.DataFrame({"surface": "sphere", "dim": [16] * 4 + [64] * 4, "scale": SCALES * 2, "seed": 0,
                           "radius": [1.0, 10.0, 20.0, 100.0] * 2, "test_acc": [0.2, 0.3, 0.4, 0.1, 0.9, 0.8, 0.7, 0.2]})
    sphere["end_radius"] = sphere.radius * (1 + 1e-12)
    plane = sphere.assign(surface="plane", end_radius=sphere.radius + 25.0, test_acc=0.99)  # best everywhere: not read
    hyper = pd.concat([plane, sphere], ignore_index=True)
    selection = pd.DataFrame({"rule": list(gz.compute.RULES), "picked_steps": [30.0, 40.0, 35.0],
                              "random_steps": 38.0, "p_value": [0.01, 0.7, 0.2]}) if n_groups else None
    p = SimpleNamespace(activations=list(activations), n_inits=20, n_groups=n_groups, group_size=5)
    return p, summary, gz.shells(summary, activations), hyper, (-0.4, 0.003), selection


def test_claim_values_on_a_hand_made_run():
    values = gz.claim_values(*_claim_inputs())
    assert values["relu_shell"] == values["hyperplane_shell"] == [2.0]  # above the level (0.5 + 0.3) / 2 = 0.4
    assert values["relu_gamma_peak"] == 0.5 and values["relu_gamma_peak_scale"] == 2.0
    assert values["relu_gamma_peak_minus_start"] == pytest.approx(0.3)
    assert values["relu_gamma_peak_minus_end_se2"] == pytest.approx(2 * np.hypot(0.01, 0.01))
    assert values["relu_frac_pos_peak_scale"] == 1.0 and values["relu_frac_pos_peak_minus_end"] == pytest.approx(0.03)
    assert values["relu_gamma_at_1"] == 0.35 and values["relu_half_maximum_level"] == pytest.approx(0.4)
    # the level's s.e. is half the peak's and the larger end's combined
    assert values["relu_gamma_at_1_vs_level_se2"] == pytest.approx(2 * np.hypot(0.01, np.hypot(0.01, 0.01) / 2))
    assert values["hyperplane_dims_best_outside_shell"] == 1  # d=16 best at 2 (in), d=64 at 0.1 (out)
    assert values["hyperplane_best_scales"] == "d=16: 2 (0.40), d=64: 0.1 (0.90)"  # the sphere runs only
    assert values["sphere_radius_error"] == pytest.approx(1e-12, rel=1e-3)
    assert values["plane_end_radius"] == "0.1: 26.0-26.0, 1: 35.0-35.0, 2: 45.0-45.0, 10: 125.0-125.0"
    assert values["loss_frac_pos_spearman"] == -0.4 and values["loss_frac_pos_p"] == 0.003
    assert values["select_gamma_picked_steps"] == 30.0 and values["select_loss_p"] == 0.2
    verdicts = {r["id"]: r["verdict"] for r in evaluate(gz.CLAIMS, values)}
    assert verdicts == {"C1": "holds", "C2": "holds", "C3": "fails", "C5": "fails", "S1": "holds", "C6": "holds",
                        "C7a": "holds", "C7b": "fails", "C7c": "fails"}  # no tanh: C4 is left out


def test_claims_not_measured_are_left_out():
    values = gz.claim_values(*_claim_inputs(activations=("tanh",), n_groups=0))
    assert not any(k.startswith(("relu_", "select_")) for k in values)
    assert values["hyperplane_activation"] == "tanh" and values["tanh_gamma_peak"] == 0.5
    assert [r["id"] for r in evaluate(gz.CLAIMS, values)] == ["C5", "S1", "C6", "C4"]


def test_curvature_point_matches_the_dense_hessian():
    data = SimpleNamespace(input_shape=(3,), n_classes=2)
    p = SimpleNamespace(widths=[4], init="xavier", device="cpu")
    model = gz.make_model(data, p, "tanh", 1.0, seed=0)
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(20, 3, generator=gen, dtype=torch.float64), torch.arange(20) % 2
    point = gz.curvature_point(model, X, y, dim=5, kind="orthonormal", seed=3)
    op = HessianOperator(model, X, y)
    M = random_subspace(op.dim, 5, seed=3, dtype=torch.float64)
    eig = torch.linalg.eigvalsh(M.T @ dense_hessian(op) @ M).numpy()
    assert point["eigenvalues"] == pytest.approx(eig.tolist(), rel=1e-9, abs=1e-12)
    assert point["frac_pos"] == np.mean(eig > 0)
    assert point["gamma"] == pytest.approx(eig.sum() / np.sqrt((eig ** 2).sum()) / np.sqrt(5), rel=1e-9)
    assert point["radius"] == pytest.approx(op.params.norm().item())


def test_init_selection_picks_by_each_rule_and_compares_with_the_group_mean():
    timed = pd.DataFrame({"init": range(4), "gamma": [0.1, 0.9, 0.2, 0.3], "frac_pos": [0.6, 0.5, 0.7, 0.4],
                          "loss": [2.0, 2.1, 2.2, 1.9], "steps": [10, 20, 30, 40]})
    picks = gz.init_selection(timed, SimpleNamespace(n_groups=1, group_size=4)).set_index("rule")
    assert picks.loc["highest Tr/||H||", "picked_steps"] == 20
    assert picks.loc["most positive eigenvalues", "picked_steps"] == 30
    assert picks.loc["lowest initial loss", "picked_steps"] == 40
    assert (picks["random_steps"] == 25).all()


def test_selection_test_is_one_sided():
    faster = pd.DataFrame({"group": range(8), "rule": "r", "picked_steps": 10.0, "random_steps": 20.0})
    slower = faster.assign(picked_steps=30.0)
    assert gz.selection_test(faster).p_value.item() < 0.01
    assert gz.selection_test(slower).p_value.item() > 0.99


def test_check_refuses_inconsistent_parameters():
    good = dict(n_groups=1, group_size=5, n_inits=20, scales=[0.5, 1.0, 2.0], n_seeds=4, panel_seeds=3)
    gz.check(SimpleNamespace(**good))
    with pytest.raises(ParameterError, match="n_groups \\* group_size = 50"):
        gz.check(SimpleNamespace(**{**good, "n_groups": 5, "group_size": 10}))
    with pytest.raises(ParameterError, match="'scales'.*1.0"):
        gz.check(SimpleNamespace(**{**good, "scales": [0.5, 2.0, 3.0]}))
    with pytest.raises(ParameterError, match="'panel_seeds' = 5.*at most n_seeds = 4"):
        gz.check(SimpleNamespace(**{**good, "panel_seeds": 5}))


def test_shell_band_reaches_halfway_to_the_neighbouring_scales():
    s = pd.DataFrame({"scale": [0.5, 1.0, 2.0, 4.0], "radius": [1.0, 4.0, 16.0, 64.0]})
    assert gz.shell_band(s, [1.0, 2.0]) == pytest.approx((2.0, 32.0))
    assert gz.shell_band(s, [4.0]) == pytest.approx((32.0, 64.0))
    assert gz.shell_band(s, []) is None


def test_subspaces_larger_than_the_model_are_refused():
    p = SimpleNamespace(dataset="digits", n_train=100, n_test=50, seed=0, widths=[2], activations=["relu"],
                        init="xavier", device="cpu", subspace_dim=500, train_dims=[4])
    with pytest.raises(ParameterError, match="'subspace_dim' asks for d = 500.*D = 160"):
        gz.load_data(p)


def _seeds_used(monkeypatch, seed):
    """The seeds of every init and subspace a tiny run with ``seed`` draws (data from ``seed`` as well)."""
    from companion.experiments.goldilocks_zone import compute

    used = {"init": [], "subspace": []}

    def record(kind, fn):
        def wrapped(*args, seed, **kwargs):
            used[kind].append(seed)
            return fn(*args, seed=seed, **kwargs)
        return wrapped

    monkeypatch.setattr(compute, "mlp", record("init", compute.mlp))
    monkeypatch.setattr(compute, "random_subspace", record("subspace", compute.random_subspace))
    p = SimpleNamespace(dataset="digits", n_train=60, n_test=50, seed=seed, widths=[3], activations=["relu"],
                        init="xavier", device="cpu", scales=[0.5, 1.0], subspace_dim=2, subspace_kind="orthonormal",
                        n_seeds=2, train_scales=[0.5, 1.0], train_dims=[2], train_seeds=2, train_steps=1, train_lr=0.1,
                        n_inits=3)
    data = gz.load_data(p)
    used["init"].clear()  # load_data's model only counts parameters
    gz.curvature_vs_radius(data, p)
    gz.hyperplane_training(data, p)
    gz.inits_at_one_radius(data, p)
    return {k: set(v) for k, v in used.items()}, data


def test_seeds_0_and_1_share_no_init_subspace_or_data(monkeypatch):
    zero, data0 = _seeds_used(monkeypatch, 0)
    one, data1 = _seeds_used(monkeypatch, 1)
    assert len(zero["init"]) == 2 + 3 and len(zero["subspace"]) == 2 + 2 + 3  # rays, hyperplanes, inits at one radius
    assert not zero["init"] & one["init"] and not zero["subspace"] & one["subspace"]
    assert not zero["init"] & zero["subspace"]
    assert not torch.equal(data0.X_train, data1.X_train)
