"""The claims of notebook 04 as data: each row's statement, kind, the abstract sentence it tests and its rule.

:func:`claim_values` turns the notebook's tables into named numbers; ``CLAIMS`` decides every row from them
alone (``companion.claims``). The thresholds are those of the notebook's first commit and have not changed
since; the noise bands (undecided within two standard errors) were added where the row compares a difference
with zero and its standard error is recorded.

Kinds. The ``paper`` rows are SAC on the Geant4 frames (C4d), the Transient Analysis Module (C6, C7) and the
throughput (C8, a timing). The rest are ``sanity`` rows: C1 and C2 check the rebuilt event recognition that
everything stands on (against the toy's truth and the Geant4 reference list), and C3-C5 hold by construction of
the toy: its secondaries sit at ``secondary_scale`` from their track and reach the 5x5 ring only as short electron
tracks, its tracks fall at random and its X-rays do not know where they are. They show that the setup does what it
was built to do, not that the SPM's flagging works.
"""

import math

import numpy as np

from ...claims import Above, AllOf, AtLeast, AtMost, Below, Claim
from .params import E_TOL, FRAMES_NEEDED

BAM = "The Background Analysis Module will perform more sophisticated flagging of potential background events"
TAM_TARGET = ("The Transient Analysis Module will perform on-board processing of the science images to identify "
              "and characterize variability of the prime target")
TAM_FIELD = "detection of serendipitous transient X-ray sources in the field of view"
CPU = "is a highly capable secondary CPU that performs special processing on the science data stream"


BAND = ("The undecided band (within two standard errors of zero) was added when the claims became data, after the "
        "committed runs: a difference within it now makes the row undecided, where it made it fail. The condition "
        "for holding (more than two standard errors above zero) is unchanged.")

