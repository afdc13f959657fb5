"""Neural adaptive quantum state tomography (Quek, Fort & Ng, arXiv:1812.06693), measured at small scale.

Three filters track S true states through rounds whose batch of copies doubles (n = n_min, 2 n_min, ...):

* ``bayes``: the vectorised SMC filter of :mod:`companion.physics.particle_filter` (tempered Bayes update of
  each batch, Liu-West resampling, Metropolis-Hastings moves): the Bayesian baseline on the same schedule;
* ``neural``: the same bank, reweighted by each batch and refined by one call of the learned resampler of
  :mod:`companion.physics.neural_filter` per round;
* ``per-copy``: the ABQT form of the Bayesian filter, one update per copy (timing only, and its accuracy at
  small n), whose cost grows linearly with n: the "O(poly n)" side of the paper's timing claim.

Accuracy is the infidelity 1 - F (squared fidelity) of the posterior-mean estimate, summarised by the median
over true states; slopes are least-squares fits of log10(median infidelity) against log10(n) for n >= ``slope_from``.
"""

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..params import Param, ParameterError
from ..physics import neural_filter as NF
from ..physics import particle_filter as PF
from ..physics import quantum as Q

PARAMETERS = (
    Param("qubits", int, choices=(1, 2), many=True),
    Param("povms", str, choices=Q.POVMS, many=True),
    Param("true_states", str, choices=Q.PRIORS),
    Param("n_min", int, 10, 10000),
    Param("n_max_1q", int, 100, 10**8),
    Param("n_max_2q", int, 100, 10**8),
    Param("n_states_1q", int, 2, 10000),
    Param("n_states_2q", int, 2, 10000),
    Param("n_particles_1q", int, 50, 100000),
    Param("n_particles_2q", int, 50, 100000),
    Param("mh_steps", int, 0, 50),
    Param("adaptive_fraction", float, 0.05, 1.0),
    Param("slope_from", int, 10, 10**8),
    Param("matched_within", float, 1.0, 100.0),
    Param("time_n_max", int, 1000, 10**9),
    Param("per_copy_n_max", int, 100, 10**7),
    Param("time_repeats", int, 1, 100),
    Param("extrapolate_to", int, 1000, 10**12),
    Param("mixed_check", bool),
    Param("retrain", bool),
    Param("train_episodes_1q", int, 1, 100000),
    Param("train_episodes_2q", int, 1, 100000),
)

METHODS = ("bayes", "neural")
TIMED = ("pauli", True)  # the setting of the timing claim: adaptive basis measurements, as in ABQT


def check(p):
    """Constraints between parameters, checked before any compute."""
    if len(set(p.qubits)) != len(p.qubits) or len(set(p.povms)) != len(p.povms):
        raise ParameterError(f"parameters 'qubits' = {p.qubits!r} and 'povms' = {p.povms!r} must not repeat a value")
    for q in p.qubits:
        n_max = n_max_of(p, q)
        if n_max < 4 * p.n_min:
            raise ParameterError(f"parameter 'n_max_{q}q' = {n_max} needs at least 4 * n_min = {4 * p.n_min} "
                                 f"(three doublings) to fit a slope")
        if p.slope_from >= n_max:
            raise ParameterError(f"parameter 'slope_from' = {p.slope_from} must be below n_max_{q}q = {n_max}")
    if p.per_copy_n_max < 4 * p.n_min:
        raise ParameterError(f"parameter 'per_copy_n_max' = {p.per_copy_n_max} needs at least 4 * n_min = "
                             f"{4 * p.n_min} to fit the per-copy cost")
    if p.time_n_max < max(n_max_of(p, q) for q in p.qubits):
        raise ParameterError(f"parameter 'time_n_max' = {p.time_n_max} must reach the largest n of the accuracy runs "
                             f"({max(n_max_of(p, q) for q in p.qubits)})")
    if "pauli" not in p.povms:
        raise ParameterError(f"parameter 'povms' = {p.povms!r} must include 'pauli' (the timing and adaptivity "
                             f"claims are about basis measurements)")


