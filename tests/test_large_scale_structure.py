"""The large-scale-structure experiment functions (notebook 07), on cases small enough to check exactly."""

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from companion.experiments import large_scale_structure as lss
from companion.claims import evaluate
from companion.experiments.large_scale_structure.claims import above, ensemble_values
from companion.experiments.large_scale_structure.compute import sgd_run
from companion.landscape import HessianOperator, dense_hessian
from companion.landscape import function_space as fs
from companion.nn import flat_params, mlp
from companion.params import ParameterError


def _params(**over):
    p = dict(seed=0, device="cpu", dataset="digits", n_train=120, n_test=60, model="mlp", widths=[6], n_seeds=1,
             scales=[0.5, 1.0, 2.0], subspace_dims=[4, 16], subspace_steps=5, subspace_lr=0.05, d90_fraction=0.9,
             lr=0.2, lrs=[0.1, 0.2], width_factors=[0.5, 1.0], l2s=[0.0, 0.01], batch_size=30, max_steps=30,
             target_loss=0.05, checkpoint_every=10, lanczos_iters=8, n_solutions=3, connector_shared=2,
             connector_steps=5, connector_lr=0.01, connector_batch=30, connector_points=3, toy_dim=60, toy_short=8,
             toy_eps=0.2, toy_reach=3.0, toy_radii=[0.5, 1.0, 4.0], toy_dims=[2, 8, 12], snapshot_every=4, n_boot=200)
    p.update(over)
    return SimpleNamespace(**p)


# --- pure functions ------------------------------------------------------------------------------------------------

def test_d_threshold_interpolates_in_log_d():
    assert lss.d_threshold([10, 100], [0.5, 0.9], 0.7) == pytest.approx(math.sqrt(10 * 100))
    assert lss.d_threshold([10, 100, 1000], [0.5, 0.6, 0.9], 0.9) == pytest.approx(1000)
    assert lss.d_threshold([10, 100], [0.95, 0.99], 0.9) == 10.0  # the first grid point already reaches it
    assert math.isnan(lss.d_threshold([10, 100], [0.1, 0.2], 0.9))


def test_intrinsic_dimension_uses_each_seeds_full_space_accuracy():
    p = _params(subspace_dims=[10, 100], d90_fraction=0.5)
    rows = [{"seed": 0, "scale": 1.0, "radius": 2.0, "dim": 500, "full": True, "test_acc": 0.8}]
    for scale, accs in ((1.0, (0.2, 0.6)), (2.0, (0.1, 0.3))):
        rows += [{"seed": 0, "scale": scale, "radius": 2 * scale, "dim": d, "full": False, "test_acc": a}
                 for d, a in zip((10, 100), accs)]
    out = lss.intrinsic_dimension(pd.DataFrame(rows), p).set_index("scale")
    assert out.loc[1.0, "target_acc"] == pytest.approx(0.4)
    assert out.loc[1.0, "d90"] == pytest.approx(math.sqrt(1000))  # 0.4 is halfway from 0.2 to 0.6
    assert math.isnan(out.loc[2.0, "d90"])
    assert above(out.loc[2.0, "d90"], out.loc[1.0, "d90"]) and not above(1.0, float("nan"))


def test_knob_settings_sweep_one_knob_at_a_time_around_the_base():
    settings = lss.knob_settings(_params())
    assert settings == [("lr", 0.1, 0.1, 1.0, 0.0), ("lr", 0.2, 0.2, 1.0, 0.0), ("width", 0.5, 0.2, 0.5, 0.0),
                        ("width", 1.0, 0.2, 1.0, 0.0), ("l2", 0.0, 0.2, 1.0, 0.0), ("l2", 0.01, 0.2, 1.0, 0.01)]


