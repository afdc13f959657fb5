"""``companion verify`` on a real notebook, at two seeds: the cheapest paper notebook, so CI runs it every time.

Seed 0 is the default run, so its rows must be the committed record's; and the two seeds' counts must fit
inside the committed five-seed verdict, which ran the same two seeds among its five.
"""

import json

import pytest
from companion import claims as cl
from companion import runner, verdicts
from companion.site import committed_record

NB = runner.find("09_deep_ensembles")


@pytest.mark.slow
def test_verify_at_two_seeds_reproduces_the_committed_run_and_fits_the_committed_verdict(tmp_path):
    verdict = verdicts.verify(NB, seeds=2, workers=2, out=tmp_path / "runs", to=tmp_path, progress=False)
    committed = verdicts.load(NB.stem)
    assert verdict["seeds"] == [0, 1] and verdict["failed"] == []
    assert verdict["hash"] == committed["hash"]  # the same claims at the same parameters
    folder = next(f for f in (tmp_path / "runs").glob("*/*") if f.name.startswith("seed=0-"))
    seed0 = json.loads((folder / f"{NB.stem}.record.json").read_text())
    rows = [(r["id"], r["verdict"], r["measured"]) for r in seed0["claims"] if not r["timed"]]
    assert rows == [(r["id"], r["verdict"], r["measured"]) for r in committed_record(NB)["claims"] if not r["timed"]]
    five = {c["id"]: c for c in committed["claims"]}
    timed = {c.id for c in runner.experiment_module(NB).CLAIMS if c.timed}  # their verdicts follow the machine
    for c in verdict["claims"]:
        assert c["seeds"] == 2 and c[cl.HOLDS] + c[cl.FAILS] + c[cl.UNDECIDED] == 2
        for v in (cl.HOLDS, cl.FAILS, cl.UNDECIDED):
            assert c["id"] in timed or c[v] <= five[c["id"]][v], f"{c['id']}: {c[v]} {v} at 2 seeds, {five[c['id']][v]} at 5"
