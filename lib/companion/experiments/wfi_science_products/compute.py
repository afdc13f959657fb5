"""Simulated frames through the event finder, and the Background Analysis Module on them (C1, C3-C5).

The frames come from the toy simulator (``companion.physics.wfi.simulate``), the finder is the working
group's algorithm, and every event is labelled with the object that made it, so recovery, VFAINT and SAC
are measured against the truth. The BAM stand-ins are in ``companion.physics.wfi.analysis``.
"""

import numpy as np
import pandas as pd

from ...physics import wfi
from ...physics.wfi import analysis as wa
from .params import BAND, E_TOL, EDGE


def models(p):
    """The simulator's detector, sky (target at the centre of sensor 1, diffuse X-rays) and particles."""
    det = wfi.Detector(n_side=p.n_side, frame_time=p.frame_time, read_noise=p.read_noise, cloud_um=p.cloud_um,
                       evtth=p.evtth)
    sky = wfi.Sky(points=((p.n_side / 4, p.n_side / 4, p.target_rate),), diffuse_rate=p.diffuse_rate)
    part = wfi.Particles(tracks_per_frame=p.tracks_per_frame, secondaries_per_track=p.secondaries_per_track,
                         secondary_scale=p.secondary_scale, lone_per_frame=p.lone_per_frame,
                         electron_fraction=p.electron_fraction, electron_range=p.electron_range)
    return det, sky, part


def simulate(p):
    """Simulated frames, their truth, the event finder's output and every event labelled with its origin."""
    det, sky, part = models(p)
    frames, truth = wfi.simulate_frames(p.n_frames, det, sky, part, seed=p.seed)
    rec = wfi.find_events(frames, evtth=p.evtth, mipth=p.mipth, edge=EDGE)
    events = wfi.label_events(rec.events, frames, truth)
    return {"frames": frames, "truth": truth, "rec": rec, "events": events, "detector": det}


def exposure_area_cm2(quadrants, pixel_um=130.0, edge=EDGE):
    """Area (cm^2) where events can be reported: the sensors less ``edge`` pixels at every border."""
    px = sum((x1 - x0 + 1 - 2 * edge) * (y1 - y0 + 1 - 2 * edge) for x0, x1, y0, y1 in quadrants)
    return px * (pixel_um * 1e-4) ** 2


def accepted(events, mipth):
    """X-ray-like events the frame processor keeps: below the MIP threshold ``mipth`` (keV), 3x3 pattern 0-12,
    not in a blob. The 5x5 VFAINT flag is left to the BAM (events carry it in ``vfaint``).
    """
    return events[(events.energy < mipth) & (events.pattern3 <= 12) & (events.blobdist != 0)]


def _true_pattern(truth_xr, det, splitth):
    """The EPIC-pn pattern of each photon's noiseless charge split (what a perfect grader would say)."""
    i, px, py, q = wfi.cloud_deposits(truth_xr.x.to_numpy(), truth_xr.y.to_numpy(), truth_xr.energy.to_numpy(),
                                      det.cloud_um / det.pixel_um)
    dx = px - np.floor(truth_xr.x.to_numpy()[i]).astype(int)
    dy = py - np.floor(truth_xr.y.to_numpy()[i]).astype(int)
    grade = np.zeros(len(truth_xr), dtype=np.int64)
    for bit, (ox, oy) in enumerate(wfi.INNER):
        on = (dx == ox) & (dy == oy) & (q >= splitth)
        grade[i[on]] |= 1 << bit
    return wfi.EPICPN_PATTERN[grade]