def test_knob_effects_are_changes_from_the_smallest_to_the_largest_value():
    t = pd.DataFrame({"seed": 0, "knob": ["lr", "lr", "lr"], "value": [0.4, 0.1, 0.2], "lam_path": [1.0, 3.0, 2.0],
                      "lam_end": [0.5, 1.5, 1.0], "radius_pp": [0.3, 0.1, 0.2], "reached": [True, True, False]})
    e = lss.knob_effects(t).iloc[0]
    assert (e["from"], e["to"]) == (0.1, 0.4)
    assert e.d_lam_path == pytest.approx(-2.0) and e.d_lam_end == pytest.approx(-1.0)
    assert e.d_radius_pp == pytest.approx(0.2) and not e.all_reached


def test_barriers_rise_above_the_higher_end():
    paths = pd.DataFrame({"seed": 0, "kind": "straight line", "pair": "0-1", "t": [0.0, 0.5, 1.0],
                          "loss": [0.1, 0.7, 0.3], "acc": [1.0, 0.5, 0.9]})
    b = lss.path_barriers(paths).iloc[0]
    assert (b.end_loss, b.max_loss, b.min_acc) == (0.3, 0.7, 0.5) and b.barrier == pytest.approx(0.4)
    faces = pd.DataFrame({"seed": 0, "kind": "star", "face": [0, 0, 1, 1], "w_end": [1.0, 0.0, 1.0, 0.0],
                          "loss": [0.2, 0.25, 0.3, 0.25], "acc": 1.0})
    c = lss.connector_barriers(faces).iloc[0]
    assert (c.faces, c.end_loss, c.max_loss, c.barrier) == (2, 0.3, 0.3, 0.0)


def _claim_tables(connector_shared=2):
    """Hand-made tables of a two-seed run whose claim values are known exactly."""
    nan = float("nan")
    losses = ((0, 1.0, 4, 1.0), (0, 1.0, 16, 0.5), (0, 2.0, 4, 2.0), (0, 2.0, 16, 1.0),
              (1, 1.0, 4, 1.0), (1, 1.0, 16, 0.4), (1, 2.0, 4, 1.0), (1, 2.0, 16, 1.2))
    sub = pd.DataFrame([{"seed": s, "scale": sc, "dim": d, "full": False, "train_loss": loss}
                        for s, sc, d, loss in losses]
                       + [{"seed": s, "scale": 1.0, "dim": 64, "full": True, "train_loss": 0.0} for s in (0, 1)])
    d90 = pd.DataFrame({"seed": [0, 0, 1, 1], "scale": [1.0, 2.0, 1.0, 2.0], "d90": [10.0, 20.0, 10.0, nan]})
    knobs = pd.DataFrame([{"seed": s, "knob": k, "value": v, "lam_path": lam, "lam_end": lam, "radius_pp": r,
                           "reached": not (s == 1 and k == "l2" and v == 0.01)}
                          for s in (0, 1) for k, v, lam, r in (("lr", 0.1, 3.0, 0.1), ("lr", 0.2, 2.0, 0.2),
                                                              ("width", 1.0, 2.0, 0.2), ("width", 2.0, 1.0, 0.1),
                                                              ("l2", 0.0, 2.0, 0.2), ("l2", 0.01, 1.5, 0.1))])
    barriers = pd.DataFrame({"seed": [0] * 4 + [1] * 4, "kind": ["straight line", "star"] * 4,
                             "pair": ["0-1", "0-1", "0-2", "0-2"] * 2,
                             "barrier": [0.3, 0.0, 0.5, 0.05, 0.05, 0.0, 0.4, 0.2]})
    kinds = ["star"] + ([f"simplex (k={connector_shared})"] if connector_shared > 1 else [])
    conn = pd.DataFrame([{"seed": s, "kind": k, "barrier": b} for s, k, b in
                         ((0, "star", 0.01), (0, kinds[-1], 0.2), (1, "star", 0.01), (1, kinds[-1], 0.05))
                         if k in kinds]).drop_duplicates(["seed", "kind"])
    toy_thr = pd.DataFrame([{"model": m, "radius": r, "seed": s, "d_star": d} for m, r, s, d in (
        ("tunnel, whole plane", 1.0, 0, 2.0), ("tunnel, whole plane", 2.0, 0, 2.0),
        ("tunnel, whole plane", 1.0, 1, 2.0), ("tunnel, whole plane", 2.0, 1, 3.0),
        ("wedge, reach 3", 1.0, 0, 1.0), ("wedge, reach 3", 2.0, 0, 2.0),
        ("wedge, reach 3", 1.0, 1, 2.0), ("wedge, reach 3", 2.0, 1, nan),
        ("wedge, whole plane", 1.0, 0, 1.0), ("wedge, whole plane", 2.0, 0, 1.0),
        ("wedge, whole plane", 1.0, 1, 1.0), ("wedge, whole plane", 2.0, 1, 1.0))])
    toy_bar = pd.DataFrame({"seed": [0, 0, 0, 1, 1, 1], "kind": ["straight lines", "star", "simplex (k=2)"] * 2,
                            "max_loss": [0.5, 0.0, 0.0, 0.4, 0.0, 0.0],
                            "min_pair_max": [0.3, nan, nan, 0.2, nan, nan]})
    toy_conn = pd.DataFrame({"m": [1, 2, 3], "D_minus_m_n": [2, 0, -2], "shared_dim": [2, 0, -1]})
    return sub, d90, toy_thr, knobs, lss.knob_effects(knobs), barriers, conn, toy_bar, toy_conn, _margins()


