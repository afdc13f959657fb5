"""The WFI Science Products experiment: its package on small cases; the wfi-geant4 reference set it reads (the
registry entry, and the reader and event finder on the reference copy); and the notebook end to end, asserting
on what it recorded: the default run (simulated frames and the Geant4 reference set, offline from
$COMPANION_DATA in CI), and the paper preset at reduced size."""

import hashlib
import os
import shutil
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml
from astropy.io import fits

from companion import claims as cl
from companion import runner
from companion.data import DataError, dataset_status, fetch, files, load, manifest, verify
from companion.experiments import wfi_science_products as paper
from companion.params import ParameterError
from companion.physics import wfi
from companion.physics.wfi import analysis as wa
from conftest import run_notebook, stopped_by_validation

NB = runner.find("04_wfi_science_products")
CLAIMS = ["C1a", "C1b", "C1c", "C2a", "C2b", "C3", "C4a", "C4b", "C4c", "C4d", "C4e", "C5", "C6a", "C6b", "C7a", "C7b",
          "C8"]  # default run
WITHOUT_GEANT4 = [c for c in CLAIMS if c not in ("C2a", "C2b", "C4d", "C4e")]


# ---------------------------------------------------------------- the experiment package

def small_p(**changes):
    p = dict(n_frames=200, n_side=256, frame_time=0.005, read_noise=0.01, cloud_um=8.0, evtth=0.1, mipth=15.0,
             target_rate=20.0, diffuse_rate=400.0, tracks_per_frame=2.0, secondaries_per_track=0.05,
             secondary_scale=30.0, lone_per_frame=0.05, electron_fraction=0.5, electron_range=1.0,
             sac_radii=[5.0, 30.0], sac_radius=30.0, lc_rate=1.0, lc_duration=2000.0, lc_bin=20.0,
             flare_length=100.0, flare_amplitudes=[2.0], flare_amplitude=2.0, p0=0.05, n_trials=10, lc_window=500.0,
             latency_trials=2, transient_rates=[1.0], transient_rate=1.0, transient_length=500.0,
             tr_duration=2000.0, tr_window=100.0, tr_cell=16, tr_trials=5, tr_alpha=0.05, throughput_frames=10,
             geant4=False, seed=0, device="cpu")
    return SimpleNamespace(**{**p, **changes})


@pytest.mark.parametrize("changes, words", [
    ({"n_side": 255}, ["n_side", "even"]),
    ({"flare_amplitude": 3.0}, ["flare_amplitude", "flare_amplitudes"]),
    ({"transient_rate": 0.5}, ["transient_rate", "transient_rates"]),
    ({"lc_window": 2000.0}, ["lc_duration", "lc_window"]),
    ({"tr_cell": 24}, ["tr_cell", "divide"]),
    ({"sac_radius": 20.0}, ["sac_radius", "sac_radii"]),
])
def test_check_names_the_conflicting_parameters(changes, words):
    with pytest.raises(ParameterError) as info:
        paper.check(small_p(**changes))
    for word in words:
        assert word in str(info.value)


def test_recovery_and_summary_on_a_small_simulation():
    p = small_p()
    sim = paper.simulate(p)
    rec = paper.xray_recovery(sim, p)
    summary = dict(zip(*paper.recognition_summary(rec, sim, p)[["quantity", "value"]].T.values))
    assert summary["X-ray photons simulated"] == len(sim["truth"].query("kind == 'xray'"))
    assert summary["found exactly once at the hit pixel"] >= 0.95
    assert summary["tracks wholly flagged as blobs"] == 1.0 and summary["track events accepted as X-ray-like"] == 0
    printed = paper.format_summary(paper.recognition_summary(rec, sim, p))
    assert printed.value.iloc[0] == str(int(summary["X-ray photons simulated"]))


def test_claims_come_in_the_papers_order_on_a_small_run():
    p = small_p()
    sim = paper.simulate(p)
    recognition = paper.recognition_summary(paper.xray_recovery(sim, p), sim, p)
    _, band = paper.spectra(sim, p, paper.area_lost_at(sim, p.sac_radius, seed=p.seed))
    _, transients, null_fa, n_null = paper.transient_study(p, paper.sky_background_rate(sim, p))
    values = paper.claim_values(p, recognition, paper.vfaint_table(sim, p), paper.sac_simulated(sim, p), band,
                                paper.flare_study(p), (transients, null_fa, n_null), None)
    assert all(type(v) in (int, float, bool) for v in values.values())
    rows = cl.evaluate(paper.CLAIMS, values)
    assert [row["id"] for row in rows] == WITHOUT_GEANT4[:-1]  # no throughput, no Geant4 set: left out
    assert all(row["verdict"] in (cl.HOLDS, cl.FAILS, cl.UNDECIDED) for row in rows)


