"""The Transient Analysis Module (C6, C7): flares of the target and serendipitous transients, over many trials.

Every study draws from its own named stream of the notebook's seed (``companion.rng.derive``), and each
flare amplitude or transient rate from its own stream too, so no two studies share a light curve or a sky.
"""

import numpy as np
import pandas as pd

from ... import rng
from ...physics import wfi
from ...physics.wfi import analysis as wa
from .compute import background_events

def flare_study(p):
    """Offline Bayesian blocks: false alarms on constant light curves, detection per flare amplitude.

    The false-alarm rate is measured with exact bin edges and, for comparison on the first n_trials/5
    of the same constant light curves, with ``astropy.stats.bayesian_blocks`` fed bin centres.
    """
    start = p.lc_duration / 2
    constant = rng.derive(p.seed, "constant light curves")
    const = wa.flare_trials(p.n_trials, p.lc_duration, p.lc_rate, p.lc_bin, None, p.p0, seed=constant)
    naive = wa.flare_trials(max(p.n_trials // 5, 1), p.lc_duration, p.lc_rate, p.lc_bin, None, p.p0,
                            seed=constant, method="astropy")
    rows = [{"amplitude": 1.0, "method": "exact bin edges", "trials": len(const),
             "rate": const.any_change.mean()},
            {"amplitude": 1.0, "method": "astropy on bin centres", "trials": len(naive),
             "rate": naive.any_change.mean()}]
    for k, amp in enumerate(p.flare_amplitudes):
        t = wa.flare_trials(p.n_trials, p.lc_duration, p.lc_rate, p.lc_bin, (start, p.flare_length, amp), p.p0,
                            seed=rng.derive(p.seed, "flare light curves", k))
        rows.append({"amplitude": amp, "method": "exact bin edges", "trials": len(t), "rate": t.detected.mean()})
    out = pd.DataFrame(rows)
    out["rate_se"] = np.sqrt(out.rate * (1 - out.rate) / out.trials)
    return out


def latency_study(p):
    """Online detection (Bayesian blocks on a trailing window after every bin): latency per amplitude."""
    rows = [wa.flare_latency(p.latency_trials, p.lc_rate, p.lc_bin, p.flare_length, amp, p.lc_window, p.p0,
                             seed=rng.derive(p.seed, "online flare light curves", k))
            for k, amp in enumerate(p.flare_amplitudes)]
    table = pd.concat(rows)
    summary = table.groupby("amplitude").agg(trials=("detected", "size"), detected=("detected", "mean"),
                                             latency_median=("latency", "median"),
                                             latency_max=("latency", "max")).reset_index()
    online_fa = wa.online_false_alarms(p.n_trials, p.lc_rate, p.lc_bin, p.lc_window, p.p0,
                                       seed=rng.derive(p.seed, "online constant light curves"))
    return table, summary, online_fa


def example_light_curve(p):
    """One light curve with a flare of ``flare_amplitude`` and its Bayesian blocks, for the figure."""
    flare = (p.lc_duration / 2, p.flare_length, p.flare_amplitude)
    seed = rng.derive(p.seed, "example light curve")
    t, counts = wfi.light_curve(p.lc_duration, p.lc_rate, p.lc_bin, flare, seed=seed)
    edges = np.arange(0.0, p.lc_duration + 1e-9, p.lc_bin)
    return t, counts, wa.bayesian_blocks(edges, counts, p.p0)


def sky_background_rate(sim, p):
    """Counts/s over the array that reach the sky search besides the target: diffuse X-rays and the
    particle events that pass screening (VFAINT and SAC at ``sac_radius``), from the frame simulation."""
    bg, xr = background_events(sim, p)
    xr_diffuse = xr[(np.hypot(xr.x - p.n_side / 4, xr.y - p.n_side / 4) > 10)]
    kept_bg = bg[~bg.vfaint & ~wa.flagged(bg.mipdist, p.sac_radius)]
    return (len(xr_diffuse) + len(kept_bg)) / (sim["frames"].n_frames * sim["frames"].frame_time)


def transient_study(p, background_rate):
    """Serendipitous transients: detection and latency per transient rate, false alarms without one."""
    common = dict(n_side=p.n_side, cell=p.tr_cell, window=p.tr_window, duration=p.tr_duration,
                  transient_length=p.transient_length, sources=((p.n_side / 4, p.n_side / 4, p.target_rate),),
                  alpha=p.tr_alpha)
    null = wa.transient_trials(p.tr_trials, 0.0, background_rate, **common,
                               seed=rng.derive(p.seed, "transient-free skies"))
    runs = [wa.transient_trials(p.tr_trials, r, background_rate, **common,
                                seed=rng.derive(p.seed, "transient skies", k)) for k, r in enumerate(p.transient_rates)]
    table = pd.concat(runs)
    summary = table.groupby("transient_rate").agg(
        trials=("detected", "size"), detected=("detected", "mean"), latency_median=("latency", "median"),
        latency_max=("latency", "max"), false_alarm=("false_alarm", "mean")).reset_index()
    return table, summary, null.false_alarm.mean(), len(null)