CLAIMS = [
    Claim("C1a", "event recognition finds each isolated X-ray once, with its energy and a valid grade", "sanity",
          AllOf(AtLeast("xray_found_once", 0.95), AtLeast("xray_energy_within_tol", 0.95),
                AtLeast("xray_valid_grade", 0.95)),
          shows=f"{{xray_found_once:.3f}} found once, {{xray_energy_within_tol:.3f}} within {E_TOL:g} keV, "
                "{xray_valid_grade:.3f} graded 0-12 ({isolated_xrays} photons)"),
    Claim("C1b", "few isolated X-rays are flagged by the 5x5 outer ring (VFAINT)", "sanity",
          Below("xray_vfaint_flagged", 0.05), shows="{xray_vfaint_flagged:.3f} of isolated X-rays"),
    Claim("C1c", "every MIP track is flagged (blobs), none passes as an X-ray", "sanity",
          AllOf(Below("tracks_not_flagged", 1), Below("track_events_accepted", 1)),
          shows="{tracks_flagged_fraction:.4f} of {tracks_on_array} tracks; {track_events_accepted} track events "
                "accepted"),
    Claim("C2a", "the event finder agrees with the Geant4 reference event list, event by event", "sanity",
          AtLeast("g4_agree", 0.95),
          shows="{g4_agree:.4f} of {g4_reference_events} events agree; {g4_events_only_ours} extra"),
    Claim("C2b", "the Geant4 reader reproduces the FITS headers (frames and pixels)", "sanity",
          AllOf(Below("g4_frame_count_mismatch", 1), Below("g4_pixel_count_mismatch", 1)),
          shows="{g4_frames_read}/{g4_frames_header} frames, {g4_pixels_read}/{g4_pixels_header} pixels"),
    Claim("C3", "BAM: the VFAINT flag removes more toy background than X-rays (set by the toy's electrons)",
          "sanity", Above("vfaint_gap", 0, noise="vfaint_gap_se2"), revised=BAND,
          shows="background {vfaint_background_fraction:.3f}, X-rays {vfaint_xray_fraction:.3f}"),
    Claim("C4a", "BAM: SAC removes more toy background than area x time up to the toy's correlation scale",
          "sanity", AllOf(Above("sac_gap_at_scale", 0, noise="sac_gap_se2_at_scale"),
                          Above("sac_worst_gap_plus_2se", 0), Below("sac_decreasing_steps", 1)), revised=BAND,
          shows="at r={sac_scale_radius:g}: removed {sac_removed_at_scale:.3f}, area lost "
                "{sac_area_lost_at_scale:.3f}; least gap + 2 s.e. at r <= {sac_scale_radius:g}: "
                "{sac_worst_gap_plus_2se:.3f}; {sac_decreasing_steps} decreasing steps"),
    Claim("C4b", "area x time lost is that of randomly placed tracks, 1 - exp(-rho(pi r^2 + 2rL))", "sanity",
          AllOf(Above("sac_model_ratio_min", 0.9), Below("sac_model_ratio_max", 1.1)),
          shows="measured/model {sac_model_ratio_min:.3f} to {sac_model_ratio_max:.3f} over "
                "r = {sac_radius_min:g}-{sac_radius_max:g} px"),
    Claim("C4c", "SAC costs X-rays exactly the area x time it loses", "sanity",
          Below("sac_xray_area_deviation", 0.05),
          shows="largest |X-rays flagged - area lost| {sac_xray_area_deviation:.3f}"),
    Claim("C4d", "BAM: SAC removes more background than area x time on the Geant4 reference frames", "paper",
          Above("g4_sac_gap", 0, noise="g4_sac_gap_se2"), sentence=BAM, revised=BAND,
          shows="r={g4_sac_radius:g}: removed {g4_sac_removed:.3f} of {g4_sac_events} accepted events, "
                "area lost {g4_sac_area_lost:.3f}"),
    Claim("C5", "BAM: the flagged toy background is lower per unit exposure (2-7 keV)", "sanity",
          Above("spectrum_drop", 0, noise="spectrum_drop_se2"), revised=BAND,
          shows="{spectrum_rate_before:.3g} -> {spectrum_rate_after:.3g} counts/cm2/s/keV "
                "(x{spectrum_after_over_before:.2f})"),
    Claim("C6a", "TAM: Bayesian blocks detect a flare of the target in 0.9 of light curves", "paper",
          AtLeast("flare_detected", 0.9), sentence=TAM_TARGET,
          shows="{flare_detected:.3f} of {flare_trials} light curves ({flare_amplitude:g}x for {flare_length:g} s "
                "at {lc_rate:g} counts/s)"),
    Claim("C6b", "TAM: Bayesian blocks' false alarms on a constant target are at most p0", "paper",
          AtMost("flare_false_alarm", "flare_false_alarm_allowed"), sentence=TAM_TARGET,
          shows="{flare_false_alarm:.3f} of {flare_false_alarm_trials} constant light curves "
                "(p0 = {flare_false_alarm_allowed:g})"),
    Claim("C7a", "TAM: a serendipitous transient is found in 0.9 of skies, within two search windows", "paper",
          AllOf(AtLeast("transient_detected", 0.9),
                AtMost("transient_latency_median_s", "transient_latency_limit_s")), sentence=TAM_FIELD,
          shows="{transient_detected:.3f} of {transient_trials} at {transient_rate:g} counts/s, median latency "
                "{transient_latency_median_s:.0f} s (two windows: {transient_latency_limit_s:g} s)"),
    Claim("C7b", "TAM: the sky search raises false alarms in at most tr_alpha of observations", "paper",
          AtMost("sky_false_alarm", "sky_false_alarm_allowed"), sentence=TAM_FIELD,
          shows="{sky_false_alarm:.3f} of {sky_false_alarm_trials} transient-free observations "
                "(allowed {sky_false_alarm_allowed:g})"),
    Claim("C8", "find_events alone, on frames already split into pixel lists, runs at >= 200 frames/s (1 core)",
          "paper", Above("stream_frames_per_s", "frames_per_s_needed"), sentence=CPU, timed=True,
          shows="{stream_frames_per_s:.0f} frames/s from pre-split pixel lists of {pixels_per_frame:.0f} pixels "
                "({batch_frames_per_s:.0f} batched, {dense_frames_per_s:.0f} from full images)"),
]