def _summary(rows):
    return pd.DataFrame({"quantity": [q for q, _ in rows], "value": [float(v) for _, v in rows]})


def _hand_made(**changes):
    """Tables as the notebook builds them, with numbers chosen so that every value is known exactly."""
    recognition = _summary([("eligible and isolated", 200), ("found exactly once at the hit pixel", 0.995),
                            ("... with energy within 0.1 keV", 0.97), ("graded 0-12 (valid EPIC-pn pattern)", 0.99),
                            ("flagged VFAINT", 0.0), ("tracks wholly on the array", 400),
                            ("tracks wholly flagged as blobs", 0.995), ("track events accepted as X-ray-like", 0)])
    vfaint = pd.DataFrame({"origin": ["X-ray", "particle background"], "fraction": [0.01, 0.05],
                           "fraction_se": [0.003, 0.004]})
    sac = pd.DataFrame({"radius": [5.0, 30.0, 100.0], "removed": [0.01, 0.5, 0.8], "removed_se": [0.03, 0.0, 0.0],
                        "area_lost": [0.02, 0.1, 0.75], "area_lost_se": [0.04, 0.0, 0.0],
                        "model": [0.02, 0.125, 0.6], "signal_lost": [0.03, 0.1, 0.7], "n_signal": 1000})
    band = pd.DataFrame({"rate_2_7keV": [0.03, 0.025, 0.02], "rate_se": [0.0012, 0.0012, 0.0016]})
    flares = pd.DataFrame({"amplitude": [1.0, 1.0, 2.0], "method": ["exact bin edges", "astropy on bin centres",
                                                                     "exact bin edges"],
                           "trials": [100, 20, 100], "rate": [0.05, 0.35, 0.9]})
    transients = (pd.DataFrame({"transient_rate": [0.3, 1.0], "trials": [40, 40], "detected": [0.9, 1.0],
                                "latency_median": [150.0, 60.0]}), 0.025, 40)
    tables = dict(recog=recognition, vf=vfaint, sac=sac, band=band, flares=flares, transients=transients)
    return {**tables, **changes}


SPEED = {"cpu_ms_median": 1.25, "cpu_frames_per_s_median": 800.0, "cpu_frames_per_s_best": 900.0,
         "wall_frames_per_s_median": 200.0, "frame_budget_ms": 5.0, "load_1min": 3.0, "pixels_per_frame": 190.0}


def test_claim_values_on_hand_made_tables():
    p = small_p(flare_amplitudes=[2.0], transient_rates=[0.3, 1.0], transient_rate=0.3, secondary_scale=30.0)
    v = paper.claim_values(p, **_hand_made(), speed=SPEED)
    assert v["tracks_not_flagged"] == 2 and v["track_events_accepted"] == 0 and v["isolated_xrays"] == 200
    assert v["vfaint_gap"] == pytest.approx(0.04) and v["vfaint_gap_se2"] == pytest.approx(0.01)
    # C4a at r = 30, the largest radius up to secondary_scale; at r = 5 the gap is -0.01, plus two s.e. 0.09
    assert (v["sac_scale_radius"], v["sac_gap_at_scale"], v["sac_gap_se2_at_scale"]) == (30.0, 0.4, 0.0)
    assert v["sac_worst_gap_plus_2se"] == pytest.approx(0.09) and v["sac_decreasing_steps"] == 0
    assert (v["sac_model_ratio_min"], v["sac_model_ratio_max"]) == (pytest.approx(0.8), pytest.approx(1.25))
    # C4c: at r = 100, 0.05 apart with 1000 X-rays: s.e. sqrt(p(1-p)/1004), p = 752/1004; bound z(1 - 0.025/3)
    se = np.sqrt(752 / 1004 * 252 / 1004 / 1004)
    assert v["sac_xray_area_deviation"] == pytest.approx(0.05) and v["sac_xray_area_z"] == pytest.approx(0.05 / se)
    assert v["sac_xray_area_z_allowed"] == pytest.approx(2.3940, abs=1e-4) and v["sac_radii_swept"] == 3
    assert v["spectrum_drop"] == pytest.approx(0.01) and v["spectrum_drop_se2"] == pytest.approx(0.004)
    assert (v["flare_detected"], v["flare_false_alarm"], v["flare_false_alarm_allowed"]) == (0.9, 0.05, 0.05)
    assert (v["transient_detected"], v["transient_latency_median_s"], v["transient_latency_limit_s"]) == (
        0.9, 150.0, 200.0)
    assert (v["frame_path_ms"], v["frame_budget_ms"], v["frames_per_s_median"]) == (1.25, 5.0, 800.0)
    verdict = {row["id"]: row["verdict"] for row in cl.evaluate(paper.CLAIMS, v)}
    assert verdict == {"C1a": "holds", "C1b": "holds", "C1c": "fails", "C3": "holds", "C4a": "holds",
                       "C4b": "fails", "C4c": "fails", "C5": "holds", "C6a": "holds", "C6b": "holds",
                       "C7a": "holds", "C7b": "holds", "C8": "holds"}  # rates at their bound hold (k of n)


