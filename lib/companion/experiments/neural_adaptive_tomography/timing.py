"""Processing time against n for the filters, its fits and extrapolation, and the speed-ups at matched
infidelity (claims C1-C3, and C8 for the recurrent update).

The filters track one true state with adaptive basis measurements: ``bayes``, ``neural`` and (where a model is
loaded) ``recurrent`` on the doubling schedule, and ``per-copy``, the ABQT form of the Bayesian filter (one update
per copy), whose cost grows linearly with n: the "O(poly n)" side of the paper's timing claim. Its accuracy is
measured apart, on all the true states (:func:`per_copy_accuracy`): updating after every copy it is more accurate
per copy than the batched filters, so speed-ups compare the time each filter needs to reach the same infidelity.
"""

import numpy as np
import pandas as pd
from scipy import stats

from ...nn import threads
from ...physics.tomography import runs
from ...physics.tomography.measurement import Scheme
from .compute import methods_of, summarise, track, truths
from .params import TIMED, mh_steps_of, n_particles_of


def timing(p, models):
    """Processing seconds against n for one true state, adaptive basis measurements, per qubit count.

    per-copy: one Bayes update per copy up to ``per_copy_n_max``; bayes and the networks: the doubling schedule up
    to ``time_n_max``. Only the filter's work is timed (data simulation is not), on one thread (torch and BLAS).
    Every run is repeated ``time_repeats`` times on the same seeds (the same work) and the median kept per n.
    Rows: qubits, method, n, seconds, infidelity.
    """
    with threads(1, blas=True):
        frames = [_timing_once(p, models) for _ in range(p.time_repeats)]
    out = frames[0].copy()
    out["seconds"] = np.median([f.seconds.to_numpy() for f in frames], axis=0)
    return out


def _per_copy(p, q, truth):
    """The per-copy filter's rows at four copy counts per doubling, from n_min to the first power-of-two
    multiple of it at or above ``per_copy_n_max`` (so the fit of its time slope has points enough)."""
    doublings = int(np.ceil(np.log2(p.per_copy_n_max / p.n_min)))
    record_at = np.unique(np.round(p.n_min * 2.0 ** (np.arange(4 * doublings + 1) / 4)).astype(int))
    rows, _ = runs.run_per_copy(truth, Scheme(TIMED[0], q, TIMED[1], p.adaptive_fraction), int(record_at[-1]),
                                n_particles_of(p, q), p.seed, record_at, mh_steps=mh_steps_of(p, q))
    return pd.DataFrame(rows).assign(qubits=q, method="per-copy")


def _timing_once(p, models):
    frames = []
    for q in p.qubits:
        truth = truths(p, q)[:1]
        scheme = Scheme(TIMED[0], q, TIMED[1], p.adaptive_fraction)
        ns = runs.geometric_schedule(p.n_min, p.time_n_max)[0]
        for method in methods_of(models, q):
            frames.append(pd.DataFrame(track(p, q, truth, scheme, method, models, ns)).assign(qubits=q, method=method))
        frames.append(_per_copy(p, q, truth))
    return pd.concat(frames, ignore_index=True)[["qubits", "method", "n", "seconds", "infidelity"]]


def per_copy_accuracy(p):
    """Median infidelity (and quartiles) of the per-copy filter on all true states, adaptive basis measurements,
    at the schedule's n up to ``per_copy_n_max``: to set beside the batched filters' (``summarise`` columns)."""
    acc = pd.concat([_per_copy(p, q, truths(p, q)) for q in p.qubits], ignore_index=True)
    return summarise(acc.assign(povm=TIMED[0], adaptive=TIMED[1]))


