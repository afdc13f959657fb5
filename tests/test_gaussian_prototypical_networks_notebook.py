"""The Gaussian prototypical networks experiment package on small cases, and its notebook end to end: the default
run (the small Omniglot subsets from $COMPANION_DATA, which CI provides) and the paper preset at reduced size on data
of its shape, asserting on what they recorded."""

import json
import os
import statistics
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from companion import paths, rng, runner
from companion.claims import definitions_hash, evaluate
from companion.experiments import gaussian_prototypical_networks as paper
from companion.fewshot import encoder, mean_ci
from companion.params import ParameterError
from conftest import run_notebook, stopped_by_validation

NB = runner.find("01_gaussian_prototypical_networks")
MODES = ["vanilla", "radius", "diagonal"]


# ------------------------------------------------------------------------------ the experiment package

def _p(**changes):
    base = dict(dataset="digits", image_size=8, filters=[8, 8, 8], init="xavier", transform="softplus",
                distance="euclidean", bn_mode="running", train_way=5, train_shot=1, train_query=2, steps=3, lr=1e-3,
                halve_every=2000, ways=[5], shots=[1], test_query=2, n_episodes=10, n_seeds=1,
                damage_fractions=[0.0, 0.5], damage_size=4, damage_modes=["vanilla", "radius"], quality_sizes=[8, 4],
                lake_runs=False, seed=0, device="cpu")
    return SimpleNamespace(**{**base, **changes})


@pytest.mark.parametrize("changes, words", [
    ({"filters": [8, 8, 8, 8]}, ["'filters'", "at most 3 blocks"]),
    ({"filters": [8, 8, 7]}, ["'filters'", "even"]),
    ({"ways": [20]}, ["12 test classes", "'ways'"]),
    ({"dataset": "omniglot", "image_size": 28, "shots": [5], "test_query": 16}, ["max(shots) + test_query = 21"]),
    ({"damage_fractions": [0.5]}, ["'damage_fractions'", "0.0"]),
    ({"damage_modes": ["radius"]}, ["'damage_modes'", "vanilla"]),
    ({"damage_size": 8}, ["'damage_size'"]),
    ({"lake_runs": True}, ["'lake_runs'", "Omniglot"]),
])
def test_check_names_the_parameter_and_what_is_allowed(changes, words):
    with pytest.raises(ParameterError) as info:
        paper.check(_p(**changes))
    for word in words:
        assert word in str(info.value)


def test_digits_split_is_class_and_group_disjoint_with_rotations():
    split = paper.load_data(_p())
    assert split.train.n_classes == 28 and split.test.n_classes == 12
    assert split.test.groups == ("3", "4", "7") and split.train.groups == ("0", "1", "2", "5", "6", "8", "9")
    assert len(split.train.X) + len(split.test.X) == 4 * 1797 and split.test.X.shape[1:] == (1, 8, 8)
    assert split.test.class_names[:4] == ("3", "3/rot90", "3/rot180", "3/rot270")
    assert float(split.test.X.max()) == 1.0 and float(split.test.X.min()) == 0.0


def test_every_mode_shares_the_init_and_the_experiment_runs_end_to_end():
    p = _p(n_seeds=2)
    split = paper.load_data(p)
    models, _ = paper.train_models(split, p)
    assert set(models) == {(m, r) for m in ("vanilla", "radius", "diagonal") for r in (0, 1)}
    inits = [paper.make_model(p, mode, 1).encoder.state_dict() for mode in ("vanilla", "radius", "diagonal")]
    assert all(torch.equal(inits[0][k], other[k]) for other in inits[1:] for k in inits[0])
    assert not torch.equal(paper.make_model(p, "vanilla", 0).encoder[0][0].weight, inits[0]["0.0.weight"])
    table, per_episode = paper.compare(models, split, p)
    assert len(table) == 6 and table.params.nunique() == 1
    diffs = paper.differences(per_episode, p)
    assert len(diffs) == 4 and set(diffs.verdict) <= {"higher", "tie", "lower"}
    damage_table, damage_pe, trained, _ = paper.damage_experiment(models, per_episode, split, p)
    assert len(damage_table) == 2 * 2 * 2 * 2  # runs x fractions x modes x tests
    assert np.array_equal(damage_pe[("radius", 0.0, "clean", 1)], per_episode[("radius", 5, 1, 1)])
    precisions = paper.precision_by_quality(trained, split, p)
    drops = paper.precision_drop(precisions, p)
    assert len(drops) == 4 and (paper.confidence_vs_quality(precisions, p).precision >= 1).all()
    floors = paper.precision_floors(trained, split, p)
    assert len(floors) == 4 and floors.share_at_floor.between(0, 1).all() and (floors.ci95 >= 0).all()
    rows = evaluate(paper.CLAIMS, paper.claim_values(p, table, diffs, damage_pe, drops, floors))
    assert [r["id"] for r in rows] == ["C1a", "C1b", "C3b", "C4b", "C5a", "C5c", "C6a"]  # 5w1s; fractions 0, 0.5
    assert all(r["verdict"] in ("holds", "fails", "undecided") for r in rows)