def xray_recovery(sim, p):
    """One row per simulated X-ray photon: where it hit, whether the finder found it once, with what.

    ``eligible``: its hit pixel lies on a sensor, at least 2 px from a border (elsewhere no event is
    reported by design). ``isolated``: no pixel of another object within its 5x5 neighbourhood.
    """
    frames, truth, ev, det = sim["frames"], sim["truth"], sim["events"], sim["detector"]
    xr = truth[truth.kind == "xray"].reset_index(drop=True)
    hx, hy = np.floor(xr.x.to_numpy()).astype(np.int64), np.floor(xr.y.to_numpy()).astype(np.int64)
    ok = np.zeros(len(xr), dtype=bool)
    for x0, x1, y0, y1 in frames.quadrants:
        ok |= (hx >= x0 + EDGE) & (hx <= x1 - EDGE) & (hy >= y0 + EDGE) & (hy <= y1 - EDGE)
    n = frames.shape[1] + 4
    key = lambda f, x, y: (np.asarray(f) * (frames.shape[0] + 4) + np.asarray(y) + 2) * n + np.asarray(x) + 2  # noqa
    pk = key(frames.frame, frames.x, frames.y)
    order = np.argsort(pk)
    pk, owner = pk[order], frames.meta["owner"][order]
    isolated = np.ones(len(xr), dtype=bool)
    for dx, dy in wfi.PHAS_OFFSETS:
        q = key(xr.frame, hx + dx, hy + dy)
        j = np.minimum(np.searchsorted(pk, q), len(pk) - 1)
        isolated &= ~((pk[j] == q) & (owner[j] != xr.id.to_numpy()))
    mine = ev[ev.kind == "xray"]
    n_found = mine.groupby("owner").size().reindex(xr.id).fillna(0).to_numpy().astype(int)
    at = xr[["id", "frame"]].assign(x=hx, y=hy).merge(
        mine[["owner", "frame", "x", "y", "energy", "pattern", "vfaint"]].rename(columns={"owner": "id"}),
        on=["id", "frame", "x", "y"], how="left")
    return pd.DataFrame({"id": xr.id, "frame": xr.frame, "x": hx, "y": hy, "energy": xr.energy,
                         "eligible": ok, "isolated": isolated, "n_found": n_found,
                         "at_hit": at.energy.notna().to_numpy(), "found_energy": at.energy.to_numpy(),
                         "pattern": at.pattern.fillna(-1).astype(int).to_numpy(),
                         "pattern_true": _true_pattern(xr, det, p.evtth),
                         "vfaint": at.vfaint.fillna(False).astype(bool).to_numpy()})


def recognition_summary(rec_table, sim, p):
    """C1: recovery of eligible isolated X-rays, and how the finder treats MIP tracks."""
    sel = rec_table[rec_table.eligible & rec_table.isolated]
    once = (sel.n_found == 1) & sel.at_hit
    e_ok = once & (np.abs(sel.found_energy - sel.energy) <= E_TOL)
    frames, ev, rec = sim["frames"], sim["events"], sim["rec"]
    truth = sim["truth"].set_index("id")
    kind = truth.kind.reindex(frames.meta["owner"]).to_numpy()
    track_pix = (kind == "track") & (frames.energy > sim["detector"].evtth)
    key = lambda f, x, y: (np.asarray(f) * frames.shape[0] + np.asarray(y)) * frames.shape[1] + np.asarray(x)  # noqa
    bp = rec.blob_pixels
    in_blob = _member(key(frames.frame[track_pix], frames.x[track_pix], frames.y[track_pix]), key(bp.frame, bp.x, bp.y))
    owners = frames.meta["owner"][track_pix]
    per_track = pd.Series(in_blob).groupby(owners).all()
    tr = truth.reindex(per_track.index)
    x1, y1 = tr.x + tr.length * np.cos(tr.angle), tr.y + tr.length * np.sin(tr.angle)
    n = frames.shape[1]
    per_track = per_track[((tr.x >= 0) & (tr.x < n) & (x1 >= 0) & (x1 < n) & (y1 >= 0) & (y1 < n)).to_numpy()]
    leaked = (accepted(ev, p.mipth).kind == "track").sum()
    rows = [("X-ray photons simulated", len(rec_table)),
            ("eligible (>= 2 px inside a sensor)", int(rec_table.eligible.sum())),
            ("eligible and isolated", len(sel)), ("found exactly once at the hit pixel", once.mean()),
            (f"... with energy within {E_TOL} keV", e_ok.mean()),
            ("graded 0-12 (valid EPIC-pn pattern)", (once & (sel.pattern <= 12)).mean()),
            ("pattern equal to the noiseless split's", (once & (sel.pattern == sel.pattern_true)).mean()),
            ("flagged VFAINT", (once & sel.vfaint).mean()),
            ("found once, all eligible (incl. pile-up, tracks)", ((rec_table.n_found == 1) & rec_table.at_hit)[
                rec_table.eligible].mean()),
            ("tracks wholly on the array", len(per_track)), ("tracks wholly flagged as blobs", per_track.mean()),
            ("track events accepted as X-ray-like", int(leaked))]
    return summary_table(rows)


def summary_table(rows):
    """quantity, value, unit ("count" for ints, else "fraction"): numbers for the record, units for printing."""
    return pd.DataFrame({"quantity": [q for q, _ in rows], "value": [float(v) for _, v in rows],
                         "unit": ["count" if isinstance(v, (int, np.integer)) else "fraction" for _, v in rows]})