def test_claim_values_leave_out_what_was_not_measured():
    p = small_p(flare_amplitudes=[2.0], transient_rates=[0.3, 1.0], transient_rate=0.3, secondary_scale=3.0)
    tables = _hand_made(vf=pd.DataFrame({"origin": ["X-ray"], "fraction": [0.01], "fraction_se": [0.003]}))
    tables["sac"] = tables["sac"].drop(columns=["signal_lost", "n_signal"])
    tables["recog"].loc[tables["recog"].quantity == "tracks wholly on the array", "value"] = 0.0
    v = paper.claim_values(p, **tables)
    ids = [row["id"] for row in cl.evaluate(paper.CLAIMS, v)]
    # no track on the array, no particle background, no radius up to secondary_scale, no X-rays in the SAC
    # table, no Geant4 set and no throughput: C1c, C3, C4a, C4c, C2, C4d and C8 are left out
    assert ids == ["C1a", "C1b", "C4b", "C5", "C6a", "C6b", "C7a", "C7b"]
    assert not {"vfaint_gap", "sac_gap_at_scale", "frame_path_ms", "g4_agree"} & set(v)


def test_claim_values_of_the_geant4_set():
    p = small_p()
    g4 = _summary([("frames (header NFRAMES)", 63), ("frames read", 63), ("pixels (header NAXIS2)", 16161),
                   ("pixels read", 16160), ("reference events", 3993),
                   ("agree (energy 1e-4, pattern, VFAINT, distances)", 1.0), ("events only in ours", 0)])
    g4_sac = pd.DataFrame({"radius": [5.0, 30.0], "flagged": [0, 0], "area_lost": [0.004, 0.09],
                           "n_background": [26, 26]})
    v = {**paper.claim_values(p, **_hand_made()), **paper.claim_values(p, **_hand_made(), g4=g4, g4_sac=g4_sac)}
    assert (v["g4_frame_count_mismatch"], v["g4_pixel_count_mismatch"]) == (0, 1)
    # 0 of 26 flagged at r = 30 where 0.09 of the area is lost: P(X <= 0) = 0.91^26; the toy flags 0.5 there
    assert (v["g4_sac_flagged"], v["g4_sac_events"], v["g4_sac_area_lost"]) == (0, 26, 0.09)
    assert v["g4_sac_p_fewer"] == pytest.approx(0.91 ** 26) and v["g4_sac_p_more"] == 1.0
    assert v["g4_toy_p_fewer"] == pytest.approx(0.5 ** 26) and v["sac_removed_at_radius"] == 0.5
    verdict = {row["id"]: row["verdict"] for row in cl.evaluate(paper.CLAIMS, v)}
    assert [verdict[c] for c in ("C2a", "C2b", "C4d", "C4e")] == ["holds", "fails", "undecided", "fails"]