def test_the_init_parameter_reaches_the_encoder():
    xavier, tf1 = (paper.make_model(_p(init=init), "radius").encoder for init in ("xavier", "paper"))
    assert [m[2].eps for m in list(xavier)[:-1]] == [1e-5] * 3 and [m[2].eps for m in list(tf1)[:-1]] == [1e-3] * 3
    assert xavier[0][0].bias.abs().max().item() == 0 and tf1[0][0].bias.abs().min().item() > 0


def test_random_streams_are_independent_between_seeds_and_runs():
    """Seed 0 run 1 and seed 1 run 0 share no init (unlike seed + run); damaged images differ by side."""
    a, b = _p(seed=0), _p(seed=1)
    w = [paper.make_model(q, "vanilla", run).encoder[0][0].weight for q, run in ((a, 1), (b, 0), (a, 0))]
    assert not torch.equal(w[0], w[1]) and not torch.equal(w[1], w[2])
    assert torch.equal(w[2], encoder(1, a.filters, a.image_size, seed=rng.derive(0, "encoder init", 0))[0][0].weight)
    X = torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    masks = {side: paper.damaged(X, 0.5, a, side)[1] for side in ("train", "test")}
    assert not torch.equal(masks["train"], masks["test"]) and torch.equal(paper.damaged(X, 0.5, a, "train")[1],
                                                                           masks["train"])


def _claims_input():
    """A hand-made run of two training runs at 5-way 1-shot, fractions 0 and 0.5, radius only."""
    base = np.array([0.6, 0.8, 0.4, 1.0, 0.6, 0.8])
    pe = {("vanilla", 5, 1, 0): base, ("radius", 5, 1, 0): base + 0.1,  # run 0: radius clearly better
          ("vanilla", 5, 1, 1): base, ("radius", 5, 1, 1): base + np.array([0.2, -0.2, 0.2, -0.2, 0.2, -0.2])}
    table = pd.DataFrame([{"mode": m, "way": 5, "shot": 1, "run": r, "acc": v.mean(), "ci95": mean_ci(v)[1]}
                          for (m, _, _, r), v in pe.items()])
    dpe = {}
    for r in (0, 1):
        dpe[("vanilla", 0.0, "clean", r)] = dpe[("vanilla", 0.0, "damaged", r)] = base
        dpe[("radius", 0.0, "clean", r)] = dpe[("radius", 0.0, "damaged", r)] = base
        dpe[("vanilla", 0.5, "clean", r)] = base - 0.1
        dpe[("radius", 0.5, "clean", r)] = base + 0.05  # down-sampled training helps: C3 holds in both runs
        dpe[("vanilla", 0.5, "damaged", r)] = base - 0.2
        dpe[("radius", 0.5, "damaged", r)] = base - 0.2 + (0.1 if r == 0 else 0.0)  # gain grows in run 0 only
    drops = pd.DataFrame([{"mode": "radius", "fraction": f, "run": r, "clean": 2.0, "downsampled": 1.5,
                           "drop": 0.5, "ci95": 0.1 if f else 0.6, "share_lower": 0.9}
                          for f in (0.0, 0.5) for r in (0, 1)])
    floors = pd.DataFrame([{"mode": "radius", "fraction": f, "run": r, "floor": 1.5, "share_at_floor": share,
                            "ci95": 0.02} for f, shares in ((0.0, (0.1, 0.3)), (0.5, (0.9, 0.9)))
                           for r, share in enumerate(shares)])  # clean-trained: 10% and 30% of images at the floor
    return pe, table, dpe, drops, floors