def format_summary(table):
    """The summary with counts as integers and fractions to four decimals, for printing."""
    return table.assign(value=[f"{v:.0f}" if u == "count" else f"{v:.4f}" for v, u in zip(table.value, table.unit)]
                        ).drop(columns="unit")


def _member(a, b):
    """Whether each of ``a`` is in ``b`` (integer keys), by binary search."""
    b = np.sort(b)
    if not len(b):
        return np.zeros(len(a), dtype=bool)
    return b[np.minimum(np.searchsorted(b, a), len(b) - 1)] == a


def vfaint_table(sim, p):
    """VFAINT (5x5 outer ring) flag rate of the accepted events, by origin."""
    ev = accepted(sim["events"], p.mipth)
    ev = ev[ev.kind.isin(["xray", "secondary", "lone"])]
    origin = np.where(ev.kind == "xray", "X-ray", "particle background")
    g = ev.assign(origin=origin).groupby("origin").vfaint
    out = pd.DataFrame({"events": g.size(), "vfaint": g.sum(), "fraction": g.mean()}).reset_index()
    out["fraction_se"] = np.sqrt(out.fraction * (1 - out.fraction) / out.events)
    return out


def background_events(sim, p):
    """Accepted events split into particle background and X-rays (truth from the simulator)."""
    acc = accepted(sim["events"], p.mipth)
    return acc[acc.kind.isin(["secondary", "lone"])], acc[acc.kind == "xray"]


def sac_simulated(sim, p):
    """The SAC trade-off on simulated frames, with the Boolean model of random tracks for the area lost.

    The model takes the blobs found per frame and the simulator's mean projected track length.
    """
    bg, xr = background_events(sim, p)
    fr, truth = sim["frames"], sim["truth"]
    curve = wa.sac_curve(bg, sim["rec"].mip_pixels, fr.n_frames, fr.quadrants, p.sac_radii, signal=xr, seed=p.seed)
    tracks = len(sim["rec"].blobs) / fr.n_frames
    length = truth.length[truth.kind == "track"].mean() if (truth.kind == "track").any() else 0.0
    return curve.assign(model=wa.poisson_area_lost(tracks, fr.area_px, p.sac_radii, length),
                        point_model=wa.poisson_area_lost(tracks, fr.area_px, p.sac_radii))


def area_lost_at(sim, radius, seed=0, n_points=200_000):
    """f(r) at one radius on the simulated frames; with ``seed=p.seed``, at the points :func:`sac_simulated` uses."""
    fr = sim["frames"]
    return float(wa.area_lost(sim["rec"].mip_pixels, fr.n_frames, fr.quadrants, [radius], n_points, seed)[0])


def spectra(sim, p, f):
    """Particle-background spectrum per unit exposure: all accepted, after VFAINT, after VFAINT and SAC.

    ``f`` is the area x time lost at ``sac_radius`` (:func:`area_lost_at`).
    """
    bg, _ = background_events(sim, p)
    fr = sim["frames"]
    exposure = exposure_area_cm2(fr.quadrants) * fr.n_frames * fr.frame_time
    keep_vf = ~bg.vfaint.to_numpy()
    keep_sac = keep_vf & ~wa.flagged(bg.mipdist, p.sac_radius)
    steps = {"accepted": (np.ones(len(bg), bool), exposure),
             "after VFAINT": (keep_vf, exposure),
             f"after VFAINT and SAC r={p.sac_radius:g}": (keep_sac, exposure * (1 - f))}
    bins = np.arange(0.0, p.mipth + 1e-9, 1.0)
    spec = pd.concat([wa.spectrum(bg.energy[m], ex, bins).assign(step=name) for name, (m, ex) in steps.items()])
    band = []
    for name, (m, ex) in steps.items():
        rate, se = wa.band_rate(bg.energy[m].to_numpy(), ex, BAND)
        band.append({"step": name, "events": int(m.sum()), "exposure_cm2_s": ex, "rate_2_7keV": rate, "rate_se": se})
    return spec, pd.DataFrame(band)


def background_maps(sim, p, f, cells=16):
    """Particle-background counts per cell per second, before and after SAC (divided by 1 - f(r))."""
    bg, _ = background_events(sim, p)
    fr = sim["frames"]
    t = fr.n_frames * fr.frame_time
    keep = ~wa.flagged(bg.mipdist, p.sac_radius)
    return (wa.background_map(bg.x, bg.y, p.n_side, cells, t),
            wa.background_map(bg.x[keep], bg.y[keep], p.n_side, cells, t * (1 - f)))
