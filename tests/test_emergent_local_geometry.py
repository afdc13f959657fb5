"""The notebook-08 experiment functions, on cases small enough to check exactly."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from companion.claims import evaluate
from companion.experiments import emergent_local_geometry as el
from companion.landscape import HessianOperator, dense_hessian
from companion.landscape.gauss_newton import dense_gauss_newton
from companion.landscape.gradients import per_logit_grads
from companion.nn import Trajectory, n_parameters
from companion.params import ParameterError


def _p(**change):
    p = dict(dataset="digits", n_train=1000, n_test=300, class_counts=[2, 5, 10], model="mlp", widths=[32, 32],
             channels=[4], activation="relu", init="torch", lr=0.05, batch_size=50, epochs=60, n_checkpoints=12,
             lanczos_steps=60, slq_probes=8, n_cosine=10, model_examples=300, hyper_scales=[0.1, 1.0, 10.0],
             hyper_dim=20, hyper_steps=10, hyper_lr=0.05, hyper_repeats=1, memory_budget_mb=256.0, seed=0, device="cpu")
    p.update(change)
    return SimpleNamespace(**p)


@pytest.mark.parametrize("change, words", [
    (dict(class_counts=[5, 2]), "'class_counts' = [5, 2] must be distinct, increasing"),
    (dict(class_counts=[2, 11]), "at most the 10 classes of digits"),
    (dict(hyper_scales=[0.5, 2.0, 3.0]), "including 1.0"),
    (dict(lanczos_steps=40), "lanczos_steps >= 41"),
    (dict(batch_size=300), "exceeds the 200 training examples of the 2-class task"),
    (dict(n_cosine=95), "at most 90"),
    (dict(model_examples=1000), "at most 90"),
])
def test_check_refuses_inconsistent_parameters(change, words):
    with pytest.raises(ParameterError, match=None) as err:
        el.check(_p(**change))
    assert words in str(err.value)


def test_defaults_pass_the_check():
    el.check(_p())


def _p3(series):
    """P3's verdict on a lambda_max series."""
    i, up, down = el.peak_position(series)
    return {c.id: c for c in el.CLAIMS}["P3"].rule({"lambda_max_rise": up, "lambda_max_end_over_peak": down})


def test_p3_needs_a_rise_then_a_fall():
    assert el.peak_position([1.0, 2.0, 1.4]) == (1, 2.0, 0.7)
    assert _p3([1.0, 2.0, 1.4]) == "holds"
    assert _p3([1.0, 2.0, 1.6]) == "fails"  # falls only to 0.8 of the peak
    assert _p3([1.0, 1.4, 0.5]) == "fails"  # rises only x1.4
    assert _p3([1.0, 2.0, 3.0]) == "fails"  # peak at the end: end / peak = 1
    assert _p3([3.0, 2.0, 1.0]) == "fails"  # peak at the start: peak / start = 1


def test_zone_is_the_full_width_at_half_maximum():
    hyper = pd.DataFrame({"scale": [0.1, 0.3, 1.0, 3.0, 10.0], "gamma": [0.1, 0.5, 0.9, 0.65, 0.3]})
    assert el.zone(hyper) == [1.0, 3.0]  # above the level (0.9 + 0.3) / 2 = 0.6
    assert el.zone(hyper.assign(gamma=[0.1, 0.2, 0.3, 0.4, 0.5])) == []


def test_checkpoint_steps_are_half_geometric_half_even_and_keep_the_ends():
    traj = Trajectory(pd.DataFrame(), checkpoints=[(s, None) for s in range(0, 1001, 10)])
    steps = el.checkpoint_steps(traj, 8)
    assert steps[0] == 0 and steps[-1] == 1000 and steps == sorted(set(steps))
    # geometric targets 10, 46, 215, 1000 (nearest stored on a log scale), even ones 250, 500, 750
    assert steps == [0, 10, 50, 220, 250, 500, 750, 1000]


def test_per_class_subset_groups_by_class():
    y = torch.tensor([2, 0, 1, 0, 2, 1, 0])
    assert el.per_class_subset(y, 2).tolist() == [1, 3, 2, 5, 0, 4]
    with pytest.raises(ParameterError, match="class 1 has only 2"):
        el.per_class_subset(y, 3)


def test_cosine_matrix_orders_by_logit_and_pair_means_average_each_group():
    J = torch.tensor([[[1.0, 0.0], [0.0, 1.0]],  # example 0, class 0: logit 0 along e1, logit 1 along e2
                      [[1.0, 1.0], [0.0, 2.0]]], dtype=torch.float64)  # example 1, class 1
    cos, index = el.cosine_matrix(J, torch.tensor([0, 1]))
    assert index.logit.tolist() == [0, 0, 1, 1] and index.input_class.tolist() == [0, 1, 0, 1]
    s = 2 ** -0.5
    assert np.allclose(cos, [[1, s, 0, 0], [s, 1, s, s], [0, s, 1, 1], [0, s, 1, 1]])
    means = el.pair_means(cos, index)
    assert means["same logit"] == pytest.approx((s + 1) / 2)  # pairs (0,1) and (2,3), both orders
    assert np.isnan(means["same logit, same class"])  # no such pair
    assert means["other logit, same class"] == pytest.approx((0 + s) / 2)  # (0,2) and (1,3)
    assert means["other logit, other class"] == pytest.approx((0 + s) / 2)  # (0,3) and (1,2)