def test_claim_values_are_the_paired_intervals_of_the_worst_run():
    p = _p(n_seeds=2, damage_fractions=[0.0, 0.5])
    pe, table, dpe, drops, floors = _claims_input()
    values = paper.claim_values(p, table, paper.differences(pe, p), dpe, drops, floors)
    tie_half = 100 * 1.959964 * np.sqrt(0.048 / 6)  # sd of +-0.2 alternating over 6 episodes: sqrt(6 * 0.04 / 5)
    assert values["c1_radius_5w1s_worst_diff"] == pytest.approx(0.0, abs=1e-9)  # run 1, the tie, reaches lowest
    assert values["c1_radius_5w1s_worst_half"] == pytest.approx(tie_half, rel=1e-5)
    assert values["c1_radius_5w1s_acc"] == pytest.approx(100 * 0.75) and values["vanilla_5w1s_acc"] == pytest.approx(70)
    assert values["c1_radius_5w1s_runs"].startswith("+10.0 ± 0.0; +0.0 ± 17.5")
    assert values["c3_radius_50pct_worst_diff"] == pytest.approx(5.0)
    assert values["c3_radius_50pct_worst_half"] == pytest.approx(0.0, abs=1e-9)
    assert values["c4_radius_50pct_worst_growth"] == pytest.approx(0.0, abs=1e-9)
    assert values["c4_radius_50pct_gains"] == "+0.0 -> +10.0; +0.0 -> +0.0"
    assert (values["c5_radius_0pct_worst_drop"], values["c5_radius_0pct_worst_half"]) == (0.5, 0.6)
    assert values["c5_radius_50pct_share_lower"] == 0.9 and values["damage_size"] == 4
    assert (values["c6_radius_worst_share"], values["c6_radius_worst_half"]) == (0.3, 0.02)  # the run at 30%, clean
    assert values["c6_radius_runs"] == "10.0 ± 2.0%; 30.0 ± 2.0%"
    # not measured: no diagonal network, no fraction 0.25, not the full Omniglot sets (C2)
    assert not any(k.startswith(("c1_diagonal", "c3_radius_25pct", "c2_")) for k in values)


def test_claims_follow_the_paired_intervals_in_every_run():
    p = _p(n_seeds=2, damage_fractions=[0.0, 0.5])
    pe, table, dpe, drops, floors = _claims_input()
    diffs = paper.differences(pe, p)
    assert diffs.verdict.tolist() == ["higher", "tie"]
    rows = {r["id"]: r for r in evaluate(paper.CLAIMS, paper.claim_values(p, table, diffs, dpe, drops, floors))}
    assert list(rows) == ["C1a", "C3b", "C4b", "C5a", "C5c", "C6a"]
    assert rows["C1a"]["verdict"] == "undecided"  # a tie in run 1 is not a win, nor a loss
    assert "+10.0 ± 0.0; +0.0 ± " in rows["C1a"]["measured"]
    assert rows["C3b"]["verdict"] == "holds"
    assert rows["C4b"]["verdict"] == "fails"  # no growth at all in run 1 (an interval of zero width at zero)
    assert [rows["C5a"]["verdict"], rows["C5c"]["verdict"]] == ["undecided", "holds"]  # the interval must clear zero
    lower = drops.assign(drop=-0.5)  # a precision higher for degraded images, beyond its interval
    rows = {r["id"]: r for r in evaluate(paper.CLAIMS, paper.claim_values(p, table, diffs, dpe, lower, floors))}
    assert [rows["C5a"]["verdict"], rows["C5c"]["verdict"]] == ["undecided", "fails"]
    assert rows["C6a"]["verdict"] == "holds"  # 30% +- 2% of the images at the floor in the worse run: below a half
    for shares, verdict in (((0.1, 0.98), "fails"), ((0.1, 0.49), "undecided")):  # one run at 98% (49% +- 2%)
        floored = floors.assign(share_at_floor=[*shares, 0.9, 0.9])
        values = paper.claim_values(p, table, diffs, dpe, drops, floored)
        assert {r["id"]: r for r in evaluate(paper.CLAIMS, values)}["C6a"]["verdict"] == verdict


