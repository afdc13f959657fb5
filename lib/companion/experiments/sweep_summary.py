"""The sweep summary notebook (99): any recorded metric of a sweep against any swept parameter.

A sweep folder is what ``companion sweep`` writes. ``table`` names a table every run
recorded (stacked with each run's parameters as columns), or is empty for the one-row-per-run
summary of scalars; seeds, or any column not on an axis, become the spread.
"""

from pathlib import Path

from ..notebook import Param, ParameterError
from ..sweep import collect, collect_table

PARAMETERS = (
    Param("sweep_dir", str),
    Param("table", str),
    Param("query", str),
    Param("x", str),
    Param("y", str),
    Param("hue", str),
    Param("log_x", bool),
)


def check(p):
    if not (Path(p.sweep_dir) / "sweep.json").exists():
        raise ParameterError(f"parameter 'sweep_dir' = {p.sweep_dir!r} is not a sweep folder (no sweep.json); "
                             "give a folder written by `companion sweep`")


def load(p):
    """The tidy table to plot, checked to have the columns the parameters name."""
    frame = collect_table(p.sweep_dir, p.table) if p.table else collect(p.sweep_dir)
    if p.query and not frame.empty:
        try:
            frame = frame.query(p.query)
        except Exception as err:
            raise ParameterError(f"parameter 'query' = {p.query!r} does not select rows: {err}") from None
    if frame.empty:
        raise ParameterError(f"the sweep in {p.sweep_dir!r} has no finished run with a table {p.table!r}"
                             + (f" and rows matching {p.query!r}" if p.query else ""))
    missing = [name for name in (p.x, p.y, p.hue) if name and name not in frame]
    if missing:
        raise ParameterError(f"no column {missing[0]!r} in the table; columns: {', '.join(map(str, frame.columns))}")
    return frame


def plot_metric(frame, p):
    """``y`` against ``x`` (mean and 95% interval over everything else, e.g. seeds), one line per ``hue``."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(6.5, 4))
    sns.lineplot(data=frame, x=p.x, y=p.y, hue=p.hue or None, marker="o", errorbar=("ci", 95),
                 palette="viridis" if p.hue else None, ax=ax)
    if p.log_x:
        ax.set_xscale("log")
    ax.set(title=f"{p.y} against {p.x}" + (f" by {p.hue}" if p.hue else ""))
    fig.tight_layout()
    return fig


def explorer(frame, p):
    """Widgets: pick the metric, the colour grouping and the x scale of the plot above (no recomputation)."""
    from types import SimpleNamespace

    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    numeric = [c for c in frame.select_dtypes("number").columns if c != p.x]
    groups = [""] + [c for c in frame.columns if c not in (p.x, p.y) and 1 < frame[c].nunique() <= 8]

    def show(y, hue, log_x):
        plot_metric(frame, SimpleNamespace(**{**vars(p), "y": y, "hue": hue, "log_x": log_x}))
        plt.show()

    return widgets.interactive(show, y=widgets.Dropdown(options=numeric, value=p.y, description="metric"),
                               hue=widgets.Dropdown(options=groups, value=p.hue if p.hue in groups else "",
                                                    description="colour by"),
                               log_x=widgets.Checkbox(value=p.log_x, description="log x"))
