"""The claims of notebook 04 as data: each row's statement, kind, the abstract sentence it tests and its rule.

:func:`claim_values` turns the notebook's tables into named numbers; ``CLAIMS`` decides every row from them
alone (``companion.claims``). Most thresholds are those of the notebook's first commit; the noise bands
(undecided within two standard errors) were added where the row compares a difference with zero and its standard
error is recorded, and C4c, C4d and C8 were changed after a review; each such row says so in ``revised``.

Kinds. The ``paper`` rows are SAC on the Geant4 frames (C4d), the Transient Analysis Module (C6, C7) and the
per-frame path (C8, a timing). C4e, a ``mechanism`` row, asks whether the Geant4 frames show the correlation of
background with tracks that the toy was built with. The rest are ``sanity`` rows: C1 and C2 check the rebuilt event
recognition that everything stands on (against the toy's truth and the Geant4 reference list), and C3-C5 hold by
construction of the toy: its secondaries sit at ``secondary_scale`` from their track and reach the 5x5 ring only as
short electron tracks, its tracks fall at random and its X-rays do not know where they are. They show that the setup
does what it was built to do, not that the SPM's flagging works.
"""

import numpy as np
from scipy import stats

from ...claims import FAILS, HOLDS, UNDECIDED, Above, AllOf, AtLeast, AtMost, Below, Claim, Rule
from .params import ALPHA, E_TOL

BAM = "The Background Analysis Module will perform more sophisticated flagging of potential background events"
TAM_TARGET = ("The Transient Analysis Module will perform on-board processing of the science images to identify "
              "and characterize variability of the prime target")
TAM_FIELD = "detection of serendipitous transient X-ray sources in the field of view"
CPU = "is a highly capable secondary CPU that performs special processing on the science data stream"


BAND = ("The undecided band (within two standard errors of zero) was added when the claims became data, after the "
        "committed runs: a difference within it now makes the row undecided, where it made it fail. The condition "
        "for holding (more than two standard errors above zero) is unchanged.")

C4C_REVISED = ("Until this version the rule was |X-rays flagged - area lost| < 0.05 at every radius, an absolute "
               "tolerance that passed 0.111 against 0.083 (34% apart); it is now that deviation in binomial standard "
               "errors, below the two-sided 5% bound shared out over the swept radii (Bonferroni). Changed after "
               "the review, which had seen results.")
C4D_REVISED = ("Until this version the row compared removed minus lost with two Agresti-Coull standard errors; it is "
               "now the exact binomial test of the flagged count against the area lost, one-sided at 5% each way. "
               "Changed after the review, which had seen the committed Geant4 result (0 of 26 flagged at 30 px).")
C8_REVISED = ("Until this version C8 timed find_events alone, on pixel lists split per frame outside the timing, "
              "best of three, in wall-clock time; it now times process_frame, the whole per-frame path from the raw "
              "frame, and is decided by the median of five passes in CPU time of the thread (wall clock is recorded "
              "beside it). The bound, the frame time, is unchanged. Changed after the review, which had seen results.")
BINOMIAL_TEXT = (f"exact binomial, flagged of n at the area lost: holds when P(X >= flagged) < {ALPHA:g}, fails when "
                 f"P(X <= flagged) < {ALPHA:g}, else undecided")
CONSISTENT_TEXT = (f"exact binomial, flagged of n at the toy's share: fails when either tail is below {ALPHA / 2:g} "
                   "(two-sided 5%), else holds")


def _tails(values, *names):
    """The named tail probabilities as floats (NaN where not a number)."""
    return [float(values[n]) if isinstance(values[n], (int, float)) else np.nan for n in names]


def _binomial_test(values):
    """More flagged than the area lost explains: holds; fewer: fails; neither at 5%: undecided."""
    more, fewer = _tails(values, "g4_sac_p_more", "g4_sac_p_fewer")
    if np.isnan(more) or np.isnan(fewer):
        return UNDECIDED
    return HOLDS if more < ALPHA else FAILS if fewer < ALPHA else UNDECIDED