def test_each_study_and_each_seed_draws_its_own_streams(monkeypatch):
    seeds = []
    for module, name in [(wa, "flare_trials"), (wa, "flare_latency"), (wa, "online_false_alarms"),
                         (wa, "transient_trials"), (wfi, "light_curve")]:
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _real=real, **k: seeds.append(k["seed"]) or _real(*a, **k))
    for seed in (0, 1):
        p = small_p(seed=seed)
        paper.flare_study(p), paper.latency_study(p), paper.example_light_curve(p), paper.transient_study(p, 50.0)
    assert len(seeds) == 16
    # only the astropy comparison reuses a stream: the constant light curves of its own seed, on purpose
    assert len(seeds) - len(set(seeds)) == 2


# ---------------------------------------------------------------- the wfi-geant4 registry entry

def test_manifest_entry_lists_every_file_with_its_sha256_at_the_pinned_commit():
    entry = manifest.load_manifest()["wfi-geant4"]["files"]
    assert len(entry) == 24
    commit = "7ae29113151cd874a4a6468a9dc3c3d9b9b2393c"
    for fname, e in entry.items():
        assert e["hash_kind"] == "sha256"
        assert e["url"] == f"https://raw.githubusercontent.com/erwocky/geant4-scripts/{commit}/test_data/{fname}"
    folder = files.locate("wfi-geant4")
    sums = folder / "SHA256SUMS" if folder else None
    if sums is not None and sums.is_file():  # the reference copy publishes its checksums
        published = dict(line.split()[::-1] for line in sums.read_text().splitlines() if line.strip())
        assert {f: e["hash"] for f, e in entry.items()} == published


def test_status_lists_wfi_geant4_and_load_points_to_fetch(data_root):
    rows = {row["name"]: row for row in dataset_status()}
    assert rows["wfi-geant4"]["source"] == "files" and rows["wfi-geant4"]["where"] == "missing"
    with pytest.raises(ValueError, match=r"fetch\('wfi-geant4'\)"):
        load("wfi-geant4")
    assert verify("wfi-geant4") == []


def test_fetch_downloads_into_the_cache_and_checks_sha256(data_root, tmp_path, monkeypatch):
    payload = {"a.fits": b"first file", "b.fits": b"second file"}
    entries = yaml.safe_load(manifest.MANIFEST_PATH.read_text())
    entries["wfi-geant4"] = {"files": {f: {"url": f"https://example.invalid/{f}",
                                           "sha256": hashlib.sha256(b).hexdigest()} for f, b in payload.items()}}
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(entries))
    monkeypatch.setattr(manifest, "MANIFEST_PATH", path)
    asked = []

    def download(url, dest, deadline):  # what files.download does, without the network
        asked.append(url)
        dest.write_bytes(payload[url.rsplit("/", 1)[-1]])

    monkeypatch.setattr(files, "download", download)
    folder = fetch("wfi-geant4")
    assert folder == tmp_path / "cache" / "wfi-geant4"  # $COMPANION_DATA is only read
    assert sorted(asked) == sorted(f"https://example.invalid/{f}" for f in payload)
    assert [row["ok"] for row in verify("wfi-geant4")] == [True, True]
    (folder / "b.fits").write_bytes(b"tampered")
    with pytest.raises(DataError, match="checksum mismatch"):
        fetch("wfi-geant4")


def test_the_reference_copy_verifies_through_the_registry(monkeypatch, tmp_path):
    folder = geant4_folder()
    rows = [row for row in verify("wfi-geant4") if row["path"].startswith(str(folder))]
    assert len(rows) == 24 and all(row["ok"] for row in rows)
    # a copy in the user cache is found the same way when COMPANION_DATA is unset
    monkeypatch.delenv("COMPANION_DATA", raising=False)
    monkeypatch.setattr(files, "CACHE", tmp_path / "cache")
    shutil.copytree(folder, tmp_path / "cache" / "wfi-geant4")
    assert fetch("wfi-geant4") == tmp_path / "cache" / "wfi-geant4"


# ---------------------------------------------------------------- the Geant4 reference set

def geant4_folder():
    """The verified wfi-geant4 folder through the registry ($COMPANION_DATA or the user cache); skip without it,
    fail in CI, which provides it."""
    if files.locate("wfi-geant4") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide the wfi-geant4 reference set in $COMPANION_DATA/wfi-geant4")
        pytest.skip("the wfi-geant4 reference set is not present (companion data fetch wfi-geant4)")
    return fetch("wfi-geant4")