def test_a_half_turn_of_a_test_digit_is_never_a_training_digit():
    """A 6 turned by half a turn is a 9 (the one such pair among the digits): both must be on one side."""
    split = paper.load_data(_p())
    assert {"6", "9"} <= set(split.train.groups) and not {"6", "9"} & set(split.test.groups)


def test_state_of_the_art_reads_every_run_interval_on_the_full_omniglot_sets_only():
    def c2(dataset, runs=((0.990, 0.950),), half=0.001):
        rows = [{"mode": mode, "way": way, "shot": 1, "run": r, "acc": accs[i], "ci95": half}
                for r, accs in enumerate(runs) for i, way in enumerate((5, 20)) for mode in ("vanilla", "radius")]
        no_diffs = pd.DataFrame(columns=["mode", "way", "shot", "run", "diff", "half", "verdict"])
        no_drops = pd.DataFrame(columns=["mode", "fraction", "run", "clean", "downsampled", "drop", "ci95",
                                         "share_lower"])
        no_floors = pd.DataFrame(columns=["mode", "fraction", "run", "floor", "share_at_floor", "ci95"])
        p = _p(dataset=dataset, ways=[5, 20], damage_fractions=[0.0], n_seeds=len(runs))
        values = paper.claim_values(p, pd.DataFrame(rows), no_diffs, {}, no_drops, no_floors)
        return [r for r in evaluate(paper.CLAIMS, values) if r["id"].startswith("C2")]

    full = c2("omniglot-full")
    assert [(c["id"], c["verdict"]) for c in full] == [("C2a", "holds"), ("C2c", "fails")]  # 99.0 > 98.8; 95.0 < 96.0
    assert full[0]["measured"].startswith("99.0 ± 0.1% per run vs 98.8% (Snell et al. 2017, on Vinyals et al.'s")
    assert "1,200 training and 423 test characters" in full[0]["claim"] and "659 characters" in full[0]["claim"]
    # 99.0 +- 0.3 contains 98.8: undecided; two runs, one below the number by more than its interval: fails
    assert [c["verdict"] for c in c2("omniglot-full", half=0.003)] == ["undecided", "fails"]
    assert [c["verdict"] for c in c2("omniglot-full", ((0.995, 0.97), (0.980, 0.97)))] == ["fails", "holds"]
    assert c2("omniglot") == [] and c2("digits") == []


# ------------------------------------------------------------------------------ the notebook

def _omniglot_available():
    root = os.environ.get("COMPANION_DATA")
    return bool(root) and (Path(root) / "omniglot" / "images_background_small1.zip").is_file()


# the notebook runs read the small Omniglot subsets (the default's data); CI provides them and must not skip
needs_omniglot = pytest.mark.skipif(not _omniglot_available() and not os.environ.get("CI"),
                                    reason="no Omniglot in $COMPANION_DATA/omniglot")