def _recognition_values(recog):
    """C1: recovery of the isolated X-rays and the fate of the MIP tracks (from recognition_summary)."""
    v = dict(zip(recog.quantity, recog.value))
    out = {"isolated_xrays": int(v["eligible and isolated"]),
           "xray_found_once": float(v["found exactly once at the hit pixel"]),
           "xray_energy_within_tol": float(v[f"... with energy within {E_TOL} keV"]),
           "xray_valid_grade": float(v["graded 0-12 (valid EPIC-pn pattern)"]),
           "xray_vfaint_flagged": float(v["flagged VFAINT"])}
    n_tracks = int(v["tracks wholly on the array"])
    if n_tracks:  # no track on the array: nothing to flag, the row is left out
        flagged = float(v["tracks wholly flagged as blobs"])
        out.update(tracks_on_array=n_tracks, tracks_flagged_fraction=flagged,
                   tracks_not_flagged=int(round((1 - flagged) * n_tracks)),
                   track_events_accepted=int(v["track events accepted as X-ray-like"]))
    return out


def _geant4_values(g4):
    """C2: the reader against the FITS headers and the event-by-event agreement (from geant4_summary)."""
    v = dict(zip(g4.quantity, g4.value))
    frames, pixels = (int(v["frames read"]), int(v["frames (header NFRAMES)"])), (
        int(v["pixels read"]), int(v["pixels (header NAXIS2)"]))
    return {"g4_agree": float(v["agree (energy 1e-4, pattern, VFAINT, distances)"]),
            "g4_reference_events": int(v["reference events"]), "g4_events_only_ours": int(v["events only in ours"]),
            "g4_frames_read": frames[0], "g4_frames_header": frames[1], "g4_frame_count_mismatch": abs(
                frames[0] - frames[1]), "g4_pixels_read": pixels[0], "g4_pixels_header": pixels[1],
            "g4_pixel_count_mismatch": abs(pixels[0] - pixels[1])}


def _vfaint_values(vf):
    """C3: VFAINT flag rates of the particle background and of X-rays, their gap and two standard errors."""
    fx = vf.set_index("origin")
    if not {"particle background", "X-ray"} <= set(fx.index):
        return {}
    bg, xr = fx.loc["particle background"], fx.loc["X-ray"]
    return {"vfaint_background_fraction": float(bg.fraction), "vfaint_xray_fraction": float(xr.fraction),
            "vfaint_gap": float(bg.fraction - xr.fraction),
            "vfaint_gap_se2": float(2 * np.hypot(bg.fraction_se, xr.fraction_se))}


def _sac_values(p, sac):
    """C4a-c: SAC on the simulated frames (from sac_simulated).

    C4a is judged at the largest swept radius up to ``secondary_scale``; with none swept there it is left out.
    """
    gap = (sac.removed - sac.area_lost).to_numpy()
    gap_se2 = 2 * np.hypot(sac.removed_se, sac.area_lost_se).to_numpy()
    inside = np.nonzero(sac.radius.to_numpy() <= p.secondary_scale)[0]
    ratio = (sac.area_lost / sac.model).to_numpy()
    out = {"sac_model_ratio_min": float(ratio.min()), "sac_model_ratio_max": float(ratio.max()),
           "sac_radius_min": float(sac.radius.min()), "sac_radius_max": float(sac.radius.max())}
    if len(inside):
        i = inside[-1]
        out.update(sac_scale_radius=float(sac.radius.iloc[i]), sac_removed_at_scale=float(sac.removed.iloc[i]),
                   sac_area_lost_at_scale=float(sac.area_lost.iloc[i]), sac_gap_at_scale=float(gap[i]),
                   sac_gap_se2_at_scale=float(gap_se2[i]),
                   sac_worst_gap_plus_2se=float((gap + gap_se2)[inside].min()),
                   sac_decreasing_steps=int(((np.diff(sac.removed) < 0) | (np.diff(sac.area_lost) < 0)).sum()))
    if "signal_lost" in sac:
        out["sac_xray_area_deviation"] = float((sac.signal_lost - sac.area_lost).abs().max())
    return out