@pytest.fixture(scope="module")
def reference():
    return geant4_folder()


@pytest.mark.parametrize("run", wfi.GEANT4_RUNS)
def test_geant4_reader_reproduces_the_headers(reference, run):
    folder = reference
    fr = wfi.read_geant4(folder, run)
    hdr = fits.getheader(folder / f"geant_events_{run}_pix.fits", 1)
    assert fr.n_frames == hdr["NFRAMES"] and len(fr.frame) == hdr["NAXIS2"] == fr.meta["n_rows"]
    per_frame = wfi.read_geant4_frames(folder, run)
    assert np.bincount(fr.frame, minlength=fr.n_frames)[per_frame.frame].tolist() == per_frame.npix.tolist()


@pytest.mark.parametrize("run", wfi.GEANT4_RUNS)
def test_event_finder_agrees_with_the_reference_event_list(reference, run):
    folder = reference
    fr = wfi.read_geant4(folder, run)
    rec = wfi.find_events(fr)
    m = wfi.compare_events(rec.events, wfi.read_geant4_events(folder, run))
    assert m.agree.mean() >= 0.95
    assert len(rec.blobs) == fr.meta["NBLOBS"]


# ---------------------------------------------------------------- the notebook

def _values(rows):
    return {row["quantity"]: row["value"] for row in rows}


@pytest.mark.slow
def test_default_run_records_every_measurement_and_claim(default_record):
    record = default_record
    assert record["parameters"]["geant4"] is True
    claims = record["claims"]
    assert [c["id"] for c in claims] == CLAIMS
    assert all(c["verdict"] in ("holds", "fails", "undecided") for c in claims)
    assert [c["id"] for c in claims if c["timed"]] == ["C8"]
    rec = _values(record["recognition"])
    assert rec["eligible and isolated"] > 1000
    assert rec["found exactly once at the hit pixel"] >= 0.95 and rec["tracks wholly flagged as blobs"] == 1.0
    radii = [row["radius"] for row in record["sac_simulated"]]
    assert radii == record["parameters"]["sac_radii"]
    speed = record["throughput"]
    assert speed["frames"] == record["parameters"]["throughput_frames"] and speed["cpu_ms_median"] > 0
    assert speed["frame_budget_ms"] == 1e3 * record["parameters"]["frame_time"] and speed["cpu"]
    assert {row["amplitude"] for row in record["latency"]} == set(record["parameters"]["flare_amplitudes"])
    assert {row["transient_rate"] for row in record["transients"]} == set(record["parameters"]["transient_rates"])


@pytest.mark.slow
def test_default_run_compares_with_the_geant4_reference_set(default_record):
    geant4_folder()
    record = default_record
    g = _values(record["geant4"])
    assert g["frames read"] == g["frames (header NFRAMES)"] == 63
    assert g["pixels read"] == g["pixels (header NAXIS2)"] == 16161
    assert g["blobs found"] == g["blobs (header NBLOBS)"]
    assert g["agree (energy 1e-4, pattern, VFAINT, distances)"] >= 0.95
    assert len(record["sac_geant4"]) == len(record["parameters"]["sac_radii"])
    assert record["geant4_background_2_7keV"]["events"] > 0


@pytest.mark.slow
def test_default_sanity_rows_hold(default_record):
    failing = [c["id"] for c in default_record["claims"] if c["kind"] == "sanity" and c["verdict"] != "holds"]
    assert failing == []


@pytest.mark.slow
def test_the_paper_preset_runs_end_to_end_at_reduced_size(tmp_path):
    geant4_folder()
    small = dict(n_frames=200, n_trials=10, lc_duration=3000.0, latency_trials=2, transient_rates=[1.0],
                 transient_rate=1.0, tr_trials=5, tr_duration=2000.0, throughput_frames=10)  # 1024 x 1024 frames
    record = run_notebook(NB, tmp_path, preset="paper", params=small)
    assert record["parameters"]["geant4"] is True and record["throughput"]["frames"] == 10
    assert [c["id"] for c in record["claims"]] == CLAIMS


@pytest.mark.slow
def test_inconsistent_parameters_stop_before_compute(tmp_path):
    stderr = stopped_by_validation(NB, tmp_path, 'flare_amplitude', '4.0')
    assert 'flare_amplitudes' in stderr