def _tiny(classes=3, n=45):
    from companion.data import load
    data = load("digits", n_train=n, n_test=30, classes=list(range(classes)), seed=0)
    p = _p(widths=[4], class_counts=[classes], n_train=n, lanczos_steps=None, n_cosine=3, model_examples=9)
    return data, p


def test_top_spectrum_with_a_full_krylov_space_is_the_dense_spectrum():
    data, p = _tiny()
    net = el.make_model(data, p)
    X, y = data.split("train", "cpu", torch.float64)
    D = n_parameters(net)
    p.lanczos_steps = D  # 275: the whole space, so the Ritz values are the eigenvalues
    spectra = el.top_spectrum(net, X, y, 7, p)
    H = torch.linalg.eigvalsh(dense_hessian(HessianOperator(net, X, y))).flip(0)[:7]
    G = torch.linalg.eigvalsh(dense_gauss_newton(net, X, y)).flip(0)[:7]
    assert torch.allclose(spectra["H"].eigenvalues, H, atol=1e-10)
    assert torch.allclose(spectra["G"].eigenvalues, G, atol=1e-10)


def test_clustering_and_model_spectrum_on_a_tiny_network():
    data, p = _tiny()
    p.lanczos_steps = 30
    p.slq_probes = 2
    net = el.make_model(data, p)
    X, y = data.split("train", "cpu", torch.float64)
    from companion.nn import train
    traj = train(net, X, y, lr=0.5, steps=20, checkpoint_every=10)
    pairs, mats = el.clustering(net, traj, data, p)
    assert pairs.stage.tolist() == ["init", "trained"] and set(el.PAIR_GROUPS) <= set(pairs.columns)
    cos, index = mats["trained"]
    assert cos.shape == (9 * 3, 9 * 3) and np.allclose(np.diag(cos), 1)
    J = per_logit_grads(net, X[el.per_class_subset(y, 3)])
    V = J.permute(1, 0, 2).reshape(27, -1)
    assert np.allclose(cos[1, 5], (V[1] @ V[5] / V[1].norm() / V[5].norm()).item())
    top, densities, summary = el.model_spectrum(net, data, p)
    assert set(top.matrix) == {"H", "G", "model", "signal"}
    assert len(top[top.matrix == "signal"]) == 3 and abs(top[top.matrix == "signal"].eigenvalue.iloc[-1]) < 1e-10
    assert summary["n_examples"] == 9 and summary["dim"] == n_parameters(net)
    assert summary["H2_extreme"] >= 0 and np.isfinite(summary["trace_hutchpp"])
    for d in densities.values():
        assert torch.allclose(d.weights.sum(dim=1), torch.ones(2, dtype=torch.float64), atol=1e-8)
    counts = el.model_counts(top)
    assert counts.matrix.tolist() == ["H", "G", "model", "signal"] and (counts.outliers >= 0).all()
    assert counts.set_index("matrix").outliers["signal"] == 2  # diag p - p p^T has rank C - 1


def _claim_inputs(**over):
    counts = pd.DataFrame([{"C": C, "matrix": m, "outliers": n, "edge": 0.5} for C, n in ((2, 1), (5, 4), (10, 9))
                           for m in ("H", "G")])
    dynamics = pd.DataFrame({"epoch": [0, 0.5, 2, 10, 40], "lambda_max": [1, 2, 6, 8, 5], "outliers": [0, 2, 9, 10, 9],
                             "confined": [0.1, 0.2, 0.6, 0.9, 0.95], "chance": 0.003,
                             "in_means_span": [0.1, 0.2, 0.6, 0.8, 0.9], "model_signal": [0.9, 1.8, 5, 7, 4.5]})
    hyper = pd.DataFrame({"scale": [0.1, 1.0, 10.0], "test_acc": [0.5, 0.9, 0.2], "gamma": [0.1, 0.5, 0.2],
                          "end_over_start": [3.0, 1.5, 1.0]})
    pairs = pd.DataFrame([{"stage": s, "same logit": 0.7, "same logit, same class": 0.8,
                           "same logit, other class": 0.6, "other logit, same class": 0.0,
                           "other logit, other class": 0.05} for s in ("init", "trained")])
    sc = pd.DataFrame({"matrix": ["H", "G", "model", "signal"], "lambda_1": [9.0, 9.0, 8.0, 7.5],
                       "outliers": [9, 9, 9, 9], "edge": 0.5})
    summary = {"H2_extreme": 0.2, "G_max": 9.0}
    args = dict(counts=counts, dynamics=dynamics, hyper=hyper, zone_scales=[1.0], full_test_acc=0.95, pairs=pairs,
                spectrum_counts=sc, summary=summary)
    args.update(over)
    return args


