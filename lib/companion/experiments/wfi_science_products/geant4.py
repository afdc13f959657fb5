"""The Geant4 reference set (C2, and C4 on real frames): our finder against the working group's event list."""

import numpy as np

from ...physics import wfi
from ...physics.wfi import analysis as wa
from .compute import accepted, exposure_area_cm2, summary_table
from .params import BAND, EDGE, REQUIREMENT


def geant4(p):
    """The Geant4 reference set through the registry, our finder on its pixel list and the comparison."""
    from ...data import fetch

    folder = fetch("wfi-geant4")
    frames = wfi.read_geant4(folder)
    rec = wfi.find_events(frames, evtth=wfi.EVTTH, mipth=wfi.MIPTH, edge=EDGE)  # the reference's own settings
    ref = wfi.read_geant4_events(folder)
    per_frame = wfi.read_geant4_frames(folder)
    return {"frames": frames, "rec": rec, "ref": ref, "match": wfi.compare_events(rec.events, ref),
            "per_frame": per_frame}


def geant4_summary(g):
    """Header checks and the event-by-event agreement with the reference event list."""
    fr, m, ref, rec = g["frames"], g["match"], g["ref"], g["rec"]
    npix = np.bincount(fr.frame, minlength=fr.n_frames)
    both = m[m.found]
    valid = (ref.energy < wfi.MIPTH) & (ref.pattern <= 12)
    rows = [("frames (header NFRAMES)", int(fr.meta["NFRAMES"])), ("frames read", fr.n_frames),
            ("pixels (header NAXIS2)", fr.meta["n_rows"]), ("pixels read", len(fr.frame)),
            ("frames whose pixel count matches NPIX", int((npix[g["per_frame"].frame] == g["per_frame"].npix).sum())),
            ("blobs (header NBLOBS)", int(fr.meta["NBLOBS"])), ("blobs found", len(rec.blobs)),
            ("reference events", len(ref)), ("events found", len(rec.events)),
            ("found at the same frame and pixel", float(m.found.sum() / len(ref))),
            ("agree (energy 1e-4, pattern, VFAINT, distances)", float(m.agree.sum() / len(ref))),
            ("pattern agreement where found", float((both.pattern == both.pattern_ref).mean())),
            ("events only in ours", int((m.only == "ours").sum())),
            ("reference events below MIP threshold, pattern 0-12", int(valid.sum())),
            ("... of which VFAINT", int(ref.vfaint[valid].sum()))]
    return summary_table(rows)


def sac_geant4(g, p):
    """The SAC trade-off on the Geant4 frames: the accepted events of our finder (equal to the reference's)
    against its MIP pixels."""
    fr, ev = g["frames"], g["rec"].events
    bg = accepted(ev, wfi.MIPTH)  # the set was processed at the reference's MIP threshold
    return wa.sac_curve(bg, g["rec"].mip_pixels, fr.n_frames, fr.quadrants, p.sac_radii, seed=p.seed)


def geant4_background(g):
    """The reference set's 2-7 keV rate of valid events, per unit area and time, against the requirement."""
    ref, fr = g["ref"], g["frames"]
    bg = ref[(ref.energy < wfi.MIPTH) & (ref.pattern <= 12)]
    exposure = exposure_area_cm2(fr.quadrants) * fr.n_frames * fr.frame_time
    rate, se = wa.band_rate(bg.energy.to_numpy(), exposure, BAND)
    return {"events": len(bg), "exposure_cm2_s": exposure, "rate_2_7keV": rate, "rate_se": se,
            "requirement": REQUIREMENT}
