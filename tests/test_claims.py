"""Claims as data: the rules decide both ways, tables render from records, verdicts over seeds follow one rule."""

import json
import math
import sys
from pathlib import Path

import pytest
import companion
from companion import claims as cl
from companion import verdicts
from companion.claims import AllOf, Above, AtLeast, AtMost, Below, Claim, Rule

FIXTURES = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(FIXTURES))
import fast_claims  # noqa: E402  (the fixture notebook's claims)


@pytest.mark.parametrize("values, verdict", [({"v": 0.5}, "holds"), ({"v": 0.0}, "fails"), ({"v": -1.0}, "fails"),
                                             ({"v": math.nan}, "undecided"), ({"v": None}, "undecided")])
def test_above_without_noise_is_strict(values, verdict):
    assert Above("v", 0.0)(values) == verdict


@pytest.mark.parametrize("v, verdict", [(1.3, "holds"), (1.1, "undecided"), (0.9, "undecided"), (0.7, "fails")])
def test_a_value_within_its_noise_of_the_threshold_is_undecided(v, verdict):
    assert Above("v", 1.0, noise="se")({"v": v, "se": 0.2}) == verdict
    assert Below("v", 1.0, noise=0.2)({"v": 2 - v}) == verdict  # the mirror image


@pytest.mark.parametrize("rule, v, verdict", [
    (AtLeast("v", 0.9), 0.9, "holds"), (AtLeast("v", 0.9), 0.89, "fails"), (AtMost("v", 0.05), 0.05, "holds"),
    (AtMost("v", 0.05), 0.06, "fails"), (AtLeast("v", 0.9, noise=0.1), 0.9, "undecided")])
def test_at_least_and_at_most_hold_at_the_threshold_itself(rule, v, verdict):
    assert rule({"v": v}) == verdict
    assert rule.text.startswith("v >= " if isinstance(rule, AtLeast) else "v <= ")


def test_a_threshold_can_be_another_value_and_the_rule_names_what_it_reads():
    rule = Above("peak", "end", noise="two_se")
    assert rule.reads == ("peak", "end", "two_se")
    assert rule({"peak": 3.0, "end": 1.0, "two_se": 1.0}) == "holds"
    assert rule.text == "peak > end (undecided within ±two_se)"


def test_all_of_fails_on_any_failure_and_holds_only_when_all_hold():
    rule = AllOf(Below("rho", 0.0), Below("p", 0.05))
    assert rule({"rho": -0.3, "p": 0.01}) == "holds"
    assert rule({"rho": -0.3, "p": 0.2}) == "fails"
    assert AllOf(Above("a", 0, noise=1), Above("b", 0))({"a": 0.5, "b": 1}) == "undecided"
    assert rule.reads == ("rho", "p") and rule.text == "rho < 0 and p < 0.05"


def test_a_custom_rule_must_answer_with_a_verdict():
    good = Rule(lambda v: "holds" if v["n"] == 3 else "fails", ("n",), "three of them")
    assert good({"n": 3}) == "holds" and good({"n": 2}) == "fails"
    with pytest.raises(ValueError, match="not holds, fails or undecided"):
        Rule(lambda v: True, ("n",), "a bool")({"n": 1})


def test_a_claim_needs_a_known_kind_and_a_paper_claim_its_sentence():
    with pytest.raises(ValueError, match="kind 'papr'"):
        Claim("C1", "x", "papr", Above("v"), sentence="s")
    with pytest.raises(ValueError, match="quotes the abstract sentence"):
        Claim("C1", "x", "paper", Above("v"))
    Claim("S1", "x", "sanity", Above("v"))  # a sanity row tests the setup, not a sentence


def test_evaluate_leaves_out_claims_not_measured_and_keeps_what_each_row_read():
    rows = cl.evaluate(fast_claims.CLAIMS, {"x": 1.0, "y": 1.0})  # no bound: C1 was not measured
    assert [r["id"] for r in rows] == ["C2", "S1"]
    assert rows[0] == {"id": "C2", "kind": "paper", "claim": fast_claims.CLAIMS[1].claim, "verdict": "holds",
                       "measured": "y = 1", "rule": "y < 1.5", "sentence": "A fixture: y = x^2 + seed.",
                       "version": "", "revised": "", "timed": False,
                       "values": {"y": 1.0}}
    shown = Claim("C9", "x", "sanity", Above("v"), shows="v is {v:.2f} of {n}")
    assert cl.evaluate([shown], {"v": 0.123, "n": 7})[0]["measured"] == "v is 0.12 of 7"


def test_only_paper_and_mechanism_rows_are_counted():
    rows = cl.evaluate(fast_claims.CLAIMS, fast_claims.values(1.0, 0))
    assert [r["verdict"] for r in rows] == ["holds", "holds", "holds"]
    assert cl.counted(rows) == (2, 2)