def time_fits(tim, n_from, level=0.95):
    """Per (qubits, method): the measured curve (n, seconds), the log-log slope of time against n for
    n >= n_from (at least the last three points) with its ``level`` confidence interval (t distribution), and
    the fit t = a + b log2 n (the O(log n) model, which extrapolates the batched filters)."""
    rows = []
    for (q, method), t in tim.groupby(["qubits", "method"]):
        t = t.groupby("n").seconds.median().reset_index()
        fit = t[t.n >= n_from] if (t.n >= n_from).sum() >= 3 else t.tail(3)
        line = stats.linregress(np.log10(fit.n), np.log10(fit.seconds))
        half = float(stats.t.ppf(0.5 + level / 2, len(fit) - 2) * line.stderr)
        log_b, log_a = np.polyfit(np.log2(fit.n), fit.seconds, 1)
        rows.append({"qubits": q, "method": method, "time_slope": float(line.slope), "slope_halfwidth": half,
                     "log_a": float(log_a), "log_b": float(log_b), "n_max": int(t.n.max()),
                     "seconds_at_n_max": float(t.seconds.iloc[-1]), "curve_n": t.n.tolist(),
                     "curve_s": t.seconds.tolist()})
    return pd.DataFrame(rows)


def seconds_at(fits, qubits, method, n, bound=0):
    """Processing time at n: the measured curve (log-log interpolation) up to the largest n timed; beyond it
    (extrapolated) the batched filters follow a + b log2 n, the per-copy filter the power law of its fitted
    slope from its last measured point, the slope moved to the ends of its interval by ``bound`` = -1 or +1."""
    f = fits[(fits.qubits == qubits) & (fits.method == method)].iloc[0]
    if n <= f.n_max:
        return float(10 ** np.interp(np.log10(n), np.log10(f.curve_n), np.log10(f.curve_s)))
    if method != "per-copy":
        return f.log_a + f.log_b * np.log2(n)
    return f.seconds_at_n_max * (n / f.n_max) ** (f.time_slope + bound * f.slope_halfwidth)


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


def speedups(p, summary, per_copy, fits):
    """Speed-ups of the neural filter at matched infidelity, per qubit count (adaptive basis measurements).

    Target: the per-copy filter's median infidelity at its largest n (``per_copy``, from
    :func:`per_copy_accuracy`). n_neural and n_bayes: where the batched filters' curves (``summary``) reach it.
    Measured: t_per-copy(n_per_copy) / t_neural(n_neural) and t_bayes(n_bayes) / t_neural(n_neural).
    Extrapolated to ``extrapolate_to`` copies for the per-copy filter, the neural filter given the same ratio
    n_neural / n_per_copy (parallel accuracy curves): the speed-up and its low and high ends from the ends of
    the per-copy slope's interval, and log10 of it with the half-width of that interval in log10.
    """
    rows = []
    for q in p.qubits:
        s = summary[(summary.qubits == q) & (summary.povm == TIMED[0]) & (summary.adaptive == TIMED[1])]
        pc = per_copy[per_copy.qubits == q].sort_values("n")
        n_pc, target = float(pc.n.iloc[-1]), float(pc["median"].iloc[-1])
        n_nn, n_b = (n_to_reach(s[s.method == m], target) for m in ("neural", "bayes"))
        t_nn = seconds_at(fits, q, "neural", n_nn)
        big = float(p.extrapolate_to)
        ends = [seconds_at(fits, q, "per-copy", big, b) / seconds_at(fits, q, "neural", big * n_nn / n_pc)
                for b in (-1, 0, 1)]
        rows.append({"qubits": q, "target_infidelity": target, "n_per_copy": int(n_pc), "n_neural": n_nn,
                     "n_bayes": n_b, "t_per_copy": seconds_at(fits, q, "per-copy", n_pc), "t_neural": t_nn,
                     "t_bayes": seconds_at(fits, q, "bayes", n_b),
                     "speedup_per_copy": seconds_at(fits, q, "per-copy", n_pc) / t_nn,
                     "speedup_bayes": seconds_at(fits, q, "bayes", n_b) / t_nn, "n_big": int(big),
                     "speedup_big": ends[1], "speedup_big_low": ends[0], "speedup_big_high": ends[2],
                     "log10_speedup_big": float(np.log10(ends[1])),
                     "log10_halfwidth": float(np.log10(ends[2] / ends[1]))})
    return pd.DataFrame(rows)