def _check_record(record):
    """What every run must record, whatever its data: equal parameter counts, consistent claims."""
    p = record["parameters"]
    acc = record["accuracy"]
    runs = range(p["n_seeds"])
    assert len(acc) == len(MODES) * len(p["ways"]) * len(p["shots"]) * p["n_seeds"]
    assert len({row["params"] for row in acc}) == 1  # the three networks have the same parameters
    for row in acc:
        assert 1 / row["way"] < row["acc"] <= 1 and 0 < row["ci95"] < 0.05
    diffs = record["differences"]
    assert len(diffs) == 2 * len(p["ways"]) * len(p["shots"]) * p["n_seeds"]
    by = {(r["mode"], r["way"], r["shot"], r["run"]): r["acc"] for r in acc}
    for d in diffs:  # the paired difference is the difference of the two means, episode by episode
        assert d["diff"] == pytest.approx(by[(d["mode"], d["way"], d["shot"], d["run"])]
                                          - by[("vanilla", d["way"], d["shot"], d["run"])], abs=1e-9)
        assert d["verdict"] == ("higher" if d["diff"] - d["half"] > 0 else "lower" if d["diff"] + d["half"] < 0
                                else "tie")
    claims = record["claims"]
    assert all(c["verdict"] in ("holds", "fails", "undecided") for c in claims)
    c1 = [c for c in claims if c["id"].startswith("C1")]
    assert len(c1) == 2 * len(p["ways"]) * len(p["shots"])
    declared = {c.id: c for c in paper.CLAIMS}
    for c in c1:  # C1 holds exactly when every run's paired interval is above zero; fails when the lowest is below
        mode, rest = c["claim"].split(" beats vanilla at equal parameters, ")
        way, shot = (int(x.split("-")[0]) for x in rest.split())
        assert c["rule"] == declared[c["id"]].rule.text and c["kind"] == "paper"
        setting = [d for d in diffs if (d["mode"], d["way"], d["shot"]) == (mode, way, shot)]
        worst = min(setting, key=lambda d: d["diff"] - d["half"])
        expected = ("holds" if all(d["verdict"] == "higher" for d in setting)
                    else "fails" if worst["verdict"] == "lower" else "undecided")
        assert c["verdict"] == expected
    fractions = [f for f in p["damage_fractions"] if f > 0]
    assert len(record["damage"]) == len(p["damage_modes"]) * len(p["damage_fractions"]) * 2 * p["n_seeds"]
    damage = {(row["mode"], row["fraction"], row["test"], row["run"]): row["acc"] for row in record["damage"]}
    for mode in p["damage_modes"]:
        for r in runs:  # fraction 0: no image is down-sampled, the two test sets are the same, and so are the models
            assert damage[(mode, 0.0, "clean", r)] == damage[(mode, 0.0, "damaged", r)]
            assert damage[(mode, 0.0, "clean", r)] == by[(mode, p["ways"][0], p["shots"][0], r)]
    for row in record["confidence"]:
        assert row["precision"] >= 1  # s = 1 + softplus(.)
    gaussian = len([m for m in p["damage_modes"] if m in paper.GAUSSIAN])
    assert [c["id"][:2] for c in claims] == (["C1"] * len(c1) + ["C3"] * gaussian * len(fractions)
                                             + ["C4"] * gaussian * len(fractions)
                                             + ["C5"] * (len(record["precision_drop"]) // p["n_seeds"])
                                             + ["C6"] * gaussian)
    floors = {(r["mode"], r["run"]): r["share_at_floor"] for r in record["precision_floor"] if r["fraction"] == 0}
    for c in claims[-gaussian:]:  # C6 holds exactly when every clean-trained run has under half its images at the floor
        mode = c["claim"].split()[0]
        if c["verdict"] != "undecided":
            assert (c["verdict"] == "holds") == all(floors[(mode, r)] < 0.5 for r in runs)


@pytest.mark.slow
@needs_omniglot
def test_default_run_records_every_measurement_and_claim(default_record):
    record = default_record
    p = record["parameters"]
    assert p["dataset"] == "omniglot" and p["image_size"] == 28 and p["ways"] == [5, 20] and p["n_seeds"] >= 2
    _check_record(record)
    for row in record["accuracy"]:  # smoke criterion (a project choice, not a paper number): well above chance
        if (row["way"], row["shot"]) == (5, 1):
            assert row["acc"] > 0.6, row
    assert len(record["precision_floor"]) == len(record["precision_drop"])
    assert all(0 <= row["share_at_floor"] <= 1 and row["floor"] >= 1 for row in record["precision_floor"])
    assert [row["init"] for row in record["floor_by_init"]] == ["xavier", "paper"]  # the committed verdicts, both inits
    assert "lake_runs" not in record


@pytest.mark.slow
@needs_omniglot
def test_the_paper_preset_end_to_end_on_omniglot_images_at_reduced_size(tmp_path):
    """The paper preset as a GPU would run it (60-way episodes of 28x28 Omniglot characters with rotations, four
    blocks, transductive batch norm, every down-sampled fraction and mode, Lake's runs), on the small subsets (the
    full sets' shape; they are not offline) with narrow blocks, two episodes and 60 test episodes per setting."""
    small = {"dataset": "omniglot", "filters": [8, 8, 8, 8], "steps": 2, "n_episodes": 60, "n_seeds": 1}
    record = run_notebook(NB, tmp_path, preset="paper", params=small)
    p = record["parameters"]
    assert (p["train_way"], p["train_query"], p["bn_mode"], p["image_size"]) == (60, 19, "transductive", 28)
    _check_record(record)
    assert len(record["damage"]) == 3 * 4 * 2 and len(record["precision_floor"]) == 2 * 4
    assert len(record["lake_runs"]) == 20 * len(MODES) and all(0 <= row["acc"] <= 1 for row in record["lake_runs"])


@pytest.mark.slow
def test_bad_parameters_stop_before_any_compute(tmp_path):
    stderr = stopped_by_validation(NB, tmp_path, 'filters', '[16, 16, 16, 16, 16]')
    assert 'at most 4 blocks' in stderr and "'filters'" in stderr
    stderr = stopped_by_validation(NB, tmp_path, 'init', '"glorot"')
    assert "'init'" in stderr and "'xavier', 'paper'" in stderr


def test_init_verdicts_sets_the_committed_verdict_of_each_init_side_by_side(tmp_path, monkeypatch):
    def verdict(preset, shares, diffs, claims=paper.CLAIMS):
        rows = [{"id": cid, "overall": "fails", "seeds": len(xs), "holds": 0, "fails": len(xs), "undecided": 0,
                 "values": {name: {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}}}
                for cid, name, xs in (("C6a", "c6_radius_worst_share", shares),
                                      ("C1a", "c1_radius_5w1s_worst_diff", diffs))]
        parameters = {"init": paper.INIT_PRESETS[preset]}
        (tmp_path / f"01_gaussian_prototypical_networks.{preset}.json").write_text(json.dumps(
            {"seeds": list(range(len(shares))), "parameters": parameters, "claims": rows,
             "hash": definitions_hash(claims, parameters)}))

    monkeypatch.setattr(paths, "verdicts", lambda: tmp_path)
    verdict("default", [0.9, 0.95, 0.99], [-1.0, -2.0, -3.0])
    verdict("paper_init", [0.8, 0.97], [-0.5, 1.5])
    table = paper.init_verdicts()
    assert table.to_dict("records") == [
        {"init": "xavier", "seeds": 3, "share at floor (%)": "95.0 [90.0, 99.0]", "C6a": "fails 0/3",
         "radius - vanilla (points)": "-2.0 [-3.0, -1.0]", "C1a": "fails 0/3"},
        {"init": "paper", "seeds": 2, "share at floor (%)": "88.5 [80.0, 97.0]", "C6a": "fails 0/2",
         "radius - vanilla (points)": "0.5 [-0.5, 1.5]", "C1a": "fails 0/2"}]
    verdict("paper_init", [0.8], [0.5], claims=paper.CLAIMS[:-1])  # made for other claims: stale, left out
    assert paper.init_verdicts()["init"].tolist() == ["xavier"]


def test_every_spec_parameter_is_in_the_notebook_with_its_doc():
    rows = runner.parameters(NB)
    assert {row["name"] for row in rows} == {p.name for p in runner.spec(NB)}
    for row in rows:
        assert row["doc"] and row["allowed"] != "(not in the spec)", row["name"]


def test_presets_name_only_known_parameters():
    known = {p.name for p in runner.spec(NB)}
    assert set(runner.presets(NB)) >= {"omniglot", "paper", "digits"}
    assert runner.load_preset(NB, "digits")["dataset"] == "digits"
    for name in ("omniglot", "paper"):
        preset = runner.load_preset(NB, name)
        assert set(preset) <= known, name
        assert preset["dataset"] == ("omniglot" if name == "omniglot" else "omniglot-full")
        assert preset["image_size"] == 28 and len(preset["filters"]) == 4  # the 4-block encoder on 28x28