def _verdicts(values):
    return {r["id"]: r["verdict"] for r in evaluate(el.CLAIMS, values)}


def test_claim_values_on_a_case_made_to_satisfy_every_threshold():
    values = el.claim_values(_p(hyper_dim=20), **_claim_inputs())
    assert values["outliers_worst_miss"] == 1 and values["outliers_by_C"].startswith("C=2: 1 (G: 1) above 0.5")
    # with >= C - 1 = 9 outliers: epochs 2, 10 and 40
    assert values["confined_median"] == 0.9 and values["in_means_span_median"] == 0.8
    assert values["checkpoints_with_outliers"] == 3 and values["confined_min"] == 0.6
    assert values["outliers_from_epoch"] == 2 and values["end_over_start_radius"] == "0.1: 3.00, 1: 1.50, 10: 1.00"
    assert values["lambda_max_peak"] == 8 and values["lambda_max_peak_epoch"] == 10
    assert values["lambda_max_rise"] == 8 and values["lambda_max_end_over_peak"] == 0.625
    assert values["signal_lambda_max_pearson"] == pytest.approx(
        np.corrcoef([0.9, 1.8, 5, 7, 4.5], [1, 2, 6, 8, 5])[0, 1])
    # bar 0.9 x 0.95 = 0.855: the zone offset (scale 1, 0.9) clears it, both outside (0.5, 0.2) do not
    assert (values["hyper_zone_offsets"], values["hyper_zone_offsets_below_bar"],
            values["hyper_outside_offsets_below_bar"]) == (1, 0, 2)
    assert values["success_bar"] == pytest.approx(0.855)
    assert values["cosine_margin_init"] == pytest.approx(0.65)
    assert values["cosine_margin_trained"] == pytest.approx(0.65)
    assert values["h2_over_g"] == pytest.approx(0.2 / 9) and values["model_outlier_miss"] == 0
    assert values["model_lambda_1_ratio"] == pytest.approx(8 / 9)
    assert _verdicts(values) == {c.id: "holds" for c in el.CLAIMS}
    assert [c.kind for c in el.CLAIMS] == ["paper"] * 4 + ["mechanism"] * 4 + ["sanity"]


def test_claims_fail_where_the_numbers_miss_their_thresholds():
    base = _claim_inputs()
    counts = base["counts"].copy()
    counts.loc[(counts.C == 5) & (counts.matrix == "H"), "outliers"] = 3  # |3 - 5| = 2
    dynamics = base["dynamics"].assign(lambda_max=[1, 2, 6, 8, 7], confined=[0.1, 0.2, 0.3, 0.4, 0.9])
    hyper = base["hyper"].assign(test_acc=[0.9, 0.85, 0.9])  # zone offset below 0.9 x 0.95, outside ones succeed
    pairs = base["pairs"].assign(**{"other logit, same class": [0.0, 0.65]})
    summary = {"H2_extreme": 5.0, "G_max": 9.0}
    sc = base["spectrum_counts"].assign(lambda_1=[9.0, 9.0, 3.0, 3.0])
    values = el.claim_values(_p(hyper_dim=20), **_claim_inputs(
        counts=counts, dynamics=dynamics, hyper=hyper, pairs=pairs, summary=summary, spectrum_counts=sc))
    verdicts = _verdicts(values)
    for key in ("P1", "P2", "P3", "P4", "M1", "M2", "M3"):
        assert verdicts[key] == "fails", key
    rows = {r["id"]: r for r in evaluate(el.CLAIMS, values)}
    assert "C=5: 3" in rows["P1"]["measured"] and "x0.88 of peak" in rows["P3"]["measured"]


def test_a_claim_whose_values_are_absent_is_left_out():
    values = el.claim_values(_p(hyper_dim=20), **_claim_inputs())
    del values["h2_over_g"]
    assert [r["id"] for r in evaluate(el.CLAIMS, values)] == ["P1", "P2", "P3", "P4", "M1", "M3", "M4", "M5"]


def test_seeds_0_and_1_share_no_init_batches_hyperplane_or_lanczos_start(monkeypatch):
    from companion.experiments.emergent_local_geometry import compute

    def seeds_used(seed):
        used = []

        def record(fn):
            def wrapped(*args, seed, **kwargs):
                used.append(seed)
                return fn(*args, seed=seed, **kwargs)
            return wrapped

        for name in ("mlp", "random_subspace", "train", "lanczos"):
            monkeypatch.setattr(compute, name, record(getattr(compute, name)))
        data, p = _tiny()
        p.seed, p.lanczos_steps, p.epochs, p.batch_size, p.hyper_steps = seed, 10, 1, 15, 1
        runs = compute.train_all({3: data}, p)
        compute.top_spectrum(*runs[3][:1], *data.split("train", "cpu", torch.float64), 3, p)
        compute.hyperplane_training(data, p)
        monkeypatch.undo()
        return set(used)

    zero, one = seeds_used(0), seeds_used(1)
    assert len(zero) == 6  # init, batches, Lanczos start, hyperplane init, hyperplane, hyperplane training
    assert not zero & one
