"""The Gaussian prototypical networks notebook end to end: the default run (digits) and the omniglot preset
(the small Omniglot subsets from $COMPANION_DATA, which CI provides), asserting on what they recorded."""

import os
from pathlib import Path

import pytest

from companion import runner
from companion.experiments.gaussian_prototypical_networks import BEATS
from conftest import run_notebook, stopped_by_validation

NB = runner.find("01_gaussian_prototypical_networks")
MODES = ["vanilla", "radius", "diagonal"]


def _omniglot_available():
    root = os.environ.get("COMPANION_DATA")
    return bool(root) and (Path(root) / "omniglot" / "images_background_small1.zip").is_file()


@pytest.fixture(scope="module")
def omniglot_run(tmp_path_factory):
    if not _omniglot_available():
        if os.environ.get("CI"):
            pytest.fail("CI must provide the Omniglot reference copy: COMPANION_DATA=../shared/data (.ci/run does)")
        pytest.skip("no Omniglot in $COMPANION_DATA/omniglot")
    # The preset as users run it, but one training run and 300 test episodes: 100 s instead of 205 s on two cores,
    # so that make test stays within 15 minutes; the record checks below hold for any number of runs.
    return run_notebook(NB, tmp_path_factory.mktemp("omniglot"), preset="omniglot",
                        params={"n_seeds": 1, "n_episodes": 300})


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
    assert all(isinstance(c["holds"], bool) for c in claims)
    c1 = [c for c in claims if c["claim"].startswith("C1")]
    assert len(c1) == 2 * len(p["ways"]) * len(p["shots"])
    for c in c1:  # C1 holds exactly when every run's paired interval is above zero
        mode, rest = c["claim"][3:].split(" beats vanilla at equal parameters, ")
        way, shot = (int(x.split("-")[0]) for x in rest.split())
        assert c["threshold"] == BEATS
        assert c["holds"] == all(d["verdict"] == "higher" for d in diffs
                                 if (d["mode"], d["way"], d["shot"]) == (mode, way, shot))
    fractions = [f for f in p["damage_fractions"] if f > 0]
    assert len(record["damage"]) == len(p["damage_modes"]) * len(p["damage_fractions"]) * 2 * p["n_seeds"]
    damage = {(row["mode"], row["fraction"], row["test"], row["run"]): row["acc"] for row in record["damage"]}
    for mode in p["damage_modes"]:
        for r in runs:  # fraction 0: no image is down-sampled, the two test sets are the same, and so are the models
            assert damage[(mode, 0.0, "clean", r)] == damage[(mode, 0.0, "damaged", r)]
            assert damage[(mode, 0.0, "clean", r)] == by[(mode, p["ways"][0], p["shots"][0], r)]
    for row in record["confidence"]:
        assert row["precision"] >= 1  # s = 1 + softplus(.)
    assert [c["claim"][:2] for c in claims] == (["C1"] * len(c1) + ["C3"] * len(fractions) + ["C4"] * len(fractions)
                                                + ["C5"] * (len(record["precision_drop"]) // p["n_seeds"]))


@pytest.mark.slow
def test_default_run_records_every_measurement_and_claim(default_record):
    record = default_record
    p = record["parameters"]
    assert p["dataset"] == "digits" and p["ways"] == [5] and p["n_seeds"] >= 2
    _check_record(record)
    assert "lake_runs" not in record


@pytest.mark.slow
def test_omniglot_preset_on_the_small_subsets(omniglot_run):
    record = omniglot_run
    p = record["parameters"]
    assert p["dataset"] == "omniglot" and p["image_size"] == 28 and 20 in p["ways"]
    _check_record(record)
    for row in record["accuracy"]:  # smoke criterion (a project choice, not a paper number): well above chance
        if (row["way"], row["shot"]) == (5, 1):
            assert row["acc"] > 0.6, row
        if (row["way"], row["shot"]) == (20, 5):
            assert row["acc"] > 0.5, row
    lake = record["lake_runs"]
    assert len(lake) == 20 * len(MODES) * p["n_seeds"]
    assert all(0 <= row["acc"] <= 1 for row in lake)
    assert sum(row["acc"] for row in lake) / len(lake) > 0.2  # 20-way 1-shot: chance is 0.05


@pytest.mark.slow
def test_bad_parameters_stop_before_any_compute(tmp_path):
    stderr = stopped_by_validation(NB, tmp_path, 'ways', '[20]')
    assert '16 test classes' in stderr and "'ways'" in stderr


def test_every_spec_parameter_is_in_the_notebook_with_its_doc():
    rows = runner.parameters(NB)
    assert {row["name"] for row in rows} == {p.name for p in runner.spec(NB)}
    for row in rows:
        assert row["doc"] and row["allowed"] != "(not in the spec)", row["name"]


def test_presets_name_only_known_parameters():
    known = {p.name for p in runner.spec(NB)}
    assert set(runner.presets(NB)) >= {"omniglot", "paper"}
    for name in ("omniglot", "paper"):
        preset = runner.load_preset(NB, name)
        assert set(preset) <= known, name
        assert preset["dataset"] == ("omniglot" if name == "omniglot" else "omniglot-full")
        assert preset["image_size"] == 28 and len(preset["filters"]) == 4  # the 4-block encoder on 28x28