def n_max_of(p, qubits):
    return p.n_max_1q if qubits == 1 else p.n_max_2q


def n_states_of(p, qubits):
    return p.n_states_1q if qubits == 1 else p.n_states_2q


def n_particles_of(p, qubits):
    return p.n_particles_1q if qubits == 1 else p.n_particles_2q


def schedule(p, qubits):
    """Cumulative copy counts of the rounds: n_min doubling up to the first count >= n_max."""
    return PF.geometric_schedule(p.n_min, n_max_of(p, qubits))[0]


def truths(p, qubits, prior=None):
    """The true states of one qubit count (seeded by p.seed and the qubit count)."""
    return Q.sample_states(prior or p.true_states, qubits, n_states_of(p, qubits),
                           np.random.default_rng([p.seed, 100 + qubits]))


# ---------------------------------------------------------------------------------------------- models


def load_models(p, progress=None):
    """The neural resampler of each qubit count: the committed model (sha256-checked), or retrained here.

    Returns ({qubits: model}, info DataFrame with qubits, source, sha256, episodes, train_seconds).
    """
    models, rows = {}, []
    for q in p.qubits:
        name, digest = NF.COMMITTED[q]
        if p.retrain:
            settings = {**NF.TRAIN_DEFAULTS[q], "episodes": p.train_episodes_1q if q == 1 else p.train_episodes_2q}
            t0 = time.perf_counter()
            model, _ = NF.train_resampler(q, seed=p.seed, **settings)
            seconds = time.perf_counter() - t0
            with tempfile.TemporaryDirectory() as tmp:
                new = NF.save(model, Path(tmp) / name)
            rows.append({"qubits": q, "source": "retrained here", "episodes": settings["episodes"],
                         "train_seconds": seconds, "sha256": new[:16],
                         "same_as_committed": new == digest})
        else:
            model = NF.committed(q)
            rows.append({"qubits": q, "source": "committed", "episodes": NF.TRAIN_DEFAULTS[q]["episodes"],
                         "train_seconds": float("nan"), "sha256": (digest or "")[:16], "same_as_committed": True})
        models[q] = model
    return models, pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------- accuracy


def accuracy(p, models):
    """Infidelity against n for every qubit count, POVM kind, adaptive or not, and both filters.

    One row per (qubits, povm, adaptive, method, n, state). Within a qubit count every configuration tracks
    the same true states; non-adaptive runs of the two filters see the same counts.
    """
    frames = []
    for q in p.qubits:
        truth, ns = truths(p, q), schedule(p, q)
        for kind in p.povms:
            for adaptive in (False, True):
                scheme = PF.Scheme(kind, q, adaptive, p.adaptive_fraction)
                for method in METHODS:
                    rows, _ = PF.run_rounds(truth, scheme, ns, n_particles_of(p, q), p.seed, method=method,
                                            resampler=NF.as_resampler(models[q]) if method == "neural" else None,
                                            mh_steps=p.mh_steps)
                    frames.append(pd.DataFrame(rows).assign(qubits=q, povm=kind, adaptive=adaptive, method=method))
    cols = ["qubits", "povm", "adaptive", "method", "n", "state", "infidelity", "hs", "seconds", "steps"]
    return pd.concat(frames, ignore_index=True)[cols]


def summarise(acc, by=("qubits", "povm", "adaptive", "method")):
    """Median and quartiles of the infidelity over true states, per configuration and n."""
    g = acc.groupby([*by, "n"]).infidelity
    out = pd.concat({"median": g.median(), "q25": g.quantile(0.25), "q75": g.quantile(0.75)}, axis=1)
    return out.reset_index()


def fit_slope(n, y):
    """Least-squares slope of log10(y) against log10(n)."""
    return float(np.polyfit(np.log10(np.asarray(n, float)), np.log10(np.asarray(y, float)), 1)[0])