def _consistent(values):
    """The count is consistent with the toy's share unless a tail is below half the level (two-sided)."""
    tails = _tails(values, "g4_toy_p_fewer", "g4_toy_p_more")
    if np.isnan(tails).any():
        return UNDECIDED
    return FAILS if min(tails) < ALPHA / 2 else HOLDS


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
    Claim("C4c", "SAC costs X-rays the area x time it loses, within the statistical error", "sanity",
          Below("sac_xray_area_z", "sac_xray_area_z_allowed"), revised=C4C_REVISED,
          shows="largest |X-rays flagged - area lost| {sac_xray_area_deviation:.3f}, {sac_xray_area_z:.2f} standard "
                "errors (allowed {sac_xray_area_z_allowed:.2f} over {sac_radii_swept} radii)"),
    Claim("C4d", "BAM: SAC removes more background than area x time on the Geant4 reference frames", "paper",
          Rule(_binomial_test, ("g4_sac_p_more", "g4_sac_p_fewer"), BINOMIAL_TEXT), sentence=BAM,
          revised=C4D_REVISED,
          shows="r={g4_sac_radius:g}: {g4_sac_flagged} of {g4_sac_events} accepted events flagged "
                "({g4_sac_removed:.3f}), area lost {g4_sac_area_lost:.3f}; P(<= {g4_sac_flagged}) = "
                "{g4_sac_p_fewer:.3f}, P(>= {g4_sac_flagged}) = {g4_sac_p_more:.3f} if SAC only cost area"),
    Claim("C4e", "BAM: the Geant4 frames show the toy's share of background near tracks at the SAC radius",
          "mechanism", Rule(_consistent, ("g4_toy_p_fewer", "g4_toy_p_more"), CONSISTENT_TEXT), sentence=BAM,
          shows="r={g4_sac_radius:g}: Geant4 {g4_sac_flagged} of {g4_sac_events}, toy {sac_removed_at_radius:.3f}; "
                "P(<= {g4_sac_flagged}) = {g4_toy_p_fewer:.2g} at the toy's share"),
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
    Claim("C8", "the per-frame path from the raw 1024 x 1024 frame (threshold, find, grade, flag) fits in the "
          "frame time on one core", "paper", Below("frame_path_ms", "frame_budget_ms"), sentence=CPU, timed=True,
          revised=C8_REVISED,
          shows="{frame_path_ms:.2f} ms of CPU per frame in the median pass ({frames_per_s_median:.0f} frames/s; "
                "best pass {frames_per_s_best:.0f}; wall clock {wall_frames_per_s_median:.0f} at load "
                "{load_1min:.1f}), frame time {frame_budget_ms:g} ms; {pixels_per_frame:.0f} pixels per frame"),
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
        out.update(_xray_loss_values(sac))
    return out


def _xray_loss_values(sac):
    """C4c: X-rays flagged against area lost at every radius, in binomial standard errors of n_signal X-rays."""
    n = sac.n_signal.to_numpy()
    f = sac.area_lost.to_numpy()
    agresti = (f * n + 2) / (n + 4)  # as removed_se: a standard error even where f is 0
    se = np.sqrt(agresti * (1 - agresti) / (n + 4) + sac.area_lost_se.to_numpy() ** 2)
    dev = np.abs(sac.signal_lost.to_numpy() - f)
    return {"sac_xray_area_deviation": float(dev.max()), "sac_xray_area_z": float((dev / se).max()),
            "sac_xray_area_z_allowed": float(stats.norm.isf(ALPHA / 2 / len(sac))), "sac_radii_swept": len(sac)}


def _geant4_sac_values(p, g4_sac, sac):
    """C4d, C4e: SAC on the Geant4 reference set at ``sac_radius`` (from sac_geant4), against the area it loses
    and against the toy's share of flagged background (from sac_simulated)."""
    row = g4_sac.set_index("radius").loc[p.sac_radius]
    n, k, f = int(row.n_background), int(row.flagged), float(row.area_lost)
    toy = float(sac.set_index("radius").loc[p.sac_radius].removed)
    return {"g4_sac_radius": float(p.sac_radius), "g4_sac_events": n, "g4_sac_flagged": k,
            "g4_sac_removed": k / n if n else float("nan"), "g4_sac_area_lost": f,
            "g4_sac_p_more": float(stats.binom.sf(k - 1, n, f)), "g4_sac_p_fewer": float(stats.binom.cdf(k, n, f)),
            "sac_removed_at_radius": toy, "g4_toy_p_more": float(stats.binom.sf(k - 1, n, toy)),
            "g4_toy_p_fewer": float(stats.binom.cdf(k, n, toy))}


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
    """C8: time per frame of the per-frame path from the raw frame, CPU and wall clock (a timing), and the frame
    time."""
    return {"frame_path_ms": float(speed["cpu_ms_median"]), "frame_budget_ms": float(speed["frame_budget_ms"]),
            "frames_per_s_median": float(speed["cpu_frames_per_s_median"]),
            "frames_per_s_best": float(speed["cpu_frames_per_s_best"]),
            "wall_frames_per_s_median": float(speed["wall_frames_per_s_median"]),
            "load_1min": float(speed["load_1min"]), "pixels_per_frame": float(speed["pixels_per_frame"])}


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
        values.update(_geant4_sac_values(p, g4_sac, sac))
    if speed is not None:
        values.update(_throughput_values(speed))
    return values