@pytest.mark.parametrize("verdicts_, overall", [
    (["holds"] * 4 + ["fails"], "holds"), (["holds"] * 3 + ["fails"] * 2, "mixed"),
    (["fails"] * 4 + ["undecided"], "fails"), (["holds"] * 3 + ["undecided"] * 2, "undecided"),
    (["holds", "fails"] + ["undecided"] * 3, "mixed"), (["undecided"] * 5, "undecided"), ([], "undecided")])
def test_the_multi_seed_rule(verdicts_, overall):
    assert cl.overall(verdicts_) == overall


def test_aggregate_counts_verdicts_and_spans_values_over_seeds():
    runs = [cl.evaluate(fast_claims.CLAIMS, fast_claims.values(1.0, seed)) for seed in range(5)]
    summary = {s["id"]: s for s in cl.aggregate(runs)}
    assert summary["C2"] | {"values": None} == {"id": "C2", "kind": "paper", "claim": fast_claims.CLAIMS[1].claim,
                                                "overall": "fails", "seeds": 5, "holds": 1, "fails": 4,
                                                "undecided": 0, "values": None}
    assert summary["C2"]["values"] == {"y": {"median": 3.0, "min": 1.0, "max": 5.0}}
    assert summary["C1"]["overall"] == "holds" and cl.seeds_text(summary["C1"]) == "holds 5/5"


def test_the_hash_follows_claims_and_parameters_but_not_the_seed():
    base = cl.definitions_hash(fast_claims.CLAIMS, {"x": 1.0, "seed": 0, "device": "cpu"})
    assert base == cl.definitions_hash(fast_claims.CLAIMS, {"x": 1.0, "seed": 3, "device": "cuda"})
    assert base != cl.definitions_hash(fast_claims.CLAIMS, {"x": 2.0, "seed": 0})
    edited = [*fast_claims.CLAIMS[:1], Claim("C2", fast_claims.CLAIMS[1].claim, "paper", Below("y", 1.6),
                                             sentence=fast_claims.CLAIMS[1].sentence), *fast_claims.CLAIMS[2:]]
    assert base != cl.definitions_hash(edited, {"x": 1.0})


def test_a_custom_rules_source_is_part_of_the_hash():
    def decide(v):
        return "holds"

    def other(v):
        return "fails"

    one = [Claim("C1", "c", "sanity", Rule(decide, ("v",), "t"))]
    two = [Claim("C1", "c", "sanity", Rule(other, ("v",), "t"))]
    assert cl.definitions_hash(one, {}) != cl.definitions_hash(two, {})


def test_the_table_is_narrow_and_puts_the_long_text_in_notes():
    rows = cl.evaluate(fast_claims.CLAIMS, fast_claims.values(1.0, 0))
    summary = {s["id"]: s for s in cl.aggregate([rows] * 5)}
    text = str(cl.Table(rows, summary, "seeds: a note"))
    assert max(len(line) for line in text.splitlines()) <= 110
    assert "C2    paper     holds     holds 5/5" in text
    assert "2 of 2 claims hold in this run; sanity rows are not counted." in text
    assert "[C2] measured: y = 1" in text and "\u201cA fixture: y = x^2 + seed.\u201d" in text
    assert "seeds: a note" in text
    assert "S1    sanity    holds     holds 5/5" in str(cl.Table(rows, summary))
    assert "C1    mechanism holds     -" in str(cl.Table(rows))  # no multi-seed verdict


def test_timed_rows_print_apart():
    timed = Claim("T1", "fast enough", "paper", Below("seconds", 1.0), sentence="s", timed=True)
    table = cl.Table(cl.evaluate([*fast_claims.CLAIMS, timed], {**fast_claims.values(1.0, 0), "seconds": 0.5}))
    assert [r["id"] for r in table.where(timed=True).rows] == ["T1"]
    assert "T1" not in str(table.where(timed=False)) and "C1" in str(table.where(timed=False))


def test_a_committed_verdict_is_shown_only_for_its_claims_and_parameters(tmp_path, monkeypatch):
    monkeypatch.setattr(verdicts.paths, "verdicts", lambda: tmp_path)
    params = {"x": 1.0, "seed": 0}
    seeds, note = verdicts.matching("00_fast", fast_claims.CLAIMS, params)
    assert seeds == {} and "No multi-seed verdict" in note
    runs = [cl.evaluate(fast_claims.CLAIMS, fast_claims.values(1.0, s)) for s in range(5)]
    (tmp_path / "00_fast.default.json").write_text(json.dumps(
        {"hash": cl.definitions_hash(fast_claims.CLAIMS, params), "seeds": list(range(5)), "claims": cl.aggregate(runs)}))
    seeds, note = verdicts.matching("00_fast", fast_claims.CLAIMS, {**params, "seed": 4})
    assert seeds["C2"]["overall"] == "fails" and "over seeds 0-4, and at how many of these 5 runs" in note
    seeds, note = verdicts.matching("00_fast", fast_claims.CLAIMS, {**params, "x": 2.0})
    assert seeds == {} and "other parameters or other claim definitions" in note


