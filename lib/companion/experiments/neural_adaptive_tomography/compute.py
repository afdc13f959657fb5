"""Infidelity against the number of copies for the filters, and the tables the accuracy claims read.

Accuracy is the infidelity 1 - F (squared fidelity) of the posterior-mean estimate, summarised by the median
over true states; slopes are least-squares fits of log10(median infidelity) against log10(n) for n >= ``slope_from``.
"""

import time

import numpy as np
import pandas as pd

from ... import artifacts
from ...physics.tomography import neural, recurrent, runs
from ...physics.tomography import quantum as Q
from ...physics.tomography.measurement import Scheme
from ...rng import numpy_rng
from .params import METHODS, episodes_of, mh_steps_of, n_max_of, n_particles_of, n_states_of

# The networks: their module (TRAIN_DEFAULTS for the qubit counts with a committed model, artifact_name, committed)
# and trainer.
NETWORKS = {"neural": (neural, neural.train_resampler), "recurrent": (recurrent, recurrent.train_recurrent)}


def schedule(p, qubits):
    """Cumulative copy counts of the rounds: n_min doubling up to the first count >= n_max."""
    return runs.geometric_schedule(p.n_min, n_max_of(p, qubits))[0]


def truths(p, qubits, prior=None):
    """The true states of one qubit count (the stream "true states", qubits of p.seed)."""
    return Q.sample_states(prior or p.true_states, qubits, n_states_of(p, qubits),
                           numpy_rng(p.seed, "true states", qubits))


def load_models(p):
    """The networks of each qubit count: the neural resampler and, where one is committed, the recurrent update;
    the committed models (sha256-checked), or retrained here.

    Returns ({qubits: {network: model}}, info DataFrame with network, qubits, source, episodes, train_seconds,
    sha256 (its first 16 digits) and same_as_committed).
    """
    models, rows = {}, []
    for q in p.qubits:
        models[q] = {}
        for name, (module, train) in NETWORKS.items():
            if q not in module.TRAIN_DEFAULTS:
                continue
            committed = artifacts.artifact(module.artifact_name(q)).sha256
            settings, seconds, source = module.TRAIN_DEFAULTS[q], float("nan"), "committed"
            if p.retrain:
                settings = {**settings, "episodes": episodes_of(p, name, q)}
                t0 = time.perf_counter()
                model, _ = train(q, seed=p.seed, **settings)
                seconds, digest, source = time.perf_counter() - t0, artifacts.state_sha256(model), "retrained here"
            else:
                model, digest = module.committed(q), committed
            rows.append({"network": name, "qubits": q, "source": source, "episodes": settings["episodes"],
                         "train_seconds": seconds, "sha256": digest[:16], "same_as_committed": digest == committed})
            models[q][name] = model
    return models, pd.DataFrame(rows)


def methods_of(models, qubits):
    """The filters run for a qubit count: Bayes and every network loaded for it, in the order of ``METHODS``."""
    return [m for m in METHODS if m == "bayes" or m in models[qubits]]


def track(p, qubits, truth, scheme, method, models, ns=None, n_particles=None, mh_steps=None):
    """One filter's rows (run_rounds) for ``truth`` under ``scheme``, on the qubit count's schedule, particles and
    moves unless ``ns``, ``n_particles`` and ``mh_steps`` are given."""
    net = None if method == "bayes" else models[qubits][method]
    return runs.run_rounds(truth, scheme, schedule(p, qubits) if ns is None else ns,
                           n_particles or n_particles_of(p, qubits), p.seed, method=method,
                           resampler=neural.as_resampler(net) if method == "neural" else None,
                           mh_steps=mh_steps_of(p, qubits) if mh_steps is None else mh_steps,
                           recurrent=recurrent.as_filter(net) if method == "recurrent" else None)[0]


