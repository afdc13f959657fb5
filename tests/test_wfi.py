"""The WFI toolkit (event finder, simulator, Geant4 reader, BAM and TAM stand-ins), each on a case small enough
to know the answer exactly. No network, no data: the reference set is tested with the experiment
(test_wfi_science_products_notebook.py)."""

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.stats import bayesian_blocks as astropy_blocks

from companion.physics import wfi
from companion.physics.wfi import analysis as wa


# find_events.py (erwocky/geant4-scripts): ACIS 8-bit grade -> EPIC-pn pattern, copied verbatim
REFERENCE_TABLE = [
    0, 13,  3, 13, 13, 13, 13, 13,  4, 13,  8, 12, 13, 13, 13, 13,
    2, 13,  7, 13, 13, 13, 11, 13, 13, 13, 13, 13, 13, 13, 13, 13,
    13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13,
    13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13,
    1, 13, 13, 13, 13, 13, 13, 13,  5, 13, 13, 13, 13, 13, 13, 13,
    6, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13,
    13, 13, 13, 13, 13, 13, 13, 13,  9, 13, 13, 13, 13, 13, 13, 13,
    13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13,
    13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13,
    13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13,
    13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13,
    13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13,
    13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13,
    10, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13,
    13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13,
    13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13,
]


def frames_of(pixels, n_frames=1, n_side=64):
    """PixelFrames from (frame, x, y, keV) rows on an n_side array of four sensors."""
    a = np.array(pixels, dtype=float).reshape(-1, 4)
    return wfi.PixelFrames(a[:, 0].astype(int), a[:, 1].astype(int), a[:, 2].astype(int), a[:, 3], n_frames,
                           (n_side, n_side), wfi.quadrant_boxes(n_side))


def cloud(x, y, energy, sigma_um=8.0, frame=0):
    """A noiseless charge cloud as pixel rows."""
    _, px, py, q = wfi.cloud_deposits(np.array([x]), np.array([y]), np.array([energy]), sigma_um / 130.0)
    return [(frame, a, b, c) for a, b, c in zip(px, py, q)]


# ---------------------------------------------------------------- event recognition

def test_pattern_table_is_the_reference_table():
    assert len(REFERENCE_TABLE) == 256
    assert wfi.EPICPN_PATTERN.tolist() == REFERENCE_TABLE


@pytest.mark.parametrize("fx, fy, pattern, pixels", [
    (0.5, 0.5, 0, 1),      # centre: a single
    (0.999, 0.5, 2, 2),    # right edge: double with the right neighbour (bit 16)
    (0.001, 0.5, 4, 2),    # left edge (bit 8)
    (0.5, 0.999, 1, 2),    # top edge (bit 64)
    (0.5, 0.001, 3, 2),    # bottom edge (bit 2)
    (0.999, 0.999, 10, 4),  # upper-right corner: quad (16 + 64 + 128)
])
def test_a_single_charge_cloud_is_found_once_with_its_energy_and_grade(fx, fy, pattern, pixels):
    rows = cloud(20 + fx, 40 + fy, 5.0)
    frames = frames_of(rows)
    rec = wfi.find_events(frames)
    ev = rec.events
    assert len(ev) == 1
    e = ev.iloc[0]
    lit = sum(q >= 0.1 for *_, q in rows)
    assert lit == pixels
    assert (e.x, e.y) == (20, 40)  # the hit pixel keeps the largest share
    assert e.energy == pytest.approx(sum(q for *_, q in rows if q >= 0.1), abs=1e-12)
    assert e.energy == pytest.approx(5.0, abs=0.1 * (9 - pixels))  # only shares below 0.1 keV are lost
    assert e.pattern == pattern and not e.vfaint
    assert e.blobdist == -1 and e.mipdist == -1 and len(rec.blobs) == 0
    assert len(rec.accepted()) == 1


def test_single_pixel_event_energy_is_exact():
    ev = wfi.find_events(frames_of(cloud(20.5, 40.5, 6.4))).events
    assert ev.energy.tolist() == pytest.approx([6.4], abs=1e-9)  # 8 um in 130 um pixels: nothing leaves the pixel


