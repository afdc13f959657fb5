"""Parameter validation, the record file and the claims table."""

import json

import pytest

from companion.claims import Above, Claim
from companion import verdicts
from companion.notebook import claims_table, parameters_in, start, verdicts_by_preset
from companion.params import Param, ParameterError, validate

SPEC = (Param("lr", float, 0.0, 10.0), Param("kind", str, choices=("a", "b")), Param("dims", int, 1, 100, many=True))
VALID = {"seed": 0, "device": "cpu", "lr": 0.5, "kind": "b", "dims": [2]}


def test_valid_values_pass_and_int_is_accepted_for_float():
    assert validate({"lr": 1, "kind": "a", "dims": [1, 2]}, SPEC)["lr"] == 1


@pytest.mark.parametrize("values, words", [
    ({"lr": -1.0, "kind": "a", "dims": [1]}, ["'lr'", "-1.0", "0.0 <= lr <= 10.0"]),
    ({"lr": 1.0, "kind": "c", "dims": [1]}, ["'kind'", "one of 'a', 'b'"]),
    ({"lr": 1.0, "kind": "a", "dims": []}, ["'dims'", "non-empty list"]),
    ({"lr": 1.0, "kind": "a", "dims": [1, 200]}, ["'dims'", "1 <= dims <= 100"]),
    ({"lr": "fast", "kind": "a", "dims": [1]}, ["'lr'", "float"]),
    ({"lr": True, "kind": "a", "dims": [1]}, ["'lr'", "float"]),
    ({"lr": 1.0, "kind": "a"}, ["'dims' is missing"]),
    ({"lr": 1.0, "kind": "a", "dims": [1], "lrr": 2}, ["unknown parameter 'lrr'", "known parameters: dims, kind, lr"]),
])
def test_bad_values_name_the_parameter_and_what_is_allowed(values, words):
    with pytest.raises(ParameterError) as err:
        validate(values, SPEC)
    for word in words:
        assert word in str(err.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(ParameterError) as err:
        validate({"lr": -1.0, "kind": "z", "dims": [1], "x": 1}, SPEC)
    assert len(str(err.value).splitlines()) == 3


def test_parameters_in_takes_the_spec_names_and_the_injected_ones_only():
    import math

    ns = {"lr": 0.1, "kind": "a", "_hidden": 1, "gamma": 0.3, "math": math, "f": len, "dims": [1], "lrr": 2,
          "In": ["", "lr = 0.1\n", "# Parameters\nlr = 0.2\nlrr = 2\n", "gamma = 0.3\n"]}
    assert parameters_in(ns, SPEC) == {"lr": 0.1, "kind": "a", "dims": [1], "lrr": 2}


def test_start_ignores_the_variables_a_first_run_all_left_in_the_kernel(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_RECORD", str(tmp_path / "r.json"))
    rerun = {**VALID, "p_gamma": 0.02, "threshold": "> 0", "In": ["x = 1\n", "p_gamma = 0.02\n"]}
    assert start("nb", rerun, SPEC).p.lr == 0.5


def test_start_seeds_records_atomically_and_writes_claims(tmp_path, monkeypatch):
    path = tmp_path / "out" / "nb.record.json"
    monkeypatch.setenv("COMPANION_RECORD", str(path))
    run = start("nb", {"seed": 3, "device": "auto", "lr": 0.5, "kind": "b", "dims": [2]}, SPEC)
    assert run.p.device == "cpu" and run.p.seed == 3
    run.record("x", {"a": 1.5})
    table = claims_table(run, [Claim("C1", "c", "paper", Above("v"), sentence="s")], {"v": 1.0})
    saved = json.loads(path.read_text())
    assert saved["parameters"]["lr"] == 0.5 and saved["x"] == {"a": 1.5} and saved["values"] == {"v": 1.0}
    assert [(r["id"], r["verdict"], r["measured"]) for r in saved["claims"]] == [("C1", "holds", "v = 1")]
    assert table.rows == saved["claims"] and "No multi-seed verdict" in str(table)
    assert [p.name for p in tmp_path.joinpath("out").iterdir()] == ["nb.record.json"]  # no temp file left


def test_verdicts_by_preset_records_the_other_presets_verdicts(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_RECORD", str(tmp_path / "nb.record.json"))
    folder = tmp_path / "verdicts"
    folder.mkdir()
    monkeypatch.setattr(verdicts.paths, "verdicts", lambda: folder)
    claims = [Claim("C1", "c", "paper", Above("v"), sentence="s")]
    summary = {"id": "C1", "kind": "paper", "overall": "holds", "seeds": 3, "holds": 3, "fails": 0, "undecided": 0,
               "values": {"v": {"median": 0.25, "min": 0.2, "max": 0.3}}}
    for preset, n in (("default", 5), ("large", 3)):
        (folder / f"nb.{preset}.json").write_text(json.dumps(
            {"preset": preset, "hash": "other", "parameters": {"n": n}, "seeds": list(range(n)), "claims": [summary]}))
    run = start("nb", {"seed": 0, "device": "cpu", **{k: v for k, v in VALID.items() if k not in ("seed", "device")}},
                SPEC)
    table = verdicts_by_preset(run, claims)
    assert list(table.columns) == ["id", "kind", "default (K=5, stale)", "large (K=3, stale)"]
    saved = json.loads((tmp_path / "nb.record.json").read_text())["preset_verdicts"]
    assert list(saved) == ["large"] and saved["large"]["claims"][0]["values"]["v"]["max"] == 0.3


def test_start_refuses_unknown_and_out_of_range_before_compute(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_RECORD", str(tmp_path / "r.json"))
    with pytest.raises(ParameterError, match="'seed' = -1"):
        start("nb", {**VALID, "seed": -1}, SPEC)
    with pytest.raises(ParameterError, match="unknown parameter 'sed'"):  # papermill -p sed 1
        start("nb", {**VALID, "sed": 1, "In": ["# Parameters\nsed = 1\n"]}, SPEC)
    assert not (tmp_path / "r.json").exists()


def test_cuda_without_gpu_is_refused(tmp_path, monkeypatch):
    import torch

    monkeypatch.setenv("COMPANION_RECORD", str(tmp_path / "r.json"))
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ParameterError, match="no CUDA device"):
        start("nb", {"seed": 0, "device": "cuda", "lr": 0.5, "kind": "b", "dims": [2]}, SPEC)