def test_verdicts_by_preset_puts_the_defaults_first_and_marks_stale_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(verdicts.paths, "verdicts", lambda: tmp_path)

    def commit(preset, x, seeds, claims=fast_claims.CLAIMS):
        runs = [cl.evaluate(fast_claims.CLAIMS, fast_claims.values(x, s)) for s in range(seeds)]
        (tmp_path / f"00_fast.{preset}.json").write_text(json.dumps(
            {"preset": preset, "hash": cl.definitions_hash(claims, {"x": x}), "parameters": {"x": x},
             "seeds": list(range(seeds)), "claims": cl.aggregate(runs)}))

    commit("large", 2.0, 3)
    commit("default", 1.0, 5)
    commit("old", 1.0, 3, claims=fast_claims.CLAIMS[:1])  # made for other claim definitions
    table = verdicts.by_preset("00_fast", fast_claims.CLAIMS)
    assert list(table.columns) == ["id", "kind", "default (K=5)", "large (K=3)", "old (K=3, stale)"]
    assert table["id"].tolist() == [c.id for c in fast_claims.CLAIMS]
    assert table["default (K=5)"].iloc[1] == "fails 1/5"  # C2 holds at seed 0 only: how many seeds hold


@pytest.mark.slow
def test_verify_runs_independent_seeds_resumes_and_writes_its_verdict(tmp_path):
    nb = FIXTURES / "00_fast.ipynb"
    verdict = verdicts.verify(nb, seeds=3, workers=2, out=tmp_path / "runs", claims=fast_claims.CLAIMS,
                              to=tmp_path / "verdicts", progress=False)
    assert verdict["seeds"] == [0, 1, 2] and verdict["failed"] == []
    summary = {c["id"]: c for c in verdict["claims"]}
    assert (summary["C2"]["holds"], summary["C2"]["fails"], summary["C2"]["overall"]) == (1, 2, "mixed")
    assert summary["C1"]["overall"] == "holds"
    written = json.loads((tmp_path / "verdicts" / "00_fast.default.json").read_text())
    assert written == json.loads(json.dumps(verdict))
    assert written["numerics"] == companion.NUMERICS  # the kernels the runs used, as pinned
    rendered = (tmp_path / "verdicts" / "00_fast.default.md").read_text()
    assert "| C2 | paper |" in rendered and "Kernels: ATEN_CPU_CAPABILITY=avx2," in rendered
    # a second call finds every seed done and runs nothing again
    before = sorted(p.stat().st_mtime for p in (tmp_path / "runs").glob("*/*/status.json"))
    verdicts.verify(nb, seeds=3, out=tmp_path / "runs", claims=fast_claims.CLAIMS, to=tmp_path / "verdicts",
                    progress=False)
    assert sorted(p.stat().st_mtime for p in (tmp_path / "runs").glob("*/*/status.json")) == before


def test_runs_of_other_code_or_definitions_are_never_resumed(tmp_path, monkeypatch):
    nb = tmp_path / "00_fast.ipynb"
    nb.write_bytes((FIXTURES / "00_fast.ipynb").read_bytes())
    params = {"x": 1.0}
    key = verdicts.run_key(nb, fast_claims.CLAIMS, params)
    assert verdicts.run_key(nb, fast_claims.CLAIMS, params) == key  # the same code: the same folder
    assert verdicts.run_key(nb, fast_claims.CLAIMS[:1], params) != key
    assert verdicts.run_key(nb, fast_claims.CLAIMS, {"x": 2.0}) != key
    monkeypatch.setenv("MKL_CBWR", "AUTO")
    assert verdicts.run_key(nb, fast_claims.CLAIMS, params) != key  # other kernels: a fresh folder
    monkeypatch.undo()
    assert verdicts.run_key(nb, fast_claims.CLAIMS, params) == key
    nb.write_bytes(nb.read_bytes().replace(b'"x = 1.0', b'"x = 1.5'))
    assert verdicts.run_key(nb, fast_claims.CLAIMS, params) != key  # an edited notebook: a fresh folder


def test_verify_refuses_before_running_anything(tmp_path, capsys):
    from companion import cli

    assert cli.main(["verify", str(FIXTURES / "00_fast.ipynb"), "--seeds", "0", "--out", str(tmp_path)]) == 2
    assert "--seeds must be at least 1, not 0" in capsys.readouterr().err
    assert cli.main(["verify", "99_sweep_summary", "--out", str(tmp_path)]) == 2
    assert "99_sweep_summary declares no claims" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