def test_a_track_is_a_blob_and_sac_flags_an_xray_near_it():
    track = [(0, x, 6, 40.0) for x in range(10, 18)]           # 8 pixels of 40 keV: a MIP track
    xray = [(0, 14, 26, 3.0)]                                  # 20 px above the track's pixel at x=14
    rec = wfi.find_events(frames_of(track + xray))
    assert len(rec.blobs) == 1
    blob = rec.blobs.iloc[0]
    assert (blob.npix, blob.energy, blob.energy_clipped) == (8, 320.0, 8 * wfi.CLIP)
    assert len(rec.mip_pixels) == 8 and len(rec.blob_pixels) == 8
    ev = rec.events.set_index(["x", "y"])
    assert (ev.loc[(14, 26)].mipdist, ev.loc[(14, 26)].blobdist) == (20.0, 20.0)
    on_track = rec.events[rec.events.y == 6]
    assert len(on_track) == 8 and (on_track.blobdist == 0).all() and (on_track.mipdist == 0).all()
    assert rec.accepted()[["x", "y"]].values.tolist() == [[14, 26]]  # the track is rejected, the X-ray kept
    d = rec.accepted().mipdist
    assert wa.flagged(d, 20.0).tolist() == [True] and wa.flagged(d, 19.99).tolist() == [False]


def test_blob_rules_five_pixels_or_one_mip_pixel():
    five = [(0, x, 10, 1.0) for x in range(10, 15)]
    four = [(0, x, 40, 1.0) for x in range(10, 14)]
    one_mip = [(0, 40, 40, 15.0)]
    rec = wfi.find_events(frames_of(five + four + one_mip))
    assert sorted(rec.blobs.npix.tolist()) == [1, 5]
    assert len(rec.mip_pixels) == 1


def test_vfaint_outer_ring_and_the_pha_box():
    single = [(0, 20, 20, 5.0), (0, 22, 20, 0.5)]            # outer-ring pixel at dx = +2
    ev = wfi.find_events(frames_of(single)).events.set_index(["x", "y"])
    e = ev.loc[(20, 20)]
    assert e.vfaint and e.pattern == 0 and e.pattern3 == 0    # singles keep their pattern
    assert e.energy == pytest.approx(5.5)                    # the reference sums the 5x5
    assert wfi.find_events(frames_of(single), pha_box=3).events.set_index(["x", "y"]).loc[(20, 20)].energy == 5.0
    double = [(0, 20, 20, 5.0), (0, 21, 20, 1.0), (0, 18, 20, 0.5)]
    e = wfi.find_events(frames_of(double)).events.set_index(["x", "y"]).loc[(20, 20)]
    assert e.vfaint and e.pattern == 13 and e.pattern3 == 2


def test_events_next_to_a_sensor_border_are_not_reported():
    # sensor 0 spans x 0..31: x = 1 is within 2 px of its border, x = 2 is not; x = 30 is, x = 29 is not
    rows = [(0, x, 10, 2.0) for x in (1, 2, 29, 30)] + [(0, 33, 20, 2.0)]
    assert sorted(wfi.find_events(frames_of(rows)).events.x.tolist()) == [2, 29]
    assert sorted(wfi.find_events(frames_of(rows), edge=0).events.x.tolist()) == [1, 2, 29, 30, 33]


def test_equal_neighbours_are_both_local_maxima_as_in_the_reference():
    ev = wfi.find_events(frames_of([(0, 10, 10, 2.0), (0, 11, 10, 2.0)])).events
    assert sorted(ev.x.tolist()) == [10, 11] and set(ev.pattern) == {2, 4}


def test_frames_are_independent_and_duplicate_pixels_add():
    rows = [(0, 10, 10, 2.0), (1, 10, 10, 2.0), (1, 10, 10, 1.0), (1, 11, 10, 4.0)]
    ev = wfi.find_events(frames_of(rows, n_frames=2)).events.sort_values("frame")
    assert ev[["frame", "x", "energy", "pattern"]].values.tolist() == [[0, 10, 2.0, 0], [1, 11, 7.0, 4]]


