"""The core that notebooks are not needed for: seeds, atomic files, paths, committed models, the bootstrap."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from companion import artifacts, cli, paths, rng, stats
from companion.io import sha256, write_bytes_atomic, write_json_atomic


def test_derived_streams_are_repeatable_and_do_not_overlap_across_seeds():
    assert rng.derive(0, "init", 1) == rng.derive(0, "init", 1)
    # seed + k made seed 0 run 1 and seed 1 run 0 one stream; derive keeps every (seed, keys) apart
    seeds = {rng.derive(seed, "init", run) for seed in range(10) for run in range(10)}
    assert len(seeds) == 100
    assert rng.derive(0, "init") != rng.derive(0, "subspace")
    assert all(0 <= s < 2**63 for s in seeds)
    a, b = rng.numpy_rng(0, 1).standard_normal(1000), rng.numpy_rng(1, 0).standard_normal(1000)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.1
    assert torch.equal(torch.randn(5, generator=rng.torch_generator(3, "x")),
                       torch.randn(5, generator=rng.torch_generator(3, "x")))


def test_derive_refuses_a_key_it_cannot_name_a_stream_by():
    for key in (-1, 0.5, True):
        with pytest.raises(ValueError, match="non-negative int or a string"):
            rng.derive(0, key)


def test_json_and_bytes_are_written_whole_and_readable_by_everyone(tmp_path):
    path = tmp_path / "deep" / "r.json"
    write_json_atomic(path, {"table": pd.DataFrame({"a": [1, 2]}), "x": np.float64(0.5), "t": torch.tensor([1, 2]),
                             "s": torch.tensor(3.0)})
    assert json.loads(path.read_text()) == {"table": [{"a": 1}, {"a": 2}], "x": 0.5, "t": [1, 2], "s": 3.0}
    assert path.stat().st_mode & 0o777 == 0o644
    assert write_bytes_atomic(tmp_path / "b", b"abc") == sha256(tmp_path / "b") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")  # sha256("abc"), FIPS 180-2
    with pytest.raises(TypeError, match="cannot record a object"):
        write_json_atomic(tmp_path / "bad.json", {"x": object()})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "deep"]  # the failed write left no temporary file


def test_the_project_root_comes_from_companion_root_then_the_checkout(tmp_path, monkeypatch):
    monkeypatch.delenv("COMPANION_ROOT", raising=False)
    assert paths.root() == paths.CHECKOUT and (paths.notebooks() / "03_goldilocks_zone.ipynb").exists()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.setenv("COMPANION_ROOT", str(tmp_path))
    assert paths.models() == tmp_path / "data" / "models"
    monkeypatch.setenv("COMPANION_ROOT", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="has no notebooks/ folder"):
        paths.root()


def test_a_committed_model_loads_only_with_its_sha256(tmp_path, monkeypatch):
    model = torch.nn.Linear(3, 2)
    digest = artifacts.save(model, tmp_path / "m.pt")
    assert digest == artifacts.state_sha256(model) == sha256(tmp_path / "m.pt")
    assert artifacts.save(model, tmp_path / "other-name.pt") == digest  # bytes do not depend on the file's name
    monkeypatch.setitem(artifacts.ARTIFACTS, "toy", artifacts.Artifact("m.pt", digest, "x:y", "a toy"))
    state = artifacts.load_state("toy", tmp_path / "m.pt")
    assert torch.equal(state["weight"], model.weight.detach())
    torch.nn.init.zeros_(model.weight)
    artifacts.save(model, tmp_path / "m.pt")
    with pytest.raises(ValueError, match="is not the committed model"):
        artifacts.load_state("toy", tmp_path / "m.pt")
    with pytest.raises(FileNotFoundError, match="companion model train toy"):
        artifacts.load_state("toy", tmp_path / "absent.pt")


def test_every_committed_model_is_there_with_its_sha256():
    assert [row["status"] for row in artifacts.status()] == ["ok"] * len(artifacts.ARTIFACTS)


def test_model_commands_list_and_refuse_an_unknown_name(capsys):
    assert cli.main(["model", "list"]) == 0
    assert capsys.readouterr().out.count(" ok ") == len(artifacts.ARTIFACTS)
    assert cli.main(["model", "train", "nope"]) == 2
    assert "no committed model 'nope'; known: xray_cavities_unet" in capsys.readouterr().err


def test_the_light_modules_import_without_torch_or_pandas():
    code = ("import sys; import companion.params, companion.io, companion.rng, companion.paths, companion.artifacts, "
            "companion.runner; heavy = {'torch', 'pandas', 'seaborn'} & set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(paths.CHECKOUT / "lib")})
    assert out.stdout.strip() == "[]"


def test_the_bootstrap_of_a_two_point_mean_has_its_exact_quantiles():
    # resampling {0, 1} gives the means 0, 1/2, 1 with probabilities 1/4, 1/2, 1/4
    mean = lambda w: (w * np.array([0.0, 1.0])).sum() / w.sum()
    assert stats.bootstrap(mean, 2, 4000, 0, "t") == (0.5, 0.0, 1.0)  # the 2.5 % and 97.5 % quantiles
    assert stats.bootstrap(mean, 2, 4000, 0, "t", level=0.4) == (0.5, 0.5, 0.5)  # the 30 % and 70 % ones
    assert stats.bootstrap(lambda w: w.sum(), 7, 50, 1, "t") == (7.0, 7.0, 7.0)  # n units drawn each time
    a, b = (stats.bootstrap(lambda w: w[0], 5, 100, 0, key) for key in ("a", "b"))
    assert a == stats.bootstrap(lambda w: w[0], 5, 100, 0, "a") and a != b  # one stream per key