def slopes(summary, n_from):
    """Per configuration: the infidelity slope over n >= n_from, and the median infidelity at the largest n."""
    rows = []
    keys = [c for c in ("qubits", "povm", "adaptive", "method") if c in summary]
    for key, t in summary.groupby(keys):
        t = t.sort_values("n")
        fit = t[t.n >= n_from]
        rows.append({**dict(zip(keys, key)), "slope": fit_slope(fit.n, fit["median"]), "n_max": int(t.n.iloc[-1]),
                     "infidelity_at_n_max": float(t["median"].iloc[-1])})
    return pd.DataFrame(rows)


def adaptivity(slope_table):
    """Per (qubits, povm, method): non-adaptive / adaptive median infidelity at the largest n, and both slopes."""
    t = slope_table.set_index(["qubits", "povm", "method", "adaptive"])
    rows = []
    for (q, kind, method), g in t.groupby(level=[0, 1, 2]):
        fixed, adapt = g.xs(False, level="adaptive").iloc[0], g.xs(True, level="adaptive").iloc[0]
        rows.append({"qubits": q, "povm": kind, "method": method, "slope_fixed": fixed.slope,
                     "slope_adaptive": adapt.slope, "ratio": fixed.infidelity_at_n_max / adapt.infidelity_at_n_max})
    return pd.DataFrame(rows)


def matched(slope_table):
    """Per (qubits, povm, adaptive): neural / Bayes median infidelity at the largest n."""
    t = slope_table.set_index(["qubits", "povm", "adaptive", "method"]).infidelity_at_n_max.unstack("method")
    return (t["neural"] / t["bayes"]).rename("ratio").reset_index()


def mixed_states(p):
    """The adaptivity ratio for full-rank states (Hilbert-Schmidt), basis measurements, Bayes filter, per qubit count."""
    rows = []
    for q in p.qubits:
        truth, ns = truths(p, q, "hilbert-schmidt"), schedule(p, q)
        for adaptive in (False, True):
            out, _ = PF.run_rounds(truth, PF.Scheme("pauli", q, adaptive, p.adaptive_fraction), ns,
                                   n_particles_of(p, q), p.seed, mh_steps=p.mh_steps)
            rows.append(pd.DataFrame(out).assign(qubits=q, povm="pauli", adaptive=adaptive, method="bayes"))
    return pd.concat(rows, ignore_index=True)


# ---------------------------------------------------------------------------------------------- timing


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
        scheme = PF.Scheme(TIMED[0], q, TIMED[1], p.adaptive_fraction)
        ns = PF.geometric_schedule(p.n_min, p.time_n_max)[0]
        for method in METHODS:
            rows, _ = PF.run_rounds(truth, scheme, ns, n_particles_of(p, q), p.seed, method=method,
                                    resampler=NF.as_resampler(models[q]) if method == "neural" else None,
                                    mh_steps=p.mh_steps)
            frames.append(pd.DataFrame(rows).assign(qubits=q, method=method))
        record_at = PF.geometric_schedule(p.n_min, p.per_copy_n_max)[0]
        rows, _ = PF.run_per_copy(truth, scheme, int(record_at[-1]), n_particles_of(p, q), p.seed, record_at,
                                  mh_steps=p.mh_steps)
        frames.append(pd.DataFrame(rows).assign(qubits=q, method="per-copy"))
    return pd.concat(frames, ignore_index=True)[["qubits", "method", "n", "seconds", "infidelity"]]


