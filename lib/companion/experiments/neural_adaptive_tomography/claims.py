"""The claims table of notebook 05: one function per claim, each giving its rows for one qubit count.

Thresholds say what each claim means and were fixed before any run:

* "same accuracy": the neural filter's median infidelity within ``matched_within`` (1.5) of the Bayes
  filter's at the largest n, in every configuration;
* "adaptivity matters significantly": non-adaptive / adaptive infidelity >= 2 at the largest n; "does not
  matter": < 2;
* "O(log n)": the log-log slope of time against n below 0.3 (log n has local slope 1 / ln n, 0.1 at 10^4),
  while the per-copy Bayes filter's is at least 0.7 (polynomial, near linear);
* "~10^6 speed-up at n = 10^7": at least 10^5 at ``extrapolate_to`` (within a factor 10 of the claim);
  "orders of magnitude faster" than the batched Bayes filter on the same schedule: at least 100.
"""

TIMING_CLAIMS = r"C[123] "  # the claims that rest on wall-clock time


def log_time(p, q, fits):
    """C1: the neural filter's time grows like log n, the per-copy Bayes filter's like a power."""
    f = fits[fits.qubits == q].set_index("method")
    nn, pc, bb = (f.loc[m, "time_slope"] for m in ("neural", "per-copy", "bayes"))
    return [{"claim": f"C1 processing time grows like log n, the Bayesian per-copy update's like a power ({q}q)",
             "measured": f"time slopes: neural {nn:.2f}, batched Bayes {bb:.2f}, per-copy Bayes {pc:.2f}",
             "threshold": "neural < 0.3 and per-copy >= 0.7", "holds": bool(nn < 0.3 and pc >= 0.7)}]


def speedup_per_copy(p, q, speed, match):
    """C2: about 10^6 faster than the per-copy Bayesian update at n = 10^7, at the same accuracy."""
    sp = speed[speed.qubits == q].iloc[0]
    m = match[match.qubits == q].ratio.max()
    return [{"claim": f"C2 ~10^6 speed-up over the per-copy Bayesian update at n = 10^7, same accuracy ({q}q)",
             "measured": f"{sp.speedup_per_copy_big:.1e} at n = {sp.n_big:.0e} (extrapolated), "
                         f"{sp.speedup_per_copy:.1e} at n = {int(sp.n)}; worst accuracy ratio {m:.2f}",
             "threshold": f">= 1e5 and accuracy ratio <= {p.matched_within}",
             "holds": bool(sp.speedup_per_copy_big >= 1e5 and m <= p.matched_within)}]


def speedup_batched(p, q, speed):
    """C3: orders of magnitude faster than the Bayesian filter on the same doubling batches."""
    sp = speed[speed.qubits == q].iloc[0]
    return [{"claim": f"C3 orders of magnitude faster than the Bayesian filter on the same doubling batches ({q}q)",
             "measured": f"{sp.speedup_bayes:.1f}x at matched accuracy (n = {int(sp.n)})",
             "threshold": ">= 100x", "holds": bool(sp.speedup_bayes >= 100)}]


def same_accuracy(p, q, match):
    """C4: the learned update keeps the Bayesian filter's accuracy in every configuration."""
    m = match[match.qubits == q]
    worst = m.loc[m.ratio.idxmax()]
    return [{"claim": f"C4 the learned update keeps the Bayesian filter's accuracy ({q}q)",
             "measured": "neural / Bayes infidelity at n_max: " + ", ".join(
                 f"{r.povm}{' adaptive' if r.adaptive else ''} {r.ratio:.2f}" for r in m.itertuples()),
             "threshold": f"every ratio <= {p.matched_within}", "holds": bool(worst.ratio <= p.matched_within)}]


def _adaptivity_row(claim, r, matters):
    measured = f"ratio {r.ratio:.1f}; slopes {r.slope_fixed:.2f} fixed, {r.slope_adaptive:.2f} adaptive"
    if matters:
        return {"claim": claim, "measured": measured, "threshold": "ratio >= 2", "holds": bool(r.ratio >= 2)}
    return {"claim": claim, "measured": measured, "threshold": "ratio < 2", "holds": bool(r.ratio < 2)}


def adaptivity_matters(p, q, adapt, mixed_adapt):
    """C5 for each basis POVM (ratio >= 2), then C6 for the SIC-POVM and for full-rank states (ratio < 2)."""
    a = adapt[(adapt.qubits == q) & (adapt.method == "bayes")].set_index("povm")
    rows = [_adaptivity_row(f"C5 adaptivity matters significantly for basis POVMs ({kind}, {q}q)", a.loc[kind], True)
            for kind in a.index if kind != "sic"]
    if "sic" in a.index:
        rows.append(_adaptivity_row(f"C6 ... and not for SIC-POVMs (sic, {q}q)", a.loc["sic"], False))
    if mixed_adapt is not None and len(mixed_adapt[mixed_adapt.qubits == q]):
        rows.append(_adaptivity_row(f"C6 ... nor for full-rank states (pauli, Hilbert-Schmidt states, {q}q)",
                                    mixed_adapt[mixed_adapt.qubits == q].iloc[0], False))
    return rows


def claims(p, adapt, match, mixed_adapt, fits, speed):
    """The claims table rows: C1, C2, C3 and C4 for each qubit count in turn, then C5-C6 per qubit count."""
    per_claim = (lambda q: log_time(p, q, fits), lambda q: speedup_per_copy(p, q, speed, match),
                 lambda q: speedup_batched(p, q, speed), lambda q: same_accuracy(p, q, match),
                 lambda q: adaptivity_matters(p, q, adapt, mixed_adapt))
    return [row for claim in per_claim for q in p.qubits for row in claim(q)]


def timing_claims(table):
    """The rows of the claims table that rest on wall-clock time (C1-C3): they vary run to run."""
    return table[table.claim.str.match(TIMING_CLAIMS)]


def accuracy_claims(table):
    """The rows that rest only on seeded computation (C4-C6): reproducible to the printed digit."""
    return table[~table.claim.str.match(TIMING_CLAIMS)]
