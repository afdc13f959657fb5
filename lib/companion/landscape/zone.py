"""The Goldilocks zone of a sweep: where a curvature measure rises well above the ends of the sweep.

Notebooks 03 and 08 both read the zone off a sweep of init scales by one rule, a full width at
half maximum measured from the larger end of the sweep, so that a measure above one half
everywhere (the fraction of positive eigenvalues on small data) still marks out a shell.
"""


def half_maximum_level(table, x="scale", y="gamma"):
    """Halfway between the peak of ``y`` and the larger of its two values at the ends of the ``x`` sweep."""
    values = table.sort_values(x)[y]
    return (values.max() + max(values.iloc[0], values.iloc[-1])) / 2


def half_maximum_zone(table, x="scale", y="gamma"):
    """The ``x`` values (ascending) where ``y`` lies above :func:`half_maximum_level`.

    Empty when ``y`` peaks at either end of the sweep: a peak at an end is no shell.
    """
    s = table.sort_values(x).reset_index(drop=True)
    if int(s[y].idxmax()) in (0, len(s) - 1):
        return []
    return s.loc[s[y] > half_maximum_level(s, x, y), x].tolist()