def test_distances_are_measured_within_the_same_frame_only():
    rows = [(0, 10, 10, 40.0), (1, 10, 13, 2.0)]
    ev = wfi.find_events(frames_of(rows, n_frames=2)).events.set_index("frame")
    assert ev.loc[1].mipdist == -1 and ev.loc[0].mipdist == 0


def raw_by_hand():
    """A 16 x 16 raw frame (four 8 px sensors, events 2 px inside them) that can be checked by hand."""
    raw = np.full((16, 16), -0.001, dtype=np.float32)               # read noise below threshold everywhere
    raw[3, 3], raw[4, 4] = 2.0, 0.05                                 # a single; a pixel below threshold
    raw[3, 11], raw[3, 12] = 3.0, 1.0                                # a double: its right neighbour (bit 16)
    raw[12, 10:14] = 20.0                                            # a MIP track of four equal pixels
    return raw


def test_process_frame_on_a_frame_checked_by_hand():
    got = wfi.process_frame(raw_by_hand())
    ev = pd.DataFrame(got.events).set_index(["x", "y"])
    assert sorted(ev.index) == [(3, 3), (10, 12), (11, 3), (11, 12), (12, 12), (13, 12)]  # equal pixels are maxima
    assert ev.loc[(3, 3), ["energy", "pattern", "blob", "vfaint"]].tolist() == [2.0, 0, -1, False]
    assert ev.loc[(11, 3), ["energy", "pattern", "grade", "blob"]].tolist() == [4.0, 2, 16, -1]
    assert ev.loc[(3, 3), "blobdist"] == ev.loc[(3, 3), "mipdist"] == np.sqrt(7 ** 2 + 9 ** 2)  # to (10, 12)
    assert ev.loc[(11, 3), "mipdist"] == 9.0 and got.phas[0, 1:].sum() == 0.0                # (4, 4) left out
    track = ev.loc[[(10, 12), (13, 12)]]
    assert track.energy.tolist() == [60.0, 60.0] and track.pattern.tolist() == [13, 13]      # 5x5 PHA, VFAINT
    assert (track.blob == 0).all() and (track.blobdist == 0).all() and len(got.blob_pixels["x"]) == 4


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_process_frame_equals_the_dense_reference_and_the_pixel_list_finder(seed):
    det = wfi.Detector(n_side=96)
    frames, _ = wfi.simulate_frames(3, det, wfi.Sky(points=((30.0, 30.0, 2000.0),), diffuse_rate=3000.0),
                                    wfi.Particles(tracks_per_frame=6.0, secondaries_per_track=1.0), seed=seed)
    raws = [wfi.raw_frame(frames, i, det.read_noise, seed) for i in range(3)]
    f, y, x = np.nonzero(np.stack(raws) >= wfi.EVTTH)
    lists = wfi.find_events(wfi.PixelFrames(f, x, y, np.stack(raws)[f, y, x].astype(float), 3, (96, 96),
                                            frames.quadrants))
    for i, raw in enumerate(raws):
        ours, exact = wfi.process_frame(raw, pha_box=3 if seed else 5), wfi.dense_events(raw, pha_box=3 if seed else 5)
        assert len(exact["x"]) > 10 and list(ours.events) == list(exact)
        for column in exact:
            assert np.array_equal(ours.events[column], exact[column]), column
        if not seed:
            batch = lists.events[lists.events.frame == i]
            assert np.array_equal(batch.energy, ours.events["energy"]) and np.array_equal(batch.y, ours.events["y"])


def test_process_frame_takes_one_frame_and_known_settings():
    with pytest.raises(ValueError, match="one"):
        wfi.process_frame(np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match="allowed: 3"):
        wfi.process_frame(np.zeros((8, 8)), pha_box=4)
    assert wfi.process_frame(np.zeros((8, 8))).events["x"].size == 0
    empty = wfi.find_events(frames_of([]))
    assert len(empty.events) == len(empty.blobs) == len(empty.mip_pixels) == 0 and empty.phas.shape == (0, 25)


