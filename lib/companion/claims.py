"""Claims as data: what a notebook tests, the abstract sentence it tests, and the rule that decides it.

A paper's ``claims.py`` declares ``CLAIMS``, a list of :class:`Claim`, and a function that turns its
measurements into named numbers (the *values*). :func:`evaluate` decides each claim from the values
alone, so a verdict can be recomputed from the JSON record, and rendered from it, by anyone.

A verdict is ``holds``, ``fails`` or ``undecided`` (the measured quantity lies within its declared
noise of the threshold, or was not a number). Over independent seeds, :func:`overall` applies the
one project-wide rule: a claim holds when it holds at 80% of seeds or more, fails when it fails at 80%
or more, is ``mixed`` when otherwise some seeds hold and some fail, and ``undecided`` when the rest were
undecided. Only ``paper`` and ``mechanism`` claims are counted as claims;
``sanity`` rows check that the setup does what it should and are listed apart.

Light on purpose (nothing heavy imported): the runner, the site and ``companion verify`` use it.
"""

import hashlib
import inspect
import json
import math
import statistics
import textwrap
from dataclasses import dataclass, field

KINDS = ("paper", "mechanism", "sanity")
HOLDS, FAILS, UNDECIDED, MIXED = "holds", "fails", "undecided", "mixed"
AGREEMENT = 0.8  # the share of seeds that makes a multi-seed verdict; the one project-wide rule
MULTI_SEED_RULE = (f"holds (fails) when it holds (fails) at {AGREEMENT:.0%} of seeds or more; otherwise mixed when "
                   "some seeds hold and some fail, else undecided")


def _number(values, x):
    """A rule operand: a literal number, or the value of that name (NaN when it is not a number, e.g. None)."""
    value = values[x] if isinstance(x, str) else x
    return float(value) if isinstance(value, (int, float)) else math.nan


def _names(*operands):
    return tuple(x for x in operands if isinstance(x, str))


def _text(x):
    return x if isinstance(x, str) else f"{x:g}"


@dataclass(frozen=True)
class Above:
    """``value > threshold``: holds when it exceeds it by more than ``noise``, fails when it falls short by
    more than ``noise`` (with no noise: fails at or below it), undecided in between or when not a number.

    ``threshold`` and ``noise`` are numbers or names of values (e.g. a standard error times two).
    """

    value: str
    threshold: float | str = 0.0
    noise: float | str = 0.0
    sign = 1
    inclusive = False  # AtLeast / AtMost: the threshold itself holds

    @property
    def reads(self):
        return _names(self.value, self.threshold, self.noise)

    def __call__(self, values):
        v, t, n = (_number(values, x) for x in (self.value, self.threshold, self.noise))
        excess = self.sign * (v - t)
        if math.isnan(excess) or math.isnan(n):
            return UNDECIDED
        if excess > n or (self.inclusive and n == 0 and excess == 0):
            return HOLDS
        return FAILS if excess < -n or n == 0 else UNDECIDED

    @property
    def text(self):
        op = (">" if self.sign > 0 else "<") + ("=" if self.inclusive else "")
        noise = f" (undecided within ±{_text(self.noise)})" if self.noise != 0 else ""
        return f"{self.value} {op} {_text(self.threshold)}{noise}"


@dataclass(frozen=True)
class Below(Above):
    """``value < threshold``, with the same noise band as :class:`Above`."""

    sign = -1


@dataclass(frozen=True)
class AtLeast(Above):
    """``value >= threshold``: as :class:`Above`, but without noise the threshold itself holds."""

    inclusive = True


@dataclass(frozen=True)
class AtMost(Below):
    """``value <= threshold``: as :class:`Below`, but without noise the threshold itself holds."""

    inclusive = True


@dataclass(frozen=True)
class AllOf:
    """Every rule must hold: fails when any fails, holds when all hold, undecided otherwise."""

    rules: tuple

    def __init__(self, *rules):
        object.__setattr__(self, "rules", rules)

    @property
    def reads(self):
        return tuple(dict.fromkeys(name for rule in self.rules for name in rule.reads))

    def __call__(self, values):
        verdicts = [rule(values) for rule in self.rules]
        return FAILS if FAILS in verdicts else HOLDS if all(v == HOLDS for v in verdicts) else UNDECIDED

    @property
    def text(self):
        return " and ".join(rule.text for rule in self.rules)