def accuracy(p, models):
    """Infidelity against n for every qubit count, POVM kind, adaptive or not, and every filter (``methods_of``).

    One row per (qubits, povm, adaptive, method, n, state). Within a qubit count every configuration tracks
    the same true states; non-adaptive runs of the filters see the same counts.
    """
    frames = []
    for q in p.qubits:
        truth = truths(p, q)
        for kind in p.povms:
            for adaptive in (False, True):
                scheme = Scheme(kind, q, adaptive, p.adaptive_fraction)
                for method in methods_of(models, q):
                    rows = track(p, q, truth, scheme, method, models)
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
    """Per (qubits, povm, adaptive) and network (method): its median infidelity at the largest n over the Bayes
    filter's."""
    keys = ["qubits", "povm", "adaptive"]
    t = slope_table.set_index([*keys, "method"]).infidelity_at_n_max.unstack("method")
    nets = [m for m in METHODS if m != "bayes" and m in t]
    ratios = t[nets].div(t["bayes"], axis=0).reset_index().melt(keys, var_name="method", value_name="ratio")
    return _in_method_order(ratios.dropna(), [*keys, "method"])


def by_network(match):
    """``matched``'s ratios with one column per network, one row per (qubits, povm, adaptive)."""
    return match.pivot_table(index=["qubits", "povm", "adaptive"], columns="method", values="ratio",
                             sort=False).reset_index().rename_axis(columns=None)


def per_round(acc):
    """Per (qubits, method): the filter's processing milliseconds per round, the median over configurations of
    its seconds at the last round over the number of rounds (all true states of a configuration at once)."""
    last = acc[acc.state == 0].sort_values("n").groupby(["qubits", "povm", "adaptive", "method"]).agg(
        seconds=("seconds", "last"), rounds=("n", "size"))
    ms = (1e3 * last.seconds / last.rounds).groupby(["qubits", "method"]).median()
    return _in_method_order(ms.rename("ms_per_round").reset_index(), ["qubits", "method"])


def _in_method_order(t, keys):
    """``t`` sorted by the columns ``keys``, its method column in the order of ``METHODS``."""
    return t.sort_values(keys, key=lambda c: c.map(METHODS.index) if c.name == "method" else c).reset_index(drop=True)


def mixed_states(p, models):
    """Full-rank states (Hilbert-Schmidt, the filters' prior and the networks' training prior), basis measurements
    fixed and adaptive, every filter, per qubit count: C6's adaptivity ratio (Bayes), and the networks' accuracy
    where their training data come from."""
    frames = []
    for q in p.qubits:
        truth = truths(p, q, "hilbert-schmidt")
        for adaptive in (False, True):
            for method in methods_of(models, q):
                rows = track(p, q, truth, Scheme("pauli", q, adaptive, p.adaptive_fraction), method, models)
                frames.append(pd.DataFrame(rows).assign(qubits=q, povm="pauli", adaptive=adaptive, method=method))
    return pd.concat(frames, ignore_index=True)


def baseline_check(p, summary):
    """Has the Bayes baseline converged? Per qubit count, the adaptive Pauli configuration (the timed one) rerun
    on the same true states up to ``check_n_max`` with twice the particles and twice the moves (at least 4).

    Returns per qubit count: n, the baseline's median infidelity there (from ``summary``), the reference's, and
    their ratio ``drift`` (baseline / reference; near 1 when more particles and moves change nothing).
    """
    rows = []
    for q in p.qubits:
        ns = runs.geometric_schedule(p.n_min, p.check_n_max)[0]
        scheme = Scheme("pauli", q, True, p.adaptive_fraction)
        ref = pd.DataFrame(track(p, q, truths(p, q), scheme, "bayes", {}, ns, 2 * n_particles_of(p, q),
                                 max(4, 2 * mh_steps_of(p, q))))
        n = int(ns[-1])
        base = summary[(summary.qubits == q) & (summary.povm == "pauli") & summary.adaptive
                       & (summary.method == "bayes") & (summary.n == n)]["median"].iloc[0]
        reference = float(ref[ref.n == n].infidelity.median())
        rows.append({"qubits": q, "n": n, "particles": 2 * n_particles_of(p, q),
                     "mh_steps": max(4, 2 * mh_steps_of(p, q)), "baseline": float(base), "reference": reference,
                     "drift": float(base) / reference})
    return pd.DataFrame(rows)