def test_components_are_those_of_scipy():
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    gen = np.random.default_rng(0)
    for n in (1, 7, 60, 300):
        u, v = gen.integers(0, n, (2, n // 2))
        root = wfi.frame.components(n, u, v)
        _, labels = connected_components(coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n)), directed=False)
        assert np.array_equal(np.unique(labels, return_index=True)[1][labels], root)  # each node's smallest node


def test_compare_events_reports_missing_extra_and_disagreeing_events():
    ours = pd.DataFrame({"frame": [0, 0, 1], "x": [1, 2, 3], "y": [1, 2, 3], "energy": [1.0, 2.0, 3.0],
                         "pattern": [0, 0, 0], "vfaint": [False] * 3, "blobdist": [-1.0] * 3, "mipdist": [-1.0] * 3})
    ref = ours.iloc[[0, 1]].assign(frame=[0, 0], pattern=[0, 5])
    ref = pd.concat([ref, ours.iloc[[0]].assign(x=9)])
    m = wfi.compare_events(ours, ref)
    assert (m.found.sum(), m.agree.sum()) == (2, 1)
    assert sorted(m.only) == ["", "", "ours", "reference"]


# ---------------------------------------------------------------- simulator

def test_simulator_is_seeded_and_conserves_charge():
    det = wfi.Detector(n_side=128, read_noise=0.0)
    sky = wfi.Sky(points=(), diffuse_rate=2000.0)
    part = wfi.Particles(tracks_per_frame=2.0, secondaries_per_track=0.5, lone_per_frame=1.0)
    a, ta = wfi.simulate_frames(30, det, sky, part, seed=3)
    b, tb = wfi.simulate_frames(30, det, sky, part, seed=3)
    c, _ = wfi.simulate_frames(30, det, sky, part, seed=4)
    assert np.array_equal(a.energy, b.energy) and ta.equals(tb) and not np.array_equal(a.energy[:50], c.energy[:50])
    assert set(ta.kind) <= set(wfi.KINDS) and {"xray", "track"} <= set(ta.kind)
    # charge of the objects wholly inside the array is all there: X-rays, and tracks with both ends inside
    per_owner = pd.Series(a.energy).groupby(a.meta["owner"]).sum()
    xr = ta[(ta.kind == "xray") & ta.x.between(2, 125) & ta.y.between(2, 125)].set_index("id")
    # a pixel shared with another object counts once, for its largest share: compare isolated ones in bulk
    assert per_owner.reindex(xr.index).sum() == pytest.approx(xr.energy.sum(), rel=0.02)
    tr = ta[ta.kind == "track"]
    end_x, end_y = tr.x + tr.length * np.cos(tr.angle), tr.y + tr.length * np.sin(tr.angle)
    inside = tr[(end_x.between(0, 127.9)) & (end_y.between(0, 127.9))].set_index("id")
    assert per_owner.reindex(inside.index).fillna(0).sum() == pytest.approx(inside.energy.sum(), rel=0.02)
    tan_theta = inside.length / (450 / 130)  # projected length / thickness, in pixels
    assert np.allclose(inside.energy / np.hypot(1, tan_theta), 0.29 * 450, rtol=1e-9)  # E cos(theta) = dE/dx t


def test_simulator_components_draw_from_their_own_streams():
    det = wfi.Detector(n_side=128)
    part = wfi.Particles(tracks_per_frame=2.0, secondaries_per_track=0.5, lone_per_frame=1.0)
    _, dim = wfi.simulate_frames(20, det, wfi.Sky(points=(), diffuse_rate=200.0), part, seed=5)
    _, bright = wfi.simulate_frames(20, det, wfi.Sky(points=(), diffuse_rate=2000.0), part, seed=5)
    assert (dim.kind == "xray").sum() < (bright.kind == "xray").sum()
    # a brighter sky leaves the tracks, secondaries and noise pixels as they were (only their ids shift)
    other = lambda t: t[t.kind != "xray"].drop(columns=["id", "parent"]).reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(other(dim), other(bright))


def test_cloud_deposits_split_charge_exactly():
    i, px, py, q = wfi.cloud_deposits(np.array([3.5, 7.0]), np.array([3.5, 7.5]), np.array([2.0, 4.0]), 0.1)
    assert np.bincount(i, weights=q).tolist() == pytest.approx([2.0, 4.0])
    half = q[(i == 1)]
    assert sorted(half.tolist())[-2:] == pytest.approx([2.0, 2.0], abs=1e-5)  # on a pixel edge: split in half