def per_copy_accuracy(p):
    """Median infidelity of the per-copy filter (all true states, adaptive basis) at the schedule's n up to
    ``per_copy_n_max``, to set beside the batched filters at the same n."""
    frames = []
    for q in p.qubits:
        record_at = PF.geometric_schedule(p.n_min, p.per_copy_n_max)[0]
        rows, _ = PF.run_per_copy(truths(p, q), PF.Scheme(TIMED[0], q, TIMED[1], p.adaptive_fraction),
                                  int(record_at[-1]), n_particles_of(p, q), p.seed, record_at, mh_steps=p.mh_steps)
        frames.append(pd.DataFrame(rows).assign(qubits=q, method="per-copy", povm=TIMED[0], adaptive=TIMED[1]))
    return pd.concat(frames, ignore_index=True)


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


# ---------------------------------------------------------------------------------------------- claims


def claims(p, adapt, match, mixed_adapt, fits, speed):
    """The claims table rows. Thresholds say what each claim means and were fixed before any run:

    * "same accuracy": the neural filter's median infidelity within ``matched_within`` (1.5) of the Bayes
      filter's at the largest n, in every configuration;
    * "adaptivity matters significantly": non-adaptive / adaptive infidelity >= 2 at the largest n; "does not
      matter": < 2;
    * "O(log n)": the log-log slope of time against n below 0.3 (log n has local slope 1 / ln n, 0.1 at 10^4),
      while the per-copy Bayes filter's is at least 0.7 (polynomial, near linear);
    * "~10^6 speed-up at n = 10^7": at least 10^5 at ``extrapolate_to`` (within a factor 10 of the claim);
      "orders of magnitude faster" than the batched Bayes filter on the same schedule: at least 100.
    """
    rows = []
    for q in p.qubits:
        f = fits[fits.qubits == q].set_index("method")
        nn, pc, bb = (f.loc[m, "time_slope"] for m in ("neural", "per-copy", "bayes"))
        rows.append({"claim": f"C1 processing time grows like log n, the Bayesian per-copy update's like a power ({q}q)",
                     "measured": f"time slopes: neural {nn:.2f}, batched Bayes {bb:.2f}, per-copy Bayes {pc:.2f}",
                     "threshold": "neural < 0.3 and per-copy >= 0.7", "holds": bool(nn < 0.3 and pc >= 0.7)})
    for q in p.qubits:
        sp = speed[speed.qubits == q].iloc[0]
        m = match[match.qubits == q].ratio.max()
        rows.append({"claim": f"C2 ~10^6 speed-up over the per-copy Bayesian update at n = 10^7, same accuracy ({q}q)",
                     "measured": f"{sp.speedup_per_copy_big:.1e} at n = {sp.n_big:.0e} (extrapolated), "
                                 f"{sp.speedup_per_copy:.1e} at n = {int(sp.n)}; worst accuracy ratio {m:.2f}",
                     "threshold": f">= 1e5 and accuracy ratio <= {p.matched_within}",
                     "holds": bool(sp.speedup_per_copy_big >= 1e5 and m <= p.matched_within)})
    for q in p.qubits:
        sp = speed[speed.qubits == q].iloc[0]
        rows.append({"claim": f"C3 orders of magnitude faster than the Bayesian filter on the same doubling batches ({q}q)",
                     "measured": f"{sp.speedup_bayes:.1f}x at matched accuracy (n = {int(sp.n)})",
                     "threshold": ">= 100x", "holds": bool(sp.speedup_bayes >= 100)})
    for q in p.qubits:
        m = match[match.qubits == q]
        worst = m.loc[m.ratio.idxmax()]
        rows.append({"claim": f"C4 the learned update keeps the Bayesian filter's accuracy ({q}q)",
                     "measured": "neural / Bayes infidelity at n_max: " + ", ".join(
                         f"{r.povm}{' adaptive' if r.adaptive else ''} {r.ratio:.2f}" for r in m.itertuples()),
                     "threshold": f"every ratio <= {p.matched_within}", "holds": bool(worst.ratio <= p.matched_within)})
    for q in p.qubits:
        a = adapt[(adapt.qubits == q) & (adapt.method == "bayes")].set_index("povm")
        basis = [k for k in a.index if k != "sic"]
        for kind in basis:
            r = a.loc[kind]
            rows.append({"claim": f"C5 adaptivity matters significantly for basis POVMs ({kind}, {q}q)",
                         "measured": f"ratio {r.ratio:.1f}; slopes {r.slope_fixed:.2f} fixed, "
                                     f"{r.slope_adaptive:.2f} adaptive",
                         "threshold": "ratio >= 2", "holds": bool(r.ratio >= 2)})
        if "sic" in a.index:
            r = a.loc["sic"]
            rows.append({"claim": f"C6 ... and not for SIC-POVMs (sic, {q}q)",
                         "measured": f"ratio {r.ratio:.1f}; slopes {r.slope_fixed:.2f} fixed, "
                                     f"{r.slope_adaptive:.2f} adaptive",
                         "threshold": "ratio < 2", "holds": bool(r.ratio < 2)})
        if mixed_adapt is not None and len(mixed_adapt[mixed_adapt.qubits == q]):
            r = mixed_adapt[mixed_adapt.qubits == q].iloc[0]
            rows.append({"claim": f"C6 ... nor for full-rank states (pauli, Hilbert-Schmidt states, {q}q)",
                         "measured": f"ratio {r.ratio:.1f}; slopes {r.slope_fixed:.2f} fixed, "
                                     f"{r.slope_adaptive:.2f} adaptive",
                         "threshold": "ratio < 2", "holds": bool(r.ratio < 2)})
    return rows