@dataclass(frozen=True)
class Rule:
    """A rule no comparison expresses: ``decide(values)`` returns holds, fails or undecided.

    ``text`` says what it checks in a few words; its source is part of the claims' hash.
    """

    decide: object
    reads: tuple
    text: str

    def __call__(self, values):
        verdict = self.decide(values)
        if verdict not in (HOLDS, FAILS, UNDECIDED):
            raise ValueError(f"rule {self.text!r} returned {verdict!r}, not holds, fails or undecided")
        return verdict


def bootstrap_interval(value, text):
    """Holds when the bootstrap interval of ``value`` lies above zero, fails when below, else undecided.

    Reads ``value`` and its interval's bounds ``value_lo`` and ``value_hi`` (:func:`companion.stats.bootstrap`).
    """
    def decide(values):
        lo, hi = values[f"{value}_lo"], values[f"{value}_hi"]
        if not all(isinstance(x, (int, float)) and x == x for x in (lo, hi)):
            return UNDECIDED
        return HOLDS if lo > 0 else FAILS if hi < 0 else UNDECIDED

    return Rule(decide, (value, f"{value}_lo", f"{value}_hi"), f"{text}: 95% bootstrap interval above 0 holds, "
                                                               "below 0 fails, containing 0 undecided")


@dataclass(frozen=True)
class Claim:
    """One row of a claims table.

    ``sentence`` is quoted verbatim from the abstract this project follows (``version`` empty), or from a
    later version named in ``version`` (an extra row). ``revised`` says what was changed after a first
    look at results, and why; empty when the rule was fixed before any run. ``shows`` formats the values
    for the table's ``measured`` column (``str.format`` with the values); by default the values read.
    ``timed`` marks a claim decided by wall-clock time: its verdict depends on the machine, so a notebook
    prints it apart from the rows nbval compares.
    """

    id: str
    claim: str
    kind: str
    rule: object
    sentence: str = ""
    version: str = ""
    revised: str = ""
    shows: str = ""
    timed: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.kind != "sanity" and not self.sentence:
            raise ValueError(f"claim {self.id}: a {self.kind} claim quotes the abstract sentence it tests")

    @property
    def reads(self):
        return self.rule.reads

    def measured(self, values):
        if self.shows:
            return self.shows.format(**values)
        return ", ".join(f"{name} = {_show(values[name])}" for name in self.reads)

    def definition(self):
        """What the claim is, as plain data: the part of a verdict file's hash that a claim contributes."""
        return {"id": self.id, "claim": self.claim, "kind": self.kind, "sentence": self.sentence,
                "version": self.version, "revised": self.revised, "timed": self.timed, "rule": self.rule.text,
                "reads": list(self.reads), "source": _rule_source(self.rule)}


def _rule_source(rule):
    """The source of every custom function in a rule, so that editing one changes the hash."""
    if isinstance(rule, Rule):
        return [inspect.getsource(rule.decide)]
    if isinstance(rule, AllOf):
        return [s for r in rule.rules for s in _rule_source(r)]
    return []


def _show(value):
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    return f"{value:.3g}"


def evaluate(claims, values):
    """The rows of the claims table: each claim whose values were all measured, with its verdict.

    A claim whose values are absent (e.g. tanh was not among the activations) is left out; the values
    each row read travel with it, so the record alone can re-decide it.
    """
    rows = []
    for c in claims:
        if not all(name in values for name in c.reads):
            continue
        read = {name: values[name] for name in c.reads}
        rows.append({"id": c.id, "kind": c.kind, "claim": c.claim, "verdict": c.rule(read),
                     "measured": c.measured(values), "rule": c.rule.text, "sentence": c.sentence,
                     "version": c.version, "revised": c.revised, "timed": c.timed, "values": read})
    return rows