def _margins(**intervals):
    """A margins table (as ``ensemble_margins``) whose every interval is (0.01, 0.03) unless ``intervals`` names one:
    ``acc_gain_segment=(lo, hi)``."""
    rows = []
    for kind in ("snapshots", "segment"):
        for measure in ("member_acc", "acc_gain", "nll_gain", "disagreement"):
            lo, hi = intervals.get(f"{measure}_{kind}", (0.01, 0.03))
            rows.append({"kind": kind, "measure": measure, "independent": 0.5, "within": 0.5 - (lo + hi) / 2,
                         "margin": (lo + hi) / 2, "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


def test_claim_values_count_the_seeds_each_claim_holds_in():
    p = _params(n_seeds=2, scales=[1.0, 2.0], lrs=[0.1, 0.2], width_factors=[1.0, 2.0], l2s=[0.0, 0.01],
                toy_short=2, toy_radii=[1.0, 2.0])
    v = lss.claim_values(p, *_claim_tables())
    # C1: seed 1's loss rises with d at scale 2; C2: seed 1's d90 is never reached at scale 2, which counts as above
    assert (v["c1_falling_seeds"], v["loss_step_max"], v["c2_rising_seeds"]) == (1, pytest.approx(0.2), 2)
    assert (v["d_first"], v["loss_d_first"], v["d_last"], v["loss_d_last"]) == (4, 1.0, 16, 0.5)
    # C3: the base setting runs once per seed (8 runs, one short of the target loss, so seed 1 counts for neither)
    assert (v["knob_runs"], v["knob_runs_reached"]) == (8, 7)
    assert (v["c3_curvature_seeds"], v["c3_radius_seeds"]) == (1, 0)
    # C4: seed 1 has a line below 0.1 nats and a star path keeping half its line's barrier
    assert (v["c4_line_seeds"], v["c4_star_seeds"]) == (1, 1)
    assert (v["line_barrier_min"], v["line_barrier_max"], v["star_path_barrier_max"]) == (0.05, 0.5, 0.2)
    # C5: seed 0's simplex keeps 0.2 of a largest line barrier of 0.5; seed 1's 0.05 of 0.4
    assert (v["c5_star_seeds"], v["c5_simplex_seeds"], v["line_barrier_seed_max_min"]) == (2, 1, 0.4)
    assert (v["star_barrier_max"], v["simplex_barrier_max"]) == (0.01, 0.2)
    # the toy: one tunnel threshold off n; within the reach d* rises in both seeds (NaN is above)
    assert (v["toy_tunnel_at_n"], v["toy_tunnel_cases"], v["toy_reach_rising_seeds"]) == (3, 4, 2)
    assert (v["toy_line_min"], v["toy_line_max"], v["toy_star_max"], v["toy_simplex_max"]) == (0.2, 0.5, 0.0, 0.0)
    assert (v["toy_m_matching"], v["toy_m_cases"], v["toy_m_last_shared"]) == (3, 3, 2)
    verdicts = {r["id"]: r["verdict"] for r in evaluate(lss.CLAIMS, v)}
    assert verdicts == {"C1": "undecided", "C2": "holds", "C3a": "undecided", "C3b": "fails", "C4a": "undecided",
                        "C4b": "undecided", "C5a": "holds", "C5b": "undecided", "C6a": "holds", "C6b": "holds",
                        "C6c": "holds", "C1t": "fails", "C2t": "holds", "C4t": "holds", "C5t": "holds"}


def test_claim_values_leave_out_the_simplicial_connector_when_there_is_none():
    p = _params(n_seeds=2, scales=[1.0, 2.0], lrs=[0.1, 0.2], width_factors=[1.0, 2.0], l2s=[0.0, 0.01],
                toy_short=2, toy_radii=[1.0, 2.0], connector_shared=1)
    v = lss.claim_values(p, *_claim_tables(connector_shared=1))
    assert "c5_simplex_seeds" not in v and "simplex_barrier_max" not in v
    assert [r["id"] for r in evaluate(lss.CLAIMS, v)] == [c.id for c in lss.CLAIMS if c.id != "C5b"]


def test_ensemble_claims_hold_fail_or_stay_undecided_by_their_intervals():
    def verdicts(**intervals):
        rows = evaluate(lss.CLAIMS, ensemble_values(_margins(**intervals)))
        return tuple(r["verdict"] for r in rows)  # only the C6 rows: the other claims' values are absent

    assert verdicts() == ("holds", "holds", "holds")
    # one within-wedge kind's interval below 0 fails the row; one containing 0 leaves it undecided
    assert verdicts(acc_gain_segment=(-0.03, -0.01), disagreement_snapshots=(-0.01, 0.02),
                    nll_gain_snapshots=(0.001, 0.002)) == ("fails", "holds", "undecided")
    v = ensemble_values(_margins(acc_gain_segment=(-0.03, -0.01)))
    assert v["ens_acc_gain_margin_segment"] == pytest.approx(-0.02) and v["ens_acc_gain_segment"] == pytest.approx(0.52)
    assert v["ens_member_acc_text"] == "independent 0.500, snapshots 0.480, segment 0.480"


def test_ensemble_margins_pair_the_kinds_on_each_example_averaged_over_the_seeds():
    rows = []
    for s in (0, 1):
        for e in range(4):
            for kind, value in (("independent", 1.0 - s), ("snapshots", 0.2), ("segment", 0.2 * e)):
                rows.append({"seed": s, "kind": kind, "example": e, **dict.fromkeys(
                    ("member_correct", "acc_gain", "nll_gain", "disagreement"), value)})
    m = lss.ensemble_margins(pd.DataFrame(rows), _params()).set_index(["kind", "measure"])
    # independent: 1 in seed 0 and 0 in seed 1, so 0.5 on every example; snapshots 0.2: every resample gives 0.3
    snap = m.loc[("snapshots", "acc_gain")]
    assert (snap.independent, snap.within) == (0.5, pytest.approx(0.2))
    assert (snap.margin, snap.lo, snap.hi) == (pytest.approx(0.3), pytest.approx(0.3), pytest.approx(0.3))
    # segment: margins 0.5, 0.3, 0.1, -0.1 on the four examples; the interval lies within their range
    seg = m.loc[("segment", "disagreement")]
    assert seg.margin == pytest.approx(0.2) and -0.1 - 1e-12 <= seg.lo < 0.2 < seg.hi <= 0.5 + 1e-12
    assert len(m) == 8


def test_segment_and_snapshot_members():
    seg = lss.segment_members(torch.zeros(3), torch.ones(3), 4)
    assert torch.equal(seg, torch.tensor([0.0, 0.25, 0.5, 0.75])[:, None].expand(4, 3))
    p = _params()
    data = lss.load_data(p)
    theta = flat_params(lss.make_model(data, p, seed=5))
    snaps = lss.snapshot_members(data, p, theta, 0, 0)
    # the solution first, and left as it was (the snapshots' training once moved it in place)
    assert snaps.shape == (p.n_solutions, theta.numel()) and torch.equal(snaps[0], theta)
    assert torch.equal(snaps, lss.snapshot_members(data, p, theta, 0, 0))  # seeded
    assert not torch.equal(snaps[1], theta) and not torch.equal(snaps[1], lss.snapshot_members(data, p, theta, 0, 1)[1])


def test_check_refuses_inconsistent_parameters():
    for over, words in (({"scales": [0.5, 2.0]}, "including 1.0"),
                        ({"subspace_dims": [16, 4]}, "strictly increasing"),
                        ({"lrs": [0.1, 0.4]}, "lrs = [0.1, 0.4] needs at least 2 values including the base 0.2"),
                        ({"batch_size": 500}, "exceeds n_train"),
                        ({"toy_short": 60}, "must be below toy_dim"),
                        ({"n_solutions": 8}, "toy_short = -4; 2 shared points need at least 1"),
                        ({"toy_radii": [0.5, 2.0]}, "toy_radii"),
                        ({"toy_dims": [2, 80]}, "larger than toy_dim")):
        with pytest.raises(ParameterError, match=words.replace("[", r"\[").replace("]", r"\]")):
            lss.check(_params(**over))
    lss.check(_params())


# --- networks ------------------------------------------------------------------------------------------------------

def test_top_eigenvalue_matches_the_dense_hessian():
    model = mlp(3, [4], 2, activation="tanh", seed=1)
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(30, 3, generator=gen), torch.arange(30) % 2
    before = flat_params(model)
    theta = before * 1.5
    lam = lss.top_eigenvalue(model, theta, X, y, iters=100)
    ref = torch.linalg.eigvalsh(dense_hessian(HessianOperator(lss.model_at(model, theta, torch.float64),
                                                              X.double(), y))).max().item()
    assert lam == pytest.approx(ref, rel=1e-9)
    assert torch.equal(flat_params(model), before)  # the model itself is untouched


def test_subspace_training_offsets_scale_the_radius_and_nest_the_subspaces():
    p = _params()
    data = lss.load_data(p)
    sub = lss.subspace_training(data, p)
    assert len(sub) == len(p.scales) * len(p.subspace_dims) + 1
    full = sub[sub.full].iloc[0]
    assert full.dim == lss.model_size(data, p) == 64 * 6 + 6 + 6 * 10 + 10 and full.scale == 1.0
    radii = sub[~sub.full].groupby("scale").radius.first()
    assert radii.to_numpy() == pytest.approx(np.array(p.scales) * radii[1.0], rel=1e-6)
    assert np.isfinite(sub.train_loss).all()
    # where each run ended: it moved, and its radius changed by at most the distance it moved (triangle inequality)
    assert (sub.moved > 0).all() and ((sub.end_radius - sub.radius).abs() <= sub.moved + 1e-9).all()
    with pytest.raises(ParameterError, match="asks for d = 5000, but the model has only D = 460"):
        lss.load_data(_params(subspace_dims=[5000]))


def test_the_cnn_variant_builds_and_trains_in_a_subspace():
    p = _params(model="cnn", widths=[2], scales=[1.0, 2.0], subspace_dims=[3])
    data = lss.load_data(p)
    sub = lss.subspace_training(data, p)
    assert len(sub) == 3 and np.isfinite(sub.train_loss).all()
    with pytest.raises(ParameterError, match="needs images"):
        lss.load_data(_params(dataset="mnist1d", model="cnn"))


def test_solutions_reuse_the_base_runs_and_connectors_keep_their_ends():
    p = _params()
    data = lss.load_data(p)
    knobs, base = lss.knob_study(data, p)
    assert len(knobs) == 6 and (knobs[knobs.value.isin([0.2]) & (knobs.knob == "lr")].lam_path > 0).all()
    same = knobs[((knobs.knob == "lr") & (knobs.value == 0.2)) | ((knobs.knob == "width") & (knobs.value == 1.0))]
    assert same.radius.nunique() == 1  # the base setting is one run, listed under every knob
    sols = lss.solutions(data, p, base)
    assert len(sols[0]) == 3 and torch.equal(sols[0][0], base[0])
    assert not torch.equal(sols[0][1], sols[0][2])
    paths, faces, history, hubs = lss.connector_study(data, p, sols)
    ends = paths[paths.t.isin([0.0, 1.0])]
    for (kind, pair), t in ends.groupby(["kind", "pair"]):  # straight lines and star paths start at the same ends
        other = ends[(ends.pair == pair) & (ends.kind != kind)]
        assert t.loss.to_numpy() == pytest.approx(other.loss.to_numpy(), rel=1e-6)
    assert set(faces.kind) == {"star", "simplex (k=2)"} and len(history) == 2 * p.connector_steps
    # C6: one independent ensemble and one of each within-wedge kind per solution, as ensemble_metrics computes them
    before = [t.clone() for t in sols[0]]
    table, examples = lss.ensemble_study(data, p, sols, hubs)
    assert all(torch.equal(a, b) for a, b in zip(before, sols[0]))  # the snapshots leave the solutions untouched
    assert table.groupby("kind").size().to_dict() == {"independent": 1, "segment": 3, "snapshots": 3}
    assert len(examples) == 3 * p.n_test and (table.members == 3).all()
    X, y = data.split("test", "cpu")
    ref = fs.ensemble_metrics(fs.predict_many(lss.make_model(data, p), torch.stack(sols[0]), X), y, sizes=[1, 3])
    ind = table[table.kind == "independent"].iloc[0]
    assert ind.ens_acc == pytest.approx(ref.accuracy.iloc[1]) and ind.member_acc == pytest.approx(ref.accuracy.iloc[0])
    assert (table.member_acc_min <= table.member_acc).all() and (table.member_acc <= table.member_acc_max).all()


# --- the toy -------------------------------------------------------------------------------------------------------

def test_toy_predictions_follow_the_dimension_counts():
    p = _params(n_seeds=2)
    curves, thresholds = lss.toy_subspace(p)
    tunnel = thresholds[thresholds.model.str.startswith("tunnel")]
    assert (tunnel.d_star == p.toy_short).all() and len(tunnel) == 2 * len(p.toy_radii)
    assert len(curves) == 2 * len(p.toy_radii) * len(p.toy_dims)
    conn = lss.toy_connectivity(p)
    assert conn.m.tolist() == list(range(1, 9))
    assert conn.shared_dim.tolist() == [52, 44, 36, 28, 20, 12, 4, -1]
    paths, bars = lss.toy_paths(p)
    b = bars.set_index(["seed", "kind"]).max_loss
    for s in (0, 1):
        assert b[(s, "star")] <= lss.LINE_TOL and b[(s, "simplex (k=2)")] <= lss.LINE_TOL
        assert b[(s, "straight lines")] > 0.01
    assert (paths[paths.kind == "star"].loss <= lss.LINE_TOL).all()


def test_seed_indices_and_purposes_draw_independent_streams():
    p, q = _params(), _params(seed=1)
    data = lss.load_data(p)
    run = lambda p, s, replica=0: sgd_run(data, p, s, 0.2, 1.0, 0.0, replica)[1].checkpoints[0][1]
    assert torch.equal(run(p, 1), run(p, 1))
    assert not torch.equal(run(p, 1), run(q, 0))  # seed 0 index 1 is not seed 1 index 0
    assert not torch.equal(run(p, 0, 1), run(p, 1, 0))  # nor is replica 1 of index 0 replica 0 of index 1
    assert not torch.equal(lss.toy_model(p, 1).short, lss.toy_model(q, 0).short)
    M, u = lss.toy_plane(p, 0)
    assert not torch.equal(M, lss.toy_plane(p, 1)[0]) and u.norm().item() == pytest.approx(1.0)