def test_label_events_names_the_origin_of_each_event():
    det = wfi.Detector(n_side=128)
    frames, truth = wfi.simulate_frames(40, det, wfi.Sky(points=(), diffuse_rate=4000.0),
                                        wfi.Particles(tracks_per_frame=3.0, lone_per_frame=0.0,
                                                      secondaries_per_track=0.0), seed=1)
    ev = wfi.label_events(wfi.find_events(frames).events, frames, truth)
    assert set(ev.kind) <= {"xray", "track"}
    acc = ev[(ev.energy < 15) & (ev.pattern <= 12) & (ev.blobdist != 0)]
    assert (acc.kind == "xray").all()
    assert (np.abs(acc.energy - acc.true_energy) < 0.2).mean() > 0.95


def test_light_curve_flare_and_shape():
    t, c = wfi.light_curve(1000.0, 50.0, 10.0, (500.0, 100.0, 3.0), seed=0)
    assert len(t) == 100 and t[0] == 5.0
    inside, outside = c[50:60].mean(), np.r_[c[:45], c[65:]].mean()
    assert inside / outside == pytest.approx(3.0, rel=0.1)


# ---------------------------------------------------------------- Geant4 reader

def write_pix_file(path, frames, n_frames):
    cols = [fits.Column(name="FRAME", format="J", array=np.array(frames)),
            fits.Column(name="ACTX", format="I", array=np.full(len(frames), 100)),
            fits.Column(name="ACTY", format="I", array=np.arange(len(frames)) + 100),
            fits.Column(name="ENERGY", format="E", array=np.ones(len(frames)))]
    hdr = fits.Header()
    for key, value in {"SPH_RAD": 70.0, "NPRI_GEN": 10, "NPRI_INT": 3, "NFRAMES": n_frames, "NBLOBS": 0,
                       "TEXPFRAM": 0.005}.items():
        hdr[key] = value
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols, header=hdr)]).writeto(path)


def test_geant4_reader_keeps_empty_frames_and_every_row(tmp_path):
    write_pix_file(tmp_path / "geant_events_all_pix.fits", [0, 0, 2, 2, 2], n_frames=4)
    fr = wfi.read_geant4(tmp_path)
    assert fr.n_frames == 4 and len(fr.frame) == 5 == fr.meta["n_rows"]
    assert np.bincount(fr.frame, minlength=4).tolist() == [2, 0, 3, 0]
    assert fr.frame_time == 0.005 and fr.meta["NPRI_GEN"] == 10
    with pytest.raises(ValueError, match="allowed: all"):
        wfi.read_geant4(tmp_path, run="0005")


# ---------------------------------------------------------------- BAM

def test_area_lost_of_one_pixel_is_a_disc():
    pix = pd.DataFrame({"frame": [0], "x": [50], "y": [50]})
    quads = wfi.quadrant_boxes(100)
    f = wa.area_lost(pix, 1, quads, [5.0, 10.0], n_points=200_000, seed=1)
    exact = np.array([81, 317]) / 100 ** 2  # lattice points within 5 and 10 of a pixel centre
    assert np.all(np.abs(f - exact) < 3 * np.sqrt(exact / 200_000))
    assert wa.area_lost(pix, 2, quads, [10.0], n_points=100_000, seed=1)[0] == pytest.approx(317 / 2e4, rel=0.1)


def test_sac_curve_counts_flagged_background():
    bg = pd.DataFrame({"mipdist": [-1.0, 3.0, 10.0, 40.0]})
    pix = pd.DataFrame({"frame": [0], "x": [50], "y": [50]})
    c = wa.sac_curve(bg, pix, 1, wfi.quadrant_boxes(100), [1.0, 5.0, 10.0], n_points=1000)
    assert c.removed.tolist() == [0.0, 0.25, 0.5] and c.flagged.tolist() == [0, 1, 2]
    assert (c.removed_se > 0).all()
    assert np.allclose(c.residual, (1 - c.removed) / (1 - c.area_lost))