def _interp(curve, column, r):
    return float(np.interp(r, curve.radius, curve[column]))


def _geant4_sac_values(p, g4_sac):
    """C4d: SAC on the Geant4 reference set at ``sac_radius`` (from sac_geant4)."""
    r = p.sac_radius
    removed, lost = _interp(g4_sac, "removed", r), _interp(g4_sac, "area_lost", r)
    return {"g4_sac_radius": float(r), "g4_sac_events": int(g4_sac.n_background.iloc[0]),
            "g4_sac_removed": removed, "g4_sac_area_lost": lost, "g4_sac_gap": removed - lost,
            "g4_sac_gap_se2": 2 * _interp(g4_sac, "removed_se", r)}


def _spectrum_values(band):
    """C5: the 2-7 keV particle background per unit exposure, before flagging and after VFAINT and SAC."""
    before, after = band.iloc[0], band.iloc[-1]
    return {"spectrum_rate_before": float(before.rate_2_7keV), "spectrum_rate_after": float(after.rate_2_7keV),
            "spectrum_after_over_before": float(after.rate_2_7keV / before.rate_2_7keV),
            "spectrum_drop": float(before.rate_2_7keV - after.rate_2_7keV),
            "spectrum_drop_se2": float(2 * np.hypot(before.rate_se, after.rate_se))}


def _flare_values(p, flares):
    """C6: detection of the flare of ``flare_amplitude`` and false alarms on constant light curves."""
    exact = flares[flares.method == "exact bin edges"]
    fa, det = exact[exact.amplitude == 1.0].iloc[0], exact[exact.amplitude == p.flare_amplitude].iloc[0]
    return {"flare_detected": float(det.rate), "flare_trials": int(det.trials),
            "flare_amplitude": float(p.flare_amplitude), "flare_length": float(p.flare_length),
            "lc_rate": float(p.lc_rate), "flare_false_alarm": float(fa.rate),
            "flare_false_alarm_trials": int(fa.trials), "flare_false_alarm_allowed": float(p.p0)}


def _transient_values(p, transients):
    """C7: detection and latency of a transient of ``transient_rate``; false alarms on transient-free skies."""
    summary, null_fa, n_null = transients
    tr = summary.set_index("transient_rate").loc[p.transient_rate]
    return {"transient_detected": float(tr.detected), "transient_trials": int(tr.trials),
            "transient_rate": float(p.transient_rate), "transient_latency_median_s": float(tr.latency_median),
            "transient_latency_limit_s": float(2 * p.tr_window), "sky_false_alarm": float(null_fa),
            "sky_false_alarm_trials": int(n_null), "sky_false_alarm_allowed": float(p.tr_alpha)}


def _throughput_values(speed):
    """C8: frames per second of find_events, and the pixels per frame it ran on (a timing)."""
    s = speed.set_index("mode").frames_per_s
    return {"stream_frames_per_s": float(s["stream"]), "batch_frames_per_s": float(s["batch"]),
            "dense_frames_per_s": float(s["dense"]), "frames_per_s_needed": FRAMES_NEEDED,
            "pixels_per_frame": float(speed.attrs.get("pixels_per_frame", math.nan))}


def claim_values(p, recog, vf, sac, band, flares, transients, speed=None, g4=None, g4_sac=None):
    """The named numbers ``CLAIMS`` read, from the notebook's tables (the Geant4 ones only with ``g4`` /
    ``g4_sac``, the throughput only with ``speed``).

    ``transients`` = (summary, false-alarm rate without a transient, its trials).
    """
    values = {**_recognition_values(recog), **_vfaint_values(vf), **_sac_values(p, sac),
              **_spectrum_values(band), **_flare_values(p, flares), **_transient_values(p, transients)}
    if g4 is not None:
        values.update(_geant4_values(g4))
    if g4_sac is not None:
        values.update(_geant4_sac_values(p, g4_sac))
    if speed is not None:
        values.update(_throughput_values(speed))
    return values
