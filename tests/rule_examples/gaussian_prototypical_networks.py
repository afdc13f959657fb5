"""Values on which each claim of 01 holds and values on which it fails (see rule_examples/__init__.py).

The paired claims read the run whose 95% interval reaches lowest: it holds when that interval lies above
zero (+2.1 ± 0.6 points) and fails when it lies below (-4.2 ± 0.5 points). C2 reads it the same way
against the published accuracy; C6 reads the run with the most test images at the precision floor against a half.
"""

SETTINGS = {"a": ("radius", "5w1s"), "b": ("diagonal", "5w1s"), "c": ("radius", "5w5s"), "d": ("diagonal", "5w5s"),
            "e": ("radius", "20w1s"), "f": ("diagonal", "20w1s"), "g": ("radius", "20w5s"),
            "h": ("diagonal", "20w5s")}
FRACTIONS = {"a": ("radius", "25pct"), "b": ("radius", "50pct"), "c": ("radius", "75pct"),
             "d": ("diagonal", "25pct"), "e": ("diagonal", "50pct"), "f": ("diagonal", "75pct")}
PRECISIONS = {"a": ("radius", "0pct"), "b": ("radius", "25pct"), "c": ("radius", "50pct"), "d": ("radius", "75pct"),
              "e": ("diagonal", "0pct"), "f": ("diagonal", "25pct"), "g": ("diagonal", "50pct"),
              "h": ("diagonal", "75pct")}
SNELL = {"a": ("5w1s", 98.8), "b": ("5w5s", 99.7), "c": ("20w1s", 96.0), "d": ("20w5s", 98.9)}


def paired(key, diff, above, below):
    """(holds, fails) for a paired rule: the worst run's interval ``above`` zero, then ``below`` it."""
    return ({f"{key}_worst_{diff}": above[0], f"{key}_worst_half": above[1]},
            {f"{key}_worst_{diff}": below[0], f"{key}_worst_half": below[1]})


EXAMPLES = {
    **{f"C1{x}": paired(f"c1_{m}_{s}", "diff", (2.1, 0.6), (-4.2, 0.5)) for x, (m, s) in SETTINGS.items()},
    # C2: the run whose interval reaches lowest at 99.1 +- 0.1 against 98.8 holds; at 97.8 +- 0.1 it fails
    **{f"C2{x}": ({f"c2_radius_{s}_worst_acc": ref + 0.3, f"c2_radius_{s}_worst_half": 0.1},
                  {f"c2_radius_{s}_worst_acc": ref - 1.0, f"c2_radius_{s}_worst_half": 0.1})
       for x, (s, ref) in SNELL.items()},
    **{f"C3{x}": paired(f"c3_{m}_{f}", "diff", (2.1, 0.6), (-1.5, 0.6)) for x, (m, f) in FRACTIONS.items()},
    **{f"C4{x}": paired(f"c4_{m}_{f}", "growth", (3.2, 0.7), (-2.0, 0.7)) for x, (m, f) in FRACTIONS.items()},
    **{f"C5{x}": paired(f"c5_{m}_{f}", "drop", (0.757, 0.012), (-0.895, 0.021)) for x, (m, f) in PRECISIONS.items()},
    # C6: the run with the most images at the floor has 12% +- 2% of them there (holds) or 97% +- 1% (fails)
    **{f"C6{x}": ({f"c6_{m}_worst_share": 0.12, f"c6_{m}_worst_half": 0.02},
                  {f"c6_{m}_worst_share": 0.97, f"c6_{m}_worst_half": 0.01}) for x, m in (("a", "radius"),
                                                                                      ("b", "diagonal"))},
}