def test_boolean_model_of_random_tracks():
    r = np.array([1.0, 10.0])
    assert wa.poisson_area_lost(10, 1e6, r).tolist() == pytest.approx(1 - np.exp(-10 / 1e6 * np.pi * r ** 2))
    assert wa.poisson_area_lost(10, 1e6, r, 5.0).tolist() == pytest.approx(
        1 - np.exp(-10 / 1e6 * (np.pi * r ** 2 + 10 * r)))


def test_spectrum_and_band_rate_units():
    s = wa.spectrum(np.array([0.5, 2.5, 2.7, 6.9]), 10.0, np.array([0.0, 1.0, 3.0, 7.0]))
    assert s.counts.tolist() == [1, 2, 1] and s.rate.tolist() == pytest.approx([0.1, 0.1, 0.025])
    assert wa.band_rate(np.array([0.5, 2.5, 2.7, 6.9, 7.0]), 10.0) == pytest.approx((3 / 50, np.sqrt(3) / 50))


# ---------------------------------------------------------------- TAM

def test_bayesian_blocks_equal_astropy_on_unbinned_events():
    rng = np.random.default_rng(0)
    for _ in range(3):
        t = np.unique(np.r_[rng.uniform(0, 100, 200), rng.uniform(40, 50, 80)])
        edges = np.r_[t[:1], 0.5 * (t[1:] + t[:-1]), t[-1:]]
        ours = wa.bayesian_blocks(edges, np.ones(len(t)), p0=0.05, n_prior=len(t))
        assert np.allclose(ours, astropy_blocks(t, fitness="events", p0=0.05))
        assert len(ours) > 2


def test_bayesian_blocks_find_a_step_at_its_bin_edge():
    counts = np.r_[np.full(50, 10), np.full(50, 40)]
    edges = np.arange(101.0)
    assert wa.change_points(wa.bayesian_blocks(edges, counts)).tolist() == [50.0]
    assert len(wa.change_points(wa.bayesian_blocks(edges, np.full(100, 10)))) == 0


def test_flare_trials_detect_a_bright_flare_and_nothing_on_a_constant_source():
    t = wa.flare_trials(5, 2000.0, 5.0, 10.0, (1000.0, 100.0, 4.0), seed=1)
    assert t.detected.all()
    assert not wa.flare_trials(5, 2000.0, 5.0, 10.0, None, seed=1).any_change.any()
    lat = wa.flare_latency(3, 5.0, 10.0, 100.0, 5.0, 500.0, seed=2)
    assert lat.detected.all() and (lat.latency <= 30).all() and (lat.latency > 0).all()


def test_transient_search_alarms_only_on_the_excess():
    counts = np.full((10, 8, 8), 5)
    assert len(wa.transient_search(counts, 100.0)) == 0       # exactly the expectation everywhere
    counts[7, 3, 4] = 60
    alarms = wa.transient_search(counts, 100.0)
    assert alarms[["window", "cy", "cx", "counts"]].values.tolist() == [[7, 3, 4, 60]]
    assert alarms.mu.tolist() == [5.0]


def test_a_trial_does_not_depend_on_how_many_are_run():
    few = wa.transient_trials(2, 5.0, 50.0, n_side=256, duration=2000.0, transient_length=500.0, seed=3)
    more = wa.transient_trials(4, 5.0, 50.0, n_side=256, duration=2000.0, transient_length=500.0, seed=3)
    pd.testing.assert_frame_equal(few, more.iloc[:2])
    assert more.onset.nunique() == 4
    few = wa.flare_latency(2, 5.0, 10.0, 100.0, 1.5, 500.0, seed=3)
    pd.testing.assert_frame_equal(few, wa.flare_latency(3, 5.0, 10.0, 100.0, 1.5, 500.0, seed=3).iloc[:2])


def test_transient_trials_find_a_bright_transient_without_false_alarms():
    t = wa.transient_trials(3, 5.0, 50.0, n_side=256, duration=2000.0, transient_length=500.0, seed=0)
    assert t.detected.all() and not t.false_alarm.any() and (t.latency <= 200).all()