def timing_claims(table):
    """The rows of the claims table that rest on wall-clock time (C1-C3): they vary run to run."""
    return table[table.claim.str.match(r"C[123] ")]


def accuracy_claims(table):
    """The rows that rest only on seeded computation (C4-C6): reproducible to the printed digit."""
    return table[~table.claim.str.match(r"C[123] ")]


# ---------------------------------------------------------------------------------------------- figures


STYLE = {("bayes", False): ("C0", "--"), ("bayes", True): ("C0", "-"), ("neural", False): ("C1", "--"),
         ("neural", True): ("C1", "-"), ("per-copy", True): ("C2", ":")}


def plot_infidelity(summary, extra=None):
    """Median infidelity (quartiles shaded) against n, one panel per (qubits, POVM), as the paper's accuracy plots."""
    import matplotlib.pyplot as plt

    panels = summary[["qubits", "povm"]].drop_duplicates().values.tolist()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.4), squeeze=False, sharey=False)
    data = summary if extra is None else pd.concat([summary, extra], ignore_index=True)
    for ax, (q, kind) in zip(axes[0], panels):
        t = data[(data.qubits == q) & (data.povm == kind)]
        for (method, adaptive), g in t.groupby(["method", "adaptive"]):
            color, ls = STYLE[(method, adaptive)]
            g = g.sort_values("n")
            ax.plot(g.n, g["median"], color=color, ls=ls, marker=".",
                    label=f"{method}, {'adaptive' if adaptive else 'fixed'}")
            ax.fill_between(g.n, g.q25, g.q75, color=color, alpha=0.08 if ls == "--" else 0.15)
        n = np.array([t.n.min(), t.n.max()], float)
        ax.plot(n, 0.5 * (n / n[0]) ** -0.5 * t["median"].max(), color="grey", lw=0.7, ls="-.", label=r"$n^{-1/2}$")
        ax.plot(n, 0.5 * (n / n[0]) ** -1.0 * t["median"].max(), color="grey", lw=0.7, ls=":", label=r"$n^{-1}$")
        ax.set(xscale="log", yscale="log", xlabel="copies n", title=f"{q} qubit{'s' if q > 1 else ''}, {kind}")
    axes[0][0].set_ylabel("median infidelity 1 - F")
    axes[0][-1].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def plot_timing(tim, fits, speed, n_from=1000):
    """Processing time against n for the three filters (log-log), with the fits used for extrapolation (drawn
    from ``n_from`` on for the batched filters, where a + b log2 n was fitted)."""
    import matplotlib.pyplot as plt

    qs = sorted(tim.qubits.unique())
    fig, axes = plt.subplots(1, len(qs), figsize=(5 * len(qs), 3.6), squeeze=False)
    colors = {"neural": "C1", "bayes": "C0", "per-copy": "C2"}
    for ax, q in zip(axes[0], qs):
        big = float(speed[speed.qubits == q].n_big.iloc[0])
        grid = np.logspace(np.log10(tim.n.min()), np.log10(big), 50)
        for method, g in tim[tim.qubits == q].groupby("method"):
            g = g.groupby("n").seconds.max()
            ax.plot(g.index, g.values, "o", ms=3, color=colors[method], label=method)
            g_fit = grid if method == "per-copy" else grid[grid >= n_from]
            ax.plot(g_fit, [seconds_at(fits, q, method, n) for n in g_fit], color=colors[method], lw=0.8, ls="--")
        ax.set(xscale="log", yscale="log", xlabel="copies n", ylabel="processing time (s)",
               title=f"{q} qubit{'s' if q > 1 else ''}: adaptive basis measurements")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_adaptivity(adapt, mixed_adapt=None):
    """Non-adaptive / adaptive infidelity at the largest n per POVM, filter and qubit count (bars, log scale)."""
    import matplotlib.pyplot as plt

    t = adapt.assign(label=adapt.povm + ", " + adapt.qubits.astype(str) + "q")
    if mixed_adapt is not None:
        t = pd.concat([t, mixed_adapt.assign(label="pauli, " + mixed_adapt.qubits.astype(str) + "q, full rank")])
    labels = list(dict.fromkeys(t.label))
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(labels), 3.4))
    for i, method in enumerate(METHODS):
        g = t[t.method == method].set_index("label").reindex(labels)
        ax.bar(np.arange(len(labels)) + (i - 0.5) * 0.38, g.ratio, width=0.38, label=method, color=f"C{i}")
    ax.axhline(2, color="k", lw=0.8, ls="--")
    ax.set(yscale="log", xticks=np.arange(len(labels)), ylabel="non-adaptive / adaptive infidelity")
    ax.set_xticklabels(labels, rotation=20, fontsize=8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------- explore


def explorer(p, models):
    """Widgets: track one true state with either filter and plot its infidelity against n (recomputed)."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def show(qubits=p.qubits[0], povm="pauli", state=0, n_max=10**4, particles=300):
        truth = truths(p, qubits)[state % n_states_of(p, qubits)][None]
        ns = PF.geometric_schedule(p.n_min, n_max)[0]
        _, ax = plt.subplots(figsize=(5, 3.4))
        for method in METHODS:
            for adaptive in (False, True):
                rows, _ = PF.run_rounds(truth, PF.Scheme(povm, qubits, adaptive, p.adaptive_fraction), ns, particles,
                                        p.seed, method=method, mh_steps=p.mh_steps,
                                        resampler=NF.as_resampler(models[qubits]) if method == "neural" else None)
                t = pd.DataFrame(rows)
                color, ls = STYLE[(method, adaptive)]
                ax.plot(t.n, t.infidelity, color=color, ls=ls, marker=".",
                        label=f"{method}, {'adaptive' if adaptive else 'fixed'}")
        ax.set(xscale="log", yscale="log", xlabel="copies n", ylabel="infidelity")
        ax.legend(fontsize=7)
        plt.show()

    return widgets.interactive(show, qubits=widgets.Dropdown(options=list(models)),
                               povm=widgets.Dropdown(options=list(Q.POVMS)),
                               state=widgets.IntSlider(min=0, max=20, value=0),
                               n_max=widgets.SelectionSlider(options=[10**3, 10**4, 10**5], value=10**4),
                               particles=widgets.IntSlider(min=100, max=1000, step=100, value=300))
