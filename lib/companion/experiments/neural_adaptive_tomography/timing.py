"""Processing time against n for the three filters, its fits and extrapolation, and the speed-ups at matched
accuracy (claims C1-C3).

Three filters track one true state with adaptive basis measurements: ``bayes`` and ``neural`` on the doubling
schedule, and ``per-copy``, the ABQT form of the Bayesian filter (one update per copy), whose cost grows
linearly with n: the "O(poly n)" side of the paper's timing claim.
"""

import numpy as np
import pandas as pd

from ...physics.tomography import runs
from ...physics.tomography.measurement import Scheme
from .compute import track, truths
from .params import METHODS, TIMED, n_particles_of


def timing(p, models):
    """Processing seconds against n for one true state, adaptive basis measurements, per qubit count.

    per-copy: one Bayes update per copy up to ``per_copy_n_max``; bayes and neural: the doubling schedule up to
    ``time_n_max``. Only the filter's work is timed (data simulation is not). Every run is repeated
    ``time_repeats`` times on the same seeds (the same work) and the fastest kept, which damps the noise of a
    shared machine. Rows: qubits, method, n, seconds, infidelity.
    """
    frames = [_timing_once(p, models) for _ in range(p.time_repeats)]
    out = frames[0].copy()
    out["seconds"] = np.min([f.seconds.to_numpy() for f in frames], axis=0)
    return out


def _timing_once(p, models):
    frames = []
    for q in p.qubits:
        truth = truths(p, q)[:1]
        scheme = Scheme(TIMED[0], q, TIMED[1], p.adaptive_fraction)
        ns = runs.geometric_schedule(p.n_min, p.time_n_max)[0]
        for method in METHODS:
            frames.append(pd.DataFrame(track(p, q, truth, scheme, method, models, ns)).assign(qubits=q, method=method))
        record_at = runs.geometric_schedule(p.n_min, p.per_copy_n_max)[0]
        rows, _ = runs.run_per_copy(truth, scheme, int(record_at[-1]), n_particles_of(p, q), p.seed, record_at,
                                    mh_steps=p.mh_steps)
        frames.append(pd.DataFrame(rows).assign(qubits=q, method="per-copy"))
    return pd.concat(frames, ignore_index=True)[["qubits", "method", "n", "seconds", "infidelity"]]


def time_fits(tim, n_from):
    """Per (qubits, method): the log-log slope of time against n for n >= n_from (at least the last three points),
    the fit t = a + b log2 n (the O(log n) model, used for the batched filters), and for extrapolating the
    per-copy filter its measured curve and its cost per copy over the last doubling."""
    rows = []
    for (q, method), t in tim.groupby(["qubits", "method"]):
        t = t.groupby("n").seconds.min().reset_index()
        fit = t[t.n >= n_from] if (t.n >= n_from).sum() >= 3 else t.tail(3)
        b, _ = np.polyfit(np.log10(fit.n), np.log10(fit.seconds), 1)
        slope_log, icpt_log = np.polyfit(np.log2(fit.n), fit.seconds, 1)
        rate = (t.seconds.iloc[-1] - t.seconds.iloc[-2]) / (t.n.iloc[-1] - t.n.iloc[-2])
        rows.append({"qubits": q, "method": method, "time_slope": float(b), "log_a": float(icpt_log),
                     "log_b": float(slope_log), "per_copy_rate": float(rate), "n_max": int(t.n.max()),
                     "seconds_at_n_max": float(t.seconds.iloc[-1]), "curve_n": t.n.tolist(),
                     "curve_s": t.seconds.tolist()})
    return pd.DataFrame(rows)


def seconds_at(fits, qubits, method, n):
    """Processing time at n. Batched filters: a + b log2 n. Per-copy filter: its measured curve (log-log
    interpolation) up to the largest n timed, then linear at the cost per copy of the last doubling. Its cost per
    copy still grows (each move revisits every adaptive copy), so the linear extrapolation is a lower bound and the
    speed-ups built on it are conservative; a power law fitted to a few noisy points would swing them by orders of
    magnitude."""
    f = fits[(fits.qubits == qubits) & (fits.method == method)].iloc[0]
    if method != "per-copy":
        return f.log_a + f.log_b * np.log2(n)
    if n <= f.n_max:
        return float(10 ** np.interp(np.log10(n), np.log10(f.curve_n), np.log10(f.curve_s)))
    return f.seconds_at_n_max + f.per_copy_rate * (n - f.n_max)


def n_to_reach(curve, target):
    """The n at which a decreasing median-infidelity curve (n, median) reaches ``target`` (log-log interpolation,
    extrapolated along the last three points' slope when the target lies beyond the curve)."""
    c = curve.sort_values("n")
    ln, ly = np.log10(c.n.to_numpy(float)), np.log10(c["median"].to_numpy(float))
    lt = np.log10(target)
    below = np.nonzero(ly <= lt)[0]
    if len(below) and below[0] > 0:
        i = below[0]
        return float(10 ** np.interp(lt, [ly[i], ly[i - 1]], [ln[i], ln[i - 1]]))
    if len(below):
        return float(c.n.iloc[0])
    slope, icpt = np.polyfit(ln[-3:], ly[-3:], 1)
    return float(10 ** ((lt - icpt) / slope)) if slope < 0 else float("inf")


def speedups(p, summary, fits):
    """The speed-up of the neural filter at matched accuracy, per qubit count (adaptive basis measurements).

    Target: the neural filter's median infidelity at its largest n. n_bayes: where the Bayes filter's curve
    reaches it. Speed-up over the per-copy filter: t_per-copy(n_bayes) / t_neural(n) (the per-copy filter's
    accuracy is taken to be the batched one's: both approximate the same posterior); over the batched filter:
    t_bayes(n_bayes) / t_neural(n). At ``extrapolate_to`` the same ratio n_bayes / n is assumed and the times
    come from :func:`seconds_at`.
    """
    rows = []
    for q in p.qubits:
        s = summary[(summary.qubits == q) & (summary.povm == TIMED[0]) & (summary.adaptive == TIMED[1])]
        neural, bayes = s[s.method == "neural"].sort_values("n"), s[s.method == "bayes"]
        n, target = float(neural.n.iloc[-1]), float(neural["median"].iloc[-1])
        n_b = n_to_reach(bayes, target)
        t_nn = seconds_at(fits, q, "neural", n)
        big = float(p.extrapolate_to)
        rows.append({"qubits": q, "n": int(n), "target_infidelity": target, "n_bayes": n_b,
                     "t_neural": t_nn, "t_per_copy": seconds_at(fits, q, "per-copy", n_b),
                     "t_bayes": seconds_at(fits, q, "bayes", n_b),
                     "speedup_per_copy": seconds_at(fits, q, "per-copy", n_b) / t_nn,
                     "speedup_bayes": seconds_at(fits, q, "bayes", n_b) / t_nn,
                     "n_big": int(big), "speedup_per_copy_big": seconds_at(fits, q, "per-copy", big * n_b / n)
                     / seconds_at(fits, q, "neural", big)})
    return pd.DataFrame(rows)