def counted(rows):
    """(holding, counted): ``paper`` and ``mechanism`` rows that hold, and how many there are."""
    claims = [r for r in rows if r["kind"] != "sanity"]
    return sum(r["verdict"] == HOLDS for r in claims), len(claims)


def overall(verdicts):
    """The multi-seed verdict from one verdict per seed, by the project-wide rule (see the module)."""
    if not verdicts:
        return UNDECIDED
    share = {v: sum(x == v for x in verdicts) / len(verdicts) for v in (HOLDS, FAILS)}
    if share[HOLDS] >= AGREEMENT:
        return HOLDS
    if share[FAILS] >= AGREEMENT:
        return FAILS
    return MIXED if share[HOLDS] and share[FAILS] else UNDECIDED


def aggregate(runs):
    """Per claim over seeds: verdict counts, the overall verdict, and median and range of each value.

    ``runs`` is a list of claims-table rows lists, one per seed (as :func:`evaluate` returns them).
    """
    by_id = {}
    for rows in runs:
        for row in rows:
            by_id.setdefault(row["id"], []).append(row)
    out = []
    for cid, rows in by_id.items():
        verdicts = [r["verdict"] for r in rows]
        spread = {}
        for name in rows[0]["values"]:
            xs = [float(r["values"][name]) for r in rows if isinstance(r["values"].get(name), (int, float))]
            xs = [x for x in xs if not math.isnan(x)]
            if xs:
                spread[name] = {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}
        out.append({"id": cid, "kind": rows[0]["kind"], "claim": rows[0]["claim"], "overall": overall(verdicts),
                    "seeds": len(rows), **{v: verdicts.count(v) for v in (HOLDS, FAILS, UNDECIDED)},
                    "values": spread})
    return out


def definitions_hash(claims, parameters):
    """sha256 of the claims' definitions and the parameters they were run at (seed and device left out)."""
    kept = {k: v for k, v in sorted(parameters.items()) if k not in ("seed", "device")}
    text = json.dumps({"claims": [c.definition() for c in claims], "parameters": kept}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def seeds_text(summary):
    """'holds 5/5', 'mixed 3/5' ...: the multi-seed verdict and how many seeds held."""
    return f"{summary['overall']} {summary[HOLDS]}/{summary['seeds']}"


@dataclass
class Table:
    """A claims table as a person reads it: short columns, then the long text as numbered notes."""

    rows: list
    seeds: dict = field(default_factory=dict)  # claim id -> multi-seed summary (see aggregate)
    note: str = ""

    def where(self, timed):
        """The table of the timed rows (``timed=True``) or of the others: printed in separate cells."""
        return Table([r for r in self.rows if r["timed"] == timed], self.seeds, self.note)

    def __str__(self):
        head = ("id", "kind", "this run", "seeds", "claim")
        lines = [f"{head[0]:<5} {head[1]:<9} {head[2]:<9} {head[3]:<11} {head[4]}"]
        for r in self.rows:
            seeds = seeds_text(self.seeds[r["id"]]) if r["id"] in self.seeds else "-"
            wrapped = textwrap.wrap(r["claim"], 64) or [""]
            lines.append(f"{r['id']:<5} {r['kind']:<9} {r['verdict']:<9} {seeds:<11} {wrapped[0]}")
            lines += [" " * 38 + more for more in wrapped[1:]]
        held, n = counted(self.rows)
        lines.append(f"\n{held} of {n} claims hold in this run; sanity rows are not counted.")
        if self.note:
            lines.append(self.note)
        for r in self.rows:
            lines.append("")
            lines += _note(r)
        return "\n".join(lines)


def _note(row):
    """The long text of one row: what was measured, the rule, the quoted sentence, any revision."""
    parts = [("measured", row["measured"]), ("rule", row["rule"])]
    if row["sentence"]:
        source = f"abstract {row['version']}" if row["version"] else "abstract"
        parts.append((source, f"\u201c{row['sentence']}\u201d"))
    if row["revised"]:
        parts.append(("revised", row["revised"]))
    lines = []
    for label, text in parts:
        lines += textwrap.wrap(text, 100, initial_indent=f"[{row['id']}] {label}: " if not lines else f"  {label}: ",
                               subsequent_indent="    ")
    return lines
